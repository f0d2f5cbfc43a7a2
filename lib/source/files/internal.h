/* internal.h - what write.c, index.c and extract.c share; not for use outside
 * lib/source/files/ (files.h is the public API).
 *
 *   write.c    the backup side: disk walk -> pax tar + index lines
 *   index.c    the index format: %XX escaping, one line split into fields,
 *              lines collected across writes, the --list-files sink
 *   extract.c  the restore side: safe extraction, the index check
 *   written.c  what an extraction wrote: size and SHA-256 by path, bounded */
#ifndef ADO_FILES_INTERNAL_H
#define ADO_FILES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "source/files/files.h"

/* The longest index line a reader accepts (files.h: "a line over 64 KiB"). */
#define INDEX_LINE_MAX (64 * 1024)

/* --- index.c --- */

/* Percent-escape a path for the index (and for messages, which then stay on
 * one line whatever the file is called). Returns malloc'd text or NULL. */
char *files_pct_escape(const char *s);

/* In place; -1 on a malformed escape or one that decodes to NUL. */
int files_pct_unescape(char *s);

/* One index line's fields, pointing into the line. */
struct line_in {
	char type;
	unsigned mode;
	uint64_t size;
	char *sha;
	char *path;		/* still escaped */
};

/* Split one index line (NUL-terminated, no newline) in place.
 * A malformed line -> ADO_E_FORMAT "index line N: ...". Returns 0 or -1. */
int files_parse_line(char *line, uint64_t lineno, struct line_in *li, struct ado_err *e);

/* Collects lines across writes and hands each complete one to fn. buf (the
 * owner allocates and frees it) holds at least INDEX_LINE_MAX + 1 bytes. */
struct lines {
	char *buf;
	size_t len;
	uint64_t lineno;
	int (*fn)(void *state, char *line, uint64_t lineno, struct ado_err *e);
	void *state;
};

/* Feed n bytes; fn's -1 stops and is returned. A line over INDEX_LINE_MAX or
 * holding a NUL -> ADO_E_FORMAT. */
int files_lines_push(struct lines *l, const void *data, size_t n, struct ado_err *e);

/* At the end of the stream: a partial last line -> ADO_E_FORMAT. */
int files_lines_finish(struct lines *l, struct ado_err *e);

/* --- write.c --- */

/* p without leading "./" components (and the slashes after them). */
const char *files_strip_dot_slash(const char *p);

/* Counts a warning in st->warnings and, if warn is set, formats it and passes
 * it on (at most 2 KiB, truncated beyond). */
void files_warnv(ado_files_warn_fn warn, void *arg, struct ado_files_stats *st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* --- written.c --- */

/* src as the key of the written-files table: no "." or empty components,
 * single slashes, none leading or trailing (".." is refused before this).
 * dst holds at least strlen(src) + 1 bytes. Returns strlen(dst). */
size_t files_canon_path(char *dst, const char *src);

/* Record (or replace) path's size and SHA-256; past the budget a new path is
 * left out (counted in ado_files_written_dropped). t may be NULL. */
void files_written_put(struct ado_files_written *t, const char *path, uint64_t size, const unsigned char sha[32]);

/* Drop path's record: its file is no longer what was recorded. */
void files_written_forget(struct ado_files_written *t, const char *path);

/* path is now a hard link to target: it gets target's record, or none. */
void files_written_link(struct ado_files_written *t, const char *path, const char *target);

/* 1 and the record if path has one (and the table is on), else 0. */
int files_written_get(const struct ado_files_written *t, const char *path, uint64_t *size, unsigned char sha[32]);

/* From now on nothing is recorded or found: every file is read back. */
void files_written_off(struct ado_files_written *t);

#endif
