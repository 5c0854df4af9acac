// bench: env figures printed as key=value on one line.
//   bench env E    raw physics rate (the class's raw_step: random controls, frame skip, nothing
//                  else) against the full env rate (random actions through step: observations,
//                  reward, cost, resets), on T threads each stepping its own copies; peak RSS.
//   bench random E a uniform-random policy's episodic return, cost and length over K episodes
//                  (the sanity anchor in results/reference/random_policy.csv).
//   bench train E A end-to-end training throughput (a real run in memory, train_bench) against
//                  the raw physics rate on the same threads and copies; the wall time of one
//                  update at the reference schedule (16 copies x 1000 steps, 5 epochs x 40
//                  minibatches where the algorithm has those parameters); peak RSS.
//                  raw_step drives the physics with uniform random controls; the physics of
//                  the training's own trajectories can be slower or faster (on halfcheetah_2x3
//                  a Gaussian policy's small controls cost about 10% more per step), so the
//                  run also reports env_share = the loop's wall seconds spent inside the env
//                  steps (physics, observations, rewards, costs: more than raw physics) over
//                  all its wall seconds, and own_env_steps_per_s = env steps / those seconds;
//                  and, for envs with raw_step_actions, the raw physics of the run's own
//                  recorded actions replayed from the same env streams (the same trajectories:
//                  replay_steps_per_s, ratio_replay). --repeat R alternates R training, raw and
//                  replay phases: medians of the rates, and of each repeat's ratio (its phases
//                  ran back to back, so the ratio is steadier on a VM whose speed drifts).
//   bench efficiency FILE  the MAFOCOPS efficiency tables against ours (harness/efficiency.c,
//                  which uses train_bench and bench_env_rates).
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
  // raw_step_actions on a recorded run (raw is then ignored): step k of copy c takes
  // replay[(k * n_copies + c) * A * max_act_dim ...] ([steps][copies][A][max_act_dim]).
  const float *replay;
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
      if (j->replay) {
        size_t row = ((size_t)r * b->n_copies + (size_t)c) * A * b->spec.max_act_dim;
        b->cls->raw_step_actions(b->copies[c], j->replay + row, &b->env_rng[c]);
        continue;
      }
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
static int bench_phase(bench_envs_t *b, int n_threads, long steps_per_copy, int raw,
                       const float *replay, double *wall_s,
                       double *cpu_s) {
  pthread_t tid[256];
  bench_job_t job[256];
  double w0 = bench_now(CLOCK_MONOTONIC), c0 = bench_now(CLOCK_PROCESS_CPUTIME_ID);
  int started = 0, rc = 0;
  for (int t = 0; t < n_threads; t++) {
    job[t] = (bench_job_t){b, t, n_threads, steps_per_copy, raw, replay};
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

// Create the shared part of b->cls from b->params and n_copies copies with their rng streams.
static int bench_create(bench_envs_t *b, int n_copies, uint64_t seed) {
  int rc = b->cls->shared_create(b->params, &b->spec, &b->shared);
  if (rc) return rc;
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

// Resolve the env's parameters (defaults + key=value overrides), then bench_create.
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
  return bench_create(b, n_copies, seed);
}

// Options shared by the sub-verbs; anything with '=' is an override (env parameters; for
// train any run/env/algo key). steps and threads are 0 when not given.
typedef struct {
  const char *env, *algo;
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
      rc = run_parse_cli_long(s, v, 1, 2000000000L, &a->steps), i++;
    } else if (!strcmp(s, "--threads")) {
      rc = run_parse_cli_long(s, v, 1, 256, &a->threads), i++;
    } else if (!strcmp(s, "--copies")) {
      rc = run_parse_cli_long(s, v, 1, 4096, &a->copies), i++;
    } else if (!strcmp(s, "--episodes")) {
      rc = run_parse_cli_long(s, v, 1, 1000000, &a->episodes), i++;
    } else if (!strcmp(s, "--repeat")) {
      rc = run_parse_cli_long(s, v, 1, 15, &a->repeat), i++;
    } else if (!strcmp(s, "--seed")) {
      rc = run_parse_cli_long(s, v, 0, 2147483647L, &a->seed), i++;
    } else if (!strcmp(s, "--csv")) {
      a->csv = 1;
    } else if (strchr(s, '=') && s[0] != '-') {
      if (a->n_overrides >= 64) return err_input("command line: too many key=value overrides");
      a->overrides[a->n_overrides++] = argv[i];
    } else if (!a->env && s[0] != '-') {
      a->env = s;
    } else if (!a->algo && s[0] != '-' && !strcmp(argv[1], "train")) {
      a->algo = s;
    } else {
      return err_input("command line: bench %s: unexpected argument '%s'", argv[1], s);
    }
    if (rc) return rc;
  }
  if (!a->env) return err_input("command line: bench %s needs an env name", argv[1]);
  if (!strcmp(argv[1], "train") && !a->algo)
    return err_input("command line: bench train needs an env and an algorithm name");
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

// The alternating raw / full-env phases of `bench env`, each from a reset, R repeats: median
// rates by wall time and by process CPU time (rates[0..3] = raw, env, raw_cpu, env_cpu; the raw
// ones are left alone for an env without raw_step). On a shared machine a slow spell then hits
// one repeat of one phase, not the ratio.
static int bench_env_measure(bench_envs_t *b, int threads, long per_copy, int R, double rates[4]) {
  double total = (double)per_copy * b->n_copies;
  double raw[16] = {0}, env[16] = {0}, raw_cpu[16] = {0}, env_cpu[16] = {0};
  int rc = 0, has_raw = b->cls->raw_step != NULL;
  if (R < 1 || R > 16) return err_input("bench: repeat %d outside 1..16", R);
  for (int r = 0; !rc && r < R; r++) {
    double w, c;
    if (has_raw) {
      bench_reset_all(b);
      if ((rc = bench_phase(b, threads, per_copy, 1, NULL, &w, &c))) break;
      raw[r] = total / w, raw_cpu[r] = total / c;
    }
    bench_reset_all(b);
    if ((rc = bench_phase(b, threads, per_copy, 0, NULL, &w, &c))) break;
    env[r] = total / w, env_cpu[r] = total / c;
  }
  if (rc) return rc;
  rates[1] = bench_median(env, R), rates[3] = bench_median(env_cpu, R);
  if (has_raw) rates[0] = bench_median(raw, R), rates[2] = bench_median(raw_cpu, R);
  return 0;
}

static int bench_env(const bench_args_t *a) {
  bench_envs_t b;
  long copies = a->copies ? a->copies : a->threads;
  if (copies < a->threads)
    return err_input("command line: --copies %ld is fewer than --threads %ld", copies, a->threads);
  double base_rss = bench_rss_mib();
  int rc = bench_open(&b, a->env, a->overrides, a->n_overrides, (int)copies, (uint64_t)a->seed);
  long per_copy = (a->steps + copies - 1) / copies;
  double total = (double)per_copy * copies, rates[4];
  int R = (int)a->repeat, has_raw = !rc && b.cls->raw_step != NULL;
  if (!rc) rc = bench_env_measure(&b, (int)a->threads, per_copy, R, rates);
  if (!rc) {
    double env_rate = rates[1], env_c = rates[3];
    printf("env=%s threads=%ld copies=%ld steps=%.0f repeat=%d ", a->env, a->threads, copies, total,
           R);
    if (has_raw) {
      double raw_rate = rates[0], raw_c = rates[2];
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

int bench_env_rates(const run_config_t *cfg, int threads, long steps, int repeat,
                    double *raw_steps_per_s, double *env_steps_per_s,
                    double *env_cpu_steps_per_s) {
  if (threads < 1 || repeat < 1 || repeat > 15 || steps < 1)
    return err_input("bench_env_rates: threads, repeat or steps out of range");
  bench_envs_t b;
  memset(&b, 0, sizeof b);
  b.cls = cfg->env_class;
  if (!(b.params = err_calloc(1, b.cls->params_size))) return ERR_FAIL;
  memcpy(b.params, cfg->env_params, b.cls->params_size);
  // As `bench env E --threads T --seed S`: T copies, round-robin on T threads.
  int rc = bench_create(&b, threads, (uint64_t)cfg->run.seed);
  double rates[4] = {NAN, NAN, NAN, NAN};
  if (!rc) rc = bench_env_measure(&b, threads, (steps + threads - 1) / threads, repeat, rates);
  *raw_steps_per_s = rates[0];
  *env_steps_per_s = rates[1];
  if (env_cpu_steps_per_s) *env_cpu_steps_per_s = rates[3];
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

// ---- bench train ---------------------------------------------------------------------------

#define BENCH_REF_ENVS 16
#define BENCH_REF_LENGTH 1000
#define BENCH_REF_EPOCHS 5
#define BENCH_REF_MINIBATCHES 40
#define BENCH_RAW_STEPS 20000
#define BENCH_RAW_REPEAT 3

static int bench_algo_has_param(const algo_class_t *ac, const char *key) {
  for (int i = 0; i < ac->n_params; i++)
    if (!strcmp(ac->params[i].key, key)) return 1;
  return 0;
}

// Resolve a training configuration: the algorithm's defaults, run.seed and run.steps, the
// command line's key=value overrides, then `extra` (which win).
static int bench_train_config(run_config_t *cfg, const bench_args_t *a, long long steps,
                              char *const *extra, int n_extra) {
  char *kv[64 + 16];
  char seed_kv[64], steps_kv[64];
  int n = 0;
  snprintf(seed_kv, sizeof seed_kv, "run.seed=%ld", a->seed);
  kv[n++] = seed_kv;
  if (steps > 0) {
    snprintf(steps_kv, sizeof steps_kv, "run.steps=%lld", steps);
    kv[n++] = steps_kv;
  }
  for (int i = 0; i < a->n_overrides; i++) kv[n++] = a->overrides[i];
  for (int i = 0; i < n_extra && i < 16; i++) kv[n++] = extra[i];
  return run_config_resolve(cfg, NULL, a->env, a->algo, kv, n);
}

// The training configuration's env copies for the physics phases: cfg's env and parameters,
// run.num_envs copies seeded from run.seed's "env" streams (the training's own). bench_close
// releases them, also after a failure.
static int bench_train_envs(const run_config_t *cfg, bench_envs_t *b) {
  memset(b, 0, sizeof *b);
  b->cls = cfg->env_class;
  if (!(b->params = err_calloc(1, b->cls->params_size))) return ERR_FAIL;
  memcpy(b->params, cfg->env_params, b->cls->params_size);
  return bench_create(b, cfg->run.num_envs, (uint64_t)cfg->run.seed);
}

// The raw physics rate (raw_step; the full env step where the env has none) of cfg's env with
// cfg's copies on cfg's threads: median of a few repeats, each from a reset, per wall second and
// per process CPU second.
static int bench_train_raw(const run_config_t *cfg, double *rate, double *cpu_rate, int *is_raw) {
  bench_envs_t b;
  int E = cfg->run.num_envs, rc = bench_train_envs(cfg, &b);
  *is_raw = b.cls->raw_step != NULL;
  long per_copy = (BENCH_RAW_STEPS + E - 1) / E;
  double rates[BENCH_RAW_REPEAT], cpu_rates[BENCH_RAW_REPEAT], w, c;
  for (int r = 0; !rc && r < BENCH_RAW_REPEAT; r++) {
    bench_reset_all(&b);
    rc = bench_phase(&b, cfg->run.threads, per_copy, *is_raw, NULL, &w, &c);
    rates[r] = (double)per_copy * E / fmax(w, 1e-9);
    cpu_rates[r] = (double)per_copy * E / fmax(c, 1e-9);
  }
  if (!rc) *rate = bench_median(rates, BENCH_RAW_REPEAT);
  if (!rc) *cpu_rate = bench_median(cpu_rates, BENCH_RAW_REPEAT);
  bench_close(&b);
  return rc;
}

// Wall time of one update at the reference schedule: two rollouts and updates of a run with 16
// copies x 1000 steps (the episode length for episodic algorithms) and 5 epochs x 40 minibatches
// where the algorithm has those parameters. Writes the schedule applied, '-' for a parameter
// the algorithm does not have.
static int bench_train_update(const bench_args_t *a, const algo_class_t *ac, char *threads_kv,
                              double *update_s, char *schedule, size_t n) {
  char envs_kv[64], length_kv[64], epochs_kv[64], mb_kv[64], *extra[5];
  int n_extra = 0, has_epochs = bench_algo_has_param(ac, "epochs"),
      has_mb = bench_algo_has_param(ac, "minibatches");
  snprintf(envs_kv, sizeof envs_kv, "run.num_envs=%d", BENCH_REF_ENVS);
  extra[n_extra++] = envs_kv;
  if (!ac->episodic_rollouts) {
    snprintf(length_kv, sizeof length_kv, "run.rollout_length=%d", BENCH_REF_LENGTH);
    extra[n_extra++] = length_kv;
  }
  if (has_epochs) {
    snprintf(epochs_kv, sizeof epochs_kv, "algo.epochs=%d", BENCH_REF_EPOCHS);
    extra[n_extra++] = epochs_kv;
  }
  if (has_mb) {
    snprintf(mb_kv, sizeof mb_kv, "algo.minibatches=%d", BENCH_REF_MINIBATCHES);
    extra[n_extra++] = mb_kv;
  }
  if (threads_kv) extra[n_extra++] = threads_kv;
  run_config_t cfg;
  train_bench_t run;
  int rc = bench_train_config(&cfg, a, 2LL * BENCH_REF_ENVS * BENCH_REF_LENGTH, extra, n_extra);
  if (!rc) rc = train_bench(&cfg, 2, 0, &run);
  if (!rc && run.updates < 1) rc = err_fail("bench train: the reference schedule ran no update");
  if (!rc) {
    *update_s = run.update_s / (double)run.updates;
    char ep[16] = "-", mb[16] = "-";
    if (has_epochs) snprintf(ep, sizeof ep, "%d", BENCH_REF_EPOCHS);
    if (has_mb) snprintf(mb, sizeof mb, "%d", BENCH_REF_MINIBATCHES);
    snprintf(schedule, n, "%dx%d/%sx%s", run.num_envs, run.rollout_length, ep, mb);
  }
  run_config_free(&cfg);
  return rc;
}

// The raw physics of the training run's own trajectories: cfg's copies, reset from the run's
// env streams, driven by the run's recorded actions (raw_step_actions), once through, on cfg's
// threads; per wall second and per process CPU second. 0 when the env has no raw_step_actions.
static int bench_train_replay(const run_config_t *cfg, const train_bench_t *run, double *rate,
                              double *cpu_rate) {
  *rate = *cpu_rate = 0;
  if (!cfg->env_class->raw_step_actions || !run->actions || run->updates < 1) return 0;
  bench_envs_t b;
  int E = cfg->run.num_envs, rc = bench_train_envs(cfg, &b);
  long per_copy = (long)run->updates * run->rollout_length;
  double w = 0, c = 0;
  if (!rc) {
    bench_reset_all(&b);
    rc = bench_phase(&b, cfg->run.threads, per_copy, 1, run->actions, &w, &c);
  }
  if (!rc) *rate = (double)per_copy * E / fmax(w, 1e-9);
  if (!rc) *cpu_rate = (double)per_copy * E / fmax(c, 1e-9);
  bench_close(&b);
  return rc;
}

// The rates of bench train's repeats (at most 16), one entry per repeat: end to end, raw
// physics, replayed physics (0 when the env has none), each per wall second and per process
// CPU second.
typedef struct {
  double train[16], train_cpu[16], raw[16], raw_cpu[16], replay[16], replay_cpu[16];
} bench_train_rates_t;

// Median over R repeats of num[r] / den[r], or of num[r] when den is NULL (each repeat's phases
// ran back to back, so the median of their ratios is steadier than the ratio of medians on a
// machine whose speed drifts).
static double bench_median_ratio(const double *num, const double *den, int R) {
  double v[16] = {0};
  for (int r = 0; r < R; r++) v[r] = den ? num[r] / den[r] : num[r];
  return bench_median(v, R);
}

// Per repeat: end to end (the first one's peak RSS is peak_rss_train_mib), then the raw rate,
// then the replay of the run's own actions; after the repeats, the update at the reference
// schedule, whose 16 x 1000 buffer may raise the process's peak (peak_rss_mib).
static int bench_train(const bench_args_t *a) {
  if (a->copies) return err_input("command line: bench train: use run.num_envs=E, not --copies");
  char threads_kv[64], *extra[1] = {threads_kv};
  if (a->threads) snprintf(threads_kv, sizeof threads_kv, "run.threads=%ld", a->threads);
  run_config_t cfg;
  train_bench_t run;
  memset(&run, 0, sizeof run);
  bench_train_rates_t q;
  memset(&q, 0, sizeof q);
  int R = (int)a->repeat, is_raw = 0;
  double rss_train = 0, update_s = 0;
  char schedule[128] = "";
  int rc = bench_train_config(&cfg, a, a->steps, extra, a->threads ? 1 : 0);
  for (int r = 0; !rc && r < R; r++) {
    free(run.actions);
    rc = train_bench(&cfg, 0, 1, &run);
    if (r == 0) rss_train = bench_rss_mib();
    if (rc) break;
    q.train[r] = (double)run.env_steps / fmax(run.wall_s, 1e-9);
    q.train_cpu[r] = (double)run.env_steps / fmax(run.cpu_s, 1e-9);
    rc = bench_train_raw(&cfg, &q.raw[r], &q.raw_cpu[r], &is_raw);
    if (!rc) rc = bench_train_replay(&cfg, &run, &q.replay[r], &q.replay_cpu[r]);
  }
  free(run.actions);
  run.actions = NULL;
  if (!rc)
    rc = bench_train_update(a, cfg.algo_class, a->threads ? threads_kv : NULL, &update_s, schedule,
                            sizeof schedule);
  if (!rc) {
    double train_rate = bench_median_ratio(q.train, NULL, R);
    double train_cpu_rate = bench_median_ratio(q.train_cpu, NULL, R);
    double raw_rate = bench_median_ratio(q.raw, NULL, R);
    double raw_cpu_rate = bench_median_ratio(q.raw_cpu, NULL, R);
    double ratio = bench_median_ratio(q.train, q.raw, R);
    double ratio_cpu = bench_median_ratio(q.train_cpu, q.raw_cpu, R);
    int has_replay = q.replay[0] > 0;
    // The replay figures, "na" for an env without raw_step_actions.
    char rp[4][32];
    double rv[4] = {0, 0, 0, 0};
    if (has_replay) {
      rv[0] = bench_median_ratio(q.replay, NULL, R);
      rv[1] = bench_median_ratio(q.train, q.replay, R);
      rv[2] = bench_median_ratio(q.replay_cpu, NULL, R);
      rv[3] = bench_median_ratio(q.train_cpu, q.replay_cpu, R);
    }
    for (int k = 0; k < 4; k++)
      snprintf(rp[k], sizeof rp[k], has_replay ? (k % 2 ? "%.3g" : "%.0f") : "na", rv[k]);
    printf(
        "train_steps_per_s=%.0f raw_steps_per_s=%.0f ratio=%.3g update_s=%.4f peak_rss_mib=%.1f "
        "peak_rss_train_mib=%.1f env=%s algo=%s threads=%d num_envs=%d rollout_length=%d "
        "steps=%lld updates=%lld wall_s=%.3f rollout_s=%.3f update_total_s=%.3f raw=%s "
        "schedule=%s train_cpu_steps_per_s=%.0f raw_cpu_steps_per_s=%.0f ratio_cpu=%.3g "
        "env_s=%.4g own_env_steps_per_s=%.0f env_share=%.3g replay_steps_per_s=%s "
        "ratio_replay=%s replay_cpu_steps_per_s=%s ratio_replay_cpu=%s repeat=%d\n",
        train_rate, raw_rate, ratio, update_s, bench_rss_mib(), rss_train, a->env, a->algo,
        run.threads, run.num_envs, run.rollout_length, run.env_steps, run.updates, run.wall_s,
        run.rollout_s, run.update_s, is_raw ? "raw_step" : "step", schedule, train_cpu_rate,
        raw_cpu_rate, ratio_cpu, run.env_s, (double)run.env_steps / fmax(run.env_s, 1e-9),
        run.env_s / fmax(run.wall_s, 1e-9), rp[0], rp[1], rp[2], rp[3], R);
  }
  run_config_free(&cfg);
  return rc;
}

static int bench_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
  return 0;
}

int bench_main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "efficiency")) return eff_main(argc - 1, argv + 1);
  if (argc < 2 || bench_wants_help(argc, argv)) {
    printf(
        "usage: safemarl bench env E [--steps N] [--threads T] [--copies C] [--repeat R] "
        "[--seed S] [key=value...]\n"
        "       safemarl bench random E [--episodes K] [--seed S] [--csv] [key=value...]\n"
        "       safemarl bench train E A [--steps N] [--threads T] [--repeat R] [--seed S] "
        "[key=value...]\n"
        "       safemarl bench efficiency FILE [--steps N] [--threads T] [--csv OUT] "
        "(--help for details)\n"
        "  env:    raw physics vs full env steps per second (N env steps in total per phase, "
        "default 20000; C copies, default T, round-robin on T threads, default 1; median of "
        "R alternating repeats, default 3) and peak RSS\n"
        "  random: mean and sd of a uniform-random policy's episodic return, cost and "
        "length over K episodes (default 10)\n"
        "  train:  a training run of algorithm A on E in memory (its default configuration, "
        "key=value overrides of run.*, env.*, algo.*; N env steps, default 100000; run.threads "
        "T): train_steps_per_s (env steps / wall s of the rollout-update loop), "
        "raw_steps_per_s (raw physics on T threads with the same copies; raw=step when the env "
        "has no raw_step), ratio, update_s (mean wall s of one update at the reference "
        "schedule 16 copies x 1000 steps, 5 epochs x 40 minibatches where the algorithm has "
        "those parameters: schedule=ExT/EPOCHSxMINIBATCHES, '-' = not a parameter of A), "
        "peak_rss_mib (whole process), peak_rss_train_mib (after the training run, before the "
        "reference update), and the same two rates and ratio per process CPU second "
        "(train_cpu_steps_per_s, raw_cpu_steps_per_s, ratio_cpu: with T = 1 they do not count "
        "time taken by other processes on a shared machine); env_s (wall s inside the rollouts' "
        "env steps: physics, observations, rewards, costs), own_env_steps_per_s (env steps / "
        "env_s: the env's rate on the training's own trajectories, where raw_step uses uniform "
        "random controls), env_share (env_s / wall_s: the share of the loop not taken by the "
        "learner and the harness), replay_steps_per_s and ratio_replay (+ per CPU second: the "
        "raw physics of the run's own recorded actions, 'na' where the env cannot replay). "
        "R repeats (default 3) of training, raw and replay phases in turn: the rates are "
        "medians, each ratio the median of the repeats' ratios; wall_s..env_share describe "
        "the last repeat\n"
        "  key=value sets an env parameter (e.g. partition=nominal obs=obsk)\n");
    return argc < 2
               ? err_input("command line: bench needs 'env', 'random', 'train' or 'efficiency'")
               : 0;
  }
  bench_args_t a = {.episodes = 10, .seed = 0, .repeat = 3};
  int rc = bench_parse(argc, argv, &a);
  if (rc) return rc;
  if (!strcmp(argv[1], "train")) {
    if (!a.steps) a.steps = 100000;
    return bench_train(&a);
  }
  if (!a.steps) a.steps = 20000;
  if (!a.threads) a.threads = 1;
  if (!strcmp(argv[1], "env")) return bench_env(&a);
  if (!strcmp(argv[1], "random")) return bench_random(&a);
  return err_input("command line: bench %s: unknown (env|random|train|efficiency)", argv[1]);
}
