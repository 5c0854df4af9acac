// normalizer: running statistics used to standardise inputs and value targets.
// norm_running: exact running mean/variance (Chan et al. parallel update, double) for
//   observations; normalise = clip((x - mean) / sqrt(var + eps), -clip, clip).
// norm_ema: the "PopArt-style" value normaliser of the MAPPO/MACPO code (specs/algorithms.md
//   §1.5): m1, m2, debias term d with beta = 0.99999; mean = m1/max(d,1e-5),
//   var = max(m2/max(d,1e-5) - mean^2, 1e-2). Updated explicitly (norm_ema_update), never as a
//   side effect of normalising.
#ifndef SAFEMARL_NORMALIZER_H
#define SAFEMARL_NORMALIZER_H

typedef struct {
  int dim;
  double count;
  double *mean, *m2;  // [dim]
  double clip, eps;
} norm_running_t;

int norm_running_create(norm_running_t *n, int dim, double clip);
void norm_running_destroy(norm_running_t *n);
void norm_running_update(norm_running_t *n, const float *x, int rows);  // x [rows][dim]
void norm_running_apply(const norm_running_t *n, const float *x, int rows, float *out);

typedef struct {
  double m1, m2, debias, beta;
} norm_ema_t;

void norm_ema_init(norm_ema_t *n, double beta);
void norm_ema_update(norm_ema_t *n, const float *x, int count);
double norm_ema_mean(const norm_ema_t *n);
double norm_ema_std(const norm_ema_t *n);
void norm_ema_normalize(const norm_ema_t *n, const float *x, int count, float *out);
void norm_ema_denormalize(const norm_ema_t *n, const float *x, int count, float *out);
#endif
