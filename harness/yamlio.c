// yamlio: node names and mapping keys for the harness's YAML readers (yamlio.h).
#include "harness/yamlio.h"

#include <string.h>

#include "core/err.h"

const char *yio_kind(const yaml_node_t *n) {
  switch (n->type) {
    case YAML_SCALAR_NODE:
      return n->data.scalar.length ? "a single value" : "nothing";
    case YAML_SEQUENCE_NODE:
      return "a list";
    case YAML_MAPPING_NODE:
      return "a mapping";
    default:
      return "an empty node";
  }
}

int yio_pairs(const yaml_node_t *map) {
  return (int)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

int yio_key(const char *file, yaml_document_t *doc, const yaml_node_t *map, int i,
            const char *where, const char **out) {
  yaml_node_pair_t *p = map->data.mapping.pairs.start + i;
  yaml_node_t *k = yaml_document_get_node(doc, p->key);
  if (k->type != YAML_SCALAR_NODE || k->data.scalar.length == 0)
    return err_input("%s: %s: a key must be a single value, got %s", file,
                     where[0] ? where : "top level", yio_kind(k));
  *out = (const char *)k->data.scalar.value;
  for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
    yaml_node_t *kq = yaml_document_get_node(doc, q->key);
    if (kq->type == YAML_SCALAR_NODE && strcmp((const char *)kq->data.scalar.value, *out) == 0)
      return err_input("%s: %s%s%s: duplicate key", file, where, where[0] ? "." : "", *out);
  }
  return 0;
}
