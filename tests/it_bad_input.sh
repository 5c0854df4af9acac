#!/usr/bin/env bash
# it_bad_input: every kind of bad input is refused the same way: exit code 2, exactly one line
# on stderr that names the offending key, file or value, and nothing half-written (the --out
# directory is not created; a run directory that existed keeps its files byte-for-byte).
# Covers command-line values, --config files, output directories, resume of damaged or foreign
# checkpoints, and the lp, eval and list verbs.
# Usage: bash tests/it_bad_input.sh PATH/TO/safemarl SCRATCH_DIR   (IT_VERBOSE=1 shows messages)
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_bad_input "$@"
cd "$WORK"

# Every case runs; failures are counted and the script exits 1 at the end.
CASES=0
problem() {
  echo "it_bad_input: FAIL: [$CASE] $*" >&2
  PROBLEMS=$((PROBLEMS + 1))
}

snapshot() { # names and checksums of every file under DIR, of a plain file, or "absent"
  if [[ -f $1 ]]; then
    md5sum <"$1"
  elif [[ -e $1 ]]; then
    (cd "$1" && find . -print | sort && find . -type f -exec md5sum {} + | sort -k 2)
  else
    echo absent
  fi
}

# expect_bad NAME PATTERN WATCH -- ARGS...: `safemarl ARGS` must exit 2 with exactly one stderr
# line matching the extended regex PATTERN (case-insensitive), and leave WATCH as it was: a
# path that did not exist must still not exist; an existing directory keeps its files.
expect_bad() {
  CASE=$1
  local pattern=$2 watch=$3
  shift 4
  CASES=$((CASES + 1))
  local before rc=0
  before=$(snapshot "$watch")
  "$SAFEMARL" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" </dev/null || rc=$?
  local nl err
  nl=$(wc -l <"$WORK/err.txt")
  err=$(cat "$WORK/err.txt")
  [[ -z ${IT_VERBOSE:-} ]] || echo "[$CASE] rc=$rc: $err"
  ((rc == 2)) || problem "exit code $rc, expected 2 (safemarl $*); stderr: $err"
  # One line: one newline, and it ends the output.
  if ((nl != 1)) || [[ -n $(tail -c 1 "$WORK/err.txt") ]]; then
    problem "stderr has $nl lines, expected exactly one (safemarl $*):"$'\n'"$err"
  fi
  grep -qiE -- "$pattern" "$WORK/err.txt" ||
    problem "stderr does not name the problem (want /$pattern/): $err"
  local after
  after=$(snapshot "$watch")
  if [[ $after != "$before" ]]; then
    problem "$watch changed although the command failed:"$'\n'"$(diff <(echo "$before") - \
      <<<"$after")"
  fi
  # A directory wrongly created must not hide the next case's failure.
  if [[ $before == absent ]]; then rm -rf "$watch"; fi
}

NEW=$WORK/never # an --out that every failing train must leave uncreated
TRAIN=(train --env gridworld --algo cpo --seed 0 --steps 200)

# ---- command-line values -------------------------------------------------------------------
expect_bad unknown-env "nope.*env|env.*nope" "$NEW" -- \
  train --env nope --algo cpo --seed 0 --steps 200 --out "$NEW"
expect_bad unknown-algo "nope.*algo|algo.*nope" "$NEW" -- \
  train --env gridworld --algo nope --seed 0 --steps 200 --out "$NEW"
expect_bad unknown-key-in-section "algo\.nope" "$NEW" -- "${TRAIN[@]}" --out "$NEW" algo.nope=1
expect_bad unknown-bare-key "nope.*unknown|unknown.*nope" "$NEW" -- \
  "${TRAIN[@]}" --out "$NEW" nope=1
expect_bad wrong-type "algo\.delta.*abc|abc.*algo\.delta" "$NEW" -- \
  "${TRAIN[@]}" --out "$NEW" algo.delta=abc
expect_bad int-key-given-float "hidden.*1\.5|1\.5.*hidden" "$NEW" -- \
  "${TRAIN[@]}" --out "$NEW" algo.hidden=1.5
expect_bad negative-steps "steps.*-5|-5.*steps" "$NEW" -- \
  train --env gridworld --algo cpo --seed 0 --steps -5 --out "$NEW"
expect_bad negative-seed "seed.*-1|-1.*seed" "$NEW" -- "${TRAIN[@]}" --out "$NEW" run.seed=-1
expect_bad fractional-steps "steps.*1\.5|1\.5.*steps" "$NEW" -- \
  train --env gridworld --algo cpo --seed 0 --steps 1.5 --out "$NEW"
expect_bad overflowing-steps "steps.*range|steps.*99999999999999999999" "$NEW" -- \
  train --env gridworld --algo cpo --seed 0 --steps 99999999999999999999 --out "$NEW"
expect_bad zero-checkpoint-period "checkpoint_every" "$NEW" -- \
  "${TRAIN[@]}" --out "$NEW" run.checkpoint_every=0
expect_bad nan-value "gamma.*nan|nan.*gamma" "$NEW" -- "${TRAIN[@]}" --out "$NEW" algo.gamma=nan
expect_bad non-numeric-seed "seed.*x1|x1.*seed" "$NEW" -- \
  train --env gridworld --algo cpo --seed x1 --steps 200 --out "$NEW"
expect_bad bad-choice "env\.obs.*bad|bad.*env\.obs" "$NEW" -- "${TRAIN[@]}" --out "$NEW" env.obs=bad
expect_bad unknown-flag "--bogus" "$NEW" -- "${TRAIN[@]}" --out "$NEW" --bogus
expect_bad flag-without-value "--steps" "$NEW" -- \
  train --env gridworld --algo cpo --seed 0 --out "$NEW" --steps
expect_bad missing-out "--out" "$NEW" -- "${TRAIN[@]}"

# ---- --config files ------------------------------------------------------------------------
printf 'run:\n  env: gridworld\n  algo: cpo\n  seed: [1, 2\n' >syntax.yaml
printf 'run:\n  env: gridworld\n  algo: cpo\nalgo:\n  nope: 3\n' >unknown_key.yaml
printf 'run:\n  env: gridworld\n  algo: cpo\nalgo:\n  delta: abc\n' >wrong_type.yaml
expect_bad yaml-syntax "syntax\.yaml" "$NEW" -- \
  train --config syntax.yaml --steps 200 --out "$NEW"
expect_bad yaml-unknown-key "unknown_key\.yaml.*nope" "$NEW" -- \
  train --config unknown_key.yaml --steps 200 --out "$NEW"
expect_bad yaml-wrong-type "wrong_type\.yaml.*delta" "$NEW" -- \
  train --config wrong_type.yaml --steps 200 --out "$NEW"
expect_bad yaml-missing "missing\.yaml" "$NEW" -- \
  train --config missing.yaml --steps 200 --out "$NEW"

# ---- output directories --------------------------------------------------------------------
echo "a regular file" >plainfile
expect_bad out-under-a-file "plainfile" "$WORK/plainfile" -- \
  "${TRAIN[@]}" --out "$WORK/plainfile/run"
[[ $(cat plainfile) == "a regular file" && -f plainfile ]] || problem "plainfile was modified"

# killed_run DIR ARGS...: a gridworld_lagrangian run (checkpoint every update) SIGKILLed after
# 5 updates, so a wrongly accepted --resume would rewrite its progress.csv.
killed_run() {
  local dir=$1
  shift
  "$SAFEMARL" train --env gridworld --algo gridworld_lagrangian --steps 400000 --out "$dir" \
    run.checkpoint_every=1 "$@" 2>"$dir.log" &
  local pid=$! st=0 lines=0
  while kill -0 "$pid" 2>/dev/null && ((lines < 6)); do
    sleep 0.01
    lines=$(wc -l 2>/dev/null <"$dir/progress.csv" || echo 0)
  done
  kill -KILL "$pid" 2>/dev/null || true
  { wait "$pid"; } 2>/dev/null || st=$?
  ((st == 137)) || fail "$dir: run exited with status $st instead of being killed"
  [[ -f $dir/checkpoint.bin ]] || fail "$dir: the killed run left no checkpoint.bin"
}
killed_run "$WORK/run" --seed 0
expect_bad out-is-a-run "$WORK/run" "$WORK/run" -- \
  train --env gridworld --algo gridworld_lagrangian --seed 0 --steps 400000 --out "$WORK/run"
mkdir -p notarun
expect_bad resume-without-run "notarun" "$WORK/notarun" -- train --resume "$WORK/notarun"
expect_bad resume-missing-dir "nodir" "$WORK/nodir" -- train --resume "$WORK/nodir"
expect_bad resume-with-options "resume" "$WORK/run" -- train --resume "$WORK/run" --seed 5
expect_bad resume-extend-scheduled "schedules its updates on run.steps" "$WORK/run" -- \
  train --resume "$WORK/run" --steps 5000

# ---- damaged and foreign checkpoints -------------------------------------------------------
# Each case copies the killed run and damages its checkpoint; --resume must refuse it and
# leave every file (progress.csv above all) untouched.
ckpt_size=$(stat -c %s run/checkpoint.bin)
bad_ckpt_case() { # NAME: run dir prepared by the caller in $WORK/NAME
  expect_bad "$1" "checkpoint\.bin" "$WORK/$1" -- train --resume "$WORK/$1"
}
for cut in 0 10 $((ckpt_size / 2)) $((ckpt_size - 1)); do
  cp -a run "trunc$cut"
  truncate -s "$cut" "trunc$cut/checkpoint.bin"
  bad_ckpt_case "trunc$cut"
done
cp -a run flipped
printf '\xff' | dd of=flipped/checkpoint.bin bs=1 seek=$((ckpt_size / 2)) conv=notrunc 2>/dev/null
cmp -s run/checkpoint.bin flipped/checkpoint.bin && fail "could not corrupt flipped/checkpoint.bin"
bad_ckpt_case flipped
cp -a run random
head -c "$ckpt_size" /dev/urandom >random/checkpoint.bin
bad_ckpt_case random
cp -a run foreign
cp run/progress.csv foreign/checkpoint.bin
bad_ckpt_case foreign
# Checkpoints of other configurations: another seed, another learning rate, another algorithm.
killed_run "$WORK/seed1" --seed 1
killed_run "$WORK/lr" --seed 0 algo.lr=1e-3
"$SAFEMARL" train --env gridworld --algo ppo_lag --seed 0 --steps 400 --out "$WORK/ppo" \
  run.num_envs=2 run.rollout_length=100 algo.epochs=1 2>ppo.log || fail "could not train $WORK/ppo"
for other in seed1 lr ppo; do
  cp -a run "from-$other"
  cp "$other/checkpoint.bin" "from-$other/checkpoint.bin"
  bad_ckpt_case "from-$other"
done

# ---- other verbs ---------------------------------------------------------------------------
expect_bad lp-negative-limit "cost-limit.*-1|-1.*cost" "$NEW" -- lp gridworld --cost-limit -1
expect_bad lp-not-a-number "cost-limit.*abc|abc" "$NEW" -- lp gridworld --cost-limit abc
expect_bad lp-infeasible "infeasible.*0\.10*([^0-9]|$)" "$NEW" -- lp gridworld --cost-limit 0.05
expect_bad lp-unknown-env "nope" "$NEW" -- lp nope --cost-limit 0.35
expect_bad unknown-verb "frobnicate" "$NEW" -- frobnicate
expect_bad eval-missing-dir "nodir" "$WORK/nodir" -- eval "$WORK/nodir"
expect_bad eval-not-a-run "notarun" "$WORK/notarun" -- eval "$WORK/notarun"
expect_bad eval-bad-episodes "episodes" "$WORK/run" -- eval "$WORK/run" --episodes 0
mkdir -p nockpt
cp run/config.yaml nockpt/
expect_bad eval-without-checkpoint "checkpoint\.bin" "$WORK/nockpt" -- eval "$WORK/nockpt"
expect_bad eval-foreign-checkpoint "checkpoint\.bin" "$WORK/foreign" -- eval "$WORK/foreign"
expect_bad list-unknown "foo" "$NEW" -- list foo

# The damaged copies were refused, but the intact run still evaluates.
"$SAFEMARL" eval "$WORK/run" --episodes 1 >/dev/null 2>&1 || problem "intact run does not evaluate"

if ((PROBLEMS > 0)); then
  echo "it_bad_input: $PROBLEMS problem(s) in $CASES cases" >&2
  exit 1
fi
echo "it_bad_input: PASS ($CASES cases)"
