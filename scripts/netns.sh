#!/usr/bin/env bash
# Nodes on separate "hosts" share the work, and a host cut off loses nothing.
#
#   scripts/netns.sh [--tasks N] [--keep-logs DIR]     (as root; default 600 tasks)
#
# Hosts are network namespaces sy-<pid>-*: broker1..3 run one nats-server each
# (one JetStream cluster), node1..3 one `switchyard node` each (identity
# "work", concurrency 4, 500 ms a task so every node stays busy; ack_wait 5s,
# replicas 3). Each host has lo and a veth into a bridge in sy-<pid>-switch,
# with an address in 10.77.0.0/24; the root namespace gets none. node1 is the
# producer's host; node3 starts first, so it usually leads the housekeeping
# (which announces analyses). Once every node has finished some tasks, node3's
# veth is taken down on the switch side; after the run it comes back.
#
# "Nothing lost": one `switchyard send --wait` per task, 64 at once, from
# node1. Each makes its own consumer on SY_EVENTS for its root *before*
# sending, prints the uid once the task is accepted, and exits 0 only when the
# analysis is announced with nothing crashed (1: crashed, 3: not announced in
# 120 s). Lost = tasks not announced done; a send that fails before printing a
# uid accepted nothing and is tried again (5 tries). Per node counts come from
# each node's own /metrics, read inside its namespace (current, not as of a
# heartbeat): finished, assigned (runs started), redelivered_done. Run twice =
# runs started minus analyses completed (duplicates are allowed, losses not).
# Exit 0 only if nothing was lost, every node had finished work before the
# cut, and node3 rejoined. Everything the script creates is removed on every
# exit. SWITCHYARD_BIN names the binary (default ./build/runtime/cli/switchyard).
set -euo pipefail

tasks=600 keep_logs="" parallel=64 service_ms=500 cut_after=10 wait_s=120
while (($#)); do
  case "$1" in
    --tasks) tasks=$2; shift 2 ;;
    --keep-logs) keep_logs=$(realpath -m "$2"); shift 2 ;;
    *) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
[[ $tasks =~ ^[1-9][0-9]*$ ]] || { echo "netns: --tasks needs a positive number" >&2; exit 2; }
cd "$(dirname "$0")/.."
bin="$(realpath "${SWITCHYARD_BIN:-./build/runtime/cli/switchyard}")"
[ "$(id -u)" -eq 0 ] || { echo "netns: needs root (ip netns)" >&2; exit 2; }
[ -x "$bin" ] || { echo "netns: $bin missing; run scripts/setup.sh first" >&2; exit 2; }
command -v nats-server >/dev/null || { echo "netns: nats-server missing" >&2; exit 2; }

prefix="sy-$$-" sender=""
sw="${prefix}switch"
created=()   # the namespaces this run created: the only ones cleanup touches
declare -A addr=([broker1]=10.77.0.1 [broker2]=10.77.0.2 [broker3]=10.77.0.3
                 [node1]=10.77.0.11 [node2]=10.77.0.12 [node3]=10.77.0.13)
dir=$(mktemp -d /tmp/sy-netns.XXXXXX)

cleanup() {
  local rc=$? ns left
  trap - EXIT INT TERM
  set +e
  [ -n "$sender" ] && kill "$sender" 2>/dev/null   # it stops its sends and starts no more
  [ -n "$keep_logs" ] && mkdir -p "$keep_logs" &&
    cp "$dir"/*.log "$dir"/*.toml "$dir"/*.conf "$dir"/results "$keep_logs"/ 2>/dev/null
  # Every process inside our namespaces is ours: SIGTERM, then SIGKILL for
  # one that hangs (a node still cut off waits for its broker).
  for sig in TERM KILL; do
    for ns in "${created[@]}"; do
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -"$sig" 2>/dev/null
    done
    for _ in $(seq 1 50); do
      left=0
      for ns in "${created[@]}"; do [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && left=1; done
      ((left)) || break; sleep 0.1
    done
  done
  for ns in "${created[@]}"; do ip netns del "$ns"; done   # their veths and the bridge go too
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cp "$bin" "$dir/switchyard" && bin="$dir/switchyard"   # a rebuild during the run cannot touch it

log() { printf '%s netns: %s\n' "$(date +%T.%3N)" "$*"; }
inside() { local host=$1; shift; ip netns exec "$prefix$host" "$@"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# GET inside a host's namespace without curl: prints the body, nothing on
# failure. Never fails itself: under set -e and pipefail a refused or slow
# request must not end the script; callers look at the body.
http_get() {
  inside "$1" timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$2" "$0" >&3; sed "1,/^\r$/d" <&3' \
    "$2" "$3" "$4" 2>/dev/null || true
}

# A node's own counters for "work" from its /metrics: "finished assigned
# redelivered_done". Empty while the node cannot answer for itself (/metrics
# reads the queues and live nodes from the broker).
counts() {
  http_get "node$1" 127.0.0.1 8080 /metrics | awk -v own="node=\"node$1\"" '
    index($0, own) && /identity="work"/ { split($1, name, "{"); v[name[1]] = $2; up = 1 }
    END { if (up) printf "%d %d %d\n", v["switchyard_tasks_finished_total"],
            v["switchyard_tasks_assigned_total"], v["switchyard_tasks_redelivered_done_total"] }'
}

# Which node led the housekeeping at time $1 (epoch seconds), from the nodes' logs.
leader_at() {
  for n in 1 2 3; do
    sed -n "s/^\([0-9-]* [0-9:.]*\) .*leading the housekeeping.*/\1 node$n/p
            s/^\([0-9-]* [0-9:.]*\) .*lost the housekeeping lease.*/\1 none/p" "$dir/node$n.log"
  done | sort | awk -v t="$(date -d "@$1" '+%F %T.%3N')" '$1 " " $2 < t { who = $3 } END { print who ? who : "none" }'
}

# --- the network: a bridge in the switch namespace, one veth per host ---
ip netns add "$sw"; created+=("$sw")
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
for host in broker1 broker2 broker3 node1 node2 node3; do
  ip netns add "$prefix$host"; created+=("$prefix$host")
  # Both ends are made in the switch namespace and one moves to the host,
  # so no interface ever appears in the root namespace.
  ip -n "$sw" link add "v-$host" type veth peer name eth0 netns "$prefix$host"
  ip -n "$sw" link set "v-$host" master br0 up
  ip -n "$prefix$host" link set lo up
  ip -n "$prefix$host" addr add "${addr[$host]}/24" dev eth0
  ip -n "$prefix$host" link set eth0 up
done

# --- three nats-servers, one JetStream cluster ---
routes="" urls=""
for b in 1 2 3; do
  routes+="${routes:+, }\"nats://${addr[broker$b]}:6222\""
  urls+="${urls:+, }\"nats://${addr[broker$b]}:4222\""
done
for b in 1 2 3; do
  mkdir -p "$dir/broker$b"
  cat >"$dir/broker$b.conf" <<CONF
server_name: "sy-broker$b"
listen: "${addr[broker$b]}:4222"
http: "${addr[broker$b]}:8222"
jetstream { store_dir: "$dir/broker$b" }
cluster { name: "switchyard", listen: "${addr[broker$b]}:6222", routes: [$routes] }
CONF
  inside "broker$b" nats-server -c "$dir/broker$b.conf" >>"$dir/broker$b.log" 2>&1 &
done
for i in $(seq 1 150); do
  http_get broker1 "${addr[broker1]}" 8222 /jsz | grep -q '"leader"' && break
  ((i < 150)) || { echo "netns: no JetStream meta leader after 30 s" >&2; exit 1; }
  sleep 0.2
done
log "3 nats-servers up, JetStream meta leader elected"

# --- three nodes serving one identity, each with the HTTP API (for /metrics) ---
cat >"$dir/client.toml" <<CONF
[broker]
urls = [$urls]
replicas = 3
storage = "file"
ack_wait = "5s"
CONF
declare -A node_pid
for n in 3 1 2; do
  cat "$dir/client.toml" - >"$dir/node$n.toml" <<CONF
[node]
name = "node$n"
data_dir = "$dir/node$n"
heartbeat_interval = "1s"
shutdown_grace = "2s"
[api]
listen = "0.0.0.0:8080"
[[consumer]]
identity = "work"
plugin = "sy.consumers.synthetic"
filters = [ { type = "sample" } ]
concurrency = 4
config = { service_time_ms = $service_ms }
CONF
  inside "node$n" "$bin" node --config "$dir/node$n.toml" >>"$dir/node$n.log" 2>&1 &
  node_pid[$n]=$!
  for _ in $(seq 1 150); do   # node3 first, until it leads the housekeeping (at most 30 s)
    [ "$n" != 3 ] || grep -q "leading the housekeeping" "$dir/node3.log" || ! kill -0 "${node_pid[3]}" 2>/dev/null && break
    sleep 0.2
  done
done
for i in $(seq 1 300); do
  ok=1
  for n in 1 2 3; do
    kill -0 "${node_pid[$n]}" 2>/dev/null || { echo "netns: node$n exited while starting:" >&2; tail -3 "$dir/node$n.log" >&2; exit 1; }
    http_get "node$n" 127.0.0.1 8080 /health | grep -q '"ok"' || ok=0
  done
  ((ok)) && break
  ((i < 300)) || { echo "netns: nodes not serving after 60 s; see the node logs" >&2; exit 1; }
  sleep 0.2
done
log "3 nodes up"

# --- the run: one waiting send per task, $parallel at once, from node1 ---
send_one() {
  local out rc try began
  began=$(date +%s.%N)
  for try in 1 2 3 4 5; do
    rc=0
    out=$(inside node1 "$bin" send --config "$dir/client.toml" -H type=sample -H "seq=$1" \
          --wait="$wait_s" 2>>"$dir/send.log") || rc=$?
    if [ "$rc" -ne 2 ] || [ -n "$out" ]; then break; fi
    sleep 0.5
  done
  # seq, exit code, began, returned, uid (or none), tries
  echo "$1 $rc $began $(date +%s.%N) $(head -1 <<<"${out:-none}") $try" >>"$dir/results"
}
: >"$dir/results"
start=$(date +%s.%N)
(
  trap 'kill $(jobs -p) 2>/dev/null; exit 143' TERM
  for i in $(seq 1 "$tasks"); do
    while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
    send_one "$i" &
  done
  wait
) &
sender=$!

# Cut node3 off once every node has finished some work. The three are asked
# at once: under this load /metrics takes seconds (it reads the broker).
declare -A before after
cut_at=""
while kill -0 "$sender" 2>/dev/null; do
  ok=1 asked=()
  for n in 1 2 3; do counts "$n" >"$dir/counts$n" & asked+=($!); done
  wait "${asked[@]}"
  for n in 1 2 3; do before[$n]=$(<"$dir/counts$n"); f=${before[$n]:-0}; ((${f%% *} >= cut_after)) || ok=0; done
  if ((ok)); then
    ip -n "$sw" link set v-node3 down
    cut_at=$(date +%s.%N)
    log "node3 cut off after $(wc -l <"$dir/results") analyses; finished: ${before[1]%% *}, ${before[2]%% *}, ${before[3]%% *}"
    break
  fi
  sleep 0.2
done
wait "$sender" || true
sender="" end=$(date +%s.%N)
log "every send returned"

# Bring node3 back: it has rejoined once /metrics answers for it again.
rejoined="" handover=""
if [ -n "$cut_at" ]; then
  ip -n "$sw" link set v-node3 up
  back=$(date +%s.%N)
  for _ in $(seq 1 300); do
    [ -n "$(counts 3)" ] && { rejoined=$(elapsed "$back" "$(date +%s.%N)"); break; }
    sleep 0.2
  done
  log "node3 $([ -n "$rejoined" ] && echo "rejoined in $rejoined s" || echo "did not rejoin within 60 s")"
  # Cut off, a leading housekeeper keeps believing it leads; back, it must
  # notice that another node took its lease over.
  if [ "$(leader_at "$cut_at")" = node3 ]; then
    handover="still claims it 20 s after its link came back"
    for _ in $(seq 1 100); do
      t=$(sed -n 's/^\([0-9-]* [0-9:.]*\) .*lost the housekeeping lease.*/\1/p' "$dir/node3.log" | tail -1)
      t=$([ -n "$t" ] && date -d "$t" +%s.%N || echo 0)
      awk -v t="$t" -v c="$cut_at" 'BEGIN { exit !(t > c) }' &&
        { handover="gave it up $(elapsed "$back" "$t") s after its link came back"; break; }
      sleep 0.2
    done
  fi
fi

# --- the outcome (two heartbeats later, so that /metrics is current) ---
sleep 2
completed=$(awk '$2 == 0' "$dir/results" | wc -l)
lost=$((tasks - completed)) runs=0 per_node="" skipped=""
for n in 1 2 3; do
  after[$n]=$(counts "$n")
  read -r f a d <<<"${after[$n]:-? 0 ?}"
  runs=$((runs + a)) per_node+="node$n $f, " skipped+="node$n $d, "
done
queue=$(http_get node1 127.0.0.1 8080 /metrics | awk '/^switchyard_queue_(pending|in_flight|crashed)\{identity="work"\}/ {
          sub(/^switchyard_queue_/, ""); sub(/\{.*\}/, ""); printf "%s %s ", $1, $2 }')
echo
echo "tasks:                  $tasks, sent by $parallel waiting senders from node1 in $(elapsed "$start" "$end") s"
echo "accepted:               $(awk '$5 != "none"' "$dir/results" | wc -l) ($(awk '$6 > 1' "$dir/results" | wc -l) at a later try)"
echo "analyses completed:     $completed (crashed: $(awk '$2 == 1' "$dir/results" | wc -l), not announced: $(awk '$2 == 3' "$dir/results" | wc -l))"
echo "lost:                   $lost"
echo "finished per node:      ${per_node%, } (before the cut: ${before[1]%% *}, ${before[2]%% *}, ${before[3]%% *})"
echo "redeliveries skipped:   ${skipped%, } (already ended)"
echo "run twice:              $((runs - completed)) (runs started on the nodes minus analyses completed)"
echo "queue at the end:       ${queue:-unknown}"
if [ -n "$cut_at" ]; then
  read -r f a d <<<"${before[3]}"
  echo "node3 before the cut:   $((a - f)) task(s) running at the last count; housekeeping led by $(leader_at "$cut_at")"
  at() { awk -v c="$cut_at" "$1" "${@:2}"; }   # figures in seconds after the cut
  echo "after the cut:          first completion $(at '$4 > c && (!m || $4 < m) { m = $4 } END { printf "%.1f", m - c }' "$dir/results") s," \
       "last $(at '$4 > m { m = $4 } END { printf "%.1f", m - c }' "$dir/results") s (ack_wait 5 s)"
  # The tasks node3 ran while cut off: its log names them ("[uid root] cannot
  # record Finished, will run again"); when did their analyses complete?
  sed -n 's/.*\[worker\] \[[0-9a-f-]* \([0-9a-f-]*\)\] cannot record.*/\1/p' "$dir/node3.log" | sort -u >"$dir/held"
  echo "run by node3 cut off:   $(wc -l <"$dir/held") task(s), their analyses completed $(at 'NR == FNR { held[$1]; next }
    $5 in held { x = $4 - c; if (!n++ || x < lo) lo = x; if (x > hi) hi = x }
    END { if (n) printf "%.1f-%.1f s after the cut", lo, hi; else printf "(none)" }' "$dir/held" "$dir/results")"
  echo "node3 after the cut:    $([ -n "$rejoined" ] && echo "rejoined $rejoined s after its link came back" || echo "not back within 60 s")${handover:+; housekeeping: $handover}"
else
  echo "cut:                    never (the run ended before every node had finished $cut_after tasks)"
fi
[ -n "$cut_at" ] && ((lost == 0)) && [ -n "$rejoined" ] &&
  for n in 1 2 3; do f=${before[$n]:-0}; ((${f%% *} > 0)) || exit 1; done
