/* storage.c - the storage: section: where the s3 and azure drivers connect
 * and with which credentials (by reference). */
#include "config/config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "config/internal.h"

/* "16MiB", "64 MB", "8388608": bytes, binary units (K, KiB, KB all mean 1024). */
static int get_size(struct pctx *p, const yaml_node_t *n, const char *what, unsigned long long min,
		    unsigned long long max, unsigned long long *out)
{
	const char *v;
	char *end;
	unsigned long long x, mul = 1;

	if (cfg_get_scalar(p, n, what, "a size like 16MiB", &v) < 0)
		return -1;
	x = strtoull(v, &end, 10);
	while (*end == ' ')
		end++;
	if (*end == 'K' || *end == 'k')
		mul = 1024ULL;
	else if (*end == 'M' || *end == 'm')
		mul = 1024ULL * 1024;
	else if (*end == 'G' || *end == 'g')
		mul = 1024ULL * 1024 * 1024;
	if (mul > 1)
		end++;
	if (mul > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0 || strcmp(end, "ib") == 0 || strcmp(end, "b") == 0))
		end += strlen(end);
	if (end == v || *end || x == 0 || x * mul < min || x * mul > max)
		return cfg_perr(p, n, "expected a size from %lluMiB to %lluMiB like 16MiB for %s, found '%s'",
				min >> 20, max >> 20, what, v);
	*out = x * mul;
	return 0;
}

static int one_of(const char *v, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(v, list[i]) == 0)
			return 1;
	return 0;
}

int cfg_parse_storage(struct pctx *p, const yaml_node_t *map)
{
	static const char *const keys[] = { "s3", "azure", NULL };
	static const char *const s3_keys[] = { "endpoint",
					       "region",
					       "path_style",
					       "access_key_id_env",
					       "access_key_id_file",
					       "secret_access_key_env",
					       "secret_access_key_file",
					       "ca_file",
					       "storage_class",
					       "glacier_storage_class",
					       "part_size",
					       "checksum",
					       NULL };
	static const char *const az_keys[] = { "endpoint", "account",	  "key_env",	"key_file", "ca_file",
					       "access_tier", "sas_env", "sas_file", "block_size", NULL };
	static const char *const classes[] = { "STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
					       "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", NULL };
	yaml_node_t *v[MAX_KEYS], *s[MAX_KEYS];
	struct ado_config *c = p->c;

	if (cfg_map_fields(p, map, "'storage'", keys, v, NULL) < 0)
		return -1;
	if (v[0]) {
		if (cfg_map_fields(p, v[0], "'storage.s3'", s3_keys, s, NULL) < 0)
			return -1;
		c->s3.present = 1;
		if ((s[0] && cfg_get_str(p, s[0], "'endpoint' in 'storage.s3'", "a URL", &c->s3.endpoint) < 0) ||
		    (s[1] && cfg_get_str(p, s[1], "'region' in 'storage.s3'", "a region", &c->s3.region) < 0) ||
		    (s[2] && cfg_get_bool(p, s[2], "'path_style' in 'storage.s3'", &c->s3.path_style) < 0) ||
		    cfg_get_secret(p, s[3], s[4], "'storage.s3'", "access_key_id", &c->s3.access_key_id) < 0 ||
		    cfg_get_secret(p, s[5], s[6], "'storage.s3'", "secret_access_key", &c->s3.secret_access_key) < 0 ||
		    (s[7] && cfg_get_path(p, s[7], "'ca_file' in 'storage.s3'", &c->s3.ca_file) < 0) ||
		    (s[8] && cfg_get_str(p, s[8], "'storage_class' in 'storage.s3'", "a storage class",
				     &c->s3.storage_class) < 0))
			return -1;
		if (s[9] && cfg_get_str(p, s[9], "'glacier_storage_class' in 'storage.s3'", "a storage class",
					&c->s3.glacier_storage_class) < 0)
			return -1;
		if (s[10] && get_size(p, s[10], "'part_size' in 'storage.s3'", 5ULL << 20, 1ULL << 30, &c->s3.part_size) < 0)
			return -1;
		if (s[11]) {
			const char *sum;
			if (cfg_get_scalar(p, s[11], "'checksum' in 'storage.s3'", "crc32 or sha256", &sum) < 0)
				return -1;
			if (strcmp(sum, "crc32") != 0 && strcmp(sum, "sha256") != 0)
				return cfg_perr(p, s[11], "expected crc32 or sha256 for 'checksum' in 'storage.s3', "
						"found '%s'", sum);
			c->s3.checksum_sha256 = strcmp(sum, "sha256") == 0;
		}
		if (s[8] && !one_of(c->s3.storage_class, classes))
			return cfg_perr(p, s[8], "expected one of STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, "
				    "GLACIER_IR, GLACIER, DEEP_ARCHIVE for 'storage_class' in 'storage.s3', found '%s'",
				    c->s3.storage_class);
		if (s[9] && !one_of(c->s3.glacier_storage_class, classes + 4))
			return cfg_perr(p, s[9], "expected one of GLACIER, DEEP_ARCHIVE, GLACIER_IR for "
				    "'glacier_storage_class' in 'storage.s3', found '%s'", c->s3.glacier_storage_class);
		if (c->s3.endpoint && strncmp(c->s3.endpoint, "http://", 7) && strncmp(c->s3.endpoint, "https://", 8))
			return cfg_perr(p, s[0], "expected an http:// or https:// URL for 'endpoint' in 'storage.s3', "
				    "found '%s'", c->s3.endpoint);
	}
	if (v[1]) {
		if (cfg_map_fields(p, v[1], "'storage.azure'", az_keys, s, NULL) < 0)
			return -1;
		c->azure.present = 1;
		if ((s[0] && cfg_get_str(p, s[0], "'endpoint' in 'storage.azure'", "a URL", &c->azure.endpoint) < 0) ||
		    (s[1] && cfg_get_str(p, s[1], "'account' in 'storage.azure'", "an account name", &c->azure.account) < 0) ||
		    cfg_get_secret(p, s[2], s[3], "'storage.azure'", "key", &c->azure.key) < 0 ||
		    (s[4] && cfg_get_path(p, s[4], "'ca_file' in 'storage.azure'", &c->azure.ca_file) < 0) ||
		    (s[5] && cfg_get_str(p, s[5], "'access_tier' in 'storage.azure'", "Hot, Cool or Archive",
				     &c->azure.access_tier) < 0) ||
		    cfg_get_secret(p, s[6], s[7], "'storage.azure'", "sas", &c->azure.sas) < 0 ||
		    (s[8] && get_size(p, s[8], "'block_size' in 'storage.azure'", 1ULL << 20, 4000ULL << 20,
				      &c->azure.block_size) < 0))
			return -1;
		if (c->azure.endpoint && strncmp(c->azure.endpoint, "http://", 7) &&
		    strncmp(c->azure.endpoint, "https://", 8))
			return cfg_perr(p, s[0], "expected an http:// or https:// URL for 'endpoint' in 'storage.azure', "
				    "found '%s'", c->azure.endpoint);
		if (c->azure.access_tier && strcasecmp(c->azure.access_tier, "Hot") &&
		    strcasecmp(c->azure.access_tier, "Cool") && strcasecmp(c->azure.access_tier, "Cold") &&
		    strcasecmp(c->azure.access_tier, "Archive"))
			return cfg_perr(p, s[5], "expected Hot, Cool, Cold or Archive for 'access_tier' in 'storage.azure', "
				    "found '%s'", c->azure.access_tier);
	}
	return 0;
}
