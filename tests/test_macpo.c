// test_macpo: algorithms/macpo.c and the trust-region helpers it chains (actor_critic.c, section
// "trust-region helpers (macpo)"). What other files already pin: tests/test_trust_region.c checks
// tr_cpo_dual + tr_cpo_direction against brute force in cases 0-4 with exact u = H^-1 g and
// w = H^-1 b; tests/test_policy.c checks pol_fvp against an explicit Fisher. This file pins what
// MACPO adds on top:
// (1) ac_tr_fvp, the product CG sees: (F + 0.1 I) v on the minibatch rows (selected through an
//     index list, cached forward and chunk-by-chunk) against an explicitly built damped Fisher of
//     the tiny released actor (obs 3, act 2, hidden 4, LayerNorm, sigmoid std); g = grad(-S_R)
//     and b = grad S_C of ac_tr_begin against central differences, with M, cost_m on and off;
// (2) ac_tr_direction, the QP step as MACPO computes it: CG for u and w, the case-selection
//     inputs q, r, s, b.b, the dual, then the norm cap. Against brute force (dense polar search)
//     on 2-D instances built for every case MACPO can reach (0 infeasible recovery, 1, 2, 3, and
//     4 = b.b <= 1e-8 with c < 0); the cap (rescales exactly, leaves shorter steps bit-identical);
//     and on the tiny policy, with ac_tr_fvp as the metric, against the exact solution with the
//     explicit damped Fisher and its KKT conditions in every case;
// (3) ac_tr_line_search: trials at theta_old - fraction_coef decay^i x; an accepted step satisfies
//     KL < delta, the loss test (cases 2-4) and the cost test, recomputed independently, and every
//     earlier trial failed one of them; each test rejects on its own (KL, cost, loss), the loss
//     test only where the case requires it; a search without acceptance restores theta bit-exactly;
// (4) macpo through its algo_class_t on a hand-built 2-agent spec and buffer: one update lowers
//     each agent's surrogate loss (with its M) or leaves the agent's parameters unchanged, the
//     statistics are finite and consistent; save -> load round-trips bit-exactly; the parameter
//     table holds every AC_COMMON_PARAMS key and MACPO's defaults.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/actor_critic.h"
#include "core/buffer.h"
#include "core/checkpoint.h"
#include "core/err.h"
#include "core/rng.h"
#include "tests/check.h"

enum { NA = 2, OBS = 3, ACT = 2, SHARE = 4, RT = 8, RE = 2, NROWS = RT * RE, MAXP = 200 };

static void fill_uniform(float *x, int n, double lo, double hi, rng_t *rng) {
  for (int i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * rng_uniform(rng));
}

static env_spec_t make_spec(void) {
  env_spec_t s;
  memset(&s, 0, sizeof s);
  snprintf(s.name, sizeof s.name, "test_macpo");
  s.n_agents = NA;
  for (int a = 0; a < NA; a++) {
    s.obs_dim[a] = OBS;
    s.act_dim[a] = ACT;
  }
  s.max_obs_dim = OBS;
  s.max_act_dim = ACT;
  s.share_obs_dim = SHARE;
  s.act_low = -1.0f;
  s.act_high = 1.0f;
  s.episode_length = 50;
  s.cost_limit = 1.0;
  return s;
}

// MACPO's parameter block: its table's defaults, then "algo.key=value" overrides.
static void *macpo_params(const char *const *over, int n) {
  const algo_class_t *cls = algo_find("macpo");
  if (!cls) return NULL;
  void *p = calloc(1, cls->params_size);
  cfg_section_t sec = {"algo", cls->params, cls->n_params, p};
  int rc = cfg_set_defaults(&sec, 1);
  for (int i = 0; i < n && !rc; i++) rc = cfg_override(&sec, 1, over[i]);
  CHECK(rc == 0, "macpo parameters: %s", err_message());
  return p;
}

// Fill a T x E rollout by acting (obs and share_obs uniform in [-1, 1], random rewards and
// costs, one episode end at t = 3 of copy 0); `act` is the algo_class_t act or ac_algo_act.
static int fill_rollout(void *algo, const algo_class_t *cls, buf_t *buf, rng_t *data,
                        rng_t *act_rng) {
  int rc = buf_create(buf, RT, RE, NA, OBS, SHARE, ACT);
  if (rc) return rc;
  for (int t = 0; t <= RT; t++) {
    float *obs = buf->obs + (size_t)t * RE * NA * OBS;
    float *share = buf->share_obs + (size_t)t * RE * SHARE;
    fill_uniform(obs, RE * NA * OBS, -1.0, 1.0, data);
    fill_uniform(share, RE * SHARE, -1.0, 1.0, data);
    size_t lane = (size_t)t * RE * NA;
    if (t < RT) {
      cls->act(algo, obs, share, RE, act_rng, buf->actions + lane * ACT, buf->logp + lane,
               buf->values + lane, buf->cost_values + lane);
      fill_uniform(buf->rewards + lane, RE * NA, -1.0, 1.0, data);
      fill_uniform(buf->costs + lane, RE * NA, 0.0, 1.0, data);
    } else {
      cls->values(algo, obs, share, RE, buf->values + lane, buf->cost_values + lane);
    }
  }
  buf->done[3 * RE + 0] = 1;
  return 0;
}

// Move the actors away from their initialisation (mean head gain 0.01 would leave the network
// block of the Fisher ~1e-4 of the std block): weights + N(0, 0.3^2), std parameters rho in
// [-1, 1.5] (sigma 0.13-0.41), so every block of F and of the gradients is O(0.01..1).
static void perturb_actors(ac_t *ac, rng_t *rng) {
  for (int i = 0; i < ac->n_actors; i++) {
    ac_actor_t *a = &ac->actors[i];
    for (int k = 0; k < a->pol.n_net; k++) a->theta[k] += (float)(0.3 * rng_normal(rng));
    for (int k = a->pol.n_net; k < a->pol.n_params; k++)
      a->theta[k] = (float)(-1.0 + 2.5 * rng_uniform(rng));
  }
}

// The actor-critic state MACPO builds (its default parameters, hidden 4, one hidden layer,
// `activation`), perturbed actors, a rollout acted by them, ac_prepare, agent 0 selected; the
// trust-region scratch. Returns 0 on success.
typedef struct {
  ac_t ac;
  ac_tr_t tr;
  buf_t buf;
  void *params;
} fixture_t;

static const algo_class_t ac_only = {.act = ac_algo_act, .values = ac_algo_values};

static int fixture_open(fixture_t *f, const char *activation, uint64_t seed) {
  memset(f, 0, sizeof *f);
  char act_kv[64];
  snprintf(act_kv, sizeof act_kv, "algo.activation=%s", activation);
  const char *over[] = {"algo.hidden=4", "algo.layers=1", act_kv};
  f->params = macpo_params(over, 3);
  if (!f->params) return -1;
  env_spec_t spec = make_spec();
  algo_run_info_t run = {seed, RT, RE, 1000, 1.0};
  int rc = ac_create(&f->ac, "macpo", &spec, f->params, &run, 1);
  if (!rc) rc = ac_tr_create(&f->tr, &f->ac, 0.1, 1);
  if (rc) {
    CHECK(0, "fixture: %s", err_message());
    return rc;
  }
  rng_t pr, d, ar;
  rng_seed(&pr, seed + 100);
  rng_seed(&d, seed + 200);
  rng_seed(&ar, seed + 300);
  perturb_actors(&f->ac, &pr);
  rc = fill_rollout(&f->ac, &ac_only, &f->buf, &d, &ar);
  if (rc) return rc;
  ac_prepare(&f->ac, &f->buf);
  ac_gather_agent(&f->ac, &f->buf, 0);
  return 0;
}

static void fixture_close(fixture_t *f) {
  ac_tr_destroy(&f->tr);
  ac_destroy(&f->ac);
  buf_destroy(&f->buf);
  free(f->params);
}

// A minibatch of R of agent 0's 16 rows in a shuffled order, and M in [0.5, 2] for every row.
static void make_minibatch(rng_t *rng, int *mb, int R, float *M) {
  int perm[NROWS];
  rng_permutation(rng, perm, NROWS);
  memcpy(mb, perm, sizeof(int) * R);
  fill_uniform(M, NROWS, 0.5, 2.0, rng);
}

// ---------------------------------------------------------------------------------------------
// Explicit damped Fisher in double (the approach of tests/test_policy.c explicit_fisher):
// F = (1/R) sum_b J_b' diag(sigma^-2) J_b on the network block, J_b from mlp_backward of unit
// cotangents; 2 (d log sigma / d rho)^2 on the std block (no cross terms); + damping I.

static double ref_log_std(float rho) {
  return log(0.5) - log1p(exp(-(double)rho));
}
static double ref_dlog_std(float rho) {
  return 1.0 - 1.0 / (1.0 + exp(-(double)rho));
}

static void explicit_fisher(pol_t *p, const float *theta, const float *obs, int R, double damping,
                            double *F) {
  int n = p->n_params, nn = p->n_net, K = p->cfg.act_dim;
  pol_forward(p, theta, obs, R);
  double *J = calloc((size_t)R * K * nn, sizeof *J);
  float *dy = calloc((size_t)R * K, sizeof *dy), *row = calloc(nn, sizeof *row);
  for (int r = 0; r < R * K; r++) {
    memset(dy, 0, sizeof(float) * R * K);
    memset(row, 0, sizeof(float) * nn);
    dy[r] = 1.0f;
    mlp_backward(&p->net, theta, dy, row, NULL);
    for (int i = 0; i < nn; i++) J[(size_t)r * nn + i] = row[i];
  }
  memset(F, 0, sizeof(double) * n * n);
  for (int b = 0; b < R; b++)
    for (int k = 0; k < K; k++) {
      double h = exp(-2.0 * ref_log_std(theta[nn + k]));
      const double *jr = J + (size_t)(b * K + k) * nn;
      for (int i = 0; i < nn; i++)
        for (int j = 0; j < nn; j++) F[i * n + j] += jr[i] * h * jr[j] / R;
    }
  for (int k = nn; k < n; k++) {
    double g = ref_dlog_std(theta[k]);
    F[k * n + k] = 2.0 * g * g;
  }
  for (int i = 0; i < n; i++) F[i * n + i] += damping;
  free(J), free(dy), free(row);
}

// Solve F x = v (F SPD, n <= MAXP) by Cholesky in double.
static void spd_solve(const double *F, int n, const double *v, double *x) {
  static double L[MAXP * MAXP];
  memset(L, 0, sizeof L);
  for (int j = 0; j < n; j++) {
    double d = F[j * n + j];
    for (int k = 0; k < j; k++) d -= L[j * MAXP + k] * L[j * MAXP + k];
    L[j * MAXP + j] = sqrt(d);
    for (int i = j + 1; i < n; i++) {
      double s = F[i * n + j];
      for (int k = 0; k < j; k++) s -= L[i * MAXP + k] * L[j * MAXP + k];
      L[i * MAXP + j] = s / L[j * MAXP + j];
    }
  }
  double y[MAXP];
  for (int i = 0; i < n; i++) {
    double s = v[i];
    for (int k = 0; k < i; k++) s -= L[i * MAXP + k] * y[k];
    y[i] = s / L[i * MAXP + i];
  }
  for (int i = n - 1; i >= 0; i--) {
    double s = y[i];
    for (int k = i + 1; k < n; k++) s -= L[k * MAXP + i] * x[k];
    x[i] = s / L[i * MAXP + i];
  }
}

static double dotd(const double *a, const double *b, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

static double quad_form(const double *F, int n, const double *x) {
  double s = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) s += x[i] * F[i * n + j] * x[j];
  return s;
}

// The selected rows' observations mb[0..R) copied out of the ac_t's row scratch.
static void gather_obs(ac_t *ac, const int *mb, int R, float *obs) {
  ac_gather_rows(ac, mb, R, OBS, ACT);
  memcpy(obs, ac->mb_obs, sizeof(float) * R * OBS);
}

// ---------------------------------------------------------------------------------------------
// (1) The Fisher-vector product MACPO's CG uses.

// Pins: ac_tr_fvp(e_j) = column j of (F + 0.1 I), F the explicit Fisher of the minibatch rows
// (12 of agent 0's 16, shuffled, so the index list is followed), both with the forward cached
// (12 rows <= chunk) and re-evaluated chunk by chunk (chunk forced to 5: chunks 5 + 5 + 2, each
// weighted by its share). Tolerance 1e-5 max|F| (float products of a few terms, as
// test_policy.c); a missing damping or a chunk weight error is O(0.1 max|F|).
static void test_fvp_explicit(void) {
  fixture_t f;
  if (fixture_open(&f, "relu", 11)) return;
  rng_t rng;
  rng_seed(&rng, 12);
  enum { R = 12 };
  int mb[R];
  float M[NROWS], obs[R * OBS];
  make_minibatch(&rng, mb, R, M);
  ac_actor_t *act = &f.ac.actors[0];
  int n = act->pol.n_params;
  CHECK(n <= MAXP, "tiny actor has %d parameters", n);
  static double F[MAXP * MAXP];
  gather_obs(&f.ac, mb, R, obs);
  explicit_fisher(&act->pol, act->theta, obs, R, 0.1, F);
  double fmax_abs = 0;
  for (int i = 0; i < n * n; i++) fmax_abs = fmax(fmax_abs, fabs(F[i]));
  double net_max = 0;
  for (int i = 0; i < act->pol.n_net; i++) net_max = fmax(net_max, F[i * n + i] - 0.1);
  CHECK(net_max > 1e-2 * fmax_abs, "network block of F is ~0 (%g of %g): test would be weak",
        net_max, fmax_abs);

  float v[MAXP], out[MAXP];
  double worst = 0;
  for (int pass = 0; pass < 2; pass++) {
    f.ac.chunk = pass == 0 ? 512 : 5;
    ac_tr_begin(&f.tr, 0, mb, R, M);
    CHECK(f.tr.cached == (pass == 0), "pass %d: cached %d", pass, f.tr.cached);
    for (int j = 0; j < n; j++) {
      memset(v, 0, sizeof v);
      v[j] = 1.0f;
      ac_tr_fvp(&f.tr, v, out);
      for (int i = 0; i < n; i++) {
        double tol = 1e-5 * fmax_abs;
        worst = fmax(worst, fabs(out[i] - F[i * n + j]) / tol);
        char what[96];
        snprintf(what, sizeof what, "%s: (F+0.1I)[%d][%d]", pass ? "chunked" : "cached", i, j);
        CHECK_NEAR(out[i], F[i * n + j], tol, what);
      }
    }
  }
  f.ac.chunk = 512;
  printf("fvp: %d parameters, max|F| %.3g, worst entry error %.2f of tolerance\n", n, fmax_abs,
         worst);
  fixture_close(&f);
}

// Pins: ac_tr_begin's g = grad(-S_R) and b = grad S_C, S = mean over the minibatch of
// r M A (cost: M only with cost_m), r = exp(logp - logp_rollout), at a theta away from the
// rollout's (r != 1), against 2-point central differences of S_R and S_C from ac_tr_eval.
// tanh network (no ReLU kinks). Step h = 5e-3 per parameter, quotient over the step actually
// taken in float; the surrogates are double sums of float log-probs (error ~1e-6 |S|), so
// rounding is ~1e-6 / 1e-2 = 1e-4 and truncation O(h^2) ~1e-5: tolerance 2e-4 + 1e-2 relative.
// A missing M, r, 1/R or sign gives an O(1) relative error.
static void test_gradients_fd(void) {
  fixture_t f;
  if (fixture_open(&f, "tanh", 21)) return;
  rng_t rng;
  rng_seed(&rng, 22);
  enum { R = 10 };
  int mb[R];
  float M[NROWS];
  make_minibatch(&rng, mb, R, M);
  ac_actor_t *act = &f.ac.actors[0];
  int n = act->pol.n_params;
  for (int k = 0; k < n; k++) act->theta[k] += (float)(0.05 * rng_normal(&rng));  // r != 1
  float theta0[MAXP], g_ref[MAXP];
  memcpy(theta0, act->theta, sizeof(float) * n);
  for (int cost_m = 1; cost_m >= 0; cost_m--) {
    f.tr.cost_m = cost_m;
    ac_tr_begin(&f.tr, 0, mb, R, M);
    if (cost_m) memcpy(g_ref, f.tr.g, sizeof(float) * n);
    double gmax = 0, bmax = 0;
    for (int k = 0; k < n; k++) {
      gmax = fmax(gmax, fabs(f.tr.g[k]));
      bmax = fmax(bmax, fabs(f.tr.b[k]));
    }
    CHECK(gmax > 1e-2 && bmax > 1e-2, "gradients ~0 (%g, %g): test would be weak", gmax, bmax);
    for (int k = 0; k < n; k++) {
      double sr[2], sc[2], kl, step;
      float hi = theta0[k] + 5e-3f, lo = theta0[k] - 5e-3f;
      step = (double)hi - lo;
      act->theta[k] = hi;
      ac_tr_eval(&f.tr, &sr[0], &sc[0], &kl);
      act->theta[k] = lo;
      ac_tr_eval(&f.tr, &sr[1], &sc[1], &kl);
      act->theta[k] = theta0[k];
      CHECK_CLOSE(f.tr.g[k], -(sr[0] - sr[1]) / step, 1e-2, 2e-4, "g = grad(-S_R)");
      CHECK_CLOSE(f.tr.b[k], (sc[0] - sc[1]) / step, 1e-2, 2e-4,
                  cost_m ? "b = grad S_C (with M)" : "b = grad S_C (cost_m off: no M)");
    }
  }
  // cost_m does not touch the reward side.
  CHECK(!memcmp(g_ref, f.tr.g, sizeof(float) * n), "cost_m changed g");
  fixture_close(&f);
}

// ---------------------------------------------------------------------------------------------
// (2) The QP step as MACPO computes it.

typedef struct {
  int n;
  double h[3 * 3];
} dense_t;

static void dense_matvec(void *ctx, const float *v, float *out) {
  const dense_t *d = ctx;
  for (int i = 0; i < d->n; i++) {
    double s = 0;
    for (int j = 0; j < d->n; j++) s += d->h[i * d->n + j] * v[j];
    out[i] = (float)s;
  }
}

typedef struct {
  dense_t H;
  double g[2], b[2], c, delta;
} qp2_t;

// Best point along the ray t e, t >= 0, of min g.d s.t. c + b.d <= 0, 0.5 d'Hd <= delta: the
// objective is linear in t, so the optimum is an end of the feasible interval. 0 if empty.
static int ray_best(const qp2_t *p, const double *e, double *val, double *t_best) {
  double q = 0;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) q += e[i] * p->H.h[i * 2 + j] * e[j];
  double lo = 0.0, hi = sqrt(2.0 * p->delta / q);
  double be = dotd(p->b, e, 2), ge = dotd(p->g, e, 2);
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

// Brute force: 200000 directions, exact along each. Returns 0 if nothing is feasible.
static int polar_search(const qp2_t *p, double *best_val, double *best_d) {
  int found = 0;
  const int n_angles = 200000;
  for (int k = 0; k < n_angles; k++) {
    double th = 2.0 * 3.14159265358979323846 * k / n_angles, e[2] = {cos(th), sin(th)}, v, t;
    if (!ray_best(p, e, &v, &t)) continue;
    if (!found || v < *best_val) {
      *best_val = v;
      best_d[0] = t * e[0], best_d[1] = t * e[1];
    }
    found = 1;
  }
  return found;
}

static void solve2(const dense_t *H, const double *v, double *x) {
  double a = H->h[0], b = H->h[1], c = H->h[2], d = H->h[3], det = a * d - b * c;
  x[0] = (d * v[0] - b * v[1]) / det;
  x[1] = (a * v[1] - c * v[0]) / det;
}

// A random 2-D instance for MACPO's case `want` (0-4): random SPD H (or I), g, b of random
// scale, delta in [0.005, 1]; c placed against the plane distance sqrt(2 delta s) with a margin
// (B = 2 delta (1 - k^2), |k| not within 5% of 1), as tests/test_trust_region.c does; case 4
// has b.b <= 1e-8 (b = 0 or components ~1e-5) and c < 0.
static void make_qp(rng_t *rng, int want, int identity, qp2_t *p) {
  memset(p, 0, sizeof *p);
  p->H.n = 2;
  double m[4];
  for (int i = 0; i < 4; i++) m[i] = rng_normal(rng);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      p->H.h[i * 2 + j] =
          identity ? (i == j)
                   : (m[i * 2] * m[j * 2] + m[i * 2 + 1] * m[j * 2 + 1]) / 2 + 0.2 * (i == j);
  double gs = exp(4 * rng_uniform(rng) - 2), bs = exp(4 * rng_uniform(rng) - 2);
  for (int i = 0; i < 2; i++) p->g[i] = gs * rng_normal(rng), p->b[i] = bs * rng_normal(rng);
  p->delta = exp(log(0.005) + rng_uniform(rng) * (log(1.0) - log(0.005)));
  if (want == 4) {
    double tiny = rng_below(rng, 3) == 0 ? 0.0 : 1e-5;
    for (int i = 0; i < 2; i++) p->b[i] = tiny * rng_normal(rng);
    p->c = -(0.01 + rng_uniform(rng));
    return;
  }
  double w[2];
  solve2(&p->H, p->b, w);
  double plane = sqrt(2.0 * p->delta * dotd(p->b, w, 2)), k;
  if (want == 3)
    k = -(1.2 + 1.8 * rng_uniform(rng));
  else if (want == 2)
    k = -(0.05 + 0.9 * rng_uniform(rng));
  else if (want == 1)
    k = 0.05 + 0.9 * rng_uniform(rng);
  else
    k = 1.05 + 2.0 * rng_uniform(rng);
  p->c = k * plane;
}

// |g_perp| / |g| in the H^-1/2 metric; near-parallel g, b are ill-conditioned for any solver.
static double gb_sine(const qp2_t *p) {
  double u[2], w[2];
  solve2(&p->H, p->g, u);
  solve2(&p->H, p->b, w);
  double gg = dotd(p->g, u, 2), bb = dotd(p->b, w, 2), gb = dotd(p->g, w, 2);
  if (bb == 0.0) return 1.0;
  return sqrt(fmax(0.0, 1.0 - gb * gb / (gg * bb)));
}

// Pins: for every case MACPO can reach, ac_tr_direction (10 CG iterations, exact in 2-D; cap
// off) reports the case the instance was built for, q = g.H^-1 g, r = g.H^-1 b, s = b.H^-1 b and
// b.b (1e-5 relative + 1e-12: float u, w; r and s not in case 4), and its full step -x is the
// brute-force optimum (cases 1-4; tolerance 2e-3 (1 + |d*|), the polar grid's resolution, and the
// search never beats it by more than 1e-6 |g| (1 + |d*|)) or, in case 0, the recovery step -sqrt(2
// delta/s) H^-1 b (1e-4 relative) where the search finds no feasible point. Then the cap: with
// norm_cap = 0.5 |x| the direction is x scaled by exactly cap/|x| (same floats), |x| is reported
// and capped = 1; with norm_cap = 2 |x| it is bit-identical, capped 0.
static void test_direction_brute_force(void) {
  rng_t rng;
  rng_seed(&rng, 31);
  int hits[5] = {0};
  double worst = 0;
  for (int want = 0; want <= 4; want++)
    for (int rep = 0; rep < 24; rep++) {
      qp2_t p;
      do make_qp(&rng, want, rep % 3 == 0, &p);
      while (want != 4 && gb_sine(&p) < 1e-2);
      float g[2] = {(float)p.g[0], (float)p.g[1]}, b[2] = {(float)p.b[0], (float)p.b[1]};
      // The floats are the instance: recompute the double data from them.
      for (int i = 0; i < 2; i++) p.g[i] = g[i], p.b[i] = b[i];
      float u[2], w[2], x[2], work[6];
      ac_tr_dir_t dir;
      ac_tr_direction(dense_matvec, &p.H, g, b, 2, p.c, p.delta, 10, 0.0, u, w, x, work, &dir);
      CHECK(dir.sol.qp_case == want, "instance for case %d solved as case %d", want,
            dir.sol.qp_case);
      if (dir.sol.qp_case >= 0 && dir.sol.qp_case <= 4) hits[dir.sol.qp_case]++;
      double ue[2], we[2];
      solve2(&p.H, p.g, ue);
      solve2(&p.H, p.b, we);
      double q = dotd(p.g, ue, 2), r = dotd(p.g, we, 2), s = dotd(p.b, we, 2);
      CHECK_CLOSE(dir.q, q, 1e-5, 1e-12, "q = g.H^-1 g");
      // Case 4 uses neither r nor s, and CG stops at residual^2 < 1e-10, so for |b|^2 of that
      // order w is 0 or coarse: r and s are checked in the other cases only.
      if (want != 4) {
        CHECK_CLOSE(dir.r, r, 1e-5, 1e-12 + 1e-6 * sqrt(q * s), "r = g.H^-1 b");
        CHECK_CLOSE(dir.s, s, 1e-5, 1e-12, "s = b.H^-1 b");
      }
      CHECK_CLOSE(dir.b_norm2, dotd(p.b, p.b, 2), 1e-6, 0, "b.b");
      CHECK(!dir.capped && fabs(dir.x_norm - hypot(x[0], x[1])) <= 1e-6 * dir.x_norm,
            "cap off: capped %d, x_norm %g", dir.capped, dir.x_norm);
      double d[2] = {-(double)x[0], -(double)x[1]}, best = 0, best_d[2] = {0, 0};
      int any = polar_search(&p, &best, best_d);
      double scale = 1.0 + hypot(d[0], d[1]);
      if (want == 0) {
        CHECK(!any, "case 0 instance: brute force found a feasible point");
        for (int i = 0; i < 2; i++)
          CHECK_NEAR(d[i], -sqrt(2.0 * p.delta / s) * we[i], 1e-4 * scale, "case 0 recovery");
      } else {
        CHECK(any, "case %d instance: brute force found no feasible point", want);
        double gn = hypot(p.g[0], p.g[1]), ours = dotd(p.g, d, 2);
        CHECK(best >= ours - 1e-6 * gn * scale, "case %d: brute force %g beats the step %g", want,
              best, ours);
        for (int i = 0; i < 2; i++) {
          CHECK_NEAR(d[i], best_d[i], 2e-3 * scale, "step vs brute-force optimum");
          worst = fmax(worst, fabs(d[i] - best_d[i]) / scale);
        }
      }
      // The norm cap.
      float xc[2], xs[2];
      ac_tr_dir_t dc, ds;
      double cap = 0.5 * dir.x_norm;
      ac_tr_direction(dense_matvec, &p.H, g, b, 2, p.c, p.delta, 10, cap, u, w, xc, work, &dc);
      CHECK(dc.capped == 1 && dc.x_norm == dir.x_norm, "cap: capped %d, norm %g vs %g", dc.capped,
            dc.x_norm, dir.x_norm);
      for (int i = 0; i < 2; i++)
        CHECK(xc[i] == (float)(cap / dir.x_norm * x[i]), "capped x[%d] %g, want %g", i, xc[i],
              (float)(cap / dir.x_norm * x[i]));
      CHECK_NEAR(hypot(xc[0], xc[1]), cap, 1e-6 * cap, "|capped x| = cap");
      ac_tr_direction(dense_matvec, &p.H, g, b, 2, p.c, p.delta, 10, 2.0 * dir.x_norm, u, w, xs,
                      work, &ds);
      CHECK(!ds.capped && !memcmp(xs, x, sizeof x), "a shorter step was changed by the cap");
    }
  printf(
      "direction: instances per case 0:%d 1:%d 2:%d 3:%d 4:%d, worst |step - brute force| "
      "/ (1 + |d*|) = %.2g\n",
      hits[0], hits[1], hits[2], hits[3], hits[4], worst);
}

// Pins: on the tiny policy, with MACPO's metric ac_tr_fvp (damping 0.1) and CG run to
// convergence (200 iterations), ac_tr_direction equals the exact solution built from the
// explicit damped Fisher H (Cholesky in double): q, r, s within 1e-3 relative, the case as
// constructed, and x = the dual step from exact u, w within 1e-3 (1 + |x*|); x satisfies the
// QP's KKT conditions with H: 0.5 x'Hx = delta (1e-3 relative; the recovery step too), the cost
// constraint c - b.x <= 0 when feasible (1e-4 (|c| + |b||x|)), equality when nu > 0.
// Constraint values c = k sqrt(2 delta s) put the instance in case 3 (k = -2), 2 (-0.5),
// 1 (0.5), 0 (2); case 4 comes from a cost advantage of exactly 0 (b = 0) with c = -0.1.
static void test_direction_policy_kkt(void) {
  fixture_t f;
  if (fixture_open(&f, "relu", 41)) return;
  rng_t rng;
  rng_seed(&rng, 42);
  enum { R = 16 };
  int mb[R];
  float M[NROWS], obs[R * OBS];
  make_minibatch(&rng, mb, R, M);
  ac_actor_t *act = &f.ac.actors[0];
  int n = act->pol.n_params;
  static double F[MAXP * MAXP];
  gather_obs(&f.ac, mb, R, obs);
  explicit_fisher(&act->pol, act->theta, obs, R, 0.1, F);
  const double delta = 0.0065, ks[4] = {2.0, 0.5, -0.5, -2.0};
  for (int want = 0; want <= 4; want++) {
    if (want == 4)
      for (int i = 0; i < NROWS; i++) f.ac.g_adv_c[i] = 0.0f;
    ac_tr_begin(&f.tr, 0, mb, R, M);
    double g[MAXP], b[MAXP], ue[MAXP], we[MAXP];
    for (int i = 0; i < n; i++) g[i] = f.tr.g[i], b[i] = f.tr.b[i];
    spd_solve(F, n, g, ue);
    spd_solve(F, n, b, we);
    double q = dotd(g, ue, n), r = dotd(g, we, n), s = dotd(b, we, n);
    double c = want == 4 ? -0.1 : ks[want] * sqrt(2.0 * delta * s);
    ac_tr_dir_t dir;
    ac_tr_direction(ac_tr_fvp, &f.tr, f.tr.g, f.tr.b, n, c, delta, 200, 0.0, f.tr.u, f.tr.w, f.tr.x,
                    f.tr.cg_work, &dir);
    CHECK(dir.sol.qp_case == want, "policy: built for case %d, got %d", want, dir.sol.qp_case);
    CHECK_CLOSE(dir.q, q, 1e-3, 1e-12, "policy q");
    if (want != 4) {
      CHECK_CLOSE(dir.r, r, 1e-3, 1e-3 * sqrt(q * s), "policy r");
      CHECK_CLOSE(dir.s, s, 1e-3, 1e-12, "policy s");
    } else {
      CHECK(dir.b_norm2 == 0.0 && dir.s == 0.0, "A_c = 0: b.b %g s %g", dir.b_norm2, dir.s);
    }
    // The exact step from exact u, w and the dual of the exact q, r, s.
    tr_cpo_solution_t sol;
    tr_cpo_dual(q, r, s, c, delta, dotd(b, b, n), &sol);
    double xe[MAXP], x[MAXP], xn = 0;
    for (int i = 0; i < n; i++) {
      xe[i] = sol.qp_case == 0 ? sol.nu * we[i] : (ue[i] + sol.nu * we[i]) / (sol.lambda + 1e-8);
      x[i] = f.tr.x[i];
      xn += xe[i] * xe[i];
    }
    xn = sqrt(xn);
    for (int i = 0; i < n; i++) CHECK_NEAR(x[i], xe[i], 1e-3 * (1 + xn), "policy x vs exact");
    CHECK_CLOSE(0.5 * quad_form(F, n, x), delta, 1e-3, 0, "policy: 0.5 x'Hx = delta");
    if (want != 0) {
      double bx = dotd(b, x, n), tol = 1e-4 * (fabs(c) + sqrt(dotd(b, b, n)) * xn);
      CHECK(c - bx <= tol, "policy case %d: cost constraint c + b.d = %g > 0", want, c - bx);
      if (dir.sol.nu > 1e-6) CHECK_NEAR(c - bx, 0.0, tol, "policy: nu > 0, constraint active");
    }
  }
  fixture_close(&f);
}

// ---------------------------------------------------------------------------------------------
// (3) The line search.

// Independent evaluation at the actor's current theta on rows mb: S_R, S_C (cost with M) and mean
// KL(old || current), old = the distribution saved at theta_old.
typedef struct {
  float dist[NROWS * ACT], log_std[ACT];
} old_pol_t;

static void save_old(fixture_t *f, const int *mb, int R, old_pol_t *o) {
  ac_actor_t *act = &f->ac.actors[0];
  float obs[NROWS * OBS];
  gather_obs(&f->ac, mb, R, obs);
  pol_forward(&act->pol, act->theta, obs, R);
  pol_save_dist(&act->pol, o->dist, o->log_std);
}

static void eval_here(fixture_t *f, const int *mb, int R, const float *M, const old_pol_t *o,
                      double *sr, double *sc, double *kl) {
  ac_t *ac = &f->ac;
  ac_actor_t *act = &ac->actors[0];
  float obs[NROWS * OBS], acts[NROWS * ACT], logp[NROWS], k[NROWS];
  gather_obs(ac, mb, R, obs);
  memcpy(acts, ac->mb_act, sizeof(float) * R * ACT);
  pol_forward(&act->pol, act->theta, obs, R);
  pol_logp(&act->pol, acts, logp);
  pol_kl(&act->pol, o->dist, o->log_std, k);
  *sr = *sc = *kl = 0;
  for (int j = 0; j < R; j++) {
    int i = mb[j];
    double r = exp((double)logp[j] - ac->g_logp_old[i]);
    *sr += r * M[i] * ac->g_adv[i] / R;
    *sc += r * M[i] * ac->g_adv_c[i] / R;
    *kl += (double)k[j] / R;
  }
}

// The three acceptance tests of specs §5 step 10, written out here.
static int acceptable(double kl, double sr, double sc, double sr0, double sc0, int qp_case,
                      double c, double delta) {
  return kl < delta && (qp_case <= 1 || -sr < -sr0) && sc - sc0 <= fmax(-c, 0.0);
}

// Pins: with MACPO's direction (delta 0.0065, cap off, fraction 1) searched with a KL threshold
// of delta/10, the first trials are rejected and a later one i accepted; the accepted parameters
// are exactly theta_old - (float)(decay^i) x; KL, S_R, S_C recomputed here agree with the
// reported ones (1e-6 relative) and pass all three tests; every earlier trial fails one of them.
// Then with MACPO's defaults (cap 0.5, fraction 0.27) the first trial is theta_old - 0.27 x.
static void test_line_search_accepts(void) {
  fixture_t f;
  if (fixture_open(&f, "relu", 51)) return;
  rng_t rng;
  rng_seed(&rng, 52);
  enum { R = 12 };
  int mb[R];
  float M[NROWS];
  make_minibatch(&rng, mb, R, M);
  ac_actor_t *act = &f.ac.actors[0];
  int n = act->pol.n_params;
  const double delta = 0.0065, c = -0.05;
  old_pol_t old;
  save_old(&f, mb, R, &old);
  float theta_old[MAXP];
  memcpy(theta_old, act->theta, sizeof(float) * n);

  for (int variant = 0; variant < 2; variant++) {
    memcpy(act->theta, theta_old, sizeof(float) * n);
    double cap = variant ? 0.5 : 0.0, frac0 = variant ? 0.27 : 1.0;
    double ls_delta = variant ? delta : delta / 10;
    ac_tr_begin(&f.tr, 0, mb, R, M);
    ac_tr_dir_t dir;
    ac_tr_direction(ac_tr_fvp, &f.tr, f.tr.g, f.tr.b, n, c, delta, 10, cap, f.tr.u, f.tr.w, f.tr.x,
                    f.tr.cg_work, &dir);
    ac_tr_ls_t ls;
    int i = ac_tr_line_search(&f.tr, dir.sol.qp_case, c, ls_delta, frac0, 0.5, 10, &ls);
    CHECK(i >= 0, "variant %d: no step accepted (case %d)", variant, dir.sol.qp_case);
    if (i < 0) continue;
    if (!variant) CHECK(i >= 1, "KL threshold delta/10 accepted the full step (trial %d)", i);
    double frac = frac0 * pow(0.5, i);
    CHECK(ls.frac == frac, "reported fraction %g, want %g", ls.frac, frac);
    for (int k = 0; k < n; k++)
      CHECK(act->theta[k] == theta_old[k] - (float)frac * f.tr.x[k],
            "accepted theta[%d] is not theta_old - frac x", k);
    double sr, sc, kl, sr0, sc0, kl0;
    eval_here(&f, mb, R, M, &old, &sr, &sc, &kl);
    CHECK_CLOSE(ls.kl, kl, 1e-6, 1e-12, "reported KL");
    CHECK_CLOSE(ls.surr_r, sr, 1e-6, 1e-12, "reported S_R");
    CHECK_CLOSE(ls.surr_c, sc, 1e-6, 1e-12, "reported S_C");
    float theta_new[MAXP];
    memcpy(theta_new, act->theta, sizeof(float) * n);
    memcpy(act->theta, theta_old, sizeof(float) * n);
    eval_here(&f, mb, R, M, &old, &sr0, &sc0, &kl0);
    CHECK_CLOSE(f.tr.surr_r_old, sr0, 1e-6, 1e-12, "S_R at theta_old");
    CHECK_CLOSE(f.tr.surr_c_old, sc0, 1e-6, 1e-12, "S_C at theta_old");
    CHECK(kl < ls_delta, "accepted KL %g >= %g", kl, ls_delta);
    CHECK(acceptable(kl, sr, sc, sr0, sc0, dir.sol.qp_case, c, ls_delta),
          "accepted step fails a test: kl %g, loss %g -> %g, cost %g -> %g (case %d)", kl, -sr0,
          -sr, sc0, sc, dir.sol.qp_case);
    for (int j = 0; j < i; j++) {
      double fj = frac0 * pow(0.5, j), srj, scj, klj;
      for (int k = 0; k < n; k++) act->theta[k] = theta_old[k] - (float)fj * f.tr.x[k];
      eval_here(&f, mb, R, M, &old, &srj, &scj, &klj);
      CHECK(!acceptable(klj, srj, scj, sr0, sc0, dir.sol.qp_case, c, ls_delta),
            "trial %d was rejected but passes every test", j);
    }
    memcpy(act->theta, theta_new, sizeof(float) * n);
  }
  fixture_close(&f);
}

// Runs the line search along a hand-set direction x (scaled gradient) and reports whether it
// accepted; afterwards theta is either the accepted point or bit-identical to theta_old.
static int search_along(fixture_t *f, const int *mb, int R, const float *M, const float *dirv,
                        double scale, int qp_case, double c, double delta, const float *theta_old,
                        int *restored) {
  ac_actor_t *act = &f->ac.actors[0];
  int n = act->pol.n_params;
  memcpy(act->theta, theta_old, sizeof(float) * n);
  ac_tr_begin(&f->tr, 0, mb, R, M);
  for (int k = 0; k < n; k++) f->tr.x[k] = (float)(scale * dirv[k]);
  ac_tr_ls_t ls;
  int i = ac_tr_line_search(&f->tr, qp_case, c, delta, 1.0, 0.5, 4, &ls);
  *restored = !memcmp(act->theta, theta_old, sizeof(float) * n);
  return i;
}

// Pins: each acceptance test rejects on its own, and a fully rejected search restores theta
// bit-exactly (memcmp) and reports KL 0. Directions, with the step theta_old - frac x:
// * KL: MACPO's own direction with a threshold of 1e-30: rejected, restored.
// * cost: x = -b/|b| (the step raises S_C at first order), c = +1 so max(-c, 0) = 0, case 1, no
//   KL limit: rejected at every trial, restored; x = +b/|b| is accepted at trial 0 (the sign).
// * loss: x = -g/|g| (the step raises the loss), c = -1e9 (no cost limit): rejected in case 2
//   (loss test required), accepted in case 1 (not required).
// Four trials, step lengths 0.01 down to 0.00125 in parameter norm: small enough for the
// first-order sign to hold, large enough for the change to dwarf the rounding of S (~1e-7).
static void test_line_search_rejects(void) {
  fixture_t f;
  if (fixture_open(&f, "relu", 61)) return;
  rng_t rng;
  rng_seed(&rng, 62);
  enum { R = 12 };
  int mb[R];
  float M[NROWS];
  make_minibatch(&rng, mb, R, M);
  ac_actor_t *act = &f.ac.actors[0];
  int n = act->pol.n_params, restored;
  float theta_old[MAXP], g[MAXP], b[MAXP];
  memcpy(theta_old, act->theta, sizeof(float) * n);
  ac_tr_begin(&f.tr, 0, mb, R, M);
  memcpy(g, f.tr.g, sizeof(float) * n);
  memcpy(b, f.tr.b, sizeof(float) * n);
  double gn = 0, bn = 0;
  for (int k = 0; k < n; k++) gn += (double)g[k] * g[k], bn += (double)b[k] * b[k];
  gn = sqrt(gn), bn = sqrt(bn);

  // KL.
  ac_tr_dir_t dir;
  ac_tr_direction(ac_tr_fvp, &f.tr, f.tr.g, f.tr.b, n, -0.05, 0.0065, 10, 0.5, f.tr.u, f.tr.w,
                  f.tr.x, f.tr.cg_work, &dir);
  ac_tr_ls_t ls;
  int i = ac_tr_line_search(&f.tr, dir.sol.qp_case, -0.05, 1e-30, 0.27, 0.5, 10, &ls);
  CHECK(i == -1 && ls.ls_step == -1 && ls.kl == 0.0, "KL 1e-30: trial %d accepted, kl %g", i,
        ls.kl);
  CHECK(!memcmp(act->theta, theta_old, sizeof(float) * n), "KL rejection: theta not restored");

  // Cost.
  i = search_along(&f, mb, R, M, b, -0.01 / bn, 1, 1.0, 1e9, theta_old, &restored);
  CHECK(i == -1 && restored, "cost-raising step: trial %d accepted, restored %d", i, restored);
  i = search_along(&f, mb, R, M, b, 0.01 / bn, 1, 1.0, 1e9, theta_old, &restored);
  CHECK(i == 0, "cost-lowering step with c > 0: trial %d (want 0)", i);

  // Loss.
  i = search_along(&f, mb, R, M, g, -0.01 / gn, 2, -1e9, 1e9, theta_old, &restored);
  CHECK(i == -1 && restored, "loss-raising step, case 2: trial %d accepted, restored %d", i,
        restored);
  i = search_along(&f, mb, R, M, g, -0.01 / gn, 1, -1e9, 1e9, theta_old, &restored);
  CHECK(i == 0, "loss-raising step, case 1 (loss not required): trial %d (want 0)", i);
  memcpy(act->theta, theta_old, sizeof(float) * n);
  fixture_close(&f);
}

// ---------------------------------------------------------------------------------------------
// (4) macpo through its class.

static int save_algo(const algo_class_t *cls, void *algo, ckpt_t *k) {
  ckpt_init(k);
  int rc = ckpt_begin(k, "ALGO");
  if (!rc) rc = cls->save(algo, k);
  if (!rc) rc = ckpt_end(k);
  return rc;
}

static int load_algo(const algo_class_t *cls, void *algo, ckpt_t *k) {
  k->pos = 0;
  int rc = ckpt_section(k, "ALGO", NULL);
  if (!rc) rc = cls->load(algo, k);
  if (!rc) rc = ckpt_section_done(k, "ALGO");
  return rc;
}

// Surrogate loss -mean(M r A_r) of `actor` on all its rows at parameters theta (the rows are
// selected by ac_gather_agent; the advantages are those of the last ac_prepare).
static double agent_loss(ac_t *ac, int actor, const float *theta, const float *M) {
  ac_actor_t *act = &ac->actors[actor];
  float keep[MAXP], logp[NROWS];
  int n = act->pol.n_params;
  memcpy(keep, act->theta, sizeof(float) * n);
  memcpy(act->theta, theta, sizeof(float) * n);
  ac_actor_logp(ac, actor, NROWS, logp);
  memcpy(act->theta, keep, sizeof(float) * n);
  double l = 0;
  for (int i = 0; i < NROWS; i++)
    l -= (M ? M[i] : 1.0) * exp((double)logp[i] - ac->g_logp_old[i]) * ac->g_adv[i];
  return l / NROWS;
}

// Pins: one update with one minibatch per agent and a cost limit so large that c << 0 (every
// step in case 3, where the line search requires a lower loss): each agent's parameters are
// unchanged or its surrogate loss on its rows, weighted by its M (1 for the first agent in the
// order, the first agent's new/old joint ratio for the second), is lower after the update than
// before. The order is the update's first draw from its rng (replayed here). Statistics:
// finite, case3 = 1, fractions in [0, 1], jc = the rollout's mean episodic cost,
// c = (1 - gamma)(jc - d).
static void test_update_improves(void) {
  const algo_class_t *cls = algo_find("macpo");
  CHECK(cls != NULL, "macpo is not registered");
  if (!cls) return;
  const char *over[] = {"algo.hidden=8", "algo.minibatches=1"};
  void *params = macpo_params(over, 2);
  env_spec_t spec = make_spec();
  algo_run_info_t run = {7, RT, RE, 1000, 1e6};
  void *algo = NULL;
  if (cls->create(&spec, params, &run, &algo) != 0) {
    CHECK(0, "create: %s", err_message());
    free(params);
    return;
  }
  ac_t *ac = algo;
  rng_t d, ar, ur;
  rng_seed(&d, 71);
  rng_seed(&ar, 72);
  rng_stream(&ur, 7, "update", 0);
  perturb_actors(ac, &d);
  buf_t buf;
  if (fill_rollout(algo, cls, &buf, &d, &ar) != 0) {
    CHECK(0, "rollout: %s", err_message());
    return;
  }
  float before[NA][MAXP];
  for (int a = 0; a < NA; a++) {
    CHECK(ac->actors[a].pol.n_params <= MAXP, "actor has %d parameters",
          ac->actors[a].pol.n_params);
    memcpy(before[a], ac->actors[a].theta, sizeof(float) * ac->actors[a].pol.n_params);
  }
  int order[NA];
  rng_t replay = ur;
  ac_agent_order(&replay, NA, order);
  float ep_costs[2] = {3.0f, 5.0f}, ep_ret[2] = {0, 0}, ep_len[2] = {4, 8};
  algo_rollout_info_t info = {0, NROWS, 2, ep_ret, ep_costs, ep_len, NULL};
  double stats[ALGO_MAX_STATS];
  CHECK(cls->update(algo, &buf, &info, &ur, stats) == 0, "update: %s", err_message());

  float M[NROWS];
  for (int i = 0; i < NROWS; i++) M[i] = 1.0f;
  int changed = 0;
  for (int h = 0; h < NA; h++) {
    int a = order[h], n = ac->actors[a].pol.n_params;
    ac_gather_agent(ac, &buf, a);
    int same = !memcmp(before[a], ac->actors[a].theta, sizeof(float) * n);
    double l0 = agent_loss(ac, a, before[a], M), l1 = agent_loss(ac, a, ac->actors[a].theta, M);
    CHECK(same || l1 < l0, "agent %d (position %d): loss %g -> %g", a, h, l0, l1);
    changed += !same;
    // M for the next agent: this agent's joint new/old ratio.
    float lp[NROWS];
    ac_actor_logp(ac, a, NROWS, lp);
    ac_m_update(M, lp, ac->g_logp_old, NROWS);
  }
  CHECK(changed > 0, "no agent moved: the test would prove nothing");
  for (int i = 0; i < cls->n_stats; i++)
    CHECK(isfinite(stats[i]), "statistic %s = %g", cls->stat_names[i], stats[i]);
  int col = -1;
  double fsum = 0;
  for (int i = 0; i < cls->n_stats; i++) {
    const char *s = cls->stat_names[i];
    if (!strncmp(s, "case", 4)) {
      fsum += stats[i];
      if (!strcmp(s, "case3")) col = i;
    }
    if (!strcmp(s, "accept_frac") || !strcmp(s, "capped_frac") || !strncmp(s, "case", 4))
      CHECK(stats[i] >= 0 && stats[i] <= 1, "%s = %g outside [0, 1]", s, stats[i]);
    if (!strcmp(s, "jc")) CHECK_NEAR(stats[i], 4.0, 1e-12, "jc = mean episodic cost");
    if (!strcmp(s, "c")) CHECK_NEAR(stats[i], 0.01 * (4.0 - 1e6), 1e-6, "c = (1-gamma)(jc-d)");
  }
  CHECK_NEAR(fsum, 1.0, 1e-12, "case fractions sum to 1");
  CHECK(col >= 0 && stats[col] == 1.0, "c << 0: case3 fraction %g, want 1",
        col >= 0 ? stats[col] : -1.0);
  buf_destroy(&buf);
  cls->destroy(algo);
  free(params);
}

// Pins: save -> load into a differently seeded instance gives identical re-saved bytes and
// identical acting (memcmp); one more update on both (same buffer, same rng stream, no episode
// ended so jc must come from the checkpoint) gives identical statistics and identical bytes.
// Default schedule shape (2 minibatches here), cost limit 1, so c > 0 and cases 0/1 appear.
static void test_save_load(void) {
  const algo_class_t *cls = algo_find("macpo");
  if (!cls) return;
  const char *over[] = {"algo.hidden=8", "algo.minibatches=2"};
  void *params = macpo_params(over, 2);
  env_spec_t spec = make_spec();
  algo_run_info_t r1 = {1, RT, RE, 1000, 1.0}, r2 = {2, RT, RE, 1000, 1.0};
  void *src = NULL, *dst = NULL;
  if (cls->create(&spec, params, &r1, &src) || cls->create(&spec, params, &r2, &dst)) {
    CHECK(0, "create: %s", err_message());
    return;
  }
  rng_t d, ar, ur;
  rng_seed(&d, 81);
  rng_seed(&ar, 82);
  rng_stream(&ur, 1, "update", 0);
  buf_t buf;
  if (fill_rollout(src, cls, &buf, &d, &ar) != 0) {
    CHECK(0, "rollout: %s", err_message());
    return;
  }
  float ep_costs[1] = {6.0f}, ep_ret[1] = {0}, ep_len[1] = {4};
  algo_rollout_info_t info = {0, NROWS, 1, ep_ret, ep_costs, ep_len, NULL};
  double s1[ALGO_MAX_STATS], s2[ALGO_MAX_STATS];
  CHECK(cls->update(src, &buf, &info, &ur, s1) == 0, "update: %s", err_message());

  ckpt_t k1, k2;
  CHECK(save_algo(cls, src, &k1) == 0, "save: %s", err_message());
  CHECK(load_algo(cls, dst, &k1) == 0, "load: %s", err_message());
  CHECK(save_algo(cls, dst, &k2) == 0, "re-save: %s", err_message());
  CHECK(k1.len == k2.len && !memcmp(k1.data, k2.data, k1.len), "re-saved bytes differ");
  ckpt_free(&k2);
  float obs[RE * NA * OBS], share[RE * SHARE];
  fill_uniform(obs, RE * NA * OBS, -1, 1, &d);
  fill_uniform(share, RE * SHARE, -1, 1, &d);
  float a1[RE * NA * ACT], a2[RE * NA * ACT], l1[RE * NA], l2[RE * NA], v1[RE * NA], v2[RE * NA],
      c1[RE * NA], c2[RE * NA];
  rng_t x1, x2;
  rng_seed(&x1, 5);
  x2 = x1;
  cls->act(src, obs, share, RE, &x1, a1, l1, v1, c1);
  cls->act(dst, obs, share, RE, &x2, a2, l2, v2, c2);
  CHECK(!memcmp(a1, a2, sizeof a1) && !memcmp(l1, l2, sizeof l1) && !memcmp(v1, v2, sizeof v1) &&
            !memcmp(c1, c2, sizeof c1),
        "after load: acting differs");

  algo_rollout_info_t none = {1, 2 * NROWS, 0, NULL, NULL, NULL, NULL};
  rng_t u1 = ur, u2 = ur;
  CHECK(cls->update(src, &buf, &none, &u1, s1) == 0, "update src: %s", err_message());
  CHECK(cls->update(dst, &buf, &none, &u2, s2) == 0, "update dst: %s", err_message());
  CHECK(!memcmp(s1, s2, sizeof(double) * cls->n_stats), "statistics differ after load");
  CHECK(s1[0] == 6.0, "jc %g not kept when no episode ended", s1[0]);
  ckpt_t k3, k4;
  CHECK(save_algo(cls, src, &k3) == 0 && save_algo(cls, dst, &k4) == 0, "save after update");
  CHECK(k3.len == k4.len && !memcmp(k3.data, k4.data, k3.len), "bytes differ after an update");
  ckpt_free(&k1), ckpt_free(&k3), ckpt_free(&k4);
  buf_destroy(&buf);
  cls->destroy(src);
  cls->destroy(dst);
  free(params);
}

// Pins: MACPO's table holds every AC_COMMON_PARAMS key with the same type and offset, no key
// twice; the MACPO defaults of the brief and the
// official script: critic_lr 5e-3, minibatches 40, kl_threshold 0.0065, fraction_coef 0.27,
// step_norm_cap 0.5, ls_steps 10, ls_decay 0.5, cg_iters 10, damping 0.1; 16 copies x 1000.
typedef struct {
  ac_params_t ac;
} probe_params_t;

static void test_param_table(void) {
  const algo_class_t *cls = algo_find("macpo");
  if (!cls) return;
  static const cfg_param_t common[] = {AC_COMMON_PARAMS(probe_params_t, "false", "5e-3", "1", "40")};
  int n_common = (int)(sizeof common / sizeof common[0]);
  for (int i = 0; i < n_common; i++) {
    int found = 0;
    for (int j = 0; j < cls->n_params; j++)
      if (!strcmp(cls->params[j].key, common[i].key)) {
        found++;
        CHECK(cls->params[j].type == common[i].type && cls->params[j].offset == common[i].offset,
              "key %s: type/offset differ from AC_COMMON_PARAMS", common[i].key);
      }
    CHECK(found == 1, "AC_COMMON_PARAMS key %s appears %d times in macpo's table", common[i].key,
          found);
  }
  for (int i = 0; i < cls->n_params; i++)
    for (int j = i + 1; j < cls->n_params; j++)
      CHECK(strcmp(cls->params[i].key, cls->params[j].key), "key %s twice", cls->params[i].key);
  const char *want[][2] = {{"critic_lr", "5e-3"},      {"minibatches", "40"},
                           {"kl_threshold", "0.0065"}, {"fraction_coef", "0.27"},
                           {"step_norm_cap", "0.5"},   {"ls_steps", "10"},
                           {"ls_decay", "0.5"},        {"cg_iters", "10"},
                           {"damping", "0.1"},         {"share_params", "false"}};
  for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
    int ok = 0;
    for (int j = 0; j < cls->n_params; j++)
      if (!strcmp(cls->params[j].key, want[w][0])) ok = !strcmp(cls->params[j].def, want[w][1]);
    CHECK(ok, "default of %s is not %s", want[w][0], want[w][1]);
  }
  CHECK(cls->default_num_envs == 16 && cls->default_rollout_length == 1000,
        "default rollout %d x %d", cls->default_num_envs, cls->default_rollout_length);
}

int main(void) {
  test_param_table();
  test_fvp_explicit();
  test_gradients_fd();
  test_direction_brute_force();
  test_direction_policy_kkt();
  test_line_search_accepts();
  test_line_search_rejects();
  test_update_improves();
  test_save_load();
  return check_report("test_macpo");
}
