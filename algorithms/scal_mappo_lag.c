// scal_mappo_lag: Scal-MAPPO-L (Zhang, Li, Wei, Song, Yang, Liang, NeurIPS 2024; specs/
// algorithms.md §10, §12.2, §14; seed 003): MAPPO-L (§4, mappo_lag.c) with kappa-hop
// truncation. Every agent i owns an actor, a reward critic and a cost critic, all reading only
// its kappa-hop local state, no parameter sharing; its advantages are GAE on its own critics
// (truncated advantages); per-agent multipliers take the MAPPO-L step; agents update one after
// another in a fresh random order with the M correction. Owns no shared machinery: networks,
// losses and the M update come from policy.h, core/ and actor_critic.h's pure functions; the
// graph and lane arithmetic from khop.h. No public code exists (§0); the paper is silent or
// unclear on the points below (§10, §14), decided here:
// * Local state s_{N_i^kappa} = agent i's `obs: obsk` observation with env.obs_k = kappa (the
//   joints within kappa hops of its own on the MAMuJoCo joint graph, plus the robot's safety
//   features). Actor and both critics take this same input, as §10 says of the practical
//   algorithm ("all taking the kappa-hop state"). Not chosen: critics on the concatenated
//   observations of N_i^kappa, which with obs_k = kappa would see 2 kappa hops (each obsk
//   observation already covers obs_k hops) and otherwise needs obs_k = 0, giving the actor a
//   0-hop input while its critics see kappa hops. create requires env.obs = obsk and
//   env.obs_k = algo.kappa (env_spec_t.obs_local / obs_k). With one actuator per agent (6x1,
//   8x1, 12x1: the paper's kappa sweeps) joint hops are agent hops; with several, the
//   observation holds a subset of N_i^kappa's joints (each observed joint belongs to an agent
//   within kappa hops on spec.adjacency, which is built from the same hyperedges). As in
//   MAMuJoCo, hops >= 1 contribute qpos only and no obsk observation holds the torso state.
// * Truncated advantages: the rollout stores agent i's own critics' values in its lane of the
//   [T][E][A] buffer, so GAE per lane (buf_compute_advantages) is A^i(s_{N_i^kappa}); each
//   lane is standardised over its T*E rows (§1.7), reward and cost alike.
// * Lagrangian advantage A^i - lambda_i A^i_c (MAPPO-L form). Eq. 17-18's d^i_u term enters
//   only the multiplier step as (1-gamma)(J_c - d) (§10's inference), not the clipped
//   surrogate; lambda_i <- max(0, lambda_i + lambda_lr ((1-gamma)(J_c - d) + mean(r A^i_c)))
//   once per actor minibatch with the pre-step ratio (§4). One constraint per agent on the
//   team cost: Safe MAMuJoCo's cost is shared, so J^i = J_c, the mean episodic team cost of
//   the episodes that ended in this rollout (kept when none ended; 0 at first), as mappo_lag.
// * M (§14: unknown whether it spans all earlier agents): `m_scope: neighbours` (default)
//   multiplies only the ratios of earlier agents within kappa hops of i on spec.adjacency:
//   under the truncation no other agent's action enters A^i, and it keeps training local
//   (the poster's "decentralized training with local interactions"). `m_scope: all` is
//   HAPPO/MAPPO-L's product over every earlier agent. kappa >= the agent graph's diameter
//   makes the two identical.
// * kappa default 3: §12.2 / the poster find kappa = 1 worst and kappa >= 3 near MAPPO-L.
// * Everything else as mappo_lag (§10: "same network structure and common hyperparameters as
//   MAPPO-L"): joint ratios, per-critic value normalisers, symmetric Huber, lambda_init 0.78,
//   lambda_lr 0.05; critics train after all actors, agent by agent. share_params is refused.
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/actor_critic.h"
#include "algorithms/critic.h"
#include "algorithms/khop.h"
#include "core/buffer.h"
#include "core/err.h"

#define SML_CHUNK 512  // rows per network pass (as actor_critic.c's AC_CHUNK)

typedef struct {
  ac_params_t ac;
  int kappa;
  double lambda_init, lambda_lr, cost_margin;
  char m_scope[CFG_STR_MAX];
  char constraint_scale[CFG_STR_MAX];
} sml_params_t;

#define P(k, t, f, d, h, lo, hi) \
  { k, t, offsetof(sml_params_t, f), d, h, NULL, lo, hi }
static const cfg_param_t sml_param_table[] = {
    AC_COMMON_PARAMS(sml_params_t, "false", "5e-4", "5", "1"),
    P("kappa", CFG_INT, kappa, "3",
      "hops of each agent's neighbourhood (actor and critics read its obsk observation: must "
      "equal env.obs_k)",
      0, 16),
    P("lambda_init", CFG_FLOAT, lambda_init, "0.78", "initial multiplier of every agent", 0, 1e6),
    P("lambda_lr", CFG_FLOAT, lambda_lr, "0.05", "multiplier step size per actor minibatch", 0,
      1e6),
    {"m_scope", CFG_STRING, offsetof(sml_params_t, m_scope), "neighbours",
     "earlier agents whose ratios enter an agent's M: those within kappa hops, or all (HAPPO)",
     "neighbours|all", 1, 0},
    {"constraint_scale", CFG_STRING, offsetof(sml_params_t, constraint_scale), "one_minus_gamma",
     "factor on J_c - d in the multiplier step", "one_minus_gamma|none", 1, 0},
    AC_COST_MARGIN_PARAM(sml_params_t),
};
#undef P

static const char *const sml_stats[] = {"lambda",      "lambda_max", "jc",
                                        "policy_loss", "value_loss", "cost_value_loss",
                                        "entropy",     "approx_kl",  "clip_frac"};

// One of an agent's critics: parameters, optimiser, normaliser of its targets. The network
// shape (and its activation caches) is the agent's `cnet`, shared by its two critics.
typedef struct {
  float *theta, *grad;
  adam_t opt;
  norm_ema_t norm;
} sml_critic_t;

typedef struct {
  sml_params_t p;
  int A, N, chunk;
  int obs_stride, act_stride;  // buffer strides (max over agents)
  int obs_dim[ENV_MAX_AGENTS], act_dim[ENV_MAX_AGENTS];
  khop_adj_t scope;  // scope[i][j]: agent j's ratio may enter agent i's M
  double cost_limit, jc;
  float lambda[ENV_MAX_AGENTS];
  ac_actor_t actor[ENV_MAX_AGENTS];
  mlp_t cnet[ENV_MAX_AGENTS];
  sml_critic_t vr[ENV_MAX_AGENTS], vc[ENV_MAX_AGENTS];
  // Update scratch: [A][N] log-probs before / after each agent's update; [N] per-agent rows.
  float *logp_old, *logp_new;
  float *adv, *adv_c, *M, *v_old_n, *ret_n, *cv_old_n, *cret_n;
  int *perm;
  // Chunk scratch ([chunk] rows).
  float *c_obs, *c_act, *c_logp, *c_logp_old, *c_adv, *c_adv_c, *c_M, *c_dlogp, *c_dent, *c_ent,
      *c_ratio, *c_v, *c_dv, *c_t1, *c_t2;
} sml_t;

typedef struct {
  double policy_loss, entropy, approx_kl, clip_frac;
  long long steps;
} sml_actor_stats_t;

// ---- construction ---------------------------------------------------------------------------

static void sml_destroy(void *algo) {
  sml_t *s = algo;
  if (!s) return;
  for (int a = 0; a < ENV_MAX_AGENTS; a++) {
    pol_destroy(&s->actor[a].pol);
    adam_destroy(&s->actor[a].opt);
    free(s->actor[a].theta);
    free(s->actor[a].grad);
    mlp_destroy(&s->cnet[a]);
    sml_critic_t *c[2] = {&s->vr[a], &s->vc[a]};
    for (int k = 0; k < 2; k++) {
      adam_destroy(&c[k]->opt);
      free(c[k]->theta);
      free(c[k]->grad);
    }
  }
  float *all[] = {s->logp_old,   s->logp_new, s->adv,     s->adv_c, s->M,       s->v_old_n,
                  s->ret_n,      s->cv_old_n, s->cret_n,  s->c_obs, s->c_act,   s->c_logp,
                  s->c_logp_old, s->c_adv,    s->c_adv_c, s->c_M,   s->c_dlogp, s->c_dent,
                  s->c_ent,      s->c_ratio,  s->c_v,     s->c_dv,  s->c_t1,    s->c_t2};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
  free(s->perm);
  free(s);
}

// The critic body of actor_critic.h (same MLP, output gain 1) on the agent's observation.
static int sml_cnet_create(mlp_t *net, const ac_params_t *p, int obs_dim, int chunk) {
  mlp_config_t mc;
  ac_mlp_config(p, obs_dim, 1, 1.0f, &mc);
  return mlp_create(net, &mc, chunk);
}

static int sml_critic_create(sml_critic_t *c, const mlp_t *net, const ac_params_t *p, rng_t *rng) {
  c->theta = err_calloc((size_t)net->n_params, sizeof(float));
  c->grad = err_calloc((size_t)net->n_params, sizeof(float));
  if (!c->theta || !c->grad) return ERR_FAIL;
  mlp_init(net, c->theta, rng);
  norm_ema_init(&c->norm, 0.99999);
  return adam_create(&c->opt, net->n_params, (float)p->critic_lr, (float)p->adam_eps);
}

// The env must give kappa-hop observations: ERR_INPUT naming the keys otherwise.
static int sml_check_spec(const env_spec_t *spec, const sml_params_t *p) {
  if (spec->discrete)
    return err_input(
        "scal_mappo_lag: env %s has discrete actions; this algorithm needs "
        "continuous ones",
        spec->name);
  if (p->ac.share_params)
    return err_input(
        "algo.share_params: scal_mappo_lag gives every agent its own actor and "
        "critics (no parameter sharing); set it to false");
  if (!spec->obs_local)
    return err_input(
        "env.obs: scal_mappo_lag's agents observe only their kappa-hop "
        "neighbourhood (algo.kappa %d), but env %s gives global observations; set "
        "env.obs=obsk env.obs_k=%d",
        p->kappa, spec->name, p->kappa);
  if (spec->obs_k != p->kappa)
    return err_input(
        "algo.kappa: %d differs from env.obs_k %d (actor and critics read the "
        "agent's obsk observation, which covers env.obs_k hops); set env.obs_k=%d "
        "or algo.kappa=%d",
        p->kappa, spec->obs_k, p->kappa, spec->obs_k);
  return ERR_OK;
}

static int sml_create(const env_spec_t *spec, const void *params, const algo_run_info_t *run,
                      void **out) {
  const sml_params_t *p = params;
  int rc = sml_check_spec(spec, p);
  if (rc) return rc;
  sml_t *s = err_calloc(1, sizeof *s);
  if (!s) return ERR_FAIL;
  s->p = *p;
  s->A = spec->n_agents;
  s->N = run->T * run->E;
  s->chunk = SML_CHUNK;
  s->obs_stride = spec->max_obs_dim;
  s->act_stride = spec->max_act_dim;
  s->cost_limit = ac_cost_target(run->cost_limit, p->cost_margin);  // actor_critic.h
  s->jc = 0;
  for (int a = 0; a < s->A; a++) {
    s->obs_dim[a] = spec->obs_dim[a];
    s->act_dim[a] = spec->act_dim[a];
  }
  for (int a = 0; a < ENV_MAX_AGENTS; a++) s->lambda[a] = (float)p->lambda_init;
  if (strcmp(p->m_scope, "all") == 0) {
    memset(s->scope, 1, sizeof s->scope);
  } else {
    khop_scope(spec->adjacency, s->A, p->kappa, s->scope);
  }
  // Named stream: network initialisation depends on nothing else. Actors first, then each
  // agent's reward and cost critic.
  rng_t init;
  rng_stream(&init, run->seed, "init", 0);
  for (int a = 0; a < s->A && !rc; a++)
    rc = ac_actor_create(&s->actor[a], &p->ac, s->obs_dim[a], s->act_dim[a], s->chunk, &init);
  for (int a = 0; a < s->A && !rc; a++) {
    rc = sml_cnet_create(&s->cnet[a], &p->ac, s->obs_dim[a], s->chunk);
    if (!rc) rc = sml_critic_create(&s->vr[a], &s->cnet[a], &p->ac, &init);
    if (!rc) rc = sml_critic_create(&s->vc[a], &s->cnet[a], &p->ac, &init);
  }
  if (!rc) {
    size_t N = (size_t)s->N, AN = N * (size_t)s->A, C = (size_t)s->chunk;
    float **an[] = {&s->logp_old, &s->logp_new};
    for (size_t i = 0; i < 2 && !rc; i++)
      if (!(*an[i] = err_calloc(AN, sizeof(float)))) rc = ERR_FAIL;
    float **rows[] = {&s->adv, &s->adv_c, &s->M, &s->v_old_n, &s->ret_n, &s->cv_old_n, &s->cret_n};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0] && !rc; i++)
      if (!(*rows[i] = err_calloc(N, sizeof(float)))) rc = ERR_FAIL;
    float **chunk[] = {&s->c_logp,  &s->c_logp_old, &s->c_adv, &s->c_adv_c, &s->c_M,
                       &s->c_dlogp, &s->c_dent,     &s->c_ent, &s->c_ratio, &s->c_v,
                       &s->c_dv,    &s->c_t1,       &s->c_t2};
    for (size_t i = 0; i < sizeof chunk / sizeof chunk[0] && !rc; i++)
      if (!(*chunk[i] = err_calloc(C, sizeof(float)))) rc = ERR_FAIL;
    if (!rc) {
      s->c_obs = err_calloc(C * (size_t)s->obs_stride, sizeof(float));
      s->c_act = err_calloc(C * (size_t)s->act_stride, sizeof(float));
      s->perm = err_calloc(N, sizeof(int));
      if (!s->c_obs || !s->c_act || !s->perm) rc = ERR_FAIL;
    }
  }
  if (rc) {
    sml_destroy(s);
    return rc;
  }
  *out = s;
  return ERR_OK;
}

// ---- acting ---------------------------------------------------------------------------------

// Agent a's observations of copies e0..e0+n-1 of an [E][A][obs_stride] block into c_obs.
static void sml_gather_obs(sml_t *s, const float *obs, int a, int e0, int n) {
  int od = s->obs_dim[a];
  for (int j = 0; j < n; j++)
    memcpy(s->c_obs + (size_t)j * od, obs + ((size_t)(e0 + j) * s->A + a) * s->obs_stride,
           sizeof(float) * od);
}

// De-normalised value of one critic on the n gathered rows into out[j * A + a].
static void sml_critic_values(sml_t *s, int a, sml_critic_t *c, int n, float *out) {
  mlp_forward(&s->cnet[a], c->theta, s->c_obs, n, s->c_v);
  if (s->p.ac.value_norm) norm_ema_denormalize(&c->norm, s->c_v, n, s->c_v);
  for (int j = 0; j < n; j++) out[(size_t)j * s->A + a] = s->c_v[j];
}

// Every agent's policy (sample with rng, mean without) and/or its local critics' values.
static void sml_forward(sml_t *s, const float *obs, int E, rng_t *rng, float *actions, float *logp,
                        float *values, float *cost_values) {
  int A = s->A, K = s->act_stride;
  for (int a = 0; a < A; a++) {
    ac_actor_t *act = &s->actor[a];
    int kd = s->act_dim[a];
    for (int e0 = 0; e0 < E; e0 += s->chunk) {
      int n = E - e0 < s->chunk ? E - e0 : s->chunk;
      sml_gather_obs(s, obs, a, e0, n);
      if (actions) {
        pol_forward(&act->pol, act->theta, s->c_obs, n);
        if (rng)
          pol_sample(&act->pol, rng, s->c_act, s->c_logp);
        else
          pol_mode(&act->pol, s->c_act);
        for (int j = 0; j < n; j++) {
          float *dst = actions + ((size_t)(e0 + j) * A + a) * K;
          memcpy(dst, s->c_act + (size_t)j * kd, sizeof(float) * kd);
          for (int k = kd; k < K; k++) dst[k] = 0;
          if (rng) logp[(size_t)(e0 + j) * A + a] = s->c_logp[j];
        }
      }
      if (values) {
        sml_critic_values(s, a, &s->vr[a], n, values + (size_t)e0 * A);
        sml_critic_values(s, a, &s->vc[a], n, cost_values + (size_t)e0 * A);
      }
    }
  }
}

static void sml_act(void *algo, const float *obs, const float *share_obs, int E, rng_t *rng,
                    float *actions, float *logp, float *values, float *cost_values) {
  (void)share_obs;  // local critics: the centralised state is never read
  sml_forward(algo, obs, E, rng, actions, logp, values, cost_values);
}

static void sml_act_deterministic(void *algo, const float *obs, const float *share_obs, int E,
                                  float *actions) {
  (void)share_obs;
  sml_forward(algo, obs, E, NULL, actions, NULL, NULL, NULL);
}

static void sml_values(void *algo, const float *obs, const float *share_obs, int E, float *values,
                       float *cost_values) {
  (void)share_obs;
  sml_forward(algo, obs, E, NULL, NULL, NULL, values, cost_values);
}

// ---- update ---------------------------------------------------------------------------------

// Agent a's observations and actions of buffer rows idx[0..n) (rows n = t * E + e) into
// c_obs [n][od] and c_act [n][kd]: read in place from the buffer, one chunk at a time.
static void sml_gather_rows(sml_t *s, const buf_t *b, int a, const int *idx, int n) {
  int od = s->obs_dim[a], kd = s->act_dim[a];
  for (int j = 0; j < n; j++) {
    size_t i = (size_t)idx[j] * s->A + a;
    memcpy(s->c_obs + (size_t)j * od, b->obs + i * b->obs_dim, sizeof(float) * od);
    memcpy(s->c_act + (size_t)j * kd, b->actions + i * b->act_dim, sizeof(float) * kd);
  }
}

// One minibatch (rows idx[0..R)) of agent a's clipped surrogate on A - lambda_a A_c, weighted
// by M: the gradient accumulated over chunks, one clipped Adam step, then the multiplier step
// with the pre-step ratios (the chunked form of ac_lambda_grad).
static void sml_actor_minibatch(sml_t *s, const buf_t *b, int a, const int *idx, int R,
                                double constraint_term, sml_actor_stats_t *st) {
  ac_actor_t *act = &s->actor[a];
  const float *logp_old = s->logp_old + (size_t)a * s->N;
  int kd = s->act_dim[a];
  float lambda = s->lambda[a];
  double ent_w = s->p.ac.entropy_coef / ((double)R * kd);
  double loss = 0, rac = 0, kl = 0, ent = 0;
  int n_clip = 0;
  memset(act->grad, 0, sizeof(float) * act->pol.n_params);
  for (int s0 = 0; s0 < R; s0 += s->chunk) {
    int n = R - s0 < s->chunk ? R - s0 : s->chunk;
    const int *ix = idx + s0;
    sml_gather_rows(s, b, a, ix, n);
    for (int j = 0; j < n; j++) {
      s->c_logp_old[j] = logp_old[ix[j]];
      s->c_adv[j] = s->adv[ix[j]];
      s->c_adv_c[j] = s->adv_c[ix[j]];
      s->c_M[j] = s->M[ix[j]];
    }
    ac_lagrangian_advantage(s->c_adv, s->c_adv_c, lambda, n, s->c_adv);
    pol_forward(&act->pol, act->theta, s->c_obs, n);
    pol_logp(&act->pol, s->c_act, s->c_logp);
    int nc = 0;
    // ac_surrogate averages over its n rows; rescale to the minibatch mean.
    loss += n * ac_surrogate(s->c_logp, s->c_logp_old, s->c_adv, s->c_M, n, s->p.ac.clip,
                             s->c_dlogp, s->c_ratio, &nc);
    n_clip += nc;
    float scale = (float)n / (float)R;
    for (int j = 0; j < n; j++) {
      s->c_dlogp[j] *= scale;
      s->c_dent[j] = (float)-ent_w;
      rac += (double)s->c_ratio[j] * s->c_adv_c[j];
      kl += (double)s->c_logp_old[j] - s->c_logp[j];
    }
    pol_entropy(&act->pol, s->c_ent);
    ent += (double)s->c_ent[0] * n / kd;
    pol_backward(&act->pol, act->theta, s->c_act, s->c_dlogp,
                 s->p.ac.entropy_coef > 0 ? s->c_dent : NULL, NULL, NULL, NULL, act->grad);
  }
  loss /= R;
  adam_clip_global_norm(act->grad, act->pol.n_params, s->p.ac.max_grad_norm);
  adam_step(&act->opt, act->theta, act->grad);
  // MAPPO-L multiplier step (§4): ac_lambda_grad's constraint_term + mean(r A_c).
  double next = s->lambda[a] + s->p.lambda_lr * (constraint_term + rac / R);
  s->lambda[a] = (float)(next > 0 ? next : 0);
  st->policy_loss += loss - s->p.ac.entropy_coef * ent / R;
  st->entropy += ent / R;
  st->approx_kl += kl / R;
  st->clip_frac += (double)n_clip / R;
  st->steps++;
}

// Agent a's log-probabilities of its buffer actions under its current actor, [N] rows.
static void sml_actor_logp(sml_t *s, const buf_t *b, int a, float *logp) {
  ac_actor_t *act = &s->actor[a];
  for (int s0 = 0; s0 < s->N; s0 += s->chunk) {
    int n = s->N - s0 < s->chunk ? s->N - s0 : s->chunk;
    for (int j = 0; j < n; j++) s->perm[j] = s0 + j;
    sml_gather_rows(s, b, a, s->perm, n);
    pol_forward(&act->pol, act->theta, s->c_obs, n);
    pol_logp(&act->pol, s->c_act, logp + s0);
  }
}

// The actors, one after another in a fresh random order; agent order[h]'s surrogate is
// weighted by M, the product of the new/old ratios of the earlier agents in its scope.
static void sml_update_actors(sml_t *s, const buf_t *b, double constraint_term, rng_t *rng,
                              sml_actor_stats_t *st) {
  int A = s->A, N = s->N, order[ENV_MAX_AGENTS];
  memset(st, 0, sizeof *st);
  for (int a = 0; a < A; a++) khop_lane(b->logp, N, A, a, s->logp_old + (size_t)a * N);
  ac_agent_order(rng, A, order);
  int nmb = s->p.ac.minibatches < N ? s->p.ac.minibatches : N;
  int R = N / nmb;
  for (int h = 0; h < A; h++) {
    int a = order[h];
    khop_m_factor(s->logp_new, s->logp_old, N, order, h, s->scope[a], s->M);
    // Agent a's truncated advantages: its own lane, standardised over its rows (§1.7).
    khop_lane(b->adv, N, A, a, s->adv);
    khop_lane(b->cost_adv, N, A, a, s->adv_c);
    buf_standardize(s->adv, N, 1, 1e-5f);
    buf_standardize(s->adv_c, N, 1, 1e-5f);
    for (int ep = 0; ep < s->p.ac.epochs; ep++) {
      rng_permutation(rng, s->perm, N);
      // perm is reused as row scratch by sml_actor_logp only after the epochs.
      for (int m = 0; m < nmb; m++)
        sml_actor_minibatch(s, b, a, s->perm + (size_t)m * R, R, constraint_term, st);
    }
    if (h + 1 < A) sml_actor_logp(s, b, a, s->logp_new + (size_t)a * N);
  }
  if (st->steps) {
    st->policy_loss /= st->steps;
    st->entropy /= st->steps;
    st->approx_kl /= st->steps;
    st->clip_frac /= st->steps;
  }
}

// Old predictions and targets of one of agent a's critics in its normalised space; the
// normaliser takes the batch's returns before the targets are normalised (the released order).
static void sml_critic_targets(sml_t *s, sml_critic_t *c, const float *values, const float *ret,
                               int a, float *v_old_n, float *ret_n) {
  khop_lane(values, s->N, s->A, a, v_old_n);
  khop_lane(ret, s->N, s->A, a, ret_n);
  if (!s->p.ac.value_norm) return;
  norm_ema_normalize(&c->norm, v_old_n, s->N, v_old_n);
  norm_ema_update(&c->norm, ret_n, s->N);
  norm_ema_normalize(&c->norm, ret_n, s->N, ret_n);
}

// One minibatch step of one of agent a's critics (clipped Huber, ac_value_loss).
static double sml_critic_minibatch(sml_t *s, const buf_t *b, int a, sml_critic_t *c,
                                   const float *v_old_n, const float *ret_n, const int *idx,
                                   int R) {
  mlp_t *net = &s->cnet[a];
  int od = s->obs_dim[a];
  double loss = 0;
  memset(c->grad, 0, sizeof(float) * net->n_params);
  for (int s0 = 0; s0 < R; s0 += s->chunk) {
    int n = R - s0 < s->chunk ? R - s0 : s->chunk;
    const int *ix = idx + s0;
    for (int j = 0; j < n; j++) {
      memcpy(s->c_obs + (size_t)j * od, b->obs + ((size_t)ix[j] * s->A + a) * b->obs_dim,
             sizeof(float) * od);
      s->c_t1[j] = v_old_n[ix[j]];
      s->c_t2[j] = ret_n[ix[j]];
    }
    mlp_forward(net, c->theta, s->c_obs, n, s->c_v);
    loss += n * ac_value_loss(s->c_v, s->c_t1, s->c_t2, n, s->p.ac.value_clip, s->p.ac.huber_delta,
                              s->c_dv);
    float scale = (float)n / (float)R;
    for (int j = 0; j < n; j++) s->c_dv[j] *= scale;
    mlp_backward(net, c->theta, s->c_dv, c->grad, NULL);
  }
  adam_clip_global_norm(c->grad, net->n_params, s->p.ac.max_grad_norm);
  adam_step(&c->opt, c->theta, c->grad);
  return loss / R;
}

// Every agent's local reward and cost critic, agent by agent. Returns the mean losses.
static void sml_update_critics(sml_t *s, const buf_t *b, rng_t *rng, double *value_loss,
                               double *cost_value_loss) {
  int N = s->N;
  int nmb = s->p.ac.minibatches < N ? s->p.ac.minibatches : N;
  int R = N / nmb;
  double lv = 0, lc = 0;
  long long steps = 0;
  for (int a = 0; a < s->A; a++) {
    sml_critic_targets(s, &s->vr[a], b->values, b->ret, a, s->v_old_n, s->ret_n);
    sml_critic_targets(s, &s->vc[a], b->cost_values, b->cost_ret, a, s->cv_old_n, s->cret_n);
    for (int ep = 0; ep < s->p.ac.epochs; ep++) {
      rng_permutation(rng, s->perm, N);
      for (int m = 0; m < nmb; m++) {
        const int *idx = s->perm + (size_t)m * R;
        lv += sml_critic_minibatch(s, b, a, &s->vr[a], s->v_old_n, s->ret_n, idx, R);
        lc += sml_critic_minibatch(s, b, a, &s->vc[a], s->cv_old_n, s->cret_n, idx, R);
        steps++;
      }
    }
  }
  *value_loss = steps ? lv / steps : 0;
  *cost_value_loss = steps ? lc / steps : 0;
}

static int sml_all_finite(const float *x, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1;
}

static int sml_finite(const sml_t *s) {
  for (int a = 0; a < s->A; a++) {
    int nc = s->cnet[a].n_params;
    if (!isfinite(s->lambda[a]) || !sml_all_finite(s->actor[a].theta, s->actor[a].pol.n_params) ||
        !sml_all_finite(s->vr[a].theta, nc) || !sml_all_finite(s->vc[a].theta, nc))
      return 0;
  }
  return 1;
}

static int sml_update(void *algo, buf_t *buf, const algo_rollout_info_t *info, rng_t *rng,
                      double *stats) {
  sml_t *s = algo;
  const ac_params_t *p = &s->p.ac;
  if (info->n_episodes > 0) {
    double sum = 0;
    for (int i = 0; i < info->n_episodes; i++) sum += info->ep_costs[i];
    s->jc = sum / info->n_episodes;
  }
  double scale = strcmp(s->p.constraint_scale, "none") == 0 ? 1.0 : 1.0 - p->gamma;
  // Per-lane GAE: lane (e, a) holds agent a's own local critics' values (truncated advantages).
  float g = (float)p->gamma, l = (float)p->lam;
  buf_compute_advantages(buf, g, l, g, l, p->proper_time_limits);
  sml_actor_stats_t st;
  sml_update_actors(s, buf, scale * (s->jc - s->cost_limit), rng, &st);
  double lv, lc;
  sml_update_critics(s, buf, rng, &lv, &lc);
  double lsum = 0, lmax = 0;
  for (int a = 0; a < s->A; a++) {
    lsum += s->lambda[a];
    if (s->lambda[a] > lmax) lmax = s->lambda[a];
  }
  double row[] = {lsum / s->A, lmax,       s->jc,        st.policy_loss, lv,
                  lc,          st.entropy, st.approx_kl, st.clip_frac};
  memcpy(stats, row, sizeof row);
  if (!sml_finite(s)) return err_fail("scal_mappo_lag: diverged (non-finite parameters)");
  return 0;
}

// ---- state ----------------------------------------------------------------------------------

static int sml_critic_save(const sml_critic_t *c, int n, ckpt_t *k) {
  int rc = ckpt_put(k, c->theta, sizeof(float) * (size_t)n);
  if (!rc) rc = adam_save(&c->opt, k);
  if (!rc) rc = ckpt_put(k, &c->norm, sizeof c->norm);
  return rc;
}

static int sml_critic_load(sml_critic_t *c, int n, ckpt_t *k) {
  int rc = ckpt_get(k, c->theta, sizeof(float) * (size_t)n);
  if (!rc) rc = adam_load(&c->opt, k);
  if (!rc) rc = ckpt_get(k, &c->norm, sizeof c->norm);
  return rc;
}

// Per agent: actor parameters and Adam moments, then its reward and cost critics (parameters,
// Adam, normaliser); then the multipliers and J_c.
static int sml_save(void *algo, ckpt_t *k) {
  sml_t *s = algo;
  int rc = 0;
  for (int a = 0; a < s->A && !rc; a++) {
    rc = ckpt_put(k, s->actor[a].theta, sizeof(float) * (size_t)s->actor[a].pol.n_params);
    if (!rc) rc = adam_save(&s->actor[a].opt, k);
    if (!rc) rc = sml_critic_save(&s->vr[a], s->cnet[a].n_params, k);
    if (!rc) rc = sml_critic_save(&s->vc[a], s->cnet[a].n_params, k);
  }
  if (!rc) rc = ckpt_put(k, s->lambda, sizeof(float) * (size_t)s->A);
  if (!rc) rc = ckpt_put_f64(k, s->jc);
  return rc;
}

static int sml_load(void *algo, ckpt_t *k) {
  sml_t *s = algo;
  int rc = 0;
  for (int a = 0; a < s->A && !rc; a++) {
    rc = ckpt_get(k, s->actor[a].theta, sizeof(float) * (size_t)s->actor[a].pol.n_params);
    if (!rc) rc = adam_load(&s->actor[a].opt, k);
    if (!rc) rc = sml_critic_load(&s->vr[a], s->cnet[a].n_params, k);
    if (!rc) rc = sml_critic_load(&s->vc[a], s->cnet[a].n_params, k);
  }
  if (!rc) rc = ckpt_get(k, s->lambda, sizeof(float) * (size_t)s->A);
  if (!rc) rc = ckpt_get_f64(k, &s->jc);
  return rc;
}

const algo_class_t algo_scal_mappo_lag = {
    .name = "scal_mappo_lag",
    .summary =
        "Scal-MAPPO-L: MAPPO-L with kappa-hop local actors and critics, truncated "
        "advantages",
    .params = sml_param_table,
    .n_params = sizeof sml_param_table / sizeof sml_param_table[0],
    .params_size = sizeof(sml_params_t),
    .stat_names = sml_stats,
    .n_stats = sizeof sml_stats / sizeof sml_stats[0],
    .default_num_envs = 16,
    .default_rollout_length = 250,
    .create = sml_create,
    .destroy = sml_destroy,
    .act = sml_act,
    .act_deterministic = sml_act_deterministic,
    .values = sml_values,
    .update = sml_update,
    .save = sml_save,
    .load = sml_load,
};
