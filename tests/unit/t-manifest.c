/* t-manifest.c - lib/format/manifest.c: plain_sha256, recorded for every
 * artifact but a files tar (whose index hashes each file); what the writer
 * leaves out, what the parser takes and what it refuses (man/ado-format.5). */
#include "format/manifest.h"
#include "tap.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

/* An unencrypted manifest: the index artifact (idx: its members after
 * "format"; NULL leaves the artifact out), then the tar (tar: its members
 * after "file_count", where plain_sha256 and index go). */
static char *manifest(const char *idx, const char *tar)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"format\": 1, \"tool\": \"ado-dr test\", \"job\": \"j\", \"id\": \"20260101T000000Z\", \"host\": \"h\",\n"
		 " \"started\": \"2026-01-01T00:00:00Z\", \"finished\": \"2026-01-01T00:00:01Z\",\n"
		 " \"rpo_seconds\": 0, \"rto_seconds\": 0, \"encryption\": null, \"artifacts\": [\n"
		 "%s%s%s"
		 "  {\"name\": \"files-u.tar\", \"target\": \"files-u\", \"kind\": \"files\", \"source\": \"/u/\",\n"
		 "   \"format\": \"tar\", \"compression\": \"none\", \"encrypted\": false, \"stored_size\": 10,\n"
		 "   \"stored_sha256\": \"" SHA_C "\", \"plain_size\": 10, \"file_count\": 1%s}],\n"
		 " \"warnings\": [], \"failed_targets\": [], \"hmac\": null}\n",
		 idx ? "  {\"name\": \"files-u.index.tsv\", \"target\": \"files-u\", \"kind\": \"" : "", idx ? idx : "",
		 idx ? "},\n" : "", tar);
	return buf;
}

#define IDX "files-index\", \"source\": \"/u/\", \"format\": \"tsv\", \"compression\": \"none\", " \
	"\"encrypted\": false, \"stored_size\": 5, \"stored_sha256\": \"" SHA_A "\", \"plain_size\": 5"

static int parse(const char *text, struct ado_manifest **m, struct ado_err *e)
{
	ado_err_clear(e);
	*m = NULL;
	return ado_manifest_parse(text, strlen(text), NULL, 0, m, NULL, e);
}

/* parse must fail with ADO_E_FORMAT and exactly msg */
static void refused(const char *text, const char *msg, const char *what)
{
	struct ado_manifest *m;
	struct ado_err e;

	is_int(parse(text, &m, &e), -1, "%s: refused", what);
	is_int(e.kind, ADO_E_FORMAT, "%s: as malformed (exit 1)", what);
	is_str(e.msg, msg, "%s: the message", what);
	ok(m == NULL, "%s: no manifest returned", what);
}

static void test_parse(void)
{
	struct ado_manifest *m;
	struct ado_err e;
	const struct ado_artifact *a;

	/* the new shape: the tar has no plain_sha256, its index has one */
	is_int(parse(manifest(IDX ", \"plain_sha256\": \"" SHA_B "\"", ", \"index\": \"files-u.index.tsv\""), &m, &e), 0,
	       "tar without plain_sha256, with an index: parses");
	if (m) {
		a = ado_manifest_find(m, "files-u.tar");
		ok(a && a->plain_sha256[0] == '\0', "... its plain_sha256 is not recorded (\"\")");
		ok(a && a->plain_size == 10, "... its plain_size is");
		ok(a && ado_manifest_index_of(m, a) == ado_manifest_find(m, "files-u.index.tsv"), "... its index is found");
		a = ado_manifest_find(m, "files-u.index.tsv");
		is_str(a ? a->plain_sha256 : NULL, SHA_B, "... the index keeps its plain_sha256");
		ok(a && !ado_manifest_index_of(m, a), "... the index has no index of its own");
	}
	ado_manifest_free(m);

	/* the old shape: the tar has one, and it is kept to be checked */
	is_int(parse(manifest(IDX ", \"plain_sha256\": \"" SHA_B "\"",
			      ", \"plain_sha256\": \"" SHA_C "\", \"index\": \"files-u.index.tsv\""), &m, &e), 0,
	       "tar with plain_sha256 (older backups): parses");
	a = m ? ado_manifest_find(m, "files-u.tar") : NULL;
	is_str(a ? a->plain_sha256 : NULL, SHA_C, "... and keeps it");
	ado_manifest_free(m);

	/* present means valid, as before */
	refused(manifest(IDX ", \"plain_sha256\": \"" SHA_B "\"",
			 ", \"plain_sha256\": \"xyz\", \"index\": \"files-u.index.tsv\""),
		"manifest: artifact 'files-u.tar': 'plain_sha256' must be 64 lower-case hex digits",
		"tar with a bad plain_sha256");
	refused(manifest(IDX ", \"plain_sha256\": \"" SHA_B "\"",
			 ", \"plain_sha256\": \"\", \"index\": \"files-u.index.tsv\""),
		"manifest: artifact 'files-u.tar': 'plain_sha256' is empty", "tar with an empty plain_sha256");
	refused(manifest(IDX ", \"plain_sha256\": \"" SHA_B "\"",
			 ", \"plain_sha256\": null, \"index\": \"files-u.index.tsv\""),
		"manifest: artifact 'files-u.tar': 'plain_sha256' must be a string, found null",
		"tar with plain_sha256 null (absent is not null)");
	refused(manifest(IDX ", \"plain_sha256\": 7", ", \"index\": \"files-u.index.tsv\""),
		"manifest: artifact 'files-u.index.tsv': 'plain_sha256' must be a string, found a number",
		"index with a number for plain_sha256");

	/* every other artifact must have it, as before */
	refused(manifest(IDX, ", \"index\": \"files-u.index.tsv\""),
		"manifest: artifact 'files-u.index.tsv': 'plain_sha256' must be a string, found nothing",
		"index without plain_sha256");

	/* no plain_sha256 and nothing to check the files against */
	refused(manifest(IDX ", \"plain_sha256\": \"" SHA_B "\"", ""),
		"manifest: artifact 'files-u.tar': no plain_sha256 and no index to check its files against",
		"tar without plain_sha256 and without index");
	refused(manifest(IDX ", \"plain_sha256\": \"" SHA_B "\"", ", \"index\": null"),
		"manifest: artifact 'files-u.tar': no plain_sha256 and no index to check its files against",
		"tar without plain_sha256, index null");
	refused(manifest(NULL, ", \"index\": \"files-u.index.tsv\""),
		"manifest: artifact 'files-u.tar': no plain_sha256 and no index to check its files against ('files-u.index.tsv' is not a files-index artifact of the backup)",
		"tar without plain_sha256 whose index artifact was removed");
	/* with plain_sha256, the same manifests fail as they did */
	refused(manifest(IDX ", \"plain_sha256\": \"" SHA_B "\"", ", \"plain_sha256\": \"" SHA_C "\""),
		"manifest: artifact 'files-u.tar' has no index", "tar with plain_sha256, without index");
	refused(manifest(NULL, ", \"plain_sha256\": \"" SHA_C "\", \"index\": \"files-u.index.tsv\""),
		"manifest: artifact 'files-u.tar' names index 'files-u.index.tsv', which is not a files-index artifact of the backup",
		"tar with plain_sha256 whose index artifact was removed");
}

static int count(const char *s, const char *sub)
{
	int n = 0;

	for (const char *p = s; p && (p = strstr(p, sub)); p++)
		n++;
	return n;
}

/* ado-backup's side: the writer leaves the member out, and what it wrote
 * (authenticated) reads back the same */
static void test_roundtrip(void)
{
	char keyfile[] = "/tmp/t-manifest.XXXXXX", *text = NULL;
	unsigned char master[ADO_KEY_LEN];
	struct ado_manifest *m = ado_manifest_new(), *back = NULL;
	struct ado_keyring *k = NULL;
	struct ado_artifact *a;
	struct ado_err e;
	size_t len = 0;
	int fd, auth = 0;

	memset(master, 7, sizeof(master));
	fd = mkstemp(keyfile);
	ok(fd >= 0 && write(fd, master, sizeof(master)) == (ssize_t)sizeof(master) && close(fd) == 0, "key file written");
	ok(ado_keyring_from_file(keyfile, &k, &e) == 0, "key loaded");
	unlink(keyfile);
	m->job = strdup("j");
	m->id = strdup("20260101T000000Z");
	m->tool_version = strdup("ado-dr test");
	m->host = strdup("h");
	m->encrypted = 1;
	ado_key_id(master, m->key_id);
	a = ado_manifest_add_artifact(m);
	a->name = strdup("files-u.index.tsv.enc");
	a->kind = strdup("files-index");
	a->format = strdup("tsv");
	memcpy(a->plain_sha256, SHA_B, 65);
	a = ado_manifest_add_artifact(m);
	a->name = strdup("files-u.tar.enc");
	a->kind = strdup("files");
	a->format = strdup("tar");
	a->index = strdup("files-u.index.tsv.enc");
	a->file_count = 1;
	a->plain_size = 10240;
	for (size_t i = 0; i < m->nartifacts; i++) {
		a = &m->artifacts[i];
		a->target = strdup("files-u");
		a->source = strdup("/u/");
		a->encrypted = 1;
		memcpy(a->stored_sha256, SHA_A, 65);
	}
	ok(ado_manifest_serialize(m, master, &text, &len, &e) == 0, "serialized, with an hmac");
	ok(text && strstr(text, "\"plain_sha256\": \"" SHA_B "\""), "the index's plain_sha256 is written");
	is_int(count(text, "\"plain_sha256\""), 1, "... and it is the only plain_sha256 (none for the tar)");
	ok(text && !strstr(text, "\"plain_sha256\": \"\""), "no empty plain_sha256 is written");
	is_int(ado_manifest_parse(text, len, k, 1, &back, &auth, &e), 0, "what was written parses, key required");
	is_int(auth, 1, "... authenticated");
	a = back ? (struct ado_artifact *)ado_manifest_find(back, "files-u.tar.enc") : NULL;
	ok(a && !a->plain_sha256[0] && a->plain_size == 10240, "... the tar: plain_size, no plain_sha256");
	ado_manifest_free(back);
	back = NULL;
	/* the failure beside it: the member put back in the body breaks the hmac */
	{
		char *p = text ? strstr(text, "\"plain_size\": 10240") : NULL, *t2 = NULL;
		if (p && asprintf(&t2, "%.*s\"plain_sha256\": \"" SHA_C "\",\n      %s", (int)(p - text), text, p) > 0) {
			is_int(ado_manifest_parse(t2, strlen(t2), k, 1, &back, &auth, &e), -1,
			       "a plain_sha256 added to the tar afterwards: refused");
			is_int(e.kind, ADO_E_AUTH, "... as an authentication failure");
		} else {
			ok(0, "edited manifest built");
		}
		free(t2);
		ado_manifest_free(back);
	}
	free(text);
	ado_manifest_free(m);
	ado_keyring_free(k);
}

int main(void)
{
	test_parse();
	test_roundtrip();
	return done_testing();
}
