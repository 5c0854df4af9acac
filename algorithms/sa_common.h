// sa_common: the parts every single-agent algorithm shares (cpo, ppo_lag, gridworld_lagrangian):
// one policy, a reward critic and optionally a cost critic on the agent's observation, acting on
// E env copies, minibatch gathering, and save/load. Each algorithm file adds its update rule.
#ifndef SAFEMARL_SA_COMMON_H
#define SAFEMARL_SA_COMMON_H
#include "algorithms/algo.h"
#include "algorithms/critic.h"
#include "algorithms/policy.h"

typedef struct {
  int obs_dim, act_dim;     // buffer strides (act_dim 1 for discrete: the index)
  int pol_act_dim;          // choices or dimensions
  int discrete;
  int N;                    // rollout rows T*E
  int has_cost_critic;
  pol_t pol;
  float *theta, *grad;      // policy parameters and gradient [pol.n_params]
  critic_t vr, vc;
  // Minibatch scratch, [N] rows each.
  float *mb_obs, *mb_act, *mb_a, *mb_b, *mb_c, *mb_d, *mb_e;
  float *row_a, *row_b, *row_c; // [N] per-row work
  int *perm;                // [N]
} sa_t;

typedef struct {
  int n_hidden, hidden[MLP_MAX_LAYERS];
  mlp_act_t act;
  float actor_out_gain;
  pol_std_t std_param;
  float std_init;
  float critic_lr;
  int critic_n_hidden, critic_hidden[MLP_MAX_LAYERS];
} sa_config_t;

// The networks every single-agent algorithm here uses: two hidden layers of `hidden` units for
// the policy and the critics, policy output gain 0.01, a state-independent log-std starting at
// -0.5 (continuous actions).
sa_config_t sa_two_layer_config(int hidden, mlp_act_t act, float critic_lr);

// ERR_INPUT when the env has more than one agent (message names algo and env).
int sa_create(sa_t *s, const char *algo_name, const env_spec_t *spec, const sa_config_t *cfg,
              int N, int has_cost_critic, uint64_t seed);
void sa_destroy(sa_t *s);
void sa_act(sa_t *s, const float *obs, int E, rng_t *rng, float *actions, float *logp,
            float *values, float *cost_values);
void sa_act_deterministic(sa_t *s, const float *obs, int E, float *actions);
void sa_values(sa_t *s, const float *obs, int E, float *values, float *cost_values);
// The act / act_deterministic / values entries of an algorithm class whose state struct begins
// with an sa_t (every single-agent algorithm): they ignore share_obs (one agent: obs is the state).
void sa_algo_act(void *algo, const float *obs, const float *share_obs, int E, rng_t *rng,
                 float *actions, float *logp, float *values, float *cost_values);
void sa_algo_act_deterministic(void *algo, const float *obs, const float *share_obs, int E,
                               float *actions);
void sa_algo_values(void *algo, const float *obs, const float *share_obs, int E, float *values,
                    float *cost_values);
// dst[i] = src[idx[i]] for rows of width w.
void sa_gather(const float *src, const int *idx, int n, int w, float *dst);
int sa_save(const sa_t *s, ckpt_t *k);
int sa_load(sa_t *s, ckpt_t *k);
// 1 when every policy parameter is finite.
int sa_finite(const sa_t *s);

// Window of the most recent episodic costs (the J_c estimate of Lagrangian methods).
#define SA_WINDOW_MAX 1024
typedef struct {
  int cap, n, head;
  float v[SA_WINDOW_MAX];
} sa_window_t;
void sa_window_init(sa_window_t *w, int cap);
void sa_window_push(sa_window_t *w, const float *x, int n);
double sa_window_mean(const sa_window_t *w, double fallback);
// Mean of x[0..n-1], or fallback when n == 0.
double sa_mean_or(const float *x, int n, double fallback);
// Linear learning-rate decay to 0 over the run (SafePO/OmniSafe schedule).
float sa_linear_lr(double lr, long long steps_done, long long total_steps);

// ---- Options for constrained problems whose optimum mixes two behaviours (e.g. the gridworld
// at a cost limit below 0.6). All are off at their defaults; the algorithms then behave, and
// checkpoint, exactly as before.

// PID Lagrange multiplier (Stooke, Achiam & Abbeel 2020, "Responsive Safety in Reinforcement
// Learning by PID Lagrangian Methods", Algorithm 2) on the error e = J_c - d:
//   I <- max(0, I + ki e);  lambda = clamp(I + kp e + kd max(0, J_c - J_c,prev), 0, lambda_max).
// With kp = kd = 0 it is projected gradient ascent on the dual (plain, not Adam), whose integral
// property matters here: the mean of e over any window equals (I_end - I_start) / (ki n), so
// while lambda stays bounded the average episodic cost converges to the limit even when the
// iterates oscillate between two deterministic behaviours (the averaged iterate of primal-dual
// methods, e.g. Paternain et al. 2019; Ding et al. 2020). The kp term damps those oscillations
// (Stooke et al. 2020, section 4).
typedef struct {
  double ki, kp, kd, lambda_max;
} sa_pid_params_t;
typedef struct {
  double integral, prev_jc, lambda;
  int has_prev;
} sa_pid_t;
void sa_pid_init(sa_pid_t *c, double lambda_init);
// One update from this iteration's J_c; returns (and stores) the new lambda.
double sa_pid_update(sa_pid_t *c, const sa_pid_params_t *p, double jc, double limit);
int sa_pid_save(const sa_pid_t *c, ckpt_t *k);
int sa_pid_load(sa_pid_t *c, ckpt_t *k);

// Count-based optimism for reward AND cost (MBIE-EB, Strehl & Littman 2008; optimistic CMDP
// exploration, Efroni, Mannor & Pirotta 2020): for a visited (observation, action) pair with
// count n, the learning signals become r + beta_r / sqrt(n) and c - beta_c / sqrt(n). The
// episodic return and cost that are logged and that drive the multipliers stay the env's. A
// rarely tried alternative looks both rewarding and cheap until it has been tried often enough
// to be judged on its true values, so the bonus vanishes on everything the policy keeps doing.
// Counts are exact per distinct observation (64-bit hash of its bytes and the action), for
// envs with a small discrete observation set (the gridworld: 36 cells x 4 actions).
#define SA_COUNT_CAP 4096
typedef struct {
  int n_keys;
  uint64_t key[SA_COUNT_CAP];
  double count[SA_COUNT_CAP];
} sa_counts_t;
// Count every valid row (valid may be NULL: all rows) of obs [N][obs_dim] / actions
// [N][act_dim], then add the bonuses to rewards[N] and subtract them from costs[N] (either may
// be NULL). ERR_INPUT when more than SA_COUNT_CAP distinct pairs are seen (a continuous
// observation space), naming `who`.
int sa_count_bonus(sa_counts_t *c, const char *who, const float *obs, int obs_dim,
                   const float *actions, int act_dim, const uint8_t *valid, int N, double beta_r,
                   double beta_c, float *rewards, float *costs);
// The count of one pair (0 if never seen).
double sa_count_get(const sa_counts_t *c, const float *obs, int obs_dim, const float *action,
                    int act_dim);
int sa_counts_save(const sa_counts_t *c, ckpt_t *k);
int sa_counts_load(sa_counts_t *c, ckpt_t *k);

// Entropy-bonus coefficient at env step `steps_done` of `total_steps`: constant, or decayed
// linearly to 0 when `decay` (so that the exploration it buys early does not bias the final
// policy).
double sa_entropy_coef(double coef, int decay, long long steps_done, long long total_steps);
#endif
