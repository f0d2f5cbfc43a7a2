/* t-config.c - lib/config/: the plan's file, the full example, every kind
 * of mistake with its position, secrets by reference, env overrides. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "base/log.h"
#include "tap.h"

static char tmpdir[] = "/tmp/t-config.XXXXXX";

/* The examples live at the top of the tree; prove runs from there, but allow
 * running the test from tests/unit too. */
static const char *example(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "examples/%s", name);
	if (access(buf, R_OK) == 0)
		return buf;
	snprintf(buf, len, "../../examples/%s", name);
	return buf;
}

static struct ado_config *load(const char *yaml, struct ado_err *e)
{
	struct ado_config *c = NULL;

	ado_err_clear(e);
	if (ado_config_load_string("t.yml", yaml, &c, e) < 0) {
		ok(c == NULL, "no config is returned on error");
		return NULL;
	}
	return c;
}

/* yaml must be refused as CONFIG with exactly msg, and a hint containing hint. */
static void refused(const char *label, const char *yaml, const char *msg, const char *hint)
{
	struct ado_err e;
	struct ado_config *c = load(yaml, &e);

	ok(c == NULL, "%s: refused", label);
	is_int(e.kind, ADO_E_CONFIG, "%s: kind CONFIG (exit %d)", label, ado_err_exit(e.kind));
	is_str(e.msg, msg, "%s: message", label);
	if (hint)
		like(e.hint, hint, "%s: hint", label);
	ado_config_free(c);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fchmod(fd, mode) < 0)
		printf("# cannot write %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

#define JOB_HEAD "backup_jobs:\n  a:\n"
#define TARGETS "    targets:\n      - files: /etc\n"
#define DESTS "    destinations:\n      - local: /backup/\n"

static void test_plan_file(void)
{
	struct ado_config *c = NULL;
	struct ado_err e;
	const struct ado_job *j;
	char path[256];

	unsetenv("ADO_STATE_DIR");
	unsetenv("ADO_KEY_FILE");
	example("backup-strategy.yml", path, sizeof(path));
	ado_err_clear(&e);
	if (!ok(ado_config_load(path, &c, &e) == 0, "the plan's backup-strategy.yml loads unchanged")) {
		printf("#   %s\n#   hint: %s\n", e.msg, e.hint);
		return;
	}
	is_str(c->path, path, "path recorded");
	is_int(c->njobs, 3, "3 jobs");

	j = ado_config_job(c, "critical_data");
	ok(j != NULL, "critical_data found by name");
	ok(ado_config_job(c, "nope") == NULL, "an unknown job is not found");
	if (!j)
		goto out;
	is_str(j->name, "critical_data", "job 1 name");
	is_int(j->line, 3, "job 1 defined at line 3");
	is_str(j->schedule, "*/15 * * * *", "critical_data schedule as written");
	is_int((long long)j->cron.minute, (1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45), "schedule parsed");
	is_int(j->ntargets, 2, "critical_data: 2 targets");
	is_int(j->targets[0].kind, ADO_TARGET_DATABASE, "target 1 is a database");
	is_str(j->targets[0].database, "ado_primary", "database ado_primary");
	is_int(j->targets[0].ntables, 3, "3 tables");
	is_str(j->targets[0].tables[0], "users", "table users");
	is_str(j->targets[0].tables[1], "tasks", "table tasks");
	is_str(j->targets[0].tables[2], "configurations", "table configurations");
	is_str(j->targets[0].name, "db-ado_primary", "default database target name");
	is_int(j->targets[1].kind, ADO_TARGET_FILES, "target 2 is files");
	is_str(j->targets[1].path, "/etc/ado/config/", "files path as written");
	is_str(j->targets[1].name, "files-etc-ado-config", "default files target name");
	is_int(j->targets[1].line, 8, "target 2 at line 8");
	is_int(j->targets[1].col, 9, "target 2 at column 9");
	is_int(j->ndests, 3, "3 destinations");
	is_int(j->dests[0].kind, ADO_DEST_LOCAL, "dest 1 local");
	is_str(j->dests[0].url, "/backup/critical/", "local url as written");
	is_str(j->dests[0].prefix, "/backup/critical/", "local folder");
	ok(j->dests[0].bucket == NULL, "local has no bucket");
	is_int(j->dests[1].kind, ADO_DEST_S3, "dest 2 s3");
	is_str(j->dests[1].bucket, "ado-backups-critical", "s3 bucket");
	is_str(j->dests[1].prefix, "", "s3 prefix empty");
	is_int(j->dests[2].kind, ADO_DEST_AZURE, "dest 3 azure");
	is_str(j->dests[2].bucket, "ado-backups-critical", "azure container");
	is_str(j->dests[2].url, "azblob://ado-backups-critical/", "azure url as written");
	is_int(j->retention, 30LL * 86400, "retention 30 days");
	is_int(j->encrypt, 1, "AES-256 -> encrypt");
	is_int(j->compression, ADO_COMP_ZSTD, "compression defaults to zstd");
	is_int(j->rpo, 0, "no rpo");

	j = &c->jobs[1];
	is_str(j->name, "important_data", "job 2 in file order");
	is_int(j->compression, ADO_COMP_GZIP, "important_data gzip");
	is_int(j->retention, 90LL * 86400, "important_data 90 days");
	is_int(j->encrypt, 0, "important_data: no encryption line -> 0");
	is_str(j->targets[1].name, "files-var-log-ado", "files-var-log-ado");

	j = &c->jobs[2];
	is_str(j->name, "archive_data", "job 3");
	is_int(j->ndests, 1, "archive_data: 1 destination");
	is_int(j->dests[0].kind, ADO_DEST_S3_GLACIER, "s3_glacier");
	is_str(j->dests[0].bucket, "ado-backups-archive", "glacier bucket");
	is_int(j->retention, 7LL * 365 * 86400, "retention 7 years");
	is_int(j->compression, ADO_COMP_LZ4, "lz4");
	is_str(j->targets[0].database, "ado_analytics", "whole database ado_analytics");
	is_int(j->targets[0].ntables, 0, "no tables listed: the whole database");
	is_int(j->cron.hour, 1u << 2, "daily at 2");

	is_str(c->state_dir, ADO_DEFAULT_STATE_DIR, "state_dir default");
	ok(c->key_file == NULL, "no key file");
	is_str(c->passphrase_env, "ADO_PASSPHRASE", "passphrase_env default");
	is_int(c->notify_timeout, 60, "notify timeout default 60");
	ok(c->s3.endpoint == NULL, "s3 endpoint unset (the driver falls back to AWS_ENDPOINT_URL)");
	ok(c->s3.region == NULL, "s3 region unset (the driver falls back to AWS_REGION)");
	is_int(c->s3.path_style, -1, "s3 path style unset");
	is_int(c->s3.checksum_sha256, 0, "s3 checksum default: crc32");
	is_int(c->s3.present, 0, "no storage.s3 section");
	is_str(c->s3.access_key_id.env, "AWS_ACCESS_KEY_ID", "s3 key id env default");
	is_str(c->s3.secret_access_key.env, "AWS_SECRET_ACCESS_KEY", "s3 secret env default");
	is_str(c->azure.key.env, "AZURE_STORAGE_KEY", "azure key env default");
	is_int(c->nchannels, 0, "no channels");
out:
	ado_config_free(c);
}

static void test_full_example(void)
{
	struct ado_config *c = NULL;
	struct ado_err e;
	const struct ado_database *db;
	const struct ado_channel *ch;
	const struct ado_job *j;
	char path[256];

	example("ado.yml", path, sizeof(path));
	ado_err_clear(&e);
	if (!ok(ado_config_load(path, &c, &e) == 0, "examples/ado.yml loads")) {
		printf("#   %s\n#   hint: %s\n", e.msg, e.hint);
		return;
	}
	is_str(c->state_dir, "/var/lib/ado", "state_dir");
	is_str(c->key_file, "/etc/ado/backup.key", "key_file");
	ok(c->passphrase_env == NULL, "no passphrase default when a key file is set");
	is_int(c->ndatabases, 2, "2 databases");
	db = ado_config_database(c, "ado_primary");
	ok(db && db->conninfo && strstr(db->conninfo, "host=db1.internal"), "conninfo");
	is_str(db ? db->password.file : NULL, "/etc/ado/secrets/ado_primary.password", "password_file");
	db = ado_config_database(c, "ado_analytics");
	is_str(db ? db->password.env : NULL, "ADO_ANALYTICS_PASSWORD", "password_env");
	ok(ado_config_database(c, "other") == NULL, "unknown database not found");

	is_int(c->s3.present, 1, "storage.s3 present");
	is_str(c->s3.region, "eu-west-1", "s3 region");
	is_int(c->s3.path_style, 0, "path_style false");
	is_str(c->s3.secret_access_key.file, "/etc/ado/secrets/aws_secret_access_key", "secret_access_key_file");
	ok(c->s3.secret_access_key.env == NULL, "the file replaces the default variable");
	is_str(c->s3.storage_class, "STANDARD_IA", "storage_class");
	is_int(c->s3.checksum_sha256, 0, "checksum: crc32");
	is_int(c->azure.present, 1, "storage.azure present");
	is_str(c->azure.account, "adobackups", "azure account");
	is_str(c->azure.access_tier, "Cool", "access tier");
	is_str(c->azure.sas.env, "AZURE_STORAGE_SAS_TOKEN", "azure sas env default");
	is_int(c->azure.block_size, 8 * 1024 * 1024, "azure block_size 8MiB");

	is_int(c->notify_timeout, 60, "timeout 60s");
	is_int(c->nchannels, 4, "4 channels");
	ch = &c->channels[0];
	is_str(ch->name, "oncall-slack", "slack channel name");
	is_int(ch->kind, ADO_CH_SLACK, "slack");
	is_str(ch->url_ref.env, "SLACK_WEBHOOK_URL", "slack url_env");
	is_int(ch->severities, ADO_SEV_WARNING | ADO_SEV_CRITICAL, "severities [warning, critical]");
	ch = &c->channels[1];
	is_int(ch->kind, ADO_CH_WEBHOOK, "webhook");
	is_int(ch->nheaders, 1, "one header");
	is_str(ch->headers[0].name, "X-Source", "header name");
	is_str(ch->headers[0].value, "ado-dr", "header value");
	is_str(ch->token.env, "ALERT_WEBHOOK_TOKEN", "webhook token_env");
	is_int(ch->severities, ADO_SEV_CRITICAL, "a single severity as a scalar");
	ch = &c->channels[2];
	is_int(ch->kind, ADO_CH_STATUSPAGE, "statuspage");
	is_str(ch->token.file, "/etc/ado/secrets/statuspage.token", "token_file");
	ch = &c->channels[3];
	is_int(ch->kind, ADO_CH_EMAIL, "email");
	is_str(ch->smtp_url, "smtp://mail.internal.example:587", "smtp_url");
	is_int(ch->nto, 2, "two recipients");
	is_str(ch->to[1], "dba@example.com", "second recipient");
	is_int(ch->starttls, 1, "starttls");
	is_int(ch->severities, ADO_SEV_ALL, "all three severities");

	j = ado_config_job(c, "critical_data");
	is_int(j->rpo, 15 * 60, "rpo 15 minutes");
	is_int(j->rto, 4 * 3600, "rto 4 hours");
	is_int(j->compression_level, 3, "compression_level");
	is_int(j->targets[1].nexclude, 2, "2 excludes");
	is_str(j->targets[1].exclude[1], "cache/*", "exclude glob");
	j = ado_config_job(c, "important_data");
	is_str(j->targets[0].name, "db-ado_primary-history", "explicit target name");
	is_str(j->dests[0].prefix, "hourly/", "s3 prefix");
	ado_config_free(c);
}

static void test_syntax(void)
{
	refused("unterminated quote", JOB_HEAD "    schedule: \"0 2 * * *\n" TARGETS,
		"t.yml:6:1: expected valid YAML, found a syntax error: found unexpected end of stream "
		"(while scanning a quoted scalar at line 3)", "quoting");
	refused("bad indentation", JOB_HEAD "    retention: 30 days\n   compression: gzip\n",
		"t.yml:4:4: expected valid YAML, found a syntax error: did not find expected key "
		"(while parsing a block mapping at line 2)", "indentation");
	refused("tab indentation", "backup_jobs:\n\ta: 1\n",
		"t.yml:2:1: expected valid YAML, found a syntax error: found character that cannot start any token "
		"(while scanning for the next token at line 2)", "tabs");
	refused("empty document", "# nothing\n",
		"t.yml:1:1: expected a mapping with 'backup_jobs', found an empty document", NULL);
	refused("two documents", "state_dir: /x\n---\nstate_dir: /y\n",
		"t.yml:2:1: expected one YAML document, found a second one", NULL);
	refused("top level is a list", "- a\n- b\n", "t.yml:1:1: expected a mapping for the top level, found a list",
		NULL);
}

static void test_unknown_keys(void)
{
	refused("unknown top-level key", "backup_job:\n  a: {}\n",
		"t.yml:1:1: expected one of state_dir, encryption, databases, storage, notifications, backup_jobs, "
		"recovery, metrics in the top level, found unknown key 'backup_job'",
		"did you mean 'backup_jobs'?");
	refused("unknown metrics key", "metrics: { folder: /x }\n",
		"t.yml:1:12: expected one of dir in 'metrics', found unknown key 'folder'", NULL);
	refused("unknown job key", JOB_HEAD TARGETS DESTS "    retension: 30 days\n",
		"t.yml:7:5: expected one of schedule, targets, destinations, retention, encryption, compression, "
		"compression_level, rpo, rto in job 'a', found unknown key 'retension'",
		"did you mean 'retention'?");
	refused("unknown target key", JOB_HEAD "    targets:\n      - database: x\n        tabels: [a]\n" DESTS,
		"t.yml:5:9: expected one of database, tables, name in target 1 of job 'a', found unknown key 'tabels'",
		"did you mean 'tables'?");
	refused("tables on a files target", JOB_HEAD "    targets:\n      - files: /x\n        tables: [a]\n" DESTS,
		"t.yml:5:9: expected one of files, exclude, name in target 1 of job 'a', found unknown key 'tables'",
		NULL);
	refused("misspelt target kind", JOB_HEAD "    targets:\n      - databse: x\n" DESTS,
		"t.yml:4:9: expected one of database, files, tables, exclude, name in target 1 of job 'a', "
		"found unknown key 'databse'", "did you mean 'database'?");
	refused("both kinds in one target", JOB_HEAD "    targets:\n      - database: x\n        files: /x\n" DESTS,
		"t.yml:4:9: expected either 'database' or 'files' in target 1 of job 'a', found both", NULL);
	refused("unknown destination kind", JOB_HEAD TARGETS "    destinations:\n      - gcs: gs://b/\n",
		"t.yml:6:9: expected one of local, s3, s3_glacier, azure in destination 1 of job 'a', "
		"found unknown key 'gcs'", NULL);
	refused("two destinations in one item", JOB_HEAD TARGETS "    destinations:\n      - local: /a/\n        s3: s3://bbb/\n",
		"t.yml:7:9: expected one destination per list item in job 'a', found 2", NULL);
	refused("unknown s3 key", "storage:\n  s3:\n    regoin: x\n",
		"t.yml:3:5: expected one of endpoint, region, path_style, access_key_id_env, access_key_id_file, "
		"secret_access_key_env, secret_access_key_file, ca_file, storage_class, glacier_storage_class, "
		"part_size, checksum in 'storage.s3', found unknown key 'regoin'", "did you mean 'region'?");
	refused("checksum unknown", "storage:\n  s3:\n    checksum: md5\n",
		"t.yml:3:15: expected crc32 or sha256 for 'checksum' in 'storage.s3', found 'md5'", NULL);
	refused("part_size too small", "storage:\n  s3:\n    part_size: 1MiB\n",
		"t.yml:3:16: expected a size from 5MiB to 1024MiB like 16MiB for 'part_size' in 'storage.s3', "
		"found '1MiB'", NULL);
	refused("glacier class unknown", "storage:\n  s3:\n    glacier_storage_class: COLD\n",
		"t.yml:3:28: expected one of GLACIER, DEEP_ARCHIVE, GLACIER_IR for 'glacier_storage_class' in "
		"'storage.s3', found 'COLD'", NULL);
	refused("smtp_url on a slack channel",
		"notifications:\n  channels:\n    s:\n      type: slack\n      url_env: X\n      smtp_url: smtp://x\n",
		"t.yml:6:7: expected one of type, severities, ca_file, url_env, url_file in channel 's', "
		"found unknown key 'smtp_url'", NULL);
}

static void test_values(void)
{
	struct ado_config *c;
	struct ado_err e;

	refused("relative local path", JOB_HEAD TARGETS "    destinations:\n      - local: backup/\n",
		"t.yml:6:16: expected an absolute path for 'local' in destination 1 of job 'a', found 'backup/'",
		"starting with '/'");
	refused("relative files path", JOB_HEAD "    targets:\n      - files: etc\n" DESTS,
		"t.yml:4:16: expected an absolute path for 'files' in target 1 of job 'a', found 'etc'", NULL);
	refused("s3 URL with the wrong scheme", JOB_HEAD TARGETS "    destinations:\n      - s3: \"azblob://abc/\"\n",
		"t.yml:6:13: expected a URL like 's3://bucket/prefix/' for 's3' in destination 1 of job 'a', "
		"found 'azblob://abc/'", NULL);
	refused("bad bucket", JOB_HEAD TARGETS "    destinations:\n      - s3: s3://Bad_Bucket/x/\n",
		"t.yml:6:13: expected a valid bucket name in 's3' in destination 1 of job 'a', found 'Bad_Bucket'",
		"3-63 lowercase");
	refused("bad prefix", JOB_HEAD TARGETS "    destinations:\n      - azure: azblob://cont/a//b/\n",
		"t.yml:6:16: expected a prefix of letters, digits and !-_.*'() separated by single '/' in 'azure' "
		"in destination 1 of job 'a', found 'a//b/'", NULL);
	refused("azure block size too small", "storage:\n  azure:\n    block_size: 64KiB\n",
		"t.yml:3:17: expected a size from 1MiB to 4000MiB like 16MiB for 'block_size' in 'storage.azure', "
		"found '64KiB'", NULL);
	refused("same destination twice", JOB_HEAD TARGETS "    destinations:\n      - s3: s3://abc/p\n      - s3: s3://abc/p/\n",
		"t.yml:7:13: expected distinct destinations in job 'a', found 's3://abc/p/' twice", NULL);
	refused("bad duration", JOB_HEAD TARGETS DESTS "    retention: thirty days\n",
		"t.yml:7:16: expected a duration like '30 days' or '24h' for 'retention' of job 'a', "
		"found 'thirty days'", "number followed by a unit");
	refused("duration without unit", JOB_HEAD TARGETS DESTS "    retention: \"30\"\n",
		"t.yml:7:16: expected a duration like '30 days' or '24h' for 'retention' of job 'a', found '30'",
		"a unit is required");
	refused("zero retention", JOB_HEAD TARGETS DESTS "    retention: 0 days\n",
		"t.yml:7:16: expected a duration longer than zero for 'retention' of job 'a', found '0 days'",
		"forever");
	refused("bad cron", JOB_HEAD "    schedule: \"0 25 * * *\"\n" TARGETS DESTS,
		"t.yml:3:15: expected a cron schedule for 'schedule' of job 'a', found '0 25 * * *' "
		"(hour field: '25' is out of range 0-23)", "five fields");
	refused("list where a scalar is expected", JOB_HEAD "    schedule: [\"0 2 * * *\"]\n" TARGETS DESTS,
		"t.yml:3:15: expected a cron schedule for 'schedule' of job 'a', found a list", NULL);
	refused("scalar where a list is expected", JOB_HEAD "    targets: /etc\n" DESTS,
		"t.yml:3:14: expected a list for 'targets' of job 'a', found '/etc'", NULL);
	refused("empty value", JOB_HEAD TARGETS DESTS "    compression:\n",
		"t.yml:7:17: expected gzip, lz4, zstd or none for 'compression' of job 'a', found an empty value",
		NULL);
	refused("bad encryption", JOB_HEAD TARGETS DESTS "    encryption: AES-128\n",
		"t.yml:7:17: expected AES-256, aes-256-gcm or none for 'encryption' of job 'a', found 'AES-128'", NULL);
	refused("bad compression", JOB_HEAD TARGETS DESTS "    compression: bzip2\n",
		"t.yml:7:18: expected gzip, lz4, zstd or none for 'compression' of job 'a', found 'bzip2'", NULL);
	refused("gzip level too high", JOB_HEAD TARGETS DESTS "    compression: gzip\n    compression_level: 12\n",
		"t.yml:8:24: expected a whole number 0-9 for 'compression_level' of job 'a' (gzip), found '12'", NULL);
	refused("bad job name", "backup_jobs:\n  \"my job\":\n" TARGETS DESTS,
		"t.yml:2:3: expected a job name of letters, digits, '_', '.' or '-', found 'my job'", NULL);
	refused("bad boolean", "storage:\n  s3:\n    path_style: maybe\n",
		"t.yml:3:17: expected true or false for 'path_style' in 'storage.s3', found 'maybe'", NULL);
	refused("bad severity", "notifications:\n  channels:\n    s:\n      type: slack\n      url_env: X\n"
		"      severities: [warning, panic]\n",
		"t.yml:6:29: expected info, warning, critical or all in channel 's', found 'panic'", NULL);
	refused("channel without type", "notifications:\n  channels:\n    s:\n      url_env: X\n",
		"t.yml:3:5: expected 'type: slack|webhook|statuspage|email' in channel 's', found no type", NULL);
	refused("unknown channel type", "notifications:\n  channels:\n    s:\n      type: teams\n",
		"t.yml:4:13: expected slack, webhook, statuspage or email for 'type' of channel 's', found 'teams'",
		NULL);
	refused("email without to", "notifications:\n  channels:\n    m:\n      type: email\n"
		"      smtp_url: smtp://127.0.0.1:2525\n      from: a@b\n",
		"t.yml:3:5: expected 'to' in channel 'm', found none", NULL);

	/* accepted variants */
	c = load("state_dir: /srv/ado\n" JOB_HEAD "    schedule: \"@daily\"\n"
		 "    targets:\n      - database: app\n        tables: [a]\n      - database: app\n        tables: [b]\n"
		 "      - files: /\n      - files: /srv//www/\n"
		 "    destinations:\n      - s3: s3://abc/x/y\n      - azure: azblob://con-tainer\n      - local: /b\n"
		 "    retention: forever\n    rpo: 2h30m\n    rto: 1 week\n    compression: none\n    encryption: none\n",
		 &e);
	if (ok(c != NULL, "variants load")) {
		const struct ado_job *j = &c->jobs[0];

		is_str(c->state_dir, "/srv/ado", "state_dir from the file");
		is_str(j->targets[0].name, "db-app", "first of a repeated database: db-app");
		is_str(j->targets[1].name, "db-app-2", "second: db-app-2");
		is_str(j->targets[2].name, "files-root", "/ -> files-root");
		is_str(j->targets[3].name, "files-srv-www", "repeated slashes collapse");
		is_str(j->dests[0].prefix, "x/y/", "prefix gains its trailing '/'");
		is_str(j->dests[1].bucket, "con-tainer", "container without a prefix");
		is_str(j->dests[1].prefix, "", "empty prefix");
		is_str(j->dests[2].prefix, "/b/", "local folder gains its trailing '/'");
		is_int(j->retention, 0, "forever -> 0");
		is_int(j->rpo, 9000, "2h30m");
		is_int(j->rto, 604800, "1 week");
		is_int(j->compression, ADO_COMP_NONE, "compression none");
		is_int(j->encrypt, 0, "encryption none");
		is_int(j->cron.hour, 1, "@daily");
	} else {
		printf("#   %s\n", e.msg);
	}
	ado_config_free(c);

	c = load("notifications:\n  timeout: 2m\n", &e);
	ok(c && c->notify_timeout == 120 && c->njobs == 0, "a notifications-only config loads, timeout 2m");
	ado_config_free(c);
}

static void test_secrets_inline(void)
{
	refused("inline database password", "databases:\n  app:\n    password: hunter2\n",
		"t.yml:3:5: expected a secret by reference in database 'app', found an inline 'password'",
		"password_env: VARIABLE or password_file:");
	refused("inline s3 secret", "storage:\n  s3:\n    secret_access_key: abc\n",
		"t.yml:3:5: expected a secret by reference in 'storage.s3', found an inline 'secret_access_key'",
		"secret_access_key_env: VARIABLE or secret_access_key_file:");
	refused("inline token", "notifications:\n  channels:\n    s:\n      type: statuspage\n      token: abc\n",
		"t.yml:5:7: expected a secret by reference in channel 's', found an inline 'token'", "token_env");
	refused("inline slack url", "notifications:\n  channels:\n    s:\n      type: slack\n      url: https://hooks/x\n",
		"t.yml:5:7: expected a secret by reference in channel 's', found an inline 'url'", "url_env");
	refused("inline key at job level", JOB_HEAD TARGETS DESTS "    key: abc\n",
		"t.yml:7:5: expected a secret by reference in job 'a', found an inline 'key'", "NAME_env");
	refused("inline passphrase", "encryption:\n  passphrase: abc\n",
		"t.yml:2:3: expected a secret by reference in 'encryption', found an inline 'passphrase'",
		"passphrase_env: VARIABLE");
	refused("password in conninfo", "databases:\n  app:\n    conninfo: \"host=x password=s3cret\"\n",
		"t.yml:3:15: expected a conninfo without a password for database 'app', found one in it", "password_file");
	refused("password in a conninfo URI", "databases:\n  app:\n    conninfo: postgresql://u:s3cret@h/app\n",
		"t.yml:3:15: expected a conninfo without a password for database 'app', found one in it", NULL);
	refused("secret pasted into _env", "databases:\n  app:\n    password_env: \"hunter2!\"\n",
		"t.yml:3:19: expected an environment variable name for password_env in database 'app', found something else",
		"not the secret itself");
	refused("both _env and _file", "databases:\n  app:\n    password_env: A\n    password_file: /x\n",
		"t.yml:4:20: expected one of password_env or password_file for database 'app', found both", NULL);
	refused("inline Authorization header", "notifications:\n  channels:\n    w:\n      type: webhook\n"
		"      url: https://x/\n      headers:\n        Authorization: Bearer abc\n",
		"t.yml:7:9: expected a secret by reference in channel 'w', found an inline 'Authorization' header",
		"token_env");
}

static void test_secret_resolve(void)
{
	struct ado_secret_ref ref = { 0 };
	struct ado_err e;
	char path[512], *val = NULL, red[128];

	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	write_file(path, "correct-horse\nsecond line\n", 0644);
	ref.file = path;
	ado_err_clear(&e);
	ok(ado_secret_resolve(&ref, "database 'app' password", 0, &val, &e) == -1, "a 0644 secret file is refused");
	is_int(e.kind, ADO_E_CONFIG, "kind CONFIG");
	like(e.msg, "is accessible by group or others (mode 0644)", "message gives the mode");
	like(e.msg, path, "message names the file");
	ok(!strstr(e.msg, "correct-horse"), "the secret is not in the message");
	{
		char want[600];

		snprintf(want, sizeof(want), "chmod 600 %s", path);
		is_str(e.hint, want, "hint: chmod 600 PATH");
	}
	ok(val == NULL, "no value on error");
	ok(ado_secret_resolve(&ref, "x", 1, &val, &e) == 0, "allow_open accepts it");
	ado_secret_free(val);
	val = NULL;

	chmod(path, 0600);
	ok(ado_secret_resolve(&ref, "database 'app' password", 0, &val, &e) == 0, "a 0600 secret file is accepted");
	is_str(val, "correct-horse", "first line, newline stripped");
	ado_log_redact_copy(red, sizeof(red), "auth with correct-horse failed");
	is_str(red, "auth with <redacted> failed", "the value is registered for redaction");
	ado_secret_free(val);
	val = NULL;

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	ok(ado_secret_resolve(&ref, "token", 0, &val, &e) == -1, "a missing secret file is refused");
	is_int(e.kind, ADO_E_CONFIG, "missing file: kind CONFIG");
	is_int(e.sys_errno, ENOENT, "missing file: ENOENT");
	like(e.msg, "token: cannot open secret file '", "missing file: message");

	ref.file = NULL;
	ref.env = "T_CONFIG_SECRET";
	setenv("T_CONFIG_SECRET", "from-the-env", 1);
	ok(ado_secret_resolve(&ref, "token", 0, &val, &e) == 0, "env reference resolves");
	is_str(val, "from-the-env", "env value");
	ado_secret_free(val);
	val = NULL;
	unsetenv("T_CONFIG_SECRET");
	ok(ado_secret_resolve(&ref, "slack url", 0, &val, &e) == -1, "an unset variable is refused");
	is_str(e.msg, "slack url: environment variable 'T_CONFIG_SECRET' is not set", "unset variable message");
	like(e.hint, "export T_CONFIG_SECRET", "unset variable hint");

	ref.env = NULL;
	ok(ado_secret_resolve(&ref, "token", 0, &val, &e) == -1, "an empty reference is refused");
	is_str(e.msg, "token: no secret configured", "empty reference message");
	ado_secret_free(NULL);
	ado_log_redact_clear();
}

static void test_env_and_path(void)
{
	struct ado_config *c;
	struct ado_err e;

	setenv("ADO_STATE_DIR", "/tmp/ado-state", 1);
	setenv("ADO_KEY_FILE", "/tmp/ado.key", 1);
	c = load("state_dir: /srv/ado\nencryption:\n  passphrase_env: MY_PASS\n", &e);
	if (ok(c != NULL, "config with state_dir and passphrase_env loads")) {
		is_str(c->state_dir, "/tmp/ado-state", "ADO_STATE_DIR overrides state_dir");
		is_str(c->key_file, "/tmp/ado.key", "ADO_KEY_FILE overrides");
		is_str(c->passphrase_env, "MY_PASS", "passphrase_env kept as written");
	}
	ado_config_free(c);
	c = ado_config_new_empty();
	ok(c && !strcmp(c->state_dir, "/tmp/ado-state") && !strcmp(c->key_file, "/tmp/ado.key"),
	   "the empty config takes the environment too");
	ado_config_free(c);
	unsetenv("ADO_STATE_DIR");
	unsetenv("ADO_KEY_FILE");
	c = ado_config_new_empty();
	ok(c && !strcmp(c->state_dir, ADO_DEFAULT_STATE_DIR) && !c->key_file &&
	   !strcmp(c->passphrase_env, "ADO_PASSPHRASE") && c->notify_timeout == 60 && c->njobs == 0,
	   "the empty config has the documented defaults");
	ado_config_free(c);
	ado_config_free(NULL);

	c = load("encryption:\n  key_file: /k\n  passphrase_env: P\n", &e);
	ok(!c, "key_file and passphrase_env together are refused");
	is_str(e.msg, "t.yml:3:19: expected one of key_file or passphrase_env in 'encryption', found both",
	       "both key sources: message");

	setenv("ADO_CONFIG", "/env/ado.yml", 1);
	is_str(ado_config_path("/opt/x.yml"), "/opt/x.yml", "-c wins");
	is_str(ado_config_path(NULL), "/env/ado.yml", "then ADO_CONFIG");
	setenv("ADO_CONFIG", "", 1);
	is_str(ado_config_path(NULL), ADO_DEFAULT_CONFIG, "an empty ADO_CONFIG is ignored");
	unsetenv("ADO_CONFIG");
	is_str(ado_config_path(NULL), ADO_DEFAULT_CONFIG, "then the default");
}

static void test_structure(void)
{
	refused("duplicate job key", JOB_HEAD TARGETS DESTS "    retention: 30 days\n    retention: 1 day\n",
		"t.yml:8:5: expected each key once in job 'a', found 'retention' again (first at line 7)", NULL);
	refused("duplicate job name", JOB_HEAD TARGETS DESTS "  a:\n" TARGETS DESTS,
		"t.yml:7:3: expected each name once in 'backup_jobs', found 'a' again (first at line 2)", NULL);
	refused("missing targets", JOB_HEAD DESTS, "t.yml:2:3: expected 'targets' in job 'a', found none", NULL);
	refused("empty targets", JOB_HEAD "    targets: []\n" DESTS,
		"t.yml:3:14: expected at least one target in job 'a', found an empty list", NULL);
	refused("missing destinations", JOB_HEAD TARGETS,
		"t.yml:2:3: expected 'destinations' in job 'a', found none", NULL);
	refused("empty tables", JOB_HEAD "    targets:\n      - database: x\n        tables: []\n" DESTS,
		"t.yml:5:17: expected at least one item in 'tables', found an empty list", NULL);
	refused("same explicit target name", JOB_HEAD "    targets:\n      - files: /a\n        name: t\n"
		"      - files: /b\n        name: t\n" DESTS,
		"t.yml:7:15: expected a target name unique in job 'a', found 't' twice", NULL);
}

static void test_file_errors(void)
{
	struct ado_config *c = NULL;
	struct ado_err e;
	char path[512], buf[1400];

	snprintf(path, sizeof(path), "%s/nope.yml", tmpdir);
	ado_err_clear(&e);
	ok(ado_config_load(path, &c, &e) == -1, "a missing config is an error");
	is_int(e.kind, ADO_E_NOTFOUND, "missing config: NOTFOUND");
	{
		char want[700];

		snprintf(want, sizeof(want), "cannot open config '%s': No such file or directory", path);
		is_str(ado_err_str(&e, buf, sizeof(buf)), want, "missing config: message");
	}
	like(e.hint, "-c", "hint names -c");
	like(e.hint, "ADO_CONFIG", "hint names ADO_CONFIG");

	snprintf(path, sizeof(path), "%s/bad.yml", tmpdir);
	write_file(path, "backup_jobs:\n  a:\n    schedul: x\n", 0644);
	ok(ado_config_load(path, &c, &e) == -1, "a file with an unknown key is refused");
	{
		char want[700];

		snprintf(want, sizeof(want), "%s:3:5: expected one of", path);
		ok(strncmp(e.msg, want, strlen(want)) == 0, "errors from a file carry its path, line and column");
	}
	ok(ado_config_load(tmpdir, &c, &e) == -1 && e.kind == ADO_E_IO && e.sys_errno == EISDIR,
	   "a folder is refused with EISDIR");
}

static void test_durations(void)
{
	static const struct {
		const char *s;
		long long v;
	} good[] = { { "30 days", 2592000 },  { "7 years", 220752000 }, { "15 minutes", 900 }, { "24h", 86400 },
		     { "90d", 7776000 },      { "1 week", 604800 },	 { "2h30m", 9000 },	 { "45s", 45 },
		     { "1 month", 2592000 },  { " 1h, 30m ", 5400 },	 { "1 HOUR", 3600 },	 { "0s", 0 } };
	static const struct {
		const char *s, *hint;
	} bad[] = { { "thirty days", "a number followed by a unit" },
		    { "30", "a unit is required" },
		    { "-5 days", "cannot be negative" },
		    { "1.5h", "whole numbers" },
		    { "5 fortnights", "units are" },
		    { "", "a number followed by a unit" },
		    { "99999999999999999999s", "too large" },
		    { "999999999999 years", "too long" } };
	char buf[64], want[128];
	struct ado_err e;
	long long v;
	enum ado_compression comp;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		ok(ado_duration_parse(good[i].s, &v, &e) == 0 && v == good[i].v, "'%s' = %lld s", good[i].s, good[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ado_err_clear(&e);
		ok(ado_duration_parse(bad[i].s, &v, &e) == -1 && e.kind == ADO_E_CONFIG, "'%s' is refused", bad[i].s);
		snprintf(want, sizeof(want), "expected a duration like '30 days' or '24h', found '%s'", bad[i].s);
		is_str(e.msg, want, "'%s': message names the text", bad[i].s);
		like(e.hint, bad[i].hint, "'%s': hint says why", bad[i].s);
	}
	ado_duration_format(900, buf, sizeof(buf));
	is_str(buf, "15m", "format 900");
	ado_duration_format(5400, buf, sizeof(buf));
	is_str(buf, "1h30m", "format 5400");
	ado_duration_format(30LL * 86400, buf, sizeof(buf));
	is_str(buf, "30d", "format 30 days");
	ado_duration_format(7LL * 365 * 86400, buf, sizeof(buf));
	is_str(buf, "7y", "format 7 years");
	ado_duration_format(0, buf, sizeof(buf));
	is_str(buf, "0s", "format 0");
	ado_duration_format(90061, buf, sizeof(buf));
	is_str(buf, "1d1h1m1s", "format mixed");
	ado_duration_format(90061, buf, 4);
	is_str(buf, "1d1", "format truncates safely");

	is_str(ado_compression_name(ADO_COMP_ZSTD), "zstd", "name zstd");
	is_str(ado_compression_ext(ADO_COMP_GZIP), ".gz", "ext .gz");
	is_str(ado_compression_ext(ADO_COMP_LZ4), ".lz4", "ext .lz4");
	is_str(ado_compression_ext(ADO_COMP_ZSTD), ".zst", "ext .zst");
	is_str(ado_compression_ext(ADO_COMP_NONE), "", "ext none");
	ok(ado_compression_parse("LZ4", &comp) == 0 && comp == ADO_COMP_LZ4, "parse LZ4");
	ok(ado_compression_parse("bzip2", &comp) == -1, "parse bzip2 fails");
}

int main(void)
{
	char path[600];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_plan_file();
	test_full_example();
	test_syntax();
	test_unknown_keys();
	test_values();
	test_secrets_inline();
	test_secret_resolve();
	test_env_and_path();
	test_structure();
	test_file_errors();
	test_durations();
	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bad.yml", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return done_testing();
}
