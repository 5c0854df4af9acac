// main: the `safemarl` command. Dispatches verbs; prints an error once and exits 2 for bad
// input, 1 for a failed run.
#include <cblas.h>
#include <mujoco/mujoco.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "algorithms/algo.h"
#include "core/err.h"
#include "envs/env.h"
#include "harness/meta.h"
#include "harness/report.h"
#include "harness/run.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: safemarl VERB [options]   (safemarl VERB --help for each verb)\n"
          "  train   --env E --algo A --seed S --steps N --out DIR [key=value...] | --resume DIR\n"
          "  sweep   SUITE.yaml [-j N] [--out ROOT] [--backend local|slurm] [--dry-run] [--wait]\n"
          "                                         every run of a suite; skips finished, resumes "
          "killed\n"
          "  run-task SUITE.yaml --index I [--out ROOT]   run I of a suite (a Slurm array task)\n"
          "  eval    DIR [--episodes K]             run a saved policy deterministically\n"
          "  bench   env E [--steps N] [--threads T] | random E [--episodes K]\n"
          "          | train E A [--steps N] [--threads T]\n"
          "          | efficiency FILE [--steps N] [--threads T] [--csv OUT]\n"
          "                                         env throughput; random-policy anchor; training "
          "throughput;\n"
          "                                         the MAFOCOPS FPS/memory tables against ours\n"
          "  report  DIR [--baseline A] [--allow-mixed] [--pairs]   summary.csv/.md, pairs.csv\n"
          "  plot    DIR                            gnuplot figures (PNG + SVG) in DIR/plots/\n"
          "  regress SUITE.yaml [--perf] [--update]   compare with the reference bands (exit 1)\n"
          "  lp      gridworld --cost-limit D [--frontier D1,D2,...]   exact CMDP optimum\n"
          "  list    envs|algos                     what is registered\n"
          "  version                                build and library versions\n");
}

static int list_main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    printf("usage: safemarl list envs|algos\n");
    return argc < 2 ? err_input("command line: list needs 'envs' or 'algos'") : 0;
  }
  if (argc > 2) return err_input("command line: list takes one argument, got '%s' too", argv[2]);
  if (!strcmp(argv[1], "envs")) {
    for (int i = 0; i < env_count(); i++)
      printf("%-28s %s\n", env_at(i)->name, env_at(i)->summary);
    return 0;
  }
  if (!strcmp(argv[1], "algos")) {
    for (int i = 0; i < algo_count(); i++)
      printf("%-28s %s\n", algo_at(i)->name, algo_at(i)->summary);
    return 0;
  }
  return err_input("command line: list: unknown kind '%s' (envs|algos)", argv[1]);
}

// OpenBLAS picks its kernels from the CPU at load time, and different kernels give different
// bits (toolchain.md §4.2); on some VMs it even falls back to the SSE3 baseline. Pin the
// kernel family once, by re-executing with OPENBLAS_CORETYPE set, so runs are reproducible
// across machines of one ISA level and use the AVX2 kernels where they exist.
static void pin_blas_kernels(char **argv) {
  if (getenv("OPENBLAS_CORETYPE")) return;
  setenv("OPENBLAS_CORETYPE", __builtin_cpu_supports("avx2") ? "Haswell" : "Prescott", 1);
  execv("/proc/self/exe", argv);  // if this fails, continue with the detected kernels
}

// MuJoCo's default warning handler also appends to MUJOCO_LOG.TXT in the working directory;
// a benchmark run must not write outside its run directory, so warnings go to stderr only.
static void mujoco_warning(const char *msg) {
  fprintf(stderr, "mujoco warning: %s\n", msg);
}

int main(int argc, char **argv) {
  pin_blas_kernels(argv);
  mju_user_warning = mujoco_warning;
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *verb = argv[1];
  int rc;
  // One BLAS thread per run: sgemm results do not depend on it (toolchain.md §4.2), the
  // matrices are small, and a sweep fills the cores with runs instead.
  openblas_set_num_threads(1);
  if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
    usage(stdout);
    return 0;
  } else if (!strcmp(verb, "train")) {
    rc = train_main(argc - 1, argv + 1);
  } else if (!strcmp(verb, "sweep")) {
    rc = sweep_main(argc - 1, argv + 1);
  } else if (!strcmp(verb, "run-task")) {
    rc = run_task_main(argc - 1, argv + 1);
  } else if (!strcmp(verb, "eval")) {
    rc = eval_main(argc - 1, argv + 1);
  } else if (!strcmp(verb, "bench")) {
    rc = bench_main(argc - 1, argv + 1);
  } else if (!strcmp(verb, "report")) {
    rc = report_main(argc - 1, argv + 1);
  } else if (!strcmp(verb, "plot")) {
    rc = plot_main(argc - 1, argv + 1);
  } else if (!strcmp(verb, "regress")) {
    rc = regress_main(argc - 1, argv + 1);
  } else if (!strcmp(verb, "lp")) {
    rc = lp_main(argc - 1, argv + 1);
    if (rc > 0) return rc;  // lp prints its own messages and returns an exit code
  } else if (!strcmp(verb, "list")) {
    rc = list_main(argc - 1, argv + 1);
  } else if (!strcmp(verb, "version")) {
    meta_print_versions(stdout);
    rc = 0;
  } else {
    fprintf(stderr, "safemarl: unknown verb '%s' (safemarl --help lists the verbs)\n", verb);
    return 2;
  }
  if (rc == 0) return 0;
  fprintf(stderr, "safemarl %s: %s\n", verb, err_message());
  return rc == ERR_INPUT ? 2 : 1;
}
