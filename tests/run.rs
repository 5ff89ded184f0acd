//! `tgate run` against a real `temporal server start-dev`: allowed commands print exactly what the
//! CLI prints, denied ones change nothing, and the caller is recorded in the workflow's history.

mod common;

use common::text;

use std::process::{Command, Output};

use common::devserver::DevServer;

fn tgate(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(common::tgate_bin())
        .arg("run")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_clear()
        .output()
        .expect("run tgate")
}

fn status_of(server: &DevServer, id: &str, ns: &str) -> String {
    let out = server.cli(&["workflow", "describe", "-w", id, "-n", ns, "-o", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("describe json");
    v["workflowExecutionInfo"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

const SIGNAL_POLICY: &str = "version: 1
namespaces: [$default]
rules:
  - {id: reads, decision: allow, reason: reads, when: {classes: [read]}}
  - {id: signals, decision: allow, reason: signals allowed in tests, when: {commands: [workflow signal], batch: false}}
  - {id: cancels, decision: require_approval, reason: cancels need approval, when: {commands: [workflow cancel]}}
";

#[test]
fn run_through_tgate_against_a_real_server() {
    let server = DevServer::start(&["payments"]);
    for (id, ns) in [
        ("pay-1", "payments"),
        ("pay-2", "payments"),
        ("other-1", "default"),
    ] {
        let out = server.cli(&[
            "workflow",
            "start",
            "--type",
            "PaymentWorkflow",
            "-t",
            "payments",
            "-w",
            id,
            "-n",
            ns,
        ]);
        assert!(out.status.success(), "seed {id}: {}", text(&out.stderr));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), SIGNAL_POLICY).unwrap();
    let config = server.config(dir.path(), "payments", "policies: [policy.yaml]\n");

    // Allowed reads print exactly what the CLI prints (the namespace comes from the integration).
    for args in [
        vec!["workflow", "describe", "-w", "pay-1", "-o", "json"],
        vec!["workflow", "list", "-o", "jsonl"],
        vec!["workflow", "list", "--time-format", "iso"],
        vec!["workflow", "count"],
        vec!["workflow", "show", "-w", "pay-2", "-o", "json"],
        vec!["task-queue", "describe", "-t", "payments", "-o", "json"],
    ] {
        let mut line = vec!["--", "temporal"];
        line.extend(&args);
        let ours = tgate(&config, &line);
        assert_eq!(
            ours.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&ours.stderr)
        );
        let mut direct = args.clone();
        direct.extend(["-n", "payments"]);
        let theirs = server.cli(&direct);
        assert!(theirs.status.success());
        if args.contains(&"task-queue") {
            // Poller and backlog figures move between two calls; the shape must match.
            let a: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
            let b: serde_json::Value = serde_json::from_slice(&theirs.stdout).unwrap();
            assert_eq!(
                a.as_object().map(|o| o.keys().collect::<Vec<_>>()),
                b.as_object().map(|o| o.keys().collect::<Vec<_>>())
            );
        } else {
            assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{args:?}");
        }
    }

    // A namespace outside the policy: denied, exit 3, nothing printed on stdout.
    let out = tgate(&config, &["temporal workflow list -n default"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("tgate: denied (tgate:namespace-allowlist)"),
        "{}",
        text(&out.stderr)
    );

    // A terminate is denied and the workflow keeps running.
    let out = tgate(&config, &["temporal workflow terminate -w pay-1"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(
        status_of(&server, "pay-1", "payments"),
        "WORKFLOW_EXECUTION_STATUS_RUNNING"
    );

    // A cancel needs approval: exit 4, and nothing happened.
    let out = tgate(&config, &["temporal workflow cancel -w pay-1"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("approval required (cancels)"));
    let history = server.cli(&[
        "workflow", "show", "-w", "pay-1", "-n", "payments", "-o", "json",
    ]);
    assert!(!text(&history.stdout).contains("CANCEL_REQUESTED"));

    // An allowed signal runs, and Temporal records tgate and the caller as its identity.
    let out = Command::new(common::tgate_bin())
        .args(["run", "--caller", "agent-7", "--config"])
        .arg(&config)
        .arg("temporal workflow signal -w pay-2 --name retry -i '{\"attempt\": 2}'")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let history = server.cli(&[
        "workflow", "show", "-w", "pay-2", "-n", "payments", "-o", "json",
    ]);
    let h = text(&history.stdout);
    assert!(h.contains("EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED"), "{h}");
    assert!(h.contains("\"identity\": \"tgate:agent-7\""), "{h}");

    // The deprecated namespace positional is not combined with the integration's namespace (the CLI
    // would refuse that); the client namespace stays `default`, outside this policy.
    let out = tgate(&config, &["temporal operator namespace describe payments"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("tgate:namespace-allowlist"),
        "{}",
        text(&out.stderr)
    );
    let out = tgate(&config, &["temporal operator namespace describe -o json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"name\": \"payments\""));

    // A failing command passes its failure through (exit 1, the CLI's error on stderr).
    let out = tgate(&config, &["temporal workflow describe -w no-such-workflow"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not found"),
        "{}",
        text(&out.stderr)
    );

    // The result records name the executor and, for native runs, the gRPC status.
    let out = tgate(
        &config,
        &["temporal workflow describe -w no-such-workflow -o json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let out = tgate(
        &config,
        &[
            "--backend",
            "cli",
            "temporal workflow describe -w pay-1 -o json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let results: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["kind"] == "result")
        .collect();
    let status = |r: &serde_json::Value| {
        (
            r["argv"][2].as_str().unwrap_or_default().to_owned(),
            r["backend"].clone(),
            r["exit_code"].clone(),
            r["grpc_status"].clone(),
        )
    };
    let first = status(&results[0]);
    assert_eq!(first.0, "describe");
    assert_eq!(
        (first.1, first.2, first.3),
        ("grpc".into(), 0.into(), "OK".into())
    );
    let n = results.len();
    let missing = status(&results[n - 2]);
    assert_eq!(
        (missing.1, missing.2, missing.3),
        ("grpc".into(), 1.into(), "NOT_FOUND".into())
    );
    let through_cli = status(&results[n - 1]);
    assert_eq!(
        (through_cli.1, through_cli.2, through_cli.3),
        ("cli".into(), 0.into(), serde_json::Value::Null)
    );

    // Fail closed on the native path, which connects while the decision record syncs: with the
    // log unable to grow (a full disk: RLIMIT_FSIZE, SIGXFSZ ignored), an allowed signal is
    // refused and never reaches the server.
    let before = std::fs::read(dir.path().join("audit.jsonl")).unwrap();
    let out = common::tgate_on_full_disk(&[
        "run",
        "--backend",
        "grpc",
        "--config",
        config.to_str().unwrap(),
        "temporal workflow signal -w pay-2 --name unrecorded",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("tgate: audit log unavailable: "),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(dir.path().join("audit.jsonl")).unwrap(),
        before
    );
    let history = server.cli(&[
        "workflow", "show", "-w", "pay-2", "-n", "payments", "-o", "json",
    ]);
    assert!(history.status.success());
    assert!(!text(&history.stdout).contains("unrecorded"));

    // A read may be sent while its decision record syncs, but nothing it brings back is shown
    // unless the record reaches the disk: with the log unable to grow, a description, a list, a
    // description the server refuses (its error is not shown either) and a command that goes to
    // the CLI all end with the audit log's error and print nothing else.
    for (backend, line) in [
        ("grpc", "temporal workflow describe -w pay-1 -o json"),
        ("grpc", "temporal workflow list"),
        ("grpc", "temporal workflow describe -w no-such-workflow"),
        // (`--include-system-workers` is not translated: the CLI runs it.)
        ("auto", "temporal worker list --include-system-workers"),
    ] {
        let out = common::tgate_on_full_disk(&[
            "run",
            "--backend",
            backend,
            "--config",
            config.to_str().unwrap(),
            line,
        ]);
        assert_eq!(out.status.code(), Some(2), "{line}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "{line}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with("tgate: audit log unavailable: ") && err.lines().count() == 1,
            "{line}: {err}"
        );
        assert_eq!(
            std::fs::read(dir.path().join("audit.jsonl")).unwrap(),
            before,
            "{line}"
        );
    }
    // The same reads with room on the disk show what they brought back; the last one through
    // the CLI.
    let out = tgate(&config, &["temporal workflow describe -w pay-1 -o json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"workflowId\": \"pay-1\""));
    let out = tgate(
        &config,
        &[
            "--backend",
            "auto",
            "temporal worker list --include-system-workers -o json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert!(listed.is_array(), "{listed}");
    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let last = log.lines().last().unwrap();
    assert!(last.contains(r#""backend":"cli""#), "{last}");
}

const RESET_POLICY: &str = "version: 1
namespaces: [$default]
rules:
  - {id: reads, decision: allow, reason: reads, when: {classes: [read]}}
  - {id: single-writes, decision: allow, reason: single-workflow writes allowed in tests, when: {commands: [workflow reset, workflow reset with-workflow-update-options, workflow signal, workflow cancel], batch: false}}
";

/// A batch job runs as a workflow of Temporal's own with an ordinary id (a UUID), which no rule
/// can tell from any other: `tgate run` asks the server for the workflow's type before a write to
/// it, and denies a write to one of Temporal's own (security re-check: a reset allowed by a
/// rule on resets ran an admin's batch again). A write it cannot check is denied (fail closed);
/// one to a workflow that does not exist goes on and fails as the CLI's does.
#[test]
fn a_write_to_a_batch_jobs_workflow_is_denied_by_its_type() {
    let server = DevServer::start(&[]);
    let out = server.cli(&[
        "workflow", "start", "--type", "Ordinary", "-t", "q", "-w", "ord-1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // An admin's batch, started with the CLI directly.
    let out = server.cli(&[
        "workflow",
        "signal",
        "--query",
        "WorkflowId = 'ord-1'",
        "--name",
        "poke",
        "--reason",
        "admin batch",
        "--yes",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = server.cli(&["batch", "list", "-o", "json"]);
    let jobs: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("batch list json");
    let job = jobs[0]["jobId"].as_str().expect("a batch job").to_owned();
    let runs_of = |id: &str| {
        let out = server.cli(&[
            "workflow",
            "list",
            "--query",
            &format!("WorkflowId = '{id}' AND TemporalNamespaceDivision IS NOT NULL"),
            "-o",
            "json",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .map_or(0, Vec::len)
    };
    let before = runs_of(&job);
    assert_eq!(before, 1, "the batch job's workflow is listed");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), RESET_POLICY).unwrap();
    let config = server.config(dir.path(), "default", "policies: [policy.yaml]\n");
    let described = server.cli(&["workflow", "describe", "-w", "ord-1", "-o", "json"]);
    let described: serde_json::Value = serde_json::from_slice(&described.stdout).unwrap();
    let ordinary_run = described["workflowExecutionInfo"]["execution"]["runId"]
        .as_str()
        .expect("a run id")
        .to_owned();
    for line in [
        format!("temporal workflow reset -w {job} --type FirstWorkflowTask --reason again"),
        // Another workflow's run id: the named run is not found, the latest run is the job's
        // (final QA: the check described the named run alone).
        format!("temporal workflow signal -w {job} -r {ordinary_run} --name poke"),
        format!("temporal workflow signal -w {job} --name poke"),
        format!("temporal workflow cancel -w {job}"),
    ] {
        for backend in ["auto", "cli"] {
            let out = tgate(&config, &["--backend", backend, &line]);
            assert_eq!(out.status.code(), Some(3), "{line}: {}", text(&out.stderr));
            let err = text(&out.stderr);
            assert!(
                err.starts_with("tgate: denied (tgate:internal-workflow): ")
                    && err.contains("type `temporal-sys-batch-workflow"),
                "{line}: {err}"
            );
        }
    }
    assert_eq!(runs_of(&job), before, "the batch was not run again");

    // An ordinary workflow passes the check; one that does not exist fails at the server.
    let out = tgate(&config, &["temporal workflow signal -w ord-1 --name fine"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = tgate(
        &config,
        &["temporal workflow signal -w no-such-one --name x"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not found"),
        "{}",
        text(&out.stderr)
    );

    // No answer to the check: denied, and nothing sent.
    let dead = tempfile::tempdir().unwrap();
    std::fs::write(dead.path().join("policy.yaml"), RESET_POLICY).unwrap();
    let port = common::devserver::free_port();
    let config = dead.path().join("tgate.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\naudit: {{path: {}}}\npolicies: [policy.yaml]\nintegrations:\n  - name: dead\n    auth: direct\n    address: 127.0.0.1:{port}\n    namespace: default\n",
            dead.path().join("audit.jsonl").display()
        ),
    )
    .unwrap();
    let out = tgate(&config, &["temporal workflow signal -w ord-1 --name x"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .starts_with("tgate: denied (tgate:workflow-type): tgate checks the type of workflow `ord-1` before a write to it, and could not: failed connecting to 127.0.0.1:"),
        "{}",
        text(&out.stderr)
    );
}

/// `workflow reset -t LastContinuedAsNew` resets the run the named (or latest) one continued as
/// new from, which may be of another type: `tgate run` checks that run's type too. A workflow
/// of a `temporal-sys-` type that continued as an ordinary one: its reset to the run before is
/// denied by both executors, and nothing is reset; an ordinary workflow's runs. (Other writes
/// are judged by the latest run's type and the named run's, as before.)
#[test]
fn a_reset_to_the_run_before_is_judged_by_that_runs_type() {
    use common::worker::RENEWS_AS_ORDINARY;
    let server = DevServer::start(&[]);
    common::worker::spawn(&server.address, "renewing");
    for (id, ty) in [
        ("sys-renewed", RENEWS_AS_ORDINARY),
        ("renewed", "ContinuesAsNew"),
    ] {
        let out = server.cli(&[
            "workflow", "start", "--type", ty, "-t", "renewing", "-w", id,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // Until both have continued into a `Completes` run that completed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let latest = |id: &str| -> serde_json::Value {
        let out = server.cli(&["workflow", "describe", "-w", id, "-o", "json"]);
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    };
    for id in ["sys-renewed", "renewed"] {
        loop {
            let info = latest(id)["workflowExecutionInfo"].clone();
            if info["type"]["name"] == "Completes"
                && info["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"
            {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{id} did not continue: {info}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let latest_run = |id: &str| {
        latest(id)["workflowExecutionInfo"]["execution"]["runId"]
            .as_str()
            .expect("a run id")
            .to_owned()
    };
    let before = latest_run("sys-renewed");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.yaml"), RESET_POLICY).unwrap();
    let config = server.config(dir.path(), "default", "policies: [policy.yaml]\n");
    // The latest run reset to the one before, by default or named; the subcommand too.
    for line in [
        "temporal workflow reset -w sys-renewed --type LastContinuedAsNew --reason again"
            .to_owned(),
        format!(
            "temporal workflow reset -w sys-renewed -r {before} --type LastContinuedAsNew --reason again"
        ),
        "temporal workflow reset with-workflow-update-options -w sys-renewed --type \
         LastContinuedAsNew --reason again --versioning-override-behavior auto_upgrade"
            .to_owned(),
    ] {
        for backend in ["auto", "cli"] {
            let out = tgate(&config, &["--backend", backend, &line]);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{line} {backend}: {err}");
            assert!(
                err.starts_with("tgate: denied (tgate:internal-workflow): ")
                    && err.contains(&format!("type `{RENEWS_AS_ORDINARY}`")),
                "{line} {backend}: {err}"
            );
        }
    }
    assert_eq!(latest_run("sys-renewed"), before, "nothing was reset");
    // The same reset of an ordinary workflow's run before runs (the CLI prints what it reset).
    let out = tgate(
        &config,
        &["temporal workflow reset -w renewed --type LastContinuedAsNew --reason again"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Resetting workflow renewed to event ID "),
        "{}",
        text(&out.stdout)
    );
}

/// Text tables with text past ASCII are rendered natively as the CLI renders them, every page of
/// `workflow list` with its own widths: Latin, Greek and Cyrillic letters, East Asian wide text,
/// combining marks, emoji sequences and flags, measured as the pinned binary measures them
/// (`tests/width.rs` checks the width rule itself), controls and escape sequences included. QA:
/// an id `é-first` on a later page stopped the native listing halfway (exit 1), and wide text,
/// then a tab, did until the width rule was reproduced whole.
#[test]
fn text_past_ascii_is_listed_as_the_cli_lists_it() {
    let server = DevServer::start(&["letters"]);
    for (id, kind) in [
        ("é-first", "T"),
        ("ascii-second", "T"),
        ("Привет-κόσμε-ÿŁ", "T"),
        ("日本-wide", "ワークフロー"),
        ("e\u{301}-mark", "T"),
        ("👨\u{200d}👩\u{200d}👧-family-🇯🇵", "👍🏽"),
        ("한국어-\u{1100}\u{1161}\u{11a8}", "T"),
        ("क\u{94d}ष-conjunct", "Ｆｕｌｌ"),
        // Controls take no column, and the escape sequences tablewriter names none either.
        ("tab-a\tb", "T"),
        ("esc-\x1b[31mred\x1b[0m", "T\u{7f}"),
    ] {
        let out = server.cli(&[
            "workflow", "start", "--type", kind, "-t", "q", "-w", id, "-n", "letters",
        ]);
        assert!(out.status.success(), "seed {id}: {}", text(&out.stderr));
        // Distinct start times: the listing's order is fixed.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("reads.yaml");
    std::fs::write(
        &policy,
        "version: 1\nnamespaces: [letters]\nrules:\n  - {id: reads, decision: allow, reason: reads, when: {classes: [read]}}\n",
    )
    .unwrap();
    let config = server.config(
        dir.path(),
        "default",
        &format!("policies: [{}]\n", policy.display()),
    );
    let through = |backend: &str, line: &str| {
        let out = tgate(&config, &["--backend", backend, line]);
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    for line in [
        "temporal workflow list -n letters --page-size 1 --time-format iso",
        "temporal workflow list -n letters --page-size 3 --time-format iso",
        "temporal workflow list -n letters --time-format iso",
        "temporal workflow list -n letters --time-format iso --limit 2",
    ] {
        let cli = through("cli", line);
        assert_eq!(cli.0, Some(0), "{line}: {}", cli.2);
        assert!(cli.1.contains("tab-a\tb"), "{}", cli.1);
        assert!(
            line.contains("--limit")
                || (cli.1.contains("é-first")
                    && cli.1.contains("👍🏽")
                    && cli.1.contains("Ｆｕｌｌ")),
            "{}",
            cli.1
        );
        assert_eq!(through("grpc", line), cli, "{line}");
    }
}
