// khop: kappa-hop neighbourhoods on an agent graph (env_spec_t.adjacency) and the per-agent
// arithmetic of Scal-MAPPO-L that does not need the plugin's state, so tests reach it directly:
//   graph: hop distances (breadth-first), the members of N_i^kappa = {j : d(i,j) <= kappa}
//          (specs/algorithms.md §10), the scope mask, the graph diameter;
//   lanes: agent a's lane of a [rows][A] buffer array (buffer.h layouts);
//   M:     the sequential-update factor of one agent from the earlier agents of a scope.
// The adjacency is read as an undirected graph: i and j are neighbours when adj[i][j] or
// adj[j][i] is set; the diagonal is ignored (d(i,i) = 0 always). Knows nothing about envs.
#ifndef SAFEMARL_KHOP_H
#define SAFEMARL_KHOP_H
#include <stdint.h>

#include "envs/env.h"

typedef uint8_t khop_adj_t[ENV_MAX_AGENTS][ENV_MAX_AGENTS];

// dist[j] = hops from agent src to agent j (0 for src), or -1 when j is unreachable.
void khop_distances(const khop_adj_t adj, int A, int src, int *dist);
// The members of N_i^kappa (agent i included) in increasing index order; returns their count.
int khop_members(const khop_adj_t adj, int A, int i, int kappa, int *members);
// in[i][j] = 1 when d(i,j) <= kappa (rows and columns beyond A are zeroed).
void khop_scope(const khop_adj_t adj, int A, int kappa, khop_adj_t in);
// The largest finite hop distance between two agents (0 for a single agent).
int khop_diameter(const khop_adj_t adj, int A);
// dst[n] = src[n * A + a] for n < rows: agent a's lane of a [rows][A] array.
void khop_lane(const float *src, int rows, int A, int a, float *dst);
// The M factor of agent order[h] (specs §1.8, restricted to a scope): M = 1, then for
// g = 0..h-1 with in_scope[order[g]] set, M <- M * exp(logp_new - logp_old) of agent order[g]
// (ac_m_update, in update order, so with every agent in scope this is HAPPO's running product).
// logp_new, logp_old are [A][rows]; M is [rows].
void khop_m_factor(const float *logp_new, const float *logp_old, int rows, const int *order, int h,
                   const uint8_t *in_scope, float *M);
#endif
