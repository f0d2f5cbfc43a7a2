/* remote.h - what the remote drivers (s3.c, azure.c) share: a chunked upload
 * writer and a prefetching download reader. Private to lib/store/.
 *
 * Upload: the writer fills a part buffer; a full part is handed to an
 * uploader thread while the next one fills, so at most two parts are held
 * per destination and a slow destination slows the pass (the producer waits
 * for the uploader) instead of growing memory. An object smaller than one
 * part goes up with one put_whole and no begin/commit. close() commits;
 * freeing a writer that was not closed aborts the upload and leaves nothing.
 *
 * Download: ranged reads of `chunk` bytes; while the caller consumes one
 * chunk the next is fetched in a thread, so download overlaps decryption,
 * decompression and extraction. Two chunks are held at most. */
#ifndef ADO_STORE_REMOTE_H
#define ADO_STORE_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "config/config.h"
#include "io/io.h"

#define ADO_PART_SIZE_DEFAULT (16u * 1024 * 1024)
#define ADO_PART_SIZE_MIN (5u * 1024 * 1024)	/* S3's smallest part but the last */
#define ADO_PART_SIZE_MAX (1024u * 1024 * 1024)
#define ADO_DOWNLOAD_CHUNK (8u * 1024 * 1024)

/* Checksums of one part (or whole object), computed by the uploader thread:
 * only those the writer was made for (a digest pass can cost as much CPU as
 * the upload itself: S3 the CRC-32 it checks on x-amz-checksum-crc32, or the
 * SHA-256 it signs (checksum: sha256), Azure the CRC-64 it checks on a block,
 * or the MD5 it keeps as a small blob's Content-MD5). */
#define ADO_SUM_SHA256 1u
#define ADO_SUM_MD5 2u
#define ADO_SUM_CRC64 4u
#define ADO_SUM_CRC32 8u
struct ado_part_sum {
	unsigned char sha256[32];	/* with ADO_SUM_SHA256 */
	unsigned char md5[16];		/* with ADO_SUM_MD5 */
	uint64_t crc64;			/* with ADO_SUM_CRC64: CRC-64/NVME */
	uint32_t crc32;			/* with ADO_SUM_CRC32: CRC-32 (zlib's) */
};

/* Driver callbacks; drv is the driver's per-object state. Every callback but
 * put_whole runs on the uploader thread; none may print. */
struct ado_upload_ops {
	int (*begin)(void *drv, struct ado_err *e);	/* start the multipart upload (before part 0) */
	int (*put_part)(void *drv, unsigned index, const void *buf, size_t len, const struct ado_part_sum *sum,
			struct ado_err *e);		/* index counts from 0 */
	int (*commit)(void *drv, unsigned nparts, struct ado_err *e);
	int (*put_whole)(void *drv, const void *buf, size_t len, const struct ado_part_sum *sum, struct ado_err *e);
	void (*abort)(void *drv);	/* after begin: undo, best effort, quiet */
	void (*free)(void *drv);	/* release drv */
};

/* A writer over ops/drv with parts of part_size bytes, the checksums in
 * part_sums on each part and those in whole_sums on an object smaller than a
 * part (ADO_SUM_*). Takes drv (freed by ops->free even on failure). NULL with
 * e on failure. */
struct ado_writer *ado_upload_writer_new(const struct ado_upload_ops *ops, void *drv, size_t part_size,
					 unsigned part_sums, unsigned whole_sums, struct ado_err *e);

struct ado_download_ops {
	/* bytes [off, off+len) of the object into buf: *got of them (0 past the
	 * end) and the object's size in *total */
	int (*get)(void *drv, uint64_t off, size_t len, void *buf, size_t *got, uint64_t *total, struct ado_err *e);
	void (*free)(void *drv);
};

/* A reader that fetches the first chunk now (so a missing or archived object
 * fails here, at open) and prefetches the rest. Takes drv. NULL with e. */
struct ado_reader *ado_download_reader_new(const struct ado_download_ops *ops, void *drv, size_t chunk,
					   struct ado_err *e);

/* The remote drivers' openers, called by ado_store_open(). */
struct ado_store;
int ado_store_s3_open(const struct ado_dest *d, const struct ado_config *cfg, struct ado_store **out,
		      struct ado_err *e);

#endif
