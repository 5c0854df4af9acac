// stats: order statistics and across-seed summaries used by report, plot and regress (no I/O).
// Quantiles interpolate linearly between order statistics (Hyndman & Fan type 7, numpy's
// default): q(p) = x[floor(h)] + (h - floor(h)) (x[floor(h)+1] - x[floor(h)]), h = (n-1) p.
// IQM and its interval follow rliable (google-research/rliable: metrics.py, library.py): the
// IQM is the 25% trimmed mean (scipy trim_mean: floor(n/4) values cut from each end); intervals
// are percentile bootstrap intervals whose resamples draw runs with replacement within one cell
// (rliable's stratified bootstrap with one task per cell). P(X > Y) is the Mann-Whitney U
// statistic / (n_x n_y), ties counting 1/2, with an independent bootstrap of X and Y (rliable's
// StratifiedIndependentBootstrap). rliable's default is 50,000 resamples; we use
// STATS_BOOT_REPS = 10,000: with the few seeds of a cell the bootstrap distribution has few
// distinct values, and the endpoints' Monte Carlo error is already far below their spacing.
#ifndef SAFEMARL_STATS_H
#define SAFEMARL_STATS_H
#include <stdint.h>

#define STATS_BOOT_REPS 10000
#define STATS_CI_LEVEL 0.95
// Fixed base seed of every bootstrap; each interval derives its own stream from this seed and
// a key naming what it summarises, so a cell's interval does not depend on the other cells.
#define STATS_BOOT_SEED 0x5afe3a21ull

// Sorts x in place (ascending) and returns the p-quantile; NaN for n == 0.
double stats_quantile(double *x, int n, double p);
double stats_mean(const double *x, int n);
// Interquartile mean: sorts x in place, drops floor(n/4) values at each end, returns the mean
// of the rest (n = 1..3: the plain mean). NaN for n == 0.
double stats_iqm(double *x, int n);
// Final / initial value of a learning curve: mean of the last / first ceil(10%) of the rows'
// values (DESIGN.md §4), NaN rows (updates in which no episode ended) skipped; NaN when none
// of them is finite.
double stats_final_mean(const double *curve, int n);
double stats_initial_mean(const double *curve, int n);

// Trailing moving average over `window` rows, NaN rows skipped: out[i] = mean of the finite
// values among curve[max(0, i-window+1) .. i], NaN when there is none.
void stats_moving_average(const double *curve, int n, int window, double *out);

// Sample efficiency of one run: the first x (env steps) at which the smoothed curve has covered
// 80% of the way from the initial to the final value, target = initial + 0.8 (final - initial),
// with initial/final as stats_initial_mean/stats_final_mean. The smoothing is the trailing
// moving average over w = ceil(n/10) updates (the final value's own window, so the last
// smoothed point equals the final value and the target is always reached when final != initial).
// Sign-safe: "reached" means smoothed >= target when final >= initial and smoothed <= target
// when the curve goes down; negative values need no special case. Returns NaN for n == 0 or a
// curve without finite values. Uses a scratch array of n doubles (caller's).
double stats_sample_efficiency(const double *x, const double *curve, int n, double *scratch);

// Linear interpolation of the curve (x ascending) at xq; NaN outside [x[0], x[n-1]].
double stats_interp(const double *x, const double *y, int n, double xq);

// P(X > Y) over all pairs (x_i, y_j): (#{x_i > y_j} + #{x_i == y_j} / 2) / (nx ny).
double stats_prob_improvement(const double *x, int nx, const double *y, int ny);

// A statistic of a sample that may reorder the sample (stats_iqm, stats_median...).
typedef double (*stats_fn_t)(double *x, int n);
double stats_median(double *x, int n);

// Percentile bootstrap interval at `level` of stat over `reps` resamples of x (n values drawn
// with replacement), generator rng_stream(STATS_BOOT_SEED, "bootstrap", key). A sample of
// identical values gives lo == hi exactly. n == 0 gives NaN. Returns 0 or ERR_FAIL (memory).
int stats_bootstrap_ci(const double *x, int n, stats_fn_t stat, int reps, double level,
                       uint64_t key, double *lo, double *hi);
// The same for P(X > Y), resampling X and Y independently.
int stats_bootstrap_pi_ci(const double *x, int nx, const double *y, int ny, int reps, double level,
                          uint64_t key, double *lo, double *hi);
#endif
