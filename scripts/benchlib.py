"""Helpers shared by the benchmark scripts (bench_run.py, bench_list.py)."""
import shutil, socket, subprocess, sys, tempfile, time

GNU_TIME = shutil.which("time", path="/usr/bin:/bin") or sys.exit("GNU time (/usr/bin/time, Debian package `time`) is needed to measure peak RSS")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def peak_rss_mib(argv, env):
    """Peak RSS of one run, in MiB, as GNU time reports it. (Not `wait4` from here: Linux carries a
    process's RSS high-water mark across `execve`, and Python spawns with `vfork`, so a child
    measured that way reports at least this Python process's own size.)"""
    with tempfile.NamedTemporaryFile("r") as report:
        p = subprocess.run([GNU_TIME, "-f", "%M", "-o", report.name] + argv, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            sys.exit(f"{argv[0]} failed ({p.returncode}): {p.stderr.decode()[:500]}")
        return int(report.read().split()[-1]) / 1024


def wait_healthy(temporal, addr, env):
    """Waits (at most 30 s) until the dev server at `addr` answers `operator cluster health`."""
    for _ in range(150):
        if subprocess.run([temporal, "operator", "cluster", "health", "--address", addr], env=env, capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    sys.exit(f"the dev server at {addr} did not become healthy")

