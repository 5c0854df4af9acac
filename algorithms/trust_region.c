// trust_region: the CPO dual solution (case choice, lambda*, nu*) and the step direction.
// Implements specs/algorithms.md §5 steps 5-8 in the SSA/MACPO sign convention (g = gradient of
// the loss, r = g.H^-1 b), which §6.3 verified against brute force; the OmniSafe/SafePO form with
// the objective gradient is not used. Owns no CG and no line search (core/cg.c does those).
// Guards beyond the published code, for rounding only: A = q - r^2/s is clamped at 0 (it is >= 0
// by Cauchy-Schwarz, but inexact CG can push it below and sqrt would give NaN), and B is kept
// >= 1e-8 inside sqrt(A/B) so a tangent constraint plane (B == 0) gives a finite lambda.
#include "algorithms/trust_region.h"

#include <math.h>

// SSA `EPS` / MACPO's 1e-8 guards.
#define TR_EPS 1e-8

static double proj(double x, double lo, double hi) {
  return fmax(lo, fmin(hi, x));
}

// Dual objective on the branch where the cost constraint is active (nu > 0), with nu eliminated.
static double dual_active(double lam, double A, double B, double r, double c, double s) {
  return -0.5 * (A / (lam + TR_EPS) + B * lam) - r * c / (s + TR_EPS);
}

// Dual objective on the branch where only the KL constraint is active (nu = 0).
static double dual_kl_only(double lam, double q, double delta) {
  return -0.5 * (q / (lam + TR_EPS) + 2.0 * delta * lam);
}

void tr_cpo_dual(double q, double r, double s, double c, double delta, double b_norm2,
                 tr_cpo_solution_t *out) {
  // §5 steps 2 and 5: exact zeros are replaced so r/c and r^2/s stay finite (MACPO r_macpo.py).
  if (c == 0.0) c = TR_EPS;
  if (r == 0.0) r = TR_EPS;
  if (s == 0.0) s = TR_EPS;

  // §5 step 6: case 4 is a feasible point with a vanishing cost gradient (plain TRPO step).
  int qp_case;
  double A = 0.0, B = 0.0;
  if (b_norm2 <= TR_EPS && c < 0.0) {
    qp_case = 4;
  } else {
    A = q - r * r / s;            // >= 0: how much of g is not along b (in the H^-1 metric)
    B = 2.0 * delta - c * c / s;  // >= 0 iff the plane c + b.d = 0 meets the trust region
    if (c < 0.0 && B < 0.0)
      qp_case = 3;
    else if (c < 0.0)
      qp_case = 2;
    else if (B >= 0.0)
      qp_case = 1;
    else
      qp_case = 0;
  }

  double lam, nu;
  if (qp_case >= 3) {
    lam = sqrt(q / (2.0 * delta));
    nu = 0.0;
  } else if (qp_case >= 1) {
    // §5 step 7: lambda* maximises the dual on two intervals split at r/c, one with the cost
    // constraint active and one without; which interval is which depends on the sign of c.
    double split = r / c;
    double a_lo = 0.0, a_hi = split, b_lo = split, b_hi = INFINITY;
    if (c >= 0.0) {
      a_lo = split, a_hi = INFINITY;
      b_lo = 0.0, b_hi = split;
    }
    double lam_a = proj(sqrt(fmax(A, 0.0) / fmax(B, TR_EPS)), a_lo, a_hi);
    double lam_b = proj(sqrt(q / (2.0 * delta)), b_lo, b_hi);
    double f_a = dual_active(lam_a, fmax(A, 0.0), B, r, c, s);
    double f_b = dual_kl_only(lam_b, q, delta);
    lam = f_a >= f_b ? lam_a : lam_b;
    nu = fmax(0.0, lam * c - r) / (s + TR_EPS);
  } else {
    // Case 0, no feasible point: the recovery step that decreases the cost fastest within the
    // trust region (Achiam et al. 2017, Sec. 6.1).
    lam = 0.0;
    nu = sqrt(2.0 * delta / (s + TR_EPS));
  }
  out->qp_case = qp_case;
  out->lambda = lam;
  out->nu = nu;
}

void tr_cpo_direction(const tr_cpo_solution_t *sol, const float *u, const float *w, int n,
                      float *x) {
  double nu = sol->nu;
  if (sol->qp_case == 0) {
    for (int i = 0; i < n; i++) x[i] = (float)(nu * w[i]);
    return;
  }
  double inv_lam = 1.0 / (sol->lambda + TR_EPS);
  for (int i = 0; i < n; i++) x[i] = (float)(inv_lam * (u[i] + nu * w[i]));
}
