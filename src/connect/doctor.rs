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
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Serialize;
use x509_parser::der_parser::asn1_rs::{Any, Class as DerClass, Tag};
use x509_parser::prelude::{FromDer, X509Certificate, X509Version};

use super::{Auth, Backend, Integration, Limits, Tls};
use crate::command::Command;
use crate::exec::grpc::ProbeFailure;

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
    /// tgate's own setup: the `temporal` binary it runs is missing or cannot start.
    Setup,
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
    /// The executors whose connection was tried, in order (none when the local checks found a
    /// problem).
    pub probed: Vec<Probe>,
    /// Problems; empty when healthy.
    pub problems: Vec<Problem>,
    /// What does not stop the integration working but makes it work otherwise than configured:
    /// under `--backend auto`, material the native executor cannot use (the CLI runs every
    /// command instead).
    pub warnings: Vec<Problem>,
}

/// An executor whose connection doctor tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Probe {
    /// The pinned `temporal` binary.
    Cli,
    /// The native gRPC executor.
    Native,
}

fn problem(class: Class, problem: String, fix: impl Into<String>) -> Problem {
    Problem {
        class,
        problem,
        fix: fix.into(),
    }
}

/// Checks the integration's TLS material without connecting.
pub fn check_material(integration: &Integration) -> Vec<Problem> {
    let (mut all, native_only) = check_material_split(integration);
    all.extend(native_only);
    all
}

/// [`check_material`]'s findings in two: what no executor can use, and what only the native
/// executor cannot (a key algorithm its TLS library lacks, an X.509 version 1 certificate, a CA
/// bundle with a broken block), which the CLI still takes.
pub fn check_material_split(integration: &Integration) -> (Vec<Problem>, Vec<Problem>) {
    let mut native_only = Vec::new();
    let all = integration
        .tls()
        .map(|t| check_tls(t, &mut native_only))
        .unwrap_or_default();
    (all, native_only)
}

/// [`check_material`] less what only the native executor cannot use (a key algorithm its TLS
/// library lacks, which the CLI may still take): what `tgate run` refuses before deciding.
pub fn check_material_for_run(integration: &Integration) -> Vec<Problem> {
    check_material_split(integration).0
}

/// The fix when the server does not accept the client certificate it was given (or would be).
const CLIENT_CERT_REFUSED: &str = "the server did not accept the client certificate: use one issued by a CA the server trusts (for Temporal Cloud, a CA uploaded to the namespace), currently valid, with its own key";

/// The fix when the server asked for a client certificate and none is configured.
const NO_CLIENT_CERT: &str =
    "the server requires a client certificate (mTLS): configure `client_cert` and `client_key`";

/// The fix when a server closed a TLS connection without a client certificate once the client's
/// handshake was done, without saying why.
const MAYBE_NO_CLIENT_CERT: &str = "a server requiring a client certificate (mTLS) does this: configure `client_cert` and `client_key`, or check that the address is the server's gRPC port";

/// The fix when a TLS connection met a plaintext server.
const PLAINTEXT_SERVER: &str =
    "the server speaks plaintext: remove the TLS settings from the integration, or check the port";

/// The fix when a plaintext connection met a server that requires TLS.
const NEEDS_TLS: &str = "the server requires TLS: give the integration `server_ca` (the CA of the server's certificate) or, for a publicly trusted certificate, `server_name`";

/// The fix when a plaintext connection was closed at its first call, or answered with something
/// that is not HTTP/2 (a TLS server's alert reads as a frame of the wrong size).
const CLOSED_WITHOUT_TLS: &str = "the server did not answer as a plaintext gRPC server: check host and port (the frontend's gRPC port, 7233 by default, not the Web UI's or the HTTP API's), and whether it requires TLS (then give the integration `server_ca` or `server_name`)";

/// The fix when the address answers, but not as a gRPC server.
const NOT_GRPC: &str = "the address answers, but not as Temporal's gRPC frontend: check the port (the frontend's gRPC port, 7233 by default, not the Web UI's or the HTTP API's)";

/// The fix when a TLS server ended the handshake without saying more than that.
const HANDSHAKE_FAILURE: &str = "the server ended the TLS handshake: it may require a client certificate (mTLS: configure `client_cert` and `client_key`), or share no TLS version or cipher suite with tgate (TLS 1.3, or TLS 1.2 with ECDHE and AES-GCM or ChaCha20)";

/// The fix when the address answered, but not in a way the classes above know.
const ANSWERED_OTHERWISE: &str = "the address answered, but not as a working Temporal frontend: check that it is the frontend's gRPC port (7233 by default), and the server's health and logs";

/// The fix when no TLS connection was made within the bound: the TCP connection or the TLS
/// handshake, which tonic does not tell apart.
const NO_TLS_CONNECTION_IN_TIME: &str = "no TLS connection was made in time: nothing answered at the address, or a server took the connection and never finished the TLS handshake: check host and port, that the server runs and serves TLS there, and firewalls";

/// The server took the connection (and the TLS handshake, if any) and then said nothing.
const ACCEPTED_SILENT: &str = "the server accepted the connection but did not answer: check the server's health (a frontend that accepts but does not serve), and that the address is its gRPC port";

/// The fix when the server's certificate names no host in subjectAltName: a Common Name alone,
/// which neither Go's TLS (the CLI) nor rustls reads as a host name, or an X.509 version 1
/// certificate, which has no extensions at all (and which rustls refuses as such).
const NO_SUBJECT_ALT_NAME: &str = "the server's certificate names no host in subjectAltName (a Common Name alone, or an X.509 version 1 certificate, which has no extensions), and neither the CLI nor tgate reads a host from the Common Name: reissue it as a version 3 certificate with the host of `address` (or `server_name`) in subjectAltName; setting `server_name` cannot help";

/// The fix when rustls refuses a certificate of the server's chain as X.509 version 1 (the
/// server's own, which then names no host either, or an intermediate CA's).
const V1_CERTIFICATE: &str = "a certificate the server sent is X.509 version 1 (its own, which then names no host in subjectAltName, or an intermediate CA's), which tgate does not accept: reissue it as a version 3 certificate, the server's with the host of `address` (or `server_name`) in subjectAltName";

/// The fix for a TLS failure with no more precise cause.
const CHECK_TLS: &str = "check `server_ca` (the CA that signed the server's certificate), `server_name` (must match the server's certificate) and the client certificate and key";

/// PEM material as doctor speaks of it: what it is, its field, and where it was read from.
struct Material<'a> {
    what: &'a str,
    field: &'a str,
    origin: Option<&'a str>,
}

impl Material<'_> {
    /// The field and its origin, to end a problem with (QA: a problem in the material named
    /// neither the field nor the file).
    fn at(&self) -> String {
        match self.origin {
            Some(origin) => format!(" (`{}`: {origin})", self.field),
            None => format!(" (`{}`)", self.field),
        }
    }
}

/// What is wrong with a certificate's validity dates at `now` (Unix seconds), if anything.
fn dates(cert: &X509Certificate<'_>, m: &Material<'_>, now: i64) -> Option<Problem> {
    let validity = cert.validity();
    if validity.not_after.timestamp() < now {
        Some(problem(
            Class::Certificate,
            format!("{} expired on {}{}", m.what, validity.not_after, m.at()),
            if m.field == "server_ca" {
                // Only Direct Connect has one (QA: the fix spoke of Temporal Cloud).
                "give `server_ca` the server's current CA certificate (its operator issues a new one when it expires)"
            } else {
                "issue a new certificate (and, for Temporal Cloud, make sure its CA is still uploaded to the namespace)"
            },
        ))
    } else if validity.not_before.timestamp() > now {
        Some(problem(
            Class::Certificate,
            format!(
                "{} is not valid before {}{}",
                m.what,
                validity.not_before,
                m.at()
            ),
            "check the clock, or wait until the certificate becomes valid",
        ))
    } else {
        None
    }
}

/// A CERTIFICATE block's content read as an X.509 certificate, all of it: bytes after the
/// certificate, which the parser leaves and Go refuses, would be sent or written with it (review:
/// a private key's DER after a CA's, in one block).
fn whole_x509(der: &[u8]) -> Option<X509Certificate<'_>> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Some(cert),
        _ => None,
    }
}

/// A CERTIFICATE block whose content is not an X.509 certificate. The parser's own words
/// (`Der(UnexpectedTag { expected: Some(Tag(16)), actual: Tag(0) })`) tell nobody anything: QA.
fn not_x509(m: &Material<'_>) -> Problem {
    problem(
        Class::Certificate,
        format!(
            "{} is not an X.509 certificate: the content of its CERTIFICATE block does not read as one{}",
            m.what,
            m.at()
        ),
        if m.field == "server_ca" {
            "give `server_ca` the PEM certificate of the CA that issued the server's certificate (`openssl x509 -in FILE -noout -text` shows what a file holds)"
        } else {
            "give `client_cert` the PEM certificate issued for this client (`openssl x509 -in FILE -noout -text` shows what a file holds)"
        },
    )
}

fn not_pem(m: &Material<'_>, why: &str) -> Problem {
    problem(
        Class::Certificate,
        format!("{} is not a PEM certificate ({why}){}", m.what, m.at()),
        "point the configuration at the PEM file that holds the certificate (-----BEGIN CERTIFICATE-----)",
    )
}

/// What is wrong with PEM text, in words: the PEM reader's own messages print the lines they are
/// about as arrays of byte values (`missing section end marker: [45, 45, ...]`: QA). Nothing of
/// the text is quoted but a block's label that is one (`CERTIFICATE`, `RSA PRIVATE KEY`): the
/// reader takes all of a line after `-----BEGIN ` as the label, so a file whose line breaks were
/// lost (a certificate and its key pasted on one line) would have the key quoted (review).
fn pem_words(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => {
            let label = std::str::from_utf8(end_marker).ok().filter(|l| {
                !l.is_empty()
                    && l.len() <= 40
                    && l.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
            });
            match label {
                Some(label) => format!("a block has no `-----END {label}-----` line"),
                None => "a block has no END line, or its BEGIN line is malformed (are the line \
                         breaks lost?)"
                    .to_owned(),
            }
        }
        Error::IllegalSectionStart { .. } => "a line that begins a block is malformed".to_owned(),
        Error::Base64Decode(_) => "a block's base64 does not decode".to_owned(),
        Error::NoItemsFound => "no certificate".to_owned(),
        Error::SectionTooLarge => "a block is larger than a PEM reader takes".to_owned(),
        _ => "the PEM text cannot be read".to_owned(),
    }
}

/// The problems of `tls` for every executor; those of the native executor only go to
/// `native_only`.
fn check_tls(tls: &Tls, native_only: &mut Vec<Problem>) -> Vec<Problem> {
    let mut out = Vec::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let cert = Material {
        what: "the client certificate",
        field: "client_cert",
        origin: tls.origins.client_cert.as_deref(),
    };
    let key_at = Material {
        what: "the client key",
        field: "client_key",
        origin: tls.origins.client_key.as_deref(),
    }
    .at();
    // The client certificate, parsed once: `Some` when it is PEM, holding its public key when it
    // is also X.509.
    let cert_spki = tls.client_cert.as_deref().and_then(|pem| {
        let mut blocks = CertificateDer::pem_slice_iter(pem.as_bytes());
        let der = match blocks.next() {
            Some(Ok(der)) => der,
            Some(Err(e)) => {
                out.push(not_pem(&cert, &pem_words(&e)));
                return None;
            }
            None => {
                out.push(not_pem(&cert, "no certificate"));
                return None;
            }
        };
        // Every further block of the chain is sent to the server as a certificate too: each
        // must be one (QA: a private key in a block labelled CERTIFICATE, after the
        // certificate, passed every check and went out on the wire, in clear under TLS 1.2).
        for further in blocks {
            match further {
                Ok(der) if whole_x509(&der).is_some() => {}
                Ok(_) => {
                    out.push(not_x509(&Material {
                        what: "a further block of the client certificate chain",
                        ..cert
                    }));
                    break;
                }
                Err(e) => {
                    out.push(not_pem(&cert, &pem_words(&e)));
                    break;
                }
            }
        }
        Some(match whole_x509(&der) {
            Some(x509) => {
                out.extend(dates(&x509, &cert, now));
                // rustls (the native executor) takes only X.509 version 3; Go takes version 1,
                // which `openssl x509 -req` issues without extensions.
                let v = x509.version();
                if v != X509Version::V3 {
                    native_only.push(problem(
                        Class::Certificate,
                        format!(
                            "{} is X.509 version {}: the native executor takes only version 3 (the CLI, and so `--backend cli`, takes it){}",
                            cert.what,
                            v.0 + 1,
                            cert.at()
                        ),
                        "reissue it as version 3: `openssl x509 -req … -extfile EXT` with an extension such as `basicConstraints=CA:FALSE`",
                    ));
                }
                Some(x509.public_key().raw.to_vec())
            }
            None => {
                out.push(not_x509(&cert));
                None
            }
        })
    });
    // A CA bundle (several roots, or an old one kept during a rotation) is usable when any of
    // its certificates is: a problem (the first certificate's) only when none is.
    if let Some(ca) = &tls.server_ca {
        let m = Material {
            what: "the server CA",
            field: "server_ca",
            origin: tls.origins.server_ca.as_deref(),
        };
        let mut broken = None;
        let mut not_certificate = false;
        let found: Vec<Option<Problem>> = CertificateDer::pem_slice_iter(ca.as_bytes())
            .map(|der| match der {
                Ok(der) => match whole_x509(&der) {
                    Some(cert) => dates(&cert, &m, now),
                    None => {
                        not_certificate = true;
                        Some(not_x509(&m))
                    }
                },
                Err(e) => {
                    let why = pem_words(&e);
                    let p = not_pem(&m, &why);
                    broken.get_or_insert(why);
                    Some(p)
                }
            })
            .collect();
        if found.is_empty() {
            out.push(not_pem(&m, "no certificate"));
        } else if found.iter().all(Option::is_some) {
            out.extend(found.into_iter().flatten().next());
        } else if not_certificate {
            // Beside a usable CA, a CERTIFICATE block whose content is something else: the
            // native executor refuses the bundle, the CLI skips the block, and whatever it holds
            // is written, with the CA, to the file the CLI reads. A private key labelled
            // CERTIFICATE got past the load's check for keys this way (QA re-check): refused for
            // every executor.
            out.push(problem(
                Class::Certificate,
                format!(
                    "{} bundle holds a CERTIFICATE block that is not an X.509 certificate{}",
                    m.what,
                    m.at()
                ),
                "remove the block from `server_ca`: a CA bundle holds CA certificates alone",
            ));
        } else if let Some(e) = broken {
            // The CLI skips a broken block in a bundle; the native executor refuses the bundle.
            native_only.push(problem(
                Class::Certificate,
                format!("{} bundle holds a block that is not a certificate ({e}): the native executor refuses the bundle (the CLI skips the block){}", m.what, m.at()),
                "remove or repair the broken block in `server_ca`",
            ));
        }
    }
    if let (Some(cert_spki), Some(key)) = (cert_spki, &tls.client_key) {
        match PrivateKeyDer::from_pem_slice(key.expose().as_bytes()) {
            Err(_) => out.push(problem(Class::Certificate, format!("the client key is not a PEM private key{key_at}"), "point `client_key` at the PEM private key (-----BEGIN PRIVATE KEY----- or RSA/EC PRIVATE KEY)")),
            Ok(key) => {
                let key_spki = rustls::crypto::ring::sign::any_supported_type(&key)
                    .ok()
                    .and_then(|k| k.public_key().map(|p| p.as_ref().to_vec()));
                let matches = match (&cert_spki, &key_spki) {
                    (Some(c), Some(k)) => Some(c == k),
                    // A key ring cannot load (P-521, RSA under 2048 bits): compared by the public
                    // key it carries, when it is one the CLI takes.
                    (Some(c), None) => {
                        ec_key_matches(&key, c).or_else(|| rsa_key_matches(&key, c))
                    }
                    (None, _) => None,
                };
                if matches == Some(false) {
                    out.push(problem(Class::Certificate, format!("the client key does not match the client certificate{key_at}"), "use the private key the certificate was issued for"));
                } else if key_spki.is_none() && !cli_takes(&key) {
                    // Neither ring nor the CLI's reading takes it (QA: a `PRIVATE KEY` block of
                    // X25519, RSA-PSS, DSA or bytes that are no key at all was said to be one
                    // the CLI takes; the CLI then failed at every command).
                    out.push(problem(Class::Certificate, format!("the client key is not a key either executor can use: not a well-formed RSA key, ECDSA key (P-256, P-384, P-521) or Ed25519 key (X25519, RSA-PSS, DSA and the like cannot sign a TLS handshake here){key_at}"), "use the private key the certificate was issued for, as RSA, ECDSA or Ed25519 (`openssl pkey -in KEY -noout -text` shows what it is)"));
                } else if key_spki.is_none() {
                    native_only.push(problem(Class::Certificate, format!("the client key uses an algorithm or size the native executor does not support (the CLI, and so `--backend cli`, takes it){key_at}"), "for the native executor, use an RSA key of 2048 to 8192 bits, an ECDSA (P-256/P-384) or an Ed25519 key"));
                }
            }
        }
    }
    out
}

/// `id-ecPublicKey` (1.2.840.10045.2.1), the content of its DER encoding.
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// `id-Ed25519` (1.3.101.112), the content of its DER encoding.
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// `rsaEncryption` (1.2.840.113549.1.1.1), the content of its DER encoding.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// The named curves the CLI's TLS (Go's `crypto/tls`) signs a handshake with an ECDSA client key
/// on, as the content of their OIDs' DER encodings: P-256, P-384, P-521. Not P-224, which Go
/// parses but has no signature scheme for: it sends no certificate (review, against `openssl
/// s_server -Verify 1`).
const GO_CURVES: [&[u8]; 3] = [
    &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
    &[0x2b, 0x81, 0x04, 0x00, 0x22],
    &[0x2b, 0x81, 0x04, 0x00, 0x23],
];

/// Whether an RSA private key (PKCS#8 `rsaEncryption` or PKCS#1) belongs to a certificate's
/// public key (`spki`, DER), judged by its modulus and public exponent. For the RSA keys ring
/// cannot load (under 2048 bits), which the CLI takes. `None` when that cannot be told: not an
/// RSA key, or DER this reader does not know.
fn rsa_key_matches(key: &PrivateKeyDer, spki: &[u8]) -> Option<bool> {
    let private = rsa_fields(key)?;
    // SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier { rsaEncryption, NULL },
    //   subjectPublicKey BIT STRING (no unused bits; RSAPublicKey ::= { modulus, publicExponent }) }
    let cert = der_sequence(spki)?;
    if der_items(cert.first()?)?.first()?.data != RSA_ENCRYPTION {
        return Some(false);
    }
    let bits = cert.get(1)?.data.split_first()?;
    let public = der_sequence(bits.1)?;
    Some(
        *bits.0 == 0
            && public.len() == 2
            && public[0].data == private[1].data
            && public[1].data == private[2].data,
    )
}

/// Whether an EC private key belongs to a certificate's public key (`spki`, DER), judged by the
/// public key the private key carries (SEC 1's optional `publicKey`, which OpenSSL, Go and ring
/// all write) and its curve. For the keys ring cannot load (P-521), which the CLI takes. `None`
/// when that cannot be told: not an EC key, no public key in it, or DER this reader does not know.
fn ec_key_matches(key: &PrivateKeyDer, spki: &[u8]) -> Option<bool> {
    let (curve, public) = ec_parts(key)?;
    // A curve the CLI does not take (secp256k1, say): neither executor can use the key.
    let curve = curve.filter(|c| GO_CURVES.contains(c))?;
    // SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier { id-ecPublicKey, namedCurve },
    //                                     subjectPublicKey BIT STRING }
    let cert = der_sequence(spki)?;
    let algorithm = der_items(cert.first()?)?;
    let cert_curve = algorithm.get(1).map(|c| c.data);
    Some(
        algorithm.first()?.data == EC_PUBLIC_KEY
            && cert_curve == Some(curve)
            && cert.get(1)?.data == public?,
    )
}

/// An EC private key's curve (its OID's content) and public key (its BIT STRING's content), each
/// when the key holds it.
type EcParts<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// [`EcParts`] of `key`; `None` when it is not an EC key, or DER this reader does not know.
fn ec_parts<'a>(key: &'a PrivateKeyDer) -> Option<EcParts<'a>> {
    // In PKCS#8: AlgorithmIdentifier { id-ecPublicKey, namedCurve }, and an ECPrivateKey.
    let (mut curve, ec_key) = match key {
        PrivateKeyDer::Pkcs8(k) => {
            let (algorithm, inner) = pkcs8(k)?;
            if algorithm.first()?.data != EC_PUBLIC_KEY {
                return None;
            }
            (algorithm.get(1).map(|c| c.data), inner)
        }
        PrivateKeyDer::Sec1(k) => (None, k.secret_sec1_der()),
        _ => return None,
    };
    // ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING,
    //                             [0] namedCurve OPTIONAL, [1] publicKey BIT STRING OPTIONAL }
    let mut public = None;
    for field in der_sequence(ec_key)?.iter().skip(2) {
        if field.header.class() != DerClass::ContextSpecific {
            continue;
        }
        let inner = Any::from_der(field.data).ok()?.1;
        match field.header.tag().0 {
            0 => curve = curve.or(Some(inner.data)),
            1 => public = Some(inner.data),
            _ => {}
        }
    }
    Some((curve, public))
}

/// A PKCS#8 key's `PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, privateKey OCTET
/// STRING, ... }`: the AlgorithmIdentifier's items (the algorithm's OID, then its parameters)
/// and the private key's content; `None` when the DER is not that.
fn pkcs8<'a>(key: &'a PrivatePkcs8KeyDer<'_>) -> Option<(Vec<Any<'a>>, &'a [u8])> {
    let info = der_sequence(key.secret_pkcs8_der())?;
    Some((der_items(info.get(1)?)?, info.get(2)?.data))
}

/// An RSA private key's fields (`RSAPrivateKey ::= SEQUENCE { version, modulus, publicExponent,
/// privateExponent, prime1, prime2, exponent1, exponent2, coefficient, ... }`), when `key` is an
/// RSA key (PKCS#1, or PKCS#8 `rsaEncryption`) the CLI signs with ([`go_modulus`]).
fn rsa_fields<'a>(key: &'a PrivateKeyDer) -> Option<Vec<Any<'a>>> {
    let der = match key {
        PrivateKeyDer::Pkcs8(k) => {
            let (algorithm, inner) = pkcs8(k)?;
            if algorithm.first()?.data != RSA_ENCRYPTION {
                return None;
            }
            inner
        }
        PrivateKeyDer::Pkcs1(k) => k.secret_pkcs1_der(),
        _ => return None,
    };
    let fields = der_sequence(der)?;
    (fields.len() >= 9 && go_modulus(&fields[1])).then_some(fields)
}

/// Whether an RSA modulus (a DER INTEGER) is one the CLI signs with: 1024 bits or more (Go
/// refuses smaller keys at signing: `crypto/rsa: 512-bit keys are insecure`; review).
fn go_modulus(n: &Any<'_>) -> bool {
    let zeros = n.data.iter().take_while(|b| **b == 0).count();
    let digits = &n.data[zeros..];
    let bits = digits.first().map_or(0, |top| {
        (digits.len() - 1) * 8 + (8 - top.leading_zeros() as usize)
    });
    bits >= 1024
}

/// Whether the CLI's TLS (Go's `crypto/tls`) takes `key` as a client key, as far as its DER
/// tells: RSA (PKCS#1, or PKCS#8 `rsaEncryption`), ECDSA on one of [`GO_CURVES`] (SEC 1 or
/// PKCS#8), or Ed25519. Not X25519, RSA-PSS, DSA, other curves, or bytes that are no key.
fn cli_takes(key: &PrivateKeyDer) -> bool {
    let ec =
        || ec_parts(key).is_some_and(|(curve, _)| curve.is_some_and(|c| GO_CURVES.contains(&c)));
    let ed25519 = || match key {
        PrivateKeyDer::Pkcs8(k) => pkcs8(k)
            .is_some_and(|(algorithm, _)| algorithm.first().is_some_and(|o| o.data == ED25519)),
        _ => false,
    };
    rsa_fields(key).is_some() || ec() || ed25519()
}

/// The elements of the DER SEQUENCE `der` encodes, or `None` when it is not one.
fn der_sequence(der: &[u8]) -> Option<Vec<Any<'_>>> {
    der_items(&Any::from_der(der).ok()?.1)
}

/// The elements of a SEQUENCE, or `None` when `sequence` is not one.
fn der_items<'a>(sequence: &Any<'a>) -> Option<Vec<Any<'a>>> {
    if sequence.header.tag() != Tag::Sequence {
        return None;
    }
    let mut rest = sequence.data;
    let mut items = Vec::new();
    while !rest.is_empty() {
        let (after, item) = Any::from_der(rest).ok()?;
        items.push(item);
        rest = after;
    }
    Some(items)
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
    // In TLS 1.3 the client finishes its handshake before the server checks the client
    // certificate, so a refusal arrives after the CLI's `✓ TLS handshake succeeded`: as the
    // server's alert (`remote error: tls: expired certificate`, `... error decrypting message`),
    // or, as the connection closed, `write: broken pipe` when the CLI wrote first, or `read:
    // connection reset by peer` / `error reading server preface: EOF` when it read.
    let handshake_done = stderr
        .lines()
        .any(|l| l.trim_start() == "✓ TLS handshake succeeded");
    let refused_after_handshake = handshake_done
        && [
            "remote error: tls:",
            "write: broken pipe",
            "connection reset by peer",
            "error reading server preface: eof",
        ]
        .iter()
        .any(|m| lower.contains(m));
    // The CLI's deadline passed after its own checks found the connection made and none failed
    // (a server that accepts and then says nothing, before or after a TLS handshake): something
    // answered the connection, so not "nothing answered" (QA).
    let connected = stderr
        .lines()
        .any(|l| l.trim_start() == "✓ TCP connection established");
    // Only in place of "nothing answered": a more precise cause the error line gives is kept
    // (review).
    let failed_check = stderr.lines().any(|l| l.trim_start().starts_with('✗'));
    let p = found(first, &lower, refused_after_handshake, integration);
    if connected
        && !failed_check
        && lower.contains("deadline exceeded")
        && p.class == Class::Unreachable
        && p.fix == unreachable_fix(integration)
    {
        return problem(Class::Unreachable, p.problem, ACCEPTED_SILENT);
    }
    p
}

/// Classifies a failed native probe as [`classify`] does the CLI's output: the same classes and
/// fixes, read from what tonic, rustls and the server say.
pub fn classify_native(failure: &ProbeFailure, integration: &Integration) -> Problem {
    let (code, answered, message) = match failure {
        ProbeFailure::Connect(message) => (None, false, message.as_str()),
        ProbeFailure::Call {
            code,
            answered,
            message,
        } => (Some(*code), *answered, message.as_str()),
        ProbeFailure::Timeout(t) => {
            return problem(
                Class::Unreachable,
                format!("connected, but no answer within {t:?}"),
                ACCEPTED_SILENT,
            );
        }
        ProbeFailure::Stopped(name) => {
            return problem(
                Class::Unreachable,
                format!("stopped by {name} before the server answered"),
                "run the check again",
            );
        }
    };
    let lower = message.to_lowercase();
    let client_cert = integration.tls().is_some_and(|t| t.client_cert.is_some());
    // The server's own answer is said as the CLI says it; a connection that failed, in tonic's
    // and rustls's words.
    let first = if answered {
        format!(
            "unable to describe namespace {}: {message}",
            integration.namespace
        )
    } else {
        message.to_owned()
    };
    if answered {
        let code = code.unwrap_or(tonic::Code::Unknown);
        // A server that is not gRPC answers HTTP, which tonic maps to a code (an HTTP status
        // without gRPC's headers; a body that is not a gRPC message).
        if [
            "grpc-status header missing",
            "invalid compression flag",
            "unexpected eof decoding stream",
        ]
        .iter()
        .any(|m| lower.contains(m))
        {
            return problem(Class::Unreachable, first, NOT_GRPC);
        }
        return match code {
            tonic::Code::NotFound => found(first, "namespacenotfound", false, integration),
            tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
                found(first, "unauthenticated", false, integration)
            }
            _ => problem(
                Class::Unreachable,
                first,
                format!(
                    "the server answered the call with an error ({code:?}): check the server's health and logs"
                ),
            ),
        };
    }
    // rustls names a server's refusal by the alert it received (`CertificateRequired` when no
    // client certificate was sent in TLS 1.3, `HandshakeFailure` in TLS 1.2; `BadCertificate`,
    // `UnknownCA`... for one it refused).
    if lower.contains("received fatal alert") {
        let fix = if client_cert {
            CLIENT_CERT_REFUSED
        } else if lower.contains("certificaterequired") {
            NO_CLIENT_CERT
        } else if lower.contains("handshakefailure") {
            HANDSHAKE_FAILURE
        } else {
            CHECK_TLS
        };
        return problem(Class::Certificate, first, fix);
    }
    // In TLS 1.3 the client's handshake is done before the server checks the client certificate;
    // a server refusing it (or its absence) sends its alert and closes, and what the call then
    // meets is mostly the closed connection, not the alert.
    let closed = closed_connection(&lower);
    if code.is_some() && closed && integration.tls().is_some() {
        let first =
            format!("the server closed the connection once the TLS handshake was done ({message})");
        return found(first, &lower, true, integration);
    }
    let not_http2 = lower.contains("h2 protocol error");
    if code.is_some()
        && (closed || not_http2)
        && matches!(integration.auth, Auth::Direct { tls: None })
    {
        return problem(Class::Unreachable, first, CLOSED_WITHOUT_TLS);
    }
    found(first, &lower, false, integration)
}

/// The class and fix of a failure: `first` is said as the problem, `lower` is what is known of it
/// (lower case), `refused_after_handshake` that the server refused the connection once the
/// client's TLS handshake was done.
fn found(
    first: String,
    lower: &str,
    refused_after_handshake: bool,
    integration: &Integration,
) -> Problem {
    let cloud = matches!(
        integration.auth,
        Auth::CloudApiKey { .. } | Auth::CloudMtls { .. }
    );
    let client_cert = integration.tls().is_some_and(|t| t.client_cert.is_some());
    let any = |markers: &[&str]| markers.iter().any(|m| lower.contains(m));
    if any(&["is not found", "namespacenotfound"]) {
        let fix = if cloud {
            "namespace names are case-sensitive, and for Temporal Cloud the namespace is also part of the address: check `namespace` and `account_id` together"
        } else {
            "namespace names are case-sensitive: check `namespace` (list them with `temporal operator namespace list`)"
        };
        return problem(Class::NamespaceNotFound, first, fix);
    }
    if any(&[
        "unauthenticated",
        "permissiondenied",
        "permission denied",
        "unauthorized",
        "request unauthorized",
    ]) {
        let fix = if integration.api_key().is_some() {
            "the API key was refused: it may be expired, disabled or lack access to this namespace; create a new key and update the secret"
        } else if client_cert {
            "the client certificate was refused: upload its CA certificate to the namespace (Temporal Cloud: namespace settings → CA certificates) and check the certificate filters"
        } else {
            "the server requires credentials: configure `api_key`, or `client_cert` and `client_key`"
        };
        return problem(Class::Authentication, first, fix);
    }
    // The CLI's own finding: the server asked for a client certificate and got none. Go's TLS
    // client sends a configured certificate only when its issuer is among the CAs the server
    // names as accepted, so with one configured this means the server does not trust its issuer.
    if any(&["server requires client certificate", "server requires mtls"]) {
        let fix = if client_cert {
            CLIENT_CERT_REFUSED
        } else {
            NO_CLIENT_CERT
        };
        return problem(Class::Certificate, first, fix);
    }
    if refused_after_handshake {
        let fix = if client_cert {
            CLIENT_CERT_REFUSED
        } else {
            MAYBE_NO_CLIENT_CERT
        };
        return problem(Class::Certificate, first, fix);
    }
    if any(&["server requires tls"]) {
        return problem(Class::Certificate, first, NEEDS_TLS);
    }
    if any(&[
        "x509",
        "certificate",
        "tls handshake",
        "did not respond with tls",
        "tls:",
        "invalidcontenttype",
    ]) {
        let server_ca = integration.tls().is_some_and(|t| t.server_ca.is_some());
        let fix = if any(&["did not respond with tls", "invalidcontenttype"]) {
            plaintext_fix(integration)
        } else if any(&["unknown authority", "not signed", "unknownissuer"]) {
            if server_ca {
                "the server's certificate is not signed by `server_ca`: configure the CA that issued it (or none, for publicly trusted servers)"
            } else {
                "the server's certificate is not signed by a CA this machine trusts: configure `server_ca` with the CA that issued it"
            }
        } else if !client_cert && any(&["handshake failure", "handshakefailure"]) {
            HANDSHAKE_FAILURE
        } else if any(&["unsupportedcertversion"]) {
            V1_CERTIFICATE
        } else if any(&["legacy common name", "not valid for any names"]) {
            NO_SUBJECT_ALT_NAME
        } else if any(&["expired", "not yet valid", "notvalidyet"]) {
            "the server's certificate is outside its validity dates (expired, or not yet valid): renew it on the server, or check this machine's clock"
        } else if any(&[
            "notvalidforname",
            "certificate is valid for",
            "not valid for",
        ]) {
            "the server's certificate does not name the host of `address`: set `server_name` to a name the certificate holds"
        } else {
            CHECK_TLS
        };
        return problem(Class::Certificate, first, fix);
    }
    // TLS without HTTP/2 (rustls's words, then the CLI's), an HTTP/1 server read as HTTP/2, an
    // HTTP/2 server answering without gRPC's trailers.
    if any(&[
        "http/2 was not negotiated",
        "missing selected alpn property",
        "frame too large",
        "closed the stream without sending trailers",
    ]) {
        return problem(Class::Unreachable, first, NOT_GRPC);
    }
    let fix = if any(&["resolve", "no such host", "failed to lookup address"]) {
        if cloud {
            format!(
                "the host does not resolve: the Cloud address, {}, is made of the namespace and the account id: check `namespace` and `account_id`",
                integration.address
            )
        } else {
            "the host does not resolve: check the host name in `address`".to_owned()
        }
    } else if any(&["no connection within"]) && integration.tls().is_some() {
        // The bound covers the TCP connection and the TLS handshake alike: a server that took
        // the connection and never finished the handshake ends here too (QA: "nothing
        // answered" where something had).
        NO_TLS_CONNECTION_IN_TIME.to_owned()
    } else if any(&[
        "connection refused",
        "deadline exceeded",
        "timeout",
        "timed out",
        "no route to host",
        "unreachable",
        "tcp connect error",
        "no connection within",
        "connection reset",
        "broken pipe",
        "connection closed",
        "eof",
    ]) {
        unreachable_fix(integration)
    } else {
        // Something answered, in words none of the above knows (a server's own error through
        // the CLI): not "nothing answered".
        ANSWERED_OTHERWISE.to_owned()
    };
    problem(Class::Unreachable, first, fix)
}

/// The fix when nothing answered.
fn unreachable_fix(integration: &Integration) -> String {
    match integration.auth {
        Auth::CloudApiKey { .. } | Auth::CloudMtls { .. } => format!(
            "nothing answered at the Cloud address, {}, made of the namespace and the account id: check `namespace` and `account_id`, and that outbound port 7233 is open",
            integration.address
        ),
        Auth::Direct { .. } => {
            "nothing answered at the address: check host and port, that the server runs, and firewalls"
                .to_owned()
        }
    }
}

/// Whether the integration connects with TLS only because of its API key (which turns TLS on),
/// with no TLS field of its own.
fn tls_for_api_key_only(integration: &Integration) -> bool {
    matches!(&integration.auth, Auth::Direct { tls: Some(t) }
        if t.api_key.is_some()
            && t.server_ca.is_none()
            && t.client_cert.is_none()
            && t.server_name.is_none())
}

/// The fix when a TLS connection met a plaintext server.
fn plaintext_fix(integration: &Integration) -> &'static str {
    if tls_for_api_key_only(integration) {
        "the server speaks plaintext, and an API key turns TLS on (a key is never sent over plain TCP): use the server's TLS address, or remove `api_key`"
    } else {
        PLAINTEXT_SERVER
    }
}

/// Diagnoses `integration` for the executors `backend` uses: local checks, then one read-only
/// call through each (the CLI's `operator namespace describe`, and the native executor's
/// `DescribeNamespace`). `binary` is the `temporal` binary, if there is one.
pub fn diagnose(
    binary: Option<&Path>,
    backend: Backend,
    integration: &Integration,
    limits: &Limits,
) -> Report {
    let (mut problems, native_only) = check_material_split(integration);
    let mut warnings = Vec::new();
    let mut probed = Vec::new();
    // What only the native executor cannot use: a problem where it is the only executor; under
    // `auto`, where `tgate run` gives such commands to the CLI, a warning (and no native probe).
    let native_usable = match backend {
        Backend::Cli => false,
        Backend::Grpc => {
            problems.extend(native_only);
            true
        }
        Backend::Auto => {
            let usable = native_only.is_empty();
            warnings.extend(native_only.into_iter().map(|mut w| {
                w.problem = format!("{}; commands run through the CLI instead", w.problem);
                w
            }));
            usable
        }
    };
    tracing::debug!(
        integration = ?integration.name,
        problems = problems.len(),
        warnings = warnings.len(),
        "TLS material checked"
    );
    if problems.is_empty() && backend != Backend::Grpc {
        match binary {
            Some(binary) => {
                probed.push(Probe::Cli);
                problems.extend(probe_cli(binary, integration, limits));
            }
            None => problems.push(problem(
                Class::Setup,
                match backend {
                    Backend::Cli => "no `temporal` binary to run commands with".to_owned(),
                    _ => "no `temporal` binary: commands the native executor does not translate cannot run".to_owned(),
                },
                "set `temporal:` in the configuration (or TGATE_TEMPORAL_BIN) to the pinned `temporal` binary, or put it on PATH",
            )),
        }
    }
    if problems.iter().all(|p| p.class == Class::Setup) && native_usable {
        probed.push(Probe::Native);
        if let Some(mut found) = probe_native(integration, limits) {
            // Under `auto` the CLI's probe ran first; the native executor's finding is its own.
            if backend == Backend::Auto && probed.contains(&Probe::Cli) {
                found.problem = format!("the native executor: {}", found.problem);
            }
            problems.push(found);
        }
    }
    // What a server said is quoted, and a server may echo the API key it was sent (or hold
    // another integration's).
    let keys = crate::exec::keys_of(integration);
    for p in problems.iter_mut().chain(warnings.iter_mut()) {
        p.problem = crate::audit::redact::scrub(&p.problem, &keys);
        p.fix = crate::audit::redact::scrub(&p.fix, &keys);
    }
    tracing::info!(
        integration = ?integration.name,
        address = ?integration.address,
        namespace = ?integration.namespace,
        probed = ?probed,
        classes = ?problems.iter().map(|p| p.class).collect::<Vec<_>>(),
        "diagnosed"
    );
    Report {
        integration: integration.name.clone(),
        address: integration.address.clone(),
        namespace: integration.namespace.clone(),
        probed,
        problems,
        warnings,
    }
}

/// The CLI's probe: `temporal operator namespace describe` of the integration's namespace.
fn probe_cli(binary: &Path, integration: &Integration, limits: &Limits) -> Option<Problem> {
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
        crate::exec::run_cli(binary, &cmd, integration, "doctor", limits).map_err(|e| e.to_string())
    }) {
        // Exit 0 is not enough: the binary must have answered as the CLI does (QA: `/bin/echo`
        // as the `temporal` binary passed the probe).
        Ok(run) if run.exit_code == 0 => (!describes_a_namespace(&run.stdout)).then(|| {
            problem(
                Class::Setup,
                "the `temporal` binary exited 0 but did not describe the namespace (its output is \
                 not the JSON `temporal operator namespace describe -o json` prints)"
                    .to_owned(),
                CHECK_BINARY,
            )
        }),
        // Asked to stop mid-probe: nothing to diagnose; tgate ends as the signal would end it
        // (Ctrl-C during `tgate doctor` is not an unreachable server).
        Ok(crate::exec::Execution {
            stopped: Some(signal),
            ..
        }) => {
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            Some(problem(
                Class::Unreachable,
                format!("interrupted by signal {signal}"),
                "run `tgate doctor` again",
            ))
        }
        // A failure that says nothing is the binary's, not the connection's (QA: `/bin/false`
        // was diagnosed as an address that answered, but not as a Temporal frontend).
        Ok(run) if String::from_utf8_lossy(&run.stderr).trim().is_empty() => Some(problem(
            Class::Setup,
            format!(
                "the `temporal` binary exited with status {} and printed no error",
                run.exit_code
            ),
            CHECK_BINARY,
        )),
        Ok(run) => Some(classify(&String::from_utf8_lossy(&run.stderr), integration)),
        Err(e) => Some(problem(Class::Setup, e, CHECK_BINARY)),
    }
}

/// The fix when the `temporal` binary itself failed the probe.
const CHECK_BINARY: &str = "check the `temporal` binary tgate runs (the configuration's `temporal:`, else TGATE_TEMPORAL_BIN, else `temporal` on PATH): it must be the Temporal CLI 1.9.1";

/// Whether `stdout` is what `temporal operator namespace describe -o json` prints: a JSON object
/// whose `namespaceInfo` has a `name`.
fn describes_a_namespace(stdout: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(stdout)
        .is_ok_and(|v| v["namespaceInfo"]["name"].is_string())
}

/// The native executor's probe: a connection as `tgate run` makes it, and `DescribeNamespace`.
fn probe_native(integration: &Integration, limits: &Limits) -> Option<Problem> {
    use crate::exec::grpc::Session;
    let failure = match Session::connect(integration, limits) {
        Ok(mut session) => session
            .probe(&integration.namespace, limits.timeout)
            .err()?,
        Err(e) => ProbeFailure::Connect(e.to_string()),
    };
    let found = classify_native(&failure, integration);
    // A plaintext connection the server closed, reset or answered with what is not HTTP/2
    // cannot tell a server that requires TLS from one that is not gRPC; the CLI's checks can
    // (QA: the CLI said "requires TLS", the native probe "connection reset"). Asked the way the
    // CLI asks: a TLS handshake. Not after a refusal, a timeout or a stop signal (review).
    let lower = match &failure {
        ProbeFailure::Connect(message) | ProbeFailure::Call { message, .. } => {
            message.to_lowercase()
        }
        ProbeFailure::Timeout(_) | ProbeFailure::Stopped(_) => String::new(),
    };
    let met_something = closed_connection(&lower) || lower.contains("h2 protocol error");
    if found.class == Class::Unreachable
        && met_something
        && matches!(integration.auth, Auth::Direct { tls: None })
        && crate::exec::stop::requested().is_none()
        && speaks_tls(&integration.address, limits.timeout.min(TLS_SNIFF_WITHIN))
    {
        return Some(problem(
            Class::Certificate,
            format!(
                "{} (the address answers a TLS handshake: the server requires TLS)",
                found.problem
            ),
            NEEDS_TLS,
        ));
    }
    Some(found)
}

/// Whether a native failure's words (lower case) say the server closed or reset the connection.
fn closed_connection(lower: &str) -> bool {
    [
        "connection closed",
        "broken pipe",
        "connection reset",
        "stream closed",
        "close_notify",
        "unexpected eof",
    ]
    .iter()
    .any(|m| lower.contains(m))
}

/// How long [`speaks_tls`] takes at most, connections and answers together.
const TLS_SNIFF_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Whether `address` answers a TLS ClientHello as a TLS server does: with its certificate (which
/// no root here is trusted to sign: rustls then refuses it, having seen TLS), an alert, or a
/// finished handshake. An HTTP/2 or HTTP/1 server's answer is no TLS record; nothing is sent
/// after the handshake.
fn speaks_tls(address: &str, within: std::time::Duration) -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    let deadline = std::time::Instant::now() + within;
    let left = || {
        deadline
            .checked_duration_since(std::time::Instant::now())
            .filter(|d| !d.is_zero())
    };
    let host = address
        .rsplit_once(':')
        .map_or(address, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let Ok(name) = rustls_pki_types::ServerName::try_from(host.to_owned()) else {
        return false;
    };
    let Ok(config) = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions() else {
        return false;
    };
    let config = std::sync::Arc::new(
        config
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    );
    // Every address the name resolves to, as the connection tries them (`localhost` may be
    // `::1` first, where nothing listens: review).
    let Ok(addrs) = address.to_socket_addrs() else {
        return false;
    };
    for addr in addrs {
        let Some(wait) = left() else {
            return false;
        };
        let Ok(mut tcp) = TcpStream::connect_timeout(&addr, wait) else {
            continue;
        };
        let Ok(mut tls) = rustls::ClientConnection::new(config.clone(), name.clone()) else {
            return false;
        };
        while tls.is_handshaking() {
            // One deadline for it all: a server that trickles bytes is not waited for longer.
            let Some(wait) = left() else {
                return false;
            };
            if tcp.set_read_timeout(Some(wait)).is_err()
                || tcp.set_write_timeout(Some(wait)).is_err()
            {
                return false;
            }
            if let Err(e) = tls.complete_io(&mut tcp) {
                return e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .is_some_and(|e| {
                        matches!(
                            e,
                            rustls::Error::InvalidCertificate(_)
                                | rustls::Error::AlertReceived(_)
                                | rustls::Error::PeerIncompatible(_)
                        )
                    });
            }
        }
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::Config;

    /// A direct integration with the given TLS/API-key fields (sources from the environment).
    fn direct(fields: &str) -> Integration {
        let yaml = format!(
            "version: 1\nintegrations:\n  - {{name: d, auth: direct, address: '127.0.0.1:7233', namespace: default{fields}}}\n"
        );
        let env = |k: &str| match k {
            "CERT" | "CA" => {
                Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----".to_owned())
            }
            "KEY" => {
                Some("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----".to_owned())
            }
            "API_KEY" => Some("sk-test-key".to_owned()),
            _ => None,
        };
        Config::from_yaml(&yaml, "t.yaml", Path::new("."), &env)
            .unwrap()
            .integrations
            .remove(0)
    }

    const MTLS: &str = ", client_cert: {env: CERT}, client_key: {env: KEY}, server_ca: {env: CA}";
    const CA_ONLY: &str = ", server_ca: {env: CA}";
    const API_KEY: &str = ", server_ca: {env: CA}, api_key: {env: API_KEY}";

    // The CLI 1.9.1's stderr, verbatim, from the runs in tests/tls.rs (a rustls proxy, TLS 1.3).

    const WRONG_SERVER_CA: &str = "Error: failed connecting to Temporal server at 127.0.0.1:36669: cannot verify server TLS certificate
  Namespace: default
  TLS: true

  Connection checks for 127.0.0.1:36669
    - DNS lookup skipped: address uses an IP literal
    ✓ TCP connection established
    ✗ TLS handshake failed: cannot verify server certificate: tls: failed to verify certificate: x509: certificate signed by unknown authority

  The server certificate is not trusted. Configure its CA certificate with --tls-ca-path.
";

    const NO_CLIENT_CERT: &str = "Error: failed connecting to Temporal server at 127.0.0.1:36669: TLS handshake failed: server requires client certificate (mTLS)
  Namespace: default
  TLS: true

  Connection checks for 127.0.0.1:36669
    - DNS lookup skipped: address uses an IP literal
    ✓ TCP connection established
    ✗ TLS handshake failed: server requires mTLS, no valid client certificate was provided

  The server requires client certificates (mTLS). Configure both --tls-cert-path and --tls-key-path.
";

    const ALERT_AFTER_HANDSHAKE: &str = "Error: failed connecting to Temporal server at 127.0.0.1:34673: connection error: desc = \"error reading server preface: remote error: tls: error decrypting message\"
  Namespace: default
  TLS: true

  Connection checks for 127.0.0.1:34673
    - DNS lookup skipped: address uses an IP literal
    ✓ TCP connection established
    ✓ TLS handshake succeeded
    ? gRPC failure was not classified: connection error: desc = \"error reading server preface: remote error: tls: error decrypting message\"
";

    const EXPIRED_ALERT: &str = "Error: failed connecting to Temporal server at 127.0.0.1:34673: connection error: desc = \"error reading server preface: remote error: tls: expired certificate\"
  Namespace: default
  TLS: true

  Connection checks for 127.0.0.1:34673
    - DNS lookup skipped: address uses an IP literal
    ✓ TCP connection established
    ✓ TLS handshake succeeded
    ? gRPC failure was not classified: connection error: desc = \"error reading server preface: remote error: tls: expired certificate\"
";

    const BROKEN_PIPE_AFTER_HANDSHAKE: &str = "Error: failed connecting to Temporal server at 127.0.0.1:34673: write tcp 127.0.0.1:35216->127.0.0.1:34673: write: broken pipe
  Namespace: default
  TLS: true

  Connection checks for 127.0.0.1:34673
    - DNS lookup skipped: address uses an IP literal
    ✓ TCP connection established
    ✓ TLS handshake succeeded
    ? gRPC failure was not classified: write tcp 127.0.0.1:35216->127.0.0.1:34673: write: broken pipe
";

    /// An X.509 version 1 server certificate, or a version 3 one with only a Common Name (the
    /// CLI says the same of both; `openssl s_server` with such a certificate).
    const NO_SAN_CERT: &str = "Error: failed connecting to Temporal server at localhost:29443: server TLS certificate does not match host
  Namespace: default
  TLS: true

  Connection checks for localhost:29443
    ✓ DNS resolved (1 address)
    ✓ TCP connection established
    ✗ TLS handshake failed: server certificate is not valid for this host: tls: failed to verify certificate: x509: certificate relies on legacy Common Name field, use SANs instead

  The server certificate is not valid for \"localhost\". Set --tls-server-name to a certificate name.
";

    const UNAUTHENTICATED: &str =
        "Error: failed connecting to Temporal server at 127.0.0.1:44433: authentication failed
  Namespace: default
  TLS: true

  Connection checks for 127.0.0.1:44433
    ✗ gRPC request was unauthenticated
";

    #[test]
    fn wrong_server_ca_is_a_certificate_problem_naming_server_ca() {
        let p = classify(WRONG_SERVER_CA, &direct(MTLS));
        assert_eq!(p.class, Class::Certificate);
        assert_eq!(
            p.problem,
            "failed connecting to Temporal server at 127.0.0.1:36669: cannot verify server TLS certificate"
        );
        assert!(p.fix.contains("not signed by `server_ca`"), "{}", p.fix);
    }

    #[test]
    fn a_certificate_naming_no_host_in_subject_alt_name_is_to_be_reissued() {
        let p = classify(NO_SAN_CERT, &direct(CA_ONLY));
        assert_eq!(p.class, Class::Certificate);
        assert_eq!(p.fix, NO_SUBJECT_ALT_NAME);
        // A certificate that names other hosts is still one `server_name` can fix.
        let other = NO_SAN_CERT.replace(
            "certificate relies on legacy Common Name field, use SANs instead",
            "certificate is valid for other.example, not localhost",
        );
        let p = classify(&other, &direct(CA_ONLY));
        assert!(
            p.fix
                .starts_with("the server's certificate does not name the host"),
            "{}",
            p.fix
        );
    }

    #[test]
    fn a_missing_client_certificate_says_the_server_requires_one() {
        let p = classify(NO_CLIENT_CERT, &direct(CA_ONLY));
        assert_eq!(p.class, Class::Certificate);
        assert_eq!(
            p.fix,
            "the server requires a client certificate (mTLS): configure `client_cert` and `client_key`"
        );
    }

    #[test]
    fn a_client_certificate_the_server_does_not_trust_is_refused() {
        // Go withholds a certificate whose issuer the server does not list: same CLI message.
        for stderr in [
            NO_CLIENT_CERT,
            ALERT_AFTER_HANDSHAKE,
            EXPIRED_ALERT,
            BROKEN_PIPE_AFTER_HANDSHAKE,
        ] {
            let p = classify(stderr, &direct(MTLS));
            assert_eq!(p.class, Class::Certificate, "{stderr}");
            assert_eq!(p.fix, CLIENT_CERT_REFUSED, "{stderr}");
        }
    }

    #[test]
    fn a_broken_pipe_without_a_client_certificate_may_be_a_server_requiring_one() {
        // Without a client certificate, a connection closed after the handshake is what a server
        // requiring one does, said as a possibility; before the handshake it stays a connection
        // problem.
        let p = classify(BROKEN_PIPE_AFTER_HANDSHAKE, &direct(CA_ONLY));
        assert_eq!(p.class, Class::Certificate);
        assert_eq!(p.fix, MAYBE_NO_CLIENT_CERT);
        let before = BROKEN_PIPE_AFTER_HANDSHAKE.replace("✓ TLS handshake succeeded\n", "");
        assert_eq!(classify(&before, &direct(MTLS)).class, Class::Unreachable);
    }

    #[test]
    fn native_failures_get_the_classes_and_fixes_of_the_clis() {
        use tonic::Code;
        let connect = |m: &str| ProbeFailure::Connect(m.to_owned());
        let broke = |code, m: &str| ProbeFailure::Call {
            code,
            answered: false,
            message: m.to_owned(),
        };
        let answered = |code, m: &str| ProbeFailure::Call {
            code,
            answered: true,
            message: m.to_owned(),
        };
        let closed = "operation was canceled: connection closed";
        let cases = [
            // (integration fields, what failed, class, the fix's start)
            (
                "",
                connect(
                    "failed connecting to h:7233: transport error: dns error: failed to lookup address information: Name or service not known",
                ),
                Class::Unreachable,
                "the host does not resolve",
            ),
            (
                CA_ONLY,
                connect(
                    "failed connecting to 127.0.0.1:7233: transport error: invalid peer certificate: NotValidForName",
                ),
                Class::Certificate,
                "the server's certificate does not name the host",
            ),
            (
                CA_ONLY,
                connect(
                    "failed connecting to 127.0.0.1:7233: transport error: invalid peer certificate: UnknownIssuer",
                ),
                Class::Certificate,
                "the server's certificate is not signed by `server_ca`",
            ),
            // rustls 0.23, `openssl s_server` with an X.509 v1 certificate, then with a v3 one
            // holding only a Common Name.
            (
                CA_ONLY,
                connect(
                    "failed connecting to localhost:29443: transport error: invalid peer certificate: Other(OtherError(UnsupportedCertVersion))",
                ),
                Class::Certificate,
                "a certificate the server sent is X.509 version 1",
            ),
            (
                CA_ONLY,
                connect(
                    "failed connecting to localhost:29444: transport error: invalid peer certificate: certificate not valid for name \"localhost\"; certificate is not valid for any names (according to its subjectAltName extension)",
                ),
                Class::Certificate,
                "the server's certificate names no host in subjectAltName",
            ),
            (
                ", server_name: h",
                connect(
                    "failed connecting to 127.0.0.1:7233: transport error: invalid peer certificate: UnknownIssuer",
                ),
                Class::Certificate,
                "the server's certificate is not signed by a CA this machine trusts",
            ),
            (
                CA_ONLY,
                connect(
                    "failed connecting to 127.0.0.1:7233: transport error: invalid peer certificate: certificate expired: verification time 1764000000 (UNIX), but certificate is not valid after 1700000000 (63072000 seconds ago)",
                ),
                Class::Certificate,
                "the server's certificate is outside its validity dates",
            ),
            (
                CA_ONLY,
                connect(
                    "failed connecting to 127.0.0.1:7233: transport error: received corrupt message of type InvalidContentType",
                ),
                Class::Certificate,
                "the server speaks plaintext: remove the TLS settings",
            ),
            (
                ", api_key: {env: API_KEY}",
                connect(
                    "failed connecting to 127.0.0.1:7233: transport error: received corrupt message of type InvalidContentType",
                ),
                Class::Certificate,
                "the server speaks plaintext, and an API key turns TLS on",
            ),
            (
                CA_ONLY,
                broke(
                    Code::Unavailable,
                    "transport error: connection error: received fatal alert: CertificateRequired",
                ),
                Class::Certificate,
                "the server requires a client certificate (mTLS)",
            ),
            (
                CA_ONLY,
                connect(
                    "failed connecting to 127.0.0.1:7233: transport error: received fatal alert: HandshakeFailure",
                ),
                Class::Certificate,
                "the server ended the TLS handshake: it may require a client certificate",
            ),
            (
                MTLS,
                broke(
                    Code::Unavailable,
                    "transport error: connection error: received fatal alert: DecryptError",
                ),
                Class::Certificate,
                "the server did not accept the client certificate",
            ),
            (
                MTLS,
                broke(Code::Unknown, closed),
                Class::Certificate,
                "the server did not accept the client certificate",
            ),
            (
                MTLS,
                broke(
                    Code::Unavailable,
                    "transport error: connection error: peer closed connection without sending TLS close_notify",
                ),
                Class::Certificate,
                "the server did not accept the client certificate",
            ),
            (
                CA_ONLY,
                broke(Code::Unknown, closed),
                Class::Certificate,
                "a server requiring a client certificate (mTLS) does this",
            ),
            // Without TLS, a closed connection may be a server that requires it, or another port.
            (
                "",
                broke(Code::Unknown, closed),
                Class::Unreachable,
                "the server did not answer as a plaintext gRPC server",
            ),
            (
                "",
                connect("failed connecting to 127.0.0.1:7233: HTTP/2 was not negotiated."),
                Class::Unreachable,
                "the address answers, but not as Temporal's gRPC frontend",
            ),
            (
                "",
                answered(
                    Code::Unimplemented,
                    "grpc-status header missing, mapped from HTTP status code 404",
                ),
                Class::Unreachable,
                "the address answers, but not as Temporal's gRPC frontend",
            ),
            (
                "",
                answered(Code::Internal, "something broke inside"),
                Class::Unreachable,
                "the server answered the call with an error (Internal)",
            ),
            (
                "",
                answered(
                    Code::Internal,
                    "protocol error: received message with invalid compression flag: 110 (valid flags are 0 and 1) while receiving response with status: 404 Not Found",
                ),
                Class::Unreachable,
                "the address answers, but not as Temporal's gRPC frontend",
            ),
            (
                API_KEY,
                answered(Code::PermissionDenied, "Request unauthorized."),
                Class::Authentication,
                "the API key was refused",
            ),
            (
                MTLS,
                answered(Code::Unauthenticated, ""),
                Class::Authentication,
                "the client certificate was refused",
            ),
            (
                "",
                answered(Code::Unauthenticated, "no credentials"),
                Class::Authentication,
                "the server requires credentials",
            ),
            (
                "",
                answered(Code::NotFound, "no such thing"),
                Class::NamespaceNotFound,
                "namespace names are case-sensitive",
            ),
            (
                "",
                ProbeFailure::Timeout(std::time::Duration::from_secs(3)),
                Class::Unreachable,
                "the server accepted the connection but did not answer",
            ),
        ];
        for (fields, failure, class, fix) in cases {
            let p = classify_native(&failure, &direct(fields));
            assert_eq!(p.class, class, "{failure:?}");
            assert!(p.fix.starts_with(fix), "{failure:?}: {}", p.fix);
        }
        let p = classify_native(
            &answered(Code::NotFound, "Namespace default is not found."),
            &direct(""),
        );
        assert_eq!(
            p.problem,
            "unable to describe namespace default: Namespace default is not found."
        );
    }

    /// The CLI 1.9.1's stderr, verbatim, against a listener that accepts and never speaks
    /// (plaintext and TLS), and a TLS gRPC server whose handlers never answer (QA: "nothing
    /// answered" where the connection was made).
    #[test]
    fn a_server_that_accepts_and_says_nothing_is_not_nothing_answered() {
        const SILENT_LISTENER: &str = "Error: failed connecting to Temporal server at 127.0.0.1:18400: context deadline exceeded while waiting for connections to become ready
  Namespace: default
  TLS: false

  Connection checks for 127.0.0.1:18400
    - DNS lookup skipped: address uses an IP literal
    ✓ TCP connection established
    ? TLS check inconclusive: diagnosis deadline reached
";
        const SILENT_LISTENER_TLS: &str = "Error: failed connecting to Temporal server at 127.0.0.1:18400: context deadline exceeded while waiting for connections to become ready
  Namespace: default
  TLS: true

  Connection checks for 127.0.0.1:18400
    - DNS lookup skipped: address uses an IP literal
    ✓ TCP connection established
    ? TLS handshake check inconclusive: diagnosis deadline reached
";
        const SILENT_SERVER_TLS: &str = "Error: failed connecting to Temporal server at localhost:18415: context deadline exceeded
  Namespace: default
  TLS: true

  Connection checks for localhost:18415
    ✓ DNS resolved (1 address)
    ✓ TCP connection established
    ✓ TLS handshake succeeded
    ? gRPC failure could not be diagnosed before its deadline
";
        for (stderr, integration) in [
            (SILENT_LISTENER, direct("")),
            (SILENT_LISTENER_TLS, direct(CA_ONLY)),
            (SILENT_SERVER_TLS, direct(CA_ONLY)),
        ] {
            let p = classify(stderr, &integration);
            assert_eq!(
                (p.class, p.fix.as_str()),
                (Class::Unreachable, ACCEPTED_SILENT),
                "{stderr}"
            );
            assert!(p.problem.contains("deadline exceeded"), "{}", p.problem);
        }
        // A more precise cause on the error line is kept (review).
        let refused = SILENT_LISTENER.replacen(
            "context deadline exceeded while waiting for connections to become ready",
            "rpc error: code = Unauthenticated desc = Request unauthorized (context deadline exceeded)",
            1,
        );
        assert_eq!(classify(&refused, &direct("")).class, Class::Authentication);
    }

    /// The native connection's bound passing with TLS configured: a server that took the TCP
    /// connection and never finished the handshake ends the same way, so not "nothing answered"
    /// (QA); without TLS it is the TCP connection that was not made.
    #[test]
    fn no_tls_connection_in_time_is_not_nothing_answered() {
        let failure = ProbeFailure::Connect(
            "failed connecting to localhost:1: no connection within 5s".to_owned(),
        );
        let p = classify_native(&failure, &direct(CA_ONLY));
        assert_eq!(
            (p.class, p.fix.as_str()),
            (Class::Unreachable, NO_TLS_CONNECTION_IN_TIME)
        );
        let p = classify_native(&failure, &direct(""));
        assert!(
            p.fix.starts_with("nothing answered at the address"),
            "{}",
            p.fix
        );
    }

    #[test]
    fn a_cli_error_that_is_not_a_network_failure_is_not_nothing_answered() {
        for (stderr, fix) in [
            (
                "Error: failed connecting to Temporal server at 127.0.0.1:1: something broke inside\n",
                ANSWERED_OTHERWISE,
            ),
            (
                "Error: failed connecting to Temporal server at 127.0.0.1:1: credentials: cannot check peer: missing selected ALPN property\n",
                NOT_GRPC,
            ),
            (
                "Error: failed connecting to Temporal server at 127.0.0.1:1: context deadline exceeded\n",
                "nothing answered at the address: check host and port, that the server runs, and firewalls",
            ),
        ] {
            let p = classify(stderr, &direct(""));
            assert_eq!(
                (p.class, p.fix.as_str()),
                (Class::Unreachable, fix),
                "{stderr}"
            );
        }
    }

    #[test]
    fn cloud_fixes_name_the_derived_address() {
        let cloud = Config::from_yaml(
            "version: 1\nintegrations:\n  - {name: c, auth: cloud-api-key, namespace: ns, account_id: acc, api_key: {env: API_KEY}}\n",
            "t.yaml",
            Path::new("."),
            &|_| Some("sk-test-key".to_owned()),
        )
        .unwrap()
        .integrations
        .remove(0);
        for failure in [
            ProbeFailure::Connect("failed connecting to ns.acc.tmprl.cloud:7233: transport error: dns error: failed to lookup address information".to_owned()),
            ProbeFailure::Connect("failed connecting to ns.acc.tmprl.cloud:7233: transport error: tcp connect error: Connection timed out (os error 110)".to_owned()),
        ] {
            let p = classify_native(&failure, &cloud);
            assert_eq!(p.class, Class::Unreachable);
            assert!(p.fix.contains("ns.acc.tmprl.cloud:7233"), "{}", p.fix);
            assert!(!p.fix.contains('{'), "{}", p.fix);
        }
    }

    #[test]
    fn a_refused_direct_api_key_gets_the_api_key_fix() {
        let p = classify(UNAUTHENTICATED, &direct(API_KEY));
        assert_eq!(p.class, Class::Authentication);
        assert_eq!(
            p.problem,
            "failed connecting to Temporal server at 127.0.0.1:44433: authentication failed"
        );
        assert!(p.fix.starts_with("the API key was refused"), "{}", p.fix);
        // Without an API key, an unauthenticated mTLS client is told about its certificate's CA.
        let p = classify(UNAUTHENTICATED, &direct(MTLS));
        assert_eq!(p.class, Class::Authentication);
        assert!(
            p.fix.starts_with("the client certificate was refused"),
            "{}",
            p.fix
        );
    }
}
