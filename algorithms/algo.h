// algo: the algorithm interface. An algorithm class is a const table of functions, a parameter
// table (the "algo" config section) and the names of the statistics its update returns (the
// algorithm's own columns of progress.csv). The registry (algorithms/registry.c) lists them.
// The harness owns the env copies, the rollout buffer and the rng streams; an algorithm owns
// its networks, optimisers, multipliers and normalisers, and saves all of it for exact resume.
#ifndef SAFEMARL_ALGO_H
#define SAFEMARL_ALGO_H
#include <stdint.h>

#include "core/buffer.h"
#include "core/checkpoint.h"
#include "core/config.h"
#include "core/rng.h"
#include "envs/env.h"

#define ALGO_MAX_STATS 32

typedef struct {
  uint64_t seed;
  int T, E;                  // rollout steps per copy, env copies
  long long total_steps;     // run budget in env steps (learning-rate schedules)
  double cost_limit;         // limit on the undiscounted episodic team cost
} algo_run_info_t;

// What the harness saw during the rollout that feeds this update.
typedef struct {
  long long update;          // 0-based index of this update
  long long env_steps;       // env steps so far, this rollout included
  int n_episodes;            // episodes finished during this rollout
  const float *ep_returns;   // [n_episodes] undiscounted episodic team return
  const float *ep_costs;     // [n_episodes] undiscounted episodic team cost
  const float *ep_lengths;   // [n_episodes]
  const uint8_t *valid;      // [T][E]: 1 where the step happened (always 1 unless episodic)
} algo_rollout_info_t;

typedef struct algo_class {
  const char *name;
  const char *summary;
  const cfg_param_t *params;
  int n_params;
  size_t params_size;
  const char *const *stat_names;
  int n_stats;
  // Rollout shape used when run.num_envs / run.rollout_length are left at 0.
  int default_num_envs, default_rollout_length;
  // 1: every rollout restarts all copies and runs each for exactly one episode (T = the env's
  // episode length; a copy idles once its episode ends, marked in algo_rollout_info_t.valid).
  // This is the seed's "collect K whole episodes per update" scheme.
  int episodic_rollouts;
  // 1: the updates read algo_run_info_t.total_steps (a learning-rate or entropy schedule), so a
  // run extended past its budget (train --resume DIR --steps N) would not equal a fresh N-step
  // run; the harness refuses to extend such runs.
  int schedules_on_steps;
  // ERR_INPUT (message says why) when the env does not suit the algorithm.
  int (*create)(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                void **algo);
  void (*destroy)(void *algo);
  // Sample actions for E copies. obs [E][A][max_obs], share_obs [E][share_dim];
  // actions [E][A][max_act] (continuous in [-1,1] before the env maps them; may exceed, the env
  // clips), logp [E][A], values and cost_values [E][A] (de-normalised).
  void (*act)(void *algo, const float *obs, const float *share_obs, int E, rng_t *rng,
              float *actions, float *logp, float *values, float *cost_values);
  // The policy's deterministic action (mode / mean), for eval.
  void (*act_deterministic)(void *algo, const float *obs, const float *share_obs, int E,
                            float *actions);
  // Critic values only (bootstrap of final observations).
  void (*values)(void *algo, const float *obs, const float *share_obs, int E, float *values,
                 float *cost_values);
  // One update from a full buffer (values filled by act, row T by values()). Writes n_stats
  // numbers into stats. Returns 0 or ERR_FAIL (e.g. non-finite parameters).
  int (*update)(void *algo, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                double *stats);
  int (*save)(void *algo, ckpt_t *c);
  int (*load)(void *algo, ckpt_t *c);
} algo_class_t;

const algo_class_t *algo_find(const char *name);
int algo_count(void);
const algo_class_t *algo_at(int i);
#endif
