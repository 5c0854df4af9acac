// test_mamj_util: helpers shared by the Safe MAMuJoCo tests (header-only, static): open a task
// by name with key=value parameter overrides, step it, and reach into its mjData to construct
// states. Not a test by itself.
#ifndef SAFEMARL_TEST_MAMJ_UTIL_H
#define SAFEMARL_TEST_MAMJ_UTIL_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "core/rng.h"
#include "envs/env.h"
#include "envs/mamujoco/mamj.h"
#include "tests/check.h"

// Every Safe MAMuJoCo task, in registry order.
static const char *const mt_tasks[] = {"ant_2x4",
                                       "ant_2x4d",
                                       "ant_4x2",
                                       "ant_8x1",
                                       "halfcheetah_2x3",
                                       "halfcheetah_3x2",
                                       "halfcheetah_6x1",
                                       "manyagent_ant_2x3",
                                       "manyagent_ant_3x2",
                                       "manyagent_ant_6x1",
                                       "manyagent_ant_2x4",
                                       "manyagent_ant_4x2",
                                       "manyagent_ant_8x1",
                                       "coupled_halfcheetah_2x6",
                                       "coupled_halfcheetah_6x2",
                                       "coupled_halfcheetah_12x1"};
#define MT_N_TASKS ((int)(sizeof mt_tasks / sizeof mt_tasks[0]))

typedef struct {
  const env_class_t *cls;
  mamj_params_t params;
  env_spec_t spec;
  void *shared;
  mamj_env_t *env;
  rng_t rng;
  float *obs, *share, *costs, *act;
  env_step_t out;
} mt_env_t;

// Open `name` with overrides "key=value,key=value" (NULL for defaults) and reset with `seed`.
static inline int mt_open(mt_env_t *t, const char *name, const char *overrides, uint64_t seed) {
  memset(t, 0, sizeof *t);
  t->cls = env_find(name);
  if (!t->cls) {
    fprintf(stderr, "no env %s\n", name);
    return -1;
  }
  cfg_section_t sec = {"env", t->cls->params, t->cls->n_params, &t->params};
  if (cfg_set_defaults(&sec, 1)) return -1;
  if (overrides) {
    char buf[512], one[600];
    snprintf(buf, sizeof buf, "%s", overrides);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
      snprintf(one, sizeof one, "env.%s", tok);
      if (cfg_override(&sec, 1, one)) {
        fprintf(stderr, "%s: %s\n", name, err_message());
        return -1;
      }
    }
  }
  if (t->cls->shared_create(&t->params, &t->spec, &t->shared)) {
    fprintf(stderr, "%s: %s\n", name, err_message());
    return -1;
  }
  void *e;
  if (t->cls->create(t->shared, &e)) return -1;
  t->env = e;
  int A = t->spec.n_agents;
  t->obs = calloc((size_t)A * t->spec.max_obs_dim, sizeof(float));
  t->share = calloc((size_t)t->spec.share_obs_dim, sizeof(float));
  t->costs = calloc((size_t)A, sizeof(float));
  t->act = calloc((size_t)A * t->spec.max_act_dim, sizeof(float));
  t->out.obs = t->obs;
  t->out.share_obs = t->share;
  t->out.costs = t->costs;
  rng_seed(&t->rng, seed);
  t->cls->reset(t->env, &t->rng, t->obs, t->share);
  return 0;
}

static inline void mt_close(mt_env_t *t) {
  if (t->env) t->cls->destroy(t->env);
  if (t->shared) t->cls->shared_destroy(t->shared);
  free(t->obs);
  free(t->share);
  free(t->costs);
  free(t->act);
  memset(t, 0, sizeof *t);
}

// Uniform random actions in [-1, 1] for every real slot.
static inline void mt_random_actions(mt_env_t *t, rng_t *r) {
  for (int a = 0; a < t->spec.n_agents; a++)
    for (int i = 0; i < t->spec.max_act_dim; i++)
      t->act[a * t->spec.max_act_dim + i] =
          i < t->spec.act_dim[a] ? (float)(2 * rng_uniform(r) - 1) : 0.0f;
}

static inline void mt_zero_actions(mt_env_t *t) {
  memset(t->act, 0, sizeof(float) * t->spec.n_agents * t->spec.max_act_dim);
}

static inline void mt_step(mt_env_t *t) {
  t->cls->step(t->env, t->act, &t->rng, &t->out);
}

// After writing qpos/qvel by hand: recompute the derived quantities and the reward's "x before"
// as a reset would.
static inline void mt_settle(mt_env_t *t) {
  const mamj_shared_t *s = t->env->s;
  mj_forward(s->m, t->env->d);
  if (s->torso >= 0) t->env->prev_x[0] = t->env->d->xpos[3 * s->torso];
}

// Index of the info slot called `name`, or -1.
static inline int mt_info(const mt_env_t *t, const char *name) {
  for (int i = 0; i < t->spec.n_info; i++)
    if (strcmp(t->spec.info_names[i], name) == 0) return i;
  return -1;
}
#endif
