// test_checkpoint: write/read round trip of sections (bit-exact values), the on-disk layout,
// atomic write (no temp files), and every reader error as ERR_INPUT naming the file: missing,
// foreign file, unsupported version, truncated, trailing bytes, checksum mismatch, wrong
// section tag, over-read and unread bytes (length mismatch) of a section.
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/rng.h"
#include "tests/check.h"

static char scratch[64];

static void path_in(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", scratch, name);
}

#define CHECK_ERR(rc, code, needle)                                                              \
  CHECK((rc) == (code) && strstr(err_message(), (needle)), "rc=%d message='%s' want '%s'", (rc), \
        err_message(), (needle))

// A checkpoint with two sections: ALGO (u64, f64, 5 floats) and ENVS (u64 + rng state).
static int write_sample(const char *path) {
  ckpt_t c;
  ckpt_init(&c);
  float w[5] = {0.5f, -1.25f, 3e-8f, 1e30f, -0.0f};
  rng_t r;
  rng_seed(&r, 42);
  int rc = ckpt_begin(&c, "ALGO");
  rc = rc ? rc : ckpt_put_u64(&c, 0xDEADBEEFCAFEF00Dull);
  rc = rc ? rc : ckpt_put_f64(&c, 1.0 / 3.0);
  rc = rc ? rc : ckpt_put(&c, w, sizeof w);
  rc = rc ? rc : ckpt_end(&c);
  rc = rc ? rc : ckpt_begin(&c, "ENVS");
  rc = rc ? rc : ckpt_put_u64(&c, 7);
  rc = rc ? rc : ckpt_put(&c, &r, sizeof r);
  rc = rc ? rc : ckpt_end(&c);
  rc = rc ? rc : ckpt_write_file(&c, path);
  ckpt_free(&c);
  return rc;
}

static unsigned char *slurp(const char *path, size_t *n) {
  char *data = NULL;
  if (fs_read_file(path, &data, n) != 0) return NULL;
  return (unsigned char *)data;
}

static void test_round_trip(void) {
  char p[256];
  path_in(p, sizeof p, "a.ckpt");
  CHECK(write_sample(p) == 0, "%s", err_message());
  CHECK(check_count_temp_files(scratch) == 0, "no temp files after write");
  // Layout: magic, version 1, reserved, payload length, payload, checksum of the payload.
  size_t n = 0;
  unsigned char *raw = slurp(p, &n);
  size_t payload = (4 + 8 + 8 + 8 + 20) + (4 + 8 + 8 + sizeof(rng_t));
  CHECK(raw && n == 24 + payload + 8, "file size %zu", n);
  if (raw && n == 24 + payload + 8) {
    uint32_t version;
    uint64_t len, sum;
    memcpy(&version, raw + 8, 4);
    memcpy(&len, raw + 16, 8);
    memcpy(&sum, raw + 24 + payload, 8);
    CHECK(!memcmp(raw, "SMRLCKPT", 8) && version == CKPT_VERSION && len == payload, "header");
    CHECK(sum == rng_hash_bytes(0xCBF29CE484222325ull, raw + 24, payload), "FNV-1a checksum");
  }
  free(raw);

  ckpt_t c;
  ckpt_init(&c);
  CHECK(ckpt_read_file(&c, p) == 0, "%s", err_message());
  size_t len = 0;
  uint64_t u = 0;
  double d = 0;
  float w[5];
  CHECK(ckpt_section(&c, "ALGO", &len) == 0 && len == 8 + 8 + 20, "ALGO len %zu", len);
  CHECK(ckpt_get_u64(&c, &u) == 0 && u == 0xDEADBEEFCAFEF00Dull, "u64");
  CHECK(ckpt_get_f64(&c, &d) == 0 && d == 1.0 / 3.0, "f64 bit-exact");
  CHECK(ckpt_get(&c, w, sizeof w) == 0, "%s", err_message());
  CHECK(w[0] == 0.5f && w[1] == -1.25f && w[2] == 3e-8f && w[3] == 1e30f && signbit(w[4]),
        "float array");
  CHECK(ckpt_section_done(&c, "ALGO") == 0, "%s", err_message());
  rng_t r, want;
  rng_seed(&want, 42);
  CHECK(ckpt_section(&c, "ENVS", NULL) == 0, "%s", err_message());
  CHECK(ckpt_get_u64(&c, &u) == 0 && u == 7, "u64 in ENVS");
  CHECK(ckpt_get(&c, &r, sizeof r) == 0 && !memcmp(&r, &want, sizeof r), "rng state");
  CHECK(ckpt_section_done(&c, "ENVS") == 0, "%s", err_message());
  // Past the last section: a clear message, not a crash.
  CHECK_ERR(ckpt_section(&c, "MORE", NULL), ERR_INPUT, "expected section 'MORE', found the end");
  ckpt_free(&c);

  // Rewriting the same content gives the same bytes (nothing time- or address-dependent).
  char q[256];
  path_in(q, sizeof q, "b.ckpt");
  CHECK(write_sample(q) == 0, "%s", err_message());
  size_t na = 0, nb = 0;
  unsigned char *a = slurp(p, &na), *b = slurp(q, &nb);
  CHECK(a && b && na == nb && !memcmp(a, b, na), "deterministic bytes");
  free(a);
  free(b);
}

// Write `bytes` to a file and expect ckpt_read_file to fail with a message containing `needle`.
static void expect_read_error(const char *name, const void *bytes, size_t n, const char *needle) {
  char p[256];
  path_in(p, sizeof p, name);
  fs_write_atomic(p, bytes, n);
  ckpt_t c;
  ckpt_init(&c);
  int rc = ckpt_read_file(&c, p);
  CHECK_ERR(rc, ERR_INPUT, needle);
  CHECK(strstr(err_message(), name), "message names the file: %s", err_message());
  CHECK(c.data == NULL, "no data kept after a failed read");
  ckpt_free(&c);
}

static void test_file_errors(void) {
  char p[256];
  path_in(p, sizeof p, "good.ckpt");
  CHECK(write_sample(p) == 0, "%s", err_message());
  size_t n = 0;
  unsigned char *good = slurp(p, &n);
  if (!good) return;
  unsigned char *bad = malloc(n + 16);

  ckpt_t c;
  ckpt_init(&c);
  path_in(p, sizeof p, "missing.ckpt");
  CHECK_ERR(ckpt_read_file(&c, p), ERR_INPUT, "missing.ckpt");
  ckpt_free(&c);

  expect_read_error("foreign.ckpt", "step,ret\n1,2\n", 13, "not a safemarl checkpoint");
  expect_read_error("tiny.ckpt", "SM", 2, "not a safemarl checkpoint");
  expect_read_error("hdr.ckpt", good, 20, "truncated");

  memcpy(bad, good, n);
  bad[8] = 2;  // version 2
  expect_read_error("v2.ckpt", bad, n, "unsupported version 2");

  expect_read_error("cut.ckpt", good, n - 5, "truncated");
  expect_read_error("cut2.ckpt", good, 30, "truncated");

  memcpy(bad, good, n);
  memset(bad + n, 0, 4);
  expect_read_error("trailing.ckpt", bad, n + 4, "unexpected bytes");

  memcpy(bad, good, n);
  bad[24 + 15] ^= 0x01;  // one bit of the f64 in ALGO
  expect_read_error("flip.ckpt", bad, n, "checksum mismatch");

  memcpy(bad, good, n);
  memset(bad + 16, 0xff, 8);  // absurd payload length must not overflow the size check
  expect_read_error("huge.ckpt", bad, n, "truncated");
  free(bad);
  free(good);
}

static void test_section_errors(void) {
  char p[256];
  path_in(p, sizeof p, "sec.ckpt");
  CHECK(write_sample(p) == 0, "%s", err_message());
  ckpt_t c;
  ckpt_init(&c);
  size_t len;
  uint64_t u;
  double d;
  // Wrong tag: names both the expected and the found tag, and the file.
  CHECK(ckpt_read_file(&c, p) == 0, "%s", err_message());
  CHECK_ERR(ckpt_section(&c, "ENVS", &len), ERR_INPUT, "expected section 'ENVS', found 'ALGO'");
  CHECK(strstr(err_message(), "sec.ckpt"), "%s", err_message());
  // Reading less than the section holds: length mismatch at section_done.
  CHECK(ckpt_section(&c, "ALGO", &len) == 0, "%s", err_message());
  CHECK(ckpt_get_u64(&c, &u) == 0, "%s", err_message());
  CHECK_ERR(ckpt_section_done(&c, "ALGO"), ERR_INPUT, "section 'ALGO' length mismatch");
  CHECK(strstr(err_message(), "sec.ckpt"), "%s", err_message());
  // Reading more than the section holds: truncated section, nothing copied past the end.
  CHECK(ckpt_read_file(&c, p) == 0, "%s", err_message());
  CHECK(ckpt_section(&c, "ALGO", &len) == 0, "%s", err_message());
  char big[64];
  CHECK_ERR(ckpt_get(&c, big, sizeof big), ERR_INPUT, "truncated section 'ALGO'");
  CHECK(ckpt_get_u64(&c, &u) == 0 && ckpt_get_f64(&c, &d) == 0, "reads still fit after refusal");
  ckpt_free(&c);
  // Writer misuse is reported, not silently accepted.
  ckpt_init(&c);
  CHECK(ckpt_put_u64(&c, 1) == ERR_FAIL, "put outside a section");
  CHECK(ckpt_begin(&c, "ALGO") == 0 && ckpt_begin(&c, "ENVS") == ERR_FAIL, "nested begin");
  CHECK(ckpt_write_file(&c, p) == ERR_FAIL, "write with an open section");
  ckpt_free(&c);
  // An empty checkpoint round-trips too.
  ckpt_init(&c);
  CHECK(ckpt_write_file(&c, p) == 0, "%s", err_message());
  CHECK(ckpt_read_file(&c, p) == 0 && c.len == 0, "%s", err_message());
  ckpt_free(&c);
  // Failed atomic write into a missing directory: ERR_FAIL naming the path.
  path_in(p, sizeof p, "nodir/x.ckpt");
  ckpt_init(&c);
  CHECK_ERR(ckpt_write_file(&c, p), ERR_FAIL, "nodir/x.ckpt");
  ckpt_free(&c);
}

int main(void) {
  snprintf(scratch, sizeof scratch, "/tmp/safemarl_ckpt_XXXXXX");
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  test_round_trip();
  test_file_errors();
  test_section_errors();
  check_rm_rf(scratch);
  return check_report("test_checkpoint");
}
