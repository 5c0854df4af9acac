// test_normalizer: core/normalizer.c. norm_running must reproduce the two-pass mean/variance of
// all rows however they are chunked, and apply the documented clip((x - mean)/sqrt(var + eps));
// norm_ema is checked against hand-computed m1/m2/debias after three updates, its 1e-2 variance
// floor, and the normalize/denormalize round trip.
#include <math.h>

#include "core/normalizer.h"
#include "tests/check.h"

enum { DIM = 3, ROWS = 37 };

// Deterministic data with a large offset in column 0 (1e3) so a naive sum-of-squares variance
// would lose digits; the others are small and of mixed sign.
static void make_rows(float *x) {
  for (int r = 0; r < ROWS; r++) {
    x[r * DIM + 0] = 1000.0f + (float)((r * 7919) % 23) * 0.125f;
    x[r * DIM + 1] = (float)sin(0.37 * r) * 3.0f;
    x[r * DIM + 2] = (float)((r * 31) % 11) - 5.0f;
  }
}

static void two_pass(const float *x, int d, double *mean, double *var) {
  double s = 0.0, q = 0.0;
  for (int r = 0; r < ROWS; r++) s += x[r * DIM + d];
  *mean = s / ROWS;
  for (int r = 0; r < ROWS; r++) q += (x[r * DIM + d] - *mean) * (x[r * DIM + d] - *mean);
  *var = q / ROWS;  // population variance, as documented in normalizer.c
}

// Chunks of 5, 0, 1, 20 and 11 rows (an empty chunk must be a no-op). Both sides work in double
// on the same float inputs, so they agree to rounding: rtol 1e-12.
static void test_running_matches_two_pass(void) {
  float x[ROWS * DIM];
  make_rows(x);
  norm_running_t n;
  CHECK(norm_running_create(&n, DIM, 5.0) == 0, "create");
  const int chunks[5] = {5, 0, 1, 20, 11};
  int at = 0;
  for (int c = 0; c < 5; c++) {
    norm_running_update(&n, x + at * DIM, chunks[c]);
    at += chunks[c];
  }
  CHECK(at == ROWS, "chunks cover all rows");
  CHECK_NEAR(n.count, ROWS, 0.0, "count of rows fed");
  for (int d = 0; d < DIM; d++) {
    double mean, var;
    two_pass(x, d, &mean, &var);
    CHECK_CLOSE(n.mean[d], mean, 1e-12, 1e-12, "running mean = two-pass mean");
    CHECK_CLOSE(n.m2[d] / n.count, var, 1e-12, 1e-12, "running var = two-pass var");
  }
  norm_running_destroy(&n);
}

// Output is a float of a double computation: 1e-6 relative. An outlier must clip to exactly
// +-clip.
static void test_running_apply(void) {
  float x[ROWS * DIM], out[ROWS * DIM];
  make_rows(x);
  norm_running_t n;
  CHECK(norm_running_create(&n, DIM, 5.0) == 0, "create");
  norm_running_update(&n, x, ROWS);
  norm_running_apply(&n, x, ROWS, out);
  for (int d = 0; d < DIM; d++) {
    double mean, var;
    two_pass(x, d, &mean, &var);
    for (int r = 0; r < ROWS; r++) {
      double want = (x[r * DIM + d] - mean) / sqrt(var + n.eps);
      CHECK_CLOSE(out[r * DIM + d], want, 1e-6, 1e-6, "apply = (x - mean)/sqrt(var + eps)");
    }
  }
  float outlier[DIM] = {1e6f, -1e6f, 0.0f}, clipped[DIM];
  norm_running_apply(&n, outlier, 1, clipped);
  CHECK(clipped[0] == 5.0f && clipped[1] == -5.0f, "outliers clip to +-5 (got %g, %g)", clipped[0],
        clipped[1]);

  // In place gives the same answer.
  norm_running_apply(&n, x, ROWS, x);
  int same = 1;
  for (int i = 0; i < ROWS * DIM; i++) same &= x[i] == out[i];
  CHECK(same, "in-place apply matches out-of-place");
  norm_running_destroy(&n);

  // Before any data the statistics are mean 0, var 1.
  CHECK(norm_running_create(&n, 1, 0.0) == 0, "create unclipped");
  float v = 7.0f, y;
  norm_running_apply(&n, &v, 1, &y);
  CHECK_NEAR(y, 7.0 / sqrt(1.0 + n.eps), 1e-6, "apply before any update is the identity");
  norm_running_destroy(&n);

  CHECK(norm_running_create(&n, 0, 1.0) < 0, "dim 0 is rejected");
}

// beta = 0.9 so the hand values are short. Batches (1,2,3), (4,6), (-10):
//   1: m1 = 0.1*2 = 0.2, m2 = 0.1*14/3, d = 0.1
//   2: m1 = 0.18 + 0.5 = 0.68, m2 = 0.42 + 2.6 = 3.02, d = 0.19
//   3: m1 = 0.612 - 1 = -0.388, m2 = 2.718 + 10 = 12.718, d = 0.271
// mean = m1/d, var = m2/d - mean^2. Double arithmetic throughout: 1e-12.
static void test_ema_hand_values(void) {
  norm_ema_t n;
  norm_ema_init(&n, 0.9);
  const float b1[3] = {1, 2, 3}, b2[2] = {4, 6}, b3[1] = {-10};
  norm_ema_update(&n, b1, 3);
  CHECK_NEAR(n.m1, 0.2, 1e-12, "m1 after 1 update");
  CHECK_NEAR(n.m2, 0.1 * 14.0 / 3.0, 1e-12, "m2 after 1 update");
  CHECK_NEAR(n.debias, 0.1, 1e-12, "debias after 1 update");
  CHECK_NEAR(norm_ema_mean(&n), 2.0, 1e-12, "debiased mean after 1 update");
  CHECK_NEAR(norm_ema_std(&n), sqrt(2.0 / 3.0), 1e-12, "debiased std after 1 update");

  norm_ema_update(&n, b2, 2);
  CHECK_NEAR(n.m1, 0.68, 1e-12, "m1 after 2 updates");
  CHECK_NEAR(n.m2, 3.02, 1e-12, "m2 after 2 updates");
  CHECK_NEAR(n.debias, 0.19, 1e-12, "debias after 2 updates");
  double mean2 = 0.68 / 0.19;
  CHECK_NEAR(norm_ema_mean(&n), mean2, 1e-12, "mean after 2 updates");
  CHECK_NEAR(norm_ema_std(&n), sqrt(3.02 / 0.19 - mean2 * mean2), 1e-12, "std after 2 updates");

  norm_ema_update(&n, b3, 1);
  CHECK_NEAR(n.m1, -0.388, 1e-12, "m1 after 3 updates");
  CHECK_NEAR(n.m2, 12.718, 1e-12, "m2 after 3 updates");
  CHECK_NEAR(n.debias, 0.271, 1e-12, "debias after 3 updates");
  double mean3 = -0.388 / 0.271;
  CHECK_NEAR(norm_ema_mean(&n), mean3, 1e-12, "mean after 3 updates");
  CHECK_NEAR(norm_ema_std(&n), sqrt(12.718 / 0.271 - mean3 * mean3), 1e-12, "std after 3 updates");

  norm_ema_t before = n;
  norm_ema_update(&n, b3, 0);
  CHECK(n.m1 == before.m1 && n.m2 == before.m2 && n.debias == before.debias,
        "an empty batch does not update");
}

// Floors: with no data d = 0 -> mean 0, var max(0, 1e-2); a constant batch has var 0 -> 1e-2.
// With the MAPPO beta = 0.99999 one update already debiases to the batch mean.
static void test_ema_floors(void) {
  norm_ema_t n;
  norm_ema_init(&n, 0.99999);
  CHECK_NEAR(norm_ema_mean(&n), 0.0, 0.0, "mean before any update");
  CHECK_NEAR(norm_ema_std(&n), 0.1, 1e-15, "std before any update is sqrt(1e-2)");
  const float c[4] = {3, 3, 3, 3};
  norm_ema_update(&n, c, 4);
  CHECK_NEAR(norm_ema_mean(&n), 3.0, 1e-9, "debiased mean of a constant batch");
  CHECK_NEAR(norm_ema_std(&n), 0.1, 1e-6, "variance floor 1e-2 for a constant batch");
}

// normalize then denormalize returns the input up to float rounding of two steps: 1e-6
// relative (values up to ~50 with std ~7).
static void test_ema_round_trip(void) {
  norm_ema_t n;
  norm_ema_init(&n, 0.99);
  float x[8] = {-12.5f, 0.0f, 3.25f, 48.0f, -0.001f, 7.0f, 19.5f, -3.0f}, y[8], back[8];
  norm_ema_update(&n, x, 8);
  norm_ema_normalize(&n, x, 8, y);
  norm_ema_denormalize(&n, y, 8, back);
  double mean = norm_ema_mean(&n), std = norm_ema_std(&n);
  for (int i = 0; i < 8; i++) {
    CHECK_CLOSE(y[i], (x[i] - mean) / std, 1e-6, 1e-6, "normalize = (x - mean)/std");
    CHECK_CLOSE(back[i], x[i], 1e-6, 1e-5, "denormalize(normalize(x)) = x");
  }
}

int main(void) {
  test_running_matches_two_pass();
  test_running_apply();
  test_ema_hand_values();
  test_ema_floors();
  test_ema_round_trip();
  return check_report("test_normalizer");
}
