/* fuzz.h - what the libFuzzer targets share: a fixed test key (never a real
 * one: bytes 0..31), the backup id and artifact name its seeds are made
 * with, and quiet logs. Built by `make fuzz` (tests/fuzz/run), not by make check. */
#ifndef ADO_FUZZ_H
#define ADO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "format/crypt.h"

#define FUZZ_ID "20260101T000000Z"
#define FUZZ_ARTIFACT "files-fuzz.tar.enc"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A keyring holding the fixed test key, loaded once. */
static inline struct ado_keyring *fuzz_keyring(void)
{
	static struct ado_keyring *k;
	char path[] = "/tmp/ado-fuzz-key.XXXXXX";
	unsigned char key[32];
	int fd;

	if (k)
		return k;
	for (int i = 0; i < 32; i++)
		key[i] = (unsigned char)i;
	fd = mkstemp(path);
	if (fd < 0 || write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || ado_keyring_from_file(path, &k, NULL) < 0)
		abort();
	close(fd);
	unlink(path);
	return k;
}

static inline void fuzz_quiet(void)
{
	/* the sanitizers' and libFuzzer's reports go to stderr: keep it */
	ado_log_init("fuzz");
	ado_log_set_level(ADO_LOG_QUIET);
}

#endif
