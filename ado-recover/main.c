/* ado-recover - the full recovery through the plan's phases, timed against
 * RTO and RPO and resumable; drills of dr-test-plan.yml and their KPIs;
 * read-only mode. Thin: options -> config -> one lib/recover call -> exit status. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ado.h"
#include "base/log.h"
#include "base/sig.h"
#include "job/cli.h"
#include "job/restore.h"
#include "recover/recover.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ado-recover [-c FILE] [--plan FILE] [--backup latest|ID] [--before TIME] [--dry-run]\n"
		"                   [--resume] [--from-phase NAME] [--only-phase NAME] [--yes] [--json]\n"
		"       ado-recover [-c FILE] --drill FILE [--test NAME] [--job JOB] [--yes] [--json]\n"
		"       ado-recover [-c FILE] --report [--since 90d] [--json]\n"
		"       ado-recover [-c FILE] (--read-only | --read-write) DATABASE [--force]\n"
		"\n"
		"  -c, --config FILE      config (default $ADO_CONFIG, else " ADO_DEFAULT_CONFIG ")\n"
		"  -p, --plan FILE        the recovery plan (default: the config's recovery: section)\n"
		"  -b, --backup ID        restore this backup id, or 'latest' (default)\n"
		"      --before TIME      the newest backup at or before TIME (UTC)\n"
		"  -n, --dry-run          print every step with the backup it would use and its age\n"
		"      --resume           continue the last unfinished recovery after its last finished step\n"
		"      --from-phase NAME  start at this phase\n"
		"      --only-phase NAME  run this phase only\n"
		"  -y, --yes              run destructive steps without asking (required without a terminal)\n"
		"      --json             the report as one JSON document\n"
		"      --drill FILE       run the tests of a dr-test-plan.yml in a sandbox\n"
		"      --test NAME        only this test of the drill file\n"
		"  -j, --job JOB          drills: only this job's backups\n"
		"      --report           the KPIs from the history of recoveries and drills\n"
		"      --since DURATION   --report: only the last DURATION (e.g. 90d)\n"
		"      --read-only DB     set DB read-only for new sessions; list the ones that may still write\n"
		"      --read-write DB    undo --read-only\n"
		"  -f, --force            --read-only: end the sessions that may still write\n"
		"  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n"
		"\n"
		"Exit: 0 done, 1 a step failed, 2 usage/config error or refused, 4 another recovery runs,\n"
		"5 done but the RTO or RPO target was missed. See ado-recover(1).\n");
}

static void say(void *arg, const char *line)
{
	FILE *f = arg;

	fprintf(f, "%s\n", line);
	fflush(f);
}

/* A destructive step on a terminal: ask on stderr, read the answer from stdin. */
static int confirm(void *arg, const char *question)
{
	char ans[16];

	fprintf(stderr, "%s [y/N] ", question);
	fflush(stderr);
	if (!fgets(ans, sizeof(ans), stdin))
		return 0;
	return ans[0] == 'y' || ans[0] == 'Y';
}

int main(int argc, char **argv)
{
	enum { O_PLAN = 256, O_BEFORE, O_RESUME, O_FROM, O_ONLY, O_JSON, O_DRILL, O_TEST, O_REPORT, O_SINCE, O_RO, O_RW };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },	{ "plan", required_argument, NULL, 'p' },
		{ "backup", required_argument, NULL, 'b' },	{ "before", required_argument, NULL, O_BEFORE },
		{ "dry-run", no_argument, NULL, 'n' },		{ "resume", no_argument, NULL, O_RESUME },
		{ "from-phase", required_argument, NULL, O_FROM }, { "only-phase", required_argument, NULL, O_ONLY },
		{ "yes", no_argument, NULL, 'y' },		{ "json", no_argument, NULL, O_JSON },
		{ "drill", required_argument, NULL, O_DRILL },	{ "test", required_argument, NULL, O_TEST },
		{ "job", required_argument, NULL, 'j' },	{ "report", no_argument, NULL, O_REPORT },
		{ "since", required_argument, NULL, O_SINCE },	{ "read-only", required_argument, NULL, O_RO },
		{ "read-write", required_argument, NULL, O_RW }, { "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ado_recover_opts ro = { 0 };
	struct ado_drill_opts dro = { 0 };
	struct ado_config *cfg = NULL;
	struct ado_plan *plan = NULL;
	struct ado_buf out;
	struct ado_err e;
	const char *cfgopt = NULL, *planf = NULL, *before = NULL, *drill = NULL, *since_s = NULL, *rodb = NULL;
	long long since = 0;
	int report = 0, ro_on = 0, force = 0, ch, status = ADO_EXIT_USAGE, modes;

	ado_log_init("ado-recover");
	ado_err_clear(&e);
	ado_buf_init(&out);
	while ((ch = getopt_long(argc, argv, "c:p:b:nyj:fqvhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgopt = optarg; break;
		case 'p': planf = optarg; break;
		case 'b': ro.backup = optarg; break;
		case O_BEFORE: before = optarg; break;
		case 'n': ro.dry_run = dro.dry_run = 1; break;
		case O_RESUME: ro.resume = 1; break;
		case O_FROM: ro.from_phase = optarg; break;
		case O_ONLY: ro.only_phase = optarg; break;
		case 'y': ro.yes = dro.yes = 1; break;
		case O_JSON: ro.json = dro.json = 1; break;
		case O_DRILL: drill = optarg; break;
		case O_TEST: dro.test = optarg; break;
		case 'j': dro.job = optarg; break;
		case O_REPORT: report = 1; break;
		case O_SINCE: since_s = optarg; break;
		case O_RO: rodb = optarg; ro_on = 1; break;
		case O_RW: rodb = optarg; ro_on = 0; break;
		case 'f': force = 1; break;
		case 'q': ado_log_set_level(ADO_LOG_ERROR); break;
		case 'v': ado_log_set_level(ADO_LOG_INFO); break;
		case 'h': usage(stdout); return ADO_EXIT_OK;
		case 'V': fputs(ADO_VERSION_TEXT("ado-recover"), stdout); return ADO_EXIT_OK;
		default: usage(stderr); return ADO_EXIT_USAGE;
		}
	}
	umask(077);
	modes = (drill != NULL) + report + (rodb != NULL);
	if (optind < argc || modes > 1) {
		ado_error(optind < argc ? "unexpected argument '%s'" : "give one of --drill, --report, --read-only, "
			  "--read-write%s", optind < argc ? argv[optind] : "");
		usage(stderr);
		return ADO_EXIT_USAGE;
	}
	if (since_s && (!report || ado_duration_parse(since_s, &since, &e) < 0)) {
		ado_error(report ? "--since: expected a duration such as 90d, found '%s'" : "--since goes with --report%s",
			  report ? since_s : "");
		return ADO_EXIT_USAGE;
	}
	if (before && ado_parse_time(before, &ro.before, &e) < 0) {
		ado_log_err(&e);
		return ADO_EXIT_USAGE;
	}
	if (ado_cli_config(cfgopt, planf == NULL && !report && !rodb, &cfg, &e) < 0) {
		ado_log_err(&e);
		return ADO_EXIT_USAGE;
	}
	ado_sig_install();
	ro.interactive = dro.interactive = isatty(STDIN_FILENO);
	ro.say = dro.say = say;
	ro.say_arg = dro.say_arg = ro.json ? stderr : stdout;
	ro.confirm = dro.confirm = confirm;
	if (report) {
		status = ado_recover_report(cfg, since, ro.json, &out, &e) < 0 ? ADO_EXIT_FAIL : ADO_EXIT_OK;
	} else if (rodb) {
		status = ado_recover_read_only(cfg, rodb, ro_on, force, say, stdout, &e) < 0 ? ADO_EXIT_FAIL : ADO_EXIT_OK;
		if (status && ado_err_exit(e.kind) == ADO_EXIT_USAGE)
			status = ADO_EXIT_USAGE;
	} else if (drill) {
		status = ado_recover_drill(cfg, drill, &dro, &out, &e);
	} else if (ado_plan_load(cfg, planf, &plan, &e) < 0) {
		status = ADO_EXIT_USAGE;
	} else {
		status = ado_recover_run(cfg, plan, &ro, &out, &e);
	}
	if (out.data)
		fputs(out.data, stdout);
	fflush(stdout);
	if (e.kind != ADO_E_NONE || (status != ADO_EXIT_OK && e.msg[0]))
		ado_log_err(&e);
	ado_buf_free(&out);
	ado_plan_free(plan);
	ado_config_free(cfg);
	ado_log_redact_clear();
	return status;
}
