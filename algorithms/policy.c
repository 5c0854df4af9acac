// policy: categorical / diagonal-Gaussian policy on an MLP (see policy.h).
// The Fisher-vector product is exact (forward-mode J v, distribution Fisher, backprop J^T),
// not a finite difference of KL gradients, so CG sees a symmetric positive semi-definite map.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/policy.h"
#include "core/dist.h"
#include "core/err.h"

int pol_create(pol_t *p, const pol_config_t *cfg, int max_batch) {
  memset(p, 0, sizeof *p);
  p->cfg = *cfg;
  mlp_config_t mc = {0};
  mc.n_in = cfg->obs_dim;
  mc.n_out = cfg->act_dim;
  mc.n_hidden = cfg->n_hidden;
  memcpy(mc.hidden, cfg->hidden, sizeof mc.hidden);
  mc.act = cfg->act;
  mc.input_layernorm = cfg->layernorm;
  mc.hidden_layernorm = cfg->layernorm;
  mc.hidden_gain = cfg->hidden_gain;
  mc.out_gain = cfg->out_gain;
  int rc = mlp_create(&p->net, &mc, max_batch);
  if (rc) return rc;
  p->n_net = p->net.n_params;
  p->n_params = p->n_net + (cfg->discrete ? 0 : cfg->act_dim);
  p->max_batch = max_batch;
  size_t bd = (size_t)max_batch * cfg->act_dim;
  p->dist = err_calloc(bd, sizeof(float));
  p->ddist = err_calloc(bd, sizeof(float));
  p->tangent = err_calloc(bd, sizeof(float));
  p->log_std = err_calloc(cfg->act_dim, sizeof(float));
  p->dlog_std_draw = err_calloc(cfg->act_dim, sizeof(float));
  p->dlog_std = err_calloc(cfg->act_dim, sizeof(float));
  if (!p->dist || !p->ddist || !p->tangent || !p->log_std || !p->dlog_std_draw || !p->dlog_std) {
    pol_destroy(p);
    return ERR_FAIL;
  }
  return 0;
}

void pol_destroy(pol_t *p) {
  mlp_destroy(&p->net);
  free(p->dist);
  free(p->ddist);
  free(p->tangent);
  free(p->log_std);
  free(p->dlog_std_draw);
  free(p->dlog_std);
  memset(p, 0, sizeof *p);
}

void pol_init(const pol_t *p, float *theta, rng_t *rng) {
  mlp_init(&p->net, theta, rng);
  if (!p->cfg.discrete)
    for (int d = 0; d < p->cfg.act_dim; d++) theta[p->n_net + d] = p->cfg.std_init;
}

// log sigma and d log sigma / d parameter from the std parameters at the tail of theta.
static void pol_std_from_theta(pol_t *p, const float *theta) {
  const float *raw = theta + p->n_net;
  for (int d = 0; d < p->cfg.act_dim; d++) {
    if (p->cfg.std_param == POL_STD_SIGMOID) {
      double s = 1.0 / (1.0 + exp(-(double)raw[d]));
      p->log_std[d] = (float)(log(0.5) + log(s));
      p->dlog_std_draw[d] = (float)(1.0 - s);
    } else {
      p->log_std[d] = raw[d];
      p->dlog_std_draw[d] = 1.0f;
    }
  }
}

void pol_forward(pol_t *p, const float *theta, const float *obs, int B) {
  p->batch = B;
  mlp_forward(&p->net, theta, obs, B, p->dist);
  if (!p->cfg.discrete) pol_std_from_theta(p, theta);
}

void pol_sample(const pol_t *p, rng_t *rng, float *actions, float *logp) {
  int K = p->cfg.act_dim;
  for (int b = 0; b < p->batch; b++) {
    const float *row = p->dist + (size_t)b * K;
    if (p->cfg.discrete)
      actions[b] = (float)dist_cat_sample(row, K, rng);
    else
      dist_gauss_sample(row, p->log_std, K, rng, actions + (size_t)b * K);
  }
  if (logp) pol_logp(p, actions, logp);
}

void pol_mode(const pol_t *p, float *actions) {
  int K = p->cfg.act_dim;
  for (int b = 0; b < p->batch; b++) {
    const float *row = p->dist + (size_t)b * K;
    if (p->cfg.discrete)
      actions[b] = (float)dist_cat_argmax(row, K);
    else
      memcpy(actions + (size_t)b * K, row, sizeof(float) * K);
  }
}

void pol_logp(const pol_t *p, const float *actions, float *logp) {
  if (p->cfg.discrete)
    dist_cat_logprob(p->dist, actions, p->batch, p->cfg.act_dim, logp);
  else
    dist_gauss_logprob(p->dist, p->log_std, actions, p->batch, p->cfg.act_dim, logp);
}

void pol_entropy(const pol_t *p, float *ent) {
  if (p->cfg.discrete) {
    dist_cat_entropy(p->dist, p->batch, p->cfg.act_dim, ent);
  } else {
    float e = dist_gauss_entropy(p->log_std, p->cfg.act_dim);
    for (int b = 0; b < p->batch; b++) ent[b] = e;
  }
}

void pol_kl(const pol_t *p, const float *old_dist, const float *old_log_std, float *kl) {
  if (p->cfg.discrete)
    dist_cat_kl(old_dist, p->dist, p->batch, p->cfg.act_dim, kl);
  else
    dist_gauss_kl(old_dist, old_log_std, p->dist, p->log_std, p->batch, p->cfg.act_dim, kl);
}

void pol_save_dist(const pol_t *p, float *dist, float *log_std) {
  memcpy(dist, p->dist, sizeof(float) * (size_t)p->batch * p->cfg.act_dim);
  if (log_std && !p->cfg.discrete) memcpy(log_std, p->log_std, sizeof(float) * p->cfg.act_dim);
}

void pol_backward(pol_t *p, const float *theta, const float *actions, const float *dlogp,
                  const float *dent, const float *old_dist, const float *old_log_std,
                  const float *dkl, float *grad) {
  int B = p->batch, K = p->cfg.act_dim;
  memset(p->ddist, 0, sizeof(float) * (size_t)B * K);
  memset(p->dlog_std, 0, sizeof(float) * K);
  if (p->cfg.discrete) {
    if (dlogp) dist_cat_logprob_backward(p->dist, actions, dlogp, B, K, p->ddist);
    if (dent) dist_cat_entropy_backward(p->dist, dent, B, K, p->ddist);
    if (dkl) dist_cat_kl_backward(old_dist, p->dist, dkl, B, K, p->ddist);
  } else {
    if (dlogp)
      dist_gauss_logprob_backward(p->dist, p->log_std, actions, dlogp, B, K, p->ddist,
                                  p->dlog_std);
    if (dent) {
      double total = 0;
      for (int b = 0; b < B; b++) total += dent[b];
      dist_gauss_entropy_backward((float)total, K, p->dlog_std);
    }
    if (dkl)
      dist_gauss_kl_backward(old_dist, old_log_std, p->dist, p->log_std, dkl, B, K, p->ddist,
                             p->dlog_std);
    for (int d = 0; d < K; d++) grad[p->n_net + d] += p->dlog_std[d] * p->dlog_std_draw[d];
  }
  mlp_backward(&p->net, theta, p->ddist, grad, NULL);
}

void pol_fvp(pol_t *p, const float *theta, const float *v, float *out) {
  int B = p->batch, K = p->cfg.act_dim;
  memset(out, 0, sizeof(float) * p->n_params);
  mlp_forward_tangent(&p->net, theta, v, p->tangent);  // J v, [B][K]
  float inv_b = 1.0f / (float)B;
  if (p->cfg.discrete) {
    dist_cat_fisher_vp(p->dist, p->tangent, B, K, p->ddist);
    for (size_t i = 0; i < (size_t)B * K; i++) p->ddist[i] *= inv_b;
  } else {
    // Gaussian Fisher: 1/sigma^2 on the mean; 2 on log sigma (no mean/std cross terms).
    for (int b = 0; b < B; b++)
      for (int d = 0; d < K; d++) {
        size_t i = (size_t)b * K + d;
        p->ddist[i] = p->tangent[i] * expf(-2.0f * p->log_std[d]) * inv_b;
      }
    for (int d = 0; d < K; d++) {
      float g = p->dlog_std_draw[d];
      out[p->n_net + d] = 2.0f * g * g * v[p->n_net + d];
    }
  }
  mlp_backward(&p->net, theta, p->ddist, out, NULL);
}
