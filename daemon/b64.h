/*
 * Base64 (RFC 4648): the URL-safe form without padding of JWTs and
 * certificate thumbprints, and the standard form of CAE claims
 * challenges.  Decoders are strict: a character outside the alphabet or
 * wrong padding is an error, not skipped.
 */
#ifndef EXOD_B64_H
#define EXOD_B64_H

#include <stddef.h>

#define B64_MAX_INPUT (32 * 1024)       /* bytes of text a decoder accepts */

/* base64url without padding; *out is malloc'd and NUL-terminated. */
int b64url_encode(const unsigned char *in, size_t len, char **out);
/* base64url, padding optional; *out malloc'd (NUL-terminated for convenience). */
int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);
/* Standard base64 with padding; *out malloc'd and NUL-terminated. */
int b64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);

#endif
