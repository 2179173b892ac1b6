/*
 * fuzz_binder: the parameter binder (common/binder.c) on the real cmdlet
 * catalogue.  Input: the cmdlet's name on the first line (any bytes; an
 * unknown name passes through), then either a JSON object, when the rest
 * starts with '{' (binder_json, parsed with jtree_parse as exod parses a
 * request), or exoctl's arguments, one per line or per NUL (binder_argv,
 * at most 300).  Checks beyond "no crash, no leak, no UB":
 *   - a failure has a message: NUL-terminated, valid UTF-8, no control
 *     bytes (exod sends it to clients inside JSON, exoctl to a terminal);
 *   - a success is one JSON object whose keys are parameter names: for a
 *     catalogue cmdlet its canonical names, never a SecureString one and
 *     never a common parameter; res.set names a set or is -1;
 *   - binding is a fixed point: the object written, bound again through
 *     binder_json, comes out byte for byte the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/binder.h"
#include "common/catalogue.h"
#include "common/jtree.h"
#include "common/utf8.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_ARGS 300            /* a few over BINDER_MAX_PARAMS, so that the limit is reached */
#define CMDLET_LINE_MAX 200

struct out {
	char *json;                     /* malloc'd, or NULL on failure */
	size_t len;
	char err[BINDER_ERR_LEN];
	struct binder_result res;
};

static void check_error(const char *err)
{
	size_t n;

	FUZZ_CHECK(fuzz_terminated(err, BINDER_ERR_LEN));
	n = strlen(err);
	FUZZ_CHECK(n > 0 && utf8_valid(err, n));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
}

/* Takes what g holds after a bind that returned rc. */
static void finish(yajl_gen g, int rc, struct out *o)
{
	const unsigned char *buf;

	o->json = NULL;
	if (rc == 0) {
		FUZZ_CHECK(yajl_gen_get_buf(g, &buf, &o->len) == yajl_gen_status_ok);
		o->json = fuzz_strndup(buf, o->len);
	} else {
		check_error(o->err);
	}
	yajl_gen_free(g);
}

static int is_common(const char *key)
{
	static const char *const aliases[] = { "ea", "wa", "infa", "vb", "db", "ev", "wv", "iv", "ov", "pv", "ob" };

	for (int i = 0; i < BINDER_COMMON_COUNT; i++)
		if (strcasecmp(key, binder_common_name(i)) == 0 || strcasecmp(key, aliases[i]) == 0)
			return 1;
	return 0;
}

static void check_key(const struct catalogue_cmdlet *c, const char *key)
{
	const struct catalogue_param *p;

	FUZZ_CHECK(strlen(key) <= BINDER_MAX_NAME && !is_common(key));
	if (c == NULL)
		return;
	p = catalogue_param_find(c, key, strlen(key));
	FUZZ_CHECK(p != NULL && strcmp(catalogue_param_name(p), key) == 0);
	FUZZ_CHECK(catalogue_param_kind(p) != CATALOGUE_SECURE);
}

static void check_result(const struct out *o)
{
	const struct binder_common *cm = &o->res.common;
	char why[64];
	yajl_val v;

	v = jtree_parse(o->json, o->len, why, sizeof(why));
	FUZZ_CHECK(v != NULL && YAJL_IS_OBJECT(v));
	for (size_t i = 0; i < v->u.object.len; i++)
		check_key(o->res.cmdlet, v->u.object.keys[i]);
	jtree_free(v);
	FUZZ_CHECK(o->res.set >= -1);
	FUZZ_CHECK(o->res.cmdlet != NULL || o->res.set == -1);
	FUZZ_CHECK(o->res.set < 0 || (size_t)o->res.set < catalogue_set_count(o->res.cmdlet));
	FUZZ_CHECK(fuzz_terminated(o->res.missing, sizeof(o->res.missing)));
	FUZZ_CHECK(cm->given < (1u << BINDER_COMMON_COUNT));
	for (int i = 0; i < BINDER_COMMON_COUNT; i++) {
		FUZZ_CHECK(fuzz_terminated(cm->value[i], sizeof(cm->value[i])));
		FUZZ_CHECK((binder_common_get(cm, i) != NULL) == ((cm->given >> i) & 1));
		FUZZ_CHECK(binder_common_get(cm, i) == NULL || cm->value[i][0] != '\0');
	}
}

static void bind_json(const char *cmdlet, yajl_val params, struct out *o)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	FUZZ_SETUP(g != NULL);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	o->err[0] = '\0';
	finish(g, binder_json(g, cmdlet, strlen(cmdlet), params, &o->res, o->err, sizeof(o->err)), o);
}

/* What a bind wrote, bound again, is what it wrote. */
static void check_fixed_point(const char *cmdlet, const struct out *o)
{
	static struct out again;
	char why[64];
	yajl_val v = jtree_parse(o->json, o->len, why, sizeof(why));

	FUZZ_CHECK(v != NULL);
	bind_json(cmdlet, v, &again);
	jtree_free(v);
	if (again.json == NULL)
		fprintf(stderr, "rebinding %s failed: %s\n", o->json, again.err);
	FUZZ_CHECK(again.json != NULL);
	FUZZ_CHECK(again.len == o->len && memcmp(again.json, o->json, o->len) == 0);
	free(again.json);
}

static void run_argv(const char *cmdlet, const uint8_t *data, size_t size, struct out *o)
{
	struct fuzz_argv a;
	yajl_gen g = yajl_gen_alloc(NULL);

	FUZZ_SETUP(g != NULL);
	/* As exoctl configures it. */
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	fuzz_argv_make(&a, data, size, MAX_ARGS);
	o->err[0] = '\0';
	finish(g, binder_argv(g, cmdlet, strlen(cmdlet), a.argc, a.argv, &o->res, o->err, sizeof(o->err)), o);
	fuzz_argv_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct out o;
	const uint8_t *nl = memchr(data, '\n', size < CMDLET_LINE_MAX ? size : CMDLET_LINE_MAX);
	const uint8_t *rest;
	size_t rest_len;
	char *cmdlet, why[64];

	if (nl == NULL)
		return -1;
	cmdlet = fuzz_strndup(data, (size_t)(nl - data));
	rest = nl + 1;
	rest_len = size - (size_t)(nl - data) - 1;
	if (rest_len > 0 && rest[0] == '{') {
		yajl_val params = jtree_parse(rest, rest_len, why, sizeof(why));

		if (params == NULL) {
			free(cmdlet);
			return 0;
		}
		bind_json(cmdlet, params, &o);
		jtree_free(params);
	} else {
		run_argv(cmdlet, rest, rest_len, &o);
	}
	if (o.json != NULL) {
		check_result(&o);
		check_fixed_point(cmdlet, &o);
		free(o.json);
	}
	free(cmdlet);
	return 0;
}
