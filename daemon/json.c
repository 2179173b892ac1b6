/* JSON writing helpers shared by the socket answers, status and metrics. */
#include "daemon/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void json_kv_str(yajl_gen g, const char *key, const char *val)
{
	json_str(g, key);
	if (val == NULL)
		yajl_gen_null(g);
	else if (yajl_gen_string(g, (const unsigned char *)val, strlen(val)) != yajl_gen_status_ok)
		json_str(g, "(invalid UTF-8)");
}

size_t json_int_text(char *out, long long v)
{
	char rev[JSON_INT_LEN];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	size_t n = 0, len = 0;

	do {
		rev[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		out[len++] = '-';
	while (n > 0)
		out[len++] = rev[--n];
	return len;
}

void json_kv_int(yajl_gen g, const char *key, long long val)
{
	char text[JSON_INT_LEN];

	json_str(g, key);
	yajl_gen_number(g, text, json_int_text(text, val));
}

size_t json_tenths(char *out, size_t outlen, double val)
{
	char text[JSON_TENTHS_MAX];
	long long tenths = (long long)(val * 10);
	size_t n;

	if (outlen == 0)
		return 0;
	/* -0.5 is "-0.5": the sign of the whole, then the magnitude's tenths. */
	n = tenths < 0 && tenths > -10 ? (text[0] = '-', 1) : 0;
	n += json_int_text(text + n, tenths / 10);
	text[n++] = '.';
	text[n++] = (char)('0' + (tenths < 0 ? -(tenths % 10) : tenths % 10));
	if (n > outlen - 1)
		n = outlen - 1;
	memcpy(out, text, n);
	out[n] = '\0';
	return n;
}

void json_kv_tenths(yajl_gen g, const char *key, double val)
{
	char text[JSON_TENTHS_MAX];

	json_str(g, key);
	yajl_gen_number(g, text, json_tenths(text, sizeof(text), val));
}
