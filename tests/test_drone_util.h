// test_drone_util: helpers shared by the drone-swarm tests (header-only, static): open an env by
// name with key=value overrides, step it, and construct states by editing a saved state (the
// layouts are documented in the header comments of envs/drone_swarm.c and
// envs/drone_swarm_point.c), which also exercises load_state. Not a test by itself.
#ifndef SAFEMARL_TEST_DRONE_UTIL_H
#define SAFEMARL_TEST_DRONE_UTIL_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/err.h"
#include "core/rng.h"
#include "envs/drone_common.h"
#include "envs/env.h"
#include "tests/check.h"

typedef struct {
  const env_class_t *cls;
  dc_params_t params;
  env_spec_t spec;
  void *shared, *env;
  rng_t rng;
  float *obs, *share, *costs, *act;
  env_step_t out;
  unsigned char *state;  // scratch for state edits
  size_t state_size;
} dt_env_t;

// Open `name` with overrides "key=value,key=value" (NULL for defaults), reset with `seed`.
static inline int dt_open(dt_env_t *t, const char *name, const char *overrides, uint64_t seed) {
  memset(t, 0, sizeof *t);
  t->cls = env_find(name);
  if (!t->cls) {
    fprintf(stderr, "no env %s\n", name);
    return -1;
  }
  cfg_section_t sec = {"env", t->cls->params, t->cls->n_params, &t->params};
  if (cfg_set_defaults(&sec, 1)) return -1;
  if (overrides) {
    char buf[1024], one[1100];
    snprintf(buf, sizeof buf, "%s", overrides);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
      snprintf(one, sizeof one, "env.%s", tok);
      if (cfg_override(&sec, 1, one)) {
        fprintf(stderr, "%s: %s\n", name, err_message());
        return -1;
      }
    }
  }
  if (t->cls->shared_create(&t->params, &t->spec, &t->shared)) {
    fprintf(stderr, "%s: %s\n", name, err_message());
    return -1;
  }
  if (t->cls->create(t->shared, &t->env)) return -1;
  int A = t->spec.n_agents;
  t->obs = calloc((size_t)A * t->spec.max_obs_dim, sizeof(float));
  t->share = calloc((size_t)t->spec.share_obs_dim, sizeof(float));
  t->costs = calloc((size_t)A, sizeof(float));
  t->act = calloc((size_t)A * t->spec.max_act_dim, sizeof(float));
  t->state_size = t->cls->state_size(t->env);
  t->state = calloc(t->state_size, 1);
  t->out.obs = t->obs;
  t->out.share_obs = t->share;
  t->out.costs = t->costs;
  rng_seed(&t->rng, seed);
  t->cls->reset(t->env, &t->rng, t->obs, t->share);
  return 0;
}

static inline void dt_close(dt_env_t *t) {
  if (t->env) t->cls->destroy(t->env);
  if (t->shared) t->cls->shared_destroy(t->shared);
  free(t->obs);
  free(t->share);
  free(t->costs);
  free(t->act);
  free(t->state);
  memset(t, 0, sizeof *t);
}

static inline void dt_random_actions(dt_env_t *t, rng_t *r) {
  for (int i = 0; i < t->spec.n_agents * t->spec.max_act_dim; i++)
    t->act[i] = (float)(2 * rng_uniform(r) - 1);
}

static inline void dt_set_actions(dt_env_t *t, double x, double y, double z) {
  for (int a = 0; a < t->spec.n_agents; a++) {
    t->act[3 * a] = (float)x;
    t->act[3 * a + 1] = (float)y;
    t->act[3 * a + 2] = (float)z;
  }
}

static inline void dt_step(dt_env_t *t) {
  t->cls->step(t->env, t->act, &t->rng, &t->out);
}

static inline int dt_info(const dt_env_t *t, const char *name) {
  for (int i = 0; i < t->spec.n_info; i++)
    if (strcmp(t->spec.info_names[i], name) == 0) return i;
  return -1;
}

// Drone i's position / velocity / body z axis / slot from the current share_obs.
static inline void dt_pos(const dt_env_t *t, int i, double *p) {
  for (int a = 0; a < 3; a++) p[a] = t->share[DC_SHARE_DIM * i + 3 + a];
}
static inline void dt_vel(const dt_env_t *t, int i, double *v) {
  for (int a = 0; a < 3; a++) v[a] = t->share[DC_SHARE_DIM * i + 6 + a];
}
static inline double dt_tilt_deg(const dt_env_t *t, int i) {
  double z = t->share[DC_SHARE_DIM * i + 11];
  return acos(fmin(1.0, z)) * 180.0 / 3.14159265358979323846;
}
static inline void dt_slot(const dt_env_t *t, int i, double *s) {
  for (int a = 0; a < 3; a++)
    s[a] = (double)t->share[DC_SHARE_DIM * i + 3 + a] + t->share[DC_SHARE_DIM * i + a];
}

// ---- state edits ----------------------------------------------------------------------------
// drone_swarm: 32-byte header, time, qpos[7N], qvel[6N], thrust[4N], e_int[3N], arrived[N].
// drone_swarm_point: 16-byte header, pos[3N], vel[3N], arrived[N].
static inline int dt_is_mujoco(const dt_env_t *t) {
  return strcmp(t->spec.name, "drone_swarm") == 0;
}

static inline double *dt_state_doubles(dt_env_t *t) {
  return (double *)(void *)(t->state + (dt_is_mujoco(t) ? 32 : 16));
}

static inline void dt_save(dt_env_t *t) {
  t->cls->save_state(t->env, t->state);
}

static inline int dt_load(dt_env_t *t) {
  return t->cls->load_state(t->env, t->state);
}

// In the saved state: drone i at position p, at rest, attitude quat (w, x, y, z; NULL = level).
static inline void dt_state_place(dt_env_t *t, int i, const double *p, const double *quat) {
  int n = t->spec.n_agents;
  double *d = dt_state_doubles(t);
  if (dt_is_mujoco(t)) {
    double *q = d + 1 + 7 * i, *v = d + 1 + 7 * n + 6 * i;
    for (int a = 0; a < 3; a++) q[a] = p[a];
    static const double level[4] = {1, 0, 0, 0};
    for (int a = 0; a < 4; a++) q[3 + a] = quat ? quat[a] : level[a];
    for (int a = 0; a < 6; a++) v[a] = 0;
  } else {
    for (int a = 0; a < 3; a++) {
      d[3 * i + a] = p[a];
      d[3 * n + 3 * i + a] = 0;
    }
  }
}

// Place every drone from a [n][3] table (level, at rest) and load; returns load_state's code.
static inline int dt_place_all(dt_env_t *t, const double *pos) {
  dt_save(t);
  for (int i = 0; i < t->spec.n_agents; i++) dt_state_place(t, i, pos + 3 * i, NULL);
  return dt_load(t);
}

static inline int dt_finite(const float *v, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

// ---- shared checks --------------------------------------------------------------------------
// Trajectory records (obs, share_obs, per-agent costs, reward, team cost, done per step), the
// determinism and exact-resume check, and the long random soak.
typedef struct {
  float *buf;
  size_t n, cap;
} dt_rec_t;

static inline void dt_record(dt_rec_t *r, const dt_env_t *t) {
  size_t need =
      (size_t)t->spec.n_agents * t->spec.max_obs_dim + t->spec.share_obs_dim + 3 + t->spec.n_agents;
  if (r->n + need > r->cap) return;
  float *b = r->buf + r->n;
  memcpy(b, t->obs, sizeof(float) * t->spec.n_agents * t->spec.max_obs_dim);
  b += t->spec.n_agents * t->spec.max_obs_dim;
  memcpy(b, t->share, sizeof(float) * t->spec.share_obs_dim);
  b += t->spec.share_obs_dim;
  memcpy(b, t->costs, sizeof(float) * t->spec.n_agents);
  b += t->spec.n_agents;
  b[0] = t->out.reward, b[1] = t->out.team_cost, b[2] = (float)t->out.done;
  r->n += need;
}

// n random steps (actions from r), resetting on done, recorded.
static inline void dt_run_record(dt_env_t *t, rng_t *r, int n, dt_rec_t *rec) {
  for (int k = 0; k < n; k++) {
    dt_random_actions(t, r);
    dt_step(t);
    dt_record(rec, t);
    if (t->out.done) t->cls->reset(t->env, &t->rng, t->obs, t->share);
  }
}

// Whether `name` opened with overrides ov_a and with ov_b (seed 11) gives the same `steps`
// random steps (actions from one rng seed), observations, state, reward and costs to the bit.
static inline int dt_same_rollout(const char *name, const char *ov_a, const char *ov_b,
                                  int steps) {
  dt_env_t a, b;
  if (dt_open(&a, name, ov_a, 11)) return 0;
  if (dt_open(&b, name, ov_b, 11)) {
    dt_close(&a);
    return 0;
  }
  size_t cap = (size_t)steps *
               (a.spec.n_agents * a.spec.max_obs_dim + a.spec.share_obs_dim + 3 + a.spec.n_agents);
  dt_rec_t ra = {malloc(cap * sizeof(float)), 0, cap}, rb = {malloc(cap * sizeof(float)), 0, cap};
  rng_t r1, r2;
  rng_seed(&r1, 99);
  rng_seed(&r2, 99);
  dt_run_record(&a, &r1, steps, &ra);
  dt_run_record(&b, &r2, steps, &rb);
  int same = ra.n == rb.n && ra.n > 0 && memcmp(ra.buf, rb.buf, sizeof(float) * ra.n) == 0;
  free(ra.buf);
  free(rb.buf);
  dt_close(&a);
  dt_close(&b);
  return same;
}

static inline void dt_determinism_and_resume(const char *name, const char *ov) {
  dt_env_t a, b, c;
  if (dt_open(&a, name, ov, 11) || dt_open(&b, name, ov, 11) || dt_open(&c, name, ov, 12)) return;
  int O = a.spec.n_agents * a.spec.max_obs_dim;
  CHECK(memcmp(a.obs, b.obs, sizeof(float) * O) == 0, "%s: same seed, same reset", name);
  CHECK(memcmp(a.obs, c.obs, sizeof(float) * O) != 0, "%s: other seed, other reset", name);
  size_t cap = (size_t)300 * (O + a.spec.share_obs_dim + 3 + a.spec.n_agents);
  dt_rec_t ra = {malloc(cap * sizeof(float)), 0, cap}, rb = {malloc(cap * sizeof(float)), 0, cap};
  rng_t r1, r2;
  rng_seed(&r1, 99);
  rng_seed(&r2, 99);
  dt_run_record(&a, &r1, 300, &ra);
  dt_run_record(&b, &r2, 300, &rb);
  CHECK(ra.n == rb.n && memcmp(ra.buf, rb.buf, sizeof(float) * ra.n) == 0,
        "%s: same seed, same 300-step trajectory", name);

  // Resume: c (another history) takes a's state mid-episode and follows it bit for bit.
  rng_t rc;
  rng_seed(&rc, 5);
  dt_run_record(&c, &rc, 25, &(dt_rec_t){NULL, 0, 0});
  dt_set_actions(&a, 0, 0, 0);
  a.cls->reset(a.env, &a.rng, a.obs, a.share);
  rng_seed(&r1, 3);
  for (int k = 0; k < 37; k++) {
    dt_random_actions(&a, &r1);
    dt_step(&a);
    if (a.out.done) a.cls->reset(a.env, &a.rng, a.obs, a.share);
  }
  dt_save(&a);
  CHECK(c.cls->load_state(c.env, a.state) == 0, "%s: load: %s", name, err_message());
  c.rng = a.rng;
  ra.n = rb.n = 0;
  r2 = r1;
  dt_run_record(&a, &r1, 60, &ra);
  dt_run_record(&c, &r2, 60, &rb);
  CHECK(ra.n == rb.n && ra.n > 0 && memcmp(ra.buf, rb.buf, sizeof(float) * ra.n) == 0,
        "%s: resumed copy follows the original bit for bit", name);

  // Refusals: bad magic, another N, a flag that is not 0/1, a NaN.
  dt_env_t other;
  if (!dt_open(&other, name, "n_drones=6", 1)) {
    CHECK(other.cls->load_state(other.env, a.state) == ERR_INPUT, "%s: 5-drone state refused by 6",
          name);
    dt_close(&other);
  }
  dt_save(&a);
  a.state[a.state_size - 1] = 2;
  CHECK(dt_load(&a) == ERR_INPUT, "%s: arrival flag 2 refused", name);
  dt_save(&a);
  dt_state_doubles(&a)[3] = NAN;
  CHECK(dt_load(&a) == ERR_INPUT, "%s: NaN refused", name);
  dt_save(&a);
  a.state[0] ^= 0xff;
  CHECK(dt_load(&a) == ERR_INPUT, "%s: bad magic refused", name);
  free(ra.buf);
  free(rb.buf);
  dt_close(&a);
  dt_close(&b);
  dt_close(&c);
}

static inline void dt_soak(const char *name, const char *overrides, long steps, uint64_t seed) {
  dt_env_t t;
  if (dt_open(&t, name, overrides, seed)) {
    CHECK(0, "%s %s: open", name, overrides);
    return;
  }
  rng_t r;
  rng_seed(&r, seed + 1000);
  int A = t.spec.n_agents, O = A * t.spec.max_obs_dim, warn = dt_info(&t, "mj_warnings");
  int dd = dt_info(&t, "cost_drone_drone"), dob = dt_info(&t, "cost_drone_obstacle");
  long episodes = 0, bad = 0, badcost = 0, warnings = 0, crashes = 0, arrivals = 0;
  double cost = 0, ret = 0;
  clock_t c0 = clock();
  for (long s = 0; s < steps; s++) {
    dt_random_actions(&t, &r);
    dt_step(&t);
    bad += !dt_finite(t.obs, O) || !dt_finite(t.share, t.spec.share_obs_dim) ||
           !isfinite(t.out.reward) || !dt_finite(t.out.info, t.spec.n_info);
    double sum = 0;
    for (int i = 0; i < A; i++) {
      badcost += !(t.costs[i] == 0 || t.costs[i] == 1 || t.costs[i] == 2);
      sum += t.costs[i];
    }
    badcost += sum != t.out.team_cost || sum != t.out.info[dd] + t.out.info[dob];
    if (warn >= 0) warnings += (long)t.out.info[warn];
    crashes += (long)t.out.info[dt_info(&t, "crashes")];
    arrivals += (long)t.out.info[dt_info(&t, "arrivals")];
    cost += t.out.team_cost;
    ret += t.out.reward;
    if (t.out.done) {
      episodes++;
      t.cls->reset(t.env, &t.rng, t.obs, t.share);
      bad += !dt_finite(t.obs, O);
    }
  }
  double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
  printf(
      "%s %s: steps=%ld episodes=%ld crashes=%ld arrivals=%ld cost/step=%.3f "
      "reward/step=%.1f nonfinite=%ld warnings=%ld cpu_s=%.1f\n",
      name, overrides ? overrides : "(defaults)", steps, episodes, crashes, arrivals, cost / steps,
      ret / steps, bad, warnings, secs);
  CHECK(bad == 0, "%s: %ld non-finite steps", name, bad);
  CHECK(badcost == 0, "%s: %ld steps with costs not in {0,1,2} or not adding up", name, badcost);
  CHECK(warnings == 0, "%s: %ld MuJoCo warnings", name, warnings);
  dt_close(&t);
}

#endif
