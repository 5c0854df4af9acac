// mappo: MAPPO (specs/algorithms.md §2) on the shared actor-critic machinery: every agent's
// clipped surrogate on the same team advantage from the centralised critic, with one actor for
// all agents by default (share_params; the agent id is in each observation) or one per agent.
// No cost critic: the cost is logged, not constrained (the unconstrained baseline).
// Defaults are the MAMuJoCo-tuned MAPPO of HARL (lr 5e-4, 5 epochs of one minibatch, clip 0.2,
// no entropy bonus, proper time limits) on 16 copies x 250 steps; actor_critic.h has the
// network and loss choices.
#include "algorithms/actor_critic.h"

typedef struct {
  ac_params_t ac;
} mappo_params_t;

static const cfg_param_t mappo_param_table[] = {
    AC_COMMON_PARAMS(mappo_params_t, "true", "5e-4", "5", "1")};

static int mappo_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                        void **out) {
  return ac_algo_new("mappo", sizeof(ac_t), spec, &((const mappo_params_t *)params)->ac, run, 0,
                     out);
}

static int mappo_update(void *algo, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                        double *stats) {
  (void)info;
  return ac_ppo_update(algo, "mappo", buf, 0, rng, stats);
}

const algo_class_t algo_mappo = {
    .name = "mappo",
    .summary = "MAPPO: shared actor, centralised critic (unconstrained baseline)",
    .params = mappo_param_table,
    .n_params = sizeof mappo_param_table / sizeof mappo_param_table[0],
    .params_size = sizeof(mappo_params_t),
    .stat_names = ac_ppo_stat_names,
    .n_stats = AC_PPO_STATS,
    .default_num_envs = 16,
    .default_rollout_length = 250,
    .create = mappo_create,
    .destroy = ac_algo_destroy,
    .act = ac_algo_act,
    .act_deterministic = ac_algo_act_deterministic,
    .values = ac_algo_values,
    .update = mappo_update,
    .save = ac_algo_save,
    .load = ac_algo_load,
};
