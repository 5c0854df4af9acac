// train: one run into a run directory: rollout -> update -> progress row -> checkpoint.
// Files of DIR: config.yaml (resolved, written once), meta.yaml (provenance; rewritten on
// resume with the resume count), progress.csv (one row per update, deterministic),
// timing.csv (wall/CPU seconds per update, appended across sessions), checkpoint.bin.
// Exact resume: the checkpoint holds everything the next update depends on (algorithm state,
// rng streams, env copies' states, current observations, episode accumulators, and the byte
// length of progress.csv at that point). On --resume, progress.csv is cut back to that length
// and the run continues; rows after the last checkpoint are recomputed identically.
// Env statistics: each of the env's spec.info values (cost components, crashes, safety-layer
// interventions, ...) is summed over an episode like the cost, and progress.csv logs the mean
// over the episodes finished in the rollout as column "ep_<name>", after the algorithm's
// statistics (NaN when none finished). The per-copy sums are in the checkpoint.
// Threads (run.threads): the E copies are stepped by persistent workers, copy e always on worker
// e % threads (the calling thread is worker 0); the algorithm, the episode bookkeeping and the
// bootstrap values stay on the calling thread, in copy order, so results do not depend on it.
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buffer.h"
#include "core/checkpoint.h"
#include "core/csvlog.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "harness/meta.h"
#include "harness/run.h"

#define TRAIN_BASE_COLS 6
static const char *const train_base_cols[TRAIN_BASE_COLS] = {"update",    "env_steps", "episodes",
                                                             "ep_return", "ep_cost",   "ep_length"};
// timing.csv; runs started before the threads column keep their 8 columns on resume.
#define TIMING_COLS 9
#define TIMING_COLS_OLD 8
static const char *const timing_cols[TIMING_COLS] = {"update",   "env_steps",   "session",
                                                     "wall_s",   "cpu_s",       "rollout_s",
                                                     "update_s", "steps_per_s", "threads"};

typedef struct train train_t;

// What one env step of one copy produced, written by the copy's worker and read by the calling
// thread in the serial phase (the per-agent costs are in train_t.step_costs).
typedef struct {
  float reward, team_cost;
  float info[ENV_MAX_INFO];
  int done, truncated;
  int stepped;  // 0: padding (episodic rollouts: the copy's episode is over)
  int reset;    // the episode ended and the copy was reset; its final obs are in the scratch
} train_copy_step_t;

typedef struct {
  train_t *tr;
  int id;
  pthread_t tid;
} train_worker_t;

// Persistent workers for the parallel phase of each step. The caller bumps `gen` to start a
// phase and waits for `pending` to reach 0; both sides spin briefly before sleeping on the
// condition variables, because a phase is tens of microseconds and a futex wake-up costs more.
typedef struct {
  int n;                    // workers including the calling thread (1: no thread is created)
  int started;              // helper threads running (workers[1..started])
  int sync_ready;           // mutex and condition variables initialised
  train_worker_t *workers;  // [n]
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  atomic_uint gen;     // phase counter
  atomic_int pending;  // helper threads still in the current phase
  int quit;            // set with the last gen bump
  int t;               // step of the current phase
} train_pool_t;

struct train {
  run_config_t cfg;
  char dir[1024];
  env_spec_t spec;
  void *shared;
  void **envs;
  void *algo;
  buf_t buf;
  int T, E, A, obs_dim, act_dim, share_dim;
  rng_t act_rng, update_rng, *env_rngs;
  // Counters and per-copy episode accumulators.
  long long update, env_steps, episodes;
  double *acc_ret, *acc_cost;
  int *acc_len;
  double *acc_info;  // [E][n_info]
  // Episodes finished in the current rollout.
  float *ep_ret, *ep_cost, *ep_len;
  float *ep_info;  // [cap_ep][n_info]
  int n_info;      // spec.n_info
  int n_ep, cap_ep;
  uint8_t *valid, *active;
  // Per copy: the step's outcome, its per-agent costs [E][A], and the final observations of an
  // episode whose copy was reset in the parallel phase ([E][A][obs_dim], [E][share_dim]).
  train_copy_step_t *step_res;
  float *step_costs, *final_obs, *final_share;
  train_pool_t pool;
  double env_s;  // wall seconds inside the env steps (train_pool_run), for train_bench only
  long progress_bytes;
  csvlog_t progress, timing;
  int session;
  // train --resume DIR --steps N: the run is extended to N steps; its checkpoint may still carry
  // the hash of the configuration with the old budget (extend_from_hash).
  int extending;
  uint64_t extend_from_hash;
};

static double now_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void path_join(char *out, size_t n, const char *dir, const char *name) {
  snprintf(out, n, "%s/%s", dir, name);
}

// ---- worker threads ------------------------------------------------------------------------

static void train_step_copies(train_t *tr, int worker, int n_workers, int t);

// Seconds a waiting thread spins before it sleeps: long enough to cover the calling thread's
// act() and serial phase between two steps, short enough not to burn a core through an update.
#define TRAIN_SPIN_S 200e-6

// One more spin iteration? A pause per iteration, the clock read every 64.
static inline int train_spin(int k, double t0) {
  if ((k & 63) == 63 && now_wall() - t0 > TRAIN_SPIN_S) return 0;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
  return 1;
}

// Wait until the phase counter differs from `seen`; returns the new value.
static unsigned train_pool_wait_gen(train_pool_t *p, unsigned seen) {
  unsigned g;
  double t0 = now_wall();
  for (int k = 0;; k++) {
    if ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) != seen) return g;
    if (!train_spin(k, t0)) break;
  }
  pthread_mutex_lock(&p->mu);
  while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
    pthread_cond_wait(&p->go, &p->mu);
  pthread_mutex_unlock(&p->mu);
  return g;
}

static void *train_worker_main(void *arg) {
  train_worker_t *w = arg;
  train_pool_t *p = &w->tr->pool;
  unsigned seen = 0;
  for (;;) {
    seen = train_pool_wait_gen(p, seen);
    if (p->quit) return NULL;
    train_step_copies(w->tr, w->id, p->n, p->t);
    // The last helper to finish wakes the caller if it went to sleep.
    if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

// Start the phase counter's next value (under the mutex, so a sleeping worker cannot miss it).
static void train_pool_bump(train_pool_t *p) {
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
}

static void train_pool_stop(train_t *tr) {
  train_pool_t *p = &tr->pool;
  if (p->started > 0) {
    p->quit = 1;
    train_pool_bump(p);
    for (int w = 1; w <= p->started; w++) pthread_join(p->workers[w].tid, NULL);
  }
  if (p->sync_ready) {
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
  }
  free(p->workers);
  memset(p, 0, sizeof *p);
}

// n workers in all: the calling thread and n - 1 helpers, created once per run.
static int train_pool_start(train_t *tr, int n) {
  train_pool_t *p = &tr->pool;
  memset(p, 0, sizeof *p);
  p->n = n > 1 ? n : 1;
  if (p->n == 1) return 0;
  if (!(p->workers = err_calloc((size_t)p->n, sizeof(train_worker_t)))) return ERR_FAIL;
  atomic_init(&p->gen, 0);
  atomic_init(&p->pending, 0);
  if (pthread_mutex_init(&p->mu, NULL) || pthread_cond_init(&p->go, NULL) ||
      pthread_cond_init(&p->done, NULL))
    return err_fail("cannot initialise the worker threads' synchronisation");
  p->sync_ready = 1;
  for (int w = 0; w < p->n; w++) p->workers[w] = (train_worker_t){.tr = tr, .id = w};
  for (int w = 1; w < p->n; w++) {
    if (pthread_create(&p->workers[w].tid, NULL, train_worker_main, &p->workers[w]))
      return err_fail("cannot start worker thread %d of %d", w, p->n - 1);
    p->started = w;
  }
  return 0;
}

// The parallel phase of step t: every worker steps its copies; returns when all are done.
static void train_pool_run(train_t *tr, int t) {
  train_pool_t *p = &tr->pool;
  if (p->n == 1) {
    train_step_copies(tr, 0, 1, t);
    return;
  }
  p->t = t;
  atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
  train_pool_bump(p);
  train_step_copies(tr, 0, p->n, t);
  double t0 = now_wall();
  for (int k = 0;; k++) {
    if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return;
    if (!train_spin(k, t0)) break;
  }
  pthread_mutex_lock(&p->mu);
  while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0)
    pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

// ---- setup -----------------------------------------------------------------------------------

static int train_create(train_t *tr) {
  const env_class_t *ec = tr->cfg.env_class;
  int rc = ec->shared_create(tr->cfg.env_params, &tr->spec, &tr->shared);
  if (rc) return rc;
  tr->E = tr->cfg.run.num_envs;  // resolved by run_config_resolve
  tr->T = tr->cfg.run.rollout_length;
  tr->A = tr->spec.n_agents;
  tr->obs_dim = tr->spec.max_obs_dim;
  tr->act_dim = tr->spec.discrete ? 1 : tr->spec.max_act_dim;
  tr->share_dim = tr->spec.share_obs_dim;
  int E = tr->E, A = tr->A;
  tr->envs = err_calloc(E, sizeof(void *));
  tr->env_rngs = err_calloc(E, sizeof(rng_t));
  tr->acc_ret = err_calloc(E, sizeof(double));
  tr->acc_cost = err_calloc(E, sizeof(double));
  tr->acc_len = err_calloc(E, sizeof(int));
  tr->n_info = tr->spec.n_info;
  tr->acc_info = err_calloc((size_t)E * tr->n_info + 1, sizeof(double));
  // At most one episode per copy per step.
  tr->cap_ep = E * tr->T;
  tr->ep_ret = err_calloc(tr->cap_ep, sizeof(float));
  tr->ep_cost = err_calloc(tr->cap_ep, sizeof(float));
  tr->ep_len = err_calloc(tr->cap_ep, sizeof(float));
  tr->ep_info = err_calloc((size_t)tr->cap_ep * tr->n_info + 1, sizeof(float));
  tr->valid = err_calloc((size_t)tr->T * E, 1);
  tr->active = err_calloc(E, 1);
  tr->step_res = err_calloc(E, sizeof(train_copy_step_t));
  tr->step_costs = err_calloc((size_t)E * A, sizeof(float));
  tr->final_obs = err_calloc((size_t)E * A * tr->obs_dim, sizeof(float));
  tr->final_share = err_calloc((size_t)E * tr->share_dim, sizeof(float));
  if (!tr->envs || !tr->env_rngs || !tr->acc_ret || !tr->acc_cost || !tr->acc_len || !tr->ep_ret ||
      !tr->ep_cost || !tr->ep_len || !tr->valid || !tr->active || !tr->step_res ||
      !tr->step_costs || !tr->final_obs || !tr->final_share || !tr->acc_info || !tr->ep_info)
    return ERR_FAIL;
  for (int e = 0; e < E; e++)
    if ((rc = ec->create(tr->shared, &tr->envs[e]))) return rc;
  if ((rc = buf_create(&tr->buf, tr->T, E, A, tr->obs_dim, tr->share_dim, tr->act_dim))) return rc;
  algo_run_info_t info = {(uint64_t)tr->cfg.run.seed, tr->T, E, tr->cfg.run.steps,
                          tr->spec.cost_limit};
  if ((rc = tr->cfg.algo_class->create(&tr->spec, tr->cfg.algo_params, &info, &tr->algo)))
    return rc;
  uint64_t seed = (uint64_t)tr->cfg.run.seed;
  rng_stream(&tr->act_rng, seed, "act", 0);
  rng_stream(&tr->update_rng, seed, "update", 0);
  for (int e = 0; e < E; e++) rng_stream(&tr->env_rngs[e], seed, "env", (uint64_t)e);
  // More workers than copies would idle.
  return train_pool_start(tr, tr->cfg.run.threads < E ? tr->cfg.run.threads : E);
}

static void train_destroy(train_t *tr) {
  const env_class_t *ec = tr->cfg.env_class;
  train_pool_stop(tr);
  if (tr->algo) tr->cfg.algo_class->destroy(tr->algo);
  if (tr->envs)
    for (int e = 0; e < tr->E; e++)
      if (tr->envs[e]) ec->destroy(tr->envs[e]);
  if (tr->shared) ec->shared_destroy(tr->shared);
  buf_destroy(&tr->buf);
  free(tr->envs);
  free(tr->env_rngs);
  free(tr->acc_ret);
  free(tr->acc_cost);
  free(tr->acc_len);
  free(tr->acc_info);
  free(tr->ep_info);
  free(tr->ep_ret);
  free(tr->ep_cost);
  free(tr->ep_len);
  free(tr->valid);
  free(tr->active);
  free(tr->step_res);
  free(tr->step_costs);
  free(tr->final_obs);
  free(tr->final_share);
  run_config_free(&tr->cfg);
}

static float *obs_at(train_t *tr, int t, int e) {
  return tr->buf.obs + (((size_t)t * tr->E + e) * tr->A) * tr->obs_dim;
}

static float *share_at(train_t *tr, int t, int e) {
  return tr->buf.share_obs + ((size_t)t * tr->E + e) * tr->share_dim;
}

static void train_reset_copy(train_t *tr, int t, int e) {
  tr->cfg.env_class->reset(tr->envs[e], &tr->env_rngs[e], obs_at(tr, t, e), share_at(tr, t, e));
  tr->acc_ret[e] = tr->acc_cost[e] = 0;
  tr->acc_len[e] = 0;
  for (int k = 0; k < tr->n_info; k++) tr->acc_info[(size_t)e * tr->n_info + k] = 0;
  tr->active[e] = 1;
}

// ---- rollout and update --------------------------------------------------------------------

static void train_finish_episode(train_t *tr, int e) {
  if (tr->n_ep < tr->cap_ep) {
    tr->ep_ret[tr->n_ep] = (float)tr->acc_ret[e];
    tr->ep_cost[tr->n_ep] = (float)tr->acc_cost[e];
    tr->ep_len[tr->n_ep] = (float)tr->acc_len[e];
    for (int k = 0; k < tr->n_info; k++)
      tr->ep_info[(size_t)tr->n_ep * tr->n_info + k] =
          (float)tr->acc_info[(size_t)e * tr->n_info + k];
    tr->n_ep++;
  }
  tr->episodes++;
}

// Parallel phase, one copy: the env step of copy e at step t (or padding when its episodic
// episode is over), and the reset of a continuing rollout's copy whose episode just ended. Only
// copy e's env, rng stream, buffer rows and scratch are touched, so copies run in any order.
static void train_step_copy(train_t *tr, int t, int e) {
  const env_class_t *ec = tr->cfg.env_class;
  buf_t *b = &tr->buf;
  int E = tr->E, A = tr->A;
  size_t i = (size_t)t * E + e;
  train_copy_step_t *r = &tr->step_res[e];
  if (!tr->active[e]) {
    // Episodic rollouts: this copy's episode is over; the step is padding.
    memcpy(obs_at(tr, t + 1, e), obs_at(tr, t, e), sizeof(float) * A * tr->obs_dim);
    memcpy(share_at(tr, t + 1, e), share_at(tr, t, e), sizeof(float) * tr->share_dim);
    for (int a = 0; a < A; a++) {
      b->rewards[i * A + a] = b->costs[i * A + a] = 0;
      b->boot_values[i * A + a] = b->boot_cost_values[i * A + a] = 0;
    }
    b->team_costs[i] = 0;
    b->done[i] = 1;
    b->truncated[i] = 0;
    tr->valid[i] = 0;
    r->stepped = 0;
    return;
  }
  env_step_t st;
  st.obs = obs_at(tr, t + 1, e);
  st.share_obs = share_at(tr, t + 1, e);
  st.costs = tr->step_costs + (size_t)e * A;
  ec->step(tr->envs[e], b->actions + i * A * tr->act_dim, &tr->env_rngs[e], &st);
  r->reward = st.reward;
  r->team_cost = st.team_cost;
  memcpy(r->info, st.info, sizeof(float) * tr->n_info);
  r->done = st.done;
  r->truncated = st.truncated;
  r->stepped = 1;
  r->reset = 0;
  if (st.done && !tr->cfg.algo_class->episodic_rollouts) {
    // The reset overwrites row t+1 with the next episode's first observation; keep the final
    // one for the bootstrap value.
    memcpy(tr->final_obs + (size_t)e * A * tr->obs_dim, st.obs, sizeof(float) * A * tr->obs_dim);
    memcpy(tr->final_share + (size_t)e * tr->share_dim, st.share_obs,
           sizeof(float) * tr->share_dim);
    ec->reset(tr->envs[e], &tr->env_rngs[e], st.obs, st.share_obs);
    r->reset = 1;
  }
}

// The copies of one worker: e = worker, worker + n_workers, ...
static void train_step_copies(train_t *tr, int worker, int n_workers, int t) {
  for (int e = worker; e < tr->E; e += n_workers) train_step_copy(tr, t, e);
}

// Serial phase, one copy (called in increasing e): the step into the buffer and the episode
// accumulators; at an episode's end the bootstrap value of a truncation (one values() call on
// the final observation), the episode into the list, fresh accumulators.
static void train_collect_copy(train_t *tr, int t, int e) {
  const algo_class_t *ac = tr->cfg.algo_class;
  const train_copy_step_t *r = &tr->step_res[e];
  if (!r->stepped) return;
  buf_t *b = &tr->buf;
  int A = tr->A;
  size_t i = (size_t)t * tr->E + e;
  for (int a = 0; a < A; a++) {
    b->rewards[i * A + a] = r->reward;
    b->costs[i * A + a] = tr->step_costs[(size_t)e * A + a];
    b->boot_values[i * A + a] = b->boot_cost_values[i * A + a] = 0;
  }
  b->team_costs[i] = r->team_cost;
  b->done[i] = (uint8_t)(r->done != 0);
  b->truncated[i] = (uint8_t)(r->truncated != 0);
  tr->valid[i] = 1;
  tr->env_steps++;
  tr->acc_ret[e] += r->reward;
  tr->acc_cost[e] += r->team_cost;
  tr->acc_len[e]++;
  for (int k = 0; k < tr->n_info; k++) tr->acc_info[(size_t)e * tr->n_info + k] += r->info[k];
  if (!r->done) return;
  if (r->truncated) {
    const float *obs =
        r->reset ? tr->final_obs + (size_t)e * A * tr->obs_dim : obs_at(tr, t + 1, e);
    const float *share =
        r->reset ? tr->final_share + (size_t)e * tr->share_dim : share_at(tr, t + 1, e);
    ac->values(tr->algo, obs, share, 1, b->boot_values + i * A, b->boot_cost_values + i * A);
  }
  train_finish_episode(tr, e);
  if (ac->episodic_rollouts) {
    tr->active[e] = 0;
  } else {
    tr->acc_ret[e] = tr->acc_cost[e] = 0;
    tr->acc_len[e] = 0;
    for (int k = 0; k < tr->n_info; k++) tr->acc_info[(size_t)e * tr->n_info + k] = 0;
  }
}

// T steps of the E copies: per step the algorithm acts for all copies (one batched call), the
// workers step the copies, then the calling thread collects them in copy order.
static void train_rollout(train_t *tr) {
  const algo_class_t *ac = tr->cfg.algo_class;
  buf_t *b = &tr->buf;
  int T = tr->T, E = tr->E, A = tr->A;
  tr->n_ep = 0;
  if (ac->episodic_rollouts)
    for (int e = 0; e < E; e++) train_reset_copy(tr, 0, e);
  for (int t = 0; t < T; t++) {
    size_t row = (size_t)t * E;
    ac->act(tr->algo, obs_at(tr, t, 0), share_at(tr, t, 0), E, &tr->act_rng,
            b->actions + row * A * tr->act_dim, b->logp + row * A, b->values + row * A,
            b->cost_values + row * A);
    double w0 = now_wall();
    train_pool_run(tr, t);
    tr->env_s += now_wall() - w0;
    for (int e = 0; e < E; e++) train_collect_copy(tr, t, e);
  }
  size_t last = (size_t)T * E * A;
  ac->values(tr->algo, obs_at(tr, T, 0), share_at(tr, T, 0), E, b->values + last,
             b->cost_values + last);
}

static double mean_or_nan(const float *x, int n) {
  if (n == 0) return NAN;
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  return s / n;
}

// ---- checkpoint ------------------------------------------------------------------------------

static int train_save(train_t *tr) {
  ckpt_t c;
  ckpt_init(&c);
  uint64_t hash = run_config_hash(&tr->cfg);
  int rc = ckpt_begin(&c, "RUN ");
  if (!rc) rc = ckpt_put_u64(&c, hash);
  if (!rc) rc = ckpt_put_u64(&c, (uint64_t)tr->cfg.run.seed);
  if (!rc) rc = ckpt_put_u64(&c, (uint64_t)tr->update);
  if (!rc) rc = ckpt_put_u64(&c, (uint64_t)tr->env_steps);
  if (!rc) rc = ckpt_put_u64(&c, (uint64_t)tr->episodes);
  if (!rc) rc = ckpt_put_u64(&c, (uint64_t)tr->progress_bytes);
  if (!rc) rc = ckpt_put(&c, &tr->act_rng, sizeof(rng_t));
  if (!rc) rc = ckpt_put(&c, &tr->update_rng, sizeof(rng_t));
  if (!rc) rc = ckpt_put(&c, tr->env_rngs, sizeof(rng_t) * tr->E);
  if (!rc) rc = ckpt_put(&c, tr->acc_ret, sizeof(double) * tr->E);
  if (!rc) rc = ckpt_put(&c, tr->acc_cost, sizeof(double) * tr->E);
  if (!rc) rc = ckpt_put(&c, tr->acc_len, sizeof(int) * tr->E);
  if (!rc) rc = ckpt_put(&c, tr->active, tr->E);
  if (!rc && tr->n_info) rc = ckpt_put(&c, tr->acc_info, sizeof(double) * tr->E * tr->n_info);
  if (!rc) rc = ckpt_end(&c);
  // Env copies and the observations the next rollout starts from.
  if (!rc) rc = ckpt_begin(&c, "ENVS");
  for (int e = 0; e < tr->E && !rc; e++) {
    size_t n = tr->cfg.env_class->state_size(tr->envs[e]);
    void *tmp = malloc(n ? n : 1);
    if (!tmp) rc = err_fail("out of memory saving env state");
    if (!rc) {
      tr->cfg.env_class->save_state(tr->envs[e], tmp);
      rc = ckpt_put_u64(&c, n);
      if (!rc) rc = ckpt_put(&c, tmp, n);
    }
    free(tmp);
  }
  if (!rc) rc = ckpt_put(&c, tr->buf.obs, sizeof(float) * tr->E * tr->A * tr->obs_dim);
  if (!rc) rc = ckpt_put(&c, tr->buf.share_obs, sizeof(float) * tr->E * tr->share_dim);
  if (!rc) rc = ckpt_end(&c);
  if (!rc) rc = ckpt_begin(&c, "ALGO");
  if (!rc) rc = tr->cfg.algo_class->save(tr->algo, &c);
  if (!rc) rc = ckpt_end(&c);
  char path[1100];
  path_join(path, sizeof path, tr->dir, "checkpoint.bin");
  if (!rc) rc = ckpt_write_file(&c, path);
  ckpt_free(&c);
  return rc;
}

static int train_load(train_t *tr, const char *path) {
  ckpt_t c;
  ckpt_init(&c);
  int rc = ckpt_read_file(&c, path);
  uint64_t hash = 0, seed = 0, update = 0, steps = 0, episodes = 0, pbytes = 0;
  if (!rc) rc = ckpt_section(&c, "RUN ", NULL);
  if (!rc) rc = ckpt_get_u64(&c, &hash);
  if (!rc && hash != run_config_hash(&tr->cfg) && !(tr->extending && hash == tr->extend_from_hash))
    rc = err_input(
        "%s: checkpoint was written by a different configuration (config hash "
        "%016llx, config.yaml gives %016llx)",
        path, (unsigned long long)hash, (unsigned long long)run_config_hash(&tr->cfg));
  if (!rc) rc = ckpt_get_u64(&c, &seed);
  if (!rc && seed != (uint64_t)tr->cfg.run.seed)
    rc = err_input("%s: checkpoint seed %llu differs from config.yaml seed %d", path,
                   (unsigned long long)seed, tr->cfg.run.seed);
  if (!rc) rc = ckpt_get_u64(&c, &update);
  if (!rc) rc = ckpt_get_u64(&c, &steps);
  if (!rc) rc = ckpt_get_u64(&c, &episodes);
  if (!rc) rc = ckpt_get_u64(&c, &pbytes);
  if (!rc) rc = ckpt_get(&c, &tr->act_rng, sizeof(rng_t));
  if (!rc) rc = ckpt_get(&c, &tr->update_rng, sizeof(rng_t));
  if (!rc) rc = ckpt_get(&c, tr->env_rngs, sizeof(rng_t) * tr->E);
  if (!rc) rc = ckpt_get(&c, tr->acc_ret, sizeof(double) * tr->E);
  if (!rc) rc = ckpt_get(&c, tr->acc_cost, sizeof(double) * tr->E);
  if (!rc) rc = ckpt_get(&c, tr->acc_len, sizeof(int) * tr->E);
  if (!rc) rc = ckpt_get(&c, tr->active, tr->E);
  if (!rc && tr->n_info) rc = ckpt_get(&c, tr->acc_info, sizeof(double) * tr->E * tr->n_info);
  if (!rc) rc = ckpt_section_done(&c, "RUN ");
  if (!rc) rc = ckpt_section(&c, "ENVS", NULL);
  for (int e = 0; e < tr->E && !rc; e++) {
    uint64_t n = 0;
    rc = ckpt_get_u64(&c, &n);
    size_t want = tr->cfg.env_class->state_size(tr->envs[e]);
    if (!rc && n != want)
      rc = err_input("%s: env state of copy %d has %llu bytes, expected %zu", path, e,
                     (unsigned long long)n, want);
    void *tmp = rc ? NULL : malloc(n ? n : 1);
    if (!rc && !tmp) rc = err_fail("out of memory loading env state");
    if (!rc) rc = ckpt_get(&c, tmp, n);
    if (!rc && tr->cfg.env_class->load_state(tr->envs[e], tmp))
      rc = err_input("%s: env state of copy %d is invalid", path, e);
    free(tmp);
  }
  if (!rc) rc = ckpt_get(&c, tr->buf.obs, sizeof(float) * tr->E * tr->A * tr->obs_dim);
  if (!rc) rc = ckpt_get(&c, tr->buf.share_obs, sizeof(float) * tr->E * tr->share_dim);
  if (!rc) rc = ckpt_section_done(&c, "ENVS");
  if (!rc) rc = ckpt_section(&c, "ALGO", NULL);
  if (!rc) rc = tr->cfg.algo_class->load(tr->algo, &c);
  if (!rc) rc = ckpt_section_done(&c, "ALGO");
  ckpt_free(&c);
  if (rc) return rc;
  tr->update = (long long)update;
  tr->env_steps = (long long)steps;
  tr->episodes = (long long)episodes;
  tr->progress_bytes = (long)pbytes;
  return 0;
}

// ---- logs ------------------------------------------------------------------------------------

// A timing.csv written before the threads column: its header is the first 8 columns.
static int timing_has_old_header(const char *text, size_t n) {
  char old[256] = "";
  for (int i = 0; i < TIMING_COLS_OLD; i++) {
    if (i) strcat(old, ",");
    strcat(old, timing_cols[i]);
  }
  strcat(old, "\n");
  size_t len = strlen(old);
  return n >= len && memcmp(text, old, len) == 0;
}

static int train_open_logs(train_t *tr, int resume, int keep_timing) {
  const algo_class_t *ac = tr->cfg.algo_class;
  const char *cols[TRAIN_BASE_COLS + ALGO_MAX_STATS + ENV_MAX_INFO];
  char info_cols[ENV_MAX_INFO][80];
  memcpy(cols, train_base_cols, sizeof train_base_cols);
  for (int i = 0; i < ac->n_stats; i++) cols[TRAIN_BASE_COLS + i] = ac->stat_names[i];
  for (int k = 0; k < tr->n_info; k++) {
    snprintf(info_cols[k], sizeof info_cols[k], "ep_%s", tr->spec.info_names[k]);
    cols[TRAIN_BASE_COLS + ac->n_stats + k] = info_cols[k];
  }
  char path[1100];
  path_join(path, sizeof path, tr->dir, "progress.csv");
  int rc = csvlog_open(&tr->progress, path, cols, TRAIN_BASE_COLS + ac->n_stats + tr->n_info,
                       resume ? tr->progress_bytes : -1);
  if (rc) return rc;
  tr->progress_bytes = csvlog_size(&tr->progress);
  path_join(path, sizeof path, tr->dir, "timing.csv");
  int ncols = TIMING_COLS;
  long keep = -1;
  if (keep_timing && fs_exists(path)) {
    // Keep every complete row of earlier sessions; a row cut by a kill is dropped.
    char *text = NULL;
    size_t n = 0;
    if (fs_read_file(path, &text, &n) == 0) {
      while (n > 0 && text[n - 1] != '\n') n--;
      keep = (long)n;
      if (timing_has_old_header(text, n)) ncols = TIMING_COLS_OLD;
    }
    free(text);
  }
  return csvlog_open(&tr->timing, path, timing_cols, ncols, keep);
}

// ---- the loop --------------------------------------------------------------------------------

// One rollout and one update, touching no file: what train and bench train share. stats gets
// the algorithm's ALGO_MAX_STATS numbers; the two parts' wall seconds go to rollout_s, update_s.
static int train_iterate(train_t *tr, double *stats, double *rollout_s, double *update_s) {
  const algo_class_t *ac = tr->cfg.algo_class;
  double w0 = now_wall();
  train_rollout(tr);
  double w1 = now_wall();
  algo_rollout_info_t info = {tr->update,  tr->env_steps, tr->n_ep, tr->ep_ret,
                              tr->ep_cost, tr->ep_len,    tr->valid};
  memset(stats, 0, sizeof(double) * ALGO_MAX_STATS);
  int rc = ac->update(tr->algo, &tr->buf, &info, &tr->update_rng, stats);
  if (rc) return rc;
  if (!ac->episodic_rollouts) buf_roll(&tr->buf);
  tr->update++;
  *rollout_s = w1 - w0;
  *update_s = now_wall() - w1;
  return 0;
}

static int train_loop(train_t *tr) {
  const algo_class_t *ac = tr->cfg.algo_class;
  double stats[ALGO_MAX_STATS];
  double row[TRAIN_BASE_COLS + ALGO_MAX_STATS + ENV_MAX_INFO];
  long long total = tr->cfg.run.steps;
  int is_tty = isatty(2);
  double start_wall = now_wall();
  long long start_steps = tr->env_steps;
  while (tr->env_steps < total) {
    double c0 = now_cpu(), rollout_s, update_s;
    int rc = train_iterate(tr, stats, &rollout_s, &update_s);
    if (rc) return rc;
    double c2 = now_cpu(), wall_s = rollout_s + update_s;
    row[0] = (double)tr->update;
    row[1] = (double)tr->env_steps;
    row[2] = (double)tr->episodes;
    row[3] = mean_or_nan(tr->ep_ret, tr->n_ep);
    row[4] = mean_or_nan(tr->ep_cost, tr->n_ep);
    row[5] = mean_or_nan(tr->ep_len, tr->n_ep);
    for (int i = 0; i < ac->n_stats; i++) row[TRAIN_BASE_COLS + i] = stats[i];
    for (int k = 0; k < tr->n_info; k++) {
      double sum = 0;
      for (int j = 0; j < tr->n_ep; j++) sum += tr->ep_info[(size_t)j * tr->n_info + k];
      row[TRAIN_BASE_COLS + ac->n_stats + k] = tr->n_ep ? sum / tr->n_ep : NAN;
    }
    if ((rc = csvlog_row(&tr->progress, row))) return rc;
    tr->progress_bytes = csvlog_size(&tr->progress);
    long long steps_now = 0;
    for (int i = 0; i < tr->T * tr->E; i++) steps_now += tr->valid[i];
    double trow[TIMING_COLS] = {(double)tr->update,
                                (double)tr->env_steps,
                                (double)tr->session,
                                wall_s,
                                c2 - c0,
                                rollout_s,
                                update_s,
                                steps_now / fmax(wall_s, 1e-9),
                                (double)tr->cfg.run.threads};
    if ((rc = csvlog_row(&tr->timing, trow))) return rc;
    int last = tr->env_steps >= total;
    if (last || tr->update % tr->cfg.run.checkpoint_every == 0)
      if ((rc = train_save(tr))) return rc;
    // Progress: a rewritten line on a terminal, a plain line every ~10% otherwise.
    double frac = fmin((double)tr->env_steps / total, 1.0);
    double rate = (tr->env_steps - start_steps) / fmax(now_wall() - start_wall, 1e-9);
    if (is_tty) {
      fprintf(stderr, "\r%s/%s seed %d: %5.1f%%  %lld steps  return %.3g cost %.3g  %.0f steps/s ",
              tr->cfg.run.env, tr->cfg.run.algo, tr->cfg.run.seed, 100 * frac, tr->env_steps,
              row[3], row[4], rate);
      if (last) fputc('\n', stderr);
    } else {
      long long prev = tr->env_steps - steps_now;
      if (last || (long long)(10.0 * prev / total) != (long long)(10.0 * tr->env_steps / total))
        fprintf(stderr, "%s/%s seed %d: %.0f%% %lld steps return %.4g cost %.4g %.0f steps/s\n",
                tr->cfg.run.env, tr->cfg.run.algo, tr->cfg.run.seed, 100 * frac, tr->env_steps,
                row[3], row[4], rate);
    }
  }
  return 0;
}

// ---- in memory, for bench train ----------------------------------------------------------------

// Append the rollout's actions to out->actions (grown by one rollout each time).
static int train_keep_actions(const train_t *tr, train_bench_t *out) {
  size_t per = (size_t)tr->T * tr->E * tr->A * tr->act_dim;
  float *grown = realloc(out->actions, sizeof(float) * per * (size_t)tr->update);
  if (!grown) return err_fail("out of memory");
  out->actions = grown;
  memcpy(grown + per * (size_t)(tr->update - 1), tr->buf.actions, sizeof(float) * per);
  return 0;
}

int train_bench(const run_config_t *cfg, int max_updates, int keep_actions, train_bench_t *out) {
  train_t tr;
  memset(&tr, 0, sizeof tr);
  memset(out, 0, sizeof *out);
  int rc = run_config_copy(&tr.cfg, cfg);
  if (!rc) rc = train_create(&tr);
  if (!rc)
    for (int e = 0; e < tr.E; e++) train_reset_copy(&tr, 0, e);
  // Keeping the actions is the benchmark's own work: its time is left out of wall_s and cpu_s.
  double stats[ALGO_MAX_STATS], w0 = now_wall(), c0 = now_cpu(), keep_w = 0, keep_c = 0;
  while (!rc && tr.env_steps < tr.cfg.run.steps && (max_updates <= 0 || tr.update < max_updates)) {
    double rollout_s, update_s;
    rc = train_iterate(&tr, stats, &rollout_s, &update_s);
    out->rollout_s += rollout_s;
    out->update_s += update_s;
    if (!rc && keep_actions) {
      double kw = now_wall(), kc = now_cpu();
      rc = train_keep_actions(&tr, out);
      keep_w += now_wall() - kw;
      keep_c += now_cpu() - kc;
    }
  }
  out->wall_s = now_wall() - w0 - keep_w;
  out->cpu_s = now_cpu() - c0 - keep_c;
  out->env_s = tr.env_s;
  out->env_steps = tr.env_steps;
  out->updates = tr.update;
  out->num_envs = tr.E;
  out->rollout_length = tr.T;
  out->threads = tr.cfg.run.threads;
  train_destroy(&tr);
  return rc;
}

// ---- the verb ----------------------------------------------------------------------------------

static void train_usage(FILE *f) {
  fprintf(f,
          "usage: safemarl train --env ENV --algo ALGO --seed S --steps N --out DIR "
          "[--config FILE] [--threads T] [key=value ...]\n"
          "       safemarl train --resume DIR [--threads T] [--steps N]\n"
          "Trains one run into DIR (progress.csv, timing.csv, config.yaml, meta.yaml, "
          "checkpoint.bin).\n"
          "key=value sets run.*, env.* or algo.* parameters (the section may be omitted when the "
          "key is unique).\n"
          "--resume continues a killed run to the same progress.csv as an uninterrupted one.\n"
          "--resume DIR --steps N extends a run (finished or not) to N env steps: progress.csv "
          "is then\nthe same as a fresh N-step run's (refused for algorithms whose schedules "
          "read the budget).\n"
          "--threads T (run.threads) steps the env copies on T threads; results do not depend "
          "on it, so a run may be resumed with another T.\n"
          "With --env and --algo, --help lists every parameter with its default.\n");
}

typedef struct {
  const char *env, *algo, *seed, *steps, *out, *config, *resume, *threads;
  char **overrides;
  int n_overrides;
  int help;
} train_args_t;

// The flags that take a value, and where parse_train_args stores it.
static const struct {
  const char *flag;
  size_t offset;
} train_flags[] = {{"--env", offsetof(train_args_t, env)},
                   {"--algo", offsetof(train_args_t, algo)},
                   {"--seed", offsetof(train_args_t, seed)},
                   {"--steps", offsetof(train_args_t, steps)},
                   {"--out", offsetof(train_args_t, out)},
                   {"--config", offsetof(train_args_t, config)},
                   {"--resume", offsetof(train_args_t, resume)},
                   {"--threads", offsetof(train_args_t, threads)}};

static int parse_train_args(int argc, char **argv, train_args_t *a) {
  memset(a, 0, sizeof *a);
  a->overrides = calloc((size_t)argc + 1, sizeof(char *));
  if (!a->overrides) return err_fail("out of memory");
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    const char **slot = NULL;
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
      a->help = 1;
      continue;
    }
    for (size_t k = 0; k < sizeof train_flags / sizeof train_flags[0] && !slot; k++)
      if (!strcmp(s, train_flags[k].flag))
        slot = (const char **)((char *)a + train_flags[k].offset);
    if (slot) {
      if (i + 1 >= argc) return err_input("command line: %s needs a value", s);
      if (*slot) return err_input("command line: %s given twice", s);
      *slot = argv[++i];
      continue;
    }
    if (s[0] == '-' || !strchr(s, '='))
      return err_input("command line: unknown argument '%s' (safemarl train --help)", s);
    a->overrides[a->n_overrides++] = argv[i];
  }
  return 0;
}

static int train_prepare_new(train_t *tr, train_args_t *a) {
  // Flags become overrides of the run section so they are checked like any other value.
  char seed_kv[300], steps_kv[300], threads_kv[300];
  int n = a->n_overrides;
  if (a->seed) {
    snprintf(seed_kv, sizeof seed_kv, "run.seed=%s", a->seed);
    a->overrides[n++] = seed_kv;
  }
  if (a->steps) {
    snprintf(steps_kv, sizeof steps_kv, "run.steps=%s", a->steps);
    a->overrides[n++] = steps_kv;
  }
  if (a->threads) {
    snprintf(threads_kv, sizeof threads_kv, "run.threads=%s", a->threads);
    a->overrides[n++] = threads_kv;
  }
  int rc = run_config_resolve(&tr->cfg, a->config, a->env, a->algo, a->overrides, n);
  if (rc) return rc;
  if (!a->out) return err_input("command line: --out DIR is required");
  snprintf(tr->dir, sizeof tr->dir, "%s", a->out);
  char path[1100];
  path_join(path, sizeof path, tr->dir, "config.yaml");
  if (fs_exists(path))
    return err_input(
        "%s: already holds a run (config.yaml exists); use --resume %s or another "
        "--out",
        tr->dir, tr->dir);
  return 0;
}

static int train_prepare_resume(train_t *tr, const train_args_t *a) {
  if (a->env || a->algo || a->seed || a->out || a->config || a->n_overrides)
    return err_input(
        "command line: --resume DIR takes no other options but --threads and --steps (the "
        "run's config.yaml is used)");
  snprintf(tr->dir, sizeof tr->dir, "%s", a->resume);
  char path[1100];
  path_join(path, sizeof path, tr->dir, "config.yaml");
  if (!fs_exists(path)) return err_input("%s: no run to resume (config.yaml missing)", tr->dir);
  // run.threads is outside the config hash: this session may use another thread count than
  // config.yaml records (timing.csv says which).
  char threads_kv[300], steps_kv[300], *overrides[2];
  int n = 0;
  if (a->threads) {
    snprintf(threads_kv, sizeof threads_kv, "run.threads=%s", a->threads);
    overrides[n++] = threads_kv;
  }
  if (!a->steps) return run_config_resolve(&tr->cfg, path, NULL, NULL, overrides, n);
  // Extension: the run as recorded first (its hash identifies the checkpoint), then the new
  // budget. Only the budget changes, so for an algorithm that never reads it the extended run
  // is step for step the run that had N from the start.
  run_config_t old;
  int rc = run_config_resolve(&old, path, NULL, NULL, overrides, n);
  if (rc) return rc;
  tr->extend_from_hash = run_config_hash(&old);
  long long old_steps = old.run.steps;
  int refuse = old.algo_class->schedules_on_steps;
  const char *algo_name = old.algo_class->name;
  run_config_free(&old);
  if (refuse)
    return err_input(
        "command line: --steps: %s schedules its updates on run.steps (learning "
        "rate or entropy decay), so %s cannot be extended to the same result as a "
        "fresh run",
        algo_name, tr->dir);
  snprintf(steps_kv, sizeof steps_kv, "run.steps=%s", a->steps);
  overrides[n++] = steps_kv;
  rc = run_config_resolve(&tr->cfg, path, NULL, NULL, overrides, n);
  if (!rc && tr->cfg.run.steps == old_steps) return 0;  // same budget: a plain resume
  tr->extending = !rc;
  return rc;
}

// After an extended run's checkpoint loaded: record the new budget. The checkpoint goes first,
// so a kill in between leaves a checkpoint with the new hash and the old config.yaml, which the
// same command accepts again (extend_from_hash or the new hash).
static int train_record_extension(train_t *tr) {
  if (tr->env_steps >= tr->cfg.run.steps)
    return err_input("command line: --steps %lld: %s already has %lld env steps",
                     (long long)tr->cfg.run.steps, tr->dir, tr->env_steps);
  int rc = train_save(tr);
  char path[1100];
  path_join(path, sizeof path, tr->dir, "config.yaml");
  if (!rc) rc = cfg_write_yaml(path, tr->cfg.secs, 3);
  return rc;
}

int train_main(int argc, char **argv) {
  train_args_t a;
  int rc = parse_train_args(argc, argv, &a);
  if (rc) {
    free(a.overrides);
    return rc;
  }
  train_t tr;
  memset(&tr, 0, sizeof tr);
  if (a.help) {
    train_usage(stdout);
    if (a.env || a.algo || a.config) {
      if (run_config_resolve(&tr.cfg, a.config, a.env, a.algo, NULL, 0) == 0) {
        printf("\nparameters:\n");
        cfg_print_help(stdout, tr.cfg.secs, 3);
      }
      run_config_free(&tr.cfg);
    }
    free(a.overrides);
    return 0;
  }
  int resume = a.resume != NULL;
  rc = resume ? train_prepare_resume(&tr, &a) : train_prepare_new(&tr, &a);
  // Build everything before touching the run directory, so bad input leaves nothing behind.
  if (!rc) rc = train_create(&tr);
  char path[1100];
  int have_ckpt = 0;
  if (!rc && resume) {
    path_join(path, sizeof path, tr.dir, "checkpoint.bin");
    have_ckpt = fs_exists(path);
    if (have_ckpt) rc = train_load(&tr, path);
    if (!rc && tr.extending) {
      if (!have_ckpt)
        rc = err_input("%s: --steps: no checkpoint.bin to extend (start the run again)", tr.dir);
      else
        rc = train_record_extension(&tr);
    }
    if (!rc && have_ckpt && tr.env_steps >= tr.cfg.run.steps) {
      // A finished run: nothing to do and nothing to record, so no file is touched.
      fprintf(stderr, "%s: run already complete (%lld steps)\n", tr.dir, tr.env_steps);
      train_destroy(&tr);
      free(a.overrides);
      return 0;
    }
    if (!rc) rc = meta_read_session(tr.dir, &tr.session);
    if (!rc) tr.session++;
  }
  if (!rc && !resume) {
    rc = fs_mkdir_p(tr.dir);
    if (!rc) {
      path_join(path, sizeof path, tr.dir, "config.yaml");
      rc = cfg_write_yaml(path, tr.cfg.secs, 3);
    }
  }
  if (!rc) rc = meta_write(tr.dir, &tr.cfg, run_config_hash(&tr.cfg), tr.session, tr.update);
  if (!rc) {
    if (!have_ckpt)
      for (int e = 0; e < tr.E; e++) train_reset_copy(&tr, 0, e);
    rc = train_open_logs(&tr, have_ckpt, resume);
  }
  if (!rc) rc = train_loop(&tr);
  if (tr.progress.f) csvlog_close(&tr.progress);
  if (tr.timing.f) csvlog_close(&tr.timing);
  train_destroy(&tr);
  free(a.overrides);
  return rc;
}
