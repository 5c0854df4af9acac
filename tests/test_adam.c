// test_adam: core/adam.c against hand-computed PyTorch-Adam steps, the placement of eps, the
// bias correction, and clipping by global norm (including gradients whose squares overflow float).
#include <math.h>
#include <string.h>

#include "core/adam.h"
#include "core/err.h"
#include "tests/check.h"

// Three steps with lr 0.1, eps 1e-8, by the torch.optim.Adam update
//   m = 0.9 m + 0.1 g,  v = 0.999 v + 0.001 g^2,
//   p -= lr/(1-0.9^t) * m / (sqrt(v/(1-0.999^t)) + eps).
// Step 1 moves each parameter by lr*sign(g) (m_hat = g, v_hat = g^2) and not at all where g = 0.
// Step 2, element 0 (g 0.5 then 0.1): m = 0.055, v = 0.00025975, m_hat = 0.055/0.19 = 0.289474,
// v_hat = 0.00025975/0.001999 = 0.129940, p = 0.9 - 0.1*0.289474/0.360472 = 0.819696.
// Step 2, element 2 (g 0 then -0.3): m = -0.03, v = 9e-5, p = 2 + 0.1*0.157895/0.212185 = 2.074414.
// Tolerance 1e-6: a few float32 ulps of parameters of size 1-2 (m and v are stored in float).
static void test_steps_match_hand_values(void) {
  static const float grads[3][3] = {{0.5f, -1.0f, 0.0f}, {0.1f, 0.2f, -0.3f}, {-0.4f, 0.0f, 0.25f}};
  static const double want[3][3] = {{0.900000002, -0.400000001, 2.000000000},
                                    {0.819695906, -0.348897394, 2.074413679},
                                    {0.810325966, -0.309394931, 2.077686313}};
  static const double want_m[3] = {0.0095, -0.063, -0.002};
  static const double want_v[3] = {0.00041949025, 0.001037961, 0.00015241};
  adam_t a;
  CHECK(adam_create(&a, 3, 0.1f, 1e-8f) == 0, "create: %s", err_message());
  float p[3] = {1.0f, -0.5f, 2.0f};
  for (int t = 0; t < 3; t++) {
    adam_step(&a, p, grads[t]);
    for (int i = 0; i < 3; i++) CHECK_NEAR(p[i], want[t][i], 1e-6, "parameter after step");
  }
  CHECK(a.t == 3, "step counter %lld", a.t);
  // Moments: m to 1e-6 relative (float storage, three rounded updates). v to 3e-5: the float
  // beta2 is 0.99900001, so 1 - beta2 = 0.00099998713 is 1.3e-5 below the decimal 0.001 used
  // above. The bias correction uses the same float beta2, so v_hat (and the step) is unaffected.
  for (int i = 0; i < 3; i++) {
    CHECK_CLOSE(a.m[i], want_m[i], 1e-6, 1e-12, "first moment");
    CHECK_CLOSE(a.v[i], want_v[i], 3e-5, 1e-15, "second moment");
  }
  adam_destroy(&a);
}

// eps is added to sqrt(v_hat), not inside it: with g = eps = 1e-8 the first step is
// lr * g / (|g| + eps) = lr/2, whereas sqrt(v_hat + eps) would give lr * 1e-4.
static void test_eps_outside_sqrt(void) {
  adam_t a;
  CHECK(adam_create(&a, 1, 0.1f, 1e-8f) == 0, "create: %s", err_message());
  float p = 0.0f, g = 1e-8f;
  adam_step(&a, &p, &g);
  CHECK_NEAR(p, -0.05, 1e-6, "first step with g = eps");
  adam_destroy(&a);
}

// With a constant gradient the bias corrections make m_hat = g and v_hat = g^2 at every step,
// so each step moves by lr (to eps/|g| = 2e-8 relative). Without them the first step would be
// 3.2 lr. Tolerance 1e-3: 200 steps of float rounding at |p| ~ 20 (ulp 2e-6).
static void test_bias_correction_constant_gradient(void) {
  adam_t a;
  CHECK(adam_create(&a, 2, 0.1f, 1e-8f) == 0, "create: %s", err_message());
  float p[2] = {0.0f, 0.0f}, g[2] = {0.5f, -3.0f};
  adam_step(&a, p, g);
  CHECK_NEAR(p[0], -0.1, 1e-7, "first step");
  CHECK_NEAR(p[1], 0.1, 1e-7, "first step");
  for (int t = 1; t < 200; t++) adam_step(&a, p, g);
  CHECK_NEAR(p[0], -20.0, 1e-3, "200 steps of constant gradient");
  CHECK_NEAR(p[1], 20.0, 1e-3, "200 steps of constant gradient");
  adam_destroy(&a);
}

static void test_create_validates(void) {
  adam_t a;
  CHECK(adam_create(&a, -1, 0.1f, 1e-8f) == ERR_INPUT, "negative size accepted");
  CHECK(adam_create(&a, 4, -0.1f, 1e-8f) == ERR_INPUT, "negative lr accepted");
  CHECK(adam_create(&a, 4, 0.1f, NAN) == ERR_INPUT, "NaN eps accepted");
  adam_destroy(&a);  // safe after a failed create
  CHECK(adam_create(&a, 4, 3e-4f, 1e-5f) == 0, "create: %s", err_message());
  CHECK(a.beta1 == 0.9f && a.beta2 == 0.999f && a.t == 0, "defaults");
  for (int i = 0; i < 4; i++) CHECK(a.m[i] == 0.0f && a.v[i] == 0.0f, "moments start at zero");
  adam_destroy(&a);
}

// Clipping: coefficient max_norm / (norm + 1e-6) as torch.nn.utils.clip_grad_norm_, applied only
// when below 1; the returned norm is the one before clipping.
static void test_clip_global_norm(void) {
  float g[2] = {3.0f, 4.0f};
  CHECK_NEAR(adam_clip_global_norm(g, 2, 1.0), 5.0, 1e-12, "norm before clipping");
  double coef = 1.0 / (5.0 + 1e-6);
  // 1e-7: float rounding of the scaled entries (ulp of 0.8 is 6e-8).
  CHECK_NEAR(g[0], 3.0 * coef, 1e-7, "clipped entry");
  CHECK_NEAR(g[1], 4.0 * coef, 1e-7, "clipped entry");
  CHECK(hypot(g[0], g[1]) <= 1.0 + 1e-7, "clipped norm %.9g", hypot(g[0], g[1]));

  float h[3] = {1.0f, -2.0f, 2.0f};  // norm 3
  const float h0[3] = {1.0f, -2.0f, 2.0f};
  CHECK_NEAR(adam_clip_global_norm(h, 3, 10.0), 3.0, 1e-12, "norm under the limit");
  CHECK(memcmp(h, h0, sizeof h) == 0, "gradient under the limit changed");
  CHECK_NEAR(adam_clip_global_norm(h, 3, 0.0), 3.0, 1e-12, "norm with clipping off");
  CHECK_NEAR(adam_clip_global_norm(h, 3, -1.0), 3.0, 1e-12, "norm with clipping off");
  CHECK(memcmp(h, h0, sizeof h) == 0, "max_norm <= 0 must not clip");

  // Squares of 3e19 overflow float (9e38 > FLT_MAX); the double sum does not.
  float big[4] = {3e19f, -3e19f, 3e19f, 3e19f};
  double norm = adam_clip_global_norm(big, 4, 1.0);
  CHECK_CLOSE(norm, 6e19, 1e-7, 0.0, "norm of huge gradient");
  for (int i = 0; i < 4; i++) CHECK_NEAR(fabsf(big[i]), 0.5, 1e-7, "huge gradient clipped");

  CHECK(adam_clip_global_norm(NULL, 0, 1.0) == 0.0, "empty gradient has norm 0");
  // A non-finite norm is reported and the gradient left alone for the caller to handle.
  float bad[2] = {NAN, 1.0f};
  CHECK(isnan(adam_clip_global_norm(bad, 2, 1.0)), "NaN norm reported");
  CHECK(bad[1] == 1.0f, "gradient with NaN left unchanged");
}

int main(void) {
  test_steps_match_hand_values();
  test_eps_outside_sqrt();
  test_bias_correction_constant_gradient();
  test_create_validates();
  test_clip_global_norm();
  return check_report("test_adam");
}
