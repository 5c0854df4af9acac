// test_drone_swarm_point: the seeds' kinematic swarm.
// * spec: the same observation, state and action layout as drone_swarm for the same parameters;
// * dynamics: v += a dt, then x += v dt, exactly (to 1e-12) over 10 steps; actions clipped to
//   [-1, 1], NaN -> 0; accel_scale multiplies;
// * cost at constructed states (1.9 vs 2.1 m; r_k + d_safe -/+ 0.05 m) and the reward formula;
// * arrival (+100 once), success, crashes (floor, drone-drone and drone-obstacle contact);
// * determinism, exact resume, refused states; soak 20,000 steps with N = 5 and 2,000 with 64.
// * safety layer (safety_layer=project): off (absent or none) the rollout is bit for bit the one
//   recorded before the layer existed and the info list is unchanged; a head-on pair whose full
//   command would end 1.985 m apart gets the exact nearest safe command (separation >= d_min
//   after the step, no cost, 2 drones changed by 0.75 each) and the next step, which no command
//   can save, is reported infeasible; far-apart drones keep their commands bit for bit with
//   zero counters; 5,000 random steps: every certified step ends without any cost (pairs and,
//   with safety_obstacle_margin = d_safe, obstacles); determinism and exact resume with it on.
#include <stdint.h>

#include "tests/test_drone_util.h"

static void test_spec(void) {
  dt_env_t p, m;
  if (dt_open(&p, "drone_swarm_point", "n_drones=7 k_neighbours=3", 1) ||
      dt_open(&m, "drone_swarm", "n_drones=7 k_neighbours=3", 1))
    return;
  CHECK(p.spec.n_agents == 7 && p.spec.max_obs_dim == m.spec.max_obs_dim &&
            p.spec.share_obs_dim == m.spec.share_obs_dim && p.spec.max_act_dim == 3 &&
            p.spec.cost_limit == m.spec.cost_limit &&
            memcmp(p.spec.adjacency, m.spec.adjacency, sizeof p.spec.adjacency) == 0,
        "same layout as drone_swarm: obs %d/%d share %d/%d", p.spec.max_obs_dim, m.spec.max_obs_dim,
        p.spec.share_obs_dim, m.spec.share_obs_dim);
  CHECK(p.spec.n_info == 10 && dt_info(&p, "cost_drone_drone") == 0 && dt_info(&p, "success") == 4 &&
            dt_info(&p, "crash_floor") == 5 && dt_info(&p, "crash_drone") == 7 &&
            dt_info(&p, "cost_crash") == 9,
        "info names");
  CHECK(p.state_size == 16 + 8 * 6 * 7 + 7, "state size %zu", p.state_size);
  // Same seed, same spawn in both envs (drone_common's spawn).
  for (int i = 0; i < 7; i++)
    for (int a = 3; a < 6; a++)
      CHECK(p.share[DC_SHARE_DIM * i + a] == m.share[DC_SHARE_DIM * i + a], "same spawn");
  dt_close(&p);
  dt_close(&m);
}

static void test_dynamics(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm_point", "n_drones=1 n_obstacles=0 spawn_centre=0,0,10", 3)) return;
  dt_save(&t);
  double p0[3];
  memcpy(p0, dt_state_doubles(&t), sizeof p0);
  dt_set_actions(&t, 1, -5, NAN);  // -5 clips to -1, NaN drives nothing
  for (int k = 1; k <= 10; k++) dt_step(&t);
  dt_save(&t);
  const double *s = dt_state_doubles(&t);
  double dx = 0.01 * 10 * 11 / 2;  // sum over k of (0.1 k) * 0.1
  CHECK(fabs(s[3] - 1.0) < 1e-12 && fabs(s[4] + 1.0) < 1e-12 && s[5] == 0,
        "velocity after 10 steps of +-1: %.15g %.15g %g", s[3], s[4], s[5]);
  CHECK(fabs(s[0] - p0[0] - dx) < 1e-12 && fabs(s[1] - p0[1] + dx) < 1e-12 && s[2] == p0[2],
        "position: semi-implicit Euler, %.15g", s[0] - p0[0]);
  double v[3];
  dt_vel(&t, 0, v);
  CHECK_NEAR(v[0], 1.0, 1e-6, "share_obs velocity");
  dt_close(&t);
  if (dt_open(&t, "drone_swarm_point", "n_drones=1 n_obstacles=0 accel_scale=2.5", 3)) return;
  dt_set_actions(&t, 0, 0, 1);
  dt_step(&t);
  dt_vel(&t, 0, v);
  CHECK_NEAR(v[2], 0.25, 1e-7, "accel_scale 2.5: 0.25 m/s after one step");
  dt_close(&t);
}

static void far_layout(double *pos) {
  static const double far[15] = {-10, -10, 5, -10, 10, 5, 10, -10, 5, -20, 0, 5, 0, -20, 5};
  memcpy(pos, far, sizeof far);
}

static double obs_slot_distance(const dt_env_t *t, int i) {
  const float *o = t->obs + i * t->spec.max_obs_dim;
  return sqrt((double)o[0] * o[0] + (double)o[1] * o[1] + (double)o[2] * o[2]);
}

static void test_costs(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm_point", NULL, 9)) return;
  static const double gaps[2] = {1.9, 2.1}, offs[2] = {2.95, 3.05};
  for (int c = 0; c < 2; c++) {
    double pos[15];
    far_layout(pos);
    pos[3] = pos[0] + gaps[c], pos[4] = pos[1], pos[5] = pos[2];
    pos[6] = 3, pos[7] = 3, pos[8] = 2 + offs[c];
    CHECK(dt_place_all(&t, pos) == 0, "load");
    dt_set_actions(&t, 0, 0, 0);
    dt_step(&t);
    int want = c == 0;
    CHECK(t.costs[0] == want && t.costs[1] == want && t.costs[2] == want && t.costs[3] == 0 &&
              t.costs[4] == 0 && t.out.team_cost == 3 * want && t.out.info[0] == 2 * want &&
              t.out.info[1] == want,
          "gap %.2f, obstacle r + d_safe %+.2f: costs %g %g %g team %g", gaps[c], offs[c] - 3,
          t.costs[0], t.costs[1], t.costs[2], t.out.team_cost);
    double r = 0;
    for (int i = 0; i < 5; i++) r -= obs_slot_distance(&t, i);
    if (c == 0) r -= 2 * 10 * (2.0 - 1.9);
    CHECK_NEAR(t.out.reward, r, 2e-3, "team reward");
  }
  dt_close(&t);
  // The dt-scaled reward.
  if (dt_open(&t, "drone_swarm_point", "reward_scale_dt=true", 9)) return;
  double pos[15];
  far_layout(pos);
  dt_place_all(&t, pos);
  dt_set_actions(&t, 0, 0, 0);
  dt_step(&t);
  double r = 0;
  for (int i = 0; i < 5; i++) r -= 0.1 * obs_slot_distance(&t, i);
  CHECK_NEAR(t.out.reward, r, 2e-4, "reward_scale_dt: distances x 0.1");
  dt_close(&t);
}

static void test_arrival_and_crash(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm_point", NULL, 13)) return;
  double slots[15], pos[15];
  for (int i = 0; i < 5; i++) dt_slot(&t, i, slots + 3 * i);
  memcpy(pos, slots, sizeof pos);
  pos[12] = -10, pos[13] = -10, pos[14] = 5;
  dt_place_all(&t, pos);
  dt_set_actions(&t, 0, 0, 0);
  dt_step(&t);
  CHECK(t.out.info[2] == 4 && !t.out.done, "four arrive: %g", t.out.info[2]);
  CHECK_NEAR(t.out.reward, 400 - obs_slot_distance(&t, 4), 1e-3, "four bonuses");
  dt_step(&t);
  CHECK(t.out.info[2] == 0 && t.out.reward < 0, "paid once");
  dt_save(&t);
  dt_state_place(&t, 4, slots + 12, NULL);
  dt_load(&t);
  dt_step(&t);
  CHECK(t.out.done && !t.out.truncated && t.out.info[4] == 1 && t.out.info[2] == 1,
        "success ends the episode");

  static const struct {
    const char *what;
    double z, gap, above;
    int crashes;
  } cases[] = {{"below 0.2 m", 0.15, 0, 0, 1},         {"at 0.25 m", 0.25, 0, 0, 0},
               {"drones 0.10 m apart", 5, 0.10, 0, 2}, {"drones 0.15 m apart", 5, 0.15, 0, 0},
               {"in an obstacle", 5, 0, 1.03, 1},      {"0.1 m over an obstacle", 5, 0, 1.10, 0}};
  for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
    t.cls->reset(t.env, &t.rng, t.obs, t.share);
    far_layout(pos);
    pos[2] = cases[c].z;
    if (cases[c].gap > 0) pos[3] = pos[0] + cases[c].gap, pos[4] = pos[1], pos[5] = pos[2];
    if (cases[c].above > 0) pos[0] = 3, pos[1] = 3, pos[2] = 2 + cases[c].above;
    dt_place_all(&t, pos);
    dt_step(&t);
    CHECK(t.out.info[3] == cases[c].crashes && t.out.done == (cases[c].crashes > 0) &&
              !t.out.truncated && t.out.info[4] == 0,
          "%s: crashes %g done %d", cases[c].what, t.out.info[3], t.out.done);
  }
  dt_close(&t);
}

static void test_time_limit(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm_point", "episode_length=30", 2)) return;
  dt_set_actions(&t, 0, 0, 0);
  int k = 0;
  do {
    dt_step(&t);
    k++;
  } while (!t.out.done && k < 100);
  CHECK(k == 30 && t.out.truncated, "hovering points end by the time limit at 30 (%d)", k);
  dt_close(&t);
}

// ---- safety layer -------------------------------------------------------------------------

// 400 random steps of 2 drones (env seed 11, actions from rng 99; dt_run_record's floats: obs,
// share_obs, per-drone costs, reward, team cost, done), FNV-1a over the bytes, recorded with the
// code before env.safety_layer existed (commit 120687e). Two drones keep the spawn cube at its
// 4 m minimum, so only IEEE +, -, *, / and sqrt enter: the value holds on any IEEE-754 machine.
// A deliberate change of the point dynamics or of dt_record changes it.
#define PRE_LAYER_HASH 0x688fbc018680da1eull

static uint64_t fnv1a(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

static void test_safety_off(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm_point", "n_drones=2", 11)) return;
  size_t cap = (size_t)400 * (2 * t.spec.max_obs_dim + t.spec.share_obs_dim + 3 + 2);
  dt_rec_t r = {malloc(cap * sizeof(float)), 0, cap};
  rng_t a;
  rng_seed(&a, 99);
  dt_run_record(&t, &a, 400, &r);
  uint64_t h = fnv1a(r.buf, r.n * sizeof(float));
  CHECK(r.n == 36400 && h == PRE_LAYER_HASH,
        "layer off: the 400-step rollout differs from the one before the layer (%zu floats, hash "
        "0x%016llx)",
        r.n, (unsigned long long)h);
  free(r.buf);
  CHECK(t.spec.n_info == 10, "layer off: the info list is unchanged (%d)", t.spec.n_info);
  dt_close(&t);
  CHECK(dt_same_rollout("drone_swarm_point", NULL, "safety_layer=none", 300),
        "safety_layer=none = the option absent");
  CHECK(!dt_same_rollout("drone_swarm_point", NULL, "safety_layer=project", 300),
        "the layer changes random play");
  if (dt_open(&t, "drone_swarm_point", "safety_layer=project", 1)) return;
  CHECK(t.spec.n_info == 14 && dt_info(&t, "success") == 4 &&
            dt_info(&t, "safety_interventions") == 10 && dt_info(&t, "safety_change") == 11 &&
            dt_info(&t, "safety_steps") == 12 && dt_info(&t, "safety_infeasible") == 13,
        "layer on: four safety values after the env's own");
  CHECK(t.state_size == 16 + 8 * 6 * 5 + 5, "layer on: the state is unchanged (%zu)", t.state_size);
  dt_close(&t);
}

// Drones placed at pos with velocities vel ([n][3]), loaded.
static int place_moving(dt_env_t *t, const double *pos, const double *vel) {
  int n = t->spec.n_agents;
  dt_save(t);
  double *d = dt_state_doubles(t);
  memcpy(d, pos, sizeof(double) * 3 * n);
  memcpy(d + 3 * n, vel, sizeof(double) * 3 * n);
  return dt_load(t);
}

static double state_separation(dt_env_t *t) {
  dt_save(t);
  const double *d = dt_state_doubles(t);
  double dx = d[3] - d[0], dy = d[4] - d[1], dz = d[5] - d[2];
  return sqrt(dx * dx + dy * dy + dz * dz);
}

static void test_safety_head_on(void) {
  const char *ov = "n_drones=2 n_obstacles=0 spawn_centre=0,0,10";
  char ov_on[200];
  snprintf(ov_on, sizeof ov_on, "%s safety_layer=project", ov);
  dt_env_t on, off;
  if (dt_open(&off, "drone_swarm_point", ov, 21)) return;
  if (dt_open(&on, "drone_swarm_point", ov_on, 21)) {
    dt_close(&off);
    return;
  }
  int base = dt_info(&on, "safety_interventions");
  // 2.505 m apart along x, closing at 2.5 m/s each: coasting ends at 2.005 m, full commands at
  // each other at 1.985 m (< d_min = 2). A command moves a drone by at most 0.01 m per axis
  // (accel_scale dt^2), so the nearest safe joint command is x = 0.25 and -0.25 (each changed
  // by 0.75, the separation ending at d_min plus drone_safety's internal margin).
  const double pos[6] = {0, 0, 10, 2.505, 0, 10}, vel[6] = {2.5, 0, 0, -2.5, 0, 0};
  CHECK(place_moving(&off, pos, vel) == 0 && place_moving(&on, pos, vel) == 0, "load");
  dt_set_actions(&off, 0, 0, 0);
  dt_set_actions(&on, 0, 0, 0);
  off.act[0] = on.act[0] = 1;
  off.act[3] = on.act[3] = -1;
  dt_step(&off);
  dt_step(&on);
  double raw = state_separation(&off), sep = state_separation(&on);
  CHECK(raw < 2.0 && off.costs[0] == 1 && off.costs[1] == 1,
        "head-on without the layer: %.6f m apart after the step, costs %g %g", raw, off.costs[0],
        off.costs[1]);
  CHECK(sep >= 2.0 && sep < 2.0 + 1e-6 && on.costs[0] == 0 && on.costs[1] == 0 &&
            on.out.team_cost == 0,
        "head-on with the layer: %.9f m apart after the step (>= d_min), costs %g %g", sep,
        on.costs[0], on.costs[1]);
  CHECK(on.out.info[base] == 2 && on.out.info[base + 2] == 1 && on.out.info[base + 3] == 0,
        "head-on: 2 drones changed, 1 intervention step, certified (%g %g %g)", on.out.info[base],
        on.out.info[base + 2], on.out.info[base + 3]);
  CHECK_NEAR(on.out.info[base + 1], 1.5, 1e-5, "head-on: total change 2 x 0.75");
  double v1[3];
  dt_vel(&on, 0, v1);
  CHECK_NEAR(v1[0], 2.5 + 0.25 * 0.1, 1e-6, "head-on: drone 0 executed x = 0.25");
  // One step later they close at 2.525 m/s each from 2.0 m: no command keeps d_min (at most
  // 0.02 m of the 0.505 m); reported infeasible, the best effort brakes both fully.
  dt_step(&off);
  dt_step(&on);
  CHECK(on.out.info[base] == 2 && on.out.info[base + 3] == 1 && on.out.team_cost > 0,
        "next step: changed %g, infeasible %g, cost %g", on.out.info[base], on.out.info[base + 3],
        on.out.team_cost);
  CHECK_NEAR(on.out.info[base + 1], 2 * 2.0, 1e-5, "next step: full braking (1 -> -1 each)");
  dt_close(&on);
  dt_close(&off);
}

static void test_safety_unchanged(void) {
  dt_env_t on, off;
  if (dt_open(&off, "drone_swarm_point", NULL, 23)) return;
  if (dt_open(&on, "drone_swarm_point", "safety_layer=project safety_obstacle_margin=2", 23)) {
    dt_close(&off);
    return;
  }
  int base = dt_info(&on, "safety_interventions");
  double pos[15];
  far_layout(pos);  // pairs >= 14 m apart, >= 15 m from the obstacles
  CHECK(dt_place_all(&off, pos) == 0 && dt_place_all(&on, pos) == 0, "load");
  // 30 steps of random commands move a drone by at most 4.5 m: every command stays safe.
  rng_t r;
  rng_seed(&r, 77);
  int differ = 0, counted = 0;
  for (int k = 0; k < 30; k++) {
    dt_random_actions(&off, &r);
    memcpy(on.act, off.act, sizeof(float) * 15);
    dt_step(&off);
    dt_step(&on);
    differ += memcmp(on.obs, off.obs, sizeof(float) * 5 * on.spec.max_obs_dim) != 0 ||
              memcmp(on.share, off.share, sizeof(float) * on.spec.share_obs_dim) != 0 ||
              on.out.reward != off.out.reward || on.out.team_cost != off.out.team_cost;
    for (int j = 0; j < DC_N_SAFETY_INFO; j++) counted += on.out.info[base + j] != 0;
  }
  CHECK(differ == 0, "safe commands: %d of 30 steps differ from the layer off", differ);
  CHECK(counted == 0, "safe commands: %d nonzero safety values", counted);
  dt_close(&on);
  dt_close(&off);
}

// Random play: a certified step (safety_infeasible 0) never ends in cost, pairs and (margin =
// d_safe) obstacle zones alike; the counters agree with each other.
static void test_safety_random(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm_point", "safety_layer=project safety_obstacle_margin=2", 31)) return;
  int base = dt_info(&t, "safety_interventions");
  rng_t r;
  rng_seed(&r, 32);
  long certified_cost = 0, bad = 0, interventions = 0, certified_interventions = 0, infeasible = 0;
  for (int k = 0; k < 5000; k++) {
    dt_random_actions(&t, &r);
    dt_step(&t);
    const float *f = t.out.info + base;
    int certified = f[3] == 0;
    certified_cost += certified && t.out.team_cost != 0;
    bad += !(f[0] >= 0 && f[0] <= 5 && f[2] == (f[0] > 0) && (f[3] == 0 || f[3] == 1) &&
             f[1] >= f[0] * DC_SAFETY_TOL && (f[0] > 0 || f[1] == 0));
    interventions += f[2] > 0;
    certified_interventions += f[2] > 0 && certified;
    infeasible += !certified;
    if (t.out.done) t.cls->reset(t.env, &t.rng, t.obs, t.share);
  }
  printf(
      "drone_swarm_point safety layer, 5000 random steps: %ld intervention steps (%ld "
      "certified), %ld infeasible\n",
      interventions, certified_interventions, infeasible);
  CHECK(certified_interventions > 50, "enough certified interventions (%ld)",
        certified_interventions);
  CHECK(certified_cost == 0, "%ld certified steps ended in cost", certified_cost);
  CHECK(bad == 0, "%ld steps with inconsistent safety values", bad);
  dt_close(&t);
}

int main(void) {
  test_spec();
  test_dynamics();
  test_costs();
  test_arrival_and_crash();
  test_time_limit();
  dt_determinism_and_resume("drone_swarm_point", NULL);
  dt_soak("drone_swarm_point", NULL, 20000, 1);
  dt_soak("drone_swarm_point", "n_drones=64", 2000, 2);
  test_safety_off();
  test_safety_head_on();
  test_safety_unchanged();
  test_safety_random();
  dt_determinism_and_resume("drone_swarm_point", "safety_layer=project");
  dt_soak("drone_swarm_point", "safety_layer=project", 5000, 3);
  return check_report("test_drone_swarm_point");
}
