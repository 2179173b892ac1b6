/* Strict, wiping JSON trees on yajl's streaming parser. */
#include "common/jtree.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "common/sbuf.h"
#include "common/utf8.h"

#define JTREE_NUMBER_MAX 64             /* bytes of a number's text we convert */
#define JTREE_CHUNK 1024                /* bytes of a tree's first chunk: a request line's tree */

/*
 * A tree's memory: every node, key, string and member list is cut from
 * chunks that are wiped and freed together, one allocation for a small
 * tree instead of one a node.  The root node lives in the arena itself,
 * so that jtree_free finds the arena from the root.
 */
struct jtree_chunk {
	struct jtree_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct jtree_arena {
	struct yajl_val_s root;         /* first: the tree's root is the arena's address */
	int root_taken;
	struct jtree_chunk *chunks;     /* the newest first */
};

/* An open container, its room, and for objects the key waiting for its value. */
struct jtree_frame {
	yajl_val v;
	size_t cap;
	char *key;
};

struct jtree_ctx {
	struct jtree_arena *arena;
	yajl_val root;
	struct jtree_frame stack[JTREE_MAX_DEPTH];
	int depth;
	const char *why;                /* set when a callback refused the input */
};

/* n bytes from the arena, aligned for any type; NULL when out of memory. */
static void *jtree_alloc(struct jtree_arena *a, size_t n)
{
	struct jtree_chunk *ch = a->chunks;
	size_t need = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	void *p;

	if (need < n)
		return NULL;
	if (ch == NULL || ch->cap - ch->used < need) {
		size_t cap = ch == NULL ? JTREE_CHUNK : ch->cap * 2;

		if (cap < need)
			cap = need;
		if (cap > SIZE_MAX - sizeof(*ch) || (ch = sbuf_mem_alloc(sizeof(*ch) + cap)) == NULL)
			return NULL;
		ch->next = a->chunks;
		ch->used = 0;
		ch->cap = cap;
		a->chunks = ch;
	}
	p = (char *)ch->data + ch->used;
	ch->used += need;
	return p;
}

static void jtree_arena_free(struct jtree_arena *a)
{
	while (a->chunks != NULL) {
		struct jtree_chunk *ch = a->chunks;

		a->chunks = ch->next;
		sbuf_mem_free(ch);      /* wipes what the tree held */
	}
	sbuf_mem_free(a);
}

static yajl_val jtree_node(struct jtree_ctx *c, yajl_type type)
{
	struct jtree_arena *a = c->arena;
	/* The first node made is the root: a tree's first callback opens or is its value. */
	yajl_val v = a->root_taken ? jtree_alloc(a, sizeof(*v)) : &a->root;

	if (v != NULL) {
		a->root_taken = 1;
		memset(v, 0, sizeof(*v));
		v->type = type;
	}
	return v;
}

static char *jtree_text(struct jtree_ctx *c, const unsigned char *s, size_t len)
{
	char *t = len < SIZE_MAX ? jtree_alloc(c->arena, len + 1) : NULL;

	if (t != NULL) {
		memcpy(t, s, len);
		t[len] = '\0';
	}
	return t;
}

/* A member list grown in the arena: the old one stays there until the tree is freed. */
static void *jtree_grow(struct jtree_ctx *c, const void *old, size_t n, size_t cap, size_t size)
{
	void *p = cap <= SIZE_MAX / size ? jtree_alloc(c->arena, cap * size) : NULL;

	if (p != NULL && n > 0)
		memcpy(p, old, n * size);
	return p;
}

/* Makes room for one more member in an open container; keys and values grow together. */
static int jtree_room(struct jtree_ctx *c, struct jtree_frame *f, size_t n)
{
	size_t cap = f->cap > 0 ? f->cap * 2 : 4;
	void *grown;

	if (n < f->cap)
		return 0;
	if (YAJL_IS_ARRAY(f->v)) {
		grown = jtree_grow(c, f->v->u.array.values, n, cap, sizeof(yajl_val));
		if (grown == NULL)
			return -1;
		f->v->u.array.values = grown;
	} else {
		grown = jtree_grow(c, f->v->u.object.values, n, cap, sizeof(yajl_val));
		if (grown == NULL)
			return -1;
		f->v->u.object.values = grown;
		grown = jtree_grow(c, f->v->u.object.keys, n, cap, sizeof(char *));
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
	if (jtree_room(c, top, YAJL_IS_ARRAY(top->v) ? top->v->u.array.len : top->v->u.object.len) < 0) {
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
	return jtree_add(ctx, jtree_node(ctx, yajl_t_null));
}

static int jtree_bool(void *ctx, int b)
{
	return jtree_add(ctx, jtree_node(ctx, b ? yajl_t_true : yajl_t_false));
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
	v = jtree_node(c, yajl_t_number);
	if (v == NULL || (v->u.number.r = jtree_text(c, (const unsigned char *)s, len)) == NULL)
		return jtree_add(c, NULL);
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
	v = jtree_node(c, yajl_t_string);
	if (v == NULL || (v->u.string = jtree_text(c, s, len)) == NULL)
		return jtree_add(c, NULL);
	return jtree_add(c, v);
}

static int jtree_key(void *ctx, const unsigned char *s, size_t len)
{
	struct jtree_ctx *c = ctx;
	struct jtree_frame *top = &c->stack[c->depth - 1];

	if (!jtree_text_ok(c, s, len))
		return 0;
	top->key = jtree_text(c, s, len);
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
	v = jtree_node(c, type);
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
	c.arena = sbuf_mem_alloc(sizeof(*c.arena));
	h = c.arena != NULL ? yajl_alloc(&jtree_callbacks, &sbuf_yajl_funcs, &c) : NULL;
	if (h == NULL) {
		sbuf_mem_free(c.arena);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c.arena->root_taken = 0;
	c.arena->chunks = NULL;
	st = yajl_parse(h, buf, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	if (st != yajl_status_ok || c.root == NULL) {
		/* yajl's own message quotes the input, which may be a secret: name the kind only. */
		snprintf(err, errlen, "%s", c.why != NULL ? c.why : "not valid JSON");
		jtree_arena_free(c.arena);
		return NULL;
	}
	return c.root;
}

void jtree_free(yajl_val v)
{
	if (v != NULL)
		jtree_arena_free((struct jtree_arena *)((char *)v - offsetof(struct jtree_arena, root)));
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
