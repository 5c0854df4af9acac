// test_drone_swarm: the MuJoCo quadrotor swarm at constructed states (states are built by
// editing a saved state and loading it, see tests/test_drone_util.h).
// * spec: dimensions, info names, default cost limit, ring adjacency; bad input refused;
// * hover: a zero velocity command holds a drone for 10 s within 5 cm and 2 deg (from rest it
//   stays put; pushed at 0.6 m/s and 5 rad/s and tilted 10 deg it comes back within 5 cm, the
//   velocity integral returning it to where it started); a whole spawned swarm hovers without
//   cost or crash;
// * tracking: velocity commands (axes, diagonals, up and down) within 10% of the command after
//   2 s and after 4 s; acceleration commands give the commanded acceleration within 10% over
//   1 s (drag is fed forward);
// * cost at constructed states: drones 1.9 vs 2.1 m apart, a drone r_k + d_safe -/+ 0.05 m from
//   an obstacle; reward against its formula;
// * arrival (+100 once), success termination, the time limit (truncated), crash termination (floor,
// tilt 70 deg but not
//   50 deg, drone-drone and drone-obstacle contact) with -100;
// * spawn: valid over 50 resets of 16 drones; determinism (same seed, same trajectory); exact
//   resume through save/load mid-episode; foreign or corrupt states refused;
// * soak: 20,000 random steps with N = 5 and 2,000 with N = 64: everything finite, per-drone
//   costs in {0, 1, 2} adding up to the team cost and to its two components, no MuJoCo warning.
// * safety layer (safety_layer=project, drone_safety's conservative velocity-mode model): off
//   (absent or none) the same rollout and info list as before; acceleration mode refused; from a
//   state loaded just before the step (the layer must read the current state), a pair at rest
//   2.9 m apart commanded at each other is changed to the model's nearest certified command
//   (x = +-0.45: 2 drones, 0.55 each) and ends >= d_min and farther apart than without; a pair
//   closing at 2 m/s each that the full command takes below d_min is changed (braking: farther
//   apart than without) and reported infeasible, as drone_safety.h says such states always are;
//   far-apart drones keep their commands bit for bit; sent head-on from 8 m, every certified
//   step ends >= d_min without cost; determinism and exact resume with it on.
#include "tests/test_drone_util.h"

static const double kPi = 3.14159265358979323846;

static void test_spec(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm", NULL, 1)) {
    CHECK(0, "open drone_swarm");
    return;
  }
  CHECK(t.spec.n_agents == 5 && t.spec.max_obs_dim == 51 && t.spec.share_obs_dim == 65 &&
            t.spec.max_act_dim == 3 && t.spec.episode_length == 200 && t.spec.cost_limit == 25,
        "defaults: agents %d obs %d share %d act %d T %d limit %g", t.spec.n_agents,
        t.spec.max_obs_dim, t.spec.share_obs_dim, t.spec.max_act_dim, t.spec.episode_length,
        t.spec.cost_limit);
  CHECK(t.spec.n_info == 11 && dt_info(&t, "cost_drone_drone") == 0 &&
            dt_info(&t, "cost_drone_obstacle") == 1 && dt_info(&t, "arrivals") == 2 &&
            dt_info(&t, "crashes") == 3 && dt_info(&t, "success") == 4 &&
            dt_info(&t, "crash_floor") == 5 && dt_info(&t, "crash_tilt") == 8 &&
            dt_info(&t, "cost_crash") == 9 && dt_info(&t, "mj_warnings") == 10,
        "info names");
  CHECK(t.state_size == 32 + 8 * (1 + 7 * 5 + 6 * 5 + 7 * 5) + 5, "state size %zu", t.state_size);
  dt_close(&t);
  if (!dt_open(&t, "drone_swarm", "n_drones=16 k_neighbours=4", 1)) {
    int ok = 1;
    for (int i = 0; i < 16; i++)
      for (int j = 0; j < 16; j++) {
        int gap = abs(i - j) < 16 - abs(i - j) ? abs(i - j) : 16 - abs(i - j);
        ok &= t.spec.adjacency[i][j] == (gap == 1 || gap == 2);
      }
    CHECK(ok, "16 drones: ring of +-2");
    CHECK(t.spec.cost_limit == 0.025 * 16 * 200, "limit scales with N");
    dt_close(&t);
  }
  // Bad input is refused with the key.
  const env_class_t *cls = env_find("drone_swarm");
  dc_params_t p;
  cfg_section_t sec = {"env", cls->params, cls->n_params, &p};
  cfg_set_defaults(&sec, 1);
  CHECK(cfg_override(&sec, 1, "env.command=torque") == ERR_INPUT, "command choices");
  CHECK(cfg_override(&sec, 1, "env.n_drones=65") == ERR_INPUT, "at most 64 drones");
  snprintf(p.obstacles, sizeof p.obstacles, "1,2,3");
  env_spec_t spec;
  void *shared = NULL;
  CHECK(cls->shared_create(&p, &spec, &shared) == ERR_INPUT && strstr(err_message(), "obstacles"),
        "malformed obstacles: %s", err_message());
}

static double norm3(const double *a) {
  return sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
}

static void test_hover(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm", "n_drones=1 n_obstacles=0 spawn_centre=0,0,6", 3)) return;
  double p0[3], p[3], drift = 0, tilt = 0;
  dt_pos(&t, 0, p0);
  dt_set_actions(&t, 0, 0, 0);
  for (int k = 0; k < 100; k++) {
    dt_step(&t);
    dt_pos(&t, 0, p);
    double d[3] = {p[0] - p0[0], p[1] - p0[1], p[2] - p0[2]};
    drift = fmax(drift, norm3(d));
    tilt = fmax(tilt, dt_tilt_deg(&t, 0));
  }
  CHECK(drift < 0.05 && tilt < 2.0 && !t.out.done, "hover from rest: drift %.4f m tilt %.3f deg",
        drift, tilt);

  // Pushed and tilted: back where it started.
  t.cls->reset(t.env, &t.rng, t.obs, t.share);
  dt_save(&t);
  double *s = dt_state_doubles(&t), *q = s + 1, *v = s + 1 + 7;
  double half = 5.0 * kPi / 180.0;
  q[3] = cos(half), q[4] = sin(half), q[5] = 0, q[6] = 0;
  double push[6] = {0.5, -0.3, 0.2, 5.0, -5.0, 2.0};
  for (int a = 0; a < 6; a++) v[a] = push[a];
  for (int a = 0; a < 3; a++) p0[a] = q[a];
  CHECK(dt_load(&t) == 0, "load pushed state");
  double worst_tilt = 0, far = 0;
  for (int k = 0; k < 100; k++) {
    dt_step(&t);
    worst_tilt = fmax(worst_tilt, dt_tilt_deg(&t, 0));
    dt_pos(&t, 0, p);
    double d[3] = {p[0] - p0[0], p[1] - p0[1], p[2] - p0[2]};
    far = fmax(far, norm3(d));
  }
  double d[3] = {p[0] - p0[0], p[1] - p0[1], p[2] - p0[2]}, vel[3];
  dt_vel(&t, 0, vel);
  CHECK(norm3(d) < 0.05 && norm3(vel) < 0.01 && dt_tilt_deg(&t, 0) < 2.0 && !t.out.done,
        "pushed hover after 10 s: %.4f m from the start, |v| %.4f, tilt %.3f deg (worst tilt %.1f, "
        "farthest %.3f m)",
        norm3(d), norm3(vel), dt_tilt_deg(&t, 0), worst_tilt, far);
  printf("pushed hover: farthest %.3f m, worst tilt %.1f deg, after 10 s %.4f m\n", far, worst_tilt,
         norm3(d));
  dt_close(&t);

  // A spawned swarm hovers: no cost, no crash, the same reward every step.
  if (dt_open(&t, "drone_swarm", NULL, 5)) return;
  dt_set_actions(&t, 0, 0, 0);
  double cost = 0, r0 = 0, rdiff = 0;
  for (int k = 0; k < 100; k++) {
    dt_step(&t);
    cost += t.out.team_cost;
    if (k == 0) r0 = t.out.reward;
    rdiff = fmax(rdiff, fabs(t.out.reward - r0));
  }
  CHECK(cost == 0 && !t.out.done && rdiff < 0.05 * 5, "swarm hover: cost %g done %d dreward %g",
        cost, t.out.done, rdiff);
  dt_close(&t);
}

static void test_velocity_tracking(void) {
  static const double cmds[][3] = {{1, 0, 0},  {0, -1, 0},      {0, 0, 1},
                                   {0, 0, -1}, {0.7, 0.7, 0.5}, {-0.5, 0.3, -0.4}};
  for (int c = 0; c < (int)(sizeof cmds / sizeof cmds[0]); c++) {
    dt_env_t t;
    if (dt_open(&t, "drone_swarm", "n_drones=1 n_obstacles=0 spawn_centre=0,0,10", 7)) return;
    double want[3] = {2 * cmds[c][0], 2 * cmds[c][1], cmds[c][2]}, peak = 0;
    dt_set_actions(&t, cmds[c][0], cmds[c][1], cmds[c][2]);
    for (int k = 1; k <= 40; k++) {
      dt_step(&t);
      double v[3], e[3];
      dt_vel(&t, 0, v);
      for (int a = 0; a < 3; a++) e[a] = v[a] - want[a];
      double along = (v[0] * want[0] + v[1] * want[1] + v[2] * want[2]) / norm3(want);
      peak = fmax(peak, along / norm3(want) - 1);
      if (k == 20 || k == 40)
        CHECK(norm3(e) <= 0.1 * norm3(want) && !t.out.done,
              "command (%g, %g, %g) m/s after %.0f s: error %.3f m/s (%.1f%%)", want[0], want[1],
              want[2], 0.1 * k, norm3(e), 100 * norm3(e) / norm3(want));
    }
    printf("velocity (%5.2f %5.2f %5.2f) m/s: overshoot %.1f%%\n", want[0], want[1], want[2],
           100 * peak);
    dt_close(&t);
  }
}

static void test_acceleration_tracking(void) {
  static const double cmds[][3] = {{0.5, 0, 0}, {0, 0, 0.5}, {-0.4, 0.4, 0}, {0, 0, -0.5}};
  for (int c = 0; c < 4; c++) {
    dt_env_t t;
    if (dt_open(&t, "drone_swarm",
                "n_drones=1 n_obstacles=0 spawn_centre=0,0,10 command=acceleration", 7))
      return;
    double want[3] = {4 * cmds[c][0], 4 * cmds[c][1], 4 * cmds[c][2]}, v5[3], v15[3];
    dt_set_actions(&t, cmds[c][0], cmds[c][1], cmds[c][2]);
    for (int k = 1; k <= 15; k++) {
      dt_step(&t);
      if (k == 5) dt_vel(&t, 0, v5);
    }
    dt_vel(&t, 0, v15);
    double e[3];
    for (int a = 0; a < 3; a++) e[a] = (v15[a] - v5[a]) / 1.0 - want[a];
    CHECK(norm3(e) <= 0.1 * norm3(want) && !t.out.done,
          "acceleration (%g, %g, %g) m/s^2 over 1 s: error %.3f m/s^2", want[0], want[1], want[2],
          norm3(e));
    dt_close(&t);
  }
}

// Five drones far apart and far from everything, by index.
static void far_layout(double *pos) {
  static const double far[15] = {-10, -10, 5, -10, 10, 5, 10, -10, 5, -20, 0, 5, 0, -20, 5};
  memcpy(pos, far, sizeof far);
}

static void test_costs(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm", NULL, 9)) return;
  int dd = dt_info(&t, "cost_drone_drone"), dob = dt_info(&t, "cost_drone_obstacle");
  static const double gaps[2] = {1.9, 2.1}, offs[2] = {2.95, 3.05};
  for (int c = 0; c < 2; c++) {
    double pos[15];
    far_layout(pos);
    pos[3] = pos[0] + gaps[c], pos[4] = pos[1], pos[5] = pos[2];  // drone 1 next to drone 0
    pos[6] = 3, pos[7] = 3, pos[8] = 2 + offs[c];                 // drone 2 above obstacle 0
    CHECK(dt_place_all(&t, pos) == 0, "load");
    dt_set_actions(&t, 0, 0, 0);
    dt_step(&t);
    int want_dd = c == 0, want_do = c == 0;
    CHECK(t.costs[0] == want_dd && t.costs[1] == want_dd && t.costs[2] == want_do &&
              t.costs[3] == 0 && t.costs[4] == 0,
          "gap %.2f m, obstacle at r + d_safe %+.2f: costs %g %g %g %g %g", gaps[c], offs[c] - 3,
          t.costs[0], t.costs[1], t.costs[2], t.costs[3], t.costs[4]);
    CHECK(t.out.team_cost == 2 * want_dd + want_do && t.out.info[dd] == 2 * want_dd &&
              t.out.info[dob] == want_do && !t.out.done,
          "team cost %g, components %g %g", t.out.team_cost, t.out.info[dd], t.out.info[dob]);
    // Reward: -distance to the slot per drone (obs: slot - p), minus the proximity penalty.
    double want = 0;
    for (int i = 0; i < 5; i++) {
      const float *o = t.obs + i * t.spec.max_obs_dim;
      want -= sqrt((double)o[0] * o[0] + (double)o[1] * o[1] + (double)o[2] * o[2]);
    }
    if (c == 0) want -= 2 * 10 * (2.0 - 1.9);
    CHECK_NEAR(t.out.reward, want, 2e-3, "team reward at the constructed state");
  }
  dt_close(&t);
}

static void test_arrival_and_crash(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm", NULL, 13)) return;
  int arr = dt_info(&t, "arrivals"), cr = dt_info(&t, "crashes"), su = dt_info(&t, "success");
  double slots[15], pos[15];
  for (int i = 0; i < 5; i++) dt_slot(&t, i, slots + 3 * i);
  // Four in their slots, one away: +100 each once, no end.
  memcpy(pos, slots, sizeof pos);
  pos[12] = -10, pos[13] = -10, pos[14] = 5;
  CHECK(dt_place_all(&t, pos) == 0, "load");
  dt_set_actions(&t, 0, 0, 0);
  dt_step(&t);
  CHECK(t.out.info[arr] == 4 && !t.out.done && t.out.reward > 400 - 30,
        "four arrive: arrivals %g done %d reward %g", t.out.info[arr], t.out.done, t.out.reward);
  dt_step(&t);
  CHECK(t.out.info[arr] == 0 && t.out.reward < 0, "the bonus is paid once (reward %g)",
        t.out.reward);
  // The last one comes in: success ends the episode (terminal, not truncated).
  dt_save(&t);
  dt_state_place(&t, 4, slots + 12, NULL);
  CHECK(dt_load(&t) == 0, "load");
  dt_step(&t);
  CHECK(t.out.done && !t.out.truncated && t.out.info[su] == 1 && t.out.info[arr] == 1 &&
            t.out.reward > 100 - 1,
        "success: done %d truncated %d success %g arrivals %g reward %g", t.out.done,
        t.out.truncated, t.out.info[su], t.out.info[arr], t.out.reward);

  // Crashes: floor, tilt, drone-drone contact, obstacle contact; and near misses.
  static const struct {
    const char *what;
    double z, tilt_deg, gap, above_obstacle;
    int crashes;
  } cases[] = {
      {"below 0.2 m", 0.15, 0, 0, 0, 1},           {"tilted 70 deg", 5, 70, 0, 0, 1},
      {"tilted 50 deg", 5, 50, 0, 0, 0},           {"drones 0.10 m apart", 5, 0, 0.10, 0, 2},
      {"drones 0.15 m apart", 5, 0, 0.15, 0, 0},   {"touching an obstacle", 5, 0, 0, 1.03, 1},
      {"0.1 m over an obstacle", 5, 0, 0, 1.10, 0}};
  for (int c = 0; c < (int)(sizeof cases / sizeof cases[0]); c++) {
    t.cls->reset(t.env, &t.rng, t.obs, t.share);
    far_layout(pos);
    pos[2] = cases[c].z;
    if (cases[c].gap > 0) pos[3] = pos[0] + cases[c].gap, pos[4] = pos[1], pos[5] = pos[2];
    if (cases[c].above_obstacle > 0) pos[0] = 3, pos[1] = 3, pos[2] = 2 + cases[c].above_obstacle;
    dt_save(&t);
    for (int i = 0; i < 5; i++) dt_state_place(&t, i, pos + 3 * i, NULL);
    double half = 0.5 * cases[c].tilt_deg * kPi / 180.0, quat[4] = {cos(half), sin(half), 0, 0};
    dt_state_place(&t, 0, pos, quat);
    CHECK(dt_load(&t) == 0, "load");
    dt_step(&t);
    int want = cases[c].crashes;
    CHECK(t.out.info[cr] == want && t.out.done == (want > 0) && !t.out.truncated &&
              t.out.info[su] == 0,
          "%s: crashes %g done %d", cases[c].what, t.out.info[cr], t.out.done);
    if (want) {
      double dist = 0;
      for (int i = 0; i < 5; i++) {
        const float *o = t.obs + i * t.spec.max_obs_dim;
        dist += sqrt((double)o[0] * o[0] + (double)o[1] * o[1] + (double)o[2] * o[2]);
      }
      double prox = cases[c].gap > 0 ? 2 * 10 * (2.0 - cases[c].gap) : 0;
      CHECK_NEAR(t.out.reward, -dist - prox - 100.0 * want, 0.05, "crash reward");
    }
  }
  // The 50-degree drone recovers.
  t.cls->reset(t.env, &t.rng, t.obs, t.share);
  far_layout(pos);
  dt_save(&t);
  for (int i = 0; i < 5; i++) dt_state_place(&t, i, pos + 3 * i, NULL);
  double half = 25.0 * kPi / 180.0, quat[4] = {cos(half), 0, sin(half), 0};
  dt_state_place(&t, 0, pos, quat);
  dt_load(&t);
  for (int k = 0; k < 20; k++) dt_step(&t);
  CHECK(!t.out.done && dt_tilt_deg(&t, 0) < 2.0, "50 deg recovered after 2 s: tilt %.2f deg",
        dt_tilt_deg(&t, 0));
  dt_close(&t);
}

static void test_time_limit(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm", "episode_length=30", 2)) return;
  dt_set_actions(&t, 0, 0, 0);
  int k = 0;
  do {
    dt_step(&t);
    k++;
  } while (!t.out.done && k < 100);
  CHECK(k == 30 && t.out.truncated, "a hovering swarm ends by the time limit at 30 (%d)", k);
  dt_close(&t);
}

static void test_spawn(void) {
  dt_env_t t;
  if (dt_open(&t, "drone_swarm", "n_drones=16", 1)) return;
  static const double obstacles[3][4] = {{3, 3, 2, 1}, {7, 7, 4, 1}, {5, 5, 3, 1}};
  int bad = 0;
  for (int s = 0; s < 50; s++) {
    t.cls->reset(t.env, &t.rng, t.obs, t.share);
    for (int i = 0; i < 16; i++) {
      double p[3], q[3];
      dt_pos(&t, i, p);
      for (int j = i + 1; j < 16; j++) {
        dt_pos(&t, j, q);
        double d[3] = {p[0] - q[0], p[1] - q[1], p[2] - q[2]};
        bad += norm3(d) < 2.0 - 1e-5;
      }
      for (int o = 0; o < 3; o++) {
        double d[3] = {p[0] - obstacles[o][0], p[1] - obstacles[o][1], p[2] - obstacles[o][2]};
        bad += norm3(d) < obstacles[o][3] + 2.0 - 1e-5;
      }
      bad += t.share[DC_SHARE_DIM * i + 11] != 1.0f || t.share[DC_SHARE_DIM * i + 6] != 0.0f;
    }
  }
  CHECK(bad == 0, "50 resets of 16 drones: %d violations (d_min, obstacle clearance, at rest)",
        bad);
  dt_close(&t);
}

// ---- safety layer -------------------------------------------------------------------------

static void test_safety_spec(void) {
  CHECK(dt_same_rollout("drone_swarm", NULL, "safety_layer=none", 200),
        "safety_layer=none = the option absent");
  CHECK(!dt_same_rollout("drone_swarm", NULL, "safety_layer=project", 200),
        "the layer changes random play");
  dt_env_t t;
  if (dt_open(&t, "drone_swarm", "safety_layer=project", 1)) {
    CHECK(0, "open with the layer");
    return;
  }
  CHECK(t.spec.n_info == 15 && dt_info(&t, "mj_warnings") == 10 &&
            dt_info(&t, "safety_interventions") == 11 && dt_info(&t, "safety_change") == 12 &&
            dt_info(&t, "safety_steps") == 13 && dt_info(&t, "safety_infeasible") == 14,
        "layer on: four safety values after the env's own (%d)", t.spec.n_info);
  CHECK(t.state_size == 32 + 8 * (1 + 7 * 5 + 6 * 5 + 7 * 5) + 5, "layer on: same state size");
  dt_close(&t);
  const env_class_t *cls = env_find("drone_swarm");
  dc_params_t p;
  cfg_section_t sec = {"env", cls->params, cls->n_params, &p};
  cfg_set_defaults(&sec, 1);
  CHECK(cfg_override(&sec, 1, "env.safety_layer=shield") == ERR_INPUT, "safety_layer choices");
  cfg_override(&sec, 1, "env.safety_layer=project");
  cfg_override(&sec, 1, "env.command=acceleration");
  env_spec_t spec;
  void *shared = NULL;
  CHECK(cls->shared_create(&p, &spec, &shared) == ERR_INPUT &&
            strstr(err_message(), "env.safety_layer"),
        "the layer needs velocity commands: %s", err_message());
}

// Both drones level at pos with world velocities vel ([2][3]), loaded just before the step.
static int mj_place2(dt_env_t *t, const double *pos, const double *vel) {
  int n = t->spec.n_agents;
  dt_save(t);
  double *d = dt_state_doubles(t);
  for (int i = 0; i < 2; i++) {
    dt_state_place(t, i, pos + 3 * i, NULL);
    for (int a = 0; a < 3; a++) d[1 + 7 * n + 6 * i + a] = vel[3 * i + a];
  }
  return dt_load(t);
}

static double mj_separation(dt_env_t *t) {
  dt_save(t);
  const double *d = dt_state_doubles(t);
  double dx = d[8] - d[1], dy = d[9] - d[2], dz = d[10] - d[3];
  return sqrt(dx * dx + dy * dy + dz * dz);
}

// One step of two drones from (pos, vel) commanded x = +1 and -1 (at each other), with and
// without the layer: separations after, and the layer's info values into f[4].
static void mj_head_on_step(dt_env_t *on, dt_env_t *off, const double *pos, const double *vel,
                            double *sep_on, double *sep_off, float *f) {
  CHECK(mj_place2(on, pos, vel) == 0 && mj_place2(off, pos, vel) == 0, "load");
  dt_set_actions(on, 0, 0, 0);
  dt_set_actions(off, 0, 0, 0);
  on->act[0] = off->act[0] = 1;
  on->act[3] = off->act[3] = -1;
  dt_step(on);
  dt_step(off);
  *sep_on = mj_separation(on);
  *sep_off = mj_separation(off);
  memcpy(f, on->out.info + dt_info(on, "safety_interventions"), sizeof(float) * 4);
}

static void test_safety_scenes(void) {
  const char *ov = "n_drones=2 n_obstacles=0 spawn_centre=0,0,10 episode_length=100000";
  char ov_on[200];
  snprintf(ov_on, sizeof ov_on, "%s safety_layer=project", ov);
  dt_env_t on, off;
  if (dt_open(&off, "drone_swarm", ov, 5)) return;
  if (dt_open(&on, "drone_swarm", ov_on, 5)) {
    dt_close(&off);
    return;
  }
  // At rest 2.9 m apart: the model's tracking radius is 0.06 + 0.1 |(2, 2, 1)| = 0.36 m, so the
  // requirement is 2.72 m on the kinematic positions p + 0.2 u_x; full commands at each other
  // give 2.5 m; the nearest certified joint command is x = 0.45 and -0.45.
  const double p1[6] = {0, 0, 10, 2.9, 0, 10}, rest[6] = {0};
  double sep_on, sep_off;
  float f[4];
  mj_head_on_step(&on, &off, p1, rest, &sep_on, &sep_off, f);
  CHECK(f[0] == 2 && f[2] == 1 && f[3] == 0, "at rest: 2 drones changed, certified (%g %g %g)",
        f[0], f[2], f[3]);
  CHECK_NEAR(f[1], 2 * 0.55, 1e-5, "at rest: changes 1 -> 0.45 and -1 -> -0.45");
  CHECK(sep_on >= 2.0 && sep_on > sep_off && on.out.team_cost == 0,
        "at rest: %.4f m apart after the step with the layer, %.4f without", sep_on, sep_off);

  // Closing at 2 m/s each from 2.3 m: the full command ends below d_min; no command of the box
  // is certified from such a state (drone_safety.h), so: changed (braking), reported infeasible.
  const double p2[6] = {0, 0, 10, 2.3, 0, 10}, v2[6] = {2, 0, 0, -2, 0, 0};
  mj_head_on_step(&on, &off, p2, v2, &sep_on, &sep_off, f);
  CHECK(sep_off < 2.0, "closing: the full command ends %.4f m apart without the layer", sep_off);
  CHECK(f[0] == 2 && f[2] == 1 && f[3] == 1, "closing: changed and infeasible (%g %g %g)", f[0],
        f[2], f[3]);
  CHECK(sep_on > sep_off, "closing: braking ends farther apart (%.4f vs %.4f m)", sep_on, sep_off);
  dt_close(&on);
  dt_close(&off);
}

static void test_safety_unchanged(void) {
  const char *ov = "n_drones=3 n_obstacles=0 spawn_centre=0,0,10 episode_length=100000";
  char ov_on[200];
  snprintf(ov_on, sizeof ov_on, "%s safety_layer=project", ov);
  dt_env_t on, off;
  if (dt_open(&off, "drone_swarm", ov, 6)) return;
  if (dt_open(&on, "drone_swarm", ov_on, 6)) {
    dt_close(&off);
    return;
  }
  int base = dt_info(&on, "safety_interventions");
  // Pairs >= 21 m apart; 20 steps at <= 2.3 m/s leave them > 11 m apart (requirement <= 3.1 m).
  const double pos[9] = {-15, 0, 10, 15, 0, 10, 0, 15, 10};
  CHECK(dt_place_all(&off, pos) == 0 && dt_place_all(&on, pos) == 0, "load");
  rng_t r;
  rng_seed(&r, 78);
  int differ = 0, counted = 0;
  for (int k = 0; k < 20; k++) {
    dt_random_actions(&off, &r);
    memcpy(on.act, off.act, sizeof(float) * 9);
    dt_step(&off);
    dt_step(&on);
    differ += memcmp(on.obs, off.obs, sizeof(float) * 3 * on.spec.max_obs_dim) != 0 ||
              memcmp(on.share, off.share, sizeof(float) * on.spec.share_obs_dim) != 0 ||
              on.out.reward != off.out.reward;
    for (int j = 0; j < DC_N_SAFETY_INFO; j++) counted += on.out.info[base + j] != 0;
  }
  CHECK(differ == 0, "safe commands: %d of 20 steps differ from the layer off", differ);
  CHECK(counted == 0, "safe commands: %d nonzero safety values", counted);
  dt_close(&on);
  dt_close(&off);
}

// Two drones 8 m apart sent at each other at full speed for 40 steps: without the layer they
// break d_min; with it every certified step ends >= d_min and without drone-drone cost.
static void test_safety_closed_loop(void) {
  const char *ov = "n_drones=2 n_obstacles=0 spawn_centre=0,0,10 episode_length=100000";
  char ov_on[200];
  snprintf(ov_on, sizeof ov_on, "%s safety_layer=project", ov);
  double min_sep[2] = {INFINITY, INFINITY};
  int certified = 0, broken = 0, interventions = 0;
  for (int layer = 0; layer < 2; layer++) {
    dt_env_t t;
    if (dt_open(&t, "drone_swarm", layer ? ov_on : ov, 8)) return;
    const double p[6] = {-4, 0, 10, 4, 0, 10}, rest[6] = {0};
    CHECK(mj_place2(&t, p, rest) == 0, "load");
    int base = dt_info(&t, "safety_interventions");
    for (int k = 0; k < 40 && !t.out.done; k++) {
      dt_set_actions(&t, 0, 0, 0);
      t.act[0] = 1;
      t.act[3] = -1;
      dt_step(&t);
      double sep = mj_separation(&t);
      min_sep[layer] = fmin(min_sep[layer], sep);
      if (layer) {
        interventions += t.out.info[base] > 0;
        if (t.out.info[base + 3] == 0) {
          certified++;
          broken += sep < 2.0 || t.out.info[0] != 0;
        }
      }
    }
    dt_close(&t);
  }
  printf(
      "drone_swarm safety layer, two drones sent head-on: min separation %.3f m without, "
      "%.3f m with (%d intervention steps, %d of 40 certified)\n",
      min_sep[0], min_sep[1], interventions, certified);
  CHECK(min_sep[0] < 2.0, "the scene breaks d_min without the layer (%.3f)", min_sep[0]);
  CHECK(interventions > 0 && certified > 0, "the layer acted (%d) and certified (%d)",
        interventions, certified);
  CHECK(broken == 0, "%d certified steps ended below d_min or in cost", broken);
}

int main(void) {
  test_spec();
  test_hover();
  test_velocity_tracking();
  test_acceleration_tracking();
  test_costs();
  test_arrival_and_crash();
  test_time_limit();
  test_spawn();
  dt_determinism_and_resume("drone_swarm", NULL);
  dt_determinism_and_resume("drone_swarm", "command=acceleration");
  dt_soak("drone_swarm", NULL, 20000, 1);
  dt_soak("drone_swarm", "n_drones=64", 2000, 2);
  test_safety_spec();
  test_safety_scenes();
  test_safety_unchanged();
  test_safety_closed_loop();
  dt_determinism_and_resume("drone_swarm", "safety_layer=project");
  return check_report("test_drone_swarm");
}
