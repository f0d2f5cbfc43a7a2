/* azure_auth.c - Azure Blob credentials (config, connection string, variables)
 * and SharedKey signing (HMAC-SHA256 over the canonical request, OpenSSL). */
#include "store/azure.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/json.h"
#include "base/log.h"

/* ---- small string helpers ---- */

/* The buffer's string (caller frees), or NULL when an allocation failed. */
static char *buf_take(struct ado_buf *b)
{
	if (b->oom) {
		ado_buf_free(b);
		return NULL;
	}
	return b->data;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* Percent-decode n bytes of s ('+' stays '+': Azure signs it as sent). */
static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

void ado_az_date_header(char *buf, size_t len)
{
	char d[40];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	/* RFC 1123 in English whatever the locale */
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	snprintf(d, sizeof(d), "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday], tm.tm_mday, mo[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	snprintf(buf, len, "x-ms-date: %s", d);
}

/* ---- credentials ---- */

void ado_az_cred_clear(struct ado_az_cred *c)
{
	if (!c)
		return;
	free(c->account);
	free(c->endpoint);
	if (c->key) {
		OPENSSL_cleanse(c->key, c->key_len);
		free(c->key);
	}
	if (c->sas) {
		OPENSSL_cleanse(c->sas, strlen(c->sas));
		free(c->sas);
	}
	memset(c, 0, sizeof(*c));
}

static int set_key(struct ado_az_cred *c, const char *b64, const char *from, struct ado_err *e)
{
	size_t n = strlen(b64);
	unsigned char *k;
	int len;

	ado_log_redact(b64);
	if (n == 0 || n % 4 || !(k = malloc(n / 4 * 3 + 1)))
		goto bad;
	len = EVP_DecodeBlock(k, (const unsigned char *)b64, (int)n);
	if (len < 0) {
		OPENSSL_cleanse(k, n / 4 * 3 + 1);
		free(k);
		goto bad;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
		len--;
	c->key = k;
	c->key_len = (size_t)len;
	return 0;
bad:
	ado_err_set(e, ADO_E_CONFIG, 0, "the Azure account key from %s is not base64", from);
	return ado_err_hint(e, "copy key1 or key2 from the storage account's \"Access keys\" page");
}

static int set_sas(struct ado_az_cred *c, const char *sas)
{
	const char *sig;

	if (*sas == '?')
		sas++;
	if (!(c->sas = strdup(sas)))
		return -1;
	ado_log_redact(c->sas);
	/* the signature alone too, encoded and decoded, wherever it may surface */
	if ((sig = strstr(c->sas, "sig="))) {
		size_t n = strcspn(sig + 4, "&");
		char *raw = strndup(sig + 4, n), *dec = raw ? unescape(raw, n) : NULL;
		if (raw)
			ado_log_redact(raw);
		if (dec)
			ado_log_redact(dec);
		if (raw)
			OPENSSL_cleanse(raw, n);
		if (dec)
			OPENSSL_cleanse(dec, strlen(dec));
		free(raw);
		free(dec);
	}
	return 0;
}

static char *endpoint_for(const char *proto, const char *account, const char *suffix)
{
	size_t n = strlen(proto) + strlen(account) + strlen(suffix) + sizeof("://.blob.");
	char *ep = malloc(n);

	if (ep)
		snprintf(ep, n, "%s://%s.blob.%s", proto, account, suffix);
	return ep;
}

static void trim_slash(char *s)
{
	size_t n = s ? strlen(s) : 0;

	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
}

int ado_az_connstr_parse(const char *cs, struct ado_az_cred *c, struct ado_err *e)
{
	static const char what[] = "AZURE_STORAGE_CONNECTION_STRING";
	char *copy = strdup(cs), *save = NULL, *proto = NULL, *suffix = NULL, *key = NULL, *sas = NULL;
	int devstore = 0, rc = -1;

	memset(c, 0, sizeof(*c));
	c->source = what;
	if (!copy)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	for (char *kv = strtok_r(copy, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		char **slot = NULL;

		while (isspace((unsigned char)*kv))
			kv++;
		if (!eq)
			continue;
		*eq++ = '\0';
		if (!strcasecmp(kv, "AccountName"))
			slot = &c->account;
		else if (!strcasecmp(kv, "BlobEndpoint"))
			slot = &c->endpoint;
		else if (!strcasecmp(kv, "DefaultEndpointsProtocol"))
			proto = eq;
		else if (!strcasecmp(kv, "EndpointSuffix"))
			suffix = eq;
		else if (!strcasecmp(kv, "AccountKey"))
			key = eq;
		else if (!strcasecmp(kv, "SharedAccessSignature"))
			sas = eq;
		else if (!strcasecmp(kv, "UseDevelopmentStorage"))
			devstore = !strcasecmp(eq, "true");
		if (slot) {
			free(*slot);
			if (!(*slot = strdup(eq))) {
				ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
				goto out;
			}
		}
	}
	if (devstore) {
		/* azurite's well-known account, as the SDKs define it */
		static const char dev_key[] =
			"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
		if (!c->account && !(c->account = strdup("devstoreaccount1")))
			goto oom;
		if (!c->endpoint && !(c->endpoint = strdup("http://127.0.0.1:10000/devstoreaccount1")))
			goto oom;
		if (!key && !sas)
			key = (char *)dev_key;
	}
	if (!c->account && !(sas && c->endpoint)) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s has no AccountName", what);
		ado_err_hint(e, "copy the whole connection string from the storage account's \"Access keys\" page");
		goto out;
	}
	if (!key && !sas) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s has neither an AccountKey nor a SharedAccessSignature", what);
		ado_err_hint(e, "copy the whole connection string from the storage account's \"Access keys\" page");
		goto out;
	}
	if (!c->endpoint && !(c->endpoint = endpoint_for(proto ? proto : "https", c->account,
							    suffix ? suffix : "core.windows.net")))
		goto oom;
	trim_slash(c->endpoint);
	if (sas ? set_sas(c, sas) < 0 : set_key(c, key, what, e) < 0) {
		if (sas)
			goto oom;
		goto out;
	}
	rc = 0;
	goto out;
oom:
	ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
out:
	OPENSSL_cleanse(copy, strlen(cs));
	free(copy);
	if (rc < 0) {
		c->source = NULL;
		ado_az_cred_clear(c);
	}
	return rc;
}

int ado_az_cred_resolve(const struct ado_azure_config *cfg, struct ado_az_cred *c, struct ado_err *e)
{
	const char *cs = getenv("AZURE_STORAGE_CONNECTION_STRING");
	const char *sas_env = cfg && cfg->sas.env ? cfg->sas.env : "AZURE_STORAGE_SAS_TOKEN";
	const char *sas = cfg && cfg->sas.file ? NULL : getenv(sas_env);
	const char *account = cfg && cfg->account ? cfg->account : getenv("AZURE_STORAGE_ACCOUNT");
	int from_config = cfg && cfg->present && (cfg->account || cfg->endpoint);
	char *key = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!from_config && cs && *cs)
		return ado_az_connstr_parse(cs, c, e);
	c->source = from_config ? "the config's storage.azure" : "AZURE_STORAGE_ACCOUNT";
	if (!account || !*account) {
		ado_err_set(e, ADO_E_CONFIG, 0, "no Azure storage account is configured");
		return ado_err_hint(e, "set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with "
				    "AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN, or storage.azure in the config");
	}
	if (!(c->account = strdup(account)))
		goto oom;
	if (cfg && cfg->endpoint)
		c->endpoint = strdup(cfg->endpoint);
	else
		c->endpoint = endpoint_for("https", account, "core.windows.net");
	if (!c->endpoint)
		goto oom;
	trim_slash(c->endpoint);
	if (cfg && cfg->sas.file) {
		char *tok = NULL;
		if (ado_secret_resolve(&cfg->sas, "the Azure SAS token", 0, &tok, e) < 0) {
			ado_az_cred_clear(c);
			return -1;
		}
		rc = set_sas(c, tok);
		ado_secret_free(tok);
		if (rc < 0)
			goto oom;
		return 0;
	}
	if (sas && *sas) {
		if (set_sas(c, sas) < 0)
			goto oom;
		return 0;
	}
	if (ado_secret_resolve(cfg ? &cfg->key : NULL, "the Azure account key", 0, &key, e) < 0) {
		if (cfg && cfg->key.env && !cfg->key.file)
			ado_err_hint(e, "export %s (the account key) or AZURE_STORAGE_SAS_TOKEN, or set "
				     "AZURE_STORAGE_CONNECTION_STRING", cfg->key.env);
		ado_az_cred_clear(c);
		return -1;
	}
	if (set_key(c, key, c->source, e) < 0) {
		ado_secret_free(key);
		ado_az_cred_clear(c);
		return -1;
	}
	ado_secret_free(key);
	return 0;
oom:
	ado_az_cred_clear(c);
	return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
}

/* ---- SharedKey ---- */

static const char *header_value(const char *const *headers, size_t n, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < n; i++) {
		const char *h = headers[i];
		if (!strncasecmp(h, name, nl) && h[nl] == ':') {
			const char *v = h + nl + 1;
			size_t l;
			while (*v == ' ' || *v == '\t')
				v++;
			l = strlen(v);
			while (l > 0 && isspace((unsigned char)v[l - 1]))
				l--;
			*vlen = l;
			return v;
		}
	}
	return NULL;
}

struct kv {
	char *k, *v;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : strcmp(x->v, y->v);
}

static void kv_free(struct kv *kv, size_t m)
{
	for (size_t i = 0; i < m; i++) {
		free(kv[i].k);
		free(kv[i].v);
	}
	free(kv);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* x-ms-* headers: "name:value\n", names lowercased, sorted */
static int canon_headers(struct ado_buf *b, const char *const *headers, size_t n)
{
	struct kv *kv = calloc(n ? n : 1, sizeof(*kv));
	size_t m = 0;
	int rc = -1;

	if (!kv)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *h = headers[i], *colon = strchr(h, ':');
		if (!colon || strncasecmp(h, "x-ms-", 5))
			continue;
		const char *v = colon + 1;
		size_t vl;
		while (*v == ' ' || *v == '\t')
			v++;
		vl = strlen(v);
		while (vl > 0 && isspace((unsigned char)v[vl - 1]))
			vl--;
		kv[m].k = strndup(h, (size_t)(colon - h));
		kv[m].v = strndup(v, vl);
		if (!kv[m].k || !kv[m].v) {
			m++;
			goto out;
		}
		lower(kv[m].k);
		m++;
	}
	qsort(kv, m, sizeof(*kv), kv_cmp);
	for (size_t i = 0; i < m; i++) {
		ado_buf_puts(b, kv[i].k);
		ado_buf_puts(b, ":");
		ado_buf_puts(b, kv[i].v);
		ado_buf_puts(b, "\n");
	}
	rc = b->oom ? -1 : 0;
out:
	kv_free(kv, m);
	return rc;
}

/* "/ACCOUNT/path" then "\nname:v1,v2" per query parameter, sorted */
static int canon_resource(struct ado_buf *b, const char *account, const char *url)
{
	const char *p = strstr(url, "://"), *q;
	struct kv *kv = NULL;
	size_t m = 0, cap = 0;
	int rc = -1;

	p = p ? strchr(p + 3, '/') : NULL;
	if (!p)
		p = "/";
	q = strchr(p, '?');
	ado_buf_puts(b, "/");
	ado_buf_puts(b, account);
	ado_buf_add(b, p, q ? (size_t)(q - p) : strlen(p));
	if (!q)
		return b->oom ? -1 : 0;
	for (const char *s = q + 1; *s;) {
		size_t len = strcspn(s, "&");
		const char *eq = memchr(s, '=', len);
		if (len) {
			if (m == cap) {
				struct kv *nk = realloc(kv, (cap = cap ? cap * 2 : 8) * sizeof(*kv));
				if (!nk)
					goto out;
				kv = nk;
			}
			kv[m].k = unescape(s, eq ? (size_t)(eq - s) : len);
			kv[m].v = eq ? unescape(eq + 1, len - (size_t)(eq + 1 - s)) : strdup("");
			m++;
			if (!kv[m - 1].k || !kv[m - 1].v)
				goto out;
			lower(kv[m - 1].k);
		}
		s += len;
		if (*s == '&')
			s++;
	}
	qsort(kv, m, sizeof(*kv), kv_cmp);
	for (size_t i = 0; i < m; i++) {
		if (i == 0 || strcmp(kv[i].k, kv[i - 1].k)) {
			ado_buf_puts(b, "\n");
			ado_buf_puts(b, kv[i].k);
			ado_buf_puts(b, ":");
		} else {
			ado_buf_puts(b, ",");
		}
		ado_buf_puts(b, kv[i].v);
	}
	rc = b->oom ? -1 : 0;
out:
	kv_free(kv, m);
	return rc;
}

char *ado_az_string_to_sign(const char *method, const char *account, const char *url, const char *const *headers,
			    size_t nheaders, uint64_t content_length)
{
	static const char *const std[] = { "Content-Encoding", "Content-Language", "Content-Length",
					   "Content-MD5", "Content-Type", "Date", "If-Modified-Since",
					   "If-Match", "If-None-Match", "If-Unmodified-Since", "Range" };
	struct ado_buf b;

	ado_buf_init(&b);
	ado_buf_puts(&b, method);
	ado_buf_puts(&b, "\n");
	for (size_t i = 0; i < sizeof(std) / sizeof(std[0]); i++) {
		size_t vl = 0;
		const char *v;
		if (!strcmp(std[i], "Content-Length")) {
			if (content_length > 0) {
				char num[24];
				snprintf(num, sizeof(num), "%llu", (unsigned long long)content_length);
				ado_buf_puts(&b, num);
			}
		} else if ((v = header_value(headers, nheaders, std[i], &vl))) {
			ado_buf_add(&b, v, vl);
		}
		ado_buf_puts(&b, "\n");
	}
	if (canon_headers(&b, headers, nheaders) < 0 || canon_resource(&b, account, url) < 0) {
		ado_buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

int ado_az_authorization(const struct ado_az_cred *c, const char *method, const char *url,
			 const char *const *headers, size_t nheaders, uint64_t content_length, char *buf,
			 size_t len, struct ado_err *e)
{
	unsigned char mac[32];
	char b64[48];
	size_t maclen = 0;
	char *sts = ado_az_string_to_sign(method, c->account, url, headers, nheaders, content_length);

	if (!sts)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, c->key, c->key_len, (const unsigned char *)sts,
		       strlen(sts), mac, sizeof(mac), &maclen)) {
		free(sts);
		return ado_err_set(e, ADO_E_INTERNAL, 0, "HMAC-SHA256 failed");
	}
	free(sts);
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
	OPENSSL_cleanse(mac, sizeof(mac));
	snprintf(buf, len, "Authorization: SharedKey %s:%s", c->account, b64);
	return 0;
}
