#!/usr/bin/env bash
# Install the Debian 12 packages safemarl needs (idempotent), then configure and build into
# build/. Run as root or with sudo available. Set SAFEMARL_SKIP_APT=1 to only build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SAFEMARL_BUILD_DIR:-$root/build}

mapfile -t packages < <(grep -v '^#' "$root/scripts/packages.txt" | sed '/^\s*$/d')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${SAFEMARL_SKIP_APT:-0}" != 1 ] && [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${SAFEMARL_CMAKE_ARGS:-} > "$build/configure.log" 2>&1 \
  || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)"
echo "setup: built $build/safemarl"
