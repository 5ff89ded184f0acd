//! Redaction of the raw command line before it is recorded.
//!
//! The raw line is recorded as the caller sent it, except for secrets: the values of `--api-key`,
//! `--tls-key-data` and `--codec-auth`, the values of `--grpc-meta` and `--codec-header` pairs
//! (`authorization=<redacted>`), and the values of environment-style assignments whose name
//! mentions a key, token, secret, password, credential or auth (`TEMPORAL_API_KEY=<redacted>`),
//! when they stand as words of their own, not as the value of a flag (`-w MY_TOKEN=1` is a
//! workflow id, which `argv` records as it is).
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

/// `text` with every occurrence of each (non-empty) secret replaced, as [`Scrubber`] does
/// (overlapping occurrences as one).
pub fn scrub(text: &str, secrets: &[String]) -> String {
    if !secrets
        .iter()
        .any(|s| !s.is_empty() && text.contains(s.as_str()))
    {
        return text.to_owned();
    }
    // Secrets are text, and so are the spans replaced.
    String::from_utf8_lossy(&scrub_bytes(text.as_bytes(), secrets)).into_owned()
}

/// [`scrub`] on bytes.
pub fn scrub_bytes(bytes: &[u8], secrets: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    {
        use std::io::Write as _;
        let mut s = Scrubber::new(&mut out, secrets);
        let _ = s.write_all(bytes);
        let _ = s.finish();
    }
    out
}

/// [`scrub_bytes`] of the start of a longer text, cut from it: what its end could begin (a
/// secret cut through, which [`scrub_bytes`] would pass on as it is) is left out.
pub fn scrub_start(bytes: &[u8], secrets: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    {
        use std::io::Write as _;
        let mut s = Scrubber::new(&mut out, secrets);
        let _ = s.write_all(bytes);
        s.held.clear();
    }
    out
}

/// A writer passing bytes on with every occurrence of the secrets replaced by `<redacted>`, one
/// split across writes included: what could begin a secret at the end of a write is held back
/// until the next write shows whether it does, or [`Scrubber::finish`] (also on drop). For what
/// a server sends back: one that echoes the API key it was sent (in an error) would otherwise
/// have it printed. Without secrets, bytes pass straight through.
///
/// Only whole secrets are replaced, each occurrence of each (overlapping ones as one span): what
/// is replaced never depends on how much of a secret some text shares, which would tell whoever
/// controls the text (an agent choosing a workflow id the server quotes back) one more character
/// of the key per try.
pub struct Scrubber<'a> {
    inner: &'a mut dyn std::io::Write,
    /// Non-empty, longest first.
    secrets: Vec<memchr::memmem::Finder<'static>>,
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
        sorted.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        sorted.dedup();
        Scrubber {
            inner,
            secrets: sorted
                .into_iter()
                .map(|s| memchr::memmem::Finder::new(s.as_bytes()).into_owned())
                .collect(),
            held: Vec::new(),
        }
    }

    /// The length of the longest secret (0 without any).
    pub fn longest(&self) -> usize {
        self.secrets.first().map_or(0, |f| f.needle().len())
    }

    /// Passes on what was held back (no secret can follow it any more) and flushes.
    pub fn finish(&mut self) -> std::io::Result<()> {
        let held = std::mem::take(&mut self.held);
        self.inner.write_all(&held)?;
        self.inner.flush()
    }

    /// Writes out `held` with the secrets replaced, up to where its end could begin one.
    fn pass(&mut self) -> std::io::Result<()> {
        let held = &self.held;
        // Where the end of what is held could begin a secret: from there on, the next write
        // tells.
        let longest = self.secrets.first().map_or(1, |f| f.needle().len());
        let mut keep_from = (held.len().saturating_sub(longest - 1)..held.len())
            .find(|&at| {
                let end = &held[at..];
                self.secrets.iter().any(|f| f.needle().starts_with(end))
            })
            .unwrap_or(held.len());
        // Every occurrence of every secret, as spans; overlapping ones merged.
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for f in &self.secrets {
            let len = f.needle().len();
            spans.extend(f.find_iter(held).map(|at| (at, at + len)));
        }
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        // A span reaching into the held end may grow with what comes next: hold it whole.
        if let Some(&(start, _)) = merged.iter().find(|&&(_, end)| end > keep_from) {
            keep_from = keep_from.min(start);
        }
        let mut out = Vec::with_capacity(keep_from + REDACTED.len());
        let mut at = 0;
        for &(start, end) in merged.iter().take_while(|&&(_, end)| end <= keep_from) {
            out.extend_from_slice(&held[at..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            at = end;
        }
        out.extend_from_slice(&held[at..keep_from]);
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
    // Whether the word before was a flag without `=`, whose value this word may be: data the
    // command sends (`-w MY_TOKEN=pay-1`), which `argv` records as it is, as it records
    // `--workflow-id=MY_TOKEN=pay-1`; only a word of its own (an environment prefix) is read as
    // an assignment (QA: `raw` hid part of a workflow id that `argv` and `target` showed).
    let mut after_flag = false;
    // Only inside the command, after the `temporal` word: before it (`env -i FOO_TOKEN=x
    // temporal ...`) a word after a flag is an assignment all the same (re-check QA).
    let mut in_command = false;
    for w in words {
        let w = w.as_ref();
        let value_of_flag = std::mem::replace(
            &mut after_flag,
            in_command && w.len() > 1 && w.starts_with('-') && !w.contains('='),
        );
        in_command |= w == "temporal" || w.ends_with("/temporal");
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
        if !value_of_flag
            && let Some((name, value)) = w.split_once('=')
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
    // `(FOO_TOKEN=x ...`: shell punctuation before the name does not hide it.
    let name = name.trim_start_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
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
        // A flag's value that looks like an assignment is data, as `argv` records it; a word of
        // its own is an assignment.
        for line in [
            "temporal workflow describe -w MY_TOKEN=pay-1",
            "temporal workflow signal -w x --name n --input AUTH=1",
            "temporal workflow describe --workflow-id=MY_TOKEN=pay-1",
        ] {
            let r = one(line);
            assert_eq!((r.raw.as_str(), r.secrets.len()), (line, 0), "{line}");
        }
        assert_eq!(
            one("temporal workflow list -n x DB_PASSWORD=hunter2").raw,
            "temporal workflow list -n x DB_PASSWORD=<redacted>"
        );
        // Before the command, a word after a flag is an assignment all the same; so is one
        // behind shell punctuation (re-check QA).
        for (line, want) in [
            (
                "env -i FOO_TOKEN=s1 temporal workflow list",
                "env -i FOO_TOKEN=<redacted> temporal workflow list",
            ),
            (
                "env -- FOO_TOKEN=s3 temporal workflow list",
                "env -- FOO_TOKEN=<redacted> temporal workflow list",
            ),
            (
                "(FOO_TOKEN=s11 temporal workflow list)",
                "(FOO_TOKEN=<redacted> temporal workflow list)",
            ),
        ] {
            let r = one(line);
            assert_eq!(r.raw, want, "{line}");
            assert_eq!(r.secrets.len(), 1, "{line}");
        }
    }

    #[test]
    fn a_secret_is_scrubbed_from_a_stream_however_it_is_cut() {
        use std::io::Write as _;
        let key = "sk-SECRET-42";
        // Only the whole key is replaced: text sharing its start (an agent's guess quoted back)
        // is left as it is, however much it shares.
        let text = b"error: rejected token Bearer sk-SECRET-42, not sk-SECRET-4 nor sk-SECRET-4x: sk-SECRET-42";
        let want =
            "error: rejected token Bearer <redacted>, not sk-SECRET-4 nor sk-SECRET-4x: <redacted>";
        for cut in 1..text.len() {
            let mut got = Vec::new();
            {
                let mut s = Scrubber::new(&mut got, &[key.to_owned()]);
                for chunk in text.chunks(cut) {
                    s.write_all(chunk).unwrap();
                    s.flush().unwrap();
                }
            }
            assert_eq!(String::from_utf8(got).unwrap(), want, "chunks of {cut}");
        }
        assert_eq!(
            scrub(std::str::from_utf8(text).unwrap(), &[key.to_owned()]),
            want
        );
        // Overlapping secrets (an agent's text sharing the key's words, keys sharing a start)
        // are replaced as one span, whatever their order and however the stream is cut.
        let secrets = [
            "ad key X".to_owned(),
            "Xr7Qm2LpZ9vK4tB8".to_owned(),
            "eyJhbGciOiJ9.prodPart1".to_owned(),
            "eyJhbGciOiJ9.stagPart2".to_owned(),
        ];
        let text = b"bad key Xr7Qm2LpZ9vK4tB8; eyJhbGciOiJ9.stagPart2!";
        for cut in 1..text.len() {
            let mut got = Vec::new();
            {
                let mut s = Scrubber::new(&mut got, &secrets);
                for chunk in text.chunks(cut) {
                    s.write_all(chunk).unwrap();
                }
            }
            assert_eq!(
                String::from_utf8(got).unwrap(),
                "b<redacted>; <redacted>!",
                "chunks of {cut}"
            );
        }
        // What ends as the start of a secret is passed on at the end.
        let mut got = Vec::new();
        let mut s = Scrubber::new(&mut got, &[key.to_owned()]);
        s.write_all(b"ends with sk-SECRET-4").unwrap();
        s.finish().unwrap();
        drop(s);
        assert_eq!(got, b"ends with sk-SECRET-4");
        // Without secrets, bytes pass straight through.
        let mut got = Vec::new();
        Scrubber::new(&mut got, &[String::new()])
            .write_all(b"sk")
            .unwrap();
        assert_eq!(got, b"sk");
    }
}
