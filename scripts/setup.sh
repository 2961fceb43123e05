#!/usr/bin/env bash
# Installs the Debian 12 packages switchyard needs (only when one is missing)
# and builds the project into ./build. Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake make g++ pkg-config
  libcaf-dev libnats-dev nats-server
  libmsgpack-cxx-dev libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev
  nlohmann-json3-dev libcpp-httplib-dev libssl-dev
  python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The object-store interop test runs the NATS JavaScript client (npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_type="${SY_BUILD_TYPE:-RelWithDebInfo}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
cmake --build build -j "${SY_JOBS:-2}"
