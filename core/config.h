// config: typed run configuration from YAML files (libcyaml) and `section.key=value` overrides.
// A configuration is a few sections ("run", "env", "algo"), each a const table of parameters
// that point into a plain C struct owned by the caller (the plugin's params struct). Unknown
// keys, wrong types, values outside bounds or choices are errors naming the origin (file path or
// "command line"), the dotted key and the reason. Every value is parsed by the same function
// whether it comes from a default, a YAML file or an override, so all three agree exactly.
// The resolved configuration is written back as YAML with every key (config.yaml), and hashed
// (FNV-1a over the canonical text) without the keys a caller excludes (seed, out, resume).
#ifndef SAFEMARL_CONFIG_H
#define SAFEMARL_CONFIG_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_STR_MAX 256

typedef enum { CFG_INT, CFG_FLOAT, CFG_BOOL, CFG_STRING } cfg_type_t;

typedef struct {
  const char *key;      // name inside its section
  cfg_type_t type;      // storage: int, double, int (0/1), char[CFG_STR_MAX]
  size_t offset;        // offsetof in the section struct
  const char *def;      // default, as text
  const char *help;     // one line for --help and README tables
  const char *choices;  // CFG_STRING only: "a|b|c", or NULL for free text
  double min, max;      // inclusive bounds for numbers; ignored when min > max
} cfg_param_t;

typedef struct {
  const char *name;             // "run", "env", "algo"
  const cfg_param_t *params;
  int n_params;
  void *dst;
} cfg_section_t;

// Fill every parameter with its default.
int cfg_set_defaults(const cfg_section_t *secs, int nsec);
// Set "section.key" from text. origin names where the text came from, for messages.
int cfg_set(const cfg_section_t *secs, int nsec, const char *dotted_key, const char *text,
            const char *origin);
// Parse "section.key=value" (from the command line).
int cfg_override(const cfg_section_t *secs, int nsec, const char *assignment);
// Load a YAML mapping of sections to mappings of key: scalar. Keys must exist in the tables.
// Sections absent from the file keep their current values.
int cfg_load_yaml(const char *path, const cfg_section_t *secs, int nsec);
// Read one scalar "section.key" from a YAML file without checking anything else (used to learn
// run.env / run.algo before the full schema is known). Returns 0 when found, 1 when absent,
// ERR_INPUT on unreadable or malformed YAML.
int cfg_peek_yaml(const char *path, const char *dotted_key, char *out, size_t outn);
// Canonical YAML text of the resolved configuration (malloc'd; caller frees).
char *cfg_to_yaml(const cfg_section_t *secs, int nsec);
int cfg_write_yaml(const char *path, const cfg_section_t *secs, int nsec);
// FNV-1a 64 over the canonical text minus the excluded dotted keys.
uint64_t cfg_hash(const cfg_section_t *secs, int nsec, const char *const *exclude, int nexclude);
// Value of one parameter as canonical text.
void cfg_format_value(const cfg_param_t *p, const void *dst, char *buf, size_t n);
// One line per parameter: "  section.key (type, default D): help".
void cfg_print_help(FILE *f, const cfg_section_t *secs, int nsec);
#endif
