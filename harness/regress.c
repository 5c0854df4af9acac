// regress: compare a suite's results with committed reference bands; the CI gate for reward,
// cost and (with --perf) speed. The results are the suite's finished runs under its run root
// (results/runs/<suite>/), grouped and summarised exactly as `report` does; unfinished runs
// are left out; runs of one cell must share a config hash, as in report. The reference is a
// CSV (the suite's `reference:`, relative to the suite file; default
// results/reference/<suite>.csv, relative to the working directory like the run root), one row
// per cell:
//   env, algo, grid        the cell (grid as report defines it: the cell path without the env
//                          and algo names, i.e. the suite's grid label, empty without a grid)
//   seeds                  finished seeds when the bands were derived (information only)
//   return_median, return_lo, return_hi   the median final return then, and its band
//   cost_median, cost_lo, cost_hi         the same for the final cost
//   fps, fps_ratio_lo      median FPS then; --perf fails when FPS now / fps < fps_ratio_lo
// A cell passes when its median final return and median final cost (over its finished seeds)
// lie inside the bands (both ends: an unexplained improvement is a change too), and with
// --perf when its FPS ratio is at least fps_ratio_lo. A reference row without finished runs
// fails; a cell without a reference row is listed as "new" and does not fail.
// --update derives the bands from the observed finished seeds x_1..x_n of each cell:
//   [min x - m, max x + m],  m = max(0.5 (max x - min x), 0.05 |median x|, 1e-3)
// (half the seed spread, at least 5% of the median's magnitude, at least 1e-3 so an all-zero
// cost keeps a non-empty band), and fps_ratio_lo = 0.7 (wall clock on shared machines varies
// by +-20%, so only a clear slowdown fails). The file is rewritten atomically, whole.
// Exit codes (via main): 0 pass, 1 regression, 2 bad input (suite, mixed runs, reference CSV:
// one line naming the file, the row and the column).
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csvlog.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "harness/report.h"
#include "harness/run.h"
#include "harness/stats.h"
#include "harness/suite.h"

#define REGRESS_FPS_RATIO_LO 0.7
#define REGRESS_REL_MARGIN 0.05
#define REGRESS_ABS_MARGIN 1e-3

// ---- the reference table -------------------------------------------------------------------

typedef struct {
  char env[CFG_STR_MAX], algo[CFG_STR_MAX], grid[REPORT_PATH_MAX];
  double return_lo, return_hi, cost_lo, cost_hi, fps, fps_ratio_lo;
} ref_row_t;

static const char *const ref_cols[] = {"env",           "algo",      "grid",      "seeds",
                                       "return_median", "return_lo", "return_hi", "cost_median",
                                       "cost_lo",       "cost_hi",   "fps",       "fps_ratio_lo"};
enum { N_REF = sizeof ref_cols / sizeof ref_cols[0] };

static int ref_number(const csv_table_t *t, const char *path, int row, const char *col,
                      int allow_nan, double *out) {
  int c = csvlog_col(t, col);
  int rc = csvlog_cell_double(t, path, row, c, out);
  if (!rc && !allow_nan && !isfinite(*out))
    rc = err_input("%s: row %d, column '%s': expected a finite number, got '%s'", path, row + 1,
                   col, csvlog_cell(t, row, c));
  return rc;
}

// Read and validate the whole reference; ERR_INPUT names the file, row and column.
static int regress_read_reference(const char *path, int perf, ref_row_t **rows, int *n_rows) {
  *rows = NULL;
  *n_rows = 0;
  if (!fs_exists(path))
    return err_input("%s: no reference file (safemarl regress SUITE --update writes it)", path);
  csv_table_t t;
  int rc = csvlog_read(path, &t);
  if (rc) return rc;
  static const char *const required[] = {"env",       "algo",    "grid",   "return_lo",
                                         "return_hi", "cost_lo", "cost_hi"};
  for (size_t i = 0; i < sizeof required / sizeof required[0] && !rc; i++)
    if (csvlog_col(&t, required[i]) < 0)
      rc = err_input("%s: header row, column '%s': missing", path, required[i]);
  if (!rc && perf)
    for (int i = 0; i < 2 && !rc; i++) {
      const char *col = i ? "fps_ratio_lo" : "fps";
      if (csvlog_col(&t, col) < 0)
        rc = err_input("%s: header row, column '%s': missing (needed by --perf)", path, col);
    }
  ref_row_t *r = rc ? NULL : err_calloc((size_t)t.nrows + 1, sizeof(ref_row_t));
  if (!rc && !r) rc = ERR_FAIL;
  for (int i = 0; i < t.nrows && !rc; i++) {
    ref_row_t *x = &r[i];
    snprintf(x->env, sizeof x->env, "%s", csvlog_cell(&t, i, csvlog_col(&t, "env")));
    snprintf(x->algo, sizeof x->algo, "%s", csvlog_cell(&t, i, csvlog_col(&t, "algo")));
    snprintf(x->grid, sizeof x->grid, "%s", csvlog_cell(&t, i, csvlog_col(&t, "grid")));
    if (!x->env[0] || !x->algo[0])
      rc = err_input("%s: row %d, column '%s': empty", path, i + 1, x->env[0] ? "algo" : "env");
    if (!rc) rc = ref_number(&t, path, i, "return_lo", 0, &x->return_lo);
    if (!rc) rc = ref_number(&t, path, i, "return_hi", 0, &x->return_hi);
    if (!rc) rc = ref_number(&t, path, i, "cost_lo", 0, &x->cost_lo);
    if (!rc) rc = ref_number(&t, path, i, "cost_hi", 0, &x->cost_hi);
    x->fps = x->fps_ratio_lo = NAN;
    if (!rc && csvlog_col(&t, "fps") >= 0) rc = ref_number(&t, path, i, "fps", 1, &x->fps);
    if (!rc && csvlog_col(&t, "fps_ratio_lo") >= 0)
      rc = ref_number(&t, path, i, "fps_ratio_lo", 1, &x->fps_ratio_lo);
    if (!rc && x->return_hi < x->return_lo)
      rc = err_input("%s: row %d, column 'return_hi': %g is below return_lo %g", path, i + 1,
                     x->return_hi, x->return_lo);
    if (!rc && x->cost_hi < x->cost_lo)
      rc = err_input("%s: row %d, column 'cost_hi': %g is below cost_lo %g", path, i + 1,
                     x->cost_hi, x->cost_lo);
    for (int j = 0; j < i && !rc; j++)
      if (!strcmp(r[j].env, x->env) && !strcmp(r[j].algo, x->algo) && !strcmp(r[j].grid, x->grid))
        rc = err_input("%s: row %d, column 'env': cell %s/%s%s%s repeats row %d", path, i + 1,
                       x->env, x->algo, x->grid[0] ? "/" : "", x->grid, j + 1);
  }
  if (!rc) {
    *rows = r;
    *n_rows = t.nrows;
  } else {
    free(r);
  }
  csvlog_table_free(&t);
  return rc;
}

// ---- bands from observed seeds -------------------------------------------------------------

static void regress_band(const report_cell_t *c, size_t offset, double median, double *lo,
                         double *hi) {
  double mn = INFINITY, mx = -INFINITY;
  for (int i = 0; i < c->n; i++) {
    double x = *(const double *)((const char *)&c->runs[i] + offset);
    if (!isfinite(x)) continue;
    mn = fmin(mn, x);
    mx = fmax(mx, x);
  }
  double m = fmax(fmax(0.5 * (mx - mn), REGRESS_REL_MARGIN * fabs(median)), REGRESS_ABS_MARGIN);
  *lo = mn - m;
  *hi = mx + m;
}

static int regress_update(const report_t *rep, const char *path) {
  csv_table_t t;
  int rc = csvlog_table_init(&t, ref_cols, N_REF);
  for (int k = 0; k < rep->n_cells && !rc; k++) {
    const report_cell_t *c = &rep->cells[k];
    if (c->ret.n == 0 || c->cost.n == 0) {
      rc = err_input("%s/%s: no finished run with a final return and cost; cannot derive bands",
                     rep->root, c->label);
      break;
    }
    double v[9];
    v[0] = c->ret.median;
    regress_band(c, offsetof(report_run_t, final_return), c->ret.median, &v[1], &v[2]);
    v[3] = c->cost.median;
    regress_band(c, offsetof(report_run_t, final_cost), c->cost.median, &v[4], &v[5]);
    v[6] = c->fps_median;
    v[7] = REGRESS_FPS_RATIO_LO;
    char buf[N_REF][REPORT_PATH_MAX];
    snprintf(buf[0], sizeof buf[0], "%s", c->env);
    snprintf(buf[1], sizeof buf[1], "%s", c->algo);
    snprintf(buf[2], sizeof buf[2], "%s", c->grid);
    snprintf(buf[3], sizeof buf[3], "%d", c->ret.n);
    for (int i = 0; i < 8; i++) csvlog_format_double(v[i], buf[4 + i], sizeof buf[0]);
    const char *cells[N_REF];
    for (int i = 0; i < N_REF; i++) cells[i] = buf[i];
    rc = csvlog_table_add_row(&t, cells);
  }
  if (!rc) {
    char dir[REPORT_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
      *slash = 0;
      rc = fs_mkdir_p(dir);
    }
  }
  if (!rc) rc = csvlog_write_table(path, &t);
  csvlog_table_free(&t);
  return rc;
}

// ---- comparison ----------------------------------------------------------------------------

static void fmt_band(char *buf, size_t n, double lo, double hi) {
  snprintf(buf, n, "[%.4g, %.4g]", lo, hi);
}

static void fmt_num(char *buf, size_t n, double v) {
  if (isfinite(v))
    snprintf(buf, n, "%.4g", v);
  else
    snprintf(buf, n, "-");
}

// Append a failure reason: "FAIL a, b, ...".
static void status_add(char *status, size_t n, const char *why) {
  size_t used = strlen(status);
  snprintf(status + used, n - used, "%s%s", used ? ", " : "FAIL ", why);
}

// Compare every reference row; prints the table; returns the number of failing rows.
static int regress_compare(const report_t *rep, const ref_row_t *rows, int n_rows, int perf,
                           const int *expected) {
  int failures = 0;
  printf("%-14s %-22s %-16s %5s  %-10s %-22s %-10s %-22s", "env", "algo", "grid", "seeds", "return",
         "band", "cost", "band");
  if (perf) printf(" %-7s %-6s", "fps x", "min");
  printf("  status\n");
  int *seen = err_calloc((size_t)rep->n_cells + 1, sizeof(int));
  for (int i = 0; i < n_rows; i++) {
    const ref_row_t *r = &rows[i];
    int k = report_find_cell(rep, r->env, r->algo, r->grid);
    const report_cell_t *c = k >= 0 ? &rep->cells[k] : NULL;
    if (c && seen) seen[k] = 1;
    char status[256] = "", b1[64], b2[64], v1[32], v2[32], seeds[32], ratio[32], rmin[32];
    double ret = c ? c->ret.median : NAN, cost = c ? c->cost.median : NAN;
    fmt_band(b1, sizeof b1, r->return_lo, r->return_hi);
    fmt_band(b2, sizeof b2, r->cost_lo, r->cost_hi);
    fmt_num(v1, sizeof v1, ret);
    fmt_num(v2, sizeof v2, cost);
    int exp_n = k >= 0 && expected ? expected[k] : 0;
    snprintf(seeds, sizeof seeds, exp_n ? "%d/%d" : "%d", c ? c->n : 0, exp_n);
    double q = c && perf ? c->fps_median / r->fps : NAN;
    fmt_num(ratio, sizeof ratio, q);
    fmt_num(rmin, sizeof rmin, r->fps_ratio_lo);
    if (!c || c->ret.n == 0) {
      status_add(status, sizeof status, "no finished runs");
    } else {
      if (!(ret >= r->return_lo)) status_add(status, sizeof status, "return below band");
      if (!(ret <= r->return_hi)) status_add(status, sizeof status, "return above band");
      if (!(cost >= r->cost_lo)) status_add(status, sizeof status, "cost below band");
      if (!(cost <= r->cost_hi)) status_add(status, sizeof status, "cost above band");
      if (perf && isfinite(r->fps_ratio_lo) && isfinite(q) && q < r->fps_ratio_lo)
        status_add(status, sizeof status, "slower (fps ratio below min)");
    }
    int fail = status[0] != 0;
    failures += fail;
    if (!fail) snprintf(status, sizeof status, "ok");
    if (!fail && perf && isfinite(r->fps_ratio_lo) && !isfinite(q))
      snprintf(status, sizeof status, "ok (no FPS to compare)");
    printf("%-14s %-22s %-16s %5s  %-10s %-22s %-10s %-22s", r->env, r->algo,
           r->grid[0] ? r->grid : "-", seeds, v1, b1, v2, b2);
    if (perf) printf(" %-7s %-6s", ratio, rmin);
    printf("  %s\n", status);
  }
  for (int k = 0; seen && k < rep->n_cells; k++)
    if (!seen[k])
      printf("%-14s %-22s %-16s %5d  new: no reference row (regress --update adds it)\n",
             rep->cells[k].env, rep->cells[k].algo,
             rep->cells[k].grid[0] ? rep->cells[k].grid : "-", rep->cells[k].n);
  free(seen);
  return failures;
}

// The cell holding a suite run (its name is <cell label>/seed<k>), or -1.
static int regress_cell_of(const report_t *rep, const char *run_name) {
  const char *slash = strrchr(run_name, '/');
  size_t len = slash ? (size_t)(slash - run_name) : 0;
  for (int k = 0; k < rep->n_cells; k++)
    if (strlen(rep->cells[k].label) == len && !strncmp(rep->cells[k].label, run_name, len))
      return k;
  return -1;
}

static void regress_usage(FILE *f) {
  fprintf(f,
          "usage: safemarl regress SUITE.yaml [--perf] [--update] [--runs ROOT] "
          "[--reference FILE]\n"
          "Summarises the suite's finished runs (ROOT/<suite>/, ROOT default results/runs) as\n"
          "`report` does and checks each cell's median final return and cost against the bands\n"
          "of the reference CSV (the suite's `reference:`, default "
          "results/reference/<suite>.csv;\n"
          "columns env, algo, grid, seeds, return_median, return_lo, return_hi, cost_median,\n"
          "cost_lo, cost_hi, fps, fps_ratio_lo). Exit 0 pass, 1 regression, 2 bad input.\n"
          "  --perf    also fail when FPS / reference fps < fps_ratio_lo (wall clock: noisy)\n"
          "  --update  rewrite the reference from the current results: bands\n"
          "            [min - m, max + m] over the seeds, m = max(spread/2, 5%% |median|, 1e-3),\n"
          "            fps_ratio_lo %.2g\n",
          REGRESS_FPS_RATIO_LO);
}

int regress_main(int argc, char **argv) {
  const char *suite_path = NULL, *runs = NULL, *ref_opt = NULL;
  int perf = 0, update = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      regress_usage(stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--perf")) {
      perf = 1;
    } else if (!strcmp(argv[i], "--update")) {
      update = 1;
    } else if (!strcmp(argv[i], "--runs") || !strcmp(argv[i], "--reference")) {
      if (i + 1 >= argc) return err_input("command line: %s needs a path", argv[i]);
      if (!strcmp(argv[i], "--runs"))
        runs = argv[++i];
      else
        ref_opt = argv[++i];
    } else if (argv[i][0] == '-' || suite_path) {
      return err_input("command line: unknown argument '%s' (safemarl regress --help)", argv[i]);
    } else {
      suite_path = argv[i];
    }
  }
  if (!suite_path) return err_input("command line: regress needs a suite file");
  suite_t s;
  memset(&s, 0, sizeof s);
  int rc = suite_load(suite_path, runs, &s);
  if (rc) return rc;
  char ref_path[REPORT_PATH_MAX];
  if (ref_opt)
    snprintf(ref_path, sizeof ref_path, "%s", ref_opt);
  else if (s.reference[0])
    snprintf(ref_path, sizeof ref_path, "%s", s.reference);
  else
    snprintf(ref_path, sizeof ref_path, "results/reference/%s.csv", s.name);
  // The suite's runs that exist; report_collect_dirs keeps the finished ones.
  char **dirs = rc ? NULL : err_calloc((size_t)s.n_runs + 1, sizeof(char *));
  int n_dirs = 0;
  if (!rc && !dirs) rc = ERR_FAIL;
  for (int i = 0; i < s.n_runs && !rc; i++) {
    char p1[REPORT_PATH_MAX + 32], p2[REPORT_PATH_MAX + 32];
    snprintf(p1, sizeof p1, "%s/progress.csv", s.runs[i].dir);
    snprintf(p2, sizeof p2, "%s/config.yaml", s.runs[i].dir);
    if (fs_exists(p1) && fs_exists(p2)) dirs[n_dirs++] = s.runs[i].dir;
  }
  report_t rep;
  memset(&rep, 0, sizeof rep);
  if (!rc) rc = report_collect_dirs(s.root, dirs, n_dirs, 0, 1, &rep);
  if (!rc) rc = report_summarise(&rep);
  // Expected seeds per cell: the suite's runs whose directory lies in the cell.
  int *expected = rc ? NULL : err_calloc((size_t)rep.n_cells + 1, sizeof(int));
  for (int i = 0; expected && i < s.n_runs; i++) {
    int k = regress_cell_of(&rep, s.runs[i].name);
    if (k >= 0) expected[k]++;
  }
  if (!rc && update) {
    // Every cell of the suite needs finished runs before its bands can be written.
    for (int i = 0; i < s.n_runs && !rc; i++)
      if (regress_cell_of(&rep, s.runs[i].name) < 0)
        rc = err_input("%s: %s: no finished run in this cell; run the suite before --update",
                       suite_path, s.runs[i].name);
    if (!rc) rc = regress_update(&rep, ref_path);
    if (!rc) printf("%s: reference bands for %d cells written\n", ref_path, rep.n_cells);
  }
  ref_row_t *rows = NULL;
  int n_rows = 0;
  if (!rc) rc = regress_read_reference(ref_path, perf, &rows, &n_rows);
  if (!rc) {
    int failures = regress_compare(&rep, rows, n_rows, perf, expected);
    if (failures)
      rc = err_fail("%d of %d cells outside the reference bands of %s", failures, n_rows, ref_path);
    else
      printf("regress: %d cells within the reference bands of %s\n", n_rows, ref_path);
  }
  free(rows);
  free(expected);
  free(dirs);
  report_free(&rep);
  suite_free(&s);
  return rc;
}
