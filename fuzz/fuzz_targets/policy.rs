//! Fuzz the policy loader and evaluator: any text either loads or fails with an error, and a loaded
//! policy gives a decision for any command line without panicking.
//!
//! Input: a policy text and a command line, separated by the first NUL byte.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run policy` (see `make fuzz`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tgate::policy::{Caller, Context, Policy, PolicySet, lint};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (policy_text, line) = text.split_once('\0').unwrap_or((&text, "temporal workflow list"));
    let ctx = Context::default();
    let _ = lint(policy_text, "fuzz.yaml", &ctx);
    let set = match Policy::load(policy_text, "fuzz.yaml", &ctx) {
        Ok(p) => PolicySet::new(vec![p]),
        Err(_) => PolicySet::new(vec![Policy::builtin(&ctx)]),
    };
    let ev = set.check_line(line, &Caller::new("fuzz"));
    assert!(!ev.rules.is_empty(), "every decision names what decided it");
    if let Some(effective) = ev.effective {
        // What would run re-reads as itself.
        let again = tgate::command::Command::parse(&effective.render()).expect("effective command parses");
        assert_eq!(again, effective);
    }
});
