// report: per-cell summaries of a directory tree of runs (see report.h). Reads only what runs
// wrote; never re-runs anything. Cells are listed in the order of their paths.
// Per cell, over its runs (seeds): final return and final cost as median, 25th/75th percentile
// (type-7 interpolation), mean and IQM with a 95% percentile-bootstrap interval (stats.h:
// 10,000 resamples of the cell's runs, fixed seed, stream keyed by cell and figure); the
// constraint-satisfaction rate (final cost <= the run's cost limit; a run without a finite
// final cost does not satisfy it); the median sample efficiency (stats_sample_efficiency on
// ep_return: first env step at which the trailing 10%-of-updates moving average covers 80% of
// the way from the initial to the final return); the median FPS (a run's last env_steps /
// the sum of wall_s over every timing.csv row, i.e. over all sessions). Runs whose final value
// is not finite (no episode ended in the last 10% of updates) count as seeds but are left out
// of that figure's statistics. pairs.csv: P(X > Y) between the algorithms of one env and grid
// label, on final return and on final cost (lower is better), with bootstrap intervals.
#define _XOPEN_SOURCE 700
#include "harness/report.h"

#include <ftw.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csvlog.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/rng.h"
#include "harness/run.h"
#include "harness/stats.h"

// ---- one run ----------------------------------------------------------------------------------

void report_curve_free(report_curve_t *c) {
  free(c->steps);
  free(c->ret);
  free(c->cost);
  free(c->mult);
  memset(c, 0, sizeof *c);
}

int report_read_curve(const char *run_dir, report_curve_t *c) {
  memset(c, 0, sizeof *c);
  char path[REPORT_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/progress.csv", run_dir);
  csv_table_t t;
  int rc = csvlog_read(path, &t);
  if (rc) return rc;
  int cs = csvlog_col(&t, "env_steps"), cr = csvlog_col(&t, "ep_return"),
      cc = csvlog_col(&t, "ep_cost");
  // Trust-region methods log the KL multiplier as "lambda" and the cost multiplier as "nu".
  int cm = csvlog_col(&t, "nu");
  const char *mult_name = "nu";
  if (cm < 0) {
    cm = csvlog_col(&t, "lambda");
    mult_name = "lambda";
  }
  if (cr < 0 || cc < 0 || cs < 0) {
    csvlog_table_free(&t);
    return err_input("%s: missing column ep_return, ep_cost or env_steps", path);
  }
  size_t n = (size_t)t.nrows + 1;
  c->steps = err_calloc(n, sizeof(double));
  c->ret = err_calloc(n, sizeof(double));
  c->cost = err_calloc(n, sizeof(double));
  if (cm >= 0) c->mult = err_calloc(n, sizeof(double));
  if (!c->steps || !c->ret || !c->cost || (cm >= 0 && !c->mult)) rc = ERR_FAIL;
  if (cm >= 0) snprintf(c->mult_name, sizeof c->mult_name, "%s", mult_name);
  for (int i = 0; i < t.nrows && !rc; i++) {
    rc = csvlog_cell_double(&t, path, i, cs, &c->steps[i]);
    if (!rc) rc = csvlog_cell_double(&t, path, i, cr, &c->ret[i]);
    if (!rc) rc = csvlog_cell_double(&t, path, i, cc, &c->cost[i]);
    if (!rc && cm >= 0) rc = csvlog_cell_double(&t, path, i, cm, &c->mult[i]);
  }
  c->n = t.nrows;
  csvlog_table_free(&t);
  if (rc) report_curve_free(c);
  return rc;
}

// Sum of wall_s over timing.csv (every session); NaN when the file is absent.
static int report_read_wall(const char *run_dir, double *wall) {
  char path[REPORT_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/timing.csv", run_dir);
  *wall = NAN;
  if (!fs_exists(path)) return 0;
  csv_table_t t;
  int rc = csvlog_read(path, &t);
  if (rc) return rc;
  int cw = csvlog_col(&t, "wall_s");
  if (cw < 0) rc = err_input("%s: missing column wall_s", path);
  double sum = 0, v;
  for (int i = 0; i < t.nrows && !rc; i++) {
    rc = csvlog_cell_double(&t, path, i, cw, &v);
    sum += v;
  }
  if (!rc && t.nrows > 0) *wall = sum;
  csvlog_table_free(&t);
  return rc;
}

static int report_read_run(const char *run_dir, report_run_t *out) {
  report_curve_t c;
  int rc = report_read_curve(run_dir, &c);
  if (rc) return rc;
  double *scratch = err_calloc((size_t)c.n + 1, sizeof(double));
  if (!scratch) rc = ERR_FAIL;
  if (!rc) {
    out->final_return = stats_final_mean(c.ret, c.n);
    out->final_cost = stats_final_mean(c.cost, c.n);
    out->env_steps = c.n ? (long long)c.steps[c.n - 1] : 0;
    out->updates = c.n;
    out->sample_eff = stats_sample_efficiency(c.steps, c.ret, c.n, scratch);
  }
  double wall = NAN;
  if (!rc) rc = report_read_wall(run_dir, &wall);
  out->fps = wall > 0 ? (double)out->env_steps / wall : NAN;
  free(scratch);
  report_curve_free(&c);
  return rc;
}

// ---- collecting run directories ---------------------------------------------------------------

typedef struct {
  char **dirs;
  int n, cap;
} dir_list_t;

static dir_list_t *g_found;  // nftw has no context pointer

static int report_visit(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  if (type != FTW_F || strcmp(path + ftw->base, "progress.csv") != 0) return 0;
  char dir[REPORT_PATH_MAX];
  snprintf(dir, sizeof dir, "%.*s", ftw->base > 0 ? ftw->base - 1 : 0, path);
  char cfg[REPORT_PATH_MAX + 32];
  snprintf(cfg, sizeof cfg, "%s/config.yaml", dir);
  if (!fs_exists(cfg)) return 0;
  if (g_found->n == g_found->cap) {
    int cap = g_found->cap ? 2 * g_found->cap : 64;
    char **d = realloc(g_found->dirs, sizeof(char *) * cap);
    if (!d) return -1;
    g_found->dirs = d;
    g_found->cap = cap;
  }
  if (!(g_found->dirs[g_found->n] = strdup(dir))) return -1;
  g_found->n++;
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int report_collect(const char *root, int allow_mixed, report_t *rep) {
  memset(rep, 0, sizeof *rep);
  dir_list_t found = {0};
  g_found = &found;
  int rc = 0;
  if (nftw(root, report_visit, 32, FTW_PHYS) != 0)
    rc = err_input("%s: cannot read directory tree", root);
  else if (found.n == 0)
    rc = err_input("%s: no run directories found (config.yaml + progress.csv)", root);
  if (!rc) {
    qsort(found.dirs, (size_t)found.n, sizeof(char *), cmp_str);
    rc = report_collect_dirs(root, found.dirs, found.n, allow_mixed, 0, rep);
  }
  for (int i = 0; i < found.n; i++) free(found.dirs[i]);
  free(found.dirs);
  return rc;
}

// Cell label of a run directory: its parent, relative to root ("." when that is root itself
// or lies above it).
static void report_cell_label(const char *root, const char *dir, char *label, size_t n) {
  size_t rl = strlen(root);
  while (rl > 1 && root[rl - 1] == '/') rl--;
  const char *rel = dir;
  if (strncmp(dir, root, rl) == 0 && (dir[rl] == '/' || dir[rl] == 0)) {
    rel = dir + rl;
    while (*rel == '/') rel++;
  }
  const char *slash = strrchr(rel, '/');
  if (!*rel || !slash)
    snprintf(label, n, ".");
  else
    snprintf(label, n, "%.*s", (int)(slash - rel), rel);
}

// Grid label: the components of the cell label other than (the first occurrence of) the env
// name and the algorithm name, joined by '/': <env>/<algo>/<grid> -> <grid>,
// gridworld/limit0.6/cpo -> limit0.6.
static void report_grid_label(const char *label, const char *env, const char *algo, char *grid,
                              size_t n) {
  grid[0] = 0;
  if (!strcmp(label, ".")) return;
  int seen_env = 0, seen_algo = 0;
  size_t used = 0;
  const char *p = label;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    int is_env = !seen_env && strlen(env) == len && !strncmp(p, env, len);
    int is_algo = !is_env && !seen_algo && strlen(algo) == len && !strncmp(p, algo, len);
    seen_env |= is_env;
    seen_algo |= is_algo;
    if (!is_env && !is_algo && len > 0) {
      int w = snprintf(grid + used, n - used, "%s%.*s", used ? "/" : "", (int)len, p);
      if (w > 0) used += (size_t)w < n - used ? (size_t)w : n - used - 1;
    }
    p += len + (e != NULL);
  }
}

static int report_add_run(report_t *rep, const char *label, const run_config_t *cfg,
                          const report_run_t *run, int allow_mixed) {
  int k = 0;
  while (k < rep->n_cells &&
         (strcmp(rep->cells[k].label, label) || strcmp(rep->cells[k].env, cfg->run.env) ||
          strcmp(rep->cells[k].algo, cfg->run.algo)))
    k++;
  report_cell_t *c = &rep->cells[k];
  if (k == rep->n_cells) {
    rep->n_cells++;
    memset(c, 0, sizeof *c);
    snprintf(c->label, sizeof c->label, "%s", label);
    snprintf(c->env, sizeof c->env, "%s", cfg->run.env);
    snprintf(c->algo, sizeof c->algo, "%s", cfg->run.algo);
    report_grid_label(label, c->env, c->algo, c->grid, sizeof c->grid);
    c->cost_limit = run->cost_limit;
    c->hash = run->hash;
  } else if (c->hash != run->hash) {
    if (!allow_mixed)
      return err_input(
          "%s/%s: runs with different configurations in one cell: %s has config "
          "hash %016llx, %s has %016llx (--allow-mixed summarises them together)",
          rep->root, label, c->runs[0].dir, (unsigned long long)c->hash, run->dir,
          (unsigned long long)run->hash);
    c->mixed = 1;
  }
  if (c->n == c->cap) {
    int cap = c->cap ? 2 * c->cap : 8;
    report_run_t *r = realloc(c->runs, sizeof *r * (size_t)cap);
    if (!r) return err_fail("out of memory");
    c->runs = r;
    c->cap = cap;
  }
  c->runs[c->n++] = *run;
  return 0;
}

int report_collect_dirs(const char *root, char *const *dirs, int n_dirs, int allow_mixed,
                        int only_done, report_t *rep) {
  memset(rep, 0, sizeof *rep);
  snprintf(rep->root, sizeof rep->root, "%s", root);
  rep->cells = err_calloc((size_t)n_dirs + 1, sizeof(report_cell_t));
  if (!rep->cells) return ERR_FAIL;
  int rc = 0;
  for (int i = 0; i < n_dirs && !rc; i++) {
    char cfg_path[REPORT_PATH_MAX + 32];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.yaml", dirs[i]);
    run_config_t cfg;
    rc = run_config_resolve(&cfg, cfg_path, NULL, NULL, NULL, 0);
    env_spec_t spec;
    void *shared = NULL;
    if (!rc) rc = cfg.env_class->shared_create(cfg.env_params, &spec, &shared);
    report_run_t run;
    memset(&run, 0, sizeof run);
    if (!rc) rc = report_read_run(dirs[i], &run);
    if (!rc) {
      snprintf(run.dir, sizeof run.dir, "%s", dirs[i]);
      run.seed = cfg.run.seed;
      run.hash = run_config_hash(&cfg);
      run.cost_limit = spec.cost_limit;
      run.budget = cfg.run.steps;
      run.done = run.env_steps >= run.budget;
      char label[REPORT_PATH_MAX];
      report_cell_label(root, dirs[i], label, sizeof label);
      if (!only_done || run.done) rc = report_add_run(rep, label, &cfg, &run, allow_mixed);
    }
    if (shared) cfg.env_class->shared_destroy(shared);
    run_config_free(&cfg);
  }
  if (rc) report_free(rep);
  return rc;
}

void report_free(report_t *rep) {
  for (int k = 0; k < rep->n_cells; k++) free(rep->cells[k].runs);
  free(rep->cells);
  rep->cells = NULL;
  rep->n_cells = 0;
}

int report_find_cell(const report_t *rep, const char *env, const char *algo, const char *grid) {
  for (int k = 0; k < rep->n_cells; k++) {
    const report_cell_t *c = &rep->cells[k];
    if (!strcmp(c->env, env) && !strcmp(c->algo, algo) && !strcmp(c->grid, grid)) return k;
  }
  return -1;
}

// ---- statistics -------------------------------------------------------------------------------

double report_normalise(double x, double b) {
  if (!isfinite(b) || b == 0) return NAN;
  return 1 + (x - b) / fabs(b);
}

// Bootstrap stream key of one figure of one cell: independent of the other cells.
static uint64_t report_key(const report_cell_t *c, const char *what) {
  char buf[REPORT_PATH_MAX + 2 * CFG_STR_MAX + 64];
  snprintf(buf, sizeof buf, "%s|%s|%s|%s", c->label, c->env, c->algo, what);
  return rng_hash_str(buf);
}

// Finite values of one field of the cell's runs, into v; returns how many.
static int report_values(const report_cell_t *c, size_t offset, double *v) {
  int m = 0;
  for (int i = 0; i < c->n; i++) {
    double x = *(const double *)((const char *)&c->runs[i] + offset);
    if (isfinite(x)) v[m++] = x;
  }
  return m;
}

static int report_dist(const report_cell_t *c, size_t offset, const char *what, double *v,
                       report_dist_t *d) {
  int m = report_values(c, offset, v);
  d->n = m;
  d->mean = stats_mean(v, m);
  d->median = stats_quantile(v, m, 0.5);
  d->p25 = stats_quantile(v, m, 0.25);
  d->p75 = stats_quantile(v, m, 0.75);
  d->iqm = stats_iqm(v, m);
  return stats_bootstrap_ci(v, m, stats_iqm, STATS_BOOT_REPS, STATS_CI_LEVEL, report_key(c, what),
                            &d->iqm_lo, &d->iqm_hi);
}

int report_summarise(report_t *rep) {
  int rc = 0;
  for (int k = 0; k < rep->n_cells && !rc; k++) {
    report_cell_t *c = &rep->cells[k];
    double *v = err_calloc((size_t)c->n + 1, sizeof(double));
    if (!v) return ERR_FAIL;
    rc = report_dist(c, offsetof(report_run_t, final_return), "return", v, &c->ret);
    if (!rc) rc = report_dist(c, offsetof(report_run_t, final_cost), "cost", v, &c->cost);
    int sat = 0;
    c->n_done = 0;
    for (int i = 0; i < c->n; i++) {
      sat += c->runs[i].final_cost <= c->runs[i].cost_limit;  // false for NaN
      c->n_done += c->runs[i].done;
    }
    c->satisfied_rate = c->n ? (double)sat / c->n : NAN;
    int m = report_values(c, offsetof(report_run_t, sample_eff), v);
    c->sample_eff_median = stats_quantile(v, m, 0.5);
    m = report_values(c, offsetof(report_run_t, fps), v);
    c->fps_median = stats_quantile(v, m, 0.5);
    free(v);
  }
  return rc;
}

// ---- output -----------------------------------------------------------------------------------

#define REPORT_MAX_COLUMNS 8
#define REPORT_COLUMN_NAME 64

typedef struct {
  const char *baseline;  // NULL: no normalised columns
  int print_pairs;
  // --columns: more progress.csv columns summarised like the final return (final-window mean
  // per run; median, p25, p75 over the cell's runs). col_dist[k * n_cols + j]: cell k, column j.
  int n_cols;
  char cols[REPORT_MAX_COLUMNS][REPORT_COLUMN_NAME];
  report_dist_t *col_dist;
} report_opts_t;

// "a,b,c" into o->cols: 1..REPORT_MAX_COLUMNS names of letters, digits and '_'.
static int report_parse_columns(const char *text, report_opts_t *o) {
  o->n_cols = 0;
  const char *p = text;
  for (;;) {
    size_t len = strcspn(p, ",");
    int ok = len > 0 && len < REPORT_COLUMN_NAME;
    for (size_t i = 0; i < len && ok; i++)
      ok = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
           (p[i] >= '0' && p[i] <= '9') || p[i] == '_';
    if (!ok)
      return err_input("command line: --columns: '%s' is not a list of progress.csv column names",
                       text);
    if (o->n_cols == REPORT_MAX_COLUMNS)
      return err_input("command line: --columns: at most %d columns", REPORT_MAX_COLUMNS);
    snprintf(o->cols[o->n_cols++], REPORT_COLUMN_NAME, "%.*s", (int)len, p);
    if (!p[len]) return 0;
    p += len + 1;
  }
}

// Final-window means (stats_final_mean) of the --columns of one run; NaN for a column the run's
// progress.csv lacks (another env's statistics).
static int report_run_columns(const char *run_dir, const report_opts_t *o, double *out) {
  char path[REPORT_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/progress.csv", run_dir);
  csv_table_t t;
  int rc = csvlog_read(path, &t);
  if (rc) return rc;
  double *v = err_calloc((size_t)t.nrows + 1, sizeof(double));
  if (!v) rc = ERR_FAIL;
  for (int j = 0; j < o->n_cols && !rc; j++) {
    int c = csvlog_col(&t, o->cols[j]);
    out[j] = NAN;
    if (c < 0) continue;
    for (int i = 0; i < t.nrows && !rc; i++) rc = csvlog_cell_double(&t, path, i, c, &v[i]);
    if (!rc) out[j] = stats_final_mean(v, t.nrows);
  }
  free(v);
  csvlog_table_free(&t);
  return rc;
}

// o->col_dist for every cell: median, p25 and p75 over the runs where the value is finite.
static int report_summarise_columns(const report_t *rep, report_opts_t *o) {
  if (!o->n_cols) return 0;
  o->col_dist = err_calloc((size_t)rep->n_cells * o->n_cols + 1, sizeof(report_dist_t));
  if (!o->col_dist) return ERR_FAIL;
  int rc = 0;
  for (int k = 0; k < rep->n_cells && !rc; k++) {
    const report_cell_t *c = &rep->cells[k];
    double *vals = err_calloc((size_t)c->n * o->n_cols + 1, sizeof(double));
    double *v = err_calloc((size_t)c->n + 1, sizeof(double));
    if (!vals || !v) rc = ERR_FAIL;
    for (int i = 0; i < c->n && !rc; i++)
      rc = report_run_columns(c->runs[i].dir, o, vals + (size_t)i * o->n_cols);
    for (int j = 0; j < o->n_cols && !rc; j++) {
      int m = 0;
      for (int i = 0; i < c->n; i++)
        if (isfinite(vals[(size_t)i * o->n_cols + j])) v[m++] = vals[(size_t)i * o->n_cols + j];
      report_dist_t *d = &o->col_dist[(size_t)k * o->n_cols + j];
      d->n = m;
      d->median = stats_quantile(v, m, 0.5);
      d->p25 = stats_quantile(v, m, 0.25);
      d->p75 = stats_quantile(v, m, 0.75);
    }
    free(vals);
    free(v);
  }
  return rc;
}

// Baseline median of the cell's env and grid label; NaN when the baseline has no such cell.
static double report_baseline_of(const report_t *rep, const report_cell_t *c, const char *algo) {
  int b = report_find_cell(rep, c->env, algo, c->grid);
  return b < 0 ? NAN : rep->cells[b].ret.median;
}

// Short numbers for the markdown tables.
static void md_num(char *buf, size_t n, double v) {
  if (!isfinite(v))
    snprintf(buf, n, "–");
  else
    snprintf(buf, n, "%.4g", v);
}

static void md_steps(char *buf, size_t n, double v) {
  if (!isfinite(v))
    snprintf(buf, n, "–");
  else if (fabs(v) >= 1e6)
    snprintf(buf, n, "%.3gM", v / 1e6);
  else if (fabs(v) >= 1e3)
    snprintf(buf, n, "%.3gk", v / 1e3);
  else
    snprintf(buf, n, "%.0f", v);
}

// "m [a, b]" with md_num.
static void md_triple(char *buf, size_t n, double m, double a, double b) {
  char x[32], y[32], z[32];
  md_num(x, sizeof x, m);
  md_num(y, sizeof y, a);
  md_num(z, sizeof z, b);
  snprintf(buf, n, "%s [%s, %s]", x, y, z);
}

static int report_any_grid(const report_t *rep) {
  for (int k = 0; k < rep->n_cells; k++)
    if (rep->cells[k].grid[0]) return 1;
  return 0;
}

static const char *const summary_cols[] = {"cell",
                                           "env",
                                           "algo",
                                           "grid",
                                           "cost_limit",
                                           "config_hash",
                                           "seeds",
                                           "seeds_done",
                                           "return_median",
                                           "return_p25",
                                           "return_p75",
                                           "return_mean",
                                           "return_iqm",
                                           "return_iqm_lo",
                                           "return_iqm_hi",
                                           "cost_median",
                                           "cost_p25",
                                           "cost_p75",
                                           "cost_mean",
                                           "cost_iqm",
                                           "cost_iqm_lo",
                                           "cost_iqm_hi",
                                           "satisfied_rate",
                                           "sample_eff_steps",
                                           "fps"};
enum { N_SUMMARY = sizeof summary_cols / sizeof summary_cols[0] };
static const char *const norm_cols[] = {"baseline", "return_norm_median", "return_norm_iqm",
                                        "return_norm_iqm_lo", "return_norm_iqm_hi"};
enum { N_NORM = sizeof norm_cols / sizeof norm_cols[0] };

// Write ROOT/<stem>.csv and ROOT/<stem>.md (both atomically) unless rc already failed; free the
// table; hand the markdown text to the caller on success (it prints it), free it otherwise.
static int report_write_outputs(const report_t *rep, const char *stem, csv_table_t *t,
                                char *text, size_t len, int rc, char **md_out) {
  char path[REPORT_PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%s.csv", rep->root, stem);
  if (!rc) rc = csvlog_write_table(path, t);
  snprintf(path, sizeof path, "%s/%s.md", rep->root, stem);
  if (!rc) rc = fs_write_atomic(path, text, len);
  csvlog_table_free(t);
  if (rc) {
    free(text);
    return rc;
  }
  *md_out = text;
  return 0;
}

static int report_write_summary(const report_t *rep, const report_opts_t *o, char **md_out) {
  enum { N_MAX = N_SUMMARY + N_NORM + 3 * REPORT_MAX_COLUMNS };
  const char *cols[N_MAX];
  char extra_names[3 * REPORT_MAX_COLUMNS][REPORT_COLUMN_NAME + 8];
  int nc = N_SUMMARY;
  for (int i = 0; i < N_SUMMARY; i++) cols[i] = summary_cols[i];
  if (o->baseline)
    for (int i = 0; i < N_NORM; i++) cols[nc++] = norm_cols[i];
  int first_extra = nc;
  static const char *const suffix[3] = {"median", "p25", "p75"};
  for (int j = 0; j < o->n_cols; j++)
    for (int q = 0; q < 3; q++) {
      snprintf(extra_names[3 * j + q], sizeof extra_names[0], "%s_%s", o->cols[j], suffix[q]);
      cols[nc++] = extra_names[3 * j + q];
    }
  csv_table_t t;
  int rc = csvlog_table_init(&t, cols, nc);
  if (rc) return rc;
  char *text = NULL;
  size_t len = 0;
  FILE *md = open_memstream(&text, &len);
  if (!md) {
    csvlog_table_free(&t);
    return err_fail("out of memory");
  }
  int grid = report_any_grid(rep);
  fprintf(md,
          "| env | algo |%s cost limit | seeds (done) | final return median [p25, p75] | "
          "return IQM [95%% CI] | final cost median [p25, p75] | cost IQM [95%% CI] | "
          "satisfied | steps to 80%% | FPS |%s",
          grid ? " grid |" : "", o->baseline ? " norm. return median | norm. IQM [95% CI] |" : "");
  for (int j = 0; j < o->n_cols; j++) fprintf(md, " final %s median [p25, p75] |", o->cols[j]);
  fprintf(md, "\n|---|---|%s---|---|---|---|---|---|---|---|---|%s", grid ? "---|" : "",
          o->baseline ? "---|---|" : "");
  for (int j = 0; j < o->n_cols; j++) fprintf(md, "---|");
  fputc('\n', md);
  for (int k = 0; k < rep->n_cells && !rc; k++) {
    const report_cell_t *c = &rep->cells[k];
    const report_dist_t *r = &c->ret, *q = &c->cost;
    double v[] = {r->median,
                  r->p25,
                  r->p75,
                  r->mean,
                  r->iqm,
                  r->iqm_lo,
                  r->iqm_hi,
                  q->median,
                  q->p25,
                  q->p75,
                  q->mean,
                  q->iqm,
                  q->iqm_lo,
                  q->iqm_hi,
                  c->satisfied_rate,
                  c->sample_eff_median,
                  c->fps_median};
    enum { NV = sizeof v / sizeof v[0] };
    char buf[N_MAX][REPORT_PATH_MAX];
    snprintf(buf[0], sizeof buf[0], "%s", c->label);
    snprintf(buf[1], sizeof buf[1], "%s", c->env);
    snprintf(buf[2], sizeof buf[2], "%s", c->algo);
    snprintf(buf[3], sizeof buf[3], "%s", c->grid);
    csvlog_format_double(c->cost_limit, buf[4], sizeof buf[4]);
    if (c->mixed)
      snprintf(buf[5], sizeof buf[5], "mixed");
    else
      snprintf(buf[5], sizeof buf[5], "%016llx", (unsigned long long)c->hash);
    snprintf(buf[6], sizeof buf[6], "%d", c->n);
    snprintf(buf[7], sizeof buf[7], "%d", c->n_done);
    for (int i = 0; i < NV; i++) csvlog_format_double(v[i], buf[8 + i], sizeof buf[8 + i]);
    double b = NAN, nm = NAN, ni = NAN, nlo = NAN, nhi = NAN;
    if (o->baseline) {
      b = report_baseline_of(rep, c, o->baseline);
      nm = report_normalise(r->median, b);
      ni = report_normalise(r->iqm, b);
      nlo = report_normalise(r->iqm_lo, b);
      nhi = report_normalise(r->iqm_hi, b);
      double nv[] = {b, nm, ni, nlo, nhi};
      for (int i = 0; i < N_NORM; i++)
        csvlog_format_double(nv[i], buf[N_SUMMARY + i], sizeof buf[0]);
    }
    for (int j = 0; j < o->n_cols; j++) {
      const report_dist_t *d = &o->col_dist[(size_t)k * o->n_cols + j];
      double dv[3] = {d->median, d->p25, d->p75};
      for (int q = 0; q < 3; q++)
        csvlog_format_double(dv[q], buf[first_extra + 3 * j + q], sizeof buf[0]);
    }
    const char *cells[N_MAX];
    for (int i = 0; i < nc; i++) cells[i] = buf[i];
    rc = csvlog_table_add_row(&t, cells);

    char m1[128], m2[128], m3[128], m4[128], lim[32], se[32], fps[32];
    md_triple(m1, sizeof m1, r->median, r->p25, r->p75);
    md_triple(m2, sizeof m2, r->iqm, r->iqm_lo, r->iqm_hi);
    md_triple(m3, sizeof m3, q->median, q->p25, q->p75);
    md_triple(m4, sizeof m4, q->iqm, q->iqm_lo, q->iqm_hi);
    md_num(lim, sizeof lim, c->cost_limit);
    md_steps(se, sizeof se, c->sample_eff_median);
    if (isfinite(c->fps_median))
      snprintf(fps, sizeof fps, "%.0f", c->fps_median);
    else
      snprintf(fps, sizeof fps, "–");
    int sat = (int)lround(c->satisfied_rate * c->n);
    fprintf(md, "| %s | %s%s%s%s | %s | %d (%d) | %s | %s | %s | %s | %d/%d | %s | %s |", c->env,
            c->algo, grid ? " | " : "", grid ? c->grid : "", c->mixed ? " (mixed)" : "", lim, c->n,
            c->n_done, m1, m2, m3, m4, c->n ? sat : 0, c->n, se, fps);
    if (o->baseline) {
      char n1[32], n2[128];
      md_num(n1, sizeof n1, nm);
      md_triple(n2, sizeof n2, ni, nlo, nhi);
      fprintf(md, " %s | %s |", n1, n2);
    }
    for (int j = 0; j < o->n_cols; j++) {
      const report_dist_t *d = &o->col_dist[(size_t)k * o->n_cols + j];
      char cm[128];
      if (d->n)
        md_triple(cm, sizeof cm, d->median, d->p25, d->p75);
      else
        snprintf(cm, sizeof cm, "–");
      fprintf(md, " %s |", cm);
    }
    fputc('\n', md);
  }
  fprintf(md,
          "\nFinal return / cost: mean over the last 10%% of a run's updates; median and "
          "percentiles over seeds (linear interpolation). IQM: mean of the middle 50%% of "
          "seeds (floor(n/4) cut at each end), 95%% percentile-bootstrap CI over %d "
          "resamples of the seeds. Satisfied: final cost <= cost limit. Steps to 80%%: "
          "median env step at which the moving average (10%% of updates) of the return "
          "covers 80%% of the way from its initial to its final value. FPS: env steps / wall "
          "seconds, median over seeds.",
          STATS_BOOT_REPS);
  if (o->baseline)
    fprintf(md,
            " Normalised return: 1 + (x - b)/|b| with b the median final return of %s in "
            "the same env and grid (= x/b for b > 0).",
            o->baseline);
  if (o->n_cols)
    fprintf(md, " Other columns: the same final-window mean per run, over the runs that have the "
                "column (– where none has).");
  fputc('\n', md);
  fclose(md);
  return report_write_outputs(rep, "summary", &t, text, len, rc, md_out);
}

static const char *const pair_cols[] = {"env",         "grid",   "algo_x",    "algo_y",
                                        "n_x",         "n_y",    "p_return",  "p_return_lo",
                                        "p_return_hi", "p_cost", "p_cost_lo", "p_cost_hi"};
enum { N_PAIR = sizeof pair_cols / sizeof pair_cols[0] };

// P(X > Y) on final return and P(cost_X < cost_Y) for every two cells of one env and grid label
// with different algorithms; finite finals only.
static int report_write_pairs(const report_t *rep, char **md_out) {
  csv_table_t t;
  int rc = csvlog_table_init(&t, pair_cols, N_PAIR);
  if (rc) return rc;
  char *text = NULL;
  size_t len = 0;
  FILE *md = open_memstream(&text, &len);
  if (!md) {
    csvlog_table_free(&t);
    return err_fail("out of memory");
  }
  fprintf(md,
          "| env | grid | X | Y | P(return X > return Y) [95%% CI] | P(cost X < cost Y) "
          "[95%% CI] |\n|---|---|---|---|---|---|\n");
  for (int a = 0; a < rep->n_cells && !rc; a++)
    for (int b = a + 1; b < rep->n_cells && !rc; b++) {
      const report_cell_t *x = &rep->cells[a], *y = &rep->cells[b];
      if (strcmp(x->env, y->env) || strcmp(x->grid, y->grid) || !strcmp(x->algo, y->algo)) continue;
      double *v = err_calloc((size_t)(x->n + y->n) * 2 + 4, sizeof(double));
      if (!v) {
        rc = ERR_FAIL;
        break;
      }
      double *xr = v, *yr = xr + x->n, *xc = yr + y->n, *yc = xc + x->n;
      int nxr = report_values(x, offsetof(report_run_t, final_return), xr);
      int nyr = report_values(y, offsetof(report_run_t, final_return), yr);
      int nxc = report_values(x, offsetof(report_run_t, final_cost), xc);
      int nyc = report_values(y, offsetof(report_run_t, final_cost), yc);
      double p[6];
      char key[2 * REPORT_PATH_MAX + 4 * CFG_STR_MAX];
      snprintf(key, sizeof key, "%s|%s|%s|%s|%s|%s", x->label, x->env, x->algo, y->label, y->env,
               y->algo);
      uint64_t h = rng_hash_str(key);
      p[0] = stats_prob_improvement(xr, nxr, yr, nyr);
      rc =
          stats_bootstrap_pi_ci(xr, nxr, yr, nyr, STATS_BOOT_REPS, STATS_CI_LEVEL, h, &p[1], &p[2]);
      p[3] = stats_prob_improvement(yc, nyc, xc, nxc);  // lower cost is better
      if (!rc)
        rc = stats_bootstrap_pi_ci(yc, nyc, xc, nxc, STATS_BOOT_REPS, STATS_CI_LEVEL, h ^ 1, &p[4],
                                   &p[5]);
      free(v);
      char buf[N_PAIR][REPORT_PATH_MAX];
      snprintf(buf[0], sizeof buf[0], "%s", x->env);
      snprintf(buf[1], sizeof buf[1], "%s", x->grid);
      snprintf(buf[2], sizeof buf[2], "%s", x->algo);
      snprintf(buf[3], sizeof buf[3], "%s", y->algo);
      snprintf(buf[4], sizeof buf[4], "%d", nxr);
      snprintf(buf[5], sizeof buf[5], "%d", nyr);
      for (int i = 0; i < 6; i++) csvlog_format_double(p[i], buf[6 + i], sizeof buf[0]);
      const char *cells[N_PAIR];
      for (int i = 0; i < N_PAIR; i++) cells[i] = buf[i];
      if (!rc) rc = csvlog_table_add_row(&t, cells);
      char t1[128], t2[128];
      md_triple(t1, sizeof t1, p[0], p[1], p[2]);
      md_triple(t2, sizeof t2, p[3], p[4], p[5]);
      fprintf(md, "| %s | %s | %s | %s | %s | %s |\n", x->env, x->grid, x->algo, y->algo, t1, t2);
    }
  fprintf(md,
          "\nP(X > Y): probability that a random seed of X beats a random seed of Y "
          "(Mann-Whitney U / (n_x n_y), ties 1/2), 95%% CI from %d independent bootstrap "
          "resamples of the seeds of X and of Y.\n",
          STATS_BOOT_REPS);
  fclose(md);
  return report_write_outputs(rep, "pairs", &t, text, len, rc, md_out);
}

static void report_usage(FILE *f) {
  fprintf(f,
          "usage: safemarl report DIR [--baseline ALGO] [--allow-mixed] [--pairs] [--columns "
          "C1,C2,...]\n"
          "Finds every run directory under DIR (config.yaml + progress.csv). A cell is the parent\n"
          "directory of runs (<env>/<algo>[/<grid>]/seed<k> -> <env>/<algo>[/<grid>]); its runs\n"
          "must share one config hash (all keys but the seed) unless --allow-mixed. Writes\n"
          "DIR/summary.csv and DIR/summary.md (printed) with, per cell: seeds and seeds done,\n"
          "final return and final cost (mean over the last 10%% of updates) as median, p25/p75,\n"
          "mean and IQM with a 95%% stratified-bootstrap CI (%d resamples, fixed seed), the\n"
          "constraint-satisfaction rate, steps to 80%% of the return improvement and FPS.\n"
          "Writes DIR/pairs.csv: P(X > Y) between the algorithms of one env (printed with\n"
          "--pairs).\n"
          "  --baseline ALGO  add returns normalised by ALGO's median final return in the same\n"
          "                   env and grid: 1 + (x - b)/|b| (= x/b for b > 0)\n"
          "  --columns C,...  also summarise these progress.csv columns (e.g. the env's "
          "ep_arrivals,\n"
          "                   ep_success): final-window mean per run, median [p25, p75] per cell "
          "(C_median,\n"
          "                   C_p25, C_p75 in summary.csv); up to %d\n",
          STATS_BOOT_REPS, REPORT_MAX_COLUMNS);
}

int report_main(int argc, char **argv) {
  const char *dir = NULL;
  report_opts_t o = {0};
  int allow_mixed = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      report_usage(stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--allow-mixed")) {
      allow_mixed = 1;
    } else if (!strcmp(argv[i], "--pairs")) {
      o.print_pairs = 1;
    } else if (!strcmp(argv[i], "--baseline")) {
      if (i + 1 >= argc || argv[i + 1][0] == '-')
        return err_input("command line: --baseline needs an algorithm name");
      o.baseline = argv[++i];
    } else if (!strcmp(argv[i], "--columns")) {
      if (i + 1 >= argc || argv[i + 1][0] == '-')
        return err_input("command line: --columns needs a list of column names");
      int rc = report_parse_columns(argv[++i], &o);
      if (rc) return rc;
    } else if (argv[i][0] == '-' || dir) {
      return err_input("command line: unknown argument '%s' (safemarl report --help)", argv[i]);
    } else {
      dir = argv[i];
    }
  }
  if (!dir) return err_input("command line: report needs a directory");
  report_t rep;
  int rc = report_collect(dir, allow_mixed, &rep);
  if (rc) return rc;
  if (o.baseline) {
    int any = 0;
    for (int k = 0; k < rep.n_cells; k++) any |= !strcmp(rep.cells[k].algo, o.baseline);
    if (!any)
      rc = err_input("command line: --baseline %s: no runs of that algorithm under %s", o.baseline,
                     dir);
  }
  if (!rc) rc = report_summarise(&rep);
  if (!rc) rc = report_summarise_columns(&rep, &o);
  char *md = NULL, *pairs = NULL;
  if (!rc) rc = report_write_summary(&rep, &o, &md);
  if (!rc) rc = report_write_pairs(&rep, &pairs);
  if (!rc) {
    fputs(md, stdout);
    if (o.print_pairs) {
      fputc('\n', stdout);
      fputs(pairs, stdout);
    }
  }
  free(md);
  free(pairs);
  free(o.col_dist);
  report_free(&rep);
  return rc;
}
