/* Strict UTF-8 and the wiping JSON tree parser: what outside JSON exod accepts, and how it reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jtree.h"
#include "common/utf8.h"

#define LIT(s) s, sizeof(s) - 1

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(utf8_valid(LIT("plain ascii")));
	assert_true(utf8_valid(LIT("\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80")));      /* é 中 😀 */
	assert_true(utf8_valid(LIT("\xf4\x8f\xbf\xbf")));                           /* U+10FFFF */
	assert_true(utf8_valid(LIT("\xed\x9f\xbf")));                               /* U+D7FF */
	assert_false(utf8_valid(LIT("\xc0\xaf")));              /* overlong '/' */
	assert_false(utf8_valid(LIT("\xe0\x80\xaf")));          /* overlong, 3 bytes */
	assert_false(utf8_valid(LIT("\xed\xa0\x80")));          /* a surrogate */
	assert_false(utf8_valid(LIT("\xf4\x90\x80\x80")));      /* past U+10FFFF */
	assert_false(utf8_valid(LIT("\xf5\x80\x80\x80")));
	assert_false(utf8_valid(LIT("\x80")));                  /* a lone continuation */
	assert_false(utf8_valid(LIT("\xc3")));                  /* cut short */
	assert_false(utf8_valid(LIT("\xe4\xb8")));
	assert_false(utf8_valid(LIT("\xff")));
}

static void test_utf8_repair_and_cut(void **state)
{
	char out[64];
	size_t n;

	(void)state;
	n = utf8_repair(LIT("a\xc0\xaf" "b\xc3\xa9"), out);
	assert_int_equal(n, 1 + 6 + 1 + 2);
	assert_memory_equal(out, "a\xef\xbf\xbd\xef\xbf\xbd" "b\xc3\xa9", n);
	assert_true(utf8_valid(out, n));
	/* A cut never splits a sequence. */
	assert_int_equal(utf8_cut(LIT("ab\xc3\xa9"), 3), 2);
	assert_int_equal(utf8_cut(LIT("ab\xc3\xa9"), 4), 4);
}

static void test_utf8_copy(void **state)
{
	char dst[4];

	(void)state;
	/* Room for 3 bytes and the NUL: the two-byte character that would not fit stays out. */
	assert_int_equal(utf8_copy(dst, sizeof(dst), LIT("ab\xc3\xa9")), 2);
	assert_string_equal(dst, "ab");
	assert_int_equal(utf8_copy(dst, sizeof(dst), LIT("a\xc3\xa9z")), 3);
	assert_string_equal(dst, "a\xc3\xa9");
	/* Only len bytes of the source count. */
	assert_int_equal(utf8_copy(dst, sizeof(dst), "xyz.domain", 3), 3);
	assert_string_equal(dst, "xyz");
	assert_int_equal(utf8_copy(dst, sizeof(dst), "", 0), 0);
	assert_string_equal(dst, "");
	dst[0] = 'q';
	assert_int_equal(utf8_copy(dst, 0, "abc", 3), 0);
	assert_int_equal(dst[0], 'q');          /* no room, nothing written */
}

static void test_tree_shapes(void **state)
{
	char why[64];
	yajl_val v = jtree_parse(LIT("{\"s\":\"x\",\"n\":-12,\"d\":1.5,\"big\":123456789012345678901234,"
				     "\"t\":true,\"f\":false,\"z\":null,\"a\":[1,[2],{}],\"o\":{\"k\":\"v\"}}"),
				 why, sizeof(why));

	(void)state;
	assert_non_null(v);
	assert_true(YAJL_IS_OBJECT(v));
	assert_int_equal(v->u.object.len, 9);
	assert_string_equal(jtree_str(v, "s"), "x");
	assert_true(YAJL_IS_INTEGER(jtree_get(v, "n")));
	assert_int_equal(YAJL_GET_INTEGER(jtree_get(v, "n")), -12);
	assert_false(YAJL_IS_INTEGER(jtree_get(v, "d")));
	assert_true(YAJL_IS_DOUBLE(jtree_get(v, "d")));
	/* Too big for a long long: not an integer, and its text is kept as sent. */
	assert_false(YAJL_IS_INTEGER(jtree_get(v, "big")));
	assert_string_equal(YAJL_GET_NUMBER(jtree_get(v, "big")), "123456789012345678901234");
	assert_true(YAJL_IS_TRUE(jtree_get(v, "t")));
	assert_true(YAJL_IS_FALSE(jtree_get(v, "f")));
	assert_true(YAJL_IS_NULL(jtree_get(v, "z")));
	assert_int_equal(jtree_get(v, "a")->u.array.len, 3);
	assert_string_equal(jtree_str(jtree_get(v, "o"), "k"), "v");
	assert_null(jtree_get(v, "missing"));
	assert_null(jtree_str(v, "n"));
	/* yajl_tree_get works on these trees too. */
	{
		const char *path[] = { "o", "k", NULL };

		assert_string_equal(YAJL_GET_STRING(yajl_tree_get(v, path, yajl_t_string)), "v");
	}
	jtree_free(v);
	jtree_free(NULL);
}

static void test_tree_refuses(void **state)
{
	static const struct {
		const char *doc;
		size_t len;
		const char *why;
	} cases[] = {
#define C(lit, why) { lit, sizeof(lit) - 1, why }
		C("{\"a\":\"x\0y\"}", "NUL"),
		C("{\"a\":\"x\\u0000y\"}", "NUL"),
		C("{\"a\\u0000\":1}", "NUL"),
		C("{\"a\":\"\xc0\xaf\"}", "UTF-8"),
		/* Escapes too: yajl decodes a lone low surrogate to surrogate bytes. */
		C("[\"\\udc00\"]", "surrogate"),
		C("{\"\\udfff\":1}", "surrogate"),
		C("{\"\xed\xa0\x80\":1}", "UTF-8"),
		C("{\"a\":1} x", "JSON"),
		C("{\"a\":1}{}", "JSON"),
		C("/**/{\"a\":1}", "JSON"),
		C("{\"a\":1,}", "JSON"),
		C("{\"a\":tru}", "JSON"),
		C("", "JSON"),
		C("   ", "JSON"),
		C("{\"n\":1234567890123456789012345678901234567890123456789012345678901234567890}",
		  "number"),
#undef C
	};
	char why[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_null(jtree_parse(cases[i].doc, cases[i].len, why, sizeof(why)));
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, why, cases[i].why);
	}
}

/* Nesting is bounded (the tree is freed by recursion), and the message never quotes the input. */
static void test_tree_depth(void **state)
{
	char doc[2 * (JTREE_MAX_DEPTH + 1) + 1], why[64];
	yajl_val v;
	int d;

	(void)state;
	for (d = 0; d < JTREE_MAX_DEPTH; d++) {
		doc[d] = '[';
		doc[2 * JTREE_MAX_DEPTH - 1 - d] = ']';
	}
	v = jtree_parse(doc, 2 * JTREE_MAX_DEPTH, why, sizeof(why));
	assert_non_null(v);
	jtree_free(v);
	for (d = 0; d <= JTREE_MAX_DEPTH; d++) {
		doc[d] = '[';
		doc[2 * JTREE_MAX_DEPTH + 1 - d] = ']';
	}
	assert_null(jtree_parse(doc, 2 * (JTREE_MAX_DEPTH + 1), why, sizeof(why)));
	assert_non_null(strstr(why, "deep"));
}

/* Large arrays grow by doubling: a 64 KiB line of numbers parses in one go. */
static void test_tree_wide(void **state)
{
	size_t cap = 70000, n = 0, count = 0;
	char *doc = malloc(cap), why[64];
	yajl_val v;

	(void)state;
	assert_non_null(doc);
	doc[n++] = '[';
	while (n + 3 < 65536) {
		if (count > 0)
			doc[n++] = ',';
		doc[n++] = '7';
		count++;
	}
	doc[n++] = ']';
	v = jtree_parse(doc, n, why, sizeof(why));
	assert_non_null(v);
	assert_int_equal(v->u.array.len, count);
	assert_int_equal(YAJL_GET_INTEGER(v->u.array.values[count - 1]), 7);
	jtree_free(v);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_repair_and_cut),
		cmocka_unit_test(test_utf8_copy),
		cmocka_unit_test(test_tree_shapes),
		cmocka_unit_test(test_tree_refuses),
		cmocka_unit_test(test_tree_depth),
		cmocka_unit_test(test_tree_wide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
