/* Secret buffers and the wiping allocator. */
#include "common/sbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SBUF_MIN_CAP 64

struct sbuf {
	unsigned char *d;               /* cap + 1 bytes: a NUL always follows the contents */
	size_t off;                     /* consumed bytes at the front, already wiped */
	size_t len;
	size_t cap;
	size_t max;
};

/*
 * Called through a volatile pointer so that the compiler cannot prove the
 * stores dead and drop them; memset itself stays visible to ASan.
 */
static void *(*const volatile sbuf_memset)(void *, int, size_t) = memset;

void sbuf_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		sbuf_memset(p, 0, n);
}

/* ---- the wiping allocator ---- */

typedef union {
	size_t size;
	max_align_t align;
} sbuf_blk;

void *sbuf_mem_alloc(size_t n)
{
	sbuf_blk *b;

	if (n > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + n);
	if (b == NULL)
		return NULL;
	b->size = n;
	return b + 1;
}

void sbuf_mem_free(void *p)
{
	sbuf_blk *b;

	if (p == NULL)
		return;
	b = (sbuf_blk *)p - 1;
	sbuf_wipe(p, b->size);
	free(b);
}

/* Always moves, so that the old block is wiped rather than left behind by realloc. */
void *sbuf_mem_realloc(void *p, size_t n)
{
	void *q;
	size_t old;

	if (p == NULL)
		return sbuf_mem_alloc(n);
	q = sbuf_mem_alloc(n);
	if (q == NULL)
		return NULL;
	old = ((sbuf_blk *)p - 1)->size;
	memcpy(q, p, old < n ? old : n);
	sbuf_mem_free(p);
	return q;
}

static void *sbuf_yajl_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return sbuf_mem_alloc(n);
}

static void *sbuf_yajl_realloc(void *ctx, void *p, size_t n)
{
	(void)ctx;
	return sbuf_mem_realloc(p, n);
}

static void sbuf_yajl_free(void *ctx, void *p)
{
	(void)ctx;
	sbuf_mem_free(p);
}

yajl_alloc_funcs sbuf_yajl_funcs = {
	sbuf_yajl_malloc, sbuf_yajl_realloc, sbuf_yajl_free, NULL
};

/* ---- buffers ---- */

struct sbuf *sbuf_new(size_t max)
{
	struct sbuf *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->max = (max == 0 || max > SBUF_MAX_SIZE) ? SBUF_MAX_SIZE : max;
	return b;
}

void sbuf_free(struct sbuf *b)
{
	if (b == NULL)
		return;
	if (b->d != NULL) {
		sbuf_wipe(b->d, b->cap + 1);
		free(b->d);
	}
	free(b);
}

/* Makes room for n more bytes after the contents, moving them to the front or to a new block. */
static int sbuf_grow(struct sbuf *b, size_t n)
{
	size_t need, cap;
	unsigned char *d;

	if (n > b->max - b->len)
		return -1;
	need = b->len + n;
	if (b->d != NULL && b->off + need <= b->cap)
		return 0;
	if (b->d != NULL && need <= b->cap) {
		memmove(b->d, b->d + b->off, b->len);
		sbuf_wipe(b->d + b->len, b->off);
		b->off = 0;
		return 0;
	}
	cap = b->cap > 0 ? b->cap : SBUF_MIN_CAP;
	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	d = malloc(cap + 1);
	if (d == NULL)
		return -1;
	if (b->d != NULL) {
		memcpy(d, b->d + b->off, b->len);
		sbuf_wipe(b->d, b->cap + 1);
		free(b->d);
	}
	d[b->len] = '\0';
	b->d = d;
	b->cap = cap;
	b->off = 0;
	return 0;
}

unsigned char *sbuf_reserve(struct sbuf *b, size_t n)
{
	if (sbuf_grow(b, n) < 0)
		return NULL;
	return b->d + b->off + b->len;
}

void sbuf_commit(struct sbuf *b, size_t n)
{
	if (b->d == NULL || n > b->cap - b->off - b->len)
		abort();        /* a caller wrote past what it reserved */
	b->len += n;
	b->d[b->off + b->len] = '\0';
}

int sbuf_put(struct sbuf *b, const void *p, size_t n)
{
	unsigned char *dst;

	if (n == 0)
		return 0;
	dst = sbuf_reserve(b, n);
	if (dst == NULL)
		return -1;
	memcpy(dst, p, n);
	sbuf_commit(b, n);
	return 0;
}

int sbuf_put_str(struct sbuf *b, const char *s)
{
	return sbuf_put(b, s, strlen(s));
}

struct sbuf *sbuf_dup(const void *p, size_t n)
{
	struct sbuf *b = sbuf_new(0);

	if (b != NULL && sbuf_put(b, p, n) < 0) {
		sbuf_free(b);
		return NULL;
	}
	return b;
}

struct sbuf *sbuf_dup_str(const char *s)
{
	return sbuf_dup(s, strlen(s));
}

void sbuf_consume(struct sbuf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	if (n == 0)
		return;
	sbuf_wipe(b->d + b->off, n);
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
}

void sbuf_reset(struct sbuf *b)
{
	if (b->d != NULL)
		sbuf_wipe(b->d, b->cap + 1);
	b->off = 0;
	b->len = 0;
}

const unsigned char *sbuf_ptr(const struct sbuf *b)
{
	static const unsigned char empty[1];

	return b->d != NULL ? b->d + b->off : empty;
}

size_t sbuf_len(const struct sbuf *b)
{
	return b->len;
}

size_t sbuf_room(const struct sbuf *b)
{
	return b->max - b->len;
}

const char *sbuf_str(const struct sbuf *b)
{
	return (const char *)sbuf_ptr(b);
}
