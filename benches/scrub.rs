//! The scrubber `tgate run` puts between a command's output and the caller when the integration
//! has an API key (`audit::redact::Scrubber`): 4 MiB of `workflow list -o json`-like output
//! written in 64 KiB chunks, without a key (bytes pass straight through), with a key the output
//! never holds, and with one it holds every ~10 KiB. Run: `cargo bench --bench scrub`. Figures:
//! docs/benchmarks.md.

use std::io::Write as _;

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use tgate::audit::redact::Scrubber;

/// `workflow list -o json`-like text of about `bytes`, with `key` inside every `every` records.
fn output(bytes: usize, key: Option<&str>, every: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 1024);
    let mut i = 0;
    while out.len() < bytes {
        let memo = match key {
            Some(k) if i % every == 0 => k,
            _ => "nothing to see",
        };
        out.extend_from_slice(
            format!(
                "  {{\n    \"execution\": {{\"workflowId\": \"order-{i}\", \"runId\": \"0193a1b2-c3d4-7e5f-8a9b-{i:012}\"}},\n    \"type\": {{\"name\": \"PaymentWorkflow\"}},\n    \"startTime\": \"2026-12-02T10:00:00.123456Z\",\n    \"status\": \"WORKFLOW_EXECUTION_STATUS_RUNNING\",\n    \"memo\": {{\"fields\": {{\"note\": \"{memo}\"}}}},\n    \"taskQueue\": \"payments\"\n  }},\n"
            )
            .as_bytes(),
        );
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    const KEY: &str = "tgk-8f14e45fceea167a5a36dedd4bea2543-0123456789abcdef";
    let mut group = c.benchmark_group("scrub_4mib");
    let cases = [
        ("no_key", output(4 << 20, None, 1), Vec::new()),
        ("key_absent", output(4 << 20, None, 1), vec![KEY.to_owned()]),
        (
            "key_every_10kib",
            output(4 << 20, Some(KEY), 30),
            vec![KEY.to_owned()],
        ),
    ];
    for (name, text, secrets) in &cases {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(*name, |b| {
            let mut sink = Vec::with_capacity(text.len() + 4096);
            b.iter(|| {
                sink.clear();
                let mut s = Scrubber::new(&mut sink, secrets);
                for chunk in text.chunks(64 * 1024) {
                    s.write_all(chunk).unwrap();
                }
                s.finish().unwrap();
                drop(s);
                black_box(sink.len());
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
