#include "job/repo.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct list_ctx {
	struct ado_backup_info *v;
	size_t n, cap;
	int oom;
};

static int list_cb(const struct ado_store_entry *ent, void *arg)
{
	struct list_ctx *c = arg;
	time_t t = ado_backup_id_time(ent->name);

	if (t == (time_t)-1)
		return 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 32;
		struct ado_backup_info *nv = realloc(c->v, ncap * sizeof(*nv));
		if (!nv) {
			c->oom = 1;
			return 1;
		}
		c->v = nv;
		c->cap = ncap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	snprintf(c->v[c->n].id, sizeof(c->v[c->n].id), "%s", ent->name);
	c->v[c->n].time = t;
	c->n++;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct ado_backup_info *)a)->id, ((const struct ado_backup_info *)b)->id);
}

int ado_repo_list_ids(struct ado_store *s, const char *job, struct ado_backup_info **out, size_t *n,
		      struct ado_err *e)
{
	struct list_ctx c = { 0 };

	*out = NULL;
	*n = 0;
	if (ado_store_list(s, job, list_cb, &c, e) < 0) {
		free(c.v);
		return -1;
	}
	if (c.oom) {
		free(c.v);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	if (c.n)	/* qsort(NULL, 0) is undefined (UBSan): an empty job lists nothing */
		qsort(c.v, c.n, sizeof(*c.v), by_id);
	*out = c.v;
	*n = c.n;
	return 0;
}

struct manifest_scan {
	struct ado_backup_info *v;
	size_t n;
};

/* "ID/manifest.json" in a tree listing: that backup is complete */
static int manifest_cb(const struct ado_store_entry *ent, void *arg)
{
	struct manifest_scan *ms = arg;
	const char *slash = strchr(ent->name, '/');
	struct ado_backup_info key, *hit;

	if (!slash || strcmp(slash + 1, ADO_MANIFEST_NAME) != 0 || (size_t)(slash - ent->name) >= sizeof(key.id))
		return 0;
	snprintf(key.id, sizeof(key.id), "%.*s", (int)(slash - ent->name), ent->name);
	if (ms->n && (hit = bsearch(&key, ms->v, ms->n, sizeof(*ms->v), by_id)) != NULL)
		hit->complete = 1;
	return 0;
}

int ado_repo_list(struct ado_store *s, const char *job, struct ado_backup_info **out, size_t *n, struct ado_err *e)
{
	struct list_ctx c = { 0 };
	int tree;

	if (ado_repo_list_ids(s, job, &c.v, &c.n, e) < 0)
		return -1;
	*out = NULL;
	*n = 0;
	/* a remote store: one listing of every object says which backups have a
	 * manifest (a job that keeps 2,880 backups would cost 2,880 HEADs) */
	tree = c.n ? ado_store_list_tree(s, job, manifest_cb, &(struct manifest_scan){ c.v, c.n }, e) : 0;
	if (tree < 0) {
		free(c.v);
		return -1;
	}
	for (size_t i = 0; tree == 1 && i < c.n; i++) {
		char path[512];
		int r;
		snprintf(path, sizeof(path), "%s/%s/%s", job, c.v[i].id, ADO_MANIFEST_NAME);
		r = ado_store_exists(s, path, NULL, e);
		if (r < 0) {
			free(c.v);
			return -1;
		}
		c.v[i].complete = r;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

int ado_repo_inspect(struct ado_store *s, const char *job, struct ado_backup_info *b, struct ado_manifest **m)
{
	struct ado_manifest *got = NULL;
	struct ado_err err;

	if (m)
		*m = NULL;
	if (!b->complete)
		return -1;
	ado_err_clear(&err);
	if (ado_repo_manifest(s, job, b->id, NULL, 0, &got, NULL, &err) < 0) {
		b->damaged = 1;
		snprintf(b->reason, sizeof(b->reason), "%.*s", (int)sizeof(b->reason) - 1, err.msg);
		return -1;
	}
	if (m)
		*m = got;
	else
		ado_manifest_free(got);
	return 0;
}

int ado_repo_newest(struct ado_store *s, const char *job, struct ado_backup_info *out, struct ado_manifest **m,
		    struct ado_err *e)
{
	struct ado_backup_info *v = NULL;
	size_t n = 0;
	int rc = 0;

	if (m)
		*m = NULL;
	if (ado_repo_list_ids(s, job, &v, &n, e) < 0)
		return -1;
	for (size_t i = n; i-- > 0;) {
		char path[512];
		int r;

		snprintf(path, sizeof(path), "%s/%s/%s", job, v[i].id, ADO_MANIFEST_NAME);
		if ((r = ado_store_exists(s, path, NULL, e)) < 0) {
			rc = -1;
			break;
		}
		v[i].complete = r;
		/* an empty or unreadable manifest is a damaged backup, not the newest */
		if (r == 1 && ado_repo_inspect(s, job, &v[i], m) == 0) {
			*out = v[i];
			rc = 1;
			break;
		}
	}
	free(v);
	return rc;
}

const char *ado_backup_state(const struct ado_backup_info *b)
{
	return !b->complete ? "incomplete" : b->damaged ? "damaged" : "complete";
}

int ado_repo_open_list(const struct ado_config *cfg, const struct ado_dest *d, const char *job, struct ado_store **s,
		       struct ado_backup_info **out, size_t *n, struct ado_err *e)
{
	*out = NULL;
	*n = 0;
	if (ado_store_open(d, cfg, s, e) < 0) {
		*s = NULL;
		return -1;
	}
	if (ado_repo_list(*s, job, out, n, e) < 0) {
		ado_store_free(*s);
		*s = NULL;
		return -1;
	}
	return 0;
}

int ado_repo_auth_required(const struct ado_config *cfg, const char *job, const struct ado_keyring *k)
{
	const struct ado_job *jb = cfg ? ado_config_job(cfg, job) : NULL;

	if (jb)
		return jb->encrypt;
	return k != NULL;
}

int ado_repo_manifest(struct ado_store *s, const char *job, const char *id, struct ado_keyring *k,
		      int require_auth, struct ado_manifest **out, int *authenticated, struct ado_err *e)
{
	char path[512], *buf = NULL, *ref = ado_ref_make(s, job, id);
	const char *r = ref ? ref : id;	/* DEST/JOB/ID without a doubled '/' */
	size_t len;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s/%s", job, id, ADO_MANIFEST_NAME);
	if (ado_store_read_all(s, path, ADO_MANIFEST_MAX, &buf, &len, e) < 0) {
		if (e && e->kind == ADO_E_NOTFOUND) {
			int jr = ado_store_exists(s, job, NULL, NULL);
			char dir[512];
			snprintf(dir, sizeof(dir), "%s/%s", job, id);
			if (jr == 1 && ado_store_exists(s, dir, NULL, NULL) == 1) {
				ado_err_set(e, ADO_E_NOTFOUND, 0, "backup '%s' is incomplete: it has no manifest", r);
				ado_err_hint(e, "it was interrupted or is still being written; use another backup (ado-restore --list)");
			} else {
				ado_err_set(e, ADO_E_NOTFOUND, 0, "no backup '%s'", r);
				ado_err_hint(e, "ado-restore --list --job %s shows the backups there are", job);
			}
		}
		goto out;
	}
	rc = ado_manifest_parse(buf, len, k, require_auth, out, authenticated, e);
	if (rc == 0 && (strcmp((*out)->job, job) != 0 || strcmp((*out)->id, id) != 0)) {
		ado_err_set(e, ADO_E_INTEGRITY, 0, "manifest at '%s' belongs to '%s/%s'", r, (*out)->job, (*out)->id);
		ado_manifest_free(*out);
		*out = NULL;
		rc = -1;
	} else if (rc < 0) {
		/* name the file: the reason must say which stored file is bad */
		ado_err_prefix(e, "'%s/%s'", r, ADO_MANIFEST_NAME);
	}
out:
	free(buf);
	free(ref);
	return rc;
}

int ado_repo_read_artifact(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
			   struct ado_keyring *k, enum ado_read_depth depth, struct ado_writer *sink,
			   struct ado_err *e)
{
	return ado_repo_read_artifact_metered(s, m, a, k, depth, sink, NULL, e);
}

int ado_repo_read_artifact_metered(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
				   struct ado_keyring *k, enum ado_read_depth depth, struct ado_writer *sink,
				   struct ado_meter *meter, struct ado_err *e)
{
	struct ado_digest stored = { 0 }, plain = { 0 };
	struct ado_writer *head = sink, *w;
	struct ado_reader *r = NULL;
	char path[1024];
	/* no plain_sha256: a files tar, whose index checks each file as it is
	 * restored; its stream is checked by the codec's checksum and the
	 * cipher's tags, so hashing it again would only cost CPU */
	int hash_plain = a->plain_sha256[0] != '\0';
	int rc = -1;

	if (!hash_plain && (strcmp(a->kind, "files") != 0 || !ado_manifest_index_of(m, a))) {
		/* the parser refuses this; a manifest made some other way must not pass unchecked */
		ado_writer_free(sink);
		return ado_err_set(e, ADO_E_INTEGRITY, 0, "artifact '%s': no plain_sha256 and no index to check its files against",
				   a->name);
	}
	if (depth == ADO_READ_STORED) {
		if (!head && !(head = ado_null_writer_new(e)))
			return -1;
	} else {
		if (!head && !(head = ado_null_writer_new(e)))
			return -1;
		if (!(w = ado_meter_writer_new(head, meter, ADO_METER_OUT, e)))
			goto fail_head;
		head = w;
		if (!(w = hash_plain ? ado_hash_writer_new(head, &plain, e) : ado_size_writer_new(head, &plain, e)))
			goto fail_head;
		head = w;
		if (!(w = ado_decompress_writer_new(head, a->compression, e)))
			goto fail_head;
		head = w;
		if (a->encrypted) {
			if (!k) {
				ado_err_set(e, ADO_E_CONFIG, 0, "artifact '%s' is encrypted and no key was loaded", a->name);
				goto fail_head;
			}
			if (!(w = ado_decrypt_writer_new(head, k, m->id, a->name, e)))
				goto fail_head;
			head = w;
		}
	}
	if (!(w = ado_hash_writer_new(head, &stored, e)))
		goto fail_head;
	head = w;
	if (!(w = ado_meter_writer_new(head, meter, ADO_METER_IN, e)))
		goto fail_head;
	head = w;
	snprintf(path, sizeof(path), "%s/%s/%s", m->job, m->id, a->name);
	if (ado_store_open_read(s, path, &r, e) < 0)
		goto out;
	if (ado_pump(r, head, e) < 0 || ado_writer_close(head, e) < 0) {
		/* a filter's error ("corrupt zstd stream") must say which stored file
		 * is bad, whether it came mid-stream or at the close; unless it does */
		char quoted[600];
		snprintf(quoted, sizeof(quoted), "'%s'", a->name);
		if (e && e->kind != ADO_E_INTERRUPTED && e->kind != ADO_E_WRONGKEY && !strstr(e->msg, quoted))
			ado_err_prefix(e, "artifact '%s'", a->name);
		goto out;
	}
	if (stored.size != a->stored_size || strcmp(stored.sha256, a->stored_sha256) != 0) {
		ado_err_set(e, ADO_E_INTEGRITY, 0,
			    "artifact '%s': stored bytes differ from the manifest (size %llu, expected %llu; sha256 %.12s..., expected %.12s...)",
			    a->name, (unsigned long long)stored.size, (unsigned long long)a->stored_size, stored.sha256,
			    a->stored_sha256);
		goto out;
	}
	if (depth != ADO_READ_STORED &&
	    (plain.size != a->plain_size || (hash_plain && strcmp(plain.sha256, a->plain_sha256) != 0))) {
		ado_err_set(e, ADO_E_INTEGRITY, 0,
			    "artifact '%s': restored content differs from the manifest (size %llu, expected %llu)", a->name,
			    (unsigned long long)plain.size, (unsigned long long)a->plain_size);
		goto out;
	}
	rc = 0;
out:
	ado_reader_free(r);
	ado_writer_free(head);
	return rc;
fail_head:
	ado_writer_free(head);
	return -1;
}

int ado_repo_check_sums(struct ado_store *s, const struct ado_manifest *m, struct ado_err *e)
{
	char path[512], *buf = NULL, *want = NULL;
	size_t len, wlen;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s/%s", m->job, m->id, ADO_SUMS_NAME);
	if (ado_store_read_all(s, path, ADO_MANIFEST_MAX, &buf, &len, e) < 0)
		return -1;
	if (ado_manifest_sums(m, &want, &wlen, e) < 0)
		goto out;
	if (len != wlen || memcmp(buf, want, len) != 0) {
		ado_err_set(e, ADO_E_INTEGRITY, 0, "'%s' does not match the manifest", ADO_SUMS_NAME);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	free(want);
	return rc;
}

static int wanted(const struct ado_artifact *a, const char *target)
{
	if (strcmp(a->kind, "files-index") == 0)
		return 0;	/* written as metadata: always online */
	if (!target)
		return 1;
	/* the same matching as ado_artifact_matches (restore.h), kept here to stay below job/restore */
	return strcmp(a->target, target) == 0 || (a->source && strcmp(a->source, target) == 0) ||
	       (a->source && strncmp(a->source, target, strlen(target)) == 0 &&
		strcmp(a->source + strlen(target), "/") == 0);
}

/* Where artifact a lies (into path) and whether it can be read now. */
static int art_state(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a, char *path,
		     size_t len, enum ado_readable *st, struct ado_err *e)
{
	snprintf(path, len, "%s/%s/%s", m->job, m->id, a->name);
	return ado_store_readable(s, path, st, e);
}

/* Count the artifacts that cannot be read now. */
static int count_unreadable(struct ado_store *s, const struct ado_manifest *m, const char *target, size_t *total,
			    size_t *archived, size_t *restoring, struct ado_err *e)
{
	*total = *archived = *restoring = 0;
	for (size_t i = 0; i < m->nartifacts; i++) {
		const struct ado_artifact *a = &m->artifacts[i];
		enum ado_readable st;
		char path[1024];
		if (!wanted(a, target))
			continue;
		(*total)++;
		if (art_state(s, m, a, path, sizeof(path), &st, e) < 0)
			return -1;
		*archived += st == ADO_READABLE_ARCHIVED;
		*restoring += st == ADO_READABLE_RESTORING;
	}
	return 0;
}

int ado_repo_check_readable(const struct ado_config *cfg, struct ado_store *s, const struct ado_manifest *m,
			    const char *target, struct ado_err *e)
{
	size_t total, archived, restoring;
	char *ref, copt[1100] = "";

	if (!s->ops->readable)
		return 0;
	if (count_unreadable(s, m, target, &total, &archived, &restoring, e) < 0)
		return -1;
	if (archived + restoring == 0)
		return 0;
	ref = ado_ref_make(s, m->job, m->id);
	if (cfg && cfg->path)
		snprintf(copt, sizeof(copt), " -c %s", cfg->path);
	if (archived) {
		ado_err_set(e, ADO_E_ARCHIVED, 0,
			    "backup '%s' is archived: %zu of its %zu artifacts must be restored from the archive tier "
			    "before they can be read",
			    ref ? ref : m->id, archived + restoring, total);
		ado_err_hint(e, "request it (hours for Standard): ado-restore%s --job %s --backup %s --from %s --thaw "
			     "--days 7 --tier Standard; then run the same with --wait and the restore options",
			     copt, m->job, m->id, s->url);
	} else {
		ado_err_set(e, ADO_E_ARCHIVED, 0,
			    "backup '%s' is being restored from the archive tier: %zu of its %zu artifacts are not "
			    "readable yet",
			    ref ? ref : m->id, restoring, total);
		ado_err_hint(e, "wait for it: ado-restore%s --job %s --backup %s --from %s --wait and the restore options",
			     copt, m->job, m->id, s->url);
	}
	free(ref);
	return -1;
}

int ado_repo_thaw(struct ado_store *s, const struct ado_manifest *m, const char *target, int days, const char *tier,
		  struct ado_err *e)
{
	int n = 0;

	for (size_t i = 0; i < m->nartifacts; i++) {
		const struct ado_artifact *a = &m->artifacts[i];
		enum ado_readable st;
		char path[1024];
		if (!wanted(a, target))
			continue;
		if (art_state(s, m, a, path, sizeof(path), &st, e) < 0)
			return -1;
		if (st != ADO_READABLE_ARCHIVED)
			continue;
		if (ado_store_thaw(s, path, days, tier, e) < 0)
			return -1;
		n++;
	}
	return n;
}

int ado_repo_wait_readable(struct ado_store *s, const struct ado_manifest *m, const char *target, long max_wait,
			   long interval, ado_progress_fn progress, void *arg, struct ado_err *e)
{
	time_t start = time(NULL);

	for (;;) {
		size_t total, archived, restoring;
		if (count_unreadable(s, m, target, &total, &archived, &restoring, e) < 0)
			return -1;
		if (progress)
			progress(arg, total - archived - restoring, total);
		if (archived + restoring == 0)
			return 0;
		if (archived)
			return ado_repo_check_readable(NULL, s, m, target, e);	/* never requested: waiting cannot help */
		if (time(NULL) - start + interval > max_wait) {
			ado_err_set(e, ADO_E_ARCHIVED, 0, "backup '%s/%s': %zu of %zu artifacts still not readable after %ld s",
				    m->job, m->id, restoring, total, (long)(time(NULL) - start));
			return ado_err_hint(e, "the archive is slow (Standard: hours, Bulk: up to 48 h): run --wait again later");
		}
		sleep((unsigned)interval);
	}
}

int ado_repo_archived(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
		      struct ado_err *e)
{
	enum ado_readable st;
	char path[1024];
	uint64_t size = 0;

	if (!s->ops->readable)
		return 0;
	if (art_state(s, m, a, path, sizeof(path), &st, e) < 0)
		return -1;
	if (st == ADO_READABLE_ONLINE)
		return 0;
	if (ado_store_exists(s, path, &size, e) < 0)
		return -1;
	if (size != a->stored_size)
		return ado_err_set(e, ADO_E_INTEGRITY, 0, "artifact '%s' (archived): size %llu, expected %llu", a->name,
				   (unsigned long long)size, (unsigned long long)a->stored_size);
	return 1;
}

uint64_t ado_repo_held_targets(struct ado_store *s, const struct ado_job *job, const char *id)
{
	struct ado_manifest *m = NULL;
	uint64_t held = 0;

	if (ado_repo_manifest(s, job->name, id, NULL, 0, &m, NULL, NULL) < 0)
		return 0;
	for (size_t t = 0; t < job->ntargets && t < 64; t++)
		for (size_t i = 0; i < m->nartifacts; i++)
			if (strcmp(m->artifacts[i].target, job->targets[t].name) == 0) {
				held |= (uint64_t)1 << t;
				break;
			}
	ado_manifest_free(m);
	return held;
}
