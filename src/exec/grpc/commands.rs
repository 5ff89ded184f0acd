//! The translated commands: which flags and output formats each reproduces, its RPCs (FACTS §5)
//! and its output (FACTS §4). A flag not listed for a command makes it fall back to the CLI, so a
//! translation never silently ignores something the caller asked for.

use std::fmt::Write as _;
use temporalio_protos::protos::temporal::api::common::v1::{Payload, Payloads, WorkflowExecution};

use temporalio_protos::protos::temporal::api::enums::v1::{
    ArchivalState, BuildIdTaskReachability, EventType, HistoryEventFilterType, IndexedValueType,
    NamespaceState, QueryRejectCondition, ReplicationState, WorkflowExecutionStatus,
};
use temporalio_protos::protos::temporal::api::history::v1::{History, HistoryEvent, history_event};
use temporalio_protos::protos::temporal::api::operatorservice::v1::ListSearchAttributesRequest;
use temporalio_protos::protos::temporal::api::query::v1::WorkflowQuery;
use temporalio_protos::protos::temporal::api::taskqueue::v1::{
    TaskQueue, TaskQueueTypeInfo, TaskQueueVersionInfo, TaskQueueVersionSelection,
};
use temporalio_protos::protos::temporal::api::workflowservice::v1::{
    CountWorkflowExecutionsRequest, DescribeNamespaceRequest, DescribeNamespaceResponse,
    DescribeScheduleRequest, DescribeTaskQueueRequest, DescribeWorkflowExecutionRequest,
    GetSystemInfoRequest, GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryReverseRequest, ListNamespacesRequest, ListSchedulesRequest,
    ListWorkflowExecutionsRequest, QueryWorkflowRequest, RequestCancelWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest, TerminateWorkflowExecutionRequest,
};
use tonic::Code;

use super::{Ctx, Format, JsonList, Rows, Stop, card, optional, render, render_all, table};
use super::{admin, deployment, describe};
use crate::command::{Command, CommandPath, Value};
use crate::exec::gojson;
use crate::exec::text::{self, Cell};
use crate::exec::width::display_width;

/// Flags every translation understands: they select the namespace and the output form.
/// `--command-timeout` bounds the run as the CLI's context deadline does.
const COMMON: &[&str] = &[
    "namespace",
    "output",
    "time-format",
    "color",
    "no-json-shorthand-payloads",
    "command-timeout",
];

/// A translated command.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Handler {
    WorkflowList,
    WorkflowDescribe,
    WorkflowShow,
    WorkflowCount,
    WorkflowQuery,
    WorkflowStack,
    WorkflowMetadata,
    WorkflowSignal,
    WorkflowCancel,
    WorkflowTerminate,
    NamespaceDescribe,
    NamespaceList,
    SearchAttributeList,
    ScheduleList,
    ScheduleDescribe,
    ScheduleListMatchingTimes,
    TaskQueueDescribe,
    TaskQueueListPartition,
    WorkflowResult,
    BatchList,
    BatchDescribe,
    ClusterHealth,
    ClusterSystem,
    ClusterDescribe,
    ClusterList,
    NexusEndpointList,
    NexusEndpointGet,
    TaskQueueConfigGet,
    WorkerDeploymentList,
    WorkerDeploymentDescribe,
    WorkerDeploymentDescribeVersion,
    WorkerList,
    WorkerDescribe,
}

impl Handler {
    /// Whether the command sends a write (signal, cancel, terminate). Used to wait for the
    /// decision record before anything is sent and to watch the run for stop
    /// signals; [`super::Ctx::call`] enforces the order itself from the RPC table, and refuses
    /// to send a write for a handler not declared here.
    pub(crate) fn writes(self) -> bool {
        matches!(
            self,
            Handler::WorkflowSignal | Handler::WorkflowCancel | Handler::WorkflowTerminate
        )
    }

    pub(crate) fn for_command(cmd: &Command) -> Option<Handler> {
        Some(match cmd.path() {
            CommandPath::WorkflowList => Handler::WorkflowList,
            CommandPath::WorkflowDescribe => Handler::WorkflowDescribe,
            CommandPath::WorkflowShow => Handler::WorkflowShow,
            CommandPath::WorkflowCount => Handler::WorkflowCount,
            CommandPath::WorkflowQuery => Handler::WorkflowQuery,
            CommandPath::WorkflowStack => Handler::WorkflowStack,
            CommandPath::WorkflowMetadata => Handler::WorkflowMetadata,
            CommandPath::WorkflowSignal => Handler::WorkflowSignal,
            CommandPath::WorkflowCancel => Handler::WorkflowCancel,
            CommandPath::WorkflowTerminate => Handler::WorkflowTerminate,
            CommandPath::OperatorNamespaceDescribe => Handler::NamespaceDescribe,
            CommandPath::OperatorNamespaceList => Handler::NamespaceList,
            CommandPath::OperatorSearchAttributeList => Handler::SearchAttributeList,
            CommandPath::ScheduleList => Handler::ScheduleList,
            CommandPath::ScheduleDescribe => Handler::ScheduleDescribe,
            CommandPath::ScheduleListMatchingTimes => Handler::ScheduleListMatchingTimes,
            CommandPath::TaskQueueDescribe => Handler::TaskQueueDescribe,
            CommandPath::TaskQueueListPartition => Handler::TaskQueueListPartition,
            CommandPath::WorkflowResult => Handler::WorkflowResult,
            CommandPath::BatchList => Handler::BatchList,
            CommandPath::BatchDescribe => Handler::BatchDescribe,
            CommandPath::OperatorClusterHealth => Handler::ClusterHealth,
            CommandPath::OperatorClusterSystem => Handler::ClusterSystem,
            CommandPath::OperatorClusterDescribe => Handler::ClusterDescribe,
            CommandPath::OperatorClusterList => Handler::ClusterList,
            CommandPath::OperatorNexusEndpointList => Handler::NexusEndpointList,
            CommandPath::OperatorNexusEndpointGet => Handler::NexusEndpointGet,
            CommandPath::TaskQueueConfigGet => Handler::TaskQueueConfigGet,
            CommandPath::WorkerDeploymentList => Handler::WorkerDeploymentList,
            CommandPath::WorkerDeploymentDescribe => Handler::WorkerDeploymentDescribe,
            CommandPath::WorkerDeploymentDescribeVersion => {
                Handler::WorkerDeploymentDescribeVersion
            }
            CommandPath::WorkerList => Handler::WorkerList,
            CommandPath::WorkerDescribe => Handler::WorkerDescribe,
            _ => return None,
        })
    }

    /// The command's own flags this translation reproduces, and whether its text output is
    /// translated (with every `--time-format`).
    fn spec(self) -> (&'static [&'static str], bool) {
        match self {
            Handler::WorkflowList => (&["limit", "page-size", "query"], true),
            Handler::WorkflowDescribe => (&["workflow-id", "run-id", "reset-points", "raw"], true),
            Handler::WorkflowShow => (
                &["workflow-id", "run-id", "detailed", "reverse", "follow"],
                true,
            ),
            Handler::WorkflowCount => (&["query"], true),
            Handler::WorkflowQuery => (
                &["workflow-id", "run-id", "name", "input", "reject-condition"],
                true,
            ),
            Handler::WorkflowStack | Handler::WorkflowMetadata => {
                (&["workflow-id", "run-id", "reject-condition"], true)
            }
            Handler::WorkflowSignal => (&["workflow-id", "run-id", "name", "input"], true),
            Handler::WorkflowCancel => (&["workflow-id", "run-id"], true),
            Handler::WorkflowTerminate => (&["workflow-id", "run-id", "reason"], true),
            Handler::NamespaceDescribe => (&["namespace-id"], true),
            Handler::NamespaceList | Handler::SearchAttributeList => (&[], true),
            Handler::ScheduleList => (&["query", "long", "really-long"], true),
            Handler::ScheduleDescribe => (&["schedule-id"], true),
            Handler::ScheduleListMatchingTimes => {
                (&["schedule-id", "start-time", "end-time"], true)
            }
            // Enhanced mode, not legacy mode. `--report-config` changes nothing there (the CLI
            // reports a queue's configuration in legacy mode only).
            Handler::TaskQueueDescribe => (
                &[
                    "task-queue",
                    "task-queue-type",
                    "disable-stats",
                    "report-config",
                    "report-reachability",
                    "select-build-id",
                    "select-unversioned",
                    "select-all-active",
                ],
                true,
            ),
            Handler::TaskQueueListPartition => (&["task-queue"], true),
            Handler::WorkflowResult => (&["workflow-id", "run-id"], true),
            Handler::BatchList | Handler::ClusterList => (&["limit"], true),
            Handler::BatchDescribe => (&["job-id"], true),
            Handler::ClusterHealth | Handler::ClusterSystem => (&[], true),
            Handler::ClusterDescribe => (&["detail"], true),
            Handler::NexusEndpointList => (&[], true),
            Handler::NexusEndpointGet => (&["name"], true),
            Handler::TaskQueueConfigGet => (&["task-queue", "task-queue-type"], true),
            Handler::WorkerDeploymentList => (&[], true),
            Handler::WorkerDeploymentDescribe => (&["name"], true),
            Handler::WorkerDeploymentDescribeVersion => (
                &["deployment-name", "build-id", "report-task-queue-stats"],
                true,
            ),
            // (`--include-system-workers` is the CLI's to send.)
            Handler::WorkerList => (&["limit", "query"], true),
            Handler::WorkerDescribe => (&["worker-instance-key"], true),
        }
    }

    /// `Ok` when this translation reproduces `cmd` in `format`.
    pub(crate) fn accepts(self, cmd: &Command, format: Format) -> Result<(), String> {
        let (own, text_translated) = self.spec();
        if let Some(flag) = cmd
            .flags()
            .keys()
            .find(|f| !COMMON.contains(f) && !own.contains(f))
        {
            return Err(format!("`--{flag}` is not translated"));
        }
        if cmd.flag_str("namespace") == Some("") {
            // The client connects to `default`, but the CLI's raw calls send the empty name
            // (`task-queue config get` refuses it itself): command by command, the CLI's to run.
            return Err("an empty --namespace is read differently by each CLI command".to_owned());
        }
        if cmd.flag_str("color") == Some("always") {
            return Err("coloured output is rendered by the CLI".to_owned());
        }
        if !cmd.args().is_empty() {
            return Err("positional arguments are not translated".to_owned());
        }
        if format == Format::Text && !text_translated {
            return Err("text output of this command is rendered by the CLI".to_owned());
        }
        if text::TimeFormat::parse(cmd.flag_str("time-format")).is_none() {
            return Err("an unknown --time-format".to_owned());
        }
        if let Some(Value::Duration(d)) = cmd.flag("command-timeout")
            && d.0 <= 0
        {
            return Err("a --command-timeout that is not positive".to_owned());
        }
        if matches!(self, Handler::WorkflowShow)
            && cmd.flag_set("follow")
            && (cmd.flag_set("reverse") || cmd.flag_set("detailed"))
        {
            // Followed text is written as it comes, so that what cannot be reproduced could
            // only stop it midway; `--detailed` is the likely case (the CLI prints an event
            // with search attributes at random), `--reverse` is not pinned down.
            return Err("`--follow` with `--reverse` or `--detailed` is run by the CLI".to_owned());
        }
        Ok(())
    }

    pub(crate) async fn run(self, ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
        match self {
            Handler::WorkflowList => JsonList::around(ctx, workflow_list_pages).await,
            Handler::WorkflowDescribe => workflow_describe(ctx).await,
            Handler::WorkflowShow => workflow_show(ctx).await,
            Handler::WorkflowCount => workflow_count(ctx).await,
            Handler::WorkflowQuery => {
                let name = ctx.cmd.flag_str("name").unwrap_or_default().to_owned();
                workflow_query(ctx, &name).await
            }
            Handler::WorkflowStack => workflow_query(ctx, "__stack_trace").await,
            Handler::WorkflowMetadata => workflow_query(ctx, METADATA_QUERY).await,
            Handler::WorkflowSignal => workflow_signal(ctx).await,
            Handler::WorkflowCancel => workflow_cancel(ctx).await,
            Handler::WorkflowTerminate => workflow_terminate(ctx).await,
            Handler::NamespaceDescribe => namespace_describe(ctx).await,
            Handler::NamespaceList => JsonList::around(ctx, namespace_list_pages).await,
            Handler::SearchAttributeList => search_attribute_list(ctx).await,
            Handler::ScheduleList => schedule_list(ctx).await,
            Handler::ScheduleDescribe => schedule_describe(ctx).await,
            Handler::ScheduleListMatchingTimes => super::schedule::list_matching_times(ctx).await,
            Handler::TaskQueueDescribe => task_queue_describe(ctx).await,
            Handler::TaskQueueListPartition => admin::task_queue_list_partition(ctx).await,
            Handler::WorkflowResult => workflow_result(ctx).await,
            Handler::BatchList => JsonList::around(ctx, admin::batch_list_pages).await,
            Handler::BatchDescribe => admin::batch_describe(ctx).await,
            Handler::ClusterHealth => admin::cluster_health(ctx).await,
            Handler::ClusterSystem => admin::cluster_system(ctx).await,
            Handler::ClusterDescribe => admin::cluster_describe(ctx).await,
            Handler::ClusterList => JsonList::around(ctx, admin::cluster_list_pages).await,
            Handler::NexusEndpointList => JsonList::around(ctx, admin::nexus_endpoint_pages).await,
            Handler::NexusEndpointGet => admin::nexus_endpoint_get(ctx).await,
            Handler::TaskQueueConfigGet => admin::task_queue_config_get(ctx).await,
            Handler::WorkerDeploymentList => JsonList::around(ctx, deployment::list_pages).await,
            Handler::WorkerDeploymentDescribe => deployment::describe(ctx).await,
            Handler::WorkerDeploymentDescribeVersion => deployment::describe_version(ctx).await,
            Handler::WorkerList => JsonList::around(ctx, super::worker::list_pages).await,
            Handler::WorkerDescribe => super::worker::describe(ctx).await,
        }
    }
}

/// The type names of a status's details (the `google.rpc.Status` a server sends in
/// `grpc-status-details-bin`): a Temporal server names the failure it answers with
/// (`temporal.api.errordetails.v1.NotFoundFailure`, `NamespaceNotFoundFailure`,
/// `ResourceExhaustedFailure`…). A status no Temporal server sent (a proxy's, or one tonic makes
/// of an HTTP/2 reset) has none.
pub(super) fn detail_types(status: &tonic::Status) -> Vec<String> {
    use prost::Message as _;
    temporalio_protos::protos::google::rpc::Status::decode(status.details())
        .map(|s| {
            s.details
                .into_iter()
                .map(|d| d.type_url.rsplit('/').next().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `status` is a Temporal server's rate limit: `ResourceExhausted` with its
/// `ResourceExhaustedFailure`, sent before the server acts on the request.
pub(super) fn server_rate_limit(status: &tonic::Status) -> bool {
    status.code() == Code::ResourceExhausted
        && detail_types(status).iter().any(|t| t == RATE_LIMITED)
}

/// The detail a Temporal server's rate limit carries.
const RATE_LIMITED: &str = "temporal.api.errordetails.v1.ResourceExhaustedFailure";

/// How an RPC error ends the command. A status the server itself answered with is the CLI's
/// `Error: <context>: <message>` (the SDK prints a service error as its message); anything else
/// (transport failures, refused credentials) is left to the CLI for reads, whose messages it owns. A write never falls
/// back after its RPC was sent: the CLI would send it again.
pub(crate) fn rpc_error(status: &tonic::Status, context: &str, write: bool) -> Stop {
    // Credentials refused: the CLI fails already when it connects (its eager GetSystemInfo) and
    // prints its connection diagnostics, which only it can: reads fall back to it.
    let refused = matches!(
        status.code(),
        Code::Unauthenticated | Code::PermissionDenied
    );
    // tonic's own refusals of a response, not the server's answers (and the CLI words its own
    // differently, or reads the response): one beyond tgate's message limit (the Go SDK's,
    // [`super::MAX_MESSAGE_BYTES`]), `OutOfRange`; one compressed in a way tonic is not built
    // for (servers compress only for clients that ask), `Unimplemented`.
    let local = (status.code() == Code::OutOfRange
        && status
            .message()
            .starts_with("Error, decoded message length too large"))
        || (status.code() == Code::Unimplemented
            && status.message().starts_with("Content is compressed with"));
    // tgate sets no deadline on its calls (its timeouts drop the call instead), so
    // `DeadlineExceeded` is the server's own answer, e.g. a query no worker took up in time. For a
    // read that is the CLI's error; a write it leaves uncertain (below). `ResourceExhausted` (a
    // rate limit) is an answer too, but the Go SDK retries it for up to a minute where the CLI
    // calls through the SDK: a read goes to the CLI, which does what it does; a write the server
    // refused as rate-limited was refused before it ran (cancel and terminate, which the CLI
    // sends through the SDK, are sent again first: `sdk_write`), and says so. The same code
    // without the server's details (a proxy's, or an HTTP/2 reset tonic reports with it) leaves
    // a write uncertain.
    let answered = !local
        && (matches!(
            status.code(),
            Code::InvalidArgument
                | Code::NotFound
                | Code::AlreadyExists
                | Code::FailedPrecondition
                | Code::OutOfRange
                | Code::Unimplemented
        ) || (status.code() == Code::DeadlineExceeded && !write)
            || (write && server_rate_limit(status)));
    let message = if context.is_empty() {
        status.message().to_owned()
    } else {
        format!("{context}: {}", status.message())
    };
    if answered || (refused && write) {
        Stop::Failed(message)
    } else if write {
        Stop::Failed(format!(
            "tgate: {}: {:?}: {}",
            super::MAY_HAVE_TAKEN_EFFECT,
            status.code(),
            status.message()
        ))
    } else if std::error::Error::source(status).is_some() && !local {
        // A connection that failed (tonic's status, with its cause): said with what tonic knows
        // (QA: `Unknown: transport error` alone, where the cause was the server refusing the
        // client certificate); the CLI would fail to connect as well.
        Stop::Unanswered(format!(
            "{:?}: {}",
            status.code(),
            super::with_status_causes(status)
        ))
    } else if refused {
        // The server refused the credentials: the CLI would be refused as well.
        Stop::Unanswered(format!("{:?}: {}", status.code(), status.message()))
    } else {
        // tonic's own refusals of a response, and the server's errors the CLI's SDK asks again
        // after (a rate limit, `Unavailable`, `Internal`): the CLI may well get an answer.
        Stop::fallback(format!("{:?}: {}", status.code(), status.message()))
    }
}

/// The one workflow a signal, cancel or terminate acts on. An empty `--workflow-id` is, to the
/// CLI, neither a workflow nor a batch `--query`: it refuses before sending anything.
fn one_workflow(cmd: &Command) -> Result<Option<WorkflowExecution>, Stop> {
    if cmd.flag_str("workflow-id").is_none_or(str::is_empty) {
        return Err(Stop::Failed(
            "must set either workflow ID or query".to_owned(),
        ));
    }
    Ok(execution(cmd))
}

fn execution(cmd: &Command) -> Option<WorkflowExecution> {
    Some(WorkflowExecution {
        workflow_id: cmd.flag_str("workflow-id").unwrap_or_default().to_owned(),
        run_id: cmd.flag_str("run-id").unwrap_or_default().to_owned(),
    })
}

pub(super) fn int_flag(cmd: &Command, name: &str) -> i64 {
    match cmd.flag(name) {
        Some(Value::Int(i)) => *i,
        _ => 0,
    }
}

/// How the CLI's printer shows a proto inside text (a card value, a list element): compact
/// protojson, payload shorthand always on, whatever `--no-json-shorthand-payloads` says.
pub(super) const IN_TEXT: super::protojson::Options = super::protojson::Options {
    indent: false,
    shorthand: true,
};

/// `workflow list`: pages until no token or `--limit`; each page is written as it arrives
/// (JSON items, or a table per page with the header on the first).
async fn workflow_list_pages(ctx: &mut Ctx<'_, '_>, list: &mut JsonList) -> Result<(), Stop> {
    let limit = int_flag(ctx.cmd, "limit");
    let mut page_size = int_flag(ctx.cmd, "page-size");
    if limit > 0 && limit < page_size {
        page_size = limit;
    }
    let page_size =
        i32::try_from(page_size).map_err(|_| Stop::fallback("page size out of range"))?;
    let query = ctx.cmd.flag_str("query").unwrap_or_default().to_owned();
    let opts = ctx.json_options(true);
    let mut count = 0i64;
    let mut token = Vec::new();
    loop {
        let req = ListWorkflowExecutionsRequest {
            namespace: ctx.namespace.clone(),
            page_size,
            next_page_token: token,
            query: query.clone(),
        };
        let resp = call!(ctx, req, "failed listing workflows");
        let take = if limit > 0 {
            usize::try_from(limit - count)
                .unwrap_or(0)
                .min(resp.executions.len())
        } else {
            resp.executions.len()
        };
        let page = &resp.executions[..take];
        match ctx.format {
            Format::Json | Format::Jsonl => {
                let items =
                    render_all("temporal.api.workflow.v1.WorkflowExecutionInfo", page, opts)?;
                for item in items {
                    list.item(ctx, &item)?;
                }
            }
            Format::Text if !page.is_empty() => {
                let times = ctx.times();
                let rows: Vec<Vec<Cell>> = page
                    .iter()
                    .map(|i| {
                        vec![
                            Cell::left(status_text(i.status)),
                            Cell::left(
                                i.execution
                                    .as_ref()
                                    .map(|e| e.workflow_id.clone())
                                    .unwrap_or_default(),
                            ),
                            Cell::left(
                                i.r#type
                                    .as_ref()
                                    .map(|t| t.name.clone())
                                    .unwrap_or_default(),
                            ),
                            Cell::left(times.timestamp(i.start_time.as_ref())),
                        ]
                    })
                    .collect();
                // Each page is its own table (widths include the header), and only the first
                // prints the header.
                let headers = ["Status", "WorkflowId", "Type", "StartTime"];
                let table = table(&headers, count == 0, &rows)?;
                ctx.out.write(&table)?;
            }
            Format::Text => {}
        }
        count += take as i64;
        if resp.next_page_token.is_empty() || (limit > 0 && count >= limit) {
            break;
        }
        token = resp.next_page_token;
    }
    Ok(())
}

fn status_text(status: i32) -> String {
    WorkflowExecutionStatus::try_from(status)
        .map(|s| text::shorthand(s.as_str_name(), "WORKFLOW_EXECUTION_STATUS_"))
        .unwrap_or_else(|_| status.to_string())
}

/// `workflow describe`. A closed workflow's output adds its close event: in JSON, with its
/// result, through a Go map round trip (FACTS §4.1); in text, as a results card.
async fn workflow_describe(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let req = DescribeWorkflowExecutionRequest {
        namespace: ctx.namespace.clone(),
        execution: execution(ctx.cmd),
    };
    let resp = call!(ctx, req, "failed describing workflow");
    if ctx.cmd.flag_set("reset-points") {
        return reset_points(ctx, &resp);
    }
    let running = resp
        .workflow_execution_info
        .as_ref()
        .is_some_and(|i| i.status == WorkflowExecutionStatus::Running as i32);
    let close = if running {
        None
    } else {
        Some(close_event(ctx, &resp).await?)
    };
    if ctx.format == Format::Text {
        let extra_space = if has_payload_maps(&resp) {
            ctx.prototext_extra_space()?
        } else {
            false
        };
        let results = match &close {
            Some(event) => Some(results_card(ctx, &resp, event)?),
            None => None,
        };
        let text = describe_text(
            &ctx.namespace,
            &resp,
            ctx.times(),
            extra_space,
            results.as_deref(),
        )?;
        return ctx.out.write(&text);
    }
    match close {
        Some(event) => describe_closed(ctx, &resp, event),
        None => ctx.print_message(
            "temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse",
            &resp,
            true,
        ),
    }
}

/// `workflow describe --reset-points`: only the workflow's reset points ([`reset_points_text`]).
fn reset_points(
    ctx: &mut Ctx<'_, '_>,
    resp: &temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse,
) -> Result<(), Stop> {
    // (The CLI reads the points through the execution info without checking it is there.)
    let info = resp
        .workflow_execution_info
        .as_ref()
        .ok_or_else(|| Stop::fallback("a description without its execution info"))?;
    let points = info
        .auto_reset_points
        .as_ref()
        .map(|p| p.points.as_slice())
        .unwrap_or_default();
    let out = reset_points_text(points, ctx.format, &ctx.times())?;
    ctx.out.write(&out)
}

/// Reset points as `workflow describe --reset-points` prints them, each its binary checksum,
/// creation time, run id and the event id of the first workflow task completed with that build.
/// Text: "Auto Reset Points: N" and a card per point (blank lines between; times in the
/// command's `--time-format`). JSON: the CLI's struct slice through `encoding/json` (field order
/// kept, `<>&` escaped, times as `time.Time` marshals them, a missing one Go's zero time, `[]`
/// when there are none), with no heading.
fn reset_points_text(
    points: &[temporalio_protos::protos::temporal::api::workflow::v1::ResetPointInfo],
    format: Format,
    times: &text::Times,
) -> Result<String, Stop> {
    #[expect(
        deprecated,
        reason = "deprecated in the API (build ids replace it), still printed by the CLI"
    )]
    fn checksum(
        p: &temporalio_protos::protos::temporal::api::workflow::v1::ResetPointInfo,
    ) -> &str {
        &p.binary_checksum
    }
    if format != Format::Text {
        let mut c = String::from("[");
        for (i, p) in points.iter().enumerate() {
            if i > 0 {
                c.push(',');
            }
            c.push_str("{\"BinaryChecksum\":");
            gojson::write_go_string(checksum(p), &mut c);
            c.push_str(",\"CreateTime\":");
            gojson::write_go_time(p.create_time.as_ref().map(|t| (t.seconds, t.nanos)), &mut c);
            c.push_str(",\"RunId\":");
            gojson::write_go_string(&p.run_id, &mut c);
            let _ = write!(c, ",\"EventId\":{}}}", p.first_workflow_task_completed_id);
        }
        c.push(']');
        let mut out = String::with_capacity(c.len() * 2);
        gojson::reindent(&c, format == Format::Json, 0, &mut out);
        out.push('\n');
        return Ok(out);
    }
    let mut out = format!("Auto Reset Points: {}\n", points.len());
    for (i, p) in points.iter().enumerate() {
        let rows = [
            ("BinaryChecksum", checksum(p).to_owned()),
            ("CreateTime", times.timestamp(p.create_time.as_ref())),
            ("RunId", p.run_id.clone()),
            ("EventId", p.first_workflow_task_completed_id.to_string()),
        ];
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&card(&rows));
    }
    Ok(out)
}

/// The close event of a described run that is not running (the CLI asks for it by the run id
/// the description gave).
async fn close_event(
    ctx: &mut Ctx<'_, '_>,
    resp: &temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse,
) -> Result<HistoryEvent, Stop> {
    let req = GetWorkflowExecutionHistoryRequest {
        namespace: ctx.namespace.clone(),
        execution: resp
            .workflow_execution_info
            .as_ref()
            .and_then(|i| i.execution.clone()),
        maximum_page_size: 0,
        next_page_token: Vec::new(),
        wait_new_event: false,
        history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
        skip_archival: false,
    };
    let history = call!(ctx, req, "failed getting close event");
    history
        .history
        .and_then(|h| h.events.into_iter().next())
        .ok_or_else(|| Stop::fallback("no close event returned"))
}

/// `workflow describe -o json|jsonl` of a closed workflow: the CLI re-serialises the response
/// through a Go `map[string]any` with `"closeEvent"` added (FACTS §4.1): every key sorted,
/// `encoding/json` escaping, numbers through float64, the close event kept in protojson order. A
/// completed run adds its result as "friendly payloads" (one payload alone), kept in its order
/// too.
fn describe_closed(
    ctx: &mut Ctx<'_, '_>,
    resp: &temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse,
    event: HistoryEvent,
) -> Result<(), Stop> {
    let compact = super::protojson::Options {
        indent: false,
        ..ctx.json_options(true)
    };
    let result = completed_result(&event, compact)?;
    let described = render(
        "temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse",
        resp,
        compact,
    )?;
    let gojson::Json::Obj(members) = gojson::parse(described.as_bytes()).map_err(Stop::Fallback)?
    else {
        return Err(Stop::fallback("the description is not an object"));
    };
    let close = render("temporal.api.history.v1.HistoryEvent", &event, compact)?;
    let mut raw = std::collections::BTreeMap::from([("closeEvent".to_owned(), close)]);
    if let Some(result) = result {
        raw.insert("result".to_owned(), result);
    }
    let mut out = String::new();
    gojson::write_go_object_with_raw(&members, &raw, ctx.format == Format::Json, &mut out);
    out.push('\n');
    ctx.out.write(&out)
}

/// A completed run's result as the CLI's `MarshalFriendlyJSONPayloads` gives it (`None` for
/// another close event): `null` without one, the one payload alone, or the whole `Payloads`, as
/// compact protojson (payload shorthand as `opts` says), for a `json.RawMessage`.
fn completed_result(
    event: &HistoryEvent,
    opts: super::protojson::Options,
) -> Result<Option<String>, Stop> {
    Ok(match &event.attributes {
        Some(history_event::Attributes::WorkflowExecutionCompletedEventAttributes(attrs)) => {
            Some(match &attrs.result {
                None => "null".to_owned(),
                Some(p) if p.payloads.len() == 1 => {
                    render("temporal.api.common.v1.Payload", &p.payloads[0], opts)?
                }
                Some(p) => render("temporal.api.common.v1.Payloads", p, opts)?,
            })
        }
        _ if event.event_type == EventType::WorkflowExecutionCompleted as i32 => {
            return Err(Stop::fallback("a completed event without its attributes"));
        }
        _ => None,
    })
}

/// How the CLI names the way a run closed (`COMPLETED`, `FAILED`, `TIMEOUT`, `CANCELED`); `None`
/// for another close event (a termination, a continue-as-new).
fn close_status(event: &HistoryEvent) -> Option<&'static str> {
    match EventType::try_from(event.event_type) {
        Ok(EventType::WorkflowExecutionCompleted) => Some("COMPLETED"),
        Ok(EventType::WorkflowExecutionFailed) => Some("FAILED"),
        Ok(EventType::WorkflowExecutionTimedOut) => Some("TIMEOUT"),
        Ok(EventType::WorkflowExecutionCanceled) => Some("CANCELED"),
        _ => None,
    }
}

/// `workflow result`: waits for the run's close event as the Go SDK's history iterator does
/// (long polls for the close event alone, an expired poll's empty page followed by the next),
/// following continue-as-new into the next run; then prints it as the CLI does. Text: the
/// results card. JSON: the CLI's `workflowJSONResult` through `encoding/json` (`workflowId`,
/// `runId` (the given one, else the current run's, from a description, `""` when that fails),
/// `namespace`, `status` (`COMPLETED`, `FAILED`, `TIMEOUT`, `CANCELED`, else `<unknown>`),
/// `closeEvent`, a completed run's `result`). A run that did not complete then ends with the
/// CLI's `workflow failed`.
async fn workflow_result(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let mut run = execution(ctx.cmd);
    let event = 'runs: loop {
        let mut token = Vec::new();
        let event = loop {
            let req = GetWorkflowExecutionHistoryRequest {
                namespace: ctx.namespace.clone(),
                execution: run.clone(),
                maximum_page_size: 0,
                next_page_token: token,
                wait_new_event: true,
                history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
                skip_archival: true,
            };
            let resp = call!(ctx, req, "failed getting close event");
            if !resp.raw_history.is_empty() {
                return Err(Stop::fallback("raw history pages are read by the CLI"));
            }
            if let Some(event) = resp.history.and_then(|h| h.events.into_iter().next()) {
                break event;
            }
            if resp.next_page_token.is_empty() {
                return Err(Stop::Failed("missing close event".to_owned()));
            }
            token = resp.next_page_token;
        };
        match &event.attributes {
            Some(history_event::Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a)) => {
                run = run.map(|r| WorkflowExecution {
                    run_id: a.new_execution_run_id.clone(),
                    ..r
                });
            }
            _ => break 'runs event,
        }
    };
    let out = if ctx.format == Format::Text {
        let mut out = "Results:\n".to_owned();
        out.push_str(&card(&results_rows(ctx, &event, None)?));
        out
    } else {
        workflow_result_json(ctx, &event).await?
    };
    if event.event_type == EventType::WorkflowExecutionCompleted as i32 {
        ctx.out.write(&out)
    } else {
        Err(Stop::FailedAfter(out, "workflow failed".to_owned()))
    }
}

/// `workflow result -o json|jsonl` of a close event ([`workflow_result`]).
async fn workflow_result_json(ctx: &mut Ctx<'_, '_>, event: &HistoryEvent) -> Result<String, Stop> {
    let compact = super::protojson::Options {
        indent: false,
        ..ctx.json_options(true)
    };
    let close = render("temporal.api.history.v1.HistoryEvent", event, compact)?;
    let result = completed_result(event, compact)?;
    let status = close_status(event).unwrap_or("<unknown>");
    // The SDK's run handle: the run id given, else the current run's, which it asks for with a
    // description (its error leaves the id empty).
    let mut run_id = ctx.cmd.flag_str("run-id").unwrap_or_default().to_owned();
    if run_id.is_empty() {
        let req = DescribeWorkflowExecutionRequest {
            namespace: ctx.namespace.clone(),
            execution: Some(WorkflowExecution {
                workflow_id: ctx
                    .cmd
                    .flag_str("workflow-id")
                    .unwrap_or_default()
                    .to_owned(),
                run_id: String::new(),
            }),
        };
        let namespace = ctx.namespace.clone();
        let req = ctx.request(req, Some(&namespace));
        match ctx.call(req, "").await {
            Ok(resp) => {
                run_id = resp
                    .workflow_execution_info
                    .and_then(|i| i.execution)
                    .map(|e| e.run_id)
                    .unwrap_or_default();
            }
            Err(Stop::Failed(_)) => {}
            Err(other) => return Err(other),
        }
    }
    let mut c = String::from("{\"workflowId\":");
    gojson::write_go_string(ctx.cmd.flag_str("workflow-id").unwrap_or_default(), &mut c);
    c.push_str(",\"runId\":");
    gojson::write_go_string(&run_id, &mut c);
    if !ctx.namespace.is_empty() {
        c.push_str(",\"namespace\":");
        gojson::write_go_string(&ctx.namespace, &mut c);
    }
    c.push_str(",\"status\":");
    gojson::write_go_string(status, &mut c);
    c.push_str(",\"closeEvent\":");
    c.push_str(&close);
    if let Some(result) = result {
        c.push_str(",\"result\":");
        c.push_str(&result);
    }
    c.push('}');
    let mut out = String::with_capacity(c.len() * 2);
    gojson::reindent(&c, ctx.format == Format::Json, 0, &mut out);
    out.push('\n');
    Ok(out)
}

/// The CLI's results card (`printTextResult`) for a run's close event, after `"Results:"`:
/// RunTime (when `run_time` is given: close − start, cut to 10 ms, as a Go duration), Status
/// (empty for a terminated run), and for a completed run its result (friendly payloads: one
/// payload alone, as `json.Marshal` prints a `json.RawMessage`) and the first payload's
/// encoding; for a failed one the failure chain (`MarshalFriendlyFailureBodyText`).
fn results_rows(
    ctx: &Ctx<'_, '_>,
    event: &HistoryEvent,
    run_time: Option<String>,
) -> Result<Rows, Stop> {
    let mut rows = Rows::new();
    if let Some(run_time) = run_time {
        rows.push(("RunTime", run_time));
    }
    rows.push(("Status", close_status(event).unwrap_or_default().to_owned()));
    match &event.attributes {
        Some(history_event::Attributes::WorkflowExecutionCompletedEventAttributes(attrs)) => {
            let opts = super::protojson::Options {
                indent: false,
                ..ctx.json_options(true)
            };
            // (Always there for a completed event's attributes.)
            let raw = completed_result(event, opts)?.unwrap_or_default();
            let mut shown = String::new();
            gojson::reindent(&raw, false, 0, &mut shown);
            rows.push(("Result", shown));
            let encoding = attrs
                .result
                .as_ref()
                .and_then(|p| p.payloads.first())
                .and_then(|p| p.metadata.get("encoding"))
                .map(|e| String::from_utf8(e.clone()))
                .transpose()
                .map_err(|_| Stop::fallback("a result encoding that is not UTF-8"))?;
            if let Some(encoding) = encoding.filter(|e| !e.is_empty()) {
                rows.push(("ResultEncoding", encoding));
            }
        }
        Some(history_event::Attributes::WorkflowExecutionFailedEventAttributes(attrs)) => {
            let failure = failure_text(attrs.failure.as_ref(), "    ");
            if !failure.is_empty() {
                rows.push(("Failure", failure));
            }
        }
        _ => {}
    }
    Ok(rows)
}

/// `"Results:\n"` and the results card of a described closed run ([`results_rows`], with its run
/// time).
fn results_card(
    ctx: &Ctx<'_, '_>,
    resp: &temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse,
    event: &HistoryEvent,
) -> Result<String, Stop> {
    let info = resp.workflow_execution_info.as_ref();
    let run_time = match (
        info.and_then(|i| i.start_time.as_ref()),
        info.and_then(|i| i.close_time.as_ref()),
    ) {
        (Some(start), Some(close)) => {
            let nanos = (i128::from(close.seconds) - i128::from(start.seconds)) * 1_000_000_000
                + i128::from(close.nanos)
                - i128::from(start.nanos);
            // Go: `duration.Truncate(10 * time.Millisecond).String()` when duration > 0.
            (nanos > 0).then(|| {
                let cut = nanos - nanos % 10_000_000;
                text::go_duration((cut / 1_000_000_000) as i64, (cut % 1_000_000_000) as i32)
            })
        }
        _ => None,
    };
    let rows = results_rows(ctx, event, run_time)?;
    let card = card(&rows);
    Ok(format!("Results:\n{card}"))
}

/// The CLI's `MarshalFriendlyFailureBodyText`: for the failure and each cause, a line
/// `Message: …`, the stack trace indented below `StackTrace:`, and `Cause:` before the next, each
/// cause four spaces deeper; every line starts with a newline.
pub(super) fn failure_text(
    failure: Option<&temporalio_protos::protos::temporal::api::failure::v1::Failure>,
    indent: &str,
) -> String {
    let mut out = String::new();
    let mut indent = indent.to_owned();
    let mut next = failure;
    while let Some(f) = next {
        let _ = write!(out, "\n{indent}Message: {}", f.message);
        if !f.stack_trace.is_empty() {
            let _ = write!(
                out,
                "\n{indent}StackTrace:\n{indent}    {}",
                f.stack_trace.replace('\n', &format!("\n{indent}    "))
            );
        }
        next = f.cause.as_deref();
        if next.is_some() {
            let _ = write!(out, "\n{indent}Cause:");
            indent.push_str("    ");
        }
    }
    out
}

/// Whether a description has a memo or search attributes (printed as Go prints a payload map).
fn has_payload_maps(
    resp: &temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse,
) -> bool {
    resp.workflow_execution_info.as_ref().is_some_and(|info| {
        info.memo.as_ref().is_some_and(|m| !m.fields.is_empty())
            || info
                .search_attributes
                .as_ref()
                .is_some_and(|s| !s.indexed_fields.is_empty())
    })
}

/// `workflow describe` text (times in the command's `--time-format`): the "Execution Info" and
/// "Extended Execution Info" cards (with "Pause Info" after it), "Metadata", "Versioning Info"
/// and "Callbacks" when the workflow has them ([`describe`]), then the pending work of a running
/// workflow or the results card of one that is not (`results`). Memo and search attributes print
/// as Go's `%v` of a payload map, one-line prototext whose spacing comes from the pinned binary
/// (`extra_space`).
fn describe_text(
    namespace: &str,
    resp: &temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse,
    times: text::Times,
    extra_space: bool,
    results: Option<&str>,
) -> Result<String, Stop> {
    let info = resp.workflow_execution_info.clone().unwrap_or_default();
    let ext = resp.workflow_extended_info.clone();
    let time = |t: &Option<prost_wkt_types::Timestamp>| times.timestamp(t.as_ref());
    let payload_map = |fields: Option<&std::collections::HashMap<String, Payload>>| match fields
        .filter(|f| !f.is_empty())
    {
        None => Ok(String::new()),
        Some(f) => super::super::prototext::payload_map(f, extra_space)
            .ok_or_else(|| Stop::fallback("a payload with external details")),
    };
    let memo = payload_map(info.memo.as_ref().map(|m| &m.fields))?;
    let search_attributes =
        payload_map(info.search_attributes.as_ref().map(|s| &s.indexed_fields))?;
    let exec = info.execution.clone().unwrap_or_default();
    let parent = info.parent_execution.clone().unwrap_or_default();
    let root = info.root_execution.clone().unwrap_or_default();
    let mut rows: Rows = vec![
        ("WorkflowId", exec.workflow_id),
        ("RunId", exec.run_id),
        (
            "Type",
            info.r#type.clone().map(|t| t.name).unwrap_or_default(),
        ),
        ("Namespace", namespace.to_owned()),
        ("TaskQueue", info.task_queue.clone()),
        #[expect(
            deprecated,
            reason = "deprecated in the API, still printed by the CLI (`GetAssignedBuildId`)"
        )]
        ("AssignedBuildId", info.assigned_build_id.clone()),
        ("StartTime", time(&info.start_time)),
    ];
    // `cardOmitEmpty` fields: left out when zero.
    optional(&mut rows, "CloseTime", time(&info.close_time));
    optional(&mut rows, "ExecutionTime", time(&info.execution_time));
    optional(&mut rows, "Memo", memo);
    optional(&mut rows, "SearchAttributes", search_attributes);
    rows.push((
        "StateTransitionCount",
        info.state_transition_count.to_string(),
    ));
    rows.push(("HistoryLength", info.history_length.to_string()));
    rows.push(("HistorySize", info.history_size_bytes.to_string()));
    optional(&mut rows, "ParentWorkflowId", parent.workflow_id);
    optional(&mut rows, "ParentRunId", parent.run_id);
    optional(&mut rows, "RootWorkflowId", root.workflow_id);
    optional(&mut rows, "RootRunId", root.run_id);
    let mut out = String::from("Execution Info:\n");
    out.push_str(&card(&rows));
    if let Some(ext) = ext {
        let mut rows: Rows = vec![("CancelRequested", ext.cancel_requested.to_string())];
        optional(
            &mut rows,
            "ExecutionExpirationTime",
            time(&ext.execution_expiration_time),
        );
        optional(
            &mut rows,
            "RunExpirationTime",
            time(&ext.run_expiration_time),
        );
        optional(&mut rows, "LastResetTime", time(&ext.last_reset_time));
        optional(
            &mut rows,
            "OriginalStartTime",
            time(&ext.original_start_time),
        );
        out.push_str("Extended Execution Info:\n");
        out.push_str(&card(&rows));
        if let Some(pause) = &ext.pause_info {
            out.push_str(&describe::pause_info(pause, &times)?);
        }
    }
    out.push_str(&user_metadata(resp)?);
    if let Some(versioning) = &info.versioning_info {
        out.push_str(&describe::versioning_info(versioning)?);
    }
    if !resp.callbacks.is_empty() {
        out.push_str(&describe::callbacks(&resp.callbacks, &times)?);
    }
    match results {
        Some(results) => {
            out.push('\n');
            out.push_str(results);
        }
        None => out.push_str(&pending_work(resp, &times)?),
    }
    Ok(out)
}

/// The "Metadata:" section of a text description, when the workflow has a static summary or
/// details (data in either): both payloads, as the CLI's printer prints any proto (compact
/// protojson, payload shorthand always on), a missing one as Go prints a nil pointer, `<nil>`.
fn user_metadata(
    resp: &temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse,
) -> Result<String, Stop> {
    let metadata = resp
        .execution_config
        .as_ref()
        .and_then(|c| c.user_metadata.as_ref());
    let summary = metadata.and_then(|m| m.summary.as_ref());
    let details = metadata.and_then(|m| m.details.as_ref());
    let has_data = |p: Option<&Payload>| p.is_some_and(|p| !p.data.is_empty());
    if !has_data(summary) && !has_data(details) {
        return Ok(String::new());
    }
    let shown = |p: Option<&Payload>| match p {
        None => Ok("<nil>".to_owned()),
        Some(p) if p.data.is_empty() => Err(Stop::fallback(
            "a static summary or details payload without data",
        )),
        Some(p) => render("temporal.api.common.v1.Payload", p, IN_TEXT),
    };
    let rows = [
        ("StaticSummary", shown(summary)?),
        ("StaticDetails", shown(details)?),
    ];
    let card = card(&rows);
    Ok(format!("\nMetadata:\n{card}"))
}

/// The pending-work sections of a running workflow's text description: "Pending Activities: N"
/// and a card per activity (blank lines around them), "Pending Child Workflows: N" and a card per
/// child (the CLI prints the proto struct itself: its fields in order, zero values left out),
/// "Pending Nexus Operations: N" and a card per operation ([`describe::nexus_operations`]).
/// Failures and heartbeat details print as the CLI's printer prints any proto: compact protojson
/// with payload shorthand.
fn pending_work(
    resp: &temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse,
    times: &text::Times,
) -> Result<String, Stop> {
    use temporalio_protos::protos::temporal::api::enums::v1::{
        ParentClosePolicy, PendingActivityState,
    };
    let time = |t: &Option<prost_wkt_types::Timestamp>| times.timestamp(t.as_ref());
    let mut out = format!("\nPending Activities: {}\n", resp.pending_activities.len());
    if !resp.pending_activities.is_empty() {
        out.push('\n');
        for (i, a) in resp.pending_activities.iter().enumerate() {
            let state = PendingActivityState::try_from(a.state)
                .map(|s| text::shorthand(s.as_str_name(), "PENDING_ACTIVITY_STATE_"))
                .map_err(|_| Stop::fallback("a pending activity state this build does not know"))?;
            let mut rows: Rows = vec![
                ("ActivityId", a.activity_id.clone()),
                (
                    "Type",
                    a.activity_type
                        .as_ref()
                        .map(|t| t.name.clone())
                        .unwrap_or_default(),
                ),
                ("State", state),
                ("Attempt", a.attempt.to_string()),
                ("MaximumAttempts", a.maximum_attempts.to_string()),
                ("ScheduledTime", time(&a.scheduled_time)),
            ];
            optional(&mut rows, "LastStartedTime", time(&a.last_started_time));
            optional(&mut rows, "LastHeartbeatTime", time(&a.last_heartbeat_time));
            optional(&mut rows, "ExpirationTime", time(&a.expiration_time));
            if let Some(f) = &a.last_failure {
                optional(
                    &mut rows,
                    "LastFailure",
                    render("temporal.api.failure.v1.Failure", f, IN_TEXT)?,
                );
            }
            optional(
                &mut rows,
                "LastWorkerIdentity",
                a.last_worker_identity.clone(),
            );
            let details = a
                .heartbeat_details
                .as_ref()
                .map(|d| d.payloads.as_slice())
                .unwrap_or_default();
            if !details.is_empty() {
                let shown = details
                    .iter()
                    .map(|p| render("temporal.api.common.v1.Payload", p, IN_TEXT))
                    .collect::<Result<Vec<_>, _>>()?;
                optional(
                    &mut rows,
                    "LastHeartbeatDetails",
                    format!("[{}]", shown.join(", ")),
                );
            }
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&card(&rows));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Pending Child Workflows: {}",
        resp.pending_children.len()
    );
    if !resp.pending_children.is_empty() {
        out.push('\n');
        for (i, c) in resp.pending_children.iter().enumerate() {
            let policy = match ParentClosePolicy::try_from(c.parent_close_policy) {
                Ok(ParentClosePolicy::Unspecified) => String::new(),
                Ok(p) => text::shorthand(p.as_str_name(), "PARENT_CLOSE_POLICY_"),
                Err(_) => {
                    return Err(Stop::fallback(
                        "a parent close policy this build does not know",
                    ));
                }
            };
            let initiated = if c.initiated_id == 0 {
                String::new()
            } else {
                c.initiated_id.to_string()
            };
            let rows: Vec<(&str, String)> = [
                ("WorkflowId", c.workflow_id.clone()),
                ("RunId", c.run_id.clone()),
                ("WorkflowTypeName", c.workflow_type_name.clone()),
                ("InitiatedId", initiated),
                ("ParentClosePolicy", policy),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&card(&rows));
        }
    }
    let _ = writeln!(
        out,
        "Pending Nexus Operations: {}",
        resp.pending_nexus_operations.len()
    );
    if !resp.pending_nexus_operations.is_empty() {
        describe::no_system_operations(
            resp.pending_nexus_operations
                .iter()
                .map(|op| op.endpoint.as_str()),
        )?;
        out.push_str(&describe::nexus_operations(
            &resp.pending_nexus_operations,
            times,
        )?);
    }
    Ok(out)
}

/// `workflow show`. `-o json|jsonl`: the whole history (every page) as one `History`, never in
/// payload shorthand (it must stay replayable). Text: the progress table, following
/// continue-as-new into the next run as the CLI's table iterator does (not newest first), or with
/// `--detailed` a section per event (the CLI's raw event iterator, which does not follow); then
/// the results card.
/// `--follow` long-polls for new events until the run closes (in text, into the runs it continues
/// as), writing text as it comes.
async fn workflow_show(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let text = ctx.format == Format::Text;
    let detailed = text && ctx.cmd.flag_set("detailed");
    let reverse = ctx.cmd.flag_set("reverse");
    let follow = ctx.cmd.flag_set("follow");
    // Followed text is written page by page, as the events come (the CLI prints them as its
    // iterator yields them); otherwise all at once, so that anything not reproduced can still
    // fall back to the CLI before a byte is written.
    let stream = text && follow;
    let shorthand = ctx.json_options(true).shorthand;
    // The text of `events[from..]` (with the header when `from` is 0).
    let printed = |events: &[HistoryEvent], from: usize| {
        if detailed {
            sections(events, from, shorthand)
        } else {
            progress(&events[from..], from == 0)
        }
    };
    let mut shown = 0;
    let context = if text {
        "displaying history failed"
    } else {
        "failed getting next history event"
    };
    let mut history = History { events: Vec::new() };
    let mut run = execution(ctx.cmd);
    let mut token = Vec::new();
    loop {
        let namespace = ctx.namespace.clone();
        // (history, next page token, raw history pages)
        let page = if reverse {
            let req = GetWorkflowExecutionHistoryReverseRequest {
                namespace: namespace.clone(),
                execution: run.clone(),
                maximum_page_size: 0,
                next_page_token: token,
            };
            let req = ctx.request(req, Some(&namespace));
            ctx.call(req, context)
                .await
                .map(|r| (r.history, r.next_page_token, Vec::new()))
        } else {
            let req = GetWorkflowExecutionHistoryRequest {
                namespace: namespace.clone(),
                execution: run.clone(),
                maximum_page_size: 0,
                next_page_token: token,
                // Following, as the Go SDK's long-polling history iterator asks: each call
                // returns when there are new events (or the server's long poll expires, with an
                // empty page and a token), until the run has closed.
                wait_new_event: follow,
                history_event_filter_type: HistoryEventFilterType::AllEvent as i32,
                skip_archival: follow,
            };
            let req = ctx.request(req, Some(&namespace));
            ctx.call(req, context)
                .await
                .map(|r| (r.history, r.next_page_token, r.raw_history))
        };
        let (page, next, raw) = match page {
            Ok(page) => page,
            // The CLI has printed its progress header, and every event before the failed page.
            Err(Stop::Failed(m)) if text => {
                return Err(Stop::FailedAfter(printed(&history.events, shown)?, m));
            }
            Err(other) => return Err(other),
        };
        if !raw.is_empty() {
            return Err(Stop::fallback("raw history pages are rendered by the CLI"));
        }
        let events = page.map(|h| h.events).unwrap_or_default();
        describe::no_system_operations(events.iter().filter_map(|e| match &e.attributes {
            Some(history_event::Attributes::NexusOperationScheduledEventAttributes(a)) => {
                Some(a.endpoint.as_str())
            }
            _ => None,
        }))?;
        history.events.extend(events);
        // Written while its run goes on (more pages to come: a run still open, or a long
        // history). The last page of a run that has ended is held, with whatever follows a
        // continue-as-new, until a page of a run that goes on, or the end, where the results card
        // is laid out before anything held is written: a closed run, or chain of runs, whose card
        // the text cannot show goes to the CLI with nothing printed (QA: a failure message with
        // an escape stopped the output after the events; then after the first run of a chain).
        if stream && history.events.len() > shown && !next.is_empty() {
            ctx.out.write(&printed(&history.events, shown)?)?;
            ctx.out.flush()?;
            shown = history.events.len();
        }
        token = next;
        if !token.is_empty() {
            continue;
        }
        // Newest first, the CLI's reverse iterator stays in the run, a continue-as-new included
        // (checked against the CLI: it does not follow it as the forward table does).
        if reverse {
            break;
        }
        // Text follows a continue-as-new (its last event) into the new run.
        let next_run =
            match history.events.last().and_then(|e| e.attributes.as_ref()) {
                Some(
                    history_event::Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a),
                ) if text && !detailed => a.new_execution_run_id.clone(),
                _ => break,
            };
        run = run.map(|r| WorkflowExecution {
            run_id: next_run,
            ..r
        });
    }
    if text {
        let mut out = printed(&history.events, shown)?;
        out.push('\n');
        if let Some(results) = results_text(ctx, &history.events)? {
            out.push_str(&results);
        }
        return ctx.out.write(&out);
    }
    ctx.print_message("temporal.api.history.v1.History", &history, false)
}

/// `show`'s `Results:` card of the last event in `events` that ended a run (a termination or a
/// continue-as-new does not count), if one did.
fn results_text(ctx: &Ctx<'_, '_>, events: &[HistoryEvent]) -> Result<Option<String>, Stop> {
    let ended = events.iter().rev().find(|e| {
        matches!(
            EventType::try_from(e.event_type),
            Ok(EventType::WorkflowExecutionCompleted
                | EventType::WorkflowExecutionFailed
                | EventType::WorkflowExecutionTimedOut
                | EventType::WorkflowExecutionCanceled)
        )
    });
    let Some(event) = ended else {
        return Ok(None);
    };
    let rows = results_rows(ctx, event, None)?;
    Ok(Some(format!("Results:\n{}", card(&rows))))
}

/// `workflow show --detailed` of `events[from..]`: after `Progress:` (when `from` is 0), per event
/// (a blank line between two) a heading
/// `--------------- [ID] Type ---------------` and the event's fields as the CLI flattens them:
/// the event in compact protojson (payload shorthand as the command asks), without `eventId` and
/// `eventType`, its `…Attributes` object lifted to the top, then every leaf as `dotted.path: value`
/// (`name[i]` in arrays, `<nil>` for null), sorted. The CLI lifts while it ranges over a Go map,
/// so a lifted key that itself ends in `Attributes` (`searchAttributes`) is lifted again or not
/// at random: such an event falls back.
fn sections(events: &[HistoryEvent], from: usize, shorthand: bool) -> Result<String, Stop> {
    let opts = super::protojson::Options {
        indent: false,
        shorthand,
    };
    let mut out = String::new();
    if from == 0 {
        out.push_str("Progress:\n");
    }
    for (i, e) in events.iter().enumerate().skip(from) {
        let ty = EventType::try_from(e.event_type)
            .map_err(|_| Stop::fallback("an event type this build does not know"))?;
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "--------------- [{}] {} ---------------",
            e.event_id,
            text::shorthand(ty.as_str_name(), "EVENT_TYPE_")
        );
        let rendered = render("temporal.api.history.v1.HistoryEvent", e, opts)?;
        let gojson::Json::Obj(mut fields) =
            gojson::parse(rendered.as_bytes()).map_err(Stop::Fallback)?
        else {
            return Err(Stop::fallback("an event that is not an object"));
        };
        fields.remove("eventId");
        fields.remove("eventType");
        let lifted: Vec<String> = fields
            .keys()
            .filter(|k| k.ends_with("Attributes"))
            .cloned()
            .collect();
        for key in lifted {
            let Some(gojson::Json::Obj(inner)) = fields.remove(&key) else {
                return Err(Stop::fallback("event attributes that are not an object"));
            };
            for (k, v) in inner {
                if k.ends_with("Attributes") {
                    return Err(Stop::fallback(
                        "the CLI flattens this event's details in random order",
                    ));
                }
                fields.insert(k, v);
            }
        }
        let mut leaves = Vec::new();
        flatten(String::new(), &gojson::Json::Obj(fields), &mut leaves);
        leaves.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, value) in leaves {
            let _ = writeln!(out, "{path}: {value}");
        }
    }
    Ok(out)
}

/// The CLI's `flattenJSONValue`: each leaf of `value` under `path` as (`dotted.path`, its `%v`).
fn flatten(path: String, value: &gojson::Json, out: &mut Vec<(String, String)>) {
    use gojson::Json;
    match value {
        Json::Obj(members) => {
            for (k, v) in members {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(sub, v, out);
            }
        }
        Json::Arr(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(format!("{path}[{i}]"), v, out);
            }
        }
        Json::Null => out.push((path, "<nil>".to_owned())),
        Json::Bool(b) => out.push((path, b.to_string())),
        Json::Str(s) => out.push((path, s.clone())),
        // json.Number keeps the text protojson wrote, which for a number is Go's float64 form.
        Json::Num(_) => {
            let mut text = String::new();
            gojson::write_go(value, false, &mut text);
            out.push((path, text));
        }
    }
}

/// `workflow show`'s progress header (fixed widths: ID 3, Time 20, Type 26; headers centred).
const SHOW_HEADER: &str = "Progress:\n  ID           Time                     Type           \n";

/// `workflow show`'s progress table: the header (when `header`), then per event its ID
/// right-aligned to 3, its time in RFC 3339 UTC whatever `--time-format`, its type padded to 26
/// and never cut.
fn progress(events: &[HistoryEvent], header: bool) -> Result<String, Stop> {
    let mut out = String::new();
    if header {
        out.push_str(SHOW_HEADER);
    }
    for e in events {
        let ty = EventType::try_from(e.event_type)
            .map_err(|_| Stop::fallback("an event type this build does not know"))?;
        let time = e
            .event_time
            .as_ref()
            .map(|t| text::iso_time(t.seconds, t.nanos))
            .unwrap_or_default();
        let name = text::shorthand(ty.as_str_name(), "EVENT_TYPE_");
        let _ = writeln!(out, "  {:>3}  {time:<20}  {name:<26}", e.event_id);
    }
    Ok(out)
}

/// `workflow count`: JSON, or `Total: N` and for GROUP BY a line per group, `Group total: N,
/// values: v1, v2`. In JSON the CLI first deletes the group values' `type` metadata, so that
/// they print in payload shorthand.
async fn workflow_count(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let req = CountWorkflowExecutionsRequest {
        namespace: ctx.namespace.clone(),
        query: ctx.cmd.flag_str("query").unwrap_or_default().to_owned(),
    };
    let mut resp = call!(ctx, req, "");
    if ctx.format == Format::Text {
        let mut out = format!("Total: {}\n", resp.count);
        for group in &resp.groups {
            // The CLI joins with ", " only after a non-empty text.
            let mut values = String::new();
            for payload in &group.group_values {
                if !values.is_empty() {
                    values.push_str(", ");
                }
                values.push_str(&group_value(payload)?);
            }
            let _ = writeln!(out, "Group total: {}, values: {values}", group.count);
        }
        return ctx.out.write(&out);
    }
    for group in &mut resp.groups {
        for payload in &mut group.group_values {
            payload.metadata.remove("type");
        }
    }
    ctx.print_message(
        "temporal.api.workflowservice.v1.CountWorkflowExecutionsResponse",
        &resp,
        true,
    )
}

/// A GROUP BY value as the CLI prints it: the SDK's default data converter decodes the payload
/// into a Go `any`, printed with `%v`. Strings (what grouping by `ExecutionStatus` gives) and
/// null are reproduced; other values fall back.
fn group_value(payload: &Payload) -> Result<String, Stop> {
    match payload.metadata.get("encoding").map(Vec::as_slice) {
        Some(b"binary/null") => Ok("<nil>".to_owned()),
        Some(b"json/plain") => match gojson::parse(&payload.data).map_err(Stop::Fallback)? {
            gojson::Json::Str(s) => Ok(s),
            gojson::Json::Null => Ok("<nil>".to_owned()),
            _ => Err(Stop::fallback(
                "a GROUP BY value that is not a string is rendered by the CLI",
            )),
        },
        _ => Err(Stop::fallback(
            "a GROUP BY value in another encoding is rendered by the CLI",
        )),
    }
}

/// The `--input` values as payloads: JSON (checked as the CLI checks it, failing with its error
/// before anything is sent), `json/plain`. What this reader does not take but Go's json.Valid may
/// (numbers beyond float64, deep nesting): the CLI decides those.
async fn json_inputs(ctx: &mut Ctx<'_, '_>) -> Result<Vec<Payload>, Stop> {
    let inputs = match ctx.cmd.flag("input") {
        Some(Value::StrArray(v)) => v.clone(),
        _ => Vec::new(),
    };
    let mut payloads = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        match gojson::parse_checked(input.as_bytes()) {
            Ok(_) => payloads.push(Payload {
                metadata: [("encoding".to_owned(), b"json/plain".to_vec())].into(),
                data: input.into_bytes(),
                external_payloads: Vec::new(),
            }),
            Err(gojson::Refused::Beyond(why)) => return Err(Stop::Fallback(why)),
            Err(gojson::Refused::NotJson(_)) => {
                // The CLI reads its inputs once connected, and connecting makes a call
                // (GetSystemInfo) that fails first when the server refuses the credentials: the
                // same call here (unless a write's connection check made it), its failure left
                // to the CLI, whose message it is.
                let req = ctx.request(GetSystemInfoRequest {}, None);
                if !ctx.connected && ctx.call(req, "connecting").await.is_err() {
                    return Err(Stop::fallback(
                        "the connection the CLI makes before reading its inputs failed",
                    ));
                }
                // (That call is not the command's: the record names no status for it.)
                ctx.status = None;
                return Err(Stop::Failed(format!("input #{} is not valid JSON", i + 1)));
            }
        }
    }
    Ok(payloads)
}

/// `workflow query` (`--name`, `--input`, `--reject-condition`) and `workflow stack` (the
/// `__stack_trace` query): the response as JSON, or the "Query result:" card whose value is the
/// result as the CLI's friendly payloads (one payload alone, several as their `Payloads`); a
/// rejected query as the CLI's error; a response without a result as `null`. The text of the
/// workflow metadata query lays out its definitions ([`metadata_text`]).
async fn workflow_query(ctx: &mut Ctx<'_, '_>, query_type: &str) -> Result<(), Stop> {
    let args = json_inputs(ctx).await?;
    let reject = match ctx.cmd.flag_str("reject-condition").unwrap_or_default() {
        // (Unspecified, as the CLI sends it: not `None`, which the server reads alike.)
        "" => QueryRejectCondition::Unspecified,
        "not_open" => QueryRejectCondition::NotOpen,
        "not_completed_cleanly" => QueryRejectCondition::NotCompletedCleanly,
        // (The parser admits only those, as the CLI's enum flag does.)
        _ => {
            return Err(Stop::fallback(
                "a --reject-condition this translation does not know",
            ));
        }
    };
    let req = QueryWorkflowRequest {
        namespace: ctx.namespace.clone(),
        execution: execution(ctx.cmd),
        query: Some(WorkflowQuery {
            query_type: query_type.to_owned(),
            query_args: (!args.is_empty()).then_some(Payloads { payloads: args }),
            header: None,
        }),
        query_reject_condition: reject as i32,
    };
    let resp = call!(ctx, req, "querying workflow failed");
    // Rejected (by `--reject-condition`, or by the server, e.g. for a paused workflow): the
    // CLI's error, naming the workflow's status in shorthand.
    if let Some(rejected) = &resp.query_rejected {
        let status = describe::shorthand(
            rejected.status,
            "WORKFLOW_EXECUTION_STATUS_",
            WorkflowExecutionStatus::as_str_name,
        )?;
        return Err(Stop::Failed(format!(
            "query was rejected, workflow has status: {status}"
        )));
    }
    if ctx.format != Format::Text {
        return ctx.print_message(
            "temporal.api.workflowservice.v1.QueryWorkflowResponse",
            &resp,
            true,
        );
    }
    if query_type == METADATA_QUERY {
        let text = metadata_text(resp.query_result.as_ref())?;
        return ctx.out.write(&text);
    }
    // The card's value is the CLI's `MarshalFriendlyJSONPayloads`: the one payload alone, or
    // the whole `Payloads` (shorthand as the command asks), compacted as `encoding/json` writes
    // a `json.RawMessage`.
    let opts = super::protojson::Options {
        indent: false,
        ..ctx.json_options(true)
    };
    let raw = match &resp.query_result {
        Some(p) if p.payloads.len() == 1 => {
            render("temporal.api.common.v1.Payload", &p.payloads[0], opts)?
        }
        Some(p) => render("temporal.api.common.v1.Payloads", p, opts)?,
        // Answered without a result at all (not an empty list): the CLI prints `null`.
        None => "null".to_owned(),
    };
    let mut shown = String::new();
    gojson::reindent(&raw, false, 0, &mut shown);
    let card = text::card(&[("QueryResult", shown)]);
    ctx.out.write(&format!("Query result:\n{card}"))
}

/// The built-in query `workflow metadata` sends (`query --name` may send it too).
const METADATA_QUERY: &str = "__temporal_workflow_metadata";

/// The `temporal.api.sdk.v1.WorkflowMetadata` an SDK answers the metadata query with, as the
/// CLI reads it (protojson: camelCase or proto names, `null` as absent, a repeated field at most
/// once). A key this does not know, though the CLI would skip it, falls back.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowMetadata {
    #[serde(default)]
    definition: Option<WorkflowDefinition>,
    #[serde(default, rename = "currentDetails", alias = "current_details")]
    current_details: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowDefinition {
    #[serde(default, rename = "type")]
    _type: Option<String>,
    #[serde(default, rename = "queryDefinitions", alias = "query_definitions")]
    queries: Option<Vec<InteractionDefinition>>,
    #[serde(default, rename = "signalDefinitions", alias = "signal_definitions")]
    signals: Option<Vec<InteractionDefinition>>,
    #[serde(default, rename = "updateDefinitions", alias = "update_definitions")]
    updates: Option<Vec<InteractionDefinition>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InteractionDefinition {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// Whether `v` has objects where `WorkflowMetadata`'s protojson has messages: the whole answer,
/// its `definition`, and each handler definition (a message field may also be `null`; an element
/// of a repeated one may not).
fn objects_where_protojson_wants_them(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    let Value::Object(top) = v else {
        return false;
    };
    let definition = match top.get("definition") {
        None | Some(Value::Null) => return true,
        Some(Value::Object(d)) => d,
        Some(_) => return false,
    };
    definition.iter().all(|(key, list)| {
        if !key.ends_with("Definitions") && !key.ends_with("_definitions") {
            return true;
        }
        match list {
            Value::Null => true,
            Value::Array(items) => items.iter().all(Value::is_object),
            _ => false,
        }
    })
}

/// The text the CLI prints for the metadata query's answer: `Metadata:`, then for each kind of
/// handler that has any, `  Query Definitions:` (then Signal, Update) and a row per handler in
/// the order given, `    ` + name padded to at least 4 + `    ` + description padded to at least
/// 11 (the widths of the unprinted headers `Name` and `Description`), then `  Current Details:`
/// and the details after four spaces, as they are (a newline in them printed raw); widths as the
/// CLI measures them ([`display_width`]). Anything but one payload in `json/plain` or in
/// `json/protobuf` naming `temporal.api.sdk.v1.WorkflowMetadata` (as SDKs answer), or text with
/// a control character (a newline in the details aside), falls back.
fn metadata_text(result: Option<&Payloads>) -> Result<String, Stop> {
    let fallback = |why: &str| Stop::fallback(format!("workflow metadata text: {why}"));
    let payload = match result.map(|p| p.payloads.as_slice()) {
        Some([p]) => p,
        _ => return Err(fallback("not one payload")),
    };
    // `json/plain`, or the proto itself in protojson, as the SDKs answer (the Go, Python and
    // TypeScript ones: `json/protobuf` naming the message); the CLI reads either into the proto.
    let meta_of = |k: &str| payload.metadata.get(k).map(Vec::as_slice);
    let plain = payload.metadata.len() == 1 && meta_of("encoding") == Some(b"json/plain");
    let proto = payload.metadata.len() == 2
        && meta_of("encoding") == Some(b"json/protobuf")
        && meta_of("messageType") == Some(b"temporal.api.sdk.v1.WorkflowMetadata");
    if !plain && !proto {
        return Err(fallback(
            "neither a json/plain nor a WorkflowMetadata json/protobuf payload",
        ));
    }
    // serde would also fill a struct from an array, by position; protojson wants objects.
    let value: serde_json::Value = serde_json::from_slice(&payload.data)
        .map_err(|e| fallback(&format!("an answer that is not JSON ({e})")))?;
    if !objects_where_protojson_wants_them(&value) {
        return Err(fallback("an answer shaped otherwise than WorkflowMetadata"));
    }
    let meta: WorkflowMetadata = serde_json::from_slice(&payload.data)
        .map_err(|e| fallback(&format!("an answer this reader does not take ({e})")))?;
    let mut out = String::from("Metadata:\n");
    let definition = meta.definition.unwrap_or(WorkflowDefinition {
        _type: None,
        queries: None,
        signals: None,
        updates: None,
    });
    for (title, defs) in [
        ("Query", definition.queries),
        ("Signal", definition.signals),
        ("Update", definition.updates),
    ] {
        let defs = defs.unwrap_or_default();
        if defs.is_empty() {
            continue;
        }
        let rows: Vec<(String, String)> = defs
            .into_iter()
            .map(|d| {
                (
                    d.name.unwrap_or_default(),
                    d.description.unwrap_or_default(),
                )
            })
            .collect();
        // Widths as the CLI measures them; a control character (this layout was not compared
        // with the CLI's for one) is the CLI's to lay out.
        if rows
            .iter()
            .any(|(n, d)| n.chars().chain(d.chars()).any(char::is_control))
        {
            return Err(fallback("a name or description with a control character"));
        }
        let widths: Vec<(usize, usize)> = rows
            .iter()
            .map(|(n, d)| (display_width(n), display_width(d)))
            .collect();
        let name_w = widths.iter().map(|w| w.0).max().unwrap_or(0).max(4);
        let desc_w = widths.iter().map(|w| w.1).max().unwrap_or(0).max(11);
        let _ = writeln!(out, "  {title} Definitions:");
        for ((name, desc), (nw, dw)) in rows.iter().zip(widths) {
            let _ = writeln!(
                out,
                "    {name}{}    {desc}{}",
                " ".repeat(name_w - nw),
                " ".repeat(desc_w - dw)
            );
        }
    }
    if let Some(details) = meta.current_details.filter(|d| !d.is_empty()) {
        if details.chars().any(|c| c.is_control() && c != '\n') {
            return Err(fallback(
                "details with a control character other than a newline",
            ));
        }
        let _ = writeln!(out, "  Current Details:\n    {details}");
    }
    Ok(out)
}

/// `workflow signal` of one workflow: `--input` values are JSON (checked as the CLI checks them)
/// sent as `json/plain` payloads; no input is an empty `Payloads`, as the CLI sends.
async fn workflow_signal(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    // (In the CLI's order: the inputs, then the workflow.)
    let payloads = json_inputs(ctx).await?;
    let workflow_execution = one_workflow(ctx.cmd)?;
    let req = SignalWorkflowExecutionRequest {
        namespace: ctx.namespace.clone(),
        workflow_execution,
        signal_name: ctx.cmd.flag_str("name").unwrap_or_default().to_owned(),
        input: Some(Payloads { payloads }),
        identity: ctx.identity.clone(),
        ..Default::default()
    };
    call!(ctx, req, "failed signalling workflow");
    done(ctx, "Signal workflow succeeded")
}

/// `workflow cancel` of one workflow.
async fn workflow_cancel(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let req = RequestCancelWorkflowExecutionRequest {
        namespace: ctx.namespace.clone(),
        workflow_execution: one_workflow(ctx.cmd)?,
        identity: ctx.identity.clone(),
        request_id: crate::random::uuid_v4().to_string(),
        ..Default::default()
    };
    sdk_write(ctx, req, "failed to cancel workflow").await?;
    done(ctx, "Canceled workflow")
}

/// `workflow terminate` of one workflow, with its `--reason`.
async fn workflow_terminate(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let req = TerminateWorkflowExecutionRequest {
        namespace: ctx.namespace.clone(),
        workflow_execution: one_workflow(ctx.cmd)?,
        // An empty `--reason` is no reason to the CLI, which gives its own (QA: the native
        // executor sent the empty text, and the server put its own default in the history).
        reason: match ctx.cmd.flag_str("reason") {
            Some(reason) if !reason.is_empty() => reason.to_owned(),
            _ => default_reason(),
        },
        identity: ctx.identity.clone(),
        ..Default::default()
    };
    sdk_write(ctx, req, "failed to terminate workflow").await?;
    done(ctx, "Workflow terminated")
}

/// Sends a write the CLI makes through the Go SDK, which sends it again while the server answers
/// with its rate limit (`ResourceExhausted` and its `ResourceExhaustedFailure`, given before the
/// request takes effect), as the SDK's retry interceptor does: waits of 400 ms doubling up to
/// 6 s (a tenth of the `--command-timeout` when one is given), ±20% jitter, within the call's
/// deadline (10 s; half the `--command-timeout`, kept within 1 to 10 s), after which the CLI
/// says `context deadline exceeded` (also when an attempt is still unanswered then: the SDK's
/// deadline bounds each call). Any other failure ends the
/// command as [`rpc_error`] says; an outcome left uncertain (the SDK would retry `Unavailable`
/// too) is never sent again, since a termination without a run id sent twice could end a run
/// that started in between. (`workflow signal` is a raw call in the CLI: refused once, it fails.)
async fn sdk_write<R: super::Rpc + Clone>(
    ctx: &mut Ctx<'_, '_>,
    req: R,
    context: &str,
) -> Result<R::Response, Stop> {
    use std::time::Duration;
    // The call's deadline, and the longest wait (a tenth of the outer timeout: the SDK's
    // expiration, a minute without one).
    let deadline = super::positive_duration(ctx.cmd, "command-timeout")
        .map_or(Duration::from_secs(10), |t| {
            (t / 2).clamp(Duration::from_secs(1), Duration::from_secs(10))
        });
    let longest = super::longest_wait(ctx.cmd);
    let start = std::time::Instant::now();
    let mut delay = super::RETRY_FIRST;
    loop {
        let namespace = ctx.namespace.clone();
        let sent = ctx.request(req.clone(), Some(&namespace));
        // Each attempt within the call's deadline, as the SDK's context bounds it: one still
        // unanswered then ends as the CLI's does (its outcome unknown to both).
        let left = deadline.saturating_sub(start.elapsed());
        let Ok(answer) = tokio::time::timeout(left, ctx.call(sent, context)).await else {
            ctx.status = Some(Code::DeadlineExceeded);
            return Err(Stop::Failed(format!(
                "{context}: context deadline exceeded"
            )));
        };
        match answer {
            Err(Stop::Failed(_))
                if ctx.status == Some(Code::ResourceExhausted)
                    && ctx.details.iter().any(|t| t == RATE_LIMITED) =>
            {
                let wait = super::jittered(delay);
                let left = deadline.saturating_sub(start.elapsed());
                if wait >= left {
                    tokio::time::sleep(left).await;
                    ctx.status = Some(Code::DeadlineExceeded);
                    return Err(Stop::Failed(format!(
                        "{context}: context deadline exceeded"
                    )));
                }
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(longest);
            }
            other => return other,
        }
    }
}

/// The reason the CLI gives a termination without `--reason` (or with an empty one):
/// `Requested from CLI by <user>`, the user named by `/etc/passwd` for the process's user id, as
/// the statically linked Go binary looks it up (the CLI executor's child, run as tgate's user,
/// has no `$USER` to fall back on), else `<unknown-user>`.
fn default_reason() -> String {
    let uid = nix::unistd::getuid().to_string();
    let user = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                // Go's `lookupUserId`: the first line whose third field is the id, with a name
                // that is not a NIS `+`/`-` entry and a numeric group id.
                let fields: Vec<&str> = line.splitn(7, ':').collect();
                let name = fields.first().copied().unwrap_or_default();
                (fields.len() >= 6
                    && fields[2] == uid
                    && fields[3].parse::<i64>().is_ok()
                    && !name.is_empty()
                    && !name.starts_with(['+', '-']))
                .then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| "<unknown-user>".to_owned());
    format!("Requested from CLI by {user}")
}

/// A write's confirmation: one line in text, nothing in JSON.
fn done(ctx: &mut Ctx<'_, '_>, line: &str) -> Result<(), Stop> {
    if ctx.format == Format::Text {
        ctx.out.write(&format!("{line}\n"))?;
    }
    Ok(())
}

/// `operator namespace describe` (by `-n` or `--namespace-id`).
async fn namespace_describe(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let id = ctx
        .cmd
        .flag_str("namespace-id")
        .unwrap_or_default()
        .to_owned();
    let name = if id.is_empty() {
        ctx.namespace.clone()
    } else {
        String::new()
    };
    let req = DescribeNamespaceRequest {
        namespace: name.clone(),
        id,
        weak_consistency: false,
    };
    let req = ctx.request(req, Some(&name));
    let resp = ctx
        .call(req, &format!("unable to describe namespace {name}"))
        .await?;
    if ctx.format == Format::Text {
        let card = namespace_card(&resp)?;
        return ctx.out.write(&card);
    }
    ctx.print_message(
        "temporal.api.workflowservice.v1.DescribeNamespaceResponse",
        &resp,
        true,
    )
}

/// `operator namespace list`: pages of 100; JSON list framing, or one card per namespace with a
/// blank line between cards.
async fn namespace_list_pages(ctx: &mut Ctx<'_, '_>, list: &mut JsonList) -> Result<(), Stop> {
    let opts = ctx.json_options(true);
    let mut token = Vec::new();
    loop {
        let req = ListNamespacesRequest {
            page_size: 100,
            next_page_token: token,
            namespace_filter: None,
        };
        let req = ctx.request(req, None);
        let resp = ctx.call(req, "").await?;
        // The whole page laid out before any of it is written (QA: a description the text
        // cannot show, on the second namespace, stopped the output after the first card).
        if ctx.format == Format::Text {
            let page = resp
                .namespaces
                .iter()
                .map(namespace_card)
                .collect::<Result<Vec<_>, _>>()?;
            // Blank lines between the cards of a page, none between pages: the CLI prints each
            // page as one list (QA: a blank line between the 100th card and the 101st).
            for (i, card) in page.iter().enumerate() {
                if i > 0 {
                    ctx.out.write("\n")?;
                }
                ctx.out.write(card)?;
            }
        } else {
            let items = render_all(
                "temporal.api.workflowservice.v1.DescribeNamespaceResponse",
                &resp.namespaces,
                opts,
            )?;
            for item in items {
                list.item(ctx, &item)?;
            }
        }
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    Ok(())
}

/// A namespace as the CLI's card (`printNamespaceDescriptions`, FACTS §4.2).
fn namespace_card(ns: &DescribeNamespaceResponse) -> Result<String, Stop> {
    let info = ns.namespace_info.clone().unwrap_or_default();
    let config = ns.config.clone().unwrap_or_default();
    let repl = ns.replication_config.clone().unwrap_or_default();
    let clusters = repl
        .clusters
        .iter()
        .map(|c| {
            render(
                "temporal.api.replication.v1.ClusterReplicationConfig",
                c,
                IN_TEXT,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !ns.failover_history.is_empty() {
        return Err(Stop::fallback("failover history is rendered by the CLI"));
    }
    let go_map = |m: &std::collections::HashMap<String, String>| {
        let mut kv: Vec<_> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        kv.sort();
        // Go's `%v` of a map.
        format!("map[{}]", kv.join(" "))
    };
    let retention = config
        .workflow_execution_retention_ttl
        .map(|d| text::go_duration(d.seconds, d.nanos))
        .unwrap_or_else(|| "0s".to_owned());
    let rows = [
        ("NamespaceInfo.Name", info.name.clone()),
        ("NamespaceInfo.Id", info.id.clone()),
        ("NamespaceInfo.Description", info.description.clone()),
        ("NamespaceInfo.OwnerEmail", info.owner_email.clone()),
        (
            "NamespaceInfo.State",
            enum_text(
                NamespaceState::try_from(info.state).map(|s| s.as_str_name()),
                "NAMESPACE_STATE_",
            ),
        ),
        ("NamespaceInfo.Data", go_map(&info.data)),
        ("Config.WorkflowExecutionRetentionTtl", retention),
        (
            "ReplicationConfig.ActiveClusterName",
            repl.active_cluster_name.clone(),
        ),
        (
            "ReplicationConfig.Clusters",
            format!("[{}]", clusters.join(", ")),
        ),
        (
            "ReplicationConfig.State",
            enum_text(
                ReplicationState::try_from(repl.state).map(|s| s.as_str_name()),
                "REPLICATION_STATE_",
            ),
        ),
        (
            "Config.HistoryArchivalState",
            enum_text(
                ArchivalState::try_from(config.history_archival_state).map(|s| s.as_str_name()),
                "ARCHIVAL_STATE_",
            ),
        ),
        (
            "Config.VisibilityArchivalState",
            enum_text(
                ArchivalState::try_from(config.visibility_archival_state).map(|s| s.as_str_name()),
                "ARCHIVAL_STATE_",
            ),
        ),
        ("IsGlobalNamespace", ns.is_global_namespace.to_string()),
        ("FailoverVersion", ns.failover_version.to_string()),
        ("FailoverHistory", "[]".to_owned()),
        (
            "Config.HistoryArchivalUri",
            config.history_archival_uri.clone(),
        ),
        (
            "Config.VisibilityArchivalUri",
            config.visibility_archival_uri.clone(),
        ),
        (
            "Config.CustomSearchAttributeAliases",
            go_map(&config.custom_search_attribute_aliases),
        ),
    ];
    Ok(text::card(&rows))
}

/// A proto enum as api-go's `String()` prints it (`BATCH_OPERATION_STATE_COMPLETED` →
/// `Completed`); empty for a value this build does not know (a read's response holding one
/// has already fallen back).
pub(super) fn enum_text<E>(name: Result<&str, E>, prefix: &str) -> String {
    name.map(|n| text::shorthand(n, prefix)).unwrap_or_default()
}

/// `operator search-attribute list`: the response as JSON, or a Name/Type table of the system
/// attributes then the custom ones, each sorted by name.
async fn search_attribute_list(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let req = ListSearchAttributesRequest {
        namespace: ctx.namespace.clone(),
    };
    let resp = call!(ctx, req, "unable to list search attributes");
    if ctx.format != Format::Text {
        return ctx.print_message(
            "temporal.api.operatorservice.v1.ListSearchAttributesResponse",
            &resp,
            true,
        );
    }
    let sorted = |m: &std::collections::HashMap<String, i32>| {
        let mut v: Vec<(String, i32)> = m.iter().map(|(k, t)| (k.clone(), *t)).collect();
        v.sort();
        v
    };
    let rows: Vec<Vec<Cell>> = sorted(&resp.system_attributes)
        .into_iter()
        .chain(sorted(&resp.custom_attributes))
        .map(|(name, ty)| {
            let ty = enum_text(
                IndexedValueType::try_from(ty).map(|t| t.as_str_name()),
                "INDEXED_VALUE_TYPE_",
            );
            vec![Cell::left(name), Cell::left(ty)]
        })
        .collect();
    let table = table(&["Name", "Type"], true, &rows)?;
    ctx.out.write(&table)
}

/// `schedule list -o json|jsonl`: `ScheduleListEntry` items, never in shorthand.
async fn schedule_list(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    if ctx.format == Format::Text {
        return schedule_list_text(ctx).await;
    }
    JsonList::around(ctx, schedule_list_pages).await
}

async fn schedule_list_pages(ctx: &mut Ctx<'_, '_>, list: &mut JsonList) -> Result<(), Stop> {
    let opts = ctx.json_options(false);
    let mut token = Vec::new();
    loop {
        let req = ListSchedulesRequest {
            namespace: ctx.namespace.clone(),
            maximum_page_size: 0,
            next_page_token: token,
            query: ctx.cmd.flag_str("query").unwrap_or_default().to_owned(),
        };
        let resp = call!(ctx, req, "");
        for item in render_all(
            "temporal.api.schedule.v1.ScheduleListEntry",
            &resp.schedules,
            opts,
        )? {
            list.item(ctx, &item)?;
        }
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    Ok(())
}

/// `schedule list` text (times in the command's `--time-format`): a table per 100 schedules,
/// header on the first (even when empty), columns ScheduleId, Action (the Go struct
/// `{"Workflow": type}` as JSON), Paused, NextRunTime (the first future action) and LastRunTime
/// (the last recent action's schedule time), more with `-l` or `--really-long`
/// ([`super::schedule::list_headers`]).
async fn schedule_list_text(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let detail = if ctx.cmd.flag_set("really-long") {
        super::schedule::Detail::ReallyLong
    } else if ctx.cmd.flag_set("long") {
        super::schedule::Detail::Long
    } else {
        super::schedule::Detail::Short
    };
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut token = Vec::new();
    loop {
        let req = ListSchedulesRequest {
            namespace: ctx.namespace.clone(),
            maximum_page_size: 0,
            next_page_token: token,
            query: ctx.cmd.flag_str("query").unwrap_or_default().to_owned(),
        };
        let resp = call!(ctx, req, "");
        let times = ctx.times();
        for entry in &resp.schedules {
            let row = super::schedule::list_row(entry, detail, &times)?;
            rows.push(row.into_iter().map(Cell::left).collect());
        }
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    // The CLI prints a table per 100 schedules, each with its own column widths, the header on
    // the first only (printed even when there are none).
    let headers = super::schedule::list_headers(detail);
    let mut out = String::new();
    if rows.is_empty() {
        out = table(&headers, true, &[])?;
    } else {
        for (i, page) in rows.chunks(100).enumerate() {
            out.push_str(&table(&headers, i == 0, page)?);
        }
    }
    ctx.out.write(&out)
}

/// `schedule describe`: with `-o json|jsonl` the response, never in shorthand; in text the card
/// of [`super::schedule::describe_card`].
async fn schedule_describe(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let id = ctx
        .cmd
        .flag_str("schedule-id")
        .unwrap_or_default()
        .to_owned();
    let req = DescribeScheduleRequest {
        namespace: ctx.namespace.clone(),
        schedule_id: id.clone(),
    };
    let resp = call!(ctx, req, "");
    if ctx.format == Format::Text {
        let card = super::schedule::describe_card(&id, &resp, &ctx.times())?;
        return ctx.out.write(&card);
    }
    ctx.print_message(
        "temporal.api.workflowservice.v1.DescribeScheduleResponse",
        &resp,
        false,
    )
}

/// A stats row of `task-queue describe` (the CLI's `statsRowType`).
struct StatsRow {
    build_id: String,
    task_queue_type: &'static str,
    backlog_count: i64,
    backlog_age: String,
    increase_rate: f32,
    add_rate: f32,
    dispatch_rate: f32,
}

/// A poller row of `task-queue describe` (the CLI's `pollerRowType`).
struct PollerRow {
    build_id: String,
    task_queue_type: &'static str,
    identity: String,
    /// `None`: the zero `time.Time` (the server sent no access time).
    last_access: Option<(i64, i32)>,
    rate: f64,
}

/// `task-queue describe` in its default (enhanced) mode: one `DescribeTaskQueue` call
/// (FACTS §5), rows per version and task queue type, as the CLI lays them out (§4.1, §4.2).
///
/// The CLI walks the response's maps in Go's random order: the unversioned queue first, then the
/// other versions, and the types of each in any order, so its own output varies from run to run
/// whenever more than one type or version is reported. This translation prints one of those
/// orders, fixed: versions by build id, types by their number (workflow, activity, nexus).
async fn task_queue_describe(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    // The CLI's request for an empty name draws another message from the server than tgate's.
    if ctx.cmd.flag_str("task-queue").is_none_or(str::is_empty) {
        return Err(Stop::fallback(
            "an empty task queue name is left to the CLI",
        ));
    }
    let types: Vec<i32> = match ctx.cmd.flag("task-queue-type") {
        Some(Value::EnumArray(items)) => items
            .iter()
            .map(|t| match *t {
                "workflow" => Ok(1),
                "activity" => Ok(2),
                "nexus" => Ok(3),
                other => Err(Stop::fallback(format!("task queue type `{other}`"))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(Stop::fallback("`--task-queue-type` of an unexpected kind")),
        None => Vec::new(),
    };
    let stats = !ctx.cmd.flag_set("disable-stats");
    let reachability = ctx.cmd.flag_set("report-reachability");
    // The versions to report: the SDK sends a selection only when one is asked for.
    let build_ids: Vec<String> = match ctx.cmd.flag("select-build-id") {
        Some(Value::StrArray(ids)) => ids.clone(),
        Some(_) => return Err(Stop::fallback("`--select-build-id` of an unexpected kind")),
        None => Vec::new(),
    };
    let (unversioned, all_active) = (
        ctx.cmd.flag_set("select-unversioned"),
        ctx.cmd.flag_set("select-all-active"),
    );
    let selected = !build_ids.is_empty() || unversioned || all_active;
    let selection = selected.then_some(TaskQueueVersionSelection {
        build_ids,
        unversioned,
        all_active,
    });
    #[expect(
        deprecated,
        reason = "the CLI 1.9.1 sends the enhanced-mode fields (FACTS §5)"
    )]
    let req = DescribeTaskQueueRequest {
        namespace: ctx.namespace.clone(),
        task_queue: Some(TaskQueue {
            name: ctx
                .cmd
                .flag_str("task-queue")
                .unwrap_or_default()
                .to_owned(),
            ..Default::default()
        }),
        api_mode: 1,
        versions: selection,
        task_queue_types: types,
        report_pollers: true,
        report_stats: stats,
        report_task_reachability: reachability,
        ..Default::default()
    };
    let resp = call!(ctx, req, "unable to describe task queue");
    let mut versions: Vec<(&String, &TaskQueueVersionInfo)> = resp.versions_info.iter().collect();
    // Unversioned (`""`) first, as the CLI puts it; the rest in one of the CLI's orders.
    versions.sort_by(|a, b| (!a.0.is_empty(), a.0).cmp(&(!b.0.is_empty(), b.0)));
    let mut stats_rows = Vec::new();
    let mut poller_rows = Vec::new();
    let mut reach_rows = Vec::new();
    for (build_id, version) in versions {
        let build_id = if build_id.is_empty() {
            "UNVERSIONED".to_owned()
        } else {
            build_id.clone()
        };
        if reachability {
            // The SDK's names, as the CLI's `reachabilityToStr` prints them.
            let reach = match BuildIdTaskReachability::try_from(version.task_reachability) {
                Ok(BuildIdTaskReachability::Unspecified) => "unspecified",
                Ok(BuildIdTaskReachability::Reachable) => "reachable",
                Ok(BuildIdTaskReachability::ClosedWorkflowsOnly) => "closedWorkflowsOnly",
                Ok(BuildIdTaskReachability::Unreachable) => "unreachable",
                // The SDK panics on a value it does not know; let the CLI do what it does.
                Err(_) => {
                    return Err(Stop::fallback(format!(
                        "task reachability {}",
                        version.task_reachability
                    )));
                }
            };
            reach_rows.push((build_id.clone(), reach));
        }
        let mut types: Vec<(&i32, &TaskQueueTypeInfo)> = version.types_info.iter().collect();
        types.sort_by_key(|(t, _)| **t);
        for (ty, info) in types {
            let ty_name = match ty {
                0 => "unspecified",
                1 => "workflow",
                2 => "activity",
                3 => "nexus",
                // The CLI fails on a type it does not know; let it say so.
                _ => return Err(Stop::fallback(format!("task queue type {ty}"))),
            };
            if stats {
                // The CLI reads the stats without checking they are there.
                let s = info
                    .stats
                    .as_ref()
                    .ok_or_else(|| Stop::fallback("a task queue type without stats"))?;
                let age = s
                    .approximate_backlog_age
                    .as_ref()
                    .map_or((0, 0), |d| (d.seconds, d.nanos));
                stats_rows.push(StatsRow {
                    build_id: build_id.clone(),
                    task_queue_type: ty_name,
                    backlog_count: s.approximate_backlog_count,
                    backlog_age: text::format_duration(age.0, age.1),
                    increase_rate: s.tasks_add_rate - s.tasks_dispatch_rate,
                    add_rate: s.tasks_add_rate,
                    dispatch_rate: s.tasks_dispatch_rate,
                });
            }
            for p in &info.pollers {
                poller_rows.push(PollerRow {
                    build_id: build_id.clone(),
                    task_queue_type: ty_name,
                    identity: p.identity.clone(),
                    last_access: p.last_access_time.as_ref().map(|t| (t.seconds, t.nanos)),
                    rate: p.rate_per_second,
                });
            }
        }
    }
    let out = match ctx.format {
        Format::Json | Format::Jsonl => task_queue_json(
            &reach_rows,
            &stats_rows,
            &poller_rows,
            ctx.format == Format::Json,
        ),
        Format::Text => task_queue_text(
            reachability.then_some(&reach_rows[..]),
            stats.then_some(&stats_rows[..]),
            &poller_rows,
            ctx.times(),
        )?,
    };
    ctx.out.write(&out)
}

/// The CLI's `taskQueueDescriptionType` through `encoding/json` (struct field order; a list with
/// no rows is `null`, as a nil Go slice is).
fn task_queue_json(
    reachability: &[(String, &str)],
    stats: &[StatsRow],
    pollers: &[PollerRow],
    indent: bool,
) -> String {
    let mut c = String::from("{\"reachability\":");
    match reachability {
        [] => c.push_str("null"),
        rows => {
            c.push('[');
            for (i, (build_id, reach)) in rows.iter().enumerate() {
                if i > 0 {
                    c.push(',');
                }
                c.push_str("{\"buildId\":");
                gojson::write_go_string(build_id, &mut c);
                c.push_str(",\"reachability\":");
                gojson::write_go_string(reach, &mut c);
                c.push('}');
            }
            c.push(']');
        }
    }
    c.push_str(",\"pollers\":");
    if pollers.is_empty() {
        c.push_str("null");
    } else {
        c.push('[');
        for (i, p) in pollers.iter().enumerate() {
            if i > 0 {
                c.push(',');
            }
            c.push_str("{\"buildId\":");
            gojson::write_go_string(&p.build_id, &mut c);
            c.push_str(",\"taskQueueType\":");
            gojson::write_go_string(p.task_queue_type, &mut c);
            c.push_str(",\"identity\":");
            gojson::write_go_string(&p.identity, &mut c);
            c.push_str(",\"lastAccessTime\":");
            gojson::write_go_time(p.last_access, &mut c);
            c.push_str(",\"ratePerSecond\":");
            crate::exec::protojson::go_float(&mut c, p.rate);
            c.push('}');
        }
        c.push(']');
    }
    c.push_str(",\"stats\":");
    if stats.is_empty() {
        c.push_str("null");
    } else {
        c.push('[');
        for (i, s) in stats.iter().enumerate() {
            if i > 0 {
                c.push(',');
            }
            c.push_str("{\"buildId\":");
            gojson::write_go_string(&s.build_id, &mut c);
            c.push_str(",\"taskQueueType\":");
            gojson::write_go_string(s.task_queue_type, &mut c);
            let _ = write!(c, ",\"approximateBacklogCount\":{}", s.backlog_count);
            c.push_str(",\"approximateBacklogAge\":");
            gojson::write_go_string(&s.backlog_age, &mut c);
            for (key, v) in [
                ("backlogIncreaseRate", s.increase_rate),
                ("tasksAddRate", s.add_rate),
                ("tasksDispatchRate", s.dispatch_rate),
            ] {
                let _ = write!(c, ",\"{key}\":");
                crate::exec::protojson::go_float32(&mut c, v);
            }
            c.push('}');
        }
        c.push(']');
    }
    c.push('}');
    let mut out = String::with_capacity(c.len() * 2);
    gojson::reindent(&c, indent, 0, &mut out);
    out.push('\n');
    out
}

/// The text form: "Task Reachability:" (when asked for), "Task Queue Statistics:" (unless
/// disabled) and "Pollers:", each a table printed with its header even when empty; numbers
/// right-aligned, `%v` floats, times in the command's format.
fn task_queue_text(
    reachability: Option<&[(String, &str)]>,
    stats: Option<&[StatsRow]>,
    pollers: &[PollerRow],
    times: text::Times,
) -> Result<String, Stop> {
    let mut out = String::new();
    if let Some(rows) = reachability {
        let rows: Vec<Vec<Cell>> = rows
            .iter()
            .map(|(build_id, reach)| vec![Cell::left(build_id.clone()), Cell::left(*reach)])
            .collect();
        out.push_str("Task Reachability:\n");
        out.push_str(&table(&["BuildID", "Reachability"], true, &rows)?);
    }
    if let Some(stats) = stats {
        let rows: Vec<Vec<Cell>> = stats
            .iter()
            .map(|s| {
                vec![
                    Cell::left(s.build_id.clone()),
                    Cell::left(s.task_queue_type),
                    Cell::right(s.backlog_count.to_string()),
                    Cell::left(s.backlog_age.clone()),
                    Cell::right(text::go_v_float(f64::from(s.increase_rate), true)),
                    Cell::right(text::go_v_float(f64::from(s.add_rate), true)),
                    Cell::right(text::go_v_float(f64::from(s.dispatch_rate), true)),
                ]
            })
            .collect();
        out.push_str("Task Queue Statistics:\n");
        out.push_str(&table(
            &[
                "BuildID",
                "TaskQueueType",
                "ApproximateBacklogCount",
                "ApproximateBacklogAge",
                "BacklogIncreaseRate",
                "TasksAddRate",
                "TasksDispatchRate",
            ],
            true,
            &rows,
        )?);
    }
    let rows: Vec<Vec<Cell>> = pollers
        .iter()
        .map(|p| {
            vec![
                Cell::left(p.build_id.clone()),
                Cell::left(p.task_queue_type),
                Cell::left(p.identity.clone()),
                Cell::left(
                    p.last_access
                        .map(|(s, n)| times.format(s, n))
                        .unwrap_or_default(),
                ),
                Cell::right(text::go_v_float(p.rate, false)),
            ]
        })
        .collect();
    out.push_str("Pollers:\n");
    out.push_str(&table(
        &[
            "BuildID",
            "TaskQueueType",
            "Identity",
            "LastAccessTime",
            "RatePerSecond",
        ],
        true,
        &rows,
    )?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(json: &str) -> Result<String, Stop> {
        let payloads = Payloads {
            payloads: vec![Payload {
                metadata: [("encoding".to_owned(), b"json/plain".to_vec())].into(),
                data: json.as_bytes().to_vec(),
                ..Default::default()
            }],
        };
        metadata_text(Some(&payloads))
    }

    /// Arrays where protojson wants messages make the CLI fail; serde alone would read them by
    /// position (second review), so they fall back.
    #[test]
    fn metadata_answers_shaped_otherwise_fall_back() {
        assert_eq!(
            metadata(r#"{"definition":{"queryDefinitions":[{"name":"q","description":"d"}]}}"#)
                .ok()
                .as_deref(),
            Some("Metadata:\n  Query Definitions:\n    q       d          \n")
        );
        for answer in [
            r#"{"definition":[]}"#,
            "[]",
            r#"[null,"details"]"#,
            r#"[{"queryDefinitions":[{"name":"q"}]},"d"]"#,
            r#"{"definition":["wf",[{"name":"q","description":"d"}]]}"#,
            r#"{"definition":{"queryDefinitions":[["q","d"]]}}"#,
            r#"{"definition":{"queryDefinitions":[[]]}}"#,
            r#"{"definition":{"queryDefinitions":[null]}}"#,
            r#"{"definition":{"query_definitions":{"name":"q"}}}"#,
        ] {
            assert!(
                matches!(metadata(answer), Err(Stop::Fallback(_))),
                "{answer}"
            );
        }
    }

    /// Reset points with a checksum JSON escapes, a missing creation time and two cards: as the
    /// CLI's struct slice through `encoding/json`, and as cards (the dev server's points have no
    /// checksum and always a time, so `tests/grpc.rs` cannot show these).
    #[test]
    fn reset_points_print_as_the_cli_prints_them() {
        use temporalio_protos::protos::temporal::api::workflow::v1::ResetPointInfo;
        #[expect(
            deprecated,
            reason = "the checksum the CLI prints is deprecated in the API"
        )]
        let points = [
            ResetPointInfo {
                binary_checksum: "a<b>&c".to_owned(),
                create_time: Some(prost_wkt_types::Timestamp {
                    seconds: 1_764_000_000,
                    nanos: 120_000_000,
                }),
                run_id: "r1".to_owned(),
                first_workflow_task_completed_id: 4,
                ..Default::default()
            },
            ResetPointInfo {
                run_id: "r2".to_owned(),
                first_workflow_task_completed_id: 9,
                ..Default::default()
            },
        ];
        let times = text::Times::at(text::TimeFormat::Iso, 1_764_000_100, 0);
        assert_eq!(
            reset_points_text(&points, Format::Jsonl, &times).unwrap(),
            "[{\"BinaryChecksum\":\"a\\u003cb\\u003e\\u0026c\",\"CreateTime\":\"2025-11-24T16:00:00.12Z\",\
             \"RunId\":\"r1\",\"EventId\":4},{\"BinaryChecksum\":\"\",\
             \"CreateTime\":\"0001-01-01T00:00:00Z\",\"RunId\":\"r2\",\"EventId\":9}]\n"
        );
        assert_eq!(
            reset_points_text(&points[..0], Format::Json, &times).unwrap(),
            "[]\n"
        );
        assert_eq!(
            reset_points_text(&points, Format::Text, &times).unwrap(),
            "Auto Reset Points: 2\n  BinaryChecksum  a<b>&c\n  CreateTime      2025-11-24T16:00:00Z\n  \
             RunId           r1\n  EventId         4\n\n  BinaryChecksum   \n  CreateTime       \n  \
             RunId           r2\n  EventId         9\n"
        );
    }

    fn falls_back(code: Code, message: &str, write: bool) -> bool {
        matches!(
            rpc_error(&tonic::Status::new(code, message), "ctx", write),
            Stop::Fallback(_) | Stop::Unanswered(_)
        )
    }

    /// Which way a read that is not the server's answer goes: refused credentials and a failed
    /// connection (a status with tonic's cause) are `Unanswered` (`--backend grpc` points at
    /// doctor); tonic's own refusals and the errors the CLI's SDK asks again after are
    /// `Fallback` (the CLI may get an answer).
    #[test]
    fn a_read_left_to_the_cli_says_whether_the_cli_would_fail_too() {
        let unanswered =
            |status: &tonic::Status| matches!(rpc_error(status, "ctx", false), Stop::Unanswered(_));
        let fallback =
            |status: &tonic::Status| matches!(rpc_error(status, "ctx", false), Stop::Fallback(_));
        for code in [Code::Unauthenticated, Code::PermissionDenied] {
            assert!(unanswered(&tonic::Status::new(
                code,
                "Request unauthorized"
            )));
        }
        let transport = tonic::Status::from_error(Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        )));
        assert!(std::error::Error::source(&transport).is_some());
        let Stop::Unanswered(why) = rpc_error(&transport, "ctx", false) else {
            panic!("a failed connection is not Unanswered");
        };
        assert!(why.contains("connection reset by peer"), "{why}");
        for status in [
            tonic::Status::new(Code::Unavailable, "server busy"),
            tonic::Status::new(Code::Internal, "oops"),
            tonic::Status::new(Code::Aborted, "again"),
            tonic::Status::new(Code::ResourceExhausted, "rate limit"),
            tonic::Status::new(
                Code::OutOfRange,
                "Error, decoded message length too large: found 5 bytes, the limit is: 4 bytes",
            ),
        ] {
            assert!(fallback(&status), "{status:?}");
        }
    }

    #[test]
    fn tonics_own_refusals_and_rate_limited_reads_go_to_the_cli() {
        // The server's answers: the CLI's error.
        assert!(!falls_back(Code::NotFound, "workflow not found", false));
        assert!(!falls_back(
            Code::OutOfRange,
            "page token out of range",
            false
        ));
        assert!(!falls_back(
            Code::Unimplemented,
            "method not implemented",
            false
        ));
        // tonic refusing a response: not the server's answer.
        let large =
            "Error, decoded message length too large: found 200 bytes, the limit is: 100 bytes";
        assert!(falls_back(Code::OutOfRange, large, false));
        let gzip = "Content is compressed with `gzip` which isn't supported";
        assert!(falls_back(Code::Unimplemented, gzip, false));
        // A rate limit: the CLI's SDK retries a read; a write the server refused with its
        // `ResourceExhaustedFailure` was refused before it ran and says so; the same code
        // without it (a proxy's, an HTTP/2 reset) leaves the write uncertain.
        assert!(falls_back(Code::ResourceExhausted, "rate limit", false));
        let mut status = temporalio_protos::protos::google::rpc::Status {
            code: 8,
            message: "rate limit".to_owned(),
            details: vec![Default::default()],
        };
        status.details[0].type_url = format!("type.googleapis.com/{RATE_LIMITED}");
        let from_server = tonic::Status::with_details(
            Code::ResourceExhausted,
            "rate limit",
            prost::Message::encode_to_vec(&status).into(),
        );
        assert_eq!(detail_types(&from_server), [RATE_LIMITED]);
        match rpc_error(&from_server, "ctx", true) {
            Stop::Failed(m) => assert_eq!(m, "ctx: rate limit"),
            other => panic!("{other:?}"),
        }
        match rpc_error(
            &tonic::Status::new(Code::ResourceExhausted, "rate limit"),
            "ctx",
            true,
        ) {
            Stop::Failed(m) => assert_eq!(
                m,
                "tgate: the request may or may not have taken effect: ResourceExhausted: rate limit"
            ),
            other => panic!("{other:?}"),
        }
        // A write never falls back once its request went out.
        assert!(!falls_back(Code::OutOfRange, large, true));
        assert!(!falls_back(Code::Unavailable, "gone", true));
    }
}
