/* Unit tests for daemon/secret.c: the checks on secret files and what is read from them. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/sbuf.h"
#include "daemon/secret.h"

#define ERRLEN 512

static char tmpdir[64];

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *name, const void *data, size_t len, mode_t mode)
{
	char p[PATH_MAX];
	int fd;

	path_in(p, sizeof(p), name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Reads name from tmpdir; returns the status and leaves the secret or the error behind. */
static int read_secret(const char *name, size_t max, struct sbuf **s, size_t *len, char *err)
{
	char p[PATH_MAX];
	int rc;

	path_in(p, sizeof(p), name);
	err[0] = '\0';
	rc = secret_read_file(p, max, s, err, ERRLEN);
	*len = *s != NULL ? sbuf_len(*s) : 0;
	return rc;
}

static void assert_refused(const char *name, size_t max, const char *why)
{
	char err[ERRLEN];
	struct sbuf *s = (struct sbuf *)err;    /* anything but NULL: a failure must clear it */
	size_t len = 99;

	assert_int_equal(read_secret(name, max, &s, &len, err), -1);
	assert_null(s);
	assert_int_equal(len, 0);
	assert_non_null(strstr(err, name));
	if (strstr(err, why) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, why);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_secret.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	unsetenv("CREDENTIALS_DIRECTORY");
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_reads_and_strips_one_newline(void **state)
{
	char err[ERRLEN];
	struct sbuf *s = NULL;
	size_t len = 0;

	(void)state;
	write_file("lf", "s3cret\n", 7, 0600);
	assert_int_equal(read_secret("lf", 0, &s, &len, err), 0);
	assert_string_equal(sbuf_str(s), "s3cret");
	assert_int_equal(len, 6);
	sbuf_free(s);

	write_file("crlf", "pa ss\r\n", 7, 0400);
	assert_int_equal(read_secret("crlf", 0, &s, &len, err), 0);
	assert_string_equal(sbuf_str(s), "pa ss");
	assert_int_equal(len, 5);
	sbuf_free(s);

	write_file("two", "x\n\n", 3, 0600);
	assert_int_equal(read_secret("two", 0, &s, &len, err), 0);
	assert_string_equal(sbuf_str(s), "x\n");
	sbuf_free(s);

	write_file("none", "abc", 3, 0600);
	assert_int_equal(read_secret("none", 0, &s, &len, err), 0);
	assert_memory_equal(sbuf_str(s), "abc", 4);
	assert_int_equal(len, 3);
	sbuf_free(s);
}

static void test_binary_content_kept(void **state)
{
	static const char data[] = { 'a', '\0', 'b', '\n' };
	char err[ERRLEN];
	struct sbuf *s = NULL;
	size_t len = 0;

	(void)state;
	write_file("bin", data, sizeof(data), 0600);
	assert_int_equal(read_secret("bin", 0, &s, &len, err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(sbuf_ptr(s), data, 3);
	assert_int_equal(sbuf_ptr(s)[3], '\0');
	sbuf_free(s);
}

static void test_group_or_other_access_refused(void **state)
{
	char p[PATH_MAX], err[ERRLEN];

	(void)state;
	write_file("lax", "s3cret\n", 7, 0644);
	assert_refused("lax", 0, "readable by group or others");
	assert_refused("lax", 0, "chmod 600");
	write_file("gw", "s3cret\n", 7, 0620);
	assert_refused("gw", 0, "chmod 600");
	write_file("ox", "s3cret\n", 7, 0601);
	assert_refused("ox", 0, "chmod 600");

	path_in(p, sizeof(p), "lax");
	assert_int_equal(secret_check_file(p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	path_in(p, sizeof(p), "gw");
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(secret_check_file(p, err, sizeof(err)), 0);
}

static void test_symlink_refused(void **state)
{
	char target[PATH_MAX], link[PATH_MAX];

	(void)state;
	write_file("real", "s3cret\n", 7, 0600);
	path_in(target, sizeof(target), "real");
	path_in(link, sizeof(link), "link");
	assert_int_equal(symlink(target, link), 0);
	assert_refused("link", 0, "symbolic link");
}

static void test_not_regular_refused(void **state)
{
	char p[PATH_MAX];

	(void)state;
	path_in(p, sizeof(p), "dir");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_refused("dir", 0, "not a regular file");
	/* A FIFO must be refused, not waited on. */
	path_in(p, sizeof(p), "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_refused("fifo", 0, "not a regular file");
}

static void test_empty_refused(void **state)
{
	(void)state;
	write_file("empty", "", 0, 0600);
	assert_refused("empty", 0, "empty");
	write_file("nl", "\n", 1, 0600);
	assert_refused("nl", 0, "empty");
	write_file("crnl", "\r\n", 2, 0600);
	assert_refused("crnl", 0, "empty");
}

static void test_oversized_refused(void **state)
{
	char *big, err[ERRLEN];
	struct sbuf *s = NULL;
	size_t len = 0;

	(void)state;
	write_file("ten", "0123456789", 10, 0600);
	assert_refused("ten", 9, "larger than 9 bytes");
	assert_int_equal(read_secret("ten", 10, &s, &len, err), 0);
	assert_int_equal(len, 10);
	sbuf_free(s);

	big = malloc(SECRET_MAX_SIZE + 1);
	assert_non_null(big);
	memset(big, 'x', SECRET_MAX_SIZE + 1);
	write_file("big", big, SECRET_MAX_SIZE + 1, 0600);
	free(big);
	/* A caller's max never lifts the global bound. */
	assert_refused("big", 0, "larger than");
	assert_refused("big", (size_t)SECRET_MAX_SIZE * 4, "larger than");
}

static void test_missing_named(void **state)
{
	(void)state;
	assert_refused("nonexistent", 0, strerror(ENOENT));
}

static void test_foreign_owner_refused(void **state)
{
	char p[PATH_MAX];

	(void)state;
	if (getuid() != 0)
		skip();
	write_file("foreign", "s3cret\n", 7, 0600);
	path_in(p, sizeof(p), "foreign");
	assert_int_equal(chown(p, 4242, 4242), 0);
	assert_refused("foreign", 0, "owned by uid 4242");
}

static void test_credentials_directory(void **state)
{
	char creds[PATH_MAX], p[PATH_MAX], err[ERRLEN];
	struct sbuf *s = NULL;

	(void)state;
	path_in(creds, sizeof(creds), "creds");
	assert_int_equal(mkdir(creds, 0700), 0);
	write_file("creds/client-secret", "from-systemd\n", 13, 0400);
	write_file("client-secret", "from-tmpdir\n", 12, 0600);

	assert_int_equal(setenv("CREDENTIALS_DIRECTORY", creds, 1), 0);
	assert_int_equal(secret_read_file("client-secret", 0, &s, err, sizeof(err)), 0);
	assert_string_equal(sbuf_str(s), "from-systemd");
	sbuf_free(s);
	assert_int_equal(secret_check_file("client-secret", err, sizeof(err)), 0);

	/* An absolute path is taken as it is. */
	path_in(p, sizeof(p), "client-secret");
	assert_int_equal(secret_read_file(p, 0, &s, err, sizeof(err)), 0);
	assert_string_equal(sbuf_str(s), "from-tmpdir");
	sbuf_free(s);

	assert_int_equal(secret_read_file("absent", 0, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, creds));
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void test_free_null(void **state)
{
	(void)state;
	sbuf_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_and_strips_one_newline),
		cmocka_unit_test(test_binary_content_kept),
		cmocka_unit_test(test_group_or_other_access_refused),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_not_regular_refused),
		cmocka_unit_test(test_empty_refused),
		cmocka_unit_test(test_oversized_refused),
		cmocka_unit_test(test_missing_named),
		cmocka_unit_test(test_foreign_owner_refused),
		cmocka_unit_test(test_credentials_directory),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
