// yamlio (prefix yio_): what the harness's hand-read YAML files (suites, the efficiency table)
// share on top of libyaml's document API: what a node is called in a message, and mapping keys
// with duplicates refused. Messages start with the file name and give the key path.
#ifndef SAFEMARL_YAMLIO_H
#define SAFEMARL_YAMLIO_H
#include <yaml.h>

// "a single value", "nothing" (empty scalar), "a list", "a mapping" or "an empty node".
const char *yio_kind(const yaml_node_t *n);
// Number of key/value pairs of a mapping node.
int yio_pairs(const yaml_node_t *map);
// Key i of mapping `map` of document `doc` (read from `file`) as a string in *out; a key that is
// not a non-empty scalar, or repeats an earlier key, is ERR_INPUT naming `where` (the mapping's
// key path, "" at the top level).
int yio_key(const char *file, yaml_document_t *doc, const yaml_node_t *map, int i,
            const char *where, const char **out);
#endif
