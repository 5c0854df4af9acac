// report: aggregate run directories into per-cell tables (summary.csv, summary.md). A cell is
// one resolved configuration minus the seed (the config hash); its runs are the seeds.
#ifndef SAFEMARL_REPORT_H
#define SAFEMARL_REPORT_H

typedef struct {
  double final_return, final_cost;  // DESIGN.md §4: mean over the last 10% of updates
  long long env_steps;              // of the last progress row
  int updates;
} report_run_t;

// Read DIR/progress.csv and compute the run's final figures.
int report_read_run(const char *run_dir, report_run_t *out);
int report_main(int argc, char **argv);
#endif
