#include "job/cli.h"

#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"

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

struct ado_meter *ado_cli_meter(int want, ado_meter_out_fn out, void *arg)
{
	struct winsize ws;
	int width = 0;

	/* -q asks for errors only: no progress unless --progress says so */
	if (want == 0 || (want < 0 && (!isatty(STDERR_FILENO) || ado_log_level() < ADO_LOG_WARN)))
		return NULL;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		width = ws.ws_col;
	/* out of memory: the run goes on without progress */
	return ado_meter_new(out, arg, width, NULL);
}
