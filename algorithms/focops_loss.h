// focops_loss: the first-order projection loss shared by focops (single agent) and mafocops.
// FOCOPS (Zhang, Vuong & Ross 2020; specs/algorithms.md §7) and MAFOCOPS (seed 004, Corollary 1)
// minimise, per minibatch of B rows,
//   L = (1/B) sum_b [ KL_b(pi_theta || pi_k) - (1/lambda) r_b w_b ] * 1[ KL_b <= eta ],
//   r_b = exp(logp_b - logp_old_b),  w_b = A_R,b - nu A_C,b  (MAFOCOPS: M_b A_R,b - nu A_C,b),
// with the indicator evaluated on the detached per-row KL (the official code's
// `kl.detach() <= eta`), so it is a constant weight in the gradient. Note the KL direction:
// KL(current || old), the reverse of the trust-region methods' KL(old || current).
// Pure functions on rows, the policy-level KL/backward for the FOCOPS direction (pol_backward
// only knows KL(old || current)), and the projected nu step.
#ifndef SAFEMARL_FOCOPS_LOSS_H
#define SAFEMARL_FOCOPS_LOSS_H
#include "algorithms/policy.h"

// The loss above. logp, logp_old, kl, w: [B]. Writes dlogp[b] = dL/dlogp_b and
// dkl[b] = dL/dKL_b (either may be NULL); *n_active (may be NULL) counts rows with KL <= eta.
// Returns L.
double fl_loss(const float *logp, const float *logp_old, const float *kl, const float *w, int B,
               double lambda, double eta, float *dlogp, float *dkl, int *n_active);

// MAFOCOPS supp. Eq. 24 / FOCOPS nu update: projected gradient step on the dual,
//   nu <- clip(nu + lr (jc - limit), 0, nu_max).
double fl_nu_update(double nu, double lr, double jc, double limit, double nu_max);

// Categorical KL(new || old) per row from logits [B][K], and its gradient with respect to the
// NEW logits, accumulated: dlogits_new[b][j] += dkl[b] q_j (d_j - sum_i q_i d_i), where
// q = softmax(new), d_i = log q_i - log p_old_i.
void fl_cat_kl_rev(const float *logits_old, const float *logits_new, int B, int K, float *kl);
void fl_cat_kl_rev_backward(const float *logits_old, const float *logits_new, const float *dkl,
                            int B, int K, float *dlogits_new);

// kl[b] = KL(current || old) at the policy's last pol_forward (old_dist / old_log_std as saved
// by pol_save_dist), summed over action dimensions.
void fl_policy_kl(const pol_t *p, const float *old_dist, const float *old_log_std, float *kl);
// grad += d/dtheta sum_b (dlogp[b] logp_b + dent[b] ent_b + dkl[b] KL_b(current || old)) at the
// last pol_forward (dlogp, dent, dkl may be NULL); one backward pass through the network. Uses
// the policy's own gradient scratch (as pol_backward does).
void fl_policy_backward(pol_t *p, const float *theta, const float *actions, const float *dlogp,
                        const float *dent, const float *old_dist, const float *old_log_std,
                        const float *dkl, float *grad);
#endif
