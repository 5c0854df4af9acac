// test_suite: suite files (harness/suite.c). Expansion order is env x algo x grid point x seed
// with the first grid key slowest; run directories and grid labels are named as suite.h says;
// seeds as a count or a list; the budget and overrides follow the documented precedence; config
// and reference paths are relative to the suite file; each resolved run has the hash its
// configuration gives; every malformed file is ERR_INPUT with one `file: key: reason` line.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "harness/suite.h"
#include "tests/check.h"

static char scratch[64];
static char suite_path[128];

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    exit(1);
  }
  fputs(text, f);
  fclose(f);
}

static int load(const char *text, suite_t *s) {
  write_file(suite_path, text);
  return suite_load(suite_path, "out", s);
}

// ---- expansion and naming -----------------------------------------------------------------------

static void test_expansion_order(void) {
  suite_t s;
  int rc = load(
      "name: order\n"
      "seeds: [3, 5]\n"
      "envs:\n"
      "  - gridworld\n"
      "  - {name: gridworld, label: onehot, overrides: {env.obs: onehot}}\n"
      "algos: [ppo_lag, {name: cpo, label: cpo_small, overrides: {algo.hidden: 8}}]\n"
      "grid:\n"
      "  algo.gamma: [0.99, 0.9]\n"
      "  lam: [0.95, 0.9]\n",
      &s);
  CHECK(rc == 0, "load failed: %s", err_message());
  if (rc) return;
  CHECK(s.n_runs == 2 * 2 * 4 * 2, "n_runs %d, expected 32", s.n_runs);
  CHECK(!strcmp(s.name, "order") && !strcmp(s.root, "out/order"), "name %s root %s", s.name,
        s.root);
  // Seeds vary fastest, then the last grid key, then the first, then algos, then envs.
  const char *want[] = {
      "gridworld/ppo_lag/gamma=0.99,lam=0.95/seed3", "gridworld/ppo_lag/gamma=0.99,lam=0.95/seed5",
      "gridworld/ppo_lag/gamma=0.99,lam=0.9/seed3",  "gridworld/ppo_lag/gamma=0.99,lam=0.9/seed5",
      "gridworld/ppo_lag/gamma=0.9,lam=0.95/seed3",
  };
  for (int i = 0; i < 5; i++)
    CHECK(!strcmp(s.runs[i].name, want[i]), "run %d is %s, expected %s", i, s.runs[i].name,
          want[i]);
  CHECK(!strcmp(s.runs[8].name, "gridworld/cpo_small/gamma=0.99,lam=0.95/seed3"), "run 8 is %s",
        s.runs[8].name);
  CHECK(!strcmp(s.runs[16].name, "onehot/ppo_lag/gamma=0.99,lam=0.95/seed3"), "run 16 is %s",
        s.runs[16].name);
  CHECK(!strcmp(s.runs[31].dir, "out/order/onehot/cpo_small/gamma=0.9,lam=0.9/seed5"),
        "run 31 dir is %s", s.runs[31].dir);
  CHECK(!strcmp(s.runs[31].env, "gridworld") && !strcmp(s.runs[31].algo, "cpo") &&
            s.runs[31].seed == 5 && !strcmp(s.runs[31].grid_label, "gamma=0.9,lam=0.9"),
        "run 31: env %s algo %s seed %d grid %s", s.runs[31].env, s.runs[31].algo, s.runs[31].seed,
        s.runs[31].grid_label);
  // The overrides of run 31 in application order, seed last.
  const char *ov[] = {"env.obs=onehot", "algo.hidden=8", "algo.gamma=0.9", "lam=0.9", "run.seed=5"};
  CHECK(s.runs[31].n_overrides == 5, "run 31 has %d overrides", s.runs[31].n_overrides);
  for (int k = 0; k < 5 && k < s.runs[31].n_overrides; k++)
    CHECK(!strcmp(s.runs[31].overrides[k], ov[k]), "override %d is %s, expected %s", k,
          s.runs[31].overrides[k], ov[k]);
  // Seeds of one cell share a hash; a grid value changes it.
  CHECK(s.runs[0].config_hash == s.runs[1].config_hash, "seeds of one cell differ in hash");
  CHECK(s.runs[0].config_hash != s.runs[2].config_hash, "grid points share a hash");
  // suite_run_config resolves the same configuration the hash was taken from.
  run_config_t rc31;
  rc = suite_run_config(&s, 31, &rc31);
  CHECK(rc == 0, "suite_run_config: %s", err_message());
  if (!rc) {
    CHECK(run_config_hash(&rc31) == s.runs[31].config_hash, "hash differs after re-resolving");
    CHECK(rc31.run.seed == 5 && !strcmp(rc31.run.algo, "cpo"), "seed %d algo %s", rc31.run.seed,
          rc31.run.algo);
  }
  run_config_free(&rc31);
  CHECK(suite_run_config(&s, 32, &rc31) == ERR_INPUT, "index 32 accepted");
  suite_free(&s);
}

static void test_grid_label_clash_and_seed_count(void) {
  suite_t s;
  // Both grid keys end in "lr": the labels keep their sections. No name: the file's stem.
  int rc = load(
      "seeds: 2\nenvs: [gridworld]\nalgos: [ppo_lag]\n"
      "grid: {algo.lr: [1e-3], algo.critic_lr: [2e-3], algo.lam: ['0.9']}\n",
      &s);
  CHECK(rc == 0, "load failed: %s", err_message());
  if (rc) return;
  CHECK(!strcmp(s.name, "suite"), "default name %s, expected the stem 'suite'", s.name);
  CHECK(s.n_runs == 2 && s.runs[0].seed == 0 && s.runs[1].seed == 1, "seeds: 2 gave %d runs",
        s.n_runs);
  CHECK(!strcmp(s.runs[1].name, "gridworld/ppo_lag/lr=1e-3,critic_lr=2e-3,lam=0.9/seed1"),
        "name %s", s.runs[1].name);
  suite_free(&s);
}

// ---- precedence ---------------------------------------------------------------------------------

// Does run i's resolved configuration contain the line "  <key: value>"?
static int has_value(const suite_t *s, int i, const char *line) {
  run_config_t rc;
  if (suite_run_config(s, i, &rc)) return 0;
  char *text = cfg_to_yaml(rc.secs, 3);
  char want[256];
  snprintf(want, sizeof want, "\n  %s\n", line);
  int found = text && strstr(text, want) != NULL;
  if (!found) fprintf(stderr, "run %d lacks '%s' in:\n%s", i, line, text ? text : "");
  free(text);
  run_config_free(&rc);
  return found;
}

static void test_precedence(void) {
  char cfg_dir[128], cfg[160];
  snprintf(cfg_dir, sizeof cfg_dir, "%s/configs", scratch);
  mkdir(cfg_dir, 0755);
  snprintf(cfg, sizeof cfg, "%s/ppo.yaml", cfg_dir);
  // The config file sets steps, epochs, hidden and cost_limit; the suite overrides each.
  write_file(cfg,
             "run: {steps: 7000, checkpoint_every: 7}\n"
             "env: {cost_limit: 0.3}\n"
             "algo: {epochs: 2, hidden: 16, lam: 0.5}\n");
  suite_t s;
  int rc = load(
      "seeds: [1]\n"
      "steps: 5000\n"
      "overrides: {algo.epochs: 3, algo.hidden: 24, algo.lr: 1e-3}\n"
      "envs:\n"
      "  - {name: gridworld, cost_limit: 0.6, overrides: {algo.hidden: 32}}\n"
      "  - {name: gridworld, label: g2, steps: 4000, overrides: {env.cost_limit: 0.2}}\n"
      "algos:\n"
      "  - {name: ppo_lag, config: configs/ppo.yaml, overrides: {algo.epochs: 4}}\n"
      "  - {name: ppo_lag, label: p2, config: configs/ppo.yaml, steps: 3000}\n"
      "grid: {algo.epochs: [5]}\n"
      "reference: ../ref/suite.csv\n",
      &s);
  CHECK(rc == 0, "load failed: %s", err_message());
  if (rc) return;
  char want_cfg[200], want_ref[200];
  snprintf(want_cfg, sizeof want_cfg, "%s/configs/ppo.yaml", scratch);
  snprintf(want_ref, sizeof want_ref, "%s/../ref/suite.csv", scratch);
  CHECK(!strcmp(s.runs[0].config, want_cfg), "config %s, expected %s", s.runs[0].config, want_cfg);
  CHECK(!strcmp(s.reference, want_ref), "reference %s, expected %s", s.reference, want_ref);
  // Budgets: algo entry > env entry > top level > config file.
  long long steps[4] = {5000, 3000, 4000, 3000};
  for (int i = 0; i < 4; i++)
    CHECK(s.runs[i].steps == steps[i], "run %d (%s) steps %lld, expected %lld", i, s.runs[i].name,
          s.runs[i].steps, steps[i]);
  // Values: config file < top overrides < steps < cost_limit < env overrides < algo overrides
  // < grid. Run 0 is env 0 x algo 0, run 2 env 1 (g2) x algo 0.
  CHECK(has_value(&s, 0, "steps: 5000") && has_value(&s, 0, "checkpoint_every: 7") &&
            has_value(&s, 0, "cost_limit: 0.6") && has_value(&s, 0, "epochs: 5") &&
            has_value(&s, 0, "hidden: 32") && has_value(&s, 0, "lr: 0.001") &&
            has_value(&s, 0, "lam: 0.5"),
        "run 0 resolved to an unexpected configuration");
  CHECK(has_value(&s, 2, "steps: 4000") && has_value(&s, 2, "cost_limit: 0.2") &&
            has_value(&s, 2, "hidden: 24") && has_value(&s, 2, "epochs: 5"),
        "run 2 resolved to an unexpected configuration");
  suite_free(&s);
}

// ---- errors -------------------------------------------------------------------------------------

typedef struct {
  const char *what, *text, *needle;
} bad_case_t;

// An algorithm's `envs:` list pairs it with some envs only (a single- and a multi-agent block in
// one suite): the excluded pairs produce no runs and the order of the rest is unchanged.
static void test_env_restriction(void) {
  suite_t s;
  int rc = load(
      "name: mixed\n"
      "seeds: 2\n"
      "envs: [{name: gridworld, cost_limit: 0.6}, halfcheetah_2x3]\n"
      "algos:\n"
      "  - {name: cpo, envs: [gridworld]}\n"
      "  - {name: mappo, envs: [halfcheetah_2x3]}\n"
      "  - ppo_lag\n",
      &s);
  CHECK(rc == 0, "load failed: %s", err_message());
  if (rc) return;
  static const char *const want[] = {
      "gridworld/cpo/seed0",       "gridworld/cpo/seed1",       "gridworld/ppo_lag/seed0",
      "gridworld/ppo_lag/seed1",   "halfcheetah_2x3/mappo/seed0", "halfcheetah_2x3/mappo/seed1",
      "halfcheetah_2x3/ppo_lag/seed0", "halfcheetah_2x3/ppo_lag/seed1"};
  CHECK(s.n_runs == 8, "n_runs %d, expected 8 (2 of 6 pairs excluded)", s.n_runs);
  for (int i = 0; i < s.n_runs && i < 8; i++)
    CHECK(!strcmp(s.runs[i].name, want[i]), "run %d is %s, expected %s", i, s.runs[i].name,
          want[i]);
  suite_free(&s);
}

static void test_errors(void) {
  static const bad_case_t cases[] = {
      {"envs list names no env of the suite",
       "seeds: 1\nenvs: [gridworld]\nalgos: [{name: cpo, envs: [ant_2x4]}]\n",
       "suite.yaml: algos[0].envs[0]: 'ant_2x4' is not an env of this suite"},
      {"envs list not a list", "seeds: 1\nenvs: [gridworld]\nalgos: [{name: cpo, envs: gridworld}]\n",
       "suite.yaml: algos[0].envs"},
      {"bad YAML", "envs: [gridworld\nalgos: [cpo]\nseeds: 1\n", "suite.yaml: not valid YAML"},
      {"two documents", "seeds: 1\n---\nseeds: 2\n", "more than one YAML document"},
      {"empty file", "# nothing\n", "suite.yaml: empty suite file"},
      {"top level list", "- gridworld\n", "expected a mapping of keys"},
      {"unknown top-level key", "seeds: 1\ncolour: red\nenvs: [gridworld]\nalgos: [cpo]\n",
       "suite.yaml: colour: unknown key"},
      {"duplicate key", "seeds: 1\nseeds: 2\nenvs: [gridworld]\nalgos: [cpo]\n",
       "suite.yaml: seeds: duplicate key"},
      {"missing envs", "seeds: 1\nalgos: [cpo]\n", "suite.yaml: envs: missing"},
      {"missing seeds", "envs: [gridworld]\nalgos: [cpo]\n", "suite.yaml: seeds: missing"},
      {"unknown env", "seeds: 1\nenvs: [gridwrld]\nalgos: [cpo]\n",
       "suite.yaml: envs[0].name: unknown env 'gridwrld'"},
      {"unknown algo", "seeds: 1\nenvs: [gridworld]\nalgos: [cpo, {name: trpo}]\n",
       "suite.yaml: algos[1].name: unknown algorithm 'trpo'"},
      {"unknown override key",
       "seeds: 1\nenvs: [gridworld]\nalgos: [{name: cpo, overrides: {algo.dleta: 0.1}}]\n",
       "suite.yaml: algos[0].overrides: algo.dleta: unknown key"},
      {"unknown bare override key",
       "seeds: 1\nenvs: [{name: gridworld, overrides: {dleta: 0.1}}]\nalgos: [cpo]\n",
       "suite.yaml: envs[0].overrides: dleta: unknown key"},
      {"override of the wrong type",
       "seeds: 1\nenvs: [gridworld]\nalgos: [{name: cpo, overrides: {algo.cg_iters: ten}}]\n",
       "suite.yaml: algos[0].overrides: algo.cg_iters: expected an integer, got 'ten'"},
      {"override out of bounds",
       "seeds: 1\nenvs: [gridworld]\nalgos: [cpo]\n"
       "grid: {algo.delta: [0.01, -1]}\n",
       "suite.yaml: grid.algo.delta: algo.delta: must be >="},
      {"override value a list",
       "seeds: 1\nenvs: [gridworld]\nalgos: [{name: cpo, overrides: {algo.delta: [1]}}]\n",
       "suite.yaml: algos[0].overrides.algo.delta: expected a single value, got a list"},
      {"cost limit not a number",
       "seeds: 1\nenvs: [{name: gridworld, cost_limit: low}]\n"
       "algos: [cpo]\n",
       "suite.yaml: envs[0].cost_limit: env.cost_limit: expected a number, got 'low'"},
      {"steps not a number", "seeds: 1\nsteps: many\nenvs: [gridworld]\nalgos: [cpo]\n",
       "suite.yaml: steps: run.steps: expected an integer, got 'many'"},
      {"seeds of the wrong type", "seeds: {a: 1}\nenvs: [gridworld]\nalgos: [cpo]\n",
       "suite.yaml: seeds: expected a count or a list of seeds, got a mapping"},
      {"seed not an integer", "seeds: [0, x]\nenvs: [gridworld]\nalgos: [cpo]\n",
       "suite.yaml: seeds[1]: expected an integer"},
      {"repeated seed", "seeds: [0, 0]\nenvs: [gridworld]\nalgos: [cpo]\n",
       "suite.yaml: seeds[1]: seed 0 listed twice"},
      {"envs not a list", "seeds: 1\nenvs: gridworld\nalgos: [cpo]\n",
       "suite.yaml: envs: expected a list, got a single value"},
      {"empty envs", "seeds: 1\nenvs: []\nalgos: [cpo]\n", "suite.yaml: envs: empty list"},
      {"empty algos", "seeds: 1\nenvs: [gridworld]\nalgos: []\n", "suite.yaml: algos: empty list"},
      {"empty seeds", "seeds: []\nenvs: [gridworld]\nalgos: [cpo]\n",
       "suite.yaml: seeds: empty list"},
      {"zero seeds", "seeds: 0\nenvs: [gridworld]\nalgos: [cpo]\n", "suite.yaml: seeds: expected"},
      {"empty grid list", "seeds: 1\nenvs: [gridworld]\nalgos: [cpo]\ngrid: {algo.delta: []}\n",
       "suite.yaml: grid.algo.delta: empty list"},
      {"empty grid", "seeds: 1\nenvs: [gridworld]\nalgos: [cpo]\ngrid: {}\n",
       "suite.yaml: grid: empty mapping"},
      {"unknown entry key", "seeds: 1\nenvs: [{name: gridworld, colour: red}]\nalgos: [cpo]\n",
       "suite.yaml: envs[0].colour: unknown key"},
      {"entry without a name", "seeds: 1\nenvs: [{cost_limit: 0.1}]\nalgos: [cpo]\n",
       "suite.yaml: envs[0]: missing key 'name'"},
      {"same env twice", "seeds: 1\nenvs: [gridworld, gridworld]\nalgos: [cpo]\n",
       "suite.yaml: envs[1]: 'gridworld' is listed twice"},
      {"label with a slash", "seeds: 1\nenvs: [gridworld]\nalgos: [{name: cpo, label: a/b}]\n",
       "suite.yaml: algos[0].label: 'a/b' contains '/'"},
      {"grid value with a slash",
       "seeds: 1\nenvs: [gridworld]\nalgos: [cpo]\ngrid: {env.obs: [a/b]}\n",
       "suite.yaml: grid.env.obs[0]: 'a/b' contains '/'"},
      {"seed override", "seeds: 1\noverrides: {run.seed: 4}\nenvs: [gridworld]\nalgos: [cpo]\n",
       "suite.yaml: overrides.run.seed: seeds are set by the suite's seeds list"},
      {"env override",
       "seeds: 1\noverrides: {run.env: gridworld}\nenvs: [gridworld]\n"
       "algos: [cpo]\n",
       "suite.yaml: overrides.run.env: set by the suite's envs list"},
      {"bare algo override", "seeds: 1\nenvs: [gridworld]\nalgos: [cpo]\ngrid: {algo: [cpo]}\n",
       "suite.yaml: grid.algo: set by the suite's algos list"},
      {"missing config file",
       "seeds: 1\nenvs: [gridworld]\nalgos: [{name: cpo, config: no.yaml}]\n",
       "suite.yaml: algos[0].config: no such file"},
      {"cost_limit on an algo",
       "seeds: 1\nenvs: [gridworld]\nalgos: [{name: cpo, cost_limit: 1}]\n",
       "suite.yaml: algos[0].cost_limit: unknown key"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    suite_t s;
    err_clear();
    int rc = load(cases[i].text, &s);
    const char *msg = err_message();
    CHECK(rc == ERR_INPUT, "%s: rc %d, expected ERR_INPUT (message '%s')", cases[i].what, rc, msg);
    CHECK(strstr(msg, cases[i].needle) != NULL, "%s: message '%s' lacks '%s'", cases[i].what, msg,
          cases[i].needle);
    CHECK(!strchr(msg, '\n'), "%s: message spans lines: '%s'", cases[i].what, msg);
    CHECK(s.runs == NULL && s.n_runs == 0, "%s: runs left allocated", cases[i].what);
    suite_free(&s);
  }
  // A file that is not there.
  suite_t s;
  char missing[160];
  snprintf(missing, sizeof missing, "%s/none.yaml", scratch);
  CHECK(suite_load(missing, NULL, &s) == ERR_INPUT && strstr(err_message(), "none.yaml"),
        "missing file: %s", err_message());
}

int main(void) {
  snprintf(scratch, sizeof scratch, "/tmp/safemarl_suite_XXXXXX");
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(suite_path, sizeof suite_path, "%s/suite.yaml", scratch);
  test_expansion_order();
  test_grid_label_clash_and_seed_count();
  test_precedence();
  test_env_restriction();
  test_errors();
  check_rm_rf(scratch);
  return check_report("test_suite");
}
