#!/usr/bin/env bash
# it_slurm: the Slurm backend against a real single-node cluster on localhost (the recipe of
# shared/specs/toolchain.md §7): munged, slurmctld and slurmd on free private ports, all state
# under SCRATCH_DIR/cluster (the munge socket in a short /tmp dir: socket paths are limited to
# 108 bytes), a fresh munge key, node "localhost" (slurmd -N localhost). It runs
# tests/data/slurm_suite.yaml as one job array to completion (sbatch --wait), checks that every
# run directory is complete and byte-identical to the same runs made by a local sweep, that a
# re-run submits nothing and that an unfinished run is resubmitted alone, and stops every daemon
# it started (trap on EXIT). Missing Slurm or munge binaries are a FAILURE, not a skip: CI
# installs them with scripts/setup.sh (scripts/packages.txt). Needs root (SlurmUser=root).
# Usage: bash tests/it_slurm.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 PATH/TO/safemarl SCRATCH_DIR" >&2
  exit 2
fi
SAFEMARL=$(realpath "$1")
WORK=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUITE=$ROOT/tests/data/slurm_suite.yaml
rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
cd "$WORK"

fail() {
  echo "it_slurm: FAIL: $*" >&2
  exit 1
}
PROBLEMS=0
problem() {
  echo "it_slurm: FAIL: $*" >&2
  PROBLEMS=$((PROBLEMS + 1))
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

missing=()
for b in munged slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
  command -v "$b" >/dev/null || missing+=("$b")
done
((${#missing[@]} == 0)) ||
  fail "missing ${missing[*]}: install slurm-wlm and munge" \
    "(listed in scripts/packages.txt; scripts/setup.sh installs them)"
(($(id -u) == 0)) ||
  fail "needs root: the single-node cluster runs its daemons as root (SlurmUser=root)"

# ---- the cluster ------------------------------------------------------------------------------
S=$WORK/cluster
MS=$(mktemp -d /tmp/safemarl-munge.XXXXXX)
JOB=""
# Stop what this script started, by the pids in its own pid files.
stop_cluster() {
  [[ -n $JOB ]] && scancel "$JOB" 2>/dev/null
  JOB=""
  local f pid
  for f in "$S/slurmd.pid" "$S/slurmctld.pid" "$MS/munged.pid"; do
    [[ -s $f ]] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
  return 0
}
cleanup() {
  local rc=$?
  stop_cluster
  rm -rf "$MS"
  exit "$rc"
}
trap cleanup EXIT

# Two free TCP ports on localhost (nothing accepts a connection on them).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 30000))
    [[ $p != "${1:-}" ]] && port_free "$p" && { echo "$p"; return; }
  done
  fail "no free TCP port found"
}
CTLD_PORT=$(pick_port)
SLURMD_PORT=$(pick_port "$CTLD_PORT")

mkdir -p "$S/state" "$S/spool" "$S/log" "$S/mungekey"
chmod 755 "$MS"
chmod 700 "$S/mungekey"
# A private key: munged only needs it to be root-owned and 0600; clients use the socket.
head -c 1024 /dev/urandom >"$S/mungekey/munge.key"
chmod 600 "$S/mungekey/munge.key"
cat >"$S/slurm.conf" <<EOF
ClusterName=safemarl-it
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MS/munge.socket.2
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$S/log/jobcomp.txt
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$S/slurm.conf

t_start=$(now)
munged --socket="$MS/munge.socket.2" --pid-file="$MS/munged.pid" --log-file="$S/log/munged.log" \
  --seed-file="$S/mungekey/munged.seed" --key-file="$S/mungekey/munge.key" ||
  fail "munged did not start: $(tail -n 3 "$S/log/munged.log" 2>/dev/null)"
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start: $(tail -n 3 "$S/log/slurmctld.log")"
slurmd -f "$SLURM_CONF" -N localhost ||
  fail "slurmd did not start: $(tail -n 3 "$S/log/slurmd.log")"
# Wait up to 30 s of wall time for the node (each sinfo call bounded, so a cluster that cannot
# resolve its hosts fails here instead of hanging until ctest kills the test and its cleanup).
state=""
deadline=$(( $(date +%s) + 30 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  state=$(timeout 2 sinfo -h -o %t 2>/dev/null || true)
  [[ $state == idle ]] && break
  sleep 0.1
done
[[ $state == idle ]] ||
  fail "the node is '$state', not idle, 30 s after start:"$'\n'"$(tail -n 5 "$S"/log/slurm*.log)"
echo "it_slurm: cluster up in $(since "$t_start") s (ports $CTLD_PORT/$SLURMD_PORT)"

# ---- the batch script ----------------------------------------------------------------------------
"$SAFEMARL" sweep "$SUITE" --backend slurm -j 2 --out slurm_runs --dry-run >script.sh ||
  fail "--dry-run failed"
[[ ! -e slurm_runs ]] || problem "--dry-run created the run root"
for want in '^#SBATCH --array=0-3%2$' \
  "^#SBATCH --output=$WORK/slurm_runs/slurm_it/_slurm/%A_%a.log\$" \
  "^exec $SAFEMARL run-task $SUITE --index \"\\\$SLURM_ARRAY_TASK_ID\" --out $WORK/slurm_runs\$"; do
  grep -qE -- "$want" script.sh || problem "the batch script lacks /$want/:"$'\n'"$(cat script.sh)"
done

# ---- the same runs locally and as an array -------------------------------------------------------
t0=$(now)
"$SAFEMARL" sweep "$SUITE" -j 2 --out local_runs >local.out 2>local.err ||
  fail "the local sweep exited $?: $(tail -n 3 local.err)"
t_local=$(since "$t0")
t0=$(now)
rc=0
"$SAFEMARL" sweep "$SUITE" --backend slurm -j 2 --wait --out slurm_runs >array.out 2>array.err ||
  rc=$?
t_array=$(since "$t0")
JOB=$(sed -n 's/^submitted job \([0-9]*\).*/\1/p' array.err)
((rc == 0)) ||
  fail "the Slurm sweep exited $rc:"$'\n'"$(cat array.out array.err)"$'\n'"$(tail -n 5 \
    "$S/log/slurmctld.log")"
[[ -n $JOB ]] || fail "no job id in: $(cat array.err)"
grep -q '^sweep slurm_it: job [0-9]*: 4 runs: 4 finished, 0 failed, 0 not finished' array.out ||
  problem "array summary: $(cat array.out)"
echo "it_slurm: job $JOB: 4 runs as an array in $t_array s (locally: $t_local s)"

n=0
while IFS= read -r d; do
  d=${d#local_runs/}
  for f in progress.csv config.yaml checkpoint.bin done.txt; do
    if [[ ! -f slurm_runs/$d/$f ]]; then
      problem "slurm_runs/$d/$f missing"
    elif ! cmp -s "local_runs/$d/$f" "slurm_runs/$d/$f"; then
      problem "slurm_runs/$d/$f differs from the local run's"
    fi
  done
  [[ ! -e slurm_runs/$d/failed.txt ]] ||
    problem "slurm_runs/$d/failed.txt exists: $(cat "slurm_runs/$d/failed.txt")"
  n=$((n + 1))
done < <(find local_runs -name done.txt -printf '%h\n' | sort)
((n == 4)) || problem "$n finished local runs, expected 4"
for i in 0 1 2 3; do
  log=slurm_runs/slurm_it/_slurm/${JOB}_$i.log
  [[ -f $log ]] || problem "no per-task log $log"
done
grep -q "JobId=$JOB .*JobState=COMPLETED" "$S/log/jobcomp.txt" ||
  problem "jobcomp.txt records no COMPLETED task of job $JOB"

# ---- re-runs: nothing to submit; then only what did not finish -----------------------------------
"$SAFEMARL" sweep "$SUITE" --backend slurm -j 2 --wait --out slurm_runs >again.out 2>again.err ||
  problem "re-run of a finished array exited $?"
grep -q 'all 4 runs finished; nothing to submit' again.out ||
  problem "finished re-run: $(cat again.out)"
rm slurm_runs/slurm_it/gridworld/cpo/seed0/done.txt
"$SAFEMARL" sweep "$SUITE" --backend slurm -j 2 --out slurm_runs --dry-run |
  grep -qx '#SBATCH --array=2%2' ||
  problem "the array does not hold just the unfinished run 2"
t0=$(now)
"$SAFEMARL" sweep "$SUITE" --backend slurm --wait --out slurm_runs >one.out 2>one.err ||
  problem "resubmitting one run exited $?: $(cat one.out one.err)"
JOB=$(sed -n 's/^submitted job \([0-9]*\).*/\1/p' one.err)
run=slurm_it/gridworld/cpo/seed0
cmp -s "local_runs/$run/done.txt" "slurm_runs/$run/done.txt" ||
  problem "the resubmitted run did not write done.txt again"
grep -q 'run already complete' "slurm_runs/slurm_it/_slurm/${JOB}_2.log" ||
  problem "task 2 of job $JOB did not find its run complete:" \
    "$(cat "slurm_runs/slurm_it/_slurm/${JOB}_2.log")"
echo "it_slurm: re-run submitted nothing; one unfinished run resubmitted alone ($(since "$t0") s)"

# ---- stop ----------------------------------------------------------------------------------------
t0=$(now)
pids=$(cat "$S/slurmd.pid" "$S/slurmctld.pid" "$MS/munged.pid")
stop_cluster
for pid in $pids; do
  kill -0 "$pid" 2>/dev/null && problem "daemon $pid still runs after the stop"
done
echo "it_slurm: daemons stopped in $(since "$t0") s"
if ((PROBLEMS > 0)); then
  echo "it_slurm: $PROBLEMS problem(s)" >&2
  exit 1
fi
echo "it_slurm: PASS (total $(since "$t_start") s; daemons are stopped on exit)"
