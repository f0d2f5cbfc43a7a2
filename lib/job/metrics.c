/* metrics.c - see metrics.h. The text format is Prometheus' exposition
 * format 0.0.4: "# HELP", "# TYPE", then one "name{labels} value" a line. */
#include "job/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"

struct sample {
	char *key;		/* name{labels}, exactly as written */
	char *value;		/* the value's text */
};

struct family {
	char *name, *type, *help;
	int declared, merge;
	struct sample *prev, *now;
	size_t nprev, nnow;
};

struct ado_metrics {
	char *dir, *file;	/* file: "ado_backup_JOB.prom" */
	struct family *f;
	size_t nf;
	int oom;
};

static char *xdup(struct ado_metrics *m, const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		m->oom = 1;
	return d;
}

static struct family *family_get(struct ado_metrics *m, const char *name, int create)
{
	struct family *f;

	for (size_t i = 0; i < m->nf; i++)
		if (strcmp(m->f[i].name, name) == 0)
			return &m->f[i];
	if (!create || m->oom)
		return NULL;
	if (!(f = realloc(m->f, (m->nf + 1) * sizeof(*f)))) {
		m->oom = 1;
		return NULL;
	}
	m->f = f;
	f = &m->f[m->nf];
	memset(f, 0, sizeof(*f));
	if (!(f->name = xdup(m, name)))
		return NULL;
	m->nf++;
	return f;
}

static void sample_add(struct ado_metrics *m, struct sample **v, size_t *n, const char *key, const char *value)
{
	struct sample *nv;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].key, key) == 0) {
			free((*v)[i].value);
			(*v)[i].value = xdup(m, value);
			return;
		}
	if (!(nv = realloc(*v, (*n + 1) * sizeof(*nv)))) {
		m->oom = 1;
		return;
	}
	*v = nv;
	nv[*n].key = xdup(m, key);
	nv[*n].value = xdup(m, value);
	(*n)++;
}

static const struct sample *sample_find(const struct sample *v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].key, key) == 0)
			return &v[i];
	return NULL;
}

/* The previous file, line by line; what is not ours to understand is dropped. */
static void read_previous(struct ado_metrics *m, FILE *fp)
{
	char *line = NULL, *sp;
	size_t cap = 0;
	ssize_t len;
	struct family *f;

	while ((len = getline(&line, &cap, fp)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			char *name = line + 7, *text = strchr(name, ' ');
			if (!text)
				continue;
			*text++ = '\0';
			if (!(f = family_get(m, name, 1)))
				continue;
			if (line[2] == 'H' && !f->help)
				f->help = xdup(m, text);
			else if (line[2] == 'T' && !f->type)
				f->type = xdup(m, text);
		} else if (line[0] && line[0] != '#' && (sp = strrchr(line, ' '))) {
			char name[256];
			size_t k = strcspn(line, "{ ");
			*sp = '\0';
			if (k >= sizeof(name))
				continue;
			memcpy(name, line, k);
			name[k] = '\0';
			if ((f = family_get(m, name, 1)))
				sample_add(m, &f->prev, &f->nprev, line, sp + 1);
		}
	}
	free(line);
}

static int plain_name(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	return s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")] == '\0';
}

struct ado_metrics *ado_metrics_new(const char *dir, const char *tool, const char *job, struct ado_err *e)
{
	struct ado_metrics *m;
	char path[4096];
	FILE *fp;

	if (job && !plain_name(job)) {
		ado_err_set(e, ADO_E_USAGE, 0, "cannot name a metrics file after job '%s'", job);
		return NULL;
	}
	if (!(m = calloc(1, sizeof(*m))) || !(m->dir = strdup(dir)) ||
	    asprintf(&m->file, "ado_%s%s%s.prom", tool, job ? "_" : "", job ? job : "") < 0) {
		if (m)
			m->file = NULL;
		ado_metrics_free(m);
		ado_err_set(e, ADO_E_NOMEM, ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, m->file);
	if ((fp = fopen(path, "re"))) {
		read_previous(m, fp);
		fclose(fp);
	}
	return m;
}

void ado_metrics_free(struct ado_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nf; i++) {
		struct family *f = &m->f[i];
		for (size_t k = 0; k < f->nprev; k++) {
			free(f->prev[k].key);
			free(f->prev[k].value);
		}
		for (size_t k = 0; k < f->nnow; k++) {
			free(f->now[k].key);
			free(f->now[k].value);
		}
		free(f->prev);
		free(f->now);
		free(f->name);
		free(f->type);
		free(f->help);
	}
	free(m->f);
	free(m->dir);
	free(m->file);
	free(m);
}

void ado_metrics_family(struct ado_metrics *m, const char *name, const char *help, const char *type, int merge)
{
	struct family *f = family_get(m, name, 1);

	if (!f || f->declared)
		return;
	free(f->type);
	free(f->help);
	f->type = xdup(m, type);
	f->help = xdup(m, help);
	f->merge = merge;
	f->declared = 1;
}

/* name{a="x",b="y"}: label values escaped as the format wants (\\, \", \n). */
static void series_key(struct ado_buf *b, const char *name, const char *const *labels)
{
	ado_buf_puts(b, name);
	for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		ado_buf_printf(b, "%s%s=\"", i ? "," : "{", labels[i]);
		for (const char *p = labels[i + 1]; *p; p++)
			ado_buf_puts(b, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : (char[]){ *p, 0 });
		ado_buf_puts(b, "\"");
	}
	if (labels && labels[0])
		ado_buf_puts(b, "}");
}

void ado_metrics_set(struct ado_metrics *m, const char *name, double value, const char *const *labels)
{
	struct family *f = family_get(m, name, 0);
	struct ado_buf b;
	char v[64];

	if (!f || !f->declared)
		return;
	if (value == floor(value) && fabs(value) < 1e15)
		snprintf(v, sizeof(v), "%.0f", value);
	else
		snprintf(v, sizeof(v), "%.9g", value);
	ado_buf_init(&b);
	series_key(&b, name, labels);
	if (b.oom)
		m->oom = 1;
	else
		sample_add(m, &f->now, &f->nnow, b.data, v);
	ado_buf_free(&b);
}

double ado_metrics_prev(const struct ado_metrics *m, const char *name, double dflt, const char *const *labels)
{
	const struct family *f = NULL;
	const struct sample *s = NULL;
	struct ado_buf b;
	char *end;
	double v = dflt;

	for (size_t i = 0; i < m->nf && !f; i++)
		if (strcmp(m->f[i].name, name) == 0)
			f = &m->f[i];
	if (!f)
		return dflt;
	ado_buf_init(&b);
	series_key(&b, name, labels);
	if (!b.oom && (s = sample_find(f->prev, f->nprev, b.data))) {
		v = strtod(s->value, &end);
		if (end == s->value || *end)
			v = dflt;
	}
	ado_buf_free(&b);
	return v;
}

static void render(const struct ado_metrics *m, struct ado_buf *b)
{
	for (size_t i = 0; i < m->nf; i++) {
		const struct family *f = &m->f[i];
		size_t start = b->len, n = 0;

		if (f->help)
			ado_buf_printf(b, "# HELP %s %s\n", f->name, f->help);
		if (f->type)
			ado_buf_printf(b, "# TYPE %s %s\n", f->name, f->type);
		for (size_t k = 0; f->declared && k < f->nnow; k++, n++)
			ado_buf_printf(b, "%s %s\n", f->now[k].key, f->now[k].value);
		for (size_t k = 0; k < f->nprev; k++) {
			if (f->declared && (!f->merge || sample_find(f->now, f->nnow, f->prev[k].key)))
				continue;
			ado_buf_printf(b, "%s %s\n", f->prev[k].key, f->prev[k].value);
			n++;
		}
		if (n == 0 && b->data) {	/* a family without a series is left out */
			b->len = start;
			b->data[start] = '\0';
		}
	}
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ado_metrics_commit(struct ado_metrics *m, struct ado_err *e)
{
	struct ado_buf b;
	char tmp[4096] = "", path[4096];
	int fd = -1, dfd, rc = -1;

	ado_buf_init(&b);
	render(m, &b);
	if (m->oom || b.oom) {
		ado_err_set(e, ADO_E_NOMEM, ENOMEM, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", m->dir, m->file);
	/* hidden and not *.prom: the collector never reads a half-written file */
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", m->dir, m->file);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot write metrics to '%s'", m->dir);
		goto out;
	}
	if (fchmod(fd, 0644) < 0 || write_all(fd, b.data ? b.data : "", b.len) < 0 || fsync(fd) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot write metrics file '%s'", tmp);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		ado_err_set(e, ADO_E_IO, errno, "cannot write metrics file '%s'", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot rename '%s' to '%s'", tmp, path);
		goto out;
	}
	tmp[0] = '\0';
	if ((dfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);	/* the rename's durability: best effort, the file is complete either way */
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp[0])
		unlink(tmp);
	ado_buf_free(&b);
	return rc;
}

void ado_metrics_dest_label(const char *url, char *out, size_t len)
{
	char buf[2048];
	const char *scheme = strstr(url, "://"), *host, *at, *slash;

	snprintf(buf, sizeof(buf), "%s", url);
	if (scheme) {
		host = buf + (scheme - url) + 3;
		slash = strchr(host, '/');
		at = strchr(host, '@');
		if (at && (!slash || at < slash))
			memmove((char *)host, at + 1, strlen(at + 1) + 1);
	}
	buf[strcspn(buf, "?#")] = '\0';
	ado_log_redact_copy(out, len, buf);
}

void ado_metrics_warn(const struct ado_err *e)
{
	static int warned;
	char why[1400];

	if (warned++)
		return;
	ado_warn("%s", ado_err_str(e, why, sizeof(why)));
	ado_hint("metrics: dir: in the config must be an existing folder this user can write; "
		 "the run's own result is unchanged");
}

/* ---- per tool ---- */

static struct ado_metrics *open_for(const struct ado_config *cfg, const char *tool, const char *job,
				    struct ado_err *e)
{
	return ado_metrics_new(cfg->metrics_dir, tool, job, e);
}

static int finish(struct ado_metrics *m, struct ado_err *e)
{
	int rc = ado_metrics_commit(m, e);

	ado_metrics_free(m);
	return rc;
}

int ado_metrics_backup(const struct ado_config *cfg, const struct ado_job *job, const struct ado_backup_report *rep,
		       struct ado_err *e)
{
	struct ado_metrics *m;
	time_t end = rep->finished ? rep->finished : time(NULL);

	if (!cfg->metrics_dir)
		return 0;
	if (!(m = open_for(cfg, "backup", job->name, e)))
		return -1;
	ado_metrics_family(m, "ado_backup_last_run_success",
			   "Whether the last backup run committed a backup to this destination (1) or not (0).", "gauge", 0);
	ado_metrics_family(m, "ado_backup_last_run_timestamp_seconds", "When the last backup run ended.", "gauge", 0);
	ado_metrics_family(m, "ado_backup_last_success_timestamp_seconds",
			   "When the last backup run that committed to this destination ended (0: none known).", "gauge", 0);
	ado_metrics_family(m, "ado_backup_last_duration_seconds", "How long the last backup run took.", "gauge", 0);
	ado_metrics_family(m, "ado_backup_last_stored_bytes",
			   "Bytes the last backup run stored on this destination (0 when it failed there).", "gauge", 0);
	for (size_t i = 0; i < job->ndests; i++) {
		char dest[2048];
		const char *const l[] = { "job", job->name, "destination", dest, NULL };
		int ok = i < ADO_BACKUP_MAX_DESTS && rep->dest_ok[i];

		ado_metrics_dest_label(job->dests[i].url, dest, sizeof(dest));
		ado_metrics_set(m, "ado_backup_last_run_success", ok, l);
		ado_metrics_set(m, "ado_backup_last_run_timestamp_seconds", (double)end, l);
		ado_metrics_set(m, "ado_backup_last_success_timestamp_seconds",
				ok ? (double)end : ado_metrics_prev(m, "ado_backup_last_success_timestamp_seconds", 0, l), l);
		ado_metrics_set(m, "ado_backup_last_duration_seconds", rep->seconds, l);
		ado_metrics_set(m, "ado_backup_last_stored_bytes", ok ? (double)rep->stored_bytes : 0, l);
	}
	return finish(m, e);
}

int ado_metrics_verify(const struct ado_config *cfg, const char *job, const char *level, size_t ok, size_t failed,
		       double seconds, struct ado_err *e)
{
	struct ado_metrics *m;
	const char *const l[] = { "job", job, "level", level, NULL };
	double now = (double)time(NULL);

	if (!cfg->metrics_dir)
		return 0;
	if (!(m = open_for(cfg, "verify", job, e)))
		return -1;
	/* merged: each level keeps its own series in the job's one file */
	ado_metrics_family(m, "ado_verify_last_success",
			   "Whether every backup the last verify run at this level checked passed (1) or not (0).", "gauge", 1);
	ado_metrics_family(m, "ado_verify_last_run_timestamp_seconds", "When the last verify run at this level ended.",
			   "gauge", 1);
	ado_metrics_family(m, "ado_verify_last_success_timestamp_seconds",
			   "When the last verify run at this level in which every backup passed ended (0: none known).",
			   "gauge", 1);
	ado_metrics_family(m, "ado_verify_last_duration_seconds", "How long the last verify run took.", "gauge", 1);
	ado_metrics_family(m, "ado_verify_last_checked_backups", "Backups the last verify run at this level checked.",
			   "gauge", 1);
	ado_metrics_family(m, "ado_verify_last_failed_backups",
			   "Backups that failed (or could not be read) in the last verify run at this level.", "gauge", 1);
	ado_metrics_set(m, "ado_verify_last_success", failed == 0, l);
	ado_metrics_set(m, "ado_verify_last_run_timestamp_seconds", now, l);
	ado_metrics_set(m, "ado_verify_last_success_timestamp_seconds",
			failed == 0 ? now : ado_metrics_prev(m, "ado_verify_last_success_timestamp_seconds", 0, l), l);
	ado_metrics_set(m, "ado_verify_last_duration_seconds", seconds, l);
	ado_metrics_set(m, "ado_verify_last_checked_backups", (double)(ok + failed), l);
	ado_metrics_set(m, "ado_verify_last_failed_backups", (double)failed, l);
	return finish(m, e);
}

int ado_metrics_fresh(const struct ado_config *cfg, const struct ado_job *job, const struct ado_fresh_row *rows,
		      size_t n, struct ado_err *e)
{
	struct ado_metrics *m;
	const char *const lj[] = { "job", job->name, NULL };
	long long target = 0;

	if (!cfg->metrics_dir)
		return 0;
	if (!(m = open_for(cfg, "verify", job->name, e)))
		return -1;
	ado_metrics_family(m, "ado_backup_age_seconds",
			   "Age of the newest complete backup on this destination, from ado-verify --rpo "
			   "(absent: none, or the destination could not be listed).", "gauge", 0);
	ado_metrics_family(m, "ado_backup_fresh",
			   "Whether the newest complete backup on this destination is within the RPO target "
			   "and grace (1), stale or missing (0), or could not be checked (-1).", "gauge", 0);
	ado_metrics_family(m, "ado_backup_rpo_target_seconds",
			   "The job's RPO target: its rpo:, else the longest gap of its schedule.", "gauge", 0);
	ado_metrics_family(m, "ado_backup_rpo_check_timestamp_seconds", "When ado-verify --rpo last checked the job.",
			   "gauge", 0);
	for (size_t i = 0; i < n; i++) {
		char dest[2048];
		const char *const l[] = { "job", job->name, "destination", dest, NULL };
		const struct ado_fresh_row *r = &rows[i];

		ado_metrics_dest_label(r->dest, dest, sizeof(dest));
		if (r->age >= 0)
			ado_metrics_set(m, "ado_backup_age_seconds", (double)r->age, l);
		if (r->state != ADO_FRESH_UNWATCHED)
			ado_metrics_set(m, "ado_backup_fresh",
					r->state == ADO_FRESH_OK ? 1 : r->state == ADO_FRESH_UNCHECKED ? -1 : 0, l);
		if (r->target > 0)
			target = r->target;
	}
	if (target > 0)
		ado_metrics_set(m, "ado_backup_rpo_target_seconds", (double)target, lj);
	ado_metrics_set(m, "ado_backup_rpo_check_timestamp_seconds", (double)time(NULL), lj);
	return finish(m, e);
}
