#!/usr/bin/env python3
"""Generate src/command/table.rs, tgate's table of Temporal CLI 1.9.1 commands and flags.

Input: the CLI's command spec (`commands.yaml` and `option-sets.yaml`, directory given as the first
argument). Output: Rust source on stdout. Only structural facts are taken (names, short letters, types,
aliases, enum values, defaults, required, hidden, deprecated, display types, arity); no description text.

The 1.9.1 binary differs from the spec snapshot in a few places (FACTS.md 1.6); those differences, and
the commands cobra adds in code (`help`, `completion`, `options`), are declared below. The conformance
test (tests/conformance.rs) checks the generated table against `--help` of the real binary, both ways,
so a mistake here fails `make test`.

tgate's own facts (effect class, batch capability, pinned and file flags) are not generated: they live in
src/command/facts.rs as exhaustive matches, so adding a command cannot silently skip its classification.
"""
import sys
import yaml

SRC = sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/temporal-cli-1.9.1"


def load(path):
    # BaseLoader keeps every scalar a string: YAML 1.1 would read the option name `yes` as a boolean.
    with open(path) as f:
        return yaml.load(f, Loader=yaml.BaseLoader)


cmds = load(f"{SRC}/commands.yaml")
ext = load(f"{SRC}/option-sets.yaml")
sets = {s["name"]: s for s in cmds["option-sets"] + ext["option-sets"]}

# Flags present in the 1.9.1 binary but absent from the spec snapshot (FACTS.md 1.6).
AGENTCORE = [
    {"name": "aws-agentcore-endpoint-arn", "type": "string"},
    {"name": "aws-agentcore-assume-role-arn", "type": "string"},
    {"name": "aws-agentcore-assume-role-external-id", "type": "string"},
    {"name": "aws-agentcore-skip-role-and-external-id", "type": "bool"},
    {"name": "gcp-cloud-run-scale-down-stabilization-duration", "type": "duration"},
]
EXTRA_OPTIONS = {
    "temporal activity reset": [{"name": "clear-heartbeat-details", "type": "bool"}],
    "temporal worker deployment create-version": AGENTCORE,
    "temporal worker deployment update-version-compute-config": AGENTCORE,
}

# Flags the 1.9.1 binary accepts but hides from help although the snapshot spec lists them.
HIDDEN_IN_BINARY = {("schedule-configuration", "cron")}

# Commands cobra and the CLI add in code rather than in the spec.
NO_DESC = [{"name": "no-descriptions", "type": "bool"}]
EXTRA_COMMANDS = [
    {"name": "temporal completion", "group": True},
    {"name": "temporal completion bash", "options": NO_DESC},
    {"name": "temporal completion fish", "options": NO_DESC},
    {"name": "temporal completion powershell", "options": NO_DESC},
    {"name": "temporal completion zsh", "options": NO_DESC},
    {"name": "temporal help", "options": [{"name": "all", "short": "a", "type": "bool"}], "any-args": True},
    {"name": "temporal options", "any-args": True},
]


def variant(path):
    parts = path.split()[1:]
    if not parts:
        return "Root"
    return "".join(w.capitalize() for p in parts for w in p.split("-"))


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


TYPE = {
    "bool": "Bool",
    "int": "Int",
    "float": "Float",
    "string": "Str",
    "string[]": "StrArray",
    "string-enum": "Enum",
    "string-enum[]": "EnumArray",
    "duration": "Duration",
    "timestamp": "Timestamp",
}


def flag_expr(o):
    t = TYPE[o["type"]]
    e = f"FlagSpec::new({rust_str(o['name'])}, FlagType::{t})"
    if o.get("short"):
        e += f".short('{o['short']}')"
    if o.get("enum-values"):
        e += ".values(&[" + ", ".join(rust_str(v) for v in o["enum-values"]) + "])"
    if o.get("hidden-legacy-values"):
        e += ".legacy_values(&[" + ", ".join(rust_str(v) for v in o["hidden-legacy-values"]) + "])"
    if o.get("aliases"):
        e += ".aliases(&[" + ", ".join(rust_str(v) for v in o["aliases"]) + "])"
    if o.get("required") == "true":
        e += ".required()"
    if o.get("default") is not None:
        e += f".default({rust_str(o['default'])})"
    if o.get("display-type"):
        e += f".metavar({rust_str(o['display-type'])})"
    if o.get("hidden") == "true":
        e += ".hidden()"
    if o.get("deprecated"):
        e += f".deprecated({rust_str(o['deprecated'])})"
    if o.get("experimental") == "true":
        e += ".experimental()"
    return e


all_cmds = [dict(c) for c in cmds["commands"]] + EXTRA_COMMANDS
for c in all_cmds:
    c.setdefault("options", [])
    c["options"] = list(c["options"]) + EXTRA_OPTIONS.get(c["name"], [])
names = [c["name"] for c in all_cmds]
by_name = {c["name"]: c for c in all_cmds}
# Stable order: depth-first by path so a group precedes its children.
names.sort(key=lambda n: n.split())


def children(n):
    d = len(n.split())
    return [m for m in names if m.startswith(n + " ") and len(m.split()) == d + 1]


def is_group(n):
    return bool(children(n)) or by_name[n].get("group")


out = []
w = out.append
w("// @generated by scripts/gen_command_table.py from the Temporal CLI 1.9.1 command spec.")
w("// Structural facts only (names, letters, types, arity); tgate's own facts live in facts.rs.")
w("// Checked against the real binary's --help by tests/conformance.rs.")
w("")
w("use super::spec::{Arity, CommandSpec, FlagSpec, FlagType};")
w("")

used_sets = sorted({s for c in all_cmds for s in c.get("option-sets", [])})
for s in used_sets:
    opts = sets[s]["options"]
    hide = sets[s].get("hide-from-help") == "true"
    w(f"/// Option set `{s}`.")
    w(f"static SET_{s.upper().replace('-', '_')}: &[FlagSpec] = &[")
    for o in opts:
        e = flag_expr(o)
        if (s, o["name"]) in HIDDEN_IN_BINARY:
            e += ".hidden()"
        if hide and ".hidden()" not in e:
            e += ".hidden()"
        w(f"    {e},")
    w("];")
    w("")

w("/// Every command path of the Temporal CLI 1.9.1, groups included. A closed set: tgate judges")
w("/// nothing else.")
w("#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]")
w("pub enum CommandPath {")
for n in names:
    w(f"    /// `{n}`")
    w(f"    {variant(n)},")
w("}")
w("")
w("impl CommandPath {")
w("    /// Every path, in table order.")
w("    pub const ALL: &'static [CommandPath] = &[")
for n in names:
    w(f"        CommandPath::{variant(n)},")
w("    ];")
w("}")
w("")

for n in names:
    c = by_name[n]
    v = variant(n).upper()
    local = [o for o in c["options"]]
    w(f"static OPTS_{v}: &[FlagSpec] = &[")
    for o in local:
        w(f"    {flag_expr(o)},")
    w("];")

w("")
w("pub(super) static COMMANDS: &[CommandSpec] = &[")
for n in names:
    c = by_name[n]
    grp = is_group(n)
    own = [f"OPTS_{variant(n).upper()}"] + [f"SET_{s.upper().replace('-', '_')}" for s in c.get("option-sets", [])]
    parts = n.split()
    parent = "None" if len(parts) == 1 else f"Some(CommandPath::{variant(' '.join(parts[:-1]))})"
    kids = ", ".join(f"CommandPath::{variant(k)}" for k in children(n))
    if c.get("any-args"):
        arity = "Arity::Any"
    elif c.get("maximum-args"):
        arity = f"Arity::Max({c['maximum-args']})"
    elif c.get("exact-args"):
        arity = f"Arity::Exact({c['exact-args']})"
    else:
        arity = "Arity::None"
    runnable = (not grp) or c.get("subcommands-optional") == "true"
    dep = c.get("deprecation-message") if c.get("deprecated") == "true" else None
    w("    CommandSpec {")
    w(f"        path: CommandPath::{variant(n)},")
    w(f"        name: {rust_str(' '.join(parts[1:]))},")
    w(f"        parent: {parent},")
    w(f"        children: &[{kids}],")
    # A group's options are persistent (inherited by descendants); a leaf's are local.
    if grp:
        w("        local: &[],")
        w(f"        persistent: &[{', '.join(own)}],")
    else:
        w(f"        local: &[{', '.join(own)}],")
        w("        persistent: &[],")
    w(f"        arity: {arity},")
    w(f"        runnable: {'true' if runnable else 'false'},")
    if c.get("deprecated") == "true":
        w(f"        deprecated: Some({rust_str((dep or '').strip())}),")
    else:
        w("        deprecated: None,")
    w("    },")
w("];")
print("\n".join(out))
