/* notifications.c - the notifications: section: the timeout and the
 * channels (slack, webhook, statuspage, email), each type with its own keys. */
#include "config/config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "config/internal.h"

static int parse_severities(struct pctx *p, const yaml_node_t *n, const char *what, int *out)
{
	static const struct {
		const char *name;
		int bit;
	} sev[] = { { "info", ADO_SEV_INFO }, { "warning", ADO_SEV_WARNING }, { "critical", ADO_SEV_CRITICAL },
		    { "all", ADO_SEV_ALL } };
	const yaml_node_item_t *it, *end;
	yaml_node_item_t one;
	char fbuf[96];

	*out = 0;
	if (n->type == YAML_SCALAR_NODE) {
		/* a single severity need not be written as a list */
		one = 0;
		it = &one;
		end = it + 1;
	} else {
		if (cfg_want_seq(p, n, what) < 0)
			return -1;
		it = n->data.sequence.items.start;
		end = n->data.sequence.items.top;
		if (it == end)
			return cfg_perr(p, n, "expected at least one of info, warning, critical for %s, found an empty list",
				    what);
	}
	for (; it < end; it++) {
		const yaml_node_t *v = n->type == YAML_SCALAR_NODE ? n : cfg_node_at(p, *it);
		size_t i;

		if (v->type == YAML_SCALAR_NODE)
			for (i = 0; i < sizeof(sev) / sizeof(sev[0]); i++)
				if (!strcasecmp(cfg_sval(v), sev[i].name)) {
					*out |= sev[i].bit;
					break;
				}
		if (v->type != YAML_SCALAR_NODE || i == sizeof(sev) / sizeof(sev[0]))
			return cfg_perr(p, v, "expected info, warning, critical or all in %s, found %s", what, FOUND(v));
	}
	return 0;
}

static int parse_headers(struct pctx *p, struct ado_channel *ch, const yaml_node_t *map, const char *what)
{
	char fbuf[96];

	if (cfg_map_unique(p, map, what) < 0)
		return -1;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = cfg_node_at(p, pr->key), *v = cfg_node_at(p, pr->value);
		struct ado_header *h;
		const char *name = cfg_sval(k), *val;

		for (const char *q = name; *q; q++)
			if (!isalnum((unsigned char)*q) && !strchr("!#$%&'*+-.^_`|~", *q))
				return cfg_perr(p, k, "expected an HTTP header name in %s, found '%s'", what, name);
		if (!strcasecmp(name, "Authorization")) {
			cfg_perr(p, k, "expected a secret by reference in %s, found an inline 'Authorization' header", what);
			return ado_err_hint(p->e, "write token_env: VARIABLE or token_file: PATH; it is sent as "
					    "'Authorization: Bearer TOKEN'");
		}
		for (size_t i = 0; i < ch->nheaders; i++)
			if (!strcasecmp(ch->headers[i].name, name))
				return cfg_perr(p, k, "expected each header once in %s, found '%s' again", what, name);
		if (v->type != YAML_SCALAR_NODE)
			return cfg_perr(p, v, "expected a header value in %s, found %s", what, FOUND(v));
		val = cfg_sval(v);
		if (strpbrk(val, "\r\n") || strlen(val) != v->data.scalar.length)
			return cfg_perr(p, v, "expected a header value on one line in %s, found a line break", what);
		if (!(h = cfg_grow(p, (void **)&ch->headers, &ch->nheaders, sizeof(*h))) ||
		    cfg_set_str(p, &h->name, name) < 0 || cfg_set_str(p, &h->value, val) < 0)
			return -1;
	}
	return 0;
}

static int want_http(struct pctx *p, const yaml_node_t *n, const char *url, const char *what)
{
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return cfg_perr(p, n, "expected an http:// or https:// URL for %s, found '%.60s'", what, url);
	return 0;
}

static int parse_channel(struct pctx *p, const yaml_node_t *key, const yaml_node_t *map)
{
	static const char *const kinds[] = { "slack", "webhook", "statuspage", "email" };
	/* per type, so a setting that would be ignored (smtp_url on a slack
	 * channel) is refused instead */
	static const char *const keys[4][MAX_KEYS] = {
		{ "type", "severities", "ca_file", "url_env", "url_file", NULL },
		{ "type", "severities", "ca_file", "url", "url_env", "url_file", "headers", "token_env", "token_file",
		  NULL },
		{ "type", "severities", "ca_file", "url", "url_env", "url_file", "token_env", "token_file", NULL },
		{ "type", "severities", "ca_file", "smtp_url", "from", "to", "username", "password_env", "password_file",
		  "starttls", NULL },
	};
	enum { F_SEV, F_CA, F_URL, F_URL_ENV, F_URL_FILE, F_HEADERS, F_TOKEN_ENV, F_TOKEN_FILE,
	       F_SMTP, F_FROM, F_TO, F_USER, F_PW_ENV, F_PW_FILE, F_STARTTLS };
	yaml_node_t *v[MAX_KEYS], *typen = NULL;
	const yaml_node_t *f[16] = { 0 };
	struct ado_channel *ch;
	char what[200], fbuf[96];
	const char *const *kl;
	size_t kind;

	if (!(ch = cfg_grow(p, (void **)&p->c->channels, &p->c->nchannels, sizeof(*ch))))
		return -1;
	ch->line = (int)key->start_mark.line + 1;
	ch->col = (int)key->start_mark.column + 1;
	ch->severities = ADO_SEV_ALL;
	ch->starttls = 1;
	if (cfg_get_name(p, key, "channel name", &ch->name) < 0)
		return -1;
	snprintf(what, sizeof(what), "channel '%s'", ch->name);
	if (cfg_want_map(p, map, what) < 0)
		return -1;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = cfg_node_at(p, pr->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp(cfg_sval(k), "type"))
			typen = cfg_node_at(p, pr->value);
	}
	if (!typen)
		return cfg_perr(p, key, "expected 'type: slack|webhook|statuspage|email' in %s, found no type", what);
	for (kind = 0; kind < 4; kind++)
		if (typen->type == YAML_SCALAR_NODE && !strcmp(cfg_sval(typen), kinds[kind]))
			break;
	if (kind == 4)
		return cfg_perr(p, typen, "expected slack, webhook, statuspage or email for 'type' of %s, found %s", what,
			    FOUND(typen));
	ch->kind = (enum ado_channel_kind)kind;
	kl = keys[kind];
	if (cfg_map_fields(p, map, what, kl, v, NULL) < 0)
		return -1;
	/* index the values by name: the per-type lists differ in order */
	for (size_t i = 0; kl[i]; i++) {
		static const char *const all[] = { "severities", "ca_file", "url", "url_env", "url_file",
						   "headers", "token_env", "token_file", "smtp_url", "from",
						   "to", "username", "password_env", "password_file", "starttls", NULL };
		for (size_t a = 0; all[a]; a++)
			if (!strcmp(all[a], kl[i]))
				f[a] = v[i];
	}

	if ((f[F_SEV] && parse_severities(p, f[F_SEV], what, &ch->severities) < 0) ||
	    (f[F_CA] && cfg_get_path(p, f[F_CA], what, &ch->ca_file) < 0) ||
	    (f[F_URL] && cfg_get_str(p, f[F_URL], what, "a URL", &ch->url) < 0) ||
	    (f[F_URL] && want_http(p, f[F_URL], ch->url, what) < 0) ||
	    cfg_get_secret(p, f[F_URL_ENV], f[F_URL_FILE], what, "url", &ch->url_ref) < 0 ||
	    (f[F_HEADERS] && parse_headers(p, ch, f[F_HEADERS], what) < 0) ||
	    cfg_get_secret(p, f[F_TOKEN_ENV], f[F_TOKEN_FILE], what, "token", &ch->token) < 0 ||
	    (f[F_SMTP] && cfg_get_str(p, f[F_SMTP], what, "an smtp:// or smtps:// URL", &ch->smtp_url) < 0) ||
	    (f[F_FROM] && cfg_get_str(p, f[F_FROM], what, "an email address", &ch->from) < 0) ||
	    (f[F_TO] && cfg_get_str_list(p, f[F_TO], what, "an email address", 1, &ch->to, &ch->nto) < 0) ||
	    (f[F_USER] && cfg_get_str(p, f[F_USER], what, "a user name", &ch->username) < 0) ||
	    cfg_get_secret(p, f[F_PW_ENV], f[F_PW_FILE], what, "password", &ch->password) < 0 ||
	    (f[F_STARTTLS] && cfg_get_bool(p, f[F_STARTTLS], what, &ch->starttls) < 0))
		return -1;
	if (f[F_URL] && cfg_ref_set(&ch->url_ref))
		return cfg_perr(p, f[F_URL], "expected one of url, url_env or url_file in %s, found more than one", what);
	switch (ch->kind) {
	case ADO_CH_SLACK:
		if (!cfg_ref_set(&ch->url_ref)) {
			cfg_perr(p, key, "expected url_env or url_file in %s, found neither", what);
			return ado_err_hint(p->e, "a Slack webhook URL is a secret: url_env: SLACK_WEBHOOK_URL");
		}
		break;
	case ADO_CH_WEBHOOK:
	case ADO_CH_STATUSPAGE:
		if (!ch->url && !cfg_ref_set(&ch->url_ref))
			return cfg_perr(p, key, "expected url, url_env or url_file in %s, found none", what);
		if (ch->kind == ADO_CH_STATUSPAGE && !cfg_ref_set(&ch->token)) {
			cfg_perr(p, key, "expected token_env or token_file in %s, found neither", what);
			return ado_err_hint(p->e, "the status page API needs a token: token_env: STATUS_PAGE_TOKEN");
		}
		break;
	case ADO_CH_EMAIL:
		if (!ch->smtp_url)
			return cfg_perr(p, key, "expected 'smtp_url' in %s, found none", what);
		if (strncmp(ch->smtp_url, "smtp://", 7) && strncmp(ch->smtp_url, "smtps://", 8))
			return cfg_perr(p, f[F_SMTP], "expected an smtp:// or smtps:// URL in %s, found %s", what,
				    FOUND(f[F_SMTP]));
		if (!ch->from)
			return cfg_perr(p, key, "expected 'from' in %s, found none", what);
		if (!ch->nto)
			return cfg_perr(p, key, "expected 'to' in %s, found none", what);
		break;
	}
	return 0;
}

int cfg_parse_notifications(struct pctx *p, const yaml_node_t *map)
{
	static const char *const keys[] = { "timeout", "channels", NULL };
	yaml_node_t *v[MAX_KEYS];

	if (cfg_map_fields(p, map, "'notifications'", keys, v, NULL) < 0)
		return -1;
	if (v[0] && cfg_get_duration(p, v[0], "'timeout' in 'notifications'", 0, &p->c->notify_timeout) < 0)
		return -1;
	if (v[1]) {
		if (cfg_map_unique(p, v[1], "'channels'") < 0)
			return -1;
		for (yaml_node_pair_t *pr = v[1]->data.mapping.pairs.start; pr < v[1]->data.mapping.pairs.top; pr++)
			if (parse_channel(p, cfg_node_at(p, pr->key), cfg_node_at(p, pr->value)) < 0)
				return -1;
	}
	return 0;
}
