#include "config/yamlcheck.h"

#include <yaml.h>

int ado_yaml_check(const char *name, const char *buf, size_t len, size_t max_bytes, int max_depth,
		   enum ado_errkind kind, struct ado_err *e)
{
	yaml_parser_t p;
	yaml_event_t ev;
	size_t events = 0;
	int depth = 0, rc = 0;

	if (len > max_bytes)
		return ado_err_set(e, kind, 0, "%s: expected at most %zu bytes, found %zu", name, max_bytes, len);
	if (!yaml_parser_initialize(&p))
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (;;) {
		yaml_event_type_t t;
		if (!yaml_parser_parse(&p, &ev))
			break;	/* the loader reports it */
		t = ev.type;
		if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
			if (++depth > max_depth) {
				rc = ado_err_set(e, kind, 0, "%s:%zu:%zu: expected at most %d levels of nesting, found more", name,
						 ev.start_mark.line + 1, ev.start_mark.column + 1, max_depth);
				yaml_event_delete(&ev);
				break;
			}
		} else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
			depth--;
		}
		if (++events > ADO_YAML_MAX_EVENTS) {
			rc = ado_err_set(e, kind, 0, "%s:%zu:%zu: expected at most %d YAML events, found more", name,
					 ev.start_mark.line + 1, ev.start_mark.column + 1, ADO_YAML_MAX_EVENTS);
			yaml_event_delete(&ev);
			break;
		}
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&p);
	return rc;
}
