// test_config: defaults, `section.key=value` overrides and YAML files all go through one parser
// (same bits from the same text); every rejection is ERR_INPUT with one `origin: sec.key: reason`
// line; the canonical YAML round-trips exactly (text, hash and float bits); the hash ignores the
// excluded keys and only them; peek reads one scalar without the schema; help lists every key.
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "tests/check.h"

static char scratch[64];

static void path_in(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", scratch, name);
}

#define CHECK_ERR(rc, code, needle)                                                              \
  CHECK((rc) == (code) && strstr(err_message(), (needle)), "rc=%d message='%s' want '%s'", (rc), \
        err_message(), (needle))
#define CHECK_MSG(rc, exact)                                                                  \
  CHECK((rc) == ERR_INPUT && !strcmp(err_message(), (exact)), "rc=%d message='%s' want '%s'", \
        (rc), err_message(), (exact))

// ---- a small configuration shaped like the real one --------------------------------------

typedef struct {
  int steps, seed, resume;
  char out[CFG_STR_MAX];
} run_params_t;
typedef struct {
  char mode[CFG_STR_MAX];
  double cost_limit;
} env_params_t;
typedef struct {
  double lr, gamma;
  int use_gae;
  char name[CFG_STR_MAX];
} algo_params_t;

static const cfg_param_t RUN_PARAMS[] = {
    {"steps", CFG_INT, offsetof(run_params_t, steps), "1000", "environment steps", NULL, 1, 1e9},
    {"seed", CFG_INT, offsetof(run_params_t, seed), "0", "run seed", NULL, 0, 2147483647.0},
    {"resume", CFG_BOOL, offsetof(run_params_t, resume), "false", "resume", NULL, 1, 0},
    {"out", CFG_STRING, offsetof(run_params_t, out), "runs/x", "output dir", NULL, 1, 0},
};
static const cfg_param_t ENV_PARAMS[] = {
    {"mode", CFG_STRING, offsetof(env_params_t, mode), "a", "env mode", "a|b", 1, 0},
    {"cost_limit", CFG_FLOAT, offsetof(env_params_t, cost_limit), "25", "cost limit", NULL, 0, 1e6},
};
static const cfg_param_t ALGO_PARAMS[] = {
    {"lr", CFG_FLOAT, offsetof(algo_params_t, lr), "3e-4", "learning rate", NULL, 0, 1},
    {"gamma", CFG_FLOAT, offsetof(algo_params_t, gamma), "0.99", "discount", NULL, 0, 1},
    {"use_gae", CFG_BOOL, offsetof(algo_params_t, use_gae), "yes", "GAE", NULL, 1, 0},
    {"name", CFG_STRING, offsetof(algo_params_t, name), "", "label", NULL, 1, 0},
};

static run_params_t run;
static env_params_t env;
static algo_params_t algo;
static const cfg_section_t SECS[] = {
    {"run", RUN_PARAMS, 4, &run},
    {"env", ENV_PARAMS, 2, &env},
    {"algo", ALGO_PARAMS, 4, &algo},
};
#define NSEC 3

static void write_text(const char *path, const char *text) {
  if (fs_write_atomic(path, text, strlen(text)) != 0) fprintf(stderr, "%s\n", err_message());
}

// Write `yaml` to `name` and load it; returns the load's code.
static int load_text(const char *name, const char *yaml) {
  char p[256];
  path_in(p, sizeof p, name);
  write_text(p, yaml);
  return cfg_load_yaml(p, SECS, NSEC);
}

static void test_defaults_and_set(void) {
  CHECK(cfg_set_defaults(SECS, NSEC) == 0, "%s", err_message());
  CHECK(run.steps == 1000 && run.seed == 0 && run.resume == 0 && !strcmp(run.out, "runs/x"),
        "run defaults");
  CHECK(!strcmp(env.mode, "a") && env.cost_limit == 25.0, "env defaults");
  CHECK(algo.lr == 3e-4 && algo.gamma == 0.99 && algo.use_gae == 1 && algo.name[0] == '\0',
        "algo defaults");

  CHECK(cfg_override(SECS, NSEC, "algo.lr=0.001") == 0 && algo.lr == 0.001, "%s", err_message());
  CHECK(cfg_override(SECS, NSEC, "run.steps=7") == 0 && run.steps == 7, "%s", err_message());
  CHECK(cfg_override(SECS, NSEC, "env.mode=b") == 0 && !strcmp(env.mode, "b"), "%s", err_message());
  CHECK(cfg_override(SECS, NSEC, "algo.name=a=b c") == 0 && !strcmp(algo.name, "a=b c"),
        "value may contain '=' and spaces: %s", err_message());
  CHECK(cfg_override(SECS, NSEC, "algo.name=") == 0 && algo.name[0] == '\0', "empty string");
  const char *truthy[] = {"true", "True", "yes", "on", "1"};
  const char *falsy[] = {"false", "NO", "off", "0"};
  for (int k = 0; k < 5; k++) {
    CHECK(cfg_set(SECS, NSEC, "run.resume", truthy[k], "t") == 0 && run.resume == 1, "%s",
          truthy[k]);
    if (k < 4) {
      CHECK(cfg_set(SECS, NSEC, "run.resume", falsy[k], "t") == 0 && run.resume == 0, "%s",
            falsy[k]);
    }
  }

  // Rejections: exact one-line messages, and the old value stays.
  CHECK_MSG(cfg_override(SECS, NSEC, "env.mode=c"),
            "command line: env.mode: must be one of a|b, got 'c'");
  CHECK(!strcmp(env.mode, "b"), "mode unchanged after a refused override");
  CHECK_MSG(cfg_override(SECS, NSEC, "run.steps=-5"),
            "command line: run.steps: must be >= 1, got -5");
  CHECK(run.steps == 7, "steps unchanged");
  CHECK_MSG(cfg_override(SECS, NSEC, "algo.lr=abc"),
            "command line: algo.lr: expected a number, got 'abc'");
  CHECK_MSG(cfg_override(SECS, NSEC, "algo.lr=2"), "command line: algo.lr: must be <= 1, got 2");
  CHECK_MSG(cfg_override(SECS, NSEC, "algo.lr=0.1x"),
            "command line: algo.lr: expected a number, got '0.1x'");
  CHECK_MSG(cfg_override(SECS, NSEC, "algo.lr= 0.1"),
            "command line: algo.lr: expected a number, got ' 0.1'");
  CHECK_MSG(cfg_override(SECS, NSEC, "algo.gamma=nan"),
            "command line: algo.gamma: must be a finite number, got 'nan'");
  CHECK_MSG(cfg_override(SECS, NSEC, "env.cost_limit=1e999"),
            "command line: env.cost_limit: must be a finite number, got '1e999'");
  CHECK_MSG(cfg_override(SECS, NSEC, "run.steps=1.5"),
            "command line: run.steps: expected an integer, got '1.5'");
  CHECK_MSG(cfg_override(SECS, NSEC, "run.steps="),
            "command line: run.steps: expected an integer, got ''");
  CHECK_MSG(cfg_override(SECS, NSEC, "run.steps=99999999999"),
            "command line: run.steps: integer out of range, got 99999999999");
  CHECK_MSG(cfg_override(SECS, NSEC, "run.resume=maybe"),
            "command line: run.resume: expected true or false, got 'maybe'");
  CHECK_MSG(cfg_override(SECS, NSEC, "algo.foo=1"), "command line: algo.foo: unknown key");
  CHECK_MSG(cfg_override(SECS, NSEC, "train.lr=1"),
            "command line: train.lr: unknown section 'train' (expected run|env|algo)");
  CHECK_MSG(cfg_override(SECS, NSEC, "x"),
            "command line: bad override 'x': expected section.key=value");
  CHECK_MSG(cfg_override(SECS, NSEC, "lr=1"),
            "command line: bad override 'lr=1': expected section.key=value");
  CHECK_MSG(cfg_override(SECS, NSEC, "algo.=1"),
            "command line: bad override 'algo.=1': expected section.key=value");
  CHECK_MSG(cfg_set(SECS, NSEC, "algo", "1", "cfg.yaml"), "cfg.yaml: algo: expected section.key");
  char longer[CFG_STR_MAX + 16];
  memset(longer, 'x', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  CHECK_ERR(cfg_set(SECS, NSEC, "run.out", longer, "command line"), ERR_INPUT,
            "command line: run.out: longer than 255 characters");
  // A bad default is reported with origin "default" (a table bug, caught by any test).
  static const cfg_param_t BAD[] = {{"k", CFG_FLOAT, 0, "fast", "h", NULL, 1, 0}};
  double k;
  const cfg_section_t bad = {"algo", BAD, 1, &k};
  CHECK_MSG(cfg_set_defaults(&bad, 1), "default: algo.k: expected a number, got 'fast'");
}

static void test_yaml_load(void) {
  char p[256];
  cfg_set_defaults(SECS, NSEC);
  // Plain, quoted and flow forms; absent sections and keys keep their values.
  CHECK(load_text("ok.yaml",
                  "# comment\n"
                  "run:\n  steps: 50  # trailing comment\n  out: 'runs/a b'\n"
                  "algo: {lr: 1e-3, use_gae: off, name: \"x: y\"}\n") == 0,
        "%s", err_message());
  CHECK(run.steps == 50 && !strcmp(run.out, "runs/a b") && algo.lr == 1e-3 && algo.use_gae == 0 &&
            !strcmp(algo.name, "x: y"),
        "loaded values");
  CHECK(!strcmp(env.mode, "a") && algo.gamma == 0.99 && run.seed == 0, "untouched values kept");
  // Same text from YAML and from an override gives the same bits.
  double from_yaml = algo.lr;
  cfg_override(SECS, NSEC, "algo.lr=1e-3");
  CHECK(!memcmp(&from_yaml, &algo.lr, sizeof from_yaml), "YAML and override agree bitwise");
  CHECK(load_text("empty.yaml", "") == 0 && run.steps == 50, "empty file changes nothing: %s",
        err_message());
  CHECK(load_text("comment.yaml", "# nothing\n") == 0, "%s", err_message());
  CHECK(load_text("emptysec.yaml", "env: {}\n") == 0, "%s", err_message());

  // Errors: one line, `<file>: <section.key>: <reason>`.
  path_in(p, sizeof p, "unknown.yaml");
  CHECK_ERR(load_text("unknown.yaml", "algo:\n  lr: 0.1\n  foo: 1\n"), ERR_INPUT, p);
  CHECK(
      strstr(err_message(), "unknown.yaml: algo.foo: unknown key") && !strchr(err_message(), '\n'),
      "%s", err_message());
  CHECK_ERR(load_text("badnum.yaml", "algo:\n  lr: abc\n"), ERR_INPUT,
            "badnum.yaml: algo.lr: expected a number, got 'abc'");
  CHECK_ERR(load_text("bounds.yaml", "run:\n  steps: -5\n"), ERR_INPUT,
            "bounds.yaml: run.steps: must be >= 1, got -5");
  CHECK_ERR(load_text("choice.yaml", "env:\n  mode: c\n"), ERR_INPUT,
            "choice.yaml: env.mode: must be one of a|b, got 'c'");
  CHECK_ERR(load_text("bool.yaml", "algo:\n  use_gae: sometimes\n"), ERR_INPUT,
            "bool.yaml: algo.use_gae: expected true or false, got 'sometimes'");
  CHECK_ERR(load_text("section.yaml", "train:\n  lr: 1\n"), ERR_INPUT,
            "section.yaml: train: unknown section (expected run|env|algo)");
  CHECK_ERR(load_text("scalarsec.yaml", "algo: 5\n"), ERR_INPUT,
            "scalarsec.yaml: algo: expected a mapping of key: value, got a single value");
  CHECK_ERR(load_text("nullsec.yaml", "algo:\n"), ERR_INPUT,
            "nullsec.yaml: algo: expected a mapping");
  CHECK_ERR(load_text("listsec.yaml", "algo: [1, 2]\n"), ERR_INPUT,
            "listsec.yaml: algo: expected a mapping of key: value, got a list");
  CHECK_ERR(load_text("listval.yaml", "algo:\n  lr: [1, 2]\n"), ERR_INPUT,
            "listval.yaml: algo.lr: expected a single value, got a list");
  CHECK_ERR(load_text("mapval.yaml", "algo:\n  lr: {a: 1}\n"), ERR_INPUT,
            "mapval.yaml: algo.lr: expected a single value, got a mapping");
  CHECK_ERR(load_text("dup.yaml", "algo:\n  lr: 0.1\n  lr: 0.2\n"), ERR_INPUT,
            "dup.yaml: algo.lr: duplicate key");
  CHECK_ERR(load_text("top.yaml", "- 1\n- 2\n"), ERR_INPUT,
            "top.yaml: expected a mapping of sections at the top level, got a list");
  CHECK_ERR(load_text("syntax.yaml", "algo:\n  lr: 1\n mode: 2\n"), ERR_INPUT,
            "syntax.yaml: not valid YAML: ");
  CHECK(strstr(err_message(), "(line 3, column"), "syntax error has a position: %s", err_message());
  CHECK_ERR(load_text("quote.yaml", "algo:\n  name: \"open\n"), ERR_INPUT,
            "quote.yaml: not valid YAML: ");
  CHECK_ERR(load_text("tab.yaml", "algo:\n\tlr: 1\n"), ERR_INPUT, "tab.yaml: not valid YAML: ");
  CHECK_ERR(load_text("docs.yaml", "run: {steps: 3}\n---\nrun: {steps: 4}\n"), ERR_INPUT,
            "docs.yaml: more than one YAML document");
  CHECK_ERR(load_text("cplx.yaml", "algo:\n  ? [a, b]\n  : 1\n"), ERR_INPUT,
            "cplx.yaml: line 2: a mapping key must be a single value, not a list");
  CHECK_ERR(load_text("alias.yaml", "algo: {lr: *nope}\n"), ERR_INPUT,
            "alias.yaml: algo.lr: undefined alias 'nope'");
  // A block scalar keeps its newline; the message shows it escaped, on one line.
  CHECK_ERR(load_text("block.yaml", "algo:\n  lr: |\n    0.5\n"), ERR_INPUT,
            "block.yaml: algo.lr: expected a number, got '0.5\\n'");
  // Anchors and aliases to defined values work like the value itself.
  CHECK(load_text("anchor.yaml", "run: {steps: &n 42}\nalgo: {name: *n}\n") == 0 &&
            run.steps == 42 && !strcmp(algo.name, "42"),
        "%s", err_message());
  path_in(p, sizeof p, "absent.yaml");
  CHECK_ERR(cfg_load_yaml(p, SECS, NSEC), ERR_INPUT, "absent.yaml: cannot read");
  // A file with a good value and a bad one changes nothing.
  int steps_before = run.steps;
  CHECK_ERR(load_text("partial.yaml", "run:\n  steps: 77\nalgo:\n  lr: 9\n"), ERR_INPUT,
            "partial.yaml: algo.lr: must be <= 1, got 9");
  CHECK(run.steps == steps_before, "no value stored from a rejected file (steps=%d)", run.steps);
}

static void test_canonical_round_trip(void) {
  cfg_set_defaults(SECS, NSEC);
  CHECK(cfg_override(SECS, NSEC, "run.out=runs/exp 1: \"q\" #x\\y") == 0, "%s", err_message());
  run.seed = 12345;
  algo.lr = 0.1 + 0.2;     // 0.30000000000000004: needs all 17 digits
  algo.gamma = 1.0 / 3.0;  // not a short decimal either
  env.cost_limit = 1e-300;
  CHECK(cfg_override(SECS, NSEC, "algo.name=true") == 0, "%s", err_message());
  char *text = cfg_to_yaml(SECS, NSEC);
  CHECK(text != NULL, "%s", err_message());
  if (!text) return;
  const char *want =
      "run:\n"
      "  steps: 1000\n"
      "  seed: 12345\n"
      "  resume: false\n"
      "  out: \"runs/exp 1: \\\"q\\\" #x\\\\y\"\n"
      "env:\n"
      "  mode: a\n"
      "  cost_limit: 1e-300\n"
      "algo:\n"
      "  lr: 0.30000000000000004\n"
      "  gamma: 0.3333333333333333\n"
      "  use_gae: true\n"
      "  name: \"true\"\n";
  CHECK(!strcmp(text, want), "canonical text:\n%s", text);

  char p[256];
  path_in(p, sizeof p, "config.yaml");
  CHECK(cfg_write_yaml(p, SECS, NSEC) == 0, "%s", err_message());
  const char *const excl[] = {"run.seed", "run.out", "run.resume"};
  uint64_t h = cfg_hash(SECS, NSEC, excl, 3);
  algo_params_t algo_before = algo;
  run_params_t run_before = run;
  env_params_t env_before = env;
  // Reload onto defaults: same values bit for bit, same text, same hash.
  cfg_set_defaults(SECS, NSEC);
  CHECK(cfg_load_yaml(p, SECS, NSEC) == 0, "%s", err_message());
  CHECK(!memcmp(&algo, &algo_before, sizeof algo) && !memcmp(&env, &env_before, sizeof env) &&
            !memcmp(&run, &run_before, sizeof run),
        "values bit-identical after reload");
  char *again = cfg_to_yaml(SECS, NSEC);
  CHECK(again && !strcmp(again, text), "text identical after reload:\n%s", again);
  CHECK(cfg_hash(SECS, NSEC, excl, 3) == h, "hash identical after reload");
  free(again);
  free(text);

  // Shortest exact floats: 0.1 stays "0.1", integral values print without a fraction.
  char buf[64];
  algo.lr = 0.1;
  cfg_format_value(&ALGO_PARAMS[0], &algo, buf, sizeof buf);
  CHECK(!strcmp(buf, "0.1"), "0.1 -> '%s'", buf);
  env.cost_limit = 25;
  cfg_format_value(&ENV_PARAMS[1], &env, buf, sizeof buf);
  CHECK(!strcmp(buf, "25"), "25 -> '%s'", buf);
  // Strings that need quotes for other YAML readers: empty, number-like, leading space.
  const char *needs[] = {"", "123", "1e5", "yes", "Null", " x", "-a", "a b", "a:b", "#c", "[x]"};
  for (size_t k = 0; k < sizeof needs / sizeof needs[0]; k++) {
    cfg_set(SECS, NSEC, "algo.name", needs[k], "t");
    char *y = cfg_to_yaml(SECS, NSEC);
    char line[300];
    snprintf(line, sizeof line, "  name: \"%s\"\n", needs[k]);
    CHECK(y && strstr(y, line), "'%s' is quoted:\n%s", needs[k], y ? y : "(null)");
    write_text(p, y ? y : "");
    cfg_set(SECS, NSEC, "algo.name", "other", "t");
    CHECK(cfg_load_yaml(p, SECS, NSEC) == 0 && !strcmp(algo.name, needs[k]), "'%s' reloads as '%s'",
          needs[k], algo.name);
    free(y);
  }
  // A control character survives as an escape.
  cfg_set(SECS, NSEC, "algo.name", "tab\there\nnl", "t");
  cfg_write_yaml(p, SECS, NSEC);
  cfg_set(SECS, NSEC, "algo.name", "x", "t");
  CHECK(cfg_load_yaml(p, SECS, NSEC) == 0 && !strcmp(algo.name, "tab\there\nnl"), "escapes: %s",
        err_message());
}

static void test_hash(void) {
  cfg_set_defaults(SECS, NSEC);
  const char *const excl[] = {"run.seed", "run.out", "run.resume"};
  uint64_t h0 = cfg_hash(SECS, NSEC, excl, 3);
  CHECK(h0 == cfg_hash(SECS, NSEC, excl, 3), "hash is deterministic");
  cfg_override(SECS, NSEC, "run.seed=9");
  cfg_override(SECS, NSEC, "run.out=elsewhere");
  cfg_override(SECS, NSEC, "run.resume=true");
  CHECK(cfg_hash(SECS, NSEC, excl, 3) == h0, "excluded keys do not change the hash");
  CHECK(cfg_hash(SECS, NSEC, NULL, 0) != cfg_hash(SECS, NSEC, excl, 1),
        "the same key changes the hash when not excluded");
  const char *const others[] = {"algo.lr=0.0003000001", "algo.gamma=0.98", "env.mode=b",
                                "algo.use_gae=false",   "run.steps=1001",  "algo.name=z"};
  for (int k = 0; k < 6; k++) {
    cfg_set_defaults(SECS, NSEC);
    CHECK(cfg_override(SECS, NSEC, others[k]) == 0, "%s", err_message());
    CHECK(cfg_hash(SECS, NSEC, excl, 3) != h0, "'%s' changes the hash", others[k]);
  }
  // The hash is FNV-1a of the canonical text minus the excluded lines: recompute by hand.
  cfg_set_defaults(SECS, NSEC);
  uint64_t h = 0xCBF29CE484222325ull;
  const char *text =
      "run:\n  steps: 1000\nenv:\n  mode: a\n  cost_limit: 25\nalgo:\n"
      "  lr: 0.0003\n  gamma: 0.99\n  use_gae: true\n  name: \"\"\n";
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    h = (h ^ *c) * 0x100000001B3ull;
  }
  CHECK(cfg_hash(SECS, NSEC, excl, 3) == h, "hash of the documented text");
}

static void test_peek(void) {
  char p[256], out[CFG_STR_MAX];
  path_in(p, sizeof p, "peek.yaml");
  // Peek ignores keys the schema would reject: only the requested scalar matters.
  write_text(p,
             "algo:\n  lr: 0.1\n  whatever: [1, 2]\n"
             "run:\n  env: gridworld\n  algo: 'mappo_l'\n  extra: {a: 1}\nother: 5\n");
  CHECK(cfg_peek_yaml(p, "run.env", out, sizeof out) == 0 && !strcmp(out, "gridworld"), "%s",
        err_message());
  CHECK(cfg_peek_yaml(p, "run.algo", out, sizeof out) == 0 && !strcmp(out, "mappo_l"), "%s",
        err_message());
  CHECK(cfg_peek_yaml(p, "run.missing", out, sizeof out) == 1, "absent key");
  CHECK(cfg_peek_yaml(p, "nosec.env", out, sizeof out) == 1, "absent section");
  CHECK(cfg_peek_yaml(p, "algo.env", out, sizeof out) == 1, "key of another section");
  CHECK_ERR(cfg_peek_yaml(p, "run.extra", out, sizeof out), ERR_INPUT,
            "peek.yaml: run.extra: expected a single value");
  char tiny[4];
  CHECK_ERR(cfg_peek_yaml(p, "run.env", tiny, sizeof tiny), ERR_INPUT, "run.env: value longer");
  CHECK_ERR(cfg_peek_yaml(p, "env", out, sizeof out), ERR_INPUT, "expected section.key");
  // A list as a section: its items are not keys.
  write_text(p, "algo:\n  lr: 1\nrun: [env, x]\n");
  CHECK(cfg_peek_yaml(p, "run.lr", out, sizeof out) == 1, "stale key not matched in a list");
  write_text(p, "run:\n  env: a\n bad: 1\n");
  CHECK_ERR(cfg_peek_yaml(p, "run.env", out, sizeof out), ERR_INPUT, "peek.yaml: not valid YAML");
  write_text(p, "");
  CHECK(cfg_peek_yaml(p, "run.env", out, sizeof out) == 1, "empty file: absent");
  path_in(p, sizeof p, "gone.yaml");
  CHECK_ERR(cfg_peek_yaml(p, "run.env", out, sizeof out), ERR_INPUT, "gone.yaml");
}

static void test_help(void) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  cfg_print_help(f, SECS, NSEC);
  fclose(f);
  CHECK(buf && strstr(buf, "  env.mode (string, default a): env mode [a|b]\n"), "%s", buf);
  CHECK(buf && strstr(buf, "  algo.lr (float, default 3e-4): learning rate\n"), "%s", buf);
  CHECK(buf && strstr(buf, "  run.resume (bool, default false): resume\n"), "%s", buf);
  CHECK(buf && strstr(buf, "  run.steps (int, default 1000): environment steps\n"), "%s", buf);
  CHECK(buf && strstr(buf, "  algo.name (string, default \"\"): label\n"), "%s", buf);
  int lines = 0;
  for (char *c = buf; c && *c; c++) lines += *c == '\n';
  CHECK(lines == 10, "one line per parameter, got %d", lines);
  free(buf);
}

int main(void) {
  snprintf(scratch, sizeof scratch, "/tmp/safemarl_config_XXXXXX");
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  test_defaults_and_set();
  test_yaml_load();
  test_canonical_round_trip();
  test_hash();
  test_peek();
  test_help();
  check_rm_rf(scratch);
  return check_report("test_config");
}
