// err: one error message per thread and the codes every function returns.
// Library code never prints or exits: it records `file:key: reason` with err_input/err_fail and
// returns the code up; `main` prints the message once and exits 2 (bad input) or 1 (failed run).
#ifndef SAFEMARL_ERR_H
#define SAFEMARL_ERR_H

enum { ERR_OK = 0, ERR_FAIL = -1, ERR_INPUT = -2 };

// Record a message caused by bad input (config, CLI, CSV, checkpoint); returns ERR_INPUT.
int err_input(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Record a message for a runtime failure (I/O, allocation, divergence); returns ERR_FAIL.
int err_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *err_message(void);
void err_clear(void);

// Allocation helpers that record "out of memory (file:line)" on failure.
void *err_calloc_at(size_t n, size_t size, const char *file, int line);
#define err_calloc(n, size) err_calloc_at((n), (size), __FILE__, __LINE__)

#endif
