// config: typed parameters from defaults, YAML files and `section.key=value` overrides.
// Every value, whatever its origin, is text parsed by cfg_parse_value, so a default, a YAML
// scalar and an override of the same text give the same bits. YAML goes through two layers:
// libyaml walks the event stream first (exact line/column for syntax errors, one document only),
// then libcyaml loads it against a schema built at run time from the section tables in which
// every leaf is an optional string; libcyaml thus rejects unknown keys and non-mapping
// structure itself, and its log is captured and turned into one `file: section.key: reason`.
// Canonical floats use the shortest "%.{1..17}g" that strtod reads back to the same double:
// exact like "%.17g", but 0.1 stays "0.1" in config.yaml.
#include "core/config.h"

#include <ctype.h>
#include <cyaml/cyaml.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "core/rng.h"

#define CFG_ORIGIN_CLI "command line"
#define CFG_ORIGIN_DEFAULT "default"

// ---- lookup ------------------------------------------------------------------------------

static int cfg_find_section(const cfg_section_t *secs, int nsec, const char *name, size_t len) {
  for (int s = 0; s < nsec; s++) {
    if (strlen(secs[s].name) == len && strncmp(secs[s].name, name, len) == 0) return s;
  }
  return -1;
}

static int cfg_find_param(const cfg_section_t *sec, const char *key) {
  for (int i = 0; i < sec->n_params; i++) {
    if (strcmp(sec->params[i].key, key) == 0) return i;
  }
  return -1;
}

// "run|env|algo", for messages about unknown sections.
static void cfg_section_names(const cfg_section_t *secs, int nsec, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = '\0';
  for (int s = 0; s < nsec && used < n; s++) {
    int w = snprintf(buf + used, n - used, "%s%s", s ? "|" : "", secs[s].name);
    if (w < 0) break;
    used += (size_t)w;
  }
}

// ---- parsing one value -------------------------------------------------------------------

typedef union {
  int i;  // CFG_INT and CFG_BOOL
  double f;
  char s[CFG_STR_MAX];
} cfg_value_t;

// The offending text as it appears in a message: at most 64 characters, control characters
// escaped, so that a message stays on one line whatever the input held.
static const char *cfg_show(const char *text, char *buf, size_t n) {
  size_t used = 0, k = 0;
  for (; text[k] && used + 8 < n && k < 64; k++) {
    unsigned char c = (unsigned char)text[k];
    if (c == '\n') {
      used += (size_t)snprintf(buf + used, n - used, "\\n");
    } else if (c == '\t') {
      used += (size_t)snprintf(buf + used, n - used, "\\t");
    } else if (c < 0x20 || c == 0x7f) {
      used += (size_t)snprintf(buf + used, n - used, "\\x%02x", c);
    } else {
      buf[used++] = (char)c;
    }
  }
  if (text[k]) used += (size_t)snprintf(buf + used, n - used, "...");
  buf[used < n ? used : n - 1] = '\0';
  return buf;
}

// Bounds print with 15 digits so a bound written 0.1 in a table reads "0.1" in the message.
static void cfg_format_bound(double v, char *buf, size_t n) {
  snprintf(buf, n, "%.15g", v);
}

static int cfg_check_bounds(const char *origin, const char *sec, const cfg_param_t *p, double v,
                            const char *text) {
  if (p->min > p->max) return 0;
  char b[64];
  if (v < p->min) {
    cfg_format_bound(p->min, b, sizeof b);
    return err_input("%s: %s.%s: must be >= %s, got %s", origin, sec, p->key, b, text);
  }
  if (v > p->max) {
    cfg_format_bound(p->max, b, sizeof b);
    return err_input("%s: %s.%s: must be <= %s, got %s", origin, sec, p->key, b, text);
  }
  return 0;
}

// Is `text` one of the '|'-separated choices?
static int cfg_in_choices(const char *choices, const char *text) {
  size_t n = strlen(text);
  for (const char *c = choices;;) {
    const char *bar = strchr(c, '|');
    size_t len = bar ? (size_t)(bar - c) : strlen(c);
    if (len == n && strncmp(c, text, n) == 0) return 1;
    if (!bar) return 0;
    c = bar + 1;
  }
}

// Parse `text` for parameter p of section `sec`. Messages: "<origin>: <sec>.<key>: <reason>".
static int cfg_parse_value(const char *origin, const char *sec, const cfg_param_t *p,
                           const char *text, cfg_value_t *out) {
  char *end = NULL;
  char shown[160];
  cfg_show(text, shown, sizeof shown);
  // strtoll/strtod skip leading blanks; refusing them keeps "full string" meaning full.
  int blank = text[0] == '\0' || isspace((unsigned char)text[0]);
  switch (p->type) {
    case CFG_INT: {
      errno = 0;
      long long v = strtoll(text, &end, 10);
      if (blank || *end != '\0') {
        return err_input("%s: %s.%s: expected an integer, got '%s'", origin, sec, p->key, shown);
      }
      if (errno == ERANGE || v < INT_MIN || v > INT_MAX) {
        return err_input("%s: %s.%s: integer out of range, got %s", origin, sec, p->key, shown);
      }
      int rc = cfg_check_bounds(origin, sec, p, (double)v, shown);
      if (rc) return rc;
      out->i = (int)v;
      return 0;
    }
    case CFG_FLOAT: {
      errno = 0;
      double v = strtod(text, &end);
      if (blank || *end != '\0') {
        return err_input("%s: %s.%s: expected a number, got '%s'", origin, sec, p->key, shown);
      }
      // Overflow gives inf with ERANGE; underflow to a denormal or zero is representable.
      if (!isfinite(v)) {
        return err_input("%s: %s.%s: must be a finite number, got '%s'", origin, sec, p->key,
                         shown);
      }
      int rc = cfg_check_bounds(origin, sec, p, v, shown);
      if (rc) return rc;
      out->f = v;
      return 0;
    }
    case CFG_BOOL: {
      static const char *const yes[] = {"true", "yes", "on", "1"};
      static const char *const no[] = {"false", "no", "off", "0"};
      for (int k = 0; k < 4; k++) {
        if (strcasecmp(text, yes[k]) == 0) {
          out->i = 1;
          return 0;
        }
        if (strcasecmp(text, no[k]) == 0) {
          out->i = 0;
          return 0;
        }
      }
      return err_input("%s: %s.%s: expected true or false, got '%s'", origin, sec, p->key, shown);
    }
    case CFG_STRING: {
      size_t n = strlen(text);
      if (n >= CFG_STR_MAX) {
        return err_input("%s: %s.%s: longer than %d characters", origin, sec, p->key,
                         CFG_STR_MAX - 1);
      }
      if (p->choices && !cfg_in_choices(p->choices, text)) {
        return err_input("%s: %s.%s: must be one of %s, got '%s'", origin, sec, p->key, p->choices,
                         shown);
      }
      memcpy(out->s, text, n + 1);
      return 0;
    }
  }
  return err_fail("%s: %s.%s: unknown parameter type %d", origin, sec, p->key, (int)p->type);
}

static void cfg_store(const cfg_param_t *p, void *dst, const cfg_value_t *v) {
  char *field = (char *)dst + p->offset;
  switch (p->type) {
    case CFG_INT:
    case CFG_BOOL:
      memcpy(field, &v->i, sizeof v->i);
      break;
    case CFG_FLOAT:
      memcpy(field, &v->f, sizeof v->f);
      break;
    case CFG_STRING:
      memcpy(field, v->s, strlen(v->s) + 1);
      break;
  }
}

// Parse and, when `store`, write one parameter. Parsing first means a bad value never
// leaves a half-written field behind.
static int cfg_apply(const char *origin, const cfg_section_t *sec, const cfg_param_t *p,
                     const char *text, int store) {
  cfg_value_t v;
  int rc = cfg_parse_value(origin, sec->name, p, text, &v);
  if (!rc && store) cfg_store(p, sec->dst, &v);
  return rc;
}

int cfg_set_defaults(const cfg_section_t *secs, int nsec) {
  for (int s = 0; s < nsec; s++) {
    for (int i = 0; i < secs[s].n_params; i++) {
      const cfg_param_t *p = &secs[s].params[i];
      int rc = cfg_apply(CFG_ORIGIN_DEFAULT, &secs[s], p, p->def ? p->def : "", 1);
      if (rc) return rc;
    }
  }
  return 0;
}

int cfg_set(const cfg_section_t *secs, int nsec, const char *dotted_key, const char *text,
            const char *origin) {
  if (!origin) origin = CFG_ORIGIN_CLI;
  const char *dot = strchr(dotted_key, '.');
  if (!dot || dot == dotted_key || !dot[1]) {
    return err_input("%s: %s: expected section.key", origin, dotted_key);
  }
  int s = cfg_find_section(secs, nsec, dotted_key, (size_t)(dot - dotted_key));
  if (s < 0) {
    char names[256];
    cfg_section_names(secs, nsec, names, sizeof names);
    return err_input("%s: %s: unknown section '%.*s' (expected %s)", origin, dotted_key,
                     (int)(dot - dotted_key), dotted_key, names);
  }
  int i = cfg_find_param(&secs[s], dot + 1);
  if (i < 0) return err_input("%s: %s: unknown key", origin, dotted_key);
  return cfg_apply(origin, &secs[s], &secs[s].params[i], text, 1);
}

int cfg_override(const cfg_section_t *secs, int nsec, const char *assignment) {
  const char *eq = strchr(assignment, '=');
  const char *dot = strchr(assignment, '.');
  size_t klen = eq ? (size_t)(eq - assignment) : 0;
  char key[512];
  if (!eq || !dot || dot > eq || dot == assignment || dot + 1 == eq || klen >= sizeof key) {
    return err_input(CFG_ORIGIN_CLI ": bad override '%s': expected section.key=value", assignment);
  }
  memcpy(key, assignment, klen);
  key[klen] = '\0';
  return cfg_set(secs, nsec, key, eq + 1, CFG_ORIGIN_CLI);
}

// ---- libyaml pass: syntax, single document, and peeking one scalar -----------------------

typedef struct {
  const char *sec, *key;  // target "sec.key", or NULL for a syntax-only walk
  char *out;
  size_t outn;
  int found;  // 0 absent, 1 scalar copied, -1 present but not a scalar
} yaml_target_t;

#define YAML_MAX_DEPTH 64

// Walk every event of the stream. Tracks the keys of the first two mapping levels (section,
// parameter) and, for each open mapping, whether the next node is a key or a value.
static int yaml_walk(const char *origin, const char *data, size_t n, yaml_target_t *t) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return err_fail("%s: cannot initialise libyaml", origin);
  yaml_parser_set_input_string(&parser, (const unsigned char *)data, n);
  char keys[2][CFG_STR_MAX];
  int key_ok[2] = {0, 0};
  int is_map[YAML_MAX_DEPTH], want_key[YAML_MAX_DEPTH];
  int depth = 0, docs = 0, rc = 0, done = 0;
  while (!done && !rc) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      const char *ctx = parser.context ? parser.context : "";
      rc = err_input("%s: not valid YAML: %s%s%s (line %zu, column %zu)", origin, ctx,
                     ctx[0] ? ": " : "", parser.problem ? parser.problem : "unknown error",
                     parser.problem_mark.line + 1, parser.problem_mark.column + 1);
      break;
    }
    yaml_event_type_t type = ev.type;
    int node = type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT ||
               type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT;
    if (type == YAML_STREAM_END_EVENT) done = 1;
    if (type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
      rc = err_input("%s: more than one YAML document (---): only one is allowed", origin);
    }
    if (type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT) depth--;
    if (node && !rc && depth > 0 && is_map[depth - 1] && want_key[depth - 1]) {
      // A key. Only plain scalar keys of the first two levels can name sec.key.
      int d = depth - 1;
      want_key[d] = 0;
      // libcyaml cannot name (or load) a list or mapping used as a key; say where it is.
      if (type != YAML_SCALAR_EVENT && type != YAML_ALIAS_EVENT) {
        rc = err_input("%s: line %zu: a mapping key must be a single value, not a %s", origin,
                       ev.start_mark.line + 1,
                       type == YAML_SEQUENCE_START_EVENT ? "list" : "mapping");
      }
      if (d < 2) {
        key_ok[d] = type == YAML_SCALAR_EVENT && ev.data.scalar.length < CFG_STR_MAX;
        if (key_ok[d]) memcpy(keys[d], ev.data.scalar.value, ev.data.scalar.length + 1);
        if (d == 0) key_ok[1] = 0;  // a new section: the previous section's key is stale
      }
    } else if (node && !rc) {
      if (depth > 0 && is_map[depth - 1]) want_key[depth - 1] = 1;
      if (t && t->sec && depth == 2 && is_map[0] && is_map[1] && !t->found && key_ok[0] &&
          key_ok[1] && strcmp(keys[0], t->sec) == 0 && strcmp(keys[1], t->key) == 0) {
        if (type != YAML_SCALAR_EVENT) {
          t->found = -1;
        } else if (ev.data.scalar.length >= t->outn) {
          rc = err_input("%s: %s.%s: value longer than %zu characters", origin, t->sec, t->key,
                         t->outn ? t->outn - 1 : 0);
        } else {
          memcpy(t->out, ev.data.scalar.value, ev.data.scalar.length + 1);
          t->found = 1;
        }
      }
    }
    if (!rc && (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT)) {
      if (depth == YAML_MAX_DEPTH) {
        rc = err_input("%s: YAML nested deeper than %d levels", origin, YAML_MAX_DEPTH);
      } else {
        is_map[depth] = type == YAML_MAPPING_START_EVENT;
        want_key[depth] = 1;
        depth++;
      }
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  return rc;
}

int cfg_peek_yaml(const char *path, const char *dotted_key, char *out, size_t outn) {
  const char *dot = strchr(dotted_key, '.');
  char sec[CFG_STR_MAX];
  size_t slen = dot ? (size_t)(dot - dotted_key) : 0;
  if (!dot || slen == 0 || slen >= sizeof sec || !dot[1]) {
    return err_input("%s: %s: expected section.key", path, dotted_key);
  }
  memcpy(sec, dotted_key, slen);
  sec[slen] = '\0';
  char *data = NULL;
  size_t n = 0;
  int rc = fs_read_file(path, &data, &n);
  if (rc) return rc;
  yaml_target_t t = {.sec = sec, .key = dot + 1, .out = out, .outn = outn};
  rc = yaml_walk(path, data, n, &t);
  free(data);
  if (rc) return rc;
  if (t.found < 0) return err_input("%s: %s: expected a single value", path, dotted_key);
  return t.found ? 0 : 1;
}

// ---- libcyaml pass: schema from the tables, errors from its log --------------------------

// What libcyaml logged: the first error line (the reason) and the mapping fields of the
// backtrace that follows it, innermost first.
typedef struct {
  char reason[512];
  char fields[8][CFG_STR_MAX];
  int nfields;
} cy_log_t;

static void cy_log_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args) {
  cy_log_t *log = ctx;
  if (level < CYAML_LOG_ERROR) return;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, args);
  msg[strcspn(msg, "\n")] = '\0';
  const char *field = strstr(msg, "in mapping field '");
  if (field) {
    field += strlen("in mapping field '");
    const char *end = strstr(field, "' (line");
    size_t len = end ? (size_t)(end - field) : strlen(field);
    if (log->nfields < 8 && len < CFG_STR_MAX) {
      memcpy(log->fields[log->nfields], field, len);
      log->fields[log->nfields++][len] = '\0';
    }
    return;
  }
  if (log->reason[0] || strstr(msg, "Backtrace") || strncmp(msg, "  in ", 5) == 0) return;
  const char *text = strncmp(msg, "Load: ", 6) == 0 ? msg + 6 : msg;
  snprintf(log->reason, sizeof log->reason, "%s", text);
}

static const char *cy_event_name(const char *event) {
  if (strcmp(event, "SCALAR") == 0) return "a single value";
  if (strcmp(event, "SEQUENCE_START") == 0) return "a list";
  if (strcmp(event, "MAPPING_START") == 0) return "a mapping";
  if (strcmp(event, "ALIAS") == 0) return "an alias";
  return event;
}

// Turn the captured log into one "file: section.key: reason" message.
static int cy_error(const char *origin, const cy_log_t *log, cyaml_err_t err,
                    const cfg_section_t *secs, int nsec) {
  char path[512] = "";
  size_t used = 0;
  for (int k = log->nfields - 1; k >= 0 && used < sizeof path; k--) {
    int w = snprintf(path + used, sizeof path - used, "%s%s", used ? "." : "", log->fields[k]);
    if (w > 0) used += (size_t)w;
  }
  const char *r = log->reason;
  const char *arg;
  if ((arg = strstr(r, "Unexpected key: "))) {
    arg += strlen("Unexpected key: ");
    if (!path[0]) {
      char names[256];
      cfg_section_names(secs, nsec, names, sizeof names);
      return err_input("%s: %s: unknown section (expected %s)", origin, arg, names);
    }
    return err_input("%s: %s.%s: unknown key", origin, path, arg);
  }
  if ((arg = strstr(r, "Expecting MAPPING, got event: "))) {
    arg = cy_event_name(arg + strlen("Expecting MAPPING, got event: "));
    if (!path[0]) {
      return err_input("%s: expected a mapping of sections at the top level, got %s", origin, arg);
    }
    return err_input("%s: %s: expected a mapping of key: value, got %s", origin, path, arg);
  }
  if ((arg = strstr(r, "Expecting STRING, got event: "))) {
    arg = cy_event_name(arg + strlen("Expecting STRING, got event: "));
    return err_input("%s: %s: expected a single value, got %s", origin, path, arg);
  }
  if (strstr(r, "Mapping field already seen: ")) {
    return err_input("%s: %s: duplicate key", origin, path);
  }
  if ((arg = strstr(r, "No anchor found for alias: "))) {
    arg += strlen("No anchor found for alias: ");
    return err_input("%s: %s: undefined alias %s", origin, path, arg);
  }
  if ((arg = strstr(r, "libyaml: "))) {
    return err_input("%s: not valid YAML: %s", origin, arg + strlen("libyaml: "));
  }
  if (!r[0]) r = cyaml_strerror(err);
  if (path[0]) return err_input("%s: %s: %s", origin, path, r);
  return err_input("%s: %s", origin, r);
}

// The runtime schema: a top-level mapping whose field s is an optional pointer to section s,
// itself an array of n_params optional string pointers (NULL = key absent from the file).
typedef struct {
  cyaml_schema_field_t *fields;  // one block: top fields, then each section's fields
  cyaml_schema_value_t root;
} cy_schema_t;

static int cy_schema_build(cy_schema_t *sc, const cfg_section_t *secs, int nsec) {
  size_t total = (size_t)nsec + 1;
  for (int s = 0; s < nsec; s++) total += (size_t)secs[s].n_params + 1;
  sc->fields = calloc(total, sizeof *sc->fields);
  if (!sc->fields) return err_fail("out of memory building the config schema");
  cyaml_schema_field_t *top = sc->fields, *next = sc->fields + nsec + 1;
  for (int s = 0; s < nsec; s++) {
    cyaml_schema_field_t *pf = next;
    for (int i = 0; i < secs[s].n_params; i++) {
      pf[i].key = secs[s].params[i].key;
      pf[i].data_offset = (uint32_t)(i * sizeof(char *));
      pf[i].value.type = CYAML_STRING;
      pf[i].value.flags = CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL;
      pf[i].value.data_size = sizeof(char);
      pf[i].value.string.min = 0;
      pf[i].value.string.max = CYAML_UNLIMITED;
    }
    next += secs[s].n_params + 1;  // the zeroed entry after the fields is CYAML_FIELD_END
    top[s].key = secs[s].name;
    top[s].data_offset = (uint32_t)(s * sizeof(char **));
    top[s].value.type = CYAML_MAPPING;
    top[s].value.flags = CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL;
    top[s].value.data_size =
        (uint32_t)((secs[s].n_params > 0 ? secs[s].n_params : 1) * sizeof(char *));
    top[s].value.mapping.fields = pf;
  }
  sc->root.type = CYAML_MAPPING;
  sc->root.flags = CYAML_FLAG_POINTER;
  sc->root.data_size = (uint32_t)((nsec > 0 ? nsec : 1) * sizeof(char **));
  sc->root.mapping.fields = top;
  return 0;
}

// Parse (and when `store`, write) every value present in the loaded document.
static int cfg_apply_loaded(const char *origin, const cfg_section_t *secs, int nsec, char ***loaded,
                            int store) {
  for (int s = 0; loaded && s < nsec; s++) {
    char **values = loaded[s];
    for (int i = 0; values && i < secs[s].n_params; i++) {
      if (!values[i]) continue;
      int rc = cfg_apply(origin, &secs[s], &secs[s].params[i], values[i], store);
      if (rc) return rc;
    }
  }
  return 0;
}

int cfg_load_yaml(const char *path, const cfg_section_t *secs, int nsec) {
  char *data = NULL;
  size_t n = 0;
  int rc = fs_read_file(path, &data, &n);
  if (rc) return rc;
  rc = yaml_walk(path, data, n, NULL);
  cy_schema_t sc = {0};
  if (!rc) rc = cy_schema_build(&sc, secs, nsec);
  if (rc) {
    free(data);
    free(sc.fields);
    return rc;
  }
  cy_log_t log = {0};
  cyaml_config_t cy = {
      .log_fn = cy_log_fn,
      .log_ctx = &log,
      .mem_fn = cyaml_mem,
      .log_level = CYAML_LOG_ERROR,
      .flags = CYAML_CFG_DEFAULT,
  };
  char ***loaded = NULL;
  cyaml_err_t err =
      cyaml_load_data((const uint8_t *)data, n, &cy, &sc.root, (cyaml_data_t **)&loaded, NULL);
  if (err != CYAML_OK) {
    rc = cy_error(path, &log, err, secs, nsec);
  } else {
    // Check everything before storing anything: a file with one bad value changes nothing.
    rc = cfg_apply_loaded(path, secs, nsec, loaded, 0);
    if (!rc) rc = cfg_apply_loaded(path, secs, nsec, loaded, 1);
    // An empty document loads as NULL; anything else is freed by the schema that made it.
    if (loaded) cyaml_free(&cy, &sc.root, loaded, 0);
  }
  free(sc.fields);
  free(data);
  return rc;
}

// ---- canonical text, hash, help -----------------------------------------------------------

// Shortest "%.Ng" that reads back as exactly v.
static void cfg_format_float(double v, char *buf, size_t n) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

void cfg_format_value(const cfg_param_t *p, const void *dst, char *buf, size_t n) {
  if (n == 0) return;
  const char *field = (const char *)dst + p->offset;
  int iv;
  double fv;
  switch (p->type) {
    case CFG_INT:
      memcpy(&iv, field, sizeof iv);
      snprintf(buf, n, "%d", iv);
      return;
    case CFG_BOOL:
      memcpy(&iv, field, sizeof iv);
      snprintf(buf, n, "%s", iv ? "true" : "false");
      return;
    case CFG_FLOAT:
      memcpy(&fv, field, sizeof fv);
      cfg_format_float(fv, buf, n);
      return;
    case CFG_STRING:
      snprintf(buf, n, "%.*s", CFG_STR_MAX - 1, field);
      return;
  }
  buf[0] = '\0';
}

typedef struct {
  char *s;
  size_t len, cap;
} cfg_text_t;

static int text_put(cfg_text_t *t, const char *s, size_t n) {
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 1024;
    while (t->len + n + 1 > cap) cap *= 2;
    char *grown = realloc(t->s, cap);
    if (!grown) return err_fail("out of memory writing the configuration");
    t->s = grown;
    t->cap = cap;
  }
  memcpy(t->s + t->len, s, n);
  t->len += n;
  t->s[t->len] = '\0';
  return 0;
}

static int text_puts(cfg_text_t *t, const char *s) {
  return text_put(t, s, strlen(s));
}

// A string can be written as a plain YAML scalar when it starts with a letter, '_' or '/',
// holds only [A-Za-z0-9_./+-], and is not a word that YAML 1.1 readers (PyYAML) take for a
// bool or null. Everything else is double-quoted; our own loader would read either form the
// same, the rule is for other tools reading config.yaml.
static int yaml_plain_ok(const char *s) {
  static const char *const words[] = {"true", "false", "yes",  "no",  "on", "off",
                                      "y",    "n",     "null", "nan", "inf"};
  if (!(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == '/')) return 0;
  for (const char *c = s; *c; c++) {
    if (!isalnum((unsigned char)*c) && !strchr("_./+-", *c)) return 0;
  }
  for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
    if (strcasecmp(s, words[k]) == 0) return 0;
  }
  return 1;
}

static int text_put_yaml_string(cfg_text_t *t, const char *s) {
  if (yaml_plain_ok(s)) return text_puts(t, s);
  int rc = text_put(t, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; !rc && *c; c++) {
    char esc[8];
    if (*c == '"' || *c == '\\') {
      snprintf(esc, sizeof esc, "\\%c", *c);
    } else if (*c == '\n') {
      snprintf(esc, sizeof esc, "\\n");
    } else if (*c == '\t') {
      snprintf(esc, sizeof esc, "\\t");
    } else if (*c < 0x20 || *c == 0x7f) {
      snprintf(esc, sizeof esc, "\\x%02x", *c);
    } else {
      esc[0] = (char)*c;
      esc[1] = '\0';
    }
    rc = text_puts(t, esc);
  }
  return rc ? rc : text_put(t, "\"", 1);
}

static int cfg_is_excluded(const char *sec, const char *key, const char *const *exclude,
                           int nexclude) {
  size_t slen = strlen(sec);
  for (int k = 0; k < nexclude; k++) {
    const char *e = exclude[k];
    if (strncmp(e, sec, slen) == 0 && e[slen] == '.' && strcmp(e + slen + 1, key) == 0) return 1;
  }
  return 0;
}

// The canonical text: sections and keys in table order, one "  key: value" line each. A
// section with nothing to show is written "name: {}" so the text still loads as a mapping.
static char *cfg_canonical(const cfg_section_t *secs, int nsec, const char *const *exclude,
                           int nexclude) {
  cfg_text_t t = {0};
  int rc = 0;
  char value[CFG_STR_MAX + 64];
  for (int s = 0; !rc && s < nsec; s++) {
    int shown = 0;
    for (int i = 0; i < secs[s].n_params; i++) {
      shown += !cfg_is_excluded(secs[s].name, secs[s].params[i].key, exclude, nexclude);
    }
    rc = text_puts(&t, secs[s].name);
    if (!rc) rc = text_puts(&t, shown ? ":\n" : ": {}\n");
    for (int i = 0; !rc && i < secs[s].n_params; i++) {
      const cfg_param_t *p = &secs[s].params[i];
      if (cfg_is_excluded(secs[s].name, p->key, exclude, nexclude)) continue;
      cfg_format_value(p, secs[s].dst, value, sizeof value);
      rc = text_puts(&t, "  ");
      if (!rc) rc = text_puts(&t, p->key);
      if (!rc) rc = text_puts(&t, ": ");
      if (!rc) rc = p->type == CFG_STRING ? text_put_yaml_string(&t, value) : text_puts(&t, value);
      if (!rc) rc = text_put(&t, "\n", 1);
    }
  }
  if (!rc && !t.s) rc = text_put(&t, "", 0);  // no sections: an empty string, not NULL
  if (rc) {
    free(t.s);
    return NULL;
  }
  return t.s;
}

char *cfg_to_yaml(const cfg_section_t *secs, int nsec) {
  return cfg_canonical(secs, nsec, NULL, 0);
}

int cfg_write_yaml(const char *path, const cfg_section_t *secs, int nsec) {
  char *text = cfg_to_yaml(secs, nsec);
  if (!text) return ERR_FAIL;
  int rc = fs_write_atomic(path, text, strlen(text));
  free(text);
  return rc;
}

uint64_t cfg_hash(const cfg_section_t *secs, int nsec, const char *const *exclude, int nexclude) {
  char *text = cfg_canonical(secs, nsec, exclude, nexclude);
  // Out of memory here is not recoverable in any useful way; hash the empty text so the
  // caller still gets a value, and err_message() says what happened.
  uint64_t h = rng_hash_str(text ? text : "");
  free(text);
  return h;
}

void cfg_print_help(FILE *f, const cfg_section_t *secs, int nsec) {
  static const char *const type_names[] = {"int", "float", "bool", "string"};
  for (int s = 0; s < nsec; s++) {
    for (int i = 0; i < secs[s].n_params; i++) {
      const cfg_param_t *p = &secs[s].params[i];
      const char *type = (unsigned)p->type < 4 ? type_names[p->type] : "?";
      fprintf(f, "  %s.%s (%s, default %s): %s", secs[s].name, p->key, type,
              p->def && p->def[0] ? p->def : "\"\"", p->help ? p->help : "");
      if (p->choices) fprintf(f, " [%s]", p->choices);
      fputc('\n', f);
    }
  }
}
