#!/usr/bin/env bash
# The test command: set up, then run every test with ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "${SAFEMARL_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)"
