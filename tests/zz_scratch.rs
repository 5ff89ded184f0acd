mod common;
use std::process::Command;
use common::devserver::DevServer;
use common::tlsproxy::{Ca, Mode, TlsProxy};

#[test]
fn scratch() {
    let server = DevServer::start(&[]);
    let ca = Ca::new("tgate test CA");
    let impostor = Ca::new("tgate test CA");
    let srv = ca.server();
    let mtls = TlsProxy::start(&server.address, &srv, Some(&ca.pem()), Mode::Relay);
    let dir = tempfile::tempdir().unwrap();
    let w = |n: &str, s: &str| std::fs::write(dir.path().join(n), s).unwrap();
    w("ca.pem", &ca.pem());
    let e = ca.expired_client("old"); w("e.pem", &e.cert); w("e.key", &e.key);
    let u = impostor.client("stranger"); w("u.pem", &u.cert); w("u.key", &u.key);
    let m = &mtls.address;
    let extra = format!("  - {{name: impostor, auth: direct, address: '{m}', namespace: default, client_cert: {{file: u.pem}}, client_key: {{file: u.key}}, server_ca: {{file: ca.pem}}}}
  - {{name: expired, auth: direct, address: '{m}', namespace: default, client_cert: {{file: e.pem}}, client_key: {{file: e.key}}, server_ca: {{file: ca.pem}}}}
");
    let config = server.config(dir.path(), "default", &extra);
    for name in ["impostor", "expired"] {
        for _ in 0..6 {
            let o = Command::new(env!("CARGO_BIN_EXE_tgate")).args(["run","--backend","cli","--integration",name,"--config"]).arg(&config).arg("temporal workflow list -o json").env_clear().output().unwrap();
            let s = String::from_utf8_lossy(&o.stderr);
            eprintln!("=== {name} {:?}: {} | {}", o.status.code(), s.lines().next().unwrap_or(""), s.lines().find(|l| l.contains("✗") || l.contains("?")).unwrap_or(""));
        }
        let o = Command::new(env!("CARGO_BIN_EXE_tgate")).args(["run","--backend","cli","--integration",name,"--config"]).arg(&config).arg("temporal workflow list -o json").env_clear().output().unwrap();
        eprintln!("{}", String::from_utf8_lossy(&o.stderr));
    }
    eprintln!("mtls failures: {:?}", mtls.stats.handshake_failures());
}
