// eval: run a saved policy deterministically (mode / mean action) for K episodes on fresh env
// copies seeded from the run seed's "eval" stream, and print the mean episodic return, cost and
// length on one line, followed by the env's statistics (spec.info: cost components, arrivals,
// crashes...) as name=value, each summed over an episode and averaged over the K episodes like
// the ep_<name> columns of progress.csv; `--trace FILE` also writes every step (episode, step,
// reward, team cost) as CSV, replaced atomically, to see when in an episode the cost is paid.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checkpoint.h"
#include "core/csvlog.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "harness/run.h"

static int eval_skip_section(ckpt_t *c, const char *tag) {
  size_t len = 0;
  int rc = ckpt_section(c, tag, &len);
  if (rc) return rc;
  void *tmp = malloc(len ? len : 1);
  if (!tmp) return err_fail("out of memory");
  rc = ckpt_get(c, tmp, len);
  free(tmp);
  return rc ? rc : ckpt_section_done(c, tag);
}

// One trace row; numbers in csvlog's round-trip format.
static int eval_trace_row(csv_table_t *tab, int episode, int step, double reward, double cost) {
  char cells[4][32];
  const char *row[4] = {cells[0], cells[1], cells[2], cells[3]};
  snprintf(cells[0], sizeof cells[0], "%d", episode);
  snprintf(cells[1], sizeof cells[1], "%d", step);
  csvlog_format_double(reward, cells[2], sizeof cells[2]);
  csvlog_format_double(cost, cells[3], sizeof cells[3]);
  return csvlog_table_add_row(tab, row);
}

int eval_main(int argc, char **argv) {
  const char *dir = NULL;
  int episodes = 10;
  const char *trace = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: safemarl eval DIR [--episodes K] [--trace FILE]\n"
             "Runs the policy saved in DIR/checkpoint.bin deterministically for K episodes "
             "(default 10)\nand prints: episodes=K return=R cost=C length=L [NAME=X ...], the "
             "env's own statistics\n(progress.csv's ep_NAME columns) as means over the episodes\n"
             "  --trace FILE   also write every step as CSV: episode,step,reward,cost "
             "(team reward and cost)\n");
      return 0;
    }
    if (!strcmp(argv[i], "--episodes") && i + 1 < argc) {
      char *end;
      long k = strtol(argv[++i], &end, 10);
      if (*end || k < 1 || k > 1000000)
        return err_input("command line: --episodes: must be an integer >= 1, got '%s'", argv[i]);
      episodes = (int)k;
    } else if (!strcmp(argv[i], "--trace") && i + 1 < argc) {
      trace = argv[++i];
    } else if (argv[i][0] != '-' && !dir) {
      dir = argv[i];
    } else {
      return err_input("command line: unknown argument '%s' (safemarl eval --help)", argv[i]);
    }
  }
  if (!dir) return err_input("command line: eval needs a run directory");
  char path[1100];
  snprintf(path, sizeof path, "%s/config.yaml", dir);
  if (!fs_exists(path)) return err_input("%s: not a run directory (config.yaml missing)", dir);
  run_config_t cfg;
  int rc = run_config_resolve(&cfg, path, NULL, NULL, NULL, 0);
  env_spec_t spec;
  void *shared = NULL, *env = NULL, *algo = NULL;
  const env_class_t *ec = cfg.env_class;
  const algo_class_t *ac = cfg.algo_class;
  if (!rc) rc = ec->shared_create(cfg.env_params, &spec, &shared);
  if (!rc) rc = ec->create(shared, &env);
  int T = cfg.run.rollout_length, E = cfg.run.num_envs;
  if (!rc) {
    algo_run_info_t info = {(uint64_t)cfg.run.seed, T, E, cfg.run.steps, spec.cost_limit};
    rc = ac->create(&spec, cfg.algo_params, &info, &algo);
  }
  ckpt_t c;
  ckpt_init(&c);
  snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
  if (!rc) rc = ckpt_read_file(&c, path);
  if (!rc) rc = eval_skip_section(&c, "RUN ");
  if (!rc) rc = eval_skip_section(&c, "ENVS");
  if (!rc) rc = ckpt_section(&c, "ALGO", NULL);
  if (!rc) rc = ac->load(algo, &c);
  ckpt_free(&c);
  float *obs = NULL, *share = NULL, *act = NULL, *costs = NULL;
  if (!rc) {
    obs = calloc((size_t)spec.n_agents * spec.max_obs_dim, sizeof(float));
    share = calloc(spec.share_obs_dim ? spec.share_obs_dim : 1, sizeof(float));
    act = calloc((size_t)spec.n_agents * spec.max_act_dim, sizeof(float));
    costs = calloc(spec.n_agents, sizeof(float));
    if (!obs || !share || !act || !costs) rc = err_fail("out of memory");
  }
  static const char *const trace_cols[] = {"episode", "step", "reward", "cost"};
  csv_table_t tab;
  int have_tab = 0;
  if (!rc && trace) {
    rc = csvlog_table_init(&tab, trace_cols, 4);
    have_tab = !rc;
  }
  double sum_ret = 0, sum_cost = 0, sum_len = 0, sum_info[ENV_MAX_INFO] = {0};
  rng_t rng;
  rng_stream(&rng, (uint64_t)cfg.run.seed, "eval", 0);
  for (int k = 0; k < episodes && !rc; k++) {
    double k_start = sum_len;
    ec->reset(env, &rng, obs, share);
    env_step_t st = {.obs = obs, .share_obs = share, .costs = costs};
    do {
      ac->act_deterministic(algo, obs, share, 1, act);
      ec->step(env, act, &rng, &st);
      if (have_tab && !rc) rc = eval_trace_row(&tab, k, (int)(sum_len - k_start), st.reward,
                                                 st.team_cost);
      for (int i = 0; i < spec.n_info; i++) sum_info[i] += st.info[i];
      sum_ret += st.reward;
      sum_cost += st.team_cost;
      sum_len += 1;
    } while (!st.done && !rc);
  }
  if (have_tab) {
    if (!rc) rc = csvlog_write_table(trace, &tab);
    csvlog_table_free(&tab);
  }
  if (!rc) {
    printf("episodes=%d return=%.6g cost=%.6g length=%.6g", episodes, sum_ret / episodes,
           sum_cost / episodes, sum_len / episodes);
    for (int i = 0; i < spec.n_info; i++)
      printf(" %s=%.6g", spec.info_names[i], sum_info[i] / episodes);
    printf("\n");
  }
  free(obs);
  free(share);
  free(act);
  free(costs);
  if (algo) ac->destroy(algo);
  if (env) ec->destroy(env);
  if (shared) ec->shared_destroy(shared);
  run_config_free(&cfg);
  return rc;
}
