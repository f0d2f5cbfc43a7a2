/* t-cron.c - lib/cron.c: parsing, matching, next firing, errors, max gap. */
#include <time.h>

#include "config/cron.h"
#include "tap.h"

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

static int matches_at(const struct ado_cron *c, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	return ado_cron_matches(c, &tm);
}

static void parse_ok(const char *expr, struct ado_cron *c)
{
	struct ado_err e;

	ado_err_clear(&e);
	if (!ok(ado_cron_parse(expr, c, &e) == 0, "parses '%s'", expr))
		printf("#   error: %s\n", e.msg);
}

static void parse_fails(const char *expr, const char *msg)
{
	struct ado_cron c;
	struct ado_err e;

	ado_err_clear(&e);
	ok(ado_cron_parse(expr, &c, &e) == -1, "'%s' is refused", expr);
	is_int(e.kind, ADO_E_CONFIG, "'%s': kind CONFIG", expr);
	is_str(e.msg, msg, "'%s': message names the field and token", expr);
}

static void test_parse(void)
{
	struct ado_cron c;

	parse_ok("*/15 * * * *", &c);
	is_int((long long)c.minute, (1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45), "*/15: minutes 0,15,30,45");
	is_int(c.hour, 0xFFFFFF, "*: every hour");
	is_int(c.dom, 0xFFFFFFFEu, "*: days 1-31");
	is_int(c.month, 0x1FFE, "*: months 1-12");
	is_int(c.dow, 0x7F, "*: Sunday-Saturday, bit 7 unused");
	ok(c.dom_star && c.dow_star, "both day fields are '*'");

	parse_ok("0 2 * * *", &c);
	is_int((long long)c.minute, 1, "0 2: minute 0");
	is_int(c.hour, 1u << 2, "0 2: hour 2");

	parse_ok("0 9-17/2 * * *", &c);
	is_int(c.hour, (1u << 9) | (1u << 11) | (1u << 13) | (1u << 15) | (1u << 17), "range with step");
	parse_ok("5/20 * * * *", &c);
	is_int((long long)c.minute, (1ULL << 5) | (1ULL << 25) | (1ULL << 45), "N/step runs N to the maximum");
	parse_ok("1,2,10-12 * * * *", &c);
	is_int((long long)c.minute, (1ULL << 1) | (1ULL << 2) | (1ULL << 10) | (1ULL << 11) | (1ULL << 12), "list");

	parse_ok("0 0 * JAN,jul sun", &c);
	is_int(c.month, (1u << 1) | (1u << 7), "month names, any case");
	is_int(c.dow, 1, "day name sun = 0");
	ok(c.dom_star && !c.dow_star, "dow restricted, dom '*'");
	parse_ok("0 0 * * 7", &c);
	is_int(c.dow, 1, "7 is Sunday");
	parse_ok("0 0 * * 5-7", &c);
	is_int(c.dow, (1u << 5) | (1u << 6) | 1u, "5-7 is Friday to Sunday");
	parse_ok("0 0 * * mon-fri", &c);
	is_int(c.dow, 0x3E, "mon-fri");
	parse_ok("0 0 */2 * *", &c);
	ok(c.dom_star, "'*/2' counts as '*' for the day rule (vixie)");
	parse_ok("  30   4 1,15 * 5  ", &c);
	ok(!c.dom_star && !c.dow_star, "extra blanks are fine; both day fields restricted");
	parse_ok("@daily", &c);
	is_int((long long)c.minute, 1, "@daily minute 0");
	is_int(c.hour, 1, "@daily hour 0");
	parse_ok("@hourly", &c);
	is_int(c.hour, 0xFFFFFF, "@hourly every hour");
}

static void test_errors(void)
{
	parse_fails("0 25 * * *", "hour field: '25' is out of range 0-23");
	parse_fails("60 * * * *", "minute field: '60' is out of range 0-59");
	parse_fails("0 0 32 * *", "day-of-month field: '32' is out of range 1-31");
	parse_fails("0 0 0 * *", "day-of-month field: '0' is out of range 1-31");
	parse_fails("0 0 * 13 *", "month field: '13' is out of range 1-12");
	parse_fails("0 0 * * 8", "day-of-week field: '8' is out of range 0-7");
	parse_fails("0 0 * foo *", "month field: 'foo' is not a number or a name jan-dec");
	parse_fails("0 0 * * funday", "day-of-week field: 'funday' is not a number or a name sun-sat");
	parse_fails("x * * * *", "minute field: 'x' is not a number");
	parse_fails("*/0 * * * *", "minute field: step in '*/0' is out of range 1-59");
	parse_fails("*/ * * * *", "minute field: '*/' is missing the step after '/'");
	parse_fails("5-1 * * * *", "minute field: range '5-1' runs backwards");
	parse_fails("1,,2 * * * *", "minute field: '1,,2' has an empty list item");
	parse_fails("-5 * * * *", "minute field: '-5' is missing a number");
	parse_fails("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4 in '* * * *'");
	parse_fails("* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 6 in '* * * * * *'");
	parse_fails("", "expected 5 fields (minute hour day-of-month month day-of-week), found 0 in ''");
	parse_fails("@reboot", "expected five fields or @hourly, @daily, @weekly, @monthly, @yearly, found '@reboot'");
	parse_fails("99999999999 * * * *", "minute field: '99999999999' is out of range 0-59");
}

static void test_match(void)
{
	struct ado_cron c;

	parse_ok("30 4 1,15 * 5", &c);	/* vixie: day 1 or 15, or any Friday */
	ok(matches_at(&c, utc(2025, 11, 1, 4, 30, 0)), "OR rule: the 1st (a Saturday) matches");
	ok(matches_at(&c, utc(2025, 11, 7, 4, 30, 0)), "OR rule: a Friday matches");
	ok(!matches_at(&c, utc(2025, 11, 8, 4, 30, 0)), "OR rule: Saturday the 8th does not");
	ok(!matches_at(&c, utc(2025, 11, 7, 4, 31, 0)), "wrong minute does not");

	parse_ok("0 0 */2 * 1", &c);	/* dom '*'-ish: both must match */
	ok(matches_at(&c, utc(2025, 11, 3, 0, 0, 0)), "AND rule: Monday the 3rd (odd) matches");
	ok(!matches_at(&c, utc(2025, 11, 10, 0, 0, 0)), "AND rule: Monday the 10th (even) does not");
	ok(!matches_at(&c, utc(2025, 11, 5, 0, 0, 0)), "AND rule: Wednesday the 5th does not");

	parse_ok("*/15 * * * *", &c);
	ok(matches_at(&c, utc(2025, 11, 25, 22, 45, 0)), "*/15 matches :45");
	ok(!matches_at(&c, utc(2025, 11, 25, 22, 46, 0)), "*/15 does not match :46");
}

static void test_next(void)
{
	struct ado_cron c;
	time_t from = utc(2025, 11, 25, 22, 7, 13);
	clock_t t0;

	parse_ok("*/15 * * * *", &c);
	is_int(ado_cron_next(&c, from), utc(2025, 11, 25, 22, 15, 0), "*/15 next after 22:07:13 is 22:15");
	is_int(ado_cron_next(&c, utc(2025, 11, 25, 22, 15, 0)), utc(2025, 11, 25, 22, 30, 0), "strictly after");
	is_int(ado_cron_next(&c, utc(2025, 12, 31, 23, 50, 0)), utc(2026, 1, 1, 0, 0, 0), "across the year end");

	parse_ok("0 2 * * *", &c);
	is_int(ado_cron_next(&c, from), utc(2025, 11, 26, 2, 0, 0), "daily at 02:00");

	parse_ok("0 0 1 1 *", &c);
	t0 = clock();
	is_int(ado_cron_next(&c, from), utc(2026, 1, 1, 0, 0, 0), "yearly");
	ok(clock() - t0 < CLOCKS_PER_SEC / 2, "a yearly gap is skipped by month/day, not minute by minute");

	parse_ok("0 12 29 2 *", &c);
	is_int(ado_cron_next(&c, from), utc(2028, 2, 29, 12, 0, 0), "29 February: the next leap year");

	parse_ok("0 0 30 2 *", &c);
	is_int(ado_cron_next(&c, from), -1, "30 February never comes: -1");

	parse_ok("0 0 * * 0", &c);
	is_int(ado_cron_next(&c, from), utc(2025, 11, 30, 0, 0, 0), "next Sunday");
}

static void test_max_gap(void)
{
	struct ado_cron c;
	time_t from = utc(2025, 11, 25, 22, 7, 13);

	parse_ok("*/15 * * * *", &c);
	is_int(ado_cron_max_gap(&c, from), 900, "*/15 -> 900 s");
	parse_ok("0 2 * * *", &c);
	is_int(ado_cron_max_gap(&c, from), 86400, "daily -> 86400 s");
	parse_ok("0 * * * *", &c);
	is_int(ado_cron_max_gap(&c, from), 3600, "hourly -> 3600 s");
	parse_ok("0 0 * * 1-5", &c);
	is_int(ado_cron_max_gap(&c, from), 3 * 86400, "weekdays -> Friday to Monday, 3 days");
	parse_ok("0 8,20 * * *", &c);
	is_int(ado_cron_max_gap(&c, from), 12 * 3600, "twice a day, evenly -> 12 h");
	parse_ok("0 12 29 2 *", &c);
	ok(ado_cron_max_gap(&c, from) > 365LL * 86400, "29 February: more than a year");
	parse_ok("0 0 30 2 *", &c);
	is_int(ado_cron_max_gap(&c, from), -1, "never fires -> -1");
}

/* cron -> systemd OnCalendar=; systemd-analyze calendar accepts each of the
 * expected strings. */
static void test_oncalendar(void)
{
	static const struct { const char *cron, *cal; } cases[] = {
		{ "*/15 * * * *", "*-*-* *:00/15:00 UTC" },
		{ "0 2 * * *", "*-*-* 02:00:00 UTC" },
		{ "0 * * * *", "*-*-* *:00:00 UTC" },
		{ "* * * * *", "*-*-* *:*:00 UTC" },
		{ "5/20 * * * *", "*-*-* *:05/20:00 UTC" },
		{ "30 8,20 * * *", "*-*-* 08,20:30:00 UTC" },
		{ "0 0 * * 1-5", "Mon..Fri *-*-* 00:00:00 UTC" },
		{ "0 0 * * sat,sun", "Sun,Sat *-*-* 00:00:00 UTC" },
		{ "0 0 * * 1,2", "Mon,Tue *-*-* 00:00:00 UTC" },
		{ "0 3 1 */3 *", "*-01/3-01 03:00:00 UTC" },
		{ "0 12 29 2 *", "*-02-29 12:00:00 UTC" },
		{ "@daily", "*-*-* 00:00:00 UTC" },
		{ "@weekly", "Sun *-*-* 00:00:00 UTC" },
	};
	char buf[128];
	struct ado_err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *cron = cases[i].cron, *cal = cases[i].cal;

		ado_err_clear(&e);
		is_int(ado_cron_to_oncalendar(cron, buf, sizeof(buf), &e), 0, "'%s' converts", cron);
		is_str(buf, cal, "'%s' -> the expected calendar", cron);
	}
	is_int(ado_cron_to_oncalendar("0 0 1 * 1", buf, sizeof(buf), &e), -1, "both day fields: refused");
	is_int(e.kind, ADO_E_UNSUPPORTED, "... as unsupported");
	like(e.msg, "restricts both day-of-month and day-of-week", "... saying why");
	is_int(ado_cron_to_oncalendar("0 25 * * *", buf, sizeof(buf), &e), -1, "a bad expression: refused");
	is_int(e.kind, ADO_E_CONFIG, "... as a config error");
	is_str(e.msg, "hour field: '25' is out of range 0-23", "... with the parser's message");
	is_int(ado_cron_to_oncalendar("1,2,4,7,11,16,22,29,37,46 * * * *", buf, 20, &e), -1, "too long for buf: refused");
}

int main(void)
{
	test_oncalendar();
	test_parse();
	test_errors();
	test_match();
	test_next();
	test_max_gap();
	return done_testing();
}
