/* Small helpers for writing JSON with yajl_gen: keys and key-value pairs. */
#ifndef EXOD_JSON_H
#define EXOD_JSON_H

#include <yajl/yajl_gen.h>

/* A string: a key, or a value. */
void json_str(yajl_gen g, const char *s);
/* "key": "val", or "key": null for NULL; text that is not UTF-8 becomes "(invalid UTF-8)". */
void json_kv_str(yajl_gen g, const char *key, const char *val);
void json_kv_int(yajl_gen g, const char *key, long long val);
/* "key": val to one decimal (cut, not rounded), without printf's floating point. */
void json_kv_tenths(yajl_gen g, const char *key, double val);

#endif
