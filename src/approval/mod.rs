//! Approvals: the state behind gated commands. A `require_approval` decision becomes a pending
//! [`Approval`]; other people approve or reject it; the approved command runs exactly once; and
//! rate limits count what ran.
//!
//! Guarantees, whichever [`Store`] keeps the state:
//! - **Two-person rule.** The requester never approves their own request, and each approver counts
//!   once (identities that differ only in letter case or surrounding spaces are one person).
//! - **Exactly this command, exactly once.** A claim succeeds only for an approved, unexpired,
//!   unused approval whose [`CanonicalCommand`] (caller, integration, namespace and canonical argv)
//!   is byte for byte the one approved, and marks it used in the same transaction: of two
//!   processes racing to claim one approval, exactly one wins.
//! - **Time is an argument.** Every call takes `now`, so expiry and rate windows are decided by the
//!   caller's clock and tests can move it.
//! - Ids are 128 random bits; an id is accepted only whole.
//!
//! [`SqliteStore`] is the embedded store (one file in the state directory, shared safely by every
//! tgate process on the host). A shared database can replace it behind the same trait.

mod id;
mod sqlite;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::command::Command;
use crate::policy::{
    ApprovalRequirement, Caller, Decision, Evaluation, RateLimit, RatePer, RateWindow,
};
pub use id::ApprovalId;
pub use sqlite::SqliteStore;

/// The file name of the embedded store in the state directory (next to the audit log).
pub const STORE_FILE: &str = "approvals.sqlite3";

/// What an approval is for, and what a later run must match byte for byte to use it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CanonicalCommand {
    /// Who asked; only they can run it.
    pub caller: String,
    /// The integration (cluster connection) it runs against.
    pub integration: String,
    /// The namespace it acts in (the integration's default filled in when the line had no `-n`).
    pub namespace: String,
    /// The canonical argv ([`Command::render`]) of the command that runs, obligations applied.
    pub argv: Vec<String>,
}

impl CanonicalCommand {
    /// The canonical form of `cmd` (the evaluation's `effective` command) run by `caller` against
    /// `integration` in `namespace`.
    pub fn new(caller: &str, integration: &str, namespace: &str, cmd: &Command) -> Self {
        CanonicalCommand {
            caller: caller.to_owned(),
            integration: integration.to_owned(),
            namespace: namespace.to_owned(),
            argv: cmd.render(),
        }
    }

    /// The exact text compared: one JSON array, so no field can bleed into another.
    pub fn key(&self) -> String {
        serde_json::json!([1, self.caller, self.integration, self.namespace, self.argv]).to_string()
    }

    /// Which part of `other` differs from this one (`None` when identical).
    pub fn difference(&self, other: &CanonicalCommand) -> Option<&'static str> {
        if self.caller != other.caller {
            Some("caller")
        } else if self.integration != other.integration {
            Some("integration")
        } else if self.namespace != other.namespace {
            Some("namespace")
        } else if self.argv != other.argv {
            Some("command (target, flags or arguments)")
        } else {
            None
        }
    }
}

/// A request for approval, as the caller creates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApproval {
    /// What is to run.
    pub command: CanonicalCommand,
    /// What it acts on, for people (`workflow pay-1`).
    pub target: String,
    /// The deciding rule ids.
    pub rules: Vec<String>,
    /// The deciding rule's reason.
    pub reason: String,
    /// The caller's justification, shown to approvers.
    pub justification: Option<String>,
    /// Expiry, approvals needed, approver groups.
    pub requirement: ApprovalRequirement,
}

impl NewApproval {
    /// The request for a `require_approval` evaluation (`None` for any other decision).
    /// `namespace` is the namespace the command acts in, the integration's default filled in.
    pub fn from_evaluation(
        ev: &Evaluation,
        caller: &str,
        integration: &str,
        namespace: &str,
        justification: Option<&str>,
    ) -> Option<NewApproval> {
        match ev.decision {
            Decision::RequireApproval => {}
            Decision::Allow | Decision::Deny => return None,
        }
        let cmd = ev.effective.as_ref()?;
        Some(NewApproval {
            command: CanonicalCommand::new(caller, integration, namespace, cmd),
            target: cmd.target().to_string(),
            rules: ev.rules.clone(),
            reason: ev.reason.clone(),
            justification: justification.map(str::to_owned),
            requirement: ev.requires.approval.clone()?,
        })
    }
}

/// What an approval must still cover when its command runs: the approval the policy requires at
/// that moment, and the justification the run gives.
#[derive(Clone, Debug)]
pub struct Terms {
    /// How long the policy lets an approval stand now, from its request.
    pub ttl: Duration,
    /// Distinct approvals the policy requires now.
    pub approvals: u32,
    /// The approver group lists the policy requires now.
    pub approver_groups: Vec<Vec<String>>,
    /// The run's justification, if it gives one.
    pub justification: Option<String>,
    /// The people the run's configuration lists as approvers (`approvers:`), each with their
    /// groups: every one who approved must be among them, in the groups the approval requires,
    /// by this list; empty when it lists none (anyone but the requester, in no group). `None`:
    /// not checked (the store's own tests; `tgate run` always gives its configuration's).
    pub listed: Option<Vec<(String, Vec<String>)>>,
}

impl Terms {
    /// The terms of `requirement` for a run justified by `justification`, who approved not
    /// checked against a configuration's list ([`Terms::listed`]).
    pub fn new(requirement: &ApprovalRequirement, justification: Option<&str>) -> Terms {
        Terms {
            ttl: requirement.ttl,
            approvals: requirement.approvals,
            approver_groups: requirement.approver_groups.clone(),
            justification: justification.map(str::to_owned),
            listed: None,
        }
    }
}

impl Approval {
    /// Whether this approval covers `terms` at `now` ([`Approval::refusal`] has none).
    pub fn covers(&self, terms: &Terms, now: SystemTime) -> bool {
        self.refusal(terms, now).is_none()
    }

    /// Why this approval cannot be used for `terms` at `now`, as a claim refuses it: granted on
    /// other terms ([`Approval::short_of`]), or approved by someone the run's list does not
    /// take ([`Approval::unfit_approver`]).
    pub fn refusal(&self, terms: &Terms, now: SystemTime) -> Option<ApprovalError> {
        let id = self.id.to_string();
        if let Some(what) = self.short_of(terms, now) {
            return Some(ApprovalError::DifferentTerms { id, what });
        }
        self.unfit_approver(terms)
            .map(|(who, why)| ApprovalError::UnfitApprover {
                id,
                who: who.to_owned(),
                why,
            })
    }

    /// Someone who approved this approval and may not by the run's configuration's `approvers:`
    /// list, and why: not on it (when it has one), or not in the groups the approval requires
    /// by it. `tgate approve` checks both under the approver's configuration, which may be
    /// another (or none): the list the run is made under is the one that counts (review: an
    /// approver off it, or in `sre` only by another configuration, approved).
    pub fn unfit_approver(&self, terms: &Terms) -> Option<(&str, String)> {
        let listed = terms.listed.as_ref()?;
        let requirement = self.requirement();
        self.approvals.iter().find_map(|v| {
            let found = listed.iter().find(|(id, _)| person(id) == person(&v.by));
            if found.is_none() && !listed.is_empty() {
                return Some((
                    v.by.as_str(),
                    "who is not on the configuration's `approvers:` list".to_owned(),
                ));
            }
            let groups = found.map_or(&[][..], |(_, g)| g.as_slice());
            (!requirement.may_approve(groups)).then(|| {
                (
                    v.by.as_str(),
                    format!(
                        "who is not {} by the configuration's `approvers:` list",
                        requirement.approvers_text()
                    ),
                )
            })
        })
    }

    /// What of `terms` this approval does not cover at `now`, if anything: requested within the
    /// time to live the policy sets now (a shortened one shortens standing approvals), at least
    /// as many approvals as the policy requires now, the same approver groups (order aside:
    /// approvers were checked against the groups stored with the request), and, when the run
    /// gives a justification, the one the approvers saw.
    pub fn short_of(&self, terms: &Terms, now: SystemTime) -> Option<&'static str> {
        fn sorted(groups: &[Vec<String>]) -> Vec<Vec<String>> {
            let mut out: Vec<Vec<String>> = groups
                .iter()
                .map(|g| {
                    let mut g = g.clone();
                    g.sort();
                    g.dedup();
                    g
                })
                .collect();
            out.sort();
            out.dedup();
            out
        }
        if self.created_at + terms.ttl <= now {
            return Some("time to live");
        }
        if self.approvals_required < terms.approvals {
            return Some("number of approvals");
        }
        if sorted(&self.approver_groups) != sorted(&terms.approver_groups) {
            return Some("approver groups");
        }
        if let Some(j) = &terms.justification
            && self.justification.as_ref() != Some(j)
        {
            return Some("justification");
        }
        None
    }
}

/// Where an approval stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for (more) approvals.
    Pending,
    /// Approved by enough people; the requester may run it once.
    Approved,
    /// Someone rejected it.
    Rejected,
    /// It ran.
    Used,
    /// Its time ran out before it ran.
    Expired,
}

impl State {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Used => "used",
            State::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Option<State> {
        [
            State::Pending,
            State::Approved,
            State::Rejected,
            State::Used,
            State::Expired,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One person's approval or rejection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Vote {
    /// Who.
    pub by: String,
    /// When.
    #[serde(serialize_with = "ser_time")]
    pub at: SystemTime,
    /// What they said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An approval as stored, its state as of the `now` it was read at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// The id approvers type.
    pub id: ApprovalId,
    /// Where it stands (a pending or approved request past its expiry reads as expired).
    pub state: State,
    /// What it is for.
    #[serde(flatten)]
    pub command: CanonicalCommand,
    /// What the command acts on.
    pub target: String,
    /// The deciding rule ids.
    pub rules: Vec<String>,
    /// The deciding rule's reason.
    pub reason: String,
    /// The requester's justification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// When it was requested.
    #[serde(serialize_with = "ser_time")]
    pub created_at: SystemTime,
    /// When it stops being valid, approved or not.
    #[serde(serialize_with = "ser_time")]
    pub expires_at: SystemTime,
    /// Distinct approvals needed.
    pub approvals_required: u32,
    /// Group lists an approver must satisfy (see [`ApprovalRequirement::approver_groups`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approver_groups: Vec<Vec<String>>,
    /// The approvals given so far, oldest first.
    pub approvals: Vec<Vote>,
    /// The rejection, if rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Vote>,
    /// When the approved command ran.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    pub used_at: Option<SystemTime>,
}

impl Approval {
    /// The approval requirement it was created with.
    pub fn requirement(&self) -> ApprovalRequirement {
        ApprovalRequirement {
            ttl: self
                .expires_at
                .duration_since(self.created_at)
                .unwrap_or_default(),
            approvals: self.approvals_required,
            approver_groups: self.approver_groups.clone(),
        }
    }
}

/// Which approvals [`Store::list`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Waiting for approvals (and not expired).
    Pending,
    /// Pending, or approved and not yet used (and not expired).
    Open,
    /// Every approval kept.
    All,
}

/// The approval state: shared by every tgate process (and, behind another implementation, every
/// gateway replica). Each method is one atomic transaction.
pub trait Store: Send + Sync {
    /// Records a new pending request and returns it.
    fn create(&self, new: NewApproval, now: SystemTime) -> Result<Approval, ApprovalError>;

    /// One approval.
    fn get(&self, id: &ApprovalId, now: SystemTime) -> Result<Approval, ApprovalError>;

    /// Approvals, oldest first.
    fn list(&self, which: Listing, now: SystemTime) -> Result<Vec<Approval>, ApprovalError>;

    /// Every approval for exactly this command, newest first.
    fn matching(
        &self,
        command: &CanonicalCommand,
        now: SystemTime,
    ) -> Result<Vec<Approval>, ApprovalError>;

    /// `approver` approves. Refused when the approver is the requester, has approved already, is
    /// not in the approver groups, or the request is not pending (expired, rejected, used, or
    /// already fully approved). Returns the approval, `Approved` once enough people approved.
    fn approve(
        &self,
        id: &ApprovalId,
        approver: &Caller,
        comment: Option<&str>,
        now: SystemTime,
    ) -> Result<Approval, ApprovalError>;

    /// `who` rejects a pending or approved (unused, unexpired) request, with a comment. The
    /// requester may withdraw their own request; anyone else must be an allowed approver.
    fn reject(
        &self,
        id: &ApprovalId,
        who: &Caller,
        comment: &str,
        now: SystemTime,
    ) -> Result<Approval, ApprovalError>;

    /// Marks the approval used so its command runs now, exactly once: only when it is approved,
    /// not expired, not used, `command` is byte for byte the approved one, and the approval
    /// covers `terms` ([`Approval::covers`]).
    fn claim(
        &self,
        id: &ApprovalId,
        command: &CanonicalCommand,
        terms: &Terms,
        now: SystemTime,
    ) -> Result<Approval, ApprovalError>;

    /// [`Store::claim`] of the oldest approved, unexpired, unused approval covering `terms` for exactly this
    /// command, if there is one (`None`: nothing to claim).
    fn claim_matching(
        &self,
        command: &CanonicalCommand,
        terms: &Terms,
        now: SystemTime,
    ) -> Result<Option<Approval>, ApprovalError>;

    /// Marks every pending or approved request past its expiry as expired and returns those
    /// (each exactly once, whichever process asks), for the audit log.
    fn expire(&self, now: SystemTime) -> Result<Vec<Approval>, ApprovalError>;

    /// Counts one command against every limit, or none when any is used up: each allows `limit`
    /// commands within the sliding `window` before `now`. Only successful acquisitions count.
    fn try_acquire(&self, limits: &[RateLimit], now: SystemTime) -> Result<(), ApprovalError>;

    /// Gives back the claim made at `used_at` ([`Approval::used_at`]) of a command that did not
    /// run: tgate knows that nothing of it reached the server (refused or stopped before it
    /// started, its time used up before it). The approval is approved again, for one run, until
    /// its expiry as before. Refused when the approval is not used, or was used at another time.
    fn unclaim(
        &self,
        id: &ApprovalId,
        used_at: SystemTime,
        now: SystemTime,
    ) -> Result<Approval, ApprovalError>;

    /// Gives back the counts [`Store::try_acquire`] took against `limits` at `at`, for a command
    /// that did not run (as [`Store::unclaim`]). Counts already out of every window are gone.
    fn return_counts(&self, limits: &[RateLimit], at: SystemTime) -> Result<(), ApprovalError>;
}

/// A rate limit that is used up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "rule `{rule}` allows {limit} per {window}{}; the next is allowed at {}",
    per_text(*.per),
    utc(*.retry_at)
)]
pub struct RateLimited {
    /// The rule whose limit it is.
    pub rule: String,
    /// Its limit.
    pub limit: u32,
    /// Its window.
    pub window: RateWindow,
    /// Whom it counts.
    pub per: RatePer,
    /// When one more will be allowed.
    pub retry_at: SystemTime,
}

fn per_text(p: RatePer) -> &'static str {
    match p {
        RatePer::Caller => " for each caller",
        RatePer::Rule => " for all callers together",
    }
}

/// Why an approval step was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApprovalError {
    /// No such id.
    #[error("there is no approval `{id}`")]
    NotFound {
        /// The id.
        id: String,
    },
    /// Not an id tgate prints.
    #[error("`{text}` is not an approval id: give all 26 letters and digits tgate printed")]
    InvalidId {
        /// What was given.
        text: String,
    },
    /// Its time ran out.
    #[error("approval `{id}` expired at {}; run the command again to request a new one", utc(*.at))]
    Expired {
        /// The id.
        id: String,
        /// When it expired.
        at: SystemTime,
    },
    /// Someone rejected it.
    #[error("approval `{id}` was rejected by `{by}`: {comment}")]
    Rejected {
        /// The id.
        id: String,
        /// Who rejected it.
        by: String,
        /// Their comment.
        comment: String,
    },
    /// It ran already.
    #[error(
        "approval `{id}` was already used at {}; an approval runs its command once (a run that \
         holds it and sends nothing gives it back)",
        utc(*.at)
    )]
    Used {
        /// The id.
        id: String,
        /// When it ran.
        at: SystemTime,
    },
    /// Not enough people approved yet.
    #[error("approval `{id}` has {have} of {need} approvals; it cannot run yet")]
    NotApproved {
        /// The id.
        id: String,
        /// Approvals given.
        have: u32,
        /// Approvals needed.
        need: u32,
    },
    /// Enough people approved already.
    #[error("approval `{id}` already has the {need} approvals it needs")]
    AlreadyApproved {
        /// The id.
        id: String,
        /// Approvals needed.
        need: u32,
    },
    /// The requester tried to approve.
    #[error("you requested approval `{id}`; a second person must approve it")]
    SelfApproval {
        /// The id.
        id: String,
    },
    /// The approver approved before.
    #[error("`{approver}` already approved `{id}`; another person must approve it")]
    DuplicateApproval {
        /// The id.
        id: String,
        /// Who.
        approver: String,
    },
    /// The approver is in none of the approver groups.
    #[error("`{who}` may not approve or reject `{id}`: approvers must be {groups}")]
    NotAnApprover {
        /// The id.
        id: String,
        /// Who tried.
        who: String,
        /// The condition, in words.
        groups: String,
    },
    /// The command differs from the approved one.
    #[error(
        "approval `{id}` is for a different command: the {what} differs, so this needs its own approval"
    )]
    DifferentCommand {
        /// The id.
        id: String,
        /// Which part differs: `caller`, `integration`, `namespace` or the command.
        what: &'static str,
    },
    /// The approval was granted on terms the run does not meet now: the policy asks for more
    /// approvals or other approver groups than when it was requested (a tightened policy, or
    /// another policy file), or the run gives another justification than the approvers saw.
    #[error(
        "approval `{id}` was granted on other terms: the {what} differs from what the policy now \
         requires or the run gives, so this needs a new approval (run it again without --approval)"
    )]
    DifferentTerms {
        /// The id.
        id: String,
        /// `number of approvals`, `approver groups` or `justification`.
        what: &'static str,
    },
    /// Someone who approved may not by the `approvers:` list of the configuration the run is
    /// made under ([`Approval::unfit_approver`]).
    #[error(
        "approval `{id}` was approved by `{who}`, {why}, so this needs a new approval (run it \
         again without --approval)"
    )]
    UnfitApprover {
        /// The id.
        id: String,
        /// Who approved.
        who: String,
        /// Why they may not, in words beginning `who is not`.
        why: String,
    },
    /// A claim to give back ([`Store::unclaim`]) that the approval does not hold now.
    #[error("approval `{id}` is {state}, not held by the run giving it back")]
    NotHeld {
        /// The id.
        id: String,
        /// Its state now.
        state: &'static str,
    },
    /// A rate limit is used up.
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    /// An argument is unusable (empty comment, control characters, empty identity...).
    #[error("{0}")]
    Invalid(String),
    /// The store failed; nothing changed.
    #[error("approval store `{path}`: {message}")]
    Storage {
        /// Where the store is.
        path: String,
        /// What failed.
        message: String,
    },
}

/// Who a person is, for counting people: identities differing only in letter case or
/// surrounding spaces are one person.
pub(crate) fn person(id: &str) -> String {
    id.trim().to_lowercase()
}

/// A comment or identity must be printable: approvers read these in a terminal.
pub(crate) fn check_text(what: &str, text: &str, max_chars: usize) -> Result<(), ApprovalError> {
    crate::lex::check_readable(what, text, max_chars).map_err(ApprovalError::Invalid)
}

/// Milliseconds since the epoch (negative before it).
pub(crate) fn to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The time `ms` milliseconds after the epoch.
pub(crate) fn from_ms(ms: i64) -> SystemTime {
    let d = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

/// `2026-05-01T10:00:00Z` (UTC, whole seconds): for messages.
pub fn utc(t: SystemTime) -> String {
    let secs = to_ms(t).div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from a day count (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn ser_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&utc(*t))
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&utc(*t)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_civil_dates() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            from_ms(to_ms(from_ms(1_700_000_000_123))),
            from_ms(1_700_000_000_123)
        );
        assert_eq!(utc(from_ms(1_709_210_096_000)), "2024-02-29T12:34:56Z");
        assert_eq!(utc(from_ms(-1000)), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn canonical_keys_do_not_bleed() {
        let a = CanonicalCommand {
            caller: "a".into(),
            integration: "b\",\"c".into(),
            namespace: "d".into(),
            argv: vec!["temporal".into()],
        };
        let b = CanonicalCommand {
            caller: "a\",\"b".into(),
            integration: "c".into(),
            ..a.clone()
        };
        assert_ne!(a.key(), b.key());
        assert_eq!(a.difference(&b), Some("caller"));
        assert_eq!(a.difference(&a.clone()), None);
    }

    #[test]
    fn people_are_compared_loosely() {
        assert_eq!(person(" Alice "), person("alice"));
        assert_ne!(person("alice"), person("alice2"));
    }
}
