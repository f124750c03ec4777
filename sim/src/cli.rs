//! The `ec3-sim` command line (`cargo run --example ec3-sim -- --help`).

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::{env, fs};

use crate::tls::Pki;
use crate::{Options, RateLimit, Sim};

/// What `ec3-sim --help` prints.
pub const USAGE: &str = "\
Usage: ec3-sim [--addr ADDR] [--running-polls N] [--rate-limit N] [--url-file PATH] [--tls CA_FILE]

Options:
  --addr ADDR          IP:PORT to listen on [default: 127.0.0.1:0, a free port]
  --running-polls N    polls answered `Running` before the terminal status [default: 2]
  --rate-limit N       at most N API requests (EC3 and Grouping & Mapping together)
                       per minute per token, then 429 with Retry-After [default: no limit]
  --url-file PATH      also write the base URL to PATH (a temporary file, then renamed)
  --tls CA_FILE        serve HTTPS only, with a certificate for localhost signed by a
                       fresh test CA, whose certificate is written to CA_FILE
  --quiet              do not log requests on stderr
  -h, --help           print this help

Prints the base URL (API root and IMS authority) as the first stdout line, then serves
until killed. Job ids: ok... succeed, fail... fail, slow... never finish, odd... answer
`Paused`, flaky... answer one 503 first, stall... are never answered, others are 404.
Configurations: ...-report are report-based, [IMODEL.]STEM-ext extraction-based (mappings
STEM-m1 and STEM-m2), others are 404. Extractions (POST /grouping-and-mapping/datasources/
imodel-mappings/extractions) follow their first mapping prefixed partial-, fail-, slow-
(never finish), odd- (answer `Cancelling`) or gone- (404), else succeed.
GET /__stats reports the counters, POST /__reset clears them.
";

/// The validated command line.
#[derive(Debug, PartialEq)]
pub struct Args {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// How the simulator behaves.
    pub running_polls: u64,
    /// Requests per minute per token, if limited.
    pub rate_limit: Option<u64>,
    /// Where to also write the base URL.
    pub url_file: Option<String>,
    /// Serve HTTPS, writing the test CA's certificate here.
    pub tls: Option<String>,
    /// Whether to log requests on stderr.
    pub log: bool,
}

/// Parses the arguments after the program name; `Ok(None)` means `--help`.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        running_polls: 2,
        rate_limit: None,
        url_file: None,
        tls: None,
        log: true,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value.into())),
            _ => (arg, None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--quiet" if inline.is_none() => {
                parsed.log = false;
                continue;
            }
            "--addr" | "--running-polls" | "--rate-limit" | "--url-file" | "--tls" => {}
            _ => return Err(format!("unknown argument `{flag}`")),
        }
        let value = inline.or_else(|| args.next());
        let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
        let invalid = |what: &str| format!("{flag}: `{value}` is not {what}");
        let number = || value.parse::<u64>().map_err(|_| invalid("a whole number"));
        match flag.as_str() {
            "--addr" => parsed.addr = value.parse().map_err(|_| invalid("an IP:PORT address"))?,
            "--running-polls" => parsed.running_polls = number()?,
            "--rate-limit" => match number()? {
                0 => return Err(invalid("a positive whole number")),
                n => parsed.rate_limit = Some(n),
            },
            "--tls" => parsed.tls = Some(value),
            _ => parsed.url_file = Some(value),
        }
    }
    Ok(Some(parsed))
}

/// Writes a temporary file beside `path`, then renames it: whoever waits for `path` never
/// reads it half-written.
pub fn write_atomically(path: &str, text: &str) -> io::Result<()> {
    let tmp = format!("{path}.{}.tmp", std::process::id());
    let written = fs::write(&tmp, text).and_then(|()| fs::rename(&tmp, path));
    written.inspect_err(|_| drop(fs::remove_file(&tmp)))
}

/// The binary: parses `env::args`, serves until killed.
pub fn main() -> ExitCode {
    match parse_args(env::args().skip(1)) {
        Ok(Some(args)) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                let _ = writeln!(io::stderr(), "ec3-sim: {message}");
                ExitCode::FAILURE
            }
        },
        Ok(None) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            let _ = writeln!(io::stderr(), "ec3-sim: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Listens, announces the base URL, and serves forever.
fn run(args: &Args) -> Result<(), String> {
    let options = Options {
        running_polls: args.running_polls,
        rate_limit: args.rate_limit.map(RateLimit::per_minute),
        log: args.log,
        ..Options::default()
    };
    let sim = match &args.tls {
        Some(ca_file) => {
            let pki = Pki::new(&["localhost"]);
            let written = write_atomically(ca_file, &pki.ca_pem);
            written.map_err(|err| format!("cannot write {ca_file}: {err}"))?;
            Sim::bind_tls(args.addr, options, &pki)
        }
        None => Sim::bind(args.addr, options),
    };
    let sim = sim.map_err(|err| format!("cannot listen on {}: {err}", args.addr))?;
    let base = sim.url().to_owned();
    // A launcher may read only this line and close the pipe: write errors don't matter.
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "{base}").and_then(|()| stdout.flush());
    drop(stdout);
    if let Some(path) = &args.url_file {
        let written = write_atomically(path, &format!("{base}\n"));
        written.map_err(|err| format!("cannot write {path}: {err}"))?;
    }
    sim.wait();
    Ok(())
}
