#!/usr/bin/env bash
# it_regress: `safemarl regress` on a two-seed suite (gridworld_lagrangian, 20k steps, runs
# trained here into the suite's layout): --update writes the reference (bands around the seeds)
# and the check then passes with exit 0; a reference whose return band excludes the results
# fails with exit 1 and names the cell and the reason; --perf fails on an impossible FPS ratio
# and passes on a loose one; malformed references (non-number, missing column, lo > hi, short
# row, missing file) exit 2 with one stderr line naming the file, the row and the column; a
# reference row without finished runs fails.
# Usage: bash tests/it_regress.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_regress "$@"
cd "$WORK"

cat >rq.yaml <<'EOF'
name: rq
seeds: 2
steps: 20000
envs:
  - {name: gridworld, cost_limit: 0.6}
algos:
  - gridworld_lagrangian
reference: ref/rq.csv
EOF
for s in 0 1; do
  "$SAFEMARL" train --env gridworld --algo gridworld_lagrangian --seed "$s" --steps 20000 \
    --out "runs/rq/gridworld/gridworld_lagrangian/seed$s" env.cost_limit=0.6 \
    >/dev/null 2>train.log || {
    cat train.log >&2
    echo "it_regress: FAIL: training seed $s failed" >&2
    exit 1
  }
done

# run WANT_RC ARGS...: regress must exit WANT_RC; output in out.txt / err.txt.
run() {
  local want=$1 rc=0
  shift
  "$SAFEMARL" regress rq.yaml --runs runs "$@" >out.txt 2>err.txt || rc=$?
  ((rc == want)) || problem "regress $*: exit $rc, want $want: $(cat err.txt)"$'\n'"$(cat out.txt)"
  return 0
}

# ---- no reference yet; --update; pass ------------------------------------------------------------
run 2
grep -q 'ref/rq.csv' err.txt ||
  problem "missing reference: message does not name it: $(cat err.txt)"
run 0 --update
R=ref/rq.csv
[[ -s $R ]] || problem "--update wrote no reference"
cp "$R" good.csv
H=env,algo,grid,seeds,return_median,return_lo,return_hi,cost_median,cost_lo,cost_hi,fps,fps_ratio_lo
[[ $(head -n 1 "$R") == "$H" ]] ||
  problem "reference header: $(head -n 1 "$R")"
[[ $(grep -c '^gridworld,gridworld_lagrangian,,2,' "$R") == 1 ]] ||
  problem "reference rows: $(cat "$R")"
run 0
grep -qE 'gridworld_lagrangian .* ok$' out.txt || problem "pass: no 'ok' row: $(cat out.txt)"
run 0 --perf # the same machine, moments later: ratio about 1 >= 0.7 (loose on purpose)

# ---- forced failures -----------------------------------------------------------------------------
# with_ref COLUMN=VALUE...: the good reference with columns of data row 1 replaced.
with_ref() {
  awk -F, -v OFS=, -v set="$*" 'NR == 1 { n = split(set, kv, " ")
      for (j = 1; j <= n; j++) { split(kv[j], p, "="); val[p[1]] = p[2] }
      for (i = 1; i <= NF; i++) if ($i in val) c[i] = val[$i] }
    NR == 2 { for (i in c) $i = c[i] } { print }' good.csv >"$R"
}
with_ref return_lo=100 return_hi=200
run 1
grep -qE 'gridworld_lagrangian .*FAIL return below band' out.txt ||
  problem "forced fail: table does not say why: $(cat out.txt)"
grep -q 'outside the reference bands' err.txt || problem "forced fail: stderr: $(cat err.txt)"
with_ref cost_lo=0 cost_hi=0.001
run 1
grep -q 'cost above band' out.txt || problem "cost band: $(cat out.txt)"
with_ref fps_ratio_lo=1e9
run 0 # not checked without --perf
run 1 --perf
grep -q 'slower' out.txt || problem "--perf: table does not say slower: $(cat out.txt)"
# A reference row for a cell the results do not have.
cp good.csv "$R"
echo 'gridworld,cpo,,2,9,8,10,0.6,0.5,0.7,100,0.7' >>"$R"
run 1
grep -qE 'cpo .*FAIL no finished runs' out.txt || problem "missing cell: $(cat out.txt)"

# ---- malformed references: exit 2, one line naming file, row and column --------------------------
bad() { # NAME PATTERN
  run 2
  [[ $(wc -l <err.txt) == 1 ]] || problem "$1: stderr is not one line: $(cat err.txt)"
  grep -qE -- "$2" err.txt || problem "$1: want /$2/ in: $(cat err.txt)"
}
with_ref cost_hi=abc
bad non-number "ref/rq.csv: row 1, column 'cost_hi'"
with_ref return_lo=nan
bad nan-bound "ref/rq.csv: row 1, column 'return_lo'"
with_ref return_hi=-1e9
bad lo-above-hi "ref/rq.csv: row 1, column 'return_hi'"
cut -d, -f1-8,10- good.csv >"$R" # no cost_lo column
bad missing-column "ref/rq.csv: header row, column 'cost_lo'"
cp good.csv "$R"
echo 'gridworld,cpo,,2' >>"$R"
bad short-row "ref/rq.csv: row 2"
cp good.csv "$R"
sed -n 2p good.csv >>"$R"
bad duplicate "ref/rq.csv: row 2, column 'env'"

# ---- bad arguments -------------------------------------------------------------------------------
for args in "" "rq.yaml --bogus" "absent.yaml"; do
  rc=0
  # shellcheck disable=SC2086
  "$SAFEMARL" regress $args >out.txt 2>err.txt || rc=$?
  ((rc == 2)) || problem "regress $args: exit $rc, want 2"
done

if ((PROBLEMS)); then
  echo "it_regress: $PROBLEMS problem(s)" >&2
  exit 1
fi
echo "it_regress: ok"
