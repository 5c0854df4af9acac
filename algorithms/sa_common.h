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
#endif
