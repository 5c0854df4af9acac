// check: implementation of the test helpers in check.h.
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

void check_rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char sub[1024];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      check_rm_rf(sub);
    }
    if (d) closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

int check_count_temp_files(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    n += len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0;
  }
  if (d) closedir(d);
  return n;
}
