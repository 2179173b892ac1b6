/*
 * What the three parts of the binder share, and nobody else uses:
 * binder_grammar.c (exoctl's text grammar), binder_value.c (a value
 * checked and written for one parameter) and binder.c (names, sets,
 * positions, the entry points).
 */
#ifndef EXOD_BINDER_INT_H
#define EXOD_BINDER_INT_H

#include <stddef.h>
#include <stdio.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/binder.h"
#include "common/catalogue.h"

#define BINDER_QUOTE_MAX 48             /* bytes of a value quoted in a message */
#define BINDER_QUOTE_LEN (BINDER_QUOTE_MAX + 8)     /* its buffer: the text and "..." */

/* Bytes with a length: values are cut out of arguments without copying. */
struct binder_span {
	const char *s;
	size_t len;
};

/* Where a message goes, and the cmdlet it names. */
struct binder_ctx {
	char *err;
	size_t errlen;
	const char *cmdlet;             /* printable: the catalogue's name, or checked */
	int tag_tables;                 /* objects within values get the hashtable type (exod's body) */
};

#define BINDER_ODATA_TYPE "@odata.type"
#define BINDER_HASHTABLE_TYPE "#Exchange.GenericHashTable"

/* Writes the message for the caller's err buffer; evaluates to -1. */
#define binder_fail(c, ...) (snprintf((c)->err, (c)->errlen, __VA_ARGS__), -1)

/* One parameter's value as the binder must check and write it. */
struct binder_target {
	const char *name;               /* canonical name, for messages */
	enum catalogue_kind kind;       /* of one element */
	unsigned flags;                 /* CATALOGUE_MULTI, CATALOGUE_DELTA */
	enum catalogue_range range;
	int plain;                      /* exoctl's grammar alone: typed by form, lists split, never wrapped */
	int filter;                     /* -Filter and friends: $true/$false rewritten (text as one string) */
	int max_depth;                  /* nesting allowed in a JSON value passed on */
};

/* ---- binder_grammar.c ---- */

/* -Name or -Name:value: a '-' and an ASCII letter. */
int binder_is_name(const char *a);
/* --params or --params=JSON. */
int binder_is_merge(const char *a);
/* Letters and digits, a letter first, 1..BINDER_MAX_NAME bytes. */
int binder_valid_name(const char *s, size_t len);
struct binder_span binder_trim(struct binder_span v);
/* 'text' or "text": the same quote at both ends. */
int binder_quoted(struct binder_span v);
/*
 * Cuts rest at the first delim that is neither escaped nor inside a quote;
 * *found says whether a delim ended the part.
 */
struct binder_span binder_split(struct binder_span *rest, char delim, int *found);
/* A malloc'd copy of v without its escaping backslashes (wipe and free it); NULL: no memory. */
char *binder_unescape(struct binder_span v, size_t *outlen, int *escaped);
/* Wipes and frees what binder_unescape returned. */
void binder_unescape_free(char *s, size_t len);
/* The argument ends with a comma that is not escaped: "a," "b" make one list. */
int binder_ends_with_comma(const char *s, size_t len);
/* An integer as PowerShell types a bare word: no leading zeros, within int64. */
int binder_is_int(const char *s, size_t len);
/* What a bare (unquoted, unescaped) word is in PowerShell. */
enum binder_word {
	BINDER_WORD_TEXT,
	BINDER_WORD_TRUE,               /* $true, any case */
	BINDER_WORD_FALSE,
	BINDER_WORD_NULL,
	BINDER_WORD_INT,
};
enum binder_word binder_word(const char *s, size_t len);
/* The value with quotes around it cut to BINDER_QUOTE_MAX valid bytes, control bytes as '?'. */
const char *binder_quote(const char *s, size_t len, char *out, size_t outlen);

int binder_gen_ok(struct binder_ctx *c, yajl_gen_status st);
/* Writes text, refusing invalid UTF-8 and anything over BINDER_MAX_VALUE. */
int binder_gen_str(struct binder_ctx *c, yajl_gen g, const char *s, size_t len);
/* exoctl's original value forms: @{...}, a,b lists, scalars typed by form. */
int binder_gen_plain(struct binder_ctx *c, yajl_gen g, struct binder_span v);
/* A scalar typed by its form: $true, $false, $null, integers, else text. */
int binder_gen_scalar(struct binder_ctx *c, yajl_gen g, struct binder_span v, int trim);
/* @{Key=Value;...} (v starts with "@{") as an object, values typed by form. */
int binder_gen_table(struct binder_ctx *c, yajl_gen g, struct binder_span v);
/* A JSON value written again as it is, within max_depth levels. */
int binder_gen_tree(struct binder_ctx *c, yajl_gen g, yajl_val v, int max_depth);

/* ---- binder_value.c ---- */

/* Writes one parameter's value given as command-line text. */
int binder_gen_text(struct binder_ctx *c, yajl_gen g, const struct binder_target *t,
		    struct binder_span v);
/* Writes one parameter's value given as JSON. */
int binder_gen_json(struct binder_ctx *c, yajl_gen g, const struct binder_target *t, yajl_val v);
/* $true $false true false 1 0, any case, quotes allowed: 1 with *b set, or 0. */
int binder_bool_word(struct binder_span v, int *b);
/* 1 when the name is Filter, RecipientFilter or RecipientPreviewFilter (any case). */
int binder_is_filter(const char *name, size_t len);
/* s with $true/$false outside quotes as 'True'/'False'; out holds len + len / 5 + 1. */
size_t binder_filter_rewrite(const char *s, size_t len, char *out);

#endif
