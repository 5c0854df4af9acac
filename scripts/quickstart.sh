#!/usr/bin/env bash
# The main job: set up, then compare the three single-agent safe-RL algorithms on the seed's
# gridworld against the exact optimum of its CMDP (occupancy-measure LP), 3 seeds each, at three
# cost limits (the suite benchmarks/gridworld.yaml), and print the results table. Runs one
# training per core; re-running resumes killed runs and skips finished ones.
# Results: results/runs/gridworld/ (summary.md, summary.csv, pairs.csv, plots/*.png|svg).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
bin="${SAFEMARL_BUILD_DIR:-$root/build}/safemarl"
cd "$root"

# A failed run is reported by the sweep (and in its failed.txt); the table still shows the rest.
status=0
"$bin" sweep benchmarks/gridworld.yaml -j "${SAFEMARL_JOBS:-$(nproc)}" || status=$?

echo
echo "Exact optimum of the gridworld CMDP (50-step horizon, undiscounted):"
for limit in 0.6 0.35 0.1; do
  printf '  cost limit %s: %s\n' "$limit" "$("$bin" lp gridworld --cost-limit "$limit")"
done
echo
echo "Learned (final = mean over the last 10% of updates; median [p25, p75] over seeds):"
"$bin" report results/runs/gridworld
"$bin" plot results/runs/gridworld
exit "$status"
