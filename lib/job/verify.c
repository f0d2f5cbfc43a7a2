#include "job/verify.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/files/files.h"
#include "base/log.h"
#include "format/manifest.h"
#include "job/dbrestore.h"
#include "job/repo.h"

struct warnctx {
	const char *ref;
	unsigned n;
};

static void on_warn(void *arg, const char *msg)
{
	struct warnctx *w = arg;

	w->n++;
	ado_warn("%s: %s", w->ref, msg);
}

int ado_files_extract_check(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
			    struct ado_keyring *k, const char *dir, int preserve_owner,
			    void (*warn)(void *arg, const char *msg), void *arg, struct ado_files_stats *cs,
			    struct ado_meter *meter, struct ado_err *e)
{
	const struct ado_artifact *ia = a->index ? ado_manifest_find(m, a->index) : NULL;
	struct ado_files_stats xs = { 0 };
	struct ado_extract_opts xo = { 0 };
	struct ado_writer *w;
	int rc = -1;

	memset(cs, 0, sizeof(*cs));
	if (!ia)
		return ado_err_set(e, ADO_E_FORMAT, 0, "artifact '%s' has no index in the manifest", a->name);
	/* the extraction hashes each file as it writes it: the check then reads
	 * back only the files this bounded table had no room for */
	if (!(xo.written = ado_files_written_new(ADO_FILES_WRITTEN_BUDGET)))
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	xo.preserve_owner = preserve_owner;
	xo.warn = warn;
	xo.warn_arg = arg;
	if (!(w = ado_extract_writer_new(dir, &xo, &xs, e)))
		goto out;
	ado_meter_files(meter, &xs.entries);
	if (ado_repo_read_artifact_metered(s, m, a, k, ADO_READ_PLAIN, w, meter, e) < 0) {
		ado_meter_files(meter, NULL);
		goto out;
	}
	ado_meter_files(meter, NULL);
	if (!(w = ado_index_check_writer_new2(dir, xo.written, warn, arg, cs, e)))
		goto out;
	if (ado_repo_read_artifact_metered(s, m, ia, k, ADO_READ_PLAIN, w, meter, e) < 0) {
		ado_err_prefix(e, "restored files do not match the backup");
		goto out;
	}
	if (cs->entries != a->file_count) {
		ado_err_set(e, ADO_E_INTEGRITY, 0, "'%s': index lists %llu entries, the manifest %llu", a->name,
			    (unsigned long long)cs->entries, (unsigned long long)a->file_count);
		goto out;
	}
	rc = 0;
out:
	ado_files_written_free(xo.written);
	return rc;
}

/* Restore one files artifact into a scratch folder and compare it with its index. */
static int verify_files(struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
			const struct ado_verify_opts *o, struct ado_verify_result *res, const char *ref,
			struct ado_err *e)
{
	struct ado_files_stats cs = { 0 };
	struct warnctx wc = { ref, 0 };
	char *dir;
	int rc = -1;

	if (!(dir = ado_mkdtemp(o->tmp_dir, "ado-verify", e))) {
		/* no scratch space: the test cannot run, the backup is not the cause */
		if (e)
			e->kind = ADO_E_UNCHECKED;
		return -1;
	}
	/* a scratch copy: ownership is not what we compare */
	if (ado_files_extract_check(s, m, a, o->keyring, dir, 0, on_warn, &wc, &cs, o->meter, e) < 0)
		goto out;
	res->files += cs.files;
	rc = 0;
out:
	if (ado_rm_rf(dir, NULL) < 0)
		ado_warn("cannot remove scratch folder '%s'", dir);
	free(dir);
	return rc;
}

/* Restore one database artifact into a temporary database and compare row counts. */
static int verify_database(const struct ado_config *cfg, struct ado_store *s, const struct ado_manifest *m,
			   const struct ado_artifact *a, const struct ado_verify_opts *o,
			   struct ado_verify_result *res, struct ado_err *e)
{
	return ado_pg_verify_artifact(cfg, s, m, a, o->keyring, o->scratch_db, o->tmp_dir, o->min_tables, &res->tables, e);
}

int ado_verify_backup(const struct ado_config *cfg, struct ado_store *s, const char *job, const char *id,
		      const struct ado_verify_opts *o, struct ado_verify_result *res, struct ado_err *e)
{
	struct ado_manifest *m = NULL;
	char *ref = ado_ref_make(s, job, id);
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (!ref)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	if (ado_repo_manifest(s, job, id, o->keyring, ado_repo_auth_required(cfg, job, o->keyring), &m,
			      &res->authenticated, e) < 0)
		goto out;
	if (m->encrypted && !o->keyring && o->level != ADO_VERIFY_CHECKSUM) {
		ado_err_set(e, ADO_E_CONFIG, 0, "backup is encrypted and no key is configured");
		ado_err_hint(e, "set key_file in the config, ADO_KEY_FILE or ADO_PASSPHRASE; or use --level checksum");
		goto out;
	}
	if (m->encrypted && !res->authenticated)
		ado_warn("%s: manifest not authenticated (no key loaded): checking stored bytes only", ref);
	if (ado_repo_check_sums(s, m, e) < 0)
		goto out;
	/* an archived copy: one clear line and the command to request it, not a read that fails per artifact */
	if (o->level != ADO_VERIFY_CHECKSUM && ado_repo_check_readable(cfg, s, m, NULL, e) < 0)
		goto out;
	if (o->meter) {
		uint64_t total = 0;
		for (size_t i = 0; i < m->nartifacts; i++)
			/* a database's restore is pg_restore's reading, not the meter's */
			if (o->level != ADO_VERIFY_RESTORE || strcmp(m->artifacts[i].kind, "database") != 0)
				total += m->artifacts[i].stored_size;
		ado_meter_begin(o->meter, ref, "read", o->level == ADO_VERIFY_CHECKSUM ? NULL : "checked", total);
	}
	for (size_t i = 0; i < m->nfailed_targets; i++)
		snprintf(res->missing + strlen(res->missing), sizeof(res->missing) - strlen(res->missing), "%s'%s'",
			 i ? ", " : "", m->failed_targets[i]);
	for (size_t i = 0; i < m->nartifacts; i++) {
		const struct ado_artifact *a = &m->artifacts[i];
		enum ado_read_depth depth = o->level == ADO_VERIFY_CHECKSUM ? ADO_READ_STORED : ADO_READ_PLAIN;
		res->artifacts++;
		res->bytes += a->stored_size;
		{
			char label[1100];
			snprintf(label, sizeof(label), "%s/%s", m->job, a->target);
			ado_meter_target(o->meter, label);
		}
		if (o->level == ADO_VERIFY_RESTORE && strcmp(a->kind, "files") == 0) {
			if (verify_files(s, m, a, o, res, ref, e) < 0)
				goto out;
		} else if (o->level == ADO_VERIFY_RESTORE && strcmp(a->kind, "database") == 0) {
			if (verify_database(cfg, s, m, a, o, res, e) < 0)
				goto out;
		} else if (o->level == ADO_VERIFY_RESTORE && strcmp(a->kind, "files-index") == 0) {
			continue;	/* read and compared with its tar above */
		} else if (o->level == ADO_VERIFY_CHECKSUM && ado_repo_archived(s, m, a, e) != 0) {
			/* archived: its bytes cannot be read without a thaw; the
			 * checksum level then checks it is there at its size */
			if (e && e->kind != ADO_E_NONE)
				goto out;
		} else {
			if (ado_repo_read_artifact_metered(s, m, a, o->keyring, depth, NULL, o->meter, e) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	ado_meter_end(o->meter, rc == 0);
	ado_manifest_free(m);
	free(ref);
	return rc;
}
