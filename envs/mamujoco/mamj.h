// mamj: the machinery every Safe MAMuJoCo task shares: model loading (from an absolute model
// directory, never writing XML), the env class functions (create/reset/step/save/load), action
// mapping through the agent partition, the `global` and `obsk` observations, and the raw-physics
// step used by `safemarl bench env`. A robot (ant.c, halfcheetah.c, manyagent_ant.c,
// coupled_halfcheetah.c) supplies a mamj_robot_t: ids, state vector, safety features, reset
// noise, hidden controls and reward/cost/termination; a task (e.g. ant_2x4) is a robot plus an
// agent configuration, declared with MAMJ_TASK, which also makes its env class.
// Threading: the shared part (mjModel, partition, observation recipes) is read-only after
// shared_create; each copy owns its mjData and scratch, so copies may step on different threads.
// Observations (per agent, zero-padded to spec.max_obs_dim):
//   global: the robot's state vector plus a one-hot agent id (Safe MAMuJoCo get_obs), by default
//           z-scored across the elements of each agent's vector as released (obs_standardise);
//   obsk:   MAMuJoCo build_obs over the joints within obs_k hops of the agent's own (categories
//           per robot), plus the robot's safety features; never standardised (as MAMuJoCo).
//   share_obs is the state vector (no id), standardised like global obs when they are; with
//   state_time it ends with the elapsed fraction of the episode, t / 1000 (not standardised):
//   the critics of a time-limited task see how much of it is left (Pardo et al. 2018, "Time
//   limits in reinforcement learning"); the agents' observations never hold it.
#ifndef SAFEMARL_MAMJ_H
#define SAFEMARL_MAMJ_H
#include <mujoco/mujoco.h>

#include "core/config.h"
#include "core/rng.h"
#include "envs/env.h"
#include "envs/mamujoco/partition.h"

#define MAMJ_EPISODE_LENGTH 1000  // Safe MAMuJoCo episode_limit (TimeLimit), every task
#define MAMJ_MAX_FEATURES 16      // safety features per robot

// The "env" config section of every Safe MAMuJoCo task.
typedef struct {
  char partition[CFG_STR_MAX];  // released | nominal
  char obs[CFG_STR_MAX];        // global | obsk
  int obs_k;                    // obsk: joint-graph hops observed
  int obs_standardise;          // global: z-score each agent's vector as released
  int state_time;               // share_obs ends with t / episode length
  double cost_limit;            // default limit on the episodic team cost
} mamj_params_t;

// obsk observation categories (MAMuJoCo k_categories).
enum { MAMJ_CAT_QPOS = 1, MAMJ_CAT_QVEL = 2, MAMJ_CAT_CFRC = 4, MAMJ_CAT_TENDON = 8 };

typedef struct mamj_shared mamj_shared_t;
typedef struct mamj_env mamj_env_t;

typedef struct mamj_robot {
  const char *model;  // file name in the model directory; "%d" takes the segment count
  int frame_skip;
  int n_features;           // safety features appended to obsk observations
  int cats_near, cats_far;  // obsk categories at hop 0 and at hops >= 1
  int n_info;
  const char *info_names[ENV_MAX_INFO];  // the last is always "mj_warnings" (filled by mamj)
  // After the model is loaded: look up ids, set state_dim, the joint graph's hyperedges and the
  // cfrc_ext bodies / tendon flag of each node. Returns 0 or an error code.
  int (*bind)(mamj_shared_t *s);
  void (*state)(const mamj_env_t *e, double *out);     // [state_dim]
  void (*features)(const mamj_env_t *e, double *out);  // [n_features]
  // After mj_resetData, before mj_forward: the reset noise, drawn from rng.
  void (*reset)(mamj_env_t *e, rng_t *rng);
  // Before the physics substeps (ctrl already holds the agents' actions): hidden controls and
  // the "before" positions of the reward.
  void (*before)(mamj_env_t *e);
  // After the substeps: reward, team cost, terminal flag and info[0..n_info-2].
  void (*after)(mamj_env_t *e, env_step_t *out);
  // The termination test alone (raw_step ends episodes with it); NULL: never terminates.
  int (*terminal)(const mamj_env_t *e);
} mamj_robot_t;

typedef struct {
  const char *name;  // task name, as on the command line
  const mamj_robot_t *robot;
  int n_segments;  // ManyAgent Ant: segments (selects the model); 0 otherwise
  int n_agents;
  const char *nominal;  // nominal groups "j1,j2|j3,j4" (MAMuJoCo parts); NULL: equal slices
} mamj_task_t;

// One item of an obsk observation.
enum {
  MAMJ_ITEM_QPOS,
  MAMJ_ITEM_QVEL,
  MAMJ_ITEM_CFRC,
  MAMJ_ITEM_TENLEN,
  MAMJ_ITEM_TENVEL,
  MAMJ_ITEM_FEATURE
};
typedef struct {
  int kind, index;  // index: qpos/dof address, body id (6 values), tendon id, feature number
} mamj_item_t;

struct mamj_shared {
  const mamj_task_t *task;
  const mamj_robot_t *robot;
  mjModel *m;
  env_spec_t spec;
  part_graph_t graph;  // nodes = agent-driven actuators 0..n_nodes-1
  part_t part;
  int obsk, obs_k, standardise, state_time;
  int state_dim;
  double dt;  // env step: timestep x frame_skip
  // obsk recipes: agent a's items are items[item_start[a] .. item_start[a+1])
  int item_start[ENV_MAX_AGENTS + 1];
  mamj_item_t *items;
  int node_body[PART_MAX_NODES][3], node_nbody[PART_MAX_NODES], node_tendon[PART_MAX_NODES];
  // Ids the robots use (set by bind; unused ones stay -1).
  int torso;  // body whose xpos drives reward and cost (Ant torso, torso_0)
  int obstacle_body, obstacle_geom, obstacle_act;
  int n_cheetahs;
  int rootx[2];              // qpos address of each cheetah's rootx (its dof address too)
  int cheetah_first_act[2];  // first actuator of each cheetah (6 each)
  int tendon;
  double corridor_half_width;  // W: walls at y_c(x) +- W
};

struct mamj_env {
  const mamj_shared_t *s;
  mjData *d;
  int steps;
  double prev_x[2];  // reward's "x before" (Ant: torso xpos left by the last step, as released)
  double *act;       // [nu] raw agent actions by actuator (the control cost uses them unclipped)
  double *state;     // [state_dim]
  double *scratch;   // [state_dim + n_agents]
  int warnings;      // mjData warning total after the last step (each step reports the new ones)
};

// Directory the models are read from: $SAFEMARL_MODEL_DIR, else the build-time default.
const char *mamj_model_dir(void);
int mamj_shared_create(const mamj_task_t *task, const void *params, env_spec_t *spec,
                       void **shared);
void mamj_shared_destroy(void *shared);
int mamj_create(void *shared, void **env);
void mamj_destroy(void *env);
void mamj_reset(void *env, rng_t *rng, float *obs, float *share_obs);
void mamj_step(void *env, const float *actions, rng_t *rng, env_step_t *out);
size_t mamj_state_size(void *env);
void mamj_save_state(void *env, void *dst);
int mamj_load_state(void *env, const void *src);
int mamj_raw_step(void *env, rng_t *rng);
int mamj_raw_step_actions(void *env, const float *actions, rng_t *rng);
// The observations of the current state (what reset and step write).
void mamj_observe(mamj_env_t *e, float *obs, float *share_obs);
// Sum of MuJoCo's warning counters in d.
int mamj_warning_total(const mjData *d);

// Helpers for the robots.
// Graph nodes from the actuators driven by agents: every actuator but the hidden obstacle motor
// (s->obstacle_act, which must be the last), labelled by the joints they drive. Call in bind,
// after setting obstacle_act and before adding edges or node bodies.
int mamj_build_nodes(mamj_shared_t *s);
int mamj_body(const mamj_shared_t *s, const char *name);  // id or -1 (message recorded)
int mamj_joint_qpos(const mamj_shared_t *s, const char *name);
// Node bodies for the cfrc_ext category: "torso,front_left_leg".
int mamj_node_bodies(mamj_shared_t *s, const char *node, const char *bodies);
// Corridor of the Ant tasks (envs-safe-mamujoco.md §2.4): zig-zag centre line y_c(x).
double mamj_corridor_centre(double x);
// 1 when (x, y) is within 1.8 m (in y) of a wall line y_c(x) +- w, as released.
int mamj_corridor_cost(double x, double y, double w);
// Shared by the two ant robots: reward/cost/termination and state of a free-joint ant.
void mamj_ant_after(mamj_env_t *e, env_step_t *out);
int mamj_ant_terminal(const mamj_env_t *e);
void mamj_ant_state(const mamj_env_t *e, double *out);
void mamj_ant_features(const mamj_env_t *e, double *out);
void mamj_noise_all(mamj_env_t *e, rng_t *rng);  // qpos += U(-0.1, 0.1), qvel = 0.1 N(0, 1)
// HalfCheetah obstacle schedule: u(t) = 0.02 sin^2(t/3) - 0.004 (§3.2).
double mamj_obstacle_control(double t);
double mamj_obstacle_vx(const mamj_env_t *e);                 // obstacle x velocity (world)
double mamj_obstacle_dist(const mamj_env_t *e, int cheetah);  // obstacle x - that rootx

// clang-format off
// Parameter rows every task shares; only the defaults of partition and cost_limit differ.
#define MAMJ_PARAM_ROWS(partition_default, cost_limit_default)                                 \
  {"partition", CFG_STRING, offsetof(mamj_params_t, partition), partition_default,             \
   "actuators per agent: released = contiguous slices (the published curves), nominal = "      \
   "MAMuJoCo joint groups", "released|nominal", 0, -1},                                        \
  {"obs", CFG_STRING, offsetof(mamj_params_t, obs), "global",                                  \
   "observation: global = robot state + one-hot id (released), obsk = k-nearest joints + "     \
   "safety features", "global|obsk", 0, -1},                                                   \
  {"obs_k", CFG_INT, offsetof(mamj_params_t, obs_k), "1",                                      \
   "obsk: joint-graph hops observed (Safe MAMuJoCo's agent_obsk)", NULL, 0, 16},               \
  {"obs_standardise", CFG_BOOL, offsetof(mamj_params_t, obs_standardise), "true",              \
   "global: z-score each agent's observation vector across its elements (as released)",        \
   NULL, 0, -1},                                                                               \
  {"state_time", CFG_BOOL, offsetof(mamj_params_t, state_time), "false",                      \
   "append the elapsed episode fraction t/1000 to the state (share_obs: critics only)", NULL,   \
   0, -1},                                                                                     \
  {"cost_limit", CFG_FLOAT, offsetof(mamj_params_t, cost_limit), cost_limit_default,           \
   "default limit on the episodic team cost", NULL, 0.0, 1000.0}

// Declares task `sym##_task` and the env class `sym` (add `&sym` to envs/registry.c).
#define MAMJ_TASK(sym, name_, summary_, robot_, segments_, agents_, nominal_, partition_default,  \
                  cost_limit_default)                                                            \
  static const mamj_task_t sym##_task = {name_, robot_, segments_, agents_, nominal_};           \
  static const cfg_param_t sym##_params[] = {                                                    \
      MAMJ_PARAM_ROWS(partition_default, cost_limit_default)};                                   \
  static int sym##_shared_create(const void *params, env_spec_t *spec, void **shared) {          \
    return mamj_shared_create(&sym##_task, params, spec, shared);                                \
  }                                                                                              \
  const env_class_t sym = {                                                                      \
      .name = name_,                                                                             \
      .summary = summary_,                                                                       \
      .params = sym##_params,                                                                    \
      .n_params = (int)(sizeof sym##_params / sizeof sym##_params[0]),                           \
      .params_size = sizeof(mamj_params_t),                                                      \
      .shared_create = sym##_shared_create,                                                      \
      .shared_destroy = mamj_shared_destroy,                                                     \
      .create = mamj_create,                                                                     \
      .destroy = mamj_destroy,                                                                   \
      .reset = mamj_reset,                                                                       \
      .step = mamj_step,                                                                         \
      .state_size = mamj_state_size,                                                             \
      .save_state = mamj_save_state,                                                             \
      .load_state = mamj_load_state,                                                             \
      .raw_step = mamj_raw_step,                                                                 \
      .raw_step_actions = mamj_raw_step_actions,                                                 \
  }
// clang-format on
#endif
