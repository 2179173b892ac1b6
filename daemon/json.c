/* JSON writing helpers shared by the socket answers, status and metrics. */
#include "daemon/json.h"

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
