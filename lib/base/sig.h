/* sig.h - Ctrl-C and SIGTERM (cron, systemd) as a flag, not a longjmp:
 * the tools install the handlers; lib/ checks ado_interrupted() between
 * chunks and unwinds through its normal cleanup path (temporary folders and
 * databases are removed, partial uploads aborted) with ADO_E_INTERRUPTED. */
#ifndef ADO_SIG_H
#define ADO_SIG_H

/* Install handlers for SIGINT, SIGTERM and SIGHUP (no SA_RESTART, so blocking
 * reads return EINTR), and ignore SIGPIPE (a closed pipe is an EPIPE error). */
void ado_sig_install(void);
/* The signal number received, or 0. */
int ado_interrupted(void);
/* Exit status for a run stopped by signal n (128 + n). */
int ado_sig_exit(int n);

#endif
