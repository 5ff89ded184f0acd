//! The `tgate` binary as callers use it: `tgate parse`, its output forms and exit codes.

use std::process::{Command, Output};

fn tgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tgate"))
        .args(args)
        .env_clear()
        .output()
        .expect("run tgate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn parse_json_from_argv_form() {
    let o = tgate(&[
        "parse",
        "-o",
        "json",
        "--",
        "temporal",
        "-n",
        "prod",
        "workflow",
        "terminate",
        "-q",
        "WorkflowType='x'",
        "--yes",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["command"], "workflow terminate");
    assert_eq!(v["namespace"], "prod");
    assert_eq!(v["class"], "destructive");
    assert_eq!(v["batch"], true);
    assert_eq!(v["flags"]["query"], "WorkflowType='x'");
    assert_eq!(v["flags"]["yes"], true);
    assert_eq!(
        v["argv"],
        serde_json::json!([
            "temporal",
            "workflow",
            "terminate",
            "--namespace=prod",
            "--query=WorkflowType='x'",
            "--yes"
        ])
    );
}

#[test]
fn parse_json_from_string_form() {
    let o = tgate(&[
        "parse",
        "-o",
        "json",
        r#"temporal workflow list --query 'WorkflowId = "a;b|c"'"#,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["command"], "workflow list");
    assert_eq!(v["namespace"], "default");
    assert_eq!(v["class"], "read");
    assert_eq!(v["batch"], false);
    assert_eq!(v["flags"]["query"], r#"WorkflowId = "a;b|c""#);
}

#[test]
fn parse_text_output() {
    let o = tgate(&["parse", "temporal workflow describe -w order-1 -n prod"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for expected in [
        "command:    workflow describe",
        "namespace:  prod",
        "class:      read",
        "batch:      false",
        "--workflow-id  order-1",
        "argv:       temporal workflow describe --namespace=prod --workflow-id=order-1",
    ] {
        assert!(out.contains(expected), "missing `{expected}` in:\n{out}");
    }
}

#[test]
fn refusals_exit_2_with_reason_on_stderr() {
    for (args, reason) in [
        (
            vec!["parse", "temporal workflow list; rm -rf /"],
            "command separator `;` at column 23",
        ),
        (
            vec!["parse", "sh -c 'temporal workflow list'"],
            "must start with `temporal`, not `sh`",
        ),
        (
            vec!["parse", "--", "temporal", "workflow", "list", "--bogus"],
            "unknown flag: --bogus",
        ),
        (
            vec!["parse", "--", "temporal", "--tls", "workflow", "list"],
            "unknown flag: --tls",
        ),
        (
            vec!["parse", "--", "temporal", "workflow", "start"],
            "required flag(s) \"task-queue\", \"type\" not set",
        ),
        (
            vec!["parse", "--", "temporal", "workflow"],
            "needs a subcommand",
        ),
        (
            vec!["parse", "-o", "json", "temporal workflow list -n 'a\nb'"],
            "newline (U+000A) at column",
        ),
    ] {
        let o = tgate(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?} printed to stdout");
        assert!(stderr(&o).contains(reason), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn configured_program_path_is_accepted() {
    let o = tgate(&[
        "parse",
        "--program",
        "/opt/temporal/bin/temporal",
        "/opt/temporal/bin/temporal workflow list",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = tgate(&["parse", "/opt/temporal/bin/temporal workflow list"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    assert_eq!(tgate(&["parse"]).status.code(), Some(2));
    assert_eq!(
        tgate(&["parse", "-o", "yaml", "temporal workflow list"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(tgate(&["bogus"]).status.code(), Some(2));
    let h = tgate(&["parse", "--help"]);
    assert_eq!(h.status.code(), Some(0));
    assert!(stdout(&h).contains("tgate parse"));
}

#[test]
fn api_key_never_printed() {
    let o = tgate(&[
        "parse",
        "-o",
        "json",
        "--",
        "temporal",
        "workflow",
        "list",
        "--api-key",
        "sk-live-123",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!stdout(&o).contains("sk-live-123"));
    let o = tgate(&[
        "parse",
        "--",
        "temporal",
        "workflow",
        "list",
        "--api-key",
        "sk-live-123",
    ]);
    assert!(!stdout(&o).contains("sk-live-123"));
}
