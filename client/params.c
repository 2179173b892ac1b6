/*
 * PowerShell-style cmdlet parameters turned into a JSON object with
 * yajl_gen.  The grammar lives in common/binder_grammar.c, shared with the
 * parameter binder (common/binder.h); params_gen keeps its behaviour for
 * the callers that want the grammar alone.
 */
#include "params.h"

#include <stdio.h>
#include <string.h>

#include "client/output.h"
#include "common/binder.h"
#include "common/catalogue.h"
#include "common/jtree.h"
#include "common/sbuf.h"

/* params.h promises these limits to its callers: they must be the binder's. */
_Static_assert(PARAMS_MAX_NAME == BINDER_MAX_NAME, "name limit");
_Static_assert(PARAMS_MAX_COUNT == BINDER_MAX_PARAMS, "count limit");
_Static_assert(PARAMS_MAX_VALUE == BINDER_MAX_VALUE, "value limit");
_Static_assert(PARAMS_MAX_JSON == BINDER_MAX_JSON, "--params limit");

int params_gen(yajl_gen g, int argc, char *const argv[], char *err, size_t errlen)
{
	return binder_argv_plain(g, argc, argv, err, errlen);
}

/* A common parameter as exod's binder takes it back: switches as Booleans, -OutBuffer a number. */
static void params_gen_common(yajl_gen g, enum binder_common_id id, const char *value)
{
	const char *name = binder_common_name(id);

	yajl_gen_string(g, (const unsigned char *)name, strlen(name));
	if (id == BINDER_VERBOSE || id == BINDER_DEBUG)
		yajl_gen_bool(g, strcmp(value, "true") == 0);
	else if (id == BINDER_OUT_BUFFER)
		yajl_gen_number(g, value, strlen(value));
	else
		yajl_gen_string(g, (const unsigned char *)value, strlen(value));
}

int params_bind(yajl_gen g, const char *cmdlet, int argc, char *const argv[], const char **name,
		char *err, size_t errlen)
{
	/* The parameters may hold secrets: the first pass's buffers are wiped when freed. */
	yajl_gen tmp = yajl_gen_alloc(&sbuf_yajl_funcs);
	struct binder_result res;
	const unsigned char *buf;
	yajl_val v = NULL;
	char why[64] = "";
	size_t len;
	int rc = -1;

	*name = cmdlet;
	if (tmp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (binder_argv(tmp, cmdlet, strlen(cmdlet), argc, argv, &res, err, errlen) < 0)
		goto out;
	if (yajl_gen_get_buf(tmp, &buf, &len) != yajl_gen_status_ok ||
	    (v = jtree_parse(buf, len, why, sizeof(why))) == NULL || !YAJL_IS_OBJECT(v)) {
		snprintf(err, errlen, "cannot bind the parameters: %s", why);
		goto out;
	}
	yajl_gen_map_open(g);
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *key = v->u.object.keys[i];

		yajl_gen_string(g, (const unsigned char *)key, strlen(key));
		if (output_gen_tree(g, v->u.object.values[i]) < 0) {
			snprintf(err, errlen, "cannot bind the parameters");
			goto out;
		}
	}
	for (int id = 0; id < BINDER_COMMON_COUNT; id++) {
		const char *value = binder_common_get(&res.common, (enum binder_common_id)id);

		if (value != NULL)
			params_gen_common(g, (enum binder_common_id)id, value);
	}
	yajl_gen_map_close(g);
	if (res.cmdlet != NULL)
		*name = catalogue_cmdlet_name(res.cmdlet);
	rc = 0;
out:
	jtree_free(v);
	yajl_gen_free(tmp);
	return rc;
}
