// report: aggregate run directories into per-cell tables (summary.csv, summary.md, pairs.csv).
// A cell is the parent directory of run directories (<env>/<algo>[/<grid>]/seed<k> gives the
// cell <env>/<algo>[/<grid>]); runs of different algorithms or envs under one parent are
// separate cells. All runs of a cell must share one config hash (the resolved config minus the
// seed) unless the caller allows mixing. Statistics are over the runs (seeds) of a cell; the
// definitions live in stats.h and in report.c's header comment. plot and regress build on the
// same collection (report_collect) so all three verbs agree on what a cell and a figure are.
#ifndef SAFEMARL_REPORT_H
#define SAFEMARL_REPORT_H
#include <stdint.h>

#include "core/config.h"

#define REPORT_PATH_MAX 1024

// One run's learning curve from progress.csv. mult is the cost multiplier column ("nu" when
// the algorithm logs it, as trust-region methods do next to their KL multiplier "lambda";
// otherwise "lambda"), NULL when the algorithm logs neither.
typedef struct {
  int n;
  double *steps, *ret, *cost, *mult;
  char mult_name[16];
} report_curve_t;

int report_read_curve(const char *run_dir, report_curve_t *c);
void report_curve_free(report_curve_t *c);

typedef struct {
  char dir[REPORT_PATH_MAX];
  int seed;
  uint64_t hash;
  double cost_limit;
  long long budget;                 // run.steps
  long long env_steps;              // of the last progress row
  int updates, done;                // done: env_steps >= budget
  double final_return, final_cost;  // DESIGN.md §4: mean over the last 10% of updates
  double sample_eff;                // env steps to 80% of the return improvement (stats.h)
  double fps;  // env steps / wall seconds summed over timing.csv; NaN without it
} report_run_t;

// Across-seed summary of one figure (final return or final cost), over the runs where it is
// finite.
typedef struct {
  int n;
  double median, p25, p75, mean, iqm, iqm_lo, iqm_hi;
} report_dist_t;

typedef struct {
  char label[REPORT_PATH_MAX];  // cell directory relative to the root ("." for the root)
  char env[CFG_STR_MAX], algo[CFG_STR_MAX];
  char grid[REPORT_PATH_MAX];  // label components other than the env and algo names
  double cost_limit;           // of the first run
  uint64_t hash;               // of the first run
  int mixed;                   // runs with different hashes (only with allow_mixed)
  int n, cap;
  report_run_t *runs;
  // Filled by report_summarise:
  int n_done;
  report_dist_t ret, cost;
  double satisfied_rate;  // fraction of runs with final cost <= their cost limit
  double sample_eff_median, fps_median;
} report_cell_t;

typedef struct {
  char root[REPORT_PATH_MAX];
  int n_cells;
  report_cell_t *cells;
} report_t;

// Find every run directory under root (config.yaml + progress.csv), read and group them.
// ERR_INPUT for an empty tree, unreadable run files or (without allow_mixed) a cell whose runs
// differ in config hash; the message names the cell and both hashes.
int report_collect(const char *root, int allow_mixed, report_t *rep);
// The same for a given list of run directories (relative labels are taken against root).
// With only_done, runs that have not reached run.steps are left out.
int report_collect_dirs(const char *root, char *const *dirs, int n_dirs, int allow_mixed,
                        int only_done, report_t *rep);
// Per-cell statistics (medians, IQM with bootstrap CI, satisfaction, sample efficiency, FPS).
int report_summarise(report_t *rep);
void report_free(report_t *rep);
// Index of the cell with this env, algo and grid label, or -1.
int report_find_cell(const report_t *rep, const char *env, const char *algo, const char *grid);

// Normalised return against a baseline b (the baseline algorithm's median final return):
// 1 + (x - b) / |b|. For b > 0 this is x / b (the MAFOCOPS tables' ratio to HAPPO); for b < 0
// the baseline still maps to 1 and higher stays better (x / b would flip the order); NaN when
// b is 0 or not finite.
double report_normalise(double x, double b);

int report_main(int argc, char **argv);
#endif
