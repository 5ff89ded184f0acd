//! The cluster, batch-job, Nexus-endpoint and task-queue-partition reads an investigation starts
//! with: `operator cluster health|system|describe|list`, `batch list|describe`, `operator nexus
//! endpoint list|get`, `task-queue list-partition` and `task-queue config get`. Each prints what the CLI 1.9.1 prints (its structs and tables read from the
//! pinned binary's output, `tests/grpc.rs` compares them byte for byte); whatever they would show
//! that was not checked against the CLI falls back to it.

use temporalio_protos::protos::grpc::health::v1::HealthCheckRequest;
use temporalio_protos::protos::grpc::health::v1::health_check_response::ServingStatus;
use temporalio_protos::protos::temporal::api::enums::v1::{
    BatchOperationState, BatchOperationType, TaskQueueKind, TaskQueueType,
};
use temporalio_protos::protos::temporal::api::nexus::v1::{Endpoint, endpoint_target};
use temporalio_protos::protos::temporal::api::operatorservice::v1::{
    ListClustersRequest, ListNexusEndpointsRequest,
};
use temporalio_protos::protos::temporal::api::taskqueue::v1::{
    RateLimitConfig, TaskQueue, TaskQueuePartitionMetadata,
};
use temporalio_protos::protos::temporal::api::workflowservice::v1::{
    DescribeBatchOperationRequest, DescribeTaskQueueRequest, GetClusterInfoRequest,
    GetSystemInfoRequest, ListBatchOperationsRequest, ListTaskQueuePartitionsRequest,
};
use tonic::Code;

use super::commands::{IN_TEXT, enum_text, int_flag};
use super::{Ctx, Format, JsonList, Stop, card, optional, render, render_all, table};
use crate::exec::gojson;
use crate::exec::text::{self, Cell};

/// `operator cluster health`: the gRPC health check of the workflow service, as the Go SDK's
/// `CheckHealth` asks it. The CLI prints `SERVING` (`{"status": "SERVING"}` in JSON); a service
/// not serving, or a check that fails, is the CLI's to word.
pub(super) async fn cluster_health(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let req = ctx.request(
        HealthCheckRequest {
            service: "temporal.api.workflowservice.v1.WorkflowService".to_owned(),
        },
        None,
    );
    let resp = match ctx.call(req, "").await {
        Err(Stop::Failed(_)) => {
            return Err(Stop::fallback("a failed health check is worded by the CLI"));
        }
        other => other?,
    };
    if resp.status != ServingStatus::Serving as i32 {
        return Err(Stop::fallback(
            "a service that is not serving is reported by the CLI",
        ));
    }
    ctx.out.write(match ctx.format {
        Format::Text => "SERVING\n",
        Format::Json => "{\n  \"status\": \"SERVING\"\n}\n",
        Format::Jsonl => "{\"status\":\"SERVING\"}\n",
    })
}

/// `operator cluster system`: `GetSystemInfo` as JSON, or a one-row table of the server version
/// and three of its capabilities.
pub(super) async fn cluster_system(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let req = ctx.request(GetSystemInfoRequest {}, None);
    let resp = ctx.call(req, "unable to get system information").await?;
    if ctx.format != Format::Text {
        return ctx.print_message(
            "temporal.api.workflowservice.v1.GetSystemInfoResponse",
            &resp,
            true,
        );
    }
    // (The CLI reads the capabilities without checking they are there.)
    let caps = resp
        .capabilities
        .as_ref()
        .ok_or_else(|| Stop::fallback("system information without capabilities"))?;
    let row = vec![
        Cell::left(resp.server_version.clone()),
        Cell::left(caps.supports_schedules.to_string()),
        Cell::left(caps.upsert_memo.to_string()),
        Cell::left(caps.eager_workflow_start.to_string()),
    ];
    let headers = [
        "ServerVersion",
        "SupportsSchedules",
        "UpsertMemo",
        "EagerWorkflowStart",
    ];
    let out = table(&headers, true, &[row])?;
    ctx.out.write(&out)
}

/// `operator cluster describe [--detail]`: `GetClusterInfo` as JSON, or a one-row table of the
/// cluster's name and stores (`--detail`: its shard count and version info, `<nil>` when the
/// server sends none; version info it does send is left to the CLI).
pub(super) async fn cluster_describe(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let req = ctx.request(GetClusterInfoRequest {}, None);
    let resp = ctx.call(req, "unable to get cluster information").await?;
    if ctx.format != Format::Text {
        return ctx.print_message(
            "temporal.api.workflowservice.v1.GetClusterInfoResponse",
            &resp,
            true,
        );
    }
    let mut headers = vec!["ClusterName", "PersistenceStore", "VisibilityStore"];
    let mut row = vec![
        Cell::left(resp.cluster_name.clone()),
        Cell::left(resp.persistence_store.clone()),
        Cell::left(resp.visibility_store.clone()),
    ];
    if ctx.cmd.flag_set("detail") {
        if resp.version_info.is_some() {
            return Err(Stop::fallback("version info is printed by the CLI"));
        }
        headers.extend(["HistoryShardCount", "VersionInfo"]);
        row.extend([
            Cell::left(resp.history_shard_count.to_string()),
            Cell::left("<nil>"),
        ]);
    }
    let out = table(&headers, true, &[row])?;
    ctx.out.write(&out)
}

/// One server page of a listing the CLI cuts at `--limit` (`batch list`, `operator cluster
/// list`): its items up to the limit as JSON (`message`), or as one table whose header only the
/// first page prints.
struct Page<'h> {
    message: &'static str,
    headers: &'h [&'h str],
    first: bool,
    /// `--limit` (0 or less: none).
    limit: i64,
}

impl Page<'_> {
    /// Writes `items` (`listed` counts them across pages; `row` lays one out in text) and says
    /// whether the limit is reached.
    fn write<T: prost::Message>(
        &self,
        ctx: &mut Ctx<'_, '_>,
        list: &mut JsonList,
        items: &[T],
        listed: &mut i64,
        row: impl Fn(&T) -> Vec<Cell>,
    ) -> Result<bool, Stop> {
        let full = |listed: i64| self.limit > 0 && listed >= self.limit;
        let take = if self.limit > 0 {
            usize::try_from(self.limit - *listed)
                .unwrap_or(0)
                .min(items.len())
        } else {
            items.len()
        };
        let items = &items[..take];
        *listed += take as i64;
        // The whole page is laid out before any of it is written: what it cannot reproduce
        // falls back, or stops a later page, with nothing of this page printed.
        if ctx.format == Format::Text {
            let rows: Vec<Vec<Cell>> = items.iter().map(row).collect();
            if !rows.is_empty() {
                let out = table(self.headers, self.first, &rows)?;
                ctx.out.write(&out)?;
            }
        } else {
            let opts = ctx.json_options(true);
            for item in render_all(self.message, items, opts)? {
                list.item(ctx, &item)?;
            }
        }
        Ok(full(*listed))
    }
}

/// `operator cluster list [--limit N]`: the clusters page by page (JSON items, or a table per
/// page, the header on the first page's only).
pub(super) async fn cluster_list_pages(
    ctx: &mut Ctx<'_, '_>,
    list: &mut JsonList,
) -> Result<(), Stop> {
    let limit = int_flag(ctx.cmd, "limit");
    let mut listed = 0i64;
    let mut token = Vec::new();
    for page_index in 0.. {
        let req = ctx.request(
            ListClustersRequest {
                page_size: 0,
                next_page_token: token,
            },
            None,
        );
        let resp = ctx.call(req, "failed listing clusters").await?;
        let headers = [
            "Name",
            "ClusterId",
            "Address",
            "HistoryShardCount",
            "InitialFailoverVersion",
            "IsConnectionEnabled",
            "IsReplicationEnabled",
        ];
        let page = Page {
            message: "temporal.api.operatorservice.v1.ClusterMetadata",
            headers: &headers,
            first: page_index == 0,
            limit,
        };
        let full = page.write(ctx, list, &resp.clusters, &mut listed, |c| {
            vec![
                Cell::left(c.cluster_name.clone()),
                Cell::left(c.cluster_id.clone()),
                Cell::left(c.address.clone()),
                Cell::left(c.history_shard_count.to_string()),
                Cell::left(c.initial_failover_version.to_string()),
                Cell::left(c.is_connection_enabled.to_string()),
                Cell::left(c.is_replication_enabled.to_string()),
            ]
        })?;
        if resp.next_page_token.is_empty() || full {
            break;
        }
        token = resp.next_page_token;
    }
    Ok(())
}

/// `batch list [--limit N]`: the namespace's batch jobs page by page (JSON items, or a table per
/// page of job id, state, start and close time, the header on the first page's only; nothing when
/// there are none).
pub(super) async fn batch_list_pages(
    ctx: &mut Ctx<'_, '_>,
    list: &mut JsonList,
) -> Result<(), Stop> {
    let limit = int_flag(ctx.cmd, "limit");
    let times = ctx.times();
    let mut listed = 0i64;
    let mut token = Vec::new();
    for page_index in 0.. {
        let resp = call!(
            ctx,
            ListBatchOperationsRequest {
                namespace: ctx.namespace.clone(),
                page_size: 0,
                next_page_token: token,
            },
            "failed to list batch jobs"
        );
        if page_index == 0 && resp.operation_info.is_empty() {
            break;
        }
        let page = Page {
            message: "temporal.api.batch.v1.BatchOperationInfo",
            headers: &["JobId", "State", "StartTime", "CloseTime"],
            first: page_index == 0,
            limit,
        };
        let full = page.write(ctx, list, &resp.operation_info, &mut listed, |job| {
            vec![
                Cell::left(job.job_id.clone()),
                Cell::left(enum_text(
                    BatchOperationState::try_from(job.state).map(|s| s.as_str_name()),
                    "BATCH_OPERATION_STATE_",
                )),
                Cell::left(times.timestamp(job.start_time.as_ref())),
                Cell::left(times.timestamp(job.close_time.as_ref())),
            ]
        })?;
        if resp.next_page_token.is_empty() || full {
            break;
        }
        token = resp.next_page_token;
    }
    Ok(())
}

/// `batch describe --job-id ID`: the job as JSON, or a card of its state, type, times (the close
/// time left out while it runs) and counts. An unknown job is the CLI's `could not find Batch
/// Job 'ID'`.
pub(super) async fn batch_describe(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let job_id = ctx.cmd.flag_str("job-id").unwrap_or_default().to_owned();
    let namespace = ctx.namespace.clone();
    let req = ctx.request(
        DescribeBatchOperationRequest {
            namespace: namespace.clone(),
            job_id: job_id.clone(),
        },
        Some(&namespace),
    );
    // The CLI's own words are for the SDK's `NotFound` error, which a status without details or
    // with a `NotFoundFailure` becomes; a namespace that does not exist (`NamespaceNotFound`,
    // the same code) keeps the server's message.
    let resp = match ctx.call(req, "failed to describe batch job").await {
        Err(Stop::Failed(_))
            if ctx.status == Some(Code::NotFound)
                && (ctx.details.is_empty()
                    || ctx
                        .details
                        .iter()
                        .any(|t| t == "temporal.api.errordetails.v1.NotFoundFailure")) =>
        {
            return Err(Stop::Failed(format!("could not find Batch Job '{job_id}'")));
        }
        other => other?,
    };
    if ctx.format != Format::Text {
        return ctx.print_message(
            "temporal.api.workflowservice.v1.DescribeBatchOperationResponse",
            &resp,
            true,
        );
    }
    let times = ctx.times();
    let count = |done: i64| format!("{done}/{}", resp.total_operation_count);
    let mut rows = vec![
        (
            "State",
            enum_text(
                BatchOperationState::try_from(resp.state).map(|s| s.as_str_name()),
                "BATCH_OPERATION_STATE_",
            ),
        ),
        (
            "Type",
            enum_text(
                BatchOperationType::try_from(resp.operation_type).map(|t| t.as_str_name()),
                "BATCH_OPERATION_TYPE_",
            ),
        ),
        ("StartTime", times.timestamp(resp.start_time.as_ref())),
    ];
    optional(
        &mut rows,
        "CloseTime",
        times.timestamp(resp.close_time.as_ref()),
    );
    rows.push(("CompletedCount", count(resp.complete_operation_count)));
    rows.push(("FailureCount", count(resp.failure_operation_count)));
    let out = card(&rows);
    ctx.out.write(&out)
}

/// `task-queue list-partition -t NAME`: the queue's partitions and their owners, as JSON, or a
/// table for the workflow partitions and one for the activity partitions under their headings.
pub(super) async fn task_queue_list_partition(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let resp = call!(
        ctx,
        ListTaskQueuePartitionsRequest {
            namespace: ctx.namespace.clone(),
            task_queue: Some(TaskQueue {
                name: ctx
                    .cmd
                    .flag_str("task-queue")
                    .unwrap_or_default()
                    .to_owned(),
                kind: TaskQueueKind::Normal as i32,
                normal_name: String::new(),
            }),
        },
        "unable to list task queues"
    );
    if ctx.format != Format::Text {
        return ctx.print_message(
            "temporal.api.workflowservice.v1.ListTaskQueuePartitionsResponse",
            &resp,
            true,
        );
    }
    let partitions = |ps: &[TaskQueuePartitionMetadata]| -> Result<String, Stop> {
        // (How the CLI prints a kind with no partitions was not seen: a server lists at least
        // the root partition.)
        if ps.is_empty() {
            return Err(Stop::fallback("a task queue kind without partitions"));
        }
        let rows: Vec<Vec<Cell>> = ps
            .iter()
            .map(|p| {
                vec![
                    Cell::left(p.key.clone()),
                    Cell::left(p.owner_host_name.clone()),
                ]
            })
            .collect();
        table(&["Key", "OwnerHostName"], true, &rows)
    };
    let out = format!(
        "Workflow Task Queue Partitions\n\n{}\nActivity Task Queue Partitions\n\n{}",
        partitions(&resp.workflow_task_queue_partitions)?,
        partitions(&resp.activity_task_queue_partitions)?
    );
    ctx.out.write(&out)
}

/// `operator nexus endpoint list`: the endpoints as JSON items (every page), or as cards
/// ([`endpoint_cards`]) of the first page only, as the CLI prints them.
pub(super) async fn nexus_endpoint_pages(
    ctx: &mut Ctx<'_, '_>,
    list: &mut JsonList,
) -> Result<(), Stop> {
    let opts = ctx.json_options(true);
    let mut token = Vec::new();
    loop {
        let req = ctx.request(
            ListNexusEndpointsRequest {
                page_size: 0,
                next_page_token: token,
                name: String::new(),
            },
            None,
        );
        let resp = ctx.call(req, "unable to list endpoints").await?;
        if ctx.format == Format::Text {
            let out = endpoint_cards(&resp.endpoints)?;
            return ctx.out.write(&out);
        }
        for item in render_all("temporal.api.nexus.v1.Endpoint", &resp.endpoints, opts)? {
            list.item(ctx, &item)?;
        }
        if resp.next_page_token.is_empty() {
            return Ok(());
        }
        token = resp.next_page_token;
    }
}

/// `operator nexus endpoint get --name NAME`: the endpoint of that name (the CLI lists the
/// endpoints filtered by name), as JSON or as its card; none is the CLI's `endpoint not found:
/// "NAME"`.
pub(super) async fn nexus_endpoint_get(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let name = ctx.cmd.flag_str("name").unwrap_or_default().to_owned();
    // The CLI quotes the name Go's way (`%q`); plain ASCII is quoted here the same.
    let quoted =
        go_quote(&name).ok_or_else(|| Stop::fallback("a name Go would quote with escapes"))?;
    let req = ctx.request(
        ListNexusEndpointsRequest {
            page_size: 0,
            next_page_token: Vec::new(),
            name,
        },
        None,
    );
    let resp = ctx
        .call(req, &format!("unable to get endpoint {quoted}"))
        .await?;
    let Some(endpoint) = resp.endpoints.first() else {
        return Err(Stop::Failed(format!("endpoint not found: {quoted}")));
    };
    if ctx.format != Format::Text {
        return ctx.print_message("temporal.api.nexus.v1.Endpoint", endpoint, true);
    }
    let out = endpoint_cards(std::slice::from_ref(endpoint))?;
    ctx.out.write(&out)
}

/// Go's `%q` of a string of printable ASCII (`"` and `\` escaped); `None` for anything else,
/// which Go escapes by rules not reproduced here.
fn go_quote(s: &str) -> Option<String> {
    if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    Some(format!(
        "\"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// The CLI's endpoint cards (`printNexusEndpoints`), a blank line between two: id, name, the
/// creation and modification times as the printer shows a message in text (compact protojson: a
/// quoted RFC 3339 time, `<nil>` when absent), the target's URL or worker namespace and task
/// queue, and a `json/plain` description decoded to its string (line breaks printed as they are).
/// A description that is not a JSON string (the CLI's error), or holds other control characters,
/// is left to the CLI.
fn endpoint_cards(endpoints: &[Endpoint]) -> Result<String, Stop> {
    let time = |t: Option<&prost_wkt_types::Timestamp>| match t {
        Some(t) => render("google.protobuf.Timestamp", t, IN_TEXT),
        None => Ok("<nil>".to_owned()),
    };
    let mut out = String::new();
    for (i, ep) in endpoints.iter().enumerate() {
        let spec = ep.spec.as_ref();
        let target = spec
            .and_then(|s| s.target.as_ref())
            .and_then(|t| t.variant.as_ref());
        let (url, namespace, task_queue) = match target {
            Some(endpoint_target::Variant::External(e)) => (e.url.clone(), "", ""),
            Some(endpoint_target::Variant::Worker(w)) => {
                (String::new(), w.namespace.as_str(), w.task_queue.as_str())
            }
            None => (String::new(), "", ""),
        };
        let description = match spec.and_then(|s| s.description.as_ref()) {
            Some(d) if d.metadata.get("encoding").map(Vec::as_slice) == Some(b"json/plain") => {
                match gojson::parse(&d.data) {
                    Ok(gojson::Json::Str(s)) if !s.chars().any(|c| c.is_control() && c != '\n') => {
                        s
                    }
                    Ok(gojson::Json::Null) => String::new(),
                    _ => return Err(Stop::fallback("a description the CLI reports or escapes")),
                }
            }
            _ => String::new(),
        };
        let rows = [
            ("ID", ep.id.clone()),
            ("Name", spec.map(|s| s.name.clone()).unwrap_or_default()),
            ("CreatedTime", time(ep.created_time.as_ref())?),
            ("LastModifiedTime", time(ep.last_modified_time.as_ref())?),
            ("Target.External.URL", url),
            ("Target.Worker.Namespace", namespace.to_owned()),
            ("Target.Worker.TaskQueue", task_queue.to_owned()),
            ("Description", description),
        ];
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&card(&rows));
    }
    Ok(out)
}

/// `task-queue config get -t NAME --task-queue-type TYPE`: the queue's configuration
/// (`DescribeTaskQueue` with `report_config`) as JSON, or the CLI's table of its rate limits
/// under a note that long content may be cut; `No configuration found for task queue` (in text;
/// nothing in JSON) without one.
pub(super) async fn task_queue_config_get(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let name = ctx
        .cmd
        .flag_str("task-queue")
        .unwrap_or_default()
        .to_owned();
    // (The CLI refuses it itself, before it connects; an empty `--namespace` never gets here.)
    if name.is_empty() {
        return Err(Stop::fallback(
            "an empty task queue name is refused by the CLI",
        ));
    }
    let task_queue_type = match ctx.cmd.flag_str("task-queue-type") {
        Some("workflow") => TaskQueueType::Workflow,
        Some("activity") => TaskQueueType::Activity,
        Some("nexus") => TaskQueueType::Nexus,
        _ => return Err(Stop::fallback("a task queue type the CLI reads")),
    };
    let resp = call!(
        ctx,
        DescribeTaskQueueRequest {
            namespace: ctx.namespace.clone(),
            task_queue: Some(TaskQueue {
                name,
                kind: TaskQueueKind::Normal as i32,
                normal_name: String::new(),
            }),
            task_queue_type: task_queue_type as i32,
            report_config: true,
            ..Default::default()
        },
        "error getting task queue config"
    );
    let Some(config) = resp.config else {
        return match ctx.format {
            Format::Text => ctx.out.write("No configuration found for task queue\n"),
            Format::Json | Format::Jsonl => Ok(()),
        };
    };
    if ctx.format != Format::Text {
        return ctx.print_message("temporal.api.taskqueue.v1.TaskQueueConfig", &config, true);
    }
    let mut rows = Vec::new();
    for (setting, limit) in [
        ("Queue Rate Limit", config.queue_rate_limit.as_ref()),
        (
            "Fairness Key Rate Limit Default",
            config.fairness_keys_rate_limit_default.as_ref(),
        ),
    ] {
        if let Some(limit) = limit {
            rows.push(rate_limit_row(setting, limit)?);
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let headers = ["Setting", "Value", "Reason", "UpdatedBy", "UpdatedTime"];
    let out = format!(
        "Note: Long content may be truncated. Use --output json for full details.\n{}",
        table(&headers, true, &rows)?
    );
    ctx.out.write(&out)
}

/// One row of the CLI's rate limit table (`buildRateLimitConfigRow`): the limit as `%.2f rps`
/// (`Not Set` without a positive one), the reason and who set it cut to 50 bytes (47 and
/// `...`), the time of the change in RFC 3339 (UTC, whole seconds, whatever the time format).
fn rate_limit_row(setting: &str, limit: &RateLimitConfig) -> Result<Vec<Cell>, Stop> {
    // Go cuts bytes; a cut through a character leaves bytes that are not UTF-8, which the CLI
    // prints as they are: the CLI's to print.
    let cut = |s: &str| -> Result<String, Stop> {
        let (kept, tail) = if s.len() > 50 {
            (&s.as_bytes()[..47], "...")
        } else {
            (s.as_bytes(), "")
        };
        let kept = std::str::from_utf8(kept)
            .map_err(|_| Stop::fallback("text cut through a character"))?;
        Ok(kept.to_owned() + tail)
    };
    let value = match &limit.rate_limit {
        Some(r) if r.requests_per_second.is_infinite() => {
            return Err(Stop::fallback(
                "an unbounded rate limit is printed by the CLI",
            ));
        }
        Some(r) if r.requests_per_second > 0.0 => {
            format!("{:.2} rps", f64::from(r.requests_per_second))
        }
        _ => "Not Set".to_owned(),
    };
    let meta = limit.metadata.as_ref();
    let reason = cut(meta.map(|m| m.reason.as_str()).unwrap_or_default())?;
    let updated_by = cut(meta.map(|m| m.update_identity.as_str()).unwrap_or_default())?;
    let updated = meta
        .and_then(|m| m.update_time.as_ref())
        .map(|t| text::rfc3339(t.seconds))
        .unwrap_or_default();
    Ok(vec![
        Cell::left(setting),
        Cell::left(value),
        Cell::left(reason),
        Cell::left(updated_by),
        Cell::left(updated),
    ])
}
