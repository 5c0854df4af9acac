// bench: env figures printed as key=value on one line.
//   bench env E    raw physics rate (the class's raw_step: random controls, frame skip, nothing
//                  else) against the full env rate (random actions through step: observations,
//                  reward, cost, resets), on T threads each stepping its own copies; peak RSS.
//   bench random E a uniform-random policy's episodic return, cost and length over K episodes
//                  (the sanity anchor in results/reference/random_policy.csv).
// Rates are env steps per second of wall time, summed over threads; the *_cpu_* figures divide
// by process CPU time instead, which is steadier on a shared machine. Copies are assigned to
// threads round-robin and every copy has its own rng streams ("env"/"act", copy index), so the
// trajectories do not depend on the thread count.
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/config.h"
#include "core/err.h"
#include "core/rng.h"
#include "envs/env.h"
#include "harness/run.h"

typedef struct {
  const env_class_t *cls;
  env_spec_t spec;
  void *shared;
  int n_copies;
  void **copies;
  rng_t *env_rng, *act_rng;
  float *obs, *share, *costs, *actions;  // per copy: [A][max_obs], [share], [A], [A][max_act]
  void *params;
} bench_envs_t;

typedef struct {
  bench_envs_t *b;
  int thread, n_threads;
  long steps_per_copy;
  int raw;  // 1: raw_step, 0: reset + step
} bench_job_t;

static double bench_now(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double bench_rss_mib(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
}

static float *bench_obs(bench_envs_t *b, int c) {
  return b->obs + (size_t)c * b->spec.n_agents * b->spec.max_obs_dim;
}

static float *bench_share(bench_envs_t *b, int c) {
  return b->share + (size_t)c * b->spec.share_obs_dim;
}

static void bench_random_actions(bench_envs_t *b, int c, float *act) {
  int A = b->spec.n_agents, W = b->spec.max_act_dim;
  for (int a = 0; a < A; a++)
    for (int i = 0; i < W; i++)
      act[a * W + i] =
          i < b->spec.act_dim[a] ? (float)(2.0 * rng_uniform(&b->act_rng[c]) - 1.0) : 0.0f;
}

static void *bench_worker(void *arg) {
  bench_job_t *j = arg;
  bench_envs_t *b = j->b;
  int A = b->spec.n_agents;
  env_step_t st;
  for (long r = 0; r < j->steps_per_copy; r++) {
    for (int c = j->thread; c < b->n_copies; c += j->n_threads) {
      if (j->raw) {
        b->cls->raw_step(b->copies[c], &b->env_rng[c]);
        continue;
      }
      float *act = b->actions + (size_t)c * A * b->spec.max_act_dim;
      bench_random_actions(b, c, act);
      st.obs = bench_obs(b, c);
      st.share_obs = bench_share(b, c);
      st.costs = b->costs + (size_t)c * A;
      b->cls->step(b->copies[c], act, &b->env_rng[c], &st);
      if (st.done) b->cls->reset(b->copies[c], &b->env_rng[c], st.obs, st.share_obs);
    }
  }
  return NULL;
}

// Run one phase on n_threads threads; returns wall seconds and CPU seconds.
static int bench_phase(bench_envs_t *b, int n_threads, long steps_per_copy, int raw, double *wall_s,
                       double *cpu_s) {
  pthread_t tid[256];
  bench_job_t job[256];
  double w0 = bench_now(CLOCK_MONOTONIC), c0 = bench_now(CLOCK_PROCESS_CPUTIME_ID);
  int started = 0, rc = 0;
  for (int t = 0; t < n_threads; t++) {
    job[t] = (bench_job_t){b, t, n_threads, steps_per_copy, raw};
    if (pthread_create(&tid[t], NULL, bench_worker, &job[t]) != 0) {
      rc = err_fail("bench: cannot start thread %d", t);
      break;
    }
    started++;
  }
  for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
  *wall_s = bench_now(CLOCK_MONOTONIC) - w0;
  *cpu_s = bench_now(CLOCK_PROCESS_CPUTIME_ID) - c0;
  return rc;
}

static void bench_close(bench_envs_t *b) {
  if (b->copies)
    for (int c = 0; c < b->n_copies; c++)
      if (b->copies[c]) b->cls->destroy(b->copies[c]);
  if (b->shared) b->cls->shared_destroy(b->shared);
  free(b->copies);
  free(b->env_rng);
  free(b->act_rng);
  free(b->obs);
  free(b->share);
  free(b->costs);
  free(b->actions);
  free(b->params);
}

// Resolve the env's parameters (defaults + key=value overrides), create the shared part and
// n_copies copies with their rng streams.
static int bench_open(bench_envs_t *b, const char *name, char *const *overrides, int n_overrides,
                      int n_copies, uint64_t seed) {
  memset(b, 0, sizeof *b);
  b->cls = env_find(name);
  if (!b->cls) return err_input("command line: unknown env '%s' (safemarl list envs)", name);
  if (!(b->params = err_calloc(1, b->cls->params_size))) return ERR_FAIL;
  cfg_section_t sec = {"env", b->cls->params, b->cls->n_params, b->params};
  int rc = cfg_set_defaults(&sec, 1);
  for (int i = 0; !rc && i < n_overrides; i++) {
    char dotted[512];
    const char *o = overrides[i];
    // Accept both env.key=value and key=value.
    snprintf(dotted, sizeof dotted, "%s%s", strncmp(o, "env.", 4) ? "env." : "", o);
    rc = cfg_override(&sec, 1, dotted);
  }
  if (rc) return rc;
  if ((rc = b->cls->shared_create(b->params, &b->spec, &b->shared))) return rc;
  b->n_copies = n_copies;
  int A = b->spec.n_agents;
  b->copies = err_calloc((size_t)n_copies, sizeof(void *));
  b->env_rng = err_calloc((size_t)n_copies, sizeof(rng_t));
  b->act_rng = err_calloc((size_t)n_copies, sizeof(rng_t));
  b->obs = err_calloc((size_t)n_copies * A * b->spec.max_obs_dim, sizeof(float));
  b->share = err_calloc((size_t)n_copies * (b->spec.share_obs_dim + 1), sizeof(float));
  b->costs = err_calloc((size_t)n_copies * A, sizeof(float));
  b->actions = err_calloc((size_t)n_copies * A * b->spec.max_act_dim, sizeof(float));
  if (!b->copies || !b->env_rng || !b->act_rng || !b->obs || !b->share || !b->costs || !b->actions)
    return ERR_FAIL;
  for (int c = 0; c < n_copies; c++) {
    if ((rc = b->cls->create(b->shared, &b->copies[c]))) return rc;
    rng_stream(&b->env_rng[c], seed, "env", (uint64_t)c);
    rng_stream(&b->act_rng[c], seed, "act", (uint64_t)c);
  }
  return ERR_OK;
}

static int bench_parse_long(const char *flag, const char *text, long lo, long hi, long *out) {
  char *end;
  long v = text ? strtol(text, &end, 10) : 0;
  if (!text || *end || end == text || v < lo || v > hi)
    return err_input("command line: %s: expected an integer in %ld..%ld, got '%s'", flag, lo, hi,
                     text ? text : "");
  *out = v;
  return 0;
}

// Options shared by the sub-verbs; anything with '=' is an env parameter override.
typedef struct {
  const char *env;
  long steps, threads, copies, episodes, seed, repeat;
  int csv;
  char *overrides[64];
  int n_overrides;
} bench_args_t;

static int bench_parse(int argc, char **argv, bench_args_t *a) {
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int rc = 0;
    if (!strcmp(s, "--steps")) {
      rc = bench_parse_long(s, v, 1, 2000000000L, &a->steps), i++;
    } else if (!strcmp(s, "--threads")) {
      rc = bench_parse_long(s, v, 1, 256, &a->threads), i++;
    } else if (!strcmp(s, "--copies")) {
      rc = bench_parse_long(s, v, 1, 4096, &a->copies), i++;
    } else if (!strcmp(s, "--episodes")) {
      rc = bench_parse_long(s, v, 1, 1000000, &a->episodes), i++;
    } else if (!strcmp(s, "--repeat")) {
      rc = bench_parse_long(s, v, 1, 15, &a->repeat), i++;
    } else if (!strcmp(s, "--seed")) {
      rc = bench_parse_long(s, v, 0, 2147483647L, &a->seed), i++;
    } else if (!strcmp(s, "--csv")) {
      a->csv = 1;
    } else if (strchr(s, '=') && s[0] != '-') {
      if (a->n_overrides >= 64) return err_input("command line: too many key=value overrides");
      a->overrides[a->n_overrides++] = argv[i];
    } else if (!a->env && s[0] != '-') {
      a->env = s;
    } else {
      return err_input("command line: bench %s: unexpected argument '%s'", argv[1], s);
    }
    if (rc) return rc;
  }
  if (!a->env) return err_input("command line: bench %s needs an env name", argv[1]);
  return 0;
}

static double bench_median(double *v, int n) {
  for (int i = 1; i < n; i++)  // insertion sort: n is the repeat count
    for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void bench_reset_all(bench_envs_t *b) {
  for (int c = 0; c < b->n_copies; c++)
    b->cls->reset(b->copies[c], &b->env_rng[c], bench_obs(b, c), bench_share(b, c));
}

static int bench_env(const bench_args_t *a) {
  bench_envs_t b;
  long copies = a->copies ? a->copies : a->threads;
  if (copies < a->threads)
    return err_input("command line: --copies %ld is fewer than --threads %ld", copies, a->threads);
  double base_rss = bench_rss_mib();
  int rc = bench_open(&b, a->env, a->overrides, a->n_overrides, (int)copies, (uint64_t)a->seed);
  long per_copy = (a->steps + copies - 1) / copies;
  double total = (double)per_copy * copies;
  // Alternate the phases, each from a reset, and keep the median of each rate: on a shared
  // machine a slow spell then hits one repeat of one phase, not the ratio.
  double raw[16], env[16], raw_cpu[16], env_cpu[16];
  int R = (int)a->repeat, has_raw = !rc && b.cls->raw_step != NULL;
  for (int r = 0; !rc && r < R; r++) {
    double w, c;
    if (has_raw) {
      bench_reset_all(&b);
      if ((rc = bench_phase(&b, (int)a->threads, per_copy, 1, &w, &c))) break;
      raw[r] = total / w, raw_cpu[r] = total / c;
    }
    bench_reset_all(&b);
    if ((rc = bench_phase(&b, (int)a->threads, per_copy, 0, &w, &c))) break;
    env[r] = total / w, env_cpu[r] = total / c;
  }
  if (!rc) {
    double env_rate = bench_median(env, R), env_c = bench_median(env_cpu, R);
    printf("env=%s threads=%ld copies=%ld steps=%.0f repeat=%d ", a->env, a->threads, copies, total,
           R);
    if (has_raw) {
      double raw_rate = bench_median(raw, R), raw_c = bench_median(raw_cpu, R);
      printf(
          "raw_steps_per_s=%.0f env_steps_per_s=%.0f ratio=%.3f raw_cpu_steps_per_s=%.0f "
          "env_cpu_steps_per_s=%.0f cpu_ratio=%.3f ",
          raw_rate, env_rate, env_rate / raw_rate, raw_c, env_c, env_c / raw_c);
    } else {
      printf("raw_steps_per_s=na env_steps_per_s=%.0f ratio=na env_cpu_steps_per_s=%.0f ", env_rate,
             env_c);
    }
    printf("base_rss_mib=%.1f peak_rss_mib=%.1f\n", base_rss, bench_rss_mib());
  }
  bench_close(&b);
  return rc;
}

static int bench_random(const bench_args_t *a) {
  bench_envs_t b;
  int rc = bench_open(&b, a->env, a->overrides, a->n_overrides, 1, (uint64_t)a->seed);
  long K = a->episodes;
  double *ret = NULL, *cost = NULL, *len = NULL;
  if (!rc) {
    ret = err_calloc((size_t)K, sizeof *ret);
    cost = err_calloc((size_t)K, sizeof *cost);
    len = err_calloc((size_t)K, sizeof *len);
    if (!ret || !cost || !len) rc = ERR_FAIL;
  }
  for (long k = 0; !rc && k < K; k++) {
    env_step_t st = {.obs = b.obs, .share_obs = b.share, .costs = b.costs};
    b.cls->reset(b.copies[0], &b.env_rng[0], b.obs, b.share);
    do {
      bench_random_actions(&b, 0, b.actions);
      b.cls->step(b.copies[0], b.actions, &b.env_rng[0], &st);
      ret[k] += st.reward;
      cost[k] += st.team_cost;
      len[k] += 1;
    } while (!st.done);
  }
  if (!rc) {
    double m[3] = {0}, sd[3] = {0};
    double *col[3] = {ret, cost, len};
    for (int j = 0; j < 3; j++) {
      for (long k = 0; k < K; k++) m[j] += col[j][k] / K;
      for (long k = 0; k < K; k++) sd[j] += (col[j][k] - m[j]) * (col[j][k] - m[j]) / K;
      sd[j] = sqrt(sd[j]);
    }
    if (a->csv) {
      printf("env,episodes,seed,return_mean,return_sd,cost_mean,cost_sd,length_mean,cost_limit\n");
      printf("%s,%ld,%ld,%.2f,%.2f,%.2f,%.2f,%.1f,%g\n", a->env, K, a->seed, m[0], sd[0], m[1],
             sd[1], m[2], b.spec.cost_limit);
    } else {
      printf(
          "env=%s episodes=%ld seed=%ld return_mean=%.2f return_sd=%.2f cost_mean=%.2f "
          "cost_sd=%.2f length_mean=%.1f cost_limit=%g\n",
          a->env, K, a->seed, m[0], sd[0], m[1], sd[1], m[2], b.spec.cost_limit);
    }
  }
  free(ret);
  free(cost);
  free(len);
  bench_close(&b);
  return rc;
}

int bench_main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    printf(
        "usage: safemarl bench env E [--steps N] [--threads T] [--copies C] [--repeat R] "
        "[--seed S] [key=value...]\n"
        "       safemarl bench random E [--episodes K] [--seed S] [--csv] [key=value...]\n"
        "  env:    raw physics vs full env steps per second (N env steps in total per phase, "
        "default 20000; C copies, default T, round-robin on T threads, default 1; median of "
        "R alternating repeats, default 3) and peak RSS\n"
        "  random: mean and sd of a uniform-random policy's episodic return, cost and "
        "length over K episodes (default 10)\n"
        "  key=value sets an env parameter (e.g. partition=nominal obs=obsk)\n");
    return argc < 2 ? err_input("command line: bench needs 'env' or 'random'") : 0;
  }
  bench_args_t a = {.steps = 20000, .threads = 1, .episodes = 10, .seed = 0, .repeat = 3};
  int rc = bench_parse(argc, argv, &a);
  if (rc) return rc;
  if (!strcmp(argv[1], "env")) return bench_env(&a);
  if (!strcmp(argv[1], "random")) return bench_random(&a);
  return err_input("command line: bench %s: unknown (env|random)", argv[1]);
}
