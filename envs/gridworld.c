// gridworld: the hazard gridworld of seed 002 (class SafeEnvironment), followed exactly: one
// agent on a 6x6 grid starts at (0, 0) and walks to the goal (5, 5). Reward 10 on reaching the
// goal, -0.1 for every other step; the cost is charged on the cell entered: +1.0 on a hazard
// (2,2) (3,1) (1,3) (4,3), +0.1 on the border, both adding. The episode ends at the goal or after
// 50 steps. A blocked move still counts as a step and still charges the cell the agent stays in.
// This file owns the dynamics (also exported as pure functions for harness/lp.c) and the env
// class; it does not know about learning. The only addition to the seed is the optional one-hot
// observation (env.obs = onehot); the default observation is the seed's float (x, y).
#include "envs/gridworld.h"

#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static const int gridworld_hazards[][2] = {{2, 2}, {3, 1}, {1, 3}, {4, 3}};
#define GRIDWORLD_N_HAZARDS ((int)(sizeof gridworld_hazards / sizeof gridworld_hazards[0]))

// ---- pure dynamics ------------------------------------------------------------------------

void gridworld_move(int x, int y, int action, int *nx, int *ny) {
  *nx = x;
  *ny = y;
  if (action == 0 && y < GRIDWORLD_SIZE - 1) {
    *ny = y + 1;
  } else if (action == 1 && y > 0) {
    *ny = y - 1;
  } else if (action == 2 && x > 0) {
    *nx = x - 1;
  } else if (action == 3 && x < GRIDWORLD_SIZE - 1) {
    *nx = x + 1;
  }
}

int gridworld_is_goal(int x, int y) {
  return x == GRIDWORLD_SIZE - 1 && y == GRIDWORLD_SIZE - 1;
}

float gridworld_reward(int x, int y) {
  return gridworld_is_goal(x, y) ? 10.0f : -0.1f;
}

float gridworld_cost(int x, int y) {
  float cost = 0.0f;
  for (int i = 0; i < GRIDWORLD_N_HAZARDS; i++) {
    if (gridworld_hazards[i][0] == x && gridworld_hazards[i][1] == y) cost += 1.0f;
  }
  // The seed calls this "near the boundary": any cell of the outer ring, corners included.
  if (x == 0 || x == GRIDWORLD_SIZE - 1 || y == 0 || y == GRIDWORLD_SIZE - 1) cost += 0.1f;
  return cost;
}

// ---- env class ----------------------------------------------------------------------------

typedef struct {
  int onehot;   // observation layout
  int obs_dim;  // 2 or GRIDWORLD_N_CELLS
} gridworld_shared_t;

typedef struct {
  const gridworld_shared_t *shared;
  int x, y;
  int steps;  // steps taken this episode (the seed's current_step)
} gridworld_t;

static const cfg_param_t gridworld_params[] = {
    {"obs", CFG_STRING, offsetof(gridworld_params_t, obs), "coords",
     "observation: the (x, y) coordinates as floats (seed) or a one-hot of the 36 cells",
     "coords|onehot", 0, -1},
    {"cost_limit", CFG_FLOAT, offsetof(gridworld_params_t, cost_limit), "0.1",
     "default limit on the expected episodic cost (the seed's constraint_threshold)", NULL, 0.0,
     DBL_MAX},
};

static int gridworld_shared_create(const void *params, env_spec_t *spec, void **shared) {
  const gridworld_params_t *p = params;
  int onehot;
  if (strcmp(p->obs, "coords") == 0) {
    onehot = 0;
  } else if (strcmp(p->obs, "onehot") == 0) {
    onehot = 1;
  } else {
    return err_input("env.obs: '%s' is not one of coords|onehot", p->obs);
  }
  // Written as !(>=) so that NaN is refused too.
  if (!(p->cost_limit >= 0.0)) {
    return err_input("env.cost_limit: %g must be >= 0", p->cost_limit);
  }
  gridworld_shared_t *s = err_calloc(1, sizeof *s);
  if (!s) return ERR_FAIL;
  s->onehot = onehot;
  s->obs_dim = onehot ? GRIDWORLD_N_CELLS : 2;

  memset(spec, 0, sizeof *spec);
  snprintf(spec->name, sizeof spec->name, "gridworld");
  spec->n_agents = 1;
  spec->obs_dim[0] = s->obs_dim;
  spec->act_dim[0] = GRIDWORLD_N_ACTIONS;
  spec->max_obs_dim = s->obs_dim;
  spec->max_act_dim = GRIDWORLD_N_ACTIONS;
  spec->share_obs_dim = s->obs_dim;  // one agent: the centralised state is its observation
  spec->discrete = 1;
  spec->act_low = 0.0f;
  spec->act_high = 0.0f;
  spec->episode_length = GRIDWORLD_HORIZON;
  spec->cost_limit = p->cost_limit;
  spec->n_info = 0;
  *shared = s;
  return ERR_OK;
}

static void gridworld_shared_destroy(void *shared) {
  free(shared);
}

static int gridworld_create(void *shared, void **env) {
  gridworld_t *g = err_calloc(1, sizeof *g);
  if (!g) return ERR_FAIL;
  g->shared = shared;
  g->x = GRIDWORLD_START_X;
  g->y = GRIDWORLD_START_Y;
  *env = g;
  return ERR_OK;
}

static void gridworld_destroy(void *env) {
  free(env);
}

static void gridworld_observe(const gridworld_t *g, float *obs, float *share_obs) {
  const gridworld_shared_t *s = g->shared;
  if (s->onehot) {
    for (int i = 0; i < GRIDWORLD_N_CELLS; i++) obs[i] = 0.0f;
    obs[GRIDWORLD_CELL(g->x, g->y)] = 1.0f;
  } else {
    obs[0] = (float)g->x;
    obs[1] = (float)g->y;
  }
  for (int i = 0; i < s->obs_dim; i++) share_obs[i] = obs[i];
}

// The start is fixed, so the rng is unused (kept for the interface).
static void gridworld_reset(void *env, rng_t *rng, float *obs, float *share_obs) {
  gridworld_t *g = env;
  g->x = GRIDWORLD_START_X;
  g->y = GRIDWORLD_START_Y;
  g->steps = 0;
  gridworld_observe(g, obs, share_obs);
}

static void gridworld_step(void *env, const float *actions, rng_t *rng, env_step_t *out) {
  gridworld_t *g = env;
  // Range-check before converting: a float outside int range (or NaN) must not reach the cast.
  // Out-of-range actions move nowhere, as in the seed's if/elif chain.
  float a = actions[0];
  int action = (a >= 0.0f && a < (float)GRIDWORLD_N_ACTIONS) ? (int)a : -1;
  g->steps++;
  gridworld_move(g->x, g->y, action, &g->x, &g->y);

  int at_goal = gridworld_is_goal(g->x, g->y);
  int out_of_time = g->steps >= GRIDWORLD_HORIZON;
  float cost = gridworld_cost(g->x, g->y);  // charged on the cell now occupied
  out->reward = gridworld_reward(g->x, g->y);
  out->costs[0] = cost;
  out->team_cost = cost;
  out->done = at_goal || out_of_time;
  out->truncated = out_of_time && !at_goal;
  gridworld_observe(g, out->obs, out->share_obs);
}

static size_t gridworld_state_size(void *env) {
  return 3 * sizeof(int32_t);
}

static void gridworld_save_state(void *env, void *dst) {
  const gridworld_t *g = env;
  int32_t st[3] = {g->x, g->y, g->steps};
  memcpy(dst, st, sizeof st);
}

static int gridworld_load_state(void *env, const void *src) {
  gridworld_t *g = env;
  int32_t st[3];
  memcpy(st, src, sizeof st);
  if (st[0] < 0 || st[0] >= GRIDWORLD_SIZE || st[1] < 0 || st[1] >= GRIDWORLD_SIZE) {
    return err_input("gridworld state: position (%d, %d) is off the %dx%d grid", (int)st[0],
                     (int)st[1], GRIDWORLD_SIZE, GRIDWORLD_SIZE);
  }
  if (st[2] < 0) return err_input("gridworld state: negative step count %d", (int)st[2]);
  g->x = st[0];
  g->y = st[1];
  g->steps = st[2];
  return ERR_OK;
}

const env_class_t env_gridworld = {
    .name = "gridworld",
    .summary = "6x6 hazard gridworld of seed 002: one agent, 4 actions, hazard and border costs",
    .params = gridworld_params,
    .n_params = (int)(sizeof gridworld_params / sizeof gridworld_params[0]),
    .params_size = sizeof(gridworld_params_t),
    .shared_create = gridworld_shared_create,
    .shared_destroy = gridworld_shared_destroy,
    .create = gridworld_create,
    .destroy = gridworld_destroy,
    .reset = gridworld_reset,
    .step = gridworld_step,
    .state_size = gridworld_state_size,
    .save_state = gridworld_save_state,
    .load_state = gridworld_load_state,
};
