//! Evaluation: the invariants, then every rule, then the strictest decision and its obligations.

use serde::Serialize;

use super::gate::{ApprovalRequirement, RateLimit, Requirements, check_justification_text};
use super::{Decision, PolicySet};
use crate::command::{Command, EffectClass, FlagRole, GoDuration, Target, Value, flag_role};
use crate::lex::{Program, lex_str};

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// Identity (e.g. the agent's name).
    pub id: String,
    /// Groups the caller belongs to.
    pub groups: Vec<String>,
}

impl Caller {
    /// A caller with no groups.
    pub fn new(id: impl Into<String>) -> Caller {
        Caller {
            id: id.into(),
            groups: Vec::new(),
        }
    }
}

/// Caps applied to an allowed command (the smallest of the deciding rules').
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Obligations {
    /// Cap on `--limit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_limit: Option<i64>,
    /// Cap on `--page-size`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_page_size: Option<i64>,
    /// Cap on `--command-timeout`, in nanoseconds.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_duration"
    )]
    pub max_command_timeout: Option<i64>,
}

fn ser_duration<S: serde::Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(ns) => s.serialize_str(&GoDuration(*ns).to_string()),
        None => s.serialize_none(),
    }
}

impl Obligations {
    fn is_empty(&self) -> bool {
        *self == Obligations::default()
    }

    /// Only the caps on flags `cmd` has.
    fn relevant_to(self, cmd: &Command) -> Obligations {
        let has = |name: &str| cmd.path().flag(name).is_some();
        Obligations {
            max_limit: self.max_limit.filter(|_| has("limit")),
            max_page_size: self.max_page_size.filter(|_| has("page-size")),
            max_command_timeout: self.max_command_timeout.filter(|_| has("command-timeout")),
        }
    }

    fn tighten(&mut self, other: &Obligations) {
        fn min(a: Option<i64>, b: Option<i64>) -> Option<i64> {
            match (a, b) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, None) => x,
                (None, y) => y,
            }
        }
        self.max_limit = min(self.max_limit, other.max_limit);
        self.max_page_size = min(self.max_page_size, other.max_page_size);
        self.max_command_timeout = min(self.max_command_timeout, other.max_command_timeout);
    }

    /// The command with the caps applied: a flag over its cap is lowered to it, and an absent
    /// capped flag is inserted (where the command has that flag).
    /// `self` must already be [`Obligations::relevant_to`] `cmd`: every cap names a flag it has.
    fn apply(&self, cmd: &Command) -> Result<Command, String> {
        let mut changes: Vec<(&str, Value)> = Vec::new();
        for (name, cap) in [("limit", self.max_limit), ("page-size", self.max_page_size)] {
            let Some(cap) = cap else { continue };
            // 0 or a negative value means "no limit" to the CLI.
            let over = match cmd.flag(name) {
                Some(Value::Int(v)) => *v <= 0 || *v > cap,
                _ => true,
            };
            if over {
                changes.push((name, Value::Int(cap)));
            }
        }
        if let Some(cap) = self.max_command_timeout {
            let over = match cmd.flag("command-timeout") {
                Some(Value::Duration(d)) => d.0 <= 0 || d.0 > cap,
                _ => true,
            };
            if over {
                changes.push(("command-timeout", Value::Duration(GoDuration(cap))));
            }
        }
        if changes.is_empty() {
            return Ok(cmd.clone());
        }
        cmd.with_flags(&changes).map_err(|e| e.to_string())
    }
}

/// Why one rule did or did not apply (`--explain`).
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// Policy source.
    pub policy: String,
    /// Rule id.
    pub rule: String,
    /// The rule's decision.
    pub decision: Decision,
    /// Whether it applied.
    pub matched: bool,
    /// Why not, or "matched".
    pub why: String,
}

/// The outcome of judging one command.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// Ids of the rules that decided (invariants are `tgate:*`).
    pub rules: Vec<String>,
    /// The reason shown to the caller.
    pub reason: String,
    /// The command path, e.g. `workflow list` (absent when the line did not parse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Target namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Effect class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<EffectClass>,
    /// Whether it acts on many executions: a batch job, or `schedule backfill`.
    pub batch: bool,
    /// Caps applied (allow and require_approval only).
    #[serde(skip_serializing_if = "Obligations::is_empty")]
    pub obligations: Obligations,
    /// Canonical argv of what would run, obligations applied, secrets redacted. Empty when the
    /// line did not parse (then left out of the JSON, as other fields without a value are).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// Every rule and why it matched or not (with `--explain`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explain: Vec<Explanation>,
    /// The command to run (obligations applied); `None` unless allowed or pending approval.
    #[serde(skip)]
    pub effective: Option<Command>,
    /// What must happen before it runs: the approval a `require_approval` decision needs, and
    /// the rate limits of the deciding rules. Empty for a deny.
    #[serde(skip_serializing_if = "Requirements::is_empty")]
    pub requires: Requirements,
}

impl Evaluation {
    fn invariant(cmd: &Command, rule: &str, reason: String) -> Evaluation {
        Evaluation {
            decision: Decision::Deny,
            rules: vec![rule.to_owned()],
            reason,
            command: Some(cmd.path().name().to_owned()),
            namespace: cmd.namespace().map(|n| n.to_string()),
            class: Some(cmd.class()),
            batch: cmd.is_batch(),
            obligations: Obligations::default(),
            argv: cmd.render_redacted(),
            explain: Vec::new(),
            effective: None,
            requires: Requirements::default(),
        }
    }

    /// A line that did not lex or parse: denied, nothing runs.
    pub fn unparsed(reason: String) -> Evaluation {
        Evaluation {
            decision: Decision::Deny,
            rules: vec!["tgate:parse-error".to_owned()],
            reason,
            command: None,
            namespace: None,
            class: None,
            batch: false,
            obligations: Obligations::default(),
            argv: Vec::new(),
            explain: Vec::new(),
            effective: None,
            requires: Requirements::default(),
        }
    }

    /// This evaluation turned into a deny by `rule` (a `tgate:` id) for `reason`: for what the
    /// caller enforces after evaluating, e.g. a rate limit that is used up
    /// (`ev.denied("tgate:rate-limit", err.to_string())`). Nothing runs.
    pub fn denied(mut self, rule: &str, reason: String) -> Evaluation {
        self.decision = Decision::Deny;
        self.rules = vec![rule.to_owned()];
        self.reason = reason;
        self.obligations = Obligations::default();
        self.effective = None;
        self.requires = Requirements::default();
        self
    }
}

impl PolicySet {
    /// Lexes, parses and judges a command line as `tgate run` judges it under an integration
    /// whose default namespace is `default_namespace` (a command naming none runs there; see
    /// [`Command::in_default_namespace`]). A parse error is a deny.
    pub fn check_line(&self, line: &str, caller: &Caller, default_namespace: &str) -> Evaluation {
        self.check_line_justified(line, caller, None, default_namespace)
    }

    /// [`PolicySet::check_line`] with the caller's justification (see
    /// [`PolicySet::evaluate_justified`]).
    pub fn check_line_justified(
        &self,
        line: &str,
        caller: &Caller,
        justification: Option<&str>,
        default_namespace: &str,
    ) -> Evaluation {
        match lex_str(line, &Program::default())
            .map_err(|e| e.to_string())
            .and_then(|argv| Command::parse(&argv).map_err(|e| e.to_string()))
            .and_then(|cmd| {
                cmd.in_default_namespace(default_namespace)
                    .map_err(|e| e.to_string())
            }) {
            Ok(cmd) => self.evaluate_justified(&cmd, caller, justification, false),
            Err(e) => Evaluation::unparsed(e),
        }
    }

    /// Judges a command given without a justification. With `explain`, every rule says why it
    /// matched or not.
    pub fn evaluate(&self, cmd: &Command, caller: &Caller, explain: bool) -> Evaluation {
        self.evaluate_justified(cmd, caller, None, explain)
    }

    /// Judges a command with the justification the caller gave tgate (`--justification TEXT`;
    /// it is not a Temporal flag and never reaches the cluster). When a deciding rule requires a
    /// justification that is missing or does not match its pattern, the command is denied
    /// (`tgate:justification`); so is any justification that is empty, too long or holds a
    /// control character.
    pub fn evaluate_justified(
        &self,
        cmd: &Command,
        caller: &Caller,
        justification: Option<&str>,
        explain: bool,
    ) -> Evaluation {
        let mut ev = self.evaluate_as_written(cmd, caller, justification, explain);
        if ev.decision == Decision::Deny {
            return ev;
        }
        // A command that also does what another command does is not let through more easily
        // than that command: it is judged as both. Where the other is judged more strictly, it
        // is denied; else it needs what the other needs as well: its rate limits, and when both
        // need approval, the approvers of both (re-check QA: a `batch terminate` rule's own
        // approvers stood in for those of `workflow terminate`, and its rate went uncounted).
        for also in also_acts_as(cmd) {
            let other = match Command::parse(&also.argv) {
                Ok(other) => other,
                Err(e) => {
                    let reason = format!(
                        "{}, which cannot be judged as `{}`: {e}",
                        also.why, also.as_written
                    );
                    let mut denied = Evaluation::invariant(cmd, also.rule, reason);
                    denied.explain = ev.explain;
                    return denied;
                }
            };
            let o = self.evaluate_as_written(&other, caller, justification, false);
            if o.decision > ev.decision {
                let how = match o.decision {
                    Decision::Deny => "is denied",
                    _ => "needs approval",
                };
                let reason = format!(
                    "{}, and `{}` {how} here ({}: {})",
                    also.why,
                    also.as_written,
                    o.rules.join(", "),
                    o.reason
                );
                let mut denied = Evaluation::invariant(cmd, also.rule, reason);
                denied.explain = ev.explain;
                return denied;
            }
            let mut carried = false;
            for rate in o.requires.rates {
                if !ev.requires.rates.iter().any(|r| r.key == rate.key) {
                    ev.requires.rates.push(rate);
                    carried = true;
                }
            }
            if let (Some(mine), Some(theirs)) = (&mut ev.requires.approval, &o.requires.approval) {
                mine.tighten(theirs);
                carried = true;
            }
            if carried {
                for rule in o.rules {
                    if !ev.rules.contains(&rule) {
                        ev.rules.push(rule);
                    }
                }
            }
        }
        ev
    }

    /// [`PolicySet::evaluate_justified`] of the command alone.
    fn evaluate_as_written(
        &self,
        cmd: &Command,
        caller: &Caller,
        justification: Option<&str>,
        explain: bool,
    ) -> Evaluation {
        // Invariants no policy can lift.
        if cmd.class() == EffectClass::Local {
            let what = if cmd.is_help() {
                "help output"
            } else {
                "a local command"
            };
            return Evaluation::invariant(
                cmd,
                "tgate:local-command",
                format!(
                    "`{}` is {what}: it never runs through tgate",
                    display_path(cmd)
                ),
            );
        }
        if let Some(name) = cmd
            .flags()
            .keys()
            .find(|n| flag_role(cmd.path(), n) == FlagRole::Pinned)
        {
            let what = if *name == "identity" {
                "names who acts in Temporal's records, which tgate sets (`tgate:<caller>`)"
            } else {
                "sets the connection or configuration, which tgate controls"
            };
            return Evaluation::invariant(
                cmd,
                "tgate:connection-flag",
                format!("`--{name}` {what}"),
            );
        }
        if let Some(reason) = system_endpoint(cmd) {
            return Evaluation::invariant(cmd, "tgate:system-endpoint", reason);
        }
        if cmd.class() != EffectClass::Read
            && let Some(reason) = internal_target(cmd)
        {
            return Evaluation::invariant(cmd, "tgate:internal-workflow", reason);
        }
        if let Target::NamespaceId { namespace_id } = cmd.target() {
            return Evaluation::invariant(
                cmd,
                "tgate:namespace-by-id",
                format!(
                    "namespace id `{namespace_id}` cannot be checked against the allowlist: name the namespace with -n"
                ),
            );
        }
        let ns = cmd.namespace().map(|n| n.to_string()).unwrap_or_default();
        let client_ns = cmd
            .client_namespace()
            .map(|n| n.to_string())
            .unwrap_or_default();

        let facts = super::Facts {
            cmd,
            class: cmd.class(),
            batch: cmd.is_batch(),
            namespace: &ns,
            caller,
        };
        // Rules matched, each with whether its policy holds only one of the command's namespaces.
        let mut matched: Vec<(&super::Rule, bool)> = Vec::new();
        let mut explanations = Vec::new();
        let mut any_policy_covers = false;
        for policy in &self.policies {
            // The namespace the command acts on, then the one the client connects with (they
            // differ for `operator namespace update|delete|describe NAME`). A policy decides a
            // command whose namespaces it holds both of; one that holds either can still make
            // the decision stricter with its approval and deny rules (a command acting on a
            // namespace it guards, from a client connected to another, is within its reach:
            // review, a deny-only policy for `prod` pooled with one allowing admin everywhere
            // was passed by `operator namespace update prod`), but never decides alone: an
            // approval so reached does not replace the denial of a command no policy holds
            // whole (review of that change).
            let outside = [&ns, &client_ns]
                .into_iter()
                .find(|n| !policy.namespaces.contains(n));
            let partial = outside.is_some()
                && [&ns, &client_ns]
                    .into_iter()
                    .any(|n| policy.namespaces.contains(n));
            any_policy_covers |= outside.is_none();
            for rule in &policy.rules {
                let reaches = outside.is_none() || (partial && rule.decision != Decision::Allow);
                let outcome = match outside {
                    Some(n) if !reaches => Err(super::Miss::OutsidePolicy(n)),
                    _ => rule.applies(&facts),
                };
                if explain {
                    explanations.push(Explanation {
                        policy: policy.source.clone(),
                        rule: rule.id.clone(),
                        decision: rule.decision,
                        matched: outcome.is_ok(),
                        why: match &outcome {
                            Ok(()) => "matched".to_owned(),
                            Err(miss) => miss.to_string(),
                        },
                    });
                }
                if outcome.is_ok() {
                    matched.push((rule, outside.is_some()));
                }
            }
        }
        // The decision of the policies that hold the command whole, made stricter (never less
        // strict) by those that hold one of its namespaces; with none of the former, only a
        // denial of the latter decides (it is stricter than the allowlist's own).
        let whole = matched
            .iter()
            .filter(|(_, p)| !p)
            .map(|(r, _)| r.decision)
            .max();
        let partial = matched
            .iter()
            .filter(|(_, p)| *p)
            .map(|(r, _)| r.decision)
            .max();
        let decision = match (whole, partial) {
            (Some(w), p) => Some(p.map_or(w, |p| p.max(w))),
            (None, Some(Decision::Deny)) => Some(Decision::Deny),
            (None, _) => None,
        };
        let matched: Vec<&super::Rule> = matched.into_iter().map(|(r, _)| r).collect();
        let Some(decision) = decision else {
            let (rule, reason) = if any_policy_covers {
                (
                    "tgate:no-rule",
                    format!("no rule allows `{}` in namespace `{ns}`", display_path(cmd)),
                )
            } else {
                let held = |n: &str| self.policies.iter().any(|p| p.namespaces.contains(n));
                let reason = if !held(&ns) {
                    format!("namespace `{ns}` is not in any policy's namespaces")
                } else if !held(&client_ns) {
                    format!(
                        "namespace `{client_ns}`, the one the client connects with, is not in any policy's namespaces"
                    )
                } else {
                    format!(
                        "no policy's namespaces hold both `{ns}`, acted on, and `{client_ns}`, the one the client connects with"
                    )
                };
                ("tgate:namespace-allowlist", reason)
            };
            let mut ev = Evaluation::invariant(cmd, rule, reason);
            ev.explain = explanations;
            return ev;
        };
        let deciding: Vec<&super::Rule> = matched
            .into_iter()
            .filter(|r| r.decision == decision)
            .collect();
        let mut ev = Evaluation::invariant(cmd, "", deciding[0].reason.clone());
        ev.decision = decision;
        ev.rules = deciding.iter().map(|r| r.id.clone()).collect();
        ev.explain = explanations;
        if decision == Decision::Deny {
            return ev;
        }
        // Local-file flags need a deciding rule that allows each of their paths.
        if let Some(reason) = local_file_problem(cmd, &deciding) {
            let mut denied = Evaluation::invariant(cmd, "tgate:local-files", reason);
            denied.explain = ev.explain;
            return denied;
        }
        if let Some(reason) = justification_problem(&deciding, justification) {
            let mut denied = Evaluation::invariant(cmd, "tgate:justification", reason);
            denied.explain = ev.explain;
            return denied;
        }
        let mut obligations = Obligations::default();
        for r in &deciding {
            obligations.tighten(&r.obligations);
        }
        let obligations = obligations.relevant_to(cmd);
        match obligations.apply(cmd) {
            Ok(effective) => {
                ev.argv = effective.render_redacted();
                ev.effective = Some(effective);
                ev.obligations = obligations;
                ev.requires = Requirements {
                    approval: (decision == Decision::RequireApproval).then(|| {
                        ApprovalRequirement::combine(
                            deciding.iter().filter_map(|r| r.approval.as_ref()),
                        )
                    }),
                    rates: deciding
                        .iter()
                        .filter_map(|r| r.rate.map(|rate| RateLimit::new(&r.id, rate, &caller.id)))
                        .collect(),
                };
                ev
            }
            Err(e) => {
                let mut denied = Evaluation::invariant(
                    cmd,
                    "tgate:obligation-failed",
                    format!("an obligation could not be applied: {e}"),
                );
                denied.explain = ev.explain;
                denied
            }
        }
    }
}

/// Another command whose effect `cmd` has too, by which it is judged as well.
struct AlsoActsAs {
    /// The other command's argv.
    argv: Vec<String>,
    /// It, as shown in the reason.
    as_written: String,
    /// What `cmd` does that the other does.
    why: String,
    /// The invariant's id when the other is judged more strictly.
    rule: &'static str,
}

/// The commands `cmd` also acts as:
/// - `batch terminate --job-id X` terminates the workflow X, whatever it is: the server does not
///   check that X is a batch job (QA: an ordinary workflow was terminated through a rule allowing
///   `batch terminate`, past the approval its `workflow terminate` needed): `workflow terminate
///   -w X` (its namespace and reason);
/// - `workflow signal-with-start -w X` signals X when it is running (the default id conflict
///   policy uses the running workflow; QA): `workflow signal -w X --name N`, with its input
///   (`--signal-input` as `--input`...: re-check QA, a rule on signals' input was sidestepped);
/// - `workflow start-update-with-start` and `execute-update-with-start -w X` update X when it is
///   running: `workflow update execute -w X --name N`, with its input and update id;
/// - a start of `-w X` with `--id-conflict-policy TerminateExisting` or `--id-reuse-policy
///   TerminateIfRunning` terminates X when it runs (re-check QA: a signal-with-start ended a
///   workflow no rule let the agent terminate): `workflow terminate -w X`; so does a Nexus
///   operation's start: `nexus operation terminate --operation-id X` (a standalone activity's
///   start takes no `TerminateExisting` in 1.9.1; its `TerminateIfRunning` reuse policy would
///   be judged as `activity terminate --activity-id X`).
fn also_acts_as(cmd: &Command) -> Vec<AlsoActsAs> {
    use crate::command::CommandPath as P;
    let mut all = Vec::new();
    let id = |flag: &str| cmd.flag_str(flag).map(str::to_owned);
    let also = match cmd.path() {
        P::BatchTerminate => id("job-id").map(|job| {
            let mut other = owned(&["workflow", "terminate", "--workflow-id", &job]);
            if let Some(reason) = cmd.flag_str("reason") {
                other.extend(["--reason".to_owned(), reason.to_owned()]);
            }
            let why = format!(
                "`batch terminate --job-id {job}` terminates the workflow `{job}` whatever it is (the server does not check that it is a batch job)"
            );
            (other, Vec::new(), "tgate:batch-job-id", why)
        }),
        P::WorkflowSignalWithStart => id("workflow-id").map(|wf| {
            let name = cmd.flag_str("signal-name").unwrap_or_default();
            let other = owned(&["workflow", "signal", "--workflow-id", &wf, "--name", name]);
            let why = format!(
                "`workflow signal-with-start -w {wf}` signals the workflow `{wf}` when it is running"
            );
            let carried = carried(cmd, "signal-", P::WorkflowSignal, &["signal-name"]);
            (other, carried, "tgate:signal-with-start", why)
        }),
        P::WorkflowStartUpdateWithStart | P::WorkflowExecuteUpdateWithStart => {
            id("workflow-id").map(|wf| {
                let name = cmd.flag_str("update-name").unwrap_or_default();
                let other = owned(&[
                    "workflow",
                    "update",
                    "execute",
                    "--workflow-id",
                    &wf,
                    "--name",
                    name,
                ]);
                let why = format!(
                    "`{}` with `-w {wf}` updates the workflow `{wf}` when it is running",
                    display_path(cmd).trim_start_matches("temporal ")
                );
                let carried = carried(
                    cmd,
                    "update-",
                    P::WorkflowUpdateExecute,
                    &["update-name", "update-wait-for-stage"],
                );
                (other, carried, "tgate:update-with-start", why)
            })
        }
        _ => None,
    };
    all.extend(also);
    // What a start ends when it terminates the execution running under its id, and by which
    // flag it names it (review: standalone activities and Nexus operations have the same
    // policies).
    let ended: Option<(&[&str], &str, &str)> = match cmd.path() {
        p if p.starts_a_workflow() => Some((&["workflow", "terminate"], "workflow-id", "workflow")),
        P::ActivityStart | P::ActivityExecute => {
            Some((&["activity", "terminate"], "activity-id", "activity"))
        }
        P::NexusOperationStart | P::NexusOperationExecute => Some((
            &["nexus", "operation", "terminate"],
            "operation-id",
            "Nexus operation",
        )),
        _ => None,
    };
    let ending = ["id-conflict-policy", "id-reuse-policy"]
        .into_iter()
        .find_map(|flag| {
            cmd.flag_str(flag)
                .filter(|v| crate::command::ends_others(flag, v))
                .map(|v| format!("--{flag} {v}"))
        });
    if let (Some((words, flag, what)), Some(ending)) = (ended, ending)
        && let Some(target) = id(flag)
    {
        let mut other = owned(words);
        other.extend([format!("--{flag}"), target.clone()]);
        let written = shown(&other[words.len()..]);
        let why = format!(
            "`{}` with `{written}` and `{ending}` terminates the {what} `{target}` when it is running",
            display_path(cmd).trim_start_matches("temporal ")
        );
        all.push((other, Vec::new(), "tgate:terminates-existing", why));
    }
    all.into_iter()
        .map(|(other, carried, rule, why)| {
            let as_written = shown(&other);
            let mut argv = vec!["temporal".to_owned()];
            argv.extend(other);
            argv.extend(carried);
            if let Some(ns) = cmd.flag_str("namespace") {
                argv.extend(["--namespace".to_owned(), ns.to_owned()]);
            }
            AlsoActsAs {
                argv,
                as_written,
                why,
                rule,
            }
        })
        .collect()
}

/// The flags of `cmd` that `other` has too, as `other`'s argv words: `prefix` + a name of
/// `other`'s (`--signal-input` as `--input`, `--update-id` as `--update-id`), except `skip`. The
/// start's own flags are not carried, though `other` may have flags of the same names (the
/// workflow's `--input` is not the signal's: review).
fn carried(
    cmd: &Command,
    prefix: &str,
    other: crate::command::CommandPath,
    skip: &[&str],
) -> Vec<String> {
    let has = |name: &str| other.flag(name).is_some();
    let mut words = Vec::new();
    for (name, value) in cmd.flags() {
        if skip.contains(name) {
            continue;
        }
        let target = match name.strip_prefix(prefix) {
            Some(rest) if has(rest) => rest,
            Some(_) if has(name) => *name,
            _ => continue,
        };
        match value {
            Value::Bool(true) => words.push(format!("--{target}")),
            Value::Bool(false) => {}
            other => words.extend(
                other
                    .render_scalar()
                    .into_iter()
                    .map(|v| format!("--{target}={v}")),
            ),
        }
    }
    words
}

/// Argv words as a reason shows them: `--workflow-id` as `-w`, an empty word or one with a space
/// quoted.
fn shown(words: &[String]) -> String {
    words
        .iter()
        .map(|w| match w.as_str() {
            "--workflow-id" => "-w".to_owned(),
            w if w.is_empty() || w.contains(' ') => format!("{w:?}"),
            w => w.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn owned(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// Why the command's Nexus endpoint may not be called, if it may not: a name beginning with `__`,
/// the prefix of Temporal's own endpoints. Newer servers answer `__temporal_system` with
/// operations of the workflow service itself (a signal-with-start among them) whose workflow,
/// type and signal are in the operation's input, out of reach of every check tgate makes of
/// workflow commands (QA: `nexus operation start --endpoint __temporal_system` was judged as any
/// Nexus operation). A user's endpoint cannot be named so.
fn system_endpoint(cmd: &Command) -> Option<String> {
    let endpoint = cmd.flag_str("endpoint")?;
    endpoint.starts_with("__").then(|| {
        format!(
            "Nexus endpoint `{endpoint}` is one of Temporal's own: its operations act on workflows \
             beyond what tgate can check"
        )
    })
}

/// Why `cmd`, a command that changes something, would act on or as one of the workflows Temporal
/// runs for itself, if it would. Temporal runs schedules, batch jobs and worker deployments as
/// workflows of its own: a signal, update, reset, start or end of one changes what it manages,
/// past every rule about the commands made for that (QA: a signal to a schedule's workflow
/// backfilled 60 runs where `schedule backfill` was denied). Caught here, from the command alone:
/// - a `--workflow-id` of Temporal's (`temporal-sys-scheduler:NAME`...);
/// - a `--type`, `--task-queue` or `--target-task-queue` of Temporal's: a start, or a schedule,
///   would run one of its workflows (a batch job's, with the input the agent gives it), on its
///   own workers;
/// - a `--search-attribute` (or `--schedule-search-attribute`) naming `TemporalNamespaceDivision`:
///   a workflow started with it passes for one of Temporal's own (re-check QA: one marked
///   `TemporalBatcher` counted as a running batch job, and the namespace's next batch was refused
///   for `Max concurrent batch operations`; visibility queries then leave it out);
/// - a batch whose `--query` names `TemporalNamespaceDivision`: the server keeps Temporal's own
///   workflows out of a visibility query unless the query names that field (re-check QA: a batch
///   reset with `TemporalNamespaceDivision IS NOT NULL` reached them). Any mention is refused,
///   however it is quoted or cased: a query that merely compares the field has no business in
///   an agent's batch either.
///
/// A batch job's own workflow has an ordinary id (a UUID): `tgate run` checks the workflow's
/// type before a write to it ([`INTERNAL_WORKFLOW_PREFIX`]).
fn internal_target(cmd: &Command) -> Option<String> {
    for (flag, what) in [
        ("workflow-id", "workflow"),
        ("type", "workflow type"),
        ("task-queue", "task queue"),
        ("target-task-queue", "task queue"),
    ] {
        let Some(value) = cmd.flag(flag) else {
            continue;
        };
        if let Some(v) = value
            .strs()
            .into_iter()
            .find(|v| v.starts_with(INTERNAL_WORKFLOW_PREFIX))
        {
            return Some(format!(
                "{what} `{v}` is one of Temporal's own (it runs a schedule, a batch job or a worker deployment): use the command made for what it manages"
            ));
        }
    }
    let names_division = |text: &str| {
        text.to_ascii_lowercase()
            .contains(&DIVISION_FIELD.to_ascii_lowercase())
    };
    if cmd.flag_str("query").is_some_and(names_division) {
        return Some(format!(
            "the query names `{DIVISION_FIELD}`, which opens it to the workflows Temporal runs for itself (schedules, batch jobs, worker deployments)"
        ));
    }
    cmd.flags()
        .iter()
        .filter(|(name, _)| name.ends_with("search-attribute"))
        .find(|(_, value)| value.strs().into_iter().any(names_division))
        .map(|(name, _)| {
            format!(
                "`--{name}` names `{DIVISION_FIELD}`, which marks the workflows Temporal runs for itself: one so marked passes for one of them (a batch job's holds a slot of the namespace's few, and every query leaves it out)"
            )
        })
}

/// The search attribute that marks Temporal's own workflows; a visibility query leaves them out
/// unless it names it.
const DIVISION_FIELD: &str = "TemporalNamespaceDivision";

/// How the ids of the workflows Temporal runs for itself begin (`temporal-sys-scheduler:`,
/// `temporal-sys-worker-deployment:`...).
pub const INTERNAL_WORKFLOW_PREFIX: &str = "temporal-sys-";

/// Why the justification does not satisfy the deciding rules, if it does not.
fn justification_problem(deciding: &[&super::Rule], justification: Option<&str>) -> Option<String> {
    if let Some(text) = justification
        && let Err(e) = check_justification_text(text)
    {
        return Some(e);
    }
    for rule in deciding {
        let Some(re) = &rule.justification else {
            continue;
        };
        match justification {
            None => {
                return Some(format!(
                    "rule `{}` requires a justification matching `{re}`: give one with `--justification TEXT`",
                    rule.id
                ));
            }
            Some(text) if !re.is_match(text) => {
                return Some(format!(
                    "the justification `{text}` does not match `{re}`, which rule `{}` requires",
                    rule.id
                ));
            }
            Some(_) => {}
        }
    }
    None
}

fn display_path(cmd: &Command) -> String {
    let n = cmd.path().name();
    if n.is_empty() {
        "temporal".to_owned()
    } else {
        format!("temporal {n}")
    }
}

/// Why a local-file flag of `cmd` is not allowed, if one is not: each path it gives must be an
/// absolute path of plain names inside a directory one of the deciding rules lists for that flag.
/// (The CLI executor then refuses a path that resolves through a symbolic link, so the file read
/// is the one judged.)
fn local_file_problem(cmd: &Command, deciding: &[&super::Rule]) -> Option<String> {
    for (name, value) in cmd.flags() {
        if !matches!(
            flag_role(cmd.path(), name),
            FlagRole::ReadsFile | FlagRole::WritesFile
        ) {
            continue;
        }
        let dirs: Vec<&std::path::PathBuf> = deciding
            .iter()
            .flat_map(|r| r.allow_file_flags.iter())
            .filter(|(f, _)| f == name)
            .flat_map(|(_, d)| d)
            .collect();
        if dirs.is_empty() {
            return Some(format!(
                "`--{name}` makes the CLI touch a local file, and no deciding rule allows it"
            ));
        }
        for path in value.strs() {
            let inside = super::plain_absolute(path)
                && dirs.iter().any(|d| {
                    let p = std::path::Path::new(path);
                    p.starts_with(d) && p != d.as_path()
                });
            if !inside {
                let list: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
                return Some(format!(
                    "`--{name} {path}` is not an absolute path (without `.` or `..`) inside {}",
                    list.join(", ")
                ));
            }
        }
    }
    None
}
