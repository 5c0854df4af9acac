// mlp: multi-layer perceptron on a flat float32 parameter vector, forward/backward on cblas_sgemm.
// Layout per layer l (row-major): W_l [n_out][n_in], then b_l [n_out], then (if hidden LayerNorm)
// gamma_l [n_out], beta_l [n_out]. An optional input LayerNorm (gamma, beta over n_in) comes first.
// Hidden block = Linear -> activation -> LayerNorm (the MAPPO order: LN after the activation).
// The output layer is linear. Parameters live outside the struct so optimisers, CG and line
// searches work on plain vectors; the struct owns only the activation caches, sized for
// max_batch rows at create time (nothing is allocated in forward/backward).
#ifndef SAFEMARL_MLP_H
#define SAFEMARL_MLP_H
#include "core/rng.h"

#define MLP_MAX_LAYERS 8

typedef enum { MLP_ACT_TANH = 0, MLP_ACT_RELU = 1 } mlp_act_t;

typedef struct {
  int n_in, n_out;
  int n_hidden;                      // number of hidden layers
  int hidden[MLP_MAX_LAYERS];        // their widths
  mlp_act_t act;
  int input_layernorm;               // LayerNorm over the input features
  int hidden_layernorm;              // LayerNorm after each hidden activation
  float hidden_gain;                 // orthogonal init gain of hidden layers (sqrt(2) for ReLU)
  float out_gain;                    // orthogonal init gain of the output layer (0.01 actor, 1 critic)
} mlp_config_t;

typedef struct {
  mlp_config_t cfg;
  int n_params;
  int max_batch;
  // Offsets into the parameter vector.
  int in_gamma, in_beta;                       // -1 when no input LayerNorm
  int w[MLP_MAX_LAYERS + 1], b[MLP_MAX_LAYERS + 1];
  int ln_gamma[MLP_MAX_LAYERS], ln_beta[MLP_MAX_LAYERS];  // -1 when no hidden LayerNorm
  int dims[MLP_MAX_LAYERS + 2];                // dims[0]=n_in ... dims[n_hidden+1]=n_out
  // Caches of the last forward pass (rows = batch), owned.
  float *x_norm;                               // input after input LN [B][n_in]
  float *in_mean, *in_rstd;                    // [B]
  float *pre[MLP_MAX_LAYERS];                  // pre-activation [B][h]
  float *post[MLP_MAX_LAYERS];                 // activation output (before LN) [B][h]
  float *out[MLP_MAX_LAYERS];                  // layer output fed to the next layer [B][h]
  float *ln_mean[MLP_MAX_LAYERS], *ln_rstd[MLP_MAX_LAYERS];  // [B]
  float *scratch_a, *scratch_b;                // [B][max width] backward/tangent work
  float *scratch_c, *scratch_d;
  float *ln_tmp;                               // LayerNorm backward work rows (mlp.c)
  const float *x_in;                           // input pointer of the last forward
  int last_batch;
} mlp_t;

// Size the network and allocate caches for up to max_batch rows. Returns 0 or ERR_*.
int mlp_create(mlp_t *m, const mlp_config_t *cfg, int max_batch);
void mlp_destroy(mlp_t *m);
// Orthogonal weights (gain per cfg), zero biases, LayerNorm gamma=1 beta=0.
void mlp_init(const mlp_t *m, float *params, rng_t *rng);
// y[B][n_out] = f(x[B][n_in]); caches what backward needs. batch <= max_batch. x must stay
// valid until the matching backward call.
void mlp_forward(mlp_t *m, const float *params, const float *x, int batch, float *y);
// Given dL/dy [B][n_out] for the last forward: dparams += dL/dparams; dx (may be NULL) = dL/dx.
void mlp_backward(mlp_t *m, const float *params, const float *dy, float *dparams, float *dx);
// Forward-mode derivative at the last forward point: dy = J(params) * v, v a parameter-space
// direction. Used by Fisher-vector products (F v = J^T H J v).
void mlp_forward_tangent(mlp_t *m, const float *params, const float *v, float *dy);
#endif
