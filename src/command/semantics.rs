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

/// The flags whose zero value (empty text, `false`, 0) the CLI's single-or-batch checks take
/// for "not given".
const SINGLE_OR_BATCH: [&str; 6] = [
    "workflow-id",
    "activity-id",
    "query",
    "run-id",
    "yes",
    "rps",
];

/// Whether `v` is its type's zero value, as Go's checks (`!= ""`, `!= 0`, a bool) see it.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Str(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Float(f) => f.0 == 0.0,
        Value::Int(i) => *i == 0,
        _ => false,
    }
}

/// On a batch-capable command, removes the single-or-batch flags given with their zero value:
/// the CLI treats `-w ''`, `-q ''`, `-r ''`, `--yes=false` and `--rps 0` as not given, and so must
/// everything that judges the command (a policy's `workflow-id: {present: true}` must not see a
/// workflow id in `-w '' -q X`, a batch). The canonical argv leaves them out, which the CLI reads
/// the same way.
pub(super) fn drop_unset(cmd: &mut Command) {
    if cmd.path.batch_capable() && !cmd.is_help() {
        cmd.flags
            .retain(|name, v| !(SINGLE_OR_BATCH.contains(name) && is_zero(v)));
        // What a reset does not read is dropped, so that no policy judges it by a flag that
        // plays no part in it (review: a rule allowing resets by their query would have let
        // `-w prod-wf -q "<an allowed query>"` reset any workflow). Checked on a dev server: a
        // reset that names a workflow never reads `--query` or `--build-id`, nor `--event-id`
        // when it has a `--type` (`-t FirstWorkflowTask -e 999` resets to the first workflow
        // task), nor `--yes` (no prompt); a batch reads `--build-id` only for type `BuildId`,
        // and `--event-id` only to refuse one that is not 0.
        if matches!(
            cmd.path,
            C::WorkflowReset | C::WorkflowResetWithWorkflowUpdateOptions
        ) {
            let by_type = cmd.flags.contains_key("type");
            if !cmd.is_batch_job() {
                cmd.flags.remove("query");
                cmd.flags.remove("build-id");
                cmd.flags.remove("yes");
                if by_type {
                    cmd.flags.remove("event-id");
                }
            } else {
                cmd.flags.remove("event-id");
                if cmd.flag_str("type") != Some("BuildId") {
                    cmd.flags.remove("build-id");
                }
            }
        }
    }
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
    let has = |n: &str| cmd.flags.contains_key(n);
    let nonempty = |n: &str| cmd.flag_str(n).is_some_and(|v| !v.is_empty());
    let truthy = |n: &str| matches!(cmd.flag(n), Some(Value::Bool(true)));
    if cmd.path.connects() {
        client_options(cmd, &nonempty, &truthy)?;
    }
    match cmd.path {
        C::WorkflowReset | C::WorkflowResetWithWorkflowUpdateOptions => {
            // The CLI resets one workflow when `-w` is given, whatever `--query` says (it is
            // not read), and otherwise starts a batch over `--query`, which may be empty: every
            // workflow in the namespace (checked on a dev server). Empty values count as unset,
            // as in its checks (`!= ""`).
            let event_id = match cmd.flag("event-id") {
                Some(Value::Int(i)) => *i,
                _ => 0,
            };
            if !cmd.is_batch_job() {
                if event_id <= 0 && !has("type") {
                    return rejected("must specify either valid event id or reset type");
                }
            } else {
                if !has("type") {
                    return rejected("must specify reset type");
                }
                if nonempty("run-id") {
                    return rejected("must not specify run Id");
                }
                if event_id != 0 {
                    return rejected("must not specify event Id");
                }
                if cmd.flag_str("type") == Some("BuildId") && !nonempty("build-id") {
                    return rejected("must specify build Id for BuildId based batch reset");
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
        C::OperatorNamespaceUpdate if has("active-cluster") => {
            if !nonempty("active-cluster") {
                return rejected("--active-cluster must not be empty");
            }
            if truthy("promote-global") {
                return rejected(
                    "both --promote-global and --active-cluster flags cannot be set together",
                );
            }
            let combined: Vec<String> = NAMESPACE_CONFIG_FLAGS
                .iter()
                .filter(|f| has(f))
                .map(|f| format!("--{f}"))
                .collect();
            if !combined.is_empty() {
                return Err(ParseError::Rejected {
                    message: format!(
                        "--active-cluster cannot be combined with {}; update namespace configuration before changing the active cluster",
                        combined.join(", ")
                    ),
                });
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

/// What the CLI checks while building client options, just before it dials: the shape of the
/// gRPC metadata, codec headers and TLS flags, and that a named profile exists.
fn client_options(
    cmd: &Command,
    nonempty: &dyn Fn(&str) -> bool,
    truthy: &dyn Fn(&str) -> bool,
) -> Result<(), ParseError> {
    let bad_pair = |flag: &str| match cmd.flag(flag) {
        Some(Value::StrArray(items)) => items.iter().find(|i| !i.contains('=')).cloned(),
        _ => None,
    };
    if let Some(bad) = bad_pair("grpc-meta") {
        return rejected(&format!(
            "invalid gRPC meta: invalid format {}, expected KEY=VALUE",
            super::goparse::quote(&bad)
        ));
    }
    // Codec headers are only read when a codec endpoint is set.
    if nonempty("codec-endpoint")
        && let Some(bad) = bad_pair("codec-header")
    {
        return rejected(&format!(
            "invalid codec headers: invalid format {}, expected KEY=VALUE",
            super::goparse::quote(&bad)
        ));
    }
    tls_structure(nonempty)?;
    // An explicitly named profile must exist in the TOML config file; tgate runs the CLI without
    // one, so only `--disable-config-file` (which skips the file) lets such a command through.
    if nonempty("profile") && !truthy("disable-config-file") {
        return rejected(&format!(
            "failed loading client config: unable to find profile {} in config data",
            cmd.flag_str("profile").unwrap_or_default()
        ));
    }
    Ok(())
}

/// `operator namespace update` flags that cannot accompany `--active-cluster`, in the CLI's order.
const NAMESPACE_CONFIG_FLAGS: &[&str] = &[
    "cluster",
    "data",
    "description",
    "email",
    "history-archival-state",
    "history-uri",
    "replication-state",
    "retention",
    "visibility-archival-state",
    "visibility-uri",
];

/// The shape rules the CLI applies to TLS flags while building client options, before it reads
/// or parses any certificate. (tgate does not read the material these flags name: it never passes
/// them on, since connection flags are denied whatever the policy. The CLI also refuses material
/// that is unreadable or not PEM before connecting; that check is not reproduced here.)
fn tls_structure(nonempty: &dyn Fn(&str) -> bool) -> Result<(), ParseError> {
    let invalid = |m: &str| {
        Err(ParseError::Rejected {
            message: format!("failed to build client options: invalid TLS config: {m}"),
        })
    };
    let (cert_data, key_data) = (nonempty("tls-cert-data"), nonempty("tls-key-data"));
    let (cert_path, key_path) = (nonempty("tls-cert-path"), nonempty("tls-key-path"));
    if cert_data != key_data {
        return invalid("if either client cert or key data is present, other must be present too");
    }
    if (cert_path || key_path) && (cert_data || key_data) {
        return invalid("cannot have client key/cert path with data");
    }
    if cert_path != key_path {
        return invalid("if either client cert or key path is present, other must be present too");
    }
    if nonempty("tls-ca-path") && nonempty("tls-ca-data") {
        return invalid("cannot have server CA cert path with data");
    }
    Ok(())
}

fn post_dial(cmd: &Command) -> Result<(), ParseError> {
    let has = |n: &str| cmd.flags.contains_key(n);
    // Whether a flag holds a value other than its type's zero value: the single-or-batch checks
    // test the values (`WorkflowId != ""`, `Yes`, `Rps != 0`), so `-w '' -q X` is a batch, and
    // `-w X -q ''`, `--reason ''`, `--yes=false` and `--rps 0` are as if not given (each checked
    // against the CLI and a dev server).
    let set = |n: &str| cmd.flag(n).is_some_and(|v| !is_zero(v));
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
            if set("workflow-id") {
                if set("query") {
                    return conflict("cannot set query when workflow ID is set");
                }
                if set("reason") && cmd.path != C::WorkflowTerminate {
                    return conflict("cannot set reason when workflow ID is set");
                }
                if set("yes") && cmd.path != C::WorkflowDelete {
                    return conflict("cannot set 'yes' when workflow ID is set");
                }
                if set("rps") {
                    return conflict("cannot set rps when workflow ID is set");
                }
            } else if !set("query") {
                return conflict("must set either workflow ID or query");
            } else if set("run-id") {
                return conflict("cannot set run ID when query is set");
            }
        }
        // What the CLI refuses once connected, before it sends anything: a reset type that
        // only the other form takes (a batch to LastContinuedAsNew makes the CLI panic).
        C::WorkflowReset | C::WorkflowResetWithWorkflowUpdateOptions => {
            match (!cmd.is_batch_job(), cmd.flag_str("type")) {
                (true, Some("BuildId")) => return conflict("invalid reset type: BuildId"),
                (false, Some("LastContinuedAsNew")) => {
                    return conflict(
                        "a batch reset cannot target LastContinuedAsNew (the CLI panics: \
                         unsupported operation type was filtered by cli framework)",
                    );
                }
                _ => {}
            }
        }
        C::ActivityCancel
        | C::ActivityTerminate
        | C::ActivityDelete
        | C::ActivityReset
        | C::ActivityUnpause
        | C::ActivityUpdateOptions => {
            let single = set("activity-id") || set("workflow-id");
            if single == set("query") {
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
            if cmd.path == C::OperatorNamespaceDescribe {
                // The CLI's own test: `default` may be no more than the flag's default when an
                // id is given; a name and an id, or neither (`-n ''`), is refused.
                let id = cmd.flag_str("namespace-id").unwrap_or("");
                let name = match cmd.args.first().map(String::as_str).unwrap_or(flag_ns) {
                    "default" if !id.is_empty() => "",
                    name => name,
                };
                if id.is_empty() == name.is_empty() {
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
