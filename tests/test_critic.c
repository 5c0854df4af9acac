// test_critic: algorithms/critic.c and the small helpers of algorithms/sa_common.c.
// - critic_fit_step fits y = sin(x1) + x2 (MSE falls below a stated fraction of the initial);
// - its gradient, read back from Adam's first moment after one step from a fresh optimiser
//   (m_1 = (1 - beta1) g), equals the finite-difference gradient of mse + l2 |theta|^2, and the
//   closed form on a linear critic whose weights are set by hand, clipped and unclipped;
// - critic_save / critic_load through a checkpoint file give bit-identical predictions and a
//   bit-identical next step (Adam moments and step count restored);
// - sa_window_* ring semantics, sa_mean_or and sa_linear_lr.
#include <stddef.h>
// Remaining includes.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "algorithms/critic.h"
#include "algorithms/sa_common.h"
#include "core/checkpoint.h"
#include "core/err.h"
#include "core/rng.h"
#include "tests/check.h"

static void fill_uniform(float *x, int n, double lo, double hi, rng_t *rng) {
  for (int i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * rng_uniform(rng));
}

static critic_config_t make_config(int obs_dim, int n_hidden, const int *hidden, mlp_act_t act,
                                   int layernorm, float lr) {
  critic_config_t c = {0};
  c.obs_dim = obs_dim;
  c.n_hidden = n_hidden;
  for (int l = 0; l < n_hidden; l++) c.hidden[l] = hidden[l];
  c.act = act;
  c.layernorm = layernorm;
  c.lr = lr;
  return c;
}

// Mean squared error of the current parameters, in double.
static double mse_now(critic_t *c, const float *x, const float *y, int B, float *pred) {
  critic_predict(c, x, B, pred);
  double s = 0.0;
  for (int b = 0; b < B; b++) s += ((double)pred[b] - y[b]) * ((double)pred[b] - y[b]);
  return s / B;
}

// ---------------------------------------------------------------------------------------------
// Regression: y = sin(x1) + x2 on 64 points in [-2, 2]^2 (Var y ~ 1.6), full batch, 300 Adam
// steps at lr 1e-2, gradient clipped at norm 10. Must end below 1% of the initial MSE; measured
// final/initial fractions are printed. A sign error or a missing 1/B in the loss gradient leaves
// the MSE at or above the initial value. No LayerNorm here: the input LayerNorm of a 2-feature
// observation maps (x1, x2) to about +-(1, -1), i.e. keeps only sign(x1 - x2), so no network can
// fit this target through it (LN variants are covered by the gradient and save/load tests).

enum { FIT_N = 64, FIT_STEPS = 300 };

static void fit_one(mlp_act_t act, int layernorm) {
  static const int hidden[2] = {32, 32};
  critic_config_t cfg = make_config(2, 2, hidden, act, layernorm, 1e-2f);
  rng_t rng;
  rng_seed(&rng, 5);
  critic_t c;
  CHECK(critic_create(&c, &cfg, FIT_N, &rng) == 0, "create: %s", err_message());
  float x[FIT_N * 2], y[FIT_N], pred[FIT_N];
  fill_uniform(x, FIT_N * 2, -2.0, 2.0, &rng);
  for (int b = 0; b < FIT_N; b++) y[b] = (float)(sin(x[2 * b]) + x[2 * b + 1]);
  double initial = mse_now(&c, x, y, FIT_N, pred), last = 0.0;
  int monotone_breaks = 0;
  for (int s = 0; s < FIT_STEPS; s++) {
    double mse = critic_fit_step(&c, x, y, FIT_N, 0.0, 10.0);
    // The returned value is the MSE before the step.
    if (s == 0) CHECK_CLOSE(mse, initial, 1e-6, 1e-9, "first fit_step returns initial MSE");
    if (s > 0 && mse > last) monotone_breaks++;
    last = mse;
  }
  double final = mse_now(&c, x, y, FIT_N, pred);
  printf("critic fit (%s%s): MSE %.4f -> %.5f (%.2f%% of initial), %d non-decreasing steps\n",
         act == MLP_ACT_RELU ? "relu" : "tanh", layernorm ? "+LN" : "", initial, final,
         100.0 * final / initial, monotone_breaks);
  CHECK(initial > 0.3, "initial MSE %g: the problem is too easy to test anything", initial);
  CHECK(final < 0.01 * initial, "final MSE %g not below 1%% of initial %g", final, initial);
  critic_destroy(&c);
}

static void test_fit_decreases_mse(void) {
  fit_one(MLP_ACT_TANH, 0);
  fit_one(MLP_ACT_RELU, 0);
}

// ---------------------------------------------------------------------------------------------
// The gradient critic_fit_step feeds Adam. After one step from a fresh optimiser
// m_i = (1 - beta1) g_i in float, so g_i = m_i / (1.0f - beta1) to one ulp.

static void grad_from_adam(const critic_t *c, double *g) {
  float one_minus_b1 = 1.0f - c->opt.beta1;
  for (int i = 0; i < c->n_params; i++) g[i] = (double)c->opt.m[i] / one_minus_b1;
}

// Fresh critic with the given parameters, one fit step, gradient read back; theta is restored.
static void fit_step_gradient(const critic_config_t *cfg, const float *theta, const float *x,
                              const float *y, int B, double l2, double max_norm, double *g) {
  rng_t rng;
  rng_seed(&rng, 1);
  critic_t c;
  CHECK(critic_create(&c, cfg, B, &rng) == 0, "create: %s", err_message());
  memcpy(c.theta, theta, sizeof(float) * c.n_params);
  critic_fit_step(&c, x, y, B, l2, max_norm);
  CHECK(c.opt.t == 1, "one Adam step taken, t = %lld", c.opt.t);
  grad_from_adam(&c, g);
  critic_destroy(&c);
}

// J(theta) = mse + l2 |theta|^2 in double; *scale = sum_b |2 e_b pred_b| / B bounds how much
// float rounding of the predictions moves it.
static double objective(critic_t *c, const float *x, const float *y, int B, double l2, float *pred,
                        double *scale) {
  critic_predict(c, x, B, pred);
  double s = 0.0, a = 0.0, r = 0.0;
  for (int b = 0; b < B; b++) {
    double e = (double)pred[b] - y[b];
    s += e * e;
    a += fabs(2.0 * e * pred[b]);
  }
  for (int i = 0; i < c->n_params; i++) r += (double)c->theta[i] * c->theta[i];
  *scale = a / B + l2 * r;
  return s / B + l2 * r;
}

// Sixth-order central stencil, h = 5e-3 (as test_policy): truncation negligible; rounding of
// J (16 ulp of its scale) divided by h. Tolerance rtol 3e-3 + atol 1e-4 + that rounding bound.
static const double FD_H = 5e-3;
enum { N_STENCIL = 6 };
static const double STENCIL_OFFSET[N_STENCIL] = {3.0, 2.0, 1.0, -1.0, -2.0, -3.0};
static const double STENCIL_WEIGHT[N_STENCIL] = {1.0 / 60.0,   -9.0 / 60.0, 45.0 / 60.0,
                                                 -45.0 / 60.0, 9.0 / 60.0,  -1.0 / 60.0};

enum { GB = 6, G_OBS = 3 };

static void test_gradient_matches_finite_differences(void) {
  static const int hidden[1] = {5};
  rng_t rng;
  rng_seed(&rng, 17);
  double worst = 0.0;
  int checks = 0;
  for (int ln = 0; ln < 2; ln++) {
    critic_config_t cfg = make_config(G_OBS, 1, hidden, MLP_ACT_TANH, ln, 1e-3f);
    critic_t c;
    CHECK(critic_create(&c, &cfg, GB, &rng) == 0, "create: %s", err_message());
    int n = c.n_params;
    float *theta = calloc(n, sizeof *theta), x[GB * G_OBS], y[GB], pred[GB];
    double *g = calloc(n, sizeof *g), *g0 = calloc(n, sizeof *g0);
    for (int i = 0; i < n; i++) theta[i] = c.theta[i] + (float)(0.3 * rng_normal(&rng));
    fill_uniform(x, GB * G_OBS, -1.5, 1.5, &rng);
    fill_uniform(y, GB, -2.0, 2.0, &rng);
    const double l2 = 0.05;  // large enough that 2 l2 theta is a visible part of the gradient
    fit_step_gradient(&cfg, theta, x, y, GB, l2, 0.0, g);
    fit_step_gradient(&cfg, theta, x, y, GB, 0.0, 0.0, g0);
    memcpy(c.theta, theta, sizeof(float) * n);
    char what[96];
    for (int i = 0; i < n; i++) {
      double acc = 0.0, scale = 0.0;
      for (int k = 0; k < N_STENCIL; k++) {
        c.theta[i] = (float)(theta[i] + STENCIL_OFFSET[k] * FD_H);
        double sc;
        acc += STENCIL_WEIGHT[k] * objective(&c, x, y, GB, l2, pred, &sc);
        scale = fmax(scale, sc);
      }
      c.theta[i] = theta[i];
      double fd = acc / FD_H;
      double atol = 1e-4 + (110.0 / 60.0) * 16.0 * ldexp(scale, -24) / FD_H;
      worst = fmax(worst, fabs(g[i] - fd) / (atol + 3e-3 * fmax(fabs(g[i]), fabs(fd))));
      checks++;
      snprintf(what, sizeof what, "d(mse + l2|theta|^2)/dtheta[%d] LN=%d", i, ln);
      CHECK_CLOSE(g[i], fd, 3e-3, atol, what);
      // The l2 term alone: g(l2) - g(0) = 2 l2 theta, to float rounding of the sum (1e-6 rel).
      snprintf(what, sizeof what, "l2 term of dtheta[%d] LN=%d", i, ln);
      CHECK_NEAR(g[i] - g0[i], 2.0 * l2 * theta[i], 1e-6 * (fabs(g[i]) + fabs(g0[i])) + 1e-7, what);
    }
    free(theta), free(g), free(g0);
    critic_destroy(&c);
  }
  printf("critic gradient vs FD of mse + l2|theta|^2: %d partials, worst %.3f of tol\n", checks,
         worst);
}

// Linear critic v = w . x + b (no hidden layer), weights set by hand: the gradient is
// (2/B) sum_b e_b [x_b, 1] + 2 l2 theta in closed form (1e-6 relative: float sums of 4 terms).
// With max_grad_norm below |g| it is scaled to max_norm / (|g| + 1e-6) (adam.h, as PyTorch),
// and the first Adam step moves each parameter by lr g_i / (|g_i| + eps) (m_hat = g, v_hat = g^2).
static void test_linear_critic_closed_form(void) {
  critic_config_t cfg = make_config(2, 0, NULL, MLP_ACT_TANH, 0, 1e-2f);
  rng_t rng;
  rng_seed(&rng, 3);
  critic_t c;
  CHECK(critic_create(&c, &cfg, 4, &rng) == 0, "create: %s", err_message());
  CHECK(c.n_params == 3, "linear critic has %d params", c.n_params);
  critic_destroy(&c);
  const float theta[3] = {0.5f, -1.0f, 0.25f};  // w0, w1, b (mlp.h layout: W then b)
  const float x[4 * 2] = {1.0f, 2.0f, -1.0f, 0.5f, 0.0f, -2.0f, 3.0f, 1.0f};
  const float y[4] = {0.0f, 1.0f, -1.0f, 2.0f};
  const double l2 = 0.1;
  double want[3] = {0}, g[3];
  for (int b = 0; b < 4; b++) {
    double e = theta[0] * x[2 * b] + theta[1] * x[2 * b + 1] + theta[2] - y[b];
    want[0] += 2.0 * e * x[2 * b] / 4;
    want[1] += 2.0 * e * x[2 * b + 1] / 4;
    want[2] += 2.0 * e / 4;
  }
  for (int i = 0; i < 3; i++) want[i] += 2.0 * l2 * theta[i];
  fit_step_gradient(&cfg, theta, x, y, 4, l2, 0.0, g);
  for (int i = 0; i < 3; i++) CHECK_CLOSE(g[i], want[i], 1e-6, 1e-7, "linear critic gradient");

  double norm = sqrt(want[0] * want[0] + want[1] * want[1] + want[2] * want[2]);
  CHECK(norm > 1.0, "gradient norm %g too small for the clipping check", norm);
  fit_step_gradient(&cfg, theta, x, y, 4, l2, 0.5, g);
  for (int i = 0; i < 3; i++)
    CHECK_CLOSE(g[i], want[i] * 0.5 / (norm + 1e-6), 1e-6, 1e-7, "clipped gradient");

  // The step itself.
  rng_seed(&rng, 3);
  CHECK(critic_create(&c, &cfg, 4, &rng) == 0, "create: %s", err_message());
  memcpy(c.theta, theta, sizeof theta);
  double mse = critic_fit_step(&c, x, y, 4, l2, 0.0);
  double want_mse = 0.0;
  for (int b = 0; b < 4; b++) {
    double e = theta[0] * x[2 * b] + theta[1] * x[2 * b + 1] + theta[2] - y[b];
    want_mse += e * e / 4;
  }
  CHECK_CLOSE(mse, want_mse, 1e-6, 1e-9, "returned MSE (without the l2 term)");
  for (int i = 0; i < 3; i++)
    CHECK_CLOSE(c.theta[i], theta[i] - 1e-2 * want[i] / (fabs(want[i]) + 1e-5), 1e-6, 1e-7,
                "first Adam step");
  critic_destroy(&c);
}

// ---------------------------------------------------------------------------------------------
// Save / load through a checkpoint file.

static int save_to(const critic_t *c, const char *path) {
  ckpt_t k;
  ckpt_init(&k);
  int rc = ckpt_begin(&k, "CRIT");
  rc = rc ? rc : critic_save(c, &k);
  rc = rc ? rc : ckpt_end(&k);
  rc = rc ? rc : ckpt_write_file(&k, path);
  ckpt_free(&k);
  return rc;
}

static int load_from(critic_t *c, const char *path, size_t *len) {
  ckpt_t k;
  ckpt_init(&k);
  int rc = ckpt_read_file(&k, path);
  rc = rc ? rc : ckpt_section(&k, "CRIT", len);
  rc = rc ? rc : critic_load(c, &k);
  rc = rc ? rc : ckpt_section_done(&k, "CRIT");
  ckpt_free(&k);
  return rc;
}

enum { RB = 16 };

static void test_save_load_round_trip(void) {
  static const int hidden[2] = {8, 8};
  critic_config_t cfg = make_config(3, 2, hidden, MLP_ACT_TANH, 1, 3e-3f);
  char dir[] = "/tmp/test_critic.XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");
  char path[128];
  snprintf(path, sizeof path, "%s/critic.ckpt", dir);

  rng_t ra, rb, rd;
  rng_seed(&ra, 100);
  rng_seed(&rb, 200);
  rng_seed(&rd, 300);
  critic_t a, b, ctl;
  CHECK(critic_create(&a, &cfg, RB, &ra) == 0, "create: %s", err_message());
  CHECK(critic_create(&b, &cfg, RB, &rb) == 0, "create: %s", err_message());
  CHECK(critic_create(&ctl, &cfg, RB, &rb) == 0, "create: %s", err_message());
  int n = a.n_params;
  float x[RB * 3], y[RB], pa[RB], pb[RB];
  fill_uniform(x, RB * 3, -1.0, 1.0, &rd);
  fill_uniform(y, RB, -1.0, 1.0, &rd);
  // a: 7 steps (non-trivial moments, t = 7); b: a different net with 2 steps of its own.
  for (int s = 0; s < 7; s++) critic_fit_step(&a, x, y, RB, 1e-3, 1.0);
  for (int s = 0; s < 2; s++) critic_fit_step(&b, x, y, RB, 1e-3, 1.0);
  CHECK(save_to(&a, path) == 0, "save: %s", err_message());
  size_t len = 0;
  CHECK(load_from(&b, path, &len) == 0, "load: %s", err_message());
  // Layout: theta, then Adam's t (u64), m, v.
  CHECK(len == sizeof(float) * n + 8 + 2 * sizeof(float) * n, "section length %zu", len);
  CHECK(!memcmp(a.theta, b.theta, sizeof(float) * n), "theta restored bit-exactly");
  CHECK(!memcmp(a.opt.m, b.opt.m, sizeof(float) * n), "Adam m restored");
  CHECK(!memcmp(a.opt.v, b.opt.v, sizeof(float) * n), "Adam v restored");
  CHECK(a.opt.t == b.opt.t && b.opt.t == 7, "Adam t %lld vs %lld", a.opt.t, b.opt.t);
  critic_predict(&a, x, RB, pa);
  critic_predict(&b, x, RB, pb);
  CHECK(!memcmp(pa, pb, sizeof pa), "predictions bit-identical after load");

  // The next step is bit-identical too; a control with the same theta but a fresh optimiser
  // takes a different step, so the comparison above does depend on the moments.
  memcpy(ctl.theta, a.theta, sizeof(float) * n);
  double ma = critic_fit_step(&a, x, y, RB, 1e-3, 1.0);
  double mb = critic_fit_step(&b, x, y, RB, 1e-3, 1.0);
  critic_fit_step(&ctl, x, y, RB, 1e-3, 1.0);
  CHECK(ma == mb, "returned MSE %.17g vs %.17g", ma, mb);
  CHECK(!memcmp(a.theta, b.theta, sizeof(float) * n), "next step bit-identical");
  CHECK(!memcmp(a.opt.m, b.opt.m, sizeof(float) * n), "next first moment bit-identical");
  CHECK(!memcmp(a.opt.v, b.opt.v, sizeof(float) * n), "next second moment bit-identical");
  CHECK(memcmp(a.theta, ctl.theta, sizeof(float) * n) != 0,
        "control: a fresh Adam takes the same step, so lost moments would go unnoticed");

  // A checkpoint of a differently sized critic is refused by the section length check.
  critic_config_t other = cfg;
  other.hidden[1] = 9;
  critic_t o;
  CHECK(critic_create(&o, &other, RB, &rd) == 0, "create: %s", err_message());
  CHECK(load_from(&o, path, NULL) == ERR_INPUT, "size mismatch accepted");
  critic_destroy(&o);

  critic_destroy(&a);
  critic_destroy(&b);
  critic_destroy(&ctl);
  unlink(path);
  rmdir(dir);
}

// ---------------------------------------------------------------------------------------------
// sa_window: a ring of the most recent values (the J_c estimate of Lagrangian methods).
// Values are small integers, so every mean below is exact in float/double.

static void test_window(void) {
  sa_window_t w;
  sa_window_init(&w, 0);
  CHECK(w.cap == 1, "cap 0 clamps to 1, got %d", w.cap);
  sa_window_init(&w, SA_WINDOW_MAX + 500);
  CHECK(w.cap == SA_WINDOW_MAX, "cap clamps to SA_WINDOW_MAX, got %d", w.cap);

  sa_window_init(&w, 4);
  CHECK(w.cap == 4 && w.n == 0, "init");
  CHECK(sa_window_mean(&w, -7.5) == -7.5, "empty window returns the fallback");
  const float a[3] = {1, 2, 3};
  sa_window_push(&w, a, 3);
  CHECK(w.n == 3 && sa_window_mean(&w, -7.5) == 2.0, "partial window: mean of 3 values");
  const float b[3] = {10, 20, 30};
  sa_window_push(&w, b, 3);  // holds 3, 10, 20, 30: 1 and 2 overwritten
  CHECK(w.n == 4, "n stays at capacity, got %d", w.n);
  CHECK(sa_window_mean(&w, -7.5) == 63.0 / 4.0, "mean of the last 4: %g", sa_window_mean(&w, -7.5));
  sa_window_push(&w, b, 0);
  CHECK(w.n == 4 && sa_window_mean(&w, 0) == 63.0 / 4.0, "pushing nothing changes nothing");

  // One push of many values = the same values one at a time.
  float seq[11];
  for (int i = 0; i < 11; i++) seq[i] = (float)(i * i);
  sa_window_t w1, w2;
  sa_window_init(&w1, 5);
  sa_window_init(&w2, 5);
  sa_window_push(&w1, seq, 11);
  for (int i = 0; i < 11; i++) sa_window_push(&w2, seq + i, 1);
  double want = (36.0 + 49 + 64 + 81 + 100) / 5.0;
  CHECK(sa_window_mean(&w1, 0) == want && sa_window_mean(&w2, 0) == want,
        "last 5 of 11: %g / %g, want %g", sa_window_mean(&w1, 0), sa_window_mean(&w2, 0), want);

  // Capacity 1: the latest value.
  sa_window_init(&w, 1);
  sa_window_push(&w, seq, 11);
  CHECK(w.n == 1 && sa_window_mean(&w, 0) == 100.0, "cap 1 keeps the latest");

  // Full-size ring wrapped almost three times: mean of 1976..2999 = 2487.5.
  static float many[3000];
  for (int i = 0; i < 3000; i++) many[i] = (float)i;
  sa_window_init(&w, SA_WINDOW_MAX);
  sa_window_push(&w, many, 3000);
  CHECK(w.n == SA_WINDOW_MAX && sa_window_mean(&w, 0) == 2487.5, "wrapped ring mean %g",
        sa_window_mean(&w, 0));

  // sa_mean_or.
  CHECK(sa_mean_or(a, 0, 4.25) == 4.25, "empty -> fallback");
  CHECK(sa_mean_or(a, 3, 4.25) == 2.0, "mean of 1,2,3");
}

// sa_linear_lr: lr (1 - done/total) clamped at 0, lr itself when total <= 0. Float results of
// a double product: compared to the float of the exact value.
static void test_linear_lr(void) {
  CHECK(sa_linear_lr(3e-4, 0, 1000) == 3e-4f, "start: full lr");
  CHECK(sa_linear_lr(3e-4, 250, 1000) == (float)(3e-4 * 0.75), "quarter way");
  CHECK(sa_linear_lr(3e-4, 500, 1000) == (float)(1.5e-4), "half way");
  CHECK(sa_linear_lr(3e-4, 1000, 1000) == 0.0f, "end: 0");
  CHECK(sa_linear_lr(3e-4, 1500, 1000) == 0.0f, "past the end: clamped at 0, not negative");
  CHECK(sa_linear_lr(3e-4, 10, 0) == 3e-4f, "total 0: constant");
  CHECK(sa_linear_lr(3e-4, 10, -5) == 3e-4f, "total < 0: constant");
  float prev = 1.0f;
  for (long long s = 0; s <= 1000; s += 50) {
    float lr = sa_linear_lr(1.0, s, 1000);
    CHECK(lr <= prev, "non-increasing at %lld", s);
    prev = lr;
  }
}

int main(void) {
  test_fit_decreases_mse();
  test_gradient_matches_finite_differences();
  test_linear_critic_closed_form();
  test_save_load_round_trip();
  test_window();
  test_linear_lr();
  return check_report("test_critic");
}
