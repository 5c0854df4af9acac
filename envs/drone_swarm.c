// drone_swarm: N Crazyflie-class quadrotors in MuJoCo fly to N target slots past M static
// spheres (seeds 000/001; the task, reward, cost, slots, spawn, observations and agent graph
// are drone_common's, see drone_common.h). This file owns the vehicle: the MJCF model (built in
// memory at shared_create from N, M and the world, loaded through a MuJoCo VFS; nothing is
// read from or written to disk), the rotor model, the inner-loop controller, the crash test
// per physics step, and the exact state. Choices, with the specs (envs-drone-swarm.md):
// * Airframe (§12 preset "cf2"): mass 0.027 kg, inertia (2.3951e-5, 2.3951e-5, 3.2347e-5)
//   kg m^2, four rotors in X layout at (+-0.028, +-0.028, 0) m, thrust 0..0.149 N each (thrust
//   to weight 2.25), yaw reaction 0.0251 N m per N alternating by rotor, first-order motor lag
//   tau = 30 ms (exact discretisation per physics step). Rotor drag as gym-pybullet-drones
//   (§1.1): body-frame force -(9.1785e-7, 9.1785e-7, 10.311e-7) * sum(rotor rad/s) * v_body
//   with rotor speed sqrt(f / 2.88e-8): 0.0056 N per m/s at hover.
// * Actuation: four per-rotor thrusts (not Menagerie's thrust + 3 body moments), because rotor
//   saturation couples thrust and torque authority at the 30 deg tilts the commands reach, and
//   the mixer is the real vehicle's. They are applied as the drone's wrench through qfrc_applied
//   (world force on the free joint's translational dofs, body torque on its rotational dofs),
//   not as MuJoCo <general> actuators: 2.2.2 keeps a dense nu x nv actuator_moment, so 4N site
//   actuators cost O(N^2) per step (measured 446 us per physics step at N = 64 against 34 us
//   with qfrc_applied; 8.1 against 3.1 us at N = 5).
// * Physics: timestep 0.002 s, 50 steps per 0.1 s env step (§12), semi-implicit Euler instead
//   of §12's RK4 (4 model evaluations per step, measured 3.8x the cost; the controller closes
//   the loop every 2 ms, which dominates the accuracy), gravity 9.81, no MuJoCo fluid model (it
//   cost more than the rest of the physics at N = 64; the rotor drag above replaces it), MuJoCo
//   contacts disabled: crash by contact is the geometric sphere test of drone_common, run after
//   every physics step, and the first crash ends the step and the episode, so no contact force is
//   ever needed.
// * Crash thresholds: collision sphere 0.06 m touching a drone or obstacle, height below
//   0.2 m, or tilt (body z from world z) beyond 60 deg (the controller never asks for more than
//   30 deg, so 60 means lost control).
// * Controller (every physics step, in this file): command = action (clipped to [-1, 1]) times
//   (v_max_xy, v_max_xy, v_max_z) = (2, 2, 1) m/s in `velocity` mode (GCBF+ Crazyflie uses
//   (2, 2, 0.5)), or times a_max = 4 m/s^2 in `acceleration` mode (§12: 3-5 m/s^2). Velocity
//   mode: a = 5 (v_cmd - v) + 6.25 * integral(v_cmd - v) (critically damped at 2.5 rad/s; the
//   integral, clamped to +-0.5 m per axis, removes the drag error and makes a zero command hold
//   position; ~12% overshoot on a 2 m/s step, within 3% after 2 s). Both modes: desired force
//   m (a + g) with the rotor drag estimate fed forward, limited to a vertical part of
//   m (g +- 5 m/s^2) and a lean of 30 deg (g tan 30 = 5.7 m/s^2 level; in acceleration mode
//   the drag is then no longer compensated at high speed, giving a terminal speed), then a
//   geometric attitude controller (Lee et al. 2010; yaw held at 0) with roll/pitch at 15 rad/s,
//   yaw at 6 rad/s (damping 0.9), mixed to the rotors; on saturation yaw torque goes first.
// * Memory: <size> njmax 1, nconmax 1 (no contacts), nstack 1000 + 30 nv (random play peaks
//   at 12 nv + 12 mjtNums, measured for N = 1..64): an mjData of 0.04 MiB for N = 5, 0.35 MiB
//   for N = 64 (MuJoCo's defaults would take about 3 MiB).
// * safety_layer = project (drone_common.h): before the physics, drone_safety's conservative
//   one-step projection (dsafe_project_conservative, velocity mode only: the model is the
//   commanded velocity plus a tracking radius from an acceleration bound of 12 m/s^2) replaces
//   the joint command. Feasible -> separation >= d_min after the step provided that bound holds
//   (drone_safety.h: measured, not proven); its requirement d_min + e_i + e_j (2.72 m at rest
//   for d_min = 2) makes it intervene earlier than the point model's. The policy's action stays
//   what is learnt from.
// State (save_state), in host byte order: uint32 magic "DRSW", version, N, nq, nv,
// steps, 2 reserved; doubles time, qpos[nq], qvel[nv], rotor thrust[4N], velocity-error
// integral[3N]; then uint8 arrived[N]. Drone i's free joint is qpos[7i..7i+7) (position,
// quaternion w x y z) and qvel[6i..6i+6) (world linear, body angular velocity).
#include <math.h>
#include <mujoco/mujoco.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "envs/drone_common.h"
#include "envs/env.h"

#define DS_TIMESTEP_S 0.002
#define DS_SUBSTEPS 50  // DC_DT_S / DS_TIMESTEP_S
#define DS_G 9.81
#define DS_MASS 0.027
#define DS_IXX 2.3951e-5
#define DS_IZZ 3.2347e-5
#define DS_ARM 0.028         // rotor offset along body x and y
#define DS_YAW_RATIO 0.0251  // km / kf: yaw torque per newton of thrust
#define DS_F_MAX 0.149       // per rotor
#define DS_MOTOR_TAU_S 0.03
#define DS_KF 2.88e-8  // thrust per (rad/s)^2
#define DS_DRAG_XY 9.1785e-7
#define DS_DRAG_Z 10.311e-7
#define DS_TILT_CMD_MAX_DEG 30.0
#define DS_TILT_CRASH_DEG 60.0
#define DS_AZ_MAX 5.0    // m/s^2
#define DS_KV 5.0        // velocity gain, 1/s
#define DS_KI 6.25       // velocity-integral gain, 1/s^2
#define DS_EINT_MAX 0.5  // m
#define DS_ATT_W 15.0    // roll/pitch bandwidth, rad/s
#define DS_YAW_W 6.0     // yaw bandwidth, rad/s
#define DS_ATT_ZETA 0.9
#define DS_STATE_MAGIC 0x57535244u  // "DRSW"
#define DS_STATE_VERSION 1u
#define DS_STATE_HEADER 32

enum { DS_INFO_WARNINGS = DC_N_INFO, DS_N_INFO };

static const char *const ds_info_names[DS_N_INFO] = {
    "cost_drone_drone", "cost_drone_obstacle", "arrivals",    "crashes",    "success",
    "crash_floor",      "crash_obstacle",      "crash_drone", "crash_tilt", "cost_crash",
    "mj_warnings"};
_Static_assert(DC_N_INFO == 10, "ds_info_names repeats dc_info_names: keep them in step");
_Static_assert(DS_N_INFO + DC_N_SAFETY_INFO <= ENV_MAX_INFO, "info slots");

typedef struct {
  dc_world_t world;
  env_spec_t spec;
  mjModel *m;
  int velocity_mode;
  double cmd_scale[3];  // action -> command
  double cos_tilt_crash, tan_tilt_cmd, motor_alpha;
  dsafe_velocity_model_t safety_model;  // the safety layer's model of velocity mode
} ds_shared_t;

typedef struct {
  const ds_shared_t *s;
  mjData *d;
  int steps;
  int warnings;            // mjData warning total after the last step
  double *thrust;          // [4N] rotor thrusts now (N)
  double *e_int;           // [3N] integral of the velocity error (m)
  double *cmd;             // [3N] this step's commands
  double *pos, *vel, *up;  // [3N] scratch for reward and observations
  uint8_t *arrived, *crashed;
  dc_scratch_t *sc;
  dc_safety_t safety;  // workspace only with safety_layer on
} ds_env_t;

// clang-format off
static const cfg_param_t ds_params[] = {
  DC_PARAM_ROWS,
  {"command", CFG_STRING, offsetof(dc_params_t, command), "velocity",
   "what the 3-D action commands the inner-loop controller: world velocity or acceleration",
   "velocity|acceleration", 0, -1},
  {"v_max_xy", CFG_FLOAT, offsetof(dc_params_t, v_max_xy), "2",
   "velocity mode: horizontal command at |action| = 1, m/s", NULL, 0.1, 5.0},
  {"v_max_z", CFG_FLOAT, offsetof(dc_params_t, v_max_z), "1",
   "velocity mode: vertical command at |action| = 1, m/s", NULL, 0.1, 3.0},
  {"a_max", CFG_FLOAT, offsetof(dc_params_t, a_max), "4",
   "acceleration mode: command at |action| = 1 per axis, m/s^2", NULL, 0.1, 5.0},
};
// clang-format on

// ---- model --------------------------------------------------------------------------------

static int ds_append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int ds_append(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= cap - *len) return -1;
  *len += (size_t)n;
  return 0;
}

// The MJCF text of the world: floor, obstacles, slot markers, N drones (at the fallback spawn
// in qpos0). Returns the malloc'd text or NULL.
static char *ds_model_xml(const dc_world_t *w, size_t *len) {
  size_t cap = 4096 + 1200 * (size_t)w->n + 300 * (size_t)w->m;
  char *b = malloc(cap);
  if (!b) return NULL;
  *len = 0;
  int nv = 6 * w->n, bad = 0;
  bad |=
      ds_append(b, cap, len,
                "<mujoco model=\"drone_swarm\">\n"
                "  <compiler angle=\"radian\" inertiafromgeom=\"false\" autolimits=\"true\"/>\n"
                "  <option timestep=\"%g\" integrator=\"Euler\" gravity=\"0 0 %g\">\n"
                "    <flag contact=\"disable\"/>\n"
                "  </option>\n"
                "  <size njmax=\"1\" nconmax=\"1\" nstack=\"%d\"/>\n"
                "  <worldbody>\n"
                "    <light pos=\"5 5 30\" dir=\"0 0 -1\"/>\n"
                "    <geom name=\"floor\" type=\"plane\" size=\"0 0 1\" rgba=\"0.8 0.8 0.8 1\"/>\n",
                DS_TIMESTEP_S, -DS_G, 1000 + 30 * nv);
  for (int k = 0; k < w->m; k++)
    bad |= ds_append(b, cap, len,
                     "    <geom name=\"obstacle%d\" type=\"sphere\" pos=\"%.17g %.17g %.17g\" "
                     "size=\"%.17g\" rgba=\"0.8 0.3 0.3 0.6\"/>\n",
                     k, w->obstacle[k][0], w->obstacle[k][1], w->obstacle[k][2], w->obstacle[k][3]);
  for (int i = 0; i < w->n; i++)
    bad |= ds_append(b, cap, len,
                     "    <site name=\"slot%d\" type=\"sphere\" pos=\"%.17g %.17g %.17g\" "
                     "size=\"0.1\" rgba=\"0.2 0.8 0.2 0.4\"/>\n",
                     i, w->slot[i][0], w->slot[i][1], w->slot[i][2]);
  for (int i = 0; i < w->n; i++) {
    const double *p = w->fallback_spawn[i];
    bad |= ds_append(
        b, cap, len,
        "    <body name=\"drone%d\" pos=\"%.17g %.17g %.17g\">\n"
        "      <freejoint name=\"drone%d\"/>\n"
        "      <inertial pos=\"0 0 0\" mass=\"%g\" diaginertia=\"%g %g %g\"/>\n"
        "      <geom name=\"drone%d\" type=\"sphere\" size=\"%g\" rgba=\"0.2 0.2 0.8 1\"/>\n",
        i, p[0], p[1], p[2], i, DS_MASS, DS_IXX, DS_IXX, DS_IZZ, i, DC_DRONE_RADIUS_M);
    for (int r = 0; r < 4; r++)
      bad |= ds_append(b, cap, len,
                       "      <site name=\"drone%d_rotor%d\" pos=\"%g %g 0\" size=\"0.0231\"/>\n",
                       i, r, (r == 0 || r == 3) ? DS_ARM : -DS_ARM, r < 2 ? DS_ARM : -DS_ARM);
    bad |= ds_append(b, cap, len, "    </body>\n");
  }
  bad |= ds_append(b, cap, len, "  </worldbody>\n</mujoco>\n");
  if (bad) {
    free(b);
    return NULL;
  }
  return b;
}

static int ds_load_model(ds_shared_t *s) {
  size_t len;
  char *xml = ds_model_xml(&s->world, &len);
  if (!xml) return err_fail("drone_swarm: cannot build the model text");
  // mjVFS holds 2000 file names of 1000 bytes: heap, not stack.
  mjVFS *vfs = malloc(sizeof *vfs);
  if (!vfs) {
    free(xml);
    return err_fail("drone_swarm: out of memory for the model VFS");
  }
  mj_defaultVFS(vfs);
  int rc = ERR_OK;
  if (mj_makeEmptyFileVFS(vfs, "drone_swarm.xml", (int)len) != 0) {
    rc = err_fail("drone_swarm: cannot create the in-memory model file");
  } else {
    int f = mj_findFileVFS(vfs, "drone_swarm.xml");
    memcpy(vfs->filedata[f], xml, len);
    char err[1000] = "";
    s->m = mj_loadXML("drone_swarm.xml", vfs, err, sizeof err);
    if (!s->m) {
      for (char *c = err; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
      rc = err_fail("drone_swarm: cannot load the generated model: %s", err);
    }
  }
  mj_deleteVFS(vfs);
  free(vfs);
  free(xml);
  if (rc) return rc;
  const mjModel *m = s->m;
  int n = s->world.n;
  if (m->nq != 7 * n || m->nv != 6 * n || m->nu != 0 || m->njnt != n)
    return err_fail("drone_swarm: generated model has nq %d nv %d nu %d (want %d %d 0)", m->nq,
                    m->nv, m->nu, 7 * n, 6 * n);
  for (int i = 0; i < n; i++)
    if (m->jnt_type[i] != mjJNT_FREE || m->jnt_qposadr[i] != 7 * i || m->jnt_dofadr[i] != 6 * i)
      return err_fail("drone_swarm: drone %d's joint is not the %d-th free joint", i, i);
  return ERR_OK;
}

static int ds_shared_create(const void *params, env_spec_t *spec, void **shared) {
  const dc_params_t *p = params;
  int velocity;
  if (strcmp(p->command, "velocity") == 0) {
    velocity = 1;
  } else if (strcmp(p->command, "acceleration") == 0) {
    velocity = 0;
  } else {
    return err_input("env.command: '%s' is not one of velocity|acceleration", p->command);
  }
  if (!(p->v_max_xy > 0 && p->v_max_z > 0 && p->a_max > 0))
    return err_input("env.v_max_xy, v_max_z, a_max: must be > 0");
  if (!velocity && strcmp(p->safety_layer, "none") != 0)
    return err_input(
        "env.safety_layer: '%s' needs command=velocity (its conservative model is "
        "of velocity commands)",
        p->safety_layer);
  ds_shared_t *s = err_calloc(1, sizeof *s);
  if (!s) return ERR_FAIL;
  int rc = dc_world_init(&s->world, p);
  if (!rc) rc = ds_load_model(s);
  if (rc) {
    if (s->m) mj_deleteModel(s->m);
    dc_world_free(&s->world);
    free(s);
    return rc;
  }
  s->velocity_mode = velocity;
  if (velocity) {
    s->cmd_scale[0] = s->cmd_scale[1] = p->v_max_xy;
    s->cmd_scale[2] = p->v_max_z;
  } else {
    s->cmd_scale[0] = s->cmd_scale[1] = s->cmd_scale[2] = p->a_max;
  }
  const double deg = 3.14159265358979323846 / 180.0;
  s->cos_tilt_crash = cos(DS_TILT_CRASH_DEG * deg);
  s->tan_tilt_cmd = tan(DS_TILT_CMD_MAX_DEG * deg);
  s->motor_alpha = 1.0 - exp(-DS_TIMESTEP_S / DS_MOTOR_TAU_S);
  s->safety_model = (dsafe_velocity_model_t){p->v_max_xy, p->v_max_z, 0.0};
  const char *info_names[ENV_MAX_INFO];
  int n_info = dc_safety_info_list(&s->world, ds_info_names, DS_N_INFO, info_names);
  dc_fill_spec(&s->world, "drone_swarm", n_info, info_names, &s->spec);
  *spec = s->spec;
  *shared = s;
  return ERR_OK;
}

static void ds_shared_destroy(void *shared) {
  ds_shared_t *s = shared;
  if (!s) return;
  if (s->m) mj_deleteModel(s->m);
  dc_world_free(&s->world);
  free(s);
}

// ---- copies -------------------------------------------------------------------------------

static void ds_destroy(void *env) {
  ds_env_t *e = env;
  if (!e) return;
  if (e->d) mj_deleteData(e->d);
  free(e->thrust);
  free(e->e_int);
  free(e->cmd);
  free(e->pos);
  free(e->vel);
  free(e->up);
  free(e->arrived);
  free(e->crashed);
  free(e->sc);
  dc_safety_destroy(&e->safety);
  free(e);
}

static int ds_create(void *shared, void **env) {
  const ds_shared_t *s = shared;
  int n = s->world.n;
  ds_env_t *e = err_calloc(1, sizeof *e);
  if (!e) return ERR_FAIL;
  e->s = s;
  e->d = mj_makeData(s->m);
  e->thrust = err_calloc((size_t)4 * n, sizeof(double));
  e->e_int = err_calloc((size_t)3 * n, sizeof(double));
  e->cmd = err_calloc((size_t)3 * n, sizeof(double));
  e->pos = err_calloc((size_t)3 * n, sizeof(double));
  e->vel = err_calloc((size_t)3 * n, sizeof(double));
  e->up = err_calloc((size_t)3 * n, sizeof(double));
  e->arrived = err_calloc((size_t)n, 1);
  e->crashed = err_calloc((size_t)n, 1);
  e->sc = err_calloc(1, sizeof *e->sc);
  if (!e->d || !e->thrust || !e->e_int || !e->cmd || !e->pos || !e->vel || !e->up || !e->arrived ||
      !e->crashed || !e->sc || dc_safety_create(&s->world, &e->safety)) {
    if (!e->d) err_fail("drone_swarm: mj_makeData failed");
    ds_destroy(e);
    return ERR_FAIL;
  }
  for (int r = 0; r < 4 * n; r++) e->thrust[r] = DS_MASS * DS_G / 4.0;
  mj_forward(s->m, e->d);  // a valid state (qpos0: the fallback spawn) before the first reset
  *env = e;
  return ERR_OK;
}

static int ds_warning_total(const mjData *d) {
  int n = 0;
  for (int i = 0; i < mjNWARNING; i++) n += d->warning[i].number;
  return n;
}

// Rotation matrix (row-major, columns = body axes in the world) of a possibly unnormalised
// quaternion (w, x, y, z).
static void ds_quat_mat(const double *q, double *R) {
  double n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
  double qn[4] = {1, 0, 0, 0};
  if (n > 0)
    for (int a = 0; a < 4; a++) qn[a] = q[a] / n;
  mju_quat2Mat(R, qn);
}

// The rotor wrench in the body frame from four rotor thrusts f (X layout, see the header):
// rotors at (+a,+a), (-a,+a), (-a,-a), (+a,-a), spin signs +, -, +, -.
static void ds_rotor_wrench(const double *f, double *thrust, double *torque) {
  *thrust = f[0] + f[1] + f[2] + f[3];
  torque[0] = DS_ARM * (f[0] + f[1] - f[2] - f[3]);
  torque[1] = -DS_ARM * (f[0] - f[1] - f[2] + f[3]);
  torque[2] = DS_YAW_RATIO * (f[0] - f[1] + f[2] - f[3]);
}

// Rotor drag in the world frame for rotor thrusts f, rotation R and world velocity v.
static void ds_drag(const double *f, const double *R, const double *v, double *out) {
  double omega = 0;
  for (int r = 0; r < 4; r++) omega += sqrt(f[r] > 0 ? f[r] / DS_KF : 0.0);
  double vb[3], fb[3];
  for (int a = 0; a < 3; a++) vb[a] = R[a] * v[0] + R[3 + a] * v[1] + R[6 + a] * v[2];
  fb[0] = -DS_DRAG_XY * omega * vb[0];
  fb[1] = -DS_DRAG_XY * omega * vb[1];
  fb[2] = -DS_DRAG_Z * omega * vb[2];
  for (int a = 0; a < 3; a++)
    out[a] = R[3 * a] * fb[0] + R[3 * a + 1] * fb[1] + R[3 * a + 2] * fb[2];
}

// Rotor thrust commands for a body thrust and torque; yaw torque dropped first on saturation.
static void ds_mix(double thrust, const double *torque, double *f) {
  for (int pass = 0; pass < 2; pass++) {
    double t = thrust / 4, x = torque[0] / (4 * DS_ARM), y = torque[1] / (4 * DS_ARM),
           z = pass == 0 ? torque[2] / (4 * DS_YAW_RATIO) : 0.0;
    f[0] = t + x - y + z;
    f[1] = t + x + y - z;
    f[2] = t - x + y + z;
    f[3] = t - x - y - z;
    int ok = 1;
    for (int r = 0; r < 4; r++) ok &= f[r] >= 0 && f[r] <= DS_F_MAX;
    if (ok) return;
  }
  for (int r = 0; r < 4; r++) f[r] = fmin(fmax(f[r], 0.0), DS_F_MAX);
}

// One physics step of drone i's controller and rotors: sets its qfrc_applied.
static void ds_control(ds_env_t *e, int i) {
  const ds_shared_t *s = e->s;
  mjData *d = e->d;
  const double *q = d->qpos + 7 * i, *v = d->qvel + 6 * i, *w = d->qvel + 6 * i + 3;
  double *f = e->thrust + 4 * i, *ei = e->e_int + 3 * i, *cmd = e->cmd + 3 * i;
  double R[9];
  ds_quat_mat(q + 3, R);

  double acc[3], ei_new[3];
  if (s->velocity_mode) {
    for (int a = 0; a < 3; a++) {
      double err = cmd[a] - v[a];
      ei_new[a] = fmin(fmax(ei[a] + err * DS_TIMESTEP_S, -DS_EINT_MAX), DS_EINT_MAX);
      acc[a] = DS_KV * err + DS_KI * ei_new[a];
    }
  } else {
    for (int a = 0; a < 3; a++) acc[a] = cmd[a];
  }
  // Desired force m (a + g) with the rotor drag estimate fed forward, limited to a vertical
  // part of m (g +- 5 m/s^2) and a lean of at most 30 deg (so at high speed the drag is no
  // longer fully compensated and the vehicle meets a terminal speed). In velocity mode the
  // integral moves only on the axes that are not limited (conditional integration).
  double drag[3], F[3];
  ds_drag(f, R, v, drag);
  for (int a = 0; a < 3; a++) F[a] = DS_MASS * acc[a] - drag[a];
  F[2] += DS_MASS * DS_G;
  int sat_xy = 0, sat_z = 0;
  const double fz_lo = DS_MASS * (DS_G - DS_AZ_MAX), fz_hi = DS_MASS * (DS_G + DS_AZ_MAX);
  if (F[2] < fz_lo || F[2] > fz_hi) {
    F[2] = F[2] < fz_lo ? fz_lo : fz_hi;
    sat_z = 1;
  }
  double fxy = sqrt(F[0] * F[0] + F[1] * F[1]), fxy_max = s->tan_tilt_cmd * F[2];
  if (fxy > fxy_max) {
    F[0] *= fxy_max / fxy;
    F[1] *= fxy_max / fxy;
    sat_xy = 1;
  }
  if (s->velocity_mode) {
    if (!sat_xy) ei[0] = ei_new[0], ei[1] = ei_new[1];
    if (!sat_z) ei[2] = ei_new[2];
  }
  // F_z >= m (g - 5 m/s^2) > 0, so b3 is defined; b2 degenerates only for b3 along x.
  double fn = sqrt(F[0] * F[0] + F[1] * F[1] + F[2] * F[2]);
  double b3[3] = {0.0, 0.0, 1.0};
  if (fn > 1e-9) b3[0] = F[0] / fn, b3[1] = F[1] / fn, b3[2] = F[2] / fn;
  double b2[3] = {0.0, b3[2], -b3[1]};  // b3 x (1, 0, 0)
  double b2n = sqrt(b2[1] * b2[1] + b2[2] * b2[2]);
  if (b2n > 1e-9) {
    b2[1] /= b2n;
    b2[2] /= b2n;
  } else {
    b2[1] = 1.0, b2[2] = 0.0;
  }
  double b1[3] = {b2[1] * b3[2] - b2[2] * b3[1], b2[2] * b3[0] - b2[0] * b3[2],
                  b2[0] * b3[1] - b2[1] * b3[0]};
  double Rd[9] = {b1[0], b2[0], b3[0], b1[1], b2[1], b3[1], b1[2], b2[2], b3[2]};
  double thrust = F[0] * R[2] + F[1] * R[5] + F[2] * R[8];
  thrust = fmin(fmax(thrust, 0.0), 4 * DS_F_MAX);

  // e_R = vee(Rd^T R - R^T Rd) / 2 (Lee, Leok, McClamroch 2010).
  double M[9];
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++)
      M[3 * r + c] = Rd[r] * R[c] + Rd[3 + r] * R[3 + c] + Rd[6 + r] * R[6 + c];
  double eR[3] = {0.5 * (M[7] - M[5]), 0.5 * (M[2] - M[6]), 0.5 * (M[3] - M[1])};
  const double J[3] = {DS_IXX, DS_IXX, DS_IZZ};
  const double wn[3] = {DS_ATT_W, DS_ATT_W, DS_YAW_W};
  double Jw[3] = {J[0] * w[0], J[1] * w[1], J[2] * w[2]}, torque[3];
  double wxJw[3] = {w[1] * Jw[2] - w[2] * Jw[1], w[2] * Jw[0] - w[0] * Jw[2],
                    w[0] * Jw[1] - w[1] * Jw[0]};
  for (int a = 0; a < 3; a++)
    torque[a] = -J[a] * wn[a] * wn[a] * eR[a] - 2 * DS_ATT_ZETA * wn[a] * J[a] * w[a] + wxJw[a];

  double fc[4];
  ds_mix(thrust, torque, fc);
  for (int r = 0; r < 4; r++) f[r] += s->motor_alpha * (fc[r] - f[r]);

  // The rotors' wrench: world force on the translational dofs, body torque on the rotational.
  double T, tb[3];
  ds_rotor_wrench(f, &T, tb);
  ds_drag(f, R, v, drag);
  double *qf = d->qfrc_applied + 6 * i;
  for (int a = 0; a < 3; a++) {
    qf[a] = R[3 * a + 2] * T + drag[a];
    qf[3 + a] = tb[a];
  }
}

// Tilt crash: body z below cos(60 deg) of the world z, from the quaternion.
static int ds_tilted(const ds_shared_t *s, const double *q) {
  double n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
  double zz = 1.0 - 2.0 * (q[1] * q[1] + q[2] * q[2]) / (n2 > 0 ? n2 : 1.0);
  return zz < s->cos_tilt_crash;
}

// One env step of physics: the controller and a physics step, DS_SUBSTEPS times, stopping at
// the first crash (marked in e->crashed). Returns the number of crashed drones.
static int ds_physics(ds_env_t *e) {
  const ds_shared_t *s = e->s;
  const mjModel *m = s->m;
  mjData *d = e->d;
  int n = s->world.n, crashes = 0;
  memset(e->crashed, 0, (size_t)n);
  for (int k = 0; k < DS_SUBSTEPS && !crashes; k++) {
    for (int i = 0; i < n; i++) ds_control(e, i);
    mj_step(m, d);
    for (int i = 0; i < n; i++)
      if (ds_tilted(s, d->qpos + 7 * i + 3)) e->crashed[i] |= DC_CRASH_TILT;
    crashes = dc_crash_test(&s->world, d->qpos, 7, e->crashed);
  }
  return crashes;
}

static void ds_set_commands(ds_env_t *e, const float *actions, int stride) {
  const ds_shared_t *s = e->s;
  for (int i = 0; i < s->world.n; i++)
    for (int a = 0; a < 3; a++)
      e->cmd[3 * i + a] = s->cmd_scale[a] * dc_clip_action(actions[(size_t)stride * i + a]);
}

// Positions, velocities and body z axes from the state into the scratch arrays.
static void ds_gather(ds_env_t *e) {
  const mjData *d = e->d;
  for (int i = 0; i < e->s->world.n; i++) {
    const double *q = d->qpos + 7 * i, *v = d->qvel + 6 * i;
    double R[9];
    ds_quat_mat(q + 3, R);
    for (int a = 0; a < 3; a++) {
      e->pos[3 * i + a] = q[a];
      e->vel[3 * i + a] = v[a];
      e->up[3 * i + a] = R[3 * a + 2];
    }
  }
}

static void ds_observe(ds_env_t *e, float *obs, float *share_obs) {
  const ds_shared_t *s = e->s;
  ds_gather(e);
  dc_distances(&s->world, e->pos, e->sc);
  dc_observe(&s->world, e->pos, e->vel, e->up, e->arrived, e->sc, obs, s->spec.max_obs_dim,
             share_obs);
}

// A new episode's physics and flags: spawn from rng, level, at rest, rotors at hover thrust.
static void ds_reset_state(ds_env_t *e, rng_t *rng) {
  const ds_shared_t *s = e->s;
  mjData *d = e->d;
  int n = s->world.n;
  mj_resetData(s->m, d);
  dc_spawn(&s->world, rng, e->pos);
  for (int i = 0; i < n; i++) {
    double *q = d->qpos + 7 * i;
    for (int a = 0; a < 3; a++) q[a] = e->pos[3 * i + a];
    q[3] = 1.0;
    q[4] = q[5] = q[6] = 0.0;
  }
  for (int r = 0; r < 4 * n; r++) e->thrust[r] = DS_MASS * DS_G / 4.0;
  memset(e->e_int, 0, sizeof(double) * 3 * n);
  memset(e->cmd, 0, sizeof(double) * 3 * n);
  memset(e->arrived, 0, (size_t)n);
  memset(e->crashed, 0, (size_t)n);
  e->steps = 0;
  mj_forward(s->m, d);
  e->warnings = ds_warning_total(d);
}

static void ds_reset(void *env, rng_t *rng, float *obs, float *share_obs) {
  ds_env_t *e = env;
  ds_reset_state(e, rng);
  ds_observe(e, obs, share_obs);
}

static void ds_step(void *env, const float *actions, rng_t *rng, env_step_t *out) {
  ds_env_t *e = env;
  const ds_shared_t *s = e->s;
  int safety = s->world.safety_layer != DC_SAFETY_NONE;
  if (safety) {
    ds_gather(e);  // the state now (load_state does not fill the scratch)
    actions = dc_safety_apply(&s->world, &e->safety, e->pos, e->vel, 0.0, &s->safety_model,
                              actions);  // [n][3]: max_act_dim is 3
  }
  ds_set_commands(e, actions, s->spec.max_act_dim);
  ds_physics(e);
  e->steps++;
  ds_gather(e);
  int terminal = dc_evaluate(&s->world, e->pos, e->vel, e->crashed, e->arrived, e->sc, out);
  dc_charge_crashes(&s->world, e->crashed, e->steps, out);
  if (safety) memcpy(out->info + DS_N_INFO, e->safety.info, sizeof e->safety.info);
  out->truncated = !terminal && e->steps >= s->world.episode_length;
  out->done = terminal || out->truncated;
  int warnings = ds_warning_total(e->d);
  out->info[DS_INFO_WARNINGS] = (float)(warnings - e->warnings);
  e->warnings = warnings;
  dc_observe(&s->world, e->pos, e->vel, e->up, e->arrived, e->sc, out->obs, s->spec.max_obs_dim,
             out->share_obs);
}

static int ds_raw_step(void *env, rng_t *rng) {
  // The vehicle only: random commands through the controller, rotors and physics steps with the
  // crash test (how an episode ends); no reward, cost or observation. An episode restarts
  // where the env's would (crash, time limit; success needs the reward's distances and is
  // left out: random commands never reach the slots).
  ds_env_t *e = env;
  const ds_shared_t *s = e->s;
  for (int i = 0; i < 3 * s->world.n; i++)
    e->cmd[i] = s->cmd_scale[i % 3] * (2.0 * rng_uniform(rng) - 1.0);
  int crashes = ds_physics(e);
  if (++e->steps >= s->world.episode_length || crashes) ds_reset_state(e, rng);
  return 0;
}

// ---- exact state --------------------------------------------------------------------------

static size_t ds_state_size(void *env) {
  const ds_env_t *e = env;
  const mjModel *m = e->s->m;
  int n = e->s->world.n;
  return DS_STATE_HEADER + sizeof(double) * (size_t)(1 + m->nq + m->nv + 7 * n) + (size_t)n;
}

static void ds_save_state(void *env, void *dst) {
  const ds_env_t *e = env;
  const mjModel *m = e->s->m;
  const mjData *d = e->d;
  int n = e->s->world.n;
  uint32_t head[8] = {DS_STATE_MAGIC,  DS_STATE_VERSION,   (uint32_t)n, (uint32_t)m->nq,
                      (uint32_t)m->nv, (uint32_t)e->steps, 0,           0};
  unsigned char *p = dst;
  memcpy(p, head, sizeof head);
  p += DS_STATE_HEADER;
  memcpy(p, &d->time, sizeof(double));
  p += sizeof(double);
  memcpy(p, d->qpos, sizeof(double) * m->nq);
  p += sizeof(double) * m->nq;
  memcpy(p, d->qvel, sizeof(double) * m->nv);
  p += sizeof(double) * m->nv;
  memcpy(p, e->thrust, sizeof(double) * 4 * n);
  p += sizeof(double) * 4 * n;
  memcpy(p, e->e_int, sizeof(double) * 3 * n);
  p += sizeof(double) * 3 * n;
  memcpy(p, e->arrived, (size_t)n);
}

static int ds_load_state(void *env, const void *src) {
  ds_env_t *e = env;
  const ds_shared_t *s = e->s;
  const mjModel *m = s->m;
  mjData *d = e->d;
  int n = s->world.n;
  uint32_t head[8];
  const unsigned char *p = src;
  memcpy(head, p, sizeof head);
  if (head[0] != DS_STATE_MAGIC || head[1] != DS_STATE_VERSION)
    return err_input("drone_swarm state: bad magic or version");
  if (head[2] != (uint32_t)n || head[3] != (uint32_t)m->nq || head[4] != (uint32_t)m->nv)
    return err_input("drone_swarm state: %u drones (nq %u, nv %u), the env has %d (%d, %d)",
                     head[2], head[3], head[4], n, m->nq, m->nv);
  if (head[5] > (uint32_t)s->world.episode_length)
    return err_input("drone_swarm state: step count %u beyond the episode", head[5]);
  p += DS_STATE_HEADER;
  size_t n_doubles = 1 + (size_t)m->nq + m->nv + 7 * (size_t)n;
  for (size_t k = 0; k < n_doubles; k++) {
    double x;
    memcpy(&x, p + sizeof(double) * k, sizeof x);
    if (!isfinite(x)) return err_input("drone_swarm state: non-finite value at %zu", k);
  }
  const unsigned char *flags = p + sizeof(double) * n_doubles;
  for (int i = 0; i < n; i++)
    if (flags[i] > 1) return err_input("drone_swarm state: arrival flag %d is %u", i, flags[i]);
  e->steps = (int)head[5];
  memcpy(&d->time, p, sizeof(double));
  p += sizeof(double);
  memcpy(d->qpos, p, sizeof(double) * m->nq);
  p += sizeof(double) * m->nq;
  memcpy(d->qvel, p, sizeof(double) * m->nv);
  p += sizeof(double) * m->nv;
  memcpy(e->thrust, p, sizeof(double) * 4 * n);
  p += sizeof(double) * 4 * n;
  memcpy(e->e_int, p, sizeof(double) * 3 * n);
  p += sizeof(double) * 3 * n;
  memcpy(e->arrived, p, (size_t)n);
  memset(e->crashed, 0, (size_t)n);
  e->warnings = ds_warning_total(d);
  return ERR_OK;
}

const env_class_t env_drone_swarm = {
    .name = "drone_swarm",
    .summary =
        "N Crazyflie quadrotors (MuJoCo) to N target slots past M spheres; velocity or "
        "acceleration commands; drone-drone and drone-obstacle costs",
    .params = ds_params,
    .n_params = (int)(sizeof ds_params / sizeof ds_params[0]),
    .params_size = sizeof(dc_params_t),
    .shared_create = ds_shared_create,
    .shared_destroy = ds_shared_destroy,
    .create = ds_create,
    .destroy = ds_destroy,
    .reset = ds_reset,
    .step = ds_step,
    .state_size = ds_state_size,
    .save_state = ds_save_state,
    .load_state = ds_load_state,
    .raw_step = ds_raw_step,
};
