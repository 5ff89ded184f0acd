//! Reading the log back: filters, and the export formats (JSON Lines, CSV, OCSF) and the
//! human-readable view of `tgate audit tail`.
//!
//! Export streams: records are read file after file (rotated and gzip-compressed ones included,
//! oldest first) and written as they match, in constant memory. JSON Lines export writes each
//! matching line exactly as stored, so exported records still verify against their hashes.
//! Export does not check the chain (`tgate audit verify` does); a line that is not a record is
//! reported and skipped.

use std::io::{BufRead, Write};
use std::path::Path;

use super::AuditError;
use super::record::{FORMAT_VERSION, Kind, Record};
use crate::command::EffectClass;
use crate::policy::Decision;

/// Export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The records as stored, one per line.
    Jsonl,
    /// CSV with a header row, stable columns (docs/audit.md).
    Csv,
    /// OCSF 1.1 API Activity events (class 6003), one JSON object per line.
    Ocsf,
}

/// Which records to export. Every given criterion must hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Records at or after this time (RFC 3339 text in the records' own form).
    pub since: Option<String>,
    /// Records before this time.
    pub until: Option<String>,
    /// Caller identity.
    pub caller: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Decision.
    pub decision: Option<Decision>,
    /// Command path, or a group of commands (`workflow` matches `workflow list`).
    pub command: Option<String>,
}

impl Filter {
    /// Whether no criterion is given.
    pub fn is_empty(&self) -> bool {
        self.since.is_none()
            && self.until.is_none()
            && self.caller.is_none()
            && self.namespace.is_none()
            && self.decision.is_none()
            && self.command.is_none()
    }

    /// Whether `rec` matches.
    pub fn matches(&self, rec: &Record) -> bool {
        self.since.as_ref().is_none_or(|s| rec.time >= *s)
            && self.until.as_ref().is_none_or(|u| rec.time < *u)
            && self.caller.as_ref().is_none_or(|c| rec.caller == *c)
            && self
                .namespace
                .as_ref()
                .is_none_or(|n| rec.namespace.as_ref() == Some(n))
            && self.decision.is_none_or(|d| rec.decision == Some(d))
            && self.command.as_ref().is_none_or(|want| {
                rec.command.as_deref().is_some_and(|c| {
                    c == want
                        || c.strip_prefix(want.as_str())
                            .is_some_and(|rest| rest.starts_with(' '))
                })
            })
    }
}

/// A time bound given on the command line: RFC 3339, or a duration before now (`90m`, `2h`,
/// `7d`). Returns it in the records' form.
pub fn parse_time_bound(text: &str) -> Result<String, String> {
    if let Ok(ns) = crate::command::parse_duration(text) {
        let now = std::time::SystemTime::now();
        let ago = std::time::Duration::from_nanos(ns.max(0) as u64);
        return Ok(super::record::rfc3339(
            now.checked_sub(ago).unwrap_or(std::time::UNIX_EPOCH),
        ));
    }
    let (secs, nanos) = super::record::parse_rfc3339(text)?;
    Ok(super::record::format_utc(secs, nanos))
}

/// What joins a record's groups, and its rules, in one CSV cell. No group or rule id may hold it
/// (checked where they are given: `--group`, the configuration's approvers, policy rule ids), so
/// a cell reads back as the list it was.
pub const LIST_SEPARATOR: &str = ";";

/// Why a group's name cannot be one: it holds [`LIST_SEPARATOR`] (`holds ...`, for a message that
/// names the group first), or `None`.
pub fn group_unjoinable(group: &str) -> Option<String> {
    group.contains(LIST_SEPARATOR).then(|| {
        format!(
            "holds `{LIST_SEPARATOR}`, which the audit log's CSV export uses to join groups (one \
             group would read as two)"
        )
    })
}

/// The CSV columns, in order. Stable: new columns are only ever added at the end.
pub const CSV_COLUMNS: &[&str] = &[
    "seq",
    "time",
    "kind",
    "request_id",
    "caller",
    "groups",
    "channel",
    "integration",
    "command",
    "class",
    "namespace",
    "target",
    "decision",
    "rules",
    "reason",
    "approval_id",
    "backend",
    "exit_code",
    "grpc_status",
    "duration_ns",
    "output_bytes",
    "output_sha256",
    "error",
    "raw",
    "argv",
    "prev_hash",
    "hash",
    "v",
    "justification",
];

/// What an export did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records written.
    pub written: u64,
    /// Lines skipped because they are not records, or records of another format version:
    /// `file:line: why`.
    pub skipped: Vec<String>,
}

/// Streams the records of the chain whose active file is `log` that match `filter` to `out`.
pub fn export(
    log: &Path,
    format: Format,
    filter: &Filter,
    out: &mut dyn Write,
) -> Result<Summary, ExportError> {
    let files = super::chain_snapshot(log)?;
    let mut summary = Summary::default();
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, out);
    if format == Format::Csv {
        write!(w, "{}\r\n", CSV_COLUMNS.join(","))?;
    }
    let mut line = Vec::new();
    let mut text = String::new();
    for (file, opened, _) in files {
        let err = |e: std::io::Error| AuditError::Io {
            path: file.display().to_string(),
            message: e.to_string(),
        };
        let mut reader = std::io::BufReader::new(opened);
        let mut no = 0u64;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).map_err(err)? == 0 {
                break;
            }
            no += 1;
            let bytes = line.strip_suffix(b"\n").unwrap_or(&line);
            let mut skip = |why: String| {
                summary
                    .skipped
                    .push(format!("{}:{no}: {why}", file.display()));
            };
            // Read whole for every format, and passed on as stored in JSON Lines: a line verify
            // refuses as no record (a member unknown or given twice, a kind no record has) is
            // not passed on as one (QA: the unfiltered export did, and a `caller` given twice
            // reads as either, depending on the reader).
            let rec = match read_record(bytes) {
                Ok(rec) => rec,
                Err(why) => {
                    skip(why);
                    continue;
                }
            };
            if let Some(why) = super::record::field_error(&rec) {
                skip(format!("not an audit record as tgate writes one: {why}"));
                continue;
            }
            if !filter.matches(&rec) {
                continue;
            }
            match format {
                Format::Jsonl => {
                    w.write_all(bytes)?;
                    w.write_all(b"\n")?;
                }
                Format::Csv | Format::Ocsf => {
                    text.clear();
                    if format == Format::Csv {
                        csv_row(&rec, &mut text);
                    } else {
                        text.push_str(
                            &serde_json::to_string(&ocsf(&rec)).map_err(std::io::Error::other)?,
                        );
                        text.push('\n');
                    }
                    w.write_all(text.as_bytes())?;
                }
            }
            summary.written += 1;
        }
    }
    w.flush()?;
    Ok(summary)
}

/// One line of the log read as a record of this format version, or why it is not one: a record
/// of another version (its version read first: its fields may not parse as this one's, or mean
/// something else), or a line that is no record. Export skips such a line, `tail` says why.
pub fn read_record(line: &[u8]) -> Result<Record, String> {
    if let Some(v) = super::record::version_of(line).filter(|&v| v != FORMAT_VERSION) {
        return Err(unsupported(v));
    }
    match serde_json::from_slice::<Record>(line) {
        Ok(r) if r.v != FORMAT_VERSION => Err(unsupported(r.v)),
        Ok(r) => Ok(r),
        Err(e) => Err(format!("not an audit record: {e}")),
    }
}

/// Why a record of another format version is not read (export skips it, tail says so).
fn unsupported(v: u32) -> String {
    format!("unsupported format version {v} (this tgate reads {FORMAT_VERSION})")
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The log could not be read.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The output could not be written (a closed pipe among them).
    #[error("cannot write the export: {0}")]
    Output(#[from] std::io::Error),
}

/// One CSV row (with its line end). Text cells that a spreadsheet would read as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or carriage return) are prefixed with `'`.
fn csv_row(r: &Record, out: &mut String) {
    use std::fmt::Write as _;
    fn text(out: &mut String, cell: &str) {
        out.push(',');
        let guarded = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
        if !guarded && !cell.contains([',', '"', '\n', '\r']) {
            out.push_str(cell);
            return;
        }
        out.push('"');
        if guarded {
            out.push('\'');
        }
        for c in cell.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    }
    fn opt(out: &mut String, cell: Option<&str>) {
        text(out, cell.unwrap_or_default());
    }
    fn num<N: std::fmt::Display>(out: &mut String, n: Option<N>) {
        out.push(',');
        if let Some(n) = n {
            let _ = write!(out, "{n}");
        }
    }
    let _ = write!(out, "{}", r.seq);
    text(out, &r.time);
    text(out, kind_str(r.kind));
    text(out, &r.request_id);
    text(out, &r.caller);
    text(out, &r.groups.join(LIST_SEPARATOR));
    text(out, r.channel.as_str());
    opt(out, r.integration.as_deref());
    opt(out, r.command.as_deref());
    opt(out, r.class.map(EffectClass::as_str));
    opt(out, r.namespace.as_deref());
    opt(out, r.target.as_ref().map(|t| t.to_string()).as_deref());
    opt(out, r.decision.map(Decision::as_str));
    text(out, &r.rules.join(LIST_SEPARATOR));
    opt(out, r.reason.as_deref());
    opt(out, r.approval_id.as_deref());
    opt(out, r.backend.map(|b| b.as_str()));
    num(out, r.exit_code);
    opt(out, r.grpc_status.as_deref());
    num(out, r.duration_ns);
    num(out, r.output_bytes);
    opt(out, r.output_sha256.as_deref());
    opt(out, r.error.as_deref());
    opt(out, r.raw.as_deref());
    text(out, &super::redact::join(&r.argv));
    text(out, &r.prev_hash);
    text(out, &r.hash);
    num(out, Some(r.v));
    opt(out, r.justification.as_deref());
    out.push_str("\r\n");
}

fn kind_str(k: Kind) -> &'static str {
    k.as_str()
}

/// The OCSF 1.1.0 API Activity (class 6003) event of a record.
pub fn ocsf(r: &Record) -> Ocsf<'_> {
    // Activity from the command's effect class.
    let (activity_id, activity_name) = match r.class {
        Some(EffectClass::Read) => (2, "Read"),
        Some(EffectClass::Write | EffectClass::Admin) => (3, "Update"),
        Some(EffectClass::Destructive) => (4, "Delete"),
        Some(EffectClass::Local) | None => (99, "Other"),
    };
    let (status_id, status) = match (r.kind, r.decision, r.exit_code) {
        (Kind::Decision, Some(Decision::Allow), _) => (1, "Success"),
        (Kind::Decision, Some(Decision::Deny | Decision::RequireApproval) | None, _) => {
            (2, "Failure")
        }
        (Kind::Result, _, Some(0)) => (1, "Success"),
        (Kind::Result, _, _) => (2, "Failure"),
        (
            Kind::ApprovalRequested
            | Kind::ApprovalApproved
            | Kind::ApprovalRejected
            | Kind::ApprovalExpired
            | Kind::ApprovalUsed
            | Kind::ApprovalReturned,
            _,
            _,
        ) => (1, "Success"),
    };
    let (disposition_id, disposition, severity_id) = match r.decision {
        Some(Decision::Allow) => (1, "Allowed", 1),
        Some(Decision::RequireApproval) => (99, "Approval required", 2),
        Some(Decision::Deny) | None => (2, "Blocked", 3),
    };
    let (secs, nanos) = super::record::parse_rfc3339(&r.time).unwrap_or((0, 0));
    let mut resources = Vec::new();
    if let Some(ns) = &r.namespace {
        resources.push(OcsfResource {
            r#type: "temporal.namespace".to_owned(),
            uid: None,
            name: ns.clone(),
        });
    }
    if let Some(t) = r.target.as_ref().filter(|t| t.kind != "none") {
        resources.push(OcsfResource {
            r#type: format!("temporal.{}", t.kind),
            uid: t.id(),
            name: t.to_string(),
        });
    }
    Ocsf {
        class_uid: 6003,
        class_name: "API Activity",
        category_uid: 6,
        category_name: "Application Activity",
        activity_id,
        activity_name,
        type_uid: 6003 * 100 + activity_id,
        type_name: format!("API Activity: {activity_name}"),
        time: secs * 1000 + i64::from(nanos / 1_000_000),
        duration: r.duration_ns.map(|ns| ns / 1_000_000),
        severity_id,
        status_id,
        status,
        disposition_id,
        disposition,
        message: r.reason.as_deref().or(r.error.as_deref()),
        metadata: OcsfMetadata {
            version: "1.1.0",
            product: OcsfProduct {
                name: "tgate",
                vendor_name: "tgate",
                version: env!("CARGO_PKG_VERSION"),
            },
            log_name: "tgate-audit",
            uid: format!("{}:{}", r.request_id, kind_str(r.kind)),
            correlation_uid: &r.request_id,
            sequence: r.seq,
            original_time: &r.time,
        },
        actor: OcsfActor {
            user: OcsfUser {
                name: &r.caller,
                uid: &r.caller,
                groups: r.groups.iter().map(|g| OcsfGroup { name: g }).collect(),
            },
        },
        src_endpoint: OcsfEndpoint {
            name: r.channel.as_str(),
        },
        api: OcsfApi {
            operation: r.command.as_deref().unwrap_or_default(),
            service: OcsfService { name: "temporal" },
            request: OcsfRequest { uid: &r.request_id },
            response: OcsfResponse {
                code: r.exit_code,
                error: r.grpc_status.as_deref().filter(|s| *s != "OK"),
                error_message: r.error.as_deref(),
            },
        },
        resources,
        unmapped: OcsfUnmapped {
            kind: kind_str(r.kind),
            integration: r.integration.as_deref(),
            raw: r.raw.as_deref(),
            argv: &r.argv,
            class: r.class.map(EffectClass::as_str),
            decision: r.decision.map(Decision::as_str),
            rules: &r.rules,
            approval_id: r.approval_id.as_deref(),
            justification: r.justification.as_deref(),
            backend: r.backend.map(|b| b.as_str()),
            output_bytes: r.output_bytes,
            output_sha256: r.output_sha256.as_deref(),
            prev_hash: &r.prev_hash,
            hash: &r.hash,
        },
    }
}

/// An OCSF API Activity event: the attributes tgate fills, named as in OCSF 1.1 (mapping in
/// docs/audit.md).
#[derive(Debug, serde::Serialize)]
pub struct Ocsf<'a> {
    pub class_uid: u32,
    pub class_name: &'static str,
    pub category_uid: u32,
    pub category_name: &'static str,
    pub activity_id: u32,
    pub activity_name: &'static str,
    pub type_uid: u32,
    pub type_name: String,
    pub time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    pub severity_id: u32,
    pub status_id: u32,
    pub status: &'static str,
    pub disposition_id: u32,
    pub disposition: &'static str,
    pub message: Option<&'a str>,
    pub metadata: OcsfMetadata<'a>,
    pub actor: OcsfActor<'a>,
    pub src_endpoint: OcsfEndpoint,
    pub api: OcsfApi<'a>,
    pub resources: Vec<OcsfResource<'a>>,
    pub unmapped: OcsfUnmapped<'a>,
}

/// OCSF `metadata` (fields named as in OCSF 1.1).
#[derive(Debug, serde::Serialize)]
pub struct OcsfMetadata<'a> {
    pub version: &'static str,
    pub product: OcsfProduct,
    pub log_name: &'static str,
    pub uid: String,
    pub correlation_uid: &'a str,
    pub sequence: u64,
    pub original_time: &'a str,
}

/// OCSF `metadata.product`.
#[derive(Debug, serde::Serialize)]
pub struct OcsfProduct {
    pub name: &'static str,
    pub vendor_name: &'static str,
    pub version: &'static str,
}

/// OCSF `actor`.
#[derive(Debug, serde::Serialize)]
pub struct OcsfActor<'a> {
    pub user: OcsfUser<'a>,
}

/// OCSF `actor.user`.
#[derive(Debug, serde::Serialize)]
pub struct OcsfUser<'a> {
    pub name: &'a str,
    pub uid: &'a str,
    pub groups: Vec<OcsfGroup<'a>>,
}

/// OCSF group.
#[derive(Debug, serde::Serialize)]
pub struct OcsfGroup<'a> {
    pub name: &'a str,
}

/// OCSF `src_endpoint`.
#[derive(Debug, serde::Serialize)]
pub struct OcsfEndpoint {
    pub name: &'static str,
}

/// OCSF `api`.
#[derive(Debug, serde::Serialize)]
pub struct OcsfApi<'a> {
    pub operation: &'a str,
    pub service: OcsfService,
    pub request: OcsfRequest<'a>,
    pub response: OcsfResponse<'a>,
}

/// OCSF `api.service`.
#[derive(Debug, serde::Serialize)]
pub struct OcsfService {
    pub name: &'static str,
}

/// OCSF `api.request`.
#[derive(Debug, serde::Serialize)]
pub struct OcsfRequest<'a> {
    pub uid: &'a str,
}

/// OCSF `api.response`.
#[derive(Debug, serde::Serialize)]
pub struct OcsfResponse<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<&'a str>,
}

/// OCSF resource details.
#[derive(Debug, serde::Serialize)]
pub struct OcsfResource<'a> {
    pub r#type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<&'a str>,
    pub name: String,
}

/// OCSF `unmapped`: tgate's record fields that OCSF has no attribute for.
#[derive(Debug, serde::Serialize)]
pub struct OcsfUnmapped<'a> {
    pub kind: &'static str,
    pub integration: Option<&'a str>,
    pub raw: Option<&'a str>,
    pub argv: &'a [String],
    pub class: Option<&'static str>,
    pub decision: Option<&'static str>,
    pub rules: &'a [String],
    pub approval_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<&'a str>,
    pub backend: Option<&'static str>,
    pub output_bytes: Option<u64>,
    pub output_sha256: Option<&'a str>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

/// A value the agent chose (an id, a namespace), quoted on a `tail` line unless it is plain: an
/// id such as `x] rules=reads: … req=11111111  2026-… #99 approval approved …` read as a second
/// record inside the line (adversarial review).
fn plain_or_quoted(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=:,./@%+".contains(c));
    if plain && v.len() <= SHOWN {
        v.to_owned()
    } else {
        quoted(v)
    }
}

/// How many characters of a value a `tail` line shows: a longer one, padded to the terminal's
/// width, wrapped a forged record onto a row of its own (re-check). The export keeps it whole.
const SHOWN: usize = 120;

/// `v` shell-quoted (a NUL, which shell quoting cannot hold, as Rust's debug string), cut to
/// [`SHOWN`] columns as the line shows it (a character the line escapes, `\u{…}`, takes eight or
/// more: final review, twelve `ü` widened a 100-character id by 84 columns) with what was left
/// out counted after the closing quote.
fn quoted(v: &str) -> String {
    let mut columns = 0;
    let mut cut = None;
    for (at, c) in v.char_indices() {
        // As `lex::escape_to_ascii` shows it: as it is, or `\u{…}` with at least four hex
        // digits (a backslash that starts `u{`, escaped too, is counted as one column).
        columns += if c.is_ascii_graphic() || c == ' ' {
            1
        } else {
            8.max(4 + format!("{:x}", u32::from(c)).len())
        };
        if columns > SHOWN {
            cut = Some(at);
            break;
        }
    }
    let (shown, left) = match cut {
        Some(at) => (&v[..at], v[at..].chars().count()),
        None => (v, 0),
    };
    let q = shlex::try_quote(shown).map_or_else(|_| format!("{shown:?}"), |q| q.into_owned());
    if left == 0 {
        q
    } else {
        format!("{q}...(+{left} chars)")
    }
}

/// One record as a line of `tgate audit tail`.
pub fn human(r: &Record) -> String {
    let time = r.time.get(..23).map_or(r.time.clone(), |t| format!("{t}Z"));
    let what = r.command.as_deref().unwrap_or("(unparsed)");
    let mut s = format!("{time} #{:<6} ", r.seq);
    match r.kind {
        Kind::Decision => {
            let d = r.decision.map_or("-", Decision::as_str);
            s.push_str(&format!(
                "{d:<16} {} ({}) {what}",
                plain_or_quoted(&r.caller),
                r.channel.as_str()
            ));
            if let Some(ns) = &r.namespace {
                s.push_str(&format!(" -n {}", plain_or_quoted(ns)));
            }
            if let Some(t) = r.target.as_ref().filter(|t| t.kind != "none") {
                s.push_str(&format!(" [{}]", t.phrase_with(plain_or_quoted)));
            }
            if !r.rules.is_empty() {
                s.push_str(&format!(" rules={}", r.rules.join(",")));
            }
            if let Some(reason) = &r.reason {
                // tgate's own reasons quote the agent's words (`bad flag syntax: ---x req=…`,
                // a path, a namespace): quoted, as the error is (review), and so is every
                // reason, one rule for the line.
                s.push_str(&format!(": {}", quoted(reason)));
            }
        }
        Kind::Result => {
            let exit = r
                .exit_code
                .map_or("not run".to_owned(), |c| format!("exit {c}"));
            s.push_str(&format!(
                "{:<16} {} ({}) {what}",
                format!("result {exit}"),
                plain_or_quoted(&r.caller),
                r.channel.as_str()
            ));
            if let Some(b) = r.backend {
                s.push_str(&format!(" via {}", b.as_str()));
            }
            if let Some(ns) = r.duration_ns {
                s.push_str(&format!(" {:.1} ms", ns as f64 / 1e6));
            }
            if let (Some(n), Some(h)) = (r.output_bytes, &r.output_sha256) {
                s.push_str(&format!(" {n} B sha256:{}", &h[..h.len().min(12)]));
            }
            if let Some(e) = &r.error {
                // The command's own error names what the agent chose (`workflow not found for
                // ID: …`), so it is quoted whole: it cannot read as more of the line.
                let first = e.lines().next().unwrap_or_default();
                s.push_str(&format!(": {}", quoted(first)));
            }
        }
        Kind::ApprovalRequested
        | Kind::ApprovalApproved
        | Kind::ApprovalRejected
        | Kind::ApprovalExpired
        | Kind::ApprovalUsed
        | Kind::ApprovalReturned => {
            let step = r.kind.as_str().trim_start_matches("approval_");
            s.push_str(&format!(
                "{:<16} {} ({}) {what}",
                format!("approval {step}"),
                plain_or_quoted(&r.caller),
                r.channel.as_str()
            ));
            if let Some(id) = &r.approval_id {
                s.push_str(&format!(" id={id}"));
            }
            if let Some(t) = r.target.as_ref().filter(|t| t.kind != "none") {
                s.push_str(&format!(" [{}]", t.phrase_with(plain_or_quoted)));
            }
            // A requester withdraws their own request with a comment of their own (re-check:
            // `oops req=… #9 approval approved …` read as an approval that never happened).
            if let Some(reason) = &r.reason {
                s.push_str(&format!(": {}", quoted(reason)));
            }
        }
    }
    s.push_str(&format!(
        " req={}",
        &r.request_id[..r.request_id.len().min(8)]
    ));
    // A record written before tgate refused such characters, or by hand, cannot forge a line or
    // move the cursor here. The line is ASCII: a character past it is written `\u{…}` too, since
    // a look-alike of the quote (`ꞌ`, U+A78C) would close a quoted value to the eye and open a
    // forged record (re-check).
    crate::lex::escape_to_ascii(&s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::log::{AuditLog, DEFAULT_MAX_FILE_BYTES};
    use crate::audit::record::tests::entry;

    #[test]
    fn a_record_of_another_format_version_is_skipped_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        for caller in ["alice", "bob", "carol"] {
            log.append(&entry(caller)).unwrap();
        }
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[1] = lines[1].replacen("{\"v\":1,", "{\"v\":2,", 1);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let filtered = Filter {
            caller: Some("bob".into()),
            ..Filter::default()
        };
        let unfiltered = Filter::default();
        // Every way export reads a line: passed on as stored, its keys read, fully parsed.
        let ways = [
            (Format::Jsonl, &unfiltered),
            (Format::Jsonl, &filtered),
            (Format::Csv, &unfiltered),
            (Format::Ocsf, &unfiltered),
        ];
        for (format, filter) in ways {
            let mut out = Vec::new();
            let s = export(&path, format, filter, &mut out).unwrap();
            let out = String::from_utf8(out).unwrap();
            assert_eq!(
                s.skipped,
                [format!(
                    "{}:2: unsupported format version 2 (this tgate reads 1)",
                    path.display()
                )],
                "{format:?}"
            );
            assert!(!out.contains("bob"), "{format:?}: {out}");
            let want = if filter.is_empty() { 2 } else { 0 };
            assert_eq!(s.written, want, "{format:?}");
        }
        assert_eq!(
            crate::audit::record::version_of(lines[0].as_bytes()),
            Some(1)
        );
        // A version not in the first member (tgate never writes one) is still found.
        let body = lines[2].replacen("{\"v\":1,", "{", 1);
        let moved = format!("{},\"v\":3}}", body.strip_suffix('}').unwrap());
        std::fs::write(&path, format!("{}\n{}\n{moved}\n", lines[0], lines[1])).unwrap();
        for (format, filter) in ways {
            let mut out = Vec::new();
            let s = export(&path, format, filter, &mut out).unwrap();
            assert_eq!(s.skipped.len(), 2, "{format:?}: {:?}", s.skipped);
            // Read whole, its version said.
            assert_eq!(
                s.skipped[1],
                format!(
                    "{}:3: unsupported format version 3 (this tgate reads 1)",
                    path.display()
                )
            );
            assert!(
                !String::from_utf8(out).unwrap().contains("carol"),
                "{format:?}"
            );
        }
        for not_a_record in ["", "{\"v\":", "{\"v\":x,", "{\"v\":12", "[1]"] {
            assert_eq!(
                crate::audit::record::version_of(not_a_record.as_bytes()),
                None,
                "{not_a_record}"
            );
        }
    }

    /// A line verify refuses as no record is not passed on as one by any export, the unfiltered
    /// JSON Lines included (QA: it passed a member unknown or given twice, a kind or decision
    /// no record has, a fractional seq; a `caller` given twice reads as either, by reader).
    #[test]
    fn a_line_no_record_is_is_skipped_by_every_export() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        for caller in ["alice", "bob"] {
            log.append(&entry(caller)).unwrap();
        }
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        let good: Vec<&str> = text.lines().collect();
        let bad = [
            good[1].replacen(
                "\"caller\":\"bob\"",
                "\"caller\":\"bob\",\"caller\":\"admin\"",
                1,
            ),
            good[1].replacen("\"caller\":", "\"extra\":1,\"caller\":", 1),
            good[1].replacen("\"kind\":\"decision\"", "\"kind\":\"verdict\"", 1),
            good[1].replacen("\"seq\":2,", "\"seq\":2.0,", 1),
        ];
        for (i, line) in bad.iter().enumerate() {
            assert_ne!(line, good[1], "case {i} changed nothing");
            std::fs::write(&path, format!("{}\n{line}\n", good[0])).unwrap();
            for format in [Format::Jsonl, Format::Csv, Format::Ocsf] {
                let mut out = Vec::new();
                let s = export(&path, format, &Filter::default(), &mut out).unwrap();
                assert_eq!((s.written, s.skipped.len()), (1, 1), "case {i} {format:?}");
                assert!(
                    s.skipped[0].contains(":2: not an audit record: "),
                    "case {i} {format:?}: {:?}",
                    s.skipped
                );
                assert!(!String::from_utf8(out).unwrap().contains("bob"), "case {i}");
            }
        }
    }

    #[test]
    fn human_lines_escape_what_could_forge_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let mut e = entry("agent\n2026-12-01T21:40:00.000Z #99 allow dana\u{1b}[2K\u{202e}");
        e.reason = Some("a\u{2028}b".to_owned());
        log.append(&e).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let (record, _) = crate::audit::record::check_line(text.trim_end().as_bytes()).unwrap();
        let line = human(&record);
        assert!(
            !line.chars().any(|c| crate::lex::control_name(c).is_some()),
            "{line:?}"
        );
        assert!(
            line.contains(
                "agent\\u{000a}2026-12-01T21:40:00.000Z #99 allow dana\\u{001b}[2K\\u{202e}"
            ),
            "{line}"
        );
        assert!(line.contains("a\\u{2028}b"), "{line}");
    }

    /// Values the agent chose are quoted unless plain, so that one cannot read as more of the
    /// line (adversarial review: a workflow id holding `] rules=… #99 approval approved …` looked
    /// like a second record inside a real one).
    #[test]
    fn human_lines_quote_the_values_an_agent_chose() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let forged = "x] rules=reads: reads are allowed req=11111111  2026-12-04T09:12:00.000Z #99     approval approved dana (cli) workflow terminate id=xx";
        let mut e = entry("agent");
        e.namespace = Some("pay ments".to_owned());
        e.target = Some(crate::audit::record::AuditTarget::from(
            &crate::Command::parse(&["temporal", "workflow", "describe", "-w", forged])
                .unwrap()
                .target(),
        ));
        log.append(&e).unwrap();
        let mut plain = entry("agent");
        plain.target = Some(crate::audit::record::AuditTarget::from(
            &crate::Command::parse(&["temporal", "workflow", "describe", "-w", "pay-1"])
                .unwrap()
                .target(),
        ));
        log.append(&plain).unwrap();
        let mut failed = crate::audit::record::Entry {
            exit_code: Some(1),
            error: Some(format!("Error: workflow not found for ID: {forged}\nmore")),
            ..crate::audit::record::Entry::new(
                Kind::Result,
                "agent",
                crate::audit::record::Channel::Cli,
            )
        };
        failed.request_id = e.request_id.clone();
        log.append(&failed).unwrap();
        // A character the line escapes counts as wide as it is shown (final review).
        let mut wide = entry("agent");
        wide.namespace = Some(format!(
            "{}    2026-12-04T14:50:00.000Z #9",
            "\u{fc}".repeat(12)
        ));
        log.append(&wide).unwrap();
        // A look-alike of the quote cannot close the quoting (re-check: U+A78C).
        let mut lookalike = entry("agent");
        lookalike.target = Some(crate::audit::record::AuditTarget::from(
            &crate::Command::parse(&[
                "temporal",
                "workflow",
                "describe",
                "-w",
                "pay-1\u{a78c}] #2 allow \u{a78c}",
            ])
            .unwrap()
            .target(),
        ));
        log.append(&lookalike).unwrap();
        // tgate's own reasons hold the agent's words; a policy's are its authors'.
        let mut refused = entry("bob x] y");
        refused.rules = vec!["tgate:parse-error".to_owned()];
        refused.reason = Some(format!("bad flag syntax: ---{forged}"));
        log.append(&refused).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|l| human(&crate::audit::record::check_line(l.as_bytes()).unwrap().0))
            .collect();
        // A value is cut at 120 characters, what is left out counted (re-check: a long one,
        // padded to the terminal's width, wrapped a forged record onto a row of its own).
        let cut = |v: &str| {
            let head: String = v.chars().take(120).collect();
            format!("'{head}'...(+{} chars)", v.chars().count() - 120)
        };
        assert!(
            lines[0].contains(&format!(
                " -n 'pay ments' [workflow {}] rules=reads",
                cut(forged)
            )),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains(" -n payments [workflow pay-1] rules=reads"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].ends_with(&format!(
                ": {} req=9b2f6d0e",
                cut(&format!("Error: workflow not found for ID: {forged}"))
            )),
            "{}",
            lines[2]
        );
        assert!(
            lines[5].contains(&format!(
                " 'bob x] y' (cli) workflow describe -n payments [workflow 'pay 1'] rules=tgate:parse-error: {} req=",
                cut(&format!("bad flag syntax: ---{forged}"))
            )),
            "{}",
            lines[5]
        );
        assert!(
            lines[4].contains(r" [workflow 'pay-1\u{a78c}] #2 allow \u{a78c}'] rules=reads"),
            "{}",
            lines[4]
        );
        assert!(
            lines[3].contains(&format!(
                " -n '{}    2026-12-04T14:50:00.'...(+7 chars) [",
                r"\u{00fc}".repeat(12)
            )),
            "{}",
            lines[3]
        );
        assert!(lines[1].contains(" agent (cli) "), "{}", lines[1]);
        assert!(
            lines[1].ends_with("rules=reads: 'reads are fine' req=9b2f6d0e"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn filters_and_formats() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let mut e = entry("alice");
        e.reason = Some("=HYPERLINK(\"x\"), \"quoted\"".to_owned());
        log.append(&e).unwrap();
        let mut e = entry("bob");
        e.decision = Some(Decision::Deny);
        e.command = Some("workflow terminate".to_owned());
        e.time = "2026-06-01T00:00:00.000000000Z".to_owned();
        log.append(&e).unwrap();
        let run = |format, filter: &Filter| {
            let mut out = Vec::new();
            let s = export(&path, format, filter, &mut out).unwrap();
            (s.written, String::from_utf8(out).unwrap())
        };
        let (n, all) = run(Format::Jsonl, &Filter::default());
        assert_eq!(n, 2);
        assert_eq!(all, std::fs::read_to_string(&path).unwrap());
        let by = |f: Filter| run(Format::Jsonl, &f).0;
        assert_eq!(
            by(Filter {
                caller: Some("bob".into()),
                ..Filter::default()
            }),
            1
        );
        assert_eq!(
            by(Filter {
                decision: Some(Decision::Deny),
                ..Filter::default()
            }),
            1
        );
        assert_eq!(
            by(Filter {
                command: Some("workflow".into()),
                ..Filter::default()
            }),
            2
        );
        assert_eq!(
            by(Filter {
                command: Some("work".into()),
                ..Filter::default()
            }),
            0
        );
        assert_eq!(
            by(Filter {
                namespace: Some("payments".into()),
                ..Filter::default()
            }),
            2
        );
        let since = parse_time_bound("2026-05-15T00:00:00+00:00").unwrap();
        assert_eq!(
            by(Filter {
                since: Some(since.clone()),
                ..Filter::default()
            }),
            1
        );
        assert_eq!(
            by(Filter {
                until: Some(since),
                ..Filter::default()
            }),
            1
        );

        let (_, csv) = run(Format::Csv, &Filter::default());
        let rows: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(rows[0], CSV_COLUMNS.join(","));
        assert!(
            rows[1].contains(",\"'=HYPERLINK(\"\"x\"\"), \"\"quoted\"\"\","),
            "{}",
            rows[1]
        );
        assert!(rows[1].starts_with("1,2026-05-01T10:00:00.000000001Z,decision,"));

        let (_, ocsf) = run(Format::Ocsf, &Filter::default());
        let ev: serde_json::Value = serde_json::from_str(ocsf.lines().nth(1).unwrap()).unwrap();
        assert_eq!(ev["class_uid"], 6003);
        assert_eq!(ev["type_uid"], 600302);
        assert_eq!(ev["disposition"], "Blocked");
        assert_eq!(ev["actor"]["user"]["name"], "bob");
        assert_eq!(ev["api"]["operation"], "workflow terminate");
        assert_eq!(ev["metadata"]["sequence"], 2);
        assert_eq!(ev["time"], 1_780_272_000_000_i64);
    }

    #[test]
    fn reads_gzip_rotated_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, 1500).unwrap();
        for _ in 0..6 {
            log.append(&entry("gz")).unwrap();
        }
        let first = dir.path().join("audit.jsonl.000001");
        let plain = std::fs::read(&first).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        std::fs::write(
            dir.path().join("audit.jsonl.000001.gz"),
            gz.finish().unwrap(),
        )
        .unwrap();
        std::fs::remove_file(&first).unwrap();
        let mut out = Vec::new();
        let s = export(&path, Format::Jsonl, &Filter::default(), &mut out).unwrap();
        assert_eq!(s.written, 6);
        let report = crate::audit::verify::verify(&path).unwrap();
        assert_eq!(report.damage, None);
        assert_eq!(report.records, 6);
    }
}
