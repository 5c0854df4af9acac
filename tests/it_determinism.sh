#!/usr/bin/env bash
# it_determinism: a run is a pure function of its configuration. For each algorithm (small
# budgets): two runs with the same seed give byte-identical progress.csv and checkpoint.bin, even
# when started from another working directory with a relative --out; a different seed gives a
# different progress.csv; wall-clock figures live only in timing.csv, never in progress.csv.
# Usage: bash tests/it_determinism.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_determinism "$@"

# train OUT_DIR ARGS...: one run; its stderr goes to OUT_DIR.log.
train() {
  local out=$1
  shift
  local rc=0
  "$SAFEMARL" train --out "$out" "$@" 2>"$out.log" || rc=$?
  ((rc == 0)) || fail "train --out $out $* exited $rc: $(tail -n 1 "$out.log")"
}

# The columns every progress.csv starts with (harness/train.c); algorithm statistics follow.
BASE_COLS="update,env_steps,episodes,ep_return,ep_cost,ep_length"

# check_progress DIR ALGO: header, shape and monotone counters of a finished run's logs.
check_progress() {
  local dir=$1 algo=$2 header
  [[ -s $dir/progress.csv ]] || fail "$algo: $dir/progress.csv missing or empty"
  [[ -s $dir/timing.csv ]] || fail "$algo: $dir/timing.csv missing or empty"
  header=$(head -n 1 "$dir/progress.csv")
  [[ $header == "$BASE_COLS",* ]] ||
    fail "$algo: progress.csv header '$header' does not start with '$BASE_COLS,<stats>'"
  local -a cols
  IFS=, read -r -a cols <<<"$header"
  ((${#cols[@]} > 6)) || fail "$algo: progress.csv has no algorithm statistics columns"
  local col
  for col in "${cols[@]}"; do
    [[ -n $col ]] || fail "$algo: progress.csv header has an empty column name: '$header'"
    # Wall-clock figures differ between identical runs; they belong in timing.csv only.
    case ${col,,} in
      *time* | wall* | cpu* | *per_s | *_s | *sec* | *host*)
        fail "$algo: progress.csv has a machine-dependent column '$col' (header: $header)" ;;
    esac
  done
  local dup
  dup=$(printf '%s\n' "${cols[@]}" | sort | uniq -d | head -n 1)
  [[ -z $dup ]] || fail "$algo: progress.csv header repeats column '$dup'"
  # Every row has the header's width, update counts 1,2,3..., env_steps strictly increases and
  # the last row reaches run.steps.
  local steps
  steps=$(awk '/^run:/{r=1;next} /^[^ ]/{r=0} r && $1=="steps:"{print $2}' "$dir/config.yaml")
  [[ -n $steps ]] || fail "$algo: no run.steps in $dir/config.yaml"
  awk -F, -v n="${#cols[@]}" -v steps="$steps" -v who="$algo: $dir/progress.csv" '
    function bad(msg) { print who ": " msg; failed = 1; exit 1 }
    NR == 1 { next }
    NF != n { bad("row " NR-1 " has " NF " fields, the header " n) }
    $1 != NR-1 { bad("row " NR-1 " has update=" $1) }
    NR > 2 && $2+0 <= prev { bad("env_steps does not increase at row " NR-1) }
    { prev = $2+0 }
    END { if (!failed && prev < steps) bad("last env_steps " prev " < run.steps " steps)
          exit failed }' "$dir/progress.csv" >&2 || fail "$algo: bad progress.csv in $dir"
  # One timing row per update of an uninterrupted run.
  local np nt
  np=$(wc -l <"$dir/progress.csv")
  nt=$(wc -l <"$dir/timing.csv")
  ((np == nt)) || fail "$algo: progress.csv has $np lines but timing.csv has $nt"
}

# Small budgets: a handful of updates each, well under a second per run.
declare -A ARGS=(
  [gridworld_lagrangian]="--steps 10000"
  [cpo]="--steps 2000 run.num_envs=2 run.rollout_length=100 algo.critic_iters=20"
  [ppo_lag]="--steps 2000 run.num_envs=2 run.rollout_length=100 algo.epochs=2"
)

mkdir -p "$WORK/elsewhere"
for algo in gridworld_lagrangian cpo ppo_lag; do
  t0=$SECONDS
  # shellcheck disable=SC2206  # word splitting of the budget arguments is intended
  args=(--env gridworld --algo "$algo" ${ARGS[$algo]} run.checkpoint_every=2)
  a=$WORK/$algo-a b=$WORK/$algo-b c=$WORK/$algo-c
  train "$a" --seed 7 "${args[@]}"
  # Same seed from another working directory, with a relative --out.
  (
    cd "$WORK/elsewhere"
    train "../$algo-b" --seed 7 "${args[@]}"
  )
  train "$c" --seed 8 "${args[@]}"

  for d in "$a" "$b" "$c"; do
    for f in progress.csv timing.csv config.yaml meta.yaml checkpoint.bin; do
      [[ -f $d/$f ]] || fail "$algo: $d/$f was not written"
    done
  done
  check_progress "$a" "$algo"
  check_progress "$c" "$algo"
  (($(wc -l <"$a/progress.csv") >= 4)) ||
    fail "$algo: fewer than 3 updates; the budget is too small to test anything"

  cmp "$a/progress.csv" "$b/progress.csv" ||
    fail "$algo: same seed, different progress.csv (diff $a/progress.csv $b/progress.csv)"
  cmp "$a/checkpoint.bin" "$b/checkpoint.bin" ||
    fail "$algo: same seed, different checkpoint.bin ($a vs $b)"
  cmp "$a/config.yaml" "$b/config.yaml" || fail "$algo: same arguments, different config.yaml"
  if cmp -s "$a/progress.csv" "$c/progress.csv"; then
    fail "$algo: seeds 7 and 8 give the same progress.csv; the seed is not used"
  fi
  if cmp -s "$a/checkpoint.bin" "$c/checkpoint.bin"; then
    fail "$algo: seeds 7 and 8 give the same checkpoint.bin"
  fi
  n=$(($(wc -l <"$a/progress.csv") - 1))
  echo "it_determinism: $algo ok ($n updates, $((SECONDS - t0)) s)"
done
echo "it_determinism: PASS"
