#!/usr/bin/env bash
# The README's speed table: `safemarl bench train` on one core for each configuration, one line
# each as "ENV ALGO: <bench line>" on stdout (results/reference/bench_train.txt). Run it on an
# otherwise idle machine; it takes about 13 minutes on the 2-core reference machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
safemarl=${SAFEMARL:-$root/build/safemarl}
run() { echo "$1 $2: $("$safemarl" bench train "$@")"; }
for al in mappo_lag mappo happo; do run halfcheetah_2x3 $al --steps 64000 --repeat 5; done
for al in macpo mafocops; do run halfcheetah_2x3 $al --steps 64000 --repeat 3; done
run halfcheetah_6x1 macpo --steps 64000 --repeat 1
for al in mappo happo mappo_lag macpo mafocops; do run ant_2x4 $al --steps 32000 --repeat 1; done
for e in ant_4x2 ant_8x1; do for al in mappo_lag macpo; do run $e $al --steps 32000 --repeat 1; done; done
