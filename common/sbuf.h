/*
 * Secret buffers: passwords, client secrets, PFX passwords, access and
 * refresh tokens, device codes, and the request lines that carry them.
 * An sbuf is bytes with a length (NUL bytes are data, not an end) and a
 * bound; every byte it lets go of is wiped first, on free, reset,
 * consume and when growing moves it, as OpenSSH's sshbuf and freezero()
 * do.  sbuf_wipe is the one wipe in the tree, and the sanitizers see it.
 */
#ifndef EXOD_SBUF_H
#define EXOD_SBUF_H

#include <stddef.h>
#include <yajl/yajl_common.h>

#define SBUF_MAX_SIZE (64u * 1024 * 1024)       /* no sbuf holds more than this */

struct sbuf;

/*
 * Zeroes p[0..n) in a way the compiler may not drop.  It goes through
 * memset, which AddressSanitizer checks, so a wipe out of bounds is
 * reported rather than silently corrupting the heap.
 */
void sbuf_wipe(void *p, size_t n);

/* An empty buffer that may grow to max bytes (0: SBUF_MAX_SIZE); NULL when out of memory. */
struct sbuf *sbuf_new(size_t max);
/* A buffer holding a copy of p[0..n). */
struct sbuf *sbuf_dup(const void *p, size_t n);
/* A buffer holding a copy of the C string s. */
struct sbuf *sbuf_dup_str(const char *s);
/* Wipes and frees; NULL is fine. */
void sbuf_free(struct sbuf *b);

/* Appends; -1 (nothing appended) when it would pass the bound or memory runs out. */
int sbuf_put(struct sbuf *b, const void *p, size_t n);
int sbuf_put_str(struct sbuf *b, const char *s);
/*
 * Room for n more bytes at the end, for read(2): returns where to write
 * them, or NULL.  sbuf_commit(b, got) then counts the got bytes written.
 */
unsigned char *sbuf_reserve(struct sbuf *b, size_t n);
void sbuf_commit(struct sbuf *b, size_t n);
/* Drops (and wipes) the first n bytes. */
void sbuf_consume(struct sbuf *b, size_t n);
/* Wipes the contents; the buffer stays usable. */
void sbuf_reset(struct sbuf *b);

const unsigned char *sbuf_ptr(const struct sbuf *b);
size_t sbuf_len(const struct sbuf *b);
/* The most bytes b may still take. */
size_t sbuf_room(const struct sbuf *b);
/*
 * The contents as a C string: there is always a NUL after the last byte.
 * Only for contents known to hold no NUL (checked where they came in).
 */
const char *sbuf_str(const struct sbuf *b);

/*
 * The wiping allocator: malloc-compatible blocks that remember their
 * size so that free and realloc wipe them.  For yajl (sbuf_yajl_funcs)
 * and every JSON tree that may hold a token or a secret.
 */
void *sbuf_mem_alloc(size_t n);
void *sbuf_mem_realloc(void *p, size_t n);
void sbuf_mem_free(void *p);
extern yajl_alloc_funcs sbuf_yajl_funcs;      /* not const: yajl's API takes it so */

#endif
