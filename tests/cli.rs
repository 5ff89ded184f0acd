//! The `tgate` binary as callers use it: `tgate parse`, its output forms and exit codes.

mod common;

use common::tgate;
use std::process::Output;

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

/// A variable tgate takes a flag's value from, set but empty, is named as such (QA: clap said
/// "a value is required for '--config <FILE>'", a flag nobody typed), and not read as unset.
#[test]
fn an_empty_value_variable_is_named() {
    for (var, args) in [
        ("TGATE_CONFIG", &["check", "temporal workflow list"][..]),
        (
            "TGATE_CONFIG",
            &["run", "--", "temporal", "workflow", "list"][..],
        ),
        ("TGATE_AUDIT", &["audit", "verify"][..]),
    ] {
        let out = common::tgate_with_env(args, &[(var, "")]);
        assert_eq!(
            (out.status.code(), stderr(&out)),
            (
                Some(2),
                format!("tgate: `{var}` is set but empty: give it a value, or unset it\n")
            ),
            "{var} {args:?}"
        );
        assert!(out.stdout.is_empty(), "{var} {args:?}");
    }
    // An empty approver identity, from the variable or typed, is a usage error naming both.
    for (args, env) in [
        (
            &["approve", "01JABCDEFGHJKMNPQRSTVWXYZ0"][..],
            &[("TGATE_APPROVER", "")][..],
        ),
        (
            &["reject", "01JABCDEFGHJKMNPQRSTVWXYZ0", "--comment", "x"][..],
            &[("TGATE_APPROVER", " ")][..],
        ),
        (
            &["approve", "01JABCDEFGHJKMNPQRSTVWXYZ0", "--as", ""][..],
            &[][..],
        ),
    ] {
        let out = common::tgate_with_env(args, env);
        assert_eq!(
            (out.status.code(), stderr(&out)),
            (
                Some(2),
                "tgate: no approver identity: give `--as NAME`, or set `TGATE_APPROVER` (it is empty)\n"
                    .to_owned()
            ),
            "{args:?}"
        );
    }
    // A blank audit path is refused, not made a file named ` ` (QA).
    let out = common::tgate_with_env(&["audit", "verify"], &[("TGATE_AUDIT", " ")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the audit log's path is blank"),
        "{}",
        stderr(&out)
    );
    // `--audit` typed wins over `TGATE_AUDIT` set but empty, as it wins over one with a value: the
    // variable is not used, so not refused (review); every `audit` subcommand reads the log named.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let log = log.to_str().unwrap();
    let made = tgate(&["audit", "stress", log, "--threads", "1", "--records", "2"]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    let flag = format!("--audit={log}");
    for args in [
        &["audit", "verify", "--audit", log][..],
        &["audit", "verify", &flag][..],
        &["audit", "tail", "-n", "1", "--audit", log][..],
        &["audit", "export", "--audit", log, "--format", "jsonl"][..],
    ] {
        let out = common::tgate_with_env(args, &[("TGATE_AUDIT", "")]);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).contains(if args[1] == "verify" {
            "intact: 2 records"
        } else {
            "stress-0"
        }));
    }
    // A PATH typed empty beside `--audit` is its own error, not the unread variable's (review).
    let out = common::tgate_with_env(
        &["audit", "verify", "", "--audit", log],
        &[("TGATE_AUDIT", "")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: a value is required for '[PATH]'"),
        "{}",
        stderr(&out)
    );
    // Without `--audit` the empty variable is refused.
    let out = common::tgate_with_env(&["audit", "tail", "-n", "1"], &[("TGATE_AUDIT", "")]);
    assert_eq!(
        stderr(&out),
        "tgate: `TGATE_AUDIT` is set but empty: give it a value, or unset it\n"
    );
    // Another argument's bad value is not blamed on an empty variable (review).
    for (var, args, said) in [
        (
            "TGATE_APPROVER",
            &[
                "run",
                "--backend",
                "bogus",
                "--",
                "temporal",
                "workflow",
                "list",
            ][..],
            "invalid value 'bogus' for '--backend",
        ),
        (
            "TGATE_AUDIT",
            &["parse", "-o", "bogus", "temporal workflow list"][..],
            "invalid value 'bogus' for '--output",
        ),
    ] {
        let out = common::tgate_with_env(args, &[(var, "")]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
    }
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

fn policy(name: &str) -> String {
    format!("{}/policies/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_exit_codes_follow_the_decision() {
    let oncall = policy("oncall.yaml");
    for (line, code, decision) in [
        ("temporal workflow list -n payments", 0, "allow"),
        (
            "temporal workflow signal -w a -n payments --name retry",
            4,
            "require_approval",
        ),
        ("temporal workflow terminate -w a -n payments", 3, "deny"),
        ("temporal workflow list; rm -rf /", 2, "deny"),
    ] {
        let o = tgate(&["check", "--policy", &oncall, "-o", "json", line]);
        assert_eq!(o.status.code(), Some(code), "{line}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["decision"], decision, "{line}");
        assert!(
            v["rules"].as_array().is_some_and(|r| !r.is_empty()),
            "{line}"
        );
        assert!(
            v["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{line}"
        );
        // A line that does not parse has no argv: left out, as other valueless fields are (QA).
        assert_eq!(v.get("argv").is_none(), code == 2, "{line}: {v}");
    }
}

#[test]
fn check_json_has_the_documented_fields() {
    let o = tgate(&[
        "check", "-o", "json", "--", "temporal", "workflow", "list", "--limit", "5000",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["rules"], serde_json::json!(["read-only"]));
    assert_eq!(v["command"], "workflow list");
    assert_eq!(v["namespace"], "default");
    assert_eq!(v["class"], "read");
    assert_eq!(v["batch"], false);
    assert_eq!(v["obligations"]["max_limit"], 1000);
    // As `tgate run` would run it: the cap applied, the default namespace made explicit.
    assert_eq!(
        v["argv"],
        serde_json::json!([
            "temporal",
            "workflow",
            "list",
            "--limit=1000",
            "--namespace=default"
        ])
    );
}

#[test]
fn check_explain_lists_rules() {
    let o = tgate(&[
        "check",
        "--policy",
        &policy("oncall.yaml"),
        "--explain",
        "temporal workflow delete -w a -n payments",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let out = stdout(&o);
    assert!(out.contains("explain:"), "{out}");
    assert!(
        out.contains("`reads` (allow): class `destructive` is not listed"),
        "{out}"
    );
    assert!(
        out.contains(
            "`no-batches` (deny): the command is not a batch (acts on one execution or none)"
        ),
        "{out}"
    );
}

#[test]
fn check_with_a_broken_policy_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "version: 1\nnamespaces: [default]\nrules:\n  - id: a\n    decison: allow\n",
    )
    .unwrap();
    let check_bad = || {
        tgate(&[
            "check",
            "--policy",
            bad.to_str().unwrap(),
            "temporal workflow list",
        ])
    };
    let o = check_bad();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("bad.yaml:5:5: rules[0]: unknown field `decison`"),
        "{}",
        stderr(&o)
    );
    // Where, said once (serde_yaml ends its message with it too); a scanner error keeps the
    // place of its context.
    assert!(!stderr(&o).contains("at line"), "{}", stderr(&o));
    std::fs::write(&bad, "version: 1\nrules:\n  - id: \"a\n").unwrap();
    let o = check_bad();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "bad.yaml:4:1: found unexpected end of stream, while scanning a quoted scalar at line 3 column 9"
        ),
        "{}",
        stderr(&o)
    );
    let o = tgate(&[
        "check",
        "--policy",
        "/nonexistent.yaml",
        "temporal workflow list",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read policy `/nonexistent.yaml`"));
}

/// Under an integration whose default namespace is `prod`, a command naming no namespace runs
/// in `prod`: `check`, `policy test` and `policy lint` judge it there, as `run` does.
#[test]
fn a_command_naming_no_namespace_is_judged_in_the_default_one() {
    let ro = policy("read-only.yaml");
    let o = tgate(&[
        "check",
        "--policy",
        &ro,
        "--default-namespace",
        "prod",
        "-o",
        "json",
        "temporal workflow list",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["namespace"], "prod");
    assert_eq!(v["rules"][0], "read-only");
    let o = tgate(&[
        "check",
        "--policy",
        &ro,
        "--default-namespace",
        "prod",
        "temporal workflow list -n default",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(stdout(&o).contains("tgate:namespace-allowlist"));
    for sub in ["test", "lint"] {
        let o = tgate(&["policy", sub, "--default-namespace", "prod", &ro]);
        assert_eq!(o.status.code(), Some(0), "{sub}: {}", stdout(&o));
    }
    // A namespace no command line could name is a usage error (an empty one made the built-in
    // policy panic, exit 101).
    for (ns, why) in [
        ("", "the namespace is empty"),
        (" prod", "the namespace ` prod` has spaces around it"),
        (
            "pay\u{200b}ments",
            "the namespace contains an invisible format character: `pay\\u{200b}ments`",
        ),
    ] {
        let o = tgate(&["check", "--default-namespace", ns, "temporal workflow list"]);
        assert_eq!(o.status.code(), Some(2), "{ns:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(why), "{}", stderr(&o));
    }
    // A test that expects a command naming no namespace to be allowed in `default` fails under
    // `prod` (the policy allows only `default`).
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.yaml");
    std::fs::write(
        &f,
        "version: 1\nnamespaces: [default]\nrules:\n  - {id: reads, decision: allow, reason: r, when: {classes: [read]}}\ntests:\n  - {command: temporal workflow list, expect: allow}\n",
    )
    .unwrap();
    let f = f.to_str().unwrap();
    let o = tgate(&["policy", "test", f]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = tgate(&["policy", "test", "--default-namespace", "prod", f]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("namespace `prod` is not in any policy's namespaces"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_namespace_allowlist_denial_names_the_namespace_outside_it() {
    // `operator namespace describe NAME` acts on NAME and connects with the CLI's own default
    // namespace, `default` (tgate injects none: the command names one): the reason (and
    // --explain) names whichever of the two no policy holds. oncall.yaml holds payments, orders
    // and $default.
    let oncall = policy("oncall.yaml");
    let check = |ns: &str, line: &str| {
        let o = tgate(&[
            "check",
            "--policy",
            &oncall,
            "--default-namespace",
            ns,
            "-o",
            "json",
            "--explain",
            line,
        ]);
        assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["rules"][0], "tgate:namespace-allowlist");
        (
            v["reason"].as_str().unwrap().to_owned(),
            v["explain"][0]["why"].as_str().unwrap().to_owned(),
        )
    };
    let (reason, why) = check("orders", "temporal operator namespace describe payments");
    assert_eq!(
        reason,
        "namespace `default`, the one the client connects with, is not in any policy's namespaces"
    );
    assert_eq!(
        why,
        "namespace `default` is outside this policy's namespaces"
    );
    let (reason, why) = check("orders", "temporal operator namespace describe billing");
    assert_eq!(
        reason,
        "namespace `billing` is not in any policy's namespaces"
    );
    assert_eq!(
        why,
        "namespace `billing` is outside this policy's namespaces"
    );
    // Each held by a policy, both by none.
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<String> = ["billing", "default"]
        .iter()
        .map(|ns| {
            let f = dir.path().join(format!("{ns}.yaml"));
            std::fs::write(
                &f,
                format!("version: 1\nnamespaces: [{ns}]\nrules:\n  - {{id: reads-{ns}, decision: allow, reason: r, when: {{classes: [read]}}}}\n"),
            )
            .unwrap();
            f.to_str().unwrap().to_owned()
        })
        .collect();
    let o = tgate(&[
        "check",
        "--policy",
        &files[0],
        "--policy",
        &files[1],
        "temporal operator namespace describe billing",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(
            "no policy's namespaces hold both `billing`, acted on, and `default`, the one the client connects with"
        ),
        "{}",
        stdout(&o)
    );
}

#[test]
fn policy_test_lint_and_schema() {
    for name in [
        "read-only.yaml",
        "oncall.yaml",
        "payments-sre.yaml",
        "gated-ops.yaml",
    ] {
        let o = tgate(&["policy", "test", &policy(name)]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stdout(&o));
        assert!(stdout(&o).contains(" passed, 0 failed"));
        let o = tgate(&["policy", "lint", &policy(name)]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stdout(&o));
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.yaml");
    std::fs::write(
        &f,
        "version: 1\nnamespaces: [default]\nrules:\n  - {id: reads, decision: allow, reason: r, when: {classes: [read]}}\ntests:\n  - {command: temporal workflow delete -w a, expect: allow}\n",
    )
    .unwrap();
    let o = tgate(&["policy", "test", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("0 passed, 1 failed"), "{}", stdout(&o));
    let o = tgate(&["policy", "lint", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let o = tgate(&["policy", "schema"]);
    assert_eq!(o.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(schema["title"], "PolicyFile");
}

/// With no policy configured, the built-in read-only policy judges in the integration's own
/// default namespace (it once panicked when that was not `default`: its embedded tests assume it).
#[test]
fn the_builtin_policy_follows_the_integrations_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tgate.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\naudit: {{path: {}}}\nintegrations:\n  - {{name: prod, auth: direct, address: '127.0.0.1:9', namespace: prod}}\n",
            dir.path().join("audit.jsonl").display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for (line, denied_by) in [
        (
            "temporal workflow list -n default",
            "tgate:namespace-allowlist",
        ),
        ("temporal workflow signal -w a --name go", "tgate:no-rule"),
    ] {
        let out = common::tgate(&["run", "--config", config, line]);
        assert_eq!(out.status.code(), Some(3), "{line}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with(&format!("tgate: denied ({denied_by})")),
            "{line}: {}",
            stderr(&out)
        );
    }
}

/// Help and usage errors read by a program (a pipe, not a terminal) are plain text: no escape
/// sequences for an agent to strip.
#[test]
fn help_and_usage_errors_are_plain_text_in_a_pipe() {
    for args in [
        &["run", "--help"][..],
        &["--help"][..],
        &["run", "--backend", "nope", "temporal workflow list"][..],
        &["check"][..],
    ] {
        let out = tgate(args);
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        assert!(!all.is_empty(), "{args:?}");
        assert!(
            !all.contains(&0x1b),
            "{args:?}: {}",
            String::from_utf8_lossy(&all)
        );
    }
}

/// A relative `temporal:` is relative to the configuration file, and a relative
/// `TGATE_TEMPORAL_BIN` to where tgate was started, also when `--config` is itself relative (a bare
/// file name among them): the
/// CLI executor starts its child in a private directory (QA: `--config tb/rel.yaml` with
/// `temporal: temporal2` could not start `tb/temporal2`).
#[test]
fn a_relative_temporal_binary_is_found_from_a_relative_configuration() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tb")).unwrap();
    let bin = dir.path().join("tb/temporal2");
    std::fs::write(&bin, "#!/bin/sh\necho stand-in \"$2\"\n").unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let integration =
        "integrations:\n  - {name: a, auth: direct, namespace: default, address: '127.0.0.1:1'}\n";
    std::fs::write(
        dir.path().join("tb/rel.yaml"),
        format!("version: 1\ntemporal: temporal2\naudit: {{path: a.jsonl}}\n{integration}"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tb/env.yaml"),
        format!("version: 1\naudit: {{path: a.jsonl}}\n{integration}"),
    )
    .unwrap();
    // A bare file name too, run from its own directory (QA: its parent, the empty path, could
    // not be made absolute, and `temporal2` stayed relative).
    for (cwd, config, env) in [
        (".", "tb/rel.yaml", None),
        ("tb", "rel.yaml", None),
        (
            ".",
            "tb/env.yaml",
            Some(("TGATE_TEMPORAL_BIN", "tb/temporal2")),
        ),
    ] {
        let mut cmd = std::process::Command::new(common::tgate_bin());
        cmd.current_dir(dir.path().join(cwd))
            .args(["run", "--backend", "cli", "--config", config, "--"])
            .arg("temporal workflow list")
            .env_clear();
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{config}: {}", stderr(&o));
        assert_eq!(stdout(&o), "stand-in list\n", "{config}");
    }
}

/// An audit path beginning with `~`, from `--audit` or `TGATE_AUDIT`, is refused: no shell
/// expands it, and a directory named `~` was made (re-check QA). Nothing runs.
#[test]
fn an_audit_path_beginning_with_a_tilde_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (args, env) in [
        (vec!["run", "--audit", "~/a.jsonl", "--"], None),
        (vec!["run", "--"], Some(("TGATE_AUDIT", "~/a.jsonl"))),
    ] {
        let mut cmd = std::process::Command::new(common::tgate_bin());
        cmd.current_dir(dir.path())
            .args(&args)
            .arg("temporal workflow list")
            .env_clear();
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&o),
            "tgate: audit log unavailable: `~/a.jsonl`: tgate expands no `~` (no shell runs): give the full path\n"
        );
        assert!(!dir.path().join("~").exists(), "{args:?}");
    }
}

/// Policy-writing slips get messages that say what is wrong (QA): a UTF-8 byte-order mark
/// (which YAML allows) is read past, not taken for part of the first key; a flag named with its
/// dashes; a rate count too large.
#[test]
fn policy_slips_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let bom = dir.path().join("bom.yaml");
    std::fs::write(
        &bom,
        "\u{feff}version: 1\nnamespaces: [default]\nrules:\n  - {id: r, decision: allow, reason: r, when: {classes: [read]}}\n",
    )
    .unwrap();
    let o = tgate(&["policy", "lint", bom.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = tgate(&[
        "check",
        "--policy",
        bom.to_str().unwrap(),
        "temporal workflow list",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let slips = dir.path().join("slips.yaml");
    std::fs::write(
        &slips,
        "version: 1\nnamespaces: [default]\nrules:\n  - {id: a, decision: allow, reason: r, when: {commands: [workflow signal], flags: {--name: {in: [x]}}}}\n  - {id: b, decision: allow, reason: r, rate: 99999999999/hour, when: {commands: [workflow list]}}\n",
    )
    .unwrap();
    let o = tgate(&["policy", "lint", slips.to_str().unwrap()]);
    let text = stdout(&o);
    assert!(
        text.contains("rule `a`: flag `--name`: name it without dashes (`name`)"),
        "{text}"
    );
    assert!(
        text.contains("rule `b`: rate `99999999999/hour`: the count is over 4294967295"),
        "{text}"
    );
}

/// A line after `--` is the agent's, never tgate's options, even when it begins with `-` (one
/// string or an argv): it is judged (and, by `run`, recorded) as a command line that does not
/// start with `temporal`, under the caller the runtime gave.
#[test]
fn a_line_after_the_double_dash_is_never_read_as_tgates_options() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    for line in [
        vec!["--caller=dana temporal workflow list"],
        vec!["--caller=dana", "temporal", "workflow", "list"],
        vec!["--help"],
    ] {
        let mut args = vec![
            "run",
            "--caller",
            "agent",
            "--audit",
            audit.to_str().unwrap(),
            "--",
        ];
        args.extend(&line);
        let o = tgate(&args);
        assert_eq!(o.status.code(), Some(2), "{line:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("tgate: command line must start with `temporal`, not `--"),
            "{line:?}: {}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "{line:?}");
        let last = std::fs::read_to_string(&audit)
            .unwrap()
            .lines()
            .last()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .unwrap();
        assert_eq!(
            (last["caller"].as_str(), last["decision"].as_str()),
            (Some("agent"), Some("deny")),
            "{line:?}: {last}"
        );
    }
}

/// A caller id or group that could forge an audit line or pass for another name (a newline, an
/// escape, a bidirectional control, a line separator, a zero-width space) is refused before
/// anything is decided or run: exit 2, naming the flag and the character's kind.
#[test]
fn caller_ids_and_groups_must_be_plain_names() {
    let oncall = policy("oncall.yaml");
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    for (flag, value, kind) in [
        (
            "--caller",
            "agent\n2026-12-01T21:40:00.000Z #99 allow dana",
            "newline",
        ),
        ("--caller", "agent\u{1b}[2K", "escape"),
        ("--caller", "dana\u{202e}", "bidirectional control"),
        ("--caller", "da\u{2028}na", "line separator"),
        ("--group", "s\u{200b}re", "invisible format character"),
        ("--caller", "agent\u{3164}", "invisible format character"),
        ("--caller", "da\u{a0}na", "space other than the ASCII space"),
        ("--caller", " ", "is empty"),
        // No policy pattern can have spaces around it (QA: ` agent` had a rate budget apart).
        ("--caller", " agent", "has spaces around it"),
        ("--group", "sre\t", "tab"),
        ("--group", "sre ", "has spaces around it"),
        // The CSV export joins groups with `;`: one group would read as two.
        ("--group", "oncall;admins", "CSV export"),
        (
            "--caller",
            "da\u{0363}\u{0591}\u{0363}\u{0e49}\u{0363}\u{064b}\u{0363}na",
            "more than 6 combining marks in a row",
        ),
    ] {
        let line = "temporal workflow list -n payments";
        for sub in ["check", "run"] {
            let mut args = vec![sub, flag, value];
            if sub == "check" {
                args.extend(["--policy", oncall.as_str()]);
            } else {
                args.extend(["--audit", audit.to_str().unwrap()]);
            }
            args.push(line);
            let o = tgate(&args);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{sub} {flag} {value:?}: {}",
                stderr(&o)
            );
            assert!(
                stderr(&o).contains(flag) && stderr(&o).contains(kind),
                "{sub} {flag} {value:?}: {}",
                stderr(&o)
            );
            assert!(stdout(&o).is_empty());
            // Which value (its first 40 characters), escaped so that the message itself is plain.
            let head: String = value.chars().take(40).collect();
            let shown = tgate::lex::quote_for_people(&head);
            assert!(
                stderr(&o).contains(&shown),
                "{sub} {flag} {value:?}: {}",
                stderr(&o)
            );
        }
    }
    assert!(!audit.exists(), "nothing is recorded for a refused caller");
}

/// `TGATE_LOG` turns tgate's diagnostics on (standard error, beside the command's own), is off
/// when unset, and an unknown level is refused before anything is decided or run.
#[test]
fn diagnostics_follow_tgate_log() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let run = |log: Option<&str>| {
        let mut cmd = std::process::Command::new(common::tgate_bin());
        cmd.args(["run", "--audit"])
            .arg(&audit)
            .arg("temporal workflow terminate -w order-42 --reason stuck")
            .env_clear();
        if let Some(level) = log {
            cmd.env("TGATE_LOG", level);
        }
        cmd.output().unwrap()
    };
    let denial = "tgate: denied (tgate:no-rule): no rule allows `temporal workflow terminate` in namespace `default`\n";

    let quiet = run(None);
    assert_eq!(quiet.status.code(), Some(3));
    assert_eq!(stderr(&quiet), denial);
    assert_eq!(stderr(&run(Some("off"))), denial);

    let logged = run(Some("debug"));
    assert_eq!(logged.status.code(), Some(3));
    assert!(logged.stdout.is_empty());
    let text = stderr(&logged);
    assert!(text.ends_with(denial), "{text}");
    let decided = text
        .lines()
        .find(|l| l.contains(" INFO tgate::cli: decided "))
        .unwrap_or_else(|| panic!("no decision logged:\n{text}"));
    for field in [
        r#"caller="agent""#,
        r#"command="workflow terminate""#,
        r#"namespace="default""#,
        r#"target="workflow order-42""#,
        r#"decision="deny""#,
        r#"rules=["tgate:no-rule"]"#,
    ] {
        assert!(decided.contains(field), "{field} missing: {decided}");
    }
    assert!(
        text.contains(" DEBUG tgate::audit::log: audit batch written records=1 "),
        "{text}"
    );
    // The decision names the command, not its flags' values.
    assert!(!text.contains("stuck"), "{text}");
    // `info` leaves out the debug events.
    let info = stderr(&run(Some("INFO")));
    assert!(info.contains(" INFO tgate::cli: decided "), "{info}");
    assert!(!info.contains("DEBUG"), "{info}");

    // A value from the agent's line is cut, however long (a namespace here).
    let long = std::process::Command::new(common::tgate_bin())
        .args(["run", "--audit"])
        .arg(&audit)
        .arg(format!("temporal workflow list -n {}", "n".repeat(70_000)))
        .env_clear()
        .env("TGATE_LOG", "info")
        .output()
        .unwrap();
    assert_eq!(long.status.code(), Some(3));
    let text = stderr(&long);
    let decided = text
        .lines()
        .find(|l| l.contains(" INFO tgate::cli: decided "))
        .unwrap_or_else(|| panic!("no decision logged:\n{text}"));
    assert!(decided.len() < 1024, "{} bytes: {decided}", decided.len());
    assert!(decided.contains("nnn… (69"), "{decided}");

    // The commands that read a configuration's records part log it too (QA: only `check` did).
    let config = dir.path().join("tgate.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\naudit: {{path: {}}}\napprovers: [{{id: dana}}]\nintegrations:\n  - {{name: dev, auth: direct, address: '127.0.0.1:1', namespace: default}}\n",
            audit.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for args in [
        &["approvals", "list", "--config", config][..],
        &["audit", "verify", "--config", config][..],
        &[
            "reject",
            "01JABCDEFGHJKMNPQRSTVWXYZ0",
            "--as",
            "dana",
            "--comment",
            "c",
            "--config",
            config,
        ][..],
    ] {
        let out = common::tgate_with_env(args, &[("TGATE_LOG", "debug")]);
        let text = stderr(&out);
        assert!(
            text.contains(" DEBUG tgate::cli: configuration loaded ")
                && text.contains(" approvers=1 "),
            "{args:?}: {text}"
        );
    }

    let records = std::fs::read_to_string(&audit).unwrap().lines().count();
    let bad = run(Some("tgate=debug"));
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        stderr(&bad),
        "tgate: TGATE_LOG: \"tgate=debug\" is not a level; use one of off, error, warn, info, debug, trace\n"
    );
    assert!(bad.stdout.is_empty());
    let after = std::fs::read_to_string(&audit).unwrap().lines().count();
    assert_eq!(after, records, "nothing is decided or recorded");
}

/// A policy or configuration "file" that never ends (`/dev/zero`) is refused past 8 MiB instead
/// of being read until memory runs out.
#[test]
fn endless_files_are_refused() {
    let out = tgate(&["check", "--policy", "/dev/zero", "temporal workflow list"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "tgate: cannot read policy `/dev/zero`: larger than 8388608 bytes\n"
    );
    let out = tgate(&["run", "--config", "/dev/zero", "temporal workflow list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("larger than 8388608 bytes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tgate run` remembers the policies that passed their embedded tests in `policy-tests/` beside
/// the audit log, one marker per policy text; a policy whose tests fail is refused at every run,
/// and leaves none.
#[test]
fn run_remembers_policies_that_passed_their_tests() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.yaml");
    let rules = "version: 1\nnamespaces: [default]\nrules:\n  - {id: reads, decision: allow, reason: r, when: {classes: [read]}}\ntests:\n";
    let config = dir.path().join("tgate.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\ntemporal: /bin/true\naudit: {{path: {}}}\npolicies: [{}]\nintegrations:\n  - {{name: dev, auth: direct, address: '127.0.0.1:1', namespace: default}}\n",
            dir.path().join("state/audit.jsonl").display(),
            policy.display()
        ),
    )
    .unwrap();
    let markers = dir.path().join("state/policy-tests");
    let count = || std::fs::read_dir(&markers).map_or(0, |d| d.count());
    let run = |line: &str| {
        tgate(&[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--backend",
            "cli",
            line,
        ])
    };
    std::fs::write(
        &policy,
        format!("{rules}  - {{command: temporal workflow list, expect: allow}}\n"),
    )
    .unwrap();
    for _ in 0..2 {
        let o = run("temporal workflow list");
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(count(), 1);
    }
    // A denied command loads the policy the same way.
    assert_eq!(run("temporal workflow delete -w a").status.code(), Some(3));
    assert_eq!(count(), 1);
    // Edited: tested again, and remembered under its new text.
    std::fs::write(
        &policy,
        format!("{rules}  - {{command: temporal workflow list -n default, expect: allow}}\n"),
    )
    .unwrap();
    assert_eq!(run("temporal workflow list").status.code(), Some(0));
    assert_eq!(count(), 2);
    // Failing tests: refused at each run, nothing remembered.
    std::fs::write(
        &policy,
        format!("{rules}  - {{command: temporal workflow list, expect: deny}}\n"),
    )
    .unwrap();
    for _ in 0..2 {
        let o = run("temporal workflow list");
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("test 1 `temporal workflow list`: expected deny"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(count(), 2);
}

/// Files that load one by one but not together (a rate-limited rule's id in both, the same file
/// twice): `policy lint` of the files reports it, and `check` with them refuses, as `run` would.
#[test]
fn files_that_cannot_be_pooled_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, rule: &str| {
        let f = dir.path().join(name);
        std::fs::write(
            &f,
            format!("version: 1\nnamespaces: [default]\nrules:\n  - {rule}\n"),
        )
        .unwrap();
        f.to_str().unwrap().to_owned()
    };
    let a = write(
        "a.yaml",
        "{id: signals, decision: allow, reason: r, rate: 3/day, when: {commands: [workflow signal]}}",
    );
    let b = write(
        "b.yaml",
        "{id: signals, decision: allow, reason: r, when: {commands: [workflow cancel]}}",
    );
    for f in [&a, &b] {
        assert_eq!(tgate(&["policy", "lint", f]).status.code(), Some(0));
    }
    let o = tgate(&["policy", "lint", &a, &b]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!(
            "error: {b}: rule `signals`: `{a}` has a rule with this id too, and one of them a rate limit"
        )),
        "{}",
        stdout(&o)
    );
    let o = tgate(&[
        "check",
        "--policy",
        &a,
        "--policy",
        &b,
        "temporal workflow list",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("share one counter"), "{}", stderr(&o));
    // The same file twice, under one name or two.
    let again = dir.path().join(".").join("a.yaml");
    let again = again.to_str().unwrap();
    for second in [a.as_str(), again] {
        let o = tgate(&["policy", "lint", &a, second]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stdout(&o).contains(&format!("error: policy `{second}` is `{a}` given again")),
            "{}",
            stdout(&o)
        );
    }
}

/// `check --config` judges as `run` would with that configuration: its policies (unless
/// `--policy`) and its integration's namespace, chosen with `--integration`.
#[test]
fn check_with_a_configuration_judges_as_run_would() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tgate.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\ntemporal: /bin/true\npolicies: [{}]\nintegrations:\n  - {{name: pay, auth: direct, address: '127.0.0.1:1', namespace: payments}}\n  - {{name: stage, auth: direct, address: '127.0.0.1:1', namespace: staging}}\n",
            policy("oncall.yaml")
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let check = |extra: &[&str], line: &str| {
        let mut args = vec!["check", "--config", config, "-o", "json"];
        args.extend_from_slice(extra);
        args.push(line);
        tgate(&args)
    };
    let o = check(&[], "temporal workflow list");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (&v["namespace"], &v["rules"][0]),
        (&"payments".into(), &"reads".into())
    );
    // Another integration: `$default` is its namespace.
    let o = check(&["--integration", "stage"], "temporal workflow list");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["namespace"], "staging");
    // --policy replaces the configuration's policies.
    let o = check(
        &["--policy", &policy("read-only.yaml")],
        "temporal workflow list -n orders",
    );
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    let o = check(&["--integration", "nope"], "temporal workflow list");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no integration is named `nope`"),
        "{}",
        stderr(&o)
    );
    let o = check(&["--default-namespace", "x"], "temporal workflow list");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--default-namespace judges without a configuration"),
        "{}",
        stderr(&o)
    );
    let o = tgate(&["check", "--integration", "pay", "temporal workflow list"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--integration needs a configuration"),
        "{}",
        stderr(&o)
    );
    // TGATE_CONFIG, as `run` reads it: an agent's environment names its configuration there, and
    // `check` must predict what `run` will do in that environment.
    let with_env = |args: &[&str]| {
        std::process::Command::new(common::tgate_bin())
            .args(args)
            .env_clear()
            .env("TGATE_CONFIG", config)
            .output()
            .unwrap()
    };
    let o = with_env(&["check", "-o", "json", "temporal workflow list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (&v["namespace"], &v["rules"][0]),
        (&"payments".into(), &"reads".into())
    );
    // Which configuration judged is said, since the command line does not show it.
    assert_eq!(
        v["configuration"],
        serde_json::json!({"file": config, "integration": "pay"})
    );
    let o = with_env(&["check", "temporal workflow list"]);
    assert!(
        stdout(&o).contains(&format!("config:     {config} (integration `pay`)\n")),
        "{}",
        stdout(&o)
    );
    let o = tgate(&["check", "-o", "json", "temporal workflow list"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.get("configuration"), None);
    let o = with_env(&[
        "check",
        "-o",
        "json",
        "--integration",
        "stage",
        "temporal workflow list",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["namespace"], "staging");
    // The built-in policy would deny this namespace; the configuration's (oncall.yaml) allows it.
    let o = with_env(&["check", "temporal workflow list -n payments"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = tgate(&["check", "temporal workflow list -n payments"]);
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    let o = with_env(&[
        "check",
        "--default-namespace",
        "x",
        "temporal workflow list",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unset TGATE_CONFIG"), "{}", stderr(&o));
}

/// The commands that work on tgate's records (`approvals`, `approve`, `reject`, `audit`) read the
/// configuration's audit log and approvers only: an approver or an auditor needs no integration's
/// secret, certificate or `temporal` binary (QA: each failed without the production API key in
/// its environment). `check` and `run`, which judge and connect, read the integration they use
/// (`only_the_integration_in_use_is_read`).
#[test]
fn records_commands_need_no_integrations_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.yaml"),
        "version: 1\ntemporal: /nonexistent/temporal\naudit: {path: a.jsonl}\nintegrations:\n  \
         - {name: prod, auth: cloud-api-key, namespace: payments, account_id: a1b2c, api_key: {env: PROD_KEY_NOT_SET}}\n  \
         - {name: mtls, auth: cloud-mtls, namespace: orders, account_id: a1b2c, client_cert: {file: /nonexistent/c.pem}, client_key: {file: /nonexistent/c.key}}\n\
         approvers: [{id: dana, groups: [sre]}]\n",
    )
    .unwrap();
    let tgate = |args: &[&str]| {
        std::process::Command::new(common::tgate_bin())
            .current_dir(dir.path())
            .args(args)
            .env_clear()
            .output()
            .unwrap()
    };
    // Nothing recorded at the configuration's audit location yet: said, and nothing made there.
    for args in [
        &["approvals", "list", "--config", "c.yaml"][..],
        &[
            "approve",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "--as",
            "dana",
            "--config",
            "c.yaml",
        ],
    ] {
        let o = tgate(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&o),
            format!(
                "tgate: no audit log or approval store at `{}`: nothing has been recorded there; is \
                 it where `tgate run` records (`--audit`, `TGATE_AUDIT`, the configuration's \
                 `audit.path`)?\n",
                std::fs::canonicalize(dir.path())
                    .unwrap()
                    .join("a.jsonl")
                    .display()
            )
        );
    }
    let made: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(made, ["c.yaml"]);
    // The log a first run makes, with no request yet: no approvals, and no store made.
    std::fs::write(dir.path().join("a.jsonl"), "").unwrap();
    let o = tgate(&["approvals", "list", "--config", "c.yaml"]);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "no approvals\n"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("approvals.sqlite3").exists());
    // Refused for what it is (no such approval), not for the configuration.
    let o = tgate(&[
        "approve",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "--as",
        "dana",
        "--config",
        "c.yaml",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "tgate: refused: there is no approval `01arz3ndektsv4rrffq69g5fav`\n"
    );
    let o = tgate(&["audit", "verify", "--config", "c.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("intact: "), "{}", stdout(&o));
    let o = tgate(&["audit", "export", "--config", "c.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Judging needs the integration: its secret is read, and its absence refused.
    let o = tgate(&["check", "--config", "c.yaml", "temporal workflow list"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "tgate: c.yaml: integration `prod`: api_key: environment variable `PROD_KEY_NOT_SET` is not set\n"
    );
}

/// `check`, `run` and `doctor` read the secrets and certificates of the integration they use, and
/// only its: an agent working with one cluster needs neither another's API key in its
/// environment nor its certificate files (QA: `--integration Self-hosted` failed for want of the
/// production Cloud key). Every integration's structure is still checked, and another's API key
/// that can be read is still kept out of what tgate prints.
#[test]
fn only_the_integration_in_use_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let config = |prod_key: &str| {
        std::fs::write(
            dir.path().join("c.yaml"),
            format!(
                "version: 1\naudit: {{path: a.jsonl}}\nintegrations:\n  \
                 - {{name: prod, auth: cloud-api-key, namespace: payments, account_id: a1b2c, api_key: {prod_key}}}\n  \
                 - {{name: mtls, auth: cloud-mtls, namespace: orders, account_id: a1b2c, client_cert: {{file: /nonexistent/c.pem}}, client_key: {{file: /nonexistent/c.key}}}}\n  \
                 - {{name: self, auth: direct, address: '127.0.0.1:1', namespace: default}}\n"
            ),
        )
        .unwrap();
    };
    let tgate = |args: &[&str], env: &[(&str, &str)]| {
        std::process::Command::new(common::tgate_bin())
            .current_dir(dir.path())
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    config("{env: PROD_KEY}");
    let check = |integration: &str, line: &str, env: &[(&str, &str)]| {
        tgate(
            &[
                "check",
                "--config",
                "c.yaml",
                "--integration",
                integration,
                line,
            ],
            env,
        )
    };
    // Neither the production key nor the mTLS files are there: the self-hosted cluster is used.
    let o = check("self", "temporal workflow list", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("config:     c.yaml (integration `self`)"),
        "{}",
        stdout(&o)
    );
    // Doctor of it looks at its connection (nothing listens), not at the others' material.
    let o = tgate(
        &["doctor", "--config", "c.yaml", "--integration", "self"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("127.0.0.1:1"), "{}", stdout(&o));
    // The integration in use is read whole, and what it lacks is refused.
    let o = check("prod", "temporal workflow list", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "tgate: c.yaml: integration `prod`: api_key: environment variable `PROD_KEY` is not set\n"
    );
    let o = check(
        "mtls",
        "temporal workflow list",
        &[("PROD_KEY", "sk-prod-0123456789")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "tgate: c.yaml: integration `mtls`: client_cert: cannot read `/nonexistent/c.pem`: No such file or directory (os error 2)\n"
    );
    // An unknown name is refused with every name configured.
    let o = check("nope", "temporal workflow list", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "tgate: no integration is named `nope` (configured: prod, mtls, self)\n"
    );
    // Another integration's key, when it can be read, is still one no line may hold.
    let o = check(
        "self",
        "temporal workflow describe -w sk-prod-0123456789",
        &[("PROD_KEY", "sk-prod-0123456789")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("tgate:api-key-in-line"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("sk-prod-0123456789"), "{}", stdout(&o));
    // The others' structure is still checked: a source given two ways, or not given at all.
    config("{file: k, env: PROD_KEY}");
    let o = check("self", "temporal workflow list", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "tgate: c.yaml: integration `prod`: api_key: give exactly one of `file` or `env`\n"
    );
    config("{file: ''}");
    let o = check("self", "temporal workflow list", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "tgate: c.yaml: integration `prod`: api_key: `` is not a file's path (empty, or a directory's)\n"
    );
    // Another integration's key that is set and no key tgate takes is left out, said in the
    // diagnostics (it is neither refused nor kept out of output).
    config("{env: PROD_KEY}");
    let o = check(
        "self",
        "temporal workflow list",
        &[("PROD_KEY", "short"), ("TGATE_LOG", "warn")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "an integration not in use: its API key is not read, nor kept out of output integration=\"prod\" why=api_key: the key is shorter than 8 characters (it is not shown)"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("short\""), "{}", stderr(&o));
}

/// `tgate doctor` loads the policies every `run` under the integration would: a configuration
/// naming one that cannot load is a configuration error (exit 2) before anything is probed (QA:
/// doctor said healthy while every run failed with `cannot read policy`).
#[test]
fn doctor_refuses_a_configuration_whose_policies_do_not_load() {
    let dir = tempfile::tempdir().unwrap();
    let config = |policy: &str| {
        std::fs::write(
            dir.path().join("c.yaml"),
            format!(
                "version: 1\nintegrations:\n  - {{name: self, auth: direct, address: '127.0.0.1:1', namespace: default}}\npolicies: [{policy}]\n"
            ),
        )
        .unwrap();
    };
    let doctor = || {
        std::process::Command::new(common::tgate_bin())
            .current_dir(dir.path())
            .args(["doctor", "--config", "c.yaml", "--backend", "grpc"])
            .env_clear()
            .output()
            .unwrap()
    };
    let at = std::path::absolute(dir.path()).unwrap();
    config("nope.yaml");
    let o = doctor();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "tgate: cannot read policy `{}`: No such file or directory (os error 2)\n",
            at.join("nope.yaml").display()
        )
    );
    assert_eq!(stdout(&o), "");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "version: 1\nnamespaces: [$default]\nrules: []\ncolour: blue\n",
    )
    .unwrap();
    config("bad.yaml");
    let o = doctor();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("colour"), "{}", stderr(&o));
    // A policy that loads: the connection is diagnosed (nothing listens there).
    std::fs::write(
        dir.path().join("good.yaml"),
        "version: 1\nnamespaces: [$default]\nrules: []\n",
    )
    .unwrap();
    config("good.yaml");
    let o = doctor();
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("problem (unreachable)"),
        "{}",
        stdout(&o)
    );
}

/// A mistyped option of tgate's own, which clap hands on as the start of the command line, is
/// said to be no option of tgate's either (it was only `must start with temporal`).
#[test]
fn a_mistyped_option_is_said_to_be_none_of_tgates() {
    for args in [
        &[
            "check",
            "--integraton",
            "prod",
            "--",
            "temporal",
            "workflow",
            "list",
        ][..],
        &["check", "--integraton=prod", "temporal", "workflow", "list"],
    ] {
        let o = tgate(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let word = args[1];
        assert!(
            stdout(&o).contains(&format!(
                "reason:     command line must start with `temporal`, not `{word}` (it is no \
                 option of tgate's either: see `--help`)\n"
            )),
            "{args:?}: {}",
            stdout(&o)
        );
    }
}

/// A namespace named by id is denied as one the allowlist cannot check, also under an integration
/// whose namespace is not `default` (QA: tgate gave the command that namespace, and the CLI's
/// "not both" check made it a parse error, `tgate run` exiting 2). Nothing is run either way.
#[test]
fn a_namespace_by_id_is_denied_under_any_integration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tgate.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\ntemporal: /bin/false\naudit: {{path: {}}}\nintegrations:\n  - {{name: pay, auth: direct, address: '127.0.0.1:1', namespace: payments}}\n",
            dir.path().join("audit.jsonl").display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let line = "temporal operator namespace describe --namespace-id 8f0c";
    let checked = tgate(&["check", "--config", config, "-o", "json", line]);
    assert_eq!(checked.status.code(), Some(3), "{}", stderr(&checked));
    let decision: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(
        decision["rules"],
        serde_json::json!(["tgate:namespace-by-id"])
    );
    let run = tgate(&["run", "--config", config, line]);
    assert_eq!(
        (run.status.code(), stderr(&run)),
        (
            Some(3),
            "tgate: denied (tgate:namespace-by-id): namespace id `8f0c` cannot be checked against \
             the allowlist: name the namespace with -n\n"
                .to_owned()
        )
    );
    // An empty id is none: the integration's namespace is described.
    let checked = tgate(&[
        "check",
        "--config",
        config,
        "-o",
        "json",
        "temporal operator namespace describe --namespace-id ''",
    ]);
    let decision: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(decision["namespace"], "payments", "{decision}");
}

/// An empty `policies:` or `approvers:` list in the configuration is refused, not read as an
/// absent one (the built-in read-only policy; anyone but the requester approving): a list a
/// template rendered empty, or emptied to allow nothing, would otherwise allow more (review).
#[test]
fn empty_lists_in_the_configuration_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tgate.yaml");
    for (list, said) in [
        (
            "policies: []",
            "policies: the list is empty: name policy files, or remove the key for the built-in read-only policy",
        ),
        (
            "approvers: []",
            "approvers: the list is empty: name who may approve, or remove the key to let anyone but the requester approve",
        ),
    ] {
        std::fs::write(
            &config,
            format!("version: 1\n{list}\nintegrations:\n  - {{name: dev, auth: direct, address: '127.0.0.1:1', namespace: default}}\n"),
        )
        .unwrap();
        let out = tgate(&[
            "check",
            "--config",
            config.to_str().unwrap(),
            "temporal workflow list",
        ]);
        assert_eq!(
            (out.status.code(), stderr(&out)),
            (Some(2), format!("tgate: {}: {said}\n", config.display())),
            "{list}"
        );
        assert!(out.stdout.is_empty(), "{list}");
    }
}
