// drone_geodesic: grid Dijkstra distance fields and their trilinear lookup (drone_geodesic.h).
// Built once per run (world creation); queries allocate nothing.
#include "envs/drone_geodesic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define DGEO_MAX_CELLS (1 << 22)

static double dgeo_weight(const double *c, const double (*obstacle)[4], int m, double zone_margin,
                          double floor_z) {
  if (c[2] < floor_z) return DGEO_SOLID_WEIGHT;
  double w = 1.0;
  for (int k = 0; k < m; k++) {
    double dx = c[0] - obstacle[k][0], dy = c[1] - obstacle[k][1], dz = c[2] - obstacle[k][2];
    double d = sqrt(dx * dx + dy * dy + dz * dz);
    if (d < obstacle[k][3]) return DGEO_SOLID_WEIGHT;
    if (d < obstacle[k][3] + zone_margin) w = DGEO_ZONE_WEIGHT;
  }
  return w;
}

// Binary min-heap of cell indices keyed by dist[], with each cell's heap slot in where[]
// (-1: not in the heap).
typedef struct {
  int *cell, *where, n;
  const double *key;
} dgeo_heap_t;

static void dgeo_swap(dgeo_heap_t *q, int a, int b) {
  int t = q->cell[a];
  q->cell[a] = q->cell[b];
  q->cell[b] = t;
  q->where[q->cell[a]] = a;
  q->where[q->cell[b]] = b;
}

static void dgeo_up(dgeo_heap_t *q, int i) {
  while (i > 0 && q->key[q->cell[(i - 1) / 2]] > q->key[q->cell[i]]) {
    dgeo_swap(q, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static void dgeo_down(dgeo_heap_t *q, int i) {
  for (;;) {
    int l = 2 * i + 1, r = l + 1, s = i;
    if (l < q->n && q->key[q->cell[l]] < q->key[q->cell[s]]) s = l;
    if (r < q->n && q->key[q->cell[r]] < q->key[q->cell[s]]) s = r;
    if (s == i) return;
    dgeo_swap(q, i, s);
    i = s;
  }
}

static void dgeo_push_or_decrease(dgeo_heap_t *q, int c) {
  if (q->where[c] < 0) {
    q->cell[q->n] = c;
    q->where[c] = q->n++;
  }
  dgeo_up(q, q->where[c]);
}

static int dgeo_pop(dgeo_heap_t *q) {
  int c = q->cell[0];
  q->where[c] = -1;
  if (--q->n > 0) {
    q->cell[0] = q->cell[q->n];
    q->where[q->cell[0]] = 0;
    dgeo_down(q, 0);
  }
  return c;
}

// The moves: offsets in [-2, 2]^3 whose components have no common factor (98 directions; the
// 26 of the unit cube alone leave errors of up to 30 deg in the field's gradient), and their
// lengths in cells. Returns the count.
#define DGEO_MAX_OFFSETS 124
static int dgeo_offsets(int off[][3], double *len) {
  int n = 0;
  for (int dz = -2; dz <= 2; dz++)
    for (int dy = -2; dy <= 2; dy++)
      for (int dx = -2; dx <= 2; dx++) {
        int ax = abs(dx), ay = abs(dy), az = abs(dz);
        if (!ax && !ay && !az) continue;
        if ((ax | ay | az) % 2 == 0) continue;  // all even: a multiple of a shorter move
        off[n][0] = dx;
        off[n][1] = dy;
        off[n][2] = dz;
        len[n] = sqrt((double)(dx * dx + dy * dy + dz * dz));
        n++;
      }
  return n;
}

// One goal's field into out[cells]: weights w[cells], work arrays dist, heap, the moves.
static void dgeo_solve(const dgeo_field_t *f, const double *goal, const double *w, double *dist,
                       dgeo_heap_t *q, int n_off, const int (*off)[3], const double *off_len,
                       float *out) {
  int nx = f->nx, ny = f->ny, nz = f->nz, cells = nx * ny * nz;
  for (int c = 0; c < cells; c++) {
    dist[c] = INFINITY;
    q->where[c] = -1;
  }
  q->n = 0;
  // Seed: the corners of the goal's voxel (clamped into the grid), straight-line distance.
  int base[3], dims[3] = {nx, ny, nz};
  for (int a = 0; a < 3; a++) {
    int i = (int)floor((goal[a] - f->lo[a]) / f->h);
    base[a] = i < 0 ? 0 : (i > dims[a] - 2 ? dims[a] - 2 : i);
  }
  for (int corner = 0; corner < 8; corner++) {
    int idx[3], ok = 1;
    for (int a = 0; a < 3; a++) {
      idx[a] = base[a] + ((corner >> a) & 1);
      ok &= idx[a] < dims[a];
    }
    if (!ok) continue;
    double d2 = 0.0;
    for (int a = 0; a < 3; a++) {
      double x = f->lo[a] + idx[a] * f->h - goal[a];
      d2 += x * x;
    }
    int c = (idx[2] * ny + idx[1]) * nx + idx[0];
    double d = sqrt(d2) * w[c];
    if (d < dist[c]) {
      dist[c] = d;
      dgeo_push_or_decrease(q, c);
    }
  }
  while (q->n > 0) {
    int c = dgeo_pop(q);
    int x = c % nx, y = (c / nx) % ny, z = c / (nx * ny);
    for (int k = 0; k < n_off; k++) {
      int dx = off[k][0], dy = off[k][1], dz = off[k][2];
      int X = x + dx, Y = y + dy, Z = z + dz;
      if (X < 0 || Y < 0 || Z < 0 || X >= nx || Y >= ny || Z >= nz) continue;
      int e = (Z * ny + Y) * nx + X;
      double len = f->h * off_len[k];
      double d = dist[c] + len * 0.5 * (w[c] + w[e]);
      if (d < dist[e]) {
        dist[e] = d;
        dgeo_push_or_decrease(q, e);
      }
    }
  }
  for (int c = 0; c < cells; c++) out[c] = (float)dist[c];
}

int dgeo_build(dgeo_field_t *f, const double (*goals)[3], int n_goals, const double (*obstacle)[4],
               int m, double zone_margin, double floor_z, const double *lo, const double *hi,
               double h) {
  memset(f, 0, sizeof *f);
  if (!(h > 0) || n_goals < 1) return err_input("geodesic field: bad cell size or no goal");
  int dims[3];
  double cells_d = 1.0;
  for (int a = 0; a < 3; a++) {
    if (!(hi[a] > lo[a])) return err_input("geodesic field: empty box on axis %d", a);
    dims[a] = (int)ceil((hi[a] - lo[a]) / h) + 1;
    cells_d *= dims[a];
  }
  if (cells_d > DGEO_MAX_CELLS)
    return err_input("geodesic field: %.0f cells per goal (limit %d): the world is too large",
                     cells_d, DGEO_MAX_CELLS);
  f->nx = dims[0];
  f->ny = dims[1];
  f->nz = dims[2];
  f->h = h;
  memcpy(f->lo, lo, sizeof f->lo);
  f->n_goals = n_goals;
  size_t cells = (size_t)cells_d;
  f->dist = malloc(sizeof(float) * cells * (size_t)n_goals);
  double *w = malloc(sizeof(double) * cells), *dist = malloc(sizeof(double) * cells);
  int *heap = malloc(sizeof(int) * cells), *where = malloc(sizeof(int) * cells);
  int rc = ERR_OK;
  if (!f->dist || !w || !dist || !heap || !where) {
    rc = err_fail("geodesic field: out of memory (%zu cells x %d goals)", cells, n_goals);
  } else {
    for (size_t c = 0; c < cells; c++) {
      int x = (int)(c % (size_t)f->nx), y = (int)(c / (size_t)f->nx % (size_t)f->ny),
          z = (int)(c / ((size_t)f->nx * (size_t)f->ny));
      double p[3] = {lo[0] + x * h, lo[1] + y * h, lo[2] + z * h};
      w[c] = dgeo_weight(p, obstacle, m, zone_margin, floor_z);
    }
    dgeo_heap_t q = {heap, where, 0, dist};
    int off[DGEO_MAX_OFFSETS][3];
    double off_len[DGEO_MAX_OFFSETS];
    int n_off = dgeo_offsets(off, off_len);
    for (int g = 0; g < n_goals; g++)
      dgeo_solve(f, goals[g], w, dist, &q, n_off, (const int(*)[3])off, off_len,
                 f->dist + cells * g);
  }
  free(w);
  free(dist);
  free(heap);
  free(where);
  if (rc) dgeo_free(f);
  return rc;
}

void dgeo_free(dgeo_field_t *f) {
  free(f->dist);
  memset(f, 0, sizeof *f);
}

double dgeo_eval(const dgeo_field_t *f, int g, const double *p, double *grad) {
  const int dims[3] = {f->nx, f->ny, f->nz};
  double q[3], t[3], out2 = 0.0;
  int i[3];
  for (int a = 0; a < 3; a++) {
    double top = f->lo[a] + (dims[a] - 1) * f->h;
    q[a] = p[a] < f->lo[a] ? f->lo[a] : (p[a] > top ? top : p[a]);
    out2 += (p[a] - q[a]) * (p[a] - q[a]);
    double u = (q[a] - f->lo[a]) / f->h;
    if (!isfinite(u)) u = 0.0;  // a non-finite position: any cell, never UB in the cast
    i[a] = (int)floor(u);
    if (i[a] > dims[a] - 2) i[a] = dims[a] - 2;
    if (i[a] < 0) i[a] = 0;
    t[a] = u - i[a];
  }
  const float *D = f->dist + (size_t)g * (size_t)f->nx * f->ny * f->nz;
  double v[8];
  for (int c = 0; c < 8; c++) {
    int x = i[0] + (c & 1), y = i[1] + ((c >> 1) & 1), z = i[2] + ((c >> 2) & 1);
    v[c] = D[((size_t)z * f->ny + y) * f->nx + x];
  }
  // Trilinear value and its derivative in each axis.
  double val = 0.0, dv[3] = {0.0, 0.0, 0.0};
  for (int c = 0; c < 8; c++) {
    double wx = (c & 1) ? t[0] : 1 - t[0], wy = ((c >> 1) & 1) ? t[1] : 1 - t[1],
           wz = ((c >> 2) & 1) ? t[2] : 1 - t[2];
    double sx = (c & 1) ? 1 : -1, sy = ((c >> 1) & 1) ? 1 : -1, sz = ((c >> 2) & 1) ? 1 : -1;
    val += wx * wy * wz * v[c];
    dv[0] += sx * wy * wz * v[c] / f->h;
    dv[1] += wx * sy * wz * v[c] / f->h;
    dv[2] += wx * wy * sz * v[c] / f->h;
  }
  double out = sqrt(out2);
  if (grad)
    for (int a = 0; a < 3; a++)
      grad[a] = p[a] != q[a] ? (p[a] - q[a]) / out : dv[a];
  return val + out;
}
