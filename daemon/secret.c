/* Secret files: opened without following symlinks, checked like ssh checks a key, wiped when freed. */
#include "daemon/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_CREDS_ENV "CREDENTIALS_DIRECTORY"

/* A relative name means a systemd credential when the service has any. */
static int secret_resolve(const char *path, char *buf, size_t buflen,
			  char *err, size_t errlen)
{
	const char *dir = getenv(SECRET_CREDS_ENV);
	int n;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "secret file: no path given");
		return -1;
	}
	if (path[0] == '/' || dir == NULL || dir[0] == '\0')
		n = snprintf(buf, buflen, "%s", path);
	else
		n = snprintf(buf, buflen, "%s/%s", dir, path);
	if (n < 0 || (size_t)n >= buflen) {
		snprintf(err, errlen, "secret file %.64s...: path too long", path);
		return -1;
	}
	return 0;
}

int secret_path(const char *path, char *buf, size_t buflen, char *err, size_t errlen)
{
	return secret_resolve(path, buf, buflen, err, errlen);
}

static int secret_check_stat(const char *path, const struct stat *st, size_t max,
			     char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "secret file %s is not a regular file", path);
		return -1;
	}
	if (st->st_uid != getuid() && st->st_uid != 0) {
		snprintf(err, errlen, "secret file %s is owned by uid %u, not by us (uid %u) or root",
			 path, (unsigned)st->st_uid, (unsigned)getuid());
		return -1;
	}
	if ((st->st_mode & 077) != 0) {
		snprintf(err, errlen, "secret file %s is %s by group or others (mode %04o); chmod 600 it",
			 path, (st->st_mode & 044) ? "readable" : "writable",
			 (unsigned)(st->st_mode & 07777));
		return -1;
	}
	if (st->st_size == 0) {
		snprintf(err, errlen, "secret file %s is empty", path);
		return -1;
	}
	if ((unsigned long long)st->st_size > max) {
		snprintf(err, errlen, "secret file %s is larger than %zu bytes", path, max);
		return -1;
	}
	return 0;
}

/* Opens and checks; O_NONBLOCK so that a FIFO planted in its place cannot hang us. */
static int secret_open(const char *path, size_t max, char *resolved, size_t rlen,
		       struct stat *st, char *err, size_t errlen)
{
	int fd;

	if (secret_resolve(path, resolved, rlen, err, errlen) < 0)
		return -1;
	fd = open(resolved, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "secret file %s is a symbolic link; refusing to follow it",
				 resolved);
		else
			snprintf(err, errlen, "secret file %s: %s", resolved, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0) {
		snprintf(err, errlen, "secret file %s: %s", resolved, strerror(errno));
		close(fd);
		return -1;
	}
	if (secret_check_stat(resolved, st, max, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static size_t secret_effective_max(size_t max)
{
	return (max == 0 || max > SECRET_MAX_SIZE) ? SECRET_MAX_SIZE : max;
}

/* Reads exactly what fstat promised, then makes sure nothing more follows. */
static int secret_read_fd(int fd, const char *path, char *buf, size_t want,
			  size_t *got, char *err, size_t errlen)
{
	char extra;
	ssize_t n;

	*got = 0;
	while (*got < want) {
		n = read(fd, buf + *got, want - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "secret file %s: %s", path, strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	do {
		n = read(fd, &extra, 1);
	} while (n < 0 && errno == EINTR);
	explicit_bzero(&extra, sizeof(extra));
	if (n != 0) {
		snprintf(err, errlen, "secret file %s changed while being read", path);
		return -1;
	}
	return 0;
}

int secret_read_file(const char *path, size_t max, char **out, size_t *out_len,
		     char *err, size_t errlen)
{
	char resolved[PATH_MAX];
	struct stat st;
	char *buf = NULL;
	size_t size = 0, len = 0;
	int fd, rc = -1;

	*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	max = secret_effective_max(max);
	fd = secret_open(path, max, resolved, sizeof(resolved), &st, err, errlen);
	if (fd < 0)
		return -1;
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "secret file %s: out of memory", resolved);
		goto out;
	}
	if (secret_read_fd(fd, resolved, buf, size, &len, err, errlen) < 0)
		goto out;
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		snprintf(err, errlen, "secret file %s is empty", resolved);
		goto out;
	}
	/* Wipe the stripped newline and anything the file lost while we read it. */
	explicit_bzero(buf + len, size + 1 - len);
	*out = buf;
	if (out_len != NULL)
		*out_len = len;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL)
		secret_free(buf, size + 1);
	close(fd);
	return rc;
}

int secret_check_file(const char *path, char *err, size_t errlen)
{
	char resolved[PATH_MAX];
	struct stat st;
	int fd;

	fd = secret_open(path, SECRET_MAX_SIZE, resolved, sizeof(resolved), &st, err, errlen);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

void secret_free(char *s, size_t len)
{
	if (s == NULL)
		return;
	explicit_bzero(s, len);
	free(s);
}

void secret_free_str(char *s)
{
	if (s == NULL)
		return;
	secret_free(s, strlen(s));
}
