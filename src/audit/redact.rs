//! Redaction of the raw command line before it is recorded.
//!
//! The raw line is recorded as the caller sent it, except for secrets: the values of `--api-key`,
//! `--tls-key-data` and `--codec-auth`, the values of `--grpc-meta` and `--codec-header` pairs
//! (`authorization=<redacted>`), and the values of environment-style assignments whose name
//! mentions a key, token, secret, password, credential or auth (`TEMPORAL_API_KEY=<redacted>`).
//! This works on lines that do not parse too (a parse failure is recorded): the line is split with
//! POSIX quoting, the secret values found are replaced where they occur in the text, and if the
//! text still holds one (an escape or a quote inside a secret), the redacted words are recorded
//! instead. A line that cannot even be split has everything from the first secret-bearing word on
//! replaced.

use crate::command::REDACTED;

/// Flags whose whole value is secret.
const SECRET_FLAGS: &[&str] = &["api-key", "tls-key-data", "codec-auth"];
/// Flags whose `KEY=VALUE` values are secret.
const PAIR_FLAGS: &[&str] = &["grpc-meta", "codec-header"];
/// Words in an assignment's name that make its value secret.
const SECRET_NAMES: &[&str] = &[
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "AUTH",
];

/// A raw line with its secrets removed, and the secret values found (to scrub other text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redacted {
    /// The line to record.
    pub raw: String,
    /// Secret values found in it.
    pub secrets: Vec<String>,
}

impl Redacted {
    /// `text` with every secret value replaced.
    pub fn scrub(&self, text: &str) -> String {
        scrub(text, &self.secrets)
    }
}

/// `text` with every occurrence of each (non-empty) secret replaced, and every fragment of one's
/// start of [`FRAGMENT`] bytes or more (a cut text), as [`Scrubber`] does.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let holds = |s: &String| {
        let start = &s.as_bytes()[..s.len().min(FRAGMENT)];
        !s.is_empty() && memchr::memmem::find(text.as_bytes(), start).is_some()
    };
    if !secrets.iter().any(holds) {
        return text.to_owned();
    }
    let mut out = Vec::with_capacity(text.len());
    {
        use std::io::Write as _;
        let mut s = Scrubber::new(&mut out, secrets);
        let _ = s.write_all(text.as_bytes());
        let _ = s.finish();
    }
    // A fragment of a secret past ASCII can end inside a character the text then finishes
    // otherwise: that character is shown as U+FFFD.
    String::from_utf8_lossy(&out).into_owned()
}

/// How much of a secret's start counts as the secret: a cut (an output cap, a reason or an
/// event cut to length) can end text in the middle of one, and what comes before the cut is
/// then replaced as the whole would be. Shorter fragments, which ordinary text may hold, pass.
pub const FRAGMENT: usize = 8;

/// A writer passing bytes on with every occurrence of the secrets replaced by `<redacted>`: one
/// split across writes, and a fragment of [`FRAGMENT`] bytes or more of one's start (where text
/// was cut) included. What could begin a secret at the end of a write is held back until the
/// next write shows whether it does, or [`Scrubber::finish`] (also on drop). For what a server
/// sends back: one that echoes the API key it was sent (in an error) would otherwise have it
/// printed. Without secrets, bytes pass straight through.
pub struct Scrubber<'a> {
    inner: &'a mut dyn std::io::Write,
    /// Each secret and a finder of its first [`FRAGMENT`] bytes; non-empty, longest first.
    secrets: Vec<(Vec<u8>, memchr::memmem::Finder<'static>)>,
    held: Vec<u8>,
}

impl<'a> Scrubber<'a> {
    /// A scrubber of `secrets` (empty ones ignored) in front of `inner`.
    pub fn new(inner: &'a mut dyn std::io::Write, secrets: &[String]) -> Scrubber<'a> {
        let mut sorted: Vec<&str> = secrets
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
        sorted.dedup();
        Scrubber {
            inner,
            secrets: sorted
                .into_iter()
                .map(|s| {
                    let start = &s.as_bytes()[..s.len().min(FRAGMENT)];
                    (
                        s.as_bytes().to_vec(),
                        memchr::memmem::Finder::new(start).into_owned(),
                    )
                })
                .collect(),
            held: Vec::new(),
        }
    }

    /// Passes on what was held back (no secret can follow it any more; a fragment of one is
    /// replaced) and flushes.
    pub fn finish(&mut self) -> std::io::Result<()> {
        let held = std::mem::take(&mut self.held);
        let fragment =
            held.len() >= FRAGMENT && self.secrets.iter().any(|(s, _)| s.starts_with(&held));
        if fragment {
            self.inner.write_all(REDACTED.as_bytes())?;
        } else {
            self.inner.write_all(&held)?;
        }
        self.inner.flush()
    }

    /// Writes out `held` with the secrets (and fragments) replaced, keeping back its end if that
    /// could begin one.
    fn pass(&mut self) -> std::io::Result<()> {
        let held = &self.held;
        let mut out = Vec::with_capacity(held.len());
        let mut i = 0;
        let mut keep_from = None;
        // Each start of a secret, the earliest first (the longest secret where two start there).
        while let Some((at, secret)) = self
            .secrets
            .iter()
            .filter_map(|(s, f)| f.find(&held[i..]).map(|at| (i + at, s)))
            .min_by_key(|&(at, s)| (at, std::cmp::Reverse(s.len())))
        {
            let rest = &held[at..];
            let same = rest
                .iter()
                .zip(secret.iter())
                .take_while(|(a, b)| a == b)
                .count();
            out.extend_from_slice(&held[i..at]);
            if same < secret.len() && same == rest.len() {
                // The text ends in the middle of it: the next write tells.
                keep_from = Some(at);
                break;
            }
            // The whole secret, or a fragment of its start the text was cut after.
            out.extend_from_slice(REDACTED.as_bytes());
            i = at + same;
        }
        let keep_from = keep_from.unwrap_or_else(|| {
            // The longest end, shorter than a fragment, that a secret begins with stays held.
            let rest = &held[i..];
            let keep = (1..FRAGMENT.min(rest.len() + 1))
                .rev()
                .find(|&k| {
                    let end = &rest[rest.len() - k..];
                    self.secrets
                        .iter()
                        .any(|(s, _)| s.len() > k && s.starts_with(end))
                })
                .unwrap_or(0);
            out.extend_from_slice(&rest[..rest.len() - keep]);
            held.len() - keep
        });
        self.inner.write_all(&out)?;
        self.held.drain(..keep_from);
        Ok(())
    }
}

impl std::io::Write for Scrubber<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.secrets.is_empty() {
            return self.inner.write(buf);
        }
        self.held.extend_from_slice(buf);
        self.pass()?;
        Ok(buf.len())
    }

    /// Flushes what was passed on; what could begin a secret stays held.
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Drop for Scrubber<'_> {
    fn drop(&mut self) {
        if !self.held.is_empty() {
            let _ = self.finish();
        }
    }
}

/// Redacts a command line given as one string (`line.len() == 1`) or as argv words.
pub fn redact(line: &[String]) -> Redacted {
    if line.len() == 1 {
        redact_str(&line[0])
    } else {
        let (words, secrets) = redact_words(line);
        Redacted {
            raw: join(&words),
            secrets,
        }
    }
}

fn redact_str(text: &str) -> Redacted {
    let Some(words) = shlex::split(text) else {
        return Redacted {
            raw: cut_at_first_secret_word(text),
            secrets: Vec::new(),
        };
    };
    let (redacted_words, secrets) = redact_words(&words);
    let raw = scrub(text, &secrets);
    // The text may spell a secret differently from its value (`sk\-1`, `'sk'-1`): then record
    // the redacted words.
    let leaks = shlex::split(&raw).is_none_or(|again| {
        again.iter().any(|w| {
            secrets
                .iter()
                .any(|s| !s.is_empty() && w.contains(s.as_str()))
        }) || redact_words(&again).1.iter().any(|s| s != REDACTED)
    });
    Redacted {
        raw: if leaks { join(&redacted_words) } else { raw },
        secrets,
    }
}

/// The words with secret values replaced, and the secret values.
fn redact_words<S: AsRef<str>>(words: &[S]) -> (Vec<String>, Vec<String>) {
    let mut out = Vec::with_capacity(words.len());
    let mut secrets = Vec::new();
    let mut next_is: Option<Secrecy> = None;
    for w in words {
        let w = w.as_ref();
        if let Some(kind) = next_is.take() {
            out.push(hide(w, kind, &mut secrets));
            continue;
        }
        if let Some(flag) = w.strip_prefix("--") {
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (flag, None),
            };
            if let Some(kind) = secrecy(name) {
                match value {
                    Some(v) => out.push(format!("--{name}={}", hide(v, kind, &mut secrets))),
                    None => {
                        out.push(w.to_owned());
                        next_is = Some(kind);
                    }
                }
                continue;
            }
        }
        if let Some((name, value)) = w.split_once('=')
            && is_secret_assignment(name)
        {
            secrets.push(value.to_owned());
            out.push(format!("{name}={REDACTED}"));
            continue;
        }
        out.push(w.to_owned());
    }
    (out, secrets)
}

#[derive(Clone, Copy)]
enum Secrecy {
    Whole,
    PairValue,
}

fn secrecy(flag_name: &str) -> Option<Secrecy> {
    let name = flag_name.replace('_', "-").to_ascii_lowercase();
    if SECRET_FLAGS.contains(&name.as_str()) {
        Some(Secrecy::Whole)
    } else if PAIR_FLAGS.contains(&name.as_str()) {
        Some(Secrecy::PairValue)
    } else {
        None
    }
}

fn hide(value: &str, kind: Secrecy, secrets: &mut Vec<String>) -> String {
    match kind {
        Secrecy::Whole => {
            secrets.push(value.to_owned());
            REDACTED.to_owned()
        }
        Secrecy::PairValue => match value.split_once('=') {
            Some((k, v)) => {
                secrets.push(v.to_owned());
                format!("{k}={REDACTED}")
            }
            None => {
                secrets.push(value.to_owned());
                REDACTED.to_owned()
            }
        },
    }
}

/// `NAME=…` where NAME looks like an environment variable and names a credential.
fn is_secret_assignment(name: &str) -> bool {
    let ident = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let upper = name.to_ascii_uppercase();
    ident && SECRET_NAMES.iter().any(|s| upper.contains(s))
}

/// For a line that cannot be split: everything from the first word that may carry a secret is
/// replaced.
fn cut_at_first_secret_word(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut cut: Option<usize> = None;
    for name in SECRET_FLAGS.iter().chain(PAIR_FLAGS) {
        for spelling in [name.to_string(), name.replace('-', "_")] {
            if let Some(p) = lower.find(&spelling) {
                cut = Some(cut.map_or(p, |c| c.min(p)));
            }
        }
    }
    for s in SECRET_NAMES {
        if let Some(p) = lower.find(&s.to_ascii_lowercase())
            && lower[p..].contains('=')
        {
            cut = Some(cut.map_or(p, |c| c.min(p)));
        }
    }
    match cut {
        Some(p) => {
            // Keep whole characters only.
            let p = crate::diag::floor_char_boundary(text, p);
            format!("{}{REDACTED}", &text[..p])
        }
        None => text.to_owned(),
    }
}

/// Words joined with POSIX quoting where needed.
pub fn join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let safe = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=:,./@%+<>".contains(c));
            if safe {
                w.clone()
            } else {
                shlex::try_quote(w).map_or_else(|_| format!("{w:?}"), |q| q.into_owned())
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Redacted {
        redact(&[s.to_owned()])
    }

    #[test]
    fn secret_values_never_survive() {
        for (line, want) in [
            (
                "temporal workflow list --api-key sk-SECRET -n x",
                "temporal workflow list --api-key <redacted> -n x",
            ),
            (
                "temporal workflow list --api-key=sk-SECRET",
                "temporal workflow list --api-key=<redacted>",
            ),
            (
                "temporal workflow list --grpc-meta 'authorization=Bearer SECRET'",
                "temporal workflow list --grpc-meta 'authorization=<redacted>'",
            ),
            (
                "temporal workflow list --codec-header=x-token=SECRET --codec-auth SECRET",
                "temporal workflow list --codec-header=x-token=<redacted> --codec-auth <redacted>",
            ),
            (
                "TEMPORAL_API_KEY=SECRET temporal workflow list; rm -rf ~",
                "TEMPORAL_API_KEY=<redacted> temporal workflow list; rm -rf ~",
            ),
            (
                "temporal workflow list --tls-key-data \"-----BEGIN SECRET\"",
                "temporal workflow list --tls-key-data \"<redacted>\"",
            ),
        ] {
            let r = one(line);
            assert_eq!(r.raw, want, "{line}");
            assert!(!r.raw.contains("SECRET"), "{line}");
        }
        // A secret spelled with an escape: the redacted words are recorded instead.
        let r = one("temporal workflow list --api-key sk\\-SECRET");
        assert_eq!(r.raw, "temporal workflow list --api-key <redacted>");
        assert_eq!(r.secrets, vec!["sk-SECRET".to_owned()]);
        // A line that cannot be split.
        let r = one("temporal workflow list --api-key 'SECRET");
        assert_eq!(r.raw, "temporal workflow list --<redacted>");
        // The argv form.
        let r = redact(&[
            "temporal".into(),
            "--api-key".into(),
            "SECRET".into(),
            "a b".into(),
        ]);
        assert_eq!(r.raw, "temporal --api-key <redacted> 'a b'");
        assert_eq!(
            r.scrub("unknown flag SECRET"),
            "unknown flag <redacted>".to_owned()
        );
        // Nothing secret: unchanged.
        let line = "temporal workflow describe -w 'pay 1' -n payments";
        assert_eq!(one(line).raw, line);
    }

    #[test]
    fn a_secret_is_scrubbed_from_a_stream_however_it_is_cut() {
        use std::io::Write as _;
        // The key whole, a fragment of its start that text was cut after (8 bytes or more), and
        // a shorter one that ordinary text may hold.
        let text = b"error: rejected token Bearer sk-SECRET-42, cut at sk-SECRE|tgate: output cut; sk-SEC is fine: sk-SECRET-42";
        let want = "error: rejected token Bearer <redacted>, cut at <redacted>|tgate: output cut; sk-SEC is fine: <redacted>";
        for cut in 1..text.len() {
            let mut got = Vec::new();
            {
                let mut s = Scrubber::new(&mut got, &["sk-SECRET-42".to_owned()]);
                for chunk in text.chunks(cut) {
                    s.write_all(chunk).unwrap();
                    s.flush().unwrap();
                }
            }
            assert_eq!(String::from_utf8(got).unwrap(), want, "chunks of {cut}");
        }
        assert_eq!(
            scrub(
                std::str::from_utf8(text).unwrap(),
                &["sk-SECRET-42".to_owned()]
            ),
            want
        );
        // What ends as the start of a secret is passed on at the end, unless it is a fragment.
        for (end, want) in [("sk-SECR", "sk-SECR"), ("sk-SECRE", "<redacted>")] {
            let mut got = Vec::new();
            let mut s = Scrubber::new(&mut got, &["sk-SECRET-42".to_owned()]);
            s.write_all(format!("ends with {end}").as_bytes()).unwrap();
            s.finish().unwrap();
            drop(s);
            assert_eq!(String::from_utf8(got).unwrap(), format!("ends with {want}"));
        }
        // Without secrets, bytes pass straight through.
        let mut got = Vec::new();
        Scrubber::new(&mut got, &[String::new()])
            .write_all(b"sk")
            .unwrap();
        assert_eq!(got, b"sk");
    }
}
