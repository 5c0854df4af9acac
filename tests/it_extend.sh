#!/usr/bin/env bash
# it_extend: a run extended past its budget (`train --resume DIR --steps N`) ends byte-identical
# to a fresh N-step run (progress.csv, checkpoint.bin, config.yaml, meta.yaml's config hash),
# also in two stages, when killed during the extension and then resumed either way, and from
# the state a kill between its first checkpoint and config.yaml leaves. Refused,
# with nothing touched: an algorithm whose schedules read the budget (cpo), and a budget below
# the steps already run. A sweep whose suite raises the budget lists the finished runs as
# `extend`, extends them to the fresh runs' files, and skips them afterwards; any other change
# is still `changed` and refused.
# Usage: bash tests/it_extend.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_extend "$@"
cd "$WORK"

hash_of() { sed -n 's/^config_hash: //p' "$1/meta.yaml"; }

# run ARGS...: must exit 0.
run() {
  local rc=0
  "$SAFEMARL" "$@" 2>>"$WORK/log" >/dev/null || rc=$?
  ((rc == 0)) || fail "safemarl $* exited $rc: $(tail -n 1 "$WORK/log")"
}

# same_as_fresh FRESH DIR WHAT: DIR's deterministic files equal FRESH's.
same_as_fresh() {
  local a=$1 b=$2 what=$3 f
  for f in progress.csv checkpoint.bin config.yaml; do
    cmp -s "$a/$f" "$b/$f" || problem "$what: $b/$f differs from the fresh run's"
  done
  [[ $(hash_of "$a") == $(hash_of "$b") ]] ||
    problem "$what: meta.yaml config_hash $(hash_of "$b"), the fresh run's $(hash_of "$a")"
}

# MAPPO-L on the point-mass swarm: 50-step rollouts on 2 copies = 100 env steps per update,
# a checkpoint after every update, episodes (200 steps) crossing the budget boundaries.
A=(--env drone_swarm_point --algo mappo_lag run.num_envs=2 run.rollout_length=50
  run.checkpoint_every=1)
run train "${A[@]}" --seed 3 --steps 3000 --out fresh
(($(rows fresh) == 30)) || fail "fresh run has $(rows fresh) rows, expected 30"

# ---- one stage, two stages ----------------------------------------------------------------
run train "${A[@]}" --seed 3 --steps 1200 --out one
run train --resume one --steps 3000
same_as_fresh fresh one "1200 -> 3000"
grep -q '^ *- {session: 0, from_update: 0, steps: 1200,' one/meta.yaml &&
  grep -q '^ *- {session: 1, from_update: 12, steps: 3000,' one/meta.yaml ||
  problem "one/meta.yaml does not record the sessions' budgets: $(grep session one/meta.yaml)"

run train "${A[@]}" --seed 3 --steps 700 --out two
run train --resume two --steps 1900
run train --resume two --steps 3000
same_as_fresh fresh two "700 -> 1900 -> 3000"

# ---- killed during the extension, resumed plainly or with the same command -----------------
for how in plain again; do
  run train "${A[@]}" --seed 3 --steps 1000 --out "kill_$how"
  "$SAFEMARL" train --resume "kill_$how" --steps 3000 2>>"$WORK/log" >/dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && (($(rows "kill_$how") < 14)); do sleep 0.002; done
  kill -KILL "$pid" 2>/dev/null || true
  st=0
  { wait "$pid"; } 2>/dev/null || st=$?
  ((st == 137)) || fail "kill_$how: the extension finished (status $st) before the kill"
  if [[ $how == plain ]]; then
    run train --resume "kill_$how"
  else
    run train --resume "kill_$how" --steps 3000
  fi
  same_as_fresh fresh "kill_$how" "extension killed at $(rows fresh) rows, resumed $how"
done

# The extension writes its first checkpoint (new budget) before config.yaml: a kill between the
# two leaves the old config.yaml beside a new checkpoint, which the same command accepts.
run train "${A[@]}" --seed 3 --steps 1000 --out window
cp window/config.yaml window_config.yaml
"$SAFEMARL" train --resume window --steps 3000 2>>"$WORK/log" >/dev/null &
pid=$!
while kill -0 "$pid" 2>/dev/null && (($(rows window) < 12)); do sleep 0.002; done
kill -KILL "$pid" 2>/dev/null || true
{ wait "$pid"; } 2>/dev/null || true
cp window_config.yaml window/config.yaml
run train --resume window --steps 3000
same_as_fresh fresh window "old config.yaml beside the extension's checkpoint"

# ---- refusals leave the run untouched ------------------------------------------------------
expect_refusal() { # DIR PATTERN ARGS...
  local dir=$1 pat=$2 before after rc=0
  shift 2
  before=$(snapshot "$dir")
  "$SAFEMARL" "$@" >/dev/null 2>"$WORK/err" || rc=$?
  ((rc == 2)) || problem "safemarl $*: exit $rc, expected 2"
  (($(wc -l <"$WORK/err") == 1)) && grep -q "$pat" "$WORK/err" ||
    problem "safemarl $*: message '$(cat "$WORK/err")' lacks '$pat'"
  after=$(snapshot "$dir")
  [[ $before == "$after" ]] || problem "safemarl $*: changed files of $dir"
}
run train --env gridworld --algo cpo --seed 0 --steps 400 --out cpo
expect_refusal cpo "schedules" train --resume cpo --steps 800
expect_refusal one "already has 3000 env steps" train --resume one --steps 2000
expect_refusal one "no other options" train --resume one --steps 4000 algo.lr=0.001

# ---- a sweep extends finished runs when the suite raises the budget ------------------------
write_suite() { # STEPS [EXTRA_OVERRIDE]
  {
    echo "name: ext"
    echo "seeds: 2"
    echo "steps: $1"
    echo "overrides:"
    echo "  run.num_envs: 2"
    echo "  run.rollout_length: 50"
    echo "  run.checkpoint_every: 1"
    [[ -n ${2:-} ]] && echo "  $2"
    echo "envs: [drone_swarm_point]"
    echo "algos: [mappo_lag]"
  } >ext.yaml
}
write_suite 1200
run sweep ext.yaml -j 2 --out R
write_suite 3000
"$SAFEMARL" sweep ext.yaml --dry-run --out R >dry.txt
(($(grep -c '^[0-9]* extend ' dry.txt) == 2)) || problem "dry run after raising steps: $(cat dry.txt)"
run sweep ext.yaml -j 2 --out R
run_dir=R/ext/drone_swarm_point/mappo_lag
for k in 0 1; do
  run train "${A[@]}" --seed $k --steps 3000 --out "fresh_s$k"
  same_as_fresh "fresh_s$k" "$run_dir/seed$k" "sweep extension, seed $k"
done
"$SAFEMARL" sweep ext.yaml --dry-run --out R >dry2.txt
(($(grep -c '^[0-9]* finished ' dry2.txt) == 2)) || problem "after the extension: $(cat dry2.txt)"
# Another change is no extension.
write_suite 4000 "algo.lr: 0.001"
"$SAFEMARL" sweep ext.yaml --dry-run --out R >dry3.txt
(($(grep -c '^[0-9]* changed ' dry3.txt) == 2)) || problem "a changed lr: $(cat dry3.txt)"

((PROBLEMS == 0)) || exit 1
echo "it_extend: OK"
