// lp: exact optimum of the gridworld CMDP (50 steps, undiscounted) as an occupancy-measure LP
// (Altman, "Constrained Markov Decision Processes", 1999, ch. 3), solved with GLPK's simplex.
// Variables x_t(s,a) >= 0: probability of being in non-goal cell s at step t and taking a.
// Flow: sum_a x_0(s,a) = 1[s = start]; sum_a x_t(s',a) = sum_{move(s,a)=s'} x_{t-1}(s,a) for
// t >= 1 and every non-goal s' (reaching the goal ends the episode, so its mass leaves the LP).
// Maximise sum x r(move(s,a)) subject to sum x c(move(s,a)) <= D. The dynamics come from
// envs/gridworld.h, so the LP and the env cannot drift apart. This file owns the LP and the `lp`
// verb; it does not know about learning.
#include "harness/lp.h"

#include <glpk.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "envs/gridworld.h"

#define LP_T GRIDWORLD_HORIZON
#define LP_NA GRIDWORLD_N_ACTIONS
#define LP_NS (GRIDWORLD_N_CELLS - 1)  // every cell but the goal

// The model's fixed tables: for each non-goal state and action, where it leads and what it pays.
typedef struct {
  int cell_of_state[LP_NS];
  int state_of_cell[GRIDWORLD_N_CELLS];  // -1 for the goal
  int next_state[LP_NS][LP_NA];          // -1 when the move enters the goal
  double reward[LP_NS][LP_NA];
  double cost[LP_NS][LP_NA];
} lp_tables_t;

typedef struct {
  glp_prob *lp;
  lp_tables_t tab;
  int cost_row, return_row;
} lp_model_t;

// The env speaks float (env_step_t); the seed's constants are decimals (-0.1, 0.1, 1, 10).
// Rounding to the nearest 1e-6 recovers the decimal (float error at |v| <= 10 is < 5e-7), so a
// limit typed as 0.6 meets the cost of six border cells exactly rather than 1e-8 below it.
static double lp_decimal(float v) {
  return round((double)v * 1e6) / 1e6;
}

static void lp_tables(lp_tables_t *tab) {
  int s = 0;
  for (int y = 0; y < GRIDWORLD_SIZE; y++) {
    for (int x = 0; x < GRIDWORLD_SIZE; x++) {
      int cell = GRIDWORLD_CELL(x, y);
      tab->state_of_cell[cell] = gridworld_is_goal(x, y) ? -1 : s;
      if (!gridworld_is_goal(x, y)) tab->cell_of_state[s++] = cell;
    }
  }
  for (s = 0; s < LP_NS; s++) {
    int x = tab->cell_of_state[s] % GRIDWORLD_SIZE, y = tab->cell_of_state[s] / GRIDWORLD_SIZE;
    for (int a = 0; a < LP_NA; a++) {
      int nx, ny;
      gridworld_move(x, y, a, &nx, &ny);
      tab->next_state[s][a] = tab->state_of_cell[GRIDWORLD_CELL(nx, ny)];
      tab->reward[s][a] = lp_decimal(gridworld_reward(nx, ny));
      tab->cost[s][a] = lp_decimal(gridworld_cost(nx, ny));
    }
  }
}

static int lp_col(int t, int s, int a) {
  return 1 + (t * LP_NS + s) * LP_NA + a;
}

static int lp_flow_row(int t, int s) {
  return 1 + t * LP_NS + s;
}

static void lp_entry(int *ia, int *ja, double *ar, int *nz, int row, int col, double value) {
  ++*nz;
  ia[*nz] = row;
  ja[*nz] = col;
  ar[*nz] = value;
}

// Rows: the flow equalities, then the cost row and a return row (both bounded by the caller).
static int lp_build(lp_model_t *m) {
  lp_tables(&m->tab);
  const lp_tables_t *tab = &m->tab;
  int n_flow = LP_T * LP_NS, n_cols = LP_T * LP_NS * LP_NA;
  m->cost_row = n_flow + 1;
  m->return_row = n_flow + 2;

  m->lp = glp_create_prob();
  glp_add_rows(m->lp, n_flow + 2);
  glp_add_cols(m->lp, n_cols);
  int start = tab->state_of_cell[GRIDWORLD_CELL(GRIDWORLD_START_X, GRIDWORLD_START_Y)];
  for (int t = 0; t < LP_T; t++) {
    for (int s = 0; s < LP_NS; s++) {
      double rhs = (t == 0 && s == start) ? 1.0 : 0.0;
      glp_set_row_bnds(m->lp, lp_flow_row(t, s), GLP_FX, rhs, rhs);
    }
  }
  glp_set_row_bnds(m->lp, m->cost_row, GLP_FR, 0.0, 0.0);
  glp_set_row_bnds(m->lp, m->return_row, GLP_FR, 0.0, 0.0);

  // Each column has at most 4 entries: its own flow row, the next step's flow row, cost, return.
  // GLPK's arrays are 1-based, hence the +1.
  size_t cap = 4 * (size_t)n_cols + 1;
  int *ia = err_calloc(cap, sizeof *ia), *ja = err_calloc(cap, sizeof *ja);
  double *ar = err_calloc(cap, sizeof *ar);
  if (!ia || !ja || !ar) {
    free(ia);
    free(ja);
    free(ar);
    glp_delete_prob(m->lp);
    m->lp = NULL;
    return ERR_FAIL;
  }
  int nz = 0;
  for (int t = 0; t < LP_T; t++) {
    for (int s = 0; s < LP_NS; s++) {
      for (int a = 0; a < LP_NA; a++) {
        int j = lp_col(t, s, a), next = tab->next_state[s][a];
        glp_set_col_bnds(m->lp, j, GLP_LO, 0.0, 0.0);
        lp_entry(ia, ja, ar, &nz, lp_flow_row(t, s), j, 1.0);
        // Inflow to step t+1; the last step's successor is past the time limit.
        if (t + 1 < LP_T && next >= 0) lp_entry(ia, ja, ar, &nz, lp_flow_row(t + 1, next), j, -1.0);
        if (tab->cost[s][a] != 0.0) lp_entry(ia, ja, ar, &nz, m->cost_row, j, tab->cost[s][a]);
        if (tab->reward[s][a] != 0.0)
          lp_entry(ia, ja, ar, &nz, m->return_row, j, tab->reward[s][a]);
      }
    }
  }
  glp_load_matrix(m->lp, nz, ia, ja, ar);
  free(ia);
  free(ja);
  free(ar);
  return ERR_OK;
}

// Objective: the expected return (maximise) or the expected cost (minimise).
static void lp_objective(lp_model_t *m, int maximise_return) {
  glp_set_obj_dir(m->lp, maximise_return ? GLP_MAX : GLP_MIN);
  for (int t = 0; t < LP_T; t++) {
    for (int s = 0; s < LP_NS; s++) {
      for (int a = 0; a < LP_NA; a++) {
        double coef = maximise_return ? m->tab.reward[s][a] : m->tab.cost[s][a];
        glp_set_obj_coef(m->lp, lp_col(t, s, a), coef);
      }
    }
  }
}

// 0 optimal, 1 infeasible, ERR_FAIL otherwise. Cold solves use the presolver; with it on, GLPK
// reports infeasibility either as GLP_ENOPFS (found by the presolver) or as status GLP_NOFEAS.
// A warm solve starts from the current (optimal) basis, which the presolver would discard.
static int lp_run(lp_model_t *m, const char *what, int warm) {
  glp_smcp parm;
  glp_init_smcp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  parm.presolve = warm ? GLP_OFF : GLP_ON;
  int rc = glp_simplex(m->lp, &parm);
  if (rc == GLP_ENOPFS) return 1;
  if (rc != 0)
    return err_fail("lp: GLPK simplex failed on the %s LP (glp_simplex code %d)", what, rc);
  int status = glp_get_status(m->lp);
  if (status == GLP_OPT) return 0;
  if (status == GLP_NOFEAS) return 1;
  return err_fail("lp: the %s LP ended with GLPK status %d, not an optimum", what, status);
}

// Stage 1 maximises the return under the limit. The optimum is rarely unique (with a loose limit
// every shortest path is optimal, whatever border and hazard cells it crosses), so stage 2 keeps
// the return at its optimum and minimises the cost: the reported cost is then a property of the
// problem, not of the simplex's pivoting. The return row is relaxed by GLPK's own feasibility scale
// (1e-7 relative) so stage 2 is never infeasible by rounding; that moves the cost by < 1e-7.
static int lp_solve_model(lp_model_t *m, double cost_limit, double *ret, double *cost,
                          double *min_cost) {
  glp_set_row_bnds(m->lp, m->cost_row, GLP_UP, 0.0, cost_limit);
  lp_objective(m, 1);
  int rc = lp_run(m, "maximum-return", 0);
  if (rc < 0) return rc;
  if (rc == 1) {
    glp_set_row_bnds(m->lp, m->cost_row, GLP_FR, 0.0, 0.0);
    lp_objective(m, 0);
    int rc2 = lp_run(m, "minimum-cost", 0);
    if (rc2 < 0) return rc2;
    // Without the cost row the flow LP always has a solution: any policy gives one.
    if (rc2 == 1) return err_fail("lp: the minimum-cost LP is infeasible; the model is broken");
    if (min_cost) *min_cost = glp_get_obj_val(m->lp);
    return 1;
  }
  double best = glp_get_obj_val(m->lp);
  glp_set_row_bnds(m->lp, m->return_row, GLP_LO, best - 1e-7 * (1.0 + fabs(best)), 0.0);
  lp_objective(m, 0);
  rc = lp_run(m, "minimum-cost-at-optimal-return", 1);
  if (rc < 0) return rc;
  if (rc == 1) return err_fail("lp: no solution keeps the optimal return %.9g", best);
  *ret = best;
  *cost = glp_get_obj_val(m->lp);
  return 0;
}

int lp_gridworld_solve(double cost_limit, double *ret, double *cost, double *min_cost) {
  if (!(cost_limit >= 0.0) || isinf(cost_limit)) {
    return err_input("lp: cost limit %g must be a finite number >= 0", cost_limit);
  }
  int old_term = glp_term_out(GLP_OFF);
  lp_model_t m = {0};
  int rc = lp_build(&m);
  if (rc == ERR_OK) rc = lp_solve_model(&m, cost_limit, ret, cost, min_cost);
  if (m.lp) glp_delete_prob(m.lp);
  glp_term_out(old_term);
  return rc;
}

// ---- the `lp` verb ------------------------------------------------------------------------

static void lp_usage(FILE *f) {
  fprintf(f,
          "usage: safemarl lp gridworld --cost-limit D [--frontier D1,D2,...]\n"
          "Exact optimum of the gridworld CMDP (50 steps, undiscounted) by linear programming.\n"
          "  --cost-limit D        limit on the expected episodic cost; prints\n"
          "                        return=R cost=C (C: the least cost among optimal policies)\n"
          "  --frontier D1,D2,...  also print a CSV cost_limit,return,cost with one row per\n"
          "                        feasible limit; an infeasible limit is reported on stderr and\n"
          "                        gets no row, so every row is a real optimum\n"
          "  --help                this text\n"
          "Exit code 2 for bad input or an infeasible --cost-limit, 1 if the solver fails.\n");
}

// A limit from the command line: a finite number >= 0 and nothing else.
static int lp_parse_limit(const char *text, const char *what, double *out) {
  char *end;
  double v = strtod(text, &end);
  if (end == text || *end != '\0' || !isfinite(v)) {
    return err_input("%s: '%s' is not a finite number", what, text);
  }
  if (v < 0.0) return err_input("%s: %s is negative; a cost limit must be >= 0", what, text);
  *out = v;
  return ERR_OK;
}

// Comma-separated limits into a malloc'd array.
static int lp_parse_frontier(const char *text, double **limits, int *n) {
  int count = 1;
  for (const char *p = text; *p; p++) count += *p == ',';
  double *v = err_calloc((size_t)count, sizeof *v);
  if (!v) return ERR_FAIL;
  char item[64];
  const char *p = text;
  for (int i = 0; i < count; i++) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == 0 || len >= sizeof item) {
      free(v);
      return err_input("--frontier: item %d of '%s' is %s", i + 1, text,
                       len ? "too long" : "empty");
    }
    memcpy(item, p, len);
    item[len] = '\0';
    int rc = lp_parse_limit(item, "--frontier", &v[i]);
    if (rc) {
      free(v);
      return rc;
    }
    p = comma ? comma + 1 : p + len;
  }
  *limits = v;
  *n = count;
  return ERR_OK;
}

typedef struct {
  int have_limit;
  double limit;
  double *frontier;  // malloc'd, or NULL
  int n_frontier;
} lp_args_t;

// argv[0] is the verb; the first positional argument is the env name.
static int lp_parse_args(int argc, char **argv, lp_args_t *args) {
  const char *env = NULL;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--cost-limit") == 0 || strcmp(arg, "--frontier") == 0) {
      if (i + 1 >= argc) return err_input("%s needs a value", arg);
      const char *value = argv[++i];
      int rc;
      if (arg[2] == 'c') {
        rc = lp_parse_limit(value, "--cost-limit", &args->limit);
        args->have_limit = 1;
      } else {
        free(args->frontier);
        args->frontier = NULL;
        rc = lp_parse_frontier(value, &args->frontier, &args->n_frontier);
      }
      if (rc) return rc;
    } else if (arg[0] == '-' && arg[1] != '\0') {
      return err_input("unknown option '%s' (see safemarl lp --help)", arg);
    } else if (env) {
      return err_input("unexpected argument '%s' after the env name '%s'", arg, env);
    } else {
      env = arg;
    }
  }
  if (!env) return err_input("missing env name (the exact solver supports: gridworld)");
  if (strcmp(env, "gridworld") != 0) {
    return err_input("unknown env '%s' (the exact solver supports: gridworld)", env);
  }
  if (!args->have_limit && !args->frontier) return err_input("missing --cost-limit D");
  return ERR_OK;
}

// Solve every frontier limit before printing anything, so a solver failure leaves no partial CSV.
static int lp_print_frontier(const lp_args_t *args) {
  double *ret = err_calloc((size_t)args->n_frontier, sizeof *ret);
  double *cost = err_calloc((size_t)args->n_frontier, sizeof *cost);
  int *feasible = err_calloc((size_t)args->n_frontier, sizeof *feasible);
  int rc = (ret && cost && feasible) ? ERR_OK : ERR_FAIL;
  for (int i = 0; i < args->n_frontier && rc == ERR_OK; i++) {
    double min_cost = NAN;
    int st = lp_gridworld_solve(args->frontier[i], &ret[i], &cost[i], &min_cost);
    if (st < 0) {
      rc = st;
    } else if (st == 1) {
      fprintf(stderr,
              "lp: frontier: cost limit %g is infeasible: the minimum achievable episodic cost "
              "is %.6f; no row written\n",
              args->frontier[i], min_cost);
    } else {
      feasible[i] = 1;
    }
  }
  if (rc == ERR_OK) {
    printf("cost_limit,return,cost\n");
    for (int i = 0; i < args->n_frontier; i++) {
      if (feasible[i]) printf("%.6f,%.6f,%.6f\n", args->frontier[i], ret[i], cost[i]);
    }
  }
  free(ret);
  free(cost);
  free(feasible);
  return rc;
}

int lp_main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      lp_usage(stdout);
      return 0;
    }
  }
  lp_args_t args = {0};
  int rc = lp_parse_args(argc, argv, &args);
  if (rc) {
    fprintf(stderr, "lp: %s\n", err_message());
    free(args.frontier);
    return rc == ERR_INPUT ? 2 : 1;
  }
  int code = 0;
  if (args.have_limit) {
    double ret, cost, min_cost = NAN;
    rc = lp_gridworld_solve(args.limit, &ret, &cost, &min_cost);
    if (rc == 1) {
      fprintf(stderr,
              "lp: cost limit %g is infeasible: the minimum achievable episodic cost is %.6f\n",
              args.limit, min_cost);
      code = 2;
    } else if (rc < 0) {
      fprintf(stderr, "%s\n", err_message());
      code = rc == ERR_INPUT ? 2 : 1;
    } else {
      printf("return=%.6f cost=%.6f\n", ret, cost);
    }
  }
  if (code == 0 && args.frontier) {
    rc = lp_print_frontier(&args);
    if (rc < 0) {
      fprintf(stderr, "%s\n", err_message());
      code = rc == ERR_INPUT ? 2 : 1;
    }
  }
  free(args.frontier);
  return code;
}
