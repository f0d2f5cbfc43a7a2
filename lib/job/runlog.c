/* runlog.c - see runlog.h. */
#include "job/runlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/sig.h"
#include "ado.h"
#include "job/metrics.h"
#include "job/repo.h"

static long runlog_max(void)
{
	const char *v = getenv("ADO_RUNLOG_MAX_BYTES");
	long n = v ? atol(v) : 0;

	return n > 0 ? n : ADO_RUNLOG_MAX;
}

int ado_runlog_append(const char *state_dir, const char *json, struct ado_err *e)
{
	char path[4096], old[4200];
	size_t len = strlen(json);
	char *line = malloc(len + 1);
	int fd = -1, rc = -1;
	ssize_t n;

	if (!line)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	memcpy(line, json, len);
	line[len] = '\n';
	snprintf(path, sizeof(path), "%s/%s", state_dir, ADO_RUNLOG_NAME);
	snprintf(old, sizeof(old), "%s.1", path);
	if (ado_mkdirs(state_dir, 0700, e) < 0)
		goto out;
	/* Rotation happens under the lock, and a writer that opened the file
	 * before another one renamed it sees the inode change and reopens. */
	for (int tries = 0;; tries++) {
		struct stat a, b;

		if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
			ado_err_set(e, ADO_E_IO, errno, "cannot open run records '%s'", path);
			goto out;
		}
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &a) < 0) {
			ado_err_set(e, ADO_E_IO, errno, "cannot lock run records '%s'", path);
			goto out;
		}
		if (tries < 4 && (stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
			close(fd);
			fd = -1;
			continue;
		}
		if (tries < 4 && a.st_size >= runlog_max()) {
			if (rename(path, old) < 0) {
				ado_err_set(e, ADO_E_IO, errno, "cannot rotate run records '%s'", path);
				goto out;
			}
			close(fd);
			fd = -1;
			continue;
		}
		if ((a.st_mode & 077) && fchmod(fd, 0600) < 0) {
			ado_err_set(e, ADO_E_IO, errno, "cannot make run records '%s' private", path);
			goto out;
		}
		break;
	}
	/* one write: O_APPEND keeps concurrent lines whole */
	n = write(fd, line, len + 1);
	if (n != (ssize_t)(len + 1)) {
		ado_err_set(e, ADO_E_IO, n < 0 ? errno : ENOSPC, "cannot append to run records '%s'", path);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	return rc;
}

const char *ado_run_word(int status)
{
	static const char *const w[] = { "ok", "failed", "usage", "partial", "locked", "stale", "unchecked" };

	if (status >= 0 && status <= 6)
		return w[status];
	return status >= 128 ? "interrupted" : "failed";
}

void ado_runlog_dest(const char *url, char *out, size_t len)
{
	size_t n;

	ado_metrics_dest_label(url ? url : "", out, len);
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
}

static void kredacted(struct ado_json *j, const char *key, const char *val)
{
	char buf[1400];

	if (!val || !*val) {
		ado_json_knull(j, key);
		return;
	}
	ado_log_redact_copy(buf, sizeof(buf), val);
	ado_json_kstr(j, key, buf);
}

static void begin(struct ado_json *j, struct ado_buf *b, const char *tool, const char *job, time_t now)
{
	char ts[32];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ado_buf_init(b);
	ado_json_init(j, b, 0);
	ado_json_obj_begin(j, NULL);
	ado_json_kstr(j, "type", "run");
	ado_json_kstr(j, "tool", tool);
	ado_json_kstr(j, "time", ts);
	ado_json_kstr(j, "job", job);
}

void ado_run_backup_json(const struct ado_job *job, const struct ado_backup_report *rep, int brc,
			 const struct ado_err *err, int status, time_t now, struct ado_buf *out)
{
	struct ado_json j;
	char reason[1100] = "";

	begin(&j, out, "backup", job->name, now);
	ado_json_kstr(&j, "id", brc == 0 && rep->id[0] ? rep->id : NULL);
	ado_json_kint(&j, "status", status);
	ado_json_kstr(&j, "result", ado_run_word(status));
	if (brc < 0 && err)
		snprintf(reason, sizeof(reason), "%s", err->msg);
	else if (rep->dests_failed || rep->targets_failed || rep->targets_partial)
		snprintf(reason, sizeof(reason), "%zu of %zu destinations failed, %zu targets failed, %zu stored in part",
			 rep->dests_failed, job->ndests, rep->targets_failed, rep->targets_partial);
	kredacted(&j, "reason", reason);
	ado_json_arr_begin(&j, "targets");
	for (size_t i = 0; i < job->ntargets; i++)
		ado_json_kstr(&j, NULL, job->targets[i].name);
	ado_json_arr_end(&j);
	ado_json_kuint(&j, "targets_ok", rep->targets_ok);
	ado_json_kuint(&j, "targets_failed", rep->targets_failed);
	ado_json_kuint(&j, "targets_partial", rep->targets_partial);
	ado_json_kuint(&j, "stored_bytes", brc == 0 ? rep->stored_bytes : 0);
	ado_json_kint(&j, "duration_ms", (long long)(rep->seconds * 1000.0 + 0.5));
	ado_json_kuint(&j, "pruned", rep->pruned);
	ado_json_arr_begin(&j, "destinations");
	for (size_t i = 0; i < job->ndests && i < ADO_BACKUP_MAX_DESTS; i++) {
		char d[1024];
		int ok = brc == 0 && rep->dest_ok[i];
		ado_runlog_dest(job->dests[i].url, d, sizeof(d));
		ado_json_obj_begin(&j, NULL);
		ado_json_kstr(&j, "destination", d);
		/* a run another one locked out touched nothing: not a failure there */
		ado_json_kstr(&j, "result", ok ? "ok" : status == ADO_EXIT_LOCKED ? "locked" : "failed");
		if (ok) {
			char *ref = ado_ref_join(d, job->name, rep->id);
			ado_json_kstr(&j, "ref", ref);
			free(ref);
		} else {
			ado_json_knull(&j, "ref");
		}
		ado_json_obj_end(&j);
	}
	ado_json_arr_end(&j);
	ado_json_obj_end(&j);
}

int ado_run_backup_record(const struct ado_config *cfg, const struct ado_job *job,
			  const struct ado_backup_report *rep, int brc, const struct ado_err *err, int dry_run,
			  struct ado_buf *out)
{
	int status;
	struct ado_err e;

	if (brc < 0)
		status = err->kind == ADO_E_INTERRUPTED ? ado_sig_exit(ado_interrupted())
			 : err->kind == ADO_E_LOCKED	 ? ADO_EXIT_LOCKED
			 : ado_err_exit(err->kind) == ADO_EXIT_USAGE ? ADO_EXIT_USAGE
							     : ADO_EXIT_FAIL;
	else
		status = rep->dests_failed || rep->targets_failed || rep->targets_partial ? ADO_EXIT_PARTIAL : ADO_EXIT_OK;
	ado_run_backup_json(job, rep, brc, err, status, time(NULL), out);
	ado_err_clear(&e);
	if (!dry_run && (out->oom || ado_runlog_append(cfg->state_dir, out->data, &e) < 0))
		ado_warn("cannot record the run: %s", out->oom ? "out of memory" : e.msg);
	return status;
}

void ado_run_restore_record(const struct ado_config *cfg, const struct ado_restore_run *r)
{
	struct ado_buf b;
	struct ado_err e;

	if (!cfg || !cfg->path || !cfg->state_dir)
		return;	/* no config file: no state folder was chosen, nothing recorded */
	ado_run_restore_json(r, time(NULL), &b);
	ado_err_clear(&e);
	if (b.oom || ado_runlog_append(cfg->state_dir, b.data, &e) < 0)
		ado_warn("cannot record the run: %s", b.oom ? "out of memory" : e.msg);
	ado_buf_free(&b);
}

/* ---- ado-verify ---- */

struct vitem {
	char *ref, *job, *id, *dest, *result, *reason;
	uint64_t bytes;
};

struct ado_verify_log {
	char *level;
	struct vitem *v;
	size_t n;
};

struct ado_verify_log *ado_verify_log_new(const char *level)
{
	struct ado_verify_log *l = calloc(1, sizeof(*l));

	if (l && !(l->level = strdup(level))) {
		free(l);
		l = NULL;
	}
	return l;
}

static char *dupn(const char *s)
{
	return s ? strdup(s) : NULL;
}

void ado_verify_log_add(struct ado_verify_log *l, const char *ref, const char *job, const char *id,
			const char *result, const char *reason, uint64_t bytes)
{
	struct vitem *more, *it;
	char d[1024];

	if (!l || !(more = realloc(l->v, (l->n + 1) * sizeof(*more))))
		return;
	l->v = more;
	it = &l->v[l->n++];
	memset(it, 0, sizeof(*it));
	/* the destination is the reference without "/JOB/ID" */
	snprintf(d, sizeof(d), "%s", ref ? ref : "");
	if (job && id) {
		size_t n = strlen(d), tail = strlen(job) + strlen(id) + 2;
		if (n > tail && d[n - tail] == '/')
			d[n - tail] = '\0';
	}
	{
		char norm[1024];
		ado_runlog_dest(d, norm, sizeof(norm));
		it->dest = strdup(norm);
	}
	it->ref = dupn(ref);
	it->job = dupn(job);
	it->id = dupn(id);
	it->result = dupn(result);
	it->reason = dupn(reason);
	it->bytes = bytes;
}

static int vrank(const char *r)
{
	return !r ? 0 : strcmp(r, "fail") == 0 ? 3 : strcmp(r, "unchecked") == 0 ? 2 : strcmp(r, "partial") == 0 ? 1 : 0;
}

static const char *const vword[] = { "ok", "partial", "unchecked", "fail" };
static const int vstatus[] = { 0, 3, 6, 1 };

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

void ado_verify_log_commit(struct ado_verify_log *l, const char *state_dir, double seconds)
{
	time_t now = time(NULL);

	if (!l || !state_dir || !l->n)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct ado_buf b;
		struct ado_json j;
		struct ado_err e;
		int worst = 0, seen = 0;
		const char *reason = NULL;
		uint64_t bytes = 0;

		for (size_t k = 0; k < i && !seen; k++)
			seen = same(l->v[k].job, l->v[i].job);
		if (seen)
			continue;	/* this job's record is written */
		for (size_t k = i; k < l->n; k++) {
			if (!same(l->v[k].job, l->v[i].job))
				continue;
			if (vrank(l->v[k].result) > worst) {
				worst = vrank(l->v[k].result);
				reason = l->v[k].reason;
			}
			bytes += l->v[k].bytes;
		}
		begin(&j, &b, "verify", l->v[i].job, now);
		ado_json_kstr(&j, "level", l->level);
		ado_json_kint(&j, "status", vstatus[worst]);
		ado_json_kstr(&j, "result", ado_run_word(vstatus[worst]));
		kredacted(&j, "reason", reason);
		ado_json_kuint(&j, "bytes", bytes);
		ado_json_kint(&j, "duration_ms", (long long)(seconds * 1000.0 + 0.5));
		ado_json_arr_begin(&j, "destinations");
		for (size_t k = i; k < l->n; k++) {
			int dw = 0, dseen = 0;
			if (!same(l->v[k].job, l->v[i].job))
				continue;
			for (size_t m = i; m < k && !dseen; m++)
				dseen = same(l->v[m].job, l->v[i].job) && same(l->v[m].dest, l->v[k].dest);
			if (dseen)
				continue;
			for (size_t m = k; m < l->n; m++)
				if (same(l->v[m].job, l->v[i].job) && same(l->v[m].dest, l->v[k].dest) &&
				    vrank(l->v[m].result) > dw)
					dw = vrank(l->v[m].result);
			ado_json_obj_begin(&j, NULL);
			ado_json_kstr(&j, "destination", l->v[k].dest);
			ado_json_kstr(&j, "result", vword[dw]);
			ado_json_obj_end(&j);
		}
		ado_json_arr_end(&j);
		ado_json_arr_begin(&j, "checked");
		for (size_t k = i; k < l->n; k++) {
			if (!same(l->v[k].job, l->v[i].job))
				continue;
			ado_json_obj_begin(&j, NULL);
			ado_json_kstr(&j, "ref", l->v[k].ref);
			ado_json_kstr(&j, "destination", l->v[k].dest);
			ado_json_kstr(&j, "id", l->v[k].id);
			ado_json_kstr(&j, "result", l->v[k].result);
			kredacted(&j, "reason", l->v[k].reason);
			ado_json_obj_end(&j);
		}
		ado_json_arr_end(&j);
		ado_json_obj_end(&j);
		ado_err_clear(&e);
		if (b.oom || ado_runlog_append(state_dir, b.data, &e) < 0)
			ado_warn("cannot record the run: %s", b.oom ? "out of memory" : e.msg);
		ado_buf_free(&b);
	}
}

void ado_verify_log_free(struct ado_verify_log *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].ref);
		free(l->v[i].job);
		free(l->v[i].id);
		free(l->v[i].dest);
		free(l->v[i].result);
		free(l->v[i].reason);
	}
	free(l->v);
	free(l->level);
	free(l);
}

/* ---- ado-restore ---- */

void ado_run_restore_json(const struct ado_restore_run *r, time_t now, struct ado_buf *out)
{
	struct ado_json j;
	char d[1024];

	begin(&j, out, "restore", r->job, now);
	ado_json_kstr(&j, "mode", r->mode);
	ado_json_kstr(&j, "id", r->id);
	ado_json_kbool(&j, "dry_run", r->dry_run);
	ado_json_kint(&j, "status", r->status);
	ado_json_kstr(&j, "result", ado_run_word(r->status));
	kredacted(&j, "reason", r->status ? r->reason : NULL);
	ado_json_arr_begin(&j, "targets");
	if (r->target)
		ado_json_kstr(&j, NULL, r->target);
	ado_json_arr_end(&j);
	ado_json_kstr(&j, "to", r->to);
	ado_json_kuint(&j, "bytes", r->bytes);
	ado_json_kint(&j, "duration_ms", (long long)(r->seconds * 1000.0 + 0.5));
	ado_json_arr_begin(&j, "destinations");
	if (r->destination) {
		ado_runlog_dest(r->destination, d, sizeof(d));
		ado_json_obj_begin(&j, NULL);
		ado_json_kstr(&j, "destination", d);
		ado_json_kstr(&j, "result", ado_run_word(r->status));
		ado_json_obj_end(&j);
	}
	ado_json_arr_end(&j);
	ado_json_obj_end(&j);
}

/* ---- reading ---- */

struct ado_runrec {
	yaml_document_t d;
	yaml_node_t *root;
};

static yaml_node_t *member(const struct ado_runrec *r, yaml_node_t *map, const char *key)
{
	yaml_document_t *d = (yaml_document_t *)&r->d;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *scalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	/* JSON null: plain "null" (a string "null" is quoted) */
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp((const char *)n->data.scalar.value, "null") == 0)
		return NULL;
	return (const char *)n->data.scalar.value;
}

const char *ado_runrec_str(const struct ado_runrec *r, const char *key)
{
	return scalar(member(r, r->root, key));
}

long long ado_runrec_int(const struct ado_runrec *r, const char *key, long long dflt)
{
	const char *s = ado_runrec_str(r, key);
	char *end;
	long long v;

	if (!s)
		return dflt;
	v = strtoll(s, &end, 10);
	return *end ? dflt : v;
}

static yaml_node_t *item(const struct ado_runrec *r, const char *array, size_t i)
{
	yaml_node_t *a = member(r, r->root, array);

	if (!a || a->type != YAML_SEQUENCE_NODE || i >= (size_t)(a->data.sequence.items.top - a->data.sequence.items.start))
		return NULL;
	return yaml_document_get_node((yaml_document_t *)&r->d, a->data.sequence.items.start[i]);
}

size_t ado_runrec_count(const struct ado_runrec *r, const char *array)
{
	yaml_node_t *a = member(r, r->root, array);

	return a && a->type == YAML_SEQUENCE_NODE ? (size_t)(a->data.sequence.items.top - a->data.sequence.items.start) : 0;
}

const char *ado_runrec_item(const struct ado_runrec *r, const char *array, size_t i, const char *key)
{
	return scalar(member(r, item(r, array, i), key));
}

time_t ado_runrec_time(const struct ado_runrec *r)
{
	const char *s = ado_runrec_str(r, "time");
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 0;
	return timegm(&tm);
}

static int parse_line(const char *line, size_t len, struct ado_runrec *r)
{
	yaml_parser_t p;
	int ok;

	memset(r, 0, sizeof(*r));
	if (len == 0 || line[0] != '{')
		return -1;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)line, len);
	ok = yaml_parser_load(&p, &r->d);
	yaml_parser_delete(&p);
	if (!ok)
		return -1;
	r->root = yaml_document_get_root_node(&r->d);
	if (!r->root || r->root->type != YAML_MAPPING_NODE || !ado_runrec_str(r, "type") ||
	    strcmp(ado_runrec_str(r, "type"), "run") != 0) {
		yaml_document_delete(&r->d);
		return -1;
	}
	return 0;
}

static int read_file(const char *path, const char *tool, ado_runrec_fn fn, void *arg, struct ado_err *e)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		return ado_err_set(e, ADO_E_IO, errno, "cannot read run records '%s'", path);
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		struct ado_runrec r;
		const char *t;
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (parse_line(line, (size_t)n, &r) < 0) {
			ado_warn("'%s' line %zu: not a run record: skipped", path, lineno);
			continue;
		}
		t = ado_runrec_str(&r, "tool");
		if (!tool || (t && strcmp(t, tool) == 0))
			fn(&r, arg);
		yaml_document_delete(&r.d);
	}
	free(line);
	fclose(f);
	return 0;
}

int ado_runlog_read(const char *state_dir, const char *tool, ado_runrec_fn fn, void *arg, struct ado_err *e)
{
	char path[4096], old[4200];

	if (!state_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", state_dir, ADO_RUNLOG_NAME);
	snprintf(old, sizeof(old), "%s.1", path);
	if (read_file(old, tool, fn, arg, e) < 0)
		return -1;
	return read_file(path, tool, fn, arg, e);
}
