/* lib/source/ is what is backed up: the files: targets (this folder,
 * source/files/: a tree as a pax tar plus its index) and the PostgreSQL
 * targets (source/pg/: pg_dump and pg_restore through libpq). A source yields
 * the plaintext stream that io/ carries through the filters to the sinks, and
 * takes it back on verify and restore. It may include base/, config/ and io/
 * only: folders include only downward, base <- config <- io <-
 * format/source/store/net <- notify/job <- recover <- tools.
 *
 * files.h - the files: target's tar side: back a folder up into a pax tar
 * stream, extract such a stream safely, and compare a tree with the index.
 *
 * A files backup produces two streams: the tar (pax, with modes, owners by id
 * and name, mtimes, symlinks, hard links, xattrs and ACLs) and the index, one
 * line per tar entry:
 *
 *   TYPE \t MODE \t SIZE \t SHA256 \t PATH \n
 *
 *   TYPE    f regular file, d folder, l symlink, h hard link to an earlier
 *           entry, o other (device, fifo, socket), c regular file that
 *           changed while it was read (stored as read: its copy may be torn),
 *           u regular file that could not be read (not in the tar; SIZE 0,
 *           SHA256 "-"; not counted as an entry)
 *   MODE    permission bits in octal (07777 mask), at least 4 digits
 *   SIZE    f, c: bytes stored in the tar; l: length of the link target;
 *           h: the original's size; d/o: 0
 *   SHA256  lowercase hex: f, c: of the bytes stored; l: of the link target
 *           string; h: the original's; d/o: "-"
 *   PATH    relative to the target folder, no "./" prefix; '%', tab, newline,
 *           CR, bytes below 0x20 and 0x7f written as %XX (uppercase hex)
 *
 * Restore extracts into a fresh temporary folder, checks it against the index,
 * and only then swaps it into place; verify does the same into a scratch folder. */
#ifndef ADO_FILES_H
#define ADO_FILES_H

#include <stdint.h>

#include "config/config.h"
#include "base/error.h"
#include "io/io.h"

struct ado_files_stats {
	uint64_t entries;	/* tar entries written / extracted / index lines checked */
	uint64_t files;		/* of which regular files (hard links included) */
	uint64_t bytes;		/* file data bytes (hard links counted once) */
	uint64_t warnings;	/* warn callbacks made (backup, extract) or mismatches (check) */
	uint64_t unreadable;	/* backup: files that could not be read (left out, or padded after a read error) */
	uint64_t reread;	/* check: files read back from disk, having no record of what was written */
};

/* What an extraction wrote: for each regular file, its size and the SHA-256
 * of the bytes handed to the disk (holes as zeros), by path, so the index
 * check compares those with the index instead of reading every file back.
 * Memory is bounded by `budget` bytes (about 100 per file; the buckets take
 * budget / 16 more): past it, new paths are not recorded and the check reads
 * those files back (st->reread). A file is recorded only if every write of
 * its data succeeded whole; a path that a later entry replaces takes the later
 * record (or none); a hard link takes its target's; a hard link that carries
 * data turns the table off (every file is then read back). Fill it through
 * ado_extract_opts.written, read it through ado_index_check_writer_new2 once
 * the extraction is closed. Not thread-safe: one extraction, then one check.
 * Returns NULL when out of memory. free accepts NULL. */
struct ado_files_written;
#define ADO_FILES_WRITTEN_BUDGET (8u << 20)
struct ado_files_written *ado_files_written_new(size_t budget);
void ado_files_written_free(struct ado_files_written *t);
/* Paths left out for want of room. */
uint64_t ado_files_written_dropped(const struct ado_files_written *t);

/* Receives one warning as a complete single-line message, e.g.
 * "file changed as we read it: 'PATH'". May be NULL wherever it is accepted. */
typedef void (*ado_files_warn_fn)(void *arg, const char *msg);

/* Write target t->path as a pax tar into `tar` (not closed; a fresh
 * archive, ended with the end-of-archive marker, is pushed into it):
 *  - a folder: its contents, paths relative to it (like `tar -C PATH .` without
 *    the "./" prefix and without an entry for the folder itself);
 *  - a single file: that file under its base name.
 * A symlink given as t->path is followed; symlinks inside are stored as links.
 * Mount points inside the folder are crossed (like tar).
 * t->exclude globs are matched with fnmatch() against the relative path
 * ('*' also matches '/'; a match on a leading folder excludes all below it);
 * a pattern starting with '/' is matched against the full path instead.
 * One index line per entry goes into `idx` (may be NULL; not closed).
 * A file that vanishes before it is read, is unreadable, or changes size or
 * mtime while read is a warning: warn(arg, msg) is called and st->warnings
 * counted. A file that cannot be opened is left out of the tar and listed
 * in the index as 'u'; it and a file whose read fails midway count in
 * st->unreadable, incremented before its warn call (so the caller can tell
 * it from the others: the target is then partial). A file that changed while
 * read is indexed as 'c'; the tar stays valid (a file that shrank is padded
 * with zeros and the index describes the padded bytes, so a restore checks
 * clean, and says it may be torn).
 * Errors: t->path missing -> ADO_E_NOTFOUND naming it; unreadable root or a
 * walk that cannot go on -> ADO_E_IO; a failing tar or idx writer -> its error.
 * st (may be NULL) is filled even on failure. Returns 0 or -1. */
int ado_files_backup(const struct ado_target *t, struct ado_writer *tar, struct ado_writer *idx,
		     ado_files_warn_fn warn, void *arg, struct ado_files_stats *st, struct ado_err *e);

struct ado_extract_opts {
	int preserve_owner;	/* chown to the archived owner (as root does by default) */
	ado_files_warn_fn warn;	/* called from the extraction thread; may be NULL */
	void *warn_arg;
	struct ado_files_written *written;	/* filled by the extraction; may be NULL; outlives the writer */
};

/* A sink that extracts the tar stream pushed into it into `dir` (which must
 * exist: ADO_E_NOTFOUND otherwise). o may be NULL: then preserve_owner is
 * (geteuid() == 0) and there is no warn callback.
 * Extraction runs in a thread (libarchive's archive_write_disk with
 * SECURE_SYMLINKS | SECURE_NODOTDOT | PERM | TIME | ACL | XATTR | FFLAGS,
 * OWNER when preserve_owner), fed through a socketpair.
 * Every entry name and hard-link target is checked first: absolute, holding a
 * ".." component, or passing through a symlink already in `dir` -> the whole
 * extraction fails with ADO_E_UNSAFE "refusing to extract 'PATH': it leaves
 * the target folder". Entries already written stay in dir: extract into a
 * temporary folder and swap only on success. A malformed or truncated tar is
 * ADO_E_FORMAT; a disk error ADO_E_IO. Metadata that cannot be set (xattrs
 * on a filesystem without them, ...) is a warning.
 * Writes fail early with the extraction's error once it has failed.
 * ado_writer_close() waits for the thread and returns its result; free
 * without close (or after a failure) ends the stream and joins, without
 * deadlock. st (may be NULL) must outlive the writer; read it after close. */
struct ado_writer *ado_extract_writer_new(const char *dir, const struct ado_extract_opts *o,
					  struct ado_files_stats *st, struct ado_err *e);

/* A sink that reads an index stream and compares each line with the tree
 * under `dir`: f/c/h: a regular file of that size and SHA-256; d: a folder;
 * l: a symlink whose target has that hash; o: exists. Modes and owners are
 * not compared. A 'c' line ("'PATH': changed while it was backed up: ...")
 * and a 'u' line ("'PATH': not in the backup: ...") are told through warn
 * but are not mismatches; 'u' lines are not entries. The first 20 mismatches are reported through warn
 * ("'PATH': missing", "'PATH': size 10, expected 12", "'PATH': content
 * differs (sha256 X, expected Y)", ...), then one "... and N more" line.
 * Lines may be split across writes; a line over 64 KiB, a malformed line, an
 * unsafe path or a stream ending mid-line -> ADO_E_FORMAT "index line N: ...".
 * Close returns -1 with ADO_E_INTEGRITY "N of M entries differ from the
 * backup" if anything differed. st (may be NULL) counts entries, files and
 * bytes checked, and mismatches in warnings. */
struct ado_writer *ado_index_check_writer_new(const char *dir, ado_files_warn_fn warn, void *arg,
					      struct ado_files_stats *st, struct ado_err *e);

/* The same, taking a file's content from `written` (filled by the extraction
 * into dir, closed before this check starts; may be NULL; must outlive the
 * writer) where it has the file's path: the file is still lstat'ed for its type
 * and size, and only files without a record (or whose record's size is not the
 * index's) are read back and hashed. */
struct ado_writer *ado_index_check_writer_new2(const char *dir, const struct ado_files_written *written,
					       ado_files_warn_fn warn, void *arg, struct ado_files_stats *st,
					       struct ado_err *e);

/* A sink that lists an index for humans (ado-restore --list-files): writes
 * each entry's PATH (still %XX-escaped, so one entry is one line) and "\n"
 * to fd, which is not closed. Folders get a trailing '/'.
 * Malformed lines -> ADO_E_FORMAT as above; a failing write -> ADO_E_IO. */
struct ado_writer *ado_index_list_writer_new(int fd, struct ado_err *e);

/* Tests only: called during ado_files_backup() after each entry's header is
 * written and before its data is read, with the relative and full path, so
 * a test can change the tree mid-walk. NULL turns it off. Not thread-safe. */
void ado_files_set_test_hook(void (*fn)(void *arg, const char *rel, const char *full), void *arg);

#endif
