/* Secret files: opened without following symlinks, checked like ssh checks a key, read into sbufs. */
#include "daemon/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sbuf.h"

#define SECRET_CREDS_ENV "CREDENTIALS_DIRECTORY"

int secret_path(const char *path, char *buf, size_t buflen, char *err, size_t errlen)
{
	const char *dir = getenv(SECRET_CREDS_ENV);
	int n;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "secret file: no path given");
		return -1;
	}
	/* A relative name means a systemd credential when the service has any. */
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

static int secret_check_stat(const char *shown, const struct stat *st, size_t max, unsigned flags,
			     char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", shown);
		return -1;
	}
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		snprintf(err, errlen, "%s is owned by uid %u, not by us (uid %u) or root",
			 shown, (unsigned)st->st_uid, (unsigned)geteuid());
		return -1;
	}
	if ((flags & SECRET_PRIVATE) && (st->st_mode & 077) != 0) {
		snprintf(err, errlen, "%s is %s by group or others (mode %04o); chmod 600 it",
			 shown, (st->st_mode & 044) ? "readable" : "writable",
			 (unsigned)(st->st_mode & 07777));
		return -1;
	}
	if (st->st_size == 0) {
		snprintf(err, errlen, "%s is empty", shown);
		return -1;
	}
	if ((unsigned long long)st->st_size > max) {
		snprintf(err, errlen, "%s is larger than %zu bytes", shown, max);
		return -1;
	}
	return 0;
}

/* O_NONBLOCK so that a FIFO planted in its place cannot hang us; O_NOFOLLOW for a planted symlink. */
static int secret_open(int dirfd, const char *name, const char *shown, size_t max, unsigned flags,
		       struct stat *st, char *err, size_t errlen)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "%s is a symbolic link; refusing to follow it", shown);
		else
			snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0) {
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		close(fd);
		return -1;
	}
	if (secret_check_stat(shown, st, max, flags, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads exactly what fstat promised, then makes sure nothing more follows. */
static int secret_read_fd(int fd, const char *shown, struct sbuf *b, size_t want,
			  char *err, size_t errlen)
{
	unsigned char *dst = sbuf_reserve(b, want + 1);
	size_t got = 0;
	ssize_t n;

	if (dst == NULL) {
		snprintf(err, errlen, "%s: out of memory", shown);
		return -1;
	}
	while (got <= want) {
		n = read(fd, dst + got, want + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", shown, strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	sbuf_commit(b, got);
	if (got != want) {
		snprintf(err, errlen, "%s changed while being read", shown);
		return -1;
	}
	return 0;
}

/* Drops one trailing "\n" or "\r\n" by copying what comes before into a fresh buffer. */
static int secret_strip(struct sbuf **b)
{
	size_t len = sbuf_len(*b);
	const unsigned char *p = sbuf_ptr(*b);
	struct sbuf *cut;

	if (len > 0 && p[len - 1] == '\n') {
		len--;
		if (len > 0 && p[len - 1] == '\r')
			len--;
	}
	if (len == sbuf_len(*b))
		return 0;
	cut = sbuf_dup(p, len);
	if (cut == NULL)
		return -1;
	sbuf_free(*b);
	*b = cut;
	return 0;
}

int secret_load(int dirfd, const char *name, const char *shown, size_t max, unsigned flags,
		struct sbuf **out, mode_t *mode, char *err, size_t errlen)
{
	struct stat st;
	struct sbuf *b = NULL;
	int fd, rc = -1;

	*out = NULL;
	fd = secret_open(dirfd, name, shown, max, flags, &st, err, errlen);
	if (fd < 0)
		return -1;
	b = sbuf_new((size_t)st.st_size + 1);
	if (b == NULL) {
		snprintf(err, errlen, "%s: out of memory", shown);
		goto out;
	}
	if (secret_read_fd(fd, shown, b, (size_t)st.st_size, err, errlen) < 0)
		goto out;
	if ((flags & SECRET_STRIP_NEWLINE) && secret_strip(&b) < 0) {
		snprintf(err, errlen, "%s: out of memory", shown);
		goto out;
	}
	if (sbuf_len(b) == 0) {
		snprintf(err, errlen, "%s is empty", shown);
		goto out;
	}
	if (mode != NULL)
		*mode = st.st_mode;
	*out = b;
	b = NULL;
	rc = 0;
out:
	sbuf_free(b);
	close(fd);
	return rc;
}

static size_t secret_effective_max(size_t max)
{
	return (max == 0 || max > SECRET_MAX_SIZE) ? SECRET_MAX_SIZE : max;
}

int secret_read_file(const char *path, size_t max, struct sbuf **out, char *err, size_t errlen)
{
	char resolved[PATH_MAX], shown[PATH_MAX + 16];

	*out = NULL;
	if (secret_path(path, resolved, sizeof(resolved), err, errlen) < 0)
		return -1;
	snprintf(shown, sizeof(shown), "secret file %s", resolved);
	return secret_load(AT_FDCWD, resolved, shown, secret_effective_max(max),
			   SECRET_PRIVATE | SECRET_STRIP_NEWLINE, out, NULL, err, errlen);
}

int secret_check_open(const char *path, int dir, char *err, size_t errlen)
{
	char resolved[PATH_MAX];
	int fd;

	if (secret_path(path, resolved, sizeof(resolved), err, errlen) < 0)
		return -1;
	/* O_NONBLOCK: a FIFO in its place does not hang us. */
	fd = open(resolved, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (dir ? O_DIRECTORY : 0));
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", resolved, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int secret_check_file(const char *path, char *err, size_t errlen)
{
	char resolved[PATH_MAX], shown[PATH_MAX + 16];
	struct stat st;
	int fd;

	if (secret_path(path, resolved, sizeof(resolved), err, errlen) < 0)
		return -1;
	snprintf(shown, sizeof(shown), "secret file %s", resolved);
	fd = secret_open(AT_FDCWD, resolved, shown, SECRET_MAX_SIZE, SECRET_PRIVATE, &st, err, errlen);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}
