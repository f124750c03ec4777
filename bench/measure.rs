//! `measure`: runs one command and records what it cost, for `bench/run.sh`.
//!
//! ```text
//! measure OUT_FILE -- COMMAND [ARGS...]
//! ```
//!
//! Writes one line to OUT_FILE: `wall_us user_us sys_us maxrss_kib exit`, where `exit` is the
//! exit code, or 128 + the signal number. The child's stdio is inherited.
//!
//! The numbers come from the same kernel counters GNU `time` prints (`wait4(2)`'s `rusage`:
//! CPU time and `ru_maxrss`, which for a waited child is the peak RSS of the largest process in
//! its tree), but at microsecond rather than 10 ms resolution, which matters for a command that
//! runs for 2 ms. Wall time is taken with a monotonic clock from just before the spawn to just
//! after the reap. The launcher itself is small: Linux records the parent's peak RSS into a
//! child's `ru_maxrss` when the child calls exec (the child starts as a copy of its parent), so
//! a big launcher (Python: ~14 MiB) would hide the real peak of a small tool. `run.sh` cross-checks
//! the ec3-gate figure with GNU `time -f %M`.
//!
//! Built by `run.sh` with plain `rustc` (std only), into the shared target directory.

use std::process::{Command, ExitCode};
use std::time::Instant;
use std::{env, fs};

/// `struct timeval` on 64-bit Linux.
#[repr(C)]
#[derive(Default)]
struct Timeval {
    sec: i64,
    usec: i64,
}

/// `struct rusage` on 64-bit Linux: two timevals, then 14 longs (`ru_maxrss` first).
#[repr(C)]
#[derive(Default)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    rest: [i64; 13],
}

unsafe extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
}

fn micros(t: &Timeval) -> i64 {
    t.sec * 1_000_000 + t.usec
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let (out, command) = match args.as_slice() {
        [out, dashes, program, rest @ ..] if dashes == "--" => (out, (program, rest)),
        _ => {
            eprintln!("usage: measure OUT_FILE -- COMMAND [ARGS...]");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let child = match Command::new(command.0).args(command.1).spawn() {
        Ok(child) => child,
        Err(err) => {
            eprintln!("measure: cannot run {}: {err}", command.0);
            return ExitCode::from(127);
        }
    };
    let pid = i32::try_from(child.id()).expect("a Linux pid fits in i32");
    let (mut status, mut usage) = (0i32, Rusage::default());
    loop {
        // SAFETY: plain syscall wrapper; both pointers are to live, correctly laid out locals.
        let reaped = unsafe { wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            eprintln!("measure: wait4: {err}");
            return ExitCode::from(1);
        }
    }
    let wall = start.elapsed().as_micros();
    // The child was reaped by wait4: dropping the handle must not wait again (it doesn't).
    drop(child);
    let signal = status & 0x7f;
    let exit = if signal == 0 {
        (status >> 8) & 0xff
    } else {
        128 + signal
    };
    let line = format!(
        "{wall} {} {} {} {exit}\n",
        micros(&usage.utime),
        micros(&usage.stime),
        usage.maxrss
    );
    if let Err(err) = fs::write(out, line) {
        eprintln!("measure: cannot write {out}: {err}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
