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

/// The headers the CLI sends (FACTS §5).
fn request<T>(msg: T, namespace: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    let md = r.metadata_mut();
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
fn translation(cmd: &Command, integration: &Integration) -> Result<Options, String> {
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
    if !matches!(integration.auth, Auth::Direct { tls: None }) {
        return Err("TLS connections are not translated yet".to_owned());
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
}

impl Session {
    /// Connects to `integration` (Direct Connect without TLS, for now).
    pub fn connect(integration: &Integration) -> Result<Session, String> {
        if !matches!(integration.auth, Auth::Direct { tls: None }) {
            return Err("TLS connections are not translated yet".to_owned());
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let endpoint =
            tonic::transport::Endpoint::from_shared(format!("http://{}", integration.address))
                .map_err(|e| e.to_string())?;
        let channel = runtime
            .block_on(endpoint.connect())
            .map_err(|e| format!("connect: {e}"))?;
        Ok(Session {
            runtime,
            client: WorkflowServiceClient::new(channel),
            integration: integration.clone(),
        })
    }

    /// Runs `cmd` natively if it is translated.
    pub fn run(&mut self, cmd: &Command) -> Native {
        let opts = match translation(cmd, &self.integration) {
            Ok(o) => o,
            Err(why) => return Native::Fallback(why),
        };
        let client = self.client.clone();
        self.runtime.block_on(async {
            if cmd.path() == CommandPath::WorkflowList {
                list(cmd, client, opts).await
            } else {
                describe(cmd, client, opts).await
            }
        })
    }
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
async fn list(cmd: &Command, mut client: Client, opts: Options) -> Native {
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
            .list_workflow_executions(request(req, &namespace))
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

async fn describe(cmd: &Command, mut client: Client, opts: Options) -> Native {
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
        .describe_workflow_execution(request(req, &namespace))
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
