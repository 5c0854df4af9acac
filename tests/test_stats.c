// test_stats: harness/stats.c against hand-computed values: type-7 quantiles, IQM for n = 3, 5,
// 8 (rliable's floor(n/4) trimming), final/initial means, interpolation, sample efficiency on
// negative, decreasing and NaN-holed curves, P(X > Y) with ties, and the percentile bootstrap
// (reproducible with its fixed seed, zero width on a degenerate sample, exact on a two-point
// sample), plus report_normalise for positive, negative and zero baselines.
// Tolerances: exact arithmetic on small decimals is compared at 1e-12 (a few ulps of rounding
// in sums); the bootstrap checks are exact where the distribution's quantile is an atom.
#include <math.h>
#include <string.h>

#include "harness/report.h"
#include "harness/stats.h"
#include "tests/check.h"

static void test_quantiles(void) {
  double a[] = {5, 1, 4, 2, 3};
  CHECK_NEAR(stats_quantile(a, 5, 0.5), 3, 1e-12, "median of 1..5");
  CHECK_NEAR(stats_quantile(a, 5, 0.25), 2, 1e-12, "p25 of 1..5: h = 1");
  CHECK_NEAR(stats_quantile(a, 5, 0.75), 4, 1e-12, "p75 of 1..5: h = 3");
  double b[] = {4, 1, 3, 2};
  CHECK_NEAR(stats_quantile(b, 4, 0.25), 1.75, 1e-12, "p25 of 1..4: h = 0.75 -> 1 + 0.75");
  CHECK_NEAR(stats_quantile(b, 4, 0.5), 2.5, 1e-12, "median of 1..4");
  CHECK_NEAR(stats_quantile(b, 4, 0.75), 3.25, 1e-12, "p75 of 1..4: h = 2.25 -> 3 + 0.25");
  double one = 7;
  CHECK_NEAR(stats_quantile(&one, 1, 0.25), 7, 0, "any quantile of one value is that value");
  CHECK(isnan(stats_quantile(NULL, 0, 0.5)), "empty sample gives NaN");
}

static void test_iqm(void) {
  double n3[] = {10, 1, 2};  // floor(3/4) = 0: nothing trimmed
  CHECK_NEAR(stats_iqm(n3, 3), 13.0 / 3, 1e-12, "IQM n=3 is the mean");
  double n5[] = {100, 3, 1, 4, 2};  // floor(5/4) = 1 from each end: mean(2, 3, 4)
  CHECK_NEAR(stats_iqm(n5, 5), 3, 1e-12, "IQM n=5 drops min and max");
  double n8[] = {7, 100, 1, 6, 2, 5, 3, 4};  // floor(8/4) = 2: mean(3, 4, 5, 6)
  CHECK_NEAR(stats_iqm(n8, 8), 4.5, 1e-12, "IQM n=8 drops two at each end");
  double neg[] = {-1, -50, -3, -2, -4};
  CHECK_NEAR(stats_iqm(neg, 5), -3, 1e-12, "IQM of negatives");
  CHECK(isnan(stats_iqm(NULL, 0)), "IQM of nothing is NaN");
}

static void test_curve_means(void) {
  // 20 updates: the final window is the last ceil(20/10) = 2, the initial the first 2.
  double c[20];
  for (int i = 0; i < 20; i++) c[i] = i;
  CHECK_NEAR(stats_final_mean(c, 20), 18.5, 1e-12, "final = mean of the last 10%");
  CHECK_NEAR(stats_initial_mean(c, 20), 0.5, 1e-12, "initial = mean of the first 10%");
  c[19] = NAN;
  CHECK_NEAR(stats_final_mean(c, 20), 18, 1e-12, "NaN updates are skipped");
  c[18] = NAN;
  CHECK(isnan(stats_final_mean(c, 20)), "no finite value in the window gives NaN");
  double m[6], in[6] = {1, NAN, 3, 5, NAN, NAN};
  stats_moving_average(in, 6, 2, m);
  CHECK_NEAR(m[0], 1, 1e-12, "moving average, first point");
  CHECK_NEAR(m[1], 1, 1e-12, "moving average skips NaN");
  CHECK_NEAR(m[2], 3, 1e-12, "window of 2: {NaN, 3}");
  CHECK_NEAR(m[3], 4, 1e-12, "window of 2: {3, 5}");
  CHECK_NEAR(m[4], 5, 1e-12, "window of 2: {5, NaN}");
  CHECK(isnan(m[5]), "window of only NaN gives NaN");
}

static void test_interp(void) {
  double x[] = {0, 10, 20}, y[] = {0, 1, -1};
  CHECK_NEAR(stats_interp(x, y, 3, 5), 0.5, 1e-12, "interior point");
  CHECK_NEAR(stats_interp(x, y, 3, 15), 0, 1e-12, "second segment");
  CHECK_NEAR(stats_interp(x, y, 3, 20), -1, 0, "right end");
  CHECK_NEAR(stats_interp(x, y, 3, 0), 0, 0, "left end");
  CHECK(isnan(stats_interp(x, y, 3, 25)), "outside on the right is NaN");
  CHECK(isnan(stats_interp(x, y, 3, -1)), "outside on the left is NaN");
}

static void test_sample_efficiency(void) {
  double x[20], s[20];
  for (int i = 0; i < 20; i++) x[i] = 100.0 * (i + 1);
  // n = 10: window ceil(10/10) = 1 (no smoothing), initial = c[0], final = c[9].
  double neg[10] = {-100, -100, -90, -70, -50, -40, -30, -24, -20, -20};
  // target = -100 + 0.8 * 80 = -36: first reached at index 6 (-30).
  CHECK_NEAR(stats_sample_efficiency(x, neg, 10, s), 700, 0, "negative returns");
  double down[10] = {10, 10, 8, 5, 2, 1, 0, 0, 0, 0};
  // final < initial: target 10 - 0.8 * 10 = 2, first value <= 2 at index 4.
  CHECK_NEAR(stats_sample_efficiency(x, down, 10, s), 500, 0, "decreasing curve");
  // n = 20: window 2, initial mean(0, 0) = 0, final mean(10, 10) = 10, target 8; smoothed
  // values (c[i-1] + c[i]) / 2: 7.5 at i = 9, 8.5 at i = 10.
  double up[20] = {0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10};
  CHECK_NEAR(stats_sample_efficiency(x, up, 20, s), 1100, 0, "trailing moving average of 2");
  up[9] = NAN;  // smoothed 7 at i = 9 ({7, NaN}), 9 at i = 10 ({NaN, 9})
  CHECK_NEAR(stats_sample_efficiency(x, up, 20, s), 1100, 0, "NaN updates skipped");
  double flat[10] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
  CHECK_NEAR(stats_sample_efficiency(x, flat, 10, s), 100, 0, "flat curve: at once");
  double allnan[3] = {NAN, NAN, NAN};
  CHECK(isnan(stats_sample_efficiency(x, allnan, 3, s)), "no finite value gives NaN");
  // The smoothing window equals the final window, so the target is always reached.
  double noisy[20];
  for (int i = 0; i < 20; i++) noisy[i] = -5.0 + ((i * 7919) % 13) - 0.2 * i;
  CHECK(isfinite(stats_sample_efficiency(x, noisy, 20, s)), "target reached on a noisy curve");
}

static void test_prob_improvement(void) {
  double x[] = {1, 2, 3}, y[] = {2, 2};
  // 1 vs 2: 0, 0; 2 vs 2: 1/2, 1/2; 3 vs 2: 1, 1 -> 3 / 6.
  CHECK_NEAR(stats_prob_improvement(x, 3, y, 2), 0.5, 1e-12, "ties count one half");
  double a[] = {3, 4, 5}, b[] = {1, 4};
  // 3: 1 + 0; 4: 1 + 1/2; 5: 1 + 1 -> 4.5 / 6.
  CHECK_NEAR(stats_prob_improvement(a, 3, b, 2), 0.75, 1e-12, "known Mann-Whitney U");
  CHECK_NEAR(stats_prob_improvement(b, 2, a, 3), 0.25, 1e-12, "P(Y > X) = 1 - P(X > Y)");
  double hi[] = {10, 11}, lo[] = {1, 2, 3};
  CHECK_NEAR(stats_prob_improvement(hi, 2, lo, 3), 1, 0, "dominating sample");
  double l, h, l2, h2;
  CHECK(stats_bootstrap_pi_ci(hi, 2, lo, 3, 2000, 0.95, 7, &l, &h) == 0, "bootstrap runs");
  CHECK(l == 1 && h == 1, "dominating sample: CI [1, 1], got [%g, %g]", l, h);
  CHECK(stats_bootstrap_pi_ci(a, 3, b, 2, 2000, 0.95, 7, &l, &h) == 0, "bootstrap runs");
  CHECK(stats_bootstrap_pi_ci(a, 3, b, 2, 2000, 0.95, 7, &l2, &h2) == 0, "bootstrap runs");
  CHECK(l == l2 && h == h2, "fixed seed: same interval twice");
  CHECK(l <= 0.75 && 0.75 <= h && l < h, "CI [%g, %g] contains 0.75", l, h);
}

static void test_bootstrap(void) {
  double lo, hi, lo2, hi2;
  double same[] = {2.5, 2.5, 2.5, 2.5};
  CHECK(stats_bootstrap_ci(same, 4, stats_iqm, STATS_BOOT_REPS, 0.95, 1, &lo, &hi) == 0, "runs");
  CHECK(lo == hi, "degenerate sample: zero-width CI, got [%.17g, %.17g]", lo, hi);
  CHECK_NEAR(lo, 2.5, 1e-12, "degenerate sample: CI at the value");
  // Two points {0, 1}, IQM = mean (n = 2): the resample mean is 0, 1/2, 1 with probability
  // 1/4, 1/2, 1/4, so the 2.5% and 97.5% quantiles of 10,000 replicates are the atoms 0 and 1.
  double two[] = {0, 1};
  CHECK(stats_bootstrap_ci(two, 2, stats_iqm, STATS_BOOT_REPS, 0.95, 2, &lo, &hi) == 0, "runs");
  CHECK(lo == 0 && hi == 1, "two-point sample: CI [0, 1], got [%g, %g]", lo, hi);
  double v[10] = {3.1, -0.4, 2.2, 5.0, 1.7, 0.9, 2.8, 4.1, 1.2, 2.0};
  CHECK(stats_bootstrap_ci(v, 10, stats_iqm, STATS_BOOT_REPS, 0.95, 3, &lo, &hi) == 0, "runs");
  CHECK(stats_bootstrap_ci(v, 10, stats_iqm, STATS_BOOT_REPS, 0.95, 3, &lo2, &hi2) == 0, "runs");
  CHECK(lo == lo2 && hi == hi2, "fixed seed: same interval twice");
  double w[10];
  memcpy(w, v, sizeof w);
  double iqm = stats_iqm(w, 10);
  CHECK(lo < iqm && iqm < hi, "CI [%g, %g] contains the IQM %g", lo, hi, iqm);
  CHECK(v[0] == 3.1 && v[1] == -0.4, "the sample itself is not reordered");
  CHECK(stats_bootstrap_ci(v, 10, stats_iqm, STATS_BOOT_REPS, 0.95, 4, &lo2, &hi2) == 0, "runs");
  CHECK(lo != lo2 || hi != hi2, "another key draws another stream");
  CHECK(stats_bootstrap_ci(v, 0, stats_iqm, 100, 0.95, 3, &lo, &hi) == 0 && isnan(lo) && isnan(hi),
        "empty sample: NaN interval");
}

static void test_normalise(void) {
  CHECK_NEAR(report_normalise(5, 10), 0.5, 1e-12, "positive baseline: x / b");
  CHECK_NEAR(report_normalise(10, 10), 1, 1e-12, "baseline maps to 1");
  CHECK_NEAR(report_normalise(-5, -10), 1.5, 1e-12, "negative baseline: better than b is > 1");
  CHECK_NEAR(report_normalise(-20, -10), 0, 1e-12, "negative baseline: worse than b is < 1");
  CHECK_NEAR(report_normalise(-10, -10), 1, 1e-12, "negative baseline maps to 1");
  CHECK(isnan(report_normalise(3, 0)), "zero baseline is undefined");
  CHECK(isnan(report_normalise(3, NAN)), "missing baseline is undefined");
}

int main(void) {
  test_quantiles();
  test_iqm();
  test_curve_means();
  test_interp();
  test_sample_efficiency();
  test_prob_improvement();
  test_bootstrap();
  test_normalise();
  return check_report("test_stats");
}
