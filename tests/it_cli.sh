#!/usr/bin/env bash
# it_cli: the command-line surface of DESIGN.md §6 as a user meets it: --help on every verb,
# list, the exact gridworld LP optimum and frontier, eval of a trained run (with an env's
# statistics), and config.yaml of a run loading back through --config into the same
# configuration (and the same results).
# Usage: bash tests/it_cli.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_cli "$@"
cd "$WORK"

# Every check runs: problem (tests/itlib.sh) counts a failure and the script exits 1 at the end.

# ok OUT ARGS...: `safemarl ARGS` must exit 0; stdout goes to OUT, stderr to OUT.err.
ok() {
  local out=$1 rc=0
  shift
  "$SAFEMARL" "$@" >"$out" 2>"$out.err" </dev/null || rc=$?
  ((rc == 0)) || problem "safemarl $* exited $rc: $(head -n 3 "$out.err")"
  return "$rc"
}

# ---- --help ----------------------------------------------------------------------------------
if ! ok top.txt --help || ! grep -q '^usage: safemarl' top.txt; then
  problem "safemarl --help prints no usage"
fi
[[ ! -s top.txt.err ]] || problem "safemarl --help writes to stderr: $(cat top.txt.err)"
if ! ok top_h.txt -h || ! cmp -s top.txt top_h.txt; then
  problem "safemarl -h differs from safemarl --help"
fi
# The verbs the binary offers are the first words of the usage's indented lines.
mapfile -t verbs < <(awk '/^  [a-z]/{print $1}' top.txt)
for v in train eval lp list; do
  printf '%s\n' "${verbs[@]}" | grep -qx "$v" || problem "top-level usage does not list '$v'"
done
for v in "${verbs[@]}"; do
  out=help_$v.txt
  ok "$out" "$v" --help || continue
  [[ ! -s $out.err ]] || problem "safemarl $v --help writes to stderr: $(cat "$out.err")"
  [[ -s $out ]] || problem "safemarl $v --help prints nothing"
  # `version` prints the versions whatever its arguments; every other verb prints its usage.
  if [[ $v != version ]] && ! grep -q "^usage: safemarl $v" "$out"; then
    problem "safemarl $v --help does not print 'usage: safemarl $v ...': $(head -n 1 "$out")"
  fi
done
# With --env and --algo, train --help lists each parameter with its default.
ok help_cpo.txt train --env gridworld --algo cpo --help || true
for key in run.seed run.steps run.checkpoint_every env.obs algo.delta; do
  grep -qE "^ +$key \(.*default" help_cpo.txt ||
    problem "train --env gridworld --algo cpo --help does not document $key"
done

# ---- list ------------------------------------------------------------------------------------
ok envs.txt list envs || true
awk '{print $1}' envs.txt | grep -qx gridworld ||
  problem "list envs lacks gridworld: $(cat envs.txt)"
ok algos.txt list algos || true
for a in gridworld_lagrangian cpo ppo_lag; do
  awk '{print $1}' algos.txt | grep -qx "$a" || problem "list algos lacks $a: $(cat algos.txt)"
done

# ---- lp --------------------------------------------------------------------------------------
# Exact optimum of the 6x6 gridworld CMDP (50 steps, undiscounted) at D = 0.6.
want="return=9.100000 cost=0.600000"
ok lp.txt lp gridworld --cost-limit 0.6 || true
[[ $(cat lp.txt) == "$want" ]] ||
  problem "lp gridworld --cost-limit 0.6 printed '$(cat lp.txt)', expected '$want'"
ok frontier.txt lp gridworld --frontier 0.1,0.35,0.6 || true
[[ $(head -n 1 frontier.txt) == cost_limit,return,cost ]] ||
  problem "frontier header is '$(head -n 1 frontier.txt)', expected 'cost_limit,return,cost'"
(($(wc -l <frontier.txt) == 4)) ||
  problem "frontier should be a header and 3 rows:"$'\n'"$(cat frontier.txt)"
# Each frontier row is the single-limit optimum, in the order given, with cost <= limit.
i=0
for d in 0.1 0.35 0.6; do
  i=$((i + 1))
  row=$(sed -n "$((i + 1))p" frontier.txt)
  ok "lp_$d.txt" lp gridworld --cost-limit "$d" || continue
  # "return=R cost=C" -> "D,R,C" with D printed like lp prints it.
  want=$(awk -v d="$d" '{sub("return=", ""); sub("cost=", ""); printf "%.6f,%s,%s\n", d, $1, $2}' \
    "lp_$d.txt")
  [[ $row == "$want" ]] || problem "frontier row $i is '$row'; lp --cost-limit $d gives '$want'"
  awk -F, '{exit !($3 <= $1 + 1e-9)}' <<<"$row" || problem "frontier row $i exceeds its limit: $row"
done
# The optimal return never decreases as the limit grows.
awk -F, 'NR > 2 && $2 < prev - 1e-9 {bad=1} NR > 1 {prev=$2} END {exit bad}' frontier.txt ||
  problem "frontier returns decrease with the limit:"$'\n'"$(cat frontier.txt)"
# With --cost-limit as well, the same CSV follows the single result.
ok both.txt lp gridworld --cost-limit 0.35 --frontier 0.1,0.35,0.6 || true
grep -qx 'return=2.050000 cost=0.350000' both.txt ||
  problem "lp --cost-limit 0.35 --frontier ... lost the return=... cost=... line"
tail -n 4 both.txt | cmp -s - frontier.txt ||
  problem "lp --cost-limit D --frontier ... prints a different CSV than --frontier alone"

# ---- a trained run: eval and config.yaml round trip ------------------------------------------
# Non-default values in every section, so the round trip shows they are written and read back.
ok train1.txt train --env gridworld --algo ppo_lag --seed 4 --steps 1200 --out run1 \
  run.num_envs=3 run.rollout_length=100 run.checkpoint_every=2 env.obs=onehot algo.epochs=2 \
  algo.lr=5e-4 algo.lr_decay=false algo.constraint=cost_to_go ||
  fail "could not train run1"
for kv in "num_envs: 3" "obs: onehot" "epochs: 2" "lr_decay: false" "constraint: cost_to_go"; do
  grep -q "^  $kv\$" run1/config.yaml || problem "run1/config.yaml lacks '$kv'"
done

ok eval.txt eval run1 --episodes 3 || true
if ! grep -qE '^episodes=3 return=[-+0-9.eE]+ cost=[-+0-9.eE]+ length=[0-9.eE+]+$' eval.txt ||
  (($(wc -l <eval.txt) != 1)); then
  problem "eval run1 --episodes 3 printed '$(cat eval.txt)'"
fi
ok eval2.txt eval run1 --episodes 3 || true
cmp -s eval.txt eval2.txt ||
  problem "eval is not deterministic: '$(cat eval.txt)' then '$(cat eval2.txt)'"
# --trace: one row per step whose sums reproduce the printed means.
ok evtr.txt eval run1 --episodes 3 --trace trace.csv || true
cmp -s eval.txt evtr.txt || problem "eval --trace changed the printed line: '$(cat evtr.txt)'"
if [[ "$(head -n 1 trace.csv 2>/dev/null)" != "episode,step,reward,cost" ]]; then
  problem "eval --trace: bad header '$(head -n 1 trace.csv 2>/dev/null)'"
else
  read -r want_ret want_cost want_len < <(sed -E 's/.*return=([^ ]+) cost=([^ ]+) length=([^ ]+)/\1 \2 \3/' eval.txt)
  awk -F, -v r="$want_ret" -v c="$want_cost" -v l="$want_len" '
    NR > 1 { ret += $3; cost += $4; n++; if ($2 != ((NR > 2 && $1 == ep) ? last + 1 : 0)) bad = 1; ep = $1; last = $2 }
    END { d = (ret / 3 - r); if (d < 0) d = -d; e = (cost / 3 - c); if (e < 0) e = -e
          exit bad || n != 3 * l || ep != 2 || d > 1e-3 * (1 + (r < 0 ? -r : r)) || e > 1e-3 * (1 + c) }' trace.csv ||
    problem "eval --trace rows do not add up to '$(cat eval.txt)' (or steps are not 0,1,2,... per episode)"
fi
ok eval10.txt eval run1 || true
grep -qE '^episodes=10 ' eval10.txt ||
  problem "eval without --episodes did not run 10 episodes: $(cat eval10.txt)"
# An env with statistics: eval appends them (episode sums averaged like progress.csv's ep_*
# columns). On drone_swarm_point the team cost is the sum of its two components.
ok trainp.txt train --env drone_swarm_point --algo mappo --seed 2 --steps 400 --out runp \
  run.num_envs=2 run.rollout_length=100 || fail "could not train runp"
ok evalp.txt eval runp --episodes 4 || true
if ! grep -qE '^episodes=4 return=[^ ]+ cost=[^ ]+ length=[^ ]+ cost_drone_drone=[^ ]+ cost_drone_obstacle=[^ ]+ arrivals=[^ ]+ crashes=[^ ]+ success=[^ ]+' evalp.txt; then
  problem "eval of a drone_swarm_point run lacks the env's statistics: '$(cat evalp.txt)'"
else
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
       END { d = v["cost"] - v["cost_drone_drone"] - v["cost_drone_obstacle"]; if (d < 0) d = -d
             exit d > 1e-6 * (1 + v["cost"]) || v["length"] < 1 }' evalp.txt ||
    problem "eval of runp: cost is not cost_drone_drone + cost_drone_obstacle: '$(cat evalp.txt)'"
fi

# Same steps: the configuration, and therefore the whole run, is reproduced exactly.
ok train2.txt train --config run1/config.yaml --out run2 || fail "train --config failed"
cmp run1/config.yaml run2/config.yaml ||
  problem "run2/config.yaml differs from the run1/config.yaml it was loaded from"
cmp run1/progress.csv run2/progress.csv ||
  problem "a run from run1/config.yaml gives a different progress.csv than run1"
# Changed steps: only run.steps differs.
ok train3.txt train --config run1/config.yaml --steps 600 --out run3 ||
  fail "train --config ... --steps 600 failed"
diff <(grep -v '^  steps:' run1/config.yaml) <(grep -v '^  steps:' run3/config.yaml) ||
  problem "run3/config.yaml differs from run1's in more than run.steps"
grep -qx '  steps: 600' run3/config.yaml || problem "run3/config.yaml does not say steps: 600"
# Overrides after --config apply on top of the file.
ok train4.txt train --config run1/config.yaml --out run4 algo.epochs=1 ||
  fail "train --config ... algo.epochs=1 failed"
if ! diff <(grep -v '^  epochs:' run1/config.yaml) <(grep -v '^  epochs:' run4/config.yaml) ||
  ! grep -qx '  epochs: 1' run4/config.yaml; then
  problem "algo.epochs=1 after --config was not applied, or changed more than algo.epochs"
fi

if ((PROBLEMS > 0)); then
  echo "it_cli: $PROBLEMS problem(s)" >&2
  exit 1
fi
echo "it_cli: PASS"
