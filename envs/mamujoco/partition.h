// partition: which agent drives which actuator, and the MAMuJoCo joint graph behind the agent
// adjacency and the k-nearest-joint observation. Nodes are the agent-driven actuators in model
// order (node i = actuator i, labelled by the joint it drives); hyperedges are sets of nodes
// (MAMuJoCo obsk.py HyperEdge), stored as bitmasks. Knows nothing about MuJoCo.
// Two partitions of the same nominal groups (MAMuJoCo obsk.py `parts`):
//   released: agent a gets the contiguous actuator slice of its group's size, in actuator order,
//             which is what the Safe MAMuJoCo wrapper actually sends (envs-safe-mamujoco.md §1.4);
//   nominal:  agent a gets its group's joints, in the group's order (MAMuJoCo act_ids).
#ifndef SAFEMARL_PARTITION_H
#define SAFEMARL_PARTITION_H
#include <stdint.h>

#include "envs/env.h"

#define PART_MAX_NODES 64  // one bit per node in a hyperedge mask
#define PART_MAX_EDGES 64
#define PART_LABEL_MAX 24

typedef struct {
  int n_nodes;
  char labels[PART_MAX_NODES][PART_LABEL_MAX];
  int n_edges;
  uint64_t edges[PART_MAX_EDGES];
} part_graph_t;

typedef struct {
  int n_agents;
  int n_nodes[ENV_MAX_AGENTS];                   // action dimension of each agent
  int8_t nodes[ENV_MAX_AGENTS][PART_MAX_NODES];  // agent slot -> node (actuator index)
} part_t;

// Node index of a label, or -1.
int part_find(const part_graph_t *g, const char *label);
// Add a hyperedge given as comma-separated labels ("hip_1,ankle_1").
int part_add_edge(part_graph_t *g, const char *labels);
// Nominal partition from groups "a,b,c|d,e,f" (one '|'-separated group per agent).
int part_nominal(const part_graph_t *g, const char *groups, part_t *p);
// Contiguous slices of the given sizes (released); sizes must add up to the node count.
int part_released(const part_graph_t *g, int n_agents, const int *sizes, part_t *p);
// Every node driven by exactly one agent slot? Returns 0 when so.
int part_check(const part_graph_t *g, const part_t *p);
// adj[a][b] = 1 when a != b and some hyperedge holds a node of a and a node of b.
void part_adjacency(const part_graph_t *g, const part_t *p,
                    uint8_t adj[ENV_MAX_AGENTS][ENV_MAX_AGENTS]);
// MAMuJoCo get_joints_at_kdist: level[n] = graph distance (0..k) of node n from the agent's
// nodes, or -1 beyond k.
void part_levels(const part_graph_t *g, const part_t *p, int agent, int k, int *level);
// The nodes of one level sorted by label (MAMuJoCo sorts each level by label); returns count.
int part_level_nodes(const part_graph_t *g, const int *level, int d, int *out);
#endif
