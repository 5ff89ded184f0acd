//! Gates: what a deciding rule demands before its command runs, beyond the decision itself: a
//! human approval (`approval:`), a rate limit (`rate:`, `rate_per:`) and a justification
//! (`justification:`).
//!
//! The policy only *states* these demands; it keeps no state. The justification is checked during
//! evaluation (it is part of the request). Approvals and rate limits need shared state, so the
//! evaluation hands them to the caller as an [`Requirements`] value, and the caller enforces them
//! with an [`crate::approval::Store`].

use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde::Serialize;

use super::file;
use crate::command::GoDuration;

/// How long an approval stays valid when the rule does not say.
pub const DEFAULT_APPROVAL_TTL: Duration = Duration::from_secs(15 * 60);

/// The longest `approval.ttl` a rule may set: an approval is for an incident, not a standing grant.
pub const MAX_APPROVAL_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The longest justification accepted, in characters.
pub const MAX_JUSTIFICATION_CHARS: usize = 1000;

/// A rule's compiled `approval:` block (every `require_approval` rule has one, defaults filled in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApprovalRule {
    pub(crate) ttl: Duration,
    pub(crate) approvals: u32,
    /// `None`: anyone but the requester.
    pub(crate) approvers: Option<Vec<String>>,
}

impl Default for ApprovalRule {
    fn default() -> Self {
        ApprovalRule {
            ttl: DEFAULT_APPROVAL_TTL,
            approvals: 1,
            approvers: None,
        }
    }
}

/// The period of a rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateWindow {
    /// 60 seconds.
    Minute,
    /// 3600 seconds.
    Hour,
    /// 86400 seconds.
    Day,
}

impl RateWindow {
    /// The window's length.
    pub fn duration(self) -> Duration {
        match self {
            RateWindow::Minute => Duration::from_secs(60),
            RateWindow::Hour => Duration::from_secs(3600),
            RateWindow::Day => Duration::from_secs(86_400),
        }
    }

    /// As written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            RateWindow::Minute => "minute",
            RateWindow::Hour => "hour",
            RateWindow::Day => "day",
        }
    }
}

impl fmt::Display for RateWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whom a rate limit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RatePer {
    /// Each caller separately.
    Caller,
    /// Everyone under the rule together.
    Rule,
}

impl From<file::RatePerSpec> for RatePer {
    fn from(p: file::RatePerSpec) -> Self {
        match p {
            file::RatePerSpec::Caller => RatePer::Caller,
            file::RatePerSpec::Rule => RatePer::Rule,
        }
    }
}

/// A rule's compiled `rate:` and `rate_per:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RateRule {
    pub(crate) limit: u32,
    pub(crate) window: RateWindow,
    pub(crate) per: RatePer,
}

/// Reads `5/hour` (also `/minute`, `/day`).
pub(crate) fn parse_rate(text: &str) -> Result<(u32, RateWindow), String> {
    let bad = || format!("rate `{text}`: write COUNT/PERIOD, e.g. `5/hour` (minute, hour or day)");
    let (count, unit) = text.split_once('/').ok_or_else(bad)?;
    let limit: u32 = count.trim().parse().map_err(|e: std::num::ParseIntError| {
        if *e.kind() == std::num::IntErrorKind::PosOverflow {
            format!("rate `{text}`: the count is over {}", u32::MAX)
        } else {
            bad()
        }
    })?;
    if limit == 0 {
        return Err(format!(
            "rate `{text}`: the count must be at least 1 (use `decision: deny` to refuse)"
        ));
    }
    let window = match unit.trim() {
        "minute" => RateWindow::Minute,
        "hour" => RateWindow::Hour,
        "day" => RateWindow::Day,
        _ => return Err(bad()),
    };
    Ok((limit, window))
}

/// Compiles a rule's `approval:` block (errors pushed to `errs`).
pub(crate) fn compile_approval(spec: &file::ApprovalSpec, errs: &mut Vec<String>) -> ApprovalRule {
    let mut rule = ApprovalRule::default();
    if let Some(t) = &spec.ttl {
        match crate::command::parse_duration(t) {
            Ok(ns) if ns <= 0 => errs.push(format!("approval.ttl `{t}` must be positive")),
            Ok(ns) => {
                let ttl = Duration::from_nanos(ns.unsigned_abs());
                if ttl < Duration::from_secs(1) {
                    errs.push(format!("approval.ttl `{t}` is shorter than a second"));
                } else if ttl > MAX_APPROVAL_TTL {
                    errs.push(format!(
                        "approval.ttl `{t}` is longer than the maximum of 7d"
                    ));
                } else {
                    rule.ttl = ttl;
                }
            }
            Err(e) => errs.push(format!("approval.ttl: {e}")),
        }
    }
    if let Some(n) = spec.approvals {
        if n == 0 {
            errs.push("approval.approvals must be at least 1".to_owned());
        } else {
            rule.approvals = n;
        }
    }
    if let Some(groups) = &spec.approvers {
        if groups.is_empty() {
            errs.push(
                "approval.approvers is empty: nobody could approve (omit it to let anyone but the requester approve)"
                    .to_owned(),
            );
        } else if let Some(g) = groups.iter().find(|g| g.trim().is_empty()) {
            errs.push(format!("approval.approvers: empty group name `{g}`"));
        } else if let Err(e) = super::group_names(groups) {
            errs.push(format!("approval.approvers: {e}"));
        } else {
            rule.approvers = Some(groups.clone());
        }
    }
    rule
}

/// Compiles a rule's `justification.pattern`.
pub(crate) fn compile_justification(
    spec: &file::JustificationSpec,
    errs: &mut Vec<String>,
) -> Option<Regex> {
    // Empty or blank: the empty regex, which every justification matches, where a pattern was
    // meant (QA: `pattern: ""` passed lint and allowed any text, though a `pattern:` left with
    // no value is refused). A pattern that accepts any text is written as one (`.`).
    if spec.pattern.trim().is_empty() {
        errs.push(format!(
            "justification.pattern: {:?} is blank: write the regex the justification must match \
             (`.` accepts any text)",
            spec.pattern
        ));
        return None;
    }
    match Regex::new(&spec.pattern) {
        Ok(re) => Some(re),
        Err(e) => {
            errs.push(format!(
                "justification: invalid regex `{}`: {e}",
                spec.pattern
            ));
            None
        }
    }
}

/// Why a justification text is unacceptable whatever the rule: too long, or a control character
/// (approvers read it in a terminal, where control characters could disguise it).
pub fn check_justification_text(text: &str) -> Result<(), String> {
    crate::lex::check_readable("justification", text, MAX_JUSTIFICATION_CHARS)
}

/// What must happen before an evaluated command runs, beyond its decision. Empty for a deny.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Requirements {
    /// The approval a `require_approval` decision needs (`None` for other decisions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRequirement>,
    /// Rate limits to acquire before the command runs (or, when approval is needed, before the
    /// approval is requested), one per deciding rule that has a `rate:`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<RateLimit>,
}

impl Requirements {
    /// No approval and no rate limit.
    pub fn is_empty(&self) -> bool {
        self.approval.is_none() && self.rates.is_empty()
    }
}

/// The approval a command needs: the deciding rules' `approval:` blocks combined, the strictest
/// of each (shortest ttl, most approvals, every rule's approver groups).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApprovalRequirement {
    /// How long the request stays valid.
    #[serde(serialize_with = "ser_duration")]
    pub ttl: Duration,
    /// Distinct approvers needed (never the requester).
    pub approvals: u32,
    /// Group lists an approver must satisfy: for each inner list, the approver is in at least one
    /// of its groups. Empty: anyone but the requester.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approver_groups: Vec<Vec<String>>,
}

impl ApprovalRequirement {
    /// Combines the deciding rules' approval blocks.
    pub(crate) fn combine<'a>(rules: impl IntoIterator<Item = &'a ApprovalRule>) -> Self {
        let mut req = ApprovalRequirement {
            ttl: MAX_APPROVAL_TTL,
            approvals: 1,
            approver_groups: Vec::new(),
        };
        let mut any = false;
        for r in rules {
            any = true;
            req.ttl = req.ttl.min(r.ttl);
            req.approvals = req.approvals.max(r.approvals);
            if let Some(groups) = &r.approvers
                && !req.approver_groups.contains(groups)
            {
                req.approver_groups.push(groups.clone());
            }
        }
        if !any {
            req.ttl = DEFAULT_APPROVAL_TTL;
        }
        req
    }

    /// Requires what `other` requires too: the shorter time to live, the larger number of
    /// approvers, and every approver condition of both.
    pub(crate) fn tighten(&mut self, other: &ApprovalRequirement) {
        self.ttl = self.ttl.min(other.ttl);
        self.approvals = self.approvals.max(other.approvals);
        for groups in &other.approver_groups {
            if !self.approver_groups.contains(groups) {
                self.approver_groups.push(groups.clone());
            }
        }
    }

    /// Whether someone in `groups` may approve.
    pub fn may_approve(&self, groups: &[String]) -> bool {
        self.approver_groups
            .iter()
            .all(|any_of| any_of.iter().any(|g| groups.contains(g)))
    }

    /// The approver condition in words, e.g. `anyone but the requester` or `in sre or dba`.
    pub fn approvers_text(&self) -> String {
        if self.approver_groups.is_empty() {
            return "anyone but the requester".to_owned();
        }
        let parts: Vec<String> = self
            .approver_groups
            .iter()
            .map(|any_of| {
                let names: Vec<String> = any_of.iter().map(|g| format!("`{g}`")).collect();
                format!("in {}", names.join(" or "))
            })
            .collect();
        parts.join(", and ")
    }
}

/// One rate limit to acquire: `limit` commands per `window`, counted under `key`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct RateLimit {
    /// The rule that sets it.
    pub rule: String,
    /// The counter: the rule id, and the caller id when counted per caller. Unambiguous (a JSON
    /// array), so no rule or caller name can collide with another's counter.
    pub key: String,
    /// Commands allowed per window.
    pub limit: u32,
    /// The sliding window.
    pub window: RateWindow,
    /// Whom it counts.
    pub per: RatePer,
}

impl RateLimit {
    pub(crate) fn new(rule: &str, r: RateRule, caller: &str) -> RateLimit {
        let key = match r.per {
            RatePer::Caller => serde_json::json!(["rate", rule, "caller", caller]),
            RatePer::Rule => serde_json::json!(["rate", rule]),
        };
        RateLimit {
            rule: rule.to_owned(),
            key: key.to_string(),
            limit: r.limit,
            window: r.window,
            per: r.per,
        }
    }
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    s.serialize_str(&GoDuration(ns).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("5/hour"), Ok((5, RateWindow::Hour)));
        assert_eq!(parse_rate("1/minute"), Ok((1, RateWindow::Minute)));
        assert_eq!(parse_rate(" 20 / day "), Ok((20, RateWindow::Day)));
        for bad in ["5", "5/week", "x/hour", "-1/hour", "5/hours", "/hour"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert!(parse_rate("0/hour").unwrap_err().contains("at least 1"));
    }

    #[test]
    fn approval_blocks_combine_strictest() {
        let a = ApprovalRule {
            ttl: Duration::from_secs(600),
            approvals: 1,
            approvers: Some(vec!["sre".into()]),
        };
        let b = ApprovalRule {
            ttl: Duration::from_secs(3600),
            approvals: 2,
            approvers: None,
        };
        let r = ApprovalRequirement::combine([&a, &b]);
        assert_eq!(r.ttl, Duration::from_secs(600));
        assert_eq!(r.approvals, 2);
        assert_eq!(r.approver_groups, vec![vec!["sre".to_owned()]]);
        assert!(r.may_approve(&["sre".into()]));
        assert!(!r.may_approve(&["dev".into()]));
        assert_eq!(r.approvers_text(), "in `sre`");
        let anyone = ApprovalRequirement::combine([&ApprovalRule::default()]);
        assert!(anyone.may_approve(&[]));
        assert_eq!(anyone.ttl, DEFAULT_APPROVAL_TTL);
    }

    #[test]
    fn rate_keys_do_not_collide() {
        let r = RateRule {
            limit: 1,
            window: RateWindow::Hour,
            per: RatePer::Caller,
        };
        let a = RateLimit::new("a\",\"caller", r, "b");
        let b = RateLimit::new("a", r, "\",\"b");
        assert_ne!(a.key, b.key);
        let shared = RateLimit::new(
            "a",
            RateRule {
                per: RatePer::Rule,
                ..r
            },
            "x",
        );
        assert_eq!(shared.key, r#"["rate","a"]"#);
    }

    #[test]
    fn justification_text() {
        assert!(check_justification_text("INC-1 stuck payment").is_ok());
        assert!(check_justification_text("  ").is_err());
        assert!(check_justification_text("INC-1\u{1b}[2K").is_err());
        assert!(check_justification_text(&"x".repeat(1001)).is_err());
    }
}
