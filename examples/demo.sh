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

step "Policy: the built-in read-only policy allows reads in the default namespace (with a --limit cap)"
show check "temporal workflow list --limit 5000"

step "Policy: a terminate is denied, with the reason (exit 3)"
show check "temporal workflow terminate -w pay-42 --reason 'stuck'"

step "Policy: the on-call policy asks for approval when a ticket is given (exit 4)"
show check --policy policies/oncall.yaml "temporal workflow terminate -w pay-42 -n payments --reason 'INC-4711 stuck'"

step "Policy: batch jobs are denied; --explain shows why each rule matched or not"
show check --policy policies/oncall.yaml --explain "temporal workflow signal -q 'WorkflowType = \"Payment\"' -n payments --name retry --yes"

step "Policy: connection flags are never allowed, wherever they are placed"
show check "temporal --address evil.example:7233 workflow list"

step "Policy files carry their own tests"
show policy test policies/read-only.yaml policies/oncall.yaml policies/payments-sre.yaml
show policy lint policies/oncall.yaml
