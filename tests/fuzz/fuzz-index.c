/* fuzz-index.c - the files index parser (lib/source/files/index.c): the
 * --list-files sink into /dev/null, and the check sink against an empty
 * folder (every entry missing), fed in two pieces split where the first
 * byte says. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "source/files/files.h"
#include "fuzz.h"

static int devnull = -1;
static char dir[] = "/tmp/ado-fuzz-index.XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	if ((devnull = open("/dev/null", O_WRONLY)) < 0 || !mkdtemp(dir))
		abort();
	return 0;
}

static void feed(struct ado_writer *w, const uint8_t *data, size_t size, size_t cut)
{
	if (!w)
		return;
	if (ado_writer_write(w, data, cut, NULL) == 0 && ado_writer_write(w, data + cut, size - cut, NULL) == 0)
		ado_writer_close(w, NULL);
	ado_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut;

	if (size < 1)
		return 0;
	cut = size > 1 ? data[0] % size : 0;
	data++;
	size--;
	if (cut > size)
		cut = size;
	feed(ado_index_list_writer_new(devnull, NULL), data, size, cut);
	feed(ado_index_check_writer_new(dir, NULL, NULL, NULL, NULL), data, size, cut);
	return 0;
}
