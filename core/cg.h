// cg: conjugate gradient for H x = b with H given only as a matrix-vector product (Fisher-vector
// products of trust-region methods), and a backtracking line search driver.
// Vectors are float, inner products accumulate in double.
#ifndef SAFEMARL_CG_H
#define SAFEMARL_CG_H

// out = H v. ctx is passed through.
typedef void (*cg_matvec_fn)(void *ctx, const float *v, float *out);

// Solve H x = b from x0 = 0 for at most max_iters iterations, stopping when r.r < tol.
// work holds 3n floats. Returns the number of iterations performed.
int cg_solve(cg_matvec_fn matvec, void *ctx, const float *b, int n, int max_iters, double tol,
             float *x, float *work);

// Called with a step fraction; applies it (e.g. theta = theta_old - frac * x) and returns 1 to
// accept, 0 to reject.
typedef int (*cg_try_fn)(void *ctx, double frac);

// Try frac0 * decay^i for i = 0..max_steps-1 and stop at the first accepted one.
// Returns the accepted index i, or -1 when every trial was rejected (the caller restores).
int cg_line_search(cg_try_fn try_step, void *ctx, double frac0, double decay, int max_steps);
#endif
