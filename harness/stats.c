// stats: quantiles, means, final-window means (see stats.h).
#include <math.h>
#include <stdlib.h>

#include "harness/stats.h"

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

double stats_mean(const double *x, int n) {
  if (n <= 0) return NAN;
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  return s / n;
}

double stats_final_mean(const double *curve, int n) {
  if (n <= 0) return NAN;
  int k = (n + 9) / 10;  // ceil(n / 10), at least one update
  double s = 0;
  int m = 0;
  for (int i = n - k; i < n; i++)
    if (isfinite(curve[i])) {
      s += curve[i];
      m++;
    }
  return m ? s / m : NAN;
}
