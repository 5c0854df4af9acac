// run: resolving a run's configuration (see run.h). Order of precedence: defaults < YAML file <
// --env/--algo flags < key=value overrides. The env and algo sections depend on the classes
// named in the run section, so the names are learned first.
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "harness/run.h"

#define R(k, t, f, d, h, lo, hi) {k, t, offsetof(run_params_t, f), d, h, NULL, lo, hi}
static const cfg_param_t run_param_table[] = {
    R("env", CFG_STRING, env, "gridworld", "environment (safemarl list envs)", 1, 0),
    R("algo", CFG_STRING, algo, "cpo", "algorithm (safemarl list algos)", 1, 0),
    R("seed", CFG_INT, seed, "0", "run seed; every random stream derives from it", 0, 2147483647),
    R("steps", CFG_INT, steps, "100000", "env steps to train for", 1, 2147483647),
    R("num_envs", CFG_INT, num_envs, "0", "env copies E (0 = the algorithm's default)", 0, 4096),
    R("rollout_length", CFG_INT, rollout_length, "0",
      "steps per copy between updates T (0 = the algorithm's default)", 0, 1000000),
    R("checkpoint_every", CFG_INT, checkpoint_every, "10", "updates between checkpoints", 1,
      1000000),
    R("threads", CFG_INT, threads, "1",
      "worker threads stepping the env copies; results do not depend on it", 1, 64),
};
#undef R

static int run_find_unique_key(const run_config_t *rc, const char *key, char *dotted, size_t n) {
  int found = 0;
  for (int s = 0; s < 3; s++)
    for (int i = 0; i < rc->secs[s].n_params; i++)
      if (strcmp(rc->secs[s].params[i].key, key) == 0) {
        if (found++ == 0) snprintf(dotted, n, "%s.%s", rc->secs[s].name, key);
      }
  return found;
}

static int run_apply_override(run_config_t *rc, const char *assignment, const char *origin) {
  const char *eq = strchr(assignment, '=');
  if (!eq || eq == assignment)
    return err_input("%s: bad override '%s': expected key=value", origin, assignment);
  char key[256];
  size_t klen = (size_t)(eq - assignment);
  if (klen >= sizeof key) return err_input("%s: override key too long", origin);
  memcpy(key, assignment, klen);
  key[klen] = 0;
  char dotted[300];
  if (!strchr(key, '.')) {
    int found = run_find_unique_key(rc, key, dotted, sizeof dotted);
    if (found == 0)
      return err_input("%s: %s: unknown key (see safemarl train --env %s --algo %s --help)",
                       origin, key, rc->run.env, rc->run.algo);
    if (found > 1)
      return err_input("%s: %s: ambiguous key, write section.%s", origin, key, key);
  } else {
    snprintf(dotted, sizeof dotted, "%s", key);
  }
  return cfg_set(rc->secs, 3, dotted, eq + 1, origin);
}

static int run_lookup_classes(run_config_t *rc, const char *origin) {
  rc->env_class = env_find(rc->run.env);
  if (!rc->env_class)
    return err_input("%s: run.env: unknown env '%s' (safemarl list envs)", origin, rc->run.env);
  rc->algo_class = algo_find(rc->run.algo);
  if (!rc->algo_class)
    return err_input("%s: run.algo: unknown algorithm '%s' (safemarl list algos)", origin,
                     rc->run.algo);
  return 0;
}

// Fill run.num_envs / run.rollout_length left at 0 from the algorithm's defaults, so the
// resolved configuration (config.yaml, its hash) is the same whoever resolves it: train, a
// suite, report. Episodic algorithms run one whole episode per copy: T = the episode length.
static int run_resolve_shape(run_config_t *rc) {
  run_params_t *r = &rc->run;
  const algo_class_t *ac = rc->algo_class;
  if (r->num_envs == 0) r->num_envs = ac->default_num_envs > 0 ? ac->default_num_envs : 1;
  if (ac->episodic_rollouts) {
    env_spec_t spec;
    void *shared = NULL;
    int err = rc->env_class->shared_create(rc->env_params, &spec, &shared);
    if (err) return err;
    rc->env_class->shared_destroy(shared);
    if (r->rollout_length != 0 && r->rollout_length != spec.episode_length)
      return err_input("run.rollout_length: algo %s collects whole episodes; it must be 0 or "
                       "the episode length %d, got %d",
                       ac->name, spec.episode_length, r->rollout_length);
    r->rollout_length = spec.episode_length;
  } else if (r->rollout_length == 0) {
    r->rollout_length = ac->default_rollout_length > 0 ? ac->default_rollout_length : 1000;
  }
  return 0;
}

int run_config_resolve(run_config_t *rc, const char *yaml_path, const char *env,
                       const char *algo, char *const *overrides, int n_overrides) {
  return run_config_resolve_from(rc, yaml_path, env, algo, overrides, NULL, n_overrides);
}

int run_config_resolve_from(run_config_t *rc, const char *yaml_path, const char *env,
                            const char *algo, char *const *overrides,
                            const char *const *origins, int n_overrides) {
  memset(rc, 0, sizeof *rc);
  cfg_section_t run_sec = {"run", run_param_table,
                           (int)(sizeof run_param_table / sizeof run_param_table[0]), &rc->run};
  int err = cfg_set_defaults(&run_sec, 1);
  if (err) return err;
  // Names first: the file's run.env / run.algo, then the flags.
  if (yaml_path) {
    char name[CFG_STR_MAX];
    if ((err = cfg_peek_yaml(yaml_path, "run.env", name, sizeof name)) < 0) return err;
    if (err == 0) snprintf(rc->run.env, sizeof rc->run.env, "%s", name);
    if ((err = cfg_peek_yaml(yaml_path, "run.algo", name, sizeof name)) < 0) return err;
    if (err == 0) snprintf(rc->run.algo, sizeof rc->run.algo, "%s", name);
  }
  const char *origin = yaml_path ? yaml_path : "command line";
  if (env) {
    snprintf(rc->run.env, sizeof rc->run.env, "%s", env);
    origin = "command line";
  }
  if (algo) {
    snprintf(rc->run.algo, sizeof rc->run.algo, "%s", algo);
    origin = "command line";
  }
  if ((err = run_lookup_classes(rc, origin))) return err;

  rc->env_params = err_calloc(1, rc->env_class->params_size);
  rc->algo_params = err_calloc(1, rc->algo_class->params_size);
  if (!rc->env_params || !rc->algo_params) return ERR_FAIL;
  rc->secs[0] = run_sec;
  rc->secs[1] = (cfg_section_t){"env", rc->env_class->params, rc->env_class->n_params,
                                rc->env_params};
  rc->secs[2] = (cfg_section_t){"algo", rc->algo_class->params, rc->algo_class->n_params,
                                rc->algo_params};
  char keep_env[CFG_STR_MAX], keep_algo[CFG_STR_MAX];
  snprintf(keep_env, sizeof keep_env, "%s", rc->run.env);
  snprintf(keep_algo, sizeof keep_algo, "%s", rc->run.algo);
  if ((err = cfg_set_defaults(rc->secs, 3))) return err;
  if (yaml_path && (err = cfg_load_yaml(yaml_path, rc->secs, 3))) return err;
  snprintf(rc->run.env, sizeof rc->run.env, "%s", keep_env);
  snprintf(rc->run.algo, sizeof rc->run.algo, "%s", keep_algo);
  for (int i = 0; i < n_overrides; i++) {
    const char *o = origins && origins[i] ? origins[i] : "command line";
    if ((err = run_apply_override(rc, overrides[i], o))) return err;
    if (strcmp(rc->run.env, keep_env) || strcmp(rc->run.algo, keep_algo))
      return err_input("%s: run.env / run.algo cannot be overridden with key=value; use %s", o,
                       origins ? "the suite's envs / algos lists" : "--env / --algo");
  }
  return run_resolve_shape(rc);
}

int run_config_copy(run_config_t *dst, const run_config_t *src) {
  *dst = *src;
  dst->env_params = err_calloc(1, src->env_class->params_size);
  dst->algo_params = err_calloc(1, src->algo_class->params_size);
  if (!dst->env_params || !dst->algo_params) {
    run_config_free(dst);
    return ERR_FAIL;
  }
  memcpy(dst->env_params, src->env_params, src->env_class->params_size);
  memcpy(dst->algo_params, src->algo_params, src->algo_class->params_size);
  // The sections point into the configuration that holds them.
  dst->secs[0].dst = &dst->run;
  dst->secs[1].dst = dst->env_params;
  dst->secs[2].dst = dst->algo_params;
  return 0;
}

void run_config_free(run_config_t *rc) {
  free(rc->env_params);
  free(rc->algo_params);
  memset(rc, 0, sizeof *rc);
}

uint64_t run_config_hash(const run_config_t *rc) {
  // The thread count changes how fast a run goes, never what it computes.
  static const char *const exclude[] = {"run.seed", "run.threads"};
  return cfg_hash(rc->secs, 3, exclude, 2);
}

int run_parse_cli_long(const char *flag, const char *text, long lo, long hi, long *out) {
  char *end;
  long v = text ? strtol(text, &end, 10) : 0;
  if (!text || *end || end == text || v < lo || v > hi)
    return err_input("command line: %s: expected an integer in %ld..%ld, got '%s'", flag, lo, hi,
                     text ? text : "");
  *out = v;
  return 0;
}
