/* meter.c - the progress meter: two observe filters (bytes in, bytes out),
 * a file count, the current target, and one line redrawn at most every
 * 250 ms, on bytes (no timer thread, no busy loop), as restic does. The
 * meter formats; the tool's main writes what it is handed to stderr. */
#include "io/io.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define REDRAW_MS 250

struct ado_meter {
	ado_meter_out_fn out;
	void *arg;
	int width;
	pthread_mutex_t mu;
	int shown;		/* the line is on the terminal now */
	int running;		/* between begin and end */
	_Atomic uint64_t in, out_bytes;
	uint64_t total;
	uint64_t files_base;
	const uint64_t *files_live;
	char what[128], target[256], in_word[16], out_word[16];
	uint64_t t0;		/* monotonic ms */
	_Atomic uint64_t last;	/* of the last redraw */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void ado_meter_bytes(char *out, size_t len, double n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (n >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		n /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%.0f B", n);
	else
		snprintf(out, len, "%.1f %s", n, units[u]);
}

void ado_meter_duration(char *out, size_t len, uint64_t secs)
{
	if (secs >= 3600)
		snprintf(out, len, "%llu:%02llu:%02llu", (unsigned long long)(secs / 3600),
			 (unsigned long long)(secs / 60 % 60), (unsigned long long)(secs % 60));
	else
		snprintf(out, len, "%llu:%02llu", (unsigned long long)(secs / 60), (unsigned long long)(secs % 60));
}

static uint64_t files_now(const struct ado_meter *m)
{
	return m->files_base + (m->files_live ? *m->files_live : 0);
}

/* "593.2 MiB read, 120.0 MiB stored, 98.9 MiB/s, 5 files" */
static void counters(const struct ado_meter *m, uint64_t ms, char *buf, size_t len)
{
	char a[32], b[32], r[32];
	uint64_t in = atomic_load(&m->in), out = atomic_load(&m->out_bytes), files = files_now(m);
	size_t o;

	ado_meter_bytes(a, sizeof(a), (double)in);
	ado_meter_bytes(b, sizeof(b), (double)out);
	ado_meter_bytes(r, sizeof(r), ms ? (double)in * 1000.0 / (double)ms : 0.0);
	o = (size_t)snprintf(buf, len, "%s %s", a, m->in_word);
	if (m->out_word[0] && o < len)
		o += (size_t)snprintf(buf + o, len - o, ", %s %s", b, m->out_word);
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, ", %s/s", r);
	if (files && o < len)
		snprintf(buf + o, len - o, ", %llu %s", (unsigned long long)files, files == 1 ? "file" : "files");
}

/* with mu held */
static void draw(struct ado_meter *m, uint64_t now)
{
	char line[1024], c[256], el[32], eta[64] = "", pct[16] = "";
	uint64_t ms = now - m->t0, in = atomic_load(&m->in);
	size_t max = m->width > 8 ? (size_t)m->width - 1 : 79, n;

	ado_meter_duration(el, sizeof(el), ms / 1000);
	counters(m, ms, c, sizeof(c));
	if (m->total) {
		uint64_t done = in > m->total ? m->total : in;
		snprintf(pct, sizeof(pct), " %3.0f%%", 100.0 * (double)done / (double)m->total);
		if (in > 0 && ms >= 1000) {
			char d[32];
			double left = (double)(m->total - done) * (double)ms / (double)in / 1000.0;
			ado_meter_duration(d, sizeof(d), (uint64_t)(left + 0.5));
			snprintf(eta, sizeof(eta), " ETA %s", d);
		}
	}
	/* "\r" first, "\033[K" last: the line overwrites itself and leaves no tail */
	n = (size_t)snprintf(line + 1, sizeof(line) - 8, "[%s]%s %s, %s%s", el, pct, c,
			     m->target[0] ? m->target : m->what, eta);
	line[0] = '\r';
	if (n > max)
		n = max;	/* never wrap: a wrapped line cannot be redrawn with \r */
	memcpy(line + 1 + n, "\033[K", 4);
	m->out(m->arg, line);
	m->shown = 1;
	atomic_store(&m->last, now);
}

static void clear_locked(struct ado_meter *m)
{
	if (m->shown) {
		m->out(m->arg, "\r\033[K");
		m->shown = 0;
	}
}

void ado_meter_clear(struct ado_meter *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	clear_locked(m);
	pthread_mutex_unlock(&m->mu);
}

/* every diagnostic line erases the meter first; the next redraw brings it back */
static void before_log(void *arg)
{
	ado_meter_clear(arg);
}

struct ado_meter *ado_meter_new(ado_meter_out_fn out, void *arg, int width, struct ado_err *e)
{
	struct ado_meter *m = calloc(1, sizeof(*m));

	if (!m || pthread_mutex_init(&m->mu, NULL) != 0) {
		free(m);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	m->out = out;
	m->arg = arg;
	m->width = width;
	ado_log_set_before(before_log, m);
	return m;
}

void ado_meter_free(struct ado_meter *m)
{
	if (!m)
		return;
	ado_meter_clear(m);
	ado_log_set_before(NULL, NULL);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

void ado_meter_begin(struct ado_meter *m, const char *what, const char *in_word, const char *out_word,
		     uint64_t total)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	atomic_store(&m->in, 0);
	atomic_store(&m->out_bytes, 0);
	m->total = total;
	m->files_base = 0;
	m->files_live = NULL;
	m->target[0] = '\0';
	snprintf(m->what, sizeof(m->what), "%s", what);
	snprintf(m->in_word, sizeof(m->in_word), "%s", in_word);
	snprintf(m->out_word, sizeof(m->out_word), "%s", out_word ? out_word : "");
	m->t0 = now_ms();
	m->running = 1;
	draw(m, m->t0);	/* at once: even a short run shows what it does */
	pthread_mutex_unlock(&m->mu);
}

void ado_meter_target(struct ado_meter *m, const char *target)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	snprintf(m->target, sizeof(m->target), "%s", target ? target : "");
	if (m->running)
		draw(m, now_ms());	/* a new target is news: say it now (targets are few) */
	pthread_mutex_unlock(&m->mu);
}

void ado_meter_files(struct ado_meter *m, const uint64_t *live)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	if (m->files_live)
		m->files_base += *m->files_live;
	m->files_live = live;
	pthread_mutex_unlock(&m->mu);
}

void ado_meter_end(struct ado_meter *m, int ok)
{
	char line[1024], c[256], el[32];
	uint64_t ms;

	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	if (!m->running) {
		pthread_mutex_unlock(&m->mu);
		return;
	}
	if (m->files_live) {
		m->files_base += *m->files_live;
		m->files_live = NULL;
	}
	ms = now_ms() - m->t0;
	clear_locked(m);
	m->running = 0;
	if (ok) {
		counters(m, ms, c, sizeof(c));
		ado_meter_duration(el, sizeof(el), (ms + 500) / 1000);
		snprintf(line, sizeof(line), "%s: %s: %s in %s\n", ado_log_prog(), m->what, c, el);
		m->out(m->arg, line);
	}
	pthread_mutex_unlock(&m->mu);
}

struct meter_state {
	struct ado_meter *m;
	int which;
};

static int meter_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e)
{
	struct meter_state *st = w->state;
	struct ado_meter *m = st->m;

	if (st->which == ADO_METER_IN) {
		uint64_t now;
		atomic_fetch_add(&m->in, n);
		/* one clock read per buffer: O(1), and a redraw at most every REDRAW_MS */
		now = now_ms();
		if (now - atomic_load(&m->last) >= REDRAW_MS && pthread_mutex_trylock(&m->mu) == 0) {
			if (m->running && now - atomic_load(&m->last) >= REDRAW_MS)
				draw(m, now);
			pthread_mutex_unlock(&m->mu);
		}
	} else {
		atomic_fetch_add(&m->out_bytes, n);
	}
	return w->next ? ado_writer_write(w->next, buf, n, e) : 0;
}

static int meter_close(struct ado_writer *w, struct ado_err *e)
{
	return w->next ? ado_writer_close(w->next, e) : 0;
}

static void meter_free(struct ado_writer *w)
{
	free(w->state);
}

static const struct ado_writer_ops meter_ops = {
	.name = "meter",
	.write = meter_write,
	.close = meter_close,
	.free = meter_free,
};

struct ado_writer *ado_meter_writer_new(struct ado_writer *next, struct ado_meter *m, int which, struct ado_err *e)
{
	struct meter_state *st;
	struct ado_writer *w;

	if (!m)
		return next;
	if (!(st = calloc(1, sizeof(*st))) || !(w = ado_writer_new(&meter_ops, st, next))) {
		free(st);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return NULL;
	}
	st->m = m;
	st->which = which;
	return w;
}
