//! The sections of a `workflow describe` text description that only some workflows have: "Pause
//! Info:" (a paused workflow), "Versioning Info:" (Worker Versioning, or an operator's override),
//! "Callbacks: N" (completion callbacks, e.g. a Nexus caller's) and the cards under "Pending
//! Nexus Operations: N". Each prints as the pinned CLI's `workflow describe` prints it: a card of
//! `cardOmitEmpty` rows, enums in shorthand, a Nexus operation's failures as compact protojson
//! with payload shorthand and a callback's as friendly text, durations through the CLI's
//! `formatDuration`, links to workflow events as Nexus link URLs. What that code would print in a way
//! not reproduced here (a versioning transition, the server's own Nexus operations, an enum
//! value this build does not know) makes the command fall back to the CLI. `tests/grpc.rs` produces each section
//! on a real dev server and compares it with the CLI's.

use temporalio_protos::protos::temporal::api::common::v1::{Link, callback, link};
use temporalio_protos::protos::temporal::api::enums::v1::{
    CallbackState, EventType, NexusOperationCancellationState, PendingNexusOperationState,
    VersioningBehavior,
};
use temporalio_protos::protos::temporal::api::failure::v1::Failure;
use temporalio_protos::protos::temporal::api::workflow::v1::{
    CallbackInfo, PendingNexusOperationInfo, WorkflowExecutionPauseInfo,
    WorkflowExecutionVersioningInfo, callback_info, versioning_override,
};

use super::commands::{IN_TEXT, failure_text};
use super::{Rows, Stop, card, optional, render};
use crate::exec::text::{self, Times};

/// A failure as the CLI's printer shows a `*failure.Failure` field: compact protojson; nil prints
/// as nothing (the rows that hold one are `cardOmitEmpty`).
fn failure_json(f: Option<&Failure>) -> Result<String, Stop> {
    f.map_or(Ok(String::new()), |f| {
        render("temporal.api.failure.v1.Failure", f, IN_TEXT)
    })
}

/// An enum value in the shorthand Go's generated `String()` gives (`BackingOff`); a value this
/// build does not know falls back (Go would print its number).
pub(super) fn shorthand<E>(
    value: i32,
    prefix: &str,
    name: fn(&E) -> &'static str,
) -> Result<String, Stop>
where
    E: TryFrom<i32>,
{
    E::try_from(value)
        .map(|e| text::shorthand(name(&e), prefix))
        .map_err(|_| Stop::fallback(format!("an enum value this build does not know ({value})")))
}

/// A `google.protobuf.Duration` through the CLI's `formatDuration` (`AsDuration()` of nil is 0:
/// `0s`, which is not empty, so the row prints).
fn duration(d: Option<&prost_wkt_types::Duration>) -> String {
    let (seconds, nanos) = d.map_or((0, 0), |d| (d.seconds, d.nanos));
    text::format_duration(seconds, nanos)
}

/// "Pause Info:" and its card (identity, reason, paused time; each left out when empty), printed
/// right after the extended execution info card.
pub(super) fn pause_info(
    pause: &WorkflowExecutionPauseInfo,
    times: &Times,
) -> Result<String, Stop> {
    let mut rows = Rows::new();
    optional(&mut rows, "Identity", pause.identity.clone());
    optional(&mut rows, "Reason", pause.reason.clone());
    optional(
        &mut rows,
        "PausedTime",
        times.timestamp(pause.paused_time.as_ref()),
    );
    Ok(format!("Pause Info:\n{}", card(&rows)))
}

/// "\nVersioning Info:\n\n" and its card: the behavior, the deployment version (its own fields,
/// or the deprecated `version` string split at the first dot when they give no name), and an
/// override's behavior and its pinned or one-time target version when there is one.
pub(super) fn versioning_info(info: &WorkflowExecutionVersioningInfo) -> Result<String, Stop> {
    #[expect(
        deprecated,
        reason = "the CLI still reads the deprecated `version` string when `deployment_version` names no deployment"
    )]
    let version = info.version.as_str();
    if info.version_transition.is_some() {
        return Err(Stop::fallback(
            "a versioning transition is rendered by the CLI",
        ));
    }
    let (mut name, mut build) = info
        .deployment_version
        .as_ref()
        .map(|v| (v.deployment_name.clone(), v.build_id.clone()))
        .unwrap_or_default();
    if name.is_empty()
        && let Some((n, b)) = version.split_once('.')
    {
        (name, build) = (n.to_owned(), b.to_owned());
    }
    // (behavior, pinned version's name and build, one-time target's name and build)
    let (override_behavior, pinned, target) = match info
        .versioning_override
        .as_ref()
        .and_then(|o| o.r#override.as_ref())
    {
        None => Default::default(),
        Some(versioning_override::Override::AutoUpgrade(_)) => (
            "AutoUpgrade".to_owned(),
            Default::default(),
            Default::default(),
        ),
        Some(versioning_override::Override::Pinned(pinned)) => {
            // The server does not set one without its version; what the CLI prints then is not
            // pinned down here.
            let version = pinned.version.as_ref().ok_or_else(|| {
                Stop::fallback("a pinned override without its version is rendered by the CLI")
            })?;
            (
                "Pinned".to_owned(),
                (version.deployment_name.clone(), version.build_id.clone()),
                Default::default(),
            )
        }
        // A one-time override: its target version, under rows of its own.
        Some(versioning_override::Override::OneTime(once)) => {
            let version = once.target_deployment_version.as_ref().ok_or_else(|| {
                Stop::fallback("a one-time override without its version is rendered by the CLI")
            })?;
            (
                "OneTime".to_owned(),
                Default::default(),
                (version.deployment_name.clone(), version.build_id.clone()),
            )
        }
    };
    let mut rows: Rows = vec![
        (
            "Behavior",
            shorthand(
                info.behavior,
                "VERSIONING_BEHAVIOR_",
                VersioningBehavior::as_str_name,
            )?,
        ),
        ("DeploymentName", name),
        ("BuildId", build),
    ];
    optional(&mut rows, "OverrideBehavior", override_behavior);
    optional(&mut rows, "OverridePinnedVersionDeploymentName", pinned.0);
    optional(&mut rows, "OverridePinnedVersionBuildId", pinned.1);
    optional(&mut rows, "OverrideTargetVersionDeploymentName", target.0);
    optional(&mut rows, "OverrideTargetVersionBuildId", target.1);
    Ok(format!("\nVersioning Info:\n\n{}", card(&rows)))
}

/// "\nCallbacks: N\n\n" and a card per callback (blank lines between): the Nexus URL (empty for
/// another kind of callback), its links when it has any, trigger, state, attempt, and the times,
/// blocked reason and last failure (friendly text, four spaces in) when set.
pub(super) fn callbacks(callbacks: &[CallbackInfo], times: &Times) -> Result<String, Stop> {
    let mut out = format!("\nCallbacks: {}\n\n", callbacks.len());
    for (i, cb) in callbacks.iter().enumerate() {
        let callback = cb.callback.as_ref();
        let url = match callback.and_then(|c| c.variant.as_ref()) {
            Some(callback::Variant::Nexus(nexus)) => nexus.url.clone(),
            _ => String::new(),
        };
        // Links as the CLI shows them ([`nexus_link`]).
        let links = callback
            .map(|c| c.links.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(nexus_link)
            .collect::<Result<Vec<_>, _>>()?;
        let trigger = match cb.trigger.as_ref().and_then(|t| t.variant.as_ref()) {
            Some(callback_info::trigger::Variant::WorkflowClosed(_)) => "WorkflowClosed",
            _ => "Unknown",
        };
        let mut rows: Rows = vec![("URL", url)];
        if !links.is_empty() {
            rows.push(("Links", format!("[{}]", links.join(", "))));
        }
        rows.extend([
            ("Trigger", trigger.to_owned()),
            (
                "State",
                shorthand(cb.state, "CALLBACK_STATE_", CallbackState::as_str_name)?,
            ),
            ("Attempt", cb.attempt.to_string()),
        ]);
        optional(
            &mut rows,
            "RegistrationTime",
            times.timestamp(cb.registration_time.as_ref()),
        );
        optional(
            &mut rows,
            "NextAttemptScheduleTime",
            times.timestamp(cb.next_attempt_schedule_time.as_ref()),
        );
        optional(
            &mut rows,
            "LastAttemptCompleteTime",
            times.timestamp(cb.last_attempt_complete_time.as_ref()),
        );
        // (In this order in the CLI's struct, unlike a Nexus operation's rows.)
        optional(&mut rows, "BlockedReason", cb.blocked_reason.clone());
        optional(
            &mut rows,
            "LastAttemptFailure",
            failure_text(cb.last_attempt_failure.as_ref(), "    "),
        );
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&card(&rows));
    }
    Ok(out)
}

/// The cards under "Pending Nexus Operations: N" (after a blank line; blank lines between, and
/// one after): endpoint, service, operation, its token (the deprecated id when the token is
/// empty), state, attempt, the three timeouts (schedule-to-close, start-to-close,
/// schedule-to-start), the attempt's times, failure and blocked reason,
/// and the cancellation's when one was requested.
pub(super) fn nexus_operations(
    ops: &[PendingNexusOperationInfo],
    times: &Times,
) -> Result<String, Stop> {
    let mut out = String::from("\n");
    for (i, op) in ops.iter().enumerate() {
        #[expect(
            deprecated,
            reason = "the CLI shows the deprecated operation id when the token is empty"
        )]
        let token = if op.operation_token.is_empty() {
            op.operation_id.clone()
        } else {
            op.operation_token.clone()
        };
        let mut rows: Rows = vec![
            ("Endpoint", op.endpoint.clone()),
            ("Service", op.service.clone()),
            ("Operation", op.operation.clone()),
            ("OperationToken", token),
            (
                "State",
                shorthand(
                    op.state,
                    "PENDING_NEXUS_OPERATION_STATE_",
                    PendingNexusOperationState::as_str_name,
                )?,
            ),
            ("Attempt", op.attempt.to_string()),
            (
                "ScheduleToCloseTimeout",
                duration(op.schedule_to_close_timeout.as_ref()),
            ),
            (
                "StartToCloseTimeout",
                duration(op.start_to_close_timeout.as_ref()),
            ),
            (
                "ScheduleToStartTimeout",
                duration(op.schedule_to_start_timeout.as_ref()),
            ),
        ];
        optional(
            &mut rows,
            "NextAttemptScheduleTime",
            times.timestamp(op.next_attempt_schedule_time.as_ref()),
        );
        optional(
            &mut rows,
            "LastAttemptCompleteTime",
            times.timestamp(op.last_attempt_complete_time.as_ref()),
        );
        optional(
            &mut rows,
            "LastAttemptFailure",
            failure_json(op.last_attempt_failure.as_ref())?,
        );
        optional(&mut rows, "BlockedReason", op.blocked_reason.clone());
        if let Some(c) = &op.cancellation_info {
            // `cardOmitEmpty` on an enum and an int: their zero values are left out.
            if c.state != 0 {
                rows.push((
                    "CancelationState",
                    shorthand(
                        c.state,
                        "NEXUS_OPERATION_CANCELLATION_STATE_",
                        NexusOperationCancellationState::as_str_name,
                    )?,
                ));
            }
            if c.attempt != 0 {
                rows.push(("CancelationAttempt", c.attempt.to_string()));
            }
            optional(
                &mut rows,
                "CancelationRequestedTime",
                times.timestamp(c.requested_time.as_ref()),
            );
            optional(
                &mut rows,
                "CancelationNextAttemptScheduleTime",
                times.timestamp(c.next_attempt_schedule_time.as_ref()),
            );
            optional(
                &mut rows,
                "CancelationLastAttemptCompleteTime",
                times.timestamp(c.last_attempt_complete_time.as_ref()),
            );
            optional(
                &mut rows,
                "CancelationLastAttemptFailure",
                failure_json(c.last_attempt_failure.as_ref())?,
            );
            optional(
                &mut rows,
                "CancelationBlockedReason",
                c.blocked_reason.clone(),
            );
        }
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&card(&rows));
    }
    out.push('\n');
    Ok(out)
}

/// The endpoint of the server's own Nexus operations (a workflow's signal-with-start of another):
/// the CLI leaves them out of a description's pending operations and shows their events in a
/// history its own way.
const SYSTEM_ENDPOINT: &str = "__temporal_system";

/// Falls back when any of `endpoints` is the system endpoint: those are left to the CLI.
pub(super) fn no_system_operations<'a>(
    mut endpoints: impl Iterator<Item = &'a str>,
) -> Result<(), Stop> {
    if endpoints.any(|e| e == SYSTEM_ENDPOINT) {
        return Err(Stop::fallback(
            "the server's own Nexus operations are rendered by the CLI",
        ));
    }
    Ok(())
}

/// A link as the CLI shows it: a link to a workflow event as its Nexus link URL
/// (`temporal:///namespaces/NS/workflows/ID/RUN/history`, each segment path-escaped, and its
/// reference's query); `None` for a batch job's, which the CLI leaves out. The API converts a few
/// more kinds (a workflow, a Nexus operation, an activity), which this server refuses on a
/// callback, so that their output could not be checked: those fall back.
fn nexus_link(link: &Link) -> Option<Result<String, Stop>> {
    match link.variant.as_ref()? {
        link::Variant::WorkflowEvent(event) => Some(workflow_event_query(event).map(|query| {
            format!(
                "temporal:///namespaces/{}/workflows/{}/{}/history{query}",
                go_escape(&event.namespace, false),
                go_escape(&event.workflow_id, false),
                go_escape(&event.run_id, false),
            )
        })),
        link::Variant::BatchJob(_) => None,
        _ => Some(Err(Stop::fallback(
            "a callback's link of this kind is rendered by the CLI",
        ))),
    }
}

/// A workflow event link's query (with its `?`; empty without a reference): Go's
/// `url.Values.Encode` (keys sorted) of `referenceType` with `eventID` (when positive) or
/// `requestID`, and `eventType`.
fn workflow_event_query(event: &link::WorkflowEvent) -> Result<String, Stop> {
    let event_type = |t: i32| shorthand(t, "EVENT_TYPE_", EventType::as_str_name);
    let mut query: Vec<(&str, String)> = match &event.reference {
        None => Vec::new(),
        Some(link::workflow_event::Reference::EventRef(r)) => {
            let mut q = vec![
                ("referenceType", "EventReference".to_owned()),
                ("eventType", event_type(r.event_type)?),
            ];
            if r.event_id > 0 {
                q.push(("eventID", r.event_id.to_string()));
            }
            q
        }
        Some(link::workflow_event::Reference::RequestIdRef(r)) => vec![
            ("referenceType", "RequestIdReference".to_owned()),
            ("requestID", r.request_id.clone()),
            ("eventType", event_type(r.event_type)?),
        ],
    };
    if query.is_empty() {
        return Ok(String::new());
    }
    query.sort_by_key(|(k, _)| *k);
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", go_escape(v, true)))
        .collect();
    Ok(format!("?{}", pairs.join("&")))
}

/// Go's `url.PathEscape` (`query` false: a path segment keeps `$&+:=@`) or `url.QueryEscape`
/// (`query` true: a space becomes `+`, every reserved byte is escaped); letters, digits and
/// `-_.~` stay, every other byte becomes `%XX` (upper-case hex).
fn go_escape(s: &str, query: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (!query && matches!(b, b'$' | b'&' | b'+' | b':' | b'=' | b'@'));
        if keep {
            out.push(char::from(b));
        } else if query && b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_go_does() {
        assert_eq!(
            go_escape("a b/c?d;e,f$g&h+i:j=k@l~m", false),
            "a%20b%2Fc%3Fd%3Be%2Cf$g&h+i:j=k@l~m"
        );
        assert_eq!(
            go_escape("a b/c?d;e,f$g&h+i:j=k@l~m", true),
            "a+b%2Fc%3Fd%3Be%2Cf%24g%26h%2Bi%3Aj%3Dk%40l~m"
        );
        assert_eq!(go_escape("é!", false), "%C3%A9%21");
    }

    /// A blocked callback after a failed attempt (the circuit breaker open): its reason comes
    /// before the failure, in the CLI's struct order (read from the pinned binary; a dev server
    /// does not block a callback within a test).
    #[test]
    fn a_blocked_callback_shows_its_reason_before_its_failure() {
        let cb = CallbackInfo {
            state: CallbackState::Blocked as i32,
            attempt: 3,
            blocked_reason: "circuit breaker open".to_owned(),
            last_attempt_failure: Some(Failure {
                message: "refused".to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let times = Times::at(text::TimeFormat::Iso, 0, 0);
        assert_eq!(
            callbacks(&[cb], &times).unwrap(),
            "\nCallbacks: 1\n\n  URL                  \n  Trigger             Unknown\n  \
             State               Blocked\n  Attempt             3\n  \
             BlockedReason       circuit breaker open\n  LastAttemptFailure  \n    \
             Message: refused\n"
        );
    }

    #[test]
    fn the_servers_own_nexus_operations_are_left_to_the_cli() {
        assert!(no_system_operations(["refunds", "payments"].into_iter()).is_ok());
        assert!(matches!(
            no_system_operations(["refunds", "__temporal_system"].into_iter()),
            Err(Stop::Fallback(_))
        ));
    }

    fn link(variant: link::Variant) -> String {
        nexus_link(&Link {
            variant: Some(variant),
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn links_as_the_api_converts_them() {
        let event = |reference| {
            link::Variant::WorkflowEvent(link::WorkflowEvent {
                namespace: "pay ments".to_owned(),
                workflow_id: "order/7".to_owned(),
                run_id: "r1".to_owned(),
                reference,
            })
        };
        assert_eq!(
            link(event(None)),
            "temporal:///namespaces/pay%20ments/workflows/order%2F7/r1/history"
        );
        let by_event =
            link::workflow_event::Reference::EventRef(link::workflow_event::EventReference {
                event_id: 5,
                event_type: EventType::WorkflowExecutionStarted as i32,
            });
        assert_eq!(
            link(event(Some(by_event))),
            "temporal:///namespaces/pay%20ments/workflows/order%2F7/r1/history\
             ?eventID=5&eventType=WorkflowExecutionStarted&referenceType=EventReference"
        );
        let batch = Link {
            variant: Some(link::Variant::BatchJob(link::BatchJob {
                job_id: "j".to_owned(),
            })),
        };
        assert!(nexus_link(&batch).is_none());
        let workflow = Link {
            variant: Some(link::Variant::Workflow(link::Workflow::default())),
        };
        assert!(matches!(
            nexus_link(&workflow),
            Some(Err(Stop::Fallback(_)))
        ));
    }
}
