// err: thread-local last error message (see err.h).
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"

static _Thread_local char err_buf[1024];

static void err_format(const char *fmt, va_list ap) {
  vsnprintf(err_buf, sizeof err_buf, fmt, ap);
}

int err_input(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  err_format(fmt, ap);
  va_end(ap);
  return ERR_INPUT;
}

int err_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  err_format(fmt, ap);
  va_end(ap);
  return ERR_FAIL;
}

const char *err_message(void) {
  return err_buf[0] ? err_buf : "unknown error";
}

void err_clear(void) {
  err_buf[0] = 0;
}

void *err_calloc_at(size_t n, size_t size, const char *file, int line) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) err_fail("out of memory allocating %zu x %zu bytes (%s:%d)", n, size, file, line);
  return p;
}
