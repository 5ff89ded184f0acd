//! Stop signals (SIGTERM, SIGINT, ...) while tgate runs a command: a CLI child, or a native
//! read or write. Outside such a run they act as they always do (tgate ends);
//! inside one, tgate notes the signal, stops the command and records how the run ended, then
//! ends by the signal. A caller that records the run ([`hold`]) keeps them noted until its
//! result record is durable, so that no signal, however late or repeated, ends tgate between a
//! watched command's end and its record.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Stop signals while a watched command runs: the signal tgate was asked to stop by (0: none),
/// and whether none is watched nor held (then a stop signal acts as it always would: tgate ends).
struct StopSignals {
    received: Arc<AtomicUsize>,
    idle: Arc<AtomicBool>,
}

/// Live [`Watch`]es and [`Hold`]s. Counted, and `idle` stored, under this lock: with two
/// counters changed apart, a watch starting on one thread as another thread's last one ended
/// could be left with `idle` set, and a stop signal would end tgate in the middle of its run.
struct Live {
    watches: usize,
    holds: usize,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    watches: 0,
    holds: 0,
});

fn live() -> std::sync::MutexGuard<'static, Live> {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The signals tgate watches by name: those a caller sends to stop it (terminate, interrupt —
/// Ctrl-C —, hang-up, quit — Ctrl-\\ —, the two user signals, the alarm), then the others whose
/// default action also ends a process (abort — systemd's watchdog sends it —, bad system call,
/// trap, timers, resource limits — SIGXFSZ is raised by a write past `ulimit -f`, the result
/// record's among them —, I/O, power failure, stack fault). While a child runs, each makes tgate
/// kill the child's process group and end the run (the result recorded, within ~50 ms), and a
/// native write ends with its outcome unknown; tgate then ends by the signal. Otherwise each ends
/// tgate as it would without tgate handling it. A signal tgate was started with ignored (`nohup`,
/// a background job of a script) stays ignored. Not the faults (SIGSEGV, SIGBUS, SIGILL,
/// SIGFPE), which signal-hook refuses or Rust's runtime handles; SIGKILL cannot be caught: a
/// child started before one outlives tgate, as does one that leaves its process group. A
/// profiler that ticks with SIGPROF or SIGVTALRM stops a watched run at its first tick.
const NAMED_SIGNALS: [(i32, &str); 17] = [
    (signal_hook::consts::SIGTERM, "SIGTERM"),
    (signal_hook::consts::SIGINT, "SIGINT"),
    (signal_hook::consts::SIGHUP, "SIGHUP"),
    (signal_hook::consts::SIGQUIT, "SIGQUIT"),
    (signal_hook::consts::SIGUSR1, "SIGUSR1"),
    (signal_hook::consts::SIGUSR2, "SIGUSR2"),
    (signal_hook::consts::SIGALRM, "SIGALRM"),
    (signal_hook::consts::SIGABRT, "SIGABRT"),
    (signal_hook::consts::SIGSYS, "SIGSYS"),
    (signal_hook::consts::SIGTRAP, "SIGTRAP"),
    (signal_hook::consts::SIGVTALRM, "SIGVTALRM"),
    (signal_hook::consts::SIGPROF, "SIGPROF"),
    (signal_hook::consts::SIGXCPU, "SIGXCPU"),
    (signal_hook::consts::SIGXFSZ, "SIGXFSZ"),
    (signal_hook::consts::SIGIO, "SIGIO"),
    (nix::libc::SIGPWR, "SIGPWR"),
    (nix::libc::SIGSTKFLT, "SIGSTKFLT"),
];

/// Every signal tgate watches: [`NAMED_SIGNALS`] and the real-time signals (`SIGRTMIN+n`, which
/// end a process by default too, and `timeout -s` can send).
pub fn stop_signals() -> &'static [(i32, String)] {
    static ALL: OnceLock<Vec<(i32, String)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let (min, max) = (nix::libc::SIGRTMIN(), nix::libc::SIGRTMAX());
        NAMED_SIGNALS
            .iter()
            .map(|(sig, name)| (*sig, (*name).to_owned()))
            .chain((min..=max).map(|sig| (sig, format!("SIGRTMIN+{}", sig - min))))
            .collect()
    })
}

static SIGNALS: OnceLock<StopSignals> = OnceLock::new();

/// The handlers, registered once, the first time they are needed (under [`LIVE`]'s lock, whose
/// counts say whether a command is already watched: one watched before they were registered
/// ([`watch_unregistered`]) is watched from here on). The first registration also starts the
/// [`watchdog`].
fn signals(live: &Live) -> Result<&'static StopSignals, std::io::Error> {
    if let Some(s) = SIGNALS.get() {
        return Ok(s);
    }
    let signals = StopSignals {
        received: Arc::new(AtomicUsize::new(0)),
        idle: Arc::new(AtomicBool::new(live.watches == 0 && live.holds == 0)),
    };
    // Handlers registered before one fails keep acting on `idle`: set, they act as usual (QA
    // review: left clear, they noted signals nobody would look at, and tgate ignored SIGTERM).
    let registered = register_all(&signals);
    if registered.is_err() {
        signals.idle.store(true, Ordering::SeqCst);
    }
    registered?;
    let _ = std::thread::Builder::new()
        .name("tgate-watchdog".to_owned())
        .spawn(watchdog);
    Ok(SIGNALS.get_or_init(|| signals))
}

/// Registers the handlers of every stop signal not ignored at start (see [`signals`]).
fn register_all(signals: &StopSignals) -> Result<(), std::io::Error> {
    let ignored = ignored_signals();
    for &(sig, _) in stop_signals() {
        if (1..=64).contains(&sig) && ignored & (1u64 << (sig - 1)) != 0 {
            continue;
        }
        // With nothing watched or held, the default action (tgate ends); else only the flag.
        if re_raisable(sig) {
            signal_hook::flag::register_conditional_default(sig, Arc::clone(&signals.idle))?;
        } else {
            signal_hook::flag::register_conditional_shutdown(
                sig,
                128 + sig,
                Arc::clone(&signals.idle),
            )?;
        }
        signal_hook::flag::register_usize(sig, Arc::clone(&signals.received), sig as usize)?;
    }
    Ok(())
}

/// Whether signal-hook can end tgate by `sig` itself (its default re-raised). For the others
/// (SIGPWR, SIGSTKFLT, the real-time signals, and SIGIO, whose default signal-hook takes for
/// "ignore" where Linux ends the process) tgate exits with 128 + the signal's number instead, the
/// status a shell reports for a process the signal ended.
fn re_raisable(sig: i32) -> bool {
    sig != signal_hook::consts::SIGIO && signal_hook::low_level::signal_name(sig).is_some()
}

/// The signals this process was started with ignored (`SigIgn` of `/proc/self/status`, bit
/// `n - 1` for signal `n`); none when that cannot be read.
fn ignored_signals() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("SigIgn:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// The signal tgate was asked to stop by while a command was watched, and its name, if any.
/// Once one is seen it stays the answer: a second stop signal arriving later changes neither
/// what the run records nor the signal tgate ends by (QA: a SIGHUP just after a SIGTERM made the
/// record say SIGTERM and the exit status SIGHUP). Of two that arrive before a look, the later is
/// the one seen (the handlers store the last).
pub(crate) fn requested() -> Option<(i32, &'static str)> {
    static SEEN: OnceLock<(i32, &'static str)> = OnceLock::new();
    if let Some(&seen) = SEEN.get() {
        return Some(seen);
    }
    // None before the handlers are registered (nothing was ever watched).
    let sig = SIGNALS.get()?.received.load(Ordering::SeqCst) as i32;
    // None noted: nothing to look up (a read asks between every two pieces of its output).
    if sig == 0 {
        return None;
    }
    let found = stop_signals()
        .iter()
        .find(|(s, _)| *s == sig)
        .map(|(s, name)| (*s, name.as_str()))?;
    Some(*SEEN.get_or_init(|| found))
}

/// How often a run waiting on something else looks for a stop signal (noted on another
/// thread): a stop is acted on within this long.
pub(crate) const CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// How long a read runs before the stop-signal handlers are registered for it (in the
/// background): most reads end sooner, and do not pay for them; one that goes on (a `show
/// --follow`, a long listing), which an agent runtime's timeout may stop, is watched from then on.
pub(crate) const READ_WATCHED_AFTER: std::time::Duration = std::time::Duration::from_millis(20);

/// Resolves, with the signal's name, once a stop signal has been noted (looking every
/// [`CHECK_EVERY`]); never otherwise.
pub(crate) async fn requested_soon() -> &'static str {
    loop {
        if let Some((_, name)) = requested() {
            return name;
        }
        tokio::time::sleep(CHECK_EVERY).await;
    }
}

/// While alive, a stop signal is noted (see [`requested`]) instead of ending tgate. When the
/// last is dropped, the signals act as usual again, unless a [`Hold`] keeps them noted.
pub(crate) struct Watch(());

/// Registers the handlers on a thread of its own, after `delay`, off the run's way: registering
/// them (two for each of the ~48 signals, each copying signal-hook's whole table) takes 0.5–0.8
/// ms of CPU, which a one-shot read should not pay; the thread sleeps until then, whatever the run
/// is doing (QA re-check: a timer of the read's own runtime, or a look between pieces of its
/// output, did not run while the read's first write was blocked on a reader that did not read).
/// If they cannot be registered, nothing is watched (a stop acts as usual).
fn register_in_background(delay: std::time::Duration) {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if SIGNALS.get().is_some() || STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("tgate-signals".to_owned())
        .spawn(move || {
            std::thread::sleep(delay);
            let live = live();
            let _ = signals(&live);
        });
}

/// The watchdog of what tgate writes for the caller, from the handlers' registration on: once a
/// stop was noted, a write to standard output or error that has been blocked for
/// [`STUCK_AFTER`] (a caller that stopped reading: a pipe full, a terminal paused) ends tgate by
/// the signal where it is, with no result record if none was written yet. Nothing else could: a
/// blocked write is restarted after the signal, and the run's own thread is inside it.
fn watchdog() {
    loop {
        std::thread::sleep(CHECK_EVERY);
        let Some((sig, _)) = requested() else {
            continue;
        };
        let since = WRITING_SINCE.load(Ordering::SeqCst);
        // The same write still under way, taken from it (a write that has just ended, its run
        // now recording its result, is not ended in the middle of the record).
        if since != 0
            && since != ENDING
            && millis().saturating_sub(since) >= STUCK_AFTER.as_millis() as u64
            && WRITING_SINCE
                .compare_exchange(since, ENDING, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            end_by(sig);
        }
    }
}

/// [`WRITING_SINCE`] once the watchdog ends tgate: the write's end must not clear it.
const ENDING: u64 = u64::MAX;

/// How long a write for the caller may stay blocked once tgate was asked to stop. Each write is
/// at most [`FOR_CALLER_PIECE`] bytes, so one that takes this long has made no progress: the
/// caller is not reading, rather than reading slowly.
pub(crate) const STUCK_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The most [`ForCaller`] hands on in one write: a pipe's atomic size (`PIPE_BUF`), which a pipe
/// takes whole once it has room for it (QA review: a 16 KiB write to a reader taking 8 KiB a
/// second lasted 2 s, and the watchdog took that for a reader gone, losing the result record).
const FOR_CALLER_PIECE: usize = 4096;

/// When the write for the caller now under way began ([`millis`]), 0 when none is.
static WRITING_SINCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Milliseconds since the first call, from 1.
fn millis() -> u64 {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
        + 1
}

/// Whether the run's result is recorded (or could not be): from then on, what was held back
/// after a stop ([`HeldAfterStop`]) is written.
static RESULT_RECORDED: AtomicBool = AtomicBool::new(false);

/// Says that the run's result record is written, or could not be.
pub(crate) fn result_recorded() {
    RESULT_RECORDED.store(true, Ordering::SeqCst);
}

/// How much [`HeldAfterStop`] keeps (tgate's own messages, a few lines).
const HELD_AFTER_STOP_BYTES: usize = 8 * 1024;

/// tgate's standard error during a run: once a stop was noted, and until the run's result is
/// recorded ([`result_recorded`]), what is written is kept (the first
/// [`HELD_AFTER_STOP_BYTES`]) and written after the record, so that a stderr nobody reads cannot
/// keep the result from being recorded (QA re-check: the native executor's `tgate: stopped by
/// SIGTERM` blocked on a full stderr, and the watchdog then ended tgate with no result record).
///
/// [`HeldAfterStop::all`] holds everything until the record, stop or not (up to `cap` bytes): a
/// native write's output, a few bytes, which a caller that does not read must not keep from
/// being recorded once the write has taken effect (QA review).
pub(crate) struct HeldAfterStop<'a> {
    inner: &'a mut dyn std::io::Write,
    held: Vec<u8>,
    all: bool,
    cap: usize,
}

impl<'a> HeldAfterStop<'a> {
    pub(crate) fn new(inner: &'a mut dyn std::io::Write) -> Self {
        Self::holding_from(inner, false, HELD_AFTER_STOP_BYTES)
    }

    /// Holds everything written until the result is recorded, the first `cap` bytes kept.
    pub(crate) fn all(inner: &'a mut dyn std::io::Write, cap: usize) -> Self {
        Self::holding_from(inner, true, cap)
    }

    fn holding_from(inner: &'a mut dyn std::io::Write, all: bool, cap: usize) -> Self {
        HeldAfterStop {
            inner,
            held: Vec::new(),
            all,
            cap,
        }
    }

    fn holding(&self) -> bool {
        (self.all || requested().is_some()) && !RESULT_RECORDED.load(Ordering::SeqCst)
    }

    fn release(&mut self) -> std::io::Result<()> {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.inner.write_all(&held)?;
        }
        Ok(())
    }
}

impl std::io::Write for HeldAfterStop<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.holding() {
            let room = self.cap.saturating_sub(self.held.len());
            self.held.extend_from_slice(&buf[..buf.len().min(room)]);
            return Ok(buf.len());
        }
        self.release()?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.holding() {
            return Ok(());
        }
        self.release()?;
        self.inner.flush()
    }
}

impl Drop for HeldAfterStop<'_> {
    /// What is still held when the run gives up before its record (its decision could not be
    /// made durable) is written then, not lost.
    fn drop(&mut self) {
        if self.release().is_ok() {
            let _ = self.inner.flush();
        }
    }
}

/// Standard output or error as written for the caller: each write and flush is marked while
/// under way, for the [`watchdog`].
pub(crate) struct ForCaller<'a>(pub &'a mut dyn std::io::Write);

impl ForCaller<'_> {
    fn marked<T>(&mut self, f: impl FnOnce(&mut dyn std::io::Write) -> T) -> T {
        WRITING_SINCE.store(millis(), Ordering::SeqCst);
        let r = f(&mut *self.0);
        // Not once the watchdog has taken this write: tgate is ending.
        let _ = WRITING_SINCE.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
            (v != ENDING).then_some(0)
        });
        r
    }
}

impl std::io::Write for ForCaller<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let piece = &buf[..buf.len().min(FOR_CALLER_PIECE)];
        self.marked(|w| w.write(piece))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.marked(|w| w.flush())
    }
}

/// Starts watching (registering the handlers the first time).
pub(crate) fn watch() -> Result<Watch, std::io::Error> {
    // Under the lock: two threads watching for the first time at once must not both register
    // handlers (the second set's `idle` would never be cleared, and its handlers would end tgate
    // in the middle of a watched run).
    let mut live = live();
    let s = signals(&live)?;
    live.watches += 1;
    s.idle.store(false, Ordering::SeqCst);
    Ok(Watch(()))
}

/// Starts watching, the handlers registered [`READ_WATCHED_AFTER`] from now in the background
/// ([`register_in_background`]): until they are, a stop signal acts as usual; from then on it is
/// noted. For a read, which changes nothing: most end before registering would pay off.
pub(crate) fn watch_unregistered() -> Watch {
    register_in_background(READ_WATCHED_AFTER);
    let mut live = live();
    live.watches += 1;
    if let Some(s) = SIGNALS.get() {
        s.idle.store(false, Ordering::SeqCst);
    }
    Watch(())
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut live = live();
        live.watches -= 1;
        if live.watches == 0
            && live.holds == 0
            && let Some(s) = SIGNALS.get()
        {
            s.idle.store(true, Ordering::SeqCst);
        }
    }
}

/// While alive, a [`Watch`] that ends keeps the stop signals noted, as if it went on: a command
/// that was watched stays so until its caller has recorded how it ended. A run that watched
/// nothing (its command not run) is not affected: its signals act as usual throughout.
pub(crate) struct Hold(());

/// Starts holding (see [`Hold`]).
pub(crate) fn hold() -> Hold {
    live().holds += 1;
    Hold(())
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut live = live();
        live.holds -= 1;
        if live.holds == 0
            && live.watches == 0
            && let Some(s) = SIGNALS.get()
        {
            s.idle.store(true, Ordering::SeqCst);
        }
    }
}

/// Once a run is recorded and its hold dropped: if a stop signal was noted while a command was
/// watched or held, ends tgate by it as the signal would have ended it then (`flush` runs just
/// before). Returns if none was noted, or if the signal's default action cannot be emulated.
pub(crate) fn end_if_requested(flush: impl FnOnce()) {
    if let Some((sig, _)) = requested() {
        flush();
        end_by(sig);
    }
}

/// Ends tgate by `sig`, as the signal would have.
fn end_by(sig: i32) -> ! {
    if re_raisable(sig) {
        let _ = signal_hook::low_level::emulate_default_handler(sig);
    }
    std::process::exit(128 + sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two threads watching at once: a watch that starts while the other's last one ends must not
    /// be left unwatched (a stop signal would then end tgate mid-run, its child orphaned).
    #[test]
    fn a_watch_starting_as_another_ends_stays_watched() {
        let idle = || {
            SIGNALS
                .get()
                .expect("registered")
                .idle
                .load(Ordering::SeqCst)
        };
        let unwatched = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..200_000 {
                        let w = watch().expect("handlers register");
                        if idle() {
                            unwatched.fetch_add(1, Ordering::SeqCst);
                        }
                        drop(w);
                    }
                });
            }
        });
        assert_eq!(
            unwatched.load(Ordering::SeqCst),
            0,
            "live watches seen unwatched"
        );
        assert!(idle(), "no watch is live: signals act as usual again");
        // A hold keeps an ended watch's signals noted until it is dropped.
        let held = hold();
        drop(watch().expect("handlers register"));
        assert!(!idle(), "held after the watch ended");
        drop(held);
        assert!(idle(), "neither watched nor held");
    }
}
