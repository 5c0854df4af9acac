// happo: HAPPO (specs/algorithms.md §3): one actor per agent, updated one agent after another
// in a fresh random order each update; each agent's clipped surrogate is weighted by M, the
// product of the earlier agents' joint new/old ratios (actor_critic.c ac_update_actors).
// The advantage comes from the one centralised team critic (as HARL; the HAPPO repo gives each
// agent its own critic of the same state and reward). No cost critic (unconstrained baseline).
// Defaults as mappo's: HARL's MAMuJoCo-tuned HAPPO differs from its MAPPO only in not sharing
// parameters and in the random order.
#include "algorithms/actor_critic.h"

typedef struct {
  ac_params_t ac;
} happo_params_t;

static const cfg_param_t happo_param_table[] = {
    AC_COMMON_PARAMS(happo_params_t, "false", "5e-4", "5", "1")};

static int happo_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                        void **out) {
  return ac_algo_new("happo", sizeof(ac_t), spec, &((const happo_params_t *)params)->ac, run, 0,
                     out);
}

static int happo_update(void *algo, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                        double *stats) {
  (void)info;
  return ac_ppo_update(algo, "happo", buf, 1, rng, stats);
}

const algo_class_t algo_happo = {
    .name = "happo",
    .summary = "HAPPO: per-agent actors in random order with the M correction (unconstrained)",
    .params = happo_param_table,
    .n_params = sizeof happo_param_table / sizeof happo_param_table[0],
    .params_size = sizeof(happo_params_t),
    .stat_names = ac_ppo_stat_names,
    .n_stats = AC_PPO_STATS,
    .default_num_envs = 16,
    .default_rollout_length = 250,
    .create = happo_create,
    .destroy = ac_algo_destroy,
    .act = ac_algo_act,
    .act_deterministic = ac_algo_act_deterministic,
    .values = ac_algo_values,
    .update = happo_update,
    .save = ac_algo_save,
    .load = ac_algo_load,
};
