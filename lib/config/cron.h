/* cron.h - 5-field cron expressions (minute hour day-of-month month day-of-week):
 * '*', numbers, ranges a-b, lists a,b,c, steps '*' + '/n' and a-b/n, month and day
 * names (jan..dec, sun..sat), 7 as Sunday. Vixie-cron semantics: when both
 * day-of-month and day-of-week are restricted, either may match. */
#ifndef ADO_CRON_H
#define ADO_CRON_H

#include <stdint.h>
#include <time.h>

#include "base/error.h"

struct ado_cron {
	uint64_t minute;	/* bit i set: minute i (0-59) */
	uint32_t hour;		/* 0-23 */
	uint32_t dom;		/* 1-31 */
	uint16_t month;		/* 1-12 */
	uint8_t dow;		/* 0-6, Sunday = 0 */
	int dom_star, dow_star;	/* field was '*' (or '*' with a step) */
};

/* Parse expr. On error returns -1 with an ADO_E_CONFIG message naming the
 * field and the bad token ("hour field: '25' is out of range 0-23"). */
int ado_cron_parse(const char *expr, struct ado_cron *out, struct ado_err *e);

/* Does the schedule fire at broken-down time tm (minute resolution, UTC or
 * local as the caller chooses)? */
int ado_cron_matches(const struct ado_cron *c, const struct tm *tm);

/* Next firing time strictly after `after` (UTC), or (time_t)-1 if none within
 * five years. */
time_t ado_cron_next(const struct ado_cron *c, time_t after);

/* Longest gap between two consecutive firings over the next year from `from`,
 * in seconds (used to sanity-check a schedule against its RPO). */
long long ado_cron_max_gap(const struct ado_cron *c, time_t from);

/* The systemd OnCalendar= expression (UTC) for a cron expression or macro:
 * "*\/15 * * * *" -> "*-*-* *:00/15:00 UTC", "0 2 * * 1-5" -> "Mon..Fri
 * *-*-* 02:00:00 UTC". A field that is an arithmetic series to its end
 * becomes FIRST/STEP, other restricted fields a list (day names as ranges).
 * Vixie cron's rule that either day field may match when both are
 * restricted has no OnCalendar equivalent: ADO_E_UNSUPPORTED. A bad
 * expression: ADO_E_CONFIG as from ado_cron_parse; one that does not fit
 * len: ADO_E_UNSUPPORTED. */
int ado_cron_to_oncalendar(const char *expr, char *buf, size_t len, struct ado_err *e);

#endif
