/*
 * fuzz_oauth: the Entra ID token endpoint answer parser (daemon/oauth.c:
 * oauth_parse_response), used by every sign-in method.  Input: the first
 * byte picks the HTTP status (and a Retry-After header), the rest is the
 * response body, as libcurl buffers it (not NUL-terminated).  The result
 * must be a token (ok, with an access token) or a classified error with a
 * message, never both, and must free cleanly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "daemon/auth.h"
#include "daemon/http.h"
#include "daemon/oauth.h"
#include "tests/fuzz/fuzz_util.h"

static const long statuses[] = { 200, 400, 401, 403, 404, 429, 500, 502, 503, 504, 200, 400, 0, 302,
				 200, 999 };
static const char *const retry_afters[] = { "", "5", "120", "Wed, 21 Oct 2015 07:28:00 GMT" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_result hr;
	struct auth_result res;
	char *body = NULL;

	if (size < 1)
		return -1;
	memset(&hr, 0, sizeof(hr));
	hr.outcome = HTTP_OK;
	hr.status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	hr.retry_after = http_retry_after(retry_afters[(data[0] >> 4) & 3],
					  strlen(retry_afters[(data[0] >> 4) & 3]));
	if (size > 1) {
		body = malloc(size - 1);
		FUZZ_SETUP(body != NULL);
		memcpy(body, data + 1, size - 1);
		hr.body = body;
		hr.body_len = size - 1;
	}
	oauth_parse_response(&hr, &res);
	FUZZ_CHECK(fuzz_terminated(res.message, sizeof(res.message)));
	FUZZ_CHECK(fuzz_terminated(res.oauth_error, sizeof(res.oauth_error)));
	if (res.ok) {
		FUZZ_CHECK(hr.status == 200);
		/* It goes into an Authorization header: only the bearer token alphabet. */
		FUZZ_CHECK(res.access_token != NULL && oauth_token_ok(sbuf_str(res.access_token)));
		FUZZ_CHECK(res.expires_in >= 0 && res.refresh_in >= 0);
	} else {
		FUZZ_CHECK(res.access_token == NULL && res.refresh_token == NULL);
		FUZZ_CHECK(res.message[0] != '\0');
	}
	FUZZ_CHECK(res.retry_after >= 0 && res.retry_after <= HTTP_MAX_RETRY_AFTER_S);
	auth_result_clear(&res);
	free(body);
	return 0;
}
