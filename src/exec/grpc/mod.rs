//! The native gRPC executor (tonic + rustls): commands tgate translates run as direct calls, with
//! output identical to the CLI's, written as it arrives (a long `workflow list` streams page by
//! page). What is not translated — a flag the translation does not know, an output format or a
//! value it does not reproduce exactly — is reported as [`Native::Fallback`] before anything is
//! written, and the caller runs the CLI instead.
//!
//! Translated (see [`commands`] for the flags each accepts, and docs/executors.md):
//! - `workflow list`, `describe`, `show`, `count`: JSON and text (every `--time-format`).
//! - `workflow query`, `stack`, `metadata`: JSON and text.
//! - `workflow signal`, `cancel`, `terminate` of one workflow (text and JSON).
//! - `operator namespace describe|list`, `operator search-attribute list`: JSON and text.
//! - `schedule list`, `schedule describe`, `schedule list-matching-times`: JSON and text.
//! - `task-queue describe`, `list-partition`, `config get`: JSON and text.
//! - `workflow result`, `batch list|describe`, `operator cluster health|system|describe|list`,
//!   `operator nexus endpoint list|get` ([`admin`]), `worker deployment list|describe|describe-version`
//!   ([`deployment`]), `worker list|describe` ([`worker`]): JSON and text.

/// Sends `req` with the CLI's headers (naming the command's namespace) and returns the response;
/// an error ends the command as [`commands::rpc_error`] says, a read's response holding something this
/// build's schema does not know falls back ([`Ctx::call`]).
macro_rules! call {
    ($ctx:expr, $req:expr, $context:expr) => {{
        let namespace = $ctx.namespace.clone();
        let req = $ctx.request($req, Some(&namespace));
        $ctx.call(req, $context).await?
    }};
}

mod admin;
mod commands;
mod deployment;
mod describe;
mod schedule;
mod worker;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use std::marker::PhantomData;

use prost::bytes::{Buf as _, Bytes};
use temporalio_protos::protos::temporal::api::operatorservice::v1 as ops;
use temporalio_protos::protos::temporal::api::workflowservice::v1 as wfs;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::protojson::{self, Options};
use crate::audit::{AuditError, Barrier};
use crate::command::{Command, Value};
use crate::connect::{Auth, Integration, Limits};
// Every translation lays its cards out the CLI's way.
use crate::exec::text::card;

/// The outcome of trying a command natively.
#[derive(Debug, PartialEq, Eq)]
pub enum Native {
    /// Ran; its output went to the writers. The exit code is what the CLI's would have been.
    Ran {
        /// Exit code.
        exit_code: i32,
        /// The gRPC status of the command's last call (`OK`, `NOT_FOUND`…, as gRPC names
        /// codes); `DEADLINE_EXCEEDED` when a timeout stopped it; `None` when it stopped
        /// before any call answered, or a stop signal ended its call in flight.
        grpc_status: Option<&'static str>,
    },
    /// Not translated (or not reproducible exactly): nothing was written; use the CLI. The
    /// reason is for logs and `--backend grpc` errors.
    Fallback(String),
    /// The command could not reach the server where the CLI could not either: no connection was
    /// made, the credentials were refused, or a call failed in transport (for a write, only the
    /// check before it is sent), or a write's time limit ran out before it was sent. Nothing
    /// was written. The CLI runs it under `auto` with what is left of the time, if any (none
    /// after a time limit: not run), and words the failure itself; with `--backend grpc` it is
    /// an error that points at `tgate doctor`. A write is never `Fallback` or `Unanswered` once
    /// its request went out.
    Unanswered(String),
    /// The decision record could not be made durable ([`Barrier`]): nothing was written, no
    /// write was sent, and nothing may run.
    Unrecorded(AuditError),
    /// A command asked to stop by this signal before it was sent (for a write, before its
    /// request went out): nothing of it was sent, nothing written.
    Stopped(&'static str),
}

/// Why a translated command stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Not reproducible natively; nothing has been written yet.
    Fallback(String),
    /// Not reached where the CLI would not be either ([`Native::Unanswered`]).
    Unanswered(String),
    /// The command failed as the CLI's would: `Error: <message>` on stderr, exit 1.
    Failed(String),
    /// As `Failed`, after the CLI had already printed this to stdout.
    FailedAfter(String, String),
    /// The decision record could not be made durable: nothing may be shown or sent.
    Unrecorded(AuditError),
    /// A read asked to stop by this signal (while it waited for a call, or wrote its output).
    Stopped(&'static str),
    /// The output's reader has gone (a broken pipe): the run ends there, not failed.
    ReaderGone,
}

impl Stop {
    fn fallback(why: impl Into<String>) -> Stop {
        Stop::Fallback(why.into())
    }
}

/// `authorization: Bearer <key>` for an API key (Cloud, or Direct Connect's), marked sensitive
/// (never printed by tonic's or hyper's `Debug`).
#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Bearer {
    fn of(integration: &Integration) -> Result<Option<Bearer>, String> {
        let Some(api_key) = integration.api_key() else {
            return Ok(None);
        };
        let mut v = MetadataValue::try_from(format!("Bearer {}", api_key.expose()))
            .map_err(|_| "the API key is not a valid header value".to_owned())?;
        v.set_sensitive(true);
        Ok(Some(Bearer(v)))
    }
}

/// The tonic endpoint for `integration`, TLS configured as the CLI would (FACTS §5): system roots
/// unless a server CA is given (which then replaces them, as Go's `tls.Config.RootCAs` does), the
/// client certificate for mutual TLS, SNI from the address or the configured server name.
fn endpoint(integration: &Integration) -> Result<Endpoint, String> {
    let tls = match &integration.auth {
        Auth::Direct { tls: None } => None,
        Auth::Direct { tls: Some(t) } | Auth::CloudMtls { tls: t } => Some(t.clone()),
        Auth::CloudApiKey { .. } => Some(crate::connect::Tls::default()),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", integration.address))
        .map_err(|e| format!("address `{}`: {e}", integration.address))?
        .connect_timeout(CONNECT_TIMEOUT);
    if let Some(tls) = tls {
        let host = integration
            .address
            .rsplit_once(':')
            .map_or(integration.address.as_str(), |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut config = ClientTlsConfig::new()
            .domain_name(tls.server_name.clone().unwrap_or_else(|| host.to_owned()));
        config = match &tls.server_ca {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.ca_certificate(Certificate::from_pem(system_roots())),
        };
        if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
            config = config.identity(Identity::from_pem(cert, key.expose()));
        }
        // tonic's transport error hides its causes (never key material: rustls names what is
        // wrong, not the bytes).
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| format!("TLS configuration: {}", with_causes(&e)))?;
    }
    Ok(endpoint)
}

/// Where Go's `crypto/x509` looks for the system's trusted roots on Linux (`root_linux.go`): the
/// first bundle file that exists, then every file in the directories.
const GO_ROOT_FILES: [&str; 6] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];
const GO_ROOT_DIRS: [&str; 2] = ["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// The system's trusted roots (PEM), as the CLI finds them when tgate runs it: where Go looks,
/// and not where `SSL_CERT_FILE` or `SSL_CERT_DIR` say, which Go (like the `rustls-native-certs`
/// that tonic's native roots use) would honour, but which the CLI never sees, since tgate clears
/// its environment. So a certificate authority named in tgate's own environment is trusted by
/// neither executor (QA: the native executor trusted one, the CLI did not). Read once.
fn system_roots() -> &'static [u8] {
    static ROOTS: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        use base64::Engine as _;
        use rustls_pki_types::pem::PemObject as _;
        let mut files: Vec<Vec<u8>> = GO_ROOT_FILES
            .iter()
            .find_map(|f| std::fs::read(f).ok())
            .into_iter()
            .collect();
        for dir in GO_ROOT_DIRS {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            files.extend(
                entries
                    .flatten()
                    .filter_map(|e| std::fs::read(e.path()).ok()),
            );
        }
        // Each certificate that parses, written again as PEM: one unreadable entry (as Go's
        // `AppendCertsFromPEM` skips it) does not make tonic refuse them all.
        let mut pem = Vec::new();
        for data in &files {
            for cert in rustls_pki_types::CertificateDer::pem_slice_iter(data).map_while(Result::ok)
            {
                pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
                pem.extend_from_slice(
                    base64::engine::general_purpose::STANDARD
                        .encode(cert.as_ref())
                        .as_bytes(),
                );
                pem.extend_from_slice(b"\n-----END CERTIFICATE-----\n");
            }
        }
        pem
    })
}

/// Why [`Session::connect`] made no connection.
#[derive(Clone, Debug)]
pub enum ConnectError {
    /// The server was tried and not reached: refused, unresolved, no connection in time, a TLS
    /// handshake that failed. The CLI would fail to connect as well.
    Unreached(String),
    /// Not tried, or not to the end: what this executor cannot set up (TLS material the CLI
    /// takes and rustls does not, tokio's runtime), or a stop signal while connecting.
    NotTried(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Unreached(why) | ConnectError::NotTried(why) => f.write_str(why),
        }
    }
}

/// The longest a connection may take to be made: TCP, and with [`Session::connect`]'s bound,
/// every handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection kept open across commands (a long-running tgate, or a benchmark): one channel
/// per integration, reused by every command.
pub struct Session {
    runtime: tokio::runtime::Runtime,
    channel: Channel,
    auth: Option<Bearer>,
    /// The pinned `temporal` binary whose output this session reproduces: the one text detail
    /// that depends on the binary itself is read from it ([`crate::exec::prototext`]).
    cli: Option<PathBuf>,
    /// The API keys kept out of the output ([`Sink`], [`crate::exec::keys_of`]).
    keys: Vec<String>,
    /// How long the connection took ([`Session::connect`]): part of the time the CLI gives
    /// its first call ([`SYSTEM_INFO_WITHIN`]).
    connect_took: Duration,
    /// When the next run's time began ([`Session::counting_from`]); `None`: at the run's start
    /// (its own `--command-timeout`, at the connection's).
    counting_from: Option<std::time::Instant>,
}

/// How long a command may take, and whether that is its own `--command-timeout` (`own_left`,
/// what is left of it) rather than tgate's limit (`left`, what is left of it): the tighter ends
/// the run and says why it ended; at a tie, tgate's limit. The native run, the check of a write's
/// type and `tgate run`'s fallback all decide so.
pub(crate) fn run_bound(own_left: Option<Duration>, left: Duration) -> (Duration, bool) {
    match own_left {
        Some(own) if own < left => (own, true),
        _ => (left, false),
    }
}

/// The CLI connects lazily and makes one call before its command, `GetSystemInfo`, within the Go
/// SDK's 5 s, the connection's handshakes included: a server slower than that fails the CLI
/// (`failed connecting to Temporal server at …: context deadline exceeded`) before the command
/// is sent. The native executor makes the same call, within what is left of the 5 s after its
/// connection, before a write, so that it sends no write the CLI would not have sent (QA: on a
/// server answering each request 3 s late, a native terminate took effect where the CLI's
/// failed). Reads skip it (it would cost every read a round trip; a read the CLI would have
/// failed changes nothing), unless they have a `--command-timeout` of their own, which bounds
/// the CLI's connection too ([`Session::run`]). A command with `--client-connect-timeout`, which
/// would replace the 5 s, is not translated: the CLI runs it.
const SYSTEM_INFO_WITHIN: Duration = Duration::from_secs(5);

/// A command's own `--command-timeout`, when it has a positive one: it bounds the CLI's whole
/// run, its connection included.
pub fn command_timeout(cmd: &Command) -> Option<Duration> {
    positive_duration(cmd, "command-timeout")
}

impl Session {
    /// Connects to `integration`: TCP and TLS handshakes within [`CONNECT_TIMEOUT`], or the
    /// command's whole time limit when shorter; a server that accepts and never completes the
    /// TLS handshake is not waited for. (HTTP/2 has the client speak first: a server silent after
    /// the handshake is met by the first call, within its own time limit.)
    pub fn connect(integration: &Integration, limits: &Limits) -> Result<Session, ConnectError> {
        Session::connect_within(integration, limits, None)
    }

    /// [`Session::connect`] for a command with a `--command-timeout` of its own (`own`), which
    /// bounds the connection too, as it bounds the CLI's.
    pub fn connect_within(
        integration: &Integration,
        limits: &Limits,
        own: Option<Duration>,
    ) -> Result<Session, ConnectError> {
        let bound = run_bound(own, limits.timeout).0.min(CONNECT_TIMEOUT);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConnectError::NotTried(e.to_string()))?;
        let auth = Bearer::of(integration).map_err(ConnectError::NotTried)?;
        let start = std::time::Instant::now();
        let endpoint = endpoint(integration).map_err(ConnectError::NotTried)?;
        let tls = endpoint.uri().scheme_str() == Some("https");
        // tonic's connect timeout bounds the TCP connection only, not the TLS handshake. A run
        // watched for stop signals (a write) gives up at once when asked to stop; a run that is
        // not is never asked (a stop signal ends tgate).
        let connected = runtime.block_on(async {
            tokio::select! {
                connected = tokio::time::timeout(bound, endpoint.connect()) => Ok(connected),
                name = crate::exec::stop::requested_soon() => Err(name),
            }
        });
        let made = match connected {
            Ok(Ok(Ok(channel))) => Ok(channel),
            Ok(Ok(Err(e))) => Err((with_causes(&e), true)),
            Ok(Err(_)) => Err((format!("no connection within {bound:?}"), true)),
            Err(name) => Err((format!("stopped by {name}"), false)),
        };
        let channel = match made {
            Ok(channel) => channel,
            Err((why, unreached)) => {
                let message = format!("failed connecting to {}: {why}", integration.address);
                tracing::debug!(
                    error = ?crate::diag::capped(&message),
                    us = crate::diag::micros(start),
                    "not connected"
                );
                return Err(if unreached {
                    ConnectError::Unreached(message)
                } else {
                    ConnectError::NotTried(message)
                });
            }
        };
        tracing::debug!(
            integration = ?integration.name,
            address = ?integration.address,
            tls,
            client_cert = integration.tls().is_some_and(|t| t.client_cert.is_some()),
            api_key = auth.is_some(),
            us = crate::diag::micros(start),
            "connected"
        );
        Ok(Session {
            runtime,
            channel,
            auth,
            cli: None,
            keys: crate::exec::keys_of(integration),
            connect_took: start.elapsed(),
            counting_from: None,
        })
    }

    /// `tgate doctor`'s native probe, on a connected session: describes `namespace`
    /// (`DescribeNamespace`, the call `operator namespace describe` makes) with the CLI's headers,
    /// within `timeout`.
    pub fn probe(&mut self, namespace: &str, timeout: Duration) -> Result<(), ProbeFailure> {
        self.unary(
            wfs::DescribeNamespaceRequest {
                namespace: namespace.to_owned(),
                ..Default::default()
            },
            namespace,
            timeout,
        )
        .map(drop)
    }

    /// The type of workflow `workflow_id` (its run `run_id`, else its latest) in `namespace`,
    /// as `DescribeWorkflowExecution` says within `timeout`; `Ok(None)` when there is no such
    /// workflow. `tgate run` asks before a write to one workflow, which must not be one of the
    /// workflows Temporal runs for itself ([`crate::policy::INTERNAL_WORKFLOW_PREFIX`]).
    pub fn workflow_type(
        &mut self,
        namespace: &str,
        workflow_id: &str,
        run_id: Option<&str>,
        timeout: Duration,
    ) -> Result<Option<String>, ProbeFailure> {
        let req = wfs::DescribeWorkflowExecutionRequest {
            namespace: namespace.to_owned(),
            execution: Some(execution(workflow_id, run_id)),
        };
        let Some(resp) = self.unary_if_found(req, namespace, timeout)? else {
            return Ok(None);
        };
        // A description without a type is no answer (fail closed).
        resp.workflow_execution_info
            .and_then(|i| i.r#type)
            .map(|t| Some(t.name))
            .ok_or_else(|| unusable("the server described the workflow without its type"))
    }

    /// The run that run `run_id` (else the latest) of workflow `workflow_id` continued as new
    /// from: its first event's `continued_execution_run_id`, as `workflow reset -t
    /// LastContinuedAsNew` reads it to find the run it resets; `Ok(None)` when the run did not
    /// continue another, or there is no such workflow.
    pub fn continued_from(
        &mut self,
        namespace: &str,
        workflow_id: &str,
        run_id: Option<&str>,
        timeout: Duration,
    ) -> Result<Option<String>, ProbeFailure> {
        use temporalio_protos::protos::temporal::api::history::v1::history_event::Attributes;
        let req = wfs::GetWorkflowExecutionHistoryRequest {
            namespace: namespace.to_owned(),
            execution: Some(execution(workflow_id, run_id)),
            maximum_page_size: 1,
            ..Default::default()
        };
        let Some(resp) = self.unary_if_found(req, namespace, timeout)? else {
            return Ok(None);
        };
        let first = resp.history.and_then(|h| h.events.into_iter().next());
        match first.and_then(|e| e.attributes) {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
                Ok(Some(a.continued_execution_run_id).filter(|r| !r.is_empty()))
            }
            // A history that does not begin with its start is no answer (fail closed).
            _ => Err(unusable(
                "the server's history of the workflow does not begin with its start",
            )),
        }
    }

    /// [`Session::unary`], with the server's `NotFound` as `Ok(None)`.
    fn unary_if_found<Req: Rpc>(
        &mut self,
        req: Req,
        namespace: &str,
        timeout: Duration,
    ) -> Result<Option<Req::Response>, ProbeFailure> {
        match self.unary(req, namespace, timeout) {
            Ok(resp) => Ok(Some(resp)),
            Err(ProbeFailure::Call {
                code: tonic::Code::NotFound,
                answered: true,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends `req` with the CLI's headers and returns the response, within `timeout`.
    fn unary<Req: Rpc>(
        &mut self,
        req: Req,
        namespace: &str,
        timeout: Duration,
    ) -> Result<Req::Response, ProbeFailure> {
        // No time left: nothing is sent (a timeout polls what it bounds once, and that would
        // send the request: QA).
        if timeout.is_zero() {
            return Err(ProbeFailure::Timeout(timeout));
        }
        let req = cli_request(req, Some(namespace), self.auth.as_ref());
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(Req::PATH);
        // The CLI's limit, not tonic's 4 MiB: a history's first page holds the start's input
        // (review: a `reset -t LastContinuedAsNew` check of a run with a big input was denied).
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let call = async {
            grpc.ready().await.map_err(|e| ProbeFailure::Call {
                code: tonic::Code::Unavailable,
                answered: false,
                message: with_causes(&e),
            })?;
            grpc.unary(req, path, WireCodec::<Req, Req::Response>(PhantomData))
                .await
                .map(|resp| resp.into_inner().msg)
                .map_err(|status| {
                    // The message and its causes, not `Status`'s display (its metadata too). A
                    // status with a cause is tonic's, for a connection that failed; one without,
                    // the server's answer (or, from a server that is not gRPC, its HTTP status).
                    let message = with_status_causes(&status);
                    ProbeFailure::Call {
                        code: status.code(),
                        answered: std::error::Error::source(&status).is_none(),
                        message,
                    }
                })
        };
        // A call watched for stop signals (`tgate run`'s check before a write) gives up at once
        // when asked to stop; one that is not is never asked.
        self.runtime.block_on(async {
            tokio::select! {
                answered = tokio::time::timeout(timeout, call) => {
                    answered.unwrap_or(Err(ProbeFailure::Timeout(timeout)))
                }
                name = crate::exec::stop::requested_soon() => Err(ProbeFailure::Stopped(name)),
            }
        })
    }

    /// Sets the pinned `temporal` binary whose output is reproduced. Without one, output that
    /// depends on the binary (a description's memo and search attributes in text) falls back.
    pub fn reproducing(&mut self, cli: Option<PathBuf>) {
        self.cli = cli;
    }

    /// Counts the next run's time limit, and its own `--command-timeout`, from `began` rather
    /// than from the run's start: a one-shot `tgate run` counts both from when it began to
    /// connect (a write to one workflow, from its type check), so that the connection, the check
    /// and the command share them (before, a connection that took 5 s was followed by a command
    /// given 5 s more under a 5 s limit). It goes with the next run, however that run ends.
    pub fn counting_from(&mut self, began: std::time::Instant) {
        self.counting_from = Some(began);
    }

    /// Runs `cmd` natively if it is translated, writing its output to `out` and `err`.
    /// `identity` is what Temporal records as the actor (`tgate:<caller>`). `decided` holds back
    /// what the command's decision record must precede: every request of a command that
    /// writes, and any output at all. A read's first request is sent while the record syncs.
    pub fn run(
        &mut self,
        cmd: &Command,
        identity: &str,
        limits: &Limits,
        decided: &mut Barrier,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Native {
        // The start given for this run, and for no later one, however this one ends.
        let counting_from = self.counting_from.take();
        let (handler, format) = match translation(cmd) {
            Ok(t) => t,
            Err(why) => return Native::Fallback(why),
        };
        let writes = handler.writes();
        // A write gains nothing from the overlap: it waits for its decision record before it
        // sends anything. A deadline runs meanwhile; if it passes, nothing is sent (below).
        if writes && let Err(e) = decided.pass() {
            return Native::Unrecorded(e);
        }
        let mut ctx = Ctx {
            grpc: tonic::client::Grpc::new(self.channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
            auth: self.auth.clone(),
            cmd,
            identity: identity.to_owned(),
            namespace: cmd
                .client_namespace()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            format,
            out: Sink {
                w: out,
                written: 0,
                cap: limits.max_output_bytes,
                keys: &self.keys,
                decided,
                stoppable: !writes,
            },
            status: None,
            details: Vec::new(),
            cli: self.cli.clone(),
            declared_write: writes,
            connected: false,
            write_sent: false,
            json_list: None,
        };
        // The command's own `--command-timeout`, when it is the tighter bound, ends the run as
        // the CLI's expired context does (`Error: program interrupted`, exit 1); tgate's limit
        // says that it stopped the command.
        let command_timeout = command_timeout(cmd);
        let own = command_timeout.filter(|t| *t < limits.timeout);
        // A run asked to stop (SIGTERM, Ctrl-C...) mid-flight ends, and is recorded so, rather
        // than ending tgate with no result at all: a write with its outcome unknown, a read
        // with the output it had written (QA: an agent runtime's timeout ending a long read,
        // `show --follow`, left an allow decision and no result). A read is watched once it
        // has run for `stop::READ_WATCHED_AFTER`: registering the handlers costs more CPU than
        // most reads take.
        let watch = if writes {
            match crate::exec::stop::watch() {
                Ok(w) => w,
                Err(e) => {
                    let _ = writeln!(err, "tgate: cannot handle stop signals: {e}");
                    return Native::Ran {
                        exit_code: 1,
                        grpc_status: None,
                    };
                }
            }
        } else {
            crate::exec::stop::watch_unregistered()
        };
        // Asked to stop before the command went out (while its decision synced).
        if let Some((_, name)) = crate::exec::stop::requested() {
            return Native::Stopped(name);
        }
        let first_call_within = SYSTEM_INFO_WITHIN.saturating_sub(self.connect_took);
        // The CLI's `--command-timeout` bounds its connection too: its dial, then the call it
        // makes when it connects. Under one, a read makes that call first as well, and what the
        // connection took is counted (QA: at `--command-timeout 1ms` the CLI never got past
        // connecting, `Error: program interrupted`, where a native read printed its answer, or
        // a JSON list's `[` `]` the CLI never began).
        let spent = counting_from.map(|b| b.elapsed());
        // Without a start given, the command's own timeout is charged the connection's time, as
        // the CLI's is (on a session kept across runs, the first connection's, at every run).
        let own_left = own.map(|t| t.saturating_sub(spent.unwrap_or(self.connect_took)));
        // tgate's limit: what is left of it when the run counts from before its start.
        let left = spent.map_or(limits.timeout, |s| limits.timeout.saturating_sub(s));
        let (bound, interrupted) = run_bound(own_left, left);
        let result = self.runtime.block_on(async {
            let deadline = std::time::Instant::now() + bound;
            let run = tokio::time::timeout(bound, async {
                // Past the deadline already, before a call or between two (tokio's timer ticks
                // by the millisecond, and a timeout polls what it bounds once even when no time
                // is left): the timeout ends the run before anything more is sent.
                let past = || std::time::Instant::now() >= deadline;
                if past() {
                    std::future::pending::<()>().await;
                }
                if writes || own.is_some() {
                    connection_check(&mut ctx, first_call_within).await?;
                    if past() {
                        std::future::pending::<()>().await;
                    }
                }
                handler.run(&mut ctx).await
            });
            let ended = tokio::select! {
                r = run => Ok(r),
                name = crate::exec::stop::requested_soon() => Err(name),
            };
            match ended {
                Ok(Ok(r)) => r,
                Ok(Err(_)) => {
                    ctx.status = Some(tonic::Code::DeadlineExceeded);
                    if interrupted {
                        // The CLI's expired context: its deferred `EndList` still closes a
                        // JSON list (QA: the native `[` was left open), then the error; and a
                        // write whose request went out may have taken effect, which the CLI
                        // does not say and tgate does (review).
                        let message = if ctx.write_sent {
                            format!("{INTERRUPTED}\ntgate: {MAY_HAVE_TAKEN_EFFECT}")
                        } else {
                            INTERRUPTED.to_owned()
                        };
                        match JsonList::closing(ctx.json_list.take()) {
                            Some(close) => Err(Stop::FailedAfter(close.to_owned(), message)),
                            None => Err(Stop::Failed(message)),
                        }
                    } else if writes && !ctx.write_sent {
                        // A write the limit ended before its request went out (a server slow to
                        // answer the call before it): not run, rather than a command that ran
                        // and failed (QA), so that what its decision used up is given back.
                        Err(Stop::Unanswered(format!(
                            "no answer from the server before the {:?} time limit, and the \
                             write was not sent",
                            limits.timeout
                        )))
                    } else {
                        // A write's request out and unanswered (QA: a terminate the limit
                        // stopped had taken effect, and nothing said it might have).
                        let sent = if ctx.write_sent {
                            format!("; {MAY_HAVE_TAKEN_EFFECT}")
                        } else {
                            String::new()
                        };
                        Err(Stop::Failed(format!(
                            "tgate: stopped after the {:?} timeout{sent}",
                            limits.timeout
                        )))
                    }
                }
                // A read is stopped as when its output is; so is a write stopped before its
                // request went out (while the call before it waited), which is then not run
                // (review: it said it might have taken effect, and kept what its decision used
                // up).
                Err(name) if !writes || !ctx.write_sent => Err(Stop::Stopped(name)),
                // A write's outcome is unknown.
                Err(name) => {
                    // Not the status of an earlier attempt (a rate limit before a retry): this
                    // one has none.
                    ctx.status = None;
                    Err(Stop::Failed(format!(
                        "tgate: stopped by {name}; {MAY_HAVE_TAKEN_EFFECT}"
                    )))
                }
            }
        });
        drop(watch);
        // Whatever ended the run, nothing is said of it before the decision is durable.
        if let Err(e) = ctx.out.decided.pass() {
            return Native::Unrecorded(e);
        }
        let _ = ctx.out.w.flush();
        let grpc_status = ctx.status.map(code_name);
        let failed = Native::Ran {
            exit_code: 1,
            grpc_status,
        };
        match result {
            Ok(()) => Native::Ran {
                exit_code: 0,
                grpc_status,
            },
            Err(Stop::Unrecorded(e)) => Native::Unrecorded(e),
            Err(Stop::ReaderGone) => Native::Ran {
                exit_code: 0,
                grpc_status,
            },
            Err(Stop::Stopped(name)) if writes && !ctx.write_sent => Native::Stopped(name),
            // A read asked to stop, between two calls or two pieces of its output: no status,
            // as the stop is not a call's outcome.
            Err(Stop::Stopped(name)) => {
                let _ = writeln!(err, "tgate: stopped by {name}");
                Native::Ran {
                    exit_code: 1,
                    grpc_status: None,
                }
            }
            // A write whose request went out is never run again, nor said not to have run,
            // whatever came after it.
            Err(Stop::Fallback(why) | Stop::Unanswered(why)) if ctx.write_sent => {
                let _ = writeln!(err, "tgate: {why}; {MAY_HAVE_TAKEN_EFFECT}");
                failed
            }
            Err(Stop::Fallback(why)) if ctx.out.written == 0 => Native::Fallback(why),
            Err(Stop::Unanswered(why)) if ctx.out.written == 0 => Native::Unanswered(why),
            Err(Stop::Fallback(why) | Stop::Unanswered(why)) => {
                // After output began, something the translation cannot reproduce, or a later
                // call that failed: said, rather than the command run twice.
                let _ = writeln!(err, "tgate: output stopped: {why}");
                failed
            }
            Err(Stop::FailedAfter(printed, message)) => {
                if ctx.out.write(&printed).is_err() {
                    return failed;
                }
                let _ = ctx.out.w.flush();
                let _ = writeln!(err, "Error: {message}");
                failed
            }
            Err(Stop::Failed(message)) => {
                if message.starts_with("tgate: ") {
                    let _ = writeln!(err, "{message}");
                } else {
                    let _ = writeln!(err, "Error: {message}");
                }
                failed
            }
        }
    }
}

/// A status code as gRPC names it (`OK`, `NOT_FOUND`, `PERMISSION_DENIED`…).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Whether `cmd` would run natively (it is translated, flags and output format included), or
/// why not.
pub fn translated(cmd: &Command) -> Result<(), String> {
    translation(cmd).map(drop)
}

/// Whether `cmd` is translated, as a command that changes something (signal, cancel,
/// terminate): the native runs watched for stop signals.
pub fn writes(cmd: &Command) -> bool {
    translation(cmd).is_ok_and(|(handler, _)| handler.writes())
}

/// Whether `cmd` is translated: its handler and output format.
fn translation(cmd: &Command) -> Result<(commands::Handler, Format), String> {
    let format = match cmd.flag_str("output").unwrap_or("text") {
        "json" => Format::Json,
        "jsonl" => Format::Jsonl,
        "text" => Format::Text,
        other => return Err(format!("-o {other} is rendered by the CLI")),
    };
    let handler = commands::Handler::for_command(cmd)
        .ok_or_else(|| format!("`{}` is not translated", cmd.path().name()))?;
    handler.accepts(cmd, format)?;
    Ok((handler, format))
}

/// The output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Json,
    Jsonl,
}

/// Why output could not be written: a reader that has gone (a closed pipe, as `| head` closes
/// it) ends the run quietly, as the CLI's own output would (STYLE: a broken pipe is not an
/// error); anything else (a full disk) fails it.
fn unwritable(e: std::io::Error) -> Stop {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Stop::ReaderGone
    } else {
        Stop::Failed(format!("tgate: cannot write the output: {e}"))
    }
}

/// Output with the executor's size cap.
struct Sink<'a> {
    w: &'a mut dyn Write,
    written: usize,
    cap: usize,
    /// The API keys, replaced before the cap can cut through one (a server that echoes the key
    /// it was sent, a memo that holds one).
    keys: &'a [String],
    /// The decision record's barrier: no byte is written before it opens.
    decided: &'a mut Barrier,
    /// A read's output, which a stop signal ends between two pieces ([`STOP_CHECK_BYTES`]).
    stoppable: bool,
}

/// How much of a read's output is written between two looks for a stop signal: a page of output
/// written to a slow reader would otherwise hold a stopped read for as long as the reader takes
/// (QA re-check: 20 s and more for a 454 kB list page read 4 KiB every half second).
const STOP_CHECK_BYTES: usize = 16 * 1024;

impl Sink<'_> {
    /// Hands what was written on (output that streams: followed history).
    fn flush(&mut self) -> Result<(), Stop> {
        self.w.flush().map_err(unwritable)
    }

    fn write(&mut self, s: &str) -> Result<(), Stop> {
        self.decided.pass().map_err(Stop::Unrecorded)?;
        let room = self.cap.saturating_sub(self.written);
        // Each piece written is whole (a document, a line, a card): a key inside is whole too.
        let scrubbed: std::borrow::Cow<'_, str> = if self.keys.is_empty() {
            s.into()
        } else {
            crate::audit::redact::scrub(s, self.keys).into()
        };
        let bytes = scrubbed.as_bytes();
        let take = bytes.len().min(room);
        let piece = if self.stoppable {
            STOP_CHECK_BYTES
        } else {
            usize::MAX
        };
        for chunk in bytes[..take].chunks(piece) {
            if self.stoppable
                && let Some((_, name)) = crate::exec::stop::requested()
            {
                return Err(Stop::Stopped(name));
            }
            self.w.write_all(chunk).map_err(unwritable)?;
            self.written += chunk.len();
        }
        if take < bytes.len() {
            return Err(Stop::Failed(format!(
                "tgate: output cut at {} bytes",
                self.cap
            )));
        }
        Ok(())
    }
}

/// How many turns the runtime's tasks get to put a read's request on the wire before its
/// decision record is synced on this thread ([`passed_while_out`]): the request goes through
/// tonic's buffer task, then the HTTP/2 connection's task. Three sufficed in
/// `cargo bench --bench overhead` (the sync then hidden behind the server's answer); with none,
/// the request waited for the sync.
const TURNS_TO_SEND: usize = 4;

/// Awaits `call`, a read's request, passing `decided` (its decision record's sync) while the
/// request is out: the runtime's tasks get [`TURNS_TO_SEND`] turns to send it, then the record
/// is synced on this thread, which blocks the runtime meanwhile (an answer waits in the socket),
/// then the answer is awaited. No thread is woken, where a record synced by the committer costs
/// two wake-ups. If the request is not out by then (a connection being made), it goes after the
/// sync: slower, never out of order, since a read's request may go either side of the sync and
/// nothing it brings back is shown before the barrier is passed. A failed sync ends the wait at
/// once, the request dropped, with the barrier's error (which it keeps).
async fn passed_while_out<F: std::future::Future>(
    call: F,
    decided: &mut Barrier,
) -> Result<F::Output, AuditError> {
    let mut call = std::pin::pin!(call);
    for _ in 0..TURNS_TO_SEND {
        let polled =
            std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx))).await;
        if let std::task::Poll::Ready(answer) = polled {
            return Ok(answer);
        }
        tokio::task::yield_now().await;
    }
    decided.pass()?;
    Ok(call.await)
}

/// What a translated command works with.
pub(crate) struct Ctx<'a, 'w> {
    grpc: tonic::client::Grpc<Channel>,
    auth: Option<Bearer>,
    cmd: &'a Command,
    identity: String,
    namespace: String,
    format: Format,
    out: Sink<'w>,
    /// The status of the last call that answered.
    status: Option<tonic::Code>,
    /// The type names of the last failed call's status details ([`commands::detail_types`]).
    details: Vec<String>,
    /// The pinned `temporal` binary ([`Session::reproducing`]).
    cli: Option<PathBuf>,
    /// Whether the handler is declared a write ([`commands::Handler::writes`]): only then is the
    /// run watched for stop signals, so only then may it send a write ([`Ctx::call`]).
    declared_write: bool,
    /// Whether the call the CLI makes when it connects has been made and answered
    /// ([`connection_check`]): not made again.
    connected: bool,
    /// Whether a write's request has been handed to the connection: from then on, a run that
    /// ends before its answer cannot say whether it took effect.
    write_sent: bool,
    /// A `-o json` list begun ([`JsonList::around`]) and not yet closed: how many items it
    /// holds. The command's own deadline, which drops the listing mid-page, closes it as the
    /// CLI's deferred `EndList` does ([`JsonList::closing`]).
    json_list: Option<usize>,
}

impl Ctx<'_, '_> {
    /// Whether the pinned CLI writes two spaces between one-line prototext fields
    /// ([`crate::exec::prototext::extra_space`]).
    pub(crate) fn prototext_extra_space(&self) -> Result<bool, Stop> {
        let binary = self.cli.as_deref().ok_or_else(|| {
            Stop::fallback("prototext spacing: no pinned `temporal` binary to read it from")
        })?;
        crate::exec::prototext::extra_space(binary)
            .map_err(|e| Stop::fallback(format!("prototext spacing of the pinned binary: {e}")))
    }

    /// How text output prints times (`--time-format`, relative by default), against now.
    pub(crate) fn times(&self) -> super::text::Times {
        super::text::Times::now(
            super::text::TimeFormat::parse(self.cmd.flag_str("time-format"))
                .unwrap_or(super::text::TimeFormat::Relative),
        )
    }

    /// Sends one request (made by [`Ctx::request`]) and returns its response, or the error that
    /// ends the command ([`commands`]'s `rpc_error`, `context` before its message); either way
    /// the status is kept for the audit record. Whether the method writes comes from the RPC
    /// table ([`Rpc::WRITE`]). A read whose response holds a field or enum value this build's
    /// API schema does not know falls back: the CLI's newer schema may print it
    /// (`protojson::unknown_value`). A write's response is not checked: its request went out,
    /// and the CLI would send it again.
    pub(crate) async fn call<R: Rpc>(
        &mut self,
        req: tonic::Request<R>,
        context: &str,
    ) -> Result<R::Response, Stop> {
        // A write goes out only once its decision is durable; a read goes now, and what it
        // brings back waits for the record below.
        if R::WRITE {
            // Fail closed: a handler not declared a write runs unwatched (a stop signal would
            // end tgate with the write's outcome unrecorded), so its write is never sent.
            if !self.declared_write {
                return Err(Stop::Failed(format!(
                    "tgate: internal error: {} is a write its command is not declared to send",
                    R::PATH
                )));
            }
            self.out.decided.pass().map_err(Stop::Unrecorded)?;
        }
        let start = std::time::Instant::now();
        // A read past its first call is asked again where the Go SDK (and so the CLI) would ask
        // again: its output may have begun, and cannot go to the CLI any more; or it is held
        // (JSON, a followed history's JSON Lines, as the CLI holds them) and the CLI would start
        // over, when the server it needs is the one failing (QA: a followed history's JSON Lines
        // ended when the connection dropped). A first call that fails goes to the CLI instead,
        // which asks again itself. Only when it may be asked again is the request kept.
        let retries = !R::WRITE && (self.out.written > 0 || self.status == Some(tonic::Code::Ok));
        let retry_until = start + RETRY_FOR;
        let mut delay = RETRY_FIRST;
        let (mut metadata, mut extensions, mut message) = req.into_parts();
        let result = loop {
            let again = retries.then(|| (metadata.clone(), message.clone()));
            let req = tonic::Request::from_parts(metadata, extensions, message);
            let result = match self.grpc.ready().await {
                Ok(()) => {
                    let path = tonic::codegen::http::uri::PathAndQuery::from_static(R::PATH);
                    self.write_sent |= R::WRITE;
                    let call = self
                        .grpc
                        .unary(req, path, WireCodec::<R, R::Response>(PhantomData));
                    if self.out.decided.is_passed() {
                        call.await
                    } else {
                        passed_while_out(call, self.out.decided)
                            .await
                            .map_err(Stop::Unrecorded)?
                    }
                }
                Err(e) => Err(tonic::Status::unknown(format!(
                    "Service was not ready: {e}"
                ))),
            };
            match (&result, again) {
                (Err(status), Some((again_metadata, again_message))) if retried_by_sdk(status) => {
                    // What the server said is what the run records, should its time limit end
                    // it while it waits.
                    self.status = Some(status.code());
                    self.details = commands::detail_types(status);
                    let wait = jittered(delay);
                    if std::time::Instant::now() + wait >= retry_until {
                        break result;
                    }
                    tracing::debug!(
                        method = R::PATH,
                        status = ?status.code(),
                        wait_ms = wait.as_millis() as u64,
                        "asked again"
                    );
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(longest_wait(self.cmd));
                    (metadata, extensions, message) =
                        (again_metadata, tonic::Extensions::default(), again_message);
                }
                _ => break result,
            }
        };
        tracing::debug!(
            method = R::PATH,
            write = R::WRITE,
            status = ?result.as_ref().map_or_else(tonic::Status::code, |_| tonic::Code::Ok),
            us = crate::diag::micros(start),
            "call"
        );
        self.out.decided.pass().map_err(Stop::Unrecorded)?;
        let wire = match result {
            Ok(r) => r.into_inner(),
            Err(status) => {
                self.status = Some(status.code());
                self.details = commands::detail_types(&status);
                return Err(commands::rpc_error(&status, context, R::WRITE));
            }
        };
        self.status = Some(tonic::Code::Ok);
        if let Some(name) = R::schema().filter(|_| !R::WRITE) {
            match protojson::unknown_value(&name, &wire.bytes) {
                Ok(None) => {}
                Ok(Some(what)) => {
                    return Err(Stop::fallback(format!(
                        "the response holds {what}, which tgate does not reproduce"
                    )));
                }
                Err(e) => return Err(Stop::Fallback(e)),
            }
        }
        Ok(wire.msg)
    }

    /// A request with the headers the CLI sends ([`cli_request`]).
    fn request<T>(&self, msg: T, namespace: Option<&str>) -> tonic::Request<T> {
        cli_request(msg, namespace, self.auth.as_ref())
    }

    /// Protojson options for this command's output.
    fn json_options(&self, shorthand_allowed: bool) -> Options {
        Options {
            indent: self.format == Format::Json,
            shorthand: shorthand_allowed
                && !matches!(
                    self.cmd.flag("no-json-shorthand-payloads"),
                    Some(Value::Bool(true))
                ),
        }
    }

    /// A message as the CLI prints it with `-o json|jsonl` (one document and a newline).
    fn print_message<M: prost::Message>(
        &mut self,
        full_name: &str,
        msg: &M,
        shorthand_allowed: bool,
    ) -> Result<(), Stop> {
        let mut text = render(full_name, msg, self.json_options(shorthand_allowed))?;
        text.push('\n');
        self.out.write(&text)
    }
}

/// A request with the headers the CLI sends (FACTS §5): its fixed client headers,
/// `temporal-namespace` when the request names one, `authorization` for an API key.
fn cli_request<T>(msg: T, namespace: Option<&str>, auth: Option<&Bearer>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    let md = r.metadata_mut();
    md.insert("client-name", MetadataValue::from_static("temporal-cli"));
    md.insert("client-version", MetadataValue::from_static("1.9.1"));
    md.insert(
        "supported-server-versions",
        MetadataValue::from_static(">=1.0.0 <2.0.0"),
    );
    md.insert("caller-type", MetadataValue::from_static("operator"));
    if let Some(v) = namespace.and_then(|n| MetadataValue::try_from(n).ok()) {
        md.insert("temporal-namespace", v);
    }
    if let Some(Bearer(v)) = auth {
        md.insert("authorization", v.clone());
    }
    r
}

/// Why `tgate doctor`'s native probe ([`Session::probe`]) failed.
#[derive(Debug)]
pub enum ProbeFailure {
    /// No connection was made ([`Session::connect`]'s error).
    Connect(String),
    /// The call failed: its gRPC status, whether the server `answered` with it (else tonic made
    /// it for a connection that broke, as after a TLS 1.3 server's refusal of the client
    /// certificate), and its message with every cause.
    Call {
        /// The status code.
        code: tonic::Code,
        /// Whether the server sent the status.
        answered: bool,
        /// The status message and its causes.
        message: String,
    },
    /// No answer within this time.
    Timeout(Duration),
    /// Asked to stop by this signal before an answer came.
    Stopped(&'static str),
}

/// An error's message followed by each of its causes that it does not already say (tonic's
/// transport errors keep what went wrong — refused, a certificate rustls rejected — in them).
/// rustls's messages may end with a link to its manual, which is not shown.
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut next = Some(e);
    while let Some(c) = next {
        let said = c.to_string();
        let said = said
            .split_once(": https://")
            .map_or(said.as_str(), |(s, _)| s);
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(said);
        next = c.source();
    }
    said_once(&text)
}

/// A status's message followed by what tonic knows of its cause (a connection that failed), not
/// `Status`'s display (its metadata too); a status without one is the server's answer.
pub(super) fn with_status_causes(status: &tonic::Status) -> String {
    match std::error::Error::source(status).map(with_causes) {
        Some(causes) => said_once(&format!("{}: {causes}", status.message())),
        None => status.message().to_owned(),
    }
}

/// `text`'s parts (as `a: b: c` joins them) each said once: error chains repeat their causes'
/// words (`operation was canceled: transport error: operation was canceled: connection closed`).
fn said_once(text: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split(": ") {
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    parts.join(": ")
}

/// Workflow `workflow_id`'s run `run_id`, else its latest.
fn execution(
    workflow_id: &str,
    run_id: Option<&str>,
) -> temporalio_protos::protos::temporal::api::common::v1::WorkflowExecution {
    temporalio_protos::protos::temporal::api::common::v1::WorkflowExecution {
        workflow_id: workflow_id.to_owned(),
        run_id: run_id.unwrap_or_default().to_owned(),
    }
}

/// A probe the server answered with something that does not answer it (fail closed).
fn unusable(message: &str) -> ProbeFailure {
    ProbeFailure::Call {
        code: tonic::Code::Unknown,
        answered: true,
        message: message.to_owned(),
    }
}

/// The largest response tgate reads: the Go SDK's (and so the CLI's) 128 MiB, not tonic's
/// default 4 MiB, which a history page of large payloads passes.
pub(crate) const MAX_MESSAGE_BYTES: usize = 128 * 1024 * 1024;

/// A response and the wire bytes it was decoded from.
pub(crate) struct Wire<T> {
    msg: T,
    bytes: Bytes,
}

/// The call the CLI makes before its command ([`SYSTEM_INFO_WITHIN`]), within `within`: if it
/// fails, nothing has been sent, and the command goes to the CLI, which fails its own way.
async fn connection_check(ctx: &mut Ctx<'_, '_>, within: Duration) -> Result<(), Stop> {
    let req = ctx.request(wfs::GetSystemInfoRequest {}, None);
    let answered = tokio::time::timeout(within, ctx.call(req, "connecting")).await;
    // Not the command's call: the record names no status for it.
    ctx.status = None;
    ctx.details.clear();
    match answered {
        Ok(Ok(_)) => {
            ctx.connected = true;
            Ok(())
        }
        // Refused credentials or a failed connection: the CLI would fail as well, so said with
        // the cause (review: a write's, or a timed read's, said neither).
        Ok(Err(Stop::Unanswered(why))) => Err(Stop::Unanswered(format!(
            "the call the CLI makes when it connects (GetSystemInfo) failed: {why}"
        ))),
        Ok(Err(_)) => Err(Stop::fallback(
            "the call the CLI makes when it connects (GetSystemInfo) failed",
        )),
        Err(_) => Err(Stop::fallback(
            "the server did not answer the call the CLI makes when it connects (GetSystemInfo) in the time the CLI gives it (5s)",
        )),
    }
}

/// How a request the Go SDK would send again is sent again (a read's later page, [`Ctx::call`];
/// a cancel or terminate, `commands::sdk_write`): the SDK's retry interceptor waits 400 ms first
/// (its 200 ms initial interval, doubled for the first retry), doubling up to a tenth of its
/// expiration (6 s of a minute), each wait ±20% (many clients refused at once do not come back
/// together). A read is asked again for at most [`RETRY_FOR`] (the command's time limit ends it
/// sooner when shorter); a cancel or terminate within its call's deadline (`sdk_write`).
pub(super) const RETRY_FIRST: Duration = Duration::from_millis(400);
/// See [`RETRY_FIRST`].
pub(super) const RETRY_MAX: Duration = Duration::from_secs(6);
/// See [`RETRY_FIRST`].
const RETRY_FOR: Duration = Duration::from_secs(60);

/// The duration flag `name` of `cmd` when it is given and positive (`--command-timeout`: the CLI
/// sets no bound for 0).
pub(super) fn positive_duration(cmd: &Command, name: &str) -> Option<Duration> {
    match cmd.flag(name) {
        Some(Value::Duration(d)) if d.0 > 0 => Some(Duration::from_nanos(d.0.unsigned_abs())),
        _ => None,
    }
}

/// The longest wait between attempts: a tenth of the SDK's expiration, which is the command's
/// `--command-timeout` when one is given (its context's deadline), else a minute ([`RETRY_MAX`]).
pub(super) fn longest_wait(cmd: &Command) -> Duration {
    positive_duration(cmd, "command-timeout").map_or(RETRY_MAX, |t| t / 10)
}

/// `delay` ±20%, as the SDK's `backoffutils.JitterUp(delay, 0.2)`.
pub(super) fn jittered(delay: Duration) -> Duration {
    let unit = (u128::from_le_bytes(crate::random::bytes()) % 1_000_001) as f64 / 1_000_000.0;
    delay.mul_f64(1.0 + 0.2 * (2.0 * unit - 1.0))
}

/// Whether the Go SDK asks again after `status`: the codes it always asks again after
/// (`Unavailable`; `Unknown`, which is also how tonic reports a dropped connection, a reconnect
/// then following; `Aborted`), or the server's rate limit (`ResourceExhausted` with its
/// `ResourceExhaustedFailure`). (`Internal` the SDK asks again after only for servers that do
/// not say it is final; tgate does not.)
fn retried_by_sdk(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Aborted
    ) || commands::server_rate_limit(status)
}

/// A request tgate sends natively: its method's path and its response.
pub(crate) trait Rpc: prost::Message + Clone + Send + Sync + 'static {
    type Response: prost::Message + Default + Send + Sync + 'static;
    const PATH: &'static str;
    /// Whether the method changes the cluster (its response is never a reason to fall back).
    const WRITE: bool;
    /// The response's full name in the Temporal API schema, for a read's check that it holds
    /// nothing this build does not know; `None` outside that API (the gRPC health check, whose
    /// one field its command reads itself).
    fn schema() -> Option<String>;
}

/// `Rpc` for each method: `service { "Method" read|write: Request => Response, }`.
macro_rules! rpcs {
    ($($service:literal { $($method:literal $kind:ident: $req:ty => $resp:ty,)* })*) => {
        $($(impl Rpc for $req {
            type Response = $resp;
            const PATH: &'static str = concat!("/", $service, "/", $method);
            const WRITE: bool = rpcs!(@write $kind);
            fn schema() -> Option<String> {
                Some(<$resp as prost::Name>::full_name())
            }
        })*)*
    };
    (@write read) => { false };
    (@write write) => { true };
}

rpcs! {
    "temporal.api.workflowservice.v1.WorkflowService" {
        "ListWorkflowExecutions" read: wfs::ListWorkflowExecutionsRequest => wfs::ListWorkflowExecutionsResponse,
        "DescribeWorkflowExecution" read: wfs::DescribeWorkflowExecutionRequest => wfs::DescribeWorkflowExecutionResponse,
        "GetWorkflowExecutionHistory" read: wfs::GetWorkflowExecutionHistoryRequest => wfs::GetWorkflowExecutionHistoryResponse,
        "GetWorkflowExecutionHistoryReverse" read: wfs::GetWorkflowExecutionHistoryReverseRequest => wfs::GetWorkflowExecutionHistoryReverseResponse,
        "CountWorkflowExecutions" read: wfs::CountWorkflowExecutionsRequest => wfs::CountWorkflowExecutionsResponse,
        "QueryWorkflow" read: wfs::QueryWorkflowRequest => wfs::QueryWorkflowResponse,
        "SignalWorkflowExecution" write: wfs::SignalWorkflowExecutionRequest => wfs::SignalWorkflowExecutionResponse,
        "RequestCancelWorkflowExecution" write: wfs::RequestCancelWorkflowExecutionRequest => wfs::RequestCancelWorkflowExecutionResponse,
        "TerminateWorkflowExecution" write: wfs::TerminateWorkflowExecutionRequest => wfs::TerminateWorkflowExecutionResponse,
        "DescribeNamespace" read: wfs::DescribeNamespaceRequest => wfs::DescribeNamespaceResponse,
        "ListNamespaces" read: wfs::ListNamespacesRequest => wfs::ListNamespacesResponse,
        "ListSchedules" read: wfs::ListSchedulesRequest => wfs::ListSchedulesResponse,
        "DescribeSchedule" read: wfs::DescribeScheduleRequest => wfs::DescribeScheduleResponse,
        "ListScheduleMatchingTimes" read: wfs::ListScheduleMatchingTimesRequest => wfs::ListScheduleMatchingTimesResponse,
        "DescribeTaskQueue" read: wfs::DescribeTaskQueueRequest => wfs::DescribeTaskQueueResponse,
        "ListTaskQueuePartitions" read: wfs::ListTaskQueuePartitionsRequest => wfs::ListTaskQueuePartitionsResponse,
        "GetSystemInfo" read: wfs::GetSystemInfoRequest => wfs::GetSystemInfoResponse,
        "GetClusterInfo" read: wfs::GetClusterInfoRequest => wfs::GetClusterInfoResponse,
        "ListBatchOperations" read: wfs::ListBatchOperationsRequest => wfs::ListBatchOperationsResponse,
        "DescribeBatchOperation" read: wfs::DescribeBatchOperationRequest => wfs::DescribeBatchOperationResponse,
        "ListWorkerDeployments" read: wfs::ListWorkerDeploymentsRequest => wfs::ListWorkerDeploymentsResponse,
        "DescribeWorkerDeployment" read: wfs::DescribeWorkerDeploymentRequest => wfs::DescribeWorkerDeploymentResponse,
        "DescribeWorkerDeploymentVersion" read: wfs::DescribeWorkerDeploymentVersionRequest => wfs::DescribeWorkerDeploymentVersionResponse,
        "ListWorkers" read: wfs::ListWorkersRequest => wfs::ListWorkersResponse,
        "DescribeWorker" read: wfs::DescribeWorkerRequest => wfs::DescribeWorkerResponse,
    }
    "temporal.api.operatorservice.v1.OperatorService" {
        "ListSearchAttributes" read: ops::ListSearchAttributesRequest => ops::ListSearchAttributesResponse,
        "ListClusters" read: ops::ListClustersRequest => ops::ListClustersResponse,
        "ListNexusEndpoints" read: ops::ListNexusEndpointsRequest => ops::ListNexusEndpointsResponse,
    }
}

/// The gRPC health check (`operator cluster health`, as the Go SDK's `CheckHealth` calls it).
impl Rpc for temporalio_protos::protos::grpc::health::v1::HealthCheckRequest {
    type Response = temporalio_protos::protos::grpc::health::v1::HealthCheckResponse;
    const PATH: &'static str = "/grpc.health.v1.Health/Check";
    const WRITE: bool = false;
    fn schema() -> Option<String> {
        None
    }
}

/// prost's codec, keeping each response's wire bytes (for [`Ctx::call`]'s check).
struct WireCodec<T, U>(PhantomData<(T, U)>);

struct WireEncoder<T>(PhantomData<T>);

struct WireDecoder<U>(PhantomData<U>);

impl<T: prost::Message + Send + 'static, U: prost::Message + Default + Send + 'static> Codec
    for WireCodec<T, U>
{
    type Encode = T;
    type Decode = Wire<U>;
    type Encoder = WireEncoder<T>;
    type Decoder = WireDecoder<U>;

    fn encoder(&mut self) -> WireEncoder<T> {
        WireEncoder(PhantomData)
    }

    fn decoder(&mut self) -> WireDecoder<U> {
        WireDecoder(PhantomData)
    }
}

impl<T: prost::Message> Encoder for WireEncoder<T> {
    type Item = T;
    type Error = tonic::Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        item.encode(buf)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

impl<U: prost::Message + Default> Decoder for WireDecoder<U> {
    type Item = Wire<U>;
    type Error = tonic::Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Wire<U>>, tonic::Status> {
        let bytes = buf.copy_to_bytes(buf.remaining());
        let msg = U::decode(bytes.clone()).map_err(|e| tonic::Status::internal(e.to_string()))?;
        Ok(Some(Wire { msg, bytes }))
    }
}

/// Rows of a text card, in the order the CLI's struct declares them.
type Rows = Vec<(&'static str, String)>;

/// Pushes a `cardOmitEmpty` row: left out when its value prints as nothing.
fn optional(rows: &mut Rows, name: &'static str, value: String) {
    if !value.is_empty() {
        rows.push((name, value));
    }
}

/// A text table ([`super::text::table`]); one whose rows do not match its headers is a
/// fallback.
fn table(
    headers: &[&str],
    print_header: bool,
    rows: &[Vec<super::text::Cell>],
) -> Result<String, Stop> {
    super::text::table(headers, print_header, rows)
        .ok_or_else(|| Stop::fallback("a table row that does not match its headers"))
}

/// A message rendered as protojson; anything not reproducible is a fallback.
fn render<M: prost::Message>(full_name: &str, msg: &M, opts: Options) -> Result<String, Stop> {
    protojson::render(full_name, &msg.encode_to_vec(), opts).map_err(Stop::Fallback)
}

/// Every item of one server page rendered ([`render`]) before any is written: what cannot be
/// reproduced falls back, or stops a later page, with nothing of that page printed (QA: a
/// memo the CLI cannot read, fifth in a one-page list, stopped the native output after four
/// items, where the whole list could have gone to the CLI).
fn render_all<M: prost::Message>(
    full_name: &str,
    items: &[M],
    opts: Options,
) -> Result<Vec<String>, Stop> {
    items.iter().map(|m| render(full_name, m, opts)).collect()
}

/// One item of a listing, laid out before any of its server page is written: what cannot be
/// reproduced falls back, or stops a later page, with nothing of that page printed.
pub(super) enum Listed {
    Json(String),
    Row(Vec<super::text::Cell>),
}

/// A listing the CLI prints as it cuts its own pages: tables of 100 rows, each with its own
/// widths, the header on the first only (an empty listing prints the header alone); JSON items
/// go to the list as they come.
pub(super) struct Chunked<'h> {
    headers: &'h [&'h str],
    rows: Vec<Vec<super::text::Cell>>,
    tables: usize,
}

impl<'h> Chunked<'h> {
    pub(super) fn new(headers: &'h [&'h str]) -> Self {
        Chunked {
            headers,
            rows: Vec::new(),
            tables: 0,
        }
    }

    /// Writes one server page's items.
    pub(super) fn page(
        &mut self,
        ctx: &mut Ctx<'_, '_>,
        list: &mut JsonList,
        page: Vec<Listed>,
    ) -> Result<(), Stop> {
        for listed in page {
            match listed {
                Listed::Json(item) => list.item(ctx, &item)?,
                Listed::Row(row) => {
                    self.rows.push(row);
                    if self.rows.len() == 100 {
                        let out = table(self.headers, self.tables == 0, &self.rows)?;
                        ctx.out.write(&out)?;
                        self.rows.clear();
                        self.tables += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the last table (text only).
    pub(super) fn finish(self, ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
        if ctx.format != Format::Text {
            return Ok(());
        }
        let out = table(self.headers, self.tables == 0, &self.rows)?;
        ctx.out.write(&out)
    }
}

/// The CLI's list framing (`Printer.StartList`/`EndList`, FACTS §4.1): `-o json` writes `[`,
/// each item at column 0 after `\n` or `,\n`, then `\n]\n`; `-o jsonl` one item per line. The
/// CLI closes the list even when a later page fails (`[\n]\n`, then the error); the opening `[`
/// is held back until the first item or the end, so a fallback before any item writes nothing.
///
/// How many items the list holds is kept in the run's [`Ctx`] (`json_list`), so that a deadline
/// that drops the listing can still close it.
pub(crate) struct JsonList {
    indent: bool,
}

/// The CLI's message for a command whose `--command-timeout` expired.
const INTERRUPTED: &str = "program interrupted";

/// What tgate says of a write that ended before its answer, its request out.
pub(crate) const MAY_HAVE_TAKEN_EFFECT: &str = "the request may or may not have taken effect";

impl JsonList {
    pub(crate) fn new(format: Format) -> JsonList {
        JsonList {
            indent: format == Format::Json,
        }
    }

    /// Runs a listing command's `pages` (which write JSON items into the list, or their text)
    /// and, for JSON, closes the list after them ([`JsonList::end`]).
    pub(crate) async fn around(
        ctx: &mut Ctx<'_, '_>,
        pages: impl AsyncFnOnce(&mut Ctx<'_, '_>, &mut JsonList) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let mut list = JsonList::new(ctx.format);
        // The CLI starts the list before its first request (`StartList`).
        if list.indent {
            ctx.json_list = Some(0);
        }
        let result = pages(ctx, &mut list).await;
        if ctx.format == Format::Text {
            return result;
        }
        list.end(ctx, result)
    }

    fn item(&mut self, ctx: &mut Ctx<'_, '_>, text: &str) -> Result<(), Stop> {
        if self.indent {
            let count = ctx.json_list.unwrap_or(0);
            ctx.out.write(if count == 0 { "[\n" } else { ",\n" })?;
            ctx.out.write(text)?;
            ctx.json_list = Some(count + 1);
        } else {
            ctx.out.write(text)?;
            ctx.out.write("\n")?;
        }
        Ok(())
    }

    /// Closes the list after `result` (the pages' outcome), as the CLI's deferred `EndList` does.
    fn end(self, ctx: &mut Ctx<'_, '_>, result: Result<(), Stop>) -> Result<(), Stop> {
        let count = ctx.json_list.take();
        if let Err(Stop::Fallback(_) | Stop::Unanswered(_)) = &result
            && count.unwrap_or(0) == 0
        {
            return result;
        }
        if let Some(close) = JsonList::closing(count) {
            ctx.out.write(close)?;
        }
        result
    }

    /// What closes a `-o json` list that holds `count` items (`None`: no JSON list is open): the
    /// opening `[`, held back until the first item, too when there is none.
    fn closing(count: Option<usize>) -> Option<&'static str> {
        count.map(|n| if n == 0 { "[\n]\n" } else { "\n]\n" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tighter_bound_ends_a_native_run_and_says_why() {
        let s = Duration::from_secs;
        // The command's own timeout, tighter: the CLI's `program interrupted`.
        assert_eq!(run_bound(Some(s(1)), s(3)), (s(1), true));
        // tgate's limit, tighter (what a connection left of it): tgate's words.
        assert_eq!(run_bound(Some(s(3)), s(1)), (s(1), false));
        assert_eq!(run_bound(Some(s(2)), s(2)), (s(2), false));
        assert_eq!(run_bound(None, s(2)), (s(2), false));
        assert_eq!(run_bound(None, s(0)), (s(0), false));
    }

    /// The system's roots are read where Go reads them: every certificate of the first bundle
    /// file there is (this machine has one) is among them.
    #[test]
    fn the_system_roots_are_where_go_finds_them() {
        use rustls_pki_types::pem::PemObject as _;
        let bundle = GO_ROOT_FILES
            .iter()
            .find_map(|f| std::fs::read(f).ok())
            .expect("a system CA bundle on this machine");
        let want: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(&bundle)
            .map_while(Result::ok)
            .collect();
        assert!(want.len() > 10, "{}", want.len());
        let got: std::collections::HashSet<Vec<u8>> =
            rustls_pki_types::CertificateDer::pem_slice_iter(system_roots())
                .map(|c| c.unwrap().as_ref().to_vec())
                .collect();
        assert!(want.iter().all(|c| got.contains(c.as_ref())));
    }

    #[test]
    fn each_part_of_an_error_chain_is_said_once() {
        assert_eq!(
            said_once(
                "operation was canceled: transport error: operation was canceled: connection closed"
            ),
            "operation was canceled: transport error: connection closed"
        );
        let plain = "failed connecting to 127.0.0.1:7233: transport error: tcp connect error";
        assert_eq!(said_once(plain), plain);
    }

    /// A read's context for `cmd` over `channel`, JSON output into `out`, not declared a write.
    fn test_ctx<'a, 'w>(
        channel: Channel,
        cmd: &'a Command,
        out: &'w mut Vec<u8>,
        decided: &'w mut Barrier,
    ) -> Ctx<'a, 'w> {
        Ctx {
            grpc: tonic::client::Grpc::new(channel),
            auth: None,
            cmd,
            identity: "tgate:test".to_owned(),
            namespace: "default".to_owned(),
            format: Format::Json,
            out: Sink {
                w: out,
                written: 0,
                cap: 1024,
                keys: &[],
                decided,
                stoppable: true,
            },
            status: None,
            details: Vec::new(),
            cli: None,
            declared_write: false,
            connected: false,
            write_sent: false,
            json_list: None,
        }
    }

    /// A read whose decision record's sync fails while its request is out ends at once, as
    /// unrecorded, without waiting for an answer (review: it waited for the whole answer, or the
    /// time limit). The server here takes the connection and never answers.
    #[test]
    fn a_reads_failed_sync_ends_it_without_waiting_for_the_answer() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(30));
            drop(held);
        });
        let dir = tempfile::tempdir().unwrap();
        let log = crate::audit::AuditLog::open(
            &dir.path().join("audit.jsonl"),
            crate::audit::log::DEFAULT_MAX_FILE_BYTES,
        )
        .unwrap();
        let written = log
            .write_now(&crate::audit::record::tests::entry("agent"))
            .unwrap();
        log.fail_next_sync();
        let mut decided = Barrier::until_synced(written);
        let cmd = Command::parse(&["temporal", "workflow", "describe", "-w", "x"]).unwrap();
        let mut out = Vec::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let channel = Endpoint::from_shared(format!("http://{address}"))
                .unwrap()
                .connect_lazy();
            let mut ctx = test_ctx(channel, &cmd, &mut out, &mut decided);
            let req = ctx.request(
                wfs::DescribeWorkflowExecutionRequest::default(),
                Some("default"),
            );
            let start = std::time::Instant::now();
            let ended =
                tokio::time::timeout(Duration::from_secs(5), ctx.call(req, "describe")).await;
            match ended {
                Ok(Err(Stop::Unrecorded(e))) => {
                    assert!(e.to_string().contains("injected"), "{e}")
                }
                Ok(other) => panic!("{other:?}"),
                Err(_) => panic!("still waiting for an answer after its record's sync failed"),
            }
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "{:?}",
                start.elapsed()
            );
            assert_eq!(ctx.status, None, "no answer, and no stand-in status");
        });
        assert!(out.is_empty());
    }

    /// A write from a handler not declared one (whose run nothing watches for stop signals) is
    /// refused before it is sent: the channel, to a closed port, is never even connected.
    #[test]
    fn a_write_from_a_handler_not_declared_one_is_never_sent() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let cmd = Command::parse(&["temporal", "workflow", "describe", "-w", "x"]).unwrap();
        let mut decided = Barrier::passed();
        let mut out = Vec::new();
        runtime.block_on(async {
            let channel = Endpoint::from_static("http://127.0.0.1:1").connect_lazy();
            let mut ctx = test_ctx(channel, &cmd, &mut out, &mut decided);
            let req = ctx.request(
                wfs::TerminateWorkflowExecutionRequest::default(),
                Some("default"),
            );
            match ctx.call(req, "unable to terminate workflow").await {
                Err(Stop::Failed(why)) => assert!(
                    why.contains(
                        "TerminateWorkflowExecution is a write its command is not declared to send"
                    ),
                    "{why}"
                ),
                other => panic!("{other:?}"),
            }
            assert_eq!(ctx.status, None, "nothing answered: nothing was sent");
        });
    }
}
