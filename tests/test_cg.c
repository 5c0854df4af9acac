// test_cg: conjugate gradient on known SPD systems against a direct double-precision solve, the
// iteration cap (against the exact Krylov minimiser), early exits, and the line-search driver.
#include <math.h>
#include <string.h>

#include "core/cg.h"
#include "core/rng.h"
#include "tests/check.h"

#define NMAX 32

// Dense matvec in double, counting calls so the cap can be checked.
typedef struct {
  int n;
  double h[NMAX][NMAX];
  int calls;
} dense_t;

static void dense_matvec(void *ctx, const float *v, float *out) {
  dense_t *d = ctx;
  d->calls++;
  for (int i = 0; i < d->n; i++) {
    double s = 0.0;
    for (int j = 0; j < d->n; j++) s += d->h[i][j] * v[j];
    out[i] = (float)s;
  }
}

// Cholesky solve of the n x n SPD system m y = rhs, in double (the reference answer).
static void chol_solve(int n, double m[NMAX][NMAX], const double *rhs, double *y) {
  double l[NMAX][NMAX] = {{0}};
  for (int j = 0; j < n; j++) {
    double d = m[j][j];
    for (int k = 0; k < j; k++) d -= l[j][k] * l[j][k];
    l[j][j] = sqrt(d);
    for (int i = j + 1; i < n; i++) {
      double s = m[i][j];
      for (int k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = s / l[j][j];
    }
  }
  double z[NMAX];
  for (int i = 0; i < n; i++) {
    double s = rhs[i];
    for (int k = 0; k < i; k++) s -= l[i][k] * z[k];
    z[i] = s / l[i][i];
  }
  for (int i = n - 1; i >= 0; i--) {
    double s = z[i];
    for (int k = i + 1; k < n; k++) s -= l[k][i] * y[k];
    y[i] = s / l[i][i];
  }
}

// H = M^T M + I with M standard normal: SPD with condition number around 100 for n = 20.
static void random_spd(rng_t *rng, dense_t *d, int n) {
  double m[NMAX][NMAX];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) m[i][j] = rng_normal(rng);
  d->n = n;
  d->calls = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double s = i == j ? 1.0 : 0.0;
      for (int k = 0; k < n; k++) s += m[k][i] * m[k][j];
      d->h[i][j] = s;
    }
}

// Property: with enough iterations CG matches the direct solve. Tolerance rtol 1e-4 (plus 1e-5
// absolute): float vectors give a residual floor near 1e-7 |b|, amplified by cond(H) ~ 1e2.
static void test_random_spd(void) {
  rng_t rng;
  rng_seed(&rng, 1234);
  for (int trial = 0; trial < 20; trial++) {
    int n = 20;
    dense_t d;
    random_spd(&rng, &d, n);
    float b[NMAX], x[NMAX], work[3 * NMAX];
    double bd[NMAX], want[NMAX];
    for (int i = 0; i < n; i++) bd[i] = b[i] = (float)rng_normal(&rng);
    chol_solve(n, d.h, bd, want);
    int it = cg_solve(dense_matvec, &d, b, n, 200, 1e-10, x, work);
    CHECK(it >= 1 && it <= 200, "iterations %d", it);
    CHECK(d.calls == it, "matvec calls %d for %d iterations", d.calls, it);
    for (int i = 0; i < n; i++) CHECK_CLOSE(x[i], want[i], 1e-4, 1e-5, "cg x vs cholesky (20x20)");
  }
}

// Property: on a diagonal system with k distinct eigenvalues CG is exact after k iterations,
// so with tol 1e-10 it stops at exactly k = 3. Tolerance 1e-5 relative (float rounding only).
static void test_diagonal(void) {
  dense_t d;
  memset(&d, 0, sizeof d);
  int n = 12;
  d.n = n;
  const double eig[3] = {0.5, 2.0, 7.0};
  float b[NMAX], x[NMAX], work[3 * NMAX];
  for (int i = 0; i < n; i++) {
    d.h[i][i] = eig[i % 3];
    b[i] = (float)(0.3 * i - 1.1);
  }
  int it = cg_solve(dense_matvec, &d, b, n, 50, 1e-10, x, work);
  CHECK(it == 3, "diagonal system with 3 distinct eigenvalues took %d iterations", it);
  for (int i = 0; i < n; i++) CHECK_CLOSE(x[i], b[i] / d.h[i][i], 1e-5, 1e-6, "cg x diagonal");
}

// Property: the cap is respected, and after k capped iterations x is the minimiser of the
// H-energy over the Krylov space span{b, Hb, ..., H^(k-1) b}, computed here by a Galerkin solve
// in double. Tolerance 1e-3 relative: the Krylov basis is ill-conditioned and CG runs in float.
static void test_iteration_cap(void) {
  rng_t rng;
  rng_seed(&rng, 99);
  dense_t d;
  int n = 20;
  random_spd(&rng, &d, n);
  float b[NMAX], x[NMAX], work[3 * NMAX];
  for (int i = 0; i < n; i++) b[i] = (float)rng_normal(&rng);
  for (int k = 1; k <= 3; k++) {
    d.calls = 0;
    int it = cg_solve(dense_matvec, &d, b, n, k, 1e-30, x, work);
    CHECK(it == k, "cap %d gave %d iterations", k, it);
    CHECK(d.calls == k, "cap %d made %d matvec calls", k, d.calls);
    // Krylov basis K[:, j] = H^j b; solve (K^T H K) c = K^T b; x = K c.
    double kb[3][NMAX], hk[3][NMAX];
    for (int i = 0; i < n; i++) kb[0][i] = b[i];
    for (int j = 0; j < k; j++) {
      for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int m = 0; m < n; m++) s += d.h[i][m] * kb[j][m];
        hk[j][i] = s;
        if (j + 1 < 3) kb[j + 1][i] = s;
      }
    }
    double g[NMAX][NMAX] = {{0}}, rhs[NMAX], c[NMAX];
    for (int a = 0; a < k; a++) {
      rhs[a] = 0.0;
      for (int i = 0; i < n; i++) rhs[a] += kb[a][i] * b[i];
      for (int e = 0; e < k; e++) {
        g[a][e] = 0.0;
        for (int i = 0; i < n; i++) g[a][e] += kb[a][i] * hk[e][i];
      }
    }
    chol_solve(k, g, rhs, c);
    for (int i = 0; i < n; i++) {
      double want = 0.0;
      for (int j = 0; j < k; j++) want += c[j] * kb[j][i];
      CHECK_CLOSE(x[i], want, 1e-3, 1e-5, "capped cg x vs Krylov minimiser");
    }
  }
}

// Property: b = 0 (r.r < tol at the start) returns x = 0 after 0 iterations without a matvec,
// and max_iters = 0 does the same for any b.
static void test_early_exit(void) {
  dense_t d;
  memset(&d, 0, sizeof d);
  d.n = 4;
  for (int i = 0; i < 4; i++) d.h[i][i] = 1.0 + i;
  float b[4] = {0}, x[4] = {9, 9, 9, 9}, work[12];
  int it = cg_solve(dense_matvec, &d, b, 4, 10, 1e-10, x, work);
  CHECK(it == 0 && d.calls == 0, "zero rhs: %d iterations, %d calls", it, d.calls);
  for (int i = 0; i < 4; i++) CHECK(x[i] == 0.0f, "zero rhs: x[%d] = %g", i, x[i]);
  float b2[4] = {1, 2, 3, 4}, x2[4] = {9, 9, 9, 9};
  it = cg_solve(dense_matvec, &d, b2, 4, 0, 1e-10, x2, work);
  CHECK(it == 0 && d.calls == 0, "max_iters 0: %d iterations, %d calls", it, d.calls);
  for (int i = 0; i < 4; i++) CHECK(x2[i] == 0.0f, "max_iters 0: x[%d] = %g", i, x2[i]);
}

// Line-search recorder: accepts fractions at or below `accept_below`.
typedef struct {
  double accept_below;
  double fracs[32];
  int calls;
} ls_t;

static int ls_try(void *ctx, double frac) {
  ls_t *s = ctx;
  if (s->calls < 32) s->fracs[s->calls] = frac;
  s->calls++;
  return frac <= s->accept_below;
}

// Property: fractions are frac0 * decay^i in order, the search stops at the first acceptance
// and returns its index, returns -1 after exactly max_steps rejections. Tolerance 1e-12 relative
// (repeated multiplication vs pow).
static void test_line_search(void) {
  ls_t s = {.accept_below = 0.2};
  int i = cg_line_search(ls_try, &s, 0.27, 0.5, 10);  // 0.27, 0.135 -> accepted at index 1
  CHECK(i == 1, "accepted index %d, want 1", i);
  CHECK(s.calls == 2, "%d trials, want 2 (stop at the first acceptance)", s.calls);
  for (int k = 0; k < s.calls; k++) CHECK_CLOSE(s.fracs[k], 0.27 * pow(0.5, k), 1e-12, 0, "frac");

  ls_t first = {.accept_below = 1.0};
  i = cg_line_search(ls_try, &first, 1.0, 0.8, 15);
  CHECK(i == 0 && first.calls == 1, "full step accepted: index %d after %d trials", i, first.calls);

  ls_t late = {.accept_below = 0.8 * 0.8 * 0.8 * 0.8 * 0.8 + 1e-12};
  i = cg_line_search(ls_try, &late, 1.0, 0.8, 15);
  CHECK(i == 5 && late.calls == 6, "index %d after %d trials, want 5 after 6", i, late.calls);

  ls_t none = {.accept_below = -1.0};
  i = cg_line_search(ls_try, &none, 1.0, 0.5, 10);
  CHECK(i == -1, "no acceptance returned %d", i);
  CHECK(none.calls == 10, "no acceptance made %d trials, want 10", none.calls);
  for (int k = 0; k < 10; k++) CHECK_CLOSE(none.fracs[k], pow(0.5, k), 1e-12, 0, "frac");

  ls_t zero = {.accept_below = 1.0};
  i = cg_line_search(ls_try, &zero, 1.0, 0.5, 0);
  CHECK(i == -1 && zero.calls == 0, "max_steps 0: index %d, %d trials", i, zero.calls);
}

int main(void) {
  test_random_spd();
  test_diagonal();
  test_iteration_cap();
  test_early_exit();
  test_line_search();
  return check_report("test_cg");
}
