#!/usr/bin/env bash
# it_efficiency: `safemarl bench efficiency` (harness/efficiency.c) on a tiny efficiency file: two
# measured configurations (very short runs) and one whose algorithm is not registered give the
# table and the --csv file with the right columns and finite, consistent numbers; the committed
# benchmarks/efficiency.yaml loads (--dry-run) with the paper's numbers; malformed files and
# options exit 2 with one line naming the file, key and reason, and write no CSV.
# Usage: bash tests/it_efficiency.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_efficiency "$@"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$WORK"

# csv_get FILE ROW COLUMN: the value in data row ROW (1-based) of the named column.
csv_get() {
  awk -F, -v k="$3" -v r="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i; next }
    NR == r + 1 && c { print $c }' "$1"
}
# positive X: X is a finite number > 0.
positive() { awk -v x="$1" 'BEGIN { exit !(x ~ /^[0-9.eE+-]+$/ && x + 0 > 0) }'; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; exit !(d <= t && -d <= t) }'; }

# ---- a tiny file: two measured configurations and one not available ----------------------------
# Tiny rollouts (2 copies x 250 steps per update) keep each run to a few updates.
cat >tiny.yaml <<'YAML'
# two measured configurations of one task, and one whose algorithm is not registered
source: "test transcription"
overrides: {run.num_envs: 2, run.rollout_length: 250}
efficiency:
  - {task: HalfCheetah 2x3, env: halfcheetah_2x3, algo: macpo, paper_fps: 298, paper_memory_mib: 16.54}
  - {task: HalfCheetah 2x3, env: halfcheetah_2x3, algo: mappo, paper_fps: 340, paper_memory_mib: 19.34}
  - {task: Ant 2x4, env: ant_2x4, algo: not_registered_algo, paper_fps: 218, paper_memory_mib: 23.6}
YAML
rc=0
"$SAFEMARL" bench efficiency tiny.yaml --steps 1000 --env-steps 1000 --threads 2 --csv out/eff.csv \
  >table.txt 2>table.err </dev/null || rc=$?
# --csv into a directory that does not exist is bad input, before anything runs.
((rc == 2)) || problem "--csv into a missing directory: exit $rc, expected 2"
[[ ! -e out ]] || problem "--csv into a missing directory created something"
mkdir out
rc=0
"$SAFEMARL" bench efficiency tiny.yaml --steps 1000 --env-steps 1000 --threads 2 --csv out/eff.csv \
  >table.txt 2>table.err </dev/null || rc=$?
((rc == 0)) || problem "bench efficiency exited $rc: $(tail -n 3 table.err)"

# The table: the paper's layout, one row per configuration.
head_line=$(grep -m1 '^configuration ' table.txt || true)
for col in "paper FPS" "ours FPS" "ours/paper" "env rate 2T" "ours/env rate" "paper GPU MiB" \
  "ours peak RSS MiB"; do
  [[ $head_line == *"$col"* ]] || problem "table header lacks '$col': $head_line"
done
grep -q 'GPU memory' table.txt || problem "table has no note that the paper's memory is GPU memory"
for algo in macpo mappo; do
  row=$(grep -E "^HalfCheetah 2x3 +$algo " table.txt | head -n 1 || true)
  [[ -n $row ]] || {
    problem "table has no row for $algo"
    continue
  }
  # paper FPS, ours FPS, ours/paper, env rate, ours/env rate, paper mem, ours RSS, cpu/wall
  read -r -a f <<<"${row#HalfCheetah 2x3}"
  ((${#f[@]} == 9)) || problem "$algo row has ${#f[@]} fields, expected 9: $row"
  for v in "${f[@]:1}"; do positive "$v" || problem "$algo row: '$v' is not a finite number > 0"; done
done
grep -qE '^Ant 2x4 +not_registered_algo .*not available' table.txt ||
  problem "the unregistered algorithm is not reported as not available: $(cat table.txt)"
grep -qE '^HalfCheetah 2x3 +mappo vs macpo +14\.09 ' table.txt ||
  problem "no improvement row mappo vs macpo with the paper's +14.09%"

# The CSV: same rows, the right columns, finite and consistent numbers.
csv=out/eff.csv
if [[ ! -s $csv ]]; then
  problem "no CSV written"
else
  expected="task,env,algo,status,paper_fps,ours_fps,ours_over_paper,env_steps_per_s,raw_steps_per_s,ours_over_env,env_cpu_steps_per_s,ours_over_env_cpu,paper_memory_mib,ours_peak_rss_mib,cpu_util,threads,steps,updates,num_envs,rollout_length,wall_s,update_s,note"
  [[ $(head -n 1 "$csv") == "$expected" ]] || problem "CSV header: $(head -n 1 "$csv")"
  (($(wc -l <"$csv") == 4)) || problem "CSV has $(($(wc -l <"$csv") - 1)) rows, expected 3"
  awk -F, 'NR == 1 { n = NF } NF != n { bad = 1 } END { exit bad }' "$csv" ||
    problem "CSV rows have different numbers of fields"
  for r in 1 2; do
    [[ $(csv_get "$csv" $r status) == measured ]] || problem "CSV row $r not measured"
    for k in ours_fps ours_over_paper env_steps_per_s raw_steps_per_s ours_over_env \
      env_cpu_steps_per_s ours_over_env_cpu \
      ours_peak_rss_mib cpu_util wall_s; do
      v=$(csv_get "$csv" $r $k)
      positive "$v" || problem "CSV row $r: $k = '$v' is not a finite number > 0"
    done
    fps=$(csv_get "$csv" $r ours_fps)
    paper=$(csv_get "$csv" $r paper_fps)
    env=$(csv_get "$csv" $r env_steps_per_s)
    near "$(csv_get "$csv" $r ours_over_paper)" "$(awk -v a="$fps" -v b="$paper" 'BEGIN { print a / b }')" 1e-3 ||
      problem "CSV row $r: ours_over_paper is not ours_fps / paper_fps"
    near "$(csv_get "$csv" $r ours_over_env)" "$(awk -v a="$fps" -v b="$env" 'BEGIN { print a / b }')" 1e-3 ||
      problem "CSV row $r: ours_over_env is not ours_fps / env_steps_per_s"
    # --steps 1000 with 2 x 250 steps per update: exactly 2 updates of 500 steps.
    [[ $(csv_get "$csv" $r steps) == 1000 && $(csv_get "$csv" $r updates) == 2 ]] ||
      problem "CSV row $r: steps/updates $(csv_get "$csv" $r steps)/$(csv_get "$csv" $r updates), expected 1000/2"
  done
  [[ $(csv_get "$csv" 1 paper_memory_mib) == 16.54 && $(csv_get "$csv" 2 paper_fps) == 340.00 ]] ||
    problem "CSV does not carry the file's paper numbers"
  [[ $(csv_get "$csv" 3 status) == not_available && $(csv_get "$csv" 3 ours_fps) == nan ]] ||
    problem "CSV row 3 (unregistered algorithm): status $(csv_get "$csv" 3 status)"
  # Written atomically: nothing but the CSV in its directory.
  [[ $(ls -A out) == eff.csv ]] || problem "stray files next to the CSV: $(ls -A out)"
fi

# ---- the committed file ------------------------------------------------------------------------
rc=0
"$SAFEMARL" bench efficiency "$ROOT/benchmarks/efficiency.yaml" --dry-run >dry.txt 2>dry.err || rc=$?
((rc == 0)) || problem "benchmarks/efficiency.yaml does not load: $(cat dry.err)"
(($(grep -cE ' (macpo|mafocops) ' dry.txt) == 26)) ||
  problem "benchmarks/efficiency.yaml: expected 26 configurations (13 tasks x MACPO, MAFOCOPS)"
# Spot checks of the transcription (seed 004, Tables 1-2).
for cell in "Ant 2x4d +ant_2x4d +macpo +231 +18.85" "Ant 8x1 +ant_8x1 +mafocops +115 +56.99" \
  "HalfCheetah 6x1 +halfcheetah_6x1 +macpo +106 +52.08" \
  "ManyAgent Ant 8x1 +manyagent_ant_8x1 +macpo +73 +65.02"; do
  grep -qE "^$cell " dry.txt || problem "benchmarks/efficiency.yaml lacks '$cell'"
done

# ---- bad input: exit 2, one line naming file, key and reason, no CSV --------------------------
# bad NAME EXPECTED YAML: the file NAME.yaml must be refused with EXPECTED in the message.
bad() {
  local name=$1 expect=$2 rc=0
  printf '%s\n' "$3" >"$name.yaml"
  "$SAFEMARL" bench efficiency "$name.yaml" --steps 1000 --csv "out/$name.csv" \
    >"$name.out" 2>"$name.err" </dev/null || rc=$?
  ((rc == 2)) || problem "$name: exit $rc, expected 2"
  (($(wc -l <"$name.err") == 1)) || problem "$name: $(wc -l <"$name.err") lines on stderr, expected 1"
  grep -qF "$expect" "$name.err" || problem "$name: message lacks '$expect': $(cat "$name.err")"
  [[ ! -e out/$name.csv ]] || problem "$name: a CSV was written"
}
bad missing_key "missing_key.yaml: efficiency[1]: missing key 'paper_memory_mib'" "efficiency:
  - {task: A, env: ant_2x4, algo: macpo, paper_fps: 1, paper_memory_mib: 2}
  - {task: B, env: ant_2x4, algo: macpo, paper_fps: 1}"
bad unknown_env "unknown_env.yaml: efficiency[0].env: unknown env 'ant_3x3'" "efficiency:
  - {task: A, env: ant_3x3, algo: macpo, paper_fps: 1, paper_memory_mib: 2}"
bad bad_number "bad_number.yaml: efficiency[0].paper_fps" "efficiency:
  - {task: A, env: ant_2x4, algo: macpo, paper_fps: fast, paper_memory_mib: 2}"
bad unknown_key "unknown_key.yaml: efficiency[0].gpu: unknown key" "efficiency:
  - {task: A, env: ant_2x4, algo: macpo, paper_fps: 1, paper_memory_mib: 2, gpu: A100}"
bad bad_override "bad_override.yaml: efficiency[0].overrides: algo.no_such_key" "efficiency:
  - {task: A, env: ant_2x4, algo: macpo, paper_fps: 1, paper_memory_mib: 2, overrides: {algo.no_such_key: 1}}"
bad suite_file "suite_file.yaml: envs: unknown key" "envs: [ant_2x4]
algos: [macpo]"

if ((PROBLEMS > 0)); then
  echo "it_efficiency: $PROBLEMS problem(s)" >&2
  exit 1
fi
echo "it_efficiency: ok"
