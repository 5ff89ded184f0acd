//! The embedded approval store: one SQLite file (`approvals.sqlite3` in the state directory),
//! shared by every tgate process on the host.
//!
//! Crash safety and concurrency come from SQLite: write-ahead logging with `synchronous = FULL`
//! (a committed claim survives a crash or power loss before the command runs), a busy timeout so
//! processes queue instead of failing, and every state change inside one `BEGIN IMMEDIATE`
//! transaction that re-reads the row it changes: the write lock is taken before the read, so of
//! two processes claiming one approval the second sees it already used.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Approval, ApprovalError, ApprovalId, CanonicalCommand, Listing, NewApproval, RateLimited,
    State, Store, Terms, Vote, check_text, from_ms, person, to_ms,
};
use crate::policy::{ApprovalRequirement, Caller, RateLimit, check_justification_text};

/// How long a process waits for another's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema this tgate writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE approvals (
    id TEXT PRIMARY KEY NOT NULL,
    command_key TEXT NOT NULL,
    command TEXT NOT NULL,
    target TEXT NOT NULL,
    rules TEXT NOT NULL,
    reason TEXT NOT NULL,
    justification TEXT,
    approvals_required INTEGER NOT NULL CHECK (approvals_required >= 1),
    approver_groups TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    state TEXT NOT NULL
        CHECK (state IN ('pending', 'approved', 'rejected', 'used', 'expired')),
    rejected_by TEXT,
    rejected_ms INTEGER,
    reject_comment TEXT,
    used_ms INTEGER
) STRICT;
CREATE INDEX approvals_by_command ON approvals (command_key, created_ms);
CREATE INDEX approvals_by_state ON approvals (state, expires_ms);
CREATE TABLE votes (
    approval TEXT NOT NULL REFERENCES approvals (id),
    person TEXT NOT NULL,
    approver TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    comment TEXT,
    PRIMARY KEY (approval, person)
) STRICT;
CREATE TABLE rate_events (
    key TEXT NOT NULL,
    at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_events_by_key ON rate_events (key, at_ms);
";

const COLUMNS: &str = "id, command_key, command, target, rules, reason, justification, \
     approvals_required, approver_groups, created_ms, expires_ms, state, rejected_by, \
     rejected_ms, reject_comment, used_ms";

/// The longest rate window: events older than this never count again.
const MAX_WINDOW_MS: i64 = 86_400_000;

/// Longest comment and identity accepted, in characters.
const MAX_COMMENT_CHARS: usize = 1000;
const MAX_IDENTITY_CHARS: usize = 200;

/// The SQLite approval store.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// Why a transaction stopped: a refusal to report as is, or a storage failure.
enum Fail {
    Refused(ApprovalError),
    Db(rusqlite::Error),
    Corrupt(String),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<ApprovalError> for Fail {
    fn from(e: ApprovalError) -> Self {
        Fail::Refused(e)
    }
}

impl SqliteStore {
    /// Opens (creating when missing, with its directory) the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, ApprovalError> {
        let storage = |message: String| ApprovalError::Storage {
            path: path.display().to_string(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)
                .map_err(|e| storage(format!("cannot create the directory: {e}")))?;
        }
        create_private_file(path).map_err(|e| storage(format!("cannot create the file: {e}")))?;
        let conn = Connection::open(path).map_err(|e| storage(e.to_string()))?;
        let store = SqliteStore {
            path: path.to_owned(),
            conn: Mutex::new(conn),
        };
        store.setup().map_err(|f| store.error(f))?;
        Ok(store)
    }

    /// Where the store is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn setup(&self) -> Result<(), Fail> {
        let mut conn = self.lock()?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Fail::Corrupt(format!(
                "cannot use write-ahead logging (journal mode `{mode}`)"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        match version {
            0 => {
                tx.execute_batch(SCHEMA)?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            }
            SCHEMA_VERSION => {}
            v => {
                return Err(Fail::Corrupt(format!(
                    "schema version {v} was written by a newer tgate (this one reads {SCHEMA_VERSION})"
                )));
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, Fail> {
        self.conn
            .lock()
            .map_err(|_| Fail::Corrupt("a thread failed while using the store".to_owned()))
    }

    fn error(&self, f: Fail) -> ApprovalError {
        match f {
            Fail::Refused(e) => e,
            Fail::Db(e) => ApprovalError::Storage {
                path: self.path.display().to_string(),
                message: e.to_string(),
            },
            Fail::Corrupt(message) => ApprovalError::Storage {
                path: self.path.display().to_string(),
                message,
            },
        }
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction: committed when it returns `Ok`, rolled
    /// back otherwise.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Fail>) -> Result<T, ApprovalError> {
        self.transaction(TransactionBehavior::Immediate, f)
    }

    /// Runs `f` in one read transaction (a consistent snapshot).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Fail>) -> Result<T, ApprovalError> {
        self.transaction(TransactionBehavior::Deferred, f)
    }

    fn transaction<T>(
        &self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Connection) -> Result<T, Fail>,
    ) -> Result<T, ApprovalError> {
        let run = || -> Result<T, Fail> {
            let mut conn = self.lock()?;
            let tx = conn.transaction_with_behavior(behavior)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run().map_err(|e| self.error(e))
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Creates the database file readable by its owner only (SQLite would use the umask).
#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// An approvals row as stored.
struct Row {
    id: String,
    command_key: String,
    command: String,
    target: String,
    rules: String,
    reason: String,
    justification: Option<String>,
    approvals_required: i64,
    approver_groups: String,
    created_ms: i64,
    expires_ms: i64,
    state: String,
    rejected_by: Option<String>,
    rejected_ms: Option<i64>,
    reject_comment: Option<String>,
    used_ms: Option<i64>,
}

impl Row {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            id: r.get(0)?,
            command_key: r.get(1)?,
            command: r.get(2)?,
            target: r.get(3)?,
            rules: r.get(4)?,
            reason: r.get(5)?,
            justification: r.get(6)?,
            approvals_required: r.get(7)?,
            approver_groups: r.get(8)?,
            created_ms: r.get(9)?,
            expires_ms: r.get(10)?,
            state: r.get(11)?,
            rejected_by: r.get(12)?,
            rejected_ms: r.get(13)?,
            reject_comment: r.get(14)?,
            used_ms: r.get(15)?,
        })
    }
}

/// A stored approval with the key it is matched by.
struct Loaded {
    approval: Approval,
    command_key: String,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Fail {
    Fail::Corrupt(format!("unreadable {what}: {e}"))
}

/// The approval with `id` as of `now_ms`, with its votes.
fn load(tx: &Connection, id: &str, now_ms: i64) -> Result<Option<Loaded>, Fail> {
    let row = tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1"))?
        .query_row(params![id], Row::read)
        .optional()?;
    row.map(|r| decode(tx, r, now_ms)).transpose()
}

fn decode(tx: &Connection, r: Row, now_ms: i64) -> Result<Loaded, Fail> {
    let id = ApprovalId::parse(&r.id).map_err(|e| corrupt("id", e))?;
    let stored = State::parse(&r.state).ok_or_else(|| corrupt("state", &r.state))?;
    let state = match stored {
        State::Pending | State::Approved if now_ms >= r.expires_ms => State::Expired,
        other => other,
    };
    let approvals = tx
        .prepare_cached(
            "SELECT approver, at_ms, comment FROM votes WHERE approval = ?1 ORDER BY at_ms, rowid",
        )?
        .query_map(params![r.id], |v| {
            Ok(Vote {
                by: v.get(0)?,
                at: from_ms(v.get(1)?),
                comment: v.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<Vote>>>()?;
    let rejection = match (r.rejected_by, r.rejected_ms) {
        (Some(by), Some(at)) => Some(Vote {
            by,
            at: from_ms(at),
            comment: r.reject_comment,
        }),
        _ => None,
    };
    Ok(Loaded {
        approval: Approval {
            id,
            state,
            command: serde_json::from_str(&r.command).map_err(|e| corrupt("command", e))?,
            target: r.target,
            rules: serde_json::from_str(&r.rules).map_err(|e| corrupt("rules", e))?,
            reason: r.reason,
            justification: r.justification,
            created_at: from_ms(r.created_ms),
            expires_at: from_ms(r.expires_ms),
            approvals_required: u32::try_from(r.approvals_required)
                .map_err(|e| corrupt("approval count", e))?,
            approver_groups: serde_json::from_str(&r.approver_groups)
                .map_err(|e| corrupt("approver groups", e))?,
            approvals,
            rejection,
            used_at: r.used_ms.map(from_ms),
        },
        command_key: r.command_key,
    })
}

/// Loads `id` or refuses with "not found".
fn load_existing(tx: &Connection, id: &ApprovalId, now_ms: i64) -> Result<Loaded, Fail> {
    load(tx, &id.to_string(), now_ms)?
        .ok_or_else(|| Fail::Refused(ApprovalError::NotFound { id: id.to_string() }))
}

/// Loads every row the query (selecting [`COLUMNS`]) returns.
fn load_many(
    tx: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    now_ms: i64,
) -> Result<Vec<Approval>, Fail> {
    let rows = tx
        .prepare_cached(sql)?
        .query_map(args, Row::read)?
        .collect::<rusqlite::Result<Vec<Row>>>()?;
    rows.into_iter()
        .map(|r| decode(tx, r, now_ms).map(|l| l.approval))
        .collect()
}

/// The refusal for an approval that is no longer pending or approved.
fn closed(a: &Approval) -> Option<ApprovalError> {
    let id = a.id.to_string();
    match a.state {
        State::Pending | State::Approved => None,
        State::Expired => Some(ApprovalError::Expired {
            id,
            at: a.expires_at,
        }),
        State::Rejected => {
            let (by, comment) = a
                .rejection
                .as_ref()
                .map(|v| (v.by.clone(), v.comment.clone().unwrap_or_default()))
                .unwrap_or_default();
            Some(ApprovalError::Rejected { id, by, comment })
        }
        State::Used => Some(ApprovalError::Used {
            id,
            at: a.used_at.unwrap_or(a.expires_at),
        }),
    }
}

/// Marks `loaded` used if `command` is its command and it is approved.
fn claim_loaded(
    tx: &Connection,
    loaded: Loaded,
    command: &CanonicalCommand,
    terms: &Terms,
    now_ms: i64,
) -> Result<Approval, Fail> {
    let a = &loaded.approval;
    let id = a.id.to_string();
    // Compared first, so someone else's id tells nothing about its state.
    if loaded.command_key != command.key() {
        return Err(Fail::Refused(ApprovalError::DifferentCommand {
            id,
            what: a.command.difference(command).unwrap_or("command"),
        }));
    }
    if let Some(e) = closed(a) {
        return Err(e.into());
    }
    match a.state {
        State::Pending => {
            return Err(Fail::Refused(ApprovalError::NotApproved {
                id,
                have: u32::try_from(a.approvals.len()).unwrap_or(u32::MAX),
                need: a.approvals_required,
            }));
        }
        State::Approved => {}
        State::Rejected | State::Used | State::Expired => {
            return Err(Fail::Corrupt(format!("approval `{id}` is not open")));
        }
    }
    if let Some(refused) = a.refusal(terms, from_ms(now_ms)) {
        return Err(Fail::Refused(refused));
    }
    let changed = tx
        .prepare_cached(
            "UPDATE approvals SET state = 'used', used_ms = ?2 \
             WHERE id = ?1 AND state = 'approved' AND expires_ms > ?2",
        )?
        .execute(params![id, now_ms])?;
    if changed != 1 {
        return Err(Fail::Corrupt(format!(
            "approval `{id}` changed during its claim"
        )));
    }
    Ok(load_existing(tx, &a.id, now_ms)?.approval)
}

impl Store for SqliteStore {
    fn create(&self, new: NewApproval, now: SystemTime) -> Result<Approval, ApprovalError> {
        check_text(
            "requester identity",
            &new.command.caller,
            MAX_IDENTITY_CHARS,
        )?;
        if let Some(j) = &new.justification {
            check_justification_text(j).map_err(ApprovalError::Invalid)?;
        }
        if new.command.argv.is_empty() {
            return Err(ApprovalError::Invalid("the command is empty".to_owned()));
        }
        if new.requirement.approvals == 0 {
            return Err(ApprovalError::Invalid(
                "an approval needs at least one approver".to_owned(),
            ));
        }
        let id = ApprovalId::random()?;
        let now_ms = to_ms(now);
        let ttl_ms = i64::try_from(new.requirement.ttl.as_millis()).unwrap_or(i64::MAX);
        let command = json(&new.command)?;
        let rules = json(&new.rules)?;
        let groups = json(&new.requirement.approver_groups)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO approvals (id, command_key, command, target, rules, reason, \
                 justification, approvals_required, approver_groups, created_ms, expires_ms, state) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending')",
            )?
            .execute(params![
                id.to_string(),
                new.command.key(),
                command,
                new.target,
                rules,
                new.reason,
                new.justification,
                i64::from(new.requirement.approvals),
                groups,
                now_ms,
                now_ms.saturating_add(ttl_ms),
            ])?;
            Ok(load_existing(tx, &id, now_ms)?.approval)
        })
    }

    fn get(&self, id: &ApprovalId, now: SystemTime) -> Result<Approval, ApprovalError> {
        self.read(|tx| Ok(load_existing(tx, id, to_ms(now))?.approval))
    }

    fn list(&self, which: Listing, now: SystemTime) -> Result<Vec<Approval>, ApprovalError> {
        let now_ms = to_ms(now);
        let sql = |filter: &str| {
            format!("SELECT {COLUMNS} FROM approvals {filter} ORDER BY created_ms, id")
        };
        self.read(|tx| match which {
            Listing::Pending => load_many(
                tx,
                &sql("WHERE state = 'pending' AND expires_ms > ?1"),
                params![now_ms],
                now_ms,
            ),
            Listing::Open => load_many(
                tx,
                &sql("WHERE state IN ('pending', 'approved') AND expires_ms > ?1"),
                params![now_ms],
                now_ms,
            ),
            Listing::All => load_many(tx, &sql(""), [], now_ms),
        })
    }

    fn matching(
        &self,
        command: &CanonicalCommand,
        now: SystemTime,
    ) -> Result<Vec<Approval>, ApprovalError> {
        let now_ms = to_ms(now);
        let sql = format!(
            "SELECT {COLUMNS} FROM approvals WHERE command_key = ?1 ORDER BY created_ms DESC, id"
        );
        self.read(|tx| load_many(tx, &sql, params![command.key()], now_ms))
    }

    fn approve(
        &self,
        id: &ApprovalId,
        approver: &Caller,
        comment: Option<&str>,
        now: SystemTime,
    ) -> Result<Approval, ApprovalError> {
        check_text("approver identity", &approver.id, MAX_IDENTITY_CHARS)?;
        if let Some(c) = comment {
            check_text("comment", c, MAX_COMMENT_CHARS)?;
        }
        let now_ms = to_ms(now);
        self.write(|tx| {
            let a = load_existing(tx, id, now_ms)?.approval;
            let text = id.to_string();
            if let Some(e) = closed(&a) {
                return Err(e.into());
            }
            match a.state {
                State::Pending => {}
                State::Approved => {
                    return Err(Fail::Refused(ApprovalError::AlreadyApproved {
                        id: text,
                        need: a.approvals_required,
                    }));
                }
                State::Rejected | State::Used | State::Expired => {
                    return Err(Fail::Corrupt(format!("approval `{text}` is not open")));
                }
            }
            let who = person(&approver.id);
            if who == person(&a.command.caller) {
                return Err(Fail::Refused(ApprovalError::SelfApproval { id: text }));
            }
            let req = a.requirement();
            if !req.may_approve(&approver.groups) {
                return Err(not_an_approver(&text, &approver.id, &req));
            }
            if a.approvals.iter().any(|v| person(&v.by) == who) {
                return Err(Fail::Refused(ApprovalError::DuplicateApproval {
                    id: text,
                    approver: approver.id.clone(),
                }));
            }
            tx.prepare_cached(
                "INSERT INTO votes (approval, person, approver, at_ms, comment) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![text, who, approver.id, now_ms, comment])?;
            if a.approvals.len() + 1 >= a.approvals_required as usize {
                tx.prepare_cached(
                    "UPDATE approvals SET state = 'approved' WHERE id = ?1 AND state = 'pending'",
                )?
                .execute(params![text])?;
            }
            Ok(load_existing(tx, id, now_ms)?.approval)
        })
    }

    fn reject(
        &self,
        id: &ApprovalId,
        who: &Caller,
        comment: &str,
        now: SystemTime,
    ) -> Result<Approval, ApprovalError> {
        check_text("identity", &who.id, MAX_IDENTITY_CHARS)?;
        check_text("comment", comment, MAX_COMMENT_CHARS)?;
        let now_ms = to_ms(now);
        self.write(|tx| {
            let a = load_existing(tx, id, now_ms)?.approval;
            let text = id.to_string();
            if let Some(e) = closed(&a) {
                return Err(e.into());
            }
            let req = a.requirement();
            let requester = person(&who.id) == person(&a.command.caller);
            if !requester && !req.may_approve(&who.groups) {
                return Err(not_an_approver(&text, &who.id, &req));
            }
            tx.prepare_cached(
                "UPDATE approvals SET state = 'rejected', rejected_by = ?2, rejected_ms = ?3, \
                 reject_comment = ?4 WHERE id = ?1 AND state IN ('pending', 'approved')",
            )?
            .execute(params![text, who.id, now_ms, comment])?;
            Ok(load_existing(tx, id, now_ms)?.approval)
        })
    }

    fn claim(
        &self,
        id: &ApprovalId,
        command: &CanonicalCommand,
        terms: &Terms,
        now: SystemTime,
    ) -> Result<Approval, ApprovalError> {
        let now_ms = to_ms(now);
        self.write(|tx| {
            let loaded = load_existing(tx, id, now_ms)?;
            claim_loaded(tx, loaded, command, terms, now_ms)
        })
    }

    fn claim_matching(
        &self,
        command: &CanonicalCommand,
        terms: &Terms,
        now: SystemTime,
    ) -> Result<Option<Approval>, ApprovalError> {
        let now_ms = to_ms(now);
        self.write(|tx| {
            let ids: Vec<String> = tx
                .prepare_cached(
                    "SELECT id FROM approvals WHERE command_key = ?1 AND state = 'approved' \
                     AND expires_ms > ?2 ORDER BY created_ms, id",
                )?
                .query_map(params![command.key(), now_ms], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            // The oldest that covers the terms; one granted on other terms stays unused.
            for id in ids {
                let loaded = load(tx, &id, now_ms)?
                    .ok_or_else(|| Fail::Corrupt(format!("approval `{id}` vanished")))?;
                if loaded.approval.covers(terms, from_ms(now_ms)) {
                    return claim_loaded(tx, loaded, command, terms, now_ms).map(Some);
                }
            }
            Ok(None)
        })
    }

    fn expire(&self, now: SystemTime) -> Result<Vec<Approval>, ApprovalError> {
        let now_ms = to_ms(now);
        self.write(|tx| {
            let ids = tx
                .prepare_cached(
                    "UPDATE approvals SET state = 'expired' \
                     WHERE state IN ('pending', 'approved') AND expires_ms <= ?1 RETURNING id",
                )?
                .query_map(params![now_ms], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let loaded = load(tx, &id, now_ms)?
                    .ok_or_else(|| Fail::Corrupt(format!("approval `{id}` vanished")))?;
                out.push(loaded.approval);
            }
            out.sort_by_key(|a| (a.created_at, a.id));
            Ok(out)
        })
    }

    fn try_acquire(&self, limits: &[RateLimit], now: SystemTime) -> Result<(), ApprovalError> {
        if limits.is_empty() {
            return Ok(());
        }
        let now_ms = to_ms(now);
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM rate_events WHERE at_ms <= ?1")?
                .execute(params![now_ms.saturating_sub(MAX_WINDOW_MS)])?;
            for l in limits {
                let window_ms = i64::try_from(l.window.duration().as_millis()).unwrap_or(i64::MAX);
                let since = now_ms.saturating_sub(window_ms);
                let count: i64 = tx
                    .prepare_cached(
                        "SELECT COUNT(*) FROM rate_events WHERE key = ?1 AND at_ms > ?2",
                    )?
                    .query_row(params![l.key, since], |r| r.get(0))?;
                if count >= i64::from(l.limit) {
                    // The event whose leaving the window makes room for one more.
                    let leaving: i64 = tx
                        .prepare_cached(
                            "SELECT at_ms FROM rate_events WHERE key = ?1 AND at_ms > ?2 \
                             ORDER BY at_ms LIMIT 1 OFFSET ?3",
                        )?
                        .query_row(params![l.key, since, count - i64::from(l.limit)], |r| {
                            r.get(0)
                        })?;
                    return Err(Fail::Refused(ApprovalError::RateLimited(RateLimited {
                        rule: l.rule.clone(),
                        limit: l.limit,
                        window: l.window,
                        per: l.per,
                        retry_at: from_ms(leaving.saturating_add(window_ms)),
                    })));
                }
            }
            for key in distinct_keys(limits) {
                tx.prepare_cached("INSERT INTO rate_events (key, at_ms) VALUES (?1, ?2)")?
                    .execute(params![key, now_ms])?;
            }
            Ok(())
        })
    }

    fn unclaim(
        &self,
        id: &ApprovalId,
        used_at: SystemTime,
        now: SystemTime,
    ) -> Result<Approval, ApprovalError> {
        let now_ms = to_ms(now);
        self.write(|tx| {
            let text = id.to_string();
            let changed = tx
                .prepare_cached(
                    "UPDATE approvals SET state = 'approved', used_ms = NULL \
                     WHERE id = ?1 AND state = 'used' AND used_ms = ?2",
                )?
                .execute(params![text, to_ms(used_at)])?;
            let loaded = load_existing(tx, id, now_ms)?;
            if changed != 1 {
                return Err(Fail::Refused(ApprovalError::NotHeld {
                    id: text,
                    state: loaded.approval.state.as_str(),
                }));
            }
            Ok(loaded.approval)
        })
    }

    fn return_counts(&self, limits: &[RateLimit], at: SystemTime) -> Result<(), ApprovalError> {
        if limits.is_empty() {
            return Ok(());
        }
        let at_ms = to_ms(at);
        self.write(|tx| {
            for key in distinct_keys(limits) {
                // One of the counts taken then (two runs taking one at the same millisecond
                // left two identical rows).
                tx.prepare_cached(
                    "DELETE FROM rate_events WHERE rowid IN \
                     (SELECT rowid FROM rate_events WHERE key = ?1 AND at_ms = ?2 LIMIT 1)",
                )?
                .execute(params![key, at_ms])?;
            }
            Ok(())
        })
    }
}

/// The keys `limits` count against, each once (two rules may share one).
fn distinct_keys(limits: &[RateLimit]) -> Vec<&str> {
    let mut keys: Vec<&str> = limits.iter().map(|l| l.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn not_an_approver(id: &str, who: &str, req: &ApprovalRequirement) -> Fail {
    Fail::Refused(ApprovalError::NotAnApprover {
        id: id.to_owned(),
        who: who.to_owned(),
        groups: req.approvers_text(),
    })
}

/// JSON text of a stored list or command.
fn json<T: serde::Serialize>(v: &T) -> Result<String, ApprovalError> {
    serde_json::to_string(v).map_err(|e| ApprovalError::Invalid(format!("cannot encode: {e}")))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::policy::{RatePer, RateWindow};

    /// `secs` seconds into the test's timeline.
    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    fn person_in(id: &str, groups: &[&str]) -> Caller {
        Caller {
            id: id.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    fn command(caller: &str, namespace: &str, workflow: &str) -> CanonicalCommand {
        CanonicalCommand {
            caller: caller.to_owned(),
            integration: "local".to_owned(),
            namespace: namespace.to_owned(),
            argv: [
                "temporal",
                "workflow",
                "signal",
                "--name=retry",
                &format!("--namespace={namespace}"),
                &format!("--workflow-id={workflow}"),
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }

    fn request(approvals: u32, groups: &[&str]) -> NewApproval {
        NewApproval {
            command: command("agent", "payments", "pay-1"),
            target: "workflow pay-1".to_owned(),
            rules: vec!["signal-with-approval".to_owned()],
            reason: "signals need approval".to_owned(),
            justification: Some("INC-42 stuck payment".to_owned()),
            requirement: ApprovalRequirement {
                ttl: Duration::from_secs(900),
                approvals,
                approver_groups: if groups.is_empty() {
                    Vec::new()
                } else {
                    vec![groups.iter().map(|g| (*g).to_owned()).collect()]
                },
            },
        }
    }

    /// What `request(approvals, groups)` requires, for a run that gives no justification.
    fn terms(approvals: u32, groups: &[&str]) -> Terms {
        Terms::new(&request(approvals, groups).requirement, None)
    }

    /// The terms `a` was requested on.
    fn terms_of(a: &Approval) -> Terms {
        Terms::new(&a.requirement(), None)
    }

    fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("state/approvals.sqlite3")).expect("open");
        (dir, store)
    }

    /// The bundled SQLite is built without what the store never uses (`.cargo/config.toml`):
    /// no extension can be loaded into its connection, and there is no full-text search (whose
    /// ranking function was the binary's only use of libm), R-tree, dbstat or soundex. (STAT4,
    /// also left out, changes only how `ANALYZE` informs the query planner.)
    #[test]
    fn the_store_can_load_no_extension() {
        let (_dir, s) = open();
        let Ok(conn) = s.lock() else {
            panic!("the store's connection is poisoned")
        };
        for (sql, missing) in [
            (
                "SELECT load_extension('/nonexistent')",
                "no such function: load_extension",
            ),
            (
                "CREATE VIRTUAL TABLE t USING fts5(x)",
                "no such module: fts5",
            ),
            (
                "CREATE VIRTUAL TABLE r USING rtree(id, a, b)",
                "no such module: rtree",
            ),
            (
                "CREATE VIRTUAL TABLE f3 USING fts3(x)",
                "no such module: fts3",
            ),
            ("SELECT * FROM dbstat", "no such table: dbstat"),
            ("SELECT soundex('tgate')", "no such function: soundex"),
        ] {
            let err = conn.execute_batch(sql).expect_err(sql).to_string();
            assert!(err.contains(missing), "{sql}: {err}");
        }
    }

    #[test]
    fn a_claim_needs_the_terms_the_approval_was_granted_on() {
        let (_dir, s) = open();
        let a = s
            .create(request(1, &["sre", "oncall"]), t(0))
            .expect("create");
        s.approve(&a.id, &person_in("alice", &["sre"]), None, t(1))
            .expect("approve");
        let cmd = command("agent", "payments", "pay-1");
        let shortened = Terms {
            ttl: Duration::from_secs(2),
            ..terms(1, &["sre", "oncall"])
        };
        for (terms, what) in [
            (shortened, "time to live"),
            (terms(2, &["sre", "oncall"]), "number of approvals"),
            (terms(1, &["sre"]), "approver groups"),
            (terms(1, &[]), "approver groups"),
            (
                Terms::new(&request(1, &["sre", "oncall"]).requirement, Some("INC-43")),
                "justification",
            ),
        ] {
            assert_eq!(
                s.claim(&a.id, &cmd, &terms, t(2)),
                Err(ApprovalError::DifferentTerms {
                    id: a.id.to_string(),
                    what
                })
            );
            assert_eq!(s.claim_matching(&cmd, &terms, t(2)), Ok(None));
        }
        assert_eq!(s.get(&a.id, t(2)).expect("get").state, State::Approved);
        // Fewer approvals than granted, the groups in another order, the approved justification.
        let covered = Terms::new(
            &request(1, &["oncall", "sre"]).requirement,
            Some("INC-42 stuck payment"),
        );
        assert_eq!(
            s.claim_matching(&cmd, &covered, t(3))
                .expect("claim")
                .map(|x| x.id),
            Some(a.id)
        );
    }

    #[test]
    fn approve_then_claim_exactly_once() {
        let (_dir, s) = open();
        let a = s.create(request(1, &[]), t(0)).expect("create");
        assert_eq!(a.state, State::Pending);
        assert_eq!(a.expires_at, t(900));
        assert_eq!(a.justification.as_deref(), Some("INC-42 stuck payment"));
        let cmd = command("agent", "payments", "pay-1");
        assert_eq!(
            s.claim(&a.id, &cmd, &terms_of(&a), t(1)),
            Err(ApprovalError::NotApproved {
                id: a.id.to_string(),
                have: 0,
                need: 1
            })
        );
        let approved = s
            .approve(&a.id, &person_in("alice", &[]), Some("ok"), t(10))
            .expect("approve");
        assert_eq!(approved.state, State::Approved);
        assert_eq!(approved.approvals[0].by, "alice");
        assert_eq!(approved.approvals[0].comment.as_deref(), Some("ok"));
        let used = s.claim(&a.id, &cmd, &terms_of(&a), t(20)).expect("claim");
        assert_eq!(used.state, State::Used);
        assert_eq!(used.used_at, Some(t(20)));
        let again = s.claim(&a.id, &cmd, &terms_of(&a), t(21)).unwrap_err();
        assert_eq!(
            again,
            ApprovalError::Used {
                id: a.id.to_string(),
                at: t(20)
            }
        );
        assert!(again.to_string().contains("already used"), "{again}");
        assert_eq!(s.claim_matching(&cmd, &terms_of(&a), t(22)), Ok(None));
        assert!(matches!(
            s.approve(&a.id, &person_in("bob", &[]), None, t(23)),
            Err(ApprovalError::Used { .. })
        ));
    }

    /// Under a configuration listing approvers, an approval given by someone off the list (who
    /// approved under another configuration, or none) is not used, named or matched; letter case
    /// and surrounding spaces aside, as for identities elsewhere.
    #[test]
    fn an_approval_by_someone_off_the_runs_list_is_not_used() {
        let (_dir, s) = open();
        let a = s.create(request(1, &[]), t(0)).expect("create");
        s.approve(&a.id, &person_in("mallory", &[]), None, t(1))
            .expect("approve");
        let cmd = command("agent", "payments", "pay-1");
        let listed = |names: &[&str]| Terms {
            listed: Some(
                names
                    .iter()
                    .map(|n| ((*n).to_owned(), Vec::new()))
                    .collect(),
            ),
            ..terms_of(&a)
        };
        assert_eq!(
            s.claim(&a.id, &cmd, &listed(&["alice"]), t(2)),
            Err(ApprovalError::UnfitApprover {
                id: a.id.to_string(),
                who: "mallory".to_owned(),
                why: "who is not on the configuration's `approvers:` list".to_owned()
            })
        );
        assert_eq!(s.claim_matching(&cmd, &listed(&["alice"]), t(2)), Ok(None));
        assert_eq!(s.get(&a.id, t(2)).expect("get").state, State::Approved);
        let used = s
            .claim_matching(&cmd, &listed(&["alice", " MALLORY"]), t(3))
            .expect("claim");
        assert_eq!(used.map(|u| u.state), Some(State::Used));
        // In the groups the approval requires by the run's list, not by the list the approver
        // gave: in `sre` when approving, in `dev` alone by the run's list.
        let b = s.create(request(1, &["sre"]), t(4)).expect("create");
        s.approve(&b.id, &person_in("mallory", &["sre"]), None, t(5))
            .expect("approve");
        let grouped = |groups: &[&str]| Terms {
            listed: Some(vec![(
                "mallory".to_owned(),
                groups.iter().map(|g| (*g).to_owned()).collect(),
            )]),
            ..terms_of(&b)
        };
        assert_eq!(
            s.claim(&b.id, &cmd, &grouped(&["dev"]), t(6)),
            Err(ApprovalError::UnfitApprover {
                id: b.id.to_string(),
                who: "mallory".to_owned(),
                why: "who is not in `sre` by the configuration's `approvers:` list".to_owned()
            })
        );
        // No list: nobody is in a group.
        let none = Terms {
            listed: Some(Vec::new()),
            ..terms_of(&b)
        };
        assert!(matches!(
            s.claim(&b.id, &cmd, &none, t(6)),
            Err(ApprovalError::UnfitApprover { .. })
        ));
        assert_eq!(s.get(&b.id, t(6)).expect("get").state, State::Approved);
        let used = s
            .claim(&b.id, &cmd, &grouped(&["dev", "sre"]), t(7))
            .expect("claim");
        assert_eq!(used.state, State::Used);
    }

    /// A claim whose command did not run is given back: the approval runs once more, until its
    /// expiry as before; only a claim of that time is given back, once.
    #[test]
    fn a_claim_given_back_can_be_claimed_again_once() {
        let (_dir, s) = open();
        let a = s.create(request(1, &[]), t(0)).expect("create");
        s.approve(&a.id, &person_in("alice", &[]), None, t(10))
            .expect("approve");
        let cmd = command("agent", "payments", "pay-1");
        let used = s.claim(&a.id, &cmd, &terms_of(&a), t(20)).expect("claim");
        // Another time than the claim's: refused, and the approval stays used.
        assert_eq!(
            s.unclaim(&a.id, t(19), t(21)),
            Err(ApprovalError::NotHeld {
                id: a.id.to_string(),
                state: "used"
            })
        );
        assert_eq!(s.get(&a.id, t(21)).expect("get").state, State::Used);
        let back = s
            .unclaim(&a.id, used.used_at.expect("used"), t(21))
            .expect("unclaim");
        assert_eq!((back.state, back.used_at), (State::Approved, None));
        let err = s
            .unclaim(&a.id, used.used_at.expect("used"), t(22))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "approval `{}` is approved, not held by the run giving it back",
                a.id
            )
        );
        let again = s
            .claim_matching(&cmd, &terms_of(&a), t(30))
            .expect("claim")
            .expect("claimed again");
        assert_eq!(again.used_at, Some(t(30)));
        assert!(matches!(
            s.claim(&a.id, &cmd, &terms_of(&a), t(31)),
            Err(ApprovalError::Used { .. })
        ));
        // Given back after its expiry (900 s), it reads as expired, and cannot run.
        let late = s.unclaim(&a.id, t(30), t(901)).expect("unclaim");
        assert_eq!(late.state, State::Expired);
        assert_eq!(s.get(&a.id, t(902)).expect("get").state, State::Expired);
        assert!(matches!(
            s.claim(&a.id, &cmd, &terms_of(&a), t(901)),
            Err(ApprovalError::Expired { .. })
        ));
    }

    #[test]
    fn the_requester_cannot_approve() {
        let (_dir, s) = open();
        let a = s.create(request(1, &[]), t(0)).expect("create");
        for me in ["agent", "Agent", " agent "] {
            let e = s
                .approve(&a.id, &person_in(me, &[]), None, t(1))
                .unwrap_err();
            assert_eq!(
                e,
                ApprovalError::SelfApproval {
                    id: a.id.to_string()
                }
            );
            assert!(e.to_string().contains("a second person must approve it"));
        }
        assert_eq!(s.get(&a.id, t(2)).expect("get").approvals, Vec::new());
    }

    #[test]
    fn approvers_must_be_in_a_named_group() {
        let (_dir, s) = open();
        let a = s.create(request(1, &["sre", "dba"]), t(0)).expect("create");
        let e = s
            .approve(&a.id, &person_in("mallory", &["dev"]), None, t(1))
            .unwrap_err();
        assert_eq!(
            e,
            ApprovalError::NotAnApprover {
                id: a.id.to_string(),
                who: "mallory".to_owned(),
                groups: "in `sre` or `dba`".to_owned()
            }
        );
        let e = s
            .reject(&a.id, &person_in("mallory", &["dev"]), "no", t(1))
            .unwrap_err();
        assert!(matches!(e, ApprovalError::NotAnApprover { .. }));
        let ok = s
            .approve(&a.id, &person_in("dana", &["dba"]), None, t(2))
            .expect("approve");
        assert_eq!(ok.state, State::Approved);
    }

    #[test]
    fn two_approvals_need_two_people() {
        let (_dir, s) = open();
        let a = s.create(request(2, &[]), t(0)).expect("create");
        let cmd = command("agent", "payments", "pay-1");
        let one = s
            .approve(&a.id, &person_in("alice", &[]), None, t(1))
            .expect("first");
        assert_eq!(one.state, State::Pending);
        let e = s
            .approve(&a.id, &person_in("ALICE", &[]), None, t(2))
            .unwrap_err();
        assert_eq!(
            e,
            ApprovalError::DuplicateApproval {
                id: a.id.to_string(),
                approver: "ALICE".to_owned()
            }
        );
        assert_eq!(
            s.claim(&a.id, &cmd, &terms_of(&a), t(3)),
            Err(ApprovalError::NotApproved {
                id: a.id.to_string(),
                have: 1,
                need: 2
            })
        );
        let two = s
            .approve(&a.id, &person_in("bob", &[]), None, t(4))
            .expect("second");
        assert_eq!(two.state, State::Approved);
        assert_eq!(two.approvals.len(), 2);
        assert_eq!(
            s.approve(&a.id, &person_in("carol", &[]), None, t(5)),
            Err(ApprovalError::AlreadyApproved {
                id: a.id.to_string(),
                need: 2
            })
        );
        assert_eq!(
            s.claim(&a.id, &cmd, &terms_of(&a), t(6))
                .expect("claim")
                .state,
            State::Used
        );
    }

    #[test]
    fn expired_approvals_are_refused_and_reported_once() {
        let (_dir, s) = open();
        let a = s.create(request(1, &[]), t(0)).expect("create");
        let b = s.create(request(1, &[]), t(0)).expect("create");
        s.approve(&b.id, &person_in("alice", &[]), None, t(899))
            .expect("approve in time");
        let cmd = command("agent", "payments", "pay-1");
        let expired = ApprovalError::Expired {
            id: a.id.to_string(),
            at: t(900),
        };
        assert_eq!(
            s.approve(&a.id, &person_in("alice", &[]), None, t(900)),
            Err(expired.clone())
        );
        assert!(
            expired
                .to_string()
                .contains("expired at 2027-01-15T08:15:00Z"),
            "{expired}"
        );
        assert!(matches!(
            s.claim(&b.id, &cmd, &terms_of(&b), t(900)),
            Err(ApprovalError::Expired { .. })
        ));
        assert_eq!(s.claim_matching(&cmd, &terms_of(&a), t(900)), Ok(None));
        assert_eq!(s.get(&a.id, t(900)).expect("get").state, State::Expired);
        assert_eq!(s.list(Listing::Open, t(900)).expect("list"), Vec::new());
        let gone = s.expire(t(901)).expect("expire");
        assert_eq!(gone.iter().map(|x| x.id).collect::<Vec<_>>(), {
            let mut ids = vec![a.id, b.id];
            ids.sort_by_key(|id| (t(0), *id));
            ids
        });
        assert_eq!(s.expire(t(902)).expect("expire again"), Vec::new());
        // Time going back does not revive them.
        assert_eq!(s.get(&a.id, t(1)).expect("get").state, State::Expired);
    }

    #[test]
    fn rejected_approvals_are_refused() {
        let (_dir, s) = open();
        let a = s.create(request(1, &[]), t(0)).expect("create");
        assert_eq!(
            s.reject(&a.id, &person_in("bob", &[]), "  ", t(1)),
            Err(ApprovalError::Invalid("the comment is empty".to_owned()))
        );
        s.approve(&a.id, &person_in("alice", &[]), None, t(1))
            .expect("approve");
        let r = s
            .reject(&a.id, &person_in("bob", &[]), "wrong workflow", t(2))
            .expect("a second person vetoes before it runs");
        assert_eq!(r.state, State::Rejected);
        let refused = ApprovalError::Rejected {
            id: a.id.to_string(),
            by: "bob".to_owned(),
            comment: "wrong workflow".to_owned(),
        };
        let cmd = command("agent", "payments", "pay-1");
        assert_eq!(
            s.claim(&a.id, &cmd, &terms_of(&a), t(3)),
            Err(refused.clone())
        );
        assert_eq!(
            s.approve(&a.id, &person_in("carol", &[]), None, t(3)),
            Err(refused)
        );
        // The requester may withdraw their own request.
        let b = s.create(request(1, &["sre"]), t(4)).expect("create");
        let w = s
            .reject(&b.id, &person_in("agent", &[]), "not needed", t(5))
            .expect("withdraw");
        assert_eq!(w.state, State::Rejected);
    }

    #[test]
    fn a_different_command_is_refused() {
        let (_dir, s) = open();
        let a = s.create(request(1, &[]), t(0)).expect("create");
        s.approve(&a.id, &person_in("alice", &[]), None, t(1))
            .expect("approve");
        let mut other_integration = command("agent", "payments", "pay-1");
        other_integration.integration = "prod".to_owned();
        let mut extra_flag = command("agent", "payments", "pay-1");
        extra_flag.argv.push("--input={}".to_owned());
        for (cmd, what) in [
            (command("agent", "orders", "pay-1"), "namespace"),
            (
                command("agent", "payments", "pay-2"),
                "command (target, flags or arguments)",
            ),
            (command("intruder", "payments", "pay-1"), "caller"),
            (other_integration, "integration"),
            (extra_flag, "command (target, flags or arguments)"),
        ] {
            assert_eq!(
                s.claim(&a.id, &cmd, &terms_of(&a), t(2)),
                Err(ApprovalError::DifferentCommand {
                    id: a.id.to_string(),
                    what
                })
            );
            assert_eq!(s.claim_matching(&cmd, &terms_of(&a), t(2)), Ok(None));
        }
        let cmd = command("agent", "payments", "pay-1");
        assert_eq!(
            s.claim_matching(&cmd, &terms_of(&a), t(3))
                .expect("claim")
                .map(|x| x.id),
            Some(a.id)
        );
    }

    #[test]
    fn listing_and_matching() {
        let (_dir, s) = open();
        let a = s.create(request(1, &[]), t(0)).expect("create");
        let b = s.create(request(1, &[]), t(1)).expect("create");
        s.approve(&b.id, &person_in("alice", &[]), None, t(2))
            .expect("approve");
        let ids = |v: Vec<Approval>| v.into_iter().map(|x| x.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.list(Listing::Pending, t(3)).expect("list")),
            vec![a.id]
        );
        assert_eq!(
            ids(s.list(Listing::Open, t(3)).expect("list")),
            vec![a.id, b.id]
        );
        assert_eq!(
            ids(s.list(Listing::All, t(901)).expect("list")),
            vec![a.id, b.id]
        );
        let cmd = command("agent", "payments", "pay-1");
        assert_eq!(
            ids(s.matching(&cmd, t(3)).expect("matching")),
            vec![b.id, a.id]
        );
        assert_eq!(
            s.get(&ApprovalId::random().expect("id"), t(3))
                .unwrap_err()
                .to_string()[..20],
            *"there is no approval"
        );
        let json = serde_json::to_value(s.get(&a.id, t(3)).expect("get")).expect("json");
        assert_eq!(json["state"], "pending");
        assert_eq!(json["caller"], "agent");
        assert_eq!(json["expires_at"], "2027-01-15T08:15:00Z");
        assert_eq!(json["id"], a.id.to_string());
    }

    #[test]
    fn bad_text_is_refused() {
        let (_dir, s) = open();
        let mut r = request(1, &[]);
        r.justification = Some("INC-1\u{1b}]0;approved\u{7}".to_owned());
        assert!(matches!(s.create(r, t(0)), Err(ApprovalError::Invalid(_))));
        let a = s.create(request(1, &[]), t(0)).expect("create");
        assert!(matches!(
            s.approve(&a.id, &person_in("", &[]), None, t(1)),
            Err(ApprovalError::Invalid(_))
        ));
        assert!(matches!(
            s.approve(&a.id, &person_in("bob", &[]), Some("ok\r\nAPPROVED"), t(1)),
            Err(ApprovalError::Invalid(_))
        ));
    }

    fn limit(rule: &str, key: &str, n: u32, window: RateWindow) -> RateLimit {
        RateLimit {
            rule: rule.to_owned(),
            key: key.to_owned(),
            limit: n,
            window,
            per: RatePer::Caller,
        }
    }

    /// Counts given back (a command that did not run) make room again, one per run given back,
    /// and only those taken at that time.
    #[test]
    fn counts_given_back_make_room() {
        let (_dir, s) = open();
        let l = [
            limit("signals", "k", 2, RateWindow::Minute),
            limit("all", "k", 2, RateWindow::Minute),
        ];
        s.try_acquire(&l, t(0)).expect("first");
        s.try_acquire(&l, t(1)).expect("second");
        assert!(s.try_acquire(&l, t(2)).is_err());
        // Nothing was taken at 5 s: nothing given back.
        s.return_counts(&l, t(5)).expect("give back");
        assert!(s.try_acquire(&l, t(6)).is_err());
        s.return_counts(&l, t(1)).expect("give back");
        s.try_acquire(&l, t(7)).expect("room again");
        assert!(s.try_acquire(&l, t(8)).is_err());
        // Two taken at one time: one given back per call.
        let m = [limit("m", "km", 3, RateWindow::Minute)];
        for _ in 0..3 {
            s.try_acquire(&m, t(10)).expect("within");
        }
        s.return_counts(&m, t(10)).expect("give back");
        s.try_acquire(&m, t(11)).expect("one room");
        assert!(s.try_acquire(&m, t(12)).is_err());
    }

    #[test]
    fn rate_limits_slide() {
        let (_dir, s) = open();
        let l = [limit("signals", "k", 3, RateWindow::Minute)];
        for i in 0..3 {
            s.try_acquire(&l, t(i * 10)).expect("within the limit");
        }
        let e = s.try_acquire(&l, t(30)).unwrap_err();
        assert_eq!(
            e,
            ApprovalError::RateLimited(RateLimited {
                rule: "signals".to_owned(),
                limit: 3,
                window: RateWindow::Minute,
                per: RatePer::Caller,
                retry_at: t(60),
            })
        );
        assert!(
            e.to_string().starts_with(
                "rule `signals` allows 3 per minute for each caller; the next is allowed at"
            ),
            "{e}"
        );
        // Refusals do not count; another key has its own budget.
        assert!(s.try_acquire(&l, t(59)).is_err());
        s.try_acquire(&[limit("signals", "other", 3, RateWindow::Minute)], t(59))
            .expect("another caller");
        // The oldest leaves the window at 60s: one more fits, then the window is full again.
        s.try_acquire(&l, t(60)).expect("slid");
        assert!(s.try_acquire(&l, t(61)).is_err());
        s.try_acquire(&l, t(70)).expect("slid again");
        // Several limits are acquired together or not at all.
        let both = [
            limit("a", "x", 1, RateWindow::Hour),
            limit("b", "y", 1, RateWindow::Day),
        ];
        s.try_acquire(&both, t(100)).expect("both");
        assert!(
            s.try_acquire(&[limit("b", "y", 1, RateWindow::Day)], t(200))
                .is_err()
        );
        s.try_acquire(&[limit("a", "x", 1, RateWindow::Hour)], t(100 + 3600))
            .expect("x slid");
        assert!(s.try_acquire(&both, t(100 + 7200)).is_err(), "y still full");
        s.try_acquire(&[limit("a", "x", 1, RateWindow::Hour)], t(100 + 7200))
            .expect("x was not consumed by the refused pair");
    }

    #[test]
    fn threads_racing_to_claim_one_approval_run_it_once() {
        let (dir, s) = open();
        let a = s.create(request(1, &[]), t(0)).expect("create");
        s.approve(&a.id, &person_in("alice", &[]), None, t(1))
            .expect("approve");
        let path = s.path().to_owned();
        let shared = Arc::new(s);
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                let shared = Arc::clone(&shared);
                let path = path.clone();
                std::thread::spawn(move || {
                    // Half share one handle; half open their own connection to the file.
                    let own = (i % 2 == 1).then(|| SqliteStore::open(&path).expect("open"));
                    let store: &dyn Store = match &own {
                        Some(o) => o,
                        None => shared.as_ref(),
                    };
                    barrier.wait();
                    store.claim(
                        &a.id,
                        &command("agent", "payments", "pay-1"),
                        &terms(1, &[]),
                        t(2),
                    )
                })
            })
            .collect();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        assert!(
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .all(|e| matches!(e, ApprovalError::Used { .. })),
            "{results:?}"
        );
        drop(dir);
    }

    /// Run by `processes_racing_to_claim_one_approval_run_it_once` in child processes.
    #[test]
    #[ignore = "a child process of the cross-process race test"]
    fn claim_child() {
        let (Ok(path), Ok(id)) = (
            std::env::var("TGATE_TEST_APPROVAL_DB"),
            std::env::var("TGATE_TEST_APPROVAL_ID"),
        ) else {
            return;
        };
        let s = SqliteStore::open(Path::new(&path)).expect("open");
        let id = ApprovalId::parse(&id).expect("id");
        // Start together: wait for the start file.
        let go = Path::new(&path).with_extension("go");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !go.exists() {
            assert!(std::time::Instant::now() < deadline, "no start signal");
            std::thread::sleep(Duration::from_millis(2));
        }
        match s.claim(
            &id,
            &command("agent", "payments", "pay-1"),
            &terms(1, &[]),
            t(2),
        ) {
            Ok(_) => println!("RESULT=claimed"),
            Err(ApprovalError::Used { .. }) => println!("RESULT=used"),
            Err(e) => println!("RESULT=error {e}"),
        }
    }

    #[test]
    fn processes_racing_to_claim_one_approval_run_it_once() {
        let (dir, s) = open();
        let a = s.create(request(1, &[]), t(0)).expect("create");
        s.approve(&a.id, &person_in("alice", &[]), None, t(1))
            .expect("approve");
        drop(s);
        let db = dir.path().join("state/approvals.sqlite3");
        let exe = std::env::current_exe().expect("test binary");
        let children: Vec<_> = (0..4)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args([
                        "--exact",
                        "approval::sqlite::tests::claim_child",
                        "--ignored",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env("TGATE_TEST_APPROVAL_DB", &db)
                    .env("TGATE_TEST_APPROVAL_ID", a.id.to_string())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        std::fs::write(db.with_extension("go"), b"").expect("go");
        let outputs: Vec<String> = children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().expect("child");
                String::from_utf8_lossy(&out.stdout).into_owned()
            })
            .collect();
        let results: Vec<&str> = outputs
            .iter()
            .filter_map(|o| o.split("RESULT=").nth(1)?.lines().next())
            .collect();
        assert_eq!(results.len(), 4, "{outputs:?}");
        assert_eq!(
            results.iter().filter(|r| **r == "claimed").count(),
            1,
            "{results:?}"
        );
        assert_eq!(
            results.iter().filter(|r| **r == "used").count(),
            3,
            "{results:?}"
        );
    }

    #[test]
    fn state_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("approvals.sqlite3");
        let cmd = command("agent", "payments", "pay-1");
        let id = {
            let s = SqliteStore::open(&path).expect("open");
            let a = s.create(request(1, &[]), t(0)).expect("create");
            s.try_acquire(&[limit("r", "k", 1, RateWindow::Hour)], t(0))
                .expect("acquire");
            a.id
        };
        {
            let s = SqliteStore::open(&path).expect("reopen");
            s.approve(&id, &person_in("alice", &[]), None, t(1))
                .expect("approve after restart");
        }
        let s = SqliteStore::open(&path).expect("reopen");
        assert!(
            s.try_acquire(&[limit("r", "k", 1, RateWindow::Hour)], t(2))
                .is_err()
        );
        assert_eq!(
            s.claim(&id, &cmd, &terms(1, &[]), t(3))
                .expect("claim")
                .state,
            State::Used
        );
        drop(s);
        let s = SqliteStore::open(&path).expect("reopen");
        assert!(matches!(
            s.claim(&id, &cmd, &terms(1, &[]), t(4)),
            Err(ApprovalError::Used { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o077, 0, "the store is private: {mode:o}");
        }
    }
}
