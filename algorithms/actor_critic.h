// actor_critic: the multi-agent on-policy machinery shared by mappo, happo and mappo_lag (and
// the trust-region / first-order algorithms built on them): per-agent diagonal-Gaussian actors,
// one centralised reward critic and one cost critic on the state, value normalisers, the clipped
// Huber value loss, GAE, the PPO clipped surrogate with the sequential-update factor M, and the
// Lagrangian advantage / multiplier step of MAPPO-L. An algorithm file holds only its update
// order and its constraint handling.
//
// Choices where published code disagrees (specs/algorithms.md §1, §13), made once here:
// * Actor: the released MAPPO/MACPO network (input LayerNorm, 2 x 64 ReLU hidden layers each
//   followed by LayerNorm, orthogonal gain sqrt 2, mean head gain 0.01) and its std
//   sigma = 0.5 sigmoid(rho), rho_0 = 1 (sigma_0 = 0.366); a learnable log-std is the option
//   `std: log`. Log-probabilities are joint (summed over action dimensions): ratios and M are
//   joint-density ratios (HAPPO/HARL/SafePO), not the per-dimension MACPO-repo form.
// * Critics: ONE reward critic and ONE cost critic for the team, on the centralised state (as
//   HARL). The released code gives every agent its own critic, but reward, cost and share_obs
//   are identical across agents there, so the copies learn the same function A times.
// * Value normalisation: a separate normaliser per critic (the released code shares one between
//   the reward and the cost critic, mixing their statistics), updated once per update with the
//   batch's returns (not as a side effect of every normalise call).
// * Huber loss symmetric (the released code drops the loss for errors below -delta).
// * Time limits: bootstrapped at the 1000-step truncation by default (HARL); the released
//   behaviour (truncation as a terminal) is `proper_time_limits: false`.
// * Entropy: per-dimension Gaussian entropy averaged over rows and dimensions (released).
#ifndef SAFEMARL_ACTOR_CRITIC_H
#define SAFEMARL_ACTOR_CRITIC_H
#include <stddef.h>

#include "algorithms/algo.h"
#include "algorithms/policy.h"
#include "core/adam.h"
#include "core/normalizer.h"

// Options every actor-critic algorithm has (the "algo" config section); an algorithm's own
// parameter struct begins with this one so the shared table entries apply to it unchanged.
typedef struct {
  double lr, critic_lr, adam_eps, max_grad_norm, clip, value_clip, huber_delta, entropy_coef;
  double gamma, lam, std_init;
  int epochs, minibatches, hidden, layers, share_params, proper_time_limits, value_norm;
  char activation[CFG_STR_MAX];
  char std[CFG_STR_MAX];
} ac_params_t;

// The shared entries of a parameter table. S is the algorithm's parameter struct (its first
// member must be `ac_params_t ac`); the other arguments are the defaults that differ between
// algorithms: share_params ("true" for MAPPO), critic_lr, epochs and minibatches.
#define AC_PARAM(S, k, t, f, d, h, lo, hi) {k, t, offsetof(S, ac.f), d, h, NULL, lo, hi}
// The constrained algorithms' `cost_margin` m (a double `cost_margin` in their own parameter
// struct S): the learner aims at d (1 - m) wherever the cost limit d enters its update (the
// multiplier or nu step, the trust region's constraint value) while the run is still judged
// against d (env.cost_limit: report, plots). A Lagrangian or trust-region learner's final cost
// sits on its target give or take its oscillation, so "cost <= d at the end" needs a target
// under d by about that spread (README, drone_swarm_margin and ant_2x4_constrained).
#define AC_COST_MARGIN_PARAM(S)                                                                 \
  {"cost_margin", CFG_FLOAT, offsetof(S, cost_margin), "0",                                     \
   "fraction of the cost limit d the learner stays under: it aims at d (1 - cost_margin)", NULL,\
   0, 0.99}
static inline double ac_cost_target(double cost_limit, double cost_margin) {
  return cost_limit * (1.0 - cost_margin);
}
#define AC_COMMON_PARAMS(S, share, clr, ep, mb)                                              \
  AC_PARAM(S, "lr", CFG_FLOAT, lr, "5e-4", "actor Adam learning rate", 0, 1),                   \
      AC_PARAM(S, "critic_lr", CFG_FLOAT, critic_lr, clr, "critic Adam learning rate", 0,   \
               1),                                                                             \
      AC_PARAM(S, "adam_eps", CFG_FLOAT, adam_eps, "1e-5", "Adam epsilon", 0, 1),              \
      AC_PARAM(S, "max_grad_norm", CFG_FLOAT, max_grad_norm, "10", "global-norm gradient clip", \
               0, 1e9),                                                                        \
      AC_PARAM(S, "clip", CFG_FLOAT, clip, "0.2", "PPO ratio clip", 0, 1),                      \
      AC_PARAM(S, "value_clip", CFG_FLOAT, value_clip, "0.2",                                  \
               "value clip around the rollout's prediction (normalised units)", 0, 1e9),       \
      AC_PARAM(S, "huber_delta", CFG_FLOAT, huber_delta, "10", "Huber loss threshold", 0, 1e9), \
      AC_PARAM(S, "entropy_coef", CFG_FLOAT, entropy_coef, "0", "entropy bonus", 0, 1),        \
      AC_PARAM(S, "gamma", CFG_FLOAT, gamma, "0.99", "discount (reward and cost)", 0, 1),       \
      AC_PARAM(S, "lam", CFG_FLOAT, lam, "0.95", "GAE lambda (reward and cost)", 0, 1),         \
      AC_PARAM(S, "std_init", CFG_FLOAT, std_init, "1",                                        \
               "initial std parameter: rho (std: sigmoid) or log sigma (std: log)", -20, 20),  \
      AC_PARAM(S, "epochs", CFG_INT, epochs, ep, "passes over the batch per update", 1, 1000), \
      AC_PARAM(S, "minibatches", CFG_INT, minibatches, mb, "minibatches per epoch", 1,        \
               1 << 20),                                                                       \
      AC_PARAM(S, "hidden", CFG_INT, hidden, "64", "width of the hidden layers", 1, 4096),     \
      AC_PARAM(S, "layers", CFG_INT, layers, "2", "hidden layers (actor and critics)", 1,      \
               MLP_MAX_LAYERS),                                                                \
      AC_PARAM(S, "share_params", CFG_BOOL, share_params, share,                                \
               "one actor for all agents (needs equal observation and action sizes)", 1, 0),  \
      AC_PARAM(S, "proper_time_limits", CFG_BOOL, proper_time_limits, "true",                  \
               "bootstrap the value at time-limit truncations", 1, 0),                        \
      AC_PARAM(S, "value_norm", CFG_BOOL, value_norm, "true",                                   \
               "train the critics on normalised returns (running normaliser)", 1, 0),         \
      {"activation", CFG_STRING, offsetof(S, ac.activation), "relu",                            \
       "hidden activation of actor and critics", "relu|tanh", 1, 0},                           \
      {"std", CFG_STRING, offsetof(S, ac.std), "sigmoid",                                       \
       "std parametrisation: 0.5 sigmoid(rho) (released) or a learnable log sigma",           \
       "sigmoid|log", 1, 0}

// One actor: a policy network, its parameters, gradient and optimiser.
typedef struct {
  pol_t pol;
  float *theta, *grad;
  adam_t opt;
} ac_actor_t;

// One critic on the centralised state: network, normaliser of its targets, optimiser.
typedef struct {
  mlp_t net;
  float *theta, *grad;
  adam_t opt;
  norm_ema_t norm;
} ac_critic_t;

typedef struct {
  ac_params_t p;
  int A, E, N;                 // agents, env copies, rollout rows T*E
  int obs_dim, act_dim;        // buffer strides (max over agents)
  int share_dim;
  int agent_obs[ENV_MAX_AGENTS], agent_act[ENV_MAX_AGENTS];
  int n_actors;                // A, or 1 with share_params
  ac_actor_t actors[ENV_MAX_AGENTS];
  ac_critic_t vr, vc;
  int has_cost_critic;
  int max_rows;                // rows of the largest actor batch (N, or N*A shared)
  int chunk;                   // rows per network pass (caps the activation caches' memory)
  // The selected agent's rows (ac_gather_agent): per-row data copied from the buffer; the
  // observations and actions are read from the buffer in place.
  const buf_t *buf;
  int cur_agent, cur_rows;     // -1: every agent's rows (share_params)
  float *g_logp_old, *g_logp_new, *g_adv, *g_adv_c, *M;
  // Team advantages ([N]) standardised; normalised critic targets and old predictions.
  float *adv_r, *adv_c, *ret_n, *cret_n, *v_old_n, *vc_old_n;
  // Minibatch scratch ([max_rows] rows).
  float *mb_obs, *mb_act, *mb_logp_old, *mb_adv, *mb_adv_c, *mb_M, *mb_logp, *mb_dlogp,
      *mb_dent, *mb_ent, *mb_ratio, *mb_share, *mb_t1, *mb_t2, *mb_v, *mb_dv;
  int *perm;                   // [max_rows]
  // Acting scratch ([E] rows).
  float *in_obs, *out_act, *out_logp, *out_v;
} ac_t;

// What one actor update reports.
typedef struct {
  double policy_loss, entropy, approx_kl, clip_frac;
  long long steps;
} ac_actor_stats_t;

// The MAPPO-L multiplier step taken after every actor minibatch step (specs §4, official form):
//   g = scale * (jc - d) + mean_minibatch(r_pre * A_c);  lambda <- max(0, lambda + lr * g)
// and the advantage of each minibatch is A_r - lambda * A_c with the lambda of that moment.
typedef struct {
  float *lambda;
  double lr;
  double constraint_term;      // scale * (jc - d)
  double cap;                  // upper bound of the multiplier; <= 0: none
} ac_lagrange_t;

// The network configuration every actor-critic algorithm shares (input LayerNorm, `layers`
// hidden layers of `hidden` units each followed by LayerNorm, orthogonal gain sqrt 2 for ReLU)
// with n_in inputs, n_out outputs and output gain out_gain. Returns 0.
int ac_mlp_config(const ac_params_t *p, int n_in, int n_out, float out_gain, mlp_config_t *mc);
// One actor on that network (mean head gain 0.01, the std parametrisation of p), initialised
// from rng, with its Adam optimiser; caches for `chunk` rows.
int ac_actor_create(ac_actor_t *a, const ac_params_t *p, int obs_dim, int act_dim, int chunk,
                    rng_t *rng);
int ac_create(ac_t *ac, const char *algo_name, const env_spec_t *spec, const ac_params_t *p,
              const algo_run_info_t *run, int cost_critic);
void ac_destroy(ac_t *ac);

// The algo_class_t act / act_deterministic / values entries for a state struct whose first
// member is an ac_t. values/cost_values [E][A]: the team critics' values copied to every agent.
void ac_algo_act(void *algo, const float *obs, const float *share_obs, int E, rng_t *rng,
                 float *actions, float *logp, float *values, float *cost_values);
void ac_algo_act_deterministic(void *algo, const float *obs, const float *share_obs, int E,
                               float *actions);
void ac_algo_values(void *algo, const float *obs, const float *share_obs, int E, float *values,
                    float *cost_values);

// GAE for reward and cost, then the standardised team advantages adv_r / adv_c (agent 0's lane:
// the team quantities are the same in every lane) and the critics' normalised targets.
void ac_prepare(ac_t *ac, buf_t *buf);
// Select agent a's rows of the buffer: copies its old log-probs and sets its advantages from
// adv_r (and adv_c); observations and actions are read from the buffer in place. With
// share_params, agent = -1 selects all agents' rows (N*A). Returns the number of rows.
int ac_gather_agent(ac_t *ac, const buf_t *buf, int agent);
// PPO epochs for one actor on the selected rows: loss -mean(M min(r A, clip(r) A)) - c_ent H
// over `minibatches` minibatches per epoch, one clipped Adam step each. M may be NULL (all 1).
// lag may be NULL (plain advantage g_adv); otherwise per minibatch A = g_adv - lambda g_adv_c.
void ac_actor_update(ac_t *ac, int actor, int rows, const float *M, ac_lagrange_t *lag,
                     rng_t *rng, ac_actor_stats_t *st);
// Observation and action sizes of the selected agent's actor (agent 0's with share_params);
// returns that agent's index.
int ac_actor_dims(const ac_t *ac, int *od, int *kd);
// Copy the observations and actions of selected rows idx[0..n) (NULL: rows 0..n-1), n <= chunk,
// into mb_obs [n][od] and mb_act [n][kd], for an algorithm's own minibatch loop.
void ac_gather_rows(ac_t *ac, const int *idx, int n, int od, int kd);
// Log-probabilities of the selected rows' actions under the actor's current parameters ([rows]).
void ac_actor_logp(ac_t *ac, int actor, int rows, float *logp);
// The critics' epochs (reward critic, and the cost critic when built). Returns the mean losses.
void ac_critics_update(ac_t *ac, const buf_t *buf, rng_t *rng, double *value_loss,
                       double *cost_value_loss);
// Every actor's update. share_params: one actor on all agents' rows; otherwise sequential (a
// fresh random agent order, each agent's surrogate weighted by M, the product of the earlier
// agents' joint ratios) or simultaneous (every agent on the same advantages, M = 1). lags NULL,
// or [A] multipliers (lags[0] with share_params). Statistics are averages over actor steps.
void ac_update_actors(ac_t *ac, const buf_t *buf, int sequential, ac_lagrange_t *lags,
                      rng_t *rng, ac_actor_stats_t *st);
// M <- M * exp(logp_new - logp_old) per row (joint ratios; never clipped).
void ac_m_update(float *M, const float *logp_new, const float *logp_old, int rows);
// A fresh random agent order (a permutation of 0..A-1) from the update rng.
void ac_agent_order(rng_t *rng, int A, int *order);
int ac_finite(const ac_t *ac);

// Algorithm-class entries for a state struct of `size` bytes whose first member is an ac_t.
int ac_algo_new(const char *name, size_t size, const env_spec_t *spec, const ac_params_t *p,
                const algo_run_info_t *run, int cost_critic, void **out);
void ac_algo_destroy(void *algo);
int ac_algo_save(void *algo, ckpt_t *k);
int ac_algo_load(void *algo, ckpt_t *k);
// The unconstrained PPO update (mappo, happo): prepare, actors (sequential or not), critics;
// writes the AC_PPO_STATS statistics named in ac_ppo_stat_names.
#define AC_PPO_STATS 5
extern const char *const ac_ppo_stat_names[AC_PPO_STATS];
int ac_ppo_update(ac_t *ac, const char *name, buf_t *buf, int sequential, rng_t *rng,
                  double *stats);
int ac_save(const ac_t *ac, ckpt_t *k);
int ac_load(ac_t *ac, ckpt_t *k);

// ---- the losses, as pure functions (tested against finite differences) -------------------
// PPO clipped surrogate with M: L = -(1/B) sum_b M_b min(r_b A_b, clip(r_b, 1-eps, 1+eps) A_b),
// r_b = exp(logp_b - logp_old_b), M NULL = 1. dlogp[b] = dL/dlogp_b. ratio (may be NULL) gets r.
// Returns L; *clipped (may be NULL) counts rows where the clipped term is active.
double ac_surrogate(const float *logp, const float *logp_old, const float *adv, const float *M,
                    int B, double eps, float *dlogp, float *ratio, int *clipped);
// Clipped Huber value loss (normalised units): v_c = v_old + clip(v - v_old, -eps, eps),
// L = (1/B) sum_b max(H(target_b - v_b), H(target_b - v_c_b)), H the symmetric Huber with
// threshold delta. dv[b] = dL/dv_b. Returns L.
double ac_value_loss(const float *v, const float *v_old, const float *target, int B, double eps,
                     double delta, float *dv);
// Huber(e) = e^2/2 for |e| <= delta, delta (|e| - delta/2) beyond.
double ac_huber(double e, double delta);
// out[i] = adv_r[i] - lambda adv_c[i].
void ac_lagrangian_advantage(const float *adv_r, const float *adv_c, float lambda, int n,
                             float *out);
// The multiplier gradient of one minibatch: constraint_term + mean(ratio * adv_c).
double ac_lambda_grad(const float *ratio, const float *adv_c, int B, double constraint_term);

// ---- trust-region helpers (macpo) ---------------------------------------------------------
// One constrained trust-region step of one actor on one minibatch of the selected agent's rows
// (specs/algorithms.md §5 steps 3-10), in pieces that macpo.c chains and tests/test_macpo.c
// checks one by one. Surrogates use the joint ratio r = exp(logp - logp_rollout) of each row:
//   S_R = mean(r M A_r),  S_C = mean(r M_c A_c),  M_c = M (released) or 1 (cost_m = 0);
// g = grad(-S_R) (the LOSS gradient of the SSA/MACPO convention), b = grad S_C.
// All scratch is allocated by ac_tr_create; nothing is allocated per minibatch. A minibatch of at
// most ac->chunk rows keeps its forward pass cached between Fisher-vector products; a larger one
// is re-evaluated chunk by chunk (same mean, more work).
#include "algorithms/trust_region.h"
#include "core/cg.h"

typedef struct {
  ac_t *ac;
  double damping;  // F v + damping v (specs §5: 0.1)
  int cost_m;      // 1: the cost surrogate is weighted by M too (released)
  int n_max;       // largest actor's parameter count
  float *theta_old, *g, *b, *u, *w, *x, *fvp_tmp, *cg_work;  // [n_max]; cg_work [3 n_max]
  float *old_dist, *old_log_std;  // [max_rows][act_dim], [act_dim]: the minibatch at theta_old
  int *idx;                       // [max_rows]: the caller's row order of one pass
  // The current minibatch (ac_tr_begin).
  int actor, n, rows;
  const int *mb;                  // its selected-row indices [rows]
  const float *M;                 // [selected rows] or NULL (= 1)
  int cached;                     // the actor's forward caches hold the minibatch at theta_old
  double surr_r_old, surr_c_old;  // S_R, S_C at theta_old
} ac_tr_t;

// What ac_tr_direction computed: the case-selection inputs, the dual solution, the cap.
typedef struct {
  double q, r, s, b_norm2;  // g.H^-1 g, g.H^-1 b, b.H^-1 b, b.b
  tr_cpo_solution_t sol;
  double x_norm;  // |x| before the cap
  int capped;     // 1 when x was rescaled to the cap
} ac_tr_dir_t;

// What ac_tr_line_search found.
typedef struct {
  int ls_step;                // accepted trial (0-based), or -1: theta_old restored
  double frac;                // accepted step fraction (0 when none)
  double kl, surr_r, surr_c;  // at the final parameters (theta_old when none: kl 0)
} ac_tr_ls_t;

int ac_tr_create(ac_tr_t *tr, ac_t *ac, double damping, int cost_m);
void ac_tr_destroy(ac_tr_t *tr);
// Start a step of `actor` on the selected rows mb[0..rows) (ac_gather_agent first): keeps
// theta_old and the rows' distributions, computes S_R, S_C at theta_old and g, b.
void ac_tr_begin(ac_tr_t *tr, int actor, const int *mb, int rows, const float *M);
// out = (F + damping I) v, F the exact Fisher of the minibatch's mean KL at theta_old
// (pol_fvp). A cg_matvec_fn; ctx is the ac_tr_t.
void ac_tr_fvp(void *ctx, const float *v, float *out);
// S_R, S_C and mean_rows KL(theta_old || theta) at the actor's current parameters.
void ac_tr_eval(ac_tr_t *tr, double *surr_r, double *surr_c, double *kl);
// specs §5 steps 4-9 for a loss gradient g and cost gradient b under the metric `matvec`:
// u = H^-1 g and w = H^-1 b by cg_iters CG iterations (tolerance 1e-10), q r s and b.b, the CPO
// dual of trust_region.h with constraint value c and radius delta, the direction x (the full
// step is theta_old - x), then x rescaled to norm norm_cap when longer (norm_cap <= 0: no cap).
// u, w, x [n]; cg_work [3n].
void ac_tr_direction(cg_matvec_fn matvec, void *ctx, const float *g, const float *b, int n,
                     double c, double delta, int cg_iters, double norm_cap, float *u, float *w,
                     float *x, float *cg_work, ac_tr_dir_t *out);
// specs §5 step 10 along tr->x: trials theta = theta_old - frac0 decay^i x, i < steps; accept
// the first with KL(old || new) < delta, -S_R below its value at theta_old when qp_case >= 2,
// and S_C - S_C(theta_old) <= max(-c, 0) (all finite). None accepted: theta_old is restored
// bit-exactly. Returns out->ls_step.
int ac_tr_line_search(ac_tr_t *tr, int qp_case, double c, double delta, double frac0, double decay,
                      int steps, ac_tr_ls_t *out);

// ---- joint-action cost critic (mappo_lag cost_critic: q) ----
// A centralised cost critic Q_C(s, a) on the state s (share_obs) and the joint action
// a = (a^1, ..., a^A): every agent's own act_dim[i] components, in agent order, each clipped to
// [-1, 1] (the range the envs act on: what was executed, not the raw Gaussian draw). Seed 000
// §2a/§4 ("Use the Q-function for the cost, Q_C(s, a)"; its code concatenates state and action).
// The network is the critics' MLP (ac_params_t layers, hidden, activation; input LayerNorm over
// [s, a]; output gain 1) with its own Adam (critic_lr) and its own value normaliser. It is
// trained as the V critics are (§1.5, §1.6): the clipped Huber loss ac_value_loss on normalised
// targets around its prediction before the update, gradient clipped by max_grad_norm, one Adam
// step per minibatch. Its targets are the cost lambda-returns of the batch: a lambda-return
// R_t starts with the cost of the action actually taken at t, so it estimates Q_C(s_t, a_t).
// Used by mappo_lag (cost_critic: q and q_hinge); nothing else in this file depends on it.
typedef struct {
  mlp_t net;
  float *theta, *grad;
  adam_t opt;
  norm_ema_t norm;
  int value_norm;  // 1: outputs are in normalised units
  int A, state_dim, joint_dim, in_dim, chunk;
  int act_off[ENV_MAX_AGENTS];  // agent i's slice of an input row: [act_off, +act_dim)
  int act_dim[ENV_MAX_AGENTS];
  float *cf_in;                   // [chunk][in_dim] counterfactual input rows
  float *draw;                    // [chunk][max act_dim] action draws
  float *out, *dq, *acc;          // [chunk]
  float *mb_old_n, *mb_target_n;  // [chunk] a training chunk's old predictions, targets
} ac_qcritic_t;

// A Q evaluator: q[j] for n rows of inputs in [n][in_dim].
typedef void (*ac_q_fn)(void *ctx, const float *in, int n, float *q);

// Build the network (parameters from `init`), its Adam and normaliser, scratch for `chunk`
// rows. act_dim[A]: each agent's action size. Returns 0 or ERR_*; ac_qc_destroy frees a
// partly built one (and a zeroed one).
int ac_qc_create(ac_qcritic_t *qc, const ac_params_t *p, int state_dim, int A, const int *act_dim,
                 int chunk, rng_t *init);
void ac_qc_destroy(ac_qcritic_t *qc);
// One input row in[in_dim] from a state [state_dim] and the A agents' actions [A][act_stride].
void ac_qc_input(const ac_qcritic_t *qc, const float *state, const float *actions, int act_stride,
                 float *in);
// Agent i's slice of an input row <- clip(action[0..act_dim[i]), -1, 1).
void ac_qc_set_action(const ac_qcritic_t *qc, int agent, const float *action, float *in);
// Network outputs (normalised units when value_norm) of n <= chunk rows under theta; the
// activation caches hold these rows afterwards.
void ac_qc_forward(ac_qcritic_t *qc, const float *theta, const float *in, int n, float *q_n);
// The Q critic itself as an ac_q_fn (ctx: the ac_qcritic_t): Q_C in cost units (de-normalised
// with the normaliser's current statistics), n <= chunk.
void ac_qc_eval(void *ctx, const float *in, int n, float *q);
// Loss of n <= chunk rows under theta: L = ac_value_loss(Q_n(in), q_old_n, target_n, n, eps,
// delta) (normalised units); grad (may be NULL) += weight * dL/dtheta. Returns L.
double ac_qc_loss(ac_qcritic_t *qc, const float *theta, const float *in, const float *q_old_n,
                  const float *target_n, int n, double eps, double delta, float weight,
                  float *grad);
// `epochs` passes over rows [0, N) of in [N][in_dim], each a fresh permutation (perm [N]) from
// rng split into `minibatches` minibatches (N / minibatches rows each, as the V critics); per
// minibatch the mean loss over its rows (chunked), global-norm clip, one Adam step. Returns the
// mean minibatch loss.
double ac_qc_train(ac_qcritic_t *qc, const float *in, const float *q_old_n, const float *target_n,
                   int N, const ac_params_t *p, rng_t *rng, int *perm);
// COMA's counterfactual baseline (Foerster et al. 2018, Eq. 4), for a continuous action by
// sampling: for rows j < n <= chunk of inputs in [n][in_dim],
//   baseline[j] = (1/K) sum_k q(in_j with agent's slice <- clip(x_jk)),  x_jk ~ pi(.|row j),
// pi the Gaussian of pol's last forward (pol_forward on agent's observations of the same rows,
// pol->cfg.act_dim == act_dim[agent]). K * n draws from rng (k-major: all rows of draw 1, then
// draw 2, ...). `in` is not modified. q is ac_qc_eval (ctx = qc) or any other evaluator.
void ac_qc_baseline(ac_qcritic_t *qc, const pol_t *pol, int agent, const float *in, int n, int K,
                    rng_t *rng, ac_q_fn q, void *ctx, float *baseline);
// Seed 000 §4 per-sample penalty: out[j] = max(0, q[j] - threshold) * scale (0 at and below the
// threshold, slope `scale` above).
void ac_qc_hinge(const float *q, int n, double threshold, double scale, float *out);
// The cost limit d on the undiscounted episodic cost (episodes of `episode_length` steps)
// expressed as a discounted cost-to-go: the Q_C of a policy that pays the allowed average rate
// d / T at every step, (d / T) / (1 - gamma) when truncations are bootstrapped (the targets
// then continue past the time limit), (d / T) (1 - gamma^T) / (1 - gamma) otherwise (the value
// at an episode's start).
double ac_qc_threshold(double cost_limit, int episode_length, double gamma, int proper_time_limits);
int ac_qc_save(const ac_qcritic_t *qc, ckpt_t *k);
int ac_qc_load(ac_qcritic_t *qc, ckpt_t *k);
#endif
