/* Unit tests for daemon/cache.c: round trips, identity matching and the file hygiene checks. */
#include <dirent.h>
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
#include "daemon/cache.h"
#include "daemon/secret.h"

#define ERRLEN 512
#define UPNLEN 256
#define RT "0.ARoAv4j5cvGGr0GRqy180BHbR-refresh.token_value"
#define TENANT_ID "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define APP_ID "fb78d390-0c51-40cd-8e17-fdbfab77341b"
#define AUTHORITY "https://login.microsoftonline.com"

static char tmpdir[64];
static char statedir[128];

static const struct cache_key key = {
	.profile = "contoso",
	.authority = AUTHORITY,
	.tenant = TENANT_ID,
	.client_id = APP_ID,
};

static void path_in(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len,
		       mode_t mode)
{
	char p[PATH_MAX];
	int fd;

	path_in(p, sizeof(p), dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void write_str(const char *dir, const char *name, const char *s)
{
	write_file(dir, name, s, strlen(s), 0600);
}

static void assert_contains(const char *err, const char *want)
{
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, want);
}

/* Loads key from dir and expects rc; on -1 the message must say why. */
static void assert_load(const char *dir, const struct cache_key *k, int rc, const char *why)
{
	char err[ERRLEN] = "", upn[UPNLEN] = "untouched";
	struct sbuf *rt = (struct sbuf *)&rc;   /* anything but NULL: cache_load must clear it */

	assert_int_equal(cache_load(dir, k, &rt, upn, sizeof(upn), err, sizeof(err)), rc);
	assert_null(rt);
	assert_string_equal(upn, "");
	if (why != NULL)
		assert_contains(err, why);
}

/* Loads key from statedir and expects the token want. */
static void load_ok(const char *want)
{
	char err[ERRLEN] = "";
	struct sbuf *rt = NULL;

	if (cache_load(statedir, &key, &rt, NULL, 0, err, sizeof(err)) != 0)
		fail_msg("cache_load: %s", err);
	assert_string_equal(sbuf_str(rt), want);
	sbuf_free(rt);
}

static void store_ok(const char *rt, const char *upn)
{
	char err[ERRLEN] = "";

	if (cache_store(statedir, &key, rt, upn, err, sizeof(err)) != 0)
		fail_msg("cache_store: %s", err);
}

/* Number of entries in statedir other than . and .. */
static int count_entries(void)
{
	struct dirent *de;
	DIR *d = opendir(statedir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
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
	char err[ERRLEN];

	(void)state;
	umask(077);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cache.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	path_in(statedir, sizeof(statedir), tmpdir, "state");
	return cache_check_dir(statedir, err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	chmod(statedir, 0700);
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_round_trip(void **state)
{
	char err[ERRLEN], upn[UPNLEN];
	struct sbuf *rt = NULL;

	(void)state;
	store_ok(RT, "admin@contoso.onmicrosoft.com");
	assert_int_equal(cache_load(statedir, &key, &rt, upn, sizeof(upn), err, sizeof(err)), 0);
	assert_string_equal(sbuf_str(rt), RT);
	assert_string_equal(upn, "admin@contoso.onmicrosoft.com");
	sbuf_free(rt);

	/* A second store replaces the first; no upn leaves an empty one. */
	store_ok("second-token", NULL);
	assert_int_equal(cache_load(statedir, &key, &rt, upn, sizeof(upn), err, sizeof(err)), 0);
	assert_string_equal(sbuf_str(rt), "second-token");
	assert_string_equal(upn, "");
	sbuf_free(rt);

	/* upn is optional for the caller too. */
	assert_int_equal(cache_load(statedir, &key, &rt, NULL, 0, err, sizeof(err)), 0);
	assert_string_equal(sbuf_str(rt), "second-token");
	sbuf_free(rt);
}

static void test_file_format(void **state)
{
	char p[PATH_MAX], buf[1024];
	ssize_t n;
	int fd;

	(void)state;
	store_ok(RT, "admin@contoso.onmicrosoft.com");
	path_in(p, sizeof(p), statedir, "contoso.token");
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_contains(buf, "\"version\":1");
	assert_contains(buf, "\"profile\":\"contoso\"");
	assert_contains(buf, "\"tenant\":\"" TENANT_ID "\"");
	assert_contains(buf, "\"refresh_token\":\"" RT "\"");
	assert_contains(buf, "\"saved_at\":");
}

static void test_hand_written_file_read(void **state)
{
	char err[ERRLEN], upn[UPNLEN];
	struct sbuf *rt = NULL;
	struct cache_key upper = key;

	(void)state;
	write_str(statedir, "contoso.token",
		  "{\"version\":1,\"profile\":\"contoso\",\"authority\":\"" AUTHORITY "\","
		  "\"tenant\":\"" TENANT_ID "\",\"client_id\":\"" APP_ID "\","
		  "\"upn\":\"u@x.example\",\"refresh_token\":\"hand-\\u0041\",\"saved_at\":17}\n");
	/* Tenant GUIDs and app ids are compared as Entra does, without regard to case. */
	upper.tenant = "72F988BF-86F1-41AF-91AB-2D7CD011DB47";
	assert_int_equal(cache_load(statedir, &upper, &rt, upn, sizeof(upn), err, sizeof(err)), 0);
	assert_string_equal(sbuf_str(rt), "hand-A");
	assert_string_equal(upn, "u@x.example");
	sbuf_free(rt);
}

static void test_other_identity_is_none(void **state)
{
	struct cache_key k;

	(void)state;
	store_ok(RT, "admin@contoso.onmicrosoft.com");
	k = key;
	k.tenant = "fabrikam.onmicrosoft.com";
	assert_load(statedir, &k, 1, NULL);
	k = key;
	k.client_id = "36ee4c6c-0812-40a2-b820-b22ebd02bce3";
	assert_load(statedir, &k, 1, NULL);
	k = key;
	k.authority = "https://login.microsoftonline.us";
	assert_load(statedir, &k, 1, NULL);
	/* A file for another identity is left alone: the caller decides. */
	assert_int_equal(count_entries(), 1);
}

static void test_absent_is_none(void **state)
{
	(void)state;
	assert_load(statedir, &key, 1, NULL);
}

static void test_remove(void **state)
{
	char err[ERRLEN];

	(void)state;
	store_ok(RT, NULL);
	assert_int_equal(cache_remove(statedir, "contoso", err, sizeof(err)), 0);
	assert_load(statedir, &key, 1, NULL);
	assert_int_equal(count_entries(), 0);
	/* Nothing to remove is not an error. */
	assert_int_equal(cache_remove(statedir, "contoso", err, sizeof(err)), 0);
}

static void test_no_temp_file_left(void **state)
{
	struct dirent *de;
	DIR *d;

	(void)state;
	store_ok(RT, NULL);
	store_ok("again", NULL);
	assert_int_equal(count_entries(), 1);
	d = opendir(statedir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			assert_string_equal(de->d_name, "contoso.token");
	closedir(d);
}

static void test_failed_store_cleans_up(void **state)
{
	char p[PATH_MAX], err[ERRLEN] = "";

	(void)state;
	/* A non-empty directory in the file's place makes the rename fail. */
	path_in(p, sizeof(p), statedir, "contoso.token");
	assert_int_equal(mkdir(p, 0700), 0);
	write_str(p, "x", "x");
	assert_int_equal(cache_store(statedir, &key, RT, NULL, err, sizeof(err)), -1);
	assert_contains(err, "contoso.token");
	assert_int_equal(count_entries(), 1);
}

static void test_stored_mode_0600(void **state)
{
	char p[PATH_MAX];
	struct stat st;

	(void)state;
	/* The mode must not depend on a careful umask. */
	umask(0);
	store_ok(RT, NULL);
	umask(077);
	path_in(p, sizeof(p), statedir, "contoso.token");
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_lax_mode_refused(void **state)
{
	char p[PATH_MAX];

	(void)state;
	store_ok(RT, NULL);
	path_in(p, sizeof(p), statedir, "contoso.token");
	assert_int_equal(chmod(p, 0644), 0);
	assert_load(statedir, &key, -1, "readable by group or others");
	assert_load(statedir, &key, -1, p);
	assert_int_equal(chmod(p, 0620), 0);
	assert_load(statedir, &key, -1, "by group or others");
	assert_int_equal(chmod(p, 0600), 0);
	load_ok(RT);
}

static void test_symlink_file_refused(void **state)
{
	char target[PATH_MAX], link[PATH_MAX], err[ERRLEN];

	(void)state;
	/* A valid cache file elsewhere, reached through a link. */
	store_ok(RT, NULL);
	path_in(target, sizeof(target), tmpdir, "elsewhere.token");
	path_in(link, sizeof(link), statedir, "contoso.token");
	assert_int_equal(rename(link, target), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_load(statedir, &key, -1, "symbolic link");
	/* A store replaces the link itself and leaves its target alone. */
	store_ok("replaced", NULL);
	assert_int_equal(access(target, F_OK), 0);
	assert_int_equal(cache_remove(statedir, "contoso", err, sizeof(err)), 0);
}

static void test_symlinked_state_dir_refused(void **state)
{
	char link[PATH_MAX], err[ERRLEN] = "";

	(void)state;
	store_ok(RT, NULL);
	path_in(link, sizeof(link), tmpdir, "link");
	assert_int_equal(symlink(statedir, link), 0);
	assert_load(link, &key, -1, "symbolic link");
	assert_int_equal(cache_store(link, &key, "via-link", NULL, err, sizeof(err)), -1);
	assert_contains(err, "symbolic link");
	err[0] = '\0';
	assert_int_equal(cache_remove(link, "contoso", err, sizeof(err)), -1);
	assert_contains(err, "symbolic link");
	err[0] = '\0';
	assert_int_equal(cache_check_dir(link, err, sizeof(err)), -1);
	assert_contains(err, "symbolic link");
	/* Nothing reached the real directory through the link. */
	assert_int_equal(count_entries(), 1);
	load_ok(RT);
}

static void test_not_regular_refused(void **state)
{
	char p[PATH_MAX];

	(void)state;
	path_in(p, sizeof(p), statedir, "contoso.token");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_load(statedir, &key, -1, "not a regular file");
}

static void test_foreign_owner_refused(void **state)
{
	char p[PATH_MAX];

	(void)state;
	if (geteuid() != 0)
		skip();
	store_ok(RT, NULL);
	path_in(p, sizeof(p), statedir, "contoso.token");
	assert_int_equal(chown(p, 1, 1), 0);
	assert_load(statedir, &key, -1, "owned by uid 1");
}

static void test_oversized_refused(void **state)
{
	char *big;

	(void)state;
	big = malloc(CACHE_MAX_FILE + 1);
	assert_non_null(big);
	memset(big, ' ', CACHE_MAX_FILE + 1);
	write_file(statedir, "contoso.token", big, CACHE_MAX_FILE + 1, 0600);
	free(big);
	assert_load(statedir, &key, -1, "larger than");
}

static void test_store_too_large_refused(void **state)
{
	char err[ERRLEN] = "", *rt;

	(void)state;
	rt = malloc(CACHE_MAX_FILE);
	assert_non_null(rt);
	memset(rt, 'a', CACHE_MAX_FILE - 1);
	rt[CACHE_MAX_FILE - 1] = '\0';
	assert_int_equal(cache_store(statedir, &key, rt, NULL, err, sizeof(err)), -1);
	free(rt);
	assert_contains(err, "larger than");
	assert_int_equal(count_entries(), 0);
}

static void test_garbage_refused(void **state)
{
	(void)state;
	write_str(statedir, "contoso.token", "{\"version\":1,\"refresh_token\":\"abc");
	assert_load(statedir, &key, -1, "not a valid JSON object");
	write_str(statedir, "contoso.token", "[1,2,3]");
	assert_load(statedir, &key, -1, "not a valid JSON object");
	write_str(statedir, "contoso.token", "");
	assert_load(statedir, &key, -1, "is empty");
	/* Our identity, but no token in it. */
	write_str(statedir, "contoso.token",
		  "{\"version\":1,\"authority\":\"" AUTHORITY "\",\"tenant\":\"" TENANT_ID "\","
		  "\"client_id\":\"" APP_ID "\",\"refresh_token\":42}");
	assert_load(statedir, &key, -1, "no valid refresh token");
}

static void test_wrong_version_refused(void **state)
{
	(void)state;
	write_str(statedir, "contoso.token",
		  "{\"version\":2,\"authority\":\"" AUTHORITY "\",\"tenant\":\"" TENANT_ID "\","
		  "\"client_id\":\"" APP_ID "\",\"refresh_token\":\"x\"}");
	assert_load(statedir, &key, -1, "version 2");
	write_str(statedir, "contoso.token",
		  "{\"version\":\"1\",\"authority\":\"" AUTHORITY "\",\"tenant\":\"" TENANT_ID "\","
		  "\"client_id\":\"" APP_ID "\",\"refresh_token\":\"x\"}");
	assert_load(statedir, &key, -1, "no valid version");
}

static void test_upn_too_long_for_buffer(void **state)
{
	char err[ERRLEN] = "", upn[8];
	struct sbuf *rt = NULL;

	(void)state;
	store_ok(RT, "longer-than-eight@example.com");
	assert_int_equal(cache_load(statedir, &key, &rt, upn, sizeof(upn), err, sizeof(err)), -1);
	assert_null(rt);
	assert_contains(err, "upn");
}

static void test_bad_profile_names_refused(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "../etc" };
	char err[ERRLEN];
	struct cache_key k = key;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k.profile = bad[i];
		err[0] = '\0';
		assert_int_equal(cache_store(statedir, &k, RT, NULL, err, sizeof(err)), -1);
		assert_contains(err, "profile name");
		assert_load(statedir, &k, -1, "profile name");
		assert_int_equal(cache_remove(statedir, bad[i], err, sizeof(err)), -1);
	}
	assert_int_equal(count_entries(), 0);
}

static void test_bad_token_not_stored(void **state)
{
	char err[ERRLEN] = "";

	(void)state;
	assert_int_equal(cache_store(statedir, &key, "", NULL, err, sizeof(err)), -1);
	assert_int_equal(cache_store(statedir, &key, "a\nb", NULL, err, sizeof(err)), -1);
	assert_int_equal(cache_store(statedir, &key, "ok", "bad\xff", err, sizeof(err)), -1);
	assert_int_equal(count_entries(), 0);
}

static void test_check_dir_creates_private(void **state)
{
	char p[PATH_MAX], err[ERRLEN] = "";
	struct stat st;

	(void)state;
	umask(0);
	path_in(p, sizeof(p), tmpdir, "fresh");
	assert_int_equal(cache_check_dir(p, err, sizeof(err)), 0);
	umask(077);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* An existing good directory passes again. */
	assert_int_equal(cache_check_dir(p, err, sizeof(err)), 0);
	/* Parents are not created. */
	path_in(p, sizeof(p), tmpdir, "no/such");
	assert_int_equal(cache_check_dir(p, err, sizeof(err)), -1);
	assert_contains(err, p);
}

static void test_check_dir_lax_mode_refused(void **state)
{
	char err[ERRLEN] = "";

	(void)state;
	assert_int_equal(chmod(statedir, 0755), 0);
	assert_int_equal(cache_check_dir(statedir, err, sizeof(err)), -1);
	assert_contains(err, "chmod 700");
	assert_contains(err, statedir);
	/* Loading and storing refuse it too. */
	assert_load(statedir, &key, -1, "chmod 700");
	assert_int_equal(cache_store(statedir, &key, RT, NULL, err, sizeof(err)), -1);
	assert_int_equal(chmod(statedir, 0700), 0);
	assert_int_equal(count_entries(), 0);
}

static void test_check_dir_not_directory(void **state)
{
	char p[PATH_MAX], err[ERRLEN] = "";

	(void)state;
	write_str(tmpdir, "plain", "x");
	path_in(p, sizeof(p), tmpdir, "plain");
	assert_int_equal(cache_check_dir(p, err, sizeof(err)), -1);
	assert_contains(err, "not a directory");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_file_format),
		T(test_hand_written_file_read),
		T(test_other_identity_is_none),
		T(test_absent_is_none),
		T(test_remove),
		T(test_no_temp_file_left),
		T(test_failed_store_cleans_up),
		T(test_stored_mode_0600),
		T(test_lax_mode_refused),
		T(test_symlink_file_refused),
		T(test_symlinked_state_dir_refused),
		T(test_not_regular_refused),
		T(test_foreign_owner_refused),
		T(test_oversized_refused),
		T(test_store_too_large_refused),
		T(test_garbage_refused),
		T(test_wrong_version_refused),
		T(test_upn_too_long_for_buffer),
		T(test_bad_profile_names_refused),
		T(test_bad_token_not_stored),
		T(test_check_dir_creates_private),
		T(test_check_dir_lax_mode_refused),
		T(test_check_dir_not_directory),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
