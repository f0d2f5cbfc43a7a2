/* azure.h - Azure Blob credentials and request signing (azure_auth.c), shared
 * by the driver (azure.c) and its unit tests.
 *
 * Credentials come from, in this order:
 *   1. the config's storage.azure section (endpoint, account, key_env/key_file,
 *      sas_env/sas_file), when it names an account or an endpoint (the key
 *      and SAS references default to the variables of 3.);
 *   2. AZURE_STORAGE_CONNECTION_STRING (AccountName, AccountKey, BlobEndpoint,
 *      DefaultEndpointsProtocol, EndpointSuffix, SharedAccessSignature,
 *      UseDevelopmentStorage=true);
 *   3. AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN.
 * A SAS token wins over a key when both are given (it is the narrower grant).
 * Every secret read is registered for log redaction (the key, the SAS token
 * and its sig= value) and wiped when the credentials are freed. */
#ifndef ADO_STORE_AZURE_H
#define ADO_STORE_AZURE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "config/config.h"

#define ADO_AZ_VERSION "2021-08-06"	/* x-ms-version sent with every request */

struct ado_az_cred {
	char *account;
	char *endpoint;		/* blob service URL, no trailing '/': https://ACCOUNT.blob.core.windows.net
				 * or path-style http://127.0.0.1:10000/devstoreaccount1 */
	unsigned char *key;	/* decoded account key, or NULL */
	size_t key_len;
	char *sas;		/* SAS query string without the leading '?', or NULL */
	const char *source;	/* where they came from, for messages: "the config", "AZURE_STORAGE_CONNECTION_STRING", ... */
};

/* Parse a connection string into c (cleared first). Unknown keys are ignored,
 * as the SDKs do. ADO_E_CONFIG (never quoting the string: it holds the key) when
 * the account, or both the key and a SAS, are missing or the key is not base64. */
int ado_az_connstr_parse(const char *cs, struct ado_az_cred *c, struct ado_err *e);

/* Resolve credentials for the config (which may be an empty one) and the
 * environment, in the order above. ADO_E_CONFIG when nothing usable is found,
 * with a hint naming the variables. */
int ado_az_cred_resolve(const struct ado_azure_config *cfg, struct ado_az_cred *c, struct ado_err *e);

/* Wipe and free what c holds; c itself is not freed. Accepts NULL. */
void ado_az_cred_clear(struct ado_az_cred *c);

/* The SharedKey string to sign for one request (version 2015-02-21 and later:
 * a Content-Length of 0 is signed as empty). url is the full request URL;
 * headers are "Name: value" lines, every x-ms-* header included; content_length
 * is the body's size. The canonical resource is "/" ACCOUNT and the URL path as
 * sent (percent-encoded), then each query parameter, name lowercased and value
 * decoded, sorted by name. Returns a new string, NULL when out of memory. */
char *ado_az_string_to_sign(const char *method, const char *account, const char *url, const char *const *headers,
			    size_t nheaders, uint64_t content_length);

/* "Authorization: SharedKey ACCOUNT:SIGNATURE" for the request into buf (len
 * bytes); 0, or -1 with ADO_E_NOMEM / ADO_E_INTERNAL. */
int ado_az_authorization(const struct ado_az_cred *c, const char *method, const char *url,
			 const char *const *headers, size_t nheaders, uint64_t content_length, char *buf,
			 size_t len, struct ado_err *e);

/* "x-ms-date: Mon, 30 Nov 2026 11:31:14 GMT" for now into buf (at least 48 bytes). */
void ado_az_date_header(char *buf, size_t len);

#endif
