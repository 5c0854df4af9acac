// drone_geodesic (prefix dgeo_): the distance to a goal around static spheres, for the drone
// envs' `reward: geodesic` (drone_common.h). A run's world is fixed, so the distance field of
// each goal is computed once: Dijkstra on a regular grid (98 moves within two cells, edge length
// times the mean weight of its two end cells), seeded at the goal's voxel corners with their straight-line
// distance. Cell weights make the field a navigation function that goes around the spheres'
// cost zones instead of through them: 1 in free space, DGEO_ZONE_WEIGHT inside r_k + margin of
// an obstacle (its cost zone), DGEO_SOLID_WEIGHT inside the sphere itself and under the floor
// clearance. Weights rather than walls keep the distance finite everywhere (a goal or a
// start inside a zone, a region closed by merged zones). Queries interpolate trilinearly; a
// point outside the grid adds its straight-line distance to the grid (clamped point).
// The field is a potential, so a reward built from it (drone_common: -dt v . grad D) is
// potential-based shaping (Ng, Harada and Russell 1999): it sums along any path to the drop in
// D and cannot be farmed by circling.
#ifndef SAFEMARL_DRONE_GEODESIC_H
#define SAFEMARL_DRONE_GEODESIC_H

#define DGEO_ZONE_WEIGHT 5.0
#define DGEO_SOLID_WEIGHT 50.0

typedef struct {
  int n_goals, nx, ny, nz;
  double lo[3], h;
  float *dist;  // [n_goals][nz][ny][nx], malloc'd
} dgeo_field_t;

// Fields for goals[n_goals][3] over the box [lo, hi] (cells of side h) around obstacles
// obstacle[m] = (centre, radius) with cost zones of radius r + zone_margin, and a floor
// clearance: cells below floor_z weigh DGEO_SOLID_WEIGHT. Returns 0, or ERR_INPUT when the
// box is degenerate or too large (more than 4M cells per goal), or ERR_FAIL (memory).
int dgeo_build(dgeo_field_t *f, const double (*goals)[3], int n_goals, const double (*obstacle)[4],
               int m, double zone_margin, double floor_z, const double *lo, const double *hi,
               double h);
void dgeo_free(dgeo_field_t *f);
// Distance to goal g at p; grad (may be NULL) receives its gradient in p.
double dgeo_eval(const dgeo_field_t *f, int g, const double *p, double *grad);
#endif
