//! `worker deployment list`, `describe` and `describe-version`: what Worker Versioning routes where,
//! the first thing to read when runs are stuck on an old build. The CLI prints both through the
//! Go SDK's deployment client: JSON is the CLI's own structs through `encoding/json` (times as
//! `time.Time` marshals them, Go's zero time for a change that never happened, the ramp as a
//! float32), text a table or a card with the version summaries' table. Checked against the CLI
//! in `tests/grpc.rs`; a deprecated string-only version, a missing creation time or a drainage
//! status the two fields disagree on is left to the CLI.

use std::fmt::Write as _;

use temporalio_protos::protos::temporal::api::deployment::v1::{
    RoutingConfig, WorkerDeploymentInfo, WorkerDeploymentVersion,
    worker_deployment_info::WorkerDeploymentVersionSummary,
};
use temporalio_protos::protos::temporal::api::taskqueue::v1::TaskQueueStats;
use temporalio_protos::protos::temporal::api::workflowservice::v1::{
    DescribeWorkerDeploymentRequest, DescribeWorkerDeploymentVersionRequest,
    ListWorkerDeploymentsRequest,
};

use super::{Chunked, Ctx, Format, JsonList, Listed, Stop, card, optional, table};
use crate::exec::gojson;
use crate::exec::protojson::go_float32;
use crate::exec::text::{self, Cell, Times};

/// A timestamp as the SDK hands it on: `None` for one the server did not send (Go's zero time).
type Time = Option<(i64, i32)>;

fn time(t: Option<&prost_wkt_types::Timestamp>) -> Time {
    t.map(|t| (t.seconds, t.nanos))
}

/// A time in text, in the command's time format (`None`, the zero time, prints as nothing).
fn text_time(times: &Times, t: Time) -> String {
    t.map(|(s, n)| times.format(s, n)).unwrap_or_default()
}

/// A version as the SDK reads it: the structured one; `None` without one (the deprecated string
/// then empty or `__unversioned__`). A server that names a version only by the deprecated
/// `deployment.build` string is left to the CLI.
fn version(
    structured: Option<&WorkerDeploymentVersion>,
    deprecated: &str,
) -> Result<Option<(String, String)>, Stop> {
    match structured {
        Some(v) => Ok(Some((v.deployment_name.clone(), v.build_id.clone()))),
        None if deprecated.is_empty() || deprecated == "__unversioned__" => Ok(None),
        None => Err(Stop::fallback(
            "a version named only by its deprecated string",
        )),
    }
}

/// The SDK's routing configuration, as the CLI's `formattedRoutingConfigType` holds it.
struct Routing {
    current: (String, String),
    ramping: (String, String),
    percentage: f32,
    current_changed: Time,
    ramping_changed: Time,
    percentage_changed: Time,
}

impl Routing {
    fn of(rc: Option<&RoutingConfig>) -> Result<Routing, Stop> {
        #[expect(
            deprecated,
            reason = "the string form a server may still send alone; such a config falls back"
        )]
        fn deprecated(rc: &RoutingConfig) -> (&str, &str) {
            (&rc.current_version, &rc.ramping_version)
        }
        let Some(rc) = rc else {
            return Ok(Routing {
                current: Default::default(),
                ramping: Default::default(),
                percentage: 0.0,
                current_changed: None,
                ramping_changed: None,
                percentage_changed: None,
            });
        };
        let (current, ramping) = deprecated(rc);
        Ok(Routing {
            current: version(rc.current_deployment_version.as_ref(), current)?.unwrap_or_default(),
            ramping: version(rc.ramping_deployment_version.as_ref(), ramping)?.unwrap_or_default(),
            percentage: rc.ramping_version_percentage,
            current_changed: time(rc.current_version_changed_time.as_ref()),
            ramping_changed: time(rc.ramping_version_changed_time.as_ref()),
            percentage_changed: time(rc.ramping_version_percentage_changed_time.as_ref()),
        })
    }

    /// `"routingConfig":{…}` as `encoding/json` writes the CLI's struct.
    fn json(&self, out: &mut String) -> Result<(), Stop> {
        out.push_str("\"routingConfig\":{\"currentVersionDeploymentName\":");
        gojson::write_go_string(&self.current.0, out);
        out.push_str(",\"currentVersionBuildID\":");
        gojson::write_go_string(&self.current.1, out);
        out.push_str(",\"rampingVersionDeploymentName\":");
        gojson::write_go_string(&self.ramping.0, out);
        out.push_str(",\"rampingVersionBuildID\":");
        gojson::write_go_string(&self.ramping.1, out);
        out.push_str(",\"rampingVersionPercentage\":");
        json_float32(self.percentage, out)?;
        out.push_str(",\"currentVersionChangedTime\":");
        gojson::write_go_time(self.current_changed, out);
        out.push_str(",\"rampingVersionChangedTime\":");
        gojson::write_go_time(self.ramping_changed, out);
        out.push_str(",\"rampingVersionPercentageChangedTime\":");
        gojson::write_go_time(self.percentage_changed, out);
        out.push('}');
        Ok(())
    }
}

/// A deployment's creation time, which the SDK reads as it is: one the server did not send is
/// left to the CLI.
fn created(t: Option<&prost_wkt_types::Timestamp>) -> Result<(i64, i32), Stop> {
    time(t).ok_or_else(|| Stop::fallback("a deployment without its creation time"))
}

/// The CLI's `formattedWorkerDeploymentInfoType` through `encoding/json`, compact.
fn deployment_json(
    name: &str,
    create: (i64, i32),
    last_modifier: &str,
    routing: &Routing,
    summaries: Option<&[Summary]>,
    manager: &str,
) -> Result<String, Stop> {
    let mut c = String::from("{\"name\":");
    gojson::write_go_string(name, &mut c);
    c.push_str(",\"createTime\":");
    gojson::write_go_time(Some(create), &mut c);
    c.push_str(",\"lastModifierIdentity\":");
    gojson::write_go_string(last_modifier, &mut c);
    c.push(',');
    routing.json(&mut c)?;
    c.push_str(",\"versionSummaries\":");
    match summaries {
        // (A nil slice: the list has none, nor a deployment without versions.)
        None | Some([]) => c.push_str("null"),
        Some(summaries) => {
            c.push('[');
            for (i, s) in summaries.iter().enumerate() {
                if i > 0 {
                    c.push(',');
                }
                c.push_str("{\"deploymentName\":");
                gojson::write_go_string(&s.version.0, &mut c);
                c.push_str(",\"BuildID\":");
                gojson::write_go_string(&s.version.1, &mut c);
                c.push_str(",\"drainageStatus\":");
                gojson::write_go_string(s.drainage, &mut c);
                c.push_str(",\"createTime\":");
                gojson::write_go_time(Some(s.created), &mut c);
                c.push('}');
            }
            c.push(']');
        }
    }
    c.push_str(",\"managerIdentity\":");
    gojson::write_go_string(manager, &mut c);
    c.push('}');
    Ok(c)
}

/// `worker deployment list`: the namespace's Worker Deployments. JSON: one CLI struct per
/// deployment (no version summaries, no identities: the list has none). Text: tables of 100
/// rows (the CLI cuts its own pages), the header on the first only; an empty list prints the
/// header alone.
pub(super) async fn list_pages(ctx: &mut Ctx<'_, '_>, list: &mut JsonList) -> Result<(), Stop> {
    const HEADERS: [&str; 7] = [
        "Name",
        "CreateTime",
        "CurrentVersionDeploymentName",
        "CurrentVersionBuildID",
        "RampingVersionDeploymentName",
        "RampingVersionBuildID",
        "RampingVersionPercentage",
    ];
    let times = ctx.times();
    let mut chunked = Chunked::new(&HEADERS);
    let mut token = Vec::new();
    loop {
        let resp = call!(
            ctx,
            ListWorkerDeploymentsRequest {
                namespace: ctx.namespace.clone(),
                page_size: 0,
                next_page_token: token,
            },
            ""
        );
        let json = ctx.format != Format::Text;
        let indent = ctx.format == Format::Json;
        let page = resp
            .worker_deployments
            .iter()
            .map(|d| {
                let routing = Routing::of(d.routing_config.as_ref())?;
                let create = created(d.create_time.as_ref())?;
                if json {
                    let item = deployment_json(&d.name, create, "", &routing, None, "")?;
                    let mut shown = String::with_capacity(item.len() * 2);
                    gojson::reindent(&item, indent, 0, &mut shown);
                    return Ok(Listed::Json(shown));
                }
                let row = vec![
                    Cell::left(d.name.clone()),
                    Cell::left(times.format(create.0, create.1)),
                    Cell::left(routing.current.0),
                    Cell::left(routing.current.1),
                    Cell::left(routing.ramping.0),
                    Cell::left(routing.ramping.1),
                    Cell::right(text::go_v_float(f64::from(routing.percentage), true)),
                ];
                table(&HEADERS, false, std::slice::from_ref(&row))?;
                Ok(Listed::Row(row))
            })
            .collect::<Result<Vec<_>, Stop>>()?;
        chunked.page(ctx, list, page)?;
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    chunked.finish(ctx)
}

/// A version summary as the SDK hands it to the CLI.
struct Summary {
    version: (String, String),
    drainage: &'static str,
    created: (i64, i32),
}

impl Summary {
    fn of(s: &WorkerDeploymentVersionSummary) -> Result<Summary, Stop> {
        #[expect(
            deprecated,
            reason = "the SDK may read either field; a summary where they disagree falls back"
        )]
        fn deprecated(s: &WorkerDeploymentVersionSummary) -> (&str, i32) {
            (&s.version, s.drainage_status)
        }
        let (named, drainage) = deprecated(s);
        let version = version(s.deployment_version.as_ref(), named)?
            .ok_or_else(|| Stop::fallback("a version summary without its version"))?;
        // The SDK may read either field: only a status both give is reproduced.
        if s.drainage_info.as_ref().map_or(0, |i| i.status) != drainage {
            return Err(Stop::fallback(
                "a version's drainage status that its two fields disagree on",
            ));
        }
        let drainage = match drainage {
            0 => "unspecified",
            1 => "draining",
            2 => "drained",
            _ => return Err(Stop::fallback("a drainage status the CLI reports")),
        };
        let created = time(s.create_time.as_ref())
            .ok_or_else(|| Stop::fallback("a version summary without its creation time"))?;
        Ok(Summary {
            version,
            drainage,
            created,
        })
    }
}

/// `worker deployment describe --name NAME`: the deployment as the CLI's struct in JSON, or in
/// text `Worker Deployment:` and its card (identities, versions, a ramp and change times only
/// when set), then `Version Summaries:` and their table when it has versions.
pub(super) async fn describe(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let name = ctx.cmd.flag_str("name").unwrap_or_default().to_owned();
    // The SDK refuses these names itself, in its own words.
    if name.is_empty() || name.contains('.') {
        return Err(Stop::fallback(
            "a deployment name the Go SDK refuses before sending it",
        ));
    }
    let resp = call!(
        ctx,
        DescribeWorkerDeploymentRequest {
            namespace: ctx.namespace.clone(),
            deployment_name: name,
        },
        "error describing worker deployment"
    );
    let info = resp
        .worker_deployment_info
        .unwrap_or_else(WorkerDeploymentInfo::default);
    let routing = Routing::of(info.routing_config.as_ref())?;
    let create = created(info.create_time.as_ref())?;
    let summaries = info
        .version_summaries
        .iter()
        .map(Summary::of)
        .collect::<Result<Vec<_>, _>>()?;
    if ctx.format != Format::Text {
        let c = deployment_json(
            &info.name,
            create,
            &info.last_modifier_identity,
            &routing,
            Some(&summaries),
            &info.manager_identity,
        )?;
        let mut out = String::with_capacity(c.len() * 2);
        gojson::reindent(&c, ctx.format == Format::Json, 0, &mut out);
        out.push('\n');
        return ctx.out.write(&out);
    }
    let times = ctx.times();
    let mut rows = vec![
        ("Name", info.name.clone()),
        ("CreateTime", times.format(create.0, create.1)),
    ];
    optional(
        &mut rows,
        "LastModifierIdentity",
        info.last_modifier_identity,
    );
    optional(&mut rows, "ManagerIdentity", info.manager_identity);
    optional(&mut rows, "CurrentVersionDeploymentName", routing.current.0);
    optional(&mut rows, "CurrentVersionBuildID", routing.current.1);
    optional(&mut rows, "RampingVersionDeploymentName", routing.ramping.0);
    optional(&mut rows, "RampingVersionBuildID", routing.ramping.1);
    if routing.percentage != 0.0 {
        rows.push((
            "RampingVersionPercentage",
            text::go_v_float(f64::from(routing.percentage), true),
        ));
    }
    optional(
        &mut rows,
        "CurrentVersionChangedTime",
        text_time(&times, routing.current_changed),
    );
    optional(
        &mut rows,
        "RampingVersionChangedTime",
        text_time(&times, routing.ramping_changed),
    );
    optional(
        &mut rows,
        "RampingVersionPercentageChangedTime",
        text_time(&times, routing.percentage_changed),
    );
    let mut out = String::from("Worker Deployment:\n");
    out.push_str(&card(&rows));
    if !summaries.is_empty() {
        let rows: Vec<Vec<Cell>> = summaries
            .iter()
            .map(|s| {
                vec![
                    Cell::left(s.version.0.clone()),
                    Cell::left(s.version.1.clone()),
                    Cell::left(s.drainage),
                    Cell::left(times.format(s.created.0, s.created.1)),
                ]
            })
            .collect();
        let headers = ["DeploymentName", "BuildID", "DrainageStatus", "CreateTime"];
        let _ = write!(
            out,
            "\nVersion Summaries:\n{}",
            table(&headers, true, &rows)?
        );
    }
    ctx.out.write(&out)
}

/// `worker deployment describe-version --deployment-name D --build-id B
/// [--report-task-queue-stats]`: the version as the CLI reads it from the raw response. JSON: the
/// CLI's struct through `encoding/json` (times the proto's `AsTime`, so one the server did not
/// send is the Unix epoch; drainage as Go's zero values when there is none; each task queue with
/// its stats when asked, the rate of backlog increase being add minus dispatch). Text: `Worker
/// Deployment Version:` and its card, then `Task Queues:` and their table (with the stats when
/// asked). Version metadata is left to the CLI.
pub(super) async fn describe_version(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let stats = ctx.cmd.flag_set("report-task-queue-stats");
    let resp = call!(
        ctx,
        DescribeWorkerDeploymentVersionRequest {
            namespace: ctx.namespace.clone(),
            deployment_version: Some(WorkerDeploymentVersion {
                deployment_name: ctx
                    .cmd
                    .flag_str("deployment-name")
                    .unwrap_or_default()
                    .to_owned(),
                build_id: ctx.cmd.flag_str("build-id").unwrap_or_default().to_owned(),
            }),
            report_task_queue_stats: stats,
            ..Default::default()
        },
        "error describing worker deployment version"
    );
    let info = resp.worker_deployment_version_info.unwrap_or_default();
    if info
        .metadata
        .as_ref()
        .is_some_and(|m| !m.entries.is_empty())
    {
        return Err(Stop::fallback("version metadata is printed by the CLI"));
    }
    // `AsTime` of a timestamp the server did not send: the Unix epoch.
    let at = |t: Option<&prost_wkt_types::Timestamp>| t.map_or((0, 0), |t| (t.seconds, t.nanos));
    let (deployment, build) = info
        .deployment_version
        .as_ref()
        .map(|v| (v.deployment_name.clone(), v.build_id.clone()))
        .unwrap_or_default();
    let drainage = match &info.drainage_info {
        None => None,
        Some(d) => Some((
            match d.status {
                0 => "unspecified",
                1 => "draining",
                2 => "drained",
                _ => return Err(Stop::fallback("a drainage status the CLI reports")),
            },
            at(d.last_changed_time.as_ref()),
            at(d.last_checked_time.as_ref()),
        )),
    };
    let queues = resp
        .version_task_queues
        .iter()
        .map(|q| {
            let kind = match q.r#type {
                0 => "unspecified",
                1 => "workflow",
                2 => "activity",
                3 => "nexus",
                _ => return Err(Stop::fallback("a task queue type the CLI reports")),
            };
            Ok((q, kind))
        })
        .collect::<Result<Vec<_>, Stop>>()?;
    let create = at(info.create_time.as_ref());
    let routing_changed = at(info.routing_changed_time.as_ref());
    let current_since = at(info.current_since_time.as_ref());
    let ramping_since = at(info.ramping_since_time.as_ref());
    if ctx.format != Format::Text {
        let mut c = String::from("{\"deploymentName\":");
        gojson::write_go_string(&deployment, &mut c);
        c.push_str(",\"BuildID\":");
        gojson::write_go_string(&build, &mut c);
        for (key, t) in [
            ("createTime", create),
            ("routingChangedTime", routing_changed),
            ("currentSinceTime", current_since),
            ("rampingSinceTime", ramping_since),
        ] {
            let _ = write!(c, ",\"{key}\":");
            gojson::write_go_time(Some(t), &mut c);
        }
        c.push_str(",\"rampPercentage\":");
        json_float32(info.ramp_percentage, &mut c)?;
        c.push_str(",\"drainageInfo\":{\"drainageStatus\":");
        gojson::write_go_string(drainage.map_or("", |d| d.0), &mut c);
        c.push_str(",\"lastChangedTime\":");
        gojson::write_go_time(drainage.map(|d| d.1), &mut c);
        c.push_str(",\"lastCheckedTime\":");
        gojson::write_go_time(drainage.map(|d| d.2), &mut c);
        c.push_str("},\"taskQueuesInfos\":");
        if queues.is_empty() {
            c.push_str("null");
        } else {
            c.push('[');
            for (i, (q, kind)) in queues.iter().enumerate() {
                if i > 0 {
                    c.push(',');
                }
                c.push_str("{\"name\":");
                gojson::write_go_string(&q.name, &mut c);
                c.push_str(",\"type\":");
                gojson::write_go_string(kind, &mut c);
                if stats {
                    c.push_str(",\"stats\":");
                    stats_json(q.stats.as_ref(), &mut c)?;
                    if !q.stats_by_priority_key.is_empty() {
                        // `encoding/json` sorts a map's keys as text ("10" before "3").
                        let mut keys: Vec<(String, &TaskQueueStats)> = q
                            .stats_by_priority_key
                            .iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect();
                        keys.sort_by(|a, b| a.0.cmp(&b.0));
                        c.push_str(",\"statsByPriorityKey\":{");
                        for (j, (k, v)) in keys.iter().enumerate() {
                            if j > 0 {
                                c.push(',');
                            }
                            let _ = write!(c, "\"{k}\":");
                            stats_json(Some(v), &mut c)?;
                        }
                        c.push('}');
                    }
                }
                c.push('}');
            }
            c.push(']');
        }
        c.push_str(",\"metadata\":null}");
        let mut out = String::with_capacity(c.len() * 2);
        gojson::reindent(&c, ctx.format == Format::Json, 0, &mut out);
        out.push('\n');
        return ctx.out.write(&out);
    }
    let times = ctx.times();
    let shown = |t: (i64, i32)| times.format(t.0, t.1);
    let mut rows = vec![
        ("DeploymentName", deployment),
        ("BuildID", build),
        ("CreateTime", shown(create)),
    ];
    optional(&mut rows, "RoutingChangedTime", shown(routing_changed));
    optional(&mut rows, "CurrentSinceTime", shown(current_since));
    optional(&mut rows, "RampingSinceTime", shown(ramping_since));
    rows.push((
        "RampPercentage",
        text::go_v_float(f64::from(info.ramp_percentage), true),
    ));
    if let Some((status, changed, checked)) = drainage {
        optional(&mut rows, "DrainageStatus", status.to_owned());
        optional(&mut rows, "DrainageLastChangedTime", shown(changed));
        optional(&mut rows, "DrainageLastCheckedTime", shown(checked));
    }
    let mut out = String::from("Worker Deployment Version:\n");
    out.push_str(&card(&rows));
    if !queues.is_empty() {
        out.push_str("\nTask Queues:\n");
        let table = if stats {
            let rows = queues
                .iter()
                .map(|(q, kind)| {
                    let s = Stats::of(q.stats.as_ref())?;
                    Ok(vec![
                        Cell::left(q.name.clone()),
                        Cell::left(*kind),
                        Cell::right(s.backlog_count.to_string()),
                        Cell::right(if s.backlog_age_nanos == 0 {
                            "0s".to_owned()
                        } else {
                            // Go's `Duration.Truncate(time.Millisecond).String()`.
                            let ms = s.backlog_age_nanos - s.backlog_age_nanos % 1_000_000;
                            text::go_duration(ms / 1_000_000_000, (ms % 1_000_000_000) as i32)
                        }),
                        Cell::right(text::go_v_float(f64::from(s.increase_rate), true)),
                        Cell::right(text::go_v_float(f64::from(s.add_rate), true)),
                        Cell::right(text::go_v_float(f64::from(s.dispatch_rate), true)),
                    ])
                })
                .collect::<Result<Vec<_>, Stop>>()?;
            let headers = [
                "Name",
                "Type",
                "ApproximateBacklogCount",
                "ApproximateBacklogAge",
                "BacklogIncreaseRate",
                "TasksAddRate",
                "TasksDispatchRate",
            ];
            table(&headers, true, &rows)?
        } else {
            let rows: Vec<Vec<Cell>> = queues
                .iter()
                .map(|(q, kind)| vec![Cell::left(q.name.clone()), Cell::left(*kind)])
                .collect();
            table(&["Name", "Type"], true, &rows)?
        };
        out.push_str(&table);
    }
    ctx.out.write(&out)
}

/// A float32 as `encoding/json` writes it (which refuses NaN and the infinities: the CLI's
/// error, left to it).
fn json_float32(v: f32, out: &mut String) -> Result<(), Stop> {
    if !v.is_finite() {
        return Err(Stop::fallback("a number encoding/json refuses"));
    }
    go_float32(out, v);
    Ok(())
}

/// A task queue's stats as the CLI's `formattedVersionStatsRowType` holds them (zeros for none).
struct Stats {
    backlog_count: i64,
    backlog_age_nanos: i64,
    increase_rate: f32,
    add_rate: f32,
    dispatch_rate: f32,
}

impl Stats {
    fn of(s: Option<&TaskQueueStats>) -> Result<Stats, Stop> {
        let Some(s) = s else {
            return Ok(Stats {
                backlog_count: 0,
                backlog_age_nanos: 0,
                increase_rate: 0.0,
                add_rate: 0.0,
                dispatch_rate: 0.0,
            });
        };
        // `AsDuration`, which saturates; an age that would need it is left to the CLI.
        let backlog_age_nanos = s
            .approximate_backlog_age
            .as_ref()
            .map_or(Some(0), |d| {
                d.seconds
                    .checked_mul(1_000_000_000)
                    .and_then(|n| n.checked_add(i64::from(d.nanos)))
            })
            .ok_or_else(|| Stop::fallback("a backlog age beyond a Go duration"))?;
        Ok(Stats {
            backlog_count: s.approximate_backlog_count,
            backlog_age_nanos,
            increase_rate: s.tasks_add_rate - s.tasks_dispatch_rate,
            add_rate: s.tasks_add_rate,
            dispatch_rate: s.tasks_dispatch_rate,
        })
    }
}

/// `formattedVersionStatsRowType` through `encoding/json` (the age in nanoseconds).
fn stats_json(s: Option<&TaskQueueStats>, out: &mut String) -> Result<(), Stop> {
    let s = Stats::of(s)?;
    let _ = write!(
        out,
        "{{\"approximateBacklogCount\":{},\"approximateBacklogAge\":{},\"backlogIncreaseRate\":",
        s.backlog_count, s.backlog_age_nanos
    );
    json_float32(s.increase_rate, out)?;
    out.push_str(",\"tasksAddRate\":");
    json_float32(s.add_rate, out)?;
    out.push_str(",\"tasksDispatchRate\":");
    json_float32(s.dispatch_rate, out)?;
    out.push('}');
    Ok(())
}
