// dist: categorical (on logits) and diagonal-Gaussian (state-independent log_std) action
// distributions: sampling, log-prob, entropy, KL and their gradients; see dist.h.
// Owns only the per-row arithmetic; the actor decides how log_std is parametrised (MACPO's
// sigma = 0.5*sigmoid(rho) is applied by the caller, specs/algorithms.md §1.2).
// Every row is reduced in double through a log-sum-exp, so no temporary arrays are needed and
// nothing is allocated. Gaussian formulas: specs/algorithms.md Appendix A.

// rng.h (included by dist.h) uses size_t without including <stddef.h>: keep this first.
#include <stddef.h>
// Remaining includes.
#include <assert.h>
#include <math.h>

#include "core/dist.h"

static const double kLog2Pi = 1.8378770664093454836;  // log(2*pi)

// ---- categorical ----

static double row_max(const float *z, int K) {
  double m = z[0];
  for (int k = 1; k < K; k++)
    if (z[k] > m) m = z[k];
  return m;
}

// log(sum_k exp(z_k)), shifted by the row maximum so that no exp overflows.
static double row_logsumexp(const float *z, int K) {
  double m = row_max(z, K), s = 0.0;
  for (int k = 0; k < K; k++) s += exp((double)z[k] - m);
  return m + log(s);
}

// Actions are stored as floats holding exact integers; an index outside [0, K) is a caller bug.
static int action_index(float a, int K) {
  int i = (int)a;
  assert(i >= 0 && i < K);
  return i;
}

// Inverse-CDF sampling on the shifted exponentials: the sum is scaled instead of normalising
// each probability, so sampling costs two exp passes and no storage.
int dist_cat_sample(const float *logits, int K, rng_t *rng) {
  double m = row_max(logits, K), s = 0.0;
  for (int k = 0; k < K; k++) s += exp((double)logits[k] - m);
  double target = rng_uniform(rng) * s, cum = 0.0;
  int last_positive = 0;
  for (int k = 0; k < K; k++) {
    double e = exp((double)logits[k] - m);
    if (e <= 0.0) continue;
    last_positive = k;
    cum += e;
    if (target < cum) return k;
  }
  // Rounding can leave target just above the accumulated sum; never return a zero-prob index.
  return last_positive;
}

int dist_cat_argmax(const float *logits, int K) {
  int best = 0;
  for (int k = 1; k < K; k++)
    if (logits[k] > logits[best]) best = k;
  return best;
}

void dist_cat_probs(const float *logits, int K, float *probs) {
  double lse = row_logsumexp(logits, K);
  for (int k = 0; k < K; k++) probs[k] = (float)exp((double)logits[k] - lse);
}

void dist_cat_logprob(const float *logits, const float *actions, int B, int K, float *logp) {
  for (int b = 0; b < B; b++) {
    const float *z = logits + (long)b * K;
    logp[b] = (float)((double)z[action_index(actions[b], K)] - row_logsumexp(z, K));
  }
}

// d log p_a / d z_k = [k == a] - p_k.
void dist_cat_logprob_backward(const float *logits, const float *actions, const float *dlogp, int B,
                               int K, float *dlogits) {
  for (int b = 0; b < B; b++) {
    const float *z = logits + (long)b * K;
    float *dz = dlogits + (long)b * K;
    int a = action_index(actions[b], K);
    double lse = row_logsumexp(z, K);
    for (int k = 0; k < K; k++) {
      double p = exp((double)z[k] - lse);
      dz[k] += (float)(dlogp[b] * ((k == a) - p));
    }
  }
}

// H = -sum_k p_k log p_k, with log p_k = z_k - lse taken from the log-softmax (finite even
// where p_k underflows to 0, so 0 * log p stays 0 instead of NaN).
static double row_entropy(const float *z, int K, double lse) {
  double h = 0.0;
  for (int k = 0; k < K; k++) {
    double logp = (double)z[k] - lse;
    h -= exp(logp) * logp;
  }
  return h;
}

void dist_cat_entropy(const float *logits, int B, int K, float *ent) {
  for (int b = 0; b < B; b++) {
    const float *z = logits + (long)b * K;
    ent[b] = (float)row_entropy(z, K, row_logsumexp(z, K));
  }
}

// dH/dz_j = -p_j (log p_j + H).
void dist_cat_entropy_backward(const float *logits, const float *dent, int B, int K,
                               float *dlogits) {
  for (int b = 0; b < B; b++) {
    const float *z = logits + (long)b * K;
    float *dz = dlogits + (long)b * K;
    double lse = row_logsumexp(z, K);
    double h = row_entropy(z, K, lse);
    for (int k = 0; k < K; k++) {
      double logp = (double)z[k] - lse;
      dz[k] += (float)(-dent[b] * exp(logp) * (logp + h));
    }
  }
}

// KL(p||q) = sum_k p_k (log p_k - log q_k); differences of log-softmaxes, so no log(0).
void dist_cat_kl(const float *logits_old, const float *logits_new, int B, int K, float *kl) {
  for (int b = 0; b < B; b++) {
    const float *zp = logits_old + (long)b * K, *zq = logits_new + (long)b * K;
    double lse_p = row_logsumexp(zp, K), lse_q = row_logsumexp(zq, K), sum = 0.0;
    for (int k = 0; k < K; k++) {
      double logp = (double)zp[k] - lse_p, logq = (double)zq[k] - lse_q;
      sum += exp(logp) * (logp - logq);
    }
    kl[b] = (float)sum;
  }
}

// d KL(p||q) / d zq_k = q_k - p_k (only the cross-entropy term depends on q).
void dist_cat_kl_backward(const float *logits_old, const float *logits_new, const float *dkl, int B,
                          int K, float *dlogits_new) {
  for (int b = 0; b < B; b++) {
    const float *zp = logits_old + (long)b * K, *zq = logits_new + (long)b * K;
    float *dz = dlogits_new + (long)b * K;
    double lse_p = row_logsumexp(zp, K), lse_q = row_logsumexp(zq, K);
    for (int k = 0; k < K; k++) {
      double p = exp((double)zp[k] - lse_p), q = exp((double)zq[k] - lse_q);
      dz[k] += (float)(dkl[b] * (q - p));
    }
  }
}

// The Fisher in logit space, diag(p) - p p^T, is also the Hessian of KL(p||q) in q at q = p.
// Written (not accumulated): out[b] = F_b u[b].
void dist_cat_fisher_vp(const float *logits, const float *u, int B, int K, float *out) {
  for (int b = 0; b < B; b++) {
    const float *z = logits + (long)b * K, *ub = u + (long)b * K;
    float *ob = out + (long)b * K;
    double lse = row_logsumexp(z, K), pu = 0.0;
    for (int k = 0; k < K; k++) pu += exp((double)z[k] - lse) * ub[k];
    for (int k = 0; k < K; k++) ob[k] = (float)(exp((double)z[k] - lse) * (ub[k] - pu));
  }
}

// ---- diagonal Gaussian ----

void dist_gauss_sample(const float *mean, const float *log_std, int D, rng_t *rng, float *a) {
  for (int d = 0; d < D; d++) a[d] = (float)(mean[d] + exp((double)log_std[d]) * rng_normal(rng));
}

// log N(a; mu, sigma) per dimension: -z^2/2 - log sigma - log(2 pi)/2, z = (a - mu)/sigma.
void dist_gauss_logprob(const float *mean, const float *log_std, const float *actions, int B, int D,
                        float *logp) {
  for (int b = 0; b < B; b++) {
    double sum = 0.0;
    for (int d = 0; d < D; d++) {
      long i = (long)b * D + d;
      double z = ((double)actions[i] - mean[i]) * exp(-(double)log_std[d]);
      sum += -0.5 * z * z - log_std[d] - 0.5 * kLog2Pi;
    }
    logp[b] = (float)sum;
  }
}

// dl/dmu = (a - mu)/sigma^2, dl/dlog_std = z^2 - 1 (Appendix A). log_std is shared by all
// rows, so its gradient is summed over the batch in double before touching the float output.
void dist_gauss_logprob_backward(const float *mean, const float *log_std, const float *actions,
                                 const float *dlogp, int B, int D, float *dmean, float *dlog_std) {
  for (int d = 0; d < D; d++) {
    double inv_std = exp(-(double)log_std[d]), g_log_std = 0.0;
    for (int b = 0; b < B; b++) {
      long i = (long)b * D + d;
      double z = ((double)actions[i] - mean[i]) * inv_std;
      dmean[i] += (float)(dlogp[b] * z * inv_std);
      g_log_std += dlogp[b] * (z * z - 1.0);
    }
    dlog_std[d] += (float)g_log_std;
  }
}

// Per dimension: log(2 pi e)/2 + log sigma.
float dist_gauss_entropy(const float *log_std, int D) {
  double h = 0.0;
  for (int d = 0; d < D; d++) h += 0.5 * (kLog2Pi + 1.0) + log_std[d];
  return (float)h;
}

void dist_gauss_entropy_backward(float dent, int D, float *dlog_std) {
  for (int d = 0; d < D; d++) dlog_std[d] += dent;
}

// One dimension of KL(N(mu_a, s_a) || N(mu_b, s_b)) = log(s_b/s_a) + (s_a^2 + dmu^2)/(2 s_b^2)
// - 1/2. The variance ratio is formed as exp(2 (ls_a - ls_b)) so no sigma is squared alone.
static double gauss_kl_1d(double mu_a, double ls_a, double mu_b, double ls_b) {
  double dmu = (mu_a - mu_b) * exp(-ls_b);
  return (ls_b - ls_a) + 0.5 * (exp(2.0 * (ls_a - ls_b)) + dmu * dmu) - 0.5;
}

void dist_gauss_kl(const float *mean_old, const float *log_std_old, const float *mean_new,
                   const float *log_std_new, int B, int D, float *kl) {
  for (int b = 0; b < B; b++) {
    double sum = 0.0;
    for (int d = 0; d < D; d++) {
      long i = (long)b * D + d;
      sum += gauss_kl_1d(mean_old[i], log_std_old[d], mean_new[i], log_std_new[d]);
    }
    kl[b] = (float)sum;
  }
}

// KL(old||new): d/dmu = (mu - mu_o)/sigma^2, d/dlog sigma = 1 - (sigma_o^2 + dmu^2)/sigma^2.
void dist_gauss_kl_backward(const float *mean_old, const float *log_std_old, const float *mean_new,
                            const float *log_std_new, const float *dkl, int B, int D,
                            float *dmean_new, float *dlog_std_new) {
  for (int d = 0; d < D; d++) {
    double inv_var = exp(-2.0 * (double)log_std_new[d]);
    double var_ratio = exp(2.0 * ((double)log_std_old[d] - log_std_new[d]));
    double g_log_std = 0.0;
    for (int b = 0; b < B; b++) {
      long i = (long)b * D + d;
      double dmu = (double)mean_new[i] - mean_old[i];
      dmean_new[i] += (float)(dkl[b] * dmu * inv_var);
      g_log_std += dkl[b] * (1.0 - var_ratio - dmu * dmu * inv_var);
    }
    dlog_std_new[d] += (float)g_log_std;
  }
}

void dist_gauss_kl_rev(const float *mean_old, const float *log_std_old, const float *mean_new,
                       const float *log_std_new, int B, int D, float *kl) {
  for (int b = 0; b < B; b++) {
    double sum = 0.0;
    for (int d = 0; d < D; d++) {
      long i = (long)b * D + d;
      sum += gauss_kl_1d(mean_new[i], log_std_new[d], mean_old[i], log_std_old[d]);
    }
    kl[b] = (float)sum;
  }
}

// KL(new||old) (FOCOPS): d/dmu = (mu - mu_o)/sigma_o^2, d/dlog sigma = sigma^2/sigma_o^2 - 1.
void dist_gauss_kl_rev_backward(const float *mean_old, const float *log_std_old,
                                const float *mean_new, const float *log_std_new, const float *dkl,
                                int B, int D, float *dmean_new, float *dlog_std_new) {
  for (int d = 0; d < D; d++) {
    double inv_var_old = exp(-2.0 * (double)log_std_old[d]);
    double var_ratio = exp(2.0 * ((double)log_std_new[d] - log_std_old[d]));
    double g_log_std = 0.0;
    for (int b = 0; b < B; b++) {
      long i = (long)b * D + d;
      double dmu = (double)mean_new[i] - mean_old[i];
      dmean_new[i] += (float)(dkl[b] * dmu * inv_var_old);
      g_log_std += dkl[b] * (var_ratio - 1.0);
    }
    dlog_std_new[d] += (float)g_log_std;
  }
}
