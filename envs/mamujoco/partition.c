// partition: agent partitions, agent adjacency and k-hop joint levels (see partition.h).
// Follows MAMuJoCo obsk.py (get_parts_and_edges, get_joints_at_kdist) except that nodes are
// named by the joint each actuator drives and addressed by actuator index, so nothing depends on
// MAMuJoCo's negative qpos indices (which assume the robot's joints come last).
#include "envs/mamujoco/partition.h"

#include <string.h>

#include "core/err.h"

int part_find(const part_graph_t *g, const char *label) {
  for (int i = 0; i < g->n_nodes; i++)
    if (strcmp(g->labels[i], label) == 0) return i;
  return -1;
}

// Next comma-separated token of *s into buf; returns 0 at the end of the list.
static int part_token(const char **s, char *buf, size_t n) {
  if (!**s) return 0;
  size_t len = strcspn(*s, ",");
  if (len >= n) len = n - 1;
  memcpy(buf, *s, len);
  buf[len] = '\0';
  *s += strcspn(*s, ",");
  if (**s == ',') (*s)++;
  return 1;
}

int part_add_edge(part_graph_t *g, const char *labels) {
  if (g->n_edges >= PART_MAX_EDGES)
    return err_fail("partition: more than %d hyperedges", PART_MAX_EDGES);
  uint64_t mask = 0;
  char tok[PART_LABEL_MAX];
  for (const char *s = labels; part_token(&s, tok, sizeof tok);) {
    int n = part_find(g, tok);
    if (n < 0) return err_fail("partition: hyperedge names unknown joint '%s'", tok);
    mask |= 1ull << n;
  }
  g->edges[g->n_edges++] = mask;
  return ERR_OK;
}

int part_nominal(const part_graph_t *g, const char *groups, part_t *p) {
  memset(p, 0, sizeof *p);
  char group[512], tok[PART_LABEL_MAX];
  for (const char *s = groups; *s;) {
    size_t len = strcspn(s, "|");
    if (len >= sizeof group || p->n_agents >= ENV_MAX_AGENTS)
      return err_fail("partition: groups '%.40s...' too long", groups);
    memcpy(group, s, len);
    group[len] = '\0';
    s += len + (s[len] == '|');
    int a = p->n_agents++;
    for (const char *t = group; part_token(&t, tok, sizeof tok);) {
      int n = part_find(g, tok);
      if (n < 0) return err_fail("partition: group names unknown joint '%s'", tok);
      p->nodes[a][p->n_nodes[a]++] = (int8_t)n;
    }
  }
  return part_check(g, p);
}

int part_released(const part_graph_t *g, int n_agents, const int *sizes, part_t *p) {
  memset(p, 0, sizeof *p);
  if (n_agents < 1 || n_agents > ENV_MAX_AGENTS) return err_fail("partition: %d agents", n_agents);
  p->n_agents = n_agents;
  int next = 0;
  for (int a = 0; a < n_agents; a++) {
    for (int i = 0; i < sizes[a] && next < g->n_nodes; i++) p->nodes[a][i] = (int8_t)next++;
    p->n_nodes[a] = sizes[a];
  }
  return part_check(g, p);
}

int part_check(const part_graph_t *g, const part_t *p) {
  int count[PART_MAX_NODES] = {0}, total = 0;
  for (int a = 0; a < p->n_agents; a++) {
    if (p->n_nodes[a] < 1) return err_fail("partition: agent %d drives no actuator", a);
    for (int i = 0; i < p->n_nodes[a]; i++) {
      int n = p->nodes[a][i];
      if (n < 0 || n >= g->n_nodes)
        return err_fail("partition: agent %d slot %d out of range", a, i);
      count[n]++;
      total++;
    }
  }
  for (int n = 0; n < g->n_nodes; n++)
    if (count[n] != 1)
      return err_fail("partition: actuator %d (%s) driven by %d agents", n, g->labels[n], count[n]);
  return total == g->n_nodes ? ERR_OK
                             : err_fail("partition: %d slots for %d actuators", total, g->n_nodes);
}

static uint64_t part_agent_mask(const part_t *p, int a) {
  uint64_t m = 0;
  for (int i = 0; i < p->n_nodes[a]; i++) m |= 1ull << p->nodes[a][i];
  return m;
}

void part_adjacency(const part_graph_t *g, const part_t *p,
                    uint8_t adj[ENV_MAX_AGENTS][ENV_MAX_AGENTS]) {
  for (int a = 0; a < p->n_agents; a++) {
    uint64_t ma = part_agent_mask(p, a);
    for (int b = 0; b < p->n_agents; b++) {
      uint64_t mb = part_agent_mask(p, b);
      adj[a][b] = 0;
      if (a == b) continue;
      for (int e = 0; e < g->n_edges; e++)
        if ((g->edges[e] & ma) && (g->edges[e] & mb)) adj[a][b] = 1;
    }
  }
}

void part_levels(const part_graph_t *g, const part_t *p, int agent, int k, int *level) {
  for (int n = 0; n < g->n_nodes; n++) level[n] = -1;
  uint64_t seen = part_agent_mask(p, agent), frontier = seen;
  for (int n = 0; n < g->n_nodes; n++)
    if (seen >> n & 1) level[n] = 0;
  for (int d = 1; d <= k && frontier; d++) {
    // Every node sharing a hyperedge with a frontier node, not seen before.
    uint64_t next = 0;
    for (int e = 0; e < g->n_edges; e++)
      if (g->edges[e] & frontier) next |= g->edges[e];
    next &= ~seen;
    for (int n = 0; n < g->n_nodes; n++)
      if (next >> n & 1) level[n] = d;
    seen |= next;
    frontier = next;
  }
}

int part_level_nodes(const part_graph_t *g, const int *level, int d, int *out) {
  int n_out = 0;
  for (int n = 0; n < g->n_nodes; n++)
    if (level[n] == d) out[n_out++] = n;
  // Insertion sort by label (levels are short; qsort would need a global comparator context).
  for (int i = 1; i < n_out; i++) {
    int v = out[i], j = i - 1;
    while (j >= 0 && strcmp(g->labels[out[j]], g->labels[v]) > 0) {
      out[j + 1] = out[j];
      j--;
    }
    out[j + 1] = v;
  }
  return n_out;
}
