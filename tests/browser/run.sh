#!/usr/bin/env bash
# End-to-end browser test of the dashboard: installs what it needs when it is
# missing (Debian's chromium, chromium-driver and nats-server; playwright-core
# from the npm registry into a cache directory), then runs dashboard.test.mjs.
#
#   run.sh <path-to-switchyard-binary> <cache-dir>
#
# The cache directory is $SY_BROWSER_CACHE when set, else <cache-dir>; it keeps
# the npm install between runs and receives the screenshot dashboard.png.
# Exit code: the test's.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <path-to-switchyard-binary> <cache-dir>" >&2
  exit 2
fi
binary=$(realpath "$1")
cache=${SY_BROWSER_CACHE:-$2}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
playwright_version=1.65.1   # exact: a new version is a deliberate change

if [ ! -x "$binary" ]; then
  echo "run.sh: $binary is not an executable" >&2
  exit 2
fi

packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium chromium-driver)
command -v nats-server >/dev/null || packages+=(nats-server)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "run.sh: installing ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q "${packages[@]}"
fi

prefix="$cache/playwright-core-$playwright_version"
if [ ! -f "$prefix/node_modules/playwright-core/package.json" ]; then
  echo "run.sh: installing playwright-core@$playwright_version into $prefix"
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund "playwright-core@$playwright_version"
fi

mkdir -p "$cache"
export NODE_PATH="$prefix/node_modules"
exec node "$here/dashboard.test.mjs" "$binary" "$cache"
