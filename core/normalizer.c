// normalizer: running statistics for observations (norm_running) and the MAPPO/MACPO value
// normaliser (norm_ema); see normalizer.h.
// norm_running keeps the count, mean and sum of squared deviations (M2) in double and merges each
// batch with Chan et al.'s pairwise update, so feeding rows in any chunking gives the two-pass
// answer. Variance is the population variance M2/count, as in gym/SB3 RunningMeanStd. Before any
// row is seen the statistics are mean 0, var 1 (identity up to eps and clipping).
// A clip <= 0 disables clipping. norm_ema follows specs/algorithms.md §1.5 exactly.
#include "core/normalizer.h"

#include <math.h>
#include <stdlib.h>

#include "core/err.h"

static const double kRunningEps = 1e-8;

int norm_running_create(norm_running_t *n, int dim, double clip) {
  n->dim = 0;
  n->count = 0.0;
  n->mean = n->m2 = NULL;
  if (dim <= 0) return err_input("normalizer:dim: must be positive, got %d", dim);
  n->mean = err_calloc((size_t)dim, sizeof *n->mean);
  n->m2 = err_calloc((size_t)dim, sizeof *n->m2);
  if (!n->mean || !n->m2) {
    norm_running_destroy(n);
    return ERR_FAIL;
  }
  n->dim = dim;
  n->clip = clip;
  n->eps = kRunningEps;
  return ERR_OK;
}

void norm_running_destroy(norm_running_t *n) {
  free(n->mean);
  free(n->m2);
  n->mean = n->m2 = NULL;
  n->dim = 0;
  n->count = 0.0;
}

// Two-pass mean and M2 of one column of the batch; strided access avoids any scratch buffer.
static void column_stats(const float *x, int rows, int dim, int d, double *mean, double *m2) {
  double s = 0.0;
  for (int r = 0; r < rows; r++) s += x[(long)r * dim + d];
  double mu = s / rows, q = 0.0;
  for (int r = 0; r < rows; r++) {
    double dev = x[(long)r * dim + d] - mu;
    q += dev * dev;
  }
  *mean = mu;
  *m2 = q;
}

// Chan, Golub & LeVeque (1979) pairwise merge of (n_a, mean_a, M2_a) with (n_b, mean_b, M2_b):
// mean += delta n_b/n, M2 += M2_b + delta^2 n_a n_b/n, delta = mean_b - mean_a.
void norm_running_update(norm_running_t *n, const float *x, int rows) {
  if (rows <= 0) return;
  double n_a = n->count, n_b = rows, n_ab = n_a + n_b;
  for (int d = 0; d < n->dim; d++) {
    double mean_b, m2_b;
    column_stats(x, rows, n->dim, d, &mean_b, &m2_b);
    double delta = mean_b - n->mean[d];
    n->mean[d] += delta * (n_b / n_ab);
    n->m2[d] += m2_b + delta * delta * (n_a * n_b / n_ab);
  }
  n->count = n_ab;
}

// Works in place (out == x): each element is read once before being written.
void norm_running_apply(const norm_running_t *n, const float *x, int rows, float *out) {
  for (int d = 0; d < n->dim; d++) {
    double var = n->count > 0.0 ? n->m2[d] / n->count : 1.0;
    double mean = n->count > 0.0 ? n->mean[d] : 0.0;
    double inv_std = 1.0 / sqrt(var + n->eps);
    for (int r = 0; r < rows; r++) {
      long i = (long)r * n->dim + d;
      double y = (x[i] - mean) * inv_std;
      if (n->clip > 0.0) y = fmin(fmax(y, -n->clip), n->clip);
      out[i] = (float)y;
    }
  }
}

// ---- norm_ema (MAPPO/MACPO "PopArt" value normaliser, specs/algorithms.md §1.5) ----

void norm_ema_init(norm_ema_t *n, double beta) {
  n->m1 = n->m2 = n->debias = 0.0;
  n->beta = beta;
}

// m1 <- beta m1 + (1-beta) mean(x); m2 likewise with mean(x^2); d <- beta d + (1-beta).
void norm_ema_update(norm_ema_t *n, const float *x, int count) {
  if (count <= 0) return;
  double s1 = 0.0, s2 = 0.0;
  for (int i = 0; i < count; i++) {
    s1 += x[i];
    s2 += (double)x[i] * x[i];
  }
  double w = 1.0 - n->beta;
  n->m1 = n->beta * n->m1 + w * (s1 / count);
  n->m2 = n->beta * n->m2 + w * (s2 / count);
  n->debias = n->beta * n->debias + w;
}

double norm_ema_mean(const norm_ema_t *n) {
  return n->m1 / fmax(n->debias, 1e-5);
}

// var = max(m2/d - mean^2, 1e-2): the floor keeps std >= 0.1 for constant or unseen targets.
double norm_ema_std(const norm_ema_t *n) {
  double mean = norm_ema_mean(n);
  double var = n->m2 / fmax(n->debias, 1e-5) - mean * mean;
  return sqrt(fmax(var, 1e-2));
}

void norm_ema_normalize(const norm_ema_t *n, const float *x, int count, float *out) {
  double mean = norm_ema_mean(n), std = norm_ema_std(n);
  for (int i = 0; i < count; i++) out[i] = (float)((x[i] - mean) / std);
}

void norm_ema_denormalize(const norm_ema_t *n, const float *x, int count, float *out) {
  double mean = norm_ema_mean(n), std = norm_ema_std(n);
  for (int i = 0; i < count; i++) out[i] = (float)(x[i] * std + mean);
}
