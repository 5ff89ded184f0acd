"""Helpers shared by the benchmark scripts (bench_run.py, bench_list.py, bench_gap.py,
bench_policy.py)."""
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


def seeded_dev_server(temporal, env):
    """Starts `temporal server start-dev` on free loopback ports, waits until it is healthy, and
    starts one workflow, `bench`, that stays running. Returns the process and its address."""
    port = free_port()
    proc = subprocess.Popen([temporal, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
                             "--http-port", str(free_port()), "--metrics-port", str(free_port()), "--log-level", "error"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    addr = f"127.0.0.1:{port}"
    wait_healthy(temporal, addr, env)
    subprocess.run([temporal, "workflow", "start", "--address", addr, "--type", "P", "-t", "q", "-w", "bench"],
                   env=env, check=True, capture_output=True)
    return proc, addr
