// test_focops: algorithms/focops_loss.c, the projection loss of focops and mafocops
//   L = (1/B) sum_b [ KL_b(pi || pi_k) - r_b w_b / lambda ] 1[KL_b <= eta],  r_b = e^(logp - old),
// and the projected multiplier step they share.
// - fl_loss: hand values (an active and an inactive row), dL/dlogp and dL/dKL against central
//   finite differences on random rows with the indicator on and off (the indicator is a constant
//   weight: a row beyond eta contributes nothing and has zero gradient);
// - fl_cat_kl_rev: a hand value, KL >= 0 with equality at old = new, and the reverse direction
//   (differs from dist_cat_kl); fl_cat_kl_rev_backward against finite differences;
// - the loss as a function of the distribution parameters (Gaussian mean / log sigma, categorical
//   logits) against finite differences, through dist_* backward and fl_cat_kl_rev_backward;
// - fl_policy_backward through a tiny policy network (categorical, Gaussian with log and sigmoid
//   std; LayerNorm, tanh) with rows on both sides of eta and an entropy term, against finite
//   differences over every parameter; it accumulates into grad;
// - at theta = theta_k the KL term has zero gradient: the loss gradient is -(1/lambda) times the
//   policy gradient of mean(logp w) (MAFOCOPS Corollary 1 at its expansion point);
// - fl_nu_update on hand values: the step, projection to 0 and to nu_max, and the MAFOCOPS form
//   nu - lr (d - J_c) of supp. Eq. 24.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/focops_loss.h"
#include "algorithms/policy.h"
#include "core/dist.h"
#include "core/err.h"
#include "core/rng.h"
#include "tests/check.h"

// Central differences in double on float inputs: the quotient divides by the step actually taken
// (the perturbed float minus the other). Rounding: the loss is a mean of B float-evaluated terms
// of magnitude ~1, whose rounding (~B 2^-24 per unit) divided by the step 2h = 2e-3 is ~1e-5 for
// B <= 16; FD_ATOL 2e-4 covers it with a margin, and the O(h^2) truncation error of the smooth
// terms (second-order FD error ~ h^2 |f'''| / 6 ~ 1e-6 here) is negligible. FD_RTOL 1e-2. A wrong
// factor (1/lambda, 1/B, r, the KL direction, the indicator) gives an O(0.1..1) relative error.
static const double FD_H = 1e-3;
static const double FD_RTOL = 1e-2, FD_ATOL = 2e-4;

static void fill_normal(float *x, int n, double mean, double sd, rng_t *rng) {
  for (int i = 0; i < n; i++) x[i] = (float)(mean + sd * rng_normal(rng));
}

// ---- fl_loss ----------------------------------------------------------------------------------

// Pins by hand, lambda 1.5, eta 0.02, B 2:
//   row 0: r = 2, KL 0.01 (active),   w 1.5 -> term 0.01 - 2 * 1.5 / 1.5 = -1.99
//   row 1: r = 1, KL 0.05 (inactive), w 3   -> term 0
//   L = -1.99 / 2 = -0.995; dlogp = (-r w / (lambda B), 0) = (-1, 0); dkl = (1/B, 0) = (0.5, 0).
static void test_loss_hand(void) {
  const float logp[2] = {(float)log(2.0), 0.3f}, old[2] = {0.0f, 0.3f};
  const float kl[2] = {0.01f, 0.05f}, w[2] = {1.5f, 3.0f};
  float dlogp[2], dkl[2];
  int active = -1;
  double L = fl_loss(logp, old, kl, w, 2, 1.5, 0.02, dlogp, dkl, &active);
  CHECK_NEAR(L, -0.995, 1e-6, "fl_loss hand value");
  CHECK(active == 1, "active rows %d, want 1", active);
  CHECK_NEAR(dlogp[0], -1.0, 1e-6, "dlogp row 0 (active)");
  CHECK_NEAR(dkl[0], 0.5, 1e-7, "dkl row 0 (active)");
  CHECK(dlogp[1] == 0.0f && dkl[1] == 0.0f, "row 1 beyond eta: gradient (%g, %g), want 0", dlogp[1],
        dkl[1]);
  // KL exactly eta is inside (the official code's `kl <= eta`).
  const float kl_edge[2] = {0.02f, 0.02f};
  fl_loss(logp, old, kl_edge, w, 2, 1.5, 0.02f, NULL, NULL, &active);
  CHECK(active == 2, "KL == eta counts as active (%d)", active);
}

// Pins: dlogp, dkl are the partials of the returned loss, for random rows with KL on both sides
// of eta (kept FD_MARGIN away from it so the indicator does not flip inside a difference), r in
// [0.5, 2], w ~ N(0, 2); both branches must occur.
static void test_loss_finite_differences(void) {
  enum { B = 10, TRIALS = 30 };
  const double eta = 0.05, lambda = 2.2, margin = 5e-3;
  rng_t rng;
  rng_seed(&rng, 7);
  int n_on = 0, n_off = 0;
  for (int t = 0; t < TRIALS; t++) {
    float logp[B], old[B], kl[B], w[B], dlogp[B], dkl[B];
    for (int b = 0; b < B; b++) {
      old[b] = (float)(-1.0 - rng_uniform(&rng));
      logp[b] = (float)(old[b] + log(0.5) + log(4.0) * rng_uniform(&rng));
      double k;
      do k = 0.1 * rng_uniform(&rng);
      while (fabs(k - eta) < margin);
      kl[b] = (float)k;
      w[b] = (float)(2.0 * rng_normal(&rng));
      if (k <= eta)
        n_on++;
      else
        n_off++;
    }
    fl_loss(logp, old, kl, w, B, lambda, eta, dlogp, dkl, NULL);
    for (int b = 0; b < B; b++) {
      float *xs[2] = {logp, kl};
      const float *an[2] = {dlogp, dkl};
      for (int v = 0; v < 2; v++) {
        float x0 = xs[v][b];
        xs[v][b] = (float)(x0 + FD_H);
        double xp = xs[v][b], fp = fl_loss(logp, old, kl, w, B, lambda, eta, NULL, NULL, NULL);
        xs[v][b] = (float)(x0 - FD_H);
        double xm = xs[v][b], fm = fl_loss(logp, old, kl, w, B, lambda, eta, NULL, NULL, NULL);
        xs[v][b] = x0;
        CHECK_CLOSE(an[v][b], (fp - fm) / (xp - xm), FD_RTOL, FD_ATOL,
                    v ? "fl_loss dkl vs finite difference" : "fl_loss dlogp vs finite difference");
      }
    }
  }
  CHECK(n_on > 50 && n_off > 50, "coverage: %d active, %d inactive rows", n_on, n_off);
}

// ---- categorical reverse KL ---------------------------------------------------------------------

// Pins: old uniform over 2, new logits (0, log 3) -> q = (1/4, 3/4):
//   KL(q || p) = 1/4 log(1/2) + 3/4 log(3/2) = 0.1308120...; the other direction is different
//   (KL(p || q) = 1/2 log 2 + 1/2 log(2/3) = 0.1438410...), so the direction is pinned.
static void test_cat_kl_rev_values(void) {
  const float old[2] = {0.5f, 0.5f}, cur[2] = {0.0f, (float)log(3.0)};
  float kl, fwd;
  fl_cat_kl_rev(old, cur, 1, 2, &kl);
  dist_cat_kl(old, cur, 1, 2, &fwd);
  CHECK_NEAR(kl, 0.25 * log(0.5) + 0.75 * log(1.5), 1e-6, "KL(new || old) hand value");
  CHECK_NEAR(fwd, 0.5 * log(2.0) + 0.5 * log(2.0 / 3.0), 1e-6, "KL(old || new) hand value");
  float same;
  fl_cat_kl_rev(cur, cur, 1, 2, &same);
  CHECK_NEAR(same, 0.0, 1e-7, "KL(p || p) = 0");
}

// Pins: fl_cat_kl_rev_backward = the gradient of sum_b dkl_b KL_b with respect to the new logits,
// and it accumulates.
static void test_cat_kl_rev_backward(void) {
  enum { B = 5, K = 4 };
  rng_t rng;
  rng_seed(&rng, 8);
  float old[B * K], cur[B * K], dkl[B], d[B * K], kl[B];
  fill_normal(old, B * K, 0.0, 1.0, &rng);
  fill_normal(cur, B * K, 0.0, 1.0, &rng);
  fill_normal(dkl, B, 0.0, 1.0, &rng);
  for (int i = 0; i < B * K; i++) d[i] = 0.5f;
  fl_cat_kl_rev_backward(old, cur, dkl, B, K, d);
  for (int i = 0; i < B * K; i++) {
    int b = i / K;
    float x0 = cur[i];
    cur[i] = (float)(x0 + FD_H);
    double xp = cur[i];
    fl_cat_kl_rev(old, cur, B, K, kl);
    double fp = dkl[b] * kl[b];
    cur[i] = (float)(x0 - FD_H);
    double xm = cur[i];
    fl_cat_kl_rev(old, cur, B, K, kl);
    double fm = dkl[b] * kl[b];
    cur[i] = x0;
    CHECK_CLOSE(d[i] - 0.5f, (fp - fm) / (xp - xm), FD_RTOL, FD_ATOL,
                "fl_cat_kl_rev_backward vs finite difference");
  }
}

// ---- the loss through the distribution parameters ---------------------------------------------

enum { DB = 8, DK = 3 };

typedef struct {
  int discrete;
  float dist[DB * DK], log_std[DK];  // current: logits or means; log sigma
  float old_dist[DB * DK], old_log_std[DK];
  float actions[DB * DK], logp_old[DB], w[DB];
  double lambda, eta;
} dist_case_t;

static double dist_case_loss(const dist_case_t *c, float *dlogp, float *dkl, int *active) {
  float logp[DB], kl[DB];
  if (c->discrete) {
    dist_cat_logprob(c->dist, c->actions, DB, DK, logp);
    fl_cat_kl_rev(c->old_dist, c->dist, DB, DK, kl);
  } else {
    dist_gauss_logprob(c->dist, c->log_std, c->actions, DB, DK, logp);
    dist_gauss_kl_rev(c->old_dist, c->old_log_std, c->dist, c->log_std, DB, DK, kl);
  }
  return fl_loss(logp, c->logp_old, kl, c->w, DB, c->lambda, c->eta, dlogp, dkl, active);
}

// The per-row KLs of a case, sorted; eta is put in the widest gap between the 3rd and 6th
// smallest, so both branches occur and no finite-difference step flips the indicator.
static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

static double pick_eta(const float *kl, int B, double *gap) {
  float s[64];
  memcpy(s, kl, sizeof(float) * B);
  qsort(s, B, sizeof(float), cmp_float);
  double best = -1, eta = 0;
  for (int i = 2; i < B - 3; i++)
    if (s[i + 1] - s[i] > best) best = s[i + 1] - s[i], eta = 0.5 * (s[i] + s[i + 1]);
  *gap = best;
  return eta;
}

// Pins: the loss's partials with respect to the current distribution parameters (Gaussian means
// and log sigma, or categorical logits) equal the dist_* backward of (dlogp, dkl) that focops
// uses, with rows on both sides of eta.
static void test_loss_through_distribution(void) {
  rng_t rng;
  rng_seed(&rng, 9);
  for (int discrete = 0; discrete < 2; discrete++) {
    dist_case_t c = {0};
    c.discrete = discrete;
    c.lambda = 1.5;
    fill_normal(c.old_dist, DB * DK, 0.0, 1.0, &rng);
    fill_normal(c.old_log_std, DK, -0.5, 0.2, &rng);
    // Rows drift by increasing amounts from pi_k so their KLs spread over a decade.
    for (int b = 0; b < DB; b++)
      for (int k = 0; k < DK; k++)
        c.dist[b * DK + k] = c.old_dist[b * DK + k] + (float)(0.05 * (b + 1) * rng_normal(&rng));
    for (int k = 0; k < DK; k++) c.log_std[k] = c.old_log_std[k] + (float)(0.1 * rng_normal(&rng));
    for (int b = 0; b < DB; b++) {
      if (discrete) {
        c.actions[b] = (float)dist_cat_sample(c.old_dist + b * DK, DK, &rng);
      } else {
        dist_gauss_sample(c.old_dist + b * DK, c.old_log_std, DK, &rng, c.actions + b * DK);
      }
      c.w[b] = (float)rng_normal(&rng);
    }
    if (discrete)
      dist_cat_logprob(c.old_dist, c.actions, DB, DK, c.logp_old);
    else
      dist_gauss_logprob(c.old_dist, c.old_log_std, c.actions, DB, DK, c.logp_old);
    float kl[DB];
    if (discrete)
      fl_cat_kl_rev(c.old_dist, c.dist, DB, DK, kl);
    else
      dist_gauss_kl_rev(c.old_dist, c.old_log_std, c.dist, c.log_std, DB, DK, kl);
    double gap;
    c.eta = pick_eta(kl, DB, &gap);
    CHECK(gap > 2e-3, "%s: KL gap %g too small for the finite differences",
          discrete ? "categorical" : "gaussian", gap);

    float dlogp[DB], dkl[DB], ddist[DB * DK] = {0}, dls[DK] = {0};
    int active = 0;
    dist_case_loss(&c, dlogp, dkl, &active);
    CHECK(active > 1 && active < DB - 1, "%s: %d of %d rows active",
          discrete ? "categorical" : "gaussian", active, DB);
    if (discrete) {
      dist_cat_logprob_backward(c.dist, c.actions, dlogp, DB, DK, ddist);
      fl_cat_kl_rev_backward(c.old_dist, c.dist, dkl, DB, DK, ddist);
    } else {
      dist_gauss_logprob_backward(c.dist, c.log_std, c.actions, dlogp, DB, DK, ddist, dls);
      dist_gauss_kl_rev_backward(c.old_dist, c.old_log_std, c.dist, c.log_std, dkl, DB, DK, ddist,
                                 dls);
    }
    int n_vars = DB * DK + (discrete ? 0 : DK);
    for (int i = 0; i < n_vars; i++) {
      float *x = i < DB * DK ? &c.dist[i] : &c.log_std[i - DB * DK];
      double an = i < DB * DK ? ddist[i] : dls[i - DB * DK];
      float x0 = *x;
      int a1, a2;
      *x = (float)(x0 + FD_H);
      double xp = *x, fp = dist_case_loss(&c, NULL, NULL, &a1);
      *x = (float)(x0 - FD_H);
      double xm = *x, fm = dist_case_loss(&c, NULL, NULL, &a2);
      *x = x0;
      CHECK(a1 == active && a2 == active, "indicator flipped inside a difference");
      CHECK_CLOSE(an, (fp - fm) / (xp - xm), FD_RTOL, FD_ATOL,
                  discrete ? "loss / logits vs finite difference"
                           : (i < DB * DK ? "loss / mean vs finite difference"
                                          : "loss / log sigma vs finite difference"));
    }
  }
}

// ---- through a policy network -----------------------------------------------------------------

enum { NB = 12, N_OBS = 3, N_ACT = 2, N_CHOICES = 4 };
enum { KIND_CAT = 0, KIND_GAUSS_LOG = 1, KIND_GAUSS_SIGMOID = 2, N_KINDS = 3 };
static const char *const KIND_NAME[N_KINDS] = {"categorical", "gauss-log", "gauss-sigmoid"};

typedef struct {
  pol_t p;
  float *theta, *theta_old, *grad;
  float obs[NB * N_OBS], actions[NB * N_ACT], logp_old[NB], w[NB], dent[NB];
  float old_dist[NB * N_CHOICES], old_log_std[N_CHOICES];
  double lambda, eta, ent_coef;
} net_case_t;

static int net_case_create(net_case_t *c, int kind, rng_t *rng) {
  memset(c, 0, sizeof *c);
  pol_config_t cfg = {0};
  cfg.discrete = kind == KIND_CAT;
  cfg.obs_dim = N_OBS;
  cfg.act_dim = kind == KIND_CAT ? N_CHOICES : N_ACT;
  cfg.n_hidden = 1;
  cfg.hidden[0] = 5;
  cfg.act = MLP_ACT_TANH;
  cfg.layernorm = 1;
  cfg.hidden_gain = 1.0f;
  cfg.out_gain = 1.0f;  // not 0.01: tiny outputs would make every network gradient tiny
  cfg.std_param = kind == KIND_GAUSS_SIGMOID ? POL_STD_SIGMOID : POL_STD_LOG;
  cfg.std_init = kind == KIND_GAUSS_SIGMOID ? 0.5f : -0.5f;
  if (pol_create(&c->p, &cfg, NB)) return -1;
  int n = c->p.n_params;
  c->theta = calloc(n, sizeof(float));
  c->theta_old = calloc(n, sizeof(float));
  c->grad = calloc(n, sizeof(float));
  if (!c->theta || !c->theta_old || !c->grad) return -1;
  pol_init(&c->p, c->theta_old, rng);
  fill_normal(c->obs, NB * N_OBS, 0.2, 1.0, rng);
  pol_forward(&c->p, c->theta_old, c->obs, NB);
  pol_save_dist(&c->p, c->old_dist, c->old_log_std);
  pol_sample(&c->p, rng, c->actions, c->logp_old);
  fill_normal(c->w, NB, 0.0, 1.0, rng);
  c->lambda = 1.5;
  return 0;
}

static void net_case_destroy(net_case_t *c) {
  pol_destroy(&c->p);
  free(c->theta);
  free(c->theta_old);
  free(c->grad);
}

// L(theta) = fl_loss(...) - ent_coef mean_b entropy_b; *active gets the indicator count.
static double net_loss(net_case_t *c, const float *theta, float *dlogp, float *dkl, int *active) {
  float logp[NB], kl[NB], ent[NB];
  pol_forward(&c->p, theta, c->obs, NB);
  pol_logp(&c->p, c->actions, logp);
  fl_policy_kl(&c->p, c->old_dist, c->old_log_std, kl);
  pol_entropy(&c->p, ent);
  double L = fl_loss(logp, c->logp_old, kl, c->w, NB, c->lambda, c->eta, dlogp, dkl, active);
  for (int b = 0; b < NB; b++) L -= c->ent_coef * ent[b] / NB;
  return L;
}

// Pins: fl_policy_backward of (dlogp, dent, dkl) from fl_loss is the gradient of the loss over
// every network and std parameter, with rows on both sides of eta; it accumulates into grad.
static void test_policy_backward(void) {
  rng_t rng;
  rng_seed(&rng, 10);
  int checked = 0;
  for (int kind = 0; kind < N_KINDS; kind++) {
    net_case_t c;
    CHECK(net_case_create(&c, kind, &rng) == 0, "create: %s", err_message());
    int n = c.p.n_params;
    // theta = theta_k + noise: rows move by different amounts, so their KLs spread out.
    double gap = 0;
    for (int tries = 0; tries < 50 && gap < 3e-3; tries++) {
      for (int i = 0; i < n; i++) c.theta[i] = c.theta_old[i] + (float)(0.15 * rng_normal(&rng));
      float kl[NB];
      pol_forward(&c.p, c.theta, c.obs, NB);
      fl_policy_kl(&c.p, c.old_dist, c.old_log_std, kl);
      c.eta = pick_eta(kl, NB, &gap);
    }
    CHECK(gap >= 3e-3, "%s: no test point with a KL gap around eta", KIND_NAME[kind]);
    c.ent_coef = 0.05;
    float dlogp[NB], dkl[NB];
    int active;
    net_loss(&c, c.theta, dlogp, dkl, &active);
    CHECK(active >= 2 && active <= NB - 3, "%s: %d of %d rows active", KIND_NAME[kind], active, NB);
    for (int b = 0; b < NB; b++) c.dent[b] = (float)(-c.ent_coef / NB);
    for (int i = 0; i < n; i++) c.grad[i] = 0.25f;  // must accumulate, not overwrite
    pol_forward(&c.p, c.theta, c.obs, NB);
    fl_policy_backward(&c.p, c.theta, c.actions, dlogp, c.dent, c.old_dist, c.old_log_std, dkl,
                       c.grad);
    char what[128];
    for (int i = 0; i < n; i++) {
      float x0 = c.theta[i];
      int a1, a2;
      c.theta[i] = (float)(x0 + FD_H);
      double xp = c.theta[i], fp = net_loss(&c, c.theta, NULL, NULL, &a1);
      c.theta[i] = (float)(x0 - FD_H);
      double xm = c.theta[i], fm = net_loss(&c, c.theta, NULL, NULL, &a2);
      c.theta[i] = x0;
      if (a1 != active || a2 != active) continue;  // the indicator flipped: not differentiable
      snprintf(what, sizeof what, "%s: dL/dtheta[%d]%s vs finite difference", KIND_NAME[kind], i,
               i >= c.p.n_net ? " (std param)" : "");
      CHECK_CLOSE(c.grad[i] - 0.25f, (fp - fm) / (xp - xm), FD_RTOL, FD_ATOL, what);
      checked++;
    }
    net_case_destroy(&c);
  }
  // 3 kinds of about 40-50 parameters each; a handful of flips at most.
  CHECK(checked > 110, "only %d partials checked", checked);
}

// Pins: at theta = theta_k every row is active with KL = 0 and r = 1, the KL term's gradient
// vanishes (KL(pi || pi_k) is minimal there), so the loss gradient equals
// -(1/lambda) grad mean_b(w_b logp_b) (pol_backward), to float rounding.
static void test_gradient_at_theta_k(void) {
  rng_t rng;
  rng_seed(&rng, 11);
  for (int kind = 0; kind < N_KINDS; kind++) {
    net_case_t c;
    CHECK(net_case_create(&c, kind, &rng) == 0, "create: %s", err_message());
    int n = c.p.n_params;
    memcpy(c.theta, c.theta_old, sizeof(float) * n);
    c.eta = 0.01;
    float dlogp[NB], dkl[NB], ref_dlogp[NB];
    int active;
    net_loss(&c, c.theta, dlogp, dkl, &active);
    CHECK(active == NB, "%s: all rows active at theta_k (%d)", KIND_NAME[kind], active);
    memset(c.grad, 0, sizeof(float) * n);
    pol_forward(&c.p, c.theta, c.obs, NB);
    fl_policy_backward(&c.p, c.theta, c.actions, dlogp, NULL, c.old_dist, c.old_log_std, dkl,
                       c.grad);
    float *ref = calloc(n, sizeof(float));
    for (int b = 0; b < NB; b++) ref_dlogp[b] = (float)(-c.w[b] / (c.lambda * NB));
    pol_backward(&c.p, c.theta, c.actions, ref_dlogp, NULL, NULL, NULL, NULL, ref);
    for (int i = 0; i < n; i++)
      CHECK_CLOSE(c.grad[i], ref[i], 1e-4, 1e-6,
                  "gradient at theta_k = -(1/lambda) grad E[w logp]");
    free(ref);
    net_case_destroy(&c);
  }
}

// ---- the multiplier ---------------------------------------------------------------------------

// Pins: nu <- clip(nu + lr (J_c - d), 0, nu_max) on hand values.
static void test_nu_update(void) {
  CHECK_NEAR(fl_nu_update(0.5, 0.1, 3.0, 1.0, 2.0), 0.7, 1e-12, "step up: 0.5 + 0.1 * 2");
  CHECK_NEAR(fl_nu_update(0.5, 0.1, 0.0, 1.0, 2.0), 0.4, 1e-12, "step down: 0.5 - 0.1 * 1");
  CHECK_NEAR(fl_nu_update(0.1, 0.1, 0.0, 5.0, 2.0), 0.0, 0.0, "projected to 0 (0.1 - 0.5)");
  CHECK_NEAR(fl_nu_update(1.2, 0.1, 10.0, 1.0, 1.3), 1.3, 0.0, "projected to nu_max (1.2 + 0.9)");
  CHECK_NEAR(fl_nu_update(0.0, 0.1, 1.0, 1.0, 1.3), 0.0, 0.0, "J_c = d: no move");
  // MAFOCOPS supp. Eq. 24 writes nu - alpha (c - J_c): the same step. Table 5: alpha 5e-5,
  // nu_max 1.3; J_c 130 against the HalfCheetah bound 30 moves nu by 0.005.
  CHECK_NEAR(fl_nu_update(1.0, 5e-5, 130.0, 30.0, 1.3), 1.0 - 5e-5 * (30.0 - 130.0), 1e-12,
             "Eq. 24 form");
  CHECK_NEAR(fl_nu_update(1.299, 5e-5, 130.0, 30.0, 1.3), 1.3, 0.0, "Eq. 24 form, bounded");
}

int main(void) {
  test_loss_hand();
  test_loss_finite_differences();
  test_cat_kl_rev_values();
  test_cat_kl_rev_backward();
  test_loss_through_distribution();
  test_policy_backward();
  test_gradient_at_theta_k();
  test_nu_update();
  return check_report("test_focops");
}
