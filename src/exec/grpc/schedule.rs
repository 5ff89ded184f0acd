//! `schedule list-matching-times`, and `schedule describe` and `schedule list` text. The CLI reads schedules through the Go SDK
//! (`ScheduleHandle.Describe`, `ScheduleClient.List`), copies the SDK's structs into its own
//! `printableSchedule` and prints that as a card (describe) or a table row (list, less the fields
//! list results do not carry): Go values by the printer's `textVal` rules (structs as
//! `encoding/json`, protos as compact protojson with payload shorthand, slices as `[a, b]`, the
//! zero time as nothing), fields tagged `cardOmitEmpty` left out of a card when zero.
//!
//! What this module does not reproduce is a fallback, so the CLI prints it: an action other
//! than starting a workflow, a versioning override on it, search attributes the
//! SDK would not type, a static summary or details that is not a JSON string, a spec written as
//! cron strings or unstructured calendars (the server compiles those into structured ones).

use std::fmt::Write as _;

use base64::Engine as _;
use temporalio_protos::protos::temporal::api::common::v1::Payload;
use temporalio_protos::protos::temporal::api::enums::v1::ScheduleOverlapPolicy;
use temporalio_protos::protos::temporal::api::schedule::v1::{
    CalendarSpec, IntervalSpec, Range, ScheduleListEntry, ScheduleListInfo, ScheduleSpec,
    StructuredCalendarSpec, schedule_action,
};
use temporalio_protos::protos::temporal::api::workflow::v1::NewWorkflowExecutionInfo;
use temporalio_protos::protos::temporal::api::workflowservice::v1::{
    DescribeScheduleResponse, ListScheduleMatchingTimesRequest,
};

use super::commands::IN_TEXT;
use super::{Ctx, Format, Stop, card, render, table};
use crate::command::parse_timestamp;
use crate::exec::gojson::{self, Flavour};
use crate::exec::text::{self, Cell, Times};

/// `schedule list-matching-times`: `ListScheduleMatchingTimes` over the flags' range, as JSON,
/// or in text a `Time` table of each time as Go's `time.RFC3339` writes it in UTC (whole
/// seconds, whatever `--time-format` says). An unknown schedule is the server's error, unwrapped.
pub(super) async fn list_matching_times(ctx: &mut Ctx<'_, '_>) -> Result<(), Stop> {
    let instant = |flag: &str| -> Result<prost_wkt_types::Timestamp, Stop> {
        // (Required by the parser, and checked there with the same Go rules.)
        let (seconds, nanos) = parse_timestamp(ctx.cmd.flag_str(flag).unwrap_or_default())
            .map_err(|_| Stop::fallback("a time this translation cannot read"))?;
        Ok(prost_wkt_types::Timestamp { seconds, nanos })
    };
    let req = ListScheduleMatchingTimesRequest {
        namespace: ctx.namespace.clone(),
        schedule_id: ctx
            .cmd
            .flag_str("schedule-id")
            .unwrap_or_default()
            .to_owned(),
        start_time: Some(instant("start-time")?),
        end_time: Some(instant("end-time")?),
    };
    let resp = call!(ctx, req, "");
    if ctx.format != Format::Text {
        return ctx.print_message(
            "temporal.api.workflowservice.v1.ListScheduleMatchingTimesResponse",
            &resp,
            false,
        );
    }
    let rows = resp
        .start_time
        .iter()
        .map(|t| {
            // Go writes years outside 0000-9999 its own way; protobuf allows 0001-9999.
            if !(text::ZERO_TIME..=text::LAST_TIME).contains(&t.seconds) {
                return Err(Stop::fallback("a matching time outside years 1-9999"));
            }
            Ok(vec![Cell::left(text::rfc3339(t.seconds))])
        })
        .collect::<Result<Vec<_>, Stop>>()?;
    let out = table(&["Time"], true, &rows)?;
    ctx.out.write(&out)
}

/// The card `schedule describe` prints for schedule `id` (the flag's value, as the CLI takes it).
pub(super) fn describe_card(
    id: &str,
    resp: &DescribeScheduleResponse,
    times: &Times,
) -> Result<String, Stop> {
    let schedule = resp
        .schedule
        .as_ref()
        .ok_or_else(|| Stop::fallback("a schedule description without its schedule"))?;
    // The SDK hands the CLI a nil spec or action for these, and the CLI dereferences it.
    let spec = schedule
        .spec
        .as_ref()
        .ok_or_else(|| Stop::fallback("a schedule without a spec"))?;
    let action = match schedule.action.as_ref().and_then(|a| a.action.as_ref()) {
        Some(schedule_action::Action::StartWorkflow(w)) => workflow_action(w)?,
        None => return Err(Stop::fallback("a schedule without an action")),
    };
    structured_only(spec)?;
    let policies = schedule.policies.unwrap_or_default();
    let state = schedule.state.clone().unwrap_or_default();
    // The SDK reads the info's counts through a nil pointer without one.
    let info = resp
        .info
        .as_ref()
        .ok_or_else(|| Stop::fallback("a schedule description without its info"))?;

    // Every row of `printableSchedule`, in its order; `None` is a `cardOmitEmpty` field left out.
    let time = |t: Option<&prost_wkt_types::Timestamp>| {
        // The SDK's `AsTime()` of a missing timestamp is the Unix epoch, not Go's zero time.
        let t = t.cloned().unwrap_or_default();
        times.format(t.seconds, t.nanos)
    };
    let omit_empty = |s: String| (!s.is_empty()).then_some(s);
    let overlap = ScheduleOverlapPolicy::try_from(policies.overlap_policy)
        .map_err(|_| Stop::fallback("an overlap policy this build does not know"))?;
    let specs = spec_list(&spec.structured_calendar, &spec.interval)?;
    let skips = spec_list(&spec.exclude_structured_calendar, &[])?;
    let last_run = info
        .recent_actions
        .last()
        .map(|a| time(a.schedule_time.as_ref()))
        .unwrap_or_default();
    let running: Vec<&str> = info
        .running_workflows
        .iter()
        .map(|w| w.workflow_id.as_str())
        .collect();
    let counts = format!(
        r#"{{"Total":{},"MissedCatchupWindow":{},"SkippedOverlap":{}}}"#,
        info.action_count, info.missed_catchup_window, info.overlap_skipped
    );
    let rows: [(&str, Option<String>); 23] = [
        ("ScheduleId", Some(id.to_owned())),
        ("Action", Some(action)),
        ("Spec", specs),
        ("SkipSpec", skips),
        (
            "StartAt",
            spec.start_time
                .as_ref()
                .and_then(|t| omit_empty(time(Some(t)))),
        ),
        (
            "EndAt",
            spec.end_time
                .as_ref()
                .and_then(|t| omit_empty(time(Some(t)))),
        ),
        ("Jitter", Some(duration_text(spec.jitter.as_ref()))),
        ("TimeZoneName", omit_empty(spec.timezone_name.clone())),
        (
            "OverlapPolicy",
            Some(text::shorthand(
                overlap.as_str_name(),
                "SCHEDULE_OVERLAP_POLICY_",
            )),
        ),
        (
            "CatchupWindow",
            Some(duration_text(policies.catchup_window.as_ref())),
        ),
        (
            "PauseOnFailure",
            Some(policies.pause_on_failure.to_string()),
        ),
        ("Notes", omit_empty(state.notes.clone())),
        ("Paused", Some(state.paused.to_string())),
        (
            "LimitedActions",
            state.limited_actions.then(|| "true".to_owned()),
        ),
        (
            "RemainingActions",
            state
                .limited_actions
                .then(|| state.remaining_actions.to_string()),
        ),
        (
            "NextRunTime",
            Some(
                info.future_action_times
                    .first()
                    .map(|t| time(Some(t)))
                    .unwrap_or_default(),
            ),
        ),
        ("LastRunTime", Some(last_run)),
        (
            "RunningWorkflows",
            Some(format!("[{}]", running.join(", "))),
        ),
        ("CreatedAt", omit_empty(time(info.create_time.as_ref()))),
        ("LastUpdateAt", omit_empty(time(info.update_time.as_ref()))),
        ("ActionCounts", Some(counts)),
        (
            "SearchAttributes",
            resp.search_attributes
                .as_ref()
                .map(|sa| render("temporal.api.common.v1.SearchAttributes", sa, IN_TEXT))
                .transpose()?,
        ),
        (
            "Memo",
            resp.memo
                .as_ref()
                .map(|m| render("temporal.api.common.v1.Memo", m, IN_TEXT))
                .transpose()?,
        ),
    ];
    let shown: Vec<(&str, String)> = rows
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect();
    Ok(card(&shown))
}

/// Falls back for a spec with cron strings or unstructured calendars (the server compiles those
/// into structured ones, so a schedule does not normally carry them).
fn structured_only(spec: &ScheduleSpec) -> Result<(), Stop> {
    #[expect(
        deprecated,
        reason = "`exclude_calendar` is deprecated in the API, but a server may still return it"
    )]
    let unstructured_skip = !spec.exclude_calendar.is_empty();
    if !spec.cron_string.is_empty() || !spec.calendar.is_empty() || unstructured_skip {
        return Err(Stop::fallback(
            "a schedule spec with cron strings or unstructured calendars",
        ));
    }
    Ok(())
}

/// How much of each schedule `schedule list` text shows.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Detail {
    /// ScheduleId, Action, Paused, NextRunTime, LastRunTime.
    Short,
    /// `-l`: Spec and Notes too.
    Long,
    /// `--really-long`: the skip spec, start and end, jitter, time zone, search attributes and
    /// memo too.
    ReallyLong,
}

/// The columns of `schedule list` text at `detail`: the CLI's `printableSchedule` fields, in its
/// order, less those it excludes (list results do not carry policies, counts or running
/// workflows).
pub(super) fn list_headers(detail: Detail) -> Vec<&'static str> {
    let mut h = vec!["ScheduleId", "Action"];
    if detail >= Detail::Long {
        h.push("Spec");
    }
    if detail == Detail::ReallyLong {
        h.extend(["SkipSpec", "StartAt", "EndAt", "Jitter", "TimeZoneName"]);
    }
    if detail >= Detail::Long {
        h.push("Notes");
    }
    h.extend(["Paused", "NextRunTime", "LastRunTime"]);
    if detail == Detail::ReallyLong {
        h.extend(["SearchAttributes", "Memo"]);
    }
    h
}

/// The cells of one schedule in `schedule list` text at `detail`, in [`list_headers`]' order.
pub(super) fn list_row(
    entry: &ScheduleListEntry,
    detail: Detail,
    times: &Times,
) -> Result<Vec<String>, Stop> {
    let no_info = ScheduleListInfo::default();
    let info = entry.info.as_ref().unwrap_or(&no_info);
    let action = gojson::Json::Obj(std::collections::BTreeMap::from([(
        "Workflow".to_owned(),
        gojson::Json::Str(
            info.workflow_type
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
        ),
    )]));
    let mut action_text = String::new();
    gojson::write_go(&action, false, &mut action_text);
    let time = |t: Option<&prost_wkt_types::Timestamp>| times.timestamp(t);
    // The last recent action's time; the SDK's `AsTime()` of a missing one is the Unix epoch.
    let last = info.recent_actions.last().map(|a| {
        let t = a.schedule_time.unwrap_or_default();
        times.format(t.seconds, t.nanos)
    });
    let mut row = vec![entry.schedule_id.clone(), action_text];
    if detail >= Detail::Long {
        let no_spec = ScheduleSpec::default();
        let spec = info.spec.as_ref().unwrap_or(&no_spec);
        structured_only(spec)?;
        // The CLI dereferences a missing spec, and prints `[]` for one without calendars or
        // intervals: neither is reproduced here.
        let specs = spec_list(&spec.structured_calendar, &spec.interval)?
            .ok_or_else(|| Stop::fallback("a listed schedule without calendars or intervals"))?;
        row.push(specs);
        if detail == Detail::ReallyLong {
            row.extend([
                // A table cell prints a nil slice as `[]` too.
                spec_list(&spec.exclude_structured_calendar, &[])?
                    .unwrap_or_else(|| "[]".to_owned()),
                time(spec.start_time.as_ref()),
                time(spec.end_time.as_ref()),
                duration_text(spec.jitter.as_ref()),
                spec.timezone_name.clone(),
            ]);
        }
        row.push(info.notes.clone());
    }
    row.extend([
        info.paused.to_string(),
        time(info.future_action_times.first()),
        last.unwrap_or_default(),
    ]);
    if detail == Detail::ReallyLong {
        // Protos as compact protojson; a missing one as Go prints a nil pointer.
        row.push(match &entry.search_attributes {
            Some(sa) => render("temporal.api.common.v1.SearchAttributes", sa, IN_TEXT)?,
            None => "<nil>".to_owned(),
        });
        row.push(match &entry.memo {
            Some(m) => render("temporal.api.common.v1.Memo", m, IN_TEXT)?,
            None => "<nil>".to_owned(),
        });
    }
    Ok(row)
}

/// The CLI's `formatDuration` of a protobuf duration (missing = 0s), saturated as Go's
/// `AsDuration()` saturates it.
fn duration_text(d: Option<&prost_wkt_types::Duration>) -> String {
    let n = nanos(d);
    text::format_duration(n / 1_000_000_000, (n % 1_000_000_000) as i32)
}

/// Go's `Duration.AsDuration()` in nanoseconds: saturating at the ends of an int64.
fn nanos(d: Option<&prost_wkt_types::Duration>) -> i64 {
    let d = d.cloned().unwrap_or_default();
    let n = i128::from(d.seconds) * 1_000_000_000 + i128::from(d.nanos);
    n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The `Spec` (or `SkipSpec`) row: calendars as the CLI's `CalendarSpec` protos (compact
/// protojson), then intervals as its `printableInterval` struct; `None` when there are none (the
/// field is `cardOmitEmpty` and the slice nil).
fn spec_list(
    calendars: &[StructuredCalendarSpec],
    intervals: &[IntervalSpec],
) -> Result<Option<String>, Stop> {
    if calendars.is_empty() && intervals.is_empty() {
        return Ok(None);
    }
    let mut items = Vec::with_capacity(calendars.len() + intervals.len());
    for c in calendars {
        let spec = CalendarSpec {
            second: ranges(&c.second),
            minute: ranges(&c.minute),
            hour: ranges(&c.hour),
            day_of_month: ranges(&c.day_of_month),
            month: ranges(&c.month),
            year: ranges(&c.year),
            day_of_week: ranges(&c.day_of_week),
            comment: c.comment.clone(),
        };
        items.push(render(
            "temporal.api.schedule.v1.CalendarSpec",
            &spec,
            IN_TEXT,
        )?);
    }
    for i in intervals {
        let mut item = String::from(r#"{"every":"#);
        gojson::write_string(
            &duration_text(i.interval.as_ref()),
            Flavour::EncodingJson,
            &mut item,
        );
        if nanos(i.phase.as_ref()) > 0 {
            item.push_str(r#","offset":"#);
            gojson::write_string(
                &duration_text(i.phase.as_ref()),
                Flavour::EncodingJson,
                &mut item,
            );
        }
        item.push('}');
        items.push(item);
    }
    Ok(Some(format!("[{}]", items.join(", "))))
}

/// The CLI's `formatCalendarSpec` of one field: `start[-end][/step]` per range, comma-joined.
fn ranges(rs: &[Range]) -> String {
    let mut out = String::new();
    for (i, r) in rs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}", r.start);
        if r.end > r.start {
            let _ = write!(out, "-{}", r.end);
        }
        if r.step > 1 {
            let _ = write!(out, "/{}", r.step);
        }
    }
    out
}

/// The names the SDK types a search attribute by (its payload's `type` metadata).
const TYPED: &[&[u8]] = &[
    b"Text",
    b"Keyword",
    b"Int",
    b"Double",
    b"Bool",
    b"Datetime",
    b"KeywordList",
];

/// The SDK's `ScheduleWorkflowAction` for a start-workflow action, as `encoding/json` writes it
/// (fields in declaration order; payloads are Go proto structs there, so their `json` tags and
/// base64 bytes, not protojson).
fn workflow_action(w: &NewWorkflowExecutionInfo) -> Result<String, Stop> {
    if w.versioning_override.is_some() {
        return Err(Stop::fallback(
            "a scheduled workflow with a versioning override",
        ));
    }
    // Attributes whose payload names its type and holds a value become the SDK's typed
    // attributes, which `encoding/json` prints as `{}` (unexported fields); others stay untyped
    // and would print (the SDK skips an empty one as untyped).
    let search_attributes = w.search_attributes.as_ref().map(|s| &s.indexed_fields);
    if search_attributes.is_some_and(|fields| {
        fields.values().any(|p| {
            p.data.is_empty()
                || !p
                    .metadata
                    .get("type")
                    .is_some_and(|t| TYPED.contains(&t.as_slice()))
        })
    }) {
        return Err(Stop::fallback(
            "a scheduled workflow search attribute without a known type",
        ));
    }
    let mut out = String::from(r#"{"ID":"#);
    gojson::write_string(&w.workflow_id, Flavour::EncodingJson, &mut out);
    out.push_str(r#","Workflow":"#);
    let name = w.workflow_type.as_ref().map(|t| t.name.as_str());
    gojson::write_string(name.unwrap_or_default(), Flavour::EncodingJson, &mut out);
    out.push_str(r#","Args":["#);
    let args = w
        .input
        .as_ref()
        .map(|i| i.payloads.as_slice())
        .unwrap_or_default();
    for (i, p) in args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        go_payload(p, &mut out)?;
    }
    out.push_str(r#"],"TaskQueue":"#);
    let queue = w.task_queue.as_ref().map(|q| q.name.as_str());
    gojson::write_string(queue.unwrap_or_default(), Flavour::EncodingJson, &mut out);
    let _ = write!(
        out,
        r#","WorkflowExecutionTimeout":{},"WorkflowRunTimeout":{},"WorkflowTaskTimeout":{},"RetryPolicy":"#,
        nanos(w.workflow_execution_timeout.as_ref()),
        nanos(w.workflow_run_timeout.as_ref()),
        nanos(w.workflow_task_timeout.as_ref()),
    );
    retry_policy(w.retry_policy.as_ref(), &mut out)?;
    out.push_str(r#","Memo":{"#);
    let mut memo: Vec<(&String, &Payload)> = w
        .memo
        .as_ref()
        .map(|m| m.fields.iter().collect())
        .unwrap_or_default();
    memo.sort_by(|a, b| a.0.cmp(b.0));
    for (i, (key, p)) in memo.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        gojson::write_string(key, Flavour::EncodingJson, &mut out);
        out.push(':');
        go_payload(p, &mut out)?;
    }
    out.push_str(
        r#"},"TypedSearchAttributes":{},"UntypedSearchAttributes":{},"VersioningOverride":null,"StaticSummary":"#,
    );
    let metadata = w.user_metadata.as_ref();
    let summary = json_string(metadata.and_then(|m| m.summary.as_ref()))?;
    gojson::write_string(&summary, Flavour::EncodingJson, &mut out);
    out.push_str(r#","StaticDetails":"#);
    let details = json_string(metadata.and_then(|m| m.details.as_ref()))?;
    gojson::write_string(&details, Flavour::EncodingJson, &mut out);
    let priority = w.priority.clone().unwrap_or_default();
    if !priority.fairness_weight.is_finite() {
        // `encoding/json` refuses it, and the CLI prints its error in place of the action.
        return Err(Stop::fallback(
            "a fairness weight that is not a finite number",
        ));
    }
    let _ = write!(
        out,
        r#","Priority":{{"PriorityKey":{},"FairnessKey":"#,
        priority.priority_key
    );
    gojson::write_string(&priority.fairness_key, Flavour::EncodingJson, &mut out);
    out.push_str(r#","FairnessWeight":"#);
    crate::exec::protojson::go_float32(&mut out, priority.fairness_weight);
    out.push_str("}}");
    Ok(out)
}

/// The SDK's `RetryPolicy` (`convertFromPBRetryPolicy`) as `encoding/json` writes it: `null`
/// when there is none, durations in nanoseconds, a float64 coefficient, a nil error-type list as
/// `null`.
fn retry_policy(
    p: Option<&temporalio_protos::protos::temporal::api::common::v1::RetryPolicy>,
    out: &mut String,
) -> Result<(), Stop> {
    let Some(p) = p else {
        out.push_str("null");
        return Ok(());
    };
    if !p.backoff_coefficient.is_finite() {
        // `encoding/json` refuses it, and the CLI prints its error in place of the action.
        return Err(Stop::fallback(
            "a backoff coefficient that is not a finite number",
        ));
    }
    let _ = write!(
        out,
        r#"{{"InitialInterval":{},"BackoffCoefficient":"#,
        nanos(p.initial_interval.as_ref())
    );
    crate::exec::protojson::go_float(out, p.backoff_coefficient);
    let _ = write!(
        out,
        r#","MaximumInterval":{},"MaximumAttempts":{},"NonRetryableErrorTypes":"#,
        nanos(p.maximum_interval.as_ref()),
        p.maximum_attempts
    );
    if p.non_retryable_error_types.is_empty() {
        // A decoded empty repeated field is nil in Go.
        out.push_str("null");
    } else {
        out.push('[');
        for (i, t) in p.non_retryable_error_types.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            gojson::write_string(t, Flavour::EncodingJson, out);
        }
        out.push(']');
    }
    out.push('}');
    Ok(())
}

/// A `commonpb.Payload` as `encoding/json` writes the Go struct: `metadata` (sorted keys, base64
/// values) and `data` (base64), each left out when empty.
fn go_payload(p: &Payload, out: &mut String) -> Result<(), Stop> {
    if !p.external_payloads.is_empty() {
        return Err(Stop::fallback("a payload stored externally"));
    }
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    out.push('{');
    if !p.metadata.is_empty() {
        out.push_str(r#""metadata":{"#);
        let mut keys: Vec<&String> = p.metadata.keys().collect();
        keys.sort();
        for (i, k) in keys.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            gojson::write_string(k, Flavour::EncodingJson, out);
            let _ = write!(out, r#":"{}""#, b64(&p.metadata[k]));
        }
        out.push('}');
    }
    if !p.data.is_empty() {
        if !p.metadata.is_empty() {
            out.push(',');
        }
        let _ = write!(out, r#""data":"{}""#, b64(&p.data));
    }
    out.push('}');
    Ok(())
}

/// The SDK's default data converter decoding a payload into a Go string: a `json/plain` JSON
/// string; a missing payload is "". Anything else the CLI reports as an error (or decodes by a
/// rule not reproduced here), so the CLI prints it.
fn json_string(p: Option<&Payload>) -> Result<String, Stop> {
    let Some(p) = p else {
        return Ok(String::new());
    };
    if p.metadata.get("encoding").map(Vec::as_slice) != Some(b"json/plain".as_slice()) {
        return Err(Stop::fallback(
            "a static summary or details not encoded as json/plain",
        ));
    }
    match gojson::parse(&p.data) {
        Ok(gojson::Json::Str(s)) => Ok(s),
        _ => Err(Stop::fallback(
            "a static summary or details that is not a JSON string",
        )),
    }
}
