// suite: a benchmark suite file (benchmarks/*.yaml) and its expansion into runs.
// A suite lists envs, algorithms, seeds, budgets, per-env cost limits and overrides, per-algo run
// config files and overrides, an optional grid over hyperparameters, and an optional reference
// for `regress`. Expansion is the cartesian product env x algo x grid point x seed (minus the
// env/algo pairs an algorithm's `envs:` list excludes), in that
// nesting order (the first grid key varies slowest), so run indices are stable: Slurm array task
// i is run i. Every run is resolved through run_config_resolve_from at load time (env and
// algorithm names, every key and value), so a bad suite fails before anything runs.
// File format (YAML; relative paths are relative to the suite file's directory):
//   name: quick                  # run root <out_root>/<name>/ (default: the file's stem)
//   seeds: [0, 1, 2]             # or `seeds: 3` for 0..2
//   steps: 100000                # budget (run.steps) of every run unless an entry says otherwise
//   overrides: {run.checkpoint_every: 20}     # applied to every run
//   envs:                        # each: a name, or a mapping with name and optional label,
//     - gridworld                #   cost_limit (= env.cost_limit), steps, overrides
//     - {name: gridworld, label: onehot, cost_limit: 0.6, overrides: {env.obs: onehot}}
//   algos:                       # each: a name, or a mapping with name and optional label,
//     - {name: cpo, config: gridworld/cpo.yaml, steps: 300000, overrides: {algo.delta: 0.01}}
//     - {name: mappo, envs: [halfcheetah_2x3]}  # only these env labels (default: every env)
//   grid:                        # optional: key -> list of values (cartesian product)
//     algo.delta: [0.005, 0.01]
//   reference: ../results/reference/quick.csv  # optional, for `regress`
// A run's configuration: defaults < the algo's config file < then, later wins: the top-level
// overrides, run.steps (algo entry's steps, else env entry's, else the top-level steps; absent
// everywhere: the config file's or the default), the env's cost_limit, the env's overrides, the
// algo's overrides, the grid point, run.seed. Override keys are "section.key" or a key unique
// to one section; run.env, run.algo and run.seed cannot be overridden (use envs, algos, seeds).
// Run directory: <out_root>/<suite>/<env label>/<algo label>[/<grid label>]/seed<k>, where a
// label defaults to the name and the grid label joins key=value pairs with commas in grid key
// order, each key without its section unless two grid keys share it (e.g. "delta=0.01,lr=3e-4"),
// each value as written in the file. Labels and values must be usable as one directory name.
#ifndef SAFEMARL_SUITE_H
#define SAFEMARL_SUITE_H
#include <stdint.h>

#include "harness/run.h"

#define SUITE_MAX_OVERRIDES 32
#define SUITE_STR 256
#define SUITE_PATH 1024
#define SUITE_MAX_RUNS 100000

typedef struct {
  char env[SUITE_STR], algo[SUITE_STR];  // registry names
  int seed;
  long long steps;             // the resolved run.steps
  char grid_label[SUITE_STR];  // "" without a grid
  char name[SUITE_PATH];       // dir relative to the suite root: env/algo[/grid]/seedK
  char dir[SUITE_PATH];        // run directory (<out_root>/<suite>/<name>)
  char config[SUITE_PATH];     // run config file or ""
  int n_overrides;
  char overrides[SUITE_MAX_OVERRIDES][SUITE_STR];  // "section.key=value", applied in order
  uint64_t config_hash;                            // run_config_hash of the resolved configuration
} suite_run_t;

typedef struct {
  char name[SUITE_STR];
  char path[SUITE_PATH];       // the suite file, as given
  char root[SUITE_PATH];       // <out_root>/<name>
  char reference[SUITE_PATH];  // resolved `reference:` path, or ""
  int n_runs;
  suite_run_t *runs;
} suite_t;

// Parse, expand and validate. out_root is the run root (default "results/runs" when NULL).
// Returns 0, ERR_INPUT (one line: "file: key: reason") or ERR_FAIL (out of memory).
int suite_load(const char *path, const char *out_root, suite_t *s);
void suite_free(suite_t *s);
// Resolve run i's configuration again (what run-task trains). 0 or ERR_INPUT.
int suite_run_config(const suite_t *s, int i, run_config_t *rc);
#endif
