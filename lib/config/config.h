/* config.h - backup-strategy.yml (libyaml) -> struct ado_config.
 *
 * lib/config turns the config file into struct ado_config, checked to the
 * last key, and owns what reading it needs: secret references, durations,
 * compression names and cron schedules (cron.h). It is the layer just above
 * the floor and may include only base/ (folders include only downward:
 * base <- config <- io <- format/source/store/net <- notify/job <- recover <-
 * tools). This header is its API; config.c loads and walks the file, one file
 * per section parses it (jobs.c, storage.c, notifications.c, secrets.c,
 * duration.c), and what they share is in the private internal.h.
 *
 * The plan's backup_jobs: block loads unchanged; optional top-level sections
 * add what the plan leaves implicit (see man/ado.yml.5):
 *
 *   state_dir: /var/lib/ado
 *   encryption: { key_file: /etc/ado/backup.key }   # or passphrase_env: ADO_PASSPHRASE
 *   databases:  { ado_primary: { conninfo: "host=db1 user=backup", password_file: ... } }
 *   storage:
 *     s3:    { endpoint: ..., region: ..., access_key_id_env: ..., secret_access_key_env: ..., path_style: true }
 *     azure: { endpoint: ..., account: ..., key_env: ..., sas_env: ..., access_tier: ..., block_size: 8MiB }
 *   notifications:
 *     timeout: 60s
 *     channels: { NAME: { type: slack|webhook|statuspage|email, url_env: ..., severities: [...] ... } }
 *   metrics: { dir: /var/lib/node_exporter/textfile }   # Prometheus text files (job/metrics.h)
 *   backup_jobs: { JOB: { schedule, targets, destinations, retention, encryption, compression,
 *                         compression_level, rpo, rto } }
 *
 * Secrets are accepted only by reference (NAME_env: VARIABLE or NAME_file: PATH),
 * never inline. Every error names file:line:column, what was expected and what
 * was found. Unknown keys are errors. */
#ifndef ADO_CONFIG_H
#define ADO_CONFIG_H

#include <stddef.h>

#include "config/cron.h"
#include "base/error.h"

#define ADO_DEFAULT_CONFIG "/etc/ado/backup-strategy.yml"
#define ADO_DEFAULT_STATE_DIR "/var/lib/ado"

/* Where a secret comes from: exactly one of env / file is set (or neither if optional). */
struct ado_secret_ref {
	char *env;	/* environment variable name */
	char *file;	/* path of a file holding the secret (first line, trailing newline stripped) */
};

/* Resolve a secret reference into a newly allocated string (caller wipes and
 * frees it with ado_secret_free). A file readable by group or others is
 * refused (ADO_E_CONFIG) unless allow_open is set. Missing variable or file:
 * ADO_E_CONFIG naming it. The value is registered for log redaction. */
int ado_secret_resolve(const struct ado_secret_ref *ref, const char *what, int allow_open,
		       char **out, struct ado_err *e);
void ado_secret_free(char *s);

enum ado_target_kind { ADO_TARGET_FILES, ADO_TARGET_DATABASE };

struct ado_target {
	enum ado_target_kind kind;
	char *name;		/* artifact base name, unique within the job:
				 * "files-etc-ado-config", "db-ado_primary" (or `name:` from the config) */
	char *path;		/* FILES: the folder (or file) to back up, as written */
	char **exclude;		/* FILES: glob patterns matched against relative paths */
	size_t nexclude;
	char *database;		/* DATABASE: database name */
	char **tables;		/* DATABASE: listed tables, as written (may be schema-qualified) */
	size_t ntables;
	int line, col;		/* where it was defined */
};

enum ado_dest_kind { ADO_DEST_LOCAL, ADO_DEST_S3, ADO_DEST_S3_GLACIER, ADO_DEST_AZURE };

struct ado_dest {
	enum ado_dest_kind kind;
	char *url;		/* as written: "/backup/critical/", "s3://bucket/prefix/", "azblob://container/prefix/" */
	char *bucket;		/* S3 bucket or Azure container; NULL for local */
	char *prefix;		/* key prefix inside the bucket ("" or "a/b/"), or the local folder */
	int line, col;
};

enum ado_compression { ADO_COMP_NONE, ADO_COMP_GZIP, ADO_COMP_LZ4, ADO_COMP_ZSTD };

/* retention as a mapping (thinning, as restic and borg do): each rule keeps
 * some backups, a backup that no rule keeps goes (job/retention.h). */
struct ado_keep {
	int set;		/* the mapping form was given (then ado_job.retention is 0) */
	long long within;	/* keep_within: every backup younger than this (seconds); 0 = rule off */
	int last;		/* the newest N */
	int hourly, daily, weekly, monthly, yearly;	/* the newest of each of the N newest UTC periods
							 * that hold a backup; 0 = rule off */
};

struct ado_job {
	char *name;
	char *schedule;		/* cron expression as written; NULL if none */
	struct ado_cron cron;
	struct ado_target *targets;
	size_t ntargets;
	struct ado_dest *dests;
	size_t ndests;
	long long retention;	/* seconds; 0 = keep forever (or see keep) */
	struct ado_keep keep;	/* retention: { keep_within: 24h, hourly: 168, ... } */
	int encrypt;		/* encryption: "AES-256" (or aes-256-gcm); absent or "none" -> 0 */
	enum ado_compression compression;	/* absent -> zstd (documented default) */
	int compression_level;	/* 0 = the codec's default */
	long long rpo;		/* seconds; 0 = none configured */
	long long rto;		/* seconds; 0 = none configured */
	int line, col;
};

struct ado_database {
	char *name;		/* the database name used in targets */
	char *conninfo;		/* libpq conninfo; NULL -> "dbname=NAME" + PG* env */
	struct ado_secret_ref password;	/* optional */
};

struct ado_s3_config {
	int present;
	/* endpoint, region, path_style, ca_file: NULL (-1) when the file does not set
	 * them; the driver then takes AWS_ENDPOINT_URL, AWS_REGION / AWS_DEFAULT_REGION
	 * and AWS_CA_BUNDLE, else AWS itself in us-east-1 (ado.yml.5) */
	char *endpoint;		/* http://127.0.0.1:4569 in tests */
	char *region;
	int path_style;		/* 1, 0, or -1: path style exactly when an endpoint is given */
	struct ado_secret_ref access_key_id;	/* default env AWS_ACCESS_KEY_ID */
	struct ado_secret_ref secret_access_key;	/* default env AWS_SECRET_ACCESS_KEY */
	char *ca_file;
	char *storage_class;	/* for s3: destinations (default STANDARD) */
	char *glacier_storage_class;	/* for s3_glacier: artifacts (default GLACIER; DEEP_ARCHIVE, GLACIER_IR) */
	unsigned long long part_size;	/* multipart part size in bytes; 0 = the driver's default (16 MiB) */
	int checksum_sha256;	/* checksum: sha256 (signed payloads); default crc32 (x-amz-checksum-crc32) */
};

struct ado_azure_config {
	int present;
	char *endpoint;		/* e.g. http://127.0.0.1:10000/devstoreaccount1 or https://ACCOUNT.blob.core.windows.net */
	char *account;
	struct ado_secret_ref key;	/* account key (base64); default env AZURE_STORAGE_KEY */
	struct ado_secret_ref sas;	/* SAS token, used instead of the key when set; default env
					 * AZURE_STORAGE_SAS_TOKEN (optional) */
	char *ca_file;
	char *access_tier;	/* optional: Hot, Cool, Cold, Archive */
	unsigned long long block_size;	/* Put Block size in bytes; 0 -> the driver's default */
};

enum ado_channel_kind { ADO_CH_SLACK, ADO_CH_WEBHOOK, ADO_CH_STATUSPAGE, ADO_CH_EMAIL };

#define ADO_SEV_INFO 1
#define ADO_SEV_WARNING 2
#define ADO_SEV_CRITICAL 4
#define ADO_SEV_ALL 7

struct ado_header { char *name; char *value; };

struct ado_channel {
	char *name;
	enum ado_channel_kind kind;
	int severities;		/* bit set of ADO_SEV_*; default ADO_SEV_ALL */
	char *url;		/* non-secret URL (statuspage API, webhook) or NULL */
	struct ado_secret_ref url_ref;	/* secret URL (Slack webhooks carry their secret in the path) */
	struct ado_secret_ref token;	/* statuspage bearer token */
	struct ado_header *headers;	/* webhook: extra headers */
	size_t nheaders;
	char *ca_file;
	/* email */
	char *smtp_url;		/* smtp://host:port or smtps:// */
	char *from;
	char **to;
	size_t nto;
	char *username;
	struct ado_secret_ref password;
	int starttls;		/* default 1: require STARTTLS on smtp:// */
	int line, col;
};

struct ado_config {
	char *path;		/* file it was loaded from */
	char *state_dir;	/* default ADO_DEFAULT_STATE_DIR; ADO_STATE_DIR overrides */
	char *metrics_dir;	/* metrics: { dir: }: node_exporter textfile folder; NULL = no metrics */
	/* encryption key source */
	char *key_file;		/* ADO_KEY_FILE overrides */
	char *passphrase_env;	/* default "ADO_PASSPHRASE" when key_file is unset */
	struct ado_job *jobs;
	size_t njobs;
	struct ado_database *databases;
	size_t ndatabases;
	struct ado_s3_config s3;
	struct ado_azure_config azure;
	struct ado_channel *channels;
	size_t nchannels;
	long long notify_timeout;	/* seconds; default 60 */
};

/* Load and validate path. Environment overrides (ADO_STATE_DIR, ADO_KEY_FILE)
 * are applied here. Returns 0 and a new config, or -1 with ADO_E_CONFIG
 * ("FILE:LINE:COL: expected X, found Y") or ADO_E_NOTFOUND/ADO_E_IO. */
int ado_config_load(const char *path, struct ado_config **out, struct ado_err *e);

/* Same, from a string (for tests); name is used in messages. */
int ado_config_load_string(const char *name, const char *yaml, struct ado_config **out,
			   struct ado_err *e);

/* An empty config with defaults (for tools that run without a file, e.g.
 * ado-notify with the plan's environment variables). */
struct ado_config *ado_config_new_empty(void);

void ado_config_free(struct ado_config *c);

/* The config path to use: -c value if given, else $ADO_CONFIG, else the default. */
const char *ado_config_path(const char *opt);

/* Find a job / database by name, or NULL. */
struct ado_job *ado_config_job(const struct ado_config *c, const char *name);
const struct ado_database *ado_config_database(const struct ado_config *c, const char *name);

/* The hint for a job name that is not in c: "did you mean 'critical_data'?"
 * when one job is close (the did-you-mean rule of misspelt keys), else "the
 * jobs there are: a, b" (or "(none)"). Cut to len. */
void ado_config_job_hint(const struct ado_config *c, const char *name, char *buf, size_t len);
/* Levenshtein distance of a and b (99 when either is 63 bytes or longer):
 * the did-you-mean measure of keys and job names, for other names too. */
size_t ado_edit_distance(const char *a, const char *b);

/* "30 days", "7 years", "15 minutes", "24h", "90d", "1 week", "2h30m", "45s"
 * -> seconds. Units: s/sec/second(s), m/min/minute(s), h/hour(s), d/day(s),
 * w/week(s), month(s) (30 d), y/year(s) (365 d). Returns -1 with ADO_E_CONFIG. */
int ado_duration_parse(const char *s, long long *out, struct ado_err *e);

/* Format seconds compactly: "15m", "1h30m", "30d". */
void ado_duration_format(long long secs, char *buf, size_t len);

const char *ado_compression_name(enum ado_compression c);	/* "none", "gzip", "lz4", "zstd" */
const char *ado_compression_ext(enum ado_compression c);	/* "", ".gz", ".lz4", ".zst" */
int ado_compression_parse(const char *s, enum ado_compression *out);	/* 0 ok, -1 unknown */

#endif
