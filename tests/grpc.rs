//! The native gRPC executor against a real dev server: for what it translates, its output is the
//! real CLI's output byte for byte; for anything else it steps aside (`auto` runs the CLI, `grpc`
//! refuses).

mod common;

use std::process::{Command, Output};

use common::devserver::DevServer;

fn tgate(config: &std::path::Path, backend: &str, line: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tgate"))
        .args(["run", "--backend", backend, "--config"])
        .arg(config)
        .arg(line)
        .env_clear()
        .output()
        .unwrap()
}

/// Runs `line` through the real CLI and through tgate with `--backend auto` and `grpc`. `auto` must
/// print exactly what the CLI prints, and so must `grpc` when it runs natively. `Err` carries
/// `grpc`'s reason when it stepped aside (exit 2).
fn against_cli(server: &DevServer, config: &std::path::Path, line: &str) -> Result<(), String> {
    let argv = tgate::lex::lex_str(line, &tgate::lex::Program::default()).unwrap();
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    let cli = server.cli(&args);
    assert!(cli.status.success(), "{line}");
    let auto = tgate(config, "auto", line);
    assert_eq!(
        auto.status.code(),
        Some(0),
        "{line}: {}",
        String::from_utf8_lossy(&auto.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&auto.stdout),
        String::from_utf8_lossy(&cli.stdout),
        "auto: {line}"
    );
    let native = tgate(config, "grpc", line);
    if native.status.code() != Some(0) {
        assert_eq!(native.status.code(), Some(2), "{line}");
        return Err(String::from_utf8_lossy(&native.stderr).into_owned());
    }
    assert_eq!(
        String::from_utf8_lossy(&native.stdout),
        String::from_utf8_lossy(&cli.stdout),
        "grpc: {line}"
    );
    Ok(())
}

#[test]
fn describe_is_byte_identical_to_the_cli() {
    let server = DevServer::start(&[]);
    let seed = |args: &[&str]| {
        let out = server.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    seed(&[
        "workflow", "start", "--type", "Payment", "-t", "q", "-w", "plain",
    ]);
    seed(&[
        "workflow",
        "start",
        "--type",
        "Payment",
        "-t",
        "q",
        "-w",
        "memo",
        "--memo",
        "ticket=\"INC-1\"",
        "--memo",
        "n=42",
    ]);
    seed(&[
        "workflow",
        "start",
        "--type",
        "Payment",
        "-t",
        "q",
        "-w",
        "signalled",
    ]);
    seed(&[
        "workflow",
        "signal",
        "-w",
        "signalled",
        "--name",
        "go",
        "-i",
        "{\"a\":[1,2]}",
    ]);
    seed(&[
        "workflow", "start", "--type", "Payment", "-t", "q", "-w", "ended",
    ]);
    seed(&["workflow", "terminate", "-w", "ended", "--reason", "test"]);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.yaml");
    std::fs::write(&policy, "version: 1\nnamespaces: [$default]\nrules:\n  - {id: reads, decision: allow, reason: r, when: {classes: [read]}}\n").unwrap();
    let config = server.config(
        dir.path(),
        "default",
        &format!("policies: [{}]\n", policy.display()),
    );

    let mut native_runs = 0;
    for id in ["plain", "memo", "signalled"] {
        for output in ["json", "jsonl"] {
            for extra in ["", " --no-json-shorthand-payloads"] {
                let line = format!("temporal workflow describe -w {id} -o {output}{extra}");
                match against_cli(&server, &config, &line) {
                    Ok(()) => native_runs += 1,
                    // Only payload shorthand may make the native path step aside.
                    Err(why) => assert!(extra.is_empty() && id == "memo", "{line}: {why}"),
                }
            }
        }
    }
    assert_eq!(
        native_runs, 10,
        "every case but memo with shorthand runs natively"
    );

    // A closed workflow's description adds its close event: the CLI renders it.
    let native = tgate(
        &config,
        "grpc",
        "temporal workflow describe -w ended -o json",
    );
    assert_eq!(native.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&native.stderr)
            .contains("closed workflows are described by the CLI")
    );
    let auto = tgate(
        &config,
        "auto",
        "temporal workflow describe -w ended -o json",
    );
    let cli = server.cli(&["workflow", "describe", "-w", "ended", "-o", "json"]);
    assert_eq!(auto.stdout, cli.stdout);
    // `workflow list`: paging, limits, queries, the empty list, both output forms.
    let mut listed_natively = 0;
    for flags in [
        "",
        " --limit 2",
        " --page-size 1",
        " --page-size 2 --limit 3",
        " -q 'WorkflowId = \"plain\"'",
        " -q 'WorkflowId = \"nothing\"'",
        " -q 'ExecutionStatus = \"Running\"' --page-size 1",
    ] {
        for output in ["json", "jsonl"] {
            for extra in ["", " --no-json-shorthand-payloads"] {
                let line = format!("temporal workflow list -o {output}{flags}{extra}");
                match against_cli(&server, &config, &line) {
                    Ok(()) => listed_natively += 1,
                    Err(why) => assert!(why.contains("payload shorthand"), "{line}: {why}"),
                }
            }
        }
    }
    println!("workflow list: {listed_natively} of 28 cases ran natively");
    assert!(
        listed_natively >= 14,
        "only {listed_natively} of 28 list cases ran natively"
    );
    let empty = tgate(
        &config,
        "grpc",
        "temporal workflow list -o json -q 'WorkflowId = \"nothing\"'",
    );
    assert_eq!(empty.stdout, b"[\n]\n");

    // Untranslated commands are refused by `grpc` and run by `auto`.
    assert_eq!(
        tgate(&config, "grpc", "temporal workflow list")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        tgate(&config, "auto", "temporal workflow count")
            .status
            .code(),
        Some(0)
    );
}
