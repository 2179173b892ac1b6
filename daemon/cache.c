/* The on-disk token cache: private, atomically replaced, never followed through a symlink. */
#include "daemon/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/conf.h"
#include "common/jtree.h"
#include "common/sbuf.h"
#include "daemon/seal.h"
#include "daemon/secret.h"

#define CACHE_VERSION 1
#define CACHE_SUFFIX ".token"
#define CACHE_TMP_CHARS 6               /* random characters in a temp file name */
#define CACHE_TMP_TRIES 16              /* names tried before giving up on O_EXCL */
#define CACHE_STAMP_LEN 16              /* 20261201T001500Z */
#define CACHE_ASIDE_TRIES 100           /* kept-aside names tried within one second */
#define CACHE_NAME_BUF (CONF_NAME_MAX + sizeof(CACHE_SUFFIX) + 1 + CACHE_TMP_CHARS + 1)
#define CACHE_ASIDE_BUF (CACHE_NAME_BUF + sizeof(CACHE_ASIDE_TAG) + CACHE_STAMP_LEN + \
			 sizeof("-100"))
#define CACHE_PATH_BUF (PATH_MAX + CACHE_NAME_BUF)
#define CACHE_PARSE_ERR 64
#define CACHE_WHY_MAX 1024              /* bytes of a reason inside a longer message */

static const char cache_tmp_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* Profile names are checked by the config; this keeps a bad one from naming another file. */
static int cache_check_profile(const char *profile, char *err, size_t errlen)
{
	size_t len;

	if (profile == NULL || profile[0] == '\0') {
		snprintf(err, errlen, "token cache: no profile name");
		return -1;
	}
	len = strnlen(profile, CONF_NAME_MAX + 1);
	if (len > CONF_NAME_MAX || strchr(profile, '/') != NULL ||
	    strcmp(profile, ".") == 0 || strcmp(profile, "..") == 0) {
		snprintf(err, errlen, "token cache: invalid profile name \"%.*s\"",
			 CONF_NAME_MAX, profile);
		return -1;
	}
	return 0;
}

static int cache_check_key(const struct cache_key *key, char *err, size_t errlen)
{
	if (key == NULL) {
		snprintf(err, errlen, "token cache: no identity given");
		return -1;
	}
	if (cache_check_profile(key->profile, err, errlen) < 0)
		return -1;
	if (key->authority == NULL || key->authority[0] == '\0' ||
	    key->tenant == NULL || key->tenant[0] == '\0' ||
	    key->client_id == NULL || key->client_id[0] == '\0') {
		snprintf(err, errlen, "token cache %s: authority, tenant and client id are required",
			 key->profile);
		return -1;
	}
	return 0;
}

/* Control characters have no business in a token or user name. */
static int cache_is_clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Only for messages: all access goes through the directory fd. */
static void cache_path(char *buf, size_t len, const char *dir, const char *profile)
{
	snprintf(buf, len, "%s/%s%s", dir, profile, CACHE_SUFFIX);
}

static int cache_check_dir_stat(const char *dir, const struct stat *st, char *err, size_t errlen)
{
	if (!S_ISDIR(st->st_mode)) {
		snprintf(err, errlen, "state directory %s is not a directory", dir);
		return -1;
	}
	if (st->st_uid != geteuid()) {
		snprintf(err, errlen, "state directory %s is owned by uid %u, not by us (uid %u)",
			 dir, (unsigned)st->st_uid, (unsigned)geteuid());
		return -1;
	}
	if ((st->st_mode & 077) != 0) {
		snprintf(err, errlen,
			 "state directory %s is open to group or others (mode %04o); chmod 700 %s",
			 dir, (unsigned)(st->st_mode & 07777), dir);
		return -1;
	}
	return 0;
}

/* O_NOFOLLOW on the directory itself: a symlinked state_dir could point anywhere. */
static int cache_dir_open(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int dfd;

	if (dir == NULL || dir[0] == '\0') {
		snprintf(err, errlen, "token cache: no state directory");
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ELOOP || (errno == ENOTDIR && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)))
			snprintf(err, errlen, "state directory %s is a symbolic link; refusing to follow it",
				 dir);
		else if (errno == ENOTDIR)
			snprintf(err, errlen, "state directory %s is not a directory", dir);
		else
			snprintf(err, errlen, "state directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fstat(dfd, &st) < 0) {
		snprintf(err, errlen, "state directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (cache_check_dir_stat(dir, &st, err, errlen) < 0)
		goto fail;
	return dfd;
fail:
	close(dfd);
	return -1;
}

int cache_check_dir(const char *state_dir, char *err, size_t errlen)
{
	struct stat st;
	int dfd;

	if (state_dir == NULL || state_dir[0] == '\0') {
		snprintf(err, errlen, "token cache: no state directory");
		return -1;
	}
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create state directory %s: %s", state_dir,
			 strerror(errno));
		return -1;
	}
	if (lstat(state_dir, &st) < 0) {
		snprintf(err, errlen, "state directory %s: %s", state_dir, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "state directory %s is a symbolic link; refusing to follow it",
			 state_dir);
		return -1;
	}
	/* The open re-checks what lstat saw, on the object we would really use. */
	dfd = cache_dir_open(state_dir, err, errlen);
	if (dfd < 0)
		return -1;
	close(dfd);
	return 0;
}

/*
 * The file's contents in *buf: 0 when read, 1 when there is no file, -1
 * on error.  Read as a secret file: no symlink, no FIFO, ours, private.
 */
static int cache_read_file(int dfd, const char *name, const char *path, struct sbuf **buf,
			   char *err, size_t errlen)
{
	char shown[CACHE_PATH_BUF + 16];
	struct stat st;

	*buf = NULL;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return 1;
	snprintf(shown, sizeof(shown), "token cache %s", path);
	if (secret_load(dfd, name, shown, CACHE_MAX_FILE, SECRET_PRIVATE, buf, NULL, err, errlen) < 0)
		return -1;
	return 0;
}

/* A top-level string member, or NULL when absent or of another type. */
static const char *cache_get_string(yajl_val root, const char *name)
{
	return jtree_str(root, name);
}

static int cache_check_version(yajl_val root, const char *path, char *err, size_t errlen)
{
	const char *vpath[] = { "version", NULL };
	yajl_val v = yajl_tree_get(root, vpath, yajl_t_number);

	if (v == NULL || !YAJL_IS_INTEGER(v)) {
		snprintf(err, errlen, "token cache %s has no valid version", path);
		return -1;
	}
	if (YAJL_GET_INTEGER(v) != CACHE_VERSION) {
		snprintf(err, errlen, "token cache %s has version %lld; this exod reads version %d",
			 path, YAJL_GET_INTEGER(v), CACHE_VERSION);
		return -1;
	}
	return 0;
}

/* Entra compares authority hosts, tenant names and GUIDs without regard to case. */
static int cache_same_identity(yajl_val root, const struct cache_key *key)
{
	const char *authority = cache_get_string(root, "authority");
	const char *tenant = cache_get_string(root, "tenant");
	const char *client_id = cache_get_string(root, "client_id");

	return authority != NULL && tenant != NULL && client_id != NULL &&
	       strcasecmp(authority, key->authority) == 0 &&
	       strcasecmp(tenant, key->tenant) == 0 &&
	       strcasecmp(client_id, key->client_id) == 0;
}

/* Copies the token and the upn out of a parsed file that matched our identity. */
static int cache_extract(yajl_val root, const char *path, struct sbuf **rt, char *upn,
			 size_t upnlen, char *err, size_t errlen)
{
	const char *tok = cache_get_string(root, "refresh_token");
	const char *u = cache_get_string(root, "upn");

	if (tok == NULL || tok[0] == '\0' || !cache_is_clean(tok)) {
		snprintf(err, errlen, "token cache %s has no valid refresh token", path);
		return -1;
	}
	if (u != NULL && !cache_is_clean(u)) {
		snprintf(err, errlen, "token cache %s has an invalid upn", path);
		return -1;
	}
	if (upn != NULL && upnlen > 0) {
		if (u == NULL)
			u = "";
		if (strlen(u) >= upnlen) {
			snprintf(err, errlen, "token cache %s: upn longer than %zu bytes", path,
				 upnlen - 1);
			return -1;
		}
		memcpy(upn, u, strlen(u) + 1);
	}
	*rt = sbuf_dup_str(tok);
	if (*rt == NULL) {
		snprintf(err, errlen, "token cache %s: out of memory", path);
		return -1;
	}
	return 0;
}

/* Builds the file's JSON; the caller wipes and frees the generator. */
static int cache_gen(yajl_gen g, const struct cache_key *key, const char *rt, const char *upn)
{
	const struct {
		const char *name;
		const char *value;
	} fields[] = {
		{ "profile", key->profile },
		{ "authority", key->authority },
		{ "tenant", key->tenant },
		{ "client_id", key->client_id },
		{ "upn", upn },
		{ "refresh_token", rt },
	};
	size_t i;

#define CACHE_GEN_KEY(s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))
	if (yajl_gen_map_open(g) != yajl_gen_status_ok ||
	    CACHE_GEN_KEY("version") != yajl_gen_status_ok ||
	    yajl_gen_integer(g, CACHE_VERSION) != yajl_gen_status_ok)
		return -1;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (fields[i].value == NULL)
			continue;
		if (CACHE_GEN_KEY(fields[i].name) != yajl_gen_status_ok ||
		    CACHE_GEN_KEY(fields[i].value) != yajl_gen_status_ok)
			return -1;
	}
	if (CACHE_GEN_KEY("saved_at") != yajl_gen_status_ok ||
	    yajl_gen_integer(g, (long long)time(NULL)) != yajl_gen_status_ok ||
	    yajl_gen_map_close(g) != yajl_gen_status_ok)
		return -1;
#undef CACHE_GEN_KEY
	return 0;
}

/* Creates <profile>.token.XXXXXX with O_EXCL; name receives the name used. */
static int cache_tmp_open(int dfd, const char *profile, const char *path, char *name,
			  size_t namelen, char *err, size_t errlen)
{
	unsigned char rnd[CACHE_TMP_CHARS];
	char suffix[CACHE_TMP_CHARS + 1];
	int fd, i, j;

	for (i = 0; i < CACHE_TMP_TRIES; i++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			snprintf(err, errlen, "token cache %s: getrandom: %s", path, strerror(errno));
			return -1;
		}
		for (j = 0; j < CACHE_TMP_CHARS; j++)
			suffix[j] = cache_tmp_alphabet[rnd[j] % (sizeof(cache_tmp_alphabet) - 1)];
		suffix[CACHE_TMP_CHARS] = '\0';
		snprintf(name, namelen, "%s%s.%s", profile, CACHE_SUFFIX, suffix);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST) {
			snprintf(err, errlen, "token cache %s: cannot create a temporary file: %s",
				 path, strerror(errno));
			return -1;
		}
	}
	snprintf(err, errlen, "token cache %s: no free temporary file name", path);
	return -1;
}

static int cache_write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes buf to a new temp file and renames it into place; the temp file never outlives a failure. */
static int cache_replace(int dfd, const char *profile, const char *path,
			 const unsigned char *buf, size_t len, char *err, size_t errlen)
{
	char tmp[CACHE_NAME_BUF], name[CACHE_NAME_BUF];
	int fd, rc = -1;

	snprintf(name, sizeof(name), "%s%s", profile, CACHE_SUFFIX);
	fd = cache_tmp_open(dfd, profile, path, tmp, sizeof(tmp), err, errlen);
	if (fd < 0)
		return -1;
	if (cache_write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "token cache %s: cannot write %s: %s", path, tmp,
			 strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "token cache %s: cannot write %s: %s", path, tmp,
			 strerror(errno));
		goto out;
	}
	if (renameat(dfd, tmp, dfd, name) < 0) {
		snprintf(err, errlen, "token cache %s: cannot replace it: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		unlinkat(dfd, tmp, 0);
	return rc;
}

/* Parses a cache's JSON: 0 and the token, 1 when it is another identity's, -1. */
static int cache_parse(const struct sbuf *json, const struct cache_key *key, const char *path,
		       struct sbuf **rt, char *upn, size_t upnlen, char *err, size_t errlen)
{
	char why[CACHE_PARSE_ERR];
	yajl_val root = jtree_parse(sbuf_ptr(json), sbuf_len(json), why, sizeof(why));
	int rc = -1;

	if (root == NULL || !YAJL_IS_OBJECT(root)) {
		snprintf(err, errlen, "token cache %s is not a valid JSON object (%s)", path,
			 root == NULL ? why : "another type");
		goto out;
	}
	if (cache_check_version(root, path, err, errlen) < 0)
		goto out;
	if (!cache_same_identity(root, key)) {
		rc = 1;
		goto out;
	}
	if (cache_extract(root, path, rt, upn, upnlen, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	jtree_free(root);
	return rc;
}

/* Makes what was renamed or removed in the state directory survive a crash. */
static int cache_sync_dir(int dfd, const char *state_dir, char *err, size_t errlen)
{
	if (fsync(dfd) == 0)
		return 0;
	snprintf(err, errlen, "state directory %s: fsync: %s", state_dir, strerror(errno));
	return -1;
}

/*
 * Moves a file that will not decrypt out of the way, never over another
 * file, so that the next login does not write over what the right key
 * could still open.  Adds to err where it went, or why it stayed.
 */
static void cache_keep_aside(int dfd, const char *dir, const char *name, char *err,
			     size_t errlen)
{
	char aside[CACHE_ASIDE_BUF], stamp[CACHE_STAMP_LEN + 1];
	size_t used = strnlen(err, errlen);
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1, saved = 0;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) != CACHE_STAMP_LEN)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
	for (int i = 1; i <= CACHE_ASIDE_TRIES && rc < 0; i++) {
		int n = i == 1 ? snprintf(aside, sizeof(aside), "%s%s%s", name, CACHE_ASIDE_TAG, stamp)
			       : snprintf(aside, sizeof(aside), "%s%s%s-%d", name, CACHE_ASIDE_TAG,
					  stamp, i);

		/* a cut name could be another file's */
		if (n < 0 || (size_t)n >= sizeof(aside)) {
			saved = ENAMETOOLONG;
			break;
		}
		rc = renameat2(dfd, name, dfd, aside, RENAME_NOREPLACE);
		saved = errno;
		if (rc < 0 && saved != EEXIST)
			break;
	}
	/* A crash must not bring the old name back under a login's new file. */
	if (rc == 0 && fsync(dfd) < 0) {
		saved = errno;
		rc = -1;
	}
	if (used + 1 >= errlen)
		return;
	if (rc == 0)
		snprintf(err + used, errlen - used, "; kept it as %s/%s", dir, aside);
	else
		snprintf(err + used, errlen - used, "; could not move it aside (%s): it stays, "
			 "and exod will not write over it", strerror(saved));
}

/*
 * Plain files are what cache_store writes without a key, and it writes
 * "{" first.  Anything else is taken for a sealed file, so that a damaged
 * one is kept aside like any other that will not open.
 */
static int cache_is_json(const struct sbuf *buf)
{
	return sbuf_len(buf) > 0 && sbuf_ptr(buf)[0] == '{';
}

/* What a sealed file holds: *plain, or -1 with the file kept aside. */
static int cache_unseal(int dfd, const char *state_dir, const char *name, const char *path,
			const struct cache_key *key, const struct sbuf *buf, struct sbuf **plain,
			char *err, size_t errlen)
{
	char why[CACHE_WHY_MAX];

	if (seal_unwrap(key->secret, key->profile, sbuf_ptr(buf), sbuf_len(buf), plain, why,
			sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "token cache %s cannot be decrypted: %s", path, why);
	cache_keep_aside(dfd, state_dir, name, err, errlen);
	return -1;
}

/* 1 when name holds a file sealed in a way secret cannot open: not ours to replace or remove. */
static int cache_foreign(int dfd, const char *name, const struct sbuf *secret)
{
	unsigned char head[SEAL_HEADER_LEN];
	ssize_t n;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return 0;
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	return n > 0 && seal_foreign(secret, head, (size_t)n);
}

static void cache_foreign_error(const char *path, char *err, size_t errlen)
{
	snprintf(err, errlen, "token cache %s is encrypted under another key or in another "
		 "format version, and exod will not write over it or remove it: move it away, or "
		 "give cache_key_file its key again", path);
}

/* Writes json, sealed when there is a secret, in place of the profile's file, durably. */
static int cache_commit(int dfd, const char *state_dir, const struct cache_key *key,
			const char *path, const unsigned char *json, size_t len, char *err,
			size_t errlen)
{
	char name[CACHE_NAME_BUF], why[CACHE_WHY_MAX];
	struct sbuf *sealed = NULL;
	int rc = -1;

	snprintf(name, sizeof(name), "%s%s", key->profile, CACHE_SUFFIX);
	if (cache_foreign(dfd, name, key->secret)) {
		cache_foreign_error(path, err, errlen);
		return -1;
	}
	if (key->secret != NULL) {
		if (seal_wrap(key->secret, key->profile, json, len, &sealed, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "token cache %s: cannot encrypt it: %s", path, why);
			return -1;
		}
		json = sbuf_ptr(sealed);
		len = sbuf_len(sealed);
	}
	/* The loader refuses a bigger file, so writing one would only lose the login later. */
	if (len > CACHE_MAX_FILE) {
		snprintf(err, errlen, "token cache %s: contents larger than %d bytes", path,
			 CACHE_MAX_FILE);
		goto out;
	}
	/* the rename itself made durable */
	if (cache_replace(dfd, key->profile, path, json, len, err, errlen) < 0 ||
	    cache_sync_dir(dfd, state_dir, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	sbuf_free(sealed);
	return rc;
}

/* A plain file read while a key is set: the same JSON, sealed in its place. */
static int cache_migrate(int dfd, const char *state_dir, const struct cache_key *key,
			 const char *path, const struct sbuf *json, char *err, size_t errlen)
{
	char why[CACHE_WHY_MAX];

	if (cache_commit(dfd, state_dir, key, path, sbuf_ptr(json), sbuf_len(json), why,
			 sizeof(why)) < 0) {
		snprintf(err, errlen, "%s; it stays in plain text until the next save", why);
		return CACHE_UNMIGRATED;
	}
	snprintf(err, errlen, "token cache %s was in plain text: encrypted it under cache_key_file",
		 path);
	return CACHE_MIGRATED;
}

int cache_load(const char *state_dir, const struct cache_key *key, struct sbuf **rt, char *upn,
	       size_t upnlen, char *err, size_t errlen)
{
	char path[CACHE_PATH_BUF], name[CACHE_NAME_BUF];
	struct sbuf *buf = NULL, *plain = NULL;
	int dfd, rc, sealed;

	*rt = NULL;
	if (upn != NULL && upnlen > 0)
		upn[0] = '\0';
	if (cache_check_key(key, err, errlen) < 0)
		return -1;
	dfd = cache_dir_open(state_dir, err, errlen);
	if (dfd < 0)
		return -1;
	cache_path(path, sizeof(path), state_dir, key->profile);
	snprintf(name, sizeof(name), "%s%s", key->profile, CACHE_SUFFIX);
	rc = cache_read_file(dfd, name, path, &buf, err, errlen);
	if (rc != 0)
		goto out;
	sealed = !cache_is_json(buf);
	if (sealed && cache_unseal(dfd, state_dir, name, path, key, buf, &plain, err, errlen) < 0) {
		rc = -1;
		goto out;
	}
	rc = cache_parse(sealed ? plain : buf, key, path, rt, upn, upnlen, err, errlen);
	if (rc == 0 && !sealed && key->secret != NULL)
		rc = cache_migrate(dfd, state_dir, key, path, buf, err, errlen);
out:
	sbuf_free(plain);
	sbuf_free(buf);
	close(dfd);
	return rc;
}

/* The file's JSON in a wiping generator, for cache_store and cache_seal; NULL with err. */
static yajl_gen cache_encode(const struct cache_key *key, const char *rt, const char *upn,
			     const char *shown, const unsigned char **buf, size_t *len, char *err,
			     size_t errlen)
{
	yajl_gen g;

	if (rt == NULL || rt[0] == '\0' || strnlen(rt, CACHE_MAX_FILE) >= CACHE_MAX_FILE ||
	    !cache_is_clean(rt)) {
		snprintf(err, errlen, "token cache %s: refusing to store an invalid refresh token",
			 shown);
		return NULL;
	}
	if (upn != NULL && (strnlen(upn, CACHE_MAX_FILE) >= CACHE_MAX_FILE || !cache_is_clean(upn))) {
		snprintf(err, errlen, "token cache %s: refusing to store an invalid upn", shown);
		return NULL;
	}
	/* The generator grows its buffer as it writes the token: the wiping allocator. */
	g = yajl_gen_alloc(&sbuf_yajl_funcs);
	if (g == NULL || yajl_gen_config(g, yajl_gen_validate_utf8, 1) == 0 ||
	    cache_gen(g, key, rt, upn) < 0 || yajl_gen_get_buf(g, buf, len) != yajl_gen_status_ok) {
		snprintf(err, errlen, "token cache %s: cannot encode it (invalid UTF-8?)", shown);
		if (g != NULL)
			yajl_gen_free(g);
		return NULL;
	}
	return g;
}

int cache_store(const char *state_dir, const struct cache_key *key, const char *rt,
		const char *upn, char *err, size_t errlen)
{
	char path[CACHE_PATH_BUF];
	const unsigned char *buf = NULL;
	size_t len = 0;
	yajl_gen g = NULL;
	int dfd = -1, rc = -1;

	if (cache_check_key(key, err, errlen) < 0)
		return -1;
	cache_path(path, sizeof(path), state_dir != NULL ? state_dir : "", key->profile);
	if ((g = cache_encode(key, rt, upn, path, &buf, &len, err, errlen)) == NULL)
		return -1;
	dfd = cache_dir_open(state_dir, err, errlen);
	if (dfd < 0)
		goto out;
	if (cache_commit(dfd, state_dir, key, path, buf, len, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	yajl_gen_free(g);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

int cache_seal_blob(const struct cache_key *key, const char *rt, const char *upn,
		    struct sbuf **out, char *err, size_t errlen)
{
	char why[CACHE_WHY_MAX];
	const unsigned char *buf = NULL;
	size_t len = 0;
	yajl_gen g;
	int rc = -1;

	*out = NULL;
	if (cache_check_key(key, err, errlen) < 0)
		return -1;
	if (key->secret == NULL) {
		snprintf(err, errlen, "token cache %s: no key to seal it under", key->profile);
		return -1;
	}
	if ((g = cache_encode(key, rt, upn, key->profile, &buf, &len, err, errlen)) == NULL)
		return -1;
	if (seal_wrap(key->secret, key->profile, buf, len, out, why, sizeof(why)) < 0)
		snprintf(err, errlen, "token cache %s: cannot encrypt it: %s", key->profile, why);
	else
		rc = 0;
	yajl_gen_free(g);
	return rc;
}

int cache_open_blob(const struct cache_key *key, const unsigned char *p, size_t len,
		    const char *shown, struct sbuf **rt, char *upn, size_t upnlen, char *err,
		    size_t errlen)
{
	char why[CACHE_WHY_MAX];
	struct sbuf *plain = NULL;
	int rc;

	*rt = NULL;
	if (cache_check_key(key, err, errlen) < 0)
		return -1;
	if (seal_unwrap(key->secret, key->profile, p, len, &plain, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "the sign-in %s cannot be decrypted: %s", shown, why);
		return -1;
	}
	rc = cache_parse(plain, key, shown, rt, upn, upnlen, err, errlen);
	sbuf_free(plain);
	return rc;
}

int cache_remove(const char *state_dir, const char *profile, const struct sbuf *secret,
		 char *err, size_t errlen)
{
	char path[CACHE_PATH_BUF], name[CACHE_NAME_BUF];
	int dfd, rc = -1;

	if (cache_check_profile(profile, err, errlen) < 0)
		return -1;
	dfd = cache_dir_open(state_dir, err, errlen);
	if (dfd < 0)
		return -1;
	cache_path(path, sizeof(path), state_dir, profile);
	snprintf(name, sizeof(name), "%s%s", profile, CACHE_SUFFIX);
	if (cache_foreign(dfd, name, secret)) {
		cache_foreign_error(path, err, errlen);
		goto out;
	}
	if (unlinkat(dfd, name, 0) < 0) {
		if (errno == ENOENT)
			rc = 0;
		else
			snprintf(err, errlen, "token cache %s: cannot remove it: %s", path,
				 strerror(errno));
		goto out;
	}
	/* A logout that a crash could undo would bring the token back. */
	if (cache_sync_dir(dfd, state_dir, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	close(dfd);
	return rc;
}

int cache_secret_load(const struct conf_profile *conf, struct sbuf **secret, char *err,
		      size_t errlen)
{
	*secret = NULL;
	if (!conf->cache_encryption)
		return 0;
	if (conf->cache_key_file == NULL) {
		snprintf(err, errlen, "%s:%d: profile %s: auth = %s keeps its refresh token in "
			 "state_dir, encrypted (cache_encryption = on, the default), and no "
			 "cache_key_file names the key. Make one with \"openssl rand -hex 32 | "
			 "systemd-creds encrypt --name=cache.key - /etc/credstore.encrypted/cache.key\" "
			 "(exod.service loads it) and set cache_key_file = cache.key, or point "
			 "cache_key_file at a file of 32 random bytes (mode 0600, exod's own; see "
			 "exod.conf(5)); or set cache_encryption = off to keep it in plain text",
			 conf->source != NULL ? conf->source : "exod.conf", conf->line, conf->name,
			 conf_auth_name(conf->auth));
		return -1;
	}
	if (seal_key_load(conf->cache_key_file, secret, err, errlen) < 0) {
		conf_key_error(conf, "cache_key_file", err, errlen);
		return -1;
	}
	return 0;
}
