// test_mlp: core/mlp.c against independent references.
// Layout and forward against a plain double-precision reference that walks the parameter vector
// in the order mlp.h documents; backward (every parameter and dx) and the forward-mode tangent
// against central finite differences for every activation x input-LN x hidden-LN combination
// and several batch sizes; orthogonal init; gradient accumulation; config validation.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mlp.h"
#include "core/rng.h"
#include "tests/check.h"

// 8 and 13 rows: mlp.c's LayerNorm sums whole blocks of 8 (backward: 4) rows side by side and
// the remaining rows one at a time; 13 exercises a full block and every kind of remainder.
#define MAX_BATCH 13

// Architectures exercised: two hidden layers of different widths, none, and one.
typedef struct {
  int n_in, n_out, n_hidden, hidden[3];
} arch_t;
static const arch_t ARCHS[] = {{5, 3, 2, {7, 6}}, {4, 2, 0, {0}}, {3, 1, 1, {8}}};
#define N_ARCHS (int)(sizeof ARCHS / sizeof ARCHS[0])
static const int BATCHES[] = {1, 3, 8, MAX_BATCH};
#define N_BATCHES (int)(sizeof BATCHES / sizeof BATCHES[0])

static mlp_config_t make_config(const arch_t *a, mlp_act_t act, int in_ln, int hid_ln) {
  mlp_config_t c = {0};
  c.n_in = a->n_in;
  c.n_out = a->n_out;
  c.n_hidden = a->n_hidden;
  for (int l = 0; l < a->n_hidden; l++) c.hidden[l] = a->hidden[l];
  c.act = act;
  c.input_layernorm = in_ln;
  c.hidden_layernorm = hid_ln;
  c.hidden_gain = act == MLP_ACT_RELU ? sqrtf(2.0f) : 1.0f;
  c.out_gain = 1.0f;  // not 0.01: a tiny output layer would make every gradient tiny
  return c;
}

static void fill_normal(float *p, int n, double mean, double std, rng_t *rng) {
  for (int i = 0; i < n; i++) p[i] = (float)(mean + std * rng_normal(rng));
}

// Orthogonal init, then noise on everything: gamma != 1, beta != 0 and bias != 0 so a missing
// factor of gamma or a dropped bias term cannot hide behind the init values.
static void random_params(const mlp_t *m, float *p, rng_t *rng) {
  mlp_init(m, p, rng);
  for (int i = 0; i < m->n_params; i++) p[i] += (float)(0.3 * rng_normal(rng));
}

static double dot_d(const float *a, const double *b, int n) {
  double s = 0.0;
  for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

// ---------------------------------------------------------------------------------------------
// Reference forward in double, reading parameters sequentially in the order mlp.h documents.

static void ref_layernorm(double *x, int n, const float **p) {
  const float *gamma = *p, *beta = *p + n;
  double mu = 0.0, var = 0.0;
  for (int j = 0; j < n; j++) mu += x[j];
  mu /= n;
  for (int j = 0; j < n; j++) var += (x[j] - mu) * (x[j] - mu);
  var /= n;
  for (int j = 0; j < n; j++) x[j] = gamma[j] * (x[j] - mu) / sqrt(var + 1e-5) + beta[j];
  *p += 2 * n;
}

// One row; returns the number of parameters consumed.
static int ref_forward_row(const mlp_config_t *c, const float *params, const float *x, double *y) {
  double h[64], z[64];
  const float *p = params;
  int n = c->n_in;
  for (int j = 0; j < n; j++) h[j] = x[j];
  if (c->input_layernorm) ref_layernorm(h, n, &p);
  for (int l = 0; l <= c->n_hidden; l++) {
    int n_o = l < c->n_hidden ? c->hidden[l] : c->n_out;
    const float *w = p, *b = p + n_o * n;
    for (int i = 0; i < n_o; i++) {
      z[i] = b[i];
      for (int j = 0; j < n; j++) z[i] += (double)w[i * n + j] * h[j];
    }
    p += n_o * n + n_o;
    n = n_o;
    if (l == c->n_hidden) break;
    for (int i = 0; i < n; i++)
      h[i] = c->act == MLP_ACT_TANH ? tanh(z[i]) : (z[i] > 0.0 ? z[i] : 0.0);
    if (c->hidden_layernorm) ref_layernorm(h, n, &p);
  }
  for (int i = 0; i < n; i++) y[i] = z[i];
  return (int)(p - params);
}

// Forward equals the reference (so the layout and LN-after-activation order are as documented)
// to 1e-5 relative + 1e-5 absolute: float32 roundoff through a few layers of width <= 8.
static void test_forward_matches_reference(void) {
  rng_t rng;
  rng_seed(&rng, 11);
  for (int a = 0; a < N_ARCHS; a++)
    for (int act = 0; act < 2; act++)
      for (int mask = 0; mask < 4; mask++) {
        mlp_config_t c = make_config(&ARCHS[a], (mlp_act_t)act, mask & 1, mask >> 1);
        mlp_t m;
        CHECK(mlp_create(&m, &c, MAX_BATCH) == 0, "create: %s", err_message());
        float *p = calloc(m.n_params, sizeof *p);
        float x[MAX_BATCH * 8], y[MAX_BATCH * 8];
        random_params(&m, p, &rng);
        fill_normal(x, MAX_BATCH * c.n_in, 0.5, 1.5, &rng);
        mlp_forward(&m, p, x, MAX_BATCH, y);
        for (int r = 0; r < MAX_BATCH; r++) {
          double ref[8];
          int used = ref_forward_row(&c, p, x + r * c.n_in, ref);
          CHECK(used == m.n_params, "reference used %d params, mlp has %d", used, m.n_params);
          for (int k = 0; k < c.n_out; k++)
            CHECK_CLOSE(y[r * c.n_out + k], ref[k], 1e-5, 1e-5, "forward vs double reference");
        }
        free(p);
        mlp_destroy(&m);
      }
}

// ---------------------------------------------------------------------------------------------
// Finite differences. The loss is L = sum_i c_i y_i accumulated in double with fixed random c,
// so dL/dy = c. The forward is float32, so L carries roundoff ~1e-6, which a difference quotient
// divides by the step: the step cannot shrink much. A second-order central difference with step
// 1e-2 then has truncation error h^2/6 L''' of up to 2% on the LayerNorm nets (measured), so we
// use the fourth-order central stencil (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h: truncation
// h^4/30 L^(5) ~ 3e-10 L^(5) and roundoff ~ 1.5e-6 / 12h ~ 1e-5 at h = 1e-2.

static const double FD_H = 1e-2;
static const double STENCIL_OFFSET[4] = {2.0, 1.0, -1.0, -2.0};
static const double STENCIL_WEIGHT[4] = {-1.0 / 12.0, 8.0 / 12.0, -8.0 / 12.0, 1.0 / 12.0};

typedef struct {
  mlp_t *m;
  float *params;
  float *x;
  int batch;
  float *y;
  const double *c;
  unsigned char *mask, *mask_base;  // ReLU on/off pattern of all hidden units
  int mask_len;
} fd_ctx_t;

static double fd_loss(fd_ctx_t *f) {
  mlp_forward(f->m, f->params, f->x, f->batch, f->y);
  return dot_d(f->y, f->c, f->batch * f->m->cfg.n_out);
}

static void relu_pattern(const mlp_t *m, int batch, unsigned char *mask) {
  int k = 0;
  for (int l = 0; l < m->cfg.n_hidden; l++)
    for (int i = 0; i < batch * m->dims[l + 1]; i++) mask[k++] = m->pre[l][i] > 0.0f;
}

// True when the last forward crossed a ReLU kink relative to the base point: the function is not
// differentiable across it, so the central difference there is meaningless and is skipped.
static int crossed_kink(fd_ctx_t *f) {
  if (f->m->cfg.act != MLP_ACT_RELU) return 0;
  relu_pattern(f->m, f->batch, f->mask);
  return memcmp(f->mask, f->mask_base, f->mask_len) != 0;
}

// Derivative of the loss w.r.t. *p (a parameter or an input); returns 0 at a kink. Rounding
// p + k h to float moves each point by <= half an ulp of p: a ~1e-5 relative error on the slope.
static int fd_partial(fd_ctx_t *f, float *p, double *out) {
  float p0 = *p;
  double acc = 0.0;
  int kink = 0;
  for (int k = 0; k < 4; k++) {
    *p = (float)(p0 + STENCIL_OFFSET[k] * FD_H);
    acc += STENCIL_WEIGHT[k] * fd_loss(f);
    kink |= crossed_kink(f);
  }
  *p = p0;
  *out = acc / FD_H;
  return !kink;
}

typedef struct {
  int checks, skipped;
  double worst;  // largest |analytic - fd| / (atol + rtol * scale); must stay <= 1
} fd_stats_t;

// Gradient tolerance: rtol 3e-3, atol 3e-4, some 30x the error budget above (which grows with
// the size of the outputs; hidden LayerNorm rows of small variance have the largest derivatives).
// The worst case measured on these nets is ~0.3 of the tolerance. A wrong or missing term in a
// backward pass gives an O(1) relative error.
static const double GRAD_RTOL = 3e-3, GRAD_ATOL = 3e-4;

static void compare_grad(double analytic, double fd, const char *what, fd_stats_t *s) {
  double bound = GRAD_ATOL + GRAD_RTOL * fmax(fabs(analytic), fabs(fd));
  double ratio = fabs(analytic - fd) / bound;
  if (ratio > s->worst) s->worst = ratio;
  s->checks++;
  CHECK_CLOSE(analytic, fd, GRAD_RTOL, GRAD_ATOL, what);
}

static void grad_check_one(const mlp_config_t *c, int batch, rng_t *rng, fd_stats_t *s) {
  mlp_t m;
  CHECK(mlp_create(&m, c, MAX_BATCH) == 0, "create: %s", err_message());
  int np = m.n_params, n_x = batch * c->n_in, n_y = batch * c->n_out;
  float *p = calloc(np, sizeof *p), *dp = calloc(np, sizeof *dp);
  float *x = calloc(n_x, sizeof *x), *dx = calloc(n_x, sizeof *dx);
  float *y = calloc(n_y, sizeof *y), *dy = calloc(n_y, sizeof *dy);
  double *cw = calloc(n_y, sizeof *cw);
  int mask_len = 0;
  for (int l = 0; l < c->n_hidden; l++) mask_len += batch * c->hidden[l];
  unsigned char *mask = calloc(mask_len + 1, 1), *mask_base = calloc(mask_len + 1, 1);

  random_params(&m, p, rng);
  fill_normal(x, n_x, 0.5, 1.5, rng);
  for (int i = 0; i < n_y; i++) {
    cw[i] = rng_normal(rng);
    dy[i] = (float)cw[i];
  }
  mlp_forward(&m, p, x, batch, y);
  relu_pattern(&m, batch, mask_base);
  mlp_backward(&m, p, dy, dp, dx);

  fd_ctx_t f = {&m, p, x, batch, y, cw, mask, mask_base, mask_len};
  char what[160];
  for (int i = 0; i < np; i++) {
    double fd;
    if (!fd_partial(&f, &p[i], &fd)) {
      s->skipped++;
      continue;
    }
    snprintf(what, sizeof what, "dparam[%d] act=%d inLN=%d hidLN=%d L=%d B=%d", i, c->act,
             c->input_layernorm, c->hidden_layernorm, c->n_hidden, batch);
    compare_grad(dp[i], fd, what, s);
  }
  for (int i = 0; i < n_x; i++) {
    double fd;
    if (!fd_partial(&f, &x[i], &fd)) {
      s->skipped++;
      continue;
    }
    snprintf(what, sizeof what, "dx[%d] act=%d inLN=%d hidLN=%d L=%d B=%d", i, c->act,
             c->input_layernorm, c->hidden_layernorm, c->n_hidden, batch);
    compare_grad(dx[i], fd, what, s);
  }
  free(p), free(dp), free(x), free(dx), free(y), free(dy), free(cw), free(mask), free(mask_base);
  mlp_destroy(&m);
}

static void test_backward_matches_finite_differences(void) {
  rng_t rng;
  rng_seed(&rng, 22);
  fd_stats_t s = {0};
  for (int a = 0; a < N_ARCHS; a++)
    for (int act = 0; act < 2; act++)
      for (int mask = 0; mask < 4; mask++)
        for (int bi = 0; bi < N_BATCHES; bi++) {
          mlp_config_t c = make_config(&ARCHS[a], (mlp_act_t)act, mask & 1, mask >> 1);
          grad_check_one(&c, BATCHES[bi], &rng, &s);
        }
  // Skips only happen for ReLU; if most were skipped the test would check little.
  CHECK(s.skipped * 10 < s.checks, "%d of %d partials skipped at ReLU kinks", s.skipped,
        s.checks + s.skipped);
  printf("backward vs FD: %d partials checked, %d skipped at ReLU kinks, worst error %.3f of tol\n",
         s.checks, s.skipped, s.worst);
}

// ---------------------------------------------------------------------------------------------
// Tangent: J v against the same stencil along v, per output and with the same tolerances. The
// parameters move by FD_H_DIR in L2 norm per stencil unit (step FD_H_DIR / |v| along v). Measured
// worst errors: 1e-2 leaves the outputs' float roundoff (from intermediate sums larger than the
// outputs) at 0.9 of the tolerance, 3e-2 at ~0.35; 5e-2 shows truncation on the ReLU + LayerNorm
// nets and crosses more kinks.
// A ReLU kink only invalidates the outputs of its own batch row, so only those are skipped.
// Also the adjoint identity c . (J v) = (J^T c) . v, which has no truncation error, to 1e-4 of
// sum |dparam_i v_i| (float accumulation over ~200 parameters).

static const double FD_H_DIR = 3e-2;

// Mark rows whose ReLU pattern differs between a and b (layout of relu_pattern).
static void mark_kinked_rows(const mlp_t *m, int batch, const unsigned char *a,
                             const unsigned char *b, unsigned char *row_kinked) {
  int off = 0;
  for (int l = 0; l < m->cfg.n_hidden; l++) {
    int h = m->dims[l + 1];
    for (int r = 0; r < batch; r++)
      if (memcmp(a + off + r * h, b + off + r * h, h) != 0) row_kinked[r] = 1;
    off += batch * h;
  }
}

// y at p + s v, using pp as the shifted parameter vector; records the ReLU pattern in mask.
static void forward_along(mlp_t *m, const float *p, const float *v, double s, float *pp,
                          const float *x, int batch, float *y, unsigned char *mask) {
  for (int i = 0; i < m->n_params; i++) pp[i] = (float)(p[i] + s * v[i]);
  mlp_forward(m, pp, x, batch, y);
  relu_pattern(m, batch, mask);
}

static void tangent_check_one(const mlp_config_t *c, int batch, rng_t *rng, fd_stats_t *s) {
  mlp_t m;
  CHECK(mlp_create(&m, c, MAX_BATCH) == 0, "create: %s", err_message());
  int np = m.n_params, n_x = batch * c->n_in, n_y = batch * c->n_out;
  float *p = calloc(np, sizeof *p), *pp = calloc(np, sizeof *pp), *v = calloc(np, sizeof *v);
  float *dp = calloc(np, sizeof *dp), *x = calloc(n_x, sizeof *x);
  float *y = calloc(n_y, sizeof *y), *jv = calloc(n_y, sizeof *jv), *cf = calloc(n_y, sizeof *cf);
  double *fd = calloc(n_y, sizeof *fd);
  int mask_len = 0;
  for (int l = 0; l < c->n_hidden; l++) mask_len += batch * c->hidden[l];
  unsigned char *mask = calloc(mask_len + 1, 1), *mask_base = calloc(mask_len + 1, 1);

  random_params(&m, p, rng);
  fill_normal(x, n_x, 0.5, 1.5, rng);
  fill_normal(cf, n_y, 0.0, 1.0, rng);
  char what[160];
  snprintf(what, sizeof what, "J v act=%d inLN=%d hidLN=%d L=%d B=%d", c->act, c->input_layernorm,
           c->hidden_layernorm, c->n_hidden, batch);
  for (int dir = 0; dir < 3; dir++) {
    fill_normal(v, np, 0.0, 1.0, rng);
    double v_norm2 = 0.0;
    for (int i = 0; i < np; i++) v_norm2 += (double)v[i] * v[i];
    double step = FD_H_DIR / sqrt(v_norm2);

    mlp_forward(&m, p, x, batch, y);
    relu_pattern(&m, batch, mask_base);
    unsigned char row_kinked[MAX_BATCH] = {0};
    memset(fd, 0, n_y * sizeof *fd);
    for (int k = 0; k < 4; k++) {
      forward_along(&m, p, v, STENCIL_OFFSET[k] * step, pp, x, batch, y, mask);
      mark_kinked_rows(&m, batch, mask, mask_base, row_kinked);
      for (int i = 0; i < n_y; i++) fd[i] += STENCIL_WEIGHT[k] * y[i] / step;
    }
    mlp_forward(&m, p, x, batch, y);  // the tangent is taken at the last forward point
    mlp_forward_tangent(&m, p, v, jv);
    for (int i = 0; i < n_y; i++) {
      if (row_kinked[i / c->n_out])
        s->skipped++;
      else
        compare_grad(jv[i], fd[i], what, s);
    }
    // Adjoint identity at the same point (valid at kinks too: both use the same ReLU pattern).
    memset(dp, 0, np * sizeof *dp);
    mlp_backward(&m, p, cf, dp, NULL);
    double lhs = 0.0, rhs = 0.0, scale = 0.0;
    for (int i = 0; i < n_y; i++) lhs += (double)cf[i] * jv[i];
    for (int i = 0; i < np; i++) {
      rhs += (double)dp[i] * v[i];
      scale += fabs((double)dp[i] * v[i]);
    }
    CHECK_NEAR(lhs, rhs, 1e-4 * scale + 1e-6, "c.(J v) vs (J^T c).v");
  }
  free(p), free(pp), free(v), free(dp), free(x), free(y), free(jv), free(cf), free(fd);
  free(mask), free(mask_base);
  mlp_destroy(&m);
}

static void test_tangent_matches_finite_differences(void) {
  rng_t rng;
  rng_seed(&rng, 33);
  fd_stats_t s = {0};
  for (int a = 0; a < N_ARCHS; a++)
    for (int act = 0; act < 2; act++)
      for (int mask = 0; mask < 4; mask++)
        for (int bi = 0; bi < N_BATCHES; bi++) {
          mlp_config_t c = make_config(&ARCHS[a], (mlp_act_t)act, mask & 1, mask >> 1);
          tangent_check_one(&c, BATCHES[bi], &rng, &s);
        }
  CHECK(s.skipped * 10 < s.checks, "%d of %d outputs skipped at ReLU kinks", s.skipped,
        s.checks + s.skipped);
  printf("tangent vs FD: %d outputs checked, %d skipped at ReLU kinks, worst error %.3f of tol\n",
         s.checks, s.skipped, s.worst);
}

// ---------------------------------------------------------------------------------------------
// Orthogonal init: W W^T = gain^2 I when n_out <= n_in (rows orthonormal), W^T W = gain^2 I
// otherwise (columns), as torch.nn.init.orthogonal_. Tolerance 1e-5 * gain^2: Gram-Schmidt run
// twice leaves float32 orthogonality at a few ulp times the width.

static void check_gram(const float *w, int n_out, int n_in, float gain, int layer) {
  int rows = n_out <= n_in;  // which side is orthonormal
  int k = rows ? n_out : n_in, len = rows ? n_in : n_out;
  double g2 = (double)gain * gain;
  char what[96];
  for (int i = 0; i < k; i++)
    for (int j = 0; j < k; j++) {
      double dot = 0.0;
      for (int t = 0; t < len; t++) {
        double a = rows ? w[i * n_in + t] : w[t * n_in + i];
        double b = rows ? w[j * n_in + t] : w[t * n_in + j];
        dot += a * b;
      }
      snprintf(what, sizeof what, "layer %d (%dx%d) gram[%d][%d]", layer, n_out, n_in, i, j);
      CHECK_NEAR(dot, i == j ? g2 : 0.0, 1e-5 * g2, what);
    }
}

static void test_orthogonal_init(void) {
  // Square (6x6), tall (10x6), wide (4x10), tall output (8x4).
  mlp_config_t c = {.n_in = 6, .n_out = 8, .n_hidden = 3, .hidden = {6, 10, 4}};
  c.act = MLP_ACT_RELU;
  c.input_layernorm = c.hidden_layernorm = 1;
  c.hidden_gain = sqrtf(2.0f);
  c.out_gain = 0.01f;
  mlp_t m;
  CHECK(mlp_create(&m, &c, 1) == 0, "create: %s", err_message());
  float *p = malloc(m.n_params * sizeof *p), *q = malloc(m.n_params * sizeof *q);
  for (int i = 0; i < m.n_params; i++) p[i] = q[i] = NAN;  // init must write every entry
  rng_t rng;
  rng_seed(&rng, 44);
  mlp_init(&m, p, &rng);
  for (int l = 0; l <= c.n_hidden; l++) {
    int n_i = m.dims[l], n_o = m.dims[l + 1];
    check_gram(p + m.w[l], n_o, n_i, l < c.n_hidden ? c.hidden_gain : c.out_gain, l);
    for (int i = 0; i < n_o; i++) CHECK(p[m.b[l] + i] == 0.0f, "bias %d of layer %d", i, l);
    if (l == c.n_hidden) continue;
    for (int i = 0; i < n_o; i++) {
      CHECK(p[m.ln_gamma[l] + i] == 1.0f && p[m.ln_beta[l] + i] == 0.0f, "LN %d.%d", l, i);
    }
  }
  for (int i = 0; i < c.n_in; i++)
    CHECK(p[m.in_gamma + i] == 1.0f && p[m.in_beta + i] == 0.0f, "input LN %d", i);
  // Same seed, same parameters; the init is a function of the rng stream only.
  rng_seed(&rng, 44);
  mlp_init(&m, q, &rng);
  CHECK(memcmp(p, q, m.n_params * sizeof *p) == 0, "init not deterministic");
  free(p), free(q);
  mlp_destroy(&m);
}

// ---------------------------------------------------------------------------------------------
// Backward adds into dparams (callers sum over minibatch pieces and agents) and dx is optional.

static void test_backward_accumulates(void) {
  mlp_config_t c = make_config(&ARCHS[0], MLP_ACT_TANH, 1, 1);
  mlp_t m;
  CHECK(mlp_create(&m, &c, MAX_BATCH) == 0, "create: %s", err_message());
  int np = m.n_params, b = 4;
  float *p = calloc(np, sizeof *p), *g1 = calloc(np, sizeof *p), *g2 = calloc(np, sizeof *p);
  float x[4 * 5], y[4 * 3], dy[4 * 3], dx[4 * 5];
  rng_t rng;
  rng_seed(&rng, 55);
  random_params(&m, p, &rng);
  fill_normal(x, b * c.n_in, 0.0, 1.0, &rng);
  fill_normal(dy, b * c.n_out, 0.0, 1.0, &rng);
  mlp_forward(&m, p, x, b, y);
  mlp_backward(&m, p, dy, g1, dx);
  for (int i = 0; i < np; i++) g2[i] = 0.5f + (float)i;  // pre-existing content
  mlp_backward(&m, p, dy, g2, NULL);
  mlp_backward(&m, p, dy, g2, NULL);
  // Exact up to float rounding of the two additions: 1e-5 relative to the prefill value.
  for (int i = 0; i < np; i++)
    CHECK_NEAR(g2[i], 0.5f + (float)i + 2.0f * g1[i], 1e-5 * (1.0 + i + fabs(g1[i])),
               "prefill + 2 * gradient");
  free(p), free(g1), free(g2);
  mlp_destroy(&m);
}

// ---------------------------------------------------------------------------------------------
// Parameter count and config validation.

static void test_create_and_layout(void) {
  mlp_config_t c = make_config(&ARCHS[0], MLP_ACT_TANH, 1, 1);  // 5 -> 7 -> 6 -> 3
  mlp_t m;
  CHECK(mlp_create(&m, &c, 2) == 0, "create: %s", err_message());
  int expect = 2 * 5 + (7 * 5 + 7 + 2 * 7) + (6 * 7 + 6 + 2 * 6) + (3 * 6 + 3);
  CHECK(m.n_params == expect, "n_params %d, want %d", m.n_params, expect);
  CHECK(m.in_gamma == 0 && m.in_beta == 5 && m.w[0] == 10, "input LN precedes layer 0");
  mlp_destroy(&m);
  c.input_layernorm = c.hidden_layernorm = 0;
  CHECK(mlp_create(&m, &c, 2) == 0, "create: %s", err_message());
  CHECK(m.in_gamma == -1 && m.ln_gamma[0] == -1 && m.w[0] == 0, "absent LN offsets are -1");
  CHECK(m.n_params == 7 * 5 + 7 + 6 * 7 + 6 + 3 * 6 + 3, "n_params without LN");
  mlp_destroy(&m);

  mlp_config_t bad = c;
  bad.n_hidden = MLP_MAX_LAYERS + 1;
  CHECK(mlp_create(&m, &bad, 2) == ERR_INPUT, "too many layers accepted");
  bad = c;
  bad.hidden[1] = 0;
  CHECK(mlp_create(&m, &bad, 2) == ERR_INPUT, "zero width accepted");
  bad = c;
  bad.n_in = 0;
  CHECK(mlp_create(&m, &bad, 2) == ERR_INPUT, "zero inputs accepted");
  CHECK(mlp_create(&m, &c, 0) == ERR_INPUT, "max_batch 0 accepted");
  mlp_destroy(&m);  // safe after a failed create
}

int main(void) {
  test_create_and_layout();
  test_forward_matches_reference();
  test_backward_matches_finite_differences();
  test_tangent_matches_finite_differences();
  test_orthogonal_init();
  test_backward_accumulates();
  return check_report("test_mlp");
}
