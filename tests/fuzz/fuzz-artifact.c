/* fuzz-artifact.c - the artifact reader: stored bytes -> decrypt (the fixed
 * test key, FUZZ_ID, FUZZ_ARTIFACT) -> decompress (the first byte picks
 * none, gzip, zstd or lz4) -> nothing, as verify --level read does. */
#include "io/io.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	fuzz_keyring();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum ado_compression comp[] = { ADO_COMP_NONE, ADO_COMP_GZIP, ADO_COMP_ZSTD, ADO_COMP_LZ4 };
	struct ado_writer *w;

	if (size < 1)
		return 0;
	w = ado_null_writer_new(NULL);
	if (w)
		w = ado_decompress_writer_new(w, comp[data[0] % 4], NULL);
	if (w)
		w = ado_decrypt_writer_new(w, fuzz_keyring(), FUZZ_ID, FUZZ_ARTIFACT, NULL);
	if (!w)
		return 0;
	/* in two writes: a chunk split across writes is the usual case */
	if (ado_writer_write(w, data + 1, (size - 1) / 2, NULL) == 0 &&
	    ado_writer_write(w, data + 1 + (size - 1) / 2, size - 1 - (size - 1) / 2, NULL) == 0)
		ado_writer_close(w, NULL);
	ado_writer_free(w);
	return 0;
}
