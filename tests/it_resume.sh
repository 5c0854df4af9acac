#!/usr/bin/env bash
# it_resume: a run killed with SIGKILL at a random point and continued with `train --resume`
# ends byte-identical to an uninterrupted run (progress.csv, checkpoint.bin, config.yaml), for
# every algorithm and for MAPPO-L on drone_swarm_point with env.safety_layer=project (the
# projection inside the env step; its ep_safety_interventions column must be > 0 somewhere); also when the kill came before the first checkpoint (the
# resume restarts from scratch) and across several kill/resume cycles. Resuming a finished run
# is a no-op, and meta.yaml records one session per start.
# The kill point is a random progress.csv row count; set IT_SEED to replay a failing draw.
# Usage: bash tests/it_resume.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_resume "$@"
IT_SEED=${IT_SEED:-$(((RANDOM << 15) | RANDOM))}
RANDOM=$IT_SEED
echo "it_resume: IT_SEED=$IT_SEED"

# Every check runs: problem (tests/itlib.sh) counts a failure and the script exits 1 at the end.

# train OUT_DIR ARGS...: an uninterrupted run; stderr goes to OUT_DIR.log.
train() {
  local out=$1
  shift
  local rc=0
  "$SAFEMARL" train --out "$out" "$@" 2>>"$out.log" || rc=$?
  ((rc == 0)) || fail "train --out $out $* exited $rc: $(tail -n 1 "$out.log")"
}

resume() {
  local dir=$1 rc=0
  "$SAFEMARL" train --resume "$dir" 2>>"$dir.log" || rc=$?
  ((rc == 0)) || fail "train --resume $dir exited $rc: $(tail -n 1 "$dir.log")"
}

# kill_at_rows DIR K COMMAND...: start COMMAND in the background and SIGKILL it as soon as
# DIR/progress.csv holds at least K data rows. Sets KILLED_AT to the row count at the kill.
# Fails if the command finished on its own: then nothing was tested.
KILLED_AT=0
kill_at_rows() {
  local dir=$1 k=$2
  shift 2
  "$@" 2>>"$dir.log" &
  local pid=$! n=0 st=0
  while kill -0 "$pid" 2>/dev/null; do
    n=$(rows "$dir")
    if ((n >= k)); then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.002
  done
  # Braces and 2>/dev/null silence bash's "Killed" job notice.
  { wait "$pid"; } 2>/dev/null || st=$?
  ((st == 137)) || fail "$dir: run exited with status $st before the kill at row $k" \
    "(a budget too small for this machine?)"
  KILLED_AT=$(rows "$dir")
}

# compare_runs A B WHAT: the deterministic files of B equal those of A.
compare_runs() {
  local a=$1 b=$2 what=$3 f
  for f in progress.csv checkpoint.bin config.yaml; do
    [[ -f $b/$f ]] || fail "$what: $b/$f missing after resume"
    cmp "$a/$f" "$b/$f" || problem "$what: $b/$f differs from the uninterrupted run's ($a/$f)"
  done
  local tmp
  tmp=$(find "$b" -name '*.tmp*' | head -n 1)
  [[ -z $tmp ]] || echo "it_resume: note: $what: leftover temporary file $tmp"
}

# check_sessions DIR N: meta.yaml lists sessions 0..N-1, one per start of the run.
check_sessions() {
  local dir=$1 want=$2 got
  got=$(grep -c '^ *- {session: ' "$dir/meta.yaml" || true)
  ((got == want)) || problem "$dir/meta.yaml records $got sessions, expected $want"
  local i
  for ((i = 0; i < want; i++)); do
    grep -q "^ *- {session: $i," "$dir/meta.yaml" || problem "$dir/meta.yaml has no session $i"
  done
}

# Budgets: 30-90 updates, each a few to ~50 ms, so a poll every 2 ms kills mid-run. The
# multi-agent algorithms run on HalfCheetah with rollouts shorter than its 1000-step episodes,
# so every checkpoint is taken mid-episode (MuJoCo state, normalisers, multipliers, M order).
declare -A ARGS=(
  [gridworld_lagrangian]="--steps 40000 run.num_envs=20"
  [cpo]="--steps 6000 run.num_envs=2 run.rollout_length=100 algo.critic_iters=40"
  [ppo_lag]="--steps 8000 run.num_envs=2 run.rollout_length=100 algo.epochs=10"
  [mappo]="--steps 12000 run.num_envs=2 run.rollout_length=150 algo.minibatches=2"
  [happo]="--steps 12000 run.num_envs=2 run.rollout_length=150 algo.minibatches=2"
  [mappo_lag]="--steps 12000 run.num_envs=2 run.rollout_length=150 algo.minibatches=2 algo.lambda_lr=1"
  [mappo_lag_q]="--steps 8000 run.num_envs=2 run.rollout_length=100 algo.minibatches=2 algo.lambda_lr=1 algo.cost_critic=q"
  [mappo_lag_safe]="--steps 8000 run.num_envs=2 run.rollout_length=100 algo.minibatches=2 algo.lambda_lr=1 env.safety_layer=project"
  [macpo]="--steps 12000 run.num_envs=2 run.rollout_length=150 algo.minibatches=2"
  [scal_mappo_lag]="--steps 12000 run.num_envs=2 run.rollout_length=150 algo.minibatches=2 algo.lambda_lr=1 env.obs=obsk env.obs_k=1 algo.kappa=1"
  [focops]="--steps 8000 run.num_envs=2 run.rollout_length=100 algo.nu_lr=0.2"
  [mafocops]="--steps 12000 run.num_envs=2 run.rollout_length=150 algo.minibatch=100 algo.minibatches=2 algo.nu_lr=0.01 env.cost_limit=10"
)
declare -A ENVS=([gridworld_lagrangian]=gridworld [cpo]=gridworld [ppo_lag]=gridworld
                 [mappo]=halfcheetah_2x3 [happo]=halfcheetah_2x3 [mappo_lag]=halfcheetah_2x3
                 [macpo]=halfcheetah_2x3
                 [scal_mappo_lag]=halfcheetah_6x1
                 [mappo_lag_q]=drone_swarm_point [mappo_lag_safe]=drone_swarm_point
                 [focops]=gridworld [mafocops]=halfcheetah_2x3)

# ---- one kill per algorithm, checkpoint every 3 updates -------------------------------------
# A key that is not an algorithm name (a variant with its own budget) maps to its algorithm.
declare -A ALGO_OF=([mappo_lag_q]=mappo_lag [mappo_lag_safe]=mappo_lag)
for algo in gridworld_lagrangian cpo ppo_lag mappo happo mappo_lag mappo_lag_q mappo_lag_safe macpo \
  scal_mappo_lag focops mafocops; do
  t0=$SECONDS
  # shellcheck disable=SC2206  # word splitting of the budget arguments is intended
  args=(--env "${ENVS[$algo]}" --algo "${ALGO_OF[$algo]:-$algo}" --seed 3 ${ARGS[$algo]}
    run.checkpoint_every=3)
  a=$WORK/$algo-A b=$WORK/$algo-B
  train "$a" "${args[@]}"
  total=$(rows "$a")
  ((total >= 10)) || fail "$algo: only $total updates; the budget is too small"
  # A row count in [1, 60% of the run]: sometimes before the first checkpoint, usually after.
  k=$((1 + RANDOM % (total * 6 / 10)))
  kill_at_rows "$b" "$k" "$SAFEMARL" train --out "$b" "${args[@]}"
  ((KILLED_AT < total)) || fail "$algo: killed only after all $total rows were written"
  resume "$b"
  compare_runs "$a" "$b" "$algo (killed at row $KILLED_AT of $total)"
  check_sessions "$b" 2
  # Resuming a finished run changes nothing.
  before=$(snapshot "$b")
  resume "$b"
  after=$(snapshot "$b")
  if [[ $before != "$after" ]]; then
    problem "$algo: --resume of a finished run changed files:"$'\n'"$(diff <(echo "$before") - \
      <<<"$after")"
  fi
  echo "it_resume: $algo done (killed at row $KILLED_AT of $total, $((SECONDS - t0)) s)"
done

# ---- env statistics: the safety layer's interventions reach progress.csv --------------------
# harness/train.c logs each env info value summed over an episode as ep_<name> (mean over the
# rollout's episodes); with the layer on, drone_swarm_point reports safety_interventions.
p=$WORK/mappo_lag_safe-A/progress.csv
col=$(head -n 1 "$p" | tr ',' '\n' | grep -nx ep_safety_interventions | cut -d: -f1 || true)
if [[ -z $col ]]; then
  problem "$p: no ep_safety_interventions column"
elif ! awk -F, -v c="$col" 'NR > 1 && $c + 0 > 0 {found = 1} END {exit !found}' "$p"; then
  problem "$p: ep_safety_interventions is never > 0 (the layer never acted?)"
fi

# ---- kill before the first checkpoint: the resume starts over ------------------------------
t0=$SECONDS
algo=ppo_lag
# shellcheck disable=SC2206
args=(--env gridworld --algo "$algo" --seed 5 ${ARGS[$algo]} run.checkpoint_every=1000)
a=$WORK/nockpt-A b=$WORK/nockpt-B
train "$a" "${args[@]}"
total=$(rows "$a")
k=$((1 + RANDOM % (total / 2)))
kill_at_rows "$b" "$k" "$SAFEMARL" train --out "$b" "${args[@]}"
[[ ! -e $b/checkpoint.bin ]] ||
  fail "$b/checkpoint.bin exists after $KILLED_AT updates although checkpoint_every=1000"
resume "$b"
compare_runs "$a" "$b" "no-checkpoint case (killed at row $KILLED_AT of $total)"
check_sessions "$b" 2
echo "it_resume: kill before the first checkpoint done" \
  "(row $KILLED_AT of $total, $((SECONDS - t0)) s)"

# ---- three kills in one run: kill, resume, kill again, ... -----------------------------------
t0=$SECONDS
algo=ppo_lag
# shellcheck disable=SC2206
args=(--env gridworld --algo "$algo" --seed 3 ${ARGS[$algo]} run.checkpoint_every=3)
a=$WORK/$algo-A b=$WORK/multi-B
total=$(rows "$a")
k=$((1 + RANDOM % (total / 4)))
kill_at_rows "$b" "$k" "$SAFEMARL" train --out "$b" "${args[@]}"
kills="$KILLED_AT"
for _ in 2 3; do
  # The resumed process first cuts progress.csv back to its checkpoint, then regrows it; wait
  # for more rows than the file held at the last kill so the stale rows do not trigger it.
  k=$((KILLED_AT + 2 + RANDOM % 5))
  ((k < total - 2)) || break
  kill_at_rows "$b" "$k" "$SAFEMARL" train --resume "$b"
  kills="$kills,$KILLED_AT"
done
resume "$b"
compare_runs "$a" "$b" "$algo after kills at rows $kills of $total"
n_kills=$(tr ',' '\n' <<<"$kills" | wc -l)
check_sessions "$b" $((n_kills + 1))
cmp "$a/config.yaml" "$b/config.yaml" || problem "multi-kill: config.yaml changed"
echo "it_resume: $n_kills kills done (rows $kills of $total, $((SECONDS - t0)) s)"

((PROBLEMS == 0)) || {
  echo "it_resume: $PROBLEMS check(s) failed (IT_SEED=$IT_SEED)" >&2
  exit 1
}
echo "it_resume: PASS"
