/* metrics.c - the last drill of each test and the last recovery, from
 * STATE_DIR/history.jsonl, as DIR/ado_recover.prom (job/metrics.h). */
#include "recover/internal.h"

#include <string.h>

#include "job/metrics.h"

struct last {
	struct ado_metrics *m;
};

static void set_run(struct ado_metrics *m, const char *what, const struct rc_kv *kv, const char *const *l)
{
	static const struct { const char *suffix, *key; } f[] = {
		{ "last_timestamp_seconds", "time" },	 { "last_duration_seconds", "duration" },
		{ "rto_target_seconds", "rto_target" }, { "last_data_age_seconds", "data_age" },
		{ "rpo_target_seconds", "rpo_target" },
	};
	char name[96];
	const char *ok = rc_kv_get(kv, "success");

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		long long v = rc_kv_num(kv, f[i].key, -1);
		snprintf(name, sizeof(name), "ado_%s_%s", what, f[i].suffix);
		/* a target of 0 is "none set", an age of -1 "unknown": no series */
		if (v > 0 || (v == 0 && strcmp(f[i].key, "duration") == 0) || (v == 0 && strcmp(f[i].key, "data_age") == 0))
			ado_metrics_set(m, name, (double)v, l);
	}
	snprintf(name, sizeof(name), "ado_%s_last_success", what);
	ado_metrics_set(m, name, ok && strcmp(ok, "true") == 0, l);
}

static void take(void *arg, const char *line, size_t no)
{
	struct last *s = arg;
	struct rc_kv kv;
	const char *kind, *test;

	(void)no;	/* unreadable lines: ado-recover --report names them */
	if (rc_kv_parse(line, &kv) < 0)
		return;
	if ((kind = rc_kv_get(&kv, "kind")) && strcmp(kind, "drill") == 0 && (test = rc_kv_get(&kv, "test"))) {
		const char *const l[] = { "test", test, NULL };
		set_run(s->m, "drill", &kv, l);
	} else if (kind && strcmp(kind, "recovery") == 0) {
		set_run(s->m, "recovery", &kv, NULL);
	}
	rc_kv_free(&kv);
}

static void declare(struct ado_metrics *m, const char *what, const char *runs)
{
	static const struct { const char *suffix, *help; } f[] = {
		{ "last_success", "Whether the last %s succeeded (1) or not (0)." },
		{ "last_timestamp_seconds", "When the last %s was recorded." },
		{ "last_duration_seconds", "How long the last %s took (its recovery time)." },
		{ "rto_target_seconds", "The RTO target the last %s was measured against." },
		{ "last_data_age_seconds", "The age of the data the last %s restored (start minus the backup's time)." },
		{ "rpo_target_seconds", "The RPO target the last %s was measured against." },
	};
	char name[96], help[160];

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		snprintf(name, sizeof(name), "ado_%s_%s", what, f[i].suffix);
		snprintf(help, sizeof(help), f[i].help, runs);
		ado_metrics_family(m, name, help, "gauge", 0);
	}
}

int ado_recover_metrics(const struct ado_config *cfg, struct ado_err *e)
{
	struct last s;
	char path[4096];
	int rc;

	if (!cfg->metrics_dir)
		return 0;
	if (!(s.m = ado_metrics_new(cfg->metrics_dir, "recover", NULL, e)))
		return -1;
	declare(s.m, "drill", "drill of this test");
	declare(s.m, "recovery", "recovery");
	snprintf(path, sizeof(path), "%s/history.jsonl", cfg->state_dir);
	rc = rc_lines(path, take, &s, e);
	if (rc == 0)
		rc = ado_metrics_commit(s.m, e);
	ado_metrics_free(s.m);
	return rc;
}
