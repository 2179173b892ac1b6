/*
 * fuzz_jwt: reading JWTs that we were given (daemon/jwt.c): jwt_peek, which
 * decodes the claims of an access token (from Entra, a managed identity
 * endpoint or an access_token_file) without checking its signature, and
 * b64url_decode under it.  Input: the token text (jwt_peek gets it
 * NUL-terminated; the decoder gets the raw bytes).  Claims must come back
 * NUL-terminated within their buffers; whatever decodes must re-encode
 * and decode to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/b64.h"
#include "daemon/jwt.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_info info;
	unsigned char *bin = NULL, *again = NULL;
	size_t bin_len = 0, again_len = 0;
	char *token, *enc = NULL, *raw;

	token = fuzz_strndup(data, size);
	if (jwt_peek(token, &info) == 0) {
		FUZZ_CHECK(fuzz_terminated(info.tid, sizeof(info.tid)));
		FUZZ_CHECK(fuzz_terminated(info.upn, sizeof(info.upn)));
		FUZZ_CHECK(fuzz_terminated(info.appid, sizeof(info.appid)));
	}
	free(token);

	/* The raw bytes, not NUL-terminated, so that ASan sees any read past the end. */
	raw = malloc(size > 0 ? size : 1);
	FUZZ_SETUP(raw != NULL);
	if (size > 0)
		memcpy(raw, data, size);
	if (b64url_decode(raw, size, &bin, &bin_len) == 0) {
		FUZZ_CHECK(bin != NULL && bin[bin_len] == '\0');
		FUZZ_CHECK(b64url_encode(bin, bin_len, &enc) == 0);
		FUZZ_CHECK(enc != NULL && strchr(enc, '=') == NULL);
		FUZZ_CHECK(b64url_decode(enc, strlen(enc), &again, &again_len) == 0);
		FUZZ_CHECK(again_len == bin_len && memcmp(again, bin, bin_len) == 0);
	} else {
		FUZZ_CHECK(bin == NULL && bin_len == 0);
	}
	free(bin);
	free(enc);
	free(again);
	free(raw);
	return 0;
}
