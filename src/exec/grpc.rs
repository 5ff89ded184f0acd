//! The native gRPC executor (tonic): commands tgate translates run as direct calls, with output
//! identical to the CLI's. What is not translated — or a response this renderer does not reproduce
//! exactly — is reported as [`Native::Fallback`], and the caller runs the CLI instead.
//!
//! Translated so far, over Direct Connect without TLS: `workflow describe -o json|jsonl` of a
//! running workflow, and `workflow list -o json|jsonl` (paged; `--limit`, `--page-size`, `--query`).

use prost::Message as _;
use temporalio_protos::protos::temporal::api::common::v1::WorkflowExecution;
use temporalio_protos::protos::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
use temporalio_protos::protos::temporal::api::workflowservice::v1::{
    DescribeWorkflowExecutionRequest, ListWorkflowExecutionsRequest,
};
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use super::protojson::{self, Options};
use crate::command::{Command, CommandPath, Value};
use crate::connect::{Auth, Integration};

/// The outcome of trying a command natively.
#[derive(Debug)]
pub enum Native {
    /// Ran: what the CLI would have printed, and its exit code.
    Ran {
        /// Standard output.
        stdout: Vec<u8>,
        /// Standard error.
        stderr: Vec<u8>,
        /// Exit code.
        exit_code: i32,
    },
    /// Not translated (or not reproducible exactly): use the CLI. The reason is for logs.
    Fallback(String),
}

/// `authorization: Bearer <key>` for a Cloud API key, marked sensitive (never printed by
/// tonic's or hyper's `Debug`).
#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Bearer {
    fn of(integration: &Integration) -> Result<Option<Bearer>, String> {
        let Auth::CloudApiKey { api_key } = &integration.auth else {
            return Ok(None);
        };
        let mut v = MetadataValue::try_from(format!("Bearer {}", api_key.expose()))
            .map_err(|_| "the API key is not a valid header value".to_owned())?;
        v.set_sensitive(true);
        Ok(Some(Bearer(v)))
    }
}

/// The headers the CLI sends (FACTS §5).
fn request<T>(msg: T, namespace: &str, auth: Option<&Bearer>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    let md = r.metadata_mut();
    if let Some(Bearer(v)) = auth {
        md.insert("authorization", v.clone());
    }
    md.insert("client-name", MetadataValue::from_static("temporal-cli"));
    md.insert("client-version", MetadataValue::from_static("1.9.1"));
    md.insert(
        "supported-server-versions",
        MetadataValue::from_static(">=1.0.0 <2.0.0"),
    );
    md.insert("caller-type", MetadataValue::from_static("operator"));
    if let Ok(v) = MetadataValue::try_from(namespace) {
        md.insert("temporal-namespace", v);
    }
    r
}

/// Runs `cmd` natively if it is translated.
/// Whether `cmd` is translated for `integration`, and how to render it.
fn translation(cmd: &Command, _integration: &Integration) -> Result<Options, String> {
    let output = cmd.flag_str("output").unwrap_or("text");
    let translated = matches!(output, "json" | "jsonl")
        && !cmd.flags().contains_key("command-timeout")
        && match cmd.path() {
            CommandPath::WorkflowDescribe => !cmd.flags().contains_key("reset-points"),
            CommandPath::WorkflowList => !cmd.flags().contains_key("archived"),
            _ => false,
        };
    if !translated {
        return Err(format!(
            "`{}` with these flags is not translated",
            cmd.path().name()
        ));
    }
    Ok(Options {
        indent: output == "json",
        shorthand: !matches!(
            cmd.flag("no-json-shorthand-payloads"),
            Some(Value::Bool(true))
        ),
    })
}

/// A connection kept open across commands (a long-running tgate, or a benchmark).
pub struct Session {
    runtime: tokio::runtime::Runtime,
    client: Client,
    integration: Integration,
    auth: Option<Bearer>,
}

impl Session {
    /// Connects to `integration`: plain TCP, TLS with the system roots or the given server CA,
    /// mutual TLS with the client certificate, as the CLI would (FACTS §5).
    pub fn connect(integration: &Integration) -> Result<Session, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let channel = runtime.block_on(endpoint(integration)?.connect()).map_err(|e| {
            // tonic's transport error hides its cause one level down.
            let cause = std::error::Error::source(&e).map_or(String::new(), |c| format!(": {c}"));
            format!("failed connecting to {}: {e}{cause}", integration.address)
        })?;
        Ok(Session {
            runtime,
            client: WorkflowServiceClient::new(channel),
            integration: integration.clone(),
            auth: Bearer::of(integration)?,
        })
    }

    /// Runs `cmd` natively if it is translated.
    pub fn run(&mut self, cmd: &Command) -> Native {
        let opts = match translation(cmd, &self.integration) {
            Ok(o) => o,
            Err(why) => return Native::Fallback(why),
        };
        let client = self.client.clone();
        let auth = self.auth.as_ref();
        self.runtime.block_on(async {
            if cmd.path() == CommandPath::WorkflowList {
                list(cmd, client, auth, opts).await
            } else {
                describe(cmd, client, auth, opts).await
            }
        })
    }
}

/// The tonic endpoint for `integration`, TLS configured.
fn endpoint(integration: &Integration) -> Result<Endpoint, String> {
    let tls = match &integration.auth {
        Auth::Direct { tls: None } => None,
        Auth::Direct { tls: Some(t) } | Auth::CloudMtls { tls: t } => Some(t.clone()),
        Auth::CloudApiKey { .. } => Some(crate::connect::Tls::default()),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", integration.address))
        .map_err(|e| format!("address `{}`: {e}", integration.address))?
        .connect_timeout(std::time::Duration::from_secs(10));
    if let Some(tls) = tls {
        let host = integration
            .address
            .rsplit_once(':')
            .map_or(integration.address.as_str(), |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut config = ClientTlsConfig::new()
            .domain_name(tls.server_name.clone().unwrap_or_else(|| host.to_owned()));
        // A given server CA replaces the system roots, as Go's `tls.Config.RootCAs` does.
        config = match &tls.server_ca {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.with_native_roots(),
        };
        if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
            config = config.identity(Identity::from_pem(cert, key.expose()));
        }
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| format!("TLS configuration: {e}"))?;
    }
    Ok(endpoint)
}

/// Runs `cmd` natively if it is translated, over a fresh connection.
pub fn try_native(cmd: &Command, integration: &Integration) -> Native {
    if let Err(why) = translation(cmd, integration) {
        return Native::Fallback(why);
    }
    match Session::connect(integration) {
        Ok(mut session) => session.run(cmd),
        Err(e) => Native::Fallback(e),
    }
}

/// The generated WorkflowService client over a tonic channel.
pub type Client = WorkflowServiceClient<tonic::transport::Channel>;

/// `workflow list`: pages until no token or `--limit`; the CLI's list framing (`[`, items at column
/// 0 separated by `,`, `]`; jsonl: one compact item per line).
async fn list(cmd: &Command, mut client: Client, auth: Option<&Bearer>, opts: Options) -> Native {
    let namespace = cmd
        .client_namespace()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let int = |n: &str| match cmd.flag(n) {
        Some(Value::Int(i)) => *i,
        _ => 0,
    };
    let limit = int("limit");
    let mut page_size = int("page-size");
    if limit > 0 && limit < page_size {
        page_size = limit;
    }
    let Ok(page_size) = i32::try_from(page_size) else {
        return Native::Fallback("page size out of range".to_owned());
    };
    let mut out = String::new();
    if opts.indent {
        out.push('[');
    }
    let mut count = 0i64;
    let mut token = Vec::new();
    'pages: loop {
        let req = ListWorkflowExecutionsRequest {
            namespace: namespace.clone(),
            page_size,
            next_page_token: token,
            query: cmd.flag_str("query").unwrap_or_default().to_owned(),
        };
        let resp = match client
            .list_workflow_executions(request(req, &namespace, auth))
            .await
        {
            Ok(r) => r.into_inner(),
            Err(status) => return Native::Fallback(format!("{status}")),
        };
        for info in &resp.executions {
            if limit > 0 && count >= limit {
                break 'pages;
            }
            let item = protojson::decode(
                "temporal.api.workflow.v1.WorkflowExecutionInfo",
                &info.encode_to_vec(),
            )
            .and_then(|d| protojson::to_json(&d, opts));
            let item = match item {
                Ok(t) => t,
                Err(e) => return Native::Fallback(e),
            };
            if opts.indent {
                out.push_str(if count == 0 { "\n" } else { ",\n" });
                out.push_str(&item);
            } else {
                out.push_str(&item);
                out.push('\n');
            }
            count += 1;
        }
        if resp.next_page_token.is_empty() || (limit > 0 && count >= limit) {
            break;
        }
        token = resp.next_page_token;
    }
    if opts.indent {
        out.push_str("\n]\n");
    }
    Native::Ran {
        stdout: out.into_bytes(),
        stderr: Vec::new(),
        exit_code: 0,
    }
}

async fn describe(cmd: &Command, mut client: Client, auth: Option<&Bearer>, opts: Options) -> Native {
    let namespace = cmd
        .client_namespace()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let req = DescribeWorkflowExecutionRequest {
        namespace: namespace.clone(),
        execution: Some(WorkflowExecution {
            workflow_id: cmd.flag_str("workflow-id").unwrap_or_default().to_owned(),
            run_id: cmd.flag_str("run-id").unwrap_or_default().to_owned(),
        }),
    };
    let resp = match client
        .describe_workflow_execution(request(req, &namespace, auth))
        .await
    {
        Ok(r) => r.into_inner(),
        // Errors are rendered by the CLI, which knows its own messages.
        Err(status) => return Native::Fallback(format!("{status}")),
    };
    // A closed workflow's output adds its close event and result (FACTS §4.1): not translated.
    let running = resp
        .workflow_execution_info
        .as_ref()
        .is_some_and(|i| i.status == 1);
    if !running {
        return Native::Fallback("closed workflows are described by the CLI".to_owned());
    }
    let dynamic = match protojson::decode(
        "temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse",
        &resp.encode_to_vec(),
    ) {
        Ok(d) => d,
        Err(e) => return Native::Fallback(e),
    };
    match protojson::to_json(&dynamic, opts) {
        Ok(mut text) => {
            text.push('\n');
            Native::Ran {
                stdout: text.into_bytes(),
                stderr: Vec::new(),
                exit_code: 0,
            }
        }
        Err(e) => Native::Fallback(e),
    }
}
