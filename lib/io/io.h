/* lib/io/ - the streaming chain: writers and readers that observe, compress,
 * encrypt, tee and hand bytes between threads, with fixed-size buffers. It
 * knows no jobs, stores or sources. May include: base/, config/ (codec names). */

/* io.h - the streaming chain.
 *
 * A chain is a list of writers, each pushing into the next: observe filters
 * (size + SHA-256) pass bytes through unchanged, transform filters (compress,
 * encrypt, and their inverses) change them, and sinks (a file descriptor, a
 * storage driver's writer, a tee over several sinks) end the chain.
 *
 * Ownership: a filter owns its `next`; ado_writer_close() finishes the writer
 * and then closes its next; ado_writer_free() frees the writer and its next.
 * Closing flushes buffered data; a writer that was never closed successfully
 * is aborted on free (a storage writer then leaves nothing visible).
 * Buffers are fixed-size: memory does not grow with the data. */
#ifndef ADO_IO_H
#define ADO_IO_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/error.h"

#define ADO_IO_BUFSIZE (1024 * 1024)

struct ado_writer;
struct ado_chunk;

struct ado_writer_ops {
	const char *name;
	/* consume n bytes; 0 or -1 with e filled */
	int (*write)(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e);
	/* flush, finish, then close next (if any); 0 or -1 */
	int (*close)(struct ado_writer *w, struct ado_err *e);
	/* release own resources (not next: ado_writer_free does that) */
	void (*free)(struct ado_writer *w);
	/* Optional, for a sink that holds whole parts until they are sent (the
	 * remote uploaders): the part size, if it can take its bytes as references
	 * into shared chunks (write_chunk) instead of copying them; 0 if not. */
	size_t (*chunk_unit)(struct ado_writer *w);
	/* With chunk_unit: consume the n bytes at off in c, holding a reference
	 * to c (ado_chunk_ref) for as long as it needs them. The bytes follow on
	 * from the previous call's, and never cross a multiple of the chunk size. */
	int (*write_chunk)(struct ado_writer *w, struct ado_chunk *c, size_t off, size_t n, struct ado_err *e);
};

/* Shared chunks. A tee that feeds several part-buffering sinks copies each
 * byte once, into a chunk, and hands each such sink a reference to it instead
 * of the bytes: one copy and one set of part buffers for every remote
 * destination, not one each. Bytes handed out are never written again; a
 * chunk whose last reference is dropped (on any thread) goes back to its pool
 * for reuse, its pages already mapped. */
unsigned char *ado_chunk_data(struct ado_chunk *c);
void ado_chunk_ref(struct ado_chunk *c);
void ado_chunk_unref(struct ado_chunk *c);	/* accepts NULL */

struct ado_writer {
	const struct ado_writer_ops *ops;
	struct ado_writer *next;	/* owned; NULL for a sink */
	void *state;
	int closed;
};

/* Allocate a writer with ops/state/next; NULL on out of memory. */
struct ado_writer *ado_writer_new(const struct ado_writer_ops *ops, void *state, struct ado_writer *next);
int ado_writer_write(struct ado_writer *w, const void *buf, size_t n, struct ado_err *e);
/* write_chunk with write's checks (closed, interrupted) */
int ado_writer_write_chunk(struct ado_writer *w, struct ado_chunk *c, size_t off, size_t n, struct ado_err *e);
int ado_writer_close(struct ado_writer *w, struct ado_err *e);
/* Frees w and its whole downstream chain. Accepts NULL. */
void ado_writer_free(struct ado_writer *w);

/* Pull side: a reader yields bytes; *got == 0 means end of data. */
struct ado_reader;
struct ado_reader_ops {
	const char *name;
	int (*read)(struct ado_reader *r, void *buf, size_t n, size_t *got, struct ado_err *e);
	void (*free)(struct ado_reader *r);
};
struct ado_reader {
	const struct ado_reader_ops *ops;
	void *state;
};
struct ado_reader *ado_reader_new(const struct ado_reader_ops *ops, void *state);
int ado_reader_read(struct ado_reader *r, void *buf, size_t n, size_t *got, struct ado_err *e);
void ado_reader_free(struct ado_reader *r);

/* Read r to its end and push everything into w (w is not closed). */
int ado_pump(struct ado_reader *r, struct ado_writer *w, struct ado_err *e);

/* --- observe --- */
struct ado_digest {
	uint64_t size;
	char sha256[65];	/* lowercase hex, filled at close ("" from a size writer) */
};
/* Pass-through writer counting bytes and hashing them (OpenSSL EVP SHA-256);
 * *out is filled when the writer is closed. out must outlive the writer. */
struct ado_writer *ado_hash_writer_new(struct ado_writer *next, struct ado_digest *out, struct ado_err *e);
/* The same counting bytes only: out->sha256 stays "" (for a stream whose
 * content another check covers, so hashing it would be CPU spent twice). */
struct ado_writer *ado_size_writer_new(struct ado_writer *next, struct ado_digest *out, struct ado_err *e);

/* One-shot helpers. */
void ado_sha256_hex(const void *buf, size_t n, char out[65]);
/* n bytes as 2n lowercase hex digits and a NUL into out (2n + 1 bytes). */
void ado_hex(const void *in, size_t n, char *out);

/* CRCs of n bytes, continuing from crc (0 to start). CRC-32 (zlib's) is what
 * S3 checks on x-amz-checksum-crc32; CRC-64/NVME what Azure checks on
 * x-ms-content-crc64. By_tables is the portable path, for the tests. */
uint32_t ado_crc32(uint32_t crc, const void *buf, size_t n);
uint32_t ado_crc32_by_tables(uint32_t crc, const void *buf, size_t n);
uint64_t ado_crc64_nvme(uint64_t crc, const void *buf, size_t n);
uint64_t ado_crc64_nvme_by_tables(uint64_t crc, const void *buf, size_t n);

/* --- sinks --- */
/* Write to fd; close(fd) at close time if own_fd. */
struct ado_writer *ado_fd_writer_new(int fd, int own_fd, struct ado_err *e);
/* Discard everything (verify --level read). */
struct ado_writer *ado_null_writer_new(struct ado_err *e);
/* Collect into memory up to max bytes (more is an ADO_E_FORMAT error);
 * buffer owned by the writer until ado_mem_writer_take(). For small things only. */
struct ado_writer *ado_mem_writer_new(size_t max, struct ado_err *e);
/* Take the collected bytes (NUL-terminated, caller frees) from a closed or open mem writer. */
char *ado_mem_writer_take(struct ado_writer *w, size_t *len);

/* Fan-out over n sinks (takes ownership of them). A sink that fails is
 * recorded, closed/aborted, and skipped from then on; the tee fails only when
 * every sink has failed. Per-sink outcome via ado_tee_status(). */
struct ado_writer *ado_tee_new(struct ado_writer **sinks, size_t n, struct ado_err *e);
/* 0 if sink i succeeded so far (and at close), -1 with its error copied into e. */
int ado_tee_status(struct ado_writer *tee, size_t i, struct ado_err *e);
/* How many shared chunks the tee has mapped so far (0: its sinks share none). */
size_t ado_tee_chunks(struct ado_writer *tee);

/* --- pull sources --- */
struct ado_reader *ado_fd_reader_new(int fd, int own_fd, struct ado_err *e);

/* --- compression (zlib gzip, lz4 frame, zstd frame; formats the command-line
 * tools gzip -d, lz4 -d and zstd -d read) --- */
/* level 0 = default; threads used by zstd (0 = single-threaded). */
struct ado_writer *ado_compress_writer_new(struct ado_writer *next, enum ado_compression c, int level,
					   int threads, struct ado_err *e);
struct ado_writer *ado_decompress_writer_new(struct ado_writer *next, enum ado_compression c,
					     struct ado_err *e);

/* Run the downstream in its own thread, joined by a bounded queue of nbufs
 * buffers of ADO_IO_BUFSIZE: lets compression and encryption use both cores. */
struct ado_writer *ado_thread_writer_new(struct ado_writer *next, int nbufs, struct ado_err *e);

/* --- progress meter (restic-like: one line on a terminal, redrawn in place) ---
 * The meter counts bytes through two observe filters, "in" (what is read:
 * the source of a backup, the stored bytes of a verify or restore) and "out"
 * (what is stored or restored), shows a file count and the current target,
 * and an ETA when the total of "in" is known. It redraws on bytes, at most
 * every 250 ms; each diagnostic line (base/log.h) erases it first. It never
 * prints: the tool's main gets every piece of text through out() (a redraw
 * "\r...\033[K", an erase "\r\033[K", the summary line ending in "\n") and
 * writes it to stderr. Every function accepts a NULL meter and does nothing. */
struct ado_meter;
typedef void (*ado_meter_out_fn)(void *arg, const char *text);
enum { ADO_METER_IN, ADO_METER_OUT };
/* width: terminal columns (the line stays shorter; 0: 80). Registers itself
 * with the log to be erased before any diagnostic; NULL on out of memory. */
struct ado_meter *ado_meter_new(ado_meter_out_fn out, void *arg, int width, struct ado_err *e);
/* Erase the line and unregister from the log. Accepts NULL. */
void ado_meter_free(struct ado_meter *m);
/* Start one run ("critical_data", "backup 'DEST/JOB/ID'"): counters to zero,
 * clock started, the line drawn once. in_word/out_word name the counters
 * ("read", "stored"; out_word NULL: no out counter); total: the expected in
 * bytes, 0 when unknown (no percentage, no ETA). */
void ado_meter_begin(struct ado_meter *m, const char *what, const char *in_word, const char *out_word,
		     uint64_t total);
/* The current target, shown instead of `what` ("critical_data/files-etc"). */
void ado_meter_target(struct ado_meter *m, const char *target);
/* Count files from *live from now on (the earlier live count is kept);
 * live must stay valid until the next call or ado_meter_end. NULL: stop. */
void ado_meter_files(struct ado_meter *m, const uint64_t *live);
/* Erase the line if shown (before another line is written to the terminal). */
void ado_meter_clear(struct ado_meter *m);
/* End the run: erase the line; when ok, one summary line with the duration. */
void ado_meter_end(struct ado_meter *m, int ok);
/* An observe filter adding what passes to the meter's in or out count (which:
 * ADO_METER_IN redraws when due; call it from one thread). With m NULL it
 * returns next itself. NULL on out of memory (next is then not freed). */
struct ado_writer *ado_meter_writer_new(struct ado_writer *next, struct ado_meter *m, int which,
					struct ado_err *e);
/* "593.2 MiB", "12 B"; "0:06", "1:02:03". */
void ado_meter_bytes(char *out, size_t len, double n);
void ado_meter_duration(char *out, size_t len, uint64_t secs);

#endif
