// stats: quantiles, trimmed means, learning-curve figures, probability of improvement and
// percentile bootstrap intervals (definitions in stats.h).
#include "harness/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rng.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double stats_quantile(double *x, int n, double p) {
  if (n <= 0) return NAN;
  qsort(x, (size_t)n, sizeof(double), cmp_double);
  double h = (n - 1) * p;
  int lo = (int)floor(h);
  if (lo >= n - 1) return x[n - 1];
  return x[lo] + (h - lo) * (x[lo + 1] - x[lo]);
}

double stats_median(double *x, int n) {
  return stats_quantile(x, n, 0.5);
}

double stats_mean(const double *x, int n) {
  if (n <= 0) return NAN;
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  return s / n;
}

double stats_iqm(double *x, int n) {
  if (n <= 0) return NAN;
  qsort(x, (size_t)n, sizeof(double), cmp_double);
  int cut = n / 4;  // scipy.stats.trim_mean(x, 0.25) cuts int(0.25 n) from each end
  return stats_mean(x + cut, n - 2 * cut);
}

// Mean of the finite values among curve[from, to).
static double finite_mean(const double *curve, int from, int to) {
  double s = 0;
  int m = 0;
  for (int i = from; i < to; i++)
    if (isfinite(curve[i])) {
      s += curve[i];
      m++;
    }
  return m ? s / m : NAN;
}

static int tenth(int n) {
  return (n + 9) / 10;  // ceil(n / 10), at least one update
}

double stats_final_mean(const double *curve, int n) {
  if (n <= 0) return NAN;
  return finite_mean(curve, n - tenth(n), n);
}

double stats_initial_mean(const double *curve, int n) {
  if (n <= 0) return NAN;
  return finite_mean(curve, 0, tenth(n));
}

void stats_moving_average(const double *curve, int n, int window, double *out) {
  if (window < 1) window = 1;
  // Running sums over the window; finite values only.
  double s = 0;
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (isfinite(curve[i])) {
      s += curve[i];
      m++;
    }
    int drop = i - window;
    if (drop >= 0 && isfinite(curve[drop])) {
      s -= curve[drop];
      m--;
    }
    // Recompute exactly when the window empties, so rounding residue never leaks forward.
    if (m == 0) s = 0;
    out[i] = m ? s / m : NAN;
  }
}

double stats_sample_efficiency(const double *x, const double *curve, int n, double *scratch) {
  if (n <= 0) return NAN;
  double initial = stats_initial_mean(curve, n), final = stats_final_mean(curve, n);
  if (!isfinite(initial) || !isfinite(final)) return NAN;
  int w = tenth(n);
  // The window sums are recomputed directly (not by the running sums of
  // stats_moving_average) so the last point equals stats_final_mean bit for bit.
  double target = initial + 0.8 * (final - initial);
  int up = final >= initial;
  for (int i = 0; i < n; i++) {
    int from = i - w + 1 < 0 ? 0 : i - w + 1;
    scratch[i] = finite_mean(curve, from, i + 1);
    if (!isfinite(scratch[i])) continue;
    if (up ? scratch[i] >= target : scratch[i] <= target) return x[i];
  }
  return NAN;
}

double stats_interp(const double *x, const double *y, int n, double xq) {
  if (n <= 0 || !(xq >= x[0]) || !(xq <= x[n - 1])) return NAN;
  // Binary search for the last x[lo] <= xq.
  int lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (x[mid] <= xq)
      lo = mid;
    else
      hi = mid;
  }
  if (x[hi] <= xq) return y[hi];
  if (x[hi] == x[lo]) return y[lo];
  return y[lo] + (xq - x[lo]) / (x[hi] - x[lo]) * (y[hi] - y[lo]);
}

double stats_prob_improvement(const double *x, int nx, const double *y, int ny) {
  if (nx <= 0 || ny <= 0) return NAN;
  double u = 0;
  for (int i = 0; i < nx; i++)
    for (int j = 0; j < ny; j++) u += x[i] > y[j] ? 1.0 : x[i] == y[j] ? 0.5 : 0.0;
  return u / ((double)nx * ny);
}

static void resample(rng_t *r, const double *x, int n, double *out) {
  for (int i = 0; i < n; i++) out[i] = x[rng_below(r, (uint32_t)n)];
}

// Percentile interval from the bootstrap replicates (sorted in place).
static void percentile_interval(double *reps_v, int reps, double level, double *lo, double *hi) {
  double a = (1 - level) / 2;
  *lo = stats_quantile(reps_v, reps, a);
  *hi = stats_quantile(reps_v, reps, 1 - a);
}

int stats_bootstrap_ci(const double *x, int n, stats_fn_t stat, int reps, double level,
                       uint64_t key, double *lo, double *hi) {
  *lo = *hi = NAN;
  if (n <= 0 || reps <= 0) return 0;
  double *v = err_calloc((size_t)reps, sizeof(double));
  double *s = err_calloc((size_t)n, sizeof(double));
  if (!v || !s) {
    free(v);
    free(s);
    return ERR_FAIL;
  }
  rng_t r;
  rng_stream(&r, STATS_BOOT_SEED, "bootstrap", key);
  for (int k = 0; k < reps; k++) {
    resample(&r, x, n, s);
    v[k] = stat(s, n);
  }
  percentile_interval(v, reps, level, lo, hi);
  free(v);
  free(s);
  return 0;
}

int stats_bootstrap_pi_ci(const double *x, int nx, const double *y, int ny, int reps, double level,
                          uint64_t key, double *lo, double *hi) {
  *lo = *hi = NAN;
  if (nx <= 0 || ny <= 0 || reps <= 0) return 0;
  double *v = err_calloc((size_t)reps, sizeof(double));
  double *sx = err_calloc((size_t)nx, sizeof(double));
  double *sy = err_calloc((size_t)ny, sizeof(double));
  int rc = v && sx && sy ? 0 : ERR_FAIL;
  if (!rc) {
    rng_t r;
    rng_stream(&r, STATS_BOOT_SEED, "bootstrap_pi", key);
    for (int k = 0; k < reps; k++) {
      resample(&r, x, nx, sx);
      resample(&r, y, ny, sy);
      v[k] = stats_prob_improvement(sx, nx, sy, ny);
    }
    percentile_interval(v, reps, level, lo, hi);
  }
  free(v);
  free(sx);
  free(sy);
  return rc;
}
