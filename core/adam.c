// adam: Adam on a flat float vector and clipping by global L2 norm (see adam.h).
// Owns the moment vectors and the step counter; the parameters and gradients belong to callers.
// Follows torch.optim.Adam (weight_decay 0, amsgrad off): bias-corrected moments and eps added
// to sqrt(v_hat), i.e. p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) (Kingma & Ba 2015, Alg. 1).
// Clipping follows torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6).
#include "core/adam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

int adam_create(adam_t *a, int n, float lr, float eps) {
  memset(a, 0, sizeof *a);
  if (n < 0) return err_input("adam: parameter count %d is negative", n);
  if (!(lr >= 0.0f) || !isfinite(lr)) return err_input("adam: lr %g must be finite and >= 0", lr);
  if (!(eps >= 0.0f) || !isfinite(eps))
    return err_input("adam: eps %g must be finite and >= 0", eps);
  a->n = n;
  a->lr = lr;
  a->beta1 = 0.9f;
  a->beta2 = 0.999f;
  a->eps = eps;
  a->m = err_calloc((size_t)n, sizeof(float));
  a->v = err_calloc((size_t)n, sizeof(float));
  if (!a->m || !a->v) {
    adam_destroy(a);
    return ERR_FAIL;  // err_calloc recorded the message
  }
  return ERR_OK;
}

void adam_destroy(adam_t *a) {
  free(a->m);
  free(a->v);
  memset(a, 0, sizeof *a);
}

void adam_step(adam_t *a, float *params, const float *grad) {
  a->t++;
  // Bias corrections in double: 1 - beta2^t is ~1e-3 early on and float loses digits there.
  double bc1 = 1.0 - pow((double)a->beta1, (double)a->t);
  double bc2 = 1.0 - pow((double)a->beta2, (double)a->t);
  double step_size = a->lr / bc1, inv_sqrt_bc2 = 1.0 / sqrt(bc2);
  float b1 = a->beta1, b2 = a->beta2;
  for (int i = 0; i < a->n; i++) {
    float g = grad[i];
    a->m[i] = b1 * a->m[i] + (1.0f - b1) * g;
    a->v[i] = b2 * a->v[i] + (1.0f - b2) * g * g;
    double denom = sqrt((double)a->v[i]) * inv_sqrt_bc2 + a->eps;
    params[i] -= (float)(step_size * a->m[i] / denom);
  }
}

double adam_clip_global_norm(float *grad, int n, double max_norm) {
  // Sum of squares in double: squares of float gradients above ~1e19 overflow float.
  double sum_sq = 0.0;
  for (int i = 0; i < n; i++) sum_sq += (double)grad[i] * grad[i];
  double norm = sqrt(sum_sq);
  // A non-finite norm is returned untouched so the caller can report the divergence.
  if (max_norm <= 0.0 || !isfinite(norm)) return norm;
  double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    for (int i = 0; i < n; i++) grad[i] = (float)(grad[i] * coef);
  return norm;
}
