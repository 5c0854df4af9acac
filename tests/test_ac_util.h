// test_ac_util: what the multi-agent algorithm tests share to drive an algorithm through its
// class (algo_class_t): a small hand-made env spec, the class's parameters with overrides, a
// random rollout acted by the instance, and checkpoint bytes / reload. Header-only (static
// functions), included by one test file each.
#ifndef SAFEMARL_TEST_AC_UTIL_H
#define SAFEMARL_TEST_AC_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/algo.h"
#include "core/buffer.h"
#include "core/checkpoint.h"
#include "core/config.h"
#include "core/rng.h"
#include "envs/env.h"

enum { TU_NA = 2, TU_OBS = 5, TU_ACT = 3, TU_SHARE = 7, TU_RT = 8, TU_RE = 2 };

static inline void tu_fill_uniform(float *x, int n, double lo, double hi, rng_t *rng) {
  for (int i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * rng_uniform(rng));
}

// Two agents, 5-dim observations, 3-dim actions in [-1, 1], a 7-dim state, 50-step episodes.
static inline env_spec_t tu_spec(const char *name) {
  env_spec_t s;
  memset(&s, 0, sizeof s);
  snprintf(s.name, sizeof s.name, "%s", name);
  s.n_agents = TU_NA;
  for (int a = 0; a < TU_NA; a++) {
    s.obs_dim[a] = TU_OBS;
    s.act_dim[a] = TU_ACT;
  }
  s.max_obs_dim = TU_OBS;
  s.max_act_dim = TU_ACT;
  s.share_obs_dim = TU_SHARE;
  s.act_low = -1.0f;
  s.act_high = 1.0f;
  s.episode_length = 50;
  s.cost_limit = 1.0;
  return s;
}

// The class's parameters: defaults, then the given "algo.key=value" overrides (NULL-ended).
static inline void *tu_params(const algo_class_t *cls, const char *const *overrides) {
  void *params = calloc(1, cls->params_size);
  cfg_section_t sec = {"algo", cls->params, cls->n_params, params};
  if (!params || cfg_set_defaults(&sec, 1) != 0) {
    free(params);
    return NULL;
  }
  for (int i = 0; overrides && overrides[i]; i++)
    if (cfg_override(&sec, 1, overrides[i]) != 0) {
      free(params);
      return NULL;
    }
  return params;
}

// A rollout into buf (created here) acted by the class instance: random observations, rewards
// in [-1, 1], costs in {0, 1}, one episode end at t = 3 of copy 0.
static inline int tu_fill_rollout(const algo_class_t *cls, void *algo, buf_t *buf,
                                  uint64_t seed) {
  int rc = buf_create(buf, TU_RT, TU_RE, TU_NA, TU_OBS, TU_SHARE, TU_ACT);
  if (rc) return rc;
  rng_t d, ar;
  rng_seed(&d, seed);
  rng_seed(&ar, seed + 1);
  for (int t = 0; t <= TU_RT; t++) {
    float *obs = buf->obs + (size_t)t * TU_RE * TU_NA * TU_OBS;
    float *share = buf->share_obs + (size_t)t * TU_RE * TU_SHARE;
    tu_fill_uniform(obs, TU_RE * TU_NA * TU_OBS, -1.0, 1.0, &d);
    tu_fill_uniform(share, TU_RE * TU_SHARE, -1.0, 1.0, &d);
    size_t lane = (size_t)t * TU_RE * TU_NA;
    if (t < TU_RT) {
      cls->act(algo, obs, share, TU_RE, &ar, buf->actions + lane * TU_ACT, buf->logp + lane,
               buf->values + lane, buf->cost_values + lane);
      tu_fill_uniform(buf->rewards + lane, TU_RE * TU_NA, -1.0, 1.0, &d);
      for (int i = 0; i < TU_RE * TU_NA; i++)
        buf->costs[lane + i] = rng_uniform(&d) < 0.3 ? 1.0f : 0.0f;
    } else {
      cls->values(algo, obs, share, TU_RE, buf->values + lane, buf->cost_values + lane);
    }
  }
  buf->done[3 * TU_RE + 0] = 1;
  return 0;
}

// The instance's checkpoint section "ALGO" in k (initialised here).
static inline int tu_class_bytes(const algo_class_t *cls, void *algo, ckpt_t *k) {
  ckpt_init(k);
  int rc = ckpt_begin(k, "ALGO");
  if (!rc) rc = cls->save(algo, k);
  if (!rc) rc = ckpt_end(k);
  return rc;
}

// Load what tu_class_bytes wrote, requiring the section to be consumed exactly.
static inline int tu_class_load(const algo_class_t *cls, void *algo, ckpt_t *k) {
  k->pos = 0;
  int rc = ckpt_section(k, "ALGO", NULL);
  if (!rc) rc = cls->load(algo, k);
  if (!rc) rc = ckpt_section_done(k, "ALGO");
  return rc;
}
#endif
