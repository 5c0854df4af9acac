// test_dist: core/dist.c. Every gradient is checked against central finite differences of a
// scalar loss L = sum_b w_b f_b (random cotangents w, so the batch sums in the backward passes
// are exercised); known closed-form values; sampling frequencies under a fixed seed; and the
// categorical Fisher-vector product against the Hessian of KL(p||q) at q = p.
// Gradient buffers are pre-filled with kPrefill and the prefill is subtracted afterwards, so a
// backward that overwrites instead of accumulating fails the finite-difference checks.

// rng.h uses size_t without including <stddef.h>: keep this first.
#include <stddef.h>
// Remaining includes.
#include <math.h>

#include "core/dist.h"
#include "core/rng.h"
#include "tests/check.h"

enum { B = 3, K = 5, D = 3 };

static const double kLog2Pi = 1.8378770664093454836;
static const float kPrefill = 0.25f;
// Finite-difference step: 2^-7 balances truncation (h^2/6 f''' ~ 3e-6 f''') against float
// rounding of the outputs (see fd_tolerance).
static const double kFdStep = 1.0 / 128.0;

static void fill_uniform(rng_t *r, float *x, int n, double lo, double hi) {
  for (int i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * rng_uniform(r));
}

static void fill_value(float *x, int n, float v) {
  for (int i = 0; i < n; i++) x[i] = v;
}

static void remove_prefill(float *g, int n) {
  for (int i = 0; i < n; i++) g[i] -= kPrefill;
}

// ---- finite-difference machinery ----

// A loss evaluates sum_b w_b f_b in double from the float outputs and reports
// sum_b |w_b f_b| so the caller can bound the rounding error of the float outputs.
typedef double (*loss_fn)(const void *ctx, double *abs_sum);

// Each float output carries a relative rounding error of at most 2^-24, so L is known to within
// e = 2^-24 sum|w f|; the central difference over a step s = x+ - x- then errs by <= 2e/s. The
// tolerance is 4x that (the bound is worst case) plus rtol 1e-3 for the O(h^2) truncation term:
// the steepest inputs are log_std terms exp(+-2 log_std), whose relative truncation error is
// h^2 |f'''/f'| / 6 = 4 h^2 / 6 ~ 4e-5 (largest seen: 8e-5), so rtol keeps a >10x margin.
static double fd_tolerance(double abs_sum, double step) {
  return 4.0 * 2.0 * ldexp(abs_sum, -24) / step + 1e-7;
}

// Compares analytic[i] with dL/dparam[i] by central differences. The perturbed inputs are
// rounded to float, so the actual step x+ - x- (exact in double) is used in the quotient.
static void check_grad(loss_fn loss, const void *ctx, float *param, int n, const float *analytic,
                       const char *what) {
  for (int i = 0; i < n; i++) {
    float saved = param[i];
    float xp = (float)(saved + kFdStep), xm = (float)(saved - kFdStep);
    double abs_p, abs_m;
    param[i] = xp;
    double lp = loss(ctx, &abs_p);
    param[i] = xm;
    double lm = loss(ctx, &abs_m);
    param[i] = saved;
    double step = (double)xp - (double)xm;
    double fd = (lp - lm) / step;
    char label[96];
    snprintf(label, sizeof label, "%s[%d]", what, i);
    CHECK_CLOSE(analytic[i], fd, 1e-3, fd_tolerance(fmax(abs_p, abs_m), step), label);
  }
}

static double weighted_sum(const float *w, const float *f, int n, double *abs_sum) {
  double s = 0.0, a = 0.0;
  for (int i = 0; i < n; i++) {
    s += (double)w[i] * f[i];
    a += fabs((double)w[i] * f[i]);
  }
  *abs_sum = a;
  return s;
}

// ---- categorical gradient checks ----

typedef struct {
  float logits[B * K], logits_old[B * K], actions[B], w[B];
} cat_case;

static double loss_cat_logprob(const void *ctx, double *abs_sum) {
  const cat_case *c = ctx;
  float out[B];
  dist_cat_logprob(c->logits, c->actions, B, K, out);
  return weighted_sum(c->w, out, B, abs_sum);
}

static double loss_cat_entropy(const void *ctx, double *abs_sum) {
  const cat_case *c = ctx;
  float out[B];
  dist_cat_entropy(c->logits, B, K, out);
  return weighted_sum(c->w, out, B, abs_sum);
}

static double loss_cat_kl(const void *ctx, double *abs_sum) {
  const cat_case *c = ctx;
  float out[B];
  dist_cat_kl(c->logits_old, c->logits, B, K, out);
  return weighted_sum(c->w, out, B, abs_sum);
}

static void make_cat_case(cat_case *c, uint64_t seed) {
  rng_t r;
  rng_seed(&r, seed);
  fill_uniform(&r, c->logits, B * K, -2.0, 2.0);
  fill_uniform(&r, c->logits_old, B * K, -2.0, 2.0);
  fill_uniform(&r, c->w, B, -1.5, 1.5);
  for (int b = 0; b < B; b++) c->actions[b] = (float)rng_below(&r, K);
}

static void test_cat_gradients(void) {
  cat_case c;
  make_cat_case(&c, 11);
  float g[B * K];

  fill_value(g, B * K, kPrefill);
  dist_cat_logprob_backward(c.logits, c.actions, c.w, B, K, g);
  remove_prefill(g, B * K);
  check_grad(loss_cat_logprob, &c, c.logits, B * K, g, "cat logprob dlogits");

  fill_value(g, B * K, kPrefill);
  dist_cat_entropy_backward(c.logits, c.w, B, K, g);
  remove_prefill(g, B * K);
  check_grad(loss_cat_entropy, &c, c.logits, B * K, g, "cat entropy dlogits");

  fill_value(g, B * K, kPrefill);
  dist_cat_kl_backward(c.logits_old, c.logits, c.w, B, K, g);
  remove_prefill(g, B * K);
  check_grad(loss_cat_kl, &c, c.logits, B * K, g, "cat kl dlogits_new");
}

// ---- Gaussian gradient checks ----

typedef struct {
  float mean[B * D], log_std[D], mean_old[B * D], log_std_old[D], actions[B * D], w[B];
} gauss_case;

static double loss_gauss_logprob(const void *ctx, double *abs_sum) {
  const gauss_case *c = ctx;
  float out[B];
  dist_gauss_logprob(c->mean, c->log_std, c->actions, B, D, out);
  return weighted_sum(c->w, out, B, abs_sum);
}

static double loss_gauss_entropy(const void *ctx, double *abs_sum) {
  const gauss_case *c = ctx;
  float h = dist_gauss_entropy(c->log_std, D);
  return weighted_sum(c->w, &h, 1, abs_sum);
}

static double loss_gauss_kl(const void *ctx, double *abs_sum) {
  const gauss_case *c = ctx;
  float out[B];
  dist_gauss_kl(c->mean_old, c->log_std_old, c->mean, c->log_std, B, D, out);
  return weighted_sum(c->w, out, B, abs_sum);
}

static double loss_gauss_kl_rev(const void *ctx, double *abs_sum) {
  const gauss_case *c = ctx;
  float out[B];
  dist_gauss_kl_rev(c->mean_old, c->log_std_old, c->mean, c->log_std, B, D, out);
  return weighted_sum(c->w, out, B, abs_sum);
}

static void make_gauss_case(gauss_case *c, uint64_t seed) {
  rng_t r;
  rng_seed(&r, seed);
  fill_uniform(&r, c->mean, B * D, -1.0, 1.0);
  fill_uniform(&r, c->log_std, D, -0.7, 0.3);
  fill_uniform(&r, c->mean_old, B * D, -1.0, 1.0);
  fill_uniform(&r, c->log_std_old, D, -0.7, 0.3);
  fill_uniform(&r, c->actions, B * D, -1.5, 1.5);
  fill_uniform(&r, c->w, B, -1.5, 1.5);
}

// Checks one (mean, log_std) backward pair: dmean [B][D] and dlog_std [D].
typedef void (*gauss_backward_fn)(const gauss_case *c, float *dmean, float *dlog_std);

static void check_gauss_pair(gauss_case *c, gauss_backward_fn backward, loss_fn loss,
                             const char *what_mean, const char *what_log_std) {
  float dmean[B * D], dlog_std[D];
  fill_value(dmean, B * D, kPrefill);
  fill_value(dlog_std, D, kPrefill);
  backward(c, dmean, dlog_std);
  remove_prefill(dmean, B * D);
  remove_prefill(dlog_std, D);
  check_grad(loss, c, c->mean, B * D, dmean, what_mean);
  check_grad(loss, c, c->log_std, D, dlog_std, what_log_std);
}

static void bw_logprob(const gauss_case *c, float *dmean, float *dlog_std) {
  dist_gauss_logprob_backward(c->mean, c->log_std, c->actions, c->w, B, D, dmean, dlog_std);
}

static void bw_kl(const gauss_case *c, float *dmean, float *dlog_std) {
  dist_gauss_kl_backward(c->mean_old, c->log_std_old, c->mean, c->log_std, c->w, B, D, dmean,
                         dlog_std);
}

static void bw_kl_rev(const gauss_case *c, float *dmean, float *dlog_std) {
  dist_gauss_kl_rev_backward(c->mean_old, c->log_std_old, c->mean, c->log_std, c->w, B, D, dmean,
                             dlog_std);
}

static void test_gauss_gradients(void) {
  gauss_case c;
  make_gauss_case(&c, 23);
  check_gauss_pair(&c, bw_logprob, loss_gauss_logprob, "gauss logprob dmean",
                   "gauss logprob dlog_std");
  check_gauss_pair(&c, bw_kl, loss_gauss_kl, "gauss kl dmean_new", "gauss kl dlog_std_new");
  check_gauss_pair(&c, bw_kl_rev, loss_gauss_kl_rev, "gauss kl_rev dmean_new",
                   "gauss kl_rev dlog_std_new");

  float dlog_std[D];
  fill_value(dlog_std, D, kPrefill);
  dist_gauss_entropy_backward(c.w[0], D, dlog_std);
  remove_prefill(dlog_std, D);
  check_grad(loss_gauss_entropy, &c, c.log_std, D, dlog_std, "gauss entropy dlog_std");
}

// ---- categorical known values ----

// Closed-form values are computed in double; the outputs are floats, so 1e-6 (a few float ulps
// at magnitude ~1) is the tolerance.
static void test_cat_known_values(void) {
  float uniform[K];
  fill_value(uniform, K, 3.0f);
  float h;
  dist_cat_entropy(uniform, 1, K, &h);
  CHECK_NEAR(h, log((double)K), 1e-6, "entropy of uniform categorical = log K");

  // p = (1/2, 1/4, 1/4): H = 1.5 log 2.
  const float quarter[3] = {(float)log(2.0), 0.0f, 0.0f};
  dist_cat_entropy(quarter, 1, 3, &h);
  CHECK_NEAR(h, 1.5 * log(2.0), 1e-6, "entropy of (1/2,1/4,1/4)");

  float probs[3];
  dist_cat_probs(quarter, 3, probs);
  CHECK_NEAR(probs[0], 0.5, 1e-7, "softmax p0 of (1/2,1/4,1/4)");
  CHECK_NEAR(probs[1], 0.25, 1e-7, "softmax p1 of (1/2,1/4,1/4)");

  float logp;
  const float a2 = 2.0f;
  dist_cat_logprob(quarter, &a2, 1, 3, &logp);
  CHECK_NEAR(logp, log(0.25), 1e-6, "log-prob of action 2 = log 1/4");

  cat_case c;
  make_cat_case(&c, 5);
  float kl[B];
  dist_cat_kl(c.logits, c.logits, B, K, kl);
  for (int b = 0; b < B; b++) CHECK_NEAR(kl[b], 0.0, 1e-7, "KL of identical categoricals = 0");

  // KL((1/2,1/2) || (1/4,3/4)) = 1/2 log 2 + 1/2 log(2/3) = 1/2 log(4/3).
  const float p[2] = {0.0f, 0.0f}, q[2] = {(float)log(0.25), (float)log(0.75)};
  dist_cat_kl(p, q, 1, 2, kl);
  CHECK_NEAR(kl[0], 0.5 * log(4.0 / 3.0), 1e-6, "KL((1/2,1/2)||(1/4,3/4))");

  const float ties[4] = {0.5f, 2.0f, -1.0f, 2.0f};
  CHECK(dist_cat_argmax(ties, 4) == 1, "argmax returns the first maximum");
}

// Logits +-1000 would overflow a naive softmax (exp(1000) = inf in double); the log-softmax
// must give finite, exact answers.
static void test_cat_extreme_logits(void) {
  const float z[3] = {1000.0f, 0.0f, -1000.0f};
  const float actions[3] = {0.0f, 1.0f, 2.0f};
  const float rows[9] = {1000.0f, 0.0f, -1000.0f, 1000.0f, 0.0f, -1000.0f, 1000.0f, 0.0f, -1000.0f};
  float logp[3], h, kl, probs[3];
  dist_cat_logprob(rows, actions, 3, 3, logp);
  CHECK_NEAR(logp[0], 0.0, 1e-6, "log p of dominant logit");
  CHECK_NEAR(logp[1], -1000.0, 1e-3, "log p of logit 0 next to 1000");
  CHECK_NEAR(logp[2], -2000.0, 1e-3, "log p of logit -1000 next to 1000");
  dist_cat_entropy(z, 1, 3, &h);
  CHECK(isfinite(h) && fabs(h) < 1e-6, "entropy of a near-deterministic row is ~0 (got %g)", h);
  dist_cat_kl(z, z, 1, 3, &kl);
  CHECK(isfinite(kl) && fabs(kl) < 1e-6, "KL of extreme identical rows is ~0 (got %g)", kl);
  dist_cat_probs(z, 3, probs);
  CHECK_NEAR(probs[0], 1.0, 1e-7, "softmax of extreme logits");

  float g[3] = {0, 0, 0};
  const float one = 1.0f;
  dist_cat_entropy_backward(z, &one, 1, 3, g);
  for (int k = 0; k < 3; k++) CHECK(isfinite(g[k]), "entropy gradient finite at extreme logits");

  rng_t r;
  rng_seed(&r, 3);
  int hits_other = 0;
  for (int i = 0; i < 1000; i++) hits_other += dist_cat_sample(z, 3, &r) != 0;
  CHECK(hits_other == 0, "sampling an (effectively) deterministic row, %d misses", hits_other);
}

// ---- categorical sampling ----

// 200000 draws from p = (0.1, 0.2, 0.3, 0.4) plus a fifth category with logit -100 (p ~ 1e-44).
// Pearson chi-square over the four live categories has 3 degrees of freedom; the bound 16.27 is
// its 99.9% quantile. The seed is fixed, so the test is deterministic, yet an off-by-one or
// unnormalised sampler gives chi-square in the thousands.
static void test_cat_sampling(void) {
  const double p[4] = {0.1, 0.2, 0.3, 0.4};
  float z[5];
  for (int k = 0; k < 4; k++) z[k] = (float)log(p[k]);
  z[4] = -100.0f;
  enum { N = 200000 };
  long counts[5] = {0};
  rng_t r;
  rng_seed(&r, 2024);
  for (int i = 0; i < N; i++) {
    int a = dist_cat_sample(z, 5, &r);
    CHECK(a >= 0 && a < 5, "sample index in range (got %d)", a);
    if (a >= 0 && a < 5) counts[a]++;
  }
  double chi2 = 0.0;
  for (int k = 0; k < 4; k++) {
    double expect = N * p[k];
    chi2 += (counts[k] - expect) * (counts[k] - expect) / expect;
  }
  CHECK(chi2 < 16.27, "chi-square of sample counts %.3f >= 16.27 (df 3, 99.9%%)", chi2);
  CHECK(counts[4] == 0, "category with logit -100 sampled %ld times", counts[4]);
}

// ---- Gaussian known values and sampling ----

static void test_gauss_known_values(void) {
  // mean (0.5, -1), sigma (2, 1), action (1.5, -1): z = (0.5, 0);
  // log p = -0.125 - log 2 - log(2 pi).
  const float mean[2] = {0.5f, -1.0f}, log_std[2] = {(float)log(2.0), 0.0f};
  const float action[2] = {1.5f, -1.0f};
  float logp;
  dist_gauss_logprob(mean, log_std, action, 1, 2, &logp);
  CHECK_NEAR(logp, -0.125 - log(2.0) - kLog2Pi, 1e-6, "Gaussian log-density at a known point");

  const float zeros[D] = {0, 0, 0};
  CHECK_NEAR(dist_gauss_entropy(zeros, D), D * 0.5 * (kLog2Pi + 1.0), 1e-6,
             "entropy of standard normal = D/2 log(2 pi e)");
  CHECK_NEAR(dist_gauss_entropy(log_std, 2), kLog2Pi + 1.0 + log(2.0), 1e-6,
             "entropy with sigma (2, 1)");

  gauss_case c;
  make_gauss_case(&c, 7);
  float kl[B];
  dist_gauss_kl(c.mean, c.log_std, c.mean, c.log_std, B, D, kl);
  for (int b = 0; b < B; b++) CHECK_NEAR(kl[b], 0.0, 1e-7, "KL(old||new) of identical = 0");
  dist_gauss_kl_rev(c.mean, c.log_std, c.mean, c.log_std, B, D, kl);
  for (int b = 0; b < B; b++) CHECK_NEAR(kl[b], 0.0, 1e-7, "KL(new||old) of identical = 0");

  // old N(0, 1), new N(1, 2^2): KL(old||new) = log 2 + (1 + 1)/8 - 1/2;
  // KL(new||old) = -log 2 + (4 + 1)/2 - 1/2.
  const float m_old = 0.0f, ls_old = 0.0f, m_new = 1.0f, ls_new = (float)log(2.0);
  dist_gauss_kl(&m_old, &ls_old, &m_new, &ls_new, 1, 1, kl);
  CHECK_NEAR(kl[0], log(2.0) - 0.25, 1e-6, "KL(N(0,1)||N(1,4))");
  dist_gauss_kl_rev(&m_old, &ls_old, &m_new, &ls_new, 1, 1, kl);
  CHECK_NEAR(kl[0], 2.0 - log(2.0), 1e-6, "KL(N(1,4)||N(0,1))");
}

// 100000 draws per dimension; the sample mean must lie within 4 standard errors (sigma/sqrt(N))
// and the sample variance within 4 standard errors (sigma^2 sqrt(2/N)) of the truth.
static void test_gauss_sampling(void) {
  const float mean[D] = {1.0f, -2.0f, 0.5f};
  const float log_std[D] = {(float)log(0.5), 0.0f, (float)log(2.0)};
  enum { N = 100000 };
  double s1[D] = {0}, s2[D] = {0};
  rng_t r;
  rng_seed(&r, 99);
  for (int i = 0; i < N; i++) {
    float a[D];
    dist_gauss_sample(mean, log_std, D, &r, a);
    for (int d = 0; d < D; d++) {
      s1[d] += a[d];
      s2[d] += (double)a[d] * a[d];
    }
  }
  for (int d = 0; d < D; d++) {
    double sigma = exp((double)log_std[d]), m = s1[d] / N, v = s2[d] / N - m * m;
    CHECK_NEAR(m, mean[d], 4.0 * sigma / sqrt((double)N), "Gaussian sample mean");
    CHECK_NEAR(v, sigma * sigma, 4.0 * sigma * sigma * sqrt(2.0 / N), "Gaussian sample variance");
  }
}

// ---- Fisher-vector product ----

// F u must equal the Hessian of KL(p||q) in the q-logits at q = p, applied to u:
// (grad(z + h u) - grad(z - h u)) / 2h with grad = dist_cat_kl_backward(old = z, new = .).
// Logits and u are multiples of 1/16 and h = 2^-8, so z +- h u is exact in float and the step is
// exactly h. The gradients q - p are O(h), so their float rounding is ~1e-10 and the error is
// the O(h^2) truncation: ~1e-6, hence atol 2e-5 and rtol 1e-4.
static void test_cat_fisher(void) {
  float z[B * K], u[B * K], zp[B * K], zm[B * K];
  rng_t r;
  rng_seed(&r, 31);
  for (int i = 0; i < B * K; i++) {
    z[i] = (float)((int)rng_below(&r, 65) - 32) / 16.0f;
    u[i] = (float)((int)rng_below(&r, 33) - 16) / 16.0f;
  }
  const float h = 1.0f / 256.0f;
  for (int i = 0; i < B * K; i++) {
    zp[i] = z[i] + h * u[i];
    zm[i] = z[i] - h * u[i];
  }
  float ones[B] = {1, 1, 1}, gp[B * K] = {0}, gm[B * K] = {0}, fu[B * K];
  dist_cat_kl_backward(z, zp, ones, B, K, gp);
  dist_cat_kl_backward(z, zm, ones, B, K, gm);
  dist_cat_fisher_vp(z, u, B, K, fu);
  for (int i = 0; i < B * K; i++) {
    double hess_u = ((double)gp[i] - gm[i]) / (2.0 * h);
    CHECK_CLOSE(fu[i], hess_u, 1e-4, 2e-5, "Fisher vp vs Hessian of KL at q = p");
  }

  // Softmax is shift invariant, so F 1 = 0; F is PSD, so u.Fu >= 0.
  float ones_k[B * K], f1[B * K];
  fill_value(ones_k, B * K, 1.0f);
  dist_cat_fisher_vp(z, ones_k, B, K, f1);
  for (int i = 0; i < B * K; i++) CHECK_NEAR(f1[i], 0.0, 1e-7, "Fisher times ones = 0");
  for (int b = 0; b < B; b++) {
    double ufu = 0.0;
    for (int k = 0; k < K; k++) ufu += (double)u[b * K + k] * fu[b * K + k];
    CHECK(ufu >= -1e-7, "u.Fu = %g must be >= 0", ufu);
  }
}

int main(void) {
  test_cat_gradients();
  test_gauss_gradients();
  test_cat_known_values();
  test_cat_extreme_logits();
  test_cat_sampling();
  test_gauss_known_values();
  test_gauss_sampling();
  test_cat_fisher();
  return check_report("test_dist");
}
