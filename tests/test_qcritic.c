// test_qcritic: the joint-action cost critic of algorithms/actor_critic.c ("joint-action cost
// critic" section) and mappo_lag's cost_critic option (algorithms/mappo_lag.c).
// - ac_qc_loss: the parameter gradient against a fourth-order finite difference on a tiny
//   network, rows inside and outside the value-clip range, both branches of the max, Huber's
//   quadratic and linear parts; the weight argument scales it;
// - ac_qc_train: repeated updates regress Q onto a target that depends on the joint action;
// - ac_qc_baseline: a Q linear in agent i's action under a Gaussian policy of known mean and
//   std gives the closed-form expectation of the clipped action; the K-sample estimate converges
//   at the Monte-Carlo rate (fixed rng); a Q blind to agent i's action gives baseline = Q exactly
//   (zero counterfactual advantage); the inputs are untouched; reproducible from the rng;
// - ac_qc_hinge: 0 at and below the threshold, slope `scale` above; ac_qc_threshold by hand and
//   as the discounted sum of the allowed per-step rate;
// - ac_qc_save / ac_qc_load: bit-exact round trip (parameters, Adam moments, normaliser);
// - mappo_lag: the parameter table (existing keys and defaults unchanged, cost_critic defaults
//   to v); an update with the defaults is the released pipeline (ac_prepare, ac_update_actors,
//   ac_critics_update) to the byte, with no Q critic in the checkpoint; q and q_hinge update
//   with finite statistics and resume bit-exactly through the class's save/load.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/actor_critic.h"
#include "core/buffer.h"
#include "core/checkpoint.h"
#include "core/err.h"
#include "core/rng.h"
#include "tests/check.h"
#include "tests/test_ac_util.h"

// The AC_COMMON_PARAMS defaults, except hidden 16 (small and fast); tanh where a test needs a
// smooth network.
static ac_params_t make_params(const char *activation) {
  ac_params_t p;
  memset(&p, 0, sizeof p);
  p.lr = 5e-4;
  p.critic_lr = 5e-4;
  p.adam_eps = 1e-5;
  p.max_grad_norm = 10;
  p.clip = 0.2;
  p.value_clip = 0.2;
  p.huber_delta = 10;
  p.gamma = 0.99;
  p.lam = 0.95;
  p.std_init = 1;
  p.epochs = 2;
  p.minibatches = 2;
  p.hidden = 16;
  p.layers = 2;
  p.proper_time_limits = 1;
  p.value_norm = 1;
  snprintf(p.activation, sizeof p.activation, "%s", activation);
  snprintf(p.std, sizeof p.std, "sigmoid");
  return p;
}

// ---------------------------------------------------------------------------------------------
// ac_qc_loss against finite differences.
// Network: state 3, agents with 2 and 1 action dimensions (in_dim 6), 2 tanh layers of 5 (tanh:
// no ReLU kinks to straddle), input and hidden LayerNorm as built. Loss: ac_value_loss with
// eps 0.2, delta 1 on 6 rows placed relative to the base prediction v (below); the stencil moves
// v by a few 1e-2 at most, and every row is >= 0.15 from a kink (clip edge, branch switch of
// the max, |e| = delta). A row whose kind changes at a stencil point is counted and must not
// occur. Stencil and tolerances as tests/test_mlp.c (fourth order, h 1e-2; rtol 3e-3, atol
// 3e-4: float32 forward roundoff ~1e-6 / 12h plus truncation ~h^4; a wrong term is O(1)).

enum { FB = 6 };
static const double FD_H = 1e-2;
static const double STENCIL_OFFSET[4] = {2.0, 1.0, -1.0, -2.0};
static const double STENCIL_WEIGHT[4] = {-1.0 / 12.0, 8.0 / 12.0, -8.0 / 12.0, 1.0 / 12.0};
static const double GRAD_RTOL = 3e-3, GRAD_ATOL = 3e-4;

// Which branch of ac_value_loss a row is on: inside the clip range, which term of the max, and
// the Huber regions of both errors.
static int row_kind(double v, double v_old, double t, double eps, double delta) {
  double d = v - v_old;
  int inside = fabs(d) <= eps;
  double vc = inside ? v : v_old + (d < 0 ? -eps : eps);
  double e = t - v, ec = t - vc;
  int plain = ac_huber(e, delta) >= ac_huber(ec, delta);
  return inside | plain << 1 | (fabs(e) > delta) << 2 | (fabs(ec) > delta) << 3;
}

static void test_loss_finite_differences(void) {
  ac_params_t p = make_params("tanh");
  p.hidden = 5;
  const int act_dim[2] = {2, 1};
  rng_t init, d;
  rng_seed(&init, 3);
  rng_seed(&d, 4);
  ac_qcritic_t qc;
  if (ac_qc_create(&qc, &p, 3, 2, act_dim, 8, &init) != 0) {
    CHECK(0, "ac_qc_create: %s", err_message());
    return;
  }
  CHECK(qc.in_dim == 6 && qc.act_off[0] == 3 && qc.act_off[1] == 5, "layout in %d off %d %d",
        qc.in_dim, qc.act_off[0], qc.act_off[1]);
  const double eps = 0.2, delta = 1.0;
  float in[FB * 6], v[FB], v_old[FB], tgt[FB];
  tu_fill_uniform(in, FB * 6, -1.0, 1.0, &d);
  ac_qc_forward(&qc, qc.theta, in, FB, v);
  // (v_old - v, target - v) per row: inside/quadratic; inside/linear (|e| = 3 > delta);
  // outside below, plain branch (e -1.5 vs e_c -1.1); outside below, clipped branch (gradient
  // 0); outside above, plain branch in the linear region; inside, quadratic.
  const double off_old[FB] = {-0.05, 0.05, -0.6, -0.6, 0.6, 0.05};
  const double off_t[FB] = {0.5, -3.0, -1.5, 0.5, 2.0, -0.3};
  int kind0[FB];
  for (int b = 0; b < FB; b++) {
    v_old[b] = (float)(v[b] + off_old[b]);
    tgt[b] = (float)(v[b] + off_t[b]);
    kind0[b] = row_kind(v[b], v_old[b], tgt[b], eps, delta);
  }
  CHECK(kind0[0] == 3 && (kind0[1] & 1) && (kind0[1] & 4) && kind0[2] == 2 + 4 + 8 &&
            (kind0[3] & 3) == 0 && (kind0[4] & 3) == 2 && (kind0[4] & 4),
        "row kinds %d %d %d %d %d %d not the intended coverage", kind0[0], kind0[1], kind0[2],
        kind0[3], kind0[4], kind0[5]);
  int n = qc.net.n_params;
  float *grad = calloc(n, sizeof(float)), *grad_half = calloc(n, sizeof(float));
  float *theta = malloc(sizeof(float) * n);
  memcpy(theta, qc.theta, sizeof(float) * n);
  double L0 = ac_qc_loss(&qc, theta, in, v_old, tgt, FB, eps, delta, 1.0f, grad);
  float dv[FB];
  CHECK_NEAR(L0, ac_value_loss(v, v_old, tgt, FB, eps, delta, dv), 1e-9,
             "ac_qc_loss = ac_value_loss of the forward");
  ac_qc_loss(&qc, theta, in, v_old, tgt, FB, eps, delta, 0.5f, grad_half);
  int crossed = 0, nonzero = 0;
  double worst = 0;
  for (int i = 0; i < n; i++) {
    float p0 = theta[i];
    double acc = 0;
    for (int k = 0; k < 4; k++) {
      theta[i] = (float)(p0 + STENCIL_OFFSET[k] * FD_H);
      acc += STENCIL_WEIGHT[k] * ac_qc_loss(&qc, theta, in, v_old, tgt, FB, eps, delta, 0, NULL);
      for (int b = 0; b < FB; b++)
        crossed += row_kind(qc.out[b], v_old[b], tgt[b], eps, delta) != kind0[b];
    }
    theta[i] = p0;
    double fd = acc / FD_H;
    double bound = GRAD_ATOL + GRAD_RTOL * fmax(fabs(grad[i]), fabs(fd));
    worst = fmax(worst, fabs(grad[i] - fd) / bound);
    nonzero += fabs(fd) > 1e-3;
    CHECK_CLOSE(grad[i], fd, GRAD_RTOL, GRAD_ATOL, "ac_qc_loss dL/dtheta vs finite difference");
    CHECK_NEAR(grad_half[i], 0.5 * grad[i], 1e-7 * (1 + fabs(grad[i])), "weight 0.5 halves");
  }
  CHECK(crossed == 0, "%d stencil points changed a row's branch: margins too small", crossed);
  CHECK(nonzero > n / 2, "only %d of %d partials are non-zero", nonzero, n);
  printf("ac_qc_loss vs FD: %d parameters, worst error %.3f of tol\n", n, worst);
  free(grad);
  free(grad_half);
  free(theta);
  ac_qc_destroy(&qc);
}

// ---------------------------------------------------------------------------------------------
// ac_qc_train: regression onto a target that depends on the state and both agents' actions,
// target_n = 0.8 a^0_0 - 0.6 a^1_0 + 0.5 s_0 (normalised units), on 256 rows. 40 "updates",
// each refreshing the old predictions (the clip centre) as mappo_lag does, 2 epochs of 2
// minibatches, critic_lr 3e-3: the mean loss must fall below 10% of its first value. Inputs are
// built with ac_qc_input from actions in [-1.5, 1.5] (so clipping is exercised).
static void test_train_regresses(void) {
  enum { TN = 256, TS = 2 };
  ac_params_t p = make_params("relu");
  p.critic_lr = 3e-3;
  const int act_dim[2] = {2, 2};
  rng_t init, d, r;
  rng_seed(&init, 5);
  rng_seed(&d, 6);
  rng_seed(&r, 7);
  ac_qcritic_t qc;
  if (ac_qc_create(&qc, &p, TS, 2, act_dim, 64, &init) != 0) {
    CHECK(0, "ac_qc_create: %s", err_message());
    return;
  }
  float *in = malloc(sizeof(float) * TN * qc.in_dim), old[TN], tgt[TN];
  int perm[TN];
  for (int i = 0; i < TN; i++) {
    float s[TS], a[2 * 2];
    tu_fill_uniform(s, TS, -1, 1, &d);
    tu_fill_uniform(a, 4, -1.5, 1.5, &d);
    float *row = in + (size_t)i * qc.in_dim;
    ac_qc_input(&qc, s, a, 2, row);
    CHECK(row[TS] == fmaxf(-1, fminf(1, a[0])) && row[TS + 3] == fmaxf(-1, fminf(1, a[3])),
          "ac_qc_input: row %d does not hold the clipped actions", i);
    tgt[i] = 0.8f * row[TS] - 0.6f * row[TS + 2] + 0.5f * row[0];
  }
  double first = 0, last = 0;
  for (int u = 0; u < 40; u++) {
    for (int s = 0; s < TN; s += 64)
      ac_qc_forward(&qc, qc.theta, in + (size_t)s * qc.in_dim, 64, old + s);
    double l = ac_qc_train(&qc, in, old, tgt, TN, &p, &r, perm);
    if (u == 0) first = l;
    last = l;
  }
  CHECK(last < 0.1 * first, "Q regression: loss %g after 40 updates, first %g", last, first);
  printf("ac_qc_train: loss %.4g -> %.4g\n", first, last);
  free(in);
  ac_qc_destroy(&qc);
}

// ---------------------------------------------------------------------------------------------
// ac_qc_baseline on a hand example.
// Agents: 0 with 3 action dimensions, 1 (the one tested) with 2; state 2 (in_dim 7, agent 1's
// slice at [5, 7)). Policy of agent 1: the pol_t of a tiny net whose weights are 0 and whose
// output bias is the mean m = (0.9, -0.3), std parameter rho = (1, -0.5): sigma = 0.5
// sigmoid(rho) = (0.3655, 0.1888). Q(in) = c0 + w . in (a linear evaluator in double).
// Then baseline = c0 + sum_{j outside the slice} w_j in_j + sum_d w_{5+d} E[clip(X_d, -1, 1)],
// X_d ~ N(m_d, sigma_d^2), with the closed form
//   E[clip(X)] = -Phi(al) + (1 - Phi(be)) + m (Phi(be) - Phi(al)) + s (phi(al) - phi(be)),
//   al = (-1 - m)/s, be = (1 - m)/s.
// (For m = 0.9 this is 0.80, not 0.9: the estimate must clip the draws as the env does.)
// Monte-Carlo error of each row's K-sample mean: variance <= sum_d w_d^2 sigma_d^2 / K (clip is
// 1-Lipschitz, so Var clip(X) <= Var X). Over 64 rows the RMS error must stay below 3 times that
// bound for every K, and fall by at least 10x from K = 4 to K = 16384 (the bound falls 64x).

enum { BS = 2, BA0 = 3, BA1 = 2, BIN = BS + BA0 + BA1, BROWS = 64 };
static const double LIN_C0 = 0.25;
static const double LIN_W[BIN] = {0.5, -1.0, 0.3, 0.2, -0.4, 1.5, -2.0};

static void linear_q(void *ctx, const float *in, int n, float *q) {
  const double *w = ctx;
  for (int j = 0; j < n; j++) {
    double s = LIN_C0;
    for (int k = 0; k < BIN; k++) s += w[k] * in[(size_t)j * BIN + k];
    q[j] = (float)s;
  }
}

static double phi(double x) {
  return exp(-0.5 * x * x) / 2.5066282746310002;  // sqrt(2 pi)
}
static double Phi(double x) {
  return 0.5 * erfc(-x / sqrt(2.0));
}
static double clipped_mean(double m, double s) {
  double al = (-1 - m) / s, be = (1 - m) / s;
  return -Phi(al) + (1 - Phi(be)) + m * (Phi(be) - Phi(al)) + s * (phi(al) - phi(be));
}

// A Gaussian pol_t with the given means and std parameters (rows: BROWS, any observation).
static int make_known_policy(pol_t *pol, float **theta, const float *mean, const float *rho) {
  pol_config_t pc;
  memset(&pc, 0, sizeof pc);
  pc.obs_dim = 2;
  pc.act_dim = BA1;
  pc.n_hidden = 1;
  pc.hidden[0] = 4;
  pc.act = MLP_ACT_TANH;
  pc.hidden_gain = 1;
  pc.out_gain = 1;
  pc.std_param = POL_STD_SIGMOID;
  int rc = pol_create(pol, &pc, BROWS);
  if (rc) return rc;
  *theta = calloc(pol->n_params, sizeof(float));
  if (!*theta) return ERR_FAIL;
  int b_out = pol->net.b[pol->net.cfg.n_hidden];
  for (int k = 0; k < BA1; k++) {
    (*theta)[b_out + k] = mean[k];
    (*theta)[pol->n_net + k] = rho[k];
  }
  float obs[BROWS * 2];
  rng_t r;
  rng_seed(&r, 8);
  tu_fill_uniform(obs, BROWS * 2, -1, 1, &r);
  pol_forward(pol, *theta, obs, BROWS);
  return 0;
}

static void test_baseline_linear(void) {
  ac_params_t p = make_params("relu");
  const int act_dim[2] = {BA0, BA1};
  rng_t init, d;
  rng_seed(&init, 9);
  rng_seed(&d, 10);
  ac_qcritic_t qc;
  pol_t pol;
  float *ptheta = NULL;
  const float mean[BA1] = {0.9f, -0.3f}, rho[BA1] = {1.0f, -0.5f};
  if (ac_qc_create(&qc, &p, BS, 2, act_dim, BROWS, &init) != 0 ||
      make_known_policy(&pol, &ptheta, mean, rho) != 0) {
    CHECK(0, "setup: %s", err_message());
    return;
  }
  CHECK(qc.in_dim == BIN && qc.act_off[1] == BS + BA0, "layout: in %d, agent 1 at %d", qc.in_dim,
        qc.act_off[1]);
  for (int j = 0; j < BROWS; j++)
    for (int k = 0; k < BA1; k++)
      CHECK(pol.dist[j * BA1 + k] == mean[k], "policy mean row %d dim %d = %g", j, k,
            pol.dist[j * BA1 + k]);
  double sigma[BA1], ec[BA1], se2 = 0;
  for (int k = 0; k < BA1; k++) {
    sigma[k] = 0.5 / (1 + exp(-(double)rho[k]));
    CHECK_NEAR(exp(pol.log_std[k]), sigma[k], 1e-6, "policy std");
    ec[k] = clipped_mean(mean[k], sigma[k]);
    se2 += LIN_W[BS + BA0 + k] * LIN_W[BS + BA0 + k] * sigma[k] * sigma[k];
  }
  CHECK(fabs(ec[0] - mean[0]) > 0.05,
        "E[clip(X)] %g vs mean %g: the example does not test the "
        "clipping",
        ec[0], mean[0]);
  float in[BROWS * BIN], in_copy[BROWS * BIN], b[BROWS], b2[BROWS];
  tu_fill_uniform(in, BROWS * BIN, -1.5, 1.5, &d);
  memcpy(in_copy, in, sizeof in);
  double want[BROWS];
  for (int j = 0; j < BROWS; j++) {
    want[j] = LIN_C0;
    for (int k = 0; k < BS + BA0; k++) want[j] += LIN_W[k] * in[j * BIN + k];
    for (int k = 0; k < BA1; k++) want[j] += LIN_W[BS + BA0 + k] * ec[k];
  }
  const int Ks[4] = {4, 64, 1024, 16384};
  double rms[4];
  for (int t = 0; t < 4; t++) {
    rng_t r;
    rng_seed(&r, 100 + t);
    ac_qc_baseline(&qc, &pol, 1, in, BROWS, Ks[t], &r, linear_q, (void *)LIN_W, b);
    double s = 0;
    for (int j = 0; j < BROWS; j++) s += (b[j] - want[j]) * (b[j] - want[j]);
    rms[t] = sqrt(s / BROWS);
    double bound = sqrt(se2 / Ks[t]);
    CHECK(rms[t] <= 3 * bound, "K = %d: RMS error %g above 3 x the Monte-Carlo bound %g", Ks[t],
          rms[t], bound);
    printf("ac_qc_baseline: K = %5d  RMS error %.5f  (bound %.5f)\n", Ks[t], rms[t], bound);
  }
  CHECK(rms[3] < rms[0] / 10, "no convergence: RMS %g at K = 16384, %g at K = 4", rms[3], rms[0]);
  CHECK(!memcmp(in, in_copy, sizeof in), "ac_qc_baseline modified its input rows");
  // Reproducible from the rng state.
  rng_t r1, r2;
  rng_seed(&r1, 55);
  r2 = r1;
  ac_qc_baseline(&qc, &pol, 1, in, BROWS, 4, &r1, linear_q, (void *)LIN_W, b);
  ac_qc_baseline(&qc, &pol, 1, in, BROWS, 4, &r2, linear_q, (void *)LIN_W, b2);
  CHECK(!memcmp(b, b2, sizeof b), "same rng state, different baselines");
  // A Q that ignores agent 1's action: the baseline is Q itself, bit for bit (w . in with the
  // slice's terms exactly 0), so agent 1's counterfactual advantage is exactly 0.
  double w0[BIN];
  memcpy(w0, LIN_W, sizeof w0);
  w0[BS + BA0] = w0[BS + BA0 + 1] = 0;
  float q[BROWS];
  linear_q(w0, in, BROWS, q);
  ac_qc_baseline(&qc, &pol, 1, in, BROWS, 4, &r1, linear_q, w0, b);
  CHECK(!memcmp(q, b, sizeof q), "Q blind to agent 1: baseline differs from Q");
  free(ptheta);
  pol_destroy(&pol);
  ac_qc_destroy(&qc);
}

// ---------------------------------------------------------------------------------------------
// ac_qc_hinge and ac_qc_threshold.

// Pins max(0, q - threshold) * scale, threshold 1, scale 2: q = -1, 0.5, 1 (at the threshold)
// give exactly 0; q = 1.5, 2, 5 give 1, 2, 8 (linear: slope 2 between any two of them).
static void test_hinge(void) {
  const float q[6] = {-1, 0.5f, 1, 1.5f, 2, 5};
  const double want[6] = {0, 0, 0, 1, 2, 8};
  float out[6];
  ac_qc_hinge(q, 6, 1.0, 2.0, out);
  for (int i = 0; i < 3; i++)
    CHECK(out[i] == 0.0f, "hinge at q = %g is %g, want exactly 0", q[i], out[i]);
  for (int i = 3; i < 6; i++) CHECK_NEAR(out[i], want[i], 1e-6, "hinge above the threshold");
  CHECK_NEAR((out[5] - out[3]) / (q[5] - q[3]), 2.0, 1e-6, "hinge slope above the threshold");
}

// Pins the threshold conversion for d = 25, T = 200, gamma = 0.99 (drone_swarm_point defaults):
// rate 0.125 per step; bootstrapped truncations: 0.125 / 0.01 = 12.5; episode-start value:
// 12.5 (1 - 0.99^200) = 10.8252; the latter equals the discounted sum of 0.125 over 200 steps.
static void test_threshold(void) {
  CHECK_NEAR(ac_qc_threshold(25, 200, 0.99, 1), 12.5, 1e-9, "threshold, proper_time_limits");
  double fin = 12.5 * (1 - pow(0.99, 200));
  CHECK_NEAR(ac_qc_threshold(25, 200, 0.99, 0), fin, 1e-9, "threshold, truncation terminal");
  double s = 0;
  for (int t = 0; t < 200; t++) s += pow(0.99, t) * 0.125;
  CHECK_NEAR(ac_qc_threshold(25, 200, 0.99, 0), s, 1e-9, "threshold = discounted rate sum");
}

// ---------------------------------------------------------------------------------------------
// ac_qc_save / ac_qc_load.

static int qc_bytes(const ac_qcritic_t *qc, ckpt_t *k) {
  ckpt_init(k);
  int rc = ckpt_begin(k, "QCRT");
  if (!rc) rc = ac_qc_save(qc, k);
  if (!rc) rc = ckpt_end(k);
  return rc;
}

// Pins: after a few training steps (Adam moments and the normaliser away from their initial
// values), save -> load into a differently seeded critic gives identical parameters, identical
// re-saved bytes, and one more identical training step on both keeps them identical.
static void test_save_load(void) {
  enum { SN = 32 };
  ac_params_t p = make_params("relu");
  const int act_dim[2] = {2, 1};
  rng_t i1, i2, d;
  rng_seed(&i1, 11);
  rng_seed(&i2, 12);
  rng_seed(&d, 13);
  ac_qcritic_t a, b;
  if (ac_qc_create(&a, &p, 3, 2, act_dim, 16, &i1) != 0 ||
      ac_qc_create(&b, &p, 3, 2, act_dim, 16, &i2) != 0) {
    CHECK(0, "ac_qc_create: %s", err_message());
    return;
  }
  float in[SN * 6], old[SN], tgt[SN];
  int perm[SN];
  tu_fill_uniform(in, SN * 6, -1, 1, &d);
  tu_fill_uniform(old, SN, -1, 1, &d);
  tu_fill_uniform(tgt, SN, 0, 5, &d);
  norm_ema_update(&a.norm, tgt, SN);
  rng_t r;
  rng_seed(&r, 14);
  ac_qc_train(&a, in, old, tgt, SN, &p, &r, perm);
  CHECK(memcmp(a.theta, b.theta, sizeof(float) * a.net.n_params) != 0,
        "differently seeded critics are equal: the load would prove nothing");
  ckpt_t k1, k2;
  CHECK(qc_bytes(&a, &k1) == 0, "ac_qc_save: %s", err_message());
  k1.pos = 0;
  int rc = ckpt_section(&k1, "QCRT", NULL);
  if (!rc) rc = ac_qc_load(&b, &k1);
  if (!rc) rc = ckpt_section_done(&k1, "QCRT");
  CHECK(rc == 0, "ac_qc_load: %s", err_message());
  CHECK(!memcmp(a.theta, b.theta, sizeof(float) * a.net.n_params), "parameters differ after load");
  CHECK(!memcmp(&a.norm, &b.norm, sizeof a.norm), "normaliser differs after load");
  CHECK(qc_bytes(&b, &k2) == 0 && k1.len == k2.len && !memcmp(k1.data, k2.data, k1.len),
        "re-saved Q critic differs");
  ckpt_free(&k2);
  rng_t r1, r2;
  rng_seed(&r1, 15);
  r2 = r1;
  ac_qc_train(&a, in, old, tgt, SN, &p, &r1, perm);
  ac_qc_train(&b, in, old, tgt, SN, &p, &r2, perm);
  ckpt_free(&k1);
  CHECK(qc_bytes(&a, &k1) == 0 && qc_bytes(&b, &k2) == 0 && k1.len == k2.len &&
            !memcmp(k1.data, k2.data, k1.len),
        "after one more training step: source and loaded copy differ");
  ckpt_free(&k1);
  ckpt_free(&k2);
  ac_qc_destroy(&a);
  ac_qc_destroy(&b);
}

// ---------------------------------------------------------------------------------------------
// mappo_lag through its class.

// Checkpoint length of the v instance with the same overrides (cost_critic=v appended: the last
// override wins).
static size_t v_checkpoint_len(const algo_class_t *cls, const env_spec_t *spec,
                               const algo_run_info_t *run, const char *const *overrides) {
  const char *ov[8];
  int n = 0;
  while (overrides[n] && n < 6) {
    ov[n] = overrides[n];
    n++;
  }
  ov[n++] = "algo.cost_critic=v";
  ov[n] = NULL;
  void *params = tu_params(cls, ov), *algo = NULL;
  size_t len = 0;
  if (params && cls->create(spec, params, run, &algo) == 0) {
    ckpt_t k;
    if (tu_class_bytes(cls, algo, &k) == 0) len = k.len;
    ckpt_free(&k);
    cls->destroy(algo);
  }
  free(params);
  return len;
}

// Bytes ac_qc_save writes for the test spec's Q critic under these parameters.
static size_t q_checkpoint_len(const ac_params_t *p) {
  const int ad[TU_NA] = {TU_ACT, TU_ACT};
  rng_t init;
  rng_seed(&init, 1);
  ac_qcritic_t qc;
  ckpt_t k;
  ckpt_init(&k);
  size_t len = 0;
  if (ac_qc_create(&qc, p, TU_SHARE, TU_NA, ad, 8, &init) == 0 && ckpt_begin(&k, "QCRT") == 0) {
    size_t before = k.len;
    if (ac_qc_save(&qc, &k) == 0) len = k.len - before;
  }
  ac_qc_destroy(&qc);
  ckpt_free(&k);
  return len;
}

// Pins the parameter table: the keys and defaults of mappo_lag in their order (config.yaml
// writes them in this order; a v run's lines before cost_critic are those it had before the
// Q critics), cost_margin (added since, default 0: the learner aims at the limit itself), the
// three cost-critic keys at the end; cost_critic defaults to v.
static void test_param_table(void) {
  static const char *const want[][2] = {{"lr", "5e-4"},
                                        {"critic_lr", "5e-4"},
                                        {"adam_eps", "1e-5"},
                                        {"max_grad_norm", "10"},
                                        {"clip", "0.2"},
                                        {"value_clip", "0.2"},
                                        {"huber_delta", "10"},
                                        {"entropy_coef", "0"},
                                        {"gamma", "0.99"},
                                        {"lam", "0.95"},
                                        {"std_init", "1"},
                                        {"epochs", "5"},
                                        {"minibatches", "1"},
                                        {"hidden", "64"},
                                        {"layers", "2"},
                                        {"share_params", "false"},
                                        {"proper_time_limits", "true"},
                                        {"value_norm", "true"},
                                        {"activation", "relu"},
                                        {"std", "sigmoid"},
                                        {"lambda_init", "0.78"},
                                        {"lambda_lr", "0.05"},
                                        {"lambda_cap", "0"},
                                        {"lambda_update", "gradient"},
                                        {"pid_kp", "0.1"},
                                        {"pid_ki", "0.01"},
                                        {"pid_kd", "0.1"},
                                        {"cost_margin", "0"},
                                        {"sequential", "true"},
                                        {"constraint_scale", "one_minus_gamma"},
                                        {"cost_critic", "v"},
                                        {"cf_samples", "4"},
                                        {"hinge_threshold", "-1"}};
  const int n_want = (int)(sizeof want / sizeof want[0]);
  const algo_class_t *cls = algo_find("mappo_lag");
  if (!cls) {
    CHECK(0, "mappo_lag not registered");
    return;
  }
  CHECK(cls->n_params == n_want, "mappo_lag has %d parameters, want %d", cls->n_params, n_want);
  for (int i = 0; i < n_want && i < cls->n_params; i++) {
    CHECK(!strcmp(cls->params[i].key, want[i][0]), "parameter %d is %s, want %s", i,
          cls->params[i].key, want[i][0]);
    CHECK(!strcmp(cls->params[i].def, want[i][1]), "%s defaults to %s, want %s", want[i][0],
          cls->params[i].def, want[i][1]);
  }
  const cfg_param_t *cc = &cls->params[n_want - 3];
  CHECK(cc->choices && !strcmp(cc->choices, "v|q|q_hinge"), "cost_critic choices %s",
        cc->choices ? cc->choices : "(none)");
  void *params = tu_params(cls, NULL);
  char text[64] = "";
  if (params) cfg_format_value(cc, params, text, sizeof text);
  CHECK(!strcmp(text, "v"), "resolved default cost_critic is '%s'", text);
  free(params);
}

// Pins "v is the released algorithm": one update of the class with default parameters (hidden
// 16 for speed) equals, byte for byte, the pipeline mappo_lag had before cost_critic existed:
// J_c from the episodes, lambda_i 0.78, constraint term (1 - gamma)(J_c - d), ac_prepare,
// ac_update_actors (sequential, with the multipliers), ac_critics_update; and its checkpoint is
// exactly ac_save + lambda[ENV_MAX_AGENTS] + J_c (no Q critic).
static void test_v_is_released(void) {
  const algo_class_t *cls = algo_find("mappo_lag");
  const char *const ov[] = {"algo.hidden=16", NULL};
  void *params = cls ? tu_params(cls, ov) : NULL;
  if (!params) {
    CHECK(0, "params: %s", err_message());
    return;
  }
  env_spec_t spec = tu_spec("test_qcritic");
  algo_run_info_t run = {21, TU_RT, TU_RE, 1000, 1.5};
  void *algo = NULL;
  ac_t ref;
  ac_params_t ap = *(const ac_params_t *)params;  // ml_params_t begins with ac_params_t
  if (cls->create(&spec, params, &run, &algo) != 0 ||
      ac_create(&ref, "mappo_lag", &spec, &ap, &run, 1) != 0) {
    CHECK(0, "create: %s", err_message());
    free(params);
    return;
  }
  buf_t b1, b2;
  if (tu_fill_rollout(cls, algo, &b1, 31) != 0 || tu_fill_rollout(cls, algo, &b2, 31) != 0) {
    CHECK(0, "tu_fill_rollout: %s", err_message());
    return;
  }
  const float ep_cost[1] = {3}, ep_ret[1] = {1}, ep_len[1] = {4};
  algo_rollout_info_t info = {0, TU_RT * TU_RE, 1, ep_ret, ep_cost, ep_len, NULL};
  rng_t u1, u2;
  rng_stream(&u1, 21, "update", 0);
  u2 = u1;
  double stats[ALGO_MAX_STATS];
  CHECK(cls->update(algo, &b1, &info, &u1, stats) == 0, "update: %s", err_message());

  float lambda[ENV_MAX_AGENTS];
  for (int a = 0; a < ENV_MAX_AGENTS; a++) lambda[a] = 0.78f;
  double jc = 3.0;
  ac_lagrange_t lags[ENV_MAX_AGENTS];
  for (int a = 0; a < TU_NA; a++) {
    lags[a].lambda = &lambda[a];
    lags[a].lr = 0.05;
    lags[a].constraint_term = (1 - 0.99) * (jc - run.cost_limit);
    lags[a].cap = 0.0;
  }
  ac_prepare(&ref, &b2);
  ac_actor_stats_t st;
  ac_update_actors(&ref, &b2, 1, lags, &u2, &st);
  double lv, lc;
  ac_critics_update(&ref, &b2, &u2, &lv, &lc);
  ckpt_t k1, k2;
  ckpt_init(&k2);
  int rc = tu_class_bytes(cls, algo, &k1);
  if (!rc) rc = ckpt_begin(&k2, "ALGO");
  if (!rc) rc = ac_save(&ref, &k2);
  if (!rc) rc = ckpt_put(&k2, lambda, sizeof lambda);
  if (!rc) rc = ckpt_put_f64(&k2, jc);
  if (!rc) rc = ckpt_end(&k2);
  CHECK(rc == 0, "save: %s", err_message());
  CHECK(k1.len == k2.len && !memcmp(k1.data, k2.data, k1.len),
        "cost_critic v update differs from the released pipeline (%zu vs %zu bytes)", k1.len,
        k2.len);
  double lambda_mean = ((double)lambda[0] + lambda[1]) / 2;
  CHECK(stats[0] == lambda_mean && stats[2] == jc && stats[5] == lc,
        "statistics: lambda %g (want %g), jc %g, cost_value_loss %g (want %g)", stats[0],
        lambda_mean, stats[2], stats[5], lc);
  ckpt_free(&k1);
  ckpt_free(&k2);
  buf_destroy(&b1);
  buf_destroy(&b2);
  ac_destroy(&ref);
  cls->destroy(algo);
  free(params);
}

// Pins, for cost_critic q (cf_samples 3) and q_hinge, sequential and shared-parameter orders:
// three updates on fresh rollouts give finite statistics; the checkpoint holds the Q critic
// (longer than v's by at least its parameters and two Adam moment vectors); save -> load into
// an instance created with another seed -> identical re-saved bytes, and one more update on
// both (same buffer, same rng) keeps them identical (exact resume). A hinge_threshold between
// -1 and 0 is refused at create (ERR_INPUT).
static void test_q_modes(void) {
  const algo_class_t *cls = algo_find("mappo_lag");
  if (!cls) return;
  static const char *const cases[][4] = {
      {"algo.hidden=16", "algo.cost_critic=q", "algo.cf_samples=3", NULL},
      {"algo.hidden=16", "algo.cost_critic=q_hinge", "algo.hinge_threshold=0.05", NULL},
      {"algo.hidden=16", "algo.cost_critic=q", "algo.share_params=true", NULL},
      {"algo.hidden=16", "algo.cost_critic=q_hinge", "algo.sequential=false", NULL}};
  env_spec_t spec = tu_spec("test_qcritic");
  algo_run_info_t run = {41, TU_RT, TU_RE, 1000, 1.5}, run2 = {42, TU_RT, TU_RE, 1000, 1.5};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    size_t v_len = v_checkpoint_len(cls, &spec, &run, cases[c]);
    CHECK(v_len > 0, "case %zu: v instance: %s", c, err_message());
    void *params = tu_params(cls, cases[c]);
    void *a = NULL, *b = NULL;
    if (!params || cls->create(&spec, params, &run, &a) != 0 ||
        cls->create(&spec, params, &run2, &b) != 0) {
      CHECK(0, "case %zu (%s): create: %s", c, cases[c][1], err_message());
      free(params);
      continue;
    }
    const float ep_cost[2] = {4, 0}, ep_ret[2] = {1, 2}, ep_len[2] = {4, 8};
    algo_rollout_info_t info = {0, TU_RT * TU_RE, 2, ep_ret, ep_cost, ep_len, NULL};
    rng_t u;
    rng_stream(&u, 41, "update", 0);
    double stats[ALGO_MAX_STATS];
    int finite = 1;
    for (int it = 0; it < 3; it++) {
      buf_t buf;
      if (tu_fill_rollout(cls, a, &buf, 50 + it) != 0) break;
      info.update = it;
      CHECK(cls->update(a, &buf, &info, &u, stats) == 0, "case %zu update %d: %s", c, it,
            err_message());
      for (int s = 0; s < cls->n_stats; s++) finite &= isfinite(stats[s]);
      buf_destroy(&buf);
    }
    CHECK(finite, "case %zu (%s): non-finite statistics", c, cases[c][1]);
    ckpt_t k1, k2;
    CHECK(tu_class_bytes(cls, a, &k1) == 0, "save: %s", err_message());
    size_t q_len = q_checkpoint_len((const ac_params_t *)params);
    CHECK(q_len > 0 && k1.len == v_len + q_len,
          "case %zu: checkpoint %zu bytes, want v's %zu + the Q critic's %zu", c, k1.len, v_len,
          q_len);
    CHECK(tu_class_load(cls, b, &k1) == 0, "case %zu load: %s", c, err_message());
    CHECK(tu_class_bytes(cls, b, &k2) == 0 && k1.len == k2.len && !memcmp(k1.data, k2.data, k1.len),
          "case %zu: re-saved checkpoint differs", c);
    ckpt_free(&k1);
    ckpt_free(&k2);
    buf_t buf;
    if (tu_fill_rollout(cls, a, &buf, 60) == 0) {
      rng_t u1 = u, u2 = u;
      double s1[ALGO_MAX_STATS], s2[ALGO_MAX_STATS];
      buf_t buf2;
      tu_fill_rollout(cls, a, &buf2, 60);
      cls->update(a, &buf, &info, &u1, s1);
      cls->update(b, &buf2, &info, &u2, s2);
      CHECK(!memcmp(s1, s2, sizeof(double) * cls->n_stats), "case %zu: resumed stats differ", c);
      CHECK(tu_class_bytes(cls, a, &k1) == 0 && tu_class_bytes(cls, b, &k2) == 0 && k1.len == k2.len &&
                !memcmp(k1.data, k2.data, k1.len),
            "case %zu: after one more update, source and loaded copy differ", c);
      ckpt_free(&k1);
      ckpt_free(&k2);
      buf_destroy(&buf);
      buf_destroy(&buf2);
    }
    cls->destroy(a);
    cls->destroy(b);
    free(params);
  }
  const char *const bad[] = {"algo.cost_critic=q_hinge", "algo.hinge_threshold=-0.5", NULL};
  void *params = tu_params(cls, bad);
  void *a = NULL;
  int rc = params ? cls->create(&spec, params, &run, &a) : 0;
  CHECK(rc == ERR_INPUT && a == NULL, "hinge_threshold -0.5 accepted (rc %d)", rc);
  free(params);
}

int main(void) {
  test_loss_finite_differences();
  test_train_regresses();
  test_baseline_linear();
  test_hinge();
  test_threshold();
  test_save_load();
  test_param_table();
  test_v_is_released();
  test_q_modes();
  return check_report("test_qcritic");
}
