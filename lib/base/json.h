/* json.h - a small JSON writer into a growing buffer (manifests, --json
 * reports, notification payloads) and string escaping that is correct for any
 * input: quotes, backslashes, control characters, and invalid UTF-8 (each bad
 * byte becomes U+FFFD). Reading JSON is libyaml's job (YAML is a superset). */
#ifndef ADO_JSON_H
#define ADO_JSON_H

#include <stddef.h>
#include <stdint.h>

struct ado_buf {
	char *data;	/* NUL-terminated */
	size_t len, cap;
	int oom;	/* set when an allocation failed; output is then incomplete */
};

void ado_buf_init(struct ado_buf *b);
void ado_buf_free(struct ado_buf *b);
void ado_buf_add(struct ado_buf *b, const void *p, size_t n);
void ado_buf_puts(struct ado_buf *b, const char *s);
void ado_buf_printf(struct ado_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append s (n bytes) as a quoted JSON string. */
void ado_json_str(struct ado_buf *b, const char *s, size_t n);
void ado_json_cstr(struct ado_buf *b, const char *s);	/* NULL -> null */

/* Pretty-ish object writer: tracks commas and indentation. */
struct ado_json {
	struct ado_buf *b;
	int depth;
	int first[16];
	int pretty;
};
void ado_json_init(struct ado_json *j, struct ado_buf *b, int pretty);
void ado_json_obj_begin(struct ado_json *j, const char *key);	/* key NULL at top or in arrays */
void ado_json_obj_end(struct ado_json *j);
void ado_json_arr_begin(struct ado_json *j, const char *key);
void ado_json_arr_end(struct ado_json *j);
void ado_json_kstr(struct ado_json *j, const char *key, const char *val);	/* val NULL -> null */
void ado_json_kint(struct ado_json *j, const char *key, long long val);
void ado_json_kuint(struct ado_json *j, const char *key, uint64_t val);
void ado_json_kbool(struct ado_json *j, const char *key, int val);
void ado_json_knull(struct ado_json *j, const char *key);

#endif
