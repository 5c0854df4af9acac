// macpo: Multi-Agent Constrained Policy Optimisation (specs/algorithms.md §5; MACPO-repo
// r_macpo.py / base_runner_macpo.py). Per update: GAE and standardised team advantages
// (ac_prepare); a fresh random agent order; M = 1; each agent in turn splits its rows into
// `minibatches` shuffled minibatches and takes ONE constrained trust-region step on each (one
// pass; no actor optimiser): S_R = mean(r M A_r), S_C = mean(r M A_c), g = grad(-S_R), b = grad
// S_C; u = F^-1 g, w = F^-1 b by CG on exact damped Fisher-vector products of the minibatch; the
// CPO dual with all five cases (trust_region.c, SSA/MACPO sign convention, §6.3); the step norm
// cap; backtracking line search on KL, loss and cost surrogate (actor_critic.c "trust-region
// helpers"). Then M *= the agent's joint new/old ratio, and after all agents the team critics.
// Choices where published code disagrees (specs §5, §13), canonical first, option second:
// * Ratios and M are joint-density ratios (SafePO/HAPPO, actor_critic.h); the MACPO-repo's
//   per-dimension r and M are not reproduced (they need per-dimension log-probs throughout).
// * The cost surrogate is weighted by M, as both released codes do (`cost_m: false` drops M:
//   the paper's per-agent cost term, specs §14, could not be checked against the paper text).
// * c = (1 - gamma)(J_c - d) as released (`constraint_scale: none`: J_c - d); J_c is the mean
//   undiscounted episodic cost of the episodes that ended in this rollout (fresh, not 1-5
//   iterations stale), kept when none ended, 0 before the first. c is compared with the cost
//   surrogate of STANDARDISED A_c, as released, although the two are on different scales (§13.7);
//   `cost_units: advantage_std` divides c by the std of the raw cost advantage so that c and
//   b.dtheta share units. The default keeps the released scale: the case switch and the
//   line-search cost test of the published runs depend on it.
// * `cost_margin` m (0, actor_critic.h): c is taken against d (1 - m); judged against d.
// * The step keeps the official script's hacks as options: |x| capped at `step_norm_cap` 0.5
//   (0: none) and the first trial at `fraction_coef` 0.27 of it (SafePO: 0.1).
// * KL threshold 0.0065 (official script; config default 0.01), accepted when KL < delta.
// * Critics: one pass over `minibatches` 40 shuffled minibatches (`epochs` is ignored), one
//   clipped Adam step each for the reward and the cost critic after the actors: the 40 steps each
//   released per-agent critic takes (one per actor minibatch); the team critics stand in for the
//   A identical released ones (actor_critic.h). The critic step's place (before each actor step
//   in the released loop) does not matter: the advantages are fixed by ac_prepare.
// The parameter table takes the actor-critic keys from AC_COMMON_PARAMS with MACPO's defaults
// (critic_lr 5e-3, epochs 1, minibatches 40); lr, clip and entropy_coef are unused by MACPO.
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "algorithms/actor_critic.h"
#include "core/err.h"

typedef struct {
  ac_params_t ac;
  double kl_threshold, fraction_coef, step_norm_cap, ls_decay, damping, cost_margin;
  int ls_steps, cg_iters, cost_m;
  char constraint_scale[CFG_STR_MAX];
  char cost_units[CFG_STR_MAX];
} macpo_params_t;

#define S macpo_params_t
#define P(k, t, f, d, h, lo, hi) {k, t, offsetof(S, f), d, h, NULL, lo, hi}
static const cfg_param_t macpo_param_table[] = {
    // The actor-critic keys with MACPO's defaults: critic_lr 5e-3, one pass (epochs 1) of 40
    // minibatches. lr, clip and entropy_coef are unused (no actor optimiser: the actors move by
    // trust-region steps); epochs is forced to 1.
    AC_COMMON_PARAMS(S, "false", "5e-3", "1", "40"),
    // MACPO's own.
    P("kl_threshold", CFG_FLOAT, kl_threshold, "0.0065",
      "KL radius delta of the QP and the line search (accept when KL < delta)", 0, 10),
    P("fraction_coef", CFG_FLOAT, fraction_coef, "0.27",
      "first line-search trial as a fraction of the (capped) step", 0, 10),
    P("step_norm_cap", CFG_FLOAT, step_norm_cap, "0.5",
      "rescale a longer step direction to this parameter-space norm (0: no cap)", 0, 1e9),
    P("ls_steps", CFG_INT, ls_steps, "10", "backtracking line-search trials", 1, 100),
    P("ls_decay", CFG_FLOAT, ls_decay, "0.5", "step shrink per line-search trial", 0, 1),
    P("cg_iters", CFG_INT, cg_iters, "10", "conjugate-gradient iterations", 1, 1000),
    P("damping", CFG_FLOAT, damping, "0.1", "Fisher damping added to F v", 0, 100),
    P("cost_m", CFG_BOOL, cost_m, "true",
      "weight the cost surrogate by M as released (false: no M on the cost term)", 1, 0),
    AC_COST_MARGIN_PARAM(S),
    {"constraint_scale", CFG_STRING, offsetof(S, constraint_scale), "one_minus_gamma",
     "factor on J_c - d in the constraint value c", "one_minus_gamma|none", 1, 0},
    {"cost_units", CFG_STRING, offsetof(S, cost_units), "released",
     "c as released, or divided by the std of the raw cost advantage (the standardised cost "
     "surrogate's unit)",
     "released|advantage_std", 1, 0},
};
#undef P
#undef S

// progress.csv columns: jc and c; per minibatch step, averaged over every step of every agent:
// kl (KL(old||new) of the accepted step, 0 when rejected), accept_frac, capped_frac (direction
// rescaled by the norm cap), case0..case4 (fraction of steps in each QP case), lambda and nu
// (dual variables; nu is the cost multiplier), surr_r_gain / surr_c_change (S_R and S_C change
// of the step, 0 when rejected); ls_step (mean accepted trial index over accepted steps); the
// actors' mean per-dimension entropy and the critics' mean losses.
static const char *const macpo_stats[] = {"jc",          "c",           "kl",
                                          "accept_frac", "ls_step",     "capped_frac",
                                          "case0",       "case1",       "case2",
                                          "case3",       "case4",       "lambda",
                                          "nu",          "surr_r_gain", "surr_c_change",
                                          "entropy",     "value_loss",  "cost_value_loss"};
enum { MACPO_N_STATS = sizeof macpo_stats / sizeof macpo_stats[0] };

typedef struct {
  ac_t ac;  // first member: the ac_algo_* entries cast the state to ac_t
  macpo_params_t p;
  double cost_limit;  // the learner's target d (1 - cost_margin)
  double jc;
  ac_tr_t tr;
} macpo_t;

// Sums over the minibatch steps of one update.
typedef struct {
  long long steps, accepted, capped, cases[5];
  double kl, ls_step, lambda, nu, surr_r_gain, surr_c_change;
} macpo_sums_t;

static void macpo_destroy(void *algo) {
  macpo_t *m = algo;
  if (!m) return;
  ac_tr_destroy(&m->tr);
  ac_algo_destroy(m);
}

static int macpo_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                        void **out) {
  const macpo_params_t *p = params;
  int rc = ac_algo_new("macpo", sizeof(macpo_t), spec, &p->ac, run, 1, out);
  if (rc) return rc;
  macpo_t *m = *out;
  m->p = *p;
  m->ac.p.epochs = 1;  // one pass of the critics (ac_critics_update), see the file comment
  m->cost_limit = ac_cost_target(run->cost_limit, p->cost_margin);
  m->jc = 0;
  rc = ac_tr_create(&m->tr, &m->ac, p->damping, p->cost_m);
  if (rc) {
    macpo_destroy(m);
    *out = NULL;
  }
  return rc;
}

// Population std of the raw cost advantage (agent 0's lane), as ac_prepare standardised it.
static double macpo_cost_adv_std(const ac_t *ac, const buf_t *buf) {
  double s = 0, ss = 0;
  for (int i = 0; i < ac->N; i++) {
    double x = buf->cost_adv[(size_t)i * ac->A];
    s += x;
    ss += x * x;
  }
  double mean = s / ac->N;
  return sqrt(fmax(ss / ac->N - mean * mean, 0.0));
}

// The constraint value c of every step of this update (after ac_prepare filled cost_adv).
static double macpo_constraint_value(const macpo_t *m, const buf_t *buf) {
  double c = m->jc - m->cost_limit;
  if (strcmp(m->p.constraint_scale, "one_minus_gamma") == 0) c *= 1.0 - m->p.ac.gamma;
  if (strcmp(m->p.cost_units, "advantage_std") == 0) c /= macpo_cost_adv_std(&m->ac, buf) + 1e-5;
  return c;
}

// One pass of `actor` over the selected rows: a constrained trust-region step per minibatch.
static void macpo_actor_pass(macpo_t *m, int actor, int rows, const float *M, double c, rng_t *rng,
                             macpo_sums_t *sum) {
  ac_tr_t *tr = &m->tr;
  const macpo_params_t *p = &m->p;
  int nmb = p->ac.minibatches < rows ? p->ac.minibatches : rows;
  int R = rows / nmb;
  rng_permutation(rng, tr->idx, rows);
  for (int k = 0; k < nmb; k++) {
    ac_tr_begin(tr, actor, tr->idx + (size_t)k * R, R, M);
    ac_tr_dir_t dir;
    ac_tr_direction(ac_tr_fvp, tr, tr->g, tr->b, tr->n, c, p->kl_threshold, p->cg_iters,
                    p->step_norm_cap, tr->u, tr->w, tr->x, tr->cg_work, &dir);
    ac_tr_ls_t ls;
    ac_tr_line_search(tr, dir.sol.qp_case, c, p->kl_threshold, p->fraction_coef, p->ls_decay,
                      p->ls_steps, &ls);
    sum->steps++;
    sum->cases[dir.sol.qp_case]++;
    sum->capped += dir.capped;
    sum->lambda += dir.sol.lambda;
    sum->nu += dir.sol.nu;
    if (ls.ls_step >= 0) {
      sum->accepted++;
      sum->ls_step += ls.ls_step;
      sum->kl += ls.kl;
      sum->surr_r_gain += ls.surr_r - tr->surr_r_old;
      sum->surr_c_change += ls.surr_c - tr->surr_c_old;
    }
  }
}

// Every actor: sequential in a fresh random order with M, or the one shared actor.
static void macpo_actors(macpo_t *m, const buf_t *buf, double c, rng_t *rng, macpo_sums_t *sum) {
  ac_t *ac = &m->ac;
  if (ac->p.share_params) {
    int rows = ac_gather_agent(ac, buf, -1);
    macpo_actor_pass(m, 0, rows, NULL, c, rng, sum);
    return;
  }
  int order[ENV_MAX_AGENTS];
  ac_agent_order(rng, ac->A, order);
  for (int i = 0; i < ac->N; i++) ac->M[i] = 1.0f;
  for (int h = 0; h < ac->A; h++) {
    int a = order[h];
    int rows = ac_gather_agent(ac, buf, a);
    macpo_actor_pass(m, a, rows, ac->M, c, rng, sum);
    if (h + 1 < ac->A) {
      ac_actor_logp(ac, a, rows, ac->g_logp_new);
      ac_m_update(ac->M, ac->g_logp_new, ac->g_logp_old, rows);
    }
  }
}

// Mean per-dimension Gaussian entropy over the actors (the std is state-independent).
static double macpo_entropy(ac_t *ac) {
  double e = 0;
  for (int i = 0; i < ac->n_actors; i++) {
    pol_t *pol = &ac->actors[i].pol;
    float ent;
    memset(ac->mb_obs, 0, sizeof(float) * pol->cfg.obs_dim);
    pol_forward(pol, ac->actors[i].theta, ac->mb_obs, 1);
    pol_entropy(pol, &ent);
    e += (double)ent / pol->cfg.act_dim;
  }
  return e / ac->n_actors;
}

static int macpo_update(void *algo, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                        double *stats) {
  macpo_t *m = algo;
  ac_t *ac = &m->ac;
  if (info->n_episodes > 0) {
    double s = 0;
    for (int i = 0; i < info->n_episodes; i++) s += info->ep_costs[i];
    m->jc = s / info->n_episodes;
  }
  ac_prepare(ac, buf);
  double c = macpo_constraint_value(m, buf);
  macpo_sums_t sum;
  memset(&sum, 0, sizeof sum);
  macpo_actors(m, buf, c, rng, &sum);
  double lv, lc;
  ac_critics_update(ac, buf, rng, &lv, &lc);

  double steps = sum.steps > 0 ? (double)sum.steps : 1.0;
  double acc = sum.accepted > 0 ? (double)sum.accepted : 1.0;
  double row[MACPO_N_STATS] = {m->jc,
                               c,
                               sum.kl / steps,
                               sum.accepted / steps,
                               sum.ls_step / acc,
                               sum.capped / steps,
                               sum.cases[0] / steps,
                               sum.cases[1] / steps,
                               sum.cases[2] / steps,
                               sum.cases[3] / steps,
                               sum.cases[4] / steps,
                               sum.lambda / steps,
                               sum.nu / steps,
                               sum.surr_r_gain / steps,
                               sum.surr_c_change / steps,
                               macpo_entropy(ac),
                               lv,
                               lc};
  memcpy(stats, row, sizeof row);
  if (!ac_finite(ac)) return err_fail("macpo: diverged (non-finite parameters)");
  return 0;
}

static int macpo_save(void *algo, ckpt_t *k) {
  macpo_t *m = algo;
  int rc = ac_save(&m->ac, k);
  if (!rc) rc = ckpt_put_f64(k, m->jc);
  return rc;
}

static int macpo_load(void *algo, ckpt_t *k) {
  macpo_t *m = algo;
  int rc = ac_load(&m->ac, k);
  if (!rc) rc = ckpt_get_f64(k, &m->jc);
  return rc;
}

const algo_class_t algo_macpo = {
    .name = "macpo",
    .summary = "MACPO: per-agent CPO trust-region steps in random sequential order with M",
    .params = macpo_param_table,
    .n_params = sizeof macpo_param_table / sizeof macpo_param_table[0],
    .params_size = sizeof(macpo_params_t),
    .stat_names = macpo_stats,
    .n_stats = MACPO_N_STATS,
    .default_num_envs = 16,
    .default_rollout_length = 1000,
    .create = macpo_create,
    .destroy = macpo_destroy,
    .act = ac_algo_act,
    .act_deterministic = ac_algo_act_deterministic,
    .values = ac_algo_values,
    .update = macpo_update,
    .save = macpo_save,
    .load = macpo_load,
};
