#!/usr/bin/env bash
# it_sweep: the local sweep backend end to end.
#  - A sweep killed with SIGKILL mid-run (the sweep and its runs at once, then the sweep process
#    alone, whose runs must die with it) and re-run ends with the same progress.csv,
#    config.yaml and checkpoint.bin in every run directory as an uninterrupted sweep.
#  - Re-running a finished sweep skips every run and touches no file; run-task on a finished
#    run is a no-op; so for a run finished by a build with fewer parameters (its config.yaml
#    lacks a key at its default, its done.txt holds another hash), while a real difference in
#    config.yaml is reported `changed`.
#  - A failing run does not stop the sweep. Two real failures: a run directory blocked by a
#    regular file (the sweep cannot create it, no process starts) and a run whose checkpoint.bin
#    was damaged on disk (its resume refuses the file: the run exits 2). Both are marked failed
#    with their reason (failed.txt: exit status and last stderr line), the runs after them
#    finish, the sweep exits 1, and a re-run retries only the failed runs.
#  - Malformed suites and bad arguments: exit 2, one stderr line, nothing created.
#  - Run order and directory names (--dry-run) as harness/suite.h documents, for the committed
#    suites too.
# The kill point is a random number of progress rows; set IT_SEED to replay a failing draw.
# Usage: bash tests/it_sweep.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_sweep "$@"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$WORK"
IT_SEED=${IT_SEED:-$(((RANDOM << 15) | RANDOM))}
RANDOM=$IT_SEED
echo "it_sweep: IT_SEED=$IT_SEED"

# Sum of progress rows over the run directories under DIR.
rows_under() {
  local n=0 f c
  while IFS= read -r f; do
    c=$(wc -l <"$f")
    ((c > 0)) && n=$((n + c - 1))
  done < <(find "$1" -name progress.csv 2>/dev/null)
  echo "$n"
}
# Process group of PID, and the pids of group G, from /proc (no procps needed). The fields
# after the command name in /proc/PID/stat are: state ppid pgrp ...
stat_pgrp() { # /proc/PID/stat -> pgrp
  local st f
  st=$(cat "$1" 2>/dev/null) || return 1
  read -r -a f <<<"${st##*) }"
  echo "${f[2]}"
}
pgid_of() { stat_pgrp "/proc/$1/stat"; }
group_members() {
  local d
  for d in /proc/[0-9]*; do
    [[ $(stat_pgrp "$d/stat") == "$1" ]] && echo "${d#/proc/}"
  done
  return 0
}

# compare_sweeps A B WHAT: the deterministic files of every run of B equal A's.
compare_sweeps() {
  local a=$1 b=$2 what=$3 n=0 d f
  while IFS= read -r d; do
    d=${d#"$a"/}
    for f in progress.csv config.yaml checkpoint.bin done.txt; do
      [[ -f $b/$d/$f ]] || { problem "$what: $b/$d/$f missing"; continue; }
      cmp -s "$a/$d/$f" "$b/$d/$f" || problem "$what: $b/$d/$f differs from $a/$d/$f"
    done
    n=$((n + 1))
  done < <(find "$a" -name config.yaml -printf '%h\n' | sort)
  ((n > 0)) || problem "$what: no run directories under $a"
}

# ---- a small suite: 2 algorithms x 2 seeds, 30-40 updates each, checkpoint every 3 -----------
cat >small.yaml <<'EOF'
name: small
seeds: [0, 1]
overrides: {run.num_envs: 2, run.rollout_length: 100, run.checkpoint_every: 3}
envs: [gridworld]
algos:
  - {name: ppo_lag, steps: 8000, overrides: {algo.epochs: 10}}
  - {name: cpo, steps: 6000, overrides: {algo.critic_iters: 40}}
EOF

t0=$SECONDS
"$SAFEMARL" sweep small.yaml -j 2 --out A >A.out 2>A.err ||
  fail "sweep A exited $?: $(tail -n 3 A.err)"
grep -q '^sweep small: 4 runs: 4 done, 0 failed, 0 skipped' A.out ||
  problem "sweep A summary: $(cat A.out)"
total=$(rows_under A)
echo "it_sweep: uninterrupted sweep: 4 runs, $total updates, $((SECONDS - t0)) s"

# ---- kill -9 of the sweep and its runs, then of the sweep alone --------------------------------
# kill_sweep WHO K: start the sweep into B in its own process group; once B holds K progress rows
# SIGKILL either the whole group (WHO=group) or the sweep process alone (WHO=parent).
kill_sweep() {
  local who=$1 k=$2 pid pgid st=0
  setsid "$SAFEMARL" sweep small.yaml -j 2 --out B >>B.out 2>>B.err &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && (($(rows_under B) < k)); do sleep 0.005; done
  pgid=$(pgid_of "$pid")
  if [[ $who == group ]]; then
    kill -KILL -- "-$pgid" 2>/dev/null || true
  else
    kill -KILL "$pid" 2>/dev/null || true
  fi
  { wait "$pid"; } 2>/dev/null || st=$?
  ((st == 137)) || fail "the sweep exited with status $st before the kill at $k rows"
  # Its runs are gone too (PDEATHSIG takes them down when only the sweep was killed).
  local left=""
  for _ in $(seq 50); do
    left=$(group_members "$pgid")
    [[ -z $left ]] && break
    sleep 0.1
  done
  [[ -z $left ]] || fail "processes of the killed sweep still run: ${left//$'\n'/ }"
}

k1=$((total / 5 + RANDOM % (total * 3 / 10)))
kill_sweep group "$k1"
at1=$(rows_under B)
partial=$(find B -name config.yaml -printf '%h\n' |
  while read -r d; do [[ -f $d/done.txt ]] || echo "$d"; done)
[[ -n $partial ]] || fail "no run was left unfinished by the kill at $at1 rows"
k2=$((at1 + 2 + RANDOM % 8))
((k2 < total - 2)) || k2=$((total - 3))
kill_sweep parent "$k2"
at2=$(rows_under B)
"$SAFEMARL" sweep small.yaml -j 2 --out B >B2.out 2>B2.err ||
  fail "re-run of the killed sweep exited $?: $(tail -n 3 B2.err)"
compare_sweeps A B "sweep killed at $at1 and $at2 of $total rows, then re-run"
grep -qE '^sweep small: 4 runs: [0-9]+ done, 0 failed, [0-9]+ skipped' B2.out ||
  problem "re-run summary: $(cat B2.out)"
sessions=$(cat B/small/gridworld/*/seed*/meta.yaml | grep -c '^ *- {session: ')
((sessions > 4)) || problem "meta.yaml files record $sessions sessions; the kills resumed nothing"
echo "it_sweep: kill -9 of the sweep at $at1 rows (group) and $at2 rows (parent only)" \
  "of $total: re-run identical"

# ---- a finished sweep: everything skipped, nothing touched --------------------------------------
before=$(snapshot A)
"$SAFEMARL" sweep small.yaml -j 2 --out A >A2.out 2>A2.err ||
  problem "re-run of a finished sweep exited $?"
grep -q '^sweep small: 4 runs: 0 done, 0 failed, 4 skipped' A2.out ||
  problem "finished re-run: $(cat A2.out)"
"$SAFEMARL" run-task small.yaml --index 1 --out A >rt.out 2>rt.err ||
  problem "run-task on a finished run exited $?"
grep -q 'already complete' rt.err || problem "run-task on a finished run said: $(cat rt.err)"
[[ $(snapshot A) == "$before" ]] || problem "re-running a finished sweep changed files"
"$SAFEMARL" sweep small.yaml --out A --dry-run >dry.out
[[ $(awk '{print $2}' dry.out | sort -u) == finished ]] ||
  problem "dry run of a finished sweep: $(cat dry.out)"

# A run finished by a build with fewer parameters: its config.yaml lacks a key added since (at
# its default) and done.txt holds that build's hash. Same configuration: finished, skipped,
# untouched (not "changed", which would refuse the directory).
cp -r A A_old
cfg=A_old/small/gridworld/ppo_lag/seed1/config.yaml
grep -q '^  explore_bonus: 0$' $cfg || fail "no default-valued explore_bonus line in $cfg"
sed -i '/^  explore_bonus: 0$/d' $cfg
echo "config_hash=0123456789abcdef" >A_old/small/gridworld/ppo_lag/seed1/done.txt
before=$(snapshot A_old)
"$SAFEMARL" sweep small.yaml --out A_old --dry-run >dry_old.out
[[ $(awk '{print $2}' dry_old.out | sort -u) == finished ]] ||
  problem "dry run with a run of an older build: $(cat dry_old.out)"
"$SAFEMARL" sweep small.yaml -j 2 --out A_old >A_old.out 2>A_old.err ||
  problem "sweep over a run of an older build exited $?: $(tail -n 1 A_old.err)"
grep -q '^sweep small: 4 runs: 0 done, 0 failed, 4 skipped' A_old.out ||
  problem "older build's run not skipped: $(cat A_old.out)"
idx=$(awk '$3 ~ /ppo_lag\/seed1$/ {print $1}' dry_old.out)
"$SAFEMARL" run-task small.yaml --index "$idx" --out A_old >/dev/null 2>rt_old.err ||
  problem "run-task on an older build's finished run exited $?"
grep -q 'already complete' rt_old.err || problem "run-task on it said: $(cat rt_old.err)"
[[ $(snapshot A_old) == "$before" ]] || problem "an older build's finished run was touched"
# A real difference is still "changed".
sed -i 's/^  epochs: 10$/  epochs: 11/' $cfg
"$SAFEMARL" sweep small.yaml --out A_old --dry-run >dry_old2.out
grep -q "^$idx changed " dry_old2.out || problem "an edited config.yaml not reported changed: $(cat dry_old2.out)"

# ---- failing runs do not stop the sweep -------------------------------------------------------
cat >failing.yaml <<'EOF'
name: failing
seeds: [0, 1]
overrides: {run.num_envs: 2, run.rollout_length: 100, run.checkpoint_every: 2}
envs: [gridworld]
algos:
  - {name: ppo_lag, steps: 1000, overrides: {algo.epochs: 2}}
  - {name: cpo, steps: 1000, overrides: {algo.critic_iters: 5}}
EOF
P=F/failing/gridworld
mkdir -p $P/ppo_lag
echo "in the way" >$P/ppo_lag/seed1
rc=0
"$SAFEMARL" sweep failing.yaml -j 1 --out F >F.out 2>F.err || rc=$?
((rc == 1)) || problem "a sweep with a blocked run directory exited $rc, expected 1"
grep -q '^sweep failing: 4 runs: 3 done, 1 failed, 0 skipped' F.out ||
  problem "blocked-directory summary: $(cat F.out)"
grep -q 'failed: gridworld/ppo_lag/seed1: .*Not a directory' F.out ||
  problem "the blocked directory is not reported: $(cat F.out)"
[[ -f $P/cpo/seed1/done.txt ]] || problem "the runs after the blocked one did not finish"
# Damage cpo/seed0's checkpoint and mark the run unfinished; cpo/seed1 starts over after it.
truncate -s 64 $P/cpo/seed0/checkpoint.bin
rm $P/cpo/seed0/done.txt
rm -r $P/cpo/seed1
rc=0
"$SAFEMARL" sweep failing.yaml -j 1 --out F >F2.out 2>F2.err || rc=$?
((rc == 1)) || problem "a sweep with a damaged run exited $rc, expected 1"
grep -q '^sweep failing: 4 runs: 1 done, 2 failed, 1 skipped' F2.out ||
  problem "damaged-run summary: $(cat F2.out)"
[[ $(tail -n 1 F2.err) == "safemarl sweep: 2 of 4 runs failed (failed.txt in each says why)" ]] ||
  problem "last stderr line: $(tail -n 1 F2.err)"
f=$P/cpo/seed0/failed.txt
if [[ -f $f ]]; then
  [[ $(head -n 1 "$f") == "exit status 2" ]] || problem "$f line 1: $(head -n 1 "$f")"
  grep -q 'checkpoint.bin' "$f" || problem "$f gives no reason: $(cat "$f")"
  grep -qF "$(sed -n 2p "$f")" $P/cpo/seed0/stderr.log ||
    problem "$f line 2 is not the run's last stderr line"
else
  problem "$f missing"
fi
[[ -f $P/cpo/seed1/done.txt ]] || problem "the run after the damaged one did not finish"
[[ ! -e $P/cpo/seed1/failed.txt && ! -e $P/ppo_lag/seed0/failed.txt ]] ||
  problem "failed.txt in a finished run"
# A re-run retries the failed runs only; they fail the same way.
rc=0
"$SAFEMARL" sweep failing.yaml -j 2 --out F >F3.out 2>F3.err || rc=$?
((rc == 1)) || problem "re-run of the failing sweep exited $rc"
grep -q '^sweep failing: 4 runs: 0 done, 2 failed, 2 skipped' F3.out ||
  problem "failing re-run: $(cat F3.out)"
echo "it_sweep: failing runs marked, the sweep went on"

# ---- bad input: exit 2, one line, nothing created ----------------------------------------------
# bad NAME PATTERN ARGS...
bad() {
  local name=$1 pattern=$2 rc=0
  shift 2
  rm -rf N
  "$SAFEMARL" "$@" >bad.out 2>bad.err </dev/null || rc=$?
  ((rc == 2)) || problem "[$name] exit code $rc, expected 2: $(cat bad.err)"
  (($(wc -l <bad.err) == 1)) || problem "[$name] stderr is not one line: $(cat bad.err)"
  grep -qE -- "$pattern" bad.err || problem "[$name] stderr lacks /$pattern/: $(cat bad.err)"
  [[ ! -e N ]] || problem "[$name] created the output root"
}
suite() { # NAME TEXT: write NAME.yaml
  printf '%s\n' "$2" >"$1.yaml"
}
suite syntax 'seeds: [0, 1
envs: [gridworld]'
suite topkey $'seeds: 1\nenvs: [gridworld]\nalgos: [cpo]\ncolor: red'
suite env $'seeds: 1\nenvs: [gridwrld]\nalgos: [cpo]'
suite ovkey $'seeds: 1\nenvs: [gridworld]\nalgos: [{name: cpo, overrides: {algo.dleta: 0.1}}]'
suite type $'seeds: 1\nenvs: [{name: gridworld, cost_limit: [0.1]}]\nalgos: [cpo]'
suite empty $'seeds: 1\nenvs: []\nalgos: [cpo]'
suite emptygrid $'seeds: 1\nenvs: [gridworld]\nalgos: [cpo]\ngrid: {algo.delta: []}'
bad yaml-syntax 'syntax\.yaml: not valid YAML' sweep syntax.yaml --out N
bad unknown-top-level-key 'topkey\.yaml: color: unknown key' sweep topkey.yaml --out N
bad unknown-env "env\.yaml: envs\[0\]\.name: unknown env 'gridwrld'" sweep env.yaml --out N
bad unknown-override-key 'ovkey\.yaml: algos\[0\]\.overrides: algo\.dleta: unknown key' \
  sweep ovkey.yaml --out N
bad wrong-type 'type\.yaml: envs\[0\]\.cost_limit: expected a single value, got a list' \
  sweep type.yaml --out N
bad empty-list 'empty\.yaml: envs: empty list' sweep empty.yaml --out N
# A check of a whole configuration (whole-episode rollouts vs a fixed rollout length).
suite episodic $'seeds: 1\noverrides: {run.rollout_length: 100}\nenvs: [gridworld]
algos: [cpo, gridworld_lagrangian]'
bad whole-config-check \
  'episodic\.yaml: run gridworld/gridworld_lagrangian/seed0: .*whole episodes' \
  sweep episodic.yaml --out N
bad empty-grid-list 'emptygrid\.yaml: grid\.algo\.delta: empty list' sweep emptygrid.yaml --out N
bad missing-suite 'nosuch\.yaml' sweep nosuch.yaml --out N
bad slurm-bad-suite 'env\.yaml: envs\[0\]' sweep env.yaml --backend slurm --dry-run --out N
bad run-task-bad-suite 'ovkey\.yaml' run-task ovkey.yaml --index 0 --out N
bad jobs-zero '-j' sweep small.yaml -j 0 --out N
bad bad-backend 'backend' sweep small.yaml --backend pbs --out N
bad wait-local '--wait' sweep small.yaml --wait --out N
bad no-suite 'suite file' sweep --out N
bad index-range 'index 4.*4 runs' run-task small.yaml --index 4 --out N
bad index-missing '--index' run-task small.yaml --out N

# ---- order and names ----------------------------------------------------------------------------
cat >grid.yaml <<'EOF'
name: g
seeds: [2, 7]
envs: [gridworld, {name: gridworld, label: onehot, overrides: {env.obs: onehot}}]
algos: [cpo]
grid: {algo.delta: [0.01, 0.02], algo.lam: [0.9, 0.95]}
EOF
"$SAFEMARL" sweep grid.yaml --dry-run --out N >order.txt
[[ ! -e N ]] || problem "--dry-run created the output root"
want="0 new N/g/gridworld/cpo/delta=0.01,lam=0.9/seed2
1 new N/g/gridworld/cpo/delta=0.01,lam=0.9/seed7
2 new N/g/gridworld/cpo/delta=0.01,lam=0.95/seed2
3 new N/g/gridworld/cpo/delta=0.01,lam=0.95/seed7
4 new N/g/gridworld/cpo/delta=0.02,lam=0.9/seed2"
[[ $(head -n 5 order.txt) == "$want" ]] || problem "run order:"$'\n'"$(head -n 5 order.txt)"
[[ $(sed -n 9p order.txt) == "8 new N/g/onehot/cpo/delta=0.01,lam=0.9/seed2" ]] ||
  problem "run 8: $(sed -n 9p order.txt)"
(($(wc -l <order.txt) == 16)) || problem "grid suite has $(wc -l <order.txt) runs, expected 16"
"$SAFEMARL" sweep "$ROOT/benchmarks/quick.yaml" --dry-run --out N >quick.txt ||
  problem "benchmarks/quick.yaml does not load"
(($(wc -l <quick.txt) == 18)) || problem "quick.yaml has $(wc -l <quick.txt) runs, expected 18"
grep -qx '3 new N/quick/gridworld/cpo/seed0' quick.txt ||
  problem "quick.yaml run 3: $(sed -n 4p quick.txt)"
grep -qx '17 new N/quick/halfcheetah_2x3/mappo_lag/seed2' quick.txt ||
  problem "quick.yaml run 17: $(tail -n 1 quick.txt)"
"$SAFEMARL" sweep "$ROOT/benchmarks/gridworld.yaml" --dry-run --out N >gw.txt ||
  problem "benchmarks/gridworld.yaml does not load"
(($(wc -l <gw.txt) == 27)) || problem "gridworld.yaml has $(wc -l <gw.txt) runs, expected 27"
grep -qx '26 new N/gridworld/gridworld/ppo_lag/cost_limit=0.1/seed2' gw.txt ||
  problem "gridworld.yaml run 26: $(tail -n 1 gw.txt)"

if ((PROBLEMS > 0)); then
  echo "it_sweep: $PROBLEMS problem(s) (IT_SEED=$IT_SEED)" >&2
  exit 1
fi
echo "it_sweep: PASS ($((SECONDS - t0)) s)"
