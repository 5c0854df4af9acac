// test_mappo_lag: mappo_lag's multiplier rules through its class (algorithms/mappo_lag.c; the
// cost critics and the released pipeline are pinned in test_qcritic.c).
// - lambda_update pid: over a sequence of updates with chosen episodic costs (above, below and
//   far below the limit, and an update in which no episode ended) every agent's multiplier is
//   the hand-computed PID value max(0, kp e + I + kd max(0, J - J_prev)), I = max(0, I + ki e),
//   I starting at lambda_init; the lambda statistic reports it; an update without episodes
//   keeps it; the controller state is in the checkpoint (save -> load into a fresh instance ->
//   one more update on both gives identical bytes) and makes it longer than the gradient
//   rule's by exactly that state.
// - lambda_update gradient with lambda_lr 0 keeps lambda_init (the released fixed penalty).
// - lambda_cap: under a large violation the gradient rule's multiplier passes 1.5 without a cap
//   and stops at exactly the cap with one; the PID rule's too, and its integral does not wind
//   up past the cap (the first update under the limit lowers lambda at once).
// - cost_margin: with a proportional-only PID the multiplier is kp (J - d (1 - m)): positive for
//   a cost between the target and the limit, where without the margin it stays 0; the
//   gradient rule's multiplier rises there with the margin and falls without it.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/actor_critic.h"
#include "core/err.h"
#include "tests/check.h"
#include "tests/test_ac_util.h"

static void *create(const char *const *ov, double cost_limit, void **params_out) {
  const algo_class_t *cls = algo_find("mappo_lag");
  void *params = cls ? tu_params(cls, ov) : NULL;
  *params_out = params;
  if (!params) return NULL;
  env_spec_t spec = tu_spec("test_mappo_lag");
  algo_run_info_t run = {7, TU_RT, TU_RE, 1000, cost_limit};
  void *algo = NULL;
  if (cls->create(&spec, params, &run, &algo) != 0) return NULL;
  return algo;
}

// One update on a fresh rollout whose finished episodes have the given costs (n may be 0).
static int update_with(void *algo, const float *costs, int n, uint64_t seed, double *stats) {
  const algo_class_t *cls = algo_find("mappo_lag");
  buf_t buf;
  int rc = tu_fill_rollout(cls, algo, &buf, seed);
  if (rc) return rc;
  float ret[4] = {0}, len[4] = {4, 4, 4, 4};
  algo_rollout_info_t info = {0, TU_RT * TU_RE, n, ret, costs, len, NULL};
  rng_t u;
  rng_stream(&u, seed, "update", 0);
  rc = cls->update(algo, &buf, &info, &u, stats);
  buf_destroy(&buf);
  return rc;
}

static void test_pid(void) {
  const double kp = 0.5, ki = 0.25, kd = 0.75, init = 1.0, d = 2.0;
  const char *const ov[] = {"algo.hidden=16",        "algo.lambda_update=pid", "algo.pid_kp=0.5",
                            "algo.pid_ki=0.25",      "algo.pid_kd=0.75",       "algo.lambda_init=1",
                            NULL};
  void *params;
  void *algo = create(ov, d, &params);
  if (!algo) {
    CHECK(0, "create: %s", err_message());
    free(params);
    return;
  }
  // Episode costs per update (-1: no episode ended in that rollout).
  const float seq[][2] = {{5, 3}, {6, 6}, {-1, 0}, {1, 1}, {0, 0}, {0, 0},
                          {0, 0}, {0, 0}, {0, 0}, {0, 0}, {9, 7}};
  const int n_seq = (int)(sizeof seq / sizeof seq[0]);
  double I = init, jprev = 0, lambda = init;
  int have_prev = 0;
  double stats[ALGO_MAX_STATS];
  for (int k = 0; k < n_seq; k++) {
    int n = seq[k][0] < 0 ? 0 : 2;
    if (n) {
      double j = 0.5 * ((double)seq[k][0] + seq[k][1]), e = j - d;
      I = fmax(0.0, I + ki * e);
      lambda = fmax(0.0, kp * e + I + kd * (have_prev ? fmax(0.0, j - jprev) : 0.0));
      jprev = j;
      have_prev = 1;
    }
    int rc = update_with(algo, seq[k], n, 100 + (uint64_t)k, stats);
    CHECK(rc == 0, "update %d: %s", k, err_message());
    CHECK_NEAR(stats[0], lambda, 1e-6 * (1 + lambda), "pid lambda (mean over agents)");
    CHECK_NEAR(stats[1], lambda, 1e-6 * (1 + lambda), "pid lambda (max over agents)");
  }
  // The sequence clamps I at 0 (six zero-cost updates) and then rises sharply.
  CHECK(lambda > 5.0, "the hand sequence should end with a large multiplier, got %g", lambda);

  // Exact resume: the controller state travels in the checkpoint.
  const algo_class_t *cls = algo_find("mappo_lag");
  void *params2;
  void *other = create(ov, d, &params2);
  ckpt_t k1, k2, k3;
  int rc = other ? tu_class_bytes(cls, algo, &k1) : -1;
  if (!rc) rc = tu_class_load(cls, other, &k1);
  const float next[2] = {1, 2};
  double s1[ALGO_MAX_STATS], s2[ALGO_MAX_STATS];
  if (!rc) rc = update_with(algo, next, 2, 999, s1);
  if (!rc) rc = update_with(other, next, 2, 999, s2);
  if (!rc) rc = tu_class_bytes(cls, algo, &k2);
  if (!rc) rc = tu_class_bytes(cls, other, &k3);
  CHECK(rc == 0, "resume: %s", err_message());
  if (!rc) {
    CHECK(k2.len == k3.len && !memcmp(k2.data, k3.data, k2.len),
          "pid: an update after save/load differs from the uninterrupted one");
    CHECK(s1[0] == s2[0], "pid: resumed lambda %g vs %g", s2[0], s1[0]);
    ckpt_free(&k2);
    ckpt_free(&k3);
  }
  if (other) {
    // The gradient rule's checkpoint of the same network is shorter by the controller state.
    const char *const ovg[] = {"algo.hidden=16", NULL};
    void *pg;
    void *grad = create(ovg, d, &pg);
    ckpt_t kg;
    if (grad && tu_class_bytes(cls, grad, &kg) == 0) {
      CHECK(k1.len == kg.len + 2 * sizeof(double) + sizeof(int),
            "pid checkpoint %zu bytes, gradient %zu: want the difference 20", k1.len, kg.len);
      ckpt_free(&kg);
    } else {
      CHECK(0, "gradient instance: %s", err_message());
    }
    if (grad) cls->destroy(grad);
    free(pg);
    ckpt_free(&k1);
    cls->destroy(other);
  }
  free(params2);
  cls->destroy(algo);
  free(params);
}

static void test_fixed_penalty(void) {
  const char *const ov[] = {"algo.hidden=16", "algo.lambda_lr=0", "algo.lambda_init=0.78", NULL};
  void *params;
  void *algo = create(ov, 2.0, &params);
  if (!algo) {
    CHECK(0, "create: %s", err_message());
    free(params);
    return;
  }
  const float costs[2] = {50, 40};
  double stats[ALGO_MAX_STATS];
  for (int k = 0; k < 3; k++) {
    CHECK(update_with(algo, costs, 2, 200 + (uint64_t)k, stats) == 0, "update: %s",
          err_message());
    CHECK(stats[0] == (double)0.78f, "lambda_lr 0: lambda moved to %.9g", stats[0]);
  }
  algo_find("mappo_lag")->destroy(algo);
  free(params);
}

// Multiplier after `n` updates at episode costs `costs` (statistic 0: mean over agents).
static double lambda_after(const char *const *ov, const float *costs, int n, double *out_max) {
  void *params;
  void *algo = create(ov, 2.0, &params);
  if (!algo) {
    CHECK(0, "create: %s", err_message());
    free(params);
    return NAN;
  }
  double stats[ALGO_MAX_STATS], peak = 0;
  for (int k = 0; k < n; k++) {
    CHECK(update_with(algo, costs + 2 * k, 2, 300 + (uint64_t)k, stats) == 0, "update: %s",
          err_message());
    peak = fmax(peak, stats[1]);
  }
  if (out_max) *out_max = peak;
  algo_find("mappo_lag")->destroy(algo);
  free(params);
  return stats[0];
}

static void test_cap(void) {
  const float high[8] = {500, 400, 500, 400, 500, 400, 500, 400};
  const char *const free_ov[] = {"algo.hidden=16", "algo.lambda_lr=0.5", "algo.lambda_init=1",
                                 NULL};
  const char *const cap_ov[] = {"algo.hidden=16", "algo.lambda_lr=0.5", "algo.lambda_init=1",
                                "algo.lambda_cap=1.5", NULL};
  double peak;
  double uncapped = lambda_after(free_ov, high, 3, NULL);
  double capped = lambda_after(cap_ov, high, 3, &peak);
  CHECK(uncapped > 1.6, "no cap: lambda passes 1.5 (%g)", uncapped);
  CHECK(capped == (double)1.5f && peak == (double)1.5f, "cap 1.5: lambda %g, peak %g", capped,
        peak);
  // PID: four updates far above the limit, then one at the limit (e = 0, no rise).
  const float seq[10] = {500, 500, 500, 500, 500, 500, 500, 500, 2, 2};
  const char *const pid_ov[] = {"algo.hidden=16", "algo.lambda_update=pid", "algo.pid_kp=0",
                                "algo.pid_ki=0.1", "algo.pid_kd=0", "algo.lambda_init=0",
                                "algo.lambda_cap=3", NULL};
  double at_limit = lambda_after(pid_ov, seq, 5, &peak);
  CHECK(peak == 3.0 && at_limit == 3.0, "pid: capped at 3 (peak %g), held at the limit (%g)",
        peak, at_limit);
  const float down[12] = {500, 500, 500, 500, 500, 500, 500, 500, 2, 2, 0, 0};
  double below = lambda_after(pid_ov, down, 6, NULL);
  CHECK(fabs(below - 2.8) < 1e-6, "pid: the integral was held at the cap, so one update 2 below "
        "the limit lowers lambda to 3 - 0.1 x 2 = 2.8 (%g)", below);
}

static void test_margin(void) {
  // d = 2 (lambda_after), margin 0.25: the learner aims at 1.5; episodes cost 1.75.
  const float between[4] = {1.75f, 1.75f, 1.75f, 1.75f};
  const char *const p_plain[] = {"algo.hidden=16", "algo.lambda_update=pid", "algo.pid_kp=2",
                                 "algo.pid_ki=0", "algo.pid_kd=0", "algo.lambda_init=0", NULL};
  const char *const p_margin[] = {"algo.hidden=16", "algo.lambda_update=pid", "algo.pid_kp=2",
                                  "algo.pid_ki=0",  "algo.pid_kd=0",         "algo.lambda_init=0",
                                  "algo.cost_margin=0.25", NULL};
  double plain = lambda_after(p_plain, between, 1, NULL);
  double margin = lambda_after(p_margin, between, 1, NULL);
  CHECK(plain == 0.0, "pid without margin at cost 1.75 < d = 2: lambda %g, want 0", plain);
  CHECK(fabs(margin - 2.0 * 0.25) < 1e-6, "pid margin 0.25: lambda %g, want kp (1.75 - 1.5) = 0.5",
        margin);
  const char *const g_plain[] = {"algo.hidden=16", "algo.lambda_init=1", "algo.lambda_lr=0.5",
                                 "algo.constraint_scale=none", NULL};
  const char *const g_margin[] = {"algo.hidden=16", "algo.lambda_init=1", "algo.lambda_lr=0.5",
                                  "algo.constraint_scale=none", "algo.cost_margin=0.25", NULL};
  double gp = lambda_after(g_plain, between, 2, NULL);
  double gm = lambda_after(g_margin, between, 2, NULL);
  CHECK(gm > gp + 0.5, "gradient rule: with the margin lambda %g should end well above %g "
        "(the step's constraint term +0.25 vs -0.25 per minibatch)", gm, gp);
}

int main(void) {
  test_pid();
  test_fixed_penalty();
  test_cap();
  test_margin();
  return check_report("test_mappo_lag");
}
