// focops_loss: the FOCOPS / MAFOCOPS projection loss and its gradients (see focops_loss.h).
#include "algorithms/focops_loss.h"

#include <math.h>
#include <string.h>

#include "core/dist.h"

double fl_loss(const float *logp, const float *logp_old, const float *kl, const float *w, int B,
               double lambda, double eta, float *dlogp, float *dkl, int *n_active) {
  double loss = 0;
  int active = 0;
  for (int b = 0; b < B; b++) {
    // The indicator is a constant weight (detached KL): rows that left the eta-ball stop
    // contributing to both terms (FOCOPS §5, "per-state acceptance").
    int on = kl[b] <= eta;
    double r = exp((double)logp[b] - (double)logp_old[b]);
    if (on) {
      loss += kl[b] - r * w[b] / lambda;
      active++;
    }
    if (dlogp) dlogp[b] = on ? (float)(-r * w[b] / (lambda * B)) : 0.0f;
    if (dkl) dkl[b] = on ? (float)(1.0 / B) : 0.0f;
  }
  if (n_active) *n_active = active;
  return B > 0 ? loss / B : 0.0;
}

double fl_nu_update(double nu, double lr, double jc, double limit, double nu_max) {
  double next = nu + lr * (jc - limit);
  if (next < 0) next = 0;
  if (next > nu_max) next = nu_max;
  return next;
}

static double fl_logsumexp(const float *z, int K) {
  double m = z[0];
  for (int k = 1; k < K; k++)
    if (z[k] > m) m = z[k];
  double s = 0;
  for (int k = 0; k < K; k++) s += exp((double)z[k] - m);
  return m + log(s);
}

void fl_cat_kl_rev(const float *logits_old, const float *logits_new, int B, int K, float *kl) {
  for (int b = 0; b < B; b++) {
    const float *zp = logits_old + (long)b * K, *zq = logits_new + (long)b * K;
    double lse_p = fl_logsumexp(zp, K), lse_q = fl_logsumexp(zq, K), sum = 0;
    for (int k = 0; k < K; k++) {
      double logq = (double)zq[k] - lse_q, logp = (double)zp[k] - lse_p;
      sum += exp(logq) * (logq - logp);
    }
    kl[b] = (float)sum;
  }
}

// KL(q || p) = sum_i q_i d_i with d_i = log q_i - log p_i. dq_i/dz_j = q_i (delta_ij - q_j) and
// sum_i q_i d(log q_i)/dz_j = 0, so dKL/dz_j = q_j (d_j - sum_i q_i d_i).
void fl_cat_kl_rev_backward(const float *logits_old, const float *logits_new, const float *dkl,
                            int B, int K, float *dlogits_new) {
  for (int b = 0; b < B; b++) {
    if (dkl[b] == 0.0f) continue;
    const float *zp = logits_old + (long)b * K, *zq = logits_new + (long)b * K;
    float *dz = dlogits_new + (long)b * K;
    double lse_p = fl_logsumexp(zp, K), lse_q = fl_logsumexp(zq, K), mean_d = 0;
    for (int k = 0; k < K; k++) {
      double logq = (double)zq[k] - lse_q, logp = (double)zp[k] - lse_p;
      mean_d += exp(logq) * (logq - logp);
    }
    for (int k = 0; k < K; k++) {
      double logq = (double)zq[k] - lse_q, logp = (double)zp[k] - lse_p;
      dz[k] += (float)(dkl[b] * exp(logq) * ((logq - logp) - mean_d));
    }
  }
}

void fl_policy_kl(const pol_t *p, const float *old_dist, const float *old_log_std, float *kl) {
  if (p->cfg.discrete)
    fl_cat_kl_rev(old_dist, p->dist, p->batch, p->cfg.act_dim, kl);
  else
    dist_gauss_kl_rev(old_dist, old_log_std, p->dist, p->log_std, p->batch, p->cfg.act_dim, kl);
}

// Mirrors pol_backward (policy.c) with the KL term in the FOCOPS direction: the distribution
// gradients of all terms are summed first, so the network is back-propagated once.
void fl_policy_backward(pol_t *p, const float *theta, const float *actions, const float *dlogp,
                        const float *dent, const float *old_dist, const float *old_log_std,
                        const float *dkl, float *grad) {
  int B = p->batch, K = p->cfg.act_dim;
  memset(p->ddist, 0, sizeof(float) * (size_t)B * K);
  memset(p->dlog_std, 0, sizeof(float) * K);
  if (p->cfg.discrete) {
    if (dlogp) dist_cat_logprob_backward(p->dist, actions, dlogp, B, K, p->ddist);
    if (dent) dist_cat_entropy_backward(p->dist, dent, B, K, p->ddist);
    if (dkl) fl_cat_kl_rev_backward(old_dist, p->dist, dkl, B, K, p->ddist);
  } else {
    if (dlogp)
      dist_gauss_logprob_backward(p->dist, p->log_std, actions, dlogp, B, K, p->ddist, p->dlog_std);
    if (dent) {
      double total = 0;
      for (int b = 0; b < B; b++) total += dent[b];
      dist_gauss_entropy_backward((float)total, K, p->dlog_std);
    }
    if (dkl)
      dist_gauss_kl_rev_backward(old_dist, old_log_std, p->dist, p->log_std, dkl, B, K, p->ddist,
                                 p->dlog_std);
    for (int d = 0; d < K; d++) grad[p->n_net + d] += p->dlog_std[d] * p->dlog_std_draw[d];
  }
  mlp_backward(&p->net, theta, p->ddist, grad, NULL);
}
