//! A real `temporal server start-dev` for tests: free ports on 127.0.0.1, an empty HOME, SQLite in
//! memory, stopped when dropped. Startup failure fails the test loudly.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::temporal_bin;

/// A running dev server.
pub struct DevServer {
    child: Child,
    /// `127.0.0.1:port` of the frontend.
    pub address: String,
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
        let mut failures = Vec::new();
        for _ in 0..3 {
            match DevServer::attempt(namespaces) {
                Ok(server) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "the dev server did not start:\n{}",
            failures.join("\n---\n")
        );
    }

    fn attempt(namespaces: &[&str]) -> Result<DevServer, String> {
        let home = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(home.path().join("server.log")).unwrap();
        let port = free_port();
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
        .args(["--http-port", &free_port().to_string()])
        .args(["--metrics-port", &free_port().to_string()])
        // The tests and benchmarks list and call far faster than the dev server's default rate
        // limits allow ("namespace rate limit exceeded"); raise them.
        .args([
            "--dynamic-config-value",
            "frontend.namespaceRPS.visibility=10000",
        ])
        .args(["--dynamic-config-value", "frontend.namespaceRPS=100000"])
        .args(["--dynamic-config-value", "frontend.rps=100000"])
        // Requests with `caller-type: operator` (as the CLI sends) get this share of the rate.
        .args(["--dynamic-config-value", "system.operatorRPSRatio=1"])
        .args([
            "--dynamic-config-value",
            "frontend.namespaceBurstRatio.visibility=10",
        ])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
        for ns in namespaces {
            cmd.args(["--namespace", ns]);
        }
        let child = cmd.spawn().expect("start temporal server start-dev");
        let server = DevServer {
            child,
            address: format!("127.0.0.1:{port}"),
            home,
        };
        let mut server = server;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = server
                .cli(&["operator", "cluster", "health"])
                .status
                .success();
            if ok {
                return Ok(server);
            }
            let exited = server.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                let log = std::fs::read_to_string(server.home.path().join("server.log"))
                    .unwrap_or_default();
                return Err(format!(
                    "dev server on {} {}; its log:\n{log}",
                    server.address,
                    match exited {
                        Some(status) => format!("exited ({status})"),
                        None => "did not become healthy in 60 s".to_owned(),
                    }
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs the real CLI directly against this server (for seeding and comparison).
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(temporal_bin())
            .args(args)
            .args(["--address", &self.address])
            .env_clear()
            .env("HOME", self.home.path())
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null())
            .output()
            .expect("run temporal")
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
