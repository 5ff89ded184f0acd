//! Inside a long-running tgate: a guarded `workflow describe -o json` over a warm gRPC channel
//! (lex, parse, decide, call, render; then with the two durable audit records, in the orders a
//! long-running tgate may make them durable, on disk and on tmpfs) against the raw tonic call it
//! makes. Target: tgate's own overhead ≤ 100 µs over the
//! raw call. Starts its own `temporal server start-dev` on a free loopback port with the test
//! harness (the pinned CLI from `TGATE_TEMPORAL_BIN` or `.tools/`).
//! Run: `cargo bench --bench grpc`. Figures: docs/benchmarks.md.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use temporalio_protos::protos::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
use tgate::command::Command;
use tgate::exec::grpc::{Native, Session};
use tgate::lex::{Program, lex_str};
use tgate::policy::{Caller, Context, Policy, PolicySet};

fn bench(c: &mut Criterion) {
    let (server, integration) = common::bench::server_with_bench_workflow();
    let address = server.address.clone();
    let ctx = Context::default();
    let policies = PolicySet::new(vec![Policy::builtin(&ctx).unwrap()]);
    let caller = Caller::new("agent");
    let program = Program::default();
    let mut session =
        Session::connect(&integration, &tgate::connect::Limits::default()).expect("connect");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut raw = runtime.block_on(async {
        WorkflowServiceClient::new(
            tonic::transport::Endpoint::from_shared(format!("http://{address}"))
                .unwrap()
                .connect()
                .await
                .unwrap(),
        )
    });

    let mut group = c.benchmark_group("describe_warm");
    group.sample_size(200);
    group.bench_function("raw_tonic_call", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let req = common::bench::describe_bench();
                black_box(raw.describe_workflow_execution(req).await.unwrap())
            })
        })
    });
    group.bench_function("raw_tonic_call_cli_headers", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let req = common::bench::describe_bench_with_cli_headers();
                black_box(raw.describe_workflow_execution(req).await.unwrap())
            })
        })
    });
    // The protojson renderer alone, on the response of the call above.
    let response = runtime.block_on(async {
        let req = common::bench::describe_bench();
        prost::Message::encode_to_vec(
            &raw.describe_workflow_execution(req)
                .await
                .unwrap()
                .into_inner(),
        )
    });
    group.bench_function("render_only", |b| {
        let opts = tgate::exec::protojson::Options {
            indent: true,
            shorthand: true,
        };
        b.iter(|| {
            black_box(
                tgate::exec::protojson::render(
                    "temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse",
                    &response,
                    opts,
                )
                .unwrap(),
            )
        })
    });
    // The check every native read makes before printing: nothing in the response that the
    // schema tables lack (the type's name is looked up as the executor looks it up).
    group.bench_function("unknown_check_only", |b| {
        b.iter(|| {
            let name = <temporalio_protos::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionResponse as prost::Name>::full_name();
            let found = tgate::exec::protojson::unknown_value(&name, &response).unwrap();
            assert!(found.is_none());
            black_box(found)
        })
    });
    let limits = tgate::connect::Limits::default();
    group.bench_function("tgate_guarded", |b| {
        b.iter(|| {
            let argv = lex_str("temporal workflow describe -w bench -o json", &program).unwrap();
            let cmd = Command::parse(&argv).unwrap();
            let ev = policies.evaluate(&cmd, &caller, false);
            let effective = ev.effective.expect("allowed");
            let mut out = Vec::with_capacity(4096);
            let mut decided = tgate::audit::Barrier::passed();
            let status = describe(&mut session, &effective, &limits, &mut decided, &mut out);
            black_box((out, status))
        })
    });
    // The same, with what a long-running tgate also does per request: a decision record and a
    // result record, each made durable (`fdatasync`) by the audit log. The decision record is
    // written before the request and synced on this thread while the read's request is on its
    // way (`AuditLog::write_now`; the executor's barrier shows nothing before it is on disk; a
    // write would wait for it before sending); the result record is durable before the answer.
    // Cases: on the disk that holds the temporary directory; the same with the decision durable
    // before the request is sent (as for a write); the same answering first (the time ends at
    // the answer; the result record is then written and synced, before the next request); and
    // on tmpfs (`/dev/shm`, where a sync returns at once), which leaves tgate's own audit work
    // (encoding, hashing, the writes) without the disk's wait.
    #[derive(Clone, Copy, PartialEq)]
    enum Order {
        Overlapped,
        DecisionFirst,
        AnswerFirst,
    }
    let disk = tempfile::tempdir().unwrap();
    let shm = std::path::Path::new("/dev/shm");
    let tmpfs = shm
        .is_dir()
        .then(|| tempfile::tempdir_in(shm).unwrap().keep());
    let cases = [
        (
            "tgate_guarded_audited",
            Some(disk.path().join("a")),
            Order::Overlapped,
        ),
        (
            "tgate_guarded_audited_decision_first",
            Some(disk.path().join("b")),
            Order::DecisionFirst,
        ),
        (
            "tgate_guarded_audited_answer_first",
            Some(disk.path().join("c")),
            Order::AnswerFirst,
        ),
        (
            "tgate_guarded_audited_tmpfs",
            tmpfs.clone(),
            Order::Overlapped,
        ),
    ];
    for (name, dir, order) in cases {
        let Some(dir) = dir else {
            eprintln!("{name}: not measured, there is no /dev/shm here");
            continue;
        };
        let log = tgate::audit::AuditLog::open(
            &dir.join("audit.jsonl"),
            tgate::audit::log::DEFAULT_MAX_FILE_BYTES,
        )
        .unwrap();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut taken = std::time::Duration::ZERO;
                for _ in 0..iters {
                    use tgate::audit::{Barrier, Channel, Entry};
                    let began = std::time::Instant::now();
                    let line = "temporal workflow describe -w bench -o json";
                    let argv = lex_str(line, &program).unwrap();
                    let cmd = Command::parse(&argv).unwrap();
                    let ev = policies.evaluate(&cmd, &caller, false);
                    let decision = Entry::decision(&ev, line.to_owned(), "agent", Channel::Http);
                    let mut decided = match order {
                        Order::DecisionFirst => {
                            log.append(&decision).unwrap();
                            Barrier::passed()
                        }
                        _ => Barrier::until_synced(log.write_now(&decision).unwrap()),
                    };
                    let effective = ev.effective.expect("allowed");
                    let mut out = Vec::with_capacity(4096);
                    let start = std::time::Instant::now();
                    let grpc_status =
                        describe(&mut session, &effective, &limits, &mut decided, &mut out);
                    assert!(decided.is_passed());
                    let answered = began.elapsed();
                    let result =
                        common::bench::result_entry(decision, grpc_status, start.elapsed(), &out);
                    if order == Order::AnswerFirst {
                        // Answered: the result record is written and synced after.
                        taken += answered;
                        log.append(&result).unwrap();
                    } else {
                        log.append(&result).unwrap();
                        taken += began.elapsed();
                    }
                    black_box(out);
                }
                taken
            })
        });
    }
    if let Some(dir) = tmpfs {
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();
}

/// Runs the guarded describe natively into `out`; its gRPC status (it must succeed).
fn describe(
    session: &mut Session,
    cmd: &Command,
    limits: &tgate::connect::Limits,
    decided: &mut tgate::audit::Barrier,
    out: &mut Vec<u8>,
) -> Option<&'static str> {
    let mut err = Vec::new();
    match session.run(cmd, "tgate:bench", limits, decided, out, &mut err) {
        Native::Ran {
            exit_code: 0,
            grpc_status,
        } => grpc_status,
        other => panic!("{other:?}: {}", String::from_utf8_lossy(&err)),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
