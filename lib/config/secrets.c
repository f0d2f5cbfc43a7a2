/* secrets.c - secrets by reference (NAME_env: VARIABLE or NAME_file: PATH):
 * reading them from the config and resolving them at run time; and the two
 * sections made mostly of them, encryption: and databases:. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <yaml.h>

#include "base/log.h"
#include "config/internal.h"

static int env_name_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* NAME_env / NAME_file value nodes (either may be NULL) into ref. If neither
 * is given, ref keeps its default. */
int cfg_get_secret(struct pctx *p, const yaml_node_t *env, const yaml_node_t *file, const char *what,
		      const char *name, struct ado_secret_ref *ref)
{
	char *v = NULL;

	if (env && file)
		return cfg_perr(p, file, "expected one of %s_env or %s_file for %s, found both", name, name, what);
	if (env) {
		const char *s;

		if (cfg_get_scalar(p, env, what, "an environment variable name", &s) < 0)
			return -1;
		if (!env_name_ok(s)) {
			/* not echoed: someone may have pasted the secret itself here */
			cfg_perr(p, env, "expected an environment variable name for %s_env in %s, found something else",
			     name, what);
			return ado_err_hint(p->e, "%s_env names a variable (like ADO_DB_PASSWORD) that holds the "
					    "secret, not the secret itself; if a secret was pasted here, rotate it",
					    name);
		}
		if (!(v = cfg_xdup(p, s)))
			return -1;
		free(ref->env);
		free(ref->file);
		ref->env = v;
		ref->file = NULL;
	} else if (file) {
		char what2[160];

		snprintf(what2, sizeof(what2), "%s_file in %s", name, what);
		if (cfg_get_path(p, file, what2, &v) < 0) {
			free(v);
			return -1;
		}
		free(ref->env);
		free(ref->file);
		ref->file = v;
		ref->env = NULL;
	}
	return 0;
}

int cfg_ref_set(const struct ado_secret_ref *r)
{
	return r->env || r->file;
}

void cfg_ref_free(struct ado_secret_ref *r)
{
	free(r->env);
	free(r->file);
	r->env = r->file = NULL;
}

int ado_secret_resolve(const struct ado_secret_ref *ref, const char *what, int allow_open, char **out,
		       struct ado_err *e)
{
	char buf[8192], *val = NULL;
	size_t n = 0;
	struct stat st;
	int fd = -1, rc = -1;

	*out = NULL;
	if (ref && ref->env) {
		const char *v = getenv(ref->env);

		if (!v || !*v) {
			ado_err_set(e, ADO_E_CONFIG, 0, "%s: environment variable '%s' is not set", what, ref->env);
			return ado_err_hint(e, "export %s in the environment of the job (cron, systemd "
					    "EnvironmentFile=), or point the config at a file instead", ref->env);
		}
		if (!(val = strdup(v)))
			return ado_err_set(e, ADO_E_NOMEM, ENOMEM, "%s: cannot copy the secret", what);
		ado_log_redact(val);
		*out = val;
		return 0;
	}
	if (!ref || !ref->file) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s: no secret configured", what);
		return ado_err_hint(e, "give it by reference in the config, as NAME_env: VARIABLE or NAME_file: PATH");
	}
	fd = open(ref->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ado_err_set(e, ADO_E_CONFIG, errno, "%s: cannot open secret file '%s'", what, ref->file);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "%s: cannot stat secret file '%s'", what, ref->file);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s: secret file '%s' is not a regular file", what, ref->file);
		goto out;
	}
	if ((st.st_mode & 077) && !allow_open) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s: secret file '%s' is accessible by group or others (mode %04o)",
			    what, ref->file, (unsigned)(st.st_mode & 07777));
		ado_err_hint(e, "chmod 600 %s", ref->file);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ado_err_set(e, ADO_E_IO, errno, "%s: cannot read secret file '%s'", what, ref->file);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == sizeof(buf) - 1) {
			ado_err_set(e, ADO_E_CONFIG, 0, "%s: secret file '%s' is larger than %zu bytes", what,
				    ref->file, sizeof(buf) - 2);
			goto out;
		}
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';	/* first line only */
	if (!buf[0]) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s: secret file '%s' is empty", what, ref->file);
		goto out;
	}
	if (!(val = strdup(buf))) {
		ado_err_set(e, ADO_E_NOMEM, ENOMEM, "%s: cannot copy the secret", what);
		goto out;
	}
	ado_log_redact(val);
	*out = val;
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	return rc;
}

void ado_secret_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/* ---- encryption: and databases: ------------------------------------------ */

int cfg_parse_encryption(struct pctx *p, const yaml_node_t *map)
{
	static const char *const keys[] = { "key_file", "passphrase_env", NULL };
	yaml_node_t *v[MAX_KEYS];
	const char *s;

	if (cfg_map_fields(p, map, "'encryption'", keys, v, NULL) < 0)
		return -1;
	if (v[0] && v[1])
		return cfg_perr(p, v[1], "expected one of key_file or passphrase_env in 'encryption', found both");
	if (v[0] && cfg_get_path(p, v[0], "'key_file' in 'encryption'", &p->c->key_file) < 0)
		return -1;
	if (v[1]) {
		if (cfg_get_scalar(p, v[1], "'passphrase_env' in 'encryption'", "an environment variable name", &s) < 0)
			return -1;
		if (!env_name_ok(s)) {
			cfg_perr(p, v[1], "expected an environment variable name for 'passphrase_env', found something else");
			return ado_err_hint(p->e, "passphrase_env names a variable (like ADO_PASSPHRASE) that holds the "
					    "passphrase, not the passphrase itself; if one was pasted here, change it");
		}
		if (cfg_set_str(p, &p->c->passphrase_env, s) < 0)
			return -1;
	}
	return 0;
}

static int conninfo_has_password(const char *s)
{
	const char *scheme = strstr(s, "://");

	for (const char *q = s; (q = strcasestr(q, "password")); q += 8) {
		const char *r = q + 8;

		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '=')
			return 1;
	}
	if (scheme) {
		/* postgresql://user:secret@host/db */
		const char *auth = scheme + 3, *end = auth + strcspn(auth, "/?"), *at = memchr(auth, '@', (size_t)(end - auth));

		if (at && memchr(auth, ':', (size_t)(at - auth)))
			return 1;
	}
	return 0;
}

int cfg_parse_databases(struct pctx *p, const yaml_node_t *map)
{
	static const char *const keys[] = { "conninfo", "password_env", "password_file", NULL };

	if (cfg_map_unique(p, map, "'databases'") < 0)
		return -1;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = cfg_node_at(p, pr->key), *val = cfg_node_at(p, pr->value), *v[MAX_KEYS];
		struct ado_database *d;
		char what[200];

		if (!(d = cfg_grow(p, (void **)&p->c->databases, &p->c->ndatabases, sizeof(*d))) ||
		    cfg_set_str(p, &d->name, cfg_sval(k)) < 0)
			return -1;
		snprintf(what, sizeof(what), "database '%s'", d->name);
		if (cfg_map_fields(p, val, what, keys, v, NULL) < 0)
			return -1;
		if (v[0]) {
			if (cfg_get_str(p, v[0], what, "a libpq conninfo", &d->conninfo) < 0)
				return -1;
			if (conninfo_has_password(d->conninfo)) {
				cfg_perr(p, v[0], "expected a conninfo without a password for %s, found one in it", what);
				return ado_err_hint(p->e, "move the password to password_file: PATH (mode 0600) or "
						    "password_env: VARIABLE, and change it: it has been in the config");
			}
		}
		if (cfg_get_secret(p, v[1], v[2], what, "password", &d->password) < 0)
			return -1;
	}
	return 0;
}
