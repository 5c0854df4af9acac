#!/usr/bin/env bash
# it_report: `safemarl report` on a small tree of real runs (gridworld: 3 seeds of
# gridworld_lagrangian, 2 short seeds of ppo_lag): summary.csv / summary.md / pairs.csv exist,
# parse (every row has the header's field count) and hold what the runs say (seeds, seeds done,
# medians equal to the single run's final values, IQM CI around the IQM, P(X > Y) in [0, 1]);
# the output is reproducible (fixed bootstrap seed); --baseline adds normalised columns (the
# baseline's own median maps to 1); --columns summarises more progress.csv columns the same way
# (median = the middle seed's final value; nan for a column no run has; bad lists refused); a
# cell whose runs differ in config hash is refused with exit 2, one line naming the cell and
# both hashes and nothing written, and --allow-mixed
# summarises it; bad arguments exit 2.
# Usage: bash tests/it_report.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_report "$@"
cd "$WORK"

train() { # DIR ALGO SEED STEPS
  "$SAFEMARL" train --env gridworld --algo "$2" --seed "$3" --steps "$4" --out "$1" \
    env.cost_limit=0.6 >/dev/null 2>"$WORK/train.log" || {
    cat "$WORK/train.log" >&2
    echo "it_report: FAIL: training $2 seed $3 failed" >&2
    exit 1
  }
}

T=$WORK/tree
for s in 0 1 2; do
  train "$T/gridworld/gridworld_lagrangian/seed$s" gridworld_lagrangian "$s" 20000
done
for s in 0 1; do train "$T/gridworld/ppo_lag/seed$s" ppo_lag "$s" 4000; done

# col FILE ROW NAME: the value of column NAME in data row ROW (1-based) of a simple CSV.
col() {
  awk -F, -v k="$3" -v r="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i }
    NR == r + 1 { if (c) print $c; else print "MISSING" }' "$1"
}
# row_of FILE ALGO: data row number of the algo (column algo).
row_of() {
  awk -F, -v a="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "algo") c = i }
    NR > 1 && $c == a { print NR - 1 }' "$1"
}
# Every line of a CSV has the header's number of fields (no field here contains a comma).
same_width() {
  awk -F, 'NR == 1 { n = NF } NF != n { bad = 1 } END { exit bad }' "$1"
}
# final FILE COLUMN: mean of the column over the last ceil(10%) data rows (finite values).
final() {
  awk -F, -v k="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i; next }
    { v[NR - 1] = $c; n = NR - 1 }
    END { w = int((n + 9) / 10); s = 0; m = 0
          for (i = n - w + 1; i <= n; i++) if (v[i] != "nan") { s += v[i]; m++ }
          printf "%.6f\n", s / m }' "$1"
}
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; exit !(d <= t && -d <= t) }'; }

# ---- summary, pairs ---------------------------------------------------------------------------
rc=0
"$SAFEMARL" report "$T" --pairs >out.md 2>err.txt || rc=$?
((rc == 0)) || problem "report exited $rc: $(cat err.txt)"
for f in summary.csv summary.md pairs.csv pairs.md; do
  [[ -s $T/$f ]] || problem "report did not write $f"
done
S=$T/summary.csv
same_width "$S" || problem "summary.csv rows differ in field count"
same_width "$T/pairs.csv" || problem "pairs.csv rows differ in field count"
[[ $(($(wc -l <"$S") - 1)) == 2 ]] || problem "summary.csv: expected 2 cells, got $(cat "$S")"
grep -q '^| env | algo |' out.md || problem "report did not print the markdown table"
grep -q 'P(return X > return Y)' out.md || problem "report --pairs did not print the pairs"
table() { sed -n '/^| env | algo |/,/^$/p' "$1"; }
cmp -s <(table out.md) <(table "$T/summary.md") ||
  problem "printed table differs from summary.md"
for c in cell env algo grid cost_limit config_hash seeds seeds_done return_median return_p25 \
  return_p75 return_mean return_iqm return_iqm_lo return_iqm_hi cost_median cost_p25 cost_p75 \
  cost_mean cost_iqm cost_iqm_lo cost_iqm_hi satisfied_rate sample_eff_steps fps; do
  [[ $(col "$S" 1 "$c") != MISSING ]] || problem "summary.csv has no column $c"
done
L=$(row_of "$S" gridworld_lagrangian)
P=$(row_of "$S" ppo_lag)
[[ -n $L && -n $P ]] || problem "summary.csv lacks a cell: $(cat "$S")"
if [[ -n $L && -n $P ]]; then
  [[ $(col "$S" "$L" seeds) == 3 && $(col "$S" "$L" seeds_done) == 3 ]] ||
    problem "gridworld_lagrangian: seeds $(col "$S" "$L" seeds)," \
      "done $(col "$S" "$L" seeds_done), want 3 3"
  [[ $(col "$S" "$P" seeds) == 2 && $(col "$S" "$P" cell) == gridworld/ppo_lag ]] ||
    problem "ppo_lag cell: $(col "$S" "$P" cell) with $(col "$S" "$P" seeds) seeds"
  # The median of 3 seeds is the middle final value, computed here from progress.csv.
  mid=$(for s in 0 1 2; do
    final "$T/gridworld/gridworld_lagrangian/seed$s/progress.csv" ep_return
  done | sort -g | sed -n 2p)
  near "$(col "$S" "$L" return_median)" "$mid" 1e-5 ||
    problem "return_median $(col "$S" "$L" return_median), middle seed's final return is $mid"
  lo=$(col "$S" "$L" return_iqm_lo)
  iqm=$(col "$S" "$L" return_iqm)
  hi=$(col "$S" "$L" return_iqm_hi)
  awk -v l="$lo" -v m="$iqm" -v h="$hi" 'BEGIN { exit !(l <= m && m <= h && l < h) }' ||
    problem "IQM CI [$lo, $hi] does not bracket the IQM $iqm"
  awk -v f="$(col "$S" "$L" fps)" -v e="$(col "$S" "$L" sample_eff_steps)" \
    'BEGIN { exit !(f > 0 && e > 0 && e <= 20100) }' ||
    problem "fps $(col "$S" "$L" fps) or steps to 80% $(col "$S" "$L" sample_eff_steps) off"
  sr=$(col "$S" "$L" satisfied_rate)
  awk -v s="$sr" 'BEGIN { k = s * 3; d = k - int(k + 0.5); exit !(d < 1e-6 && -d < 1e-6) }' ||
    problem "satisfied_rate $sr is not a multiple of 1/3"
fi
p=$(col "$T/pairs.csv" 1 p_return)
awk -v p="$p" 'BEGIN { exit !(p >= 0 && p <= 1) }' ||
  problem "pairs.csv p_return '$p' not in [0, 1]"
# Reproducible: the same tree gives byte-identical tables.
cp "$S" first.csv
"$SAFEMARL" report "$T" >/dev/null 2>&1 || problem "second report failed"
cmp -s first.csv "$S" || problem "summary.csv differs between two reports of the same runs"

# ---- --baseline ---------------------------------------------------------------------------------
"$SAFEMARL" report "$T" --baseline gridworld_lagrangian >/dev/null 2>err.txt ||
  problem "report --baseline failed: $(cat err.txt)"
if [[ -n $L ]]; then
  near "$(col "$S" "$L" return_norm_median)" 1 1e-9 ||
    problem "baseline's own normalised median is $(col "$S" "$L" return_norm_median), want 1"
  [[ $(col "$S" "$P" baseline) == "$(col "$S" "$L" return_median)" ]] ||
    problem "ppo_lag's baseline $(col "$S" "$P" baseline) is not the baseline median"
fi

# ---- --columns: more progress.csv columns, summarised like the final return ------------------------
"$SAFEMARL" report "$T" --columns ep_length,lambda,no_such_column >out.md 2>err.txt ||
  problem "report --columns failed: $(cat err.txt)"
same_width "$S" || problem "--columns: summary.csv rows differ in field count"
if [[ -n $L ]]; then
  mid=$(for s in 0 1 2; do
    final "$T/gridworld/gridworld_lagrangian/seed$s/progress.csv" ep_length
  done | sort -g | sed -n 2p)
  near "$(col "$S" "$L" ep_length_median)" "$mid" 1e-5 ||
    problem "ep_length_median $(col "$S" "$L" ep_length_median), middle seed's final length $mid"
  lambdas=$(for s in 0 1 2; do
    final "$T/gridworld/gridworld_lagrangian/seed$s/progress.csv" lambda
  done | sort -g)
  lo=$(sed -n 1p <<<"$lambdas")
  hi=$(sed -n 3p <<<"$lambdas")
  awk -v a="$(col "$S" "$L" lambda_p25)" -v b="$(col "$S" "$L" lambda_p75)" -v l="$lo" -v h="$hi" \
    'BEGIN { exit !(l <= a && a <= b && b <= h) }' ||
    problem "lambda p25/p75 $(col "$S" "$L" lambda_p25)/$(col "$S" "$L" lambda_p75) outside [$lo, $hi]"
  [[ $(col "$S" "$L" no_such_column_median) == nan ]] ||
    problem "a column no run has: median '$(col "$S" "$L" no_such_column_median)', want nan"
fi
grep -q 'final ep_length median \[p25, p75\]' out.md ||
  problem "--columns: the markdown table lacks the ep_length column"
for bad in "" "a b" "x,,y" "1,2,3,4,5,6,7,8,9"; do
  rc=0
  "$SAFEMARL" report "$T" --columns "$bad" >out.txt 2>err.txt || rc=$?
  ((rc == 2)) && [[ $(wc -l <err.txt) == 1 ]] && grep -q -- '--columns' err.txt ||
    problem "report --columns '$bad': exit $rc, stderr '$(cat err.txt)'"
done
"$SAFEMARL" report "$T" >/dev/null 2>&1 || problem "report without --columns failed"

# ---- mixed configurations in one cell -----------------------------------------------------------
M=$WORK/mixed
mkdir -p "$M/gridworld/gridworld_lagrangian"
cp -r "$T/gridworld/gridworld_lagrangian/seed0" "$M/gridworld/gridworld_lagrangian/seed0"
cp -r "$T/gridworld/gridworld_lagrangian/seed1" "$M/gridworld/gridworld_lagrangian/seed1"
C1=$M/gridworld/gridworld_lagrangian/seed1/config.yaml
sed -i 's/^  cost_limit: 0.6$/  cost_limit: 0.3/' "$C1"
grep -q 'cost_limit: 0.3' "$C1" ||
  problem "test setup: could not change the cost limit of the second run"
rc=0
"$SAFEMARL" report "$M" >out.txt 2>err.txt || rc=$?
((rc == 2)) || problem "mixed cell: exit $rc, want 2"
[[ $(wc -l <err.txt) == 1 ]] || problem "mixed cell: stderr is not one line: $(cat err.txt)"
grep -q 'gridworld/gridworld_lagrangian' err.txt ||
  problem "mixed cell: message does not name the cell: $(cat err.txt)"
[[ $(grep -oE '[0-9a-f]{16}' err.txt | sort -u | wc -l) == 2 ]] ||
  problem "mixed cell: message does not give both hashes: $(cat err.txt)"
[[ ! -e $M/summary.csv && ! -e $M/summary.md ]] ||
  problem "mixed cell: summary written although refused"
rc=0
"$SAFEMARL" report "$M" --allow-mixed >out.txt 2>err.txt || rc=$?
((rc == 0)) || problem "--allow-mixed: exit $rc: $(cat err.txt)"
[[ $(col "$M/summary.csv" 1 config_hash) == mixed && $(col "$M/summary.csv" 1 seeds) == 2 ]] ||
  problem "--allow-mixed: want one cell of 2 seeds marked mixed: $(cat "$M/summary.csv")"

# ---- bad input -----------------------------------------------------------------------------------
mkdir -p empty
for args in "empty" "$T --baseline nosuchalgo" "$T --bogus" "$WORK/absent"; do
  rc=0
  # shellcheck disable=SC2086
  "$SAFEMARL" report $args >out.txt 2>err.txt || rc=$?
  ((rc == 2)) || problem "report $args: exit $rc, want 2"
  [[ $(wc -l <err.txt) == 1 ]] || problem "report $args: stderr is not one line: $(cat err.txt)"
done

if ((PROBLEMS)); then
  echo "it_report: $PROBLEMS problem(s)" >&2
  exit 1
fi
echo "it_report: ok"
