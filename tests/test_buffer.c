// test_buffer: GAE against values computed by hand (terminal mid-rollout, time-limit truncation
// with and without proper_time_limits, two agents sharing their env copy's done flag), the cost
// GAE with its own gamma/lambda, buf_roll, buf_standardize and buf_create's checks.
// All hand values use gamma = 0.9, lambda = 0.8 (gamma*lambda = 0.72) unless stated; tolerance
// 1e-5 absolute (float storage of numbers below 20: rounding ~1e-6).
#include <math.h>
#include <string.h>

#include "core/buffer.h"
#include "core/err.h"
#include "core/rng.h"
#include "tests/check.h"

#define TOL 1e-5

// T = 4, E = 2 env copies, A = 2 agents: lane n = e*A + a, rows [t][lane].
enum { T = 4, E = 2, A = 2, L = E * A };
static const float kRewards[T][L] = {
    {1, 0, 0.5f, 1}, {2, 0, 0.5f, 1}, {3, 0, 0.5f, 1}, {4, 1, 0.5f, 1}};
static const float kValues[T + 1][L] = {
    {0.5f, 0, 1, 2}, {1.0f, 5, 1, 2}, {1.5f, 0, 1, 2}, {2.0f, 0, 1, 2}, {2.5f, 10, 1, 2}};
// Env 0 terminates after step 1; env 1 hits the time limit after step 2.
static const uint8_t kDone[T][E] = {{0, 0}, {1, 0}, {0, 1}, {0, 0}};
static const uint8_t kTrunc[T][E] = {{0, 0}, {0, 0}, {0, 1}, {0, 0}};
// V(final obs) is only meaningful at env 1, t = 2; 99 elsewhere must never be read.
static const float kBoot[T][L] = {
    {99, 99, 99, 99}, {99, 99, 99, 99}, {99, 99, 3, -1}, {99, 99, 99, 99}};

// Hand computation, lane by lane (delta_t = r_t + 0.9 next - v_t, A_t = delta_t + 0.72 A_{t+1}
// unless done_t):
// lane 0 (env 0): t3 d=4+2.25-2=4.25 A=4.25 | t2 d=3+1.8-1.5=3.3 A=3.3+0.72*4.25=6.36
//   | t1 done d=2-1=1 A=1 | t0 d=1+0.9-0.5=1.4 A=1.4+0.72=2.12
// lane 1 (env 0, shares the done at t1): t3 d=1+9=10 A=10 | t2 d=0 A=7.2 | t1 done d=-5 A=-5
//   | t0 d=4.5 A=4.5-3.6=0.9   (without the shared cut A1 would be -5+0.72*7.2=0.184)
// lane 2 (env 1), truncation as terminal: t3 d=0.4 A=0.4 | t2 done d=0.5-1=-0.5 A=-0.5
//   | t1 d=0.4 A=0.4-0.36=0.04 | t0 A=0.4+0.0288=0.4288
// lane 3 (env 1), truncation as terminal: t3 d=1+1.8-2=0.8 | t2 d=-1 | t1 0.8-0.72=0.08
//   | t0 0.8+0.0576=0.8576
// with proper_time_limits (lanes 2, 3 at t2 bootstrap from 3 and -1):
// lane 2: t2 d=0.5+2.7-1=2.2 A=2.2 | t1 0.4+1.584=1.984 | t0 0.4+1.42848=1.82848
// lane 3: t2 d=1-0.9-2=-1.9 | t1 0.8-1.368=-0.568 | t0 0.8-0.40896=0.39104
static const float kAdvTerminal[T][L] = {{2.12f, 0.9f, 0.4288f, 0.8576f},
                                         {1, -5, 0.04f, 0.08f},
                                         {6.36f, 7.2f, -0.5f, -1},
                                         {4.25f, 10, 0.4f, 0.8f}};
static const float kAdvProper[T][L] = {{2.12f, 0.9f, 1.82848f, 0.39104f},
                                       {1, -5, 1.984f, -0.568f},
                                       {6.36f, 7.2f, 2.2f, -1.9f},
                                       {4.25f, 10, 0.4f, 0.8f}};

// adv and ret are flat [T][L] arrays.
static void check_gae(const float *adv, const float *ret, const float want[T][L],
                      const char *what) {
  for (int t = 0; t < T; t++)
    for (int n = 0; n < L; n++) {
      CHECK_NEAR(adv[t * L + n], want[t][n], TOL, what);
      CHECK_NEAR(ret[t * L + n], want[t][n] + kValues[t][n], TOL, "return = advantage + value");
    }
}

// Property: GAE over 4 lanes with one done flag per env copy matches the hand values, with the
// truncation cut (proper_time_limits = 0, boot may be NULL) or bootstrapped (= 1).
static void test_gae_hand(void) {
  float adv[T][L], ret[T][L];
  buf_gae(&kRewards[0][0], &kValues[0][0], NULL, &kDone[0][0], &kTrunc[0][0], T, L, A, 0.9f, 0.8f,
          0, &adv[0][0], &ret[0][0]);
  check_gae(&adv[0][0], &ret[0][0], kAdvTerminal, "gae, truncation as terminal (boot NULL)");
  buf_gae(&kRewards[0][0], &kValues[0][0], &kBoot[0][0], &kDone[0][0], &kTrunc[0][0], T, L, A, 0.9f,
          0.8f, 0, &adv[0][0], &ret[0][0]);
  check_gae(&adv[0][0], &ret[0][0], kAdvTerminal, "gae, truncation as terminal (boot ignored)");
  buf_gae(&kRewards[0][0], &kValues[0][0], &kBoot[0][0], &kDone[0][0], &kTrunc[0][0], T, L, A, 0.9f,
          0.8f, 1, &adv[0][0], &ret[0][0]);
  check_gae(&adv[0][0], &ret[0][0], kAdvProper, "gae, proper time limits");
}

// Property: the last step. A done at t = T-1 ignores the bootstrap row values[T] (7 here);
// without a done, values[T] is used. One lane, T = 2, r = (1, 1), v = (0, 0, 7):
//   done+truncated, proper: A1 = 1 + 0.9*4 = 4.6, A0 = 1 + 0.72*4.6 = 4.312
//   done (cut):             A1 = 1,               A0 = 1 + 0.72 = 1.72
//   not done:               A1 = 1 + 0.9*7 = 7.3, A0 = 1 + 0.72*7.3 = 6.256
static void test_gae_last_step(void) {
  const float r[2] = {1, 1}, v[3] = {0, 0, 7}, boot[2] = {99, 4};
  const uint8_t done[2] = {0, 1}, trunc[2] = {0, 1}, none[2] = {0, 0};
  float adv[2], ret[2];
  buf_gae(r, v, boot, done, trunc, 2, 1, 1, 0.9f, 0.8f, 1, adv, ret);
  CHECK_NEAR(adv[1], 4.6, TOL, "last-step truncation bootstrapped A1");
  CHECK_NEAR(adv[0], 4.312, TOL, "last-step truncation bootstrapped A0");
  buf_gae(r, v, boot, done, trunc, 2, 1, 1, 0.9f, 0.8f, 0, adv, ret);
  CHECK_NEAR(adv[1], 1.0, TOL, "last-step truncation cut A1");
  CHECK_NEAR(adv[0], 1.72, TOL, "last-step truncation cut A0");
  buf_gae(r, v, NULL, none, none, 2, 1, 1, 0.9f, 0.8f, 0, adv, ret);
  CHECK_NEAR(adv[1], 7.3, TOL, "no done: bootstrap row A1");
  CHECK_NEAR(adv[0], 6.256, TOL, "no done: bootstrap row A0");
  CHECK_NEAR(ret[1], 7.3, TOL, "no done: R1 = A1 + v1");
}

static int fill_buffer(buf_t *b) {
  int rc = buf_create(b, T, E, A, 3, 5, 2);
  if (rc) return rc;
  memcpy(b->rewards, kRewards, sizeof kRewards);
  memcpy(b->values, kValues, sizeof kValues);
  memcpy(b->boot_values, kBoot, sizeof kBoot);
  memcpy(b->costs, kRewards, sizeof kRewards);  // same numbers, different gamma/lambda
  memcpy(b->cost_values, kValues, sizeof kValues);
  memcpy(b->boot_cost_values, kBoot, sizeof kBoot);
  memcpy(b->done, kDone, sizeof kDone);
  memcpy(b->truncated, kTrunc, sizeof kTrunc);
  return 0;
}

// Property: buf_compute_advantages fills adv/ret from rewards with (gamma, lambda) and
// cost_adv/cost_ret from costs with (cost_gamma, cost_lambda), over lanes E*A.
// Cost lane 0 by hand with cost gamma 0.5, lambda 1 (product 0.5):
//   t3 d=4+1.25-2=3.25 | t2 d=3+1-1.5=2.5, A=2.5+1.625=4.125 | t1 done d=2-1=1 | t0 d=1+0.5-0.5=1,
//   A=1+0.5=1.5. Other cost lanes are compared with buf_gae called directly (1e-6).
static void test_compute_advantages(void) {
  buf_t b;
  CHECK(fill_buffer(&b) == 0, "buf_create: %s", err_message());
  if (!b.adv) return;
  buf_compute_advantages(&b, 0.9f, 0.8f, 0.5f, 1.0f, 1);
  check_gae(b.adv, b.ret, kAdvProper, "buffer reward gae");
  const float want_cost0[T] = {1.5f, 1.0f, 4.125f, 3.25f};
  for (int t = 0; t < T; t++) {
    CHECK_NEAR(b.cost_adv[t * L], want_cost0[t], TOL, "cost gae lane 0");
    CHECK_NEAR(b.cost_ret[t * L], want_cost0[t] + kValues[t][0], TOL, "cost return lane 0");
  }
  float adv[T][L], ret[T][L];
  buf_gae(&kRewards[0][0], &kValues[0][0], &kBoot[0][0], &kDone[0][0], &kTrunc[0][0], T, L, A, 0.5f,
          1.0f, 1, &adv[0][0], &ret[0][0]);
  for (int t = 0; t < T; t++)
    for (int n = 0; n < L; n++) {
      CHECK_NEAR(b.cost_adv[t * L + n], adv[t][n], 1e-6, "cost gae vs buf_gae");
      CHECK_NEAR(b.cost_ret[t * L + n], ret[t][n], 1e-6, "cost return vs buf_gae");
    }
  buf_destroy(&b);
  CHECK(b.adv == NULL && b.obs == NULL && b.T == 0, "buf_destroy clears the struct");
}

// Property: the team cost's GAE runs on team_costs [T][E] against agent 0's cost values: when
// the team cost is agent 0's cost (a shared team cost copied to every agent, MAMuJoCo) it equals
// cost lane 0 bit for bit; when it is the sum over agents (the drone swarm) it is that sum's GAE,
// here by hand for env 0 with cost gamma 0.5, lambda 1 (team costs = lanes 0 + 1 of kRewards:
// 1, 2, 3, 5; values lane 0): t3 d=5+1.25-2=4.25 | t2 d=3+1-1.5=2.5, A=2.5+2.125=4.625 |
// t1 done d=2-1=1 | t0 d=1+0.5-0.5=1, A=1.5.
static void test_team_cost(void) {
  buf_t b;
  CHECK(fill_buffer(&b) == 0, "buf_create: %s", err_message());
  if (!b.adv) return;
  for (int t = 0; t < T; t++)
    for (int e = 0; e < E; e++) b.team_costs[t * E + e] = kRewards[t][e * A];
  buf_compute_advantages(&b, 0.9f, 0.8f, 0.5f, 1.0f, 1);
  for (int t = 0; t < T; t++)
    for (int e = 0; e < E; e++) {
      CHECK(b.team_cost_adv[t * E + e] == b.cost_adv[t * L + e * A], "team gae != lane 0 at %d,%d",
            t, e);
      CHECK(b.team_cost_ret[t * E + e] == b.cost_ret[t * L + e * A], "team return != lane 0");
    }
  for (int t = 0; t < T; t++)
    for (int e = 0; e < E; e++)
      b.team_costs[t * E + e] = kRewards[t][e * A] + kRewards[t][e * A + 1];
  buf_compute_advantages(&b, 0.9f, 0.8f, 0.5f, 1.0f, 1);
  const float want[T] = {1.5f, 1.0f, 4.625f, 4.25f};
  for (int t = 0; t < T; t++) {
    CHECK_NEAR(b.team_cost_adv[t * E], want[t], TOL, "summed team cost gae, env 0");
    CHECK_NEAR(b.team_cost_ret[t * E], want[t] + kValues[t][0], TOL, "summed team cost return");
  }
  buf_destroy(&b);
}

// Property: buf_roll copies row T to row 0 of obs, share_obs, values and cost_values, and
// leaves the other rows alone (exact copies, so exact comparisons).
static void test_roll(void) {
  buf_t b;
  CHECK(buf_create(&b, T, E, A, 3, 5, 2) == 0, "buf_create: %s", err_message());
  if (!b.obs) return;
  int n_obs = E * A * 3, n_share = E * 5;
  for (int i = 0; i < (T + 1) * n_obs; i++) b.obs[i] = (float)i;
  for (int i = 0; i < (T + 1) * n_share; i++) b.share_obs[i] = (float)(1000 + i);
  for (int i = 0; i < (T + 1) * L; i++) b.values[i] = (float)(2000 + i);
  for (int i = 0; i < (T + 1) * L; i++) b.cost_values[i] = (float)(3000 + i);
  buf_roll(&b);
  for (int i = 0; i < n_obs; i++) {
    CHECK(b.obs[i] == (float)(T * n_obs + i), "obs row 0 [%d] = %g", i, b.obs[i]);
    CHECK(b.obs[n_obs + i] == (float)(n_obs + i), "obs row 1 changed [%d]", i);
  }
  for (int i = 0; i < n_share; i++)
    CHECK(b.share_obs[i] == (float)(1000 + T * n_share + i), "share_obs row 0 [%d]", i);
  for (int i = 0; i < L; i++) {
    CHECK(b.values[i] == (float)(2000 + T * L + i), "values row 0 [%d]", i);
    CHECK(b.cost_values[i] == (float)(3000 + T * L + i), "cost_values row 0 [%d]", i);
    CHECK(b.values[T * L + i] == (float)(2000 + T * L + i), "values row T kept [%d]", i);
  }
  buf_destroy(&b);
}

// Property: standardisation with the population std, centring only when !scale, and a shifted
// random sample comes out with mean 0 and std 1 (1e-4: float storage of values near 100).
static void test_standardize(void) {
  float x[5] = {1, 2, 3, 4, 5}, y[5] = {1, 2, 3, 4, 5};
  buf_standardize(x, 5, 1, 1e-5f);
  for (int i = 0; i < 5; i++)
    CHECK_NEAR(x[i], (i + 1 - 3.0) / (sqrt(2.0) + 1e-5), 1e-6, "standardize 1..5");
  buf_standardize(y, 5, 0, 1e-5f);
  for (int i = 0; i < 5; i++) CHECK_NEAR(y[i], i + 1 - 3.0, 1e-6, "centre only 1..5");
  float one = 7.0f;
  buf_standardize(&one, 1, 1, 1e-5f);
  CHECK_NEAR(one, 0.0, 0.0, "single element -> 0 (std 0 guarded by eps)");
  buf_standardize(NULL, 0, 1, 1e-5f);  // empty: nothing to do, must not crash

  enum { M = 4096 };
  static float z[M];
  rng_t rng;
  rng_seed(&rng, 7);
  for (int i = 0; i < M; i++) z[i] = (float)(100.0 + 3.0 * rng_normal(&rng));
  buf_standardize(z, M, 1, 1e-8f);
  double s = 0.0, ss = 0.0;
  for (int i = 0; i < M; i++) s += z[i], ss += (double)z[i] * z[i];
  CHECK_NEAR(s / M, 0.0, 1e-4, "standardized mean");
  CHECK_NEAR(sqrt(ss / M - (s / M) * (s / M)), 1.0, 1e-4, "standardized std");
}

// Property: buf_create rejects bad sizes with ERR_INPUT and zero-fills what it allocates.
static void test_create(void) {
  buf_t b;
  CHECK(buf_create(&b, 0, 1, 1, 1, 1, 1) == ERR_INPUT, "T = 0 accepted");
  CHECK(buf_create(&b, 4, 1, -1, 1, 1, 1) == ERR_INPUT, "A = -1 accepted");
  CHECK(b.obs == NULL, "rejected buffer holds memory");
  CHECK(buf_create(&b, 3, 2, 2, 4, 6, 1) == ERR_OK, "buf_create: %s", err_message());
  if (!b.done) return;
  CHECK(b.T == 3 && b.E == 2 && b.A == 2 && b.obs_dim == 4 && b.share_dim == 6 && b.act_dim == 1,
        "sizes not stored");
  int zero = 1;
  for (int i = 0; i < 4 * 2 * 2 * 4; i++) zero &= b.obs[i] == 0.0f;
  for (int i = 0; i < 3 * 2; i++) zero &= b.done[i] == 0 && b.truncated[i] == 0;
  for (int i = 0; i < 3 * 2 * 2; i++) zero &= b.cost_ret[i] == 0.0f && b.boot_values[i] == 0.0f;
  CHECK(zero, "buffer not zero-initialised");
  buf_destroy(&b);
}

int main(void) {
  test_gae_hand();
  test_gae_last_step();
  test_team_cost();
  test_compute_advantages();
  test_roll();
  test_standardize();
  test_create();
  return check_report("test_buffer");
}
