/* random.h - random bytes from OpenSSL's CSPRNG: key salts, nonces' salts,
 * unguessable temporary names, retry jitter. */
#ifndef ADO_RANDOM_H
#define ADO_RANDOM_H

#include <stddef.h>

#include "base/error.h"

/* Fill buf with n random bytes (RAND_bytes). -1 with ADO_E_INTERNAL when the
 * generator fails; never returns predictable bytes. */
int ado_random(void *buf, size_t n, struct ado_err *e);

#endif
