// trust_region: the CPO quadratic-program step shared by cpo (single agent) and macpo.
// Problem (Achiam et al. 2017, in the SSA/MACPO sign convention of specs/algorithms.md §5-6):
// with g the gradient of the policy LOSS, b the gradient of the cost surrogate, H the Fisher
// matrix, c = J_c - d the constraint value and delta the KL radius, find the parameter change
//     dtheta = argmin g.dtheta  s.t.  c + b.dtheta <= 0,  0.5 dtheta' H dtheta <= delta.
// The dual solution gives dtheta = -(H^-1 g + nu H^-1 b) / lambda, or the recovery step
// dtheta = -sqrt(2 delta / s) H^-1 b when no feasible point exists (case 0).
// The OmniSafe/SafePO single-agent form is not used: it gives a wrong nu in cases 1-2 (specs §6.3).
#ifndef SAFEMARL_TRUST_REGION_H
#define SAFEMARL_TRUST_REGION_H

typedef struct {
  int qp_case;        // 0 infeasible (recovery), 1/2 constraint active, 3/4 constraint inactive
  double lambda, nu;  // dual variables (lambda unused in case 0)
} tr_cpo_solution_t;

// q = g.H^-1 g, r = g.H^-1 b, s = b.H^-1 b, c = J_c - d, delta = KL radius, b_norm2 = b.b.
void tr_cpo_dual(double q, double r, double s, double c, double delta, double b_norm2,
                 tr_cpo_solution_t *out);
// x such that dtheta = -x: x = (u + nu w) / lambda for cases 1-4, x = nu w for case 0, where
// u = H^-1 g and w = H^-1 b.
void tr_cpo_direction(const tr_cpo_solution_t *sol, const float *u, const float *w, int n,
                      float *x);
#endif
