//! Lex + parse of typical agent command lines (target: median ≤ 5 µs each).
//! Run: `cargo bench --bench parse`. Figures: docs/benchmarks.md.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use tgate::command::Command;
use tgate::lex::{Program, lex_str};

const LINES: &[(&str, &str)] = &[
    ("workflow_list", "temporal workflow list -n prod --limit 20"),
    (
        "workflow_list_query",
        r#"temporal workflow list --namespace prod --query 'WorkflowType = "PaymentWorkflow" AND ExecutionStatus = "Running"' -o json"#,
    ),
    (
        "workflow_describe",
        "temporal workflow describe -w order-42 -r 0b8f1c2d -n payments",
    ),
    (
        "workflow_show",
        "temporal workflow show --workflow-id order-42 --namespace payments --output jsonl",
    ),
    (
        "task_queue_describe",
        "temporal task-queue describe -t payments --task-queue-type workflow -n prod",
    ),
    (
        "workflow_terminate",
        "temporal workflow terminate -w order-42 --reason 'INC-1234 stuck payment' -n prod",
    ),
    (
        "flags_before_names",
        "temporal -n prod -o json workflow list --limit 5",
    ),
];

fn bench(c: &mut Criterion) {
    let program = Program::default();
    let mut group = c.benchmark_group("lex_parse");
    for (name, line) in LINES {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let argv = lex_str(black_box(line), &program).unwrap();
                Command::parse(&argv).unwrap()
            })
        });
    }
    group.finish();
    let argv = lex_str(LINES[2].1, &program).unwrap();
    c.bench_function("parse_only/workflow_describe", |b| {
        b.iter(|| Command::parse(black_box(&argv)).unwrap())
    });
    let cmd = Command::parse(&argv).unwrap();
    c.bench_function("render/workflow_describe", |b| {
        b.iter(|| black_box(&cmd).render())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
