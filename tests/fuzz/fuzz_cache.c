/*
 * fuzz_cache: the on-disk token cache (daemon/cache.c: cache_load, and
 * daemon/seal.c under it), which exod reads back at start from
 * <state_dir>/<profile>.token.  Input: the file's contents, written per
 * input (mode 0600) into a private state directory (mode 0700) made once
 * per process, and loaded twice: with the harness's key (cache_encryption
 * = on) and without one (off).
 *
 * Checks: a load that succeeds gives a clean refresh token and upn, and
 * storing them back loads again to the same values; a plain file loaded
 * with a key is sealed in place and loads again the same.  A file that is
 * not loaded is never lost: it stays as it was, or, when it could not be
 * decrypted, it is kept aside byte for byte and the message says where.
 * The sealed files of the corpus are made under the same key by
 * make_corpus.py.  The nonces of re-sealed files and the names of kept
 * files come from the CSPRNG and the clock; no outcome depends on them.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "daemon/cache.h"
#include "daemon/seal.h"
#include "daemon/secret.h"
#include "tests/fuzz/fuzz_util.h"

#define UPNLEN 256
#define ERRLEN 1024
#define FILE_NAME "contoso.token"

static const struct cache_key key = {
	.profile = "contoso",
	.authority = "https://login.microsoftonline.com",
	.tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47",
	.client_id = "fb78d390-0c51-40cd-8e17-fdbfab77341b",
};
static const char *state_dir;
static struct sbuf *secret;             /* bytes 00 01 .. 1f, as make_corpus.py seals with */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char k[SEAL_KEY_LEN];
	char err[512];

	(void)argc;
	(void)argv;
	state_dir = fuzz_tmpdir();
	FUZZ_SETUP(cache_check_dir(state_dir, err, sizeof(err)) == 0);
	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (unsigned char)i;
	secret = sbuf_dup(k, sizeof(k));
	FUZZ_SETUP(secret != NULL);
	return 0;
}

static int clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* The contents of state_dir/name, malloc'd, or NULL when it does not exist. */
static unsigned char *slurp(const char *name, size_t *len)
{
	char path[PATH_MAX];
	unsigned char *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", state_dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	buf = malloc(CACHE_MAX_FILE + 1);
	FUZZ_SETUP(buf != NULL);
	*len = fread(buf, 1, CACHE_MAX_FILE + 1, f);
	fclose(f);
	return buf;
}

static int same_file(const char *name, const uint8_t *data, size_t size)
{
	size_t len = 0;
	unsigned char *buf = slurp(name, &len);
	int same = buf != NULL && len == size && (size == 0 || memcmp(buf, data, size) == 0);

	free(buf);
	return same;
}

/* Removes every kept-aside file; returns how many there were, the last one's name in name. */
static int take_asides(char *name, size_t len)
{
	struct dirent *e;
	DIR *d = opendir(state_dir);
	int n = 0;

	FUZZ_SETUP(d != NULL);
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, FILE_NAME CACHE_ASIDE_TAG,
			    strlen(FILE_NAME CACHE_ASIDE_TAG)) != 0)
			continue;
		snprintf(name, len, "%s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static int in_state(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", state_dir, name);
	return access(path, F_OK) == 0;
}

static void unlink_in_state(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", state_dir, name);
	FUZZ_SETUP(unlink(path) == 0);
}

/* Not loaded: the input is where it was, or kept aside whole when it would not decrypt. */
static void check_not_lost(const uint8_t *data, size_t size, const char *err)
{
	char aside[PATH_MAX];
	int n = take_asides(aside, sizeof(aside));

	if (strstr(err, "cannot be decrypted") == NULL) {
		FUZZ_CHECK(n == 0);
		FUZZ_CHECK(size == 0 || size > CACHE_MAX_FILE || same_file(FILE_NAME, data, size));
		return;
	}
	FUZZ_CHECK(n == 1 && strstr(err, aside) != NULL);
	FUZZ_CHECK(same_file(aside, data, size));
	FUZZ_CHECK(!in_state(FILE_NAME));
	unlink_in_state(aside);
}

/* A token read can be written back, and reads back the same. */
static void check_round_trip(const struct cache_key *k, const struct sbuf *rt, const char *upn)
{
	char upn2[UPNLEN], err[ERRLEN];
	struct sbuf *rt2 = NULL;

	if (cache_store(state_dir, k, sbuf_str(rt), upn[0] != '\0' ? upn : NULL, err,
			sizeof(err)) != 0) {
		/* Only a token too big to fit a cache file once re-encoded may be refused. */
		FUZZ_CHECK(strstr(err, "larger than") != NULL);
		return;
	}
	FUZZ_CHECK(cache_load(state_dir, k, &rt2, upn2, sizeof(upn2), err, sizeof(err)) == 0);
	FUZZ_CHECK(strcmp(sbuf_str(rt), sbuf_str(rt2)) == 0);
	FUZZ_CHECK(strcmp(upn, upn2) == 0);
	sbuf_free(rt2);
}

static void load_once(const uint8_t *data, size_t size, const struct sbuf *with)
{
	struct cache_key k = key;
	char upn[UPNLEN], err[ERRLEN];
	struct sbuf *rt = NULL;
	int rc;

	k.secret = with;
	fuzz_write_file(state_dir, FILE_NAME, data, size);
	err[0] = '\0';
	rc = cache_load(state_dir, &k, &rt, upn, sizeof(upn), err, sizeof(err));
	FUZZ_CHECK(rc >= -1 && rc <= CACHE_UNMIGRATED);
	FUZZ_CHECK(with != NULL || (rc != CACHE_MIGRATED && rc != CACHE_UNMIGRATED));
	if (rc == -1 || rc == 1) {
		FUZZ_CHECK(rt == NULL);
		FUZZ_CHECK(rc == 1 || (err[0] != '\0' && fuzz_terminated(err, sizeof(err))));
		if (rc == 1)
			FUZZ_CHECK(same_file(FILE_NAME, data, size));
		else
			check_not_lost(data, size, err);
		return;
	}
	FUZZ_CHECK(rt != NULL && sbuf_len(rt) > 0 && clean(sbuf_str(rt)));
	FUZZ_CHECK(fuzz_terminated(upn, sizeof(upn)) && clean(upn));
	/* Plain text read with a key is sealed in place; when it cannot be, it stays as it was. */
	if (rc == CACHE_UNMIGRATED)
		FUZZ_CHECK(same_file(FILE_NAME, data, size));
	if (rc == CACHE_MIGRATED) {
		size_t len = 0;
		unsigned char *now = slurp(FILE_NAME, &len);

		FUZZ_CHECK(now != NULL && seal_is_sealed(now, len));
		free(now);
	}
	check_round_trip(&k, rt, upn);
	sbuf_free(rt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	load_once(data, size, secret);
	load_once(data, size, NULL);
	return 0;
}
