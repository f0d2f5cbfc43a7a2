/* schedule.c - the crontab block and the systemd units of the jobs (see schedule.h). */
#include "job/schedule.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/cron.h"

/* s for sh, inside a crontab line: quoted only when it needs to be, and
 * '%' escaped (cron turns a bare % into a newline). */
static void sh_word(struct ado_buf *b, const char *s)
{
	int plain = *s != '\0';

	for (const char *q = s; *q; q++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=:,@%", *q))
			plain = 0;
	if (!plain)
		ado_buf_add(b, "'", 1);
	for (const char *q = s; *q; q++) {
		if (*q == '\'')
			ado_buf_puts(b, "'\\''");
		else if (*q == '%')
			ado_buf_puts(b, "\\%");
		else
			ado_buf_add(b, q, 1);
	}
	if (!plain)
		ado_buf_add(b, "'", 1);
}

void ado_crontab_block(const struct ado_config *cfg, const struct ado_sched_paths *p, struct ado_buf *out)
{
	ado_buf_printf(out, "%s (from %s; ado-backup --install-crontab replaces this block)\n", ADO_CRONTAB_BEGIN,
		       p->config);
	ado_buf_puts(out, "CRON_TZ=UTC\nSHELL=/bin/sh\n");
	for (size_t i = 0; i < cfg->njobs; i++) {
		const struct ado_job *j = &cfg->jobs[i];

		if (!j->schedule) {
			ado_buf_printf(out, "# %s: no schedule\n", j->name);
			continue;
		}
		/* stdout (the references) is dropped so that success is silent;
		 * `$?` after || is ado-backup's status */
		ado_buf_printf(out, "%s ", j->schedule);
		sh_word(out, p->backup);
		ado_buf_puts(out, " -q -c ");
		sh_word(out, p->config);
		ado_buf_printf(out, " %s >/dev/null || ", j->name);
		sh_word(out, p->notify);
		ado_buf_puts(out, " -q -c ");
		sh_word(out, p->config);
		ado_buf_printf(out, " --severity critical --job %s \"backup job %s failed on $(hostname) (exit $?)\"\n",
			       j->name, j->name);
	}
	ado_buf_printf(out, "%s\n", ADO_CRONTAB_END);
}

/* Does the line at s (up to a newline) start with marker? */
static int line_is(const char *s, size_t n, const char *marker)
{
	size_t m = strlen(marker);

	return n >= m && !memcmp(s, marker, m);
}

void ado_crontab_merge(const char *old, size_t len, const char *block, struct ado_buf *out)
{
	int inside = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(old + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (old + i)) : len - i;

		if (!inside && line_is(old + i, n, ADO_CRONTAB_BEGIN))
			inside = 1;
		else if (inside && line_is(old + i, n, ADO_CRONTAB_END))
			inside = 0;
		else if (!inside) {
			ado_buf_add(out, old + i, n);
			ado_buf_add(out, "\n", 1);
		}
		i += n + 1;
	}
	ado_buf_puts(out, block);
}

/* Run crontab(1) with argv, feed it `in` (NULL: nothing), collect its
 * stdout into out and its stderr into errb; *status is its wait status. */
static int run_crontab(char *const argv[], const char *in, struct ado_buf *out, struct ado_buf *errb, int *status,
		       struct ado_err *e)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	struct { int fd; struct ado_buf *b; } rd[2];
	pid_t pid;
	char chunk[4096];

	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
		ado_err_set(e, ADO_E_IO, errno, "cannot run 'crontab'");
		goto fail;
	}
	if ((pid = fork()) < 0) {
		ado_err_set(e, ADO_E_CHILD, errno, "cannot run 'crontab'");
		goto fail;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0)
			_exit(127);
		closefrom(3);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;
	/* crontab reads all of its input before it writes anything, and its
	 * messages are a line or two: no poll loop needed */
	if (in) {
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);

		for (size_t off = 0, n = strlen(in); off < n;) {
			ssize_t w = write(pin[1], in + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		signal(SIGPIPE, old);
	}
	close(pin[1]);
	pin[1] = -1;
	rd[0].fd = pout[0];
	rd[0].b = out;
	rd[1].fd = perr[0];
	rd[1].b = errb;
	for (int i = 0; i < 2; i++) {
		ssize_t r;

		while ((r = read(rd[i].fd, chunk, sizeof(chunk))) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				break;
			ado_buf_add(rd[i].b, chunk, (size_t)r);
		}
		close(rd[i].fd);
	}
	pout[0] = perr[0] = -1;
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return ado_err_set(e, ADO_E_CHILD, errno, "cannot wait for 'crontab'");
	if (out->oom || errb->oom)
		return ado_err_set(e, ADO_E_NOMEM, 0, "out of memory reading the crontab");
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	return -1;
}

/* crontab's complaint, on one line, for a message */
static const char *first_line(struct ado_buf *b)
{
	if (!b->data || !b->len)
		return "no message";
	b->data[strcspn(b->data, "\n")] = '\0';
	return b->data;
}

int ado_crontab_install(const char *user, const char *block, struct ado_err *e)
{
	char *list[] = { "crontab", "-u", (char *)user, "-l", NULL };
	char *put[] = { "crontab", "-u", (char *)user, "-", NULL };
	struct ado_buf old, errb, merged, junk;
	const char *who = user ? user : "this user";
	int st, rc = -1;

	if (!user) {
		/* no -u: crontab -l / crontab - */
		list[1] = "-l";
		list[2] = NULL;
		put[1] = "-";
		put[2] = NULL;
	}
	ado_buf_init(&old);
	ado_buf_init(&errb);
	ado_buf_init(&merged);
	ado_buf_init(&junk);
	if (run_crontab(list, NULL, &old, &errb, &st, e) < 0)
		goto out;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		ado_err_set(e, ADO_E_CHILD, 0, "cannot run 'crontab'");
		ado_err_hint(e, "install cron (apt-get install cron)");
		goto out;
	}
	/* "no crontab for USER" (status 1, nothing on stdout): start from empty */
	if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && !(old.len == 0 && errb.data && strstr(errb.data, "no crontab")))) {
		ado_err_set(e, ADO_E_CHILD, 0, "cannot read the crontab of %s: %s", who, first_line(&errb));
		goto out;
	}
	ado_crontab_merge(old.data ? old.data : "", old.len, block, &merged);
	ado_buf_free(&errb);
	ado_buf_init(&errb);
	if (merged.oom) {
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
		goto out;
	}
	if (run_crontab(put, merged.data, &junk, &errb, &st, e) < 0)
		goto out;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		ado_err_set(e, ADO_E_CHILD, 0, "crontab refused the new crontab of %s: %s", who, first_line(&errb));
		goto out;
	}
	rc = 0;
out:
	ado_buf_free(&old);
	ado_buf_free(&errb);
	ado_buf_free(&merged);
	ado_buf_free(&junk);
	return rc;
}

int ado_systemd_units(const struct ado_job *job, const struct ado_sched_paths *p, struct ado_buf *out,
		      struct ado_err *e)
{
	char cal[256];

	if (!job->schedule)
		return ado_err_set(e, ADO_E_USAGE, 0, "job '%s' has no schedule", job->name);
	if (ado_cron_to_oncalendar(job->schedule, cal, sizeof(cal), e) < 0)
		return ado_err_prefix(e, "job '%s'", job->name);
	/* In units, % starts a specifier (%H is the host name) and $$ is a
	 * literal $ for the shell. */
	ado_buf_printf(out,
		       "# FILE: ado-backup-%s.service\n"
		       "[Unit]\n"
		       "Description=ado-dr backup job %s\n"
		       "Documentation=man:ado-backup(1)\n"
		       "Wants=network-online.target\n"
		       "After=network-online.target\n"
		       "\n"
		       "[Service]\n"
		       "Type=oneshot\n"
		       "UMask=0077\n"
		       "ExecStart=%s -q -c %s %s\n"
		       "StandardOutput=null\n"
		       "ExecStopPost=/bin/sh -c 'test \"$$SERVICE_RESULT\" = success || exec %s -q -c %s "
		       "--severity critical --job %s \"backup job %s failed on %%H (exit $$EXIT_STATUS)\"'\n"
		       "\n",
		       job->name, job->name, p->backup, p->config, job->name, p->notify, p->config, job->name,
		       job->name);
	ado_buf_printf(out,
		       "# FILE: ado-backup-%s.timer\n"
		       "[Unit]\n"
		       "Description=ado-dr backup job %s: schedule %s\n"
		       "Documentation=man:ado-backup(1)\n"
		       "\n"
		       "[Timer]\n"
		       "OnCalendar=%s\n"
		       "Persistent=true\n"
		       "\n"
		       "[Install]\n"
		       "WantedBy=timers.target\n",
		       job->name, job->name, job->schedule, cal);
	return out->oom ? ado_err_set(e, ADO_E_NOMEM, 0, "out of memory") : 0;
}
