//! `libec3_gate`: the C library of ec3-gate.
//!
//! It adapts the `ec3-gate` core for C and C++ callers, and does nothing
//! else: no HTTP or business logic of its own. The header
//! `include/ec3_gate.h` is generated from these sources by cbindgen
//! (`ffi/cbindgen.toml`), so the doc comments on exported items are the C
//! documentation.
//!
//! One file per C object family: `options.rs`, `client.rs`, `group.rs`
//! (waiting for several jobs), `job.rs`, `upload.rs` (the extraction
//! chain), `cancel.rs`, `params.rs` (argument structs that grow), `progress.rs`, `result.rs`, `string.rs`, `version.rs`. `panic.rs` holds the
//! boundary every exported function runs in; `ffi.rs` is the only place where
//! C pointers become Rust references.
//!
//! Every exported function
//! - runs inside `ffi_panic_boundary!`: a panic becomes `EC3_GATE_RESULT_PANIC`
//!   (or NULL/false/UNKNOWN), never an unwind into C nor an abort;
//! - checks every pointer (NULL gives `EC3_GATE_RESULT_NULL_ARGUMENT`) and
//!   every string (`EC3_GATE_RESULT_INVALID_UTF8`), and maps any `uint32_t`
//!   a C caller passes for an enum safely;
//! - writes out-params only when it succeeds;
//! - documents who owns what it returns and which `_free` releases it.

// C names (`ec3_gate_client`) are the API.
#![allow(non_camel_case_types)]
// Unsafe operations stay visible (and commented) even inside unsafe fns.
#![deny(unsafe_op_in_unsafe_fn)]
// Every unsafe block says why it is sound.
#![deny(clippy::undocumented_unsafe_blocks)]
// Every public item reaches the C header: it must say what it does.
#![deny(missing_docs)]
// Exported functions are called from C, where no call is checked by the
// compiler; like rustls-ffi and hyper, they stay `extern "C" fn` and each
// documents what its pointers must be (NULL, or live objects of this library).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod cancel;
mod client;
mod ffi;
mod group;
mod job;
mod options;
mod panic;
mod params;
mod progress;
mod result;
mod string;
mod upload;
mod version;

pub use cancel::*;
pub use client::*;
pub use group::*;
pub use job::*;
pub use options::*;
pub use params::*;
pub use progress::*;
pub use result::*;
pub use string::*;
pub use upload::*;
pub use version::*;
