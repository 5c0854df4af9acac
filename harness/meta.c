// meta: meta.yaml of a run directory (see meta.h).
#include <cblas.h>
#include <csv.h>
#include <cyaml/cyaml.h>
#include <glpk.h>
#include <mujoco/mujoco.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "harness/meta.h"

#ifndef SAFEMARL_SOURCE_DIR
#define SAFEMARL_SOURCE_DIR "."
#endif
#ifndef SAFEMARL_COMPILER
#define SAFEMARL_COMPILER "unknown"
#endif
#ifndef SAFEMARL_VERSION
#define SAFEMARL_VERSION "0"
#endif

// First line of a shell command's output, or "" (git may be absent: a tarball install).
static void meta_command_line(const char *cmd, char *out, size_t n) {
  out[0] = 0;
  FILE *p = popen(cmd, "r");
  if (!p) return;
  if (fgets(out, (int)n, p)) out[strcspn(out, "\n")] = 0;
  pclose(p);
}

static void meta_git(char *commit, size_t n, int *dirty) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD 2>/dev/null", SAFEMARL_SOURCE_DIR);
  meta_command_line(cmd, commit, n);
  if (!commit[0]) snprintf(commit, n, "unknown");
  char line[256];
  snprintf(cmd, sizeof cmd,
           "git -C '%s' status --porcelain --untracked-files=no 2>/dev/null | head -n 1",
           SAFEMARL_SOURCE_DIR);
  meta_command_line(cmd, line, sizeof line);
  *dirty = line[0] != 0;
}

static void meta_now(char *out, size_t n) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void meta_print_versions(FILE *f) {
  fprintf(f, "safemarl: %s\n", SAFEMARL_VERSION);
  fprintf(f, "compiler: %s\n", SAFEMARL_COMPILER);
  fprintf(f, "mujoco: %s\n", mj_versionString());
  fprintf(f, "openblas: \"%s\"\n", openblas_get_config());
  fprintf(f, "openblas_core: %s\n", openblas_get_corename());
  fprintf(f, "glpk: %s\n", glp_version());
  fprintf(f, "libcsv: %d.%d.%d\n", CSV_MAJOR, CSV_MINOR, CSV_RELEASE);
  fprintf(f, "libcyaml: %s\n", cyaml_version_str);
}

int meta_read_session(const char *dir, int *session) {
  char path[1100];
  snprintf(path, sizeof path, "%s/meta.yaml", dir);
  *session = 0;
  if (!fs_exists(path)) return 0;
  char *text = NULL;
  size_t n = 0;
  int rc = fs_read_file(path, &text, &n);
  if (rc) return rc;
  for (const char *p = text; (p = strstr(p, "  - {session: ")); p++) *session = atoi(p + 14);
  free(text);
  return 0;
}

int meta_write(const char *dir, const run_config_t *cfg, uint64_t config_hash, int session,
               long long from_update) {
  char path[1100], when[64];
  snprintf(path, sizeof path, "%s/meta.yaml", dir);
  meta_now(when, sizeof when);
  char *old = NULL;
  size_t old_n = 0;
  if (session > 0 && fs_exists(path)) {
    int rc = fs_read_file(path, &old, &old_n);
    if (rc) return rc;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return err_fail("out of memory writing meta.yaml");
  if (old) {
    // An extended run (train --resume --steps) has a new budget, so a new hash: replace the line.
    const char *line = strstr(old, "\nconfig_hash: ");
    const char *eol = line ? strchr(line + 1, '\n') : NULL;
    if (eol) {
      fwrite(old, 1, (size_t)(line + 1 - old), f);
      fprintf(f, "config_hash: %016llx", (unsigned long long)config_hash);
      fputs(eol, f);
    } else {
      fputs(old, f);
    }
  } else {
    char commit[128];
    int dirty = 0;
    meta_git(commit, sizeof commit, &dirty);
    fprintf(f, "# provenance of this run; timings are in timing.csv\n");
    fprintf(f, "git_commit: %s\n", commit);
    fprintf(f, "git_dirty: %s\n", dirty ? "true" : "false");
    meta_print_versions(f);
    fprintf(f, "env: %s\nalgo: %s\nseed: %d\n", cfg->run.env, cfg->run.algo, cfg->run.seed);
    fprintf(f, "config_hash: %016llx\n", (unsigned long long)config_hash);
    fprintf(f, "sessions:\n");
  }
  fprintf(f, "  - {session: %d, from_update: %lld, steps: %d, started: \"%s\"}\n", session,
          from_update, cfg->run.steps, when);
  fclose(f);
  int rc = fs_write_atomic(path, text, len);
  free(text);
  free(old);
  return rc;
}
