/* ado-recover - full recovery through the plan's phases (not implemented yet). */
#include <stdio.h>
#include <string.h>

#include "ado.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: ado-recover ...\n\n"
			       "Full recovery through the plan's phases, timed against RTO/RPO targets.\n"
			       "not implemented yet: this version exits 2. Use ado-restore for partial recovery.\n");
			return ADO_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			fputs(ADO_VERSION_TEXT("ado-recover"), stdout);
			return ADO_EXIT_OK;
		}
	}
	fprintf(stderr, "ado-recover: not implemented yet\nhint: use ado-restore for database-only or files-only recovery\n");
	return ADO_EXIT_USAGE;
}
