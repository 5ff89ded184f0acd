//! tgate's own diagnostics: with `TGATE_LOG=<level>` in its environment, tgate writes what it
//! does to standard error, one line per event, with the time since it started: the
//! configuration loaded, the decision, the executor chosen (and why a command is not run
//! natively), the connection, each gRPC call and its status, the CLI child, the audit log's
//! batches and their sync. Without it (the default), nothing is installed and nothing is
//! written.
//!
//! Only tgate's own events are ever written, whatever the level: the libraries underneath
//! (tonic, hyper, h2) log request headers and frames at their trace level, and tgate cannot
//! vouch that those never carry the API key. tgate's events name commands, namespaces, targets,
//! rules, addresses and timings, never a header or a secret; at `debug`, the argv the CLI is
//! started with, which holds none (the flags that could carry one are denied, and tgate's own
//! credentials reach the CLI through its environment, whose values are never shown). The
//! secrets test in `tests/tls.rs` runs every command with `TGATE_LOG=trace` and greps the output.

use std::ffi::OsStr;

use tracing::level_filters::LevelFilter;

/// The environment variable that turns diagnostics on.
pub const ENV: &str = "TGATE_LOG";

/// The levels `TGATE_LOG` takes. `trace` shows what `debug` shows: tgate has no trace events, and
/// the build compiles the libraries' out (Cargo.toml).
const LEVELS: [(&str, LevelFilter); 6] = [
    ("off", LevelFilter::OFF),
    ("error", LevelFilter::ERROR),
    ("warn", LevelFilter::WARN),
    ("info", LevelFilter::INFO),
    ("debug", LevelFilter::DEBUG),
    ("trace", LevelFilter::TRACE),
];

/// Reads `TGATE_LOG` and, unless it is unset, empty or `off`, installs the writer. An
/// unknown value is an error naming the variable and the levels it takes.
pub fn init() -> Result<(), String> {
    let level = match std::env::var_os(ENV) {
        Some(v) => level(&v)?,
        None => LevelFilter::OFF,
    };
    if level == LevelFilter::OFF {
        return Ok(());
    }
    use std::io::IsTerminal as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let styled = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // Its own handle on standard error: `std::io::stderr()` is a lock that the main thread holds
    // while it runs a command (src/main.rs), and the audit log's committer thread logs too.
    use std::os::fd::AsFd as _;
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("{ENV}: cannot write to standard error: {e}"))?;
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(Scrubbed(std::sync::Mutex::new(std::fs::File::from(stderr))))
                .with_timer(tracing_subscriber::fmt::time::Uptime::default())
                .with_ansi(styled),
        )
        .with(tracing_subscriber::filter::Targets::new().with_target("tgate", level));
    // Installed once per process; a second call (tests calling `main_with` again) keeps the first.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(())
}

/// Secrets no diagnostic line may show ([`hide`]).
static HIDDEN: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Makes every later diagnostic line show `secret` (an integration's API key) as `<redacted>`.
/// tgate's events never name a secret, but they may quote what a server said, and a server may
/// echo the key it was sent.
pub fn hide(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let mut hidden = HIDDEN
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !hidden.iter().any(|h| h == secret) {
        hidden.push(secret.to_owned());
    }
}

/// The secrets [`hide`] was given: every configured integration's API key, once the
/// configuration is loaded.
pub fn hidden() -> Vec<String> {
    HIDDEN
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Standard error, each event's line written whole with the [`hide`]den secrets replaced.
struct Scrubbed(std::sync::Mutex<std::fs::File>);

/// One event's line, written out when the event is done.
struct Line<'a> {
    to: &'a Scrubbed,
    text: Vec<u8>,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Scrubbed {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            to: self,
            text: Vec::new(),
        }
    }
}

impl std::io::Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        use std::io::Write as _;
        let hidden = HIDDEN
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut file = self
            .to
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = crate::audit::redact::Scrubber::new(&mut *file, &hidden);
        let _ = out.write_all(&self.text);
        let _ = out.finish();
    }
}

/// The level a `TGATE_LOG` value names (any case); empty is `off`.
fn level(value: &OsStr) -> Result<LevelFilter, String> {
    let text = value.to_str().unwrap_or("\u{fffd}").trim();
    if text.is_empty() {
        return Ok(LevelFilter::OFF);
    }
    LEVELS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|(_, l)| *l)
        .ok_or_else(|| {
            let names: Vec<&str> = LEVELS.iter().map(|(n, _)| *n).collect();
            format!(
                "{ENV}: {} is not a level; use one of {}",
                crate::lex::quote_for_people(text),
                names.join(", ")
            )
        })
}

/// How much of a value an event shows: a value the agent's line sizes (a target, the CLI's argv,
/// a reason quoting it) is cut, so that a run's diagnostics stay a few KiB, far under what a
/// pipe holds, and a stopped tgate never waits on a stderr nobody reads.
pub const MAX_FIELD_CHARS: usize = 300;

/// `value`'s `Debug` text, cut at [`MAX_FIELD_CHARS`] characters (saying how many bytes were
/// left out), for an event's field. A cut that would split an escape (`\"`, `\u{202e}`) is made
/// before it.
pub fn capped(value: &dyn std::fmt::Debug) -> Capped {
    let mut text = format!("{value:?}");
    // The [`hide`]den secrets go before the cut, which could otherwise leave a key's start
    // that the line's own scrubbing would not know for one.
    if text.len() > MAX_FIELD_CHARS {
        let hidden = HIDDEN
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        text = crate::audit::redact::scrub(&text, &hidden);
    }
    if let Some((at, _)) = text.char_indices().nth(MAX_FIELD_CHARS) {
        let at = before_split_escape(&text, at);
        cut_noting(&mut text, at);
    }
    Capped(text)
}

/// The largest character boundary of `text` at or before byte `at` (`str::floor_char_boundary`,
/// which this crate's minimum Rust version lacks).
pub fn floor_char_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0)
}

/// Cuts `text` at byte `at` (a character boundary), saying how many bytes were left out:
/// `… (N bytes more)`.
pub fn cut_noting(text: &mut String, at: usize) {
    let more = text.len() - at;
    text.truncate(at);
    text.push_str(&format!("… ({more} bytes more)"));
}

/// `at`, or the start of the escape of `Debug` text that `at` falls inside. (Outside quoted
/// strings, `Debug` text holds no backslash.)
fn before_split_escape(text: &str, at: usize) -> usize {
    let mut chars = text[..at].char_indices();
    while let Some((start, c)) = chars.next() {
        if c != '\\' {
            continue;
        }
        let end = match text[start + 1..].chars().next() {
            Some('u') => text[start..]
                .find('}')
                .map_or(text.len(), |i| start + i + 1),
            Some(n) => start + 1 + n.len_utf8(),
            None => text.len(),
        };
        if end > at {
            return start;
        }
        // Skip the escape's own characters.
        while chars.offset() < end {
            chars.next();
        }
    }
    at
}

/// A field's text, cut by [`capped`].
pub struct Capped(String);

impl std::fmt::Debug for Capped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Microseconds since `start`, for events' timing fields.
pub fn micros(start: std::time::Instant) -> u64 {
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_read_in_any_case_and_others_refused() {
        assert_eq!(level(OsStr::new("debug")), Ok(LevelFilter::DEBUG));
        assert_eq!(level(OsStr::new("TRACE")), Ok(LevelFilter::TRACE));
        assert_eq!(level(OsStr::new(" Info ")), Ok(LevelFilter::INFO));
        assert_eq!(level(OsStr::new("")), Ok(LevelFilter::OFF));
        assert_eq!(level(OsStr::new("off")), Ok(LevelFilter::OFF));
        let e = level(OsStr::new("tgate=debug")).unwrap_err();
        assert!(e.starts_with("TGATE_LOG: "), "{e}");
        assert!(e.contains("tgate=debug"), "{e}");
        assert!(e.ends_with("off, error, warn, info, debug, trace"), "{e}");
    }

    #[test]
    fn long_fields_are_cut_on_a_character_boundary() {
        assert_eq!(format!("{:?}", capped(&"order-42")), r#""order-42""#);
        let long = "é".repeat(400);
        let shown = format!("{:?}", capped(&long));
        assert!(shown.starts_with(&format!("\"{}", "é".repeat(MAX_FIELD_CHARS - 1))));
        // 300 characters shown: the quote and 299 é; 101 é and the closing quote left out.
        assert!(shown.ends_with("… (203 bytes more)"), "{shown}");
        let argv = vec!["workflow".to_owned(), "x".repeat(1000)];
        let shown = format!("{:?}", capped(&argv));
        assert_eq!(
            shown.chars().count(),
            MAX_FIELD_CHARS + "… (717 bytes more)".chars().count()
        );
    }

    #[test]
    fn a_cut_never_splits_an_escape() {
        // The cut (after 300 characters: the opening quote and 299 more) would fall inside the
        // escape of `"` (two characters), then inside that of U+202E (eight).
        for (tail, kept) in [("\"\"", 299), ("\u{202e}x", 299), ("ab", 300)] {
            let value = format!("{}{tail}{}", "a".repeat(298), "z".repeat(400));
            let shown = format!("{:?}", capped(&value));
            let (head, _) = shown.split_once('…').unwrap();
            assert_eq!(head.chars().count(), kept, "{shown}");
            assert!(!head.ends_with('\\'), "{shown}");
        }
        // Escapes before the cut are kept whole.
        let value = format!("{}{}", "\"".repeat(100), "a".repeat(400));
        let shown = format!("{:?}", capped(&value));
        assert!(
            shown.starts_with(&format!("\"{}a", "\\\"".repeat(100))),
            "{shown}"
        );
    }
}
