// critic: value network regression (see critic.h).
#include <stdlib.h>
#include <string.h>

#include "algorithms/critic.h"
#include "core/err.h"

int critic_create(critic_t *c, const critic_config_t *cfg, int max_batch, rng_t *rng) {
  memset(c, 0, sizeof *c);
  mlp_config_t mc = {0};
  mc.n_in = cfg->obs_dim;
  mc.n_out = 1;
  mc.n_hidden = cfg->n_hidden;
  memcpy(mc.hidden, cfg->hidden, sizeof mc.hidden);
  mc.act = cfg->act;
  mc.input_layernorm = cfg->layernorm;
  mc.hidden_layernorm = cfg->layernorm;
  mc.hidden_gain = cfg->act == MLP_ACT_RELU ? 1.41421356f : 1.0f;
  mc.out_gain = 1.0f;
  int rc = mlp_create(&c->net, &mc, max_batch);
  if (rc) return rc;
  c->n_params = c->net.n_params;
  c->max_batch = max_batch;
  c->theta = err_calloc(c->n_params, sizeof(float));
  c->grad = err_calloc(c->n_params, sizeof(float));
  c->pred = err_calloc(max_batch, sizeof(float));
  c->dy = err_calloc(max_batch, sizeof(float));
  if (!c->theta || !c->grad || !c->pred || !c->dy) return ERR_FAIL;
  mlp_init(&c->net, c->theta, rng);
  return adam_create(&c->opt, c->n_params, cfg->lr, 1e-5f);
}

void critic_destroy(critic_t *c) {
  mlp_destroy(&c->net);
  adam_destroy(&c->opt);
  free(c->theta);
  free(c->grad);
  free(c->pred);
  free(c->dy);
  memset(c, 0, sizeof *c);
}

void critic_predict(critic_t *c, const float *obs, int B, float *out) {
  mlp_forward(&c->net, c->theta, obs, B, out);
}

double critic_fit_step(critic_t *c, const float *obs, const float *target, int B, double l2,
                       double max_grad_norm) {
  mlp_forward(&c->net, c->theta, obs, B, c->pred);
  double mse = 0;
  for (int b = 0; b < B; b++) {
    double e = (double)c->pred[b] - target[b];
    mse += e * e;
    c->dy[b] = (float)(2.0 * e / B);
  }
  memset(c->grad, 0, sizeof(float) * c->n_params);
  mlp_backward(&c->net, c->theta, c->dy, c->grad, NULL);
  if (l2 > 0)
    for (int i = 0; i < c->n_params; i++) c->grad[i] += (float)(2.0 * l2) * c->theta[i];
  adam_clip_global_norm(c->grad, c->n_params, max_grad_norm);
  adam_step(&c->opt, c->theta, c->grad);
  return mse / B;
}

int adam_save(const adam_t *a, ckpt_t *k) {
  int rc = ckpt_put_u64(k, (uint64_t)a->t);
  if (!rc) rc = ckpt_put(k, a->m, sizeof(float) * a->n);
  if (!rc) rc = ckpt_put(k, a->v, sizeof(float) * a->n);
  return rc;
}

int adam_load(adam_t *a, ckpt_t *k) {
  uint64_t t;
  int rc = ckpt_get_u64(k, &t);
  if (!rc) rc = ckpt_get(k, a->m, sizeof(float) * a->n);
  if (!rc) rc = ckpt_get(k, a->v, sizeof(float) * a->n);
  a->t = (long long)t;
  return rc;
}

int critic_save(const critic_t *c, ckpt_t *k) {
  int rc = ckpt_put(k, c->theta, sizeof(float) * c->n_params);
  return rc ? rc : adam_save(&c->opt, k);
}

int critic_load(critic_t *c, ckpt_t *k) {
  int rc = ckpt_get(k, c->theta, sizeof(float) * c->n_params);
  return rc ? rc : adam_load(&c->opt, k);
}
