#!/usr/bin/env bash
# Throughput with 1, 2 and 3 node processes against a 3-server JetStream
# cluster (replicas = 3), through `switchyard simulate` (docs/OPERATIONS.md
# "Sizing"). Two workloads:
#   consumer-bound: each node runs 4 workers of 40 ms; nodes add workers.
#   cpu-bound:      workers of 0 ms; the broker and routing set the pace.
# Usage: scripts/scale.sh [consumer|cpu] [seconds]   (default: both, 20 s)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${SWITCHYARD_BIN:-./build/runtime/cli/switchyard}"
[ -x "$bin" ] || { echo "scale: $bin missing; run scripts/setup.sh first" >&2; exit 2; }
workloads=${1:-"consumer cpu"}
seconds=${2:-20}
dir=$(mktemp -d /tmp/sy-scale-XXXXXX)
trap 'rm -rf "$dir"' EXIT

scenario() { # workload nodes
  local service rate
  case $1 in
    consumer) service=40 rate=400 ;;
    cpu) service=0 rate=1500 ;;
  esac
  cat <<TOML
[simulation]
name = "scale: $1-bound, $2 node(s)"
broker = "cluster"
drain_timeout = "120s"
node_config = """
[router]
instances = 1
[[consumer]]
identity = "worker"
plugin = "sy.consumers.synthetic"
filters = [ { type = "sample" } ]
concurrency = 4
config = { service_time_ms = $service }
"""
TOML
  for i in $(seq 1 "$2"); do printf '[[node]]\nname = "n%s"\n' "$i"; done
  printf '[[producer]]\nrate = %s\nduration = "%ss"\nheaders = { type = "sample" }\n' "$rate" "$seconds"
}

printf '%-10s %-6s %-10s %-10s %-6s %-16s\n' workload nodes sent "done/s" lost "p50/p99 ms"
for w in $workloads; do
  for n in 1 2 3; do
    scenario "$w" "$n" >"$dir/s.toml"
    "$bin" simulate "$dir/s.toml" --quiet --json "$dir/r.json" >/dev/null 2>"$dir/err" ||
      { echo "scale: $w with $n node(s) failed:" >&2; cat "$dir/err" >&2; exit 1; }
    python3 - "$dir/r.json" "$w" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency"]
print(f'{sys.argv[2]:<10} {sys.argv[3]:<6} {r["sent"]:<10} {r["throughput_per_s"]:<10.0f} {r["lost"]:<6} {l["p50_ms"]:.0f}/{l["p99_ms"]:.0f}')
PY
  done
done
