// actor_critic: shared multi-agent actor-critic machinery (see actor_critic.h for the choices).
// Memory: networks are evaluated in chunks of at most `chunk` rows, so activation caches stay
// small whatever the batch; a minibatch larger than a chunk accumulates its gradient over
// chunks before the one optimiser step (the same mean loss). Observations and actions are read
// from the rollout buffer in place (no per-agent copy of the batch).
#include "algorithms/actor_critic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/critic.h"
#include "core/buffer.h"
#include "core/err.h"

#define AC_CHUNK 512

// ---- pure loss functions ------------------------------------------------------------------

double ac_surrogate(const float *logp, const float *logp_old, const float *adv, const float *M,
                    int B, double eps, float *dlogp, float *ratio, int *clipped) {
  double loss = 0;
  int n_clip = 0;
  for (int b = 0; b < B; b++) {
    double r = exp((double)logp[b] - (double)logp_old[b]);
    double m = M ? M[b] : 1.0;
    double a = adv[b];
    double rc = r < 1 - eps ? 1 - eps : (r > 1 + eps ? 1 + eps : r);
    double un = r * a, cl = rc * a;
    // min(un, cl): the unclipped term carries the gradient when it is the smaller one.
    int use_un = un <= cl;
    loss -= m * (use_un ? un : cl);
    if (dlogp) dlogp[b] = use_un ? (float)(-m * r * a / B) : 0.0f;
    if (ratio) ratio[b] = (float)r;
    n_clip += !use_un;
  }
  if (clipped) *clipped = n_clip;
  return loss / B;
}

double ac_huber(double e, double delta) {
  double a = fabs(e);
  return a <= delta ? 0.5 * e * e : delta * (a - 0.5 * delta);
}

// dHuber/de
static double ac_huber_grad(double e, double delta) {
  if (e > delta) return delta;
  if (e < -delta) return -delta;
  return e;
}

double ac_value_loss(const float *v, const float *v_old, const float *target, int B, double eps,
                     double delta, float *dv) {
  double loss = 0;
  for (int b = 0; b < B; b++) {
    double d = (double)v[b] - v_old[b];
    int inside = d >= -eps && d <= eps;
    double vc = v_old[b] + (inside ? d : (d < 0 ? -eps : eps));
    double e = target[b] - (double)v[b], ec = target[b] - vc;
    double h = ac_huber(e, delta), hc = ac_huber(ec, delta);
    // max(h, hc): gradient through the larger term; the clipped prediction moves with v only
    // inside the clip range.
    if (h >= hc) {
      loss += h;
      if (dv) dv[b] = (float)(-ac_huber_grad(e, delta) / B);
    } else {
      loss += hc;
      if (dv) dv[b] = inside ? (float)(-ac_huber_grad(ec, delta) / B) : 0.0f;
    }
  }
  return loss / B;
}

void ac_lagrangian_advantage(const float *adv_r, const float *adv_c, float lambda, int n,
                             float *out) {
  for (int i = 0; i < n; i++) out[i] = adv_r[i] - lambda * adv_c[i];
}

double ac_lambda_grad(const float *ratio, const float *adv_c, int B, double constraint_term) {
  double s = 0;
  for (int b = 0; b < B; b++) s += (double)ratio[b] * adv_c[b];
  return constraint_term + (B > 0 ? s / B : 0.0);
}

void ac_m_update(float *M, const float *logp_new, const float *logp_old, int rows) {
  for (int i = 0; i < rows; i++) M[i] = (float)(M[i] * exp((double)logp_new[i] - logp_old[i]));
}

void ac_agent_order(rng_t *rng, int A, int *order) {
  rng_permutation(rng, order, A);
}

// ---- construction -----------------------------------------------------------------------

int ac_mlp_config(const ac_params_t *p, int n_in, int n_out, float out_gain,
                         mlp_config_t *mc) {
  memset(mc, 0, sizeof *mc);
  mc->n_in = n_in;
  mc->n_out = n_out;
  mc->n_hidden = p->layers;
  for (int l = 0; l < p->layers; l++) mc->hidden[l] = p->hidden;
  mc->act = strcmp(p->activation, "tanh") == 0 ? MLP_ACT_TANH : MLP_ACT_RELU;
  mc->input_layernorm = 1;
  mc->hidden_layernorm = 1;
  mc->hidden_gain = mc->act == MLP_ACT_RELU ? 1.41421356f : 1.0f;
  mc->out_gain = out_gain;
  return 0;
}

int ac_actor_create(ac_actor_t *a, const ac_params_t *p, int obs_dim, int act_dim,
                           int chunk, rng_t *rng) {
  pol_config_t pc = {0};
  pc.discrete = 0;
  pc.obs_dim = obs_dim;
  pc.act_dim = act_dim;
  pc.n_hidden = p->layers;
  for (int l = 0; l < p->layers; l++) pc.hidden[l] = p->hidden;
  pc.act = strcmp(p->activation, "tanh") == 0 ? MLP_ACT_TANH : MLP_ACT_RELU;
  pc.layernorm = 1;
  pc.hidden_gain = pc.act == MLP_ACT_RELU ? 1.41421356f : 1.0f;
  pc.out_gain = 0.01f;
  pc.std_param = strcmp(p->std, "log") == 0 ? POL_STD_LOG : POL_STD_SIGMOID;
  pc.std_init = (float)p->std_init;
  int rc = pol_create(&a->pol, &pc, chunk);
  if (rc) return rc;
  a->theta = err_calloc(a->pol.n_params, sizeof(float));
  a->grad = err_calloc(a->pol.n_params, sizeof(float));
  if (!a->theta || !a->grad) return ERR_FAIL;
  pol_init(&a->pol, a->theta, rng);
  return adam_create(&a->opt, a->pol.n_params, (float)p->lr, (float)p->adam_eps);
}

static void ac_actor_destroy(ac_actor_t *a) {
  pol_destroy(&a->pol);
  adam_destroy(&a->opt);
  free(a->theta);
  free(a->grad);
  memset(a, 0, sizeof *a);
}

static int ac_critic_create(ac_critic_t *c, const ac_params_t *p, int share_dim, int chunk,
                            rng_t *rng) {
  mlp_config_t mc;
  ac_mlp_config(p, share_dim, 1, 1.0f, &mc);
  int rc = mlp_create(&c->net, &mc, chunk);
  if (rc) return rc;
  c->theta = err_calloc(c->net.n_params, sizeof(float));
  c->grad = err_calloc(c->net.n_params, sizeof(float));
  if (!c->theta || !c->grad) return ERR_FAIL;
  mlp_init(&c->net, c->theta, rng);
  norm_ema_init(&c->norm, 0.99999);
  return adam_create(&c->opt, c->net.n_params, (float)p->critic_lr, (float)p->adam_eps);
}

static void ac_critic_destroy(ac_critic_t *c) {
  mlp_destroy(&c->net);
  adam_destroy(&c->opt);
  free(c->theta);
  free(c->grad);
  memset(c, 0, sizeof *c);
}

int ac_create(ac_t *ac, const char *algo_name, const env_spec_t *spec, const ac_params_t *p,
              const algo_run_info_t *run, int cost_critic) {
  memset(ac, 0, sizeof *ac);
  ac->p = *p;
  if (spec->discrete)
    return err_input("%s: env %s has discrete actions; this algorithm needs continuous ones",
                     algo_name, spec->name);
  ac->A = spec->n_agents;
  ac->E = run->E;
  ac->N = run->T * run->E;
  ac->obs_dim = spec->max_obs_dim;
  ac->act_dim = spec->max_act_dim;
  ac->share_dim = spec->share_obs_dim;
  for (int a = 0; a < ac->A; a++) {
    ac->agent_obs[a] = spec->obs_dim[a];
    ac->agent_act[a] = spec->act_dim[a];
    if (p->share_params &&
        (spec->obs_dim[a] != spec->max_obs_dim || spec->act_dim[a] != spec->max_act_dim))
      return err_input("%s: algo.share_params needs equal observation and action sizes for "
                       "every agent; env %s's agent %d has %d/%d (max %d/%d)",
                       algo_name, spec->name, a, spec->obs_dim[a], spec->act_dim[a],
                       spec->max_obs_dim, spec->max_act_dim);
  }
  ac->n_actors = p->share_params ? 1 : ac->A;
  ac->max_rows = p->share_params ? ac->N * ac->A : ac->N;
  ac->chunk = AC_CHUNK;
  ac->has_cost_critic = cost_critic;
  ac->cur_agent = -2;
  // Named streams: network initialisation does not depend on anything else.
  rng_t init;
  rng_stream(&init, run->seed, "init", 0);
  int rc = 0;
  for (int i = 0; i < ac->n_actors && !rc; i++) {
    int agent = p->share_params ? 0 : i;
    rc = ac_actor_create(&ac->actors[i], p, ac->agent_obs[agent], ac->agent_act[agent],
                         ac->chunk, &init);
  }
  if (!rc) rc = ac_critic_create(&ac->vr, p, ac->share_dim, ac->chunk, &init);
  if (!rc && cost_critic) rc = ac_critic_create(&ac->vc, p, ac->share_dim, ac->chunk, &init);
  if (rc) return rc;
  size_t R = (size_t)ac->max_rows, N = (size_t)ac->N, C = (size_t)ac->chunk;
  size_t width = (size_t)(ac->obs_dim > ac->share_dim ? ac->obs_dim : ac->share_dim);
  float **rows[] = {&ac->g_logp_old, &ac->g_logp_new, &ac->g_adv, &ac->g_adv_c, &ac->M};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    if (!(*rows[i] = err_calloc(R, sizeof(float)))) return ERR_FAIL;
  float **team[] = {&ac->adv_r, &ac->adv_c, &ac->ret_n, &ac->cret_n, &ac->v_old_n, &ac->vc_old_n};
  for (size_t i = 0; i < sizeof team / sizeof team[0]; i++)
    if (!(*team[i] = err_calloc(N, sizeof(float)))) return ERR_FAIL;
  float **mb[] = {&ac->mb_logp_old, &ac->mb_adv, &ac->mb_adv_c, &ac->mb_M, &ac->mb_logp,
                  &ac->mb_dlogp, &ac->mb_dent, &ac->mb_ent, &ac->mb_ratio, &ac->mb_t1,
                  &ac->mb_t2, &ac->mb_v, &ac->mb_dv};
  for (size_t i = 0; i < sizeof mb / sizeof mb[0]; i++)
    if (!(*mb[i] = err_calloc(C, sizeof(float)))) return ERR_FAIL;
  ac->mb_obs = err_calloc(C * width, sizeof(float));
  ac->mb_share = err_calloc(C * ac->share_dim, sizeof(float));
  ac->mb_act = err_calloc(C * ac->act_dim, sizeof(float));
  ac->perm = err_calloc(R, sizeof(int));
  size_t E = (size_t)ac->E * ac->A;  // acting rows (shared actor: every agent of every copy)
  ac->in_obs = err_calloc(E * ac->obs_dim, sizeof(float));
  ac->out_act = err_calloc(E * ac->act_dim, sizeof(float));
  ac->out_logp = err_calloc(E, sizeof(float));
  ac->out_v = err_calloc(E, sizeof(float));
  if (!ac->mb_obs || !ac->mb_share || !ac->mb_act || !ac->perm || !ac->in_obs || !ac->out_act ||
      !ac->out_logp || !ac->out_v)
    return ERR_FAIL;
  return 0;
}

void ac_destroy(ac_t *ac) {
  for (int i = 0; i < ENV_MAX_AGENTS; i++)
    if (ac->actors[i].theta) ac_actor_destroy(&ac->actors[i]);
  if (ac->vr.theta) ac_critic_destroy(&ac->vr);
  if (ac->vc.theta) ac_critic_destroy(&ac->vc);
  float *all[] = {ac->g_logp_old, ac->g_logp_new, ac->g_adv,   ac->g_adv_c,  ac->M,
                  ac->adv_r,      ac->adv_c,      ac->ret_n,   ac->cret_n,   ac->v_old_n,
                  ac->vc_old_n,   ac->mb_obs,     ac->mb_act,  ac->mb_logp_old, ac->mb_adv,
                  ac->mb_adv_c,   ac->mb_M,       ac->mb_logp, ac->mb_dlogp, ac->mb_dent,
                  ac->mb_ent,     ac->mb_ratio,   ac->mb_share, ac->mb_t1,   ac->mb_t2,
                  ac->mb_v,       ac->mb_dv,      ac->in_obs,  ac->out_act,  ac->out_logp,
                  ac->out_v};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
  free(ac->perm);
  memset(ac, 0, sizeof *ac);
}

// ---- acting -------------------------------------------------------------------------------

// Values of the team critics for E states, de-normalised.
static void ac_critic_values(ac_t *ac, ac_critic_t *c, const float *share_obs, int E,
                             float *out) {
  for (int s = 0; s < E; s += ac->chunk) {
    int n = E - s < ac->chunk ? E - s : ac->chunk;
    mlp_forward(&c->net, c->theta, share_obs + (size_t)s * ac->share_dim, n, out + s);
  }
  if (ac->p.value_norm) norm_ema_denormalize(&c->norm, out, E, out);
}

static void ac_fill_values(ac_t *ac, const float *share_obs, int E, float *values,
                           float *cost_values) {
  ac_critic_values(ac, &ac->vr, share_obs, E, ac->out_v);
  for (int e = 0; e < E; e++)
    for (int a = 0; a < ac->A; a++) values[e * ac->A + a] = ac->out_v[e];
  if (ac->has_cost_critic) ac_critic_values(ac, &ac->vc, share_obs, E, ac->out_v);
  for (int e = 0; e < E; e++)
    for (int a = 0; a < ac->A; a++) cost_values[e * ac->A + a] = ac->has_cost_critic ? ac->out_v[e] : 0;
}

// Policy outputs for the acting rows: sample (rng != NULL) or take the mean.
static void ac_policy_rows(ac_t *ac, const float *obs, int E, rng_t *rng, float *actions,
                           float *logp) {
  int A = ac->A, W = ac->obs_dim, K = ac->act_dim;
  if (ac->p.share_params) {
    // One actor: the E*A rows of the observation block in order (copy-major, agent-minor).
    ac_actor_t *act = &ac->actors[0];
    int rows = E * A;
    for (int s = 0; s < rows; s += ac->chunk) {
      int n = rows - s < ac->chunk ? rows - s : ac->chunk;
      pol_forward(&act->pol, act->theta, obs + (size_t)s * W, n);
      if (rng)
        pol_sample(&act->pol, rng, actions + (size_t)s * K, logp + s);
      else
        pol_mode(&act->pol, actions + (size_t)s * K);
    }
    return;
  }
  for (int a = 0; a < A; a++) {
    ac_actor_t *act = &ac->actors[a];
    int od = ac->agent_obs[a], kd = ac->agent_act[a];
    for (int e = 0; e < E; e++)
      memcpy(ac->in_obs + (size_t)e * od, obs + ((size_t)e * A + a) * W, sizeof(float) * od);
    for (int s = 0; s < E; s += ac->chunk) {
      int n = E - s < ac->chunk ? E - s : ac->chunk;
      pol_forward(&act->pol, act->theta, ac->in_obs + (size_t)s * od, n);
      if (rng)
        pol_sample(&act->pol, rng, ac->out_act + (size_t)s * kd, ac->out_logp + s);
      else
        pol_mode(&act->pol, ac->out_act + (size_t)s * kd);
    }
    for (int e = 0; e < E; e++) {
      float *dst = actions + ((size_t)e * A + a) * K;
      memcpy(dst, ac->out_act + (size_t)e * kd, sizeof(float) * kd);
      for (int k = kd; k < K; k++) dst[k] = 0;
      if (rng) logp[e * A + a] = ac->out_logp[e];
    }
  }
}

void ac_algo_act(void *algo, const float *obs, const float *share_obs, int E, rng_t *rng,
                 float *actions, float *logp, float *values, float *cost_values) {
  ac_t *ac = algo;
  ac_policy_rows(ac, obs, E, rng, actions, logp);
  ac_fill_values(ac, share_obs, E, values, cost_values);
}

void ac_algo_act_deterministic(void *algo, const float *obs, const float *share_obs, int E,
                               float *actions) {
  (void)share_obs;
  ac_policy_rows(algo, obs, E, NULL, actions, NULL);
}

void ac_algo_values(void *algo, const float *obs, const float *share_obs, int E, float *values,
                    float *cost_values) {
  (void)obs;
  ac_fill_values(algo, share_obs, E, values, cost_values);
}

// ---- update -------------------------------------------------------------------------------

// dst[i] = src[i * stride], standardised.
static void ac_standardize_lane0(const float *src, int stride, int N, float *dst) {
  for (int i = 0; i < N; i++) dst[i] = src[(size_t)i * stride];
  buf_standardize(dst, N, 1, 1e-5f);
}

// Old predictions and targets of one critic in its normalised space. The normaliser takes the
// batch's returns before the targets are normalised (the released order).
static void ac_critic_targets(ac_t *ac, ac_critic_t *c, const float *values, const float *ret,
                              int stride, float *v_old_n, float *ret_n) {
  int N = ac->N;
  for (int i = 0; i < N; i++) {
    v_old_n[i] = values[(size_t)i * stride];
    ret_n[i] = ret[(size_t)i * stride];
  }
  if (!ac->p.value_norm) return;
  norm_ema_normalize(&c->norm, v_old_n, N, v_old_n);
  norm_ema_update(&c->norm, ret_n, N);
  norm_ema_normalize(&c->norm, ret_n, N, ret_n);
}

void ac_prepare(ac_t *ac, buf_t *buf) {
  float g = (float)ac->p.gamma, l = (float)ac->p.lam;
  buf_compute_advantages(buf, g, l, g, l, ac->p.proper_time_limits);
  // Team quantities: the reward lanes are identical (agent 0's); the cost is the team cost
  // (the sum of per-agent costs where an env has them, e.g. the drone swarm).
  ac_standardize_lane0(buf->adv, ac->A, ac->N, ac->adv_r);
  ac_standardize_lane0(buf->team_cost_adv, 1, ac->N, ac->adv_c);
  ac_critic_targets(ac, &ac->vr, buf->values, buf->ret, ac->A, ac->v_old_n, ac->ret_n);
  if (ac->has_cost_critic)
    ac_critic_targets(ac, &ac->vc, buf->team_cost_values, buf->team_cost_ret, 1, ac->vc_old_n,
                      ac->cret_n);
}

// Buffer row (index into the [T][E][A] per-agent arrays) of selected row r.
static size_t ac_buf_row(const ac_t *ac, int r) {
  return ac->cur_agent < 0 ? (size_t)r : (size_t)r * ac->A + ac->cur_agent;
}

int ac_gather_agent(ac_t *ac, const buf_t *buf, int agent) {
  ac->buf = buf;
  ac->cur_agent = agent;
  int rows = agent < 0 ? ac->N * ac->A : ac->N;
  ac->cur_rows = rows;
  for (int r = 0; r < rows; r++) {
    size_t i = ac_buf_row(ac, r);
    int t = agent < 0 ? r / ac->A : r;  // team row
    ac->g_logp_old[r] = buf->logp[i];
    ac->g_adv[r] = ac->adv_r[t];
    ac->g_adv_c[r] = ac->adv_c[t];
  }
  return rows;
}

void ac_gather_rows(ac_t *ac, const int *idx, int n, int od, int kd) {
  const buf_t *b = ac->buf;
  for (int j = 0; j < n; j++) {
    size_t i = ac_buf_row(ac, idx ? idx[j] : j);
    memcpy(ac->mb_obs + (size_t)j * od, b->obs + i * b->obs_dim, sizeof(float) * od);
    memcpy(ac->mb_act + (size_t)j * kd, b->actions + i * b->act_dim, sizeof(float) * kd);
  }
}

int ac_actor_dims(const ac_t *ac, int *od, int *kd) {
  int agent = ac->cur_agent < 0 ? 0 : ac->cur_agent;
  *od = ac->agent_obs[agent];
  *kd = ac->agent_act[agent];
  return agent;
}

void ac_actor_logp(ac_t *ac, int actor, int rows, float *logp) {
  ac_actor_t *act = &ac->actors[actor];
  int od, kd;
  ac_actor_dims(ac, &od, &kd);
  for (int s = 0; s < rows; s += ac->chunk) {
    int n = rows - s < ac->chunk ? rows - s : ac->chunk;
    for (int j = 0; j < n; j++) ac->perm[j] = s + j;
    ac_gather_rows(ac, ac->perm, n, od, kd);
    pol_forward(&act->pol, act->theta, ac->mb_obs, n);
    pol_logp(&act->pol, ac->mb_act, logp + s);
  }
}

// One minibatch (rows idx[0..R)) of the clipped surrogate: gradient accumulated over chunks,
// one clipped Adam step; the Lagrange multiplier step after it when lag is given.
static void ac_actor_minibatch(ac_t *ac, ac_actor_t *act, const int *idx, int R, const float *M,
                               ac_lagrange_t *lag, ac_actor_stats_t *st) {
  int od, kd;
  ac_actor_dims(ac, &od, &kd);
  float lambda = lag ? *lag->lambda : 0.0f;
  double ent_w = ac->p.entropy_coef / ((double)R * kd);
  double loss = 0, rac = 0, kl = 0, ent = 0;
  int n_clip = 0;
  memset(act->grad, 0, sizeof(float) * act->pol.n_params);
  for (int s = 0; s < R; s += ac->chunk) {
    int n = R - s < ac->chunk ? R - s : ac->chunk;
    const int *ix = idx + s;
    ac_gather_rows(ac, ix, n, od, kd);
    for (int j = 0; j < n; j++) {
      ac->mb_logp_old[j] = ac->g_logp_old[ix[j]];
      ac->mb_adv_c[j] = ac->g_adv_c[ix[j]];
      ac->mb_adv[j] = ac->g_adv[ix[j]] - lambda * (lag ? ac->mb_adv_c[j] : 0.0f);
      ac->mb_M[j] = M ? M[ix[j]] : 1.0f;
    }
    pol_forward(&act->pol, act->theta, ac->mb_obs, n);
    pol_logp(&act->pol, ac->mb_act, ac->mb_logp);
    int nc = 0;
    // ac_surrogate averages over its n rows; rescale to the minibatch mean.
    loss += n * ac_surrogate(ac->mb_logp, ac->mb_logp_old, ac->mb_adv, ac->mb_M, n,
                             ac->p.clip, ac->mb_dlogp, ac->mb_ratio, &nc);
    n_clip += nc;
    float scale = (float)n / (float)R;
    for (int j = 0; j < n; j++) {
      ac->mb_dlogp[j] *= scale;
      ac->mb_dent[j] = (float)-ent_w;
      rac += (double)ac->mb_ratio[j] * ac->mb_adv_c[j];
      kl += (double)ac->mb_logp_old[j] - ac->mb_logp[j];
    }
    pol_entropy(&act->pol, ac->mb_ent);
    ent += (double)ac->mb_ent[0] * n / kd;
    pol_backward(&act->pol, act->theta, ac->mb_act, ac->mb_dlogp,
                 ac->p.entropy_coef > 0 ? ac->mb_dent : NULL, NULL, NULL, NULL, act->grad);
  }
  loss /= R;
  adam_clip_global_norm(act->grad, act->pol.n_params, ac->p.max_grad_norm);
  adam_step(&act->opt, act->theta, act->grad);
  if (lag) {
    double g = lag->constraint_term + rac / R;
    double next = *lag->lambda + lag->lr * g;
    if (lag->cap > 0 && next > lag->cap) next = lag->cap;
    *lag->lambda = (float)(next > 0 ? next : 0);
  }
  st->policy_loss += loss - ac->p.entropy_coef * ent / R;
  st->entropy += ent / R;
  st->approx_kl += kl / R;
  st->clip_frac += (double)n_clip / R;
  st->steps++;
}

void ac_actor_update(ac_t *ac, int actor, int rows, const float *M, ac_lagrange_t *lag,
                     rng_t *rng, ac_actor_stats_t *st) {
  ac_actor_t *act = &ac->actors[actor];
  int nmb = ac->p.minibatches < rows ? ac->p.minibatches : rows;
  int R = rows / nmb;
  for (int ep = 0; ep < ac->p.epochs; ep++) {
    rng_permutation(rng, ac->perm, rows);
    for (int m = 0; m < nmb; m++) ac_actor_minibatch(ac, act, ac->perm + (size_t)m * R, R, M, lag, st);
  }
}

// One minibatch step of a critic on team rows idx[0..R).
static double ac_critic_minibatch(ac_t *ac, ac_critic_t *c, const float *v_old_n,
                                  const float *ret_n, const int *idx, int R) {
  const buf_t *b = ac->buf;
  double loss = 0;
  memset(c->grad, 0, sizeof(float) * c->net.n_params);
  for (int s = 0; s < R; s += ac->chunk) {
    int n = R - s < ac->chunk ? R - s : ac->chunk;
    const int *ix = idx + s;
    for (int j = 0; j < n; j++) {
      memcpy(ac->mb_share + (size_t)j * ac->share_dim, b->share_obs + (size_t)ix[j] * ac->share_dim,
             sizeof(float) * ac->share_dim);
      ac->mb_t1[j] = v_old_n[ix[j]];
      ac->mb_t2[j] = ret_n[ix[j]];
    }
    mlp_forward(&c->net, c->theta, ac->mb_share, n, ac->mb_v);
    loss += n * ac_value_loss(ac->mb_v, ac->mb_t1, ac->mb_t2, n, ac->p.value_clip,
                              ac->p.huber_delta, ac->mb_dv);
    float scale = (float)n / (float)R;
    for (int j = 0; j < n; j++) ac->mb_dv[j] *= scale;
    mlp_backward(&c->net, c->theta, ac->mb_dv, c->grad, NULL);
  }
  adam_clip_global_norm(c->grad, c->net.n_params, ac->p.max_grad_norm);
  adam_step(&c->opt, c->theta, c->grad);
  return loss / R;
}

void ac_critics_update(ac_t *ac, const buf_t *buf, rng_t *rng, double *value_loss,
                       double *cost_value_loss) {
  ac->buf = buf;
  int N = ac->N;
  int nmb = ac->p.minibatches < N ? ac->p.minibatches : N;
  int R = N / nmb;
  double lv = 0, lc = 0;
  long long steps = 0;
  for (int ep = 0; ep < ac->p.epochs; ep++) {
    rng_permutation(rng, ac->perm, N);
    for (int m = 0; m < nmb; m++) {
      const int *idx = ac->perm + (size_t)m * R;
      lv += ac_critic_minibatch(ac, &ac->vr, ac->v_old_n, ac->ret_n, idx, R);
      if (ac->has_cost_critic)
        lc += ac_critic_minibatch(ac, &ac->vc, ac->vc_old_n, ac->cret_n, idx, R);
      steps++;
    }
  }
  *value_loss = steps ? lv / steps : 0;
  *cost_value_loss = steps ? lc / steps : 0;
}

// ---- state --------------------------------------------------------------------------------

static int ac_all_finite(const float *x, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1;
}

int ac_finite(const ac_t *ac) {
  for (int i = 0; i < ac->n_actors; i++)
    if (!ac_all_finite(ac->actors[i].theta, ac->actors[i].pol.n_params)) return 0;
  if (!ac_all_finite(ac->vr.theta, ac->vr.net.n_params)) return 0;
  if (ac->has_cost_critic && !ac_all_finite(ac->vc.theta, ac->vc.net.n_params)) return 0;
  return 1;
}

static int ac_critic_save(const ac_critic_t *c, ckpt_t *k) {
  int rc = ckpt_put(k, c->theta, sizeof(float) * c->net.n_params);
  if (!rc) rc = adam_save(&c->opt, k);
  if (!rc) rc = ckpt_put(k, &c->norm, sizeof c->norm);
  return rc;
}

static int ac_critic_load(ac_critic_t *c, ckpt_t *k) {
  int rc = ckpt_get(k, c->theta, sizeof(float) * c->net.n_params);
  if (!rc) rc = adam_load(&c->opt, k);
  if (!rc) rc = ckpt_get(k, &c->norm, sizeof c->norm);
  return rc;
}

int ac_save(const ac_t *ac, ckpt_t *k) {
  int rc = 0;
  for (int i = 0; i < ac->n_actors && !rc; i++) {
    rc = ckpt_put(k, ac->actors[i].theta, sizeof(float) * ac->actors[i].pol.n_params);
    if (!rc) rc = adam_save(&ac->actors[i].opt, k);
  }
  if (!rc) rc = ac_critic_save(&ac->vr, k);
  if (!rc && ac->has_cost_critic) rc = ac_critic_save(&ac->vc, k);
  return rc;
}

int ac_load(ac_t *ac, ckpt_t *k) {
  int rc = 0;
  for (int i = 0; i < ac->n_actors && !rc; i++) {
    rc = ckpt_get(k, ac->actors[i].theta, sizeof(float) * ac->actors[i].pol.n_params);
    if (!rc) rc = adam_load(&ac->actors[i].opt, k);
  }
  if (!rc) rc = ac_critic_load(&ac->vr, k);
  if (!rc && ac->has_cost_critic) rc = ac_critic_load(&ac->vc, k);
  return rc;
}

// ---- the actors' update, in the order the algorithm asks for -----------------------------

void ac_update_actors(ac_t *ac, const buf_t *buf, int sequential, ac_lagrange_t *lags,
                      rng_t *rng, ac_actor_stats_t *st) {
  memset(st, 0, sizeof *st);
  if (ac->p.share_params) {
    int rows = ac_gather_agent(ac, buf, -1);
    ac_actor_update(ac, 0, rows, NULL, lags ? &lags[0] : NULL, rng, st);
  } else if (!sequential) {
    for (int a = 0; a < ac->A; a++) {
      int rows = ac_gather_agent(ac, buf, a);
      ac_actor_update(ac, a, rows, NULL, lags ? &lags[a] : NULL, rng, st);
    }
  } else {
    // Heterogeneous-agent order: a fresh permutation; M carries the earlier agents' joint
    // new/old ratios (specs §1.8).
    int order[ENV_MAX_AGENTS];
    ac_agent_order(rng, ac->A, order);
    for (int i = 0; i < ac->N; i++) ac->M[i] = 1.0f;
    for (int h = 0; h < ac->A; h++) {
      int a = order[h];
      int rows = ac_gather_agent(ac, buf, a);
      ac_actor_update(ac, a, rows, ac->M, lags ? &lags[a] : NULL, rng, st);
      if (h + 1 < ac->A) {
        ac_actor_logp(ac, a, rows, ac->g_logp_new);
        ac_m_update(ac->M, ac->g_logp_new, ac->g_logp_old, rows);
      }
    }
  }
  if (st->steps) {
    st->policy_loss /= st->steps;
    st->entropy /= st->steps;
    st->approx_kl /= st->steps;
    st->clip_frac /= st->steps;
  }
}

// ---- algorithm-class entries shared by the plugins ----------------------------------------

int ac_algo_new(const char *name, size_t size, const env_spec_t *spec, const ac_params_t *p,
                const algo_run_info_t *run, int cost_critic, void **out) {
  ac_t *ac = err_calloc(1, size);
  if (!ac) return ERR_FAIL;
  int rc = ac_create(ac, name, spec, p, run, cost_critic);
  if (rc) {
    ac_algo_destroy(ac);
    return rc;
  }
  *out = ac;
  return 0;
}

void ac_algo_destroy(void *algo) {
  if (!algo) return;
  ac_destroy(algo);
  free(algo);
}

int ac_algo_save(void *algo, ckpt_t *k) {
  return ac_save(algo, k);
}

int ac_algo_load(void *algo, ckpt_t *k) {
  return ac_load(algo, k);
}

const char *const ac_ppo_stat_names[AC_PPO_STATS] = {"policy_loss", "value_loss", "entropy",
                                                     "approx_kl", "clip_frac"};

int ac_ppo_update(ac_t *ac, const char *name, buf_t *buf, int sequential, rng_t *rng,
                  double *stats) {
  ac_prepare(ac, buf);
  ac_actor_stats_t st;
  ac_update_actors(ac, buf, sequential, NULL, rng, &st);
  double lv, lc;
  ac_critics_update(ac, buf, rng, &lv, &lc);
  stats[0] = st.policy_loss;
  stats[1] = lv;
  stats[2] = st.entropy;
  stats[3] = st.approx_kl;
  stats[4] = st.clip_frac;
  if (!ac_finite(ac)) return err_fail("%s: diverged (non-finite parameters)", name);
  return 0;
}

// ---- trust-region helpers (macpo) ---------------------------------------------------------

int ac_tr_create(ac_tr_t *tr, ac_t *ac, double damping, int cost_m) {
  memset(tr, 0, sizeof *tr);
  tr->ac = ac;
  tr->damping = damping;
  tr->cost_m = cost_m;
  for (int i = 0; i < ac->n_actors; i++)
    if (ac->actors[i].pol.n_params > tr->n_max) tr->n_max = ac->actors[i].pol.n_params;
  size_t n = (size_t)tr->n_max;
  float **vecs[] = {&tr->theta_old, &tr->g, &tr->b, &tr->u, &tr->w, &tr->x, &tr->fvp_tmp};
  for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++)
    if (!(*vecs[i] = err_calloc(n, sizeof(float)))) return ERR_FAIL;
  tr->cg_work = err_calloc(3 * n, sizeof(float));
  tr->old_dist = err_calloc((size_t)ac->max_rows * ac->act_dim, sizeof(float));
  tr->old_log_std = err_calloc(ac->act_dim, sizeof(float));
  tr->idx = err_calloc(ac->max_rows, sizeof(int));
  if (!tr->cg_work || !tr->old_dist || !tr->old_log_std || !tr->idx) return ERR_FAIL;
  return 0;
}

void ac_tr_destroy(ac_tr_t *tr) {
  float *all[] = {tr->theta_old, tr->g,       tr->b,       tr->u,        tr->w,
                  tr->x,         tr->fvp_tmp, tr->cg_work, tr->old_dist, tr->old_log_std};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
  free(tr->idx);
  memset(tr, 0, sizeof *tr);
}

// Rows [s, s + n) of the minibatch into the ac_t's row scratch, and the actor's forward on them.
static void ac_tr_forward_chunk(ac_tr_t *tr, const float *theta, int s, int n) {
  ac_t *ac = tr->ac;
  int od, kd;
  ac_actor_dims(ac, &od, &kd);
  ac_gather_rows(ac, tr->mb + s, n, od, kd);
  pol_forward(&ac->actors[tr->actor].pol, theta, ac->mb_obs, n);
}

void ac_tr_begin(ac_tr_t *tr, int actor, const int *mb, int rows, const float *M) {
  ac_t *ac = tr->ac;
  ac_actor_t *act = &ac->actors[actor];
  int od, kd;
  ac_actor_dims(ac, &od, &kd);
  tr->actor = actor;
  tr->n = act->pol.n_params;
  tr->mb = mb;
  tr->rows = rows;
  tr->M = M;
  memcpy(tr->theta_old, act->theta, sizeof(float) * tr->n);
  memset(tr->g, 0, sizeof(float) * tr->n);
  memset(tr->b, 0, sizeof(float) * tr->n);
  double sr = 0, sc = 0;
  for (int s = 0; s < rows; s += ac->chunk) {
    int n = rows - s < ac->chunk ? rows - s : ac->chunk;
    ac_tr_forward_chunk(tr, act->theta, s, n);
    pol_save_dist(&act->pol, tr->old_dist + (size_t)s * kd, tr->old_log_std);
    pol_logp(&act->pol, ac->mb_act, ac->mb_logp);
    // dS/dlogp_j = r_j m_j A_j / rows (r' = r); the two cotangents of one forward.
    for (int j = 0; j < n; j++) {
      int i = mb[s + j];
      double r = exp((double)ac->mb_logp[j] - ac->g_logp_old[i]);
      double m = M ? M[i] : 1.0, mc = tr->cost_m ? m : 1.0;
      double term_r = r * m * ac->g_adv[i], term_c = r * mc * ac->g_adv_c[i];
      sr += term_r;
      sc += term_c;
      ac->mb_dlogp[j] = (float)(-term_r / rows);
      ac->mb_t1[j] = (float)(term_c / rows);
    }
    pol_backward(&act->pol, act->theta, ac->mb_act, ac->mb_dlogp, NULL, NULL, NULL, NULL, tr->g);
    pol_backward(&act->pol, act->theta, ac->mb_act, ac->mb_t1, NULL, NULL, NULL, NULL, tr->b);
  }
  tr->surr_r_old = sr / rows;
  tr->surr_c_old = sc / rows;
  tr->cached = rows <= ac->chunk;
}

void ac_tr_fvp(void *ctx, const float *v, float *out) {
  ac_tr_t *tr = ctx;
  ac_t *ac = tr->ac;
  pol_t *pol = &ac->actors[tr->actor].pol;
  int n = tr->n;
  if (tr->cached) {
    pol_fvp(pol, tr->theta_old, v, out);
  } else {
    // pol_fvp averages over its chunk; weight each chunk by its share of the minibatch.
    memset(out, 0, sizeof(float) * n);
    for (int s = 0; s < tr->rows; s += ac->chunk) {
      int rows = tr->rows - s < ac->chunk ? tr->rows - s : ac->chunk;
      ac_tr_forward_chunk(tr, tr->theta_old, s, rows);
      pol_fvp(pol, tr->theta_old, v, tr->fvp_tmp);
      float wgt = (float)rows / (float)tr->rows;
      for (int i = 0; i < n; i++) out[i] += wgt * tr->fvp_tmp[i];
    }
  }
  for (int i = 0; i < n; i++) out[i] += (float)tr->damping * v[i];
}

void ac_tr_eval(ac_tr_t *tr, double *surr_r, double *surr_c, double *kl) {
  ac_t *ac = tr->ac;
  ac_actor_t *act = &ac->actors[tr->actor];
  int od, kd;
  ac_actor_dims(ac, &od, &kd);
  double sr = 0, sc = 0, k = 0;
  for (int s = 0; s < tr->rows; s += ac->chunk) {
    int n = tr->rows - s < ac->chunk ? tr->rows - s : ac->chunk;
    ac_tr_forward_chunk(tr, act->theta, s, n);
    pol_logp(&act->pol, ac->mb_act, ac->mb_logp);
    pol_kl(&act->pol, tr->old_dist + (size_t)s * kd, tr->old_log_std, ac->mb_t2);
    for (int j = 0; j < n; j++) {
      int i = tr->mb[s + j];
      double r = exp((double)ac->mb_logp[j] - ac->g_logp_old[i]);
      double m = tr->M ? tr->M[i] : 1.0, mc = tr->cost_m ? m : 1.0;
      sr += r * m * ac->g_adv[i];
      sc += r * mc * ac->g_adv_c[i];
      k += ac->mb_t2[j];
    }
  }
  tr->cached = 0;  // the caches now hold another parameter point
  *surr_r = sr / tr->rows;
  *surr_c = sc / tr->rows;
  *kl = k / tr->rows;
}

static double ac_tr_dot(const float *a, const float *b, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
  return s;
}

void ac_tr_direction(cg_matvec_fn matvec, void *ctx, const float *g, const float *b, int n,
                     double c, double delta, int cg_iters, double norm_cap, float *u, float *w,
                     float *x, float *cg_work, ac_tr_dir_t *out) {
  cg_solve(matvec, ctx, g, n, cg_iters, 1e-10, u, cg_work);
  cg_solve(matvec, ctx, b, n, cg_iters, 1e-10, w, cg_work);
  out->q = ac_tr_dot(g, u, n);
  out->r = ac_tr_dot(g, w, n);
  out->s = ac_tr_dot(b, w, n);
  out->b_norm2 = ac_tr_dot(b, b, n);
  tr_cpo_dual(out->q, out->r, out->s, c, delta, out->b_norm2, &out->sol);
  tr_cpo_direction(&out->sol, u, w, n, x);
  // MACPO r_macpo.py: a direction longer than 0.5 is rescaled to 0.5 (specs §5 step 9).
  out->x_norm = sqrt(ac_tr_dot(x, x, n));
  out->capped = norm_cap > 0 && out->x_norm > norm_cap;
  if (out->capped) {
    double k = norm_cap / out->x_norm;
    for (int i = 0; i < n; i++) x[i] = (float)(k * x[i]);
  }
}

typedef struct {
  ac_tr_t *tr;
  int qp_case;
  double c, delta;
  ac_tr_ls_t *out;
} ac_tr_ls_ctx_t;

static int ac_tr_try_step(void *ctx, double frac) {
  ac_tr_ls_ctx_t *lc = ctx;
  ac_tr_t *tr = lc->tr;
  float *theta = tr->ac->actors[tr->actor].theta;
  for (int i = 0; i < tr->n; i++) theta[i] = tr->theta_old[i] - (float)frac * tr->x[i];
  double sr, sc, kl;
  ac_tr_eval(tr, &sr, &sc, &kl);
  lc->out->frac = frac;
  lc->out->kl = kl;
  lc->out->surr_r = sr;
  lc->out->surr_c = sc;
  int ok_kl = kl < lc->delta;
  int ok_loss = lc->qp_case <= 1 || -sr < -tr->surr_r_old;
  int ok_cost = sc - tr->surr_c_old <= fmax(-lc->c, 0.0);
  return ok_kl && ok_loss && ok_cost && isfinite(sr) && isfinite(sc) && isfinite(kl);
}

int ac_tr_line_search(ac_tr_t *tr, int qp_case, double c, double delta, double frac0, double decay,
                      int steps, ac_tr_ls_t *out) {
  ac_tr_ls_ctx_t lc = {tr, qp_case, c, delta, out};
  out->ls_step = cg_line_search(ac_tr_try_step, &lc, frac0, decay, steps);
  if (out->ls_step < 0) {
    memcpy(tr->ac->actors[tr->actor].theta, tr->theta_old, sizeof(float) * tr->n);
    out->frac = 0;
    out->kl = 0;
    out->surr_r = tr->surr_r_old;
    out->surr_c = tr->surr_c_old;
  }
  return out->ls_step;
}

// ---- joint-action cost critic (mappo_lag cost_critic: q) ----
// See actor_critic.h. The network and its loss reuse ac_mlp_config and ac_value_loss above, so
// the Q critic is built and trained exactly as the V critics, only on [s, a] instead of s.

int ac_qc_create(ac_qcritic_t *qc, const ac_params_t *p, int state_dim, int A, const int *act_dim,
                 int chunk, rng_t *init) {
  memset(qc, 0, sizeof *qc);
  qc->value_norm = p->value_norm;
  qc->A = A;
  qc->state_dim = state_dim;
  qc->chunk = chunk;
  int max_act = 0;
  for (int a = 0; a < A; a++) {
    qc->act_off[a] = state_dim + qc->joint_dim;
    qc->act_dim[a] = act_dim[a];
    qc->joint_dim += act_dim[a];
    if (act_dim[a] > max_act) max_act = act_dim[a];
  }
  qc->in_dim = state_dim + qc->joint_dim;
  mlp_config_t mc;
  ac_mlp_config(p, qc->in_dim, 1, 1.0f, &mc);
  int rc = mlp_create(&qc->net, &mc, chunk);
  if (rc) return rc;
  qc->theta = err_calloc(qc->net.n_params, sizeof(float));
  qc->grad = err_calloc(qc->net.n_params, sizeof(float));
  qc->cf_in = err_calloc((size_t)chunk * qc->in_dim, sizeof(float));
  qc->draw = err_calloc((size_t)chunk * (max_act > 0 ? max_act : 1), sizeof(float));
  qc->out = err_calloc(chunk, sizeof(float));
  qc->dq = err_calloc(chunk, sizeof(float));
  qc->acc = err_calloc(chunk, sizeof(float));
  qc->mb_old_n = err_calloc(chunk, sizeof(float));
  qc->mb_target_n = err_calloc(chunk, sizeof(float));
  if (!qc->theta || !qc->grad || !qc->cf_in || !qc->draw || !qc->out || !qc->dq || !qc->acc ||
      !qc->mb_old_n || !qc->mb_target_n)
    return ERR_FAIL;
  mlp_init(&qc->net, qc->theta, init);
  norm_ema_init(&qc->norm, 0.99999);
  return adam_create(&qc->opt, qc->net.n_params, (float)p->critic_lr, (float)p->adam_eps);
}

void ac_qc_destroy(ac_qcritic_t *qc) {
  mlp_destroy(&qc->net);
  adam_destroy(&qc->opt);
  float *all[] = {qc->theta, qc->grad, qc->cf_in,    qc->draw,       qc->out,
                  qc->dq,    qc->acc,  qc->mb_old_n, qc->mb_target_n};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
  memset(qc, 0, sizeof *qc);
}

static float ac_qc_clip1(float x) {
  return x < -1.0f ? -1.0f : (x > 1.0f ? 1.0f : x);
}

void ac_qc_set_action(const ac_qcritic_t *qc, int agent, const float *action, float *in) {
  float *dst = in + qc->act_off[agent];
  for (int k = 0; k < qc->act_dim[agent]; k++) dst[k] = ac_qc_clip1(action[k]);
}

void ac_qc_input(const ac_qcritic_t *qc, const float *state, const float *actions, int act_stride,
                 float *in) {
  memcpy(in, state, sizeof(float) * qc->state_dim);
  for (int a = 0; a < qc->A; a++) ac_qc_set_action(qc, a, actions + (size_t)a * act_stride, in);
}

void ac_qc_forward(ac_qcritic_t *qc, const float *theta, const float *in, int n, float *q_n) {
  mlp_forward(&qc->net, theta, in, n, q_n);
}

void ac_qc_eval(void *ctx, const float *in, int n, float *q) {
  ac_qcritic_t *qc = ctx;
  mlp_forward(&qc->net, qc->theta, in, n, q);
  if (qc->value_norm) norm_ema_denormalize(&qc->norm, q, n, q);
}

double ac_qc_loss(ac_qcritic_t *qc, const float *theta, const float *in, const float *q_old_n,
                  const float *target_n, int n, double eps, double delta, float weight,
                  float *grad) {
  mlp_forward(&qc->net, theta, in, n, qc->out);
  double loss = ac_value_loss(qc->out, q_old_n, target_n, n, eps, delta, qc->dq);
  if (grad) {
    for (int j = 0; j < n; j++) qc->dq[j] *= weight;
    mlp_backward(&qc->net, theta, qc->dq, grad, NULL);
  }
  return loss;
}

// One minibatch (rows idx[0..R)): the mean loss accumulated over chunks (each chunk's loss is a
// mean over its rows, weighted by its share of the minibatch), one clipped Adam step.
static double ac_qc_minibatch(ac_qcritic_t *qc, const float *in, const float *q_old_n,
                              const float *target_n, const int *idx, int R, const ac_params_t *p) {
  double loss = 0;
  memset(qc->grad, 0, sizeof(float) * qc->net.n_params);
  for (int s = 0; s < R; s += qc->chunk) {
    int n = R - s < qc->chunk ? R - s : qc->chunk;
    for (int j = 0; j < n; j++) {
      int i = idx[s + j];
      memcpy(qc->cf_in + (size_t)j * qc->in_dim, in + (size_t)i * qc->in_dim,
             sizeof(float) * qc->in_dim);
      qc->mb_old_n[j] = q_old_n[i];
      qc->mb_target_n[j] = target_n[i];
    }
    loss += n * ac_qc_loss(qc, qc->theta, qc->cf_in, qc->mb_old_n, qc->mb_target_n, n,
                           p->value_clip, p->huber_delta, (float)n / (float)R, qc->grad);
  }
  adam_clip_global_norm(qc->grad, qc->net.n_params, p->max_grad_norm);
  adam_step(&qc->opt, qc->theta, qc->grad);
  return loss / R;
}

double ac_qc_train(ac_qcritic_t *qc, const float *in, const float *q_old_n, const float *target_n,
                   int N, const ac_params_t *p, rng_t *rng, int *perm) {
  int nmb = p->minibatches < N ? p->minibatches : N;
  int R = N / nmb;
  double loss = 0;
  long long steps = 0;
  for (int ep = 0; ep < p->epochs; ep++) {
    rng_permutation(rng, perm, N);
    for (int m = 0; m < nmb; m++) {
      loss += ac_qc_minibatch(qc, in, q_old_n, target_n, perm + (size_t)m * R, R, p);
      steps++;
    }
  }
  return steps ? loss / steps : 0;
}

void ac_qc_baseline(ac_qcritic_t *qc, const pol_t *pol, int agent, const float *in, int n, int K,
                    rng_t *rng, ac_q_fn q, void *ctx, float *baseline) {
  int kd = qc->act_dim[agent];
  memcpy(qc->cf_in, in, sizeof(float) * (size_t)n * qc->in_dim);
  memset(qc->acc, 0, sizeof(float) * n);
  for (int k = 0; k < K; k++) {
    pol_sample(pol, rng, qc->draw, NULL);
    for (int j = 0; j < n; j++)
      ac_qc_set_action(qc, agent, qc->draw + (size_t)j * kd, qc->cf_in + (size_t)j * qc->in_dim);
    q(ctx, qc->cf_in, n, qc->out);
    for (int j = 0; j < n; j++) qc->acc[j] += qc->out[j];
  }
  for (int j = 0; j < n; j++) baseline[j] = qc->acc[j] / (float)K;
}

void ac_qc_hinge(const float *q, int n, double threshold, double scale, float *out) {
  for (int j = 0; j < n; j++) {
    double over = (double)q[j] - threshold;
    out[j] = over > 0 ? (float)(over * scale) : 0.0f;
  }
}

double ac_qc_threshold(double cost_limit, int episode_length, double gamma,
                       int proper_time_limits) {
  double rate = cost_limit / episode_length;
  if (proper_time_limits) return rate / (1.0 - gamma);
  return rate * (1.0 - pow(gamma, episode_length)) / (1.0 - gamma);
}

int ac_qc_save(const ac_qcritic_t *qc, ckpt_t *k) {
  int rc = ckpt_put(k, qc->theta, sizeof(float) * qc->net.n_params);
  if (!rc) rc = adam_save(&qc->opt, k);
  if (!rc) rc = ckpt_put(k, &qc->norm, sizeof qc->norm);
  return rc;
}

int ac_qc_load(ac_qcritic_t *qc, ckpt_t *k) {
  int rc = ckpt_get(k, qc->theta, sizeof(float) * qc->net.n_params);
  if (!rc) rc = adam_load(&qc->opt, k);
  if (!rc) rc = ckpt_get(k, &qc->norm, sizeof qc->norm);
  return rc;
}
