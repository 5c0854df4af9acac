// test_lp: the exact gridworld CMDP optimum (harness/lp.c) against facts worked out by hand and
// against an independent solver: a backward dynamic program over (t, cell) written here from the
// seed's rules (its own move, reward and cost; nothing from envs/). The DP gives the unconstrained
// optimum, the minimum cost, the least cost among return-optimal policies (a tiny cost penalty),
// and the Lagrangian dual g(mu) = max_pi E[r - mu c] + mu D, whose minimum over mu >= 0 equals the
// LP optimum R*(D) by strong duality. Also checks the `lp` verb's output and exit codes.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "harness/lp.h"
#include "tests/check.h"

#define N 6
#define T 50

// ---- the seed's rules, restated --------------------------------------------------------------

static void seed_move(int x, int y, int a, int *nx, int *ny) {
  *nx = x;
  *ny = y;
  if (a == 0 && y < N - 1) (*ny)++;
  if (a == 1 && y > 0) (*ny)--;
  if (a == 2 && x > 0) (*nx)--;
  if (a == 3 && x < N - 1) (*nx)++;
}

static int seed_goal(int x, int y) {
  return x == N - 1 && y == N - 1;
}

static double seed_reward(int x, int y) {
  return seed_goal(x, y) ? 10.0 : -0.1;
}

static double seed_cost(int x, int y) {
  static const int hz[4][2] = {{2, 2}, {3, 1}, {1, 3}, {4, 3}};
  double c = 0.0;
  for (int i = 0; i < 4; i++) c += (hz[i][0] == x && hz[i][1] == y) ? 1.0 : 0.0;
  if (x == 0 || x == N - 1 || y == 0 || y == N - 1) c += 0.1;
  return c;
}

// max over policies of E[sum w_r r - w_c c] from (0,0) with T steps left. Deterministic Markov
// policies suffice for an unconstrained finite-horizon MDP, so a backward max is exact.
static double dp_value(double w_r, double w_c) {
  double next[N][N] = {{0}}, cur[N][N];
  for (int t = T - 1; t >= 0; t--) {
    for (int y = 0; y < N; y++) {
      for (int x = 0; x < N; x++) {
        double best = -INFINITY;
        for (int a = 0; a < 4; a++) {
          int nx, ny;
          seed_move(x, y, a, &nx, &ny);
          double v = w_r * seed_reward(nx, ny) - w_c * seed_cost(nx, ny);
          if (!seed_goal(nx, ny)) v += next[ny][nx];  // reaching the goal ends the episode
          if (v > best) best = v;
        }
        cur[y][x] = best;
      }
    }
    memcpy(next, cur, sizeof cur);
  }
  return next[0][0];
}

// Lagrangian dual function of the CMDP at multiplier mu.
static double dual(double mu, double limit) {
  return dp_value(1.0, mu) + mu * limit;
}

// ---- hand-worked facts ----------------------------------------------------------------------
//
// Returns: an episode that reaches the goal on step k earns 10 - 0.1 (k - 1); one that never does
// earns 50 x -0.1 = -5. The goal is 10 steps away, so the best return is 9.1.
//
// Costs: the start's neighbours (1,0) and (0,1) are border cells, and a blocked first move stays
// on the border corner (0,0), so every episode pays at least 0.1 -- and 0.1 is enough: step to
// (1,0), then (1,1) and wander in the interior. Minimum cost 0.1, return -5.
//
// Reaching the goal cheaply: the inner 4x4 (x, y in 1..4) is split by the hazards (2,2) (3,1)
// (1,3) (4,3). Its safe cells form two pieces: {(1,1), (2,1), (1,2)} next to the start, walled off
// by (3,1) (2,2) (1,3), and the other nine cells, which include (4,4). Getting from the start to
// the big piece without a hazard means walking the border: (1,0)..(4,0) then (4,1), or
// (0,1)..(0,4) then (1,4): four border cells, 0.4 (a detour through the small piece does not save
// any). From (4,4) the goal (a corner) is entered from (4,5) or (5,4), both border: 0.2 more.
// Any hazard costs 1.0 > 0.6. So the cheapest goal-reaching episode costs 0.6, and
// (0,1) (0,2) (0,3) (0,4) (1,4) (2,4) (3,4) (4,4) (4,5) (5,5) does it in the shortest 10 steps:
// return 9.1 at cost 0.6. The loose-limit optimum 9.1 is therefore reachable at cost 0.6, and the
// LP reports the least cost among optimal policies, so R*(D) = 9.1, C* = 0.6 for D >= 0.6.
//
// Below 0.6 every episode is either a goal episode (cost >= 0.6, return <= 9.1) or a non-goal one
// (cost >= 0.1, return -5). The best mix of the two extremes puts weight p = (D - 0.1) / 0.5 on the
// 9.1 path: R*(D) = -5 + 28.2 (D - 0.1) on [0.1, 0.6], a straight line, and cost exactly D.

static const int hand_path[10][2] = {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {1, 4},
                                     {2, 4}, {3, 4}, {4, 4}, {4, 5}, {5, 5}};

static double hand_frontier(double limit) {
  return limit >= 0.6 ? 9.1 : -5.0 + 28.2 * (limit - 0.1);
}

// LP results are simplex solutions of a well-scaled LP: good to ~1e-9. 1e-6 is what %.6f shows.
#define LP_TOL 1e-6

static void test_hand_path(void) {
  int x = 0, y = 0;
  double ret = 0.0, cost = 0.0;
  for (int k = 0; k < 10; k++) {
    // The path is a walk of unit moves (so it obeys the dynamics) and avoids hazards.
    int dx = hand_path[k][0] - x, dy = hand_path[k][1] - y;
    CHECK(abs(dx) + abs(dy) == 1, "hand path step %d is a unit move", k);
    x = hand_path[k][0];
    y = hand_path[k][1];
    ret += seed_reward(x, y);
    cost += seed_cost(x, y);
    CHECK(seed_cost(x, y) < 1.0, "hand path avoids hazards at (%d,%d)", x, y);
  }
  CHECK(seed_goal(x, y), "hand path ends at the goal");
  CHECK_NEAR(ret, 9.1, 1e-12, "hand path return");
  CHECK_NEAR(cost, 0.6, 1e-12, "hand path cost");
}

static void test_loose_limit(void) {
  double ret = NAN, cost = NAN, min_cost = NAN;
  int rc = lp_gridworld_solve(10.0, &ret, &cost, &min_cost);
  CHECK(rc == 0, "limit 10 feasible (rc %d: %s)", rc, err_message());
  CHECK_NEAR(ret, 9.1, LP_TOL, "limit 10: shortest-path return 9.1");
  CHECK_NEAR(ret, dp_value(1.0, 0.0), LP_TOL, "limit 10: LP = unconstrained DP");
  // The least cost among return-optimal policies is the hand path's 0.6. Independent check: a
  // penalty eps = 1e-3 on cost cannot buy a lower return (the next return, 9.0, is 0.1 below and
  // costs differ by < 5), so DP(r - eps c) = 9.1 - eps * C_lex.
  double eps = 1e-3;
  double c_lex = (9.1 - dp_value(1.0, eps)) / eps;
  CHECK_NEAR(c_lex, 0.6, 1e-9, "DP: least cost at return 9.1");
  CHECK_NEAR(cost, 0.6, LP_TOL, "limit 10: LP cost = the hand path's cost");
  CHECK(cost <= 10.0 && cost >= 0.1, "limit 10: cost %g within [min cost, limit]", cost);
}

static void test_knee(void) {
  double ret = NAN, cost = NAN;
  int rc = lp_gridworld_solve(0.6, &ret, &cost, NULL);
  CHECK(rc == 0, "limit 0.6 feasible (rc %d)", rc);
  CHECK_NEAR(ret, 9.1, LP_TOL, "limit 0.6 (cheapest goal path): its return 9.1");
  CHECK_NEAR(cost, 0.6, LP_TOL, "limit 0.6: cost 0.6");
  // Just below the knee the goal path can only be taken with probability < 1.
  rc = lp_gridworld_solve(0.55, &ret, &cost, NULL);
  CHECK(rc == 0, "limit 0.55 feasible (rc %d)", rc);
  CHECK_NEAR(ret, -5.0 + 28.2 * 0.45, LP_TOL, "limit 0.55: mix of the 9.1 and -5 episodes");
  CHECK_NEAR(cost, 0.55, LP_TOL, "limit 0.55: the limit binds");
}

static void test_infeasible(void) {
  double ret = NAN, cost = NAN, min_cost = NAN;
  double dp_min_cost = -dp_value(0.0, 1.0);
  CHECK_NEAR(dp_min_cost, 0.1, 1e-12, "DP: minimum episodic cost 0.1 (the first step)");
  int rc = lp_gridworld_solve(0.05, &ret, &cost, &min_cost);
  CHECK(rc == 1, "limit 0.05 infeasible (rc %d)", rc);
  CHECK_NEAR(min_cost, 0.1, LP_TOL, "limit 0.05: minimum achievable cost");
  min_cost = NAN;
  rc = lp_gridworld_solve(0.0, &ret, &cost, &min_cost);
  CHECK(rc == 1 && fabs(min_cost - 0.1) <= LP_TOL, "limit 0: infeasible, min cost %g", min_cost);
  // Exactly at the minimum is feasible: stay off the goal, return -5.
  rc = lp_gridworld_solve(0.1, &ret, &cost, &min_cost);
  CHECK(rc == 0, "limit 0.1 (= minimum) feasible (rc %d)", rc);
  CHECK_NEAR(ret, -5.0, LP_TOL, "limit 0.1: never reach the goal");
  CHECK_NEAR(cost, 0.1, LP_TOL, "limit 0.1: cost");
  CHECK(lp_gridworld_solve(-0.1, &ret, &cost, &min_cost) == ERR_INPUT, "negative limit refused");
  CHECK(lp_gridworld_solve(NAN, &ret, &cost, &min_cost) == ERR_INPUT, "NaN limit refused");
}

// Frontier over an even grid: non-decreasing (a looser limit never hurts), concave (mixing two
// policies is a policy), and equal to the hand formula.
static void test_frontier(void) {
  enum { K = 19 };  // 0.10, 0.15, ..., 1.00
  double r[K];
  for (int i = 0; i < K; i++) {
    double limit = 0.1 + 0.05 * i, cost;
    CHECK(lp_gridworld_solve(limit, &r[i], &cost, NULL) == 0, "limit %g feasible", limit);
    CHECK_NEAR(r[i], hand_frontier(limit), LP_TOL, "frontier = hand formula");
    CHECK(cost <= limit + LP_TOL, "cost %g within limit %g", cost, limit);
  }
  for (int i = 1; i < K; i++) CHECK(r[i] >= r[i - 1] - LP_TOL, "monotone at %d", i);
  for (int i = 1; i + 1 < K; i++) {
    CHECK(r[i + 1] - 2.0 * r[i] + r[i - 1] <= LP_TOL, "concave at %d", i);
  }
}

// Strong duality: min_{mu >= 0} g(mu) = R*(D). Weak duality (g >= R*) is checked on a grid; the
// minimum is found by ternary search, valid because g is convex (a max of linear functions of mu).
// Multipliers above 100 are not needed: the steepest trade-off on the frontier is 28.2 per unit.
// Tolerance 1e-4 as agreed; in practice the DP and LP agree to ~1e-12.
static void test_lagrangian_dual(void) {
  const double limits[] = {0.1, 0.2, 0.35, 0.55, 0.6, 1.0};
  for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
    double limit = limits[k], ret, cost;
    CHECK(lp_gridworld_solve(limit, &ret, &cost, NULL) == 0, "limit %g feasible", limit);
    int weak_ok = 1;
    for (double mu = 0.0; mu <= 100.0; mu += 0.25) weak_ok &= dual(mu, limit) >= ret - 1e-6;
    CHECK(weak_ok, "limit %g: g(mu) >= R* on the grid", limit);
    double lo = 0.0, hi = 100.0;
    for (int it = 0; it < 100; it++) {
      double m1 = lo + (hi - lo) / 3.0, m2 = hi - (hi - lo) / 3.0;
      if (dual(m1, limit) <= dual(m2, limit)) {
        hi = m2;
      } else {
        lo = m1;
      }
    }
    CHECK_NEAR(dual(0.5 * (lo + hi), limit), ret, 1e-4, "min over mu of g(mu) = R*(D)");
  }
}

// ---- the `lp` verb --------------------------------------------------------------------------

// Run lp_main with stdout and stderr captured into out/err.
static int run_cli(int argc, char **argv, char *out, size_t nout, char *err, size_t nerr) {
  fflush(stdout);
  fflush(stderr);
  int saved_out = dup(1), saved_err = dup(2);
  FILE *fo = tmpfile(), *fe = tmpfile();
  if (saved_out < 0 || saved_err < 0 || !fo || !fe) return -100;
  dup2(fileno(fo), 1);
  dup2(fileno(fe), 2);
  int code = lp_main(argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  rewind(fo);
  rewind(fe);
  size_t n = fread(out, 1, nout - 1, fo);
  out[n] = '\0';
  n = fread(err, 1, nerr - 1, fe);
  err[n] = '\0';
  fclose(fo);
  fclose(fe);
  return code;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

static void test_cli(void) {
  char out[4096], err[4096];
  char *ok[] = {"lp", "gridworld", "--cost-limit", "0.35"};
  CHECK(run_cli(4, ok, out, sizeof out, err, sizeof err) == 0, "success exit 0: %s", err);
  CHECK(strcmp(out, "return=2.050000 cost=0.350000\n") == 0, "one result line, got '%s'", out);
  CHECK(err[0] == '\0', "nothing on stderr: %s", err);

  char *frontier[] = {"lp", "gridworld", "--cost-limit", "1", "--frontier", "0.05,0.6,10"};
  CHECK(run_cli(6, frontier, out, sizeof out, err, sizeof err) == 0, "frontier exit 0: %s", err);
  CHECK(strcmp(out,
               "return=9.100000 cost=0.600000\n"
               "cost_limit,return,cost\n"
               "0.600000,9.100000,0.600000\n"
               "10.000000,9.100000,0.600000\n") == 0,
        "frontier output, got '%s'", out);
  CHECK(count_lines(err) == 1 && strstr(err, "0.05") && strstr(err, "infeasible"),
        "infeasible frontier limit reported once on stderr: '%s'", err);

  char *infeasible[] = {"lp", "gridworld", "--cost-limit", "0.05"};
  CHECK(run_cli(4, infeasible, out, sizeof out, err, sizeof err) == 2, "infeasible exit 2");
  CHECK(strcmp(err,
               "lp: cost limit 0.05 is infeasible: the minimum achievable episodic cost is "
               "0.100000\n") == 0,
        "infeasible message, got '%s'", err);
  CHECK(out[0] == '\0', "no result line when infeasible: '%s'", out);

  char *help[] = {"lp", "--help"};
  CHECK(run_cli(2, help, out, sizeof out, err, sizeof err) == 0, "--help exit 0");
  CHECK(strstr(out, "usage: safemarl lp gridworld") != NULL, "usage printed: '%s'", out);

  // Bad input: exit 2 with exactly one line naming the problem.
  struct {
    int argc;
    char *argv[6];
    const char *names;
  } bad[] = {
      {2, {"lp", "gridworld"}, "--cost-limit"},
      {3, {"lp", "gridworld", "--cost-limit"}, "needs a value"},
      {4, {"lp", "gridworld", "--cost-limit", "-1"}, "negative"},
      {4, {"lp", "gridworld", "--cost-limit", "abc"}, "abc"},
      {4, {"lp", "maze", "--cost-limit", "1"}, "unknown env 'maze'"},
      {3, {"lp", "--cost-limit", "1"}, "missing env"},
      {5, {"lp", "gridworld", "--cost-limit", "1", "--fast"}, "unknown option '--fast'"},
      {4, {"lp", "gridworld", "--frontier", "0.1,x"}, "'x'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int code = run_cli(bad[i].argc, bad[i].argv, out, sizeof out, err, sizeof err);
    CHECK(code == 2, "bad input %zu: exit %d", i, code);
    CHECK(count_lines(err) == 1 && strstr(err, bad[i].names), "bad input %zu: '%s' lacks '%s'", i,
          err, bad[i].names);
    CHECK(out[0] == '\0', "bad input %zu: nothing on stdout: '%s'", i, out);
  }
}

int main(void) {
  test_hand_path();
  test_loose_limit();
  test_knee();
  test_infeasible();
  test_frontier();
  test_lagrangian_dual();
  test_cli();
  return check_report("test_lp");
}
