// env: the environment interface. An env class is a const table of functions plus a parameter
// table; the registry (envs/registry.c) lists the classes. One "shared" object per run holds
// what every copy may read (e.g. a read-only mjModel, the spec); each of the E copies has its
// own state. Nothing is allocated in reset or step. Buffers are flat floats:
//   obs        [n_agents][spec.max_obs_dim]  (zero-padded per agent)
//   share_obs  [spec.share_obs_dim]
//   actions    [n_agents][spec.max_act_dim]  (discrete: the action index in element 0)
// Nothing in envs/ knows about learning.
#ifndef SAFEMARL_ENV_H
#define SAFEMARL_ENV_H
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/rng.h"

#define ENV_MAX_AGENTS 64
#define ENV_MAX_INFO 16

typedef struct {
  char name[64];
  int n_agents;
  int obs_dim[ENV_MAX_AGENTS];
  int act_dim[ENV_MAX_AGENTS];  // continuous: dimensions; discrete: number of choices
  int max_obs_dim, max_act_dim;
  int share_obs_dim;
  int discrete;                 // 1: each agent picks one of act_dim actions
  float act_low, act_high;      // continuous action bounds (policies act in [-1,1] then map)
  int episode_length;           // time limit in steps
  double cost_limit;            // default limit on the episodic (team) cost
  int n_info;                   // extra per-step values (cost components) logged per episode
  const char *info_names[ENV_MAX_INFO];
  uint8_t adjacency[ENV_MAX_AGENTS][ENV_MAX_AGENTS];  // agent graph (1 = neighbours)
  // Appended. obs_local = 1: each agent observes only its obs_k-hop neighbourhood (MAMuJoCo
  // obsk: the joints within obs_k hops of its own on the joint graph behind `adjacency`);
  // 0: global (or env-defined) observations, obs_k unused.
  int obs_local, obs_k;
} env_spec_t;

typedef struct {
  float *obs;        // out: observation after the step (the final one when the episode ended)
  float *share_obs;  // out
  float reward;      // team reward
  float *costs;      // out: [n_agents] per-agent cost (team cost copied where the env has one)
  float team_cost;   // the cost the constraint is written on
  int done;          // episode ended (terminal or time limit)
  int truncated;     // ended by the time limit only
  float info[ENV_MAX_INFO];
} env_step_t;

typedef struct env_class {
  const char *name;
  const char *summary;
  const cfg_param_t *params;  // the "env" config section
  int n_params;
  size_t params_size;
  // Build the shared part from resolved params and fill the spec.
  int (*shared_create)(const void *params, env_spec_t *spec, void **shared);
  void (*shared_destroy)(void *shared);
  int (*create)(void *shared, void **env);
  void (*destroy)(void *env);
  void (*reset)(void *env, rng_t *rng, float *obs, float *share_obs);
  void (*step)(void *env, const float *actions, rng_t *rng, env_step_t *out);
  // Exact state for checkpoints (resume mid-episode).
  size_t (*state_size)(void *env);
  void (*save_state)(void *env, void *dst);
  int (*load_state)(void *env, const void *src);
  // Optional (NULL when the env has none); appended fields, existing ones keep their meaning.
  // Raw physics only, for `safemarl bench env`: random controls held for one env step's
  // physics substeps, no observation, reward or cost; an episode restarts (same reset noise)
  // where the env's would end. Call reset first; do not interleave with step. Returns 0.
  int (*raw_step)(void *env, rng_t *rng);
  // Optional: raw_step with the given actions (the layout and mapping of step) in place of
  // random controls: the physics of a recorded trajectory, for `safemarl bench train`.
  int (*raw_step_actions)(void *env, const float *actions, rng_t *rng);
} env_class_t;

const env_class_t *env_find(const char *name);
int env_count(void);
const env_class_t *env_at(int i);
#endif
