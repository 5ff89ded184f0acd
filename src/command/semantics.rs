//! Checks on flag combinations that the CLI makes after parsing, in its commands' own code.
//!
//! Two kinds, kept apart because they mean different things for the differential proof:
//! - [`ParseError::Rejected`]: the CLI refuses before it connects (observed with the 1.9.1 binary),
//!   so tgate must refuse too to read the line as the CLI does.
//! - [`ParseError::Conflict`]: the CLI refuses only after connecting, before changing anything.
//!   tgate refuses up front, so no decision is made on a command that cannot run as written
//!   (e.g. a `--workflow-id` and a batch `--query` at once).

use super::error::ParseError;
use super::table::CommandPath as C;
use super::{Command, Value};

fn rejected(m: &str) -> Result<(), ParseError> {
    Err(ParseError::Rejected {
        message: m.to_owned(),
    })
}

fn conflict(m: impl Into<String>) -> Result<(), ParseError> {
    Err(ParseError::Conflict { message: m.into() })
}

/// Runs every check that applies to `cmd`.
pub(super) fn check(cmd: &Command) -> Result<(), ParseError> {
    if cmd.is_help() {
        return Ok(());
    }
    pre_dial(cmd)?;
    post_dial(cmd)
}

fn pre_dial(cmd: &Command) -> Result<(), ParseError> {
    // The client options are built, and each `--grpc-meta` split, before the CLI dials.
    // (`--codec-header` is only read when a codec endpoint is used, so it is not checked.)
    if let Some(Value::StrArray(items)) = cmd.flag("grpc-meta")
        && let Some(bad) = items.iter().find(|i| !i.contains('='))
    {
        return Err(ParseError::Rejected {
            message: format!(
                "invalid gRPC meta: invalid format {}, expected KEY=VALUE",
                super::goparse::quote(bad)
            ),
        });
    }
    let has = |n: &str| cmd.flags.contains_key(n);
    let nonempty = |n: &str| cmd.flag_str(n).is_some_and(|v| !v.is_empty());
    let truthy = |n: &str| matches!(cmd.flag(n), Some(Value::Bool(true)));
    match cmd.path {
        C::WorkflowReset | C::WorkflowResetWithWorkflowUpdateOptions => {
            if has("query") {
                if !has("type") {
                    return rejected("must specify reset type");
                }
                if has("run-id") {
                    return rejected("must not specify run Id");
                }
            } else {
                let event_id = match cmd.flag("event-id") {
                    Some(Value::Int(i)) => *i,
                    _ => 0,
                };
                if event_id <= 0 && !has("type") {
                    return rejected("must specify either valid event id or reset type");
                }
            }
            if cmd.path == C::WorkflowResetWithWorkflowUpdateOptions {
                let pinned_fields = (
                    nonempty("versioning-override-deployment-name"),
                    nonempty("versioning-override-build-id"),
                );
                match cmd.flag_str("versioning-override-behavior") {
                    Some("pinned") if pinned_fields != (true, true) => {
                        return rejected(
                            "deployment name and build id are required with 'pinned' behavior",
                        );
                    }
                    Some("auto_upgrade") if pinned_fields != (false, false) => {
                        return rejected(
                            "cannot set deployment name or build id with auto_upgrade behavior",
                        );
                    }
                    _ => {}
                }
            }
        }
        C::ScheduleToggle if truthy("pause") == truthy("unpause") => {
            return rejected("exactly one of --pause or --unpause is required");
        }
        C::ActivityPause if !nonempty("activity-id") => {
            return rejected(
                "must specify --activity-id to pause an Activity (optionally with --workflow-id and/or --run-id)",
            );
        }
        C::WorkflowSignalWithStart if !nonempty("workflow-id") => {
            return rejected("--workflow-id flag must be provided");
        }
        C::WorkflowStartUpdateWithStart | C::WorkflowExecuteUpdateWithStart => {
            if has("update-input") && has("update-input-file") {
                return rejected("cannot provide input and input file");
            }
            if !nonempty("workflow-id") {
                return rejected("--workflow-id flag must be provided");
            }
            if !has("id-conflict-policy") {
                return rejected("--id-conflict-policy flag must be provided");
            }
        }
        C::OperatorNexusEndpointCreate | C::OperatorNexusEndpointUpdate => {
            if has("description") && has("description-file") {
                return rejected("provided both --description and --description-file");
            }
            let (ns, tq, url) = (
                nonempty("target-namespace"),
                nonempty("target-task-queue"),
                nonempty("target-url"),
            );
            if ns && url {
                return rejected("provided both --target-namespace and --target-url");
            }
            if cmd.path == C::OperatorNexusEndpointCreate {
                if ns && !tq {
                    return rejected(
                        "both --target-namespace and --target-task-queue are required",
                    );
                }
                if !ns && !url {
                    return rejected(
                        "either --target-namespace and --target-task-queue or --target-url are required",
                    );
                }
            } else {
                if tq && url {
                    return rejected("provided both --target-task-queue and --target-url");
                }
                if truthy("unset-description") && (has("description") || has("description-file")) {
                    return rejected(
                        "--unset-description should not be set if --description or --description-file is set",
                    );
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn post_dial(cmd: &Command) -> Result<(), ParseError> {
    let has = |n: &str| cmd.flags.contains_key(n);
    for (a, b) in [
        ("input", "input-file"),
        ("signal-input", "signal-input-file"),
    ] {
        if has(a) && has(b) {
            return conflict("cannot provide input and input file");
        }
    }
    match cmd.path {
        C::WorkflowCancel
        | C::WorkflowSignal
        | C::WorkflowTerminate
        | C::WorkflowDelete
        | C::WorkflowUpdateOptions => {
            if has("workflow-id") {
                if has("query") {
                    return conflict("cannot set query when workflow ID is set");
                }
                if has("reason") && cmd.path != C::WorkflowTerminate {
                    return conflict("cannot set reason when workflow ID is set");
                }
                if has("yes") && cmd.path != C::WorkflowDelete {
                    return conflict("cannot set 'yes' when workflow ID is set");
                }
                if has("rps") {
                    return conflict("cannot set rps when workflow ID is set");
                }
            } else if !has("query") {
                return conflict("must set either workflow ID or query");
            } else if has("run-id") {
                return conflict("cannot set run ID when query is set");
            }
        }
        C::WorkflowReset | C::WorkflowResetWithWorkflowUpdateOptions
            if has("workflow-id") == has("query") =>
        {
            return conflict("must set exactly one of --workflow-id or --query");
        }
        C::ActivityCancel
        | C::ActivityTerminate
        | C::ActivityDelete
        | C::ActivityReset
        | C::ActivityUnpause
        | C::ActivityUpdateOptions => {
            let single = has("activity-id") || has("workflow-id");
            if single == has("query") {
                return conflict(
                    "must set either an activity (--activity-id) or --query, not both",
                );
            }
        }
        C::OperatorNamespaceCreate
        | C::OperatorNamespaceDelete
        | C::OperatorNamespaceDescribe
        | C::OperatorNamespaceUpdate => {
            let flag_ns = cmd.flag_str("namespace").unwrap_or("default");
            if let Some(arg) = cmd.args.first()
                && flag_ns != "default"
            {
                let m = format!(
                    "namespace was provided as both an argument ({arg}) and a flag (-n {flag_ns}); please specify namespace only with -n"
                );
                // `create` checks this before connecting; the others after.
                return if cmd.path == C::OperatorNamespaceCreate {
                    Err(ParseError::Rejected { message: m })
                } else {
                    conflict(m)
                };
            }
            if cmd.path == C::OperatorNamespaceDescribe && has("namespace-id") {
                let name = cmd.args.first().map(String::as_str).unwrap_or(flag_ns);
                if name != "default" && !name.is_empty() {
                    return conflict(
                        "provide one of --namespace-id=<uuid> or -n name, but not both",
                    );
                }
            }
        }
        _ => {}
    }
    Ok(())
}
