/* duration.c - durations ("30 days", "2h30m") and compression names: parsed
 * from the config and printed by the tools. */
#include "config/config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "config/internal.h"

static const struct {
	const char *name;
	long long secs;
} units[] = {
	{ "s", 1 },	      { "sec", 1 },	   { "secs", 1 },	{ "second", 1 },
	{ "seconds", 1 },     { "m", 60 },	   { "min", 60 },	{ "mins", 60 },
	{ "minute", 60 },     { "minutes", 60 },   { "h", 3600 },	{ "hr", 3600 },
	{ "hrs", 3600 },      { "hour", 3600 },	   { "hours", 3600 },	{ "d", 86400 },
	{ "day", 86400 },     { "days", 86400 },   { "w", 604800 },	{ "week", 604800 },
	{ "weeks", 604800 },  { "month", 2592000 }, { "months", 2592000 }, { "y", 31536000 },
	{ "year", 31536000 }, { "years", 31536000 },
};

/* Returns 0, or -1 with *why saying what is wrong with s. */
static int duration_parse(const char *s, long long *out, const char **why)
{
	long long total = 0;
	int terms = 0;

	for (;;) {
		long long v = 0;
		size_t ul = 0;
		size_t i;
		const char *u;

		while (isspace((unsigned char)*s) || (terms && *s == ','))
			s++;
		if (!*s)
			break;
		if (*s == '-') {
			*why = "a duration cannot be negative";
			return -1;
		}
		if (!isdigit((unsigned char)*s)) {
			*why = "a duration is a number followed by a unit";
			return -1;
		}
		for (; isdigit((unsigned char)*s); s++) {
			if (v > (LLONG_MAX - 9) / 10) {
				*why = "the number is too large";
				return -1;
			}
			v = v * 10 + (*s - '0');
		}
		if (*s == '.') {
			*why = "use whole numbers, as in '2h30m' rather than '2.5h'";
			return -1;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		for (u = s; isalpha((unsigned char)u[ul]); ul++)
			;
		if (ul == 0) {
			*why = "a unit is required, as in '30 days' or '15m'";
			return -1;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == ul && !strncasecmp(u, units[i].name, ul))
				break;
		if (i == sizeof(units) / sizeof(units[0])) {
			*why = "units are s, m, h, d, w, month and y (or their long names)";
			return -1;
		}
		if (v > (LLONG_MAX - total) / units[i].secs) {
			*why = "the duration is too long";
			return -1;
		}
		total += v * units[i].secs;
		terms++;
		s = u + ul;
	}
	if (!terms) {
		*why = "a duration is a number followed by a unit";
		return -1;
	}
	*out = total;
	return 0;
}

int ado_duration_parse(const char *s, long long *out, struct ado_err *e)
{
	const char *why = "";

	if (duration_parse(s, out, &why) == 0)
		return 0;
	ado_err_set(e, ADO_E_CONFIG, 0, "expected a duration like '30 days' or '24h', found '%.60s'", s);
	return ado_err_hint(e, "%s", why);
}

void ado_duration_format(long long secs, char *buf, size_t len)
{
	static const struct {
		char u;
		long long s;
	} parts[] = { { 'y', 31536000 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	size_t o = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (secs < 0) {
		snprintf(buf, len, "-");
		o = 1;
		secs = secs == LLONG_MIN ? LLONG_MAX : -secs;
	}
	if (secs == 0) {
		snprintf(buf + o, o < len ? len - o : 0, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && secs; i++) {
		long long q = secs / parts[i].s;

		if (!q)
			continue;
		secs -= q * parts[i].s;
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%lld%c", q, parts[i].u);
	}
}

const char *ado_compression_name(enum ado_compression c)
{
	switch (c) {
	case ADO_COMP_NONE:
		return "none";
	case ADO_COMP_GZIP:
		return "gzip";
	case ADO_COMP_LZ4:
		return "lz4";
	case ADO_COMP_ZSTD:
		return "zstd";
	}
	return "unknown";
}

const char *ado_compression_ext(enum ado_compression c)
{
	switch (c) {
	case ADO_COMP_NONE:
		return "";
	case ADO_COMP_GZIP:
		return ".gz";
	case ADO_COMP_LZ4:
		return ".lz4";
	case ADO_COMP_ZSTD:
		return ".zst";
	}
	return "";
}

int ado_compression_parse(const char *s, enum ado_compression *out)
{
	static const enum ado_compression all[] = { ADO_COMP_NONE, ADO_COMP_GZIP, ADO_COMP_LZ4, ADO_COMP_ZSTD };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcasecmp(s, ado_compression_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	return -1;
}

/* A positive duration (or, when allow_forever, "forever" = 0). */
int cfg_get_duration(struct pctx *p, const yaml_node_t *n, const char *what, int allow_forever, long long *out)
{
	const char *s, *why = "";
	char fbuf[96];

	if (cfg_get_scalar(p, n, what, "a duration like '30 days' or '24h'", &s) < 0)
		return -1;
	if (allow_forever && !strcasecmp(s, "forever")) {
		*out = 0;
		return 0;
	}
	if (duration_parse(s, out, &why) < 0) {
		cfg_perr(p, n, "expected a duration like '30 days' or '24h' for %s, found %s", what, FOUND(n));
		return ado_err_hint(p->e, "%s", why);
	}
	if (*out == 0) {
		cfg_perr(p, n, "expected a duration longer than zero for %s, found %s", what, FOUND(n));
		return allow_forever ? ado_err_hint(p->e, "write 'forever' to keep every backup") : -1;
	}
	return 0;
}
