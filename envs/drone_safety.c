// drone_safety: the one-step hard-constraint projection of the drone swarm's joint command (the
// problem, the linearisation and what is guaranteed are in drone_safety.h). This file owns the
// model set-up (point env exact, MuJoCo velocity mode conservative), the exact safety check in
// the env's arithmetic, the linearised rows, constraint generation (a row enters the QP once
// violated), the split into independent groups, and a dense Goldfarb-Idnani dual active-set QP
// solver (Goldfarb & Idnani 1983, Math. Prog. 27; identity Hessian, so J is the Q of the QR of
// the active normals: one Householder reflection per added constraint, Givens rotations per
// dropped one; finite termination, exact infeasibility test). The best effort for an
// infeasible group is the same QP with one more variable.
#include "envs/drone_safety.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "envs/drone_common.h"

#define DSAFE_QP_TOL 1e-12      // constraint violation accepted by the QP (m for rows)
#define DSAFE_MARGIN_M 1e-9     // internal margin on every requirement (rounding of q + B u)
#define DSAFE_RETRY_FACTOR 1e3  // margin multiplier of the one retry when the exact check fails
#define DSAFE_BE_WEIGHT 1e12    // best effort: weight of the slack variable against ||u - u_bar||^2
#define DSAFE_NZ_MAX 7          // nonzeros of one constraint normal (2 drones x 3 + slack)

enum { DSAFE_POINT, DSAFE_KINEMATIC };
enum { GI_OPTIMAL, GI_INFEASIBLE, GI_FAILED };
enum { DSAFE_QP, DSAFE_MAX_SLACK };

typedef struct {
  int i, j;     // drones (j = -1: drone-obstacle row)
  int on;       // in the QP (constraint generation switches violated rows on)
  double n[3];  // unit normal of the half-space
  double rhs;   // B (.) n . (u_i - u_j) >= rhs
} dsafe_row_t;

struct dsafe_ws {
  int n_max, nv_max, rows_max;
  // The current call.
  int model, n;
  const double *pos, *vel;
  const dsafe_limits_t *lim;
  double accel_scale;                  // point model
  double B[3];                         // next position = q + B (.) u
  double *q, *e, *ubar, *next, *xsol;  // [3n] except e [n]
  dsafe_row_t *row;
  int n_rows;
  // Groups: union-find over rows, then drones and rows bucketed by group.
  int *parent, *gid, *gdrone, *gdrone_start, *grow, *grow_start, *local;
  // The QP of one group, in scaled coordinates x~ = x / scale.
  int nv, nr, best_effort;
  const int *rows_of_group;
  double *x0, *scale, *xt, *J, *R, *d, *z, *r, *mult;
  int *active;
  uint8_t *in_active;
};

int dsafe_create(int n_max, dsafe_ws_t **out) {
  *out = NULL;
  if (n_max < 1 || n_max > DSAFE_MAX_DRONES)
    return err_input("dsafe_create: n_max %d is not in 1..%d", n_max, DSAFE_MAX_DRONES);
  dsafe_ws_t *ws = err_calloc(1, sizeof *ws);
  if (!ws) return ERR_FAIL;
  ws->n_max = n_max;
  ws->nv_max = 3 * n_max + 1;
  ws->rows_max = n_max * (n_max - 1) / 2 + n_max * DSAFE_MAX_OBSTACLES;
  size_t n3 = 3 * (size_t)n_max, nv = (size_t)ws->nv_max, nc = ws->rows_max + 2 * nv;
  int ok = 1;
#define DSAFE_ALLOC(ptr, count) ok &= ((ptr) = err_calloc((count), sizeof *(ptr))) != NULL
  DSAFE_ALLOC(ws->q, n3);
  DSAFE_ALLOC(ws->e, (size_t)n_max);
  DSAFE_ALLOC(ws->ubar, n3);
  DSAFE_ALLOC(ws->next, n3);
  DSAFE_ALLOC(ws->xsol, n3);
  DSAFE_ALLOC(ws->row, (size_t)ws->rows_max);
  DSAFE_ALLOC(ws->parent, (size_t)n_max);
  DSAFE_ALLOC(ws->gid, (size_t)n_max);
  DSAFE_ALLOC(ws->gdrone, (size_t)n_max);
  DSAFE_ALLOC(ws->gdrone_start, (size_t)n_max + 1);
  DSAFE_ALLOC(ws->grow, (size_t)ws->rows_max);
  DSAFE_ALLOC(ws->grow_start, (size_t)n_max + 1);
  DSAFE_ALLOC(ws->local, (size_t)n_max);
  DSAFE_ALLOC(ws->x0, nv);
  DSAFE_ALLOC(ws->scale, nv);
  DSAFE_ALLOC(ws->xt, nv);
  DSAFE_ALLOC(ws->J, nv * nv);
  DSAFE_ALLOC(ws->R, nv * nv);
  DSAFE_ALLOC(ws->d, nv);
  DSAFE_ALLOC(ws->z, nv);
  DSAFE_ALLOC(ws->r, nv);
  DSAFE_ALLOC(ws->mult, nv);
  DSAFE_ALLOC(ws->active, nv);
  DSAFE_ALLOC(ws->in_active, nc);
#undef DSAFE_ALLOC
  if (!ok) {
    dsafe_destroy(ws);
    return ERR_FAIL;
  }
  *out = ws;
  return ERR_OK;
}

void dsafe_destroy(dsafe_ws_t *ws) {
  if (!ws) return;
  free(ws->q);
  free(ws->e);
  free(ws->ubar);
  free(ws->next);
  free(ws->xsol);
  free(ws->row);
  free(ws->parent);
  free(ws->gid);
  free(ws->gdrone);
  free(ws->gdrone_start);
  free(ws->grow);
  free(ws->grow_start);
  free(ws->local);
  free(ws->x0);
  free(ws->scale);
  free(ws->xt);
  free(ws->J);
  free(ws->R);
  free(ws->d);
  free(ws->z);
  free(ws->r);
  free(ws->mult);
  free(ws->active);
  free(ws->in_active);
  free(ws);
}

double dsafe_tracking_radius(const dsafe_velocity_model_t *vm, const double *vel) {
  const double V[3] = {vm->v_max_xy, vm->v_max_xy, vm->v_max_z};
  double a = vm->accel_bound > 0 ? vm->accel_bound : DSAFE_MJ_ACCEL_BOUND, w2 = 0;
  for (int k = 0; k < 3; k++) {
    double w = fabs(vel[k]) + V[k];  // max over |u| <= 1 of |v - V u| on this axis
    w2 += w * w;
  }
  return 0.5 * a * DC_DT_S * DC_DT_S + DC_DT_S * sqrt(w2);
}

// ---- the exact check ----------------------------------------------------------------------

// Next positions for executed commands uexec[3n], in the env's own arithmetic for the point
// model (vel += accel_scale u dt; pos += vel dt) and p + (dt V) u for the kinematic model.
static void dsafe_next(const dsafe_ws_t *ws, const double *uexec, double *next) {
  for (int k = 0; k < 3 * ws->n; k++) {
    if (ws->model == DSAFE_POINT) {
      double acc = ws->accel_scale * uexec[k];
      double v = ws->vel[k] + acc * DC_DT_S;
      next[k] = ws->pos[k] + v * DC_DT_S;
    } else {
      next[k] = ws->pos[k] + ws->B[k % 3] * uexec[k];
    }
  }
}

static double dsafe_dist2(const double *a, const double *b) {
  double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
  return dx * dx + dy * dy + dz * dz;
}

// Smallest (distance - requirement) over every pair and drone-obstacle constraint at next
// positions `next` (as dc_evaluate: distance by sqrt of the sum of squares; safe iff >= 0).
// A pair is skipped only when its squared distance proves its slack larger than the current
// minimum (with a 1e-9 relative guard), so the value is exact.
static double dsafe_min_slack(const dsafe_ws_t *ws, const double *next) {
  const dsafe_limits_t *lim = ws->lim;
  double m = INFINITY;
  for (int i = 0; i < ws->n; i++) {
    const double *a = next + 3 * i;
    for (int j = i + 1; j < ws->n; j++) {
      double need = lim->d_min + ws->e[i] + ws->e[j], d2 = dsafe_dist2(a, next + 3 * j);
      double thr = need + m;
      if (thr > 0 && d2 > thr * thr * (1.0 + 1e-9)) continue;
      double s = sqrt(d2) - need;
      if (s < m) m = s;
    }
    for (int k = 0; k < lim->n_obstacles; k++) {
      const double *o = lim->obstacles + 4 * k;
      double need = o[3] + lim->obstacle_margin + ws->e[i], d2 = dsafe_dist2(a, o);
      double thr = need + m;
      if (thr > 0 && d2 > thr * thr * (1.0 + 1e-9)) continue;
      double s = sqrt(d2) - need;
      if (s < m) m = s;
    }
  }
  return m;
}

// ---- rows and groups ------------------------------------------------------------------------

static void dsafe_unit(const double *cands[3], double *n) {
  for (int c = 0; c < 3; c++) {
    const double *x = cands[c];
    double len = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
    if (len > 1e-12) {
      for (int a = 0; a < 3; a++) n[a] = x[a] / len;
      return;
    }
  }
  n[0] = 1.0, n[1] = n[2] = 0.0;
}

static int dsafe_find(int *parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

// Rows for every constraint some box command could violate (margin `margin_m` added to each
// requirement), linearised at ws->next (the next positions at u_bar), all off.
static void dsafe_build_rows(dsafe_ws_t *ws, double margin_m) {
  const dsafe_limits_t *lim = ws->lim;
  const double *q = ws->q, *P = ws->next, *p = ws->pos;
  double reach = sqrt(ws->B[0] * ws->B[0] + ws->B[1] * ws->B[1] + ws->B[2] * ws->B[2]);
  ws->n_rows = 0;
  for (int i = 0; i < ws->n; i++) {
    for (int j = i + 1; j < ws->n; j++) {
      double need = lim->d_min + ws->e[i] + ws->e[j] + margin_m;
      double xq[3] = {q[3 * i] - q[3 * j], q[3 * i + 1] - q[3 * j + 1],
                      q[3 * i + 2] - q[3 * j + 2]};
      double lim_d = need + 2.0 * reach + 1e-9;  // ||xq + B(u_i - u_j)|| >= ||xq|| - 2 ||B||
      if (xq[0] * xq[0] + xq[1] * xq[1] + xq[2] * xq[2] >= lim_d * lim_d) continue;
      double xh[3], xp[3];
      for (int a = 0; a < 3; a++) {
        xh[a] = P[3 * i + a] - P[3 * j + a];
        xp[a] = p[3 * i + a] - p[3 * j + a];
      }
      dsafe_row_t *r = &ws->row[ws->n_rows++];
      const double *cands[3] = {xh, xq, xp};
      dsafe_unit(cands, r->n);
      r->i = i, r->j = j, r->on = 0;
      r->rhs = need - (r->n[0] * xq[0] + r->n[1] * xq[1] + r->n[2] * xq[2]);
    }
    for (int k = 0; k < lim->n_obstacles; k++) {
      const double *o = lim->obstacles + 4 * k;
      double need = o[3] + lim->obstacle_margin + ws->e[i] + margin_m;
      double xq[3] = {q[3 * i] - o[0], q[3 * i + 1] - o[1], q[3 * i + 2] - o[2]};
      double lim_d = need + reach + 1e-9;
      if (xq[0] * xq[0] + xq[1] * xq[1] + xq[2] * xq[2] >= lim_d * lim_d) continue;
      double xh[3], xp[3];
      for (int a = 0; a < 3; a++) {
        xh[a] = P[3 * i + a] - o[a];
        xp[a] = p[3 * i + a] - o[a];
      }
      dsafe_row_t *r = &ws->row[ws->n_rows++];
      const double *cands[3] = {xh, xq, xp};
      dsafe_unit(cands, r->n);
      r->i = i, r->j = -1, r->on = 0;
      r->rhs = need - (r->n[0] * xq[0] + r->n[1] * xq[1] + r->n[2] * xq[2]);
    }
  }
}

// Row r's slack (>= 0 when met) for commands x [3n].
static double dsafe_row_slack(const dsafe_ws_t *ws, const dsafe_row_t *r, const double *x) {
  double s = -r->rhs;
  for (int a = 0; a < 3; a++) {
    double w = x[3 * r->i + a] - (r->j >= 0 ? x[3 * r->j + a] : 0.0);
    s += ws->B[a] * r->n[a] * w;
  }
  return s;
}

// Switch on the rows (off so far) that commands x violate; returns how many.
static int dsafe_switch_on(dsafe_ws_t *ws, const double *x) {
  int count = 0;
  for (int r = 0; r < ws->n_rows; r++) {
    dsafe_row_t *row = &ws->row[r];
    if (!row->on && dsafe_row_slack(ws, row, x) < -DSAFE_QP_TOL) row->on = 1, count++;
  }
  return count;
}

// Group the drones linked by rows that are on (union-find), then bucket drones and rows by
// group (group ids in order of first drone).
static int dsafe_group(dsafe_ws_t *ws) {
  int n = ws->n, G = 0;
  for (int i = 0; i < n; i++) ws->gid[i] = -1, ws->parent[i] = i;
  for (int r = 0; r < ws->n_rows; r++) {
    const dsafe_row_t *row = &ws->row[r];
    if (!row->on) continue;
    ws->gid[row->i] = -2;  // constrained
    if (row->j < 0) continue;
    ws->gid[row->j] = -2;
    int a = dsafe_find(ws->parent, row->i), b = dsafe_find(ws->parent, row->j);
    if (a != b) ws->parent[a < b ? b : a] = a < b ? a : b;
  }
  // Roots first get ids, then members take their root's.
  for (int i = 0; i < n; i++)
    if (ws->gid[i] == -2 && dsafe_find(ws->parent, i) == i) ws->gid[i] = G++;
  for (int i = 0; i < n; i++)
    if (ws->gid[i] == -2) ws->gid[i] = ws->gid[dsafe_find(ws->parent, i)];
  memset(ws->gdrone_start, 0, sizeof(int) * (G + 1));
  memset(ws->grow_start, 0, sizeof(int) * (G + 1));
  for (int i = 0; i < n; i++)
    if (ws->gid[i] >= 0) ws->gdrone_start[ws->gid[i] + 1]++;
  for (int r = 0; r < ws->n_rows; r++)
    if (ws->row[r].on) ws->grow_start[ws->gid[ws->row[r].i] + 1]++;
  for (int g = 0; g < G; g++) {
    ws->gdrone_start[g + 1] += ws->gdrone_start[g];
    ws->grow_start[g + 1] += ws->grow_start[g];
  }
  // Fill (the local array doubles as the fill cursor, then holds each drone's local index).
  for (int g = 0; g < G; g++) ws->local[g] = ws->gdrone_start[g];
  for (int i = 0; i < n; i++)
    if (ws->gid[i] >= 0) ws->gdrone[ws->local[ws->gid[i]]++] = i;
  for (int g = 0; g < G; g++) ws->local[g] = ws->grow_start[g];
  for (int r = 0; r < ws->n_rows; r++)
    if (ws->row[r].on) ws->grow[ws->local[ws->gid[ws->row[r].i]]++] = r;
  for (int g = 0; g < G; g++)
    for (int k = ws->gdrone_start[g]; k < ws->gdrone_start[g + 1]; k++)
      ws->local[ws->gdrone[k]] = k - ws->gdrone_start[g];
  return G;
}

// ---- the QP of one group (Goldfarb-Idnani) --------------------------------------------------
// Variables x~ (scaled: x = scale x~): 3 per drone of the group in group order, then, in best
// effort, the slack t. Objective 1/2 ||x~ - x0||^2. Constraints c: 0..nr-1 the group's rows
// (minus t in best effort), then for each command variable v: x_v >= -1 (c = nr + 2v) and
// -x_v >= -1 (c = nr + 2v + 1).

static int gi_normal(const dsafe_ws_t *ws, int c, int *idx, double *val, double *rhs) {
  int nz = 0;
  if (c < ws->nr) {
    const dsafe_row_t *row = &ws->row[ws->rows_of_group[c]];
    int li = 3 * ws->local[row->i], lj = row->j >= 0 ? 3 * ws->local[row->j] : -1;
    for (int a = 0; a < 3; a++) {
      double coef = ws->B[a] * row->n[a];
      idx[nz] = li + a;
      val[nz++] = coef * ws->scale[li + a];
      if (lj >= 0) {
        idx[nz] = lj + a;
        val[nz++] = -coef * ws->scale[lj + a];
      }
    }
    if (ws->best_effort) {
      idx[nz] = ws->nv - 1;
      val[nz++] = -ws->scale[ws->nv - 1];
    }
    *rhs = row->rhs;
  } else {
    int v = (c - ws->nr) / 2;
    idx[0] = v;
    val[0] = ((c - ws->nr) & 1) ? -ws->scale[v] : ws->scale[v];
    nz = 1;
    *rhs = -1.0;
  }
  return nz;
}

static double gi_slack(const double *x, const int *idx, const double *val, int nz, double rhs) {
  double s = -rhs;
  for (int t = 0; t < nz; t++) s += val[t] * x[idx[t]];
  return s;
}

// (a, b) <- (c a + s b, -s a + c b): a Givens rotation of two columns of J (column-major).
static void gi_rotate(double *restrict a, double *restrict b, int n, double c, double s) {
  for (int i = 0; i < n; i++) {
    double x = a[i], y = b[i];
    a[i] = c * x + s * y;
    b[i] = -s * x + c * y;
  }
}

// Append the constraint whose J^T n is d, given z = J2 d2 (J2 = columns q.., d2 = d[q..)). The
// column of J2 with the largest |d_k| is swapped to position q (any orthonormal basis of J2's
// span will do); then one Householder reflection H of J2's columns maps d2 onto -alpha e_1
// (alpha = sign(d_q) |d2|): J2 H is the new J2 and d[0..q] the new column of R. Only columns
// with d_k != 0 change, so directions no constraint involves stay exact (as Givens rotations
// that skip zeros would keep them). J2 v = z + alpha J_q for v = d2 + alpha e_1, so the
// reflection costs one rank-1 update.
static void gi_add(dsafe_ws_t *ws, int q, double zn) {
  int nv = ws->nv;
  double *J = ws->J, *d = ws->d, *R = ws->R, *w = ws->z;
  double *Jq = J + (size_t)q * nv;
  int kmax = q;
  for (int k = q + 1; k < nv; k++)
    if (fabs(d[k]) > fabs(d[kmax])) kmax = k;
  if (kmax != q) {
    double *Jm = J + (size_t)kmax * nv, t = d[q];
    d[q] = d[kmax], d[kmax] = t;
    for (int i = 0; i < nv; i++) t = Jq[i], Jq[i] = Jm[i], Jm[i] = t;
  }
  double sigma = sqrt(zn), alpha = d[q] >= 0.0 ? sigma : -sigma;
  for (int i = 0; i < nv; i++) w[i] += alpha * Jq[i];
  double beta = 1.0 / (sigma * (sigma + fabs(d[q])));  // 2 / v^T v
  for (int k = q; k < nv; k++) {
    double vk = k == q ? d[q] + alpha : d[k];
    if (vk == 0.0) continue;
    double *Jk = J + (size_t)k * nv, f = beta * vk;
    for (int i = 0; i < nv; i++) Jk[i] -= f * w[i];
  }
  d[q] = -alpha;
  memcpy(R + (size_t)q * nv, d, sizeof(double) * (q + 1));
}

// Remove active constraint kd of q: drop R's column, restore the triangle with rotations of
// neighbouring rows (the same rotations on J's columns).
static void gi_drop(dsafe_ws_t *ws, int kd, int q) {
  int nv = ws->nv;
  double *J = ws->J, *R = ws->R;
  ws->in_active[ws->active[kd]] = 0;
  for (int j = kd; j < q - 1; j++) {
    ws->active[j] = ws->active[j + 1];
    ws->mult[j] = ws->mult[j + 1];
    memcpy(R + (size_t)j * nv, R + (size_t)(j + 1) * nv, sizeof(double) * (j + 2));
  }
  for (int j = kd; j < q - 1; j++) {
    double a = R[(size_t)j * nv + j], b = R[(size_t)j * nv + j + 1];
    if (b == 0.0) continue;
    double h = sqrt(a * a + b * b), c = a / h, s = b / h;
    R[(size_t)j * nv + j] = h;
    R[(size_t)j * nv + j + 1] = 0.0;
    for (int col = j + 1; col < q - 1; col++) {
      double *Rc = R + (size_t)col * nv;
      double ra = Rc[j], rb = Rc[j + 1];
      Rc[j] = c * ra + s * rb;
      Rc[j + 1] = -s * ra + c * rb;
    }
    gi_rotate(J + (size_t)j * nv, J + (size_t)(j + 1) * nv, nv, c, s);
  }
}

// J and R are column-major (column k at + k nv), nv x nv; R upper triangular.
// Goldfarb-Idnani dual method: start at the unconstrained minimum x0, repeatedly take the most
// violated constraint p and move (primal and dual) until p is active, dropping active
// constraints whose multipliers reach zero; p dependent on active constraints with no
// multiplier able to decrease proves infeasibility.
static int gi_solve(dsafe_ws_t *ws, int *iterations) {
  int nv = ws->nv, nc = ws->nr + 2 * (ws->best_effort ? nv - 1 : nv);
  double *J = ws->J, *R = ws->R, *x = ws->xt, *d = ws->d, *z = ws->z, *r = ws->r, *mu = ws->mult;
  memset(J, 0, sizeof(double) * nv * nv);
  for (int k = 0; k < nv; k++) J[k * nv + k] = 1.0;
  memcpy(x, ws->x0, sizeof(double) * nv);
  memset(ws->in_active, 0, (size_t)nc);
  int q = 0, it = 0, max_it = 100 + 10 * (nc + nv), status = GI_FAILED;
  int idx[DSAFE_NZ_MAX];
  double val[DSAFE_NZ_MAX], rhs;
  for (;;) {
    int p = -1;
    double worst = -DSAFE_QP_TOL;
    for (int c = 0; c < nc; c++) {
      if (ws->in_active[c]) continue;
      int nz = gi_normal(ws, c, idx, val, &rhs);
      double s = gi_slack(x, idx, val, nz, rhs);
      if (s < worst) worst = s, p = c;
    }
    if (p < 0) {
      status = GI_OPTIMAL;
      break;
    }
    int nz = gi_normal(ws, p, idx, val, &rhs);
    double nn = 0.0, up = 0.0;
    for (int t = 0; t < nz; t++) nn += val[t] * val[t];
    for (;;) {
      if (++it > max_it) goto done;
      for (int k = 0; k < nv; k++) {
        const double *Jk = J + (size_t)k * nv;
        double s = 0.0;
        for (int t = 0; t < nz; t++) s += val[t] * Jk[idx[t]];
        d[k] = s;
      }
      double zn = 0.0;
      for (int k = q; k < nv; k++) zn += d[k] * d[k];
      memcpy(r, d, sizeof(double) * q);  // r = R^-1 d, by columns
      for (int j = q - 1; j >= 0; j--) {
        const double *Rj = R + (size_t)j * nv;
        double rj = r[j] /= Rj[j];
        for (int i = 0; i < j; i++) r[i] -= Rj[i] * rj;
      }
      double t1 = INFINITY, t2 = INFINITY;
      int kd = -1;
      for (int j = 0; j < q; j++)
        if (r[j] > 0.0 && mu[j] / r[j] < t1) t1 = mu[j] / r[j], kd = j;
      if (zn > 1e-14 * nn) t2 = fmax(0.0, -gi_slack(x, idx, val, nz, rhs) / zn);
      if (t1 == INFINITY && t2 == INFINITY) {
        status = GI_INFEASIBLE;
        goto done;
      }
      double t = t2 <= t1 ? t2 : t1;
      if (t2 < INFINITY) {  // x += t z, z = J2 J2^T n_p = sum over k >= q of d_k J_k
        memset(z, 0, sizeof(double) * nv);
        for (int k = q; k < nv; k++) {
          const double *Jk = J + (size_t)k * nv;
          double dk = d[k];
          if (dk != 0.0)
            for (int i = 0; i < nv; i++) z[i] += dk * Jk[i];
        }
        for (int i = 0; i < nv; i++) x[i] += t * z[i];
      }
      for (int j = 0; j < q; j++) mu[j] -= t * r[j];
      up += t;
      if (t2 <= t1) {  // full step: p becomes active
        gi_add(ws, q, zn);
        ws->active[q] = p;
        ws->mult[q] = up;
        ws->in_active[p] = 1;
        q++;
        break;
      }
      gi_drop(ws, kd, q);  // partial step: an active constraint's multiplier reached zero
      q--;
    }
  }
done:
  *iterations += it;
  return status;
}

// Solve group g's QP (mode DSAFE_QP) or its best effort (DSAFE_MAX_SLACK: one more variable t,
// every row's slack >= t, min 1/2 ||u - u_bar||^2 + 1/2 W t^2, so t is the largest achievable
// minimum slack to within sqrt(t^2 + ||du||^2 / W) - |t| <= ||du|| / sqrt(W)). Writes the
// commands into xsol unless infeasible.
static int dsafe_solve_group(dsafe_ws_t *ws, int g, int mode, int *iterations) {
  int k0 = ws->gdrone_start[g], nd = ws->gdrone_start[g + 1] - k0;
  ws->best_effort = mode == DSAFE_MAX_SLACK;
  ws->nv = 3 * nd + ws->best_effort;
  ws->nr = ws->grow_start[g + 1] - ws->grow_start[g];
  ws->rows_of_group = ws->grow + ws->grow_start[g];
  for (int k = 0; k < nd; k++)
    for (int a = 0; a < 3; a++) {
      ws->x0[3 * k + a] = ws->ubar[3 * ws->gdrone[k0 + k] + a];
      ws->scale[3 * k + a] = 1.0;
    }
  if (ws->best_effort) {
    ws->x0[ws->nv - 1] = 0.0;
    ws->scale[ws->nv - 1] = 1.0 / sqrt(DSAFE_BE_WEIGHT);
  }
  int status = gi_solve(ws, iterations);
  if (status != GI_INFEASIBLE)
    for (int k = 0; k < nd; k++)
      for (int a = 0; a < 3; a++)
        ws->xsol[3 * ws->gdrone[k0 + k] + a] = ws->scale[3 * k + a] * ws->xt[3 * k + a];
  return status;
}

// Best effort for an infeasible group: the DSAFE_MAX_SLACK solution. By its optimality
// conditions it is also the box command nearest to u_bar among those whose rows all have
// slack >= its own t. If it fails (never seen), u_bar.
static void dsafe_best_effort(dsafe_ws_t *ws, int g, int *iterations) {
  if (dsafe_solve_group(ws, g, DSAFE_MAX_SLACK, iterations) == GI_OPTIMAL) return;
  int k0 = ws->gdrone_start[g], k1 = ws->gdrone_start[g + 1];
  for (int k = k0; k < k1; k++)
    memcpy(ws->xsol + 3 * ws->gdrone[k], ws->ubar + 3 * ws->gdrone[k], 3 * sizeof(double));
}

// ---- the projection ---------------------------------------------------------------------------

static int dsafe_check_inputs(const dsafe_ws_t *ws, int n, const double *pos, const double *vel,
                              const dsafe_limits_t *lim) {
  if (n < 1 || n > ws->n_max)
    return err_input("dsafe: %d drones, the workspace holds 1..%d", n, ws->n_max);
  if (!(lim->d_min > 0) || !isfinite(lim->d_min))
    return err_input("dsafe: d_min %g must be finite and > 0", lim->d_min);
  if (lim->n_obstacles < 0 || lim->n_obstacles > DSAFE_MAX_OBSTACLES ||
      (lim->n_obstacles > 0 && !lim->obstacles))
    return err_input("dsafe: n_obstacles %d is not in 0..%d (with an obstacle array)",
                     lim->n_obstacles, DSAFE_MAX_OBSTACLES);
  if (!isfinite(lim->obstacle_margin))
    return err_input("dsafe: obstacle_margin %g is not finite", lim->obstacle_margin);
  for (int k = 0; k < 4 * lim->n_obstacles; k++)
    if (!isfinite(lim->obstacles[k])) return err_input("dsafe: obstacle value %d not finite", k);
  for (int k = 0; k < 3 * n; k++)
    if (!isfinite(pos[k]) || !isfinite(vel[k]))
      return err_input("dsafe: drone %d's position or velocity is not finite", k / 3);
  return ERR_OK;
}

// The projection once the model (model, B, q, e) is set: fast path, rows, groups, QPs, output
// and the exact check.
static int dsafe_run(dsafe_ws_t *ws, const float *u_pi, float *u, dsafe_result_t *res) {
  int n = ws->n;
  for (int k = 0; k < 3 * n; k++) ws->ubar[k] = dc_clip_action(u_pi[k]);
  dsafe_next(ws, ws->ubar, ws->next);
  double slack = dsafe_min_slack(ws, ws->next);
  if (slack >= 0) {  // already safe: untouched
    memcpy(u, u_pi, sizeof(float) * 3 * n);
    res->safe = 1;
    res->min_slack = slack;
    return ERR_OK;
  }
  double Bn = sqrt(ws->B[0] * ws->B[0] + ws->B[1] * ws->B[1] + ws->B[2] * ws->B[2]);
  // Rounding the result to float moves each next position by <= 2^-25 |B| per drone.
  double margin = DSAFE_MARGIN_M + FLT_EPSILON * Bn;
  double uexec[3 * DSAFE_MAX_DRONES];
  for (int attempt = 0; attempt < 2; attempt++) {
    dsafe_next(ws, ws->ubar, ws->next);
    dsafe_build_rows(ws, attempt ? margin * DSAFE_RETRY_FACTOR : margin);
    res->rows = ws->n_rows;
    dsafe_switch_on(ws, ws->ubar);
    // Constraint generation: solve with the rows that are on (first those u_bar violates); rows
    // the solution violates are switched on and the QP solved again. The last solution is
    // optimal with a subset of the rows and meets the others, so it is the optimum with all of
    // them. A group found infeasible (or, never seen, failed) switches every row on and the
    // round is redone; then infeasible groups take their best effort.
    int all_on = 0;
    for (;;) {
      res->groups = dsafe_group(ws);
      res->infeasible = 0;
      memcpy(ws->xsol, ws->ubar, sizeof(double) * 3 * n);
      int restart = 0;
      for (int g = 0; g < res->groups && !restart; g++) {
        if (dsafe_solve_group(ws, g, DSAFE_QP, &res->iterations) == GI_OPTIMAL) continue;
        if (!all_on) {
          restart = 1;
          break;
        }
        res->infeasible = 1;
        dsafe_best_effort(ws, g, &res->iterations);
      }
      if (restart) {
        for (int r = 0; r < ws->n_rows; r++) ws->row[r].on = 1;
        all_on = 1;
        continue;
      }
      if (all_on || !dsafe_switch_on(ws, ws->xsol)) break;
    }
    res->interventions = 0;
    double change2 = 0.0;
    for (int i = 0; i < n; i++) {
      float cand[3];
      int changed = 0;
      for (int a = 0; a < 3; a++) {
        double x = fmin(1.0, fmax(-1.0, ws->xsol[3 * i + a]));
        cand[a] = (float)x;
        changed |= cand[a] != (float)ws->ubar[3 * i + a];
      }
      if (changed) {
        memcpy(u + 3 * i, cand, sizeof cand);
        res->interventions++;
      } else {
        memcpy(u + 3 * i, u_pi + 3 * i, sizeof cand);
      }
      for (int a = 0; a < 3; a++) {
        uexec[3 * i + a] = dc_clip_action(u[3 * i + a]);
        double dlt = uexec[3 * i + a] - ws->ubar[3 * i + a];
        change2 += dlt * dlt;
      }
    }
    res->change_norm = sqrt(change2);
    dsafe_next(ws, uexec, ws->next);
    res->min_slack = dsafe_min_slack(ws, ws->next);
    res->safe = res->min_slack >= 0;
    if (res->safe || res->infeasible) break;
  }
  return ERR_OK;
}

static void dsafe_begin(dsafe_ws_t *ws, int n, const double *pos, const double *vel,
                        const dsafe_limits_t *lim) {
  ws->n = n;
  ws->pos = pos;
  ws->vel = vel;
  ws->lim = lim;
}

int dsafe_project(dsafe_ws_t *ws, int n, const double *pos, const double *vel, double accel_scale,
                  const dsafe_limits_t *lim, const float *u_pi, float *u, dsafe_result_t *res) {
  memset(res, 0, sizeof *res);
  int rc = dsafe_check_inputs(ws, n, pos, vel, lim);
  if (!rc && !(accel_scale > 0 && isfinite(accel_scale)))
    rc = err_input("dsafe: accel_scale %g must be finite and > 0", accel_scale);
  if (rc) {
    if (n > 0 && n <= DSAFE_MAX_DRONES) memcpy(u, u_pi, sizeof(float) * 3 * n);
    return rc;
  }
  dsafe_begin(ws, n, pos, vel, lim);
  ws->model = DSAFE_POINT;
  ws->accel_scale = accel_scale;
  for (int a = 0; a < 3; a++) ws->B[a] = accel_scale * DC_DT_S * DC_DT_S;
  for (int k = 0; k < 3 * n; k++) ws->q[k] = pos[k] + vel[k] * DC_DT_S;
  for (int i = 0; i < n; i++) ws->e[i] = 0.0;
  return dsafe_run(ws, u_pi, u, res);
}

int dsafe_project_conservative(dsafe_ws_t *ws, int n, const double *pos, const double *vel,
                               const dsafe_velocity_model_t *vm, const dsafe_limits_t *lim,
                               const float *u_pi, float *u, dsafe_result_t *res) {
  memset(res, 0, sizeof *res);
  int rc = dsafe_check_inputs(ws, n, pos, vel, lim);
  if (!rc && !(vm->v_max_xy > 0 && vm->v_max_z > 0 && isfinite(vm->v_max_xy) &&
               isfinite(vm->v_max_z) && isfinite(vm->accel_bound)))
    rc = err_input("dsafe: v_max_xy %g, v_max_z %g must be finite and > 0", vm->v_max_xy,
                   vm->v_max_z);
  if (rc) {
    if (n > 0 && n <= DSAFE_MAX_DRONES) memcpy(u, u_pi, sizeof(float) * 3 * n);
    return rc;
  }
  dsafe_begin(ws, n, pos, vel, lim);
  ws->model = DSAFE_KINEMATIC;
  ws->B[0] = ws->B[1] = DC_DT_S * vm->v_max_xy;
  ws->B[2] = DC_DT_S * vm->v_max_z;
  memcpy(ws->q, pos, sizeof(double) * 3 * n);
  for (int i = 0; i < n; i++) ws->e[i] = dsafe_tracking_radius(vm, vel + 3 * i);
  return dsafe_run(ws, u_pi, u, res);
}
