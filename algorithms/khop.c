// khop: kappa-hop neighbourhoods and per-agent lane arithmetic (see khop.h).
#include "algorithms/khop.h"

#include <string.h>

#include "algorithms/actor_critic.h"

static int khop_linked(const khop_adj_t adj, int i, int j) {
  return i != j && (adj[i][j] || adj[j][i]);
}

void khop_distances(const khop_adj_t adj, int A, int src, int *dist) {
  int queue[ENV_MAX_AGENTS], head = 0, tail = 0;
  for (int j = 0; j < A; j++) dist[j] = -1;
  dist[src] = 0;
  queue[tail++] = src;
  while (head < tail) {
    int u = queue[head++];
    for (int v = 0; v < A; v++)
      if (dist[v] < 0 && khop_linked(adj, u, v)) {
        dist[v] = dist[u] + 1;
        queue[tail++] = v;
      }
  }
}

int khop_members(const khop_adj_t adj, int A, int i, int kappa, int *members) {
  int dist[ENV_MAX_AGENTS], n = 0;
  khop_distances(adj, A, i, dist);
  for (int j = 0; j < A; j++)
    if (dist[j] >= 0 && dist[j] <= kappa) members[n++] = j;
  return n;
}

void khop_scope(const khop_adj_t adj, int A, int kappa, khop_adj_t in) {
  memset(in, 0, sizeof(khop_adj_t));
  for (int i = 0; i < A; i++) {
    int dist[ENV_MAX_AGENTS];
    khop_distances(adj, A, i, dist);
    for (int j = 0; j < A; j++) in[i][j] = dist[j] >= 0 && dist[j] <= kappa;
  }
}

int khop_diameter(const khop_adj_t adj, int A) {
  int diameter = 0;
  for (int i = 0; i < A; i++) {
    int dist[ENV_MAX_AGENTS];
    khop_distances(adj, A, i, dist);
    for (int j = 0; j < A; j++)
      if (dist[j] > diameter) diameter = dist[j];
  }
  return diameter;
}

void khop_lane(const float *src, int rows, int A, int a, float *dst) {
  for (int n = 0; n < rows; n++) dst[n] = src[(size_t)n * A + a];
}

void khop_m_factor(const float *logp_new, const float *logp_old, int rows, const int *order, int h,
                   const uint8_t *in_scope, float *M) {
  for (int n = 0; n < rows; n++) M[n] = 1.0f;
  for (int g = 0; g < h; g++) {
    int j = order[g];
    if (in_scope[j]) ac_m_update(M, logp_new + (size_t)j * rows, logp_old + (size_t)j * rows, rows);
  }
}
