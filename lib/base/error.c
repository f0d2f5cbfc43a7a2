#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int code;
	const char *desc;
} table[] = {
#define ADO_X(name, code, desc) { #name, code, desc },
	ADO_ERROR_TABLE(ADO_X)
#undef ADO_X
};

void ado_err_clear(struct ado_err *e)
{
	if (!e)
		return;
	e->kind = ADO_E_NONE;
	e->sys_errno = 0;
	e->msg[0] = '\0';
	e->hint[0] = '\0';
}

int ado_err_set(struct ado_err *e, enum ado_errkind kind, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->kind = kind;
	e->sys_errno = errnum;
	e->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int ado_err_hint(struct ado_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
	return -1;
}

int ado_err_prefix(struct ado_err *e, const char *fmt, ...)
{
	char pre[512], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	snprintf(e->msg, sizeof(e->msg), "%.*s: %.*s", 500, pre, (int)(sizeof(e->msg) - 503), old);
	return -1;
}

int ado_err_exit(enum ado_errkind kind)
{
	if ((unsigned)kind >= ADO_E__COUNT)
		return 1;
	return table[kind].code;
}

const char *ado_err_desc(enum ado_errkind kind)
{
	return (unsigned)kind < ADO_E__COUNT ? table[kind].desc : "unknown error";
}

const char *ado_err_name(enum ado_errkind kind)
{
	return (unsigned)kind < ADO_E__COUNT ? table[kind].name : "UNKNOWN";
}

const char *ado_err_str(const struct ado_err *e, char *buf, size_t len)
{
	if (e->sys_errno)
		snprintf(buf, len, "%s: %s", e->msg, strerror(e->sys_errno));
	else
		snprintf(buf, len, "%s", e->msg);
	return buf;
}
