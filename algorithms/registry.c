// registry: the const table of algorithm classes. Adding an algorithm = one file plus one line.
#include <string.h>

#include "algorithms/algo.h"

extern const algo_class_t algo_gridworld_lagrangian;
extern const algo_class_t algo_ppo_lag;
extern const algo_class_t algo_cpo;
extern const algo_class_t algo_mappo;
extern const algo_class_t algo_happo;
extern const algo_class_t algo_mappo_lag;
extern const algo_class_t algo_focops;
extern const algo_class_t algo_mafocops;
extern const algo_class_t algo_macpo;
extern const algo_class_t algo_scal_mappo_lag;

static const algo_class_t *const algo_table[] = {
    &algo_gridworld_lagrangian,
    &algo_ppo_lag,
    &algo_cpo,
    &algo_mappo,
    &algo_happo,
    &algo_mappo_lag,
    &algo_focops,
    &algo_mafocops,
    &algo_macpo,
    &algo_scal_mappo_lag,
};

int algo_count(void) {
  return (int)(sizeof algo_table / sizeof algo_table[0]);
}

const algo_class_t *algo_at(int i) {
  return (i >= 0 && i < algo_count()) ? algo_table[i] : NULL;
}

const algo_class_t *algo_find(const char *name) {
  for (int i = 0; i < algo_count(); i++)
    if (strcmp(algo_table[i]->name, name) == 0) return algo_table[i];
  return NULL;
}
