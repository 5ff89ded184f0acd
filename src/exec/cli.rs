//! The CLI executor: runs the pinned `temporal` binary on the argv rendered from the typed command.
//!
//! Guarantees:
//! - Never a shell: `std::process::Command` with an argv. The argv is the command's canonical
//!   rendering plus the connection tgate injects, and it is re-read by tgate's own parser before it
//!   runs: what runs is what was judged.
//! - The environment is cleared. `PATH` is a private empty directory (so the CLI finds no
//!   `temporal-*` extension), `HOME` a private empty directory (no config or env files), and the
//!   config file is disabled. The only variables set besides are the credentials ([`ChildEnv`]):
//!   `TEMPORAL_API_KEY` for integrations with an API key (Cloud, or Direct Connect's) and the TLS
//!   client certificate and key as the CLI's `TEMPORAL_TLS_CLIENT_*_DATA`. They never appear in
//!   argv and are never written to disk (no key file an allowed `--input-file` could name); the
//!   server CA, which is public, is a file in the private directory.
//! - `--identity tgate:<caller>`, so Temporal's history records who acted through tgate.
//! - Stdin is closed; a timeout kills the child; output beyond a cap is cut and the run fails.
//! - Asked to stop ([`super::stop::stop_signals`]: SIGTERM, SIGINT, SIGHUP, SIGQUIT, ...) while
//!   the child runs, tgate kills its process group and ends the run as failed (the result is
//!   recorded), so no command outlives the gateway; outside the child's run those signals act as
//!   they always do.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::command::{Command, FlagRole, flag_role};
use crate::connect::{Auth, Integration, Limits, Tls};

/// What a run of the CLI produced.
#[derive(Clone, Debug)]
pub struct Execution {
    /// The child's exit code (or 1 when it was killed or its output cut).
    pub exit_code: i32,
    /// Standard output (at most the cap).
    pub stdout: Vec<u8>,
    /// Standard error (at most the cap), followed by tgate's note when it killed or cut the run.
    pub stderr: Vec<u8>,
    /// Wall-clock time.
    pub duration: Duration,
    /// Killed at the timeout.
    pub timed_out: bool,
    /// Output cut at the cap.
    pub truncated: bool,
    /// tgate was asked to stop while the child ran (the process group was killed): the signal.
    pub stopped: Option<i32>,
}

/// Why a command could not be run (the CLI never started), or how it ended could not be seen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The command sets something tgate must control, or does not connect.
    #[error("refusing to run: {0}")]
    Refused(String),
    /// The private directory could not be prepared.
    #[error("cannot prepare the run: {0}")]
    Prepare(String),
    /// The binary could not be started.
    #[error("cannot start `{binary}`: {message}")]
    Spawn {
        /// Binary path.
        binary: String,
        /// OS error.
        message: String,
    },
    /// The CLI started, and how it ended could not be seen.
    #[error("the CLI ran, and how it ended could not be seen: {0}")]
    Wait(String),
}

impl ExecError {
    /// Whether the CLI may have started: anything of the command may have been sent. Only the
    /// errors that come before the spawn, or of the spawn itself (exec failed: the binary never
    /// ran), say it did not; any other, and any added later, says it may have (fail closed).
    pub fn may_have_started(&self) -> bool {
        !matches!(
            self,
            ExecError::Refused(_) | ExecError::Prepare(_) | ExecError::Spawn { .. }
        )
    }
}

/// The credentials a run hands the CLI through its environment: the API key and the client
/// certificate and key (as the CLI's `TEMPORAL_API_KEY`, `TEMPORAL_TLS_CLIENT_CERT_DATA` and
/// `TEMPORAL_TLS_CLIENT_KEY_DATA`, which it reads with `--disable-config-file`). No secret is
/// written to disk, so no file flag the policy allows, and no path relative to the child's
/// working directory, reaches a key file. (The server CA, public and possibly a bundle larger
/// than an environment variable may be, goes in a file: [`injected_argv`].) `Debug` names the
/// variables, never their values.
pub struct ChildEnv(Vec<(&'static str, String)>);

impl ChildEnv {
    /// The variables and their values, for the spawn.
    pub fn vars(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

impl std::fmt::Debug for ChildEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| format!("{k}=<redacted>")))
            .finish()
    }
}

/// Public files to write before a run: path and content.
pub type PublicFiles = Vec<(std::path::PathBuf, String)>;

/// The argv tgate runs (without the program): the command's canonical words plus the injected
/// connection, inserted before any `--` and positionals; the credentials for the child's
/// environment; and the server CA's file in `ca_dir`, when the integration has one.
pub fn injected_argv(
    cmd: &Command,
    integration: &Integration,
    caller: &str,
    ca_dir: &Path,
) -> Result<(Vec<String>, ChildEnv, PublicFiles), ExecError> {
    if !cmd.path().connects() {
        return Err(ExecError::Refused(format!(
            "`{}` does not connect to a cluster",
            cmd.path().name()
        )));
    }
    if let Some(name) = cmd
        .flags()
        .keys()
        .find(|n| flag_role(cmd.path(), n) == FlagRole::Pinned)
    {
        return Err(ExecError::Refused(format!(
            "`--{name}` is set by tgate, not by the command"
        )));
    }
    let mut argv: Vec<String> = cmd.render().into_iter().skip(1).collect();
    let split = argv.iter().position(|w| w == "--").unwrap_or(argv.len());
    // `--identity` on every command, `activity pause` included, whose own flag of that name
    // fills the pause request's identity (without it, the CLI sends `temporal-cli:<user>@<host>`).
    let mut inject = vec![
        format!("--address={}", integration.address),
        "--disable-config-file".to_owned(),
        format!("--identity=tgate:{caller}"),
    ];
    let mut env = Vec::new();
    let mut files = Vec::new();
    if let Some(api_key) = integration.api_key() {
        env.push(("TEMPORAL_API_KEY", api_key.expose().to_owned()));
    }
    let mut tls = |t: &Tls, inject: &mut Vec<String>| {
        inject.push("--tls".to_owned());
        if let (Some(cert), Some(key)) = (&t.client_cert, &t.client_key) {
            env.push(("TEMPORAL_TLS_CLIENT_CERT_DATA", certificate_blocks(cert)));
            env.push(("TEMPORAL_TLS_CLIENT_KEY_DATA", key.expose().to_owned()));
        }
        if let Some(ca) = &t.server_ca {
            let path = ca_dir.join("ca.pem");
            inject.push(format!("--tls-ca-path={}", path.display()));
            files.push((path, certificate_blocks(ca)));
        }
        if let Some(name) = &t.server_name {
            inject.push(format!("--tls-server-name={name}"));
        }
    };
    match &integration.auth {
        // The API key goes through the environment; its presence turns TLS on.
        Auth::CloudApiKey { .. } => inject.push("--tls".to_owned()),
        Auth::CloudMtls { tls: t } => tls(t, &mut inject),
        Auth::Direct { tls: Some(t) } => tls(t, &mut inject),
        Auth::Direct { tls: None } => {}
    }
    argv.splice(split..split, inject);
    // Defence in depth: the CLI scans raw words for these before parsing.
    if argv.iter().any(|w| w == "--env" || w == "--env-file") {
        return Err(ExecError::Refused(
            "a word `--env`/`--env-file` would make the CLI read an environment file".into(),
        ));
    }
    // What runs must read as what was judged, plus the connection.
    let mut full = vec![crate::command::PROGRAM.to_owned()];
    full.extend(argv.iter().cloned());
    match Command::parse(&full) {
        Ok(reread) if reread.path() == cmd.path() && reread.args() == cmd.args() => {}
        other => {
            return Err(ExecError::Refused(format!(
                "the argv to run does not read back as the judged command: {other:?}"
            )));
        }
    }
    Ok((argv, ChildEnv(env), files))
}

/// The CERTIFICATE blocks of `pem`, written anew from what they decode to: the CLI gets the
/// certificates tgate checked and nothing else the text held (blocks of other labels, text
/// between blocks, a malformed block), all of which Go skips in any case (review: a private key
/// under a label other than CERTIFICATE got past the checks and was written to the CA's file).
fn certificate_blocks(pem: &str) -> String {
    use base64::Engine as _;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let mut out = String::new();
    for der in CertificateDer::pem_slice_iter(pem.as_bytes()).flatten() {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let encoded = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        for (i, c) in encoded.chars().enumerate() {
            if i > 0 && i % 64 == 0 {
                out.push('\n');
            }
            out.push(c);
        }
        out.push_str("\n-----END CERTIFICATE-----\n");
    }
    out
}

/// Runs `cmd` through the `temporal` binary at `binary`, killing it after `limits.timeout`.
pub fn run_cli(
    binary: &Path,
    cmd: &Command,
    integration: &Integration,
    caller: &str,
    limits: &Limits,
) -> Result<Execution, ExecError> {
    run_cli_until(binary, cmd, integration, caller, limits, None)
}

/// [`run_cli`], killing the child at `deadline` when one is given (what is left of a time limit
/// that a native attempt or a write's type check began to use), else `limits.timeout` after it
/// starts. What it says of a kill names `limits.timeout`: the limit, not what was left of it.
pub fn run_cli_until(
    binary: &Path,
    cmd: &Command,
    integration: &Integration,
    caller: &str,
    limits: &Limits,
    deadline: Option<Instant>,
) -> Result<Execution, ExecError> {
    // Private itself, not only what it holds (tempfile makes it 0755 otherwise).
    let private = tempfile::Builder::new()
        .prefix("tgate-run-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(|e| ExecError::Prepare(e.to_string()))?;
    let (home, bin, ca_dir) = (
        private.path().join("home"),
        private.path().join("bin"),
        private.path().join("ca"),
    );
    for d in [&home, &bin, &ca_dir] {
        create_private_dir(d).map_err(|e| ExecError::Prepare(format!("{}: {e}", d.display())))?;
    }
    let (argv, env, files) = injected_argv(cmd, integration, caller, &ca_dir)?;
    for (path, content) in &files {
        std::fs::write(path, content)
            .map_err(|e| ExecError::Prepare(format!("{}: {e}", path.display())))?;
    }
    local_files_are_their_own(cmd)?;
    let mut child_cmd = std::process::Command::new(binary);
    child_cmd
        .args(&argv)
        .env_clear()
        .env("PATH", &bin)
        .env("HOME", &home)
        .envs(env.vars())
        .current_dir(&home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so a timeout kills everything it started.
    std::os::unix::process::CommandExt::process_group(&mut child_cmd, 0);
    // Before the watch, so that a write blocked on a stderr nobody reads is ended by a stop
    // signal as usual (unless a native write that fell back to the CLI was watched before: its
    // caller then holds the signals, and the line, cut by `capped`, is far under what a pipe
    // holds). The argv holds no secret (the key and TLS material go through the environment,
    // whose values `ChildEnv` never shows).
    tracing::debug!(
        binary = ?binary,
        argv = ?crate::diag::capped(&argv),
        env = ?env,
        "starting the CLI"
    );
    // Before the spawn: from here until the child is reaped a stop signal kills the child and
    // ends the run, instead of ending tgate alone and leaving the child running.
    let watch = super::stop::watch()
        .map_err(|e| ExecError::Prepare(format!("cannot handle stop signals: {e}")))?;
    let start = Instant::now();
    let mut child = child_cmd.spawn().map_err(|e| ExecError::Spawn {
        binary: binary.display().to_string(),
        // The kernel's ENOENT for a file that is there (QA: it read as the binary missing).
        message: if e.kind() == std::io::ErrorKind::NotFound && binary.is_file() {
            format!("{e}: the file is there; the interpreter its `#!` line names, or its dynamic loader, is not")
        } else {
            e.to_string()
        },
    })?;
    let cap = limits.max_output_bytes;
    let deadline = deadline.unwrap_or(start + limits.timeout);
    // The API keys (a server may echo the one it was sent) are replaced before any cut, which
    // could otherwise leave a key's start: each stream is read a key's length past the cap,
    // scrubbed, then cut at the cap.
    let keys = super::keys_of(integration);
    let slack = keys.iter().map(String::len).max().unwrap_or(0);
    let Collected {
        mut stdout,
        mut stderr,
        mut truncated,
        timed_out,
        unread,
        stopped,
    } = collect(&mut child, cap.saturating_add(slack), deadline);
    if !keys.is_empty() {
        for stream in [&mut stdout, &mut stderr] {
            *stream = crate::audit::redact::scrub_bytes(stream, &keys);
            if stream.len() > cap {
                stream.truncate(cap);
                truncated = true;
            }
        }
    }
    let status = child.wait();
    // The child is reaped: a stop signal now ends tgate as usual (after one during the run, the
    // caller records the result and exits).
    drop(watch);
    let status = status.map_err(|e| ExecError::Wait(e.to_string()))?;
    tracing::debug!(
        exit_code = status.code().unwrap_or(-1),
        signal = std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0),
        us = crate::diag::micros(start),
        stdout_bytes = stdout.len(),
        stderr_bytes = stderr.len(),
        truncated,
        timed_out,
        stopped_by = stopped.map_or("-", |(_, name)| name),
        "the CLI ended"
    );
    let mut exit_code = status.code().unwrap_or(1);
    // A command that changes the cluster may have sent its request before it was killed: said
    // as the native executor says it, so that nobody takes the kill for "not done".
    let sent = match cmd.class() {
        crate::command::EffectClass::Read | crate::command::EffectClass::Local => "",
        _ => ", and what it sent may or may not have taken effect",
    };
    if let Some((_, name)) = stopped {
        cut_stopped_stderr(&mut stderr, name);
        say(
            &mut stderr,
            &format!("stopped by {name}; the command was killed{sent}"),
        );
        exit_code = 1;
    } else if let Some(why) = unread {
        say(
            &mut stderr,
            &format!("the command's output could not be read: {why}"),
        );
        exit_code = 1;
    } else if timed_out {
        say(
            &mut stderr,
            // (QA: a signal killed so had gone out, and nothing said it might have.)
            &format!("killed after the {:?} timeout{sent}", limits.timeout),
        );
        exit_code = 1;
    } else if truncated {
        say(&mut stderr, &format!("output cut at {cap} bytes"));
        exit_code = 1;
    }
    Ok(Execution {
        exit_code,
        stdout,
        stderr,
        duration: start.elapsed(),
        timed_out,
        truncated,
        stopped: stopped.map(|(sig, _)| sig),
    })
}

/// Appends tgate's own line to a command's standard error, on a line of its own even when what
/// the command wrote (or what the cap left of it) does not end with a newline.
pub fn say(stderr: &mut Vec<u8>, what: &str) {
    if stderr.last().is_some_and(|&b| b != b'\n') {
        stderr.push(b'\n');
    }
    stderr.extend_from_slice(format!("tgate: {what}\n").as_bytes());
}

/// Of a command's standard error, how much tgate passes on once it was asked to stop (and what
/// a result record keeps): far less than a pipe holds, so that writing it cannot keep a stopped
/// tgate from ending when nobody reads.
pub const STOPPED_STDERR_BYTES: usize = 4096;

/// Cuts a stopped command's standard error to [`STOPPED_STDERR_BYTES`], saying so.
pub fn cut_stopped_stderr(stderr: &mut Vec<u8>, signal: &str) {
    if stderr.len() > STOPPED_STDERR_BYTES {
        stderr.truncate(STOPPED_STDERR_BYTES);
        say(
            stderr,
            &format!(
                "stopped by {signal}; the command's standard error was cut at {STOPPED_STDERR_BYTES} bytes"
            ),
        );
    }
}

/// What [`collect`] read, and how it ended.
struct Collected {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// A stream went beyond the cap: the rest was read and dropped.
    truncated: bool,
    /// The deadline came first: the process group was killed.
    timed_out: bool,
    /// The pipes could not be read to their end (the process group was killed): why.
    unread: Option<String>,
    /// tgate was asked to stop (SIGTERM, SIGINT, SIGHUP) while the child ran: the process group
    /// was killed. The signal's name.
    stopped: Option<(i32, &'static str)>,
}

/// Reads the child's stdout and stderr on this thread until both end, keeping at most `cap`
/// bytes of each (and draining the rest so that the child never blocks), then waits for it to
/// exit; at `deadline` it kills the child's process group. No thread is started (two pipe
/// readers and a waiter before; no measurable difference in speed). The child is left unreaped
/// for the caller's `child.wait()`, so its pid and process group stay its own while they may
/// still be killed here.
fn collect(child: &mut Child, cap: usize, deadline: Instant) -> Collected {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let mut pipes: [Option<Box<dyn ReadFd>>; 2] = [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn ReadFd>),
    ];
    let mut kept = [Vec::new(), Vec::new()];
    let mut truncated = false;
    let mut buf = vec![0u8; 64 * 1024];
    // `stopped`: only when a stop signal is why the child was killed (one noted after the child
    // ended on its own changes nothing of how it ended).
    let ended = |kept: &mut [Vec<u8>; 2], truncated, timed_out, unread, stopped| Collected {
        stdout: std::mem::take(&mut kept[0]),
        stderr: std::mem::take(&mut kept[1]),
        truncated,
        timed_out,
        unread,
        stopped,
    };
    while pipes.iter().any(Option::is_some) {
        let now = Instant::now();
        if let Some(stop) = super::stop::requested() {
            kill_group(child);
            return ended(&mut kept, truncated, false, None, Some(stop));
        }
        if now >= deadline {
            kill_group(child);
            return ended(&mut kept, truncated, true, None, None);
        }
        // At least 1 ms: the conversion rounds down, and 0 would make `poll` return at once. At
        // most `CHECK_EVERY`, so that a stop signal handled on another thread is seen soon.
        let wait = (deadline - now)
            .max(Duration::from_millis(1))
            .min(super::stop::CHECK_EVERY);
        let polled = {
            let open: Vec<(usize, std::os::fd::BorrowedFd<'_>)> = pipes
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.as_ref().map(|p| (i, p.as_fd())))
                .collect();
            let mut fds: Vec<PollFd<'_>> = open
                .iter()
                .map(|(_, fd)| PollFd::new(*fd, PollFlags::POLLIN))
                .collect();
            match poll(
                &mut fds,
                PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(open
                    .iter()
                    .zip(&fds)
                    .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
                    .map(|((i, _), _)| *i)
                    .collect::<Vec<usize>>()),
                Err(e) => Err(format!("poll: {e}")),
            }
        };
        let ready = match polled {
            Ok(ready) => ready,
            Err(why) => {
                kill_group(child);
                return ended(&mut kept, truncated, false, Some(why), None);
            }
        };
        for i in ready {
            let Some(pipe) = pipes[i].as_mut() else {
                continue;
            };
            match pipe.read(&mut buf) {
                Ok(0) => pipes[i] = None,
                Ok(n) => {
                    let room = cap.saturating_sub(kept[i].len());
                    kept[i].extend_from_slice(&buf[..n.min(room)]);
                    truncated |= n > room;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    kill_group(child);
                    return ended(
                        &mut kept,
                        truncated,
                        false,
                        Some(format!("read: {e}")),
                        None,
                    );
                }
            }
        }
    }
    // Both pipes ended: the child is exiting (its descriptors close just before it becomes a
    // zombie), unless it closed them and went on; the deadline still holds.
    let mut pause = Duration::from_micros(20);
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) if Instant::now() >= deadline => {
                kill_group(child);
                return ended(&mut kept, truncated, true, None, None);
            }
            Ok(None) => {
                if let Some(stop) = super::stop::requested() {
                    kill_group(child);
                    return ended(&mut kept, truncated, false, None, Some(stop));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(2));
            }
        }
    }
    ended(&mut kept, truncated, false, None, None)
}

/// A pipe from the child: readable, and pollable by its descriptor.
trait ReadFd: Read + std::os::fd::AsFd {}
impl<T: Read + std::os::fd::AsFd> ReadFd for T {}

/// Kills the (unreaped) child's process group, and the child itself in case it left the group.
fn kill_group(child: &mut Child) {
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    let _ = child.kill();
}

/// The files the command makes the CLI read are the ones the policy judged: each path is
/// absolute, of plain names, and resolves through no symbolic link (the policy checks paths as
/// written; a link inside an allowed directory could point anywhere). A command that would make
/// the CLI write a local file is refused outright.
fn local_files_are_their_own(cmd: &Command) -> Result<(), ExecError> {
    for (name, value) in cmd.flags() {
        match flag_role(cmd.path(), name) {
            FlagRole::ReadsFile => {}
            FlagRole::WritesFile => {
                return Err(ExecError::Refused(format!(
                    "`--{name}` would make the CLI write a local file"
                )));
            }
            _ => continue,
        }
        for path in value.strs() {
            let refuse = |why: String| Err(ExecError::Refused(format!("`--{name} {path}`: {why}")));
            if !crate::policy::plain_absolute(path) {
                return refuse("not an absolute path of plain names".to_owned());
            }
            match std::fs::canonicalize(path) {
                Ok(real) if real == Path::new(path) => {}
                Ok(real) => {
                    return refuse(format!(
                        "resolves through a symbolic link (to {}); give the file's own path",
                        real.display()
                    ));
                }
                Err(e) => return refuse(e.to_string()),
            }
        }
    }
    Ok(())
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_gets_the_certificate_blocks_alone() {
        let cert = rcgen::generate_simple_self_signed(vec!["ca".into()])
            .unwrap()
            .cert
            .pem();
        let key = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nc2VjcmV0\n-----END PGP PRIVATE KEY BLOCK-----\n";
        let broken = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        // Other labels, text around the blocks, and a block's own line breaks go; the
        // certificate stays, as the PEM writers write it (64 characters a line).
        assert_eq!(
            certificate_blocks(&format!("issuer: ca\n{cert}{key}trailing text\n")),
            cert
        );
        assert_eq!(
            certificate_blocks(&format!("{key}{cert}{cert}")),
            cert.repeat(2)
        );
        // A bundle of distinct roots keeps each, in order.
        let roots: Vec<String> = (0..5)
            .map(|i| {
                rcgen::generate_simple_self_signed(vec![format!("root-{i}")])
                    .unwrap()
                    .cert
                    .pem()
            })
            .collect();
        assert_eq!(certificate_blocks(&roots.join("\n")), roots.concat());
        assert_eq!(
            certificate_blocks(&cert.replace('\n', "\r\n")),
            cert,
            "CRLF line ends"
        );
        assert!(!certificate_blocks(&format!("{cert}{broken}{key}")).contains("c2VjcmV0"));
        assert_eq!(certificate_blocks(key), "");
    }

    #[test]
    fn tgate_speaks_on_a_line_of_its_own() {
        // What a cap left of a line, a line, nothing: tgate's words start a line in each.
        for (before, after) in [
            ("partial li", "partial li\ntgate: output cut at 10 bytes\n"),
            (
                "whole line\n",
                "whole line\ntgate: output cut at 10 bytes\n",
            ),
            ("", "tgate: output cut at 10 bytes\n"),
        ] {
            let mut stderr = before.as_bytes().to_vec();
            say(&mut stderr, "output cut at 10 bytes");
            assert_eq!(String::from_utf8(stderr).unwrap(), after);
        }
    }

    #[test]
    fn a_stopped_commands_stderr_is_cut_with_its_notice_on_a_line_of_its_own() {
        let notice =
            "tgate: stopped by SIGTERM; the command's standard error was cut at 4096 bytes\n";
        // Cut where a line ends: no empty line before the notice.
        let mut stderr = "x".repeat(STOPPED_STDERR_BYTES - 1).into_bytes();
        stderr.extend_from_slice(b"\nmore\n");
        cut_stopped_stderr(&mut stderr, "SIGTERM");
        let want = format!("{}\n{notice}", "x".repeat(STOPPED_STDERR_BYTES - 1));
        assert_eq!(String::from_utf8(stderr).unwrap(), want);
        // Cut inside a line.
        let mut stderr = "y".repeat(STOPPED_STDERR_BYTES + 10).into_bytes();
        cut_stopped_stderr(&mut stderr, "SIGTERM");
        let want = format!("{}\n{notice}", "y".repeat(STOPPED_STDERR_BYTES));
        assert_eq!(String::from_utf8(stderr).unwrap(), want);
        // Not over the cut: left as it is.
        let mut stderr = b"short".to_vec();
        cut_stopped_stderr(&mut stderr, "SIGTERM");
        assert_eq!(stderr, b"short");
    }
}
