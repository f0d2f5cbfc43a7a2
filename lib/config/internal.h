/* internal.h - private to lib/config: the parse context, the YAML node and
 * error helpers every section parser shares, and the section parsers the top
 * level calls. Only the .c files of lib/config include it; the API is
 * config.h.
 *
 * The functions below that take a struct pctx return 0 (or the value asked
 * for), or -1 (NULL) with p->e set: ADO_E_CONFIG as "FILE:LINE:COL: expected
 * X, found Y", with a hint where one helps, or ADO_E_NOMEM. `what` names the
 * place for messages ("'retention' of job 'db'"). Strings stored through a
 * slot belong to the config and are freed by ado_config_free. */
#ifndef ADO_CONFIG_INTERNAL_H
#define ADO_CONFIG_INTERNAL_H

#include <stddef.h>

#include <yaml.h>

#include "base/error.h"
#include "config/config.h"

/* The most keys one mapping may have (the size of cfg_map_fields' arrays). */
#define MAX_KEYS 24

/* One load: the name used in messages, the document being walked, where the
 * error goes and the config being filled. */
struct pctx {
	const char *file;
	yaml_document_t *doc;
	struct ado_err *e;
	struct ado_config *c;
};

/* ---- nodes and errors (config.c) ---- */

/* The node with index idx in p's document. */
yaml_node_t *cfg_node_at(struct pctx *p, int idx);

/* A scalar node's text (NUL-terminated by libyaml). */
const char *cfg_sval(const yaml_node_t *n);

/* Set ADO_E_CONFIG "FILE:LINE:COL: msg" at n's position; returns -1. */
int cfg_perr(struct pctx *p, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Set ADO_E_NOMEM for this load; returns -1. */
int cfg_nomem(struct pctx *p);

/* strdup, or NULL with ADO_E_NOMEM set. */
char *cfg_xdup(struct pctx *p, const char *s);

/* Replace *slot (freeing a default) with a copy of s. */
int cfg_set_str(struct pctx *p, char **slot, const char *s);

/* Grow *arr (*n elements of size bytes) by one zeroed element and return it,
 * or NULL (ADO_E_NOMEM set; *arr and *n unchanged). */
void *cfg_grow(struct pctx *p, void **arr, size_t *n, size_t size);

/* Describe n for "found Y" into buf ("a mapping", "'text'", ...); returns buf. */
const char *cfg_found(const yaml_node_t *n, char *buf, size_t len);

/* cfg_found into the caller's `char fbuf[96]`. */
#define FOUND(n) cfg_found((n), fbuf, sizeof(fbuf))

/* n must be a mapping / a list. */
int cfg_want_map(struct pctx *p, const yaml_node_t *n, const char *what);
int cfg_want_seq(struct pctx *p, const yaml_node_t *n, const char *what);

/* A non-empty scalar without NUL bytes, borrowed from the document; `want`
 * says what was expected ("a path", "a cron schedule"). */
int cfg_get_scalar(struct pctx *p, const yaml_node_t *n, const char *what, const char *want, const char **out);

/* Scalar readers that store into *slot (replacing a default) or *out. */
int cfg_get_str(struct pctx *p, const yaml_node_t *n, const char *what, const char *want, char **slot);
int cfg_get_path(struct pctx *p, const yaml_node_t *n, const char *what, char **slot);	/* absolute */
int cfg_get_bool(struct pctx *p, const yaml_node_t *n, const char *what, int *out);	/* true/false/yes/no */
int cfg_get_int(struct pctx *p, const yaml_node_t *n, const char *what, int min, int max, int *out);
int cfg_get_name(struct pctx *p, const yaml_node_t *n, const char *what, char **slot);	/* [A-Za-z0-9_.-] */

/* A list of non-empty scalars appended to *out / *nout (a single scalar too
 * when allow_scalar). */
int cfg_get_str_list(struct pctx *p, const yaml_node_t *n, const char *what, const char *want, int allow_scalar,
		     char ***out, size_t *nout);

/* Check map against keys (NULL-terminated, at most MAX_KEYS) and set vals[i]
 * (and keyn[i] if given) to the value (key) node of keys[i], or NULL.
 * Unknown keys (with "did you mean"), inline secrets and repeated keys are
 * errors. */
int cfg_map_fields(struct pctx *p, const yaml_node_t *map, const char *what, const char *const *keys,
		   yaml_node_t **vals, yaml_node_t **keyn);

/* A mapping keyed by names the user chose (jobs, channels, ...): every key a
 * scalar, none twice. */
int cfg_map_unique(struct pctx *p, const yaml_node_t *map, const char *what);

/* ---- secret references (secrets.c) ---- */

/* The NAME_env / NAME_file value nodes (either may be NULL; both is an
 * error) into ref; with neither, ref keeps its default. */
int cfg_get_secret(struct pctx *p, const yaml_node_t *env, const yaml_node_t *file, const char *what,
		   const char *name, struct ado_secret_ref *ref);

/* Whether ref names a source. */
int cfg_ref_set(const struct ado_secret_ref *r);

/* Free ref's strings and clear it. */
void cfg_ref_free(struct ado_secret_ref *r);

/* ---- durations (duration.c) ---- */

/* A duration longer than zero in seconds; when allow_forever, also
 * "forever" (0). */
int cfg_get_duration(struct pctx *p, const yaml_node_t *n, const char *what, int allow_forever, long long *out);

/* ---- sections, called by the top level (config.c) ---- */

int cfg_parse_encryption(struct pctx *p, const yaml_node_t *map);	/* secrets.c */
int cfg_parse_databases(struct pctx *p, const yaml_node_t *map);	/* secrets.c */
int cfg_parse_storage(struct pctx *p, const yaml_node_t *map);		/* storage.c */
int cfg_parse_notifications(struct pctx *p, const yaml_node_t *map);	/* notifications.c */

/* One job: key is its name node, map its settings; appended to p->c->jobs. */
int cfg_parse_job(struct pctx *p, const yaml_node_t *key, const yaml_node_t *map);	/* jobs.c */

#endif
