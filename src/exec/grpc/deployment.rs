//! `worker deployment list` and `worker deployment describe`: what Worker Versioning routes where,
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
use temporalio_protos::protos::temporal::api::workflowservice::v1::{
    DescribeWorkerDeploymentRequest, ListWorkerDeploymentsRequest,
};

use super::{Ctx, Format, JsonList, Stop, card, optional};
use crate::exec::gojson::{self, Flavour};
use crate::exec::protojson::go_float32;
use crate::exec::text::{self, Cell, Times};

/// A timestamp as the SDK hands it on: `None` for one the server did not send (Go's zero time).
type Time = Option<(i64, i32)>;

fn time(t: Option<&prost_wkt_types::Timestamp>) -> Time {
    t.map(|t| (t.seconds, t.nanos))
}

/// A time as `encoding/json` writes a `time.Time` (the zero time for `None`).
fn json_time(t: Time, out: &mut String) {
    let (s, n) = t.unwrap_or((text::ZERO_TIME, 0));
    gojson::write_string(&text::rfc3339_nano(s, n), Flavour::EncodingJson, out);
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
        let str_ = |s: &str, out: &mut String| gojson::write_string(s, Flavour::EncodingJson, out);
        out.push_str("\"routingConfig\":{\"currentVersionDeploymentName\":");
        str_(&self.current.0, out);
        out.push_str(",\"currentVersionBuildID\":");
        str_(&self.current.1, out);
        out.push_str(",\"rampingVersionDeploymentName\":");
        str_(&self.ramping.0, out);
        out.push_str(",\"rampingVersionBuildID\":");
        str_(&self.ramping.1, out);
        out.push_str(",\"rampingVersionPercentage\":");
        if !self.percentage.is_finite() {
            return Err(Stop::fallback("a ramp percentage encoding/json refuses"));
        }
        go_float32(out, self.percentage);
        out.push_str(",\"currentVersionChangedTime\":");
        json_time(self.current_changed, out);
        out.push_str(",\"rampingVersionChangedTime\":");
        json_time(self.ramping_changed, out);
        out.push_str(",\"rampingVersionPercentageChangedTime\":");
        json_time(self.percentage_changed, out);
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
    let str_ = |s: &str, out: &mut String| gojson::write_string(s, Flavour::EncodingJson, out);
    let mut c = String::from("{\"name\":");
    str_(name, &mut c);
    c.push_str(",\"createTime\":");
    json_time(Some(create), &mut c);
    c.push_str(",\"lastModifierIdentity\":");
    str_(last_modifier, &mut c);
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
                str_(&s.version.0, &mut c);
                c.push_str(",\"BuildID\":");
                str_(&s.version.1, &mut c);
                c.push_str(",\"drainageStatus\":");
                str_(s.drainage, &mut c);
                c.push_str(",\"createTime\":");
                json_time(Some(s.created), &mut c);
                c.push('}');
            }
            c.push(']');
        }
    }
    c.push_str(",\"managerIdentity\":");
    str_(manager, &mut c);
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
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut tables = 0;
    let mut token = Vec::new();
    loop {
        let namespace = ctx.namespace.clone();
        let req = ctx.request(
            ListWorkerDeploymentsRequest {
                namespace: namespace.clone(),
                page_size: 0,
                next_page_token: token,
            },
            Some(&namespace),
        );
        let resp = ctx.call(req, "").await?;
        for d in &resp.worker_deployments {
            let routing = Routing::of(d.routing_config.as_ref())?;
            let create = created(d.create_time.as_ref())?;
            if ctx.format != Format::Text {
                let item = deployment_json(&d.name, create, "", &routing, None, "")?;
                let mut shown = String::with_capacity(item.len() * 2);
                gojson::reindent(&item, ctx.format == Format::Json, 0, &mut shown);
                list.item(ctx, &shown)?;
                continue;
            }
            rows.push(vec![
                Cell::left(d.name.clone()),
                Cell::left(times.format(create.0, create.1)),
                Cell::left(routing.current.0),
                Cell::left(routing.current.1),
                Cell::left(routing.ramping.0),
                Cell::left(routing.ramping.1),
                Cell::right(text::go_v_float(f64::from(routing.percentage), true)),
            ]);
            if rows.len() == 100 {
                let out = table(&HEADERS, tables == 0, &rows)?;
                ctx.out.write(&out)?;
                rows.clear();
                tables += 1;
            }
        }
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    if ctx.format == Format::Text {
        let out = table(&HEADERS, tables == 0, &rows)?;
        ctx.out.write(&out)?;
    }
    Ok(())
}

fn table(headers: &[&str], print_header: bool, rows: &[Vec<Cell>]) -> Result<String, Stop> {
    text::table(headers, print_header, rows)
        .ok_or_else(|| Stop::fallback("text that is not plain ASCII"))
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
    let namespace = ctx.namespace.clone();
    let req = ctx.request(
        DescribeWorkerDeploymentRequest {
            namespace: namespace.clone(),
            deployment_name: ctx.cmd.flag_str("name").unwrap_or_default().to_owned(),
        },
        Some(&namespace),
    );
    let resp = ctx.call(req, "error describing worker deployment").await?;
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
    out.push_str(&card(&rows)?);
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
