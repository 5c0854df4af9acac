// drone_swarm_point: the seeds' kinematic swarm (seed 000 SwarmDroneEnv.step): N points,
// velocity += action * accel_scale * dt, then position += velocity * dt (semi-implicit, in the
// seed's order), dt = 0.1 s, no drag and no speed limit. The task (slots, spawn, reward, cost,
// crash, success, observations, agent graph, cost limit, episode length) is drone_common's
// (drone_common.h), identical to drone_swarm's, so a policy sees the same observation layout
// (the body z axis is (0, 0, 1)). This file owns only the point dynamics and its state.
// Where it changes the seed (besides drone_common's slots, spawn and crash): actions are clipped
// to [-1, 1] (NaN gives 0), so accel_scale = 1 keeps the seed's 1 m/s^2 at |action| = 1; the
// crash test (contact spheres of 0.06 m, below 0.2 m) runs on the positions after each step, so
// a point faster than about 1 m per step can pass through another point between two steps.
// No raw_step: there is no physics engine to measure apart from the env.
// safety_layer = project (drone_common.h): before the dynamics, drone_safety's exact one-step
// projection (dsafe_project) replaces the joint command; the next positions then keep every
// pair >= d_min whenever it reports feasible. The policy's action stays what is learnt from.
// It looks one step ahead only: at accel_scale = 1 a command moves a point's next position by at
// most 0.01 m per axis, so a pair closing faster than that margin allows leaves the certified
// set (infeasible: the best effort brakes fully) and can still end below d_min.
// State (save_state): uint32 magic "DRSP", version, N, steps; doubles pos[3N], vel[3N]; then
// uint8 arrived[N].
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "envs/drone_common.h"
#include "envs/env.h"

#define DSP_STATE_MAGIC 0x50535244u  // "DRSP"
#define DSP_STATE_VERSION 1u
#define DSP_STATE_HEADER 16

typedef struct {
  dc_world_t world;
  env_spec_t spec;
  double accel_scale;
} dsp_shared_t;

_Static_assert(DC_N_INFO + DC_N_SAFETY_INFO <= ENV_MAX_INFO, "info slots");

typedef struct {
  const dsp_shared_t *s;
  int steps;
  double pos[3 * DC_MAX_DRONES], vel[3 * DC_MAX_DRONES];
  uint8_t arrived[DC_MAX_DRONES], crashed[DC_MAX_DRONES];
  dc_scratch_t sc;
  dc_safety_t safety;  // workspace only with safety_layer on
} dsp_env_t;

// clang-format off
static const cfg_param_t dsp_params[] = {
  DC_PARAM_ROWS,
  {"accel_scale", CFG_FLOAT, offsetof(dc_params_t, accel_scale), "1",
   "velocity increment per step = action * accel_scale * dt (seed: 1, i.e. 1 m/s^2)", NULL,
   1e-3, 100.0},
};
// clang-format on

static int dsp_shared_create(const void *params, env_spec_t *spec, void **shared) {
  const dc_params_t *p = params;
  if (!(p->accel_scale > 0)) return err_input("env.accel_scale: %g must be > 0", p->accel_scale);
  dsp_shared_t *s = err_calloc(1, sizeof *s);
  if (!s) return ERR_FAIL;
  int rc = dc_world_init(&s->world, p);
  if (rc) {
    free(s);
    return rc;
  }
  s->accel_scale = p->accel_scale;
  const char *info_names[ENV_MAX_INFO];
  int n_info = dc_safety_info_list(&s->world, dc_info_names, DC_N_INFO, info_names);
  dc_fill_spec(&s->world, "drone_swarm_point", n_info, info_names, &s->spec);
  *spec = s->spec;
  *shared = s;
  return ERR_OK;
}

static void dsp_shared_destroy(void *shared) {
  dsp_shared_t *s = shared;
  if (s) dc_world_free(&s->world);
  free(s);
}

static int dsp_create(void *shared, void **env) {
  const dsp_shared_t *s = shared;
  dsp_env_t *e = err_calloc(1, sizeof *e);
  if (!e) return ERR_FAIL;
  e->s = s;
  memcpy(e->pos, s->world.fallback_spawn, sizeof(double) * 3 * s->world.n);
  if (dc_safety_create(&s->world, &e->safety)) {
    free(e);
    return ERR_FAIL;
  }
  *env = e;
  return ERR_OK;
}

static void dsp_destroy(void *env) {
  dsp_env_t *e = env;
  if (!e) return;
  dc_safety_destroy(&e->safety);
  free(e);
}

static void dsp_reset(void *env, rng_t *rng, float *obs, float *share_obs) {
  dsp_env_t *e = env;
  const dsp_shared_t *s = e->s;
  int n = s->world.n;
  dc_spawn(&s->world, rng, e->pos);
  memset(e->vel, 0, sizeof(double) * 3 * n);
  memset(e->arrived, 0, (size_t)n);
  memset(e->crashed, 0, (size_t)n);
  e->steps = 0;
  dc_distances(&s->world, e->pos, &e->sc);
  dc_observe(&s->world, e->pos, e->vel, NULL, e->arrived, &e->sc, obs, s->spec.max_obs_dim,
             share_obs);
}

static void dsp_step(void *env, const float *actions, rng_t *rng, env_step_t *out) {
  dsp_env_t *e = env;
  const dsp_shared_t *s = e->s;
  int safety = s->world.safety_layer != DC_SAFETY_NONE;
  if (safety)  // the executed command, [n][3] (max_act_dim is 3)
    actions = dc_safety_apply(&s->world, &e->safety, e->pos, e->vel, s->accel_scale, NULL, actions);
  int n = s->world.n, W = s->spec.max_act_dim;
  for (int i = 0; i < n; i++)
    for (int a = 0; a < 3; a++) {
      double acc = s->accel_scale * dc_clip_action(actions[(size_t)W * i + a]);
      e->vel[3 * i + a] += acc * DC_DT_S;
      e->pos[3 * i + a] += e->vel[3 * i + a] * DC_DT_S;
    }
  memset(e->crashed, 0, (size_t)n);
  dc_crash_test(&s->world, e->pos, 3, e->crashed);
  e->steps++;
  int terminal = dc_evaluate(&s->world, e->pos, e->vel, e->crashed, e->arrived, &e->sc, out);
  dc_charge_crashes(&s->world, e->crashed, e->steps, out);
  if (safety) memcpy(out->info + DC_N_INFO, e->safety.info, sizeof e->safety.info);
  out->truncated = !terminal && e->steps >= s->world.episode_length;
  out->done = terminal || out->truncated;
  dc_observe(&s->world, e->pos, e->vel, NULL, e->arrived, &e->sc, out->obs, s->spec.max_obs_dim,
             out->share_obs);
}

static size_t dsp_state_size(void *env) {
  const dsp_env_t *e = env;
  int n = e->s->world.n;
  return DSP_STATE_HEADER + sizeof(double) * 6 * (size_t)n + (size_t)n;
}

static void dsp_save_state(void *env, void *dst) {
  const dsp_env_t *e = env;
  int n = e->s->world.n;
  uint32_t head[4] = {DSP_STATE_MAGIC, DSP_STATE_VERSION, (uint32_t)n, (uint32_t)e->steps};
  unsigned char *p = dst;
  memcpy(p, head, sizeof head);
  p += DSP_STATE_HEADER;
  memcpy(p, e->pos, sizeof(double) * 3 * n);
  p += sizeof(double) * 3 * n;
  memcpy(p, e->vel, sizeof(double) * 3 * n);
  p += sizeof(double) * 3 * n;
  memcpy(p, e->arrived, (size_t)n);
}

static int dsp_load_state(void *env, const void *src) {
  dsp_env_t *e = env;
  const dsp_shared_t *s = e->s;
  int n = s->world.n;
  uint32_t head[4];
  const unsigned char *p = src;
  memcpy(head, p, sizeof head);
  if (head[0] != DSP_STATE_MAGIC || head[1] != DSP_STATE_VERSION)
    return err_input("drone_swarm_point state: bad magic or version");
  if (head[2] != (uint32_t)n)
    return err_input("drone_swarm_point state: %u drones, the env has %d", head[2], n);
  if (head[3] > (uint32_t)s->world.episode_length)
    return err_input("drone_swarm_point state: step count %u beyond the episode", head[3]);
  p += DSP_STATE_HEADER;
  double v[6 * DC_MAX_DRONES];
  memcpy(v, p, sizeof(double) * 6 * n);
  for (int k = 0; k < 6 * n; k++)
    if (!isfinite(v[k])) return err_input("drone_swarm_point state: non-finite value at %d", k);
  const unsigned char *flags = p + sizeof(double) * 6 * n;
  for (int i = 0; i < n; i++)
    if (flags[i] > 1)
      return err_input("drone_swarm_point state: arrival flag %d is %u", i, flags[i]);
  e->steps = (int)head[3];
  memcpy(e->pos, v, sizeof(double) * 3 * n);
  memcpy(e->vel, v + 3 * n, sizeof(double) * 3 * n);
  memcpy(e->arrived, flags, (size_t)n);
  memset(e->crashed, 0, (size_t)n);
  return ERR_OK;
}

const env_class_t env_drone_swarm_point = {
    .name = "drone_swarm_point",
    .summary =
        "the seeds' kinematic swarm: N points (x += v dt, actions = velocity increments), "
        "same slots, obstacles, reward and costs as drone_swarm",
    .params = dsp_params,
    .n_params = (int)(sizeof dsp_params / sizeof dsp_params[0]),
    .params_size = sizeof(dc_params_t),
    .shared_create = dsp_shared_create,
    .shared_destroy = dsp_shared_destroy,
    .create = dsp_create,
    .destroy = dsp_destroy,
    .reset = dsp_reset,
    .step = dsp_step,
    .state_size = dsp_state_size,
    .save_state = dsp_save_state,
    .load_state = dsp_load_state,
};
