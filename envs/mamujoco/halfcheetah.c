// halfcheetah: Safe MAMuJoCo HalfCheetah (envs-safe-mamujoco.md §3) and its tasks
// halfcheetah_2x3, halfcheetah_3x2, halfcheetah_6x1, plus halfcheetah_1x6: one agent driving all
// six actuators in the gym order (the single-agent algorithms' task; not a Safe MAMuJoCo
// partition, so its nominal group is that order). Model envs/models/half_cheetah.xml.
// Follows the released half_cheetah.py: before each step the hidden obstacle motor gets
// u(t) = 0.02 sin^2(t/3) - 0.004 from the sim time; reward = (rootx after - before) / 0.05 -
// 0.1 |a|^2 (raw actions); cost = 1 when |obstacle geom x - rootx| < 9 m; never terminates;
// state [qpos[2:10] | qvel[1:10] | obstacle x velocity | u(t) | clip(xdist / 10, +-5)] (20);
// reset noise U(+-0.1) on every qpos (the obstacle's too), 0.1 N(0,1) on every qvel.
// Deliberate differences (besides mamj.c's): the released code calls mj_rnePostConstraint
// before stepping, which changes nothing it reads, so it is not called; the decorative side
// walls are not in the model (see half_cheetah.xml).
// Nominal groups and the joint chain: MAMuJoCo obsk.py "HalfCheetah-v2"; 3x2 from Safe MAMuJoCo.
#include <math.h>
#include <stddef.h>

#include "core/err.h"
#include "envs/mamujoco/mamj.h"

static int halfcheetah_bind(mamj_shared_t *s) {
  static const char *const edges[] = {"bfoot,bshin", "bshin,bthigh", "bthigh,fthigh",
                                      "fthigh,fshin", "fshin,ffoot"};
  s->obstacle_body = mamj_body(s, "obj1");
  s->obstacle_geom = mj_name2id(s->m, mjOBJ_GEOM, "obj_geom");
  s->obstacle_act = mj_name2id(s->m, mjOBJ_ACTUATOR, "wall_joint_ac");
  s->n_cheetahs = 1;
  s->rootx[0] = mamj_joint_qpos(s, "rootx");
  if (s->obstacle_body < 0 || s->obstacle_geom < 0 || s->obstacle_act < 0 || s->rootx[0] < 0)
    return err_fail("%s: model lacks the obstacle or rootx", s->task->name);
  s->state_dim = 20;
  int rc = mamj_build_nodes(s);
  for (int i = 0; !rc && i < (int)(sizeof edges / sizeof edges[0]); i++)
    rc = part_add_edge(&s->graph, edges[i]);
  return rc;
}

static void halfcheetah_before(mamj_env_t *e) {
  e->d->ctrl[e->s->obstacle_act] = mamj_obstacle_control(e->d->time);
  e->prev_x[0] = e->d->qpos[e->s->rootx[0]];
}

static void halfcheetah_after(mamj_env_t *e, env_step_t *out) {
  const mamj_shared_t *s = e->s;
  double run = (e->d->qpos[s->rootx[0]] - e->prev_x[0]) / s->dt, ctrl = 0;
  for (int i = 0; i < s->graph.n_nodes; i++) ctrl += e->act[i] * e->act[i];
  ctrl *= 0.1;
  double xdist = mamj_obstacle_dist(e, 0);
  out->reward = (float)(run - ctrl);
  out->team_cost = (float)(fabs(xdist) < 9.0);
  out->done = 0;
  out->info[0] = (float)run;
  out->info[1] = (float)-ctrl;
  out->info[2] = (float)xdist;
}

static void halfcheetah_features(const mamj_env_t *e, double *out) {
  out[0] = mamj_obstacle_vx(e);
  out[1] = mamj_obstacle_control(e->d->time);
  out[2] = fmin(fmax(mamj_obstacle_dist(e, 0) / 10.0, -5.0), 5.0);
}

static void halfcheetah_state(const mamj_env_t *e, double *out) {
  const double *qpos = e->d->qpos, *qvel = e->d->qvel;
  int x = e->s->rootx[0], k = 0;  // rootx; rootz, rooty and the six joints follow it
  for (int i = 1; i <= 8; i++) out[k++] = qpos[x + i];
  for (int i = 0; i <= 8; i++) out[k++] = qvel[x + i];
  halfcheetah_features(e, out + k);
}

static const mamj_robot_t halfcheetah_robot = {
    .model = "half_cheetah.xml",
    .frame_skip = 5,
    .n_features = 3,
    .cats_near = MAMJ_CAT_QPOS | MAMJ_CAT_QVEL,  // "qpos,qvel|qpos"
    .cats_far = MAMJ_CAT_QPOS,
    .n_info = 4,
    .info_names = {"reward_run", "reward_ctrl", "obstacle_dist", "mj_warnings"},
    .bind = halfcheetah_bind,
    .state = halfcheetah_state,
    .features = halfcheetah_features,
    .reset = mamj_noise_all,
    .before = halfcheetah_before,
    .after = halfcheetah_after,
};

MAMJ_TASK(env_halfcheetah_2x3, "halfcheetah_2x3",
          "Safe HalfCheetah, 2 agents x 3 actuators, moving obstacle (cost limit 30)",
          &halfcheetah_robot, 0, 2, "bfoot,bshin,bthigh|ffoot,fshin,fthigh", "released", "30");
MAMJ_TASK(env_halfcheetah_3x2, "halfcheetah_3x2",
          "Safe HalfCheetah, 3 agents x 2 actuators, moving obstacle (cost limit 30)",
          &halfcheetah_robot, 0, 3, "bfoot,bshin|bthigh,ffoot|fshin,fthigh", "released", "30");
MAMJ_TASK(env_halfcheetah_6x1, "halfcheetah_6x1",
          "Safe HalfCheetah, 6 agents x 1 actuator, moving obstacle (cost limit 30)",
          &halfcheetah_robot, 0, 6, "bfoot|bshin|bthigh|ffoot|fshin|fthigh", "released", "30");
MAMJ_TASK(env_halfcheetah_1x6, "halfcheetah_1x6",
          "Safe HalfCheetah, 1 agent x 6 actuators (single-agent), moving obstacle (cost limit 30)",
          &halfcheetah_robot, 0, 1, "bthigh,bshin,bfoot,fthigh,fshin,ffoot", "released", "30");
