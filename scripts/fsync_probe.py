#!/usr/bin/env python3
"""What the disk allows the audit log: appends of one group-commit batch (64 records of ~600 bytes,
38 KB) each followed by fdatasync, as fast as the disk takes them. Reports syncs/s and the p50/p99
latency of one append + sync; 64 × syncs/s bounds durable records/s with 64 writers.

Usage: scripts/fsync_probe.py [N] [BYTES]   (default 2000 batches of 38,400 bytes; in TMPDIR,
default /tmp). With BYTES ~400, one record's append + sync, as a lone request pays it.
"""
import os
import sys
import tempfile
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
size = int(sys.argv[2]) if len(sys.argv) > 2 else 38_400
batch = b"x" * (size - 1) + b"\n"
fd, path = tempfile.mkstemp(prefix="tgate-fsync-probe-")
try:
    os.close(fd)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    latencies = []
    start = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        os.write(fd, batch)
        os.fdatasync(fd)
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - start
    os.close(fd)
finally:
    os.remove(path)
latencies.sort()
print(f"{n} appends of {size:,} bytes + fdatasync: {n / elapsed:,.0f} syncs/s, "
      f"p50 {latencies[n // 2] * 1e3:.2f} ms, p99 {latencies[int(n * 0.99)] * 1e3:.2f} ms"
      + (f" (ceiling with 64 writers: {64 * n / elapsed:,.0f} records/s)" if size == 38_400 else ""))
