/*
 * fuzz_cache: the on-disk token cache (daemon/cache.c: cache_load), which
 * exod reads back at start from <state_dir>/<profile>.token.  Input: the
 * file's contents, written per input (mode 0600) into a private state
 * directory (mode 0700) made once per process.  A load that succeeds
 * must give a clean refresh token and upn, and storing them back with
 * cache_store must load again to the same values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "daemon/cache.h"
#include "daemon/secret.h"
#include "tests/fuzz/fuzz_util.h"

#define UPNLEN 256

static const struct cache_key key = {
	.profile = "contoso",
	.authority = "https://login.microsoftonline.com",
	.tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47",
	.client_id = "fb78d390-0c51-40cd-8e17-fdbfab77341b",
};
static const char *state_dir;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	state_dir = fuzz_tmpdir();
	FUZZ_SETUP(cache_check_dir(state_dir, err, sizeof(err)) == 0);
	return 0;
}

static int clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char upn[UPNLEN], upn2[UPNLEN], err[512];
	struct sbuf *rt = NULL, *rt2 = NULL;
	int rc;

	fuzz_write_file(state_dir, "contoso.token", data, size);
	err[0] = '\0';
	rc = cache_load(state_dir, &key, &rt, upn, sizeof(upn), err, sizeof(err));
	FUZZ_CHECK(rc >= -1 && rc <= 1);
	if (rc != 0) {
		FUZZ_CHECK(rt == NULL);
		FUZZ_CHECK(rc == 1 || (err[0] != '\0' && fuzz_terminated(err, sizeof(err))));
		return 0;
	}
	FUZZ_CHECK(rt != NULL && sbuf_len(rt) > 0 && clean(sbuf_str(rt)));
	FUZZ_CHECK(fuzz_terminated(upn, sizeof(upn)) && clean(upn));

	/* What was read can be written back, and reads back the same. */
	if (cache_store(state_dir, &key, sbuf_str(rt), upn[0] != '\0' ? upn : NULL, err,
			sizeof(err)) == 0) {
		FUZZ_CHECK(cache_load(state_dir, &key, &rt2, upn2, sizeof(upn2), err, sizeof(err)) == 0);
		FUZZ_CHECK(strcmp(sbuf_str(rt), sbuf_str(rt2)) == 0);
		FUZZ_CHECK(strcmp(upn, upn2) == 0);
		sbuf_free(rt2);
	} else {
		/* Only a token too big to fit a cache file once re-encoded may be refused. */
		FUZZ_CHECK(strstr(err, "larger than") != NULL);
	}
	sbuf_free(rt);
	return 0;
}
