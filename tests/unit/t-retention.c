/* t-retention.c - lib/job/retention.c: ado_retention_select, the thinning
 * rules over a list of backup times (no store). */
#include <stdlib.h>
#include <time.h>

#include "job/retention.h"
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

static size_t kept(const unsigned *why, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += why[i] != 0;
	return k;
}

/* The example: a 15-minute job, 30 days of it (2,880 backups, the
 * newest at `now`, 12:00 UTC), keep_within 24h, hourly 168, daily 30. */
static void fifteen_minutes(void)
{
	enum { N = 2880 };
	static time_t t[N];
	static unsigned why[N];
	struct ado_keep k = { .set = 1, .within = 86400, .hourly = 168, .daily = 30 };
	time_t now = utc(2026, 11, 30, 12, 0, 0);
	size_t bad = 0;

	/* ago(i) = (N-1-i) quarters of an hour: t[N-1] = now, t[0] = now - 29d 23h 45m (Oct 31, 12:15) */
	for (size_t i = 0; i < N; i++)
		t[i] = now - (time_t)(N - 1 - i) * 900;
	ado_retention_select(t, N, 0, &k, now, why);
	for (size_t i = 0; i < N; i++) {
		long q = (long)(N - 1 - i);	/* quarters of an hour ago */
		/* keep_within 24h: 0..96 quarters ago (exactly 24h old is kept) */
		int within = q <= 96;
		/* hourly: the newest of this hour (12:00, q 0), then hh:45 of the 167 hours before (q 1, 5, .. 665) */
		int hourly = q == 0 || (q % 4 == 1 && q <= 665);
		/* daily: today's newest (q 0), then 23:45 of the 29 days before (q 49, 145, .. 2737) */
		int daily = q == 0 || (q % 96 == 49 && q <= 2737);
		unsigned want = (within ? ADO_KEEP_WITHIN : 0) | (hourly ? ADO_KEEP_HOURLY : 0) |
				(daily ? ADO_KEEP_DAILY : 0);

		if (why[i] != want && bad++ < 5)
			ok(0, "backup %ld quarters ago: rules %#x, want %#x", q, why[i], want);
	}
	ok(bad == 0, "2,880 quarter-hourly backups: each kept exactly by its rules (%zu differ)", bad);
	/* 97 within 24h + 143 hourly older than that + 22 daily older than a week */
	is_int(kept(why, N), 262, "2,880 backups thin to 262");
	is_int(why[N - 1], ADO_KEEP_WITHIN | ADO_KEEP_HOURLY | ADO_KEEP_DAILY, "the newest: all three rules");
	is_int(why[0], 0, "the oldest (Oct 31, a 31st day): no rule keeps it");
	is_int(why[N - 1 - 2737], ADO_KEEP_DAILY, "Nov 1 23:45: the 30th day");
	is_int(why[N - 1 - 97], ADO_KEEP_HOURLY, "24h15m old, at hh:45: hourly only");
	is_int(why[N - 1 - 98], 0, "24h30m old, at hh:30: removed");
}

static void plain_age(void)
{
	time_t now = utc(2026, 11, 30, 12, 0, 0);
	time_t t[] = { now - 40 * 86400, now - 30 * 86400, now - 30 * 86400 + 1, now };
	unsigned why[4];

	ado_retention_select(t, 4, 30LL * 86400, NULL, now, why);
	ok(why[0] == 0 && why[1] == ADO_KEEP_AGE && why[2] == ADO_KEEP_AGE && why[3] == ADO_KEEP_AGE,
	   "plain 30 days: older than 30 days goes, exactly 30 days stays");
	ado_retention_select(t, 4, 0, NULL, now, why);
	is_int(kept(why, 4), 4, "forever (0): every backup kept");
}

static void periods(void)
{
	time_t now = utc(2026, 12, 31, 23, 0, 0);
	struct ado_keep k = { .set = 1, .weekly = 2 };
	/* Sun Nov 29, Mon Nov 30 08:00, Mon Nov 30 09:00, Sun Dec 6 */
	time_t w[] = { utc(2026, 11, 29, 10, 0, 0), utc(2026, 11, 30, 8, 0, 0), utc(2026, 11, 30, 9, 0, 0),
		       utc(2026, 12, 6, 22, 0, 0) };
	unsigned why[8];

	ado_retention_select(w, 4, 0, &k, now, why);
	ok(why[3] && !why[2] && !why[1] && why[0],
	   "weekly 2: weeks run Monday to Sunday (UTC): Sunday Dec 6 is the week of Monday Nov 30, "
	   "Sunday Nov 29 the week before");

	/* gaps are not counted: daily 3 over backups on Jan 1, Jan 10, Mar 5 and Mar 5 later */
	{
		time_t g[] = { utc(2026, 1, 1, 1, 0, 0), utc(2026, 1, 10, 1, 0, 0), utc(2026, 3, 5, 1, 0, 0),
			       utc(2026, 3, 5, 2, 0, 0) };
		struct ado_keep d = { .set = 1, .daily = 3 };

		ado_retention_select(g, 4, 0, &d, now, why);
		ok(why[0] && why[1] && !why[2] && why[3], "daily 3: the 3 newest days that hold a backup, however far apart");
	}
	{
		time_t g[] = { utc(2024, 12, 31, 23, 59, 59), utc(2025, 1, 1, 0, 0, 0), utc(2025, 6, 1, 0, 0, 0),
			       utc(2026, 2, 1, 0, 0, 0), utc(2026, 2, 28, 0, 0, 0) };
		struct ado_keep m = { .set = 1, .monthly = 2, .yearly = 2 };

		ado_retention_select(g, 5, 0, &m, now, why);
		is_int(why[4], ADO_KEEP_MONTHLY | ADO_KEEP_YEARLY, "Feb 28 2026: newest of its month and of 2026");
		is_int(why[3], 0, "Feb 1 2026: not the newest of February");
		is_int(why[2], ADO_KEEP_MONTHLY | ADO_KEEP_YEARLY, "Jun 1 2025: the second month, newest of 2025");
		is_int(why[1], 0, "Jan 1 2025: neither");
		is_int(why[0], 0, "Dec 31 2024 23:59:59: a third year, not kept by yearly 2");
	}
	{
		time_t g[] = { now - 3 * 86400, now - 2 * 86400, now - 86400, now + 60 };
		struct ado_keep l = { .set = 1, .last = 2, .within = 3600 };

		ado_retention_select(g, 4, 0, &l, now, why);
		ok(!why[0] && !why[1] && why[2] == ADO_KEEP_LAST && why[3] == (ADO_KEEP_LAST | ADO_KEEP_WITHIN),
		   "last 2 and keep_within 1h (a backup from the future counts as within)");
	}
	{
		char buf[80];

		is_str(ado_retention_why(ADO_KEEP_WITHIN | ADO_KEEP_DAILY, buf, sizeof(buf)), "keep_within, daily",
		       "rule names");
	}
}

int main(void)
{
	fifteen_minutes();
	plain_age();
	periods();
	return done_testing();
}
