// test_csvlog: the append writer (format, flush, size), resume truncation and its header and
// row-boundary checks, the libcsv reader (exact numbers, last row without newline, strict
// mode, field-count errors naming file and row), and table build / atomic write / read back.
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/csvlog.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "tests/check.h"

static char scratch[64];

static void path_in(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", scratch, name);
}

static void write_text(const char *path, const char *text) {
  if (fs_write_atomic(path, text, strlen(text)) != 0) fprintf(stderr, "%s\n", err_message());
}

static int file_equals(const char *path, const char *want) {
  char *data = NULL;
  size_t n = 0;
  if (fs_read_file(path, &data, &n) != 0) return 0;
  int eq = n == strlen(want) && memcmp(data, want, n) == 0;
  if (!eq) fprintf(stderr, "file %s:\n%s\n--- want:\n%s\n", path, data, want);
  free(data);
  return eq;
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

#define CHECK_ERR(rc, code, needle)                                                              \
  CHECK((rc) == (code) && strstr(err_message(), (needle)), "rc=%d message='%s' want '%s'", (rc), \
        err_message(), (needle))

static const char *const COLS[] = {"step", "ret", "cost"};

static void test_writer_format_and_exact_read(void) {
  char p[256];
  path_in(p, sizeof p, "progress.csv");
  csvlog_t w;
  CHECK(csvlog_open(&w, p, COLS, 3, -1) == 0, "%s", err_message());
  // Values chosen to exercise "%.10g": exact binary fractions, 10-digit decimals, exponents.
  const double rows[4][3] = {
      {1, 0.25, -3.5}, {2, 0.1, 1234567.891}, {3, 1e-20, -2.718281828e+100}, {4, NAN, 0}};
  for (int i = 0; i < 4; i++) {
    CHECK(csvlog_row(&w, rows[i]) == 0, "%s", err_message());
    // Each row is flushed: the file on disk already has it, and csvlog_size agrees.
    CHECK(csvlog_size(&w) == file_size(p), "size after row %d", i);
  }
  CHECK(csvlog_close(&w) == 0, "%s", err_message());
  CHECK(file_equals(p,
                    "step,ret,cost\n1,0.25,-3.5\n2,0.1,1234567.891\n"
                    "3,1e-20,-2.718281828e+100\n4,nan,0\n"),
        "written text");
  csv_table_t t;
  CHECK(csvlog_read(p, &t) == 0, "%s", err_message());
  CHECK(t.ncols == 3 && t.nrows == 4, "shape %dx%d", t.nrows, t.ncols);
  CHECK(csvlog_col(&t, "cost") == 2 && csvlog_col(&t, "nope") == -1, "column lookup");
  for (int i = 0; i < t.nrows && i < 4; i++) {
    for (int j = 0; j < 3; j++) {
      double v = 0;
      CHECK(csvlog_cell_double(&t, p, i, j, &v) == 0, "%s", err_message());
      // Every value above has at most 10 significant digits, so strtod("%.10g") is exact:
      // compare bits (tolerance 0), NaN by class.
      if (isnan(rows[i][j])) {
        CHECK(isnan(v), "row %d col %d is nan", i, j);
      } else {
        CHECK(v == rows[i][j], "row %d col %d: got %.17g want %.17g", i, j, v, rows[i][j]);
      }
      char again[64];
      csvlog_format_double(v, again, sizeof again);
      CHECK(!strcmp(again, csvlog_cell(&t, i, j)), "re-formatted '%s' vs '%s'", again,
            csvlog_cell(&t, i, j));
    }
  }
  CHECK(csvlog_cell(&t, 4, 0) == NULL && csvlog_cell(&t, 0, 3) == NULL, "out of range is NULL");
  CHECK_ERR(csvlog_cell_double(&t, p, 9, 0, &(double){0}), ERR_INPUT, "progress.csv: row 10");
  csvlog_table_free(&t);
  char buf[32];
  csvlog_format_double(-NAN, buf, sizeof buf);
  CHECK(!strcmp(buf, "nan"), "negative NaN still 'nan', got '%s'", buf);
  csvlog_format_double(1.0 / 3.0, buf, sizeof buf);
  CHECK(!strcmp(buf, "0.3333333333"), "10 significant digits, got '%s'", buf);
}

static void test_resume(void) {
  char p[256];
  path_in(p, sizeof p, "resume.csv");
  csvlog_t w;
  CHECK(csvlog_open(&w, p, COLS, 3, -1) == 0, "%s", err_message());
  const double r1[3] = {1, 10, 0}, r2[3] = {2, 20, 1}, r3[3] = {3, 30, 2}, r3b[3] = {3, 33, 3};
  csvlog_row(&w, r1);
  csvlog_row(&w, r2);
  long at_checkpoint = csvlog_size(&w);
  csvlog_row(&w, r3);  // written after the checkpoint: must disappear on resume
  csvlog_close(&w);
  long full = file_size(p);

  // Wrong header: refused, and the file is not truncated.
  const char *const other[] = {"step", "ret", "costs"};
  CHECK_ERR(csvlog_open(&w, p, other, 3, at_checkpoint), ERR_INPUT, "resume.csv: header");
  CHECK(strstr(err_message(), "step,ret,costs") && strstr(err_message(), "step,ret,cost'"),
        "message shows both headers: %s", err_message());
  CHECK(file_size(p) == full, "file untouched after refused resume");
  CHECK(w.f == NULL, "no stream left open");
  // Not at a row boundary, inside the header, beyond the end.
  CHECK_ERR(csvlog_open(&w, p, COLS, 3, at_checkpoint - 1), ERR_INPUT, "not the end of a row");
  CHECK_ERR(csvlog_open(&w, p, COLS, 3, 5), ERR_INPUT, "inside the header");
  CHECK_ERR(csvlog_open(&w, p, COLS, 3, full + 10), ERR_INPUT, "resume.csv");
  CHECK(file_size(p) == full, "file untouched after refused resumes");
  path_in(p, sizeof p, "missing.csv");
  CHECK_ERR(csvlog_open(&w, p, COLS, 3, 20), ERR_INPUT, "missing.csv");
  path_in(p, sizeof p, "resume.csv");

  // Good resume: rows after the checkpoint are dropped, appending continues from there.
  CHECK(csvlog_open(&w, p, COLS, 3, at_checkpoint) == 0, "%s", err_message());
  CHECK(csvlog_size(&w) == at_checkpoint, "size after resume %ld", csvlog_size(&w));
  csvlog_row(&w, r3b);
  csvlog_close(&w);
  CHECK(file_equals(p, "step,ret,cost\n1,10,0\n2,20,1\n3,33,3\n"), "resumed file");
  // keep_bytes == 0: nothing survived, the header is written again.
  CHECK(csvlog_open(&w, p, COLS, 3, 0) == 0, "%s", err_message());
  csvlog_close(&w);
  CHECK(file_equals(p, "step,ret,cost\n"), "header rewritten at keep_bytes 0");
  CHECK(csvlog_close(&w) == 0, "closing twice is harmless");
}

static void test_reader_errors_and_quirks(void) {
  char p[256];
  csv_table_t t;
  // Last row without a newline is still delivered (csv_fini); CRLF line ends are accepted.
  path_in(p, sizeof p, "nonl.csv");
  write_text(p, "a,b\r\n1,2\r\n3,4");
  CHECK(csvlog_read(p, &t) == 0, "%s", err_message());
  CHECK(t.nrows == 2 && !strcmp(csvlog_cell(&t, 1, 1), "4"), "last row read, nrows=%d", t.nrows);
  csvlog_table_free(&t);
  // Wrong field count: error names the file and the 1-based data row.
  path_in(p, sizeof p, "short.csv");
  write_text(p, "a,b,c\n1,2,3\n4,5\n6,7,8\n");
  CHECK_ERR(csvlog_read(p, &t), ERR_INPUT, "short.csv: row 2: expected 3 fields");
  CHECK(t.cells == NULL && t.cols == NULL && t.nrows == 0, "table emptied on error");
  path_in(p, sizeof p, "long.csv");
  write_text(p, "a,b\n1,2\n3,4,\n");  // a trailing comma is an extra empty field
  CHECK_ERR(csvlog_read(p, &t), ERR_INPUT, "long.csv: row 2: expected 2 fields");
  CHECK(strstr(err_message(), "found 3"), "%s", err_message());
  // Strict mode: text after a closing quote is an error, not silently accepted.
  path_in(p, sizeof p, "strict.csv");
  write_text(p, "a,b,c\n1,\"b\"x,3\n");
  CHECK_ERR(csvlog_read(p, &t), ERR_INPUT, "strict.csv: malformed CSV in row 1");
  path_in(p, sizeof p, "open.csv");
  write_text(p, "a,b\n1,\"never closed\n");
  CHECK_ERR(csvlog_read(p, &t), ERR_INPUT, "open.csv: malformed CSV");
  path_in(p, sizeof p, "empty.csv");
  write_text(p, "");
  CHECK_ERR(csvlog_read(p, &t), ERR_INPUT, "empty.csv: empty CSV");
  path_in(p, sizeof p, "absent.csv");
  CHECK_ERR(csvlog_read(p, &t), ERR_INPUT, "absent.csv");
  // A non-numeric cell: file, row, column and the text.
  path_in(p, sizeof p, "text.csv");
  write_text(p, "step,ret\n1,2\n2,oops\n3,\n");
  CHECK(csvlog_read(p, &t) == 0, "%s", err_message());
  double v;
  CHECK_ERR(csvlog_cell_double(&t, p, 1, 1, &v), ERR_INPUT, "text.csv: row 2, column 'ret'");
  CHECK(strstr(err_message(), "got 'oops'"), "%s", err_message());
  CHECK_ERR(csvlog_cell_double(&t, p, 2, 1, &v), ERR_INPUT, "got ''");
  csvlog_table_free(&t);
}

static void test_table_write_and_read(void) {
  char p[256];
  path_in(p, sizeof p, "summary.csv");
  const char *const cols[] = {"name", "value", "note"};
  csv_table_t t;
  CHECK(csvlog_table_init(&t, cols, 3) == 0, "%s", err_message());
  const char *const rows[5][3] = {{"plain", "1", "x"},
                                  {"a,b", "say \"hi\"", "two\nlines"},
                                  {" padded ", "", "\ttab"},
                                  {"mappo_l", "0.5", "nan"},
                                  {"last", "2", "z"}};
  for (int i = 0; i < 5; i++) CHECK(csvlog_table_add_row(&t, rows[i]) == 0, "%s", err_message());
  CHECK(csvlog_write_table(p, &t) == 0, "%s", err_message());
  csvlog_table_free(&t);
  // Quotes only where a plain field would not read back the same.
  CHECK(file_equals(p,
                    "name,value,note\nplain,1,x\n\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
                    "\" padded \",,\"\ttab\"\nmappo_l,0.5,nan\nlast,2,z\n"),
        "table text");
  CHECK(csvlog_read(p, &t) == 0, "%s", err_message());
  CHECK(t.nrows == 5 && t.ncols == 3, "shape %dx%d", t.nrows, t.ncols);
  for (int i = 0; i < t.nrows && i < 5; i++) {
    for (int j = 0; j < 3; j++) {
      CHECK(!strcmp(csvlog_cell(&t, i, j), rows[i][j]), "cell %d,%d '%s' want '%s'", i, j,
            csvlog_cell(&t, i, j), rows[i][j]);
    }
  }
  // Reading and writing again gives the same bytes.
  char q[256];
  path_in(q, sizeof q, "summary2.csv");
  CHECK(csvlog_write_table(q, &t) == 0, "%s", err_message());
  csvlog_table_free(&t);
  char *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  fs_read_file(p, &a, &na);
  fs_read_file(q, &b, &nb);
  CHECK(a && b && na == nb && !memcmp(a, b, na), "write(read(write(t))) is stable");
  free(a);
  free(b);
  // Atomic write into a missing directory fails cleanly.
  path_in(q, sizeof q, "no/such/dir.csv");
  CHECK(csvlog_table_init(&t, cols, 3) == 0, "%s", err_message());
  CHECK_ERR(csvlog_write_table(q, &t), ERR_FAIL, "no/such/dir.csv");
  csvlog_table_free(&t);
  // Many rows: the implicit capacity doubling holds up.
  CHECK(csvlog_table_init(&t, cols, 3) == 0, "%s", err_message());
  for (int i = 0; i < 1000; i++) {
    char num[16];
    snprintf(num, sizeof num, "%d", i);
    const char *const r[3] = {num, num, num};
    csvlog_table_add_row(&t, r);
  }
  CHECK(t.nrows == 1000 && !strcmp(csvlog_cell(&t, 999, 2), "999"), "1000 rows");
  csvlog_table_free(&t);
}

int main(void) {
  snprintf(scratch, sizeof scratch, "/tmp/safemarl_csvlog_XXXXXX");
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  test_writer_format_and_exact_read();
  test_resume();
  test_reader_errors_and_quirks();
  test_table_write_and_read();
  check_rm_rf(scratch);
  return check_report("test_csvlog");
}
