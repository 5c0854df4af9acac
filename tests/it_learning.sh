#!/usr/bin/env bash
# Short learning check against the exact optimum (the full comparison is scripts/quickstart.sh):
# at cost limit 0.6 the LP optimum is return 9.1 at cost 0.6. One seed per algorithm, budgets
# about half of the reference runs', and a looser band than the reference criterion (within
# 10% and cost <= 0.66): final return >= 85% of the optimum and final cost <= 0.75, where
# final = mean over the last 10% of updates (as `safemarl report` computes it).
set -euo pipefail
bin=$1
scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch"
root=$(cd "$(dirname "$0")/.." && pwd)

lp=$("$bin" lp gridworld --cost-limit 0.6)
opt=$(sed -n 's/^return=\([^ ]*\) cost=.*/\1/p' <<< "$lp")
[ -n "$opt" ] || { echo "FAIL: could not read the LP optimum from: $lp"; exit 1; }

declare -A steps=([gridworld_lagrangian]=1000000 [cpo]=150000 [ppo_lag]=60000 [focops]=100000)
fail=0
for algo in gridworld_lagrangian cpo ppo_lag focops; do
  dir="$scratch/$algo"
  "$bin" train --config "$root/benchmarks/gridworld/$algo.yaml" --seed 0 \
    --steps "${steps[$algo]}" --out "$dir" env.cost_limit=0.6 2> "$dir.log"
  "$bin" report "$dir" > /dev/null
  # One run per cell: the medians are the run's own final values.
  col() { awk -F, -v k="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i }
                             NR == 2 { print $c }' "$dir/summary.csv"; }
  ret=$(col return_median)
  cost=$(col cost_median)
  verdict=$(awk -v r="$ret" -v c="$cost" -v o="$opt" \
    'BEGIN { print (r >= 0.85 * o && c <= 0.75) ? "ok" : "FAIL" }')
  echo "$verdict: $algo ${steps[$algo]} steps: final return $ret (optimum $opt), final cost $cost"
  [ "$verdict" = ok ] || fail=1
done
exit $fail
