// critic: a value network (MLP -> 1) with its own Adam optimiser, trained by regression on
// targets. Used for reward and cost critics. Loss per minibatch:
//   mean (v - target)^2 + l2 * |theta|^2, gradient clipped by global norm, one Adam step.
#ifndef SAFEMARL_CRITIC_H
#define SAFEMARL_CRITIC_H
#include "core/adam.h"
#include "core/checkpoint.h"
#include "core/mlp.h"

typedef struct {
  mlp_t net;
  int n_params, max_batch;
  float *theta, *grad;
  float *pred, *dy;  // [max_batch]
  adam_t opt;
} critic_t;

typedef struct {
  int obs_dim;
  int n_hidden, hidden[MLP_MAX_LAYERS];
  mlp_act_t act;
  int layernorm;
  float lr;
} critic_config_t;

int critic_create(critic_t *c, const critic_config_t *cfg, int max_batch, rng_t *rng);
void critic_destroy(critic_t *c);
void critic_predict(critic_t *c, const float *obs, int B, float *out);
// One optimiser step on rows [B]; returns the mean squared error before the step.
double critic_fit_step(critic_t *c, const float *obs, const float *target, int B, double l2,
                       double max_grad_norm);
int critic_save(const critic_t *c, ckpt_t *k);
int critic_load(critic_t *c, ckpt_t *k);
// Shared by every module that saves an Adam optimiser.
int adam_save(const adam_t *a, ckpt_t *k);
int adam_load(adam_t *a, ckpt_t *k);
#endif
