/* Random identifiers and backoff jitter. */
#include "daemon/rnd.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>

int rnd_uuid(char out[RND_UUID_LEN + 1])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, RND_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
		 b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
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
