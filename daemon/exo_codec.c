/* InvokeCommand wire format: request body, streaming result-page parser, error envelope. */

#include "daemon/exo_codec.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "common/jtree.h"
#include "common/sbuf.h"
#include "common/utf8.h"

#define EXO_CODEC_MAX_DEPTH 64                  /* JSON nesting levels, page or body */
#define EXO_CODEC_MAX_CMDLET 128                /* bytes in a cmdlet name (WIRE_MAX_CMDLET) */
#define EXO_CODEC_MAX_ERROR_BODY (1024 * 1024)  /* larger error bodies are not parsed */
#define EXO_CODEC_MAX_ERROR_TEXT 4096           /* bytes kept of an error message */
#define EXO_CODEC_MAX_ERROR_NAME 256            /* bytes kept of an error code or type */
#define EXO_CODEC_FEED_SLICE 65536              /* bytes handed to yajl at a time */
#define EXO_CODEC_GEN_KEEP 65536                /* a record buffer grown past this is freed */
#define EXO_CODEC_RAW_FIRST 4096                /* bytes of a record buffer at first */
#define EXO_CODEC_ERRLEN 256
#define EXO_CODEC_TEXT_MAX (EXO_MAX_WARNING > EXO_MAX_LINK ? EXO_MAX_WARNING : EXO_MAX_LINK)

/*
 * The service appends this to every truncated page; the module hides it
 * while it keeps paging, and shows it when the result stops short
 * (exo-protocol.md §3.2).  The parser marks it; exo.c decides.
 */
static const char exo_paging_warning[] =
	"There are more results available than are currently displayed";

/* §3.3 and the module's retryable server exceptions, plus ADTransientException (D-ISS #10972). */
static const char *const exo_transient_names[] = {
	"DCOverloadedException",
	"SuitabilityDirectoryException",
	"ServerInMMException",
	"ADServerSettingsChangedException",
	"StorageTransientException",
	"ADTransientException",
};

#define EXO_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Which top-level key the value being parsed belongs to. */
enum exo_slot {
	EXO_SLOT_NONE,
	EXO_SLOT_VALUE,
	EXO_SLOT_WARNINGS,
	EXO_SLOT_ERRORS,
	EXO_SLOT_CONFIRM,
	EXO_SLOT_LINK,
};

enum exo_scalar {
	EXO_T_NULL,
	EXO_T_TRUE,
	EXO_T_FALSE,
	EXO_T_NUMBER,
	EXO_T_STRING,
};

/*
 * A captured record's bytes as the service sent them.  from is where in
 * the slice being parsed its uncopied bytes begin; buf holds those of
 * earlier slices, when the record spans several.
 */
struct exo_raw {
	char *buf;
	size_t len, cap;
	size_t from;
};

struct exo_parser {
	yajl_handle yh;
	yajl_gen gen;                   /* scalar elements, and records that cannot pass as sent */
	const char *slice;              /* the bytes yajl is parsing now */
	struct exo_raw raw;
	struct exo_parser_cbs cbs;
	void *arg;
	int depth;                      /* containers open */
	enum exo_slot slot;
	int capture;                    /* depth where the captured value began, or -1 */
	enum exo_slot capture_slot;
	int failed;
	int finished;
	int events;                     /* tokens completed in the current slice */
	size_t gap;                     /* bytes fed since a token last completed */
	/*
	 * A warning, confirmation or link handed on, NUL-terminated: made on
	 * first use, since most pages have none (and a parser small enough
	 * for the allocator's fast path).
	 */
	char *text;
	char err[EXO_CODEC_ERRLEN];
};

/* ---- result page parser ---- */

__attribute__((format(printf, 2, 3)))
static int
exo_fail(struct exo_parser *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		/* clang-tidy 14 misreads glibc's va_list after va_start. */
		/* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized) */
		vsnprintf(p->err, sizeof(p->err), fmt, ap);
		va_end(ap);
		p->failed = 1;
	}
	return 0;
}

static yajl_gen
exo_gen_new(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g != NULL)
		yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

static yajl_gen_status
exo_gen_scalar(yajl_gen g, enum exo_scalar t, const char *s, size_t len)
{
	switch (t) {
	case EXO_T_NULL:
		return yajl_gen_null(g);
	case EXO_T_TRUE:
		return yajl_gen_bool(g, 1);
	case EXO_T_FALSE:
		return yajl_gen_bool(g, 0);
	case EXO_T_NUMBER:
		return yajl_gen_number(g, s, len);
	case EXO_T_STRING:
		return yajl_gen_string(g, (const unsigned char *)s, len);
	}
	return yajl_gen_invalid_string;
}

/* The generator, made on first use: records that pass as sent never need one. */
static int
exo_gen_ready(struct exo_parser *p)
{
	if (p->gen == NULL && (p->gen = exo_gen_new()) == NULL)
		return exo_fail(p, "out of memory");
	return 1;
}

/* Checks a generator step and the size of the record so far. */
static int
exo_gen_check(struct exo_parser *p, yajl_gen_status st)
{
	const unsigned char *buf;
	size_t len;

	if (st != yajl_gen_status_ok)
		return exo_fail(p, "cannot re-serialize a record (yajl_gen status %d)", (int)st);
	yajl_gen_get_buf(p->gen, &buf, &len);
	if (len > EXO_MAX_RECORD)
		return exo_fail(p, "a record is larger than %d bytes", EXO_MAX_RECORD);
	return 1;
}

/* Empties the record buffer; one that grew large is freed so that memory stays flat. */
static int
exo_gen_recycle(struct exo_parser *p, size_t used)
{
	if (used > EXO_CODEC_GEN_KEEP) {
		yajl_gen_free(p->gen);
		p->gen = exo_gen_new();
		if (p->gen == NULL)
			return exo_fail(p, "out of memory");
		return 1;
	}
	yajl_gen_clear(p->gen);
	yajl_gen_reset(p->gen, NULL);
	return 1;
}

static int
exo_is_paging_warning(const char *s, size_t len)
{
	size_t plen = sizeof(exo_paging_warning) - 1;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	return len >= plen && memcmp(s, exo_paging_warning, plen) == 0;
}

/* The text buffer (EXO_CODEC_TEXT_MAX bytes and a NUL), or NULL with the parse failed. */
static char *
exo_text_buf(struct exo_parser *p)
{
	if (p->text == NULL && (p->text = malloc(EXO_CODEC_TEXT_MAX + 1)) == NULL)
		exo_fail(p, "out of memory");
	return p->text;
}

/* Copies s into the text buffer: NUL-terminated, cut to EXO_MAX_WARNING bytes; -1 out of memory. */
static long
exo_msg(struct exo_parser *p, const char *s, size_t len)
{
	if (exo_text_buf(p) == NULL)
		return -1;
	return (long)utf8_copy(p->text, EXO_MAX_WARNING + 1, s, len);
}

/* Passes one warning on, marking the paging warning. */
static int
exo_warning(struct exo_parser *p, const char *s, size_t len)
{
	long n = exo_msg(p, s, len);

	if (n < 0)
		return 0;
	if (p->cbs.warning != NULL &&
	    p->cbs.warning(p->arg, p->text, (size_t)n, exo_is_paging_warning(s, len)) != 0)
		return exo_fail(p, "stopped by the warning callback");
	return 1;
}

/* Passes one @adminapi.confirmationmessage on (the "What if: ..." text). */
static int
exo_confirmation(struct exo_parser *p, const char *s, size_t len)
{
	long n = exo_msg(p, s, len);

	if (n < 0)
		return 0;
	if (p->cbs.confirmation != NULL && p->cbs.confirmation(p->arg, p->text, (size_t)n) != 0)
		return exo_fail(p, "stopped by the confirmation callback");
	return 1;
}

/* Text under a top-level key that carries messages: warnings or confirmations. */
static int
exo_text_slot(struct exo_parser *p, const char *s, size_t len)
{
	return p->slot == EXO_SLOT_CONFIRM ? exo_confirmation(p, s, len) : exo_warning(p, s, len);
}

static int
exo_link(struct exo_parser *p, const char *s, size_t len)
{
	if (len == 0)
		return 1;
	if (len > EXO_MAX_LINK)
		return exo_fail(p, "@odata.nextLink is longer than %d bytes", EXO_MAX_LINK);
	if (memchr(s, '\0', len) != NULL)
		return exo_fail(p, "@odata.nextLink contains a NUL byte");
	if (exo_text_buf(p) == NULL)
		return 0;
	memcpy(p->text, s, len);
	p->text[len] = '\0';
	if (p->cbs.next_link != NULL && p->cbs.next_link(p->arg, p->text, len) != 0)
		return exo_fail(p, "stopped by the next_link callback");
	return 1;
}

/* Hands the finished record (or @adminapi.errors element) on and empties the buffer. */
static int
exo_emit(struct exo_parser *p, enum exo_slot slot)
{
	const unsigned char *buf;
	size_t len;
	int stop = 0;

	yajl_gen_get_buf(p->gen, &buf, &len);
	if (slot == EXO_SLOT_ERRORS && p->cbs.error != NULL)
		stop = p->cbs.error(p->arg, (const char *)buf, len);
	else if (slot == EXO_SLOT_VALUE && p->cbs.record != NULL)
		stop = p->cbs.record(p->arg, (const char *)buf, len);
	if (!exo_gen_recycle(p, len))
		return 0;
	if (stop)
		return exo_fail(p, "stopped by the %s callback", slot == EXO_SLOT_ERRORS ? "error"
											  : "record");
	return 1;
}

/*
 * Text that is not UTF-8 (RFC 3629, stricter than yajl's own check) gets
 * U+FFFD for each bad byte, as the module's .NET decoder would show it, so
 * that every line exod writes is valid UTF-8.  The rare repaired copy is
 * handed to fn and freed.  fn's answer, or -1 when out of memory.
 */
static int
exo_text(void *ctx, const unsigned char *s, size_t len,
	 int (*fn)(void *ctx, const char *s, size_t len))
{
	char *fixed;
	int rc;

	if (utf8_valid(s, len))
		return fn(ctx, (const char *)s, len);
	fixed = malloc(len * 3);
	if (fixed == NULL)
		return -1;
	rc = fn(ctx, fixed, utf8_repair(s, len, fixed));
	free(fixed);
	return rc;
}

/* ---- records passed on as sent ---- */

static int
exo_raw_append(struct exo_parser *p, const char *s, size_t len)
{
	struct exo_raw *r = &p->raw;

	if (len > EXO_MAX_RECORD || r->len > EXO_MAX_RECORD - len)
		return exo_fail(p, "a record is larger than %d bytes", EXO_MAX_RECORD);
	if (r->len + len > r->cap) {
		size_t cap = r->cap > 0 ? r->cap : EXO_CODEC_RAW_FIRST;
		char *grown;

		while (cap < r->len + len)
			cap *= 2;
		if ((grown = realloc(r->buf, cap)) == NULL)
			return exo_fail(p, "out of memory");
		r->buf = grown;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, s, len);
	r->len += len;
	return 1;
}

/* Empties the record buffer; one that grew large is freed so that memory stays flat. */
static void
exo_raw_reset(struct exo_raw *r)
{
	if (r->cap > EXO_CODEC_GEN_KEEP) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
	r->len = 0;
}

/* "\uXXXX" at s names a UTF-16 surrogate of the kind: 0x8 high (D800-DBFF), 0xC low (DC00-DFFF). */
static int
exo_surrogate(const char *s, const char *end, int kind)
{
	return end - s >= 6 && s[0] == '\\' && s[1] == 'u' && (s[2] | 0x20) == 'd' &&
	       (strchr(kind == 0x8 ? "89abAB" : "cdefCDEF", s[3]) != NULL);
}

/*
 * An escaped surrogate not in a high-low pair: yajl turns it into '?' or
 * bytes that are not UTF-8, so the record is re-serialized and repaired.
 */
static int
exo_has_lone_surrogate(const char *s, size_t len)
{
	const char *end = s + len, *b = s;

	while ((b = memchr(b, '\\', (size_t)(end - b))) != NULL && end - b >= 2) {
		if (exo_surrogate(b, end, 0xC))
			return 1;
		if (exo_surrogate(b, end, 0x8)) {
			if (!exo_surrogate(b + 6, end, 0xC))
				return 1;
			b += 12;
			continue;
		}
		b += 2;                 /* over the escape's second byte: "\\\\" is one backslash */
	}
	return 0;
}

/*
 * Whether the bytes as sent are what the re-serializer would mean: valid
 * UTF-8 (outside its strings yajl takes only ASCII, and escapes are
 * ASCII, so one pass over the record checks every string as sent), one
 * line (a newline may only be whitespace between tokens: yajl refuses one
 * in a string), and no lone escaped surrogate to repair.
 */
static int
exo_raw_ok(const char *s, size_t len)
{
	return memchr(s, '\n', len) == NULL && memchr(s, '\r', len) == NULL && utf8_valid(s, len) &&
	       !exo_has_lone_surrogate(s, len);
}

static int
exo_re_null(void *g)
{
	return yajl_gen_null(g) == yajl_gen_status_ok;
}

static int
exo_re_boolean(void *g, int b)
{
	return yajl_gen_bool(g, b) == yajl_gen_status_ok;
}

static int
exo_re_number(void *g, const char *s, size_t len)
{
	return yajl_gen_number(g, s, len) == yajl_gen_status_ok;
}

static int
exo_re_text(void *g, const char *s, size_t len)
{
	return yajl_gen_string(g, (const unsigned char *)s, len) == yajl_gen_status_ok;
}

/* A string or key, repaired as exo_text does. */
static int
exo_re_string(void *g, const unsigned char *s, size_t len)
{
	return exo_text(g, s, len, exo_re_text) > 0;
}

static int
exo_re_map_open(void *g)
{
	return yajl_gen_map_open(g) == yajl_gen_status_ok;
}

static int
exo_re_map_close(void *g)
{
	return yajl_gen_map_close(g) == yajl_gen_status_ok;
}

static int
exo_re_array_open(void *g)
{
	return yajl_gen_array_open(g) == yajl_gen_status_ok;
}

static int
exo_re_array_close(void *g)
{
	return yajl_gen_array_close(g) == yajl_gen_status_ok;
}

static const yajl_callbacks exo_re_callbacks = {
	.yajl_null = exo_re_null,
	.yajl_boolean = exo_re_boolean,
	.yajl_number = exo_re_number,
	.yajl_string = exo_re_string,
	.yajl_start_map = exo_re_map_open,
	.yajl_map_key = exo_re_string,
	.yajl_end_map = exo_re_map_close,
	.yajl_start_array = exo_re_array_open,
	.yajl_end_array = exo_re_array_close,
};

/* The rare record that cannot pass as sent, written compact and repaired into p->gen. */
static int
exo_reserialize(struct exo_parser *p, const char *s, size_t len)
{
	yajl_handle h;
	yajl_status st = yajl_status_error;

	if (!exo_gen_ready(p))
		return 0;
	if ((h = yajl_alloc(&exo_re_callbacks, NULL, p->gen)) != NULL) {
		yajl_config(h, yajl_dont_validate_strings, 1);
		st = yajl_parse(h, (const unsigned char *)s, len);
		if (st == yajl_status_ok)
			st = yajl_complete_parse(h);
		yajl_free(h);
	}
	if (st != yajl_status_ok)
		return exo_fail(p, "cannot re-serialize a record");
	return exo_gen_check(p, yajl_gen_status_ok);
}

/* A captured record or error ends at offset end of the slice: pass it on. */
static int
exo_emit_raw(struct exo_parser *p, enum exo_slot slot, size_t end)
{
	const char *rec = p->slice + p->raw.from;
	size_t len = end - p->raw.from;
	int stop = 0;

	if (p->raw.len > 0) {
		if (!exo_raw_append(p, rec, len))
			return 0;
		rec = p->raw.buf;
		len = p->raw.len;
	} else if (len > EXO_MAX_RECORD) {
		return exo_fail(p, "a record is larger than %d bytes", EXO_MAX_RECORD);
	}
	if (!exo_raw_ok(rec, len)) {
		int ok = exo_reserialize(p, rec, len);

		exo_raw_reset(&p->raw);
		return ok && exo_emit(p, slot);
	}
	if (slot == EXO_SLOT_ERRORS && p->cbs.error != NULL)
		stop = p->cbs.error(p->arg, rec, len);
	else if (slot == EXO_SLOT_VALUE && p->cbs.record != NULL)
		stop = p->cbs.record(p->arg, rec, len);
	exo_raw_reset(&p->raw);
	if (stop)
		return exo_fail(p, "stopped by the %s callback", slot == EXO_SLOT_ERRORS ? "error"
											  : "record");
	return 1;
}

static enum exo_slot
exo_slot_for(const char *key, size_t len)
{
	static const struct {
		const char *key;
		enum exo_slot slot;
	} map[] = {
		{ "value", EXO_SLOT_VALUE },
		{ "@adminapi.warnings", EXO_SLOT_WARNINGS },
		{ "@adminapi.errors", EXO_SLOT_ERRORS },
		{ "@adminapi.confirmationmessage", EXO_SLOT_CONFIRM },
		{ "@odata.nextLink", EXO_SLOT_LINK },
	};
	size_t i;

	for (i = 0; i < EXO_NELEM(map); i++)
		if (strlen(map[i].key) == len && memcmp(map[i].key, key, len) == 0)
			return map[i].slot;
	return EXO_SLOT_NONE;
}

/* A scalar directly under a top-level key. */
static int
exo_top_scalar(struct exo_parser *p, enum exo_scalar t, const char *s, size_t len)
{
	switch (p->slot) {
	case EXO_SLOT_VALUE:
		if (t != EXO_T_NULL)
			return exo_fail(p, "\"value\" is not an array");
		return 1;
	case EXO_SLOT_WARNINGS:
	case EXO_SLOT_CONFIRM:
		if (t == EXO_T_STRING)
			return exo_text_slot(p, s, len);
		return 1;
	case EXO_SLOT_ERRORS:
		/* One error not in an array: passed on like an element. */
		if (t == EXO_T_NULL)
			return 1;
		if (!exo_gen_ready(p) || !exo_gen_check(p, exo_gen_scalar(p->gen, t, s, len)))
			return 0;
		return exo_emit(p, EXO_SLOT_ERRORS);
	case EXO_SLOT_LINK:
		if (t == EXO_T_STRING)
			return exo_link(p, s, len);
		if (t != EXO_T_NULL)
			return exo_fail(p, "@odata.nextLink is not a string");
		return 1;
	case EXO_SLOT_NONE:
		break;
	}
	return 1;
}

/* A scalar element of a top-level array. */
static int
exo_elem_scalar(struct exo_parser *p, enum exo_scalar t, const char *s, size_t len)
{
	switch (p->slot) {
	case EXO_SLOT_VALUE:
	case EXO_SLOT_ERRORS:
		if (p->slot == EXO_SLOT_ERRORS && t == EXO_T_NULL)
			return 1;
		if (!exo_gen_ready(p) || !exo_gen_check(p, exo_gen_scalar(p->gen, t, s, len)))
			return 0;
		return exo_emit(p, p->slot);
	case EXO_SLOT_WARNINGS:
	case EXO_SLOT_CONFIRM:
		if (t == EXO_T_STRING)
			return exo_text_slot(p, s, len);
		return 1;
	case EXO_SLOT_LINK:
	case EXO_SLOT_NONE:
		break;
	}
	return 1;
}

static int
exo_scalar(struct exo_parser *p, enum exo_scalar t, const char *s, size_t len)
{
	p->events++;
	if (p->capture >= 0)
		return 1;       /* part of a record: passed on as sent */
	switch (p->depth) {
	case 0:
		return exo_fail(p, "the response is not a JSON object");
	case 1:
		return exo_top_scalar(p, t, s, len);
	case 2:
		return exo_elem_scalar(p, t, s, len);
	default:
		return 1;
	}
}

/* A container opening directly under a top-level key. */
static int
exo_top_open(struct exo_parser *p, int is_map)
{
	switch (p->slot) {
	case EXO_SLOT_VALUE:
		if (is_map)
			return exo_fail(p, "\"value\" is not an array");
		return 1;
	case EXO_SLOT_LINK:
		return exo_fail(p, "@odata.nextLink is not a string");
	case EXO_SLOT_WARNINGS:
	case EXO_SLOT_CONFIRM:
		if (is_map)
			p->slot = EXO_SLOT_NONE;
		return 1;
	case EXO_SLOT_ERRORS:
	case EXO_SLOT_NONE:
		break;
	}
	return 1;
}

static int
exo_open(struct exo_parser *p, int is_map)
{
	p->events++;
	if (p->depth >= EXO_CODEC_MAX_DEPTH)
		return exo_fail(p, "JSON nested deeper than %d levels", EXO_CODEC_MAX_DEPTH);
	if (p->capture < 0) {
		if (p->depth == 0 && !is_map)
			return exo_fail(p, "the response is not a JSON object");
		if (p->depth == 1 && !exo_top_open(p, is_map))
			return 0;
		/* Records and errors are captured whole; a lone error object counts as one. */
		if ((p->depth == 2 && (p->slot == EXO_SLOT_VALUE || p->slot == EXO_SLOT_ERRORS)) ||
		    (p->depth == 1 && p->slot == EXO_SLOT_ERRORS && is_map)) {
			p->capture = p->depth;
			p->capture_slot = p->slot;
			/* yajl has just consumed the bracket. */
			p->raw.from = yajl_get_bytes_consumed(p->yh) - 1;
		}
	}
	p->depth++;
	return 1;
}

static int
exo_close(struct exo_parser *p)
{
	p->events++;
	p->depth--;
	if (p->capture < 0) {
		if (p->depth <= 1)
			p->slot = EXO_SLOT_NONE;
		return 1;
	}
	if (p->depth > p->capture)
		return 1;
	p->capture = -1;
	return exo_emit_raw(p, p->capture_slot, yajl_get_bytes_consumed(p->yh));
}

static int
exo_cb_null(void *ctx)
{
	return exo_scalar(ctx, EXO_T_NULL, NULL, 0);
}

static int
exo_cb_boolean(void *ctx, int b)
{
	return exo_scalar(ctx, b ? EXO_T_TRUE : EXO_T_FALSE, NULL, 0);
}

/* yajl hands numbers over as text, so big and precise numbers pass through unchanged. */
static int
exo_cb_number(void *ctx, const char *s, size_t len)
{
	return exo_scalar(ctx, EXO_T_NUMBER, s, len);
}

static int
exo_string(void *ctx, const char *s, size_t len)
{
	return exo_scalar(ctx, EXO_T_STRING, s, len);
}

static int
exo_key(void *ctx, const char *s, size_t len)
{
	struct exo_parser *p = ctx;

	p->events++;
	if (p->depth == 1)
		p->slot = exo_slot_for(s, len);
	return 1;
}

/* Text outside records (keys, warnings, links), repaired before fn sees it. */
static int
exo_outside_text(struct exo_parser *p, const unsigned char *s, size_t len,
		 int (*fn)(void *ctx, const char *s, size_t len))
{
	int rc = exo_text(p, s, len, fn);

	return rc < 0 ? exo_fail(p, "out of memory") : rc;
}

/* Text inside a record: checked with the whole record (exo_raw_ok), repaired only if re-serialized. */
static int
exo_captured_text(struct exo_parser *p)
{
	p->events++;
	return 1;
}

static int
exo_cb_string(void *ctx, const unsigned char *s, size_t len)
{
	struct exo_parser *p = ctx;

	if (p->capture >= 0)
		return exo_captured_text(p);
	return exo_outside_text(p, s, len, exo_string);
}

static int
exo_cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct exo_parser *p = ctx;

	if (p->capture >= 0)
		return exo_captured_text(p);
	return exo_outside_text(p, s, len, exo_key);
}

static int
exo_cb_start_map(void *ctx)
{
	return exo_open(ctx, 1);
}

static int
exo_cb_end_map(void *ctx)
{
	return exo_close(ctx);
}

static int
exo_cb_start_array(void *ctx)
{
	return exo_open(ctx, 0);
}

static int
exo_cb_end_array(void *ctx)
{
	return exo_close(ctx);
}

static const yajl_callbacks exo_callbacks = {
	.yajl_null = exo_cb_null,
	.yajl_boolean = exo_cb_boolean,
	.yajl_number = exo_cb_number,
	.yajl_string = exo_cb_string,
	.yajl_start_map = exo_cb_start_map,
	.yajl_map_key = exo_cb_map_key,
	.yajl_end_map = exo_cb_end_map,
	.yajl_start_array = exo_cb_start_array,
	.yajl_end_array = exo_cb_end_array,
};

struct exo_parser *
exo_parser_new(const struct exo_parser_cbs *cbs, void *arg)
{
	struct exo_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (cbs != NULL)
		p->cbs = *cbs;
	p->arg = arg;
	p->capture = -1;
	p->yh = yajl_alloc(&exo_callbacks, NULL, p);
	if (p->yh == NULL) {
		exo_parser_free(p);
		return NULL;
	}
	/* exo_text checks strictly and repairs as the module would; yajl would refuse the page. */
	yajl_config(p->yh, yajl_dont_validate_strings, 1);
	return p;
}

/* Records why yajl stopped, unless a callback already said. */
static int
exo_parser_status(struct exo_parser *p, yajl_status st)
{
	unsigned char *msg;
	size_t n;

	if (st == yajl_status_ok)
		return 0;
	if (p->failed)
		return -1;
	msg = yajl_get_error(p->yh, 0, NULL, 0);
	if (msg == NULL) {
		exo_fail(p, "invalid JSON");
		return -1;
	}
	n = strlen((char *)msg);
	while (n > 0 && isspace(msg[n - 1]))
		n--;
	exo_fail(p, "invalid JSON: %.*s", (int)n, (char *)msg);
	yajl_free_error(p->yh, msg);
	return -1;
}

int
exo_parser_feed(struct exo_parser *p, const char *buf, size_t len)
{
	if (p->failed)
		return -1;
	if (p->finished) {
		exo_fail(p, "data after the end of the response");
		return -1;
	}
	/*
	 * yajl buffers a token until it is complete; bounding the bytes fed
	 * without a completed token bounds that buffer.
	 */
	while (len > 0) {
		size_t n = len < EXO_CODEC_FEED_SLICE ? len : EXO_CODEC_FEED_SLICE;

		p->events = 0;
		p->slice = buf;
		if (exo_parser_status(p, yajl_parse(p->yh, (const unsigned char *)buf, n)) != 0)
			return -1;
		/* A record still open keeps this slice's part of it. */
		if (p->capture >= 0) {
			if (!exo_raw_append(p, buf + p->raw.from, n - p->raw.from))
				return -1;
			p->raw.from = 0;
		}
		p->gap = p->events > 0 ? 0 : p->gap + n;
		if (p->gap > EXO_MAX_RECORD) {
			if (p->capture >= 0 || p->slot == EXO_SLOT_VALUE)
				exo_fail(p, "a record is larger than %d bytes", EXO_MAX_RECORD);
			else
				exo_fail(p, "a JSON token is longer than %d bytes", EXO_MAX_RECORD);
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

int
exo_parser_finish(struct exo_parser *p)
{
	if (p->failed)
		return -1;
	if (p->finished)
		return 0;
	if (exo_parser_status(p, yajl_complete_parse(p->yh)) != 0)
		return -1;
	p->finished = 1;
	return 0;
}

const char *
exo_parser_error(const struct exo_parser *p)
{
	return p->err;
}

void
exo_parser_free(struct exo_parser *p)
{
	if (p == NULL)
		return;
	if (p->yh != NULL)
		yajl_free(p->yh);
	if (p->gen != NULL)
		yajl_gen_free(p->gen);
	free(p->raw.buf);
	free(p->text);
	free(p);
}

/* ---- request body ---- */

static int
exo_cmdlet_name_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= EXO_CODEC_MAX_CMDLET)
			return 0;
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	}
	return 1;
}

int
exo_codec_body(const char *cmdlet, const char *params, size_t params_len, struct sbuf **out)
{
	static const char head[] = "{\"CmdletInput\":{\"CmdletName\":\"";
	static const char mid[] = "\",\"Parameters\":";
	struct sbuf *b;
	unsigned char *at;
	size_t name_len, total;

	if (out == NULL)
		return -1;
	*out = NULL;
	/* The name goes in as it is: letters, digits and '-' need no escaping. */
	if (!exo_cmdlet_name_ok(cmdlet) || (params != NULL && (params_len < 2 || params[0] != '{')))
		return -1;
	/* No parameters are {}, never null: the service treats the two differently (§2.4). */
	if (params == NULL) {
		params = "{}";
		params_len = 2;
	}
	name_len = strlen(cmdlet);
	total = sizeof(head) - 1 + name_len + sizeof(mid) - 1 + params_len + 2;
	/* One allocation, the size of the body. */
	if ((b = sbuf_new(0)) == NULL || (at = sbuf_reserve(b, total)) == NULL) {
		sbuf_free(b);
		return -1;
	}
	memcpy(at, head, sizeof(head) - 1);
	at += sizeof(head) - 1;
	memcpy(at, cmdlet, name_len);
	at += name_len;
	memcpy(at, mid, sizeof(mid) - 1);
	at += sizeof(mid) - 1;
	memcpy(at, params, params_len);
	memcpy(at + params_len, "}}", 2);
	sbuf_commit(b, total);
	*out = b;
	return 0;
}

/* ---- error envelope ---- */

static yajl_val
exo_get(yajl_val obj, const char *key)
{
	size_t i;

	if (obj == NULL || !YAJL_IS_OBJECT(obj))
		return NULL;
	for (i = 0; i < obj->u.object.len; i++)
		if (strcasecmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

static const char *
exo_get_str(yajl_val obj, const char *key)
{
	yajl_val v = exo_get(obj, key);

	return v != NULL && YAJL_IS_STRING(v) ? v->u.string : NULL;
}

/* s[0..len) trimmed and cut to max bytes, or NULL when that leaves nothing. */
static char *
exo_text_dup(const char *s, size_t len, size_t max)
{
	if (s == NULL)
		return NULL;
	while (len > 0 && isspace((unsigned char)s[0])) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0)
		return NULL;
	return strndup(s, utf8_cut(s, len, max));
}

static char *
exo_str_dup(const char *s, size_t max)
{
	return s == NULL ? NULL : exo_text_dup(s, strlen(s), max);
}

/* The JSON-string form of details[].message: {"Message":...,"TypeName":...}. */
static int
exo_detail_json(const char *s, char **msg, char **type)
{
	char why[64];
	yajl_val root = jtree_parse(s, strlen(s), why, sizeof(why));

	if (root == NULL)
		return -1;
	if (!YAJL_IS_OBJECT(root)) {
		jtree_free(root);
		return -1;
	}
	*msg = exo_str_dup(exo_get_str(root, "Message"), EXO_CODEC_MAX_ERROR_TEXT);
	*type = exo_str_dup(exo_get_str(root, "TypeName"), EXO_CODEC_MAX_ERROR_NAME);
	jtree_free(root);
	return 0;
}

/*
 * details[0].message without its "|Type|" or "id|Class|" prefix.  A prefix
 * is two '|'-ended words without spaces, so prose holding a '|' survives.
 */
static void
exo_detail_text(const char *s, char **msg, char **type)
{
	const char *id, *cls, *rest;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '{' && exo_detail_json(s, msg, type) == 0)
		return;
	id = s;
	while (*id != '\0' && *id != '|' && !isspace((unsigned char)*id))
		id++;
	cls = id + 1;
	rest = cls;
	if (*id == '|') {
		while (*rest != '\0' && *rest != '|' && !isspace((unsigned char)*rest))
			rest++;
	}
	if (*id == '|' && *rest == '|' && rest > cls) {
		*type = exo_text_dup(cls, (size_t)(rest - cls), EXO_CODEC_MAX_ERROR_NAME);
		s = rest + 1;
	}
	*msg = exo_str_dup(s, EXO_CODEC_MAX_ERROR_TEXT);
}

static void
exo_error_fill(yajl_val err, struct exo_error *out)
{
	yajl_val iex, details;
	char *dmsg = NULL, *dtype = NULL;

	iex = exo_get(exo_get(err, "innererror"), "internalexception");
	details = exo_get(err, "details");
	if (details != NULL && YAJL_IS_ARRAY(details) && details->u.array.len > 0) {
		const char *raw = exo_get_str(details->u.array.values[0], "message");

		if (raw != NULL)
			exo_detail_text(raw, &dmsg, &dtype);
	}
	out->code = exo_str_dup(exo_get_str(err, "code"), EXO_CODEC_MAX_ERROR_NAME);
	out->type = exo_str_dup(exo_get_str(iex, "type"), EXO_CODEC_MAX_ERROR_NAME);
	/* The class named in details[0] is the only type some bodies carry. */
	if (out->type == NULL) {
		out->type = dtype;
		dtype = NULL;
	}
	/* The module's order: details[0].message, then the inner exception, then error.message. */
	out->message = dmsg;
	dmsg = NULL;
	if (out->message == NULL)
		out->message = exo_str_dup(exo_get_str(iex, "message"), EXO_CODEC_MAX_ERROR_TEXT);
	if (out->message == NULL)
		out->message = exo_str_dup(exo_get_str(err, "message"), EXO_CODEC_MAX_ERROR_TEXT);
	free(dmsg);
	free(dtype);
}

void
exo_codec_parse_error(const char *body, size_t len, struct exo_error *out)
{
	char why[64];
	yajl_val root;

	if (out == NULL)
		return;
	out->code = out->message = out->type = NULL;
	/* A 403 body can be kilobytes of NUL bytes (§3.3): not JSON, nothing to take. */
	if (body == NULL || len == 0 || len > EXO_CODEC_MAX_ERROR_BODY)
		return;
	root = jtree_parse(body, len, why, sizeof(why));
	if (root == NULL)
		return;
	exo_error_fill(exo_get(root, "error"), out);
	jtree_free(root);
}

/* The first string member of obj among names (compared without case), or NULL. */
static const char *
exo_first_str(yajl_val obj, const char *const *names)
{
	const char *s = NULL;

	for (; s == NULL && *names != NULL; names++)
		s = exo_get_str(obj, *names);
	return s;
}

void
exo_codec_cmdlet_error(const char *json, size_t len, struct exo_error *out)
{
	static const char *const messages[] = { "Message", "ErrorMessage", "Exception", NULL };
	static const char *const codes[] = { "ErrorCode", "Code", "FullyQualifiedErrorId",
					     "ErrorId", NULL };
	static const char *const types[] = { "TypeName", "Type", "ExceptionType", NULL };
	char why[64];
	yajl_val v;

	out->code = out->message = out->type = NULL;
	if (json == NULL || len == 0 || len > EXO_CODEC_MAX_ERROR_BODY)
		return;
	v = jtree_parse(json, len, why, sizeof(why));
	if (YAJL_IS_STRING(v)) {
		out->message = exo_str_dup(v->u.string, EXO_CODEC_MAX_ERROR_TEXT);
	} else if (YAJL_IS_OBJECT(v)) {
		out->message = exo_str_dup(exo_first_str(v, messages), EXO_CODEC_MAX_ERROR_TEXT);
		out->code = exo_str_dup(exo_first_str(v, codes), EXO_CODEC_MAX_ERROR_NAME);
		out->type = exo_str_dup(exo_first_str(v, types), EXO_CODEC_MAX_ERROR_NAME);
	}
	jtree_free(v);
}

void
exo_error_clear(struct exo_error *e)
{
	if (e == NULL)
		return;
	free(e->code);
	free(e->message);
	free(e->type);
	e->code = e->message = e->type = NULL;
}

int
exo_codec_error_transient(const struct exo_error *e)
{
	size_t i;

	if (e == NULL)
		return 0;
	for (i = 0; i < EXO_NELEM(exo_transient_names); i++) {
		if (e->type != NULL && strstr(e->type, exo_transient_names[i]) != NULL)
			return 1;
		if (e->message != NULL && strstr(e->message, exo_transient_names[i]) != NULL)
			return 1;
	}
	return 0;
}
