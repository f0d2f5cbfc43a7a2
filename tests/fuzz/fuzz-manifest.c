/* fuzz-manifest.c - the manifest parser (lib/format/manifest.c): with and
 * without the test key, with and without authentication required (the
 * first byte picks), then the SHA256SUMS text of what parsed. */
#include "format/manifest.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	fuzz_keyring();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ado_manifest *m = NULL;
	char *sums = NULL;
	size_t slen;
	int auth, mode;

	if (size < 1)
		return 0;
	mode = data[0];
	if (ado_manifest_parse((const char *)data + 1, size - 1, mode & 1 ? fuzz_keyring() : NULL, mode & 2 ? 1 : 0, &m,
			       &auth, NULL) == 0) {
		for (size_t i = 0; i < m->nartifacts; i++)
			if (!m->artifacts[i].name || !m->artifacts[i].target || !m->artifacts[i].kind ||
			    !m->artifacts[i].source || !m->artifacts[i].format)
				abort();	/* the parser promised: no NULL the format does not allow */
		if (ado_manifest_sums(m, &sums, &slen, NULL) == 0)
			free(sums);
		ado_manifest_free(m);
	}
	return 0;
}
