//! A TLS-terminating proxy in front of a plaintext dev server, and the certificates for it: what
//! the TLS and authentication tests connect through, since `temporal server start-dev` speaks only
//! plain TCP.
//!
//! Two modes:
//! - [`Mode::Relay`] terminates TLS (optionally requiring a client certificate signed by a given
//!   CA) and relays the bytes to the dev server: HTTP/2 passes through untouched.
//! - [`Mode::ApiKey`] speaks HTTP/2 itself and emulates Temporal Cloud's API-key check: a request
//!   whose `authorization` is not `Bearer <key>` gets a trailers-only gRPC `Unauthenticated`
//!   response; the others are forwarded, bodies and trailers streamed, to the dev server.
//! - [`Mode::NewerServer`] does what `ApiKey` does and also appends a field numbered 999 to every
//!   `DescribeWorkflowExecution` response: what a server whose API is newer than both tgate's and
//!   the CLI's sends (a fault injected into real traffic, the rest of the response untouched).
//! - [`Mode::RateLimited`] does what `ApiKey` does, but answers the first request for one
//!   method (or every one) with `ResourceExhausted` and the `ResourceExhaustedFailure` a
//!   rate-limited Temporal server attaches, or without it, as a proxy would (re-armed by setting
//!   [`Stats::limited`] back to 0).
//!
//! The proxy listens on 127.0.0.1 (port chosen by the OS, known when [`TlsProxy::start`] returns),
//! runs on its own tokio runtime thread, and stops when dropped. It records what it saw
//! ([`Stats`]) so tests can prove the traffic went through it and why it refused.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The message Temporal Cloud sends with `Unauthenticated` for a missing or wrong API key.
pub const UNAUTHORIZED: &str = "Request unauthorized.";

/// A test certificate authority.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate and its private key, PEM.
#[derive(Clone)]
pub struct Issued {
    /// Certificate.
    pub cert: String,
    /// Private key.
    pub key: String,
}

fn named(sans: &[&str], common_name: &str) -> CertificateParams {
    let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
    let mut params = CertificateParams::new(sans).unwrap();
    // Distinct names: Go's verifier picks candidate issuers by subject.
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
}

impl Ca {
    /// A new self-signed CA called `name`.
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = named(&[], name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    fn issue(&self, params: CertificateParams) -> Issued {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    pub fn server(&self) -> Issued {
        let mut params = named(&["localhost", "127.0.0.1"], "tgate test server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }

    /// A client certificate for `name`.
    pub fn client(&self, name: &str) -> Issued {
        let mut params = named(&[], name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }

    /// A client certificate for `name` that expired in 2021.
    pub fn expired_client(&self, name: &str) -> Issued {
        let mut params = named(&[], name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        self.issue(params)
    }
}

/// What the proxy does after the TLS handshake.
#[derive(Clone)]
pub enum Mode {
    /// Relay the bytes to the upstream.
    Relay,
    /// Speak HTTP/2; forward requests carrying `authorization: Bearer <key>`, refuse the others
    /// as Temporal Cloud does.
    ApiKey(String),
    /// `ApiKey`, with field 999 added to each `DescribeWorkflowExecution` response.
    NewerServer(String),
    /// `ApiKey`, requests for `method` (`DescribeWorkflowExecution`) refused with
    /// `ResourceExhausted`.
    RateLimited {
        key: String,
        method: &'static str,
        /// Every one, not only the first.
        always: bool,
        /// With the server's `ResourceExhaustedFailure` detail.
        details: bool,
    },
    /// `ApiKey`, requests for `method` held for `secs` seconds before they are forwarded (a
    /// server slow to answer), from the `from`th on (counted from 1 in `stats.seen`).
    Slow {
        key: String,
        method: &'static str,
        secs: u64,
        from: usize,
    },
    /// Refuse every request with `Internal`, quoting the `authorization` it carried (a server
    /// that echoes the API key it was sent), then this text.
    Echo(String),
    /// `ApiKey`, the `nth` request (from 1) for `method` answered with the gRPC status `code`
    /// and no details (a dropped connection reads as `Unknown`, a restarting server as
    /// `Unavailable`).
    FailNth {
        key: String,
        method: &'static str,
        nth: usize,
        code: u32,
    },
}

/// What [`check_and_forward`] does to the traffic besides forwarding it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Field999,
    RateLimit {
        method: &'static str,
        always: bool,
        details: bool,
    },
    Slow {
        method: &'static str,
        secs: u64,
        from: usize,
    },
    FailNth {
        method: &'static str,
        nth: usize,
        code: u32,
    },
}

/// What the proxy saw.
#[derive(Default)]
pub struct Stats {
    /// Accepted TCP connections.
    pub connections: AtomicUsize,
    /// Completed TLS handshakes.
    pub handshakes: AtomicUsize,
    /// Requests forwarded upstream (API-key mode).
    pub forwarded: AtomicUsize,
    /// Requests refused as unauthenticated (API-key mode).
    pub refused: AtomicUsize,
    /// Requests refused as rate-limited (`RateLimitedOnce` mode); set to 0 to refuse the next
    /// one too.
    pub limited: AtomicUsize,
    /// Requests for a `FailNth` or `Slow` mode's method so far.
    pub seen: AtomicUsize,
    /// Failed handshakes, as rustls reported them.
    failures: Mutex<Vec<String>>,
    failed: Condvar,
}

impl Stats {
    /// The handshake failures so far, once there is at least one (or after 10 s, whatever there
    /// is). The client may see the server's alert a moment before the proxy records its error.
    pub fn handshake_failures(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut failures = self.failures.lock().unwrap();
        while failures.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            failures = self.failed.wait_timeout(failures, left).unwrap().0;
        }
        failures.clone()
    }
}

/// A running proxy; stops when dropped.
pub struct TlsProxy {
    /// `127.0.0.1:port` to connect to.
    pub address: String,
    /// What it saw.
    pub stats: Arc<Stats>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsProxy {
    /// Starts a proxy to `upstream` (a plaintext `host:port`) presenting `server` (its
    /// certificate, then the chain). With `client_ca`, a client certificate signed by it is
    /// required.
    pub fn start(upstream: &str, server: &Issued, client_ca: Option<&str>, mode: Mode) -> Self {
        let config = Arc::new(server_config(server, client_ca));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let upstream: SocketAddr = upstream.parse().expect("upstream is ip:port");
        let stats = Arc::new(Stats::default());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread_stats = stats.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(serve(listener, config, upstream, mode, thread_stats, rx));
            // Dropping the runtime cancels the connections still open.
        });
        TlsProxy {
            address,
            stats,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn server_config(server: &Issued, client_ca: Option<&str>) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            roots
                .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
                .unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let chain = CertificateDer::pem_slice_iter(server.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(server.key.as_bytes()).unwrap();
    let mut config = builder.with_single_cert(chain, key).unwrap();
    // gRPC clients (grpc-go enforces it) require HTTP/2 negotiated by ALPN.
    config.alpn_protocols = vec![b"h2".to_vec()];
    config
}

async fn serve(
    listener: std::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    upstream: SocketAddr,
    mode: Mode,
    stats: Arc<Stats>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    loop {
        let (tcp, _) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
        };
        stats.connections.fetch_add(1, Ordering::SeqCst);
        let (acceptor, mode, stats, client) = (
            acceptor.clone(),
            mode.clone(),
            stats.clone(),
            client.clone(),
        );
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    stats.failures.lock().unwrap().push(e.to_string());
                    stats.failed.notify_all();
                    return;
                }
            };
            stats.handshakes.fetch_add(1, Ordering::SeqCst);
            let fault = match mode {
                Mode::NewerServer(_) => Fault::Field999,
                Mode::RateLimited {
                    method,
                    always,
                    details,
                    ..
                } => Fault::RateLimit {
                    method,
                    always,
                    details,
                },
                Mode::Slow {
                    method, secs, from, ..
                } => Fault::Slow { method, secs, from },
                Mode::FailNth {
                    method, nth, code, ..
                } => Fault::FailNth { method, nth, code },
                _ => Fault::None,
            };
            match mode {
                Mode::Relay => {
                    let Ok(mut up) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let mut tls = tls;
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                }
                Mode::Echo(more) => {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let sent = req
                            .headers()
                            .get("authorization")
                            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                            .unwrap_or_default();
                        let message = format!("rejected token {sent} {more}");
                        async move { Ok::<_, std::convert::Infallible>(grpc_status(13, &message)) }
                    });
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                }
                Mode::ApiKey(key)
                | Mode::NewerServer(key)
                | Mode::RateLimited { key, .. }
                | Mode::Slow { key, .. }
                | Mode::FailNth { key, .. } => {
                    let expected = format!("Bearer {key}");
                    let service = hyper::service::service_fn(move |req| {
                        check_and_forward(
                            req,
                            expected.clone(),
                            upstream,
                            client.clone(),
                            stats.clone(),
                            fault,
                        )
                    });
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                }
            }
        });
    }
}

type Body = BoxBody<Bytes, hyper::Error>;

/// `grpc-status-details-bin` as a rate-limited Temporal server sends it: a `google.rpc.Status`
/// holding a `ResourceExhaustedFailure` (cause: the RPS limit, scope: the namespace).
fn rate_limit_details() -> hyper::header::HeaderValue {
    use base64::Engine as _;
    use prost::Message as _;
    use temporalio_protos::protos::temporal::api::errordetails::v1::ResourceExhaustedFailure;
    let failure = ResourceExhaustedFailure { cause: 1, scope: 1 };
    let mut status = temporalio_protos::protos::google::rpc::Status {
        code: 8,
        message: "namespace rate limit exceeded".to_owned(),
        details: vec![Default::default()],
    };
    status.details[0].type_url =
        "type.googleapis.com/temporal.api.errordetails.v1.ResourceExhaustedFailure".to_owned();
    status.details[0].value = failure.encode_to_vec();
    let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(status.encode_to_vec());
    hyper::header::HeaderValue::from_str(&encoded).unwrap()
}

/// A trailers-only gRPC response: HEADERS with END_STREAM, the status in them.
fn grpc_status(code: u32, message: &str) -> Response<Body> {
    Response::builder()
        .status(200)
        .header("content-type", "application/grpc")
        .header("grpc-status", code.to_string())
        .header("grpc-message", message)
        .body(Empty::new().map_err(|never| match never {}).boxed())
        .unwrap()
}

async fn check_and_forward(
    mut req: Request<Incoming>,
    expected: String,
    upstream: SocketAddr,
    client: Client<HttpConnector, Incoming>,
    stats: Arc<Stats>,
    fault: Fault,
) -> Result<Response<Body>, std::convert::Infallible> {
    let authorized = req
        .headers()
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    if !authorized {
        stats.refused.fetch_add(1, Ordering::SeqCst);
        return Ok(grpc_status(16, UNAUTHORIZED));
    }
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    *req.uri_mut() = format!("http://{upstream}{path}").parse().unwrap();
    let describe = path.ends_with("/DescribeWorkflowExecution");
    if let Fault::RateLimit {
        method,
        always,
        details,
    } = fault
        && path.rsplit('/').next() == Some(method)
        && (always
            || stats
                .limited
                .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok())
    {
        if always {
            stats.limited.fetch_add(1, Ordering::SeqCst);
        }
        let mut response = grpc_status(8, "namespace rate limit exceeded");
        if details {
            response
                .headers_mut()
                .insert("grpc-status-details-bin", rate_limit_details());
        }
        return Ok(response);
    }
    if let Fault::FailNth { method, nth, code } = fault
        && path.rsplit('/').next() == Some(method)
        && stats.seen.fetch_add(1, Ordering::SeqCst) + 1 == nth
    {
        return Ok(grpc_status(code, "injected by the test's proxy"));
    }
    if let Fault::Slow { method, secs, from } = fault
        && path.rsplit('/').next() == Some(method)
        && stats.seen.fetch_add(1, Ordering::SeqCst) + 1 >= from
    {
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    let grows = fault == Fault::Field999 && describe;
    Ok(match client.request(req).await {
        Ok(resp) if grows => {
            stats.forwarded.fetch_add(1, Ordering::SeqCst);
            let (parts, body) = resp.into_parts();
            match body.collect().await {
                Ok(collected) => {
                    let trailers = collected.trailers().cloned();
                    let grown = with_field_999(&collected.to_bytes());
                    let body = Full::new(grown)
                        .map_err(|never| match never {})
                        .with_trailers(std::future::ready(trailers.map(Ok)))
                        .boxed();
                    Response::from_parts(parts, body)
                }
                Err(e) => grpc_status(14, &format!("proxy: upstream failed: {e}")),
            }
        }
        Ok(resp) => {
            stats.forwarded.fetch_add(1, Ordering::SeqCst);
            resp.map(BodyExt::boxed)
        }
        Err(e) => grpc_status(14, &format!("proxy: upstream failed: {e}")),
    })
}

/// One gRPC message (flag, big-endian length, protobuf) with field 999 (a varint, 7) appended:
/// protobuf readers skip a field their schema lacks, or report it. The server gzips its answer
/// to the CLI, which sends gzip: there the field goes in a second gzip member, which gzip readers
/// decompress as a continuation of the first.
fn with_field_999(frame: &[u8]) -> Bytes {
    const FIELD: [u8; 3] = [0xb8, 0x3e, 7];
    let len = u32::from_be_bytes(frame[1..5].try_into().unwrap()) as usize;
    assert_eq!(frame.len(), 5 + len, "one gRPC message");
    let mut message = frame[5..].to_vec();
    match frame[0] {
        0 => message.extend_from_slice(&FIELD),
        1 => {
            use std::io::Write as _;
            let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
            member.write_all(&FIELD).unwrap();
            message.extend_from_slice(&member.finish().unwrap());
        }
        flag => panic!("gRPC frame flag {flag}"),
    }
    let mut out = vec![frame[0]];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(&message);
    Bytes::from(out)
}
