/*
 * The daemon's randomness, from OpenSSL's CSPRNG: identifiers for the
 * service (request ids, jti) and the jitter of every backoff.
 */
#ifndef EXOD_RND_H
#define EXOD_RND_H

#define RND_UUID_LEN 36                 /* characters of a UUID, without the NUL */

/* A random version 4 UUID, lower-case, NUL-terminated.  -1 if the CSPRNG fails. */
int rnd_uuid(char out[RND_UUID_LEN + 1]);
/*
 * Backoff with jitter: base_ms doubled attempt times, capped at max_ms,
 * then a random point in its upper half, so that many waiters do not
 * retry in step.
 */
long long rnd_backoff_ms(long long base_ms, long long max_ms, unsigned attempt);

#endif
