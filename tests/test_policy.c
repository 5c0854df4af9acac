// test_policy: algorithms/policy.c for the categorical policy and the diagonal Gaussian with both
// std parametrisations ("log" and "sigmoid"), each with and without LayerNorm, tanh and ReLU.
// - pol_backward of sum_b w_b logp_b, sum_b w_b ent_b and sum_b w_b KL_b(old||cur) against
//   6-point central finite differences over every entry of theta, std parameters included;
// - pol_fvp against an explicitly built Fisher (1/B) sum_b J_b' H_b J_b (J from mlp_backward of
//   unit cotangents, H written out here), its symmetry and positive semi-definiteness
//   (eigenvalues), and against the finite-difference Hessian of the batch-mean KL at old = theta;
// - sampling: returned logp, closed-form logp/entropy/std, mode, determinism, frequencies.
#include <stddef.h>
// Remaining includes.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/policy.h"
#include "core/err.h"
#include "core/mlp.h"
#include "core/rng.h"
#include "tests/check.h"

enum { KIND_CAT = 0, KIND_GAUSS_LOG = 1, KIND_GAUSS_SIGMOID = 2, N_KINDS = 3 };
static const char *const KIND_NAME[N_KINDS] = {"categorical", "gauss-log", "gauss-sigmoid"};

static const double kLog2Pi = 1.8378770664093454836;
static const float kPrefill = 0.25f;

static pol_config_t make_config(int kind, int layernorm, mlp_act_t act, int obs_dim, int n_hidden,
                                const int *hidden, int act_dim) {
  pol_config_t c = {0};
  c.discrete = kind == KIND_CAT;
  c.obs_dim = obs_dim;
  c.act_dim = act_dim;
  c.n_hidden = n_hidden;
  for (int l = 0; l < n_hidden; l++) c.hidden[l] = hidden[l];
  c.act = act;
  c.layernorm = layernorm;
  c.hidden_gain = act == MLP_ACT_RELU ? sqrtf(2.0f) : 1.0f;
  c.out_gain = 1.0f;  // not 0.01: near-zero outputs would make every network gradient tiny
  c.std_param = kind == KIND_GAUSS_SIGMOID ? POL_STD_SIGMOID : POL_STD_LOG;
  c.std_init = kind == KIND_GAUSS_SIGMOID ? -0.5f : -0.7f;
  return c;
}

static void fill_normal(float *x, int n, double mean, double std, rng_t *rng) {
  for (int i = 0; i < n; i++) x[i] = (float)(mean + std * rng_normal(rng));
}

// Orthogonal init plus noise (gamma != 1, beta and biases != 0 so no term hides behind the init)
// and std parameters spread over a range where sigma differs per dimension: log sigma in
// [-1, 0.3] ("log"), rho in [-1.5, 2] ("sigmoid", sigma in [0.09, 0.44]).
static void random_theta(const pol_t *p, float *theta, rng_t *rng) {
  pol_init(p, theta, rng);
  for (int i = 0; i < p->n_net; i++) theta[i] += (float)(0.3 * rng_normal(rng));
  int sig = p->cfg.std_param == POL_STD_SIGMOID;
  for (int i = p->n_net; i < p->n_params; i++)
    theta[i] = (float)(sig ? -1.5 + 3.5 * rng_uniform(rng) : -1.0 + 1.3 * rng_uniform(rng));
}

// Reference log sigma and d log sigma / d parameter, in double, from the std parameter.
static double ref_log_std(const pol_t *p, float raw) {
  if (p->cfg.std_param == POL_STD_SIGMOID) return log(0.5) - log1p(exp(-(double)raw));
  return raw;
}
static double ref_dlog_std(const pol_t *p, float raw) {
  if (p->cfg.std_param == POL_STD_SIGMOID) return 1.0 - 1.0 / (1.0 + exp(-(double)raw));
  return 1.0;
}

// ReLU on/off pattern of all hidden units of the last forward (layout: layer, row, unit).
static int relu_pattern(const pol_t *p, unsigned char *mask) {
  const mlp_t *m = &p->net;
  int k = 0;
  for (int l = 0; l < m->cfg.n_hidden; l++)
    for (int i = 0; i < m->last_batch * m->dims[l + 1]; i++) mask[k++] = m->pre[l][i] > 0.0f;
  return k;
}

// Largest 1/sqrt(var + eps) over the LayerNorm rows of the last forward (0 without LayerNorm).
// A row of near-zero variance (two inputs almost equal under the input LayerNorm of a 2-feature
// observation, or a ReLU layer with one small active unit) is a near-singular point where the
// function bends on a scale below any usable finite-difference step (seen: rstd 49 gave 30%
// errors in the Hessian check). Test points are redrawn until every row has rstd <= 10.
static double max_ln_rstd(const pol_t *p) {
  const mlp_t *m = &p->net;
  double mx = 0.0;
  for (int b = 0; b < m->last_batch; b++) {
    if (m->in_rstd) mx = fmax(mx, m->in_rstd[b]);
    for (int l = 0; l < m->cfg.n_hidden; l++)
      if (m->ln_rstd[l]) mx = fmax(mx, m->ln_rstd[l][b]);
  }
  return mx;
}
static const double MAX_LN_RSTD = 10.0;

// ---------------------------------------------------------------------------------------------
// Gradients against finite differences.
// Sixth-order central stencil (f(3h) - 9 f(2h) + 45 f(h) - 45 f(-h) + 9 f(-2h) - f(-3h)) / 60h,
// h = 5e-3. test_mlp's fourth-order stencil at h = 1e-2 left a 1% truncation error on the
// Gaussian LayerNorm + ReLU net (a hidden LayerNorm over a few active units has large high
// derivatives); this one keeps truncation (h^6/140 f^(7)) below ~1e-4 relative there.
// Rounding: the float32 network gives each output (logit or mean) to a few ulp of 1 + |output|
// (sums of O(1) terms), and the log-prob/entropy/KL themselves to a few ulp; we allow 8 ulp:
// e_L = 8 2^-24 (sum_b |w_b f_b| + sum_bk |dL/d out_bk| (1 + |out_bk|)), with dL/d out written
// out in double below (for a Gaussian of sigma 0.1 it is |a - mu| / sigma^2, ~10 per unit w).
// The stencil (sum of |weights| 110/60) divides e_L by h.
// Tolerance: rtol 3e-3 + atol 3e-4 + (110/60) e_L / h. Measured worst case over 40 seeds: 0.35
// of the tolerance (printed for the committed seed). A wrong or missing term (e.g. a dropped
// d log sigma / d rho) gives an O(1) relative error.

static const double FD_H = 5e-3;
enum { N_STENCIL = 6 };
static const double STENCIL_OFFSET[N_STENCIL] = {3.0, 2.0, 1.0, -1.0, -2.0, -3.0};
static const double STENCIL_WEIGHT[N_STENCIL] = {1.0 / 60.0,   -9.0 / 60.0, 45.0 / 60.0,
                                                 -45.0 / 60.0, 9.0 / 60.0,  -1.0 / 60.0};
static const double STENCIL_ABS_SUM = 110.0 / 60.0;
static const double FD_ULPS = 8.0;
static const double GRAD_RTOL = 3e-3, GRAD_ATOL = 3e-4;

enum { TERM_LOGP = 0, TERM_ENT = 1, TERM_KL = 2, N_TERMS = 3 };
static const char *const TERM_NAME[N_TERMS] = {"logp", "entropy", "KL(old||cur)"};

enum { GB = 5, G_OBS = 4, G_ACT = 3, G_MAXB = 8 };

typedef struct {
  pol_t *p;
  float *theta;
  const float *obs, *actions, *w;
  const float *old_dist, *old_log_std;
  int term;
  unsigned char *mask, *mask_base;
  int mask_len;
} fd_ctx_t;

// L(theta) = sum_b w_b f_b in double; *abs_sum = sum_b |w_b f_b| bounds its rounding error.
static double term_loss(fd_ctx_t *f, double *abs_sum) {
  float out[G_MAXB];
  pol_forward(f->p, f->theta, f->obs, GB);
  if (f->term == TERM_LOGP) pol_logp(f->p, f->actions, out);
  if (f->term == TERM_ENT) pol_entropy(f->p, out);
  if (f->term == TERM_KL) pol_kl(f->p, f->old_dist, f->old_log_std, out);
  double s = 0.0, a = 0.0;
  for (int b = 0; b < GB; b++) {
    s += (double)f->w[b] * out[b];
    a += fabs((double)f->w[b] * out[b]);
  }
  *abs_sum = a;
  return s;
}

// dL/dtheta_i by the stencil; returns 0 when a ReLU kink was crossed (not differentiable there).
static int fd_partial(fd_ctx_t *f, int i, double *out, double *abs_sum) {
  float t0 = f->theta[i];
  double acc = 0.0, amax = 0.0;
  int kink = 0;
  for (int k = 0; k < N_STENCIL; k++) {
    f->theta[i] = (float)(t0 + STENCIL_OFFSET[k] * FD_H);
    double a;
    acc += STENCIL_WEIGHT[k] * term_loss(f, &a);
    amax = fmax(amax, a);
    if (f->p->cfg.act == MLP_ACT_RELU) {
      relu_pattern(f->p, f->mask);
      kink |= memcmp(f->mask, f->mask_base, f->mask_len) != 0;
    }
  }
  f->theta[i] = t0;
  *out = acc / FD_H;
  *abs_sum = amax;
  return !kink;
}

// sum_bk |w_b d f_b / d out_bk| (1 + |out_bk|) at the last forward, in double (for the rounding
// allowance only): categorical d logp/dz_k = [k = a] - p_k, dH/dz_k = -p_k (log p_k + H),
// dKL(old||cur)/dz_k = p_k - p_old,k; Gaussian d logp/dmu = (a - mu)/sigma^2,
// dKL(old||cur)/dmu = (mu - mu_old)/sigma^2, entropy independent of mu.
static double output_sensitivity(const pol_t *p, int term, const float *actions, const float *w,
                                 const float *old_dist) {
  int K = p->cfg.act_dim;
  double total = 0.0;
  for (int b = 0; b < GB; b++) {
    const float *z = p->dist + b * K;
    double d[G_ACT] = {0};
    if (p->cfg.discrete) {
      double lp[G_ACT], lq[G_ACT], mz = z[0], mo = old_dist[b * K], sz = 0.0, so = 0.0, h = 0.0;
      for (int k = 1; k < K; k++) mz = fmax(mz, z[k]), mo = fmax(mo, old_dist[b * K + k]);
      for (int k = 0; k < K; k++) {
        sz += exp(z[k] - mz);
        so += exp(old_dist[b * K + k] - mo);
      }
      for (int k = 0; k < K; k++) {
        lp[k] = z[k] - mz - log(sz);
        lq[k] = old_dist[b * K + k] - mo - log(so);
        h -= exp(lp[k]) * lp[k];
      }
      for (int k = 0; k < K; k++) {
        if (term == TERM_LOGP) d[k] = (k == (int)actions[b]) - exp(lp[k]);
        if (term == TERM_ENT) d[k] = -exp(lp[k]) * (lp[k] + h);
        if (term == TERM_KL) d[k] = exp(lp[k]) - exp(lq[k]);
      }
    } else {
      for (int k = 0; k < K; k++) {
        double inv_var = exp(-2.0 * p->log_std[k]);
        if (term == TERM_LOGP) d[k] = (actions[b * K + k] - z[k]) * inv_var;
        if (term == TERM_KL) d[k] = (z[k] - old_dist[b * K + k]) * inv_var;
      }
    }
    for (int k = 0; k < K; k++) total += fabs(w[b] * d[k]) * (1.0 + fabs(z[k]));
  }
  return total;
}

typedef struct {
  int checks, skipped, nonzero_std;
  double worst;  // largest |analytic - fd| / tolerance
} fd_stats_t;

static void grad_check_variant(int kind, int ln, mlp_act_t act, rng_t *rng, fd_stats_t *s) {
  static const int hidden[2] = {6, 5};
  pol_config_t cfg = make_config(kind, ln, act, G_OBS, 2, hidden, G_ACT);
  pol_t p;
  CHECK(pol_create(&p, &cfg, G_MAXB) == 0, "create: %s", err_message());
  int n = p.n_params, K = G_ACT;
  CHECK(n == p.n_net + (kind == KIND_CAT ? 0 : K), "n_params %d n_net %d", n, p.n_net);
  float *theta = calloc(n, sizeof *theta), *theta_old = calloc(n, sizeof *theta);
  float *grad = calloc(n, sizeof *grad);
  float obs[GB * G_OBS], actions[GB * G_ACT], w[GB];
  float old_dist[GB * G_ACT], old_log_std[G_ACT];
  unsigned char mask[2 * G_MAXB * 6], mask_base[2 * G_MAXB * 6];

  do {  // a well-conditioned test point, see max_ln_rstd
    random_theta(&p, theta, rng);
    fill_normal(obs, GB * G_OBS, 0.3, 1.2, rng);
    pol_forward(&p, theta, obs, GB);
  } while (max_ln_rstd(&p) > MAX_LN_RSTD);
  for (int i = 0; i < n; i++) theta_old[i] = theta[i] + (float)(0.2 * rng_normal(rng));
  fill_normal(w, GB, 0.0, 1.0, rng);
  pol_forward(&p, theta_old, obs, GB);
  pol_save_dist(&p, old_dist, old_log_std);
  pol_forward(&p, theta, obs, GB);
  pol_sample(&p, rng, actions, NULL);
  int mask_len = relu_pattern(&p, mask_base);

  fd_ctx_t f = {&p, theta, obs, actions, w, old_dist, old_log_std, 0, mask, mask_base, mask_len};
  char what[192];
  for (int term = 0; term < N_TERMS; term++) {
    pol_forward(&p, theta, obs, GB);
    for (int i = 0; i < n; i++) grad[i] = kPrefill;  // backward must accumulate, not overwrite
    pol_backward(&p, theta, actions, term == TERM_LOGP ? w : NULL, term == TERM_ENT ? w : NULL,
                 old_dist, old_log_std, term == TERM_KL ? w : NULL, grad);
    for (int i = 0; i < n; i++) grad[i] -= kPrefill;
    double sens = output_sensitivity(&p, term, actions, w, old_dist);
    f.term = term;
    for (int i = 0; i < n; i++) {
      double fd, abs_sum;
      if (!fd_partial(&f, i, &fd, &abs_sum)) {
        s->skipped++;
        continue;
      }
      double atol = GRAD_ATOL + STENCIL_ABS_SUM * FD_ULPS * ldexp(abs_sum + sens, -24) / FD_H;
      double tol = atol + GRAD_RTOL * fmax(fabs(grad[i]), fabs(fd));
      s->worst = fmax(s->worst, fabs(grad[i] - fd) / tol);
      s->checks++;
      if (i >= p.n_net && fabs(fd) > 1e-2) s->nonzero_std++;
      snprintf(what, sizeof what, "d %s / dtheta[%d]%s %s LN=%d %s", TERM_NAME[term], i,
               i >= p.n_net ? " (std param)" : "", KIND_NAME[kind], ln,
               act == MLP_ACT_RELU ? "relu" : "tanh");
      CHECK_CLOSE(grad[i], fd, GRAD_RTOL, atol, what);
    }
  }
  free(theta), free(theta_old), free(grad);
  pol_destroy(&p);
}

static void test_backward_matches_finite_differences(void) {
  rng_t rng;
  rng_seed(&rng, 101);
  fd_stats_t s = {0};
  for (int kind = 0; kind < N_KINDS; kind++)
    for (int ln = 0; ln < 2; ln++)
      for (int act = 0; act < 2; act++) grad_check_variant(kind, ln, (mlp_act_t)act, &rng, &s);
  CHECK(s.skipped * 10 < s.checks, "%d of %d partials skipped at ReLU kinks", s.skipped,
        s.checks + s.skipped);
  // Gaussian: 2 kinds x 4 nets x 3 terms x 3 std params, all with a non-trivial derivative.
  CHECK(s.nonzero_std >= 60, "only %d std-parameter partials were non-zero", s.nonzero_std);
  printf("pol_backward vs FD: %d partials checked, %d skipped at ReLU kinks, worst %.3f of tol\n",
         s.checks, s.skipped, s.worst);
}

// ---------------------------------------------------------------------------------------------
// Fisher-vector product on a tiny network: obs 2 -> 3 -> act (2 dims or 3 choices), B = 4.

enum { FB = 4, F_OBS = 2, F_HID = 3, F_MAXP = 64 };

// Explicit F = (1/B) sum_b J_b' H_b J_b, in double. J_b row k = d dist[b][k] / d theta_net from
// mlp_backward of the unit cotangent e_(b,k) (mlp_backward is verified against finite
// differences in test_mlp). H_b = diag(p) - p p' (categorical, softmax in double here);
// diag(1/sigma^2) for the Gaussian mean; 2 (d log sigma / d param)^2 on each std parameter.
// Requires a pol_forward at theta just before.
static void explicit_fisher(pol_t *p, const float *theta, double *F) {
  int n = p->n_params, nn = p->n_net, K = p->cfg.act_dim;
  double *J = calloc((size_t)FB * K * nn, sizeof *J);
  float *dy = calloc((size_t)FB * K, sizeof *dy), *row = calloc(nn, sizeof *row);
  for (int r = 0; r < FB * K; r++) {
    memset(dy, 0, sizeof(float) * FB * K);
    memset(row, 0, sizeof(float) * nn);
    dy[r] = 1.0f;
    mlp_backward(&p->net, theta, dy, row, NULL);
    for (int i = 0; i < nn; i++) J[(size_t)r * nn + i] = row[i];
  }
  memset(F, 0, sizeof(double) * n * n);
  for (int b = 0; b < FB; b++) {
    double H[4][4] = {{0}};
    const float *d = p->dist + b * K;
    if (p->cfg.discrete) {
      double mx = d[0], z = 0.0, pr[4];
      for (int k = 1; k < K; k++) mx = fmax(mx, d[k]);
      for (int k = 0; k < K; k++) z += pr[k] = exp(d[k] - mx);
      for (int k = 0; k < K; k++) pr[k] /= z;
      for (int k = 0; k < K; k++)
        for (int l = 0; l < K; l++) H[k][l] = (k == l ? pr[k] : 0.0) - pr[k] * pr[l];
    } else {
      for (int k = 0; k < K; k++) H[k][k] = exp(-2.0 * ref_log_std(p, theta[nn + k]));
    }
    for (int i = 0; i < nn; i++)
      for (int j = 0; j < nn; j++) {
        double acc = 0.0;
        for (int k = 0; k < K; k++)
          for (int l = 0; l < K; l++)
            acc += J[(size_t)(b * K + k) * nn + i] * H[k][l] * J[(size_t)(b * K + l) * nn + j];
        F[i * n + j] += acc / FB;
      }
  }
  for (int k = nn; k < n; k++) {
    double g = ref_dlog_std(p, theta[k]);
    F[k * n + k] = 2.0 * g * g;
  }
  free(J), free(dy), free(row);
}

// Eigenvalues of a symmetric matrix (cyclic Jacobi, in place; A is destroyed), for the PSD check.
static void jacobi_eigenvalues(double *A, int n, double *eig) {
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0.0;
    for (int i = 0; i < n; i++)
      for (int j = i + 1; j < n; j++) off += A[i * n + j] * A[i * n + j];
    if (off < 1e-30) break;
    for (int pi = 0; pi < n; pi++)
      for (int q = pi + 1; q < n; q++) {
        double apq = A[pi * n + q];
        if (fabs(apq) < 1e-300) continue;
        double theta = (A[q * n + q] - A[pi * n + pi]) / (2.0 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
        double c = 1.0 / sqrt(t * t + 1.0), sn = t * c;
        for (int k = 0; k < n; k++) {  // columns p, q
          double akp = A[k * n + pi], akq = A[k * n + q];
          A[k * n + pi] = c * akp - sn * akq;
          A[k * n + q] = sn * akp + c * akq;
        }
        for (int k = 0; k < n; k++) {  // rows p, q
          double apk = A[pi * n + k], aqk = A[q * n + k];
          A[pi * n + k] = c * apk - sn * aqk;
          A[q * n + k] = sn * apk + c * aqk;
        }
      }
  }
  for (int i = 0; i < n; i++) eig[i] = A[i * n + i];
}

typedef struct {
  int variants, hess_checked, hess_skipped;
  double worst_entry, worst_fv, worst_hess;  // fractions of the tolerance
} fvp_stats_t;

// Tolerances (float32 products of a few terms of size <= max|F|): entries of the pol_fvp matrix
// vs the explicit F to 1e-5 max|F|; F v per row to 3e-5 sum_j |F_ij v_j| + 1e-6 max|F| |v|.
// Hessian by the same stencil over the KL gradient: the gradient is O(h F) and computed in
// float, so the quotient carries ~1e-6 max|F| of rounding; truncation is far smaller.
// Tolerance 5e-5 max|F| + 1e-3 |F_ij| (measured worst printed below).
static void fvp_check_variant(int kind, int ln, mlp_act_t act, rng_t *rng, fvp_stats_t *s) {
  static const int hidden[1] = {F_HID};
  int K = kind == KIND_CAT ? 3 : 2;
  pol_config_t cfg = make_config(kind, ln, act, F_OBS, 1, hidden, K);
  pol_t p;
  CHECK(pol_create(&p, &cfg, FB) == 0, "create: %s", err_message());
  int n = p.n_params, nn = p.n_net;
  CHECK(n <= F_MAXP, "tiny net has %d params", n);
  float theta[F_MAXP], v[F_MAXP], u[F_MAXP], fv[F_MAXP], fu[F_MAXP], g[F_MAXP];
  float obs[FB * F_OBS], old_dist[FB * 3], old_log_std[3];
  double *F = calloc((size_t)n * n, sizeof *F), *Fp = calloc((size_t)n * n, sizeof *Fp);
  double *A = calloc((size_t)n * n, sizeof *A), *Hfd = calloc((size_t)n * n, sizeof *Hfd);
  double eig[F_MAXP] = {0};
  char what[64];
  snprintf(what, sizeof what, "%s LN=%d %s", KIND_NAME[kind], ln,
           act == MLP_ACT_RELU ? "relu" : "tanh");
  s->variants++;

  do {  // a well-conditioned test point, see max_ln_rstd
    random_theta(&p, theta, rng);
    fill_normal(obs, FB * F_OBS, 0.3, 1.2, rng);
    pol_forward(&p, theta, obs, FB);
  } while (max_ln_rstd(&p) > MAX_LN_RSTD);
  unsigned char mask_base[FB * F_HID], mask[FB * F_HID];
  int mask_len = relu_pattern(&p, mask_base);
  explicit_fisher(&p, theta, F);
  double fmax_abs = 0.0;
  for (int i = 0; i < n * n; i++) fmax_abs = fmax(fmax_abs, fabs(F[i]));
  CHECK(fmax_abs > 1e-3, "%s: Fisher is ~0 (max %g), test would check nothing", what, fmax_abs);

  // The pol_fvp matrix, column by column from unit vectors, against F entrywise.
  for (int j = 0; j < n; j++) {
    memset(v, 0, sizeof v);
    v[j] = 1.0f;
    pol_fvp(&p, theta, v, fv);
    for (int i = 0; i < n; i++) Fp[i * n + j] = fv[i];
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double tol = 1e-5 * fmax_abs;
      s->worst_entry = fmax(s->worst_entry, fabs(Fp[i * n + j] - F[i * n + j]) / tol);
      char w2[256];
      snprintf(w2, sizeof w2, "%s: pol_fvp(e_%d)[%d] vs explicit F", what, j, i);
      CHECK_NEAR(Fp[i * n + j], F[i * n + j], tol, w2);
      // Symmetric as computed (not only in exact arithmetic), so CG sees a symmetric operator.
      snprintf(w2, sizeof w2, "%s: pol_fvp matrix symmetric [%d][%d]", what, i, j);
      CHECK_NEAR(Fp[i * n + j], Fp[j * n + i], 1e-5 * fmax_abs, w2);
    }
  // No mean/std cross terms (Gaussian Fisher is block diagonal in (mean, log sigma)).
  for (int i = 0; i < nn; i++)
    for (int k = nn; k < n; k++)
      CHECK(Fp[i * n + k] == 0.0 && Fp[k * n + i] == 0.0, "%s: cross term [%d][%d]", what, i, k);

  // Random directions: F v, symmetry u'Fv = v'Fu, v'Fv >= 0.
  for (int rep = 0; rep < 5; rep++) {
    fill_normal(v, n, 0.0, 1.0, rng);
    fill_normal(u, n, 0.0, 1.0, rng);
    pol_fvp(&p, theta, v, fv);
    pol_fvp(&p, theta, u, fu);
    double vn = 0.0;
    for (int j = 0; j < n; j++) vn += (double)v[j] * v[j];
    vn = sqrt(vn);
    for (int i = 0; i < n; i++) {
      double ref = 0.0, scale = 0.0;
      for (int j = 0; j < n; j++) {
        ref += F[i * n + j] * v[j];
        scale += fabs(F[i * n + j] * v[j]);
      }
      double tol = 3e-5 * scale + 1e-6 * fmax_abs * vn;
      s->worst_fv = fmax(s->worst_fv, fabs(fv[i] - ref) / tol);
      CHECK_NEAR(fv[i], ref, tol, "pol_fvp(v) vs explicit F v");
    }
    double ufv = 0.0, vfu = 0.0, vfv = 0.0, sc = 0.0;
    for (int i = 0; i < n; i++) {
      ufv += (double)u[i] * fv[i];
      vfu += (double)v[i] * fu[i];
      vfv += (double)v[i] * fv[i];
      sc += fabs((double)u[i] * fv[i]) + fabs((double)v[i] * fu[i]);
    }
    CHECK_NEAR(ufv, vfu, 1e-5 * sc + 1e-9, "u'(F v) = v'(F u)");
    CHECK(vfv >= -1e-6 * fmax_abs * vn * vn, "%s: v'Fv = %g < 0", what, vfv);
  }

  // PSD: every eigenvalue of the (symmetrised) pol_fvp matrix >= -1e-5 max|F|. The Fisher of a
  // tiny over-parametrised net is singular, so eigenvalues near 0 are expected.
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) A[i * n + j] = 0.5 * (Fp[i * n + j] + Fp[j * n + i]);
  jacobi_eigenvalues(A, n, eig);
  double emin = eig[0], emax = eig[0];
  for (int i = 1; i < n; i++) emin = fmin(emin, eig[i]), emax = fmax(emax, eig[i]);
  CHECK(emin >= -1e-5 * fmax_abs, "%s: smallest eigenvalue %g (largest %g)", what, emin, emax);

  // F is the Hessian of the batch-mean KL(old || theta) at theta = old (what CPO's quadratic
  // model of the trust region assumes): old = the distribution at theta, gradient from
  // pol_backward with dkl = 1/B, differentiated once more by the stencil over theta_j.
  pol_forward(&p, theta, obs, FB);
  pol_save_dist(&p, old_dist, old_log_std);
  float dkl[FB];
  for (int b = 0; b < FB; b++) dkl[b] = 1.0f / FB;
  // At theta = old the KL gradient itself vanishes.
  memset(g, 0, sizeof g);
  pol_backward(&p, theta, NULL, NULL, NULL, old_dist, old_log_std, dkl, g);
  for (int i = 0; i < n; i++) CHECK_NEAR(g[i], 0.0, 1e-6, "KL gradient at theta = old");
  for (int j = 0; j < n; j++) {
    double col[F_MAXP] = {0};
    float t0 = theta[j];
    int kink = 0;
    for (int k = 0; k < N_STENCIL; k++) {
      theta[j] = (float)(t0 + STENCIL_OFFSET[k] * FD_H);
      pol_forward(&p, theta, obs, FB);
      if (act == MLP_ACT_RELU) {
        relu_pattern(&p, mask);
        kink |= memcmp(mask, mask_base, mask_len) != 0;
      }
      memset(g, 0, sizeof g);
      pol_backward(&p, theta, NULL, NULL, NULL, old_dist, old_log_std, dkl, g);
      for (int i = 0; i < n; i++) col[i] += STENCIL_WEIGHT[k] * g[i] / FD_H;
    }
    theta[j] = t0;
    if (kink) {
      s->hess_skipped++;
      continue;
    }
    for (int i = 0; i < n; i++) {
      Hfd[i * n + j] = col[i];
      double tol = 5e-5 * fmax_abs + 1e-3 * fabs(F[i * n + j]);
      s->worst_hess = fmax(s->worst_hess, fabs(col[i] - F[i * n + j]) / tol);
      s->hess_checked++;
      char w2[256];
      snprintf(w2, sizeof w2, "%s: Hessian of mean KL [%d][%d] (FD) vs F", what, i, j);
      CHECK_NEAR(col[i], F[i * n + j], tol, w2);
    }
  }
  // pol_fvp is taken at the last forward point: after the perturbed forwards above, a fresh
  // forward at theta must give back the same products.
  pol_forward(&p, theta, obs, FB);
  memset(v, 0, sizeof v);
  v[0] = 1.0f;
  pol_fvp(&p, theta, v, fv);
  for (int i = 0; i < n; i++) CHECK(fv[i] == (float)Fp[i * n], "%s: fvp not reproducible", what);

  free(F), free(Fp), free(A), free(Hfd);
  pol_destroy(&p);
}

static void test_fvp_is_the_fisher(void) {
  rng_t rng;
  rng_seed(&rng, 202);
  fvp_stats_t s = {0};
  for (int kind = 0; kind < N_KINDS; kind++)
    for (int ln = 0; ln < 2; ln++)
      for (int act = 0; act < 2; act++) fvp_check_variant(kind, ln, (mlp_act_t)act, &rng, &s);
  CHECK(s.hess_skipped * 4 < s.hess_checked, "too many Hessian columns skipped at kinks");
  printf(
      "pol_fvp: %d variants; entries worst %.3f of tol, F v worst %.3f of tol; "
      "KL Hessian by FD: %d entries checked (%d columns skipped at kinks), worst %.3f of tol\n",
      s.variants, s.worst_entry, s.worst_fv, s.hess_checked, s.hess_skipped, s.worst_hess);
}

// ---------------------------------------------------------------------------------------------
// Sampling, log-probs, entropy, mode.

enum { SB = 6, S_OBS = 3, S_ACT = 3, NREP = 256, NDRAW = 64 };

// Reference log-prob of row b in double from the network outputs y (independent of dist.c).
static double ref_logp(const pol_t *p, const float *theta, const float *y, const float *a) {
  int K = p->cfg.act_dim;
  if (p->cfg.discrete) {
    double mx = y[0], z = 0.0;
    for (int k = 1; k < K; k++) mx = fmax(mx, y[k]);
    for (int k = 0; k < K; k++) z += exp(y[k] - mx);
    return y[(int)a[0]] - mx - log(z);
  }
  double lp = 0.0;
  for (int d = 0; d < K; d++) {
    double ls = ref_log_std(p, theta[p->n_net + d]);
    double zz = (a[d] - y[d]) / exp(ls);
    lp += -0.5 * zz * zz - ls - 0.5 * kLog2Pi;
  }
  return lp;
}

static void sampling_variant(int kind, rng_t *rng) {
  static const int hidden[1] = {8};
  pol_config_t cfg = make_config(kind, 0, MLP_ACT_TANH, S_OBS, 1, hidden, S_ACT);
  pol_t p;
  CHECK(pol_create(&p, &cfg, NREP) == 0, "create: %s", err_message());
  int n = p.n_params, K = S_ACT, aw = kind == KIND_CAT ? 1 : K;
  const char *name = KIND_NAME[kind];
  float *theta = calloc(n, sizeof *theta);
  float obs[NREP * S_OBS], y[NREP * S_ACT], a1[NREP * S_ACT], a2[NREP * S_ACT];
  float lp1[NREP], lp2[NREP], ent[NREP], kl[NREP], mode[NREP * S_ACT];

  // pol_init: std parameters at std_init.
  pol_init(&p, theta, rng);
  for (int i = p.n_net; i < n; i++) CHECK(theta[i] == cfg.std_init, "%s: std init", name);
  random_theta(&p, theta, rng);
  fill_normal(obs, SB * S_OBS, 0.0, 1.0, rng);
  pol_forward(&p, theta, obs, SB);
  if (kind != KIND_CAT)
    for (int d = 0; d < K; d++)
      CHECK_CLOSE(p.log_std[d], ref_log_std(&p, theta[p.n_net + d]), 1e-6, 1e-6, "log sigma");

  // Independent network outputs at the same point (a second forward through the same mlp).
  mlp_forward(&p.net, theta, obs, SB, y);

  // Sample: returned logp == pol_logp (bit-exact) == double reference (1e-5 rel + 1e-5 abs).
  rng_t r1, r2;
  rng_seed(&r1, 777);
  rng_seed(&r2, 777);
  pol_sample(&p, &r1, a1, lp1);
  pol_logp(&p, a1, lp2);
  for (int b = 0; b < SB; b++) {
    CHECK(lp1[b] == lp2[b], "%s: sampled logp %g vs pol_logp %g", name, lp1[b], lp2[b]);
    CHECK_CLOSE(lp1[b], ref_logp(&p, theta, y + b * K, a1 + b * aw), 1e-5, 1e-5, "logp vs ref");
    if (kind == KIND_CAT)
      CHECK(a1[b] == floorf(a1[b]) && a1[b] >= 0 && a1[b] < K, "%s: action %g", name, a1[b]);
  }
  // Same seed, same actions and the same rng state afterwards; another seed differs.
  pol_sample(&p, &r2, a2, NULL);
  CHECK(!memcmp(a1, a2, sizeof(float) * SB * aw), "%s: sampling not deterministic", name);
  CHECK(!memcmp(&r1, &r2, sizeof r1), "%s: rng state differs after equal draws", name);
  rng_seed(&r2, 778);
  pol_sample(&p, &r2, a2, NULL);
  CHECK(memcmp(a1, a2, sizeof(float) * SB * aw) != 0, "%s: seed ignored", name);

  // Mode: argmax of the logits / the mean, exactly.
  pol_mode(&p, mode);
  for (int b = 0; b < SB; b++) {
    if (kind == KIND_CAT) {
      int best = 0;
      for (int k = 1; k < K; k++)
        if (y[b * K + k] > y[b * K + best]) best = k;
      CHECK(mode[b] == (float)best, "%s: mode %g, argmax %d", name, mode[b], best);
    } else {
      for (int d = 0; d < K; d++) CHECK(mode[b * K + d] == y[b * K + d], "%s: mode != mean", name);
    }
  }

  // Entropy closed forms (1e-5 abs): -sum p log p; sum_d (log sigma_d + 0.5 log(2 pi e)).
  pol_entropy(&p, ent);
  for (int b = 0; b < SB; b++) {
    double h = 0.0;
    if (kind == KIND_CAT) {
      double mx = y[b * K], z = 0.0;
      for (int k = 1; k < K; k++) mx = fmax(mx, y[b * K + k]);
      for (int k = 0; k < K; k++) z += exp(y[b * K + k] - mx);
      for (int k = 0; k < K; k++) {
        double lq = y[b * K + k] - mx - log(z);
        h -= exp(lq) * lq;
      }
    } else {
      for (int d = 0; d < K; d++) h += ref_log_std(&p, theta[p.n_net + d]) + 0.5 * (kLog2Pi + 1);
    }
    CHECK_NEAR(ent[b], h, 1e-5, "entropy closed form");
  }

  // KL of a distribution with itself is 0; pol_save_dist copies what the forward produced.
  float sd[SB * S_ACT], sls[S_ACT];
  pol_save_dist(&p, sd, sls);
  CHECK(!memcmp(sd, y, sizeof(float) * SB * K), "%s: saved dist", name);
  pol_kl(&p, sd, sls, kl);
  for (int b = 0; b < SB; b++) CHECK_NEAR(kl[b], 0.0, 1e-6, "KL(p||p)");

  // Frequencies: NREP copies of one observation, NDRAW batches (16384 draws). Categorical
  // frequency within 5 binomial standard errors of softmax; Gaussian sample mean within 5
  // standard errors of the mean and sample std within 5 sqrt(1/2N) relative of sigma.
  for (int r = 0; r < NREP; r++) memcpy(obs + r * S_OBS, obs, sizeof(float) * S_OBS);
  pol_forward(&p, theta, obs, NREP);
  double cnt[S_ACT] = {0}, m1[S_ACT] = {0}, m2[S_ACT] = {0};
  for (int draw = 0; draw < NDRAW; draw++) {
    pol_sample(&p, rng, a1, NULL);
    for (int r = 0; r < NREP; r++) {
      if (kind == KIND_CAT) {
        cnt[(int)a1[r]] += 1.0;
      } else {
        for (int d = 0; d < K; d++) {
          m1[d] += a1[r * K + d];
          m2[d] += (double)a1[r * K + d] * a1[r * K + d];
        }
      }
    }
  }
  double N = (double)NREP * NDRAW;
  if (kind == KIND_CAT) {
    double mx = y[0], z = 0.0;
    for (int k = 1; k < K; k++) mx = fmax(mx, y[k]);
    for (int k = 0; k < K; k++) z += exp(y[k] - mx);
    for (int k = 0; k < K; k++) {
      double pk = exp(y[k] - mx) / z;
      CHECK_NEAR(cnt[k] / N, pk, 5.0 * sqrt(pk * (1 - pk) / N) + 1e-9, "categorical frequency");
    }
  } else {
    for (int d = 0; d < K; d++) {
      double sigma = exp(ref_log_std(&p, theta[p.n_net + d]));
      double mean = m1[d] / N, sd_hat = sqrt(m2[d] / N - mean * mean);
      CHECK_NEAR(mean, y[d], 5.0 * sigma / sqrt(N), "Gaussian sample mean");
      CHECK_NEAR(sd_hat / sigma, 1.0, 5.0 * sqrt(0.5 / N), "Gaussian sample std / sigma");
    }
  }
  free(theta);
  pol_destroy(&p);
}

static void test_sampling(void) {
  rng_t rng;
  rng_seed(&rng, 303);
  for (int kind = 0; kind < N_KINDS; kind++) sampling_variant(kind, &rng);
}

int main(void) {
  test_sampling();
  test_backward_matches_finite_differences();
  test_fvp_is_the_fisher();
  return check_report("test_policy");
}
