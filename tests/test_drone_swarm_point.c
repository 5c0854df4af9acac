// test_drone_swarm_point: the seeds' kinematic swarm.
// * spec: the same observation, state and action layout as drone_swarm for the same parameters;
// * dynamics: v += a dt, then x += v dt, exactly (to 1e-12) over 10 steps; actions clipped to
//   [-1, 1], NaN -> 0; accel_scale multiplies;
// * cost at constructed states (1.9 vs 2.1 m; r_k + d_safe -/+ 0.05 m) and the reward formula;
// * arrival (+100 once), success, crashes (floor, drone-drone and drone-obstacle contact);
// * determinism, exact resume, refused states; soak 20,000 steps with N = 5 and 2,000 with 64.
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
  CHECK(p.spec.n_info == 5 && dt_info(&p, "cost_drone_drone") == 0 && dt_info(&p, "success") == 4,
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

int main(void) {
  test_spec();
  test_dynamics();
  test_costs();
  test_arrival_and_crash();
  test_time_limit();
  dt_determinism_and_resume("drone_swarm_point", NULL);
  dt_soak("drone_swarm_point", NULL, 20000, 1);
  dt_soak("drone_swarm_point", "n_drones=64", 2000, 2);
  return check_report("test_drone_swarm_point");
}
