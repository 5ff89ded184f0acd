//! Parse + decide against a 200-rule policy (target: median ≤ 10 µs), and lint of a 1,000-rule
//! policy file (target: under 100 ms). Run: `cargo bench --bench policy`. Figures:
//! docs/benchmarks.md.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use tgate::command::Command;
use tgate::lex::{Program, lex_str};
use tgate::policy::{Caller, Context, Policy, PolicySet, lint};

/// A policy of `n` rules of realistic shapes: per-team namespaces, command groups, classes,
/// flag regexes and sets, callers and groups, obligations. The last rules are the ones that match.
fn policy_text(n: usize) -> String {
    let mut s = String::from("version: 1\nnamespaces: [\"team-*\", payments, orders]\nrules:\n");
    let shapes = [
        "{id: r%, decision: allow, reason: r, when: {commands: [workflow list, workflow describe], namespaces: [team-%]}, obligations: {max_limit: 100}}",
        "{id: r%, decision: require_approval, reason: r, when: {commands: [workflow signal], namespaces: [team-%], flags: {name: {in: [a%, b%]}}}}",
        "{id: r%, decision: deny, reason: r, when: {commands: ['schedule *'], callers: ['bot-%'], namespaces: [team-%]}}",
        "{id: r%, decision: allow, reason: r, when: {classes: [read], groups: [g%], namespaces: ['team-%-*']}}",
        "{id: r%, decision: deny, reason: r, when: {commands: [workflow terminate], namespaces: [team-%], flags: {reason: {not_matches: '^INC-%[0-9]+'}}}}",
    ];
    for i in 0..n.saturating_sub(3) {
        s.push_str("  - ");
        s.push_str(&shapes[i % shapes.len()].replace('%', &i.to_string()));
        s.push('\n');
    }
    s.push_str("  - {id: reads, decision: allow, reason: r, when: {classes: [read], namespaces: [payments]}, obligations: {max_limit: 500}}\n");
    s.push_str("  - {id: signals, decision: require_approval, reason: r, when: {commands: [workflow signal], flags: {workflow-id: {matches: '^pay-'}}}}\n");
    s.push_str("  - {id: no-batch, decision: deny, reason: r, when: {batch: true}}\n");
    s
}

fn bench(c: &mut Criterion) {
    let ctx = Context::default();
    let text = policy_text(200);
    let set = PolicySet::new(vec![Policy::load(&text, "bench.yaml", &ctx).unwrap()]);
    let caller = Caller::new("agent");
    let program = Program::default();
    let mut group = c.benchmark_group("decide_200_rules");
    for (name, line) in [
        (
            "read_allowed",
            "temporal workflow list -n payments --limit 20",
        ),
        (
            "signal_approval",
            "temporal workflow signal -w pay-42 -n payments --name retry",
        ),
        (
            "batch_denied",
            "temporal workflow terminate -q 'WorkflowType = \"X\"' -n payments --yes",
        ),
        (
            "namespace_denied",
            "temporal workflow describe -w a -n billing",
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let argv = lex_str(black_box(line), &program).unwrap();
                let cmd = Command::parse(&argv).unwrap();
                set.evaluate(&cmd, &caller, false)
            })
        });
    }
    group.finish();

    let big = policy_text(1000);
    let mut group = c.benchmark_group("lint");
    group.sample_size(10);
    group.bench_function("1000_rules", |b| {
        b.iter(|| lint(black_box(&big), "big.yaml", &ctx))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
