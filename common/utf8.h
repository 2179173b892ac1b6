/*
 * UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing
 * past U+10FFFF.  yajl's own check lets all three through, and what exod
 * echoes to its clients must be valid text.
 */
#ifndef EXOD_UTF8_H
#define EXOD_UTF8_H

#include <stddef.h>

/* 1 when s[0..len) is valid UTF-8 (NUL bytes count as valid here). */
int utf8_valid(const void *s, size_t len);
/*
 * Copies s[0..len) to out, which has room for 3 * len bytes, with every
 * byte that does not begin a valid sequence replaced by U+FFFD, as .NET's
 * UTF-8 decoder does; returns the bytes written.
 */
size_t utf8_repair(const void *s, size_t len, char *out);
/* The longest prefix of s[0..len) within max bytes that does not split a sequence. */
size_t utf8_cut(const void *s, size_t len, size_t max);
/*
 * Copies to dst (size bytes) the longest prefix of s[0..len) that fits
 * with its NUL and splits no sequence; returns its length.  snprintf's
 * "%s" would cut a character in two, and costs a printf.
 */
size_t utf8_copy(char *dst, size_t size, const char *s, size_t len);

#endif
