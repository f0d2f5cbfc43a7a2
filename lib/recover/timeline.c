/* timeline.c - the run's timeline (STATE_DIR/recover/ID.jsonl) and the history
 * (STATE_DIR/history.jsonl): JSON lines appended and fsynced one by one, so a
 * crash or a kill -9 leaves every line written so far; reading them back
 * through libyaml (JSON is YAML). */
#include "recover/internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "format/manifest.h"

static int recover_dir(const char *state_dir, char *buf, size_t len, struct ado_err *e)
{
	snprintf(buf, len, "%s/recover", state_dir);
	if (ado_mkdirs(buf, 0700, e) < 0) {
		ado_err_set(e, ADO_E_CONFIG, e ? e->sys_errno : 0, "cannot use state folder '%s'", state_dir);
		return ado_err_hint(e, "set state_dir in the config or ADO_STATE_DIR to a folder this user can write");
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	fsync(fd);
	close(fd);
	return 0;
}

int rc_timeline_create(const char *state_dir, struct rc_timeline *t, struct ado_err *e)
{
	char dir[4000], base[32];

	t->fd = -1;
	if (recover_dir(state_dir, dir, sizeof(dir), e) < 0)
		return -1;
	ado_backup_id(time(NULL), base, sizeof(base));
	for (int n = 1; n < 100; n++) {
		if (n == 1)
			snprintf(t->id, sizeof(t->id), "%s", base);
		else
			snprintf(t->id, sizeof(t->id), "%s-%d", base, n);
		snprintf(t->path, sizeof(t->path), "%s/%s.jsonl", dir, t->id);
		t->fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
		if (t->fd >= 0) {
			fsync_dir(dir);
			return 0;
		}
		if (errno != EEXIST)
			return ado_err_set(e, ADO_E_IO, errno, "cannot create timeline '%s'", t->path);
	}
	return ado_err_set(e, ADO_E_IO, EEXIST, "cannot create a timeline in '%s'", dir);
}

/* Sort key of a run id: "20261125T221500Z" < "20261125T221500Z-2" < "...-10". */
static int id_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	int c = strncmp(x, y, 16);

	if (c)
		return c;
	return (strlen(x) > 17 ? atoi(x + 17) : 1) - (strlen(y) > 17 ? atoi(y + 17) : 1);
}

int rc_timeline_last(const char *state_dir, struct rc_timeline *t, struct ado_err *e)
{
	char dir[4000], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *d;
	DIR *dh;

	t->fd = -1;
	if (recover_dir(state_dir, dir, sizeof(dir), e) < 0)
		return -1;
	if (!(dh = opendir(dir)))
		return ado_err_set(e, ADO_E_IO, errno, "cannot read '%s'", dir);
	while ((d = readdir(dh))) {
		size_t l = strlen(d->d_name);
		char idpart[17];
		if (l < 22 || strcmp(d->d_name + l - 6, ".jsonl") != 0)
			continue;
		memcpy(idpart, d->d_name, 16);
		idpart[16] = '\0';
		if (ado_backup_id_time(idpart) == (time_t)-1)
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nn));
			if (!nn)
				break;
			names = nn;
		}
		if ((names[n] = strndup(d->d_name, l - 6)))
			n++;
	}
	closedir(dh);
	if (n)
		qsort(names, n, sizeof(*names), id_cmp);
	if (n) {
		snprintf(t->id, sizeof(t->id), "%s", names[n - 1]);
		snprintf(t->path, sizeof(t->path), "%s/%s.jsonl", dir, t->id);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return n ? 0 : 1;
}

int rc_timeline_reopen(struct rc_timeline *t, struct ado_err *e)
{
	t->fd = open(t->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (t->fd < 0)
		return ado_err_set(e, ADO_E_IO, errno, "cannot open timeline '%s'", t->path);
	return 0;
}

static int append_line(int fd, const char *path, const char *json, struct ado_err *e)
{
	size_t n = strlen(json);
	char *line = malloc(n + 2);
	ssize_t w;

	if (!line)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	memcpy(line, json, n);
	line[n] = '\n';
	/* one write() of one line with O_APPEND: lines never interleave */
	w = write(fd, line, n + 1);
	free(line);
	if (w != (ssize_t)(n + 1))
		return ado_err_set(e, ADO_E_IO, w < 0 ? errno : EIO, "cannot append to '%s'", path);
	if (fsync(fd) < 0)
		return ado_err_set(e, ADO_E_IO, errno, "cannot fsync '%s'", path);
	return 0;
}

int rc_timeline_append(struct rc_timeline *t, const char *json, struct ado_err *e)
{
	return append_line(t->fd, t->path, json, e);
}

void rc_timeline_close(struct rc_timeline *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

int rc_history_append(const char *state_dir, const char *json, struct ado_err *e)
{
	char path[4096];
	int fd, rc;

	if (ado_mkdirs(state_dir, 0700, e) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/history.jsonl", state_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return ado_err_set(e, ADO_E_IO, errno, "cannot open history '%s'", path);
	rc = append_line(fd, path, json, e);
	close(fd);
	return rc;
}

/* ---- reading ---- */

int rc_kv_parse(const char *line, struct rc_kv *kv)
{
	yaml_parser_t p;
	yaml_document_t d;
	yaml_node_t *root;
	int rc = -1;

	memset(kv, 0, sizeof(*kv));
	if (*line != '{')
		return -1;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)line, strlen(line));
	if (!yaml_parser_load(&p, &d)) {
		yaml_parser_delete(&p);
		return -1;
	}
	root = yaml_document_get_root_node(&d);
	if (root && root->type == YAML_MAPPING_NODE) {
		size_t n = (size_t)(root->data.mapping.pairs.top - root->data.mapping.pairs.start);
		kv->k = calloc(n + 1, sizeof(char *));
		kv->v = calloc(n + 1, sizeof(char *));
		rc = kv->k && kv->v ? 0 : -1;
		for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; rc == 0 && pr < root->data.mapping.pairs.top;
		     pr++) {
			yaml_node_t *k = yaml_document_get_node(&d, pr->key), *v = yaml_document_get_node(&d, pr->value);
			if (k->type != YAML_SCALAR_NODE)
				continue;
			kv->k[kv->n] = strdup((char *)k->data.scalar.value);
			kv->v[kv->n] = strdup(v->type == YAML_SCALAR_NODE ? (char *)v->data.scalar.value : "");
			kv->n++;
		}
	}
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	if (rc < 0)
		rc_kv_free(kv);
	return rc;
}

const char *rc_kv_get(const struct rc_kv *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (kv->k[i] && strcmp(kv->k[i], key) == 0)
			return kv->v[i];
	return NULL;
}

long long rc_kv_num(const struct rc_kv *kv, const char *key, long long dflt)
{
	const char *v = rc_kv_get(kv, key);
	char *end;
	long long n;

	if (!v || !*v)
		return dflt;
	n = strtoll(v, &end, 10);
	return *end && *end != '.' ? dflt : n;
}

void rc_kv_free(struct rc_kv *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->k[i]);
		free(kv->v[i]);
	}
	free(kv->k);
	free(kv->v);
	memset(kv, 0, sizeof(*kv));
}

int rc_lines(const char *path, void (*fn)(void *arg, const char *line, size_t lineno), void *arg,
	     struct ado_err *e)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, no = 0;
	ssize_t n;

	if (!f)
		return errno == ENOENT ? 0 : ado_err_set(e, ADO_E_IO, errno, "cannot read '%s'", path);
	while ((n = getline(&line, &cap, f)) >= 0) {
		no++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n)
			fn(arg, line, no);
	}
	free(line);
	fclose(f);
	return 0;
}

/* ---- small shared helpers ---- */

void rc_slug(const char *s, char *out, size_t max)
{
	size_t o = 0;

	for (; *s && o + 1 < max; s++) {
		if (isalnum((unsigned char)*s))
			out[o++] = (char)tolower((unsigned char)*s);
		else if (o && out[o - 1] != '_')
			out[o++] = '_';
	}
	while (o && out[o - 1] == '_')
		o--;
	out[o] = '\0';
}

const char *rc_dur(long long secs, char *buf, size_t len)
{
	if (secs < 60)
		snprintf(buf, len, "%llds", secs < 0 ? 0 : secs);
	else
		ado_duration_format(secs, buf, len);
	return buf;
}

void rc_json_begin(struct ado_json *j, struct ado_buf *b, const char *event, const char *run)
{
	ado_buf_init(b);
	ado_json_init(j, b, 0);
	ado_json_obj_begin(j, NULL);
	ado_json_kstr(j, "event", event);
	if (run)
		ado_json_kstr(j, "run", run);
	ado_json_kint(j, "time", (long long)time(NULL));
}
