//! `tgate policy lint`: every load error at once, plus rules that can never decide.

use serde::Serialize;

use super::{Context, Decision, PolicyError, Rule, compile, parse_file};
use crate::command::{CommandPath, EffectClass};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy does not load.
    Error,
    /// The policy loads but a rule is dead or misleading.
    Warning,
}

/// One lint finding.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Severity.
    pub severity: Severity,
    /// What is wrong, with file and place.
    pub message: String,
}

fn warning(source: &str, rule: &str, message: String) -> Finding {
    Finding {
        severity: Severity::Warning,
        message: format!("{source}: rule `{rule}`: {message}"),
    }
}

/// Lints one policy file.
pub fn lint(text: &str, source: &str, ctx: &Context) -> Vec<Finding> {
    let error = |e: PolicyError| Finding {
        severity: Severity::Error,
        message: e.to_string(),
    };
    let file = match parse_file(text, source) {
        Ok(f) => f,
        Err(e) => return vec![error(e)],
    };
    let policy = match compile(&file, source, ctx) {
        Ok(p) => p,
        Err(errs) => return errs.into_iter().map(error).collect(),
    };
    let mut out = Vec::new();
    for rule in &policy.rules {
        if let Some(why) = never_matches(rule, &policy.namespaces) {
            out.push(warning(source, &rule.id, format!("can never match: {why}")));
        }
        // `--namespace` as written is not where a command acts: the integration's default when
        // it is absent or empty, the deprecated positional of `operator namespace describe`. A
        // deny rule on it misses those (QA).
        if rule.flags.iter().any(|f| f.name == "namespace") {
            out.push(warning(
                source,
                &rule.id,
                "`flags: {namespace: …}` sees `--namespace` only as written (not the default \
                 namespace a command without it acts in, nor a namespace named another way): \
                 bound namespaces with `when: {namespaces: […]}`"
                    .to_owned(),
            ));
        }
        if rule.decision != Decision::Deny {
            // A pattern that matches the empty text matches every text: unanchored, it is found
            // at the start of any (review: `^`, `INC-[0-9]*|` and `\s*` were lint-clean).
            if let Some(re) = rule.justification.as_ref().filter(|re| re.is_match("")) {
                out.push(warning(
                    source,
                    &rule.id,
                    format!(
                        "the justification pattern `{}` matches any text (it matches the empty \
                         text): anchor what it requires, e.g. `^INC-[0-9]+`",
                        re.as_str()
                    ),
                ));
            }
            for f in &rule.flags {
                if let Some(re) = f.matches_any_value() {
                    out.push(warning(
                        source,
                        &rule.id,
                        format!(
                            "`--{}` must match `{re}`, which any value matches (it matches the \
                             empty text): anchor what it requires, or say `present: true`",
                            f.name
                        ),
                    ));
                }
            }
            // An exclusion on the workflow or activity an allow rule names is met by a batch,
            // which names none: `--query` then reaches the very executions excluded (review).
            let batches: Vec<&str> = reachable(rule)
                .into_iter()
                .filter(|c| c.batch_capable())
                .map(CommandPath::name)
                .collect();
            if rule.batch.is_none() && !batches.is_empty() {
                for f in rule.flags.iter().filter(|f| {
                    matches!(f.name.as_str(), "workflow-id" | "activity-id") && f.excludes_only()
                }) {
                    out.push(warning(
                        source,
                        &rule.id,
                        format!(
                            "`--{}` is only excluded (`not_matches`/`not_in`), which a command \
                             without the flag meets: the batch form (`--query`) of `{}` meets \
                             it, whatever executions it reaches; add `batch: false`",
                            f.name,
                            batches.join("`, `")
                        ),
                    ));
                }
            }
        }
        // A `not_matches` that the empty text matches matches every value: the condition then
        // holds only when the flag is absent (review: `not_matches: '()'` loaded silently).
        for f in &rule.flags {
            if let Some(re) = f.not_matches_any_value() {
                out.push(warning(
                    source,
                    &rule.id,
                    format!(
                        "`--{0}` must not match `{re}`, which every value matches (it matches the \
                         empty text): the rule holds only when `--{0}` is absent",
                        f.name
                    ),
                ));
            }
        }
        // A command named with `batch: false` that is always a batch (`schedule backfill`),
        // among others that are not: the rule never reaches it.
        if rule.batch == Some(false)
            && let Some(set) = &rule.commands
            && reachable(rule).iter().any(|c| !c.always_bulk())
        {
            for c in CommandPath::ALL
                .iter()
                .filter(|c| set[**c as usize] && c.always_bulk())
            {
                out.push(warning(
                    source,
                    &rule.id,
                    format!(
                        "`{}` is always a batch (it starts a workflow per missed action): `batch: false` never matches it",
                        c.name()
                    ),
                ));
            }
        }
        // A command that runs and has subcommands (`workflow reset`) names itself only: a deny
        // or an approval meant for its subcommands too would let them through.
        let Some(set) = rule
            .commands
            .as_ref()
            .filter(|_| rule.decision != Decision::Allow)
        else {
            continue;
        };
        let uncovered = |c: &CommandPath| {
            CommandPath::ALL
                .iter()
                .any(|sub| sub.ancestors().any(|a| a == *c) && !set[*sub as usize])
        };
        for c in CommandPath::ALL
            .iter()
            .filter(|c| set[**c as usize] && c.is_group() && uncovered(c))
        {
            out.push(warning(
                source,
                &rule.id,
                format!(
                    "`{0}` covers that command only, not the commands under it, which this {1} rule lets through: add `{0} *` to cover them too",
                    c.name(),
                    rule.decision
                ),
            ));
        }
    }
    out.extend(batch_escapes(&policy.rules, &policy.namespaces, source));
    // The (command, class) pairs each rule can reach, computed once for the pairwise check: a
    // command's class can depend on its flags (`workflow start` is a write, or destructive
    // with `--id-conflict-policy TerminateExisting`), so commands alone would not do.
    let reach: Vec<Vec<bool>> = policy
        .rules
        .iter()
        .map(|r| {
            let mut set = vec![false; CommandPath::ALL.len() * CLASSES];
            for (c, k) in reachable_pairs(r) {
                set[c as usize * CLASSES + class_index(k)] = true;
            }
            set
        })
        .collect();
    // The strictest matching decision wins whatever the rules' order, so a rule is compared with
    // every other, before and after it.
    for (j, rule) in policy.rules.iter().enumerate() {
        if let Some(stricter) = policy.rules.iter().enumerate().find_map(|(i, e)| {
            (e.decision > rule.decision
                && reach[j]
                    .iter()
                    .zip(&reach[i])
                    .all(|(inner, outer)| !inner || *outer)
                && covers(e, rule))
            .then_some(e)
        }) {
            out.push(warning(
                source,
                &rule.id,
                format!(
                    "shadowed by the stricter rule `{}` ({}): it can never decide",
                    stricter.id, stricter.decision
                ),
            ));
        }
    }
    // Every failing embedded test, as `tgate policy test` lists them (QA: only the first was).
    out.extend(
        policy
            .test_failures(&file, source, ctx)
            .into_iter()
            .map(error),
    );
    out
}

/// Whether a constraint on the execution a command names (`--workflow-id`, `--activity-id`)
/// fails when the flag is absent, as it is in a batch (`--query`), which names none.
fn needs_named_execution(f: &super::FlagConstraint) -> bool {
    matches!(f.name.as_str(), "workflow-id" | "activity-id") && f.check(None).is_err()
}

/// Deny and approval rules bounded by the execution a command names, whose batch form another
/// rule of the file lets through unguarded: `deny terminate -w '^pay-'` beside an allow rule that
/// reaches `workflow terminate --query 'WorkflowId STARTS_WITH "pay-"'` guards nothing, since the
/// batch names no workflow and so escapes the deny. A rule that asks at least as much and reaches
/// the command's batch form wherever the bounded rule applies (`batch: true` with no flag
/// conditions, as the shipped policies' `no-batches`) guards it; a rule whose literal namespaces
/// or callers share none with the bounded rule's lets nothing through to it.
fn batch_escapes(rules: &[Rule], allowlist: &super::NameSet, source: &str) -> Vec<Finding> {
    let placed: Vec<Placed<'_>> = rules
        .iter()
        .map(|rule| Placed {
            rule,
            allowlist,
            source,
        })
        .collect();
    escapes(&placed, false)
}

/// [`batch_escapes`] across files that `tgate run` pools: a rule of one file lets through the
/// batch form that a rule of another bounds (re-check: `policy lint a.yaml b.yaml` was silent
/// where the same rules in one file were warned of). Only what crosses files is reported; each
/// file's own escapes are reported with it.
pub fn pooled_batch_escapes(policies: &[super::Policy]) -> Vec<Finding> {
    let placed: Vec<Placed<'_>> = policies
        .iter()
        .flat_map(|p| {
            p.rules.iter().map(move |rule| Placed {
                rule,
                allowlist: &p.namespaces,
                source: &p.source,
            })
        })
        .collect();
    escapes(&placed, true)
}

/// A rule with its policy's namespace allowlist and file.
struct Placed<'a> {
    rule: &'a Rule,
    allowlist: &'a super::NameSet,
    source: &'a str,
}

impl Placed<'_> {
    /// The namespace conditions that bound where the rule acts, as seen from a rule of `from`:
    /// its own `namespaces`, and its policy's allowlist when the two files differ (within one
    /// file, every rule acts within the same allowlist). None: anywhere the other rule acts.
    fn namespace_bounds(&self, from: &str) -> impl Iterator<Item = &super::NameSet> {
        self.rule
            .namespaces
            .iter()
            .chain((self.source != from).then_some(self.allowlist))
    }
}

fn escapes(rules: &[Placed<'_>], across_files: bool) -> Vec<Finding> {
    // Each rule's commands, once (review: recomputed per pair, 100 + 100 rules took 42 s).
    let reach: Vec<Vec<bool>> = rules
        .iter()
        .map(|p| {
            let mut set = vec![false; CommandPath::ALL.len()];
            for c in reachable(p.rule) {
                set[c as usize] = true;
            }
            set
        })
        .collect();
    let reaches_batch =
        |i: usize, c: CommandPath| rules[i].rule.batch != Some(false) && reach[i][c as usize];
    let mut out = Vec::new();
    for (j, bounded) in rules.iter().enumerate() {
        let rule = bounded.rule;
        if rule.decision == Decision::Allow || rule.batch == Some(true) {
            continue;
        }
        let needed: Vec<&super::FlagConstraint> = rule
            .flags
            .iter()
            .filter(|f| needs_named_execution(f))
            .collect();
        let Some(flag) = needed.first() else {
            continue;
        };
        // A rule with no namespaces acts within its allowlist only.
        let acts_in = Some(rule.namespaces.as_ref().unwrap_or(bounded.allowlist));
        let mut commands: Vec<&str> = Vec::new();
        let mut letters: Vec<String> = Vec::new();
        // Batch-capable commands the rule applies to: a command without the flag never meets
        // a condition that needs it.
        for c in CommandPath::ALL.iter().copied().filter(|c| {
            reach[j][*c as usize]
                && c.batch_capable()
                && needed.iter().all(|f| c.flag(&f.name).is_some())
        }) {
            let guarded = rules.iter().enumerate().any(|(i, d)| {
                reaches_batch(i, c)
                    && asks_as_much(d.rule, rule)
                    && d.rule.flags.is_empty()
                    && d.namespace_bounds(bounded.source)
                        .all(|n| covers_names(Some(n), acts_in))
                    && covers_names(d.rule.callers.as_ref(), rule.callers.as_ref())
                    && d.rule.groups.as_ref().is_none_or(|dg| {
                        rule.groups
                            .as_ref()
                            .is_some_and(|rg| rg.iter().all(|g| dg.contains(g)))
                    })
            });
            if guarded {
                continue;
            }
            let before = letters.len();
            letters.extend(
                rules
                    .iter()
                    .enumerate()
                    .filter(|(i, a)| {
                        (!across_files || a.source != bounded.source)
                            && reaches_batch(*i, c)
                            && !asks_as_much(a.rule, rule)
                            && !a.rule.flags.iter().any(needs_named_execution)
                            && !a
                                .namespace_bounds(bounded.source)
                                .any(|n| apart(Some(n), acts_in))
                            && !apart(a.rule.callers.as_ref(), rule.callers.as_ref())
                    })
                    .map(|(_, a)| {
                        if across_files {
                            format!("`{}` ({})", a.rule.id, a.source)
                        } else {
                            format!("`{}`", a.rule.id)
                        }
                    }),
            );
            if letters.len() > before {
                commands.push(c.name());
            }
        }
        if commands.is_empty() {
            continue;
        }
        letters.sort_unstable();
        letters.dedup();
        out.push(warning(
            bounded.source,
            &rule.id,
            format!(
                "it is bounded by `--{}`, which the batch form (`--query`) of `{}` does not \
                 give, so a batch reaching the same executions escapes it, and {} {} that \
                 form through: add a rule that {} those batches (`batch: true`), or bound \
                 {} with `batch: false`",
                flag.name,
                commands.join("`, `"),
                letters.join(", "),
                if letters.len() == 1 { "lets" } else { "let" },
                if rule.decision == Decision::Deny {
                    "denies"
                } else {
                    "asks as much of"
                },
                if letters.len() == 1 {
                    "that rule"
                } else {
                    "those rules"
                },
            ),
        ));
    }
    out
}

/// Whether rule `d` asks at least what rule `r` does of a command both reach: a stricter
/// decision, or the same one with, for an approval, as many approvals from approvers no wider,
/// valid no longer, and the same justification pattern when `r` asks one (rate limits are not
/// compared).
fn asks_as_much(d: &Rule, r: &Rule) -> bool {
    if d.decision != r.decision {
        return d.decision > r.decision;
    }
    match (&d.approval, &r.approval) {
        (Some(da), Some(ra)) => {
            da.approvals >= ra.approvals
                && da.ttl <= ra.ttl
                && match (&da.approvers, &ra.approvers) {
                    (_, None) => true,
                    (Some(dg), Some(rg)) => dg.iter().all(|g| rg.contains(g)),
                    (None, Some(_)) => false,
                }
                // The same justification asked, or none asked by `r` (re-check).
                && r.justification
                    .as_ref()
                    .is_none_or(|rj| d.justification.as_ref().is_some_and(|dj| dj.as_str() == rj.as_str()))
        }
        _ => true,
    }
}

/// Whether a name condition (`namespaces`, `callers`) `d` holds wherever `r` does: `d` absent or
/// `*`, or each of `r`'s names and globs one that `d` names too, or a name a glob of `d` matches. `$default`
/// is compared as written: which namespace it is, the policy cannot know (re-check: resolved to
/// `default` for lint, it covered a literal `default` that it need not be).
fn covers_names(d: Option<&super::NameSet>, r: Option<&super::NameSet>) -> bool {
    let Some(d) = d else {
        return true;
    };
    if d.written().any(|n| n == "*") {
        return true;
    }
    let Some(r) = r else {
        return false;
    };
    // A glob of `r` is covered by the same glob in `d` (re-check: `pay-*` by `pay-*`), a name by
    // the name or a glob matching it.
    r.written().all(|n| {
        d.written().any(|m| m == n) || (!super::is_glob(n) && n != "$default" && d.glob_matches(n))
    })
}

/// Whether two name conditions can never both hold: literal lists with no name in common,
/// neither naming the default namespace (which may be any of the other's).
fn apart(a: Option<&super::NameSet>, b: Option<&super::NameSet>) -> bool {
    let literal = |s: &super::NameSet| !s.has_globs() && s.written().all(|n| n != "$default");
    match (a, b) {
        (Some(a), Some(b)) => {
            literal(a) && literal(b) && !a.written().any(|n| b.written().any(|m| m == n))
        }
        _ => false,
    }
}

/// The number of effect classes (the index of a (command, class) pair is `command * CLASSES +
/// class_index(class)`).
const CLASSES: usize = 5;

/// A class's place among [`CLASSES`] (a match, so that a new class fails to compile here).
const fn class_index(k: EffectClass) -> usize {
    match k {
        EffectClass::Read => 0,
        EffectClass::Write => 1,
        EffectClass::Destructive => 2,
        EffectClass::Admin => 3,
        EffectClass::Local => 4,
    }
}

/// The commands a rule can apply to once classes are taken into account.
fn reachable(rule: &Rule) -> Vec<CommandPath> {
    super::reached_commands(rule.commands.as_deref(), rule.classes.as_deref())
}

/// Each command a rule can apply to, with each class it can have there.
fn reachable_pairs(rule: &Rule) -> impl Iterator<Item = (CommandPath, EffectClass)> + '_ {
    super::reached(rule.commands.as_deref(), rule.classes.as_deref())
}

fn never_matches(rule: &Rule, allowlist: &super::NameSet) -> Option<String> {
    let reach = reachable(rule);
    if reach.is_empty() {
        return Some("no command has both the listed paths and classes".to_owned());
    }
    if reach.iter().all(|c| c.class() == EffectClass::Local) {
        return Some("local commands are always denied before rules apply".to_owned());
    }
    if reach.iter().all(|c| !c.connects()) {
        return Some("none of its commands connects to a namespace".to_owned());
    }
    match rule.batch {
        Some(false) if reach.iter().all(|c| c.always_bulk()) => {
            return Some(
                "`batch: false`, and its commands are always a batch (`schedule backfill`)"
                    .to_owned(),
            );
        }
        Some(true) if !reach.iter().any(|c| c.batch_capable() || c.always_bulk()) => {
            return Some("`batch: true`, and none of its commands can be a batch".to_owned());
        }
        _ => {}
    }
    for (list, key) in [(&rule.namespaces, "namespaces"), (&rule.callers, "callers")] {
        if list.as_ref().is_some_and(|l| l.patterns().is_empty()) {
            return Some(format!("its `{key}` list is empty"));
        }
    }
    if rule.groups.as_ref().is_some_and(Vec::is_empty) {
        return Some("its `groups` list is empty".to_owned());
    }
    if let Some(why) = rule
        .flags
        .iter()
        .find_map(super::FlagConstraint::never_holds)
    {
        return Some(why);
    }
    if let Some(ns) = &rule.namespaces
        && !ns.has_globs()
        && !ns.patterns().iter().any(|n| allowlist.contains(n))
    {
        return Some(format!(
            "its namespaces ({}) are all outside the policy's namespaces",
            ns.patterns().join(", ")
        ));
    }
    None
}

/// Whether `outer` applies wherever `inner` does, commands aside (the caller compares those): a
/// sound approximation, `false` when unsure.
fn covers(outer: &Rule, inner: &Rule) -> bool {
    let names = |o: &Option<super::NameSet>, i: &Option<super::NameSet>| match (o, i) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(o), Some(i)) => !i.has_globs() && i.patterns().iter().all(|n| o.contains(n)),
    };
    let batch = outer.batch.is_none() || outer.batch == inner.batch;
    let groups = match (&outer.groups, &inner.groups) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(o), Some(i)) => i.iter().all(|g| o.contains(g)),
    };
    names(&outer.namespaces, &inner.namespaces)
        && names(&outer.callers, &inner.callers)
        && batch
        && groups
        && outer.flags.is_empty()
}
