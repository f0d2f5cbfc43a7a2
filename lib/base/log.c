#include "base/log.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SECRETS 32

static const char *prog = "ado";
static enum ado_loglevel level = ADO_LOG_WARN;
static char *secrets[MAX_SECRETS];
static size_t nsecrets;
static void (*before_fn)(void *arg);
static void *before_arg;

void ado_log_set_before(void (*fn)(void *arg), void *arg)
{
	before_fn = fn;
	before_arg = arg;
}

void ado_log_init(const char *p)
{
	const char *slash = strrchr(p, '/');

	prog = slash ? slash + 1 : p;
}

void ado_log_set_level(enum ado_loglevel l) { level = l; }
enum ado_loglevel ado_log_level(void) { return level; }
const char *ado_log_prog(void) { return prog; }

void ado_log_redact(const char *secret)
{
	if (!secret || strlen(secret) < 4 || nsecrets == MAX_SECRETS)
		return;
	for (size_t i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i], secret) == 0)
			return;
	secrets[nsecrets] = strdup(secret);
	if (secrets[nsecrets])
		nsecrets++;
}

void ado_log_redact_clear(void)
{
	for (size_t i = 0; i < nsecrets; i++) {
		OPENSSL_cleanse(secrets[i], strlen(secrets[i]));
		free(secrets[i]);
	}
	nsecrets = 0;
}

void ado_log_redact_copy(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	if (len == 0)
		return;
	while (*src && o + 1 < len) {
		size_t hit = 0;
		for (size_t i = 0; i < nsecrets; i++) {
			size_t sl = strlen(secrets[i]);
			if (strncmp(src, secrets[i], sl) == 0) {
				hit = sl;
				break;
			}
		}
		if (hit) {
			const char *r = "<redacted>";
			while (*r && o + 1 < len)
				dst[o++] = *r++;
			src += hit;
		} else {
			dst[o++] = *src++;
		}
	}
	dst[o] = '\0';
}

static void emit(const char *prefix, const char *fmt, va_list ap)
{
	char raw[4096], clean[4096];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	ado_log_redact_copy(clean, sizeof(clean), raw);
	if (before_fn)
		before_fn(before_arg);
	fprintf(stderr, "%s%s\n", prefix, clean);
	fflush(stderr);
}

#define LOGFN(fn, lvl, pfx_fmt) \
	void fn(const char *fmt, ...) \
	{ \
		char pfx[128]; \
		va_list ap; \
		if (level < lvl) \
			return; \
		snprintf(pfx, sizeof(pfx), pfx_fmt, prog); \
		va_start(ap, fmt); \
		emit(pfx, fmt, ap); \
		va_end(ap); \
	}

LOGFN(ado_error, ADO_LOG_ERROR, "%s: ")
LOGFN(ado_warn, ADO_LOG_WARN, "%s: warning: ")
LOGFN(ado_notice, ADO_LOG_WARN, "%s: ")
LOGFN(ado_info, ADO_LOG_INFO, "%s: ")
LOGFN(ado_debug, ADO_LOG_DEBUG, "%s: debug: ")

void ado_hint(const char *fmt, ...)
{
	va_list ap;

	if (level < ADO_LOG_ERROR)
		return;
	va_start(ap, fmt);
	emit("hint: ", fmt, ap);
	va_end(ap);
}

int ado_trace_on(void)
{
	const char *v = getenv("ADO_TRACE");

	return level >= ADO_LOG_DEBUG || (v && *v && strcmp(v, "0") != 0);
}

void ado_trace(const char *fmt, ...)
{
	char pfx[128];
	va_list ap;

	if (!ado_trace_on())
		return;
	snprintf(pfx, sizeof(pfx), "%s: trace: ", prog);
	va_start(ap, fmt);
	emit(pfx, fmt, ap);
	va_end(ap);
}

void ado_log_err(const struct ado_err *e)
{
	char buf[1400];

	ado_error("%s", ado_err_str(e, buf, sizeof(buf)));
	if (e->hint[0])
		ado_hint("%s", e->hint);
}
