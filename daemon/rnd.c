/* Random identifiers and backoff jitter. */
#include "daemon/rnd.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

#define RND_POOL 1024                   /* bytes drawn from the CSPRNG at once */

/*
 * One RAND_bytes call costs ~40k instructions whatever its size; a
 * request id needs 16 bytes, so they come from a pool drawn in bulk.
 * The pool is not a secret: it only becomes identifiers sent in clear.
 */
static int rnd_take(unsigned char *out, size_t n)
{
	static unsigned char pool[RND_POOL];
	static size_t left;

	if (left < n) {
		if (RAND_bytes(pool, sizeof(pool)) != 1)
			return -1;
		left = sizeof(pool);
	}
	memcpy(out, pool + sizeof(pool) - left, n);
	left -= n;
	return 0;
}

int rnd_uuid(char out[RND_UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t o = 0;

	if (rnd_take(b, sizeof(b)) < 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (size_t i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
	return 0;
}

long long rnd_backoff_ms(long long base_ms, long long max_ms, unsigned attempt)
{
	long long cap = base_ms;
	uint32_t r = 0;

	for (unsigned i = 0; i < attempt && cap < max_ms; i++)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	return cap / 2 + (long long)(r % (uint32_t)(cap / 2 + 1));
}
