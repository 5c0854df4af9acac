// check: implementation of the test helpers in check.h.
#include <math.h>
#include <stdio.h>

#include "tests/check.h"

int check_failures = 0;

int check_near_at(double a, double b, double tol, const char *what, const char *file, int line) {
  if (!(fabs(a - b) <= tol)) {
    fprintf(stderr, "%s:%d: %s: got %.9g, want %.9g (tol %.3g)\n", file, line, what, a, b, tol);
    check_failures++;
    return 0;
  }
  return 1;
}

int check_close_at(double a, double b, double rtol, double atol, const char *what, const char *file,
                   int line) {
  double scale = fmax(fabs(a), fabs(b));
  if (!(fabs(a - b) <= atol + rtol * scale)) {
    fprintf(stderr, "%s:%d: %s: got %.9g, want %.9g (rtol %.3g atol %.3g)\n", file, line, what, a, b,
            rtol, atol);
    check_failures++;
    return 0;
  }
  return 1;
}

int check_report(const char *test_name) {
  if (check_failures) {
    fprintf(stderr, "%s: %d check(s) failed\n", test_name, check_failures);
    return 1;
  }
  printf("%s: all checks passed\n", test_name);
  return 0;
}
