#!/usr/bin/env bash
# it_threads: results do not depend on run.threads. For every gridworld algorithm (continuing
# rollouts with time-limit bootstraps, episodic rollouts with padding) a run on 1, 2 and 3
# threads (and more threads than copies) gives byte-identical progress.csv and checkpoint.bin;
# run.threads is outside the config hash, so a threads=1 run killed mid-way and resumed with
# --threads 2 ends identical to the uninterrupted run, and timing.csv records each session's
# thread count. A MuJoCo task is checked the same way once `mappo` is registered. Also a smoke
# check of `bench train` (the five figures, exit 0) and its bad input (one line, exit 2).
# Usage: bash tests/it_threads.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_threads "$@"

# train OUT_DIR ARGS...: one run; its stderr goes to OUT_DIR.log.
train() {
  local out=$1
  shift
  local rc=0
  "$SAFEMARL" train --out "$out" "$@" 2>>"$out.log" || rc=$?
  ((rc == 0)) || fail "train --out $out $* exited $rc: $(tail -n 1 "$out.log")"
}

# same_run A B WHAT: B's deterministic files equal A's.
same_run() {
  local a=$1 b=$2 what=$3 f
  for f in progress.csv checkpoint.bin; do
    [[ -f $b/$f ]] || fail "$what: $b/$f missing"
    cmp "$a/$f" "$b/$f" || fail "$what: $b/$f differs from $a/$f"
  done
}

# config_hash DIR: the config hash meta.yaml records.
config_hash() { awk '$1 == "config_hash:" {print $2; exit}' "$1/meta.yaml"; }

# expect_bad WHAT COMMAND...: exit code 2, one line on stderr, nothing on stdout.
expect_bad() {
  local what=$1 rc=0
  shift
  "$@" >"$WORK/bad.out" 2>"$WORK/bad.err" || rc=$?
  ((rc == 2)) || fail "$what: exit code $rc, expected 2 ($*)"
  (($(wc -l <"$WORK/bad.err") == 1)) ||
    fail "$what: expected one line on stderr, got: $(cat "$WORK/bad.err")"
  [[ ! -s $WORK/bad.out ]] || fail "$what: wrote to stdout: $(head -n 2 "$WORK/bad.out")"
}

# ---- threads 1, 2, 3 give the same run -------------------------------------------------------
# cpo and ppo_lag: continuing rollouts, so copies are reset inside the parallel phase and the
# 50-step time limit makes bootstrap values of stashed final observations; gridworld_lagrangian:
# episodic rollouts, so finished copies are padded.
declare -A ARGS=(
  [gridworld_lagrangian]="--steps 6000 run.num_envs=8"
  [cpo]="--steps 6000 run.num_envs=8 run.rollout_length=75 algo.critic_iters=20"
  [ppo_lag]="--steps 6000 run.num_envs=8 run.rollout_length=75 algo.epochs=2"
)
for algo in gridworld_lagrangian cpo ppo_lag; do
  t0=$SECONDS
  # shellcheck disable=SC2206  # word splitting of the budget arguments is intended
  args=(--env gridworld --algo "$algo" --seed 3 ${ARGS[$algo]} run.checkpoint_every=4)
  train "$WORK/$algo-t1" "${args[@]}"
  (($(rows "$WORK/$algo-t1") >= 5)) || fail "$algo: fewer than 5 updates; budget too small"
  for t in 2 3; do
    train "$WORK/$algo-t$t" "${args[@]}" run.threads=$t
    same_run "$WORK/$algo-t1" "$WORK/$algo-t$t" "$algo, run.threads=$t"
  done
  # The thread count is recorded but not hashed.
  grep -q '^  threads: 3$' "$WORK/$algo-t3/config.yaml" ||
    fail "$algo: config.yaml does not record run.threads: 3"
  [[ $(config_hash "$WORK/$algo-t1") == "$(config_hash "$WORK/$algo-t3")" ]] ||
    fail "$algo: run.threads changes the config hash"
  echo "it_threads: $algo identical on 1, 2, 3 threads ($((SECONDS - t0)) s)"
done

# More threads than copies (the extra ones are never started), via the --threads flag.
train "$WORK/few-t1" --env gridworld --algo ppo_lag --seed 4 --steps 1500 run.num_envs=3 \
  run.rollout_length=100 algo.epochs=2
train "$WORK/few-t8" --env gridworld --algo ppo_lag --seed 4 --steps 1500 run.num_envs=3 \
  run.rollout_length=100 algo.epochs=2 --threads 8
same_run "$WORK/few-t1" "$WORK/few-t8" "3 copies on --threads 8"
awk -F, 'NR == 1 { exit $NF != "threads" } $NF != 8 { exit 1 }' "$WORK/few-t8/timing.csv" ||
  fail "timing.csv does not record threads=8 in its last column"

# ---- resume with another thread count --------------------------------------------------------
# A threads=1 run killed after half its updates, resumed with --threads 2, ends identical to
# the uninterrupted threads=1 run; config.yaml keeps the first session's value.
t0=$SECONDS
args=(--env gridworld --algo cpo --seed 5 --steps 12000 run.num_envs=4 run.rollout_length=100
  algo.critic_iters=20 run.checkpoint_every=2)
a=$WORK/resume-A b=$WORK/resume-B
train "$a" "${args[@]}"
total=$(rows "$a")
((total >= 10)) || fail "resume: only $total updates; the budget is too small"
k=$((total / 2))
"$SAFEMARL" train --out "$b" "${args[@]}" 2>>"$b.log" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  if (($(rows "$b") >= k)); then
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.002
done
st=0
{ wait "$pid"; } 2>/dev/null || st=$?
((st == 137)) || fail "resume: the run exited with status $st before the kill at row $k"
killed_at=$(rows "$b")
rc=0
"$SAFEMARL" train --resume "$b" --threads 2 2>>"$b.log" || rc=$?
((rc == 0)) || fail "train --resume $b --threads 2 exited $rc: $(tail -n 1 "$b.log")"
same_run "$a" "$b" "resumed with --threads 2 after a kill at row $killed_at of $total"
cmp "$a/config.yaml" "$b/config.yaml" || fail "resume: --threads 2 changed config.yaml"
awk -F, 'NR > 1 { seen[$3 ":" $NF] = 1 } END { exit !(("0:1" in seen) && ("1:2" in seen)) }' \
  "$b/timing.csv" || fail "resume: timing.csv does not record session 0 on 1 thread and" \
  "session 1 on 2 threads: $(cut -d, -f3,9 "$b/timing.csv" | sort -u | tr '\n' ' ')"
echo "it_threads: killed at row $killed_at of $total, resumed on 2 threads: identical" \
  "($((SECONDS - t0)) s)"

# The value of key $1 in the bench line $out.
kv() { sed -E "s/.*(^| )$1=([^ ]+).*/\2/" <<<"$out"; }

# ---- a MuJoCo task (once the multi-agent algorithms exist) -----------------------------------
if "$SAFEMARL" list algos | grep -q '^mappo '; then
  t0=$SECONDS
  args=(--env halfcheetah_2x3 --algo mappo --seed 1 --steps 8000 run.num_envs=4
    run.rollout_length=1000)
  train "$WORK/mj-t1" "${args[@]}"
  train "$WORK/mj-t2" "${args[@]}" run.threads=2
  same_run "$WORK/mj-t1" "$WORK/mj-t2" "halfcheetah_2x3/mappo, run.threads=2"
  echo "it_threads: halfcheetah_2x3/mappo identical on 1 and 2 threads ($((SECONDS - t0)) s)"
  # bench train replays the run's recorded actions through raw_step_actions (one repeat: the
  # printed ratio is then exactly the quotient of the printed rates).
  out=$("$SAFEMARL" bench train halfcheetah_2x3 mappo --steps 4000 --repeat 1 2>"$WORK/bench.err") ||
    fail "bench train halfcheetah_2x3 mappo exited $?: $(tail -n 1 "$WORK/bench.err")"
  awk -v t="$(kv train_steps_per_s)" -v r="$(kv replay_steps_per_s)" -v q="$(kv ratio_replay)" \
    'BEGIN { exit !(r > 0 && (q - t / r) ^ 2 < (0.002 * q) ^ 2 + 1e-6) }' ||
    fail "bench train: replay figures missing or inconsistent: $out"
else
  echo "it_threads: skip: mappo is not registered (safemarl list algos); MuJoCo check skipped"
fi

# ---- bench train -----------------------------------------------------------------------------
# Fewer critic steps keep the reference-schedule update (16 x 1000 steps) to about a second.
t0=$SECONDS
out=$("$SAFEMARL" bench train gridworld cpo --steps 2000 --repeat 2 algo.critic_iters=5 \
  2>"$WORK/bench.err") ||
  fail "bench train gridworld cpo exited $?: $(tail -n 1 "$WORK/bench.err")"
(($(wc -l <<<"$out") == 1)) || fail "bench train printed more than one line: $out"
for key in train_steps_per_s raw_steps_per_s ratio update_s peak_rss_mib train_cpu_steps_per_s \
  raw_cpu_steps_per_s ratio_cpu env_s own_env_steps_per_s env_share; do
  [[ " $out" =~ \ $key=[0-9.e+-]+( |$) ]] || fail "bench train: no numeric $key= in: $out"
done
# env_share = env_s / wall_s: a share of the loop (the env steps are part of it), and the own
# rate is the steps over env_s.
awk -v s="$(kv env_share)" -v e="$(kv env_s)" -v w="$(kv wall_s)" -v r="$(kv own_env_steps_per_s)" \
  -v n="$(kv steps)" 'BEGIN { exit !(s > 0 && s <= 1 && (s - e / w) ^ 2 < 1e-4 &&
                                    (r - n / e) ^ 2 < (0.01 * r) ^ 2 + 1) }' ||
  fail "bench train: env_share/env_s/own_env_steps_per_s inconsistent: $out"
[[ " $out" =~ \ replay_steps_per_s=na\ ratio_replay=na ]] ||
  fail "bench train: gridworld has no raw_step_actions, want replay figures na: $out"
[[ $out == train_steps_per_s=* ]] || fail "bench train: line does not start with train_steps_per_s"
[[ " $out" =~ \ repeat=2( |$) ]] || fail "bench train --repeat 2: no repeat=2 in: $out"
echo "it_threads: bench train: $out ($((SECONDS - t0)) s)"
expect_bad "bench train, unknown algorithm" "$SAFEMARL" bench train gridworld nope
expect_bad "bench train, unknown env" "$SAFEMARL" bench train nope cpo
expect_bad "bench train, negative steps" "$SAFEMARL" bench train gridworld cpo --steps -5
expect_bad "bench train, unknown key" "$SAFEMARL" bench train gridworld cpo bogus=1
expect_bad "bench train, no algorithm" "$SAFEMARL" bench train gridworld
expect_bad "bench train, repeat 0" "$SAFEMARL" bench train gridworld cpo --repeat 0

# ---- bad thread counts -----------------------------------------------------------------------
expect_bad "run.threads=0" "$SAFEMARL" train --env gridworld --algo cpo --out "$WORK/bad0" \
  run.threads=0
expect_bad "--threads 65" "$SAFEMARL" train --env gridworld --algo cpo --out "$WORK/bad65" \
  --threads 65
[[ ! -e $WORK/bad0 && ! -e $WORK/bad65 ]] || fail "bad thread counts left a run directory"
expect_bad "--resume with --seed" "$SAFEMARL" train --resume "$b" --threads 2 --seed 1

echo "it_threads: PASS"
