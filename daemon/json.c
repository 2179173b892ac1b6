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

void json_kv_int(yajl_gen g, const char *key, long long val)
{
	json_str(g, key);
	yajl_gen_integer(g, val);
}

size_t json_tenths(char *out, size_t outlen, double val)
{
	long long tenths = (long long)(val * 10);
	int n = snprintf(out, outlen, "%s%lld.%lld", tenths < 0 ? "-" : "", llabs(tenths) / 10,
			 llabs(tenths) % 10);

	return n < 0 ? 0 : (size_t)n < outlen ? (size_t)n : outlen - 1;
}

void json_kv_tenths(yajl_gen g, const char *key, double val)
{
	char text[JSON_TENTHS_MAX];

	json_str(g, key);
	yajl_gen_number(g, text, json_tenths(text, sizeof(text), val));
}
