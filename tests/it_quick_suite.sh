#!/usr/bin/env bash
# The CI regression gate: run the quick suite (benchmarks/quick.yaml: the three single-agent
# algorithms on the gridworld at cost limit 0.6 and MAPPO, HAPPO, MAPPO-L on halfcheetah_2x3 for
# 100k steps, 3 seeds each) and check its results against the
# committed reference bands (results/reference/quick.csv) with `safemarl regress` (return and
# cost; no --perf: wall-clock figures are too noisy for CI).
set -euo pipefail
bin=$1
scratch=$2
root=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$scratch"
mkdir -p "$scratch"
start=$(date +%s)
"$bin" sweep "$root/benchmarks/quick.yaml" -j 2 --out "$scratch" > "$scratch/sweep.log" 2>&1 \
  || { cat "$scratch/sweep.log"; echo "FAIL: the quick suite had failed runs"; exit 1; }
echo "quick suite: $(( $(date +%s) - start )) s wall"
"$bin" regress "$root/benchmarks/quick.yaml" --runs "$scratch"
