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

/// Replaces every occurrence of each (non-empty) secret in `text`, longest first.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for s in sorted {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), REDACTED);
        }
    }
    out
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
}
