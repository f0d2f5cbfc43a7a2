/* plan.c - the recovery plan (YAML, libyaml's document API) -> struct ado_plan.
 * Errors follow the config's style: "FILE:LINE:COL: expected X, found Y",
 * unknown keys refused. */
#include "recover/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"

int rc_yaml_load(struct rc_yaml *y, const char *path, struct ado_err *e)
{
	yaml_parser_t parser;
	FILE *f = fopen(path, "rb");
	int ok;

	memset(y, 0, sizeof(*y));
	y->file = path;
	y->e = e;
	if (!f)
		return ado_err_set(e, errno == ENOENT ? ADO_E_NOTFOUND : ADO_E_IO, errno, "cannot open '%s'", path);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	ok = yaml_parser_load(&parser, &y->doc);
	fclose(f);
	if (!ok) {
		ado_err_set(e, ADO_E_CONFIG, 0, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
			    parser.problem_mark.column + 1, parser.problem ? parser.problem : "malformed YAML");
		yaml_parser_delete(&parser);
		memset(&y->doc, 0, sizeof(y->doc));
		return -1;
	}
	yaml_parser_delete(&parser);
	if (!yaml_document_get_root_node(&y->doc)) {
		rc_yaml_free(y);
		return ado_err_set(e, ADO_E_CONFIG, 0, "%s: empty file", path);
	}
	return 0;
}

void rc_yaml_free(struct rc_yaml *y)
{
	if (y->doc.nodes.start)
		yaml_document_delete(&y->doc);
	memset(&y->doc, 0, sizeof(y->doc));
}

yaml_node_t *rc_yaml_root(struct rc_yaml *y) { return yaml_document_get_root_node(&y->doc); }
yaml_node_t *rc_yaml_node(struct rc_yaml *y, int idx) { return yaml_document_get_node(&y->doc, idx); }

int rc_yaml_err(struct rc_yaml *y, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ado_err_set(y->e, ADO_E_CONFIG, 0, "%s:%zu:%zu: %s", y->file, n ? n->start_mark.line + 1 : 0,
			   n ? n->start_mark.column + 1 : 0, msg);
}

static const char *node_desc(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	return "a scalar";
}

static const char *sval(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
}

int rc_yaml_map(struct rc_yaml *y, const yaml_node_t *map, const char *what, const char *const *keys,
		yaml_node_t **vals)
{
	size_t nkeys = 0;

	while (keys[nkeys])
		vals[nkeys++] = NULL;
	if (map->type != YAML_MAPPING_NODE)
		return rc_yaml_err(y, map, "expected a mapping for %s, found %s", what, node_desc(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = rc_yaml_node(y, p->key);
		size_t i;

		for (i = 0; i < nkeys && strcmp(sval(k), keys[i]) != 0; i++)
			;
		if (i == nkeys) {
			char list[400] = "";
			for (size_t j = 0; j < nkeys; j++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", j ? ", " : "", keys[j]);
			rc_yaml_err(y, k, "expected one of %s in %s, found unknown key '%s'", list, what, sval(k));
			return ado_err_hint(y->e, "unknown keys are refused so a typo cannot quietly switch a step "
					    "off; see ado.yml(5), section RECOVERY");
		}
		if (vals[i])
			return rc_yaml_err(y, k, "key '%s' appears twice in %s", keys[i], what);
		vals[i] = rc_yaml_node(y, p->value);
	}
	return 0;
}

int rc_yaml_str(struct rc_yaml *y, const yaml_node_t *n, const char *what, char **out)
{
	if (n->type != YAML_SCALAR_NODE || !*sval(n))
		return rc_yaml_err(y, n, "expected a string for %s, found %s", what,
				   n->type == YAML_SCALAR_NODE ? "an empty value" : node_desc(n));
	free(*out);
	if (!(*out = strdup(sval(n))))
		return ado_err_set(y->e, ADO_E_NOMEM, 0, "out of memory");
	return 0;
}

int rc_yaml_duration(struct rc_yaml *y, const yaml_node_t *n, const char *what, long long *out)
{
	struct ado_err sub;

	if (n->type != YAML_SCALAR_NODE || ado_duration_parse(sval(n), out, &sub) < 0)
		return rc_yaml_err(y, n, "expected a duration such as '30 minutes' or '4 hours' for %s, found '%s'",
				   what, sval(n));
	return 0;
}

int rc_yaml_int(struct rc_yaml *y, const yaml_node_t *n, const char *what, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = n->type == YAML_SCALAR_NODE ? strtol(sval(n), &end, 10) : 0;
	if (n->type != YAML_SCALAR_NODE || !*sval(n) || *end || errno || v < min || v > max)
		return rc_yaml_err(y, n, "expected a whole number from %ld to %ld for %s, found '%s'", min, max, what,
				   sval(n));
	*out = v;
	return 0;
}

int rc_yaml_bool(struct rc_yaml *y, const yaml_node_t *n, const char *what, int *out)
{
	const char *s = sval(n);

	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
		*out = 0;
	else
		return rc_yaml_err(y, n, "expected true or false for %s, found '%s'", what, s);
	return 0;
}

/* ---- steps ---- */

static const char *const kind_names[] = { "run", "restore_database", "restore_files", "verify", "health_check",
					  "notify", "read_only", "read_write", "drill" };

const char *rc_step_kind_name(enum ado_step_kind k) { return kind_names[k]; }

static int add_env(struct ado_step *s, const char *name, const char *value)
{
	char **nv = realloc(s->env, (s->nenv + 2) * sizeof(*nv));
	size_t n = strlen(name) + strlen(value) + 2;

	if (!nv)
		return -1;
	s->env = nv;
	if (!(s->env[s->nenv] = malloc(n)))
		return -1;
	snprintf(s->env[s->nenv++], n, "%s=%s", name, value);
	s->env[s->nenv] = NULL;
	return 0;
}

static int parse_argv(struct rc_yaml *y, const yaml_node_t *n, struct ado_step *s)
{
	size_t cnt = n->type == YAML_SEQUENCE_NODE ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
						   : 3;

	if (n->type == YAML_MAPPING_NODE || (n->type == YAML_SCALAR_NODE && !*sval(n)) || cnt == 0)
		return rc_yaml_err(y, n, "expected a command (a list of arguments, or a string for /bin/sh -c) for "
				   "'run', found %s", n->type == YAML_MAPPING_NODE ? "a mapping" : "nothing");
	if (!(s->argv = calloc(cnt + 1, sizeof(*s->argv))))
		return ado_err_set(y->e, ADO_E_NOMEM, 0, "out of memory");
	if (n->type == YAML_SCALAR_NODE) {
		s->argv[0] = strdup("/bin/sh");
		s->argv[1] = strdup("-c");
		s->argv[2] = strdup(sval(n));
		s->argc = 3;
		return 0;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *a = rc_yaml_node(y, *it);
		if (a->type != YAML_SCALAR_NODE)
			return rc_yaml_err(y, a, "expected a string for an argument of 'run', found %s", node_desc(a));
		s->argv[s->argc++] = strdup(sval(a));
	}
	return 0;
}

/* restore_database jobs: a list of 2 to ADO_DB_PARTS_MAX job names (the
 * config checks them before the run: rc_step_check). */
static int parse_jobs(struct rc_yaml *y, const yaml_node_t *n, const char *what, struct ado_step *s)
{
	size_t cnt = n->type == YAML_SEQUENCE_NODE ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
						   : 0;

	if (n->type != YAML_SEQUENCE_NODE || cnt < 2 || cnt > ADO_DB_PARTS_MAX) {
		char found[32];
		snprintf(found, sizeof(found), "a list of %zu", cnt);
		rc_yaml_err(y, n, "expected a list of 2 to %d jobs for %s, found %s", ADO_DB_PARTS_MAX, what,
			    n->type != YAML_SEQUENCE_NODE ? node_desc(n) : found);
		return ado_err_hint(y->e, "one job's backup of a database: 'job: NAME'; one database from several "
				    "jobs: 'jobs: [A, B]'");
	}
	if (!(s->jobs = calloc(cnt + 1, sizeof(*s->jobs))))
		return ado_err_set(y->e, ADO_E_NOMEM, 0, "out of memory");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		char fw[160];
		snprintf(fw, sizeof(fw), "a job of %s", what);
		if (rc_yaml_str(y, rc_yaml_node(y, *it), fw, &s->jobs[s->njobs]) < 0)
			return -1;
		s->njobs++;
	}
	return 0;
}

/* The value of a built-in kind: a scalar (its main field) or a mapping of its fields. */
static int parse_kind_value(struct rc_yaml *y, const yaml_node_t *n, const char *kname, struct ado_step *s)
{
	static const char *const fields[] = { "job", "database", "target", "to", "force", "level", "url", "expect",
					      "tries", "interval", "timeout", "message", "severity", "status", "jobs", NULL };
	/* which fields each kind takes, as a bit set over fields[] */
	static const unsigned allowed[] = {
		[ADO_STEP_RESTORE_DATABASE] = 1 | 2 | 8 | 16 | 16384,
		[ADO_STEP_RESTORE_FILES] = 1 | 4 | 8 | 16,
		[ADO_STEP_VERIFY] = 1 | 32,
		[ADO_STEP_HEALTH] = 64 | 128 | 256 | 512 | 1024,
		[ADO_STEP_NOTIFY] = 2048 | 4096 | 8192,
		[ADO_STEP_READ_ONLY] = 2 | 16,
		[ADO_STEP_READ_WRITE] = 2,
	};
	const char *keys[17];
	yaml_node_t *v[17];
	char what[96];
	size_t nk = 0;

	snprintf(what, sizeof(what), "'%s'", kname);
	if (n->type == YAML_SCALAR_NODE) {
		char **slot = s->kind == ADO_STEP_HEALTH ? &s->url : s->kind == ADO_STEP_NOTIFY ? &s->message
			    : s->kind == ADO_STEP_VERIFY ? &s->job : &s->target;
		return rc_yaml_str(y, n, what, slot);
	}
	for (size_t i = 0; fields[i]; i++)
		if (allowed[s->kind] & (1u << i))
			keys[nk++] = fields[i];
	keys[nk] = NULL;
	if (rc_yaml_map(y, n, what, keys, v) < 0)
		return -1;
	for (size_t i = 0; i < nk; i++) {
		const char *k = keys[i];
		long num;
		char fw[128];

		if (!v[i])
			continue;
		snprintf(fw, sizeof(fw), "'%s' in %s", k, what);
		if ((strcmp(k, "job") == 0 && rc_yaml_str(y, v[i], fw, &s->job) < 0) ||
		    ((strcmp(k, "database") == 0 || strcmp(k, "target") == 0) && rc_yaml_str(y, v[i], fw, &s->target) < 0) ||
		    (strcmp(k, "to") == 0 && rc_yaml_str(y, v[i], fw, &s->to) < 0) ||
		    (strcmp(k, "force") == 0 && rc_yaml_bool(y, v[i], fw, &s->force) < 0) ||
		    (strcmp(k, "level") == 0 && rc_yaml_str(y, v[i], fw, &s->level) < 0) ||
		    (strcmp(k, "url") == 0 && rc_yaml_str(y, v[i], fw, &s->url) < 0) ||
		    (strcmp(k, "interval") == 0 && rc_yaml_duration(y, v[i], fw, &s->interval) < 0) ||
		    (strcmp(k, "timeout") == 0 && rc_yaml_duration(y, v[i], fw, &s->timeout) < 0) ||
		    (strcmp(k, "message") == 0 && rc_yaml_str(y, v[i], fw, &s->message) < 0) ||
		    (strcmp(k, "status") == 0 && rc_yaml_str(y, v[i], fw, &s->status) < 0) ||
		    (strcmp(k, "jobs") == 0 && parse_jobs(y, v[i], fw, s) < 0))
			return -1;
		if (strcmp(k, "expect") == 0) {
			if (rc_yaml_int(y, v[i], fw, 100, 599, &num) < 0)
				return -1;
			s->expect = num;
		} else if (strcmp(k, "tries") == 0) {
			if (rc_yaml_int(y, v[i], fw, 1, 100000, &num) < 0)
				return -1;
			s->tries = (int)num;
		} else if (strcmp(k, "severity") == 0) {
			if (!(s->severity = ado_severity_parse(sval(v[i]))))
				return rc_yaml_err(y, v[i], "expected info, warning or critical for %s, found '%s'", fw,
						   sval(v[i]));
		} else if (strcmp(k, "status") == 0 && !ado_notify_status_valid(s->status)) {
			return rc_yaml_err(y, v[i], "expected operational, degraded, partial_outage or major_outage for "
					   "%s, found '%s'", fw, s->status);
		}
	}
	return 0;
}

int rc_parse_step(struct rc_yaml *y, const yaml_node_t *n, const char *phase, struct ado_step *s)
{
	static const char *const keys[] = { "run", "restore_database", "restore_files", "verify", "health_check",
					    "notify", "read_only", "read_write", "name", "timeout", "retries",
					    "retry_delay", "env", "pass_env", "destructive", NULL };
	enum { K_NAME = 8, K_TIMEOUT, K_RETRIES, K_DELAY, K_ENV, K_PASS, K_DESTR };
	yaml_node_t *v[16];
	char what[160], dname[300];
	int nkinds = 0;
	long num;

	memset(s, 0, sizeof(*s));
	s->line = (int)n->start_mark.line + 1;
	s->col = (int)n->start_mark.column + 1;
	s->retry_delay = 5;
	s->expect = 200;
	s->tries = 30;
	s->interval = 10;
	s->severity = ADO_SEV_INFO;
	snprintf(what, sizeof(what), "a step of phase '%s'", phase);
	if (rc_yaml_map(y, n, what, keys, v) < 0)
		return -1;
	for (int k = 0; k < 8; k++)
		if (v[k]) {
			nkinds++;
			s->kind = (enum ado_step_kind)k;
		}
	if (nkinds != 1)
		return rc_yaml_err(y, n, "expected exactly one of run, restore_database, restore_files, verify, "
				   "health_check, notify, read_only, read_write in %s, found %d", what, nkinds);
	if (s->kind == ADO_STEP_RUN) {
		if (parse_argv(y, v[0], s) < 0)
			return -1;
	} else if (parse_kind_value(y, v[s->kind], kind_names[s->kind], s) < 0) {
		return -1;
	}
	s->destructive = s->kind == ADO_STEP_RUN || s->kind == ADO_STEP_RESTORE_DATABASE ||
			 s->kind == ADO_STEP_RESTORE_FILES || s->kind == ADO_STEP_READ_ONLY ||
			 s->kind == ADO_STEP_READ_WRITE;
	if ((v[K_NAME] && rc_yaml_str(y, v[K_NAME], "'name' of a step", &s->name) < 0) ||
	    (v[K_TIMEOUT] && rc_yaml_duration(y, v[K_TIMEOUT], "'timeout' of a step", &s->timeout) < 0) ||
	    (v[K_DELAY] && rc_yaml_duration(y, v[K_DELAY], "'retry_delay' of a step", &s->retry_delay) < 0) ||
	    (v[K_DESTR] && rc_yaml_bool(y, v[K_DESTR], "'destructive' of a step", &s->destructive) < 0))
		return -1;
	if (v[K_RETRIES]) {
		if (rc_yaml_int(y, v[K_RETRIES], "'retries' of a step", 0, 100, &num) < 0)
			return -1;
		s->retries = (int)num;
	}
	if ((v[K_ENV] || v[K_PASS]) && s->kind != ADO_STEP_RUN)
		return rc_yaml_err(y, v[K_ENV] ? v[K_ENV] : v[K_PASS], "'env' and 'pass_env' belong to 'run' steps only");
	if (v[K_ENV]) {
		if (v[K_ENV]->type != YAML_MAPPING_NODE)
			return rc_yaml_err(y, v[K_ENV], "expected a mapping of NAME: value for 'env', found %s",
					   node_desc(v[K_ENV]));
		for (yaml_node_pair_t *p = v[K_ENV]->data.mapping.pairs.start; p < v[K_ENV]->data.mapping.pairs.top; p++) {
			yaml_node_t *kn = rc_yaml_node(y, p->key), *vn = rc_yaml_node(y, p->value);
			if (kn->type != YAML_SCALAR_NODE || vn->type != YAML_SCALAR_NODE || strchr(sval(kn), '='))
				return rc_yaml_err(y, kn, "expected NAME: value in 'env'");
			if (add_env(s, sval(kn), sval(vn)) < 0)
				return ado_err_set(y->e, ADO_E_NOMEM, 0, "out of memory");
		}
	}
	if (v[K_PASS]) {
		/* pass_env: [NAME...] copies those variables from our environment, by name: explicit */
		if (v[K_PASS]->type != YAML_SEQUENCE_NODE)
			return rc_yaml_err(y, v[K_PASS], "expected a list of variable names for 'pass_env', found %s",
					   node_desc(v[K_PASS]));
		for (yaml_node_item_t *it = v[K_PASS]->data.sequence.items.start; it < v[K_PASS]->data.sequence.items.top;
		     it++) {
			yaml_node_t *a = rc_yaml_node(y, *it);
			const char *val = getenv(sval(a));
			if (val && add_env(s, sval(a), val) < 0)
				return ado_err_set(y->e, ADO_E_NOMEM, 0, "out of memory");
		}
	}
	if (s->kind == ADO_STEP_RESTORE_FILES && !s->job)
		return rc_yaml_err(y, v[s->kind], "expected 'job' in '%s'", kind_names[s->kind]);
	if ((s->kind == ADO_STEP_RESTORE_DATABASE || s->kind == ADO_STEP_READ_ONLY || s->kind == ADO_STEP_READ_WRITE) &&
	    !s->target)
		return rc_yaml_err(y, v[s->kind], "expected 'database' in '%s'", kind_names[s->kind]);
	if (s->kind == ADO_STEP_HEALTH && !s->url)
		return rc_yaml_err(y, v[s->kind], "expected 'url' in 'health_check'");
	if (s->kind == ADO_STEP_NOTIFY && !s->message)
		return rc_yaml_err(y, v[s->kind], "expected 'message' in 'notify'");
	if (s->kind == ADO_STEP_VERIFY && !s->job)
		return rc_yaml_err(y, v[s->kind], "expected 'job' in 'verify'");
	if (s->level && strcmp(s->level, "checksum") != 0 && strcmp(s->level, "read") != 0 &&
	    strcmp(s->level, "restore") != 0)
		return rc_yaml_err(y, v[s->kind], "expected checksum, read or restore for 'level', found '%s'", s->level);
	if (!s->name) {
		const char *subj = s->kind == ADO_STEP_RUN ? s->argv[s->argc == 3 && strcmp(s->argv[0], "/bin/sh") == 0 ? 2 : 0]
				 : s->target ? s->target : s->url ? s->url : s->job ? s->job : NULL;
		if (subj)
			snprintf(dname, sizeof(dname), "%s %.200s", kind_names[s->kind], subj);
		else
			snprintf(dname, sizeof(dname), "%s", kind_names[s->kind]);
		if (!(s->name = strdup(dname)))
			return ado_err_set(y->e, ADO_E_NOMEM, 0, "out of memory");
	}
	/* one job's backup, or one database from several jobs: never a guess between them */
	if (s->kind == ADO_STEP_RESTORE_DATABASE && !s->job == !s->njobs) {
		rc_yaml_err(y, v[s->kind], "step '%s' of phase '%s': expected one of 'job' and 'jobs' in "
			    "'restore_database', found %s", s->name, phase, s->job ? "both" : "neither");
		return ado_err_hint(y->e, "a database split across jobs (each backing up some of its tables) comes "
				    "back whole only from all of them: 'jobs: [A, B]'; 'job: NAME' restores that job's "
				    "backup alone");
	}
	return 0;
}

void rc_step_free(struct ado_step *s)
{
	for (size_t i = 0; s->argv && s->argv[i]; i++)
		free(s->argv[i]);
	for (size_t i = 0; i < s->nenv; i++)
		free(s->env[i]);
	free(s->argv);
	free(s->env);
	free(s->name);
	free(s->job);
	for (size_t i = 0; i < s->njobs; i++)
		free(s->jobs[i]);
	free(s->jobs);
	free(s->target);
	free(s->to);
	free(s->level);
	free(s->url);
	free(s->message);
	free(s->status);
}

/* ---- the plan ---- */

static int parse_phase(struct rc_yaml *y, const yaml_node_t *n, struct ado_phase *ph)
{
	static const char *const keys[] = { "name", "budget", "steps", NULL };
	yaml_node_t *v[3];

	if (rc_yaml_map(y, n, "a phase", keys, v) < 0)
		return -1;
	if (!v[0])
		return rc_yaml_err(y, n, "expected 'name' in a phase");
	if (rc_yaml_str(y, v[0], "'name' of a phase", &ph->name) < 0 ||
	    (v[1] && rc_yaml_duration(y, v[1], "'budget' of a phase", &ph->budget) < 0))
		return -1;
	if (!v[2] || v[2]->type != YAML_SEQUENCE_NODE || v[2]->data.sequence.items.top == v[2]->data.sequence.items.start)
		return rc_yaml_err(y, v[2] ? v[2] : n, "expected a list of steps in phase '%s'", ph->name);
	ph->steps = calloc((size_t)(v[2]->data.sequence.items.top - v[2]->data.sequence.items.start), sizeof(*ph->steps));
	if (!ph->steps)
		return ado_err_set(y->e, ADO_E_NOMEM, 0, "out of memory");
	for (yaml_node_item_t *it = v[2]->data.sequence.items.start; it < v[2]->data.sequence.items.top; it++) {
		struct ado_step *s = &ph->steps[ph->nsteps];
		if (rc_parse_step(y, rc_yaml_node(y, *it), ph->name, s) < 0) {
			rc_step_free(s);
			return -1;
		}
		ph->nsteps++;
		for (size_t j = 0; j + 1 < ph->nsteps; j++)
			if (strcmp(ph->steps[j].name, s->name) == 0)
				return rc_yaml_err(y, rc_yaml_node(y, *it), "two steps named '%s' in phase '%s'", s->name,
						   ph->name);
	}
	return 0;
}

static int parse_plan(struct rc_yaml *y, const yaml_node_t *n, struct ado_plan *p)
{
	static const char *const keys[] = { "rto", "rpo", "update_every", "status_page", "phases", NULL };
	yaml_node_t *v[5];

	if (rc_yaml_map(y, n, "the recovery plan", keys, v) < 0 ||
	    (v[0] && rc_yaml_duration(y, v[0], "'rto'", &p->rto) < 0) ||
	    (v[1] && rc_yaml_duration(y, v[1], "'rpo'", &p->rpo) < 0) ||
	    (v[2] && rc_yaml_duration(y, v[2], "'update_every'", &p->update_every) < 0) ||
	    (v[3] && rc_yaml_str(y, v[3], "'status_page'", &p->status_page) < 0))
		return -1;
	if (p->status_page && strcmp(p->status_page, "major_outage") != 0 && strcmp(p->status_page, "partial_outage") != 0)
		return rc_yaml_err(y, v[3], "expected major_outage or partial_outage for 'status_page', found '%s'",
				   p->status_page);
	if (!v[4] || v[4]->type != YAML_SEQUENCE_NODE || v[4]->data.sequence.items.top == v[4]->data.sequence.items.start)
		return rc_yaml_err(y, v[4] ? v[4] : n, "expected a list of phases in 'phases'");
	p->phases = calloc((size_t)(v[4]->data.sequence.items.top - v[4]->data.sequence.items.start), sizeof(*p->phases));
	if (!p->phases)
		return ado_err_set(y->e, ADO_E_NOMEM, 0, "out of memory");
	for (yaml_node_item_t *it = v[4]->data.sequence.items.start; it < v[4]->data.sequence.items.top; it++) {
		if (parse_phase(y, rc_yaml_node(y, *it), &p->phases[p->nphases++]) < 0)
			return -1;
		for (size_t j = 0; j + 1 < p->nphases; j++)
			if (strcmp(p->phases[j].name, p->phases[p->nphases - 1].name) == 0)
				return rc_yaml_err(y, rc_yaml_node(y, *it), "two phases named '%s'", p->phases[j].name);
	}
	return 0;
}

int ado_plan_load(const struct ado_config *cfg, const char *path, struct ado_plan **out, struct ado_err *e)
{
	struct rc_yaml y;
	struct ado_plan *p;
	yaml_node_t *root, *n = NULL;
	const char *file = path ? path : cfg ? cfg->path : NULL;

	*out = NULL;
	if (!file)
		return ado_err_set(e, ADO_E_USAGE, 0, "no recovery plan: give --plan FILE or a config with 'recovery:'");
	if (rc_yaml_load(&y, file, e) < 0)
		return -1;
	root = rc_yaml_root(&y);
	if (root->type == YAML_MAPPING_NODE)
		for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++)
			if (strcmp(sval(rc_yaml_node(&y, pr->key)), "recovery") == 0)
				n = rc_yaml_node(&y, pr->value);
	if (!n && path)
		n = root;	/* a plan file of its own */
	if (!n) {
		rc_yaml_free(&y);
		ado_err_set(e, ADO_E_NOTFOUND, 0, "no 'recovery:' section in '%s'", file);
		return ado_err_hint(e, "add one (see ado.yml(5), RECOVERY) or give --plan FILE; "
				    "examples/recovery-plan.yml is a start");
	}
	if (!(p = calloc(1, sizeof(*p))) || !(p->path = strdup(file))) {
		free(p);
		rc_yaml_free(&y);
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	p->update_every = 30 * 60;
	if (parse_plan(&y, n, p) < 0) {
		rc_yaml_free(&y);
		ado_plan_free(p);
		return -1;
	}
	if (!p->status_page)
		p->status_page = strdup("major_outage");
	rc_yaml_free(&y);
	*out = p;
	return 0;
}

void ado_plan_free(struct ado_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nphases; i++) {
		for (size_t j = 0; j < p->phases[i].nsteps; j++)
			rc_step_free(&p->phases[i].steps[j]);
		free(p->phases[i].steps);
		free(p->phases[i].name);
	}
	free(p->phases);
	free(p->status_page);
	free(p->path);
	free(p);
}
