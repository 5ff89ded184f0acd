//! Stop signals (SIGTERM, SIGINT, ...) while tgate runs a command that must not go on unwatched:
//! a CLI child, or a native write. Outside such a run they act as they always do (tgate ends);
//! inside one, tgate notes the signal, stops the command and records how the run ended.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Stop signals while a CLI child runs: the signal tgate was asked to stop by (0: none), and
/// whether no child is running (then a stop signal acts as it always would: tgate ends).
struct StopSignals {
    received: Arc<AtomicUsize>,
    idle: Arc<AtomicBool>,
}

/// The signals that end tgate by default and that a caller sends to stop it: terminate,
/// interrupt (Ctrl-C), hang-up, quit (Ctrl-\\), the two user signals and the alarm. While a child
/// runs, each makes tgate kill the child's process group and end the run (the result recorded,
/// within ~50 ms); otherwise each ends tgate as it would without tgate handling it. A signal
/// tgate was started with ignored (`nohup`, a background job of a script) stays ignored.
/// SIGKILL cannot be caught: a child started before one outlives tgate, as does one that leaves
/// its process group.
pub const STOP_SIGNALS: [(i32, &str); 7] = [
    (signal_hook::consts::SIGTERM, "SIGTERM"),
    (signal_hook::consts::SIGINT, "SIGINT"),
    (signal_hook::consts::SIGHUP, "SIGHUP"),
    (signal_hook::consts::SIGQUIT, "SIGQUIT"),
    (signal_hook::consts::SIGUSR1, "SIGUSR1"),
    (signal_hook::consts::SIGUSR2, "SIGUSR2"),
    (signal_hook::consts::SIGALRM, "SIGALRM"),
];

/// The handlers, registered once, the first time a child is started.
fn signals() -> Result<&'static StopSignals, std::io::Error> {
    static SIGNALS: OnceLock<StopSignals> = OnceLock::new();
    if let Some(s) = SIGNALS.get() {
        return Ok(s);
    }
    let signals = StopSignals {
        received: Arc::new(AtomicUsize::new(0)),
        idle: Arc::new(AtomicBool::new(true)),
    };
    let ignored = ignored_signals();
    for (sig, _) in STOP_SIGNALS {
        if ignored & (1u64 << (sig - 1)) != 0 {
            continue;
        }
        // With no child running, the default action (tgate ends); with one, only the flag.
        signal_hook::flag::register_conditional_default(sig, Arc::clone(&signals.idle))?;
        signal_hook::flag::register_usize(sig, Arc::clone(&signals.received), sig as usize)?;
    }
    Ok(SIGNALS.get_or_init(|| signals))
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

/// The signal tgate was asked to stop by while the child ran, and its name, if any.
pub(crate) fn requested() -> Option<(i32, &'static str)> {
    let sig = signals().ok()?.received.load(Ordering::SeqCst) as i32;
    STOP_SIGNALS.iter().find(|(s, _)| *s == sig).copied()
}

/// How often a run waiting on something else looks for a stop signal (noted on another
/// thread): a stop is acted on within this long.
pub(crate) const CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

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

/// While alive, a stop signal is noted (see [`requested`]) instead of ending tgate. Dropped, the
/// signals act as usual again.
pub(crate) struct Watch(&'static StopSignals);

/// Starts watching (registering the handlers the first time).
pub(crate) fn watch() -> Result<Watch, std::io::Error> {
    let s = signals()?;
    s.idle.store(false, Ordering::SeqCst);
    Ok(Watch(s))
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.0.idle.store(true, Ordering::SeqCst);
    }
}
