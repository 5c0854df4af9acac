// test_trust_region: the CPO step (tr_cpo_dual + tr_cpo_direction) against independent solutions
// of   min g.d  s.t.  c + b.d <= 0,  0.5 d'Hd <= delta   on random 2-D and 3-D instances built to
// hit every case 0-4, with H = I and random SPD H, and the worked example of specs §6.3.
// The reference optimum is geometric, not dual: whiten with H = L L', take the ball minimiser
// -R g~/|g~| if it satisfies the cost constraint, else the lowest point of the circle where the
// constraint plane cuts the ball. That oracle is itself checked by a polar search in the original
// coordinates (dense angles in 2-D two-sided, random directions in 3-D one-sided: nothing beats
// it).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "algorithms/trust_region.h"
#include "core/rng.h"
#include "tests/check.h"

#define N 3
static const double kPi = 3.14159265358979323846;

typedef struct {
  int n;
  double h[N][N], g[N], b[N], c, delta;
} qp_t;

static double dotd(const double *a, const double *b, int n) {
  double s = 0.0;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

static double quad(const qp_t *p, const double *d) {
  double s = 0.0;
  for (int i = 0; i < p->n; i++)
    for (int j = 0; j < p->n; j++) s += d[i] * p->h[i][j] * d[j];
  return s;
}

// Lower Cholesky factor of H.
static void cholesky(const qp_t *p, double l[N][N]) {
  memset(l, 0, sizeof(double) * N * N);
  for (int j = 0; j < p->n; j++) {
    double d = p->h[j][j];
    for (int k = 0; k < j; k++) d -= l[j][k] * l[j][k];
    l[j][j] = sqrt(d);
    for (int i = j + 1; i < p->n; i++) {
      double s = p->h[i][j];
      for (int k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = s / l[j][j];
    }
  }
}

// y = L^-1 v (forward substitution) and d = L^-T y (back substitution).
static void solve_l(int n, double l[N][N], const double *v, double *y) {
  for (int i = 0; i < n; i++) {
    double s = v[i];
    for (int k = 0; k < i; k++) s -= l[i][k] * y[k];
    y[i] = s / l[i][i];
  }
}
static void solve_lt(int n, double l[N][N], const double *y, double *d) {
  for (int i = n - 1; i >= 0; i--) {
    double s = y[i];
    for (int k = i + 1; k < n; k++) s -= l[k][i] * d[k];
    d[i] = s / l[i][i];
  }
}

// H^-1 v in double.
static void solve_h(const qp_t *p, const double *v, double *out) {
  double l[N][N], y[N];
  cholesky(p, l);
  solve_l(p->n, l, v, y);
  solve_lt(p->n, l, y, out);
}

// Geometric optimum (see the file comment). Returns 1 and d when feasible, 0 when no d satisfies
// both constraints; *binding says whether the cost constraint is active at the optimum.
static int oracle(const qp_t *p, double *d, int *binding) {
  int n = p->n;
  double l[N][N], gt[N], bt[N], y[N];
  cholesky(p, l);
  solve_l(n, l, p->g, gt);
  solve_l(n, l, p->b, bt);
  double radius = sqrt(2.0 * p->delta), gn = sqrt(dotd(gt, gt, n));
  for (int i = 0; i < n; i++) y[i] = -radius * gt[i] / gn;
  *binding = 0;
  if (p->c + dotd(bt, y, n) > 0.0) {
    double bb = dotd(bt, bt, n);
    if (bb == 0.0 || p->c * p->c / bb > radius * radius) return 0;  // c > 0 here: no feasible d
    double gb = dotd(gt, bt, n), perp[N], center[N];
    for (int i = 0; i < n; i++) {
      perp[i] = gt[i] - gb / bb * bt[i];
      center[i] = -p->c * bt[i] / bb;
    }
    double pn = sqrt(dotd(perp, perp, n)), rho = sqrt(radius * radius - p->c * p->c / bb);
    for (int i = 0; i < n; i++) y[i] = center[i] - rho * perp[i] / pn;
    *binding = 1;
  }
  solve_lt(n, l, y, d);
  return 1;
}

// Best point along the ray t*e, t >= 0: the objective t (g.e) is linear in t, and the two
// constraints cut t to an interval, so the 1-D optimum is an interval end. Returns 0 if empty.
static int ray_best(const qp_t *p, const double *e, double *val, double *t_best) {
  double lo = 0.0, hi = sqrt(2.0 * p->delta / quad(p, e));
  double be = dotd(p->b, e, p->n), ge = dotd(p->g, e, p->n);
  if (be > 0.0)
    hi = fmin(hi, -p->c / be);
  else if (be < 0.0)
    lo = fmax(lo, -p->c / be);
  else if (p->c > 0.0)
    return 0;
  if (lo > hi) return 0;
  *t_best = ge > 0.0 ? lo : hi;
  *val = *t_best * ge;
  return 1;
}

// 2-D: dense angular search, exact along each ray. Returns 0 if no ray has a feasible point.
static int polar_2d(const qp_t *p, int n_angles, double *best_val, double *best_d) {
  int found = 0;
  for (int k = 0; k < n_angles; k++) {
    double th = 2.0 * kPi * k / n_angles, e[2] = {cos(th), sin(th)}, v, t;
    if (!ray_best(p, e, &v, &t)) continue;
    if (!found || v < *best_val) {
      *best_val = v;
      best_d[0] = t * e[0], best_d[1] = t * e[1];
    }
    found = 1;
  }
  return found;
}

// 3-D: random directions; returns 0 if none is feasible.
static int random_rays(const qp_t *p, rng_t *rng, int n_rays, double *best_val) {
  int found = 0;
  for (int k = 0; k < n_rays; k++) {
    double e[N], v, t, en = 0.0;
    for (int i = 0; i < p->n; i++) e[i] = rng_normal(rng), en += e[i] * e[i];
    for (int i = 0; i < p->n; i++) e[i] /= sqrt(en);
    if (!ray_best(p, e, &v, &t)) continue;
    if (!found || v < *best_val) *best_val = v;
    found = 1;
  }
  return found;
}

// The code under test, fed exact u = H^-1 g, w = H^-1 b, q, r, s (cast to float where the API is
// float). Returns dtheta = -x in double.
static void cpo_step(const qp_t *p, tr_cpo_solution_t *sol, double *dtheta) {
  double u[N], w[N];
  solve_h(p, p->g, u);
  solve_h(p, p->b, w);
  double q = dotd(p->g, u, p->n), r = dotd(p->g, w, p->n), s = dotd(p->b, w, p->n);
  tr_cpo_dual(q, r, s, p->c, p->delta, dotd(p->b, p->b, p->n), sol);
  float uf[N], wf[N], x[N];
  for (int i = 0; i < p->n; i++) uf[i] = (float)u[i], wf[i] = (float)w[i];
  tr_cpo_direction(sol, uf, wf, p->n, x);
  for (int i = 0; i < p->n; i++) dtheta[i] = -(double)x[i];
}

enum { KIND_CASE3, KIND_CASE2, KIND_CASE1, KIND_CASE0, KIND_CASE4, N_KINDS };
static const int kind_case[N_KINDS] = {3, 2, 1, 0, 4};

// A random instance of the given kind. c is placed relative to the distance of the constraint
// plane from the origin in the H-metric, sqrt(2 delta s) vs c, so B = 2 delta (1 - k^2) keeps a
// margin from 0 (|k| not in (0.95, 1.05)) and the case is known in advance.
static void make_instance(rng_t *rng, int n, int identity, int kind, qp_t *p) {
  memset(p, 0, sizeof *p);
  p->n = n;
  double m[N][N];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) m[i][j] = rng_normal(rng);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double s = 0.0;
      for (int k = 0; k < n; k++) s += m[i][k] * m[j][k];
      p->h[i][j] = identity ? (i == j) : s / n + 0.2 * (i == j);
    }
  double gscale = exp(rng_uniform(rng) * 4.0 - 2.0), bscale = exp(rng_uniform(rng) * 4.0 - 2.0);
  for (int i = 0; i < n; i++) {
    p->g[i] = gscale * rng_normal(rng);
    p->b[i] = bscale * rng_normal(rng);
  }
  p->delta = exp(log(0.005) + rng_uniform(rng) * (log(1.0) - log(0.005)));
  if (kind == KIND_CASE4) {
    // Vanishing cost gradient with a feasible origin; b = 0 exactly every fourth instance.
    double tiny = rng_below(rng, 4) == 0 ? 0.0 : 1e-5;
    for (int i = 0; i < n; i++) p->b[i] = tiny * rng_normal(rng);
    p->c = -(0.01 + rng_uniform(rng));
    return;
  }
  double w[N];
  solve_h(p, p->b, w);
  double plane = sqrt(2.0 * p->delta * dotd(p->b, w, n)), k;
  switch (kind) {
    case KIND_CASE3:
      k = -(1.2 + 1.8 * rng_uniform(rng));
      break;
    case KIND_CASE2:
      k = -(0.05 + 0.9 * rng_uniform(rng));
      break;
    case KIND_CASE1:
      k = rng_below(rng, 10) == 0 ? 0.0 : 0.05 + 0.9 * rng_uniform(rng);
      break;
    default:
      k = 1.05 + 2.0 * rng_uniform(rng);
      break;
  }
  p->c = k * plane;
}

// Near-parallel g and b make the oracle's circle direction (and A = q - r^2/s) ill-conditioned;
// such instances are redrawn. Returns |g_perp| / |g| in the whitened space.
static double g_b_angle(const qp_t *p) {
  double l[N][N], gt[N], bt[N];
  cholesky(p, l);
  solve_l(p->n, l, p->g, gt);
  solve_l(p->n, l, p->b, bt);
  double gg = dotd(gt, gt, p->n), bb = dotd(bt, bt, p->n), gb = dotd(gt, bt, p->n);
  if (bb == 0.0) return 1.0;
  return sqrt(fmax(0.0, 1.0 - gb * gb / (gg * bb)));
}

// Property: in every case the CPO step equals the true optimum (feasible instances) or the
// recovery step -sqrt(2 delta/s) H^-1 b (infeasible ones).
// Tolerances: step vs oracle 1e-4 * (1 + |d*|). Float u, w and x alone give ~1e-6; the spec's
// 1e-8 guards (s + 1e-8, lambda + 1e-8) add ~1e-8/s amplified by the cancellation in u + nu w,
// measured up to 1.5e-5 at s = 0.01 with g nearly parallel to b (1e-6 without the guards). A sign
// or interval error moves the step by O(|d*|). Constraint satisfaction and complementary slackness
// 1e-4 relative; the 2-D polar search (1e5 angles) agrees with the oracle to 1e-3 * |g||d*| in
// objective and 2e-3 (1 + |d*|) in position, and nothing it or the 3-D random rays find beats the
// oracle by more than 1e-9.
static void test_random_instances(void) {
  rng_t rng;
  rng_seed(&rng, 2017);
  int case_count[5] = {0}, binding_count[5] = {0}, free_count[5] = {0}, mismatched_case = 0;
  double max_err = 0.0;
  const int per_combo = 60;
  for (int n = 2; n <= 3; n++)
    for (int identity = 0; identity <= 1; identity++)
      for (int kind = 0; kind < N_KINDS; kind++)
        for (int rep = 0; rep < per_combo; rep++) {
          qp_t p;
          do make_instance(&rng, n, identity, kind, &p);
          while (kind != KIND_CASE4 && g_b_angle(&p) < 1e-2);

          tr_cpo_solution_t sol;
          double d[N], want[N];
          cpo_step(&p, &sol, d);
          if (sol.qp_case != kind_case[kind]) mismatched_case++;
          CHECK(sol.qp_case == kind_case[kind], "instance built for case %d solved as case %d",
                kind_case[kind], sol.qp_case);
          if (sol.qp_case >= 0 && sol.qp_case <= 4) case_count[sol.qp_case]++;

          int binding = 0, feasible = oracle(&p, want, &binding);
          CHECK(feasible == (kind != KIND_CASE0), "oracle feasibility %d for case %d", feasible,
                kind_case[kind]);
          if (!feasible) {
            double w[N], s;
            solve_h(&p, p.b, w);
            s = dotd(p.b, w, n);
            for (int i = 0; i < n; i++) want[i] = -sqrt(2.0 * p.delta / s) * w[i];
          } else if (binding) {
            binding_count[sol.qp_case]++;
          } else {
            free_count[sol.qp_case]++;
          }
          double scale = 1.0 + sqrt(dotd(want, want, n));
          for (int i = 0; i < n; i++) {
            CHECK_NEAR(d[i], want[i], 1e-4 * scale, "cpo step vs brute-force optimum");
            max_err = fmax(max_err, fabs(d[i] - want[i]) / scale);
          }

          // KL boundary: active in every case (the recovery step also lands on it).
          CHECK_NEAR(0.5 * quad(&p, d), p.delta, 1e-4 * p.delta, "0.5 d'Hd = delta");
          if (feasible) {
            double slack = p.c + dotd(p.b, d, n), bscale = sqrt(dotd(p.b, p.b, n)) * scale;
            CHECK(slack <= 1e-4 * (fabs(p.c) + bscale), "cost constraint violated by %g", slack);
            if (sol.nu > 1e-6) CHECK_NEAR(slack, 0.0, 1e-4 * (fabs(p.c) + bscale), "nu>0: active");
            CHECK(binding == (sol.nu > 1e-6) || sol.qp_case == 4, "nu %g but binding %d", sol.nu,
                  binding);
          }

          // Cross-check the oracle by search in the original coordinates.
          double gnorm = sqrt(dotd(p.g, p.g, n)), oracle_val = dotd(p.g, want, n), best = 0.0;
          if (n == 2) {
            double best_d[2] = {0.0, 0.0};
            int any = polar_2d(&p, 100000, &best, best_d);
            CHECK(any == feasible, "polar search feasibility %d, oracle %d", any, feasible);
            if (any && feasible) {
              CHECK(best >= oracle_val - 1e-9 * gnorm * scale, "polar %g beats oracle %g", best,
                    oracle_val);
              CHECK_NEAR(best, oracle_val, 1e-3 * gnorm * scale, "polar objective vs oracle");
              for (int i = 0; i < 2; i++)
                CHECK_NEAR(best_d[i], want[i], 2e-3 * scale, "polar argmin vs oracle");
            }
          } else {
            int any = random_rays(&p, &rng, 20000, &best);
            if (!feasible) CHECK(!any, "random rays found a feasible point in a case-0 instance");
            if (any && feasible)
              CHECK(best >= oracle_val - 1e-9 * gnorm * scale, "ray %g beats oracle %g", best,
                    oracle_val);
          }
        }
  printf("instances per case: 0:%d 1:%d 2:%d 3:%d 4:%d (wrong case: %d)\n", case_count[0],
         case_count[1], case_count[2], case_count[3], case_count[4], mismatched_case);
  printf(
      "cost constraint binding/free at the optimum: case1 %d/%d case2 %d/%d case3 %d/%d "
      "case4 %d/%d\n",
      binding_count[1], free_count[1], binding_count[2], free_count[2], binding_count[3],
      free_count[3], binding_count[4], free_count[4]);
  printf("max |step - optimum| / (1 + |optimum|) = %.3g\n", max_err);
  for (int k = 0; k < 5; k++) CHECK(case_count[k] > 0, "case %d never hit", k);
  CHECK(binding_count[1] > 0 && binding_count[2] > 0 && free_count[2] > 0,
        "case 1 binding %d, case 2 binding %d / free %d", binding_count[1], binding_count[2],
        free_count[2]);
}

// Property: specs §6.3 worked example. The spec states the objective gradient g_obj = (1,0), so
// the loss gradient passed here is (-1,0); with b = (1,1), c = -0.1, delta = 0.5, H = I the
// optimum step is (0.755, -0.655), lambda 0.709, nu 0.465 (3 decimals, hence tolerance 1e-3;
// the exact values are checked against the oracle at 1e-6).
static void test_worked_example(void) {
  qp_t p = {.n = 2, .h = {{1, 0}, {0, 1}}, .g = {-1, 0}, .b = {1, 1}, .c = -0.1, .delta = 0.5};
  tr_cpo_solution_t sol;
  double d[N], want[N];
  int binding;
  cpo_step(&p, &sol, d);
  CHECK(sol.qp_case == 2, "worked example case %d, want 2", sol.qp_case);
  CHECK_NEAR(sol.lambda, 0.709, 1e-3, "worked example lambda");
  CHECK_NEAR(sol.nu, 0.465, 1e-3, "worked example nu");
  CHECK_NEAR(d[0], 0.755, 1e-3, "worked example dtheta[0]");
  CHECK_NEAR(d[1], -0.655, 1e-3, "worked example dtheta[1]");
  CHECK(oracle(&p, want, &binding) && binding, "worked example: oracle feasible and binding");
  CHECK_NEAR(d[0], want[0], 1e-6, "worked example vs oracle [0]");
  CHECK_NEAR(d[1], want[1], 1e-6, "worked example vs oracle [1]");
  // Closed form: lambda = sqrt(A/B) with A = 1 - 1/2, B = 1 - 0.01/2; nu = (1 - 0.1 lambda)/2.
  double lam = sqrt(0.5 / 0.995);
  CHECK_NEAR(sol.lambda, lam, 1e-7, "worked example lambda closed form");
  CHECK_NEAR(sol.nu, (1.0 - 0.1 * lam) / 2.0, 1e-7, "worked example nu closed form");
}

// Property: the guards. c == 0 counts as c = 1e-8 > 0 (case 1); r == 0 or s == 0 never produce
// NaN or Inf; case 0 gives lambda 0 and a direction nu * w regardless of u.
static void test_guards(void) {
  tr_cpo_solution_t sol;
  tr_cpo_dual(1.0, 0.5, 2.0, 0.0, 0.1, 2.0, &sol);
  CHECK(sol.qp_case == 1, "c = 0 gave case %d, want 1", sol.qp_case);
  CHECK(isfinite(sol.lambda) && isfinite(sol.nu), "c = 0: lambda %g nu %g", sol.lambda, sol.nu);
  tr_cpo_dual(1.0, 0.0, 2.0, -0.1, 0.1, 2.0, &sol);
  CHECK(isfinite(sol.lambda) && isfinite(sol.nu), "r = 0: lambda %g nu %g", sol.lambda, sol.nu);
  tr_cpo_dual(1.0, 0.0, 0.0, -0.1, 0.1, 0.0, &sol);
  CHECK(sol.qp_case == 4 && sol.nu == 0.0, "b = 0, c < 0: case %d nu %g", sol.qp_case, sol.nu);
  CHECK_NEAR(sol.lambda, sqrt(1.0 / 0.2), 1e-12, "case 4 lambda = sqrt(q / 2 delta)");
  tr_cpo_dual(1.0, 0.3, 0.5, 2.0, 0.1, 1.0, &sol);
  CHECK(sol.qp_case == 0 && sol.lambda == 0.0, "infeasible: case %d lambda %g", sol.qp_case,
        sol.lambda);
  CHECK_NEAR(sol.nu, sqrt(0.2 / 0.5), 1e-7, "case 0 nu = sqrt(2 delta / s)");
  float u[2] = {100.0f, -100.0f}, w[2] = {0.5f, 0.25f}, x[2];
  tr_cpo_direction(&sol, u, w, 2, x);
  CHECK_NEAR(x[0], sol.nu * 0.5, 1e-6, "case 0 direction ignores u [0]");
  CHECK_NEAR(x[1], sol.nu * 0.25, 1e-6, "case 0 direction ignores u [1]");
}

int main(void) {
  test_worked_example();
  test_guards();
  test_random_instances();
  return check_report("test_trust_region");
}
