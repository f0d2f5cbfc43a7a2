/* ado.h - version and exit statuses shared by every ado-dr tool.
 * The exit statuses are mirrored in every man page's EXIT STATUS section. */
#ifndef ADO_H
#define ADO_H

#define ADO_VERSION "0.1.0"

enum ado_exit {
	ADO_EXIT_OK = 0,	/* done */
	ADO_EXIT_FAIL = 1,	/* the work ran and failed */
	ADO_EXIT_USAGE = 2,	/* usage or configuration error, nothing done */
	ADO_EXIT_PARTIAL = 3,	/* some targets or destinations failed, others succeeded */
	ADO_EXIT_LOCKED = 4,	/* another run holds this job's lock, nothing done */
	ADO_EXIT_TARGET = 5,	/* done, but an RPO or RTO target was missed */
	ADO_EXIT_UNCHECKED = 6,	/* could not check or read now (a server down, a login refused, an
				 * archived copy not thawed): nothing is known to be damaged */
	ADO_EXIT_ARCHIVED = ADO_EXIT_UNCHECKED,	/* one case of it: in an archive tier, ask with ado-restore --thaw */
};

/* Print "PROG VERSION" to stdout: the shared --version text. */
#define ADO_VERSION_TEXT(prog) prog " (ado-dr) " ADO_VERSION "\n"

#endif
