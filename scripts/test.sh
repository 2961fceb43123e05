#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite through
# CTest. Extra arguments go to ctest (e.g. -L integration, -R filter).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir build --output-on-failure --timeout 600 "$@"
