// drone_common (prefix dc_): what the two drone-swarm envs share, so that drone_swarm (MuJoCo
// quadrotors) and drone_swarm_point (the seed's kinematic points) pose exactly the same task:
// the parameters, the world (obstacles, target slots, spawn box), spawning, the geometric crash
// test, reward, cost, success, observations, the spec and the agent graph. It knows nothing
// about how a drone moves; each env owns its dynamics, its state and its save/load.
//
// The task (seeds 000/001, "safe swarm navigation with obstacles"; specs/envs-drone-swarm.md):
// N drones fly from a spawn box to a shared target past M static spherical obstacles.
// The three problems the specs (§10) find in the seed, and what is done about them:
// 1. Scale and rate: a 15 m trip, d_min = 2 m and 1 m obstacles are 20-40x a Crazyflie, and a
//    10 Hz step cannot stabilise a quadrotor. The seed's geometry and dt are kept (they define
//    the task); drone_swarm runs an inner-loop controller at the physics rate under the 10 Hz
//    3-D command, with 2 m/s (xy) and 1 m/s (z) command limits (GCBF+ Crazyflie: 2 and 0.5),
//    so the trip takes 6-9 s rather than 60 s at gym-pybullet-drones' 0.25 m/s.
// 2. Obstacles: the seed's three spheres sit 0.47 m from the straight spawn-target line with
//    1 m gaps between surfaces (< d_min), so their cost zones (r_k + d_safe = 3 m) merge and a
//    safe path goes around the whole chain. Kept as the seed has them; spawn and slots are
//    placed outside every cost zone, so a zero-cost episode exists.
// 3. Reward scale: -distance per step (about -15 per drone at the start) summed over the
//    episode dwarfs the +-100 events; reward_scale_dt fixes it (below), off by default.
// * Slots: N drones cannot all be within 1 m of one point while keeping d_min apart, so the
//   target is N slots (drone i owns slot i): points of a cubic lattice of spacing slot_spacing
//   (>= d_min) centred on the target, taken in order of distance from the target (ties in
//   lexicographic (k, j, i) order), skipping points lower than DC_SLOT_MIN_Z_M or within
//   r_k + d_safe + arrival_radius of an obstacle (a drone that has arrived is never in an
//   obstacle's cost zone). Default spacing 3 m = 1.5 d_min: two drones inside their arrival
//   radius can still be closer than d_min; within (3 - 2)/2 = 0.5 m of their slots they cannot.
// * Spawn: rejection sampling with the reset rng, uniform in an axis-aligned cube centred on
//   spawn_centre of side max(4, 1.5 d_min cbrt(N)) m (5.1 m for N = 5, 12 m for 64; the seed's
//   [0, 5]^3 box contains the (3, 3, 2) obstacle), lifted so its floor is >= DC_SPAWN_MIN_Z_M;
//   a sample is kept when >= r_k + d_safe from every obstacle and >= d_min from every earlier
//   drone (so the first step costs nothing). Bounded attempts; if they all fail (never seen), a
//   fixed lattice spawn computed at creation is used.
// * Obstacles: the `obstacles` list (default the seed's (3,3,2), (7,7,4), (5,5,3), radius 1);
//   n_obstacles < the list takes its first entries, more adds obstacles of radius 1 placed by
//   a fixed generator (the same for every run) between the spawn centre and the target.
// * Reward of drone i per step (seed code, additive): -|p_i - slot_i|
//   - 10 (d_min - d_ij) for every other drone j with d_ij < d_min, + 100 on the step it first
//   comes within arrival_radius of its slot (latched: paid once per episode), - 100 when it
//   crashes. Team reward = sum over drones. reward_scale_dt = true multiplies the two per-step
//   terms by dt = 0.1 s (the specs' §10 fix: per-step distance terms summed over ~200 steps
//   otherwise dwarf the +-100 events); the events are not scaled.
//   reward = progress replaces the distance term by the progress towards the slot,
//   dt v_i . (slot_i - p_i) / |slot_i - p_i| (the velocity after the step; stateless), and
//   scales the proximity term by dt; events as above. Why: with the seed's per-step -distance
//   (scaled or not) and a crash that ends the episode, crashing at once is the optimal policy
//   (one -100 against -1.5 per drone-step for 200 steps at dt scale), and MAPPO-L learns
//   exactly that (episodes end in ~20 steps). The progress term sums to the distance covered
//   towards the slot (about +15 per drone), so crashing is never better than flying; it is the
//   continuous-time form of the potential-based shaping -d(p, slot) (Ng, Harada and Russell
//   1999) and keeps the seed's goal: reach the slots, keep apart, do not crash.
//   reward = geodesic is progress along drone_geodesic's distance field instead of the straight
//   line, -dt v_i . grad D_i(p_i), D_i the grid distance to slot i around the obstacles' cost
//   zones (built once per run: 0.5 m cells, 98-move Dijkstra; 0.2 s for N = 5, 4.3 s and 58 MB
//   for N = 64). Why: the seed's obstacle chain lies across the straight spawn-to-target line,
//   so progress pays for flying into the cost zones and the detour earns nothing until it is
//   over; MAPPO at 6e5 steps reaches ~0.1 slots per episode with progress. Both are
//   potential-based, so neither changes which policies are optimal for the events.
// * Spawn options (defaults: the seed's): spawn_separation (>= d_min) is the rejection
//   sampler's minimum distance and scales the cube; spawn_assignment = matched hands the
//   sampled positions to the drones so that the sum of squared distances to their slots is
//   least (Hungarian method, O(N^3) per reset). Same sampled set, same rng draws. Under the
//   least-squares assignment, synchronised straight paths keep robots apart when starts and
//   goals are far enough apart (Turpin, Michael and Kumar 2014, CAPT), so drones flying to
//   their slots meet less; with random assignment at d_min apart the swarm spends most of the
//   cost budget before it moves.
// * Cost of drone i per step (seed's formal definition, indicators): 1 if some other drone is
//   closer than d_min, plus 1 if it is within r_k + d_safe of some obstacle k (0, 1 or 2).
//   Team cost = sum over drones; env_step_t.costs[i] is drone i's cost. (The seed's code counts
//   1 per too-close neighbour; its formal definition, followed here, counts 1 per drone.)
// * Crash cost (crash_cost = remaining; default none, the seed's): a drone that crashes at step
//   t of T is charged T - t + 1 more cost, as if it sat in violation for the rest of the
//   episode (logged as cost_crash). Why: a crash ends the episode, so under the seed's
//   indicators it also ends the cost, and a Lagrangian learner meets any limit by crashing
//   early (MAPPO-L on drone_swarm does: the multiplier climbs to 7.5 and episodes shrink from
//   200 to 28 steps, every one a crash). Charging the rest of the horizon makes a crash the
//   worst violation, the absorbing-unsafe-state reading of a terminal failure.
// * Crash (ends the episode, -100 to each crashed drone): collision spheres of radius
//   DC_DRONE_RADIUS_M touching (drone-drone centres < 2 r, drone-obstacle < r_k + r), or the
//   drone below DC_CRASH_HEIGHT_M (the floor is z = 0); drone_swarm adds tilt beyond 60 deg.
//   The kinds are logged apart (info crash_floor, crash_obstacle, crash_drone, crash_tilt).
//   The seed charged -100 per step inside an obstacle and went on; a crashed quadrotor cannot.
// * Success (ends the episode, not truncated): every drone within arrival_radius of its slot at
//   the end of a step (the seed's done test, with slots instead of the one point).
// * Observation of drone i (same layout in both envs, zero-padded to spec.max_obs_dim):
//   self [slot_i - p_i (3), v_i (3), body z axis in world (3; (0,0,1) for points), z_i (1),
//   arrived_i (1)] = 11; then the K = min(k_neighbours, N - 1) nearest other drones by
//   distance (ties by index), each [p_j - p_i (3), v_j - v_i (3), d_ij (1)]; then every
//   obstacle in list order, [o_k - p_i (3), |o_k - p_i| - r_k (1)]. 11 + 7K + 4M values.
//   share_obs (centralised state): per drone [slot_i - p_i, p_i, v_i, body z axis, arrived_i]
//   = 13 N (obstacles and target are fixed for a run, so they carry no information).
// * Agent graph (spec.adjacency, fixed for the run): a ring by index, drone i linked to j when
//   their ring distance min(|i - j|, N - |i - j|) <= ceil(K / 2): K neighbours for even K
//   (K + 1 for odd K), complete when K >= N - 1.
// * Default cost limit (cost_limit = -1): 0.025 N T, i.e. 2.5% of drone-steps in cost, the
//   Safety-Gymnasium / OmniSafe convention (25 per 1000 steps), 25 for N = 5 and T = 200. The
//   seed's 0.1 on a discounted sum means "essentially no violation"; set cost_limit=0.1 for it.
// * Episode: 200 steps of 0.1 s (20 s). Spawn centre to target is 14.3 m and the obstacle chain
//   blocks the straight line (specs §10), about 17 m around it: 6-9 s at the 2 m/s (xy) and
//   1 m/s (z) command limits; 20 s leaves slack for the larger boxes and formations of big N.
// * Safety layer (safety_layer = project; default none, which leaves every output as before):
//   the seed's "hard constraints" as drone_safety's one-step projection of the joint command,
//   applied inside step before the dynamics (drone_swarm_point: exact model; drone_swarm:
//   the conservative velocity-mode model, so command = velocity is required). The layer is part
//   of the env as the agents see it: the algorithm stores and learns from the policy's own
//   action (its log-probability, its ratio), and the env executes the projected command, as a
//   safety shield in front of the vehicle would; any algorithm can use it unchanged. Pairs are
//   kept >= d_min; safety_obstacle_margin >= 0 adds ||p_i - o_k|| >= r_k + margin (d_safe:
//   outside the obstacle cost zone). Only with the layer on, the env appends four info values
//   per step (dc_safety_info_names): drones whose command was changed (||u_i - u_bar_i|| >
//   DC_SAFETY_TOL, u_bar the clipped policy command), the sum of those changes' norms, 1 if any
//   drone was changed, 1 if the executed command is not certified safe (the linearised QP was
//   infeasible and a best effort was executed; also refused input). Summed over an episode:
//   intervened drone-steps, total change (their ratio is the mean change), intervention steps,
//   infeasible steps. Nothing lives across steps, so the saved state is unchanged.
#ifndef SAFEMARL_DRONE_COMMON_H
#define SAFEMARL_DRONE_COMMON_H
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/rng.h"
#include "envs/drone_geodesic.h"
#include "envs/drone_safety.h"
#include "envs/env.h"

#define DC_MAX_DRONES ENV_MAX_AGENTS
#define DC_MAX_OBSTACLES 32
#define DC_DT_S 0.1               // control (env) step, the seed's dt
#define DC_DRONE_RADIUS_M 0.06    // collision sphere (gym-pybullet-drones cf2 r = 0.06 m)
#define DC_CRASH_HEIGHT_M 0.2     // below this the drone has crashed (OmniDrones 0.2 m)
#define DC_SPAWN_MIN_Z_M 1.0      // lowest spawn height
#define DC_SLOT_MIN_Z_M 1.5       // lowest slot height
#define DC_ARRIVAL_REWARD 100.0   // seed: +100 on reaching the target
#define DC_CRASH_REWARD -100.0    // seed: -100 on a crash
#define DC_PROXIMITY_WEIGHT 10.0  // seed: -10 (d_min - d) per too-close neighbour
#define DC_SELF_DIM 11
#define DC_NEIGHBOUR_DIM 7
#define DC_OBSTACLE_DIM 4
#define DC_SHARE_DIM 13     // per drone
#define DC_SAFETY_TOL 1e-6  // a drone's command counts as changed above this norm (action units)

// info[] slots both envs fill (drone_swarm appends "mj_warnings").
enum {
  DC_INFO_COST_DD,
  DC_INFO_COST_DO,
  DC_INFO_ARRIVALS,
  DC_INFO_CRASHES,
  DC_INFO_SUCCESS,
  DC_INFO_CRASH_FLOOR,     // drones crashed this step by kind (a drone may count in several)
  DC_INFO_CRASH_OBSTACLE,
  DC_INFO_CRASH_DRONE,
  DC_INFO_CRASH_TILT,
  DC_INFO_COST_CRASH,      // cost charged for crashes (crash_cost = remaining; else 0)
  DC_N_INFO
};

// Crash kinds: bits of a crashed[] entry (nonzero = crashed).
enum { DC_CRASH_FLOOR = 1, DC_CRASH_OBSTACLE = 2, DC_CRASH_DRONE = 4, DC_CRASH_TILT = 8 };

// info[] slots the safety layer appends after an env's own, only when it is on.
enum {
  DC_SAFETY_INFO_INTERVENTIONS,  // drones whose command was changed this step
  DC_SAFETY_INFO_CHANGE,         // sum over those drones of ||u_i - u_bar_i||
  DC_SAFETY_INFO_STEPS,          // 1 when some drone was changed
  DC_SAFETY_INFO_INFEASIBLE,     // 1 when the executed command is not certified (best effort)
  DC_N_SAFETY_INFO
};

enum { DC_SAFETY_NONE, DC_SAFETY_PROJECT };

// The "env" config section of both envs (each lists only the keys it uses).
typedef struct {
  int n_drones;
  int n_obstacles;                 // -1: as many as `obstacles` lists
  char obstacles[CFG_STR_MAX];     // "x,y,z,r;x,y,z,r;..."
  char target[CFG_STR_MAX];        // "x,y,z"
  char spawn_centre[CFG_STR_MAX];  // "x,y,z"
  double d_min, d_safe, arrival_radius, slot_spacing;
  int k_neighbours;
  int episode_length;
  int reward_scale_dt;
  char reward[CFG_STR_MAX];  // seed | progress
  char crash_cost[CFG_STR_MAX];  // none | remaining
  double spawn_separation;       // -1: d_min
  char spawn_assignment[CFG_STR_MAX];  // random | matched
  double cost_limit;               // -1: 0.025 N T
  char safety_layer[CFG_STR_MAX];  // none | project
  double safety_obstacle_margin;   // < 0: no obstacle constraints in the projection
  // drone_swarm only
  char command[CFG_STR_MAX];  // velocity | acceleration
  double v_max_xy, v_max_z, a_max;
  // drone_swarm_point only
  double accel_scale;
} dc_params_t;

// The fixed world of a run: read-only after dc_world_init, shared by every copy.
typedef struct {
  int n, m, k;                           // drones, obstacles, observed neighbours
  double obstacle[DC_MAX_OBSTACLES][4];  // centre x, y, z, radius
  double target[3];
  double slot[DC_MAX_DRONES][3];
  double spawn_lo[3], spawn_hi[3];
  double fallback_spawn[DC_MAX_DRONES][3];
  double d_min, d_safe, arrival_radius;
  double step_weight;  // multiplies the per-step reward terms: 1 (seed) or dt
  int reward_progress; // reward = progress (velocity towards the slot instead of -distance)
  int crash_cost_remaining;  // a crash is charged 1 cost per step left in the episode
  int reward_geodesic;       // reward = geodesic (progress along the distance field geo)
  dgeo_field_t geo;          // reward_geodesic: one distance field per slot (dc_world_free)
  double spawn_sep;          // minimum distance between spawned drones (>= d_min)
  int spawn_matched;         // spawn positions matched to slots (min sum of squared distances)
  int episode_length;
  double cost_limit;
  int obs_dim, share_dim;
  int safety_layer;               // DC_SAFETY_NONE or DC_SAFETY_PROJECT
  double safety_obstacle_margin;  // < 0: pairs only
} dc_world_t;

// Per-step values both envs compute from positions and velocities ([n][3] flat arrays).
typedef struct {
  double dist[DC_MAX_DRONES * DC_MAX_DRONES];  // pairwise distances, [i * n + j]
  double drone_reward[DC_MAX_DRONES];
} dc_scratch_t;

extern const char *const dc_info_names[DC_N_INFO];
extern const char *const dc_safety_info_names[DC_N_SAFETY_INFO];

// One env copy's safety layer: the projection workspace (NULL when the layer is off), the
// executed command and the current step's statistics (scratch: nothing lives across steps).
typedef struct {
  dsafe_ws_t *ws;
  float u[3 * DC_MAX_DRONES];
  float info[DC_N_SAFETY_INFO];
} dc_safety_t;

// clang-format off
// Parameter-table rows both envs list (the "env" section); each env adds its own after them.
#define DC_PARAM_ROWS                                                                          \
  {"n_drones", CFG_INT, offsetof(dc_params_t, n_drones), "5",                                  \
   "number of drones N (agents)", NULL, 1, DC_MAX_DRONES},                                     \
  {"n_obstacles", CFG_INT, offsetof(dc_params_t, n_obstacles), "-1",                           \
   "obstacles M: -1 = the `obstacles` list; fewer takes its first ones, more adds radius-1 "   \
   "spheres from a fixed generator between spawn and target", NULL, -1, DC_MAX_OBSTACLES},     \
  {"obstacles", CFG_STRING, offsetof(dc_params_t, obstacles), "3,3,2,1;7,7,4,1;5,5,3,1",       \
   "static spheres \"x,y,z,r;...\" (the seed's three)", NULL, 0, -1},                          \
  {"target", CFG_STRING, offsetof(dc_params_t, target), "10,10,5",                             \
   "shared target \"x,y,z\", the centre of the slot lattice (seed)", NULL, 0, -1},             \
  {"spawn_centre", CFG_STRING, offsetof(dc_params_t, spawn_centre), "0,0,3",                   \
   "centre \"x,y,z\" of the spawn cube (side max(4, 1.5 d_min cbrt(N)) m)", NULL, 0, -1},      \
  {"d_min", CFG_FLOAT, offsetof(dc_params_t, d_min), "2",                                      \
   "drone-drone distance below which cost and the proximity penalty apply (seed)", NULL,       \
   1e-3, 100.0},                                                                               \
  {"d_safe", CFG_FLOAT, offsetof(dc_params_t, d_safe), "2",                                    \
   "obstacle cost within r_k + d_safe of obstacle k (seed)", NULL, 0.0, 100.0},               \
  {"arrival_radius", CFG_FLOAT, offsetof(dc_params_t, arrival_radius), "1",                    \
   "a drone has arrived within this distance of its slot (seed: 1 m)", NULL, 1e-3, 100.0},     \
  {"slot_spacing", CFG_FLOAT, offsetof(dc_params_t, slot_spacing), "3",                        \
   "lattice spacing of the target slots, >= d_min", NULL, 1e-3, 100.0},                       \
  {"k_neighbours", CFG_INT, offsetof(dc_params_t, k_neighbours), "4",                          \
   "nearest drones in each observation (min(K, N-1)); also the ring degree of the agent graph",\
   NULL, 0, DC_MAX_DRONES - 1},                                                                \
  {"episode_length", CFG_INT, offsetof(dc_params_t, episode_length), "200",                    \
   "time limit in steps of 0.1 s", NULL, 1, 1000000},                                          \
  {"reward", CFG_STRING, offsetof(dc_params_t, reward), "seed",                              \
   "per-step reward: seed = -distance to the slot; progress = velocity towards the slot x dt "   \
   "(proximity term x dt; events unchanged); geodesic = progress along the distance around "   \
   "the obstacles' cost zones", "seed|progress|geodesic", 0, -1},                              \
  {"spawn_separation", CFG_FLOAT, offsetof(dc_params_t, spawn_separation), "-1",              \
   "minimum distance between spawned drones (>= d_min; -1 = d_min, the seed's); the spawn "    \
   "cube's side is max(4, 1.5 spawn_separation cbrt(N))", NULL, -1.0, 100.0},                  \
  {"spawn_assignment", CFG_STRING, offsetof(dc_params_t, spawn_assignment), "random",         \
   "random = drone i takes the i-th sampled position; matched = the sampled positions are "    \
   "given to the drones minimising the sum of squared distances to their slots", "random|matched",\
   0, -1},                                                                                     \
  {"crash_cost", CFG_STRING, offsetof(dc_params_t, crash_cost), "none",                      \
   "cost of a crash: none (the seed's indicators only) or remaining = 1 per step left in the " \
   "episode, crash step included (a crash cannot end the cost early)", "none|remaining", 0, -1},\
  {"reward_scale_dt", CFG_BOOL, offsetof(dc_params_t, reward_scale_dt), "false",               \
   "multiply the per-step distance and proximity terms by dt = 0.1 (false: the seed's reward)",\
   NULL, 0, -1},                                                                               \
  {"cost_limit", CFG_FLOAT, offsetof(dc_params_t, cost_limit), "-1",                           \
   "default limit on the episodic team cost; -1 = 0.025 N episode_length (2.5% of "            \
   "drone-steps: 25 for N = 5)", NULL, -1.0, 1e9},                                            \
  {"safety_layer", CFG_STRING, offsetof(dc_params_t, safety_layer), "none",                    \
   "hard-constraint layer inside step: project = the joint command nearest the policy's that "\
   "keeps every pair >= d_min after the step (drone_safety.h; policies learn from their own "  \
   "actions)", "none|project", 0, -1},                                                         \
  {"safety_obstacle_margin", CFG_FLOAT, offsetof(dc_params_t, safety_obstacle_margin), "-1",   \
   "safety_layer=project: also keep each drone >= r_k + margin from obstacle k (d_safe: out "  \
   "of the cost zone); -1 = drone pairs only", NULL, -1.0, 100.0}
// clang-format on

// Validate p and build the world. Returns 0 or ERR_INPUT with "env.key: reason".
int dc_world_init(dc_world_t *w, const dc_params_t *p);
// Free what dc_world_init allocated (the geodesic fields); w stays valid to free again.
void dc_world_free(dc_world_t *w);
// The assignment of n rows to n columns of least total cost[r * n + c] (Hungarian method,
// O(n^3)): col_of_row[r]. Exposed for the test against brute force.
void dc_assign(int n, const double *cost, int *col_of_row);
// Fill spec: agents, dims (3-D actions in [-1, 1]), episode length, cost limit, adjacency and
// the n_info names (the first DC_N_INFO are dc_info_names).
void dc_fill_spec(const dc_world_t *w, const char *name, int n_info, const char *const *info_names,
                  env_spec_t *spec);
// Spawn positions pos[n][3] drawn from rng. Returns 1 when the fallback spawn was used, else 0.
int dc_spawn(const dc_world_t *w, rng_t *rng, double *pos);
// 1 when the spawn constraints hold for pos (inside the box, obstacle clearance, d_min apart).
int dc_spawn_valid(const dc_world_t *w, const double *pos);
// Geometric crash test: crashed[i] = 1 for drones touching another drone or an obstacle or
// below the crash height (drones already marked stay marked). pos is read with stride `stride`
// doubles per drone (3 for a flat [n][3] array, 7 to read MuJoCo qpos of free joints).
// Returns the number of drones marked.
int dc_crash_test(const dc_world_t *w, const double *pos, int stride, uint8_t *crashed);
// Reward, costs and termination of one step at positions pos[n][3]: fills out->reward,
// out->costs[n], out->team_cost, out->info[0..DC_N_INFO), sc->dist and sc->drone_reward, and
// latches arrived[]. Returns 1 when the episode ends (a crash or success), else 0.
int dc_evaluate(const dc_world_t *w, const double *pos, const double *vel, const uint8_t *crashed,
                uint8_t *arrived,
                dc_scratch_t *sc, env_step_t *out);
// Crash cost (crash_cost = remaining): each drone crashed[i] at the step that makes `steps`
// steps of the episode is charged episode_length - steps + 1 more (costs[i], team_cost) and
// info[DC_INFO_COST_CRASH] gets the total; with crash_cost = none it is set to 0. Call after
// dc_evaluate.
void dc_charge_crashes(const dc_world_t *w, const uint8_t *crashed, int steps, env_step_t *out);
// Pairwise distances into sc->dist (dc_evaluate does this; dc_observe reads them).
void dc_distances(const dc_world_t *w, const double *pos, dc_scratch_t *sc);
// Observations: obs [n][obs_stride] (zero-padded), share [share_dim]. up[n][3] is each drone's
// body z axis in the world, NULL for (0, 0, 1). Reads sc->dist (call after dc_distances).
void dc_observe(const dc_world_t *w, const double *pos, const double *vel, const double *up,
                const uint8_t *arrived, const dc_scratch_t *sc, float *obs, int obs_stride,
                float *share);
// Clip an action component to [-1, 1]; NaN gives 0.
double dc_clip_action(float a);

// Safety layer. spec's info names for an env whose own are base[0..n_base): base, then
// dc_safety_info_names when the layer is on. Returns the count.
int dc_safety_info_list(const dc_world_t *w, const char *const *base, int n_base,
                        const char **names);
// The workspace when w->safety_layer is on (sf zeroed otherwise). Returns 0 or ERR_FAIL.
int dc_safety_create(const dc_world_t *w, dc_safety_t *sf);
void dc_safety_destroy(dc_safety_t *sf);
// Project the policy's joint command actions[n][3] at positions / velocities pos, vel [n][3]:
// drone_swarm_point's exact model when vm is NULL (accel_scale), drone_swarm's conservative
// velocity model otherwise. Fills sf->u (the command to execute: bit for bit the policy's for
// drones left alone) and sf->info; returns sf->u. Never fails: refused input (non-finite
// state) passes the command through and counts as infeasible.
const float *dc_safety_apply(const dc_world_t *w, dc_safety_t *sf, const double *pos,
                             const double *vel, double accel_scale,
                             const dsafe_velocity_model_t *vm, const float *actions);
#endif
