// cg: conjugate gradient on a matrix-free H, and the backtracking line-search driver.
// Owns only the iteration; the Fisher-vector product and the step acceptance test belong to the
// caller (algorithms/). Follows the SSA/MACPO `conjugate_gradient` (x0 = 0, residual test after
// each update) with two additions: it returns at once when b.b < tol already (x = 0 is then the
// answer), and it stops on a non-positive curvature p.Hp, where the published code would divide
// by zero or step uphill.
#include "core/cg.h"

#include <stddef.h>

static double dot(const float *a, const float *b, int n) {
  double s = 0.0;
  for (int i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
  return s;
}

int cg_solve(cg_matvec_fn matvec, void *ctx, const float *b, int n, int max_iters, double tol,
             float *x, float *work) {
  float *r = work, *p = work + n, *hp = work + 2 * n;
  for (int i = 0; i < n; i++) {
    x[i] = 0.0f;
    r[i] = b[i];
    p[i] = b[i];
  }
  double rr = dot(r, r, n);
  if (rr < tol) return 0;

  int it = 0;
  while (it < max_iters) {
    matvec(ctx, p, hp);
    double php = dot(p, hp, n);
    // H must be positive definite on the Krylov space; a damped Fisher matrix is, so this only
    // catches a broken matvec or total loss of precision.
    if (!(php > 0.0)) break;
    double alpha = rr / php;
    for (int i = 0; i < n; i++) {
      x[i] += (float)(alpha * p[i]);
      r[i] -= (float)(alpha * hp[i]);
    }
    it++;
    double rr_new = dot(r, r, n);
    if (rr_new < tol) break;
    double beta = rr_new / rr;
    for (int i = 0; i < n; i++) p[i] = (float)(r[i] + beta * p[i]);
    rr = rr_new;
  }
  return it;
}

int cg_line_search(cg_try_fn try_step, void *ctx, double frac0, double decay, int max_steps) {
  double frac = frac0;
  for (int i = 0; i < max_steps; i++) {
    if (try_step(ctx, frac)) return i;
    frac *= decay;
  }
  return -1;
}
