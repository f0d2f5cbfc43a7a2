/* lib/base/ - the floor: the error table, diagnostics and redaction (log), JSON
 * output, signals, file-system helpers and locks. Everything else builds on it;
 * it includes nothing else of lib/ (libc and OpenSSL only). */

/* error.h - the one table of error kinds.
 *
 * lib/ never prints and never exits: a function that fails returns -1 and fills
 * a struct ado_err (kind, errno, message, hint). The tool's main() prints it
 * with ado_log_err() and maps the kind to an exit status with ado_err_exit(). */
#ifndef ADO_ERROR_H
#define ADO_ERROR_H

#include <stddef.h>

/* X(NAME, exit status, short description) */
#define ADO_ERROR_TABLE(X) \
	X(NONE,        0, "no error") \
	X(USAGE,       2, "usage error") \
	X(CONFIG,      2, "configuration error") \
	X(NOTFOUND,    1, "not found") \
	X(IO,          1, "i/o error") \
	X(NOMEM,       1, "out of memory") \
	X(FORMAT,      1, "malformed data") \
	X(INTEGRITY,   1, "integrity check failed") \
	X(AUTH,        1, "authentication failed") \
	X(WRONGKEY,    1, "wrong key") \
	X(UNSAFE,      1, "unsafe path") \
	X(EXISTS,      1, "already exists") \
	X(LOCKED,      4, "locked by another run") \
	X(DB,          1, "database error") \
	X(NET,         1, "network error") \
	X(REMOTE,      1, "remote service error") \
	X(ARCHIVED,    6, "archived: needs a restore request first") \
	X(CHILD,       1, "child process failed") \
	X(INTERRUPTED, 1, "interrupted") \
	X(UNSUPPORTED, 2, "not supported") \
	X(INTERNAL,    1, "internal error")

enum ado_errkind {
#define ADO_X(name, code, desc) ADO_E_##name,
	ADO_ERROR_TABLE(ADO_X)
#undef ADO_X
	ADO_E__COUNT
};

struct ado_err {
	enum ado_errkind kind;
	int sys_errno;		/* 0, or the errno that caused it (printed last) */
	char msg[1024];		/* lowercase, no full stop, subject in quotes */
	char hint[512];		/* what the on-call engineer should do; may be "" */
};

/* Reset to "no error". Accepts NULL. */
void ado_err_clear(struct ado_err *e);

/* Fill e (which may be NULL) and return -1, so callers can `return ado_err_set(...)`.
 * errnum is 0 or an errno value. */
int ado_err_set(struct ado_err *e, enum ado_errkind kind, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Set the hint of an already-filled error; returns -1. */
int ado_err_hint(struct ado_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the message with "CONTEXT: " keeping kind/errno/hint; returns -1. */
int ado_err_prefix(struct ado_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit status for a kind, per the table. */
int ado_err_exit(enum ado_errkind kind);

/* Short description and symbolic name ("CONFIG") of a kind. */
const char *ado_err_desc(enum ado_errkind kind);
const char *ado_err_name(enum ado_errkind kind);

/* "message: strerror(errno)" into buf; returns buf. */
const char *ado_err_str(const struct ado_err *e, char *buf, size_t len);

#endif
