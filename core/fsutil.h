// fsutil: file-system helpers every writer shares: atomic replace (write a temp file in the same
// directory, fsync, rename), recursive mkdir, whole-file read.
#ifndef SAFEMARL_FSUTIL_H
#define SAFEMARL_FSUTIL_H
#include <stddef.h>

// Replace `path` atomically with n bytes. Returns 0 or ERR_FAIL (message names the path).
int fs_write_atomic(const char *path, const void *data, size_t n);
// mkdir -p. Returns 0 or ERR_INPUT naming the path and the reason (unwritable, not a dir).
int fs_mkdir_p(const char *path);
// Read a whole file into a malloc'd, NUL-terminated buffer. Returns 0, or ERR_INPUT when the
// file is missing/unreadable (message names the path).
int fs_read_file(const char *path, char **data, size_t *n);
int fs_exists(const char *path);
// Truncate a file to n bytes (resume: drop rows written after the last checkpoint).
int fs_truncate(const char *path, long n);
#endif
