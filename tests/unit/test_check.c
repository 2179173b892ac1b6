/* Unit tests of exoctl check's plugin line (client/check.c) and the progress line's text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/check.h"
#include "client/progress.h"

static const struct check_limits limits = { CHECK_TOKEN_WARNING, CHECK_TOKEN_CRITICAL };

/* Runs check_report on a status "profiles" array given as JSON; the line in out. */
static enum check_status report(const char *json, char *out, size_t len)
{
	char errbuf[128];
	yajl_val v = yajl_tree_parse(json, errbuf, sizeof(errbuf));
	FILE *fp = fmemopen(out, len, "w");
	enum check_status st;

	assert_non_null(v);
	assert_non_null(fp);
	st = check_report(fp, v, &limits);
	fclose(fp);
	yajl_tree_free(v);
	return st;
}

static void test_connected_is_ok_with_perfdata(void **state)
{
	char line[1024];

	(void)state;
	assert_int_equal(report("[{\"name\":\"contoso\",\"state\":\"connected\",\"token_expires_in\":3412,"
				"\"in_flight\":1,\"queued\":0,\"max_connections\":3,\"requests\":17,"
				"\"failures\":2,\"throttled_for\":0,\"last_error\":null}]",
				line, sizeof(line)), CHECK_OK);
	assert_string_equal(line, "EXOD OK - contoso: token valid 3412 s | "
			    "'token_seconds'=3412s;300:;60:;0 'in_flight'=1;;;0;3 'queued'=0;;;0 "
			    "'requests'=17c 'failures'=2c\n");
}

static void test_token_thresholds(void **state)
{
	char line[1024];

	(void)state;
	assert_int_equal(report("[{\"name\":\"a\",\"state\":\"connected\",\"token_expires_in\":300}]",
				line, sizeof(line)), CHECK_WARNING);
	assert_int_equal(report("[{\"name\":\"a\",\"state\":\"connected\",\"token_expires_in\":301}]",
				line, sizeof(line)), CHECK_OK);
	assert_int_equal(report("[{\"name\":\"a\",\"state\":\"connected\",\"token_expires_in\":60}]",
				line, sizeof(line)), CHECK_CRITICAL);
	assert_non_null(strstr(line, "EXOD CRITICAL - a: token valid 60 s"));
}

/* The worst profile decides; several profiles prefix their perfdata with their names. */
static void test_worst_of_several(void **state)
{
	char line[2048];

	(void)state;
	assert_int_equal(report("[{\"name\":\"a\",\"state\":\"connected\",\"token_expires_in\":3000},"
				"{\"name\":\"b\",\"state\":\"needs_login\",\"token_expires_in\":null},"
				"{\"name\":\"c\",\"state\":\"connected\",\"token_expires_in\":3000,"
				"\"throttled_for\":12}]", line, sizeof(line)), CHECK_CRITICAL);
	assert_non_null(strstr(line, "EXOD CRITICAL - a: token valid 3000 s; "
			       "b: needs a sign-in (exoctl login -p b); "
			       "c: token valid 3000 s, throttled for 12 s |"));
	assert_non_null(strstr(line, "'a_token_seconds'=3000s"));
	assert_non_null(strstr(line, "'c_queued'="));
	assert_null(strstr(line, "'b_token_seconds'"));
}

/* A failed refresh with a good token still warns; its text cannot break the plugin line. */
static void test_last_error_warns_and_is_sanitised(void **state)
{
	char line[1024];

	(void)state;
	assert_int_equal(report("[{\"name\":\"a\",\"state\":\"connected\",\"token_expires_in\":3000,"
				"\"last_error\":\"AADSTS7000215 | bad\\nsecret\"}]", line,
				sizeof(line)), CHECK_WARNING);
	assert_non_null(strstr(line, "last error: AADSTS7000215 / bad secret |"));
	assert_int_equal(report("[{\"name\":\"a\",\"state\":\"error\",\"token_expires_in\":null}]",
				line, sizeof(line)), CHECK_CRITICAL);
	assert_int_equal(report("[]", line, sizeof(line)), CHECK_UNKNOWN);
	assert_string_equal(line, "EXOD UNKNOWN - exod shows this user no profile\n");
}

static void test_progress_text(void **state)
{
	struct progress_state st = { .started_ms = 1000 };
	char line[PROGRESS_MAX_LINE];

	(void)state;
	snprintf(st.what, sizeof(st.what), "queued");
	st.ahead = 3;
	progress_format(line, sizeof(line), "Get-Mailbox", &st, 2200);
	assert_string_equal(line, "Get-Mailbox: queued behind 3 requests, 1.2 s");
	snprintf(st.what, sizeof(st.what), "throttled");
	st.retry_at_ms = 10100;
	st.attempt = 2;
	st.attempts = 4;
	progress_format(line, sizeof(line), "Get-Mailbox", &st, 2200);
	assert_string_equal(line, "Get-Mailbox: throttled by the service, retrying in 7.9 s (2 of 4)");
	snprintf(st.what, sizeof(st.what), "running");
	st.records = 3200;
	st.pages = 4;
	progress_format(line, sizeof(line), "Get-Mailbox", &st, 3000);
	assert_string_equal(line, "Get-Mailbox: 3,200 records, 4 pages, 1,600/s, 2.0 s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connected_is_ok_with_perfdata),
		cmocka_unit_test(test_token_thresholds),
		cmocka_unit_test(test_worst_of_several),
		cmocka_unit_test(test_last_error_warns_and_is_sanitised),
		cmocka_unit_test(test_progress_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
