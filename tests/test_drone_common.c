// test_drone_common: the drone-swarm task functions on constructed worlds and positions.
// * world: the seed's defaults; slots >= d_min apart (exactly the lattice spacing) for N = 5, 16,
//   64, clear of the obstacles' cost zones by the arrival radius and above the slot floor;
//   obstacle lists cut or extended (generated ones clear of slots and of each other); bad
//   parameters refused with the key named; the default cost limit 0.025 N T;
// * spawn: 300 resets each for N = 5, 16, 64 give valid spawns inside the box, without the
//   fallback; the same rng gives the same spawn; the fallback spawn is valid too;
// * crash: the contact spheres (2 x 0.06 m; r_k + 0.06 m) and the 0.2 m floor, +-0.01 m;
// * cost: two drones at 1.9 m cost 1 each, at 2.1 m nothing; a drone at r_k + d_safe -/+ 0.05 m
//   from an obstacle costs 1 / 0; both at once cost 2;
// * reward: the seed's terms to 1e-9, the dt scaling, the latched +100, -100 on a crash;
//   success only when every drone is in its slot and none crashed; reward = progress: dt times
//   the velocity component towards the slot (+ towards, - away, 0 sideways), the proximity
//   term x dt, events unchanged; a bad value refused naming env.reward; reward = geodesic:
//   about progress in free space, less than progress straight at the obstacle chain;
// * crash cost (none / remaining) at constructed crashes; spawn options: the Hungarian
//   assignment against brute force (n <= 7, ties included), separation honoured, matched spawns
//   a permutation of the random ones with the least sum of squared slot distances;
// * observations: layout, the K nearest in order (ties by index), obstacle surface distances,
//   zero padding; share_obs layout; the ring adjacency for even, odd and large K.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "envs/drone_common.h"
#include "tests/check.h"

static const cfg_param_t common_rows[] = {DC_PARAM_ROWS};

static void defaults(dc_params_t *p) {
  memset(p, 0, sizeof *p);
  cfg_section_t sec = {"env", common_rows, (int)(sizeof common_rows / sizeof common_rows[0]), p};
  CHECK(cfg_set_defaults(&sec, 1) == 0, "defaults: %s", err_message());
}

static double dist3(const double *a, const double *b) {
  return sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
              (a[2] - b[2]) * (a[2] - b[2]));
}

static void test_world(void) {
  dc_params_t p;
  defaults(&p);
  dc_world_t w;
  CHECK(dc_world_init(&w, &p) == 0, "defaults: %s", err_message());
  CHECK(w.n == 5 && w.m == 3 && w.k == 4, "N %d M %d K %d", w.n, w.m, w.k);
  CHECK(w.obstacle[2][0] == 5 && w.obstacle[2][1] == 5 && w.obstacle[2][2] == 3 &&
            w.obstacle[2][3] == 1,
        "third obstacle is the seed's (5, 5, 3), r 1");
  CHECK(w.target[0] == 10 && w.target[1] == 10 && w.target[2] == 5, "target (10, 10, 5)");
  CHECK(w.slot[0][0] == 10 && w.slot[0][1] == 10 && w.slot[0][2] == 5, "slot 0 is the target");
  CHECK_NEAR(w.cost_limit, 0.025 * 5 * 200, 1e-12, "default cost limit 0.025 N T = 25");
  CHECK(w.obs_dim == 11 + 7 * 4 + 4 * 3 && w.share_dim == 65, "obs %d share %d", w.obs_dim,
        w.share_dim);
  CHECK(w.step_weight == 1.0, "seed reward: unscaled");

  static const int sizes[] = {5, 16, 64};
  for (int s = 0; s < 3; s++) {
    p.n_drones = sizes[s];
    CHECK(dc_world_init(&w, &p) == 0, "N %d: %s", sizes[s], err_message());
    double closest = INFINITY, worst_clear = INFINITY, lowest = INFINITY;
    for (int i = 0; i < w.n; i++) {
      for (int j = i + 1; j < w.n; j++) closest = fmin(closest, dist3(w.slot[i], w.slot[j]));
      for (int o = 0; o < w.m; o++)
        worst_clear = fmin(worst_clear, dist3(w.slot[i], w.obstacle[o]) - w.obstacle[o][3] -
                                            w.d_safe - w.arrival_radius);
      lowest = fmin(lowest, w.slot[i][2]);
    }
    // Lattice points: differences are exact multiples of the spacing.
    CHECK(closest >= w.d_min && fabs(closest - 3.0) < 1e-12, "N %d: closest slots %.6f m", w.n,
          closest);
    CHECK(worst_clear >= 0, "N %d: a slot's arrival zone reaches an obstacle's cost zone (%g)", w.n,
          worst_clear);
    CHECK(lowest >= DC_SLOT_MIN_Z_M, "N %d: slot at z %g", w.n, lowest);
    // Compact: every slot within the smallest lattice ball that can hold N points plus the
    // exclusions (a loose bound: 4 spacings for 64).
    for (int i = 0; i < w.n; i++)
      CHECK(dist3(w.slot[i], w.target) <= 3.0 * 4 + 1e-9, "N %d: slot %d %.1f m from the target",
            w.n, i, dist3(w.slot[i], w.target));
  }
  p.n_drones = 5;

  // Obstacle list cut, emptied and extended.
  p.n_obstacles = 1;
  CHECK(dc_world_init(&w, &p) == 0 && w.m == 1 && w.obstacle[0][0] == 3, "n_obstacles 1");
  CHECK(w.obs_dim == 11 + 28 + 4, "obs dim with one obstacle: %d", w.obs_dim);
  p.n_obstacles = 0;
  CHECK(dc_world_init(&w, &p) == 0 && w.m == 0 && w.obs_dim == 39, "no obstacles");
  p.n_obstacles = 10;
  p.n_drones = 16;
  CHECK(dc_world_init(&w, &p) == 0 && w.m == 10, "10 obstacles: %s", err_message());
  for (int o = 3; o < w.m; o++) {
    CHECK(w.obstacle[o][3] == 1.0, "generated radius 1");
    for (int q = 0; q < o; q++)
      CHECK(dist3(w.obstacle[o], w.obstacle[q]) >= w.obstacle[o][3] + w.obstacle[q][3] + 1.0,
            "generated obstacle %d 1 m clear of obstacle %d", o, q);
    for (int i = 0; i < w.n; i++)
      CHECK(dist3(w.obstacle[o], w.slot[i]) >= 1.0 + w.d_safe + w.arrival_radius,
            "generated obstacle %d clear of slot %d", o, i);
  }
  dc_world_t w2;
  CHECK(dc_world_init(&w2, &p) == 0 && memcmp(w.obstacle, w2.obstacle, sizeof w.obstacle) == 0,
        "generated obstacles are the same every time");
  defaults(&p);
  snprintf(p.obstacles, sizeof p.obstacles, "%s", "0,0,20,2");
  CHECK(dc_world_init(&w, &p) == 0 && w.m == 1 && w.obstacle[0][3] == 2, "custom list");
  p.reward_scale_dt = 1;
  p.cost_limit = 3.5;
  p.n_drones = 2;
  CHECK(dc_world_init(&w, &p) == 0 && w.step_weight == 0.1 && w.cost_limit == 3.5 && w.k == 1,
        "dt scaling, explicit limit, K = N - 1");

  // Bad input names the key.
  static const struct {
    const char *key, *value;
  } bad[] = {{"obstacles", "1,2,3"},    {"obstacles", "1,2,3,0"}, {"obstacles", "a,b,c,d"},
             {"obstacles", "1,2,3,1;"}, {"target", "1,2"},        {"target", "1,2,3,4"},
             {"spawn_centre", "x,0,0"}, {"slot_spacing", "1.5"},  {"cost_limit", "-0.5"}};
  for (int b = 0; b < (int)(sizeof bad / sizeof bad[0]); b++) {
    defaults(&p);
    if (!strcmp(bad[b].key, "obstacles")) snprintf(p.obstacles, CFG_STR_MAX, "%s", bad[b].value);
    if (!strcmp(bad[b].key, "target")) snprintf(p.target, CFG_STR_MAX, "%s", bad[b].value);
    if (!strcmp(bad[b].key, "spawn_centre"))
      snprintf(p.spawn_centre, CFG_STR_MAX, "%s", bad[b].value);
    if (!strcmp(bad[b].key, "slot_spacing")) p.slot_spacing = atof(bad[b].value);
    if (!strcmp(bad[b].key, "cost_limit")) p.cost_limit = atof(bad[b].value);
    int rc = dc_world_init(&w, &p);
    char want[64];
    snprintf(want, sizeof want, "env.%s", bad[b].key);
    CHECK(rc == ERR_INPUT && strstr(err_message(), want), "%s=%s: rc %d, '%s'", bad[b].key,
          bad[b].value, rc, err_message());
  }
}

static void test_spawn(void) {
  static const int sizes[] = {5, 16, 64};
  for (int s = 0; s < 3; s++) {
    dc_params_t p;
    defaults(&p);
    p.n_drones = sizes[s];
    dc_world_t w;
    if (dc_world_init(&w, &p)) continue;
    double side = fmax(4.0, 3.0 * cbrt((double)w.n));
    CHECK_NEAR(w.spawn_hi[0] - w.spawn_lo[0], side, 1e-12, "spawn box side");
    CHECK(w.spawn_lo[2] >= DC_SPAWN_MIN_Z_M - 1e-12, "spawn box above the floor");
    CHECK(dc_spawn_valid(&w, &w.fallback_spawn[0][0]), "N %d: fallback spawn valid", w.n);
    rng_t r;
    rng_seed(&r, 7);
    int fallbacks = 0, invalid = 0, outside = 0;
    double pos[3 * DC_MAX_DRONES], again[3 * DC_MAX_DRONES];
    for (int k = 0; k < 300; k++) {
      fallbacks += dc_spawn(&w, &r, pos);
      invalid += !dc_spawn_valid(&w, pos);
      for (int i = 0; i < 3 * w.n; i++)
        outside += pos[i] < w.spawn_lo[i % 3] || pos[i] > w.spawn_hi[i % 3];
    }
    CHECK(fallbacks == 0 && invalid == 0 && outside == 0,
          "N %d: 300 spawns: %d fallbacks, %d invalid, %d coordinates outside the box", w.n,
          fallbacks, invalid, outside);
    rng_t r1, r2;
    rng_seed(&r1, 99);
    rng_seed(&r2, 99);
    dc_spawn(&w, &r1, pos);
    dc_spawn(&w, &r2, again);
    CHECK(memcmp(pos, again, sizeof(double) * 3 * w.n) == 0, "same rng, same spawn");
  }
}

// A 3-drone world far from the obstacles: drones placed by hand.
static const double zero_vel[3 * DC_MAX_DRONES];  // every drone at rest

static void small_world(dc_world_t *w, int scale_dt) {
  dc_params_t p;
  defaults(&p);
  p.n_drones = 3;
  p.reward_scale_dt = scale_dt;
  CHECK(dc_world_init(w, &p) == 0, "3 drones: %s", err_message());
}

static void test_crash(void) {
  dc_world_t w;
  small_world(&w, 0);
  double pos[9] = {-10, -10, 5, -10, 0, 5, -10, 10, 5};
  uint8_t crashed[3] = {0};
  CHECK(dc_crash_test(&w, pos, 3, crashed) == 0, "apart and high: no crash");
  pos[3 * 1 + 0] = -10;
  pos[3 * 1 + 1] = -10 + 0.13;
  CHECK(dc_crash_test(&w, pos, 3, crashed) == 0, "0.13 m apart: spheres of 0.06 m clear");
  pos[3 * 1 + 1] = -10 + 0.11;
  CHECK(dc_crash_test(&w, pos, 3, crashed) == 2 && crashed[0] && crashed[1] && !crashed[2],
        "0.11 m apart: both crash");
  CHECK(crashed[0] == DC_CRASH_DRONE && crashed[1] == DC_CRASH_DRONE, "kind: drone-drone (%d %d)",
        crashed[0], crashed[1]);
  memset(crashed, 0, 3);
  double o[3] = {3, 3, 2};  // obstacle 0, r 1
  double pos2[9] = {o[0], o[1], o[2] + 1.07, -10, 0, 5, -10, 10, 0.21};
  CHECK(dc_crash_test(&w, pos2, 3, crashed) == 0, "1.07 m from a radius-1 centre, 0.21 m high");
  pos2[2] = o[2] + 1.05;
  pos2[8] = 0.19;
  CHECK(dc_crash_test(&w, pos2, 3, crashed) == 2 && crashed[0] && !crashed[1] && crashed[2],
        "touching the obstacle (1.05 m) and below 0.2 m");
  CHECK(crashed[0] == DC_CRASH_OBSTACLE && crashed[2] == DC_CRASH_FLOOR, "kinds: obstacle, floor");
  // Stride 7 reads MuJoCo qpos (position then quaternion).
  double qpos[21] = {-10, -10, 5, 1, 0, 0, 0, -10, -9.95, 5, 1, 0, 0, 0, -10, 10, 5, 1, 0, 0, 0};
  memset(crashed, 0, 3);
  CHECK(dc_crash_test(&w, qpos, 7, crashed) == 2 && !crashed[2], "stride 7");
}

static void test_cost_reward(void) {
  dc_world_t w;
  small_world(&w, 0);
  dc_scratch_t sc;
  float costs[3], obs_unused;
  (void)obs_unused;
  env_step_t out = {.costs = costs};
  uint8_t arrived[3] = {0}, crashed[3] = {0};
  // Drones 0 and 1 at 1.9 m, drone 2 far: cost 1 each for 0 and 1.
  double pos[9] = {-10, -10, 5, -10 + 1.9, -10, 5, -10, 10, 5};
  CHECK(dc_evaluate(&w, pos, zero_vel, crashed, arrived, &sc, &out) == 0, "not terminal");
  CHECK(costs[0] == 1 && costs[1] == 1 && costs[2] == 0 && out.team_cost == 2,
        "1.9 m: costs %g %g %g team %g", costs[0], costs[1], costs[2], out.team_cost);
  CHECK(out.info[DC_INFO_COST_DD] == 2 && out.info[DC_INFO_COST_DO] == 0, "components");
  double want = 0;
  for (int i = 0; i < 3; i++) want -= dist3(pos + 3 * i, w.slot[i]);
  want -= 2 * 10 * (2.0 - 1.9);
  CHECK_NEAR(out.reward, want, 1e-3, "team reward: -distances - 10 (d_min - d) twice");
  CHECK_NEAR(sc.drone_reward[0], -dist3(pos, w.slot[0]) - 1.0, 1e-9, "drone 0's reward");
  pos[3] = -10 + 2.1;
  dc_evaluate(&w, pos, zero_vel, crashed, arrived, &sc, &out);
  CHECK(out.team_cost == 0 && costs[0] == 0 && costs[1] == 0, "2.1 m: no cost");
  // Three drones pairwise close: each costs 1 (an indicator), the penalty counts neighbours.
  double tri[9] = {-10, -10, 5, -9, -10, 5, -9.5, -10 + 0.866, 5};
  dc_evaluate(&w, tri, zero_vel, crashed, arrived, &sc, &out);
  CHECK(out.team_cost == 3 && costs[0] == 1, "triangle of 1 m: cost 1 per drone");
  CHECK_NEAR(sc.drone_reward[0], -dist3(tri, w.slot[0]) - 10.0 - 10 * (2 - dist3(tri, tri + 6)),
             1e-9, "penalty per too-close neighbour");

  // Obstacle 0 (3, 3, 2), r 1, d_safe 2: cost inside 3 m.
  double near[9] = {3, 3, 2 + 2.95, -10, 0, 5, -10, 10, 5};
  dc_evaluate(&w, near, zero_vel, crashed, arrived, &sc, &out);
  CHECK(costs[0] == 1 && out.team_cost == 1 && out.info[DC_INFO_COST_DO] == 1,
        "r + d_safe - 0.05: cost %g", costs[0]);
  near[2] = 2 + 3.05;
  dc_evaluate(&w, near, zero_vel, crashed, arrived, &sc, &out);
  CHECK(costs[0] == 0 && out.team_cost == 0, "r + d_safe + 0.05: cost %g", costs[0]);
  // Both kinds at once: 2.
  near[2] = 2 + 2.95;
  near[3] = 3 + 1.5;
  near[4] = 3;
  near[5] = 2 + 2.95;
  dc_evaluate(&w, near, zero_vel, crashed, arrived, &sc, &out);
  CHECK(costs[0] == 2 && costs[1] == 2 && out.team_cost == 4,
        "near an obstacle and a drone: 2 each (%g %g)", costs[0], costs[1]);

  // Arrival: +100 once, success when all are in.
  double at[9];
  for (int i = 0; i < 3; i++)
    for (int a = 0; a < 3; a++) at[3 * i + a] = w.slot[i][a] + (i == 2 && a == 0 ? 5.0 : 0.3);
  memset(arrived, 0, 3);
  CHECK(dc_evaluate(&w, at, zero_vel, crashed, arrived, &sc, &out) == 0, "two of three in: not done");
  CHECK(out.info[DC_INFO_ARRIVALS] == 2 && arrived[0] && arrived[1] && !arrived[2], "arrivals 2");
  CHECK_NEAR(sc.drone_reward[0], 100 - sqrt(3 * 0.09), 1e-9, "arrival bonus");
  dc_evaluate(&w, at, zero_vel, crashed, arrived, &sc, &out);
  CHECK(out.info[DC_INFO_ARRIVALS] == 0 && sc.drone_reward[0] < 0, "the bonus is paid once");
  at[6] = w.slot[2][0] + 0.3;
  CHECK(dc_evaluate(&w, at, zero_vel, crashed, arrived, &sc, &out) == 1, "all in: done");
  CHECK(out.info[DC_INFO_SUCCESS] == 1 && out.info[DC_INFO_ARRIVALS] == 1, "success");
  // A crash ends it without success, -100 to the crashed drone.
  crashed[1] = 1;
  CHECK(dc_evaluate(&w, at, zero_vel, crashed, arrived, &sc, &out) == 1, "crash: done");
  CHECK(out.info[DC_INFO_SUCCESS] == 0 && out.info[DC_INFO_CRASHES] == 1, "crash, no success");
  crashed[1] = DC_CRASH_FLOOR | DC_CRASH_DRONE;
  crashed[0] = DC_CRASH_TILT;
  dc_evaluate(&w, at, zero_vel, crashed, arrived, &sc, &out);
  CHECK(out.info[DC_INFO_CRASHES] == 2 && out.info[DC_INFO_CRASH_FLOOR] == 1 &&
            out.info[DC_INFO_CRASH_OBSTACLE] == 0 && out.info[DC_INFO_CRASH_DRONE] == 1 &&
            out.info[DC_INFO_CRASH_TILT] == 1,
        "crash kinds counted per drone: floor %g obstacle %g drone %g tilt %g",
        out.info[DC_INFO_CRASH_FLOOR], out.info[DC_INFO_CRASH_OBSTACLE],
        out.info[DC_INFO_CRASH_DRONE], out.info[DC_INFO_CRASH_TILT]);
  crashed[0] = 0;
  crashed[1] = 1;
  CHECK_NEAR(sc.drone_reward[1], -100 - sqrt(3 * 0.09), 1e-9, "crash penalty");

  // dt scaling: per-step terms x 0.1, events unchanged.
  dc_world_t ws;
  small_world(&ws, 1);
  uint8_t none[3] = {0}, arr2[3] = {0};
  double pos3[9] = {-10, -10, 5, -10 + 1.9, -10, 5, -10, 10, 5};
  dc_evaluate(&ws, pos3, zero_vel, none, arr2, &sc, &out);
  CHECK_NEAR(sc.drone_reward[0], 0.1 * (-dist3(pos3, ws.slot[0]) - 1.0), 1e-9, "scaled terms");
  none[2] = 1;
  dc_evaluate(&ws, pos3, zero_vel, none, arr2, &sc, &out);
  CHECK_NEAR(sc.drone_reward[2], -0.1 * dist3(pos3 + 6, ws.slot[2]) - 100, 1e-9,
             "crash penalty unscaled");
}

// reward = progress: dt v . unit(slot - p), the proximity penalty x dt, events unchanged.
static void test_progress_reward(void) {
  dc_params_t p;
  defaults(&p);
  p.n_drones = 3;
  snprintf(p.reward, sizeof p.reward, "progress");
  dc_world_t w;
  CHECK(dc_world_init(&w, &p) == 0, "progress world: %s", err_message());
  dc_scratch_t sc;
  float costs[3];
  env_step_t out = {.costs = costs};
  uint8_t arrived[3] = {0}, crashed[3] = {0};
  double pos[9] = {-10, -10, 5, -10 + 1.9, -10, 5, -10, 10, 5};
  double vel[9] = {0};
  double u[3], d = dist3(pos, w.slot[0]);
  for (int a = 0; a < 3; a++) u[a] = (w.slot[0][a] - pos[a]) / d;
  // Drone 0 at 2 m/s towards its slot, drone 1 at 1 m/s away from its slot, drone 2 sideways.
  double d1 = dist3(pos + 3, w.slot[1]);
  for (int a = 0; a < 3; a++) {
    vel[a] = 2.0 * u[a];
    vel[3 + a] = -(w.slot[1][a] - pos[3 + a]) / d1;
  }
  double u2[3], d2 = dist3(pos + 6, w.slot[2]);
  for (int a = 0; a < 3; a++) u2[a] = (w.slot[2][a] - pos[6 + a]) / d2;
  double side[3] = {u2[1], -u2[0], 0.0};  // perpendicular to u2 (u2 . side = 0)
  for (int a = 0; a < 3; a++) vel[6 + a] = side[a];
  dc_evaluate(&w, pos, vel, crashed, arrived, &sc, &out);
  CHECK_NEAR(sc.drone_reward[0], 0.1 * 2.0 - 0.1 * 10 * (2.0 - 1.9), 1e-9,
             "towards at 2 m/s, one neighbour at 1.9 m");
  CHECK_NEAR(sc.drone_reward[1], -0.1 - 0.1 * 10 * (2.0 - 1.9), 1e-9, "away at 1 m/s");
  CHECK_NEAR(sc.drone_reward[2], 0.0, 1e-9, "sideways: no progress");
  CHECK(costs[0] == 1 && costs[1] == 1 && costs[2] == 0, "costs unchanged by the reward form");
  // At rest a crash costs exactly the event.
  crashed[2] = 1;
  dc_evaluate(&w, pos, zero_vel, crashed, arrived, &sc, &out);
  CHECK_NEAR(sc.drone_reward[2], -100.0, 1e-9, "crash at rest: -100");
  snprintf(p.reward, sizeof p.reward, "distance");
  CHECK(dc_world_init(&w, &p) == ERR_INPUT && strstr(err_message(), "env.reward"),
        "bad reward refused: %s", err_message());
}

// crash_cost = remaining: a crash at step t of T adds T - t + 1 to the crashed drone's cost;
// none (the default) adds nothing; the component is logged either way.
static void test_crash_cost(void) {
  dc_params_t p;
  defaults(&p);
  p.n_drones = 3;
  p.episode_length = 200;
  dc_world_t w;
  CHECK(dc_world_init(&w, &p) == 0 && !w.crash_cost_remaining, "default: none");
  dc_scratch_t sc;
  float costs[3];
  env_step_t out = {.costs = costs};
  uint8_t arrived[3] = {0}, crashed[3] = {0, 1, 0};
  double pos[9] = {-10, -10, 5, -10 + 1.9, -10, 5, -10, 10, 5};  // 0 and 1 too close
  dc_evaluate(&w, pos, zero_vel, crashed, arrived, &sc, &out);
  dc_charge_crashes(&w, crashed, 30, &out);
  CHECK(costs[0] == 1 && costs[1] == 1 && costs[2] == 0 && out.team_cost == 2 &&
            out.info[DC_INFO_COST_CRASH] == 0,
        "none: the seed's indicators only (%g %g %g, team %g)", costs[0], costs[1], costs[2],
        out.team_cost);
  snprintf(p.crash_cost, sizeof p.crash_cost, "remaining");
  CHECK(dc_world_init(&w, &p) == 0 && w.crash_cost_remaining, "remaining");
  crashed[2] = 1;
  dc_evaluate(&w, pos, zero_vel, crashed, arrived, &sc, &out);
  dc_charge_crashes(&w, crashed, 30, &out);
  CHECK(costs[0] == 1 && costs[1] == 1 + 171 && costs[2] == 171 && out.team_cost == 2 + 342 &&
            out.info[DC_INFO_COST_CRASH] == 342,
        "crash at step 30 of 200: 171 each (%g %g %g, team %g, info %g)", costs[0], costs[1],
        costs[2], out.team_cost, out.info[DC_INFO_COST_CRASH]);
  dc_evaluate(&w, pos, zero_vel, crashed, arrived, &sc, &out);
  dc_charge_crashes(&w, crashed, 200, &out);
  CHECK(costs[2] == 1 && out.info[DC_INFO_COST_CRASH] == 2, "crash on the last step: 1 each");
  memset(crashed, 0, sizeof crashed);
  dc_evaluate(&w, pos, zero_vel, crashed, arrived, &sc, &out);
  dc_charge_crashes(&w, crashed, 30, &out);
  CHECK(out.team_cost == 2 && out.info[DC_INFO_COST_CRASH] == 0, "no crash: nothing added");
  snprintf(p.crash_cost, sizeof p.crash_cost, "all");
  CHECK(dc_world_init(&w, &p) == ERR_INPUT && strstr(err_message(), "env.crash_cost"),
        "bad crash_cost refused: %s", err_message());
}

// Least total cost over every permutation of n <= 7 (brute force, Heap's algorithm).
static double brute_assignment(int n, const double *cost) {
  int perm[8], c[8] = {0};
  for (int i = 0; i < n; i++) perm[i] = i;
  double best = INFINITY;
  for (int i = 0;;) {
    double total = 0.0;
    for (int r = 0; r < n; r++) total += cost[r * n + perm[r]];
    best = fmin(best, total);
    while (i < n && c[i] >= i) c[i++] = 0;
    if (i >= n) break;
    int j = i % 2 ? c[i] : 0, t = perm[j];
    perm[j] = perm[i];
    perm[i] = t;
    c[i]++;
    i = 0;
  }
  return best;
}

// dc_assign against brute force; spawn_separation and spawn_assignment = matched.
static void test_spawn_options(void) {
  rng_t r;
  rng_seed(&r, 11);
  for (int trial = 0; trial < 200; trial++) {
    int n = 1 + trial % 7, col[8], seen[8] = {0};
    double cost[64];
    for (int k = 0; k < n * n; k++)
      cost[k] = trial % 3 ? rng_uniform(&r) * 10 : (double)rng_below(&r, 4);  // ties too
    dc_assign(n, cost, col);
    double total = 0.0;
    for (int i = 0; i < n; i++) {
      total += cost[i * n + col[i]];
      seen[col[i]]++;
    }
    int perm_ok = 1;
    for (int i = 0; i < n; i++) perm_ok &= seen[i] == 1;
    double best = brute_assignment(n, cost);
    if (!perm_ok || fabs(total - best) > 1e-9) {
      CHECK(0, "trial %d (n %d): assignment %g, brute force %g, permutation %d", trial, n, total,
            best, perm_ok);
      break;
    }
  }
  dc_params_t p;
  defaults(&p);
  dc_world_t w, wm;
  p.spawn_separation = 3.0;
  CHECK(dc_world_init(&w, &p) == 0 && w.spawn_sep == 3.0, "separation 3: %s", err_message());
  CHECK(fabs(w.spawn_hi[0] - w.spawn_lo[0] - 1.5 * 3.0 * cbrt(5.0)) < 1e-9, "cube side 1.5 s cbrt N");
  double pos[3 * DC_MAX_DRONES], pm[3 * DC_MAX_DRONES];
  double closest = INFINITY;
  for (int k = 0; k < 100; k++) {
    dc_spawn(&w, &r, pos);
    for (int i = 0; i < 5; i++)
      for (int j = 0; j < i; j++) closest = fmin(closest, dist3(pos + 3 * i, pos + 3 * j));
  }
  CHECK(closest >= 3.0, "spawned drones >= 3 m apart (closest %.3f)", closest);
  p.spawn_separation = 1.5;
  CHECK(dc_world_init(&w, &p) == ERR_INPUT && strstr(err_message(), "env.spawn_separation"),
        "separation below d_min refused: %s", err_message());
  p.spawn_separation = -1;
  CHECK(dc_world_init(&w, &p) == 0 && w.spawn_sep == 2.0 && !w.spawn_matched, "default: d_min");
  snprintf(p.spawn_assignment, sizeof p.spawn_assignment, "matched");
  CHECK(dc_world_init(&wm, &p) == 0 && wm.spawn_matched, "matched");
  // Same rng: the same sampled set, reordered to the least sum of squared slot distances.
  int worse = 0, same_set = 1;
  for (int k = 0; k < 50; k++) {
    rng_t r1, r2;
    rng_seed(&r1, 100 + k);
    rng_seed(&r2, 100 + k);
    dc_spawn(&w, &r1, pos);
    dc_spawn(&wm, &r2, pm);
    double cost[25];
    for (int i = 0; i < 5; i++)
      for (int j = 0; j < 5; j++) {
        double d = dist3(pos + 3 * i, w.slot[j]);
        cost[i * 5 + j] = d * d;
      }
    double got = 0.0;
    for (int i = 0; i < 5; i++) {
      double d = dist3(pm + 3 * i, wm.slot[i]);
      got += d * d;
      int found = 0;
      for (int j = 0; j < 5; j++) found |= memcmp(pm + 3 * i, pos + 3 * j, sizeof(double) * 3) == 0;
      same_set &= found;
    }
    worse += got > brute_assignment(5, cost) + 1e-9;
    CHECK(dc_spawn_valid(&wm, pm), "matched spawn %d valid", k);
  }
  CHECK(same_set && worse == 0, "matched: a permutation of the sampled set (%d) and optimal "
        "(%d worse)", same_set, worse);
  snprintf(p.spawn_assignment, sizeof p.spawn_assignment, "sorted");
  CHECK(dc_world_init(&w, &p) == ERR_INPUT && strstr(err_message(), "env.spawn_assignment"),
        "bad assignment refused: %s", err_message());
}

// reward = geodesic: -dt v . grad D; without obstacles close to the progress reward; with the
// seed's obstacles, flying at the obstacle chain straight at the slot pays less than progress.
static void test_geodesic_reward(void) {
  dc_params_t p;
  defaults(&p);
  p.n_drones = 3;
  p.n_obstacles = 0;
  snprintf(p.reward, sizeof p.reward, "geodesic");
  dc_world_t w;
  CHECK(dc_world_init(&w, &p) == 0 && w.reward_geodesic && w.geo.n_goals == 3 &&
            w.step_weight == 0.1,
        "geodesic world: %s", err_message());
  dc_scratch_t sc;
  float costs[3];
  env_step_t out = {.costs = costs};
  uint8_t arrived[3] = {0}, crashed[3] = {0};
  double pos[9] = {-4, -4, 3, 0, -5, 4, -5, 0, 2}, vel[9];
  for (int i = 0; i < 3; i++) {
    double d = dist3(pos + 3 * i, w.slot[i]);
    for (int a = 0; a < 3; a++) vel[3 * i + a] = 2.0 * (w.slot[i][a] - pos[3 * i + a]) / d;
  }
  dc_evaluate(&w, pos, vel, crashed, arrived, &sc, &out);
  for (int i = 0; i < 3; i++)
    CHECK(sc.drone_reward[i] > 0.2 * 0.9 && sc.drone_reward[i] < 0.2 * 1.1,
          "free space: drone %d towards its slot at 2 m/s earns about 0.2 (%g)", i,
          sc.drone_reward[i]);
  dc_world_free(&w);
  p.n_obstacles = -1;
  p.n_drones = 1;
  CHECK(dc_world_init(&w, &p) == 0, "with the obstacles");
  // At (1, 1, 2.5), 2 m/s straight at the slot: into the (3, 3, 2) zone. Less than progress.
  double at[3] = {1, 1, 2.5}, v1[3], d = dist3(at, w.slot[0]);
  for (int a = 0; a < 3; a++) v1[a] = 2.0 * (w.slot[0][a] - at[a]) / d;
  dc_evaluate(&w, at, v1, crashed, arrived, &sc, &out);
  CHECK(sc.drone_reward[0] < 0.2 * 0.8, "straight into the chain: %g < 0.8 x progress (0.2)",
        sc.drone_reward[0]);
  dc_world_free(&w);
  dc_world_free(&w);
}

static void test_observe(void) {
  dc_params_t p;
  defaults(&p);
  p.n_drones = 6;
  p.k_neighbours = 3;
  dc_world_t w;
  CHECK(dc_world_init(&w, &p) == 0, "6 drones");
  int stride = w.obs_dim + 2;  // padding must be zeroed
  // Drone 0 at the origin-ish; 1 at 3 m, 2 at 1 m, 3 at 2 m, 4 at 2 m (tie with 3), 5 at 5 m.
  double pos[18] = {-10, -10, 5, -7, -10, 5, -10, -9, 5, -10, -10, 7, -12, -10, 5, -10, -5, 5};
  double vel[18] = {0}, up[18];
  for (int i = 0; i < 6; i++) {
    vel[3 * i] = 0.1 * i;
    up[3 * i] = 0, up[3 * i + 1] = 0.6, up[3 * i + 2] = 0.8;
  }
  uint8_t arrived[6] = {0, 1, 0, 0, 0, 0};
  dc_scratch_t sc;
  dc_distances(&w, pos, &sc);
  float *obs = calloc((size_t)6 * stride, sizeof(float)), share[6 * DC_SHARE_DIM];
  for (int i = 0; i < 6 * stride; i++) obs[i] = 99.0f;
  dc_observe(&w, pos, vel, up, arrived, &sc, obs, stride, share);
  const float *o = obs;
  CHECK_NEAR(o[0], w.slot[0][0] + 10, 1e-5, "slot - p");
  CHECK(o[3] == 0 && o[6] == 0 && o[7] == 0.6f && o[8] == 0.8f && o[9] == 5 && o[10] == 0,
        "self block: v, up, z, arrived");
  // Nearest: 2 (1 m), then 3 and 4 at 2 m (3 first by index), not 1 (3 m).
  const float *nb = o + DC_SELF_DIM;
  CHECK(nb[0] == 0 && nb[1] == 1 && nb[2] == 0 && nb[6] == 1, "first neighbour drone 2 at 1 m");
  CHECK_NEAR(nb[3], 0.2, 1e-6, "relative velocity");
  CHECK(nb[7 + 2] == 2 && nb[7 + 6] == 2, "second neighbour drone 3 (tie with 4, lower index)");
  CHECK(nb[14] == -2 && nb[14 + 6] == 2, "third neighbour drone 4");
  const float *ob = nb + 7 * 3;
  CHECK_NEAR(ob[0], 3 + 10, 1e-6, "obstacle 0 relative x");
  CHECK_NEAR(ob[3], dist3(pos, w.obstacle[0]) - 1.0, 1e-5, "obstacle 0 surface distance");
  CHECK(o[w.obs_dim] == 0 && o[w.obs_dim + 1] == 0, "padding zeroed");
  CHECK(obs[stride + 10] == 1, "drone 1 sees its arrival flag");
  const float *s1 = share + DC_SHARE_DIM;
  CHECK(s1[3] == -7 && s1[6] == 0.1f && s1[10] == 0.6f && s1[12] == 1, "share block of drone 1");
  // Without attitudes the body z axis is (0, 0, 1).
  dc_observe(&w, pos, vel, NULL, arrived, &sc, obs, stride, share);
  CHECK(obs[6] == 0 && obs[7] == 0 && obs[8] == 1 && share[11] == 1, "points: up = z");
  free(obs);
}

static void test_spec(void) {
  static const struct {
    int n, k, degree;
  } cases[] = {{16, 4, 4}, {16, 3, 4}, {16, 0, 0}, {5, 4, 4}, {5, 10, 4}, {64, 6, 6}, {1, 4, 0}};
  for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
    dc_params_t p;
    defaults(&p);
    p.n_drones = cases[c].n;
    p.k_neighbours = cases[c].k;
    dc_world_t w;
    if (dc_world_init(&w, &p)) {
      CHECK(0, "N %d: %s", cases[c].n, err_message());
      continue;
    }
    env_spec_t spec;
    dc_fill_spec(&w, "x", DC_N_INFO, dc_info_names, &spec);
    int bad = 0;
    for (int i = 0; i < w.n; i++) {
      int deg = 0;
      for (int j = 0; j < w.n; j++) {
        deg += spec.adjacency[i][j];
        bad += spec.adjacency[i][j] != spec.adjacency[j][i];
      }
      bad += spec.adjacency[i][i] != 0 || deg != cases[c].degree;
      int ring = (i + 1) % w.n;
      if (cases[c].degree > 0 && w.n > 1) bad += !spec.adjacency[i][ring];
    }
    CHECK(bad == 0, "N %d K %d: ring adjacency of degree %d", cases[c].n, cases[c].k,
          cases[c].degree);
    CHECK(spec.n_agents == w.n && spec.act_dim[0] == 3 && spec.max_obs_dim == w.obs_dim &&
              spec.share_obs_dim == 13 * w.n && spec.act_low == -1 && spec.act_high == 1 &&
              spec.episode_length == 200 && !spec.discrete,
          "spec fields");
    CHECK(spec.n_info == DC_N_INFO && !strcmp(spec.info_names[0], "cost_drone_drone") &&
              !strcmp(spec.info_names[1], "cost_drone_obstacle"),
          "info names");
  }
  CHECK(dc_clip_action(2.0f) == 1 && dc_clip_action(-3.0f) == -1 && dc_clip_action(NAN) == 0 &&
            dc_clip_action(0.25f) == 0.25,
        "action clipping");
}

int main(void) {
  test_progress_reward();
  test_world();
  test_spawn();
  test_crash();
  test_cost_reward();
  test_crash_cost();
  test_spawn_options();
  test_geodesic_reward();
  test_observe();
  test_spec();
  return check_report("test_drone_common");
}
