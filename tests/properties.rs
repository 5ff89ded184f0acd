//! Property tests of the lexer and the parser: they never panic, the lexer splits exactly as POSIX
//! quoting (the `shlex` crate) does whenever it accepts, and every parsed command survives
//! `parse(render(c)) == c`, also when sent as one quoted string.

mod common;

use common::argv::argv;
use proptest::prelude::*;
use tgate::command::Command;
use tgate::lex::{Program, lex_argv, lex_str};

fn quote(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_and_round_trips(argv in argv()) {
        if let Ok(cmd) = Command::parse(&argv) {
            let rendered = cmd.render();
            let again = Command::parse(&rendered);
            prop_assert_eq!(again.as_ref(), Ok(&cmd), "rendered {:?}", rendered);
            // Rendering is idempotent: the canonical form is a fixed point.
            prop_assert_eq!(Command::parse(&rendered).unwrap().render(), rendered);
        }
    }

    #[test]
    fn string_and_argv_forms_agree(argv in argv()) {
        // Control characters are refused in both forms; everything else must read the same.
        let program = Program::default();
        let from_argv = lex_argv(&argv, &program).map(|a| Command::parse(&a));
        let from_str = lex_str(&quote(&argv), &program).map(|a| Command::parse(&a));
        prop_assert_eq!(from_argv.is_ok(), from_str.is_ok());
        if let (Ok(a), Ok(b)) = (from_argv, from_str) {
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn lexer_never_panics_and_agrees_with_shlex(line in "temporal[ -~]{0,40}") {
        if let Ok(words) = lex_str(&line, &Program::default()) {
            // Whatever tgate accepts, a POSIX shell (without expansions) splits the same way.
            prop_assert_eq!(Some(words), shlex::split(&line));
        }
    }

    #[test]
    fn lexer_total_on_arbitrary_text(line in any::<String>()) {
        let _ = lex_str(&line, &Program::default());
    }
}
