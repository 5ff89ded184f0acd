//! Policy: YAML rules written by security teams decide whether a typed [`Command`] is allowed,
//! denied or needs a human's approval.
//!
//! Guarantees:
//! - **Deny by default.** When no rule matches, the command is denied. The strictest matching
//!   decision wins (deny > require_approval > allow); [`Decision`] is ordered so `max` picks it.
//! - **Invariants no policy can lift**, checked before any rule: connection and configuration flags
//!   are denied (tgate injects the connection); `local` commands (servers, config and env files,
//!   completion, history rewriting, help) are denied; a namespace named only by id is denied; and a
//!   flag that makes the CLI read or write a local file is denied unless the deciding rule allows
//!   that flag by name.
//! - **Namespaces bound everything.** A policy's rules apply only to commands whose target and
//!   client namespaces are both in that policy's allowlist.
//! - Rules match the parsed command (path, class, namespace, batch, typed flag values) and the
//!   caller, never the raw text.
//! - A policy that does not load (unknown key, bad regex or glob, unknown command or flag, failing
//!   embedded test) is an error, never a partial policy.

mod eval;
mod file;
mod gate;
mod lint;
mod tested;

use std::fmt;

use globset::{Glob, GlobMatcher};
use regex::Regex;
use serde::Serialize;

use crate::command::{Command, CommandPath, EffectClass, FlagType, Value};
use crate::lex::NameProblem;
pub use eval::{Caller, Evaluation, Explanation, INTERNAL_WORKFLOW_PREFIX, Obligations};
pub use file::PolicyFile;
pub use gate::{
    ApprovalRequirement, DEFAULT_APPROVAL_TTL, MAX_JUSTIFICATION_CHARS, RateLimit, RatePer,
    RateWindow, Requirements, check_justification_text,
};
pub use lint::{Finding, Severity, lint, pooled_batch_escapes};
pub use tested::{MAX_MARKERS, TestedCache};

/// What happens to a command. Ordered from most to least permissive, so the strictest of several
/// decisions is their `max`. Deliberately not `#[non_exhaustive]`: a new kind of decision must
/// break every `match`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Run it.
    Allow,
    /// Run it once a human approves.
    RequireApproval,
    /// Refuse it.
    Deny,
}

impl Decision {
    /// As written in policies and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::RequireApproval => "require_approval",
            Decision::Deny => "deny",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<file::DecisionSpec> for Decision {
    fn from(d: file::DecisionSpec) -> Self {
        match d {
            file::DecisionSpec::Allow => Decision::Allow,
            file::DecisionSpec::Deny => Decision::Deny,
            file::DecisionSpec::RequireApproval => Decision::RequireApproval,
        }
    }
}

/// Why a policy did not load.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Not YAML of the expected shape (unknown key, wrong type...).
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// File name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Well-formed but wrong (bad regex, unknown command...).
    #[error("{file}: {place}: {message}")]
    Invalid {
        /// File name.
        file: String,
        /// `rule \`id\`` or `policy`.
        place: String,
        /// What is wrong.
        message: String,
    },
    /// An embedded test does not hold.
    #[error("{file}: test {index} `{command}`: expected {expected}, got {got}")]
    TestFailed {
        /// File name.
        file: String,
        /// 1-based test number.
        index: usize,
        /// The test's command line.
        command: String,
        /// Expected decision (and rule).
        expected: String,
        /// Actual decision (and rules).
        got: String,
    },
}

/// Values a policy is compiled against.
#[derive(Clone, Debug)]
pub struct Context {
    /// What `$default` means in namespace lists: the integration's default namespace.
    pub default_namespace: String,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            default_namespace: "default".to_owned(),
        }
    }
}

/// A compiled glob. The common one-star shapes (`team-*`, `*-prod`, `a*b`) are matched by prefix
/// and suffix; anything else goes to `globset`.
#[derive(Clone, Debug)]
enum Pattern {
    Star { prefix: String, suffix: String },
    Glob(GlobMatcher),
}

impl Pattern {
    fn is_match(&self, name: &str) -> bool {
        match self {
            Pattern::Star { prefix, suffix } => {
                name.len() >= prefix.len() + suffix.len()
                    && name.starts_with(prefix.as_str())
                    && name.ends_with(suffix.as_str())
            }
            Pattern::Glob(g) => g.is_match(name),
        }
    }
}

/// Checks group names as `tgate run --group` checks them (readable, no spaces around), and that
/// none starts with `$`: groups have no placeholder (QA re-check: `groups: [$default]` loaded as
/// a group of that name, where `callers: [$default]` is refused).
pub(crate) fn group_names(groups: &[String]) -> Result<(), String> {
    for g in groups {
        no_placeholder(g, "groups")?;
        readable_name(g, 200)?;
    }
    Ok(())
}

/// A name in a list that has no placeholder (`callers`, `groups`): one starting with `$` is
/// refused rather than read as a name of that spelling.
fn no_placeholder(name: &str, list: &str) -> Result<(), String> {
    if name.starts_with('$') {
        return Err(format!(
            "`{}`: {list} have no placeholders (`$default` names the default namespace, in \
             namespace lists only)",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// A name the lexer would take on a command line (no invisible or control character), without
/// spaces around it: one that could never match what it looks like is refused.
fn readable_name(name: &str, max: usize) -> Result<(), String> {
    match crate::lex::check_name("name", name, max) {
        Ok(()) => Ok(()),
        Err(NameProblem::Unreadable(e)) => Err(format!("`{}`: {e}", name.escape_debug())),
        Err(NameProblem::Padded) => Err(format!("`{}` has spaces around it", name.escape_debug())),
    }
}

/// What a [`NameSet`] holds: namespaces (where `$default` stands for the integration's default
/// namespace) or callers (no placeholder).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Names {
    Namespaces,
    Callers,
}

/// Whether a written namespace or caller pattern is a glob (`$default` never is).
pub(crate) fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

/// Exact names and globs.
#[derive(Clone, Debug)]
pub(crate) struct NameSet {
    patterns: Vec<String>,
    exact: Vec<String>,
    globs: Vec<Pattern>,
    /// The index in `patterns` of the name `$default` stood for.
    placeholder: Option<usize>,
}

impl NameSet {
    fn empty() -> NameSet {
        NameSet {
            patterns: Vec::new(),
            exact: Vec::new(),
            globs: Vec::new(),
            placeholder: None,
        }
    }

    /// The names as written: `$default` where it stood for the default namespace, whose name
    /// the policy cannot know (lint compares rules by these).
    pub(crate) fn written(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().enumerate().map(|(i, p)| {
            if Some(i) == self.placeholder {
                "$default"
            } else {
                p.as_str()
            }
        })
    }

    /// Whether one of the globs matches `name`.
    pub(crate) fn glob_matches(&self, name: &str) -> bool {
        self.globs.iter().any(|g| g.is_match(name))
    }

    /// Among callers no `$`-name is read (QA: `callers: [$default]` matched a caller whose id
    /// was the default namespace's name).
    fn compile(patterns: &[String], ctx: &Context, names: Names) -> Result<NameSet, String> {
        let mut set = NameSet::empty();
        for p in patterns {
            if names == Names::Callers {
                no_placeholder(p, "callers")?;
            }
            // `$default` is a namespace, never a pattern: a glob character in it (a
            // misconfiguration) matches itself only.
            let literal = p == "$default";
            let p = if literal {
                ctx.default_namespace.clone()
            } else {
                p.clone()
            };
            if p.is_empty() {
                return Err("empty name".to_owned());
            }
            // `$default` is the one placeholder; `$Default` or `$defualt` would otherwise stand
            // for a namespace of that name, which none can have, and a deny rule meant for the
            // default namespace would never apply (QA).
            if !literal && p.starts_with('$') {
                return Err(format!(
                    "`{}` is no placeholder: the only one is `$default`",
                    p.escape_debug()
                ));
            }
            readable_name(&p, 1000)?;
            // No namespace the CLI can name holds a character past ASCII (it sends the namespace
            // in a gRPC header): such an entry never matches, and a deny rule bounded by one
            // (`prоd`, a Cyrillic `о`) would never apply (review).
            if let Some(c) = p
                .chars()
                .find(|c| !c.is_ascii())
                .filter(|_| names == Names::Namespaces)
            {
                return Err(format!(
                    "`{}` holds `{c}` ({}), which is not ASCII: no namespace can hold it (the \
                     Temporal CLI sends the namespace in a gRPC header, which takes ASCII only)",
                    p.escape_debug(),
                    c.escape_unicode()
                ));
            }
            if !literal && is_glob(&p) {
                let glob = Glob::new(&p).map_err(|e| format!("invalid glob `{p}`: {e}"))?;
                let one_star = p.matches('*').count() == 1 && !p.contains(['?', '[', '{', '\\']);
                set.globs.push(match p.split_once('*') {
                    Some((prefix, suffix)) if one_star => Pattern::Star {
                        prefix: prefix.to_owned(),
                        suffix: suffix.to_owned(),
                    },
                    _ => Pattern::Glob(glob.compile_matcher()),
                });
            } else {
                set.exact.push(p.clone());
            }
            if literal {
                set.placeholder = Some(set.patterns.len());
            }
            set.patterns.push(p);
        }
        Ok(set)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.exact.iter().any(|e| e == name) || self.globs.iter().any(|g| g.is_match(name))
    }

    pub(crate) fn patterns(&self) -> &[String] {
        &self.patterns
    }

    pub(crate) fn has_globs(&self) -> bool {
        !self.globs.is_empty()
    }
}

/// A compiled flag constraint.
#[derive(Clone, Debug)]
pub(crate) struct FlagConstraint {
    pub(crate) name: String,
    present: Option<bool>,
    matches: Option<Regex>,
    not_matches: Option<Regex>,
    one_of: Option<Vec<String>>,
    not_in: Option<Vec<String>>,
    min: Option<f64>,
    max: Option<f64>,
    /// Whether the rule is a deny or require_approval rule: a value that means no bound (`--limit
    /// 0`) then satisfies `min` and `max`, where an allow rule's never admits it; and one element
    /// of an array flag that satisfies the constraint is enough, where an allow rule needs every
    /// element to.
    gate: bool,
}

impl FlagConstraint {
    /// Why no value (nor absence) can satisfy the constraint, if none can: an empty `in`, `min`
    /// above `max`, or `present: false` with a condition on the value.
    pub(crate) fn never_holds(&self) -> Option<String> {
        let n = &self.name;
        if self.one_of.as_ref().is_some_and(Vec::is_empty) {
            return Some(format!("--{n}: its `in` list is empty"));
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            return Some(format!("--{n}: its `min` is above its `max`"));
        }
        let needs_value = self.matches.is_some()
            || self.one_of.is_some()
            || self.min.is_some()
            || self.max.is_some();
        if self.present == Some(false) && needs_value {
            return Some(format!(
                "--{n}: `present: false` and a condition on its value"
            ));
        }
        None
    }

    /// Whether only exclusions (`not_matches`, `not_in`) bound the value, so that the flag left
    /// out satisfies the constraint.
    pub(crate) fn excludes_only(&self) -> bool {
        (self.not_matches.is_some() || self.not_in.is_some())
            && self.present != Some(true)
            && self.matches.is_none()
            && self.one_of.is_none()
            && self.min.is_none()
            && self.max.is_none()
    }

    /// The `matches` regex, when it matches the empty text and so any value (`^`, `x|`, `.*`).
    pub(crate) fn matches_any_value(&self) -> Option<&str> {
        self.matches
            .as_ref()
            .filter(|re| re.is_match(""))
            .map(Regex::as_str)
    }

    /// The `not_matches` regex, when it matches the empty text and so any value.
    pub(crate) fn not_matches_any_value(&self) -> Option<&str> {
        self.not_matches
            .as_ref()
            .filter(|re| re.is_match(""))
            .map(Regex::as_str)
    }

    /// Whether `value` (absent = `None`) satisfies the constraint; `Err` says why not.
    pub(crate) fn check(&self, value: Option<&Value>) -> Result<(), String> {
        let n = &self.name;
        let Some(value) = value else {
            if self.present == Some(true)
                || self.matches.is_some()
                || self.one_of.is_some()
                || self.min.is_some()
                || self.max.is_some()
            {
                return Err(format!("--{n} is not set"));
            }
            return Ok(());
        };
        if self.present == Some(false) {
            return Err(format!("--{n} is set"));
        }
        // The CLI reads an int flag as a 64-bit int and puts many into 32-bit request fields,
        // where Go's conversion wraps: `--priority-key 4294967297` is sent as 1,
        // `--retry-maximum-attempts 4294967296` as 0, which means unlimited (security QA). A
        // value outside the 32-bit range is judged both ways, by every condition (`min`/`max`,
        // `in`, `matches`...): an allow rule must admit both readings, a gate rule catches
        // either.
        if let Value::Int(i) = value
            && i64::from(*i as i32) != *i
        {
            let w = *i as i32;
            let raw = self.check_value(value);
            let sent = self.check_value(&Value::Int(i64::from(w))).map_err(|e| {
                format!("--{n} {i} is sent as {w} (the CLI may wrap it to 32 bits), and {e}")
            });
            return if self.gate {
                raw.or(sent)
            } else {
                raw.and(sent)
            };
        }
        self.check_value(value)
    }

    /// [`FlagConstraint::check`] of a value that is set, as it is.
    fn check_value(&self, value: &Value) -> Result<(), String> {
        let n = &self.name;
        let texts = texts(value);
        if self.gate && texts.len() > 1 {
            // A deny or approval rule is about a value: one that it catches is not hidden by
            // harmless values added beside it (QA: `--search-attribute 'X="y"'` added to the
            // `Env="prod"` a deny rule matched made the start allowed).
            let mut why_not = None;
            for text in &texts {
                match self.check_text(text) {
                    Ok(()) => {
                        why_not = None;
                        break;
                    }
                    Err(e) => {
                        why_not.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = why_not {
                return Err(format!("no --{n} value holds ({e})"));
            }
        } else {
            for text in &texts {
                self.check_text(text)?;
            }
        }
        if self.min.is_some() || self.max.is_some() {
            let v = number(value).ok_or_else(|| format!("--{n} is not a number"))?;
            self.bounds(v)?;
        }
        Ok(())
    }
}

impl FlagConstraint {
    /// Whether the number `v` is within `min` and `max`; `Err` says why not.
    fn bounds(&self, v: f64) -> Result<(), String> {
        let n = &self.name;
        let shown = format!("--{n} {v}");
        // `--limit 0` and the like mean no bound, which no numeric bound describes: outside
        // every numeric permission (an allow rule's `min` or `max` never admits it) and inside
        // every numeric prohibition (a deny or approval rule's always catches it).
        if crate::command::unbounded_value(n, v) {
            if self.gate {
                return Ok(());
            }
            return Err(format!(
                "{shown} means no bound, which an allow rule's `min`/`max` never admits"
            ));
        }
        if let Some(min) = self.min
            && v < min
        {
            return Err(format!("{shown} is below {min}"));
        }
        if let Some(max) = self.max
            && v > max
        {
            return Err(format!("{shown} is above {max}"));
        }
        Ok(())
    }

    /// Whether one textual value (an array's element) satisfies the constraint's conditions on
    /// text; `Err` says why not.
    fn check_text(&self, text: &str) -> Result<(), String> {
        let n = &self.name;
        if let Some(re) = &self.matches
            && !re.is_match(text)
        {
            return Err(format!("--{n} `{text}` does not match `{re}`"));
        }
        if let Some(re) = &self.not_matches
            && re.is_match(text)
        {
            return Err(format!("--{n} `{text}` matches `{re}`"));
        }
        if let Some(set) = &self.one_of
            && !set.iter().any(|v| v == text)
        {
            return Err(format!("--{n} `{text}` is not one of {}", set.join(", ")));
        }
        if let Some(set) = &self.not_in
            && set.iter().any(|v| v == text)
        {
            return Err(format!("--{n} `{text}` is excluded"));
        }
        Ok(())
    }
}

/// The textual values of a flag value (one per array element).
fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::Bool(b) => vec![b.to_string()],
        Value::Int(i) => vec![i.to_string()],
        Value::Float(f) => vec![f.0.to_string()],
        Value::Str(s) | Value::Timestamp(s) => vec![s.clone()],
        Value::StrArray(items) => items.clone(),
        Value::Enum(e) => vec![(*e).to_owned()],
        Value::EnumArray(items) => items.iter().map(|s| (*s).to_owned()).collect(),
        Value::Duration(d) => vec![d.to_string()],
    }
}

/// Why `v`, listed in `in`/`not_in`, can never equal the text [`texts`] gives flag `f`'s value.
fn unmatchable(f: &crate::command::FlagSpec, v: &str) -> Option<String> {
    match f.ty {
        FlagType::Enum | FlagType::EnumArray => {
            (!f.values.iter().chain(f.legacy_values).any(|x| *x == v))
                .then(|| format!("`{v}` is not one of its values ({})", f.values.join(", ")))
        }
        FlagType::Bool => (v != "true" && v != "false")
            .then(|| format!("`{v}`: a bool is compared as `true` or `false`")),
        FlagType::Int => match v.parse::<i64>() {
            Ok(i) if i.to_string() == v => None,
            _ => Some(format!(
                "`{v}` is not a decimal integer, as values are compared"
            )),
        },
        FlagType::Duration => match crate::command::parse_duration(v) {
            Ok(ns) => {
                let canonical = crate::command::GoDuration(ns).to_string();
                (canonical != v).then(|| format!("`{v}` is compared as `{canonical}`: write that"))
            }
            Err(e) => Some(format!("`{v}`: {e}")),
        },
        _ => None,
    }
}

/// The numeric value of int, float and duration (nanoseconds) flags.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(f64::from(f.0)),
        Value::Duration(d) => Some(d.0 as f64),
        _ => None,
    }
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub(crate) id: String,
    pub(crate) decision: Decision,
    pub(crate) reason: String,
    /// Indexed by `CommandPath as usize`; `None` = any command.
    pub(crate) commands: Option<Vec<bool>>,
    pub(crate) classes: Option<Vec<EffectClass>>,
    pub(crate) namespaces: Option<NameSet>,
    pub(crate) batch: Option<bool>,
    pub(crate) callers: Option<NameSet>,
    pub(crate) groups: Option<Vec<String>>,
    pub(crate) flags: Vec<FlagConstraint>,
    /// Local-file flags this rule allows, each with the directories its paths must lie in.
    pub(crate) allow_file_flags: Vec<(String, Vec<std::path::PathBuf>)>,
    pub(crate) obligations: Obligations,
    /// `require_approval` rules only (defaults filled in).
    pub(crate) approval: Option<gate::ApprovalRule>,
    pub(crate) rate: Option<gate::RateRule>,
    pub(crate) justification: Option<Regex>,
}

impl Rule {
    /// The rule's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The rule's decision.
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// `Ok` when the rule applies; otherwise the first condition that fails (formatted only when
    /// someone asks, so judging many rules stays cheap).
    pub(crate) fn applies<'a>(&'a self, facts: &Facts<'a>) -> Result<(), Miss<'a>> {
        let cmd = facts.cmd;
        if let Some(cmds) = &self.commands
            && !cmds[cmd.path() as usize]
        {
            return Err(Miss::Command(cmd));
        }
        if let Some(classes) = &self.classes
            && !classes.contains(&facts.class)
        {
            return Err(Miss::Class(facts.class));
        }
        if let Some(b) = self.batch
            && facts.batch != b
        {
            return Err(Miss::Batch(facts.batch));
        }
        if let Some(groups) = &self.groups
            && !facts.caller.groups.iter().any(|g| groups.contains(g))
        {
            return Err(Miss::Groups);
        }
        if let Some(callers) = &self.callers
            && !callers.contains(&facts.caller.id)
        {
            return Err(Miss::Caller(&facts.caller.id));
        }
        if let Some(nss) = &self.namespaces
            && !nss.contains(facts.namespace)
        {
            return Err(Miss::Namespace(facts.namespace));
        }
        for c in &self.flags {
            let value = cmd.flag(&c.name);
            if c.check(value).is_err() {
                return Err(Miss::Flag(c, value));
            }
        }
        Ok(())
    }
}

/// What is known about a request, computed once for all rules.
pub(crate) struct Facts<'a> {
    pub(crate) cmd: &'a Command,
    pub(crate) class: EffectClass,
    pub(crate) batch: bool,
    pub(crate) namespace: &'a str,
    pub(crate) caller: &'a Caller,
}

/// Why a rule did not apply.
pub(crate) enum Miss<'a> {
    Command(&'a Command),
    Class(EffectClass),
    Batch(bool),
    Groups,
    Caller(&'a str),
    Namespace(&'a str),
    Flag(&'a FlagConstraint, Option<&'a Value>),
    OutsidePolicy(&'a str),
}

impl fmt::Display for Miss<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Miss::Command(c) => write!(f, "command `{}` is not listed", c.path().name()),
            Miss::Class(c) => write!(f, "class `{}` is not listed", c.as_str()),
            Miss::Batch(true) => f.write_str("the command is a batch (acts on many executions)"),
            Miss::Batch(false) => {
                f.write_str("the command is not a batch (acts on one execution or none)")
            }
            Miss::Groups => f.write_str("caller is in none of the groups"),
            Miss::Caller(c) => write!(f, "caller `{c}` is not listed"),
            Miss::Namespace(n) => write!(f, "namespace `{n}` is not listed"),
            Miss::Flag(c, v) => f.write_str(&c.check(*v).err().unwrap_or_default()),
            Miss::OutsidePolicy(n) => {
                write!(f, "namespace `{n}` is outside this policy's namespaces")
            }
        }
    }
}

/// A compiled policy file.
#[derive(Clone, Debug)]
pub struct Policy {
    pub(crate) source: String,
    pub(crate) namespaces: NameSet,
    pub(crate) rules: Vec<Rule>,
}

/// The built-in policy: `policies/read-only.yaml`, embedded.
pub const BUILTIN_READ_ONLY: &str = include_str!("../../policies/read-only.yaml");

/// [`BUILTIN_READ_ONLY`] without its tests, as JSON: what [`Policy::builtin`] reads. build.rs
/// converts it (`builtin_policy`: libyaml took a fifth of a one-shot run's own instructions).
const BUILTIN_READ_ONLY_JSON: &str =
    include_str!(concat!(env!("OUT_DIR"), "/builtin-read-only.json"));

/// Where the built-in policy's rules and errors say it comes from.
const BUILTIN_SOURCE: &str = "builtin:read-only.yaml";

/// The file shape of [`BUILTIN_READ_ONLY_JSON`], checked as [`parse_file`] checks a policy.
fn builtin_file() -> Result<PolicyFile, PolicyError> {
    let file: PolicyFile =
        serde_json::from_str(BUILTIN_READ_ONLY_JSON).map_err(|e| PolicyError::Syntax {
            file: BUILTIN_SOURCE.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
    check_version(file, BUILTIN_SOURCE)
}

impl Policy {
    /// Loads a policy from YAML text, compiles it, and runs its embedded tests.
    pub fn load(text: &str, source: &str, ctx: &Context) -> Result<Policy, PolicyError> {
        Policy::load_remembering(text, source, ctx, None)
    }

    /// [`Policy::load`], skipping the embedded tests when `tested` remembers that this text
    /// passed them under `ctx` with this binary, and remembering it when they pass now.
    pub fn load_remembering(
        text: &str,
        source: &str,
        ctx: &Context,
        tested: Option<&TestedCache>,
    ) -> Result<Policy, PolicyError> {
        let (file, policy) = parse_and_compile(text, source, ctx)?;
        if file.tests.is_empty() {
            return Ok(policy);
        }
        let marker = tested.map(|t| (t, t.marker(text, ctx)));
        if let Some((_, m)) = &marker
            && TestedCache::passed(m)
        {
            tracing::debug!(
                source,
                tests = file.tests.len(),
                "policy tests passed before"
            );
            return Ok(policy);
        }
        policy.run_tests(&file, source, ctx)?;
        if let Some((t, m)) = &marker {
            t.record(m);
        }
        Ok(policy)
    }

    /// The built-in read-only policy. Its embedded tests are not run at each load (a user's
    /// policy's are): it is part of this binary, and the test suite runs them
    /// (`the_builtin_policy_passes_its_tests`). That saves a one-shot `tgate run` ~0.1 ms. It is
    /// read from [`BUILTIN_READ_ONLY_JSON`], not parsed as YAML (that saves as much again).
    /// `Err` only when `ctx` holds what no policy may name (`$default` an empty namespace, or one
    /// with an invisible character).
    pub fn builtin(ctx: &Context) -> Result<Policy, PolicyError> {
        let file = builtin_file()?;
        compile(&file, BUILTIN_SOURCE, ctx).map_err(|mut errs| errs.remove(0))
    }

    /// Where the policy came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    fn run_tests(&self, file: &PolicyFile, source: &str, ctx: &Context) -> Result<(), PolicyError> {
        match self.test_failures(file, source, ctx).into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Runs every embedded test, each command judged as `tgate run` judges it under `ctx`;
    /// returns the failures.
    fn test_failures(&self, file: &PolicyFile, source: &str, ctx: &Context) -> Vec<PolicyError> {
        let set = PolicySet::new(vec![self.clone()]);
        let mut failures = Vec::new();
        for (i, t) in file.tests.iter().enumerate() {
            let caller = Caller {
                id: t.caller.clone().unwrap_or_else(|| "agent".to_owned()),
                groups: t.groups.clone(),
            };
            // A caller or group `tgate run` refuses (a control character, spaces around it)
            // would test a request that can never be made.
            let refused = std::iter::once(&caller.id)
                .chain(&caller.groups)
                .find(|v| crate::lex::check_name("caller", v, 200).is_err());
            if let Some(v) = refused {
                failures.push(PolicyError::TestFailed {
                    file: source.to_owned(),
                    index: i + 1,
                    command: t.command.clone(),
                    expected: Decision::from(t.expect).to_string(),
                    got: format!(
                        "nothing: the caller or group `{}` is one `tgate run` refuses (a control \
                         character, or spaces around it)",
                        v.escape_debug()
                    ),
                });
                continue;
            }
            let ev = set.check_line_justified(
                &t.command,
                &caller,
                t.justification.as_deref(),
                &ctx.default_namespace,
            );
            let want = Decision::from(t.expect);
            let rule_ok = t.rule.as_ref().is_none_or(|r| ev.rules.contains(r));
            // A command that does not parse is denied whatever the rules say: a test expecting a
            // deny would pass on a typo (`workflow terminat`) and test nothing. It passes only when
            // it names `tgate:parse-error` as the rule it expects.
            let unparsed = ev.command.is_none() && t.rule.is_none() && want == Decision::Deny;
            if ev.decision != want || !rule_ok || unparsed {
                failures.push(PolicyError::TestFailed {
                    file: source.to_owned(),
                    index: i + 1,
                    command: t.command.clone(),
                    expected: match &t.rule {
                        Some(r) => format!("{want} by `{r}`"),
                        None => want.to_string(),
                    },
                    got: if unparsed {
                        format!(
                            "a command that does not parse ({}): it is denied whatever the rules \
                             say; name `rule: tgate:parse-error` if that is what the test is for",
                            ev.reason
                        )
                    } else {
                        format!(
                            "{} by [{}]: {}",
                            ev.decision,
                            ev.rules.join(", "),
                            ev.reason
                        )
                    },
                });
            }
        }
        failures
    }
}

/// Runs a policy file's embedded tests: the number of tests and the failures. `Err` when the
/// policy itself does not compile.
pub fn test_file(
    text: &str,
    source: &str,
    ctx: &Context,
) -> Result<(usize, Vec<PolicyError>), PolicyError> {
    let (file, policy) = parse_and_compile(text, source, ctx)?;
    let failures = policy.test_failures(&file, source, ctx);
    Ok((file.tests.len(), failures))
}

/// Parses and compiles a policy (its embedded tests not run): the file, for its tests, and the
/// policy. The first compile error, if any.
fn parse_and_compile(
    text: &str,
    source: &str,
    ctx: &Context,
) -> Result<(PolicyFile, Policy), PolicyError> {
    let file = parse_file(text, source)?;
    let policy = compile(&file, source, ctx).map_err(|mut errs| errs.remove(0))?;
    Ok((file, policy))
}

/// Parses the YAML into the file shape, with line and column on error.
pub(crate) fn parse_file(text: &str, source: &str) -> Result<PolicyFile, PolicyError> {
    let file: PolicyFile = serde_yaml::from_str(text).map_err(|e| {
        let (line, column, message) = crate::yaml::error_parts(&e, text);
        PolicyError::Syntax {
            file: source.to_owned(),
            line,
            column,
            message,
        }
    })?;
    check_version(file, source)
}

/// `file` when it is of the version this tgate reads.
fn check_version(file: PolicyFile, source: &str) -> Result<PolicyFile, PolicyError> {
    if file.version != 1 {
        return Err(PolicyError::Invalid {
            file: source.to_owned(),
            place: "policy".to_owned(),
            message: format!(
                "unsupported version {} (this tgate reads version 1)",
                file.version
            ),
        });
    }
    Ok(file)
}

/// Compiles every rule, collecting every error (lint shows them all; load shows the first).
pub(crate) fn compile(
    file: &PolicyFile,
    source: &str,
    ctx: &Context,
) -> Result<Policy, Vec<PolicyError>> {
    let invalid = |place: String, message: String| PolicyError::Invalid {
        file: source.to_owned(),
        place,
        message,
    };
    let mut errors = Vec::new();
    let namespaces = match NameSet::compile(&file.namespaces, ctx, Names::Namespaces) {
        Ok(n) if !file.namespaces.is_empty() => n,
        Ok(_) => {
            errors.push(invalid(
                "policy".into(),
                "`namespaces` is empty: the policy could allow nothing".into(),
            ));
            NameSet::empty()
        }
        Err(e) => {
            errors.push(invalid("policy".into(), format!("namespaces: {e}")));
            NameSet::empty()
        }
    };
    let mut rules = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for spec in &file.rules {
        let place = format!("rule `{}`", crate::lex::escape_controls(&spec.id));
        if !ids.insert(spec.id.clone()) {
            errors.push(invalid(place.clone(), "duplicate rule id".into()));
        }
        match crate::lex::check_name("rule id", &spec.id, 200) {
            Ok(()) => {}
            Err(NameProblem::Unreadable(e)) => errors.push(invalid(place.clone(), e)),
            Err(NameProblem::Padded) => errors.push(invalid(
                place.clone(),
                "the rule id has spaces around it".into(),
            )),
        }
        if spec.id.contains(crate::audit::export::LIST_SEPARATOR) {
            errors.push(invalid(
                place.clone(),
                format!(
                    "a rule id may not hold `{}`, which the audit log's CSV export uses to join \
                     the rules of a decision",
                    crate::audit::export::LIST_SEPARATOR
                ),
            ));
        }
        if spec.id.trim().to_ascii_lowercase().starts_with("tgate:") {
            errors.push(invalid(
                place.clone(),
                "ids starting with `tgate:` are reserved".into(),
            ));
        }
        match compile_rule(spec, ctx) {
            Ok(r) => rules.push(r),
            Err(msgs) => errors.extend(msgs.into_iter().map(|m| invalid(place.clone(), m))),
        }
    }
    if errors.is_empty() {
        Ok(Policy {
            source: source.to_owned(),
            namespaces,
            rules,
        })
    } else {
        Err(errors)
    }
}

/// Resolves a command pattern to the paths it names.
pub(crate) fn command_pattern(p: &str) -> Result<Vec<CommandPath>, String> {
    let p = p.trim();
    let p = p.strip_prefix("temporal ").unwrap_or(p);
    if p == "*" {
        return Ok(CommandPath::ALL.to_vec());
    }
    if let Some(prefix) = p.strip_suffix(" *") {
        let group = CommandPath::from_name(prefix)
            .filter(|g| g.is_group())
            .ok_or_else(|| format!("unknown command group `{prefix}`"))?;
        let under: Vec<CommandPath> = CommandPath::ALL
            .iter()
            .copied()
            .filter(|c| c.ancestors().any(|a| a == group))
            .collect();
        return Ok(under);
    }
    if p.contains('*') {
        return Err(format!(
            "command pattern `{p}`: only `group *` or `*` may use `*`"
        ));
    }
    match CommandPath::from_name(p) {
        // A group the CLI cannot run (it prints help) names nothing that runs: the author meant
        // everything under it, which a rule must say.
        Some(c) if c.is_group() && !c.spec().runnable => Err(format!(
            "`{p}` is a command group, which runs nothing itself: write `{p} *` for every command under it"
        )),
        Some(c) => Ok(vec![c]),
        None => Err(format!("unknown command `{p}`")),
    }
}

/// What a rule whose `when` lists `commands` (indexed by `CommandPath as usize`; all when
/// `None`) and `classes` (any when `None`) reaches: each command with each class it can have
/// there (a command's class can depend on its flags: `workflow start` is a write, or destructive).
pub(crate) fn reached<'a>(
    commands: Option<&'a [bool]>,
    classes: Option<&'a [EffectClass]>,
) -> impl Iterator<Item = (CommandPath, EffectClass)> + 'a {
    CommandPath::ALL
        .iter()
        .copied()
        .filter(move |c| commands.is_none_or(|set| set[*c as usize]))
        .flat_map(|c| c.classes().map(move |k| (c, k)))
        .filter(move |(_, k)| classes.is_none_or(|cl| cl.contains(k)))
}

/// The commands of [`reached`], each once.
pub(crate) fn reached_commands(
    commands: Option<&[bool]>,
    classes: Option<&[EffectClass]>,
) -> Vec<CommandPath> {
    let mut reach: Vec<CommandPath> = reached(commands, classes).map(|(c, _)| c).collect();
    reach.dedup();
    reach
}

fn compile_rule(spec: &file::RuleSpec, ctx: &Context) -> Result<Rule, Vec<String>> {
    let mut errs = Vec::new();
    let w = &spec.when;
    let commands = w.commands.as_ref().map(|pats| {
        let mut set = vec![false; CommandPath::ALL.len()];
        for p in pats {
            match command_pattern(p) {
                Ok(paths) => paths.into_iter().for_each(|c| set[c as usize] = true),
                Err(e) => errs.push(e),
            }
        }
        set
    });
    let classes: Option<Vec<EffectClass>> = w.classes.as_ref().map(|cs| {
        cs.iter()
            .map(|c| match c {
                file::ClassSpec::Read => EffectClass::Read,
                file::ClassSpec::Write => EffectClass::Write,
                file::ClassSpec::Destructive => EffectClass::Destructive,
                file::ClassSpec::Admin => EffectClass::Admin,
                file::ClassSpec::Local => EffectClass::Local,
            })
            .collect()
    });
    let mut names = |list: &Option<Vec<String>>, names: Names, what: &str| {
        list.as_ref()
            .and_then(|l| match NameSet::compile(l, ctx, names) {
                Ok(n) => Some(n),
                Err(e) => {
                    errs.push(format!("{what}: {e}"));
                    None
                }
            })
    };
    let namespaces = names(&w.namespaces, Names::Namespaces, "namespaces");
    let callers = names(&w.callers, Names::Callers, "callers");
    if let Some(groups) = &w.groups
        && let Err(e) = group_names(groups)
    {
        errs.push(format!("groups: {e}"));
    }
    // Flags are checked against the commands the rule can apply to: those listed (or all), of a
    // class listed (if any). When the two never meet (a rule that can never match, which lint
    // reports as such), against the commands listed.
    let mut scope = reached_commands(commands.as_deref(), classes.as_deref());
    if scope.is_empty() {
        scope = reached_commands(commands.as_deref(), None);
    }
    let flag_spec = |name: &str| -> Option<&'static crate::command::FlagSpec> {
        scope.iter().find_map(|c| c.flag(name))
    };
    let mut flags = Vec::new();
    for (name, c) in &w.flags {
        // Rules name flags by their canonical names; the parser files an alias under its flag's
        // name. A name that is another flag's alias on one of the rule's commands would never
        // be set there (`type` is `--name` on `workflow signal`, and a flag of its own on
        // `workflow start`): refused, with the name to use.
        if let Some((path, flag)) = scope.iter().find_map(|c| {
            c.flags()
                .find(|f| f.aliases.contains(&name.as_str()))
                .map(|f| (c, f))
        }) {
            let elsewhere = flag_spec(name).map_or("", |_| {
                ", and a flag of its own on other commands of the rule: give each command its \
                 own rule"
            });
            errs.push(format!(
                "`--{name}` is another name for `--{}` on `{}`: rules name flags by their \
                 canonical names{elsewhere}",
                flag.name,
                path.name()
            ));
            continue;
        }
        let Some(spec_of_flag) = flag_spec(name) else {
            errs.push(
                match name.strip_prefix('-').map(|n| n.trim_start_matches('-')) {
                    // `--name:` as the key: flags are named without their dashes (QA: the message
                    // said `----name`).
                    Some(bare) => format!("flag `{name}`: name it without dashes (`{bare}`)"),
                    None => format!("unknown flag `--{name}` for the rule's commands"),
                },
            );
            continue;
        };
        let ty = spec_of_flag.ty;
        // `in`/`not_in` compare the typed value's text: an entry it can never be is a rule that
        // never fires (an enum typo, `2m` for the `2m0s` a duration is compared as).
        for v in c.one_of.iter().chain(&c.not_in).flatten() {
            if let Some(why) = unmatchable(spec_of_flag, v) {
                errs.push(format!("--{name}: {why}"));
            }
        }
        let regex = |r: &Option<String>, errs: &mut Vec<String>| {
            // Blank: the empty regex, which every value matches, where a pattern was meant (a
            // template that rendered nothing): `matches` would hold for any value, `not_matches`
            // for none (review). `present: true` says "any value".
            if r.as_ref().is_some_and(|r| r.trim().is_empty()) {
                errs.push(format!(
                    "--{name}: the regex {:?} is blank, which every value matches: write the \
                     pattern meant (`present: true` for any value)",
                    r.as_deref().unwrap_or_default()
                ));
                return None;
            }
            r.as_ref().and_then(|r| match Regex::new(r) {
                Ok(re) => Some(re),
                Err(e) => {
                    errs.push(format!("--{name}: invalid regex `{r}`: {e}"));
                    None
                }
            })
        };
        let numeric = matches!(ty, FlagType::Int | FlagType::Float | FlagType::Duration);
        let bound = |b: &Option<file::NumberOrText>, errs: &mut Vec<String>| -> Option<f64> {
            let b = b.as_ref()?;
            if !numeric {
                errs.push(format!(
                    "--{name}: min/max apply only to int, float and duration flags"
                ));
                return None;
            }
            match (b, ty) {
                (file::NumberOrText::Number(n), FlagType::Duration) => {
                    errs.push(format!(
                        "--{name}: give a duration bound as text, e.g. `30s` (got {n})"
                    ));
                    None
                }
                // `.nan` would compare false with every value (`max: .nan` admitted any
                // `--limit`); `.inf` bounds nothing (QA).
                (file::NumberOrText::Number(n), _) if !n.is_finite() => {
                    errs.push(format!("--{name}: bound {n} is not a finite number"));
                    None
                }
                (file::NumberOrText::Number(n), _) => Some(*n),
                (file::NumberOrText::Text(t), FlagType::Duration) => {
                    match crate::command::parse_duration(t) {
                        Ok(ns) => Some(ns as f64),
                        Err(e) => {
                            errs.push(format!("--{name}: {e}"));
                            None
                        }
                    }
                }
                (file::NumberOrText::Text(t), _) => {
                    let quoted = t.trim().parse::<f64>().is_ok_and(f64::is_finite);
                    errs.push(if quoted {
                        format!("--{name}: bound `{t}` is quoted: write it as a number, unquoted")
                    } else {
                        format!("--{name}: bound `{t}` is not a number")
                    });
                    None
                }
            }
        };
        flags.push(FlagConstraint {
            name: name.clone(),
            present: c.present,
            matches: regex(&c.matches, &mut errs),
            not_matches: regex(&c.not_matches, &mut errs),
            one_of: c.one_of.clone(),
            not_in: c.not_in.clone(),
            min: bound(&c.min, &mut errs),
            max: bound(&c.max, &mut errs),
            gate: !matches!(spec.decision, file::DecisionSpec::Allow),
        });
    }
    let mut allow_file_flags = Vec::new();
    let file_flags = match &spec.allow_file_flags {
        file::FileFlagsSpec::Directories(map) => map.iter().collect(),
        file::FileFlagsSpec::Names(_) => {
            errs.push(
                "allow_file_flags: give each flag the directories its files may be in \
                 (`{input-file: [/srv/agent-inputs]}`): a flag allowed by name alone lets the \
                 command read any file tgate's user can, credentials included"
                    .to_owned(),
            );
            Vec::new()
        }
    };
    for (f, dirs) in file_flags {
        if dirs.is_empty() {
            errs.push(format!("allow_file_flags: `{f}` names no directory"));
        }
        let mut checked = Vec::new();
        for d in dirs {
            match allowed_directory(d) {
                Ok(p) => checked.push(p),
                Err(why) => errs.push(format!("allow_file_flags: `{f}`: `{d}` {why}")),
            }
        }
        allow_file_flags.push((f.clone(), checked));
        let known = scope.iter().any(|c| {
            c.flag(f).is_some()
                && matches!(
                    crate::command::flag_role(*c, f),
                    crate::command::FlagRole::ReadsFile | crate::command::FlagRole::WritesFile
                )
        });
        if !known {
            errs.push(format!(
                "allow_file_flags: `--{f}` is not a local-file flag of the rule's commands"
            ));
        }
    }
    let decision = Decision::from(spec.decision);
    let o = &spec.obligations;
    let has_obligations =
        o.max_limit.is_some() || o.max_page_size.is_some() || o.max_command_timeout.is_some();
    for (key, cap) in [
        ("max_limit", o.max_limit),
        ("max_page_size", o.max_page_size),
    ] {
        if cap == Some(0) {
            errs.push(format!(
                "obligations.{key}: 0 is the CLI's \"no limit\"; give a cap of at least 1"
            ));
        }
    }
    if has_obligations && decision == Decision::Deny {
        errs.push("obligations apply only to allow and require_approval rules".to_owned());
    }
    let max_command_timeout =
        o.max_command_timeout
            .as_ref()
            .and_then(|t| match crate::command::parse_duration(t) {
                Ok(ns) if ns > 0 => Some(ns),
                Ok(_) => {
                    errs.push("max_command_timeout must be positive".to_owned());
                    None
                }
                Err(e) => {
                    errs.push(format!("max_command_timeout: {e}"));
                    None
                }
            });
    if spec.reason.trim().is_empty() {
        errs.push("`reason` is empty".to_owned());
    } else if let Err(e) = crate::lex::check_readable("reason", &spec.reason, 2000) {
        // Shown to agents, approvers and auditors: a control character could forge a line.
        errs.push(e);
    }
    let approval = match (&spec.approval, decision) {
        (Some(a), Decision::RequireApproval) => Some(gate::compile_approval(a, &mut errs)),
        (None, Decision::RequireApproval) => Some(gate::ApprovalRule::default()),
        (Some(_), Decision::Allow | Decision::Deny) => {
            errs.push("`approval` applies only to require_approval rules".to_owned());
            None
        }
        (None, Decision::Allow | Decision::Deny) => None,
    };
    let gated = decision != Decision::Deny;
    let rate = match spec.rate.as_deref().map(gate::parse_rate) {
        None => None,
        Some(_) if !gated => {
            errs.push("`rate` applies only to allow and require_approval rules".to_owned());
            None
        }
        Some(Ok((limit, window))) => Some(gate::RateRule {
            limit,
            window,
            per: spec
                .rate_per
                .map_or(gate::RatePer::Caller, gate::RatePer::from),
        }),
        Some(Err(e)) => {
            errs.push(e);
            None
        }
    };
    if spec.rate_per.is_some() && spec.rate.is_none() {
        errs.push("`rate_per` needs a `rate`".to_owned());
    }
    let justification = spec.justification.as_ref().and_then(|j| {
        if !gated {
            errs.push(
                "`justification` applies only to allow and require_approval rules".to_owned(),
            );
            return None;
        }
        gate::compile_justification(j, &mut errs)
    });
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(Rule {
        id: spec.id.clone(),
        decision,
        reason: spec.reason.trim().to_owned(),
        commands,
        classes,
        namespaces,
        batch: w.batch,
        callers,
        groups: w.groups.clone(),
        flags,
        allow_file_flags,
        obligations: Obligations {
            max_limit: o.max_limit.map(i64::from),
            max_page_size: o.max_page_size.map(i64::from),
            max_command_timeout,
        },
        approval,
        rate,
        justification,
    })
}

/// Several policies judged together: their rules are pooled, each bounded by its own policy's
/// namespaces, and the strictest matching decision wins.
#[derive(Clone, Debug)]
pub struct PolicySet {
    policies: Vec<Policy>,
}

impl PolicySet {
    /// A set of loaded policies.
    pub fn new(policies: Vec<Policy>) -> PolicySet {
        PolicySet { policies }
    }

    /// Policies from several files pooled, checked for what pooling would blur: a rule with a
    /// rate limit must have an id no other file's rule has, since rate limits are counted by rule
    /// id (two `signals` rules in two files would share one counter). Ids without a rate limit
    /// may repeat (`reads` in every file).
    pub fn pooled(policies: Vec<Policy>) -> Result<PolicySet, PolicyError> {
        for (j, later) in policies.iter().enumerate() {
            if policies[..j].iter().any(|p| p.source == later.source) {
                return Err(PolicyError::Invalid {
                    file: later.source.clone(),
                    place: "policy".to_owned(),
                    message: "the file is given twice".to_owned(),
                });
            }
            for rule in &later.rules {
                let Some(earlier) = policies[..j]
                    .iter()
                    .find(|p| p.rules.iter().any(|r| r.id == rule.id))
                else {
                    continue;
                };
                let rated =
                    |p: &Policy| p.rules.iter().any(|r| r.id == rule.id && r.rate.is_some());
                if rated(earlier) || rated(later) {
                    return Err(PolicyError::Invalid {
                        file: later.source.clone(),
                        place: format!("rule `{}`", crate::lex::escape_controls(&rule.id)),
                        message: format!(
                            "`{}` has a rule with this id too, and one of them a rate limit: rate \
                             limits are counted by rule id, so the two would share one counter; \
                             rename one",
                            earlier.source
                        ),
                    });
                }
            }
        }
        Ok(PolicySet { policies })
    }

    /// The policies.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }
}

/// The JSON Schema of the policy file format, for editors.
pub fn schema() -> serde_json::Value {
    let schema = schemars::schema_for!(PolicyFile);
    serde_json::to_value(schema).unwrap_or_default()
}

/// A directory `allow_file_flags` may name: an absolute path of plain components (no `.`, `..`
/// or empty ones), not `/` and not in the kernel's `/proc`, `/sys` or `/dev` (where a process's
/// environment, the CLI's own credentials included, can be read as a file).
fn allowed_directory(dir: &str) -> Result<std::path::PathBuf, &'static str> {
    let path = std::path::Path::new(dir);
    if !plain_absolute(dir) {
        return Err("is not an absolute path of plain names (no `.` or `..`)");
    }
    if path.parent().is_none() {
        return Err("is the root directory: every file would be allowed");
    }
    if ["/proc", "/sys", "/dev"]
        .iter()
        .any(|k| path.starts_with(k))
    {
        return Err("is in /proc, /sys or /dev, where files expose processes and devices");
    }
    Ok(path.to_path_buf())
}

/// Whether `path` is absolute and made only of plain names: no `.`, `..` or empty components
/// (`a//b`), so that its meaning does not depend on where it is read from.
pub(crate) fn plain_absolute(path: &str) -> bool {
    path.starts_with('/')
        && path
            .trim_end_matches('/')
            .split('/')
            .skip(1)
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Policy::builtin` reads (build.rs's JSON) is the embedded YAML without its tests:
    /// the same file shape, and the same policy once compiled, whatever the default namespace.
    #[test]
    fn the_builtin_json_reads_as_the_yaml_without_its_tests() {
        let mut yaml = parse_file(BUILTIN_READ_ONLY, BUILTIN_SOURCE).unwrap();
        assert!(!yaml.tests.is_empty(), "the YAML has tests to leave out");
        yaml.tests.clear();
        let json = builtin_file().unwrap();
        assert_eq!(format!("{json:?}"), format!("{yaml:?}"));
        for namespace in ["default", "prod", "pay*"] {
            let ctx = Context {
                default_namespace: namespace.to_owned(),
            };
            let (_, from_yaml) =
                parse_and_compile(BUILTIN_READ_ONLY, BUILTIN_SOURCE, &ctx).unwrap();
            let builtin = Policy::builtin(&ctx).unwrap();
            assert_eq!(
                format!("{builtin:?}"),
                format!("{from_yaml:?}"),
                "{namespace}"
            );
        }
    }
}
