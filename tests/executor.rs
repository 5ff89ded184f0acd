//! What the CLI executor hands the child process, observed by a stand-in `temporal` script that
//! records its argv, environment and surroundings. (The real binary is exercised in tests/run.rs;
//! this checks what no real run can show: the exact argv, environment and file modes.)

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tgate::command::Command;
use tgate::connect::{Config, Integration, Limits};
use tgate::exec::{Execution, run_cli};

const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n";

/// A stand-in binary that records what it was given into `dir/record`, then runs `tail`.
fn recorder(dir: &Path, tail: &str) -> PathBuf {
    let path = dir.join("fake-temporal");
    let record = dir.join("record");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n{{\n  echo ARGV; for a in \"$@\"; do echo \"[$a]\"; done\n  echo ENV; /usr/bin/env\n  echo PATHDIR; /bin/ls -A \"$PATH\"\n  echo HOMEDIR; /bin/ls -A \"$HOME\"\n  echo PRIVATE; cd \"$(/usr/bin/dirname \"$HOME\")\" && /usr/bin/find . -mindepth 1 | /usr/bin/sort\n  echo STDIN; /bin/cat\n}} > {} 2>&1\n{tail}\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn cmd(line: &str) -> Command {
    let argv: Vec<&str> = line.split(' ').collect();
    Command::parse(&argv).unwrap()
}

/// `temporal workflow list` through a stand-in that runs `tail` (in a directory of its own),
/// under `timeout` and an output cap of `max_output_bytes`: the run, and how long it took.
fn run_stand_in(
    integration: &Integration,
    tail: &str,
    timeout: Duration,
    max_output_bytes: usize,
) -> (Execution, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let binary = recorder(dir.path(), tail);
    let limits = Limits {
        timeout,
        max_output_bytes,
    };
    let start = std::time::Instant::now();
    let run = run_cli(
        &binary,
        &cmd("temporal workflow list"),
        integration,
        "a",
        &limits,
    )
    .unwrap();
    (run, start.elapsed())
}

fn config(dir: &Path, yaml: &str) -> Config {
    std::fs::write(dir.join("cert.pem"), CERT).unwrap();
    std::fs::write(dir.join("key.pem"), KEY).unwrap();
    std::fs::write(dir.join("ca.pem"), CERT).unwrap();
    let env = |k: &str| (k == "PROD_KEY").then(|| "sk-TOPSECRET-123".to_owned());
    Config::from_yaml(yaml, "t.yaml", dir, &env).unwrap()
}

#[test]
fn every_command_carries_tgates_identity_activity_pause_included() {
    // `activity pause` has its own `--identity`, which fills the pause request's identity (and
    // shadows the client's): without tgate's, the CLI would send `temporal-cli:<user>@<host>`.
    let dir = tempfile::tempdir().unwrap();
    let fake = recorder(dir.path(), "echo ok");
    let cfg = config(
        dir.path(),
        "version: 1\nintegrations:\n  - {name: dev, auth: direct, namespace: default, address: '127.0.0.1:7233'}\n",
    );
    let integration = cfg.integration(None).unwrap();
    for line in [
        "temporal activity pause -a act-1 -w wf-1",
        "temporal activity unpause -a act-1 -w wf-1",
        "temporal workflow signal -w wf-1 --name s",
    ] {
        let run = run_cli(
            &fake,
            &cmd(line),
            integration,
            "agent-7",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(run.exit_code, 0, "{line}");
        let record = std::fs::read_to_string(dir.path().join("record")).unwrap();
        let argv = record.split_once("ENV\n").unwrap().0;
        let identities: Vec<&str> = argv.lines().filter(|l| l.contains("--identity")).collect();
        assert_eq!(identities, ["[--identity=tgate:agent-7]"], "{line}: {argv}");
    }
    // One the command sets itself is refused before anything runs.
    let refused = run_cli(
        &fake,
        &cmd("temporal activity pause -a act-1 -w wf-1 --identity alice"),
        integration,
        "agent-7",
        &Limits::default(),
    );
    assert!(
        matches!(&refused, Err(tgate::exec::ExecError::Refused(m)) if m.contains("--identity")),
        "{refused:?}"
    );
}

#[test]
fn api_key_goes_only_through_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let fake = recorder(dir.path(), "echo ok");
    let cfg = config(
        dir.path(),
        "version: 1\nintegrations:\n  - {name: prod, auth: cloud-api-key, namespace: payments, account_id: a1b2c, api_key: {env: PROD_KEY}}\n",
    );
    let integration = cfg.integration(None).unwrap();
    assert_eq!(integration.address, "payments.a1b2c.tmprl.cloud:7233");
    // Cloud calls name the Namespace ID, `<name>.<account_id>`; the name alone is not found.
    assert_eq!(integration.namespace, "payments.a1b2c");
    let run = run_cli(
        &fake,
        &cmd("temporal workflow list -n payments.a1b2c"),
        integration,
        "agent-1",
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(run.exit_code, 0);
    assert_eq!(run.stdout, b"ok\n");
    let record = std::fs::read_to_string(dir.path().join("record")).unwrap();
    let (argv, rest) = record.split_once("ENV\n").unwrap();
    assert_eq!(
        argv,
        "ARGV\n[workflow]\n[list]\n[--namespace=payments.a1b2c]\n[--address=payments.a1b2c.tmprl.cloud:7233]\n[--disable-config-file]\n[--identity=tgate:agent-1]\n[--tls]\n"
    );
    assert!(!argv.contains("TOPSECRET"));
    let (env, rest) = rest.split_once("PATHDIR\n").unwrap();
    let mut names: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| *k != "PWD")
        .collect();
    names.sort();
    assert_eq!(names, ["HOME", "PATH", "TEMPORAL_API_KEY"]);
    assert!(env.contains("TEMPORAL_API_KEY=sk-TOPSECRET-123"));
    let (pathdir, rest) = rest.split_once("HOMEDIR\n").unwrap();
    assert_eq!(
        pathdir, "",
        "PATH must hold no executables (no CLI extensions)"
    );
    let (homedir, rest) = rest.split_once("PRIVATE\n").unwrap();
    assert_eq!(homedir, "", "HOME must be empty (no config or env files)");
    let (_, stdin) = rest.split_once("STDIN\n").unwrap();
    assert_eq!(stdin, "", "stdin is closed");
    // The integration's Debug form never shows the key.
    assert!(!format!("{integration:?}").contains("TOPSECRET"));
}

#[test]
fn mtls_material_reaches_the_cli_through_its_environment_only() {
    let dir = tempfile::tempdir().unwrap();
    let fake = recorder(
        dir.path(),
        "echo \"$HOME\"; /usr/bin/stat -c %a \"$(/usr/bin/dirname \"$HOME\")\"",
    );
    let cfg = config(
        dir.path(),
        "version: 1\nintegrations:\n  - {name: dc, auth: direct, address: 'temporal.internal:7233', namespace: ops, client_cert: {file: cert.pem}, client_key: {file: key.pem}, server_ca: {file: ca.pem}, server_name: temporal}\n",
    );
    let run = run_cli(
        &fake,
        &cmd("temporal workflow describe -w a -n ops"),
        cfg.integration(None).unwrap(),
        "bot",
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(run.exit_code, 0, "{}", String::from_utf8_lossy(&run.stderr));
    let record = std::fs::read_to_string(dir.path().join("record")).unwrap();
    for want in ["[--tls]", "[--tls-server-name=temporal]", "/ca/ca.pem]"] {
        assert!(record.contains(want), "missing {want} in\n{record}");
    }
    let argv = record.split("ENV\n").next().unwrap();
    assert!(
        !argv.contains("SECRETKEYMATERIAL"),
        "key material must not be in argv"
    );
    assert!(
        !argv.contains("-cert-path=") && !argv.contains("-key-path="),
        "no client certificate or key file named in argv:\n{argv}"
    );
    // The certificate and key in the CLI's own variables; the private directory holds nothing
    // but the two empty directories and the (public) CA's file: no key file a relative or
    // allowed path could name.
    let env = record
        .split("ENV\n")
        .nth(1)
        .unwrap()
        .split("PATHDIR\n")
        .next()
        .unwrap();
    for (var, body) in [
        ("TEMPORAL_TLS_CLIENT_CERT_DATA", CERT),
        ("TEMPORAL_TLS_CLIENT_KEY_DATA", KEY),
    ] {
        assert!(
            env.contains(&format!("{var}={body}")),
            "{var} missing in\n{env}"
        );
    }
    let private = record.split("PRIVATE\n").nth(1).unwrap();
    let private = private.split("STDIN\n").next().unwrap();
    assert_eq!(private, "./bin\n./ca\n./ca/ca.pem\n./home\n", "{private}");
    // The private directory is its owner's alone (review: it was 0755), and gone after the run.
    let out = String::from_utf8(run.stdout).unwrap();
    let (home, mode) = out.trim().split_once('\n').unwrap();
    assert_eq!(mode, "700", "{out}");
    assert!(!Path::new(home).exists(), "{home} still exists");
}

#[test]
fn timeout_kills_and_output_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "version: 1\nintegrations:\n  - {name: dc, auth: direct, address: 'localhost:7233', namespace: default}\n",
    );
    let integration = cfg.integration(None).unwrap();
    let (run, took) = run_stand_in(
        integration,
        "/bin/sleep 30",
        Duration::from_millis(300),
        1 << 20,
    );
    assert!(run.timed_out && run.exit_code == 1);
    assert!(took < Duration::from_secs(10));
    assert!(String::from_utf8_lossy(&run.stderr).contains("killed after"));

    let (run, _) = run_stand_in(
        integration,
        "/usr/bin/head -c 100000 /dev/zero",
        Duration::from_secs(30),
        1000,
    );
    assert!(run.truncated && run.exit_code == 1);
    assert_eq!(run.stdout.len(), 1000);
}

#[test]
fn both_streams_are_read_at_once_and_the_deadline_holds_after_they_close() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "version: 1\nintegrations:\n  - {name: dc, auth: direct, address: 'localhost:7233', namespace: default}\n",
    );
    let integration = cfg.integration(None).unwrap();
    // 300 KB on each stream, written alternately: more than a pipe holds, so reading one stream
    // to its end before the other would block the child forever.
    let (run, _) = run_stand_in(
        integration,
        "i=0; while [ $i -lt 300 ]; do /usr/bin/head -c 1000 /dev/zero; /usr/bin/head -c 1000 /dev/zero >&2; i=$((i+1)); done; exit 7",
        Duration::from_secs(60),
        1 << 20,
    );
    assert_eq!(
        (run.stdout.len(), run.stderr.len(), run.exit_code),
        (300_000, 300_000, 7)
    );
    assert!(!run.timed_out && !run.truncated);

    // A child that closes both streams and goes on running is still killed at the deadline.
    let (run, took) = run_stand_in(
        integration,
        "exec >&- 2>&-; /bin/sleep 30",
        Duration::from_millis(300),
        1 << 20,
    );
    assert!(run.timed_out && run.exit_code == 1, "{run:?}");
    assert!(took < Duration::from_secs(10));

    // A grandchild that keeps the streams open holds the run until the deadline kills the whole
    // process group; then the run ends (before, it waited for the grandchild: 30 s). The
    // deadline leaves the stand-in time to print under load.
    let (run, took) = run_stand_in(
        integration,
        "/bin/sleep 30 & echo started",
        Duration::from_secs(3),
        1 << 20,
    );
    assert!(run.timed_out, "{run:?}");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "started\n");
    assert!(took < Duration::from_secs(10));
}

#[test]
fn pinned_flags_and_local_commands_are_refused_even_if_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let fake = recorder(dir.path(), "echo ran");
    let cfg = config(
        dir.path(),
        "version: 1\nintegrations:\n  - {name: dc, auth: direct, address: 'localhost:7233', namespace: default}\n",
    );
    let integration = cfg.integration(None).unwrap();
    for line in [
        "temporal workflow list --address evil:1",
        "temporal server start-dev",
        "temporal workflow list --api-key k",
    ] {
        let err = run_cli(&fake, &cmd(line), integration, "a", &Limits::default()).unwrap_err();
        assert!(
            err.to_string().starts_with("refusing to run"),
            "{line}: {err}"
        );
    }
    assert!(!dir.path().join("record").exists(), "nothing ran");
}

#[test]
fn configuration_errors_name_the_field() {
    let long_key_name = format!(
        "version: 1\nintegrations:\n  - {{name: a, auth: direct, namespace: n, address: 'h:1', api_key: {{file: tgkSECRET{}}}}}\n",
        "A".repeat(300)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notpem.txt"), "hello").unwrap();
    // A certificate with a bundle after it, too large for the environment variable that hands it
    // to the CLI (a large CA bundle as `server_ca` is fine: it goes in a file).
    let bundle = format!("{CERT}{}", CERT.repeat(130 * 1024 / CERT.len()));
    std::fs::write(dir.path().join("bundle.pem"), &bundle).unwrap();
    std::fs::write(dir.path().join("key.pem"), KEY).unwrap();
    std::fs::write(dir.path().join("blank.txt"), " \n").unwrap();
    std::fs::write(dir.path().join("big-key.txt"), "k".repeat(200 * 1024)).unwrap();
    for (name, key) in [
        ("nbsp.txt", "tgk-SECRET\u{a0}-1"),
        ("zwsp.txt", "tgk-\u{200b}SECRET"),
        ("quote.txt", "\u{201c}tgk-SECRET\u{201d}"),
        ("umlaut.txt", "tgk-SECRET-\u{fc}"),
        ("escaped.txt", "tgk-SECRET<1>"),
        ("short.txt", "SECRET"),
    ] {
        std::fs::write(dir.path().join(name), key).unwrap();
    }
    std::fs::write(dir.path().join("cert.pem"), CERT).unwrap();
    std::fs::write(dir.path().join("latin1-key.txt"), b"tgk-SECRET-\xfc-1").unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("key.fifo"))
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::write(
        dir.path().join("encrypted.key"),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("csr.pem"),
        "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("binary.der"),
        [0x30u8, 0x82, 0xff, 0xfe, 0x00],
    )
    .unwrap();
    std::fs::write(dir.path().join("good-key.txt"), "tgk-good\n").unwrap();
    std::fs::write(
        dir.path().join("two-lines.txt"),
        "tgk-SECRET-a\ntgk-SECRET-b\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("ca-and-key.pem"), format!("{KEY}{CERT}")).unwrap();
    let big_ca = "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', server_ca: {file: bundle.pem}}\n";
    assert!(
        Config::from_yaml(big_ca, "t.yaml", dir.path(), &|_: &str| None).is_ok(),
        "a large CA bundle loads"
    );
    let env = |_: &str| None;
    for (yaml, want) in [
        // Said in the file's terms, not serde's (QA).
        (
            "version: 1\n---\nversion: 1\n",
            "t.yaml:2:1: the file holds more than one YAML document (a `---` line between two): give one",
        ),
        (
            "null\n",
            "t.yaml:1:1: invalid type: null (nothing), expected a mapping (`key: value` lines)",
        ),
        (
            "version: 1\nintegrations: [5]\n",
            "integrations[0]: invalid type: integer `5`, expected a mapping (`key: value` lines)",
        ),
        // A file's path where one belongs, not a directory's (QA: every run failed later).
        (
            "version: 1\naudit: {path: ''}\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\n",
            "audit.path: `` is not a file's path (empty, or a directory): give the path of a file",
        ),
        (
            "version: 1\naudit: {path: logs}\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\n",
            "audit.path: `logs` is not a file's path (empty, or a directory)",
        ),
        (
            "version: 1\naudit: {path: new/}\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\n",
            "audit.path: `new/` is not a file's path (empty, or a directory)",
        ),
        // A named pipe is not waited on; an API key file that is not text is not taken for DER.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', api_key: {file: key.fifo}}\n",
            "key.fifo` is a named pipe or socket, not a file (reading it would wait for a writer)",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', api_key: {file: latin1-key.txt}}\n",
            "latin1-key.txt` is not text (an API key is one line of text)",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: '', api_key: {file: key.pem}}\n",
            "`account_id` is empty: give the account id the Cloud console shows",
        ),
        (
            "version: 1\nintegrations: []\n",
            "no integration is configured",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x}\n",
            "integration `a`: cloud-api-key needs `api_key`",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {env: NOPE}}\n",
            "environment variable `NOPE` is not set",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, api_key: {env: NOPE}}\n",
            "need `account_id`",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-mtls, namespace: n, account_id: x}\n",
            "cloud-mtls needs `client_cert` and `client_key`",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', client_cert: {file: notpem.txt}, client_key: {file: notpem.txt}}\n",
            "client_cert: not PEM",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', server_ca: {file: missing.pem}}\n",
            "server_ca: cannot read",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', client_cert: {file: bundle.pem}, client_key: {file: key.pem}}\n",
            "bytes, more than the 122880 tgate can hand the CLI",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: nohostport}\n",
            "is not host:port",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', api_key: {env: X}}\n",
            "api_key: environment variable `X` is not set",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\ndefault_integration: b\n",
            "no integration is named `b`",
        ),
        (
            "version: 1\nintegratoins: []\n",
            "unknown field `integratoins`",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: ssh, namespace: n}\n",
            "unknown variant `ssh`",
        ),
        // A secret written inline is refused without being quoted (checked below).
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: tgk-SECRET-1234567890}\n",
            "api_key: give `{file: PATH}` or `{env: NAME}`; a value written inline is refused, and not shown",
        ),
        (
            "version: 1\nintegrations:\n  - name: a\n    auth: direct\n    namespace: n\n    address: 'h:1'\n    client_cert: {file: key.pem}\n    client_key: |\n      -----BEGIN PRIVATE KEY-----\n      SECRETKEYDATA\n      -----END PRIVATE KEY-----\n",
            "client_key: give `{file: PATH}` or `{env: NAME}`; a value written inline is refused",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {tgk-SECRET: 1}}\n",
            "a source takes only `file` or `env` (the other key is not shown)",
        ),
        // Empty keys, and keys with a line break inside.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {file: blank.txt}}\n",
            "api_key: `",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {file: two-lines.txt}}\n",
            "api_key: the key holds a space, line break, control, invisible or non-ASCII character (it is not shown)",
        ),
        // Characters JSON escapes (the key would escape being scrubbed from output), and a key
        // too short to scrub from output without cutting words apart.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {file: escaped.txt}}\n",
            "api_key: the key holds one of \" \\ < > & (it is not shown)",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {file: short.txt}}\n",
            "api_key: the key is shorter than 8 characters (it is not shown)",
        ),
        // A non-breaking space, a zero-width space, a smart quote, a letter past ASCII.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {file: nbsp.txt}}\n",
            "api_key: the key holds a space, line break, control, invisible or non-ASCII character (it is not shown)",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {file: zwsp.txt}}\n",
            "api_key: the key holds a space, line break, control, invisible or non-ASCII character (it is not shown)",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {file: quote.txt}}\n",
            "api_key: the key holds a space, line break, control, invisible or non-ASCII character (it is not shown)",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {file: umlaut.txt}}\n",
            "api_key: the key holds a space, line break, control, invisible or non-ASCII character (it is not shown)",
        ),
        // Cloud API keys trust the system's roots: a CA or server name there would be ignored.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {file: two-lines.txt}, server_ca: {file: key.pem}}\n",
            "cloud-api-key takes no `server_ca` or `server_name`",
        ),
        // Nothing written where a source's text belongs is quoted either.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: 123456789012345678901234}\n",
            "api_key: give `{file: PATH}` or `{env: NAME}`; a value written inline is refused",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {env: tgk-SECRET-99}}\n",
            "`env` is not an environment variable name (letters, digits, `_`; not shown)",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {env: A, env: B}}\n",
            "api_key: `env` is given twice",
        ),
        // Cloud names become labels of the address.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: Payments, account_id: x, api_key: {file: key.pem}}\n",
            "`namespace` `Payments` cannot be part of the Cloud address",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: 'Pay_Ments!', account_id: x, api_key: {file: key.pem}}\n",
            "`namespace` `Pay_Ments!` cannot be part of the Cloud address",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-mtls, namespace: payments.other, account_id: a1b2c, client_cert: {file: cert.pem}, client_key: {file: key.pem}}\n",
            "`namespace` `payments.other` cannot be part of the Cloud address",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: payments, account_id: 'A1B2C/evil', api_key: {file: key.pem}}\n",
            "`account_id` `A1B2C/evil` cannot be part of the Cloud address",
        ),
        // Direct addresses are host:port, as the CLI dials them.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'https://h:7233'}\n",
            "address `https://h:7233`: give host:port without a scheme",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: '::1:7233'}\n",
            "address `::1:7233` is not host:port",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'user@h:7233'}\n",
            "address `user@h:7233` is not host:port",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:0'}\n",
            "address `h:0` is not host:port",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: ' h:7233'}\n",
            "address ` h:7233` is not host:port",
        ),
        // Numbers the system resolver reads as an IPv4 address and the CLI does not (QA: the
        // native executor dialled 127.0.0.1 where the CLI could not resolve the host).
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: '0177.0.0.1:7233'}\n",
            "address `0177.0.0.1:7233`: `0177.0.0.1` is neither a host name nor an IPv4 address in dotted decimal",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: '2130706433:7233'}\n",
            "`2130706433` is neither a host name nor an IPv4 address",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: '0x7f.1:7233'}\n",
            "`0x7f.1` is neither a host name nor an IPv4 address",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: '10.0.0.05:7233'}\n",
            "`10.0.0.05` is neither a host name nor an IPv4 address",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: '127.1:7233'}\n",
            "`127.1` is neither a host name nor an IPv4 address",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: '256.0.0.1:7233'}\n",
            "`256.0.0.1` is neither a host name nor an IPv4 address",
        ),
        // PEM blocks of the right kind.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', client_cert: {file: cert.pem}, client_key: {file: cert.pem}}\n",
            "client_key: not a PEM private key",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', client_cert: {file: cert.pem}, client_key: {file: encrypted.key}}\n",
            "client_key: the key is encrypted; give it unencrypted",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', client_cert: {file: csr.pem}, client_key: {file: key.pem}}\n",
            "client_cert: not PEM (no `-----BEGIN CERTIFICATE-----` block)",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', server_ca: {file: binary.der}}\n",
            "binary.der` is not text (DER? give the PEM form",
        ),
        // Names shown to people, namespaces as sent, limits and the binary.
        (
            "version: 1\nintegrations:\n  - {name: \"a\\u0007b\", auth: direct, namespace: n, address: 'h:1'}\n",
            "integration `a\\u{7}b`: the name contains a control character (it is shown to approvers and auditors)",
        ),
        // Or names that look the same as another (QA: a zero-width space, padding).
        (
            "version: 1\nintegrations:\n  - {name: prod, auth: direct, namespace: n, address: 'h:1'}\n  - {name: \"prod\\u200b\", auth: direct, namespace: m, address: 'h:2'}\n",
            "integration `prod\\u{200b}`: the name contains an invisible format character (it is shown to approvers and auditors): `prod\\u{200b}`",
        ),
        (
            "version: 1\nintegrations:\n  - {name: ' prod ', auth: direct, namespace: n, address: 'h:1'}\n",
            "integration ` prod `: the name ` prod ` has spaces around it",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\napprovers: [{id: ' dana'}]\n",
            "approvers[0].id: the id ` dana` has spaces around it",
        ),
        // Approvers' groups are recorded too, and joined with `;` in the CSV export.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\napprovers: [{id: dana, groups: ['sre;admins']}]\n",
            "approvers[0].groups[0]: the group `sre;admins` holds `;`, which the audit log's CSV export uses to join groups",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\napprovers: [{id: dana, groups: [\"sre\\u200b\"]}]\n",
            "approvers[0].groups[0]: the group contains an invisible format character",
        ),
        // A namespace the CLI could not send (QA), a server name no certificate is issued to.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: ñame, address: 'h:1'}\n",
            "integration `a`: the namespace `ñame` holds `ñ`, which is not ASCII",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', server_name: ''}\n",
            "integration `a`: server_name: `` is not a host name or IP address",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', server_name: 'foo bar'}\n",
            "integration `a`: server_name: `foo bar` is not a host name or IP address",
        ),
        (
            "version: 1\nintegrations:\n  - {name: prod, auth: direct, namespace: n, address: 'h:1'}\n  - {name: prod, auth: direct, namespace: m, address: 'h:2'}\n",
            "integration `prod`: duplicate name",
        ),
        (
            "version: 1\nintegrations:\n  - {name: Prod, auth: direct, namespace: n, address: 'h:1'}\n  - {name: prod, auth: direct, namespace: m, address: 'h:2'}\n",
            "integration `prod`: differs from `Prod` only in case",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: ' default ', address: 'h:1'}\n",
            "integration `a`: the namespace ` default ` has spaces around it",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: \"pay\\u200bments\", address: 'h:1'}\n",
            "integration `a`: the namespace contains an invisible format character: `pay\\u{200b}ments`",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: 'pay*', address: 'h:1'}\n",
            "integration `a`: the namespace `pay*` holds a glob character",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: '', address: 'h:1'}\n",
            "integration `a`: the namespace is empty",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\nlimits: {max_output_bytes: 0}\n",
            "limits.max_output_bytes: must be at least 1",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\ntemporal: no-such-temporal\n",
            "temporal: `",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\ntemporal: cert.pem\n",
            "cert.pem` is not an executable file",
        ),
        // A CA file is written to disk for the CLI: no key may ride along.
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', server_ca: {file: ca-and-key.pem}}\n",
            "server_ca: holds a private key; give the CA certificate alone",
        ),
        // A key pasted where a source's name belongs is not quoted when nothing answers to it
        // (QA: `cannot read \`<key>\``).
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', api_key: {file: tgkSECRET0123456789abcdef0123456789}}\n",
            "api_key: cannot read the file named (its name, long and with no file extension, is not shown",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', api_key: {file: eyJSECRETabc.eyJzdWIiOiJ0Z2F0ZSJ9.c2lnbmF0dXJl}}\n",
            "api_key: cannot read the file named (its name, long and with no file extension, is not shown",
        ),
        // A base64 key holds `/`, and one too long for a file name is not "not found" (review).
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', api_key: {file: 'tgkSECRET0123/456789abcdefghijklmnopqrstuvwx+yz0123456789ABCD'}}\n",
            "api_key: cannot read the file named (its name, long and with no file extension, is not shown",
        ),
        (
            &long_key_name,
            "api_key: cannot read the file named (its name, long and with no file extension, is not shown",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', api_key: {env: tgkSECRET0123456789abcdef0123456789}}\n",
            "api_key: no environment variable by the name given (its name, long and with no file extension, is not shown",
        ),
        // No `~` is expanded (QA: `audit.path: ~/x` made a directory named `~`).
        (
            "version: 1\naudit: {path: ~/audit.jsonl}\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\n",
            "audit.path: `~/audit.jsonl`: tgate expands no `~` (no shell runs)",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', api_key: {file: ~/key}}\n",
            "api_key: `~/key`: tgate expands no `~`",
        ),
        // Fields the method takes no use of are refused, as cloud-api-key's were (QA).
        (
            "version: 1\nintegrations:\n  - {name: a, auth: cloud-mtls, namespace: n, account_id: x, client_cert: {file: cert.pem}, client_key: {file: key.pem}, server_name: evil.example}\n",
            "cloud-mtls takes no `server_ca` or `server_name`",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', account_id: x}\n",
            "direct takes no `account_id`",
        ),
        // A source with no end is not read forever, and a key too long for the CLI's
        // environment is refused at load (QA: both were taken).
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', api_key: {file: /dev/zero}}\n",
            "api_key: cannot read `/dev/zero`: larger than 8388608 bytes",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', api_key: {file: big-key.txt}}\n",
            "api_key: the key is longer than 122880 characters (it is not shown)",
        ),
        // A key left with no value (its value commented out) is refused, not read as absent:
        // a `server_ca:` so left made a TLS integration plain TCP (QA).
        (
            "version: 1\nintegrations:\n  - name: a\n    auth: direct\n    namespace: n\n    address: 'h:1'\n    server_ca:\n    # {file: ca.pem}\n",
            "t.yaml:7:5: integrations[0].server_ca: has no value: write one, or remove the key",
        ),
        (
            "version: 1\npolicies:\n  # - strict.yaml\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\n",
            "policies: has no value",
        ),
        (
            "version: 1\naudit: {path: ~}\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1'}\n",
            "audit.path: has no value",
        ),
        (
            "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: ~, address: 'h:1'}\n",
            "integrations[0].namespace: has no value",
        ),
    ] {
        let e = Config::from_yaml(yaml, "t.yaml", dir.path(), &env)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{yaml}\n=> {e}");
        assert!(e.starts_with("t.yaml"), "{e}");
        // Where, said once: `t.yaml:L:C:` and not serde_yaml's ` at line L column C` again.
        assert!(!e.contains(" at line "), "{e}");
        assert!(!e.contains("SECRET"), "a secret quoted: {e}");
    }
    // A PEM check names where the text was read from, as other problems with it do (QA).
    let e = Config::from_yaml(
        "version: 1\nintegrations:\n  - {name: a, auth: direct, namespace: n, address: 'h:1', client_cert: {file: cert.pem}, client_key: {file: cert.pem}}\n",
        "t.yaml",
        dir.path(),
        &env,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("client_key: not a PEM private key") && e.ends_with("/cert.pem`)"),
        "{e}"
    );
    let blank = Config::from_yaml(
        "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {file: blank.txt}}\n",
        "t.yaml",
        dir.path(),
        &env,
    )
    .unwrap_err()
    .to_string();
    assert!(blank.ends_with("blank.txt` is empty"), "{blank}");
    let set_but_empty = Config::from_yaml(
        "version: 1\nintegrations:\n  - {name: a, auth: cloud-api-key, namespace: n, account_id: x, api_key: {env: KEY}}\n",
        "t.yaml",
        dir.path(),
        &|_: &str| Some(" \n".to_owned()),
    )
    .unwrap_err()
    .to_string();
    assert!(
        set_but_empty.ends_with("api_key: environment variable `KEY` is empty"),
        "{set_but_empty}"
    );
    // The namespace may also be given as the Namespace ID; both give the same integration.
    for ns in ["payments", "payments.a1b2c"] {
        let c = Config::from_yaml(
            &format!("version: 1\nintegrations:\n  - {{name: a, auth: cloud-api-key, namespace: {ns}, account_id: a1b2c, api_key: {{file: good-key.txt}}}}\n"),
            "t.yaml",
            dir.path(),
            &env,
        )
        .unwrap();
        let i = c.integration(None).unwrap();
        assert_eq!(
            (i.namespace.as_str(), i.address.as_str()),
            ("payments.a1b2c", "payments.a1b2c.tmprl.cloud:7233")
        );
    }
    for address in [
        "[::1]:7233",
        "10.0.0.5:7233",
        "0.0.0.0:7233",
        "temporal_internal.corp:7233",
        "10-0-0-5.nip.io:7233",
        "7233.example:7233",
        "0xdead.beef.example:7233",
        "localhost:7233",
    ] {
        let yaml = format!(
            "version: 1\nintegrations:\n  - {{name: a, auth: direct, namespace: n, address: '{address}'}}\n"
        );
        assert!(
            Config::from_yaml(&yaml, "t.yaml", dir.path(), &env).is_ok(),
            "{address}"
        );
    }
}

/// A file the command makes the CLI read must be the one the policy judged: an absolute path of
/// plain names that resolves through no symbolic link (a link in an allowed directory could point
/// at a credential). Anything else is refused before the CLI starts.
#[test]
fn file_flags_must_name_the_file_itself() {
    let dir = tempfile::tempdir().unwrap();
    let fake = recorder(dir.path(), "");
    let cfg = config(
        dir.path(),
        "version: 1\nintegrations:\n  - {name: dc, auth: direct, address: 'localhost:7233', namespace: default}\n",
    );
    let inputs = dir.path().canonicalize().unwrap().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::write(inputs.join("in.json"), "{}").unwrap();
    std::os::unix::fs::symlink(dir.path().join("key.pem"), inputs.join("link.json")).unwrap();
    let run = |path: &str| {
        let line = format!("temporal workflow start --type P -t q -w a --input-file {path}");
        run_cli(
            &fake,
            &cmd(&line),
            cfg.integration(None).unwrap(),
            "bot",
            &Limits::default(),
        )
    };
    let real = inputs.join("in.json");
    let ok = run(real.to_str().unwrap()).expect("the file itself runs");
    assert_eq!(ok.exit_code, 0);
    let record = std::fs::read_to_string(dir.path().join("record")).unwrap();
    assert!(
        record.contains(&format!("[--input-file={}]", real.display())),
        "{record}"
    );
    std::fs::remove_file(dir.path().join("record")).unwrap();
    for (path, why) in [
        (
            inputs.join("link.json").display().to_string(),
            "resolves through a symbolic link",
        ),
        (
            format!("{}/../key.pem", inputs.display()),
            "not an absolute path of plain names",
        ),
        ("in.json".to_owned(), "not an absolute path of plain names"),
        (
            inputs.join("missing.json").display().to_string(),
            "No such file",
        ),
    ] {
        let err = run(&path).expect_err(&path).to_string();
        assert!(err.contains(why), "{path}: {err}");
        assert!(!err.contains("SECRETKEYMATERIAL"));
    }
    assert!(
        !dir.path().join("record").exists(),
        "the CLI ran for a refused path"
    );
}
