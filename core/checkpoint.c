// checkpoint: the section container of checkpoint.h, written with fs_write_atomic.
// In memory a ckpt_t holds only the payload (the sections); the 24-byte header and the 8-byte
// checksum trailer are added on write and checked and stripped on read. Both writer and reader
// use section_start = offset of the open section's u64 length field (SIZE_MAX when none), so
// the tag sits just before it and the section's bytes just after it.
// Every reader error is ERR_INPUT naming the file, because a bad checkpoint is bad input to a
// resume; writer misuse (put outside a section, unbalanced begin/end) is a bug, hence ERR_FAIL.
#include "core/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "core/rng.h"

#define CKPT_MAGIC "SMRLCKPT"
#define CKPT_HEADER_BYTES 24  // magic[8] | u32 version | u32 reserved | u64 payload length
#define CKPT_TRAILER_BYTES 8  // u64 FNV-1a of the payload
#define CKPT_NO_SECTION ((size_t)-1)
#define FNV_OFFSET 0xCBF29CE484222325ull

// A tag for messages: the 4 bytes when printable, '?' otherwise (a foreign file could hold any).
static void tag_text(const void *tag, char out[5]) {
  const unsigned char *b = tag;
  for (int i = 0; i < 4; i++) out[i] = (b[i] >= 32 && b[i] < 127) ? (char)b[i] : '?';
  out[4] = '\0';
}

static const char *ckpt_name(const ckpt_t *c) {
  return c->path[0] ? c->path : "checkpoint";
}

void ckpt_init(ckpt_t *c) {
  memset(c, 0, sizeof *c);
  c->section_start = CKPT_NO_SECTION;
}

void ckpt_free(ckpt_t *c) {
  free(c->data);
  ckpt_init(c);
}

// ---- writer ------------------------------------------------------------------------------

static int ckpt_reserve(ckpt_t *c, size_t n) {
  if (c->len + n <= c->cap) return 0;
  size_t cap = c->cap ? c->cap : 4096;
  while (cap < c->len + n) cap *= 2;
  uint8_t *grown = realloc(c->data, cap);
  if (!grown) return err_fail("out of memory building a checkpoint (%zu bytes)", cap);
  c->data = grown;
  c->cap = cap;
  return 0;
}

static int ckpt_append(ckpt_t *c, const void *p, size_t n) {
  int rc = ckpt_reserve(c, n);
  if (rc) return rc;
  if (n) memcpy(c->data + c->len, p, n);
  c->len += n;
  return 0;
}

int ckpt_begin(ckpt_t *c, const char tag[4]) {
  char t[5];
  tag_text(tag, t);
  if (c->section_start != CKPT_NO_SECTION) {
    return err_fail("checkpoint: section '%s' begun inside another section", t);
  }
  uint64_t placeholder = 0;
  int rc = ckpt_append(c, tag, 4);
  if (!rc) rc = ckpt_append(c, &placeholder, sizeof placeholder);
  if (!rc) c->section_start = c->len - sizeof placeholder;
  return rc;
}

int ckpt_put(ckpt_t *c, const void *p, size_t n) {
  if (c->section_start == CKPT_NO_SECTION) return err_fail("checkpoint: data outside a section");
  return ckpt_append(c, p, n);
}

int ckpt_put_u64(ckpt_t *c, uint64_t v) {
  return ckpt_put(c, &v, sizeof v);
}

int ckpt_put_f64(ckpt_t *c, double v) {
  return ckpt_put(c, &v, sizeof v);
}

int ckpt_end(ckpt_t *c) {
  if (c->section_start == CKPT_NO_SECTION) return err_fail("checkpoint: end without a section");
  uint64_t n = c->len - (c->section_start + sizeof n);
  memcpy(c->data + c->section_start, &n, sizeof n);
  c->section_start = CKPT_NO_SECTION;
  return 0;
}

int ckpt_write_file(const ckpt_t *c, const char *path) {
  if (c->section_start != CKPT_NO_SECTION) {
    return err_fail("%s: checkpoint written with a section still open", path);
  }
  size_t total = CKPT_HEADER_BYTES + c->len + CKPT_TRAILER_BYTES;
  uint8_t *buf = malloc(total);
  if (!buf) return err_fail("%s: out of memory writing checkpoint (%zu bytes)", path, total);
  uint32_t version = CKPT_VERSION, reserved = 0;
  uint64_t len = c->len;
  uint64_t sum = rng_hash_bytes(FNV_OFFSET, c->data, c->len);
  memcpy(buf, CKPT_MAGIC, 8);
  memcpy(buf + 8, &version, 4);
  memcpy(buf + 12, &reserved, 4);
  memcpy(buf + 16, &len, 8);
  if (c->len) memcpy(buf + CKPT_HEADER_BYTES, c->data, c->len);
  memcpy(buf + CKPT_HEADER_BYTES + c->len, &sum, 8);
  int rc = fs_write_atomic(path, buf, total);
  free(buf);
  return rc;
}

// ---- reader ------------------------------------------------------------------------------

// Validate the container and return the offset/length of the payload inside `file`.
static int ckpt_validate(const char *path, const uint8_t *file, size_t n, size_t *payload_len) {
  if (n < 8 || memcmp(file, CKPT_MAGIC, 8) != 0) {
    return err_input("%s: not a safemarl checkpoint", path);
  }
  if (n < CKPT_HEADER_BYTES) {
    return err_input("%s: truncated: %zu bytes, shorter than the %d-byte header", path, n,
                     CKPT_HEADER_BYTES);
  }
  uint32_t version;
  uint64_t len;
  memcpy(&version, file + 8, 4);
  memcpy(&len, file + 16, 8);
  if (version != CKPT_VERSION) {
    return err_input("%s: unsupported version %u (this build reads version %d)", path,
                     (unsigned)version, CKPT_VERSION);
  }
  // Compare without forming header + len + trailer, which a corrupt len could overflow.
  size_t room = n - CKPT_HEADER_BYTES;
  if (room < CKPT_TRAILER_BYTES || len > room - CKPT_TRAILER_BYTES) {
    return err_input("%s: truncated: header says %llu payload bytes, file holds %zu", path,
                     (unsigned long long)len,
                     room < CKPT_TRAILER_BYTES ? 0 : room - CKPT_TRAILER_BYTES);
  }
  if (len < room - CKPT_TRAILER_BYTES) {
    return err_input("%s: corrupt: %zu unexpected bytes after the checksum", path,
                     (size_t)(room - CKPT_TRAILER_BYTES - len));
  }
  uint64_t stored, actual = rng_hash_bytes(FNV_OFFSET, file + CKPT_HEADER_BYTES, (size_t)len);
  memcpy(&stored, file + CKPT_HEADER_BYTES + len, 8);
  if (stored != actual) return err_input("%s: checksum mismatch (file is corrupt)", path);
  *payload_len = (size_t)len;
  return 0;
}

int ckpt_read_file(ckpt_t *c, const char *path) {
  ckpt_free(c);
  snprintf(c->path, sizeof c->path, "%s", path);
  char *file = NULL;
  size_t n = 0;
  int rc = fs_read_file(path, &file, &n);
  if (rc) return rc;
  size_t len = 0;
  rc = ckpt_validate(path, (const uint8_t *)file, n, &len);
  if (rc) {
    free(file);
    return rc;
  }
  // Keep the file buffer and slide the payload to its start: no second allocation.
  memmove(file, file + CKPT_HEADER_BYTES, len);
  c->data = (uint8_t *)file;
  c->len = len;
  c->cap = n;
  c->pos = 0;
  return 0;
}

// End offset of the open section.
static size_t ckpt_section_end(const ckpt_t *c) {
  uint64_t n;
  memcpy(&n, c->data + c->section_start, sizeof n);
  return c->section_start + sizeof n + (size_t)n;
}

int ckpt_section(ckpt_t *c, const char tag[4], size_t *len) {
  char want[5], found[5];
  tag_text(tag, want);
  if (c->section_start != CKPT_NO_SECTION) {
    tag_text(c->data + c->section_start - 4, found);
    return err_fail("%s: section '%s' entered before section '%s' was finished", ckpt_name(c), want,
                    found);
  }
  if (c->len - c->pos < 12) {
    return err_input("%s: expected section '%s', found the end of the checkpoint", ckpt_name(c),
                     want);
  }
  if (memcmp(c->data + c->pos, tag, 4) != 0) {
    tag_text(c->data + c->pos, found);
    return err_input("%s: expected section '%s', found '%s'", ckpt_name(c), want, found);
  }
  uint64_t n;
  memcpy(&n, c->data + c->pos + 4, sizeof n);
  if (n > c->len - c->pos - 12) {
    return err_input("%s: section '%s' truncated: says %llu bytes, %zu remain", ckpt_name(c), want,
                     (unsigned long long)n, c->len - c->pos - 12);
  }
  c->section_start = c->pos + 4;
  c->pos += 12;
  if (len) *len = (size_t)n;
  return 0;
}

int ckpt_get(ckpt_t *c, void *p, size_t n) {
  if (c->section_start == CKPT_NO_SECTION) {
    return err_fail("%s: read outside a section", ckpt_name(c));
  }
  size_t end = ckpt_section_end(c);
  if (n > end - c->pos) {
    char t[5];
    tag_text(c->data + c->section_start - 4, t);
    return err_input("%s: truncated section '%s': wanted %zu more bytes, %zu left", ckpt_name(c), t,
                     n, end - c->pos);
  }
  if (n) memcpy(p, c->data + c->pos, n);
  c->pos += n;
  return 0;
}

int ckpt_get_u64(ckpt_t *c, uint64_t *v) {
  return ckpt_get(c, v, sizeof *v);
}

int ckpt_get_f64(ckpt_t *c, double *v) {
  return ckpt_get(c, v, sizeof *v);
}

int ckpt_section_done(ckpt_t *c, const char tag[4]) {
  char want[5], open[5];
  tag_text(tag, want);
  if (c->section_start == CKPT_NO_SECTION) {
    return err_fail("%s: section '%s' finished but not entered", ckpt_name(c), want);
  }
  tag_text(c->data + c->section_start - 4, open);
  if (memcmp(c->data + c->section_start - 4, tag, 4) != 0) {
    return err_fail("%s: section '%s' finished while '%s' is open", ckpt_name(c), want, open);
  }
  // A section longer than what this build reads means the writer stored state we would
  // silently ignore (e.g. a different network size): refuse rather than resume inexactly.
  size_t end = ckpt_section_end(c);
  if (c->pos != end) {
    size_t start = c->section_start + 8;
    return err_input("%s: section '%s' length mismatch: %zu bytes stored, %zu read", ckpt_name(c),
                     want, end - start, c->pos - start);
  }
  c->section_start = CKPT_NO_SECTION;
  return 0;
}
