/* PowerShell-style cmdlet parameters turned into a JSON object with yajl_gen. */
#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_tree.h>

#include "common/sbuf.h"
#include "output.h"

#define PARAMS_ESCAPABLE ",;=$@'\""    /* what a backslash makes literal */
#define PARAMS_MERGE "--params"

enum params_kind {
	PARAMS_SWITCH,
	PARAMS_TEXT,
	PARAMS_JSON,
};

struct params_entry {
	char name[PARAMS_MAX_NAME + 1];
	enum params_kind kind;
	int dashed;             /* given as -Name: a second -Name is an error */
	const char *text;
	char *owned;            /* text joined from several arguments */
	yajl_val json;
};

struct params {
	struct params_entry *e;
	size_t n;
	yajl_val trees[PARAMS_MAX_COUNT];
	size_t ntrees;
	char *err;
	size_t errlen;
};

struct params_span {
	const char *s;
	size_t len;
};

/* Writes the message for the caller's err buffer; evaluates to -1. */
#define params_fail(p, ...) (snprintf((p)->err, (p)->errlen, __VA_ARGS__), -1)

static int params_gen_ok(struct params *p, yajl_gen_status st)
{
	if (st == yajl_gen_status_ok)
		return 0;
	return params_fail(p, "cannot encode the parameters (%s)",
			   st == yajl_gen_invalid_string ? "text is not valid UTF-8" : "JSON generator error");
}

static int params_is_name(const char *a)
{
	return a[0] == '-' && isalpha((unsigned char)a[1]);
}

static int params_is_merge(const char *a)
{
	size_t n = strlen(PARAMS_MERGE);

	return strncmp(a, PARAMS_MERGE, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

static int params_valid_name(const char *s, size_t len)
{
	if (len == 0 || len > PARAMS_MAX_NAME || !isalpha((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return 1;
}

/* An integer as PowerShell would type it: no leading zeros, within int64. */
static int params_is_int(const char *s)
{
	const char *d = s[0] == '-' ? s + 1 : s;
	char *end;

	if (d[0] == '\0' || (d[0] == '0' && d[1] != '\0'))
		return 0;
	for (const char *c = d; *c; c++)
		if (!isdigit((unsigned char)*c))
			return 0;
	errno = 0;
	(void)strtoll(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static struct params_span params_trim(struct params_span v)
{
	while (v.len > 0 && isspace((unsigned char)v.s[0])) {
		v.s++;
		v.len--;
	}
	while (v.len > 0 && isspace((unsigned char)v.s[v.len - 1]))
		v.len--;
	return v;
}

static int params_quoted(struct params_span v)
{
	return v.len >= 2 && (v.s[0] == '"' || v.s[0] == '\'') && v.s[v.len - 1] == v.s[0];
}

/*
 * Cuts rest at the first delim that is neither escaped nor inside a
 * quote.  A quote opens only where a word starts, so O'Brien stays as
 * it is while -Filter "Name -eq 'Smith, J'" keeps its comma.  *found
 * says whether a delim ended the part.
 */
static struct params_span params_split(struct params_span *rest, char delim, int *found)
{
	const char *s = rest->s;
	size_t len = rest->len, i;
	struct params_span part;

	for (i = 0; i < len && s[i] != delim; i++) {
		const char *close;

		if (s[i] == '\\' && i + 1 < len && strchr(PARAMS_ESCAPABLE, s[i + 1]) != NULL) {
			i++;
		} else if ((s[i] == '"' || s[i] == '\'') && (i == 0 || !isalnum((unsigned char)s[i - 1]))) {
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

/* Copies v without its escaping backslashes; *escaped says if there were any. */
static char *params_unescape(struct params_span v, int *escaped)
{
	char *out = malloc(v.len + 1);
	size_t o = 0;

	*escaped = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < v.len; i++) {
		if (v.s[i] == '\\' && i + 1 < v.len && strchr(PARAMS_ESCAPABLE, v.s[i + 1]) != NULL) {
			*escaped = 1;
			i++;
		}
		out[o++] = v.s[i];
	}
	out[o] = '\0';
	return out;
}

static int params_gen_string(struct params *p, yajl_gen g, const char *s, size_t len)
{
	return params_gen_ok(p, yajl_gen_string(g, (const unsigned char *)s, len));
}

/* A quoted or escaped scalar is always a string; otherwise it is typed. */
static int params_gen_scalar(struct params *p, yajl_gen g, struct params_span v, int trim)
{
	yajl_gen_status st;
	char *s;
	int escaped, rc;

	if (trim)
		v = params_trim(v);
	if (params_quoted(v))
		return params_gen_string(p, g, v.s + 1, v.len - 2);
	if ((s = params_unescape(v, &escaped)) == NULL)
		return params_fail(p, "out of memory");
	if (escaped)
		st = yajl_gen_string(g, (const unsigned char *)s, strlen(s));
	else if (strcasecmp(s, "$true") == 0)
		st = yajl_gen_bool(g, 1);
	else if (strcasecmp(s, "$false") == 0)
		st = yajl_gen_bool(g, 0);
	else if (strcasecmp(s, "$null") == 0)
		st = yajl_gen_null(g);
	else if (params_is_int(s))
		st = yajl_gen_number(g, s, strlen(s));
	else
		st = yajl_gen_string(g, (const unsigned char *)s, strlen(s));
	rc = params_gen_ok(p, st);
	sbuf_wipe(s, strlen(s));
	free(s);
	return rc;
}

/* a,b,c is an array; a value without an unescaped comma is a scalar. */
static int params_gen_list(struct params *p, yajl_gen g, struct params_span v, int trim)
{
	struct params_span rest = v, part;
	int found;

	part = params_split(&rest, ',', &found);
	if (!found)
		return params_gen_scalar(p, g, part, trim);
	if (params_gen_ok(p, yajl_gen_array_open(g)) < 0)
		return -1;
	for (;;) {
		if (params_trim(part).len == 0)
			return params_fail(p, "empty element in the list '%.*s'", (int)v.len, v.s);
		if (params_gen_scalar(p, g, part, 1) < 0)
			return -1;
		if (!found)
			break;
		part = params_split(&rest, ',', &found);
	}
	return params_gen_ok(p, yajl_gen_array_close(g));
}

static int params_gen_key(struct params *p, yajl_gen g, struct params_span k)
{
	char *s;
	int escaped, rc;

	k = params_trim(k);
	if (params_quoted(k)) {
		k.s++;
		k.len -= 2;
	}
	if (k.len == 0 || k.len > PARAMS_MAX_NAME)
		return params_fail(p, "a hashtable key must be 1 to %d bytes", PARAMS_MAX_NAME);
	if ((s = params_unescape(k, &escaped)) == NULL)
		return params_fail(p, "out of memory");
	rc = params_gen_string(p, g, s, strlen(s));
	free(s);
	return rc;
}

static int params_gen_entry(struct params *p, yajl_gen g, struct params_span entry)
{
	struct params_span kv = entry, key, val;
	int eq;

	key = params_split(&kv, '=', &eq);
	if (!eq)
		return params_fail(p, "hashtable entry '%.*s' has no '='", (int)entry.len, entry.s);
	val = params_trim(kv);
	if (val.len >= 2 && strncmp(val.s, "@{", 2) == 0)
		return params_fail(p, "nested hashtables are not supported; use --params");
	if (params_gen_key(p, g, key) < 0)
		return -1;
	return params_gen_list(p, g, val, 1);
}

/* @{Key=Value;Key2=a,b} is an object; empty entries are skipped as in PowerShell. */
static int params_gen_table(struct params *p, yajl_gen g, struct params_span v)
{
	struct params_span rest;
	int found = 1;

	if (v.s[v.len - 1] != '}')
		return params_fail(p, "hashtable '%.*s' does not end with '}'", (int)v.len, v.s);
	rest.s = v.s + 2;
	rest.len = v.len - 3;
	if (params_gen_ok(p, yajl_gen_map_open(g)) < 0)
		return -1;
	while (found) {
		struct params_span entry = params_split(&rest, ';', &found);

		if (params_trim(entry).len == 0)
			continue;
		if (params_gen_entry(p, g, params_trim(entry)) < 0)
			return -1;
	}
	return params_gen_ok(p, yajl_gen_map_close(g));
}

static int params_gen_value(struct params *p, yajl_gen g, const char *text)
{
	struct params_span v = { text, strlen(text) };

	if (v.len >= 2 && strncmp(text, "@{", 2) == 0)
		return params_gen_table(p, g, v);
	return params_gen_list(p, g, v, 0);
}

static struct params_entry *params_find(struct params *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcasecmp(p->e[i].name, name) == 0)
			return &p->e[i];
	return NULL;
}

static void params_entry_clear(struct params_entry *e)
{
	if (e->owned != NULL) {
		sbuf_wipe(e->owned, strlen(e->owned));
		free(e->owned);
	}
	memset(e, 0, sizeof(*e));
}

/* Adds or, when merged from --params, replaces; takes ownership of e->owned. */
static int params_add(struct params *p, struct params_entry *e)
{
	struct params_entry *old = params_find(p, e->name);

	if (old != NULL && old->dashed && e->dashed) {
		params_entry_clear(e);
		return params_fail(p, "parameter -%s is given twice", old->name);
	}
	if (old == NULL) {
		if (p->n >= PARAMS_MAX_COUNT) {
			params_entry_clear(e);
			return params_fail(p, "more than %d parameters", PARAMS_MAX_COUNT);
		}
		old = &p->e[p->n++];
	}
	params_entry_clear(old);
	*old = *e;
	return 0;
}

static int params_ends_with_comma(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[n - 1] == ',' && (n < 2 || s[n - 2] != '\\');
}

/* "a," "b" is one list, as when PowerShell reads `-Name a, b`. */
static int params_join(struct params *p, int argc, char *const argv[], int *i,
		       struct params_entry *e)
{
	size_t len = strlen(e->text);

	while (params_ends_with_comma(e->owned != NULL ? e->owned : e->text) && *i + 1 < argc &&
	       !params_is_name(argv[*i + 1]) && !params_is_merge(argv[*i + 1])) {
		const char *next = argv[++*i];
		size_t nlen = strlen(next);
		char *joined;

		if (len + nlen > PARAMS_MAX_VALUE)
			return params_fail(p, "value of -%s is longer than %d bytes", e->name, PARAMS_MAX_VALUE);
		if ((joined = malloc(len + nlen + 1)) == NULL)
			return params_fail(p, "out of memory");
		memcpy(joined, e->text, len);
		memcpy(joined + len, next, nlen + 1);
		if (e->owned != NULL) {
			sbuf_wipe(e->owned, len);
			free(e->owned);
		}
		e->owned = joined;
		e->text = joined;
		len += nlen;
	}
	return 0;
}

static int params_take(struct params *p, int argc, char *const argv[], int *i)
{
	const char *a = argv[*i] + 1;
	const char *colon = strchr(a, ':');
	size_t nlen = colon != NULL ? (size_t)(colon - a) : strlen(a);
	struct params_entry e = { .kind = PARAMS_SWITCH, .dashed = 1 };

	if (!params_valid_name(a, nlen))
		return params_fail(p, "invalid parameter name '-%.*s' (letters and digits, at most %d)",
				   (int)(nlen > PARAMS_MAX_NAME ? PARAMS_MAX_NAME : nlen), a, PARAMS_MAX_NAME);
	memcpy(e.name, a, nlen);
	if (colon != NULL && colon[1] != '\0')
		e.text = colon + 1;
	else if (colon != NULL && *i + 1 < argc)
		e.text = argv[++*i];
	else if (colon != NULL)
		return params_fail(p, "-%s: needs a value after ':'", e.name);
	else if (*i + 1 < argc && !params_is_name(argv[*i + 1]) && !params_is_merge(argv[*i + 1]))
		e.text = argv[++*i];
	if (e.text != NULL) {
		e.kind = PARAMS_TEXT;
		if (params_join(p, argc, argv, i, &e) < 0) {
			params_entry_clear(&e);
			return -1;
		}
	}
	return params_add(p, &e);
}

static int params_merge(struct params *p, const char *json)
{
	char ebuf[256];
	yajl_val tree;

	if (json == NULL)
		return params_fail(p, "--params needs a JSON object");
	if (strlen(json) > PARAMS_MAX_JSON)
		return params_fail(p, "--params is longer than %d bytes", PARAMS_MAX_JSON);
	if (p->ntrees >= PARAMS_MAX_COUNT)
		return params_fail(p, "too many --params");
	ebuf[0] = '\0';
	if ((tree = yajl_tree_parse(json, ebuf, sizeof(ebuf))) == NULL) {
		ebuf[strcspn(ebuf, "\n")] = '\0';
		return params_fail(p, "--params is not valid JSON: %s", ebuf);
	}
	p->trees[p->ntrees++] = tree;
	if (!YAJL_IS_OBJECT(tree))
		return params_fail(p, "--params must be a JSON object");
	for (size_t k = 0; k < tree->u.object.len; k++) {
		const char *name = tree->u.object.keys[k];
		struct params_entry e = { .kind = PARAMS_JSON, .json = tree->u.object.values[k] };

		if (!params_valid_name(name, strlen(name)))
			return params_fail(p, "--params: invalid parameter name '%.*s'",
					   PARAMS_MAX_NAME, name);
		memcpy(e.name, name, strlen(name));
		if (params_add(p, &e) < 0)
			return -1;
	}
	return 0;
}

static int params_collect(struct params *p, int argc, char *const argv[])
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (params_is_merge(a)) {
			const char *json = a[strlen(PARAMS_MERGE)] == '=' ? a + strlen(PARAMS_MERGE) + 1 :
					   i + 1 < argc ? argv[++i] : NULL;

			if (params_merge(p, json) < 0)
				return -1;
		} else if (params_is_name(a)) {
			if (params_take(p, argc, argv, &i) < 0)
				return -1;
		} else if (strncmp(a, "--", 2) == 0) {
			return params_fail(p, "unknown option '%.64s'", a);
		} else {
			return params_fail(p, "'%.64s' is a value with no -Name before it "
					   "(write -Name value; quote a value that starts with '-' as -Name:value)", a);
		}
	}
	return 0;
}

static int params_emit(struct params *p, yajl_gen g)
{
	if (params_gen_ok(p, yajl_gen_map_open(g)) < 0)
		return -1;
	for (size_t i = 0; i < p->n; i++) {
		const struct params_entry *e = &p->e[i];

		if (params_gen_string(p, g, e->name, strlen(e->name)) < 0)
			return -1;
		if (e->kind == PARAMS_SWITCH && params_gen_ok(p, yajl_gen_bool(g, 1)) < 0)
			return -1;
		if (e->kind == PARAMS_TEXT && params_gen_value(p, g, e->text) < 0)
			return -1;
		if (e->kind == PARAMS_JSON && output_gen_tree(g, e->json) < 0)
			return params_fail(p, "--params value of %s is nested too deeply or not encodable", e->name);
	}
	return params_gen_ok(p, yajl_gen_map_close(g));
}

int params_gen(yajl_gen g, int argc, char *const argv[], char *err, size_t errlen)
{
	struct params p = { .err = err, .errlen = errlen };
	int rc = -1;

	p.e = calloc(PARAMS_MAX_COUNT, sizeof(*p.e));
	if (p.e == NULL) {
		(void)params_fail(&p, "out of memory");
		goto out;
	}
	if (params_collect(&p, argc, argv) < 0 || params_emit(&p, g) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; p.e != NULL && i < p.n; i++)
		params_entry_clear(&p.e[i]);
	for (size_t i = 0; i < p.ntrees; i++)
		yajl_tree_free(p.trees[i]);
	free(p.e);
	return rc;
}
