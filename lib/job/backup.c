/* backup.c - one job: lock, every target through the chain into every
 * destination at once, then per destination SHA256SUMS and the manifest (the
 * commit), then retention. A failing destination is dropped and the others
 * go on (pgBackRest command/archive/push/file.c); a failing target is
 * recorded and the others go on. */
#include "job/backup.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "ado.h"
#include "source/files/files.h"
#include "base/lock.h"
#include "base/log.h"
#include "format/manifest.h"
#include "source/pg/pg.h"
#include "job/repo.h"
#include "base/sig.h"
#include "store/store.h"

#define MAX_DESTS ADO_BACKUP_MAX_DESTS

struct dest {
	const struct ado_dest *cfg;
	struct ado_store *s;
	int alive;
	int used;		/* something was written there: clean up on failure */
};

struct run {
	const struct ado_config *cfg;
	const struct ado_job *job;
	const struct ado_backup_opts *o;
	struct ado_backup_report *rep;
	struct dest dests[MAX_DESTS];
	size_t ndests;
	struct ado_manifest *m;
	unsigned char master[ADO_KEY_LEN];
	struct ado_kdf kdf;
	int threads;
	const struct ado_files_stats *fst;	/* of the files target being read */
	uint64_t unreadable_told;
};

struct chain {
	struct ado_writer *head;
	struct ado_writer *tee;
	size_t tee_dest[MAX_DESTS];
	size_t ntee;
	struct ado_digest plain, stored;
};

static void dest_fail(struct run *r, size_t i, const struct ado_err *err)
{
	char why[1400];

	if (!r->dests[i].alive)
		return;
	r->dests[i].alive = 0;
	/* with the errno text: "cannot create folder 'x'" alone does not say why */
	ado_error("destination '%s' failed for job '%s': %s", r->dests[i].cfg->url, r->job->name,
		  ado_err_str(err, why, sizeof(why)));
	if (err->hint[0])
		ado_hint("%s", err->hint);
}

static size_t alive_count(const struct run *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->ndests; i++)
		n += r->dests[i].alive;
	return n;
}

/* head -> sha256(plain) -> [thread] -> compress -> [encrypt] -> sha256(stored) -> tee(destinations)
 * hash_plain 0: the plain bytes are counted, not hashed (c->plain.sha256 ""),
 * for a files tar, whose index holds every file's SHA-256 */
static int chain_open(struct run *r, const char *artifact, int threaded, int hash_plain, unsigned flags,
		      struct chain *c, struct ado_err *e)
{
	struct ado_writer *sinks[MAX_DESTS], *w;
	char path[1024];
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "%s/%s/%s", r->job->name, r->m->id, artifact);
	for (size_t i = 0; i < r->ndests; i++) {
		struct ado_err de;
		if (!r->dests[i].alive)
			continue;
		ado_err_clear(&de);
		r->dests[i].used = 1;
		if (ado_store_open_write(r->dests[i].s, path, flags, &sinks[n], &de) < 0) {
			dest_fail(r, i, &de);
			continue;
		}
		c->tee_dest[n++] = i;
	}
	if (n == 0)
		return ado_err_set(e, ADO_E_IO, 0, "job '%s': no destination is left to write to", r->job->name);
	c->ntee = n;
	if (!(c->tee = ado_tee_new(sinks, n, e))) {
		for (size_t i = 0; i < n; i++)
			ado_writer_free(sinks[i]);
		return -1;
	}
	w = c->tee;
	if (threaded && !(w = ado_meter_writer_new(w, r->o->meter, ADO_METER_OUT, e)))
		goto fail;
	c->head = w;
	if (!(w = ado_hash_writer_new(w, &c->stored, e)))
		goto fail;
	c->head = w;
	if (r->job->encrypt) {
		if (!(w = ado_encrypt_writer_new(w, r->master, &r->kdf, r->m->id, artifact, e)))
			goto fail;
		c->head = w;
	}
	if (threaded) {
		/* encryption, the stored-bytes hash and the writes get a thread of their own */
		if (!(w = ado_thread_writer_new(w, 4, e)))
			goto fail;
		c->head = w;
	}
	if (!(w = ado_compress_writer_new(w, r->job->compression, r->job->compression_level, threaded ? r->threads : 0,
					  e)))
		goto fail;
	c->head = w;
	if (!(w = hash_plain ? ado_hash_writer_new(w, &c->plain, e) : ado_size_writer_new(w, &c->plain, e)))
		goto fail;
	c->head = w;
	if (threaded) {
		if (!(w = ado_thread_writer_new(w, 4, e)))
			goto fail;
		c->head = w;
		/* in the reading thread: the redraws come from there */
		if (!(w = ado_meter_writer_new(w, r->o->meter, ADO_METER_IN, e)))
			goto fail;
		c->head = w;
	}
	return 0;
fail:
	ado_writer_free(c->head ? c->head : c->tee);
	c->head = c->tee = NULL;
	return -1;
}

/* Close the chain and drop the destinations whose sink failed. */
static int chain_close(struct run *r, struct chain *c, struct ado_err *e)
{
	int rc = ado_writer_close(c->head, e);

	for (size_t i = 0; i < c->ntee; i++) {
		struct ado_err de;
		ado_err_clear(&de);
		if (ado_tee_status(c->tee, i, &de) < 0)
			dest_fail(r, c->tee_dest[i], &de);
	}
	return rc;
}

static void chain_free(struct chain *c)
{
	ado_writer_free(c->head);
	c->head = c->tee = NULL;
}

static char *artifact_name(const struct run *r, const char *base, const char *suffix)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s%s%s%s", base, suffix, ado_compression_ext(r->job->compression),
		 r->job->encrypt ? ".enc" : "");
	return strdup(buf);
}

static struct ado_artifact *add_artifact(struct run *r, const struct ado_target *t, const char *name, const char *kind,
					 const char *format, const struct chain *c)
{
	struct ado_artifact *a = ado_manifest_add_artifact(r->m);

	if (!a)
		return NULL;
	a->name = strdup(name);
	a->target = strdup(t->name);
	a->kind = strdup(kind);
	a->source = strdup(t->kind == ADO_TARGET_FILES ? t->path : t->database);
	a->format = strdup(format);
	a->compression = r->job->compression;
	a->encrypted = r->job->encrypt;
	a->stored_size = c->stored.size;
	memcpy(a->stored_sha256, c->stored.sha256, 65);
	a->plain_size = c->plain.size;
	memcpy(a->plain_sha256, c->plain.sha256, 65);
	return a;
}

static void on_warn(void *arg, const char *msg)
{
	struct run *r = arg;

	if (r->fst && r->fst->unreadable != r->unreadable_told) {
		/* a file left out of the backup is named even with -q */
		r->unreadable_told = r->fst->unreadable;
		ado_error("job '%s': %s", r->job->name, msg);
	} else {
		ado_warn("%s", msg);
	}
	r->rep->warnings++;
	ado_manifest_add_warning(r->m, "%s", msg);
}

static int backup_files(struct run *r, const struct ado_target *t, struct ado_err *e)
{
	struct chain tar = { 0 }, idx = { 0 };
	struct ado_files_stats st = { 0 };
	struct ado_artifact *a;
	char *tname = artifact_name(r, t->name, ".tar"), *iname = artifact_name(r, t->name, ".index.tsv");
	int rc = -1;

	if (!tname || !iname) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	/* the tar's plain stream is not hashed: the index hashes each file in it
	 * (checked as each is restored), the codec's checksum and the cipher's
	 * tags check the stream, stored_sha256 the stored bytes */
	if (chain_open(r, tname, 1, 0, 0, &tar, e) < 0 ||
	    chain_open(r, iname, 0, 1, ADO_STORE_WRITE_META, &idx, e) < 0)
		goto out;
	r->fst = &st;
	r->unreadable_told = 0;
	ado_meter_files(r->o->meter, &st.entries);
	rc = ado_files_backup(t, tar.head, idx.head, on_warn, r, &st, e);
	ado_meter_files(r->o->meter, NULL);
	r->fst = NULL;
	if (rc < 0)
		goto out;
	rc = -1;
	if (chain_close(r, &tar, e) < 0 || chain_close(r, &idx, e) < 0)
		goto out;
	if (!add_artifact(r, t, iname, "files-index", "tsv", &idx) ||
	    !(a = add_artifact(r, t, tname, "files", "tar", &tar)) || !(a->index = strdup(iname))) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	a->file_count = st.entries;
	if (st.unreadable) {
		r->rep->targets_partial++;
		ado_error("job '%s': target '%s' is partial: %llu %s could not be read (named above)", r->job->name,
			  t->name, (unsigned long long)st.unreadable, st.unreadable == 1 ? "file" : "files");
	}
	ado_info("%s: %s: %llu entries, %llu bytes -> %llu stored", r->job->name, t->path,
		 (unsigned long long)st.entries, (unsigned long long)tar.plain.size,
		 (unsigned long long)tar.stored.size);
	rc = 0;
out:
	chain_free(&tar);
	chain_free(&idx);
	free(tname);
	free(iname);
	return rc;
}

static int backup_database(struct run *r, const struct ado_target *t, struct ado_err *e)
{
	struct ado_pg *pg = NULL;
	struct ado_pg_snapshot *snap = NULL;
	struct chain c = { 0 };
	struct ado_reader *rd = NULL;
	struct ado_artifact *a;
	char *dump = NULL, *dump_version = NULL, *name = artifact_name(r, t->name, ".pgdump"), what[512];
	pid_t pid = -1;
	int fd = -1, rc = -1;

	if (!name) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	/* every check that can refuse the target (missing table, view, privilege) happens here, before pg_dump */
	if (ado_pg_connect(r->cfg, t->database, &pg, e) < 0 || ado_pg_dump_find(pg, &dump, &dump_version, e) < 0 ||
	    ado_pg_snapshot_open(pg, t->tables, t->ntables, &snap, e) < 0)
		goto out;
	if (chain_open(r, name, 1, 1, 0, &c, e) < 0)
		goto out;
	if (ado_pg_dump_spawn(pg, dump, snap, t->ntables == 0, &pid, &fd, e) < 0)
		goto out;
	snprintf(what, sizeof(what), "pg_dump for database '%s'", t->database);
	if (!(rd = ado_fd_reader_new(fd, 1, e)))
		goto out;
	fd = -1;
	/* the row counts run on the server in the snapshot transaction while
	 * pg_dump dumps that snapshot: the same rows, without adding their time */
	if (ado_pg_count_send(pg, snap, e) < 0 || !(rd = ado_pg_count_reader_new(pg, rd, e)))
		goto out;
	if (ado_pump(rd, c.head, e) < 0) {
		ado_reader_free(rd);
		rd = NULL;
		ado_pg_child_wait(pid, what, NULL);
		pid = -1;
		goto out;
	}
	ado_reader_free(rd);
	rd = NULL;
	{
		int w = ado_pg_child_wait(pid, what, e);
		pid = -1;
		if (w < 0 || ado_pg_count_finish(pg, e) < 0)
			goto out;
	}
	if (chain_close(r, &c, e) < 0)
		goto out;
	if (!(a = add_artifact(r, t, name, "database", "pg_dump-custom", &c)))
		goto oom;
	a->server_version = strdup(ado_pg_server_version(pg));
	a->pg_dump_version = strdup(dump_version);
	a->whole_database = t->ntables == 0;
	a->tables = calloc(snap->ntables ? snap->ntables : 1, sizeof(*a->tables));
	if (!a->server_version || !a->pg_dump_version || !a->tables)
		goto oom;
	for (size_t i = 0; i < snap->ntables; i++) {
		if (!(a->tables[i].name = strdup(snap->tables[i].display)))
			goto oom;
		a->tables[i].rows = snap->tables[i].rows;
		a->ntables++;
	}
	ado_info("%s: database %s: %zu tables, %llu bytes -> %llu stored", r->job->name, t->database, snap->ntables,
		 (unsigned long long)c.plain.size, (unsigned long long)c.stored.size);
	rc = 0;
	goto out;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
out:
	/* the read end goes first: a pg_dump blocked on a full pipe then dies
	 * of SIGPIPE instead of being waited for forever */
	if (fd >= 0)
		close(fd);
	ado_reader_free(rd);
	if (pid > 0) {
		ado_pg_child_wait(pid, "pg_dump", NULL);
	}
	chain_free(&c);
	if (pg)
		ado_pg_snapshot_end(pg, snap);
	ado_pg_free(pg);
	free(dump);
	free(dump_version);
	free(name);
	return rc;
}

static int commit(struct run *r, size_t i, const char *manifest, size_t mlen, const char *sums, size_t slen,
		  ado_backup_ref_fn on_ref, void *arg)
{
	struct ado_err de;
	char path[512];
	char *ref;

	ado_err_clear(&de);
	snprintf(path, sizeof(path), "%s/%s/%s", r->job->name, r->m->id, ADO_SUMS_NAME);
	if (ado_store_write_all(r->dests[i].s, path, sums, slen, &de) < 0) {
		dest_fail(r, i, &de);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", r->job->name, r->m->id, ADO_MANIFEST_NAME);
	if (ado_store_write_all(r->dests[i].s, path, manifest, mlen, &de) < 0) {
		dest_fail(r, i, &de);
		return -1;
	}
	ref = ado_ref_make(r->dests[i].s, r->job->name, r->m->id);
	ado_meter_clear(r->o->meter);	/* stdout may be the same terminal */
	if (ref && on_ref)
		on_ref(arg, ref);
	free(ref);
	return 0;
}

struct dead_ctx {
	long pid;		/* a temporary file of a dead run seen */
};

static int dead_cb(const struct ado_store_entry *ent, void *arg)
{
	struct dead_ctx *c = arg;
	long pid = ado_store_tmp_pid(ent->name);

	if (pid && pid != (long)getpid() && ado_pid_gone(pid)) {
		c->pid = pid;
		return 1;
	}
	return 0;
}

/* With the job's lock held, no other run of it is alive here: an incomplete
 * backup folder holding a temporary file of a process that is gone was left
 * by a run that died (kill -9, power). Remove it now, not a day later.
 * Only the local driver writes temporary files (remote uploads stay
 * uncommitted, invisible): elsewhere this would cost requests for nothing. */
static void remove_dead_runs(struct ado_store *s, const struct ado_job *job)
{
	struct ado_backup_info *v = NULL;
	size_t n = 0;

	if (strcmp(s->ops->scheme, "local") != 0 || ado_repo_list(s, job->name, &v, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct dead_ctx c = { 0 };
		char dir[512];
		if (v[i].complete)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", job->name, v[i].id);
		if (ado_store_list(s, dir, dead_cb, &c, NULL) < 0 || !c.pid)
			continue;
		if (ado_store_remove_tree(s, dir, NULL) == 0)
			ado_info("removed '%s/%s': left by a run that died (pid %ld)", s->url, dir, c.pid);
	}
	free(v);
}

/* The plain bytes of the newest complete backup on the first destination that
 * lists: the progress meter's estimate of what this run reads (0: unknown). */
static uint64_t previous_size(struct run *r)
{
	for (size_t i = 0; i < r->ndests; i++) {
		struct ado_backup_info b;
		struct ado_manifest *m = NULL;
		uint64_t total = 0;
		int k;

		if (!r->dests[i].alive || (k = ado_repo_newest(r->dests[i].s, r->job->name, &b, &m, NULL)) < 0)
			continue;
		if (k == 0)
			return 0;
		for (size_t a = 0; a < m->nartifacts; a++)
			if (strcmp(m->artifacts[a].kind, "files-index") != 0)
				total += m->artifacts[a].plain_size;
		/* a backup where targets failed read less than this run will */
		if (m->nfailed_targets)
			total = 0;
		ado_manifest_free(m);
		return total;
	}
	return 0;
}

/* now, or one second after the newest backup id of job on any destination
 * still alive when that id is at most a minute ahead of now. A listing that
 * fails is ignored here: the run reports that destination when it writes. */
static time_t after_newest(struct run *r, const struct ado_job *job, time_t now)
{
	for (size_t i = 0; i < r->ndests; i++) {
		struct ado_backup_info *v = NULL;
		size_t n = 0;

		if (!r->dests[i].alive || ado_repo_list_ids(r->dests[i].s, job->name, &v, &n, NULL) < 0)
			continue;
		/* only the seconds taken ahead of the clock (a minute at most): a
		 * newer id than that means the clock was moved back, and ids keep
		 * telling the time rather than running on from a wrong one */
		if (n > 0 && v[n - 1].time >= now && v[n - 1].time - now < 60)
			now = v[n - 1].time + 1;
		free(v);
	}
	return now;
}

int ado_backup_run(const struct ado_config *cfg, const struct ado_job *job, const struct ado_backup_opts *o,
		   ado_backup_ref_fn on_ref, void *arg, struct ado_backup_report *rep, struct ado_err *e)
{
	struct run r;
	struct ado_lock *lock = NULL;
	struct ado_err last;
	char *manifest = NULL, *sums = NULL, host[256];
	size_t mlen = 0, slen = 0;
	time_t now = o->now ? o->now : time(NULL);
	struct timespec t0, t1;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	memset(rep, 0, sizeof(*rep));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ado_err_clear(&last);
	r.cfg = cfg;
	r.job = job;
	r.o = o;
	r.rep = rep;
	if (o->threads > 0) {
		r.threads = o->threads;
	} else {
		/* zstd workers: one per core, at most 4 (more rarely pays for its memory) */
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		r.threads = n < 1 ? 1 : n > 4 ? 4 : (int)n;
	}
	if (job->ndests > MAX_DESTS)
		return ado_err_set(e, ADO_E_CONFIG, 0, "job '%s' has more than %d destinations", job->name, MAX_DESTS);
	if (job->encrypt && !o->keyring)
		return ado_err_set(e, ADO_E_CONFIG, 0, "job '%s' is encrypted and no key is configured", job->name);

	if (o->dry_run) {
		char id[20];
		ado_backup_id(now, id, sizeof(id));
		for (size_t i = 0; i < job->ntargets; i++)
			ado_info("dry run: job '%s' would back up %s '%s'", job->name,
				 job->targets[i].kind == ADO_TARGET_FILES ? "files" : "database",
				 job->targets[i].kind == ADO_TARGET_FILES ? job->targets[i].path : job->targets[i].database);
		for (size_t i = 0; i < job->ndests; i++) {
			char *ref = ado_ref_join(job->dests[i].url, job->name, id);
			if (ref && on_ref)
				on_ref(arg, ref);
			free(ref);
		}
		snprintf(rep->id, sizeof(rep->id), "%s", id);
		return 0;
	}

	if (ado_lock_job(cfg->state_dir, job->name, &lock, e) < 0)
		return -1;

	for (size_t i = 0; i < job->ndests; i++) {
		struct ado_err de;
		ado_err_clear(&de);
		r.dests[i].cfg = &job->dests[i];
		if (ado_store_open(&job->dests[i], cfg, &r.dests[i].s, &de) < 0) {
			r.dests[i].alive = 1;
			dest_fail(&r, i, &de);
			last = de;
		} else {
			r.dests[i].alive = 1;
			remove_dead_runs(r.dests[i].s, job);
		}
		r.ndests++;
	}
	if (alive_count(&r) == 0) {
		if (e)
			*e = last;
		goto out;
	}
	/* uploads an earlier, killed run left unfinished under this job (S3
	 * multipart uploads, Azure uncommitted blocks): abort them so no orphan
	 * parts pile up */
	for (size_t i = 0; i < r.ndests; i++) {
		struct ado_err ce;
		int k;
		if (!r.dests[i].alive)
			continue;
		ado_err_clear(&ce);
		k = ado_store_clean_uploads(r.dests[i].s, job->name, &ce);
		if (k < 0)
			ado_warn("cannot clean up unfinished uploads on '%s': %s", r.dests[i].cfg->url, ce.msg);
		else if (k > 0)
			ado_info("aborted %d unfinished upload%s an earlier run left on '%s'", k, k == 1 ? "" : "s",
				 r.dests[i].cfg->url);
	}

	if (!(r.m = ado_manifest_new())) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	/* ids only grow: a new backup's id is after every backup already there.
	 * When two runs share a second the second takes an id ahead of the clock,
	 * and retention may then remove the first; without this the next run in
	 * that second would take the freed, older id and `latest` would pick the
	 * older data. */
	now = after_newest(&r, job, now);
	/* a fresh id: never reuse a folder an earlier run left (same second, or a crash) */
	for (;;) {
		char id[20], dir[512];
		int taken = 0;
		ado_backup_id(now, id, sizeof(id));
		snprintf(dir, sizeof(dir), "%s/%s", job->name, id);
		for (size_t i = 0; i < r.ndests; i++)
			if (r.dests[i].alive && ado_store_exists(r.dests[i].s, dir, NULL, NULL) == 1)
				taken = 1;
		if (!taken) {
			r.m->id = strdup(id);
			break;
		}
		now++;
	}
	r.m->job = strdup(job->name);
	r.m->tool_version = strdup("ado-dr " ADO_VERSION);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	r.m->host = strdup(host);
	r.m->started = time(NULL);
	r.m->rpo = job->rpo;
	r.m->rto = job->rto;
	if (!r.m->id || !r.m->job || !r.m->tool_version || !r.m->host) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	snprintf(rep->id, sizeof(rep->id), "%s", r.m->id);
	if (job->encrypt) {
		if (ado_keyring_new_kdf(o->keyring, &r.kdf, e) < 0 || ado_keyring_master(o->keyring, &r.kdf, r.master, e) < 0)
			goto out;
		r.m->encrypted = 1;
		r.m->kdf = r.kdf;
		ado_key_id(r.master, r.m->key_id);
	}

	if (o->meter)
		ado_meter_begin(o->meter, job->name, "read", "stored", previous_size(&r));
	for (size_t i = 0; i < job->ntargets && alive_count(&r) > 0; i++) {
		const struct ado_target *t = &job->targets[i];
		struct ado_err te;
		char label[512];
		int trc;
		ado_err_clear(&te);
		snprintf(label, sizeof(label), "%s/%s", job->name, t->name);
		ado_meter_target(o->meter, label);
		if (t->kind == ADO_TARGET_FILES)
			trc = backup_files(&r, t, &te);
		else
			trc = backup_database(&r, t, &te);
		if (trc < 0) {
			rep->targets_failed++;
			last = te;
			if (te.kind == ADO_E_INTERRUPTED) {
				if (e)
					*e = te;
				goto out;
			}
			ado_error("job '%s': target '%s' failed: %s%s%s", job->name, t->name, te.msg,
				  te.sys_errno ? ": " : "", te.sys_errno ? strerror(te.sys_errno) : "");
			if (te.hint[0])
				ado_hint("%s", te.hint);
			ado_manifest_add_warning(r.m, "target '%s' failed: %s", t->name, te.msg);
			/* the backup is partial: list, verify, latest, RPO and retention read this */
			ado_manifest_add_failed_target(r.m, t->name);
		} else {
			rep->targets_ok++;
		}
	}
	if (rep->targets_ok == 0) {
		/* each target's error and hint were printed above: say the outcome
		 * once, keeping the kind (a config-class cause still exits 2) */
		ado_err_set(e, last.kind == ADO_E_NONE ? ADO_E_IO : last.kind, 0, "job '%s': nothing was stored: %s",
			    job->name, job->ntargets == 1 ? "its target failed" : "every target failed");
		goto out;
	}
	r.m->finished = time(NULL);
	if (ado_manifest_serialize(r.m, job->encrypt ? r.master : NULL, &manifest, &mlen, e) < 0 ||
	    ado_manifest_sums(r.m, &sums, &slen, e) < 0)
		goto out;
	for (size_t i = 0; i < r.ndests; i++) {
		if (!r.dests[i].alive)
			continue;
		if (commit(&r, i, manifest, mlen, sums, slen, on_ref, arg) == 0)
			rep->dests_ok++;
	}
	rep->stored_bytes = mlen + slen;
	for (size_t i = 0; i < r.m->nartifacts; i++)
		rep->stored_bytes += r.m->artifacts[i].stored_size;
	if (rep->dests_ok == 0) {
		ado_err_set(e, ADO_E_IO, 0, "job '%s': no destination stored the backup", job->name);
		goto out;
	}
	/* retention only where this run succeeded: a broken destination keeps what it has */
	for (size_t i = 0; i < r.ndests; i++) {
		struct ado_err re;
		int k;
		if (!r.dests[i].alive)
			continue;
		ado_err_clear(&re);
		k = ado_retention_apply(r.dests[i].s, job, r.m->id, time(NULL), 0, &re);
		if (k < 0)
			ado_warn("retention on '%s' failed: %s", r.dests[i].cfg->url, re.msg);
		else
			rep->pruned += (size_t)k;
	}
	rc = 0;
out:
	ado_meter_end(o->meter, rc == 0);
	for (size_t i = 0; i < r.ndests; i++) {
		if (!r.dests[i].alive)
			rep->dests_failed++;
		rep->dest_ok[i] = rc == 0 && r.dests[i].alive;
		/* leave no half-written folder behind where the backup failed */
		if ((rc < 0 || !r.dests[i].alive) && r.dests[i].used && r.dests[i].s && r.m && r.m->id) {
			char dir[512];
			snprintf(dir, sizeof(dir), "%s/%s", job->name, r.m->id);
			ado_store_remove_tree(r.dests[i].s, dir, NULL);
		}
		ado_store_free(r.dests[i].s);
	}
	OPENSSL_cleanse(r.master, sizeof(r.master));
	ado_manifest_free(r.m);
	free(manifest);
	free(sums);
	ado_lock_release(lock);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rep->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	rep->finished = time(NULL);
	return rc;
}
