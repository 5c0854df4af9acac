#!/usr/bin/env bash
# it_plot: `safemarl plot` on a small tree of real runs laid out as the quickstart's
# (gridworld/limit<L>/<algo>/seed<k>: two cost limits, gridworld_lagrangian in both, a short cpo
# run in one): every figure (curves, trade-off, multiplier, LP frontier) is written as a non-empty
# PNG (checked by its signature) and SVG (checked by its closing tag), with its .gp script and
# data files; the frontier data holds the exact optimum at the runs' limits (9.1 at 0.6, 2.05 at
# 0.35); without gnuplot on PATH the verb fails with exit 1 and one line saying so; bad
# arguments exit 2. What the figures show is described in README "Reports, plots, regression".
# Usage: bash tests/it_plot.sh PATH/TO/safemarl SCRATCH_DIR
set -euo pipefail

source "$(dirname "$0")/itlib.sh"
it_init it_plot "$@"
cd "$WORK"

train() { # DIR ALGO SEED STEPS LIMIT
  "$SAFEMARL" train --env gridworld --algo "$2" --seed "$3" --steps "$4" --out "$1" \
    "env.cost_limit=$5" >/dev/null 2>"$WORK/train.log" || {
    cat "$WORK/train.log" >&2
    echo "it_plot: FAIL: training $2 seed $3 failed" >&2
    exit 1
  }
}

T=$WORK/tree
for limit in 0.6 0.35; do
  for s in 0 1; do
    train "$T/gridworld/limit$limit/gridworld_lagrangian/seed$s" gridworld_lagrangian "$s" 15000 \
      "$limit"
  done
done
train "$T/gridworld/limit0.6/cpo/seed0" cpo 0 4000 0.6

rc=0
"$SAFEMARL" plot "$T" >out.txt 2>err.txt || rc=$?
((rc == 0)) || problem "plot exited $rc: $(cat err.txt)"
D=$T/plots
for fig in gridworld_curves gridworld_tradeoff gridworld_multiplier gridworld_frontier; do
  [[ -s $D/$fig.gp ]] || problem "no script $fig.gp"
  if [[ ! -s $D/$fig.png ]]; then
    problem "no PNG $fig.png"
  elif [[ $(head -c 8 "$D/$fig.png" | od -An -tx1 | tr -d ' \n') != 89504e470d0a1a0a ]]; then
    problem "$fig.png is not a PNG"
  fi
  if [[ ! -s $D/$fig.svg ]]; then
    problem "no SVG $fig.svg"
  elif ! grep -q '</svg>' "$D/$fig.svg"; then
    problem "$fig.svg is not a complete SVG"
  fi
  grep -q "$fig" out.txt || problem "plot did not list $fig"
done
# One curve and one final-points file per cell (3 cells), each with data rows.
n=$(find "$D/data" -name 'cell*_curve.csv' | wc -l)
((n == 3)) || problem "expected 3 curve files, found $n"
for f in "$D"/data/cell*_curve.csv; do
  (($(wc -l <"$f") > 10)) || problem "$(basename "$f") has no data"
done
# The exact optimum at the two limits (README "The exact optimum").
F=$D/data/gridworld_frontier.csv
awk -F, '$1 == 0.6 && $2 > 9.0999 && $2 < 9.1001 { a = 1 }
  $1 == 0.35 && $2 > 2.0499 && $2 < 2.0501 { b = 1 }
  END { exit !(a && b) }' "$F" ||
  problem "frontier lacks R*(0.6) = 9.1 or R*(0.35) = 2.05: $(cat "$F")"
# The curves script draws the cost limit of each column.
grep -qE '^ +0.35 with lines dt 2' "$D/gridworld_curves.gp" || problem "no cost-limit line at 0.35"

# ---- gnuplot missing -----------------------------------------------------------------------------
rm -rf "$D"
rc=0
PATH=/nonexistent "$SAFEMARL" plot "$T" >out.txt 2>err.txt || rc=$?
((rc == 1)) || problem "without gnuplot: exit $rc, want 1"
grep -q 'gnuplot not found' err.txt || problem "without gnuplot: message: $(cat err.txt)"
[[ $(wc -l <err.txt) == 1 ]] || problem "without gnuplot: stderr is not one line"
[[ -s $D/gridworld_curves.gp ]] || problem "without gnuplot: the script is not left for later"

# ---- bad input -----------------------------------------------------------------------------------
mkdir -p empty
for args in "empty" "$T --smooth 0" "$T --bogus" ""; do
  rc=0
  # shellcheck disable=SC2086
  "$SAFEMARL" plot $args >out.txt 2>err.txt || rc=$?
  ((rc == 2)) || problem "plot $args: exit $rc, want 2"
  [[ $(wc -l <err.txt) == 1 ]] || problem "plot $args: stderr is not one line: $(cat err.txt)"
done

if ((PROBLEMS)); then
  echo "it_plot: $PROBLEMS problem(s)" >&2
  exit 1
fi
echo "it_plot: ok"
