//! Fuzz the front half: any text (as one string) and any argv (NUL-separated) must lex and parse
//! without panicking, and every parsed command must survive `parse(render(c)) == c` with an
//! idempotent canonical form (`tgate::fuzz::lex_parse`, which the test suite also runs over the
//! seeds).
//!
//! Run: `cargo +nightly fuzz run lex_parse` (or `RUSTC_BOOTSTRAP=1 cargo fuzz run lex_parse`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tgate::fuzz::lex_parse(data));
