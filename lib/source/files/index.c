/* index.c - the files: target's index format (see files.h): escaping paths,
 * splitting lines, collecting them across writes, and the --list-files sink. */
#include "source/files/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- escaping --- */

static int needs_escape(unsigned char c)
{
	return c == '%' || c < 0x20 || c == 0x7f;
}

char *files_pct_escape(const char *s)
{
	size_t n = 0;
	char *out, *o;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += needs_escape(*p) ? 3 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (needs_escape(*p)) {
			sprintf(o, "%%%02X", *p);
			o += 3;
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int files_pct_unescape(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return -1;
		*o++ = (char)(hi * 16 + lo);
		p += 2;
	}
	*o = '\0';
	return 0;
}

/* --- index lines --- */

int files_parse_line(char *line, uint64_t lineno, struct line_in *li, struct ado_err *e)
{
	char *f[5], *p = line, *end;
	int i;

	for (i = 0; i < 5; i++) {
		f[i] = p;
		if (i < 4) {
			p = strchr(p, '\t');
			if (!p)
				return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": expected 5 fields", lineno);
			*p++ = '\0';
		}
	}
	if (strchr(f[4], '\t'))
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": expected 5 fields", lineno);
	if (strlen(f[0]) != 1 || !strchr("fdlhocu", f[0][0]))
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": unknown type '%.8s'", lineno, f[0]);
	li->type = f[0][0];
	errno = 0;
	li->mode = (unsigned)strtoul(f[1], &end, 8);
	if (!*f[1] || *end || errno)
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": bad mode '%.16s'", lineno, f[1]);
	li->size = strtoull(f[2], &end, 10);
	if (!*f[2] || *end || errno || f[2][0] == '-')
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": bad size '%.24s'", lineno, f[2]);
	li->sha = f[3];
	if (strcmp(li->sha, "-") != 0 && (strlen(li->sha) != 64 || strspn(li->sha, "0123456789abcdef") != 64))
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": bad sha256 '%.70s'", lineno, li->sha);
	/* only a hard link may lack a hash: its original could not be read */
	if ((li->type == 'f' || li->type == 'c' || li->type == 'l') && strcmp(li->sha, "-") == 0)
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": missing sha256", lineno);
	li->path = f[4];
	if (!*li->path)
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": empty path", lineno);
	return 0;
}

int files_lines_push(struct lines *l, const void *data, size_t n, struct ado_err *e)
{
	const char *p = data;

	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		if (l->len + take > INDEX_LINE_MAX)
			return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": longer than 64 KiB",
					   l->lineno + 1);
		memcpy(l->buf + l->len, p, take);
		l->len += take;
		p += take;
		n -= take;
		if (nl) {
			p++;
			n--;
			size_t len = l->len;
			l->len = 0;
			l->lineno++;
			if (memchr(l->buf, '\0', len))
				return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": holds a NUL byte",
						   l->lineno);
			l->buf[len] = '\0';
			if (l->fn(l->state, l->buf, l->lineno, e) < 0)
				return -1;
		}
	}
	return 0;
}

int files_lines_finish(struct lines *l, struct ado_err *e)
{
	if (l->len)
		return ado_err_set(e, ADO_E_FORMAT, 0, "index line %" PRIu64 ": the index ends in the middle of it",
				   l->lineno + 1);
	return 0;
}

/* --- index list --- */

struct lstate {
	struct lines lines;
	int fd;
};

static int list_line(void *state, char *line, uint64_t lineno, struct ado_err *e)
{
	struct lstate *l = state;
	struct line_in li;
	size_t n;

	if (files_parse_line(line, lineno, &li, e) < 0)
		return -1;
	n = strlen(li.path);
	/* reuse the line buffer: the path is its tail, there is room for "/\n" */
	if (li.type == 'd')
		li.path[n++] = '/';
	li.path[n++] = '\n';
	for (const char *p = li.path; n > 0;) {
		ssize_t k = write(l->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return ado_err_set(e, ADO_E_IO, errno, "cannot write the file list");
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int l_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct lstate *l = w->state;

	return files_lines_push(&l->lines, buf, n, e);
}

static int l_close(struct ado_writer *w, struct ado_err *e)
{
	struct lstate *l = w->state;

	return files_lines_finish(&l->lines, e);
}

static void l_free(struct ado_writer *w)
{
	struct lstate *l = w->state;

	if (!l)
		return;
	free(l->lines.buf);
	free(l);
}

static const struct ado_writer_ops list_ops = {
	.name = "index-list",
	.write = l_write,
	.close = l_close,
	.free = l_free,
};

struct ado_writer *ado_index_list_writer_new(int fd, struct ado_err *e)
{
	struct lstate *l = calloc(1, sizeof(*l));
	struct ado_writer *w;

	/* +3: the NUL, and room for the '/' and '\n' list_line appends */
	if (!l || !(l->lines.buf = malloc(INDEX_LINE_MAX + 3))) {
		free(l);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	l->fd = fd;
	l->lines.fn = list_line;
	l->lines.state = l;
	if (!(w = ado_writer_new(&list_ops, l, NULL))) {
		free(l->lines.buf);
		free(l);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	return w;
}
