//! Which policies have passed their embedded tests, remembered between `tgate run`s.
//!
//! A policy file's tests run whenever it loads, so that a policy whose own tests fail never
//! decides anything. For a one-shot `tgate run` that is most of a policy file's cost
//! (`policies/oncall.yaml`'s 13 tests: ~0.3 ms of each run, docs/benchmarks.md). The outcome
//! depends on three things only: the policy's text, the [`Context`] it is compiled against and
//! the tgate binary judging. A marker file named by a hash of the three says they passed; when
//! it exists, the tests are not run again.
//!
//! A marker can only skip the tests: the rules are compiled from the text and enforced the same
//! either way. A forged marker (whoever can write tgate's state directory, where the audit log
//! and the approval store also live) would let a policy whose tests fail load as written; it can
//! never change what the policy decides.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::Context;

/// The directory of markers, and the identity of the running binary.
#[derive(Clone, Debug)]
pub struct TestedCache {
    dir: PathBuf,
    binary: String,
}

impl TestedCache {
    /// Markers in `dir` (created when the first is written), for the running binary. `None` when
    /// the binary cannot be identified: the tests then run at every load.
    pub fn new(dir: PathBuf) -> Option<TestedCache> {
        let exe = std::env::current_exe().ok()?;
        let m = std::fs::metadata(&exe).ok()?;
        // A rebuilt or replaced binary is another file (inode) or was changed (size, times).
        let binary = format!(
            "{}:{}:{}:{}.{}:{}.{}",
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        );
        Some(TestedCache { dir, binary })
    }

    /// The marker of `text` compiled against `ctx` by this binary.
    pub fn marker(&self, text: &str, ctx: &Context) -> PathBuf {
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [
            env!("CARGO_PKG_VERSION"),
            self.binary.as_str(),
            &format!("{ctx:?}"),
            text,
        ] {
            // Each part length-prefixed: no two different sets of parts hash the same bytes.
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let mut hex = String::with_capacity(64);
        for b in h.finish().as_ref() {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
        }
        self.dir.join(hex)
    }

    /// Whether the marker exists. A marker found is marked used (its modification time, at most
    /// once every [`REFRESH_AFTER`]), so that pruning removes the markers unused longest, not the
    /// ones written first.
    pub(crate) fn passed(marker: &Path) -> bool {
        let Ok(m) = std::fs::metadata(marker) else {
            return false;
        };
        if !m.is_file() {
            return false;
        }
        let now = std::time::SystemTime::now();
        let stale = m
            .modified()
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > REFRESH_AFTER);
        if stale {
            // Failing to is not an error: the marker only risks being pruned sooner.
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .open(marker)
                .and_then(|f| f.set_modified(now));
        }
        true
    }

    /// Writes the marker. Failing to is not an error: the tests run again next time.
    pub(crate) fn record(&self, marker: &Path) {
        let written = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(marker)
            });
        match written {
            Ok(_) => self.prune(),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => tracing::debug!(
                dir = %self.dir.display(),
                error = %e,
                "policy tests passed; not remembered"
            ),
        }
    }

    /// Keeps the directory small: past [`MAX_MARKERS`], the markers unused longest go (each
    /// written once per policy text, namespace and binary, and marked used by [`Self::passed`], so
    /// those are mostly of edited policies and replaced binaries). A marker removed too eagerly
    /// only makes its policy tested again.
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut markers: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(|e| {
                let e = e.ok()?;
                Some((e.metadata().ok()?.modified().ok()?, e.path()))
            })
            .collect();
        if markers.len() <= MAX_MARKERS {
            return;
        }
        markers.sort();
        for (_, path) in &markers[..markers.len() - MAX_MARKERS / 2] {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// How many markers the directory holds at most; pruning leaves half as many.
pub const MAX_MARKERS: usize = 256;

/// How long a marker in use goes without its modification time refreshed: one write per marker
/// an hour at most, not one per run.
pub const REFRESH_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);
