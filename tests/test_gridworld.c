// test_gridworld: the seed-002 gridworld through its env class and its pure dynamics functions.
// Checks the spec, costs and rewards at known cells, edge blocking on all four edges, the goal,
// the 50-step time limit, both observation layouts, bad parameters and an exact save/load
// round trip. Expected values are written from the seed's SafeEnvironment, not from envs/.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rng.h"
#include "envs/gridworld.h"
#include "harness/lp.h"
#include "tests/check.h"

enum { UP = 0, DOWN = 1, LEFT = 2, RIGHT = 3 };

// Exact float comparisons are fine for costs: each is a sum of at most two float constants,
// computed the same way; 1e-6 is only there so the test does not depend on that.
#define TOL 1e-6

typedef struct {
  void *shared;
  void *env;
  env_spec_t spec;
  rng_t rng;
  float obs[GRIDWORLD_N_CELLS], share_obs[GRIDWORLD_N_CELLS], costs[1];
  env_step_t out;
} harness_t;

static int harness_open(harness_t *h, const char *obs_kind) {
  gridworld_params_t p;
  memset(&p, 0, sizeof p);
  snprintf(p.obs, sizeof p.obs, "%s", obs_kind);
  p.cost_limit = 0.1;
  memset(h, 0, sizeof *h);
  if (env_gridworld.shared_create(&p, &h->spec, &h->shared)) return -1;
  if (env_gridworld.create(h->shared, &h->env)) return -1;
  rng_seed(&h->rng, 7);
  h->out.obs = h->obs;
  h->out.share_obs = h->share_obs;
  h->out.costs = h->costs;
  env_gridworld.reset(h->env, &h->rng, h->obs, h->share_obs);
  return 0;
}

static void harness_close(harness_t *h) {
  env_gridworld.destroy(h->env);
  env_gridworld.shared_destroy(h->shared);
}

static void step(harness_t *h, int action) {
  float a[1] = {(float)action};
  env_gridworld.step(h->env, a, &h->rng, &h->out);
}

// Walk a sequence of actions; returns the number taken.
static int walk(harness_t *h, const int *actions, int n) {
  for (int i = 0; i < n; i++) step(h, actions[i]);
  return n;
}

static int obs_is(const harness_t *h, int x, int y) {
  return h->obs[0] == (float)x && h->obs[1] == (float)y;
}

static void test_spec(void) {
  harness_t h;
  CHECK(harness_open(&h, "coords") == 0, "shared_create/create failed: %s", err_message());
  CHECK(strcmp(env_gridworld.name, "gridworld") == 0, "name %s", env_gridworld.name);
  CHECK(h.spec.n_agents == 1 && h.spec.discrete == 1, "one discrete agent");
  CHECK(h.spec.obs_dim[0] == 2 && h.spec.max_obs_dim == 2 && h.spec.share_obs_dim == 2,
        "coords obs dims %d/%d/%d", h.spec.obs_dim[0], h.spec.max_obs_dim, h.spec.share_obs_dim);
  CHECK(h.spec.act_dim[0] == 4 && h.spec.max_act_dim == 4, "4 actions");
  CHECK(h.spec.episode_length == 50, "episode length %d", h.spec.episode_length);
  CHECK_NEAR(h.spec.cost_limit, 0.1, 1e-12, "spec cost_limit from params");
  CHECK(h.spec.n_info == 0, "n_info %d", h.spec.n_info);
  CHECK(obs_is(&h, 0, 0), "reset observation (0,0), got (%g,%g)", h.obs[0], h.obs[1]);
  CHECK(h.share_obs[0] == h.obs[0] && h.share_obs[1] == h.obs[1], "share_obs = obs");
  harness_close(&h);

  // The parameter table's defaults are the seed's: coords, 0.1.
  int seen = 0;
  for (int i = 0; i < env_gridworld.n_params; i++) {
    const cfg_param_t *p = &env_gridworld.params[i];
    if (strcmp(p->key, "obs") == 0) {
      seen++;
      CHECK(strcmp(p->def, "coords") == 0, "obs default %s", p->def);
    } else if (strcmp(p->key, "cost_limit") == 0) {
      seen++;
      CHECK(strcmp(p->def, "0.1") == 0 && p->min == 0.0, "cost_limit default %s min %g", p->def,
            p->min);
    }
  }
  CHECK(seen == 2, "params obs and cost_limit present (%d)", seen);
}

// Independent restatement of the seed's cost: hazards listed here, not taken from envs/.
static double seed_cost(int x, int y) {
  static const int hz[4][2] = {{2, 2}, {3, 1}, {1, 3}, {4, 3}};
  double c = 0.0;
  for (int i = 0; i < 4; i++) c += (hz[i][0] == x && hz[i][1] == y) ? 1.0 : 0.0;
  if (x == 0 || x == 5 || y == 0 || y == 5) c += 0.1;
  return c;
}

static void test_pure_functions(void) {
  // Known cells.
  CHECK_NEAR(gridworld_cost(2, 2), 1.0, TOL, "hazard (2,2) cost");
  CHECK_NEAR(gridworld_cost(4, 3), 1.0, TOL, "hazard (4,3) cost");
  CHECK_NEAR(gridworld_cost(0, 3), 0.1, TOL, "left border cost");
  CHECK_NEAR(gridworld_cost(5, 0), 0.1, TOL, "corner cost");
  CHECK_NEAR(gridworld_cost(1, 1), 0.0, TOL, "interior cost");
  CHECK_NEAR(gridworld_cost(3, 3), 0.0, TOL, "interior cost");
  CHECK_NEAR(gridworld_reward(5, 5), 10.0, TOL, "goal reward");
  CHECK_NEAR(gridworld_reward(2, 2), -0.1, TOL, "step reward");
  CHECK(gridworld_is_goal(5, 5) && !gridworld_is_goal(5, 4) && !gridworld_is_goal(0, 0), "goal");
  // Hazard-and-border: the additive case is n/a on the seed's map because every hazard is
  // interior. Check that (so nobody relies on a combined 1.1 cell), and check the additive rule
  // at every cell against the independent restatement above.
  int both = 0;
  for (int y = 0; y < 6; y++) {
    for (int x = 0; x < 6; x++) {
      if (seed_cost(x, y) > 1.05) both++;
      CHECK_NEAR(gridworld_cost(x, y), seed_cost(x, y), TOL, "cost at every cell");
    }
  }
  CHECK(both == 0, "no hazard lies on the border (%d)", both);
  // Moves, including every blocked direction and an out-of-range action.
  int nx, ny;
  gridworld_move(2, 3, UP, &nx, &ny);
  CHECK(nx == 2 && ny == 4, "up is y+1");
  gridworld_move(2, 3, DOWN, &nx, &ny);
  CHECK(nx == 2 && ny == 2, "down is y-1");
  gridworld_move(2, 3, LEFT, &nx, &ny);
  CHECK(nx == 1 && ny == 3, "left is x-1");
  gridworld_move(2, 3, RIGHT, &nx, &ny);
  CHECK(nx == 3 && ny == 3, "right is x+1");
  gridworld_move(2, 5, UP, &nx, &ny);
  CHECK(nx == 2 && ny == 5, "top edge blocks");
  gridworld_move(2, 0, DOWN, &nx, &ny);
  CHECK(nx == 2 && ny == 0, "bottom edge blocks");
  gridworld_move(0, 2, LEFT, &nx, &ny);
  CHECK(nx == 0 && ny == 2, "left edge blocks");
  gridworld_move(5, 2, RIGHT, &nx, &ny);
  CHECK(nx == 5 && ny == 2, "right edge blocks");
  gridworld_move(2, 2, 4, &nx, &ny);
  CHECK(nx == 2 && ny == 2, "action 4 moves nowhere");
}

static void test_costs_through_steps(void) {
  harness_t h;
  CHECK(harness_open(&h, "coords") == 0, "open: %s", err_message());
  step(&h, RIGHT);  // (1,0): border
  CHECK(obs_is(&h, 1, 0), "at (1,0)");
  CHECK_NEAR(h.out.team_cost, 0.1, TOL, "border cell (1,0)");
  CHECK_NEAR(h.out.costs[0], h.out.team_cost, 0.0, "per-agent cost = team cost");
  CHECK_NEAR(h.out.reward, -0.1, TOL, "step reward");
  step(&h, UP);  // (1,1): interior, safe
  CHECK_NEAR(h.out.team_cost, 0.0, TOL, "interior cell (1,1)");
  step(&h, UP);     // (1,2)
  step(&h, RIGHT);  // (2,2): hazard
  CHECK(obs_is(&h, 2, 2), "at (2,2)");
  CHECK_NEAR(h.out.team_cost, 1.0, TOL, "hazard cell (2,2)");
  CHECK(!h.out.done && !h.out.truncated, "not done at a hazard");
  harness_close(&h);
}

// Blocked moves: the agent stays, the step counts, and the cell it stays in is charged.
static void test_edge_blocking(void) {
  harness_t h;
  CHECK(harness_open(&h, "coords") == 0, "open: %s", err_message());
  step(&h, DOWN);
  CHECK(obs_is(&h, 0, 0), "bottom edge: stays at (0,0)");
  CHECK_NEAR(h.out.team_cost, 0.1, TOL, "bottom edge: corner charged");
  CHECK_NEAR(h.out.reward, -0.1, TOL, "bottom edge: step reward");
  step(&h, LEFT);
  CHECK(obs_is(&h, 0, 0), "left edge: stays at (0,0)");
  CHECK_NEAR(h.out.team_cost, 0.1, TOL, "left edge: corner charged");

  const int to_top[] = {UP, UP, UP, UP, UP, RIGHT, RIGHT};  // (0,5) then (2,5)
  walk(&h, to_top, 7);
  CHECK(obs_is(&h, 2, 5), "at (2,5)");
  step(&h, UP);
  CHECK(obs_is(&h, 2, 5), "top edge: stays at (2,5)");
  CHECK_NEAR(h.out.team_cost, 0.1, TOL, "top edge: border charged");

  const int to_right[] = {DOWN, DOWN, DOWN, RIGHT, RIGHT, RIGHT};  // (2,2) hazard .. (5,2)
  walk(&h, to_right, 6);
  CHECK(obs_is(&h, 5, 2), "at (5,2)");
  step(&h, RIGHT);
  CHECK(obs_is(&h, 5, 2), "right edge: stays at (5,2)");
  CHECK_NEAR(h.out.team_cost, 0.1, TOL, "right edge: border charged");
  CHECK(!h.out.done, "17 steps, no goal: not done");

  // Blocked in the interior is impossible; blocked onto a hazard never happens either. The
  // remaining case: an out-of-range action stays and is charged like any step.
  step(&h, 9);
  CHECK(obs_is(&h, 5, 2), "action 9: stays");
  CHECK_NEAR(h.out.team_cost, 0.1, TOL, "action 9: border charged");
  harness_close(&h);
}

static void test_goal(void) {
  harness_t h;
  CHECK(harness_open(&h, "coords") == 0, "open: %s", err_message());
  // Shortest path: 5 right along the bottom, 5 up the right edge.
  for (int i = 0; i < 5; i++) step(&h, RIGHT);
  for (int i = 0; i < 4; i++) {
    step(&h, UP);
    CHECK(!h.out.done, "not done before the goal (step %d)", 6 + i);
  }
  step(&h, UP);
  CHECK(obs_is(&h, 5, 5), "at the goal");
  CHECK_NEAR(h.out.reward, 10.0, TOL, "goal reward");
  CHECK_NEAR(h.out.team_cost, 0.1, TOL, "goal is a corner: border cost");
  CHECK(h.out.done == 1 && h.out.truncated == 0, "goal: done, not truncated");
  harness_close(&h);
}

static void test_time_limit(void) {
  harness_t h;
  CHECK(harness_open(&h, "coords") == 0, "open: %s", err_message());
  int early_done = 0;
  for (int t = 1; t < 50; t++) {
    step(&h, LEFT);  // blocked at (0,0): the agent never moves
    early_done += h.out.done;
  }
  CHECK(early_done == 0, "done before step 50 (%d times)", early_done);
  step(&h, LEFT);
  CHECK(h.out.done == 1 && h.out.truncated == 1, "step 50: done=%d truncated=%d", h.out.done,
        h.out.truncated);
  CHECK_NEAR(h.out.reward, -0.1, TOL, "last step reward");

  // Reaching the goal exactly on step 50 is a goal, not a truncation.
  env_gridworld.reset(h.env, &h.rng, h.obs, h.share_obs);
  for (int t = 0; t < 40; t++) step(&h, DOWN);
  for (int i = 0; i < 5; i++) step(&h, RIGHT);
  for (int i = 0; i < 4; i++) step(&h, UP);
  CHECK(!h.out.done, "step 49: not done");
  step(&h, UP);
  CHECK(h.out.done == 1 && h.out.truncated == 0, "goal on step 50: done=%d truncated=%d",
        h.out.done, h.out.truncated);
  CHECK_NEAR(h.out.reward, 10.0, TOL, "goal on step 50: reward");

  // Reset restarts the step counter.
  env_gridworld.reset(h.env, &h.rng, h.obs, h.share_obs);
  step(&h, LEFT);
  CHECK(!h.out.done && obs_is(&h, 0, 0), "after reset: a fresh episode");
  harness_close(&h);
}

static void test_onehot(void) {
  harness_t h;
  CHECK(harness_open(&h, "onehot") == 0, "open onehot: %s", err_message());
  CHECK(h.spec.obs_dim[0] == 36 && h.spec.max_obs_dim == 36 && h.spec.share_obs_dim == 36,
        "onehot dims %d", h.spec.obs_dim[0]);
  // Cell index y*6 + x: (0,0) -> 0, (1,0) -> 1, (1,1) -> 7.
  const int expect_cell[3] = {0, 1, 7};
  for (int k = 0; k < 3; k++) {
    if (k == 1) step(&h, RIGHT);
    if (k == 2) step(&h, UP);
    float sum = 0.0f;
    int ok_share = 1;
    for (int i = 0; i < 36; i++) {
      sum += h.obs[i];
      ok_share &= h.share_obs[i] == h.obs[i];
    }
    CHECK(sum == 1.0f && h.obs[expect_cell[k]] == 1.0f, "one-hot at cell %d", expect_cell[k]);
    CHECK(ok_share, "share_obs = obs (one-hot)");
  }
  harness_close(&h);
}

static void test_bad_params(void) {
  gridworld_params_t p;
  memset(&p, 0, sizeof p);
  env_spec_t spec;
  void *shared = NULL;
  snprintf(p.obs, sizeof p.obs, "pixels");
  p.cost_limit = 0.1;
  CHECK(env_gridworld.shared_create(&p, &spec, &shared) == ERR_INPUT, "obs=pixels refused");
  CHECK(strstr(err_message(), "env.obs") != NULL, "message names env.obs: %s", err_message());
  snprintf(p.obs, sizeof p.obs, "coords");
  p.cost_limit = -1.0;
  CHECK(env_gridworld.shared_create(&p, &spec, &shared) == ERR_INPUT, "cost_limit<0 refused");
  p.cost_limit = NAN;
  CHECK(env_gridworld.shared_create(&p, &spec, &shared) == ERR_INPUT, "cost_limit NaN refused");
}

// Save mid-episode, play on, restore into a fresh copy, replay: identical trajectory.
static void test_save_load(void) {
  harness_t a, b;
  CHECK(harness_open(&a, "coords") == 0 && harness_open(&b, "coords") == 0, "open: %s",
        err_message());
  CHECK(env_gridworld.state_size(a.env) == 3 * sizeof(int32_t), "state size");
  rng_t pick;
  rng_seed(&pick, 12345);
  for (int t = 0; t < 23; t++) step(&a, (int)rng_below(&pick, 4));
  unsigned char state[64];
  env_gridworld.save_state(a.env, state);
  int actions[40];
  float trace[40][5];
  for (int t = 0; t < 40; t++) {
    actions[t] = (int)rng_below(&pick, 4);
    step(&a, actions[t]);
    trace[t][0] = a.obs[0];
    trace[t][1] = a.obs[1];
    trace[t][2] = a.out.reward;
    trace[t][3] = a.out.team_cost;
    trace[t][4] = (float)(a.out.done * 2 + a.out.truncated);
  }
  CHECK(env_gridworld.load_state(b.env, state) == 0, "load_state: %s", err_message());
  int same = 1;
  for (int t = 0; t < 40; t++) {
    step(&b, actions[t]);
    float got[5] = {b.obs[0], b.obs[1], b.out.reward, b.out.team_cost,
                    (float)(b.out.done * 2 + b.out.truncated)};
    for (int k = 0; k < 5; k++) same &= got[k] == trace[t][k];
  }
  CHECK(same, "restored copy replays the same trajectory");
  // The step counter is part of the state: step 23 + 27 = 50 is done whatever the position.
  CHECK(trace[26][4] != 0.0f, "the time limit survives save/load (done at step 50)");

  // Bad state is refused.
  int32_t bad[3] = {6, 0, 0};
  CHECK(env_gridworld.load_state(b.env, bad) == ERR_INPUT, "x=6 refused");
  int32_t neg[3] = {0, 0, -1};
  CHECK(env_gridworld.load_state(b.env, neg) == ERR_INPUT, "negative steps refused");
  harness_close(&a);
  harness_close(&b);
}

// Exact expected return and cost of a STATIONARY randomised policy pi[cell][action] over the
// 50-step episode, by propagating the state distribution through the pure dynamics.
static void stationary_value(double pi[GRIDWORLD_N_CELLS][GRIDWORLD_N_ACTIONS], double *ret,
                             double *cost) {
  double d[GRIDWORLD_N_CELLS] = {0}, next[GRIDWORLD_N_CELLS];
  d[GRIDWORLD_CELL(GRIDWORLD_START_X, GRIDWORLD_START_Y)] = 1.0;
  *ret = *cost = 0;
  for (int t = 0; t < GRIDWORLD_HORIZON; t++) {
    memset(next, 0, sizeof next);
    for (int c = 0; c < GRIDWORLD_N_CELLS; c++) {
      if (d[c] == 0) continue;
      for (int a = 0; a < GRIDWORLD_N_ACTIONS; a++) {
        double m = d[c] * pi[c][a];
        if (m == 0) continue;
        int nx, ny;
        gridworld_move(c % GRIDWORLD_SIZE, c / GRIDWORLD_SIZE, a, &nx, &ny);
        *ret += m * gridworld_reward(nx, ny);
        *cost += m * gridworld_cost(nx, ny);
        if (!gridworld_is_goal(nx, ny)) next[GRIDWORLD_CELL(nx, ny)] += m;  // goal ends it
      }
    }
    memcpy(d, next, sizeof d);
  }
}

// The LP optimises over history-dependent policies and its optimum below the 0.6 limit mixes two
// behaviours; a policy that sees only its cell (the learners' observation, no time) can still
// attain it exactly: at the start, up or right with probability 1/2 each; up the left edge to
// (0,4), along y = 4, up at (4,4), right to the goal; after a right first step, into the pocket
// and cycle (1,1) <-> (2,1) until the time limit. So a stationary learner can meet the 0.35
// criterion without a time feature. Tolerance 1e-6: float costs summed over 50 steps.
static void test_stationary_mixture_attains_lp_optimum(void) {
  static double pi[GRIDWORLD_N_CELLS][GRIDWORLD_N_ACTIONS];
  memset(pi, 0, sizeof pi);
  pi[GRIDWORLD_CELL(0, 0)][UP] = 0.5;
  pi[GRIDWORLD_CELL(0, 0)][RIGHT] = 0.5;
  for (int y = 1; y <= 3; y++) pi[GRIDWORLD_CELL(0, y)][UP] = 1;
  for (int x = 0; x <= 3; x++) pi[GRIDWORLD_CELL(x, 4)][RIGHT] = 1;
  pi[GRIDWORLD_CELL(4, 4)][UP] = 1;
  pi[GRIDWORLD_CELL(4, 5)][RIGHT] = 1;
  pi[GRIDWORLD_CELL(1, 0)][UP] = 1;
  pi[GRIDWORLD_CELL(1, 1)][RIGHT] = 1;
  pi[GRIDWORLD_CELL(2, 1)][LEFT] = 1;
  double ret, cost;
  stationary_value(pi, &ret, &cost);
  double lp_ret, lp_cost;
  CHECK(lp_gridworld_solve(0.35, &lp_ret, &lp_cost, NULL) == 0, "LP at 0.35 failed");
  CHECK_NEAR(ret, lp_ret, 1e-6, "stationary mixture return vs LP optimum at 0.35");
  CHECK_NEAR(cost, 0.35, 1e-6, "stationary mixture cost");
  CHECK_NEAR(ret, 2.05, 1e-6, "stationary mixture return");
  // Its two branches: the goal path (9.1, 0.6) and the pocket (-5, 0.1).
  pi[GRIDWORLD_CELL(0, 0)][UP] = 1;
  pi[GRIDWORLD_CELL(0, 0)][RIGHT] = 0;
  stationary_value(pi, &ret, &cost);
  CHECK_NEAR(ret, 9.1, 1e-5, "goal path return");
  CHECK_NEAR(cost, 0.6, 1e-6, "goal path cost");
  pi[GRIDWORLD_CELL(0, 0)][UP] = 0;
  pi[GRIDWORLD_CELL(0, 0)][RIGHT] = 1;
  stationary_value(pi, &ret, &cost);
  CHECK_NEAR(ret, -5.0, 1e-5, "pocket return");
  CHECK_NEAR(cost, 0.1, 1e-6, "pocket cost");
}

int main(void) {
  test_spec();
  test_pure_functions();
  test_costs_through_steps();
  test_edge_blocking();
  test_goal();
  test_time_limit();
  test_onehot();
  test_bad_params();
  test_save_load();
  test_stationary_mixture_attains_lp_optimum();
  return check_report("test_gridworld");
}
