#!/usr/bin/env bash
# A 3-server NATS JetStream cluster on loopback, and switchyard nodes that
# connect to all three (docs/OPERATIONS.md).
#
#   scripts/cluster.sh up [--nodes N] [--config FILE]   start (default: 1 node, config/quickstart.toml)
#   scripts/cluster.sh status                           what runs, JetStream meta leader
#   scripts/cluster.sh down [--purge]                   stop nodes, then servers; --purge removes the stores
#
# Everything lives under $SY_CLUSTER_DIR (default ./.switchyard/cluster):
# server configs, stores, logs and pid files. Ports: clients
# $SY_CLUSTER_PORT..+2 (default 4231), routes +2000, monitoring +4000.
# Nodes get `[broker] urls` = all three servers and `replicas = 3`, so the
# streams and buckets they create survive the loss of any one server.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${SY_CLUSTER_DIR:-./.switchyard/cluster}"
base="${SY_CLUSTER_PORT:-4231}"
bin="${SWITCHYARD_BIN:-./build/runtime/cli/switchyard}"

client_port() { echo $((base + $1 - 1)); }
route_port() { echo $((base + 2000 + $1 - 1)); }
http_port() { echo $((base + 4000 + $1 - 1)); }
urls() {
  local out=""
  for i in 1 2 3; do out+="${out:+, }\"nats://127.0.0.1:$(client_port "$i")\""; done
  echo "[$out]"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# GET on a monitoring port without curl: prints the body.
http_get() {
  local port=$1 path=$2
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}

start_server() {
  local i=$1 routes=""
  for j in 1 2 3; do routes+="${routes:+, }\"nats://127.0.0.1:$(route_port "$j")\""; done
  mkdir -p "$dir/n$i"
  cat >"$dir/n$i.conf" <<CONF
server_name: "sy-n$i"
listen: "127.0.0.1:$(client_port "$i")"
http: "127.0.0.1:$(http_port "$i")"
jetstream { store_dir: "$dir/n$i" }
cluster {
  name: "switchyard"
  listen: "127.0.0.1:$(route_port "$i")"
  routes: [$routes]
}
CONF
  nats-server -c "$dir/n$i.conf" >>"$dir/n$i.log" 2>&1 &
  echo $! >"$dir/n$i.pid"
}

wait_ready() {
  # Every server answers /healthz?js-enabled-only=true once JetStream runs;
  # the cluster is usable once a meta leader is elected (/jsz shows it).
  for _ in $(seq 1 150); do
    if http_get "$(http_port 1)" "/jsz" 2>/dev/null | grep -q '"leader"'; then return 0; fi
    sleep 0.2
  done
  echo "cluster: no JetStream meta leader after 30 s; see $dir/n*.log" >&2
  return 1
}

cmd_up() {
  local nodes=1 config="config/quickstart.toml"
  while (($#)); do
    case "$1" in
      --nodes) nodes=$2; shift 2 ;;
      --config) config=$2; shift 2 ;;
      *) echo "cluster: unknown option $1" >&2; exit 2 ;;
    esac
  done
  [ -x "$bin" ] || { echo "cluster: $bin missing; run scripts/setup.sh first" >&2; exit 2; }
  [ -f "$config" ] || { echo "cluster: no config $config" >&2; exit 2; }
  mkdir -p "$dir"
  for i in 1 2 3; do alive "$dir/n$i.pid" || start_server "$i"; done
  wait_ready
  for k in $(seq 1 "$nodes"); do
    alive "$dir/node$k.pid" && continue
    cat >"$dir/node$k.toml" <<CONF
[node]
name = "cluster-node-$k"
data_dir = "$dir/node$k"
[broker]
urls = $(urls)
replicas = 3
CONF
    "$bin" node --config "$config" --config "$dir/node$k.toml" >>"$dir/node$k.log" 2>&1 &
    echo $! >"$dir/node$k.pid"
  done
  echo "cluster: 3 nats-servers on ports $(client_port 1)-$(client_port 3), $nodes node(s); logs in $dir"
  echo "cluster: clients use --set broker.urls=nats://127.0.0.1:$(client_port 1)"
}

cmd_status() {
  for i in 1 2 3; do
    if alive "$dir/n$i.pid"; then echo "nats-server sy-n$i: running (pid $(cat "$dir/n$i.pid"), port $(client_port "$i"))"
    else echo "nats-server sy-n$i: stopped"; fi
  done
  for pidfile in "$dir"/node*.pid; do
    [ -e "$pidfile" ] || continue
    local name; name=$(basename "$pidfile" .pid)
    if alive "$pidfile"; then echo "$name: running (pid $(cat "$pidfile"))"; else echo "$name: stopped"; fi
  done
  for i in 1 2 3; do
    if alive "$dir/n$i.pid"; then
      http_get "$(http_port "$i")" "/jsz" | grep -o '"leader": *"[^"]*"' | head -1 | sed 's/^/JetStream meta /'
      break
    fi
  done
}

cmd_down() {
  local purge=0
  [ "${1:-}" = "--purge" ] && purge=1
  for pidfile in "$dir"/node*.pid; do
    [ -e "$pidfile" ] || continue
    alive "$pidfile" && kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
  done
  for pidfile in "$dir"/node*.pid; do
    [ -e "$pidfile" ] || continue
    for _ in $(seq 1 300); do alive "$pidfile" || break; sleep 0.1; done
    rm -f "$pidfile"
  done
  for i in 1 2 3; do
    alive "$dir/n$i.pid" && kill -TERM "$(cat "$dir/n$i.pid")" 2>/dev/null || true
  done
  for i in 1 2 3; do
    for _ in $(seq 1 100); do alive "$dir/n$i.pid" || break; sleep 0.1; done
    rm -f "$dir/n$i.pid"
  done
  ((purge)) && rm -rf "$dir"
  echo "cluster: down"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  status) cmd_status ;;
  down) shift; cmd_down "$@" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
