//! `tgate doctor`: diagnoses an integration's connection in the four failure classes of Temporal's
//! troubleshooting guide — unreachable, certificate, authentication, namespace not found — each with
//! a concrete fix.
//!
//! First the local material is checked (PEM, validity dates, key matching certificate) without any
//! network traffic; then one read-only call (`operator namespace describe` of the integration's
//! namespace) is made through the CLI executor, and its outcome classified.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{Auth, Integration, Limits, Tls};
use crate::command::Command;

/// The four failure classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Nothing answered: wrong host or port, DNS, firewall, derived Cloud address.
    Unreachable,
    /// TLS material is wrong or the handshake failed.
    Certificate,
    /// The server refused the credentials.
    Authentication,
    /// The namespace does not exist (names are case-sensitive).
    NamespaceNotFound,
}

/// One problem found, with its fix.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    /// Failure class.
    pub class: Class,
    /// What is wrong.
    pub problem: String,
    /// What to do.
    pub fix: String,
}

/// The outcome of `tgate doctor`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Integration name.
    pub integration: String,
    /// Address used.
    pub address: String,
    /// Namespace probed.
    pub namespace: String,
    /// Problems; empty when healthy.
    pub problems: Vec<Problem>,
}

fn problem(class: Class, problem: String, fix: &str) -> Problem {
    Problem {
        class,
        problem,
        fix: fix.to_owned(),
    }
}

/// Checks the integration's TLS material without connecting.
pub fn check_material(integration: &Integration) -> Vec<Problem> {
    let tls = match &integration.auth {
        Auth::CloudMtls { tls } => Some(tls),
        Auth::Direct { tls } => tls.as_ref(),
        Auth::CloudApiKey { .. } => None,
    };
    tls.map(check_tls).unwrap_or_default()
}

fn check_tls(tls: &Tls) -> Vec<Problem> {
    let mut out = Vec::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let mut check_cert = |pem: &str, what: &str| -> Option<CertificateDer<'static>> {
        let der = match CertificateDer::from_pem_slice(pem.as_bytes()) {
            Ok(d) => d,
            Err(e) => {
                out.push(problem(Class::Certificate, format!("{what} is not a PEM certificate ({e})"), "point the configuration at the PEM file that holds the certificate (-----BEGIN CERTIFICATE-----)"));
                return None;
            }
        };
        match X509Certificate::from_der(&der) {
            Ok((_, cert)) => {
                let validity = cert.validity();
                if validity.not_after.timestamp() < now {
                    out.push(problem(Class::Certificate, format!("{what} expired on {}", validity.not_after), "issue a new certificate (and, for Temporal Cloud, make sure its CA is still uploaded to the namespace)"));
                } else if validity.not_before.timestamp() > now {
                    out.push(problem(
                        Class::Certificate,
                        format!("{what} is not valid before {}", validity.not_before),
                        "check the clock, or wait until the certificate becomes valid",
                    ));
                }
            }
            Err(e) => out.push(problem(
                Class::Certificate,
                format!("{what} is not a valid X.509 certificate ({e})"),
                "regenerate the certificate",
            )),
        }
        Some(der)
    };
    let cert = tls
        .client_cert
        .as_deref()
        .and_then(|c| check_cert(c, "the client certificate"));
    if let Some(ca) = &tls.server_ca {
        check_cert(ca, "the server CA");
    }
    if let (Some(cert), Some(key)) = (cert, &tls.client_key) {
        match PrivateKeyDer::from_pem_slice(key.expose().as_bytes()) {
            Err(_) => out.push(problem(Class::Certificate, "the client key is not a PEM private key".to_owned(), "point `client_key` at the PEM private key (-----BEGIN PRIVATE KEY----- or RSA/EC PRIVATE KEY)")),
            Ok(key) => {
                let cert_spki = X509Certificate::from_der(&cert).ok().map(|(_, c)| c.public_key().raw.to_vec());
                let key_spki = rustls::crypto::ring::sign::any_supported_type(&key)
                    .ok()
                    .and_then(|k| k.public_key().map(|p| p.as_ref().to_vec()));
                match (cert_spki, key_spki) {
                    (Some(c), Some(k)) if c != k => out.push(problem(Class::Certificate, "the client key does not match the client certificate".to_owned(), "use the private key the certificate was issued for")),
                    (_, None) => out.push(problem(Class::Certificate, "the client key uses an unsupported algorithm".to_owned(), "use an RSA, ECDSA (P-256/P-384) or Ed25519 key")),
                    _ => {}
                }
            }
        }
    }
    out
}

/// Classifies the CLI's error output from a failed probe.
pub fn classify(stderr: &str, integration: &Integration) -> Problem {
    // The error line and the CLI's failed connection checks (`✗ ...`); not its settings summary
    // (`TLS: false`), which would read as a TLS problem.
    let first = stderr
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("Error: ")
        .to_owned();
    let lower = stderr
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.trim_start().starts_with('✗'))
        .map(|(_, l)| l.to_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    let cloud = matches!(
        integration.auth,
        Auth::CloudApiKey { .. } | Auth::CloudMtls { .. }
    );
    if lower.contains("is not found") || lower.contains("namespacenotfound") {
        let fix = if cloud {
            "namespace names are case-sensitive, and for Temporal Cloud the namespace is also part of the address: check `namespace` and `account_id` together"
        } else {
            "namespace names are case-sensitive: check `namespace` (list them with `temporal operator namespace list`)"
        };
        return problem(Class::NamespaceNotFound, first, fix);
    }
    if [
        "unauthenticated",
        "permissiondenied",
        "permission denied",
        "unauthorized",
        "request unauthorized",
    ]
    .iter()
    .any(|m| lower.contains(m))
    {
        let fix = match integration.auth {
            Auth::CloudApiKey { .. } => {
                "the API key was refused: it may be expired, disabled or lack access to this namespace; create a new key and update the secret"
            }
            _ => {
                "the client certificate was refused: upload its CA certificate to the namespace (Temporal Cloud: namespace settings → CA certificates) and check the certificate filters"
            }
        };
        return problem(Class::Authentication, first, fix);
    }
    if [
        "x509",
        "certificate",
        "tls handshake",
        "did not respond with tls",
        "tls:",
    ]
    .iter()
    .any(|m| lower.contains(m))
    {
        let fix = if lower.contains("did not respond with tls") {
            "the server speaks plaintext: remove the TLS settings from the integration, or check the port"
        } else if lower.contains("unknown authority") || lower.contains("not signed") {
            "the server's certificate is not signed by `server_ca`: configure the CA that issued it (or none, for publicly trusted servers)"
        } else {
            "check `server_ca` (the CA that signed the server's certificate), `server_name` (must match the server's certificate) and the client certificate and key"
        };
        return problem(Class::Certificate, first, fix);
    }
    let fix = if lower.contains("resolve") || lower.contains("no such host") {
        if cloud {
            "the host does not resolve: the Cloud address is {namespace}.{account_id}.tmprl.cloud:7233 — check the account id and namespace"
        } else {
            "the host does not resolve: check the host name in `address`"
        }
    } else if cloud {
        "nothing answered: the Cloud address is {namespace}.{account_id}.tmprl.cloud:7233 — check the account id, and that outbound port 7233 is open"
    } else {
        "nothing answered at the address: check host and port, that the server runs, and firewalls"
    };
    problem(Class::Unreachable, first, fix)
}

/// Diagnoses `integration`: local checks, then one read-only call through the CLI.
pub fn diagnose(binary: &Path, integration: &Integration, limits: &Limits) -> Report {
    let mut problems = check_material(integration);
    if problems.is_empty() {
        let argv = [
            "temporal",
            "operator",
            "namespace",
            "describe",
            "-n",
            &integration.namespace,
            "-o",
            "json",
        ];
        let probe = Command::parse(&argv).map_err(|e| e.to_string());
        match probe.and_then(|cmd| {
            crate::exec::run_cli(binary, &cmd, integration, "doctor", limits)
                .map_err(|e| e.to_string())
        }) {
            Ok(run) if run.exit_code == 0 => {}
            Ok(run) => problems.push(classify(&String::from_utf8_lossy(&run.stderr), integration)),
            Err(e) => problems.push(problem(
                Class::Unreachable,
                e,
                "check the `temporal` binary tgate runs (configuration `temporal:`)",
            )),
        }
    }
    Report {
        integration: integration.name.clone(),
        address: integration.address.clone(),
        namespace: integration.namespace.clone(),
        problems,
    }
}
