#!/usr/bin/env python3
"""A/B of two tgate builds on one command line of tgate's own, with no dev server of its own:
`tgate check ...` (no network, no audit), or `tgate run --config CFG -- ...` against a server
and an audit log the caller set up. The two builds take turns, run by run, so that they share
the machine's conditions; prints each one's median wall time.

Usage: scripts/bench_ab.py N OLD_TGATE NEW_TGATE TGATE_ARGS...
   e.g. scripts/bench_ab.py 600 /tmp/old /tmp/new check "temporal workflow describe -w bench"
"""
import statistics, subprocess, sys, time

if len(sys.argv) < 5:
    sys.exit(__doc__)
n, builds, args = int(sys.argv[1]), sys.argv[2:4], sys.argv[4:]
walls = {b: [] for b in builds}
for _ in range(n):
    for b in builds:
        t = time.perf_counter()
        p = subprocess.run([b] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        walls[b].append((time.perf_counter() - t) * 1000)
        if p.returncode not in (0, 3):
            sys.exit(f"{b} exited {p.returncode}: {p.stderr.decode()[:300]}")
for label, b in zip("AB", builds):
    print(f"{label} {b:40} median {statistics.median(walls[b]):6.2f} ms")
