// efficiency: `safemarl bench efficiency FILE`: the MAFOCOPS paper's efficiency tables (seed 004,
// supplementary Appendix H, Table 1 FPS and Table 2 memory, MACPO and MAFOCOPS per configuration)
// next to this build's numbers. Owns the efficiency file format (documented in the header of
// benchmarks/efficiency.yaml; not a suite: its own top-level `efficiency:` list), running each
// configuration in a forked child (so the peak RSS is that configuration's own and a crash fails
// one row, not the table) and the report (text table, --csv file). It measures nothing itself:
// train_bench is `bench train`'s end-to-end rate and bench_env_rates is `bench env`'s.
// An algorithm not registered in this build is reported "not available", not an error.
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "harness/run.h"
#include "harness/yamlio.h"

#define EFF_STR 256
#define EFF_TEXT 512
#define EFF_MAX_OV 32
#define EFF_MAX_ENTRIES 1024
#define EFF_ENV_REPEAT 3  // bench env's default --repeat

typedef struct {
  char task[EFF_STR], env[EFF_STR], algo[EFF_STR];
  double paper_fps, paper_memory_mib;
  char ov[EFF_MAX_OV][EFF_STR];  // "key=value" of the entry's overrides
  int n_ov;
  int available;     // the algorithm is registered
  run_config_t cfg;  // resolved when available
  int has_cfg;
} eff_entry_t;

typedef struct {
  const char *path;
  yaml_document_t doc;
  char source[EFF_TEXT], hardware[EFF_TEXT], fps_unit[EFF_TEXT], memory_unit[EFF_TEXT];
  char ov[EFF_MAX_OV][EFF_STR];  // top-level overrides
  int n_ov;
  eff_entry_t *entries;
  int n;
} eff_file_t;

typedef struct {
  const char *file, *csv;
  long steps, threads, env_steps, seed;
  int dry_run;  // list the configurations and the paper's numbers, measure nothing
  char *overrides[64];
  int n_overrides;
} eff_opts_t;

enum { EFF_MEASURED, EFF_NOT_AVAILABLE, EFF_FAILED };

// One configuration's numbers; what the child sends back through a pipe (plain data).
typedef struct {
  int status;
  char message[EFF_TEXT];
  double fps;                  // env steps / wall s of the rollout-update loop (train_steps_per_s)
  double cpu_util;             // process CPU s / wall s over the training run
  double raw_steps_per_s;      // bench env on T threads, T copies
  double env_steps_per_s;      // the same, full env step
  double env_cpu_steps_per_s;  // full env steps per process CPU second (steadier under load)
  double peak_rss_mib;         // the child's peak RSS after the training run
  double wall_s, update_s;     // loop wall time, summed update time
  long long env_steps, updates;
  int num_envs, rollout_length;
} eff_result_t;

// ---- the file ------------------------------------------------------------------------------

static yaml_node_t *eff_node(eff_file_t *f, int id) {
  return yaml_document_get_node(&f->doc, id);
}

// A non-empty scalar copied into buf (n bytes); `key` is the key path for messages.
static int eff_text(eff_file_t *f, const yaml_node_t *n, const char *key, char *buf, size_t size) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0)
    return err_input("%s: %s: expected a single value, got %s", f->path, key, yio_kind(n));
  const char *s = (const char *)n->data.scalar.value;
  if (strlen(s) != n->data.scalar.length)
    return err_input("%s: %s: value contains a NUL character", f->path, key);
  if (n->data.scalar.length >= size)
    return err_input("%s: %s: longer than %zu characters", f->path, key, size - 1);
  for (const char *c = s; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      return err_input("%s: %s: contains a control character", f->path, key);
  memcpy(buf, s, n->data.scalar.length + 1);
  return 0;
}

// A published number: finite and > 0.
static int eff_number(eff_file_t *f, const yaml_node_t *n, const char *key, double *out) {
  char text[EFF_STR], *end;
  int rc = eff_text(f, n, key, text, sizeof text);
  if (rc) return rc;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || *end || errno || !isfinite(v) || v <= 0)
    return err_input("%s: %s: expected a number > 0, got '%s'", f->path, key, text);
  *out = v;
  return 0;
}

// run.env/algo/seed/steps/threads come from the entry and the command line's options.
static const char *eff_reserved(const char *key) {
  size_t n = strcspn(key, "=");
  const char *bare = strncmp(key, "run.", 4) ? key : key + 4;
  if (bare != key) n -= 4;
  static const char *const reserved[][2] = {{"env", "the entry's env"},
                                            {"algo", "the entry's algo"},
                                            {"seed", "--seed"},
                                            {"steps", "--steps"},
                                            {"threads", "--threads"}};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strlen(reserved[i][0]) == n && !strncmp(bare, reserved[i][0], n)) return reserved[i][1];
  return NULL;
}

// `overrides: {key: value}` into ov[] as "key=value".
static int eff_overrides(eff_file_t *f, const yaml_node_t *n, const char *where, char ov[][EFF_STR],
                         int *n_ov) {
  if (n->type != YAML_MAPPING_NODE)
    return err_input("%s: %s: expected a mapping of key: value, got %s", f->path, where,
                     yio_kind(n));
  int count = yio_pairs(n), rc;
  if (count > EFF_MAX_OV)
    return err_input("%s: %s: more than %d overrides", f->path, where, EFF_MAX_OV);
  for (int i = 0; i < count; i++) {
    const char *key;
    char value[EFF_STR], path[2 * EFF_STR];
    if ((rc = yio_key(f->path, &f->doc, n, i, where, &key))) return rc;
    snprintf(path, sizeof path, "%s.%s", where, key);
    if (strchr(key, '=')) return err_input("%s: %s: a key cannot contain '='", f->path, path);
    const char *by = eff_reserved(key);
    if (by) return err_input("%s: %s: cannot be overridden here (set by %s)", f->path, path, by);
    if ((rc = eff_text(f, eff_node(f, n->data.mapping.pairs.start[i].value), path, value,
                       sizeof value)))
      return rc;
    if (snprintf(ov[i], EFF_STR, "%s=%s", key, value) >= EFF_STR)
      return err_input("%s: %s: override too long", f->path, path);
  }
  *n_ov = count;
  return 0;
}

static int eff_parse_entry(eff_file_t *f, const yaml_node_t *n, int idx, eff_entry_t *e) {
  char where[64];
  snprintf(where, sizeof where, "efficiency[%d]", idx);
  if (n->type != YAML_MAPPING_NODE)
    return err_input(
        "%s: %s: expected a mapping (task, env, algo, paper_fps, paper_memory_mib), "
        "got %s",
        f->path, where, yio_kind(n));
  enum { TASK, ENV, ALGO, FPS, MEM, N_REQUIRED };
  static const char *const required[N_REQUIRED] = {"task", "env", "algo", "paper_fps",
                                                   "paper_memory_mib"};
  int seen[N_REQUIRED] = {0}, rc;
  for (int i = 0; i < yio_pairs(n); i++) {
    const char *key;
    if ((rc = yio_key(f->path, &f->doc, n, i, where, &key))) return rc;
    yaml_node_t *v = eff_node(f, n->data.mapping.pairs.start[i].value);
    char path[128];
    snprintf(path, sizeof path, "%s.%.40s", where, key);
    if (!strcmp(key, "task")) {
      rc = eff_text(f, v, path, e->task, sizeof e->task), seen[TASK] = 1;
    } else if (!strcmp(key, "env")) {
      rc = eff_text(f, v, path, e->env, sizeof e->env), seen[ENV] = 1;
      if (!rc && !env_find(e->env))
        rc = err_input("%s: %s: unknown env '%s' (safemarl list envs)", f->path, path, e->env);
    } else if (!strcmp(key, "algo")) {
      rc = eff_text(f, v, path, e->algo, sizeof e->algo), seen[ALGO] = 1;
    } else if (!strcmp(key, "paper_fps")) {
      rc = eff_number(f, v, path, &e->paper_fps), seen[FPS] = 1;
    } else if (!strcmp(key, "paper_memory_mib")) {
      rc = eff_number(f, v, path, &e->paper_memory_mib), seen[MEM] = 1;
    } else if (!strcmp(key, "overrides")) {
      rc = eff_overrides(f, v, path, e->ov, &e->n_ov);
    } else {
      rc = err_input(
          "%s: %s: unknown key (expected task, env, algo, paper_fps, "
          "paper_memory_mib, overrides)",
          f->path, path);
    }
    if (rc) return rc;
  }
  for (int k = 0; k < N_REQUIRED; k++)
    if (!seen[k]) return err_input("%s: %s: missing key '%s'", f->path, where, required[k]);
  e->available = algo_find(e->algo) != NULL;
  return 0;
}

static int eff_parse_top(eff_file_t *f, const yaml_node_t *root) {
  const yaml_node_t *list = NULL;
  int rc;
  for (int i = 0; i < yio_pairs(root); i++) {
    const char *key;
    if ((rc = yio_key(f->path, &f->doc, root, i, "", &key))) return rc;
    yaml_node_t *v = eff_node(f, root->data.mapping.pairs.start[i].value);
    if (!strcmp(key, "source")) {
      rc = eff_text(f, v, key, f->source, sizeof f->source);
    } else if (!strcmp(key, "hardware")) {
      rc = eff_text(f, v, key, f->hardware, sizeof f->hardware);
    } else if (!strcmp(key, "fps_unit")) {
      rc = eff_text(f, v, key, f->fps_unit, sizeof f->fps_unit);
    } else if (!strcmp(key, "memory_unit")) {
      rc = eff_text(f, v, key, f->memory_unit, sizeof f->memory_unit);
    } else if (!strcmp(key, "overrides")) {
      rc = eff_overrides(f, v, key, f->ov, &f->n_ov);
    } else if (!strcmp(key, "efficiency")) {
      list = v;
    } else {
      rc = err_input(
          "%s: %.60s: unknown key (expected source, hardware, fps_unit, memory_unit, "
          "overrides, efficiency)",
          f->path, key);
    }
    if (rc) return rc;
  }
  if (!list)
    return err_input(
        "%s: efficiency: missing key (the list of configurations; see the header of "
        "benchmarks/efficiency.yaml)",
        f->path);
  if (list->type != YAML_SEQUENCE_NODE)
    return err_input("%s: efficiency: expected a list of configurations, got %s", f->path,
                     yio_kind(list));
  int n = (int)(list->data.sequence.items.top - list->data.sequence.items.start);
  if (n == 0) return err_input("%s: efficiency: the list is empty", f->path);
  if (n > EFF_MAX_ENTRIES)
    return err_input("%s: efficiency: more than %d configurations", f->path, EFF_MAX_ENTRIES);
  if (!(f->entries = err_calloc((size_t)n, sizeof *f->entries))) return ERR_FAIL;
  f->n = n;
  for (int i = 0; i < n; i++)
    if ((rc = eff_parse_entry(f, eff_node(f, list->data.sequence.items.start[i]), i,
                              &f->entries[i])))
      return rc;
  return 0;
}

static int eff_read_yaml(eff_file_t *f) {
  char *data = NULL;
  size_t n = 0;
  int rc = fs_read_file(f->path, &data, &n);
  if (rc) return rc;
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    free(data);
    return err_fail("%s: cannot initialise libyaml", f->path);
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)data, n);
  if (!yaml_parser_load(&parser, &f->doc)) {
    rc = err_input("%s: not valid YAML: %s%s%s (line %zu, column %zu)", f->path,
                   parser.context ? parser.context : "", parser.context ? ": " : "",
                   parser.problem ? parser.problem : "unknown error", parser.problem_mark.line + 1,
                   parser.problem_mark.column + 1);
    memset(&f->doc, 0, sizeof f->doc);
  }
  yaml_parser_delete(&parser);
  free(data);
  return rc;
}

static void eff_file_free(eff_file_t *f) {
  for (int i = 0; f->entries && i < f->n; i++)
    if (f->entries[i].has_cfg) run_config_free(&f->entries[i].cfg);
  free(f->entries);
  f->entries = NULL;
  yaml_document_delete(&f->doc);
}

// Resolve every available configuration now, so a bad override fails before anything runs:
// run.seed/steps/threads from the options, then the file's overrides, the entry's, the command
// line's key=value (later wins).
static int eff_resolve(eff_file_t *f, const eff_opts_t *o) {
  char seed_kv[64], steps_kv[64], threads_kv[64], top_origin[EFF_TEXT], entry_origin[EFF_TEXT];
  snprintf(seed_kv, sizeof seed_kv, "run.seed=%ld", o->seed);
  snprintf(steps_kv, sizeof steps_kv, "run.steps=%ld", o->steps);
  snprintf(threads_kv, sizeof threads_kv, "run.threads=%ld", o->threads);
  snprintf(top_origin, sizeof top_origin, "%s: overrides", f->path);
  for (int i = 0; i < f->n; i++) {
    eff_entry_t *e = &f->entries[i];
    if (!e->available) continue;
    char *kv[3 + 2 * EFF_MAX_OV + 64];
    const char *origin[3 + 2 * EFF_MAX_OV + 64];
    int n = 0;
    snprintf(entry_origin, sizeof entry_origin, "%s: efficiency[%d].overrides", f->path, i);
    kv[n] = seed_kv, origin[n++] = NULL;
    kv[n] = steps_kv, origin[n++] = NULL;
    kv[n] = threads_kv, origin[n++] = NULL;
    for (int k = 0; k < f->n_ov; k++) kv[n] = f->ov[k], origin[n++] = top_origin;
    for (int k = 0; k < e->n_ov; k++) kv[n] = e->ov[k], origin[n++] = entry_origin;
    for (int k = 0; k < o->n_overrides; k++) kv[n] = o->overrides[k], origin[n++] = NULL;
    int rc = run_config_resolve_from(&e->cfg, NULL, e->env, e->algo, kv, origin, n);
    if (rc) return rc;
    e->has_cfg = 1;
  }
  return 0;
}

static int eff_load(eff_file_t *f, const eff_opts_t *o) {
  int rc = eff_read_yaml(f);
  if (rc) return rc;
  yaml_node_t *root = yaml_document_get_root_node(&f->doc);
  if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
    return err_input("%s: empty efficiency file", f->path);
  if (root->type != YAML_MAPPING_NODE)
    return err_input("%s: expected a mapping (source, ..., efficiency) at the top level, got %s",
                     f->path, yio_kind(root));
  if ((rc = eff_parse_top(f, root))) return rc;
  return eff_resolve(f, o);
}

// ---- measuring one configuration -----------------------------------------------------------

static double eff_clock(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// In the child: the training run, its peak RSS, then (need_env) the env rates.
static void eff_measure(const run_config_t *cfg, const eff_opts_t *o, int need_env,
                        eff_result_t *r) {
  train_bench_t tb;
  double w0 = eff_clock(CLOCK_MONOTONIC), c0 = eff_clock(CLOCK_PROCESS_CPUTIME_ID);
  int rc = train_bench(cfg, 0, 0, &tb);
  double w1 = eff_clock(CLOCK_MONOTONIC), c1 = eff_clock(CLOCK_PROCESS_CPUTIME_ID);
  if (!rc) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    r->peak_rss_mib = (double)u.ru_maxrss / 1024.0;  // KiB on Linux
    r->fps = (double)tb.env_steps / fmax(tb.wall_s, 1e-9);
    r->cpu_util = (c1 - c0) / fmax(w1 - w0, 1e-9);
    r->wall_s = tb.wall_s, r->update_s = tb.update_s;
    r->env_steps = tb.env_steps, r->updates = tb.updates;
    r->num_envs = tb.num_envs, r->rollout_length = tb.rollout_length;
  }
  if (!rc && need_env)
    rc = bench_env_rates(cfg, (int)o->threads, o->env_steps, EFF_ENV_REPEAT, &r->raw_steps_per_s,
                         &r->env_steps_per_s, &r->env_cpu_steps_per_s);
  r->status = rc ? EFF_FAILED : EFF_MEASURED;
  if (rc) snprintf(r->message, sizeof r->message, "%s", err_message());
}

// Run eff_measure in a forked child and collect its result; a child that dies is a failed row.
static int eff_run_child(const run_config_t *cfg, const eff_opts_t *o, int need_env,
                         eff_result_t *r) {
  int fd[2];
  if (pipe(fd)) return err_fail("bench efficiency: pipe: %s", strerror(errno));
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fd[0]);
    close(fd[1]);
    return err_fail("bench efficiency: fork: %s", strerror(errno));
  }
  if (pid == 0) {
    close(fd[0]);
    eff_result_t res;
    memset(&res, 0, sizeof res);
    eff_measure(cfg, o, need_env, &res);
    const char *p = (const char *)&res;
    size_t left = sizeof res;
    while (left > 0) {
      ssize_t w = write(fd[1], p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) _exit(1);
      p += w, left -= (size_t)w;
    }
    _exit(0);
  }
  close(fd[1]);
  size_t got = 0;
  while (got < sizeof *r) {
    ssize_t n = read(fd[0], (char *)r + got, sizeof *r - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != sizeof *r) {
    memset(r, 0, sizeof *r);
    r->status = EFF_FAILED;
    if (WIFSIGNALED(status))
      snprintf(r->message, sizeof r->message, "killed by signal %d", WTERMSIG(status));
    else
      snprintf(r->message, sizeof r->message, "exited %d without a result",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return 0;
}

// ---- the report ----------------------------------------------------------------------------

static void eff_loadavg(char *buf, size_t n) {
  FILE *f = fopen("/proc/loadavg", "r");
  double a = -1;
  if (f) {
    if (fscanf(f, "%lf", &a) != 1) a = -1;
    fclose(f);
  }
  if (a >= 0)
    snprintf(buf, n, "%.2f", a);
  else
    snprintf(buf, n, "unknown");
}

static void eff_print_header(FILE *out, const eff_file_t *f, const eff_opts_t *o,
                             const char *load) {
  fprintf(out, "efficiency: %s (%d configurations)\n", f->path, f->n);
  if (f->source[0]) fprintf(out, "paper: %s\n", f->source);
  if (f->hardware[0]) fprintf(out, "paper hardware: %s\n", f->hardware);
  if (f->fps_unit[0]) fprintf(out, "paper FPS: %s\n", f->fps_unit);
  if (f->memory_unit[0]) fprintf(out, "paper memory: %s\n", f->memory_unit);
  fprintf(out,
          "ours: %ld threads, %ld env steps per configuration (whole updates, at least one), "
          "seed %ld; env rate = bench env --threads %ld --steps %ld (median of %d); %ld online "
          "cores, load average %s at start\n\n",
          o->threads, o->steps, o->seed, o->threads, o->env_steps, EFF_ENV_REPEAT,
          sysconf(_SC_NPROCESSORS_ONLN), load);
}

static int eff_task_width(const eff_file_t *f) {
  int w = (int)strlen("configuration");
  for (int i = 0; i < f->n; i++)
    if ((int)strlen(f->entries[i].task) > w) w = (int)strlen(f->entries[i].task);
  return w;
}

static void eff_print_table(FILE *out, const eff_file_t *f, const eff_result_t *res,
                            const eff_opts_t *o) {
  int tw = eff_task_width(f), aw = 8;
  for (int i = 0; i < f->n; i++)
    if ((int)strlen(f->entries[i].algo) > aw) aw = (int)strlen(f->entries[i].algo);
  char envcol[32];
  snprintf(envcol, sizeof envcol, "env rate %ldT", o->threads);
  fprintf(out, "%-*s  %-*s  %9s  %9s  %10s  %12s  %13s  %16s  %17s  %8s\n", tw, "configuration", aw,
          "algo", "paper FPS", "ours FPS", "ours/paper", envcol, "ours/env rate", "paper GPU MiB",
          "ours peak RSS MiB", "cpu/wall");
  for (int i = 0; i < f->n; i++) {
    const eff_entry_t *e = &f->entries[i];
    const eff_result_t *r = &res[i];
    fprintf(out, "%-*s  %-*s  %9g  ", tw, e->task, aw, e->algo, e->paper_fps);
    if (r->status == EFF_MEASURED) {
      fprintf(out, "%9.0f  %10.2f  %12.0f  %13.3f  %16.2f  %17.1f  %8.2f\n", r->fps,
              r->fps / e->paper_fps, r->env_steps_per_s, r->fps / r->env_steps_per_s,
              e->paper_memory_mib, r->peak_rss_mib, r->cpu_util);
    } else {
      fprintf(out, "%9s  %10s  %12s  %13s  %16.2f  %17s  %8s   %s\n", "-", "-", "-", "-",
              e->paper_memory_mib, "-", "-",
              r->status == EFF_NOT_AVAILABLE ? "not available (algorithm not registered in "
                                               "this build)"
                                             : r->message);
    }
  }
}

static void eff_print_dry_run(FILE *out, const eff_file_t *f) {
  int tw = eff_task_width(f);
  fprintf(out, "%-*s  %-20s  %-12s  %9s  %13s  %s\n", tw, "configuration", "env", "algo",
          "paper FPS", "paper GPU MiB", "in this build");
  for (int i = 0; i < f->n; i++) {
    const eff_entry_t *e = &f->entries[i];
    fprintf(out, "%-*s  %-20s  %-12s  %9g  %13.2f  %s\n", tw, e->task, e->env, e->algo,
            e->paper_fps, e->paper_memory_mib, e->available ? "available" : "not available");
  }
}

// The paper's "Improvement(%)" and "Saved Memory" rows: each entry against its task's first
// entry, from the transcribed numbers and from ours.
static void eff_print_improvement(FILE *out, const eff_file_t *f, const eff_result_t *res) {
  int tw = eff_task_width(f), header = 0;
  for (int i = 0; i < f->n; i++) {
    int ref = 0;
    while (strcmp(f->entries[ref].task, f->entries[i].task)) ref++;
    if (ref == i) continue;
    const eff_entry_t *a = &f->entries[ref], *b = &f->entries[i];
    if (!header) {
      fprintf(out,
              "\nagainst the task's first entry (the paper's Improvement(%%) and Saved Memory "
              "rows, recomputed from the numbers above):\n%-*s  %-24s  %15s  %15s  %17s  %17s\n",
              tw, "configuration", "algo vs reference", "paper FPS +%", "ours FPS +%",
              "paper saved MiB", "ours RSS saved MiB");
      header = 1;
    }
    char vs[2 * EFF_STR + 8], ours_fps[32] = "-", ours_mem[32] = "-";
    snprintf(vs, sizeof vs, "%s vs %s", b->algo, a->algo);
    if (res[ref].status == EFF_MEASURED && res[i].status == EFF_MEASURED) {
      snprintf(ours_fps, sizeof ours_fps, "%.2f", 100.0 * (res[i].fps / res[ref].fps - 1.0));
      snprintf(ours_mem, sizeof ours_mem, "%.1f", res[ref].peak_rss_mib - res[i].peak_rss_mib);
    }
    fprintf(out, "%-*s  %-24s  %15.2f  %15s  %17.2f  %17s\n", tw, b->task, vs,
            100.0 * (b->paper_fps / a->paper_fps - 1.0), ours_fps,
            a->paper_memory_mib - b->paper_memory_mib, ours_mem);
  }
}

static void eff_print_notes(FILE *out, const eff_opts_t *o, const char *load) {
  fprintf(out,
          "\nnotes:\n"
          "- paper GPU MiB is the paper's memory figure (Table 2: 'memory monitor tools' after "
          "200000 samples, on a GPU): GPU memory, not RSS. ours peak RSS is this whole process's "
          "peak resident set (ru_maxrss) over the training run, CPU only: a different quantity, "
          "so no ratio is given.\n"
          "- ours FPS = env steps / wall s of the rollout-update loop (bench train's "
          "train_steps_per_s) on %ld threads; env rate = bench env's env_steps_per_s (random "
          "actions, full env step) on %ld threads with %ld copies, measured once per env; ours/env "
          "rate = the share of the bare env rate that training keeps. Both are wall-clock rates "
          "taken at different moments: on a shared machine the ratio can even exceed 1; the "
          "CSV's ours_over_env_cpu compares steps per CPU second instead.\n"
          "- cpu/wall = process CPU s / wall s of the training run: about %ld on an idle "
          "machine, less when other work shares the cores (load average %s at the end).\n",
          o->threads, o->threads, o->threads, o->threads, load);
}

// CSV field: quoted when it holds a comma, a quote or a newline.
static void eff_csv_text(FILE *out, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"') fputc('"', out);
    fputc(*s, out);
  }
  fputc('"', out);
}

static void eff_csv_num(FILE *out, double v, int digits) {
  if (isfinite(v))
    fprintf(out, ",%.*f", digits, v);
  else
    fputs(",nan", out);
}

static int eff_write_csv(const char *path, const eff_file_t *f, const eff_result_t *res,
                         const eff_opts_t *o) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  if (!out) return err_fail("%s: cannot build the CSV: %s", path, strerror(errno));
  fputs(
      "task,env,algo,status,paper_fps,ours_fps,ours_over_paper,env_steps_per_s,"
      "raw_steps_per_s,ours_over_env,env_cpu_steps_per_s,ours_over_env_cpu,paper_memory_mib,ours_"
      "peak_rss_mib,cpu_util,threads,"
      "steps,updates,num_envs,rollout_length,wall_s,update_s,note\n",
      out);
  for (int i = 0; i < f->n; i++) {
    const eff_entry_t *e = &f->entries[i];
    const eff_result_t *r = &res[i];
    int ok = r->status == EFF_MEASURED;
    double na = NAN;
    eff_csv_text(out, e->task);
    fprintf(out, ",%s,%s,%s", e->env, e->algo,
            ok                               ? "measured"
            : r->status == EFF_NOT_AVAILABLE ? "not_available"
                                             : "failed");
    eff_csv_num(out, e->paper_fps, 2);
    eff_csv_num(out, ok ? r->fps : na, 1);
    eff_csv_num(out, ok ? r->fps / e->paper_fps : na, 4);
    eff_csv_num(out, ok ? r->env_steps_per_s : na, 1);
    eff_csv_num(out, ok ? r->raw_steps_per_s : na, 1);
    eff_csv_num(out, ok ? r->fps / r->env_steps_per_s : na, 4);
    eff_csv_num(out, ok ? r->env_cpu_steps_per_s : na, 1);
    // Both per CPU second: training's env steps / its CPU s against the env's, which does not
    // depend on how much of the cores other work took during either measurement.
    eff_csv_num(out, ok ? r->fps / r->cpu_util / r->env_cpu_steps_per_s : na, 4);
    eff_csv_num(out, e->paper_memory_mib, 2);
    eff_csv_num(out, ok ? r->peak_rss_mib : na, 1);
    eff_csv_num(out, ok ? r->cpu_util : na, 3);
    fprintf(out, ",%ld", o->threads);
    if (ok)
      fprintf(out, ",%lld,%lld,%d,%d", r->env_steps, r->updates, r->num_envs, r->rollout_length);
    else
      fputs(",nan,nan,nan,nan", out);
    eff_csv_num(out, ok ? r->wall_s : na, 3);
    eff_csv_num(out, ok ? r->update_s : na, 3);
    fputc(',', out);
    eff_csv_text(out, ok                               ? ""
                      : r->status == EFF_NOT_AVAILABLE ? "algorithm not registered"
                                                       : r->message);
    fputc('\n', out);
  }
  if (fclose(out)) {
    free(text);
    return err_fail("%s: cannot build the CSV", path);
  }
  int rc = fs_write_atomic(path, text, len);
  free(text);
  return rc;
}

// --csv OUT must be writable before hours of measuring: its directory exists and is writable,
// and OUT is not a directory.
static int eff_check_csv_path(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (!path[0] || (slash && !slash[1]))
    return err_input("command line: --csv: '%s' is not a file name", path);
  if (snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".") >=
      (int)sizeof dir)
    return err_input("command line: --csv: path too long");
  if (slash == path) snprintf(dir, sizeof dir, "/");
  struct stat st;
  if (stat(dir, &st) || !S_ISDIR(st.st_mode))
    return err_input("command line: --csv %s: directory '%s' does not exist", path, dir);
  if (access(dir, W_OK))
    return err_input("command line: --csv %s: directory '%s' is not writable", path, dir);
  if (!stat(path, &st) && S_ISDIR(st.st_mode))
    return err_input("command line: --csv %s: is a directory", path);
  return 0;
}

// ---- the verb ------------------------------------------------------------------------------

static void eff_usage(FILE *out) {
  fprintf(out,
          "usage: safemarl bench efficiency FILE [--steps N] [--threads T] [--env-steps M] "
          "[--seed S] [--csv OUT] [--dry-run] [key=value...]\n"
          "For each configuration of FILE (benchmarks/efficiency.yaml: the MAFOCOPS paper's "
          "Tables 1-2, FPS and memory of MACPO and MAFOCOPS per task), in its own process:\n"
          "  ours FPS       what `bench train ENV ALGO --threads T --steps N` reports as "
          "train_steps_per_s (the algorithm's default configuration; N default 100000, rounded "
          "up to whole updates; T default 2)\n"
          "  env rate       what `bench env ENV --threads T --steps M` reports as "
          "env_steps_per_s (M default 20000, median of 3; measured once per env)\n"
          "  peak RSS       the process's peak resident set over the training run (MiB)\n"
          "and prints: configuration | paper FPS | ours FPS | ours/paper | env rate | "
          "ours/env rate | paper GPU memory | ours peak RSS | cpu/wall, then each configuration "
          "against its task's first entry as the paper's improvement rows.\n"
          "The paper's memory is GPU memory, not RSS. An algorithm not registered in this build "
          "is reported as not available. --csv OUT writes the same rows as CSV (atomically). "
          "--dry-run checks FILE and lists its configurations with the paper's numbers. "
          "key=value applies to every configuration (run.*, env.*, algo.*; not "
          "run.steps/threads/seed). Exit 0, 1 if a configuration failed, 2 for bad input.\n");
}

static int eff_parse_args(int argc, char **argv, eff_opts_t *o) {
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int rc = 0;
    if (!strcmp(s, "--steps")) {
      rc = run_parse_cli_long(s, v, 1, 2000000000L, &o->steps), i++;
    } else if (!strcmp(s, "--threads")) {
      rc = run_parse_cli_long(s, v, 1, 256, &o->threads), i++;
    } else if (!strcmp(s, "--env-steps")) {
      rc = run_parse_cli_long(s, v, 1, 2000000000L, &o->env_steps), i++;
    } else if (!strcmp(s, "--seed")) {
      rc = run_parse_cli_long(s, v, 0, 2147483647L, &o->seed), i++;
    } else if (!strcmp(s, "--dry-run")) {
      o->dry_run = 1;
    } else if (!strcmp(s, "--csv")) {
      if (!v) return err_input("command line: --csv needs a file name");
      o->csv = v, i++;
    } else if (strchr(s, '=') && s[0] != '-') {
      if (o->n_overrides >= 64) return err_input("command line: too many key=value overrides");
      const char *by = eff_reserved(s);
      if (by) return err_input("command line: %s: set by %s, not key=value", s, by);
      o->overrides[o->n_overrides++] = argv[i];
    } else if (!o->file && s[0] != '-') {
      o->file = s;
    } else {
      return err_input("command line: bench efficiency: unexpected argument '%s'", s);
    }
    if (rc) return rc;
  }
  if (!o->file) return err_input("command line: bench efficiency needs a file (FILE.yaml)");
  return 0;
}

int eff_main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      eff_usage(stdout);
      return 0;
    }
  eff_opts_t o = {.steps = 100000, .threads = 2, .env_steps = 20000, .seed = 0};
  int rc = eff_parse_args(argc, argv, &o);
  if (!rc && o.csv && o.dry_run)
    rc = err_input("command line: --dry-run measures nothing, so it writes no --csv");
  if (!rc && o.csv) rc = eff_check_csv_path(o.csv);
  if (rc) return rc;
  eff_file_t f;
  memset(&f, 0, sizeof f);
  f.path = o.file;
  eff_result_t *res = NULL;
  if (!(rc = eff_load(&f, &o)) && !(res = err_calloc((size_t)f.n, sizeof *res))) rc = ERR_FAIL;
  if (rc) {
    eff_file_free(&f);
    return rc;
  }
  if (o.dry_run) {
    eff_print_dry_run(stdout, &f);
    eff_file_free(&f);
    free(res);
    return 0;
  }
  char load_start[32], load_end[32];
  eff_loadavg(load_start, sizeof load_start);
  // The env rate depends on the env and its parameters only: measure it once per pair.
  int n_failed = 0;
  for (int i = 0; i < f.n; i++) {
    eff_entry_t *e = &f.entries[i];
    if (!e->available) {
      res[i].status = EFF_NOT_AVAILABLE;
      fprintf(stderr, "bench efficiency: [%d/%d] %s %s: not available (not registered)\n", i + 1,
              f.n, e->task, e->algo);
      continue;
    }
    uint64_t env_hash = cfg_hash(&e->cfg.secs[1], 1, NULL, 0);
    int same = -1;
    for (int k = 0; k < i && same < 0; k++)
      if (res[k].status == EFF_MEASURED && !strcmp(f.entries[k].env, e->env) &&
          cfg_hash(&f.entries[k].cfg.secs[1], 1, NULL, 0) == env_hash)
        same = k;
    fprintf(stderr, "bench efficiency: [%d/%d] %s %s (%s) ...\n", i + 1, f.n, e->task, e->algo,
            e->env);
    if ((rc = eff_run_child(&e->cfg, &o, same < 0, &res[i]))) break;
    if (same >= 0 && res[i].status == EFF_MEASURED) {
      res[i].raw_steps_per_s = res[same].raw_steps_per_s;
      res[i].env_steps_per_s = res[same].env_steps_per_s;
      res[i].env_cpu_steps_per_s = res[same].env_cpu_steps_per_s;
    }
    if (res[i].status == EFF_FAILED) {
      n_failed++;
      fprintf(stderr, "bench efficiency: [%d/%d] %s %s: failed: %s\n", i + 1, f.n, e->task, e->algo,
              res[i].message);
    } else {
      fprintf(stderr, "bench efficiency: [%d/%d] %s %s: %.0f FPS, peak RSS %.1f MiB\n", i + 1, f.n,
              e->task, e->algo, res[i].fps, res[i].peak_rss_mib);
    }
  }
  if (!rc) {
    eff_loadavg(load_end, sizeof load_end);
    eff_print_header(stdout, &f, &o, load_start);
    eff_print_table(stdout, &f, res, &o);
    eff_print_improvement(stdout, &f, res);
    eff_print_notes(stdout, &o, load_end);
    fflush(stdout);
    if (o.csv) rc = eff_write_csv(o.csv, &f, res, &o);
  }
  if (!rc && n_failed)
    rc = err_fail("%d of %d configurations failed (see the table)", n_failed, f.n);
  free(res);
  eff_file_free(&f);
  return rc;
}
