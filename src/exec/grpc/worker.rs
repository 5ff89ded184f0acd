//! `worker list` and `worker describe`: the workers that send heartbeats to the namespace (SDKs
//! with worker heartbeating on). JSON is the server's `WorkerInfo`; text is the CLI's own rows
//! and card (`workerListRow`, `workerDescribeDetail`), read from the pinned binary's output and
//! compared with it byte for byte in `tests/grpc.rs`.

use temporalio_protos::protos::temporal::api::enums::v1::WorkerStatus;
use temporalio_protos::protos::temporal::api::worker::v1::{
    WorkerHeartbeat, WorkerHostInfo, WorkerPollerInfo, WorkerSlotsInfo,
};
use temporalio_protos::protos::temporal::api::workflowservice::v1::{
    DescribeWorkerRequest, ListWorkersRequest,
};

use super::commands::int_flag;
use super::{Chunked, Ctx, Format, JsonList, Listed, Stop, card, render, table};
use crate::exec::gojson;
use crate::exec::protojson::go_float32;
use crate::exec::text::{self, Cell, Times};

/// A time as the CLI's `timestampToTime` gives it: the zero time for none.
type Time = (i64, i32);

fn time(t: Option<&prost_wkt_types::Timestamp>) -> Result<Time, Stop> {
    let t = t.map_or((text::ZERO_TIME, 0), |t| (t.seconds, t.nanos));
    // Go writes a year outside 0001-9999 its own way (and `encoding/json` refuses it).
    if !(text::ZERO_TIME..=text::LAST_TIME).contains(&t.0) || !(0..1_000_000_000).contains(&t.1) {
        return Err(Stop::fallback("a time outside years 1-9999"));
    }
    Ok(t)
}

/// The CLI's `durationToString`: `AsDuration().String()`, nothing for none. A duration beyond
/// what Go's `time.Duration` holds (which `AsDuration` would clamp) falls back.
fn duration(d: Option<&prost_wkt_types::Duration>) -> Result<String, Stop> {
    let Some(d) = d else {
        return Ok(String::new());
    };
    let nanos = i128::from(d.seconds) * 1_000_000_000 + i128::from(d.nanos);
    if i64::try_from(nanos).is_err()
        || (d.seconds != 0 && d.nanos != 0 && (d.seconds < 0) != (d.nanos < 0))
    {
        return Err(Stop::fallback(
            "a duration Go's AsDuration would clamp or refuse",
        ));
    }
    Ok(text::go_duration(d.seconds, d.nanos))
}

/// The worker's status as the Go API's `String()` names it (`Running`, `ShuttingDown`, ...); a
/// value this build does not know falls back.
fn status(hb: &WorkerHeartbeat) -> Result<String, Stop> {
    let known = WorkerStatus::try_from(hb.status)
        .map_err(|_| Stop::fallback("a worker status this build does not know"))?;
    Ok(text::shorthand(known.as_str_name(), "WORKER_STATUS_"))
}

/// The CLI's `formatDeploymentVersion`: `name@build`, or whichever of the two is set.
fn deployment(hb: &WorkerHeartbeat) -> String {
    let Some(v) = &hb.deployment_version else {
        return String::new();
    };
    match (v.deployment_name.as_str(), v.build_id.as_str()) {
        ("", b) => b.to_owned(),
        (d, "") => d.to_owned(),
        (d, b) => format!("{d}@{b}"),
    }
}

/// `worker list`: JSON, each `WorkerInfo` as the server sent it; text, a row per worker with a
/// heartbeat (tables of 100 rows, the header on the first; an empty list prints the header
/// alone). `--limit` counts what is printed; `--include-system-workers` goes to the CLI.
pub(super) async fn list_pages(ctx: &mut Ctx<'_, '_>, list: &mut JsonList) -> Result<(), Stop> {
    const HEADERS: [&str; 8] = [
        "WorkerInstanceKey",
        "Status",
        "TaskQueue",
        "WorkerIdentity",
        "HostName",
        "Deployment",
        "HeartbeatTime",
        "Elapsed",
    ];
    let limit = int_flag(ctx.cmd, "limit");
    let query = ctx.cmd.flag_str("query").unwrap_or_default().to_owned();
    let opts = ctx.json_options(false);
    let times = ctx.times();
    let mut printed = 0i64;
    let mut chunked = Chunked::new(&HEADERS);
    let mut token = Vec::new();
    loop {
        let req = ListWorkersRequest {
            namespace: ctx.namespace.clone(),
            next_page_token: token,
            query: query.clone(),
            ..Default::default()
        };
        let resp = call!(ctx, req, "");
        let mut page: Vec<Listed> = Vec::new();
        #[expect(
            deprecated,
            reason = "the CLI 1.9.1 lists `workers_info`; newer APIs add `workers`, which it ignores"
        )]
        let infos = &resp.workers_info;
        for info in infos {
            if limit > 0 && printed >= limit {
                break;
            }
            if ctx.format != Format::Text {
                page.push(Listed::Json(render(
                    "temporal.api.worker.v1.WorkerInfo",
                    info,
                    opts,
                )?));
                printed += 1;
                continue;
            }
            let Some(hb) = &info.worker_heartbeat else {
                continue;
            };
            let heartbeat = time(hb.heartbeat_time.as_ref())?;
            let row = vec![
                Cell::left(hb.worker_instance_key.clone()),
                Cell::left(status(hb)?),
                Cell::left(hb.task_queue.clone()),
                Cell::left(hb.worker_identity.clone()),
                Cell::left(
                    hb.host_info
                        .as_ref()
                        .map(|h| h.host_name.clone())
                        .unwrap_or_default(),
                ),
                Cell::left(deployment(hb)),
                Cell::left(times.format(heartbeat.0, heartbeat.1)),
                Cell::left(duration(hb.elapsed_since_last_heartbeat.as_ref())?),
            ];
            table(&HEADERS, false, std::slice::from_ref(&row))?;
            page.push(Listed::Row(row));
            printed += 1;
        }
        chunked.page(ctx, list, page)?;
        if (limit > 0 && printed >= limit) || resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    chunked.finish(ctx)
}

/// `worker describe`: JSON, the `WorkerInfo`; text, the CLI's `workerDescribeDetail` card.
pub(super) async fn describe(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let req = DescribeWorkerRequest {
        namespace: ctx.namespace.clone(),
        worker_instance_key: ctx
            .cmd
            .flag_str("worker-instance-key")
            .unwrap_or_default()
            .to_owned(),
    };
    let resp = call!(ctx, req, "");
    let Some(info) = &resp.worker_info else {
        return Err(Stop::fallback("a description without its worker"));
    };
    if ctx.format != Format::Text {
        return ctx.print_message("temporal.api.worker.v1.WorkerInfo", info, false);
    }
    let Some(hb) = &info.worker_heartbeat else {
        return Err(Stop::fallback("a worker without its heartbeat"));
    };
    let out = describe_card(hb, &ctx.times())?;
    ctx.out.write(&out)
}

/// The card of `workerDescribeDetail`: every field in its order, the times in the command's
/// format (the zero time as nothing), the nested structs as `encoding/json` writes them, compact;
/// the deployment version, slots and pollers left out when there are none (`cardOmitEmpty`), the
/// host info `<nil>` when there is none.
fn describe_card(hb: &WorkerHeartbeat, times: &Times) -> Result<String, Stop> {
    if !hb.plugins.is_empty() || !hb.drivers.is_empty() || hb.environment.is_some() {
        // (The CLI 1.9.1 reads none of these; a server that sends them is newer than the pinned
        // CLI's API, whose card may differ.)
        return Err(Stop::fallback("worker plugins, drivers or environment"));
    }
    let start = time(hb.start_time.as_ref())?;
    let heartbeat = time(hb.heartbeat_time.as_ref())?;
    let mut rows: Vec<(&str, String)> = vec![
        ("WorkerInstanceKey", hb.worker_instance_key.clone()),
        ("WorkerIdentity", hb.worker_identity.clone()),
        ("Status", status(hb)?),
        ("TaskQueue", hb.task_queue.clone()),
    ];
    if let Some(v) = hb
        .deployment_version
        .as_ref()
        .filter(|v| !v.deployment_name.is_empty() || !v.build_id.is_empty())
    {
        let mut j = String::from("{\"DeploymentName\":");
        gojson::write_go_string(&v.deployment_name, &mut j);
        j.push_str(",\"BuildId\":");
        gojson::write_go_string(&v.build_id, &mut j);
        j.push('}');
        rows.push(("DeploymentVersion", j));
    }
    rows.extend([
        ("SdkName", hb.sdk_name.clone()),
        ("SdkVersion", hb.sdk_version.clone()),
        ("StartTime", times.format(start.0, start.1)),
        ("HeartbeatTime", times.format(heartbeat.0, heartbeat.1)),
        (
            "ElapsedSinceLastHeartbeat",
            duration(hb.elapsed_since_last_heartbeat.as_ref())?,
        ),
        ("HostInfo", host_json(hb.host_info.as_ref())?),
    ]);
    for (name, slots) in [
        ("WorkflowTaskSlotsInfo", &hb.workflow_task_slots_info),
        ("ActivityTaskSlotsInfo", &hb.activity_task_slots_info),
        ("NexusTaskSlotsInfo", &hb.nexus_task_slots_info),
        ("LocalActivityTaskSlotsInfo", &hb.local_activity_slots_info),
    ] {
        if let Some(j) = slots_json(slots.as_ref()) {
            rows.push((name, j));
        }
    }
    for (name, poller) in [
        ("WorkflowPollerInfo", &hb.workflow_poller_info),
        ("WorkflowStickyPollerInfo", &hb.workflow_sticky_poller_info),
        ("ActivityPollerInfo", &hb.activity_poller_info),
        ("NexusPollerInfo", &hb.nexus_poller_info),
    ] {
        if let Some(j) = poller_json(poller.as_ref())? {
            rows.push((name, j));
        }
    }
    rows.extend([
        ("TotalStickyCacheHit", hb.total_sticky_cache_hit.to_string()),
        (
            "TotalStickyCacheMiss",
            hb.total_sticky_cache_miss.to_string(),
        ),
        (
            "CurrentStickyCacheSize",
            hb.current_sticky_cache_size.to_string(),
        ),
    ]);
    Ok(card(&rows))
}

/// The CLI's `workerHostInfo` in JSON, or `<nil>` for none or one with nothing set.
fn host_json(h: Option<&WorkerHostInfo>) -> Result<String, Stop> {
    let Some(h) = h.filter(|h| {
        !h.host_name.is_empty()
            || !h.process_id.is_empty()
            || !h.worker_grouping_key.is_empty()
            || h.current_host_cpu_usage != 0.0
            || h.current_host_mem_usage != 0.0
    }) else {
        return Ok("<nil>".to_owned());
    };
    if !h.current_host_cpu_usage.is_finite() || !h.current_host_mem_usage.is_finite() {
        return Err(Stop::fallback("a usage encoding/json refuses"));
    }
    let mut j = String::from("{\"HostName\":");
    gojson::write_go_string(&h.host_name, &mut j);
    j.push_str(",\"ProcessId\":");
    gojson::write_go_string(&h.process_id, &mut j);
    j.push_str(",\"WorkerGroupingKey\":");
    gojson::write_go_string(&h.worker_grouping_key, &mut j);
    j.push_str(",\"CurrentHostCPUUsage\":");
    go_float32(&mut j, h.current_host_cpu_usage);
    j.push_str(",\"CurrentHostMemUsage\":");
    go_float32(&mut j, h.current_host_mem_usage);
    j.push('}');
    Ok(j)
}

/// The CLI's `workerSlotsInfo` in JSON; `None` for none, and for one with nothing but the
/// `Fixed` supplier kind (as the CLI drops it).
fn slots_json(s: Option<&WorkerSlotsInfo>) -> Option<String> {
    let s = s?;
    let idle = s.current_available_slots == 0
        && s.current_used_slots == 0
        && s.slot_supplier_kind == "Fixed"
        && s.total_processed_tasks == 0
        && s.total_failed_tasks == 0
        && s.last_interval_processed_tasks == 0
        && s.last_interval_failure_tasks == 0;
    if idle {
        return None;
    }
    let mut j = format!(
        "{{\"CurrentAvailableSlots\":{},\"CurrentUsedSlots\":{},\"SlotSupplierKind\":",
        s.current_available_slots, s.current_used_slots
    );
    gojson::write_go_string(&s.slot_supplier_kind, &mut j);
    j.push_str(&format!(
        ",\"TotalProcessedTasks\":{},\"TotalFailedTasks\":{},\"LastIntervalProcessedTasks\":{},\"LastIntervalFailureTasks\":{}}}",
        s.total_processed_tasks,
        s.total_failed_tasks,
        s.last_interval_processed_tasks,
        s.last_interval_failure_tasks
    ));
    Some(j)
}

/// The CLI's `workerPollerInfo` in JSON; `None` for none and for one with nothing set.
fn poller_json(p: Option<&WorkerPollerInfo>) -> Result<Option<String>, Stop> {
    let Some(p) = p else {
        return Ok(None);
    };
    let last = time(p.last_successful_poll_time.as_ref())?;
    if p.current_pollers == 0 && last == (text::ZERO_TIME, 0) && !p.is_autoscaling {
        return Ok(None);
    }
    let mut j = format!(
        "{{\"CurrentPollers\":{},\"LastSuccessfulPollTime\":",
        p.current_pollers
    );
    gojson::write_go_time(Some(last), &mut j);
    j.push_str(&format!(",\"IsAutoscaling\":{}}}", p.is_autoscaling));
    Ok(Some(j))
}
