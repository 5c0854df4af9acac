// adam: Adam optimiser on a flat float vector (bias-corrected, as PyTorch's Adam with
// weight_decay 0), and gradient clipping by global L2 norm.
#ifndef SAFEMARL_ADAM_H
#define SAFEMARL_ADAM_H

typedef struct {
  int n;
  float lr, beta1, beta2, eps;
  long long t;   // steps taken
  float *m, *v;  // first and second moments [n]
} adam_t;

int adam_create(adam_t *a, int n, float lr, float eps);  // beta1 0.9, beta2 0.999
void adam_destroy(adam_t *a);
void adam_step(adam_t *a, float *params, const float *grad);
// Scale grad so its L2 norm is at most max_norm (no-op if max_norm <= 0). Returns the norm
// before clipping (computed in double).
double adam_clip_global_norm(float *grad, int n, double max_norm);
#endif
