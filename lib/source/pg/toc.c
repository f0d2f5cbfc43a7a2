/* toc.c - a dump's table of contents and its foreign keys (see pg.h).
 *
 * pg_restore -l names a foreign key by "TABLE NAME" (space-separated, so
 * ambiguous for names with spaces) and never says which table it
 * references. pg_restore -f of the FK entries alone does: pg_dump writes each
 * one as ALTER TABLE [ONLY] s.t ADD CONSTRAINT n FOREIGN KEY (...) REFERENCES
 * s.r(...), schema-qualified, quoted where needed, one per entry, in the
 * list's order. That statement is what is read here. */
#include "source/pg/pg.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

int ado_pg_tmp_file(const char *tmp_dir, const char *tag, char *path, size_t len, struct ado_err *e)
{
	int fd;

	if (!tmp_dir || !*tmp_dir)
		tmp_dir = getenv("TMPDIR");
	if (!tmp_dir || !*tmp_dir)
		tmp_dir = "/tmp";
	snprintf(path, len, "%s/%s-XXXXXX", tmp_dir, tag);
	/* mkstemp: 0600, ours only: these files hold rows and definitions */
	if ((fd = mkstemp(path)) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot create a temporary file in '%s'", tmp_dir);
		path[0] = '\0';
		return -1;
	}
	close(fd);
	return 0;
}

void ado_pg_toc_free(struct ado_pg_toc *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nlines; i++)
		free(t->lines[i]);
	for (size_t i = 0; i < t->nfkeys; i++) {
		free(t->fkeys[i].name);
		free(t->fkeys[i].table);
		free(t->fkeys[i].references);
	}
	free(t->lines);
	free(t->fkeys);
	free(t);
}

/* "123; 2606 16430 FK CONSTRAINT ..." */
static int is_fkey_line(const char *l)
{
	int off = -1;

	if (sscanf(l, "%*d; %*u %*u %n", &off) < 0 || off <= 0)
		return 0;
	return strncmp(l + off, "FK CONSTRAINT ", 14) == 0;
}

static int read_lines(const char *path, struct ado_pg_toc *t, struct ado_err *e)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return ado_err_set(e, ADO_E_IO, errno, "cannot read '%s'", path);
	while ((n = getline(&line, &cap, f)) >= 0) {
		char **v;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!(v = realloc(t->lines, (t->nlines + 1) * sizeof(*v))))
			break;
		t->lines = v;
		if (!(v[t->nlines] = strdup(line)))
			break;
		t->nlines++;
		if (is_fkey_line(line)) {
			struct ado_pg_fkey *k = realloc(t->fkeys, (t->nfkeys + 1) * sizeof(*k));
			if (!k)
				break;
			t->fkeys = k;
			memset(&k[t->nfkeys], 0, sizeof(*k));
			k[t->nfkeys++].line = t->nlines - 1;
		}
	}
	{
		int err = ferror(f) ? errno : 0, done = feof(f);
		free(line);
		fclose(f);
		if (err)
			return ado_err_set(e, ADO_E_IO, err, "cannot read '%s'", path);
		if (!done)
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	return 0;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* One identifier at p ("a""b" or a bare word), unquoted into *out (new). */
static const char *ident(const char *p, char **out)
{
	size_t n = 0;
	char *buf = malloc(strlen(p) + 1);

	*out = NULL;
	if (!buf)
		return NULL;
	if (*p == '"') {
		for (p++;; p++) {
			if (!*p) {
				free(buf);
				return NULL;
			}
			if (*p == '"') {
				if (p[1] != '"') {
					p++;
					break;
				}
				p++;
			}
			buf[n++] = *p;
		}
	} else {
		while (*p && !strchr(" \t\r\n.(),;\"", *p))
			buf[n++] = *p++;
	}
	buf[n] = '\0';
	if (n == 0) {
		free(buf);
		return NULL;
	}
	*out = buf;
	return p;
}

/* schema.table at p -> "schema.table" (the display spelling, new). */
static const char *qualified(const char *p, char **out)
{
	char *a = NULL, *b = NULL;

	*out = NULL;
	if (!(p = ident(p, &a)))
		return NULL;
	if (*p != '.') {
		*out = a;
		return p;
	}
	if (!(p = ident(p + 1, &b)) || asprintf(out, "%s.%s", a, b) < 0) {
		*out = NULL;
		p = NULL;
	}
	free(a);
	free(b);
	return p;
}

static const char *word(const char *p, const char *w)
{
	size_t n = strlen(w);

	p = skip_ws(p);
	return strncmp(p, w, n) == 0 ? p + n : NULL;
}

/* Past a parenthesised list, quotes respected. */
static const char *parens(const char *p)
{
	int depth = 0;

	p = skip_ws(p);
	if (*p != '(')
		return NULL;
	for (; *p; p++) {
		if (*p == '"') {
			for (p++; *p && !(*p == '"' && p[1] != '"'); p++)
				if (*p == '"')
					p++;
			if (!*p)
				return NULL;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && --depth == 0) {
			return p + 1;
		}
	}
	return NULL;
}

/* One "ALTER TABLE [ONLY] T ADD CONSTRAINT N FOREIGN KEY (...) REFERENCES R" at p. */
static const char *parse_fkey(const char *p, struct ado_pg_fkey *k)
{
	const char *q;

	if (!(p = word(p, "ALTER TABLE ")))
		return NULL;
	if ((q = word(p, "ONLY ")))
		p = q;
	if (!(p = qualified(skip_ws(p), &k->table)) || !(p = word(p, "ADD CONSTRAINT ")) ||
	    !(p = ident(skip_ws(p), &k->name)) || !(p = word(p, "FOREIGN KEY")) || !(p = parens(p)) ||
	    !(p = word(p, "REFERENCES ")) || !(p = qualified(skip_ws(p), &k->references)))
		return NULL;
	return p;
}

static int read_fkeys(const char *sql_path, struct ado_pg_toc *t, struct ado_err *e)
{
	FILE *f = fopen(sql_path, "r");
	char *sql = NULL;
	size_t len = 0, k = 0;
	const char *p;
	int rc = -1;

	if (!f)
		return ado_err_set(e, ADO_E_IO, errno, "cannot read '%s'", sql_path);
	{
		FILE *m = open_memstream(&sql, &len);
		char buf[8192];
		size_t n;
		if (!m) {
			fclose(f);
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		}
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, m);
		fclose(m);
	}
	fclose(f);
	if (!sql)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	/* one statement per entry, each starting a line */
	for (p = sql; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, "ALTER TABLE ", 12) != 0)
			continue;
		if (k == t->nfkeys || !parse_fkey(p, &t->fkeys[k])) {
			ado_err_set(e, ADO_E_FORMAT, 0, "cannot read foreign key %zu of the dump: '%.80s'", k + 1, p);
			goto out;
		}
		k++;
	}
	if (k != t->nfkeys) {
		ado_err_set(e, ADO_E_FORMAT, 0, "the dump lists %zu foreign keys, pg_restore wrote %zu", t->nfkeys, k);
		goto out;
	}
	rc = 0;
out:
	free(sql);
	return rc;
}

int ado_pg_toc_write(const struct ado_pg_toc *t, int mode, const unsigned char *skip, const char *path,
		     struct ado_err *e)
{
	FILE *f = fopen(path, "w");
	size_t k = 0;

	if (!f)
		return ado_err_set(e, ADO_E_IO, errno, "cannot write '%s'", path);
	for (size_t i = 0; i < t->nlines; i++) {
		int fk = k < t->nfkeys && t->fkeys[k].line == i, keep;
		if (fk)
			keep = mode != ADO_PG_TOC_NO_FKEYS && !(skip && skip[k]);
		else
			keep = mode != ADO_PG_TOC_FKEYS;
		if (fk)
			k++;
		if (keep)
			fprintf(f, "%s\n", t->lines[i]);
	}
	if (ferror(f) | (fclose(f) != 0))
		return ado_err_set(e, ADO_E_IO, errno, "cannot write '%s'", path);
	return 0;
}

int ado_pg_toc_read(struct ado_pg *pg, const char *file, const char *tmp_dir, struct ado_pg_toc **out,
		    struct ado_err *e)
{
	struct ado_pg_restore_opts ro = { 0 };
	struct ado_pg_toc *t = calloc(1, sizeof(*t));
	char toc[PATH_MAX] = "", list[PATH_MAX] = "", sql[PATH_MAX] = "";
	int rc = -1;

	*out = NULL;
	if (!t)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	if (ado_pg_tmp_file(tmp_dir, "ado-toc", toc, sizeof(toc), e) < 0)
		goto out;
	ro.file = file;
	ro.toc = 1;
	ro.script = toc;
	if (ado_pg_restore_file(pg, ado_pg_dbname(pg), &ro, e) < 0 || read_lines(toc, t, e) < 0)
		goto out;
	if (t->nfkeys) {
		if (ado_pg_tmp_file(tmp_dir, "ado-fk", list, sizeof(list), e) < 0 ||
		    ado_pg_toc_write(t, ADO_PG_TOC_FKEYS, NULL, list, e) < 0 ||
		    ado_pg_tmp_file(tmp_dir, "ado-fksql", sql, sizeof(sql), e) < 0)
			goto out;
		ro.toc = 0;
		ro.list = list;
		ro.script = sql;
		if (ado_pg_restore_file(pg, ado_pg_dbname(pg), &ro, e) < 0 || read_fkeys(sql, t, e) < 0)
			goto out;
	}
	*out = t;
	t = NULL;
	rc = 0;
out:
	if (toc[0])
		unlink(toc);
	if (list[0])
		unlink(list);
	if (sql[0])
		unlink(sql);
	ado_pg_toc_free(t);
	return rc;
}
