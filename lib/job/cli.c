#include "job/cli.h"

#include <stdlib.h>
#include <unistd.h>

int ado_cli_config(const char *opt, int required, struct ado_config **out, struct ado_err *e)
{
	const char *path = ado_config_path(opt);
	const char *env = getenv("ADO_CONFIG");

	*out = NULL;
	if (!required && !opt && !(env && *env) && access(path, F_OK) != 0) {
		*out = ado_config_new_empty();
		if (!*out)
			return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		return 0;
	}
	return ado_config_load(path, out, e);
}

int ado_cli_keyring(const struct ado_config *cfg, int required, struct ado_keyring **out, struct ado_err *e)
{
	const char *kf = getenv("ADO_KEY_FILE");
	const char *pv = cfg && cfg->passphrase_env ? cfg->passphrase_env : "ADO_PASSPHRASE";
	const char *pass = getenv(pv);

	*out = NULL;
	if (!required && !(kf && *kf) && !(cfg && cfg->key_file) && !(pass && *pass))
		return 0;
	return ado_keyring_from_config(cfg, out, e);
}
