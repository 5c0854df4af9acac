// test_drone_safety: the one-step safety projection (envs/drone_safety.c).
// * brute force, N = 2 and 3 drones in a plane (equal z, v_z and z commands, so every row is
//   horizontal): the projection's distance to u_bar equals, within 2e-7, the minimum over the
//   same linearised set (internal margin included) found by enumerating every active set (exact for
//   a QP: the optimum is u_bar projected onto the affine hull of some independent active set), both
//   agree on infeasibility, no point of 20,000 random samples of that set is closer, and the result
//   is exactly safe. With one binding pair and the box inactive, no exactly-safe sample (random
//   search plus local refinement over all 3N commands) is closer than the projection by more
//   than 1e-6 (the linearisation is exact there); elsewhere the gap is printed. Infeasible
//   cases: no random box command has a larger smallest row slack than the best effort, and the
//   enumerated nearest command with every row at least its group's smallest slack is as far.
// * already safe -> returned bit for bit with 0 interventions (also out-of-box and NaN parts).
// * stress: 10,000 random configurations, N = 2..16, accel_scale 1..30, obstacles in a third:
//   commands in the box or untouched, feasible -> exactly safe, infeasible -> worst slack not
//   below u_bar's; every 10th (obstacle-free) one is stepped in drone_swarm_point itself, whose
//   drone-drone cost must agree with the reported safety; every other feasible projection, and
//   1,500 dense lattice scenes (8..16 drones, box binding), against Dykstra's method on the same
//   QP in 3-D (within 1e-6).
// * infeasible cases reported, with the expected best effort (overlapping pair, head-on pair).
// * drone_swarm (MuJoCo, velocity mode): the tracking radius bounds the one-step error of the
//   kinematic model over random flights; from constructed two-drone states, whenever the
//   conservative projection is feasible the separation after the env step is >= d_min; closed
//   loop (2, 5, 8 drones sent at one point at full speed), the same at every feasible step, and
//   the scene breaks d_min without the projection (the minimum separation with it is printed:
//   the one-step layer does not promise it stays >= d_min once steps turn infeasible).
#include <float.h>

#include "envs/drone_safety.h"
#include "tests/test_drone_util.h"

#define DT DC_DT_S

static const double kPi = 3.14159265358979323846;
#define MAXN 16

typedef struct {
  int n;
  double pos[3 * DSAFE_MAX_DRONES], vel[3 * DSAFE_MAX_DRONES];
  double s;  // accel_scale
  double d_min;
  int m;
  double obs[4 * 4];
  double margin;
} scene_t;

static int project(dsafe_ws_t *ws, const scene_t *c, const float *upi, float *u,
                   dsafe_result_t *res) {
  dsafe_limits_t lim = {c->d_min, c->m, c->obs, c->margin};
  return dsafe_project(ws, c->n, c->pos, c->vel, c->s, &lim, upi, u, res);
}

// The env's arithmetic (drone_swarm_point.c), written out again here.
static void next_pos(const scene_t *c, const double *uexec, double *P) {
  for (int k = 0; k < 3 * c->n; k++) {
    double acc = c->s * uexec[k];
    double v = c->vel[k] + acc * DT;
    P[k] = c->pos[k] + v * DT;
  }
}

static void exec_cmd(int n, const float *u, double *uexec) {
  for (int k = 0; k < 3 * n; k++) uexec[k] = dc_clip_action(u[k]);
}

static double dist3(const double *a, const double *b) {
  double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
  return sqrt(dx * dx + dy * dy + dz * dz);
}

// min over pairs (d - d_min) and drone-obstacle (d - r - margin) after the step.
static double worst_slack(const scene_t *c, const float *u) {
  double ue[3 * DSAFE_MAX_DRONES], P[3 * DSAFE_MAX_DRONES], w = INFINITY;
  exec_cmd(c->n, u, ue);
  next_pos(c, ue, P);
  for (int i = 0; i < c->n; i++) {
    for (int j = i + 1; j < c->n; j++) w = fmin(w, dist3(P + 3 * i, P + 3 * j) - c->d_min);
    for (int k = 0; k < c->m; k++)
      w = fmin(w, dist3(P + 3 * i, c->obs + 4 * k) - c->obs[4 * k + 3] - c->margin);
  }
  return w;
}

static double pair_slack(const scene_t *c, const float *u) {
  double ue[3 * DSAFE_MAX_DRONES], P[3 * DSAFE_MAX_DRONES], w = INFINITY;
  exec_cmd(c->n, u, ue);
  next_pos(c, ue, P);
  for (int i = 0; i < c->n; i++)
    for (int j = i + 1; j < c->n; j++) w = fmin(w, dist3(P + 3 * i, P + 3 * j) - c->d_min);
  return w;
}

// ---- 1. brute force ------------------------------------------------------------------------

// The linearised QP restricted to the horizontal commands (2n variables), built here from the
// header's definition: requirements raised by the internal margin 1e-9 + FLT_EPSILON |B|
// (|B| = s dt^2 sqrt 3), rows for pairs with |q_i - q_j| < requirement + 2|B| and drone-obstacle
// pairs with |q_i - o| < requirement + |B|, normal = unit of the unprojected next separation;
// then the box. A [m][2n], b [m].
typedef struct {
  int nv, m;
  double margin;  // the internal margin in b: the projection, rounded to float, may use it
  double A[32][6], b[32];
  int ri[32], rj[32];  // drones of each non-box row (rj = -1: obstacle)
  double x0[6];
} lqp_t;

static void build_lqp(const scene_t *c, const float *upi, lqp_t *L) {
  int n = c->n;
  double ue[3 * MAXN], P[3 * MAXN], q[3 * MAXN];
  exec_cmd(n, upi, ue);
  next_pos(c, ue, P);
  for (int k = 0; k < 3 * n; k++) q[k] = c->pos[k] + c->vel[k] * DT;
  double cc = c->s * DT * DT, Bn = cc * sqrt(3.0);
  double margin = 1e-9 + FLT_EPSILON * Bn;  // the header's internal margin
  memset(L, 0, sizeof *L);
  L->margin = margin;
  L->nv = 2 * n;
  for (int i = 0; i < n; i++)
    for (int a = 0; a < 2; a++) L->x0[2 * i + a] = ue[3 * i + a];
  for (int i = 0; i < n; i++) {
    for (int j = i + 1; j < n; j++) {
      if (dist3(q + 3 * i, q + 3 * j) >= c->d_min + margin + 2 * Bn) continue;
      double x[3], len;
      for (int a = 0; a < 3; a++) x[a] = P[3 * i + a] - P[3 * j + a];
      len = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
      double *row = L->A[L->m];
      double nq = 0;
      for (int a = 0; a < 2; a++) {
        row[2 * i + a] = cc * x[a] / len;
        row[2 * j + a] = -cc * x[a] / len;
      }
      for (int a = 0; a < 3; a++) nq += x[a] / len * (q[3 * i + a] - q[3 * j + a]);
      L->ri[L->m] = i, L->rj[L->m] = j;
      L->b[L->m++] = c->d_min + margin - nq;
    }
    for (int k = 0; k < c->m; k++) {
      const double *o = c->obs + 4 * k;
      if (dist3(q + 3 * i, o) >= o[3] + c->margin + margin + Bn) continue;
      double x[3], len, nq = 0;
      for (int a = 0; a < 3; a++) x[a] = P[3 * i + a] - o[a];
      len = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
      double *row = L->A[L->m];
      for (int a = 0; a < 2; a++) row[2 * i + a] = cc * x[a] / len;
      for (int a = 0; a < 3; a++) nq += x[a] / len * (q[3 * i + a] - o[a]);
      L->ri[L->m] = i, L->rj[L->m] = -1;
      L->b[L->m++] = o[3] + c->margin + margin - nq;
    }
  }
  for (int v = 0; v < L->nv; v++) {
    L->A[L->m][v] = 1.0;
    L->b[L->m++] = -1.0;
    L->A[L->m][v] = -1.0;
    L->b[L->m++] = -1.0;
  }
}

static int lqp_feasible(const lqp_t *L, const double *x, double tol) {
  for (int r = 0; r < L->m; r++) {
    double s = -L->b[r];
    for (int v = 0; v < L->nv; v++) s += L->A[r][v] * x[v];
    if (s < -tol) return 0;
  }
  return 1;
}

static double norm_diff(const double *a, const double *b, int n) {
  double s = 0;
  for (int k = 0; k < n; k++) s += (a[k] - b[k]) * (a[k] - b[k]);
  return sqrt(s);
}

// Projection of x0 onto the affine hull of rows S[0..k) (A_S x = b_S); 0 when they are
// dependent. Gaussian elimination with partial pivoting on (A_S A_S^T) lam = b_S - A_S x0.
static int affine_projection(const lqp_t *L, const int *S, int k, double *x) {
  int nv = L->nv;
  double G[6][7], lam[6];
  for (int i = 0; i < k; i++) {
    double ax0 = 0;
    for (int v = 0; v < nv; v++) ax0 += L->A[S[i]][v] * L->x0[v];
    for (int j = 0; j < k; j++) {
      double g = 0;
      for (int v = 0; v < nv; v++) g += L->A[S[i]][v] * L->A[S[j]][v];
      G[i][j] = g;
    }
    G[i][k] = L->b[S[i]] - ax0;
  }
  for (int col = 0; col < k; col++) {
    int piv = col;
    for (int i = col + 1; i < k; i++)
      if (fabs(G[i][col]) > fabs(G[piv][col])) piv = i;
    if (fabs(G[piv][col]) < 1e-13) return 0;
    for (int j = 0; j <= k; j++) {
      double t = G[col][j];
      G[col][j] = G[piv][j];
      G[piv][j] = t;
    }
    for (int i = col + 1; i < k; i++) {
      double f = G[i][col] / G[col][col];
      for (int j = col; j <= k; j++) G[i][j] -= f * G[col][j];
    }
  }
  for (int i = k - 1; i >= 0; i--) {
    double s = G[i][k];
    for (int j = i + 1; j < k; j++) s -= G[i][j] * lam[j];
    lam[i] = s / G[i][i];
  }
  for (int v = 0; v < nv; v++) {
    x[v] = L->x0[v];
    for (int i = 0; i < k; i++) x[v] += L->A[S[i]][v] * lam[i];
  }
  return 1;
}

// Every subset of rows of size <= nv with indices > S[k-1], depth first.
static void enumerate_from(const lqp_t *L, int *S, int k, double *best, double *xbest) {
  double x[6];
  if (affine_projection(L, S, k, x) && lqp_feasible(L, x, 1e-10)) {
    double dd = norm_diff(x, L->x0, L->nv);
    if (*best < 0 || dd < *best) {
      *best = dd;
      memcpy(xbest, x, sizeof(double) * L->nv);
    }
  }
  if (k == L->nv) return;
  for (int r = k ? S[k - 1] + 1 : 0; r < L->m; r++) {
    S[k] = r;
    enumerate_from(L, S, k + 1, best, xbest);
  }
}

// Exact minimum of ||x - x0|| over the polyhedron by enumerating active sets of size <= nv
// (projection of x0 onto each affine hull, kept when feasible). Returns -1 when none is.
static double enumerate_lqp(const lqp_t *L, double *xbest) {
  double best = -1;
  int S[6];
  enumerate_from(L, S, 0, &best, xbest);
  return best;
}

// A planar scene of n drones at z = 5 whose coasting positions are within reach of d_min of
// each other (and of an obstacle when asked), with random horizontal commands.
static void planar_scene(rng_t *r, int n, int obstacle, scene_t *c, float *upi) {
  static const double scales[3] = {1.0, 5.0, 20.0};
  memset(c, 0, sizeof *c);
  c->n = n;
  c->s = scales[rng_below(r, 3)];
  c->d_min = 2.0;
  c->margin = 0.5;
  double cc = c->s * DT * DT, reach = 2 * cc * sqrt(2.0);
  double q[3 * MAXN];
  q[0] = q[1] = 0;
  for (int i = 1; i < n; i++) {
    int j = (int)rng_below(r, (uint32_t)i);
    double th = 2 * kPi * rng_uniform(r), dd = c->d_min + reach * (2 * rng_uniform(r) - 0.5);
    q[3 * i] = q[3 * j] + dd * cos(th);
    q[3 * i + 1] = q[3 * j + 1] + dd * sin(th);
  }
  float zc = (float)(2 * rng_uniform(r) - 1);
  for (int i = 0; i < n; i++) {
    for (int a = 0; a < 2; a++) {
      c->vel[3 * i + a] = 0.5 * rng_normal(r);
      c->pos[3 * i + a] = q[3 * i + a] - c->vel[3 * i + a] * DT;
      upi[3 * i + a] = (float)(2 * rng_uniform(r) - 1);
      if (rng_uniform(r) < 0.3) upi[3 * i + a] = upi[3 * i + a] > 0 ? 1.0f : -1.0f;  // saturated
    }
    c->pos[3 * i + 2] = 5.0;
    c->vel[3 * i + 2] = 0.0;
    upi[3 * i + 2] = zc;
  }
  double ue[3 * MAXN], P[3 * MAXN];
  exec_cmd(n, upi, ue);
  next_pos(c, ue, P);
  for (int k = 0; k < obstacle; k++) {
    int i = (int)rng_below(r, (uint32_t)n);
    double th = 2 * kPi * rng_uniform(r), rad = 1.0;
    double dd = rad + c->margin + 1.5 * cc * sqrt(2.0) * (2 * rng_uniform(r) - 1);
    double *o = c->obs + 4 * c->m++;
    o[0] = q[3 * i] + dd * cos(th);
    o[1] = q[3 * i + 1] + dd * sin(th);
    o[2] = P[2];  // the drones' next height: rows stay horizontal
    o[3] = rad;
  }
}

static int feasible_exact(const scene_t *c, const double *P) {
  for (int i = 0; i < c->n; i++) {
    for (int j = i + 1; j < c->n; j++)
      if (dist3(P + 3 * i, P + 3 * j) < c->d_min) return 0;
    for (int k = 0; k < c->m; k++)
      if (dist3(P + 3 * i, c->obs + 4 * k) < c->obs[4 * k + 3] + c->margin) return 0;
  }
  return 1;
}

// Exact problem (all 3n commands, the true ball constraints): best distance to x0 found by
// random samples around x0 (radius up to 1.5 r) plus local refinement, starting from `start`.
static double exact_search(rng_t *r, const scene_t *c, const double *x0, const double *start,
                           double rad) {
  int nv = 3 * c->n;
  double best[3 * MAXN], x[3 * MAXN], P[3 * MAXN];
  memcpy(best, start, sizeof(double) * nv);
  double bd = norm_diff(best, x0, nv);
#define FEAS(xx) (next_pos(c, (xx), P), feasible_exact(c, P))
  for (int s = 0; s < 30000; s++) {
    double dir[3 * MAXN], len = 0, rr = 1.5 * rad * rng_uniform(r);
    for (int v = 0; v < nv; v++) {
      dir[v] = rng_normal(r);
      len += dir[v] * dir[v];
    }
    len = sqrt(len);
    for (int v = 0; v < nv; v++) x[v] = fmin(1, fmax(-1, x0[v] + rr * dir[v] / len));
    double dd = norm_diff(x, x0, nv);
    if (dd < bd && FEAS(x)) {
      bd = dd;
      memcpy(best, x, sizeof(double) * nv);
    }
  }
  for (double step = rad * 0.1; step > 1e-10; step *= 0.5) {
    for (int t = 0; t < 300; t++) {
      double dir[3 * MAXN], len = 0;
      for (int v = 0; v < nv; v++) {
        dir[v] = rng_normal(r);
        len += dir[v] * dir[v];
      }
      len = sqrt(len);
      for (int v = 0; v < nv; v++) x[v] = fmin(1, fmax(-1, best[v] + step * dir[v] / len));
      double dd = norm_diff(x, x0, nv);
      if (dd < bd && FEAS(x)) {
        bd = dd;
        memcpy(best, x, sizeof(double) * nv);
        t = 0;
      }
    }
  }
#undef FEAS
  return bd;
}

static void test_brute_force(dsafe_ws_t *ws) {
  rng_t r;
  rng_seed(&r, 101);
  int cases = 0, infeasible = 0, single_exact = 0, bad_opt = 0, bad_feas = 0, bad_sample = 0;
  int bad_exact = 0, bad_z = 0, bad_status = 0, bad_be = 0;
  double be_gap = -INFINITY, be_near_worst = 0;
  double gap_max = 0, gap_sum = 0, worst_opt = 0;
  int gap_n = 0;
  for (int trial = 0; trial < 8000 && cases < 1200; trial++) {
    int n = 2 + (trial & 1);
    scene_t c;
    float upi[3 * MAXN], u[3 * MAXN];
    planar_scene(&r, n, (trial % 3) == 0 ? 1 + (trial % 2) : 0, &c, upi);
    if (worst_slack(&c, upi) >= 0) continue;  // safe already: test 2's business
    dsafe_result_t res;
    CHECK(project(ws, &c, upi, u, &res) == 0, "project: %s", err_message());
    lqp_t L;
    build_lqp(&c, upi, &L);
    double xb[6], xp[6];
    double bf = enumerate_lqp(&L, xb);
    cases++;
    if (bf < 0) {
      infeasible++;
      bad_status += !res.infeasible;
      // Best effort: its smallest linearised row slack is the largest achievable in the box, so
      // no random box sample (uniform, or near the best effort) has a larger one.
      int rows = L.m - 2 * L.nv;
      double x[6], xbe[6], ue[3 * MAXN];
      exec_cmd(n, u, ue);
      for (int i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) xbe[2 * i + a] = ue[3 * i + a];
      double t_be = INFINITY, t_best = -INFINITY;
      for (int k = 0; k < rows; k++) {
        double sl = -L.b[k];
        for (int v = 0; v < L.nv; v++) sl += L.A[k][v] * xbe[v];
        t_be = fmin(t_be, sl);
      }
      for (int smp = 0; smp < 20000; smp++) {
        double t = INFINITY;
        for (int v = 0; v < L.nv; v++)
          x[v] = (smp & 1) ? 2 * rng_uniform(&r) - 1
                           : fmin(1, fmax(-1, xbe[v] + 0.01 * rng_normal(&r)));
        for (int k = 0; k < rows; k++) {
          double sl = -L.b[k];
          for (int v = 0; v < L.nv; v++) sl += L.A[k][v] * x[v];
          t = fmin(t, sl);
        }
        t_best = fmax(t_best, t);
      }
      be_gap = fmax(be_gap, t_best - t_be);
      // ... and it is the nearest box command with every row's slack >= its group's smallest
      // (groups: drones linked by rows; a group whose smallest slack is >= 0 keeps its rows).
      int grp[3] = {0, 1, 2};
      for (int pass = 0; pass < 3; pass++)
        for (int k = 0; k < rows; k++)
          if (L.rj[k] >= 0) {
            int m = grp[L.ri[k]] < grp[L.rj[k]] ? grp[L.ri[k]] : grp[L.rj[k]];
            grp[L.ri[k]] = grp[L.rj[k]] = m;
          }
      double gmin[3] = {0, 0, 0};
      for (int k = 0; k < rows; k++) {
        double sl = -L.b[k];
        for (int v = 0; v < L.nv; v++) sl += L.A[k][v] * xbe[v];
        gmin[grp[L.ri[k]]] = fmin(gmin[grp[L.ri[k]]], sl);
      }
      lqp_t Ls = L;
      for (int k = 0; k < rows; k++)
        if (gmin[grp[L.ri[k]]] < 0) Ls.b[k] += gmin[grp[L.ri[k]]] - 1e-12;
      double xs[6], ds = enumerate_lqp(&Ls, xs), dbe = norm_diff(xbe, L.x0, L.nv);
      be_near_worst = fmax(be_near_worst, fabs(ds - dbe));
      // 1e-5: rounding the best effort to float (3e-8 per component) moves its slack, and at a
      // corner of nearly parallel rows the nearest point moves ~30x that (seen: 8e-7).
      bad_be += !(fabs(ds - dbe) <= 1e-5);
      bad_be += t_be < t_best - 1e-6 * norm_diff(xbe, L.x0, L.nv) - 1e-9;
      continue;
    }
    bad_status += res.infeasible;
    for (int i = 0; i < n; i++) {
      for (int a = 0; a < 2; a++) xp[2 * i + a] = u[3 * i + a];
      bad_z += u[3 * i + 2] != upi[3 * i + 2];
    }
    double pd = norm_diff(xp, L.x0, L.nv);
    worst_opt = fmax(worst_opt, fabs(pd - bf));
    bad_opt += !(fabs(pd - bf) <= 2e-7);
    bad_feas += !lqp_feasible(&L, xp, L.margin) || !res.safe || worst_slack(&c, u) < 0;
    // Random samples of the same set: none closer than the projection.
    for (int s = 0; s < 20000; s++) {
      double x[6];
      double rad = (s & 1) ? 2.0 : 1.5 * pd * rng_uniform(&r);
      for (int v = 0; v < L.nv; v++)
        x[v] = (s & 1) ? 2 * rng_uniform(&r) - 1
                       : fmin(1, fmax(-1, L.x0[v] + rad * rng_normal(&r) / sqrt(L.nv)));
      if (lqp_feasible(&L, x, 0) && norm_diff(x, L.x0, L.nv) < pd - 1e-6) {
        bad_sample++;
        break;
      }
    }
    // The exact problem over all 3n commands, starting from the projection.
    double x0[3 * MAXN], start[3 * MAXN];
    exec_cmd(n, upi, x0);
    exec_cmd(n, u, start);
    int rows = L.m - 2 * L.nv, box_free = 1;
    for (int v = 0; v < L.nv; v++) box_free &= fabs(xp[v]) < 0.999;
    double ex = exact_search(&r, &c, x0, start, pd);
    if (n == 2 && rows == 1 && c.m == 0 && box_free) {
      single_exact++;
      bad_exact += !(ex >= pd - 1e-6);
    } else {
      gap_max = fmax(gap_max, pd - ex);
      gap_sum += pd - ex;
      gap_n++;
    }
  }
  printf(
      "brute force: %d cases (%d infeasible), max |projection - enumeration| = %.2e; single-pair "
      "box-free cases vs exact search: %d; elsewhere projection - exact-search best: mean %.2e "
      "max %.2e over %d\n",
      cases, infeasible, worst_opt, single_exact, gap_n ? gap_sum / gap_n : 0.0, gap_max, gap_n);
  CHECK(cases >= 1000 && infeasible > 10 && cases - infeasible > 300 && single_exact > 20,
        "enough cases of each kind: %d, %d infeasible, %d single-pair", cases, infeasible,
        single_exact);
  printf(
      "brute force: infeasible cases, best sampled minimum slack - best effort's: max %.2e "
      "(<= 0: no sample better); |its distance - nearest with that slack (enumerated)| max %.2e\n",
      be_gap, be_near_worst);
  CHECK(bad_be == 0,
        "%d infeasible cases where a random box command beat the best effort, or a nearer command "
        "reached its slack",
        bad_be);
  CHECK(bad_status == 0,
        "%d cases where the projection and the enumeration disagree on feasibility", bad_status);
  CHECK(bad_opt == 0, "%d cases where the projection is not the linearised optimum (1e-6)",
        bad_opt);
  CHECK(bad_feas == 0, "%d projections infeasible for the linearised or exact constraints",
        bad_feas);
  CHECK(bad_sample == 0, "%d cases where a random feasible sample beat the projection", bad_sample);
  CHECK(bad_exact == 0, "%d single-pair cases where an exactly safe command beat the projection",
        bad_exact);
  CHECK(bad_z == 0, "%d z commands moved in planar scenes", bad_z);
}

// ---- 2-3. random scenes: already safe, stress, the env itself -----------------------------

static void random_scene(rng_t *r, scene_t *c, float *upi) {
  static const double scales[4] = {1.0, 3.0, 10.0, 30.0};
  static const double sigmas[3] = {0.0, 0.3, 1.0};
  static const double margins[3] = {0.0, 0.06, 0.5};
  memset(c, 0, sizeof *c);
  c->n = 2 + (int)rng_below(r, MAXN - 1);
  c->s = scales[rng_below(r, 4)];
  c->d_min = 2.0;
  // Three in four scenes keep drones >= 0.97 d_min apart (rejection, 200 tries), the rest are
  // uniform (overlaps: infeasible cases).
  double side = c->d_min * cbrt((double)c->n) * (1.3 + 0.7 * rng_uniform(r));
  double sigma = sigmas[rng_below(r, 3)], gap = rng_below(r, 4) ? 0.97 * c->d_min : 0.0;
  for (int i = 0; i < c->n; i++)
    for (int tries = 0; tries < 200; tries++) {
      for (int a = 0; a < 3; a++) c->pos[3 * i + a] = side * rng_uniform(r);
      int ok = 1;
      for (int j = 0; j < i && ok; j++) ok = dist3(c->pos + 3 * i, c->pos + 3 * j) >= gap;
      if (ok) break;
    }
  for (int k = 0; k < 3 * c->n; k++) {
    c->vel[k] = sigma * rng_normal(r);
    upi[k] = (float)(2 * rng_uniform(r) - 1);
  }
  if (rng_below(r, 3) == 0) {
    c->m = 1 + (int)rng_below(r, 3);
    c->margin = margins[rng_below(r, 3)];
    for (int k = 0; k < c->m; k++) {
      for (int a = 0; a < 3; a++) c->obs[4 * k + a] = side * rng_uniform(r);
      c->obs[4 * k + 3] = 0.3 + 1.2 * rng_uniform(r);
    }
  }
}

static void test_already_safe(dsafe_ws_t *ws) {
  rng_t r;
  rng_seed(&r, 202);
  int safe_cases = 0, odd_cases = 0, bad = 0;
  for (int trial = 0; trial < 20000 && safe_cases < 3000; trial++) {
    scene_t c;
    float upi[3 * MAXN], u[3 * MAXN];
    random_scene(&r, &c, upi);
    if (trial % 4 == 0) {  // out-of-box and NaN components, executed as the env clips them
      int k = (int)rng_below(&r, (uint32_t)(3 * c.n));
      static const float odd[4] = {1.7f, -3.0f, 1e30f, NAN};
      upi[k] = odd[rng_below(&r, 4)];
    }
    if (worst_slack(&c, upi) < 0) continue;
    dsafe_result_t res;
    memset(u, 0xA5, sizeof u);
    int rc = project(ws, &c, upi, u, &res);
    safe_cases++;
    int odd = 0;
    for (int k = 0; k < 3 * c.n; k++) odd |= !(fabsf(upi[k]) <= 1.0f);
    odd_cases += odd;
    bad += rc != 0 || memcmp(u, upi, sizeof(float) * 3 * c.n) != 0 || res.interventions != 0 ||
           res.change_norm != 0 || !res.safe || res.infeasible || res.min_slack < 0 ||
           res.rows != 0 || res.iterations != 0;
  }
  printf("already safe: %d cases (%d with out-of-box or NaN components)\n", safe_cases, odd_cases);
  CHECK(safe_cases >= 3000 && odd_cases >= 300, "enough safe cases: %d (%d odd)", safe_cases,
        odd_cases);
  CHECK(bad == 0, "%d safe commands not returned bit for bit with 0 interventions", bad);
}

typedef struct {
  dt_env_t t;
  int open;
} env_slot_t;

// drone_swarm_point with n drones, accel_scale s, no obstacles: load (pos, vel), step u, and
// return the env's count of drones with a neighbour closer than d_min.
static int env_close_count(env_slot_t *slot, const scene_t *c, const float *u) {
  if (!slot->open) {
    char ov[256];
    snprintf(ov, sizeof ov, "n_drones=%d n_obstacles=0 accel_scale=%g d_min=%g episode_length=1000",
             c->n, c->s, c->d_min);
    if (dt_open(&slot->t, "drone_swarm_point", ov, 1)) return -1;
    slot->open = 1;
  }
  dt_env_t *t = &slot->t;
  dt_save(t);
  double *d = dt_state_doubles(t);
  memcpy(d, c->pos, sizeof(double) * 3 * c->n);
  memcpy(d + 3 * c->n, c->vel, sizeof(double) * 3 * c->n);
  ((uint32_t *)(void *)t->state)[3] = 0;  // step count
  if (dt_load(t)) return -1;
  memcpy(t->act, u, sizeof(float) * 3 * c->n);
  dt_step(t);
  return (int)t->out.info[DC_INFO_COST_DD];
}

// The linearised QP over all 3n commands, rows sparse (<= 6 nonzeros), for N up to 16.
#define MAXROWS (MAXN * (MAXN - 1) / 2 + MAXN * 4)
typedef struct {
  int nv, m;
  int nz[MAXROWS], idx[MAXROWS][6];
  double val[MAXROWS][6], b[MAXROWS];
  double x0[3 * MAXN];
} lqp3_t;

static void lqp3_row(lqp3_t *L, int i, int j, const double *nrm, double cc, double b) {
  int r = L->m++, z = 0;
  for (int a = 0; a < 3; a++) {
    L->idx[r][z] = 3 * i + a;
    L->val[r][z++] = cc * nrm[a];
    if (j >= 0) {
      L->idx[r][z] = 3 * j + a;
      L->val[r][z++] = -cc * nrm[a];
    }
  }
  L->nz[r] = z;
  L->b[r] = b;
}

static void build_lqp3(const scene_t *c, const float *upi, lqp3_t *L) {
  int n = c->n;
  double ue[3 * MAXN], P[3 * MAXN], q[3 * MAXN];
  exec_cmd(n, upi, ue);
  next_pos(c, ue, P);
  for (int k = 0; k < 3 * n; k++) q[k] = c->pos[k] + c->vel[k] * DT;
  double cc = c->s * DT * DT, Bn = cc * sqrt(3.0), margin = 1e-9 + FLT_EPSILON * Bn;
  L->nv = 3 * n;
  L->m = 0;
  memcpy(L->x0, ue, sizeof(double) * 3 * n);
  for (int i = 0; i < n; i++) {
    for (int j = i + 1; j < n; j++) {
      double need = c->d_min + margin;
      if (dist3(q + 3 * i, q + 3 * j) >= need + 2 * Bn) continue;
      double x[3], len = dist3(P + 3 * i, P + 3 * j), nq = 0;
      for (int a = 0; a < 3; a++) x[a] = (P[3 * i + a] - P[3 * j + a]) / len;
      for (int a = 0; a < 3; a++) nq += x[a] * (q[3 * i + a] - q[3 * j + a]);
      lqp3_row(L, i, j, x, cc, need - nq);
    }
    for (int k = 0; k < c->m; k++) {
      const double *o = c->obs + 4 * k;
      double need = o[3] + c->margin + margin;
      if (dist3(q + 3 * i, o) >= need + Bn) continue;
      double x[3], len = dist3(P + 3 * i, o), nq = 0;
      for (int a = 0; a < 3; a++) x[a] = (P[3 * i + a] - o[a]) / len;
      for (int a = 0; a < 3; a++) nq += x[a] * (q[3 * i + a] - o[a]);
      lqp3_row(L, i, -1, x, cc, need - nq);
    }
  }
}

// Dykstra's alternating projections onto the half-spaces and the box (for half-spaces the
// increments are multiples t_r of the normals: Hildreth's method). Converges to the projection
// of x0 onto the intersection. Returns the distance, or -1 when not converged.
static double dykstra_lqp3(const lqp3_t *L, double *x) {
  static double t[MAXROWS], yb[3 * MAXN];
  int nv = L->nv;
  memcpy(x, L->x0, sizeof(double) * nv);
  memset(t, 0, sizeof(double) * L->m);
  memset(yb, 0, sizeof(double) * nv);
  for (int sweep = 0; sweep < 200000; sweep++) {
    double change = 0;
    for (int r = 0; r < L->m; r++) {
      double az = 0, aa = 0;
      for (int z = 0; z < L->nz[r]; z++) {
        az += L->val[r][z] * (x[L->idx[r][z]] - t[r] * L->val[r][z]);
        aa += L->val[r][z] * L->val[r][z];
      }
      double tn = fmax(0.0, (L->b[r] - az) / aa), dt = tn - t[r];
      for (int z = 0; z < L->nz[r]; z++) x[L->idx[r][z]] += dt * L->val[r][z];
      change = fmax(change, fabs(dt) * sqrt(aa));
      t[r] = tn;
    }
    for (int v = 0; v < nv; v++) {
      double z = x[v] + yb[v], pz = fmin(1.0, fmax(-1.0, z));
      change = fmax(change, fabs(pz - x[v]));
      yb[v] = z - pz;
      x[v] = pz;
    }
    if (change < 1e-14) return norm_diff(x, L->x0, nv);
  }
  return -1;
}

static void test_stress(dsafe_ws_t *ws) {
  rng_t r;
  rng_seed(&r, 303);
  static env_slot_t envs[MAXN + 1][4];
  int n_safe = 0, n_fixed = 0, n_inf = 0, bad_box = 0, bad_safe = 0, bad_worse = 0, bad_count = 0;
  int env_checked = 0, env_bad = 0, bad_rc = 0, dyk_checked = 0, dyk_slow = 0, dyk_bad = 0;
  double dyk_worst = 0;
  long interventions = 0;
  for (int trial = 0; trial < 10000; trial++) {
    scene_t c;
    float upi[3 * MAXN], u[3 * MAXN];
    random_scene(&r, &c, upi);
    dsafe_result_t res;
    bad_rc += project(ws, &c, upi, u, &res) != 0;
    int changed = 0;
    for (int i = 0; i < c.n; i++) {
      int diff = memcmp(u + 3 * i, upi + 3 * i, 3 * sizeof(float)) != 0;
      changed += diff;
      for (int a = 0; a < 3; a++) bad_box += diff && !(fabsf(u[3 * i + a]) <= 1.0f);
    }
    bad_count += changed != res.interventions;
    interventions += changed;
    double w = worst_slack(&c, u), w0 = worst_slack(&c, upi);
    bad_safe += (w >= 0) != res.safe || fabs(w - res.min_slack) > 1e-12;
    if (w0 >= 0) {
      n_safe++;
    } else if (!res.infeasible) {
      n_fixed++;
      bad_safe += !res.safe;
      if (n_fixed % 2 == 0) {  // an independent solver of the same QP
        static lqp3_t L;
        double x[3 * MAXN], ue[3 * MAXN];
        build_lqp3(&c, upi, &L);
        double dd = dykstra_lqp3(&L, x);
        exec_cmd(c.n, u, ue);
        double pd = norm_diff(ue, L.x0, L.nv);
        if (dd < 0) {
          dyk_slow++;
        } else {
          dyk_checked++;
          dyk_worst = fmax(dyk_worst, fabs(pd - dd));
          dyk_bad += !(fabs(pd - dd) <= 1e-6);
        }
      }
    } else {
      n_inf++;
      bad_worse += w < w0 - 1e-9;
    }
    if (trial % 10 == 0 && c.m == 0) {
      int si = c.s == 1.0 ? 0 : c.s == 3.0 ? 1 : c.s == 10.0 ? 2 : 3;
      int close = env_close_count(&envs[c.n][si], &c, u);
      env_checked++;
      env_bad += close < 0 || (close == 0) != (pair_slack(&c, u) >= 0) || (res.safe && close != 0);
    }
  }
  for (int n = 0; n <= MAXN; n++)
    for (int s = 0; s < 4; s++)
      if (envs[n][s].open) dt_close(&envs[n][s].t);
  printf(
      "stress: 10000 scenes: %d already safe, %d projected safe, %d infeasible (best effort); "
      "%ld drones changed; %d stepped in drone_swarm_point\n",
      n_safe, n_fixed, n_inf, interventions, env_checked);
  printf(
      "stress: %d projections against Dykstra's method on the same QP: max |distance "
      "difference| %.2e (%d not converged in 2e5 sweeps, skipped)\n",
      dyk_checked, dyk_worst, dyk_slow);
  CHECK(dyk_checked > 500 && dyk_bad == 0, "%d of %d projections differ from Dykstra's by > 1e-6",
        dyk_bad, dyk_checked);
  CHECK(bad_rc == 0, "%d calls failed", bad_rc);
  CHECK(n_safe > 500 && n_fixed > 2000 && n_inf > 500, "mix: %d safe %d fixed %d infeasible",
        n_safe, n_fixed, n_inf);
  CHECK(bad_box == 0, "%d changed components outside [-1, 1]", bad_box);
  CHECK(bad_count == 0, "%d scenes where interventions != drones changed", bad_count);
  CHECK(bad_safe == 0,
        "%d scenes where safe/min_slack disagree with the check, or feasible "
        "but unsafe",
        bad_safe);
  CHECK(bad_worse == 0, "%d infeasible scenes where the best effort lowered the worst slack",
        bad_worse);
  CHECK(env_checked > 500 && env_bad == 0, "%d of %d env steps disagree with the reported safety",
        env_bad, env_checked);
}

// Many interacting rows: 8..16 drones on a lattice within reach of d_min, accel_scale 10..30
// (the box binds), saturated commands; every feasible projection against Dykstra's method.
static void test_dense_groups(dsafe_ws_t *ws) {
  rng_t r;
  rng_seed(&r, 404);
  int checked = 0, bad = 0, slow = 0, unsafe = 0;
  double worst = 0;
  for (int trial = 0; trial < 1500; trial++) {
    scene_t c;
    float upi[3 * MAXN], u[3 * MAXN];
    memset(&c, 0, sizeof c);
    c.n = 8 + (int)rng_below(&r, MAXN - 7);
    c.s = 10.0 + 20.0 * rng_uniform(&r);
    c.d_min = 2.0;
    double cc = c.s * DT * DT, h = c.d_min + 2 * cc * (rng_uniform(&r) - 0.3);
    for (int i = 0; i < c.n; i++) {
      int idx[3] = {i % 3, (i / 3) % 3, i / 9};
      for (int a = 0; a < 3; a++) {
        c.pos[3 * i + a] = h * idx[a] + 0.05 * cc * rng_normal(&r);
        c.vel[3 * i + a] = 0.3 * rng_normal(&r);
        float x = (float)(2 * rng_uniform(&r) - 1);
        upi[3 * i + a] = rng_uniform(&r) < 0.4 ? (x > 0 ? 1.0f : -1.0f) : x;
      }
    }
    dsafe_result_t res;
    project(ws, &c, upi, u, &res);
    if (res.infeasible || res.rows == 0) continue;
    unsafe += !res.safe;
    static lqp3_t L;
    double x[3 * MAXN], ue[3 * MAXN];
    build_lqp3(&c, upi, &L);
    double dd = dykstra_lqp3(&L, x);
    exec_cmd(c.n, u, ue);
    double pd = norm_diff(ue, L.x0, L.nv);
    if (dd < 0) {
      slow++;
      continue;
    }
    checked++;
    worst = fmax(worst, fabs(pd - dd));
    bad += !(fabs(pd - dd) <= 1e-6);
  }
  printf(
      "dense groups: %d feasible projections against Dykstra's method: max |distance "
      "difference| %.2e (%d not converged, skipped)\n",
      checked, worst, slow);
  CHECK(checked > 300 && bad == 0 && unsafe == 0,
        "%d of %d dense projections differ from Dykstra's by > 1e-6, %d unsafe", bad, checked,
        unsafe);
}

// ---- 4. infeasible ----------------------------------------------------------------------------

static void test_infeasible(dsafe_ws_t *ws) {
  dsafe_result_t res;
  float u[6];
  // Two drones 1.5 m apart at rest (d_min 2): one step moves each by at most 0.01 m per axis.
  scene_t c = {.n = 2, .s = 1.0, .d_min = 2.0};
  c.pos[0] = 0, c.pos[1] = 0, c.pos[2] = 5;
  c.pos[3] = 1.5, c.pos[4] = 0, c.pos[5] = 5;
  float upi[6] = {0.3f, -0.2f, 0.1f, -0.5f, -0.2f, 0.1f};  // same y, z: the normal is -x
  CHECK(project(ws, &c, upi, u, &res) == 0, "overlap: call");
  CHECK(res.infeasible && !res.safe && res.interventions == 2,
        "overlap: reported infeasible "
        "(infeasible %d safe %d interventions %d)",
        res.infeasible, res.safe, res.interventions);
  // Best effort: the largest separation along x (full commands apart), the rest as asked.
  CHECK(fabsf(u[0] + 1) < 1e-6f && fabsf(u[3] - 1) < 1e-6f, "overlap: full commands apart (%g, %g)",
        u[0], u[3]);
  CHECK(u[1] == upi[1] && u[2] == upi[2] && u[4] == upi[4] && u[5] == upi[5],
        "overlap: the other axes stay as the policy's");
  CHECK_NEAR(pair_slack(&c, u) + c.d_min, 1.5 + 2 * 0.01, 2e-9, "overlap: separation after");
  CHECK_NEAR(res.min_slack, 1.52 - 2.0, 2e-9, "overlap: min slack reported");

  // Head-on at 1 m/s each, 2.05 m apart: the coasting separation is 1.85 m.
  c.pos[3] = 2.05;
  c.vel[0] = 1.0, c.vel[3] = -1.0;
  float toward[6] = {1, 0, 0, -1, 0, 0};
  CHECK(project(ws, &c, toward, u, &res) == 0 && res.infeasible && !res.safe,
        "head-on: reported infeasible");
  CHECK(fabsf(u[0] + 1) < 1e-6f && fabsf(u[3] - 1) < 1e-6f, "head-on: full braking (%g, %g)", u[0],
        u[3]);
  CHECK(pair_slack(&c, u) > pair_slack(&c, toward), "head-on: better than the policy's");

  // Barely infeasible: 1.979 m apart at rest, at most 1.999 m after the step.
  scene_t b = c;
  b.vel[0] = b.vel[3] = 0;
  b.pos[3] = 1.979;
  float still[6] = {0.2f, 0, 0, -0.1f, 0, 0};
  CHECK(project(ws, &b, still, u, &res) == 0 && res.infeasible && fabsf(u[0] + 1) < 1e-6f &&
            fabsf(u[3] - 1) < 1e-6f,
        "barely infeasible: full commands apart (%g, %g)", u[0], u[3]);
  CHECK_NEAR(res.min_slack, -0.001, 2e-9, "barely infeasible: min slack");

  // Three drones in a 1.6 m triangle: infeasible, the best effort raises the smallest gap.
  scene_t t3 = {.n = 3, .s = 2.0, .d_min = 2.0};
  for (int i = 0; i < 3; i++) {
    t3.pos[3 * i] = 1.6 / sqrt(3.0) * cos(2 * kPi * i / 3);
    t3.pos[3 * i + 1] = 1.6 / sqrt(3.0) * sin(2 * kPi * i / 3);
    t3.pos[3 * i + 2] = 4;
  }
  float zero[9] = {0};
  float u3[9];
  CHECK(project(ws, &t3, zero, u3, &res) == 0 && res.infeasible && res.interventions == 3,
        "triangle: reported infeasible, all three moved");
  CHECK(pair_slack(&t3, u3) > pair_slack(&t3, zero) + 0.01, "triangle: gap %g -> %g",
        pair_slack(&t3, zero), pair_slack(&t3, u3));

  // A feasible counterpart: 2.0 m apart at rest commanded together; projected apart exactly.
  scene_t f = {.n = 2, .s = 1.0, .d_min = 2.0};
  f.pos[0] = 0, f.pos[3] = 2.0;
  f.pos[2] = f.pos[5] = 5;
  float in[6] = {0.5f, 0, 0, -0.5f, 0, 0};
  CHECK(project(ws, &f, in, u, &res) == 0 && !res.infeasible && res.safe && res.interventions == 2,
        "feasible: projected");
  // Exact optimum: each drone's x command to 0 (the separation stays 2.0 m).
  CHECK(fabsf(u[0]) < 1e-6f && fabsf(u[3]) < 1e-6f, "feasible: commands to 0 (%g, %g)", u[0], u[3]);
  CHECK_NEAR(res.change_norm, sqrt(0.5), 1e-6, "feasible: change norm");

  // Bad input refused, commands passed through.
  c.pos[0] = NAN;
  CHECK(project(ws, &c, upi, u, &res) == ERR_INPUT && memcmp(u, upi, sizeof u) == 0,
        "NaN position refused");
  c.pos[0] = 0;
  c.d_min = 0;
  CHECK(project(ws, &c, upi, u, &res) == ERR_INPUT, "d_min 0 refused");
}

// ---- 5. drone_swarm (MuJoCo) ---------------------------------------------------------------

static const dsafe_velocity_model_t kVm = {2.0, 1.0, 0.0};

// Positions and velocities of every drone from the env's state.
static void mj_read(dt_env_t *t, double *pos, double *vel) {
  int n = t->spec.n_agents;
  dt_save(t);
  const double *d = dt_state_doubles(t);
  for (int i = 0; i < n; i++)
    for (int a = 0; a < 3; a++) {
      pos[3 * i + a] = d[1 + 7 * i + a];
      vel[3 * i + a] = d[1 + 7 * n + 6 * i + a];
    }
}

// A fresh reset, then drones level at p[i] with velocity v[i].
static void mj_place(dt_env_t *t, const double *p, const double *v) {
  int n = t->spec.n_agents;
  t->cls->reset(t->env, &t->rng, t->obs, t->share);
  dt_save(t);
  double *d = dt_state_doubles(t);
  for (int i = 0; i < n; i++) {
    dt_state_place(t, i, p + 3 * i, NULL);
    for (int a = 0; a < 3; a++) d[1 + 7 * n + 6 * i + a] = v[3 * i + a];
  }
  CHECK(dt_load(t) == 0, "load: %s", err_message());
}

static double mj_min_sep(const double *pos, int n) {
  double m = INFINITY;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) m = fmin(m, dist3(pos + 3 * i, pos + 3 * j));
  return m;
}

static void test_mj_radius(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm",
              "n_drones=5 n_obstacles=0 spawn_centre=0,0,30 "
              "episode_length=100000",
              5)) {
    CHECK(0, "open drone_swarm");
    return;
  }
  rng_t r;
  rng_seed(&r, 505);
  const double V[3] = {2, 2, 1};
  double pos[15], vel[15], pos1[15], vel1[15], u[15] = {0};
  double worst_ratio = 0, worst_acc = 0;
  long samples = 0, bad = 0;
  int hold[5] = {0};
  for (int k = 0; k < 4000; k++) {
    for (int i = 0; i < 5; i++) {
      if (hold[i]-- > 0) continue;
      hold[i] = (int)rng_below(&r, 8);
      for (int a = 0; a < 3; a++) {
        double x = 2 * rng_uniform(&r) - 1;
        if (rng_uniform(&r) < 0.4) x = x > 0 ? 1 : -1;
        u[3 * i + a] = x;
      }
    }
    if (k % 400 < 30) {  // full-speed reversals: 15 steps along +x,+y then -x,-y
      for (int i = 0; i < 5; i++) {
        double sgn = k % 400 < 15 ? 1 : -1;
        u[3 * i] = u[3 * i + 1] = sgn;
        u[3 * i + 2] = -sgn;
      }
    }
    mj_read(&t, pos, vel);
    for (int i = 0; i < 15; i++) t.act[i] = (float)u[i];
    dt_step(&t);
    if (t.out.done) {
      t.cls->reset(t.env, &t.rng, t.obs, t.share);
      continue;
    }
    mj_read(&t, pos1, vel1);
    for (int i = 0; i < 5; i++) {
      double e = dsafe_tracking_radius(&kVm, vel + 3 * i), err2 = 0, acc2 = 0;
      for (int a = 0; a < 3; a++) {
        double kin = pos[3 * i + a] + DT * V[a] * dc_clip_action(t.act[3 * i + a]);
        err2 += (pos1[3 * i + a] - kin) * (pos1[3 * i + a] - kin);
        double coast = pos1[3 * i + a] - pos[3 * i + a] - DT * vel[3 * i + a];
        acc2 += coast * coast;
      }
      worst_ratio = fmax(worst_ratio, sqrt(err2) / e);
      worst_acc = fmax(worst_acc, 2 * sqrt(acc2) / (DT * DT));
      bad += sqrt(err2) > e;
      samples++;
    }
  }
  printf(
      "drone_swarm tracking radius: %ld drone-steps, max error / radius %.3f, max equivalent "
      "acceleration %.2f m/s^2 (bound %.1f)\n",
      samples, worst_ratio, worst_acc, DSAFE_MJ_ACCEL_BOUND);
  CHECK(samples > 15000, "samples %ld", samples);
  CHECK(bad == 0, "%ld drone-steps off the kinematic position by more than the radius", bad);
  CHECK(worst_acc < DSAFE_MJ_ACCEL_BOUND, "equivalent acceleration %g above the bound", worst_acc);
  dt_close(&t);
}

static void test_mj_one_step(dsafe_ws_t *ws) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm",
              "n_drones=2 n_obstacles=0 spawn_centre=0,0,10 "
              "episode_length=100000",
              7)) {
    CHECK(0, "open drone_swarm");
    return;
  }
  dsafe_limits_t lim = {2.0, 0, NULL, 0.0};
  static const double dirs[3][3] = {{1, 0, 0}, {0.70710678, 0.70710678, 0}, {0.8, 0.36, 0.48}};
  static const double speeds[4] = {0, 0.5, 1.0, 2.0};
  int cases = 0, feasible = 0, kin_close = 0, raw_violate = 0, bad = 0, raw_violate_feasible = 0;
  for (int di = 0; di < 3; di++)
    for (int si = 0; si < 4; si++)
      for (double sep = 2.0; sep < 3.81; sep += 0.05) {
        const double *n = dirs[di];
        double p[6], v[6], pos[6], vel[6], after[6], vv[6];
        float upi[6], u[6];
        for (int a = 0; a < 3; a++) {
          p[a] = 10 * (a == 2) - 0.5 * sep * n[a];
          p[3 + a] = 10 * (a == 2) + 0.5 * sep * n[a];
          v[a] = speeds[si] * n[a];
          v[3 + a] = -speeds[si] * n[a];
          // Full command at each other (the axis with the largest share at 1).
          double big = fmax(fabs(n[0]), fmax(fabs(n[1]), fabs(n[2])));
          upi[a] = (float)(n[a] / big);
          upi[3 + a] = (float)(-n[a] / big);
        }
        mj_place(&t, p, v);
        memcpy(t.act, upi, sizeof upi);
        dt_step(&t);
        mj_read(&t, after, vv);
        double raw = dist3(after, after + 3);
        mj_place(&t, p, v);
        mj_read(&t, pos, vel);
        dsafe_result_t res;
        CHECK(dsafe_project_conservative(ws, 2, pos, vel, &kVm, &lim, upi, u, &res) == 0,
              "project");
        memcpy(t.act, u, sizeof u);
        dt_step(&t);
        mj_read(&t, after, vv);
        double sep1 = dist3(after, after + 3);
        // The kinematic next separation under the policy's command.
        double kin[6];
        for (int a = 0; a < 3; a++) {
          double Va = a == 2 ? 1.0 : 2.0;
          kin[a] = pos[a] + DT * Va * upi[a];
          kin[3 + a] = pos[3 + a] + DT * Va * upi[3 + a];
        }
        cases++;
        raw_violate += raw < 2.0;
        if (!res.infeasible) {
          feasible++;
          kin_close += dist3(kin, kin + 3) < 2.0 && res.interventions > 0;
          raw_violate_feasible += raw < 2.0;
          bad += sep1 < 2.0 || !res.safe;
        }
      }
  printf(
      "drone_swarm one step: %d constructed states, %d feasible for the conservative model (%d "
      "of them with the policy's kinematic next separation < d_min, projected), %d where the "
      "policy's command broke d_min in the env (%d of those feasible)\n",
      cases, feasible, kin_close, raw_violate, raw_violate_feasible);
  CHECK(feasible > 50 && kin_close > 20 && raw_violate > 20, "enough cases");
  CHECK(bad == 0, "%d feasible projections with separation < d_min after the env step", bad);
  dt_close(&t);
}

// Drones on a circle sent at its centre at full speed, with and without the projection. The
// one-step claim is checked at every step: feasible -> separation >= d_min after it.
static double mj_closed_loop(dsafe_ws_t *ws, int n, double radius, int filter, int *infeasible,
                             int *broken_claims) {
  char ov[200];
  snprintf(ov, sizeof ov, "n_drones=%d n_obstacles=0 spawn_centre=0,0,10 episode_length=100000", n);
  dt_env_t t;
  if (dt_open(&t, "drone_swarm", ov, 9)) return -1;
  double p[3 * 8], v[3 * 8] = {0}, pos[3 * 8], vel[3 * 8];
  for (int i = 0; i < n; i++) {
    double th = 2 * kPi * i / n + 0.1;
    p[3 * i] = radius * cos(th), p[3 * i + 1] = radius * sin(th), p[3 * i + 2] = 10;
  }
  mj_place(&t, p, v);
  dsafe_limits_t lim = {2.0, 0, NULL, 0.0};
  double min_sep = INFINITY;
  *infeasible = *broken_claims = 0;
  for (int k = 0; k < 60; k++) {
    mj_read(&t, pos, vel);
    min_sep = fmin(min_sep, mj_min_sep(pos, n));
    float upi[3 * 8], u[3 * 8];
    for (int i = 0; i < n; i++) {
      double dx = -pos[3 * i], dy = -pos[3 * i + 1], big = fmax(fabs(dx), fabs(dy));
      upi[3 * i] = (float)(dx / big), upi[3 * i + 1] = (float)(dy / big), upi[3 * i + 2] = 0;
    }
    int claim = 0;
    if (filter) {
      dsafe_result_t res;
      dsafe_project_conservative(ws, n, pos, vel, &kVm, &lim, upi, u, &res);
      *infeasible += res.infeasible;
      claim = !res.infeasible;
    } else {
      memcpy(u, upi, sizeof(float) * 3 * n);
    }
    memcpy(t.act, u, sizeof(float) * 3 * n);
    dt_step(&t);
    mj_read(&t, pos, vel);
    *broken_claims += claim && mj_min_sep(pos, n) < 2.0;
    if (t.out.done) {  // a crash
      min_sep = 0;
      break;
    }
  }
  mj_read(&t, pos, vel);
  min_sep = fmin(min_sep, mj_min_sep(pos, n));
  dt_close(&t);
  return min_sep;
}

static void test_mj_closed_loop(dsafe_ws_t *ws) {
  static const int ns[3] = {2, 5, 8};
  for (int c = 0; c < 3; c++) {
    int inf_raw, inf, broken_raw, broken;
    double raw = mj_closed_loop(ws, ns[c], 5.0, 0, &inf_raw, &broken_raw);
    double safe = mj_closed_loop(ws, ns[c], 5.0, 1, &inf, &broken);
    printf(
        "drone_swarm closed loop, %d drones sent at one point at full speed: min separation "
        "%.3f m without, %.3f m with the projection (%d of 60 steps infeasible)\n",
        ns[c], raw, safe, inf);
    CHECK(raw < 2.0, "%d drones: the test scene breaks d_min without the projection", ns[c]);
    CHECK(broken == 0, "%d drones: %d feasible steps ended below d_min", ns[c], broken);
  }
}

int main(void) {
  dsafe_ws_t *ws = NULL;
  CHECK(dsafe_create(0, &ws) == ERR_INPUT && !ws, "n_max 0 refused");
  CHECK(dsafe_create(65, &ws) == ERR_INPUT && !ws, "n_max 65 refused");
  if (dsafe_create(DSAFE_MAX_DRONES, &ws)) {
    CHECK(0, "create: %s", err_message());
    return check_report("test_drone_safety");
  }
  test_brute_force(ws);
  test_already_safe(ws);
  test_stress(ws);
  test_dense_groups(ws);
  test_infeasible(ws);
  test_mj_radius();
  test_mj_one_step(ws);
  test_mj_closed_loop(ws);
  dsafe_destroy(ws);
  return check_report("test_drone_safety");
}
