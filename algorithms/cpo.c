// cpo: Constrained Policy Optimization (Achiam et al. 2017) for one agent, categorical or
// Gaussian policy. Per update: GAE for reward and cost; g = gradient of the loss
// -mean(r A_R) with A_R standardised, b = gradient of mean(r A_C) with A_C centred (SSA);
// u = F^-1 g and w = F^-1 b by CG on exact Fisher-vector products (+ damping); the QP dual
// and step from trust_region.c (SSA/MACPO sign convention; the OmniSafe/SafePO single-agent
// form gives a wrong nu in cases 1-2, specs/algorithms.md §6.3); backtracking line search on
// the true surrogates: accept when KL(old||new) <= delta, the loss did not get worse (cases
// 2-4) and the cost surrogate rose by at most max(-c, 0); otherwise keep the old policy.
// Constraint value c = J_c - d with J_c the mean undiscounted episodic cost of the rollout's
// episodes. Because the cost surrogate is per step, c is divided by the mean episode length
// (`cost_scale: ep_len`, SSA's choice); `none` (OmniSafe) and `one_minus_gamma` (MACPO) are
// options.
// Options for optima that mix two behaviours (sa_common.h; off by default): `explore_bonus` /
// `explore_cost_bonus`, count-based optimism on the reward and cost signals (the cost one is
// what reaches the infeasible-case recovery step, which ignores the reward), and
// `entropy_decay`, the entropy bonus annealed linearly to 0.
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/sa_common.h"
#include "algorithms/trust_region.h"
#include "core/cg.h"
#include "core/err.h"

typedef struct {
  double delta, damping, critic_lr, gamma, lam, ls_decay, critic_l2, entropy_coef;
  int cg_iters, ls_steps, critic_iters, hidden, proper_time_limits;
  char cost_scale[CFG_STR_MAX];
  double explore_bonus, explore_cost_bonus;
  int entropy_decay;
} cpo_params_t;

#define P(k, t, f, d, h, lo, hi) {k, t, offsetof(cpo_params_t, f), d, h, NULL, lo, hi}
static const cfg_param_t cpo_param_table[] = {
    P("delta", CFG_FLOAT, delta, "0.01", "KL trust-region radius", 0, 10),
    P("damping", CFG_FLOAT, damping, "0.1", "Fisher damping added to F v", 0, 100),
    P("cg_iters", CFG_INT, cg_iters, "10", "conjugate-gradient iterations", 1, 1000),
    P("ls_steps", CFG_INT, ls_steps, "10", "backtracking line-search trials", 1, 100),
    P("ls_decay", CFG_FLOAT, ls_decay, "0.8", "step shrink per line-search trial", 0, 1),
    P("critic_lr", CFG_FLOAT, critic_lr, "1e-3", "critic Adam learning rate", 0, 1),
    P("critic_iters", CFG_INT, critic_iters, "80", "full-batch critic steps per update", 0, 10000),
    P("critic_l2", CFG_FLOAT, critic_l2, "0", "L2 penalty on critic weights", 0, 1),
    P("gamma", CFG_FLOAT, gamma, "0.99", "discount (reward and cost)", 0, 1),
    P("lam", CFG_FLOAT, lam, "0.95", "GAE lambda (reward and cost)", 0, 1),
    P("hidden", CFG_INT, hidden, "64", "width of the two tanh hidden layers", 1, 4096),
    P("entropy_coef", CFG_FLOAT, entropy_coef, "0",
      "entropy bonus in the reward objective (g = grad of loss - coef * entropy)", 0, 10),
    P("proper_time_limits", CFG_BOOL, proper_time_limits, "true",
      "bootstrap the value at time-limit truncations", 1, 0),
    {"cost_scale", CFG_STRING, offsetof(cpo_params_t, cost_scale), "ep_len",
     "units of c = J_c - d: divided by the mean episode length (SSA), none (OmniSafe), or times "
     "1-gamma (MACPO)",
     "ep_len|none|one_minus_gamma", 1, 0},
    P("explore_bonus", CFG_FLOAT, explore_bonus, "0",
      "count-based reward optimism beta_r / sqrt(n(s,a)) (discrete observations)", 0, 1e6),
    P("explore_cost_bonus", CFG_FLOAT, explore_cost_bonus, "0",
      "count-based cost optimism: the cost signal minus beta_c / sqrt(n(s,a))", 0, 1e6),
    P("entropy_decay", CFG_BOOL, entropy_decay, "false",
      "decay the entropy bonus linearly to 0 over the run", 1, 0),
};
#undef P

static const char *const cpo_stats[] = {"jc", "c", "qp_case", "lambda", "nu", "kl",
                                        "ls_step", "entropy", "value_loss", "cost_value_loss"};

typedef struct {
  sa_t sa;  // first member: the sa_algo_* table entries cast the state to sa_t
  cpo_params_t p;
  algo_run_info_t run;
  double last_jc, last_len;
  int n;                       // policy parameter count
  float *theta_old, *g, *b, *u, *w, *x, *cg_work, *fvp_tmp;
  float *old_dist, *old_log_std, *adv_r, *adv_c, *old_logp, *dlogp;
  // Line-search context.
  double loss_old, surr_c_old, c;
  int qp_case;
  double kl_last;
  double ent_coef;      // this update's entropy coefficient
  sa_counts_t *counts;  // when a count bonus is on
} cpo_t;

static void cpo_destroy(void *ptr) {
  cpo_t *g = ptr;
  if (!g) return;
  sa_destroy(&g->sa);
  float *bufs[] = {g->theta_old, g->g, g->b, g->u, g->w, g->x, g->cg_work, g->fvp_tmp,
                   g->old_dist, g->old_log_std, g->adv_r, g->adv_c, g->old_logp, g->dlogp};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
  free(g->counts);
  free(g);
}

static int cpo_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                      void **out) {
  cpo_t *g = err_calloc(1, sizeof *g);
  if (!g) return ERR_FAIL;
  g->p = *(const cpo_params_t *)params;
  g->run = *run;
  sa_config_t c = sa_two_layer_config(g->p.hidden, MLP_ACT_TANH, (float)g->p.critic_lr);
  int N = run->T * run->E;
  int rc = sa_create(&g->sa, "cpo", spec, &c, N, 1, run->seed);
  if (!rc) {
    int n = g->n = g->sa.pol.n_params;
    float **vecs[] = {&g->theta_old, &g->g, &g->b, &g->u, &g->w, &g->x, &g->fvp_tmp};
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++)
      if (!(*vecs[i] = err_calloc(n, sizeof(float)))) rc = ERR_FAIL;
    if (!(g->cg_work = err_calloc(3 * (size_t)n, sizeof(float)))) rc = ERR_FAIL;
    if (!(g->old_dist = err_calloc((size_t)N * g->sa.pol_act_dim, sizeof(float)))) rc = ERR_FAIL;
    if (!(g->old_log_std = err_calloc(g->sa.pol_act_dim, sizeof(float)))) rc = ERR_FAIL;
    float **rows[] = {&g->adv_r, &g->adv_c, &g->old_logp, &g->dlogp};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
      if (!(*rows[i] = err_calloc(N, sizeof(float)))) rc = ERR_FAIL;
  }
  if (rc) {
    cpo_destroy(g);
    return rc;
  }
  g->last_jc = run->cost_limit;
  g->last_len = 1;
  if (g->p.explore_bonus > 0 || g->p.explore_cost_bonus > 0) {
    if (!(g->counts = err_calloc(1, sizeof *g->counts))) {
      cpo_destroy(g);
      return ERR_FAIL;
    }
  }
  *out = g;
  return 0;
}

// F v + damping v at theta_old (the forward of the whole batch is current in the policy).
static void cpo_fvp(void *ctx, const float *v, float *out) {
  cpo_t *g = ctx;
  pol_fvp(&g->sa.pol, g->theta_old, v, out);
  for (int i = 0; i < g->n; i++) out[i] += (float)g->p.damping * v[i];
}

static double dot(const float *a, const float *b, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

// Surrogates at the current theta: loss = -mean(r A_R), cost = mean(r A_C); KL(old||theta).
static void cpo_surrogates(cpo_t *g, buf_t *buf, int N, double *loss, double *surr_c,
                           double *kl) {
  sa_t *s = &g->sa;
  pol_forward(&s->pol, s->theta, buf->obs, N);
  pol_logp(&s->pol, buf->actions, s->row_a);
  pol_kl(&s->pol, g->old_dist, g->old_log_std, s->row_b);
  double l = 0, c = 0, k = 0;
  for (int i = 0; i < N; i++) {
    double r = exp((double)s->row_a[i] - g->old_logp[i]);
    l -= r * g->adv_r[i];
    c += r * g->adv_c[i];
    k += s->row_b[i];
  }
  if (g->ent_coef > 0) {
    pol_entropy(&s->pol, s->row_c);
    l -= g->ent_coef * sa_mean_or(s->row_c, N, 0) * N;
  }
  *loss = l / N;
  *surr_c = c / N;
  *kl = k / N;
}

typedef struct {
  cpo_t *g;
  buf_t *buf;
  int N;
} cpo_ls_ctx_t;

static int cpo_try_step(void *ctx, double frac) {
  cpo_ls_ctx_t *lc = ctx;
  cpo_t *g = lc->g;
  for (int i = 0; i < g->n; i++) g->sa.theta[i] = g->theta_old[i] - (float)frac * g->x[i];
  double loss, surr_c, kl;
  cpo_surrogates(g, lc->buf, lc->N, &loss, &surr_c, &kl);
  g->kl_last = kl;
  int ok_kl = kl <= g->p.delta;
  int ok_loss = g->qp_case <= 1 || loss <= g->loss_old;
  int ok_cost = surr_c - g->surr_c_old <= fmax(-g->c, 0.0);
  return ok_kl && ok_loss && ok_cost && isfinite(loss);
}

static int cpo_update(void *ptr, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                      double *stats) {
  cpo_t *g = ptr;
  sa_t *s = &g->sa;
  int N = buf->T * buf->E, n = g->n;
  if (g->counts) {
    int rc = sa_count_bonus(g->counts, "cpo", buf->obs, s->obs_dim, buf->actions, s->act_dim,
                            info->valid, N, g->p.explore_bonus, g->p.explore_cost_bonus,
                            buf->rewards, buf->costs);
    if (rc) return rc;
  }
  g->ent_coef = sa_entropy_coef(g->p.entropy_coef, g->p.entropy_decay, info->env_steps,
                                g->run.total_steps);
  buf_compute_advantages(buf, (float)g->p.gamma, (float)g->p.lam, (float)g->p.gamma,
                         (float)g->p.lam, g->p.proper_time_limits);
  memcpy(g->adv_r, buf->adv, sizeof(float) * N);
  memcpy(g->adv_c, buf->cost_adv, sizeof(float) * N);
  buf_standardize(g->adv_r, N, 1, 1e-8f);
  buf_standardize(g->adv_c, N, 0, 1e-8f);

  // Constraint value from this rollout's finished episodes (the last one if none finished).
  if (info->n_episodes > 0) {
    g->last_jc = sa_mean_or(info->ep_costs, info->n_episodes, 0);
    g->last_len = sa_mean_or(info->ep_lengths, info->n_episodes, 1);
  }
  double c = g->last_jc - g->run.cost_limit;
  if (strcmp(g->p.cost_scale, "ep_len") == 0) c /= fmax(g->last_len, 1.0);
  if (strcmp(g->p.cost_scale, "one_minus_gamma") == 0) c *= 1.0 - g->p.gamma;
  g->c = c;

  // Gradients at theta_old, with the current policy's log-probs as the reference.
  memcpy(g->theta_old, s->theta, sizeof(float) * n);
  pol_forward(&s->pol, s->theta, buf->obs, N);
  pol_save_dist(&s->pol, g->old_dist, g->old_log_std);
  pol_logp(&s->pol, buf->actions, g->old_logp);
  for (int i = 0; i < N; i++) {
    g->dlogp[i] = -g->adv_r[i] / N;
    s->row_c[i] = -(float)g->ent_coef / N;
  }
  memset(g->g, 0, sizeof(float) * n);
  pol_backward(&s->pol, s->theta, buf->actions, g->dlogp, g->ent_coef > 0 ? s->row_c : NULL,
               NULL, NULL, NULL, g->g);
  for (int i = 0; i < N; i++) g->dlogp[i] = g->adv_c[i] / N;
  memset(g->b, 0, sizeof(float) * n);
  pol_backward(&s->pol, s->theta, buf->actions, g->dlogp, NULL, NULL, NULL, NULL, g->b);

  // u = F^-1 g, w = F^-1 b (the batch forward at theta_old is still cached in the policy).
  cg_solve(cpo_fvp, g, g->g, n, g->p.cg_iters, 1e-10, g->u, g->cg_work);
  cg_solve(cpo_fvp, g, g->b, n, g->p.cg_iters, 1e-10, g->w, g->cg_work);
  double q = dot(g->g, g->u, n), r = dot(g->g, g->w, n), sv = dot(g->b, g->w, n);
  double bb = dot(g->b, g->b, n);
  tr_cpo_solution_t sol;
  tr_cpo_dual(q, r, sv, c, g->p.delta, bb, &sol);
  tr_cpo_direction(&sol, g->u, g->w, n, g->x);
  g->qp_case = sol.qp_case;

  double kl0;
  cpo_surrogates(g, buf, N, &g->loss_old, &g->surr_c_old, &kl0);
  cpo_ls_ctx_t lc = {g, buf, N};
  int accepted = cg_line_search(cpo_try_step, &lc, 1.0, g->p.ls_decay, g->p.ls_steps);
  double kl = g->kl_last;
  if (accepted < 0) {
    memcpy(s->theta, g->theta_old, sizeof(float) * n);
    kl = 0;
  }

  // Critics: full-batch regression on the GAE returns.
  double vloss = 0, cvloss = 0;
  for (int it = 0; it < g->p.critic_iters; it++) {
    vloss = critic_fit_step(&s->vr, buf->obs, buf->ret, N, g->p.critic_l2, 0);
    cvloss = critic_fit_step(&s->vc, buf->obs, buf->cost_ret, N, g->p.critic_l2, 0);
  }
  pol_forward(&s->pol, s->theta, buf->obs, N);
  pol_entropy(&s->pol, s->row_c);
  stats[0] = g->last_jc;
  stats[1] = c;
  stats[2] = sol.qp_case;
  stats[3] = sol.lambda;
  stats[4] = sol.nu;
  stats[5] = kl;
  stats[6] = accepted;
  stats[7] = sa_mean_or(s->row_c, N, 0);
  stats[8] = vloss;
  stats[9] = cvloss;
  if (!sa_finite(s)) return err_fail("cpo: diverged (non-finite parameters)");
  return 0;
}

static int cpo_save(void *ptr, ckpt_t *k) {
  cpo_t *g = ptr;
  int rc = sa_save(&g->sa, k);
  if (!rc) rc = ckpt_put_f64(k, g->last_jc);
  if (!rc) rc = ckpt_put_f64(k, g->last_len);
  if (!rc && g->counts) rc = sa_counts_save(g->counts, k);  // only when on: default layout kept
  return rc;
}

static int cpo_load(void *ptr, ckpt_t *k) {
  cpo_t *g = ptr;
  int rc = sa_load(&g->sa, k);
  if (!rc) rc = ckpt_get_f64(k, &g->last_jc);
  if (!rc) rc = ckpt_get_f64(k, &g->last_len);
  if (!rc && g->counts) rc = sa_counts_load(g->counts, k);
  return rc;
}

const algo_class_t algo_cpo = {
    .schedules_on_steps = 1,
    .name = "cpo",
    .summary = "Constrained Policy Optimization (trust region + CPO QP), single agent",
    .params = cpo_param_table,
    .n_params = sizeof cpo_param_table / sizeof cpo_param_table[0],
    .params_size = sizeof(cpo_params_t),
    .stat_names = cpo_stats,
    .n_stats = sizeof cpo_stats / sizeof cpo_stats[0],
    .default_num_envs = 10,
    .default_rollout_length = 200,
    .create = cpo_create,
    .destroy = cpo_destroy,
    .act = sa_algo_act,
    .act_deterministic = sa_algo_act_deterministic,
    .values = sa_algo_values,
    .update = cpo_update,
    .save = cpo_save,
    .load = cpo_load,
};
