/* fsutil.c - mkdir -p, scratch folders, rm -rf. */
#include "base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ado_mkdirs(const char *path, int mode, struct ado_err *e)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return ado_err_set(e, ADO_E_IO, ENAMETOOLONG, "bad folder name '%s'", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
			return ado_err_set(e, ADO_E_IO, errno, "cannot create folder '%s'", buf);
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
		return ado_err_set(e, ADO_E_IO, errno, "cannot create folder '%s'", buf);
	return 0;
}

char *ado_mkdtemp(const char *base, const char *prefix, struct ado_err *e)
{
	char buf[PATH_MAX];
	char *p;

	if (!base || !*base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(buf, sizeof(buf), "%s/%s.XXXXXX", base, prefix);
	if (!mkdtemp(buf)) {
		ado_err_set(e, ADO_E_IO, errno, "cannot create a scratch folder in '%s'", base);
		return NULL;
	}
	if (!(p = strdup(buf))) {
		rmdir(buf);
		ado_err_set(e, ADO_E_NOMEM, 0, "out of memory");
	}
	return p;
}

int ado_rm_rf(const char *path, struct ado_err *e)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : ado_err_set(e, ADO_E_IO, errno, "cannot stat '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return ado_err_set(e, ADO_E_IO, errno, "cannot remove '%s'", path);
		return 0;
	}
	/* extracted trees may hold read-only folders */
	if ((st.st_mode & 0700) != 0700)
		chmod(path, st.st_mode | 0700);
	if (!(d = opendir(path)))
		return ado_err_set(e, ADO_E_IO, errno, "cannot list '%s'", path);
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub)) {
			rc = ado_err_set(e, ADO_E_IO, ENAMETOOLONG, "cannot remove '%s/%s'", path, de->d_name);
			continue;
		}
		if (ado_rm_rf(sub, e) < 0)
			rc = -1;
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		rc = ado_err_set(e, ADO_E_IO, errno, "cannot remove folder '%s'", path);
	return rc;
}

