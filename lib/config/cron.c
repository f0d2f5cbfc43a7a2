/* cron.c - 5-field cron expressions, vixie-cron semantics. */
#include "config/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun",
					   "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

struct field {
	const char *name;
	int min, max;		/* accepted values (day-of-week accepts 7 for Sunday) */
	int star_max;		/* what '*' spans: day-of-week '*' is 0-6, not 0-7 */
	const char *const *names;
	int name_base;		/* value of names[0] */
	const char *name_hint;
};

static const struct field fields[5] = {
	{ "minute", 0, 59, 59, NULL, 0, "" },
	{ "hour", 0, 23, 23, NULL, 0, "" },
	{ "day-of-month", 1, 31, 31, NULL, 0, "" },
	{ "month", 1, 12, 12, month_names, 1, " or a name jan-dec" },
	{ "day-of-week", 0, 7, 6, dow_names, 0, " or a name sun-sat" },
};

/* The shortcuts vixie cron and cronie accept; @reboot has no meaning for a
 * schedule that is checked against the clock. */
static const struct {
	const char *name, *expr;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },	  { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* One value: a number or (where the field has them) a three-letter name. */
static int parse_value(const struct field *f, const char *s, size_t len, int *out, const char *tok,
		       struct ado_err *e)
{
	int v = 0;

	if (len == 0)
		return ado_err_set(e, ADO_E_CONFIG, 0, "%s field: '%s' is missing a number", f->name, tok);
	if (isdigit((unsigned char)s[0])) {
		for (size_t i = 0; i < len; i++) {
			if (!isdigit((unsigned char)s[i]))
				return ado_err_set(e, ADO_E_CONFIG, 0, "%s field: '%s' is not a number%s",
						   f->name, tok, f->name_hint);
			if (v < 1000)
				v = v * 10 + (s[i] - '0');
		}
		if (v < f->min || v > f->max)
			return ado_err_set(e, ADO_E_CONFIG, 0, "%s field: '%s' is out of range %d-%d", f->name,
					   tok, f->min, f->max);
		*out = v;
		return 0;
	}
	if (f->names && len == 3) {
		for (int i = 0; f->names[i]; i++)
			if (strncasecmp(s, f->names[i], 3) == 0) {
				*out = f->name_base + i;
				return 0;
			}
	}
	return ado_err_set(e, ADO_E_CONFIG, 0, "%s field: '%s' is not a number%s", f->name, tok, f->name_hint);
}

/* One list element: '*' | V | V-V, optionally followed by /STEP. */
static int parse_elem(const struct field *f, const char *s, size_t len, uint64_t *bits, struct ado_err *e)
{
	char tok[64];
	const char *slash = memchr(s, '/', len);
	size_t body = slash ? (size_t)(slash - s) : len;
	int lo, hi, step = 1;

	snprintf(tok, sizeof(tok), "%.*s", (int)(len < 60 ? len : 60), s);
	if (slash) {
		const char *st = slash + 1;
		size_t sl = len - body - 1;
		long v = 0;

		if (sl == 0)
			return ado_err_set(e, ADO_E_CONFIG, 0, "%s field: '%s' is missing the step after '/'",
					   f->name, tok);
		for (size_t i = 0; i < sl; i++) {
			if (!isdigit((unsigned char)st[i]))
				return ado_err_set(e, ADO_E_CONFIG, 0, "%s field: step in '%s' is not a number",
						   f->name, tok);
			if (v < 1000)
				v = v * 10 + (st[i] - '0');
		}
		if (v < 1 || v > f->max)
			return ado_err_set(e, ADO_E_CONFIG, 0, "%s field: step in '%s' is out of range 1-%d",
					   f->name, tok, f->max);
		step = (int)v;
	}
	if (body == 1 && s[0] == '*') {
		lo = f->min;
		hi = f->star_max;
	} else {
		const char *dash = memchr(s, '-', body);

		if (dash) {
			if (parse_value(f, s, (size_t)(dash - s), &lo, tok, e) < 0 ||
			    parse_value(f, dash + 1, body - (size_t)(dash - s) - 1, &hi, tok, e) < 0)
				return -1;
			if (hi < lo)
				return ado_err_set(e, ADO_E_CONFIG, 0, "%s field: range '%s' runs backwards",
						   f->name, tok);
		} else {
			if (parse_value(f, s, body, &lo, tok, e) < 0)
				return -1;
			/* "5/15" means 5-max/15, as in cronie; a plain "5" is just 5 */
			hi = slash ? f->star_max : lo;
		}
	}
	for (int v = lo; v <= hi; v += step)
		*bits |= (uint64_t)1 << v;
	return 0;
}

static int parse_field(const struct field *f, const char *s, size_t len, uint64_t *bits, struct ado_err *e)
{
	size_t i = 0;

	*bits = 0;
	while (i <= len) {
		size_t j = i;

		while (j < len && s[j] != ',')
			j++;
		if (j == i) {
			char tok[64];

			snprintf(tok, sizeof(tok), "%.*s", (int)(len < 60 ? len : 60), s);
			return ado_err_set(e, ADO_E_CONFIG, 0, "%s field: '%s' has an empty list item",
					   f->name, tok);
		}
		if (parse_elem(f, s + i, j - i, bits, e) < 0)
			return -1;
		i = j + 1;
	}
	return 0;
}

int ado_cron_parse(const char *expr, struct ado_cron *out, struct ado_err *e)
{
	const char *p = expr, *start[5];
	size_t len[5];
	uint64_t bits[5];
	int n = 0;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '@') {
		size_t l = strcspn(p, " \t\r\n");
		const char *rest = p + l;

		while (isspace((unsigned char)*rest))
			rest++;
		for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (!*rest && strlen(macros[i].name) == l && strncasecmp(p, macros[i].name, l) == 0)
				return ado_cron_parse(macros[i].expr, out, e);
		return ado_err_set(e, ADO_E_CONFIG, 0,
				   "expected five fields or @hourly, @daily, @weekly, @monthly, @yearly, found '%.60s'",
				   expr);
	}
	while (*p) {
		const char *q = p;

		while (*q && !isspace((unsigned char)*q))
			q++;
		if (n < 5) {
			start[n] = p;
			len[n] = (size_t)(q - p);
		}
		n++;
		p = q;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (n != 5)
		return ado_err_set(e, ADO_E_CONFIG, 0,
				   "expected 5 fields (minute hour day-of-month month day-of-week), found %d in '%.60s'",
				   n, expr);
	for (int i = 0; i < 5; i++)
		if (parse_field(&fields[i], start[i], len[i], &bits[i], e) < 0)
			return -1;
	/* 7 is another name for Sunday */
	if (bits[4] & (1u << 7))
		bits[4] = (bits[4] & ~(uint64_t)(1u << 7)) | 1u;
	memset(out, 0, sizeof(*out));
	out->minute = bits[0];
	out->hour = (uint32_t)bits[1];
	out->dom = (uint32_t)bits[2];
	out->month = (uint16_t)bits[3];
	out->dow = (uint8_t)bits[4];
	/* vixie cron decides "restricted" by the first character only: "*\/2" counts as '*' */
	out->dom_star = start[2][0] == '*';
	out->dow_star = start[4][0] == '*';
	return 0;
}

static int day_matches(const struct ado_cron *c, int mday, int wday)
{
	int dom = (c->dom >> mday) & 1, dow = (c->dow >> wday) & 1;

	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

int ado_cron_matches(const struct ado_cron *c, const struct tm *tm)
{
	return ((c->minute >> tm->tm_min) & 1) && ((c->hour >> tm->tm_hour) & 1) &&
	       ((c->month >> (tm->tm_mon + 1)) & 1) && day_matches(c, tm->tm_mday, tm->tm_wday);
}

/* Re-normalize tm after bumping a field; returns the new time. */
static time_t renorm(struct tm *tm)
{
	time_t t;

	tm->tm_isdst = 0;
	t = timegm(tm);
	gmtime_r(&t, tm);
	return t;
}

time_t ado_cron_next(const struct ado_cron *c, time_t after)
{
	long long rem = ((long long)after % 60 + 60) % 60;
	time_t t = after - (time_t)rem + 60;
	time_t limit = after + (time_t)5 * 366 * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	/* Skip whole months, days and hours that cannot match, so a yearly
	 * schedule costs a few hundred steps rather than half a million. */
	while (t <= limit) {
		uint64_t m;

		if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
			t = renorm(&tm);
			continue;
		}
		if (!day_matches(c, tm.tm_mday, tm.tm_wday)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
			t = renorm(&tm);
			continue;
		}
		if (!((c->hour >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = tm.tm_sec = 0;
			t = renorm(&tm);
			continue;
		}
		m = c->minute >> tm.tm_min;
		if (m) {
			t += (time_t)__builtin_ctzll(m) * 60;
			return t <= limit ? t : (time_t)-1;
		}
		tm.tm_hour++;
		tm.tm_min = tm.tm_sec = 0;
		t = renorm(&tm);
	}
	return (time_t)-1;
}

long long ado_cron_max_gap(const struct ado_cron *c, time_t from)
{
	time_t end = from + (time_t)365 * 86400;
	time_t prev = ado_cron_next(c, from);
	long long max = 0;

	if (prev == (time_t)-1)
		return -1;
	/* at least one gap, so a schedule that fires once in several years
	 * (29 February) reports that gap rather than 0 */
	do {
		time_t n = ado_cron_next(c, prev);

		if (n == (time_t)-1)
			return max ? max : -1;
		if ((long long)(n - prev) > max)
			max = (long long)(n - prev);
		prev = n;
	} while (prev <= end);
	return max;
}

/* One field of an OnCalendar expression from the bits lo..hi of a cron
 * field: "*", "05", "00/15" (a series that runs to the end), or "01,15". */
static void calendar_field(uint64_t bits, int lo, int hi, char *out, size_t len)
{
	int v[64], n = 0, step;
	size_t o = 0;

	for (int i = lo; i <= hi; i++)
		if ((bits >> i) & 1)
			v[n++] = i;
	if (n == hi - lo + 1) {
		snprintf(out, len, "*");
		return;
	}
	step = n > 1 ? v[1] - v[0] : 0;
	for (int i = 2; step && i < n; i++)
		if (v[i] - v[i - 1] != step)
			step = 0;
	/* "a/n" in systemd repeats to the end of the field's range */
	if (n > 2 && step && v[n - 1] + step > hi) {
		snprintf(out, len, "%02d/%d", v[0], step);
		return;
	}
	for (int i = 0; i < n && o + 4 < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%02d", i ? "," : "", v[i]);
}

int ado_cron_to_oncalendar(const char *expr, char *buf, size_t len, struct ado_err *e)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	struct ado_cron c;
	char dow[64] = "", mon[48], dom[96], hour[80], min[192];
	size_t o = 0;

	if (ado_cron_parse(expr, &c, e) < 0)
		return -1;
	if (!c.dom_star && !c.dow_star)
		return ado_err_set(e, ADO_E_UNSUPPORTED, 0,
				   "schedule '%.60s' restricts both day-of-month and day-of-week, which cron reads as "
				   "either; OnCalendar= cannot say that", expr);
	if ((c.dow & 0x7f) != 0x7f) {
		/* runs of days as ranges: "Mon..Fri", "Sat,Sun" */
		for (int d = 0; d < 7; d++) {
			int end = d;

			if (!((c.dow >> d) & 1))
				continue;
			while (end + 1 < 7 && ((c.dow >> (end + 1)) & 1))
				end++;
			o += (size_t)snprintf(dow + o, sizeof(dow) - o, "%s%s%s%s", o ? "," : "", days[d],
					      end > d + 1 ? ".." : end == d + 1 ? "," : "", end > d ? days[end] : "");
			d = end;
		}
		o += (size_t)snprintf(dow + o, sizeof(dow) - o, " ");
	}
	calendar_field(c.month, 1, 12, mon, sizeof(mon));
	calendar_field(c.dom, 1, 31, dom, sizeof(dom));
	calendar_field(c.hour, 0, 23, hour, sizeof(hour));
	calendar_field(c.minute, 0, 59, min, sizeof(min));
	if ((size_t)snprintf(buf, len, "%s*-%s-%s %s:%s:00 UTC", dow, mon, dom, hour, min) >= len)
		return ado_err_set(e, ADO_E_UNSUPPORTED, 0, "schedule '%.60s' is too long for OnCalendar=", expr);
	return 0;
}
