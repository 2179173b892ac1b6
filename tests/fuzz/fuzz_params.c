/*
 * fuzz_params: exoctl's PowerShell-style parameter parser
 * (client/params.c: params_gen): -Name value, -Switch, -Name:value,
 * $true/$false/$null, integers, a,b lists, @{K=V;...} hashtables and
 * --params '{...}' JSON merged in.  Input: the argument vector after the
 * cmdlet name, one argument per line or per NUL byte (at most 300).  On
 * success the generator must hold exactly one JSON object; on failure
 * there must be a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "client/params.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_ARGS 300            /* a little over PARAMS_MAX_COUNT, so that the limit is reached */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_argv a;
	yajl_gen g;
	const unsigned char *buf;
	char err[512], *json;
	yajl_val v;
	size_t len;

	fuzz_argv_make(&a, data, size, MAX_ARGS);
	g = yajl_gen_alloc(NULL);
	FUZZ_SETUP(g != NULL);
	/* As exoctl configures it. */
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	err[0] = '\0';
	if (params_gen(g, a.argc, a.argv, err, sizeof(err)) == 0) {
		FUZZ_CHECK(yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok);
		json = fuzz_strndup(buf, len);
		v = yajl_tree_parse(json, NULL, 0);
		FUZZ_CHECK(v != NULL && YAJL_IS_OBJECT(v));
		yajl_tree_free(v);
		free(json);
	} else {
		FUZZ_CHECK(err[0] != '\0' && fuzz_terminated(err, sizeof(err)));
	}
	yajl_gen_free(g);
	fuzz_argv_free(&a);
	return 0;
}
