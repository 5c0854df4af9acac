// test_drone_geodesic: the grid distance fields.
// * free space: the field is the straight-line distance to within the grid's metric error
//   (checked at 4%), within half a cell at the goal, and its gradient is the unit vector away
//   from the goal (angle < 20 deg: near the grid axes a graph distance grows like
//   |dx| + (sqrt 5 - 2)|dy|, a ridge of up to 19 deg that only an eikonal solver removes);
// * one sphere on the line: the distance behind it exceeds the straight line by the detour
//   around its zone (a lower bound computed by hand), and the gradient in front of the sphere
//   points around it, not through it;
// * outside the box: the distance adds the straight-line excess, the gradient points out;
// * a non-finite query gives NaN without undefined behaviour; a degenerate box is refused.
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "envs/drone_geodesic.h"
#include "tests/check.h"

static double norm3(const double *a) {
  return sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
}

static void test_free_space(void) {
  double goal[1][3] = {{5.2, 4.9, 5.1}}, lo[3] = {0, 0, 0}, hi[3] = {10, 10, 10};
  dgeo_field_t f;
  CHECK(dgeo_build(&f, (const double(*)[3])goal, 1, NULL, 0, 2.0, -1.0, lo, hi, 0.5) == 0,
        "build: %s", err_message());
  CHECK(f.nx == 21 && f.ny == 21 && f.nz == 21, "21^3 cells (%d %d %d)", f.nx, f.ny, f.nz);
  CHECK(dgeo_eval(&f, 0, goal[0], NULL) < 0.5, "within half a cell at the goal (%g)", dgeo_eval(&f, 0, goal[0], NULL));
  double worst = 0.0, worst_angle = 0.0;
  double pts[][3] = {{0.3, 0.2, 0.4}, {9.7, 1.1, 5.0}, {2.0, 8.5, 9.0}, {5.0, 5.0, 0.5},
                     {8.0, 8.0, 8.0}, {1.0, 5.0, 5.0}};
  for (int k = 0; k < 6; k++) {
    double g[3], d = dgeo_eval(&f, 0, pts[k], g), away[3];
    for (int a = 0; a < 3; a++) away[a] = pts[k][a] - goal[0][a];
    double e = norm3(away);
    worst = fmax(worst, fabs(d - e) / e);
    double c = (g[0] * away[0] + g[1] * away[1] + g[2] * away[2]) / (norm3(g) * e);
    worst_angle = fmax(worst_angle, acos(fmin(1.0, c)) * 180.0 / 3.14159265358979);
  }
  CHECK(worst < 0.04, "straight-line distance to 4%% (worst %.3f)", worst);
  CHECK(worst_angle < 20.0, "gradient away from the goal (worst %.1f deg)", worst_angle);
  // Outside the box: + the excess, gradient out of the box.
  double in[3] = {10, 5, 5}, out[3] = {13, 5, 5}, g[3];
  double d_in = dgeo_eval(&f, 0, in, NULL), d_out = dgeo_eval(&f, 0, out, g);
  CHECK(fabs(d_out - d_in - 3.0) < 1e-9 && g[0] == 1.0, "outside: +3 m, gradient +x (%g, %g)",
        d_out - d_in, g[0]);
  double bad[3] = {NAN, 5, 5};
  CHECK(isnan(dgeo_eval(&f, 0, bad, g)), "a non-finite position gives NaN (and no UB)");
  dgeo_free(&f);
  dgeo_free(&f);  // a second free is harmless
}

static void test_sphere(void) {
  // Goal at x = 12, a sphere of radius 1 (zone 3) at x = 6 on the line y = z = 6.
  double goal[1][3] = {{12, 6, 6}}, obs[1][4] = {{6, 6, 6, 1}}, lo[3] = {0, 0, 0},
         hi[3] = {14, 12, 12};
  dgeo_field_t f;
  CHECK(dgeo_build(&f, (const double(*)[3])goal, 1, (const double(*)[4])obs, 1, 2.0, 0.5, lo, hi,
                   0.5) == 0,
        "build: %s", err_message());
  double start[3] = {0.5, 6, 6}, g[3];
  double d = dgeo_eval(&f, 0, start, NULL);
  // Around a zone of radius 3 centred 5.5 m from the start and 6 m from the goal: the shortest
  // path outside it is two tangents and an arc, longer than the 11.5 m straight line by > 1.5 m.
  CHECK(d > 11.5 + 1.5 && d < 11.5 * 1.3, "detour around the zone: %.2f m (straight 11.5)", d);
  // In front of the zone, moving down the field must leave the line (some y or z component).
  double front[3] = {2.5, 6.2, 6.1};
  dgeo_eval(&f, 0, front, g);
  double side = sqrt(g[1] * g[1] + g[2] * g[2]);
  CHECK(side > 0.3 * norm3(g), "gradient in front of the zone points around it (%.2f %.2f %.2f)",
        g[0], g[1], g[2]);
  // Without the sphere the same start is the straight line.
  dgeo_free(&f);
  CHECK(dgeo_build(&f, (const double(*)[3])goal, 1, NULL, 0, 2.0, 0.5, lo, hi, 0.5) == 0, "free");
  CHECK(fabs(dgeo_eval(&f, 0, start, NULL) - 11.5) < 0.5, "free: straight line");
  dgeo_free(&f);
}

static void test_refused(void) {
  double goal[1][3] = {{0, 0, 0}}, lo[3] = {0, 0, 0}, hi[3] = {1, 0, 1};
  dgeo_field_t f;
  CHECK(dgeo_build(&f, (const double(*)[3])goal, 1, NULL, 0, 1.0, 0.0, lo, hi, 0.5) == ERR_INPUT,
        "empty box refused");
  double big[3] = {1000, 1000, 1000};
  CHECK(dgeo_build(&f, (const double(*)[3])goal, 1, NULL, 0, 1.0, 0.0, lo, big, 0.5) == ERR_INPUT &&
            strstr(err_message(), "too large"),
        "huge box refused: %s", err_message());
}

int main(void) {
  test_free_space();
  test_sphere();
  test_refused();
  return check_report("test_drone_geodesic");
}
