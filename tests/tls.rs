//! TLS, mutual TLS and API-key authentication for real: a rustls proxy (tests/common/tlsproxy.rs)
//! in front of a real dev server, certificates generated here, and both executors and `tgate doctor`
//! connecting through it. Output through the proxy must be the real CLI's output run directly
//! against the dev server; each failure must get doctor's class and fix; no secret may leak.

mod common;

use common::doctor as doctor_with;
use common::text;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::Ordering;

use common::devserver::DevServer;
use common::temporal_bin;
use common::tlsproxy::{Ca, Issued, Mode, TlsProxy, UNAUTHORIZED};

/// The translated reads both executors run natively (the workflow is seeded running).
const READS: [&str; 2] = [
    "temporal workflow list -o json",
    "temporal workflow describe -w wf-tls -o json",
];

/// `tgate ARGS --config CONFIG LINE` with an empty environment plus `env`.
fn tgate_with(args: &[&str], config: &Path, line: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(common::tgate_bin());
    cmd.args(args).arg("--config").arg(config);
    if let Some(line) = line {
        cmd.arg(line);
    }
    cmd.env_clear().envs(env.iter().copied()).output().unwrap()
}

/// `tgate run --integration faulty --backend grpc` of `line`, started with its output piped.
fn spawn_native(config: &Path, line: &str) -> std::process::Child {
    Command::new(common::tgate_bin())
        .args(["run", "--integration", "faulty", "--backend", "grpc"])
        .arg("--config")
        .arg(config)
        .arg(line)
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run(config: &Path, integration: &str, backend: &str, line: &str) -> Output {
    tgate_with(
        &["run", "--integration", integration, "--backend", backend],
        config,
        Some(line),
        &[],
    )
}

/// `tgate doctor -o json` of `integration` under the configuration's backend (`auto`).
fn doctor(config: &Path, integration: &str) -> (i32, serde_json::Value) {
    doctor_with(config, integration, "auto")
}

/// A dev server with one running workflow, `wf-tls`.
fn seeded_server() -> DevServer {
    let server = DevServer::start(&[]);
    let out = server.cli(&[
        "workflow", "start", "--type", "Payment", "-t", "q", "-w", "wf-tls",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    server
}

/// Writes `content` to `dir/name`.
fn put(dir: &Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).unwrap();
}

/// One `direct` integration line for the configuration's list.
fn integration(name: &str, address: &str, fields: &str) -> String {
    format!(
        "  - {{name: {name}, auth: direct, address: '{address}', namespace: default{fields}}}\n"
    )
}

/// The real CLI's output of `line` run directly against the dev server.
fn direct_cli(server: &DevServer, line: &str) -> Output {
    let argv = tgate::lex::lex_str(line, &tgate::lex::Program::default()).unwrap();
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    let out = server.cli(&args);
    assert!(out.status.success(), "{line}: {}", text(&out.stderr));
    out
}

/// Both executors through `integration` print what the CLI prints directly, and exit 0. `--backend
/// grpc` refuses rather than fall back to the CLI, so its success proves the native path ran.
fn assert_both_backends_match_the_cli(server: &DevServer, config: &Path, integration: &str) {
    for line in READS {
        let want = direct_cli(server, line);
        for backend in ["cli", "grpc"] {
            let got = run(config, integration, backend, line);
            assert_eq!(
                got.status.code(),
                Some(0),
                "{integration} {backend}: {line}: {}",
                text(&got.stderr)
            );
            assert_eq!(
                text(&got.stdout),
                text(&want.stdout),
                "{integration} {backend}: {line}"
            );
            assert_eq!(text(&got.stderr), "", "{integration} {backend}: {line}");
        }
    }
}

#[test]
fn mutual_tls_through_a_real_proxy_gives_the_clis_output() {
    let server = seeded_server();
    let ca = Ca::new("tgate test CA");
    let client = ca.client("incident-agent");
    let proxy = TlsProxy::start(&server.address, &ca.server(), Some(&ca.pem()), Mode::Relay);
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "ca.pem", &ca.pem());
    put(dir.path(), "client.pem", &client.cert);
    put(dir.path(), "client.key", &client.key);
    let mtls = ", client_cert: {file: client.pem}, client_key: {file: client.key}, server_ca: {file: ca.pem}";
    let config = server.config(
        dir.path(),
        "default",
        &(integration("mtls", &proxy.address, mtls)
            // The certificate names localhost too: verified against `server_name`, not the IP.
            + &integration(
                "mtls-by-name",
                &proxy.address,
                &format!("{mtls}, server_name: localhost"),
            )),
    );

    assert_both_backends_match_the_cli(&server, &config, "mtls");
    assert_both_backends_match_the_cli(&server, &config, "mtls-by-name");
    let (code, report) = doctor(&config, "mtls");
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(report["probed"], serde_json::json!(["cli", "native"]));
    // Every run went through the proxy's TLS (2 lines x 2 backends x 2 integrations + doctor; the
    // CLI may open more than one connection).
    assert!(proxy.stats.handshakes.load(Ordering::SeqCst) >= 9);
}

#[test]
fn doctor_diagnoses_each_certificate_failure() {
    let server = DevServer::start(&[]);
    let ca = Ca::new("tgate test CA");
    let other = Ca::new("another CA");
    // Same name as the proxy's CA, another key: Go sends its certificate, the proxy refuses it.
    let impostor = Ca::new("tgate test CA");
    let server_cert = ca.server();
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "ca.pem", &ca.pem());
    put(dir.path(), "other-ca.pem", &other.pem());
    for (name, pair) in [
        ("good", ca.client("agent")),
        ("expired", ca.expired_client("agent")),
        ("untrusted", other.client("agent")),
        ("impostor", impostor.client("agent")),
    ] {
        put(dir.path(), &format!("{name}.pem"), &pair.cert);
        put(dir.path(), &format!("{name}.key"), &pair.key);
    }
    let pair = |n: &str| format!(", client_cert: {{file: {n}.pem}}, client_key: {{file: {n}.key}}");

    // Each is a `certificate` problem: name, fields, a fragment of the fix, and for each probe
    // (the configuration's `auto`, where the CLI's probe speaks first, and `grpc`, the native
    // executor's) a fragment of the problem and what the proxy saw (None: doctor must not
    // connect).
    type Seen = (&'static [&'static str], Option<&'static str>);
    // In TLS 1.3 a server refuses a client certificate after the client's handshake is done: the
    // native probe meets its alert, or, when it wrote first, the connection it closed.
    const CLOSED: &str = "the server closed the connection once the TLS handshake was done";
    let cases: [(&str, String, &str, Seen, Seen); 5] = [
        (
            "wrong-ca",
            format!("{}, server_ca: {{file: other-ca.pem}}", pair("good")),
            "not signed by `server_ca`",
            // The CLI refused the proxy's certificate.
            (
                &["cannot verify server TLS certificate"],
                Some("received fatal alert: BadCertificate"),
            ),
            (
                &["invalid peer certificate: UnknownIssuer"],
                Some("received fatal alert: UnknownCA"),
            ),
        ),
        (
            "expired",
            format!("{}, server_ca: {{file: ca.pem}}", pair("expired")),
            "issue a new certificate",
            // Found locally: doctor does not connect.
            (&["the client certificate expired on"], None),
            (&["the client certificate expired on"], None),
        ),
        (
            "no-client-cert",
            ", server_ca: {file: ca.pem}".to_owned(),
            // The CLI's fix says the server requires one (Go read its alert); the native probe's,
            // when it met the closed connection, that such a server does this.
            "configure `client_cert` and `client_key`",
            (
                &["server requires client certificate (mTLS)"],
                Some("peer sent no certificates"),
            ),
            (
                &[CLOSED, "received fatal alert: "],
                Some("peer sent no certificates"),
            ),
        ),
        (
            "untrusted",
            format!("{}, server_ca: {{file: ca.pem}}", pair("untrusted")),
            "the server did not accept the client certificate",
            // Go withholds a certificate whose issuer the server does not accept; rustls sends it.
            (
                &["server requires client certificate (mTLS)"],
                Some("peer sent no certificates"),
            ),
            (
                &[CLOSED, "received fatal alert: "],
                Some("invalid peer certificate: UnknownIssuer"),
            ),
        ),
        (
            "impostor",
            format!("{}, server_ca: {{file: ca.pem}}", pair("impostor")),
            "the server did not accept the client certificate",
            // The server's alert, or a broken pipe when the CLI wrote first (TLS 1.3).
            (
                &["failed connecting to Temporal server"],
                Some("invalid peer certificate: BadSignature"),
            ),
            (
                &[CLOSED, "received fatal alert: "],
                Some("invalid peer certificate: BadSignature"),
            ),
        ),
    ];
    for (name, fields, fix, auto, native) in cases {
        for (backend, (problem, proxy_saw)) in [("auto", auto), ("grpc", native)] {
            // One proxy per probe, so what it saw belongs to this one.
            let proxy =
                TlsProxy::start(&server.address, &server_cert, Some(&ca.pem()), Mode::Relay);
            let config = server.config(
                dir.path(),
                "default",
                &integration(name, &proxy.address, &fields),
            );
            let (code, report) = doctor_with(&config, name, backend);
            let at = format!("{name} ({backend}): {report}");
            assert_eq!(code, 1, "{at}");
            let problems = report["problems"].as_array().unwrap();
            assert_eq!(problems.len(), 1, "{at}");
            assert_eq!(problems[0]["class"], "certificate", "{at}");
            let said = |key: &str| problems[0][key].as_str().unwrap().to_owned();
            assert!(problem.iter().any(|p| said("problem").contains(p)), "{at}");
            assert!(said("fix").contains(fix), "{at}");
            match proxy_saw {
                Some(why) => {
                    let failures = proxy.stats.handshake_failures();
                    assert!(
                        failures.iter().any(|f| f.contains(why)),
                        "{at}: proxy saw {failures:?}"
                    );
                    // `auto` stops at the CLI's finding.
                    let probed = if backend == "auto" { "cli" } else { "native" };
                    assert_eq!(report["probed"], serde_json::json!([probed]), "{at}");
                }
                None => {
                    assert_eq!(
                        proxy.stats.connections.load(Ordering::SeqCst),
                        0,
                        "{at}: doctor connected"
                    );
                    assert_eq!(report["probed"], serde_json::json!([]), "{at}");
                }
            }
            // `tgate run --backend grpc` through the same proxy says what failed and points at
            // doctor, not at the CLI, which fails as well (QA: `Unknown: transport error` and
            // "use --backend auto or cli").
            if backend == "grpc" && proxy_saw.is_some() {
                // A log of its own: the one the configuration names is counted below.
                let audit = dir.path().join(format!("{name}-run.jsonl"));
                let audit = audit.to_str().unwrap();
                let out = tgate_with(
                    &[
                        "run",
                        "--integration",
                        name,
                        "--backend",
                        "grpc",
                        "--audit",
                        audit,
                    ],
                    &config,
                    Some(READS[0]),
                    &[],
                );
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "{at}: {stderr}");
                assert!(
                    stderr.starts_with("tgate: not run natively (")
                        && stderr.trim_end().ends_with(&format!(
                            "); `tgate doctor --integration {name}` diagnoses the connection and its credentials"
                        )),
                    "{at}: {stderr}"
                );
                assert!(!stderr.contains("transport error)"), "{at}: {stderr}");
                if name == "wrong-ca" {
                    assert!(stderr.contains("UnknownIssuer"), "{at}: {stderr}");
                }
            }
        }
    }

    // No TLS settings against the TLS proxy: the CLI knows the server requires TLS from its
    // checks; the native probe meets a closed connection, then asks with a TLS handshake, as the
    // CLI does (QA: it said only that the connection closed or was reset).
    let proxy = TlsProxy::start(&server.address, &server_cert, Some(&ca.pem()), Mode::Relay);
    let config = server.config(
        dir.path(),
        "default",
        &integration("plain", &proxy.address, ""),
    );
    for (backend, class, problem, fix) in [
        (
            "cli",
            "certificate",
            "the server requires TLS",
            "the server requires TLS: give the integration `server_ca`",
        ),
        (
            "grpc",
            "certificate",
            "(the address answers a TLS handshake: the server requires TLS)",
            "the server requires TLS: give the integration `server_ca`",
        ),
    ] {
        let (code, report) = doctor_with(&config, "plain", backend);
        let at = format!("plain ({backend}): {report}");
        assert_eq!(code, 1, "{at}");
        assert_eq!(report["problems"][0]["class"], class, "{at}");
        let said = |key: &str| report["problems"][0][key].as_str().unwrap().to_owned();
        assert!(said("problem").contains(problem), "{at}");
        assert!(said("fix").starts_with(fix), "{at}");
    }
    // The server's HTTP API (HTTP/1, no TLS) is not taken for a TLS server by that handshake:
    // both probes say the address is not the frontend's gRPC port.
    let config = server.config(
        dir.path(),
        "default",
        &integration("http", &server.http_address, ""),
    );
    for backend in ["cli", "grpc"] {
        let (code, report) = doctor_with(&config, "http", backend);
        let at = format!("http ({backend}): {report}");
        assert_eq!(code, 1, "{at}");
        assert_eq!(report["problems"][0]["class"], "unreachable", "{at}");
        let fix = report["problems"][0]["fix"].as_str().unwrap();
        assert!(fix.contains("not the Web UI's or the HTTP API's"), "{at}");
    }

    // `tgate run` refuses the expired certificate as doctor does, before anything is judged,
    // connected or run, with either backend: a refusal recorded as a configuration error.
    let proxy = TlsProxy::start(&server.address, &server_cert, Some(&ca.pem()), Mode::Relay);
    let fields = format!("{}, server_ca: {{file: ca.pem}}", pair("expired"));
    let config = server.config(
        dir.path(),
        "default",
        &integration("expired", &proxy.address, &fields),
    );
    for backend in ["cli", "grpc"] {
        let out = run(
            &config,
            "expired",
            backend,
            "temporal workflow list -o json",
        );
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(
            err.starts_with("tgate: integration `expired`: the client certificate expired on "),
            "{err}"
        );
        assert!(err.ends_with("(`tgate doctor` diagnoses it)\n"), "{err}");
        assert!(text(&out.stdout).is_empty());
    }
    // `tgate check --config` judges as `run` would: the same refusal, exit 2.
    let out = tgate_with(
        &["check", "--integration", "expired"],
        &config,
        Some("temporal workflow list"),
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .starts_with("tgate: integration `expired`: the client certificate expired on "),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(proxy.stats.connections.load(Ordering::SeqCst), 0);
    let records: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{records:?}");
    for r in &records {
        assert_eq!(r["kind"], "decision", "{r}");
        assert_eq!(r["decision"], "deny", "{r}");
        assert_eq!(r["rules"], serde_json::json!(["tgate:config-error"]), "{r}");
        assert_eq!(r["integration"], "expired", "{r}");
    }
    // The server refuses it too, as doctor predicted without asking: the CLI itself, run with it.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(temporal_bin())
        .args(["workflow", "list", "--address", &proxy.address, "--tls"])
        .arg("--tls-ca-path")
        .arg(dir.path().join("ca.pem"))
        .arg("--tls-cert-path")
        .arg(dir.path().join("expired.pem"))
        .arg("--tls-key-path")
        .arg(dir.path().join("expired.key"))
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with("Error: failed connecting to Temporal server"));
    let failures = proxy.stats.handshake_failures();
    assert!(
        failures.iter().any(|f| f.contains("certificate expired")),
        "{failures:?}"
    );
}

/// The real CLI run directly against `address` with an API key in its environment, as tgate runs
/// it (without tgate): the reference for tgate's own error output.
fn cli_with_api_key(address: &str, ca_path: &Path, key: &str, line: &str) -> Output {
    let home = tempfile::tempdir().unwrap();
    let argv = tgate::lex::lex_str(line, &tgate::lex::Program::default()).unwrap();
    Command::new(temporal_bin())
        .args(&argv[1..])
        .args(["--address", address, "--tls", "--tls-ca-path"])
        .arg(ca_path)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", home.path())
        .env("TEMPORAL_API_KEY", key)
        .output()
        .unwrap()
}

#[test]
fn api_key_is_checked_by_a_cloud_like_proxy() {
    let server = seeded_server();
    let ca = Ca::new("tgate test CA");
    let good = "tgk-right-key-0001";
    let proxy = TlsProxy::start(
        &server.address,
        &ca.server(),
        None,
        Mode::ApiKey(good.to_owned()),
    );
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "ca.pem", &ca.pem());
    put(dir.path(), "good.key", good);
    put(dir.path(), "bad.key", "tgk-wrong-key-0002");
    let config = server.config(
        dir.path(),
        "default",
        &(integration(
            "right-key",
            &proxy.address,
            ", server_ca: {file: ca.pem}, api_key: {file: good.key}",
        ) + &integration(
            "wrong-key",
            &proxy.address,
            ", server_ca: {file: ca.pem}, api_key: {file: bad.key}",
        )),
    );

    // The right key: both executors through the proxy print what the CLI prints directly.
    assert_both_backends_match_the_cli(&server, &config, "right-key");
    let (code, report) = doctor(&config, "right-key");
    assert_eq!(code, 0, "{report}");
    let forwarded = proxy.stats.forwarded.load(Ordering::SeqCst);
    assert!(forwarded >= 5, "{forwarded} requests forwarded");
    // Text the agent chose that shares all of the key but its last character, quoted back by
    // the server, is shown as it is: only the whole key is replaced, so how much a guess shares
    // with the key is never told.
    let guess = &good[..good.len() - 1];
    for backend in ["grpc", "cli"] {
        let out = run(
            &config,
            "right-key",
            backend,
            &format!("temporal workflow describe -w {guess}X"),
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(&format!("{guess}X")),
            "{backend}: {}",
            text(&out.stderr)
        );
    }
    let forwarded = proxy.stats.forwarded.load(Ordering::SeqCst);
    assert_eq!(proxy.stats.refused.load(Ordering::SeqCst), 0);

    // The wrong key: the CLI's own error, exit 1, nothing forwarded.
    let line = "temporal workflow list -o json";
    let out = run(&config, "wrong-key", "cli", line);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let want = cli_with_api_key(
        &proxy.address,
        &dir.path().join("ca.pem"),
        "tgk-wrong-key-0002",
        line,
    );
    assert_eq!(want.status.code(), Some(1));
    assert_eq!(text(&out.stderr), text(&want.stderr));
    assert!(
        text(&out.stderr).starts_with(&format!(
            "Error: failed connecting to Temporal server at {}: authentication failed\n",
            proxy.address
        )),
        "{}",
        text(&out.stderr)
    );
    for backend in ["auto", "grpc"] {
        let (code, report) = doctor_with(&config, "wrong-key", backend);
        assert_eq!(code, 1, "{report}");
        assert_eq!(report["problems"][0]["class"], "authentication", "{report}");
        assert!(
            report["problems"][0]["fix"]
                .as_str()
                .unwrap()
                .starts_with("the API key was refused"),
            "{report}"
        );
        let want = if backend == "grpc" { "native" } else { "cli" };
        assert_eq!(report["probed"], serde_json::json!([want]), "{report}");
    }
    // The native executor sends the wrong key too, and is refused with Cloud's message.
    let native = run(&config, "wrong-key", "grpc", line);
    assert_ne!(native.status.code(), Some(0));
    assert!(
        text(&native.stderr).contains(UNAUTHORIZED),
        "{}",
        text(&native.stderr)
    );
    assert!(proxy.stats.refused.load(Ordering::SeqCst) >= 4);
    assert_eq!(proxy.stats.forwarded.load(Ordering::SeqCst), forwarded);

    // An input that is not JSON: the CLI connects first (its GetSystemInfo), so refused
    // credentials are its error, not the input's. Natively the same order: with the right key,
    // the input's error, exit 1; with the wrong one, left to the CLI.
    let line = "temporal workflow query -w nothing --name q -i 'bad json'";
    let out = run(&config, "right-key", "grpc", line);
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (Some(1), "Error: input #1 is not valid JSON\n".to_owned())
    );
    let out = run(&config, "wrong-key", "grpc", line);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "not run natively (the connection the CLI makes before reading its inputs failed)"
        ),
        "{}",
        text(&out.stderr)
    );
    let (auto, cli) = (
        run(&config, "wrong-key", "auto", line),
        run(&config, "wrong-key", "cli", line),
    );
    assert_eq!(auto.status.code(), Some(1));
    assert_eq!(text(&auto.stderr), text(&cli.stderr));
    assert!(
        text(&auto.stderr).contains("authentication failed"),
        "{}",
        text(&auto.stderr)
    );
}

/// A seeded server behind a proxy in `mode` (an API-key mode for `key`), and a configuration
/// whose integration `faulty` trusts the proxy's CA and sends the key. (Bound in this order, they
/// drop the proxy before the server.)
fn behind_faulty_proxy(
    mode: Mode,
    key: &str,
) -> (DevServer, TlsProxy, tempfile::TempDir, std::path::PathBuf) {
    behind_slow_faulty_proxy(mode, key, None, "")
}

/// [`behind_faulty_proxy`], the proxy reached through a relay that waits `delay` before it relays
/// each connection ([`relay_after`]), when one is given, and `extra` added to the configuration.
fn behind_slow_faulty_proxy(
    mode: Mode,
    key: &str,
    delay: Option<std::time::Duration>,
    extra: &str,
) -> (DevServer, TlsProxy, tempfile::TempDir, std::path::PathBuf) {
    let server = seeded_server();
    let ca = Ca::new("tgate test CA");
    let proxy = TlsProxy::start(&server.address, &ca.server(), None, mode);
    let address = match delay {
        Some(delay) => relay_after(&proxy.address, delay),
        None => proxy.address.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "ca.pem", &ca.pem());
    put(dir.path(), "key", key);
    let config = server.config(
        dir.path(),
        "default",
        &format!(
            "{}{extra}",
            integration(
                "faulty",
                &address,
                ", server_ca: {file: ca.pem}, api_key: {file: key}",
            )
        ),
    );
    (server, proxy, dir, config)
}

/// A server newer than both schemas adds a field to a description: the native executor will not
/// print the response without it (`grpc` refuses, naming the field), `auto` lets the CLI print
/// it, and the CLI skips the field as Go's protobuf does. Writes never fall back this way (their
/// request has gone out); reads not touched by the proxy stay native.
#[test]
fn a_response_with_a_field_tgate_does_not_know_goes_to_the_cli() {
    let key = "tgk-newer-server-0003";
    let (server, proxy, dir, config) = behind_faulty_proxy(Mode::NewerServer(key.to_owned()), key);
    let line = "temporal workflow describe -w wf-tls -o json";
    let native = run(&config, "faulty", "grpc", line);
    assert_eq!(native.status.code(), Some(2), "{}", text(&native.stderr));
    assert!(native.stdout.is_empty());
    assert!(
        text(&native.stderr).contains(
            "the response holds temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse#999, \
             which tgate does not reproduce"
        ),
        "{}",
        text(&native.stderr)
    );
    let auto = run(&config, "faulty", "auto", line);
    assert_eq!(auto.status.code(), Some(0), "{}", text(&auto.stderr));
    let through_proxy = cli_with_api_key(&proxy.address, &dir.path().join("ca.pem"), key, line);
    assert!(through_proxy.status.success());
    assert_eq!(text(&auto.stdout), text(&through_proxy.stdout));
    assert_eq!(text(&auto.stdout), text(&direct_cli(&server, line).stdout));
    // The list is not rewritten by the proxy: it stays native.
    let list = run(&config, "faulty", "grpc", "temporal workflow list -o json");
    assert_eq!(list.status.code(), Some(0), "{}", text(&list.stderr));
}

/// A rate-limited read (`ResourceExhausted`) is not printed as an error: the CLI's SDK retries it,
/// so the read goes to the CLI (here its request is the next one, which the proxy lets through),
/// and what is printed is the description.
#[test]
fn a_rate_limited_read_goes_to_the_cli() {
    let key = "tgk-rate-limited-0004";
    let (server, proxy, _dir, config) = behind_faulty_proxy(
        rate_limited(key, "DescribeWorkflowExecution", false, true),
        key,
    );
    let line = "temporal workflow describe -w wf-tls -o json";
    let auto = run(&config, "faulty", "auto", line);
    assert_eq!(auto.status.code(), Some(0), "{}", text(&auto.stderr));
    assert_eq!(proxy.stats.limited.load(Ordering::SeqCst), 1);
    assert_eq!(text(&auto.stdout), text(&direct_cli(&server, line).stdout));
    assert_eq!(text(&auto.stderr), "");
    // The audit trail says the CLI printed it.
    let log = std::fs::read_to_string(config.with_file_name("audit.jsonl")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains(r#""kind":"result""#) && l.contains(r#""backend":"cli""#)),
        "{log}"
    );
}

/// A later page refused with a status the Go SDK always asks again after (`Unknown`, as a
/// dropped connection reads, `Unavailable`, `Aborted`) is asked again, and the output is the
/// CLI's: QA found a native `show --follow` cut when its connection dropped, where the CLI went
/// on.
#[test]
fn a_later_page_refused_with_a_status_the_sdk_retries_is_asked_again() {
    for (code, name) in [(2, "Unknown"), (14, "Unavailable"), (10, "Aborted")] {
        let key = "tgk-fail-nth-0005";
        let (server, proxy, _dir, config) =
            behind_faulty_proxy(fail_nth(key, "ListWorkflowExecutions", code), key);
        for id in ["wf-tls-2", "wf-tls-3"] {
            let out = server.cli(&[
                "workflow", "start", "--type", "Payment", "-t", "q", "-w", id,
            ]);
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
        // Both formats write page by page (a followed history's are held: below).
        for format in ["jsonl", "json"] {
            proxy.stats.seen.store(0, Ordering::SeqCst);
            let line = format!("temporal workflow list -o {format} --page-size 1");
            let want = direct_cli(&server, &line);
            assert!(want.status.success(), "{}", text(&want.stderr));
            let out = run(&config, "faulty", "grpc", &line);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {format}: {}",
                text(&out.stderr)
            );
            assert_eq!(text(&out.stdout), text(&want.stdout), "{name} {format}");
            assert_eq!(text(&out.stderr), "", "{name} {format}");
            // Page 1, page 2 refused and asked again, pages 3 and 4 (empty: a full page comes
            // with the token of another).
            assert_eq!(
                proxy.stats.seen.load(Ordering::SeqCst),
                5,
                "{name} {format}"
            );
        }
    }
}

/// A certificate authority named in tgate's own environment (`SSL_CERT_FILE`, `SSL_CERT_DIR`)
/// is trusted by neither executor: the CLI never sees that environment, and the native executor
/// reads the system's roots where Go does (QA: it trusted the variables, and a server the CLI
/// refused was accepted natively). With the CA in the configuration, both connect.
#[test]
fn a_ca_named_in_tgates_environment_is_not_trusted() {
    let key = "tgk-sslcertfile-0012";
    let (server, proxy, dir, _) = behind_faulty_proxy(Mode::ApiKey(key.to_owned()), key);
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();
    let config = server.config(
        dir.path(),
        "default",
        &integration(
            "roots",
            &proxy.address,
            ", server_name: localhost, api_key: {file: key}",
        ),
    );
    let line = "temporal workflow describe -w wf-tls -o json";
    for (var, value) in [
        ("SSL_CERT_FILE", ca),
        ("SSL_CERT_DIR", dir.path().to_str().unwrap()),
    ] {
        for backend in ["grpc", "cli"] {
            let out = tgate_with(
                &["run", "--integration", "roots", "--backend", backend],
                &config,
                Some(line),
                &[(var, value)],
            );
            assert_ne!(
                out.status.code(),
                Some(0),
                "{var} {backend}: trusted: {}",
                text(&out.stdout)
            );
            assert!(out.stdout.is_empty(), "{var} {backend}");
        }
    }
    assert_eq!(proxy.stats.forwarded.load(Ordering::SeqCst), 0);
    // The same server with the CA in the configuration.
    let trusted = server.config(
        dir.path(),
        "default",
        &integration(
            "roots",
            &proxy.address,
            ", server_name: localhost, server_ca: {file: ca.pem}, api_key: {file: key}",
        ),
    );
    let out = run(&trusted, "roots", "grpc", line);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// A `-o json` list whose `--command-timeout` expires while a page is awaited ends as the CLI's
/// does: the list closed (its deferred `EndList`: `[` and `]` even with no item yet), then `Error:
/// program interrupted`, exit 1 (QA: the native list was left without its `]`, invalid JSON).
#[test]
fn a_json_list_cut_by_its_command_timeout_is_closed_as_the_cli_closes_it() {
    let key = "tgk-slow-list-0011";
    for from in [2, 1] {
        let (server, proxy, _dir, config) = behind_faulty_proxy(
            Mode::Slow {
                key: key.to_owned(),
                method: "ListWorkflowExecutions",
                secs: 6,
                from,
            },
            key,
        );
        let out = server.cli(&[
            "workflow", "start", "--type", "Payment", "-t", "q", "-w", "wf-tls-2",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        // Under 2 s: the Go SDK bounds each call to half of what is left of the deadline, at
        // least 1 s, so the held call outlasts the command's own deadline, which the CLI then
        // reports (a longer timeout has the call's deadline end first: `failed listing
        // workflows: context deadline exceeded`, not reproduced natively).
        let line = "temporal workflow list -o json --page-size 1 --command-timeout 900ms";
        let mut outputs = Vec::new();
        for backend in ["cli", "grpc"] {
            proxy.stats.seen.store(0, Ordering::SeqCst);
            let out = run(&config, "faulty", backend, line);
            assert_eq!(
                (out.status.code(), text(&out.stderr)),
                (Some(1), "Error: program interrupted\n".to_owned()),
                "{backend}, held from request {from}"
            );
            outputs.push(text(&out.stdout));
        }
        assert_eq!(outputs[1], outputs[0], "held from request {from}");
        let items = serde_json::from_str::<serde_json::Value>(&outputs[1])
            .unwrap_or_else(|e| panic!("{e}: {}", outputs[1]));
        assert_eq!(
            items.as_array().map(Vec::len),
            Some(if from == 2 { 1 } else { 0 }),
            "{items}"
        );
    }
}

/// A TCP relay to `upstream` that waits `delay` before it relays each connection (a slow path
/// to the server: the TLS handshake takes that long): its address.
fn relay_after(upstream: &str, delay: std::time::Duration) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let upstream = upstream.to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                    return;
                };
                let (mut c, mut s) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut c, &mut s));
                let (mut s, mut c) = (server, client);
                let _ = std::io::copy(&mut s, &mut c);
            });
        }
    });
    address
}

/// A native run's connection and its command share the time limit: a TLS handshake that took
/// 2.5 s leaves 0.5 s of a 3 s limit to a read the server holds (before, the read was given the
/// whole 3 s after the connection: 5.5 s in all).
#[test]
fn a_native_run_counts_its_time_limit_from_its_connection() {
    let key = "tgk-slow-handshake-0012";
    let (_server, _proxy, _dir, config) = behind_slow_faulty_proxy(
        Mode::Slow {
            key: key.to_owned(),
            method: "ListWorkflowExecutions",
            secs: 6,
            from: 1,
        },
        key,
        Some(std::time::Duration::from_millis(2500)),
        "limits: {timeout: 3s}\n",
    );
    let began = std::time::Instant::now();
    let out = run(&config, "faulty", "grpc", "temporal workflow list");
    let took = began.elapsed();
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (Some(1), "tgate: stopped after the 3s timeout\n".to_owned())
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(
        took >= std::time::Duration::from_secs(3) && took < std::time::Duration::from_secs(5),
        "took {took:?} under a 3 s limit"
    );
}

/// A write to one workflow counts its time limit from its type check, which makes its
/// connection (QA: a check slow to answer, then the write, took twice the limit); and a write the
/// limit ends after its request went out says that it may have taken effect (QA: a terminate so
/// ended had, and nothing said it might have). Here the connection takes 2.5 s of a 4 s limit and
/// the proxy holds the signal 5 s before it forwards it.
#[test]
fn a_write_counts_its_time_limit_from_its_type_check() {
    let key = "tgk-slow-write-0014";
    let (server, _proxy, dir, config) = behind_slow_faulty_proxy(
        Mode::Slow {
            key: key.to_owned(),
            method: "SignalWorkflowExecution",
            secs: 5,
            from: 1,
        },
        key,
        Some(std::time::Duration::from_millis(2500)),
        "limits: {timeout: 4s}\n",
    );
    allow_writes(dir.path(), &config);
    let began = std::time::Instant::now();
    let out = run(
        &config,
        "faulty",
        "grpc",
        "temporal workflow signal -w wf-tls --name nudge",
    );
    let took = began.elapsed();
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (
            Some(1),
            "tgate: stopped after the 4s timeout; the request may or may not have taken effect\n"
                .to_owned()
        )
    );
    // Broken, the limit began at the decision: 6.5 s.
    assert!(
        took >= std::time::Duration::from_secs(4) && took < std::time::Duration::from_secs(6),
        "took {took:?} under a 4 s limit"
    );
    // It did take effect: the proxy forwarded the signal once it had held it.
    wait_for_signal(&server, "wf-tls", "nudge");
    // Ended by its own `--command-timeout` instead: the CLI's words, and tgate's line after
    // them (review: nothing said the signal might have gone through).
    let out = run(
        &config,
        "faulty",
        "grpc",
        "temporal workflow signal -w wf-tls --name again --command-timeout 3500ms",
    );
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (
            Some(1),
            "Error: program interrupted\ntgate: the request may or may not have taken effect\n"
                .to_owned()
        )
    );
    wait_for_signal(&server, "wf-tls", "again");
}

/// The type check before a write counts against the command's time whichever executor runs it
/// (QA): under `--backend cli` the CLI gets what the check left of the limit (it was given the
/// whole limit again, and a signal went out after it); and a `--command-timeout` bounds the
/// check's connection and its call, as it bounds the native write's (the check ran past it, and
/// the write went out).
#[test]
fn a_type_check_counts_against_the_commands_time() {
    let key = "tgk-slow-check-0015";
    let server = seeded_server();
    let ca = Ca::new("tgate test CA");
    let slow_check = TlsProxy::start(
        &server.address,
        &ca.server(),
        None,
        Mode::Slow {
            key: key.to_owned(),
            method: "DescribeWorkflowExecution",
            secs: 2,
            from: 1,
        },
    );
    let plain = TlsProxy::start(
        &server.address,
        &ca.server(),
        None,
        Mode::ApiKey(key.to_owned()),
    );
    let slow_connection = relay_after(&plain.address, std::time::Duration::from_millis(3500));
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "ca.pem", &ca.pem());
    put(dir.path(), "key", key);
    // The CLI: waits to be killed.
    let fake = dir.path().join("temporal");
    put(
        dir.path(),
        "temporal",
        &format!(
            "#!/bin/sh\necho \"$@\" > '{}'\nexec /bin/sleep 30\n",
            dir.path().join("args").display()
        ),
    );
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let fields = ", server_ca: {file: ca.pem}, api_key: {file: key}";
    let config = dir.path().join("tgate.yaml");
    put(
        dir.path(),
        "tgate.yaml",
        &format!(
            "version: 1\ntemporal: {}\naudit: {{path: {}}}\nlimits: {{timeout: 3s}}\nintegrations:\n{}{}",
            fake.display(),
            dir.path().join("audit.jsonl").display(),
            integration("check", &slow_check.address, fields),
            integration("connection", &slow_connection, fields),
        ),
    );
    allow_writes(dir.path(), &config);
    let timed = |integration: &str, backend: &str, line: &str| {
        let began = std::time::Instant::now();
        let out = run(&config, integration, backend, line);
        (out, began.elapsed())
    };

    // The check takes 2 s of the 3 s: the CLI is killed 1 s later (broken: 3 s later).
    let (out, took) = timed(
        "check",
        "cli",
        "temporal workflow signal -w wf-tls --name a",
    );
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (
            Some(1),
            "tgate: killed after the 3s timeout, and what it sent may or may not have taken effect\n"
                .to_owned()
        )
    );
    let secs = std::time::Duration::from_secs;
    assert!(
        took >= secs(3) && took < secs(4) + secs(1) / 2,
        "took {took:?}"
    );

    // With `--command-timeout 2500ms`, the CLI is given what the check left of it (QA: it got
    // the whole 2.5 s again, and a signal went out late).
    let (out, _) = timed(
        "check",
        "cli",
        "temporal workflow signal -w wf-tls --name a2 --command-timeout 2500ms",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    let given = args
        .split_whitespace()
        .find_map(|a| a.strip_prefix("--command-timeout="))
        .unwrap_or_else(|| panic!("no --command-timeout: {args}"));
    let given = tgate::command::parse_duration(given).unwrap();
    // About 0.5 s: what the check left of the 2.5 s (not of tgate's 3 s limit: about 1 s).
    assert!(given > 0 && given < 700_000_000, "{args}");

    // `--command-timeout 1s`: the check's call, held 2 s, is cut at 1 s, and the write denied
    // (broken: the check waited, and the signal went out).
    let (out, took) = timed(
        "check",
        "grpc",
        "temporal workflow signal -w wf-tls --name b --command-timeout 1s",
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("could not: no answer within the command's --command-timeout (1s)"),
        "{}",
        text(&out.stderr)
    );
    assert!(took >= secs(1) && took < secs(2), "took {took:?}");

    // The same, the connection taking 3.5 s: cut at 1 s (broken: made, then `program
    // interrupted` after 3.5 s).
    let (out, took) = timed(
        "connection",
        "grpc",
        "temporal workflow signal -w wf-tls --name c --command-timeout 1s",
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("no connection within 1s: the command's --command-timeout (1s) ran out"),
        "{}",
        text(&out.stderr)
    );
    assert!(took >= secs(1) && took < secs(3), "took {took:?}");
    let history = server.cli(&["workflow", "show", "-w", "wf-tls", "-o", "json"]);
    assert!(
        !text(&history.stdout).contains("WORKFLOW_EXECUTION_SIGNALED"),
        "a signal was sent: {}",
        text(&history.stdout)
    );

    // A `--command-timeout` the policy sets (`max_command_timeout`) bounds the check as one
    // given does (review: the check read the command as given, and took its 2 s).
    put(
        dir.path(),
        "bounded.yaml",
        "version: 1\nnamespaces: [$default]\nrules:\n  - {id: writes, decision: allow, reason: w, when: {commands: [workflow signal]}, obligations: {max_command_timeout: 1s}}\n",
    );
    let yaml = std::fs::read_to_string(&config).unwrap().replace(
        &dir.path().join("p.yaml").display().to_string(),
        &dir.path().join("bounded.yaml").display().to_string(),
    );
    put(dir.path(), "tgate.yaml", &yaml);
    let (out, took) = timed(
        "check",
        "grpc",
        "temporal workflow signal -w wf-tls --name d",
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("could not: no answer within the command's --command-timeout (1s)"),
        "{}",
        text(&out.stderr)
    );
    assert!(took >= secs(1) && took < secs(2), "took {took:?}");

    // A write `--backend grpc` cannot run natively is refused before any check is sent (QA: the
    // check was made, here held 2 s, and a slow one turned the refusal into a denial).
    put(
        dir.path(),
        "deletes.yaml",
        "version: 1\nnamespaces: [$default]\nrules:\n  - {id: deletes, decision: allow, reason: d, when: {commands: [workflow delete]}}\n",
    );
    let yaml = std::fs::read_to_string(&config).unwrap().replace(
        &dir.path().join("bounded.yaml").display().to_string(),
        &dir.path().join("deletes.yaml").display().to_string(),
    );
    put(dir.path(), "tgate.yaml", &yaml);
    let (out, took) = timed("check", "grpc", "temporal workflow delete -w wf-tls");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).starts_with("tgate: not run natively (") && took < secs(2),
        "took {took:?}: {}",
        text(&out.stderr)
    );
}

/// Waits (up to 10 s) for workflow `id`'s history to hold a signal named `name`.
fn wait_for_signal(server: &DevServer, id: &str, name: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    common::poll(deadline, std::time::Duration::from_millis(200), || {
        let history = server.cli(&["workflow", "show", "-w", id, "-o", "json"]);
        let history = text(&history.stdout);
        (history.contains("WORKFLOW_EXECUTION_SIGNALED")
            && history.contains(&format!("\"signalName\": \"{name}\"")))
        .then_some(())
        .ok_or_else(|| format!("no signal `{name}`: {history}"))
    });
}

/// A native run whose time limit, counted from before it (`Session::counting_from`), has run out
/// ends with tgate's timeout and sends nothing; the count applies to that run alone, however it
/// ends: the next run on the same session has the whole limit (review: a run that went to the
/// CLI left its deadline to the next).
#[test]
fn a_native_run_with_no_time_left_sends_nothing() {
    let key = "tgk-no-time-left-0013";
    let (_server, proxy, dir, config) = behind_faulty_proxy(Mode::ApiKey(key.to_owned()), key);
    let config = tgate::connect::Config::load(&config).unwrap();
    let integration = config
        .integrations
        .iter()
        .find(|i| i.name == "faulty")
        .unwrap();
    // A limit of 1 s, begun 1.1 s before the run.
    let limits = tgate::connect::Limits {
        timeout: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let ago = || {
        let began = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        began
    };
    let mut session = tgate::exec::grpc::Session::connect(integration, &limits).unwrap();
    let run = |session: &mut tgate::exec::grpc::Session, line: &str| {
        let argv = tgate::lex::lex_str(line, &tgate::lex::Program::default()).unwrap();
        let cmd = tgate::command::Command::parse(&argv).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let ran = session.run(
            &cmd,
            "tgate:test",
            &limits,
            &mut tgate::audit::Barrier::passed(),
            &mut out,
            &mut err,
        );
        (ran, text(&out), text(&err))
    };
    // The check of a workflow's type before a write, with no time left: nothing is sent, then or
    // later, as the runs below drive the connection (QA: its request went out after the limit).
    assert!(
        matches!(
            session.workflow_type("default", "wf-tls", None, std::time::Duration::ZERO),
            Err(tgate::exec::grpc::ProbeFailure::Timeout(_))
        ),
        "a check with no time left"
    );
    // A read stops; a write is not run (nothing of it sent: what its decision used up is given
    // back).
    let read = "temporal workflow describe -w wf-tls -o json";
    session.counting_from(ago());
    let (ran, out, err) = run(&mut session, read);
    assert!(
        matches!(
            ran,
            tgate::exec::grpc::Native::Ran {
                exit_code: 1,
                grpc_status: Some("DEADLINE_EXCEEDED")
            }
        ),
        "{ran:?} {err}"
    );
    assert_eq!(
        (out.as_str(), err.as_str()),
        ("", "tgate: stopped after the 1s timeout\n")
    );
    session.counting_from(ago());
    let (ran, out, err) = run(
        &mut session,
        "temporal workflow signal -w wf-tls --name nudge",
    );
    match ran {
        tgate::exec::grpc::Native::Unanswered(why) => assert_eq!(
            why,
            "no answer from the server before the 1s time limit, and the write was not sent"
        ),
        other => panic!("{other:?} {err}"),
    }
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
    assert_eq!(proxy.stats.forwarded.load(Ordering::SeqCst), 0);
    // Not translated (the CLI would run it): the start goes with it, and the next run has its
    // whole second.
    session.counting_from(ago());
    let (ran, _, _) = run(
        &mut session,
        "temporal workflow describe -w wf-tls -o json --client-connect-timeout 5s",
    );
    assert!(
        matches!(ran, tgate::exec::grpc::Native::Fallback(_)),
        "{ran:?}"
    );
    let (ran, out, err) = run(&mut session, "temporal workflow describe -w wf-tls -o json");
    assert!(
        matches!(ran, tgate::exec::grpc::Native::Ran { exit_code: 0, .. }),
        "{ran:?} {err}"
    );
    assert!(out.contains("\"workflowId\": \"wf-tls\""), "{out}");
    assert!(proxy.stats.forwarded.load(Ordering::SeqCst) >= 1);
    drop(dir);
}

/// A timed read (`--command-timeout`, which has the native executor make the call the CLI makes
/// when it connects, `GetSystemInfo`) whose credentials that call refuses: with `--backend grpc`
/// tgate says so, with the cause, and points at doctor (review: the cause was dropped and the
/// CLI, which fails as well, was suggested).
#[test]
fn a_connection_check_that_refuses_the_credentials_says_so() {
    let key = "tgk-refused-check-0007";
    let (_server, _proxy, _dir, config) = behind_faulty_proxy(
        Mode::FailNth {
            key: key.to_owned(),
            method: "GetSystemInfo",
            nth: 1,
            code: 16,
        },
        key,
    );
    let out = run(
        &config,
        "faulty",
        "grpc",
        "temporal workflow list --command-timeout 5s",
    );
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (
            Some(2),
            "tgate: not run natively (the call the CLI makes when it connects (GetSystemInfo) \
             failed: Unauthenticated: injected by the test's proxy); `tgate doctor --integration \
             faulty` diagnoses the connection and its credentials\n"
                .to_owned()
        )
    );
}

/// A server that does not answer the call the CLI makes when it connects (`GetSystemInfo`)
/// within the Go SDK's 5 s fails the CLI before its command is sent; the native executor sends no
/// write either (QA: a native terminate took effect on a slow server where the CLI's failed).
#[test]
fn no_write_is_sent_where_the_cli_would_fail_to_connect() {
    let key = "tgk-slow-connect-0006";
    let (server, _proxy, dir, config) = behind_faulty_proxy(
        Mode::Slow {
            key: key.to_owned(),
            method: "GetSystemInfo",
            secs: 7,
            from: 1,
        },
        key,
    );
    allow_writes(dir.path(), &config);
    let line = "temporal workflow signal -w wf-tls --name poke";
    let native = run(&config, "faulty", "grpc", line);
    assert_eq!(native.status.code(), Some(2), "{}", text(&native.stderr));
    assert!(
        text(&native.stderr).contains("(GetSystemInfo) in the time the CLI gives it"),
        "{}",
        text(&native.stderr)
    );
    // `--client-connect-timeout`, which changes the CLI's bound, is not translated: the CLI runs
    // it (QA: the docs said the native executor waited that long instead, and this check, which
    // only timed the refusal, could not tell).
    let quick = run(
        &config,
        "faulty",
        "grpc",
        "temporal workflow signal -w wf-tls --name poke --client-connect-timeout 1s",
    );
    assert_eq!(
        (quick.status.code(), text(&quick.stderr)),
        (
            Some(2),
            "tgate: not run natively (`--client-connect-timeout` is not translated); use --backend auto or cli\n"
                .to_owned()
        )
    );
    // `auto` hands it to the CLI, which fails to connect as it would alone.
    let auto = run(&config, "faulty", "auto", line);
    assert_eq!(auto.status.code(), Some(1), "{}", text(&auto.stderr));
    assert!(
        text(&auto.stderr).contains("context deadline exceeded"),
        "{}",
        text(&auto.stderr)
    );
    let history = server.cli(&["workflow", "show", "-w", "wf-tls", "-o", "json"]);
    assert!(
        !text(&history.stdout).contains("WORKFLOW_EXECUTION_SIGNALED"),
        "a signal was sent: {}",
        text(&history.stdout)
    );
}

/// A followed history's JSON Lines are held until the run closes (as the CLI holds them): a long
/// poll that fails with a status the SDK retries is asked again, not handed to the CLI to start
/// over (QA: with the connection dropped, the CLI then failed to connect).
#[test]
fn a_followed_history_held_for_its_end_survives_a_failed_long_poll() {
    let key = "tgk-fail-nth-0007";
    let (server, proxy, _dir, config) =
        behind_faulty_proxy(fail_nth(key, "GetWorkflowExecutionHistory", 2), key);
    let line = "temporal workflow show -w wf-tls --follow -o jsonl";
    let follow = spawn_native(&config, line);
    // The follow's second call (its first long poll) is refused; then the run closes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while proxy.stats.seen.load(Ordering::SeqCst) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the follow never asked again"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = server.cli(&["workflow", "terminate", "-w", "wf-tls", "--reason", "done"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = follow.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let want = direct_cli(&server, "temporal workflow show -w wf-tls -o jsonl");
    assert_eq!(text(&out.stdout), text(&want.stdout));
}

/// 128 random bits, hex.
fn random_hex() -> String {
    let a = RandomState::new().hash_one(std::time::SystemTime::now());
    let b = RandomState::new().hash_one(std::process::id());
    format!("{a:016x}{b:016x}")
}

/// A stand-in `temporal` that records its argv and its environment into `record`, then fails.
fn recorder(dir: &Path, record: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-temporal");
    std::fs::write(
        &path,
        format!(
            concat!(
                "#!/bin/sh\n{{\n",
                "  echo ARGV; for a in \"$@\"; do echo \"[$a]\"; done\n",
                "  echo ENV; /usr/bin/env\n",
                "}} >> {}\necho 'Error: recorded' >&2\nexit 1\n",
            ),
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The level and target of a `TGATE_LOG` line (`   0.001234s  INFO tgate::cli: decided ...`).
fn diagnostic(line: &str) -> Option<(&str, &str)> {
    let mut words = line.split_whitespace();
    let uptime = words.next()?.strip_suffix('s')?;
    uptime.parse::<f64>().ok()?;
    let level = words
        .next()
        .filter(|l| ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(l))?;
    Some((level, words.next()?.strip_suffix(':')?))
}

/// Every file under `dir`, with its contents.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn secrets_never_leak() {
    let server = seeded_server();
    let ca = Ca::new("tgate test CA");
    let client: Issued = ca.client("incident-agent");
    let api_key = format!("tgk-{}", random_hex());
    // The proxy wants both: a client certificate and the API key, so both are really used.
    let proxy = TlsProxy::start(
        &server.address,
        &ca.server(),
        Some(&ca.pem()),
        Mode::ApiKey(api_key.clone()),
    );
    // What must never appear: the key, and each line of the private key's base64 body.
    let key_body: Vec<&str> = client
        .key
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.is_empty())
        .collect();
    assert!(!key_body.is_empty());
    // The key split by quotes or an escape, as an agent could type it in a one-string line (the
    // lexer joins the pieces back into the key): refused as the key is, and not kept as typed.
    let (head, tail) = api_key.split_at(8);
    let split = [format!("{head}''{tail}"), format!("{head}\\{tail}")];
    let mut needles: Vec<&str> = vec![&api_key, &split[0], &split[1]];
    needles.extend(&key_body);
    let leaks = |what: &str, bytes: &[u8]| {
        let s = String::from_utf8_lossy(bytes);
        for n in &needles {
            assert!(!s.contains(n), "{what} leaks a secret:\n{s}");
        }
    };

    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "ca.pem", &ca.pem());
    put(dir.path(), "client.pem", &client.cert);
    let record = dir.path().join("record");
    let fake = recorder(dir.path(), &record);
    // The secrets come from the environment only, so no file under `dir` holds them.
    let fields = |key_var: &str| {
        format!(
            ", client_cert: {{file: client.pem}}, client_key: {{env: TEST_CLIENT_KEY}}, server_ca: {{file: ca.pem}}, api_key: {{env: {key_var}}}"
        )
    };
    let config = server.config(
        dir.path(),
        "default",
        &(integration("good", &proxy.address, &fields("TEST_API_KEY"))
            + &integration("bad", &proxy.address, &fields("TEST_WRONG_KEY"))),
    );
    let recorded = dir.path().join("recorded.yaml");
    put(
        dir.path(),
        "recorded.yaml",
        &format!(
            "version: 1\ntemporal: {}\naudit: {{path: audit.jsonl}}\nintegrations:\n{}",
            fake.display(),
            integration("good", &proxy.address, &fields("TEST_API_KEY"))
        ),
    );
    // tgate's private run directories go here: it must leave nothing behind.
    let tmp = tempfile::tempdir().unwrap();
    let tmp_path = tmp.path().to_str().unwrap().to_owned();
    let env = [
        ("TEST_API_KEY", api_key.as_str()),
        ("TEST_WRONG_KEY", "tgk-not-the-key"),
        ("TEST_CLIENT_KEY", client.key.as_str()),
        // Every diagnostic tgate writes (checked below to be there, and tgate's own alone).
        ("TGATE_LOG", "trace"),
        ("RUST_LOG", "trace"),
        ("TMPDIR", tmp_path.as_str()),
    ];
    // An agent that somehow got hold of the key and tries to pass it on the command line.
    let smuggled = [
        format!("temporal workflow list --api-key {api_key}"),
        format!("temporal workflow list --grpc-meta 'authorization=Bearer {api_key}'"),
    ];
    // Or types it as a workflow id or a namespace: refused (denied, exit 3) before anything is
    // gated, stored or run, and neither recorded nor printed (QA: the audit record's raw line,
    // argv, target and namespace held it, `check --config` printed it, and an approval request
    // kept it in the store).
    let as_id = format!("temporal workflow describe -w {api_key}");
    let as_ns = format!("temporal workflow describe -w x -n {api_key}");
    let as_split_id = split
        .each_ref()
        .map(|k| format!("temporal workflow describe -w {k}"));
    // Typed whole once and split once (review: the split copy was recorded as typed), and in a
    // line that does not even lex (review: recorded as typed, the key one step from whole).
    let whole_and_split = format!("temporal workflow describe -w {api_key} -r {}", split[0]);
    let unlexed = format!("temporal workflow describe -w {} ;", split[0]);
    // Or puts it in the justification, which an approval request would keep and show.
    let justified = format!("INC-1 {api_key}");
    let lines: Vec<(Vec<&str>, &Path, Option<&str>, i32)> = vec![
        (
            vec!["run", "--integration", "good", "--backend", "grpc"],
            &config,
            Some(&as_id),
            3,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "cli"],
            &config,
            Some(&as_ns),
            3,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "cli"],
            &config,
            Some(READS[0]),
            0,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "grpc"],
            &config,
            Some(READS[1]),
            0,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "auto"],
            &config,
            Some(READS[0]),
            0,
        ),
        (
            vec!["run", "--integration", "bad", "--backend", "cli"],
            &config,
            Some(READS[0]),
            1,
        ),
        (
            vec!["run", "--integration", "bad", "--backend", "grpc"],
            &config,
            Some(READS[1]),
            -1,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "cli"],
            &config,
            Some("temporal workflow terminate -w wf-tls"),
            3,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "grpc"],
            &config,
            Some(&smuggled[0]),
            3,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "cli"],
            &config,
            Some(&smuggled[1]),
            3,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "cli"],
            &recorded,
            Some(&as_split_id[0]),
            3,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "grpc"],
            &config,
            Some(&as_split_id[1]),
            3,
        ),
        (
            vec!["run", "--backend", "cli", "--justification", &justified],
            &recorded,
            Some(READS[0]),
            3,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "cli"],
            &recorded,
            Some(&whole_and_split),
            3,
        ),
        (
            vec!["run", "--integration", "good", "--backend", "cli"],
            &recorded,
            Some(&unlexed),
            2,
        ),
        (vec!["doctor", "--integration", "good"], &config, None, 0),
        (
            vec!["doctor", "-o", "json", "--integration", "good"],
            &config,
            None,
            0,
        ),
        (vec!["doctor", "--integration", "bad"], &config, None, 1),
        (
            vec!["doctor", "-o", "json", "--integration", "bad"],
            &config,
            None,
            1,
        ),
        (
            vec!["run", "--backend", "cli"],
            &recorded,
            Some(READS[0]),
            1,
        ),
        (vec!["doctor"], &recorded, None, 1),
    ];
    let mut logged = String::new();
    for (args, config, line, want) in &lines {
        let out = tgate_with(args, config, *line, &env);
        let what = format!("tgate {args:?} {line:?}");
        if *want >= 0 {
            assert_eq!(
                out.status.code(),
                Some(*want),
                "{what}: {}",
                text(&out.stderr)
            );
        }
        leaks(&format!("{what} stdout"), &out.stdout);
        leaks(&format!("{what} stderr"), &out.stderr);
        let stderr = text(&out.stderr);
        let events: Vec<(&str, &str)> = stderr.lines().filter_map(diagnostic).collect();
        assert!(
            events.iter().any(|(level, _)| *level == "INFO"),
            "{what}: no diagnostics with TGATE_LOG=trace:\n{stderr}"
        );
        for (_, target) in &events {
            assert!(
                target.starts_with("tgate::"),
                "{what}: a dependency's diagnostics ({target}):\n{stderr}"
            );
        }
        if args[0] == "run" && *want == 0 {
            // Both records' batches logged, before the result: none lost at exit.
            let at = |event: &str| -> Vec<usize> {
                let lines = stderr.lines().enumerate();
                lines
                    .filter(|(_, l)| l.contains(event))
                    .map(|(i, _)| i)
                    .collect()
            };
            let (batches, result) = (at(" audit batch written "), at(" tgate::cli: result "));
            assert_eq!(batches.len(), 2, "{what}:\n{stderr}");
            assert!(
                result.len() == 1 && batches[1] < result[0],
                "{what}:\n{stderr}"
            );
        }
        logged.push_str(&stderr);
        let left: Vec<_> = files_under(tmp.path())
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert!(left.is_empty(), "{what} left {left:?}");
    }
    // Every kind of event was written, and grepped above: those with the CLI's argv and
    // environment, the connection's and the calls' among them.
    for event in [
        "tgate::cli: configuration loaded ",
        "tgate::cli: policies loaded ",
        "tgate::cli: decided ",
        "tgate::exec::grpc: connected ",
        "tgate::exec::grpc: call ",
        "tgate::exec::cli: starting the CLI ",
        "tgate::exec::cli: the CLI ended ",
        "tgate::audit::log: audit batch written ",
        "tgate::cli: result ",
        "tgate::connect::doctor: TLS material checked ",
        "tgate::connect::doctor: diagnosed ",
    ] {
        assert!(logged.contains(event), "no `{event}` event:\n{logged}");
    }
    for format in ["text", "json"] {
        let out = tgate_with(
            &["check", "--integration", "good", "-o", format],
            &config,
            Some(&as_id),
            &env,
        );
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        leaks(&format!("tgate check --config -o {format}"), &out.stdout);
        assert!(text(&out.stdout).contains("tgate:api-key-in-line"));
    }
    for (args, line) in [
        (vec!["check"], &as_split_id[0]),
        (vec!["check"], &as_split_id[1]),
        (
            vec!["check", "--justification", &justified],
            &READS[0].to_owned(),
        ),
    ] {
        let mut args = args;
        args.extend(["--integration", "good", "-o", "json"]);
        let out = tgate_with(&args, &config, Some(line), &env);
        assert_eq!(out.status.code(), Some(3), "{args:?} {}", text(&out.stderr));
        leaks(&format!("tgate {args:?}"), &out.stdout);
        assert!(text(&out.stdout).contains("tgate:api-key-in-line"));
    }
    for line in &smuggled {
        for format in ["text", "json"] {
            let out = Command::new(common::tgate_bin())
                .args(["check", "--explain", "-o", format, line])
                .env_clear()
                .envs(env)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(3), "{line}: {}", text(&out.stderr));
            leaks(&format!("tgate check -o {format}"), &out.stdout);
            leaks(&format!("tgate check -o {format}"), &out.stderr);
        }
    }
    assert!(proxy.stats.forwarded.load(Ordering::SeqCst) > 0);
    assert!(proxy.stats.refused.load(Ordering::SeqCst) > 0);

    // What the child was given (`tgate run` and doctor's probe): the key only as TEMPORAL_API_KEY,
    // the private key only as TEMPORAL_TLS_CLIENT_KEY_DATA, no file named in argv (and none left
    // behind: `tmp` is empty).
    let record = std::fs::read_to_string(&record).unwrap();
    let runs: Vec<&str> = record.split("ARGV\n").skip(1).collect();
    assert_eq!(runs.len(), 2, "{record}");
    for r in runs {
        let (argv, rest) = r.split_once("ENV\n").unwrap();
        let env = rest;
        for n in &needles {
            assert!(!argv.contains(n), "argv leaks a secret:\n{argv}");
        }
        assert!(
            !argv.contains("-cert-path=") && !argv.contains("-key-path="),
            "a client certificate or key file named in argv:\n{argv}"
        );
        let api_var = format!("TEMPORAL_API_KEY={api_key}\n");
        let key_var = format!("TEMPORAL_TLS_CLIENT_KEY_DATA={}", client.key);
        assert!(env.contains(&api_var) && env.contains(&key_var), "{env}");
        let others = env.replace(&api_var, "").replace(&key_var, "");
        assert!(
            !needles.iter().any(|n| others.contains(n)),
            "a secret elsewhere in the environment:\n{others}"
        );
    }

    // No file under the configuration's directory holds a secret, the audit log among them (every
    // run above, the smuggled keys included, was recorded there), and nothing was left in the
    // temporary directory.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.lines().count() >= 9, "{audit}");
    assert!(audit.contains("--api-key <redacted>"), "{audit}");
    for (path, bytes) in files_under(dir.path()) {
        if path != dir.path().join("record") {
            leaks(&path.display().to_string(), &bytes);
        }
    }
    assert!(files_under(tmp.path()).is_empty());
}

/// A write the server refuses as rate-limited (`ResourceExhausted`, answered before anything
/// took effect) is sent again where the CLI sends it again (cancel and terminate go through the
/// Go SDK, which retries them), and printed as the CLI's error where the CLI makes a raw call
/// (signal): both executors print what the CLI prints through the same proxy, and the workflow
/// ends as the CLI leaves it.
/// A server that echoes the API key it was sent, in an error: neither `tgate run` (either executor,
/// tgate's own messages and the CLI's passed on), nor doctor, nor the diagnostics, nor the audit
/// log shows it; each shows `<redacted>` where the server quoted it.
#[test]
fn an_api_key_a_server_echoes_is_not_shown() {
    let server = DevServer::start(&[]);
    let ca = Ca::new("tgate test CA");
    let api_key = format!("tgk-{}", random_hex());
    // The server quotes another integration's key too, one that begins with this one's: it is
    // replaced whole, not as this key followed by the rest.
    let other_key = format!("{api_key}-{}", random_hex());
    let proxy = TlsProxy::start(
        &server.address,
        &ca.server(),
        None,
        Mode::Echo(format!("(not {other_key})")),
    );
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "ca.pem", &ca.pem());
    let config = server.config(
        dir.path(),
        "default",
        &(integration(
            "echo",
            &proxy.address,
            ", server_ca: {file: ca.pem}, api_key: {env: ECHO_KEY}",
        ) + &integration(
            "other",
            &proxy.address,
            ", server_ca: {file: ca.pem}, api_key: {env: OTHER_KEY}",
        )),
    );
    let env = [
        ("ECHO_KEY", api_key.as_str()),
        ("OTHER_KEY", other_key.as_str()),
        ("TGATE_LOG", "debug"),
    ];
    let mut echoed = 0;
    for backend in ["cli", "grpc", "auto"] {
        for args in [
            vec!["run", "--integration", "echo", "--backend", backend],
            vec!["doctor", "--integration", "echo", "--backend", backend],
        ] {
            let line = (args[0] == "run").then_some("temporal workflow list -o json");
            let out = tgate_with(&args, &config, line, &env);
            let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert!(!said.contains(&api_key), "{args:?} shows the key:\n{said}");
            assert!(
                !said.contains(&other_key),
                "{args:?} shows the other key:\n{said}"
            );
            assert_ne!(out.status.code(), Some(0), "{args:?}: {said}");
            if said.contains("rejected token Bearer <redacted> (not <redacted>)") {
                echoed += 1;
            }
        }
    }
    // The CLI's own error passed on (`--backend cli`), the native executor's refusal (`grpc`),
    // doctor under each backend.
    assert!(echoed >= 4, "the server's echo was seen {echoed} times");

    // The CLI's error cut by the output cap in the middle of the echoed key: what comes before
    // the cut is a fragment of the key, replaced as the key is.
    let out = tgate_with(
        &["run", "--integration", "echo", "--backend", "cli"],
        &config,
        Some("temporal workflow list -o json"),
        &env[..2],
    );
    let whole = text(&out.stderr);
    let at = whole.find("<redacted>").expect("the echo") + 10;
    let capped = config.with_file_name("capped.yaml");
    std::fs::write(
        &capped,
        std::fs::read_to_string(&config).unwrap()
            + &format!("limits: {{max_output_bytes: {at}}}\n"),
    )
    .unwrap();
    let out = tgate_with(
        &["run", "--integration", "echo", "--backend", "cli"],
        &capped,
        Some("temporal workflow list -o json"),
        &env,
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("output cut at"), "{said}");
    assert!(said.contains("rejected token Bearer <redacted>"), "{said}");
    assert!(
        !said.contains(&api_key[..10]),
        "a fragment of the key shows:\n{said}"
    );
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(!audit.contains(&api_key[..10]) && !audit.contains(&other_key[..10]));
}

#[test]
fn a_rate_limited_write_is_sent_again_where_the_cli_sends_it_again() {
    let key = "tgk-rate-limited-0005";
    for (method, verb, want_retry) in [
        (
            "TerminateWorkflowExecution",
            "terminate --reason limited",
            true,
        ),
        ("RequestCancelWorkflowExecution", "cancel", true),
        ("SignalWorkflowExecution", "signal --name poke", false),
    ] {
        let (server, proxy, dir, config) =
            behind_faulty_proxy(rate_limited(key, method, false, true), key);
        allow_writes(dir.path(), &config);
        for id in ["by-cli", "by-grpc", "by-cli-backend"] {
            let out = server.cli(&[
                "workflow", "start", "--type", "Payment", "-t", "q", "-w", id,
            ]);
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
        let theirs = cli_with_api_key(
            &proxy.address,
            &dir.path().join("ca.pem"),
            key,
            &format!("temporal workflow {verb} -w by-cli"),
        );
        assert_eq!(proxy.stats.limited.swap(0, Ordering::SeqCst), 1, "{method}");
        assert_eq!(
            theirs.status.success(),
            want_retry,
            "{}",
            text(&theirs.stderr)
        );
        for (backend, id) in [("grpc", "by-grpc"), ("cli", "by-cli-backend")] {
            let ours = run(
                &config,
                "faulty",
                backend,
                &format!("temporal workflow {verb} -w {id}"),
            );
            assert_eq!(
                proxy.stats.limited.swap(0, Ordering::SeqCst),
                1,
                "{method} {backend}"
            );
            assert_eq!(
                (ours.status.code(), text(&ours.stdout), text(&ours.stderr)),
                (
                    theirs.status.code(),
                    text(&theirs.stdout),
                    text(&theirs.stderr)
                ),
                "{method} {backend}"
            );
        }
        // The write took effect once, or not at all, as the CLI's did.
        let events = |id: &str| -> Vec<String> {
            let out = server.cli(&["workflow", "show", "-w", id, "-o", "json"]);
            let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            history["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["eventType"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(events("by-grpc"), events("by-cli"), "{method}");
        assert_eq!(events("by-cli-backend"), events("by-cli"), "{method}");
        let acted = events("by-grpc").iter().any(|t| {
            t.ends_with("_TERMINATED")
                || t.ends_with("_CANCEL_REQUESTED")
                || t.ends_with("_SIGNALED")
        });
        assert_eq!(acted, want_retry, "{method}: {:?}", events("by-grpc"));
    }
}

/// The proxy's `ApiKey` mode, the second request for `method` answered with the gRPC `code`.
fn fail_nth(key: &str, method: &'static str, code: u32) -> Mode {
    Mode::FailNth {
        key: key.to_owned(),
        method,
        nth: 2,
        code,
    }
}

fn rate_limited(key: &str, method: &'static str, always: bool, details: bool) -> Mode {
    Mode::RateLimited {
        key: key.to_owned(),
        method,
        always,
        details,
    }
}

/// A gated native write that never went out gives its approval back, and says so: a server slow
/// to answer the call the CLI makes when it connects (`GetSystemInfo`, held 7 s here), under
/// `--backend grpc`; a stop signal while that call waits (review: it said the write might have
/// taken effect, and kept the approval); tgate's time limit ending while it waits (QA: recorded
/// as a command that ran and failed, exit 1, the approval spent).
#[test]
fn a_gated_write_that_never_went_out_gives_its_approval_back() {
    let key = "tgk-gated-slow-0015";
    let (server, proxy, dir, config) = behind_faulty_proxy(
        Mode::Slow {
            key: key.to_owned(),
            method: "GetSystemInfo",
            secs: 7,
            from: 1,
        },
        key,
    );
    put(
        dir.path(),
        "p.yaml",
        "version: 1\nnamespaces: [$default]\nrules:\n  - {id: gated, decision: require_approval, reason: g, when: {commands: [workflow signal]}, approval: {approvers: [sre]}}\n",
    );
    let mut yaml = std::fs::read_to_string(&config).unwrap();
    yaml.push_str(&format!(
        "policies: [{}]\napprovers:\n  - {{id: alice, groups: [sre]}}\n",
        dir.path().join("p.yaml").display()
    ));
    put(dir.path(), "tgate.yaml", &yaml);
    put(
        dir.path(),
        "limited.yaml",
        &format!("{yaml}limits: {{timeout: 3s}}\n"),
    );
    let line = "temporal workflow signal -w wf-tls --name gated";
    let args = ["run", "--integration", "faulty", "--caller", "agent"];
    let asked = tgate_with(&args, &config, Some(line), &[]);
    assert_eq!(asked.status.code(), Some(4), "{}", text(&asked.stderr));
    let id = text(&asked.stderr)
        .split_whitespace()
        .find(|w| w.len() == 26 && w.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap()
        .to_owned();
    let ok = tgate_with(&["approve", &id, "--as", "alice"], &config, None, &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let returned = format!(
        "tgate: approval {id} was not used: the same command runs with it until it expires\n"
    );
    let grpc = [&args[..], &["--backend", "grpc"]].concat();

    let slow = tgate_with(&grpc, &config, Some(line), &[]);
    assert_eq!(
        (slow.status.code(), text(&slow.stderr)),
        (
            Some(2),
            format!(
                "tgate: not run natively (the server did not answer the call the CLI makes when \
                 it connects (GetSystemInfo) in the time the CLI gives it (5s)); use --backend \
                 auto or cli\n{returned}"
            )
        )
    );

    let seen = proxy.stats.seen.load(Ordering::SeqCst);
    let mut child = Command::new(common::tgate_bin())
        .args(&grpc)
        .arg("--config")
        .arg(&config)
        .arg(line)
        .env_clear()
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stopped while the proxy holds its `GetSystemInfo`.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    common::poll(deadline, std::time::Duration::from_millis(20), || {
        (proxy.stats.seen.load(Ordering::SeqCst) != seen)
            .then_some(())
            .ok_or_else(|| "no GetSystemInfo".to_owned())
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = common::terminate(&mut child, "tgate did not end on SIGTERM");
    let stderr = common::stderr_of(&mut child);
    assert_eq!(
        (
            std::os::unix::process::ExitStatusExt::signal(&status),
            stderr
        ),
        (
            Some(15),
            format!("tgate: stopped by SIGTERM before the command was sent\n{returned}")
        )
    );

    let limited = tgate_with(&grpc, &dir.path().join("limited.yaml"), Some(line), &[]);
    assert_eq!(
        (limited.status.code(), text(&limited.stderr)),
        (
            Some(2),
            format!(
                "tgate: not run natively (no answer from the server before the 3s time limit, \
                 and the write was not sent); `tgate doctor --integration faulty` diagnoses the \
                 connection and its credentials\n{returned}"
            )
        )
    );

    // Nothing was sent; the approval is still there to be used, and each claim was given back.
    let history = server.cli(&["workflow", "show", "-w", "wf-tls", "-o", "json"]);
    assert!(
        !text(&history.stdout).contains("WORKFLOW_EXECUTION_SIGNALED"),
        "{}",
        text(&history.stdout)
    );
    let listed = tgate_with(&["approvals", "list"], &config, None, &[]);
    assert!(
        text(&listed.stdout).contains(&id),
        "{}",
        text(&listed.stdout)
    );
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert_eq!(
        audit.matches("\"kind\":\"approval_used\"").count(),
        3,
        "{audit}"
    );
    assert_eq!(
        audit.matches("\"kind\":\"approval_returned\"").count(),
        3,
        "{audit}"
    );
}

/// Adds a policy allowing single-workflow signal, cancel and terminate to `config`.
fn allow_writes(dir: &Path, config: &Path) {
    std::fs::write(
        dir.join("p.yaml"),
        "version: 1\nnamespaces: [$default]\nrules:\n  - {id: writes, decision: allow, reason: w, when: {commands: [workflow signal, workflow cancel, workflow terminate]}}\n",
    )
    .unwrap();
    let mut yaml = std::fs::read_to_string(config).unwrap();
    yaml.push_str(&format!("policies: [{}]\n", dir.join("p.yaml").display()));
    std::fs::write(config, yaml).unwrap();
}

/// Under a rate limit that lasts, the SDK gives up at the call's deadline (10 s; half the
/// `--command-timeout`, within 1 to 10 s) with `context deadline exceeded`: both executors end
/// as the CLI does, at the same moment, the workflow left running.
#[test]
fn a_lasting_rate_limit_ends_a_write_at_the_sdks_deadline() {
    let key = "tgk-rate-limited-0006";
    let (server, proxy, dir, config) = behind_faulty_proxy(
        rate_limited(key, "TerminateWorkflowExecution", true, true),
        key,
    );
    allow_writes(dir.path(), &config);
    terminations_end_at_the_sdks_deadline(&proxy, dir.path(), &config, key);
    assert!(proxy.stats.limited.load(Ordering::SeqCst) >= 8);
    let out = server.cli(&["workflow", "describe", "-w", "wf-tls", "-o", "json"]);
    assert!(text(&out.stdout).contains("WORKFLOW_EXECUTION_STATUS_RUNNING"));
}

/// `ResourceExhausted` without the server's `ResourceExhaustedFailure` (what a proxy, or an
/// HTTP/2 `ENHANCE_YOUR_CALM` reset, gives) does not say the request was refused before it took
/// effect: tgate does not send the write again and says its outcome is unknown (the CLI would
/// retry it).
#[test]
fn a_write_refused_without_the_servers_details_is_not_sent_again() {
    let key = "tgk-rate-limited-0007";
    let (server, proxy, dir, config) = behind_faulty_proxy(
        rate_limited(key, "TerminateWorkflowExecution", false, false),
        key,
    );
    allow_writes(dir.path(), &config);
    let ours = run(
        &config,
        "faulty",
        "grpc",
        "temporal workflow terminate -w wf-tls",
    );
    assert_eq!(ours.status.code(), Some(1), "{}", text(&ours.stderr));
    assert_eq!(
        text(&ours.stderr),
        "tgate: the request may or may not have taken effect: ResourceExhausted: namespace rate limit exceeded\n"
    );
    assert_eq!(proxy.stats.limited.load(Ordering::SeqCst), 1);
    let out = server.cli(&["workflow", "describe", "-w", "wf-tls", "-o", "json"]);
    assert!(text(&out.stdout).contains("WORKFLOW_EXECUTION_STATUS_RUNNING"));
}

/// A dev server behind a proxy that holds each termination 14 s before passing it on, with a
/// configuration whose policy allows writes.
fn holding_terminations(
    key: &'static str,
) -> (DevServer, TlsProxy, tempfile::TempDir, std::path::PathBuf) {
    let (server, proxy, dir, config) = behind_faulty_proxy(
        Mode::Slow {
            key: key.to_owned(),
            method: "TerminateWorkflowExecution",
            secs: 14,
            from: 1,
        },
        key,
    );
    allow_writes(dir.path(), &config);
    (server, proxy, dir, config)
}

/// A server slow to answer a termination: the SDK's deadline (10 s; half a 4 s
/// `--command-timeout`) ends the call, and tgate ends it at the same moment with the CLI's words.
#[test]
fn a_write_still_unanswered_at_the_sdks_deadline_ends_as_the_cli_does() {
    let key = "tgk-slow-0008";
    let (_server, proxy, dir, config) = holding_terminations(key);
    terminations_end_at_the_sdks_deadline(&proxy, dir.path(), &config, key);
}

/// A termination, with and without a 4 s `--command-timeout`, through `proxy` (which keeps it
/// from being answered) by the CLI and by tgate side by side: both end at the SDK's deadline (10 s;
/// half the command timeout) with the CLI's `context deadline exceeded`, at the same moment.
fn terminations_end_at_the_sdks_deadline(
    proxy: &TlsProxy,
    dir: &Path,
    config: &Path,
    key: &'static str,
) {
    for (line, at_least) in [
        ("temporal workflow terminate -w wf-tls", 9.5),
        (
            "temporal workflow terminate -w wf-tls --command-timeout 4s",
            1.9,
        ),
    ] {
        let ca = dir.join("ca.pem");
        let address = proxy.address.clone();
        let cli = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let out = cli_with_api_key(&address, &ca, key, line);
            (out, start.elapsed())
        });
        let start = std::time::Instant::now();
        let ours = run(config, "faulty", "grpc", line);
        let took = start.elapsed();
        let (theirs, they_took) = cli.join().unwrap();
        assert_eq!(
            text(&theirs.stderr),
            "Error: failed to terminate workflow: context deadline exceeded\n",
            "{line}"
        );
        assert_eq!(
            (ours.status.code(), text(&ours.stdout), text(&ours.stderr)),
            (
                theirs.status.code(),
                text(&theirs.stdout),
                text(&theirs.stderr)
            ),
            "{line}"
        );
        for elapsed in [took, they_took] {
            assert!(
                elapsed.as_secs_f64() >= at_least && elapsed.as_secs_f64() < at_least + 4.0,
                "{line}: {elapsed:?}"
            );
        }
    }
}

/// A native write in flight when tgate is asked to stop: the run ends at once with its outcome
/// unknown, the result recorded, and then tgate ends by the signal, rather than ending with an
/// allowed termination and no result. Once with the termination held by the proxy, once between
/// attempts the server refused with its rate limit: the record then carries no gRPC status (not
/// the earlier attempt's RESOURCE_EXHAUSTED, which would say the write was refused).
#[test]
fn a_write_in_flight_when_tgate_is_stopped_is_recorded_as_unknown() {
    let (_server, _proxy, _dir, config) = holding_terminations("tgk-stopped-0009");
    stop_a_termination(&config);
    let key = "tgk-stopped-limited-0010";
    let (_server, _proxy, dir, config) = behind_faulty_proxy(
        rate_limited(key, "TerminateWorkflowExecution", true, true),
        key,
    );
    allow_writes(dir.path(), &config);
    stop_a_termination(&config);
}

/// `tgate run … workflow terminate` through `config`'s `faulty` integration, sent SIGTERM 0.7 s
/// after its decision is on disk (the termination held or being retried by then).
fn stop_a_termination(config: &Path) {
    use std::os::unix::process::ExitStatusExt;
    let audit = config.with_file_name("audit.jsonl");
    let records = |kind: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|r| r["kind"] == kind && r["command"] == "workflow terminate")
            .collect()
    };
    let mut child = spawn_native(config, "temporal workflow terminate -w wf-tls");
    // The termination is sent once its decision is on disk.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while records("decision").is_empty() {
        assert!(std::time::Instant::now() < deadline, "no decision recorded");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(700));
    let stopped_at = std::time::Instant::now();
    let status = common::terminate(&mut child, "tgate did not end after SIGTERM");
    assert!(
        stopped_at.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        stopped_at.elapsed()
    );
    let mut stderr = Vec::new();
    std::io::Read::read_to_end(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(
        status.signal(),
        Some(nix::sys::signal::Signal::SIGTERM as i32),
        "{status:?} {}",
        text(&stderr)
    );
    assert_eq!(
        text(&stderr),
        "tgate: stopped by SIGTERM; the request may or may not have taken effect\n"
    );
    let results = records("result");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["exit_code"], 1);
    assert_eq!(
        results[0]["grpc_status"],
        serde_json::Value::Null,
        "{results:?}"
    );
}
