// dist: action distributions and their gradients, on plain arrays.
// Categorical: logits [B][K], actions as integer indices stored in float [B].
// Diagonal Gaussian: mean [B][D], log_std [D] shared by all rows (state-independent std, the
// parametrisation used by MAPPO-family actors; the actor maps its own raw parameter to log_std).
// All log-probs, entropies and KLs are per row and summed over action dimensions (joint
// density). Backward functions ACCUMULATE (+=) into the gradient arrays given.
#ifndef SAFEMARL_DIST_H
#define SAFEMARL_DIST_H
#include "core/rng.h"

// ---- categorical ----
int dist_cat_sample(const float *logits, int K, rng_t *rng);
int dist_cat_argmax(const float *logits, int K);
void dist_cat_probs(const float *logits, int K, float *probs);  // softmax of one row
void dist_cat_logprob(const float *logits, const float *actions, int B, int K, float *logp);
void dist_cat_logprob_backward(const float *logits, const float *actions, const float *dlogp,
                               int B, int K, float *dlogits);
void dist_cat_entropy(const float *logits, int B, int K, float *ent);
void dist_cat_entropy_backward(const float *logits, const float *dent, int B, int K,
                               float *dlogits);
// kl[b] = KL(p_old || p_new); gradient with respect to the NEW logits.
void dist_cat_kl(const float *logits_old, const float *logits_new, int B, int K, float *kl);
void dist_cat_kl_backward(const float *logits_old, const float *logits_new, const float *dkl,
                          int B, int K, float *dlogits_new);
// Fisher of the categorical in logit space at p: F u = p*u - p (p.u). out[b] = F_b u[b].
void dist_cat_fisher_vp(const float *logits, const float *u, int B, int K, float *out);

// ---- diagonal Gaussian ----
void dist_gauss_sample(const float *mean, const float *log_std, int D, rng_t *rng, float *a);
void dist_gauss_logprob(const float *mean, const float *log_std, const float *actions, int B,
                        int D, float *logp);
// dmean [B][D] += dlogp * dlogp/dmean; dlog_std [D] += sum_b dlogp * dlogp/dlog_std.
void dist_gauss_logprob_backward(const float *mean, const float *log_std, const float *actions,
                                 const float *dlogp, int B, int D, float *dmean, float *dlog_std);
float dist_gauss_entropy(const float *log_std, int D);  // same for every row
void dist_gauss_entropy_backward(float dent, int D, float *dlog_std);
// kl[b] = KL(N_old || N_new), gradients with respect to the NEW mean/log_std (CPO, PPO checks).
void dist_gauss_kl(const float *mean_old, const float *log_std_old, const float *mean_new,
                   const float *log_std_new, int B, int D, float *kl);
void dist_gauss_kl_backward(const float *mean_old, const float *log_std_old,
                            const float *mean_new, const float *log_std_new, const float *dkl,
                            int B, int D, float *dmean_new, float *dlog_std_new);
// kl[b] = KL(N_new || N_old) (FOCOPS direction), gradients with respect to the NEW parameters.
void dist_gauss_kl_rev(const float *mean_old, const float *log_std_old, const float *mean_new,
                       const float *log_std_new, int B, int D, float *kl);
void dist_gauss_kl_rev_backward(const float *mean_old, const float *log_std_old,
                                const float *mean_new, const float *log_std_new,
                                const float *dkl, int B, int D, float *dmean_new,
                                float *dlog_std_new);
#endif
