#!/usr/bin/env python3
"""What the disk allows the audit log: appends of one group-commit batch (64 records of ~600 bytes,
38 KB) each followed by fdatasync, as fast as the disk takes them. Reports syncs/s and the p50/p99
latency of one append + sync; 64 × syncs/s bounds durable records/s with 64 writers.

Usage: scripts/fsync_probe.py [N] [BYTES] [--layouts]   (default 2000 batches of 38,400 bytes; in
TMPDIR, default /tmp). With BYTES ~400, one record's append + sync, as a lone request pays it.

--layouts: the same write + fdatasync in four file layouts, taking turns so that they share the
disk's conditions (N rounds, N × BYTES at most 8 MiB):
  append     O_APPEND: what tgate's audit log does (the size grows, so the journal commits it
             with the data);
  keep-size  into space reserved beyond the end (fallocate KEEP_SIZE): the size still grows;
  fallocate  pwrite into space allocated inside the file (the extent turns from unwritten to
             written; the size does not change);
  prezeroed  pwrite over zeros written and synced beforehand: the data alone.
The last two are the fastest a log could be (a preallocated, zero-filled segment, as some
databases keep their write-ahead log); tgate's log is the first.
"""
import ctypes
import os
import sys
import tempfile
import time

args = [a for a in sys.argv[1:] if a != "--layouts"]
layouts = len(args) < len(sys.argv) - 1
n = int(args[0]) if args else 2000
size = int(args[1]) if len(args) > 1 else 38_400
batch = b"x" * (size - 1) + b"\n"


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def probe():
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
          f"p50 {percentile(latencies, 0.5) * 1e3:.2f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1e3:.2f} ms"
          + (f" (ceiling with 64 writers: {64 * n / elapsed:,.0f} records/s)"
             if size == 38_400 else ""))


def compare_layouts():
    space = 8 << 20
    if n * size > space:
        sys.exit(f"--layouts: N × BYTES must be at most {space:,}")
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    names = ["append", "keep-size", "fallocate", "prezeroed"]
    fds, paths = {}, {}
    try:
        for name in names:
            fd, paths[name] = tempfile.mkstemp(prefix=f"tgate-fsync-probe-{name}-")
            os.close(fd)
            flags = os.O_RDWR | (os.O_APPEND if name in ("append", "keep-size") else 0)
            fd = fds[name] = os.open(paths[name], flags)
            if name == "keep-size":
                if libc.fallocate(fd, 1, ctypes.c_long(0), ctypes.c_long(space)) != 0:
                    raise OSError(ctypes.get_errno(), "fallocate(FALLOC_FL_KEEP_SIZE)")
            elif name == "fallocate":
                os.posix_fallocate(fd, 0, space)
            elif name == "prezeroed":
                os.write(fd, b"\0" * space)
            os.fsync(fd)
        latencies = {name: [] for name in names}
        for i in range(n):
            for name in names:
                fd = fds[name]
                t = time.perf_counter()
                if name in ("append", "keep-size"):
                    os.write(fd, batch)
                else:
                    os.pwrite(fd, batch, i * size)
                os.fdatasync(fd)
                latencies[name].append(time.perf_counter() - t)
    finally:
        for fd in fds.values():
            os.close(fd)
        for path in paths.values():
            os.remove(path)
    print(f"{n} rounds of {size:,} bytes + fdatasync, each layout in turn:")
    for name in names:
        v = sorted(latencies[name])
        print(f"  {name:10} p10 {percentile(v, 0.1) * 1e6:5.0f} us  "
              f"p50 {percentile(v, 0.5) * 1e6:5.0f} us  p90 {percentile(v, 0.9) * 1e6:5.0f} us")


if layouts:
    compare_layouts()
else:
    probe()
