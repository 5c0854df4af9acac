// suite: a benchmark suite file (benchmarks/*.yaml) and its expansion into runs.
// A suite lists envs, algorithms, seeds, budgets, per-env cost limits and overrides, an optional
// grid over hyperparameters, and optional reference bands for `regress`. Expansion is the
// cartesian product env x algo x grid point x seed, in that nesting order, so run indices are
// stable (Slurm array task i is run i). Every run is validated at load time (env and algorithm
// names, every override key and value) so a bad suite fails before anything runs.
// File format (YAML):
//   name: quick                       # run root results/runs/<name>/ (default: file stem)
//   seeds: [0, 1, 2]                  # or `seeds: 3` for 0..2
//   steps: 100000                     # default budget (run.steps)
//   envs:                             # each: name, optional cost_limit, steps, overrides
//     - {name: gridworld, cost_limit: 0.6, overrides: {env.obs: coords}}
//   algos:                            # each: name, optional config (run YAML, relative to the
//     - {name: cpo, config: gridworld/cpo.yaml, steps: 300000, overrides: {algo.delta: 0.01}}
//   grid:                             # optional: key -> list of values (cartesian product)
//     algo.delta: [0.005, 0.01]
// Run directory: <out_root>/<suite>/<env>/<algo>[/<grid label>]/seed<k>, where the grid label
// joins key=value pairs with commas (e.g. "delta=0.01,lr=0.0003").
#ifndef SAFEMARL_SUITE_H
#define SAFEMARL_SUITE_H

#define SUITE_MAX_OVERRIDES 32
#define SUITE_STR 256

typedef struct {
  char env[SUITE_STR], algo[SUITE_STR];
  int seed;
  long long steps;
  char grid_label[SUITE_STR];             // "" without a grid
  char dir[1024];                         // run directory
  char config[1024];                      // run config file or ""
  int n_overrides;
  char overrides[SUITE_MAX_OVERRIDES][SUITE_STR];  // "section.key=value", applied in order
} suite_run_t;

typedef struct {
  char name[SUITE_STR];
  char path[1024];        // the suite file
  int n_runs;
  suite_run_t *runs;
} suite_t;

// Parse and expand. out_root is the run root (default "results/runs" when NULL).
// ERR_INPUT names the file, the key and the reason.
int suite_load(const char *path, const char *out_root, suite_t *s);
void suite_free(suite_t *s);
#endif
