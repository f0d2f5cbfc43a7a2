/* json.c - a growing buffer and a small JSON writer.
 *
 * The output is byte-exact and deterministic: the manifest's HMAC is computed
 * over it, so the same calls must always give the same bytes. Pretty mode is
 * two-space indentation, one member per line, "key": value, empty containers
 * as {} and [], and no newline after the top-level value: the caller adds
 * one if the document is a file. */
#include "base/json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX ((int)(sizeof(((struct ado_json *)0)->first) / sizeof(int)))

void ado_buf_init(struct ado_buf *b)
{
	b->len = 0;
	b->oom = 0;
	/* Allocate up front so that data is a valid (empty) string even when
	 * nothing is ever added. */
	b->cap = 256;
	b->data = malloc(b->cap);
	if (!b->data) {
		b->cap = 0;
		b->oom = 1;
		return;
	}
	b->data[0] = '\0';
}

void ado_buf_free(struct ado_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Make room for n more bytes plus the terminating NUL; 0 or -1 (oom set). */
static int buf_reserve(struct ado_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return -1;
	if (n > SIZE_MAX - b->len - 1) {
		b->oom = 1;
		return -1;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void ado_buf_add(struct ado_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void ado_buf_puts(struct ado_buf *b, const char *s)
{
	ado_buf_add(b, s, strlen(s));
}

void ado_buf_printf(struct ado_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if (buf_reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes available), or 0 if
 * the byte at s does not start one. Follows Unicode's table of well-formed
 * byte sequences: no overlongs, no surrogates (U+D800-U+DFFF), nothing above
 * U+10FFFF, no truncated sequences. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c == 0xE0) {
		len = 3;
		lo = 0xA0;
	} else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
		len = 3;
	else if (c == 0xED) {
		len = 3;
		hi = 0x9F;
	} else if (c == 0xF0) {
		len = 4;
		lo = 0x90;
	} else if (c >= 0xF1 && c <= 0xF3)
		len = 4;
	else if (c == 0xF4) {
		len = 4;
		hi = 0x8F;
	} else
		return 0;	/* 0x80-0xC1 (continuation, overlong lead), 0xF5-0xFF */
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

void ado_json_str(struct ado_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	ado_buf_add(b, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];
		const char *esc = NULL;
		char tmp[8];
		size_t len;

		if (c >= 0x20 && c != '"' && c != '\\') {
			len = utf8_len(s + i, n - i);
			if (len) {
				/* copy runs of plain bytes in one go */
				i += len;
				run += len;
				continue;
			}
			esc = "\\ufffd";
		} else {
			switch (c) {
			case '"': esc = "\\\""; break;
			case '\\': esc = "\\\\"; break;
			case '\n': esc = "\\n"; break;
			case '\t': esc = "\\t"; break;
			case '\r': esc = "\\r"; break;
			case '\b': esc = "\\b"; break;
			case '\f': esc = "\\f"; break;
			default:
				snprintf(tmp, sizeof(tmp), "\\u%04x", c);
				esc = tmp;
			}
		}
		if (run)
			ado_buf_add(b, s + i - run, run);
		run = 0;
		ado_buf_puts(b, esc);
		i++;
	}
	if (run)
		ado_buf_add(b, s + i - run, run);
	ado_buf_add(b, "\"", 1);
}

void ado_json_cstr(struct ado_buf *b, const char *s)
{
	if (!s)
		ado_buf_puts(b, "null");
	else
		ado_json_str(b, s, strlen(s));
}

void ado_json_init(struct ado_json *j, struct ado_buf *b, int pretty)
{
	j->b = b;
	j->depth = 0;
	j->pretty = pretty;
	for (int i = 0; i < DEPTH_MAX; i++)
		j->first[i] = 1;
}

static void indent(struct ado_json *j)
{
	ado_buf_add(j->b, "\n", 1);
	for (int i = 0; i < j->depth; i++)
		ado_buf_add(j->b, "  ", 2);
}

/* Separator, indentation and "key": before a value at the current depth. */
static void value_begin(struct ado_json *j, const char *key)
{
	int d = j->depth;

	if (d >= DEPTH_MAX) {
		/* deeper than first[] can track: the commas would be wrong, so
		 * mark the output as incomplete rather than emit bad JSON */
		j->b->oom = 1;
		return;
	}
	if (d > 0) {
		if (!j->first[d])
			ado_buf_add(j->b, ",", 1);
		if (j->pretty)
			indent(j);
	} else if (!j->first[0]) {
		/* several top-level values (JSON lines): one per line */
		ado_buf_add(j->b, "\n", 1);
	}
	j->first[d] = 0;
	if (key) {
		ado_json_cstr(j->b, key);
		ado_buf_puts(j->b, j->pretty ? ": " : ":");
	}
}

static void container_begin(struct ado_json *j, const char *key, char open)
{
	value_begin(j, key);
	ado_buf_add(j->b, &open, 1);
	j->depth++;
	if (j->depth < DEPTH_MAX)
		j->first[j->depth] = 1;
}

static void container_end(struct ado_json *j, char close)
{
	int empty;

	if (j->depth <= 0) {
		j->b->oom = 1;	/* unbalanced end: the caller's bug */
		return;
	}
	empty = j->depth < DEPTH_MAX ? j->first[j->depth] : 1;
	j->depth--;
	if (j->pretty && !empty)
		indent(j);
	ado_buf_add(j->b, &close, 1);
}

void ado_json_obj_begin(struct ado_json *j, const char *key)
{
	container_begin(j, key, '{');
}

void ado_json_obj_end(struct ado_json *j)
{
	container_end(j, '}');
}

void ado_json_arr_begin(struct ado_json *j, const char *key)
{
	container_begin(j, key, '[');
}

void ado_json_arr_end(struct ado_json *j)
{
	container_end(j, ']');
}

void ado_json_kstr(struct ado_json *j, const char *key, const char *val)
{
	value_begin(j, key);
	ado_json_cstr(j->b, val);
}

void ado_json_kint(struct ado_json *j, const char *key, long long val)
{
	value_begin(j, key);
	ado_buf_printf(j->b, "%lld", val);
}

void ado_json_kuint(struct ado_json *j, const char *key, uint64_t val)
{
	value_begin(j, key);
	ado_buf_printf(j->b, "%" PRIu64, val);
}

void ado_json_kbool(struct ado_json *j, const char *key, int val)
{
	value_begin(j, key);
	ado_buf_puts(j->b, val ? "true" : "false");
}

void ado_json_knull(struct ado_json *j, const char *key)
{
	value_begin(j, key);
	ado_buf_puts(j->b, "null");
}
