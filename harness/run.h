// run: what the harness verbs share: the run section of the configuration, resolving a full
// configuration (run + env + algo sections) from defaults, a YAML file and overrides, and the
// verbs themselves.
#ifndef SAFEMARL_RUN_H
#define SAFEMARL_RUN_H
#include "algorithms/algo.h"
#include "core/config.h"
#include "envs/env.h"

typedef struct {
  char env[CFG_STR_MAX];
  char algo[CFG_STR_MAX];
  int seed;
  int steps;
  int num_envs;          // 0 = the algorithm's default
  int rollout_length;    // 0 = the algorithm's default
  int checkpoint_every;  // updates between checkpoints
  int threads;           // worker threads stepping the env copies (not in the config hash)
} run_params_t;

// A resolved configuration: the three sections and the plugin classes they name.
typedef struct {
  run_params_t run;
  const env_class_t *env_class;
  const algo_class_t *algo_class;
  void *env_params, *algo_params;  // owned, sized by the classes
  cfg_section_t secs[3];
} run_config_t;

// Resolve a configuration. yaml_path may be NULL; env/algo override the file's run.env/run.algo
// when non-NULL; overrides are "section.key=value" or "key=value" for a key that exists in one
// section only. Returns 0 or ERR_INPUT (message names origin, key and reason).
int run_config_resolve(run_config_t *rc, const char *yaml_path, const char *env,
                       const char *algo, char *const *overrides, int n_overrides);
// The same with an origin per override for messages ("suite.yaml: algos[1].overrides"); a
// NULL origins array or entry means "command line".
int run_config_resolve_from(run_config_t *rc, const char *yaml_path, const char *env,
                            const char *algo, char *const *overrides,
                            const char *const *origins, int n_overrides);
// Deep copy of a resolved configuration (dst owns its own parameter structs).
int run_config_copy(run_config_t *dst, const run_config_t *src);
void run_config_free(run_config_t *rc);
// Hash of the resolved configuration minus run.seed and run.threads: the seeds of one cell
// share it, and a run may be resumed with another thread count.
uint64_t run_config_hash(const run_config_t *rc);

// What train_bench measured: a run in memory, no file written.
typedef struct {
  long long env_steps, updates;
  int num_envs, rollout_length, threads;
  double wall_s;     // the rollout/update loop, setup excluded
  double cpu_s;      // process CPU time of the same loop (every thread)
  double rollout_s;  // summed over updates
  double update_s;   // summed over updates
  double env_s;      // inside the rollouts' env steps (physics, observations, rewards, costs)
  // With keep_actions: every rollout's actions, [updates][rollout_length][num_envs][A][act_dim]
  // (act_dim the env's max_act_dim), for replaying the run's physics; freed by the caller.
  float *actions;
} train_bench_t;

// Train from a resolved configuration (copied) for cfg->run.steps env steps or max_updates
// updates (0 = no limit), whichever comes first, exactly as `train` does but without a run
// directory; for `safemarl bench train` (harness/train.c).
int train_bench(const run_config_t *cfg, int max_updates, int keep_actions, train_bench_t *out);
// What `bench env E --threads T --steps N --repeat R` measures for cfg's env and env parameters
// (T copies on T threads, seed run.seed): median raw physics and full env steps per wall second
// (raw is NAN for an env without raw_step) and full env steps per process CPU second (may be
// NULL). harness/bench.c, for `bench efficiency`.
int bench_env_rates(const run_config_t *cfg, int threads, long steps, int repeat,
                    double *raw_steps_per_s, double *env_steps_per_s,
                    double *env_cpu_steps_per_s);

int train_main(int argc, char **argv);
int eval_main(int argc, char **argv);
int lp_main(int argc, char **argv);
int bench_main(int argc, char **argv);
int sweep_main(int argc, char **argv);     // harness/sweep.c
int run_task_main(int argc, char **argv);  // harness/sweep.c
int plot_main(int argc, char **argv);     // harness/plot.c
int regress_main(int argc, char **argv);  // harness/regress.c
int eff_main(int argc, char **argv);      // harness/efficiency.c: `bench efficiency`
// The integer value of command-line option `flag` (text may be NULL: missing), within
// [lo, hi]; otherwise ERR_INPUT "command line: FLAG: expected an integer in LO..HI, got 'TEXT'".
int run_parse_cli_long(const char *flag, const char *text, long lo, long hi, long *out);

#endif
