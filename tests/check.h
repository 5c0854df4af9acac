// check: tiny test helpers in the llm.c manner. Each failed check prints file:line and what
// differed, and the test's exit code is the number of failures (0 = pass).
#ifndef SAFEMARL_CHECK_H
#define SAFEMARL_CHECK_H
#include <stdio.h>

extern int check_failures;

#define CHECK(cond, ...)                                           \
  do {                                                             \
    if (!(cond)) {                                                 \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                \
      fputc('\n', stderr);                                         \
      check_failures++;                                            \
    }                                                              \
  } while (0)

// |a - b| <= tol, printed with the name of what was compared.
#define CHECK_NEAR(a, b, tol, what) check_near_at((double)(a), (double)(b), (double)(tol), what, __FILE__, __LINE__)
int check_near_at(double a, double b, double tol, const char *what, const char *file, int line);

// Relative check for gradients: |a-b| <= atol + rtol*max(|a|,|b|).
#define CHECK_CLOSE(a, b, rtol, atol, what) \
  check_close_at((double)(a), (double)(b), (double)(rtol), (double)(atol), what, __FILE__, __LINE__)
int check_close_at(double a, double b, double rtol, double atol, const char *what, const char *file, int line);

// File helpers for tests that write into a scratch directory.
void check_rm_rf(const char *path);
// Entries of `dir` named "*.tmp": the temp files fs_write_atomic leaves only when interrupted.
int check_count_temp_files(const char *dir);

// Print a summary line and return the exit code for main().
int check_report(const char *test_name);
#endif
