// sa_common: single-agent policy + critics scaffolding (see sa_common.h).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/sa_common.h"
#include "core/err.h"

sa_config_t sa_two_layer_config(int hidden, mlp_act_t act, float critic_lr) {
  sa_config_t c = {0};
  c.n_hidden = c.critic_n_hidden = 2;
  c.hidden[0] = c.hidden[1] = c.critic_hidden[0] = c.critic_hidden[1] = hidden;
  c.act = act;
  c.actor_out_gain = 0.01f;
  c.std_param = POL_STD_LOG;
  c.std_init = -0.5f;
  c.critic_lr = critic_lr;
  return c;
}

int sa_create(sa_t *s, const char *algo_name, const env_spec_t *spec, const sa_config_t *cfg,
              int N, int has_cost_critic, uint64_t seed) {
  memset(s, 0, sizeof *s);
  if (spec->n_agents != 1)
    return err_input("algo %s is single-agent; env %s has %d agents", algo_name, spec->name,
                     spec->n_agents);
  s->obs_dim = spec->obs_dim[0];
  s->discrete = spec->discrete;
  s->pol_act_dim = spec->act_dim[0];
  s->act_dim = spec->discrete ? 1 : spec->act_dim[0];
  s->N = N;
  s->has_cost_critic = has_cost_critic;
  rng_t init;
  rng_stream(&init, seed, "init", 0);

  pol_config_t pc = {0};
  pc.discrete = spec->discrete;
  pc.obs_dim = s->obs_dim;
  pc.act_dim = s->pol_act_dim;
  pc.n_hidden = cfg->n_hidden;
  memcpy(pc.hidden, cfg->hidden, sizeof pc.hidden);
  pc.act = cfg->act;
  pc.hidden_gain = cfg->act == MLP_ACT_RELU ? 1.41421356f : 1.0f;
  pc.out_gain = cfg->actor_out_gain;
  pc.std_param = cfg->std_param;
  pc.std_init = cfg->std_init;
  int rc = pol_create(&s->pol, &pc, N);
  if (rc) return rc;
  s->theta = err_calloc(s->pol.n_params, sizeof(float));
  s->grad = err_calloc(s->pol.n_params, sizeof(float));
  if (!s->theta || !s->grad) return ERR_FAIL;
  pol_init(&s->pol, s->theta, &init);

  critic_config_t cc = {0};
  cc.obs_dim = s->obs_dim;
  cc.n_hidden = cfg->critic_n_hidden;
  memcpy(cc.hidden, cfg->critic_hidden, sizeof cc.hidden);
  cc.act = cfg->act;
  cc.lr = cfg->critic_lr;
  if ((rc = critic_create(&s->vr, &cc, N, &init))) return rc;
  if (has_cost_critic && (rc = critic_create(&s->vc, &cc, N, &init))) return rc;

  size_t rows = (size_t)N;
  s->mb_obs = err_calloc(rows * s->obs_dim, sizeof(float));
  s->mb_act = err_calloc(rows * s->act_dim, sizeof(float));
  float **cols[] = {&s->mb_a, &s->mb_b, &s->mb_c, &s->mb_d, &s->mb_e,
                    &s->row_a, &s->row_b, &s->row_c};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
    *cols[i] = err_calloc(rows, sizeof(float));
    if (!*cols[i]) return ERR_FAIL;
  }
  s->perm = err_calloc(rows, sizeof(int));
  if (!s->mb_obs || !s->mb_act || !s->perm) return ERR_FAIL;
  return 0;
}

void sa_destroy(sa_t *s) {
  pol_destroy(&s->pol);
  critic_destroy(&s->vr);
  if (s->has_cost_critic) critic_destroy(&s->vc);
  free(s->theta);
  free(s->grad);
  free(s->mb_obs);
  free(s->mb_act);
  free(s->mb_a);
  free(s->mb_b);
  free(s->mb_c);
  free(s->mb_d);
  free(s->mb_e);
  free(s->row_a);
  free(s->row_b);
  free(s->row_c);
  free(s->perm);
  memset(s, 0, sizeof *s);
}

void sa_values(sa_t *s, const float *obs, int E, float *values, float *cost_values) {
  if (values) critic_predict(&s->vr, obs, E, values);
  if (cost_values) {
    if (s->has_cost_critic)
      critic_predict(&s->vc, obs, E, cost_values);
    else
      memset(cost_values, 0, sizeof(float) * E);
  }
}

void sa_act(sa_t *s, const float *obs, int E, rng_t *rng, float *actions, float *logp,
            float *values, float *cost_values) {
  pol_forward(&s->pol, s->theta, obs, E);
  pol_sample(&s->pol, rng, actions, logp);
  sa_values(s, obs, E, values, cost_values);
}

void sa_act_deterministic(sa_t *s, const float *obs, int E, float *actions) {
  pol_forward(&s->pol, s->theta, obs, E);
  pol_mode(&s->pol, actions);
}

void sa_algo_act(void *algo, const float *obs, const float *share_obs, int E, rng_t *rng,
                 float *actions, float *logp, float *values, float *cost_values) {
  sa_act((sa_t *)algo, obs, E, rng, actions, logp, values, cost_values);
}

void sa_algo_act_deterministic(void *algo, const float *obs, const float *share_obs, int E,
                               float *actions) {
  sa_act_deterministic((sa_t *)algo, obs, E, actions);
}

void sa_algo_values(void *algo, const float *obs, const float *share_obs, int E, float *values,
                    float *cost_values) {
  sa_values((sa_t *)algo, obs, E, values, cost_values);
}

void sa_gather(const float *src, const int *idx, int n, int w, float *dst) {
  for (int i = 0; i < n; i++) memcpy(dst + (size_t)i * w, src + (size_t)idx[i] * w, sizeof(float) * w);
}

int sa_save(const sa_t *s, ckpt_t *k) {
  int rc = ckpt_put(k, s->theta, sizeof(float) * s->pol.n_params);
  if (!rc) rc = critic_save(&s->vr, k);
  if (!rc && s->has_cost_critic) rc = critic_save(&s->vc, k);
  return rc;
}

int sa_load(sa_t *s, ckpt_t *k) {
  int rc = ckpt_get(k, s->theta, sizeof(float) * s->pol.n_params);
  if (!rc) rc = critic_load(&s->vr, k);
  if (!rc && s->has_cost_critic) rc = critic_load(&s->vc, k);
  return rc;
}

int sa_finite(const sa_t *s) {
  for (int i = 0; i < s->pol.n_params; i++)
    if (!isfinite(s->theta[i])) return 0;
  return 1;
}

void sa_window_init(sa_window_t *w, int cap) {
  memset(w, 0, sizeof *w);
  w->cap = cap < 1 ? 1 : (cap > SA_WINDOW_MAX ? SA_WINDOW_MAX : cap);
}

void sa_window_push(sa_window_t *w, const float *x, int n) {
  for (int i = 0; i < n; i++) {
    w->v[w->head] = x[i];
    w->head = (w->head + 1) % w->cap;
    if (w->n < w->cap) w->n++;
  }
}

double sa_window_mean(const sa_window_t *w, double fallback) {
  return sa_mean_or(w->v, w->n, fallback);
}

double sa_mean_or(const float *x, int n, double fallback) {
  if (n <= 0) return fallback;
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  return s / n;
}

float sa_linear_lr(double lr, long long steps_done, long long total_steps) {
  if (total_steps <= 0) return (float)lr;
  double frac = 1.0 - (double)steps_done / (double)total_steps;
  return (float)(lr * (frac > 0 ? frac : 0));
}

// ---- PID multiplier ------------------------------------------------------------------------

void sa_pid_init(sa_pid_t *c, double lambda_init) {
  memset(c, 0, sizeof *c);
  c->integral = lambda_init;
  c->lambda = lambda_init;
}

double sa_pid_update(sa_pid_t *c, const sa_pid_params_t *p, double jc, double limit) {
  double e = jc - limit;
  c->integral += p->ki * e;
  if (c->integral < 0) c->integral = 0;
  double rise = c->has_prev && jc > c->prev_jc ? jc - c->prev_jc : 0.0;
  double lambda = c->integral + p->kp * e + p->kd * rise;
  if (lambda < 0) lambda = 0;
  if (lambda > p->lambda_max) lambda = p->lambda_max;
  c->prev_jc = jc;
  c->has_prev = 1;
  c->lambda = lambda;
  return lambda;
}

int sa_pid_save(const sa_pid_t *c, ckpt_t *k) {
  int rc = ckpt_put_f64(k, c->integral);
  if (!rc) rc = ckpt_put_f64(k, c->prev_jc);
  if (!rc) rc = ckpt_put_f64(k, c->lambda);
  if (!rc) rc = ckpt_put_f64(k, (double)c->has_prev);
  return rc;
}

int sa_pid_load(sa_pid_t *c, ckpt_t *k) {
  double has_prev = 0;
  int rc = ckpt_get_f64(k, &c->integral);
  if (!rc) rc = ckpt_get_f64(k, &c->prev_jc);
  if (!rc) rc = ckpt_get_f64(k, &c->lambda);
  if (!rc) rc = ckpt_get_f64(k, &has_prev);
  c->has_prev = has_prev != 0;
  return rc;
}

// ---- visit counts --------------------------------------------------------------------------

// FNV-1a over the bytes of the observation and the action.
static uint64_t sa_pair_hash(const float *obs, int obs_dim, const float *action, int act_dim) {
  uint64_t h = 1469598103934665603ULL;
  const unsigned char *b = (const unsigned char *)obs;
  for (size_t i = 0; i < sizeof(float) * (size_t)obs_dim; i++) h = (h ^ b[i]) * 1099511628211ULL;
  b = (const unsigned char *)action;
  for (size_t i = 0; i < sizeof(float) * (size_t)act_dim; i++) h = (h ^ b[i]) * 1099511628211ULL;
  return h;
}

// Slot of key in the open-addressing table, or -1 when absent and the table is full.
static int sa_count_slot(const sa_counts_t *c, uint64_t key) {
  uint64_t start = key % SA_COUNT_CAP;
  for (int probe = 0; probe < SA_COUNT_CAP; probe++) {
    int i = (int)((start + (uint64_t)probe) % SA_COUNT_CAP);
    if (c->count[i] == 0 || c->key[i] == key) return i;
  }
  return -1;
}

double sa_count_get(const sa_counts_t *c, const float *obs, int obs_dim, const float *action,
                    int act_dim) {
  int i = sa_count_slot(c, sa_pair_hash(obs, obs_dim, action, act_dim));
  return i < 0 || c->count[i] == 0 ? 0.0 : c->count[i];
}

int sa_count_bonus(sa_counts_t *c, const char *who, const float *obs, int obs_dim,
                   const float *actions, int act_dim, const uint8_t *valid, int N, double beta_r,
                   double beta_c, float *rewards, float *costs) {
  for (int pass = 0; pass < 2; pass++) {
    // Pass 0 counts the whole batch, pass 1 reads the counts, so every row of one batch sees
    // the same count for the same pair.
    for (int i = 0; i < N; i++) {
      if (valid && !valid[i]) continue;
      const float *o = obs + (size_t)i * obs_dim, *a = actions + (size_t)i * act_dim;
      uint64_t key = sa_pair_hash(o, obs_dim, a, act_dim);
      int slot = sa_count_slot(c, key);
      if (slot < 0)
        return err_input("%s: count-based exploration needs a discrete observation space; more "
                         "than %d distinct (observation, action) pairs were seen",
                         who, SA_COUNT_CAP);
      if (pass == 0) {
        if (c->count[slot] == 0) {
          c->key[slot] = key;
          c->n_keys++;
        }
        c->count[slot] += 1;
      } else {
        double bonus = 1.0 / sqrt(c->count[slot]);
        if (rewards) rewards[i] += (float)(beta_r * bonus);
        if (costs) costs[i] -= (float)(beta_c * bonus);
      }
    }
  }
  return 0;
}

int sa_counts_save(const sa_counts_t *c, ckpt_t *k) {
  return ckpt_put(k, c, sizeof *c);
}

int sa_counts_load(sa_counts_t *c, ckpt_t *k) {
  return ckpt_get(k, c, sizeof *c);
}

double sa_entropy_coef(double coef, int decay, long long steps_done, long long total_steps) {
  if (!decay || total_steps <= 0) return coef;
  double left = 1.0 - (double)steps_done / (double)total_steps;
  return coef * (left > 0 ? left : 0);
}
