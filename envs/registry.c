// registry: the const table of env classes. Adding an env = one file plus one line here.
#include <string.h>

#include "envs/env.h"

extern const env_class_t env_gridworld;
extern const env_class_t env_ant_2x4, env_ant_2x4d, env_ant_4x2, env_ant_8x1;
extern const env_class_t env_halfcheetah_2x3, env_halfcheetah_3x2, env_halfcheetah_6x1;
extern const env_class_t env_halfcheetah_1x6;
extern const env_class_t env_manyagent_ant_2x3, env_manyagent_ant_3x2, env_manyagent_ant_6x1;
extern const env_class_t env_manyagent_ant_2x4, env_manyagent_ant_4x2, env_manyagent_ant_8x1;
extern const env_class_t env_coupled_halfcheetah_2x6, env_coupled_halfcheetah_6x2;
extern const env_class_t env_coupled_halfcheetah_12x1;
extern const env_class_t env_drone_swarm, env_drone_swarm_point;

static const env_class_t *const env_table[] = {
    &env_gridworld,
    &env_ant_2x4,
    &env_ant_2x4d,
    &env_ant_4x2,
    &env_ant_8x1,
    &env_halfcheetah_2x3,
    &env_halfcheetah_3x2,
    &env_halfcheetah_6x1,
    &env_halfcheetah_1x6,
    &env_manyagent_ant_2x3,
    &env_manyagent_ant_3x2,
    &env_manyagent_ant_6x1,
    &env_manyagent_ant_2x4,
    &env_manyagent_ant_4x2,
    &env_manyagent_ant_8x1,
    &env_coupled_halfcheetah_2x6,
    &env_coupled_halfcheetah_6x2,
    &env_coupled_halfcheetah_12x1,
    &env_drone_swarm, &env_drone_swarm_point,
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
