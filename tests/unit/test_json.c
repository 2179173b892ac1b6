/* The JSON helpers of the answer lines: integers and tenths written without printf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "daemon/json.h"

static void test_tenths(void **state)
{
	static const struct {
		double val;
		const char *text;
	} cases[] = {
		{ 0, "0.0" }, { 0.04, "0.0" }, { 1.25, "1.2" }, { 12.99, "12.9" }, { 100, "100.0" },
		{ -0.5, "-0.5" }, { -1.25, "-1.2" }, { -12.0, "-12.0" }, { 123456789.1, "123456789.1" },
	};
	char out[JSON_TENTHS_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(json_tenths(out, sizeof(out), cases[i].val), strlen(cases[i].text));
		assert_string_equal(out, cases[i].text);
	}
	/* Cut to the room given, NUL-terminated. */
	assert_int_equal(json_tenths(out, 3, 12.5), 2);
	assert_string_equal(out, "12");
}

static void test_kv_int(void **state)
{
	static const long long vals[] = { 0, 7, -7, 10, 1234567890123LL, LLONG_MAX, LLONG_MIN };
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	char want[512] = "{";
	size_t len, off = 1;

	(void)state;
	assert_non_null(g);
	yajl_gen_map_open(g);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		json_kv_int(g, "n", vals[i]);
		off += (size_t)snprintf(want + off, sizeof(want) - off, "%s\"n\":%lld", i ? "," : "", vals[i]);
	}
	yajl_gen_map_close(g);
	snprintf(want + off, sizeof(want) - off, "}");
	assert_int_equal(yajl_gen_get_buf(g, &buf, &len), yajl_gen_status_ok);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(buf, want, len);
	yajl_gen_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tenths),
		cmocka_unit_test(test_kv_int),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
