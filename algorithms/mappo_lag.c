// mappo_lag: MAPPO-Lagrangian (specs/algorithms.md §4, seeds 000/001: a V-function cost
// constraint enforced by a Lagrange multiplier). Per agent i, in the HAPPO sequential order with
// the M correction, per PPO minibatch:
//   advantage  A_r - lambda_i A_c (both standardised; no 1/(1+lambda) scaling, as released);
//   one clipped-surrogate actor step, then the multiplier step with the pre-step ratio r:
//   lambda_i <- max(0, lambda_i + lambda_lr * (scale (J_c - d) + mean(r A_c)))
// then the team reward and cost critics (clipped Huber loss on normalised returns).
// Canonical choices (where the released code makes the multiplier inert, §4 "Consequence"):
// * lambda_lr 0.05 per minibatch step with scale = 1 - gamma, so a violation of 100 cost units
//   moves lambda by about 0.25 per update at the default schedule; the released values
//   (lambda_init 0.78, lambda_lr 1e-7: a fixed penalty) reproduce the published figures.
// * J_c is the mean undiscounted episodic cost of the episodes that ended in this update's
//   rollout (fresh, not 1 or 5 iterations stale); when none ended it keeps its last value
//   (0 before the first episode ends, as released).
// * `constraint_scale: none` compares J_c - d unscaled (SafePO single-agent form).
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "algorithms/actor_critic.h"
#include "core/err.h"

typedef struct {
  ac_params_t ac;
  double lambda_init, lambda_lr;
  int sequential;
  char constraint_scale[CFG_STR_MAX];
} ml_params_t;

#define P(k, t, f, d, h, lo, hi) {k, t, offsetof(ml_params_t, f), d, h, NULL, lo, hi}
static const cfg_param_t ml_param_table[] = {
    AC_COMMON_PARAMS(ml_params_t, "false", "5e-4", "5", "1"),
    P("lambda_init", CFG_FLOAT, lambda_init, "0.78", "initial multiplier of every agent", 0, 1e6),
    P("lambda_lr", CFG_FLOAT, lambda_lr, "0.05", "multiplier step size per actor minibatch", 0,
      1e6),
    P("sequential", CFG_BOOL, sequential, "true",
      "agents one after another in random order with M (false: simultaneous, M = 1)", 1, 0),
    {"constraint_scale", CFG_STRING, offsetof(ml_params_t, constraint_scale), "one_minus_gamma",
     "factor on J_c - d in the multiplier step", "one_minus_gamma|none", 1, 0},
};
#undef P

static const char *const ml_stats[] = {"lambda",     "lambda_max", "jc",
                                       "policy_loss", "value_loss", "cost_value_loss",
                                       "entropy",    "approx_kl",  "clip_frac"};

typedef struct {
  ac_t ac;  // first member: the ac_algo_* entries cast the state to ac_t
  ml_params_t p;
  double cost_limit;
  float lambda[ENV_MAX_AGENTS];
  double jc;
} ml_t;

static int ml_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                     void **out) {
  const ml_params_t *p = params;
  int rc = ac_algo_new("mappo_lag", sizeof(ml_t), spec, &p->ac, run, 1, out);
  if (rc) return rc;
  ml_t *m = *out;
  m->p = *p;
  m->cost_limit = run->cost_limit;
  for (int a = 0; a < ENV_MAX_AGENTS; a++) m->lambda[a] = (float)p->lambda_init;
  m->jc = 0;
  return 0;
}

static int ml_update(void *algo, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                     double *stats) {
  ml_t *m = algo;
  ac_t *ac = &m->ac;
  if (info->n_episodes > 0) {
    double s = 0;
    for (int i = 0; i < info->n_episodes; i++) s += info->ep_costs[i];
    m->jc = s / info->n_episodes;
  }
  double scale = strcmp(m->p.constraint_scale, "none") == 0 ? 1.0 : 1.0 - m->p.ac.gamma;
  ac_lagrange_t lags[ENV_MAX_AGENTS];
  for (int a = 0; a < ac->A; a++) {
    lags[a].lambda = &m->lambda[a];
    lags[a].lr = m->p.lambda_lr;
    lags[a].constraint_term = scale * (m->jc - m->cost_limit);
  }
  ac_prepare(ac, buf);
  ac_actor_stats_t st;
  ac_update_actors(ac, buf, m->p.sequential, lags, rng, &st);
  double lv, lc;
  ac_critics_update(ac, buf, rng, &lv, &lc);
  int n_lambda = ac->p.share_params ? 1 : ac->A;
  double lsum = 0, lmax = 0;
  for (int a = 0; a < n_lambda; a++) {
    lsum += m->lambda[a];
    if (m->lambda[a] > lmax) lmax = m->lambda[a];
  }
  double row[] = {lsum / n_lambda, lmax, m->jc, st.policy_loss, lv, lc,
                  st.entropy, st.approx_kl, st.clip_frac};
  memcpy(stats, row, sizeof row);
  for (int a = 0; a < n_lambda; a++)
    if (!isfinite(m->lambda[a])) return err_fail("mappo_lag: diverged (non-finite multiplier)");
  if (!ac_finite(ac)) return err_fail("mappo_lag: diverged (non-finite parameters)");
  return 0;
}

static int ml_save(void *algo, ckpt_t *k) {
  ml_t *m = algo;
  int rc = ac_save(&m->ac, k);
  if (!rc) rc = ckpt_put(k, m->lambda, sizeof m->lambda);
  if (!rc) rc = ckpt_put_f64(k, m->jc);
  return rc;
}

static int ml_load(void *algo, ckpt_t *k) {
  ml_t *m = algo;
  int rc = ac_load(&m->ac, k);
  if (!rc) rc = ckpt_get(k, m->lambda, sizeof m->lambda);
  if (!rc) rc = ckpt_get_f64(k, &m->jc);
  return rc;
}

const algo_class_t algo_mappo_lag = {
    .name = "mappo_lag",
    .summary = "MAPPO-Lagrangian: per-agent multipliers on the cost advantage, sequential updates",
    .params = ml_param_table,
    .n_params = sizeof ml_param_table / sizeof ml_param_table[0],
    .params_size = sizeof(ml_params_t),
    .stat_names = ml_stats,
    .n_stats = sizeof ml_stats / sizeof ml_stats[0],
    .default_num_envs = 16,
    .default_rollout_length = 250,
    .create = ml_create,
    .destroy = ac_algo_destroy,
    .act = ac_algo_act,
    .act_deterministic = ac_algo_act_deterministic,
    .values = ac_algo_values,
    .update = ml_update,
    .save = ml_save,
    .load = ml_load,
};
