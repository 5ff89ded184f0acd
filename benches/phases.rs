//! Where a long-running tgate's request spends its time, phase by phase, in three orders of the
//! audit records: none, the decision record durable before the request ("first", a write's
//! order), and the decision record syncing while the read's request is out ("overlap", what
//! `tgate run` does for a read); the result record durable after the call in both audited
//! orders. Prints the p50 and p90 of each phase over back-to-back requests: decide + decision
//! record, the call (with its output held until the record is durable), the result record.
//! Starts its own dev server (the pinned CLI from `TGATE_TEMPORAL_BIN` or `.tools/`).
//! Run: `cargo bench --bench phases` (2,000 requests per order; under `cargo test --benches`, 20,
//! as a smoke test). Figures: docs/benchmarks.md.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use tgate::audit::{AuditLog, Barrier, Channel, Entry, Kind};
use tgate::command::Command;
use tgate::connect::Limits;
use tgate::exec::grpc::{Native, Session};
use tgate::lex::{Program, lex_str};
use tgate::policy::{Caller, Context, Policy, PolicySet};

#[derive(Clone, Copy, PartialEq)]
enum Order {
    None,
    First,
    Overlap,
}

fn main() {
    let requests = if std::env::args().any(|a| a == "--bench") {
        2_000
    } else {
        20
    };
    let (_server, integration) = common::bench::server_with_bench_workflow();
    let policies = PolicySet::new(vec![Policy::builtin(&Context::default()).unwrap()]);
    let caller = Caller::new("agent");
    let program = Program::default();
    let limits = Limits::default();
    let mut session =
        Session::connect(&integration, &tgate::connect::Limits::default()).expect("connect");
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(
        &dir.path().join("audit.jsonl"),
        tgate::audit::log::DEFAULT_MAX_FILE_BYTES,
    )
    .unwrap();
    let line = "temporal workflow describe -w bench -o json";
    for (name, order) in [
        ("none", Order::None),
        ("first", Order::First),
        ("overlap", Order::Overlap),
    ] {
        let mut phases: [Vec<Duration>; 4] = Default::default();
        for _ in 0..requests {
            let t0 = Instant::now();
            let cmd = Command::parse(&lex_str(line, &program).unwrap()).unwrap();
            let ev = policies.evaluate(&cmd, &caller, false);
            let decision = Entry::decision(&ev, line.to_owned(), "agent", Channel::Http);
            let mut decided = match order {
                Order::None => Barrier::passed(),
                Order::First => {
                    log.append(&decision).unwrap();
                    Barrier::passed()
                }
                Order::Overlap => Barrier::until_synced(log.write_now(&decision).unwrap()),
            };
            let t1 = Instant::now();
            let effective = ev.effective.expect("allowed");
            let (mut out, mut err) = (Vec::with_capacity(4096), Vec::new());
            let ran = session.run(
                &effective,
                "tgate:bench",
                &limits,
                &mut decided,
                &mut out,
                &mut err,
            );
            assert!(
                matches!(ran, Native::Ran { exit_code: 0, .. }),
                "{ran:?}: {}",
                common::text(&err)
            );
            let t2 = Instant::now();
            if order != Order::None {
                log.append(&Entry {
                    kind: Kind::Result,
                    ..decision
                })
                .unwrap();
            }
            let t3 = Instant::now();
            for (phase, d) in phases.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2, t3 - t0]) {
                phase.push(d);
            }
        }
        let shown: Vec<String> = ["decide + decision record", "call", "result record", "all"]
            .iter()
            .zip(phases.iter_mut())
            .map(|(phase, v)| {
                v.sort();
                let at = |q: usize| v[(v.len() * q / 100).min(v.len() - 1)].as_micros();
                format!("{phase} p50 {} p90 {} µs", at(50), at(90))
            })
            .collect();
        println!("{name:8} {}", shown.join(" | "));
    }
}
