// buffer: rollout storage (allocated once at create time) and GAE for reward and cost.
// Owns the layouts documented in buffer.h and the advantage arithmetic; the algorithms decide
// which advantages to standardise and how. GAE follows MACPO-repo utils/separated_buffer.py
// (specs §1.4): de-normalised values, the same recursion for costs, and by default a time-limit
// truncation cut like a terminal; with proper_time_limits the final observation's value is
// bootstrapped instead (as HARL does). Each step's arithmetic is in double; the stored advantages
// are float, as in the reference.
#include "core/buffer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

int buf_create(buf_t *b, int T, int E, int A, int obs_dim, int share_dim, int act_dim) {
  memset(b, 0, sizeof *b);
  if (T <= 0 || E <= 0 || A <= 0 || obs_dim < 0 || share_dim < 0 || act_dim <= 0)
    return err_input("buffer: bad sizes T=%d E=%d A=%d obs_dim=%d share_dim=%d act_dim=%d", T, E, A,
                     obs_dim, share_dim, act_dim);
  b->T = T, b->E = E, b->A = A;
  b->obs_dim = obs_dim, b->share_dim = share_dim, b->act_dim = act_dim;

  size_t t = (size_t)T, t1 = (size_t)T + 1, ea = (size_t)E * (size_t)A;
  int ok = 1;
#define BUF_ALLOC(field, count)                       \
  do {                                                \
    b->field = err_calloc((count), sizeof *b->field); \
    ok = ok && b->field != NULL;                      \
  } while (0)
  BUF_ALLOC(obs, t1 * ea * (size_t)obs_dim);
  BUF_ALLOC(share_obs, t1 * (size_t)E * (size_t)share_dim);
  BUF_ALLOC(actions, t * ea * (size_t)act_dim);
  BUF_ALLOC(logp, t * ea);
  BUF_ALLOC(rewards, t * ea);
  BUF_ALLOC(costs, t * ea);
  BUF_ALLOC(values, t1 * ea);
  BUF_ALLOC(cost_values, t1 * ea);
  BUF_ALLOC(boot_values, t * ea);
  BUF_ALLOC(boot_cost_values, t * ea);
  BUF_ALLOC(done, t * (size_t)E);
  BUF_ALLOC(truncated, t * (size_t)E);
  BUF_ALLOC(adv, t * ea);
  BUF_ALLOC(ret, t * ea);
  BUF_ALLOC(cost_adv, t * ea);
  BUF_ALLOC(cost_ret, t * ea);
  BUF_ALLOC(team_costs, t * (size_t)E);
  BUF_ALLOC(team_cost_values, t1 * (size_t)E);
  BUF_ALLOC(team_boot_cost_values, t * (size_t)E);
  BUF_ALLOC(team_cost_adv, t * (size_t)E);
  BUF_ALLOC(team_cost_ret, t * (size_t)E);
#undef BUF_ALLOC
  if (!ok) {
    buf_destroy(b);
    return ERR_FAIL;  // err_calloc recorded the message
  }
  return ERR_OK;
}

void buf_destroy(buf_t *b) {
  free(b->obs);
  free(b->share_obs);
  free(b->actions);
  free(b->logp);
  free(b->rewards);
  free(b->costs);
  free(b->values);
  free(b->cost_values);
  free(b->boot_values);
  free(b->boot_cost_values);
  free(b->done);
  free(b->truncated);
  free(b->adv);
  free(b->ret);
  free(b->cost_adv);
  free(b->cost_ret);
  free(b->team_costs);
  free(b->team_cost_values);
  free(b->team_boot_cost_values);
  free(b->team_cost_adv);
  free(b->team_cost_ret);
  memset(b, 0, sizeof *b);
}

void buf_gae(const float *rewards, const float *values, const float *boot, const uint8_t *done,
             const uint8_t *truncated, int T, int N, int lanes_per_flag, float gamma, float lam,
             int proper_time_limits, float *adv, float *ret) {
  int n_flags = N / lanes_per_flag;
  for (int t = T - 1; t >= 0; t--) {
    for (int n = 0; n < N; n++) {
      size_t i = (size_t)t * N + n;
      size_t f = (size_t)t * n_flags + n / lanes_per_flag;
      double next_value, next_adv;
      if (done[f]) {
        // The episode ended after step t, so values[t+1] belongs to the next episode. A time
        // limit is not a terminal state: bootstrap from the final observation when asked to.
        int bootstrap = proper_time_limits && truncated && truncated[f];
        next_value = bootstrap ? boot[i] : 0.0;
        next_adv = 0.0;
      } else {
        next_value = values[i + N];
        next_adv = t + 1 < T ? adv[i + N] : 0.0;
      }
      double delta = rewards[i] + (double)gamma * next_value - values[i];
      double a = delta + (double)gamma * lam * next_adv;
      adv[i] = (float)a;
      ret[i] = (float)(a + values[i]);
    }
  }
}

void buf_compute_advantages(buf_t *b, float gamma, float lam, float cost_gamma, float cost_lam,
                            int proper_time_limits) {
  int lanes = b->E * b->A;
  buf_gae(b->rewards, b->values, b->boot_values, b->done, b->truncated, b->T, lanes, b->A, gamma,
          lam, proper_time_limits, b->adv, b->ret);
  buf_gae(b->costs, b->cost_values, b->boot_cost_values, b->done, b->truncated, b->T, lanes, b->A,
          cost_gamma, cost_lam, proper_time_limits, b->cost_adv, b->cost_ret);
  // The team cost against agent 0's cost values.
  size_t rows = (size_t)b->T * b->E;
  for (size_t i = 0; i <= rows + (size_t)b->E - 1; i++)
    b->team_cost_values[i] = b->cost_values[i * b->A];
  for (size_t i = 0; i < rows; i++) b->team_boot_cost_values[i] = b->boot_cost_values[i * b->A];
  buf_gae(b->team_costs, b->team_cost_values, b->team_boot_cost_values, b->done, b->truncated,
          b->T, b->E, 1, cost_gamma, cost_lam, proper_time_limits, b->team_cost_adv,
          b->team_cost_ret);
}

void buf_roll(buf_t *b) {
  size_t ea = (size_t)b->E * b->A, T = (size_t)b->T;
  size_t n_obs = ea * b->obs_dim, n_share = (size_t)b->E * b->share_dim;
  memcpy(b->obs, b->obs + T * n_obs, n_obs * sizeof *b->obs);
  memcpy(b->share_obs, b->share_obs + T * n_share, n_share * sizeof *b->share_obs);
  memcpy(b->values, b->values + T * ea, ea * sizeof *b->values);
  memcpy(b->cost_values, b->cost_values + T * ea, ea * sizeof *b->cost_values);
}

void buf_standardize(float *x, int n, int scale, float eps) {
  if (n <= 0) return;
  double sum = 0.0;
  for (int i = 0; i < n; i++) sum += x[i];
  double mean = sum / n;
  double inv = 1.0;
  if (scale) {
    // Two-pass variance: the advantages can have a large mean relative to their spread.
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (x[i] - mean) * (x[i] - mean);
    inv = 1.0 / (sqrt(ss / n) + eps);
  }
  for (int i = 0; i < n; i++) x[i] = (float)((x[i] - mean) * inv);
}
