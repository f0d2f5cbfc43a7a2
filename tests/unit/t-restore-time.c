/* t-restore-time.c - ado_parse_time (lib/job/restore.c): what --before accepts. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "job/restore.h"

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return timegm(&tm);
}

static void is_time(const char *s, time_t want)
{
	struct ado_err e;
	time_t t = 0;

	ado_err_clear(&e);
	is_int(ado_parse_time(s, &t, &e), 0, "'%s' is read", s);
	is_int(t, want, "'%s' is the expected time", s);
}

int main(void)
{
	struct ado_err e;
	time_t t, now;

	/* local times in a zone one hour east of UTC (POSIX TZ: no tzdata needed) */
	setenv("TZ", "CET-1", 1);
	tzset();
	is_time("2026-11-30T11:55:30+01:00", utc(2026, 11, 30, 10, 55, 30));
	is_time("2026-11-30T10:55:30Z", utc(2026, 11, 30, 10, 55, 30));
	is_time("2026-11-30T10:55:30.250Z", utc(2026, 11, 30, 10, 55, 30));
	is_time("2026-11-30T16:25:30+0530", utc(2026, 11, 30, 10, 55, 30));
	is_time("2026-11-30T05:55:30-05:00", utc(2026, 11, 30, 10, 55, 30));
	is_time("2026-11-30 11:55:30", utc(2026, 11, 30, 10, 55, 30));
	is_time("2026-11-30 11:55", utc(2026, 11, 30, 10, 55, 0));
	is_time("2026-11-30", utc(2026, 11, 29, 23, 0, 0));
	is_time("20261130T105530Z", utc(2026, 11, 30, 10, 55, 30));

	now = time(NULL);
	ok(ado_parse_time("2 hours ago", &t, &e) == 0 && labs((long)(now - 7200 - t)) <= 2, "'2 hours ago'");
	ok(ado_parse_time("90 minutes ago", &t, &e) == 0 && labs((long)(now - 5400 - t)) <= 2, "'90 minutes ago'");
	ok(ado_parse_time("3 days ago", &t, &e) == 0 && labs((long)(now - 3 * 86400 - t)) <= 2, "'3 days ago'");

	is_int(ado_parse_time("yesterday-ish", &t, &e), -1, "a word: refused");
	is_int(e.kind, ADO_E_USAGE, "... as a usage error");
	is_str(e.msg, "cannot read time 'yesterday-ish'", "... naming it");
	like(e.hint, "'2 hours ago'", "... the hint shows the forms");
	is_int(ado_parse_time("2026-11-30T11:55:30+25:00", &t, &e), -1, "an offset past 23 hours: refused");
	is_int(ado_parse_time("2026-11-30T11:55:30 UTC", &t, &e), -1, "a zone name: refused");
	is_int(ado_parse_time("soon ago", &t, &e), -1, "'ago' after something that is no duration: refused");
	return done_testing();
}
