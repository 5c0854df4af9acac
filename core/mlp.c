// mlp: forward, backward and forward-mode tangent of the MLP in mlp.h, plus orthogonal init.
// Owns the parameter layout, the activation caches and the LayerNorm/activation derivatives;
// it does not own parameters, gradients or optimiser state (plain vectors held by callers).
// LayerNorm follows torch.nn.LayerNorm: biased variance, eps 1e-5 inside the square root.
// Orthogonal init follows torch.nn.init.orthogonal_: QR of a Gaussian matrix with the signs of
// R's diagonal made positive, which is exactly Gram-Schmidt, so we run Gram-Schmidt in place.
// Without input LayerNorm x_norm/in_mean/in_rstd stay NULL; without hidden LayerNorm out[l]
// aliases post[l].
#include "core/mlp.h"

#include <assert.h>
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define MLP_LN_EPS 1e-5
#define MLP_LN_LANES 8  // partial sums of a LayerNorm row sum (see ln_sum)
#define MLP_LN_BLOCK 4  // LayerNorm forward rows per loop (see layernorm_forward)

// ---------------------------------------------------------------------------------------------
// Creation

static int mlp_check_config(const mlp_config_t *cfg, int max_batch) {
  if (cfg->n_in <= 0 || cfg->n_out <= 0)
    return err_input("mlp: n_in %d and n_out %d must be positive", cfg->n_in, cfg->n_out);
  if (cfg->n_hidden < 0 || cfg->n_hidden > MLP_MAX_LAYERS)
    return err_input("mlp: n_hidden %d outside [0, %d]", cfg->n_hidden, MLP_MAX_LAYERS);
  for (int l = 0; l < cfg->n_hidden; l++)
    if (cfg->hidden[l] <= 0)
      return err_input("mlp: hidden[%d] = %d must be positive", l, cfg->hidden[l]);
  if (cfg->act != MLP_ACT_TANH && cfg->act != MLP_ACT_RELU)
    return err_input("mlp: unknown activation %d", (int)cfg->act);
  if (max_batch <= 0) return err_input("mlp: max_batch %d must be positive", max_batch);
  return ERR_OK;
}

// Fill dims and the parameter offsets in the order documented in mlp.h.
static int mlp_layout(mlp_t *m) {
  const mlp_config_t *c = &m->cfg;
  int L = c->n_hidden;
  m->dims[0] = c->n_in;
  for (int l = 0; l < L; l++) m->dims[l + 1] = c->hidden[l];
  m->dims[L + 1] = c->n_out;

  long long off = 0;
  m->in_gamma = m->in_beta = -1;
  if (c->input_layernorm) {
    m->in_gamma = (int)off;
    m->in_beta = (int)(off + c->n_in);
    off += 2LL * c->n_in;
  }
  for (int l = 0; l <= L; l++) {
    long long n_i = m->dims[l], n_o = m->dims[l + 1];
    if (off + n_o * n_i + 3 * n_o > INT_MAX) return err_input("mlp: too many parameters");
    m->w[l] = (int)off;
    off += n_o * n_i;
    m->b[l] = (int)off;
    off += n_o;
    if (l < L) {
      m->ln_gamma[l] = m->ln_beta[l] = -1;
      if (c->hidden_layernorm) {
        m->ln_gamma[l] = (int)off;
        m->ln_beta[l] = (int)(off + n_o);
        off += 2 * n_o;
      }
    }
  }
  m->n_params = (int)off;
  return ERR_OK;
}

static float *mlp_alloc_rows(int rows, int width) {
  return err_calloc((size_t)rows * (size_t)width, sizeof(float));
}

int mlp_create(mlp_t *m, const mlp_config_t *cfg, int max_batch) {
  memset(m, 0, sizeof *m);
  int rc = mlp_check_config(cfg, max_batch);
  if (rc) return rc;
  m->cfg = *cfg;
  m->max_batch = max_batch;
  rc = mlp_layout(m);
  if (rc) return rc;

  int L = cfg->n_hidden, B = max_batch;
  int max_width = 0;
  for (int l = 0; l <= L + 1; l++)
    if (m->dims[l] > max_width) max_width = m->dims[l];

  int ok = 1;
  if (cfg->input_layernorm) {
    ok &= (m->x_norm = mlp_alloc_rows(B, cfg->n_in)) != NULL;
    ok &= (m->in_mean = mlp_alloc_rows(B, 1)) != NULL;
    ok &= (m->in_rstd = mlp_alloc_rows(B, 1)) != NULL;
  }
  for (int l = 0; l < L && ok; l++) {
    int h = m->dims[l + 1];
    ok &= (m->pre[l] = mlp_alloc_rows(B, h)) != NULL;
    ok &= (m->post[l] = mlp_alloc_rows(B, h)) != NULL;
    if (cfg->hidden_layernorm) {
      ok &= (m->out[l] = mlp_alloc_rows(B, h)) != NULL;
      ok &= (m->ln_mean[l] = mlp_alloc_rows(B, 1)) != NULL;
      ok &= (m->ln_rstd[l] = mlp_alloc_rows(B, 1)) != NULL;
    } else {
      m->out[l] = m->post[l];  // the activation output feeds the next layer directly
    }
  }
  // a/b ping-pong in backward and tangent; c/d are spare work rows for callers.
  ok &= (m->scratch_a = mlp_alloc_rows(B, max_width)) != NULL;
  ok &= (m->scratch_b = mlp_alloc_rows(B, max_width)) != NULL;
  ok &= (m->scratch_c = mlp_alloc_rows(B, max_width)) != NULL;
  ok &= (m->scratch_d = mlp_alloc_rows(B, max_width)) != NULL;
  ok &= (m->ln_tmp = mlp_alloc_rows(2, max_width)) != NULL;
  if (!ok) {
    mlp_destroy(m);
    return ERR_FAIL;  // err_calloc recorded the message
  }
  return ERR_OK;
}

void mlp_destroy(mlp_t *m) {
  free(m->x_norm);
  free(m->in_mean);
  free(m->in_rstd);
  for (int l = 0; l < MLP_MAX_LAYERS; l++) {
    if (m->out[l] != m->post[l]) free(m->out[l]);
    free(m->pre[l]);
    free(m->post[l]);
    free(m->ln_mean[l]);
    free(m->ln_rstd[l]);
  }
  free(m->scratch_a);
  free(m->scratch_b);
  free(m->scratch_c);
  free(m->scratch_d);
  free(m->ln_tmp);
  memset(m, 0, sizeof *m);
}

// ---------------------------------------------------------------------------------------------
// Orthogonal initialisation

// Orthonormalise n_vec vectors of length len in place. Vector k starts at a + k*vec_stride and
// its elements are elem_stride apart. Modified Gram-Schmidt run twice ("twice is enough",
// Giraud et al. 2005) keeps float32 orthogonality near machine precision; dots in double.
static void gram_schmidt(float *a, int n_vec, int len, int vec_stride, int elem_stride) {
  for (int k = 0; k < n_vec; k++) {
    float *vk = a + (size_t)k * vec_stride;
    for (int pass = 0; pass < 2; pass++) {
      for (int j = 0; j < k; j++) {
        const float *vj = a + (size_t)j * vec_stride;
        double dot = 0.0;
        for (int i = 0; i < len; i++) dot += (double)vj[i * elem_stride] * vk[i * elem_stride];
        for (int i = 0; i < len; i++) vk[i * elem_stride] -= (float)(dot * vj[i * elem_stride]);
      }
    }
    double norm2 = 0.0;
    for (int i = 0; i < len; i++) norm2 += (double)vk[i * elem_stride] * vk[i * elem_stride];
    // A Gaussian matrix is full rank with probability one; guard the measure-zero case anyway.
    double inv = norm2 > 0.0 ? 1.0 / sqrt(norm2) : 0.0;
    for (int i = 0; i < len; i++) vk[i * elem_stride] = (float)(vk[i * elem_stride] * inv);
  }
}

// W [n_out][n_in] = gain * orthogonal: rows orthonormal if n_out <= n_in, else columns.
static void orthogonal_init(float *w, int n_out, int n_in, float gain, rng_t *rng) {
  size_t n = (size_t)n_out * n_in;
  for (size_t i = 0; i < n; i++) w[i] = (float)rng_normal(rng);
  if (n_out <= n_in)
    gram_schmidt(w, n_out, n_in, n_in, 1);
  else
    gram_schmidt(w, n_in, n_out, 1, n_in);
  for (size_t i = 0; i < n; i++) w[i] *= gain;
}

static void fill(float *p, int n, float value) {
  for (int i = 0; i < n; i++) p[i] = value;
}

void mlp_init(const mlp_t *m, float *params, rng_t *rng) {
  const mlp_config_t *c = &m->cfg;
  int L = c->n_hidden;
  if (c->input_layernorm) {
    fill(params + m->in_gamma, c->n_in, 1.0f);
    fill(params + m->in_beta, c->n_in, 0.0f);
  }
  for (int l = 0; l <= L; l++) {
    int n_i = m->dims[l], n_o = m->dims[l + 1];
    orthogonal_init(params + m->w[l], n_o, n_i, l < L ? c->hidden_gain : c->out_gain, rng);
    fill(params + m->b[l], n_o, 0.0f);
    if (l < L && c->hidden_layernorm) {
      fill(params + m->ln_gamma[l], n_o, 1.0f);
      fill(params + m->ln_beta[l], n_o, 0.0f);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Building blocks. All matrices are row-major [rows][cols].

// The matrix fed into linear layer l at the last forward.
static const float *layer_input(const mlp_t *m, int l) {
  if (l > 0) return m->out[l - 1];
  return m->cfg.input_layernorm ? m->x_norm : m->x_in;
}

static void fill_rows(float *y, const float *row, int rows, int cols) {
  for (int r = 0; r < rows; r++) memcpy(y + (size_t)r * cols, row, (size_t)cols * sizeof(float));
}

// y[B][n_o] += x[B][n_i] * W^T, W [n_o][n_i].
static void matmul_wt_acc(float *y, const float *x, const float *w, int batch, int n_i, int n_o) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, n_o, n_i, 1.0f, x, n_i, w, n_i, 1.0f,
              y, n_o);
}

// LayerNorm's row sums are float sums over MLP_LN_LANES interleaved partial sums (element j
// goes to partial j mod MLP_LN_LANES; the partials are added in a fixed tree), so the loops
// vectorise without -ffast-math and every build adds in the same order: the same bits with SSE
// or AVX. One chain of dependent adds per row (the order of the loop j = 0..n-1) waited on the
// add latency and kept LayerNorm at 40% of the learner's time. PyTorch's LayerNorm also sums in
// float; rows are short (<= a few hundred), so float partials lose nothing that matters.

// The fixed tree over one row's lane partials.
static inline float ln_tree(const float *a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// Sum of x[0..n-1] in the fixed lane order above.
static inline float ln_sum(const float *restrict x, int n) {
  float acc[MLP_LN_LANES] = {0};
  int j = 0;
  for (; j + MLP_LN_LANES <= n; j += MLP_LN_LANES)
    for (int l = 0; l < MLP_LN_LANES; l++) acc[l] += x[j + l];
  for (int l = 0; j < n; j++, l++) acc[l] += x[j];
  return ln_tree(acc);
}

// Sum of (x[j] - mu)^2 in the same order.
static inline float ln_sum_sq_dev(const float *restrict x, float mu, int n) {
  float acc[MLP_LN_LANES] = {0};
  int j = 0;
  for (; j + MLP_LN_LANES <= n; j += MLP_LN_LANES)
    for (int l = 0; l < MLP_LN_LANES; l++) {
      float d = x[j + l] - mu;
      acc[l] += d * d;
    }
  for (int l = 0; j < n; j++, l++) {
    float d = x[j] - mu;
    acc[l] += d * d;
  }
  return ln_tree(acc);
}

// y = gamma * (x - mean) * rstd + beta for one row.
static void layernorm_apply_row(float *restrict y, const float *restrict x, float mean, float rstd,
                                const float *restrict gamma, const float *restrict beta, int n) {
  for (int j = 0; j < n; j++) y[j] = gamma[j] * ((x[j] - mean) * rstd) + beta[j];
}

// LayerNorm of each row: y = gamma * (x - mean) * rstd + beta, caching mean and rstd. Rows go
// MLP_LN_BLOCK at a time: one row's statistics are a chain of dependent adds, a division and a
// square root (about 150 cycles of latency for n = 64, little work), so the sums of several
// independent rows side by side keep the adders busy. Each row is still summed by ln_sum and
// ln_sum_sq_dev, so the bits are those of row by row.
static void layernorm_forward(float *y, float *mean, float *rstd, const float *x,
                              const float *gamma, const float *beta, int batch, int n) {
  int r = 0;
  for (; r + MLP_LN_BLOCK <= batch; r += MLP_LN_BLOCK) {
    const float *xr = x + (size_t)r * n;
    float mu[MLP_LN_BLOCK], var[MLP_LN_BLOCK];
    for (int q = 0; q < MLP_LN_BLOCK; q++) mu[q] = ln_sum(xr + (size_t)q * n, n) / (float)n;
    for (int q = 0; q < MLP_LN_BLOCK; q++) var[q] = ln_sum_sq_dev(xr + (size_t)q * n, mu[q], n);
    for (int q = 0; q < MLP_LN_BLOCK; q++) {
      mean[r + q] = mu[q];
      rstd[r + q] = 1.0f / sqrtf(var[q] / (float)n + (float)MLP_LN_EPS);
    }
    for (int q = 0; q < MLP_LN_BLOCK; q++)
      layernorm_apply_row(y + (size_t)(r + q) * n, xr + (size_t)q * n, mu[q], rstd[r + q], gamma,
                          beta, n);
  }
  for (; r < batch; r++) {
    const float *xr = x + (size_t)r * n;
    float mu = ln_sum(xr, n) / (float)n;
    float var = ln_sum_sq_dev(xr, mu, n) / (float)n;
    mean[r] = mu;
    rstd[r] = 1.0f / sqrtf(var + (float)MLP_LN_EPS);
    layernorm_apply_row(y + (size_t)r * n, xr, mu, rstd[r], gamma, beta, n);
  }
}

// LayerNorm backward for rows x with cached mean/rstd, given g = dL/dy: dgamma += sum_r g*xhat,
// dbeta += sum_r g and, if dx is not NULL, dx = rstd*(gg - mean(gg) - xhat*mean(gg*xhat)) with
// gg = g*gamma (the means as ln_sum's lane sums). dx may alias g: each row's g is read in full
// before its dx is written. tmp: [2][n] work rows.
static void layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *g,
                               const float *x, const float *mean, const float *rstd,
                               const float *gamma, int batch, int n, float *tmp) {
  float *restrict gg = tmp, *restrict ggx = tmp + n;
  for (int r = 0; r < batch; r++) {
    size_t off = (size_t)r * n;
    const float *restrict xr = x + off, *gr = g + off;
    float m = mean[r], s = rstd[r];
    // Rows in order: dgamma and dbeta accumulate over rows.
    for (int j = 0; j < n; j++) {
      float xhat = (xr[j] - m) * s;
      dgamma[j] += gr[j] * xhat;
      dbeta[j] += gr[j];
    }
    if (!dx) continue;
    for (int j = 0; j < n; j++) {
      float xhat = (xr[j] - m) * s;
      gg[j] = gr[j] * gamma[j];
      ggx[j] = gg[j] * xhat;
    }
    float mean_g = ln_sum(gg, n) / (float)n, mean_gx = ln_sum(ggx, n) / (float)n;
    float *dxr = dx + off;
    for (int j = 0; j < n; j++) {
      float xhat = (xr[j] - m) * s;
      dxr[j] = s * (gg[j] - mean_g - xhat * mean_gx);
    }
  }
}

// Tangent of LayerNorm in place: t holds d(x) on entry and d(y) on exit, where y also depends
// on the parameters through dgamma/dbeta. The Jacobian of xhat w.r.t. x is symmetric, so this is
// the same formula as the backward: d(xhat) = rstd*(dx - mean(dx) - xhat*mean(dx*xhat)).
static void layernorm_tangent(float *t, const float *x, const float *mean, const float *rstd,
                              const float *gamma, const float *dgamma, const float *dbeta,
                              int batch, int n) {
  for (int r = 0; r < batch; r++) {
    float *tr = t + (size_t)r * n;
    const float *xr = x + (size_t)r * n;
    double sum_t = 0.0, sum_tx = 0.0;
    for (int j = 0; j < n; j++) {
      float xhat = (xr[j] - mean[r]) * rstd[r];
      sum_t += tr[j];
      sum_tx += tr[j] * xhat;
    }
    float mean_t = (float)(sum_t / n), mean_tx = (float)(sum_tx / n);
    for (int j = 0; j < n; j++) {
      float xhat = (xr[j] - mean[r]) * rstd[r];
      float dxhat = rstd[r] * (tr[j] - mean_t - xhat * mean_tx);
      tr[j] = gamma[j] * dxhat + dgamma[j] * xhat + dbeta[j];
    }
  }
}

// tanh through one double exp: within 1 float ulp of tanhf and about 1.7x faster here (glibc's
// tanhf goes through expm1f); tanh dominated the learner's profile on small networks.
static float mlp_tanh(float x) {
  double t = exp(-2.0 * fabs((double)x));
  double y = (1.0 - t) / (1.0 + t);
  return (float)(x < 0 ? -y : y);
}

static void activation_forward(float *post, const float *pre, size_t n, mlp_act_t act) {
  if (act == MLP_ACT_TANH)
    for (size_t i = 0; i < n; i++) post[i] = mlp_tanh(pre[i]);
  else
    for (size_t i = 0; i < n; i++) post[i] = pre[i] > 0.0f ? pre[i] : 0.0f;
}

// g *= act'(pre) in place; tanh' = 1 - tanh^2 from the cached output, ReLU' = [pre > 0]
// (0 at the kink, as PyTorch).
static void activation_scale(float *g, const float *pre, const float *post, size_t n,
                             mlp_act_t act) {
  if (act == MLP_ACT_TANH)
    for (size_t i = 0; i < n; i++) g[i] *= 1.0f - post[i] * post[i];
  else
    for (size_t i = 0; i < n; i++) g[i] = pre[i] > 0.0f ? g[i] : 0.0f;
}

// ---------------------------------------------------------------------------------------------
// Forward

void mlp_forward(mlp_t *m, const float *params, const float *x, int batch, float *y) {
  assert(batch >= 0 && batch <= m->max_batch);
  const mlp_config_t *c = &m->cfg;
  int L = c->n_hidden;
  m->x_in = x;
  m->last_batch = batch;
  if (batch == 0) return;
  if (c->input_layernorm)
    layernorm_forward(m->x_norm, m->in_mean, m->in_rstd, x, params + m->in_gamma,
                      params + m->in_beta, batch, c->n_in);
  for (int l = 0; l <= L; l++) {
    int n_i = m->dims[l], n_o = m->dims[l + 1];
    float *z = l < L ? m->pre[l] : y;
    fill_rows(z, params + m->b[l], batch, n_o);
    matmul_wt_acc(z, layer_input(m, l), params + m->w[l], batch, n_i, n_o);
    if (l == L) break;
    activation_forward(m->post[l], z, (size_t)batch * n_o, c->act);
    if (c->hidden_layernorm)
      layernorm_forward(m->out[l], m->ln_mean[l], m->ln_rstd[l], m->post[l],
                        params + m->ln_gamma[l], params + m->ln_beta[l], batch, n_o);
  }
}

// ---------------------------------------------------------------------------------------------
// Backward

// Parameter gradients of a linear layer given g = dL/dz [B][n_o] and its input h [B][n_i]:
// dW += g^T h, db += column sums of g.
static void linear_backward_params(float *dw, float *db, const float *g, const float *h, int batch,
                                   int n_i, int n_o) {
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_o, n_i, batch, 1.0f, g, n_o, h, n_i, 1.0f,
              dw, n_i);
  for (int r = 0; r < batch; r++)
    for (int j = 0; j < n_o; j++) db[j] += g[(size_t)r * n_o + j];
}

// dh [B][n_i] = g [B][n_o] * W [n_o][n_i].
static void linear_backward_input(float *dh, const float *g, const float *w, int batch, int n_i,
                                  int n_o) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, n_i, n_o, 1.0f, g, n_o, w, n_i,
              0.0f, dh, n_i);
}

// In place: g = dL/d(out[l]) on entry, dL/d(pre[l]) on exit (LayerNorm, then activation, in
// reverse); LayerNorm parameter gradients are added to dparams.
static void hidden_block_backward(const mlp_t *m, const float *params, float *dparams, float *g,
                                  int l, int batch) {
  int n = m->dims[l + 1];
  if (m->cfg.hidden_layernorm)
    layernorm_backward(g, dparams + m->ln_gamma[l], dparams + m->ln_beta[l], g, m->post[l],
                       m->ln_mean[l], m->ln_rstd[l], params + m->ln_gamma[l], batch, n, m->ln_tmp);
  activation_scale(g, m->pre[l], m->post[l], (size_t)batch * n, m->cfg.act);
}

void mlp_backward(mlp_t *m, const float *params, const float *dy, float *dparams, float *dx) {
  const mlp_config_t *c = &m->cfg;
  int L = c->n_hidden, batch = m->last_batch;
  if (batch == 0) return;
  float *bufs[2] = {m->scratch_a, m->scratch_b};
  int cur = 0;
  const float *g = dy;  // dL/dz of linear layer l (z = y, or the pre-activation of block l)
  for (int l = L; l >= 0; l--) {
    int n_i = m->dims[l], n_o = m->dims[l + 1];
    linear_backward_params(dparams + m->w[l], dparams + m->b[l], g, layer_input(m, l), batch, n_i,
                           n_o);
    // Layer 0's input gradient is only needed for dx or the input LayerNorm's parameters.
    if (l == 0 && !c->input_layernorm && !dx) return;
    float *dh = (l == 0 && !c->input_layernorm) ? dx : bufs[cur];
    linear_backward_input(dh, g, params + m->w[l], batch, n_i, n_o);
    if (l > 0) hidden_block_backward(m, params, dparams, dh, l - 1, batch);
    g = dh;
    cur ^= 1;
  }
  if (c->input_layernorm)
    layernorm_backward(dx, dparams + m->in_gamma, dparams + m->in_beta, g, m->x_in, m->in_mean,
                       m->in_rstd, params + m->in_gamma, batch, c->n_in, m->ln_tmp);
}

// ---------------------------------------------------------------------------------------------
// Forward-mode tangent (J v)

void mlp_forward_tangent(mlp_t *m, const float *params, const float *v, float *dy) {
  const mlp_config_t *c = &m->cfg;
  int L = c->n_hidden, batch = m->last_batch;
  if (batch == 0) return;
  float *bufs[2] = {m->scratch_a, m->scratch_b};
  int cur = 0;
  // t = tangent of the current layer input; NULL means zero (the raw input x is constant).
  const float *t = NULL;
  if (c->input_layernorm) {
    // x_norm = gamma*xhat + beta, xhat independent of the parameters: t = v_gamma*xhat + v_beta.
    fill_rows(bufs[0], v + m->in_beta, batch, c->n_in);
    const float *vg = v + m->in_gamma;
    for (int r = 0; r < batch; r++)
      for (int j = 0; j < c->n_in; j++) {
        size_t i = (size_t)r * c->n_in + j;
        bufs[0][i] += vg[j] * ((m->x_in[i] - m->in_mean[r]) * m->in_rstd[r]);
      }
    t = bufs[0];
    cur = 1;
  }
  for (int l = 0; l <= L; l++) {
    int n_i = m->dims[l], n_o = m->dims[l + 1];
    float *tz = l < L ? bufs[cur] : dy;
    // z = h W^T + b  =>  dz = dh W^T + h dW^T + db.
    fill_rows(tz, v + m->b[l], batch, n_o);
    if (t) matmul_wt_acc(tz, t, params + m->w[l], batch, n_i, n_o);
    matmul_wt_acc(tz, layer_input(m, l), v + m->w[l], batch, n_i, n_o);
    if (l == L) break;
    activation_scale(tz, m->pre[l], m->post[l], (size_t)batch * n_o, c->act);
    if (c->hidden_layernorm)
      layernorm_tangent(tz, m->post[l], m->ln_mean[l], m->ln_rstd[l], params + m->ln_gamma[l],
                        v + m->ln_gamma[l], v + m->ln_beta[l], batch, n_o);
    t = tz;
    cur ^= 1;
  }
}
