/* random.c - see random.h. */
#include "base/random.h"

#include <openssl/rand.h>

int ado_random(void *buf, size_t n, struct ado_err *e)
{
	if (n > 0 && RAND_bytes(buf, (int)n) != 1)
		return ado_err_set(e, ADO_E_INTERNAL, 0, "cannot get random bytes from OpenSSL");
	return 0;
}
