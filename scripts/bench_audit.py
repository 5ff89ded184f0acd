#!/usr/bin/env python3
"""Audit log throughput and export speed (make bench-audit).

1. Durable appends: `tgate audit stress` with 64 writer threads (group commit: one write and one
   fdatasync per batch), and with 1 thread for contrast (one fdatasync per record). Each run
   reports records/s and the p50/p99 latency of one append (from call to durable).
2. Export: a 1,000,000-record log (written by `tgate audit stress`, rotated at the default 64 MiB)
   exported as JSON Lines, CSV and OCSF to /dev/null, and verified; wall-clock times.

Usage: scripts/bench_audit.py [RECORDS_FOR_EXPORT]   Needs: a release build (`make release`; TGATE_BIN names another).
The logs go to a temporary directory on the same file system as /tmp (set TMPDIR to measure
another disk).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import release_binary

TGATE = release_binary("TGATE_BIN", "tgate")
EXPORT_RECORDS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def stress(path, threads, records):
    out = subprocess.run([TGATE, "audit", "stress", path, "--threads", str(threads),
                          "--records", str(records)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed(argv):
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        subprocess.run(argv, check=True, stdout=null)
    return time.perf_counter() - start


def main():
    work = tempfile.mkdtemp(prefix="tgate-bench-audit-")
    try:
        print("| writers | records | records/s | p50 append | p99 append |")
        print("|---|---|---|---|---|")
        for threads, per in [(64, 4000), (64, 4000), (64, 4000), (1, 3000)]:
            path = os.path.join(work, f"w{threads}-{time.monotonic_ns()}", "audit.jsonl")
            r = stress(path, threads, per)
            print(f"| {threads} | {r['records']:,} | {r['records_per_second']:,.0f} | "
                  f"{r['p50_us'] / 1000:.2f} ms | {r['p99_us'] / 1000:.2f} ms |", flush=True)

        path = os.path.join(work, "export", "audit.jsonl")
        threads = 64
        r = stress(path, threads, EXPORT_RECORDS // threads)
        total = r["records"]
        size = sum(os.path.getsize(os.path.join(os.path.dirname(path), f))
                   for f in os.listdir(os.path.dirname(path)) if not f.endswith(".lock"))
        print(f"\nexport of {total:,} records ({size / 2**20:.0f} MiB in "
              f"{len(os.listdir(os.path.dirname(path))) - 1} files; written at "
              f"{r['records_per_second']:,.0f} records/s):\n")
        print("| command | seconds |")
        print("|---|---|")
        for label, argv in [
            ("export --format jsonl", [TGATE, "audit", "export", path, "--format", "jsonl"]),
            ("export --format csv", [TGATE, "audit", "export", path, "--format", "csv"]),
            ("export --format ocsf", [TGATE, "audit", "export", path, "--format", "ocsf"]),
            ("export --caller stress-7 (filtered)", [TGATE, "audit", "export", path, "--caller", "stress-7"]),
            ("verify", [TGATE, "audit", "verify", path]),
        ]:
            best = min(timed(argv) for _ in range(3))
            print(f"| `tgate audit {label}` | {best:.2f} |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
