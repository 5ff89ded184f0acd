//! Fuzz the front half: any text (as one string) and any argv (NUL-separated) must lex and parse
//! without panicking, and every parsed command must survive `parse(render(c)) == c` with an
//! idempotent canonical form.
//!
//! Run: `cargo +nightly fuzz run lex_parse` (or `RUSTC_BOOTSTRAP=1 cargo fuzz run lex_parse`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tgate::command::Command;
use tgate::lex::{Program, lex_argv, lex_str};

fn check(argv: &[String]) {
    if let Ok(cmd) = Command::parse(argv) {
        let rendered = cmd.render();
        let again = Command::parse(&rendered).expect("canonical argv must parse");
        assert_eq!(again, cmd, "round trip changed {argv:?} -> {rendered:?}");
        assert_eq!(again.render(), rendered, "canonical form is not a fixed point");
        let _ = cmd.render_line();
        let _ = cmd.target();
        let _ = cmd.namespace();
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let program = Program::default();
    if let Ok(argv) = lex_str(&format!("temporal {text}"), &program) {
        check(&argv);
    }
    let mut argv = vec!["temporal".to_owned()];
    argv.extend(text.split('\0').map(str::to_owned));
    if let Ok(argv) = lex_argv(&argv, &program) {
        check(&argv);
    }
});
