#!/usr/bin/env bash
# A scripted look at tgate's front half: how an agent's `temporal ...` command lines are read.
# Usage: examples/demo.sh [path/to/tgate]   (make demo builds it and passes the path)
set -uo pipefail
TGATE=${1:-target/debug/tgate}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
    printf '$ tgate'
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./=:@-]+$ ]]; then printf ' %s' "$a"
        elif [[ $a != *[\"\$\`\\]* ]]; then printf ' "%s"' "$a"
        else printf " '%s'" "${a//\'/\'\\\'\'}"; fi
    done
    printf '\n'
    "$TGATE" "$@"
    printf '(exit %d)\n' "$?"
}

step "An ordinary read, given as one string"
show parse "temporal workflow list -n payments --limit 10 --query 'ExecutionStatus = \"Running\"'"

step "Flags before subcommand names, short forms: read exactly as the Temporal CLI reads them"
show parse -o json -- temporal -n payments workflow describe -wpay-42

step "A batch terminate: --query on a batch-capable command makes it a batch job"
show parse -o json "temporal workflow terminate -q 'WorkflowType = \"Payment\"' --yes --reason INC-77"

step "The deprecated namespace positional targets that namespace"
show parse "temporal operator namespace describe payments"

step "Shell syntax is refused, with the character and its column (nothing runs)"
show parse "temporal workflow list; rm -rf ~"
show parse "temporal workflow list -n \$NS"

step "Wrappers and environment prefixes are refused"
show parse "env TEMPORAL_ADDRESS=evil:7233 temporal workflow list"

step "What the CLI itself would refuse, tgate refuses the same way"
show parse -- temporal --tls workflow list
show parse -- temporal schedule list -lq x
show parse -- temporal workflow start --type Payment

step "Secrets are never shown"
show parse "temporal workflow list --api-key sk-live-abc123"
