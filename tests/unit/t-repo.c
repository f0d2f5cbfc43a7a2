/* t-repo.c - lib/job/repo.c: reading one artifact back and comparing it with
 * its manifest entry, with and without a recorded plain_sha256 (a manifest
 * made in memory, so the reader's own check is met, not the parser's). */
#include "job/repo.h"
#include "base/fsutil.h"
#include "io/io.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ID "20260101T000000Z"
static const char TAR[] = "tar bytes\n";	/* compression none, unencrypted: stored = plain */

static struct ado_artifact *add(struct ado_manifest *m, const char *name, const char *kind, const char *index)
{
	struct ado_artifact *a = ado_manifest_add_artifact(m);

	a->name = strdup(name);
	a->target = strdup("files-u");
	a->kind = strdup(kind);
	a->source = strdup("/u/");
	a->format = strdup(strcmp(kind, "files") == 0 ? "tar" : strcmp(kind, "database") == 0 ? "pg_dump-custom" : "tsv");
	a->index = index ? strdup(index) : NULL;
	a->compression = ADO_COMP_NONE;
	a->stored_size = a->plain_size = sizeof(TAR) - 1;
	ado_sha256_hex(TAR, sizeof(TAR) - 1, a->stored_sha256);
	return a;
}

/* Read artifact `name` of m to its end (plaintext); its return, error in e */
static int read_plain(struct ado_store *s, const struct ado_manifest *m, const char *name, struct ado_err *e)
{
	ado_err_clear(e);
	return ado_repo_read_artifact(s, m, ado_manifest_find(m, name), NULL, ADO_READ_PLAIN, NULL, e);
}

int main(void)
{
	char dir[] = "/tmp/t-repo.XXXXXX";
	struct ado_manifest *m = ado_manifest_new();
	struct ado_store *s = NULL;
	struct ado_artifact *tar;
	struct ado_err e;

	ok(mkdtemp(dir) != NULL, "scratch folder");
	ok(ado_store_local_open(dir, &s, &e) == 0, "local store");
	m->job = strdup("j");
	m->id = strdup(ID);
	ok(ado_store_write_all(s, "j/" ID "/files-u.tar", TAR, sizeof(TAR) - 1, &e) == 0 &&
	   ado_store_write_all(s, "j/" ID "/db-x.pgdump", TAR, sizeof(TAR) - 1, &e) == 0, "artifacts stored");
	add(m, "files-u.index.tsv", "files-index", NULL);
	tar = add(m, "files-u.tar", "files", "files-u.index.tsv");

	/* no plain_sha256, an index: the size is compared, nothing hashed */
	is_int(read_plain(s, m, "files-u.tar", &e), 0, "tar without plain_sha256, with an index: read ok");
	tar->plain_size++;
	is_int(read_plain(s, m, "files-u.tar", &e), -1, "... with a plain_size one more: fails");
	is_int(e.kind, ADO_E_INTEGRITY, "... as an integrity failure");
	is_str(e.msg, "artifact 'files-u.tar': restored content differs from the manifest (size 10, expected 11)",
	       "... naming the artifact and the sizes");
	tar->plain_size--;

	/* a plain_sha256: checked as before */
	ado_sha256_hex(TAR, sizeof(TAR) - 1, tar->plain_sha256);
	is_int(read_plain(s, m, "files-u.tar", &e), 0, "tar with the right plain_sha256: read ok");
	tar->plain_sha256[0] = tar->plain_sha256[0] == '0' ? '1' : '0';
	is_int(read_plain(s, m, "files-u.tar", &e), -1, "tar with a wrong plain_sha256: fails");
	is_int(e.kind, ADO_E_INTEGRITY, "... as an integrity failure");
	like(e.msg, "artifact 'files-u.tar': restored content differs from the manifest", "... naming the artifact");

	/* no plain_sha256 and nothing to check the files against: refused at any depth */
	tar->plain_sha256[0] = '\0';
	free(tar->index);
	tar->index = strdup("files-u.other.tsv");
	is_int(read_plain(s, m, "files-u.tar", &e), -1, "tar without plain_sha256, its index not in the manifest: fails");
	is_int(e.kind, ADO_E_INTEGRITY, "... as an integrity failure");
	is_str(e.msg, "artifact 'files-u.tar': no plain_sha256 and no index to check its files against",
	       "... saying why");
	free(tar->index);
	tar->index = NULL;
	ado_err_clear(&e);
	is_int(ado_repo_read_artifact(s, m, tar, NULL, ADO_READ_STORED, ado_null_writer_new(&e), &e), -1,
	       "tar without plain_sha256 and without index, stored bytes only: fails too (the sink is freed)");
	is_str(e.msg, "artifact 'files-u.tar': no plain_sha256 and no index to check its files against",
	       "... saying why");
	add(m, "db-x.pgdump", "database", NULL);
	is_int(read_plain(s, m, "db-x.pgdump", &e), -1, "database without plain_sha256: fails");
	is_str(e.msg, "artifact 'db-x.pgdump': no plain_sha256 and no index to check its files against", "... saying why");
	ado_sha256_hex(TAR, sizeof(TAR) - 1, m->artifacts[2].plain_sha256);
	is_int(read_plain(s, m, "db-x.pgdump", &e), 0, "database with its plain_sha256: read ok");

	ado_manifest_free(m);
	ado_store_free(s);
	ok(ado_rm_rf(dir, NULL) == 0, "scratch folder removed");
	return done_testing();
}
