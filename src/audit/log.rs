//! The writer: appends records to the chain, durably, from many threads and many processes.
//!
//! Guarantees:
//! - [`AuditLog::append`] returns only once its record is on disk (`fdatasync`); a record whose
//!   append returned `Ok` survives any crash. Records are written in batches, everything queued
//!   with one `write` and one `fdatasync` (group commit), one batch at a time: an appender that
//!   finds no batch being written writes the queue itself, on its own thread (no hand-off: two
//!   thread wake-ups saved per record); records queued meanwhile go to the committer thread,
//!   which writes them as the next batch and wakes exactly their appenders. A record handed over
//!   with [`AuditLog::submit`] always goes to the committer thread, so that the caller works while
//!   it is written. [`AuditLog::write_now`] writes a record on the caller's thread and leaves its
//!   sync to the caller ([`Unsynced::sync`]), which works in between with no thread hand-off.
//! - Every batch is written under an exclusive lock on `<log>.lock` (`flock`), held only around
//!   "read the tail, write, fsync" (a record written now: "read the tail, write"; its sync
//!   comes after, without the lock, and a sync by anyone of the file covers it). Under the lock
//!   the writer re-reads the last record of the active file (unless the file is unchanged since
//!   this handle's own last write), so processes sharing a log continue one chain and never
//!   fork it.
//! - The committer thread is started only when a record first has to wait for it (one submitted,
//!   or queued behind a batch being written): a one-shot `tgate run` writes its records on its
//!   own thread and starts it only for a native write with a connection still to make (A/B:
//!   0.15–0.19 ms faster than starting it as the log opened).
//! - A line left incomplete by a crash (a torn tail: never acknowledged, since its write had not
//!   been synced) is cut off, under the lock, before the next batch is written. A crash can also
//!   lose whole records written now and not yet synced, with whatever follows them (none of
//!   them acknowledged). Any other damage to the last record stops the writer: appends fail and
//!   nothing runs.
//! - A failed write or sync is rolled back (the file is cut to its length before the batch; a
//!   record written now, when it is still the file's last) and every appender of the batch gets
//!   the error. After a failed sync the handle writes nothing more (Linux reports a writeback
//!   error to one sync only), and a record written now is not reported durable if any sync of
//!   the log failed after it was written.
//! - When a batch would take the active file past the size limit, the file is synced (it may
//!   end with records written now), renamed to `<log>.NNNNNN` (the next number) and a new file
//!   is started; its first record chains to the last record of the renamed one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use super::AuditError;
use super::record::{self, Entry, GENESIS};

/// Default size at which the active file is rotated: 64 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 << 20;

/// How long a batch waits for the log's file lock by default (`audit.lock_timeout`).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Where an appended record landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// Its sequence number.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// An open audit log. Share it between threads (`&AuditLog` or `Arc`).
pub struct AuditLog {
    inner: Arc<Inner>,
    committer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// What the appenders and the committer share.
struct Inner {
    path: PathBuf,
    max_file_bytes: u64,
    /// How long a batch waits for the file lock before failing.
    lock_timeout: Duration,
    queue: Mutex<Queue>,
    /// Signals the committer that records are queued (or that the log is closing).
    wake: Condvar,
    io: Mutex<Io>,
    /// How many `fdatasync`s of the log have failed through this handle, counted under `io`.
    /// After one, nothing more is written through it (fail closed: Linux reports a writeback
    /// error to one sync only, and may mark the failed pages clean, so a later sync that succeeds
    /// proves nothing of what was written before it); a record written now and synced after a
    /// failure is not reported durable ([`Unsynced::sync`]).
    sync_failures: AtomicU64,
    /// Tests: the next sync (a batch's, a rotation's, a record written now's) fails
    /// ([`Inner::sync`]).
    #[cfg(test)]
    fail_next_sync: std::sync::atomic::AtomicBool,
}

/// One appender waiting for its record: the result, and the thread to wake when it is set.
struct Waiter {
    result: OnceLock<Result<Committed, AuditError>>,
    /// The thread waiting for the result: the one that queued the record until another waits
    /// ([`Pending::wait`] registers itself: a record may be waited for on any thread).
    thread: Mutex<std::thread::Thread>,
}

type Slot = Arc<Waiter>;

impl Waiter {
    /// A slot for a record appended by the current thread.
    fn new() -> Slot {
        Arc::new(Waiter {
            result: OnceLock::new(),
            thread: Mutex::new(std::thread::current()),
        })
    }
}

#[derive(Default)]
struct Queue {
    pending: Vec<(String, Slot)>,
    /// A batch is being written (by an appender or by the committer thread).
    committing: bool,
    closing: bool,
}

struct Io {
    lock: File,
    active: Option<Active>,
}

/// The open active file and what this process last knew of it.
struct Active {
    /// Shared with the records written and not yet synced ([`Unsynced`]).
    file: Arc<File>,
    dev: u64,
    ino: u64,
    /// Last sequence number, hash and file length after this process's last write: valid while
    /// the file still has that length.
    known: Option<(u64, String, u64)>,
}

/// What writing one batch took (for `TGATE_LOG=debug`).
struct Written {
    last_seq: u64,
    bytes: usize,
    /// Waiting for the file lock.
    lock_us: u64,
    /// Reading the tail, writing and syncing.
    write_and_sync_us: u64,
    ok: bool,
}

/// The last record of a chain (seq 0 and [`GENESIS`] for an empty one).
struct Tail {
    seq: u64,
    hash: String,
}

impl AuditLog {
    /// Opens (creating if needed, mode 0600 in a 0700 directory) the log at `path`; a batch
    /// waits for the file lock up to [`DEFAULT_LOCK_TIMEOUT`].
    pub fn open(path: &Path, max_file_bytes: u64) -> Result<AuditLog, AuditError> {
        AuditLog::open_waiting(path, max_file_bytes, DEFAULT_LOCK_TIMEOUT)
    }

    /// [`AuditLog::open`], a batch waiting for the file lock up to `lock_timeout` (then its
    /// appends fail: see [`lock_within`]).
    pub fn open_waiting(
        path: &Path,
        max_file_bytes: u64,
        lock_timeout: Duration,
    ) -> Result<AuditLog, AuditError> {
        let io = |e: std::io::Error| AuditError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| AuditError::Io {
                    path: dir.display().to_string(),
                    message: e.to_string(),
                })?;
        }
        // Nothing is made beside a path that cannot be a log (QA: `--audit /dev/null` was
        // refused, but left `/dev/null.lock`); `open_active` checks again what it opens.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Err(io(std::io::Error::other("not a regular file")));
        }
        let lock_path = lock_path(path);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| AuditError::Io {
                path: lock_path.display().to_string(),
                message: e.to_string(),
            })?;
        // Open the active file now, so that an unwritable log is reported before anything else.
        let active = Some(open_active(path).map_err(io)?);
        let log = AuditLog {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                max_file_bytes: max_file_bytes.max(1),
                lock_timeout,
                queue: Mutex::new(Queue::default()),
                wake: Condvar::new(),
                io: Mutex::new(Io { lock, active }),
                sync_failures: AtomicU64::new(0),
                #[cfg(test)]
                fail_next_sync: std::sync::atomic::AtomicBool::new(false),
            }),
            committer: Mutex::new(None),
        };
        Ok(log)
    }

    /// The active file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Starts the committer thread if it is not running.
    fn start_committer(&self) -> Result<(), AuditError> {
        let mut committer = lock_ignoring_poison(&self.committer);
        if committer.is_none() {
            let inner = Arc::clone(&self.inner);
            let handle = std::thread::Builder::new()
                .name("tgate-audit-commit".to_owned())
                .spawn(move || inner.run_committer())
                .map_err(|e| AuditError::Io {
                    path: self.inner.path.display().to_string(),
                    message: format!("cannot start the committer thread: {e}"),
                })?;
            *committer = Some(handle);
        }
        Ok(())
    }

    /// Appends one record and returns once it is durable. When no batch is being written, this
    /// thread writes the queue (its record and any queued before it) itself; otherwise its record
    /// goes with the committer thread's next batch.
    pub fn append(&self, entry: &Entry) -> Result<Committed, AuditError> {
        let (slot, mut queue) = self.enqueue(entry)?;
        if !queue.committing {
            queue.committing = true;
            let batch = std::mem::take(&mut queue.pending);
            drop(queue);
            self.inner.write_batch(&batch);
            let mut queue = lock_ignoring_poison(&self.inner.queue);
            queue.committing = false;
            if !queue.pending.is_empty() {
                // Queued while this batch was written: the committer thread's next batch.
                self.inner.wake.notify_one();
            }
        } else {
            // A batch is being written: this record goes with the next one, the committer's.
            if let Err(e) = self.start_committer() {
                queue.pending.retain(|(_, s)| !Arc::ptr_eq(s, &slot));
                return Err(e);
            }
            drop(queue);
        }
        Pending { slot }.wait()
    }

    /// Writes one record now, on this thread, and returns before its sync: the record is durable
    /// once [`Unsynced::sync`] returns `Ok`, and nothing it must precede may be done before.
    /// The caller does work of its own between the two (a read's request goes out) with no
    /// thread hand-off: waking the committer and being woken by it cost ~70 µs of latency and
    /// ~45 µs of CPU per record on this project's virtual machine (`cargo bench --bench
    /// audit_path`), where the write itself takes ~3 µs. When a batch is being written, or
    /// records wait for the next, the record goes with them to the committer instead, and
    /// [`Unsynced::sync`] waits for it. A failed write is rolled back as a batch's is, and
    /// returned here: nothing was done. A failed sync is returned by [`Unsynced::sync`]: the
    /// record is cut off if it is still the file's last (else it stays, with the records written
    /// after it, not known to be durable), and the handle writes nothing more.
    pub fn write_now(&self, entry: &Entry) -> Result<Unsynced, AuditError> {
        let members = entry
            .members()
            .map_err(|e| AuditError::Encode(e.to_string()))?;
        let mut queue = lock_ignoring_poison(&self.inner.queue);
        if queue.committing || !queue.pending.is_empty() {
            self.start_committer()?;
            let slot = Waiter::new();
            queue.pending.push((members, Arc::clone(&slot)));
            if !queue.committing {
                self.inner.wake.notify_one();
            }
            return Ok(Unsynced(UnsyncedState::Queued(Pending { slot })));
        }
        queue.committing = true;
        drop(queue);
        let written = self.inner.write_unsynced(&members);
        let mut queue = lock_ignoring_poison(&self.inner.queue);
        queue.committing = false;
        if !queue.pending.is_empty() {
            // Queued while this record was written: the committer thread's next batch.
            self.inner.wake.notify_one();
        }
        drop(queue);
        written
    }

    /// Tests: the next sync of a batch, of a rotation or of a record written now fails.
    #[cfg(test)]
    pub(crate) fn fail_next_sync(&self) {
        self.inner.fail_next_sync.store(true, Ordering::SeqCst);
    }

    /// Hands one record to the committer and returns at once; [`Pending::wait`] returns once it
    /// is durable (or failed). Work done in between overlaps the write and its sync; nothing
    /// the record must precede may be done before `wait` returns `Ok`.
    pub fn submit(&self, entry: &Entry) -> Result<Pending, AuditError> {
        self.start_committer()?;
        let (slot, queue) = self.enqueue(entry)?;
        if !queue.committing {
            // (While a batch is written, whoever writes it wakes the committer after.)
            self.inner.wake.notify_one();
        }
        drop(queue);
        Ok(Pending { slot })
    }

    /// Encodes `entry` and queues it for the current thread: its slot, and the queue, still
    /// locked, for the caller to decide who writes it.
    fn enqueue(&self, entry: &Entry) -> Result<(Slot, MutexGuard<'_, Queue>), AuditError> {
        let members = entry
            .members()
            .map_err(|e| AuditError::Encode(e.to_string()))?;
        let slot = Waiter::new();
        let mut queue = lock_ignoring_poison(&self.inner.queue);
        queue.pending.push((members, Arc::clone(&slot)));
        Ok((slot, queue))
    }
}

/// A record handed to the committer ([`AuditLog::submit`]). It may be waited for on any thread:
/// the committer wakes the thread waiting.
#[must_use = "a submitted record is not known to be durable until `wait` returns Ok"]
pub struct Pending {
    slot: Slot,
}

impl Pending {
    /// Returns once the record is durable, or the error that kept it from being so.
    pub fn wait(self) -> Result<Committed, AuditError> {
        // Registered before the result is looked at: the committer sets the result, then wakes
        // whichever thread is registered, so a wake-up is never lost.
        *lock_ignoring_poison(&self.slot.thread) = std::thread::current();
        loop {
            if let Some(result) = self.slot.result.get() {
                return result.clone();
            }
            // A wake-up may be spurious: check again.
            std::thread::park();
        }
    }
}

/// A record written by [`AuditLog::write_now`], not yet known to be durable.
#[must_use = "a written record is not known to be durable until `sync` returns Ok"]
pub struct Unsynced(UnsyncedState);

enum UnsyncedState {
    /// In the file (which may have been rotated since): its `fdatasync` is left to `sync`.
    Written {
        inner: Arc<Inner>,
        file: Arc<File>,
        committed: Committed,
        /// The file's length before and after the record.
        start: u64,
        end: u64,
        /// `Inner::sync_failures` when the record was written.
        failures_at_write: u64,
    },
    /// Queued behind a batch being written: the committer writes and syncs it.
    Queued(Pending),
}

impl Unsynced {
    /// Makes the record durable, on this thread (`fdatasync` of the file it was written to),
    /// or waits for the committer's batch that holds it; returns where it landed, or the error
    /// that kept it from being durable.
    pub fn sync(self) -> Result<Committed, AuditError> {
        match self.0 {
            UnsyncedState::Written {
                inner,
                file,
                committed,
                start,
                end,
                failures_at_write,
            } => {
                let began = Instant::now();
                let synced = inner.sync(&file);
                tracing::debug!(
                    seq = committed.seq,
                    us = crate::diag::micros(began),
                    ok = synced.is_ok(),
                    "audit record synced"
                );
                inner.after_sync(&file, synced, failures_at_write, (start, end))?;
                Ok(committed)
            }
            UnsyncedState::Queued(pending) => pending.wait(),
        }
    }
}

/// Holds back what a record must precede until the record is durable: the executor passes it
/// before a write's request is sent and before any output of a read is released
/// ([`crate::exec::grpc::Session::run`]). A read's request may be on its way meanwhile: it
/// changes nothing, and what it brings back is not shown until the record is on disk, so the
/// disk's sync overlaps the network's round trip. A barrier may be passed on any thread: one
/// over an [`Unsynced`] record written on its own syncs it there; one over a record queued for
/// the committer waits for its batch.
pub struct Barrier(BarrierState);

enum BarrierState {
    Passed,
    Waiting(Pending),
    Unsynced(Unsynced),
    Failed(AuditError),
}

impl Barrier {
    /// A barrier with nothing to wait for (the record was appended durably already, or there
    /// is none).
    pub fn passed() -> Barrier {
        Barrier(BarrierState::Passed)
    }

    /// A barrier that opens once `record` is durable.
    pub fn until(record: Pending) -> Barrier {
        Barrier(BarrierState::Waiting(record))
    }

    /// A barrier that syncs `record` when it is passed, on the passing thread (any thread).
    pub fn until_synced(record: Unsynced) -> Barrier {
        Barrier(BarrierState::Unsynced(record))
    }

    /// Waits until the record is durable (at once if it already is). An error is kept: the
    /// barrier never opens after it.
    pub fn pass(&mut self) -> Result<(), AuditError> {
        let state = std::mem::replace(&mut self.0, BarrierState::Passed);
        let result = match state {
            BarrierState::Passed => Ok(()),
            BarrierState::Waiting(record) => record.wait().map(drop),
            BarrierState::Unsynced(record) => record.sync().map(drop),
            BarrierState::Failed(e) => Err(e),
        };
        if let Err(e) = &result {
            self.0 = BarrierState::Failed(e.clone());
        }
        result
    }

    /// Whether the barrier is known to be open (without waiting).
    pub fn is_passed(&self) -> bool {
        matches!(self.0, BarrierState::Passed)
    }
}

/// Dropping the log tells the committer to stop once its queue is empty, and does not wait for
/// it: every append that returned is already durable, and a record submitted but not waited for
/// is still written unless the process ends first (then nobody was told it is durable). Waiting
/// cost a one-shot `tgate run` ~0.3 ms here: the exiting thread releases its stack with
/// `madvise`, whose TLB shootdown is slow on a virtual machine.
impl Drop for AuditLog {
    fn drop(&mut self) {
        lock_ignoring_poison(&self.inner.queue).closing = true;
        self.inner.wake.notify_one();
        // Detach the committer (its handle is dropped, not joined).
        drop(lock_ignoring_poison(&self.committer).take());
    }
}

impl Inner {
    /// The committer: whenever records are queued and no batch is being written, takes
    /// everything queued and writes it as one batch.
    fn run_committer(&self) {
        loop {
            let batch = {
                let mut queue = lock_ignoring_poison(&self.queue);
                while (queue.pending.is_empty() || queue.committing) && !queue.closing {
                    queue = self
                        .wake
                        .wait(queue)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                if queue.pending.is_empty() {
                    return;
                }
                queue.committing = true;
                std::mem::take(&mut queue.pending)
            };
            self.write_batch(&batch);
            lock_ignoring_poison(&self.queue).committing = false;
        }
    }

    /// Writes one record under the file lock, leaving its sync to the caller
    /// ([`AuditLog::write_now`]).
    fn write_unsynced(self: &Arc<Self>, members: &str) -> Result<Unsynced, AuditError> {
        let mut stats = None;
        let mut io = lock_ignoring_poison(&self.io);
        let failures_at_write = self.sync_failures.load(Ordering::SeqCst);
        let result = self.commit_locked(&mut io, std::iter::once(members), false, &mut stats);
        let result = result.map(|mut batch| {
            let Some(active) = io.active.as_ref() else {
                unreachable!("written to it")
            };
            let Some(committed) = batch.done.pop() else {
                unreachable!("one record written")
            };
            Unsynced(UnsyncedState::Written {
                inner: Arc::clone(self),
                file: Arc::clone(&active.file),
                committed,
                start: batch.start,
                end: batch.end,
                failures_at_write,
            })
        });
        drop(io);
        log_written(1, stats, false);
        result
    }

    /// `fdatasync` of the active file by a batch (its own, or before a rotation) or of a record
    /// written now ([`Unsynced::sync`]). Tests make it fail on demand: no disk here does.
    fn sync(&self, file: &File) -> std::io::Result<()> {
        #[cfg(test)]
        if self.fail_next_sync.swap(false, Ordering::SeqCst) {
            return Err(std::io::Error::other("Input/output error (injected)"));
        }
        file.sync_data()
    }

    /// Counts a failed `fdatasync` (under `io`): nothing more is written through this handle.
    fn sync_failed(&self, e: AuditError) -> AuditError {
        self.sync_failures.fetch_add(1, Ordering::SeqCst);
        e
    }

    /// After the sync of a record written now (`synced`): its result. A failed sync is counted,
    /// and the record is cut off, under the locks, if it is still the last thing in the file
    /// (else records written after it stay, and so does it: no record acknowledged is cut).
    /// A sync that succeeded while another sync of the log failed since the record was written
    /// does not make it durable (the failure may have been its own, reported to the other sync
    /// only): looked at under `io`, which a failing batch holds until it has counted.
    fn after_sync(
        &self,
        file: &Arc<File>,
        synced: std::io::Result<()>,
        failures_at_write: u64,
        (start, end): (u64, u64),
    ) -> Result<(), AuditError> {
        let mut io = lock_ignoring_poison(&self.io);
        match synced {
            Ok(()) if self.sync_failures.load(Ordering::SeqCst) == failures_at_write => Ok(()),
            Ok(()) => Err(AuditError::Io {
                path: self.path.display().to_string(),
                message: "another fdatasync of the log failed after this record was written: it \
                          is not known to be on disk"
                    .to_owned(),
            }),
            Err(e) => {
                let e = self.sync_failed(AuditError::Io {
                    path: self.path.display().to_string(),
                    message: e.to_string(),
                });
                if lock_within(&io.lock, &lock_path(&self.path), self.lock_timeout).is_ok() {
                    // Still the active file (another process may have rotated it since, and the
                    // next file may continue this record) and still ending with the record.
                    let current = std::fs::metadata(&self.path)
                        .ok()
                        .map(|m| (m.dev(), m.ino()));
                    if let Some(active) = io.active.as_mut()
                        && Arc::ptr_eq(&active.file, file)
                        && current == Some((active.dev, active.ino))
                        && active.file.metadata().is_ok_and(|m| m.len() == end)
                    {
                        let _ = active
                            .file
                            .set_len(start)
                            .and_then(|()| active.file.sync_data());
                        active.known = None;
                    }
                    let _ = io.lock.unlock();
                }
                Err(e)
            }
        }
    }

    /// Commits one batch and hands each appender its result (waking its thread).
    fn write_batch(&self, batch: &[(String, Slot)]) {
        let mut written = None;
        let results = self.commit(batch, &mut written);
        // After the file lock is released (a diagnostic written to a pipe nobody reads may
        // block, and must not hold up other processes sharing the log) and before the
        // appenders are woken (so that the line comes before whatever they log next, and is
        // written before the process can end).
        log_written(batch.len(), written, true);
        for ((_, waiter), r) in batch.iter().zip(results) {
            let _ = waiter.result.set(r);
            lock_ignoring_poison(&waiter.thread).unpark();
        }
    }

    /// Writes one batch under the file lock. One result per member string; what the write took
    /// goes to `written`, for the diagnostics.
    fn commit(
        &self,
        batch: &[(String, Slot)],
        written: &mut Option<Written>,
    ) -> Vec<Result<Committed, AuditError>> {
        let mut io = lock_ignoring_poison(&self.io);
        let members = batch.iter().map(|(m, _)| m.as_str());
        let result = self.commit_locked(&mut io, members, true, written);
        match result {
            Ok(batch) => batch.done.into_iter().map(Ok).collect(),
            Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    /// Under the file lock: follows a rotation by another process, cuts a torn tail, and returns
    /// the active file's length and the chain's last record (what this process knows of it
    /// while the file still has the length it left).
    fn tail_locked(&self, io: &mut Io) -> Result<(u64, Tail), AuditError> {
        let path_err = |p: &Path, e: std::io::Error| AuditError::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        // Another process may have rotated the file since: follow the path.
        let current = match std::fs::metadata(&self.path) {
            Ok(m) => Some((m.dev(), m.ino())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(path_err(&self.path, e)),
        };
        let stale = match (&io.active, current) {
            (Some(a), Some((dev, ino))) => a.dev != dev || a.ino != ino,
            _ => true,
        };
        if stale {
            io.active = Some(open_active(&self.path).map_err(|e| path_err(&self.path, e))?);
        }
        let Some(active) = io.active.as_mut() else {
            unreachable!("opened above")
        };
        let len = active
            .file
            .metadata()
            .map_err(|e| path_err(&self.path, e))?
            .len();
        if let Some((seq, hash, known_len)) = &active.known
            && *known_len == len
        {
            let tail = Tail {
                seq: *seq,
                hash: hash.clone(),
            };
            return Ok((len, tail));
        }
        // An I/O error here may be a sync's (the cut is synced), which Linux reports once: it
        // is counted as one (fail closed), since it may have been for a record written now.
        let len = cut_torn_tail(&active.file, len).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => AuditError::Damaged {
                path: self.path.display().to_string(),
                detail: e.to_string(),
            },
            _ => self.sync_failed(path_err(&self.path, e)),
        })?;
        let tail = match last_line(&active.file, len).map_err(|e| path_err(&self.path, e))? {
            Some(line) => {
                // The chain is continued only from a record that continues it: its own hash
                // is not enough (QA: a record spliced from another log, or one claiming seq
                // 5000 after 28, was built on).
                let before = len - 1 - line.len() as u64;
                let prev =
                    match last_line(&active.file, before).map_err(|e| path_err(&self.path, e))? {
                        Some(prev) => position(&prev),
                        None => rotated_tail(&self.path),
                    };
                tail_of(&self.path, &line, prev)?
            }
            None => previous_tail(&self.path)?,
        };
        Ok((len, tail))
    }

    /// Writes `members` as one batch under the file lock, and syncs it when `sync` (else the
    /// caller syncs the file, [`Unsynced`]). What the write took goes to `stats`.
    fn commit_locked<'m>(
        &self,
        io: &mut Io,
        members: impl ExactSizeIterator<Item = &'m str>,
        sync: bool,
        stats: &mut Option<Written>,
    ) -> Result<Batch, AuditError> {
        let path_err = |p: &Path, e: std::io::Error| AuditError::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        if self.sync_failures.load(Ordering::SeqCst) > 0 {
            return Err(AuditError::Io {
                path: self.path.display().to_string(),
                message: "an earlier fdatasync of the log failed: nothing more is written through \
                          this handle (what it wrote before may not be on disk; run `tgate audit \
                          verify`, then open the log again)"
                    .to_owned(),
            });
        }
        let start = Instant::now();
        lock_within(&io.lock, &lock_path(&self.path), self.lock_timeout)?;
        let locked = Instant::now();
        let result = (|| {
            let (mut len, tail) = self.tail_locked(io)?;
            let Some(active) = io.active.as_mut() else {
                unreachable!("opened by tail_locked")
            };
            // Seal the batch.
            let mut buf = String::new();
            let mut done = Vec::with_capacity(members.len());
            let (mut seq, mut prev) = (tail.seq, tail.hash);
            for members in members {
                seq += 1;
                let (line, hash) = record::seal(seq, members, &prev);
                buf.push_str(&line);
                done.push(Committed {
                    seq,
                    hash: hash.clone(),
                });
                prev = hash;
            }
            if len > 0 && len + buf.len() as u64 > self.max_file_bytes {
                // The file may end with records written and not yet synced (`write_now`, this
                // process's or another's): synced before it is renamed, so that a rotated file
                // is whole on disk before any record in the next one is (review: a crash could
                // leave a rotated file short of a record the next file's first one continues).
                self.sync(&active.file)
                    .map_err(|e| self.sync_failed(path_err(&self.path, e)))?;
                rotate(&self.path)?;
                *active = open_active(&self.path).map_err(|e| path_err(&self.path, e))?;
                len = 0;
            }
            // The error, and whether it was the sync's.
            let written = (&*active.file)
                .write_all(buf.as_bytes())
                .map_err(|e| (e, false))
                .and_then(|()| {
                    if sync {
                        self.sync(&active.file).map_err(|e| (e, true))
                    } else {
                        Ok(())
                    }
                });
            *stats = Some(Written {
                last_seq: seq,
                bytes: buf.len(),
                lock_us: locked.duration_since(start).as_micros() as u64,
                write_and_sync_us: crate::diag::micros(locked),
                ok: written.is_ok(),
            });
            if let Err((e, in_sync)) = written {
                // Roll back: leave no record that was not acknowledged. The rollback's sync
                // failing counts as a failed sync too: it may have been reported an error
                // for a record written now (Linux reports one to a single sync).
                let rolled_back = active
                    .file
                    .set_len(len)
                    .and_then(|()| active.file.sync_data());
                let e = path_err(&self.path, e);
                return Err(if in_sync || rolled_back.is_err() {
                    self.sync_failed(e)
                } else {
                    e
                });
            }
            let end = len + buf.len() as u64;
            active.known = Some((seq, prev, end));
            Ok(Batch {
                done,
                start: len,
                end,
            })
        })();
        if result.is_err() {
            // What this process knew of the file may be wrong now: read it again next time.
            if let Some(a) = io.active.as_mut() {
                a.known = None;
            }
        }
        let _ = io.lock.unlock();
        result
    }
}

/// Where a batch landed: its records, and the active file's length before and after it.
struct Batch {
    done: Vec<Committed>,
    start: u64,
    end: u64,
}

/// The diagnostic of one batch written (`TGATE_LOG=debug`), synced or not
/// ([`AuditLog::write_now`]: the sync is logged on its own, "audit record synced").
fn log_written(records: usize, written: Option<Written>, synced: bool) {
    if let Some(w) = written {
        tracing::debug!(
            records,
            last_seq = w.last_seq,
            bytes = w.bytes,
            lock_us = w.lock_us,
            write_and_sync_us = w.write_and_sync_us,
            synced,
            ok = w.ok,
            "audit batch written"
        );
    }
}

/// Takes the log's file lock `lock` (at `path`), waiting at most `timeout`. A holder that never
/// lets go (a tgate stopped while writing: Ctrl-Z, a frozen container) then fails the batch,
/// naming the lock, instead of hanging every process that shares the log. Linux has no timed
/// `flock`, so this polls: first at once, then after pauses of 50 µs doubling up to 1 ms (a batch
/// holds the lock for one write and one `fdatasync`, ~0.2 ms on this project's machine).
pub(crate) fn lock_within(lock: &File, path: &Path, timeout: Duration) -> Result<(), AuditError> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(50);
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(AuditError::Io {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(AuditError::LockTimeout {
                path: path.display().to_string(),
                waited: crate::command::GoDuration(timeout.as_nanos() as i64).to_string(),
            });
        }
        std::thread::sleep(pause.min(timeout - waited));
        pause = (pause * 2).min(Duration::from_millis(1));
    }
}

fn lock_ignoring_poison<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `<log>.lock`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Opens (or creates, syncing the directory so the new name is durable) the active file.
fn open_active(path: &Path) -> std::io::Result<Active> {
    let existed = path.exists();
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    if !existed {
        sync_dir(path)?;
    }
    let m = file.metadata()?;
    if !m.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(Active {
        file: Arc::new(file),
        dev: m.dev(),
        ino: m.ino(),
        known: None,
    })
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Cuts an incomplete last line off (a crash mid-write). Returns the new length. A last line
/// that is a whole record lacking only its newline is no crash's cut: a sound one (a write cut
/// just before its newline) is completed, not cut (QA: a genuine record was cut off); one that
/// does not match its hash was edited, and is refused (QA: it was cut, and the edit with it).
pub(crate) fn cut_torn_tail(file: &File, len: u64) -> std::io::Result<u64> {
    if len == 0 {
        return Ok(0);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    if last[0] == b'\n' {
        return Ok(len);
    }
    let keep = match find_last_newline(file, len)? {
        Some(p) => p + 1,
        None => 0,
    };
    let mut tail = vec![0u8; (len - keep) as usize];
    file.read_exact_at(&mut tail, keep)?;
    match record::check_line(&tail) {
        Ok((rec, true)) => {
            if let Some(why) = record::form_error(&tail, &rec) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "the last record (seq {}) matches its hash, but {why} (a whole line \
                         without its newline: rewritten, not cut short by a crash)",
                        rec.seq
                    ),
                ));
            }
            file.write_all_at(b"\n", len)?;
            file.sync_data()?;
            return Ok(len + 1);
        }
        Ok((rec, false)) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the last record (seq {}) does not match its hash (a whole line without its \
                     newline: edited, not cut short by a crash)",
                    rec.seq
                ),
            ));
        }
        // Cut only what a crash of tgate's own write leaves: the start of a record (QA: a file
        // of other bytes with no newline, given as the log by mistake or through a link, was
        // cut to nothing and a new chain begun in it).
        Err(_) if tail.starts_with(RECORD_START) || RECORD_START.starts_with(&tail) => {}
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the last line ({} bytes, no newline) is neither an audit record nor the start \
                     of one a crash cut short: is this tgate's audit log? nothing was cut",
                    tail.len()
                ),
            ));
        }
    }
    file.set_len(keep)?;
    file.sync_data()?;
    Ok(keep)
}

/// How every record tgate writes begins: what a torn tail, a record cut short, begins with.
const RECORD_START: &[u8] = b"{\"v\":1,\"seq\":";

/// Offset of the last `\n` before `end`. Reads backwards in chunks that start at 4 KiB (a
/// record is ~1 KiB: every `tgate run` looks for the last two) and double up to 64 KiB.
///
/// A plain backward scan, not `memchr::memrchr`: memchr's first call probes the CPU's features
/// (`std_detect`, a dozen `cpuid` instructions), and `cpuid` traps to the hypervisor on a
/// virtual machine. Measured ~80 µs, more than the whole rest of this function, in every
/// one-shot `tgate run` (docs/benchmarks.md); a few KiB scanned byte by byte take ~2 µs.
fn find_last_newline(file: &File, end: u64) -> std::io::Result<Option<u64>> {
    const FIRST: usize = 4 * 1024;
    const MOST: usize = 64 * 1024;
    let mut buf = vec![0u8; FIRST];
    let mut hi = end;
    while hi > 0 {
        let lo = hi.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(hi - lo) as usize];
        file.read_exact_at(chunk, lo)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(lo + i as u64));
        }
        hi = lo;
        if buf.len() < MOST {
            buf.resize(buf.len() * 2, 0);
        }
    }
    Ok(None)
}

/// The last line (without its newline) of a file that is empty or ends with a newline.
fn last_line(file: &File, len: u64) -> std::io::Result<Option<Vec<u8>>> {
    if len == 0 {
        return Ok(None);
    }
    let start = find_last_newline(file, len - 1)?.map_or(0, |p| p + 1);
    let mut line = vec![0u8; (len - 1 - start) as usize];
    file.read_exact_at(&mut line, start)?;
    Ok(Some(line))
}

/// The chain position after `line`, which must be a sound record continuing `before` (the seq
/// and hash of the record before it, when known).
fn tail_of(path: &Path, line: &[u8], before: Option<(u64, String)>) -> Result<Tail, AuditError> {
    let damaged = |detail: String| AuditError::Damaged {
        path: path.display().to_string(),
        detail,
    };
    let (rec, sound) =
        record::check_line(line).map_err(|e| damaged(format!("the last line is {e}")))?;
    if !sound {
        return Err(damaged(format!(
            "the last record (seq {}) does not match its hash",
            rec.seq
        )));
    }
    if let Some(why) = record::form_error(line, &rec) {
        return Err(damaged(format!(
            "the last record (seq {}) matches its hash, but {why}: rewritten and re-hashed, or \
             not written by tgate",
            rec.seq
        )));
    }
    match before {
        Some((seq, hash)) if rec.seq != seq + 1 || rec.prev_hash != hash => Err(damaged(format!(
            "the last record (seq {}) does not continue the one before it (seq {seq})",
            rec.seq
        ))),
        _ => Ok(Tail {
            seq: rec.seq,
            hash: rec.hash,
        }),
    }
}

/// The seq and hash of the record `line` holds, if it holds one.
fn position(line: &[u8]) -> Option<(u64, String)> {
    record::check_line(line).ok().map(|(r, _)| (r.seq, r.hash))
}

/// The newest rotated file of the chain whose active file is `path`, if there is one.
fn newest_rotated(path: &Path) -> Result<Option<PathBuf>, AuditError> {
    Ok(super::chain_files(path)?
        .into_iter()
        .rev()
        .find(|f| f.as_path() != path))
}

/// The seq and hash of the newest rotated file's last record, when that file is plain (read from
/// its end) and its last line a record; `None` otherwise (a compressed file is not read here).
fn rotated_tail(path: &Path) -> Option<(u64, String)> {
    let prev = newest_rotated(path).ok()??;
    if prev.extension().is_some_and(|e| e == "gz") {
        return None;
    }
    let file = File::open(prev).ok()?;
    let len = file.metadata().ok()?.len();
    position(&last_line(&file, len).ok()??)
}

/// The tail of the newest rotated file, or the genesis when there is none.
fn previous_tail(path: &Path) -> Result<Tail, AuditError> {
    let Some(prev) = newest_rotated(path)? else {
        return Ok(Tail {
            seq: 0,
            hash: GENESIS.to_owned(),
        });
    };
    let err = |e: std::io::Error| AuditError::Io {
        path: prev.display().to_string(),
        message: e.to_string(),
    };
    let mut bytes = Vec::new();
    super::open_reader(&prev)
        .map_err(err)?
        .read_to_end(&mut bytes)
        .map_err(err)?;
    let text = bytes
        .strip_suffix(b"\n")
        .ok_or_else(|| AuditError::Damaged {
            path: prev.display().to_string(),
            detail: "a rotated file does not end with a complete line".to_owned(),
        })?;
    let (earlier, last) =
        text.split_at(text.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1));
    // As for the active file's last record: it must continue the one before it (re-check QA:
    // with the active file empty or missing, a forged last record of the rotated file was built
    // on).
    let before = earlier.strip_suffix(b"\n").and_then(|earlier| {
        let from = earlier
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        position(&earlier[from..])
    });
    tail_of(&prev, last, before)
}

/// Renames the active file to the next `<log>.NNNNNN` and syncs the directory.
fn rotate(path: &Path) -> Result<(), AuditError> {
    let next = super::chain_files(path)?
        .iter()
        .filter_map(|f| super::rotation_number(path, f))
        .max()
        .unwrap_or(0)
        + 1;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{next:06}"));
    let target = path.with_file_name(name);
    let err = |e: std::io::Error| AuditError::Io {
        path: target.display().to_string(),
        message: e.to_string(),
    };
    std::fs::rename(path, &target).map_err(err)?;
    sync_dir(path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::tests::entry;

    /// As if another thread had begun writing a batch: records written now or appended queue.
    fn batch_begun(log: &AuditLog) {
        lock_ignoring_poison(&log.inner.queue).committing = true;
    }

    /// That batch ended: the committer takes what queued meanwhile.
    fn batch_ended(log: &AuditLog) {
        lock_ignoring_poison(&log.inner.queue).committing = false;
        log.inner.wake.notify_one();
    }

    /// After a failed sync, the handle writes nothing more.
    fn assert_closed(log: &AuditLog) {
        let refused = log.append(&entry("after")).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("an earlier fdatasync of the log failed"),
            "{refused}"
        );
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// A lock held by another open of `<log>.lock` (as another process would hold it): an append
    /// fails after the timeout, once, and goes through once the lock is released.
    #[test]
    fn an_append_waits_for_a_held_lock_only_up_to_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        assert_eq!(log.append(&entry("one")).unwrap().seq, 1);
        drop(log);
        let other = File::open(lock_path(&path)).unwrap();
        other.lock().unwrap();
        let timeout = Duration::from_millis(400);
        let log = AuditLog::open_waiting(&path, DEFAULT_MAX_FILE_BYTES, timeout).unwrap();
        let start = Instant::now();
        let err = log.append(&entry("two")).unwrap_err();
        let waited = start.elapsed();
        assert_eq!(
            err,
            AuditError::LockTimeout {
                path: lock_path(&path).display().to_string(),
                waited: "400ms".to_owned(),
            }
        );
        assert!(
            (timeout..timeout + Duration::from_millis(250)).contains(&waited),
            "{waited:?}"
        );
        other.unlock().unwrap();
        assert_eq!(log.append(&entry("three")).unwrap().seq, 2);
        assert_eq!(lines(&path).len(), 2);
    }

    #[test]
    fn appends_chain_and_continue_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let c1 = log.append(&entry("one")).unwrap();
        let c2 = log.append(&entry("two")).unwrap();
        assert_eq!((c1.seq, c2.seq), (1, 2));
        drop(log);
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        assert_eq!(log.append(&entry("three")).unwrap().seq, 3);
        let recs: Vec<_> = lines(&path)
            .iter()
            .map(|l| record::check_line(l.as_bytes()).unwrap())
            .collect();
        assert!(recs.iter().all(|(_, ok)| *ok));
        assert_eq!(recs[0].0.prev_hash, GENESIS);
        assert_eq!(recs[1].0.prev_hash, c1.hash);
        assert_eq!(recs[2].0.prev_hash, c2.hash);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_submitted_record_is_on_disk_when_wait_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let first = log.submit(&entry("one")).unwrap();
        let second = log.submit(&entry("two")).unwrap();
        let (c1, c2) = (first.wait().unwrap(), second.wait().unwrap());
        assert_eq!((c1.seq, c2.seq), (1, 2));
        // Read back without closing the log: both records are in the file, chained.
        let recs: Vec<_> = lines(&path)
            .iter()
            .map(|l| record::check_line(l.as_bytes()).unwrap())
            .collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].0.prev_hash, c1.hash);
        assert_eq!(recs[1].0.hash, c2.hash);
    }

    /// `write_now` puts the record in the file at once, chained, and leaves the sync to the
    /// caller; the next record continues from it; a barrier over it syncs it when passed.
    #[test]
    fn a_record_written_now_is_in_the_file_before_its_sync_and_chained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let first = log.write_now(&entry("one")).unwrap();
        assert!(matches!(first.0, UnsyncedState::Written { .. }));
        assert_eq!(lines(&path).len(), 1, "written before its sync");
        let c1 = first.sync().unwrap();
        assert_eq!(c1.seq, 1);
        let mut barrier = Barrier::until_synced(log.write_now(&entry("two")).unwrap());
        assert!(!barrier.is_passed());
        barrier.pass().unwrap();
        assert!(barrier.is_passed());
        let c3 = log.append(&entry("three")).unwrap();
        assert_eq!(c3.seq, 3);
        let recs: Vec<_> = lines(&path)
            .iter()
            .map(|l| record::check_line(l.as_bytes()).unwrap())
            .collect();
        assert!(recs.iter().all(|(_, ok)| *ok));
        assert_eq!(recs[0].0.hash, c1.hash);
        assert_eq!(recs[1].0.prev_hash, c1.hash);
        assert_eq!(recs[2].0.prev_hash, recs[1].0.hash);
    }

    /// A record written now that takes the file past its size rotates it, as a batch does, and
    /// the chain continues across the two files.
    #[test]
    fn a_record_written_now_rotates_the_file_like_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, 1).unwrap();
        log.append(&entry("one")).unwrap();
        let c2 = log.write_now(&entry("two")).unwrap().sync().unwrap();
        assert_eq!(c2.seq, 2);
        assert_eq!(lines(&path).len(), 1);
        assert_eq!(super::super::chain_files(&path).unwrap().len(), 2);
        let report = crate::audit::verify::verify(&path).unwrap();
        assert_eq!((report.damage, report.records), (None, 2));
    }

    /// Records written now, appended and submitted from many threads of two handles (the
    /// second as another process would share the file) make one chain, and each sync returns
    /// the sequence number its record has in the file. (Which way each `write_now` goes depends
    /// on timing; each way is tested on its own above and below.)
    #[test]
    fn records_written_now_among_batches_make_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let a = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let b = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let (written, queued) = (
            std::sync::atomic::AtomicUsize::new(0),
            std::sync::atomic::AtomicUsize::new(0),
        );
        let seqs = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for (i, log) in [&a, &b, &a, &b, &a, &a].into_iter().enumerate() {
                let (written, queued, seqs) = (&written, &queued, &seqs);
                s.spawn(move || {
                    for n in 0..200 {
                        let text = format!("t{i}-{n}");
                        let c = match (i + n) % 3 {
                            0 => {
                                let r = log.write_now(&entry(&text)).unwrap();
                                let counter = match r.0 {
                                    UnsyncedState::Written { .. } => written,
                                    UnsyncedState::Queued(_) => queued,
                                };
                                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                r.sync().unwrap()
                            }
                            1 => log.append(&entry(&text)).unwrap(),
                            _ => log.submit(&entry(&text)).unwrap().wait().unwrap(),
                        };
                        seqs.lock().unwrap().push((c.seq, c.hash, text));
                    }
                });
            }
        });
        let report = crate::audit::verify::verify(&path).unwrap();
        assert_eq!((report.damage, report.records), (None, 1200));
        // Every acknowledged record is where its append said, with its hash.
        let recs: Vec<_> = lines(&path)
            .iter()
            .map(|l| record::check_line(l.as_bytes()).unwrap().0)
            .collect();
        let mut seqs = seqs.into_inner().unwrap();
        seqs.sort();
        assert_eq!(seqs.len(), 1200);
        for (seq, hash, text) in seqs {
            let rec = &recs[seq as usize - 1];
            assert_eq!((rec.seq, &rec.hash), (seq, &hash));
            assert_eq!(rec.caller, text);
        }
        // (Both ways were taken here: 13 written on their own thread, 387 queued, in one run.)
        eprintln!(
            "written now: {}, queued: {}",
            written.into_inner(),
            queued.into_inner()
        );
    }

    /// While a batch is being written, a record written now is queued for the committer's
    /// next batch, and its sync waits for that batch.
    #[test]
    fn a_record_written_now_during_a_batch_goes_with_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        log.append(&entry("one")).unwrap();
        batch_begun(&log);
        let r = log.write_now(&entry("two")).unwrap();
        assert!(matches!(r.0, UnsyncedState::Queued(_)));
        assert_eq!(lines(&path).len(), 1, "not written while the batch is");
        batch_ended(&log);
        assert_eq!(r.sync().unwrap().seq, 2);
        assert_eq!(lines(&path).len(), 2);
    }

    /// Ends a record written now (on its own thread) as if its `fdatasync` had failed: no disk
    /// here fails on demand.
    fn fail_sync(written: Unsynced) -> AuditError {
        let Unsynced(UnsyncedState::Written {
            inner,
            file,
            start,
            end,
            failures_at_write,
            ..
        }) = written
        else {
            panic!("queued on an idle log")
        };
        let failed = std::io::Error::other("Input/output error (injected)");
        inner
            .after_sync(&file, Err(failed), failures_at_write, (start, end))
            .unwrap_err()
    }

    /// A queued record may be waited for on another thread than the one that wrote it (review:
    /// the committer woke the writing thread only, and a wait elsewhere never ended).
    #[test]
    fn a_queued_record_can_be_synced_on_another_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        batch_begun(&log);
        let r = log.write_now(&entry("queued")).unwrap();
        assert!(matches!(r.0, UnsyncedState::Queued(_)));
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || tx.send(r.sync()).unwrap());
        // The other thread is waiting (parked) before the batch is written.
        std::thread::sleep(Duration::from_millis(50));
        batch_ended(&log);
        let synced = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the waiting thread was never woken");
        assert_eq!(synced.unwrap().seq, 1);
        waiter.join().unwrap();
    }

    /// A record written now whose sync fails is reported so, is cut off when it is still the
    /// file's last, and the handle writes nothing more (fail closed): Linux reports a writeback
    /// error to one sync only. The failure is injected: no disk here fails on demand.
    #[test]
    fn a_failed_sync_of_a_record_written_now_cuts_it_and_closes_the_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        log.append(&entry("one")).unwrap();
        let written = log.write_now(&entry("two")).unwrap();
        assert_eq!(lines(&path).len(), 2);
        let err = fail_sync(written);
        assert!(err.to_string().contains("injected"), "{err}");
        assert_eq!(lines(&path).len(), 1, "the unsynced record is cut off");
        assert_closed(&log);
        assert_eq!(lines(&path).len(), 1);
        // Another handle (another process) goes on from the last record on disk.
        drop(log);
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        assert_eq!(log.append(&entry("four")).unwrap().seq, 2);
        assert_eq!(crate::audit::verify::verify(&path).unwrap().damage, None);
    }

    /// An append queued behind a batch being written, on a fresh log (no record ever submitted,
    /// so no committer yet), starts the committer, which writes it (review: nothing else would).
    #[test]
    fn an_append_queued_behind_a_batch_starts_the_committer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = Arc::new(AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap());
        assert!(lock_ignoring_poison(&log.committer).is_none());
        batch_begun(&log);
        let (tx, rx) = std::sync::mpsc::channel();
        let appender = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || tx.send(log.append(&entry("queued"))).unwrap())
        };
        // Queued (not written while the batch is), and the committer started.
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock_ignoring_poison(&log.inner.queue).pending.is_empty() {
            assert!(Instant::now() < deadline, "the append was never queued");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(lock_ignoring_poison(&log.committer).is_some());
        assert!(lines(&path).is_empty());
        batch_ended(&log);
        let appended = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the queued append was never written");
        assert_eq!(appended.unwrap().seq, 1);
        appender.join().unwrap();
    }

    /// A failed sync leaves a record written now where it is when it is no longer the active
    /// file's last: records written after it (here, another handle's), or the file rotated by
    /// another process, whose next file continues it (review: it was cut from the rotated file).
    #[test]
    fn a_failed_sync_leaves_a_record_that_others_continue() {
        let dir = tempfile::tempdir().unwrap();
        for rotated in [false, true] {
            let path = dir.path().join(format!("audit-{rotated}.jsonl"));
            let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
            log.append(&entry("one")).unwrap();
            let written = log.write_now(&entry("two")).unwrap();
            let max = if rotated { 1 } else { DEFAULT_MAX_FILE_BYTES };
            let other = AuditLog::open(&path, max).unwrap();
            assert_eq!(other.append(&entry("three")).unwrap().seq, 3);
            fail_sync(written);
            let report = crate::audit::verify::verify(&path).unwrap();
            assert_eq!(
                (report.damage, report.records),
                (None, 3),
                "rotated: {rotated}"
            );
            assert_eq!(
                super::super::chain_files(&path).unwrap().len(),
                if rotated { 2 } else { 1 }
            );
        }
    }

    /// A batch whose sync fails is rolled back and closes the handle; a record written now
    /// before it is then not reported durable though its own sync succeeds (the failure may have
    /// been its pages', reported to the batch's sync only). The same when the failing sync is the
    /// one made before a rotation: and then nothing is renamed.
    #[test]
    fn a_failed_batch_sync_closes_the_handle_and_leaves_earlier_records_not_durable() {
        let dir = tempfile::tempdir().unwrap();
        for rotating in [false, true] {
            let path = dir.path().join(format!("audit-{rotating}.jsonl"));
            let max = if rotating { 1 } else { DEFAULT_MAX_FILE_BYTES };
            let log = AuditLog::open(&path, max).unwrap();
            let written = log.write_now(&entry("one")).unwrap();
            log.inner.fail_next_sync.store(true, Ordering::SeqCst);
            let err = log.append(&entry("two")).unwrap_err();
            assert!(err.to_string().contains("injected"), "{err}");
            assert_eq!(lines(&path).len(), 1, "the batch is rolled back");
            assert_eq!(super::super::chain_files(&path).unwrap().len(), 1);
            let err = written.sync().unwrap_err();
            assert!(err.to_string().contains("not known to be on disk"), "{err}");
            assert_closed(&log);
        }
    }

    /// A record written now whose own sync succeeds is still not reported durable when another
    /// sync of the log failed since it was written (the error may have been for its pages,
    /// reported to that other sync only).
    #[test]
    fn a_record_written_now_is_not_durable_after_another_sync_failed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let written = log.write_now(&entry("one")).unwrap();
        // As a batch whose sync failed does, under the io lock.
        {
            let _io = lock_ignoring_poison(&log.inner.io);
            let _ = log
                .inner
                .sync_failed(AuditError::Encode("injected".to_owned()));
        }
        let err = written.sync().unwrap_err();
        assert!(err.to_string().contains("not known to be on disk"), "{err}");
        // A record written before any failure, synced after none, is durable.
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        assert_eq!(log.write_now(&entry("two")).unwrap().sync().unwrap().seq, 2);
    }

    #[test]
    fn a_record_submitted_before_the_log_is_dropped_is_still_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let pending = log.submit(&entry("late")).unwrap();
        drop(log);
        assert_eq!(pending.wait().unwrap().seq, 1);
        assert_eq!(lines(&path).len(), 1);
        // The next handle continues the chain.
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        assert_eq!(log.append(&entry("next")).unwrap().seq, 2);
    }

    #[test]
    fn two_handles_on_one_file_never_fork() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let a = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let b = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        std::thread::scope(|s| {
            for log in [&a, &b] {
                for _ in 0..4 {
                    s.spawn(move || {
                        for _ in 0..50 {
                            log.append(&entry("x")).unwrap();
                        }
                    });
                }
            }
        });
        let report = crate::audit::verify::verify(&path).unwrap();
        assert_eq!(report.damage, None);
        assert_eq!(report.records, 400);
    }

    #[test]
    fn torn_tail_is_cut_before_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        log.append(&entry("one")).unwrap();
        drop(log);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"v\":1,\"seq\":2,\"ti").unwrap();
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        assert_eq!(log.append(&entry("two")).unwrap().seq, 2);
        assert_eq!(lines(&path).len(), 2);
        assert_eq!(crate::audit::verify::verify(&path).unwrap().damage, None);
        // Cut within the record's first bytes too.
        drop(log);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"v").unwrap();
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        assert_eq!(log.append(&entry("three")).unwrap().seq, 3);
    }

    /// A path that is not a regular file is refused with nothing made beside it (QA: a `.lock`
    /// was left beside a directory and `/dev/null`).
    #[test]
    fn nothing_is_made_beside_a_path_that_is_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("logs");
        std::fs::create_dir(&sub).unwrap();
        let e = AuditLog::open(&sub, DEFAULT_MAX_FILE_BYTES).err().unwrap();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(!lock_path(&sub).exists());
    }

    /// A last line without a newline that does not begin as a record does is not cut: the file
    /// is not taken for a log a crash left (QA: 100 KB of other bytes were cut to nothing, and
    /// a new chain begun in their place).
    #[test]
    fn a_file_that_is_no_log_is_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in [
            ("notes.bin", b"x".repeat(100_000)),
            ("one-line.txt", b"dear diary".to_vec()),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, &content).unwrap();
            let e = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES)
                .and_then(|log| log.append(&entry("x")).map(|_| ()))
                .unwrap_err();
            assert!(
                e.to_string()
                    .contains("is neither an audit record nor the start of one"),
                "{e}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), content, "{name} was changed");
        }
    }

    /// The backward search finds the last newline before any end, whatever the distance: in
    /// the first 4 KiB chunk, across the doubling chunks, past 64 KiB ones, and none at all.
    #[test]
    fn the_last_newline_is_found_across_growing_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines");
        let mut text = Vec::new();
        // Around each place a chunk ends: 4 KiB, then 12, 28, 60 and 124 KiB back (the first
        // capped chunk), then 64 KiB steps.
        for gap in [
            0usize, 10, 4095, 4096, 4097, 12_287, 12_288, 28_671, 28_672, 61_439, 61_440, 126_975,
            126_976, 300_000,
        ] {
            text.extend(std::iter::repeat_n(b'x', gap));
            text.push(b'\n');
        }
        text.extend(std::iter::repeat_n(b'y', 200_000));
        std::fs::write(&path, &text).unwrap();
        let file = File::open(&path).unwrap();
        let naive = |end: usize| {
            text[..end]
                .iter()
                .rposition(|&b| b == b'\n')
                .map(|i| i as u64)
        };
        let newlines: Vec<usize> = (0..text.len()).filter(|&i| text[i] == b'\n').collect();
        let mut ends = vec![0, 1, text.len()];
        for &n in &newlines {
            ends.extend([n, n + 1, n + 2, n + 4096, n + 4097, n + 65_536]);
        }
        for end in ends.into_iter().filter(|&e| e <= text.len()) {
            assert_eq!(
                find_last_newline(&file, end as u64).unwrap(),
                naive(end),
                "end {end}"
            );
        }
        // No newline at all in a long prefix.
        let none = dir.path().join("none");
        std::fs::write(&none, vec![b'z'; 150_000]).unwrap();
        let f = File::open(&none).unwrap();
        assert_eq!(find_last_newline(&f, 150_000).unwrap(), None);
    }

    /// A last line that is a whole record without its newline is no crash's cut: a sound one
    /// (a write cut just before the newline) is completed and the chain goes on from it; an
    /// edited one stops the writer, and is not cut off with its edit (QA: both were cut).
    #[test]
    fn a_whole_last_record_without_its_newline_is_completed_or_refused_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        log.append(&entry("one")).unwrap();
        log.append(&entry("two")).unwrap();
        drop(log);
        let whole = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, whole.strip_suffix('\n').unwrap()).unwrap();
        let report = crate::audit::verify::verify(&path).unwrap();
        assert_eq!((report.damage, report.records), (None, 2));
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        assert_eq!(log.append(&entry("three")).unwrap().seq, 3);
        drop(log);
        assert_eq!(lines(&path).len(), 3);
        assert_eq!(crate::audit::verify::verify(&path).unwrap().damage, None);
        // Edited, then its newline taken away.
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("three", "tres");
        std::fs::write(&path, text.strip_suffix('\n').unwrap()).unwrap();
        let damage = crate::audit::verify::verify(&path).unwrap().damage.unwrap();
        assert_eq!(damage.kind, crate::audit::verify::DamageKind::Edited);
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let err = log.append(&entry("four")).unwrap_err();
        assert!(matches!(err, AuditError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains("edited, not cut short"), "{err}");
        drop(log);
        assert!(std::fs::read_to_string(&path).unwrap().contains("tres"));
    }

    /// The writer continues only from a last record that continues the one before it (QA: a
    /// record spliced from another log, or a sound one claiming a far later seq, was built on),
    /// in its own file or in the rotated one before.
    #[test]
    fn a_last_record_that_does_not_continue_the_chain_stops_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let other = dir.path().join("other.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        log.append(&entry("one")).unwrap();
        log.append(&entry("two")).unwrap();
        drop(log);
        let log = AuditLog::open(&other, DEFAULT_MAX_FILE_BYTES).unwrap();
        for caller in ["a", "b", "c"] {
            log.append(&entry(caller)).unwrap();
        }
        drop(log);
        let ours = std::fs::read_to_string(&path).unwrap();
        let theirs = lines(&other);
        // Seq 3 of another log after our seq 2: sound, the right seq, the wrong predecessor.
        std::fs::write(&path, format!("{ours}{}\n", theirs[2])).unwrap();
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let err = log.append(&entry("four")).unwrap_err();
        assert!(
            err.to_string()
                .contains("the last record (seq 3) does not continue the one before it (seq 2)"),
            "{err}"
        );
        drop(log);
        // The same after a rotation: the spliced record alone in the active file.
        std::fs::rename(&path, dir.path().join("audit.jsonl.000001")).unwrap();
        std::fs::write(&path, format!("{}\n", theirs[2])).unwrap();
        std::fs::write(dir.path().join("audit.jsonl.000001"), ours.as_bytes()).unwrap();
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let err = log.append(&entry("four")).unwrap_err();
        assert!(err.to_string().contains("does not continue"), "{err}");
        drop(log);
        // And with the active file gone: the rotated file's own last record must continue it.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(
            dir.path().join("audit.jsonl.000001"),
            format!("{ours}{}\n", theirs[2]),
        )
        .unwrap();
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let err = log.append(&entry("four")).unwrap_err();
        assert!(err.to_string().contains("does not continue"), "{err}");
    }

    /// Alters the record written as `entry("one")` in place, breaking its hash.
    fn alter_record_one(path: &Path) {
        let text = std::fs::read_to_string(path).unwrap().replace("one", "uno");
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_damaged_last_record_stops_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        log.append(&entry("one")).unwrap();
        drop(log);
        alter_record_one(&path);
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let err = log.append(&entry("two")).unwrap_err();
        assert!(matches!(err, AuditError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains("does not match its hash"), "{err}");
    }

    #[test]
    fn a_barrier_opens_once_its_record_is_durable_and_never_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let mut barrier = Barrier::until(log.submit(&entry("one")).unwrap());
        assert!(!barrier.is_passed());
        barrier.pass().unwrap();
        assert!(barrier.is_passed());
        assert_eq!(lines(&path).len(), 1, "open before the record was on disk");
        barrier.pass().unwrap();
        assert!(Barrier::passed().pass().is_ok());
        drop(log);
        // A record that cannot be written (the chain's last record was altered): the barrier
        // stays shut, however often it is tried.
        alter_record_one(&path);
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        let mut barrier = Barrier::until(log.submit(&entry("two")).unwrap());
        let err = barrier.pass().unwrap_err();
        assert!(matches!(err, AuditError::Damaged { .. }), "{err}");
        assert_eq!(barrier.pass().unwrap_err(), err);
        assert!(!barrier.is_passed());
    }

    #[test]
    fn rotation_continues_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path, 2000).unwrap();
        for _ in 0..20 {
            log.append(&entry("rotating")).unwrap();
        }
        let files = crate::audit::chain_files(&path).unwrap();
        assert!(files.len() > 3, "{files:?}");
        assert!(files[0].to_string_lossy().ends_with("audit.jsonl.000001"));
        assert_eq!(files.last().unwrap(), &path);
        let report = crate::audit::verify::verify(&path).unwrap();
        assert_eq!(report.damage, None);
        assert_eq!(report.records, 20);
        // A new handle on an empty active file continues from the newest rotated file.
        drop(log);
        std::fs::rename(&path, dir.path().join("audit.jsonl.000099")).unwrap();
        let log = AuditLog::open(&path, 2000).unwrap();
        assert_eq!(log.append(&entry("after")).unwrap().seq, 21);
        assert_eq!(crate::audit::verify::verify(&path).unwrap().damage, None);
    }

    #[test]
    fn an_unwritable_path_fails_to_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let err = AuditLog::open(&dir.path().join("file/audit.jsonl"), 1000)
            .err()
            .unwrap();
        assert!(err.to_string().contains("file"), "{err}");
    }
}
