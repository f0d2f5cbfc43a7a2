/* kpi.c - the plan's "Metrics and KPIs" from STATE_DIR/history.jsonl: RTO
 * achievement (actual against target), RPO achievement, test success rate
 * and mean time to recovery, over recoveries and drills alike. */
#include "recover/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

struct kpi {
	const char *path;
	time_t since;
	long records, skipped, drills, drills_ok, recoveries, recoveries_ok;
	long rto_n, rto_met, rpo_n, rpo_met, ok_n;
	long long ok_secs;
};

static void take(void *arg, const char *line, size_t no)
{
	struct kpi *k = arg;
	struct rc_kv kv;
	const char *kind, *ok;
	long long t, dur, rto, rpo, age;
	int success;

	if (rc_kv_parse(line, &kv) < 0 || !(kind = rc_kv_get(&kv, "kind")) || !(ok = rc_kv_get(&kv, "success")) ||
	    (t = rc_kv_num(&kv, "time", -1)) < 0 || (dur = rc_kv_num(&kv, "duration", -1)) < 0) {
		ado_warn("%s:%zu: unreadable history line skipped", k->path, no);
		k->skipped++;
		rc_kv_free(&kv);
		return;
	}
	if (k->since && (time_t)t < k->since) {
		rc_kv_free(&kv);
		return;
	}
	success = strcmp(ok, "true") == 0;
	rto = rc_kv_num(&kv, "rto_target", 0);
	rpo = rc_kv_num(&kv, "rpo_target", 0);
	age = rc_kv_num(&kv, "data_age", -1);
	k->records++;
	if (strcmp(kind, "drill") == 0) {
		k->drills++;
		k->drills_ok += success;
	} else {
		k->recoveries++;
		k->recoveries_ok += success;
	}
	if (rto > 0) {
		k->rto_n++;
		k->rto_met += success && dur <= rto;
	}
	if (rpo > 0 && age >= 0) {
		k->rpo_n++;
		k->rpo_met += age <= rpo;
	}
	if (success) {
		k->ok_n++;
		k->ok_secs += dur;
	}
	rc_kv_free(&kv);
}

static double pct(long a, long b)
{
	return b ? 100.0 * (double)a / (double)b : 0;
}

static void json_rate(struct ado_json *j, const char *key, const char *what, long n, long ok)
{
	ado_json_obj_begin(j, key);
	ado_json_kint(j, "evaluated", n);
	ado_json_kint(j, what, ok);
	if (n)
		ado_json_kint(j, "percent", (long long)(pct(ok, n) + 0.5));
	else
		ado_json_knull(j, "percent");
	ado_json_obj_end(j);
}

int ado_recover_report(const struct ado_config *cfg, long long since, int json, struct ado_buf *out,
		       struct ado_err *e)
{
	char path[4096], when[32], mttr[32];
	struct kpi k = { 0 };

	snprintf(path, sizeof(path), "%s/history.jsonl", cfg->state_dir);
	k.path = path;
	k.since = since ? time(NULL) - (time_t)since : 0;
	if (rc_lines(path, take, &k, e) < 0)
		return -1;
	if (k.since) {
		struct tm tm;
		gmtime_r(&k.since, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	rc_dur(k.ok_n ? k.ok_secs / k.ok_n : 0, mttr, sizeof(mttr));
	if (json) {
		struct ado_json j;
		ado_json_init(&j, out, 1);
		ado_json_obj_begin(&j, NULL);
		if (k.since)
			ado_json_kstr(&j, "since", when);
		else
			ado_json_knull(&j, "since");
		ado_json_kint(&j, "records", k.records);
		ado_json_kint(&j, "skipped_lines", k.skipped);
		ado_json_kint(&j, "recoveries", k.recoveries);
		ado_json_kint(&j, "recoveries_succeeded", k.recoveries_ok);
		ado_json_kint(&j, "drills", k.drills);
		json_rate(&j, "rto_achievement", "met", k.rto_n, k.rto_met);
		json_rate(&j, "rpo_achievement", "met", k.rpo_n, k.rpo_met);
		json_rate(&j, "test_success_rate", "passed", k.drills, k.drills_ok);
		if (k.ok_n)
			ado_json_kint(&j, "mean_time_to_recovery_seconds", k.ok_secs / k.ok_n);
		else
			ado_json_knull(&j, "mean_time_to_recovery_seconds");
		ado_json_obj_end(&j);
		ado_buf_puts(out, "\n");
		return 0;
	}
	ado_buf_printf(out, "KPIs from %ld record%s%s%s: %ld drill%s, %ld recover%s\n", k.records, k.records == 1 ? "" : "s",
		       k.since ? " since " : "", k.since ? when : "", k.drills, k.drills == 1 ? "" : "s", k.recoveries,
		       k.recoveries == 1 ? "y" : "ies");
	ado_buf_printf(out, "  RTO achievement:       %ld of %ld met (%.0f%%)\n", k.rto_met, k.rto_n, pct(k.rto_met, k.rto_n));
	ado_buf_printf(out, "  RPO achievement:       %ld of %ld met (%.0f%%)\n", k.rpo_met, k.rpo_n, pct(k.rpo_met, k.rpo_n));
	ado_buf_printf(out, "  test success rate:     %ld of %ld drills passed (%.0f%%)\n", k.drills_ok, k.drills,
		       pct(k.drills_ok, k.drills));
	if (k.ok_n)
		ado_buf_printf(out, "  mean time to recovery: %s over %ld successful run%s\n", mttr, k.ok_n, k.ok_n == 1 ? "" : "s");
	else
		ado_buf_printf(out, "  mean time to recovery: no successful run yet\n");
	return 0;
}
