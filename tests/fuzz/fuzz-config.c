/* fuzz-config.c - the config loader (lib/config/) on arbitrary YAML. */
#include <string.h>

#include "config/config.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ado_config *c = NULL;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ado_config_load_string("fuzz.yml", s, &c, NULL) == 0)
		ado_config_free(c);
	free(s);
	return 0;
}
