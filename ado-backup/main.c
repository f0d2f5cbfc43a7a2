/* ado-backup - run backup jobs from backup-strategy.yml.
 * Thin: options -> config -> ado_backup_run per job -> exit status. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ado.h"
#include "job/backup.h"
#include "job/check.h"
#include "job/cli.h"
#include "job/schedule.h"
#include "job/metrics.h"
#include "job/runlog.h"
#include "config/config.h"
#include "format/crypt.h"
#include "base/log.h"
#include "base/sig.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ado-backup [-c FILE] [options] JOB...\n"
		"       ado-backup [-c FILE] --all\n"
		"       ado-backup [-c FILE] --crontab | --install-crontab [--user USER]\n"
		"       ado-backup [-c FILE] --systemd JOB\n"
		"       ado-backup [-c FILE] --check [JOB...]\n"
		"       ado-backup [-c FILE] --prune [--dry-run] [JOB...]\n"
		"\n"
		"Back up the targets of each JOB (files and PostgreSQL databases) to all of\n"
		"its destinations at once; print one reference per stored backup on stdout.\n"
		"\n"
		"  -c, --config FILE   config (default $ADO_CONFIG, else " ADO_DEFAULT_CONFIG ")\n"
		"  -a, --all           every job in the config\n"
		"  -n, --dry-run       run the checks of --check, say what would be backed up and\n"
		"                      where; store nothing\n"
		"      --check         check that each job could run now (config, key, databases,\n"
		"                      folders, destinations); no JOB: every job\n"
		"      --prune         apply retention alone (no backup); with -n say what would go;\n"
		"                      no JOB: every job\n"
		"      --crontab       print ado-dr's crontab block (one line per scheduled job)\n"
		"      --install-crontab  put that block into the crontab, keeping every other line\n"
		"      --user USER     with --install-crontab: USER's crontab (crontab -u)\n"
		"      --systemd JOB   print JOB's systemd service and timer\n"
		"      --threads N     zstd compressor threads (default: one per core, at most 4)\n"
		"      --progress, --no-progress  a progress line on stderr (default: when a terminal)\n"
		"      --json          one JSON record per job (refs, sizes, duration, per destination)\n"
		"  -q, --quiet         errors only\n"
		"  -v, --verbose       say what happens\n"
		"  -h, --help          this text\n"
		"  -V, --version       the version\n"
		"\n"
		"Keys: key_file in the config, ADO_KEY_FILE, or ADO_PASSPHRASE; never on the command line.\n"
		"Exit: 0 done, 1 nothing stored, 2 usage or config error, 3 partial (some targets or\n"
		"destinations failed), 4 the job is already running. See ado-backup(1).\n");
}

static void show_progress(void *arg, const char *text)
{
	fputs(text, stderr);
	fflush(stderr);
}

static int json_out;	/* --json: one record per job on stdout instead of the references */

static void print_ref(void *arg, const char *ref)
{
	if (json_out)
		return;
	printf("%s\n", ref);
	fflush(stdout);
}

/* An executable next to this program, else on PATH, else the bare name. */
static void find_tool(const char *self, const char *name, char *out, size_t len)
{
	const char *slash = strrchr(self, '/');
	const char *path = getenv("PATH");

	snprintf(out, len, "%.*s/%s", slash ? (int)(slash - self) : 1, slash ? self : ".", name);
	if (access(out, X_OK) == 0)
		return;
	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(out, len, "%.*s/%s", (int)n, path, name);
		if (n && *path == '/' && access(out, X_OK) == 0)
			return;
		path += n + (path[n] == ':');
	}
	snprintf(out, len, "%s", name);
}

/* --crontab, --install-crontab, --systemd: the schedule handed to cron or systemd */
static int schedule(const struct ado_config *cfg, const char *cfgpath, int what, const char *user,
		    const char *unit_job)
{
	char self[PATH_MAX], conf[PATH_MAX], notify[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct ado_sched_paths p = { self, notify, conf };
	struct ado_buf b;
	struct ado_err e;
	int status = ADO_EXIT_OK;

	if (n < 0)
		snprintf(self, sizeof(self), "ado-backup");
	else
		self[n] = '\0';
	if (!realpath(cfgpath, conf))
		snprintf(conf, sizeof(conf), "%s", cfgpath);
	find_tool(self, "ado-notify", notify, sizeof(notify));
	ado_buf_init(&b);
	ado_err_clear(&e);
	if (what == 'S') {
		const struct ado_job *j = ado_config_job(cfg, unit_job);

		if (!j) {
			char hint[1024];

			ado_config_job_hint(cfg, unit_job, hint, sizeof(hint));
			ado_error("no job '%s' in '%s'", unit_job, cfg->path);
			ado_hint("%s", hint);
			status = ADO_EXIT_USAGE;
		} else if (ado_systemd_units(j, &p, &b, &e) < 0) {
			ado_log_err(&e);
			status = ado_err_exit(e.kind);
		}
	} else {
		ado_crontab_block(cfg, &p, &b);
		if (what == 'I' && ado_crontab_install(user, b.data, &e) < 0) {
			ado_log_err(&e);
			status = ADO_EXIT_FAIL;
		} else if (what == 'I')
			ado_info("installed the ado-dr block in the crontab of %s", user ? user : "this user");
	}
	if (status == ADO_EXIT_OK && what != 'I' && b.data)
		fputs(b.data, stdout);
	ado_buf_free(&b);
	return status;
}

static void write_metrics(const struct ado_config *cfg, const struct ado_job *job, const struct ado_backup_report *rep)
{
	struct ado_err me;

	ado_err_clear(&me);
	if (ado_metrics_backup(cfg, job, rep, &me) < 0)
		ado_metrics_warn(&me);
}

/* --check and --dry-run: one line per item on stdout, a hint after a failure */
static void print_check(void *arg, const struct ado_check_item *it)
{
	char why[1400];

	(void)arg;
	if (it->err)
		printf("FAIL %s%s%s: %s\n", it->job ? it->job : "", it->job ? ": " : "", it->what,
		       ado_err_str(it->err, why, sizeof(why)));
	else
		printf("ok %s%s%s%s%s\n", it->job ? it->job : "", it->job ? ": " : "", it->what, it->detail[0] ? " " : "",
		       it->detail);
	fflush(stdout);
	if (it->err && it->err->hint[0])
		ado_hint("%s", it->err->hint);
}

static void print_dry_ref(void *arg, const char *ref)
{
	(void)arg;
	printf("dry run: would store %s\n", ref);
	fflush(stdout);
}

/* 0 every item ok, 1 one failed, 2 the key (a config matter) failed */
static int run_check(const struct ado_config *cfg, const struct ado_job **jobs, size_t njobs,
		     struct ado_backup_opts *bo)
{
	struct ado_keyring *k = NULL;
	struct ado_err e;
	size_t failed = 0;
	int key_failed;

	ado_err_clear(&e);
	printf("ok config '%s' loads (%zu %s)\n", cfg->path, cfg->njobs, cfg->njobs == 1 ? "job" : "jobs");
	key_failed = ado_check_key(cfg, jobs, njobs, &k, print_check, NULL, &e) < 0;
	for (size_t i = 0; i < njobs; i++)
		failed += ado_check_job(cfg, jobs[i], print_check, NULL);
	if (bo->dry_run && !key_failed && !failed) {
		struct ado_backup_report rep;

		bo->keyring = k;
		for (size_t i = 0; i < njobs; i++)
			ado_backup_run(cfg, jobs[i], bo, print_dry_ref, NULL, &rep, &e);
	}
	ado_keyring_free(k);
	if (bo->dry_run && (key_failed || failed))
		ado_error("dry run: %zu %s failed: a run now would fail", failed + (size_t)key_failed,
			  failed + (size_t)key_failed == 1 ? "check" : "checks");
	return key_failed ? ADO_EXIT_USAGE : failed ? ADO_EXIT_FAIL : ADO_EXIT_OK;
}

/* --prune: retention alone; 0 done, 1 nothing could be pruned, 3 some could, 4 all locked */
static int run_prune(const struct ado_config *cfg, const struct ado_job **jobs, size_t njobs, int dry_run)
{
	size_t ok = 0, failed = 0, locked = 0, removed = 0;

	for (size_t i = 0; i < njobs; i++) {
		struct ado_prune_report rep;
		struct ado_err e;

		ado_err_clear(&e);
		if (ado_prune_job(cfg, jobs[i], time(NULL), dry_run, &rep, &e) < 0 && e.kind == ADO_E_LOCKED) {
			ado_log_err(&e);
			locked++;
			continue;
		}
		ok += rep.dests_ok;
		failed += rep.dests_failed;
		removed += rep.removed;
	}
	ado_info("retention: %zu backup%s %s", removed, removed == 1 ? "" : "s", dry_run ? "would be removed" : "removed");
	if (locked == njobs)
		return ADO_EXIT_LOCKED;
	if (!failed && !locked)
		return ADO_EXIT_OK;
	return ok ? ADO_EXIT_PARTIAL : ADO_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "all", no_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },	    { "crontab", no_argument, NULL, 'C' },
		{ "threads", required_argument, NULL, 'T' }, { "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },	    { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	    { "install-crontab", no_argument, NULL, 'I' },
		{ "user", required_argument, NULL, 'u' },   { "systemd", required_argument, NULL, 'S' },
		{ "progress", no_argument, NULL, 'G' },	    { "no-progress", no_argument, NULL, 'N' },
		{ "check", no_argument, NULL, 'K' },	    { "prune", no_argument, NULL, 'P' },
		{ "json", no_argument, &json_out, 1 },
		{ NULL, 0, NULL, 0 },
	};
	struct ado_backup_opts bo = { 0 };
	struct ado_config *cfg = NULL;
	struct ado_keyring *k = NULL;
	struct ado_err e;
	const char *cfgopt = NULL, *user = NULL, *unit_job = NULL;
	const struct ado_job **jobs = NULL;
	size_t njobs = 0, ok = 0, partial = 0, failed = 0, locked = 0;
	int all = 0, want_crontab = 0, c, status = ADO_EXIT_USAGE, need_key = 0, progress = -1, check = 0, prune = 0;

	ado_log_init("ado-backup");
	ado_err_clear(&e);
	while ((c = getopt_long(argc, argv, "c:anqvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfgopt = optarg; break;
		case 'a': all = 1; break;
		case 'n': bo.dry_run = 1; break;
		case 'C':
		case 'I': want_crontab = c; break;
		case 'S': want_crontab = c; unit_job = optarg; break;
		case 'u': user = optarg; break;
		case 'G': progress = 1; break;
		case 'N': progress = 0; break;
		case 'K': check = 1; break;
		case 'P': prune = 1; break;
		case 'T': {
			char *end;
			long t = strtol(optarg, &end, 10);
			if (*end || t < 1 || t > 64) {
				ado_error("--threads: expected a number from 1 to 64, found '%s'", optarg);
				return ADO_EXIT_USAGE;
			}
			bo.threads = (int)t;
			break;
		}
		case 0: break;
		case 'q': ado_log_set_level(ADO_LOG_ERROR); break;
		case 'v': ado_log_set_level(ADO_LOG_INFO); break;
		case 'h': usage(stdout); return ADO_EXIT_OK;
		case 'V': fputs(ADO_VERSION_TEXT("ado-backup"), stdout); return ADO_EXIT_OK;
		default: usage(stderr); return ADO_EXIT_USAGE;
		}
	}
	if ((check || prune) && want_crontab) {
		ado_error("--check and --prune go with job names or --all, not with --crontab, --install-crontab "
			  "or --systemd");
		return ADO_EXIT_USAGE;
	}
	if (check && prune) {
		ado_error("give either --check or --prune, not both");
		return ADO_EXIT_USAGE;
	}
	if ((check || prune) && optind == argc)
		all = 1;	/* --check or --prune alone: every job */
	if (!want_crontab && !all && optind == argc) {
		ado_error("no job given");
		ado_hint("name one or more jobs, or --all; ado-backup --crontab lists the configured jobs");
		return ADO_EXIT_USAGE;
	}
	if (user && want_crontab != 'I') {
		ado_error("--user goes with --install-crontab");
		return ADO_EXIT_USAGE;
	}
	if (want_crontab && (all || optind < argc)) {
		ado_error("--crontab, --install-crontab and --systemd take no job names and no --all");
		return ADO_EXIT_USAGE;
	}
	if (all && optind < argc) {
		ado_error("give either --all or job names, not both");
		return ADO_EXIT_USAGE;
	}
	umask(077);	/* backups and keys: 0600 */
	if (ado_cli_config(cfgopt, 1, &cfg, &e) < 0) {
		ado_log_err(&e);
		return ADO_EXIT_USAGE;
	}
	if (want_crontab) {
		status = schedule(cfg, ado_config_path(cfgopt), want_crontab, user, unit_job);
		goto out;
	}
	jobs = calloc(cfg->njobs + (size_t)argc, sizeof(*jobs));
	if (!jobs) {
		ado_error("out of memory");
		status = ADO_EXIT_FAIL;
		goto out;
	}
	if (all) {
		for (size_t i = 0; i < cfg->njobs; i++)
			jobs[njobs++] = &cfg->jobs[i];
	} else {
		for (int i = optind; i < argc; i++) {
			const struct ado_job *j = ado_config_job(cfg, argv[i]);
			if (!j) {
				char hint[1024];

				ado_config_job_hint(cfg, argv[i], hint, sizeof(hint));
				ado_error("no job '%s' in '%s'", argv[i], cfg->path);
				ado_hint("%s", hint);
				goto out;
			}
			jobs[njobs++] = j;
		}
	}
	if (prune) {
		status = run_prune(cfg, jobs, njobs, bo.dry_run);
		goto out;
	}
	if (check || bo.dry_run) {
		status = run_check(cfg, jobs, njobs, &bo);
		goto out;
	}
	for (size_t i = 0; i < njobs; i++)
		need_key |= jobs[i]->encrypt;
	/* a dry run checks the key too: it answers "would this run work?" */
	if (need_key && ado_cli_keyring(cfg, 1, &k, &e) < 0) {
		ado_log_err(&e);
		goto out;
	}
	bo.keyring = k;
	if (!bo.dry_run)
		bo.meter = ado_cli_meter(progress, show_progress, NULL);
	ado_sig_install();
	for (size_t i = 0; i < njobs; i++) {
		struct ado_backup_report rep;
		int brc;
		ado_err_clear(&e);
		brc = ado_backup_run(cfg, jobs[i], &bo, print_ref, NULL, &rep, &e);
		if (brc < 0)
			ado_log_err(&e);
		{
			/* one run record per job (STATE_DIR/runs.jsonl), and --json's output */
			struct ado_buf rec;
			ado_run_backup_record(cfg, jobs[i], &rep, brc, &e, bo.dry_run, &rec);
			if (json_out && rec.data) {
				printf("%s\n", rec.data);
				fflush(stdout);
			}
			ado_buf_free(&rec);
		}
		/* a run another one locked out, or a dry run, leaves the metrics as they are */
		if (!bo.dry_run && !(brc < 0 && (e.kind == ADO_E_LOCKED || e.kind == ADO_E_INTERRUPTED)))
			write_metrics(cfg, jobs[i], &rep);
		if (brc < 0) {
			if (e.kind == ADO_E_INTERRUPTED) {
				status = ado_sig_exit(ado_interrupted());
				goto out;
			}
			if (e.kind == ADO_E_LOCKED)
				locked++;
			else if (ado_err_exit(e.kind) == ADO_EXIT_USAGE && njobs == 1) {
				status = ADO_EXIT_USAGE;
				goto out;
			} else
				failed++;
			continue;
		}
		if (rep.dests_failed || rep.targets_failed || rep.targets_partial)
			partial++;
		else
			ok++;
	}
	if (failed == 0 && locked == 0 && partial == 0)
		status = ADO_EXIT_OK;
	else if (locked == njobs)
		status = ADO_EXIT_LOCKED;
	else if (ok + partial == 0)
		status = ADO_EXIT_FAIL;
	else
		status = ADO_EXIT_PARTIAL;
out:
	ado_meter_free(bo.meter);
	free(jobs);
	ado_keyring_free(k);
	ado_config_free(cfg);
	ado_log_redact_clear();
	return status;
}
