/*
 * fuzz_exo_page: the streaming parser of InvokeCommand result pages
 * (daemon/exo_codec.c: exo_parser_new/feed/finish), which reads what
 * Exchange Online sends.  The input is one response body.  It is fed whole,
 * byte by byte (inputs up to 4 KiB), and in slices whose sizes come from
 * the input's first bytes; every split must give the same records,
 * warnings, cmdlet errors, confirmations, nextLink and outcome.  Records
 * and cmdlet errors must be valid JSON (records: one line, strict UTF-8), warnings, confirmations and links
 * NUL-terminated and within their limits.  A last pass stops
 * the parse from a callback and checks that it stays stopped.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "common/utf8.h"
#include "daemon/exo_codec.h"
#include "tests/fuzz/fuzz_util.h"

#define BYTEWISE_MAX 4096       /* larger inputs are not fed one byte at a time (too slow) */

/*
 * What a parse reported, as one transcript: "R<len>:<json>", "W<len>:<text>"
 * ("P" for the paging warning), "E<len>:<json>", "C<len>:<text>", "L<len>:<url>".
 */
struct trace {
	char *buf;
	size_t len, cap;
	size_t events;
	size_t stop_at;                 /* stop (return 1) at this event; 0: never */
};

static void trace_add(struct trace *t, char kind, const char *s, size_t len)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "%c%zu:", kind, len);

	if (t->len + (size_t)n + len + 1 > t->cap) {
		size_t cap = (t->cap + (size_t)n + len + 1) * 2;
		char *b = realloc(t->buf, cap);

		FUZZ_SETUP(b != NULL);
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, head, (size_t)n);
	t->len += (size_t)n;
	if (len > 0)
		memcpy(t->buf + t->len, s, len);
	t->len += len;
	t->buf[t->len++] = '\n';
}

/* A record must be one complete JSON value. */
static int json_valid(const char *s, size_t len)
{
	yajl_handle h = yajl_alloc(NULL, NULL, NULL);
	int ok;

	FUZZ_SETUP(h != NULL);
	yajl_config(h, yajl_allow_partial_values, 0);
	ok = yajl_parse(h, (const unsigned char *)s, len) == yajl_status_ok &&
	     yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok;
}

static int stop_here(struct trace *t)
{
	t->events++;
	return t->stop_at != 0 && t->events >= t->stop_at;
}

static int on_record(void *arg, const char *json, size_t len)
{
	struct trace *t = arg;

	FUZZ_CHECK(json != NULL);
	FUZZ_CHECK(len <= EXO_MAX_RECORD);
	FUZZ_CHECK(json_valid(json, len));
	/* Passed on as sent or written again, a record is one line of strict UTF-8. */
	FUZZ_CHECK(memchr(json, '\n', len) == NULL && memchr(json, '\r', len) == NULL);
	FUZZ_CHECK(utf8_valid(json, len));
	trace_add(t, 'R', json, len);
	return stop_here(t);
}

/* A warning or confirmation: NUL-terminated text within the warning limit. */
static int on_text(struct trace *t, char kind, const char *msg, size_t len)
{
	FUZZ_CHECK(msg != NULL);
	FUZZ_CHECK(msg[len] == '\0');
	FUZZ_CHECK(len <= EXO_MAX_WARNING);
	trace_add(t, kind, msg, len);
	return stop_here(t);
}

static int on_warning(void *arg, const char *msg, size_t len, int paging)
{
	FUZZ_CHECK(!paging || (msg != NULL && strstr(msg, "There are more results available") != NULL));
	return on_text(arg, paging ? 'P' : 'W', msg, len);
}

static int on_error(void *arg, const char *json, size_t len)
{
	struct trace *t = arg;

	FUZZ_CHECK(json != NULL);
	FUZZ_CHECK(len <= EXO_MAX_RECORD);
	FUZZ_CHECK(json_valid(json, len));
	trace_add(t, 'E', json, len);
	return stop_here(t);
}

static int on_confirmation(void *arg, const char *msg, size_t len)
{
	return on_text(arg, 'C', msg, len);
}

static int on_link(void *arg, const char *url, size_t len)
{
	struct trace *t = arg;

	FUZZ_CHECK(url != NULL);
	FUZZ_CHECK(url[len] == '\0');
	FUZZ_CHECK(strlen(url) == len);
	FUZZ_CHECK(len > 0 && len <= EXO_MAX_LINK);
	trace_add(t, 'L', url, len);
	return stop_here(t);
}

static const struct exo_parser_cbs cbs = {
	.record = on_record,
	.warning = on_warning,
	.error = on_error,
	.confirmation = on_confirmation,
	.next_link = on_link,
};

/*
 * Parses data in slices: slice sizes cycle through sizes[0..nsizes)
 * (nsizes 0: one slice).  Returns 0 or -1 like exo_parser_finish, and
 * leaves the callbacks' transcript in *t.
 */
static int parse_split(const uint8_t *data, size_t size, const size_t *sizes, size_t nsizes,
		       struct trace *t)
{
	struct exo_parser *p = exo_parser_new(&cbs, t);
	size_t off = 0, k = 0;
	int rc = 0;

	FUZZ_SETUP(p != NULL);
	FUZZ_CHECK(exo_parser_error(p) != NULL);
	while (off < size && rc == 0) {
		size_t n = nsizes == 0 ? size : sizes[k++ % nsizes];

		if (n > size - off)
			n = size - off;
		rc = exo_parser_feed(p, (const char *)data + off, n);
		off += n;
	}
	if (rc == 0)
		rc = exo_parser_finish(p);
	if (rc != 0) {
		/* Failed: it says why, and stays failed. */
		FUZZ_CHECK(exo_parser_error(p)[0] != '\0');
		FUZZ_CHECK(exo_parser_feed(p, "{}", 2) == -1);
		FUZZ_CHECK(exo_parser_finish(p) == -1);
	} else {
		/* Finished: a second finish is harmless, more data is refused. */
		FUZZ_CHECK(exo_parser_finish(p) == 0);
		FUZZ_CHECK(exo_parser_feed(p, " ", 1) == -1);
	}
	exo_parser_free(p);
	return rc;
}

static void trace_free(struct trace *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

static void same(int rc_a, const struct trace *a, int rc_b, const struct trace *b, const char *what)
{
	if (rc_a == rc_b && a->len == b->len && (a->len == 0 || memcmp(a->buf, b->buf, a->len) == 0))
		return;
	fprintf(stderr, "exo_page: fed %s, the parse differs from the whole feed: rc %d vs %d, "
		"%zu vs %zu events\n", what, rc_b, rc_a, b->events, a->events);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace whole = { 0 }, t = { 0 };
	size_t sizes[8], nsizes = 0, one = 1;
	int rc_whole, rc;

	rc_whole = parse_split(data, size, NULL, 0, &whole);

	if (size <= BYTEWISE_MAX) {
		rc = parse_split(data, size, &one, 1, &t);
		same(rc_whole, &whole, rc, &t, "byte by byte");
		trace_free(&t);
	}

	/* Slices of 1..256 bytes, sizes taken from the first eight bytes of the input. */
	for (size_t i = 0; i < 8 && i < size; i++)
		sizes[nsizes++] = 1 + (size_t)data[i];
	if (nsizes > 0) {
		rc = parse_split(data, size, sizes, nsizes, &t);
		same(rc_whole, &whole, rc, &t, "in slices from its first bytes");
		trace_free(&t);
	}

	/* Stopped by a callback at the last event: it must fail, having reported the same so far. */
	if (whole.events > 0) {
		t.stop_at = whole.events;
		rc = parse_split(data, size, NULL, 0, &t);
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(t.events == whole.events);
		FUZZ_CHECK(t.len == whole.len && memcmp(t.buf, whole.buf, t.len) == 0);
		trace_free(&t);
	}
	trace_free(&whole);
	return 0;
}
