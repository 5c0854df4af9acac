// fsutil: atomic replace, mkdir -p, whole-file read, truncate (see fsutil.h).
// Atomic replace follows the usual POSIX recipe: the temp file lives in the destination's own
// directory (rename is only atomic within one file system), its data is fsync'd before the
// rename, and the directory is fsync'd after it so the new name survives a power loss. Readers
// therefore see either the old file or the new one, never a mix. Messages name the path.
#include "core/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

#define FS_PATH_MAX 4096

// Directory part of `path` ("." when there is none), for the directory fsync.
static void fs_dirname(const char *path, char *dir, size_t n) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, n, ".");
  } else if (slash == path) {
    snprintf(dir, n, "/");
  } else {
    snprintf(dir, n, "%.*s", (int)(slash - path), path);
  }
}

int fs_write_atomic(const char *path, const void *data, size_t n) {
  // One fixed temp name per target: a process killed mid-write leaves at most one stale
  // "<path>.tmp", which the next write of the same file reuses. Each file has one writer.
  char tmp[FS_PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
    return err_fail("%s: cannot write: path too long", path);
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return err_fail("%s: cannot create temporary file: %s", path, strerror(errno));
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return err_fail("%s: cannot write: %s", path, strerror(e));
  }
  int ok = (n == 0 || fwrite(data, 1, n, f) == n) && fflush(f) == 0 && fsync(fileno(f)) == 0;
  int e = errno;
  if (fclose(f) != 0 && ok) {
    ok = 0;
    e = errno;
  }
  if (!ok) {
    unlink(tmp);
    return err_fail("%s: cannot write: %s", path, strerror(e));
  }
  if (rename(tmp, path) != 0) {
    e = errno;
    unlink(tmp);
    return err_fail("%s: cannot replace: %s", path, strerror(e));
  }
  // Make the rename itself durable. Failure here is not fatal: the data is already in place
  // for every reader, only a crash in the next seconds could lose the new name.
  char dir[FS_PATH_MAX];
  fs_dirname(path, dir, sizeof dir);
  int dfd = open(dir, O_RDONLY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

// Create one directory, accepting one that already exists.
static int fs_mkdir_one(const char *full, const char *prefix) {
  if (mkdir(prefix, 0777) == 0) return 0;
  int e = errno;
  struct stat st;
  if (e == EEXIST) {
    if (stat(prefix, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    return err_input("%s: cannot create directory: %s ('%s' exists and is not a directory)", full,
                     strerror(ENOTDIR), prefix);
  }
  if (strcmp(full, prefix) != 0) {
    return err_input("%s: cannot create directory: %s (at '%s')", full, strerror(e), prefix);
  }
  return err_input("%s: cannot create directory: %s", full, strerror(e));
}

int fs_mkdir_p(const char *path) {
  if (!path || !path[0]) return err_input("cannot create directory: empty path");
  char buf[FS_PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof buf) return err_input("%s: cannot create directory: path too long", path);
  memcpy(buf, path, len + 1);
  // Create each prefix in turn; leading and repeated slashes are skipped, not created.
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    if (buf[i - 1] == '/') continue;
    char saved = buf[i];
    buf[i] = '\0';
    int rc = fs_mkdir_one(path, buf);
    buf[i] = saved;
    if (rc) return rc;
  }
  return 0;
}

int fs_read_file(const char *path, char **data, size_t *n) {
  *data = NULL;
  if (n) *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return err_input("%s: cannot read: %s", path, strerror(errno));
  // Grow by doubling rather than trusting st_size, so pipes and /proc files work too.
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    return err_fail("%s: out of memory reading file", path);
  }
  for (;;) {
    if (cap - len < 2) {
      char *grown = realloc(buf, cap * 2);
      if (!grown) {
        free(buf);
        fclose(f);
        return err_fail("%s: out of memory reading file", path);
      }
      buf = grown;
      cap *= 2;
    }
    size_t got = fread(buf + len, 1, cap - len - 1, f);
    len += got;
    if (got == 0) break;
  }
  // A directory opens fine on Linux and fails here with EISDIR.
  int failed = ferror(f);
  int e = errno;
  fclose(f);
  if (failed) {
    free(buf);
    return err_input("%s: cannot read: %s", path, strerror(e));
  }
  buf[len] = '\0';
  *data = buf;
  if (n) *n = len;
  return 0;
}

int fs_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int fs_truncate(const char *path, long n) {
  if (n < 0) return err_input("%s: cannot truncate to %ld bytes", path, n);
  struct stat st;
  if (stat(path, &st) != 0) return err_input("%s: cannot truncate: %s", path, strerror(errno));
  // truncate() would silently extend a short file with zeros; for resume that means the file
  // lost rows the checkpoint relies on, which must be reported rather than padded over.
  if ((long long)st.st_size < (long long)n) {
    return err_input("%s: has %lld bytes, expected at least %ld", path, (long long)st.st_size, n);
  }
  if (truncate(path, (off_t)n) != 0) {
    return err_fail("%s: cannot truncate to %ld bytes: %s", path, n, strerror(errno));
  }
  return 0;
}
