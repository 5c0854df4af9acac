// bench: throughput figures printed as key=value on one line. `bench env E` measures an env's
// full step rate (observations, reward, cost) against a raw-physics rate where the env offers
// one (MuJoCo tasks).
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "harness/run.h"

int bench_main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    printf("usage: safemarl bench env E [--steps N] [--threads T]\n");
    return argc < 2 ? err_input("command line: bench needs 'env'") : 0;
  }
  return err_input("command line: bench %s: not available in this build", argv[1]);
}
