/*
 * Helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): copies
 * of the input as C strings, files in memory (memfd) or in one private
 * temporary directory, argv vectors, a JSON depth check, and FUZZ_CHECK,
 * which aborts (a crash libFuzzer reports) when a parser breaks a promise
 * of its header.  Header-only so that each harness stays one .c file.
 *
 * Rules every harness keeps: deterministic (no clock, no randomness, the
 * same answer for the same input), no network, no leaks (LeakSanitizer
 * runs), and no writes outside memfds and the private directory.
 */
#ifndef EXOD_FUZZ_UTIL_H
#define EXOD_FUZZ_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken promise: print where, and abort so that libFuzzer keeps the input. */
#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* Fatal set-up failures (not findings): say so and stop. */
#define FUZZ_SETUP(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: fuzz harness set-up failed: %s: %s\n", __FILE__, \
				__LINE__, #cond, strerror(errno)); \
			exit(2); \
		} \
	} while (0)

/* data[0..size) as a malloc'd NUL-terminated string (NUL bytes inside stay). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_SETUP(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* 1 when s[0..n) has no NUL byte. */
static inline int fuzz_no_nul(const uint8_t *s, size_t n)
{
	return n == 0 || memchr(s, '\0', n) == NULL;
}

/* 1 when the string has a NUL within max bytes: a fixed buffer a parser filled is terminated. */
static inline int fuzz_terminated(const char *s, size_t max)
{
	return memchr(s, '\0', max) != NULL;
}

/*
 * 1 when no JSON container in s[0..n) nests deeper than max (strings
 * skipped).  yajl_tree_free recurses, so callers that build trees of
 * arbitrary input check first, as exod and exoctl do.
 */
static inline int fuzz_json_depth_ok(const char *s, size_t n, int max)
{
	int depth = 0, in_str = 0, esc = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return 0;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 1;
}

/*
 * A file in memory that the code under test opens by name
 * ("/proc/self/fd/N"), with mode 0600 so that checks for private files
 * pass.  Created once per process and rewritten per input.
 */
struct fuzz_memfile {
	int fd;
	char path[64];
};

static inline void fuzz_memfile_init(struct fuzz_memfile *m, const char *name)
{
	m->fd = memfd_create(name, MFD_CLOEXEC);
	FUZZ_SETUP(m->fd >= 0);
	FUZZ_SETUP(fchmod(m->fd, 0600) == 0);
	snprintf(m->path, sizeof(m->path), "/proc/self/fd/%d", m->fd);
}

static inline void fuzz_memfile_set(struct fuzz_memfile *m, const void *data, size_t size)
{
	const char *p = data;
	size_t off = 0;

	FUZZ_SETUP(ftruncate(m->fd, 0) == 0);
	while (off < size) {
		ssize_t n = pwrite(m->fd, p + off, size - off, (off_t)off);

		FUZZ_SETUP(n > 0 || (n < 0 && errno == EINTR));
		if (n > 0)
			off += (size_t)n;
	}
}

/*
 * One private directory (mode 0700) for the whole process, under
 * $FUZZ_TMPDIR, /dev/shm or /tmp, removed with its files at exit.  A
 * crash (abort, _Exit) leaves it behind: exod-fuzz.XXXXXX, a few KiB.
 */
static char fuzz_tmpdir_path[PATH_MAX];

static inline void fuzz_tmpdir_cleanup(void)
{
	struct dirent *e;
	DIR *d;

	if (fuzz_tmpdir_path[0] == '\0')
		return;
	/* The directory holds plain files and sockets only: no recursion needed. */
	d = opendir(fuzz_tmpdir_path);
	if (d != NULL) {
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	if (rmdir(fuzz_tmpdir_path) != 0)
		fprintf(stderr, "fuzz: could not remove %s: %s\n", fuzz_tmpdir_path, strerror(errno));
	fuzz_tmpdir_path[0] = '\0';
}

static inline const char *fuzz_tmpdir(void)
{
	const char *base;
	struct stat st;

	if (fuzz_tmpdir_path[0] != '\0')
		return fuzz_tmpdir_path;
	base = getenv("FUZZ_TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0 ?
		       "/dev/shm" : "/tmp";
	snprintf(fuzz_tmpdir_path, sizeof(fuzz_tmpdir_path), "%s/exod-fuzz.XXXXXX", base);
	FUZZ_SETUP(mkdtemp(fuzz_tmpdir_path) != NULL);
	FUZZ_SETUP(chmod(fuzz_tmpdir_path, 0700) == 0);
	atexit(fuzz_tmpdir_cleanup);
	return fuzz_tmpdir_path;
}

/* Replaces dir/name with data, mode 0600. */
static inline void fuzz_write_file(const char *dir, const char *name, const void *data, size_t size)
{
	char path[PATH_MAX];
	const char *p = data;
	size_t off = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	FUZZ_SETUP(fd >= 0);
	FUZZ_SETUP(fchmod(fd, 0600) == 0);
	while (off < size) {
		ssize_t n = write(fd, p + off, size - off);

		FUZZ_SETUP(n > 0 || (n < 0 && errno == EINTR));
		if (n > 0)
			off += (size_t)n;
	}
	close(fd);
}

/*
 * An argument vector made of the input: arguments are separated by NUL
 * bytes or newlines (so a seed file can be one argument per line).  argv
 * points into one buffer; free with fuzz_argv_free.
 */
struct fuzz_argv {
	int argc;
	char **argv;
	char *buf;
};

static inline void fuzz_argv_make(struct fuzz_argv *a, const uint8_t *data, size_t size, int max)
{
	size_t start = 0;

	a->buf = fuzz_strndup(data, size);
	a->argv = calloc((size_t)max + 1, sizeof(*a->argv));
	FUZZ_SETUP(a->argv != NULL);
	a->argc = 0;
	for (size_t i = 0; i <= size && a->argc < max; i++) {
		if (i == size || a->buf[i] == '\0' || a->buf[i] == '\n') {
			/* A trailing newline ends the last argument; it does not start an empty one. */
			if (i == size && start == size)
				break;
			a->buf[i] = '\0';
			a->argv[a->argc++] = a->buf + start;
			start = i + 1;
		}
	}
	a->argv[a->argc] = NULL;
}

static inline void fuzz_argv_free(struct fuzz_argv *a)
{
	free(a->argv);
	free(a->buf);
	a->argv = NULL;
	a->buf = NULL;
}

#endif
