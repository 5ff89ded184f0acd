//! The audit log: a tamper-evident, append-only record of every decision and every execution.
//!
//! Each request that reaches a decision gets a decision record, durable on disk before any write
//! is sent, the CLI started or any output shown, and each allowed request a result record when
//! execution ends; both carry the request id.
//! Records are JSON Lines ([`record`]), chained by SHA-256 (`prev_hash` → `hash`), written by
//! [`log::AuditLog`] with group commit and a file lock, rotated by size with the chain continuing
//! across files. [`verify`] proves a log intact or names the first damage; [`export`] streams
//! records as JSON Lines, CSV or OCSF; [`redact`] keeps secrets out of what is recorded.
//!
//! Fail closed: if the decision record cannot be written, the command does not run.
//! The format is documented in `docs/audit.md`.

pub mod export;
pub mod log;
pub mod record;
pub mod redact;
pub mod verify;

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

pub use log::{AuditLog, Barrier, Committed, Pending, Unsynced};
pub use record::{Channel, Entry, Executor, Kind, Record};

/// Why the audit log could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file or directory could not be read or written.
    #[error("`{path}`: {message}")]
    Io {
        /// The file or directory.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The log's last record is damaged: appending would extend a broken chain.
    #[error(
        "`{path}`: {detail}; run `tgate audit verify` (to start a new chain, move the damaged files aside)"
    )]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The log's lock stayed taken (by another process, or another open of it) longer than a
    /// write may wait.
    #[error(
        "`{path}`: still locked after {waited}: is a tgate stopped or stuck while writing the log? nothing was written"
    )]
    LockTimeout {
        /// The lock file.
        path: String,
        /// How long the write waited (Go duration text).
        waited: String,
    },
    /// No path is configured and no state directory is known.
    #[error(
        "no audit path: neither `XDG_STATE_HOME` nor `HOME` is set; set `audit.path` in the configuration, `--audit` or `TGATE_AUDIT`"
    )]
    NoStateDir,
    /// A record could not be encoded.
    #[error("cannot encode a record: {0}")]
    Encode(String),
}

/// The embedded default path: `$XDG_STATE_HOME/tgate/audit.jsonl`, else
/// `$HOME/.local/state/tgate/audit.jsonl` (relative values are ignored, as XDG requires).
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, AuditError> {
    let absolute = |k: &str| env(k).map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(state) = absolute("XDG_STATE_HOME") {
        return Ok(state.join("tgate/audit.jsonl"));
    }
    if let Some(home) = absolute("HOME") {
        return Ok(home.join(".local/state/tgate/audit.jsonl"));
    }
    Err(AuditError::NoStateDir)
}

/// The number of a rotated file `<log>.NNNNNN` or `<log>.NNNNNN.gz`.
pub fn rotation_number(log: &Path, file: &Path) -> Option<u64> {
    let base = log.file_name()?.to_str()?;
    let name = file.file_name()?.to_str()?;
    let rest = name.strip_prefix(base)?.strip_prefix('.')?;
    let digits = rest.strip_suffix(".gz").unwrap_or(rest);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The files of the chain whose active file is `log`, oldest first: the rotated files
/// `<log>.NNNNNN` (or `.gz`) by number, then `log` itself when it exists.
pub fn chain_files(log: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let dir = match log.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let err = |e: std::io::Error| AuditError::Io {
        path: dir.display().to_string(),
        message: if e.kind() == std::io::ErrorKind::NotFound {
            "no such directory, where the audit log would be".to_owned()
        } else {
            e.to_string()
        },
    };
    let mut rotated = Vec::new();
    for item in std::fs::read_dir(dir).map_err(err)? {
        let path = item.map_err(err)?.path();
        if let Some(n) = rotation_number(log, &path) {
            rotated.push((n, path));
        }
    }
    rotated.sort();
    let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    if log.exists() {
        files.push(log.to_path_buf());
    }
    Ok(files)
}

/// A buffered reader of a chain file, decompressing `.gz` files. Only a regular file is opened:
/// a FIFO named like a rotated file would block the open until something wrote to it (QA:
/// `verify` hung on one).
pub fn open_reader(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    Ok(reader_of(path, open_regular(path)?))
}

/// `path` opened for reading if it is a regular file (opened without waiting, then checked: a
/// FIFO is refused, never waited on).
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// A chain file by the name it had when it was opened, its reader and its inode
/// ([`chain_snapshot`]).
pub type OpenChainFile = (PathBuf, Box<dyn Read + Send>, u64);

/// The files of the chain whose active file is `log`, oldest first, each already open: a
/// consistent view however the log rotates while it is read (QA: `verify` reported an intact
/// log as damaged, `deleted`, and `export` left a rotated file out without a word, when a
/// rotation came between listing the files and opening them). The active file is opened first;
/// a rotation after that renames it, and it is found among the rotated files by its inode,
/// where the view ends (what was written after it is past the view). A file that vanishes
/// between the listing and its opening (removed, compressed by another tool) has the view taken
/// again. Errors when there is no file at all.
pub fn chain_snapshot(log: &Path) -> Result<Vec<OpenChainFile>, AuditError> {
    use std::os::unix::fs::MetadataExt;
    let io = |path: &Path, e: std::io::Error| AuditError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let no_log = || AuditError::Io {
        path: log.display().to_string(),
        message: "no such audit log".to_owned(),
    };
    // Its directory missing too: said as a missing log (QA: `tail` named the directory, `No such
    // file or directory`, where `export` of a log beside it said `no such audit log`).
    if let Some(dir) = log.parent().filter(|d| !d.as_os_str().is_empty())
        && std::fs::symlink_metadata(dir).is_err_and(|e| gone(&e))
    {
        return Err(no_log());
    }
    raise_open_file_limit();
    let mut gap_looks = 0;
    for _ in 0..100 {
        let active = match open_regular(log) {
            Ok(f) => Some(f),
            Err(e) if gone(&e) => None,
            Err(e) => return Err(io(log, e)),
        };
        let active_id = match &active {
            Some(f) => {
                let m = f.metadata().map_err(|e| io(log, e))?;
                Some((m.dev(), m.ino()))
            }
            None => None,
        };
        let rotated: Vec<PathBuf> = chain_files(log)?.into_iter().filter(|p| p != log).collect();
        // A listing taken while files are renamed may miss one (the directory is read in its
        // own order, not the files' age: a fresh clone's test saw a later rotated file listed
        // and an earlier one missed, so `tail` showed records out of order). A gap in the
        // rotation numbers is looked at again, a few times, before it is taken as it stands (a
        // file deleted from the middle of the chain, which `verify` reports).
        let numbers: Vec<u64> = rotated
            .iter()
            .filter_map(|p| rotation_number(log, p))
            .collect();
        if numbers.windows(2).any(|w| w[1] != w[0] + 1) && gap_looks < 5 {
            gap_looks += 1;
            std::thread::sleep(std::time::Duration::from_millis(2));
            continue;
        }
        let mut files: Vec<OpenChainFile> = Vec::new();
        let mut vanished = false;
        let mut ended = false;
        for path in rotated {
            let file = match open_regular(&path) {
                Ok(f) => f,
                Err(e) if gone(&e) => {
                    vanished = true;
                    break;
                }
                Err(e) => return Err(io(&path, e)),
            };
            let m = file.metadata().map_err(|e| io(&path, e))?;
            // The active file, rotated since it was opened: the view ends with it.
            ended = Some((m.dev(), m.ino())) == active_id;
            let lazy = LazyReader {
                path: path.clone(),
                file: Some(file),
                reader: None,
            };
            files.push((path.clone(), Box::new(lazy), m.ino()));
            if ended {
                break;
            }
        }
        if vanished {
            continue;
        }
        // The active file renamed since it was opened, and not found among the rotated files:
        // the listing may have missed its new name while later files were listed; looked at
        // again.
        if !ended && active_id.is_some() {
            let now = std::fs::metadata(log).ok().map(|m| (m.dev(), m.ino()));
            if now != active_id {
                continue;
            }
        }
        if !ended && let (Some(f), Some((_, ino))) = (active, active_id) {
            files.push((log.to_path_buf(), reader_of(log, f), ino));
        }
        if files.is_empty() {
            return Err(no_log());
        }
        return Ok(files);
    }
    Err(AuditError::Io {
        path: log.display().to_string(),
        message: "its files kept changing while they were opened (100 tries)".to_owned(),
    })
}

/// A chain file's reader, made at its first read: a view of a chain of many files holds one
/// descriptor per file, and a buffer (256 KiB, and an inflater for `.gz`) only for the file being
/// read.
struct LazyReader {
    path: PathBuf,
    file: Option<std::fs::File>,
    reader: Option<Box<dyn Read + Send>>,
}

impl Read for LazyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.reader.is_none()
            && let Some(file) = self.file.take()
        {
            self.reader = Some(reader_of(&self.path, file));
        }
        match &mut self.reader {
            Some(r) => r.read(buf),
            None => Ok(0),
        }
    }
}

/// Raises this process's soft limit of open files to its hard limit, once (as Go programs do at
/// start): a view of the chain holds every file open, and a log rotating every 4 KiB has
/// hundreds (review: `audit tail` failed with "Too many open files" under the common soft
/// limit of 1024).
fn raise_open_file_limit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use nix::sys::resource::{Resource, getrlimit, setrlimit};
        if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
            && soft < hard
        {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    });
}

/// A buffered reader of `file`, opened from `path`, decompressing a `.gz` one.
fn reader_of(path: &Path, file: std::fs::File) -> Box<dyn Read + Send> {
    if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::with_capacity(
            256 * 1024,
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
        ))
    } else {
        Box::new(BufReader::with_capacity(256 * 1024, file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_follows_xdg() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            default_path(&env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/s/tgate/audit.jsonl")
        );
        assert_eq!(
            default_path(&env(&[("XDG_STATE_HOME", "rel"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/h/.local/state/tgate/audit.jsonl")
        );
        assert_eq!(default_path(&env(&[])), Err(AuditError::NoStateDir));
    }

    #[test]
    fn rotated_names() {
        let log = Path::new("/x/audit.jsonl");
        assert_eq!(
            rotation_number(log, Path::new("/x/audit.jsonl.000012")),
            Some(12)
        );
        assert_eq!(
            rotation_number(log, Path::new("/x/audit.jsonl.3.gz")),
            Some(3)
        );
        for other in [
            "/x/audit.jsonl",
            "/x/audit.jsonl.lock",
            "/x/audit.jsonl.",
            "/x/b.1",
        ] {
            assert_eq!(rotation_number(log, Path::new(other)), None, "{other}");
        }
    }
}
