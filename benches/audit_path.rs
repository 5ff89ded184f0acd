//! One audit record's cost on a request's path without the disk's wait (the log on tmpfs,
//! `/dev/shm`, where a sync returns at once), by how it is written: on the caller's thread
//! (`append`, `write_now` + `sync`) or handed to the committer thread (`submit`). Each case N
//! times back to back; p50 / p90 of its wall time and the mean CPU time of the process per
//! record (every thread, the committer's included). Warm caches: in a request, after the
//! network's wait, the same work takes several times longer (docs/benchmarks.md).
//! Run: `cargo bench --bench audit_path` (20,000 per case; under `cargo test --benches`, 200;
//! without `/dev/shm`, the temporary directory, whose syncs then count).

use std::time::{Duration, Instant};

use tgate::audit::{AuditLog, Channel, Entry};
use tgate::command::Command;
use tgate::lex::{Program, lex_str};
use tgate::policy::{Caller, Context, Policy, PolicySet};

fn cpu() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID).unwrap();
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

fn main() {
    let n = if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        200
    };
    let line = "temporal workflow describe -w bench -o json";
    let policies = PolicySet::new(vec![Policy::builtin(&Context::default()).unwrap()]);
    let argv = lex_str(line, &Program::default()).unwrap();
    let cmd = Command::parse(&argv).unwrap();
    let ev = policies.evaluate(&cmd, &Caller::new("agent"), false);
    let entry = Entry::decision(&ev, line.to_owned(), "agent", Channel::Http);
    let dir = match std::path::Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm").unwrap(),
        false => {
            eprintln!("no /dev/shm: the log is in the temporary directory, its syncs count");
            tempfile::tempdir().unwrap()
        }
    };
    let log = AuditLog::open(
        &dir.path().join("a.jsonl"),
        tgate::audit::log::DEFAULT_MAX_FILE_BYTES,
    )
    .unwrap();
    log.append(&entry).unwrap();

    let case = |name: &str, f: &mut dyn FnMut() -> Option<Box<dyn FnOnce()>>| {
        let mut walls = Vec::with_capacity(n);
        let c0 = cpu();
        for _ in 0..n {
            let t = Instant::now();
            let p = f();
            walls.push(t.elapsed());
            if let Some(finish) = p {
                finish();
            }
        }
        let per = (cpu() - c0) / n as u32;
        walls.sort();
        println!(
            "{name:40} wall p50 {:>6.1} µs  p90 {:>6.1} µs  CPU/op {:>6.1} µs",
            walls[n / 2].as_secs_f64() * 1e6,
            walls[n * 9 / 10].as_secs_f64() * 1e6,
            per.as_secs_f64() * 1e6
        );
    };
    case("entry clone + members()", &mut || {
        std::hint::black_box(entry.clone().members().unwrap());
        None
    });
    case("append (this thread writes, tmpfs)", &mut || {
        log.append(&entry).unwrap();
        None
    });
    case("submit + wait (committer writes)", &mut || {
        log.submit(&entry).unwrap().wait().unwrap();
        None
    });
    case("write_now + sync (this thread)", &mut || {
        log.write_now(&entry).unwrap().sync().unwrap();
        None
    });
    case("submit only (wait after)", &mut || {
        let pending = log.submit(&entry).unwrap();
        Some(Box::new(move || drop(pending.wait().unwrap())))
    });
    case("write_now only (sync after)", &mut || {
        let written = log.write_now(&entry).unwrap();
        Some(Box::new(move || drop(written.sync().unwrap())))
    });
}
