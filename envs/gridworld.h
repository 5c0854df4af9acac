// gridworld: the 6x6 hazard gridworld of seed 002 (class SafeEnvironment), as an env class and as
// pure dynamics functions so an exact solver (harness/lp.c) plans on the very same rules.
// Cells are (x, y) with 0 <= x, y < GRIDWORLD_SIZE; the one-hot observation indexes a cell as
// GRIDWORLD_CELL(x, y) = y * GRIDWORLD_SIZE + x, so the goal (5, 5) is the last cell.
// Saved state (env_class_t.save_state) is three int32_t: x, y, steps taken this episode.
#ifndef SAFEMARL_GRIDWORLD_H
#define SAFEMARL_GRIDWORLD_H
#include "core/config.h"
#include "envs/env.h"

#define GRIDWORLD_SIZE 6
#define GRIDWORLD_HORIZON 50  // the seed's max_episode_steps
#define GRIDWORLD_N_CELLS (GRIDWORLD_SIZE * GRIDWORLD_SIZE)
#define GRIDWORLD_N_ACTIONS 4  // 0 up (y+1), 1 down (y-1), 2 left (x-1), 3 right (x+1)
#define GRIDWORLD_START_X 0
#define GRIDWORLD_START_Y 0
#define GRIDWORLD_CELL(x, y) ((y)*GRIDWORLD_SIZE + (x))

// The "env" config section of the gridworld.
typedef struct {
  char obs[CFG_STR_MAX];  // "coords": (x, y) as floats (the seed); "onehot": 36 cell indicators
  double cost_limit;      // default episodic cost limit (the seed's constraint_threshold = 0.1)
} gridworld_params_t;

// Next cell after `action` from (x, y). A move off the grid, or an action outside 0..3 (the
// seed's if/elif chain matches none), leaves the agent where it is.
void gridworld_move(int x, int y, int action, int *nx, int *ny);
// Reward for entering (x, y): 10 at the goal, -0.1 elsewhere.
float gridworld_reward(int x, int y);
// Cost for entering (x, y): +1.0 on a hazard, +0.1 on the border; both add.
float gridworld_cost(int x, int y);
int gridworld_is_goal(int x, int y);

extern const env_class_t env_gridworld;
#endif
