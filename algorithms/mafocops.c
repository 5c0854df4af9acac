// mafocops: Multi-Agent FOCOPS (Zhao, Yang, Lu, Zhou, Li, NeurIPS 2023), Algorithm 1 of its
// supplementary material (seed 004; specs/algorithms.md §9). Per update:
//   J_c = mean undiscounted episodic team cost of the batch's episodes (Alg. 1 line 4);
//   nu <- clip(nu + nu_lr (J_c - d), 0, nu_max)               (supp. Eq. 24, Corollary 2);
//   agents in a fresh random order, M = 1; each agent i_h minimises the projection loss of
//   Corollary 1 (focops_loss.c)
//     mean_b [ KL(pi_theta || pi_k)[s_b] - (1/lambda) r_b (M_b A_R,b - nu A_C,b) ] 1[KL <= eta]
//   for `epochs` passes of minibatches of `minibatch` rows, stopping after an epoch whose
//   batch-mean KL(pi_theta || pi_k) exceeds target_kl; then M <- M pi_new / pi_old (line 19);
//   then the team reward and cost critics (actor_critic.c: clipped Huber on normalised returns).
// Defaults from the supplement's Table 5 (Safe MAMuJoCo): lambda 2.2, nu_max 1.3, nu lr 5e-5,
// kl-threshold 0.0125, minibatch 256, 5 epochs. Choices where the sources are silent or differ:
// * eta: Table 5 has one "kl-threshold"; FOCOPS has two (indicator eta and early stop delta,
//   both 0.02). Both default to 0.0125 here.
// * KL check: Alg. 1 prints "if D_KL <= delta then break"; this follows FOCOPS (stop when the KL
//   EXCEEDS delta), which is what a trust-region bound means.
// * M multiplies the reward advantage only (Alg. 1 lines 7 and 13: eta-hat = M A_R, where M
//   starts as the advantage); the cost term is the agent's own (Eq. 5). MACPO's code also puts M
//   on the cost surrogate.
// * nu: ONE multiplier for the team, updated once per update. Alg. 1 writes nu_j inside the agent
//   loop; with the shared Safe MAMuJoCo cost, per-agent multipliers updated once each from the
//   same J_c are identical copies (a shared nu stepped once per agent would move n times faster).
// * Advantages: the team advantages, both standardised (actor_critic.c); no 1/(1+nu) scaling.
// * "Everything else as the MACPO codebase" (supp. Appendix J): critic lr 5e-3 and 5 epochs x 40
//   minibatches for the critics (its MAPPO-L script), rollouts of 16 x 1000 steps, so every batch
//   holds whole episodes. The actor lr is this project's common 5e-4 (that script: 9e-5, with 40
//   minibatches of 400 rows instead of Table 5's 256). The rest is actor_critic.c's (its header
//   lists those choices).
// * Critics: ac_critics_update (epochs x `minibatches`, a count) once after the actors, not
//   interleaved with each agent's actor minibatches as Alg. 1 line 12 writes; the actors use
//   `minibatch` (rows, Table 5) and ignore `minibatches` and `clip`.
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/actor_critic.h"
#include "algorithms/focops_loss.h"
#include "core/err.h"

typedef struct {
  ac_params_t ac;
  double lambda, eta, target_kl, nu_init, nu_lr, nu_max, cost_margin;
  int minibatch;
} mf_params_t;

#define P(k, t, f, d, h, lo, hi) {k, t, offsetof(mf_params_t, f), d, h, NULL, lo, hi}
static const cfg_param_t mf_param_table[] = {
    AC_COMMON_PARAMS(mf_params_t, "false", "5e-3", "5", "40"),
    P("lambda", CFG_FLOAT, lambda, "2.2", "temperature lambda of the projection loss", 1e-6, 1e6),
    P("eta", CFG_FLOAT, eta, "0.0125", "per-state KL(new||old) bound of the loss indicator", 0,
      100),
    P("target_kl", CFG_FLOAT, target_kl, "0.0125",
      "stop an agent's epochs when its batch-mean KL(new||old) exceeds this", 0, 100),
    P("nu_init", CFG_FLOAT, nu_init, "0", "initial cost multiplier nu", 0, 1e6),
    P("nu_lr", CFG_FLOAT, nu_lr, "5e-5", "step size of the projected nu update (per update)", 0,
      1e6),
    P("nu_max", CFG_FLOAT, nu_max, "1.3", "upper bound of nu", 0, 1e9),
    P("minibatch", CFG_INT, minibatch, "256", "rows per actor minibatch", 1, 1 << 24),
    AC_COST_MARGIN_PARAM(mf_params_t),
};
#undef P

static const char *const mf_stats[] = {
    "nu",      "jc", "policy_loss", "value_loss", "cost_value_loss",
    "entropy", "kl", "epochs_run",  "active_frac"};

typedef struct {
  ac_t ac;  // first member: the ac_algo_* entries cast the state to ac_t
  mf_params_t p;
  double cost_limit, nu, jc;
  float *old_mean;     // [max_rows][act_dim] pi_k means of the selected agent's rows
  float *old_log_std;  // [act_dim]
  float *mb_old;       // [chunk][act_dim]
  int *perm, *idx;     // [max_rows], [chunk]
} mf_t;

// What one agent's update reports.
typedef struct {
  double loss;         // sum over actor steps of the minibatch losses
  double kl, entropy;  // after the last epoch run
  long long steps, rows, active;
  int epochs;  // epochs run
} mf_agent_stats_t;

static void mf_destroy(void *algo) {
  mf_t *m = algo;
  if (!m) return;
  free(m->old_mean);
  free(m->old_log_std);
  free(m->mb_old);
  free(m->perm);
  free(m->idx);
  ac_algo_destroy(m);
}

static int mf_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                     void **out) {
  const mf_params_t *p = params;
  int rc = ac_algo_new("mafocops", sizeof(mf_t), spec, &p->ac, run, 1, out);
  if (rc) return rc;
  mf_t *m = *out;
  m->p = *p;
  m->cost_limit = ac_cost_target(run->cost_limit, p->cost_margin);  // actor_critic.h
  m->nu = p->nu_init;
  m->jc = 0;
  ac_t *ac = &m->ac;
  size_t K = (size_t)ac->act_dim;
  m->old_mean = err_calloc((size_t)ac->max_rows * K, sizeof(float));
  m->old_log_std = err_calloc(K, sizeof(float));
  m->mb_old = err_calloc((size_t)ac->chunk * K, sizeof(float));
  m->perm = err_calloc((size_t)ac->max_rows, sizeof(int));
  m->idx = err_calloc((size_t)ac->chunk, sizeof(int));
  if (!m->old_mean || !m->old_log_std || !m->mb_old || !m->perm || !m->idx) {
    mf_destroy(m);
    *out = NULL;
    return ERR_FAIL;
  }
  return 0;
}

// Forward the actor on selected rows [s, s + n) (n <= chunk); the observations and actions are in
// ac->mb_obs / ac->mb_act afterwards.
static void mf_forward_rows(mf_t *m, ac_actor_t *act, int s, int n, int od, int kd) {
  for (int j = 0; j < n; j++) m->idx[j] = s + j;
  ac_gather_rows(&m->ac, m->idx, n, od, kd);
  pol_forward(&act->pol, act->theta, m->ac.mb_obs, n);
}

// pi_k of the selected rows: the KL reference of the loss and of the early stop.
static void mf_save_old(mf_t *m, ac_actor_t *act, int rows, int od, int kd) {
  for (int s = 0; s < rows; s += m->ac.chunk) {
    int n = rows - s < m->ac.chunk ? rows - s : m->ac.chunk;
    mf_forward_rows(m, act, s, n, od, kd);
    pol_save_dist(&act->pol, m->old_mean + (size_t)s * kd, m->old_log_std);
  }
}

// Batch-mean KL(current || pi_k) over the selected rows; *entropy gets the per-dimension entropy.
static double mf_batch_kl(mf_t *m, ac_actor_t *act, int rows, int od, int kd, double *entropy) {
  ac_t *ac = &m->ac;
  double kl = 0;
  for (int s = 0; s < rows; s += ac->chunk) {
    int n = rows - s < ac->chunk ? rows - s : ac->chunk;
    mf_forward_rows(m, act, s, n, od, kd);
    fl_policy_kl(&act->pol, m->old_mean + (size_t)s * kd, m->old_log_std, ac->mb_t1);
    for (int j = 0; j < n; j++) kl += ac->mb_t1[j];
  }
  pol_entropy(&act->pol, ac->mb_ent);
  *entropy = ac->mb_ent[0] / kd;
  return rows > 0 ? kl / rows : 0;
}

// One actor minibatch (selected rows idx[0..B)): the Corollary 1 loss, gradient accumulated over
// chunks, one clipped Adam step.
static void mf_minibatch(mf_t *m, ac_actor_t *act, const int *idx, int B, const float *M, int od,
                         int kd, mf_agent_stats_t *st) {
  ac_t *ac = &m->ac;
  const double dent = -ac->p.entropy_coef / ((double)B * kd);
  double loss = 0;
  memset(act->grad, 0, sizeof(float) * act->pol.n_params);
  for (int s = 0; s < B; s += ac->chunk) {
    int n = B - s < ac->chunk ? B - s : ac->chunk;
    const int *ix = idx + s;
    ac_gather_rows(ac, ix, n, od, kd);
    for (int j = 0; j < n; j++) {
      int r = ix[j];
      ac->mb_logp_old[j] = ac->g_logp_old[r];
      // MAFOCOPS Alg. 1 line 13: eta-hat = M A_R; the cost term is the agent's own (Eq. 5).
      ac->mb_adv[j] = (float)((M ? M[r] : 1.0f) * ac->g_adv[r] - m->nu * ac->g_adv_c[r]);
      memcpy(m->mb_old + (size_t)j * kd, m->old_mean + (size_t)r * kd, sizeof(float) * kd);
      ac->mb_dent[j] = (float)dent;
    }
    pol_forward(&act->pol, act->theta, ac->mb_obs, n);
    pol_logp(&act->pol, ac->mb_act, ac->mb_logp);
    fl_policy_kl(&act->pol, m->mb_old, m->old_log_std, ac->mb_t1);
    int active = 0;
    // fl_loss averages over its n rows; rescale to the minibatch mean.
    loss += n * fl_loss(ac->mb_logp, ac->mb_logp_old, ac->mb_t1, ac->mb_adv, n, m->p.lambda,
                        m->p.eta, ac->mb_dlogp, ac->mb_t2, &active);
    float scale = (float)n / (float)B;
    for (int j = 0; j < n; j++) {
      ac->mb_dlogp[j] *= scale;
      ac->mb_t2[j] *= scale;
    }
    fl_policy_backward(&act->pol, act->theta, ac->mb_act, ac->mb_dlogp,
                       ac->p.entropy_coef > 0 ? ac->mb_dent : NULL, m->mb_old, m->old_log_std,
                       ac->mb_t2, act->grad);
    st->active += active;
  }
  adam_clip_global_norm(act->grad, act->pol.n_params, ac->p.max_grad_norm);
  adam_step(&act->opt, act->theta, act->grad);
  st->loss += loss / B;
  st->rows += B;
  st->steps++;
}

// One agent's epochs on the rows ac_gather_agent selected (M NULL: all 1).
static void mf_actor_update(mf_t *m, int actor, int rows, const float *M, rng_t *rng,
                            mf_agent_stats_t *st) {
  ac_t *ac = &m->ac;
  ac_actor_t *act = &ac->actors[actor];
  int od, kd;
  ac_actor_dims(ac, &od, &kd);
  mf_save_old(m, act, rows, od, kd);
  int B = m->p.minibatch < rows ? m->p.minibatch : rows;
  int n_mb = rows / B;  // the remainder of a permutation is left out of that epoch
  memset(st, 0, sizeof *st);
  for (int ep = 0; ep < ac->p.epochs; ep++) {
    rng_permutation(rng, m->perm, rows);
    for (int b = 0; b < n_mb; b++) mf_minibatch(m, act, m->perm + (size_t)b * B, B, M, od, kd, st);
    st->epochs = ep + 1;
    st->kl = mf_batch_kl(m, act, rows, od, kd, &st->entropy);
    if (st->kl > m->p.target_kl) break;
  }
}

static void mf_add_stats(mf_agent_stats_t *sum, const mf_agent_stats_t *st) {
  sum->loss += st->loss;
  sum->kl += st->kl;
  sum->entropy += st->entropy;
  sum->steps += st->steps;
  sum->rows += st->rows;
  sum->active += st->active;
  sum->epochs += st->epochs;
}

static int mf_update(void *algo, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                     double *stats) {
  mf_t *m = algo;
  ac_t *ac = &m->ac;
  // Alg. 1 line 4 and line 9: J_c from this batch's episodes (the last value when none ended),
  // then the projected nu step, before any agent moves.
  if (info->n_episodes > 0) {
    double s = 0;
    for (int i = 0; i < info->n_episodes; i++) s += info->ep_costs[i];
    m->jc = s / info->n_episodes;
  }
  m->nu = fl_nu_update(m->nu, m->p.nu_lr, m->jc, m->cost_limit, m->p.nu_max);
  ac_prepare(ac, buf);

  mf_agent_stats_t st, sum = {0};
  int n_updated = 0;
  if (ac->p.share_params) {
    // One actor on every agent's rows: no sequential correction (M = 1).
    int rows = ac_gather_agent(ac, buf, -1);
    mf_actor_update(m, 0, rows, NULL, rng, &st);
    mf_add_stats(&sum, &st);
    n_updated = 1;
  } else {
    int order[ENV_MAX_AGENTS];
    ac_agent_order(rng, ac->A, order);
    for (int i = 0; i < ac->N; i++) ac->M[i] = 1.0f;
    for (int h = 0; h < ac->A; h++) {
      int a = order[h];
      int rows = ac_gather_agent(ac, buf, a);
      mf_actor_update(m, a, rows, ac->M, rng, &st);
      mf_add_stats(&sum, &st);
      n_updated++;
      // Alg. 1 line 19: M <- M pi_new / pi_old for the next agent.
      if (h + 1 < ac->A) {
        ac_actor_logp(ac, a, rows, ac->g_logp_new);
        ac_m_update(ac->M, ac->g_logp_new, ac->g_logp_old, rows);
      }
    }
  }
  double lv, lc;
  ac_critics_update(ac, buf, rng, &lv, &lc);
  // Loss: mean over every actor step; entropy, KL and epochs: means over the actors updated.
  double row[] = {m->nu,
                  m->jc,
                  sum.steps ? sum.loss / sum.steps : 0,
                  lv,
                  lc,
                  sum.entropy / n_updated,
                  sum.kl / n_updated,
                  (double)sum.epochs / n_updated,
                  sum.rows ? (double)sum.active / sum.rows : 0};
  memcpy(stats, row, sizeof row);
  if (!isfinite(m->nu)) return err_fail("mafocops: diverged (non-finite multiplier)");
  if (!ac_finite(ac)) return err_fail("mafocops: diverged (non-finite parameters)");
  return 0;
}

static int mf_save(void *algo, ckpt_t *k) {
  mf_t *m = algo;
  int rc = ac_save(&m->ac, k);
  if (!rc) rc = ckpt_put_f64(k, m->nu);
  if (!rc) rc = ckpt_put_f64(k, m->jc);
  return rc;
}

static int mf_load(void *algo, ckpt_t *k) {
  mf_t *m = algo;
  int rc = ac_load(&m->ac, k);
  if (!rc) rc = ckpt_get_f64(k, &m->nu);
  if (!rc) rc = ckpt_get_f64(k, &m->jc);
  return rc;
}

const algo_class_t algo_mafocops = {
    .name = "mafocops",
    .summary = "MAFOCOPS: sequential first-order projection per agent with M, projected nu",
    .params = mf_param_table,
    .n_params = sizeof mf_param_table / sizeof mf_param_table[0],
    .params_size = sizeof(mf_params_t),
    .stat_names = mf_stats,
    .n_stats = sizeof mf_stats / sizeof mf_stats[0],
    .default_num_envs = 16,
    .default_rollout_length = 1000,
    .create = mf_create,
    .destroy = mf_destroy,
    .act = ac_algo_act,
    .act_deterministic = ac_algo_act_deterministic,
    .values = ac_algo_values,
    .update = mf_update,
    .save = mf_save,
    .load = mf_load,
};
