//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs` call these, `make fuzz` runs them),
//! kept in the library so that the test suite compiles them and runs them over their seeds
//! (`tests/fuzz_seeds.rs`): a change to an API they use breaks the build, not only `make fuzz`.
//! Each panics on a broken property.

use crate::command::Command;
use crate::lex::{Program, lex_argv, lex_str};
use crate::policy::{Caller, Context, Policy, PolicySet, lint};

/// Any text (as one string) and any argv (NUL-separated) lexes and parses without panicking, and
/// every parsed command survives `parse(render(c)) == c` with an idempotent canonical form.
pub fn lex_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let program = Program::default();
    if let Ok(argv) = lex_str(&format!("temporal {text}"), &program) {
        round_trip(&argv);
    }
    let mut argv = vec!["temporal".to_owned()];
    argv.extend(text.split('\0').map(str::to_owned));
    if let Ok(argv) = lex_argv(&argv, &program) {
        round_trip(&argv);
    }
}

fn round_trip(argv: &[String]) {
    if let Ok(cmd) = Command::parse(argv) {
        let rendered = cmd.render();
        let again = Command::parse(&rendered).expect("canonical argv must parse");
        assert_eq!(again, cmd, "round trip changed {argv:?} -> {rendered:?}");
        assert_eq!(
            again.render(),
            rendered,
            "canonical form is not a fixed point"
        );
        let _ = cmd.render_line();
        let _ = cmd.target();
        let _ = cmd.namespace();
    }
}

/// A policy text and a command line, separated by the first NUL byte: any text either loads or
/// fails with an error (lint too), and a loaded policy (else the built-in one) gives a decision
/// naming what decided it, whose command to run re-reads as itself.
pub fn policy(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (policy_text, line) = text
        .split_once('\0')
        .unwrap_or((&text, "temporal workflow list"));
    let ctx = Context::default();
    let _ = lint(policy_text, "fuzz.yaml", &ctx);
    let set = match Policy::load(policy_text, "fuzz.yaml", &ctx) {
        Ok(p) => PolicySet::new(vec![p]),
        Err(_) => PolicySet::new(vec![
            Policy::builtin(&ctx).expect("the built-in policy loads"),
        ]),
    };
    let ev = set.check_line(line, &Caller::new("fuzz"), &ctx.default_namespace);
    assert!(!ev.rules.is_empty(), "every decision names what decided it");
    if let Some(effective) = ev.effective {
        let again = Command::parse(&effective.render()).expect("effective command parses");
        assert_eq!(again, effective, "what would run re-reads as itself");
    }
}
