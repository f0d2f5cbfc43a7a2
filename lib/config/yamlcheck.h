/* yamlcheck.h - bound a YAML (or JSON) text before anything is built from it.
 *
 * libyaml builds a document in time that grows with the square of the
 * nesting depth (40,000 levels: seconds; 100,000: most of a minute), so the
 * config loader and the manifest parser first walk the event stream, which
 * stops at the first event past a limit, and only then load the document. */
#ifndef ADO_YAMLCHECK_H
#define ADO_YAMLCHECK_H

#include <stddef.h>

#include "base/error.h"

#define ADO_YAML_MAX_DEPTH 32		/* nested mappings and sequences: a few dozen is plenty */
#define ADO_YAML_MAX_EVENTS 4000000	/* scalars, starts and ends together */

/* Walk buf's events: nesting deeper than max_depth, more than
 * ADO_YAML_MAX_EVENTS events, or more than max_bytes bytes -> -1 and e
 * filled with `kind` and "NAME:LINE:COL: ..." (the line and column where the
 * limit was passed). A syntax error is left to the loader, which says it in
 * its own words: 0. */
int ado_yaml_check(const char *name, const char *buf, size_t len, size_t max_bytes, int max_depth,
		   enum ado_errkind kind, struct ado_err *e);

#endif
