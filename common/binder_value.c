/*
 * One parameter's value, checked against its kind (common/catalogue.h)
 * and written as PowerShell would bind it: Booleans and switches as
 * true/false, whole numbers as numbers, text as strings (never a number:
 * -Identity 12345 is a name), lists for multi-valued parameters only,
 * hashtables only where the type takes one.  Values come as command-line
 * text (binder_gen_text) or as JSON from a socket client (binder_gen_json).
 */
#include "common/binder_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"

#define BINDER_INT_TEXT 24              /* "-9223372036854775808" and a NUL, with room */

/* The bash hint every Boolean error carries: unquoted, $false is an empty variable there. */
#define BINDER_BASH_HINT \
	"in bash, $false unquoted or in double quotes expands to nothing, so write '$false' " \
	"in single quotes, or false"

struct binder_range {
	unsigned long long neg;         /* largest magnitude below zero */
	unsigned long long pos;
	const char *text;               /* for messages */
};

static const struct binder_range binder_ranges[] = {
	[CATALOGUE_RANGE_NONE] = { 9223372036854775808ULL, LLONG_MAX,
				   "-9223372036854775808 to 9223372036854775807" },
	[CATALOGUE_RANGE_I16] = { 32768, 32767, "-32768 to 32767" },
	[CATALOGUE_RANGE_I32] = { 2147483648ULL, 2147483647, "-2147483648 to 2147483647" },
	[CATALOGUE_RANGE_I64] = { 9223372036854775808ULL, LLONG_MAX,
				  "-9223372036854775808 to 9223372036854775807" },
	[CATALOGUE_RANGE_U16] = { 0, 65535, "0 to 65535" },
	[CATALOGUE_RANGE_U32] = { 0, 4294967295ULL, "0 to 4294967295" },
	[CATALOGUE_RANGE_U64] = { 0, ULLONG_MAX, "0 to 18446744073709551615" },
};

static int binder_span_is(struct binder_span v, const char *word)
{
	size_t n = strlen(word);

	return v.len == n && strncasecmp(v.s, word, n) == 0;
}

static struct binder_span binder_unquote(struct binder_span v)
{
	v = binder_trim(v);
	if (binder_quoted(v)) {
		v.s++;
		v.len -= 2;
	}
	return v;
}

/* A bare $null: not quoted, not escaped. */
static int binder_is_null_word(struct binder_span v)
{
	v = binder_trim(v);
	return binder_word(v.s, v.len) == BINDER_WORD_NULL;
}

int binder_bool_word(struct binder_span v, int *b)
{
	v = binder_unquote(v);
	if (binder_span_is(v, "$true") || binder_span_is(v, "true") || binder_span_is(v, "1"))
		*b = 1;
	else if (binder_span_is(v, "$false") || binder_span_is(v, "false") || binder_span_is(v, "0"))
		*b = 0;
	else
		return 0;
	return 1;
}

int binder_is_filter(const char *name, size_t len)
{
	static const char *const names[] = { "Filter", "RecipientFilter", "RecipientPreviewFilter" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len == strlen(names[i]) && strncasecmp(name, names[i], len) == 0)
			return 1;
	return 0;
}

static int binder_ident_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_';
}

/* 5 or 6 when $true or $false (any case, not part of a longer name) starts s[i..len). */
static size_t binder_filter_word(const char *s, size_t len, size_t i, const char **repl)
{
	static const struct {
		const char *word, *repl;
	} words[] = { { "$true", "'True'" }, { "$false", "'False'" } };

	for (size_t w = 0; w < 2; w++) {
		size_t n = strlen(words[w].word);

		if (len - i >= n && strncasecmp(s + i, words[w].word, n) == 0 &&
		    (i + n == len || !binder_ident_char(s[i + n]))) {
			*repl = words[w].repl;
			return n;
		}
	}
	return 0;
}

/*
 * The module replaces every "$true" and "$false", in any case, with 'True'
 * and 'False' (Get-SanitizedBoolValuesInFilter, a plain regex).  Here a
 * quoted string is left alone, and so is a longer name ($trueish): there
 * the module's rewrite would break the filter rather than fix it.
 */
size_t binder_filter_rewrite(const char *s, size_t len, char *out)
{
	size_t o = 0;
	char quote = 0;

	for (size_t i = 0; i < len;) {
		const char *repl;
		size_t n;

		if (quote == 0 && (n = binder_filter_word(s, len, i, &repl)) > 0) {
			memcpy(out + o, repl, n + 1);
			o += n + 1;
			i += n;
			continue;
		}
		if (quote == 0 && (s[i] == '\'' || s[i] == '"'))
			quote = s[i];
		else if (s[i] == quote)
			quote = 0;
		out[o++] = s[i++];
	}
	return o;
}

/* Text for a text parameter, through the filter rewrite where it applies. */
static int binder_gen_text_out(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
			       const char *s, size_t len)
{
	size_t cap = len + len / 5 + 1, n;
	char *buf;
	int rc;

	if (!t->filter)
		return binder_gen_str(c, g, s, len);
	if (len > BINDER_MAX_VALUE)
		return binder_gen_str(c, g, s, len);    /* refused there, with the reason */
	if ((buf = malloc(cap)) == NULL)
		return binder_fail(c, "out of memory");
	n = binder_filter_rewrite(s, len, buf);
	rc = binder_gen_str(c, g, buf, n);
	sbuf_wipe(buf, cap);
	free(buf);
	return rc;
}

/*
 * A whole number within r, without sign noise or leading zeros, into out;
 * 0, or -1 when v is not a whole number, -2 when it is out of range.
 */
static int binder_int_text(struct binder_span v, enum catalogue_range r, char *out, size_t outlen)
{
	const struct binder_range *b = &binder_ranges[r];
	unsigned long long mag = 0;
	size_t i = 0;
	int neg = 0, over = 0;

	if (v.len > 0 && (v.s[0] == '-' || v.s[0] == '+'))
		neg = v.s[i++] == '-';
	if (i == v.len)
		return -1;
	for (; i < v.len; i++) {
		unsigned d = (unsigned)((unsigned char)v.s[i]) - '0';

		if (d > 9)
			return -1;
		if (mag > (ULLONG_MAX - d) / 10)
			over = 1;       /* keep reading: "1x" past the range is still not a number */
		else
			mag = mag * 10 + d;
	}
	if (over || (neg && mag > b->neg) || (!neg && mag > b->pos))
		return -2;
	snprintf(out, outlen, "%s%llu", neg && mag > 0 ? "-" : "", mag);
	return 0;
}

static int binder_gen_int(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
			  struct binder_span v)
{
	char num[BINDER_INT_TEXT], q[BINDER_QUOTE_LEN];
	int unl = t->kind == CATALOGUE_UNLIMITED_INT, rc;

	v = binder_unquote(v);
	if (unl && binder_span_is(v, "Unlimited"))
		return binder_gen_str(c, g, "Unlimited", 9);
	rc = binder_int_text(v, t->range, num, sizeof(num));
	if (rc == -2)
		return binder_fail(c, "%s -%s takes a whole number from %s; %s is out of range.",
				   c->cmdlet, t->name, binder_ranges[t->range].text,
				   binder_quote(v.s, v.len, q, sizeof(q)));
	if (rc < 0)
		return binder_fail(c, "%s -%s takes a whole number%s, not %s.", c->cmdlet, t->name,
				   unl ? " or Unlimited" : "", binder_quote(v.s, v.len, q, sizeof(q)));
	return binder_gen_ok(c, yajl_gen_number(g, num, strlen(num)));
}

static int binder_bool_error(struct binder_ctx *c, const struct binder_target *t, struct binder_span v)
{
	char q[BINDER_QUOTE_LEN];

	v = binder_trim(v);
	if (t->kind == CATALOGUE_SWITCH)
		return binder_fail(c, "%s -%s is a switch: write -%s, or -%s:$false to turn it off "
				   "(%s), not -%s:%s.", c->cmdlet, t->name, t->name, t->name,
				   BINDER_BASH_HINT, t->name, binder_quote(v.s, v.len, q, sizeof(q)));
	if (v.len == 0)
		return binder_fail(c, "%s -%s takes $true or $false, and its value is empty: %s.",
				   c->cmdlet, t->name, BINDER_BASH_HINT);
	return binder_fail(c, "%s -%s takes $true or $false (or true, false, 1, 0), not %s; %s.",
			   c->cmdlet, t->name, binder_quote(v.s, v.len, q, sizeof(q)), BINDER_BASH_HINT);
}

static int binder_gen_bool_text(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
				struct binder_span v)
{
	int b;

	if (!binder_bool_word(v, &b))
		return binder_bool_error(c, t, v);
	return binder_gen_ok(c, yajl_gen_bool(g, b));
}

/* Text as text: quotes stripped, escapes undone, $null/$true/$false as PowerShell converts them. */
static int binder_gen_string_text(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
				  struct binder_span v, int trim)
{
	size_t len;
	char *s;
	int escaped, rc;

	if (trim)
		v = binder_trim(v);
	if (binder_quoted(v))
		return binder_gen_text_out(c, g, t, v.s + 1, v.len - 2);
	if ((s = binder_unescape(v, &len, &escaped)) == NULL)
		return binder_fail(c, "out of memory");
	switch (escaped ? BINDER_WORD_TEXT : binder_word(s, len)) {
	case BINDER_WORD_NULL:
		rc = binder_gen_ok(c, yajl_gen_null(g));
		break;
	case BINDER_WORD_TRUE:
		rc = binder_gen_str(c, g, "True", 4);
		break;
	case BINDER_WORD_FALSE:
		rc = binder_gen_str(c, g, "False", 5);
		break;
	default:
		if (t->kind == CATALOGUE_UNLIMITED && binder_span_is((struct binder_span){ s, len }, "Unlimited"))
			rc = binder_gen_str(c, g, "Unlimited", 9);
		else
			rc = binder_gen_text_out(c, g, t, s, len);
	}
	binder_unescape_free(s, len);
	return rc;
}

static int binder_starts_table(struct binder_span v)
{
	v = binder_trim(v);
	return v.len >= 2 && v.s[0] == '@' && v.s[1] == '{';
}

/*
 * Hashtables go where the type takes one: Hashtable types, @{Add=;Remove=}
 * for a MultiValuedProperty, and single values of types not classified
 * (the service judges).  A T[] list never takes one.
 */
static int binder_takes_table(const struct binder_target *t)
{
	if (t->flags & CATALOGUE_MULTI)
		return t->kind == CATALOGUE_HASHTABLE || (t->flags & CATALOGUE_DELTA) != 0;
	return t->kind == CATALOGUE_HASHTABLE || t->kind == CATALOGUE_OTHER;
}

static int binder_not_table(struct binder_ctx *c, const struct binder_target *t)
{
	return binder_fail(c, "%s -%s takes %s, not a hashtable; quote the value to send it as text.",
			   c->cmdlet, t->name, t->flags & CATALOGUE_MULTI ? "a list of values"
					       : catalogue_kind_name(t->kind));
}

/* @{...}: an object, in a list of one for Hashtable[] (Add/Remove objects stay objects). */
static int binder_gen_table_text(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
				 struct binder_span v)
{
	int wrap = t->kind == CATALOGUE_HASHTABLE && (t->flags & CATALOGUE_MULTI);

	if (!binder_takes_table(t))
		return binder_not_table(c, t);
	if (wrap && binder_gen_ok(c, yajl_gen_array_open(g)) < 0)
		return -1;
	if (binder_gen_table(c, g, binder_trim(v)) < 0)
		return -1;
	return wrap ? binder_gen_ok(c, yajl_gen_array_close(g)) : 0;
}

/* One value, or one element of a list. */
static int binder_gen_one_text(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
			       struct binder_span v, int trim)
{
	switch (t->kind) {
	case CATALOGUE_SWITCH:
	case CATALOGUE_BOOLEAN:
		return binder_gen_bool_text(c, g, t, v);
	case CATALOGUE_INTEGER:
	case CATALOGUE_UNLIMITED_INT:
		if (binder_is_null_word(v))
			return binder_gen_ok(c, yajl_gen_null(g));
		return binder_gen_int(c, g, t, v);
	case CATALOGUE_HASHTABLE:
		if (binder_is_null_word(v))
			return binder_gen_ok(c, yajl_gen_null(g));
		if (binder_starts_table(v))
			return binder_gen_table(c, g, binder_trim(v));
		return binder_fail(c, "%s -%s takes a hashtable: -%s @{Key=Value;Key2=Value2}.",
				   c->cmdlet, t->name, t->name);
	case CATALOGUE_STRING:
	case CATALOGUE_IDENTITY:
	case CATALOGUE_UNLIMITED:
		return binder_gen_string_text(c, g, t, v, trim);
	case CATALOGUE_SECURE:
		return binder_fail(c, "%s -%s is a SecureString, which cannot be sent.", c->cmdlet, t->name);
	default:
		return binder_gen_scalar(c, g, v, trim);
	}
}

/* a,b,c for a multi-valued parameter: always a list, a single value a list of one. */
static int binder_gen_multi_text(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
				 struct binder_span v)
{
	struct binder_span rest = v, part;
	char q[BINDER_QUOTE_LEN];
	size_t n = 0;
	int found = 1;

	if (binder_starts_table(v))
		return binder_gen_table_text(c, g, t, v);
	if (binder_is_null_word(v))
		return binder_gen_ok(c, yajl_gen_null(g));
	if (binder_gen_ok(c, yajl_gen_array_open(g)) < 0)
		return -1;
	while (found) {
		part = binder_split(&rest, ',', &found);
		if (binder_trim(part).len == 0)
			return binder_fail(c, "%s -%s: empty element in the list %s.", c->cmdlet, t->name,
					   binder_quote(v.s, v.len, q, sizeof(q)));
		if (++n > BINDER_MAX_ITEMS)
			return binder_fail(c, "%s -%s: more than %d values.", c->cmdlet, t->name,
					   BINDER_MAX_ITEMS);
		if (binder_gen_one_text(c, g, t, part, 1) < 0)
			return -1;
	}
	return binder_gen_ok(c, yajl_gen_array_close(g));
}

int binder_gen_text(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
		    struct binder_span v)
{
	if (t->plain && !t->filter)
		return binder_gen_plain(c, g, v);
	if (t->flags & CATALOGUE_MULTI)
		return binder_gen_multi_text(c, g, t, v);
	if (binder_starts_table(v) && t->kind != CATALOGUE_SWITCH && t->kind != CATALOGUE_BOOLEAN)
		return binder_gen_table_text(c, g, t, v);
	return binder_gen_one_text(c, g, t, v, 0);
}

/* ---- values from JSON ---- */

static const char *binder_json_what(yajl_val v)
{
	if (YAJL_IS_OBJECT(v))
		return "an object";
	if (YAJL_IS_ARRAY(v))
		return "a list";
	if (YAJL_IS_STRING(v))
		return "a string";
	if (YAJL_IS_NUMBER(v))
		return "a number";
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		return "a Boolean";
	return "null";
}

static int binder_json_wrong(struct binder_ctx *c, const struct binder_target *t, yajl_val v)
{
	const char *want = catalogue_kind_name(t->kind);

	if (t->kind == CATALOGUE_SWITCH || t->kind == CATALOGUE_BOOLEAN)
		want = "true or false";
	return binder_fail(c, "%s -%s takes %s, not %s.", c->cmdlet, t->name, want, binder_json_what(v));
}

static struct binder_span binder_json_span(const char *s, size_t max)
{
	struct binder_span v = { s, s != NULL ? strnlen(s, max + 1) : 0 };

	return v;
}

static int binder_gen_bool_json(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
				yajl_val v)
{
	int b;

	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		return binder_gen_ok(c, yajl_gen_bool(g, YAJL_IS_TRUE(v)));
	if ((YAJL_IS_STRING(v) || YAJL_IS_NUMBER(v)) &&
	    binder_bool_word(binder_json_span(YAJL_IS_STRING(v) ? v->u.string : v->u.number.r,
					      BINDER_MAX_NAME), &b))
		return binder_gen_ok(c, yajl_gen_bool(g, b));
	if (YAJL_IS_STRING(v))
		return binder_bool_error(c, t, binder_json_span(v->u.string, BINDER_MAX_VALUE));
	return binder_json_wrong(c, t, v);
}

static int binder_gen_int_json(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
			       yajl_val v)
{
	if (YAJL_IS_NULL(v))
		return binder_gen_ok(c, yajl_gen_null(g));
	if (YAJL_IS_NUMBER(v) && v->u.number.r != NULL)
		return binder_gen_int(c, g, t, binder_json_span(v->u.number.r, BINDER_MAX_NAME));
	if (YAJL_IS_STRING(v))
		return binder_gen_int(c, g, t, binder_json_span(v->u.string, BINDER_MAX_VALUE));
	return binder_json_wrong(c, t, v);
}

static int binder_gen_string_json(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
				  yajl_val v)
{
	struct binder_span s;

	if (YAJL_IS_NULL(v))
		return binder_gen_ok(c, yajl_gen_null(g));
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		return YAJL_IS_TRUE(v) ? binder_gen_str(c, g, "True", 4) : binder_gen_str(c, g, "False", 5);
	if (YAJL_IS_NUMBER(v) && v->u.number.r != NULL)
		s = binder_json_span(v->u.number.r, BINDER_MAX_NAME);
	else if (YAJL_IS_STRING(v))
		s = binder_json_span(v->u.string, BINDER_MAX_VALUE);
	else
		return binder_json_wrong(c, t, v);
	if (t->kind == CATALOGUE_UNLIMITED && binder_span_is(s, "Unlimited"))
		return binder_gen_str(c, g, "Unlimited", 9);
	return binder_gen_text_out(c, g, t, s.s, s.len);
}

static int binder_gen_one_json(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
			       yajl_val v)
{
	switch (t->kind) {
	case CATALOGUE_SWITCH:
	case CATALOGUE_BOOLEAN:
		return binder_gen_bool_json(c, g, t, v);
	case CATALOGUE_INTEGER:
	case CATALOGUE_UNLIMITED_INT:
		return binder_gen_int_json(c, g, t, v);
	case CATALOGUE_HASHTABLE:
		if (YAJL_IS_OBJECT(v) || YAJL_IS_NULL(v))
			return binder_gen_tree(c, g, v, t->max_depth);
		return binder_json_wrong(c, t, v);
	case CATALOGUE_STRING:
	case CATALOGUE_IDENTITY:
	case CATALOGUE_UNLIMITED:
		return binder_gen_string_json(c, g, t, v);
	case CATALOGUE_SECURE:
		return binder_fail(c, "%s -%s is a SecureString, which cannot be sent.", c->cmdlet, t->name);
	default:
		return binder_gen_tree(c, g, v, t->max_depth);
	}
}

static int binder_gen_multi_json(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
				 yajl_val v)
{
	int wrap = !YAJL_IS_ARRAY(v);

	if (YAJL_IS_NULL(v))
		return binder_gen_ok(c, yajl_gen_null(g));
	if (YAJL_IS_OBJECT(v) && t->kind != CATALOGUE_HASHTABLE) {
		if (!binder_takes_table(t))
			return binder_not_table(c, t);
		return binder_gen_tree(c, g, v, t->max_depth);
	}
	if (!wrap && v->u.array.len > BINDER_MAX_ITEMS)
		return binder_fail(c, "%s -%s: more than %d values.", c->cmdlet, t->name, BINDER_MAX_ITEMS);
	if (binder_gen_ok(c, yajl_gen_array_open(g)) < 0)
		return -1;
	for (size_t i = 0; i < (wrap ? 1 : v->u.array.len); i++) {
		yajl_val e = wrap ? v : v->u.array.values[i];

		if (YAJL_IS_ARRAY(e) && t->kind != CATALOGUE_OTHER)
			return binder_fail(c, "%s -%s takes a list of values, not a list of lists.",
					   c->cmdlet, t->name);
		if (binder_gen_one_json(c, g, t, e) < 0)
			return -1;
	}
	return binder_gen_ok(c, yajl_gen_array_close(g));
}

int binder_gen_json(struct binder_ctx *c, yajl_gen g, const struct binder_target *t, yajl_val v)
{
	if (t->plain && t->filter && YAJL_IS_STRING(v))
		return binder_gen_text_out(c, g, t, v->u.string, strnlen(v->u.string, BINDER_MAX_VALUE + 1));
	if (t->plain)
		return binder_gen_tree(c, g, v, t->max_depth);
	if (v == NULL)
		return binder_gen_ok(c, yajl_gen_null(g));
	if (t->flags & CATALOGUE_MULTI)
		return binder_gen_multi_json(c, g, t, v);
	if (YAJL_IS_OBJECT(v)) {
		if (!binder_takes_table(t))
			return binder_not_table(c, t);
		return binder_gen_tree(c, g, v, t->max_depth);
	}
	if (YAJL_IS_ARRAY(v)) {
		if (t->kind != CATALOGUE_OTHER)
			return binder_fail(c, "%s -%s takes one value, not a list.", c->cmdlet, t->name);
		return binder_gen_tree(c, g, v, t->max_depth);
	}
	return binder_gen_one_json(c, g, t, v);
}
