// test_sa_common: the single-agent helpers of algorithms/sa_common.c that carry logic of their
// own: the PID multiplier (integral property, projection, proportional damping, and on a
// two-behaviour model of the gridworld at limit 0.35 that its averaged iterate reaches the mixed
// optimum and, with the proportional term, its last iterate too), the count-based optimism
// (counts, bonus size, valid mask, the error on a continuous observation space, checkpoint round
// trip through the struct), the entropy schedule, and the cost window.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/sa_common.h"
#include "core/err.h"
#include "tests/check.h"

// kp = kd = 0: projected dual ascent. While the integral stays positive, the sum of the errors
// equals (lambda_end - lambda_start) / ki exactly (up to float rounding of the doubles, 1e-9).
static void test_pid_integral(void) {
  sa_pid_params_t p = {0.5, 0, 0, 1e6};
  sa_pid_t c;
  sa_pid_init(&c, 3.0);
  double jc[] = {1.0, 0.2, 0.9, 0.5, 0.3, 0.6}, limit = 0.35, sum = 0;
  for (int i = 0; i < 6; i++) {
    sa_pid_update(&c, &p, jc[i], limit);
    sum += jc[i] - limit;
  }
  CHECK_NEAR((c.lambda - 3.0) / p.ki, sum, 1e-9, "integral: sum of errors = delta lambda / ki");
  // Projection: a large negative error clamps the integral (and lambda) at 0, not below.
  sa_pid_update(&c, &p, -100.0, limit);
  CHECK_NEAR(c.integral, 0.0, 0.0, "integral clamped at 0");
  CHECK_NEAR(c.lambda, 0.0, 0.0, "lambda clamped at 0");
}

static void test_pid_terms(void) {
  sa_pid_params_t p = {1.0, 10.0, 4.0, 1e6};
  sa_pid_t c;
  sa_pid_init(&c, 2.0);
  // First update: no previous J_c, so no derivative term. I = 2 + 0.25, lambda = I + 10 * 0.25.
  double l1 = sa_pid_update(&c, &p, 0.6, 0.35);
  CHECK_NEAR(l1, 2.25 + 2.5, 1e-12, "P and I terms");
  // J_c rises by 0.1: derivative term 4 * 0.1 on top.
  double l2 = sa_pid_update(&c, &p, 0.7, 0.35);
  CHECK_NEAR(l2, (2.25 + 0.35) + 10 * 0.35 + 4 * 0.1, 1e-12, "P, I and D terms");
  // J_c falls: the derivative term is one-sided (Stooke et al. 2020), so it adds nothing.
  double l3 = sa_pid_update(&c, &p, 0.5, 0.35);
  CHECK_NEAR(l3, (2.6 + 0.15) + 10 * 0.15, 1e-12, "no derivative term on a fall");
  p.lambda_max = 3.0;
  CHECK_NEAR(sa_pid_update(&c, &p, 0.5, 0.35), 3.0, 0.0, "lambda_max");
}

// The gridworld's optimum at limit 0.35 in miniature: the policy picks the goal path (return
// 9.1, cost 0.6) with probability q = sigmoid(u) and the pocket (-5, 0.1) otherwise; the policy
// ascends the Lagrangian R(q) - lambda C(q) (exact gradient), the multiplier is the PID. The
// optimum is q = 1/2: return 2.05, cost 0.35, lambda* = 28.2. This is a bilinear game in (q,
// lambda): plain dual ascent circles the saddle, so only its time average is right; the
// proportional term turns the circle into a converging spiral.
static void mixture_game(double kp, int iters, double *avg_ret, double *avg_cost, double *last_q,
                         double *last_lambda) {
  sa_pid_params_t p = {0.5, kp, 0, 1e6};
  sa_pid_t c;
  sa_pid_init(&c, 0.0);
  double u = 3.0, lr = 0.05, sr = 0, sc = 0;  // start near the goal path (q = 0.95)
  int window = iters / 10;
  for (int it = 0; it < iters; it++) {
    double q = 1.0 / (1.0 + exp(-u));
    double ret = -5 + 14.1 * q, cost = 0.1 + 0.5 * q;
    double lambda = sa_pid_update(&c, &p, cost, 0.35);
    u += lr * q * (1 - q) * (14.1 - lambda * 0.5);  // d/du of R - lambda C
    if (it >= iters - window) {
      sr += ret;
      sc += cost;
    }
  }
  *avg_ret = sr / window;
  *avg_cost = sc / window;
  *last_q = 1.0 / (1.0 + exp(-u));
  *last_lambda = c.lambda;
}

static void test_pid_mixture(void) {
  double r, cst, q, lam;
  // Plain dual ascent: over a window spanning whole cycles, the average is the optimum
  // (tolerance 0.1 in return, 0.01 in cost: the window is not a whole number of cycles).
  mixture_game(0.0, 200000, &r, &cst, &q, &lam);
  CHECK_NEAR(cst, 0.35, 0.01, "plain dual ascent: average cost over the last 10%");
  CHECK_NEAR(r, 2.05, 0.1, "plain dual ascent: average return over the last 10%");
  // With the proportional term the last iterate converges: q -> 1/2, lambda -> 28.2.
  mixture_game(20.0, 200000, &r, &cst, &q, &lam);
  CHECK_NEAR(q, 0.5, 1e-3, "PI multiplier: last-iterate mixing probability");
  CHECK_NEAR(lam, 28.2, 0.05, "PI multiplier: last-iterate lambda");
  CHECK_NEAR(r, 2.05, 0.01, "PI multiplier: average return");
  CHECK_NEAR(cst, 0.35, 1e-3, "PI multiplier: average cost");
}

static void test_counts(void) {
  sa_counts_t *c = calloc(1, sizeof *c);
  CHECK(c != NULL, "alloc");
  if (!c) return;
  // Two observations (dim 2), discrete actions (dim 1); rows: (A,0) x3, (A,1) x1, (B,0) x1 and
  // one invalid row of (B,0) that must not count.
  float obs[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 2};
  float act[] = {0, 0, 0, 1, 0, 0};
  uint8_t valid[] = {1, 1, 1, 1, 1, 0};
  float rew[6] = {0}, cost[6] = {1, 1, 1, 1, 1, 1};
  int rc = sa_count_bonus(c, "test", obs, 2, act, 1, valid, 6, 2.0, 0.5, rew, cost);
  CHECK(rc == 0, "count_bonus rc %d", rc);
  CHECK_NEAR(sa_count_get(c, obs, 2, act, 1), 3, 0, "n(A,0)");
  CHECK_NEAR(sa_count_get(c, obs + 6, 2, act + 3, 1), 1, 0, "n(A,1)");
  CHECK_NEAR(sa_count_get(c, obs + 8, 2, act + 4, 1), 1, 0, "n(B,0): the invalid row not counted");
  CHECK(c->n_keys == 3, "distinct pairs %d", c->n_keys);
  // Every row of the batch sees the batch's final count: beta / sqrt(n).
  for (int i = 0; i < 3; i++) {
    CHECK_NEAR(rew[i], 2.0 / sqrt(3.0), 1e-6, "reward bonus of (A,0)");
    CHECK_NEAR(cost[i], 1 - 0.5 / sqrt(3.0), 1e-6, "cost optimism of (A,0)");
  }
  CHECK_NEAR(rew[3], 2.0, 1e-6, "reward bonus of a pair seen once");
  CHECK_NEAR(cost[4], 0.5, 1e-6, "cost optimism of a pair seen once");
  CHECK_NEAR(rew[5], 0, 0, "invalid row untouched");
  CHECK_NEAR(cost[5], 1, 0, "invalid row untouched");
  // A second batch keeps counting: the bonus shrinks as 1/sqrt(n).
  float r2[1] = {0};
  sa_count_bonus(c, "test", obs, 2, act, 1, NULL, 1, 1.0, 0, r2, NULL);
  CHECK_NEAR(r2[0], 0.5, 1e-6, "bonus after 4 visits");
  free(c);

  // A continuous observation space overflows the table: a clear input error, not a crash.
  c = calloc(1, sizeof *c);
  int n = SA_COUNT_CAP + 10;
  float *o = calloc(n, sizeof(float)), *a = calloc(n, sizeof(float));
  float *rw = calloc(n, sizeof(float));
  if (c && o && a && rw) {
    for (int i = 0; i < n; i++) o[i] = (float)i * 0.001f;
    rc = sa_count_bonus(c, "ppo_lag", o, 1, a, 1, NULL, n, 1, 1, rw, NULL);
    CHECK(rc == ERR_INPUT, "overflow rc %d", rc);
    CHECK(strstr(err_message(), "ppo_lag") && strstr(err_message(), "discrete"),
          "message names the algorithm and the reason: %s", err_message());
  }
  free(c);
  free(o);
  free(a);
  free(rw);
}

static void test_entropy_schedule(void) {
  CHECK_NEAR(sa_entropy_coef(0.1, 0, 500, 1000), 0.1, 0, "no decay: constant");
  CHECK_NEAR(sa_entropy_coef(0.1, 1, 0, 1000), 0.1, 1e-15, "decay: full at the start");
  CHECK_NEAR(sa_entropy_coef(0.1, 1, 750, 1000), 0.025, 1e-15, "decay: linear");
  CHECK_NEAR(sa_entropy_coef(0.1, 1, 2000, 1000), 0, 0, "decay: 0 past the end");
}

static void test_window(void) {
  sa_window_t w;
  sa_window_init(&w, 3);
  CHECK_NEAR(sa_window_mean(&w, 7.0), 7.0, 0, "empty window: fallback");
  float x[] = {1, 2, 3, 4, 5};
  sa_window_push(&w, x, 5);
  CHECK_NEAR(sa_window_mean(&w, 0), 4.0, 1e-12, "window keeps the last 3");
}

int main(void) {
  test_pid_integral();
  test_pid_terms();
  test_pid_mixture();
  test_counts();
  test_entropy_schedule();
  test_window();
  return check_report("test_sa_common");
}
