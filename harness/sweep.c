// sweep: every run of a suite, each as its own process (`safemarl run-task SUITE --index I`):
// locally N at a time (fork/exec of /proc/self/exe), or as a Slurm job array. Owns the sweep's
// files in a run directory; train.c owns the rest:
//   done.txt    "config_hash=<hex>": written by run-task after train returned 0. A run is
//               finished, and skipped, when done.txt exists and names the suite's current
//               configuration of that run: one small read per run, no checkpoint or CSV parsing.
//               A changed suite (another budget, another value) no longer matches, and run-task
//               then refuses the directory instead of resuming the old configuration.
//   failed.txt  "exit status N" (or "killed by signal S") and the last stderr line of the last
//               attempt; removed when the next attempt starts, and re-running retries the run.
//   stderr.log  the run's stdout and stderr under a local sweep, appended per attempt (Slurm
//               writes its own per-task logs to <suite root>/_slurm/<job>_<task>.log).
// A run directory with config.yaml but no done.txt was killed: run-task continues it with
// `train --resume`, which cuts progress.csv back to the checkpoint and recomputes the rest.
// run-task holds flock() on the run directory while it works, so two sweeps (or a sweep and an
// array task) never write one run at once; a local sweep's children die with it (PDEATHSIG).
#define _XOPEN_SOURCE 700  // realpath
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "harness/run.h"
#include "harness/suite.h"

#define SWEEP_DONE_FILE "done.txt"
#define SWEEP_FAILED_FILE "failed.txt"
#define SWEEP_LOG_FILE "stderr.log"
#define SWEEP_SLURM_DIR "_slurm"
#define SWEEP_MAX_JOBS 1024

typedef enum {
  SWEEP_NEW,
  SWEEP_RESUME,
  SWEEP_RETRY,
  SWEEP_CHANGED,
  SWEEP_EXTEND,
  SWEEP_FINISHED
} sweep_state_t;

static const char *const sweep_state_names[] = {"new",     "resume", "retry",
                                                "changed", "extend", "finished"};

static double sweep_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sweep_path(char *out, size_t n, const char *dir, const char *name) {
  snprintf(out, n, "%s/%s", dir, name);
}

// ---- run directory state ------------------------------------------------------------------------

// The config hash done.txt records, or 0 when absent or unreadable.
static int sweep_read_done(const char *dir, unsigned long long *hash) {
  char path[SUITE_PATH + 32], buf[128];
  sweep_path(path, sizeof path, dir, SWEEP_DONE_FILE);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int ok = fgets(buf, sizeof buf, f) && sscanf(buf, "config_hash=%16llx", hash) == 1;
  fclose(f);
  return ok;
}

// Compare run i's directory (config.yaml) with the suite's configuration of that run. Equal:
// 0 and *extend = 0. Equal but for run.steps, with an algorithm that never reads the budget:
// 0 and *extend = 1 (`train --resume DIR --steps N` gives what a fresh N-step run gives).
// Otherwise ERR_INPUT naming the first differing line.
static int sweep_check_existing(const suite_t *s, int i, int *extend) {
  const suite_run_t *r = &s->runs[i];
  char path[SUITE_PATH + 32];
  sweep_path(path, sizeof path, r->dir, "config.yaml");
  *extend = 0;
  run_config_t want, have;
  int rc = suite_run_config(s, i, &want);
  if (rc) return rc;
  rc = run_config_resolve(&have, path, NULL, NULL, NULL, 0);
  if (rc) {
    run_config_free(&want);
    return rc;
  }
  // The recorded run with the suite's budget (the run section is what cfg_to_yaml writes):
  // equal to the suite's run iff only steps differ.
  int recorded_steps = have.run.steps;
  if (!want.algo_class->schedules_on_steps) have.run.steps = want.run.steps;
  char *a = cfg_to_yaml(want.secs, 3), *b = cfg_to_yaml(have.secs, 3);
  if (!a || !b) {
    rc = err_fail("out of memory");
  } else if (strcmp(a, b) != 0) {
    const char *pa = a, *pb = b;
    while (*pa && *pa == *pb) pa++, pb++;
    while (pa > a && pa[-1] != '\n') pa--, pb--;
    int la = (int)strcspn(pa, "\n"), lb = (int)strcspn(pb, "\n");
    rc = err_input(
        "%s: holds a run of another configuration than run %d of %s (`%.*s` there, "
        "`%.*s` in the suite); move the directory away to rerun it",
        path, i, s->path, lb, pb, la, pa);
  } else {
    *extend = recorded_steps != want.run.steps;
  }
  free(a);
  free(b);
  run_config_free(&want);
  run_config_free(&have);
  return rc;
}

// A finished run whose suite entry now asks for another budget (and nothing else) is extended.
// A done.txt hash that differs while the resolved configurations are equal comes from a build
// with fewer parameters (a key added since, at its default: the old config.yaml lacks the line,
// which resolving fills in): the same run, finished.
static sweep_state_t sweep_state(const suite_t *s, int i) {
  const suite_run_t *r = &s->runs[i];
  unsigned long long hash;
  char path[SUITE_PATH + 32];
  if (sweep_read_done(r->dir, &hash)) {
    if (hash == r->config_hash) return SWEEP_FINISHED;
    int extend = 0;
    if (sweep_check_existing(s, i, &extend) != 0) return SWEEP_CHANGED;
    return extend ? SWEEP_EXTEND : SWEEP_FINISHED;
  }
  sweep_path(path, sizeof path, r->dir, SWEEP_FAILED_FILE);
  if (fs_exists(path)) return SWEEP_RETRY;
  sweep_path(path, sizeof path, r->dir, "config.yaml");
  return fs_exists(path) ? SWEEP_RESUME : SWEEP_NEW;
}

// env_steps of the last complete row of DIR/progress.csv (0 if none): progress of a running run.
static long long sweep_run_steps(const char *dir) {
  char path[SUITE_PATH + 32], buf[4096];
  sweep_path(path, sizeof path, dir, "progress.csv");
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  long long steps = 0;
  if (fseek(f, 0, SEEK_END) == 0) {
    long size = ftell(f);
    long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
    if (size > 0 && fseek(f, from, SEEK_SET) == 0) {
      size_t n = fread(buf, 1, sizeof buf - 1, f);
      buf[n] = 0;
      // The last complete line: columns update,env_steps,...
      while (n > 0 && buf[n - 1] != '\n') buf[--n] = 0;
      if (n > 0) buf[--n] = 0;
      char *line = strrchr(buf, '\n');
      line = line ? line + 1 : buf;
      char *comma = strchr(line, ',');
      if (comma && line[0] >= '0' && line[0] <= '9') steps = strtoll(comma + 1, NULL, 10);
    }
  }
  fclose(f);
  return steps;
}

// The last non-empty line of a log (for failed.txt), at most n-1 characters.
static void sweep_last_line(const char *path, char *out, size_t n) {
  out[0] = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return;
  char buf[4096];
  size_t len = 0;
  if (fseek(f, 0, SEEK_END) == 0) {
    long size = ftell(f);
    long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
    if (fseek(f, from, SEEK_SET) == 0) len = fread(buf, 1, sizeof buf - 1, f);
  }
  fclose(f);
  buf[len] = 0;
  // A progress line rewritten with '\r' counts from its last segment.
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '\r') buf[i] = '\n';
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ')) buf[--len] = 0;
  char *line = strrchr(buf, '\n');
  snprintf(out, n, "%s", line ? line + 1 : buf);
}

static int sweep_write_text(const char *dir, const char *name, const char *text) {
  char path[SUITE_PATH + 32];
  sweep_path(path, sizeof path, dir, name);
  return fs_write_atomic(path, text, strlen(text));
}

static void sweep_remove(const char *dir, const char *name) {
  char path[SUITE_PATH + 32];
  sweep_path(path, sizeof path, dir, name);
  unlink(path);
}

// ---- run-task: one run --------------------------------------------------------------------------

static int sweep_train(const suite_t *s, int i) {
  const suite_run_t *r = &s->runs[i];
  char *argv[SUITE_MAX_OVERRIDES + 16];
  int argc = 0;
  char path[SUITE_PATH + 32];
  sweep_path(path, sizeof path, r->dir, "config.yaml");
  argv[argc++] = "train";
  char steps_text[32];
  if (fs_exists(path)) {
    int extend = 0;
    int rc = sweep_check_existing(s, i, &extend);
    if (rc) return rc;
    argv[argc++] = "--resume";
    argv[argc++] = (char *)r->dir;
    if (extend) {
      snprintf(steps_text, sizeof steps_text, "%lld", r->steps);
      argv[argc++] = "--steps";
      argv[argc++] = steps_text;
    }
  } else {
    argv[argc++] = "--env";
    argv[argc++] = (char *)r->env;
    argv[argc++] = "--algo";
    argv[argc++] = (char *)r->algo;
    if (r->config[0]) {
      argv[argc++] = "--config";
      argv[argc++] = (char *)r->config;
    }
    argv[argc++] = "--out";
    argv[argc++] = (char *)r->dir;
    for (int k = 0; k < r->n_overrides; k++) argv[argc++] = (char *)r->overrides[k];
  }
  argv[argc] = NULL;
  return train_main(argc, argv);
}

static void run_task_usage(FILE *f) {
  fprintf(f,
          "usage: safemarl run-task SUITE.yaml --index I [--out ROOT]\n"
          "Trains run I of the suite (the order of `safemarl sweep SUITE --dry-run`) into its run\n"
          "directory under ROOT (default results/runs): a new run, a resume of a killed one, or\n"
          "nothing when done.txt says it is finished. Writes done.txt on success and failed.txt\n"
          "(exit status and reason) on failure. This is what a Slurm array task calls.\n");
}

int run_task_main(int argc, char **argv) {
  const char *suite_path = NULL, *index_text = NULL, *out_root = NULL;
  for (int i = 1; i < argc; i++) {
    const char **slot = NULL;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      run_task_usage(stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--index"))
      slot = &index_text;
    else if (!strcmp(argv[i], "--out"))
      slot = &out_root;
    if (slot) {
      if (i + 1 >= argc) return err_input("command line: %s needs a value", argv[i]);
      *slot = argv[++i];
    } else if (argv[i][0] == '-' || suite_path) {
      return err_input("command line: unknown argument '%s' (safemarl run-task --help)", argv[i]);
    } else {
      suite_path = argv[i];
    }
  }
  if (!suite_path) return err_input("command line: run-task needs a suite file");
  if (!index_text) return err_input("command line: run-task needs --index I");
  char *end;
  errno = 0;
  long index = strtol(index_text, &end, 10);
  if (!index_text[0] || *end || errno || index < 0 || index > INT_MAX)
    return err_input("command line: --index: expected a run number, got '%s'", index_text);
  suite_t s;
  int rc = suite_load(suite_path, out_root, &s);
  if (rc) return rc;
  if (index >= s.n_runs) {
    rc = err_input("command line: --index %ld: %s has %d runs (0..%d)", index, suite_path, s.n_runs,
                   s.n_runs - 1);
    suite_free(&s);
    return rc;
  }
  const suite_run_t *r = &s.runs[index];
  int dfd = -1;
  rc = fs_mkdir_p(r->dir);
  if (!rc) {
    dfd = open(r->dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0) rc = err_fail("%s: cannot open: %s", r->dir, strerror(errno));
  }
  if (!rc && flock(dfd, LOCK_EX | LOCK_NB) != 0) {
    // Not ours: leave its files alone (no failed.txt).
    rc = err_fail("%s: another process is running this run (a sweep or an array task)", r->dir);
    close(dfd);
    suite_free(&s);
    return rc;
  }
  if (!rc && sweep_state(&s, (int)index) == SWEEP_FINISHED) {
    fprintf(stderr, "%s: run already complete\n", r->dir);
  } else if (!rc) {
    sweep_remove(r->dir, SWEEP_FAILED_FILE);
    rc = sweep_train(&s, (int)index);
    if (!rc) {
      char text[64];
      snprintf(text, sizeof text, "config_hash=%016llx\n", (unsigned long long)r->config_hash);
      rc = sweep_write_text(r->dir, SWEEP_DONE_FILE, text);
    } else {
      // The same two lines a local sweep writes from the exit status and the log.
      char text[1200];
      snprintf(text, sizeof text, "exit status %d\nsafemarl run-task: %s\n",
               rc == ERR_INPUT ? 2 : 1, err_message());
      char saved[1024];
      snprintf(saved, sizeof saved, "%s", err_message());
      sweep_write_text(r->dir, SWEEP_FAILED_FILE, text);
      err_input("%s", saved);  // keep the run's message, not a write error's
      if (rc != ERR_INPUT) rc = ERR_FAIL;
    }
  }
  if (dfd >= 0) close(dfd);
  suite_free(&s);
  return rc;
}

// ---- arguments ----------------------------------------------------------------------------------

typedef struct {
  const char *suite, *out, *backend;
  int jobs, dry_run, wait;
} sweep_args_t;

static void sweep_usage(FILE *f) {
  fprintf(f,
          "usage: safemarl sweep SUITE.yaml [-j N] [--out ROOT] [--backend local|slurm] "
          "[--dry-run] [--wait]\n"
          "Runs every run of the suite (env x algo x grid point x seed), each as its own process\n"
          "(`safemarl run-task SUITE --index I`), into ROOT/<suite>/<env>/<algo>[/<grid>]/seed<k>\n"
          "(ROOT defaults to results/runs). Finished runs (done.txt) are skipped, killed ones\n"
          "resumed from their checkpoint; a failing run gets failed.txt and the sweep goes on.\n"
          "Exit status 1 when any run failed.\n"
          "  -j N              runs at a time (local: default the number of CPUs; slurm: the\n"
          "                    array's %%N limit, default none)\n"
          "  --out ROOT        run root (default results/runs)\n"
          "  --backend B       local (default) or slurm: one job array, task i = run i\n"
          "  --dry-run         local: list each run with its state (new, resume, retry, changed,\n"
          "                    finished) and directory; slurm: print the batch script\n"
          "  --wait            slurm: wait for the array (sbatch --wait), then summarise\n");
}

static int sweep_parse_args(int argc, char **argv, sweep_args_t *a) {
  memset(a, 0, sizeof *a);
  a->backend = "local";
  a->jobs = -1;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "--dry-run")) {
      a->dry_run = 1;
    } else if (!strcmp(s, "--wait")) {
      a->wait = 1;
    } else if (!strcmp(s, "-j") || !strcmp(s, "--jobs") || !strcmp(s, "--out") ||
               !strcmp(s, "--backend")) {
      if (i + 1 >= argc) return err_input("command line: %s needs a value", s);
      const char *v = argv[++i];
      if (!strcmp(s, "--out")) {
        if (!v[0]) return err_input("command line: --out: empty path");
        a->out = v;
      } else if (!strcmp(s, "--backend")) {
        if (strcmp(v, "local") && strcmp(v, "slurm"))
          return err_input("command line: --backend: must be local or slurm, got '%s'", v);
        a->backend = v;
      } else {
        char *end;
        errno = 0;
        long j = strtol(v, &end, 10);
        if (!v[0] || *end || errno || j < 1 || j > SWEEP_MAX_JOBS)
          return err_input("command line: %s: expected a number of runs in [1, %d], got '%s'", s,
                           SWEEP_MAX_JOBS, v);
        a->jobs = (int)j;
      }
    } else if (!strncmp(s, "-j", 2) && s[2]) {
      char *end;
      long j = strtol(s + 2, &end, 10);
      if (*end || j < 1 || j > SWEEP_MAX_JOBS)
        return err_input("command line: -j: expected a number of runs in [1, %d], got '%s'",
                         SWEEP_MAX_JOBS, s + 2);
      a->jobs = (int)j;
    } else if (s[0] == '-' || a->suite) {
      return err_input("command line: unknown argument '%s' (safemarl sweep --help)", s);
    } else {
      a->suite = s;
    }
  }
  if (!a->suite) return err_input("command line: sweep needs a suite file (benchmarks/*.yaml)");
  if (a->wait && strcmp(a->backend, "slurm"))
    return err_input("command line: --wait applies to --backend slurm only");
  return 0;
}

// ---- local backend ------------------------------------------------------------------------------

typedef struct {
  pid_t pid;  // 0 = free
  int index;
} sweep_slot_t;

// A run to do in this session. Runs of one (env, algo) pair share a speed estimate: steps per
// wall second differ by orders of magnitude between algorithms, so one global rate would make
// the ETA of a mixed suite useless.
typedef struct {
  int group;           // index of the run's (env, algo) pair
  char state;          // 'w' waiting, 'r' running, 'e' ended, 'x' failed or interrupted
  double t0, t1;       // wall clock at start and end
  long long from, to;  // env steps at start, and at the end or the last look
} sweep_item_t;

typedef struct {
  const suite_t *s;
  const char *out_root;
  int jobs, tty;
  sweep_slot_t *slots;
  char **reason;                   // per run: why it failed, or NULL
  int n_total, n_todo, n_skipped;  // runs; to run now; finished before
  int n_started, n_done, n_failed, n_interrupted;
  int redraw;  // an event line was printed: draw the bar again
  double t_start, t_drawn;
  sweep_item_t *items;  // per run index (only the runs to do are used)
  int n_groups;
} sweep_local_t;

static volatile sig_atomic_t sweep_stop_signal = 0;

static void sweep_on_stop(int sig) {
  sweep_stop_signal = sig;
}

static void sweep_on_child(int sig) {
  (void)sig;  // only interrupts the sleep
}

static void sweep_format_time(double s, char *out, size_t n) {
  long t = (long)(s + 0.5);
  if (t >= 3600)
    snprintf(out, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60)
    snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
  else
    snprintf(out, n, "%lds", t);
}

// Remaining wall seconds (-1 when no speed is known yet) and the fraction of the work done.
static double sweep_estimate(sweep_local_t *L, double *frac) {
  int G = L->n_groups;
  double *steps = calloc((size_t)G + 1, sizeof(double)),
         *secs = calloc((size_t)G + 1, sizeof(double));
  double now = sweep_now(), all_steps = 0, all_secs = 0, part = 0, left = 0;
  int remaining = 0;
  for (int i = 0; i < L->s->n_runs; i++) {
    sweep_item_t *it = &L->items[i];
    if (it->state == 'r') it->to = sweep_run_steps(L->s->runs[i].dir);
    if ((it->state != 'r' && it->state != 'e') || !steps) continue;
    double d = (double)(it->to - it->from), t = (it->state == 'r' ? now : it->t1) - it->t0;
    if (d > 0 && t > 0) {
      steps[it->group] += d;
      secs[it->group] += t;
      all_steps += d;
      all_secs += t;
    }
  }
  for (int i = 0; i < L->s->n_runs; i++) {
    sweep_item_t *it = &L->items[i];
    long long total = L->s->runs[i].steps;
    if (it->state == 'e' || it->state == 'x') part += 1;
    if (it->state != 'w' && it->state != 'r') continue;
    long long at = it->state == 'r' && it->to > it->from ? it->to : it->from;
    if (it->state == 'r' && total > it->from)
      part += (double)(at - it->from) / (double)(total - it->from);
    remaining++;
    int g = it->group;
    double rate = steps && secs[g] > 0.5 ? steps[g] / secs[g]
                  : all_secs > 0.5       ? all_steps / all_secs
                                         : 0;
    if (rate <= 0 || left < 0)
      left = -1;
    else if (total > at)
      left += (double)(total - at) / rate;
  }
  free(steps);
  free(secs);
  *frac = L->n_todo > 0 ? part / L->n_todo : 1;
  if (*frac > 1) *frac = 1;
  int width = remaining < L->jobs ? remaining : L->jobs;
  return left < 0 ? -1 : width > 0 ? left / width : 0;
}

static void sweep_eta(sweep_local_t *L, char *out, size_t n) {
  double frac, left = sweep_estimate(L, &frac);
  char e[32], r[32];
  sweep_format_time(sweep_now() - L->t_start, e, sizeof e);
  if (left < 0) {
    snprintf(out, n, "%s elapsed", e);
    return;
  }
  sweep_format_time(left, r, sizeof r);
  snprintf(out, n, "%s elapsed, ETA %s", e, r);
}

static int sweep_running(const sweep_local_t *L) {
  int n = 0;
  for (int k = 0; k < L->jobs; k++) n += L->slots[k].pid > 0;
  return n;
}

static void sweep_draw_bar(sweep_local_t *L) {
  if (!L->tty) return;
  int finished = L->n_done + L->n_failed + L->n_interrupted;
  char bar[31], eta[96];
  sweep_eta(L, eta, sizeof eta);
  double frac;
  sweep_estimate(L, &frac);
  int fill = frac >= 0 ? (int)(frac * 30) : 0;
  for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '-';
  bar[30] = 0;
  fprintf(stderr, "\r\033[K%s [%s] %d/%d runs, %d running", L->s->name, bar, finished, L->n_todo,
          sweep_running(L));
  if (L->n_failed) fprintf(stderr, ", %d failed", L->n_failed);
  fprintf(stderr, " | %s", eta);
  fflush(stderr);
  L->t_drawn = sweep_now();
}

// One line per event; on a terminal it goes above the bar.
static void sweep_event(sweep_local_t *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sweep_event(sweep_local_t *L, const char *fmt, ...) {
  if (L->tty) fprintf(stderr, "\r\033[K");
  int finished = L->n_done + L->n_failed + L->n_interrupted;
  fprintf(stderr, "%s: [%d/%d] ", L->s->name, finished, L->n_todo);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  L->redraw = L->tty;  // after the launches that follow, so "running" counts them
}

// Start run i in a free slot. A run whose directory cannot be made fails here, without a child.
static int sweep_launch(sweep_local_t *L, sweep_slot_t *slot, int i) {
  const suite_run_t *r = &L->s->runs[i];
  char log_path[SUITE_PATH + 32];
  sweep_path(log_path, sizeof log_path, r->dir, SWEEP_LOG_FILE);
  int fd = -1;
  if (fs_mkdir_p(r->dir) == 0) {
    fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) err_fail("%s: cannot open: %s", log_path, strerror(errno));
  }
  if (fd < 0) {
    L->n_failed++;
    L->reason[i] = strdup(err_message());
    sweep_event(L, "FAILED %s: %s", r->name, err_message());
    return 0;
  }
  sweep_remove(r->dir, SWEEP_FAILED_FILE);
  char index[32], header[256];
  snprintf(index, sizeof index, "%d", i);
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  strftime(header, sizeof header, "=== %Y-%m-%d %H:%M:%S safemarl run-task ", &tm);
  dprintf(fd, "%s%s --index %d (sweep pid %ld)\n", header, L->s->path, i, (long)getpid());
  char *argv[] = {"safemarl", "run-task", (char *)L->s->path,  "--index",
                  index,      "--out",    (char *)L->out_root, NULL};
  pid_t parent = getpid();
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(fd);
    return err_fail("cannot start a run: fork: %s", strerror(errno));
  }
  if (pid == 0) {
    // The run dies with the sweep, so a killed sweep never leaves a run writing behind it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execv("/proc/self/exe", argv);
    dprintf(2, "safemarl sweep: cannot execute /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
  }
  close(fd);
  slot->pid = pid;
  slot->index = i;
  sweep_item_t *it = &L->items[i];
  it->state = 'r';
  it->t0 = sweep_now();
  it->from = it->to = sweep_run_steps(r->dir);
  L->n_started++;
  if (!L->tty) sweep_event(L, "start %s", r->name);
  return 0;
}

// A child ended: done, failed (failed.txt), or interrupted by a stop signal.
static void sweep_reaped(sweep_local_t *L, sweep_slot_t *slot, int status) {
  int slot_index = slot->index;
  const suite_run_t *r = &L->s->runs[slot_index];
  sweep_item_t *it = &L->items[slot_index];
  char took[32];
  it->t1 = sweep_now();
  sweep_format_time(it->t1 - it->t0, took, sizeof took);
  slot->pid = 0;
  unsigned long long hash;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && sweep_read_done(r->dir, &hash)) {
    L->n_done++;
    it->state = 'e';
    it->to = r->steps;
    char eta[96];
    sweep_eta(L, eta, sizeof eta);
    sweep_event(L, "done %s (%s; %s)", r->name, took, eta);
    return;
  }
  it->state = 'x';
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || (sig && sweep_stop_signal)) {
    L->n_interrupted++;
    sweep_event(L, "interrupted %s (signal %d); re-running the sweep resumes it", r->name, sig);
    return;
  }
  char log_path[SUITE_PATH + 32], last[1024], text[1200], how[64];
  sweep_path(log_path, sizeof log_path, r->dir, SWEEP_LOG_FILE);
  sweep_last_line(log_path, last, sizeof last);
  if (sig)
    snprintf(how, sizeof how, "killed by signal %d (%s)", sig, strsignal(sig));
  else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    snprintf(how, sizeof how, "exit status 0 without %s", SWEEP_DONE_FILE);
  else
    snprintf(how, sizeof how, "exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  snprintf(text, sizeof text, "%s\n%s\n", how, last);
  sweep_write_text(r->dir, SWEEP_FAILED_FILE, text);
  char reason[1200];
  snprintf(reason, sizeof reason, "%s: %s", how, last);
  L->reason[slot_index] = strdup(reason);
  L->n_failed++;
  sweep_event(L, "FAILED %s: %s: %s", r->name, how, last);
}

static void sweep_reap(sweep_local_t *L, int block) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
    if (pid <= 0) return;
    for (int k = 0; k < L->jobs; k++)
      if (L->slots[k].pid == pid) sweep_reaped(L, &L->slots[k], status);
    if (block) return;
  }
}

static int sweep_local(const sweep_args_t *a, const suite_t *s) {
  sweep_local_t L;
  memset(&L, 0, sizeof L);
  L.s = s;
  L.out_root = a->out ? a->out : "results/runs";
  L.tty = isatty(2);
  L.n_total = s->n_runs;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  L.jobs = a->jobs > 0 ? a->jobs : (int)(cpus > 0 ? cpus : 1);
  int *todo = calloc((size_t)s->n_runs + 1, sizeof(int));
  L.slots = calloc((size_t)L.jobs, sizeof(sweep_slot_t));
  L.reason = calloc((size_t)s->n_runs + 1, sizeof(char *));
  L.items = calloc((size_t)s->n_runs + 1, sizeof(sweep_item_t));
  if (!todo || !L.slots || !L.reason || !L.items) {
    free(todo);
    free(L.slots);
    free(L.reason);
    free(L.items);
    return err_fail("out of memory");
  }
  for (int i = 0; i < s->n_runs; i++) {
    if (sweep_state(s, i) == SWEEP_FINISHED) {
      // A failed.txt beside a valid done.txt is stale (a refused attempt after a suite edit
      // that has been undone since).
      sweep_remove(s->runs[i].dir, SWEEP_FAILED_FILE);
      L.n_skipped++;
      continue;
    }
    todo[L.n_todo++] = i;
    sweep_item_t *it = &L.items[i];
    it->state = 'w';
    it->from = sweep_run_steps(s->runs[i].dir);
    // Group: the first earlier run to do with the same env and algorithm.
    it->group = L.n_groups;
    for (int k = 0; k < L.n_todo - 1; k++) {
      const suite_run_t *o = &s->runs[todo[k]];
      if (!strcmp(o->env, s->runs[i].env) && !strcmp(o->algo, s->runs[i].algo)) {
        it->group = L.items[todo[k]].group;
        break;
      }
    }
    if (it->group == L.n_groups) L.n_groups++;
  }
  if (L.jobs > L.n_todo && L.n_todo > 0) L.jobs = L.n_todo;
  fprintf(stderr, "%s: %d runs: %d finished before (skipped), %d to run, %d at a time\n", s->name,
          s->n_runs, L.n_skipped, L.n_todo, L.jobs);

  struct sigaction stop = {0}, child = {0}, old_int, old_term, old_hup, old_chld;
  stop.sa_handler = sweep_on_stop;
  sigemptyset(&stop.sa_mask);
  child.sa_handler = sweep_on_child;
  sigemptyset(&child.sa_mask);
  sigaction(SIGINT, &stop, &old_int);
  sigaction(SIGTERM, &stop, &old_term);
  sigaction(SIGHUP, &stop, &old_hup);
  sigaction(SIGCHLD, &child, &old_chld);
  sweep_stop_signal = 0;

  L.t_start = sweep_now();
  int next = 0, rc = 0;
  while (!rc) {
    if (sweep_stop_signal) break;
    for (int k = 0; k < L.jobs && next < L.n_todo && !rc; k++)
      if (L.slots[k].pid == 0) rc = sweep_launch(&L, &L.slots[k], todo[next++]);
    if (next >= L.n_todo && sweep_running(&L) == 0) break;
    if (L.redraw || (L.tty && sweep_now() - L.t_drawn > 0.5)) {
      sweep_draw_bar(&L);
      L.redraw = 0;
    }
    struct timespec nap = {0, 200 * 1000 * 1000};
    nanosleep(&nap, NULL);  // a child's exit (SIGCHLD) or a stop signal ends it early
    sweep_reap(&L, 0);
  }
  if (sweep_running(&L) > 0) {
    // Stopped: pass the signal on to the runs, then wait for every one of them.
    for (int k = 0; k < L.jobs; k++)
      if (L.slots[k].pid > 0) kill(L.slots[k].pid, SIGTERM);
    while (sweep_running(&L) > 0) sweep_reap(&L, 1);
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  sigaction(SIGCHLD, &old_chld, NULL);
  if (L.tty) fprintf(stderr, "\r\033[K");

  char took[32];
  sweep_format_time(sweep_now() - L.t_start, took, sizeof took);
  int not_started = L.n_todo - L.n_started;
  printf("sweep %s: %d runs: %d done, %d failed, %d skipped (finished before)", s->name, s->n_runs,
         L.n_done, L.n_failed, L.n_skipped);
  if (L.n_interrupted || (sweep_stop_signal && not_started))
    printf(", %d interrupted, %d not started", L.n_interrupted, not_started);
  printf(" in %s\n", took);
  for (int i = 0; i < s->n_runs; i++) {
    if (!L.reason[i]) continue;
    printf("  failed: %s: %s\n", s->runs[i].name, L.reason[i]);
    free(L.reason[i]);
  }
  fflush(stdout);
  free(todo);
  free(L.slots);
  free(L.reason);
  free(L.items);
  if (rc) return rc;
  if (sweep_stop_signal)
    return err_fail("interrupted by signal %d; re-run the sweep to resume", sweep_stop_signal);
  if (L.n_failed)
    return err_fail("%d of %d runs failed (failed.txt in each says why)", L.n_failed, s->n_runs);
  if (L.n_interrupted)
    return err_fail("%d runs were interrupted; re-run the sweep to resume them", L.n_interrupted);
  return 0;
}

static void sweep_list(const suite_t *s) {
  for (int i = 0; i < s->n_runs; i++)
    printf("%d %s %s\n", i, sweep_state_names[sweep_state(s, i)], s->runs[i].dir);
}

// ---- slurm backend ------------------------------------------------------------------------------

static int sweep_abspath(const char *in, char *out, size_t n) {
  if (in[0] == '/') {
    if (snprintf(out, n, "%s", in) >= (int)n) return err_input("%s: path too long", in);
    return 0;
  }
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd))
    return err_fail("cannot read the working directory: %s", strerror(errno));
  const char *rel = strncmp(in, "./", 2) == 0 ? in + 2 : in;
  if (snprintf(out, n, "%s/%s", cwd, rel) >= (int)n) return err_input("%s: path too long", in);
  return 0;
}

// A path the batch script can hold: #SBATCH lines and the command are not shell-quoted.
static int sweep_plain_path(const char *what, const char *p) {
  for (const char *c = p; *c; c++)
    if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\'' || *c == '"' || *c == '\\' ||
        *c == '$' || *c == '`' || *c == '%')
      return err_input(
          "%s: %s: the slurm backend needs a path without spaces, quotes, '$', "
          "'%%' or '\\'",
          p, what);
  return 0;
}

// "0-3,5,7-9" for the runs not finished; returns their count.
static int sweep_array_spec(const suite_t *s, char *out, size_t n) {
  size_t used = 0;
  int count = 0;
  out[0] = 0;
  for (int i = 0; i < s->n_runs;) {
    if (sweep_state(s, i) == SWEEP_FINISHED) {
      i++;
      continue;
    }
    int j = i;
    while (j + 1 < s->n_runs && sweep_state(s, j + 1) != SWEEP_FINISHED) j++;
    int w = j > i ? snprintf(out + used, n - used, "%s%d-%d", used ? "," : "", i, j)
                  : snprintf(out + used, n - used, "%s%d", used ? "," : "", i);
    if (w < 0 || used + (size_t)w >= n) return -1;
    used += (size_t)w;
    count += j - i + 1;
    i = j + 1;
  }
  return count;
}

// Run sbatch; the job id is its first output line (--parsable: "id" or "id;cluster").
static int sweep_sbatch(const char *script, int wait, char *job, size_t jn) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return err_fail("pipe: %s", strerror(errno));
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return err_fail("fork: %s", strerror(errno));
  if (pid == 0) {
    close(pipefd[0]);
    dup2(pipefd[1], 1);
    char *argv[5];
    int argc = 0;
    argv[argc++] = "sbatch";
    argv[argc++] = "--parsable";
    if (wait) argv[argc++] = "--wait";
    argv[argc++] = (char *)script;
    argv[argc] = NULL;
    execvp("sbatch", argv);
    dprintf(2, "safemarl sweep: cannot run sbatch: %s\n", strerror(errno));
    _exit(127);
  }
  close(pipefd[1]);
  FILE *f = fdopen(pipefd[0], "r");
  char line[256];
  job[0] = 0;
  while (f && fgets(line, sizeof line, f)) {
    if (!job[0]) {
      line[strcspn(line, ";\n")] = 0;
      snprintf(job, jn, "%.63s", line);
      fprintf(stderr, "submitted job %s%s\n", job, wait ? "; waiting for it to finish" : "");
    }
  }
  if (f) fclose(f);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code == 127)
    return err_fail(
        "sbatch not found: install slurm-wlm (scripts/packages.txt) or use "
        "--backend local");
  if (!job[0]) return err_fail("sbatch exited with status %d without submitting a job", code);
  return 0;  // with --wait, a failed task shows in the summary, not in sbatch's status
}

static int sweep_slurm(const sweep_args_t *a, const suite_t *s, const char *out_root) {
  char exe[PATH_MAX], suite_abs[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) return err_fail("cannot find this binary: /proc/self/exe: %s", strerror(errno));
  exe[n] = 0;
  if (!realpath(s->path, suite_abs)) return err_input("%s: %s", s->path, strerror(errno));
  int rc;
  if ((rc = sweep_plain_path("safemarl binary", exe)) ||
      (rc = sweep_plain_path("suite file", suite_abs)) ||
      (rc = sweep_plain_path("--out", out_root)))
    return rc;
  char spec[8192];
  int count = sweep_array_spec(s, spec, sizeof spec);
  if (count < 0) return err_input("%s: too many unfinished ranges for one --array", s->path);
  if (count == 0) {
    printf("sweep %s: all %d runs finished; nothing to submit\n", s->name, s->n_runs);
    return 0;
  }
  char limit[32] = "";
  if (a->jobs > 0) snprintf(limit, sizeof limit, "%%%d", a->jobs);
  const char *coretype = getenv("OPENBLAS_CORETYPE");
  char logdir[SUITE_PATH + 32];
  sweep_path(logdir, sizeof logdir, s->root, SWEEP_SLURM_DIR);
  char *script = NULL;
  size_t script_len = 0;
  FILE *f = open_memstream(&script, &script_len);
  if (!f) return err_fail("out of memory");
  fprintf(f,
          "#!/bin/bash\n"
          "# safemarl sweep %s: %d of %d runs as a Slurm job array, task i = run i of the suite\n"
          "# (written by `safemarl sweep --backend slurm`; re-running it resubmits what did not\n"
          "# finish). Each task trains one run directory under %s/.\n"
          "#SBATCH --job-name=safemarl-%s\n"
          "#SBATCH --array=%s%s\n"
          "#SBATCH --ntasks=1\n"
          "#SBATCH --cpus-per-task=1\n"
          "#SBATCH --output=%s/%%A_%%a.log\n"
          "set -eu\n"
          "export OPENBLAS_NUM_THREADS=1\n",
          s->name, count, s->n_runs, s->root, s->name, spec, limit, logdir);
  if (coretype && !strpbrk(coretype, " '\"$`\\\n"))
    fprintf(f, "export OPENBLAS_CORETYPE=%s\n", coretype);
  fprintf(f, "exec %s run-task %s --index \"$SLURM_ARRAY_TASK_ID\" --out %s\n", exe, suite_abs,
          out_root);
  fclose(f);
  if (a->dry_run) {
    fputs(script, stdout);
    free(script);
    return 0;
  }
  char script_path[SUITE_PATH + 64];
  sweep_path(script_path, sizeof script_path, logdir, "array.sh");
  rc = fs_mkdir_p(logdir);
  if (!rc) rc = fs_write_atomic(script_path, script, script_len);
  free(script);
  if (rc) return rc;
  char job[64];
  if ((rc = sweep_sbatch(script_path, a->wait, job, sizeof job))) return rc;
  if (!a->wait) {
    printf("sweep %s: submitted job %s: %d runs%s%s; logs %s/%s_<task>.log\n", s->name, job, count,
           a->jobs > 0 ? ", at most " : "", a->jobs > 0 ? limit + 1 : "", logdir, job);
    return 0;
  }
  int done = 0, failed = 0, other = 0;
  for (int i = 0; i < s->n_runs; i++) {
    sweep_state_t st = sweep_state(s, i);
    if (st == SWEEP_FINISHED) {
      done++;
    } else if (st == SWEEP_RETRY) {
      failed++;
      printf("  failed: %s (%s/%s)\n", s->runs[i].name, s->runs[i].dir, SWEEP_FAILED_FILE);
    } else {
      other++;
      printf("  not finished: %s (log: %s/%s_%d.log)\n", s->runs[i].name, logdir, job, i);
    }
  }
  printf("sweep %s: job %s: %d runs: %d finished, %d failed, %d not finished\n", s->name, job,
         s->n_runs, done, failed, other);
  if (failed || other)
    return err_fail("%d of %d runs did not finish (see their failed.txt and the job's logs)",
                    failed + other, s->n_runs);
  return 0;
}

// ---- the verb -----------------------------------------------------------------------------------

int sweep_main(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      sweep_usage(stdout);
      return 0;
    }
  sweep_args_t a;
  int rc = sweep_parse_args(argc, argv, &a);
  if (rc) return rc;
  int slurm = !strcmp(a.backend, "slurm");
  // Slurm tasks may start anywhere: every path in the script is absolute.
  char root[PATH_MAX];
  if (slurm && (rc = sweep_abspath(a.out ? a.out : "results/runs", root, sizeof root))) return rc;
  suite_t s;
  if ((rc = suite_load(a.suite, slurm ? root : a.out, &s))) return rc;
  if (slurm)
    rc = sweep_slurm(&a, &s, root);
  else if (a.dry_run)
    sweep_list(&s);
  else
    rc = sweep_local(&a, &s);
  suite_free(&s);
  return rc;
}
