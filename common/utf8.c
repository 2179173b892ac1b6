/* Strict UTF-8 validation (RFC 3629 §4). */
#include "common/utf8.h"

#include <stdint.h>
#include <string.h>

/* Length of the sequence starting at s[0..n), or 0 when it is not valid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4;
	else
		return 0;       /* continuation byte, overlong lead C0/C1, or past U+10FFFF */
	if (n < need)
		return 0;
	/* The second byte's range rules out overlongs, surrogates and > U+10FFFF. */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return need;
}

int utf8_valid(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i = 0;

	while (i < len) {
		size_t n;
		uint64_t word;

		/* ASCII runs are the common case: 32, then 8 bytes at a time while no high bit is set. */
		if (len - i >= 4 * sizeof(word)) {
			uint64_t w[4];

			memcpy(w, s + i, sizeof(w));
			if (((w[0] | w[1] | w[2] | w[3]) & UINT64_C(0x8080808080808080)) == 0) {
				i += sizeof(w);
				continue;
			}
		}
		if (len - i >= sizeof(word)) {
			memcpy(&word, s + i, sizeof(word));
			if ((word & UINT64_C(0x8080808080808080)) == 0) {
				i += sizeof(word);
				continue;
			}
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_seq(s + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

size_t utf8_repair(const void *p, size_t len, char *out)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *s = p;
	size_t i = 0, o = 0;

	while (i < len) {
		size_t n = s[i] < 0x80 ? 1 : utf8_seq(s + i, len - i);

		if (n == 0) {
			memcpy(out + o, replacement, 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	return o;
}

size_t utf8_cut(const void *p, size_t len, size_t max)
{
	const unsigned char *s = p;
	size_t n;

	if (len <= max)
		return len;
	n = max;
	while (n > 0 && (s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

size_t utf8_copy(char *dst, size_t size, const char *s, size_t len)
{
	size_t n;

	if (size == 0)
		return 0;
	n = utf8_cut(s, len, size - 1);
	memcpy(dst, s, n);
	dst[n] = '\0';
	return n;
}
