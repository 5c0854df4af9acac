// suite: parse a suite file into runs (see suite.h for the format and the expansion rules).
// Parsing uses libyaml's document API rather than libcyaml: a suite mixes shapes (`seeds: 3` or
// a list; an env as a name or a mapping) that a fixed libcyaml schema cannot express, and the
// node tree gives every message its exact key path ("envs[1].overrides.algo.lr"). Values are
// kept as the text written in the file and handed to run_config_resolve_from as overrides, so a
// suite value and the same `key=value` on the train command line give the same bits.
// Validation resolves every run; this file knows nothing of training or of run directories'
// contents (harness/sweep.c owns those).
#include "harness/suite.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "harness/yamlio.h"

// ---- the YAML document --------------------------------------------------------------------------

typedef struct {
  const char *file;  // for messages
  yaml_document_t doc;
} suite_yaml_t;

static yaml_node_t *sy_node(suite_yaml_t *y, int id) {
  return yaml_document_get_node(&y->doc, id);
}

// A non-empty scalar as a C string. `key` is the key path for the message.
static int sy_scalar(suite_yaml_t *y, const yaml_node_t *n, const char *key, const char **out) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0)
    return err_input("%s: %s: expected a single value, got %s", y->file, key, yio_kind(n));
  const char *s = (const char *)n->data.scalar.value;
  if (strlen(s) != n->data.scalar.length)
    return err_input("%s: %s: value contains a NUL character", y->file, key);
  if (n->data.scalar.length >= SUITE_STR)
    return err_input("%s: %s: longer than %d characters", y->file, key, SUITE_STR - 1);
  *out = s;
  return 0;
}

static int sy_expect(suite_yaml_t *y, const yaml_node_t *n, yaml_node_type_t type,
                     const char *key) {
  if (n->type == type) return 0;
  const char *want = type == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
  return err_input("%s: %s: expected %s, got %s", y->file, key, want, yio_kind(n));
}

// ---- the parsed suite, before expansion ---------------------------------------------------------

#define SUITE_ORIGIN (SUITE_PATH + SUITE_STR)
#define SUITE_MAX_ONLY 16

typedef struct {
  char kv[SUITE_STR];         // "key=value"
  char origin[SUITE_ORIGIN];  // "file: envs[0].overrides"
} suite_ov_t;

typedef struct {
  char name[SUITE_STR], label[SUITE_STR], config[SUITE_PATH];
  suite_ov_t ov[SUITE_MAX_OVERRIDES];
  int n_ov;
  suite_ov_t steps, cost_limit;  // kv "" when absent
  // Algorithms only: the env labels (or names) it runs on; none = every env of the suite.
  char only[SUITE_MAX_ONLY][SUITE_STR];
  int n_only;
} suite_entry_t;

typedef struct {
  char key[SUITE_STR], label_key[SUITE_STR];
  int n_values;
  const char **values;  // into the YAML document
} suite_axis_t;

typedef struct {
  suite_yaml_t y;
  char dir[SUITE_PATH];  // the suite file's directory, "" for the working directory
  int *seeds, n_seeds;
  suite_ov_t steps;
  suite_ov_t ov[SUITE_MAX_OVERRIDES];
  int n_ov;
  suite_entry_t *envs, *algos;
  int n_envs, n_algos;
  suite_axis_t *axes;
  int n_axes;
} suite_parse_t;

static void suite_parse_free(suite_parse_t *p) {
  free(p->seeds);
  free(p->envs);
  free(p->algos);
  if (p->axes)
    for (int i = 0; i < p->n_axes; i++) free(p->axes[i].values);
  free(p->axes);
}

// A relative path from the suite file is relative to the file's directory.
static int suite_join(const suite_parse_t *p, const char *rel, char *out, size_t n,
                      const char *key) {
  int w = rel[0] == '/' || !p->dir[0] ? snprintf(out, n, "%s", rel)
                                      : snprintf(out, n, "%s/%s", p->dir, rel);
  if (w < 0 || (size_t)w >= n) return err_input("%s: %s: path too long", p->y.file, key);
  return 0;
}

// One directory name: not empty, no '/', not "." or "..", no control characters, and no
// leading '_' (kept for the sweep's own folders such as _slurm/).
static int suite_check_dirname(const suite_parse_t *p, const char *key, const char *v) {
  const char *why = NULL;
  if (!v[0] || !strcmp(v, ".") || !strcmp(v, ".."))
    why = "cannot name a directory";
  else if (strchr(v, '/'))
    why = "contains '/'";
  else if (v[0] == '_')
    why = "starts with '_' (reserved for the sweep's own folders)";
  for (const char *c = v; !why && *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) why = "contains a control character";
  if (why) return err_input("%s: %s: '%s' %s; it names a run directory", p->y.file, key, v, why);
  return 0;
}

static int suite_set_ov(const suite_parse_t *p, suite_ov_t *ov, const char *key, const char *value,
                        const char *origin_key) {
  if (snprintf(ov->kv, sizeof ov->kv, "%s=%s", key, value) >= (int)sizeof ov->kv)
    return err_input("%s: %s: override too long", p->y.file, origin_key);
  snprintf(ov->origin, sizeof ov->origin, "%s: %s", p->y.file, origin_key);
  return 0;
}

// run.seed, run.env and run.algo come from the suite's own lists, never from overrides.
static int suite_check_key(const suite_parse_t *p, const char *path, const char *key) {
  const char *bare = strncmp(key, "run.", 4) == 0 ? key + 4 : key;
  if (!strcmp(bare, "seed"))
    return err_input("%s: %s: seeds are set by the suite's seeds list", p->y.file, path);
  if (!strcmp(bare, "env") || !strcmp(bare, "algo"))
    return err_input("%s: %s: set by the suite's %ss list", p->y.file, path, bare);
  return 0;
}

// `overrides: {key: value, ...}` into ov[].
static int suite_parse_overrides(suite_parse_t *p, const yaml_node_t *n, const char *where,
                                 suite_ov_t *ov, int *n_ov) {
  int rc = sy_expect(&p->y, n, YAML_MAPPING_NODE, where);
  if (rc) return rc;
  int count = yio_pairs(n);
  if (count > SUITE_MAX_OVERRIDES)
    return err_input("%s: %s: more than %d overrides", p->y.file, where, SUITE_MAX_OVERRIDES);
  for (int i = 0; i < count; i++) {
    const char *key, *value = NULL;
    if ((rc = yio_key(p->y.file, &p->y.doc, n, i, where, &key))) return rc;
    char path[SUITE_STR + 64];
    snprintf(path, sizeof path, "%s.%s", where, key);
    yaml_node_t *v = sy_node(&p->y, n->data.mapping.pairs.start[i].value);
    if ((rc = sy_scalar(&p->y, v, path, &value))) return rc;
    if (strchr(key, '=')) return err_input("%s: %s: a key cannot contain '='", p->y.file, path);
    if ((rc = suite_check_key(p, path, key))) return rc;
    if ((rc = suite_set_ov(p, &ov[i], key, value, where))) return rc;
  }
  *n_ov = count;
  return 0;
}

static int suite_parse_int(suite_parse_t *p, const yaml_node_t *n, const char *key, long long lo,
                           long long hi, long long *out) {
  const char *s = NULL;
  int rc = sy_scalar(&p->y, n, key, &s);
  if (rc) return rc;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (isspace((unsigned char)s[0]) || *end || errno == ERANGE || v < lo || v > hi)
    return err_input("%s: %s: expected an integer in [%lld, %lld], got '%s'", p->y.file, key, lo,
                     hi, s);
  *out = v;
  return 0;
}

static int suite_parse_seeds(suite_parse_t *p, const yaml_node_t *n) {
  long long v;
  int rc;
  if (n->type == YAML_SCALAR_NODE) {
    if ((rc = suite_parse_int(p, n, "seeds", 1, SUITE_MAX_RUNS, &v))) return rc;
    p->n_seeds = (int)v;
    p->seeds = calloc((size_t)v, sizeof(int));
    if (!p->seeds) return err_fail("out of memory");
    for (int i = 0; i < p->n_seeds; i++) p->seeds[i] = i;
    return 0;
  }
  if (n->type != YAML_SEQUENCE_NODE)
    return err_input("%s: seeds: expected a count or a list of seeds, got %s", p->y.file,
                     yio_kind(n));
  int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (count == 0) return err_input("%s: seeds: empty list", p->y.file);
  p->seeds = calloc((size_t)count, sizeof(int));
  if (!p->seeds) return err_fail("out of memory");
  for (int i = 0; i < count; i++) {
    char key[64];
    snprintf(key, sizeof key, "seeds[%d]", i);
    yaml_node_t *item = sy_node(&p->y, n->data.sequence.items.start[i]);
    if ((rc = suite_parse_int(p, item, key, 0, INT_MAX, &v))) return rc;
    for (int j = 0; j < i; j++)
      if (p->seeds[j] == (int)v)
        return err_input("%s: %s: seed %lld listed twice", p->y.file, key, v);
    p->seeds[i] = (int)v;
  }
  p->n_seeds = count;
  return 0;
}

// An algorithm entry's `envs:` list: the env labels (or names) the algorithm runs on.
static int suite_parse_only(suite_parse_t *p, const yaml_node_t *n, const char *path,
                            suite_entry_t *e) {
  int rc = sy_expect(&p->y, n, YAML_SEQUENCE_NODE, path);
  if (rc) return rc;
  int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (count == 0 || count > SUITE_MAX_ONLY)
    return err_input("%s: %s: expected 1 to %d env labels, got %d", p->y.file, path,
                     SUITE_MAX_ONLY, count);
  for (int i = 0; i < count; i++) {
    const char *s = NULL;
    char where[SUITE_STR + 80];
    snprintf(where, sizeof where, "%s[%d]", path, i);
    if ((rc = sy_scalar(&p->y, sy_node(&p->y, n->data.sequence.items.start[i]), where, &s)))
      return rc;
    snprintf(e->only[i], SUITE_STR, "%s", s);
  }
  e->n_only = count;
  return 0;
}

// One entry of envs or algos: a name, or a mapping. is_algo allows `config`, else `cost_limit`.
static int suite_parse_entry(suite_parse_t *p, const yaml_node_t *n, const char *where, int is_algo,
                             suite_entry_t *e) {
  const char *s = NULL;
  int rc;
  if (n->type == YAML_SCALAR_NODE) {
    if ((rc = sy_scalar(&p->y, n, where, &s))) return rc;
    snprintf(e->name, sizeof e->name, "%s", s);
  } else if (n->type == YAML_MAPPING_NODE) {
    int count = yio_pairs(n);
    for (int i = 0; i < count; i++) {
      const char *key;
      if ((rc = yio_key(p->y.file, &p->y.doc, n, i, where, &key))) return rc;
      char path[SUITE_STR + 64];
      snprintf(path, sizeof path, "%s.%s", where, key);
      yaml_node_t *v = sy_node(&p->y, n->data.mapping.pairs.start[i].value);
      if (!strcmp(key, "overrides")) {
        rc = suite_parse_overrides(p, v, path, e->ov, &e->n_ov);
      } else if (!strcmp(key, "name") || !strcmp(key, "label")) {
        if (!(rc = sy_scalar(&p->y, v, path, &s)))
          snprintf(key[0] == 'n' ? e->name : e->label, SUITE_STR, "%s", s);
      } else if (!strcmp(key, "steps")) {
        if (!(rc = sy_scalar(&p->y, v, path, &s)))
          rc = suite_set_ov(p, &e->steps, "run.steps", s, path);
      } else if (!is_algo && !strcmp(key, "cost_limit")) {
        if (!(rc = sy_scalar(&p->y, v, path, &s)))
          rc = suite_set_ov(p, &e->cost_limit, "env.cost_limit", s, path);
      } else if (is_algo && !strcmp(key, "envs")) {
        rc = suite_parse_only(p, v, path, e);
      } else if (is_algo && !strcmp(key, "config")) {
        if (!(rc = sy_scalar(&p->y, v, path, &s)))
          rc = suite_join(p, s, e->config, sizeof e->config, path);
        if (!rc && !fs_exists(e->config))
          rc = err_input("%s: %s: no such file: %s", p->y.file, path, e->config);
      } else {
        rc = err_input("%s: %s: unknown key (expected name, label, %s, steps, overrides)",
                       p->y.file, path, is_algo ? "config, envs" : "cost_limit");
      }
      if (rc) return rc;
    }
    if (!e->name[0]) return err_input("%s: %s: missing key 'name'", p->y.file, where);
  } else {
    return err_input("%s: %s: expected a name or a mapping, got %s", p->y.file, where, yio_kind(n));
  }
  if (is_algo ? !algo_find(e->name) : !env_find(e->name))
    return err_input("%s: %s.name: unknown %s '%s' (safemarl list %s)", p->y.file, where,
                     is_algo ? "algorithm" : "env", e->name, is_algo ? "algos" : "envs");
  if (!e->label[0]) snprintf(e->label, sizeof e->label, "%s", e->name);
  char key[SUITE_STR + 16];
  snprintf(key, sizeof key, "%s.label", where);
  return suite_check_dirname(p, key, e->label);
}

static int suite_parse_list(suite_parse_t *p, const yaml_node_t *n, const char *key, int is_algo,
                            suite_entry_t **out, int *n_out) {
  int rc = sy_expect(&p->y, n, YAML_SEQUENCE_NODE, key);
  if (rc) return rc;
  int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (count == 0) return err_input("%s: %s: empty list", p->y.file, key);
  *out = calloc((size_t)count, sizeof(suite_entry_t));
  if (!*out) return err_fail("out of memory");
  *n_out = count;
  for (int i = 0; i < count; i++) {
    char where[64];
    snprintf(where, sizeof where, "%s[%d]", key, i);
    yaml_node_t *item = sy_node(&p->y, n->data.sequence.items.start[i]);
    if ((rc = suite_parse_entry(p, item, where, is_algo, &(*out)[i]))) return rc;
    for (int j = 0; j < i; j++)
      if (!strcmp((*out)[j].label, (*out)[i].label))
        return err_input("%s: %s: '%s' is listed twice; give one a distinct label", p->y.file,
                         where, (*out)[i].label);
  }
  return 0;
}

static int suite_parse_grid(suite_parse_t *p, const yaml_node_t *n) {
  int rc = sy_expect(&p->y, n, YAML_MAPPING_NODE, "grid");
  if (rc) return rc;
  int count = yio_pairs(n);
  if (count == 0) return err_input("%s: grid: empty mapping (remove it for no grid)", p->y.file);
  p->axes = calloc((size_t)count, sizeof(suite_axis_t));
  if (!p->axes) return err_fail("out of memory");
  p->n_axes = count;
  for (int i = 0; i < count; i++) {
    suite_axis_t *ax = &p->axes[i];
    const char *key;
    if ((rc = yio_key(p->y.file, &p->y.doc, n, i, "grid", &key))) return rc;
    char path[SUITE_STR + 16];
    snprintf(path, sizeof path, "grid.%s", key);
    if (strlen(key) >= sizeof ax->key || strchr(key, '='))
      return err_input("%s: %s: not a configuration key", p->y.file, path);
    if ((rc = suite_check_key(p, path, key))) return rc;
    snprintf(ax->key, sizeof ax->key, "%s", key);
    yaml_node_t *v = sy_node(&p->y, n->data.mapping.pairs.start[i].value);
    if ((rc = sy_expect(&p->y, v, YAML_SEQUENCE_NODE, path))) return rc;
    ax->n_values = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (ax->n_values == 0) return err_input("%s: %s: empty list", p->y.file, path);
    ax->values = calloc((size_t)ax->n_values, sizeof(char *));
    if (!ax->values) return err_fail("out of memory");
    for (int j = 0; j < ax->n_values; j++) {
      char item[SUITE_STR + 32];
      snprintf(item, sizeof item, "%s[%d]", path, j);
      yaml_node_t *vn = sy_node(&p->y, v->data.sequence.items.start[j]);
      if ((rc = sy_scalar(&p->y, vn, item, &ax->values[j]))) return rc;
      if ((rc = suite_check_dirname(p, item, ax->values[j]))) return rc;
      for (int k = 0; k < j; k++)
        if (!strcmp(ax->values[k], ax->values[j]))
          return err_input("%s: %s: '%s' is listed twice", p->y.file, item, ax->values[j]);
    }
  }
  // Label keys: the part after the section unless two grid keys share it.
  for (int i = 0; i < count; i++) {
    const char *dot = strrchr(p->axes[i].key, '.');
    const char *bare = dot ? dot + 1 : p->axes[i].key;
    int clash = 0;
    for (int j = 0; j < count; j++) {
      const char *dj = strrchr(p->axes[j].key, '.');
      if (j != i && !strcmp(dj ? dj + 1 : p->axes[j].key, bare)) clash = 1;
    }
    snprintf(p->axes[i].label_key, SUITE_STR, "%s", clash ? p->axes[i].key : bare);
  }
  return 0;
}

static int suite_parse_top(suite_parse_t *p, const yaml_node_t *root, suite_t *s) {
  int rc;
  int count = yio_pairs(root);
  const yaml_node_t *envs = NULL, *algos = NULL;
  for (int i = 0; i < count; i++) {
    const char *key, *v = NULL;
    if ((rc = yio_key(p->y.file, &p->y.doc, root, i, "", &key))) return rc;
    yaml_node_t *n = sy_node(&p->y, root->data.mapping.pairs.start[i].value);
    if (!strcmp(key, "name")) {
      if ((rc = sy_scalar(&p->y, n, key, &v))) return rc;
      snprintf(s->name, sizeof s->name, "%s", v);
      if ((rc = suite_check_dirname(p, key, v))) return rc;
    } else if (!strcmp(key, "seeds")) {
      rc = suite_parse_seeds(p, n);
    } else if (!strcmp(key, "steps")) {
      if (!(rc = sy_scalar(&p->y, n, key, &v)))
        rc = suite_set_ov(p, &p->steps, "run.steps", v, key);
    } else if (!strcmp(key, "overrides")) {
      rc = suite_parse_overrides(p, n, key, p->ov, &p->n_ov);
    } else if (!strcmp(key, "envs")) {
      envs = n;
    } else if (!strcmp(key, "algos")) {
      algos = n;
    } else if (!strcmp(key, "grid")) {
      rc = suite_parse_grid(p, n);
    } else if (!strcmp(key, "reference")) {
      if (!(rc = sy_scalar(&p->y, n, key, &v)))
        rc = suite_join(p, v, s->reference, sizeof s->reference, key);
    } else {
      rc = err_input(
          "%s: %s: unknown key (expected name, seeds, steps, overrides, envs, algos, "
          "grid, reference)",
          p->y.file, key);
    }
    if (rc) return rc;
  }
  if (!envs) return err_input("%s: envs: missing (a list of environments)", p->y.file);
  if (!algos) return err_input("%s: algos: missing (a list of algorithms)", p->y.file);
  if (!p->seeds) return err_input("%s: seeds: missing (a count or a list of seeds)", p->y.file);
  if ((rc = suite_parse_list(p, envs, "envs", 0, &p->envs, &p->n_envs))) return rc;
  return suite_parse_list(p, algos, "algos", 1, &p->algos, &p->n_algos);
}

// ---- expansion ----------------------------------------------------------------------------------

static int suite_push(const suite_parse_t *p, suite_run_t *r, char origins[][SUITE_ORIGIN],
                      const suite_ov_t *ov) {
  if (!ov->kv[0]) return 0;
  if (r->n_overrides == SUITE_MAX_OVERRIDES)
    return err_input("%s: run %s has more than %d overrides", p->y.file, r->name,
                     SUITE_MAX_OVERRIDES);
  snprintf(r->overrides[r->n_overrides], SUITE_STR, "%s", ov->kv);
  snprintf(origins[r->n_overrides], SUITE_ORIGIN, "%s", ov->origin);
  r->n_overrides++;
  return 0;
}

// Fill run r: env e, algo a, grid point g (mixed radix over the axes, first axis slowest), seed k.
static int suite_expand_one(const suite_parse_t *p, const suite_t *s, suite_run_t *r, int e, int a,
                            long long g, int k, char origins[][SUITE_ORIGIN]) {
  const suite_entry_t *env = &p->envs[e], *algo = &p->algos[a];
  snprintf(r->env, sizeof r->env, "%s", env->name);
  snprintf(r->algo, sizeof r->algo, "%s", algo->name);
  snprintf(r->config, sizeof r->config, "%s", algo->config);
  r->seed = p->seeds[k];
  int rc = 0;
  for (int i = 0; i < p->n_ov && !rc; i++) rc = suite_push(p, r, origins, &p->ov[i]);
  const suite_ov_t *steps = algo->steps.kv[0]  ? &algo->steps
                            : env->steps.kv[0] ? &env->steps
                                               : &p->steps;
  if (!rc) rc = suite_push(p, r, origins, steps);
  if (!rc) rc = suite_push(p, r, origins, &env->cost_limit);
  for (int i = 0; i < env->n_ov && !rc; i++) rc = suite_push(p, r, origins, &env->ov[i]);
  for (int i = 0; i < algo->n_ov && !rc; i++) rc = suite_push(p, r, origins, &algo->ov[i]);
  // Grid point g: the last axis varies fastest.
  size_t used = 0;
  long long rest = g;
  int idx[64] = {0};
  for (int i = p->n_axes - 1; i >= 0; i--) {
    idx[i] = (int)(rest % p->axes[i].n_values);
    rest /= p->axes[i].n_values;
  }
  for (int i = 0; i < p->n_axes && !rc; i++) {
    const suite_axis_t *ax = &p->axes[i];
    suite_ov_t ov;
    char where[SUITE_STR + 16];
    snprintf(where, sizeof where, "grid.%s", ax->key);
    rc = suite_set_ov(p, &ov, ax->key, ax->values[idx[i]], where);
    if (!rc) rc = suite_push(p, r, origins, &ov);
    int w = snprintf(r->grid_label + used, sizeof r->grid_label - used, "%s%s=%s", i ? "," : "",
                     ax->label_key, ax->values[idx[i]]);
    if (!rc && (w < 0 || used + (size_t)w >= sizeof r->grid_label))
      rc = err_input("%s: grid: label of a grid point longer than %d characters", p->y.file,
                     SUITE_STR - 1);
    if (!rc) used += (size_t)w;
  }
  suite_ov_t seed;
  snprintf(seed.kv, sizeof seed.kv, "run.seed=%d", r->seed);
  snprintf(seed.origin, sizeof seed.origin, "%s: seeds", p->y.file);
  if (!rc) rc = suite_push(p, r, origins, &seed);
  if (rc) return rc;
  int w = p->n_axes
              ? snprintf(r->name, sizeof r->name, "%s/%s/%s/seed%d", env->label, algo->label,
                         r->grid_label, r->seed)
              : snprintf(r->name, sizeof r->name, "%s/%s/seed%d", env->label, algo->label, r->seed);
  if (w < 0 || (size_t)w >= sizeof r->name) return err_input("%s: run path too long", p->y.file);
  w = snprintf(r->dir, sizeof r->dir, "%s/%s", s->root, r->name);
  if (w < 0 || (size_t)w >= sizeof r->dir)
    return err_input("%s: run directory %s/%s too long", p->y.file, s->root, r->name);
  return 0;
}

// Resolve with per-override origins; record the budget and the hash. A message that does not
// name the suite file (a check of the whole configuration, such as the rollout shape) gets the
// file and the run prefixed.
static int suite_validate(const suite_parse_t *p, suite_run_t *r, char origins[][SUITE_ORIGIN]) {
  const char *orig[SUITE_MAX_OVERRIDES];
  char *ov[SUITE_MAX_OVERRIDES];
  for (int i = 0; i < r->n_overrides; i++) {
    orig[i] = origins[i];
    ov[i] = r->overrides[i];
  }
  run_config_t rc;
  int err = run_config_resolve_from(&rc, r->config[0] ? r->config : NULL, r->env, r->algo, ov, orig,
                                    r->n_overrides);
  if (!err) {
    r->steps = rc.run.steps;
    r->config_hash = run_config_hash(&rc);
  }
  run_config_free(&rc);
  size_t n = strlen(p->y.file);
  if (err == ERR_INPUT && strncmp(err_message(), p->y.file, n) != 0) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", err_message());
    err_input("%s: run %s: %s", p->y.file, r->name, msg);
  }
  return err;
}

// 1 when algorithm entry a runs on env entry e (its `envs:` list names e's label or name).
static int suite_pair(const suite_parse_t *p, int e, int a) {
  const suite_entry_t *algo = &p->algos[a], *env = &p->envs[e];
  if (!algo->n_only) return 1;
  for (int i = 0; i < algo->n_only; i++)
    if (!strcmp(algo->only[i], env->label) || !strcmp(algo->only[i], env->name)) return 1;
  return 0;
}

// Every label of an `envs:` list must name an env entry of the suite.
static int suite_check_only(const suite_parse_t *p) {
  for (int a = 0; a < p->n_algos; a++)
    for (int i = 0; i < p->algos[a].n_only; i++) {
      int found = 0;
      for (int e = 0; e < p->n_envs && !found; e++)
        found = !strcmp(p->algos[a].only[i], p->envs[e].label) ||
                !strcmp(p->algos[a].only[i], p->envs[e].name);
      if (!found)
        return err_input("%s: algos[%d].envs[%d]: '%s' is not an env of this suite", p->y.file, a,
                         i, p->algos[a].only[i]);
    }
  return 0;
}

static int suite_expand(const suite_parse_t *p, suite_t *s) {
  int rc = suite_check_only(p);
  if (rc) return rc;
  long long points = 1;
  if (p->n_axes > 64) return err_input("%s: grid: more than 64 keys", p->y.file);
  for (int i = 0; i < p->n_axes; i++) {
    points *= p->axes[i].n_values;
    if (points > SUITE_MAX_RUNS) break;
  }
  long long pairs = 0;
  for (int e = 0; e < p->n_envs; e++)
    for (int a = 0; a < p->n_algos; a++) pairs += suite_pair(p, e, a);
  long long n = points * pairs * p->n_seeds;
  if (n == 0) return err_input("%s: no run: no algorithm runs on any env (algos[].envs)", p->y.file);
  if (points > SUITE_MAX_RUNS || n > SUITE_MAX_RUNS)
    return err_input("%s: more than %d runs", p->y.file, SUITE_MAX_RUNS);
  s->runs = calloc((size_t)n, sizeof(suite_run_t));
  if (!s->runs) return err_fail("out of memory expanding %s (%lld runs)", p->y.file, n);
  s->n_runs = (int)n;
  char origins[SUITE_MAX_OVERRIDES][SUITE_ORIGIN];
  int i = 0;
  for (int e = 0; e < p->n_envs; e++)
    for (int a = 0; a < p->n_algos; a++)
      for (long long g = 0; g < points && suite_pair(p, e, a); g++)
        for (int k = 0; k < p->n_seeds; k++, i++) {
          if ((rc = suite_expand_one(p, s, &s->runs[i], e, a, g, k, origins))) return rc;
          if ((rc = suite_validate(p, &s->runs[i], origins))) return rc;
        }
  return 0;
}

// ---- the API ------------------------------------------------------------------------------------

static int suite_read_yaml(suite_parse_t *p, const char *path) {
  char *data = NULL;
  size_t n = 0;
  int rc = fs_read_file(path, &data, &n);
  if (rc) return rc;
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    free(data);
    return err_fail("%s: cannot initialise libyaml", path);
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)data, n);
  int loaded = yaml_parser_load(&parser, &p->y.doc);
  if (!loaded) {
    rc = err_input("%s: not valid YAML: %s%s%s (line %zu, column %zu)", path,
                   parser.context ? parser.context : "", parser.context ? ": " : "",
                   parser.problem ? parser.problem : "unknown error", parser.problem_mark.line + 1,
                   parser.problem_mark.column + 1);
    memset(&p->y.doc, 0, sizeof p->y.doc);
  } else {
    yaml_document_t second;
    if (!yaml_parser_load(&parser, &second)) {
      rc = err_input("%s: not valid YAML: %s (line %zu, column %zu)", path,
                     parser.problem ? parser.problem : "unknown error",
                     parser.problem_mark.line + 1, parser.problem_mark.column + 1);
    } else {
      if (yaml_document_get_root_node(&second))
        rc = err_input("%s: more than one YAML document (---): only one is allowed", path);
      yaml_document_delete(&second);
    }
  }
  yaml_parser_delete(&parser);
  free(data);
  if (rc && loaded) yaml_document_delete(&p->y.doc);
  return rc;
}

int suite_load(const char *path, const char *out_root, suite_t *s) {
  memset(s, 0, sizeof *s);
  if (!out_root) out_root = "results/runs";
  suite_parse_t p;
  memset(&p, 0, sizeof p);
  p.y.file = path;
  if (snprintf(s->path, sizeof s->path, "%s", path) >= (int)sizeof s->path)
    return err_input("%s: path too long", path);
  const char *slash = strrchr(path, '/');
  if (slash) snprintf(p.dir, sizeof p.dir, "%.*s", (int)(slash - path), path);
  if (slash == path) snprintf(p.dir, sizeof p.dir, "/");
  // Default name: the file's stem.
  const char *base = slash ? slash + 1 : path;
  const char *ext = strrchr(base, '.');
  snprintf(s->name, sizeof s->name, "%.*s", (int)(ext && ext != base ? ext - base : 255), base);

  int rc = suite_read_yaml(&p, path);
  if (rc) return rc;
  yaml_node_t *root = yaml_document_get_root_node(&p.y.doc);
  if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
    rc = err_input("%s: empty suite file", path);
  else if (root->type != YAML_MAPPING_NODE)
    rc = err_input(
        "%s: expected a mapping of keys (name, seeds, envs, algos, ...) at the top "
        "level, got %s",
        path, yio_kind(root));
  if (!rc) rc = suite_parse_top(&p, root, s);
  if (!rc) rc = suite_check_dirname(&p, "name", s->name);
  if (!rc && snprintf(s->root, sizeof s->root, "%s/%s", out_root, s->name) >= (int)sizeof s->root)
    rc = err_input("%s: run root %s/%s too long", path, out_root, s->name);
  if (!rc) rc = suite_expand(&p, s);
  suite_parse_free(&p);
  yaml_document_delete(&p.y.doc);
  if (rc) suite_free(s);
  return rc;
}

void suite_free(suite_t *s) {
  free(s->runs);
  s->runs = NULL;
  s->n_runs = 0;
}

int suite_run_config(const suite_t *s, int i, run_config_t *rc) {
  if (i < 0 || i >= s->n_runs)
    return err_input("%s: run index %d out of range (the suite has %d runs: 0..%d)", s->path, i,
                     s->n_runs, s->n_runs - 1);
  const suite_run_t *r = &s->runs[i];
  char *ov[SUITE_MAX_OVERRIDES];
  const char *orig[SUITE_MAX_OVERRIDES];
  for (int k = 0; k < r->n_overrides; k++) {
    ov[k] = (char *)r->overrides[k];
    orig[k] = s->path;
  }
  return run_config_resolve_from(rc, r->config[0] ? r->config : NULL, r->env, r->algo, ov, orig,
                                 r->n_overrides);
}
