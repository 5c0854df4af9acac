// registry: the const table of env classes. Adding an env = one file plus one line here.
#include <string.h>

#include "envs/env.h"

extern const env_class_t env_gridworld;

static const env_class_t *const env_table[] = {
    &env_gridworld,
};

int env_count(void) {
  return (int)(sizeof env_table / sizeof env_table[0]);
}

const env_class_t *env_at(int i) {
  return (i >= 0 && i < env_count()) ? env_table[i] : NULL;
}

const env_class_t *env_find(const char *name) {
  for (int i = 0; i < env_count(); i++)
    if (strcmp(env_table[i]->name, name) == 0) return env_table[i];
  return NULL;
}
