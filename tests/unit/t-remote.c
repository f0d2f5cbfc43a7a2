/* t-remote.c - lib/store/upload.c and download.c against an in-memory driver:
 * parts in order and bounded, whole-object path, abort on free, failure
 * reported, ranged reads with prefetch reassemble the object; several
 * uploaders behind one tee sharing its chunks. */
#include "tap.h"

#include <openssl/evp.h>

#include "io/io.h"
#include "store/remote.h"

#define PART 1000

struct fake {
	unsigned char obj[64 * 1024];
	size_t len;
	unsigned begun, parts, committed, whole, aborted, freed;
	int fail_part;		/* fail put_part with this index (-1: never) */
	size_t part;		/* the writer's part size (0: PART) */
	int sums_ok;
	unsigned part_sums, whole_sums;	/* what the writer was made to compute */
};

/* the checksums asked for match the bytes; those not asked for are zero */
static int sums_match(const void *buf, size_t len, unsigned sums, const struct ado_part_sum *sum)
{
	unsigned char sha[32], md5[16], zero[32] = { 0 };
	unsigned int n;

	EVP_Digest(buf, len, sha, &n, EVP_sha256(), NULL);
	EVP_Digest(buf, len, md5, &n, EVP_md5(), NULL);
	return memcmp(sum->sha256, (sums & ADO_SUM_SHA256) ? sha : zero, 32) == 0 &&
	       memcmp(sum->md5, (sums & ADO_SUM_MD5) ? md5 : zero, 16) == 0 &&
	       sum->crc64 == ((sums & ADO_SUM_CRC64) ? ado_crc64_nvme(0, buf, len) : 0) &&
	       sum->crc32 == ((sums & ADO_SUM_CRC32) ? ado_crc32(0, buf, len) : 0);
}

static int f_begin(void *drv, struct ado_err *e)
{
	((struct fake *)drv)->begun++;
	return 0;
}

static int f_part(void *drv, unsigned index, const void *buf, size_t len, const struct ado_part_sum *sum,
		  struct ado_err *e)
{
	struct fake *f = drv;

	if ((int)index == f->fail_part)
		return ado_err_set(e, ADO_E_NET, 0, "part %u refused", index);
	if (!sums_match(buf, len, f->part_sums, sum))
		f->sums_ok = 0;
	if (index != f->parts || (size_t)index * (f->part ? f->part : PART) != f->len)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "part %u out of order", index);
	memcpy(f->obj + f->len, buf, len);
	f->len += len;
	f->parts++;
	return 0;
}

static int f_commit(void *drv, unsigned nparts, struct ado_err *e)
{
	struct fake *f = drv;

	f->committed = nparts;
	return 0;
}

static int f_whole(void *drv, const void *buf, size_t len, const struct ado_part_sum *sum, struct ado_err *e)
{
	struct fake *f = drv;

	if (!sums_match(buf, len, f->whole_sums, sum))
		f->sums_ok = 0;
	memcpy(f->obj, buf, len);
	f->len = len;
	f->whole++;
	return 0;
}

static void f_abort(void *drv) { ((struct fake *)drv)->aborted++; }
static void f_free(void *drv) { ((struct fake *)drv)->freed++; }

static const struct ado_upload_ops fops = { f_begin, f_part, f_commit, f_whole, f_abort, f_free };

static int f_get(void *drv, uint64_t off, size_t len, void *buf, size_t *got, uint64_t *total, struct ado_err *e)
{
	struct fake *f = drv;

	*total = f->len;
	if (off >= f->len) {
		*got = 0;
		return 0;
	}
	if (len > f->len - off)
		len = f->len - off;
	memcpy(buf, f->obj + off, len);
	*got = len;
	return 0;
}

static const struct ado_download_ops dops = { f_get, f_free };

/* An upload of data in 1000-byte pieces with part_sums on each part (and
 * whole_sums on a small object): six parts each carrying exactly those sums;
 * then a part carrying them where SHA-256 (or MD5) was asked for is noticed. */
static void upload_shape(struct fake *f, const unsigned char *data, size_t len, unsigned part_sums,
			 unsigned whole_sums, const char *name)
{
	struct ado_err e;
	struct ado_writer *w;
	struct ado_part_sum s = { 0 };

	memset(f, 0, sizeof(*f));
	f->fail_part = -1;
	f->sums_ok = 1;
	f->part_sums = part_sums;
	f->whole_sums = whole_sums;
	w = ado_upload_writer_new(&fops, f, PART, part_sums, whole_sums, &e);
	for (size_t o = 0; o < len; o += 1000)
		ado_writer_write(w, data + o, len - o < 1000 ? len - o : 1000, &e);
	is_int(ado_writer_close(w, &e), 0, "parts with %s commit", name);
	ado_writer_free(w);
	ok(f->committed == 6 && f->sums_ok, "each part carries its %s and nothing else", name);
	f->part_sums = part_sums == ADO_SUM_SHA256 ? ADO_SUM_MD5 : ADO_SUM_SHA256;
	f->sums_ok = 1;
	s.crc64 = ado_crc64_nvme(0, data, PART);
	s.crc32 = ado_crc32(0, data, PART);
	f_part(f, 99, data, PART, &s, &e);
	ok(!f->sums_ok, "a part with %s where another sum was asked for is noticed by the fake", name);
}

/* Two uploaders (parts of 2 and 1 times PART, or 3 and 2) and a plain sink
 * behind one tee, fed len bytes in odd pieces; part fail_a of the first
 * refused (-1: none). */
static void tee_of_uploaders(const unsigned char *data, size_t len, size_t part_a, size_t part_b, int fail_a,
			     const char *what)
{
	struct fake a, b;
	struct ado_writer *sinks[3], *tee;
	struct ado_err e;
	size_t got = 0;
	char *copy;
	int rc = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.fail_part = fail_a;
	b.fail_part = -1;
	a.part = part_a;
	b.part = part_b;
	a.sums_ok = b.sums_ok = 1;
	a.part_sums = a.whole_sums = b.part_sums = b.whole_sums = ADO_SUM_CRC32;
	sinks[0] = ado_upload_writer_new(&fops, &a, part_a, ADO_SUM_CRC32, ADO_SUM_CRC32, &e);
	sinks[1] = ado_upload_writer_new(&fops, &b, part_b, ADO_SUM_CRC32, ADO_SUM_CRC32, &e);
	sinks[2] = ado_mem_writer_new(len + 1, &e);
	tee = ado_tee_new(sinks, 3, &e);
	for (size_t o = 0; o < len && rc == 0; o += 333)
		rc = ado_writer_write(tee, data + o, len - o < 333 ? len - o : 333, &e);
	is_int(rc == 0 ? ado_writer_close(tee, &e) : rc, 0, "%s: the tee writes and closes", what);
	ok(b.len == len && memcmp(b.obj, data, len) == 0 && b.sums_ok, "%s: the second uploader has every byte", what);
	if (len > part_b)
		ok(b.committed == (len + part_b - 1) / part_b && b.aborted == 0, "%s: ... in parts of its own size (%zu)",
		   what, part_b);
	if (fail_a < 0) {
		ok(a.len == len && memcmp(a.obj, data, len) == 0 && a.sums_ok, "%s: so has the first", what);
		if (len > part_a)
			is_int(a.committed, (len + part_a - 1) / part_a, "%s: ... in parts of its own size (%zu)", what,
			       part_a);
		is_int(ado_tee_status(tee, 0, &e), 0, "%s: both uploaders succeeded", what);
	} else {
		is_int(ado_tee_status(tee, 0, &e), -1, "%s: the first uploader's failure is kept", what);
		is_str(e.msg, "part 1 refused", "%s: ... with its error", what);
		ok(a.aborted == 1 && a.committed == 0, "%s: ... and its upload aborted", what);
	}
	copy = ado_mem_writer_take(sinks[2], &got);
	ok(got == len && memcmp(copy, data, len) == 0, "%s: the plain sink got the same bytes", what);
	free(copy);
	if (part_a % part_b == 0)
		ok(ado_tee_chunks(tee) >= 1 && ado_tee_chunks(tee) <= 3,
		   "%s: the uploaders share chunks: %zu mapped for %zu bytes (bound 3)", what, ado_tee_chunks(tee), len);
	else
		is_int(ado_tee_chunks(tee), 0, "%s: part sizes that do not divide share nothing", what);
	ado_writer_free(tee);
	ok(a.freed == 1 && b.freed == 1, "%s: freeing the tee frees both uploaders", what);
}

int main(void)
{
	unsigned char data[5500];
	struct ado_err e;
	struct ado_writer *w;
	struct ado_reader *r;
	struct fake f;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);

	/* multipart: 5 full parts and a short last one, written in odd-sized pieces */
	memset(&f, 0, sizeof(f));
	f.fail_part = -1;
	f.sums_ok = 1;
	f.part_sums = f.whole_sums = ADO_SUM_SHA256;
	w = ado_upload_writer_new(&fops, &f, PART, ADO_SUM_SHA256, ADO_SUM_SHA256, &e);
	ok(w != NULL, "upload writer made");
	for (size_t o = 0; o < sizeof(data); o += 333)
		ado_writer_write(w, data + o, sizeof(data) - o < 333 ? sizeof(data) - o : 333, &e);
	is_int(ado_writer_close(w, &e), 0, "close commits");
	ado_writer_free(w);
	is_int(f.begun, 1, "one begin");
	is_int(f.committed, 6, "six parts committed");
	ok(f.len == sizeof(data) && memcmp(f.obj, data, sizeof(data)) == 0, "parts reassemble the data");
	ok(f.sums_ok, "each part's sha256 matches its bytes");
	is_int(f.aborted, 0, "a committed upload is not aborted");
	is_int(f.freed, 1, "driver state freed once");

	/* each driver's shape: Azure a CRC-64 on each block (an MD5 on a small
	 * blob), S3 a CRC-32 on each part and object; and the check itself must
	 * be able to fail: a part carrying another kind of sum than asked for */
	upload_shape(&f, data, sizeof(data), ADO_SUM_CRC64, ADO_SUM_MD5, "CRC-64");
	upload_shape(&f, data, sizeof(data), ADO_SUM_CRC32, ADO_SUM_CRC32, "CRC-32");

	/* behind one tee: shared chunks, each uploader its own part size */
	tee_of_uploaders(data, sizeof(data), 2 * PART, PART, -1, "shared");
	tee_of_uploaders(data, sizeof(data), 2 * PART, PART, 1, "shared, the first fails");
	tee_of_uploaders(data, 500, 2 * PART, PART, -1, "shared, a small object");
	tee_of_uploaders(data, sizeof(data), 3 * PART, 2 * PART, -1, "not shared");

	/* small: one put_whole, no multipart */
	memset(&f, 0, sizeof(f));
	f.fail_part = -1;
	f.sums_ok = 1;
	f.whole_sums = ADO_SUM_MD5;
	w = ado_upload_writer_new(&fops, &f, PART, ADO_SUM_CRC64, ADO_SUM_MD5, &e);
	ado_writer_write(w, "manifest", 8, &e);
	is_int(ado_writer_close(w, &e), 0, "small object closes");
	ado_writer_free(w);
	ok(f.whole == 1 && f.begun == 0 && f.len == 8, "small object: one whole put, no begin");
	ok(f.sums_ok, "a small object carries the whole-object checksum (MD5), not the part one");

	/* free without close: aborted */
	memset(&f, 0, sizeof(f));
	f.fail_part = -1;
	w = ado_upload_writer_new(&fops, &f, PART, ADO_SUM_SHA256, ADO_SUM_SHA256, &e);
	ado_writer_write(w, data, 2500, &e);
	ado_writer_free(w);
	ok(f.begun == 1 && f.aborted == 1 && f.committed == 0, "free without close aborts the begun upload");

	/* a part fails: reported on a later write or at close, and aborted on free */
	memset(&f, 0, sizeof(f));
	f.fail_part = 1;
	w = ado_upload_writer_new(&fops, &f, PART, ADO_SUM_SHA256, ADO_SUM_SHA256, &e);
	{
		int rc = 0;
		ado_err_clear(&e);
		for (size_t o = 0; o < sizeof(data) && rc == 0; o += 500)
			rc = ado_writer_write(w, data + o, 500, &e);
		if (rc == 0)
			rc = ado_writer_close(w, &e);
		is_int(rc, -1, "a failed part fails the writer");
		like(e.msg, "part 1 refused", "with the driver's error");
	}
	ado_writer_free(w);
	ok(f.aborted == 1 && f.committed == 0, "failed upload aborted, not committed");

	/* download: chunks smaller than the object, with prefetch */
	memset(&f, 0, sizeof(f));
	memcpy(f.obj, data, sizeof(data));
	f.len = sizeof(data);
	r = ado_download_reader_new(&dops, &f, 700, &e);
	ok(r != NULL, "download reader made");
	{
		unsigned char got[8000];
		size_t n = 0, k;
		do {
			if (ado_reader_read(r, got + n, 123, &k, &e) < 0)
				break;
			n += k;
		} while (k > 0);
		ok(n == sizeof(data) && memcmp(got, data, n) == 0, "ranged reads reassemble the object");
	}
	ado_reader_free(r);
	is_int(f.freed, 1, "download driver state freed");

	/* empty object */
	memset(&f, 0, sizeof(f));
	r = ado_download_reader_new(&dops, &f, 700, &e);
	{
		char b[10];
		size_t k = 99;
		ok(r && ado_reader_read(r, b, sizeof(b), &k, &e) == 0 && k == 0, "empty object reads as end of data");
	}
	ado_reader_free(r);
	return done_testing();
}
