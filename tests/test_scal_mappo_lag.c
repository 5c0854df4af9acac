// test_scal_mappo_lag: Scal-MAPPO-L (algorithms/scal_mappo_lag.c) and its graph helpers
// (algorithms/khop.c): kappa-hop neighbourhoods on known graphs, the env's agent graph and
// k-hop observations, locality of actors and critics, per-agent truncated advantages against a
// hand example and buf_gae on each agent's own lanes, the create-time checks, save/load
// bit-exactness, and a reproducible sequential order and M per seed.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/actor_critic.h"
#include "algorithms/algo.h"
#include "algorithms/khop.h"
#include "core/buffer.h"
#include "core/checkpoint.h"
#include "core/config.h"
#include "core/err.h"
#include "core/rng.h"
#include "tests/check.h"
#include "tests/test_mamj_util.h"

static void fill_uniform(float *x, int n, double lo, double hi, rng_t *rng) {
  for (int i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * rng_uniform(rng));
}

static void add_edge(khop_adj_t adj, int i, int j) {
  adj[i][j] = adj[j][i] = 1;
}

// members of N_i^kappa equal the expected list (terminated by -1).
static void check_members(const khop_adj_t adj, int A, int i, int kappa, const int *want,
                          const char *graph) {
  int got[ENV_MAX_AGENTS], n = khop_members(adj, A, i, kappa, got), n_want = 0;
  while (want[n_want] >= 0) n_want++;
  int same = n == n_want;
  for (int k = 0; same && k < n; k++) same = got[k] == want[k];
  if (!same) {
    char buf[256];
    int len = 0;
    for (int k = 0; k < n && len < 200; k++) len += snprintf(buf + len, 256 - len, " %d", got[k]);
    if (n == 0) snprintf(buf, sizeof buf, " (none)");
    CHECK(same, "%s: N_%d^%d =%s", graph, i, kappa, buf);
  }
}

// ---------------------------------------------------------------------------------------------
// (1) Neighbourhoods. The chain 0-1-2-3-4-5 with kappa 1, 2, 3 (every agent's exact list), a
// ring of 6, a star with centre 0 and 5 leaves; distances, diameters, the scope mask, a
// one-sided adjacency read as undirected, and an unreachable agent.
static void test_neighbourhoods(void) {
  khop_adj_t chain = {{0}}, ring = {{0}}, star = {{0}};
  for (int i = 0; i + 1 < 6; i++) add_edge(chain, i, i + 1);
  for (int i = 0; i < 6; i++) add_edge(ring, i, (i + 1) % 6);
  for (int i = 1; i < 6; i++) add_edge(star, 0, i);

  static const int chain1[6][7] = {{0, 1, -1},    {0, 1, 2, -1}, {1, 2, 3, -1},
                                   {2, 3, 4, -1}, {3, 4, 5, -1}, {4, 5, -1}};
  static const int chain2[6][7] = {{0, 1, 2, -1},       {0, 1, 2, 3, -1}, {0, 1, 2, 3, 4, -1},
                                   {1, 2, 3, 4, 5, -1}, {2, 3, 4, 5, -1}, {3, 4, 5, -1}};
  static const int chain3[6][7] = {{0, 1, 2, 3, -1},       {0, 1, 2, 3, 4, -1},
                                   {0, 1, 2, 3, 4, 5, -1}, {0, 1, 2, 3, 4, 5, -1},
                                   {1, 2, 3, 4, 5, -1},    {2, 3, 4, 5, -1}};
  for (int i = 0; i < 6; i++) {
    check_members(chain, 6, i, 1, chain1[i], "chain");
    check_members(chain, 6, i, 2, chain2[i], "chain");
    check_members(chain, 6, i, 3, chain3[i], "chain");
    int only_self[] = {i, -1};
    check_members(chain, 6, i, 0, only_self, "chain");
  }
  static const int ring1[6][7] = {{0, 1, 5, -1}, {0, 1, 2, -1}, {1, 2, 3, -1},
                                  {2, 3, 4, -1}, {3, 4, 5, -1}, {0, 4, 5, -1}};
  static const int ring2[6][7] = {{0, 1, 2, 4, 5, -1}, {0, 1, 2, 3, 5, -1}, {0, 1, 2, 3, 4, -1},
                                  {1, 2, 3, 4, 5, -1}, {0, 2, 3, 4, 5, -1}, {0, 1, 3, 4, 5, -1}};
  static const int all6[] = {0, 1, 2, 3, 4, 5, -1};
  for (int i = 0; i < 6; i++) {
    check_members(ring, 6, i, 1, ring1[i], "ring");
    check_members(ring, 6, i, 2, ring2[i], "ring");
    check_members(ring, 6, i, 3, all6, "ring");
  }
  check_members(star, 6, 0, 1, all6, "star");
  for (int i = 1; i < 6; i++) {
    int leaf1[] = {0, i, -1};
    check_members(star, 6, i, 1, leaf1, "star");
    check_members(star, 6, i, 2, all6, "star");
  }

  int dist[ENV_MAX_AGENTS];
  khop_distances(chain, 6, 0, dist);
  for (int j = 0; j < 6; j++) CHECK(dist[j] == j, "chain d(0,%d) = %d", j, dist[j]);
  khop_distances(ring, 6, 0, dist);
  static const int ring_d[6] = {0, 1, 2, 3, 2, 1};
  for (int j = 0; j < 6; j++) CHECK(dist[j] == ring_d[j], "ring d(0,%d) = %d", j, dist[j]);
  CHECK(khop_diameter(chain, 6) == 5, "chain diameter %d", khop_diameter(chain, 6));
  CHECK(khop_diameter(ring, 6) == 3, "ring diameter %d", khop_diameter(ring, 6));
  CHECK(khop_diameter(star, 6) == 2, "star diameter %d", khop_diameter(star, 6));

  khop_adj_t in;
  khop_scope(chain, 6, 2, in);
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++)
      CHECK(in[i][j] == (abs(i - j) <= 2), "chain scope[%d][%d] = %d (kappa 2)", i, j, in[i][j]);
  CHECK(in[0][6] == 0 && in[6][0] == 0, "scope beyond A not cleared");

  // One-sided entries count as edges; agent 3 has none and is reached by no one.
  khop_adj_t one_sided = {{0}};
  one_sided[0][1] = 1;
  one_sided[2][1] = 1;
  static const int os0[] = {0, 1, 2, -1}, os3[] = {3, -1};
  check_members(one_sided, 4, 0, 2, os0, "one-sided");
  check_members(one_sided, 4, 3, 5, os3, "one-sided");
  khop_distances(one_sided, 4, 0, dist);
  CHECK(dist[3] == -1, "unreachable agent at distance %d", dist[3]);
  CHECK(khop_diameter(one_sided, 4) == 2, "diameter ignores unreachable pairs: %d",
        khop_diameter(one_sided, 4));
}

// The env side: halfcheetah_6x1 in `obs: obsk` fills obs_local / obs_k, its agent graph is the
// chain bfoot-bshin-bthigh-fthigh-fshin-ffoot (agents = actuators bthigh 0, bshin 1, bfoot 2,
// fthigh 3, fshin 4, ffoot 5: the chain 2-1-0-3-4-5), and with one joint per agent agent i's
// observation covers exactly N_i^k: own qpos and qvel, qpos of the other members, 3 features.
static void test_env_graph(void) {
  mt_env_t t;
  if (mt_open(&t, "halfcheetah_6x1", "obs=obsk,obs_k=2", 1) != 0) {
    CHECK(0, "halfcheetah_6x1 obsk did not open");
    return;
  }
  CHECK(t.spec.obs_local == 1 && t.spec.obs_k == 2, "spec obs_local %d obs_k %d", t.spec.obs_local,
        t.spec.obs_k);
  static const int chain_order[6] = {2, 1, 0, 3, 4, 5};
  khop_adj_t want = {{0}};
  for (int i = 0; i + 1 < 6; i++) add_edge(want, chain_order[i], chain_order[i + 1]);
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++)
      CHECK(t.spec.adjacency[i][j] == want[i][j], "adjacency[%d][%d] = %d", i, j,
            t.spec.adjacency[i][j]);
  for (int k = 0; k <= 3; k++) {
    mt_env_t tk;
    char ov[64];
    snprintf(ov, sizeof ov, "obs=obsk,obs_k=%d", k);
    if (mt_open(&tk, "halfcheetah_6x1", ov, 1) != 0) {
      CHECK(0, "halfcheetah_6x1 %s did not open", ov);
      continue;
    }
    for (int a = 0; a < 6; a++) {
      int members[ENV_MAX_AGENTS];
      int n = khop_members(tk.spec.adjacency, 6, a, k, members);
      CHECK(tk.spec.obs_dim[a] == 2 + (n - 1) + 3, "obs_k %d agent %d: obs_dim %d, |N| = %d", k, a,
            tk.spec.obs_dim[a], n);
    }
    mt_close(&tk);
  }
  mt_close(&t);
  mt_env_t g;
  if (mt_open(&g, "halfcheetah_6x1", NULL, 1) == 0) {
    CHECK(g.spec.obs_local == 0, "global observations flagged local");
    mt_close(&g);
  }
}

// ---------------------------------------------------------------------------------------------
// The algorithm on a synthetic spec: A agents of unequal observation sizes, a chain graph,
// obs_local with obs_k = kappa.

enum { MAXA = 3, OBS = 6, ACT = 2, SHARE = 4 };

static env_spec_t make_spec(int A, int kappa) {
  env_spec_t s;
  memset(&s, 0, sizeof s);
  snprintf(s.name, sizeof s.name, "test_scal");
  s.n_agents = A;
  for (int a = 0; a < A; a++) {
    s.obs_dim[a] = OBS - a;  // unequal sizes: agent a reads the first OBS - a values
    s.act_dim[a] = ACT;
  }
  s.max_obs_dim = OBS;
  s.max_act_dim = ACT;
  s.share_obs_dim = SHARE;
  s.act_low = -1.0f;
  s.act_high = 1.0f;
  s.episode_length = 50;
  s.cost_limit = 1.0;
  for (int a = 0; a + 1 < A; a++) s.adjacency[a][a + 1] = s.adjacency[a + 1][a] = 1;
  s.obs_local = 1;
  s.obs_k = kappa;
  return s;
}

typedef struct {
  const algo_class_t *cls;
  void *params;
  void *algo;
  int A, T, E;
} algo_t;

// Create scal_mappo_lag with the table's defaults, small networks, and "key=value" overrides
// (space-separated, without the "algo." prefix). Returns the create status.
static int make_algo(algo_t *g, const env_spec_t *spec, int T, int E, uint64_t seed,
                     const char *overrides) {
  memset(g, 0, sizeof *g);
  g->cls = algo_find("scal_mappo_lag");
  if (!g->cls) return ERR_FAIL;
  g->params = calloc(1, g->cls->params_size);
  cfg_section_t sec = {"algo", g->cls->params, g->cls->n_params, g->params};
  int rc = cfg_set_defaults(&sec, 1);
  char buf[512];
  snprintf(buf, sizeof buf, "hidden=16 epochs=2 minibatches=2 %s", overrides ? overrides : "");
  for (char *tok = strtok(buf, " "); tok && !rc; tok = strtok(NULL, " ")) {
    char one[600];
    snprintf(one, sizeof one, "algo.%s", tok);
    rc = cfg_override(&sec, 1, one);
  }
  if (rc) return rc;
  algo_run_info_t run = {seed, T, E, 100000, 1.0};
  g->A = spec->n_agents;
  g->T = T;
  g->E = E;
  return g->cls->create(spec, g->params, &run, &g->algo);
}

static void free_algo(algo_t *g) {
  if (g->algo) g->cls->destroy(g->algo);
  free(g->params);
  memset(g, 0, sizeof *g);
}

// A rollout buffer filled by acting on random observations (data stream `data_seed`, acting
// stream `act_seed`): row T values from values(), random rewards and costs shared by the
// agents (as Safe MAMuJoCo), a terminal at t = 2 in copy 0 and a truncation at t = 4 in copy 1
// with bootstrap values from values().
static int fill_rollout(algo_t *g, buf_t *b, uint64_t data_seed, uint64_t act_seed) {
  int A = g->A, T = g->T, E = g->E;
  int rc = buf_create(b, T, E, A, OBS, SHARE, ACT);
  if (rc) return rc;
  rng_t d, r;
  rng_seed(&d, data_seed);
  rng_seed(&r, act_seed);
  for (int t = 0; t <= T; t++) {
    size_t lane = (size_t)t * E * A;
    float *obs = b->obs + lane * OBS, *share = b->share_obs + (size_t)t * E * SHARE;
    fill_uniform(obs, E * A * OBS, -1.0, 1.0, &d);
    fill_uniform(share, E * SHARE, -1.0, 1.0, &d);
    if (t == T) {
      g->cls->values(g->algo, obs, share, E, b->values + lane, b->cost_values + lane);
      break;
    }
    g->cls->act(g->algo, obs, share, E, &r, b->actions + lane * ACT, b->logp + lane,
                b->values + lane, b->cost_values + lane);
    for (int e = 0; e < E; e++) {
      float rew = (float)(rng_uniform(&d) * 2 - 1), cost = (float)(rng_uniform(&d) < 0.3);
      for (int a = 0; a < A; a++) {
        b->rewards[lane + (size_t)e * A + a] = rew;
        b->costs[lane + (size_t)e * A + a] = cost;
      }
    }
  }
  b->done[2 * E + 0] = 1;
  if (E > 1) {
    b->done[4 * E + 1] = b->truncated[4 * E + 1] = 1;
    float fin[OBS * MAXA], fin_share[SHARE];
    fill_uniform(fin, A * OBS, -1.0, 1.0, &d);
    fill_uniform(fin_share, SHARE, -1.0, 1.0, &d);
    size_t lane = (size_t)(4 * E + 1) * A;
    g->cls->values(g->algo, fin, fin_share, 1, b->boot_values + lane, b->boot_cost_values + lane);
  }
  return 0;
}

static int run_update(algo_t *g, buf_t *b, uint64_t rng_seed_, double *stats) {
  rng_t u;
  rng_seed(&u, rng_seed_);
  uint8_t valid[64 * 64];
  memset(valid, 1, sizeof valid);
  float ep_cost = 3.0f, ep_ret = 1.0f, ep_len = 5.0f;
  algo_rollout_info_t info = {0, (long long)g->T * g->E, 1, &ep_ret, &ep_cost, &ep_len, valid};
  return g->cls->update(g->algo, b, &info, &u, stats);
}

// The algorithm state as checkpoint bytes (inside an "ALGO" section, as harness/train.c).
static int save_state(algo_t *g, ckpt_t *k) {
  ckpt_init(k);
  int rc = ckpt_begin(k, "ALGO");
  if (!rc) rc = g->cls->save(g->algo, k);
  if (!rc) rc = ckpt_end(k);
  return rc;
}

static int load_state(algo_t *g, ckpt_t *k) {
  k->pos = 0;
  int rc = ckpt_section(k, "ALGO", NULL);
  if (!rc) rc = g->cls->load(g->algo, k);
  if (!rc) rc = ckpt_section_done(k, "ALGO");
  return rc;
}

static int same_bytes(const ckpt_t *a, const ckpt_t *b) {
  return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

// create refuses envs without kappa-hop observations, a kappa other than env.obs_k, shared
// parameters and discrete actions (ERR_INPUT naming the keys); accepts the matching spec.
static void test_create_checks(void) {
  algo_t g;
  env_spec_t spec = make_spec(2, 2);
  CHECK(make_algo(&g, &spec, 4, 1, 1, "kappa=2") == 0, "matching spec refused: %s", err_message());
  free_algo(&g);
  int rc = make_algo(&g, &spec, 4, 1, 1, "kappa=1");
  CHECK(rc == ERR_INPUT, "kappa 1 with obs_k 2: rc %d", rc);
  CHECK(strstr(err_message(), "algo.kappa") && strstr(err_message(), "env.obs_k"),
        "message names neither key: %s", err_message());
  free_algo(&g);
  spec.obs_local = 0;
  rc = make_algo(&g, &spec, 4, 1, 1, "kappa=2");
  CHECK(rc == ERR_INPUT && strstr(err_message(), "env.obs=obsk"), "global observations: rc %d: %s",
        rc, err_message());
  free_algo(&g);
  spec = make_spec(2, 2);
  rc = make_algo(&g, &spec, 4, 1, 1, "kappa=2 share_params=true");
  CHECK(rc == ERR_INPUT && strstr(err_message(), "algo.share_params"), "share_params: rc %d: %s",
        rc, err_message());
  free_algo(&g);
  spec.discrete = 1;
  rc = make_algo(&g, &spec, 4, 1, 1, "kappa=2");
  CHECK(rc == ERR_INPUT, "discrete actions: rc %d", rc);
  free_algo(&g);
}

// Locality: agent i's action, log-prob, value and cost value depend on its own observation
// only (its first obs_dim[i] values): changing every other agent's observation, the padding
// beyond obs_dim[i] and share_obs leaves them bit-identical. The critics are per agent: the
// same observation gives different values for different agents.
static void test_locality(void) {
  env_spec_t spec = make_spec(3, 1);
  algo_t g;
  if (make_algo(&g, &spec, 4, 2, 7, "kappa=1") != 0) {
    CHECK(0, "create: %s", err_message());
    return;
  }
  enum { E = 2, A = 3 };
  float obs[E * A * OBS], obs2[E * A * OBS], share[E * SHARE], share2[E * SHARE];
  rng_t d;
  rng_seed(&d, 3);
  fill_uniform(obs, E * A * OBS, -1, 1, &d);
  fill_uniform(share, E * SHARE, -1, 1, &d);
  for (int focus = 0; focus < A; focus++) {
    memcpy(obs2, obs, sizeof obs);
    fill_uniform(share2, E * SHARE, -1, 1, &d);
    for (int e = 0; e < E; e++)
      for (int a = 0; a < A; a++)
        for (int k = 0; k < OBS; k++)
          if (a != focus || k >= spec.obs_dim[a])
            obs2[((size_t)e * A + a) * OBS + k] = (float)(rng_uniform(&d) * 4 - 2);
    float act1[E * A * ACT], act2[E * A * ACT], lp1[E * A], lp2[E * A], v1[E * A], v2[E * A],
        c1[E * A], c2[E * A];
    rng_t r1, r2;
    rng_seed(&r1, 11);
    rng_seed(&r2, 11);
    g.cls->act(g.algo, obs, share, E, &r1, act1, lp1, v1, c1);
    g.cls->act(g.algo, obs2, share2, E, &r2, act2, lp2, v2, c2);
    for (int e = 0; e < E; e++) {
      int i = e * A + focus;
      CHECK(!memcmp(act1 + (size_t)i * ACT, act2 + (size_t)i * ACT, sizeof(float) * ACT) &&
                lp1[i] == lp2[i] && v1[i] == v2[i] && c1[i] == c2[i],
            "agent %d copy %d depends on others' observations or share_obs", focus, e);
    }
  }
  // The same observation in every agent's lane: per-agent critics disagree.
  for (int e = 0; e < E; e++)
    for (int a = 1; a < A; a++)
      memcpy(obs + ((size_t)e * A + a) * OBS, obs + (size_t)e * A * OBS, sizeof(float) * OBS);
  float v[E * A], c[E * A];
  g.cls->values(g.algo, obs, share, E, v, c);
  CHECK(v[0] != v[1] && v[1] != v[2] && c[0] != c[1], "agents share a critic: %g %g %g", v[0], v[1],
        v[2]);
  free_algo(&g);
}

// (2) Truncated advantages. Hand example: two agents, T = 3, E = 1, gamma = lam = 0.5 (so
// gamma lam = 0.25), team reward r = (1, 0, 2), team cost c = (0, 1, 1), no episode end.
//   agent 0: V = (1, 2, 0.5 | 1)  delta = (1, -1.75, 2)  A = (0.6875, -1.25, 2)  R = A + V
//   agent 1: V = (0, -1, 1 | 2)   delta = (0.5, 1.5, 2)  A = (1, 2, 2)
//   agent 0: Vc = (0, 0, 0 | 0)   Ac = (0.3125, 1.25, 1)
//   agent 1: Vc = (1, 1, 1 | 1)   Ac = (-0.34375, 0.625, 0.5)
// The update's advantages (buf.adv / cost_adv, written before the actors train) must equal
// these (all exact in binary, tolerance 1e-6 for float rounding of the sums) and buf_gae on
// each agent's own lane. Then a random buffer with a terminal and a truncation (E = 2, A = 3):
// every lane equals buf_gae run on that agent's lane alone.
static void test_truncated_advantages(void) {
  env_spec_t spec = make_spec(2, 1);
  algo_t g;
  if (make_algo(&g, &spec, 3, 1, 5, "kappa=1 gamma=0.5 lam=0.5") != 0) {
    CHECK(0, "create: %s", err_message());
    return;
  }
  buf_t b;
  if (fill_rollout(&g, &b, 21, 22) != 0) {
    CHECK(0, "buffer");
    free_algo(&g);
    return;
  }
  static const float V[2][4] = {{1, 2, 0.5f, 1}, {0, -1, 1, 2}};
  static const float VC[2][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}};
  static const float r[3] = {1, 0, 2}, cst[3] = {0, 1, 1};
  static const double want_a[2][3] = {{0.6875, -1.25, 2}, {1, 2, 2}};
  static const double want_c[2][3] = {{0.3125, 1.25, 1}, {-0.34375, 0.625, 0.5}};
  for (int t = 0; t <= 3; t++)
    for (int a = 0; a < 2; a++) {
      b.values[t * 2 + a] = V[a][t];
      b.cost_values[t * 2 + a] = VC[a][t];
      if (t < 3) {
        b.rewards[t * 2 + a] = r[t];
        b.costs[t * 2 + a] = cst[t];
      }
    }
  memset(b.done, 0, 3);
  double stats[ALGO_MAX_STATS];
  CHECK(run_update(&g, &b, 9, stats) == 0, "update: %s", err_message());
  for (int a = 0; a < 2; a++) {
    float lane_r[3], lane_v[4], adv[3], ret[3], lane_c[3], lane_vc[4], cadv[3], cret[3];
    for (int t = 0; t < 4; t++) {
      lane_v[t] = V[a][t];
      lane_vc[t] = VC[a][t];
      if (t < 3) lane_r[t] = r[t], lane_c[t] = cst[t];
    }
    uint8_t done[3] = {0, 0, 0};
    buf_gae(lane_r, lane_v, NULL, done, NULL, 3, 1, 1, 0.5f, 0.5f, 0, adv, ret);
    buf_gae(lane_c, lane_vc, NULL, done, NULL, 3, 1, 1, 0.5f, 0.5f, 0, cadv, cret);
    for (int t = 0; t < 3; t++) {
      char what[64];
      snprintf(what, sizeof what, "agent %d A[%d]", a, t);
      CHECK_NEAR(b.adv[t * 2 + a], want_a[a][t], 1e-6, what);
      CHECK(b.adv[t * 2 + a] == adv[t], "agent %d A[%d] %g != buf_gae lane %g", a, t,
            b.adv[t * 2 + a], adv[t]);
      CHECK_NEAR(b.ret[t * 2 + a], want_a[a][t] + V[a][t], 1e-6, "return");
      snprintf(what, sizeof what, "agent %d Ac[%d]", a, t);
      CHECK_NEAR(b.cost_adv[t * 2 + a], want_c[a][t], 1e-6, what);
      CHECK(b.cost_adv[t * 2 + a] == cadv[t], "agent %d Ac[%d] %g != buf_gae lane %g", a, t,
            b.cost_adv[t * 2 + a], cadv[t]);
    }
  }
  for (int i = 0; i < 9; i++) CHECK(isfinite(stats[i]), "stat %d = %g", i, stats[i]);
  buf_destroy(&b);
  free_algo(&g);

  // Random buffer: per-agent values from the local critics, a terminal and a truncation.
  enum { T = 8, E = 2, A = 3 };
  spec = make_spec(A, 1);
  if (make_algo(&g, &spec, T, E, 6, "kappa=1") != 0) {
    CHECK(0, "create: %s", err_message());
    return;
  }
  if (fill_rollout(&g, &b, 31, 32) != 0) {
    CHECK(0, "buffer");
    free_algo(&g);
    return;
  }
  CHECK(b.values[0] != b.values[1], "lanes hold the same value: not per-agent critics");
  float vsave[(T + 1) * E * A];
  memcpy(vsave, b.values, sizeof vsave);
  CHECK(run_update(&g, &b, 9, stats) == 0, "update: %s", err_message());
  for (int a = 0; a < A; a++) {
    float lr[T * E], lv[(T + 1) * E], lb[T * E], adv[T * E], ret[T * E];
    khop_lane(b.rewards, T * E, A, a, lr);
    khop_lane(vsave, (T + 1) * E, A, a, lv);
    khop_lane(b.boot_values, T * E, A, a, lb);
    buf_gae(lr, lv, lb, b.done, b.truncated, T, E, 1, 0.99f, 0.95f, 1, adv, ret);
    int same = 1;
    for (int n = 0; n < T * E; n++) same &= b.adv[(size_t)n * A + a] == adv[n];
    CHECK(same, "agent %d: advantages differ from buf_gae on its own lane", a);
  }
  buf_destroy(&b);
  free_algo(&g);
}

// Each agent trains on its own lanes. With kappa = 0 (M = 1: no agent is another's
// neighbour), two buffers that differ only in agent 1's reward values (hence its advantages
// and return targets) leave agent 0's actor and critics bit-identical after the update and
// change agent 1's, and vice versa for a change in agent 0's cost values.
static void test_own_lanes(void) {
  enum { T = 8, E = 2, A = 2 };
  env_spec_t spec = make_spec(A, 0);
  for (int changed = 0; changed < A; changed++) {
    algo_t x, y;
    if (make_algo(&x, &spec, T, E, 4, "kappa=0") || make_algo(&y, &spec, T, E, 4, "kappa=0")) {
      CHECK(0, "create: %s", err_message());
      free_algo(&x);
      free_algo(&y);
      return;
    }
    buf_t bx, by;
    fill_rollout(&x, &bx, 61, 62);
    fill_rollout(&y, &by, 61, 62);
    float *lane = changed == 1 ? by.values : by.cost_values;
    for (int n = 0; n < (T + 1) * E; n++) lane[(size_t)n * A + changed] += 0.5f;
    double s[ALGO_MAX_STATS];
    CHECK(run_update(&x, &bx, 63, s) == 0 && run_update(&y, &by, 63, s) == 0, "update");
    float obs[E * A * OBS], share[E * SHARE], a1[E * A * ACT], a2[E * A * ACT], l1[E * A],
        l2[E * A], v1[E * A], v2[E * A], c1[E * A], c2[E * A];
    rng_t d, r1, r2;
    rng_seed(&d, 64);
    fill_uniform(obs, E * A * OBS, -1, 1, &d);
    fill_uniform(share, E * SHARE, -1, 1, &d);
    rng_seed(&r1, 65);
    rng_seed(&r2, 65);
    x.cls->act(x.algo, obs, share, E, &r1, a1, l1, v1, c1);
    y.cls->act(y.algo, obs, share, E, &r2, a2, l2, v2, c2);
    for (int a = 0; a < A; a++) {
      int same_actor = 1, same_critics = 1;
      for (int e = 0; e < E; e++) {
        int i = e * A + a;
        same_actor &= l1[i] == l2[i] &&
                      !memcmp(a1 + (size_t)i * ACT, a2 + (size_t)i * ACT, sizeof(float) * ACT);
        same_critics &= v1[i] == v2[i] && c1[i] == c2[i];
      }
      int want = a != changed;
      CHECK(same_actor == want && same_critics == want,
            "agent %d's lane changed: agent %d actor %s, critics %s", changed, a,
            same_actor ? "unchanged" : "changed", same_critics ? "unchanged" : "changed");
    }
    buf_destroy(&bx);
    buf_destroy(&by);
    free_algo(&x);
    free_algo(&y);
  }
}

// (3) save -> load into an algorithm built from another seed -> save gives the same bytes, and
// the loaded algorithm acts bit-identically; a second update from the same buffer and rng
// state also matches (optimiser moments and normalisers restored, not only parameters).
static void test_save_load(void) {
  enum { T = 8, E = 2, A = 3 };
  env_spec_t spec = make_spec(A, 1);
  algo_t x, y;
  if (make_algo(&x, &spec, T, E, 1, "kappa=1") || make_algo(&y, &spec, T, E, 2, "kappa=1")) {
    CHECK(0, "create: %s", err_message());
    free_algo(&x);
    free_algo(&y);
    return;
  }
  buf_t b;
  fill_rollout(&x, &b, 41, 42);
  double stats[ALGO_MAX_STATS];
  CHECK(run_update(&x, &b, 43, stats) == 0, "update: %s", err_message());
  ckpt_t kx, ky;
  CHECK(save_state(&x, &kx) == 0, "save");
  CHECK(load_state(&y, &kx) == 0, "load: %s", err_message());
  CHECK(save_state(&y, &ky) == 0, "save after load");
  CHECK(same_bytes(&kx, &ky), "save/load/save is not bit-exact (%zu vs %zu bytes)", kx.len, ky.len);
  float obs[E * A * OBS], share[E * SHARE], a1[E * A * ACT], a2[E * A * ACT], l1[E * A], l2[E * A],
      v1[E * A], v2[E * A], c1[E * A], c2[E * A];
  rng_t d, r1, r2;
  rng_seed(&d, 44);
  fill_uniform(obs, E * A * OBS, -1, 1, &d);
  fill_uniform(share, E * SHARE, -1, 1, &d);
  rng_seed(&r1, 45);
  rng_seed(&r2, 45);
  x.cls->act(x.algo, obs, share, E, &r1, a1, l1, v1, c1);
  y.cls->act(y.algo, obs, share, E, &r2, a2, l2, v2, c2);
  CHECK(!memcmp(a1, a2, sizeof a1) && !memcmp(l1, l2, sizeof l1) && !memcmp(v1, v2, sizeof v1) &&
            !memcmp(c1, c2, sizeof c1),
        "loaded algorithm acts differently");
  // The same further update on both.
  buf_t b2;
  fill_rollout(&x, &b2, 46, 47);
  buf_t b3;
  fill_rollout(&y, &b3, 46, 47);
  double s1[ALGO_MAX_STATS], s2[ALGO_MAX_STATS];
  run_update(&x, &b2, 48, s1);
  run_update(&y, &b3, 48, s2);
  CHECK(!memcmp(s1, s2, sizeof(double) * 9), "stats of the next update differ");
  ckpt_free(&kx);
  ckpt_free(&ky);
  save_state(&x, &kx);
  save_state(&y, &ky);
  CHECK(same_bytes(&kx, &ky), "states differ after the next update");
  // A truncated checkpoint is refused.
  ckpt_t cut = kx;
  cut.len = kx.len / 2;
  cut.pos = 0;
  int rc = ckpt_section(&cut, "ALGO", NULL);
  if (!rc) rc = y.cls->load(y.algo, &cut);
  if (!rc) rc = ckpt_section_done(&cut, "ALGO");
  CHECK(rc != 0, "a truncated state loaded");
  ckpt_free(&kx);
  ckpt_free(&ky);
  buf_destroy(&b);
  buf_destroy(&b2);
  buf_destroy(&b3);
  free_algo(&x);
  free_algo(&y);
}

// (4a) khop_m_factor on known ratios: agents 0, 1, 2 of the chain 0-1-2 with new/old ratios
// 2, 3, 5 on every row, order (2, 0, 1). With every agent in scope M is the running product of
// the earlier agents' ratios (1, 5, 10) and equals ac_m_update applied in order, bit for bit;
// with kappa = 1 agent 0 does not see agent 2 (M = 1) while agent 1 sees both (M = 10).
static void test_m_factor(void) {
  enum { R = 4, A = 3 };
  float logp_old[A * R], logp_new[A * R], M[R], ref[R];
  const double ratio[A] = {2, 3, 5};
  rng_t d;
  rng_seed(&d, 8);
  for (int a = 0; a < A; a++)
    for (int n = 0; n < R; n++) {
      logp_old[a * R + n] = (float)(rng_uniform(&d) * -3);
      logp_new[a * R + n] = (float)(logp_old[a * R + n] + log(ratio[a]));
    }
  const int order[A] = {2, 0, 1};
  khop_adj_t chain = {{0}}, all1, near;
  add_edge(chain, 0, 1);
  add_edge(chain, 1, 2);
  memset(all1, 1, sizeof all1);
  khop_scope(chain, A, 1, near);
  const double want_all[A] = {1, 5, 10}, want_near[A] = {1, 1, 10};
  for (int n = 0; n < R; n++) ref[n] = 1.0f;
  for (int h = 0; h < A; h++) {
    int i = order[h];
    khop_m_factor(logp_new, logp_old, R, order, h, all1[i], M);
    for (int n = 0; n < R; n++) {
      CHECK_CLOSE(M[n], want_all[h], 1e-5, 0, "M (all)");
      CHECK(M[n] == ref[n], "M (all) at h %d row %d: %.9g, running ac_m_update %.9g", h, n, M[n],
            ref[n]);
    }
    ac_m_update(ref, logp_new + (size_t)i * R, logp_old + (size_t)i * R, R);
    khop_m_factor(logp_new, logp_old, R, order, h, near[i], M);
    for (int n = 0; n < R; n++) CHECK_CLOSE(M[n], want_near[h], 1e-5, 0, "M (neighbours)");
  }
}

// (4b) The sequential order and M per seed: two algorithms with the same seed given the same
// buffer and the same update rng state end bit-identical; another update rng state (another
// agent order and minibatches) ends elsewhere. On the chain 0-1-2, m_scope neighbours and all
// differ at kappa = 1 (agents 0 and 2 are not neighbours, and one of them always comes after
// the other) and coincide bit for bit at kappa = 2 = the diameter.
static void test_order_reproducible(void) {
  enum { T = 8, E = 2, A = 3 };
  const char *cases[][2] = {{"kappa=1", "kappa=1"},
                            {"kappa=1", "kappa=1"},
                            {"kappa=1 m_scope=neighbours", "kappa=1 m_scope=all"},
                            {"kappa=2 m_scope=neighbours", "kappa=2 m_scope=all"}};
  const uint64_t rng2[] = {9, 10, 9, 9};
  const int want_same[] = {1, 0, 0, 1};
  for (int c = 0; c < 4; c++) {
    int kappa = cases[c][0][6] - '0';
    env_spec_t spec = make_spec(A, kappa);
    algo_t x, y;
    if (make_algo(&x, &spec, T, E, 3, cases[c][0]) || make_algo(&y, &spec, T, E, 3, cases[c][1])) {
      CHECK(0, "create: %s", err_message());
      free_algo(&x);
      free_algo(&y);
      continue;
    }
    buf_t bx, by;
    fill_rollout(&x, &bx, 51, 52);
    fill_rollout(&y, &by, 51, 52);
    double s1[ALGO_MAX_STATS], s2[ALGO_MAX_STATS];
    CHECK(run_update(&x, &bx, 9, s1) == 0 && run_update(&y, &by, rng2[c], s2) == 0, "update");
    ckpt_t kx, ky;
    save_state(&x, &kx);
    save_state(&y, &ky);
    CHECK(same_bytes(&kx, &ky) == want_same[c], "case %d (%s | %s, rng 9 | %llu): %s", c,
          cases[c][0], cases[c][1], (unsigned long long)rng2[c],
          want_same[c] ? "states differ" : "states are identical");
    ckpt_free(&kx);
    ckpt_free(&ky);
    buf_destroy(&bx);
    buf_destroy(&by);
    free_algo(&x);
    free_algo(&y);
  }
}

// cost_margin: the multiplier steps on J_c - d (1 - m). Episodes cost 3 against d = 1
// (run_update); with constraint_scale none, lambda_lr 0.1 and 4 actor steps per agent, a margin
// of 0.5 adds 0.1 x 0.5 per step, so lambda ends about 0.2 higher (the advantage terms of the
// two runs differ only through lambda's own effect on the steps).
static void test_cost_margin(void) {
  env_spec_t spec = make_spec(3, 1);
  double lam[2] = {0, 0};
  const char *ov[2] = {"kappa=1 constraint_scale=none lambda_lr=0.1",
                       "kappa=1 constraint_scale=none lambda_lr=0.1 cost_margin=0.5"};
  for (int k = 0; k < 2; k++) {
    algo_t g;
    buf_t b;
    double stats[ALGO_MAX_STATS];
    int rc = make_algo(&g, &spec, 6, 2, 11, ov[k]);
    if (!rc) rc = fill_rollout(&g, &b, 21, 31);
    if (!rc) {
      rc = run_update(&g, &b, 41, stats);
      buf_destroy(&b);
    }
    CHECK(rc == 0, "cost_margin run %d: %s", k, err_message());
    lam[k] = rc ? NAN : stats[0];
    free_algo(&g);
  }
  CHECK(lam[1] - lam[0] > 0.15 && lam[1] - lam[0] < 0.25,
        "margin 0.5 should raise lambda by about 4 x 0.1 x 0.5 = 0.2: %g vs %g", lam[1], lam[0]);
}

int main(void) {
  test_cost_margin();
  test_neighbourhoods();
  test_env_graph();
  test_create_checks();
  test_locality();
  test_truncated_advantages();
  test_own_lanes();
  test_save_load();
  test_m_factor();
  test_order_reproducible();
  return check_report("test_scal_mappo_lag");
}
