/*
 * exoctl's text grammar (PowerShell's, as far as a shell lets it
 * through): quotes, backslash escapes, a,b,c lists, @{K=V;...} tables,
 * and scalars typed by their form.  Moved here from client/params.c so
 * that params_gen and the binder share one implementation; what the
 * forms mean for a given parameter is binder_value.c's business.
 */
#include "common/binder_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "common/utf8.h"

#define BINDER_ESCAPABLE ",;=$@'\""     /* what a backslash makes literal */
#define BINDER_MERGE "--params"

static int binder_alpha(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static int binder_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int binder_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

int binder_is_name(const char *a)
{
	return a[0] == '-' && binder_alpha(a[1]);
}

int binder_is_merge(const char *a)
{
	size_t n = sizeof(BINDER_MERGE) - 1;

	return strncmp(a, BINDER_MERGE, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

int binder_valid_name(const char *s, size_t len)
{
	if (len == 0 || len > BINDER_MAX_NAME || !binder_alpha(s[0]))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!binder_alpha(s[i]) && !binder_digit(s[i]))
			return 0;
	return 1;
}

int binder_is_int(const char *s, size_t len)
{
	size_t neg = len > 0 && s[0] == '-';
	char buf[24], *end;

	if (len == neg || len >= sizeof(buf) || (s[neg] == '0' && len > neg + 1))
		return 0;
	for (size_t i = neg; i < len; i++)
		if (!binder_digit(s[i]))
			return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	(void)strtoll(buf, &end, 10);
	return errno == 0 && *end == '\0';
}

struct binder_span binder_trim(struct binder_span v)
{
	while (v.len > 0 && binder_space(v.s[0])) {
		v.s++;
		v.len--;
	}
	while (v.len > 0 && binder_space(v.s[v.len - 1]))
		v.len--;
	return v;
}

int binder_quoted(struct binder_span v)
{
	return v.len >= 2 && (v.s[0] == '"' || v.s[0] == '\'') && v.s[v.len - 1] == v.s[0];
}

static int binder_escape_at(const char *s, size_t len, size_t i)
{
	return s[i] == '\\' && i + 1 < len && strchr(BINDER_ESCAPABLE, s[i + 1]) != NULL &&
	       s[i + 1] != '\0';
}

/*
 * A quote opens only where a word starts, so O'Brien stays as it is while
 * -Filter "Name -eq 'Smith, J'" keeps its comma.
 */
struct binder_span binder_split(struct binder_span *rest, char delim, int *found)
{
	const char *s = rest->s;
	size_t len = rest->len, i;
	struct binder_span part;

	for (i = 0; i < len && s[i] != delim; i++) {
		const char *close;

		if (binder_escape_at(s, len, i)) {
			i++;
		} else if ((s[i] == '"' || s[i] == '\'') &&
			   (i == 0 || (!binder_alpha(s[i - 1]) && !binder_digit(s[i - 1])))) {
			close = memchr(s + i + 1, s[i], len - i - 1);
			i = close != NULL ? (size_t)(close - s) : len - 1;
		}
	}
	part.s = s;
	part.len = i;
	*found = i < len;
	rest->s = s + (i < len ? i + 1 : len);
	rest->len = i < len ? len - i - 1 : 0;
	return part;
}

char *binder_unescape(struct binder_span v, size_t *outlen, int *escaped)
{
	char *out = malloc(v.len + 1);
	size_t o = 0;

	*escaped = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < v.len; i++) {
		if (binder_escape_at(v.s, v.len, i)) {
			*escaped = 1;
			i++;
		}
		out[o++] = v.s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Values may be passwords (not every secret is a SecureString): wiped before free. */
void binder_unescape_free(char *s, size_t len)
{
	if (s == NULL)
		return;
	sbuf_wipe(s, len);
	free(s);
}

int binder_ends_with_comma(const char *s, size_t len)
{
	return len > 0 && s[len - 1] == ',' && (len < 2 || s[len - 2] != '\\');
}

const char *binder_quote(const char *s, size_t len, char *out, size_t outlen)
{
	size_t n = utf8_cut(s, len, BINDER_QUOTE_MAX), o = 0;

	if (outlen < BINDER_QUOTE_LEN)
		return "";
	if (!utf8_valid(s, n))
		return "(text that is not UTF-8)";
	out[o++] = '\'';
	for (size_t i = 0; i < n; i++)
		out[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (n < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

int binder_gen_ok(struct binder_ctx *c, yajl_gen_status st)
{
	if (st == yajl_gen_status_ok)
		return 0;
	return binder_fail(c, "cannot encode the parameters (%s)",
			   st == yajl_gen_invalid_string ? "text is not valid UTF-8" : "JSON generator error");
}

int binder_gen_str(struct binder_ctx *c, yajl_gen g, const char *s, size_t len)
{
	if (len > BINDER_MAX_VALUE)
		return binder_fail(c, "cannot encode the parameters (a value is longer than %d bytes)",
				   BINDER_MAX_VALUE);
	/* RFC 3629 here: yajl's own check lets overlongs and surrogates through. */
	if (!utf8_valid(s, len) || memchr(s, '\0', len) != NULL)
		return binder_fail(c, "cannot encode the parameters (text is not valid UTF-8)");
	return binder_gen_ok(c, yajl_gen_string(g, (const unsigned char *)s, len));
}

enum binder_word binder_word(const char *s, size_t len)
{
	if (len == 5 && strncasecmp(s, "$true", 5) == 0)
		return BINDER_WORD_TRUE;
	if (len == 6 && strncasecmp(s, "$false", 6) == 0)
		return BINDER_WORD_FALSE;
	if (len == 5 && strncasecmp(s, "$null", 5) == 0)
		return BINDER_WORD_NULL;
	if (binder_is_int(s, len))
		return BINDER_WORD_INT;
	return BINDER_WORD_TEXT;
}

static int binder_gen_word(struct binder_ctx *c, yajl_gen g, const char *s, size_t len)
{
	switch (binder_word(s, len)) {
	case BINDER_WORD_TRUE:
		return binder_gen_ok(c, yajl_gen_bool(g, 1));
	case BINDER_WORD_FALSE:
		return binder_gen_ok(c, yajl_gen_bool(g, 0));
	case BINDER_WORD_NULL:
		return binder_gen_ok(c, yajl_gen_null(g));
	case BINDER_WORD_INT:
		return binder_gen_ok(c, yajl_gen_number(g, s, len));
	default:
		return binder_gen_str(c, g, s, len);
	}
}

/* A quoted or escaped scalar is always a string; otherwise it is typed. */
int binder_gen_scalar(struct binder_ctx *c, yajl_gen g, struct binder_span v, int trim)
{
	size_t len;
	char *s;
	int escaped, rc;

	if (trim)
		v = binder_trim(v);
	if (binder_quoted(v))
		return binder_gen_str(c, g, v.s + 1, v.len - 2);
	if ((s = binder_unescape(v, &len, &escaped)) == NULL)
		return binder_fail(c, "out of memory");
	rc = escaped ? binder_gen_str(c, g, s, len) : binder_gen_word(c, g, s, len);
	binder_unescape_free(s, len);
	return rc;
}

/* a,b,c is an array; a value without an unescaped comma is a scalar. */
static int binder_gen_list(struct binder_ctx *c, yajl_gen g, struct binder_span v, int trim)
{
	struct binder_span rest = v, part;
	char q[BINDER_QUOTE_LEN];
	size_t n = 0;
	int found;

	part = binder_split(&rest, ',', &found);
	if (!found)
		return binder_gen_scalar(c, g, part, trim);
	if (binder_gen_ok(c, yajl_gen_array_open(g)) < 0)
		return -1;
	for (;;) {
		if (binder_trim(part).len == 0)
			return binder_fail(c, "empty element in the list %s",
					   binder_quote(v.s, v.len, q, sizeof(q)));
		if (++n > BINDER_MAX_ITEMS)
			return binder_fail(c, "a list has more than %d elements", BINDER_MAX_ITEMS);
		if (binder_gen_scalar(c, g, part, 1) < 0)
			return -1;
		if (!found)
			break;
		part = binder_split(&rest, ',', &found);
	}
	return binder_gen_ok(c, yajl_gen_array_close(g));
}

static int binder_gen_key(struct binder_ctx *c, yajl_gen g, struct binder_span k)
{
	size_t len;
	char *s;
	int escaped, rc;

	k = binder_trim(k);
	if (binder_quoted(k)) {
		k.s++;
		k.len -= 2;
	}
	if (k.len == 0 || k.len > BINDER_MAX_NAME)
		return binder_fail(c, "a hashtable key must be 1 to %d bytes", BINDER_MAX_NAME);
	if ((s = binder_unescape(k, &len, &escaped)) == NULL)
		return binder_fail(c, "out of memory");
	rc = binder_gen_str(c, g, s, len);
	binder_unescape_free(s, len);
	return rc;
}

static int binder_gen_entry(struct binder_ctx *c, yajl_gen g, struct binder_span entry)
{
	struct binder_span kv = entry, key, val;
	char q[BINDER_QUOTE_LEN];
	int eq;

	key = binder_split(&kv, '=', &eq);
	if (!eq)
		return binder_fail(c, "hashtable entry %s has no '='",
				   binder_quote(entry.s, entry.len, q, sizeof(q)));
	val = binder_trim(kv);
	if (val.len >= 2 && strncmp(val.s, "@{", 2) == 0)
		return binder_fail(c, "nested hashtables are not supported; use --params");
	if (binder_gen_key(c, g, key) < 0)
		return -1;
	return binder_gen_list(c, g, val, 1);
}

/* @{Key=Value;Key2=a,b} is an object; empty entries are skipped as in PowerShell. */
int binder_gen_table(struct binder_ctx *c, yajl_gen g, struct binder_span v)
{
	struct binder_span rest;
	char q[BINDER_QUOTE_LEN];
	int found = 1;

	if (v.len < 3 || v.s[v.len - 1] != '}')
		return binder_fail(c, "hashtable %s does not end with '}'",
				   binder_quote(v.s, v.len, q, sizeof(q)));
	rest.s = v.s + 2;
	rest.len = v.len - 3;
	/* Command-line text only: a JSON caller's hashtables are objects, typed as they are written. */
	if (binder_gen_ok(c, yajl_gen_map_open(g)) < 0)
		return -1;
	while (found) {
		struct binder_span entry = binder_split(&rest, ';', &found);

		if (binder_trim(entry).len == 0)
			continue;
		if (binder_gen_entry(c, g, binder_trim(entry)) < 0)
			return -1;
	}
	return binder_gen_ok(c, yajl_gen_map_close(g));
}

int binder_gen_plain(struct binder_ctx *c, yajl_gen g, struct binder_span v)
{
	if (v.len >= 2 && strncmp(v.s, "@{", 2) == 0)
		return binder_gen_table(c, g, v);
	return binder_gen_list(c, g, v, 0);
}

static int binder_gen_number(struct binder_ctx *c, yajl_gen g, yajl_val v)
{
	size_t len;

	if (v->u.number.r == NULL)
		return binder_fail(c, "cannot encode the parameters (a number without its text)");
	len = strnlen(v->u.number.r, BINDER_MAX_NAME + 1);
	if (len > BINDER_MAX_NAME)
		return binder_fail(c, "cannot encode the parameters (a number of more than %d digits)",
				   BINDER_MAX_NAME);
	return binder_gen_ok(c, yajl_gen_number(g, v->u.number.r, len));
}

static int binder_gen_tree_at(struct binder_ctx *c, yajl_gen g, yajl_val v, int depth, int max);

/*
 * PowerShell hashtables travel as this open OData type (exo-protocol.md
 * §2.4): written first in every object within a JSON value when the
 * context asks for it, unless the object names its own type.
 */
static int binder_gen_tag(struct binder_ctx *c, yajl_gen g, int typed)
{
	if (!c->tag_tables || typed)
		return 0;
	if (binder_gen_str(c, g, BINDER_ODATA_TYPE, sizeof(BINDER_ODATA_TYPE) - 1) < 0)
		return -1;
	return binder_gen_str(c, g, BINDER_HASHTABLE_TYPE, sizeof(BINDER_HASHTABLE_TYPE) - 1);
}

static int binder_object_typed(yajl_val v)
{
	for (size_t i = 0; i < v->u.object.len; i++)
		if (strcmp(v->u.object.keys[i], BINDER_ODATA_TYPE) == 0)
			return 1;
	return 0;
}

static int binder_gen_container(struct binder_ctx *c, yajl_gen g, yajl_val v, int depth, int max)
{
	int obj = YAJL_IS_OBJECT(v);
	size_t n = obj ? v->u.object.len : v->u.array.len;

	if (n > BINDER_MAX_ITEMS)
		return binder_fail(c, "a JSON value has more than %d members", BINDER_MAX_ITEMS);
	if (binder_gen_ok(c, obj ? yajl_gen_map_open(g) : yajl_gen_array_open(g)) < 0)
		return -1;
	if (obj && binder_gen_tag(c, g, binder_object_typed(v)) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (obj) {
			const char *k = v->u.object.keys[i];

			if (binder_gen_str(c, g, k, strnlen(k, BINDER_MAX_VALUE + 1)) < 0 ||
			    binder_gen_tree_at(c, g, v->u.object.values[i], depth + 1, max) < 0)
				return -1;
		} else if (binder_gen_tree_at(c, g, v->u.array.values[i], depth + 1, max) < 0) {
			return -1;
		}
	}
	return binder_gen_ok(c, obj ? yajl_gen_map_close(g) : yajl_gen_array_close(g));
}

static int binder_gen_tree_at(struct binder_ctx *c, yajl_gen g, yajl_val v, int depth, int max)
{
	if (depth >= max)
		return binder_fail(c, "a JSON value is nested deeper than %d levels", max);
	if (v == NULL || YAJL_IS_NULL(v))
		return binder_gen_ok(c, yajl_gen_null(g));
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		return binder_gen_ok(c, yajl_gen_bool(g, YAJL_IS_TRUE(v)));
	if (YAJL_IS_STRING(v))
		return binder_gen_str(c, g, v->u.string, strnlen(v->u.string, BINDER_MAX_VALUE + 1));
	if (YAJL_IS_NUMBER(v))
		return binder_gen_number(c, g, v);
	if (YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v))
		return binder_gen_container(c, g, v, depth, max);
	return binder_fail(c, "cannot encode the parameters (a JSON value of unknown type)");
}

int binder_gen_tree(struct binder_ctx *c, yajl_gen g, yajl_val v, int max_depth)
{
	return binder_gen_tree_at(c, g, v, 0, max_depth);
}
