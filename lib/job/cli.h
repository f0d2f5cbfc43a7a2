/* cli.h - what every tool's main() does the same way: find and load the
 * config, load the key. */
#ifndef ADO_CLI_H
#define ADO_CLI_H

#include "config/config.h"
#include "format/crypt.h"
#include "base/error.h"

/* Load the config named by opt / $ADO_CONFIG / the default. When !required
 * and neither opt nor $ADO_CONFIG was given and the default file does not
 * exist, an empty config is returned instead (verify and restore by
 * reference need none). */
int ado_cli_config(const char *opt, int required, struct ado_config **out, struct ado_err *e);

/* Load the encryption key if one is configured (key_file, ADO_KEY_FILE, or the
 * passphrase variable set). Nothing configured: *out = NULL and 0, unless
 * required (then ADO_E_CONFIG). A configured but unusable key is an error. */
int ado_cli_keyring(const struct ado_config *cfg, int required, struct ado_keyring **out, struct ado_err *e);

#endif
