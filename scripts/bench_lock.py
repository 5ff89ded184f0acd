#!/usr/bin/env python3
"""Several processes sharing one audit log (they take turns on its file lock): records/s of
`tgate audit stress` processes started together on one new log, P processes of T writer threads
with R records each, median of N rounds, and the longest single append (call to durable) any
writer saw in any round. With `--ab OLD NEW`, two tgate binaries take turns
(for comparing a change to the lock).

Usage: scripts/bench_lock.py [N] [P T R] [--ab OLD NEW]   (default 6 rounds, 4 8 500;
needs a release build, `make release`, or TGATE_BIN naming another, or the two binaries)
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

from benchlib import release_binary



def round_of(tgate, procs, threads, records):
    work = tempfile.mkdtemp(prefix="tgate-bench-lock-")
    try:
        path = os.path.join(work, "audit.jsonl")
        start = time.perf_counter()
        ps = [subprocess.Popen([tgate, "audit", "stress", path, "--threads", str(threads),
                                "--records", str(records)], stdout=subprocess.PIPE, text=True)
              for _ in range(procs)]
        longest = 0.0
        for p in ps:
            out = p.communicate()[0]
            if p.returncode != 0:
                sys.exit(f"{tgate} audit stress failed ({p.returncode})")
            longest = max(longest, json.loads(out.strip().splitlines()[-1])["max_us"])
        elapsed = time.perf_counter() - start
        if subprocess.run([tgate, "audit", "verify", path], stdout=subprocess.DEVNULL).returncode != 0:
            sys.exit(f"{tgate}: the shared log does not verify")
        return procs * threads * records / elapsed, longest / 1000
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    args = sys.argv[1:]
    bins = {"tgate": release_binary("TGATE_BIN", "tgate")}
    if "--ab" in args:
        i = args.index("--ab")
        bins = {"old": args[i + 1], "new": args[i + 2]}
        del args[i:i + 3]
    n = int(args[0]) if args else 6
    procs, threads, records = (int(a) for a in args[1:4]) if len(args) >= 4 else (4, 8, 500)
    rates = {name: [] for name in bins}
    longest = {name: 0.0 for name in bins}
    for r in range(n):
        order = list(bins.items()) if r % 2 == 0 else list(reversed(bins.items()))
        for name, tgate in order:
            rate, ms = round_of(tgate, procs, threads, records)
            rates[name].append(rate)
            longest[name] = max(longest[name], ms)
    print(f"{procs} processes x {threads} writers x {records} records on one log, {n} rounds")
    for name, v in rates.items():
        print(f"{name:6} median {statistics.median(v):8,.0f} records/s  ({', '.join(f'{x:,.0f}' for x in v)}); "
              f"longest append {longest[name]:.1f} ms")


if __name__ == "__main__":
    main()
