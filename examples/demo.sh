#!/usr/bin/env bash
# A scripted look at tgate's front half: how an agent's `temporal ...` command lines are read.
# Usage: examples/demo.sh [path/to/tgate]   (make demo builds it and passes the path)
set -uo pipefail
TGATE=${1:-target/debug/tgate}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
    printf '$ %stgate' "${SHOW_ENV:+$SHOW_ENV }"
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

# ---------------------------------------------------------------------------------------------
# An agent investigation through `tgate run`, against a real local dev server.
TEMPORAL=${TGATE_TEMPORAL_BIN:-temporal}
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
step "Starting a local Temporal dev server on 127.0.0.1:$PORT (temporal server start-dev --headless)"
HOME=$WORK "$TEMPORAL" server start-dev --headless --ip 127.0.0.1 --port "$PORT" \
    --http-port 0 --metrics-port 0 --namespace payments --log-level error >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 150); do
    HOME=$WORK "$TEMPORAL" operator cluster health --address "127.0.0.1:$PORT" >/dev/null 2>&1 && break
    sleep 0.2
done
for id in pay-1 pay-2 pay-3; do
    HOME=$WORK "$TEMPORAL" workflow start --address "127.0.0.1:$PORT" -n payments \
        --type PaymentWorkflow -t payments -w "$id" >/dev/null
done
echo "seeded three running PaymentWorkflows in namespace payments"
cat >"$WORK/tgate.yaml" <<YAML
version: 1
temporal: $TEMPORAL
integrations:
  - name: Local Temporal
    auth: direct
    address: 127.0.0.1:$PORT
    namespace: payments
policies: [$PWD/policies/oncall.yaml]
audit:
  path: $WORK/audit.jsonl
YAML
echo "configuration: integration 'Local Temporal' (direct, namespace payments), policy policies/oncall.yaml,"
echo "               audit log $WORK/audit.jsonl"
# `--` before the agent's line: a line beginning with `-` would otherwise be read as tgate's option.
run() { show run --config "$WORK/tgate.yaml" --caller incident-agent -- "$@"; }

step "The agent lists workflows (allowed; the namespace comes from the integration)"
run "temporal workflow list --time-format iso"
step "It describes one as JSON (allowed)"
run "temporal workflow describe -w pay-1 -o json" | head -12
step "It counts running workflows (allowed)"
run "temporal workflow count -q 'ExecutionStatus = \"Running\"'"
step "The same count with TGATE_LOG=debug: what tgate did, and when, on stderr (for the operator)"
SHOW_ENV=TGATE_LOG=debug TGATE_LOG=debug run "temporal workflow count -q 'ExecutionStatus = \"Running\"'"
step "It tries a namespace outside the policy (denied, exit 3)"
run "temporal workflow list -n default"
step "It tries to terminate without a ticket (denied, exit 3)"
run "temporal workflow terminate -w pay-1"
step "With a ticket, the terminate needs a human's approval (exit 4; nothing runs)"
TERMINATE="temporal workflow terminate -w pay-1 --reason 'INC-4711 stuck payment'"
run "$TERMINATE" 2>&1 | tee "$WORK/request.txt"
APPROVAL=$(grep -o 'tgate approve [a-z0-9]*' "$WORK/request.txt" | head -1 | awk '{print $3}')
step "The approvals waiting for a human"
show approvals list --config "$WORK/tgate.yaml"
step "The agent tries to approve its own request (refused: two-person rule, exit 3)"
show approve "$APPROVAL" --as incident-agent --config "$WORK/tgate.yaml"
step "The on-call engineer approves it"
show approve "$APPROVAL" --as dana --comment "checked the payment, INC-4711" --config "$WORK/tgate.yaml"
step "The agent runs the identical command again: now it runs, exactly once"
run "$TERMINATE"
step "Running it once more needs a new approval (exit 4)"
run "$TERMINATE"
step "It tries a batch terminate (denied, exit 3)"
run "temporal workflow terminate -q 'WorkflowType = \"PaymentWorkflow\"' --reason INC-4711 --yes"
step "It tries to point the CLI at another cluster (denied, exit 3)"
run "temporal workflow list --address evil.example:7233"
step "Only the approved terminate happened: pay-1 is terminated, the others still run"
run "temporal workflow list --time-format iso"

step "The audit log: each decision was on disk before anything ran; each run's result follows it"
show audit tail --config "$WORK/tgate.yaml" -n 30
step "The records form a SHA-256 hash chain: verify proves nothing was edited, removed or reordered"
show audit verify --config "$WORK/tgate.yaml"
