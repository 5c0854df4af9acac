// test_mamj_soak: long random play on every Safe MAMuJoCo task. Uniform random actions in
// [-1, 1], reset on done; every observation, share_obs, reward and cost must be finite, every
// cost 0 or 1, and MuJoCo must raise no warning (no full contact or constraint list, no bad
// qpos/qvel/qacc). Also records the peak contact count, constraint rows and stack use against
// the model's <size> and requires them within 2/3 of nconmax and njmax (the njmax x njmax
// matrix in every mjData makes generous sizes cost memory) and half of nstack (running out of
// stack aborts the process). Default 5,000 steps per task with
// the default options plus 1,000 with obs=obsk,partition=nominal; SAFEMARL_SOAK_STEPS=N runs N
// (the one-off 100k check of the task list).
#include <time.h>

#include "tests/test_mamj_util.h"

static int finite_all(const float *v, int n) {
  for (int i = 0; i < n; i++)
    if (!isfinite(v[i])) return 0;
  return 1;
}

static void soak(const char *task, const char *overrides, long steps, uint64_t seed) {
  mt_env_t t;
  if (mt_open(&t, task, overrides, seed)) {
    CHECK(0, "%s: open failed", task);
    return;
  }
  const mjModel *m = t.env->s->m;
  rng_t r;
  rng_seed(&r, seed + 1000);
  int O = t.spec.n_agents * t.spec.max_obs_dim, warn_i = t.spec.n_info - 1;
  long episodes = 0, bad = 0, warnings = 0, badcost = 0;
  int max_con = 0, max_efc = 0, max_stack = 0;
  double ret = 0, cost = 0;
  clock_t c0 = clock();
  for (long s = 0; s < steps; s++) {
    mt_random_actions(&t, &r);
    mt_step(&t);
    const mjData *d = t.env->d;
    if (d->ncon > max_con) max_con = d->ncon;
    if (d->nefc > max_efc) max_efc = d->nefc;
    if (d->maxuse_stack > max_stack) max_stack = d->maxuse_stack;
    bad += !finite_all(t.obs, O) || !finite_all(t.share, t.spec.share_obs_dim) ||
           !isfinite(t.out.reward) || !finite_all(t.out.info, t.spec.n_info);
    badcost += !(t.out.team_cost == 0.0f || t.out.team_cost == 1.0f);
    warnings += (long)t.out.info[warn_i];
    ret += t.out.reward;
    cost += t.out.team_cost;
    if (t.out.done) {
      warnings += mamj_warning_total(d) - t.env->warnings;  // 0 unless counting broke
      episodes++;
      t.cls->reset(t.env, &t.rng, t.obs, t.share);
      bad += !finite_all(t.obs, O);
    }
  }
  double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
  printf(
      "%-26s %-30s steps=%ld episodes=%ld ncon=%d/%d nefc=%d/%d stack=%d/%d warnings=%ld "
      "nonfinite=%ld reward/step=%.3f cost/step=%.4f cpu_s=%.1f\n",
      task, overrides ? overrides : "(defaults)", steps, episodes, max_con, m->nconmax, max_efc,
      m->njmax, max_stack, m->nstack, warnings, bad, ret / steps, cost / steps, secs);
  CHECK(bad == 0, "%s: %ld non-finite steps", task, bad);
  CHECK(badcost == 0, "%s: %ld costs not in {0, 1}", task, badcost);
  CHECK(warnings == 0, "%s: %ld MuJoCo warnings", task, warnings);
  CHECK(3 * max_con <= 2 * m->nconmax && 3 * max_efc <= 2 * m->njmax && 2 * max_stack <= m->nstack,
        "%s: <size> margin too small (ncon %d/%d, nefc %d/%d, stack %d/%d)", task, max_con,
        m->nconmax, max_efc, m->njmax, max_stack, m->nstack);
  mt_close(&t);
}

int main(void) {
  long steps = 5000;
  const char *env = getenv("SAFEMARL_SOAK_STEPS");
  if (env && atol(env) > 0) steps = atol(env);
  for (int i = 0; i < MT_N_TASKS; i++) {
    soak(mt_tasks[i], NULL, steps, 100 + (uint64_t)i);
    if (!env) soak(mt_tasks[i], "obs=obsk,partition=nominal", steps / 5, 200 + (uint64_t)i);
  }
  return check_report("test_mamj_soak");
}
