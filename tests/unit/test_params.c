/* Unit tests of exoctl's PowerShell-style parameter parsing (client/params.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/params.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__ })
#define NARGS(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))
#define OK(expect, ...) check_ok(expect, NARGS(__VA_ARGS__), ARGV(__VA_ARGS__))
#define FAILS(needle, ...) check_fails(needle, NARGS(__VA_ARGS__), ARGV(__VA_ARGS__))

static char errbuf[512];

/* Runs params_gen; returns the JSON text (malloc'ed) or NULL on failure. */
static char *gen(int argc, char **argv)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t len;
	char *out = NULL;

	assert_non_null(g);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	errbuf[0] = '\0';
	if (params_gen(g, argc, argv, errbuf, sizeof(errbuf)) == 0) {
		assert_int_equal(yajl_gen_get_buf(g, &buf, &len), yajl_gen_status_ok);
		out = strndup((const char *)buf, len);
	}
	yajl_gen_free(g);
	return out;
}

static void check_ok(const char *expect, int argc, char **argv)
{
	char *out = gen(argc, argv);

	if (out == NULL)
		fail_msg("params_gen failed: %s", errbuf);
	assert_string_equal(out, expect);
	free(out);
}

static void check_fails(const char *needle, int argc, char **argv)
{
	char *out = gen(argc, argv);

	if (out != NULL) {
		print_error("params_gen accepted it: %s\n", out);
		free(out);
		fail();
	}
	if (strstr(errbuf, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", errbuf, needle);
}

static void test_empty(void **state)
{
	(void)state;
	check_ok("{}", 0, ARGV(NULL));
}

static void test_name_value(void **state)
{
	(void)state;
	OK("{\"Identity\":\"alice@contoso.com\",\"ResultSize\":10}",
	   "-Identity", "alice@contoso.com", "-ResultSize", "10");
	OK("{\"Identity\":\"CONTOSO\\\\jdoe\"}", "-Identity", "CONTOSO\\jdoe");
	OK("{\"DisplayName\":\"O'Brien\"}", "-DisplayName", "O'Brien");
}

static void test_switches(void **state)
{
	(void)state;
	OK("{\"Force\":true}", "-Force");
	OK("{\"Force\":true,\"Identity\":\"x\"}", "-Force", "-Identity", "x");
	OK("{\"Archive\":true,\"ResultSize\":1}", "-Archive", "--params", "{\"ResultSize\":1}");
}

static void test_colon_values(void **state)
{
	(void)state;
	OK("{\"Confirm\":false,\"Enabled\":true,\"Manager\":null}",
	   "-Confirm:$false", "-Enabled:$TRUE", "-Manager:$null");
	OK("{\"Name\":\"value\",\"Size\":5}", "-Name:value", "-Size:5");
	OK("{\"Name\":\"-dash\"}", "-Name:", "-dash");
	FAILS("after ':'", "-Name:");
}

static void test_literals(void **state)
{
	(void)state;
	OK("{\"A\":true,\"B\":false,\"C\":null,\"D\":\"$other\",\"E\":\"$true\"}",
	   "-A", "$true", "-B", "$false", "-C", "$null", "-D", "$other", "-E", "\\$true");
	OK("{\"A\":\"5\",\"B\":\"x\"}", "-A", "\"5\"", "-B", "'x'");
}

static void test_integers(void **state)
{
	(void)state;
	OK("{\"A\":0,\"B\":-5,\"C\":9223372036854775807,\"D\":-9223372036854775808}",
	   "-A", "0", "-B", "-5", "-C", "9223372036854775807", "-D", "-9223372036854775808");
	OK("{\"A\":\"9223372036854775808\",\"B\":\"00123\",\"C\":\"1e5\",\"D\":\"Unlimited\","
	   "\"E\":\"1.5\",\"F\":\"-\",\"G\":\"+1\",\"H\":\"-01\"}",
	   "-A", "9223372036854775808", "-B", "00123", "-C", "1e5", "-D", "Unlimited",
	   "-E", "1.5", "-F", "-", "-G", "+1", "-H", "-01");
}

static void test_negative_is_value(void **state)
{
	(void)state;
	OK("{\"Offset\":-30,\"Force\":true}", "-Offset", "-30", "-Force");
}

static void test_arrays(void **state)
{
	(void)state;
	OK("{\"Members\":[\"a\",\"b\",\"c\"]}", "-Members", "a,b,c");
	OK("{\"X\":[1,\"two\",true,null,\"007\"]}", "-X", "1, two ,$true,$null,007");
	OK("{\"X\":\"a,b\"}", "-X", "a\\,b");
	OK("{\"X\":[\"a,b\",\"c\"]}", "-X", "a\\,b,c");
	OK("{\"X\":[\"a, b\",\"c\"]}", "-X", "'a, b',c");
	OK("{\"X\":[\"a\",\"b\",\"c\"],\"Y\":1}", "-X", "a,", "b,", "c", "-Y", "1");
	FAILS("empty element", "-X", "a,,b");
	FAILS("empty element", "-X", "a,", "-Y", "1");
}

static void test_quotes_keep_commas(void **state)
{
	(void)state;
	OK("{\"Filter\":\"DisplayName -like 'Smith, *'\"}",
	   "-Filter", "DisplayName -like 'Smith, *'");
}

static void test_hashtable(void **state)
{
	(void)state;
	OK("{\"EmailAddresses\":{\"Add\":[\"a@x.com\",\"b@x.com\"],\"Remove\":\"c@x.com\"}}",
	   "-EmailAddresses", "@{Add=a@x.com,b@x.com;Remove=c@x.com}");
	OK("{\"H\":{\"A\":1,\"B\":true,\"C\":\"00123\",\"D\":\"x;y\",\"E\":\"p=q\"}}",
	   "-H", "@{ A = 1 ; B=$true; C=00123; D='x;y'; E=p\\=q; }");
	OK("{\"H\":{}}", "-H", "@{}");
	FAILS("no '='", "-H", "@{A}");
	FAILS("does not end", "-H", "@{A=1");
	FAILS("nested", "-H", "@{A=@{B=1}}");
}

static void test_params_merge(void **state)
{
	(void)state;
	OK("{\"Identity\":\"b\",\"ResultSize\":5}",
	   "-Identity", "a", "--params", "{\"ResultSize\":5,\"Identity\":\"b\"}");
	OK("{\"A\":2,\"B\":[1,{\"c\":null}]}",
	   "--params={\"A\":1,\"B\":[1,{\"c\":null}]}", "-A", "2");
	OK("{\"A\":3}", "--params", "{\"A\":1}", "--params", "{\"A\":3}");
	FAILS("JSON object", "--params", "[1,2]");
	FAILS("not valid JSON", "--params", "{\"A\":");
	FAILS("needs a JSON object", "--params");
	FAILS("invalid parameter name", "--params", "{\"bad-key\":1}");
}

static void test_duplicate(void **state)
{
	(void)state;
	FAILS("twice", "-Identity", "a", "-Identity", "b");
	FAILS("twice", "-Identity", "a", "-identity:b");
	FAILS("twice", "-Force", "-Force");
}

static void test_bare_value(void **state)
{
	(void)state;
	FAILS("no -Name before it", "alice");
	FAILS("no -Name before it", "-Identity", "a", "b");
	FAILS("unknown option", "--verbose");
}

static void test_names(void **state)
{
	char long_name[PARAMS_MAX_NAME + 3];

	(void)state;
	FAILS("invalid parameter name", "-Result_Size", "1");
	FAILS("invalid parameter name", "-Result-Size", "1");
	memset(long_name, 'A', sizeof(long_name) - 1);
	long_name[0] = '-';
	long_name[sizeof(long_name) - 1] = '\0';
	FAILS("invalid parameter name", long_name);
	long_name[sizeof(long_name) - 2] = '\0';
	check_ok("{\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\":true}", 1, ARGV(long_name));
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	FAILS("UTF-8", "-Name", "\xff\xfe");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_name_value),
		cmocka_unit_test(test_switches),
		cmocka_unit_test(test_colon_values),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_negative_is_value),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_quotes_keep_commas),
		cmocka_unit_test(test_hashtable),
		cmocka_unit_test(test_params_merge),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_bare_value),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_invalid_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
