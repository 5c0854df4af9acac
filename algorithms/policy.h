// policy: a stochastic policy on an MLP for the single-agent algorithms (cpo, ppo_lag,
// gridworld_lagrangian): categorical over logits for discrete envs, diagonal Gaussian with a
// state-independent std for continuous ones. The parameter vector theta is flat:
// [MLP parameters | one std parameter per action dimension (Gaussian only)].
// Std parametrisations: "log" (the parameter is log sigma, CleanRL/SSA/OmniSafe) or "sigmoid"
// (sigma = 0.5 * sigmoid(rho), the MAPPO/MACPO actor, specs/algorithms.md §1.2).
// Forward once, then ask for log-probs, entropies, KLs, their gradients or Fisher-vector
// products at that point; nothing is allocated after pol_create.
#ifndef SAFEMARL_POLICY_H
#define SAFEMARL_POLICY_H
#include "core/mlp.h"
#include "core/rng.h"

typedef enum { POL_STD_LOG = 0, POL_STD_SIGMOID = 1 } pol_std_t;

typedef struct {
  int discrete;
  int obs_dim, act_dim;       // act_dim = number of choices (discrete) or dimensions
  int n_hidden, hidden[MLP_MAX_LAYERS];
  mlp_act_t act;
  int layernorm;              // input and hidden LayerNorm (MAPPO-style actor)
  float hidden_gain, out_gain;
  pol_std_t std_param;
  float std_init;             // initial log sigma ("log") or rho ("sigmoid")
} pol_config_t;

typedef struct {
  pol_config_t cfg;
  mlp_t net;
  int n_net, n_params;
  int max_batch, batch;
  float *dist;       // [max_batch][act_dim] logits or means of the last forward
  float *log_std;    // [act_dim] log sigma of the last forward
  float *dlog_std_draw;  // [act_dim] d log sigma / d std parameter
  float *ddist;      // [max_batch][act_dim] scratch
  float *dlog_std;   // [act_dim] scratch
  float *tangent;    // [max_batch][act_dim] scratch
} pol_t;

int pol_create(pol_t *p, const pol_config_t *cfg, int max_batch);
void pol_destroy(pol_t *p);
void pol_init(const pol_t *p, float *theta, rng_t *rng);
// Evaluate the distribution of B observations [B][obs_dim].
void pol_forward(pol_t *p, const float *theta, const float *obs, int B);
// From the last forward:
void pol_sample(const pol_t *p, rng_t *rng, float *actions, float *logp);  // actions [B][adim]
void pol_mode(const pol_t *p, float *actions);
void pol_logp(const pol_t *p, const float *actions, float *logp);
void pol_entropy(const pol_t *p, float *ent);
// kl[b] = KL(old || current); old_dist/old_log_std saved from an earlier forward.
void pol_kl(const pol_t *p, const float *old_dist, const float *old_log_std, float *kl);
// Copy the current distribution (for later KL), dist [B][act_dim] and log_std [act_dim].
void pol_save_dist(const pol_t *p, float *dist, float *log_std);
// grad += d/dtheta of sum_b (dlogp[b] logp_b + dent[b] ent_b + dkl[b] KL_b(old||cur)).
// Any of dlogp, dent, dkl may be NULL.
void pol_backward(pol_t *p, const float *theta, const float *actions, const float *dlogp,
                  const float *dent, const float *old_dist, const float *old_log_std,
                  const float *dkl, float *grad);
// out = F v at the last forward point, F = (1/B) sum_b J_b' H_b J_b (exact Hessian of the
// batch-mean KL(old || theta) at theta = old). No damping added.
void pol_fvp(pol_t *p, const float *theta, const float *v, float *out);
#endif
