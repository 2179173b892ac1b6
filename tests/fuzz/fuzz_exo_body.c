/*
 * fuzz_exo_body: the InvokeCommand request body as exod builds it from the
 * "params" object a local client sends in its request line: bound and
 * written by invoke_prepare (binder_json_tagged_for), then wrapped by
 * exo_codec_body (daemon/exo_codec.c).  Input: an optional first line
 * naming the cmdlet (used when it is at most 200 bytes), then the params
 * JSON, parsed with jtree_parse as exod parses a request line (bytes with
 * a length, within a request line's size).  A body that is built must be
 * one JSON object of the documented shape, and every object within a
 * parameter's value must carry an @odata.type (PowerShell hashtables).
 * Also readonly_cmdlet on the cmdlet name, which must agree with itself in
 * any letter case.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/jtree.h"
#include "common/sbuf.h"
#include "common/wire.h"
#include "daemon/exo_codec.h"
#include "daemon/invoke.h"
#include "daemon/readonly.h"
#include "tests/fuzz/fuzz_util.h"

#define CMDLET_LINE_MAX 200
#define DEFAULT_CMDLET "Set-Mailbox"

/* readonly_cmdlet folds ASCII case only: the upper-case spelling must give the same answer. */
static void check_readonly(const char *cmdlet, size_t len)
{
	char upper[CMDLET_LINE_MAX];

	for (size_t i = 0; i < len; i++)
		upper[i] = (char)toupper((unsigned char)cmdlet[i]);
	FUZZ_CHECK(readonly_cmdlet(cmdlet, len) == readonly_cmdlet(upper, len));
}

/* Every object at or below v, a parameter's value, names its type. */
static int all_typed(yajl_val v)
{
	if (YAJL_IS_ARRAY(v)) {
		for (size_t i = 0; i < v->u.array.len; i++)
			if (!all_typed(v->u.array.values[i]))
				return 0;
	} else if (YAJL_IS_OBJECT(v)) {
		int typed = 0;

		for (size_t i = 0; i < v->u.object.len; i++) {
			typed |= strcmp(v->u.object.keys[i], "@odata.type") == 0;
			if (!all_typed(v->u.object.values[i]))
				return 0;
		}
		return typed;
	}
	return 1;
}

static void check_body(const struct sbuf *out)
{
	const char *path_cmdlet[] = { "CmdletInput", "CmdletName", NULL };
	const char *path_params[] = { "CmdletInput", "Parameters", NULL };
	char why[64];
	yajl_val check, params;

	FUZZ_CHECK(out != NULL && strlen(sbuf_str(out)) == sbuf_len(out));
	check = jtree_parse(sbuf_ptr(out), sbuf_len(out), why, sizeof(why));
	FUZZ_CHECK(check != NULL && YAJL_IS_OBJECT(check));
	FUZZ_CHECK(YAJL_IS_STRING(yajl_tree_get(check, path_cmdlet, yajl_t_string)));
	params = yajl_tree_get(check, path_params, yajl_t_object);
	FUZZ_CHECK(YAJL_IS_OBJECT(params));
	for (size_t i = 0; i < params->u.object.len; i++)
		FUZZ_CHECK(all_typed(params->u.object.values[i]));
	jtree_free(check);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl, *json = data;
	size_t json_len = size;
	char *cmdlet = NULL, why[256];
	struct sbuf *out = NULL;
	struct invoke iv;
	yajl_val params = NULL;
	int rc;

	if (size >= WIRE_MAX_LINE)
		return -1;
	nl = memchr(data, '\n', size < CMDLET_LINE_MAX ? size : CMDLET_LINE_MAX);
	if (nl != NULL) {
		cmdlet = fuzz_strndup(data, (size_t)(nl - data));
		check_readonly((const char *)data, (size_t)(nl - data));
		json = nl + 1;
		json_len = size - (size_t)(nl - data) - 1;
	}
	if (json_len > 0) {
		params = jtree_parse(json, json_len, why, sizeof(why));
		if (params == NULL) {
			free(cmdlet);
			return 0;
		}
	}
	rc = invoke_prepare(&iv, 0, cmdlet != NULL ? cmdlet : DEFAULT_CMDLET, params, why, sizeof(why));
	if (rc == 0)
		rc = exo_codec_body(iv.rq.cmdlet, iv.rq.params, iv.rq.params_len, &out);
	if (rc == 0)
		check_body(out);
	else
		FUZZ_CHECK(out == NULL);
	invoke_clear(&iv);
	sbuf_free(out);
	jtree_free(params);
	free(cmdlet);
	return 0;
}
