//! The audit record: its fields, its one serialisation, and the hash chain over it.
//!
//! A record is one JSON object on one line. Its canonical bytes are exactly the bytes tgate
//! wrote, minus the trailing `,"hash":"…"` member: `{"v":1,"seq":N,…,"prev_hash":"…"}`. The
//! `hash` is the lowercase hex SHA-256 of those bytes, and `prev_hash` is the `hash` of the record
//! with sequence number `seq - 1` ([`GENESIS`] for `seq` 1). Any change to a line, even
//! re-formatting its JSON, changes its hash; any removed, added or moved line breaks the chain.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::command::{EffectClass, Target};
use crate::policy::{Decision, Evaluation};

/// The record format version this tgate writes and reads (`v`).
pub const FORMAT_VERSION: u32 = 1;

/// `prev_hash` of the first record of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record is about: one of a request's two records, or a step of an approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Written when the decision is made, durable before any write is sent, the CLI started or
    /// any output shown.
    Decision,
    /// Written when execution ends (allowed requests only).
    Result,
    /// A gated command's approval was requested (`approval_id`; `caller` is the requester).
    ApprovalRequested,
    /// An approver approved (`caller` is the approver, `reason` their comment).
    ApprovalApproved,
    /// Someone rejected or withdrew the request (`caller` who, `reason` their comment).
    ApprovalRejected,
    /// The approval ran out before it was used.
    ApprovalExpired,
    /// The approved command was claimed to run, exactly once (the decision record follows).
    ApprovalUsed,
    /// The claim was given back: the command did not run, and nothing of it was sent (after
    /// the run's result record). The approval runs its command once more, until it expires.
    ApprovalReturned,
}

impl Kind {
    /// The name in the log and in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Decision => "decision",
            Kind::Result => "result",
            Kind::ApprovalRequested => "approval_requested",
            Kind::ApprovalApproved => "approval_approved",
            Kind::ApprovalRejected => "approval_rejected",
            Kind::ApprovalExpired => "approval_expired",
            Kind::ApprovalUsed => "approval_used",
            Kind::ApprovalReturned => "approval_returned",
        }
    }
}

/// How the request reached tgate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// `tgate run`.
    Cli,
    /// The `temporal` shim.
    Shim,
    /// The HTTP server.
    Http,
    /// The MCP server.
    Mcp,
}

impl Channel {
    /// As written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Cli => "cli",
            Channel::Shim => "shim",
            Channel::Http => "http",
            Channel::Mcp => "mcp",
        }
    }
}

/// The executor that ran an allowed command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Executor {
    /// The pinned `temporal` binary.
    Cli,
    /// Native gRPC.
    Grpc,
}

impl Executor {
    /// As written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Executor::Cli => "cli",
            Executor::Grpc => "grpc",
        }
    }
}

/// What the command acts on, flattened: `kind` plus the identifiers that kind has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditTarget {
    /// `none`, `workflow`, `batch`, `activity`, `schedule`, `task-queue`, `batch-job`,
    /// `namespace-id`.
    pub kind: String,
    /// Workflow id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// Run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Activity id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    /// Schedule id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<String>,
    /// Task queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_queue: Option<String>,
    /// Batch job id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Visibility query of a batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Namespace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
}

impl From<&Target> for AuditTarget {
    fn from(t: &Target) -> AuditTarget {
        let s = |v: &dyn std::fmt::Display| Some(v.to_string());
        let kind = |k: &str| AuditTarget {
            kind: k.to_owned(),
            ..AuditTarget::default()
        };
        match t {
            Target::None => kind("none"),
            Target::Workflow {
                workflow_id,
                run_id,
            } => AuditTarget {
                workflow_id: s(workflow_id),
                run_id: run_id.as_ref().map(|r| r.to_string()),
                ..kind("workflow")
            },
            Target::Batch { query } => AuditTarget {
                query: Some(query.clone()),
                ..kind("batch")
            },
            Target::Activity {
                activity_id,
                workflow_id,
                run_id,
            } => AuditTarget {
                activity_id: s(activity_id),
                workflow_id: workflow_id.as_ref().map(|w| w.to_string()),
                run_id: run_id.as_ref().map(|r| r.to_string()),
                ..kind("activity")
            },
            Target::Schedule { schedule_id } => AuditTarget {
                schedule_id: s(schedule_id),
                ..kind("schedule")
            },
            Target::TaskQueue { task_queue } => AuditTarget {
                task_queue: s(task_queue),
                ..kind("task-queue")
            },
            Target::BatchJob { job_id } => AuditTarget {
                job_id: s(job_id),
                ..kind("batch-job")
            },
            Target::NamespaceId { namespace_id } => AuditTarget {
                namespace_id: Some(namespace_id.clone()),
                ..kind("namespace-id")
            },
        }
    }
}

impl AuditTarget {
    /// The id of what the command acts on, by kind: the activity's for an activity (not its
    /// workflow's), the workflow's, the schedule's, ... `None` for a batch (its query is no id)
    /// and for none.
    pub fn id(&self) -> Option<&str> {
        match self.kind.as_str() {
            "activity" => self.activity_id.as_deref(),
            _ => self
                .workflow_id
                .as_deref()
                .or(self.schedule_id.as_deref())
                .or(self.activity_id.as_deref())
                .or(self.task_queue.as_deref())
                .or(self.job_id.as_deref())
                .or(self.namespace_id.as_deref()),
        }
    }
}

impl AuditTarget {
    /// [`Display`](std::fmt::Display)'s phrase with each value passed through `value` (which
    /// may quote it).
    pub fn phrase_with(&self, value: impl Fn(&str) -> String) -> String {
        let mut s = self.kind.clone();
        let activity = self.kind == "activity";
        if let Some(v) = self.id().or(self.query.as_deref()) {
            s.push(' ');
            s.push_str(&value(v));
        }
        if activity && let Some(w) = &self.workflow_id {
            s.push_str(" of workflow ");
            s.push_str(&value(w));
        }
        if let Some(r) = &self.run_id {
            s.push_str(" run ");
            s.push_str(&value(r));
        }
        s
    }
}

impl std::fmt::Display for AuditTarget {
    /// One phrase: `workflow pay-1 run r1`, `activity a1 of workflow pay-1`, `batch
    /// WorkflowType="x"`, `schedule nightly`, `none`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.phrase_with(str::to_owned))
    }
}

/// What a writer records: every field of a [`Record`] but `v`, `seq`, `prev_hash` and `hash`,
/// which the log assigns when it appends. Field order is the on-disk order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    /// When the writer made the record: RFC 3339, UTC, nanoseconds.
    pub time: String,
    /// Decision or result.
    pub kind: Kind,
    /// Links a request's decision and result records (UUID v4).
    pub request_id: String,
    /// Caller identity.
    pub caller: String,
    /// Caller's groups.
    pub groups: Vec<String>,
    /// How the request arrived.
    pub channel: Channel,
    /// Integration name (absent when none was resolved).
    pub integration: Option<String>,
    /// The command line as received, secrets redacted (decision records).
    pub raw: Option<String>,
    /// Canonical argv, obligations applied, secrets redacted.
    pub argv: Vec<String>,
    /// Command path, e.g. `workflow list`.
    pub command: Option<String>,
    /// Effect class.
    pub class: Option<EffectClass>,
    /// Target namespace.
    pub namespace: Option<String>,
    /// What the command acts on.
    pub target: Option<AuditTarget>,
    /// The decision.
    pub decision: Option<Decision>,
    /// Ids of the deciding rules (decision records).
    pub rules: Vec<String>,
    /// The decision's reason (decision records).
    pub reason: Option<String>,
    /// The justification the caller gave (`tgate run --justification`), secrets replaced;
    /// absent from records written before it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Approval that let the command run.
    pub approval_id: Option<String>,
    /// Executor that ran it (result records).
    pub backend: Option<Executor>,
    /// tgate's exit code for the command (result records).
    pub exit_code: Option<i32>,
    /// Native runs: the gRPC status of the command's last call (`OK`, `NOT_FOUND`…).
    pub grpc_status: Option<String>,
    /// Execution time in nanoseconds (result records).
    pub duration_ns: Option<u64>,
    /// Bytes written to standard output.
    pub output_bytes: Option<u64>,
    /// SHA-256 (hex) of standard output.
    pub output_sha256: Option<String>,
    /// Error text: the command's standard error when it failed, or why it did not run.
    pub error: Option<String>,
}

/// One line of the log, as read back. Same fields as [`Entry`], plus the chain fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Format version ([`FORMAT_VERSION`]).
    pub v: u32,
    /// Sequence number: 1 for the first record of the chain, +1 per record, across files.
    pub seq: u64,
    /// See [`Entry::time`].
    pub time: String,
    /// See [`Entry::kind`].
    pub kind: Kind,
    /// See [`Entry::request_id`].
    pub request_id: String,
    /// See [`Entry::caller`].
    pub caller: String,
    /// See [`Entry::groups`].
    pub groups: Vec<String>,
    /// See [`Entry::channel`].
    pub channel: Channel,
    /// See [`Entry::integration`].
    pub integration: Option<String>,
    /// See [`Entry::raw`].
    pub raw: Option<String>,
    /// See [`Entry::argv`].
    pub argv: Vec<String>,
    /// See [`Entry::command`].
    pub command: Option<String>,
    /// See [`Entry::class`].
    pub class: Option<EffectClass>,
    /// See [`Entry::namespace`].
    pub namespace: Option<String>,
    /// See [`Entry::target`].
    pub target: Option<AuditTarget>,
    /// See [`Entry::decision`].
    pub decision: Option<Decision>,
    /// See [`Entry::rules`].
    pub rules: Vec<String>,
    /// See [`Entry::reason`].
    pub reason: Option<String>,
    /// See [`Entry::justification`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// See [`Entry::approval_id`].
    pub approval_id: Option<String>,
    /// See [`Entry::backend`].
    pub backend: Option<Executor>,
    /// See [`Entry::exit_code`].
    pub exit_code: Option<i32>,
    /// See [`Entry::grpc_status`].
    pub grpc_status: Option<String>,
    /// See [`Entry::duration_ns`].
    pub duration_ns: Option<u64>,
    /// See [`Entry::output_bytes`].
    pub output_bytes: Option<u64>,
    /// See [`Entry::output_sha256`].
    pub output_sha256: Option<String>,
    /// See [`Entry::error`].
    pub error: Option<String>,
    /// `hash` of the previous record ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// SHA-256 of this record's canonical bytes.
    pub hash: String,
}

/// The length of `,"hash":"<64 hex>"}`.
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

impl Entry {
    /// A record of `kind` made now by `caller` through `channel`, with a fresh request id and
    /// every optional field empty: writers set what applies with struct update syntax.
    pub fn new(kind: Kind, caller: &str, channel: Channel) -> Entry {
        Entry {
            time: now(),
            kind,
            request_id: crate::random::uuid_v4().to_string(),
            caller: caller.to_owned(),
            groups: Vec::new(),
            channel,
            integration: None,
            raw: None,
            argv: Vec::new(),
            command: None,
            class: None,
            namespace: None,
            target: None,
            decision: None,
            rules: Vec::new(),
            reason: None,
            justification: None,
            approval_id: None,
            backend: None,
            exit_code: None,
            grpc_status: None,
            duration_ns: None,
            output_bytes: None,
            output_sha256: None,
            error: None,
        }
    }

    /// The decision record of `ev`, the policy's answer to the command line `raw` (already
    /// redacted) from `caller` through `channel`: the command as read, its class and namespace,
    /// the decision, its rules and reason. Writers add what else they know (groups, integration,
    /// target, a scrubbed reason) with struct update syntax.
    pub fn decision(ev: &Evaluation, raw: String, caller: &str, channel: Channel) -> Entry {
        Entry {
            raw: Some(raw),
            argv: ev.argv.clone(),
            command: ev.command.clone(),
            class: ev.class,
            namespace: ev.namespace.clone(),
            decision: Some(ev.decision),
            rules: ev.rules.clone(),
            reason: Some(ev.reason.clone()),
            ..Entry::new(Kind::Decision, caller, channel)
        }
    }

    /// The entry with every occurrence of `secrets` (an integration's API keys) replaced in the
    /// text it carries from the request: the raw line, argv, target, reason and error. Unchanged
    /// when there are none.
    pub fn scrubbed(mut self, secrets: &[String]) -> Entry {
        if secrets.is_empty() {
            return self;
        }
        let scrub = |t: &mut String| {
            if secrets
                .iter()
                .any(|k| !k.is_empty() && t.contains(k.as_str()))
            {
                *t = crate::audit::redact::scrub(t, secrets);
            }
        };
        for text in self
            .raw
            .iter_mut()
            .chain(self.argv.iter_mut())
            .chain(self.reason.iter_mut())
            .chain(self.namespace.iter_mut())
            .chain(self.justification.iter_mut())
            .chain(self.error.iter_mut())
        {
            scrub(text);
        }
        if let Some(t) = &mut self.target {
            for text in [
                &mut t.workflow_id,
                &mut t.run_id,
                &mut t.activity_id,
                &mut t.schedule_id,
                &mut t.task_queue,
                &mut t.job_id,
                &mut t.query,
                &mut t.namespace_id,
            ]
            .into_iter()
            .flatten()
            {
                scrub(text);
            }
        }
        self
    }

    /// The entry's members as JSON, without the enclosing braces: what the log splices between
    /// `seq` and `prev_hash`.
    pub fn members(&self) -> Result<String, serde_json::Error> {
        let mut json = serde_json::to_string(self)?;
        // `{...}`: drop the braces.
        json.pop();
        json.remove(0);
        Ok(json)
    }
}

/// The full line (with its newline) and hash of the record with these members.
pub fn seal(seq: u64, members: &str, prev_hash: &str) -> (String, String) {
    let mut line = String::with_capacity(members.len() + 200);
    line.push_str("{\"v\":");
    line.push_str(&FORMAT_VERSION.to_string());
    line.push_str(",\"seq\":");
    line.push_str(&seq.to_string());
    line.push(',');
    line.push_str(members);
    line.push_str(",\"prev_hash\":\"");
    line.push_str(prev_hash);
    line.push_str("\"}");
    let hash = sha256_hex(line.as_bytes());
    line.pop();
    line.push_str(",\"hash\":\"");
    line.push_str(&hash);
    line.push_str("\"}\n");
    (line, hash)
}

/// Why a line is not a sound record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Not JSON of the record's shape.
    #[error("not an audit record: {0}")]
    Malformed(String),
    /// A format version this tgate does not read.
    #[error("unsupported format version {0} (this tgate reads {FORMAT_VERSION})")]
    Version(u32),
    /// The content does not match its `hash`.
    #[error("content does not match its hash")]
    HashMismatch,
}

/// The format version a stored line says it is in (its first member, `{"v":N,`), without
/// parsing the rest, which another version may shape differently. `None` when it does not begin
/// so (not a record line).
pub fn version_of(line: &[u8]) -> Option<u32> {
    let rest = line.strip_prefix(b"{\"v\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b',') {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// Reads one line (without its newline) and checks that its content matches its own hash.
/// Returns the record either way when it parses, with whether the hash matched.
pub fn check_line(line: &[u8]) -> Result<(Record, bool), LineError> {
    let rec: Record =
        serde_json::from_slice(line).map_err(|e| LineError::Malformed(e.to_string()))?;
    if rec.v != FORMAT_VERSION {
        return Err(LineError::Version(rec.v));
    }
    Ok((rec, hash_matches(line)))
}

/// Why a record read from `line` is not as tgate writes records, if it is not: every member
/// present, in the writer's order, spelt as the writer spells it (no escape where none is needed,
/// no space), the time as [`rfc3339`] gives it, the request id a lowercase hyphenated UUID. A
/// line that fails this and matches its hash was rewritten and re-hashed, or made by something
/// other than tgate (QA: `verify` accepted a re-hashed chain holding `"time":"yesterday"`, a
/// member left out, a request id that is no UUID; the export then read such times as text).
pub fn form_error(line: &[u8], rec: &Record) -> Option<String> {
    if let Some(why) = field_error(rec) {
        return Some(why);
    }
    // Written again and compared as it is written, without a copy (verify reads every record).
    let mut same = SameAs {
        line,
        at: 0,
        differs: None,
    };
    if let Err(e) = serde_json::to_writer(&mut same, rec) {
        return Some(format!("it cannot be written back: {e}"));
    }
    let at = match same.differs {
        None if same.at == line.len() => return None,
        None => same.at.min(line.len()),
        Some(at) => at,
    };
    Some(format!(
        "from byte {at} on, its members are not as tgate writes them (a member left out, added, \
         moved or spelt another way)"
    ))
}

/// A writer that compares what is written to it with `line`: `differs` is where it first
/// differed.
struct SameAs<'a> {
    line: &'a [u8],
    at: usize,
    differs: Option<usize>,
}

impl std::io::Write for SameAs<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.differs.is_none() {
            let have = self.line.get(self.at..).unwrap_or_default();
            let n = have.len().min(buf.len());
            if have[..n] != buf[..n] {
                let i = (0..n).find(|&i| have[i] != buf[i]).unwrap_or(n);
                self.differs = Some(self.at + i);
            } else if n < buf.len() {
                self.differs = Some(self.at + n);
            }
        }
        self.at += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The part of [`form_error`] that reads the record alone: its time and request id, which
/// the export reads (a time filter compares the text).
pub fn field_error(rec: &Record) -> Option<String> {
    let shown = |text: &str| {
        let end = crate::diag::floor_char_boundary(text, 80);
        let more = if end < text.len() { "..." } else { "" };
        format!("`{}{more}`", text[..end].escape_debug())
    };
    if !parse_rfc3339(&rec.time).is_ok_and(|(secs, nanos)| format_utc(secs, nanos) == rec.time) {
        return Some(format!(
            "its time {} is not one tgate writes (RFC 3339 in UTC with nine fraction digits)",
            shown(&rec.time)
        ));
    }
    if !uuid::Uuid::try_parse(&rec.request_id)
        .is_ok_and(|id| id.hyphenated().to_string() == rec.request_id)
    {
        return Some(format!(
            "its request id {} is not a UUID as tgate writes one",
            shown(&rec.request_id)
        ));
    }
    None
}

/// Whether a line's trailing `hash` member is the SHA-256 of the rest of it.
pub fn hash_matches(line: &[u8]) -> bool {
    let n = line.len();
    if n < HASH_SUFFIX_LEN + 2 {
        return false;
    }
    let suffix = &line[n - HASH_SUFFIX_LEN..];
    if !suffix.starts_with(b",\"hash\":\"") || !suffix.ends_with(b"\"}") {
        return false;
    }
    let claimed = &suffix[9..9 + 64];
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(&line[..n - HASH_SUFFIX_LEN]);
    ctx.update(b"}");
    hex(ctx.finish().as_ref()).as_bytes() == claimed
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Now, as [`rfc3339`].
pub fn now() -> String {
    rfc3339(SystemTime::now())
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (always nine fraction digits, so the text sorts as time does).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format_utc(d.as_secs() as i64, d.subsec_nanos())
}

/// Formats seconds since the epoch (UTC) and nanoseconds.
pub fn format_utc(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Reads an RFC 3339 time (`2026-05-01T10:00:00Z`, `…T10:00:00.5+02:00`; a lowercase `t`/`z`, or
/// a space for `T`, as RFC 3339 allows) as seconds since the epoch (UTC) and nanoseconds.
pub fn parse_rfc3339(text: &str) -> Result<(i64, u32), String> {
    let bad = || format!("`{text}` is not an RFC 3339 time (e.g. 2026-05-01T10:00:00Z)");
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let s = text.get(r).ok_or_else(bad)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse::<i64>().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        let digits = &text[start..i.min(start + 9)];
        nanos = format!("{digits:0<9}").parse().map_err(|_| bad())?;
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return Err(bad()),
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
    Ok((secs, nanos))
}

/// (year, month, day) of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day count since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_target_is_one_phrase_with_its_own_id_first() {
        let of = |argv: &[&str]| {
            let t = AuditTarget::from(&crate::Command::parse(argv).unwrap().target());
            (t.to_string(), t.id().map(str::to_owned))
        };
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            of(&[
                "temporal", "workflow", "describe", "-w", "pay-1", "-r", "r1"
            ]),
            ("workflow pay-1 run r1".to_owned(), some("pay-1"))
        );
        assert_eq!(
            of(&["temporal", "workflow", "describe", "-w", "pay-1"]),
            ("workflow pay-1".to_owned(), some("pay-1"))
        );
        // An activity is named by its own id, its workflow after it (the OCSF uid is the
        // activity's, not the workflow's).
        assert_eq!(
            of(&[
                "temporal",
                "activity",
                "pause",
                "-w",
                "pay-1",
                "-r",
                "r1",
                "--activity-id",
                "a7",
            ]),
            (
                "activity a7 of workflow pay-1 run r1".to_owned(),
                some("a7")
            )
        );
        assert_eq!(
            of(&[
                "temporal",
                "workflow",
                "terminate",
                "-q",
                "WorkflowType=\"x\""
            ]),
            ("batch WorkflowType=\"x\"".to_owned(), None)
        );
        assert_eq!(
            of(&["temporal", "schedule", "describe", "-s", "nightly"]),
            ("schedule nightly".to_owned(), some("nightly"))
        );
        assert_eq!(
            of(&["temporal", "workflow", "list"]),
            ("none".to_owned(), None)
        );
    }

    pub(crate) fn entry(caller: &str) -> Entry {
        Entry {
            time: "2026-05-01T10:00:00.000000001Z".to_owned(),
            request_id: "9b2f6d0e-0000-4000-8000-000000000001".to_owned(),
            groups: vec!["sre".to_owned()],
            integration: Some("local".to_owned()),
            raw: Some("temporal workflow describe -w \"pay 1\"".to_owned()),
            argv: vec!["temporal".into(), "workflow".into(), "describe".into()],
            command: Some("workflow describe".to_owned()),
            class: Some(EffectClass::Read),
            namespace: Some("payments".to_owned()),
            target: Some(AuditTarget::from(
                &crate::Command::parse(&["temporal", "workflow", "describe", "-w", "pay 1"])
                    .unwrap()
                    .target(),
            )),
            decision: Some(Decision::Allow),
            rules: vec!["reads".to_owned()],
            reason: Some("reads are fine".to_owned()),
            ..Entry::new(Kind::Decision, caller, Channel::Cli)
        }
    }

    #[test]
    fn a_sealed_line_reads_back_and_checks() {
        let e = entry("agent-1");
        let (line, hash) = seal(7, &e.members().unwrap(), GENESIS);
        assert!(line.ends_with("\"}\n"));
        let body = line.trim_end_matches('\n').as_bytes();
        let (rec, ok) = check_line(body).unwrap();
        assert!(ok);
        assert_eq!(rec.seq, 7);
        assert_eq!(rec.hash, hash);
        assert_eq!(rec.prev_hash, GENESIS);
        assert_eq!(rec.caller, "agent-1");
        assert_eq!(rec.target.as_ref().unwrap().to_string(), "workflow pay 1");
        // The record re-serialises to exactly the line: Entry and Record list the same fields in
        // the same order.
        assert_eq!(serde_json::to_string(&rec).unwrap(), line.trim_end());
        // The hash is over the line without its hash member.
        let canonical = format!("{}}}", &line[..line.len() - 1 - HASH_SUFFIX_LEN]);
        assert_eq!(sha256_hex(canonical.as_bytes()), hash);
    }

    /// What the writer makes is in form, whatever the text it holds: controls, quotes,
    /// backslashes, line separators, non-ASCII, a justification or none, each kind of record.
    #[test]
    fn every_record_the_writer_makes_is_in_form() {
        let odd = "a\u{0}\u{1b}[31m\"\\/\u{2028}\u{7f}é𝄞\t\r\n";
        for kind in [Kind::Decision, Kind::Result, Kind::ApprovalRequested] {
            for justification in [None, Some(odd.to_owned())] {
                let e = Entry {
                    time: now(),
                    kind,
                    raw: Some(odd.to_owned()),
                    argv: vec![odd.to_owned(), String::new()],
                    error: Some(odd.to_owned()),
                    exit_code: Some(-1),
                    duration_ns: Some(u64::MAX),
                    justification,
                    ..entry(odd)
                };
                let (line, _) = seal(u64::MAX, &e.members().unwrap(), GENESIS);
                let body = line.trim_end_matches('\n').as_bytes();
                let (rec, sound) = check_line(body).unwrap();
                assert!(sound);
                assert_eq!(form_error(body, &rec), None, "{line}");
            }
        }
    }

    #[test]
    fn any_edit_breaks_the_hash() {
        let (line, _) = seal(1, &entry("agent-1").members().unwrap(), GENESIS);
        let edited = line.trim_end().replace("agent-1", "agent-2");
        let (rec, ok) = check_line(edited.as_bytes()).unwrap();
        assert_eq!(rec.caller, "agent-2");
        assert!(!ok);
        // Re-formatted JSON is an edit too.
        let pretty = line.trim_end().replace(",\"seq\"", ", \"seq\"");
        assert!(!check_line(pretty.as_bytes()).unwrap().1);
        assert!(matches!(
            check_line(b"{\"v\":1"),
            Err(LineError::Malformed(_))
        ));
        let v2 = line.trim_end().replace("{\"v\":1,", "{\"v\":2,");
        assert_eq!(
            check_line(v2.as_bytes()).unwrap_err(),
            LineError::Version(2)
        );
    }

    #[test]
    fn times() {
        assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            format_utc(1_777_629_600, 5),
            "2026-05-01T10:00:00.000000005Z"
        );
        assert_eq!(
            parse_rfc3339("2026-05-01T10:00:00Z").unwrap(),
            (1_777_629_600, 0)
        );
        assert_eq!(
            parse_rfc3339("2026-05-01T12:00:00.5+02:00").unwrap(),
            (1_777_629_600, 500_000_000)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29t23:59:59.123456789123z").unwrap(),
            (1_709_251_199, 123_456_789)
        );
        for bad in [
            "2026-05-01",
            "2026-13-01T00:00:00Z",
            "2026-05-01T10:00:00",
            "yesterday",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        let (s, n) = parse_rfc3339("1999-12-31T23:59:59.25Z").unwrap();
        assert_eq!(format_utc(s, n), "1999-12-31T23:59:59.250000000Z");
    }
}
