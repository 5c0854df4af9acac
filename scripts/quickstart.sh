#!/usr/bin/env bash
# The main job: set up, then compare the three single-agent safe-RL algorithms on the seed's
# gridworld against the exact optimum of its CMDP (occupancy-measure LP), 3 seeds each, at two
# cost limits, and print the results table. Runs two trainings at a time; re-running resumes
# or skips what is done. Results: results/runs/quickstart/ (summary.md, summary.csv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
bin="${SAFEMARL_BUILD_DIR:-$root/build}/safemarl"
out="$root/results/runs/quickstart"
mkdir -p "$out"
jobs=${SAFEMARL_JOBS:-$(nproc)}

# Per-algorithm settings and budgets: benchmarks/gridworld/<algo>.yaml.
limits=${SAFEMARL_LIMITS:-"0.6 0.35"}
seeds=${SAFEMARL_SEEDS:-"0 1 2"}

tasks=()
for limit in $limits; do
  for algo in gridworld_lagrangian cpo ppo_lag; do
    for seed in $seeds; do
      tasks+=("$algo $limit $seed")
    done
  done
done

run_one() {
  local bin=$1 out=$2 algo=$3 limit=$4 seed=$5 config=$6
  local dir="$out/gridworld/limit$limit/$algo/seed$seed"
  if [ -f "$dir/config.yaml" ]; then
    "$bin" train --resume "$dir" > /dev/null 2> "$dir.log"
  else
    mkdir -p "$(dirname "$dir")"
    "$bin" train --config "$config" --seed "$seed" --out "$dir" "env.cost_limit=$limit" \
      > /dev/null 2> "$dir.log"
  fi
  echo "done: $algo cost_limit=$limit seed=$seed"
}
export -f run_one
for t in "${tasks[@]}"; do
  set -- $t
  echo "$bin $out $1 $2 $3 $root/benchmarks/gridworld/$1.yaml"
done | xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' _

echo
echo "Exact optimum of the gridworld CMDP (50-step horizon, undiscounted):"
for limit in $limits; do
  printf '  cost limit %s: %s\n' "$limit" "$("$bin" lp gridworld --cost-limit "$limit")"
done
echo
echo "Learned (final = mean over the last 10% of updates; median [p25, p75] over seeds):"
"$bin" report "$out"
