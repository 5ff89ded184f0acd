//! The command model: a `temporal ...` argv becomes a typed [`Command`], exactly as the Temporal CLI
//! 1.9.1 reads it, and a [`Command`] renders back to a canonical argv that reads the same.
//!
//! Guarantees:
//! - [`Command::parse`] accepts an argv iff the real CLI gets past its own parsing with it (same
//!   command, same flag values, same namespace); where the CLI would fail, it fails with the same kind
//!   of error. It additionally refuses combinations the CLI refuses only after connecting
//!   ([`ParseError::Conflict`]), so no decision is ever made on an ambiguous command.
//! - [`Command::render`] gives an argv with one spelling per meaning (`--long=value`, sorted flags,
//!   positionals after `--`), and `Command::parse(&c.render()) == c` for every parsed `c`.

mod error;
mod facts;
mod flagset;
mod goparse;
mod parser;
mod semantics;
mod spec;
mod table;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

pub use error::ParseError;
pub use facts::{EffectClass, FlagRole, ends_others, flag_role, unbounded_value};
pub(crate) use goparse::parse_timestamp;
pub use spec::{Arity, CommandSpec, FlagSpec, FlagType, HELP_FLAG, VERSION_FLAG};
pub use table::CommandPath;

/// Go `time.ParseDuration` plus the CLI's `d` (24h) unit, in nanoseconds; Go's error text.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    goparse::parse_duration(text)
}

/// The program word that starts every rendered argv.
pub const PROGRAM: &str = "temporal";

/// A flag value, typed as pflag reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// bool
    Bool(bool),
    /// int
    Int(i64),
    /// float (Go float32)
    Float(GoFloat),
    /// string
    Str(String),
    /// string[] (every occurrence, in order)
    StrArray(Vec<String>),
    /// string-enum (one of the declared values)
    Enum(&'static str),
    /// string-enum[] (declared spellings, in order)
    EnumArray(Vec<&'static str>),
    /// duration
    Duration(GoDuration),
    /// timestamp (RFC 3339, as given)
    Timestamp(String),
}

/// A float32 compared by bits, so a parsed NaN equals itself after a round trip.
#[derive(Clone, Copy, Debug)]
pub struct GoFloat(pub f32);

impl PartialEq for GoFloat {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl From<f32> for GoFloat {
    fn from(v: f32) -> Self {
        GoFloat(v)
    }
}

/// A duration in nanoseconds (Go `time.Duration`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoDuration(pub i64);

impl From<i64> for GoDuration {
    fn from(v: i64) -> Self {
        GoDuration(v)
    }
}

impl fmt::Display for GoDuration {
    /// Go's `Duration.String()`: `1h2m3.5s`, `300ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d == 0 {
            return f.write_str("0s");
        }
        let neg = d < 0;
        let u = d.unsigned_abs();
        let sign = if neg { "-" } else { "" };
        if u < 1_000_000_000 {
            // Sub-second: the largest unit that keeps an integer part.
            let (div, unit) = if u < 1_000 {
                (1, "ns")
            } else if u < 1_000_000 {
                (1_000, "µs")
            } else {
                (1_000_000, "ms")
            };
            return write!(f, "{sign}{}{unit}", frac(u, div));
        }
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let s = u % 60_000_000_000;
        write!(f, "{sign}")?;
        if h > 0 {
            write!(f, "{h}h{m}m")?;
        } else if m > 0 {
            write!(f, "{m}m")?;
        }
        write!(f, "{}s", frac(s, 1_000_000_000))
    }
}

/// `v / div` with the fraction's trailing zeros trimmed (`1.5`, `2`).
fn frac(v: u64, div: u64) -> String {
    let int = v / div;
    let rem = v % div;
    if rem == 0 {
        return int.to_string();
    }
    let width = div.ilog10() as usize;
    let digits = format!("{rem:0width$}");
    format!("{int}.{}", digits.trim_end_matches('0'))
}

impl Value {
    /// The spelling tgate renders (pflag reads it back to the same value).
    pub(crate) fn render_scalar(&self) -> Vec<String> {
        match self {
            Value::Bool(b) => vec![b.to_string()],
            Value::Int(i) => vec![i.to_string()],
            Value::Float(GoFloat(v)) => vec![render_float(*v)],
            Value::Str(s) | Value::Timestamp(s) => vec![s.clone()],
            Value::StrArray(items) => items.clone(),
            Value::Enum(e) => vec![(*e).to_owned()],
            Value::EnumArray(items) => items.iter().map(|s| (*s).to_owned()).collect(),
            Value::Duration(d) => vec![d.to_string()],
        }
    }

    /// Every string the value holds: one for `Str`, `Enum` and `Timestamp`, each element of
    /// `StrArray` and `EnumArray`, none for the others.
    pub fn strs(&self) -> Vec<&str> {
        match self {
            Value::StrArray(items) => items.iter().map(String::as_str).collect(),
            Value::EnumArray(items) => items.clone(),
            other => other.as_str().into_iter().collect(),
        }
    }

    /// The string value, for `Str`, `Enum` and `Timestamp`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Timestamp(s) => Some(s),
            Value::Enum(e) => Some(e),
            _ => None,
        }
    }
}

fn render_float(v: f32) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        // Rust prints the shortest text that reads back to the same f32.
        format!("{v}")
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(GoFloat(v)) if v.is_finite() => s.serialize_f64(f64::from(*v)),
            Value::Float(GoFloat(v)) => s.serialize_str(&render_float(*v)),
            Value::Str(x) | Value::Timestamp(x) => s.serialize_str(x),
            Value::StrArray(items) => items.serialize(s),
            Value::Enum(e) => s.serialize_str(e),
            Value::EnumArray(items) => items.serialize(s),
            Value::Duration(d) => s.serialize_str(&d.to_string()),
        }
    }
}

macro_rules! newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

newtype!(
    /// A Temporal namespace name.
    Namespace
);
newtype!(
    /// A workflow id.
    WorkflowId
);
newtype!(
    /// A run id.
    RunId
);
newtype!(
    /// An activity id.
    ActivityId
);
newtype!(
    /// A schedule id.
    ScheduleId
);
newtype!(
    /// A task queue name.
    TaskQueue
);
newtype!(
    /// A batch job id.
    JobId
);

impl Namespace {
    /// The namespace a command uses when none is given.
    pub fn default_namespace() -> Namespace {
        Namespace("default".to_owned())
    }
}

/// What a command acts on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    /// Nothing in particular (lists, counts, cluster-wide reads, local commands).
    None,
    /// One workflow execution.
    Workflow {
        /// Workflow id.
        workflow_id: WorkflowId,
        /// Run id, when given.
        #[serde(skip_serializing_if = "Option::is_none")]
        run_id: Option<RunId>,
    },
    /// Every execution matching a visibility query (a batch job).
    Batch {
        /// The visibility query.
        query: String,
    },
    /// One activity.
    Activity {
        /// Activity id.
        activity_id: ActivityId,
        /// Workflow id, for workflow activities.
        #[serde(skip_serializing_if = "Option::is_none")]
        workflow_id: Option<WorkflowId>,
        /// Run id, when given.
        #[serde(skip_serializing_if = "Option::is_none")]
        run_id: Option<RunId>,
    },
    /// One schedule.
    Schedule {
        /// Schedule id.
        schedule_id: ScheduleId,
    },
    /// One task queue.
    TaskQueue {
        /// Task queue name.
        task_queue: TaskQueue,
    },
    /// One batch job.
    BatchJob {
        /// Job id.
        job_id: JobId,
    },
    /// A namespace named by its id rather than its name.
    NamespaceId {
        /// Namespace id.
        namespace_id: String,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run = |r: &Option<RunId>| r.as_ref().map(|r| format!(" run {r}")).unwrap_or_default();
        match self {
            Target::None => f.write_str("-"),
            Target::Workflow {
                workflow_id,
                run_id,
            } => write!(f, "workflow {workflow_id}{}", run(run_id)),
            // An empty query filters nothing (a `workflow reset` without one).
            Target::Batch { query } if query.is_empty() => {
                f.write_str("batch of every workflow in the namespace")
            }
            Target::Batch { query } => write!(f, "batch of executions matching {query:?}"),
            Target::Activity {
                activity_id,
                workflow_id,
                run_id,
            } => {
                write!(f, "activity {activity_id}")?;
                if let Some(w) = workflow_id {
                    write!(f, " of workflow {w}")?;
                }
                f.write_str(&run(run_id))
            }
            Target::Schedule { schedule_id } => write!(f, "schedule {schedule_id}"),
            Target::TaskQueue { task_queue } => write!(f, "task queue {task_queue}"),
            Target::BatchJob { job_id } => write!(f, "batch job {job_id}"),
            Target::NamespaceId { namespace_id } => write!(f, "namespace with id {namespace_id}"),
        }
    }
}

/// A `temporal` command line, read exactly as the CLI reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    path: CommandPath,
    flags: BTreeMap<&'static str, Value>,
    args: Vec<String>,
}

impl Command {
    /// Parses a full argv (`argv[0]` is the program word, which is not checked here: the lexer
    /// does that).
    pub fn parse<S: AsRef<str>>(argv: &[S]) -> Result<Command, ParseError> {
        let args: Vec<&str> = argv.iter().skip(1).map(AsRef::as_ref).collect();
        let parsed = parser::parse(&args)?;
        let mut cmd = Command {
            path: parsed.path,
            flags: parsed.flags,
            args: parsed.args,
        };
        semantics::check(&cmd)?;
        semantics::drop_unset(&mut cmd);
        Ok(cmd)
    }

    /// The command path.
    pub fn path(&self) -> CommandPath {
        self.path
    }

    /// Values of the flags that were set, by canonical long name.
    pub fn flags(&self) -> &BTreeMap<&'static str, Value> {
        &self.flags
    }

    /// One flag's value.
    pub fn flag(&self, name: &str) -> Option<&Value> {
        self.flags.get(name)
    }

    /// Whether boolean flag `name` is set (given, and not `=false`).
    pub fn flag_set(&self, name: &str) -> bool {
        matches!(self.flags.get(name), Some(Value::Bool(true)))
    }

    /// A string flag's value (string, enum or timestamp).
    pub fn flag_str(&self, name: &str) -> Option<&str> {
        self.flags.get(name).and_then(Value::as_str)
    }

    /// This command with each flag `name` set to its value, replacing any value it had. Used to
    /// apply policy obligations (e.g. a `--limit` cap). The result is re-read from its canonical
    /// argv, so it is a command the CLI would read the same way, or an error.
    pub fn with_flags(&self, changes: &[(&str, Value)]) -> Result<Command, ParseError> {
        let mut changed = self.clone();
        for (name, value) in changes {
            let flag = self
                .path
                .flag(name)
                .ok_or_else(|| ParseError::UnknownFlag {
                    name: (*name).to_owned(),
                })?;
            changed.flags.insert(flag.name, value.clone());
        }
        let reread = Command::parse(&changed.render())?;
        if reread != changed {
            return Err(ParseError::Conflict {
                message: "the changed flags do not read back as set".to_owned(),
            });
        }
        Ok(reread)
    }

    /// This command as it runs under an integration whose default namespace is `namespace`: a
    /// command that connects and names no namespace gets `--namespace namespace`, so that a
    /// policy judges the namespace that will be used. Unchanged: a command naming one with `-n`
    /// (an empty value included: the CLI reads it as `default`), help, commands that do not
    /// connect, the deprecated namespace positional (the CLI refuses it together with `-n`), and
    /// a namespace named by id (`operator namespace describe --namespace-id`, which the CLI
    /// refuses with `-n` other than `default`: QA, under an integration whose namespace was not
    /// `default` it became a parse error where the policy denies it as an id it cannot check).
    pub fn in_default_namespace(self, namespace: &str) -> Result<Command, ParseError> {
        let positional = self.path.namespace_positional() && !self.args.is_empty();
        let by_id = matches!(self.target(), Target::NamespaceId { .. });
        if !self.path.connects()
            || self.flag("namespace").is_some()
            || self.is_help()
            || positional
            || by_id
        {
            return Ok(self);
        }
        self.with_flags(&[("namespace", Value::Str(namespace.to_owned()))])
    }

    /// Positional arguments.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// Whether this invocation only prints help (or the version).
    pub fn is_help(&self) -> bool {
        self.flag_set("help") || self.flag_set("version")
    }

    /// The effect class of what this invocation does. Printing help is local whatever the command;
    /// a write whose flags make it end other executions is destructive ([`facts::ends_others`]).
    pub fn class(&self) -> EffectClass {
        if self.is_help() {
            return EffectClass::Local;
        }
        let class = self.path.class();
        let ends_others = self
            .flags
            .iter()
            .any(|(name, v)| v.as_str().is_some_and(|v| facts::ends_others(name, v)));
        if class == EffectClass::Write && ends_others {
            EffectClass::Destructive
        } else {
            class
        }
    }

    /// Whether the command acts on many executions: a batch job (a batch-capable command with a
    /// non-empty `--query`; the CLI takes `-q ''` for no query, and `-w '' -q X` for a batch; a
    /// `workflow reset` without `--workflow-id`, with a query or none), or a
    /// command that always does ([`CommandPath::always_bulk`]: `schedule backfill`).
    pub fn is_batch(&self) -> bool {
        !self.is_help() && (self.path.always_bulk() || self.is_batch_job())
    }

    /// Whether the command starts a batch job: a non-empty `--query` on a batch-capable command;
    /// for `workflow reset` (and `reset with-workflow-update-options`), no `--workflow-id`: the
    /// CLI then starts a batch over `--query`, and an empty one is every workflow in the
    /// namespace (with `-w`, it resets that workflow and does not read `--query`). The one
    /// reading of single or batch: the reset's own checks ([`semantics`]) go by it too.
    fn is_batch_job(&self) -> bool {
        let given = |n: &str| self.flag_str(n).is_some_and(|v| !v.is_empty());
        !self.is_help()
            && self.path.batch_capable()
            && match self.path {
                CommandPath::WorkflowReset
                | CommandPath::WorkflowResetWithWorkflowUpdateOptions => !given("workflow-id"),
                _ => given("query"),
            }
    }

    /// The namespace the client connects with: `-n` (an empty value means `default`), else
    /// `default`. `None` for commands that do not connect.
    pub fn client_namespace(&self) -> Option<Namespace> {
        if !self.path.connects() {
            return None;
        }
        match self.flag_str("namespace") {
            Some(n) if !n.is_empty() => Some(Namespace(n.to_owned())),
            _ => Some(Namespace::default_namespace()),
        }
    }

    /// The namespace the command acts on: for `operator namespace create|delete|describe|update`,
    /// the deprecated positional when given, else `-n` as written (the CLI puts the flag's value
    /// in the request itself: `-n ''` acts on the namespace `""`, which the server refuses, not on
    /// `default`, found by QA); for the others, [`Command::client_namespace`].
    pub fn namespace(&self) -> Option<Namespace> {
        if self.path.namespace_positional() {
            if let Some(ns) = self.args.first() {
                return Some(Namespace(ns.clone()));
            }
            if let Some(ns) = self.flag_str("namespace") {
                return Some(Namespace(ns.to_owned()));
            }
        }
        self.client_namespace()
    }

    /// What the command acts on.
    pub fn target(&self) -> Target {
        if self.is_help() || !self.path.connects() {
            return Target::None;
        }
        let s = |n: &str| self.flag_str(n).map(str::to_owned);
        if self.is_batch_job() {
            return Target::Batch {
                query: s("query").unwrap_or_default(),
            };
        }
        // A schedule command's `--workflow-id` names the workflows the schedule will start, not
        // one it acts on: the schedule is the target (review: `schedule update -s prod-sched -w
        // x` was shown to approvers and recorded as acting on workflow `x`).
        let under_schedule = std::iter::once(self.path)
            .chain(self.path.ancestors())
            .any(|p| p == CommandPath::Schedule);
        if let Some(id) = s("schedule-id").filter(|_| under_schedule) {
            return Target::Schedule {
                schedule_id: ScheduleId(id),
            };
        }
        if let Some(id) = s("activity-id") {
            return Target::Activity {
                activity_id: ActivityId(id),
                workflow_id: s("workflow-id").map(WorkflowId),
                run_id: s("run-id").map(RunId),
            };
        }
        if let Some(id) = s("workflow-id") {
            return Target::Workflow {
                workflow_id: WorkflowId(id),
                run_id: s("run-id").map(RunId),
            };
        }
        if let Some(id) = s("schedule-id") {
            return Target::Schedule {
                schedule_id: ScheduleId(id),
            };
        }
        if let Some(id) = s("job-id") {
            return Target::BatchJob { job_id: JobId(id) };
        }
        let under_task_queue = std::iter::once(self.path)
            .chain(self.path.ancestors())
            .any(|p| p == CommandPath::TaskQueue);
        if let Some(tq) = s("task-queue")
            && under_task_queue
        {
            return Target::TaskQueue {
                task_queue: TaskQueue(tq),
            };
        }
        // An empty `--namespace-id` is none to the CLI, which then describes `-n` (QA re-check:
        // `--namespace-id '' -n m1` was refused as an id that cannot be checked).
        if self.path == CommandPath::OperatorNamespaceDescribe
            && let Some(id) = s("namespace-id").filter(|id| !id.is_empty())
        {
            return Target::NamespaceId { namespace_id: id };
        }
        Target::None
    }

    /// The canonical argv: `temporal`, the path words, each set flag as `--name=value` in name
    /// order (arrays repeated in order; a true bool as `--name`), then `--` and the positionals.
    pub fn render(&self) -> Vec<String> {
        let words = || {
            self.path
                .name()
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
        };
        let flag_words = |keep: &dyn Fn(&str) -> bool| -> Vec<String> {
            let mut out = Vec::new();
            for (name, value) in self.flags.iter().filter(|(n, _)| keep(n)) {
                match value {
                    Value::Bool(true) => out.push(format!("--{name}")),
                    other => out.extend(
                        other
                            .render_scalar()
                            .into_iter()
                            .map(|v| format!("--{name}={v}")),
                    ),
                }
            }
            out
        };
        let mut argv = vec![PROGRAM.to_owned()];
        argv.extend(words());
        argv.extend(flag_words(&|_| true));
        if !self.args.is_empty() {
            argv.push("--".to_owned());
            argv.extend(self.args.iter().cloned());
        }
        if self.path != CommandPath::Help {
            return argv;
        }
        // `temporal help ...` is special: the CLI sets a leading `help` aside and pre-parses the
        // rest against the root, where `help`'s own `-a/--all` is unknown whenever a positional
        // word follows (`temporal help --all -- workflow` fails, `temporal help workflow --all`
        // works). Use the first layout that the CLI reads back as this very command.
        let mut candidates = vec![argv];
        // Leading plain words before the flags: the pre-pass stops judging flags at the first one.
        let plain = self.args.iter().take_while(|a| !a.starts_with('-')).count();
        for k in 1..=plain {
            let mut b = vec![PROGRAM.to_owned(), "help".to_owned()];
            b.extend(self.args[..k].iter().cloned());
            b.extend(flag_words(&|_| true));
            if k < self.args.len() {
                b.push("--".to_owned());
                b.extend(self.args[k..].iter().cloned());
            }
            candidates.push(b);
        }
        // Root-level flags before the word `help` avoid the set-aside altogether.
        let local = |n: &str| n == "all" || n == "help";
        let mut c = vec![PROGRAM.to_owned()];
        c.extend(flag_words(&|n| !local(n)));
        c.push("help".to_owned());
        c.extend(flag_words(&local));
        if !self.args.is_empty() {
            c.push("--".to_owned());
            c.extend(self.args.iter().cloned());
        }
        candidates.push(c);
        let fallback = candidates[0].clone();
        candidates
            .into_iter()
            .find(|argv| Command::parse(argv).as_ref() == Ok(self))
            .unwrap_or(fallback)
    }

    /// The canonical argv as one shell-quoted line, for display.
    pub fn render_line(&self) -> String {
        let quoted: Vec<String> = self
            .render_redacted()
            .iter()
            .map(|w| shell_quote(w))
            .collect();
        quoted.join(" ")
    }

    /// [`Command::render`] with secret values replaced by `<redacted>`: what tgate shows, logs and
    /// records. Secrets are the API key, inline private keys, codec credentials, and the values of
    /// gRPC metadata and codec headers (which carry `authorization` headers).
    pub fn render_redacted(&self) -> Vec<String> {
        self.render()
            .into_iter()
            .map(|w| {
                let Some((name, value)) = w.strip_prefix("--").and_then(|f| f.split_once('='))
                else {
                    return w;
                };
                match secrecy(name) {
                    Secrecy::Public => w,
                    Secrecy::Secret => format!("--{name}={REDACTED}"),
                    Secrecy::PairValue => match value.split_once('=') {
                        Some((k, _)) => format!("--{name}={k}={REDACTED}"),
                        None => format!("--{name}={REDACTED}"),
                    },
                }
            })
            .collect()
    }

    /// The set flags with secret values replaced by `<redacted>` (see [`Command::render_redacted`]).
    pub fn flags_redacted(&self) -> BTreeMap<&'static str, Value> {
        self.flags
            .iter()
            .map(|(name, value)| {
                let shown = match (secrecy(name), value) {
                    (Secrecy::Public, v) => v.clone(),
                    (Secrecy::PairValue, Value::StrArray(items)) => Value::StrArray(
                        items
                            .iter()
                            .map(|i| match i.split_once('=') {
                                Some((k, _)) => format!("{k}={REDACTED}"),
                                None => REDACTED.to_owned(),
                            })
                            .collect(),
                    ),
                    _ => Value::Str(REDACTED.to_owned()),
                };
                (*name, shown)
            })
            .collect()
    }
}

/// What replaces a secret in anything tgate shows or records.
pub const REDACTED: &str = "<redacted>";

enum Secrecy {
    Public,
    Secret,
    /// `KEY=VALUE` pairs whose values may be credentials.
    PairValue,
}

fn secrecy(flag: &str) -> Secrecy {
    match flag {
        "api-key" | "tls-key-data" | "codec-auth" => Secrecy::Secret,
        "grpc-meta" | "codec-header" => Secrecy::PairValue,
        _ => Secrecy::Public,
    }
}

/// Quotes a word for display only when a POSIX shell would need it.
fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=:,./@%+".contains(c));
    if safe {
        word.to_owned()
    } else {
        shlex::try_quote(word).map_or_else(|_| format!("{word:?}"), |q| q.into_owned())
    }
}

impl Serialize for Command {
    /// The stable JSON of `tgate parse -o json`. Secret values are redacted.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("command", self.path.name())?;
        m.serialize_entry("namespace", &self.namespace())?;
        m.serialize_entry("client_namespace", &self.client_namespace())?;
        m.serialize_entry("class", &self.class())?;
        m.serialize_entry("batch", &self.is_batch())?;
        m.serialize_entry("help", &self.is_help())?;
        m.serialize_entry("target", &self.target())?;
        m.serialize_entry("flags", &self.flags_redacted())?;
        m.serialize_entry("args", &self.args)?;
        m.serialize_entry("argv", &self.render_redacted())?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, ParseError> {
        let argv: Vec<&str> = line.split(' ').collect();
        Command::parse(&argv)
    }

    /// [`parse`] of a line read as the lexer reads it (quotes, so `''` is an empty word).
    fn lexed(line: &str) -> Result<Command, ParseError> {
        let argv = crate::lex::lex_str(line, &crate::lex::Program::default()).unwrap();
        Command::parse(&argv)
    }

    fn ok(line: &str) -> Command {
        let c = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(
            Command::parse(&c.render()).as_ref(),
            Ok(&c),
            "round trip of {line}"
        );
        c
    }

    /// A command that connects and names no namespace gets the default one; anything else is
    /// left as it is.
    #[test]
    fn in_default_namespace_fills_only_an_absent_namespace() {
        let filled = |line: &str| {
            lexed(line)
                .unwrap()
                .in_default_namespace("prod")
                .unwrap()
                .render()
                .join(" ")
        };
        for (line, want) in [
            (
                "temporal workflow list",
                "temporal workflow list --namespace=prod",
            ),
            (
                "temporal workflow describe -w a",
                "temporal workflow describe --namespace=prod --workflow-id=a",
            ),
            // Named, even empty (the CLI reads `-n ''` as `default`): kept.
            (
                "temporal workflow list -n other",
                "temporal workflow list --namespace=other",
            ),
            (
                "temporal workflow list -n ''",
                "temporal workflow list --namespace=",
            ),
            // The deprecated positional names the namespace (the CLI refuses it with `-n`).
            (
                "temporal operator namespace describe other",
                "temporal operator namespace describe -- other",
            ),
            // Help, and commands that do not connect.
            (
                "temporal workflow list --help",
                "temporal workflow list --help",
            ),
            ("temporal env list", "temporal env list"),
            ("temporal server start-dev", "temporal server start-dev"),
        ] {
            assert_eq!(filled(line), want, "{line}");
        }
        // Without the positional, `operator namespace describe` connects: filled; by id, not
        // (an empty id is none).
        assert_eq!(
            filled("temporal operator namespace describe"),
            "temporal operator namespace describe --namespace=prod"
        );
        assert_eq!(
            filled("temporal operator namespace describe --namespace-id abc"),
            "temporal operator namespace describe --namespace-id=abc"
        );
        assert_eq!(
            filled("temporal operator namespace describe --namespace-id ''"),
            "temporal operator namespace describe --namespace=prod --namespace-id="
        );
    }

    #[test]
    fn go_duration_display() {
        for (ns, text) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (300_000_000, "300ms"),
            (5_000_000_000, "5s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (86_400_000_000_000, "24h0m0s"),
            (-1_500_000_000, "-1.5s"),
        ] {
            assert_eq!(GoDuration(ns).to_string(), text);
        }
    }

    #[test]
    fn namespace_sources() {
        assert_eq!(
            ok("temporal workflow list").namespace().unwrap().as_str(),
            "default"
        );
        // An empty `-n` connects to `default`; the namespace commands act on it as written.
        assert_eq!(
            ok("temporal workflow list --namespace=")
                .namespace()
                .unwrap()
                .as_str(),
            "default"
        );
        for line in [
            "temporal operator namespace delete --namespace= -y",
            "temporal operator namespace update --namespace= --description x",
            "temporal operator namespace create --namespace=",
        ] {
            let c = ok(line);
            assert_eq!(c.namespace().unwrap().as_str(), "", "{line}");
            assert_eq!(c.client_namespace().unwrap().as_str(), "default", "{line}");
        }
        assert_eq!(
            ok("temporal operator namespace delete -y")
                .namespace()
                .unwrap()
                .as_str(),
            "default"
        );
        assert_eq!(
            ok("temporal workflow list -n a -n b")
                .namespace()
                .unwrap()
                .as_str(),
            "b"
        );
        assert_eq!(
            ok("temporal -n x workflow list")
                .namespace()
                .unwrap()
                .as_str(),
            "x"
        );
        assert_eq!(
            ok("temporal workflow list -nprod")
                .namespace()
                .unwrap()
                .as_str(),
            "prod"
        );
        assert_eq!(
            ok("temporal workflow list -n=prod")
                .namespace()
                .unwrap()
                .as_str(),
            "prod"
        );
        let c = ok("temporal operator namespace describe prod");
        assert_eq!(c.namespace().unwrap().as_str(), "prod");
        assert_eq!(c.client_namespace().unwrap().as_str(), "default");
        assert_eq!(ok("temporal server start-dev").namespace(), None);
    }

    #[test]
    fn batch_and_targets() {
        let c = ok("temporal workflow terminate -q WorkflowType=x --yes");
        assert!(c.is_batch());
        assert_eq!(c.class(), EffectClass::Destructive);
        let c = ok("temporal workflow signal -w wf -r run --name go");
        assert!(!c.is_batch());
        assert_eq!(
            c.target(),
            Target::Workflow {
                workflow_id: WorkflowId("wf".into()),
                run_id: Some(RunId("run".into()))
            }
        );
        assert!(!ok("temporal workflow list -q x").is_batch());
        // Empty values are unset, as in the CLI's checks.
        let ok = |line: &str| lexed(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let c = ok("temporal workflow cancel -w '' -q WorkflowType=x --yes");
        assert!(c.is_batch());
        assert_eq!(
            c.target(),
            Target::Batch {
                query: "WorkflowType=x".into()
            }
        );
        let c = ok("temporal workflow cancel -w wf -q '' --reason '' --yes=false --rps 0");
        assert!(!c.is_batch());
        assert_eq!(
            c.target(),
            Target::Workflow {
                workflow_id: WorkflowId("wf".into()),
                run_id: None
            }
        );
        assert!(
            ok("temporal activity terminate --activity-id '' -q x --reason r --yes").is_batch()
        );
        // A backfill starts a workflow per missed action, as many as its range holds: judged as
        // a batch, while it still names its schedule.
        let c = ok(
            "temporal schedule backfill -s nightly --start-time 2026-01-01T00:00:00Z --end-time 2026-01-02T00:00:00Z",
        );
        assert!(c.is_batch());
        assert_eq!(
            c.target(),
            Target::Schedule {
                schedule_id: ScheduleId("nightly".into())
            }
        );
        // A schedule's `--workflow-id` names the workflows it will start: the schedule is the
        // target (review: it was shown as acting on the workflow).
        for line in [
            "temporal schedule create -s nightly -w run-1 --type T -t q --interval 1h",
            "temporal schedule update -s nightly -w run-1 --type T -t q --interval 1h",
        ] {
            assert_eq!(
                ok(line).target(),
                Target::Schedule {
                    schedule_id: ScheduleId("nightly".into())
                },
                "{line}"
            );
        }
    }

    #[test]
    fn secrets_never_shown() {
        let c = ok(
            "temporal workflow list --api-key sk-SECRET --grpc-meta authorization=Bearer-SECRET --codec-auth SECRET --tls-cert-data c --tls-key-data SECRET",
        );
        let shown = format!(
            "{} {} {:?}",
            c.render_line(),
            serde_json::to_string(&c).unwrap(),
            c.flags_redacted()
        );
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(
            shown.contains("--grpc-meta=authorization=<redacted>"),
            "{shown}"
        );
        // The canonical argv itself keeps the values: it is what would run.
        assert!(c.render().contains(&"--api-key=sk-SECRET".to_owned()));
    }

    /// `workflow reset` is a single reset when `-w` is given, whatever `--query` says (the CLI
    /// does not read it), and otherwise a batch over `--query`: with none, or an empty one, every
    /// workflow in the namespace (each checked on a dev server).
    #[test]
    fn a_reset_is_a_batch_exactly_when_it_names_no_workflow() {
        for (line, batch, target) in [
            (
                "temporal workflow reset -w a -q x --type FirstWorkflowTask --reason r",
                false,
                Target::Workflow {
                    workflow_id: WorkflowId("a".into()),
                    run_id: None,
                },
            ),
            (
                "temporal workflow reset -q x --type FirstWorkflowTask --reason r",
                true,
                Target::Batch { query: "x".into() },
            ),
            (
                "temporal workflow reset --type FirstWorkflowTask --reason r",
                true,
                Target::Batch {
                    query: String::new(),
                },
            ),
            (
                "temporal workflow reset -w '' -q '' --type FirstWorkflowTask --reason r",
                true,
                Target::Batch {
                    query: String::new(),
                },
            ),
            (
                "temporal workflow reset with-workflow-update-options --type FirstWorkflowTask \
                 --reason r --versioning-override-behavior auto_upgrade",
                true,
                Target::Batch {
                    query: String::new(),
                },
            ),
        ] {
            let c = lexed(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(c.is_batch(), batch, "{line}");
            assert_eq!(c.target(), target, "{line}");
        }
        // What a reset does not read is not part of the command (nor of its argv): a single
        // reset's query, build id and yes, and its event id when it has a type; a batch's event
        // id, and its build id unless its type is BuildId.
        for (line, gone, kept) in [
            (
                "temporal workflow reset -w a -q x -e 9 --build-id b -y --type FirstWorkflowTask --reason r",
                &["query", "build-id", "event-id", "yes"][..],
                &["workflow-id", "type"][..],
            ),
            (
                "temporal workflow reset -q x -e 0 --type FirstWorkflowTask --reason r -y",
                &["event-id"],
                &["query", "yes"],
            ),
            (
                "temporal workflow reset -w a -e 9 --build-id b --reason r",
                &["build-id"],
                &["event-id"],
            ),
            (
                "temporal workflow reset -q x --build-id b --type FirstWorkflowTask --reason r",
                &["build-id"],
                &["query"],
            ),
            (
                "temporal workflow reset -q x --build-id b --type BuildId --reason r",
                &[],
                &["query", "build-id"],
            ),
        ] {
            let c = lexed(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let argv = c.render();
            for f in gone {
                assert_eq!(c.flag(f), None, "{line}: --{f}");
                assert!(
                    !argv.iter().any(|w| w.starts_with(&format!("--{f}="))),
                    "{argv:?}"
                );
            }
            for f in kept {
                assert!(c.flag(f).is_some(), "{line}: --{f}");
            }
        }
        assert_eq!(
            Target::Batch {
                query: String::new()
            }
            .to_string(),
            "batch of every workflow in the namespace"
        );
        // A cancel with neither is still refused: it has no batch over everything.
        assert!(matches!(
            lexed("temporal workflow cancel"),
            Err(ParseError::Conflict { .. })
        ));
    }

    #[test]
    fn conflicts_refused() {
        for line in [
            "temporal workflow cancel",
            "temporal workflow cancel -w a -q b",
            "temporal workflow signal -w a --name s --reason r",
            "temporal workflow terminate -q x -r run",
            "temporal operator namespace describe a -n b",
            // Empty values are unset, as in the CLI's checks.
            "temporal workflow terminate -w '' -q ''",
            // A reset type only the other form takes, refused by the CLI once connected.
            "temporal workflow reset -w a --type BuildId --reason r",
            "temporal workflow reset -q x --type LastContinuedAsNew --reason r",
        ] {
            assert!(
                matches!(lexed(line), Err(ParseError::Conflict { .. })),
                "{line}"
            );
        }
    }
}
