//! Fuzz the policy loader and evaluator: any text either loads or fails with an error, and a loaded
//! policy gives a decision for any command line without panicking (`tgate::fuzz::policy`, which
//! the test suite also runs over the seeds).
//!
//! Input: a policy text and a command line, separated by the first NUL byte.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run policy` (see `make fuzz`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tgate::fuzz::policy(data));
