// lp: the exact optimum of the gridworld CMDP (envs/gridworld.h), as an occupancy-measure linear
// program solved with GLPK, and the `safemarl lp` verb that prints it. Integration tests compare
// a trained policy's return and cost with this optimum.
#ifndef SAFEMARL_LP_H
#define SAFEMARL_LP_H

// Maximise the expected episodic return subject to expected episodic cost <= cost_limit over
// all (history-dependent, randomised) policies of the 50-step undiscounted gridworld.
// On success (return 0) *ret is the optimal return and *cost the smallest expected cost among
// the policies achieving it (the optimum is often not unique; this makes the cost well defined).
// Returns 1 when no policy meets the limit; then *min_cost (if not NULL) is the minimum
// achievable expected episodic cost. ERR_INPUT for a negative or NaN limit, ERR_FAIL when GLPK
// fails; err_message() says why.
int lp_gridworld_solve(double cost_limit, double *ret, double *cost, double *min_cost);

// The `lp` verb: argv[0] is the verb itself ("lp"), then
//   gridworld --cost-limit D [--frontier D1,D2,...] [--help]
// Prints `return=R cost=C` for --cost-limit and a CSV (cost_limit,return,cost) for --frontier.
// Returns the process exit code: 0 success, 1 solver failure, 2 bad input or infeasible limit.
int lp_main(int argc, char **argv);
#endif
