//! A real `temporal server start-dev` for tests: free ports on 127.0.0.1, an empty HOME, SQLite in
//! memory, stopped when dropped. Startup failure fails the test loudly; so does a server that
//! exits later (its log in the message).
//!
//! Several test binaries start servers at once, and a port is chosen by binding and releasing it,
//! so two servers can pick the same one. A server counts as started only when its own process
//! listens on the frontend port (a health check alone could be answered by another test's server).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::temporal_bin;

/// A running dev server.
pub struct DevServer {
    child: Mutex<Child>,
    /// `127.0.0.1:port` of the frontend.
    pub address: String,
    /// `127.0.0.1:port` of its HTTP API (HTTP/1, the address people mistake for the frontend's).
    pub http_address: String,
    home: tempfile::TempDir,
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl DevServer {
    /// Starts a server with the extra namespaces given (besides `default`). A server that exits
    /// while starting (a port taken between choosing and binding it) is started again on new
    /// ports, at most three times; its log is in the failure message.
    pub fn start(namespaces: &[&str]) -> DevServer {
        DevServer::start_with(namespaces, &[])
    }

    /// [`DevServer::start`] with dynamic configuration values of the test's own (`key`, `value`),
    /// in place of the defaults for the same keys.
    pub fn start_with(namespaces: &[&str], config: &[(&str, &str)]) -> DevServer {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match DevServer::attempt(namespaces, config) {
                Ok(server) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "the dev server did not start:\n{}",
            failures.join("\n---\n")
        );
    }

    fn attempt(namespaces: &[&str], config: &[(&str, &str)]) -> Result<DevServer, String> {
        let home = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(home.path().join("server.log")).unwrap();
        let port = free_port();
        let http_port = free_port();
        let mut cmd = Command::new(temporal_bin());
        cmd.args([
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--log-level",
            "error",
        ])
        .args(["--port", &port.to_string()])
        .args(["--http-port", &http_port.to_string()])
        .args(["--metrics-port", &free_port().to_string()]);
        let nexus_callback = format!(
            r#""http://127.0.0.1:{http_port}/namespaces/{{{{.NamespaceName}}}}/nexus/callback""#
        );
        let defaults: [(&str, &str); 10] = [
            // The tests and benchmarks list and call far faster than the dev server's default
            // rate limits allow ("namespace rate limit exceeded"); raise them.
            ("frontend.namespaceRPS.visibility", "10000"),
            ("frontend.namespaceRPS", "100000"),
            ("frontend.rps", "100000"),
            // Features some descriptions show: pausing a workflow (experimental, off by default)
            // and completion callbacks to any address (the test's own unreachable URL; this
            // server reads the key `callback.`, older ones `component.callbacks.`).
            ("frontend.WorkflowPauseEnabled", "true"),
            (
                "callback.allowedAddresses",
                r#"[{"Pattern":"*","AllowInsecure":true}]"#,
            ),
            // A history long poll (`show --follow`) that sees no new event returns after 1 s
            // (not 20): followers see empty pages within a test's time.
            ("history.longPollExpirationInterval", r#""1s""#),
            // Nexus operations: an endpoint is served as soon as it is created (the default
            // waits for a refresh), and operations are dispatched (not without a callback URL
            // template).
            ("system.refreshNexusEndpointsMinWait", r#""0s""#),
            (
                "component.nexusoperations.callback.endpoint.template",
                &nexus_callback,
            ),
            // Requests with `caller-type: operator` (as the CLI sends) get this share of the rate.
            ("system.operatorRPSRatio", "1"),
            ("frontend.namespaceBurstRatio.visibility", "10"),
        ];
        let ours = defaults
            .iter()
            .filter(|(k, _)| !config.iter().any(|(c, _)| c == k))
            .chain(config);
        for (key, value) in ours {
            cmd.arg("--dynamic-config-value")
                .arg(format!("{key}={value}"));
        }
        cmd.env_clear()
            .env("HOME", home.path())
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for ns in namespaces {
            cmd.args(["--namespace", ns]);
        }
        let child = cmd.spawn().expect("start temporal server start-dev");
        let pid = child.id();
        let server = DevServer {
            child: Mutex::new(child),
            address: format!("127.0.0.1:{port}"),
            http_address: format!("127.0.0.1:{http_port}"),
            home,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let healthy = Command::new(temporal_bin())
                .args([
                    "operator",
                    "cluster",
                    "health",
                    "--address",
                    &server.address,
                ])
                .env_clear()
                .env("HOME", server.home.path())
                .stdin(Stdio::null())
                .output()
                .is_ok_and(|o| o.status.success());
            let ports = listening_ports(pid);
            if healthy && ports.contains(&port) && ports.len() >= DEV_SERVER_PORTS {
                return Ok(server);
            }
            let exited = server.exited();
            // Healthy, yet not this process on the port: another server answered.
            let taken = healthy && exited.is_none() && !ports.contains(&port);
            if exited.is_some() || taken || Instant::now() >= deadline {
                return Err(format!(
                    "dev server on {} {}; its log:\n{}",
                    server.address,
                    match exited {
                        Some(status) => format!("exited ({status})"),
                        None if taken => "lost its port to another process".to_owned(),
                        None => format!(
                            "did not become healthy with its {DEV_SERVER_PORTS} ports in 60 s \
                             (listening on {ports:?})"
                        ),
                    },
                    server.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The server's exit status, if it has exited.
    fn exited(&self) -> Option<std::process::ExitStatus> {
        self.child.lock().unwrap().try_wait().ok().flatten()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("server.log")).unwrap_or_default()
    }

    /// Runs the real CLI directly against this server (for seeding and comparison).
    /// Panics, with the server's log, if the server has exited.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let out = self.cli_command(args).output().expect("run temporal");
        if !out.status.success()
            && let Some(status) = self.exited()
        {
            panic!(
                "the dev server on {} exited ({status}) before `temporal {}`; its log:\n{}",
                self.address,
                args.join(" "),
                self.log()
            );
        }
        out
    }

    /// The real CLI with `args` against this server (a clean environment, no stdin), to run in
    /// the background.
    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(temporal_bin());
        cmd.args(args)
            .args(["--address", &self.address])
            .env_clear()
            .env("HOME", self.home.path())
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null());
        cmd
    }

    /// A tgate configuration file for this server, in a temporary directory (with the audit log
    /// beside it: the tests run tgate with an empty environment, so no state directory).
    pub fn config(&self, dir: &std::path::Path, namespace: &str, extra: &str) -> PathBuf {
        let path = dir.join("tgate.yaml");
        std::fs::write(
            &path,
            format!(
                "version: 1\ntemporal: {}\naudit: {{path: {}}}\nintegrations:\n  - name: dev\n    auth: direct\n    address: {}\n    namespace: {namespace}\n{extra}",
                temporal_bin().display(),
                dir.join("audit.jsonl").display(),
                self.address
            ),
        )
        .unwrap();
        path
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The ports process `pid` listens on at 127.0.0.1 (from /proc: the listening sockets' inodes
/// in /proc/net/tcp, among the process's open file descriptors).
fn listening_ports(pid: u32) -> Vec<u16> {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return Vec::new();
    };
    let listening: Vec<(String, u16)> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl, local_address, rem_address, st (0A = LISTEN), ..., inode (column 10).
            let port = cols.get(1)?.strip_prefix("0100007F:")?;
            (cols.len() > 9 && cols[3] == "0A").then(|| {
                (
                    format!("socket:[{}]", cols[9]),
                    u16::from_str_radix(port, 16).unwrap_or_default(),
                )
            })
        })
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| {
            let target = std::fs::read_link(fd.path()).ok()?;
            listening
                .iter()
                .find(|(inode, _)| target.as_os_str() == inode.as_str())
                .map(|(_, port)| *port)
        })
        .collect()
}

/// How many ports a headless dev server of the pinned CLI listens on once all its services are
/// up: the frontend, HTTP and metrics ports given, and three internal services' on ports it
/// chooses itself. Those bind after the frontend answers health checks; one taken meanwhile
/// (by another test's connection) crashed the server mid-test.
const DEV_SERVER_PORTS: usize = 6;
