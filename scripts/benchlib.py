"""Helpers shared by the benchmark scripts (bench_run.py, bench_list.py, bench_gap.py,
bench_policy.py, bench_lock.py, bench_audit.py)."""
import os, shutil, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def release_binary(env_var, name, target_dir="target"):
    """The release build to measure: the one `env_var` names; else the one `make release` builds
    (target/TRIPLE/release: static-pie on Linux with glibc); else `make release STATIC=0`'s
    (target/dynamic/TRIPLE/release); else target/release (`cargo build --release`). Says which on
    stderr, so that a stale build is seen."""
    path = os.environ.get(env_var)
    if not path:
        host = subprocess.run(["rustc", "-vV"], capture_output=True, text=True).stdout
        triple = next((l.split(": ", 1)[1] for l in host.splitlines() if l.startswith("host: ")), "")
        candidates = [os.path.join(ROOT, target_dir, triple, "release", name),
                      os.path.join(ROOT, target_dir, "dynamic", triple, "release", name),
                      os.path.join(ROOT, target_dir, "release", name)]
        path = next((c for c in candidates if triple and os.path.exists(c)), candidates[-1])
    print(f"measuring {name}: {path}", file=sys.stderr)
    return path

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


def wait_healthy(temporal, addr, env, proc=None):
    """Waits (at most 30 s) until the dev server at `addr` answers `operator cluster health`.
    False when `proc`, the server, exits first (a port taken between choosing and binding it)."""
    for _ in range(150):
        if subprocess.run([temporal, "operator", "cluster", "health", "--address", addr], env=env, capture_output=True).returncode == 0:
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.2)
    sys.exit(f"the dev server at {addr} did not become healthy")


def dev_server(temporal, env, extra=(), attempts=3):
    """Starts `temporal server start-dev` on free loopback ports (with `extra` arguments) and waits
    until it is healthy; one that exits while starting is started again on new ports, at most
    `attempts` times. Returns the process, its address and its HTTP port."""
    for _ in range(attempts):
        port, http = free_port(), free_port()
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen([temporal, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
                                     "--http-port", str(http), "--metrics-port", str(free_port()), "--log-level", "error",
                                     *extra],
                                    env=env, stdout=subprocess.DEVNULL, stderr=log)
            addr = f"127.0.0.1:{port}"
            if wait_healthy(temporal, addr, env, proc):
                return proc, addr, http
            log.seek(0)
            print(f"the dev server at {addr} exited ({proc.returncode}) while starting, trying new ports: "
                  f"{log.read()[-500:].decode(errors='replace')}", file=sys.stderr)
    sys.exit(f"the dev server exited while starting, {attempts} times")


def seeded_dev_server(temporal, env):
    """A dev server ([`dev_server`]) with one workflow, `bench`, started and left running.
    Returns the process and its address."""
    proc, addr, _ = dev_server(temporal, env)
    subprocess.run([temporal, "workflow", "start", "--address", addr, "--type", "P", "-t", "q", "-w", "bench"],
                   env=env, check=True, capture_output=True)
    return proc, addr


def dev_config(home, temporal, addr, extra=""):
    """Writes HOME/tgate.yaml: the pinned CLI, one direct integration (`dev`, namespace `default`)
    to the dev server at `addr`, then `extra` (more top-level lines). Returns its path."""
    cfg = os.path.join(home, "tgate.yaml")
    with open(cfg, "w") as f:
        f.write(f"version: 1\ntemporal: {temporal}\n"
                f"integrations:\n  - {{name: dev, auth: direct, address: '{addr}', namespace: default}}\n{extra}")
    return cfg
