//! Verification: walks the chain across rotated files and names the first damage.
//!
//! A chain is intact when every line is a record whose content matches its `hash`, the first has
//! `seq` 1 and the genesis `prev_hash`, and each next one has `seq + 1` and the previous `hash` as
//! its `prev_hash`. Otherwise the first break is classified:
//! - `edited`: a record's content does not match its hash, a line is not a record, a record
//!   that matches its hash is not written as tgate writes records ([`record::form_error`]), or
//!   an intact record's `prev_hash` no longer names its predecessor (the predecessor was edited
//!   and re-hashed);
//! - `deleted`: sequence numbers jump and the missing ones appear nowhere later;
//! - `reordered`: sequence numbers jump and the missing one appears later;
//! - `inserted`: an extra line sits before a record that links to the last intact one, or a
//!   record repeats an earlier sequence number;
//! - `torn-tail`: the last line of the newest file is incomplete (a crash mid-write; never
//!   acknowledged). `--repair` cuts it off.
//!
//! What this cannot see: records cut off the end as whole lines, or a chain rewritten and re-hashed
//! from the damage onwards, each record in tgate's form. Keep the head (`seq` and `hash`, printed
//! on success) elsewhere to catch those.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::AuditError;
use super::record::{self, GENESIS};

/// The kind of damage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DamageKind {
    /// Content changed.
    Edited,
    /// Records missing.
    Deleted,
    /// Records out of order.
    Reordered,
    /// A line that does not belong.
    Inserted,
    /// An incomplete last line.
    TornTail,
}

impl DamageKind {
    /// As printed.
    pub fn as_str(self) -> &'static str {
        match self {
            DamageKind::Edited => "edited",
            DamageKind::Deleted => "deleted",
            DamageKind::Reordered => "reordered",
            DamageKind::Inserted => "inserted",
            DamageKind::TornTail => "torn-tail",
        }
    }
}

/// The first break in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// What kind.
    pub kind: DamageKind,
    /// The first sequence number that is not intact.
    pub seq: u64,
    /// The file where the break was found.
    pub file: PathBuf,
    /// Its 1-based line number there.
    pub line: u64,
    /// What is wrong, in words.
    pub detail: String,
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The chain's files, oldest first.
    pub files: Vec<PathBuf>,
    /// Intact records before the first damage (all of them when intact).
    pub records: u64,
    /// The last intact record: `seq` and `hash`.
    pub head: Option<(u64, String)>,
    /// The first damage, if any.
    pub damage: Option<Damage>,
}

/// One physical line of the chain.
struct Line {
    file: usize,
    no: u64,
    terminated: bool,
    parsed: Parsed,
}

enum Parsed {
    Bad(String),
    /// A record that matches its hash but is not as tgate writes records: rewritten and
    /// re-hashed, or made by something else.
    Rewritten {
        seq: u64,
        why: String,
    },
    Rec {
        seq: u64,
        prev: String,
        hash: String,
        sound: bool,
    },
}

impl Parsed {
    fn of(bytes: &[u8]) -> Parsed {
        match record::check_line(bytes) {
            Ok((r, sound)) => {
                if sound && let Some(why) = record::form_error(bytes, &r) {
                    return Parsed::Rewritten { seq: r.seq, why };
                }
                Parsed::Rec {
                    seq: r.seq,
                    prev: r.prev_hash,
                    hash: r.hash,
                    sound,
                }
            }
            Err(e) => Parsed::Bad(e.to_string()),
        }
    }

    /// Whether this is the sound record `seq` linking to `prev`.
    fn links(&self, want_seq: u64, want_prev: &str) -> bool {
        matches!(self, Parsed::Rec { seq, prev, sound: true, .. } if *seq == want_seq && prev == want_prev)
    }
}

/// Reads the chain's lines in order, file after file.
struct Lines {
    files: Vec<(PathBuf, Option<Box<dyn std::io::Read + Send>>)>,
    index: usize,
    reader: Option<Box<dyn BufRead + Send>>,
    no: u64,
    buf: Vec<u8>,
}

impl Lines {
    fn new(files: Vec<super::OpenChainFile>) -> Lines {
        Lines {
            files: files.into_iter().map(|(p, r, _)| (p, Some(r))).collect(),
            index: 0,
            reader: None,
            no: 0,
            buf: Vec::new(),
        }
    }

    fn next(&mut self) -> Result<Option<Line>, AuditError> {
        loop {
            if self.index >= self.files.len() {
                return Ok(None);
            }
            let (path, opened) = &mut self.files[self.index];
            let err = |e: std::io::Error| AuditError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            };
            if self.reader.is_none() {
                let Some(r) = opened.take() else {
                    unreachable!("each file's reader is taken once")
                };
                self.reader = Some(Box::new(std::io::BufReader::with_capacity(256 * 1024, r)));
                self.no = 0;
            }
            let Some(reader) = self.reader.as_mut() else {
                unreachable!("opened above")
            };
            self.buf.clear();
            let n = match reader.read_until(b'\n', &mut self.buf) {
                Ok(n) => n,
                // A compressed file cut short or with garbage after it is damage in the chain,
                // not a failure to read (QA: verify exited 2 with no report): a line that is no
                // record, and the file ends there.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::InvalidData
                            | std::io::ErrorKind::InvalidInput
                            | std::io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    self.reader = None;
                    self.index += 1;
                    self.no += 1;
                    return Ok(Some(Line {
                        file: self.index - 1,
                        no: self.no,
                        terminated: true,
                        parsed: Parsed::Bad(format!("unreadable from here: {e}")),
                    }));
                }
                Err(e) => return Err(err(e)),
            };
            if n == 0 {
                self.reader = None;
                self.index += 1;
                continue;
            }
            self.no += 1;
            let terminated = self.buf.last() == Some(&b'\n');
            let bytes = if terminated {
                &self.buf[..self.buf.len() - 1]
            } else {
                &self.buf[..]
            };
            return Ok(Some(Line {
                file: self.index,
                no: self.no,
                terminated,
                parsed: Parsed::of(bytes),
            }));
        }
    }
}

/// Verifies the chain whose active file is `log` (with its rotated files).
pub fn verify(log: &Path) -> Result<Report, AuditError> {
    let snapshot = super::chain_snapshot(log)?;
    let files: Vec<PathBuf> = snapshot.iter().map(|(p, _, _)| p.clone()).collect();
    let mut lines = Lines::new(snapshot);
    let mut last: (u64, String) = (0, GENESIS.to_owned());
    let mut records = 0u64;
    while let Some(line) = lines.next()? {
        if line.terminated && line.parsed.links(last.0 + 1, &last.1) {
            if let Parsed::Rec { seq, hash, .. } = line.parsed {
                last = (seq, hash);
                records += 1;
            }
            continue;
        }
        let newest_file = line.file + 1 == files.len();
        let mut rest = Vec::new();
        while let Some(l) = lines.next()? {
            rest.push(l.parsed);
        }
        // A whole record that lacks only its newline, at the very end: a write cut just before
        // it. The record is sound and continues the chain; the writer completes the line.
        if newest_file && rest.is_empty() && line.parsed.links(last.0 + 1, &last.1) {
            if let Parsed::Rec { seq, hash, .. } = line.parsed {
                last = (seq, hash);
                records += 1;
            }
            break;
        }
        let (kind, seq, detail) = classify(&line, newest_file, &rest, &last);
        return Ok(Report {
            damage: Some(Damage {
                kind,
                seq,
                file: files[line.file].clone(),
                line: line.no,
                detail,
            }),
            files,
            records,
            head: (last.0 > 0).then_some(last),
        });
    }
    Ok(Report {
        files,
        records,
        head: (last.0 > 0).then_some(last),
        damage: None,
    })
}

/// Names the damage at `line`, given the last intact record and the lines after it.
fn classify(
    line: &Line,
    newest_file: bool,
    rest: &[Parsed],
    last: &(u64, String),
) -> (DamageKind, u64, String) {
    let e = last.0 + 1;
    // Only a line that is no record can be a crash's cut: a whole record that does not match
    // its hash, or continue the chain, was changed (QA: an edited last record without its
    // newline was called torn, and the next run cut it off).
    if !line.terminated && newest_file && rest.is_empty() && matches!(line.parsed, Parsed::Bad(_)) {
        return (
            DamageKind::TornTail,
            e,
            "the last line is incomplete (a write cut short); `--repair` removes it".to_owned(),
        );
    }
    let next_links = rest.first().is_some_and(|n| n.links(e, &last.1));
    // A sound record whose predecessor comes later in the file was moved, not forged.
    let moved = match &line.parsed {
        Parsed::Rec {
            seq,
            prev,
            sound: true,
            ..
        } if *seq > e => rest.iter().any(
            |p| matches!(p, Parsed::Rec { seq: s, hash, .. } if *s + 1 == *seq && hash == prev),
        ),
        Parsed::Rec { .. } | Parsed::Bad(_) | Parsed::Rewritten { .. } => false,
    };
    match &line.parsed {
        Parsed::Rewritten { seq, why } => (
            DamageKind::Edited,
            e,
            format!(
                "seq {seq} matches its hash, but {why}: rewritten and re-hashed, or not written \
                 by tgate"
            ),
        ),
        Parsed::Rec { seq, .. } if moved => (
            DamageKind::Reordered,
            e,
            format!("seq {seq} comes where seq {e} should be, and seq {e} comes later"),
        ),
        Parsed::Bad(why) if next_links => (
            DamageKind::Inserted,
            e,
            format!("a line that is not a record sits before seq {e} ({why})"),
        ),
        Parsed::Bad(why) => (
            DamageKind::Edited,
            e,
            format!("where seq {e} should be, the line is {why}"),
        ),
        Parsed::Rec { seq, .. } if next_links => (
            DamageKind::Inserted,
            e,
            format!(
                "a record claiming seq {seq} sits before seq {e}, which links to seq {}",
                last.0
            ),
        ),
        Parsed::Rec { sound: false, .. } => (
            DamageKind::Edited,
            e,
            "the record's content does not match its hash".to_owned(),
        ),
        Parsed::Rec { seq, .. } if *seq == e && last.0 == 0 => (
            DamageKind::Edited,
            e,
            "the first record does not start from the genesis hash".to_owned(),
        ),
        Parsed::Rec { seq, .. } if *seq == e => (
            DamageKind::Edited,
            last.0,
            format!(
                "seq {e} names another hash for seq {}: one of the two was changed (seq {} \
                 edited and re-hashed, or seq {e} put in the place of the one that continued it)",
                last.0, last.0
            ),
        ),
        Parsed::Rec { seq, .. } if *seq > e => {
            let later = rest
                .iter()
                .any(|p| matches!(p, Parsed::Rec { seq: s, .. } if *s == e));
            if later {
                (
                    DamageKind::Reordered,
                    e,
                    format!("seq {seq} comes where seq {e} should be, and seq {e} comes later"),
                )
            } else {
                (
                    DamageKind::Deleted,
                    e,
                    if *seq == e + 1 {
                        format!("seq {e} is missing")
                    } else {
                        format!("seq {e} to {} are missing", seq - 1)
                    },
                )
            }
        }
        Parsed::Rec { seq, .. } => (
            DamageKind::Inserted,
            if *seq == last.0 { *seq } else { e },
            format!("a second record claims seq {seq}"),
        ),
    }
}

/// What `--repair` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// The file cut.
    pub file: PathBuf,
    /// Bytes removed.
    pub removed_bytes: u64,
}

/// Cuts a torn tail off the newest file, under the log's lock. Only a torn tail is repaired;
/// returns `None` when there was none.
pub fn repair(log: &Path) -> Result<Option<Repair>, AuditError> {
    let report = verify(log)?;
    let Some(Damage {
        kind: DamageKind::TornTail,
        file,
        ..
    }) = report.damage
    else {
        return Ok(None);
    };
    let err = |p: &Path, e: std::io::Error| AuditError::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let lock_path = super::log::lock_path(log);
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| err(&lock_path, e))?;
    super::log::lock_within(&lock, &lock_path, super::log::DEFAULT_LOCK_TIMEOUT)?;
    let result = (|| {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&file)
            .map_err(|e| err(&file, e))?;
        let len = f.metadata().map_err(|e| err(&file, e))?.len();
        let kept = super::log::cut_torn_tail(&f, len).map_err(|e| err(&file, e))?;
        Ok(Some(Repair {
            file: file.clone(),
            removed_bytes: len - kept,
        }))
    })();
    let _ = lock.unlock();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::log::{AuditLog, DEFAULT_MAX_FILE_BYTES};
    use crate::audit::record::tests::entry;

    /// A log of `n` records; returns its path and lines.
    fn log_of(dir: &Path, n: usize) -> (PathBuf, Vec<String>) {
        let path = dir.join("audit.jsonl");
        let log = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES).unwrap();
        for i in 0..n {
            log.append(&entry(&format!("caller-{i}"))).unwrap();
        }
        let lines = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        (path, lines)
    }

    /// A rotated file compressed and then cut short is damage reported (exit 1), not a failure
    /// to read (QA: exit 2 with no report); a FIFO named like a rotated file is refused, not
    /// waited on for ever.
    #[test]
    fn a_damaged_compressed_file_is_reported_and_a_fifo_refused() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let (path, lines) = log_of(dir.path(), 200);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all((lines[..150].join("\n") + "\n").as_bytes())
            .unwrap();
        let gz = gz.finish().unwrap();
        std::fs::write(
            dir.path().join("audit.jsonl.000001.gz"),
            &gz[..gz.len() / 2],
        )
        .unwrap();
        std::fs::write(&path, lines[150..].join("\n") + "\n").unwrap();
        let d = verify(&path).unwrap().damage.unwrap();
        assert_eq!(d.kind, DamageKind::Edited);
        assert!(d.detail.contains("unreadable from here"), "{}", d.detail);
        assert!(d.file.ends_with("audit.jsonl.000001.gz"));
        // Garbage after a whole stream (re-check QA: `invalid gzip header`, exit 2).
        let mut trailing = gz.clone();
        trailing.extend_from_slice(b"garbagegarbage\n");
        std::fs::write(dir.path().join("audit.jsonl.000001.gz"), &trailing).unwrap();
        let d = verify(&path).unwrap().damage.unwrap();
        assert!(d.detail.contains("unreadable from here"), "{}", d.detail);
        // Its records are whole and the chain goes on from them: something was added.
        assert_eq!(d.kind, DamageKind::Inserted, "{}", d.detail);
        // Whole, it verifies.
        std::fs::write(dir.path().join("audit.jsonl.000001.gz"), &gz).unwrap();
        assert_eq!(verify(&path).unwrap().damage, None);
        let made = std::process::Command::new("mkfifo")
            .arg(dir.path().join("audit.jsonl.000002"))
            .status()
            .unwrap();
        assert!(made.success());
        let e = verify(&path).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    /// `lines` with line `from` replaced by `edit` of it, and it and every line after it sealed
    /// again, each linking to the one before: a chain rewritten and re-hashed from `from` on.
    fn rewritten(lines: &[String], from: usize, edit: impl Fn(&str) -> String) -> Vec<String> {
        let mut out = lines[..from].to_vec();
        let mut prev = match from {
            0 => GENESIS.to_owned(),
            _ => {
                serde_json::from_str::<record::Record>(&lines[from - 1])
                    .unwrap()
                    .hash
            }
        };
        for (i, line) in lines.iter().enumerate().skip(from) {
            let line = if i == from { edit(line) } else { line.clone() };
            let seq = i as u64 + 1;
            let start = format!("{{\"v\":1,\"seq\":{seq},").len();
            let end = line.rfind(",\"prev_hash\":\"").unwrap();
            let (sealed, hash) = record::seal(seq, &line[start..end], &prev);
            out.push(sealed.trim_end().to_owned());
            prev = hash;
        }
        out
    }

    /// A chain rewritten and re-hashed verifies, but not when what was written is not as tgate
    /// writes records (QA: `"time":"yesterday"`, a member left out, a request id that is no UUID
    /// all verified, and the export then compared such times as text). The writer does not
    /// continue such a chain, and the export leaves such a record out.
    #[test]
    fn a_rewritten_record_that_tgate_would_not_write_is_damage() {
        let dir = tempfile::tempdir().unwrap();
        let (path, lines) = log_of(dir.path(), 6);
        let same = rewritten(&lines, 2, str::to_owned);
        assert_eq!(same, lines, "sealing again changes nothing");
        let relinked = rewritten(&lines, 2, |l| l.replace("caller-2", "caller-X"));
        std::fs::write(&path, relinked.join("\n") + "\n").unwrap();
        assert_eq!(verify(&path).unwrap().damage, None, "the documented limit");
        let time = |l: &str| {
            let t = serde_json::from_str::<record::Record>(l).unwrap().time;
            l.replace(&t, "yesterday")
        };
        let id = |l: &str| {
            let r = serde_json::from_str::<record::Record>(l)
                .unwrap()
                .request_id;
            l.replace(&r, &r.to_uppercase())
        };
        for (edit, want) in [
            (
                &time as &dyn Fn(&str) -> String,
                "seq 3 matches its hash, but its time `yesterday` is not one tgate writes",
            ),
            (&id, "its request id"),
            (
                &|l: &str| l.replace("\"approval_id\":null,", ""),
                "its members are not as tgate writes them",
            ),
            (
                &|l: &str| l.replace("caller-2", "caller\\u002d2"),
                "its members are not as tgate writes them",
            ),
            (
                &|l: &str| l.replace("\"caller\":", "\"caller\": "),
                "its members are not as tgate writes them",
            ),
        ] {
            let l = rewritten(&lines, 2, edit);
            std::fs::write(&path, l.join("\n") + "\n").unwrap();
            let d = verify(&path).unwrap().damage.expect("damage");
            assert_eq!((d.kind, d.seq, d.line), (DamageKind::Edited, 3, 3));
            assert!(d.detail.contains(want), "{}", d.detail);
            // As the last record, with and without its newline: the writer refuses to go on.
            let last = &l[..3];
            for text in [last.join("\n") + "\n", last.join("\n")] {
                std::fs::write(&path, text).unwrap();
                // The log reads the chain's last record while the first record is made.
                let e = AuditLog::open(&path, DEFAULT_MAX_FILE_BYTES)
                    .and_then(|log| log.append(&entry("next")))
                    .expect_err("refused");
                assert!(e.to_string().contains("matches its hash, but"), "{e}");
            }
        }
        let l = rewritten(&lines, 2, time);
        std::fs::write(&path, l.join("\n") + "\n").unwrap();
        let mut out = Vec::new();
        let summary = crate::audit::export::export(
            &path,
            crate::audit::export::Format::Jsonl,
            &crate::audit::export::Filter::default(),
            &mut out,
        )
        .unwrap();
        assert_eq!(summary.written, 5);
        assert_eq!(summary.skipped.len(), 1, "{:?}", summary.skipped);
        assert!(summary.skipped[0].contains("its time `yesterday`"));
    }

    fn damage_after(path: &Path, lines: &[String]) -> (DamageKind, u64) {
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(path, text).unwrap();
        let d = verify(path).unwrap().damage.expect("damage");
        (d.kind, d.seq)
    }

    #[test]
    fn intact() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = log_of(dir.path(), 5);
        let r = verify(&path).unwrap();
        assert_eq!(r.damage, None);
        assert_eq!(r.records, 5);
        assert_eq!(r.head.unwrap().0, 5);
    }

    #[test]
    fn each_kind_of_damage_is_named_with_its_seq() {
        let dir = tempfile::tempdir().unwrap();
        let (path, lines) = log_of(dir.path(), 8);
        // Edited field.
        let mut l = lines.clone();
        l[3] = l[3].replace("caller-3", "caller-X");
        assert_eq!(damage_after(&path, &l), (DamageKind::Edited, 4));
        // Edited and re-hashed: the successor no longer links.
        let mut l = lines.clone();
        let rec: record::Record = serde_json::from_str(&l[3]).unwrap();
        let mut e = entry("caller-X");
        e.time = rec.time.clone();
        let (forged, _) = record::seal(4, &e.members().unwrap(), &rec.prev_hash);
        l[3] = forged.trim_end().to_owned();
        assert_eq!(damage_after(&path, &l), (DamageKind::Edited, 4));
        // Deleted line.
        let mut l = lines.clone();
        l.remove(5);
        assert_eq!(damage_after(&path, &l), (DamageKind::Deleted, 6));
        // Deleted first line.
        assert_eq!(damage_after(&path, &lines[1..]), (DamageKind::Deleted, 1));
        // Swapped lines.
        let mut l = lines.clone();
        l.swap(2, 3);
        assert_eq!(damage_after(&path, &l), (DamageKind::Reordered, 3));
        // Inserted forged line (a copy of seq 5 with another caller, placed before it).
        let mut l = lines.clone();
        l.insert(4, l[4].replace("caller-4", "caller-X"));
        assert_eq!(damage_after(&path, &l), (DamageKind::Inserted, 5));
        // Inserted perfect forgery: correct hash and link, so the real seq 5 is the duplicate.
        let mut l = lines.clone();
        let prev: record::Record = serde_json::from_str(&l[3]).unwrap();
        let (forged, _) = record::seal(5, &entry("forger").members().unwrap(), &prev.hash);
        l.insert(4, forged.trim_end().to_owned());
        assert_eq!(damage_after(&path, &l), (DamageKind::Inserted, 5));
        // Inserted garbage.
        let mut l = lines.clone();
        l.insert(2, "hello".to_owned());
        assert_eq!(damage_after(&path, &l), (DamageKind::Inserted, 3));
        // Torn tail.
        let mut text = lines.join("\n");
        text.push('\n');
        text.push_str(&lines[0][..40]);
        std::fs::write(&path, &text).unwrap();
        let d = verify(&path).unwrap().damage.unwrap();
        assert_eq!((d.kind, d.seq, d.line), (DamageKind::TornTail, 9, 9));
        let fixed = repair(&path).unwrap().unwrap();
        assert_eq!(fixed.removed_bytes, 40);
        assert_eq!(verify(&path).unwrap().damage, None);
        assert_eq!(repair(&path).unwrap(), None);
    }
}
