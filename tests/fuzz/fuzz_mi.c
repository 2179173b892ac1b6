/*
 * fuzz_mi: the managed identity answers and the values around them
 * (daemon/auth_mi.c).  Input: the first byte picks the endpoint kind
 * (IMDS or App Service), the HTTP status and a Retry-After header; the
 * rest is the response body for auth_mi_parse_response (clock fixed).
 * The same rest, split on NUL bytes and newlines, gives the strings for
 * auth_mi_expires_in (expires_in, expires_on), auth_mi_retry_delay
 * (Retry-After), and auth_mi_choose / auth_mi_url (configured endpoint,
 * IDENTITY_HEADER, IDENTITY_ENDPOINT, identity selectors).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sbuf.h"
#include "daemon/auth.h"
#include "daemon/auth_mi.h"
#include "daemon/http.h"
#include "tests/fuzz/fuzz_util.h"

#define NOW ((time_t)1700000000)
#define RESOURCE "https://outlook.office365.com"

static const long statuses[] = { 200, 200, 400, 404, 410, 429, 500, 503 };
static const char *const retry_afters[] = { "", "3", "600", "Wed, 21 Oct 2015 07:28:00 GMT" };

static const char *arg(const struct fuzz_argv *a, int i)
{
	return i < a->argc && a->argv[i][0] != '\0' ? a->argv[i] : NULL;
}

static void check_result(const struct auth_result *res)
{
	FUZZ_CHECK(fuzz_terminated(res->message, sizeof(res->message)));
	if (res->ok) {
		FUZZ_CHECK(res->access_token != NULL && sbuf_len(res->access_token) > 0);
		FUZZ_CHECK(res->expires_in > 0 && res->expires_in <= AUTH_MI_MAX_LIFETIME_S);
		FUZZ_CHECK(res->refresh_in >= 0 && res->refresh_in < res->expires_in);
	} else {
		FUZZ_CHECK(res->access_token == NULL);
		FUZZ_CHECK(res->message[0] != '\0');
	}
	FUZZ_CHECK(res->retry_after >= 0 && res->retry_after <= AUTH_MI_MAX_RETRY_AFTER_S);
}

static void strings(const uint8_t *data, size_t size, int tries)
{
	struct conf_profile prof;
	struct fuzz_argv a;
	enum auth_mi_kind kind;
	const char *endpoint = NULL;
	char err[256], *url = NULL;
	long n;

	fuzz_argv_make(&a, data, size, 10);
	n = auth_mi_expires_in(arg(&a, 0), arg(&a, 1), NOW);
	FUZZ_CHECK(n == -1 || (n >= 1 && n <= AUTH_MI_MAX_LIFETIME_S));
	/* Retry-After as http.c hands it over: parsed, saturated and held to 300 s. */
	n = auth_mi_retry_delay(tries, arg(&a, 2) != NULL ? http_retry_after(arg(&a, 2),
									     strlen(arg(&a, 2))) : 0);
	FUZZ_CHECK(n >= AUTH_MI_BACKOFF_FIRST_S && n <= AUTH_MI_MAX_RETRY_AFTER_S);
	err[0] = '\0';
	if (auth_mi_choose(arg(&a, 3), arg(&a, 4), arg(&a, 5), &kind, &endpoint, err, sizeof(err)) == 0) {
		FUZZ_CHECK(endpoint != NULL);
		memset(&prof, 0, sizeof(prof));
		prof.managed_identity_client_id = (char *)arg(&a, 6);
		prof.managed_identity_object_id = (char *)arg(&a, 7);
		prof.managed_identity_resource_id = (char *)arg(&a, 8);
		if (auth_mi_url(kind, endpoint, RESOURCE, &prof, &url) == 0) {
			FUZZ_CHECK(url != NULL && strncmp(url, endpoint, strlen(endpoint)) == 0);
			free(url);
		}
		(void)auth_mi_kind_name(kind);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	fuzz_argv_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_result hr;
	struct auth_result res;
	enum auth_mi_kind kind;
	char *body = NULL;

	if (size < 1)
		return -1;
	kind = (data[0] & 1) ? AUTH_MI_APP_SERVICE : AUTH_MI_IMDS;
	memset(&hr, 0, sizeof(hr));
	hr.outcome = HTTP_OK;
	hr.status = statuses[(data[0] >> 1) & 7];
	hr.retry_after = http_retry_after(retry_afters[(data[0] >> 4) & 3],
					  strlen(retry_afters[(data[0] >> 4) & 3]));
	if (size > 1) {
		body = malloc(size - 1);
		FUZZ_SETUP(body != NULL);
		memcpy(body, data + 1, size - 1);
		hr.body = body;
		hr.body_len = size - 1;
	}
	auth_mi_parse_response(&hr, kind, NOW, &res);
	check_result(&res);
	auth_result_clear(&res);
	(void)auth_mi_retryable(hr.status, hr.outcome);
	strings(data + 1, size - 1, (data[0] >> 6) + 1);
	free(body);
	return 0;
}
