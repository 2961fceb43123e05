#!/usr/bin/env bash
# Installs what is missing, builds, and runs the quickstart pipeline on the
# embedded broker: a node with a classifier and two downstream consumers
# (config/quickstart.toml), one analysis sent and followed to completion.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
sy="$PWD/build/runtime/cli/switchyard"
log=.switchyard/quickstart-node.log
mkdir -p .switchyard

echo
echo "== A bind's filters, checked against a task's headers"
filters='[{"type": "sample", "kind": "!raw"}]'
echo "\$ switchyard match --filters '$filters' --headers '{\"type\": \"sample\", \"kind\": \"exe\"}'"
"$sy" match --filters "$filters" --headers '{"type": "sample", "kind": "exe"}' || true

echo
echo "== Starting a node (config/quickstart.toml; embedded nats-server, log in $log)"
"$sy" node --config config/quickstart.toml >"$log" 2>&1 &
node=$!
trap 'kill $node 2>/dev/null || true; wait $node 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "running" "$log" 2>/dev/null && break
  kill -0 $node 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
grep -q "running" "$log" || { cat "$log"; echo "quickstart: the node did not start"; exit 1; }

echo
echo "== Sending a raw sample and following its analysis"
echo "\$ switchyard send --header type=sample --header kind=raw --wait=30"
"$sy" send --config config/quickstart.toml --header type=sample --header kind=raw --wait=30

echo
echo "== The consumers, their queues and live replicas"
sleep 1.5 # the node's next heartbeat carries the metrics of this run
echo "\$ switchyard list"
"$sy" list --config config/quickstart.toml

echo
echo "== What the classifier logged (kept in SY_LOGS)"
echo "\$ switchyard logs --identity classifier --since 5m"
"$sy" logs --config config/quickstart.toml --identity classifier --since 5m

echo
echo "== Stopping the node (SIGTERM: finish in-flight tasks, ack, exit 0)"
kill -TERM $node
wait $node
trap - EXIT
echo "node exited with status $?; its log:"
cat "$log"
