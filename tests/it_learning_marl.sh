#!/usr/bin/env bash
# Short multi-agent learning check: MAPPO on halfcheetah_2x3 for 160k env steps (4 copies x
# 1000-step rollouts, 40 updates, every update ends 4 episodes) must beat the committed
# random-policy return (results/reference/random_policy.csv) by at least 300, and its own first
# update's return (the untrained policy: small Gaussian actions, about -125) by at least 150.
# final = mean ep_return over the last 10% of updates, as `safemarl report` computes it.
set -euo pipefail
bin=$1
scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch"
root=$(cd "$(dirname "$0")/.." && pwd)

random=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "return_mean") c = i }
                  $1 == "halfcheetah_2x3" { print $c }' "$root/results/reference/random_policy.csv")
[ -n "$random" ] || { echo "FAIL: no halfcheetah_2x3 row in random_policy.csv"; exit 1; }

dir="$scratch/mappo"
"$bin" train --env halfcheetah_2x3 --algo mappo --seed 1 --steps 160000 --out "$dir" \
  run.num_envs=4 run.rollout_length=1000 2> "$dir.log"
"$bin" report "$dir" > /dev/null
final=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "return_median") c = i }
                 NR == 2 { print $c }' "$dir/summary.csv")
first=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ep_return") c = i }
                 NR == 2 { print $c }' "$dir/progress.csv")
verdict=$(awk -v f="$final" -v r="$random" -v i="$first" \
  'BEGIN { print (f >= r + 300 && f >= i + 150) ? "ok" : "FAIL" }')
echo "$verdict: mappo halfcheetah_2x3 160k steps: final return $final" \
  "(random policy $random, first update $first; need >= random + 300 and >= first + 150)"
[ "$verdict" = ok ]
