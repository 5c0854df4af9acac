// ant: Safe MAMuJoCo Ant (envs-safe-mamujoco.md §2) and its tasks ant_2x4, ant_2x4d, ant_4x2,
// ant_8x1. Model envs/models/ant.xml; reward, cost, termination and observation shared with the
// ManyAgent Ant in mamj.c (mamj_ant_*), with corridor walls at y_c(x) +- 5.
// Follows the released ant.py: reward = forward (xpos, frame skip 5, dt 0.05) - 0.5 |a|^2 -
// 0.5e-3 |clip(cfrc_ext)|^2 + 1; cost = 1 within 1.8 m (in y) of a zig-zag wall line or on a
// terminating step; termination when z leaves [0.2, 1], the torso tilts past R_zz = -0.7 or the
// state is not finite; state [qpos[2:] | qvel | x/5 | y - y_c(x)] (29); reset noise U(+-0.1) on
// qpos, 0.1 N(0,1) on qvel. Deliberate differences (besides mamj.c's):
// * Walls are static geoms (see ant.xml), so the contact cost no longer sums six wall bodies
//   (about 7e-10 per step in the released env) and nothing resets wall DOFs.
// * ant_2x4d defaults to the nominal (diagonal) partition: under the released contiguous slices
//   it is the same environment as ant_2x4 (§1.4).
// Nominal groups and hyperedges: MAMuJoCo obsk.py "Ant-v2"; 8x1 groups from Safe MAMuJoCo.
#include <stddef.h>

#include "core/err.h"
#include "envs/mamujoco/mamj.h"

static int ant_bind(mamj_shared_t *s) {
  static const char *const edges[] = {"ankle_4,hip_4", "ankle_1,hip_1", "ankle_2,hip_2",
                                      "ankle_3,hip_3", "hip_4,hip_1,hip_2,hip_3"};
  // cfrc_ext rows observed with each joint (MAMuJoCo Node.bodies): the hip sees the torso and
  // its leg root, the ankle the leg root, the aux segment and the foot.
  static const char *const bodies[][2] = {
      {"hip_1", "torso,front_left_leg"},  {"ankle_1", "front_left_leg,aux_1,foot_1"},
      {"hip_2", "torso,front_right_leg"}, {"ankle_2", "front_right_leg,aux_2,foot_2"},
      {"hip_3", "torso,back_leg"},        {"ankle_3", "back_leg,aux_3,foot_3"},
      {"hip_4", "torso,right_back_leg"},  {"ankle_4", "right_back_leg,aux_4,foot_4"}};
  s->torso = mamj_body(s, "torso");
  if (s->torso < 0) return ERR_FAIL;
  s->corridor_half_width = 5.0;
  s->state_dim = (s->m->nq - 2) + s->m->nv + 2;
  int rc = mamj_build_nodes(s);
  for (int i = 0; !rc && i < (int)(sizeof edges / sizeof edges[0]); i++)
    rc = part_add_edge(&s->graph, edges[i]);
  for (int i = 0; !rc && i < (int)(sizeof bodies / sizeof bodies[0]); i++)
    rc = mamj_node_bodies(s, bodies[i][0], bodies[i][1]);
  return rc;
}

static const mamj_robot_t ant_robot = {
    .model = "ant.xml",
    .frame_skip = 5,
    .n_features = 4,
    .cats_near = MAMJ_CAT_QPOS | MAMJ_CAT_QVEL | MAMJ_CAT_CFRC,  // "qpos,qvel,cfrc_ext|qpos"
    .cats_far = MAMJ_CAT_QPOS,
    .n_info = 6,
    .info_names = {"cost_obj", "cost_done", "reward_forward", "reward_ctrl", "reward_contact",
                   "mj_warnings"},
    .bind = ant_bind,
    .state = mamj_ant_state,
    .features = mamj_ant_features,
    .reset = mamj_noise_all,  // every DOF is the ant's (the walls have none)
    .before = NULL,           // "x before" is the torso xpos the last step left
    .after = mamj_ant_after,
    .terminal = mamj_ant_terminal,
};

MAMJ_TASK(env_ant_2x4, "ant_2x4",
          "Safe Ant, 2 agents x 4 actuators, zig-zag corridor walls (cost limit 50)", &ant_robot, 0,
          2, "hip_1,ankle_1,hip_2,ankle_2|hip_3,ankle_3,hip_4,ankle_4", "released", "50");
MAMJ_TASK(env_ant_2x4d, "ant_2x4d",
          "Safe Ant, 2 agents x 4 actuators, diagonal leg pairs (nominal partition by default)",
          &ant_robot, 0, 2, "hip_1,ankle_1,hip_3,ankle_3|hip_2,ankle_2,hip_4,ankle_4", "nominal",
          "50");
MAMJ_TASK(env_ant_4x2, "ant_4x2",
          "Safe Ant, 4 agents x 2 actuators (one leg each), corridor walls (cost limit 50)",
          &ant_robot, 0, 4, "hip_1,ankle_1|hip_2,ankle_2|hip_3,ankle_3|hip_4,ankle_4", "released",
          "50");
MAMJ_TASK(env_ant_8x1, "ant_8x1", "Safe Ant, 8 agents x 1 actuator, corridor walls (cost limit 70)",
          &ant_robot, 0, 8, "hip_1|ankle_1|hip_2|ankle_2|hip_3|ankle_3|hip_4|ankle_4", "released",
          "70");
