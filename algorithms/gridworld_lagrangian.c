// gridworld_lagrangian: the LagrangianSafeRL agent of seed 002 (section 2): REINFORCE with a
// learned baseline on the penalised signal (A - lambda * C), where A = G - V(s) with G the
// discounted reward-to-go and C the discounted cost-to-go; lambda by Adam on -lambda*(J_c - d),
// clamped at 0. Networks 128-128 ReLU for policy (softmax) and value, lr 3e-4, lambda lr 1e-2,
// lambda_0 = 1, gamma 0.99, 10 whole episodes per update (episodic rollouts, 10 copies).
// Choices where this differs from the seed, each documented:
// - The multiplier is driven by the undiscounted episodic cost of the rollout's episodes
//   (`constraint: episodic`, the project's one definition); the seed's mean discounted
//   cost-to-go over all visited states is `constraint: cost_to_go`.
// - Orthogonal initialisation (gain sqrt 2, output 0.01 for the policy, 1 for the value) instead
//   of PyTorch's default uniform init.
// Options for optima that mix two behaviours (sa_common.h; all off by default): `lambda_update:
// pid` (PID multiplier, Stooke et al. 2020, instead of Adam) and `explore_bonus` /
// `explore_cost_bonus` (count-based optimism on the reward and cost signals).
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/sa_common.h"
#include "core/err.h"

typedef struct {
  double lr, value_lr, lagrange_lr, lambda_init, gamma, entropy_coef;
  int hidden, entropy_decay;
  char constraint[CFG_STR_MAX];
  char lambda_update[CFG_STR_MAX];
  double lambda_ki, lambda_kp, lambda_kd, lambda_max, explore_bonus, explore_cost_bonus;
} gl_params_t;

#define P(k, t, f, d, h) {k, t, offsetof(gl_params_t, f), d, h, NULL, 1, 0}
static const cfg_param_t gl_param_table[] = {
    P("lr", CFG_FLOAT, lr, "3e-4", "policy Adam learning rate"),
    P("value_lr", CFG_FLOAT, value_lr, "3e-4", "value Adam learning rate"),
    P("lagrange_lr", CFG_FLOAT, lagrange_lr, "1e-2", "Adam learning rate of the multiplier"),
    P("lambda_init", CFG_FLOAT, lambda_init, "1.0", "initial multiplier"),
    P("gamma", CFG_FLOAT, gamma, "0.99", "discount of reward-to-go and cost-to-go"),
    P("hidden", CFG_INT, hidden, "128", "width of the two hidden layers"),
    P("entropy_coef", CFG_FLOAT, entropy_coef, "0",
      "entropy bonus (not in the seed; keeps the policy stochastic where mixing is optimal)"),
    P("entropy_decay", CFG_BOOL, entropy_decay, "false",
      "decay the entropy bonus linearly to 0 over the run"),
    {"constraint", CFG_STRING, offsetof(gl_params_t, constraint), "episodic",
     "what lambda compares with the limit: undiscounted episodic cost, or the seed's mean "
     "discounted cost-to-go",
     "episodic|cost_to_go", 1, 0},
    {"lambda_update", CFG_STRING, offsetof(gl_params_t, lambda_update), "adam",
     "multiplier update: Adam on -lambda (J_c - d) (the seed), or a PID multiplier (Stooke et al. "
     "2020) with lambda_ki / lambda_kp / lambda_kd",
     "adam|pid", 1, 0},
    {"lambda_ki", CFG_FLOAT, offsetof(gl_params_t, lambda_ki), "1",
     "pid: integral gain (dual ascent step per unit of J_c - d)", NULL, 0, 1e9},
    {"lambda_kp", CFG_FLOAT, offsetof(gl_params_t, lambda_kp), "0", "pid: proportional gain",
     NULL, 0, 1e9},
    {"lambda_kd", CFG_FLOAT, offsetof(gl_params_t, lambda_kd), "0",
     "pid: derivative gain (on rises of J_c)", NULL, 0, 1e9},
    {"lambda_max", CFG_FLOAT, offsetof(gl_params_t, lambda_max), "1e6",
     "pid: upper bound of lambda", NULL, 0, 1e9},
    {"explore_bonus", CFG_FLOAT, offsetof(gl_params_t, explore_bonus), "0",
     "count-based reward optimism beta_r / sqrt(n(s,a)) (discrete observations)", NULL, 0, 1e6},
    {"explore_cost_bonus", CFG_FLOAT, offsetof(gl_params_t, explore_cost_bonus), "0",
     "count-based cost optimism: the cost signal minus beta_c / sqrt(n(s,a))", NULL, 0, 1e6},
};
#undef P

static const char *const gl_stats[] = {"lambda", "violation", "policy_loss", "value_loss",
                                       "entropy"};

typedef struct {
  sa_t sa;  // first member: the sa_algo_* table entries cast the state to sa_t
  gl_params_t p;
  algo_run_info_t run;
  adam_t pol_opt, lam_opt;
  float lambda;
  int *rows;  // [N] indices of valid rows
  int pid;    // lambda_update == pid
  sa_pid_t pid_state;
  sa_counts_t *counts;  // when a count bonus is on
} gl_t;

static void gl_destroy(void *ptr) {
  gl_t *g = ptr;
  if (!g) return;
  sa_destroy(&g->sa);
  adam_destroy(&g->pol_opt);
  adam_destroy(&g->lam_opt);
  free(g->rows);
  free(g->counts);
  free(g);
}

static int gl_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                     void **out) {
  if (!spec->discrete)
    return err_input("algo gridworld_lagrangian needs a discrete action space; env %s is "
                     "continuous",
                     spec->name);
  gl_t *g = err_calloc(1, sizeof *g);
  if (!g) return ERR_FAIL;
  g->p = *(const gl_params_t *)params;
  g->run = *run;
  sa_config_t c = sa_two_layer_config(g->p.hidden, MLP_ACT_RELU, (float)g->p.value_lr);
  int N = run->T * run->E;
  int rc = sa_create(&g->sa, "gridworld_lagrangian", spec, &c, N, 0, run->seed);
  if (!rc) rc = adam_create(&g->pol_opt, g->sa.pol.n_params, (float)g->p.lr, 1e-8f);
  if (!rc) rc = adam_create(&g->lam_opt, 1, (float)g->p.lagrange_lr, 1e-8f);
  if (!rc && !(g->rows = err_calloc(N, sizeof(int)))) rc = ERR_FAIL;
  if (rc) {
    gl_destroy(g);
    return rc;
  }
  g->lambda = (float)g->p.lambda_init;
  g->pid = strcmp(g->p.lambda_update, "pid") == 0;
  sa_pid_init(&g->pid_state, g->p.lambda_init);
  if (g->p.explore_bonus > 0 || g->p.explore_cost_bonus > 0) {
    if (!(g->counts = err_calloc(1, sizeof *g->counts))) {
      gl_destroy(g);
      return ERR_FAIL;
    }
  }
  *out = g;
  return 0;
}

static int gl_update(void *ptr, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                     double *stats) {
  gl_t *g = ptr;
  sa_t *s = &g->sa;
  int T = buf->T, E = buf->E;
  float gamma = (float)g->p.gamma;
  float *G = s->row_a, *C = s->row_b;
  if (g->counts) {
    int rc = sa_count_bonus(g->counts, "gridworld_lagrangian", buf->obs, s->obs_dim, buf->actions,
                            s->act_dim, info->valid, T * E, g->p.explore_bonus,
                            g->p.explore_cost_bonus, buf->rewards, buf->costs);
    if (rc) return rc;
  }

  // Discounted reward-to-go and cost-to-go within each episode (rollouts hold whole episodes).
  for (int e = 0; e < E; e++) {
    float gr = 0, gc = 0;
    for (int t = T - 1; t >= 0; t--) {
      int i = t * E + e;
      if (buf->done[i]) gr = gc = 0;
      gr = buf->rewards[i] + gamma * gr;
      gc = buf->costs[i] + gamma * gc;
      G[i] = gr;
      C[i] = gc;
    }
  }
  int n = 0;
  for (int i = 0; i < T * E; i++)
    if (!info->valid || info->valid[i]) g->rows[n++] = i;
  if (n == 0) return err_fail("gridworld_lagrangian: empty rollout");

  // Gather the valid rows: observations, actions, returns, cost-to-go.
  sa_gather(buf->obs, g->rows, n, s->obs_dim, s->mb_obs);
  sa_gather(buf->actions, g->rows, n, s->act_dim, s->mb_act);
  sa_gather(G, g->rows, n, 1, s->mb_a);
  sa_gather(C, g->rows, n, 1, s->mb_b);

  // Baseline from the value network before its step (the seed detaches it).
  critic_predict(&s->vr, s->mb_obs, n, s->mb_c);
  double cost_to_go_mean = 0;
  for (int k = 0; k < n; k++) cost_to_go_mean += s->mb_b[k];
  cost_to_go_mean /= n;

  // Policy step on -mean(logp * (A - lambda C)).
  pol_forward(&s->pol, s->theta, s->mb_obs, n);
  pol_logp(&s->pol, s->mb_act, s->mb_d);
  pol_entropy(&s->pol, s->mb_e);
  double loss = 0, entropy = 0;
  double ent_coef = g->p.entropy_coef;
  if (g->p.entropy_decay && g->run.total_steps > 0) {
    double left = 1.0 - (double)(info->env_steps) / (double)g->run.total_steps;
    ent_coef *= left > 0 ? left : 0;
  }
  for (int k = 0; k < n; k++) {
    float w = (s->mb_a[k] - s->mb_c[k]) - g->lambda * s->mb_b[k];
    loss -= (double)s->mb_d[k] * w;
    entropy += s->mb_e[k];
    s->mb_e[k] = -w / (float)n;                          // d loss / d logp_k
    s->mb_c[k] = -(float)ent_coef / (float)n;  // d loss / d entropy_k
  }
  memset(s->grad, 0, sizeof(float) * s->pol.n_params);
  pol_backward(&s->pol, s->theta, s->mb_act, s->mb_e, ent_coef > 0 ? s->mb_c : NULL,
               NULL, NULL, NULL, s->grad);
  adam_step(&g->pol_opt, s->theta, s->grad);

  // Value step on mean (V - G)^2.
  double vloss = critic_fit_step(&s->vr, s->mb_obs, s->mb_a, n, 0.0, 0.0);

  // Multiplier: one Adam step on -lambda * violation, then clamp at 0.
  double jc = cost_to_go_mean;
  if (strcmp(g->p.constraint, "episodic") == 0) {
    jc = 0;
    for (int k = 0; k < info->n_episodes; k++) jc += info->ep_costs[k];
    jc = info->n_episodes ? jc / info->n_episodes : g->run.cost_limit;
  }
  double violation = jc - g->run.cost_limit;
  if (g->pid) {
    sa_pid_params_t pp = {g->p.lambda_ki, g->p.lambda_kp, g->p.lambda_kd, g->p.lambda_max};
    g->lambda = (float)sa_pid_update(&g->pid_state, &pp, jc, g->run.cost_limit);
  } else {
    float lam_grad = (float)(-violation);
    adam_step(&g->lam_opt, &g->lambda, &lam_grad);
    if (g->lambda < 0) g->lambda = 0;
  }

  stats[0] = g->lambda;
  stats[1] = violation;
  stats[2] = loss / n;
  stats[3] = vloss;
  stats[4] = entropy / n;
  if (!sa_finite(s) || !isfinite(g->lambda)) return err_fail("gridworld_lagrangian: diverged (non-finite parameters)");
  return 0;
}

static int gl_save(void *ptr, ckpt_t *k) {
  gl_t *g = ptr;
  int rc = sa_save(&g->sa, k);
  if (!rc) rc = adam_save(&g->pol_opt, k);
  if (!rc) rc = adam_save(&g->lam_opt, k);
  if (!rc) rc = ckpt_put(k, &g->lambda, sizeof g->lambda);
  // Only when the options are on, so the default checkpoint layout is unchanged.
  if (!rc && g->pid) rc = sa_pid_save(&g->pid_state, k);
  if (!rc && g->counts) rc = sa_counts_save(g->counts, k);
  return rc;
}

static int gl_load(void *ptr, ckpt_t *k) {
  gl_t *g = ptr;
  int rc = sa_load(&g->sa, k);
  if (!rc) rc = adam_load(&g->pol_opt, k);
  if (!rc) rc = adam_load(&g->lam_opt, k);
  if (!rc) rc = ckpt_get(k, &g->lambda, sizeof g->lambda);
  if (!rc && g->pid) rc = sa_pid_load(&g->pid_state, k);
  if (!rc && g->counts) rc = sa_counts_load(g->counts, k);
  return rc;
}

const algo_class_t algo_gridworld_lagrangian = {
    .schedules_on_steps = 1,
    .name = "gridworld_lagrangian",
    .summary = "seed 002's LagrangianSafeRL: REINFORCE with baseline on A - lambda*C",
    .params = gl_param_table,
    .n_params = sizeof gl_param_table / sizeof gl_param_table[0],
    .params_size = sizeof(gl_params_t),
    .stat_names = gl_stats,
    .n_stats = sizeof gl_stats / sizeof gl_stats[0],
    .default_num_envs = 10,
    .default_rollout_length = 0,
    .episodic_rollouts = 1,
    .create = gl_create,
    .destroy = gl_destroy,
    .act = sa_algo_act,
    .act_deterministic = sa_algo_act_deterministic,
    .values = sa_algo_values,
    .update = gl_update,
    .save = gl_save,
    .load = gl_load,
};
