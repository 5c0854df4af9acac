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
// * `lambda_update: pid` replaces the gradient step by the PID Lagrangian of Stooke, Achiam and
//   Abbeel (2020, "Responsive safety in RL by PID Lagrangian methods", Algorithm 2), once per
//   update in which episodes ended (a fresh J_c), in cost units: e = J_c - d,
//   I <- max(0, I + pid_ki e), lambda = max(0, pid_kp e + I + pid_kd max(0, J_c - J_c,prev)),
//   every agent alike (the constraint is on the team cost), I starting at lambda_init. The
//   gradient rule is an integral controller only: lambda keeps rising while the cost lags
//   behind it and keeps falling after the cost is under the limit, which on halfcheetah_2x3
//   swings the policy between running backwards and violating (see README); the proportional
//   and derivative terms react to the cost itself.
// * `lambda_cap` (0: none) bounds every multiplier (and the PID integral), as MAFOCOPS bounds nu
//   by nu_max 1.3: with both advantages standardised, lambda of a few units already lets the
//   cost dominate the step, and an unbounded integral keeps climbing while the cost lags
//   (halfcheetah_2x3: lambda ~9-12 after 100 updates at cost 35-40, the return held at ~500).
// * `cost_margin` m (0: none; actor_critic.h) makes the learner aim at d (1 - m) in the
//   multiplier rules and q_hinge's default threshold; the run is judged against d (drone_swarm
//   at 6e6 steps without it: 1.5-4% over d on every seed).
// `cost_critic` chooses what A_c is (seed 000: constrain Q_C(s, a) or V_C(s)):
// * v (default, the released algorithm): A_c = the GAE cost advantage on the team V_C(s).
// * q: a centralised Q_C(s, a) on the state and the joint action (actor_critic.h, "joint-action
//   cost critic"), trained on the same cost lambda-returns as V_C with the same clipped Huber
//   loss and normaliser machinery. Agent i's A_c is COMA's counterfactual advantage
//   Q_C(s, a) - (1/K) sum_k Q_C(s, a^i_k, a^-i), a^i_k ~ pi^i(.|o^i) (K = cf_samples), the
//   other agents' actions held at their rollout values: its likelihood-ratio surrogate is agent
//   i's policy gradient of E[Q_C] (Foerster et al. 2018, Eq. 4), and it credits agent i only
//   with the cost its own action changed. Standardised per agent like A_c in v, so lambda has
//   the same meaning; the multiplier step is the v step with this A_c.
// * q_hinge: seed 000 §4's per-sample penalty. Every agent's advantage is
//   A_r - lambda h, h = max(0, Q_C(s, a) - threshold) / sigma_C (sigma_C the Q normaliser's
//   std, so lambda weighs standard deviations of cost as in v; 1 without value_norm), centred
//   by its batch mean. The mean is a constant baseline: it leaves the policy gradient's
//   expectation unchanged, and it keeps the multiplier step the v step (scale (J_c - d) plus
//   mean(r (h - mean h)), the first-order change of the penalty) instead of growing lambda on
//   every sample above the threshold while the episodic constraint holds.
//   threshold = hinge_threshold, or (-1) the cost target d (1 - cost_margin) on the undiscounted episodic cost of
//   T-step episodes as a discounted cost-to-go: the Q_C of a policy paying the allowed average
//   rate d/T every step, (d/T)/(1 - gamma) with proper_time_limits (the targets bootstrap past
//   the time limit), (d/T)(1 - gamma^T)/(1 - gamma) without (the value at an episode's start).
// In q and q_hinge, Q_C (like V_C) enters the advantages with its parameters from before this
// update (the rollout-time critic); V_C is still trained (its values bootstrap the cost
// lambda-returns that train Q_C); `cost_value_loss` reports Q_C's loss.
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/actor_critic.h"
#include "core/err.h"

typedef struct {
  ac_params_t ac;
  double lambda_init, lambda_lr, lambda_cap, cost_margin;
  char lambda_update[CFG_STR_MAX];
  double pid_kp, pid_ki, pid_kd;
  int sequential;
  char constraint_scale[CFG_STR_MAX];
  char cost_critic[CFG_STR_MAX];
  int cf_samples;
  double hinge_threshold;
} ml_params_t;

#define P(k, t, f, d, h, lo, hi) {k, t, offsetof(ml_params_t, f), d, h, NULL, lo, hi}
static const cfg_param_t ml_param_table[] = {
    AC_COMMON_PARAMS(ml_params_t, "false", "5e-4", "5", "1"),
    P("lambda_init", CFG_FLOAT, lambda_init, "0.78", "initial multiplier of every agent", 0, 1e6),
    P("lambda_lr", CFG_FLOAT, lambda_lr, "0.05", "multiplier step size per actor minibatch", 0,
      1e6),
    P("lambda_cap", CFG_FLOAT, lambda_cap, "0",
      "upper bound of every multiplier (0: none; MAFOCOPS's nu_max plays this part)", 0, 1e6),
    {"lambda_update", CFG_STRING, offsetof(ml_params_t, lambda_update), "gradient",
     "multiplier rule: gradient = projected ascent per minibatch (lambda_lr); pid = PID "
     "Lagrangian on the episodic cost once per update (pid_kp, pid_ki, pid_kd)",
     "gradient|pid", 1, 0},
    P("pid_kp", CFG_FLOAT, pid_kp, "0.1", "lambda_update pid: proportional gain per cost unit",
      0, 1e6),
    P("pid_ki", CFG_FLOAT, pid_ki, "0.01", "lambda_update pid: integral gain per cost unit",
      0, 1e6),
    P("pid_kd", CFG_FLOAT, pid_kd, "0.1",
      "lambda_update pid: derivative gain on the cost's rise between updates", 0, 1e6),
    AC_COST_MARGIN_PARAM(ml_params_t),
    P("sequential", CFG_BOOL, sequential, "true",
      "agents one after another in random order with M (false: simultaneous, M = 1)", 1, 0),
    {"constraint_scale", CFG_STRING, offsetof(ml_params_t, constraint_scale), "one_minus_gamma",
     "factor on J_c - d in the multiplier step", "one_minus_gamma|none", 1, 0},
    {"cost_critic", CFG_STRING, offsetof(ml_params_t, cost_critic), "v",
     "cost advantage: v = GAE on V_C(s); q = counterfactual advantage of a joint-action "
     "Q_C(s, a); q_hinge = per-sample penalty max(0, Q_C(s, a) - threshold)",
     "v|q|q_hinge", 1, 0},
    P("cf_samples", CFG_INT, cf_samples, "4",
      "cost_critic q: draws of agent i's action in the counterfactual baseline", 1, 4096),
    P("hinge_threshold", CFG_FLOAT, hinge_threshold, "-1",
      "cost_critic q_hinge: threshold on Q_C (discounted cost); -1 = the cost target as the "
      "discounted cost-to-go of its average rate, (d/T)/(1-gamma)",
      -1, 1e12),
};
#undef P

static const char *const ml_stats[] = {"lambda",     "lambda_max", "jc",
                                       "policy_loss", "value_loss", "cost_value_loss",
                                       "entropy",    "approx_kl",  "clip_frac"};

enum { ML_COST_V = 0, ML_COST_Q = 1, ML_COST_Q_HINGE = 2 };

typedef struct {
  ac_t ac;  // first member: the ac_algo_* entries cast the state to ac_t
  ml_params_t p;
  double cost_limit;  // the learner's target: env.cost_limit (1 - cost_margin)
  float lambda[ENV_MAX_AGENTS];
  double jc;
  int pid;                       // lambda_update pid
  double pid_i, pid_jc_prev;     // its integral term and the previous fresh J_c
  int pid_have_prev;
  // cost_critic q / q_hinge (all NULL with v).
  int mode;
  ac_qcritic_t qc;
  double threshold;  // q_hinge, discounted cost units
  float *q_in;       // [N][in_dim] the batch's Q inputs (state, clipped joint action)
  float *q_old_n;    // [N] Q's outputs before this update's training (normalised units)
  float *q_cost;     // [N] the same in cost units
  float *q_ret_n;    // [N] Q's targets (normalised cost lambda-returns)
  float *cost_adv;   // q: [A][N] per-agent counterfactual advantages; q_hinge: [N] penalty
  int *idx;          // [chunk] row indices of one chunk
  int *perm;         // [N] Q minibatch permutation
} ml_t;

static void ml_destroy(void *algo) {
  ml_t *m = algo;
  if (!m) return;
  ac_qc_destroy(&m->qc);  // also a zeroed or partly built one
  float *all[] = {m->q_in, m->q_old_n, m->q_cost, m->q_ret_n, m->cost_adv};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
  free(m->idx);
  free(m->perm);
  ac_algo_destroy(m);
}

static int ml_q_create(ml_t *m, const env_spec_t *spec, const algo_run_info_t *run) {
  ac_t *ac = &m->ac;
  const ml_params_t *p = &m->p;
  m->threshold = p->hinge_threshold >= 0.0 ? p->hinge_threshold
                                           : ac_qc_threshold(m->cost_limit, spec->episode_length,
                                                             p->ac.gamma, p->ac.proper_time_limits);
  // Its own named stream: the Q critic's initialisation leaves every other stream as in v.
  rng_t init;
  rng_stream(&init, run->seed, "init_qcritic", 0);
  int rc = ac_qc_create(&m->qc, &p->ac, ac->share_dim, ac->A, ac->agent_act, ac->chunk, &init);
  if (rc) return rc;
  size_t N = (size_t)ac->N;
  m->q_in = err_calloc(N * m->qc.in_dim, sizeof(float));
  m->q_old_n = err_calloc(N, sizeof(float));
  m->q_cost = err_calloc(N, sizeof(float));
  m->q_ret_n = err_calloc(N, sizeof(float));
  m->cost_adv = err_calloc(N * (m->mode == ML_COST_Q ? ac->A : 1), sizeof(float));
  m->idx = err_calloc(ac->chunk, sizeof(int));
  m->perm = err_calloc(N, sizeof(int));
  if (!m->q_in || !m->q_old_n || !m->q_cost || !m->q_ret_n || !m->cost_adv || !m->idx || !m->perm)
    return ERR_FAIL;
  return 0;
}

static int ml_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                     void **out) {
  const ml_params_t *p = params;
  if (!(p->hinge_threshold == -1.0 || p->hinge_threshold >= 0.0))
    return err_input("algo.hinge_threshold: %g must be >= 0, or -1 for the default",
                     p->hinge_threshold);
  int rc = ac_algo_new("mappo_lag", sizeof(ml_t), spec, &p->ac, run, 1, out);
  if (rc) return rc;
  ml_t *m = *out;
  m->p = *p;
  m->cost_limit = ac_cost_target(run->cost_limit, p->cost_margin);
  for (int a = 0; a < ENV_MAX_AGENTS; a++) m->lambda[a] = (float)p->lambda_init;
  m->jc = 0;
  m->pid = strcmp(p->lambda_update, "pid") == 0;
  m->pid_i = p->lambda_init;
  m->mode = strcmp(p->cost_critic, "q") == 0         ? ML_COST_Q
            : strcmp(p->cost_critic, "q_hinge") == 0 ? ML_COST_Q_HINGE
                                                     : ML_COST_V;
  if (m->mode != ML_COST_V && (rc = ml_q_create(m, spec, run)) != 0) {
    ml_destroy(m);
    *out = NULL;
    return rc;
  }
  return 0;
}

// ---- cost_critic q / q_hinge ------------------------------------------------------------

// The batch's Q inputs and Q's outputs on them (normalised, and in cost units with the
// normaliser's statistics from before this update, as the V critics' rollout-time values).
static void ml_q_batch(ml_t *m, const buf_t *buf) {
  ac_t *ac = &m->ac;
  ac_qcritic_t *qc = &m->qc;
  int N = ac->N, D = qc->in_dim;
  for (int i = 0; i < N; i++)
    ac_qc_input(qc, buf->share_obs + (size_t)i * buf->share_dim,
                buf->actions + (size_t)i * ac->A * buf->act_dim, buf->act_dim,
                m->q_in + (size_t)i * D);
  for (int s = 0; s < N; s += qc->chunk) {
    int n = N - s < qc->chunk ? N - s : qc->chunk;
    ac_qc_forward(qc, qc->theta, m->q_in + (size_t)s * D, n, m->q_old_n + s);
  }
  memcpy(m->q_cost, m->q_old_n, sizeof(float) * N);
  if (ac->p.value_norm) norm_ema_denormalize(&qc->norm, m->q_cost, N, m->q_cost);
}

// Q's targets: the team cost lambda-returns (as V_C's), the normaliser updated with them first
// (ac_critic_targets' order).
static void ml_q_targets(ml_t *m, const buf_t *buf) {
  ac_t *ac = &m->ac;
  for (int i = 0; i < ac->N; i++) m->q_ret_n[i] = buf->team_cost_ret[i];
  if (!ac->p.value_norm) return;
  norm_ema_update(&m->qc.norm, m->q_ret_n, ac->N);
  norm_ema_normalize(&m->qc.norm, m->q_ret_n, ac->N, m->q_ret_n);
}

// q: agent a's cost advantage Q_C(s, a) - mean_k Q_C(s, a^a_k, a^-a) under the rollout policy
// pi^a, standardised (§1.7), for every agent.
static void ml_q_counterfactual(ml_t *m, const buf_t *buf, rng_t *rng) {
  ac_t *ac = &m->ac;
  ac_qcritic_t *qc = &m->qc;
  int N = ac->N, D = qc->in_dim;
  for (int a = 0; a < ac->A; a++) {
    ac_actor_t *act = &ac->actors[ac->p.share_params ? 0 : a];
    float *adv = m->cost_adv + (size_t)a * N;
    int od, kd;
    ac_gather_agent(ac, buf, a);
    ac_actor_dims(ac, &od, &kd);
    for (int s = 0; s < N; s += ac->chunk) {
      int n = N - s < ac->chunk ? N - s : ac->chunk;
      for (int j = 0; j < n; j++) m->idx[j] = s + j;
      ac_gather_rows(ac, m->idx, n, od, kd);
      pol_forward(&act->pol, act->theta, ac->mb_obs, n);
      ac_qc_baseline(qc, &act->pol, a, m->q_in + (size_t)s * D, n, m->p.cf_samples, rng, ac_qc_eval,
                     qc, adv + s);
      for (int j = 0; j < n; j++) adv[s + j] = m->q_cost[s + j] - adv[s + j];
    }
    buf_standardize(adv, N, 1, 1e-5f);
  }
}

// q_hinge: the per-sample penalty max(0, Q_C - threshold) / sigma_C, centred by its mean.
static void ml_q_hinge(ml_t *m) {
  int N = m->ac.N;
  double scale = m->ac.p.value_norm ? 1.0 / norm_ema_std(&m->qc.norm) : 1.0;
  ac_qc_hinge(m->q_cost, N, m->threshold, scale, m->cost_adv);
  buf_standardize(m->cost_adv, N, 0, 0.0f);
}

// Agent a's cost advantages ([N] team rows).
static const float *ml_cost_adv(const ml_t *m, int agent) {
  return m->cost_adv + (m->mode == ML_COST_Q ? (size_t)agent * m->ac.N : 0);
}

// ac_gather_agent, then the selected rows' cost advantages replaced by this mode's.
static int ml_gather(ml_t *m, const buf_t *buf, int agent) {
  ac_t *ac = &m->ac;
  int rows = ac_gather_agent(ac, buf, agent);
  if (agent >= 0) {
    memcpy(ac->g_adv_c, ml_cost_adv(m, agent), sizeof(float) * rows);
  } else {
    // share_params: row r is team row r / A of agent r % A (ac_gather_agent's order).
    for (int r = 0; r < rows; r++) ac->g_adv_c[r] = ml_cost_adv(m, r % ac->A)[r / ac->A];
  }
  return rows;
}

// ac_update_actors with the per-agent cost advantages of q / q_hinge (same orders, same M).
static void ml_update_actors(ml_t *m, const buf_t *buf, ac_lagrange_t *lags, rng_t *rng,
                             ac_actor_stats_t *st) {
  ac_t *ac = &m->ac;
  memset(st, 0, sizeof *st);
  if (ac->p.share_params) {
    int rows = ml_gather(m, buf, -1);
    ac_actor_update(ac, 0, rows, NULL, &lags[0], rng, st);
  } else if (!m->p.sequential) {
    for (int a = 0; a < ac->A; a++) {
      int rows = ml_gather(m, buf, a);
      ac_actor_update(ac, a, rows, NULL, &lags[a], rng, st);
    }
  } else {
    int order[ENV_MAX_AGENTS];
    ac_agent_order(rng, ac->A, order);
    for (int i = 0; i < ac->N; i++) ac->M[i] = 1.0f;
    for (int h = 0; h < ac->A; h++) {
      int a = order[h];
      int rows = ml_gather(m, buf, a);
      ac_actor_update(ac, a, rows, ac->M, &lags[a], rng, st);
      if (h + 1 < ac->A) {
        ac_actor_logp(ac, a, rows, ac->g_logp_new);
        ac_m_update(ac->M, ac->g_logp_new, ac->g_logp_old, rows);
      }
    }
  }
  if (st->steps) {
    st->policy_loss /= st->steps;
    st->entropy /= st->steps;
    st->approx_kl /= st->steps;
    st->clip_frac /= st->steps;
  }
}

static int ml_q_finite(const ml_t *m) {
  for (int i = 0; i < m->qc.net.n_params; i++)
    if (!isfinite(m->qc.theta[i])) return 0;
  return 1;
}

// ---- update -------------------------------------------------------------------------------

// PID Lagrangian step on a fresh J_c (header): sets every agent's multiplier.
static void ml_pid_step(ml_t *m) {
  const ml_params_t *p = &m->p;
  double e = m->jc - m->cost_limit;
  m->pid_i = fmax(0.0, m->pid_i + p->pid_ki * e);
  if (p->lambda_cap > 0) m->pid_i = fmin(m->pid_i, p->lambda_cap);  // no wind-up past the cap
  double rise = m->pid_have_prev ? fmax(0.0, m->jc - m->pid_jc_prev) : 0.0;
  double lambda = fmax(0.0, p->pid_kp * e + m->pid_i + p->pid_kd * rise);
  if (p->lambda_cap > 0) lambda = fmin(lambda, p->lambda_cap);
  m->pid_jc_prev = m->jc;
  m->pid_have_prev = 1;
  for (int a = 0; a < ENV_MAX_AGENTS; a++) m->lambda[a] = (float)lambda;
}

static int ml_update(void *algo, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                     double *stats) {
  ml_t *m = algo;
  ac_t *ac = &m->ac;
  if (info->n_episodes > 0) {
    double s = 0;
    for (int i = 0; i < info->n_episodes; i++) s += info->ep_costs[i];
    m->jc = s / info->n_episodes;
    if (m->pid) ml_pid_step(m);
  }
  double scale = strcmp(m->p.constraint_scale, "none") == 0 ? 1.0 : 1.0 - m->p.ac.gamma;
  ac_lagrange_t lags[ENV_MAX_AGENTS];
  for (int a = 0; a < ac->A; a++) {
    lags[a].lambda = &m->lambda[a];
    lags[a].lr = m->pid ? 0.0 : m->p.lambda_lr;
    lags[a].constraint_term = scale * (m->jc - m->cost_limit);
    lags[a].cap = m->p.lambda_cap;
  }
  ac_prepare(ac, buf);
  ac_actor_stats_t st;
  if (m->mode == ML_COST_V) {
    ac_update_actors(ac, buf, m->p.sequential, lags, rng, &st);
  } else {
    ml_q_batch(m, buf);
    if (m->mode == ML_COST_Q)
      ml_q_counterfactual(m, buf, rng);
    else
      ml_q_hinge(m);
    ml_q_targets(m, buf);
    ml_update_actors(m, buf, lags, rng, &st);
  }
  double lv, lc;
  ac_critics_update(ac, buf, rng, &lv, &lc);
  if (m->mode != ML_COST_V)
    lc = ac_qc_train(&m->qc, m->q_in, m->q_old_n, m->q_ret_n, ac->N, &ac->p, rng, m->perm);
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
  if (!ac_finite(ac) || (m->mode != ML_COST_V && !ml_q_finite(m)))
    return err_fail("mappo_lag: diverged (non-finite parameters)");
  return 0;
}

// The v layout (ac_save, lambda, jc) is unchanged; q / q_hinge append the Q critic, pid its
// controller state.
static int ml_save(void *algo, ckpt_t *k) {
  ml_t *m = algo;
  int rc = ac_save(&m->ac, k);
  if (!rc) rc = ckpt_put(k, m->lambda, sizeof m->lambda);
  if (!rc) rc = ckpt_put_f64(k, m->jc);
  if (!rc && m->mode != ML_COST_V) rc = ac_qc_save(&m->qc, k);
  if (!rc && m->pid) rc = ckpt_put_f64(k, m->pid_i);
  if (!rc && m->pid) rc = ckpt_put_f64(k, m->pid_jc_prev);
  if (!rc && m->pid) rc = ckpt_put(k, &m->pid_have_prev, sizeof m->pid_have_prev);
  return rc;
}

static int ml_load(void *algo, ckpt_t *k) {
  ml_t *m = algo;
  int rc = ac_load(&m->ac, k);
  if (!rc) rc = ckpt_get(k, m->lambda, sizeof m->lambda);
  if (!rc) rc = ckpt_get_f64(k, &m->jc);
  if (!rc && m->mode != ML_COST_V) rc = ac_qc_load(&m->qc, k);
  if (!rc && m->pid) rc = ckpt_get_f64(k, &m->pid_i);
  if (!rc && m->pid) rc = ckpt_get_f64(k, &m->pid_jc_prev);
  if (!rc && m->pid) rc = ckpt_get(k, &m->pid_have_prev, sizeof m->pid_have_prev);
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
    .destroy = ml_destroy,
    .act = ac_algo_act,
    .act_deterministic = ac_algo_act_deterministic,
    .values = ac_algo_values,
    .update = ml_update,
    .save = ml_save,
    .load = ml_load,
};
