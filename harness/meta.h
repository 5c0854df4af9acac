// meta: provenance of a run directory (meta.yaml): version, git commit and dirty flag,
// compiler, library versions, OpenBLAS core type, config hash, and one line per session (the
// first start and every resume), so an interrupted run says so.
#ifndef SAFEMARL_META_H
#define SAFEMARL_META_H
#include <stdint.h>

#include "harness/run.h"

// Write meta.yaml for session 0, or append a session line on resume (session > 0).
int meta_write(const char *dir, const run_config_t *cfg, uint64_t config_hash, int session,
               long long from_update);
// Number of the last session recorded in DIR/meta.yaml (0 if there is no meta.yaml).
int meta_read_session(const char *dir, int *session);
// Library and build versions on one line each (also used by `safemarl version`).
void meta_print_versions(FILE *f);
#endif
