/*
 * JSON documents from outside (request lines, token endpoint and managed
 * identity answers, the token cache, JWT claims, error bodies) parsed into
 * yajl_val trees, so that yajl_tree_get and the YAJL_IS_* macros work on
 * them.  Unlike yajl_tree_parse, the input is bytes with a length, and
 * every node, key and string comes from the wiping allocator: freeing a
 * tree wipes what it held, tokens included.
 *
 * Strict: the input must be one JSON value, valid UTF-8 (RFC 3629), with
 * no comments, no NUL byte anywhere (raw or as \u0000), and nested at
 * most JTREE_MAX_DEPTH deep.
 */
#ifndef EXOD_JTREE_H
#define EXOD_JTREE_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#define JTREE_MAX_DEPTH 64

/* The tree, or NULL with a reason in err (never quoting the input, which may be a secret). */
yajl_val jtree_parse(const void *buf, size_t len, char *err, size_t errlen);
/* Wipes and frees a tree from jtree_parse, given its root (never a node within); NULL is fine.
 * Never yajl_tree_free. */
void jtree_free(yajl_val v);

/* The member key of an object (case-sensitive), or NULL. */
yajl_val jtree_get(yajl_val obj, const char *key);
/* A string member, or NULL when absent or of another type. */
const char *jtree_str(yajl_val obj, const char *key);

#endif
