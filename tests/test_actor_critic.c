// test_actor_critic: algorithms/actor_critic.c, the multi-agent on-policy machinery.
// Pure functions (the losses of actor_critic.h):
// - ac_surrogate: dlogp against central finite differences of the returned loss (random rows,
//   M > 0, advantages of both signs, ratios inside and outside the clip range), M = NULL is
//   M = 1, the ratio array and the clipped count on a hand case, a hand-computed loss;
// - ac_value_loss: dv against finite differences (errors inside and beyond +-delta, v inside
//   and outside the clip range, both branches of the max), the symmetric Huber below -delta
//   (the released code dropped that loss), hand values; ac_huber hand values and continuity;
// - ac_lagrangian_advantage by hand and the linearity of the surrogate gradient in it;
// - ac_lambda_grad by hand and as the lambda-derivative of the Lagrangian (sign pinned);
// - ac_m_update: the sequential-update factor M is the product of joint ratios;
// - ac_agent_order: reproducible from the rng stream, a permutation, every agent first.
// The actor-critic state (ac_create on a hand-made 2-agent spec):
// - save -> load into a differently seeded copy: identical acting and identical re-saved bytes;
// - acting deterministic given the rng, team critic values equal across agents;
// - ac_actor_logp after ac_gather_agent gives back the log-probs ac_algo_act reported, and the
//   selected rows carry the standardised team advantages.
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

static void fill_uniform(float *x, int n, double lo, double hi, rng_t *rng) {
  for (int i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * rng_uniform(rng));
}

// ---------------------------------------------------------------------------------------------
// Finite differences on float functions.
// Central difference in double with step FD_H on a float input: the perturbed inputs are
// rounded to float, so the quotient divides by the step actually taken (xp - xm), not 2h.
// Rounding: the loss is a mean of B float terms; a float accumulation of B terms of total
// magnitude S errs by at most ~B 2^-24 S, divided by the step 2h. The absolute floor is
// FD_ATOL + that bound (~7e-4 for the cases below); FD_RTOL 1e-2 relative on top. A wrong or
// missing factor (r, M, 1/B, the sign, a branch of min/max) gives an O(0.1..1) relative error.
// Test points keep FD_MARGIN (5h) away from every kink so that no difference straddles one.

static const double FD_H = 1e-3;
static const double FD_MARGIN = 5e-3;
static const double FD_RTOL = 1e-2, FD_ATOL = 1e-4;

static double fd_atol(int B, double abs_sum) {
  return FD_ATOL + B * ldexp(1.0, -24) * abs_sum / (2.0 * FD_H);
}

// ---------------------------------------------------------------------------------------------
// ac_surrogate.

enum { SB = 8, S_TRIALS = 40 };

// Pins: dlogp[b] = dL/dlogp_b for L = -(1/B) sum M min(r A, clip(r) A), on random rows with
// M in [e^-1, e], A ~ N(0, 1) and log r in [-0.6, 0.6] (r in [0.55, 1.82]: inside the clip range
// [0.8, 1.2] and outside on both sides), rows within FD_MARGIN of log(1 +- eps) redrawn. Every
// kind of row (inside; outside with the clipped term chosen, gradient 0; outside with the
// unclipped term chosen) must occur, so the check cannot silently lose coverage.
static void test_surrogate_finite_differences(void) {
  rng_t rng;
  rng_seed(&rng, 11);
  const double eps = 0.2;
  int n_inside = 0, n_clipped = 0, n_out_unclipped = 0, n_A_pos = 0, n_A_neg = 0;
  for (int trial = 0; trial < S_TRIALS; trial++) {
    float logp[SB], old[SB], adv[SB], M[SB], dlogp[SB], scratch[SB], ratio[SB];
    double abs_sum = 0.0;
    for (int b = 0; b < SB; b++) {
      double d;
      do d = -0.6 + 1.2 * rng_uniform(&rng);
      while (fabs(d - log(1 + eps)) < FD_MARGIN || fabs(d - log(1 - eps)) < FD_MARGIN);
      old[b] = (float)rng_normal(&rng);
      logp[b] = (float)(old[b] + d);
      adv[b] = (float)rng_normal(&rng);
      M[b] = (float)exp(-1.0 + 2.0 * rng_uniform(&rng));
      double r = exp((double)logp[b] - old[b]);
      abs_sum += M[b] * r * fabs(adv[b]);
      if (r > 1 - eps && r < 1 + eps) n_inside++;
      else if ((r > 1 + eps && adv[b] > 0) || (r < 1 - eps && adv[b] < 0)) n_clipped++;
      else n_out_unclipped++;
      n_A_pos += adv[b] > 0;
      n_A_neg += adv[b] < 0;
    }
    ac_surrogate(logp, old, adv, M, SB, eps, dlogp, ratio, NULL);
    double atol = fd_atol(SB, abs_sum / SB);
    for (int b = 0; b < SB; b++) {
      float x0 = logp[b];
      logp[b] = (float)(x0 + FD_H);
      double xp = logp[b];
      double fp = ac_surrogate(logp, old, adv, M, SB, eps, scratch, NULL, NULL);
      logp[b] = (float)(x0 - FD_H);
      double xm = logp[b];
      double fm = ac_surrogate(logp, old, adv, M, SB, eps, scratch, NULL, NULL);
      logp[b] = x0;
      double fd = (fp - fm) / (xp - xm);
      if (!CHECK_CLOSE(dlogp[b], fd, FD_RTOL, atol, "ac_surrogate dlogp vs finite difference"))
        fprintf(stderr, "  trial %d row %d: r %.6g A %.6g M %.6g\n", trial, b, ratio[b], adv[b],
                M[b]);
    }
  }
  CHECK(n_inside > 20 && n_clipped > 20 && n_out_unclipped > 20,
        "coverage: %d inside, %d clipped, %d outside-unclipped rows", n_inside, n_clipped,
        n_out_unclipped);
  CHECK(n_A_pos > 20 && n_A_neg > 20, "coverage: %d positive, %d negative advantages", n_A_pos,
        n_A_neg);
}

// Pins: M = NULL means M = 1 (same loss, gradient, ratios and count as an explicit all-ones M,
// to 1e-9 relative: multiplying by 1.0f is exact); ratio and clipped may be NULL.
static void test_surrogate_null_m(void) {
  rng_t rng;
  rng_seed(&rng, 12);
  enum { B = 16 };
  float logp[B], old[B], adv[B], ones[B], d1[B], d2[B], r1[B], r2[B], d3[B];
  fill_uniform(old, B, -2.0, 0.0, &rng);
  for (int b = 0; b < B; b++) {
    logp[b] = (float)(old[b] + (-0.6 + 1.2 * rng_uniform(&rng)));
    adv[b] = (float)rng_normal(&rng);
    ones[b] = 1.0f;
  }
  int c1 = -1, c2 = -2;
  double l1 = ac_surrogate(logp, old, adv, NULL, B, 0.2, d1, r1, &c1);
  double l2 = ac_surrogate(logp, old, adv, ones, B, 0.2, d2, r2, &c2);
  double l3 = ac_surrogate(logp, old, adv, NULL, B, 0.2, d3, NULL, NULL);
  CHECK_CLOSE(l1, l2, 1e-9, 0.0, "ac_surrogate loss, M = NULL vs M = 1");
  CHECK_CLOSE(l3, l2, 1e-9, 0.0, "ac_surrogate loss with ratio = clipped = NULL");
  CHECK(c1 == c2, "clipped count: M = NULL %d, M = 1 %d", c1, c2);
  for (int b = 0; b < B; b++) {
    CHECK_CLOSE(d1[b], d2[b], 1e-9, 0.0, "ac_surrogate dlogp, M = NULL vs M = 1");
    CHECK_CLOSE(d3[b], d2[b], 1e-9, 0.0, "ac_surrogate dlogp with ratio = clipped = NULL");
    CHECK_CLOSE(r1[b], r2[b], 1e-9, 0.0, "ac_surrogate ratio, M = NULL vs M = 1");
  }
}

// Pins the ratio array and the clipped count ("rows where the clipped term is active": the min
// picks clip(r) A, so the row's gradient is 0), eps = 0.2, M = NULL, logp_old = 0:
//   row 0: r = 1.1         A =  1   inside                       -> not counted, dlogp -1.1/4
//   row 1: r = e^0.5=1.65  A =  1   clip(r)A = 1.2 < rA          -> counted,     dlogp 0
//   row 2: r = e^0.5       A = -1   rA = -1.65 < clip(r)A = -1.2 -> not counted, dlogp +1.65/4
//   row 3: r = e^-0.5=0.61 A = -1   clip(r)A = -0.8 < rA = -0.61 -> counted,     dlogp 0
// clipped = 2 (a count of |r - 1| > eps would give 3).
static void test_surrogate_ratio_and_clipped(void) {
  const float old[4] = {0, 0, 0, 0};
  const float logp[4] = {(float)log(1.1), 0.5f, 0.5f, -0.5f};
  const float adv[4] = {1, 1, -1, -1};
  float dlogp[4], ratio[4];
  int clipped = -1;
  ac_surrogate(logp, old, adv, NULL, 4, 0.2, dlogp, ratio, &clipped);
  const double want_r[4] = {1.1, exp(0.5), exp(0.5), exp(-0.5)};
  for (int b = 0; b < 4; b++) CHECK_CLOSE(ratio[b], want_r[b], 1e-6, 0.0, "ac_surrogate ratio");
  CHECK(clipped == 2, "clipped count %d, want 2 (rows 1 and 3)", clipped);
  CHECK_NEAR(dlogp[0], -1.1 / 4, 1e-6, "dlogp row 0 (inside)");
  CHECK(dlogp[1] == 0.0f, "dlogp row 1 (clipped term active) = %g, want exactly 0", dlogp[1]);
  CHECK_NEAR(dlogp[2], exp(0.5) / 4, 1e-6, "dlogp row 2 (outside, unclipped term chosen)");
  CHECK(dlogp[3] == 0.0f, "dlogp row 3 (clipped term active) = %g, want exactly 0", dlogp[3]);
}

// Pins the loss value by hand, eps = 0.2, logp_old = 0, r = (1.1, 1.5, 0.5), A = (2, 1, -1),
// M = (1, 2, 0.5):
//   row 0: min(1.1*2, clip(1.1)*2)   = min(2.2, 2.2)   =  2.2, times M 1   ->  2.2
//   row 1: min(1.5*1, 1.2*1)         = 1.2,                   times M 2   ->  2.4
//   row 2: min(0.5*-1, 0.8*-1)       = min(-0.5, -0.8) = -0.8, times 0.5  -> -0.4
//   L = -(2.2 + 2.4 - 0.4) / 3 = -1.4; dlogp = (-1*2*1.1/3, 0, 0) = (-0.733333, 0, 0); 2 clipped.
static void test_surrogate_hand(void) {
  const float old[3] = {0, 0, 0};
  const float logp[3] = {(float)log(1.1), (float)log(1.5), (float)log(0.5)};
  const float adv[3] = {2, 1, -1}, M[3] = {1, 2, 0.5f};
  float dlogp[3], ratio[3];
  int clipped = -1;
  double L = ac_surrogate(logp, old, adv, M, 3, 0.2, dlogp, ratio, &clipped);
  CHECK_NEAR(L, -1.4, 1e-6, "ac_surrogate hand loss");
  CHECK_NEAR(dlogp[0], -2.2 / 3, 1e-6, "ac_surrogate hand dlogp[0]");
  CHECK_NEAR(dlogp[1], 0.0, 0.0, "ac_surrogate hand dlogp[1] (clipped)");
  CHECK_NEAR(dlogp[2], 0.0, 0.0, "ac_surrogate hand dlogp[2] (clipped)");
  CHECK(clipped == 2, "hand clipped count %d, want 2", clipped);
}

// ---------------------------------------------------------------------------------------------
// ac_value_loss and ac_huber.

enum { VB = 8, V_TRIALS = 40 };

// Pins: dv[b] = dL/dv_b of L = (1/B) sum max(H(t - v), H(t - v_c)), v_c = v_old +
// clip(v - v_old, -eps, eps), eps = 0.2, delta = 1, on random rows: v - v_old in [-0.6, 0.6]
// (inside and outside the clip range), t - v ~ N(0, 2) (|e| below delta, above +delta and
// below -delta). Redrawn within FD_MARGIN of the kinks: |v - v_old| = eps (v_c switches) and,
// outside the range, t = (v + v_c)/2 (the max switches branch). Huber itself is C1 at
// |e| = delta, so that point needs no margin. Every kind of row must occur.
static void test_value_loss_finite_differences(void) {
  rng_t rng;
  rng_seed(&rng, 21);
  const double eps = 0.2, delta = 1.0;
  int n_small = 0, n_pos = 0, n_neg = 0, n_inside = 0, n_clip_branch = 0, n_plain_branch = 0;
  for (int trial = 0; trial < V_TRIALS; trial++) {
    float v[VB], v_old[VB], tgt[VB], dv[VB], scratch[VB];
    double abs_sum = 0.0;
    for (int b = 0; b < VB; b++) {
      for (;;) {
        v_old[b] = (float)rng_normal(&rng);
        v[b] = (float)(v_old[b] + (-0.6 + 1.2 * rng_uniform(&rng)));
        tgt[b] = (float)(v[b] + 2.0 * rng_normal(&rng));
        double dvo = (double)v[b] - v_old[b];
        if (fabs(fabs(dvo) - eps) < FD_MARGIN) continue;
        if (fabs(dvo) > eps) {
          double vc = v_old[b] + (dvo > 0 ? eps : -eps);
          if (fabs(tgt[b] - 0.5 * (v[b] + vc)) < FD_MARGIN) continue;
        }
        break;
      }
      double e = (double)tgt[b] - v[b], dvo = (double)v[b] - v_old[b];
      double vc = fabs(dvo) <= eps ? v[b] : v_old[b] + (dvo > 0 ? eps : -eps);
      abs_sum += fmax(ac_huber(e, delta), ac_huber(tgt[b] - vc, delta));
      n_small += fabs(e) < delta;
      n_pos += e > delta;
      n_neg += e < -delta;
      if (fabs(dvo) < eps) n_inside++;
      else if (fabs(tgt[b] - vc) > fabs(e)) n_clip_branch++;
      else n_plain_branch++;
    }
    ac_value_loss(v, v_old, tgt, VB, eps, delta, dv);
    double atol = fd_atol(VB, abs_sum / VB);
    for (int b = 0; b < VB; b++) {
      float x0 = v[b];
      v[b] = (float)(x0 + FD_H);
      double xp = v[b];
      double fp = ac_value_loss(v, v_old, tgt, VB, eps, delta, scratch);
      v[b] = (float)(x0 - FD_H);
      double xm = v[b];
      double fm = ac_value_loss(v, v_old, tgt, VB, eps, delta, scratch);
      v[b] = x0;
      double fd = (fp - fm) / (xp - xm);
      if (!CHECK_CLOSE(dv[b], fd, FD_RTOL, atol, "ac_value_loss dv vs finite difference"))
        fprintf(stderr, "  trial %d row %d: v %.6g v_old %.6g target %.6g\n", trial, b, v[b],
                v_old[b], tgt[b]);
    }
  }
  CHECK(n_small > 20 && n_pos > 20 && n_neg > 20,
        "coverage: %d |e| < delta, %d e > delta, %d e < -delta", n_small, n_pos, n_neg);
  CHECK(n_inside > 20 && n_clip_branch > 20 && n_plain_branch > 20,
        "coverage: %d inside clip, %d clipped branch, %d unclipped branch (outside)", n_inside,
        n_clip_branch, n_plain_branch);
}

// Pins the symmetric Huber inside ac_value_loss (one row, v = v_old = 0 so both branches are
// H(t), delta = 1, L = H(t), dv = -H'(t)):
//   t = -3: L = 1*(3 - 1/2) = 2.5 (the released code gave 0 here), dv = -(-1) = +1
//   t = +3: L = 2.5, dv = -1;  t = 0.5: L = 0.125, dv = -0.5;  t = -0.5: L = 0.125, dv = 0.5
// and a clipped two-row case (eps 0.2, delta 10, v_old = 0, v = 0.5 so v_c = 0.2):
//   row 0: t = 1: max(H(0.5), H(0.8)) = max(0.125, 0.32) = 0.32 (clipped branch, dv 0)
//   row 1: t = 0: max(H(-0.5), H(-0.2)) = max(0.125, 0.02) = 0.125 (plain, dv = -(-0.5)/2 = 0.25)
//   L = (0.32 + 0.125)/2 = 0.2225.
static void test_value_loss_hand(void) {
  const float zero[1] = {0};
  const double t_in[4] = {-3, 3, 0.5, -0.5}, want_l[4] = {2.5, 2.5, 0.125, 0.125},
               want_dv[4] = {1, -1, -0.5, 0.5};
  for (int i = 0; i < 4; i++) {
    float t[1] = {(float)t_in[i]}, dv[1] = {99};
    double L = ac_value_loss(zero, zero, t, 1, 0.2, 1.0, dv);
    char what[96];
    snprintf(what, sizeof what, "ac_value_loss, target %g, v = v_old = 0, delta 1", t_in[i]);
    CHECK_NEAR(L, want_l[i], 1e-6, what);
    snprintf(what, sizeof what, "ac_value_loss dv, target %g, v = v_old = 0, delta 1", t_in[i]);
    CHECK_NEAR(dv[0], want_dv[i], 1e-6, what);
  }
  const float v[2] = {0.5f, 0.5f}, v_old[2] = {0, 0}, t[2] = {1, 0};
  float dv[2];
  double L = ac_value_loss(v, v_old, t, 2, 0.2, 10.0, dv);
  CHECK_NEAR(L, 0.2225, 1e-6, "ac_value_loss clipped two-row case");
  CHECK_NEAR(dv[0], 0.0, 0.0, "ac_value_loss dv, clipped branch chosen");
  CHECK_NEAR(dv[1], 0.25, 1e-6, "ac_value_loss dv, unclipped branch chosen");
}

// Pins ac_huber: H(0.5; 1) = 0.125, H(-3; 1) = 1*(3 - 0.5) = 2.5, H(3; 1) = 2.5, H(0) = 0, and
// continuity of H and H' at |e| = delta (delta = 2: H(+-2) = 2, slope +-2 on both sides).
static void test_huber(void) {
  CHECK_NEAR(ac_huber(0.5, 1.0), 0.125, 1e-12, "huber(0.5; 1)");
  CHECK_NEAR(ac_huber(-3.0, 1.0), 2.5, 1e-12, "huber(-3; 1)");
  CHECK_NEAR(ac_huber(3.0, 1.0), 2.5, 1e-12, "huber(3; 1)");
  CHECK_NEAR(ac_huber(0.0, 1.0), 0.0, 0.0, "huber(0)");
  const double d = 2.0, s = 1e-9, h = 1e-4;
  for (int sign = -1; sign <= 1; sign += 2) {
    double at = sign * d;
    CHECK_NEAR(ac_huber(at, d), 2.0, 1e-12, "huber at |e| = delta");
    CHECK_NEAR(ac_huber(at - s, d), ac_huber(at + s, d), 1e-8, "huber continuous at |e| = delta");
    double left = (ac_huber(at, d) - ac_huber(at - h, d)) / h;
    double right = (ac_huber(at + h, d) - ac_huber(at, d)) / h;
    CHECK_NEAR(left, sign * d, 1e-3, "huber slope just inside |e| = delta");
    CHECK_NEAR(right, sign * d, 1e-3, "huber slope just outside |e| = delta");
  }
}

// ---------------------------------------------------------------------------------------------
// The Lagrangian pieces.

// Pins out = adv_r - lambda adv_c: lambda 0.5, adv_r (1, -2, 0.5), adv_c (0.5, 1, -2)
//   -> (1 - 0.25, -2 - 0.5, 0.5 + 1) = (0.75, -2.5, 1.5); lambda 0 -> adv_r.
static void test_lagrangian_advantage_hand(void) {
  const float ar[3] = {1, -2, 0.5f}, ac_[3] = {0.5f, 1, -2};
  const double want[3] = {0.75, -2.5, 1.5};
  float out[3];
  ac_lagrangian_advantage(ar, ac_, 0.5f, 3, out);
  for (int i = 0; i < 3; i++) CHECK_NEAR(out[i], want[i], 1e-7, "lagrangian advantage, lambda 0.5");
  ac_lagrangian_advantage(ar, ac_, 0.0f, 3, out);
  for (int i = 0; i < 3; i++) CHECK_NEAR(out[i], ar[i], 0.0, "lagrangian advantage, lambda 0");
}

// Pins the linearity the MAPPO-L actor step relies on: with every ratio inside the clip range,
// dlogp(A_r - lambda A_c) = dlogp(A_r) - lambda dlogp(A_c) (three ac_surrogate calls, random
// M > 0, lambda 0.7; log r in [-0.15, 0.15] is inside [log 0.8, log 1.2]). Tolerance: float
// rounding of terms of size ~1/B (1e-6 absolute).
static void test_lagrangian_linearity(void) {
  rng_t rng;
  rng_seed(&rng, 31);
  enum { B = 12 };
  const float lambda = 0.7f;
  float logp[B], old[B], ar[B], ac_[B], al[B], M[B], dr[B], dc[B], dl[B];
  for (int b = 0; b < B; b++) {
    old[b] = (float)rng_normal(&rng);
    logp[b] = (float)(old[b] + (-0.15 + 0.3 * rng_uniform(&rng)));
    ar[b] = (float)rng_normal(&rng);
    ac_[b] = (float)rng_normal(&rng);
    M[b] = (float)exp(-0.5 + rng_uniform(&rng));
  }
  ac_lagrangian_advantage(ar, ac_, lambda, B, al);
  int cr = -1, cc = -1, cl = -1;
  ac_surrogate(logp, old, ar, M, B, 0.2, dr, NULL, &cr);
  ac_surrogate(logp, old, ac_, M, B, 0.2, dc, NULL, &cc);
  ac_surrogate(logp, old, al, M, B, 0.2, dl, NULL, &cl);
  CHECK(cr == 0 && cc == 0 && cl == 0, "rows clipped (%d, %d, %d) although r is inside", cr, cc,
        cl);
  for (int b = 0; b < B; b++)
    CHECK_NEAR(dl[b], dr[b] - lambda * dc[b], 1e-6, "dlogp(A_r - lambda A_c) is linear");
}

// Pins ac_lambda_grad = constraint_term + mean(ratio * adv_c), by hand:
//   ratio (1, 1.5, 0.5), adv_c (2, -1, 4), term 0.3: mean = (2 - 1.5 + 2)/3 = 0.833333,
//   g = 1.133333.
// The sign convention (ascent on lambda): a violated constraint (term 0.25 > 0) with zero-mean
// A_c at r = 1 gives g = 0.25 > 0, so lambda <- max(0, lambda + lr g) grows.
// And g is the lambda-derivative of the Lagrangian that the actor minimises and the multiplier
// maximises: J(lambda) = L_surr(A_r - lambda A_c) + lambda * term, with every ratio inside the
// clip range (L_surr = -mean(M r A), M = 1): J = -mean(r A_r) + lambda (term + mean(r A_c)),
// i.e. the penalty P(lambda) = lambda (term + mean(r A_c)) plus a lambda-free part. Checked by
// a central difference in lambda (step 1e-2, J linear in lambda: exact up to float rounding of
// the advantages, 1e-4) using ac_lagrangian_advantage and ac_surrogate.
static void test_lambda_grad(void) {
  const float r[3] = {1, 1.5f, 0.5f}, c[3] = {2, -1, 4};
  CHECK_NEAR(ac_lambda_grad(r, c, 3, 0.3), 0.3 + 2.5 / 3, 1e-6, "ac_lambda_grad hand");
  CHECK_NEAR(ac_lambda_grad(r, c, 3, 0.0), 2.5 / 3, 1e-6, "ac_lambda_grad, no constraint term");

  const float ones[4] = {1, 1, 1, 1}, zm[4] = {1, -1, 2, -2};
  double g = ac_lambda_grad(ones, zm, 4, 0.25);
  CHECK(g > 0, "violated constraint, zero-mean A_c: gradient %g must be > 0 (lambda grows)", g);
  CHECK_NEAR(g, 0.25, 1e-7, "violated constraint, zero-mean A_c: gradient = term");

  rng_t rng;
  rng_seed(&rng, 41);
  enum { B = 10 };
  float logp[B], old[B], ar[B], acs[B], al[B], ratio[B], d[B];
  for (int b = 0; b < B; b++) {
    old[b] = (float)rng_normal(&rng);
    logp[b] = (float)(old[b] + (-0.15 + 0.3 * rng_uniform(&rng)));
    ar[b] = (float)rng_normal(&rng);
    acs[b] = (float)(0.5 + rng_normal(&rng));
  }
  const double term = -0.4, lambda0 = 0.8, hl = 1e-2;
  double J[2];
  for (int k = 0; k < 2; k++) {
    double lam = lambda0 + (k ? -hl : hl);
    ac_lagrangian_advantage(ar, acs, (float)lam, B, al);
    J[k] = ac_surrogate(logp, old, al, NULL, B, 0.2, d, ratio, NULL) + lam * term;
  }
  double fd = (J[0] - J[1]) / (2 * hl);
  CHECK_NEAR(ac_lambda_grad(ratio, acs, B, term), fd, 1e-4,
             "ac_lambda_grad = dJ/dlambda of the Lagrangian surrogate");
}

// ---------------------------------------------------------------------------------------------
// ac_m_update.

// Pins M <- M exp(logp_new - logp_old) with joint (summed over dimensions) log-probs, never
// clipped. Three rows, M = 1; agent 1 changes its joint log-prob by (0.1, -0.2, 0), agent 2 by
// (0.3, 0, -0.5), each spread over its 3 action dimensions here and summed before the call:
//   M = (e^0.1 e^0.3, e^-0.2 e^0, e^0 e^-0.5) = (e^0.4, e^-0.2, e^-0.5).
// A per-dimension form would not give these numbers. A further factor e^2 (ratio 7.39, far
// outside any clip range) multiplies in unchanged.
static void test_m_update(void) {
  enum { R = 3, D = 3 };
  const double d1[R] = {0.1, -0.2, 0.0}, d2[R] = {0.3, 0.0, -0.5};
  const double split[D] = {0.5, 0.2, 0.3};  // how a joint change is spread over the dimensions
  const double base[R][D] = {{-1.0, 0.3, -0.7}, {0.2, -2.0, -0.4}, {-0.9, -0.1, 0.6}};
  float M[R] = {1, 1, 1}, old[R], new_[R];
  const double *deltas[2] = {d1, d2};
  for (int agent = 0; agent < 2; agent++) {
    for (int r = 0; r < R; r++) {
      double so = 0.0, sn = 0.0;
      for (int k = 0; k < D; k++) {
        so += base[r][k] + agent;
        sn += base[r][k] + agent + split[k] * deltas[agent][r];
      }
      old[r] = (float)so;
      new_[r] = (float)sn;
    }
    ac_m_update(M, new_, old, R);
  }
  const double want[R] = {exp(0.4), exp(-0.2), exp(-0.5)};
  for (int r = 0; r < R; r++) CHECK_CLOSE(M[r], want[r], 2e-6, 0.0, "M after two agents");
  const float o2[1] = {0.0f}, n2[1] = {2.0f};
  float m2[1] = {0.5f};
  ac_m_update(m2, n2, o2, 1);
  CHECK_CLOSE(m2[0], 0.5 * exp(2.0), 1e-6, 0.0, "M is never clipped");
}

// ---------------------------------------------------------------------------------------------
// ac_agent_order.

enum { OA = 4, O_DRAWS = 20, O_MANY = 400 };

static int is_permutation(const int *o, int n) {
  int seen[64] = {0};
  for (int i = 0; i < n; i++) {
    if (o[i] < 0 || o[i] >= n || seen[o[i]]) return 0;
    seen[o[i]] = 1;
  }
  return 1;
}

// Pins: the order comes from the given rng only (the same rng_stream(seed, "update", 0) gives
// the same 20 orders; another seed a different sequence), each draw is a permutation of
// 0..A-1, and over 400 draws with A = 4 every agent goes first at least once (counts within
// 5 binomial standard deviations, sqrt(400 * 1/4 * 3/4) = 8.7, of 100). A = 1 gives {0}.
static void test_agent_order(void) {
  rng_t r1, r2, r3;
  rng_stream(&r1, 7, "update", 0);
  rng_stream(&r2, 7, "update", 0);
  rng_stream(&r3, 8, "update", 0);
  int same = 1, differs = 0;
  for (int k = 0; k < O_DRAWS; k++) {
    int a[OA], b[OA], c[OA];
    ac_agent_order(&r1, OA, a);
    ac_agent_order(&r2, OA, b);
    ac_agent_order(&r3, OA, c);
    same &= !memcmp(a, b, sizeof a);
    differs |= memcmp(a, c, sizeof a) != 0;
    CHECK(is_permutation(a, OA), "draw %d is not a permutation: %d %d %d %d", k, a[0], a[1], a[2],
          a[3]);
  }
  CHECK(same, "same rng stream gave different agent orders");
  CHECK(differs, "seeds 7 and 8 gave the same 20 agent orders");

  int first[OA] = {0}, perm_ok = 1;
  for (int k = 0; k < O_MANY; k++) {
    int a[OA];
    ac_agent_order(&r1, OA, a);
    perm_ok &= is_permutation(a, OA);
    if (a[0] >= 0 && a[0] < OA) first[a[0]]++;
  }
  CHECK(perm_ok, "a draw among %d was not a permutation", O_MANY);
  for (int i = 0; i < OA; i++) {
    CHECK(first[i] > 0, "agent %d never went first in %d draws", i, O_MANY);
    CHECK(fabs(first[i] - 100.0) <= 5 * 8.66, "agent %d first %d times of 400 (expected 100)", i,
          first[i]);
  }
  int one[1] = {-1};
  ac_agent_order(&r1, 1, one);
  CHECK(one[0] == 0, "A = 1 order %d", one[0]);
}

// ---------------------------------------------------------------------------------------------
// The actor-critic state.

enum { NA = 2, OBS = 5, ACT = 3, SHARE = 7, RT = 8, RE = 2 };

static env_spec_t make_spec(void) {
  env_spec_t s;
  memset(&s, 0, sizeof s);
  snprintf(s.name, sizeof s.name, "test_actor_critic");
  s.n_agents = NA;
  for (int a = 0; a < NA; a++) {
    s.obs_dim[a] = OBS;
    s.act_dim[a] = ACT;
  }
  s.max_obs_dim = OBS;
  s.max_act_dim = ACT;
  s.share_obs_dim = SHARE;
  s.discrete = 0;
  s.act_low = -1.0f;
  s.act_high = 1.0f;
  s.episode_length = 50;
  s.cost_limit = 1.0;
  for (int a = 0; a < NA; a++)
    for (int b = 0; b < NA; b++) s.adjacency[a][b] = a != b;
  return s;
}

// The AC_COMMON_PARAMS defaults, except epochs 2, minibatches 2, hidden 16 (small and fast) and
// share_params off.
static ac_params_t make_params(void) {
  ac_params_t p;
  memset(&p, 0, sizeof p);
  p.lr = 5e-4;
  p.critic_lr = 5e-4;
  p.adam_eps = 1e-5;
  p.max_grad_norm = 10;
  p.clip = 0.2;
  p.value_clip = 0.2;
  p.huber_delta = 10;
  p.entropy_coef = 0;
  p.gamma = 0.99;
  p.lam = 0.95;
  p.std_init = 1;
  p.epochs = 2;
  p.minibatches = 2;
  p.hidden = 16;
  p.layers = 2;
  p.share_params = 0;
  p.proper_time_limits = 1;
  p.value_norm = 1;
  snprintf(p.activation, sizeof p.activation, "relu");
  snprintf(p.std, sizeof p.std, "sigmoid");
  return p;
}

static int make_ac(ac_t *ac, uint64_t seed) {
  env_spec_t spec = make_spec();
  ac_params_t p = make_params();
  algo_run_info_t run = {seed, RT, RE, 1000, 1.0};
  memset(ac, 0, sizeof *ac);
  return ac_create(ac, "mappo_lag", &spec, &p, &run, 1);
}

// ac_save inside an "ALGO" section, as harness/train.c does; the payload bytes stay in *k.
static int save_ac(const ac_t *ac, ckpt_t *k) {
  ckpt_init(k);
  int rc = ckpt_begin(k, "ALGO");
  if (!rc) rc = ac_save(ac, k);
  if (!rc) rc = ckpt_end(k);
  return rc;
}

// Read back what save_ac wrote (the in-memory payload; the reader starts at pos 0).
static int load_ac(ac_t *ac, ckpt_t *k) {
  k->pos = 0;
  int rc = ckpt_section(k, "ALGO", NULL);
  if (!rc) rc = ac_load(ac, k);
  if (!rc) rc = ckpt_section_done(k, "ALGO");
  return rc;
}

// Outputs of one ac_algo_act call on RE copies.
typedef struct {
  float act[RE * NA * ACT], logp[RE * NA], v[RE * NA], vc[RE * NA];
} act_out_t;

static void act_with(ac_t *ac, const float *obs, const float *share, uint64_t seed,
                     act_out_t *o) {
  rng_t rng;
  rng_seed(&rng, seed);
  memset(o, 0, sizeof *o);
  ac_algo_act(ac, obs, share, RE, &rng, o->act, o->logp, o->v, o->vc);
}

static int same_act(const act_out_t *a, const act_out_t *b) {
  return !memcmp(a->act, b->act, sizeof a->act) && !memcmp(a->logp, b->logp, sizeof a->logp) &&
         !memcmp(a->v, b->v, sizeof a->v) && !memcmp(a->vc, b->vc, sizeof a->vc);
}

// A full rollout buffer (T = 8, E = 2, A = 2) filled by acting on random observations: obs and
// share_obs random in [-1, 1], actions/logp/values/cost_values from ac_algo_act per row (rng
// `act_rng`), row T values from ac_algo_values, random rewards and costs, one done at t = 3.
static int fill_rollout(ac_t *ac, buf_t *buf, rng_t *data_rng, rng_t *act_rng) {
  int rc = buf_create(buf, RT, RE, NA, OBS, SHARE, ACT);
  if (rc) return rc;
  for (int t = 0; t <= RT; t++) {
    float *obs = buf->obs + (size_t)t * RE * NA * OBS;
    float *share = buf->share_obs + (size_t)t * RE * SHARE;
    fill_uniform(obs, RE * NA * OBS, -1.0, 1.0, data_rng);
    fill_uniform(share, RE * SHARE, -1.0, 1.0, data_rng);
    size_t lane = (size_t)t * RE * NA;
    if (t < RT) {
      ac_algo_act(ac, obs, share, RE, act_rng, buf->actions + lane * ACT, buf->logp + lane,
                  buf->values + lane, buf->cost_values + lane);
      fill_uniform(buf->rewards + lane, RE * NA, -1.0, 1.0, data_rng);
      fill_uniform(buf->costs + lane, RE * NA, 0.0, 1.0, data_rng);
    } else {
      ac_algo_values(ac, obs, share, RE, buf->values + lane, buf->cost_values + lane);
    }
  }
  buf->done[3 * RE + 0] = 1;
  return 0;
}

// Pins (c): ac_algo_act is a function of (parameters, observations, rng state): the same rng
// state gives bit-identical actions, log-probs and values, another rng state other actions but
// the same values; the reward and cost critics are team critics, so values[e][a] and
// cost_values[e][a] are the same for every agent a of copy e, and ac_algo_values returns them.
static void test_act_deterministic(void) {
  ac_t ac;
  if (make_ac(&ac, 5) != 0) {
    CHECK(0, "ac_create: %s", err_message());
    return;
  }
  rng_t d;
  rng_seed(&d, 51);
  float obs[RE * NA * OBS], share[RE * SHARE];
  fill_uniform(obs, RE * NA * OBS, -1.0, 1.0, &d);
  fill_uniform(share, RE * SHARE, -1.0, 1.0, &d);
  act_out_t a, b, c;
  act_with(&ac, obs, share, 77, &a);
  act_with(&ac, obs, share, 77, &b);
  act_with(&ac, obs, share, 78, &c);
  CHECK(same_act(&a, &b), "ac_algo_act differs for the same rng state");
  CHECK(memcmp(a.act, c.act, sizeof a.act) != 0, "ac_algo_act ignores the rng");
  CHECK(!memcmp(a.v, c.v, sizeof a.v) && !memcmp(a.vc, c.vc, sizeof a.vc),
        "values depend on the rng");
  for (int e = 0; e < RE; e++)
    for (int ag = 1; ag < NA; ag++) {
      CHECK(a.v[e * NA + ag] == a.v[e * NA], "copy %d: reward value of agent %d %g != agent 0 %g",
            e, ag, a.v[e * NA + ag], a.v[e * NA]);
      CHECK(a.vc[e * NA + ag] == a.vc[e * NA],
            "copy %d: cost value of agent %d %g != agent 0 %g", e, ag, a.vc[e * NA + ag],
            a.vc[e * NA]);
    }
  int finite = 1;
  for (int i = 0; i < RE * NA * ACT; i++) finite &= isfinite(a.act[i]);
  for (int i = 0; i < RE * NA; i++) finite &= isfinite(a.logp[i]) && isfinite(a.v[i]);
  CHECK(finite, "non-finite acting output");
  float v[RE * NA], vc[RE * NA];
  ac_algo_values(&ac, obs, share, RE, v, vc);
  for (int i = 0; i < RE * NA; i++) {
    CHECK_NEAR(v[i], a.v[i], 1e-6 * (1 + fabs(a.v[i])), "ac_algo_values = act's values");
    CHECK_NEAR(vc[i], a.vc[i], 1e-6 * (1 + fabs(a.vc[i])), "ac_algo_values = act's cost values");
  }
  CHECK(ac_finite(&ac), "fresh ac_t not finite");
  ac_destroy(&ac);
}

// Pins (d): ac_gather_agent selects agent a's rows of the buffer (copying its old log-probs and
// setting its advantages from the team advantages adv_r / adv_c), and ac_actor_logp on those
// rows under the unchanged parameters gives back the log-probs ac_algo_act reported for the
// same observations and actions (read from the buffer). The header does not fix the row order,
// so each selected row is matched to its buffer entry by its old log-prob (bit-exact, distinct
// for continuous actions); every (t, e) must be selected exactly once, and the row's advantages
// must be the team advantages of that (t, e). adv_r itself must be the standardised reward
// advantage of agent 0's lane (buf_standardize of buf.adv[t][e][0], 1e-5).
// Tolerance on logp 1e-4 (1 + |logp|): the acting forward ran on E rows, this one on T*E.
static void test_gather_logp(void) {
  ac_t ac;
  if (make_ac(&ac, 6) != 0) {
    CHECK(0, "ac_create: %s", err_message());
    return;
  }
  rng_t d, ar;
  rng_seed(&d, 61);
  rng_seed(&ar, 62);
  buf_t buf;
  if (fill_rollout(&ac, &buf, &d, &ar) != 0) {
    CHECK(0, "fill_rollout: %s", err_message());
    ac_destroy(&ac);
    return;
  }
  ac_prepare(&ac, &buf);
  float ref[RT * RE];
  for (int n = 0; n < RT * RE; n++) ref[n] = buf.adv[(size_t)n * NA];
  buf_standardize(ref, RT * RE, 1, 1e-5f);
  for (int n = 0; n < RT * RE; n++)
    CHECK_NEAR(ac.adv_r[n], ref[n], 1e-5, "adv_r = standardised reward advantage, lane 0");
  float logp[RT * RE];
  for (int agent = 0; agent < NA; agent++) {
    int rows = ac_gather_agent(&ac, &buf, agent);
    CHECK(rows == RT * RE, "agent %d: gathered %d rows, want %d", agent, rows, RT * RE);
    if (rows != RT * RE) continue;
    ac_actor_logp(&ac, agent, rows, logp);
    int used[RT * RE] = {0};
    for (int i = 0; i < rows; i++) {
      int found = -1;
      for (int n = 0; n < RT * RE && found < 0; n++)
        if (!memcmp(&buf.logp[(size_t)n * NA + agent], &ac.g_logp_old[i], sizeof(float)))
          found = n;
      CHECK(found >= 0, "agent %d row %d: logp_old %g is none of the buffer's", agent, i,
            ac.g_logp_old[i]);
      if (found < 0) continue;
      CHECK(!used[found], "agent %d: buffer row %d gathered twice", agent, found);
      used[found] = 1;
      size_t lane = (size_t)found * NA + agent;
      CHECK(ac.g_adv[i] == ac.adv_r[found] && ac.g_adv_c[i] == ac.adv_c[found],
            "agent %d row %d (t %d e %d): advantages (%g, %g), team (%g, %g)", agent, i,
            found / RE, found % RE, ac.g_adv[i], ac.g_adv_c[i], ac.adv_r[found],
            ac.adv_c[found]);
      CHECK_NEAR(logp[i], buf.logp[lane], 1e-4 * (1 + fabs(buf.logp[lane])),
                 "ac_actor_logp = logp reported by ac_algo_act");
    }
  }
  buf_destroy(&buf);
  ac_destroy(&ac);
}

// Pins (a) and (b): ac_save -> ac_load restores everything acting depends on, and everything
// ac_save writes. The source is trained first (ac_prepare, one actor update per agent, one
// critic update) so Adam moments, normalisers and std parameters are not at their initial
// values; the target is created with another seed, so before the load it acts differently
// (checked, else the test would prove nothing). After the load: identical ac_algo_act output
// for the same rng state (memcmp), identical ac_save bytes, and one more identical update on
// both (same buffer, same rng) still gives identical bytes (the optimiser state was restored,
// not only the parameters).
static void test_save_load(void) {
  ac_t src, dst;
  if (make_ac(&src, 1) != 0 || make_ac(&dst, 2) != 0) {
    CHECK(0, "ac_create: %s", err_message());
    return;
  }
  rng_t d, ar, ur;
  rng_seed(&d, 71);
  rng_seed(&ar, 72);
  rng_stream(&ur, 1, "update", 0);
  buf_t buf;
  if (fill_rollout(&src, &buf, &d, &ar) != 0) {
    CHECK(0, "fill_rollout: %s", err_message());
    return;
  }
  ac_prepare(&src, &buf);
  for (int agent = 0; agent < NA; agent++) {
    int rows = ac_gather_agent(&src, &buf, agent);
    ac_actor_stats_t st;
    memset(&st, 0, sizeof st);
    ac_actor_update(&src, agent, rows, NULL, NULL, &ur, &st);
  }
  double vl = 0, cvl = 0;
  ac_critics_update(&src, &buf, &ur, &vl, &cvl);
  CHECK(ac_finite(&src), "parameters not finite after an update");

  float obs[RE * NA * OBS], share[RE * SHARE];
  fill_uniform(obs, RE * NA * OBS, -1.0, 1.0, &d);
  fill_uniform(share, RE * SHARE, -1.0, 1.0, &d);
  act_out_t a, b;
  act_with(&src, obs, share, 99, &a);
  act_with(&dst, obs, share, 99, &b);
  CHECK(!same_act(&a, &b), "differently seeded ac_t act identically: the load would prove nothing");

  ckpt_t k1, k2;
  CHECK(save_ac(&src, &k1) == 0, "ac_save: %s", err_message());
  CHECK(load_ac(&dst, &k1) == 0, "ac_load: %s", err_message());
  act_with(&dst, obs, share, 99, &b);
  CHECK(same_act(&a, &b), "after load: ac_algo_act output differs from the source's");
  CHECK(save_ac(&dst, &k2) == 0, "ac_save (loaded): %s", err_message());
  CHECK(k1.len == k2.len && !memcmp(k1.data, k2.data, k1.len),
        "re-saved checkpoint differs (%zu vs %zu bytes)", k1.len, k2.len);
  ckpt_free(&k2);

  // One more update on both, same buffer and rng: still bit-identical.
  rng_t u1, u2;
  rng_stream(&u1, 9, "update", 0);
  u2 = u1;
  ac_t *both[2] = {&src, &dst};
  rng_t *rngs[2] = {&u1, &u2};
  for (int w = 0; w < 2; w++) {
    ac_prepare(both[w], &buf);
    for (int agent = 0; agent < NA; agent++) {
      int rows = ac_gather_agent(both[w], &buf, agent);
      ac_actor_stats_t st;
      memset(&st, 0, sizeof st);
      ac_actor_update(both[w], agent, rows, NULL, NULL, rngs[w], &st);
    }
    ac_critics_update(both[w], &buf, rngs[w], &vl, &cvl);
  }
  ckpt_free(&k1);
  CHECK(save_ac(&src, &k1) == 0 && save_ac(&dst, &k2) == 0, "ac_save: %s", err_message());
  CHECK(k1.len == k2.len && !memcmp(k1.data, k2.data, k1.len),
        "after one more update: source and loaded copy differ");
  ckpt_free(&k1);
  ckpt_free(&k2);
  buf_destroy(&buf);
  ac_destroy(&src);
  ac_destroy(&dst);
}

// AC_COST_MARGIN_PARAM / ac_cost_target in the constrained algorithms that take the cost limit
// through it (mappo_lag: test_mappo_lag.c; scal_mappo_lag: test_scal_mappo_lag.c). One update
// whose episodes cost 1.75 against d = 2: under the limit, over the target 1.5 of margin 0.25.
// macpo's constraint value c (statistic "c") changes sign; mafocops's nu (from 0, projected at 0)
// stays 0 without the margin and moves up by nu_lr x 0.25 with it.
static double margin_stat(const char *algo, const char *ov1, const char *ov2, const char *stat) {
  const algo_class_t *cls = algo_find(algo);
  if (!cls) return NAN;
  const char *ov[] = {"algo.hidden=16", "algo.minibatches=2", ov1, ov2, NULL};
  void *params = tu_params(cls, ov);
  env_spec_t spec = tu_spec("margin");
  algo_run_info_t run = {3, TU_RT, TU_RE, 1000, 2.0};
  void *inst = NULL;
  double out = NAN;
  if (params && cls->create(&spec, params, &run, &inst) == 0) {
    buf_t buf;
    if (tu_fill_rollout(cls, inst, &buf, 5) == 0) {
      float ret[2] = {0, 0}, cost[2] = {1.75f, 1.75f}, len[2] = {4, 4};
      algo_rollout_info_t info = {0, TU_RT * TU_RE, 2, ret, cost, len, NULL};
      rng_t u;
      rng_stream(&u, 5, "update", 0);
      double stats[ALGO_MAX_STATS];
      if (cls->update(inst, &buf, &info, &u, stats) == 0)
        for (int i = 0; i < cls->n_stats; i++)
          if (!strcmp(cls->stat_names[i], stat)) out = stats[i];
      buf_destroy(&buf);
    }
  }
  CHECK(!isnan(out), "%s %s: no statistic %s (%s)", algo, ov2, stat, err_message());
  if (inst) cls->destroy(inst);
  free(params);
  return out;
}

static void test_cost_margin(void) {
  const char *none = "algo.cost_margin=0", *quarter = "algo.cost_margin=0.25";
  double c0 = margin_stat("macpo", "algo.gamma=0.99", none, "c");
  double c1 = margin_stat("macpo", "algo.gamma=0.99", quarter, "c");
  CHECK(fabs(c0 - 0.01 * -0.25) < 1e-9 && fabs(c1 - 0.01 * 0.25) < 1e-9,
        "macpo c = (1 - gamma)(J_c - target): %g without the margin (want -0.0025), %g with it "
        "(want 0.0025)", c0, c1);
  double n0 = margin_stat("mafocops", "algo.nu_lr=0.1", none, "nu");
  double n1 = margin_stat("mafocops", "algo.nu_lr=0.1", quarter, "nu");
  CHECK(n0 == 0.0, "mafocops nu without the margin at cost 1.75 < d = 2: %g, want 0", n0);
  CHECK(fabs(n1 - 0.1 * 0.25) < 1e-6, "mafocops nu with margin 0.25: %g, want 0.1 x 0.25", n1);
}

int main(void) {
  test_cost_margin();
  test_surrogate_finite_differences();
  test_surrogate_null_m();
  test_surrogate_ratio_and_clipped();
  test_surrogate_hand();
  test_value_loss_finite_differences();
  test_value_loss_hand();
  test_huber();
  test_lagrangian_advantage_hand();
  test_lagrangian_linearity();
  test_lambda_grad();
  test_m_update();
  test_agent_order();
  test_act_deterministic();
  test_gather_logp();
  test_save_load();
  return check_report("test_actor_critic");
}
