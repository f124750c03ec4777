//! `ec3-sim`: the simulated iTwin EC3 service (the `ec3-sim` crate in `sim/`), so `ec3-gate`
//! can be tried, tested and benchmarked without credentials.
//!
//! ```text
//! cargo run --example ec3-sim -- [--addr ADDR] [--running-polls N] [--rate-limit N] [--url-file PATH]
//! ```

fn main() -> std::process::ExitCode {
    ec3_sim::cli::main()
}
