// coupled_halfcheetah: MAMuJoCo's CoupledHalfCheetah with the Safe HalfCheetah moving obstacle,
// as used by Scal-MAPPO-L (algorithms.md §12.2): tasks coupled_halfcheetah_2x6 (one agent per
// cheetah, MAMuJoCo's "1p1", the poster's "p1p"), _6x2 and _12x1. Model
// envs/models/coupled_half_cheetah.xml (layout and tendon documented there).
// No released safe version was available to follow; built from these pieces:
// * reward: MAMuJoCo coupled_half_cheetah.py, the mean over the two cheetahs of
//   (rootx after - before) / 0.05 - 0.1 |a_c|^2 (raw actions of that cheetah's six actuators);
// * obstacle: the HalfCheetah box, schedule and hidden motor (halfcheetah.c);
// * cost: 1 when either cheetah's rootx is within 5 m of the obstacle geom in x (the
//   Scal-MAPPO-L definition as reported; rootx as in HalfCheetah's cost, where a third-party
//   copy used the torso xpos; that copy also charged y-distances to side walls, which for
//   planar cheetahs are constant, so they are left out); never terminates; cost limit 20 (see
//   COUPLED_LIMIT below);
// * state (40): per cheetah [qpos rootz..ffoot (8) | qvel rootx..ffoot (9)], the tendon's length
//   and velocity, then obstacle x velocity, u(t), clip(xdist_c / 10, +-5) for both cheetahs;
// * reset noise as MAMuJoCo: U(+-0.1) on every qpos, 0.1 N(0,1) on every qvel.
// Joint graph: MAMuJoCo's two chains, plus one hyperedge {bthigh0, fthigh0, bthigh1, fthigh1}
// joining the joints on the two tendon-coupled torsos (MAMuJoCo has no edge between the
// cheetahs, which would leave the agent graph of Scal-MAPPO-L disconnected). obsk categories
// "qpos,qvel,tendon|qpos": bthigh nodes add tendon length and velocity (MAMuJoCo's ten_length,
// ten_velocity; its 19-wide ten_J row is left out, and its empty far category is qpos here).
#include <math.h>
#include <stddef.h>

#include "core/err.h"
#include "envs/mamujoco/mamj.h"

static int coupled_bind(mamj_shared_t *s) {
  static const char *const edges[] = {"bfoot0,bshin0",
                                      "bshin0,bthigh0",
                                      "bthigh0,fthigh0",
                                      "fthigh0,fshin0",
                                      "fshin0,ffoot0",
                                      "bfoot1,bshin1",
                                      "bshin1,bthigh1",
                                      "bthigh1,fthigh1",
                                      "fthigh1,fshin1",
                                      "fshin1,ffoot1",
                                      "bthigh0,fthigh0,bthigh1,fthigh1"};
  const mjModel *m = s->m;
  s->obstacle_body = mamj_body(s, "obj1");
  s->obstacle_geom = mj_name2id(m, mjOBJ_GEOM, "obj_geom");
  s->obstacle_act = mj_name2id(m, mjOBJ_ACTUATOR, "wall_joint_ac");
  s->tendon = mj_name2id(m, mjOBJ_TENDON, "tendon0");
  s->n_cheetahs = 2;
  s->rootx[0] = mamj_joint_qpos(s, "rootx0");
  s->rootx[1] = mamj_joint_qpos(s, "rootx1");
  s->cheetah_first_act[0] = mj_name2id(m, mjOBJ_ACTUATOR, "bthigh0");
  s->cheetah_first_act[1] = mj_name2id(m, mjOBJ_ACTUATOR, "bthigh1");
  if (s->obstacle_body < 0 || s->obstacle_geom < 0 || s->obstacle_act < 0 || s->tendon < 0 ||
      s->rootx[0] < 0 || s->rootx[1] < 0 || s->cheetah_first_act[0] < 0 ||
      s->cheetah_first_act[1] < 0)
    return err_fail("%s: model lacks the obstacle, the tendon or a cheetah", s->task->name);
  s->state_dim = 40;
  int rc = mamj_build_nodes(s);
  for (int i = 0; !rc && i < (int)(sizeof edges / sizeof edges[0]); i++)
    rc = part_add_edge(&s->graph, edges[i]);
  if (!rc) {
    s->node_tendon[part_find(&s->graph, "bthigh0")] = 1;
    s->node_tendon[part_find(&s->graph, "bthigh1")] = 1;
  }
  return rc;
}

static void coupled_before(mamj_env_t *e) {
  e->d->ctrl[e->s->obstacle_act] = mamj_obstacle_control(e->d->time);
  for (int c = 0; c < 2; c++) e->prev_x[c] = e->d->qpos[e->s->rootx[c]];
}

static void coupled_after(mamj_env_t *e, env_step_t *out) {
  const mamj_shared_t *s = e->s;
  double run = 0, ctrl = 0;
  int near[2];
  for (int c = 0; c < 2; c++) {
    run += (e->d->qpos[s->rootx[c]] - e->prev_x[c]) / s->dt;
    for (int i = 0; i < 6; i++) {
      double a = e->act[s->cheetah_first_act[c] + i];
      ctrl += 0.1 * a * a;
    }
    near[c] = fabs(mamj_obstacle_dist(e, c)) < 5.0;
  }
  out->reward = (float)(0.5 * run - 0.5 * ctrl);
  out->team_cost = (float)(near[0] || near[1]);
  out->done = 0;
  out->info[0] = (float)near[0];
  out->info[1] = (float)near[1];
  out->info[2] = (float)(0.5 * run);
  out->info[3] = (float)(-0.5 * ctrl);
}

static void coupled_features(const mamj_env_t *e, double *out) {
  out[0] = mamj_obstacle_vx(e);
  out[1] = mamj_obstacle_control(e->d->time);
  for (int c = 0; c < 2; c++) out[2 + c] = fmin(fmax(mamj_obstacle_dist(e, c) / 10.0, -5.0), 5.0);
}

static void coupled_state(const mamj_env_t *e, double *out) {
  const double *qpos = e->d->qpos, *qvel = e->d->qvel;
  int k = 0;
  for (int c = 0; c < 2; c++) {
    int x = e->s->rootx[c];  // rootx; rootz, rooty and the six joints follow it
    for (int i = 1; i <= 8; i++) out[k++] = qpos[x + i];
    for (int i = 0; i <= 8; i++) out[k++] = qvel[x + i];
  }
  out[k++] = e->d->ten_length[e->s->tendon];
  out[k++] = e->d->ten_velocity[e->s->tendon];
  coupled_features(e, out + k);
}

static const mamj_robot_t coupled_robot = {
    .model = "coupled_half_cheetah.xml",
    .frame_skip = 5,
    .n_features = 4,
    .cats_near = MAMJ_CAT_QPOS | MAMJ_CAT_QVEL | MAMJ_CAT_TENDON,
    .cats_far = MAMJ_CAT_QPOS,
    .n_info = 5,
    .info_names = {"cost_near0", "cost_near1", "reward_run", "reward_ctrl", "mj_warnings"},
    .bind = coupled_bind,
    .state = coupled_state,
    .features = coupled_features,
    .reset = mamj_noise_all,
    .before = coupled_before,
    .after = coupled_after,
};

// Cost limit 20 (no published bound). Against the obstacle schedule, a cheetah running at a
// constant speed pays for the steps it spends in the cost band while overtaking: with
// HalfCheetah's 9 m band, overtaking at 11 m/s costs 30 (its MAFOCOPS limit; standing still 35);
// with the 5 m band the same overtake costs 16 with the cheetahs abreast and 21 at the tendon's
// 2.87 m limit. 20 keeps the same constant-speed overtakes feasible. (Standing still costs 0
// here: the obstacle never comes back within 5 m of x = 0.)
#define COUPLED_LIMIT "20"
MAMJ_TASK(env_coupled_halfcheetah_2x6, "coupled_halfcheetah_2x6",
          "Safe Coupled HalfCheetah, one agent per cheetah (p1p), obstacle (cost limit 20)",
          &coupled_robot, 0, 2,
          "bfoot0,bshin0,bthigh0,ffoot0,fshin0,fthigh0|bfoot1,bshin1,bthigh1,ffoot1,fshin1,fthigh1",
          "released", COUPLED_LIMIT);
MAMJ_TASK(env_coupled_halfcheetah_6x2, "coupled_halfcheetah_6x2",
          "Safe Coupled HalfCheetah, 6 agents x 2 actuators, obstacle (cost limit 20)",
          &coupled_robot, 0, 6,
          "bfoot0,bshin0|bthigh0,ffoot0|fshin0,fthigh0|bfoot1,bshin1|bthigh1,ffoot1|fshin1,fthigh1",
          "released", COUPLED_LIMIT);
MAMJ_TASK(env_coupled_halfcheetah_12x1, "coupled_halfcheetah_12x1",
          "Safe Coupled HalfCheetah, 12 agents x 1 actuator, obstacle (cost limit 20)",
          &coupled_robot, 0, 12,
          "bfoot0|bshin0|bthigh0|ffoot0|fshin0|fthigh0|bfoot1|bshin1|bthigh1|ffoot1|fshin1|fthigh1",
          "released", COUPLED_LIMIT);
