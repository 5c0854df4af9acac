// csvlog: CSV writing and reading (libcsv) for progress.csv, timing.csv and reports.
// Writing: numbers as "%.10g" (NaN as "nan"), text fields quoted only when needed, "\n" line
// ends; append mode for per-update logs, whole-table atomic replace for derived tables.
// Reading: libcsv in strict mode; every row must have the header's column count; errors name the
// file, the row and the column.
#ifndef SAFEMARL_CSVLOG_H
#define SAFEMARL_CSVLOG_H
#include <stdio.h>

typedef struct {
  FILE *f;
  int ncols;
  char path[1024];
} csvlog_t;

// Open `path` for appending rows with the given header. When keep_bytes < 0 a new file is
// created with the header; otherwise the existing file is truncated to keep_bytes (resume) and
// its header must match `cols` exactly (ERR_INPUT if not).
int csvlog_open(csvlog_t *w, const char *path, const char *const *cols, int ncols, long keep_bytes);
// Write one row of ncols numbers and flush it to the OS.
int csvlog_row(csvlog_t *w, const double *vals);
long csvlog_size(csvlog_t *w);  // bytes written so far (after flush)
int csvlog_close(csvlog_t *w);

// A whole CSV in memory: header names and string cells.
typedef struct {
  int ncols, nrows;
  char **cols;    // [ncols]
  char **cells;   // [nrows][ncols], NUL-terminated copies
} csv_table_t;

int csvlog_read(const char *path, csv_table_t *t);
void csvlog_table_free(csv_table_t *t);
int csvlog_col(const csv_table_t *t, const char *name);  // index or -1
const char *csvlog_cell(const csv_table_t *t, int row, int col);
// Parse a cell as a number ("nan" allowed). ERR_INPUT names file, row (1-based data row) and column.
int csvlog_cell_double(const csv_table_t *t, const char *path, int row, int col, double *out);

// Build a table in memory and write it atomically.
int csvlog_table_init(csv_table_t *t, const char *const *cols, int ncols);
int csvlog_table_add_row(csv_table_t *t, const char *const *cells);
int csvlog_write_table(const char *path, const csv_table_t *t);
// Format a double as the writers do ("%.10g", "nan").
void csvlog_format_double(double v, char *buf, int n);
#endif
