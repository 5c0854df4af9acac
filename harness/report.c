// report: per-cell summaries of a directory tree of runs (see report.h). Reads only what runs
// wrote; never re-runs anything. Cells are listed in the order of their first run path.
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csvlog.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "harness/report.h"
#include "harness/run.h"
#include "harness/stats.h"

int report_read_run(const char *run_dir, report_run_t *out) {
  char path[1100];
  snprintf(path, sizeof path, "%s/progress.csv", run_dir);
  csv_table_t t;
  int rc = csvlog_read(path, &t);
  if (rc) return rc;
  int cr = csvlog_col(&t, "ep_return"), cc = csvlog_col(&t, "ep_cost"),
      cs = csvlog_col(&t, "env_steps");
  if (cr < 0 || cc < 0 || cs < 0) {
    csvlog_table_free(&t);
    return err_input("%s: missing column ep_return, ep_cost or env_steps", path);
  }
  double *r = calloc((size_t)t.nrows + 1, sizeof(double));
  double *c = calloc((size_t)t.nrows + 1, sizeof(double));
  double steps = 0;
  if (!r || !c) rc = err_fail("out of memory");
  for (int i = 0; i < t.nrows && !rc; i++) {
    rc = csvlog_cell_double(&t, path, i, cr, &r[i]);
    if (!rc) rc = csvlog_cell_double(&t, path, i, cc, &c[i]);
    if (!rc) rc = csvlog_cell_double(&t, path, i, cs, &steps);
  }
  if (!rc) {
    out->final_return = stats_final_mean(r, t.nrows);
    out->final_cost = stats_final_mean(c, t.nrows);
    out->env_steps = (long long)steps;
    out->updates = t.nrows;
  }
  free(r);
  free(c);
  csvlog_table_free(&t);
  return rc;
}

// ---- collecting run directories ---------------------------------------------------------------

typedef struct {
  char **dirs;
  int n, cap;
} dir_list_t;

static dir_list_t *g_found;

static int report_visit(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  if (type != FTW_F || strcmp(path + ftw->base, "progress.csv") != 0) return 0;
  char dir[1100];
  snprintf(dir, sizeof dir, "%.*s", ftw->base > 0 ? ftw->base - 1 : 0, path);
  char cfg[1200];
  snprintf(cfg, sizeof cfg, "%s/config.yaml", dir);
  if (!fs_exists(cfg)) return 0;
  if (g_found->n == g_found->cap) {
    int cap = g_found->cap ? 2 * g_found->cap : 64;
    char **d = realloc(g_found->dirs, sizeof(char *) * cap);
    if (!d) return -1;
    g_found->dirs = d;
    g_found->cap = cap;
  }
  g_found->dirs[g_found->n++] = strdup(dir);
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// ---- cells ---------------------------------------------------------------------------------

typedef struct {
  unsigned long long hash;
  char env[CFG_STR_MAX], algo[CFG_STR_MAX];
  double cost_limit;
  long long steps;
  int n, done;
  double *ret, *cost;
} cell_t;

static void fmt(double v, char *buf, int n) {
  csvlog_format_double(v, buf, n);
}

static int report_write(const char *dir, cell_t *cells, int n_cells) {
  static const char *const cols[] = {
      "env",           "algo",        "cost_limit", "config_hash", "seeds",
      "seeds_done",    "return_median", "return_p25", "return_p75", "cost_median",
      "cost_p25",      "cost_p75",    "satisfied_rate"};
  enum { NC = sizeof cols / sizeof cols[0] };
  csv_table_t t;
  int rc = csvlog_table_init(&t, cols, NC);
  if (rc) return rc;
  char *text = NULL;
  size_t len = 0;
  FILE *md = open_memstream(&text, &len);
  if (!md) return err_fail("out of memory");
  fprintf(md, "| env | algo | cost limit | seeds | final return median [p25, p75] | final cost "
              "median [p25, p75] | satisfied |\n|---|---|---|---|---|---|---|\n");
  for (int k = 0; k < n_cells && !rc; k++) {
    cell_t *c = &cells[k];
    int sat = 0;
    for (int i = 0; i < c->n; i++) sat += c->cost[i] <= c->cost_limit;
    double v[8];
    v[0] = stats_quantile(c->ret, c->n, 0.5);
    v[1] = stats_quantile(c->ret, c->n, 0.25);
    v[2] = stats_quantile(c->ret, c->n, 0.75);
    v[3] = stats_quantile(c->cost, c->n, 0.5);
    v[4] = stats_quantile(c->cost, c->n, 0.25);
    v[5] = stats_quantile(c->cost, c->n, 0.75);
    v[6] = c->n ? (double)sat / c->n : NAN;
    char buf[NC][64];
    snprintf(buf[0], 64, "%s", c->env);
    snprintf(buf[1], 64, "%s", c->algo);
    fmt(c->cost_limit, buf[2], 64);
    snprintf(buf[3], 64, "%016llx", c->hash);
    snprintf(buf[4], 64, "%d", c->n);
    snprintf(buf[5], 64, "%d", c->done);
    for (int i = 0; i < 7; i++) fmt(v[i], buf[6 + i], 64);
    const char *cells_txt[NC];
    for (int i = 0; i < NC; i++) cells_txt[i] = buf[i];
    rc = csvlog_table_add_row(&t, cells_txt);
    fprintf(md, "| %s | %s | %g | %d | %.3f [%.3f, %.3f] | %.3f [%.3f, %.3f] | %d/%d |\n", c->env,
            c->algo, c->cost_limit, c->n, v[0], v[1], v[2], v[3], v[4], v[5], sat, c->n);
  }
  fclose(md);
  char path[1100];
  snprintf(path, sizeof path, "%s/summary.csv", dir);
  if (!rc) rc = csvlog_write_table(path, &t);
  snprintf(path, sizeof path, "%s/summary.md", dir);
  if (!rc) rc = fs_write_atomic(path, text, len);
  if (!rc) fputs(text, stdout);
  free(text);
  csvlog_table_free(&t);
  return rc;
}

int report_main(int argc, char **argv) {
  const char *dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: safemarl report DIR\n"
             "Finds every run directory under DIR (config.yaml + progress.csv), groups runs by "
             "configuration\n(all keys but the seed), and writes DIR/summary.csv and "
             "DIR/summary.md: seeds, and the median and\n25th/75th percentiles of the final "
             "return and final cost (mean over the last 10%% of updates),\nand the fraction "
             "of seeds whose final cost is within the cost limit.\n");
      return 0;
    }
    if (argv[i][0] == '-' || dir)
      return err_input("command line: unknown argument '%s' (safemarl report --help)", argv[i]);
    dir = argv[i];
  }
  if (!dir) return err_input("command line: report needs a directory");
  dir_list_t found = {0};
  g_found = &found;
  if (nftw(dir, report_visit, 32, FTW_PHYS) != 0)
    return err_input("%s: cannot read directory tree", dir);
  if (found.n == 0) return err_input("%s: no run directories found", dir);
  qsort(found.dirs, (size_t)found.n, sizeof(char *), cmp_str);
  cell_t *cells = calloc((size_t)found.n, sizeof(cell_t));
  int n_cells = 0, rc = cells ? 0 : err_fail("out of memory");
  for (int i = 0; i < found.n && !rc; i++) {
    char cfg_path[1200];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.yaml", found.dirs[i]);
    run_config_t cfg;
    rc = run_config_resolve(&cfg, cfg_path, NULL, NULL, NULL, 0);
    env_spec_t spec;
    void *shared = NULL;
    if (!rc) rc = cfg.env_class->shared_create(cfg.env_params, &spec, &shared);
    report_run_t run;
    if (!rc) rc = report_read_run(found.dirs[i], &run);
    if (!rc) {
      unsigned long long h = run_config_hash(&cfg);
      int k = 0;
      while (k < n_cells && cells[k].hash != h) k++;
      cell_t *c = &cells[k];
      if (k == n_cells) {
        n_cells++;
        c->hash = h;
        snprintf(c->env, sizeof c->env, "%s", cfg.run.env);
        snprintf(c->algo, sizeof c->algo, "%s", cfg.run.algo);
        c->cost_limit = spec.cost_limit;
        c->steps = cfg.run.steps;
        c->ret = calloc((size_t)found.n, sizeof(double));
        c->cost = calloc((size_t)found.n, sizeof(double));
        if (!c->ret || !c->cost) rc = err_fail("out of memory");
      }
      if (!rc) {
        c->ret[c->n] = run.final_return;
        c->cost[c->n] = run.final_cost;
        c->n++;
        c->done += run.env_steps >= c->steps;
      }
    }
    if (shared) cfg.env_class->shared_destroy(shared);
    run_config_free(&cfg);
  }
  if (!rc) rc = report_write(dir, cells, n_cells);
  for (int k = 0; k < n_cells; k++) {
    free(cells[k].ret);
    free(cells[k].cost);
  }
  free(cells);
  for (int i = 0; i < found.n; i++) free(found.dirs[i]);
  free(found.dirs);
  return rc;
}
