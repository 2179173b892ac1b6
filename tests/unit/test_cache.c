/*
 * Unit tests for daemon/cache.c and daemon/seal.c: round trips, identity
 * matching, the file hygiene checks, sealed files (wrong key, tampering,
 * truncation, swaps between profiles, migration, files kept aside) and key
 * files.
 */
#include <ctype.h>
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

#include "common/conf.h"
#include "common/sbuf.h"
#include "daemon/cache.h"
#include "daemon/seal.h"
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

static int aside_count(void);

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
	assert_int_equal(cache_remove(statedir, "contoso", NULL, err, sizeof(err)), 0);
	assert_load(statedir, &key, 1, NULL);
	assert_int_equal(count_entries(), 0);
	/* Nothing to remove is not an error. */
	assert_int_equal(cache_remove(statedir, "contoso", NULL, err, sizeof(err)), 0);
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
	assert_int_equal(cache_remove(statedir, "contoso", NULL, err, sizeof(err)), 0);
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
	assert_int_equal(cache_remove(link, "contoso", NULL, err, sizeof(err)), -1);
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
	/* Not JSON, so taken for a damaged sealed file: refused and kept, as tests below show. */
	write_str(statedir, "contoso.token", "[1,2,3]");
	assert_load(statedir, &key, -1, "neither JSON nor an encrypted cache");
	assert_int_equal(count_entries(), 1);
	assert_int_equal(aside_count(), 1);
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
		assert_int_equal(cache_remove(statedir, bad[i], NULL, err, sizeof(err)), -1);
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

/* ---- sealed files ---- */

#define KAT_KEY_SEED 0x00               /* the known-answer file's key: bytes 00 01 .. 1f */

/* A key of 32 different bytes from seed on. */
static struct sbuf *make_key(unsigned char seed)
{
	unsigned char k[SEAL_KEY_LEN];
	struct sbuf *b;

	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (unsigned char)(seed + i);
	b = sbuf_dup(k, sizeof(k));
	assert_non_null(b);
	return b;
}

static struct cache_key with_secret(const struct sbuf *secret)
{
	struct cache_key k = key;

	k.secret = secret;
	return k;
}

/* The whole of dir/name into buf (at most len bytes); returns the size. */
static size_t read_file(const char *dir, const char *name, unsigned char *buf, size_t len)
{
	char p[PATH_MAX];
	ssize_t n;
	int fd;

	path_in(p, sizeof(p), dir, name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open %s: %s", p, strerror(errno));
	n = read(fd, buf, len);
	close(fd);
	assert_true(n >= 0 && (size_t)n < len);
	return (size_t)n;
}

/* The one file kept aside, its name in name; fails unless there is exactly one. */
static void the_aside(char *name, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(statedir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "contoso.token" CACHE_ASIDE_TAG,
			    strlen("contoso.token" CACHE_ASIDE_TAG)) == 0) {
			snprintf(name, len, "%s", de->d_name);
			n++;
		}
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static int aside_count(void)
{
	struct dirent *de;
	DIR *d = opendir(statedir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, CACHE_ASIDE_TAG) != NULL;
	closedir(d);
	return n;
}

static void store_with(const struct sbuf *secret, const char *rt, const char *upn)
{
	struct cache_key k = with_secret(secret);
	char err[ERRLEN] = "";

	if (cache_store(statedir, &k, rt, upn, err, sizeof(err)) != 0)
		fail_msg("cache_store: %s", err);
}

/*
 * Loading with secret fails with a message naming the file, saying why and
 * where the file went; the file went there untouched, and nothing is left
 * in its place.
 */
static void assert_kept_aside(const struct sbuf *secret, const unsigned char *was, size_t len,
			      const char *why)
{
	struct cache_key k = with_secret(secret);
	char err[ERRLEN] = "", aside[256], want[PATH_MAX + 300];
	unsigned char now[CACHE_MAX_FILE + 1];
	struct sbuf *rt = NULL;

	assert_int_equal(cache_load(statedir, &k, &rt, NULL, 0, err, sizeof(err)), -1);
	assert_null(rt);
	assert_contains(err, statedir);
	assert_contains(err, "contoso.token cannot be decrypted: ");
	assert_contains(err, why);
	the_aside(aside, sizeof(aside));
	snprintf(want, sizeof(want), "; kept it as %s/%s", statedir, aside);
	assert_contains(err, want);
	assert_int_equal(read_file(statedir, aside, now, sizeof(now)), len);
	assert_memory_equal(now, was, len);
	assert_load(statedir, &k, 1, NULL);
}

static void test_sealed_round_trip(void **state)
{
	struct sbuf *secret = make_key(0x40), *rt = NULL;
	struct cache_key k = with_secret(secret);
	unsigned char file[4096];
	char err[ERRLEN], upn[UPNLEN], p[PATH_MAX];
	struct stat st;
	size_t len;

	(void)state;
	store_with(secret, RT, "admin@contoso.onmicrosoft.com");
	assert_int_equal(cache_load(statedir, &k, &rt, upn, sizeof(upn), err, sizeof(err)), 0);
	assert_string_equal(sbuf_str(rt), RT);
	assert_string_equal(upn, "admin@contoso.onmicrosoft.com");
	sbuf_free(rt);
	/* Magic and version first; neither the token nor the user name in clear. */
	len = read_file(statedir, "contoso.token", file, sizeof(file));
	assert_memory_equal(file, "EXODRTC\x01", 8);
	assert_null(memmem(file, len, "refresh", 7));
	assert_null(memmem(file, len, "admin@", 6));
	path_in(p, sizeof(p), statedir, "contoso.token");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_entries(), 1);
	sbuf_free(secret);
}

static void test_sealed_nonce_fresh_each_time(void **state)
{
	struct sbuf *secret = make_key(0x40);
	unsigned char a[4096], b[4096];
	size_t la, lb;

	(void)state;
	store_with(secret, RT, NULL);
	la = read_file(statedir, "contoso.token", a, sizeof(a));
	store_with(secret, RT, NULL);
	lb = read_file(statedir, "contoso.token", b, sizeof(b));
	/* saved_at may change the length; the nonce (bytes 16..28) must change regardless. */
	assert_true(la > 28 && lb > 28);
	assert_true(memcmp(a + 16, b + 16, 12) != 0);
	sbuf_free(secret);
}

/* A file made by another implementation of seal.h's format (Python's cryptography). */
static void test_sealed_known_answer(void **state)
{
	static const char hex[] =
		"45584f4452544301060fad10d226da39a0a1a2a3a4a5a6a7a8a9aaab6bcd3822c7b7f83dbb0ce0"
		"555f7ffc43ae0124d4d941950b6e365b2079c2944a367e6382336a89bf0af15316b2464faeb3fd"
		"3a355b011b4d4bd14aee0da55273b65d1412feffc138016e053ce6e3426cacf73276c30ff2a9dd"
		"a0e4f540975b51ad4f30f9c73d276acb800efc7ee748771b8f05cb02d9a7a914304575d143ad67"
		"e5cc0c35f27e2d6ea4ac88c8c54338f182b97498bd3cfe03528987c3bbdf25bdd62ea30d91444a"
		"9859119e89a858c426f41e5f2a148bb2cf12a79def27fd423f6370bc28e886feac1bcea32040a0"
		"8fb0a27ae3f3fe61043bbf0bfcc3e2d7246ae7f68b9085afd8a141aec46f5d3c2689482562944a"
		"aa361a66bca28be839c4ed981c39f17433fc3189eca710";
	unsigned char file[sizeof(hex) / 2];
	struct sbuf *secret = make_key(KAT_KEY_SEED), *rt = NULL;
	struct cache_key k = with_secret(secret);
	char err[ERRLEN], upn[UPNLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(file); i++)
		assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &file[i]), 1);
	write_file(statedir, "contoso.token", file, sizeof(file), 0600);
	if (cache_load(statedir, &k, &rt, upn, sizeof(upn), err, sizeof(err)) != 0)
		fail_msg("cache_load: %s", err);
	assert_string_equal(sbuf_str(rt), "known-answer");
	assert_string_equal(upn, "kat@contoso.example");
	sbuf_free(rt);
	sbuf_free(secret);
}

static void test_sealed_wrong_key_kept_aside(void **state)
{
	struct sbuf *right = make_key(0x40), *wrong = make_key(0x41);
	unsigned char file[4096];
	size_t len;

	(void)state;
	store_with(right, RT, NULL);
	len = read_file(statedir, "contoso.token", file, sizeof(file));
	assert_kept_aside(wrong, file, len, "encrypted under another key than cache_key_file's");
	/* A login afterwards writes a new file; the kept one stays as it was. */
	store_with(wrong, "new-token", NULL);
	assert_int_equal(count_entries(), 2);
	assert_int_equal(aside_count(), 1);
	sbuf_free(right);
	sbuf_free(wrong);
}

static void test_sealed_tampered_anywhere(void **state)
{
	struct sbuf *secret = make_key(0x40);
	unsigned char file[4096], bad[4096];
	char aside[256], p[PATH_MAX];
	size_t len;

	(void)state;
	store_with(secret, RT, "admin@contoso.onmicrosoft.com");
	len = read_file(statedir, "contoso.token", file, sizeof(file));
	/* Every byte: magic, version, key id, nonce, ciphertext and tag. */
	for (size_t i = 0; i < len; i++) {
		const char *why = i < 7 ? "neither JSON nor an encrypted cache" :
				  i == 7 ? "format version 0" :
				  i < 16 ? "another key" : "does not authenticate";

		memcpy(bad, file, len);
		bad[i] ^= 0x01;
		write_file(statedir, "contoso.token", bad, len, 0600);
		assert_kept_aside(secret, bad, len, why);
		the_aside(aside, sizeof(aside));
		path_in(p, sizeof(p), statedir, aside);
		assert_int_equal(unlink(p), 0);
	}
	sbuf_free(secret);
}

static void test_sealed_truncated(void **state)
{
	static const size_t cuts[] = { 1, 7, 8, 20, SEAL_OVERHEAD - 1, SEAL_OVERHEAD, 0 };
	struct sbuf *secret = make_key(0x40);
	unsigned char file[4096];
	char aside[256], p[PATH_MAX];
	size_t len;

	(void)state;
	store_with(secret, RT, NULL);
	len = read_file(statedir, "contoso.token", file, sizeof(file));
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t n = cuts[i] != 0 ? cuts[i] : len - 1;
		const char *why = n < 7 ? "neither JSON" :
				  n < SEAL_OVERHEAD ? "cut short" : "does not authenticate";

		write_file(statedir, "contoso.token", file, n, 0600);
		assert_kept_aside(secret, file, n, why);
		the_aside(aside, sizeof(aside));
		path_in(p, sizeof(p), statedir, aside);
		assert_int_equal(unlink(p), 0);
	}
	sbuf_free(secret);
}

static void test_sealed_swapped_between_profiles(void **state)
{
	struct sbuf *secret = make_key(0x40);
	struct cache_key other = with_secret(secret);
	unsigned char file[4096];
	char err[ERRLEN] = "", from[PATH_MAX], to[PATH_MAX];
	size_t len;

	(void)state;
	/* The same key, tenant, app and authority: only the profile's name differs. */
	other.profile = "fabrikam";
	assert_int_equal(cache_store(statedir, &other, "fabrikam-token", NULL, err, sizeof(err)), 0);
	path_in(from, sizeof(from), statedir, "fabrikam.token");
	path_in(to, sizeof(to), statedir, "contoso.token");
	assert_int_equal(rename(from, to), 0);
	len = read_file(statedir, "contoso.token", file, sizeof(file));
	assert_kept_aside(secret, file, len, "copied from another profile's file");
	sbuf_free(secret);
}

static void test_sealed_but_encryption_off(void **state)
{
	struct sbuf *secret = make_key(0x40);
	unsigned char file[4096];
	size_t len;

	(void)state;
	store_with(secret, RT, NULL);
	len = read_file(statedir, "contoso.token", file, sizeof(file));
	assert_kept_aside(NULL, file, len, "cache_encryption = off");
	sbuf_free(secret);
}

static void test_newer_format_kept_aside(void **state)
{
	struct sbuf *secret = make_key(0x40);
	unsigned char file[4096];
	size_t len;

	(void)state;
	store_with(secret, RT, NULL);
	len = read_file(statedir, "contoso.token", file, sizeof(file));
	file[7] = 2;
	write_file(statedir, "contoso.token", file, len, 0600);
	assert_kept_aside(secret, file, len, "format version 2, and this exod reads version 1");
	sbuf_free(secret);
}

static void test_two_kept_in_one_second(void **state)
{
	struct sbuf *right = make_key(0x40), *wrong = make_key(0x41);
	struct cache_key k = with_secret(wrong);
	struct sbuf *rt = NULL;
	char err[ERRLEN];

	(void)state;
	/* Whether or not the clock ticks between them, neither file is lost. */
	for (int i = 0; i < 3; i++) {
		store_with(right, RT, NULL);
		assert_int_equal(cache_load(statedir, &k, &rt, NULL, 0, err, sizeof(err)), -1);
		assert_contains(err, "kept it as");
	}
	assert_int_equal(aside_count(), 3);
	assert_int_equal(count_entries(), 3);
	sbuf_free(right);
	sbuf_free(wrong);
}

static void test_foreign_file_not_overwritten(void **state)
{
	struct sbuf *right = make_key(0x40), *wrong = make_key(0x41);
	struct cache_key k = with_secret(wrong);
	unsigned char before[4096], after[4096];
	char err[ERRLEN] = "";
	size_t len;

	(void)state;
	/* A file sealed under another key appears after the load (restored by hand, say). */
	store_with(right, RT, NULL);
	len = read_file(statedir, "contoso.token", before, sizeof(before));
	assert_int_equal(cache_store(statedir, &k, "other", NULL, err, sizeof(err)), -1);
	assert_contains(err, "will not write over it");
	assert_int_equal(cache_remove(statedir, "contoso", wrong, err, sizeof(err)), -1);
	assert_int_equal(cache_remove(statedir, "contoso", NULL, err, sizeof(err)), -1);
	k.secret = NULL;
	assert_int_equal(cache_store(statedir, &k, "plain", NULL, err, sizeof(err)), -1);
	assert_int_equal(read_file(statedir, "contoso.token", after, sizeof(after)), len);
	assert_memory_equal(before, after, len);
	assert_int_equal(count_entries(), 1);
	/* Its own key may do both. */
	store_with(right, "again", NULL);
	assert_int_equal(cache_remove(statedir, "contoso", right, err, sizeof(err)), 0);
	assert_int_equal(count_entries(), 0);
	sbuf_free(right);
	sbuf_free(wrong);
}

static void test_plain_migrated(void **state)
{
	struct sbuf *secret = make_key(0x40), *rt = NULL;
	struct cache_key k = with_secret(secret);
	unsigned char file[4096];
	char err[ERRLEN] = "", upn[UPNLEN], p[PATH_MAX];
	struct stat st;

	(void)state;
	store_ok(RT, "admin@contoso.onmicrosoft.com");
	assert_int_equal(read_file(statedir, "contoso.token", file, sizeof(file)) > 0, 1);
	assert_int_equal(file[0], '{');
	assert_int_equal(cache_load(statedir, &k, &rt, upn, sizeof(upn), err, sizeof(err)),
			 CACHE_MIGRATED);
	assert_string_equal(sbuf_str(rt), RT);
	assert_string_equal(upn, "admin@contoso.onmicrosoft.com");
	assert_contains(err, "was in plain text: encrypted it");
	sbuf_free(rt);
	/* Sealed now, atomically: one private file, and it loads as any sealed one. */
	read_file(statedir, "contoso.token", file, sizeof(file));
	assert_memory_equal(file, "EXODRTC", 7);
	assert_int_equal(count_entries(), 1);
	path_in(p, sizeof(p), statedir, "contoso.token");
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(cache_load(statedir, &k, &rt, upn, sizeof(upn), err, sizeof(err)), 0);
	assert_string_equal(sbuf_str(rt), RT);
	assert_string_equal(upn, "admin@contoso.onmicrosoft.com");
	sbuf_free(rt);
	sbuf_free(secret);
}

static void test_plain_migration_failure_still_loads(void **state)
{
	struct sbuf *secret = make_key(0x40), *rt = NULL;
	struct cache_key k = with_secret(secret);
	static const char head[] = "{\"version\":1,\"authority\":\"" AUTHORITY "\",\"tenant\":\""
				   TENANT_ID "\",\"client_id\":\"" APP_ID "\",\"refresh_token\":\"";
	char err[ERRLEN] = "";
	size_t tok = CACHE_MAX_FILE - SEAL_OVERHEAD / 2 - strlen(head) - 2;
	char *file = malloc(CACHE_MAX_FILE);

	(void)state;
	/* A plain file that fits, but not once sealed. */
	assert_non_null(file);
	memcpy(file, head, strlen(head));
	memset(file + strlen(head), 'a', tok);
	memcpy(file + strlen(head) + tok, "\"}", 2);
	write_file(statedir, "contoso.token", file, strlen(head) + tok + 2, 0600);
	assert_int_equal(cache_load(statedir, &k, &rt, NULL, 0, err, sizeof(err)),
			 CACHE_UNMIGRATED);
	assert_int_equal(sbuf_len(rt), tok);
	assert_contains(err, "larger than");
	assert_contains(err, "stays in plain text");
	sbuf_free(rt);
	free(file);
	sbuf_free(secret);
}

static void test_plain_other_identity_left_alone(void **state)
{
	struct sbuf *secret = make_key(0x40);
	struct cache_key k = with_secret(secret);
	unsigned char file[4096];

	(void)state;
	store_ok(RT, NULL);
	k.tenant = "fabrikam.onmicrosoft.com";
	assert_load(statedir, &k, 1, NULL);
	read_file(statedir, "contoso.token", file, sizeof(file));
	assert_int_equal(file[0], '{');
	sbuf_free(secret);
}

/* ---- key files ---- */

static const unsigned char key_bytes[SEAL_KEY_LEN] = {
	0x3a, 0x0a, 0x7f, 0x00, 0x91, 0x22, 0xee, 0x4b, 0x10, 0x5c, 0xd3, 0x68, 0x01, 0xfa, 0x9e,
	0x77, 0x2d, 0x40, 0xb5, 0x0c, 0x63, 0x8f, 0x19, 0xc4, 0x5e, 0x02, 0xab, 0x36, 0x71, 0xe8,
	0x0d, 0x0a,
};

/* Loads dir/name as a key file: 0 and the key matches key_bytes, or -1 and err says why. */
static int load_key_file(const char *name, char *err, size_t errlen)
{
	char p[PATH_MAX];
	struct sbuf *k = NULL;
	int rc;

	path_in(p, sizeof(p), tmpdir, name);
	rc = seal_key_load(p, &k, err, errlen);
	if (rc == 0) {
		assert_int_equal(sbuf_len(k), SEAL_KEY_LEN);
		assert_memory_equal(sbuf_ptr(k), key_bytes, SEAL_KEY_LEN);
	} else {
		assert_null(k);
		assert_contains(err, p);
	}
	sbuf_free(k);
	return rc;
}

static void test_key_file_forms(void **state)
{
	static const char hex[] =
		"3a0a7f009122ee4b105cd36801fa9e772d40b50c638f19c45e02ab3671e80d0a";
	static const char b64[] = "Ogp/AJEi7ksQXNNoAfqedy1AtQxjjxnEXgKrNnHoDQo=";
	char err[ERRLEN], upper[sizeof(hex)];

	(void)state;
	/* Raw: 32 bytes, even though the last one is a newline. */
	write_file(tmpdir, "raw", key_bytes, sizeof(key_bytes), 0600);
	assert_int_equal(load_key_file("raw", err, sizeof(err)), 0);
	write_str(tmpdir, "hex", hex);
	assert_int_equal(load_key_file("hex", err, sizeof(err)), 0);
	write_str(tmpdir, "hex-nl", "3a0a7f009122ee4b105cd36801fa9e772d40b50c638f19c45e02ab3671e80d0a\n");
	assert_int_equal(load_key_file("hex-nl", err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(hex); i++)
		upper[i] = (char)toupper((unsigned char)hex[i]);
	write_file(tmpdir, "hex-upper", upper, strlen(upper), 0600);
	assert_int_equal(load_key_file("hex-upper", err, sizeof(err)), 0);
	write_str(tmpdir, "b64", "Ogp/AJEi7ksQXNNoAfqedy1AtQxjjxnEXgKrNnHoDQo=\r\n");
	assert_int_equal(load_key_file("b64", err, sizeof(err)), 0);
	write_str(tmpdir, "b64-bare", b64);
	assert_int_equal(load_key_file("b64-bare", err, sizeof(err)), 0);
}

static void test_key_file_refused(void **state)
{
	static const struct {
		const char *content;
		mode_t mode;
		const char *why;
	} bad[] = {
		{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", 0600,
		  "63 characters and a newline" },
		{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", 0600,
		  "not all hex digits" },
		{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\n", 0600,
		  "65 characters and a newline" },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0600, "not 32 bytes in base64" },
		{ "Ogp/AJEi7ksQXNNoAfqedy1AtQxjjxnEXgKrNnHo*Qo=", 0600, "not 32 bytes in base64" },
		{ "3a0a7f009122ee4b105cd36801fa9e772d40b50c638f19c45e02ab3671e80d0a", 0640,
		  "readable by group or others" },
		{ "3a0a7f009122ee4b105cd36801fa9e772d40b50c638f19c45e02ab3671e80d0a", 0604,
		  "readable by group or others" },
		{ "short\n", 0600, "openssl rand -hex 32" },
		{ "", 0600, "is empty" },
	};
	unsigned char zero[SEAL_KEY_LEN] = { 0 };
	char err[ERRLEN], p[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		write_file(tmpdir, "key", bad[i].content, strlen(bad[i].content), bad[i].mode);
		assert_int_equal(load_key_file("key", err, sizeof(err)), -1);
		assert_contains(err, bad[i].why);
	}
	write_file(tmpdir, "key", zero, sizeof(zero), 0600);
	assert_int_equal(load_key_file("key", err, sizeof(err)), -1);
	assert_contains(err, "no key");
	assert_int_equal(load_key_file("missing", err, sizeof(err)), -1);
	assert_contains(err, "does not exist");
	assert_contains(err, "openssl rand -hex 32");
	/* Through a symlink: refused, like every secret file. */
	write_file(tmpdir, "real", key_bytes, sizeof(key_bytes), 0600);
	path_in(p, sizeof(p), tmpdir, "link");
	assert_int_equal(symlink("real", p), 0);
	assert_int_equal(load_key_file("link", err, sizeof(err)), -1);
	assert_contains(err, "symbolic link");
}

static void test_key_file_from_credentials_directory(void **state)
{
	char err[ERRLEN] = "";
	struct sbuf *k = NULL;

	(void)state;
	write_file(tmpdir, "cache.key", key_bytes, sizeof(key_bytes), 0400);
	assert_int_equal(setenv("CREDENTIALS_DIRECTORY", tmpdir, 1), 0);
	if (seal_key_load("cache.key", &k, err, sizeof(err)) != 0)
		fail_msg("seal_key_load: %s", err);
	assert_memory_equal(sbuf_ptr(k), key_bytes, SEAL_KEY_LEN);
	sbuf_free(k);
	assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}

static void test_secret_load_policy(void **state)
{
	struct conf_profile pr;
	char err[ERRLEN] = "", p[PATH_MAX];
	struct sbuf *k = (struct sbuf *)&pr;

	(void)state;
	memset(&pr, 0, sizeof(pr));
	pr.name = "admin";
	pr.auth = CONF_AUTH_DEVICE;
	pr.source = "/etc/exod/exod.conf";
	pr.line = 12;
	/* Off: no key, and none wanted. */
	pr.cache_encryption = 0;
	assert_int_equal(cache_secret_load(&pr, &k, err, sizeof(err)), 0);
	assert_null(k);
	/* On without a key: a configuration error that says how to make one. */
	pr.cache_encryption = 1;
	assert_int_equal(cache_secret_load(&pr, &k, err, sizeof(err)), -1);
	assert_null(k);
	assert_contains(err, "/etc/exod/exod.conf:12: profile admin: auth = device");
	assert_contains(err, "systemd-creds encrypt --name=cache.key");
	assert_contains(err, "cache_encryption = off");
	/* A bad key file: named with the line of the key. */
	write_str(tmpdir, "short.key", "abc\n");
	path_in(p, sizeof(p), tmpdir, "short.key");
	pr.cache_key_file = p;
	assert_int_equal(cache_secret_load(&pr, &k, err, sizeof(err)), -1);
	assert_contains(err, "/etc/exod/exod.conf:12: cache_key_file: cache key file ");
	write_file(tmpdir, "good.key", key_bytes, sizeof(key_bytes), 0600);
	path_in(p, sizeof(p), tmpdir, "good.key");
	assert_int_equal(cache_secret_load(&pr, &k, err, sizeof(err)), 0);
	assert_memory_equal(sbuf_ptr(k), key_bytes, SEAL_KEY_LEN);
	sbuf_free(k);
}

/* The copy for the cluster's Redis: sealed like the file, never plain, opened only as ours. */
static void test_blob(void **state)
{
	struct sbuf *secret = make_key(0x40), *other = make_key(0x41), *blob = NULL, *rt = NULL;
	struct cache_key k = with_secret(secret), wrong = with_secret(other), app = k;
	char err[ERRLEN], upn[UPNLEN];

	(void)state;
	assert_int_equal(cache_seal_blob(&k, RT, "admin@contoso.onmicrosoft.com", &blob, err,
					 sizeof(err)), 0);
	assert_memory_equal(sbuf_ptr(blob), "EXODRTC\x01", 8);
	assert_null(memmem(sbuf_ptr(blob), sbuf_len(blob), "refresh", 7));
	assert_int_equal(cache_open_blob(&k, sbuf_ptr(blob), sbuf_len(blob), "in Redis", &rt, upn,
					 sizeof(upn), err, sizeof(err)), 0);
	assert_string_equal(sbuf_str(rt), RT);
	assert_string_equal(upn, "admin@contoso.onmicrosoft.com");
	sbuf_free(rt);
	/* Under another key: refused, saying where it came from and why. */
	assert_int_equal(cache_open_blob(&wrong, sbuf_ptr(blob), sbuf_len(blob), "in Redis", &rt,
					 upn, sizeof(upn), err, sizeof(err)), -1);
	assert_null(rt);
	assert_non_null(strstr(err, "the sign-in in Redis cannot be decrypted: "));
	/* Another application's sign-in is none of ours. */
	app.client_id = "36ee4c6c-0812-40a2-b820-b22ebd02bce3";
	assert_int_equal(cache_open_blob(&app, sbuf_ptr(blob), sbuf_len(blob), "in Redis", &rt,
					 upn, sizeof(upn), err, sizeof(err)), 1);
	assert_null(rt);
	/* Cut short, or nothing at all. */
	assert_int_equal(cache_open_blob(&k, sbuf_ptr(blob), sbuf_len(blob) - 1, "in Redis", &rt,
					 upn, sizeof(upn), err, sizeof(err)), -1);
	assert_int_equal(cache_open_blob(&k, (const unsigned char *)"", 0, "in Redis", &rt, upn,
					 sizeof(upn), err, sizeof(err)), -1);
	sbuf_free(blob);
	/* No key: no copy (plain text never leaves the host). */
	assert_int_equal(cache_seal_blob(&key, RT, NULL, &blob, err, sizeof(err)), -1);
	assert_null(blob);
	assert_int_equal(cache_seal_blob(&k, "bad\ntoken", NULL, &blob, err, sizeof(err)), -1);
	assert_null(blob);
	assert_int_equal(count_entries(), 0);   /* nothing of this touches state_dir */
	sbuf_free(secret);
	sbuf_free(other);
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
		T(test_sealed_round_trip),
		T(test_sealed_nonce_fresh_each_time),
		T(test_sealed_known_answer),
		T(test_sealed_wrong_key_kept_aside),
		T(test_sealed_tampered_anywhere),
		T(test_sealed_truncated),
		T(test_sealed_swapped_between_profiles),
		T(test_sealed_but_encryption_off),
		T(test_newer_format_kept_aside),
		T(test_two_kept_in_one_second),
		T(test_foreign_file_not_overwritten),
		T(test_plain_migrated),
		T(test_plain_migration_failure_still_loads),
		T(test_plain_other_identity_left_alone),
		T(test_key_file_forms),
		T(test_key_file_refused),
		T(test_key_file_from_credentials_directory),
		T(test_secret_load_policy),
		T(test_blob),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
