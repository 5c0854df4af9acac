// test_mamj_spec: what every Safe MAMuJoCo task declares. Observation, share_obs and action
// dimensions per task and mode (Ant and HalfCheetah global against envs-safe-mamujoco.md §2.5
// and §3.5, plus the single-agent halfcheetah_1x6; ManyAgent against the corrected table in manyagent_ant.c; obsk against the
// k-nearest-joint sizes derived from MAMuJoCo in §1.6 plus the safety features); both partitions
// drive every actuator exactly once, checked end to end through ctrl; the released slices and
// nominal groups of §2.1/§3.1; the agent adjacency graphs; default parameters and bad input.
#include <stdint.h>

#include "tests/test_mamj_util.h"

typedef struct {
  const char *task;
  int n_agents, obs, share;
  int act[12];
} dims_t;

// Global observation = state + one-hot id. Ant 29 + n, HalfCheetah 20 + n (spec tables);
// ManyAgent 61/77 + n (manyagent_ant.c header); Coupled HalfCheetah 40 + n (its header).
static const dims_t global_dims[] = {
    {"ant_2x4", 2, 31, 29, {4, 4}},
    {"ant_2x4d", 2, 31, 29, {4, 4}},
    {"ant_4x2", 4, 33, 29, {2, 2, 2, 2}},
    {"ant_8x1", 8, 37, 29, {1, 1, 1, 1, 1, 1, 1, 1}},
    {"halfcheetah_2x3", 2, 22, 20, {3, 3}},
    {"halfcheetah_3x2", 3, 23, 20, {2, 2, 2}},
    {"halfcheetah_6x1", 6, 26, 20, {1, 1, 1, 1, 1, 1}},
    {"halfcheetah_1x6", 1, 21, 20, {6}},
    {"manyagent_ant_2x3", 2, 63, 61, {12, 12}},
    {"manyagent_ant_3x2", 3, 64, 61, {8, 8, 8}},
    {"manyagent_ant_6x1", 6, 67, 61, {4, 4, 4, 4, 4, 4}},
    {"manyagent_ant_2x4", 2, 79, 77, {16, 16}},
    {"manyagent_ant_4x2", 4, 81, 77, {8, 8, 8, 8}},
    {"manyagent_ant_8x1", 8, 85, 77, {4, 4, 4, 4, 4, 4, 4, 4}},
    {"coupled_halfcheetah_2x6", 2, 42, 40, {6, 6}},
    {"coupled_halfcheetah_6x2", 6, 46, 40, {2, 2, 2, 2, 2, 2}},
    {"coupled_halfcheetah_12x1", 12, 52, 40, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
};

static void test_global_dims(void) {
  for (int i = 0; i < (int)(sizeof global_dims / sizeof global_dims[0]); i++) {
    const dims_t *w = &global_dims[i];
    mt_env_t t;
    if (mt_open(&t, w->task, NULL, 1)) {
      CHECK(0, "%s: open failed", w->task);
      continue;
    }
    CHECK(t.spec.n_agents == w->n_agents, "%s: n_agents %d", w->task, t.spec.n_agents);
    CHECK(t.spec.share_obs_dim == w->share, "%s: share_obs_dim %d, want %d", w->task,
          t.spec.share_obs_dim, w->share);
    CHECK(t.spec.max_obs_dim == w->obs, "%s: max_obs_dim %d, want %d", w->task, t.spec.max_obs_dim,
          w->obs);
    int max_act = 0;
    for (int a = 0; a < w->n_agents; a++) {
      CHECK(t.spec.obs_dim[a] == w->obs, "%s: obs_dim[%d] %d", w->task, a, t.spec.obs_dim[a]);
      CHECK(t.spec.act_dim[a] == w->act[a], "%s: act_dim[%d] %d, want %d", w->task, a,
            t.spec.act_dim[a], w->act[a]);
      if (w->act[a] > max_act) max_act = w->act[a];
    }
    CHECK(t.spec.max_act_dim == max_act, "%s: max_act_dim", w->task);
    CHECK(t.spec.episode_length == 1000, "%s: episode length %d", w->task, t.spec.episode_length);
    CHECK(t.spec.discrete == 0 && t.spec.act_low == -1.0f && t.spec.act_high == 1.0f,
          "%s: continuous actions in [-1, 1]", w->task);
    CHECK(strcmp(t.spec.name, w->task) == 0, "%s: spec name %s", w->task, t.spec.name);
    CHECK(t.spec.n_info >= 1 && strcmp(t.spec.info_names[t.spec.n_info - 1], "mj_warnings") == 0,
          "%s: last info is mj_warnings", w->task);
    mt_close(&t);
  }
}

// MAFOCOPS supplementary bounds; the coupled cheetah's is this project's choice.
static void test_cost_limits(void) {
  static const struct {
    const char *task;
    double limit;
  } want[] = {{"ant_2x4", 50},
              {"ant_2x4d", 50},
              {"ant_4x2", 50},
              {"ant_8x1", 70},
              {"halfcheetah_2x3", 30},
              {"halfcheetah_3x2", 30},
              {"halfcheetah_6x1", 30},
              {"halfcheetah_1x6", 30},
              {"manyagent_ant_2x3", 25},
              {"manyagent_ant_3x2", 25},
              {"manyagent_ant_6x1", 25},
              {"manyagent_ant_2x4", 80},
              {"manyagent_ant_4x2", 80},
              {"manyagent_ant_8x1", 80},
              {"coupled_halfcheetah_2x6", 20},
              {"coupled_halfcheetah_6x2", 20},
              {"coupled_halfcheetah_12x1", 20}};
  for (int i = 0; i < (int)(sizeof want / sizeof want[0]); i++) {
    mt_env_t t;
    if (mt_open(&t, want[i].task, NULL, 1)) continue;
    CHECK_NEAR(t.spec.cost_limit, want[i].limit, 0, want[i].task);
    mt_close(&t);
  }
  mt_env_t t;
  if (!mt_open(&t, "ant_4x2", "cost_limit=12.5", 1)) {
    CHECK_NEAR(t.spec.cost_limit, 12.5, 0, "cost_limit override");
    mt_close(&t);
  }
  for (int i = 0; i < MT_N_TASKS; i++) {
    if (mt_open(&t, mt_tasks[i], NULL, 1)) continue;
    CHECK(t.spec.cost_limit > 0 && t.spec.cost_limit < 1000, "%s: cost limit %g", mt_tasks[i],
          t.spec.cost_limit);
    mt_close(&t);
  }
}

static void test_default_partitions(void) {
  for (int i = 0; i < MT_N_TASKS; i++) {
    const env_class_t *c = env_find(mt_tasks[i]);
    CHECK(c != NULL, "%s registered", mt_tasks[i]);
    if (!c) continue;
    const char *want = strcmp(mt_tasks[i], "ant_2x4d") == 0 ? "nominal" : "released";
    int found = 0;
    for (int p = 0; p < c->n_params; p++)
      if (strcmp(c->params[p].key, "partition") == 0) {
        found = 1;
        CHECK(strcmp(c->params[p].def, want) == 0, "%s: default partition %s", mt_tasks[i],
              c->params[p].def);
      }
    CHECK(found, "%s: has a partition parameter", mt_tasks[i]);
    CHECK(c->raw_step != NULL, "%s: offers raw_step", mt_tasks[i]);
  }
}

// Drive each agent slot alone with +0.5 and see which ctrl entries move: exactly one, and over
// all slots every agent-driven actuator exactly once.
static void check_ctrl_mapping(const char *task, const char *partition) {
  char ov[64];
  snprintf(ov, sizeof ov, "partition=%s", partition);
  mt_env_t t;
  if (mt_open(&t, task, ov, 3)) {
    CHECK(0, "%s %s: open failed", task, partition);
    return;
  }
  const mamj_shared_t *s = t.env->s;
  int n_nodes = s->graph.n_nodes, hit[PART_MAX_NODES] = {0};
  for (int a = 0; a < t.spec.n_agents; a++) {
    for (int i = 0; i < t.spec.act_dim[a]; i++) {
      mt_zero_actions(&t);
      t.act[a * t.spec.max_act_dim + i] = 0.5f;
      mt_step(&t);
      int moved = 0, which = -1;
      for (int u = 0; u < n_nodes; u++)
        if (t.env->d->ctrl[u] != 0.0) moved++, which = u;
      CHECK(moved == 1 && t.env->d->ctrl[which] == 0.5, "%s %s: agent %d slot %d moved %d ctrls",
            task, partition, a, i, moved);
      if (moved == 1) hit[which]++;
      CHECK(which == s->part.nodes[a][i], "%s %s: agent %d slot %d -> actuator %d, part says %d",
            task, partition, a, i, which, s->part.nodes[a][i]);
    }
  }
  for (int u = 0; u < n_nodes; u++)
    CHECK(hit[u] == 1, "%s %s: actuator %d (%s) driven %d times", task, partition, u,
          s->graph.labels[u], hit[u]);
  CHECK(n_nodes == s->m->nu - (s->obstacle_act >= 0), "%s: nodes %d of nu %d", task, n_nodes,
        s->m->nu);
  mt_close(&t);
}

static void test_every_actuator_once(void) {
  for (int i = 0; i < MT_N_TASKS; i++) {
    check_ctrl_mapping(mt_tasks[i], "released");
    check_ctrl_mapping(mt_tasks[i], "nominal");
  }
  // Not in mt_tasks (the Safe MAMuJoCo list): the single-agent HalfCheetah.
  check_ctrl_mapping("halfcheetah_1x6", "released");
  check_ctrl_mapping("halfcheetah_1x6", "nominal");
}

// Agent slot -> joint label, as a '|'-separated string of ','-separated groups.
static void partition_string(const char *task, const char *partition, char *buf, size_t n) {
  char ov[64];
  snprintf(ov, sizeof ov, "partition=%s", partition);
  mt_env_t t;
  buf[0] = 0;
  if (mt_open(&t, task, ov, 1)) return;
  const mamj_shared_t *s = t.env->s;
  size_t used = 0;
  for (int a = 0; a < s->part.n_agents; a++)
    for (int i = 0; i < s->part.n_nodes[a]; i++)
      used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "," : (a ? "|" : ""),
                               s->graph.labels[s->part.nodes[a][i]]);
  mt_close(&t);
}

static void test_partition_contents(void) {
  static const struct {
    const char *task, *partition, *want;
  } cases[] = {
      // §2.1: the released slices follow the actuator order hip_4, ankle_4, hip_1, ...
      {"ant_2x4", "released", "hip_4,ankle_4,hip_1,ankle_1|hip_2,ankle_2,hip_3,ankle_3"},
      {"ant_2x4d", "released", "hip_4,ankle_4,hip_1,ankle_1|hip_2,ankle_2,hip_3,ankle_3"},
      {"ant_2x4", "nominal", "hip_1,ankle_1,hip_2,ankle_2|hip_3,ankle_3,hip_4,ankle_4"},
      {"ant_2x4d", "nominal", "hip_1,ankle_1,hip_3,ankle_3|hip_2,ankle_2,hip_4,ankle_4"},
      {"ant_4x2", "released", "hip_4,ankle_4|hip_1,ankle_1|hip_2,ankle_2|hip_3,ankle_3"},
      {"ant_8x1", "released", "hip_4|ankle_4|hip_1|ankle_1|hip_2|ankle_2|hip_3|ankle_3"},
      // §3.1: 3x2 released groups differ from the nominal ones.
      {"halfcheetah_3x2", "released", "bthigh,bshin|bfoot,fthigh|fshin,ffoot"},
      {"halfcheetah_3x2", "nominal", "bfoot,bshin|bthigh,ffoot|fshin,fthigh"},
      {"halfcheetah_2x3", "released", "bthigh,bshin,bfoot|fthigh,fshin,ffoot"},
      {"halfcheetah_2x3", "nominal", "bfoot,bshin,bthigh|ffoot,fshin,fthigh"},
      // The single-agent task: every actuator in the gym order, whichever partition.
      {"halfcheetah_1x6", "released", "bthigh,bshin,bfoot,fthigh,fshin,ffoot"},
      {"halfcheetah_1x6", "nominal", "bthigh,bshin,bfoot,fthigh,fshin,ffoot"},
      // §4.1: nominal = released for the ManyAgent Ant.
      {"manyagent_ant_3x2", "nominal",
       "hip1_0,ankle1_0,hip2_0,ankle2_0,hip1_1,ankle1_1,hip2_1,ankle2_1|hip1_2,ankle1_2,hip2_2,"
       "ankle2_2,hip1_3,ankle1_3,hip2_3,ankle2_3|hip1_4,ankle1_4,hip2_4,ankle2_4,hip1_5,ankle1_5,"
       "hip2_5,ankle2_5"},
      {"coupled_halfcheetah_2x6", "released",
       "bthigh0,bshin0,bfoot0,fthigh0,fshin0,ffoot0|bthigh1,bshin1,bfoot1,fthigh1,fshin1,ffoot1"},
      {"coupled_halfcheetah_6x2", "nominal",
       "bfoot0,bshin0|bthigh0,ffoot0|fshin0,fthigh0|bfoot1,bshin1|bthigh1,ffoot1|fshin1,fthigh1"},
  };
  char got[1024];
  for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
    partition_string(cases[i].task, cases[i].partition, got, sizeof got);
    CHECK(strcmp(got, cases[i].want) == 0, "%s %s:\n   got  %s\n   want %s", cases[i].task,
          cases[i].partition, got, cases[i].want);
  }
  char a[1024];
  partition_string("manyagent_ant_3x2", "released", a, sizeof a);
  partition_string("manyagent_ant_3x2", "nominal", got, sizeof got);
  CHECK(strcmp(a, got) == 0, "manyagent: released == nominal");
}

static int connected(const env_spec_t *sp) {
  int seen[ENV_MAX_AGENTS] = {1}, stack[ENV_MAX_AGENTS] = {0}, top = 1, count = 1;
  while (top) {
    int a = stack[--top];
    for (int b = 0; b < sp->n_agents; b++)
      if (sp->adjacency[a][b] && !seen[b]) seen[b] = 1, stack[top++] = b, count++;
  }
  return count == sp->n_agents;
}

static void check_adjacency(const char *task, const char *partition, const char *edges) {
  char ov[64];
  snprintf(ov, sizeof ov, "partition=%s", partition);
  mt_env_t t;
  if (mt_open(&t, task, ov, 1)) return;
  uint8_t want[ENV_MAX_AGENTS][ENV_MAX_AGENTS] = {{0}};
  for (const char *p = edges; *p;) {
    int a, b, n;
    if (sscanf(p, "%d-%d%n", &a, &b, &n) != 2) break;
    want[a][b] = want[b][a] = 1;
    p += n;
    while (*p == ' ') p++;
  }
  for (int a = 0; a < t.spec.n_agents; a++)
    for (int b = 0; b < t.spec.n_agents; b++)
      CHECK(t.spec.adjacency[a][b] == want[a][b], "%s %s: adjacency[%d][%d] = %d", task, partition,
            a, b, t.spec.adjacency[a][b]);
  mt_close(&t);
}

static void test_adjacency(void) {
  // Every task, both partitions: symmetric, no self loops, connected.
  for (int i = 0; i < MT_N_TASKS; i++) {
    for (int p = 0; p < 2; p++) {
      mt_env_t t;
      if (mt_open(&t, mt_tasks[i], p ? "partition=nominal" : "partition=released", 1)) continue;
      const env_spec_t *sp = &t.spec;
      for (int a = 0; a < sp->n_agents; a++) {
        CHECK(sp->adjacency[a][a] == 0, "%s: self loop %d", mt_tasks[i], a);
        for (int b = 0; b < sp->n_agents; b++)
          CHECK(sp->adjacency[a][b] == sp->adjacency[b][a], "%s: asymmetric %d %d", mt_tasks[i], a,
                b);
      }
      CHECK(connected(sp), "%s: agent graph connected", mt_tasks[i]);
      mt_close(&t);
    }
  }
  // Ant 8x1 released: agents are hip_4, ankle_4, hip_1, ankle_1, hip_2, ankle_2, hip_3, ankle_3;
  // the hips form one hyperedge, each ankle touches its own hip only.
  check_adjacency("ant_8x1", "released", "0-2 0-4 0-6 2-4 2-6 4-6 0-1 2-3 4-5 6-7");
  check_adjacency("ant_2x4", "released", "0-1");
  // HalfCheetah 6x1 released: bthigh, bshin, bfoot, fthigh, fshin, ffoot on the leg chain.
  check_adjacency("halfcheetah_6x1", "released", "0-1 1-2 0-3 3-4 4-5");
  check_adjacency("halfcheetah_1x6", "released", "");
  check_adjacency("manyagent_ant_6x1", "released", "0-1 1-2 2-3 3-4 4-5");
  check_adjacency("manyagent_ant_4x2", "released", "0-1 1-2 2-3");
  check_adjacency("coupled_halfcheetah_2x6", "released", "0-1");
  // 12x1 released: agent i = actuator i (bthigh0 .. ffoot0, bthigh1 .. ffoot1); the torso
  // hyperedge joins bthigh0 (0), fthigh0 (3), bthigh1 (6), fthigh1 (9).
  check_adjacency("coupled_halfcheetah_12x1", "released",
                  "0-1 1-2 0-3 3-4 4-5 6-7 7-8 6-9 9-10 10-11 0-6 0-9 3-6 3-9");
}

// obsk sizes: MAMuJoCo's k = 1 sizes from §1.6 (nominal partitions) plus the features
// (Ant 4, HalfCheetah 3).
static void check_obsk(const char *task, const char *ov, const int *want, int n) {
  mt_env_t t;
  if (mt_open(&t, task, ov, 1)) {
    CHECK(0, "%s %s: open failed", task, ov);
    return;
  }
  CHECK(t.spec.n_agents == n, "%s: agents", task);
  int mx = 0;
  for (int a = 0; a < n; a++) {
    CHECK(t.spec.obs_dim[a] == want[a], "%s %s: obs_dim[%d] = %d, want %d", task, ov, a,
          t.spec.obs_dim[a], want[a]);
    if (want[a] > mx) mx = want[a];
  }
  CHECK(t.spec.max_obs_dim == mx, "%s %s: max_obs_dim %d", task, ov, t.spec.max_obs_dim);
  CHECK(t.spec.share_obs_dim == t.env->s->state_dim, "%s: share_obs is the state", task);
  // Padding: slots past an agent's own dimension are zero.
  for (int a = 0; a < n; a++)
    for (int i = want[a]; i < mx; i++)
      CHECK(t.obs[a * mx + i] == 0.0f, "%s: agent %d pad %d = %g", task, a, i, t.obs[a * mx + i]);
  mt_close(&t);
}

static void test_obsk_dims(void) {
  const char *nom1 = "obs=obsk,obs_k=1,partition=nominal";
  check_obsk("ant_2x4", nom1, (int[]){52 + 4, 52 + 4}, 2);
  check_obsk("ant_4x2", nom1, (int[]){31 + 4, 31 + 4, 31 + 4, 31 + 4}, 4);
  // nominal 8x1: hip1, ankle1, hip2, ankle2, ...: hips 18, ankles 21
  check_obsk("ant_8x1", nom1, (int[]){22, 25, 22, 25, 22, 25, 22, 25}, 8);
  check_obsk("halfcheetah_2x3", nom1, (int[]){7 + 3, 7 + 3}, 2);
  check_obsk("halfcheetah_3x2", nom1, (int[]){5 + 3, 7 + 3, 6 + 3}, 3);
  // nominal 6x1: bfoot, bshin, bthigh, ffoot, fshin, fthigh
  check_obsk("halfcheetah_6x1", nom1, (int[]){3 + 3, 4 + 3, 4 + 3, 3 + 3, 4 + 3, 4 + 3}, 6);
  // k = 0: own joints only. Ant 8x1 hip: qpos, qvel, torso + leg root cfrc (14); ankle: 2 + 18.
  check_obsk("ant_8x1", "obs=obsk,obs_k=0,partition=nominal",
             (int[]){18, 24, 18, 24, 18, 24, 18, 24}, 8);
  // ManyAgent 6x1, k = 0: 4 joints x (qpos, qvel) + 7 bodies x 6 cfrc + 4 features = 54.
  check_obsk("manyagent_ant_6x1", "obs=obsk,obs_k=0", (int[]){54, 54, 54, 54, 54, 54}, 6);
  // ManyAgent 6x1, k = 1: + the neighbouring segments' hips (qpos): ends 2, middle 4.
  check_obsk("manyagent_ant_6x1", "obs=obsk,obs_k=1", (int[]){56, 58, 58, 58, 58, 56}, 6);
  // Coupled 2x6, k = 0: 6 joints x 2 + tendon length and velocity + 4 features = 18; k = 1
  // adds the other cheetah's thighs through the torso hyperedge (qpos): 20.
  check_obsk("coupled_halfcheetah_2x6", "obs=obsk,obs_k=0", (int[]){18, 18}, 2);
  check_obsk("coupled_halfcheetah_2x6", "obs=obsk,obs_k=1", (int[]){20, 20}, 2);
}

static void test_bad_params(void) {
  static const char *const bad[] = {"partition=diagonal", "obs=local",
                                    "obs_k=-1",           "cost_limit=-1",
                                    "cost_limit=nan",     "obs_standardise=maybe"};
  for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
    const env_class_t *c = env_find("ant_2x4");
    mamj_params_t p;
    cfg_section_t sec = {"env", c->params, c->n_params, &p};
    cfg_set_defaults(&sec, 1);
    char one[128];
    snprintf(one, sizeof one, "env.%s", bad[i]);
    int rc = cfg_override(&sec, 1, one);
    if (rc == 0) {
      env_spec_t spec;
      void *sh = NULL;
      rc = c->shared_create(&p, &spec, &sh);
      if (sh) c->shared_destroy(sh);
    }
    CHECK(rc == ERR_INPUT, "%s accepted (rc %d)", bad[i], rc);
    CHECK(strstr(err_message(), "env.") != NULL, "%s: message names env.<key>: %s", bad[i],
          err_message());
  }
}

int main(void) {
  test_global_dims();
  test_cost_limits();
  test_default_partitions();
  test_every_actuator_once();
  test_partition_contents();
  test_adjacency();
  test_obsk_dims();
  test_bad_params();
  return check_report("test_mamj_spec");
}
