/*
 * fuzz_http: what exod reads out of an upstream answer before it acts on
 * it (daemon/http.c): Retry-After (delay-seconds or an HTTP date, held to
 * 0..HTTP_MAX_RETRY_AFTER_S, never overflowing), and whether a next-page
 * URL keeps the scheme, host and port of the page that named it (where a
 * bearer token may go).  The input is split into strings at NUL bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/http.h"
#include "tests/fuzz/fuzz_util.h"

#define BASE "https://outlook.office365.com/adminapi/beta/contoso/InvokeCommand"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_argv a;
	long ra;

	fuzz_argv_make(&a, data, size, 3);
	for (int i = 0; i < a.argc; i++) {
		ra = http_retry_after(a.argv[i], strlen(a.argv[i]));
		FUZZ_CHECK(ra >= 0 && ra <= HTTP_MAX_RETRY_AFTER_S);
		/* Same origin is symmetric, and a next page that goes elsewhere is never https-same. */
		if (a.argc > 1) {
			const char *other = a.argv[(i + 1) % a.argc];

			FUZZ_CHECK(http_same_origin(a.argv[i], other) ==
				   http_same_origin(other, a.argv[i]));
		}
		if (http_same_origin(BASE, a.argv[i]))
			FUZZ_CHECK(http_is_https(a.argv[i]));
	}
	fuzz_argv_free(&a);
	return 0;
}
