/* log.h - diagnostics on stderr, git/err(3) style:
 *   "ado-backup: cannot open '/x': Permission denied"
 *   "hint: check the key file's mode"
 * Every line passes through redaction: secrets registered with ado_log_redact()
 * are replaced by "<redacted>" wherever they appear. stdout is never touched. */
#ifndef ADO_LOG_H
#define ADO_LOG_H

#include "base/error.h"

enum ado_loglevel { ADO_LOG_QUIET = 0, ADO_LOG_ERROR, ADO_LOG_WARN, ADO_LOG_INFO, ADO_LOG_DEBUG };

/* Set the program name printed first on every line; level defaults to WARN. */
void ado_log_init(const char *prog);
void ado_log_set_level(enum ado_loglevel level);
enum ado_loglevel ado_log_level(void);
const char *ado_log_prog(void);

/* Register a secret (copied) to be redacted from every later line. Strings
 * shorter than 4 characters are ignored. ado_log_redact_clear() wipes them. */
void ado_log_redact(const char *secret);
void ado_log_redact_clear(void);
/* Copy src into dst (size len) with every registered secret replaced. */
void ado_log_redact_copy(char *dst, size_t len, const char *src);

/* fn(arg) runs before each line is written to stderr (a progress meter
 * erases itself there so lines never interleave); NULL removes it. */
void ado_log_set_before(void (*fn)(void *arg), void *arg);

void ado_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ado_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Something the operator should see without -v (what retention removes):
 * shown at the default level, hidden by -q; no "warning:" prefix. */
void ado_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ado_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ado_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ado_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Store request tracing (ADO_TRACE=1 in the environment, or level DEBUG):
 * ado_trace_on() says whether it is on; ado_trace() prints "prog: trace: ...". */
int ado_trace_on(void);
void ado_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print an error context: "prog: msg: strerror" then "hint: ..." if any. */
void ado_log_err(const struct ado_err *e);

#endif
