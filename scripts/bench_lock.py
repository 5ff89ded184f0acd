#!/usr/bin/env python3
"""Several processes sharing one audit log (they take turns on its file lock): records/s of
`tgate audit stress` processes started together on one new log, P processes of T writer threads
with R records each, median of N rounds. With `--ab OLD NEW`, two tgate binaries take turns
(for comparing a change to the lock).

Usage: scripts/bench_lock.py [N] [P T R] [--ab OLD NEW]   (default 6 rounds, 4 8 500;
needs target/release/tgate, or the two binaries)
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def round_of(tgate, procs, threads, records):
    work = tempfile.mkdtemp(prefix="tgate-bench-lock-")
    try:
        path = os.path.join(work, "audit.jsonl")
        start = time.perf_counter()
        ps = [subprocess.Popen([tgate, "audit", "stress", path, "--threads", str(threads),
                                "--records", str(records)], stdout=subprocess.DEVNULL)
              for _ in range(procs)]
        for p in ps:
            if p.wait() != 0:
                sys.exit(f"{tgate} audit stress failed ({p.returncode})")
        elapsed = time.perf_counter() - start
        if subprocess.run([tgate, "audit", "verify", path], stdout=subprocess.DEVNULL).returncode != 0:
            sys.exit(f"{tgate}: the shared log does not verify")
        return procs * threads * records / elapsed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    args = sys.argv[1:]
    bins = {"tgate": os.path.join(ROOT, "target/release/tgate")}
    if "--ab" in args:
        i = args.index("--ab")
        bins = {"old": args[i + 1], "new": args[i + 2]}
        del args[i:i + 3]
    n = int(args[0]) if args else 6
    procs, threads, records = (int(a) for a in args[1:4]) if len(args) >= 4 else (4, 8, 500)
    rates = {name: [] for name in bins}
    for r in range(n):
        order = list(bins.items()) if r % 2 == 0 else list(reversed(bins.items()))
        for name, tgate in order:
            rates[name].append(round_of(tgate, procs, threads, records))
    print(f"{procs} processes x {threads} writers x {records} records on one log, {n} rounds")
    for name, v in rates.items():
        print(f"{name:6} median {statistics.median(v):8,.0f} records/s  ({', '.join(f'{x:,.0f}' for x in v)})")


if __name__ == "__main__":
    main()
