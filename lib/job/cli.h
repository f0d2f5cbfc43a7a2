/* cli.h - what every tool's main() does the same way: find and load the
 * config, load the key. */
#ifndef ADO_CLI_H
#define ADO_CLI_H

#include "config/config.h"
#include "format/crypt.h"
#include "base/error.h"
#include "io/io.h"

/* Load the config named by opt / $ADO_CONFIG / the default. When !required
 * and neither opt nor $ADO_CONFIG was given and the default file does not
 * exist, an empty config is returned instead (verify and restore by
 * reference need none). */
int ado_cli_config(const char *opt, int required, struct ado_config **out, struct ado_err *e);

/* Load the encryption key if one is configured (key_file, ADO_KEY_FILE, or the
 * passphrase variable set). Nothing configured: *out = NULL and 0, unless
 * required (then ADO_E_CONFIG). A configured but unusable key is an error. */
int ado_cli_keyring(const struct ado_config *cfg, int required, struct ado_keyring **out, struct ado_err *e);

/* The progress meter of a run (io.h), or NULL for none: want 1 (--progress),
 * 0 (--no-progress), -1 (neither: only when stderr is a terminal and -q was
 * not given, so never on a pipe or under cron). out writes the meter's text to stderr. */
struct ado_meter *ado_cli_meter(int want, ado_meter_out_fn out, void *arg);

#endif
