//! Differential test: tgate's parser against the real Temporal CLI 1.9.1 on the corpus in
//! `tests/data/differential.txt`. For each line the real binary runs with a scrubbed environment and
//! a closed port, so it either refuses the line or gets past parsing and fails to connect (naming the
//! namespace it used). tgate must agree on accept/reject and, on accept, on the namespace. Every line
//! tgate accepts is also re-run through the binary as tgate's canonical argv, which must behave the
//! same way: the command tgate judges is the command that runs.

mod common;

use common::{Outcome, classify, par_map, run_temporal};
use tgate::command::{Command, CommandPath, ParseError};
use tgate::lex::{Program, lex_str};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Directive {
    None,
    LocalAccept,
    LocalReject,
    Stricter,
    /// tgate refuses a raw `--env-file PATH` word pair that is not the flag: the CLI would load
    /// the file, whose values tgate does not read.
    EnvFile,
}

struct Case {
    line: String,
    directive: Directive,
}

fn corpus() -> Vec<Case> {
    let text = include_str!("data/differential.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (line, directive) = match l.split_once('\t') {
                None => (l, Directive::None),
                Some((line, d)) => (
                    line,
                    match d.trim() {
                        "local: accept" => Directive::LocalAccept,
                        "local: reject" => Directive::LocalReject,
                        "stricter" => Directive::Stricter,
                        "env-file" => Directive::EnvFile,
                        other => panic!("unknown directive `{other}` on `{line}`"),
                    },
                ),
            };
            Case {
                line: line.to_owned(),
                directive,
            }
        })
        .collect()
}

/// Words that make the CLI act on the local machine; such lines are never run.
fn is_local(argv: &[String]) -> bool {
    argv.iter().enumerate().any(|(i, w)| match w.as_str() {
        "server" | "env" | "fix-history-json" => true,
        // `task-queue config get|set` is a service command, not the local `config`.
        "config" => i == 0 || argv[i - 1] != "task-queue",
        _ => false,
    })
}

/// Whether a command that tgate accepted runs without connecting (exit 0 for the CLI).
fn runs_locally(cmd: &Command) -> bool {
    cmd.is_help()
        || matches!(
            cmd.path(),
            CommandPath::Help
                | CommandPath::Options
                | CommandPath::CompletionBash
                | CommandPath::CompletionFish
                | CommandPath::CompletionPowershell
                | CommandPath::CompletionZsh
        )
}

/// `None` when tgate agrees with the CLI's outcome; otherwise what differs.
fn compare(
    ours: &Result<Command, ParseError>,
    theirs: &Outcome,
    directive: Directive,
) -> Option<String> {
    match (ours, theirs, directive) {
        (Err(ParseError::Conflict { .. }), Outcome::Connect { .. }, Directive::Stricter) => None,
        (_, _, Directive::Stricter) => {
            Some("expected tgate to refuse a conflict the CLI finds after connecting".into())
        }
        (Err(ParseError::EnvFileWords { .. }), Outcome::Connect { .. }, Directive::EnvFile) => None,
        (_, _, Directive::EnvFile) => {
            Some("expected tgate to refuse the raw `--env-file` words the CLI reads".into())
        }
        (Ok(c), Outcome::Connect { namespace }, _) => {
            let ours_ns = c.client_namespace().map(|n| n.to_string());
            (ours_ns.as_deref() != Some(namespace.as_str()) || runs_locally(c)).then(|| {
                format!(
                    "namespace: tgate {ours_ns:?} (local: {}), CLI {namespace}",
                    runs_locally(c)
                )
            })
        }
        (Ok(c), Outcome::Local, _) => {
            (!runs_locally(c)).then(|| "CLI ran locally, tgate expects a connection".into())
        }
        (Err(_), Outcome::Reject(_), _) => None,
        (Ok(_), Outcome::Reject(e), _) => Some(format!("tgate accepted, CLI refused: {e}")),
        (Err(e), _, _) => Some(format!("tgate refused ({e}), CLI: {theirs:?}")),
    }
}

/// `None` when tgate's reading of a corpus line agrees with the CLI's (or, for local lines, with
/// the line's directive); otherwise what differs.
fn judge(case: &Case, argv: &[String], ours: &Result<Command, ParseError>) -> Option<String> {
    if is_local(argv) {
        return match (case.directive, ours) {
            (Directive::LocalAccept, Ok(_)) | (Directive::LocalReject, Err(_)) => None,
            (Directive::LocalAccept | Directive::LocalReject, _) => Some(format!(
                "local line judged {:?}, tgate: {:?}",
                case.directive,
                ours.as_ref().map(|c| c.render_line())
            )),
            _ => Some("local line without a `local:` directive".to_owned()),
        };
    }
    let theirs = classify(&run_temporal(&argv[1..]));
    if let Some(v) = compare(ours, &theirs, case.directive) {
        return Some(v);
    }
    let Ok(cmd) = ours else { return None };
    // The canonical argv must behave exactly like the original.
    let rendered = cmd.render();
    let again = classify(&run_temporal(&rendered[1..]));
    if again != theirs {
        return Some(format!(
            "canonical argv {rendered:?} gives {again:?}, original {theirs:?}"
        ));
    }
    (Command::parse(&rendered).as_ref() != Ok(cmd))
        .then(|| format!("round trip changed the command: {rendered:?}"))
}

#[test]
fn tgate_reads_command_lines_as_the_cli_does() {
    let cases = corpus();
    assert!(cases.len() >= 300, "corpus has only {} lines", cases.len());
    let program = Program::default();

    let results: Vec<(String, Option<String>, bool)> = par_map(&cases, |case| {
        let argv = lex_str(&case.line, &program)
            .unwrap_or_else(|e| panic!("corpus line does not lex: `{}`: {e}", case.line));
        let ours = Command::parse(&argv);
        let accepted = ours.is_ok();
        (case.line.clone(), judge(case, &argv, &ours), accepted)
    });

    let total = results.len();
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(line, v, _)| v.as_ref().map(|v| format!("`{line}`: {v}")))
        .collect();
    let accepted = results.iter().filter(|r| r.2).count();
    println!(
        "differential: {}/{} lines agree ({} accepted, {} refused)",
        total - failures.len(),
        total,
        accepted,
        total - accepted
    );
    assert!(
        failures.is_empty(),
        "{} of {total} lines disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// CLI errors about the content of TLS files and PEM data, which tgate's parser does not judge.
const TLS_MATERIAL_ERRORS: &[&str] = &[
    "cannot read file",
    "failed to find any PEM data",
    "failed adding server CA to CA pool",
    "failed loading client cert/key",
];

/// Random command lines from the table's own flags, read by both. A fixed seed keeps CI
/// reproducible; tgate may be stricter only by refusing a [`ParseError::Conflict`].
#[test]
fn random_command_lines_agree() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    // A fixed seed and count keep CI reproducible; set TGATE_DIFF_SEED / TGATE_DIFF_CASES to explore.
    let env_num = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let seed = env_num("TGATE_DIFF_SEED", 7) as u8;
    let cases = env_num("TGATE_DIFF_CASES", 400);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    let strategy = common::argv::argv();
    let mut lines = Vec::new();
    while lines.len() < cases {
        let argv = strategy.new_tree(&mut runner).expect("tree").current();
        // Never let a generated line point the real CLI anywhere but the closed local port.
        let retargets = argv.iter().any(|w| w.starts_with("--address"));
        if !is_local(&argv) && !retargets {
            lines.push(argv);
        }
    }
    // `None`: set aside; `Some(None)`: agrees; `Some(Some(why))`: differs.
    let results: Vec<Option<Option<String>>> = par_map(&lines, |argv| {
        let ours = Command::parse(argv);
        let theirs = classify(&run_temporal(&argv[1..]));
        let directive = match (&ours, &theirs) {
            (Err(ParseError::Conflict { .. }), Outcome::Connect { .. }) => Directive::Stricter,
            // The CLI reads and parses the TLS material these flags name before it connects;
            // tgate does not (it never passes them on). See docs/command-model.md §3.
            (Ok(_), Outcome::Reject(e)) if TLS_MATERIAL_ERRORS.iter().any(|m| e.contains(m)) => {
                return None;
            }
            _ => Directive::None,
        };
        Some(compare(&ours, &theirs, directive).map(|v| format!("{argv:?}: {v}")))
    });
    let skipped = results.iter().filter(|r| r.is_none()).count();
    let failures: Vec<String> = results.into_iter().flatten().flatten().collect();
    println!(
        "random: {}/{} lines agree, {skipped} set aside (TLS material the CLI reads), seed {seed}",
        lines.len() - skipped - failures.len(),
        lines.len() - skipped
    );
    assert!(
        failures.is_empty(),
        "{} of {} random lines disagree:\n{}",
        failures.len(),
        lines.len(),
        failures.join("\n")
    );
}

/// A flag value the CLI refuses is refused in the CLI's words: timestamps (Go's `time.Parse` with
/// RFC 3339: field order, ranges, the offset read before its sign, `time.quote`'s `\xNN` for
/// bytes beyond ASCII), durations (`time.ParseDuration` plus the CLI's `d`), integers, floats and
/// booleans (`strconv`, quoted with `%q`, which keeps printable characters).
#[test]
fn refused_values_are_refused_in_the_clis_words() {
    let timestamps = [
        "2024-01-01",
        "2024-01-01T00:00:00",
        "2024-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T1:0:00Z",
        "2024-01-01T00:00:00+25:61",
        "2024-01-01T00:00:00+25:6x",
        "2024-01-01T00:00:00x25:00",
        "2024-01-01T00:00:00x12:00",
        "2024-01-01T00:00:00243:343",
        "2024-01-01T9:00:00x66:81",
        "2024-01-01T00:00:00+1:000",
        "2024-01-01T00:00:00+01:0",
        "2024-01-01T00:00:00é",
        "2024-01-01T00:00:00+01:00é",
        "2024-01-01T00:00:00+é1:00",
        "2024-01-01T00:00:00\"Z",
        "2024-01-01T00:00:00\\Z",
        "2024-01-01T00:00:00Z\u{7f}",
        "２024-01-01T00:00:00Z",
    ];
    let mut lines: Vec<Vec<String>> = timestamps
        .iter()
        .map(|t| {
            [
                "schedule",
                "backfill",
                "-s",
                "a",
                "--end-time",
                "2024-01-02T00:00:00Z",
                "--start-time",
                t,
            ]
            .map(str::to_owned)
            .to_vec()
        })
        .collect();
    for (flag, value) in [
        ("--command-timeout", "1é"),
        ("--command-timeout", "é"),
        ("--command-timeout", "1"),
        ("--command-timeout", "1.5"),
        ("--command-timeout", "1dé"),
        ("--command-timeout", "1x\"y"),
        ("--command-timeout", "9999999999h"),
        ("--limit", "5é"),
        ("--limit", "0x1g"),
        ("--limit", "99999999999999999999"),
    ] {
        lines.push(
            ["workflow", "list", flag, value]
                .map(str::to_owned)
                .to_vec(),
        );
    }
    let results = par_map(&lines, |args| {
        let theirs = run_temporal(args);
        let stderr = String::from_utf8_lossy(&theirs.stderr).into_owned();
        let theirs = stderr.lines().next().unwrap_or_default().to_owned();
        let mut argv = vec!["temporal".to_owned()];
        argv.extend(args.iter().cloned());
        let ours = match Command::parse(&argv) {
            Ok(_) => "accepted".to_owned(),
            Err(e) => format!("Error: {e}"),
        };
        (args.join(" "), ours, theirs)
    });
    let differ: Vec<String> = results
        .iter()
        .filter(|(_, ours, theirs)| ours != theirs)
        .map(|(line, ours, theirs)| format!("{line}\n  tgate: {ours}\n  CLI:   {theirs}"))
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    // Each line is refused by the CLI before it connects (the comparison would be vacuous if
    // both accepted).
    for (line, _, theirs) in &results {
        assert!(
            theirs.starts_with("Error: invalid argument"),
            "{line}: {theirs}"
        );
    }
}
