// ppo_lag: PPO-Lagrangian for one agent, following SafePO/OmniSafe (specs/algorithms.md §8):
// once per update, before the policy epochs, one Adam step on the multiplier with loss
// -lambda * (J_c - d), J_c the mean undiscounted episodic cost over a window of the last 50
// episodes, lambda clamped at 0; advantage (A_R - lambda A_C) / (1 + lambda) with A_R
// standardised and A_C centred; clipped surrogate; up to 40 epochs of minibatch 64 with early
// stop when the mean KL(old || new) over the batch exceeds target_kl; critics by MSE + L2.
// Differences from SafePO, each deliberate: actor and critic gradients are clipped separately
// (SafePO clips the summed loss's joint gradient); `constraint: cost_to_go` compares the mean
// discounted cost return of the batch instead (the seed's quantity), as an option.
// Options for optima that mix two behaviours (sa_common.h; all off by default): `lambda_update:
// pid` replaces the Adam step by a PID multiplier (plain integral + proportional damping,
// Stooke et al. 2020); `explore_bonus` / `explore_cost_bonus` add count-based optimism to the
// reward and cost signals; `entropy_decay` anneals the entropy bonus to 0.
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/sa_common.h"
#include "core/err.h"

typedef struct {
  double lr, critic_lr, lambda_init, lambda_lr, clip, target_kl, gamma, lam, critic_l2;
  double max_grad_norm, entropy_coef;
  int epochs, minibatch, cost_window, hidden, lr_decay, proper_time_limits;
  char constraint[CFG_STR_MAX];
  char lambda_update[CFG_STR_MAX];
  double lambda_ki, lambda_kp, lambda_kd, lambda_max, explore_bonus, explore_cost_bonus;
  int entropy_decay;
} pl_params_t;

#define P(k, t, f, d, h, lo, hi) {k, t, offsetof(pl_params_t, f), d, h, NULL, lo, hi}
static const cfg_param_t pl_param_table[] = {
    P("lr", CFG_FLOAT, lr, "3e-4", "actor Adam learning rate", 0, 1),
    P("critic_lr", CFG_FLOAT, critic_lr, "3e-4", "critic Adam learning rate", 0, 1),
    P("lr_decay", CFG_BOOL, lr_decay, "true", "decay the actor learning rate linearly to 0", 1, 0),
    P("lambda_init", CFG_FLOAT, lambda_init, "0.001", "initial multiplier", 0, 1e9),
    P("lambda_lr", CFG_FLOAT, lambda_lr, "0.035", "Adam learning rate of the multiplier", 0, 10),
    P("clip", CFG_FLOAT, clip, "0.2", "PPO ratio clip", 0, 1),
    P("target_kl", CFG_FLOAT, target_kl, "0.02", "stop the epochs when KL(old||new) exceeds this",
      0, 10),
    P("gamma", CFG_FLOAT, gamma, "0.99", "discount (reward and cost)", 0, 1),
    P("lam", CFG_FLOAT, lam, "0.95", "GAE lambda (reward and cost)", 0, 1),
    P("critic_l2", CFG_FLOAT, critic_l2, "0.001", "L2 penalty on critic weights", 0, 1),
    P("max_grad_norm", CFG_FLOAT, max_grad_norm, "40", "global-norm gradient clip", 0, 1e9),
    P("entropy_coef", CFG_FLOAT, entropy_coef, "0", "entropy bonus", 0, 1),
    P("epochs", CFG_INT, epochs, "40", "passes over the batch per update", 1, 1000),
    P("minibatch", CFG_INT, minibatch, "64", "rows per minibatch", 1, 1 << 24),
    P("cost_window", CFG_INT, cost_window, "50", "episodes averaged for J_c", 1, SA_WINDOW_MAX),
    P("hidden", CFG_INT, hidden, "64", "width of the two tanh hidden layers", 1, 4096),
    P("proper_time_limits", CFG_BOOL, proper_time_limits, "true",
      "bootstrap the value at time-limit truncations", 1, 0),
    {"constraint", CFG_STRING, offsetof(pl_params_t, constraint), "episodic",
     "J_c: undiscounted episodic cost, or the mean discounted cost-to-go of the batch",
     "episodic|cost_to_go", 1, 0},
    {"lambda_update", CFG_STRING, offsetof(pl_params_t, lambda_update), "adam",
     "multiplier update: Adam on -lambda (J_c - d) (SafePO), or a PID multiplier (Stooke et al. "
     "2020) with lambda_ki / lambda_kp / lambda_kd",
     "adam|pid", 1, 0},
    P("lambda_ki", CFG_FLOAT, lambda_ki, "1", "pid: integral gain (dual ascent step per unit of "
      "J_c - d)", 0, 1e9),
    P("lambda_kp", CFG_FLOAT, lambda_kp, "0", "pid: proportional gain", 0, 1e9),
    P("lambda_kd", CFG_FLOAT, lambda_kd, "0", "pid: derivative gain (on rises of J_c)", 0, 1e9),
    P("lambda_max", CFG_FLOAT, lambda_max, "1e6", "pid: upper bound of lambda", 0, 1e9),
    P("explore_bonus", CFG_FLOAT, explore_bonus, "0",
      "count-based reward optimism beta_r / sqrt(n(s,a)) (discrete observations)", 0, 1e6),
    P("explore_cost_bonus", CFG_FLOAT, explore_cost_bonus, "0",
      "count-based cost optimism: the cost signal minus beta_c / sqrt(n(s,a))", 0, 1e6),
    P("entropy_decay", CFG_BOOL, entropy_decay, "false",
      "decay the entropy bonus linearly to 0 over the run", 1, 0),
};
#undef P

static const char *const pl_stats[] = {"lambda", "jc", "kl", "entropy", "policy_loss",
                                       "value_loss", "cost_value_loss", "epochs_run"};

typedef struct {
  sa_t sa;  // first member: the sa_algo_* table entries cast the state to sa_t
  pl_params_t p;
  algo_run_info_t run;
  adam_t pol_opt, lam_opt;
  float lambda;
  sa_window_t window;
  int pid;            // lambda_update == pid
  sa_pid_t pid_state;
  sa_counts_t *counts;  // when a count bonus is on
  float *old_dist, *old_log_std, *old_logp, *adv;  // [N] rows
} pl_t;

static void pl_destroy(void *ptr) {
  pl_t *g = ptr;
  if (!g) return;
  sa_destroy(&g->sa);
  adam_destroy(&g->pol_opt);
  adam_destroy(&g->lam_opt);
  free(g->old_dist);
  free(g->old_log_std);
  free(g->old_logp);
  free(g->adv);
  free(g->counts);
  free(g);
}

static int pl_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                     void **out) {
  pl_t *g = err_calloc(1, sizeof *g);
  if (!g) return ERR_FAIL;
  g->p = *(const pl_params_t *)params;
  g->run = *run;
  sa_config_t c = sa_two_layer_config(g->p.hidden, MLP_ACT_TANH, (float)g->p.critic_lr);
  int N = run->T * run->E;
  int rc = sa_create(&g->sa, "ppo_lag", spec, &c, N, 1, run->seed);
  if (!rc) rc = adam_create(&g->pol_opt, g->sa.pol.n_params, (float)g->p.lr, 1e-5f);
  if (!rc) rc = adam_create(&g->lam_opt, 1, (float)g->p.lambda_lr, 1e-8f);
  if (!rc) {
    g->old_dist = err_calloc((size_t)N * g->sa.pol_act_dim, sizeof(float));
    g->old_log_std = err_calloc(g->sa.pol_act_dim, sizeof(float));
    g->old_logp = err_calloc(N, sizeof(float));
    g->adv = err_calloc(N, sizeof(float));
    if (!g->old_dist || !g->old_log_std || !g->old_logp || !g->adv) rc = ERR_FAIL;
  }
  if (rc) {
    pl_destroy(g);
    return rc;
  }
  g->lambda = (float)g->p.lambda_init;
  sa_window_init(&g->window, g->p.cost_window);
  g->pid = strcmp(g->p.lambda_update, "pid") == 0;
  sa_pid_init(&g->pid_state, g->p.lambda_init);
  if (g->p.explore_bonus > 0 || g->p.explore_cost_bonus > 0) {
    if (!(g->counts = err_calloc(1, sizeof *g->counts))) {
      pl_destroy(g);
      return ERR_FAIL;
    }
  }
  *out = g;
  return 0;
}

// Mean over rows of the discounted cost-to-go estimate (cost returns), the seed's J_c.
static double pl_mean(const float *x, int n) {
  return sa_mean_or(x, n, 0.0);
}

static int pl_update(void *ptr, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                     double *stats) {
  pl_t *g = ptr;
  sa_t *s = &g->sa;
  int N = buf->T * buf->E, K = s->pol_act_dim;
  if (g->counts) {
    int rc = sa_count_bonus(g->counts, "ppo_lag", buf->obs, s->obs_dim, buf->actions, s->act_dim,
                            info->valid, N, g->p.explore_bonus, g->p.explore_cost_bonus,
                            buf->rewards, buf->costs);
    if (rc) return rc;
  }
  buf_compute_advantages(buf, (float)g->p.gamma, (float)g->p.lam, (float)g->p.gamma,
                         (float)g->p.lam, g->p.proper_time_limits);

  // Multiplier first, from the windowed episodic cost (SafePO order).
  sa_window_push(&g->window, info->ep_costs, info->n_episodes);
  double jc = strcmp(g->p.constraint, "episodic") == 0
                  ? sa_window_mean(&g->window, g->run.cost_limit)
                  : pl_mean(buf->cost_ret, N);
  if (g->pid) {
    sa_pid_params_t pp = {g->p.lambda_ki, g->p.lambda_kp, g->p.lambda_kd, g->p.lambda_max};
    g->lambda = (float)sa_pid_update(&g->pid_state, &pp, jc, g->run.cost_limit);
  } else {
    float lam_grad = (float)(-(jc - g->run.cost_limit));
    adam_step(&g->lam_opt, &g->lambda, &lam_grad);
    if (g->lambda < 0) g->lambda = 0;
  }
  double ent_coef = sa_entropy_coef(g->p.entropy_coef, g->p.entropy_decay, info->env_steps,
                                    g->run.total_steps);

  // Penalised advantage: standardised reward part, centred cost part.
  memcpy(s->row_a, buf->adv, sizeof(float) * N);
  memcpy(s->row_b, buf->cost_adv, sizeof(float) * N);
  buf_standardize(s->row_a, N, 1, 1e-8f);
  buf_standardize(s->row_b, N, 0, 1e-8f);
  for (int i = 0; i < N; i++) g->adv[i] = (s->row_a[i] - g->lambda * s->row_b[i]) / (1 + g->lambda);

  // Old distribution over the whole batch, for the KL early stop.
  pol_forward(&s->pol, s->theta, buf->obs, N);
  pol_save_dist(&s->pol, g->old_dist, g->old_log_std);
  memcpy(g->old_logp, buf->logp, sizeof(float) * N);

  g->pol_opt.lr = g->p.lr_decay ? sa_linear_lr(g->p.lr, info->env_steps - N, g->run.total_steps)
                                : (float)g->p.lr;
  int mb = g->p.minibatch < N ? g->p.minibatch : N;
  double loss_sum = 0, vloss_sum = 0, cvloss_sum = 0, kl = 0;
  long long n_mb = 0;
  int epoch;
  for (epoch = 0; epoch < g->p.epochs; epoch++) {
    rng_permutation(rng, s->perm, N);
    for (int start = 0; start + mb <= N; start += mb) {
      const int *idx = s->perm + start;
      sa_gather(buf->obs, idx, mb, s->obs_dim, s->mb_obs);
      sa_gather(buf->actions, idx, mb, s->act_dim, s->mb_act);
      sa_gather(g->adv, idx, mb, 1, s->mb_a);
      sa_gather(g->old_logp, idx, mb, 1, s->mb_b);
      // Clipped surrogate: d(-min(r A, clip(r) A))/d logp = -r A where the unclipped term is
      // the active one, 0 otherwise.
      pol_forward(&s->pol, s->theta, s->mb_obs, mb);
      pol_logp(&s->pol, s->mb_act, s->mb_c);
      double loss = 0;
      for (int k = 0; k < mb; k++) {
        float r = expf(s->mb_c[k] - s->mb_b[k]);
        float a = s->mb_a[k];
        float rc = fminf(fmaxf(r, 1 - (float)g->p.clip), 1 + (float)g->p.clip);
        float un = r * a, cl = rc * a;
        loss -= fminf(un, cl);
        s->mb_d[k] = (un <= cl) ? -r * a / mb : 0.0f;
        s->mb_e[k] = -(float)ent_coef / mb;
      }
      loss_sum += loss / mb;
      memset(s->grad, 0, sizeof(float) * s->pol.n_params);
      pol_backward(&s->pol, s->theta, s->mb_act, s->mb_d, ent_coef > 0 ? s->mb_e : NULL,
                   NULL, NULL, NULL, s->grad);
      adam_clip_global_norm(s->grad, s->pol.n_params, g->p.max_grad_norm);
      adam_step(&g->pol_opt, s->theta, s->grad);
      // Critics on the same minibatch.
      sa_gather(buf->ret, idx, mb, 1, s->mb_a);
      sa_gather(buf->cost_ret, idx, mb, 1, s->mb_b);
      vloss_sum += critic_fit_step(&s->vr, s->mb_obs, s->mb_a, mb, g->p.critic_l2,
                                   g->p.max_grad_norm);
      cvloss_sum += critic_fit_step(&s->vc, s->mb_obs, s->mb_b, mb, g->p.critic_l2,
                                    g->p.max_grad_norm);
      n_mb++;
    }
    // Early stop on the batch-mean KL(old || new).
    pol_forward(&s->pol, s->theta, buf->obs, N);
    pol_kl(&s->pol, g->old_dist, g->old_log_std, s->row_c);
    kl = pl_mean(s->row_c, N);
    if (kl > g->p.target_kl) {
      epoch++;
      break;
    }
  }
  pol_entropy(&s->pol, s->row_c);
  (void)K;
  stats[0] = g->lambda;
  stats[1] = jc;
  stats[2] = kl;
  stats[3] = pl_mean(s->row_c, N);
  stats[4] = n_mb ? loss_sum / n_mb : 0;
  stats[5] = n_mb ? vloss_sum / n_mb : 0;
  stats[6] = n_mb ? cvloss_sum / n_mb : 0;
  stats[7] = epoch;
  if (!sa_finite(s) || !isfinite(g->lambda)) return err_fail("ppo_lag: diverged (non-finite parameters)");
  return 0;
}

static int pl_save(void *ptr, ckpt_t *k) {
  pl_t *g = ptr;
  int rc = sa_save(&g->sa, k);
  if (!rc) rc = adam_save(&g->pol_opt, k);
  if (!rc) rc = adam_save(&g->lam_opt, k);
  if (!rc) rc = ckpt_put(k, &g->lambda, sizeof g->lambda);
  if (!rc) rc = ckpt_put(k, &g->window, sizeof g->window);
  // Only when the options are on, so the default checkpoint layout is unchanged.
  if (!rc && g->pid) rc = sa_pid_save(&g->pid_state, k);
  if (!rc && g->counts) rc = sa_counts_save(g->counts, k);
  return rc;
}

static int pl_load(void *ptr, ckpt_t *k) {
  pl_t *g = ptr;
  int rc = sa_load(&g->sa, k);
  if (!rc) rc = adam_load(&g->pol_opt, k);
  if (!rc) rc = adam_load(&g->lam_opt, k);
  if (!rc) rc = ckpt_get(k, &g->lambda, sizeof g->lambda);
  if (!rc) rc = ckpt_get(k, &g->window, sizeof g->window);
  if (!rc && g->pid) rc = sa_pid_load(&g->pid_state, k);
  if (!rc && g->counts) rc = sa_counts_load(g->counts, k);
  return rc;
}

const algo_class_t algo_ppo_lag = {
    .schedules_on_steps = 1,
    .name = "ppo_lag",
    .summary = "PPO-Lagrangian (SafePO/OmniSafe form), single agent",
    .params = pl_param_table,
    .n_params = sizeof pl_param_table / sizeof pl_param_table[0],
    .params_size = sizeof(pl_params_t),
    .stat_names = pl_stats,
    .n_stats = sizeof pl_stats / sizeof pl_stats[0],
    .default_num_envs = 10,
    .default_rollout_length = 200,
    .create = pl_create,
    .destroy = pl_destroy,
    .act = sa_algo_act,
    .act_deterministic = sa_algo_act_deterministic,
    .values = sa_algo_values,
    .update = pl_update,
    .save = pl_save,
    .load = pl_load,
};
