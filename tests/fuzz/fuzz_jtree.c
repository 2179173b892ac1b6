/*
 * fuzz_jtree: the strict JSON tree parser every outside document goes
 * through (common/jtree.c), and UTF-8 checking and repair
 * (common/utf8.c).  A tree is built only from valid UTF-8 without NUL
 * bytes, nests at most JTREE_MAX_DEPTH, and every string in it is NUL-free
 * valid UTF-8; repaired text is always valid UTF-8.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jtree.h"
#include "common/utf8.h"
#include "tests/fuzz/fuzz_util.h"

/* depth counts containers: the top one is 1, and a scalar sits one below its container. */
static void walk(yajl_val v, int depth)
{
	FUZZ_CHECK(v != NULL);
	if (YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v))
		FUZZ_CHECK(depth <= JTREE_MAX_DEPTH);
	if (YAJL_IS_STRING(v)) {
		FUZZ_CHECK(utf8_valid(v->u.string, strlen(v->u.string)));
	} else if (YAJL_IS_OBJECT(v)) {
		for (size_t i = 0; i < v->u.object.len; i++) {
			FUZZ_CHECK(utf8_valid(v->u.object.keys[i], strlen(v->u.object.keys[i])));
			FUZZ_CHECK(jtree_get(v, v->u.object.keys[i]) != NULL);
			walk(v->u.object.values[i], depth + 1);
		}
	} else if (YAJL_IS_ARRAY(v)) {
		for (size_t i = 0; i < v->u.array.len; i++)
			walk(v->u.array.values[i], depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[64], *fixed;
	yajl_val v = jtree_parse(data, size, why, sizeof(why));
	size_t n;

	if (v != NULL) {
		FUZZ_CHECK(fuzz_no_nul(data, size) && utf8_valid(data, size));
		walk(v, 1);
		jtree_free(v);
	} else {
		FUZZ_CHECK(why[0] != '\0' && fuzz_terminated(why, sizeof(why)));
	}
	fixed = malloc(size * 3 + 1);
	FUZZ_SETUP(fixed != NULL);
	n = utf8_repair(data, size, fixed);
	FUZZ_CHECK(n >= size && n <= size * 3 && utf8_valid(fixed, n));
	FUZZ_CHECK((n == size) == (utf8_valid(data, size) != 0));
	FUZZ_CHECK(utf8_cut(fixed, n, n / 2) <= n / 2 && utf8_valid(fixed, utf8_cut(fixed, n, n / 2)));
	free(fixed);
	return 0;
}
