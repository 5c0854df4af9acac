#!/usr/bin/env bash
# itlib: the common start of the integration scripts (tests/it_*.sh), sourced by them:
#   source "$(dirname "$0")/itlib.sh" && it_init it_NAME "$@"
# it_init checks the two arguments (PATH/TO/safemarl SCRATCH_DIR), sets SAFEMARL (absolute) and
# WORK (emptied, absolute). fail stops the script; problem counts a failure in PROBLEMS and goes
# on (the script exits 1 at its end when any). Both name IT_SEED when the script set one.
# rows DIR and snapshot DIR are the helpers several scripts share.

it_init() {
  IT_NAME=$1
  shift
  if (($# != 2)); then
    echo "usage: $0 PATH/TO/safemarl SCRATCH_DIR" >&2
    exit 2
  fi
  SAFEMARL=$(realpath "$1")
  WORK=$2
  rm -rf "$WORK"
  mkdir -p "$WORK"
  WORK=$(realpath "$WORK")
  PROBLEMS=0
}

fail() {
  echo "$IT_NAME: FAIL: $*${IT_SEED:+ (IT_SEED=$IT_SEED)}" >&2
  exit 1
}

problem() {
  echo "$IT_NAME: FAIL: $*${IT_SEED:+ (IT_SEED=$IT_SEED)}" >&2
  PROBLEMS=$((PROBLEMS + 1))
}

rows() { # data rows of DIR/progress.csv (0 when absent)
  local n=0
  [[ -f $1/progress.csv ]] && n=$(wc -l <"$1/progress.csv")
  echo $((n > 0 ? n - 1 : 0))
}

# Files of a directory with their checksums, to show an operation left them untouched.
snapshot() { (cd "$1" && find . -type f -exec md5sum {} + | sort -k 2); }
