/* ado-restore - list backups and bring one back: files into a folder, a
 * database under its name or another, or one artifact's plaintext to stdout.
 * Thin: options -> config -> select -> one lib call -> exit status. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ado.h"
#include "job/cli.h"
#include "config/config.h"
#include "job/dbrestore.h"
#include "job/listing.h"
#include "base/json.h"
#include "base/log.h"
#include "job/repo.h"
#include "job/restore.h"
#include "job/runlog.h"
#include "base/sig.h"
#include "restore.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ado-restore [-c FILE] --list [--job JOB] [--from DEST] [--since DURATION] [--last N]\n"
		"                   [--target NAME] [--json]\n"
		"       ado-restore [-c FILE] --job JOB [--backup ID|latest] [--before TIME] [--target NAME]\n"
		"                   (--to-dir DIR | --to-database NAME) [--force] [--dry-run]\n"
		"       ado-restore [-c FILE] --job JOB --job JOB... --target DB [--before TIME]\n"
		"                   [--to-database NAME] [--force] [--dry-run]\n"
		"       ado-restore [-c FILE] REF [--target NAME] (--to-dir DIR | ...)\n"
		"       ado-restore [-c FILE] --cat REF ARTIFACT > FILE\n"
		"       ado-restore [-c FILE] --job JOB [--backup ID] --from DEST --thaw [--days N] [--tier T]\n"
		"\n"
		"  -c, --config FILE    config (default $ADO_CONFIG, else " ADO_DEFAULT_CONFIG ")\n"
		"  -l, --list           list backups, newest first: reference, id, time, stored bytes, status,\n"
		"                       missing targets, targets, duration, verified\n"
		"      --since DURATION --list: only backups taken within DURATION ('2 days', '6h')\n"
		"      --last N         --list: only the N newest backups per job and destination\n"
		"  -j, --job JOB        the job whose backup to restore; repeated: one database\n"
		"                       rebuilt from each job's newest backup of it (its parts)\n"
		"  -b, --backup ID      a backup id, or 'latest' (default)\n"
		"      --before TIME    the newest backup at or before TIME: '2026-11-25 22:15' (local time),\n"
		"                       '2026-11-25T22:15:00Z', '...+01:00', '2 hours ago'\n"
		"  -t, --target NAME    which target: its name (files-etc-ado-config), path or database;\n"
		"                       with --list, only the backups holding it\n"
		"  -d, --to-dir DIR     restore files into DIR (refused if DIR is not empty, unless --force)\n"
		"      --to-database NAME  restore a database under NAME, swapping nothing\n"
		"      --tables A,B     restore only these tables\n"
		"  -J, --jobs N         parallel pg_restore jobs\n"
		"      --tmp-dir DIR    where a database's plaintext dump waits for pg_restore -J\n"
		"                       or a rebuild from several jobs (default $TMPDIR, else /tmp)\n"
		"  -f, --force          replace a non-empty DIR or a live database (the old one is moved\n"
		"                       aside, named by the restore's time) / end sessions blocking a swap\n"
		"  -n, --dry-run        print the steps, change nothing\n"
		"      --cat REF ARTIFACT  write one artifact's plaintext to stdout (break-glass)\n"
		"      --from DEST      restore from this destination of the job only; with --list,\n"
		"                       list only it (the other destinations are not contacted)\n"
		"      --thaw           archive tiers: request the backup's artifacts (RestoreObject)\n"
		"      --days N         keep the thawed copies N days (default 7)\n"
		"      --tier T         Standard (default), Bulk or Expedited\n"
		"      --wait           wait (bounded) until the artifacts are readable, then restore\n"
		"      --json           --list as JSON lines; a restore's result as one JSON object\n"
		"      --progress, --no-progress  a progress line on stderr (default: when a terminal)\n"
		"  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n"
		"\n"
		"Exit: 0 restored (or --thaw requested), 1 failed (the previous state is intact),\n"
		"2 usage or config error, 6 the backup is archived: request it with --thaw.\n"
		"See ado-restore(1).\n");
}

int json_out;

/* --list: the rows, newest first, as text lines or JSON records */
static int list_backups(const struct ado_config *cfg, const struct ado_list_opts *lo)
{
	struct ado_list_row *rows = NULL;
	struct ado_buf buf;
	struct ado_err e;
	size_t n = 0;
	int rc;

	ado_err_clear(&e);
	rc = ado_list_collect(cfg, lo, &rows, &n, &e);
	if (rc < 0) {
		ado_log_err(&e);
		return e.kind == ADO_E_USAGE ? ADO_EXIT_USAGE : ADO_EXIT_FAIL;
	}
	ado_buf_init(&buf);
	if (!json_out)
		ado_list_text_header(&buf);
	for (size_t i = 0; i < n; i++) {
		if (json_out) {
			ado_list_json(&rows[i], &buf);
			ado_buf_puts(&buf, "\n");
		} else {
			ado_list_text(&rows[i], &buf);
		}
	}
	if (buf.data)
		fputs(buf.data, stdout);
	ado_buf_free(&buf);
	ado_list_free(rows, n);
	free(rows);
	/* a destination that could not be listed was a warning: the others were listed */
	return rc > 0 ? ADO_EXIT_PARTIAL : ADO_EXIT_OK;
}

/* --wait: a progress line on a terminal only */
static void progress(void *arg, size_t ready, size_t total)
{
	if (!isatty(2))
		return;
	fprintf(stderr, "\rado-restore: waiting for the archive: %zu of %zu artifacts readable ", ready, total);
	if (ready == total)
		fputc('\n', stderr);
	fflush(stderr);
}

static long env_seconds(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v && atol(v) > 0 ? atol(v) : dflt;
}


/* The steps go to stdout, or to stderr when stdout carries --json. */
static struct ado_meter *meter;	/* progress of a files restore; NULL: none */

static void show_progress(void *arg, const char *text)
{
	fputs(text, stderr);
	fflush(stderr);
}

void say(void *arg, const char *msg)
{
	FILE *f = json_out ? stderr : stdout;

	fprintf(f, "%s\n", msg);
	fflush(f);
}

/* Without --force, replacing a live database asks on a terminal, as a
 * person would be asked before a folder is replaced; anything else is no. */
int confirm(void *arg, const char *question)
{
	char line[16];

	if (!isatty(0) || !isatty(2))
		return 0;
	fprintf(stderr, "ado-restore: %s [y/N] ", question);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

static const char *tmp_dir;	/* --tmp-dir, or NULL for $TMPDIR / /tmp */

struct ado_db_restore_opts db_opts(const char *to_db, int pjobs, int force, int dry, char *aside, size_t len)
{
	struct ado_db_restore_opts o = { 0 };

	o.tmp_dir = tmp_dir;
	o.to_database = to_db;
	o.jobs = pjobs;
	o.force = force;
	o.dry_run = dry;
	o.say = say;
	o.confirm = confirm;
	o.aside_out = aside;
	o.aside_len = len;
	return o;
}

/* --json: what was restored, from which backup, to where. */
static void report_json(const struct ado_store *s, const struct ado_manifest *m, const struct ado_artifact *a,
			const char *dest, const char *aside, int dry)
{
	struct ado_buf buf;
	struct ado_json j;
	char ts[32];
	struct tm tm;
	time_t t = m->started ? m->started : ado_backup_id_time(m->id);

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	ado_buf_init(&buf);
	ado_json_init(&j, &buf, 0);
	ado_json_obj_begin(&j, NULL);
	ado_json_kstr(&j, "type", "restore");
	ado_json_kstr(&j, "status", dry ? "dry_run" : "restored");
	ado_json_kstr(&j, "job", m->job);
	ado_json_kstr(&j, "id", m->id);
	ado_json_kstr(&j, "time", ts);
	ado_json_kstr(&j, "destination", s->url);
	ado_json_kstr(&j, "target", a->target);
	ado_json_kstr(&j, "restored_to", dest);
	if (aside && *aside)
		ado_json_kstr(&j, "moved_aside", aside);
	else
		ado_json_knull(&j, "moved_aside");
	ado_json_obj_end(&j);
	printf("%s\n", buf.data ? buf.data : "{}");
	ado_buf_free(&buf);
}

/* Restore the picked artifact: files into to_dir, a database by swap or under to_db. */
static int restore_one(const struct ado_config *cfg, struct ado_store *s, const struct ado_manifest *m,
		       const struct ado_artifact *pick, struct ado_keyring *k, const char *to_dir, const char *to_db,
		       char **tables, size_t ntables, int pjobs, int force, int dry, struct ado_err *e)
{
	/* what verify checks first, restore checks too: the two must agree */
	if (ado_repo_check_sums(s, m, e) < 0)
		return -1;
	char aside[4096] = "";
	int rc;

	if (strcmp(pick->kind, "files") == 0) {
		struct ado_files_restore_opts fo = { force, dry, say, NULL, aside, sizeof(aside), meter };
		rc = ado_restore_files(s, m, pick, k, to_dir, &fo, e);
		if (rc == 0 && json_out)
			report_json(s, m, pick, to_dir, aside, dry);
		return rc;
	} else {
		struct ado_db_restore_opts dbo = db_opts(to_db, pjobs, force, dry, aside, sizeof(aside));
		dbo.tables = tables;
		dbo.ntables = ntables;
		rc = ado_pg_restore_artifact(cfg, s, m, pick, k, &dbo, e);
		if (rc == 0 && json_out)
			report_json(s, m, pick, to_db ? to_db : pick->source, aside, dry);
		return rc;
	}
}

int main(int argc, char **argv)
{
	enum { O_BEFORE = 256, O_TODB, O_TABLES, O_CAT, O_JSON, O_FROM, O_THAW, O_DAYS, O_TIER, O_WAIT, O_PROGRESS,
	       O_NO_PROGRESS, O_SINCE, O_LAST, O_TMPDIR };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "list", no_argument, NULL, 'l' },
		{ "job", required_argument, NULL, 'j' },    { "backup", required_argument, NULL, 'b' },
		{ "before", required_argument, NULL, O_BEFORE }, { "target", required_argument, NULL, 't' },
		{ "to-dir", required_argument, NULL, 'd' }, { "to-database", required_argument, NULL, O_TODB },
		{ "tables", required_argument, NULL, O_TABLES }, { "jobs", required_argument, NULL, 'J' },
		{ "force", no_argument, NULL, 'f' },	    { "dry-run", no_argument, NULL, 'n' },
		{ "cat", no_argument, NULL, O_CAT },	    { "json", no_argument, NULL, O_JSON },
		{ "from", required_argument, NULL, O_FROM }, { "thaw", no_argument, NULL, O_THAW },
		{ "days", required_argument, NULL, O_DAYS }, { "tier", required_argument, NULL, O_TIER },
		{ "wait", no_argument, NULL, O_WAIT },
		{ "since", required_argument, NULL, O_SINCE }, { "last", required_argument, NULL, O_LAST },
		{ "tmp-dir", required_argument, NULL, O_TMPDIR },
		{ "progress", no_argument, NULL, O_PROGRESS }, { "no-progress", no_argument, NULL, O_NO_PROGRESS },
		{ "quiet", no_argument, NULL, 'q' },	    { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },	    { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ado_config *cfg = NULL;
	struct ado_keyring *k = NULL;
	struct ado_store *s = NULL;
	struct ado_manifest *m = NULL;
	struct ado_err e;
	const char *cfgopt = NULL, *job = NULL, *backup = NULL, *before_s = NULL, *target = NULL, *to_dir = NULL,
		   *to_db = NULL, *tables_s = NULL, *from = NULL, *tier = "Standard";
	char *jobname = NULL, *id = NULL, **tables = NULL, *jobs[32];
	size_t ntables = 0, njobs = 0;
	time_t before = 0;
	int list = 0, cat = 0, force = 0, dry = 0, pjobs = 0, thaw = 0, wait = 0, days = 7, ch, status = ADO_EXIT_USAGE;
	int want_progress = -1;
	int record = 0;	/* past the usage checks: this run leaves a run record */
	const char *since_s = NULL, *last_s = NULL;
	struct ado_list_opts lo = { 0 };
	const struct ado_artifact *picked = NULL;
	struct timespec t0;

	ado_log_init("ado-restore");
	ado_err_clear(&e);
	while ((ch = getopt_long(argc, argv, "c:lj:b:t:d:J:fnqvhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgopt = optarg; break;
		case 'l': list = 1; break;
		case 'j':
			if (njobs == sizeof(jobs) / sizeof(jobs[0])) {
				ado_error("--job: too many jobs");
				return ADO_EXIT_USAGE;
			}
			jobs[njobs++] = optarg;
			job = jobs[0];
			break;
		case 'b': backup = optarg; break;
		case O_BEFORE: before_s = optarg; break;
		case O_SINCE: since_s = optarg; break;
		case O_LAST: last_s = optarg; break;
		case O_TMPDIR: {
			struct stat sb;
			int err = stat(optarg, &sb) < 0 ? errno : 0;
			if (err || !S_ISDIR(sb.st_mode)) {
				ado_error("--tmp-dir: '%s' is not a folder%s%s", optarg, err ? ": " : "", err ? strerror(err) : "");
				ado_hint("give a folder with room for the database's plaintext dump");
				return ADO_EXIT_USAGE;
			}
			tmp_dir = optarg;
			break;
		}
		case O_PROGRESS: want_progress = 1; break;
		case O_NO_PROGRESS: want_progress = 0; break;
		case 't': target = optarg; break;
		case 'd': to_dir = optarg; break;
		case O_TODB: to_db = optarg; break;
		case O_TABLES: tables_s = optarg; break;
		case 'J': pjobs = atoi(optarg); if (pjobs < 1) { ado_error("--jobs: expected a number >= 1, found '%s'", optarg); return ADO_EXIT_USAGE; } break;
		case 'f': force = 1; break;
		case 'n': dry = 1; break;
		case O_CAT: cat = 1; break;
		case O_JSON: json_out = 1; break;
		case O_FROM: from = optarg; break;
		case O_THAW: thaw = 1; break;
		case O_WAIT: wait = 1; break;
		case O_DAYS: days = atoi(optarg); if (days < 1 || days > 365) { ado_error("--days: expected 1 to 365, found '%s'", optarg); return ADO_EXIT_USAGE; } break;
		case O_TIER:
			tier = optarg;
			if (strcmp(tier, "Standard") && strcmp(tier, "Bulk") && strcmp(tier, "Expedited")) {
				ado_error("--tier: expected Standard, Bulk or Expedited, found '%s'", optarg);
				return ADO_EXIT_USAGE;
			}
			break;
		case 'q': ado_log_set_level(ADO_LOG_ERROR); break;
		case 'v': ado_log_set_level(ADO_LOG_INFO); break;
		case 'h': usage(stdout); return ADO_EXIT_OK;
		case 'V': fputs(ADO_VERSION_TEXT("ado-restore"), stdout); return ADO_EXIT_OK;
		default: usage(stderr); return ADO_EXIT_USAGE;
		}
	}
	umask(077);
	if (before_s && ado_parse_time(before_s, &before, &e) < 0) {
		ado_log_err(&e);
		return ADO_EXIT_USAGE;
	}
	if (njobs > 1 && !list) {
		/* one database from several jobs: only the options that fit it */
		const char *bad = optind < argc ? "a reference" : to_dir ? "--to-dir" : tables_s ? "--tables" : cat ? "--cat"
				  : thaw || wait ? "--thaw/--wait" : from ? "--from"
				  : backup && strcmp(backup, "latest") != 0 ? "--backup ID" : NULL;
		if (bad) {
			ado_error("%s does not apply to a database rebuilt from several jobs", bad);
			ado_hint("each job's newest complete backup of the database is used (--before TIME for older ones)");
			return ADO_EXIT_USAGE;
		}
		if (!target) {
			ado_error("several jobs make one database: give --target DATABASE");
			return ADO_EXIT_USAGE;
		}
		if (ado_cli_config(cfgopt, 1, &cfg, &e) < 0 || ado_cli_keyring(cfg, 0, &k, &e) < 0) {
			ado_log_err(&e);
			goto out;
		}
		ado_sig_install();
		status = restore_parts(cfg, jobs, njobs, before, target, to_db, pjobs, force, dry, k);
		goto out;
	}
	if ((since_s || last_s) && !list) {
		ado_error("%s applies to --list only", since_s ? "--since" : "--last");
		return ADO_EXIT_USAGE;
	}
	if (list) {
		if (since_s) {
			long long secs;
			if (ado_duration_parse(since_s, &secs, &e) < 0) {
				ado_error("--since: expected a duration ('2 days', '6h'), found '%s'", since_s);
				return ADO_EXIT_USAGE;
			}
			lo.since = time(NULL) - (time_t)secs;
		}
		if (last_s) {
			char *end;
			errno = 0;
			lo.last = strtol(last_s, &end, 10);
			if (errno || end == last_s || *end || lo.last < 1) {
				ado_error("--last: expected a number >= 1, found '%s'", last_s);
				return ADO_EXIT_USAGE;
			}
		}
		if (njobs > 1) {
			ado_error("--list takes one --job");
			return ADO_EXIT_USAGE;
		}
		if (optind < argc || to_dir || cat) {
			ado_error("--list takes no reference and no restore options");
			return ADO_EXIT_USAGE;
		}
		if (ado_cli_config(cfgopt, 1, &cfg, &e) < 0) {
			ado_log_err(&e);
			return ADO_EXIT_USAGE;
		}
		lo.job = job;
		lo.target = target;
		lo.from = from;
		status = list_backups(cfg, &lo);
		goto out;
	}
	if (cat) {
		if (argc - optind != 2) {
			ado_error("--cat needs a reference and an artifact name");
			ado_hint("ado-restore --cat /backup/critical/critical_data/20261125T221500Z db-ado_primary.pgdump.zst.enc | pg_restore -d NEWDB");
			return ADO_EXIT_USAGE;
		}
		if (isatty(1)) {
			ado_error("refusing to write an artifact to a terminal");
			ado_hint("redirect stdout to a file or pipe it into tar or pg_restore");
			return ADO_EXIT_USAGE;
		}
	} else if (optind < argc) {
		if (argc - optind != 1 || job) {
			ado_error("give one reference, or --job JOB");
			return ADO_EXIT_USAGE;
		}
	} else if (!job) {
		ado_error("nothing to restore");
		ado_hint("--job JOB [--backup ID] --to-dir DIR, a reference, or --list to see the backups");
		return ADO_EXIT_USAGE;
	}
	if (from && !job) {
		ado_error("--from picks a destination of --job JOB; a reference already names its destination");
		return ADO_EXIT_USAGE;
	}
	if (!cat && !to_dir && !to_db && !target && !(thaw && !wait)) {
		ado_error("where to? give --to-dir DIR for files, or --target DATABASE / --to-database NAME");
		return ADO_EXIT_USAGE;
	}
	if (tables_s) {
		char *dup = strdup(tables_s), *save = NULL;
		tables = calloc(strlen(tables_s) + 1, sizeof(*tables));
		for (char *t = strtok_r(dup, ",", &save); t && tables; t = strtok_r(NULL, ",", &save))
			tables[ntables++] = strdup(t);
		free(dup);
	}
	if (ado_cli_config(cfgopt, job != NULL, &cfg, &e) < 0 || ado_cli_keyring(cfg, 0, &k, &e) < 0) {
		ado_log_err(&e);
		goto out;
	}
	ado_sig_install();
	status = ADO_EXIT_FAIL;
	record = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (job) {
		if (ado_restore_select(cfg, job, backup, before, target, from, k, &s, &id, &e) < 0) {
			ado_log_err(&e);
			status = e.kind == ADO_E_USAGE ? ADO_EXIT_USAGE : ADO_EXIT_FAIL;
			goto out;
		}
		jobname = strdup(job);
		if (!cat && !thaw) {
			/* with --json, stdout carries the one JSON object */
			fprintf(json_out ? stderr : stdout, "using the copy at '%s'\n", s->url);
			fflush(json_out ? stderr : stdout);
		}
	} else if (ado_ref_parse(argv[optind], cfg, &s, &jobname, &id, &e) < 0) {
		/* a reference that names nothing is a usage error (2), as in
		 * ado-verify; a destination that could not be asked keeps its kind */
		ado_log_err(&e);
		status = ado_err_exit(e.kind);
		goto out;
	}
	if (ado_repo_manifest(s, jobname, id, k, ado_repo_auth_required(cfg, jobname, k), &m, NULL, &e) < 0) {
		ado_log_err(&e);
		goto out;
	}
	if (m->encrypted && !k) {
		ado_error("backup '%s/%s' is encrypted and no key is configured", jobname, id);
		ado_hint("set key_file in the config, ADO_KEY_FILE or ADO_PASSPHRASE");
		status = ADO_EXIT_USAGE;
		goto out;
	}
	if (thaw || wait) {
		if (thaw) {
			int n = ado_repo_thaw(s, m, target, days, tier, &e);
			char *ref = ado_ref_make(s, jobname, id);
			if (n < 0) {
				ado_log_err(&e);
				free(ref);
				goto out;
			}
			if (n == 0)
				printf("%s: every artifact is readable: nothing to request\n", ref ? ref : id);
			else
				printf("%s: requested %d artifact%s from the archive for %d days (tier %s)\n", ref ? ref : id, n,
				       n == 1 ? "" : "s", days, tier);
			fflush(stdout);
			free(ref);
			if (!wait) {
				status = ADO_EXIT_OK;
				goto out;
			}
		}
		if (ado_repo_wait_readable(s, m, target, env_seconds("ADO_THAW_WAIT_MAX", 48 * 3600),
					   env_seconds("ADO_THAW_POLL_INTERVAL", 300), progress, NULL, &e) < 0) {
			ado_log_err(&e);
			status = e.kind == ADO_E_ARCHIVED ? ADO_EXIT_ARCHIVED : ADO_EXIT_FAIL;
			goto out;
		}
	} else if (!cat && ado_repo_check_readable(cfg, s, m, target, &e) < 0) {
		/* archived here: the next destination's copy may be online */
		struct ado_store *next = NULL;
		struct ado_manifest *m2 = NULL;
		if (e.kind != ADO_E_ARCHIVED || !job || from || !ado_restore_next_copy(cfg, jobname, id, s->url, &next) ||
		    ado_repo_manifest(next, jobname, id, k, ado_repo_auth_required(cfg, jobname, k), &m2, NULL, NULL) < 0) {
			ado_log_err(&e);
			status = e.kind == ADO_E_ARCHIVED ? ADO_EXIT_ARCHIVED : ADO_EXIT_FAIL;
			ado_store_free(next);
			goto out;
		}
		ado_warn("the copy at '%s' is archived; using the copy at '%s'", s->url, next->url);
		ado_manifest_free(m);
		ado_store_free(s);
		m = m2;
		s = next;
	}
	if (cat) {
		if (ado_restore_cat(s, m, argv[optind + 1], k, 1, &e) < 0) {
			/* the reader went away (| head): quiet, as if SIGPIPE had ended us */
			if (e.sys_errno == EPIPE) {
				status = 128 + SIGPIPE;
				goto out;
			}
			ado_log_err(&e);
			goto out;
		}
		status = ADO_EXIT_OK;
		goto out;
	}
	{
		const struct ado_artifact *pick = NULL;
		size_t candidates = 0;
		char names[1024] = "";
		for (size_t i = 0; i < m->nartifacts; i++) {
			const struct ado_artifact *a = &m->artifacts[i];
			if (strcmp(a->kind, "files-index") == 0)
				continue;
			if (!target && to_dir && strcmp(a->kind, "files") != 0)
				continue;
			if (!target && !to_dir && strcmp(a->kind, "database") != 0)
				continue;
			strncat(names, candidates ? ", " : "", sizeof(names) - strlen(names) - 1);
			strncat(names, a->target, sizeof(names) - strlen(names) - 1);
			if (ado_artifact_matches(a, target)) {
				pick = picked = a;
				candidates++;
			}
		}
		if (!pick || (!target && candidates > 1)) {
			ado_error(!pick ? "backup '%s/%s' has no such target" : "backup '%s/%s' has several targets: say which",
				  jobname, id);
			ado_hint("--target NAME; its targets: %s", *names ? names : "(none of that kind)");
			status = ADO_EXIT_USAGE;
			goto out;
		}
		/* options that do not fit the target are usage errors, before anything is touched */
		if (strcmp(pick->kind, "files") == 0 && !to_dir) {
			ado_error("target '%s' holds files: give --to-dir DIR", pick->target);
			status = ADO_EXIT_USAGE;
			goto out;
		}
		if (strcmp(pick->kind, "files") == 0 && (to_db || tables || pjobs)) {
			ado_error("target '%s' holds files: %s applies to databases only", pick->target,
				  to_db ? "--to-database" : tables ? "--tables" : "--jobs");
			status = ADO_EXIT_USAGE;
			goto out;
		}
		if (strcmp(pick->kind, "database") == 0 && to_dir) {
			ado_error("target '%s' is a database: --to-dir applies to files only", pick->target);
			ado_hint("--target %s replaces the database (with --force), --to-database NAME restores beside it",
				 pick->source);
			status = ADO_EXIT_USAGE;
			goto out;
		}
		if (!dry)
			meter = ado_cli_meter(want_progress, show_progress, NULL);
		/* A copy that fails its checks leaves everything as it was; with
		 * --job, the same backup on the job's next destination is tried. */
		for (;;) {
			struct ado_store *next = NULL;
			struct ado_manifest *m2 = NULL;
			const struct ado_artifact *p2;
			int rc = restore_one(cfg, s, m, pick, k, to_dir, to_db, tables, ntables, pjobs, force, dry, &e);
			if (rc == 0)
				break;
			if (!job || from || !ado_restore_copy_damaged(&e) ||
			    !ado_restore_next_copy(cfg, jobname, id, s->url, &next)) {
				ado_log_err(&e);
				status = e.kind == ADO_E_INTERRUPTED ? ado_sig_exit(ado_interrupted())
					 : e.kind == ADO_E_ARCHIVED ? ADO_EXIT_ARCHIVED
								     : (ado_err_exit(e.kind) == 2 ? 2 : ADO_EXIT_FAIL);
				goto out;
			}
			ado_log_err(&e);
			ado_warn("the copy at '%s' failed its checks; trying the copy at '%s'", s->url, next->url);
			if (ado_repo_manifest(next, jobname, id, k, ado_repo_auth_required(cfg, jobname, k), &m2, NULL, &e) < 0 ||
			    !(p2 = ado_manifest_find(m2, pick->name))) {
				if (m2)
					ado_err_set(&e, ADO_E_INTEGRITY, 0, "the copy at '%s' lacks '%s'", next->url, pick->name);
				ado_log_err(&e);
				ado_manifest_free(m2);
				ado_store_free(next);
				goto out;
			}
			ado_manifest_free(m);
			ado_store_free(s);
			m = m2;
			s = next;
			pick = picked = p2;
		}
	}
	status = ADO_EXIT_OK;
out:
	ado_meter_free(meter);
	if (record) {
		struct ado_restore_run rr = { 0 };
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		rr.mode = cat ? "cat" : thaw && !wait ? "thaw" : to_dir ? "files" : "database";
		rr.job = jobname;
		rr.id = id;
		rr.destination = s ? s->url : NULL;
		rr.target = picked ? picked->target : cat && optind + 1 < argc ? argv[optind + 1] : target;
		rr.to = to_dir ? to_dir : to_db ? to_db : picked && !cat ? picked->source : NULL;
		rr.dry_run = dry;
		rr.status = status;
		rr.reason = e.msg;
		rr.bytes = status == 0 && picked && !dry ? picked->plain_size : 0;
		rr.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		ado_run_restore_record(cfg, &rr);
	}
	for (size_t i = 0; i < ntables; i++)
		free(tables[i]);
	free(tables);
	ado_manifest_free(m);
	ado_store_free(s);
	free(jobname);
	free(id);
	ado_keyring_free(k);
	ado_config_free(cfg);
	ado_log_redact_clear();
	return status;
}
