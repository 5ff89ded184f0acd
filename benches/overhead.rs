//! tgate's own overhead inside a long-running tgate, measured against the raw tonic call it
//! makes, in time and in CPU: each round runs, in a rotating order, the raw
//! `DescribeWorkflowExecution` call with the CLI's headers, the guarded `workflow describe -o
//! json` (lex, parse, decide, the call, the check and render), and the same with both audit
//! records: the decision record written on the request's thread and synced there once the
//! request is out (`AuditLog::write_now`, `tgate run`'s way for a read), the result record
//! durable before the answer (`tgate run`: its exit code follows it), on the disk and on tmpfs;
//! on the disk answering first (the result record written and synced right after the answer,
//! what a server does: only the decision record must precede what the command does); and on
//! the disk with the decision record handed to the committer thread (`AuditLog::submit`,
//! `tgate run`'s way for a write). For each case: the p50 and p90 of its wall time (to the
//! answer) and of the process's CPU time (`CLOCK_PROCESS_CPUTIME_ID`: every thread of
//! tgate's, the audit log's committer included, and none of the dev server's, a separate
//! process; the result record's work counted even after the answer), and the median of its
//! paired difference with the raw call of the same round. The CPU difference is tgate's own
//! work whatever the dev server's latency does; the wall difference adds the waits (the
//! disk's sync). Starts its own dev server (the pinned CLI from `TGATE_TEMPORAL_BIN` or
//! `.tools/`). Run: `cargo bench --bench overhead` (3,000 rounds; `ROUNDS=N` to change; under
//! `cargo test --benches`, 20, as a smoke test). Figures: docs/benchmarks.md.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use temporalio_protos::protos::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
use tgate::audit::{AuditLog, Barrier, Channel, Entry};
use tgate::command::Command;
use tgate::connect::Limits;
use tgate::exec::grpc::{Native, Session};
use tgate::lex::{Program, lex_str};
use tgate::policy::{Caller, Context, Policy, PolicySet};

const LINE: &str = "temporal workflow describe -w bench -o json";

/// The CPU time of the whole process so far.
fn cpu() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID)
        .expect("the process's CPU clock");
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

/// How a guarded request records itself.
#[derive(Clone, Copy, PartialEq)]
enum Audit {
    /// No records.
    None,
    /// Both records, the decision record synced while the read's request is out, the result
    /// record durable before the answer (`tgate run`'s order for a read).
    Durable,
    /// The same, answering before the result record is written: the result record is then
    /// written and synced by the same thread (what a server does: only the decision record
    /// must be durable before the command runs, docs/audit.md).
    AnswerFirst,
}

fn main() {
    let rounds = match std::env::var("ROUNDS") {
        Ok(n) => n.parse().expect("ROUNDS is a number"),
        Err(_) if std::env::args().any(|a| a == "--bench") => 3_000,
        Err(_) => 20,
    };
    let (server, integration) = common::bench::server_with_bench_workflow();
    let policies = PolicySet::new(vec![Policy::builtin(&Context::default()).unwrap()]);
    let caller = Caller::new("agent");
    let program = Program::default();
    let limits = Limits::default();
    let mut session = Session::connect(&integration, &limits).expect("connect");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let address = server.address.clone();
    let mut raw = runtime.block_on(async {
        WorkflowServiceClient::new(
            tonic::transport::Endpoint::from_shared(format!("http://{address}"))
                .unwrap()
                .connect()
                .await
                .unwrap(),
        )
    });

    let disk = tempfile::tempdir().unwrap();
    let shm = std::path::Path::new("/dev/shm");
    let tmpfs = shm.is_dir().then(|| tempfile::tempdir_in(shm).unwrap());
    let open = |dir: &std::path::Path| {
        AuditLog::open(
            &dir.join("audit.jsonl"),
            tgate::audit::log::DEFAULT_MAX_FILE_BYTES,
        )
        .unwrap()
    };
    let on_disk = open(disk.path());
    let answer_first = open(&disk.path().join("answer-first"));
    let on_tmpfs = tmpfs.as_ref().map(|d| open(d.path()));
    if on_tmpfs.is_none() {
        eprintln!("tmpfs: not measured, there is no /dev/shm here");
    }

    // `committer`: the decision record is handed to the committer thread, which writes and
    // syncs it (`tgate run`'s way for a write, and for every command before `write_now`);
    // otherwise it is written on this thread and synced there once the request is out.
    let mut guarded = |log: Option<&AuditLog>, audit: Audit, committer: bool| {
        let argv = lex_str(LINE, &program).unwrap();
        let cmd = Command::parse(&argv).unwrap();
        let ev = policies.evaluate(&cmd, &caller, false);
        let decision = log.map(|_| Entry::decision(&ev, LINE.to_owned(), "agent", Channel::Http));
        let mut decided = match (log, &decision) {
            (Some(log), Some(d)) if committer => Barrier::until(log.submit(d).unwrap()),
            (Some(log), Some(d)) => Barrier::until_synced(log.write_now(d).unwrap()),
            _ => Barrier::passed(),
        };
        let effective = ev.effective.expect("allowed");
        let (mut out, mut err) = (Vec::with_capacity(4096), Vec::new());
        let start = Instant::now();
        let ran = session.run(
            &effective,
            "tgate:bench",
            &limits,
            &mut decided,
            &mut out,
            &mut err,
        );
        let Native::Ran {
            exit_code: 0,
            grpc_status,
        } = ran
        else {
            panic!("{ran:?}: {}", common::text(&err));
        };
        assert!(out.starts_with(b"{"), "{}", common::text(&out));
        // The answer is ready: a server answering first would send it now.
        let answered = Instant::now();
        if let (Some(log), Some(decision)) = (log, decision) {
            let result = common::bench::result_entry(decision, grpc_status, start.elapsed(), &out);
            log.append(&result).unwrap();
            if audit == Audit::AnswerFirst {
                std::hint::black_box(out);
                return Some(answered);
            }
        }
        std::hint::black_box(out);
        None
    };
    let mut raw_call = || {
        runtime.block_on(async {
            let req = common::bench::describe_bench_with_cli_headers();
            std::hint::black_box(raw.describe_workflow_execution(req).await.unwrap());
        })
    };
    let names = [
        "raw tonic call, CLI headers",
        "guarded, no audit",
        "guarded, audited on disk",
        "guarded, audited on tmpfs",
        "guarded, on disk, answer first",
        "guarded, on disk, committer",
    ];
    // Without tmpfs, its case is left out of the rotation.
    let measured: Vec<usize> = (0..names.len())
        .filter(|&case| case != 3 || on_tmpfs.is_some())
        .collect();
    // [case][round] = (wall, cpu)
    let mut taken: Vec<Vec<(Duration, Duration)>> = (0..names.len())
        .map(|_| Vec::with_capacity(rounds))
        .collect();
    for round in 0..rounds {
        for k in 0..measured.len() {
            let case = measured[(round + k) % measured.len()];
            let (t, c) = (Instant::now(), cpu());
            let answered = match case {
                0 => {
                    raw_call();
                    None
                }
                1 => guarded(None, Audit::None, false),
                2 => guarded(Some(&on_disk), Audit::Durable, false),
                3 => guarded(on_tmpfs.as_ref(), Audit::Durable, false),
                4 => guarded(Some(&answer_first), Audit::AnswerFirst, false),
                _ => guarded(Some(&on_disk), Audit::Durable, true),
            };
            // Answering first, the wall time ends at the answer; the CPU time still counts the
            // result record's write and sync made after it.
            let wall = answered.unwrap_or_else(Instant::now) - t;
            taken[case].push((wall, cpu() - c));
        }
    }
    let us = |d: f64| format!("{:.0}", d * 1e6);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[(v.len() * 9 / 10).min(v.len() - 1)])
    };
    println!(
        "{rounds} rounds; µs: wall p50 / p90, CPU p50 / p90, median paired difference with the raw call (wall, CPU)"
    );
    for (case, name) in names.iter().enumerate() {
        if taken[case].is_empty() {
            continue;
        }
        let wall = median(taken[case].iter().map(|t| t.0.as_secs_f64()).collect());
        let cpu = median(taken[case].iter().map(|t| t.1.as_secs_f64()).collect());
        let paired = |f: fn(&(Duration, Duration)) -> Duration| {
            median(
                taken[case]
                    .iter()
                    .zip(&taken[0])
                    .map(|(a, b)| f(a).as_secs_f64() - f(b).as_secs_f64())
                    .collect(),
            )
            .0
        };
        println!(
            "{name:32} wall {:>5} / {:>5}  CPU {:>4} / {:>4}  over raw: wall {:>+4}, CPU {:>+4}",
            us(wall.0),
            us(wall.1),
            us(cpu.0),
            us(cpu.1),
            us(paired(|t| t.0)),
            us(paired(|t| t.1)),
        );
    }
}
