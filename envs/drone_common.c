// drone_common: the drone-swarm task both drone envs share (see drone_common.h for the task
// and every choice). Pure functions of positions, velocities and flags; no allocation.
#include "envs/drone_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define DC_SPAWN_ATTEMPTS 2000  // samples per drone before a round starts over
#define DC_SPAWN_ROUNDS 8       // rounds before the fallback spawn
#define DC_SLOT_LATTICE_R 8     // slot candidates: lattice offsets in [-R, R]^3
#define DC_EXTRA_RADIUS_M 1.0   // radius of generated obstacles (the seed's)

const char *const dc_info_names[DC_N_INFO] = {
    "cost_drone_drone", "cost_drone_obstacle", "arrivals",    "crashes",
    "success",          "crash_floor",         "crash_obstacle", "crash_drone",
    "crash_tilt",       "cost_crash"};
const char *const dc_safety_info_names[DC_N_SAFETY_INFO] = {"safety_interventions", "safety_change",
                                                            "safety_steps", "safety_infeasible"};

// ---- parsing ------------------------------------------------------------------------------

// Exactly n finite numbers separated by commas from text[0..len). Returns 0 or -1.
static int dc_parse_numbers(const char *text, size_t len, double *out, int n) {
  char buf[CFG_STR_MAX];
  if (len >= sizeof buf) return -1;
  memcpy(buf, text, len);
  buf[len] = '\0';
  char *p = buf;
  for (int i = 0; i < n; i++) {
    char *end;
    out[i] = strtod(p, &end);
    if (end == p || !isfinite(out[i])) return -1;
    while (*end == ' ') end++;
    if (i < n - 1) {
      if (*end != ',') return -1;
      p = end + 1;
    } else if (*end != '\0') {
      return -1;
    }
  }
  return 0;
}

static int dc_parse_point(const char *key, const char *text, double *out) {
  if (dc_parse_numbers(text, strlen(text), out, 3))
    return err_input("env.%s: '%s' is not three numbers \"x,y,z\"", key, text);
  return ERR_OK;
}

// "x,y,z,r;x,y,z,r;..." into w->obstacle; returns the count or a negative error code.
static int dc_parse_obstacles(const char *text, dc_world_t *w) {
  int count = 0;
  const char *p = text;
  while (*p == ' ') p++;
  if (!*p) return 0;
  for (;;) {
    size_t len = strcspn(p, ";");
    if (count >= DC_MAX_OBSTACLES)
      return err_input("env.obstacles: more than %d obstacles", DC_MAX_OBSTACLES);
    double *o = w->obstacle[count];
    if (dc_parse_numbers(p, len, o, 4) || !(o[3] > 0))
      return err_input("env.obstacles: entry %d of '%s' is not \"x,y,z,r\" with r > 0", count + 1,
                       text);
    count++;
    if (!p[len]) break;
    p += len + 1;
  }
  return count;
}

// ---- world --------------------------------------------------------------------------------

static double dc_dist3(const double *a, const double *b) {
  double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
  return sqrt(dx * dx + dy * dy + dz * dz);
}

// Lattice slots around the target (see the header): shells of increasing i^2 + j^2 + k^2,
// lexicographic (k, j, i) inside a shell.
static int dc_build_slots(dc_world_t *w, double spacing) {
  const int R = DC_SLOT_LATTICE_R;
  int found = 0;
  for (int q = 0; q <= 3 * R * R && found < w->n; q++) {
    for (int k = -R; k <= R && found < w->n; k++)
      for (int j = -R; j <= R && found < w->n; j++)
        for (int i = -R; i <= R && found < w->n; i++) {
          if (i * i + j * j + k * k != q) continue;
          double c[3] = {w->target[0] + spacing * i, w->target[1] + spacing * j,
                         w->target[2] + spacing * k};
          if (c[2] < DC_SLOT_MIN_Z_M) continue;
          int clear = 1;
          for (int o = 0; o < w->m && clear; o++)
            clear =
                dc_dist3(c, w->obstacle[o]) >= w->obstacle[o][3] + w->d_safe + w->arrival_radius;
          if (!clear) continue;
          memcpy(w->slot[found++], c, sizeof c);
        }
  }
  if (found < w->n)
    return err_input(
        "env.n_drones: only %d of %d target slots fit the lattice around the target "
        "(obstacles and the %.1f m floor exclude the rest)",
        found, w->n, DC_SLOT_MIN_Z_M);
  return ERR_OK;
}

// Obstacles beyond the list: radius 1, between the spawn centre and the target, from a fixed
// generator, clear of the slots' arrival zones, of the spawn centre and of each other (1 m gaps).
static int dc_add_obstacles(dc_world_t *w, int target_m, const double *spawn_centre) {
  rng_t r;
  rng_stream(&r, 0, "drone_obstacles", 0);
  const double rad = DC_EXTRA_RADIUS_M;
  while (w->m < target_m) {
    int placed = 0;
    for (int attempt = 0; attempt < 100000 && !placed; attempt++) {
      double t = 0.25 + 0.5 * rng_uniform(&r), off[3];
      do {
        for (int a = 0; a < 3; a++) off[a] = 3.0 * (2.0 * rng_uniform(&r) - 1.0);
      } while (off[0] * off[0] + off[1] * off[1] + off[2] * off[2] > 9.0);
      double c[3];
      for (int a = 0; a < 3; a++)
        c[a] = spawn_centre[a] + t * (w->target[a] - spawn_centre[a]) + off[a];
      if (c[2] < rad) continue;
      int ok = dc_dist3(c, spawn_centre) >= rad + w->d_safe + 1.0;
      for (int s = 0; s < w->n && ok; s++)
        ok = dc_dist3(c, w->slot[s]) >= rad + w->d_safe + w->arrival_radius;
      for (int o = 0; o < w->m && ok; o++)
        ok = dc_dist3(c, w->obstacle[o]) >= rad + w->obstacle[o][3] + 1.0;
      if (!ok) continue;
      memcpy(w->obstacle[w->m], c, sizeof c);
      w->obstacle[w->m][3] = rad;
      w->m++;
      placed = 1;
    }
    if (!placed)
      return err_input("env.n_obstacles: cannot place obstacle %d between spawn and target",
                       w->m + 1);
  }
  return ERR_OK;
}

static int dc_clear_of_obstacles(const dc_world_t *w, const double *c) {
  for (int o = 0; o < w->m; o++)
    if (dc_dist3(c, w->obstacle[o]) < w->obstacle[o][3] + w->d_safe) return 0;
  return 1;
}

// reward = geodesic: one distance field per slot over the box holding the spawn box, the slots
// and the obstacles' cost zones, 4 m of margin (the floor at z = 0 bounds it below), 0.5 m
// cells; the floor clearance is the crash height plus one cell.
#define DC_GEO_CELL_M 0.5
#define DC_GEO_MARGIN_M 4.0
static int dc_build_geodesic(dc_world_t *w) {
  double lo[3], hi[3];
  for (int a = 0; a < 3; a++) {
    lo[a] = w->spawn_lo[a];
    hi[a] = w->spawn_hi[a];
    for (int i = 0; i < w->n; i++) {
      lo[a] = fmin(lo[a], w->slot[i][a]);
      hi[a] = fmax(hi[a], w->slot[i][a]);
    }
    for (int k = 0; k < w->m; k++) {
      double r = w->obstacle[k][3] + w->d_safe;
      lo[a] = fmin(lo[a], w->obstacle[k][a] - r);
      hi[a] = fmax(hi[a], w->obstacle[k][a] + r);
    }
    lo[a] -= DC_GEO_MARGIN_M;
    hi[a] += DC_GEO_MARGIN_M;
  }
  lo[2] = 0.0;
  return dgeo_build(&w->geo, (const double(*)[3])w->slot, w->n,
                    (const double(*)[4])w->obstacle, w->m, w->d_safe,
                    DC_CRASH_HEIGHT_M + DC_GEO_CELL_M, lo, hi, DC_GEO_CELL_M);
}

// A deterministic valid spawn: lattice points of spacing just above d_min filling the box
// layer by layer from the bottom (continuing above the box if it is too crowded).
static int dc_build_fallback(dc_world_t *w) {
  double h = w->spawn_sep * (1.0 + 1e-9);
  int nx = (int)floor((w->spawn_hi[0] - w->spawn_lo[0]) / h) + 1;
  int ny = (int)floor((w->spawn_hi[1] - w->spawn_lo[1]) / h) + 1;
  int found = 0;
  for (int k = 0; k < 10000 && found < w->n; k++)
    for (int j = 0; j < ny && found < w->n; j++)
      for (int i = 0; i < nx && found < w->n; i++) {
        double c[3] = {w->spawn_lo[0] + i * h, w->spawn_lo[1] + j * h, w->spawn_lo[2] + k * h};
        if (dc_clear_of_obstacles(w, c)) memcpy(w->fallback_spawn[found++], c, sizeof c);
      }
  if (found < w->n) return err_input("env.spawn_centre: no room to spawn %d drones", w->n);
  return ERR_OK;
}

int dc_world_init(dc_world_t *w, const dc_params_t *p) {
  memset(w, 0, sizeof *w);
  if (p->n_drones < 1 || p->n_drones > DC_MAX_DRONES)
    return err_input("env.n_drones: %d is not in 1..%d", p->n_drones, DC_MAX_DRONES);
  if (p->n_obstacles < -1 || p->n_obstacles > DC_MAX_OBSTACLES)
    return err_input("env.n_obstacles: %d is not in -1..%d", p->n_obstacles, DC_MAX_OBSTACLES);
  if (!(p->d_min > 0)) return err_input("env.d_min: %g must be > 0", p->d_min);
  if (!(p->d_safe >= 0)) return err_input("env.d_safe: %g must be >= 0", p->d_safe);
  if (!(p->arrival_radius > 0))
    return err_input("env.arrival_radius: %g must be > 0", p->arrival_radius);
  if (!(p->slot_spacing >= p->d_min))
    return err_input("env.slot_spacing: %g must be >= d_min (%g)", p->slot_spacing, p->d_min);
  if (p->k_neighbours < 0) return err_input("env.k_neighbours: %d must be >= 0", p->k_neighbours);
  if (p->episode_length < 1)
    return err_input("env.episode_length: %d must be >= 1", p->episode_length);
  if (!(p->cost_limit == -1.0 || p->cost_limit >= 0.0))
    return err_input("env.cost_limit: %g must be >= 0, or -1 for the default", p->cost_limit);
  int safety;
  if (strcmp(p->safety_layer, "none") == 0) {
    safety = DC_SAFETY_NONE;
  } else if (strcmp(p->safety_layer, "project") == 0) {
    safety = DC_SAFETY_PROJECT;
  } else {
    return err_input("env.safety_layer: '%s' is not one of none|project", p->safety_layer);
  }
  if (!isfinite(p->safety_obstacle_margin))
    return err_input("env.safety_obstacle_margin: %g is not finite", p->safety_obstacle_margin);
  double spawn_centre[3];
  int rc = dc_parse_point("target", p->target, w->target);
  if (!rc) rc = dc_parse_point("spawn_centre", p->spawn_centre, spawn_centre);
  if (rc) return rc;
  int listed = dc_parse_obstacles(p->obstacles, w);
  if (listed < 0) return listed;

  w->n = p->n_drones;
  w->k = p->k_neighbours < w->n - 1 ? p->k_neighbours : w->n - 1;
  int target_m = p->n_obstacles < 0 ? listed : p->n_obstacles;
  w->m = target_m < listed ? target_m : listed;
  w->d_min = p->d_min;
  w->d_safe = p->d_safe;
  w->arrival_radius = p->arrival_radius;
  w->reward_progress = strcmp(p->reward, "progress") == 0;
  w->reward_geodesic = strcmp(p->reward, "geodesic") == 0;
  if (!w->reward_progress && !w->reward_geodesic && strcmp(p->reward, "seed") != 0)
    return err_input("env.reward: '%s' is not one of seed|progress|geodesic", p->reward);
  w->spawn_sep = p->spawn_separation == -1.0 ? p->d_min : p->spawn_separation;
  if (!(w->spawn_sep >= p->d_min))
    return err_input("env.spawn_separation: %g must be >= d_min (%g), or -1", p->spawn_separation,
                     p->d_min);
  w->spawn_matched = strcmp(p->spawn_assignment, "matched") == 0;
  if (!w->spawn_matched && strcmp(p->spawn_assignment, "random") != 0)
    return err_input("env.spawn_assignment: '%s' is not one of random|matched",
                     p->spawn_assignment);
  w->crash_cost_remaining = strcmp(p->crash_cost, "remaining") == 0;
  if (!w->crash_cost_remaining && strcmp(p->crash_cost, "none") != 0)
    return err_input("env.crash_cost: '%s' is not one of none|remaining", p->crash_cost);
  w->step_weight =
      p->reward_scale_dt || w->reward_progress || w->reward_geodesic ? DC_DT_S : 1.0;
  w->episode_length = p->episode_length;
  w->cost_limit = p->cost_limit >= 0 ? p->cost_limit : 0.025 * w->n * w->episode_length;
  w->safety_layer = safety;
  w->safety_obstacle_margin = p->safety_obstacle_margin;

  if ((rc = dc_build_slots(w, p->slot_spacing))) return rc;
  if ((rc = dc_add_obstacles(w, target_m, spawn_centre))) return rc;

  double side = fmax(4.0, 1.5 * w->spawn_sep * cbrt((double)w->n));
  for (int a = 0; a < 3; a++) {
    w->spawn_lo[a] = spawn_centre[a] - 0.5 * side;
    w->spawn_hi[a] = spawn_centre[a] + 0.5 * side;
  }
  if (w->spawn_lo[2] < DC_SPAWN_MIN_Z_M) {
    double lift = DC_SPAWN_MIN_Z_M - w->spawn_lo[2];
    w->spawn_lo[2] += lift;
    w->spawn_hi[2] += lift;
  }
  if ((rc = dc_build_fallback(w))) return rc;
  w->obs_dim = DC_SELF_DIM + DC_NEIGHBOUR_DIM * w->k + DC_OBSTACLE_DIM * w->m;
  w->share_dim = DC_SHARE_DIM * w->n;
  if (w->reward_geodesic) return dc_build_geodesic(w);
  return ERR_OK;
}

void dc_world_free(dc_world_t *w) {
  dgeo_free(&w->geo);
}

void dc_fill_spec(const dc_world_t *w, const char *name, int n_info, const char *const *info_names,
                  env_spec_t *spec) {
  memset(spec, 0, sizeof *spec);
  snprintf(spec->name, sizeof spec->name, "%s", name);
  spec->n_agents = w->n;
  for (int i = 0; i < w->n; i++) {
    spec->obs_dim[i] = w->obs_dim;
    spec->act_dim[i] = 3;
  }
  spec->max_obs_dim = w->obs_dim;
  spec->max_act_dim = 3;
  spec->share_obs_dim = w->share_dim;
  spec->act_low = -1.0f;
  spec->act_high = 1.0f;
  spec->episode_length = w->episode_length;
  spec->cost_limit = w->cost_limit;
  spec->n_info = n_info;
  for (int i = 0; i < n_info && i < ENV_MAX_INFO; i++) spec->info_names[i] = info_names[i];
  int reach = (w->k + 1) / 2;  // ceil(K / 2) on each side of the ring
  for (int i = 0; i < w->n; i++)
    for (int j = 0; j < w->n; j++) {
      int gap = abs(i - j);
      if (w->n - gap < gap) gap = w->n - gap;
      spec->adjacency[i][j] = (uint8_t)(i != j && gap <= reach);
    }
}

// ---- spawn --------------------------------------------------------------------------------

static int dc_spawn_ok(const dc_world_t *w, const double *c, const double *pos, int placed) {
  if (!dc_clear_of_obstacles(w, c)) return 0;
  for (int j = 0; j < placed; j++)
    if (dc_dist3(c, pos + 3 * j) < w->spawn_sep) return 0;
  return 1;
}

void dc_assign(int n, const double *cost, int *col_of_row) {
  // Potentials u (rows), v (columns); p[j] = row matched to column j (1-based, 0 = none);
  // column 0 is the virtual start of each augmenting search.
  double u[DC_MAX_DRONES + 1], v[DC_MAX_DRONES + 1], minv[DC_MAX_DRONES + 1];
  int p[DC_MAX_DRONES + 1], way[DC_MAX_DRONES + 1];
  uint8_t used[DC_MAX_DRONES + 1];
  for (int j = 0; j <= n; j++) u[j] = v[j] = 0.0, p[j] = way[j] = 0;
  for (int i = 1; i <= n; i++) {
    p[0] = i;
    int j0 = 0;
    for (int j = 0; j <= n; j++) minv[j] = INFINITY, used[j] = 0;
    do {
      used[j0] = 1;
      int i0 = p[j0], j1 = 0;
      double delta = INFINITY;
      for (int j = 1; j <= n; j++) {
        if (used[j]) continue;
        double cur = cost[(size_t)(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) minv[j] = cur, way[j] = j0;
        if (minv[j] < delta) delta = minv[j], j1 = j;
      }
      for (int j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {  // flip the augmenting path
      int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  for (int j = 1; j <= n; j++) col_of_row[p[j] - 1] = j - 1;
}

// spawn_assignment = matched: reorder pos[n][3] so drone i gets the sampled position the
// least-squared-distance assignment gives slot i.
static void dc_match_spawn(const dc_world_t *w, double *pos) {
  int n = w->n, col_of_row[DC_MAX_DRONES];
  double cost[DC_MAX_DRONES * DC_MAX_DRONES] = {0}, sampled[3 * DC_MAX_DRONES];
  for (int r = 0; r < n; r++)
    for (int c = 0; c < n; c++) {
      double d = dc_dist3(pos + 3 * r, w->slot[c]);
      cost[r * n + c] = d * d;
    }
  dc_assign(n, cost, col_of_row);
  memcpy(sampled, pos, sizeof(double) * 3 * n);
  for (int r = 0; r < n; r++) memcpy(pos + 3 * col_of_row[r], sampled + 3 * r, sizeof(double) * 3);
}

int dc_spawn(const dc_world_t *w, rng_t *rng, double *pos) {
  for (int round = 0; round < DC_SPAWN_ROUNDS; round++) {
    int i = 0;
    for (; i < w->n; i++) {
      int attempt = 0;
      for (; attempt < DC_SPAWN_ATTEMPTS; attempt++) {
        double *c = pos + 3 * i;
        for (int a = 0; a < 3; a++)
          c[a] = w->spawn_lo[a] + (w->spawn_hi[a] - w->spawn_lo[a]) * rng_uniform(rng);
        if (dc_spawn_ok(w, c, pos, i)) break;
      }
      if (attempt == DC_SPAWN_ATTEMPTS) break;
    }
    if (i == w->n) {
      if (w->spawn_matched) dc_match_spawn(w, pos);
      return 0;
    }
  }
  memcpy(pos, w->fallback_spawn, sizeof(double) * 3 * w->n);
  if (w->spawn_matched) dc_match_spawn(w, pos);
  return 1;
}

int dc_spawn_valid(const dc_world_t *w, const double *pos) {
  for (int i = 0; i < w->n; i++) {
    if (pos[3 * i + 2] < DC_SPAWN_MIN_Z_M || !dc_spawn_ok(w, pos + 3 * i, pos, i)) return 0;
  }
  return 1;
}

// ---- crash, reward, cost --------------------------------------------------------------------

int dc_crash_test(const dc_world_t *w, const double *pos, int stride, uint8_t *crashed) {
  const double r = DC_DRONE_RADIUS_M, touch2 = 4.0 * r * r;
  for (int i = 0; i < w->n; i++) {
    const double *p = pos + (size_t)stride * i;
    if (p[2] < DC_CRASH_HEIGHT_M) crashed[i] |= DC_CRASH_FLOOR;
    for (int o = 0; o < w->m; o++) {
      const double *c = w->obstacle[o];
      double dx = p[0] - c[0], dy = p[1] - c[1], dz = p[2] - c[2], rr = c[3] + r;
      if (dx * dx + dy * dy + dz * dz < rr * rr) crashed[i] |= DC_CRASH_OBSTACLE;
    }
    for (int j = i + 1; j < w->n; j++) {
      const double *q = pos + (size_t)stride * j;
      double dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
      if (dx * dx + dy * dy + dz * dz < touch2) {
        crashed[i] |= DC_CRASH_DRONE;
        crashed[j] |= DC_CRASH_DRONE;
      }
    }
  }
  int count = 0;
  for (int i = 0; i < w->n; i++) count += crashed[i] != 0;
  return count;
}

void dc_distances(const dc_world_t *w, const double *pos, dc_scratch_t *sc) {
  int n = w->n;
  for (int i = 0; i < n; i++) {
    sc->dist[i * n + i] = 0.0;
    for (int j = i + 1; j < n; j++)
      sc->dist[i * n + j] = sc->dist[j * n + i] = dc_dist3(pos + 3 * i, pos + 3 * j);
  }
}

int dc_evaluate(const dc_world_t *w, const double *pos, const double *vel, const uint8_t *crashed,
                uint8_t *arrived, dc_scratch_t *sc, env_step_t *out) {
  int n = w->n, n_dd = 0, n_do = 0, arrivals = 0, crashes = 0, all_in = 1;
  int kinds[4] = {0, 0, 0, 0};  // floor, obstacle, drone, tilt
  double team_reward = 0.0, team_cost = 0.0;
  dc_distances(w, pos, sc);
  for (int i = 0; i < n; i++) {
    const double *p = pos + 3 * i;
    double to_slot = dc_dist3(p, w->slot[i]);
    double r = -w->step_weight * to_slot;
    if (w->reward_geodesic) {  // -dt v_i . grad D_i(p_i)
      double g[3];
      dgeo_eval(&w->geo, i, p, g);
      r = -w->step_weight * (vel[3 * i] * g[0] + vel[3 * i + 1] * g[1] + vel[3 * i + 2] * g[2]);
    } else if (w->reward_progress) {  // dt v_i . (slot_i - p_i) / |slot_i - p_i|
      double toward = 0.0;
      for (int a = 0; a < 3 && to_slot > 1e-9; a++)
        toward += vel[3 * i + a] * (w->slot[i][a] - p[a]) / to_slot;
      r = w->step_weight * toward;
    }
    int close = 0, near_obstacle = 0;
    for (int j = 0; j < n; j++) {
      double d = sc->dist[i * n + j];
      if (j != i && d < w->d_min) {
        r -= w->step_weight * DC_PROXIMITY_WEIGHT * (w->d_min - d);
        close = 1;
      }
    }
    for (int o = 0; o < w->m && !near_obstacle; o++)
      near_obstacle = dc_dist3(p, w->obstacle[o]) < w->obstacle[o][3] + w->d_safe;
    int in_slot = to_slot < w->arrival_radius;
    if (in_slot && !arrived[i]) {
      arrived[i] = 1;
      r += DC_ARRIVAL_REWARD;
      arrivals++;
    }
    all_in &= in_slot;
    if (crashed[i]) {
      r += DC_CRASH_REWARD;
      crashes++;
      for (int k = 0; k < 4; k++) kinds[k] += (crashed[i] >> k) & 1;
    }
    n_dd += close;
    n_do += near_obstacle;
    out->costs[i] = (float)(close + near_obstacle);
    team_cost += close + near_obstacle;
    sc->drone_reward[i] = r;
    team_reward += r;
  }
  int success = !crashes && all_in;
  out->reward = (float)team_reward;
  out->team_cost = (float)team_cost;
  out->info[DC_INFO_COST_DD] = (float)n_dd;
  out->info[DC_INFO_COST_DO] = (float)n_do;
  out->info[DC_INFO_ARRIVALS] = (float)arrivals;
  out->info[DC_INFO_CRASHES] = (float)crashes;
  out->info[DC_INFO_SUCCESS] = (float)success;
  for (int k = 0; k < 4; k++) out->info[DC_INFO_CRASH_FLOOR + k] = (float)kinds[k];
  return crashes > 0 || success;
}

void dc_charge_crashes(const dc_world_t *w, const uint8_t *crashed, int steps, env_step_t *out) {
  double total = 0.0;
  int left = w->episode_length - steps + 1;
  if (w->crash_cost_remaining && left > 0)
    for (int i = 0; i < w->n; i++)
      if (crashed[i]) {
        out->costs[i] += (float)left;
        total += left;
      }
  out->team_cost += (float)total;
  out->info[DC_INFO_COST_CRASH] = (float)total;
}

// ---- observations ---------------------------------------------------------------------------

void dc_observe(const dc_world_t *w, const double *pos, const double *vel, const double *up,
                const uint8_t *arrived, const dc_scratch_t *sc, float *obs, int obs_stride,
                float *share) {
  static const double up0[3] = {0.0, 0.0, 1.0};
  int n = w->n, K = w->k;
  for (int i = 0; i < n; i++) {
    const double *p = pos + 3 * i, *v = vel + 3 * i, *u = up ? up + 3 * i : up0;
    float *o = obs + (size_t)i * obs_stride;
    int x = 0;
    for (int a = 0; a < 3; a++) o[x++] = (float)(w->slot[i][a] - p[a]);
    for (int a = 0; a < 3; a++) o[x++] = (float)v[a];
    for (int a = 0; a < 3; a++) o[x++] = (float)u[a];
    o[x++] = (float)p[2];
    o[x++] = (float)arrived[i];
    // K nearest by insertion; a later index replaces an entry only when strictly nearer.
    int best[DC_MAX_DRONES], nb = 0;
    const double *row = sc->dist + (size_t)i * n;
    for (int j = 0; j < n && K > 0; j++) {
      if (j == i || (nb == K && !(row[j] < row[best[K - 1]]))) continue;
      int s = nb < K ? nb++ : K - 1;
      while (s > 0 && row[j] < row[best[s - 1]]) {
        best[s] = best[s - 1];
        s--;
      }
      best[s] = j;
    }
    for (int b = 0; b < nb; b++) {
      const double *q = pos + 3 * best[b], *qv = vel + 3 * best[b];
      for (int a = 0; a < 3; a++) o[x++] = (float)(q[a] - p[a]);
      for (int a = 0; a < 3; a++) o[x++] = (float)(qv[a] - v[a]);
      o[x++] = (float)row[best[b]];
    }
    for (int k = 0; k < w->m; k++) {
      const double *c = w->obstacle[k];
      for (int a = 0; a < 3; a++) o[x++] = (float)(c[a] - p[a]);
      o[x++] = (float)(dc_dist3(p, c) - c[3]);
    }
    for (; x < obs_stride; x++) o[x] = 0.0f;
  }
  for (int i = 0; i < n; i++) {
    const double *p = pos + 3 * i, *v = vel + 3 * i, *u = up ? up + 3 * i : up0;
    float *s = share + (size_t)DC_SHARE_DIM * i;
    for (int a = 0; a < 3; a++) s[a] = (float)(w->slot[i][a] - p[a]);
    for (int a = 0; a < 3; a++) s[3 + a] = (float)p[a];
    for (int a = 0; a < 3; a++) s[6 + a] = (float)v[a];
    for (int a = 0; a < 3; a++) s[9 + a] = (float)u[a];
    s[12] = (float)arrived[i];
  }
}

double dc_clip_action(float a) {
  return a >= -1.0f ? (a <= 1.0f ? (double)a : 1.0) : (a < -1.0f ? -1.0 : 0.0);
}

// ---- safety layer ---------------------------------------------------------------------------

int dc_safety_info_list(const dc_world_t *w, const char *const *base, int n_base,
                        const char **names) {
  int n = 0;
  for (int k = 0; k < n_base; k++) names[n++] = base[k];
  if (w->safety_layer != DC_SAFETY_NONE)
    for (int k = 0; k < DC_N_SAFETY_INFO; k++) names[n++] = dc_safety_info_names[k];
  return n;
}

int dc_safety_create(const dc_world_t *w, dc_safety_t *sf) {
  memset(sf, 0, sizeof *sf);
  if (w->safety_layer == DC_SAFETY_NONE) return ERR_OK;
  return dsafe_create(w->n, &sf->ws);
}

void dc_safety_destroy(dc_safety_t *sf) {
  if (sf->ws) dsafe_destroy(sf->ws);
  sf->ws = NULL;
}

const float *dc_safety_apply(const dc_world_t *w, dc_safety_t *sf, const double *pos,
                             const double *vel, double accel_scale,
                             const dsafe_velocity_model_t *vm, const float *actions) {
  int n = w->n;
  int with_obstacles = w->safety_obstacle_margin >= 0 && w->m > 0;
  dsafe_limits_t lim = {w->d_min, with_obstacles ? w->m : 0,
                        with_obstacles ? &w->obstacle[0][0] : NULL,
                        with_obstacles ? w->safety_obstacle_margin : 0.0};
  dsafe_result_t res;
  int rc = vm ? dsafe_project_conservative(sf->ws, n, pos, vel, vm, &lim, actions, sf->u, &res)
              : dsafe_project(sf->ws, n, pos, vel, accel_scale, &lim, actions, sf->u, &res);
  // Statistics on the executed (clipped) commands, with a tolerance so that a float rounding
  // of the QP's answer does not count as an intervention.
  int changed = 0;
  double change = 0.0;
  for (int i = 0; i < n; i++) {
    double d2 = 0.0;
    for (int a = 0; a < 3; a++) {
      double d = dc_clip_action(sf->u[3 * i + a]) - dc_clip_action(actions[3 * i + a]);
      d2 += d * d;
    }
    double d = sqrt(d2);
    if (d > DC_SAFETY_TOL) {
      changed++;
      change += d;
    }
  }
  sf->info[DC_SAFETY_INFO_INTERVENTIONS] = (float)changed;
  sf->info[DC_SAFETY_INFO_CHANGE] = (float)change;
  sf->info[DC_SAFETY_INFO_STEPS] = (float)(changed > 0);
  sf->info[DC_SAFETY_INFO_INFEASIBLE] = (float)(rc != 0 || res.infeasible || !res.safe);
  return sf->u;
}
