/* Small helpers for writing JSON with yajl_gen: keys and key-value pairs. */
#ifndef EXOD_JSON_H
#define EXOD_JSON_H

#include <yajl/yajl_gen.h>

/* A string: a key, or a value. */
void json_str(yajl_gen g, const char *s);
/* "key": "val", or "key": null for NULL; text that is not UTF-8 becomes "(invalid UTF-8)". */
void json_kv_str(yajl_gen g, const char *key, const char *val);
void json_kv_int(yajl_gen g, const char *key, long long val);
#define JSON_TENTHS_MAX 32              /* bytes of json_tenths' text, its NUL included */
#define JSON_INT_LEN 21                 /* "-9223372036854775808" and a spare */

/*
 * The decimal text of v at out (room for JSON_INT_LEN bytes, no NUL): its
 * length.  Every answer line and log line has some; printf costs ten
 * times more.
 */
size_t json_int_text(char *out, long long v);

/*
 * val to one decimal (cut, not rounded) as text, without printf's
 * floating point, which costs more than the rest of a log line: its length.
 */
size_t json_tenths(char *out, size_t outlen, double val);
/* "key": val, as json_tenths writes it. */
void json_kv_tenths(yajl_gen g, const char *key, double val);

#endif
