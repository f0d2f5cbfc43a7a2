/* t-azure.c - Azure Blob credentials and SharedKey signing, without a network.
 * The expected strings to sign and signatures were captured from azurite
 * 3.37.0's --debug log ("[STRING TO SIGN]" and "Calculated authentication
 * header based on key1") for the same requests. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "config/config.h"
#include "store/azure.h"
#include "tap.h"

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DEV_CS "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" DEV_KEY \
	";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;"

static void test_sign(void)
{
	struct ado_az_cred c;
	struct ado_err e;
	char auth[256];
	const char *put_block[] = { "x-ms-date: Mon, 30 Nov 2026 11:31:14 GMT", "x-ms-version: 2021-08-06",
				    "Content-Type: application/octet-stream", "X-MS-Client-Request-Id:  abc " };
	const char *create[] = { "x-ms-version: 2021-08-06", "x-ms-date: Mon, 30 Nov 2026 11:32:42 GMT",
				 "Content-Type: application/octet-stream" };
	const char *url = "http://127.0.0.1:10000/devstoreaccount1/ctest/dir%20x/blob.bin?comp=block&blockid=QUJDRA%3D%3D";
	char *sts;

	ok(ado_az_connstr_parse(DEV_CS, &c, &e) == 0, "azurite's connection string parses");
	is_str(c.account, "devstoreaccount1", "account");
	is_str(c.endpoint, "http://127.0.0.1:10000/devstoreaccount1", "BlobEndpoint, trailing slash dropped");
	is_int(c.key_len, 64, "key decoded to 64 bytes");
	ok(c.sas == NULL, "no SAS");

	sts = ado_az_string_to_sign("PUT", c.account, url, put_block, 4, 5);
	is_str(sts, "PUT\n\n\n5\n\napplication/octet-stream\n\n\n\n\n\n\nx-ms-client-request-id:abc\n"
		    "x-ms-date:Mon, 30 Nov 2026 11:31:14 GMT\nx-ms-version:2021-08-06\n"
		    "/devstoreaccount1/devstoreaccount1/ctest/dir%20x/blob.bin\nblockid:QUJDRA==\ncomp:block",
	       "Put Block: string to sign as azurite expects it");
	free(sts);
	ok(ado_az_authorization(&c, "PUT", url, put_block, 4, 5, auth, sizeof(auth), &e) == 0, "signs");
	is_str(auth, "Authorization: SharedKey devstoreaccount1:ptNpUtFLN3XbwFmSaMl47XwzEnUrwGADeH8twbO1B2Q=",
	       "Put Block: the signature azurite computed");

	url = "http://127.0.0.1:10000/devstoreaccount1/ctest?restype=container";
	sts = ado_az_string_to_sign("PUT", c.account, url, create, 3, 0);
	is_str(sts, "PUT\n\n\n\n\napplication/octet-stream\n\n\n\n\n\n\nx-ms-date:Mon, 30 Nov 2026 11:32:42 GMT\n"
		    "x-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/ctest\nrestype:container",
	       "Create Container: a zero Content-Length is signed empty");
	free(sts);
	ok(ado_az_authorization(&c, "PUT", url, create, 3, 0, auth, sizeof(auth), &e) == 0, "signs");
	is_str(auth, "Authorization: SharedKey devstoreaccount1:LWKHVdmTMACVxzhoLvcM+y4VXZQFdoG44occ+lwV1tE=",
	       "Create Container: the signature azurite computed");

	sts = ado_az_string_to_sign("GET", "acct", "https://acct.blob.core.windows.net/c?comp=list&restype=container"
				    "&include=metadata&include=deleted&prefix=a%2Fb", NULL, 0, 0);
	is_str(sts, "GET\n\n\n\n\n\n\n\n\n\n\n\n/acct/c\ncomp:list\ninclude:deleted,metadata\nprefix:a/b\n"
		    "restype:container", "query: decoded, sorted, repeated names joined");
	free(sts);
	ado_az_cred_clear(&c);
}

static void test_connstr(void)
{
	struct ado_az_cred c;
	struct ado_err e;

	ok(ado_az_connstr_parse("AccountName=acme;AccountKey=" DEV_KEY ";EndpointSuffix=core.usgovcloudapi.net", &c,
				&e) == 0, "suffix, default protocol");
	is_str(c.endpoint, "https://acme.blob.core.usgovcloudapi.net", "endpoint from account and suffix");
	is_str(c.source, "AZURE_STORAGE_CONNECTION_STRING", "source named");
	ado_az_cred_clear(&c);

	ok(ado_az_connstr_parse("BlobEndpoint=https://acme.blob.core.windows.net;SharedAccessSignature=sv=2021-08-06&ss=b"
				"&sig=AbC%2BdEf0123456789", &c, &e) == 0, "SAS with an endpoint and no account");
	is_str(c.sas, "sv=2021-08-06&ss=b&sig=AbC%2BdEf0123456789", "SAS kept as a query");
	ok(c.key == NULL, "no key with a SAS");
	ado_az_cred_clear(&c);

	ok(ado_az_connstr_parse("UseDevelopmentStorage=true", &c, &e) == 0, "UseDevelopmentStorage=true");
	is_str(c.endpoint, "http://127.0.0.1:10000/devstoreaccount1", "azurite's default endpoint");
	is_int(c.key_len, 64, "azurite's key");
	ado_az_cred_clear(&c);

	ok(ado_az_connstr_parse("AccountName=acme;AccountKey=not base64!", &c, &e) < 0, "bad key refused");
	is_str(e.msg, "the Azure account key from AZURE_STORAGE_CONNECTION_STRING is not base64", "says why");
	ok(!strstr(e.msg, "not base64!"), "the key is not quoted");
	ok(ado_az_connstr_parse("AccountName=acme", &c, &e) < 0, "no key nor SAS refused");
	is_str(e.msg, "AZURE_STORAGE_CONNECTION_STRING has neither an AccountKey nor a SharedAccessSignature",
	       "says what is missing");
	ok(ado_az_connstr_parse("AccountKey=" DEV_KEY, &c, &e) < 0, "no account refused");
	is_int(e.kind, ADO_E_CONFIG, "a config error");
}

static void test_resolve(void)
{
	struct ado_config *cfg = ado_config_new_empty();
	struct ado_az_cred c;
	struct ado_err e;
	char line[512];

	unsetenv("AZURE_STORAGE_CONNECTION_STRING");
	unsetenv("AZURE_STORAGE_ACCOUNT");
	unsetenv("AZURE_STORAGE_KEY");
	unsetenv("AZURE_STORAGE_SAS_TOKEN");
	ok(ado_az_cred_resolve(&cfg->azure, &c, &e) < 0, "nothing configured");
	is_str(e.msg, "no Azure storage account is configured", "says so");
	like(e.hint, "AZURE_STORAGE_CONNECTION_STRING", "hint names the variables");

	setenv("AZURE_STORAGE_CONNECTION_STRING", DEV_CS, 1);
	ok(ado_az_cred_resolve(&cfg->azure, &c, &e) == 0, "connection string from the environment");
	is_str(c.endpoint, "http://127.0.0.1:10000/devstoreaccount1", "its BlobEndpoint");
	ado_az_cred_clear(&c);
	unsetenv("AZURE_STORAGE_CONNECTION_STRING");

	setenv("AZURE_STORAGE_ACCOUNT", "acme", 1);
	setenv("AZURE_STORAGE_SAS_TOKEN", "?sv=2021-08-06&sig=Zm9vYmFyYmF6cXV4%3D", 1);
	ok(ado_az_cred_resolve(&cfg->azure, &c, &e) == 0, "account and SAS variables");
	is_str(c.endpoint, "https://acme.blob.core.windows.net", "public endpoint");
	is_str(c.sas, "sv=2021-08-06&sig=Zm9vYmFyYmF6cXV4%3D", "leading '?' dropped");
	ado_log_redact_copy(line, sizeof(line), "GET /c/b?sig=Zm9vYmFyYmF6cXV4%3D and Zm9vYmFyYmF6cXV4=");
	ok(!strstr(line, "Zm9vYmFyYmF6cXV4"), "the signature is redacted, encoded or not: %s", line);
	ado_az_cred_clear(&c);
	unsetenv("AZURE_STORAGE_SAS_TOKEN");

	ok(ado_az_cred_resolve(&cfg->azure, &c, &e) < 0, "account without key");
	like(e.msg, "'AZURE_STORAGE_KEY' is not set", "names the key variable");
	setenv("AZURE_STORAGE_KEY", DEV_KEY, 1);
	ok(ado_az_cred_resolve(&cfg->azure, &c, &e) == 0, "account and key variables");
	is_int(c.key_len, 64, "key decoded");
	ado_az_cred_clear(&c);
	ado_config_free(cfg);
}

int main(void)
{
	test_sign();
	test_connstr();
	test_resolve();
	return done_testing();
}
