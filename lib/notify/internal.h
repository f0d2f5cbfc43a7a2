/* internal.h - what notify.c and payload.c share; not part of the API. */
#ifndef ADO_NOTIFY_INTERNAL_H
#define ADO_NOTIFY_INTERNAL_H

#include <time.h>

#include "base/json.h"
#include "config/config.h"
#include "notify/notify.h"

/* One notice as every payload builder sees it: the title and host already
 * defaulted, the time stamped once so every channel says the same. */
struct notify_ctx {
	const struct ado_notice *m;
	const char *title;
	const char *host;
	char stamp[32];		/* 2024-05-01T12:00:00Z */
	time_t when;
};

/* Append the channel's body for notice x to b. The slack builder returns -1
 * when out of memory; email returns -1 for a malformed from or to address.
 * Other failures to grow b set b->oom. */
int notify_build_slack(struct ado_buf *b, const struct notify_ctx *x);
void notify_build_webhook(struct ado_buf *b, const struct notify_ctx *x);
void notify_build_statuspage(struct ado_buf *b, const struct notify_ctx *x);
int notify_build_email(struct ado_buf *b, const struct ado_channel *ch, const struct notify_ctx *x);

#endif
