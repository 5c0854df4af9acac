// test_fsutil: atomic replace (content, no temp files left, old content kept on failure),
// mkdir -p (nested, idempotent, clear errors), whole-file read, exists and truncate.
// Failure cases that usually rely on permissions are built so they also fail for root: a path
// under a missing directory, a file where a directory is expected, a directory as the target,
// and a file-size limit (RLIMIT_FSIZE applies to root too) to make the write itself fail.
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "tests/check.h"

static char scratch[64];

static void path_in(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", scratch, name);
}

static int file_equals(const char *path, const char *want) {
  char *data = NULL;
  size_t n = 0;
  if (fs_read_file(path, &data, &n) != 0) return 0;
  int eq = n == strlen(want) && memcmp(data, want, n) == 0;
  free(data);
  return eq;
}

#define CHECK_ERR(rc, code, needle)                                                              \
  CHECK((rc) == (code) && strstr(err_message(), (needle)), "rc=%d message='%s' want '%s'", (rc), \
        err_message(), (needle))

static void test_write_read_round_trip(void) {
  char p[256];
  path_in(p, sizeof p, "a.txt");
  const char text[] = "hello\nworld\0binary";  // embedded NUL: n bytes, not strlen
  CHECK(fs_write_atomic(p, text, sizeof text) == 0, "%s", err_message());
  char *data = NULL;
  size_t n = 0;
  CHECK(fs_read_file(p, &data, &n) == 0, "%s", err_message());
  CHECK(n == sizeof text && data && memcmp(data, text, n) == 0, "read back %zu bytes", n);
  CHECK(data && data[n] == '\0', "buffer is NUL-terminated");
  free(data);
  // Replace: the new content, nothing of the old, and no temp file left behind.
  CHECK(fs_write_atomic(p, "new", 3) == 0, "%s", err_message());
  CHECK(file_equals(p, "new"), "replaced content");
  CHECK(check_count_temp_files(scratch) == 0, "no temp files after success");
  // Empty content makes an empty file.
  CHECK(fs_write_atomic(p, "", 0) == 0, "%s", err_message());
  CHECK(file_equals(p, ""), "empty file");
  // A large write (several stdio buffers) comes back intact.
  size_t big = 1 << 20;
  char *buf = malloc(big);
  for (size_t i = 0; i < big; i++) buf[i] = (char)(i * 131 + 7);
  CHECK(fs_write_atomic(p, buf, big) == 0, "%s", err_message());
  CHECK(fs_read_file(p, &data, &n) == 0 && n == big && memcmp(data, buf, big) == 0, "1 MiB");
  free(data);
  free(buf);
}

static void test_write_failures_leave_no_trace(void) {
  char p[256], dir[256];
  // Directory does not exist: the temp file cannot be created; message names the path.
  path_in(p, sizeof p, "missing/dir/x.txt");
  CHECK_ERR(fs_write_atomic(p, "x", 1), ERR_FAIL, p);
  CHECK(!fs_exists(p), "nothing created");
  // A file where a directory is expected.
  path_in(dir, sizeof dir, "plainfile");
  CHECK(fs_write_atomic(dir, "x", 1) == 0, "%s", err_message());
  path_in(p, sizeof p, "plainfile/x.txt");
  CHECK_ERR(fs_write_atomic(p, "x", 1), ERR_FAIL, "plainfile/x.txt");
  // Target is a directory: rename fails, the temp file is removed, the directory stays.
  path_in(dir, sizeof dir, "sub");
  CHECK(fs_mkdir_p(dir) == 0, "%s", err_message());
  path_in(p, sizeof p, "sub/target");
  CHECK(fs_mkdir_p(p) == 0, "%s", err_message());
  CHECK_ERR(fs_write_atomic(p, "x", 1), ERR_FAIL, "sub/target");
  struct stat st;
  CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "directory untouched");
  CHECK(check_count_temp_files(dir) == 0, "temp file removed after failed rename");
}

static void test_write_failure_keeps_old_content(void) {
  char p[256];
  path_in(p, sizeof p, "keep.txt");
  CHECK(fs_write_atomic(p, "old content", 11) == 0, "%s", err_message());
  // A 64-byte file-size limit makes the 4 KiB write fail with EFBIG, for root as well.
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 64;
  signal(SIGXFSZ, SIG_IGN);
  CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
  char big[4096];
  memset(big, 'z', sizeof big);
  int rc = fs_write_atomic(p, big, sizeof big);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, SIG_DFL);
  CHECK_ERR(rc, ERR_FAIL, "keep.txt");
  CHECK(file_equals(p, "old content"), "old content kept after a failed write");
  CHECK(check_count_temp_files(scratch) == 0, "temp file removed after failed write");
  // Unwritable directory via permissions: only meaningful when not root (root ignores them).
  if (geteuid() != 0) {
    char dir[256], q[256];
    path_in(dir, sizeof dir, "ro");
    CHECK(fs_mkdir_p(dir) == 0, "%s", err_message());
    path_in(q, sizeof q, "ro/f.txt");
    CHECK(fs_write_atomic(q, "old", 3) == 0, "%s", err_message());
    chmod(dir, 0500);
    CHECK_ERR(fs_write_atomic(q, "new", 3), ERR_FAIL, "ro/f.txt");
    chmod(dir, 0700);
    CHECK(file_equals(q, "old"), "old content kept in an unwritable directory");
  }
}

static void test_mkdir_p(void) {
  char p[256], q[256];
  path_in(p, sizeof p, "m/a/b/c");
  CHECK(fs_mkdir_p(p) == 0, "%s", err_message());
  struct stat st;
  CHECK(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "nested directories created");
  CHECK(fs_mkdir_p(p) == 0, "existing directory is fine: %s", err_message());
  path_in(q, sizeof q, "m//a/b/c/d/");
  CHECK(fs_mkdir_p(q) == 0, "repeated and trailing slashes: %s", err_message());
  CHECK(fs_exists(q), "created with trailing slash");
  // A file in the way: ERR_INPUT "<path>: cannot create directory: Not a directory ...".
  path_in(q, sizeof q, "m/file");
  CHECK(fs_write_atomic(q, "x", 1) == 0, "%s", err_message());
  path_in(p, sizeof p, "m/file/sub");
  int rc = fs_mkdir_p(p);
  CHECK_ERR(rc, ERR_INPUT, p);
  CHECK(strstr(err_message(), "cannot create directory: Not a directory"), "%s", err_message());
  CHECK_ERR(fs_mkdir_p(q), ERR_INPUT, "m/file: cannot create directory");
  CHECK_ERR(fs_mkdir_p(""), ERR_INPUT, "empty path");
}

static void test_read_exists_truncate(void) {
  char p[256];
  path_in(p, sizeof p, "nope.txt");
  char *data = (char *)1;
  CHECK_ERR(fs_read_file(p, &data, NULL), ERR_INPUT, p);
  CHECK(strstr(err_message(), "No such file"), "%s", err_message());
  CHECK(data == NULL, "output cleared on failure");
  CHECK(!fs_exists(p), "missing file does not exist");
  CHECK_ERR(fs_read_file(scratch, &data, NULL), ERR_INPUT, scratch);  // a directory
  path_in(p, sizeof p, "t.txt");
  CHECK(fs_write_atomic(p, "0123456789", 10) == 0, "%s", err_message());
  CHECK(fs_exists(p), "written file exists");
  CHECK(fs_truncate(p, 4) == 0, "%s", err_message());
  CHECK(file_equals(p, "0123"), "truncated to 4 bytes");
  CHECK(fs_truncate(p, 4) == 0, "truncate to the same size: %s", err_message());
  // Growing a file would pad it with zeros: refused, the file is untouched.
  CHECK_ERR(fs_truncate(p, 10), ERR_INPUT, "t.txt: has 4 bytes");
  CHECK(file_equals(p, "0123"), "unchanged after refused truncate");
  CHECK_ERR(fs_truncate(p, -1), ERR_INPUT, "t.txt");
  path_in(p, sizeof p, "nope.txt");
  CHECK_ERR(fs_truncate(p, 0), ERR_INPUT, "nope.txt");
}

int main(void) {
  snprintf(scratch, sizeof scratch, "/tmp/safemarl_fsutil_XXXXXX");
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  test_write_read_round_trip();
  test_write_failures_leave_no_trace();
  test_write_failure_keeps_old_content();
  test_mkdir_p();
  test_read_exists_truncate();
  check_rm_rf(scratch);
  return check_report("test_fsutil");
}
