/* mkseed.c - writes the seed corpora the targets start from, out of the
 * test suite's own files: usage: mkseed OUTDIR TREE FILE...
 *   OUTDIR/index/     the index of TREE (tests/), whole and cut in pieces
 *   OUTDIR/artifact/  each FILE compressed four ways and encrypted with the
 *                     fixed test key as FUZZ_ID/FUZZ_ARTIFACT (first byte:
 *                     the compression, as fuzz-artifact.c reads it)
 *   OUTDIR/manifest/  manifests of a files backup (its tar without
 *                     plain_sha256, as written now, and with one, as older
 *                     backups have it) and of a database backup, encrypted
 *                     (authenticated with the test key) and not (first
 *                     byte: the mode, as fuzz-manifest.c reads it)
 * The config corpus is the YAML files in examples/, copied by tests/fuzz/run. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "format/manifest.h"
#include "io/io.h"
#include "source/files/files.h"
#include "fuzz.h"

static int out_fd(const char *dir, const char *sub, const char *name, int first)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		abort();
	if (first >= 0) {
		unsigned char b = (unsigned char)first;
		if (write(fd, &b, 1) != 1)
			abort();
	}
	return fd;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	if (!f || !buf)
		abort();
	*n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

enum shape { FILES, FILES_OLD, DATABASE };

static void manifest_seed(const char *dir, const unsigned char *master, enum shape shape, int n)
{
	int db = shape == DATABASE;
	struct ado_manifest *m = ado_manifest_new();
	struct ado_artifact *a;
	char *text, name[64];
	size_t len;
	int fd;

	m->job = strdup("j");
	m->id = strdup(FUZZ_ID);
	m->tool_version = strdup("ado-dr fuzz");
	m->host = strdup("fuzz");
	m->started = m->finished = 1767225600;
	m->encrypted = master != NULL;
	if (master)
		ado_key_id(master, m->key_id);
	a = ado_manifest_add_artifact(m);
	a->name = strdup(db ? "db-x.pgdump.zst" : "files-fuzz.index.tsv");
	a->target = strdup(db ? "db-x" : "files-fuzz");
	a->kind = strdup(db ? "database" : "files-index");
	a->source = strdup(db ? "x" : "/fuzz/");
	a->format = strdup(db ? "pg_dump-custom" : "tsv");
	a->encrypted = m->encrypted;
	memset(a->stored_sha256, 'a', 64);
	memset(a->plain_sha256, 'b', 64);
	if (db) {
		a->server_version = strdup("15.1");
		a->pg_dump_version = strdup("15.1");
		a->whole_database = 1;
		a->tables = calloc(1, sizeof(*a->tables));
		a->tables[0].name = strdup("public.t");
		a->tables[0].rows = 3;
		a->ntables = 1;
	} else {
		a = ado_manifest_add_artifact(m);
		a->name = strdup("files-fuzz.tar");
		a->target = strdup("files-fuzz");
		a->kind = strdup("files");
		a->source = strdup("/fuzz/");
		a->format = strdup("tar");
		a->encrypted = m->encrypted;
		a->file_count = 3;
		a->index = strdup("files-fuzz.index.tsv");
		memset(a->stored_sha256, 'c', 64);
		if (shape == FILES_OLD)
			memset(a->plain_sha256, 'd', 64);	/* now left out: the index hashes each file */
	}
	ado_manifest_add_warning(m, "file changed as we read it: 'x'");
	if (ado_manifest_serialize(m, master, &text, &len, NULL) < 0)
		abort();
	for (int mode = 0; mode < 4; mode++) {
		snprintf(name, sizeof(name), "m%d-%d", n, mode);
		fd = out_fd(dir, "manifest", name, mode);
		if (write(fd, text, len) != (ssize_t)len)
			abort();
		close(fd);
	}
	free(text);
	ado_manifest_free(m);
}

int main(int argc, char **argv)
{
	static const enum ado_compression comp[] = { ADO_COMP_NONE, ADO_COMP_GZIP, ADO_COMP_ZSTD, ADO_COMP_LZ4 };
	struct ado_kdf kdf = { 0 };
	struct ado_target t = { 0 };
	unsigned char master[ADO_KEY_LEN];
	struct ado_writer *w, *tar;
	char name[64];

	if (argc < 4)
		return 2;
	if (ado_keyring_master(fuzz_keyring(), &kdf, master, NULL) < 0)
		abort();
	/* the index of the test suite's tree */
	t.kind = ADO_TARGET_FILES;
	t.name = "files-fuzz";
	t.path = argv[2];
	tar = ado_null_writer_new(NULL);
	w = ado_fd_writer_new(out_fd(argv[1], "index", "tests", -1), 1, NULL);
	if (ado_files_backup(&t, tar, w, NULL, NULL, NULL, NULL) < 0 || ado_writer_close(w, NULL) < 0)
		abort();
	ado_writer_free(w);
	ado_writer_free(tar);
	for (int i = 3; i < argc; i++) {
		size_t n;
		char *plain = slurp(argv[i], &n);
		for (int c = 0; c < 4; c++) {
			snprintf(name, sizeof(name), "a%d-%d", i, c);
			w = ado_compress_writer_new(ado_encrypt_writer_new(ado_fd_writer_new(out_fd(argv[1], "artifact", name, c), 1,
											NULL),
								   master, &kdf, FUZZ_ID, FUZZ_ARTIFACT, NULL),
						    comp[c], 3, 0, NULL);
			if (!w || ado_writer_write(w, plain, n, NULL) < 0 || ado_writer_close(w, NULL) < 0)
				abort();
			ado_writer_free(w);
		}
		free(plain);
	}
	for (int shape = FILES; shape <= DATABASE; shape++) {
		manifest_seed(argv[1], NULL, shape, 2 * shape);
		manifest_seed(argv[1], master, shape, 2 * shape + 1);
	}
	return 0;
}
