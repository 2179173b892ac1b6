/* Unit tests for daemon/oauth.c: how a token endpoint answer is read and its errors classified. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/sbuf.h"
#include "daemon/auth.h"
#include "daemon/http.h"
#include "daemon/oauth.h"

static struct auth_result parse(enum http_outcome outcome, long status, long retry_after,
				const char *body)
{
	struct http_result hr;
	struct auth_result res;

	memset(&hr, 0, sizeof(hr));
	hr.outcome = outcome;
	hr.status = status;
	hr.retry_after = retry_after;
	hr.error = outcome == HTTP_OK ? NULL : "Connection refused";
	hr.body = body;
	hr.body_len = body != NULL ? strlen(body) : 0;
	oauth_parse_response(&hr, &res);
	return res;
}

static struct auth_result answer(long status, const char *body)
{
	return parse(HTTP_OK, status, 0, body);
}

static void test_token_taken(void **state)
{
	struct auth_result r = answer(200, "{\"token_type\":\"Bearer\",\"access_token\":\"eyJ0.eyJw.c2ln\","
					   "\"refresh_token\":\"0.AAAA-rt\",\"expires_in\":3599,"
					   "\"refresh_in\":\"1800\"}");

	(void)state;
	assert_true(r.ok);
	assert_string_equal(sbuf_str(r.access_token), "eyJ0.eyJw.c2ln");
	assert_string_equal(sbuf_str(r.refresh_token), "0.AAAA-rt");
	assert_int_equal(r.expires_in, 3599);
	assert_int_equal(r.refresh_in, 1800);
	auth_result_clear(&r);
}

/* A token a header cannot carry is not taken; asking again may bring a good one. */
static void test_unusable_token_refused(void **state)
{
	static const char *const bodies[] = {
		"{\"access_token\":\"eyJ0 eyJw\",\"expires_in\":3599}",
		"{\"access_token\":\"eyJ0\\r\\nX-Evil: 1\",\"expires_in\":3599}",
		"{\"access_token\":\"\",\"expires_in\":3599}",
		"{\"access_token\":\"eyJ0.eyJw.c2ln\",\"refresh_token\":\"a b\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct auth_result r = answer(200, bodies[i]);

		assert_false(r.ok);
		assert_null(r.access_token);
		assert_int_equal(r.error, WIRE_E_AUTH_FAILED);
		assert_true(r.transient);
		assert_non_null(strstr(r.message, "cannot use"));
	}
}

/* Failures that pass by themselves: 5xx, 429 (with its Retry-After), Entra's throttling codes. */
static void test_transient_errors(void **state)
{
	struct auth_result r;

	(void)state;
	r = answer(503, "{\"error\":\"temporarily_unavailable\",\"error_description\":"
			"\"AADSTS90006: busy.\\r\\nTrace ID: 1\"}");
	assert_true(r.transient);
	assert_int_equal(r.error, WIRE_E_AUTH_FAILED);
	assert_string_equal(r.oauth_error, "temporarily_unavailable");
	assert_string_equal(r.message, "Entra ID: HTTP 503: temporarily_unavailable: AADSTS90006: busy.");
	r = answer(500, "{\"error\":\"server_error\"}");
	assert_true(r.transient);
	r = answer(502, "<html>Bad Gateway</html>");
	assert_true(r.transient);
	assert_string_equal(r.message, "Entra ID: HTTP 502: no error in the answer");
	r = parse(HTTP_OK, 429, 17, "{\"error\":\"invalid_request\"}");
	assert_true(r.transient);
	assert_int_equal(r.retry_after, 17);
	r = answer(400, "{\"error\":\"invalid_request\",\"error_codes\":[50196]}");
	assert_true(r.transient);
	r = parse(HTTP_NOT_SENT, 0, 0, NULL);
	assert_true(r.transient);
	assert_int_equal(r.error, WIRE_E_AUTH_FAILED);
	assert_string_equal(r.message, "token endpoint unreachable: Connection refused");
	r = parse(HTTP_TIMED_OUT, 0, 0, NULL);
	assert_true(r.transient);
	assert_int_equal(r.error, WIRE_E_TIMEOUT);
}

/* Refusals: a person must sign in (NeedsLogin), or the credentials are wrong (AuthFailed). */
static void test_refusals(void **state)
{
	struct auth_result r;

	(void)state;
	r = answer(400, "{\"error\":\"interaction_required\",\"error_description\":\"AADSTS0: sign in\"}");
	assert_false(r.transient);
	assert_int_equal(r.error, WIRE_E_NEEDS_LOGIN);
	r = answer(400, "{\"error\":\"invalid_grant\",\"error_codes\":[50076]}");
	assert_false(r.transient);
	assert_int_equal(r.error, WIRE_E_NEEDS_LOGIN);
	r = answer(400, "{\"error\":\"invalid_grant\",\"error_codes\":[50126],\"error_description\":"
			"\"AADSTS50126: Error validating credentials due to invalid username or password.\"}");
	assert_false(r.transient);
	assert_int_equal(r.error, WIRE_E_AUTH_FAILED);
	assert_string_equal(r.oauth_error, "invalid_grant");
	r = answer(401, "{\"error\":\"invalid_client\",\"error_codes\":[7000215]}");
	assert_false(r.transient);
	assert_int_equal(r.error, WIRE_E_AUTH_FAILED);
	assert_int_equal(r.retry_after, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_taken),
		cmocka_unit_test(test_unusable_token_refused),
		cmocka_unit_test(test_transient_errors),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
