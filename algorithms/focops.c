// focops: First Order Constrained Optimization in Policy Space (Zhang, Vuong & Ross 2020) for
// one agent, categorical or Gaussian policy, following the official code (FOCOPS-repo,
// specs/algorithms.md §7). Per update: GAE for reward and cost; nu <- clip(nu + nu_lr (J_c - d),
// 0, nu_max) once, before the epochs; then up to `epochs` passes of minibatches, each one step of
// the reward and cost critics (MSE + L2) and one policy step on the projection loss
//   (1/B) sum [ KL(pi_theta || pi_k)[s] - (1/lambda) r (A_R - nu A_C) ] 1[KL[s] <= eta]
// (focops_loss.c), stopping after an epoch whose batch-mean KL(pi_theta || pi_k) exceeds
// target_kl. Choices where published code disagrees:
// * Advantage: A_R - nu A_C with both standardised and no 1/(1+nu) (FOCOPS-repo) by default;
//   `advantage: safepo` is SafePO/OmniSafe's (A_R - nu A_C)/(1 + nu) with A_C only centred, whose
//   1/(1+nu) acts as a temperature that grows with nu (benchmarks/gridworld/focops.yaml uses it).
// * J_c: the mean UNDISCOUNTED episodic cost over a window of the last `cost_window` episodes
//   (SafePO/OmniSafe; the limit is on that quantity here); FOCOPS-repo uses the batch's mean
//   discounted cost return against a discounted threshold.
// * nu: plain projected gradient steps as FOCOPS-repo (SafePO/OmniSafe: Adam on nu, lr 0.035).
// * Networks: sa_common's two tanh layers of 64, log-std starting at -0.5 (FOCOPS-repo), mean
//   head gain 0.01 (FOCOPS-repo scales it by 0.1); no observation normaliser.
// Options for optima that mix two behaviours (sa_common.h; off by default): `nu_kp`, a
// proportional term on top of the projected (integral) nu step, as the PID Lagrangian of Stooke
// et al. 2020: the loss uses nu_I + nu_kp (J_c - d), clipped to [0, nu_max]; `explore_bonus` /
// `explore_cost_bonus`, count-based optimism on the reward and cost signals.
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/focops_loss.h"
#include "algorithms/sa_common.h"
#include "core/err.h"

typedef struct {
  double lr, critic_lr, lambda, eta, target_kl, nu_init, nu_lr, nu_max, gamma, lam, critic_l2;
  double max_grad_norm;
  int epochs, minibatch, cost_window, hidden, lr_decay, proper_time_limits;
  char advantage[CFG_STR_MAX];
  double nu_kp, explore_bonus, explore_cost_bonus;
} fo_params_t;

#define P(k, t, f, d, h, lo, hi) {k, t, offsetof(fo_params_t, f), d, h, NULL, lo, hi}
static const cfg_param_t fo_param_table[] = {
    P("lr", CFG_FLOAT, lr, "3e-4", "actor Adam learning rate", 0, 1),
    P("critic_lr", CFG_FLOAT, critic_lr, "3e-4", "critic Adam learning rate", 0, 1),
    P("lr_decay", CFG_BOOL, lr_decay, "true", "decay the actor learning rate linearly to 0", 1, 0),
    P("lambda", CFG_FLOAT, lambda, "1.5", "FOCOPS temperature lambda of the projection loss", 1e-6,
      1e6),
    P("eta", CFG_FLOAT, eta, "0.02", "per-state KL(new||old) bound of the loss indicator", 0, 100),
    P("target_kl", CFG_FLOAT, target_kl, "0.02",
      "stop the epochs when the batch-mean KL(new||old) exceeds this", 0, 100),
    P("nu_init", CFG_FLOAT, nu_init, "0", "initial cost multiplier nu", 0, 1e6),
    P("nu_lr", CFG_FLOAT, nu_lr, "0.01", "step size of the projected nu update (per update)", 0,
      1e6),
    P("nu_max", CFG_FLOAT, nu_max, "2", "upper bound of nu", 0, 1e9),
    P("gamma", CFG_FLOAT, gamma, "0.99", "discount (reward and cost)", 0, 1),
    P("lam", CFG_FLOAT, lam, "0.95", "GAE lambda (reward and cost)", 0, 1),
    P("critic_l2", CFG_FLOAT, critic_l2, "0.001", "L2 penalty on critic weights", 0, 1),
    P("max_grad_norm", CFG_FLOAT, max_grad_norm, "40", "global-norm gradient clip", 0, 1e9),
    P("epochs", CFG_INT, epochs, "10", "passes over the batch per update (at most)", 1, 1000),
    P("minibatch", CFG_INT, minibatch, "64", "rows per minibatch", 1, 1 << 24),
    P("cost_window", CFG_INT, cost_window, "50", "episodes averaged for J_c", 1, SA_WINDOW_MAX),
    P("hidden", CFG_INT, hidden, "64", "width of the two tanh hidden layers", 1, 4096),
    P("proper_time_limits", CFG_BOOL, proper_time_limits, "true",
      "bootstrap the value at time-limit truncations", 1, 0),
    {"advantage", CFG_STRING, offsetof(fo_params_t, advantage), "focops",
     "focops: A_R - nu A_C, both standardised (FOCOPS-repo); safepo: (A_R - nu A_C) / (1 + nu), "
     "A_C only centred (SafePO/OmniSafe)",
     "focops|safepo", 1, 0},
    P("nu_kp", CFG_FLOAT, nu_kp, "0",
      "proportional gain: the loss uses clip(nu + nu_kp (J_c - d), 0, nu_max) (PID Lagrangian)", 0,
      1e9),
    P("explore_bonus", CFG_FLOAT, explore_bonus, "0",
      "count-based reward optimism beta_r / sqrt(n(s,a)) (discrete observations)", 0, 1e6),
    P("explore_cost_bonus", CFG_FLOAT, explore_cost_bonus, "0",
      "count-based cost optimism: the cost signal minus beta_c / sqrt(n(s,a))", 0, 1e6),
};
#undef P

static const char *const fo_stats[] = {
    "nu",         "jc",         "kl", "entropy", "policy_loss", "value_loss", "cost_value_loss",
    "epochs_run", "active_frac"};

typedef struct {
  sa_t sa;  // first member: the sa_algo_* table entries cast the state to sa_t
  fo_params_t p;
  algo_run_info_t run;
  adam_t pol_opt;
  double nu;
  sa_window_t window;
  sa_counts_t *counts;  // when a count bonus is on
  float *old_dist, *old_log_std, *mb_old_dist, *old_logp, *adv;  // [N] rows ([N][K] dists)
} fo_t;

static void fo_destroy(void *ptr) {
  fo_t *g = ptr;
  if (!g) return;
  sa_destroy(&g->sa);
  adam_destroy(&g->pol_opt);
  free(g->old_dist);
  free(g->old_log_std);
  free(g->mb_old_dist);
  free(g->old_logp);
  free(g->adv);
  free(g->counts);
  free(g);
}

static int fo_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                     void **out) {
  fo_t *g = err_calloc(1, sizeof *g);
  if (!g) return ERR_FAIL;
  g->p = *(const fo_params_t *)params;
  g->run = *run;
  sa_config_t c = sa_two_layer_config(g->p.hidden, MLP_ACT_TANH, (float)g->p.critic_lr);
  int N = run->T * run->E;
  int rc = sa_create(&g->sa, "focops", spec, &c, N, 1, run->seed);
  if (!rc) rc = adam_create(&g->pol_opt, g->sa.pol.n_params, (float)g->p.lr, 1e-5f);
  if (!rc) {
    size_t K = (size_t)g->sa.pol_act_dim;
    g->old_dist = err_calloc((size_t)N * K, sizeof(float));
    g->mb_old_dist = err_calloc((size_t)N * K, sizeof(float));
    g->old_log_std = err_calloc(K, sizeof(float));
    g->old_logp = err_calloc(N, sizeof(float));
    g->adv = err_calloc(N, sizeof(float));
    if (!g->old_dist || !g->mb_old_dist || !g->old_log_std || !g->old_logp || !g->adv)
      rc = ERR_FAIL;
  }
  if (rc) {
    fo_destroy(g);
    return rc;
  }
  g->nu = g->p.nu_init;
  sa_window_init(&g->window, g->p.cost_window);
  if (g->p.explore_bonus > 0 || g->p.explore_cost_bonus > 0) {
    if (!(g->counts = err_calloc(1, sizeof *g->counts))) {
      fo_destroy(g);
      return ERR_FAIL;
    }
  }
  *out = g;
  return 0;
}

// Batch-mean KL(current || old) of the whole rollout (the early-stop test).
static double fo_batch_kl(fo_t *g, const buf_t *buf, int N) {
  sa_t *s = &g->sa;
  pol_forward(&s->pol, s->theta, buf->obs, N);
  fl_policy_kl(&s->pol, g->old_dist, g->old_log_std, s->row_c);
  return sa_mean_or(s->row_c, N, 0);
}

static int fo_update(void *ptr, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                     double *stats) {
  fo_t *g = ptr;
  sa_t *s = &g->sa;
  int N = buf->T * buf->E, K = s->pol_act_dim;
  if (g->counts) {
    int rc = sa_count_bonus(g->counts, "focops", buf->obs, s->obs_dim, buf->actions, s->act_dim,
                            info->valid, N, g->p.explore_bonus, g->p.explore_cost_bonus,
                            buf->rewards, buf->costs);
    if (rc) return rc;
  }
  buf_compute_advantages(buf, (float)g->p.gamma, (float)g->p.lam, (float)g->p.gamma,
                         (float)g->p.lam, g->p.proper_time_limits);

  // nu first (FOCOPS-repo order): projected gradient step on J_c - d.
  sa_window_push(&g->window, info->ep_costs, info->n_episodes);
  double jc = sa_window_mean(&g->window, g->run.cost_limit);
  g->nu = fl_nu_update(g->nu, g->p.nu_lr, jc, g->run.cost_limit, g->p.nu_max);
  double nu = g->nu;  // the multiplier the loss uses
  if (g->p.nu_kp > 0) nu = fmin(fmax(g->nu + g->p.nu_kp * (jc - g->run.cost_limit), 0), g->p.nu_max);

  // w = A_R - nu A_C, both standardised (FOCOPS-repo), or (A_R - nu A_C) / (1 + nu) with A_C
  // only centred (SafePO/OmniSafe).
  memcpy(s->row_a, buf->adv, sizeof(float) * N);
  memcpy(s->row_b, buf->cost_adv, sizeof(float) * N);
  buf_standardize(s->row_a, N, 1, 1e-6f);
  int safepo = strcmp(g->p.advantage, "safepo") == 0;
  buf_standardize(s->row_b, N, !safepo, 1e-6f);
  float scale = safepo ? 1.0f / (1.0f + (float)nu) : 1.0f;
  for (int i = 0; i < N; i++) g->adv[i] = (s->row_a[i] - (float)nu * s->row_b[i]) * scale;

  // pi_k over the whole batch: the KL reference of the loss and of the early stop.
  pol_forward(&s->pol, s->theta, buf->obs, N);
  pol_save_dist(&s->pol, g->old_dist, g->old_log_std);
  memcpy(g->old_logp, buf->logp, sizeof(float) * N);

  g->pol_opt.lr = g->p.lr_decay ? sa_linear_lr(g->p.lr, info->env_steps - N, g->run.total_steps)
                                : (float)g->p.lr;
  int mb = g->p.minibatch < N ? g->p.minibatch : N;
  double loss_sum = 0, vloss_sum = 0, cvloss_sum = 0, kl = 0;
  long long n_mb = 0, n_rows = 0, n_active = 0;
  int epoch;
  for (epoch = 0; epoch < g->p.epochs; epoch++) {
    rng_permutation(rng, s->perm, N);
    for (int start = 0; start + mb <= N; start += mb) {
      const int *idx = s->perm + start;
      sa_gather(buf->obs, idx, mb, s->obs_dim, s->mb_obs);
      // Critics first on the minibatch (FOCOPS-repo order).
      sa_gather(buf->ret, idx, mb, 1, s->mb_a);
      sa_gather(buf->cost_ret, idx, mb, 1, s->mb_b);
      vloss_sum +=
          critic_fit_step(&s->vr, s->mb_obs, s->mb_a, mb, g->p.critic_l2, g->p.max_grad_norm);
      cvloss_sum +=
          critic_fit_step(&s->vc, s->mb_obs, s->mb_b, mb, g->p.critic_l2, g->p.max_grad_norm);
      // Policy: the projection loss.
      sa_gather(buf->actions, idx, mb, s->act_dim, s->mb_act);
      sa_gather(g->adv, idx, mb, 1, s->mb_a);
      sa_gather(g->old_logp, idx, mb, 1, s->mb_b);
      sa_gather(g->old_dist, idx, mb, K, g->mb_old_dist);
      pol_forward(&s->pol, s->theta, s->mb_obs, mb);
      pol_logp(&s->pol, s->mb_act, s->mb_c);
      fl_policy_kl(&s->pol, g->mb_old_dist, g->old_log_std, s->mb_d);
      int active = 0;
      loss_sum += fl_loss(s->mb_c, s->mb_b, s->mb_d, s->mb_a, mb, g->p.lambda, g->p.eta, s->row_a,
                          s->mb_e, &active);
      memset(s->grad, 0, sizeof(float) * s->pol.n_params);
      fl_policy_backward(&s->pol, s->theta, s->mb_act, s->row_a, NULL, g->mb_old_dist,
                         g->old_log_std, s->mb_e, s->grad);
      adam_clip_global_norm(s->grad, s->pol.n_params, g->p.max_grad_norm);
      adam_step(&g->pol_opt, s->theta, s->grad);
      n_active += active;
      n_rows += mb;
      n_mb++;
    }
    kl = fo_batch_kl(g, buf, N);
    if (kl > g->p.target_kl) {
      epoch++;
      break;
    }
  }
  pol_entropy(&s->pol, s->row_c);  // the forward of fo_batch_kl is current
  stats[0] = nu;
  stats[1] = jc;
  stats[2] = kl;
  stats[3] = sa_mean_or(s->row_c, N, 0);
  stats[4] = n_mb ? loss_sum / n_mb : 0;
  stats[5] = n_mb ? vloss_sum / n_mb : 0;
  stats[6] = n_mb ? cvloss_sum / n_mb : 0;
  stats[7] = epoch;
  stats[8] = n_rows ? (double)n_active / n_rows : 0;
  if (!sa_finite(s) || !isfinite(g->nu))
    return err_fail("focops: diverged (non-finite parameters)");
  return 0;
}

static int fo_save(void *ptr, ckpt_t *k) {
  fo_t *g = ptr;
  int rc = sa_save(&g->sa, k);
  if (!rc) rc = adam_save(&g->pol_opt, k);
  if (!rc) rc = ckpt_put_f64(k, g->nu);
  if (!rc) rc = ckpt_put(k, &g->window, sizeof g->window);
  if (!rc && g->counts) rc = sa_counts_save(g->counts, k);  // only when on: default layout kept
  return rc;
}

static int fo_load(void *ptr, ckpt_t *k) {
  fo_t *g = ptr;
  int rc = sa_load(&g->sa, k);
  if (!rc) rc = adam_load(&g->pol_opt, k);
  if (!rc) rc = ckpt_get_f64(k, &g->nu);
  if (!rc) rc = ckpt_get(k, &g->window, sizeof g->window);
  if (!rc && g->counts) rc = sa_counts_load(g->counts, k);
  return rc;
}

const algo_class_t algo_focops = {
    .schedules_on_steps = 1,
    .name = "focops",
    .summary = "FOCOPS: first-order projection in policy space with a projected nu, single agent",
    .params = fo_param_table,
    .n_params = sizeof fo_param_table / sizeof fo_param_table[0],
    .params_size = sizeof(fo_params_t),
    .stat_names = fo_stats,
    .n_stats = sizeof fo_stats / sizeof fo_stats[0],
    .default_num_envs = 10,
    .default_rollout_length = 200,
    .create = fo_create,
    .destroy = fo_destroy,
    .act = sa_algo_act,
    .act_deterministic = sa_algo_act_deterministic,
    .values = sa_algo_values,
    .update = fo_update,
    .save = fo_save,
    .load = fo_load,
};
