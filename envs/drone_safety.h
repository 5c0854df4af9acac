// drone_safety (prefix dsafe_): the hard-constraint safety layer of the drone swarm (seed 000's
// "modified algorithm with hard constraints") as a one-step projection of the joint command.
// It owns the projection only; the envs call it inside step when env.safety_layer = project
// (drone_common.h).
//
// Problem. Drones i = 0..N-1 are at p_i with velocity v_i; the policy's joint command is u_pi
// (N x 3). The env clips each component to [-1, 1] (NaN gives 0, dc_clip_action); call that
// u_bar, the executed command. The next position of drone i is affine in its own command:
//   P_i(u_i) = q_i + B (.) u_i        ((.) per axis)
// drone_swarm_point (exact): q_i = p_i + v_i dt, B = accel_scale dt^2 (v += a s dt; p += v dt).
// The wanted command is argmin ||u - u_bar|| over u in [-1, 1]^3N such that after the step
//   ||P_i - P_j|| >= D_ij = d_min (+ e_i + e_j)  for every pair, and, when obstacles are given,
//   ||P_i - o_k|| >= r_k + obstacle_margin (+ e_i) for every drone and obstacle.
// That set is not convex. What is solved instead, exactly (active-set QP, Goldfarb-Idnani, to
// ~1e-12), is the linearised QP: each constraint that some box command could violate is
// replaced by the half-space n . (P_i - P_j) >= D_ij (n . (P_i - o_k) >= r_k + ... for
// obstacles), n the unit vector of the unprojected next separation P_i(u_bar) - P_j(u_bar)
// (falls back to q_i - q_j, p_i - p_j, then x when it vanishes). Since ||x|| >= n . x for a
// unit n, the half-space lies inside the exact constraint's set: every QP-feasible command is
// exactly safe (conservative inner approximation). It also contains u_bar whenever u_bar meets
// that pair's exact constraint, and for one binding pair with the box inactive and isotropic B
// the QP optimum is the exact optimum (the tangent plane at the nearest point of the ball).
// Constraints that no command in the box can violate get no row (they hold whatever is done).
// Guarantees (dsafe_project, the point model, checked with the env's own arithmetic):
// * u_bar already safe (exact test, as dc_evaluate: distance >= D is safe) -> u = u_pi bit for bit,
//   0 interventions, and nothing else is computed (O(N^2 + N M)).
// * Otherwise the QP is solved per connected group of constrained drones, with every
//   requirement raised by the internal margin 1e-9 m + FLT_EPSILON ||B|| (so that rounding the
//   result to float cannot break it). Feasible -> the returned command is that QP's minimiser,
//   inside the box, and verified exactly safe (were the check to fail, the QP is solved once
//   more with a 1000x margin, and `safe` = 0 would report it). Infeasible QP (e.g. two drones that
//   overlap whatever they do) -> `infeasible` = 1 and the best effort: the box command u and
//   slack t minimising 1/2 ||u - u_bar||^2 + 1/2 1e12 t^2 with every row's slack (distance
//   minus requirement, m) >= t. So t is the largest smallest slack that box commands of the
//   group achieve, to within 1e-6 ||u - u_bar|| m, and u is the box command nearest to u_bar
//   whose rows all have slack >= t. It never lowers the worst exact slack below that of u_bar.
//   An infeasible linearised QP does not prove the exact problem infeasible (inner
//   approximation), only that no command is certified.
// * Drones whose command ends equal to u_bar keep u_pi bit for bit; changed ones lie in the box.
// dsafe_project_conservative: drone_swarm (MuJoCo) in velocity mode; see its comment below for
// the model, the margin and what is (and is not) guaranteed.
// No allocation after dsafe_create; one workspace per thread.
#ifndef SAFEMARL_DRONE_SAFETY_H
#define SAFEMARL_DRONE_SAFETY_H

#define DSAFE_MAX_DRONES 64     // = ENV_MAX_AGENTS
#define DSAFE_MAX_OBSTACLES 32  // = DC_MAX_OBSTACLES
// drone_swarm velocity mode: a bound on the vehicle's acceleration over one env step (m/s^2),
// from which the part of the tracking error no command can remove is 1/2 a dt^2 (0.06 m). See
// dsafe_project_conservative.
#define DSAFE_MJ_ACCEL_BOUND 12.0

typedef struct dsafe_ws dsafe_ws_t;

// What must hold after the step.
typedef struct {
  double d_min;             // drone-drone distance (m), > 0 (env.d_min)
  int n_obstacles;          // 0: no obstacle constraints
  const double *obstacles;  // [n_obstacles][4]: centre x, y, z, radius (dc_world_t.obstacle)
  double obstacle_margin;   // keep ||P_i - o_k|| >= r_k + margin: env.d_safe for no obstacle
                            // cost, DC_DRONE_RADIUS_M for no contact
} dsafe_limits_t;

// drone_swarm's velocity command mode: command = u (.) (v_max_xy, v_max_xy, v_max_z).
typedef struct {
  double v_max_xy, v_max_z;  // env.v_max_xy, env.v_max_z (2, 1 m/s)
  double accel_bound;        // m/s^2; <= 0 means DSAFE_MJ_ACCEL_BOUND
} dsafe_velocity_model_t;

typedef struct {
  int interventions;   // drones whose returned command differs from u_pi
  double change_norm;  // ||u_exec - u_bar|| over all 3N components (executed commands)
  int safe;            // 1: the returned command meets every exact constraint after the step
  int infeasible;      // 1: some group's linearised QP had no solution (best effort returned)
  int rows;            // linearised constraints built (pairs + drone-obstacle within reach)
  int groups;          // connected groups solved
  int iterations;      // active-set iterations, all groups
  double min_slack;    // min over all constraints of distance - requirement after the step (m),
                       // at the returned command (exact; >= 0 iff safe)
} dsafe_result_t;

// Workspace for up to n_max drones (1..DSAFE_MAX_DRONES). Returns 0, ERR_INPUT or ERR_FAIL.
int dsafe_create(int n_max, dsafe_ws_t **ws);
void dsafe_destroy(dsafe_ws_t *ws);

// drone_swarm_point: pos, vel [n][3] (doubles, the env state), accel_scale (env.accel_scale),
// u_pi, u [n][3] (u may not alias u_pi). Returns 0 (whatever the feasibility; see res) or
// ERR_INPUT (n out of range, non-finite state, bad limits), with u = u_pi then.
int dsafe_project(dsafe_ws_t *ws, int n, const double *pos, const double *vel, double accel_scale,
                  const dsafe_limits_t *lim, const float *u_pi, float *u, dsafe_result_t *res);

// drone_swarm, velocity mode, on a conservative point model. The model: drone i's next
// position lies within e_i of the commanded kinematic position P_i(u) = p_i + dt V (.) u_i,
// V = (v_max_xy, v_max_xy, v_max_z), with
//   e_i = 1/2 a dt^2 + dt || |v_i| + V ||   (a = accel_bound, |v_i| per axis)
// because p' - P(u) = (p' - p - v dt) + dt (v - V u): the first part is bounded by the
// acceleration, the second is at most dt || |v| + V || over every command in the box (so e_i
// does not depend on u and the QP keeps its form). The projection is dsafe_project's on this
// model with D_ij = d_min + e_i + e_j and obstacle requirement r_k + margin + e_i, so a
// feasible result gives ||p_i' - p_j'|| >= d_min provided the acceleration bound holds.
// a = 12 m/s^2 is an estimate, not a proof: the controller's force limits (lean <= 30 deg,
// vertical 9.81 +- 5 m/s^2) give |a| <= |((9.81 + 5) tan 30, 5)| = 9.9 m/s^2; attitude and rotor
// transients reach 10.1 m/s^2 equivalent (max |p' - p - v dt| = 0.0506 m over 2e5 random
// steps); 12 leaves 19%. tests/test_drone_safety.c re-measures it.
// What this means: over one 0.1 s step the command barely moves a quadrotor (measured: the
// horizontal position one step later does not depend on the command), so when this model is
// feasible every command is safe for that step; the projection's value is preventive (it keeps
// the commanded velocities from closing the gaps), and it is conservative: at rest e_i = 0.36 m
// (D = 2.72 m for d_min = 2), at 2 m/s e_i = 0.52 m. pos, vel: world position and linear
// velocity (qpos[7i..7i+3), qvel[6i..6i+3)).
int dsafe_project_conservative(dsafe_ws_t *ws, int n, const double *pos, const double *vel,
                               const dsafe_velocity_model_t *vm, const dsafe_limits_t *lim,
                               const float *u_pi, float *u, dsafe_result_t *res);

// e_i of dsafe_project_conservative for velocity vel[3].
double dsafe_tracking_radius(const dsafe_velocity_model_t *vm, const double *vel);
#endif
