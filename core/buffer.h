// buffer: rollout storage for T steps of E env copies with A agents, and GAE for reward and cost.
// Layouts (row-major, documented per field): per-agent arrays are [T][E][A][...], team arrays
// [T][E]. Row T of obs/share_obs/values holds the state after the last step (the bootstrap row);
// buf_roll() copies it to row 0 before the next rollout.
// Time limits: done[t] marks that the episode ended after step t; truncated[t] that it ended by
// the time limit. With proper_time_limits the value of the final observation (boot_values[t]) is
// bootstrapped at a truncation; without it (the released MAPPO/MACPO behaviour, specs §1.4) a
// truncation is treated as a true terminal.
#ifndef SAFEMARL_BUFFER_H
#define SAFEMARL_BUFFER_H
#include <stdint.h>

typedef struct {
  int T, E, A;
  int obs_dim;     // per agent (max over agents; shorter observations are zero-padded)
  int share_dim;   // centralised state
  int act_dim;     // per agent (max over agents); discrete actions store the index in [0]
  float *obs;          // [T+1][E][A][obs_dim]
  float *share_obs;    // [T+1][E][share_dim]
  float *actions;      // [T][E][A][act_dim]
  float *logp;         // [T][E][A]
  float *rewards;      // [T][E][A]  team reward copied to every agent
  float *costs;        // [T][E][A]  per-agent cost (the team cost where the env has one)
  float *values;       // [T+1][E][A]  reward critic (de-normalised)
  float *cost_values;  // [T+1][E][A]  cost critic (de-normalised)
  float *boot_values;       // [T][E][A]  V(final obs) where truncated[t]
  float *boot_cost_values;  // [T][E][A]
  uint8_t *done;       // [T][E]
  uint8_t *truncated;  // [T][E]
  float *adv, *ret;            // [T][E][A]
  float *cost_adv, *cost_ret;  // [T][E][A]
  // The team cost (the one the constraint is written on: the env's team_cost, e.g. the sum of
  // the drones' costs) and its GAE against agent 0's cost values (team critics write the same
  // value to every agent), for algorithms with one team cost critic.
  float *team_costs;                  // [T][E]
  float *team_cost_values;            // [T+1][E] scratch: agent 0's cost values
  float *team_boot_cost_values;       // [T][E]   scratch
  float *team_cost_adv, *team_cost_ret;  // [T][E]
} buf_t;

int buf_create(buf_t *b, int T, int E, int A, int obs_dim, int share_dim, int act_dim);
void buf_destroy(buf_t *b);

// GAE over N independent lanes: rewards [T][N], values [T+1][N], boot [T][N] (may be NULL when
// proper_time_limits is 0), done/truncated indexed [T][N / lanes_per_flag] i.e. one flag shared
// by lanes_per_flag consecutive lanes (the A agents of one env copy).
//   next = done ? (truncated && proper ? boot : 0) : values[t+1]
//   delta_t = r_t + gamma*next - v_t;  A_t = delta_t + gamma*lam*(1-done_t)*A_{t+1};  R_t = A_t + v_t
void buf_gae(const float *rewards, const float *values, const float *boot, const uint8_t *done,
             const uint8_t *truncated, int T, int N, int lanes_per_flag, float gamma, float lam,
             int proper_time_limits, float *adv, float *ret);
// Both GAEs (reward and cost, per agent lane) for the whole buffer, and the team cost's GAE.
void buf_compute_advantages(buf_t *b, float gamma, float lam, float cost_gamma, float cost_lam,
                            int proper_time_limits);
// Copy the bootstrap row T to row 0 (obs, share_obs, values, cost_values).
void buf_roll(buf_t *b);
// Standardise x[n] in place: (x - mean)/(std + eps) (population std); centre only if !scale.
void buf_standardize(float *x, int n, int scale, float eps);
#endif
