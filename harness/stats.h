// stats: order statistics and summaries used by report (no I/O).
// Quantiles interpolate linearly between order statistics (Hyndman & Fan type 7, numpy's
// default): q(p) = x[floor(h)] + (h - floor(h)) (x[floor(h)+1] - x[floor(h)]), h = (n-1) p.
#ifndef SAFEMARL_STATS_H
#define SAFEMARL_STATS_H

// Sorts x in place (ascending) and returns the p-quantile; NaN for n == 0.
double stats_quantile(double *x, int n, double p);
double stats_mean(const double *x, int n);
// Final value of a learning curve: mean of the last ceil(10%) of the rows' values, NaN rows
// (updates in which no episode ended) skipped; NaN when none is finite.
double stats_final_mean(const double *curve, int n);
#endif
