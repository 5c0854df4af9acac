// plot: figures of a directory tree of runs with gnuplot (run as a subprocess): data files
// (CSV) and one .gp script per figure under DIR/plots/, each script writing a PNG (pngcairo)
// and an SVG. Cells and final figures come from report_collect, so plot and report agree.
// Figures, per env (columns = the env's grid labels, e.g. cost limits or hyperparameters):
//   <env>_curves      cost row above return row (the MAFOCOPS figures' layout): per cell the
//                     median over seeds and a shaded 25-75% band, dashed cost-limit line;
//   <env>_tradeoff    final cost vs final return: one small point per run, the cell's median
//                     with its 25-75% range as cross bars, dashed cost-limit line;
//   <env>_multiplier  the cost Lagrange multiplier over time (median, 25-75% band) for the
//                     algorithms that log one ("nu" where logged next to a KL multiplier
//                     "lambda", as CPO does; otherwise "lambda");
//   gridworld_frontier the exact optimum R*(D) of the gridworld CMDP (lp_gridworld_solve,
//                     sampled adaptively over D) with every run's and cell's final (cost, return).
// Layout: panels placed with explicit screen margins so they align whatever their tick labels;
// the key sits in its own strip below the panels, off the data; colours follow the algorithm
// (matplotlib's tab10) in every figure.
// Seeds are aligned on a common grid of PLOT_GRID env-step values spanning the cell's runs,
// each run's curve linearly interpolated (NaN updates, in which no episode ended, dropped);
// at each grid value the statistics use the runs that cover it. No smoothing unless
// --smooth K (trailing moving average over K updates, stats_moving_average) is given.
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "harness/lp.h"
#include "harness/report.h"
#include "harness/run.h"
#include "harness/stats.h"

#define PLOT_GRID 200
#define PLOT_MAX_COLORS 10
#define PLOT_PANEL_W 430
#define PLOT_PANEL_H 300

// Matplotlib's tab10: distinguishable, and familiar from the papers' figures.
static const char *const plot_colors[PLOT_MAX_COLORS] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                         "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                         "#bcbd22", "#17becf"};

typedef struct {
  const report_t *rep;
  char dir[REPORT_PATH_MAX];  // DIR/plots
  int smooth;                 // moving-average window in updates (1 = none)
  int n_algos;
  const char *algos[64];  // colour = index here (order of first appearance)
  // Per cell: which series have data (after alignment).
  int *has_ret, *has_mult;
  char (*mult_name)[16];
} plot_ctx_t;

static const char *plot_color(const plot_ctx_t *p, const char *algo) {
  for (int i = 0; i < p->n_algos; i++)
    if (!strcmp(p->algos[i], algo)) return plot_colors[i % PLOT_MAX_COLORS];
  return "#000000";
}

// Text inside a single-quoted gnuplot string: drop quotes and backslashes.
static void gp_text(char *out, size_t n, const char *s) {
  size_t j = 0;
  for (; *s && j + 1 < n; s++)
    if (*s != '\'' && *s != '\\') out[j++] = *s;
  out[j] = 0;
}

static void plot_cell_file(char *out, size_t n, int k, const char *what) {
  snprintf(out, n, "data/cell%d_%s.csv", k, what);
}

// ---- aligning seeds ---------------------------------------------------------------------------

// The finite points of one series of one run, smoothed.
typedef struct {
  int n;
  double *x, *y;
} series_t;

static int series_make(const double *steps, const double *y, int n, int smooth, series_t *s) {
  s->x = err_calloc((size_t)n + 1, sizeof(double));
  s->y = err_calloc((size_t)n + 1, sizeof(double));
  double *tmp = err_calloc((size_t)n + 1, sizeof(double));
  if (!s->x || !s->y || !tmp) {
    free(tmp);
    return ERR_FAIL;
  }
  stats_moving_average(y, n, smooth, tmp);
  s->n = 0;
  for (int i = 0; i < n; i++)
    if (isfinite(tmp[i]) && isfinite(y[i]) && isfinite(steps[i])) {
      s->x[s->n] = steps[i];
      s->y[s->n++] = tmp[i];
    }
  free(tmp);
  return 0;
}

static void series_free(series_t *s) {
  free(s->x);
  free(s->y);
}

enum { S_RET, S_COST, S_MULT, S_N };

// Write data/cell<k>_curve.csv: env_steps, runs, then median, p25, p75 of return, cost and
// multiplier at each grid value (nan where no run covers it).
static int plot_cell_curves(plot_ctx_t *p, int k) {
  const report_cell_t *c = &p->rep->cells[k];
  series_t *s = err_calloc((size_t)c->n * S_N + 1, sizeof(series_t));
  double *v = err_calloc((size_t)c->n + 1, sizeof(double));
  int rc = s && v ? 0 : ERR_FAIL;
  int has_mult = 0;
  for (int i = 0; i < c->n && !rc; i++) {
    report_curve_t cv;
    rc = report_read_curve(c->runs[i].dir, &cv);
    if (rc) break;
    const double *ys[S_N] = {cv.ret, cv.cost, cv.mult};
    for (int j = 0; j < S_N && !rc; j++)
      if (ys[j]) rc = series_make(cv.steps, ys[j], cv.n, p->smooth, &s[i * S_N + j]);
    if (cv.mult) {
      has_mult = 1;
      snprintf(p->mult_name[k], sizeof p->mult_name[k], "%s", cv.mult_name);
    }
    report_curve_free(&cv);
  }
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < c->n && !rc; i++)
    for (int j = 0; j < S_N; j++) {
      const series_t *e = &s[i * S_N + j];
      if (e->n == 0) continue;
      lo = fmin(lo, e->x[0]);
      hi = fmax(hi, e->x[e->n - 1]);
    }
  char *text = NULL;
  size_t len = 0;
  FILE *f = rc ? NULL : open_memstream(&text, &len);
  if (!rc && !f) rc = err_fail("out of memory");
  int found[S_N] = {0};
  if (f) {
    fprintf(f,
            "env_steps,runs,ret_median,ret_p25,ret_p75,cost_median,cost_p25,cost_p75,"
            "mult_median,mult_p25,mult_p75\n");
    int g_n = isfinite(lo) ? (hi > lo ? PLOT_GRID : 1) : 0;
    for (int g = 0; g < g_n; g++) {
      double xq = g_n > 1 ? lo + (hi - lo) * g / (g_n - 1) : lo;
      if (g == g_n - 1) xq = hi;  // exact end point despite rounding
      double q[S_N][3];
      int covering = 0;
      for (int j = 0; j < S_N; j++) {
        int m = 0;
        for (int i = 0; i < c->n; i++) {
          const series_t *e = &s[i * S_N + j];
          double y = stats_interp(e->x, e->y, e->n, xq);
          if (isfinite(y)) v[m++] = y;
        }
        if (j == S_RET) covering = m;
        found[j] |= m > 0;
        q[j][0] = stats_quantile(v, m, 0.5);
        q[j][1] = stats_quantile(v, m, 0.25);
        q[j][2] = stats_quantile(v, m, 0.75);
      }
      fprintf(f, "%.10g,%d", xq, covering);
      for (int j = 0; j < S_N; j++)
        for (int t = 0; t < 3; t++)
          if (isfinite(q[j][t]))
            fprintf(f, ",%.10g", q[j][t]);
          else
            fprintf(f, ",nan");
      fputc('\n', f);
    }
    fclose(f);
    char path[2 * REPORT_PATH_MAX], name[64];
    plot_cell_file(name, sizeof name, k, "curve");
    snprintf(path, sizeof path, "%s/%s", p->dir, name);
    rc = fs_write_atomic(path, text, len);
    free(text);
  }
  p->has_ret[k] = found[S_RET] && found[S_COST];
  p->has_mult[k] = has_mult && found[S_MULT];
  for (int i = 0; s && i < c->n * S_N; i++) series_free(&s[i]);
  free(s);
  free(v);
  return rc;
}

// data/cell<k>_final.csv (cost, return per run, finite only) and data/cell<k>_median.csv
// (cost median, return median, cost p25, cost p75, return p25, return p75).
static int plot_cell_finals(const plot_ctx_t *p, int k) {
  const report_cell_t *c = &p->rep->cells[k];
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return err_fail("out of memory");
  fprintf(f, "final_cost,final_return,seed\n");
  for (int i = 0; i < c->n; i++)
    if (isfinite(c->runs[i].final_cost) && isfinite(c->runs[i].final_return))
      fprintf(f, "%.10g,%.10g,%d\n", c->runs[i].final_cost, c->runs[i].final_return,
              c->runs[i].seed);
  fclose(f);
  char path[2 * REPORT_PATH_MAX], name[64];
  plot_cell_file(name, sizeof name, k, "final");
  snprintf(path, sizeof path, "%s/%s", p->dir, name);
  int rc = fs_write_atomic(path, text, len);
  free(text);
  if (rc) return rc;
  text = NULL;
  f = open_memstream(&text, &len);
  if (!f) return err_fail("out of memory");
  fprintf(f, "cost_median,return_median,cost_p25,cost_p75,return_p25,return_p75\n");
  if (c->ret.n > 0 && c->cost.n > 0)
    fprintf(f, "%.10g,%.10g,%.10g,%.10g,%.10g,%.10g\n", c->cost.median, c->ret.median, c->cost.p25,
            c->cost.p75, c->ret.p25, c->ret.p75);
  fclose(f);
  plot_cell_file(name, sizeof name, k, "median");
  snprintf(path, sizeof path, "%s/%s", p->dir, name);
  rc = fs_write_atomic(path, text, len);
  free(text);
  return rc;
}

// ---- scripts ----------------------------------------------------------------------------------

// The env's panels: its distinct grid labels in cell order, with the first cell's cost limit
// and the largest env step of the panel's runs.
typedef struct {
  int n;
  const char *grid[64];
  double cost_limit[64], x_max[64];
} panels_t;

static void plot_panels(const plot_ctx_t *p, const char *env, panels_t *pn) {
  pn->n = 0;
  for (int k = 0; k < p->rep->n_cells; k++) {
    const report_cell_t *c = &p->rep->cells[k];
    if (strcmp(c->env, env)) continue;
    int j = 0;
    while (j < pn->n && strcmp(pn->grid[j], c->grid)) j++;
    if (j == 64) continue;
    if (j == pn->n) {
      pn->grid[pn->n] = c->grid;
      pn->cost_limit[pn->n] = c->cost_limit;
      pn->x_max[pn->n++] = 0;
    }
    for (int i = 0; i < c->n; i++) pn->x_max[j] = fmax(pn->x_max[j], (double)c->runs[i].env_steps);
  }
}

// Page layout in pixels: rows x cols panels placed with explicit screen margins (so panels
// align whatever their tick labels), a figure title on top and the key in its own strip at
// the bottom, off the data.
enum {
  L_LEFT = 105,
  L_RIGHT = 30,
  L_TOP = 70,
  L_GAP_X = 95,
  L_GAP_Y = 80,
  L_BOTTOM = 55,
  L_KEY_ROW = 24,
  L_KEY_COL = 215
};

typedef struct {
  int w, h, rows, cols, pw, ph, key_rows;
} layout_t;

static layout_t plot_layout(int rows, int cols, int n_key, int pw, int ph) {
  layout_t l = {.rows = rows, .cols = cols, .pw = pw, .ph = ph};
  l.w = L_LEFT + L_RIGHT + cols * pw + (cols - 1) * L_GAP_X;
  int key_cols = (l.w - 40) / L_KEY_COL > 0 ? (l.w - 40) / L_KEY_COL : 1;
  l.key_rows = (n_key + key_cols - 1) / key_cols;
  l.h = L_TOP + rows * ph + (rows - 1) * L_GAP_Y + L_BOTTOM + l.key_rows * L_KEY_ROW + 16;
  return l;
}

// Every script renders the same commands to PNG and SVG; `reset` starts each pass clean.
static void gp_begin(FILE *f, const char *name, const layout_t *l, const char *title) {
  char t[256];
  gp_text(t, sizeof t, title);
  fprintf(f,
          "do for [fmt in 'png svg'] {\n"
          "  reset\n"
          "  if (fmt eq 'png') {\n"
          "    set terminal pngcairo noenhanced size %d,%d font 'DejaVu Sans,11'\n"
          "  } else {\n"
          "    set terminal svg noenhanced size %d,%d font 'DejaVu Sans,11' background "
          "rgb 'white'\n"
          "  }\n"
          "  set output '%s.'.fmt\n"
          "  set datafile separator comma\n"
          "  set datafile missing 'nan'\n"
          "  set style fill transparent solid 0.22 noborder\n"
          "  set grid back lc rgb '#e0e0e0'\n"
          "  set key off\n"
          "  set multiplot title '%s' font ',13'\n",
          l->w, l->h, l->w, l->h, name, t);
}

static void gp_end(FILE *f) {
  fprintf(f, "  unset multiplot\n  set output\n}\n");
}

static void gp_panel_at(FILE *f, const layout_t *l, int row, int col) {
  double x0 = L_LEFT + col * (l->pw + L_GAP_X), y0 = L_TOP + row * (l->ph + L_GAP_Y);
  fprintf(f,
          "  set lmargin at screen %.4f\n  set rmargin at screen %.4f\n"
          "  set tmargin at screen %.4f\n  set bmargin at screen %.4f\n",
          x0 / l->w, (x0 + l->pw) / l->w, 1 - y0 / l->h, 1 - (y0 + l->ph) / l->h);
}

// x axis of env steps: [0, x_max] with three to five ticks at round values, labelled 250k, 1.5M.
static void gp_step_axis(FILE *f, double x_max) {
  if (!(x_max > 0)) {
    fprintf(f, "  set autoscale x\n  set xtics autofreq\n");
    return;
  }
  // The smallest round step giving at most five intervals.
  double raw = x_max / 5, mag = pow(10, floor(log10(raw))), step = 10 * mag;
  static const double nice[] = {1, 2, 2.5, 5, 10};
  for (int i = 0; i < 5; i++)
    if (nice[i] * mag >= raw) {
      step = nice[i] * mag;
      break;
    }
  fprintf(f, "  set xrange [0:%.10g]\n  set xtics (", x_max);
  for (int i = 0; i * step <= x_max * (1 + 1e-9); i++) {
    double v = i * step;
    char lab[32];
    if (v == 0)
      snprintf(lab, sizeof lab, "0");
    else if (step >= 1e6 || v >= 1e6)
      snprintf(lab, sizeof lab, "%gM", v / 1e6);
    else if (v >= 1e3)
      snprintf(lab, sizeof lab, "%gk", v / 1e3);
    else
      snprintf(lab, sizeof lab, "%g", v);
    fprintf(f, "%s'%s' %.10g", i ? ", " : "", lab, v);
  }
  fprintf(f, ")\n");
}

// The key strip: a border-less plot of NaN-valued entries across the page bottom.
static void gp_key_strip(FILE *f, const layout_t *l, const char *entries) {
  if (!entries[0]) return;
  fprintf(f,
          "  unset title\n  unset xlabel\n  unset ylabel\n  unset border\n  unset tics\n"
          "  unset grid\n  unset arrow\n  unset label\n  set xrange [0:1]\n  set yrange [0:1]\n"
          "  set lmargin at screen 0.01\n  set rmargin at screen 0.99\n"
          "  set bmargin at screen 0.005\n  set tmargin at screen %.4f\n"
          "  set key center center horizontal Left reverse samplen 2 width 1\n"
          "  plot %s\n",
          (double)(l->key_rows * L_KEY_ROW + 14) / l->h, entries);
}

// Key entries for the algorithms present in the env (colour = algorithm): lines or points,
// each label optionally suffixed per algorithm; extra entries appended.
static int gp_key_text(const plot_ctx_t *p, const char *env, int points, int need_mult,
                       const char *extra, char *out, size_t n) {
  size_t used = 0;
  int count = 0;
  out[0] = 0;
  for (int a = 0; a < p->n_algos; a++) {
    const char *suffix = NULL;
    int present = 0;
    for (int k = 0; k < p->rep->n_cells; k++) {
      const report_cell_t *c = &p->rep->cells[k];
      if (strcmp(c->env, env) || strcmp(c->algo, p->algos[a])) continue;
      if (need_mult && !p->has_mult[k]) continue;
      present = 1;
      if (need_mult) suffix = p->mult_name[k];
    }
    if (!present) continue;
    char t[CFG_STR_MAX + 32], label[CFG_STR_MAX + 32];
    snprintf(label, sizeof label, "%s%s%s%s", p->algos[a], suffix ? " (" : "", suffix ? suffix : "",
             suffix ? ")" : "");
    gp_text(t, sizeof t, label);
    int w =
        snprintf(out + used, n - used, "%sNaN with %s lc rgb '%s' title '%s'", count ? ", " : "",
                 points ? "points pt 7 ps 1.4" : "lines lw 2.5", plot_color(p, p->algos[a]), t);
    if (w > 0 && (size_t)w < n - used) used += (size_t)w;
    count++;
  }
  if (extra) {
    int w = snprintf(out + used, n - used, "%s%s", count ? ", " : "", extra);
    if (w > 0 && (size_t)w < n - used) used += (size_t)w;
    count++;
  }
  return count;
}

static const char *const limit_entry =
    "NaN with lines dt 2 lw 1.5 lc rgb 'black' title 'cost limit'";

// A panel without data keeps its empty frame: gnuplot refuses a plot whose points are all
// undefined, so it draws a fully transparent constant ('#AARRGGBB', AA = ff); after "plot ".
static void gp_empty_panel(FILE *f) {
  fprintf(f, "0 with lines lc rgb '#ff000000' notitle");
}

// One panel of curves: band + median line per cell of (env, grid) with data. col is the
// data column of the median (ret 3, cost 6, mult 9; p25/p75 follow); optional constant line.
static void gp_curve_panel(FILE *f, const plot_ctx_t *p, const char *env, const char *grid, int col,
                           int mult, double hline) {
  int n = 0;
  fprintf(f, "  plot ");
  for (int k = 0; k < p->rep->n_cells; k++) {
    const report_cell_t *c = &p->rep->cells[k];
    if (strcmp(c->env, env) || strcmp(c->grid, grid)) continue;
    if (mult ? !p->has_mult[k] : !p->has_ret[k]) continue;
    char name[64];
    plot_cell_file(name, sizeof name, k, "curve");
    const char *color = plot_color(p, c->algo);
    fprintf(f,
            "%s'%s' using 1:%d:%d with filledcurves lc rgb '%s' notitle, \\\n"
            "    '' using 1:%d with lines lw 2.5 lc rgb '%s' notitle",
            n ? ", \\\n    " : "", name, col + 1, col + 2, color, col, color);
    n++;
  }
  if (isfinite(hline)) {
    fprintf(f, "%s%.10g with lines dt 2 lw 1.5 lc rgb 'black' notitle", n ? ", \\\n    " : "",
            hline);
    n++;
  }
  if (n == 0) gp_empty_panel(f);
  fprintf(f, "\n");
}

static void gp_panel_title(FILE *f, const char *env, const char *grid) {
  char t[REPORT_PATH_MAX];
  gp_text(t, sizeof t, grid[0] ? grid : env);
  fprintf(f, "  set title '%s'\n", t);
}

static int plot_write_script(const plot_ctx_t *p, const char *name, const char *text, size_t len) {
  char path[2 * REPORT_PATH_MAX];
  snprintf(path, sizeof path, "%s/%s.gp", p->dir, name);
  return fs_write_atomic(path, text, len);
}

static int plot_curves_script(const plot_ctx_t *p, const char *env, char *name, size_t name_n) {
  panels_t pn;
  plot_panels(p, env, &pn);
  char key[8192];
  int n_key = gp_key_text(p, env, 0, 0, limit_entry, key, sizeof key);
  layout_t l = plot_layout(2, pn.n, n_key, PLOT_PANEL_W, PLOT_PANEL_H);
  snprintf(name, name_n, "%s_curves", env);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return err_fail("out of memory");
  fprintf(f,
          "# %s: learning curves, cost row above return row (the MAFOCOPS figures' layout).\n"
          "# Per cell: median over seeds (line) and 25-75%% band on a common env-step grid\n"
          "# (each seed linearly interpolated); dashed: cost limit. Written by safemarl plot.\n",
          env);
  char title[CFG_STR_MAX + 64];
  if (p->smooth > 1)
    snprintf(title, sizeof title, "%s (moving average over %d updates)", env, p->smooth);
  else
    snprintf(title, sizeof title, "%s", env);
  gp_begin(f, name, &l, title);
  for (int row = 0; row < 2; row++)
    for (int j = 0; j < pn.n; j++) {
      gp_panel_at(f, &l, row, j);
      gp_step_axis(f, pn.x_max[j]);
      if (row == 0)
        gp_panel_title(f, env, pn.grid[j]);
      else
        fprintf(f, "  unset title\n");
      fprintf(f, "  set xlabel %s\n", row == 1 ? "'env steps'" : "''");
      fprintf(f, "  set ylabel %s\n",
              j > 0      ? "''"
              : row == 0 ? "'episodic cost'"
                         : "'episodic return'");
      gp_curve_panel(f, p, env, pn.grid[j], row == 0 ? 6 : 3, 0, row == 0 ? pn.cost_limit[j] : NAN);
    }
  gp_key_strip(f, &l, key);
  gp_end(f);
  fclose(f);
  int rc = plot_write_script(p, name, text, len);
  free(text);
  return rc;
}

// name[0] = 0 when no cell of the env logs a multiplier (no figure). One row per algorithm
// (multipliers of different methods differ by orders of magnitude), one column per grid label.
static int plot_multiplier_script(const plot_ctx_t *p, const char *env, char *name, size_t name_n) {
  name[0] = 0;
  panels_t pn;
  plot_panels(p, env, &pn);
  const char *algos[64], *cols[64];
  int n_rows = 0;
  for (int a = 0; a < p->n_algos; a++)
    for (int k = 0; k < p->rep->n_cells; k++) {
      const report_cell_t *c = &p->rep->cells[k];
      if (strcmp(c->env, env) || strcmp(c->algo, p->algos[a]) || !p->has_mult[k]) continue;
      algos[n_rows] = p->algos[a];
      cols[n_rows++] = p->mult_name[k];
      break;
    }
  if (n_rows == 0) return 0;
  layout_t l = plot_layout(n_rows, pn.n, 0, PLOT_PANEL_W, 220);
  snprintf(name, name_n, "%s_multiplier", env);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return err_fail("out of memory");
  fprintf(f,
          "# %s: the cost Lagrange multiplier over training (median over seeds, 25-75%% "
          "band),\n# one row per algorithm (its logged column in the y label). Written by "
          "safemarl plot.\n",
          env);
  gp_begin(f, name, &l, env);
  for (int r = 0; r < n_rows; r++)
    for (int j = 0; j < pn.n; j++) {
      gp_panel_at(f, &l, r, j);
      gp_step_axis(f, pn.x_max[j]);
      if (r == 0)
        gp_panel_title(f, env, pn.grid[j]);
      else
        fprintf(f, "  unset title\n");
      char label[2 * CFG_STR_MAX + 8];
      snprintf(label, sizeof label, "%s: %s", algos[r], cols[r]);
      char t[2 * CFG_STR_MAX + 8];
      gp_text(t, sizeof t, label);
      fprintf(f, "  set xlabel %s\n  set ylabel '%s' tc rgb '%s'\n",
              r == n_rows - 1 ? "'env steps'" : "''", j == 0 ? t : "", plot_color(p, algos[r]));
      int n = 0;
      fprintf(f, "  plot ");
      for (int k = 0; k < p->rep->n_cells; k++) {
        const report_cell_t *c = &p->rep->cells[k];
        if (strcmp(c->env, env) || strcmp(c->grid, pn.grid[j]) || strcmp(c->algo, algos[r]) ||
            !p->has_mult[k])
          continue;
        char file[64];
        plot_cell_file(file, sizeof file, k, "curve");
        const char *color = plot_color(p, c->algo);
        fprintf(f,
                "%s'%s' using 1:10:11 with filledcurves lc rgb '%s' notitle, \\\n"
                "    '' using 1:9 with lines lw 2.5 lc rgb '%s' notitle",
                n++ ? ", \\\n    " : "", file, color, color);
      }
      if (n == 0) gp_empty_panel(f);
      fprintf(f, "\n");
    }
  gp_end(f);
  fclose(f);
  int rc = plot_write_script(p, name, text, len);
  free(text);
  return rc;
}

// Points of every cell of (env, grid; NULL: all): runs small and hollow, the cell median large
// with its 25-75% ranges as cross bars.
static int gp_final_points(FILE *f, const plot_ctx_t *p, const char *env, const char *grid, int n) {
  for (int k = 0; k < p->rep->n_cells; k++) {
    const report_cell_t *c = &p->rep->cells[k];
    if (strcmp(c->env, env) || (grid && strcmp(c->grid, grid))) continue;
    if (c->ret.n == 0 || c->cost.n == 0) continue;
    char fin[64], med[64];
    plot_cell_file(fin, sizeof fin, k, "final");
    plot_cell_file(med, sizeof med, k, "median");
    const char *color = plot_color(p, c->algo);
    fprintf(f,
            "%s'%s' using 1:2 with points pt 6 ps 1.0 lc rgb '%s' notitle, \\\n"
            "    '%s' using 1:2:3:4:5:6 with xyerrorbars pt 7 ps 1.6 lw 1.5 lc rgb '%s' notitle",
            n ? ", \\\n    " : "", fin, color, med, color);
    n++;
  }
  return n;
}

static int plot_tradeoff_script(const plot_ctx_t *p, const char *env, char *name, size_t name_n) {
  panels_t pn;
  plot_panels(p, env, &pn);
  char key[8192];
  int n_key = gp_key_text(p, env, 1, 0, limit_entry, key, sizeof key);
  layout_t l = plot_layout(1, pn.n, n_key, PLOT_PANEL_W, PLOT_PANEL_H);
  snprintf(name, name_n, "%s_tradeoff", env);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return err_fail("out of memory");
  fprintf(f,
          "# %s: final cost vs final return (mean over the last 10%% of updates). Small\n"
          "# circles: runs; large: the cell's median with its 25-75%% ranges; dashed: cost "
          "limit.\n# Written by safemarl plot.\n",
          env);
  gp_begin(f, name, &l, env);
  fprintf(f, "  set offsets graph 0.08, graph 0.08, graph 0.08, graph 0.08\n");
  for (int j = 0; j < pn.n; j++) {
    gp_panel_at(f, &l, 0, j);
    gp_panel_title(f, env, pn.grid[j]);
    fprintf(f, "  set xlabel 'final episodic cost'\n  set ylabel %s\n  unset arrow\n",
            j == 0 ? "'final episodic return'" : "''");
    if (isfinite(pn.cost_limit[j]))
      fprintf(f,
              "  set arrow from %.10g, graph 0 to %.10g, graph 1 nohead dt 2 lw 1.5 "
              "lc rgb 'black'\n",
              pn.cost_limit[j], pn.cost_limit[j]);
    fprintf(f, "  plot ");
    int n = gp_final_points(f, p, env, pn.grid[j], 0);
    // The limit as an invisible point so that autoscaling always includes the dashed line.
    if (isfinite(pn.cost_limit[j]))
      fprintf(f, "%s'+' using (%.10g):(NaN) notitle", n++ ? ", \\\n    " : "", pn.cost_limit[j]);
    if (n == 0) gp_empty_panel(f);
    fprintf(f, "\n");
  }
  gp_key_strip(f, &l, key);
  gp_end(f);
  fclose(f);
  int rc = plot_write_script(p, name, text, len);
  free(text);
  return rc;
}

// The exact frontier R*(D) is concave and piecewise linear in D (an LP's optimal value in its
// right-hand side), so it is sampled adaptively: solve at the chosen limits, then at the
// midpoint of each segment; a midpoint on the chord proves the segment linear, otherwise both
// halves are refined (depth <= 8). The gridworld needs about ten solves instead of a dense grid.
typedef struct {
  int n;
  double d[600], r[600], c[600];
} frontier_t;

static int frontier_solve(frontier_t *fr, double d, int *feasible) {
  double ret, cost;
  *feasible = 0;
  if (fr->n >= 600) return 0;
  int r = lp_gridworld_solve(d, &ret, &cost, NULL);
  if (r < 0) return r;
  if (r == 0) {
    fr->d[fr->n] = d;
    fr->r[fr->n] = ret;
    fr->c[fr->n++] = cost;
    *feasible = 1;
  }
  return 0;
}

static int frontier_refine(frontier_t *fr, double a, double ra, double b, double rb, int depth) {
  if (depth > 8 || b - a < 1e-9) return 0;
  double m = 0.5 * (a + b);
  int ok, rc = frontier_solve(fr, m, &ok);
  if (rc || !ok) return rc;
  double rm = fr->r[fr->n - 1];
  if (fabs(rm - 0.5 * (ra + rb)) <= 1e-7 * (1 + fabs(rm))) return 0;
  rc = frontier_refine(fr, a, ra, m, rm, depth + 1);
  if (!rc) rc = frontier_refine(fr, m, rm, b, rb, depth + 1);
  return rc;
}

static int cmp_frontier(const void *x, const void *y) {
  const double *a = x, *b = y;
  return (a[0] > b[0]) - (a[0] < b[0]);
}

// The gridworld's exact frontier over [min cost, d_max] with every gridworld run's point.
static int plot_frontier_script(const plot_ctx_t *p, char *name, size_t name_n) {
  double d_max = 1.0;
  for (int k = 0; k < p->rep->n_cells; k++) {
    const report_cell_t *c = &p->rep->cells[k];
    if (strcmp(c->env, "gridworld")) continue;
    if (isfinite(c->cost_limit)) d_max = fmax(d_max, 1.25 * c->cost_limit);
    for (int i = 0; i < c->n; i++)
      if (isfinite(c->runs[i].final_cost)) d_max = fmax(d_max, 1.1 * c->runs[i].final_cost);
  }
  frontier_t *fr = err_calloc(1, sizeof *fr);
  if (!fr) return ERR_FAIL;
  double ret, cost, d_min = 0;
  int rc = lp_gridworld_solve(0, &ret, &cost, &d_min), ok;
  if (rc == 1) rc = 0;  // infeasible at 0: d_min is the minimum achievable cost
  if (rc == 0) rc = frontier_solve(fr, d_min, &ok);
  if (rc == 0 && !ok) rc = frontier_solve(fr, d_min * (1 + 1e-9) + 1e-12, &ok);
  // Knots: the ends and every cell's limit inside them.
  for (int k = 0; k < p->rep->n_cells && !rc; k++) {
    const report_cell_t *c = &p->rep->cells[k];
    if (!strcmp(c->env, "gridworld") && c->cost_limit > d_min && c->cost_limit < d_max)
      rc = frontier_solve(fr, c->cost_limit, &ok);
  }
  if (!rc) rc = frontier_solve(fr, d_max, &ok);
  if (!rc) {
    // Sort the knots (d, r, c as rows), then refine each segment.
    double(*row)[3] = err_calloc((size_t)fr->n + 1, sizeof *row);
    int n = fr->n;
    if (!row) rc = ERR_FAIL;
    for (int i = 0; i < n && !rc; i++) {
      row[i][0] = fr->d[i];
      row[i][1] = fr->r[i];
      row[i][2] = fr->c[i];
    }
    if (!rc) qsort(row, (size_t)n, sizeof *row, cmp_frontier);
    for (int i = 0; i + 1 < n && !rc; i++)
      if (row[i + 1][0] > row[i][0])
        rc = frontier_refine(fr, row[i][0], row[i][1], row[i + 1][0], row[i + 1][1], 0);
    free(row);
  }
  char *text = NULL;
  size_t len = 0;
  FILE *f = rc ? NULL : open_memstream(&text, &len);
  if (!rc && !f) rc = err_fail("out of memory");
  int points = fr->n;
  if (f) {
    double(*row)[3] = err_calloc((size_t)fr->n + 1, sizeof *row);
    for (int i = 0; row && i < fr->n; i++) {
      row[i][0] = fr->d[i];
      row[i][1] = fr->r[i];
      row[i][2] = fr->c[i];
    }
    if (row) qsort(row, (size_t)fr->n, sizeof *row, cmp_frontier);
    fprintf(f, "cost_limit,return,cost\n");
    for (int i = 0; row && i < fr->n; i++)
      if (i == 0 || row[i][0] > row[i - 1][0])
        fprintf(f, "%.10g,%.10g,%.10g\n", row[i][0], row[i][1], row[i][2]);
    free(row);
    fclose(f);
  }
  free(fr);
  char path[2 * REPORT_PATH_MAX];
  snprintf(path, sizeof path, "%s/data/gridworld_frontier.csv", p->dir);
  if (!rc) rc = fs_write_atomic(path, text, len);
  free(text);
  if (rc) return rc;

  char key[8192];
  int n_key = gp_key_text(p, "gridworld", 1, 0,
                          "NaN with lines lw 2 lc rgb 'black' title 'optimum R*(D)', "
                          "NaN with lines dt 2 lw 1.5 lc rgb '#555555' title 'cost limit'",
                          key, sizeof key);
  // One panel per grid label (e.g. per cost limit), as in the trade-off figure.
  panels_t pn;
  plot_panels(p, "gridworld", &pn);
  layout_t l = plot_layout(1, pn.n, n_key, PLOT_PANEL_W, PLOT_PANEL_H);
  snprintf(name, name_n, "gridworld_frontier");
  text = NULL;
  f = open_memstream(&text, &len);
  if (!f) return err_fail("out of memory");
  fprintf(f,
          "# gridworld: the exact optimum R*(D) of the CMDP (occupancy-measure LP, GLPK) over\n"
          "# cost limits D, with each run's final (cost, return) (small circles) and each\n"
          "# cell's median (large, with 25-75%% ranges); dashed: the panel's cost limit.\n"
          "# Written by safemarl plot.\n");
  gp_begin(f, name, &l, "gridworld: learned vs exact optimum");
  fprintf(f, "  set offsets 0, 0, graph 0.08, graph 0.08\n  set xrange [0:%.10g]\n", d_max);
  for (int j = 0; j < pn.n; j++) {
    gp_panel_at(f, &l, 0, j);
    gp_panel_title(f, "gridworld", pn.grid[j]);
    fprintf(f, "  set xlabel 'episodic cost (limit D for R*)'\n  set ylabel %s\n  unset arrow\n",
            j == 0 ? "'episodic return'" : "''");
    if (isfinite(pn.cost_limit[j]))
      fprintf(f,
              "  set arrow from %.10g, graph 0 to %.10g, graph 1 nohead dt 2 lw 1.5 "
              "lc rgb '#555555'\n",
              pn.cost_limit[j], pn.cost_limit[j]);
    fprintf(f, "  plot ");
    int n = 0;
    if (points) {
      fprintf(f, "'data/gridworld_frontier.csv' using 1:2 with lines lw 2 lc rgb 'black' notitle");
      n++;
    }
    n = gp_final_points(f, p, "gridworld", pn.grid[j], n);
    if (n == 0) gp_empty_panel(f);
    fprintf(f, "\n");
  }
  gp_key_strip(f, &l, key);
  gp_end(f);
  fclose(f);
  rc = plot_write_script(p, name, text, len);
  free(text);
  return rc;
}

// ---- running gnuplot --------------------------------------------------------------------------

// Run `gnuplot NAME.gp` in the plots directory, output appended to gnuplot.log; then check that
// both images exist and are not empty.
static int plot_run_gnuplot(const plot_ctx_t *p, const char *name) {
  char script[2 * REPORT_PATH_MAX], log[2 * REPORT_PATH_MAX];
  snprintf(script, sizeof script, "%s.gp", name);
  snprintf(log, sizeof log, "%s/gnuplot.log", p->dir);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return err_fail("cannot start gnuplot: fork failed");
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    if (chdir(p->dir) != 0) _exit(126);
    dprintf(2, "== gnuplot %s\n", script);
    execlp("gnuplot", "gnuplot", script, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return err_fail("gnuplot %s: wait failed", script);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return err_fail("gnuplot not found (install gnuplot-nox); the scripts are in %s", p->dir);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return err_fail("%s/%s: gnuplot failed (see %s)", p->dir, script, log);
  static const char *const ext[] = {"png", "svg"};
  for (int i = 0; i < 2; i++) {
    char out[3 * REPORT_PATH_MAX];
    snprintf(out, sizeof out, "%s/%s.%s", p->dir, name, ext[i]);
    struct stat st;
    if (stat(out, &st) != 0 || st.st_size == 0)
      return err_fail("%s: gnuplot wrote no image (see %s)", out, log);
  }
  printf("%s/%s.png, .svg\n", p->dir, name);
  return 0;
}

static void plot_usage(FILE *f) {
  fprintf(f,
          "usage: safemarl plot DIR [--allow-mixed] [--smooth K]\n"
          "Figures of the runs under DIR (cells as in safemarl report), as gnuplot data + scripts\n"
          "under DIR/plots/ rendered to PNG (pngcairo) and SVG. Per env, columns = grid labels:\n"
          "  <env>_curves      cost row above return row: median over seeds, 25-75%% band, cost "
          "limit\n"
          "  <env>_tradeoff    final cost vs final return, per run and per-cell medians\n"
          "  <env>_multiplier  the cost Lagrange multiplier over time (algorithms that log it)\n"
          "  gridworld_frontier  the exact LP optimum R*(D) with the runs' final points\n"
          "Seeds are aligned on a common env-step grid by linear interpolation.\n"
          "  --smooth K  trailing moving average over K updates before aligning (default 1: "
          "none)\n");
}

int plot_main(int argc, char **argv) {
  const char *dir = NULL;
  int allow_mixed = 0, smooth = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      plot_usage(stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--allow-mixed")) {
      allow_mixed = 1;
    } else if (!strcmp(argv[i], "--smooth")) {
      char *end = NULL;
      long k = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : 0;
      if (i + 1 >= argc || *end || k < 1 || k > 100000)
        return err_input("command line: --smooth needs a number of updates >= 1");
      smooth = (int)k;
      i++;
    } else if (argv[i][0] == '-' || dir) {
      return err_input("command line: unknown argument '%s' (safemarl plot --help)", argv[i]);
    } else {
      dir = argv[i];
    }
  }
  if (!dir) return err_input("command line: plot needs a directory");
  report_t rep;
  int rc = report_collect(dir, allow_mixed, &rep);
  if (rc) return rc;
  plot_ctx_t p = {.rep = &rep, .smooth = smooth};
  snprintf(p.dir, sizeof p.dir, "%s/plots", dir);
  char data_dir[REPORT_PATH_MAX + 16];
  snprintf(data_dir, sizeof data_dir, "%s/data", p.dir);
  rc = report_summarise(&rep);
  if (!rc) rc = fs_mkdir_p(data_dir);
  p.has_ret = err_calloc((size_t)rep.n_cells, sizeof(int));
  p.has_mult = err_calloc((size_t)rep.n_cells, sizeof(int));
  p.mult_name = err_calloc((size_t)rep.n_cells, sizeof *p.mult_name);
  if (!rc && (!p.has_ret || !p.has_mult || !p.mult_name)) rc = ERR_FAIL;
  for (int k = 0; k < rep.n_cells && !rc; k++) {
    int a = 0;
    while (a < p.n_algos && strcmp(p.algos[a], rep.cells[k].algo)) a++;
    if (a == p.n_algos && p.n_algos < 64) p.algos[p.n_algos++] = rep.cells[k].algo;
    rc = plot_cell_curves(&p, k);
    if (!rc) rc = plot_cell_finals(&p, k);
  }
  char log[REPORT_PATH_MAX + 32];
  snprintf(log, sizeof log, "%s/gnuplot.log", p.dir);
  if (!rc) unlink(log);
  // One set of figures per env, in order of first appearance.
  int has_gridworld = 0;
  for (int k = 0; k < rep.n_cells && !rc; k++) {
    const char *env = rep.cells[k].env;
    int first = 1;
    for (int j = 0; j < k; j++) first &= strcmp(rep.cells[j].env, env) != 0;
    if (!first) continue;
    has_gridworld |= !strcmp(env, "gridworld");
    char name[CFG_STR_MAX + 32];
    rc = plot_curves_script(&p, env, name, sizeof name);
    if (!rc) rc = plot_run_gnuplot(&p, name);
    if (!rc) rc = plot_tradeoff_script(&p, env, name, sizeof name);
    if (!rc) rc = plot_run_gnuplot(&p, name);
    if (!rc) rc = plot_multiplier_script(&p, env, name, sizeof name);
    if (!rc && name[0]) rc = plot_run_gnuplot(&p, name);
  }
  if (!rc && has_gridworld) {
    char name[64];
    rc = plot_frontier_script(&p, name, sizeof name);
    if (!rc) rc = plot_run_gnuplot(&p, name);
  }
  free(p.has_ret);
  free(p.has_mult);
  free(p.mult_name);
  report_free(&rep);
  return rc;
}
