// csvlog: append-only numeric logs, whole tables, and the libcsv reader (see csvlog.h).
// Writers print numbers with "%.10g" themselves (csv_fwrite always quotes, toolchain.md §5) and
// quote a text field only when it would not survive a read otherwise: it contains , " CR or LF,
// or it starts/ends with a space or tab, which libcsv trims from unquoted fields. The reader runs
// libcsv in strict mode, copies every field to a NUL-terminated string (libcsv's are not), and
// calls csv_fini so a last row without a newline is still delivered. Rows are numbered from 1
// after the header in every message, the same way csvlog_cell_double counts them.
#include "core/csvlog.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/fsutil.h"

// ---- growable text buffer ----------------------------------------------------------------

typedef struct {
  char *s;
  size_t len, cap;
} strbuf_t;

static int sb_append(strbuf_t *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->len + n + 1 > cap) cap *= 2;
    char *grown = realloc(b->s, cap);
    if (!grown) return err_fail("out of memory building CSV text");
    b->s = grown;
    b->cap = cap;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
  return 0;
}

static int sb_puts(strbuf_t *b, const char *s) {
  return sb_append(b, s, strlen(s));
}

// ---- writing -----------------------------------------------------------------------------

static int csv_needs_quotes(const char *s) {
  size_t n = strlen(s);
  if (n == 0) return 0;
  if (strpbrk(s, ",\"\r\n")) return 1;
  return s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t';
}

// One text field, quoted (inner quotes doubled, RFC 4180) only when needed.
static int csv_append_field(strbuf_t *b, const char *s) {
  if (!s) s = "";
  if (!csv_needs_quotes(s)) return sb_puts(b, s);
  int rc = sb_append(b, "\"", 1);
  for (const char *p = s; !rc && *p; p++) {
    rc = *p == '"' ? sb_append(b, "\"\"", 2) : sb_append(b, p, 1);
  }
  return rc ? rc : sb_append(b, "\"", 1);
}

static int csv_append_line(strbuf_t *b, const char *const *fields, int n) {
  for (int i = 0; i < n; i++) {
    int rc = (i ? sb_append(b, ",", 1) : 0);
    if (!rc) rc = csv_append_field(b, fields[i]);
    if (rc) return rc;
  }
  return sb_append(b, "\n", 1);
}

void csvlog_format_double(double v, char *buf, int n) {
  if (n <= 0) return;
  if (isnan(v)) {
    // printf would give "-nan" for some NaNs; one spelling keeps files byte-identical.
    snprintf(buf, (size_t)n, "nan");
  } else {
    snprintf(buf, (size_t)n, "%.10g", v);
  }
}

// Check that an existing log can be resumed at keep_bytes: its first line is our header and
// keep_bytes ends a row. Nothing is modified, so a refused resume leaves the file intact.
static int csvlog_check_resume(const char *path, const strbuf_t *hdr, long keep_bytes) {
  FILE *f = fopen(path, "rb");
  if (!f) return err_input("%s: cannot resume: %s", path, strerror(errno));
  int rc = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t got = getline(&line, &cap, f);
  if (got <= 0) {
    rc = err_input("%s: cannot resume: file has no header", path);
  } else if ((size_t)got != hdr->len || memcmp(line, hdr->s, hdr->len) != 0) {
    if (line[got - 1] == '\n') line[got - 1] = '\0';
    rc = err_input("%s: header does not match this run: expected '%.*s', found '%s'", path,
                   (int)hdr->len - 1, hdr->s, line);
  } else if (keep_bytes < (long)hdr->len) {
    rc = err_input("%s: cannot resume at byte %ld: inside the header", path, keep_bytes);
  } else if (fseek(f, keep_bytes - 1, SEEK_SET) != 0) {
    rc = err_input("%s: cannot resume at byte %ld: %s", path, keep_bytes, strerror(errno));
  } else {
    int c = fgetc(f);
    if (c == EOF) {
      rc = err_input("%s: has fewer than %ld bytes (the checkpoint's log size)", path, keep_bytes);
    } else if (c != '\n') {
      rc = err_input("%s: cannot resume at byte %ld: not the end of a row", path, keep_bytes);
    }
  }
  free(line);
  fclose(f);
  return rc;
}

int csvlog_open(csvlog_t *w, const char *path, const char *const *cols, int ncols,
                long keep_bytes) {
  memset(w, 0, sizeof *w);
  if (ncols <= 0) return err_fail("%s: csvlog_open needs at least one column", path);
  if (snprintf(w->path, sizeof w->path, "%s", path) >= (int)sizeof w->path) {
    return err_fail("%s: path too long", path);
  }
  strbuf_t hdr = {0};
  int rc = csv_append_line(&hdr, cols, ncols);
  if (!rc && keep_bytes >= 0) {
    // Resume: the rows after keep_bytes were written after the last checkpoint and will be
    // produced again, so they are dropped; keep_bytes == 0 means not even the header survived.
    if (keep_bytes > 0) rc = csvlog_check_resume(path, &hdr, keep_bytes);
    if (!rc) rc = fs_truncate(path, keep_bytes);
  }
  if (!rc) {
    w->f = fopen(path, keep_bytes >= 0 ? "a" : "w");
    if (!w->f) rc = err_fail("%s: cannot open for writing: %s", path, strerror(errno));
  }
  // ftell on a fresh append stream is not the file size everywhere; position explicitly.
  if (!rc && fseek(w->f, 0, SEEK_END) != 0) {
    rc = err_fail("%s: cannot seek: %s", path, strerror(errno));
  }
  if (!rc && ftell(w->f) == 0) {
    if (fwrite(hdr.s, 1, hdr.len, w->f) != hdr.len || fflush(w->f) != 0) {
      rc = err_fail("%s: cannot write header: %s", path, strerror(errno));
    }
  }
  free(hdr.s);
  if (rc) {
    if (w->f) fclose(w->f);
    w->f = NULL;
    return rc;
  }
  w->ncols = ncols;
  return 0;
}

int csvlog_row(csvlog_t *w, const double *vals) {
  if (!w->f) return err_fail("%s: log is not open", w->path);
  char num[64];
  for (int i = 0; i < w->ncols; i++) {
    csvlog_format_double(vals[i], num, (int)sizeof num);
    if (i) fputc(',', w->f);
    fputs(num, w->f);
  }
  fputc('\n', w->f);
  // Flushing every row means a killed run leaves only whole rows behind (up to the last one).
  if (fflush(w->f) != 0 || ferror(w->f)) {
    return err_fail("%s: cannot write row: %s", w->path, strerror(errno));
  }
  return 0;
}

long csvlog_size(csvlog_t *w) {
  if (!w->f || fflush(w->f) != 0) return -1;
  return ftell(w->f);
}

int csvlog_close(csvlog_t *w) {
  if (!w->f) return 0;
  int rc = fclose(w->f);
  w->f = NULL;
  if (rc != 0) return err_fail("%s: cannot close: %s", w->path, strerror(errno));
  return 0;
}

// ---- tables ------------------------------------------------------------------------------

static char *str_copy(const char *s, size_t n) {
  char *c = malloc(n + 1);
  if (!c) return NULL;
  if (n) memcpy(c, s, n);
  c[n] = '\0';
  return c;
}

// Make room for row index t->nrows. Capacity is implicit: it doubles whenever nrows reaches a
// power of two, so the table struct needs no capacity field.
static int table_reserve_row(csv_table_t *t) {
  int n = t->nrows;
  if (n != 0 && (n & (n - 1)) != 0) return 0;
  size_t rows = n ? 2 * (size_t)n : 1;
  char **grown = realloc(t->cells, rows * (size_t)t->ncols * sizeof *grown);
  if (!grown) return err_fail("out of memory growing a CSV table to %zu rows", rows);
  t->cells = grown;
  return 0;
}

void csvlog_table_free(csv_table_t *t) {
  if (t->cols) {
    for (int j = 0; j < t->ncols; j++) free(t->cols[j]);
  }
  if (t->cells) {
    for (long i = 0; i < (long)t->nrows * t->ncols; i++) free(t->cells[i]);
  }
  free(t->cols);
  free(t->cells);
  memset(t, 0, sizeof *t);
}

int csvlog_table_init(csv_table_t *t, const char *const *cols, int ncols) {
  memset(t, 0, sizeof *t);
  if (ncols <= 0) return err_fail("CSV table needs at least one column");
  t->cols = calloc((size_t)ncols, sizeof *t->cols);
  if (!t->cols) return err_fail("out of memory creating a CSV table");
  t->ncols = ncols;
  for (int j = 0; j < ncols; j++) {
    const char *c = cols[j] ? cols[j] : "";
    t->cols[j] = str_copy(c, strlen(c));
    if (!t->cols[j]) {
      csvlog_table_free(t);
      return err_fail("out of memory creating a CSV table");
    }
  }
  return 0;
}

int csvlog_table_add_row(csv_table_t *t, const char *const *cells) {
  int rc = table_reserve_row(t);
  if (rc) return rc;
  char **row = t->cells + (size_t)t->nrows * t->ncols;
  for (int j = 0; j < t->ncols; j++) {
    const char *c = cells[j] ? cells[j] : "";
    row[j] = str_copy(c, strlen(c));
    if (!row[j]) {
      while (j-- > 0) free(row[j]);
      return err_fail("out of memory adding a CSV row");
    }
  }
  t->nrows++;
  return 0;
}

int csvlog_col(const csv_table_t *t, const char *name) {
  for (int j = 0; j < t->ncols; j++) {
    if (strcmp(t->cols[j], name) == 0) return j;
  }
  return -1;
}

const char *csvlog_cell(const csv_table_t *t, int row, int col) {
  if (row < 0 || row >= t->nrows || col < 0 || col >= t->ncols) return NULL;
  return t->cells[(size_t)row * t->ncols + col];
}

int csvlog_cell_double(const csv_table_t *t, const char *path, int row, int col, double *out) {
  const char *s = csvlog_cell(t, row, col);
  if (!s) return err_input("%s: row %d, column %d: no such cell", path, row + 1, col + 1);
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  // Full-string match: "1.5x" or "" is an error, not 1.5 or 0. Overflow to inf is refused;
  // underflow to a denormal or zero is a value we can represent, so it is accepted.
  if (s[0] == '\0' || *end != '\0' || (errno == ERANGE && isinf(v))) {
    return err_input("%s: row %d, column '%s': expected a number, got '%s'", path, row + 1,
                     t->cols[col], s);
  }
  *out = v;
  return 0;
}

int csvlog_write_table(const char *path, const csv_table_t *t) {
  strbuf_t b = {0};
  int rc = csv_append_line(&b, (const char *const *)t->cols, t->ncols);
  for (int i = 0; !rc && i < t->nrows; i++) {
    rc = csv_append_line(&b, (const char *const *)(t->cells + (size_t)i * t->ncols), t->ncols);
  }
  if (!rc) rc = fs_write_atomic(path, b.s, b.len);
  free(b.s);
  return rc;
}

// ---- reading -----------------------------------------------------------------------------

typedef struct {
  csv_table_t *t;
  const char *path;
  char **row;  // fields of the row being parsed
  int nrow, caprow;
  int have_header;
  int rc;  // first error; later callbacks only clean up
} csv_reader_t;

static void csv_reader_drop_row(csv_reader_t *r) {
  for (int j = 0; j < r->nrow; j++) free(r->row[j]);
  r->nrow = 0;
}

static void on_field(void *s, size_t len, void *ctx) {
  csv_reader_t *r = ctx;
  if (r->rc) return;
  if (r->nrow == r->caprow) {
    int cap = r->caprow ? 2 * r->caprow : 16;
    char **grown = realloc(r->row, (size_t)cap * sizeof *grown);
    if (!grown) {
      r->rc = err_fail("%s: out of memory reading CSV", r->path);
      return;
    }
    r->row = grown;
    r->caprow = cap;
  }
  // libcsv's field is not NUL-terminated (toolchain.md §5): keep our own terminated copy.
  char *copy = str_copy(len ? (const char *)s : "", len);
  if (!copy) {
    r->rc = err_fail("%s: out of memory reading CSV", r->path);
    return;
  }
  r->row[r->nrow++] = copy;
}

static void on_row(int term, void *ctx) {
  csv_reader_t *r = ctx;
  csv_table_t *t = r->t;
  if (r->rc) {
    csv_reader_drop_row(r);
    return;
  }
  if (!r->have_header) {
    t->cols = calloc((size_t)r->nrow, sizeof *t->cols);
    if (!t->cols) {
      r->rc = err_fail("%s: out of memory reading CSV", r->path);
      csv_reader_drop_row(r);
      return;
    }
    memcpy(t->cols, r->row, (size_t)r->nrow * sizeof *t->cols);
    t->ncols = r->nrow;
    r->nrow = 0;
    r->have_header = 1;
    return;
  }
  if (r->nrow != t->ncols) {
    r->rc = err_input("%s: row %d: expected %d fields as in the header, found %d", r->path,
                      t->nrows + 1, t->ncols, r->nrow);
    csv_reader_drop_row(r);
    return;
  }
  r->rc = table_reserve_row(t);
  if (r->rc) {
    csv_reader_drop_row(r);
    return;
  }
  memcpy(t->cells + (size_t)t->nrows * t->ncols, r->row, (size_t)t->ncols * sizeof *r->row);
  t->nrows++;
  r->nrow = 0;
}

int csvlog_read(const char *path, csv_table_t *t) {
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "rb");
  if (!f) return err_input("%s: cannot read: %s", path, strerror(errno));
  struct csv_parser p;
  if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    fclose(f);
    return err_fail("%s: cannot initialise the CSV parser", path);
  }
  csv_reader_t r = {.t = t, .path = path};
  char buf[65536];
  size_t got;
  while (!r.rc && (got = fread(buf, 1, sizeof buf, f)) > 0) {
    if (csv_parse(&p, buf, got, on_field, on_row, &r) != got && !r.rc) {
      const char *why = csv_strerror(csv_error(&p));
      r.rc = r.have_header ? err_input("%s: malformed CSV in row %d: %s", path, t->nrows + 1, why)
                           : err_input("%s: malformed CSV in the header: %s", path, why);
    }
  }
  if (!r.rc && ferror(f)) r.rc = err_input("%s: cannot read: %s", path, strerror(errno));
  // csv_fini delivers a last row that has no trailing newline; with CSV_STRICT_FINI it also
  // reports a quoted field left open at end of file.
  if (!r.rc && csv_fini(&p, on_field, on_row, &r) != 0 && !r.rc) {
    r.rc = err_input("%s: malformed CSV in row %d: unterminated quoted field at end of file", path,
                     t->nrows + 1);
  }
  if (!r.rc && !r.have_header) r.rc = err_input("%s: empty CSV file (no header row)", path);
  csv_free(&p);
  fclose(f);
  csv_reader_drop_row(&r);
  free(r.row);
  if (r.rc) csvlog_table_free(t);
  return r.rc;
}
