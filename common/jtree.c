/* Strict, wiping JSON trees on yajl's streaming parser. */
#include "common/jtree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "common/sbuf.h"
#include "common/utf8.h"

#define JTREE_NUMBER_MAX 64             /* bytes of a number's text we convert */

/* An open container, its room, and for objects the key waiting for its value. */
struct jtree_frame {
	yajl_val v;
	size_t cap;
	char *key;
};

struct jtree_ctx {
	yajl_val root;
	struct jtree_frame stack[JTREE_MAX_DEPTH];
	int depth;
	const char *why;                /* set when a callback refused the input */
};

static void jtree_free_at(yajl_val v);

static yajl_val jtree_node(yajl_type type)
{
	yajl_val v = sbuf_mem_alloc(sizeof(*v));

	if (v != NULL) {
		memset(v, 0, sizeof(*v));
		v->type = type;
	}
	return v;
}

static char *jtree_text(const unsigned char *s, size_t len)
{
	char *t = sbuf_mem_alloc(len + 1);

	if (t != NULL) {
		memcpy(t, s, len);
		t[len] = '\0';
	}
	return t;
}

/* Makes room for one more member in an open container; keys and values grow together. */
static int jtree_room(struct jtree_frame *f, size_t n)
{
	size_t cap = f->cap > 0 ? f->cap * 2 : 4;
	void *grown;

	if (n < f->cap)
		return 0;
	if (YAJL_IS_ARRAY(f->v)) {
		grown = sbuf_mem_realloc(f->v->u.array.values, cap * sizeof(yajl_val));
		if (grown == NULL)
			return -1;
		f->v->u.array.values = grown;
	} else {
		grown = sbuf_mem_realloc(f->v->u.object.values, cap * sizeof(yajl_val));
		if (grown == NULL)
			return -1;
		f->v->u.object.values = grown;
		grown = sbuf_mem_realloc((void *)f->v->u.object.keys, cap * sizeof(char *));
		if (grown == NULL)
			return -1;
		f->v->u.object.keys = grown;
	}
	f->cap = cap;
	return 0;
}

/* Places a finished value: the root, an array element, or an object member. */
static int jtree_add(struct jtree_ctx *c, yajl_val v)
{
	struct jtree_frame *top;

	if (v == NULL) {
		c->why = "out of memory";
		return 0;
	}
	if (c->depth == 0) {
		c->root = v;
		return 1;
	}
	top = &c->stack[c->depth - 1];
	if (jtree_room(top, YAJL_IS_ARRAY(top->v) ? top->v->u.array.len : top->v->u.object.len) < 0) {
		jtree_free_at(v);
		c->why = "out of memory";
		return 0;
	}
	if (YAJL_IS_ARRAY(top->v)) {
		top->v->u.array.values[top->v->u.array.len++] = v;
		return 1;
	}
	top->v->u.object.keys[top->v->u.object.len] = top->key;
	top->v->u.object.values[top->v->u.object.len++] = v;
	top->key = NULL;
	return 1;
}

static int jtree_null(void *ctx)
{
	return jtree_add(ctx, jtree_node(yajl_t_null));
}

static int jtree_bool(void *ctx, int b)
{
	return jtree_add(ctx, jtree_node(b ? yajl_t_true : yajl_t_false));
}

static int jtree_number(void *ctx, const char *s, size_t len)
{
	struct jtree_ctx *c = ctx;
	yajl_val v;
	char *end;

	if (len > JTREE_NUMBER_MAX) {
		c->why = "a number is too long";
		return 0;
	}
	v = jtree_node(yajl_t_number);
	if (v == NULL || (v->u.number.r = jtree_text((const unsigned char *)s, len)) == NULL) {
		sbuf_mem_free(v);
		return jtree_add(c, NULL);
	}
	errno = 0;
	v->u.number.i = strtoll(v->u.number.r, &end, 10);
	if (errno == 0 && *end == '\0') {
		v->u.number.flags |= YAJL_NUMBER_INT_VALID;
		/* The nearest double, as strtod would give it (but -0), for a tenth of the cost. */
		if (v->u.number.i != 0) {
			v->u.number.d = (double)v->u.number.i;
			v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
			return jtree_add(c, v);
		}
	}
	errno = 0;
	v->u.number.d = strtod(v->u.number.r, &end);
	if (errno == 0 && *end == '\0')
		v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
	return jtree_add(c, v);
}

/*
 * A string as decoded: no NUL (from \u0000), and valid UTF-8, which the
 * raw check does not ensure: yajl turns an escaped lone low surrogate
 * (\udc00) into the bytes of a surrogate.
 */
static int jtree_text_ok(struct jtree_ctx *c, const unsigned char *s, size_t len)
{
	if (memchr(s, '\0', len) != NULL) {
		c->why = "a string holds a NUL character";
		return 0;
	}
	if (!utf8_valid(s, len)) {
		c->why = "a string holds an escaped surrogate that is not UTF-8";
		return 0;
	}
	return 1;
}

static int jtree_string(void *ctx, const unsigned char *s, size_t len)
{
	struct jtree_ctx *c = ctx;
	yajl_val v;

	if (!jtree_text_ok(c, s, len))
		return 0;
	v = jtree_node(yajl_t_string);
	if (v == NULL || (v->u.string = jtree_text(s, len)) == NULL) {
		sbuf_mem_free(v);
		return jtree_add(c, NULL);
	}
	return jtree_add(c, v);
}

static int jtree_key(void *ctx, const unsigned char *s, size_t len)
{
	struct jtree_ctx *c = ctx;
	struct jtree_frame *top = &c->stack[c->depth - 1];

	if (!jtree_text_ok(c, s, len))
		return 0;
	top->key = jtree_text(s, len);
	if (top->key == NULL) {
		c->why = "out of memory";
		return 0;
	}
	return 1;
}

static int jtree_open(struct jtree_ctx *c, yajl_type type)
{
	yajl_val v;

	if (c->depth >= JTREE_MAX_DEPTH) {
		c->why = "nested too deep";
		return 0;
	}
	v = jtree_node(type);
	if (v == NULL) {
		c->why = "out of memory";
		return 0;
	}
	c->stack[c->depth].v = v;
	c->stack[c->depth].cap = 0;
	c->stack[c->depth].key = NULL;
	c->depth++;
	return 1;
}

static int jtree_close(void *ctx)
{
	struct jtree_ctx *c = ctx;

	c->depth--;
	return jtree_add(c, c->stack[c->depth].v);
}

static int jtree_start_map(void *ctx)
{
	return jtree_open(ctx, yajl_t_object);
}

static int jtree_start_array(void *ctx)
{
	return jtree_open(ctx, yajl_t_array);
}

static const yajl_callbacks jtree_callbacks = {
	.yajl_null = jtree_null,
	.yajl_boolean = jtree_bool,
	.yajl_number = jtree_number,
	.yajl_string = jtree_string,
	.yajl_start_map = jtree_start_map,
	.yajl_map_key = jtree_key,
	.yajl_end_map = jtree_close,
	.yajl_start_array = jtree_start_array,
	.yajl_end_array = jtree_close,
};

/* Frees the containers still open after a failed parse (each owns what was added to it). */
static void jtree_unwind(struct jtree_ctx *c)
{
	while (c->depth > 0) {
		c->depth--;
		sbuf_mem_free(c->stack[c->depth].key);
		jtree_free_at(c->stack[c->depth].v);
	}
	jtree_free_at(c->root);
	c->root = NULL;
}

yajl_val jtree_parse(const void *buf, size_t len, char *err, size_t errlen)
{
	struct jtree_ctx c = { .root = NULL };
	yajl_handle h;
	yajl_status st;

	if (memchr(buf, '\0', len) != NULL || !utf8_valid(buf, len)) {
		snprintf(err, errlen, "%s", memchr(buf, '\0', len) != NULL ? "a NUL byte in JSON text"
									  : "invalid UTF-8");
		return NULL;
	}
	h = yajl_alloc(&jtree_callbacks, &sbuf_yajl_funcs, &c);
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st = yajl_parse(h, buf, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st != yajl_status_ok || c.root == NULL) {
		/* yajl's own message quotes the input, which may be a secret: name the kind only. */
		snprintf(err, errlen, "%s", c.why != NULL ? c.why : "not valid JSON");
		jtree_unwind(&c);
	}
	yajl_free(h);
	return c.root;
}

static void jtree_free_at(yajl_val v)
{
	if (v == NULL)
		return;
	switch (v->type) {
	case yajl_t_string:
		sbuf_mem_free(v->u.string);
		break;
	case yajl_t_number:
		sbuf_mem_free(v->u.number.r);
		break;
	case yajl_t_object:
		for (size_t i = 0; i < v->u.object.len; i++) {
			sbuf_mem_free((char *)v->u.object.keys[i]);
			jtree_free_at(v->u.object.values[i]);
		}
		sbuf_mem_free(v->u.object.keys);
		sbuf_mem_free(v->u.object.values);
		break;
	case yajl_t_array:
		for (size_t i = 0; i < v->u.array.len; i++)
			jtree_free_at(v->u.array.values[i]);
		sbuf_mem_free(v->u.array.values);
		break;
	default:
		break;
	}
	sbuf_mem_free(v);
}

void jtree_free(yajl_val v)
{
	jtree_free_at(v);
}

yajl_val jtree_get(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

const char *jtree_str(yajl_val obj, const char *key)
{
	return YAJL_GET_STRING(jtree_get(obj, key));
}
