// mamj: shared Safe MAMuJoCo env machinery (see mamj.h for what it owns).
// Deliberate differences from the released code (Safe MAMuJoCo mujoco_multi.py, mujoco_env.py):
// * Seeding works: reset noise comes from the rng_t passed to reset (MujocoMulti.seed was a
//   no-op and the env rng was seeded from entropy).
// * Actions: each agent's slots are scattered to its partition's actuators, clipped to [-1, 1]
//   and mapped onto the actuator ctrlrange. The control cost still uses the raw, unclipped
//   actions, as released (§1.1).
// * Model files are read from one absolute directory and never written (§7 item 13).
// * MuJoCo warnings raised during a step are counted into the last info slot ("mj_warnings"), so
//   a run can see them. (MuJoCo's own process-wide handler still prints the first warning of
//   each kind per mjData; it is left alone, as it belongs to the whole process.)
#include "envs/mamujoco/mamj.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#ifndef SAFEMARL_MODEL_DIR
#define SAFEMARL_MODEL_DIR "envs/models"
#endif

const char *mamj_model_dir(void) {
  const char *dir = getenv("SAFEMARL_MODEL_DIR");
  return (dir && dir[0]) ? dir : SAFEMARL_MODEL_DIR;
}

int mamj_warning_total(const mjData *d) {
  int n = 0;
  for (int i = 0; i < mjNWARNING; i++) n += d->warning[i].number;
  return n;
}

// ---- helpers for the robots -----------------------------------------------------------------

int mamj_body(const mamj_shared_t *s, const char *name) {
  int id = mj_name2id(s->m, mjOBJ_BODY, name);
  if (id < 0) err_fail("%s: model has no body '%s'", s->task->name, name);
  return id;
}

static int mamj_joint(const mamj_shared_t *s, const char *name) {
  int id = mj_name2id(s->m, mjOBJ_JOINT, name);
  if (id < 0) err_fail("%s: model has no joint '%s'", s->task->name, name);
  return id;
}

int mamj_joint_qpos(const mamj_shared_t *s, const char *name) {
  int j = mamj_joint(s, name);
  return j < 0 ? -1 : s->m->jnt_qposadr[j];
}

int mamj_node_bodies(mamj_shared_t *s, const char *node, const char *bodies) {
  int n = part_find(&s->graph, node);
  if (n < 0) return err_fail("%s: no actuated joint '%s'", s->task->name, node);
  char name[64];
  s->node_nbody[n] = 0;
  for (const char *p = bodies; *p && s->node_nbody[n] < 3;) {
    size_t len = strcspn(p, ",");
    snprintf(name, sizeof name, "%.*s", (int)len, p);
    p += len + (p[len] == ',');
    int b = mamj_body(s, name);
    if (b < 0) return ERR_FAIL;
    s->node_body[n][s->node_nbody[n]++] = b;
  }
  return ERR_OK;
}

double mamj_corridor_centre(double x) {
  // Safe MAMuJoCo ant.py: the branches use strict inequalities, so x = 20 and x = 60 fall to
  // the final branch, like x >= 100 (envs-safe-mamujoco.md §2.4).
  const double t = tan(30.0 / 360.0 * 2.0 * 3.14159265358979323846);
  if (x < 20) return x * t;
  if (x > 20 && x < 60) return -(x - 40) * t;
  if (x > 60 && x < 100) return (x - 80) * t;
  return 20 * t;
}

int mamj_corridor_cost(double x, double y, double w) {
  // Vertical distances to the two wall lines y_c +- w, as released; beyond a wall (through a
  // fold gap) the cost drops back to 0, also as released.
  double off = y - mamj_corridor_centre(x);
  return fmin(fabs(off + w), fabs(off - w)) < 1.8;
}

double mamj_obstacle_control(double t) {
  double s = sin(t / 3.0);
  return 0.02 * s * s - 0.004;
}

double mamj_obstacle_vx(const mamj_env_t *e) {
  // get_body_xvelp: the world-frame linear velocity of the obstacle body.
  double v[6];
  mj_objectVelocity(e->s->m, e->d, mjOBJ_BODY, e->s->obstacle_body, v, 0);
  return v[3];
}

double mamj_obstacle_dist(const mamj_env_t *e, int cheetah) {
  // Obstacle geom centre minus the cheetah's rootx; geom_xpos is the last integrator stage's,
  // rootx the current qpos, as released.
  return e->d->geom_xpos[3 * e->s->obstacle_geom] - e->d->qpos[e->s->rootx[cheetah]];
}

void mamj_noise_all(mamj_env_t *e, rng_t *rng) {
  const mjModel *m = e->s->m;
  mjData *d = e->d;
  for (int i = 0; i < m->nq; i++) d->qpos[i] = m->qpos0[i] + (rng_uniform(rng) * 0.2 - 0.1);
  for (int i = 0; i < m->nv; i++) d->qvel[i] = 0.1 * rng_normal(rng);
}

// ---- shared ant-like robots (Ant, ManyAgent Ant) ---------------------------------------------

// Torso tilt: R_zz of the torso orientation, 1 - 2 (qx^2 + qy^2) of a unit quaternion.
static double mamj_zrot(const double *q) {
  double n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
  return n2 > 0 ? 1.0 - 2.0 * (q[1] * q[1] + q[2] * q[2]) / n2 : 1.0;
}

int mamj_ant_terminal(const mamj_env_t *e) {
  // Healthy: everything finite, 0.2 <= z <= 1, torso not upside down (R_zz >= -0.7; the
  // released code reads xquat, the unit quaternion of the last integrator stage).
  const mjModel *m = e->s->m;
  const mjData *d = e->d;
  int healthy = 1;
  for (int i = 0; i < m->nq; i++) healthy &= isfinite(d->qpos[i]);
  for (int i = 0; i < m->nv; i++) healthy &= isfinite(d->qvel[i]);
  healthy = healthy && d->qpos[2] >= 0.2 && d->qpos[2] <= 1.0 &&
            mamj_zrot(d->xquat + 4 * e->s->torso) >= -0.7;
  return !healthy;
}

void mamj_ant_after(mamj_env_t *e, env_step_t *out) {
  const mamj_shared_t *s = e->s;
  const mjModel *m = s->m;
  mjData *d = e->d;
  // cfrc_ext is only filled by mj_rnePostConstraint in MuJoCo >= 2.0 (§1.5).
  mj_rnePostConstraint(m, d);
  // Positions from xpos straight after mj_step (the last integrator stage), as released.
  double x = d->xpos[3 * s->torso], y = d->xpos[3 * s->torso + 1];
  double forward = (x - e->prev_x[0]) / s->dt;
  double ctrl = 0, contact = 0;
  for (int i = 0; i < s->graph.n_nodes; i++) ctrl += e->act[i] * e->act[i];
  ctrl *= 0.5;
  for (int i = 0; i < 6 * m->nbody; i++) {
    double c = fmin(fmax(d->cfrc_ext[i], -1.0), 1.0);
    contact += c * c;
  }
  contact *= 0.5e-3;
  out->reward = (float)(forward - ctrl - contact + 1.0);
  int obj = mamj_corridor_cost(x, y, s->corridor_half_width), done = mamj_ant_terminal(e);
  out->team_cost = (float)((obj + done) > 0);  // clip(obj + done, 0, 1)
  out->done = done;
  out->info[0] = (float)obj;
  out->info[1] = (float)done;
  out->info[2] = (float)forward;
  out->info[3] = (float)-ctrl;
  out->info[4] = (float)-contact;
  e->prev_x[0] = x;
}

void mamj_ant_state(const mamj_env_t *e, double *out) {
  // [qpos[2:] | qvel | x/5 | y - y_c(x)] with x, y the free joint's qpos (§2.5). The robot's
  // DOFs are all of qpos/qvel here (static walls have none), so nothing needs slicing off.
  const mjModel *m = e->s->m;
  const mjData *d = e->d;
  int k = 0;
  for (int i = 2; i < m->nq; i++) out[k++] = d->qpos[i];
  for (int i = 0; i < m->nv; i++) out[k++] = d->qvel[i];
  out[k++] = d->qpos[0] / 5.0;
  out[k++] = d->qpos[1] - mamj_corridor_centre(d->qpos[0]);
}

void mamj_ant_features(const mamj_env_t *e, double *out) {
  // What drives the cost: where the torso is along and across the corridor, and whether it is
  // about to count as fallen (height, tilt).
  const double *q = e->d->qpos;
  out[0] = q[0] / 5.0;
  out[1] = q[1] - mamj_corridor_centre(q[0]);
  out[2] = q[2];
  out[3] = mamj_zrot(q + 3);
}

// ---- shared part ----------------------------------------------------------------------------

static int mamj_load_model(mamj_shared_t *s) {
  char file[64], path[4096], err[1000] = "";
  snprintf(file, sizeof file, s->robot->model, s->task->n_segments);
  int n = snprintf(path, sizeof path, "%s/%s", mamj_model_dir(), file);
  if (n < 0 || (size_t)n >= sizeof path) return err_fail("%s: model path too long", s->task->name);
  s->m = mj_loadXML(path, NULL, err, sizeof err);
  if (!s->m) {
    for (char *c = err; *c; c++)  // one-line messages: MuJoCo's may span lines
      if (*c == '\n' || *c == '\r') *c = ' ';
    return err_fail("%s: cannot load model %s: %s", s->task->name, path, err);
  }
  return ERR_OK;
}

int mamj_build_nodes(mamj_shared_t *s) {
  const mjModel *m = s->m;
  int n = m->nu - (s->obstacle_act >= 0);
  if (s->obstacle_act >= 0 && s->obstacle_act != m->nu - 1)
    return err_fail("%s: the obstacle motor must be the last actuator", s->task->name);
  if (n > PART_MAX_NODES) return err_fail("%s: %d actuators", s->task->name, n);
  s->graph.n_nodes = n;
  for (int i = 0; i < n; i++) {
    if (m->actuator_trntype[i] != mjTRN_JOINT)
      return err_fail("%s: actuator %d does not drive a joint", s->task->name, i);
    const char *jn = mj_id2name(m, mjOBJ_JOINT, m->actuator_trnid[2 * i]);
    snprintf(s->graph.labels[i], PART_LABEL_MAX, "%s", jn ? jn : "?");
  }
  return ERR_OK;
}

static int mamj_build_partition(mamj_shared_t *s, int released) {
  const mamj_task_t *t = s->task;
  part_t nominal;
  int sizes[ENV_MAX_AGENTS];
  if (t->nominal) {
    int rc = part_nominal(&s->graph, t->nominal, &nominal);
    if (rc) return rc;
    if (nominal.n_agents != t->n_agents)
      return err_fail("%s: %d nominal groups for %d agents", t->name, nominal.n_agents,
                      t->n_agents);
    for (int a = 0; a < t->n_agents; a++) sizes[a] = nominal.n_nodes[a];
  } else {
    for (int a = 0; a < t->n_agents; a++) sizes[a] = s->graph.n_nodes / t->n_agents;
  }
  if (released || !t->nominal) return part_released(&s->graph, t->n_agents, sizes, &s->part);
  s->part = nominal;
  return ERR_OK;
}

// The MAMuJoCo build_obs item list of each agent, then the safety features.
static int mamj_build_obsk(mamj_shared_t *s) {
  const mjModel *m = s->m;
  const part_graph_t *g = &s->graph;
  // Upper bound: every node with every category (cfrc up to 3 bodies, tendon 2), plus features.
  int cap = s->spec.n_agents * (g->n_nodes * (2 + 3 + 2) + s->robot->n_features);
  s->items = err_calloc((size_t)cap, sizeof *s->items);
  if (!s->items) return ERR_FAIL;
  int n_items = 0;
  for (int a = 0; a < s->spec.n_agents; a++) {
    int level[PART_MAX_NODES], nodes[PART_MAX_NODES], dim = 0;
    uint8_t body_seen[256] = {0};  // cfrc_ext rows already emitted for this agent
    s->item_start[a] = n_items;
    part_levels(g, &s->part, a, s->obs_k, level);
    for (int d = 0; d <= s->obs_k; d++) {
      int cats = d == 0 ? s->robot->cats_near : s->robot->cats_far;
      int n_level = part_level_nodes(g, level, d, nodes);
      for (int i = 0; i < n_level; i++) {
        int node = nodes[i], jnt = m->actuator_trnid[2 * node];
        if (cats & MAMJ_CAT_QPOS) {
          s->items[n_items++] = (mamj_item_t){MAMJ_ITEM_QPOS, m->jnt_qposadr[jnt]};
          dim++;
        }
        if (cats & MAMJ_CAT_QVEL) {
          s->items[n_items++] = (mamj_item_t){MAMJ_ITEM_QVEL, m->jnt_dofadr[jnt]};
          dim++;
        }
        if (cats & MAMJ_CAT_CFRC) {
          for (int b = 0; b < s->node_nbody[node]; b++) {
            int body = s->node_body[node][b];
            if (body >= 256 || body_seen[body]) continue;
            body_seen[body] = 1;
            s->items[n_items++] = (mamj_item_t){MAMJ_ITEM_CFRC, body};
            dim += 6;
          }
        }
        if ((cats & MAMJ_CAT_TENDON) && s->node_tendon[node]) {
          s->items[n_items++] = (mamj_item_t){MAMJ_ITEM_TENLEN, s->tendon};
          s->items[n_items++] = (mamj_item_t){MAMJ_ITEM_TENVEL, s->tendon};
          dim += 2;
        }
      }
    }
    for (int f = 0; f < s->robot->n_features; f++)
      s->items[n_items++] = (mamj_item_t){MAMJ_ITEM_FEATURE, f};
    s->spec.obs_dim[a] = dim + s->robot->n_features;
  }
  s->item_start[s->spec.n_agents] = n_items;
  return ERR_OK;
}

static int mamj_fill_spec(mamj_shared_t *s, const mamj_params_t *p) {
  env_spec_t *sp = &s->spec;
  memset(sp, 0, sizeof *sp);
  snprintf(sp->name, sizeof sp->name, "%s", s->task->name);
  sp->n_agents = s->task->n_agents;
  sp->share_obs_dim = s->state_dim + s->state_time;
  sp->act_low = -1.0f;
  sp->act_high = 1.0f;
  sp->episode_length = MAMJ_EPISODE_LENGTH;
  sp->cost_limit = p->cost_limit;
  sp->n_info = s->robot->n_info;
  for (int i = 0; i < s->robot->n_info; i++) sp->info_names[i] = s->robot->info_names[i];
  for (int a = 0; a < sp->n_agents; a++) {
    sp->act_dim[a] = s->part.n_nodes[a];
    if (sp->act_dim[a] > sp->max_act_dim) sp->max_act_dim = sp->act_dim[a];
  }
  if (s->obsk) {
    int rc = mamj_build_obsk(s);
    if (rc) return rc;
  } else {
    for (int a = 0; a < sp->n_agents; a++) sp->obs_dim[a] = s->state_dim + sp->n_agents;
  }
  for (int a = 0; a < sp->n_agents; a++)
    if (sp->obs_dim[a] > sp->max_obs_dim) sp->max_obs_dim = sp->obs_dim[a];
  part_adjacency(&s->graph, &s->part, sp->adjacency);
  sp->obs_local = s->obsk;
  sp->obs_k = s->obsk ? s->obs_k : 0;
  return ERR_OK;
}

int mamj_shared_create(const mamj_task_t *task, const void *params, env_spec_t *spec,
                       void **shared) {
  const mamj_params_t *p = params;
  int released;
  if (strcmp(p->partition, "released") == 0) {
    released = 1;
  } else if (strcmp(p->partition, "nominal") == 0) {
    released = 0;
  } else {
    return err_input("env.partition: '%s' is not one of released|nominal", p->partition);
  }
  if (strcmp(p->obs, "global") != 0 && strcmp(p->obs, "obsk") != 0)
    return err_input("env.obs: '%s' is not one of global|obsk", p->obs);
  if (p->obs_k < 0 || p->obs_k > 16) return err_input("env.obs_k: %d is not in 0..16", p->obs_k);
  if (!(p->cost_limit >= 0.0 && p->cost_limit <= MAMJ_EPISODE_LENGTH))
    return err_input("env.cost_limit: %g is not in [0, %d]", p->cost_limit, MAMJ_EPISODE_LENGTH);

  mamj_shared_t *s = err_calloc(1, sizeof *s);
  if (!s) return ERR_FAIL;
  s->task = task;
  s->robot = task->robot;
  s->obsk = strcmp(p->obs, "obsk") == 0;
  s->obs_k = p->obs_k;
  s->standardise = p->obs_standardise && !s->obsk;
  s->state_time = p->state_time != 0;
  s->torso = s->obstacle_body = s->obstacle_geom = s->obstacle_act = s->tendon = -1;
  s->rootx[0] = s->rootx[1] = -1;
  s->cheetah_first_act[0] = s->cheetah_first_act[1] = -1;
  int rc = mamj_load_model(s);
  if (!rc) {
    s->dt = s->m->opt.timestep * s->robot->frame_skip;
    rc = s->robot->bind(s);
  }
  if (!rc && (s->state_dim <= 0 || s->robot->n_features > MAMJ_MAX_FEATURES ||
              s->robot->n_info < 1 || s->robot->n_info > ENV_MAX_INFO))
    rc = err_fail("%s: robot description out of bounds", task->name);
  if (!rc) rc = mamj_build_partition(s, released);
  if (!rc) rc = mamj_fill_spec(s, p);
  if (rc) {
    mamj_shared_destroy(s);
    return rc;
  }
  *spec = s->spec;
  *shared = s;
  return ERR_OK;
}

void mamj_shared_destroy(void *shared) {
  mamj_shared_t *s = shared;
  if (!s) return;
  if (s->m) mj_deleteModel(s->m);
  free(s->items);
  free(s);
}

// ---- copies ---------------------------------------------------------------------------------

int mamj_create(void *shared, void **env) {
  const mamj_shared_t *s = shared;
  mamj_env_t *e = err_calloc(1, sizeof *e);
  if (!e) return ERR_FAIL;
  e->s = s;
  e->d = mj_makeData(s->m);
  // Scratch holds one agent's global observation or the state (share_obs).
  int scratch = s->state_dim + s->spec.n_agents;
  e->act = err_calloc((size_t)s->m->nu, sizeof *e->act);
  e->state = err_calloc((size_t)s->state_dim, sizeof *e->state);
  e->scratch = err_calloc((size_t)scratch, sizeof *e->scratch);
  if (!e->d || !e->act || !e->state || !e->scratch) {
    if (!e->d) err_fail("%s: mj_makeData failed", s->task->name);
    mamj_destroy(e);
    return ERR_FAIL;
  }
  // A valid state before the first reset (qpos0 at rest), so that nothing reads garbage.
  mj_forward(s->m, e->d);
  *env = e;
  return ERR_OK;
}

void mamj_destroy(void *env) {
  mamj_env_t *e = env;
  if (!e) return;
  if (e->d) mj_deleteData(e->d);
  free(e->act);
  free(e->state);
  free(e->scratch);
  free(e);
}

// z-score of v[0..n) across its elements (numpy population std), as Safe MAMuJoCo get_obs.
static void mamj_standardise(double *v, int n) {
  double mean = 0, var = 0;
  for (int i = 0; i < n; i++) mean += v[i];
  mean /= n;
  for (int i = 0; i < n; i++) var += (v[i] - mean) * (v[i] - mean);
  double sd = sqrt(var / n);
  if (!(sd > 1e-12)) sd = 1.0;  // a constant vector (never seen in practice) stays finite
  for (int i = 0; i < n; i++) v[i] = (v[i] - mean) / sd;
}

static double mamj_item_value(const mamj_env_t *e, const mamj_item_t *it, int k,
                              const double *features) {
  const mjData *d = e->d;
  switch (it->kind) {
    case MAMJ_ITEM_QPOS:
      return d->qpos[it->index];
    case MAMJ_ITEM_QVEL:
      return d->qvel[it->index];
    case MAMJ_ITEM_CFRC:  // MAMuJoCo clips the Ant's cfrc_ext rows to [-1, 1]
      return fmin(fmax(d->cfrc_ext[6 * it->index + k], -1.0), 1.0);
    case MAMJ_ITEM_TENLEN:
      return d->ten_length[it->index];
    case MAMJ_ITEM_TENVEL:
      return d->ten_velocity[it->index];
    default:
      return features[it->index];
  }
}

void mamj_observe(mamj_env_t *e, float *obs, float *share_obs) {
  const mamj_shared_t *s = e->s;
  const env_spec_t *sp = &s->spec;
  int D = s->state_dim, N = sp->n_agents, W = sp->max_obs_dim;
  double *v = e->scratch;
  s->robot->state(e, e->state);
  if (!s->obsk) {
    for (int a = 0; a < N; a++) {
      memcpy(v, e->state, sizeof(double) * D);
      for (int b = 0; b < N; b++) v[D + b] = (b == a);
      if (s->standardise) mamj_standardise(v, D + N);
      float *o = obs + (size_t)a * W;
      for (int i = 0; i < D + N; i++) o[i] = (float)v[i];
      for (int i = D + N; i < W; i++) o[i] = 0.0f;
    }
  } else {
    double features[MAMJ_MAX_FEATURES];
    s->robot->features(e, features);
    for (int a = 0; a < N; a++) {
      float *o = obs + (size_t)a * W;
      int k = 0;
      for (int i = s->item_start[a]; i < s->item_start[a + 1]; i++) {
        const mamj_item_t *it = &s->items[i];
        int n = it->kind == MAMJ_ITEM_CFRC ? 6 : 1;
        for (int j = 0; j < n; j++) o[k++] = (float)mamj_item_value(e, it, j, features);
      }
      for (; k < W; k++) o[k] = 0.0f;
    }
  }
  memcpy(v, e->state, sizeof(double) * D);
  if (s->standardise) mamj_standardise(v, D);
  for (int i = 0; i < D; i++) share_obs[i] = (float)v[i];
  if (s->state_time) share_obs[D] = (float)e->steps / MAMJ_EPISODE_LENGTH;
}

void mamj_reset(void *env, rng_t *rng, float *obs, float *share_obs) {
  mamj_env_t *e = env;
  const mamj_shared_t *s = e->s;
  mj_resetData(s->m, e->d);  // time 0, qpos0, zero velocities, controls and warm start
  s->robot->reset(e, rng);
  mj_forward(s->m, e->d);
  // cfrc_ext of the initial state, for obsk observations that include it.
  if ((s->robot->cats_near | s->robot->cats_far) & MAMJ_CAT_CFRC) mj_rnePostConstraint(s->m, e->d);
  e->steps = 0;
  e->warnings = mamj_warning_total(e->d);
  e->prev_x[0] = s->torso >= 0 ? e->d->xpos[3 * s->torso] : 0.0;
  e->prev_x[1] = 0.0;
  memset(e->act, 0, sizeof(double) * s->m->nu);
  mamj_observe(e, obs, share_obs);
}

// The agents' actions onto the actuators: clipped to [-1, 1] (NaN -> 0), mapped onto each
// ctrlrange; the unclipped values are kept (e->act) for the control cost.
static void mamj_apply_actions(mamj_env_t *e, const float *actions) {
  const mamj_shared_t *s = e->s;
  const mjModel *m = s->m;
  mjData *d = e->d;
  const part_t *p = &s->part;
  for (int a = 0; a < p->n_agents; a++) {
    for (int i = 0; i < p->n_nodes[a]; i++) {
      int act = p->nodes[a][i];
      double raw = actions[(size_t)a * s->spec.max_act_dim + i];
      // Clip to [-1, 1] (a NaN becomes 0), then map onto the ctrlrange.
      double c = raw >= -1.0 ? (raw <= 1.0 ? raw : 1.0) : (raw < -1.0 ? -1.0 : 0.0);
      double lo = m->actuator_ctrlrange[2 * act], hi = m->actuator_ctrlrange[2 * act + 1];
      e->act[act] = raw;
      d->ctrl[act] = lo + (c + 1.0) * 0.5 * (hi - lo);
    }
  }
}

void mamj_step(void *env, const float *actions, rng_t *rng, env_step_t *out) {
  mamj_env_t *e = env;
  const mamj_shared_t *s = e->s;
  const mjModel *m = s->m;
  mjData *d = e->d;
  mamj_apply_actions(e, actions);
  if (s->robot->before) s->robot->before(e);
  for (int k = 0; k < s->robot->frame_skip; k++) mj_step(m, d);
  s->robot->after(e, out);
  e->steps++;
  int terminal = out->done;
  out->truncated = !terminal && e->steps >= MAMJ_EPISODE_LENGTH;
  out->done = terminal || out->truncated;
  for (int a = 0; a < s->part.n_agents; a++) out->costs[a] = out->team_cost;
  int warnings = mamj_warning_total(d);
  out->info[s->robot->n_info - 1] = (float)(warnings - e->warnings);
  e->warnings = warnings;
  mamj_observe(e, out->obs, out->share_obs);
}

// The physics of one env step after the controls are set: the task's hidden controls (obstacle
// schedule), the substeps. Episodes end where the env's would (time limit, the robot's
// termination test, a few comparisons) and restart with the same reset noise as mamj_reset.
static void mamj_raw_advance(mamj_env_t *e, rng_t *rng) {
  const mamj_shared_t *s = e->s;
  const mjModel *m = s->m;
  mjData *d = e->d;
  if (s->robot->before) s->robot->before(e);
  for (int k = 0; k < s->robot->frame_skip; k++) mj_step(m, d);
  if (++e->steps >= MAMJ_EPISODE_LENGTH || (s->robot->terminal && s->robot->terminal(e))) {
    mj_resetData(m, d);
    s->robot->reset(e, rng);
    mj_forward(m, d);
    e->steps = 0;
  }
}

int mamj_raw_step(void *env, rng_t *rng) {
  // Random controls for the agents' actuators, then the physics and nothing else.
  mamj_env_t *e = env;
  const mamj_shared_t *s = e->s;
  const mjModel *m = s->m;
  mjData *d = e->d;
  for (int i = 0; i < s->graph.n_nodes; i++) {
    double lo = m->actuator_ctrlrange[2 * i], hi = m->actuator_ctrlrange[2 * i + 1];
    d->ctrl[i] = lo + rng_uniform(rng) * (hi - lo);
  }
  mamj_raw_advance(e, rng);
  return 0;
}

int mamj_raw_step_actions(void *env, const float *actions, rng_t *rng) {
  mamj_apply_actions(env, actions);
  mamj_raw_advance(env, rng);
  return 0;
}

// ---- exact state ----------------------------------------------------------------------------
// Layout: uint32 magic, version, nq, nv, na, steps and two reserved words; then doubles:
// time, prev_x[2], qpos[nq], qvel[nv], act[na], qacc_warmstart[nv]. mj_step recomputes
// everything else from these (and from ctrl, which every step sets before stepping).

#define MAMJ_STATE_MAGIC 0x4a4d414du  // "MAMJ"
#define MAMJ_STATE_VERSION 1u
#define MAMJ_STATE_HEADER 32

size_t mamj_state_size(void *env) {
  const mjModel *m = ((mamj_env_t *)env)->s->m;
  return MAMJ_STATE_HEADER + sizeof(double) * (size_t)(3 + m->nq + 2 * m->nv + m->na);
}

void mamj_save_state(void *env, void *dst) {
  const mamj_env_t *e = env;
  const mjModel *m = e->s->m;
  const mjData *d = e->d;
  uint32_t head[8] = {MAMJ_STATE_MAGIC,
                      MAMJ_STATE_VERSION,
                      (uint32_t)m->nq,
                      (uint32_t)m->nv,
                      (uint32_t)m->na,
                      (uint32_t)e->steps,
                      0,
                      0};
  unsigned char *p = dst;
  memcpy(p, head, sizeof head);
  p += MAMJ_STATE_HEADER;
  double tail[3] = {d->time, e->prev_x[0], e->prev_x[1]};
  memcpy(p, tail, sizeof tail);
  p += sizeof tail;
  memcpy(p, d->qpos, sizeof(double) * m->nq);
  p += sizeof(double) * m->nq;
  memcpy(p, d->qvel, sizeof(double) * m->nv);
  p += sizeof(double) * m->nv;
  memcpy(p, d->act, sizeof(double) * m->na);
  p += sizeof(double) * m->na;
  memcpy(p, d->qacc_warmstart, sizeof(double) * m->nv);
}

int mamj_load_state(void *env, const void *src) {
  mamj_env_t *e = env;
  const mjModel *m = e->s->m;
  mjData *d = e->d;
  uint32_t head[8];
  const unsigned char *p = src;
  memcpy(head, p, sizeof head);
  if (head[0] != MAMJ_STATE_MAGIC || head[1] != MAMJ_STATE_VERSION)
    return err_input("%s state: bad magic or version", e->s->task->name);
  if (head[2] != (uint32_t)m->nq || head[3] != (uint32_t)m->nv || head[4] != (uint32_t)m->na)
    return err_input("%s state: sizes nq %u nv %u na %u do not match the model (%d %d %d)",
                     e->s->task->name, head[2], head[3], head[4], m->nq, m->nv, m->na);
  if (head[5] > MAMJ_EPISODE_LENGTH)
    return err_input("%s state: step count %u beyond the episode", e->s->task->name, head[5]);
  p += MAMJ_STATE_HEADER;
  double tail[3];
  memcpy(tail, p, sizeof tail);
  p += sizeof tail;
  if (!isfinite(tail[0]) || !isfinite(tail[1]) || !isfinite(tail[2]))
    return err_input("%s state: non-finite time or position", e->s->task->name);
  e->steps = (int)head[5];
  // Warnings are counted against this copy's own counters from here on.
  e->warnings = mamj_warning_total(d);
  d->time = tail[0];
  e->prev_x[0] = tail[1];
  e->prev_x[1] = tail[2];
  memcpy(d->qpos, p, sizeof(double) * m->nq);
  p += sizeof(double) * m->nq;
  memcpy(d->qvel, p, sizeof(double) * m->nv);
  p += sizeof(double) * m->nv;
  memcpy(d->act, p, sizeof(double) * m->na);
  p += sizeof(double) * m->na;
  memcpy(d->qacc_warmstart, p, sizeof(double) * m->nv);
  return ERR_OK;
}
