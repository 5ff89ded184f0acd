//! The audit log through the real `tgate` binary: tampering is detected with its kind and sequence
//! number, a writer killed with SIGKILL loses no acknowledged record, two processes of eight
//! threads keep one chain, an unwritable log stops `tgate run` before anything executes, and what
//! `tgate run` records (decision, result, output hash, redaction).

mod common;

use common::{ended, terminate, text, tgate, tgate_on_full_disk};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `tgate audit stress PATH --threads T --records N`.
fn stress(path: &Path, threads: usize, records: usize) {
    let out = tgate(&[
        "audit",
        "stress",
        p(path),
        "--threads",
        &threads.to_string(),
        "--records",
        &records.to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `tgate audit verify PATH -o json`: exit code and report.
fn verify(path: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["audit", "verify", p(path), "-o", "json"];
    args.extend(extra);
    let out = tgate(&args);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("verify output: {} {}", text(&out.stdout), text(&out.stderr)));
    (out.status.code().unwrap(), v)
}

/// Kind and seq of the damage `verify` reports (exit 1), or panics when intact.
fn damage(path: &Path) -> (String, u64) {
    let (code, v) = verify(path, &[]);
    assert_eq!(code, 1, "{v}");
    let d = &v["report"]["damage"];
    (
        d["kind"].as_str().unwrap().to_owned(),
        d["seq"].as_u64().unwrap(),
    )
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(path, s).unwrap();
}

/// The log's result record (of its one run): fails saying `missing` if there is none.
fn result_record(path: &Path, missing: &str) -> serde_json::Value {
    all_records(path)
        .into_iter()
        .find(|r| r["kind"] == "result")
        .expect(missing)
}

fn all_records(path: &Path) -> Vec<serde_json::Value> {
    let out = tgate(&["audit", "export", p(path)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn tampering_is_detected_with_its_kind_and_seq() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    stress(&path, 1, 12);
    let (code, v) = verify(&path, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["report"]["records"], 12);
    let original: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();

    // Edit a field (seq 4's caller).
    let mut l = original.clone();
    l[3] = l[3].replace("\"caller\":\"stress-0\"", "\"caller\":\"someone-else\"");
    assert_ne!(l[3], original[3]);
    write_lines(&path, &l);
    assert_eq!(damage(&path), ("edited".to_owned(), 4));

    // Delete a line (seq 6).
    let mut l = original.clone();
    l.remove(5);
    write_lines(&path, &l);
    assert_eq!(damage(&path), ("deleted".to_owned(), 6));

    // Swap two lines (seq 3 and 4).
    let mut l = original.clone();
    l.swap(2, 3);
    write_lines(&path, &l);
    assert_eq!(damage(&path), ("reordered".to_owned(), 3));

    // Insert a forged line before seq 5: a copy of it that clears someone.
    let mut l = original.clone();
    let forged = l[4].replace("\"decision\":\"allow\"", "\"decision\":\"deny\"");
    assert_ne!(forged, l[4]);
    l.insert(4, forged);
    write_lines(&path, &l);
    assert_eq!(damage(&path), ("inserted".to_owned(), 5));

    // Truncate mid-line: a torn tail after seq 11, which --repair cuts off.
    let mut s = original[..11].join("\n");
    s.push('\n');
    s.push_str(&original[11][..original[11].len() / 2]);
    std::fs::write(&path, s).unwrap();
    assert_eq!(damage(&path), ("torn-tail".to_owned(), 12));
    let out = tgate(&["audit", "verify", p(&path)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).starts_with("damaged: torn-tail at seq 12"),
        "{}",
        text(&out.stdout)
    );
    let (code, v) = verify(&path, &["--repair"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["report"]["records"], 11);
    assert!(v["repaired"]["removed_bytes"].as_u64().unwrap() > 0);

    // Any other damage is not repaired.
    write_lines(&path, &{
        let mut l = original.clone();
        l.remove(2);
        l
    });
    assert_eq!(verify(&path, &["--repair"]).0, 1);
}

#[test]
fn damage_in_a_rotated_file_is_found_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let out = tgate(&[
        "audit",
        "stress",
        p(&path),
        "--threads",
        "2",
        "--records",
        "100",
        "--max-file-bytes",
        "20000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (code, v) = verify(&path, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["report"]["records"], 200);
    let files = v["report"]["files"].as_array().unwrap().clone();
    assert!(files.len() >= 5, "{files:?}");
    // Export reads the rotated files, in order.
    let seqs: Vec<u64> = all_records(&path)
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    // Edit the first record of the second file.
    let second = PathBuf::from(files[1].as_str().unwrap());
    let content = std::fs::read_to_string(&second).unwrap();
    let first_seq = serde_json::from_str::<serde_json::Value>(content.lines().next().unwrap())
        .unwrap()["seq"]
        .as_u64()
        .unwrap();
    std::fs::write(&second, content.replacen("stress-", "strass-", 1)).unwrap();
    let (code, v) = verify(&path, &[]);
    assert_eq!(code, 1);
    assert_eq!(v["report"]["damage"]["kind"], "edited");
    assert_eq!(v["report"]["damage"]["seq"], first_seq);
    assert_eq!(v["report"]["damage"]["file"], files[1]);
    assert_eq!(v["report"]["damage"]["line"], 1);
}

#[test]
fn a_writer_killed_with_sigkill_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut acked: Vec<u64> = Vec::new();
    for round in 0..8 {
        let mut child = Command::new(common::tgate_bin())
            .args(["audit", "stress", p(&path), "--threads", "4"])
            .args([
                "--records",
                "1000000",
                "--acks",
                "--max-file-bytes",
                "300000",
            ])
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Kill it at a different point each round, while it writes.
        let want = 200 + round * 150;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut got = 0;
        let deadline = Instant::now() + Duration::from_secs(120);
        while got < want && Instant::now() < deadline {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if let Some(seq) = line.strip_suffix('\n') {
                acked.push(seq.parse().unwrap());
                got += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL
        // Acknowledgements already in the pipe count too: each was printed after its append.
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
        acked.extend(rest.lines().filter_map(|l| l.parse::<u64>().ok()));
        child.wait().unwrap();
        assert!(got >= want, "round {round}: only {got} acknowledgements");
        if round == 3 {
            // A crash mid-write (what a power cut can leave): the next writer cuts it off.
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"{\"v\":1,\"seq\":99999,\"time\":\"2026")
                .unwrap();
        }
    }
    // A torn tail after the last crash: verify names it, --repair cuts it.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"{\"v\":1,\"seq\":").unwrap();
    drop(f);
    assert_eq!(damage(&path).0, "torn-tail");
    let (code, v) = verify(&path, &["--repair"]);
    assert_eq!(code, 0, "{v}");
    let records = all_records(&path);
    let seqs: std::collections::BTreeSet<u64> =
        records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs.len(), records.len(), "a sequence number repeats");
    assert_eq!(
        v["report"]["records"].as_u64().unwrap(),
        records.len() as u64
    );
    let missing: Vec<&u64> = acked.iter().filter(|s| !seqs.contains(s)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    assert!(acked.len() >= 8 * 200, "{}", acked.len());
    assert!(v["report"]["files"].as_array().unwrap().len() > 1);
}

#[test]
fn two_processes_of_eight_threads_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let spawn = || {
        Command::new(common::tgate_bin())
            .args(["audit", "stress", p(&path), "--threads", "8"])
            .args(["--records", "10000", "--max-file-bytes", "16000000"])
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["records"], 80_000);
    }
    let (code, v) = verify(&path, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["report"]["records"], 160_000);
    assert_eq!(v["report"]["head"][0], 160_000);
    assert!(v["report"]["files"].as_array().unwrap().len() > 2, "{v}");
}

/// A stand-in `temporal` that leaves a marker when it runs, and copies the audit log as it was at
/// that moment.
fn marker_binary(dir: &Path, audit: &Path) -> (PathBuf, PathBuf) {
    let marker = dir.join("ran");
    let bin = stand_in(
        dir,
        &format!(
            "/bin/cat {} > {} 2>/dev/null\n/usr/bin/touch {}\necho listed\n",
            audit.display(),
            dir.join("audit-at-run").display(),
            marker.display()
        ),
    );
    (bin, marker)
}

/// A stand-in `temporal` at `dir/fake-temporal` running the shell `body`.
fn stand_in(dir: &Path, body: &str) -> PathBuf {
    let bin = dir.join("fake-temporal");
    std::fs::write(&bin, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// A stand-in that writes its pid to `pid_file` (whole, by a rename), then sleeps a minute.
fn sleeping_stand_in(dir: &Path, pid_file: &Path) -> PathBuf {
    stand_in(
        dir,
        &format!(
            "echo $$ > {p}.tmp && /bin/mv {p}.tmp {p}\nexec /bin/sleep 60\n",
            p = pid_file.display()
        ),
    )
}

/// Runs `tgate run --config cfg LINE` with `env` alone and both its streams piped and left
/// unread until it has ended; once the stand-in has written `pid_file`, sends one SIGTERM, and
/// checks that it ended tgate (within 10 s, else fails saying `stuck`) by that signal, the
/// command gone with it. tgate's output.
fn stopped_while_unread(
    cfg: &Path,
    line: &str,
    env: &[(&str, &str)],
    pid_file: &Path,
    stuck: &str,
) -> std::process::Output {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(common::tgate_bin())
        .args(["run", "--config", p(cfg), line])
        .env_clear()
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(pid_file, "the command never started");
    let command_pid = pid_in(pid_file);
    let status = terminate(&mut child, stuck);
    assert_eq!(
        status.signal(),
        Some(nix::sys::signal::Signal::SIGTERM as i32),
        "{status:?}"
    );
    assert_eq!(
        nix::sys::signal::kill(command_pid, None),
        Err(nix::errno::Errno::ESRCH),
        "the command outlived tgate"
    );
    child.wait_with_output().unwrap()
}

/// `tgate run --config cfg "temporal workflow list"`, started with its output piped.
fn spawn_list(cfg: &Path) -> std::process::Child {
    Command::new(common::tgate_bin())
        .args(["run", "--config", p(cfg), "temporal workflow list"])
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `path` exists: at most 30 s, then fails saying `what` did not happen.
fn wait_for(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid written in `path`.
fn pid_in(path: &Path) -> nix::unistd::Pid {
    nix::unistd::Pid::from_raw(
        std::fs::read_to_string(path)
            .unwrap()
            .trim()
            .parse()
            .unwrap(),
    )
}

fn config(dir: &Path, bin: &Path, audit: &Path) -> PathBuf {
    let cfg = dir.join("tgate.yaml");
    std::fs::write(
        &cfg,
        format!(
            "version: 1\ntemporal: {}\nbackend: cli\naudit: {{path: {}}}\nintegrations:\n  - {{name: local, auth: direct, address: '127.0.0.1:1', namespace: default}}\n",
            bin.display(),
            audit.display()
        ),
    )
    .unwrap();
    cfg
}

/// The CLI's output that cannot be passed on (standard output a full disk) fails the run with
/// exit 1 and says so, as the native executor does (QA: dropped with exit 0); a reader that has
/// gone is not an error, under either executor. The result record, written before the output is
/// passed on, keeps the command's own exit code.
#[test]
fn output_the_caller_cannot_get_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let bin = stand_in(dir.path(), "/usr/bin/seq 1 100000\n");
    let cfg = config(dir.path(), &bin, &audit);
    let run = |stdout: Stdio| {
        let mut child = std::process::Command::new(common::tgate_bin())
            .args(["run", "--config", p(&cfg), "temporal workflow list"])
            .env_clear()
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = child.wait().unwrap();
        (status.code(), common::stderr_of(&mut child))
    };
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    assert_eq!(
        run(Stdio::from(full)),
        (
            Some(1),
            "tgate: cannot write the output: No space left on device (os error 28)\n".to_owned()
        )
    );
    // A reader that has gone (`| head`) is not an error (STYLE): the command's own exit code,
    // nothing said.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    assert_eq!(run(Stdio::from(writer)), (Some(0), String::new()));
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let results: Vec<_> = records.iter().filter(|r| r["kind"] == "result").collect();
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["exit_code"], 0, "{r}");
        assert_eq!(r["output_bytes"], 588_895, "{r}");
    }
    // Read whole, the same run succeeds.
    let out = tgate(&["run", "--config", p(&cfg), "temporal workflow list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout.len(), 588_895);
}

#[test]
fn nothing_runs_when_the_decision_cannot_be_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("log/audit.jsonl");
    let (bin, marker) = marker_binary(dir.path(), &good);

    // An audit path under a regular file (unwritable even for root).
    std::fs::write(dir.path().join("plain-file"), "x").unwrap();
    let bad = dir.path().join("plain-file/audit.jsonl");
    let cfg = config(dir.path(), &bin, &bad);
    let out = tgate(&["run", "--config", p(&cfg), "temporal workflow list"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.starts_with("tgate: audit log unavailable: "), "{err}");
    assert!(err.contains("plain-file"), "{err}");
    assert!(text(&out.stdout).is_empty());
    assert!(!marker.exists(), "the command ran without an audit record");
    // `--audit` overrides the configuration, in both directions.
    let out = tgate(&[
        "run",
        "--config",
        p(&cfg),
        "--audit",
        p(&good),
        "temporal workflow list",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "listed\n");
    assert!(marker.exists());
    // The decision record was on disk before the command ran.
    let at_run = std::fs::read_to_string(dir.path().join("audit-at-run")).unwrap();
    assert_eq!(at_run.lines().count(), 1, "{at_run}");
    assert!(at_run.contains("\"kind\":\"decision\""), "{at_run}");
    std::fs::remove_file(&marker).unwrap();

    // A full disk: the file may not grow (RLIMIT_FSIZE, with SIGXFSZ ignored so writes fail with
    // EFBIG). The log already holds two records, more than the limit.
    let cfg = config(dir.path(), &bin, &good);
    let before = std::fs::read(&good).unwrap();
    assert!(before.len() > 1024);
    let out = tgate_on_full_disk(&["run", "--config", p(&cfg), "temporal workflow list"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.starts_with("tgate: audit log unavailable: "), "{err}");
    assert!(!marker.exists(), "the command ran without an audit record");
    // Nothing half-written was left behind.
    assert_eq!(std::fs::read(&good).unwrap(), before);
    assert_eq!(verify(&good, &[]).0, 0);
}

/// A log whose lock another process holds and never lets go (a tgate stopped while writing):
/// after `audit.lock_timeout`, the run fails closed, naming the lock, instead of waiting forever.
#[test]
fn a_log_locked_too_long_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("log/audit.jsonl");
    let (bin, marker) = marker_binary(dir.path(), &audit);
    let cfg = config(dir.path(), &bin, &audit);
    let text_of = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text_of.replace(
            &format!("audit: {{path: {}}}", audit.display()),
            &format!("audit: {{path: {}, lock_timeout: 1s}}", audit.display()),
        ),
    )
    .unwrap();
    assert!(
        std::fs::read_to_string(&cfg)
            .unwrap()
            .contains("lock_timeout: 1s")
    );
    std::fs::create_dir_all(audit.parent().unwrap()).unwrap();
    let lock = std::fs::File::create(dir.path().join("log/audit.jsonl.lock")).unwrap();
    lock.lock().unwrap();
    let started = std::time::Instant::now();
    let mut child = Command::new(common::tgate_bin())
        .args(["run", "--config", p(&cfg), "temporal workflow list"])
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Not `output()`: without the timeout, tgate would wait on the lock forever.
    ended(&mut child, "tgate still waiting on the lock after 10 s");
    let waited = started.elapsed();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "tgate: audit log unavailable: `{}`: still locked after 1s: is a tgate stopped or \
             stuck while writing the log? nothing was written\n",
            dir.path().join("log/audit.jsonl.lock").display()
        )
    );
    // The timeout, and not much more (the unit tests of `audit::log` pin "once").
    assert!(
        (std::time::Duration::from_secs(1)..std::time::Duration::from_millis(1900))
            .contains(&waited),
        "{waited:?}"
    );
    assert!(text(&out.stdout).is_empty());
    assert!(!marker.exists(), "the command ran without an audit record");
    assert_eq!(std::fs::read_to_string(&audit).unwrap_or_default(), "");
    // Once the lock is released, runs go on.
    lock.unlock().unwrap();
    let out = tgate(&["run", "--config", p(&cfg), "temporal workflow list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(marker.exists());
    assert_eq!(verify(&audit, &[]).0, 0);
}

/// A stop signal that arrives while the result record is being written (here: waiting for the
/// log's lock, which the test holds) is held until the record is durable; then tgate ends by it.
#[test]
fn a_stop_while_the_result_is_being_recorded_waits_for_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("log/audit.jsonl");
    let (pid_file, go) = (dir.path().join("pid"), dir.path().join("go"));
    let bin = stand_in(
        dir.path(),
        &format!(
            "echo $$ > {p}.tmp && /bin/mv {p}.tmp {p}\nwhile [ ! -e {go} ]; do /bin/sleep 0.02; done\necho listed\n",
            p = pid_file.display(),
            go = go.display()
        ),
    );
    let cfg = config(dir.path(), &bin, &audit);
    let child = spawn_list(&cfg);
    wait_for(&pid_file, "the command never started");
    // The decision is on disk (the command runs only then): take the lock for the result.
    let lock = std::fs::File::open(dir.path().join("log/audit.jsonl.lock")).unwrap();
    lock.lock().unwrap();
    std::fs::write(&go, "").unwrap();
    let command_pid = pid_in(&pid_file);
    let deadline = Instant::now() + Duration::from_secs(10);
    while nix::sys::signal::kill(command_pid, None).is_ok() {
        assert!(Instant::now() < deadline, "the command did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let out = stopped_while_locked(child, &lock, "result record", || {
        let results = all_records(&audit)
            .into_iter()
            .filter(|r| r["kind"] == "result")
            .count();
        assert_eq!(results, 0, "the record was written under the test's lock");
    });
    let result = result_record(&audit, "no result record");
    assert_eq!(result["exit_code"], 0, "{result}");
    assert_eq!(verify(&audit, &[]).0, 0);
    // Asked to stop, tgate passes on none of the command's output.
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");
}

/// Sends `child` one SIGTERM while the test holds the log's `lock`: tgate must wait for it (its
/// `what` is written under it; `while_locked` checks more meanwhile), then, the lock freed, end by
/// the signal. Returns what it printed.
fn stopped_while_locked(
    mut child: std::process::Child,
    lock: &std::fs::File,
    what: &str,
    while_locked: impl FnOnce(),
) -> std::process::Output {
    use std::os::unix::process::ExitStatusExt;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "tgate ended before its {what} was written"
    );
    while_locked();
    lock.unlock().unwrap();
    let status = ended(&mut child, "tgate did not end once the lock was free");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        status.signal(),
        Some(nix::sys::signal::Signal::SIGTERM as i32),
        "{status:?} {}",
        text(&out.stderr)
    );
    out
}

/// A CLI run asked to stop while its decision waits for the log's lock (another process holds
/// it) is watched already: the stop is held until the decision is written, and the run is then
/// recorded as stopped before its command was sent, the command never started (before, the
/// handlers were registered after the decision, and the signal ended tgate with nothing recorded
/// after its decision).
#[test]
fn a_stop_while_the_decision_waits_for_the_lock_is_recorded_as_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("log/audit.jsonl");
    let (bin, marker) = marker_binary(dir.path(), &audit);
    let cfg = config(dir.path(), &bin, &audit);
    std::fs::create_dir_all(dir.path().join("log")).unwrap();
    let lock = std::fs::File::create(dir.path().join("log/audit.jsonl.lock")).unwrap();
    lock.lock().unwrap();
    let child = spawn_list(&cfg);
    std::thread::sleep(Duration::from_millis(800));
    let out = stopped_while_locked(child, &lock, "decision", || {});
    assert_eq!(
        text(&out.stderr),
        "tgate: stopped by SIGTERM before the command was sent\n"
    );
    assert!(!marker.exists(), "the command ran");
    let records = all_records(&audit);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["decision"], "allow");
    assert_eq!(
        records[1]["error"],
        "stopped by SIGTERM before the command was sent"
    );
    assert_eq!(records[1]["exit_code"], serde_json::Value::Null);
}

#[test]
fn a_native_run_that_falls_back_starts_the_cli_only_once_the_decision_is_durable() {
    // `auto` with a translated command whose connection is refused: the native executor falls
    // back to the CLI. The decision record was only submitted (the connection is made while it
    // syncs), so the fallback must wait for it, and must not start the CLI when it fails.
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let (bin, marker) = marker_binary(dir.path(), &audit);
    let cfg = dir.path().join("auto.yaml");
    std::fs::write(
        &cfg,
        format!(
            "version: 1\ntemporal: {}\nbackend: auto\naudit: {{path: {}}}\nintegrations:\n  - {{name: local, auth: direct, address: '127.0.0.1:1', namespace: default}}\n",
            bin.display(),
            audit.display()
        ),
    )
    .unwrap();
    let line = "temporal workflow describe -w w1 -o json";
    // With room on the disk: the CLI runs after the native attempt, the decision already on disk.
    let out = tgate(&["run", "--config", p(&cfg), line]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "listed\n");
    let at_run = std::fs::read_to_string(dir.path().join("audit-at-run")).unwrap();
    assert_eq!(at_run.lines().count(), 1, "{at_run}");
    assert!(at_run.contains("\"kind\":\"decision\""), "{at_run}");
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("\"backend\":\"cli\""), "{log}");
    std::fs::remove_file(&marker).unwrap();
    // A full disk (RLIMIT_FSIZE, SIGXFSZ ignored): the decision cannot be written, and the CLI
    // is never started.
    let before = std::fs::read(&audit).unwrap();
    let out = tgate_on_full_disk(&["run", "--config", p(&cfg), line]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("tgate: audit log unavailable: ") && err.lines().count() == 1,
        "{err}"
    );
    assert!(text(&out.stdout).is_empty());
    assert!(!marker.exists(), "the CLI ran without a durable decision");
    assert_eq!(std::fs::read(&audit).unwrap(), before);
}

#[test]
fn run_records_decisions_and_results() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let (bin, _) = marker_binary(dir.path(), &audit);
    let cfg = config(dir.path(), &bin, &audit);
    let run = |caller: &str, line: &str| {
        tgate(&[
            "run",
            "--config",
            p(&cfg),
            "--caller",
            caller,
            "--group",
            "sre",
            line,
        ])
    };
    // A line that does not parse, with a secret in it: an audited deny, the secret redacted.
    let out = run(
        "agent-1",
        "temporal workflow list --api-key sk-live-SECRET; rm -rf ~",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("command separator"));
    // A policy deny.
    let out = run("agent-1", "temporal workflow terminate -w pay-1");
    assert_eq!(out.status.code(), Some(3));
    // An allowed command that runs.
    let out = run("agent-2", "temporal workflow list -w x");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = run(
        "agent-2",
        "temporal workflow list --query 'WorkflowId = \"a\"'",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "listed\n");

    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(!log.contains("SECRET"), "{log}");
    let recs = all_records(&audit);
    assert_eq!(recs.len(), 5, "{log}");
    let seq: Vec<u64> = recs.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seq, [1, 2, 3, 4, 5]);

    let parse = &recs[0];
    assert_eq!(parse["kind"], "decision");
    assert_eq!(parse["decision"], "deny");
    assert_eq!(parse["rules"][0], "tgate:parse-error");
    assert_eq!(
        parse["raw"],
        "temporal workflow list --api-key <redacted> rm -rf ~"
    );
    assert_eq!(parse["caller"], "agent-1");
    assert_eq!(parse["groups"][0], "sre");
    assert_eq!(parse["channel"], "cli");
    assert_eq!(parse["integration"], "local");
    assert_eq!(parse["command"], serde_json::Value::Null);

    let deny = &recs[1];
    assert_eq!(deny["decision"], "deny");
    assert_eq!(deny["command"], "workflow terminate");
    assert_eq!(deny["class"], "destructive");
    assert_eq!(deny["namespace"], "default");
    assert_eq!(deny["target"]["kind"], "workflow");
    assert_eq!(deny["target"]["workflow_id"], "pay-1");
    assert!(deny["reason"].as_str().unwrap().contains("no rule allows"));

    let (decision, result) = (&recs[3], &recs[4]);
    assert_eq!(decision["decision"], "allow");
    assert_eq!(decision["rules"][0], "read-only");
    assert_eq!(
        decision["raw"],
        "temporal workflow list --query 'WorkflowId = \"a\"'"
    );
    // The canonical argv, with the policy's --limit obligation applied.
    let argv: Vec<&str> = decision["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        argv,
        [
            "temporal",
            "workflow",
            "list",
            "--limit=1000",
            "--namespace=default",
            "--query=WorkflowId = \"a\""
        ]
    );
    assert_eq!(result["kind"], "result");
    assert_eq!(result["request_id"], decision["request_id"]);
    assert_ne!(recs[1]["request_id"], decision["request_id"]);
    assert_eq!(result["backend"], "cli");
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["output_bytes"], 7);
    // sha256("listed\n")
    assert_eq!(result["output_sha256"], sha256_hex(b"listed\n"));
    assert!(result["duration_ns"].as_u64().unwrap() > 0);
    assert_eq!(result["raw"], serde_json::Value::Null);
    assert_eq!(result["prev_hash"], decision["hash"]);

    // Export filters and formats through the binary.
    let count = |args: &[&str]| {
        let mut all = vec!["audit", "export", p(&audit)];
        all.extend(args);
        let out = tgate(&all);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout).lines().count()
    };
    assert_eq!(count(&["--decision", "deny"]), 3);
    assert_eq!(count(&["--caller", "agent-2"]), 3);
    assert_eq!(count(&["--command", "workflow"]), 3);
    assert_eq!(count(&["--command", "workflow list"]), 2);
    assert_eq!(count(&["--since", "1h"]), 5);
    assert_eq!(count(&["--until", "2000-01-01T00:00:00Z"]), 0);
    assert_eq!(count(&["--format", "csv"]), 6);
    assert_eq!(count(&["--format", "ocsf", "--decision", "allow"]), 2);
    let out = tgate(&["audit", "export", p(&audit), "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--since: `yesterday` is not an RFC 3339 time"));

    // Tail shows the last records readably.
    let out = tgate(&["audit", "tail", p(&audit), "-n", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert_eq!(shown.lines().count(), 2, "{shown}");
    assert!(shown.contains("allow"), "{shown}");
    assert!(shown.contains("result exit 0"), "{shown}");

    // A record of another format version is not read as one of this version, and said so, by
    // export (exit 1, the record skipped) and tail alike.
    let stored = std::fs::read_to_string(&audit).unwrap();
    let mut lines: Vec<&str> = stored.lines().collect();
    let last = lines.pop().unwrap().replacen("{\"v\":1,", "{\"v\":2,", 1);
    std::fs::write(&audit, format!("{}\n{last}\n", lines.join("\n"))).unwrap();
    let out = tgate(&["audit", "export", p(&audit)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 4);
    assert!(
        text(&out.stderr).contains(":5: unsupported format version 2 (this tgate reads 1)"),
        "{}",
        text(&out.stderr)
    );
    let out = tgate(&["audit", "tail", p(&audit), "-n", "1"]);
    assert_eq!(
        text(&out.stdout),
        "(unsupported format version 2 (this tgate reads 1))\n"
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    tgate::audit::record::sha256_hex(bytes)
}

#[test]
fn tail_follows_new_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    stress(&path, 1, 3);
    let mut child = Command::new(common::tgate_bin())
        .args(["audit", "tail", "-f", "-n", "1", p(&path)])
        .env_clear()
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("#3 "), "{line}");
    stress(&path, 1, 2);
    for want in ["#4 ", "#5 "] {
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(line.contains(want), "{line}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `tail -f` shows every record, also those in files rotated between two of its looks (QA: a
/// burst that rotated the log several times in 200 ms lost every record of the files in
/// between; here ~200 records in ~50 files of 4 KiB).
#[test]
fn tail_follows_every_record_across_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let burst = |records: usize| {
        let out = tgate(&[
            "audit",
            "stress",
            p(&path),
            "--threads",
            "4",
            "--records",
            &records.to_string(),
            "--max-file-bytes",
            "4096",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    burst(1);
    let (mut child, rx) = follow_tail(&path, 1);
    let seq = |line: &str| -> u64 {
        line.split_once('#')
            .and_then(|(_, rest)| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no seq in {line}"))
    };
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(seq(&first), 4, "{first}");
    burst(50);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut shown = vec![4];
    while shown.last() != Some(&204) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            panic!("tail stopped showing records after {shown:?}");
        };
        shown.push(seq(&line));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(shown, (4..=204).collect::<Vec<u64>>());
    assert!(
        crate::count_files(dir.path()) > 20,
        "the burst rotated the log: {} files",
        crate::count_files(dir.path())
    );
}

/// `tail -f` shows each line once and whole (re-check QA): damaged last lines shown by `-n` are
/// not shown again when following begins, and a torn line that a writer cuts before appending
/// is not glued to the record written in its place.
#[test]
fn tail_follows_from_where_it_read_and_past_a_cut_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    stress(&path, 1, 3);
    let append = |text: &str| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    };
    append("garbage one\ngarbage two\n");
    let (mut child, rx) = follow_tail(&path, 2);
    let next = || rx.recv_timeout(Duration::from_secs(10)).unwrap();
    for _ in 0..2 {
        assert!(next().contains("not an audit record"));
    }
    std::thread::sleep(Duration::from_millis(500));
    append("garbage three\n");
    assert!(next().contains("not an audit record"));
    // Nothing else: the first two are not shown again.
    assert!(rx.recv_timeout(Duration::from_millis(700)).is_err());
    child.kill().unwrap();
    child.wait().unwrap();

    // A torn line, then a writer: it cuts the line and appends seq 4 in its place.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    stress(&path, 1, 3);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"{\"v\":1,\"seq\":4,\"time\":\"2025-01-01T00:00:00.000000000Z\",\"kind")
        .unwrap();
    drop(f);
    let (mut child, rx) = follow_tail(&path, 1);
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(line.contains("#3 "), "{line}");
    std::thread::sleep(Duration::from_millis(500));
    stress(&path, 1, 1);
    let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        line.contains("#4 ") && !line.contains("2025-01-01"),
        "{line}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `tgate audit tail -f -n N PATH`, each line it prints sent to the receiver as it comes.
fn follow_tail(path: &Path, n: usize) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(common::tgate_bin())
        .args(["audit", "tail", "-f", "-n", &n.to_string(), p(path)])
        .env_clear()
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn audit_configuration_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    for (yaml, want) in [
        (
            "audit: {max_file_bytes: 100}\n",
            "audit.max_file_bytes: must be at least 4096",
        ),
        ("audit: {pth: x}\n", "unknown field `pth`"),
        (
            "audit: {lock_timeout: 0s}\n",
            "audit.lock_timeout: must be positive",
        ),
        (
            "audit: {lock_timeout: soon}\n",
            "audit.lock_timeout: time: invalid duration \"soon\"",
        ),
    ] {
        let cfg = dir.path().join("c.yaml");
        std::fs::write(
            &cfg,
            format!(
                "version: 1\nintegrations:\n  - {{name: a, auth: direct, namespace: n, address: 'h:1'}}\n{yaml}"
            ),
        )
        .unwrap();
        let out = tgate(&["run", "--config", p(&cfg), "temporal workflow list"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(want), "{}", text(&out.stderr));
    }
    // Without any configured path and no state directory (empty environment): fail closed.
    let out = tgate(&["run", "temporal workflow list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("audit log unavailable: no audit path"),
        "{}",
        text(&out.stderr)
    );
    // With HOME, the state directory.
    let out = Command::new(common::tgate_bin())
        .args(["run", "temporal workflow terminate -w x"])
        .env_clear()
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(dir.path().join(".local/state/tgate/audit.jsonl").exists());
}

/// tgate asked to stop while the CLI runs (SIGTERM, as a supervisor sends it; SIGINT, as Ctrl-C
/// does) kills the command's process group instead of leaving it running unwatched, records the
/// run's result, and then ends by the signal. So for the signals signal-hook cannot re-raise
/// (SIGPWR, the real-time ones), but tgate then exits with 128 + the signal's number, as a shell
/// reports a process the signal ended.
#[test]
fn a_stopped_run_kills_the_command_and_records_its_end() {
    use nix::sys::signal::Signal;
    use std::os::unix::process::ExitStatusExt;
    let rtmin3 = nix::libc::SIGRTMIN() + 3;
    for (number, signal, re_raised) in [
        (Signal::SIGTERM as i32, "SIGTERM", true),
        (Signal::SIGINT as i32, "SIGINT", true),
        (Signal::SIGQUIT as i32, "SIGQUIT", true),
        (Signal::SIGUSR1 as i32, "SIGUSR1", true),
        (Signal::SIGABRT as i32, "SIGABRT", true),
        (Signal::SIGPWR as i32, "SIGPWR", false),
        (rtmin3, "SIGRTMIN+3", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let pid_file = dir.path().join("child.pid");
        let bin = sleeping_stand_in(dir.path(), &pid_file);
        let cfg = config(dir.path(), &bin, &audit);
        let child = std::process::Command::new(common::tgate_bin())
            .args(["run", "--config", p(&cfg), "temporal workflow list"])
            // SIGQUIT's default dumps core, where the core limit allows: in `dir`, if anywhere.
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(&pid_file, "the command never started");
        let command_pid = pid_in(&pid_file);
        let started = std::time::Instant::now();
        let sent = Command::new("/bin/kill")
            .args([format!("-{number}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{number}");
        let out = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{signal}: tgate took {:?}",
            started.elapsed()
        );
        let ended = if re_raised {
            out.status.signal()
        } else {
            out.status.code().map(|c| c - 128)
        };
        assert_eq!(
            ended,
            Some(number),
            "{signal}: {:?} {}",
            out.status,
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(&format!(
                "tgate: stopped by {signal}; the command was killed"
            )),
            "{}",
            text(&out.stderr)
        );
        // The command is gone (reaped by tgate: not even a zombie is left to signal).
        assert_eq!(
            nix::sys::signal::kill(command_pid, None),
            Err(nix::errno::Errno::ESRCH),
            "{signal}: the command outlived tgate"
        );
        let result = result_record(&audit, "a result record");
        assert_eq!(result["exit_code"], 1, "{result}");
    }
}

/// One stop signal is enough even when nobody reads tgate's output: stopped, tgate passes on
/// none of the command's standard output and only the first 4 KiB of its standard error (300 kB
/// of each here, more than a pipe holds), records that it passed on nothing, and ends by the
/// signal, the command gone.
#[test]
fn a_stopped_run_ends_though_nobody_reads_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let pid_file = dir.path().join("child.pid");
    let bin = stand_in(
        dir.path(),
        &format!(
            "/usr/bin/head -c 300000 /dev/zero\n/usr/bin/head -c 300000 /dev/zero | /usr/bin/tr '\\0' e >&2\necho $$ > {p}.tmp && /bin/mv {p}.tmp {p}\nexec /bin/sleep 60\n",
            p = pid_file.display()
        ),
    );
    let cfg = config(dir.path(), &bin, &audit);
    let out = stopped_while_unread(
        &cfg,
        "temporal workflow list",
        &[],
        &pid_file,
        "one SIGTERM did not end tgate while its output was unread",
    );
    assert!(
        out.stdout.is_empty(),
        "{} bytes passed on",
        out.stdout.len()
    );
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}\ntgate: stopped by SIGTERM; the command's standard error was cut at 4096 bytes\n\
             tgate: stopped by SIGTERM; the command was killed\n\
             tgate: stopped by SIGTERM; the command's standard output was not passed on\n",
            "e".repeat(4096)
        )
    );
    let result = result_record(&audit, "a result record");
    assert_eq!(result["exit_code"], 1, "{result}");
    assert_eq!(result["output_bytes"], 0, "{result}");
    // The record keeps the first 4 KiB of stderr, says how much it left out, and keeps tgate's
    // closing notes, which come after the cut (QA: they were lost).
    let error = result["error"].as_str().unwrap();
    assert!(
        error.starts_with(&"e".repeat(4096))
            && error.ends_with(
                "\ntgate: stopped by SIGTERM; the command's standard error was cut at 4096 bytes\n\
                 tgate: stopped by SIGTERM; the command was killed\n\
                 tgate: stopped by SIGTERM; the command's standard output was not passed on"
            )
            && error.contains("… ("),
        "{error}"
    );
}

/// With `TGATE_LOG=debug` too, one SIGTERM ends a run though nobody reads tgate's stderr: the
/// diagnostics stay short however long the agent's line (a value is cut at 300 characters) and
/// the CLI's argv is logged before the stop signals are watched. (A 70 kB argv logged whole
/// under the watch blocked tgate on the full pipe, the signal only noted.)
#[test]
fn a_stopped_run_ends_though_nobody_reads_its_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let pid_file = dir.path().join("child.pid");
    let bin = sleeping_stand_in(dir.path(), &pid_file);
    let cfg = config(dir.path(), &bin, &audit);
    let line = format!(
        "temporal workflow list --query \"WorkflowType = '{}'\"",
        "a".repeat(70_000)
    );
    let out = stopped_while_unread(
        &cfg,
        &line,
        &[("TGATE_LOG", "debug")],
        &pid_file,
        "one SIGTERM did not end tgate while its diagnostics were unread",
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.len() < 8192,
        "{} bytes of diagnostics:\n{stderr}",
        stderr.len()
    );
    let argv = stderr
        .lines()
        .find(|l| l.contains(" DEBUG tgate::exec::cli: starting the CLI "))
        .unwrap_or_else(|| panic!("no argv logged:\n{stderr}"));
    assert!(
        argv.contains("aaaa… (") && argv.contains(" bytes more)"),
        "{argv}"
    );
    assert!(stderr.contains("the command was killed"), "{stderr}");
    let result = result_record(&audit, "a result record");
    assert_eq!(result["exit_code"], 1, "{result}");
}

/// A write the CLI executor kills on a stop may have sent its request already: tgate says so,
/// as the native executor does, rather than only that it was killed (QA: a terminate stopped
/// after it took effect read as not done). A read says only that it was killed.
#[test]
fn a_killed_write_may_have_taken_effect() {
    for (line, may) in [
        // (A batch signal: a write to one workflow would be denied first, its type unchecked.)
        (
            "temporal workflow signal --query \"WorkflowType='T'\" --name s --yes",
            true,
        ),
        ("temporal workflow list", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let pid_file = dir.path().join("child.pid");
        let bin = sleeping_stand_in(dir.path(), &pid_file);
        let policy = dir.path().join("p.yaml");
        std::fs::write(
            &policy,
            "version: 1\nnamespaces: [default]\nrules:\n  - {id: any, decision: allow, reason: r, when: {classes: [read, write]}}\n",
        )
        .unwrap();
        let cfg = config(dir.path(), &bin, &audit);
        let text_of = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(&cfg, format!("{text_of}policies: [{}]\n", policy.display())).unwrap();
        let out = stopped_while_unread(&cfg, line, &[], &pid_file, "SIGTERM did not end tgate");
        let said = text(&out.stderr);
        assert_eq!(
            said.contains(
                "tgate: stopped by SIGTERM; the command was killed, and what it sent may or may not have taken effect\n"
            ),
            may,
            "{line}: {said}"
        );
        assert!(
            said.contains("tgate: stopped by SIGTERM; the command was killed"),
            "{line}: {said}"
        );
    }
}

/// Two stop signals close together: the signal the run records is the one tgate ends by (QA: a
/// SIGHUP a few milliseconds after a SIGTERM was recorded as SIGTERM, and ended tgate as SIGHUP).
#[test]
fn the_stop_signal_recorded_is_the_one_tgate_ends_by() {
    use nix::sys::signal::{Signal, kill};
    use std::os::unix::process::ExitStatusExt;
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let pid_file = dir.path().join("child.pid");
        let bin = sleeping_stand_in(dir.path(), &pid_file);
        let cfg = config(dir.path(), &bin, &audit);
        let mut child = spawn_list(&cfg);
        wait_for(&pid_file, "the command never started");
        let tgate = nix::unistd::Pid::from_raw(child.id() as i32);
        kill(tgate, Signal::SIGTERM).unwrap();
        std::thread::sleep(Duration::from_millis(round));
        kill(tgate, Signal::SIGHUP).unwrap();
        let status = ended(&mut child, "two stop signals did not end tgate");
        let out = child.wait_with_output().unwrap();
        let by = Signal::try_from(status.signal().expect("ended by a signal")).unwrap();
        let said = text(&out.stderr);
        assert!(
            said.contains(&format!("tgate: stopped by {by}; the command was killed")),
            "round {round}: ended by {by}, said: {said}"
        );
        let result = result_record(&audit, "a result record");
        assert!(
            result["error"]
                .as_str()
                .unwrap_or_default()
                .contains(by.as_str()),
            "round {round}: ended by {by}, recorded: {result}"
        );
    }
}

/// Outside a CLI child's run, the stop signals end tgate as they always do: one arriving while
/// tgate writes output nobody reads (the child done, its result already recorded) ends it;
/// SIGHUP, which `nohup` makes tgate ignore, is still ignored while the child runs (the command
/// completes).
#[test]
fn stop_signals_act_as_usual_outside_the_run_and_stay_ignored_under_nohup() {
    use nix::sys::signal::Signal;
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let finished = dir.path().join("finished");
    let bin = stand_in(
        dir.path(),
        &format!(
            "/usr/bin/head -c 3000000 /dev/zero\n/usr/bin/touch {}\n",
            finished.display()
        ),
    );
    let cfg = config(dir.path(), &bin, &audit);
    // Its stdout is a pipe nobody reads: after the child, tgate blocks writing 3 MB.
    let mut child = Command::new(common::tgate_bin())
        .args(["run", "--config", p(&cfg), "temporal workflow list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&finished, "the command never finished");
    // Until tgate sleeps in the pipe's write (as the kernel names the wait), at most 10 s.
    let wchan = format!("/proc/{}/wchan", child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&wchan).is_ok_and(|w| w.contains("pipe_write"))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = terminate(&mut child, "SIGTERM after the run was swallowed");
    assert_eq!(status.signal(), Some(Signal::SIGTERM as i32), "{status:?}");
    // The result was recorded before the output was passed on: all 3 MB of it, not what the
    // reader took.
    let result = result_record(&audit, "a result record before the output");
    assert_eq!(result["exit_code"], 0, "{result}");
    assert_eq!(result["output_bytes"], 3_000_000, "{result}");

    // Under nohup, a SIGHUP during the run changes nothing: the command runs to its end.
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let started = dir.path().join("started");
    let bin = stand_in(
        dir.path(),
        &format!(
            "/usr/bin/touch {}\n/bin/sleep 1\necho done\n",
            started.display()
        ),
    );
    let cfg = config(dir.path(), &bin, &audit);
    let child = Command::new("/usr/bin/nohup")
        .arg(common::tgate_bin())
        .args(["run", "--config", p(&cfg), "temporal workflow list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&started, "the command never started");
    // (nohup execs tgate: the same process.)
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        Signal::SIGHUP,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "done\n");
}

/// Ctrl-C while `tgate doctor` waits for its probe through the CLI kills the probe and ends
/// doctor as the signal ends a program, instead of reporting an unreachable server.
#[test]
fn an_interrupted_doctor_ends_by_the_signal() {
    use nix::sys::signal::Signal;
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("probe.pid");
    let bin = sleeping_stand_in(dir.path(), &pid_file);
    let cfg = config(dir.path(), &bin, &dir.path().join("audit.jsonl"));
    let child = Command::new(common::tgate_bin())
        .args(["doctor", "--config", p(&cfg)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&pid_file, "the probe never started");
    let probe = pid_in(&pid_file);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), Some(Signal::SIGINT as i32), "{out:?}");
    assert!(
        !text(&out.stdout).contains("unreachable"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        nix::sys::signal::kill(probe, None),
        Err(nix::errno::Errno::ESRCH),
        "the probe outlived doctor"
    );
}

/// `verify`, `export` and `tail -n` read the chain as it stood at one moment, however it rotates
/// while they read: an intact log is never reported damaged, no rotated file is left out of an
/// export, and the last records shown follow one another (QA: with writers rotating every 4 KiB,
/// 174 of 203 verifies said `deleted` or failed with ENOENT, exports skipped whole files with
/// exit 0, and `tail -n` could show a gap).
#[test]
fn verify_export_and_tail_see_one_moment_of_a_rotating_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let mut writers = Command::new(common::tgate_bin())
        .args([
            "audit",
            "stress",
            p(&path),
            "--threads",
            "4",
            "--records",
            "4000",
        ])
        .args(["--max-file-bytes", "4096"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut checks = 0;
    while writers.try_wait().unwrap().is_none() || checks == 0 {
        if !path.exists() {
            continue;
        }
        let (code, v) = verify(&path, &[]);
        assert_eq!(
            code, 0,
            "an intact log reported damaged while it rotated: {v}"
        );
        let out = tgate(&["audit", "export", p(&path)]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let seqs: Vec<u64> = text(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "an export left records out"
        );
        let out = tgate(&["audit", "tail", "-n", "40", p(&path)]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let shown: Vec<u64> = text(&out.stdout)
            .lines()
            .map(|l| {
                let (_, rest) = l.split_once('#').unwrap_or_else(|| panic!("{l}"));
                rest.split_whitespace().next().unwrap().parse().unwrap()
            })
            .collect();
        // The log exists before its first record is written: then there is nothing to show.
        assert!(
            !shown.is_empty() || seqs.is_empty(),
            "tail showed nothing of a log the export read {} records from",
            seqs.len()
        );
        assert!(
            shown.windows(2).all(|w| w[1] == w[0] + 1),
            "tail showed a gap: {shown:?}"
        );
        checks += 1;
    }
    assert!(writers.wait().unwrap().success());
    // Rotated many times, and looked at while it did.
    assert!(std::fs::read_dir(dir.path()).unwrap().count() > 20);
    assert!(checks >= 3, "{checks}");
}

/// A chain of hundreds of files is read whole under a low limit of open files: `verify`,
/// `export` and `tail` hold every file of their view open, so tgate raises its soft limit to the
/// hard one, as Go programs do (review: `tail` failed with "Too many open files" under the common
/// soft limit of 1024 once the log had that many files).
#[test]
fn a_chain_of_many_files_is_read_under_a_low_open_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let out = tgate(&[
        "audit",
        "stress",
        p(&path),
        "--threads",
        "1",
        "--records",
        "1500",
        "--max-file-bytes",
        "4096",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(files > 150, "{files} files");
    let under_limit = |args: &[&str]| {
        Command::new("/bin/sh")
            .arg("-c")
            .arg("ulimit -Sn 64 && exec \"$0\" \"$@\"")
            .arg(common::tgate_bin())
            .args(args)
            .env_clear()
            .output()
            .unwrap()
    };
    let out = under_limit(&["audit", "verify", p(&path)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = under_limit(&["audit", "export", p(&path)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1500);
    let out = under_limit(&["audit", "tail", "-n", "3", p(&path)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("#1500"), "{}", text(&out.stdout));
}

/// `audit verify|export|tail` take the log as `--audit FILE` too, as `run`, `approve` and
/// `approvals list` do (QA: `unexpected argument '--audit'`), winning over `TGATE_AUDIT`; a log
/// whose directory is missing is said to be missing by each of them alike (QA: `tail` named the
/// directory where `export` said `no such audit log`).
#[test]
fn audit_commands_take_audit_and_say_a_log_is_missing_alike() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    stress(&path, 1, 3);
    let elsewhere = dir.path().join("elsewhere.jsonl");
    let env = [("TGATE_AUDIT", p(&elsewhere))];
    let out = common::tgate_with_env(&["audit", "verify", "--audit", p(&path)], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("intact: 3 records"),
        "{}",
        text(&out.stdout)
    );
    let out = common::tgate_with_env(&["audit", "export", "--audit", p(&path)], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 3);
    let out = common::tgate_with_env(&["audit", "tail", "-n", "2", "--audit", p(&path)], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().count(),
        2,
        "{}",
        text(&out.stdout)
    );
    // Named, the log is read without the configuration (a broken one does not matter), as with
    // PATH.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "version: 2\n").unwrap();
    let out = common::tgate_with_env(
        &["audit", "verify", "--audit", p(&path)],
        &[("TGATE_CONFIG", p(&broken))],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Two logs named: refused, rather than a verdict on one read as one on the other.
    let out = tgate(&["audit", "verify", p(&elsewhere), "--audit", p(&path)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "tgate: two audit logs named, `{}` and --audit `{}`: give one\n",
            elsewhere.display(),
            path.display()
        )
    );
    // Typed, even when it is also `TGATE_AUDIT`'s value (review).
    let out = common::tgate_with_env(
        &["audit", "verify", p(&elsewhere), "--audit", p(&path)],
        &env,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    // One log spelt two ways (through a link) is one log.
    let spelt = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&path, &spelt).unwrap();
    let out = tgate(&["audit", "verify", p(&spelt), "--audit", p(&path)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // So is one not there yet, named bare and with `./` (review: "two audit logs named").
    let out = Command::new(common::tgate_bin())
        .current_dir(dir.path())
        .args(["audit", "verify", "./none.jsonl", "--audit", "none.jsonl"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "tgate: `{}`: no such audit log\n",
            std::fs::canonicalize(dir.path())
                .unwrap()
                .join("none.jsonl")
                .display()
        )
    );
    let missing = dir.path().join("no-such-dir").join("audit.jsonl");
    for sub in ["verify", "export", "tail"] {
        let out = tgate(&["audit", sub, "--audit", p(&missing)]);
        assert_eq!(out.status.code(), Some(2), "{sub}");
        assert_eq!(
            text(&out.stderr),
            format!("tgate: `{}`: no such audit log\n", missing.display()),
            "{sub}"
        );
    }
    // Following waits for a log that does not exist yet, not for its directory.
    let out = tgate(&["audit", "tail", "-f", "--audit", p(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "tgate: `{}`: no such directory, where the audit log would be\n",
            missing.parent().unwrap().display()
        )
    );
}

/// A log reached through a symbolic link is the file it names: its lock (and the approval store)
/// are taken beside that file, so runs writing through the link and by the file's own name share
/// one lock and one chain (re-check QA: two locks, and a chain broken by concurrent runs).
#[test]
fn a_log_reached_through_a_link_is_locked_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let linked = dir.path().join("linked");
    std::fs::create_dir(&real).unwrap();
    std::fs::create_dir(&linked).unwrap();
    let log = real.join("audit.jsonl");
    stress(&log, 1, 1);
    std::os::unix::fs::symlink(&log, linked.join("audit.jsonl")).unwrap();
    // A write the built-in policy denies, recorded in the log `at`: nothing run, no server.
    let terminate = |at: &str| {
        tgate(&[
            "run",
            "--audit",
            at,
            "--",
            "temporal",
            "workflow",
            "terminate",
            "-w",
            "x",
        ])
    };
    let deny = |at: &Path| {
        let out = terminate(p(at));
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    };
    for at in [linked.join("audit.jsonl"), log.clone()] {
        deny(&at);
    }
    assert!(real.join("audit.jsonl.lock").exists());
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&linked), ["audit.jsonl"]);
    let (code, v) = verify(&log, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["report"]["records"], 3, "{v}");
    // A link to a log not made yet: the first run locks beside the file it makes too (review:
    // beside the link, and the runs after it beside the file).
    let later = dir.path().join("later");
    std::fs::create_dir(&later).unwrap();
    std::os::unix::fs::symlink("../real/new.jsonl", linked.join("new.jsonl")).unwrap();
    deny(&linked.join("new.jsonl"));
    assert!(real.join("new.jsonl.lock").exists());
    assert_eq!(names(&linked), ["audit.jsonl", "new.jsonl"]);
    // A directory's path (a trailing `/`) is refused, not taken for a file's.
    let out = terminate(&format!("{}/", later.join("newlog").display()));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(names(&later), Vec::<String>::new());
}
