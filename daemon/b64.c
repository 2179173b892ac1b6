/* Base64 and base64url on OpenSSL's block coder, with the strictness it lacks. */
#include "daemon/b64.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

int b64url_encode(const unsigned char *in, size_t len, char **out)
{
	size_t cap, n;
	char *s;

	*out = NULL;
	/* EVP_EncodeBlock counts in int. */
	if (len > (size_t)INT_MAX / 4 * 3)
		return -1;
	cap = 4 * ((len + 2) / 3) + 1;
	s = malloc(cap);
	if (s == NULL)
		return -1;
	n = (size_t)EVP_EncodeBlock((unsigned char *)s, in, (int)len);
	while (n > 0 && s[n - 1] == '=')
		n--;
	s[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+')
			s[i] = '-';
		else if (s[i] == '/')
			s[i] = '_';
	}
	*out = s;
	return 0;
}

static int b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
	unsigned char *std = NULL, *bin = NULL;
	size_t n = len, padded, pad;
	int got, rc = -1;

	*out = NULL;
	*out_len = 0;
	if (len > B64_MAX_INPUT)
		return -1;
	/* Padding is optional, but if present it must be the right amount. */
	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n % 4 == 1 || (len != n && len - n != (4 - n % 4) % 4))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!b64url_char(in[i]))
			return -1;
	pad = (4 - n % 4) % 4;
	padded = n + pad;
	std = malloc(padded + 1);
	bin = malloc(padded / 4 * 3 + 1);
	if (std == NULL || bin == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : (unsigned char)in[i];
	memset(std + n, '=', pad);
	std[padded] = '\0';
	got = padded == 0 ? 0 : EVP_DecodeBlock(bin, std, (int)padded);
	if (got < 0 || (size_t)got < pad)
		goto out;
	/* EVP_DecodeBlock counts the zero bytes that the padding stands for. */
	*out_len = (size_t)got - pad;
	bin[*out_len] = '\0';
	*out = bin;
	bin = NULL;
	rc = 0;
out:
	free(std);
	free(bin);
	return rc;
}


static int b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

int b64_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
	size_t n = len, pad;
	unsigned char *bin;
	int got;

	*out = NULL;
	*out_len = 0;
	if (len == 0 || len > B64_MAX_INPUT || len % 4 != 0)
		return -1;
	while (n > 0 && len - n < 2 && in[n - 1] == '=')
		n--;
	pad = len - n;
	for (size_t i = 0; i < n; i++)
		if (!b64_char(in[i]))
			return -1;
	bin = malloc(len / 4 * 3 + 1);
	if (bin == NULL)
		return -1;
	got = EVP_DecodeBlock(bin, (const unsigned char *)in, (int)len);
	if (got < 0 || (size_t)got < pad) {
		free(bin);
		return -1;
	}
	/* EVP_DecodeBlock counts the zero bytes that the padding stands for. */
	*out_len = (size_t)got - pad;
	bin[*out_len] = '\0';
	*out = bin;
	return 0;
}
