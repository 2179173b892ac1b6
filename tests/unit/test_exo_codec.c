/* Unit tests for the InvokeCommand codec: body, streaming page parser, error envelope. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/sbuf.h"
#include "common/utf8.h"
#include "daemon/exo_codec.h"

#define LOG_MAX 64

/*
 * Everything the parser reported, in order: "R:<json>", "W:<text>", "P:<text>"
 * (the paging warning), "E:<json>" (a cmdlet error), "C:<text>" (a
 * confirmation), "L:<url>".
 */
struct evlog {
	char *ev[LOG_MAX];
	size_t n;
	size_t records;
	size_t stop_after_records;      /* 0: never stop */
	int stop_on_warning;
	int stop_on_error;
	int stop_on_link;
	int nul_terminated;             /* every warning/link arrived NUL-terminated */
};

static void
log_add(struct evlog *lg, char kind, const char *s, size_t len)
{
	char *e;

	assert_true(lg->n < LOG_MAX);
	e = malloc(len + 3);
	assert_non_null(e);
	e[0] = kind;
	e[1] = ':';
	memcpy(e + 2, s, len);
	e[len + 2] = '\0';
	lg->ev[lg->n++] = e;
}

static void
log_clear(struct evlog *lg)
{
	size_t i;

	for (i = 0; i < lg->n; i++)
		free(lg->ev[i]);
	memset(lg, 0, sizeof(*lg));
}

static int
on_record(void *arg, const char *json, size_t len)
{
	struct evlog *lg = arg;

	log_add(lg, 'R', json, len);
	lg->records++;
	return lg->stop_after_records != 0 && lg->records >= lg->stop_after_records;
}

static int
on_warning(void *arg, const char *msg, size_t len, int paging)
{
	struct evlog *lg = arg;

	if (msg[len] != '\0')
		lg->nul_terminated = 0;
	log_add(lg, paging ? 'P' : 'W', msg, len);
	return lg->stop_on_warning;
}

static int
on_error(void *arg, const char *json, size_t len)
{
	struct evlog *lg = arg;

	log_add(lg, 'E', json, len);
	return lg->stop_on_error;
}

static int
on_confirmation(void *arg, const char *msg, size_t len)
{
	struct evlog *lg = arg;

	if (msg[len] != '\0')
		lg->nul_terminated = 0;
	log_add(lg, 'C', msg, len);
	return 0;
}

static int
on_link(void *arg, const char *url, size_t len)
{
	struct evlog *lg = arg;

	if (url[len] != '\0')
		lg->nul_terminated = 0;
	log_add(lg, 'L', url, len);
	return lg->stop_on_link;
}

static const struct exo_parser_cbs test_cbs = {
	on_record, on_warning, on_error, on_confirmation, on_link
};

/* Feeds doc in pieces of chunk bytes; returns what feed/finish returned, copying any error. */
static int
parse_chunked(const char *doc, size_t len, size_t chunk, struct evlog *lg, char *err, size_t errlen)
{
	struct exo_parser *p = exo_parser_new(&test_cbs, lg);
	size_t off = 0;
	int rc = 0;

	assert_non_null(p);
	lg->nul_terminated = 1;
	while (off < len && rc == 0) {
		size_t n = len - off < chunk ? len - off : chunk;

		rc = exo_parser_feed(p, doc + off, n);
		off += n;
	}
	if (rc == 0)
		rc = exo_parser_finish(p);
	if (err != NULL)
		snprintf(err, errlen, "%s", exo_parser_error(p));
	exo_parser_free(p);
	return rc;
}

static int
parse_str(const char *doc, struct evlog *lg, char *err, size_t errlen)
{
	return parse_chunked(doc, strlen(doc), strlen(doc) + 1, lg, err, errlen);
}

static void
assert_log_equal(const struct evlog *a, const struct evlog *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++)
		assert_string_equal(a->ev[i], b->ev[i]);
}

/* Shaped like a live Get-Mailbox page (exo-protocol.md §3.1, §3.2), pretty-printed. */
static const char page_doc[] =
	"{\n"
	"  \"@odata.context\": \"https://outlook.office365.com/adminapi/beta/"
	"8f1c2d3e-0000-4000-8000-123456789abc/$metadata#Collection(Exchange.GenericHashTable)\",\n"
	"  \"adminapi.warnings@odata.type\": \"#Collection(String)\",\n"
	"  \"@adminapi.warnings\": [\n"
	"    \"There are more results available than are currently displayed. To view them, "
	"increase the value for the ResultSize parameter.\",\n"
	"    \"The mailbox \\\"B\\u00fcro\\\" is on hold.\"\n"
	"  ],\n"
	"  \"value\": [\n"
	"    {\n"
	"      \"@odata.type\": \"#Exchange.GenericHashTable\",\n"
	"      \"Identity\": \"user001\",\n"
	"      \"DisplayName\": \"Ren\\u00e9e Dupont\",\n"
	"      \"PrimarySmtpAddress\": \"user001@contoso.onmicrosoft.com\",\n"
	"      \"EmailAddresses\": [\"SMTP:user001@contoso.com\", \"smtp:user001@contoso.onmicrosoft.com\"],\n"
	"      \"ProhibitSendQuota\": \"99 GB (106,300,440,576 bytes)\",\n"
	"      \"RecipientTypeDetails\": \"UserMailbox\",\n"
	"      \"LitigationHoldEnabled\": false,\n"
	"      \"ArchiveGuid\": null,\n"
	"      \"ExtensionCustomAttribute1\": [],\n"
	"      \"MaxSendSize\": 36700160,\n"
	"      \"WhenCreated\": \"2021-03-04T10:11:12Z\"\n"
	"    },\n"
	"    {\n"
	"      \"Identity\": \"user002\",\n"
	"      \"DisplayName\": \"\\u5f20\\u4f1f\",\n"
	"      \"HiddenFromAddressListsEnabled\": true,\n"
	"      \"Ratio\": -0.125e-3,\n"
	"      \"Settings\": {\"Inner\": {\"List\": [1, {\"x\": \"y\"}, [true, null]]}}\n"
	"    },\n"
	"    {\"Identity\": \"user003\", \"Note\": \"tab\\there, slash / quote \\\" backslash \\\\\"}\n"
	"  ],\n"
	"  \"@odata.nextLink\": \"https://outlook.office365.com/adminapi/beta/"
	"8f1c2d3e-0000-4000-8000-123456789abc/InvokeCommand?%24skiptoken=MTAwMA%3d%3d\"\n"
	"}\n";

static const char *const page_expect[] = {
	"P:There are more results available than are currently displayed. To view them, "
	"increase the value for the ResultSize parameter.",
	"W:The mailbox \"B\xc3\xbcro\" is on hold.",
	"R:{\"@odata.type\":\"#Exchange.GenericHashTable\",\"Identity\":\"user001\","
	"\"DisplayName\":\"Ren\xc3\xa9" "e Dupont\",\"PrimarySmtpAddress\":\"user001@contoso.onmicrosoft.com\","
	"\"EmailAddresses\":[\"SMTP:user001@contoso.com\",\"smtp:user001@contoso.onmicrosoft.com\"],"
	"\"ProhibitSendQuota\":\"99 GB (106,300,440,576 bytes)\",\"RecipientTypeDetails\":\"UserMailbox\","
	"\"LitigationHoldEnabled\":false,\"ArchiveGuid\":null,\"ExtensionCustomAttribute1\":[],"
	"\"MaxSendSize\":36700160,\"WhenCreated\":\"2021-03-04T10:11:12Z\"}",
	"R:{\"Identity\":\"user002\",\"DisplayName\":\"\xe5\xbc\xa0\xe4\xbc\x9f\","
	"\"HiddenFromAddressListsEnabled\":true,\"Ratio\":-0.125e-3,"
	"\"Settings\":{\"Inner\":{\"List\":[1,{\"x\":\"y\"},[true,null]]}}}",
	/* One line, valid: passed on as sent, spaces and all. */
	"R:{\"Identity\": \"user003\", \"Note\": \"tab\\there, slash / quote \\\" backslash \\\\\"}",
	"L:https://outlook.office365.com/adminapi/beta/8f1c2d3e-0000-4000-8000-123456789abc/"
	"InvokeCommand?%24skiptoken=MTAwMA%3d%3d",
};

static void
assert_log_is(const struct evlog *lg, const char *const *expect, size_t n)
{
	size_t i;

	assert_int_equal(lg->n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(lg->ev[i], expect[i]);
}

static void
test_page_whole(void **state)
{
	struct evlog lg = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(parse_str(page_doc, &lg, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_log_is(&lg, page_expect, sizeof(page_expect) / sizeof(page_expect[0]));
	assert_true(lg.nul_terminated);
	log_clear(&lg);
}

static void
test_page_every_chunk_size(void **state)
{
	struct evlog whole = { 0 };
	size_t len = strlen(page_doc), chunk;

	(void)state;
	assert_int_equal(parse_str(page_doc, &whole, NULL, 0), 0);
	for (chunk = 1; chunk <= len; chunk++) {
		struct evlog lg = { 0 };

		assert_int_equal(parse_chunked(page_doc, len, chunk, &lg, NULL, 0), 0);
		assert_log_equal(&lg, &whole);
		log_clear(&lg);
	}
	log_clear(&whole);
}

/* Two pieces split at every offset: catches tokens cut at any byte. */
static void
test_page_every_split_point(void **state)
{
	struct evlog whole = { 0 };
	size_t len = strlen(page_doc), at;

	(void)state;
	assert_int_equal(parse_str(page_doc, &whole, NULL, 0), 0);
	for (at = 0; at <= len; at++) {
		struct evlog lg = { 0 };
		struct exo_parser *p = exo_parser_new(&test_cbs, &lg);

		assert_non_null(p);
		assert_int_equal(exo_parser_feed(p, page_doc, at), 0);
		assert_int_equal(exo_parser_feed(p, page_doc + at, len - at), 0);
		assert_int_equal(exo_parser_finish(p), 0);
		exo_parser_free(p);
		assert_log_equal(&lg, &whole);
		log_clear(&lg);
	}
	log_clear(&whole);
}

/* A record is handed on as soon as its closing brace arrives, not at the end of the page. */
static void
test_record_emitted_at_close(void **state)
{
	static const char doc[] = "{\"value\":[{\"a\":{\"b\":1}},{\"c\":2}],\"@odata.nextLink\":\"u\"}";
	struct evlog lg = { 0 };
	struct exo_parser *p = exo_parser_new(&test_cbs, &lg);
	size_t first_close = strlen("{\"value\":[{\"a\":{\"b\":1}}") - 1;
	size_t i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < first_close; i++)
		assert_int_equal(exo_parser_feed(p, doc + i, 1), 0);
	assert_int_equal(lg.records, 0);
	assert_int_equal(exo_parser_feed(p, doc + first_close, 1), 0);
	assert_int_equal(lg.records, 1);
	assert_string_equal(lg.ev[0], "R:{\"a\":{\"b\":1}}");
	assert_int_equal(exo_parser_feed(p, doc + first_close + 1, strlen(doc) - first_close - 1), 0);
	assert_int_equal(exo_parser_finish(p), 0);
	assert_int_equal(lg.records, 2);
	exo_parser_free(p);
	log_clear(&lg);
}

static void
test_warnings_after_value(void **state)
{
	static const char doc[] =
		"{\"value\":[{\"n\":1}],\"@adminapi.warnings\":[\"first\",\"second\"],"
		"\"@odata.context\":\"x\"}";
	static const char *const expect[] = { "R:{\"n\":1}", "W:first", "W:second" };
	struct evlog lg = { 0 };

	(void)state;
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_log_is(&lg, expect, 3);
	log_clear(&lg);
}

/* The paging warning is marked (leading blanks allowed); a warning that only quotes it is not. */
static void
test_paging_warning_marked(void **state)
{
	static const char doc[] =
		"{\"@adminapi.warnings\":[\"  There are more results available than are currently "
		"displayed. To view them, increase the value for the ResultSize parameter.\","
		"\"Note: There are more results available than are currently displayed\"],"
		"\"value\":[]}";
	static const char *const expect[] = {
		"P:  There are more results available than are currently displayed. To view them, "
		"increase the value for the ResultSize parameter.",
		"W:Note: There are more results available than are currently displayed",
	};
	struct evlog lg = { 0 };

	(void)state;
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_log_is(&lg, expect, 2);
	log_clear(&lg);
}

static void
test_value_null_absent_empty(void **state)
{
	static const char *const docs[] = {
		"{\"@adminapi.warnings\":[\"w\"],\"value\":null}",
		"{\"@adminapi.warnings\":[\"w\"]}",
		"{\"@adminapi.warnings\":[\"w\"],\"value\":[]}",
	};
	static const char *const expect[] = { "W:w" };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct evlog lg = { 0 };

		assert_int_equal(parse_str(docs[i], &lg, NULL, 0), 0);
		assert_log_is(&lg, expect, 1);
		log_clear(&lg);
	}
}

/* Only top-level keys count: the same names inside records or other keys are data. */
static void
test_only_top_level_keys(void **state)
{
	static const char doc[] =
		"{\"other\":{\"value\":[{\"no\":1}],\"@odata.nextLink\":\"nope\"},"
		"\"value\":[{\"@odata.nextLink\":\"inner\",\"@adminapi.warnings\":[\"inner\"],"
		"\"value\":[1]}],"
		"\"list\":[{\"value\":[2]}],"
		"\"@adminapi.warnings\":{\"not\":\"an array\"},"
		"\"@odata.nextLink\":null}";
	static const char *const expect[] = {
		"R:{\"@odata.nextLink\":\"inner\",\"@adminapi.warnings\":[\"inner\"],\"value\":[1]}",
	};
	struct evlog lg = { 0 };

	(void)state;
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_log_is(&lg, expect, 1);
	log_clear(&lg);
}

static void
test_scalar_records(void **state)
{
	static const char doc[] = "{\"value\":[1,\"x\",null,true,[1,[]],{}]}";
	static const char *const expect[] = {
		"R:1", "R:\"x\"", "R:null", "R:true", "R:[1,[]]", "R:{}",
	};
	struct evlog lg = { 0 };

	(void)state;
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_log_is(&lg, expect, 6);
	log_clear(&lg);
}

static void
test_adminapi_errors(void **state)
{
	static const char doc[] =
		"{\"value\":[],\"@adminapi.errors\":[\"Couldn't find object \\\"x\\\".\","
		"{\"message\":\"m\",\"code\":5}]}";
	static const char *const expect[] = {
		"E:\"Couldn't find object \\\"x\\\".\"",
		"E:{\"message\":\"m\",\"code\":5}",
	};
	struct evlog lg = { 0 };

	(void)state;
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_log_is(&lg, expect, 2);
	log_clear(&lg);
}

static void
test_confirmation_message(void **state)
{
	static const char doc[] =
		"{\"@adminapi.confirmationmessage\":\"What if: Performing the operation \\\"Set-Mailbox\\\" "
		"on target \\\"alice\\\".\",\"value\":[],\"@adminapi.confirmationmessage2\":\"no\"}";
	static const char *const expect[] = {
		"C:What if: Performing the operation \"Set-Mailbox\" on target \"alice\".",
	};
	struct evlog lg = { 0 };

	(void)state;
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_log_is(&lg, expect, 1);
	log_clear(&lg);
}

/* A document whose deepest container sits at the given depth, the top object counting 1. */
static char *
nested_doc(int depth)
{
	size_t k = (size_t)depth - 2, i;
	char *doc = malloc(2 * k + 32);
	char *q = doc;

	assert_non_null(doc);
	q += sprintf(q, "{\"value\":[");
	for (i = 0; i < k; i++)
		*q++ = '[';
	*q++ = '1';
	for (i = 0; i < k; i++)
		*q++ = ']';
	strcpy(q, "]}");
	return doc;
}

static void
test_depth_limit(void **state)
{
	struct evlog lg = { 0 };
	char err[256];
	char *ok = nested_doc(64), *deep = nested_doc(65);

	(void)state;
	assert_int_equal(parse_str(ok, &lg, err, sizeof(err)), 0);
	assert_int_equal(lg.records, 1);
	log_clear(&lg);
	assert_int_equal(parse_str(deep, &lg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nested deeper than 64"));
	assert_int_equal(lg.records, 0);
	log_clear(&lg);
	free(ok);
	free(deep);
}

/* {"value":[{"small":1},<record of about size bytes made of many strings>,{"after":2}]} */
static char *
big_record_doc(size_t size, int one_string, size_t *len)
{
	size_t cap = size + 256, i;
	char *doc = malloc(cap);
	char *q = doc;

	assert_non_null(doc);
	q += sprintf(q, "{\"value\":[{\"small\":1},");
	if (one_string) {
		*q++ = '"';
		memset(q, 'a', size);
		q += size;
		*q++ = '"';
	} else {
		*q++ = '[';
		for (i = 0; i + 8 < size; i += 8)
			q += sprintf(q, "%s\"abcde\"", i == 0 ? "" : ",");
		*q++ = ']';
	}
	q += sprintf(q, ",{\"after\":2}]}");
	*len = (size_t)(q - doc);
	assert_true(*len < cap);
	return doc;
}

static void
test_record_over_limit(void **state)
{
	struct evlog lg = { 0 };
	char err[256];
	size_t len;
	char *doc;

	(void)state;
	doc = big_record_doc(EXO_MAX_RECORD + 64, 0, &len);
	assert_int_equal(parse_chunked(doc, len, 100000, &lg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "record is larger than"));
	assert_int_equal(lg.records, 1);
	assert_string_equal(lg.ev[0], "R:{\"small\":1}");
	log_clear(&lg);
	free(doc);

	doc = big_record_doc(EXO_MAX_RECORD + 64, 1, &len);
	assert_int_equal(parse_chunked(doc, len, len, &lg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "record is larger than"));
	assert_int_equal(lg.records, 1);
	log_clear(&lg);
	free(doc);
}

/* A token that never ends is refused while it streams in, before it fills memory. */
static void
feed_unterminated(const char *head, const char *want_err)
{
	struct evlog lg = { 0 };
	struct exo_parser *p = exo_parser_new(&test_cbs, &lg);
	size_t chunk = 65536, fed = 0;
	char *buf = malloc(chunk);
	int rc = 0;

	assert_non_null(p);
	assert_non_null(buf);
	memset(buf, 'a', chunk);
	assert_int_equal(exo_parser_feed(p, head, strlen(head)), 0);
	while (rc == 0 && fed < 2 * (size_t)EXO_MAX_RECORD) {
		rc = exo_parser_feed(p, buf, chunk);
		fed += chunk;
	}
	assert_int_equal(rc, -1);
	assert_true(fed <= (size_t)EXO_MAX_RECORD + 2 * chunk);
	assert_non_null(strstr(exo_parser_error(p), want_err));
	assert_int_equal(lg.records, 0);
	exo_parser_free(p);
	free(buf);
}

static void
test_unterminated_token_bounded(void **state)
{
	(void)state;
	feed_unterminated("{\"value\":[\"", "record is larger than");
	feed_unterminated("{\"value\":[{\"k\":\"", "record is larger than");
	feed_unterminated("{\"@odata.context\":\"", "token is longer than");
}

/* A large record under the limit passes, and the records after it are intact. */
static void
test_record_large_but_allowed(void **state)
{
	struct evlog lg = { 0 };
	size_t len;
	char *doc = big_record_doc(EXO_MAX_RECORD / 2, 0, &len);

	(void)state;
	assert_int_equal(parse_chunked(doc, len, 4096, &lg, NULL, 0), 0);
	assert_int_equal(lg.records, 3);
	assert_true(strlen(lg.ev[1]) > EXO_MAX_RECORD / 2 - 16);
	assert_string_equal(lg.ev[2], "R:{\"after\":2}");
	log_clear(&lg);
	free(doc);
}

static void
test_invalid_json(void **state)
{
	static const char *const docs[] = {
		"{\"value\":[{\"a\":1,}]}",
		"{\"value\":[{\"a\":1}]",
		"{\"value\":[{\"a\":1}]}}",
		"{\"value\":[{\"a\":1}]} {}",
		"[{\"a\":1}]",
		"\"value\"",
		"{\"value\":{\"a\":1}}",
		"{\"value\":5}",
		"{\"@odata.nextLink\":[\"x\"]}",
		"{\"@odata.nextLink\":42}",
		"{\"value\":[{\"a\":tru}]}",
		"",
		"   ",
		"<html>Service Unavailable</html>",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct evlog lg = { 0 };
		char err[256];

		assert_int_equal(parse_str(docs[i], &lg, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		log_clear(&lg);
	}
}

/* Once failed, the parser stays failed. */
static void
test_failed_parser_stays_failed(void **state)
{
	struct evlog lg = { 0 };
	struct exo_parser *p = exo_parser_new(&test_cbs, &lg);

	(void)state;
	assert_non_null(p);
	assert_int_equal(exo_parser_feed(p, "{\"value\":[}", 11), -1);
	assert_non_null(strstr(exo_parser_error(p), "invalid JSON"));
	assert_int_equal(exo_parser_feed(p, "]}", 2), -1);
	assert_int_equal(exo_parser_finish(p), -1);
	exo_parser_free(p);
	log_clear(&lg);
}

static void
test_callback_stop(void **state)
{
	static const char doc[] =
		"{\"value\":[{\"a\":1},{\"b\":2},{\"c\":3}],\"@adminapi.warnings\":[\"w1\",\"w2\"],"
		"\"@odata.nextLink\":\"https://x/next\"}";
	struct evlog lg = { 0 };
	char err[256];

	(void)state;
	lg.stop_after_records = 2;
	assert_int_equal(parse_str(doc, &lg, err, sizeof(err)), -1);
	assert_int_equal(lg.n, 2);
	assert_non_null(strstr(err, "record callback"));
	log_clear(&lg);

	lg.stop_on_warning = 1;
	assert_int_equal(parse_str(doc, &lg, err, sizeof(err)), -1);
	assert_int_equal(lg.n, 4);
	assert_string_equal(lg.ev[3], "W:w1");
	assert_non_null(strstr(err, "warning callback"));
	log_clear(&lg);

	lg.stop_on_link = 1;
	assert_int_equal(parse_str(doc, &lg, err, sizeof(err)), -1);
	assert_string_equal(lg.ev[lg.n - 1], "L:https://x/next");
	assert_non_null(strstr(err, "next_link callback"));
	log_clear(&lg);
}

static void
test_null_callbacks(void **state)
{
	struct exo_parser *p = exo_parser_new(NULL, NULL);

	(void)state;
	assert_non_null(p);
	assert_int_equal(exo_parser_feed(p, page_doc, strlen(page_doc)), 0);
	assert_int_equal(exo_parser_finish(p), 0);
	exo_parser_free(p);
}

static void
test_numbers_verbatim(void **state)
{
	static const char doc[] =
		"{\"value\":[{\"big\":12345678901234567890,\"huge\":1.5e300,\"neg\":-0.000000000000000000001,"
		"\"prec\":3.14159265358979323846264338327950288,\"exp\":1E+2,\"zero\":-0}]}";
	static const char *const expect[] = {
		"R:{\"big\":12345678901234567890,\"huge\":1.5e300,\"neg\":-0.000000000000000000001,"
		"\"prec\":3.14159265358979323846264338327950288,\"exp\":1E+2,\"zero\":-0}",
	};
	struct evlog lg = { 0 };

	(void)state;
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_log_is(&lg, expect, 1);
	log_clear(&lg);
}

static void
test_unicode(void **state)
{
	static const char doc[] =
		"{\"value\":[{\"e\":\"\\u00e9\\u4e2d\\ud83d\\ude00\",\"raw\":\"\xc3\xa9\xe4\xb8\xad\","
		"\"ctl\":\"a\\u0001b\\n\",\"sl\":\"\\/\"}],"
		"\"@adminapi.warnings\":[\"\\u00dcber\"]}";
	/* Valid as sent, escapes and a surrogate pair included: passed on unchanged. */
	static const char *const expect[] = {
		"R:{\"e\":\"\\u00e9\\u4e2d\\ud83d\\ude00\",\"raw\":\"\xc3\xa9\xe4\xb8\xad\","
		"\"ctl\":\"a\\u0001b\\n\",\"sl\":\"\\/\"}",
		"W:\xc3\x9c" "ber",
	};
	struct evlog lg = { 0 };

	(void)state;
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_log_is(&lg, expect, 2);
	log_clear(&lg);
}

/*
 * Bytes that are not UTF-8 (yajl lets overlongs and surrogates through)
 * become U+FFFD each, in values, keys and warnings, as the module's .NET
 * decoder shows them; the record stays and every output is valid UTF-8.
 */
static void
test_invalid_utf8_repaired(void **state)
{
	static const char doc[] =
		"{\"value\":[\"\xff\xfe\",{\"k\xc0\xaf\":\"a\xed\xa0\x80" "b\xf4\x90\x80\x80\"}],"
		"\"@adminapi.warnings\":[\"x\x80y\"]}";
	static const char *const expect[] = {
		"R:\"\xef\xbf\xbd\xef\xbf\xbd\"",
		"R:{\"k\xef\xbf\xbd\xef\xbf\xbd\":\"a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		"b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}",
		"W:x\xef\xbf\xbdy",
	};
	struct evlog lg = { 0 };

	(void)state;
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_log_is(&lg, expect, 3);
	for (size_t i = 0; i < lg.n; i++)
		assert_true(utf8_valid(lg.ev[i], strlen(lg.ev[i])));
	log_clear(&lg);
}

/*
 * What cannot pass as sent is written compact and repaired, as before:
 * a record over several lines, a lone escaped surrogate (high or low,
 * yajl makes '?' or bytes that are not UTF-8 of them).
 */
static void
test_reserialized_when_needed(void **state)
{
	static const char doc[] =
		"{\"value\":[{\"a\": 1,\n \"b\": [true,\r\nnull]},"
		"{\"h\":\"x\\ud800y\"},{\"l\":\"x\\udc00y\"},{\"p\":\"\\\\ud800\"},"
		"{\"q\":\"\\ud83d\\u0041\"}]}";
	static const char *const expect[] = {
		"R:{\"a\":1,\"b\":[true,null]}",
		"R:{\"h\":\"x?y\"}",
		"R:{\"l\":\"x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdy\"}",
		/* an escaped backslash, then text: no surrogate at all */
		"R:{\"p\":\"\\\\ud800\"}",
		/* yajl pairs a high surrogate with any escape after it: odd, valid, as before */
		"R:{\"q\":\"\xf0\x9f\x91\x81\"}",
	};
	struct evlog lg = { 0 };

	(void)state;
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_log_is(&lg, expect, 5);
	for (size_t i = 0; i < lg.n; i++)
		assert_true(utf8_valid(lg.ev[i], strlen(lg.ev[i])));
	log_clear(&lg);
}

/* A record larger than a parse slice, fed whole: its bytes come out exactly as they went in. */
static void
test_record_across_slices_exact(void **state)
{
	static const char head[] = "{\"value\":[{\"big\": \"";
	static const char tail[] = "\" ,\t\"n\" : 1 }]}";
	size_t n = 200000, len = strlen(head) + n + strlen(tail);
	char *doc = malloc(len + 1);
	struct evlog lg = { 0 };

	(void)state;
	assert_non_null(doc);
	memcpy(doc, head, strlen(head));
	for (size_t i = 0; i < n; i++)
		doc[strlen(head) + i] = (char)('a' + i % 26);
	memcpy(doc + strlen(head) + n, tail, strlen(tail) + 1);
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_int_equal(lg.records, 1);
	assert_int_equal(strlen(lg.ev[0]), 2 + len - strlen("{\"value\":[") - strlen("]}"));
	assert_memory_equal(lg.ev[0] + 2, doc + strlen("{\"value\":["), strlen(lg.ev[0]) - 2);
	log_clear(&lg);
	free(doc);
}

static void
test_next_link_bounds(void **state)
{
	size_t cap = EXO_MAX_LINK + 64;
	char *doc = malloc(cap);
	struct evlog lg = { 0 };
	char err[256];
	int n;

	(void)state;
	assert_non_null(doc);
	n = snprintf(doc, cap, "{\"@odata.nextLink\":\"https://x/%0*d\"}", EXO_MAX_LINK - 10, 0);
	assert_true(n > 0 && (size_t)n < cap);
	assert_int_equal(parse_str(doc, &lg, err, sizeof(err)), 0);
	assert_int_equal(lg.n, 1);
	assert_int_equal(strlen(lg.ev[0]), 2 + EXO_MAX_LINK);
	log_clear(&lg);

	n = snprintf(doc, cap, "{\"@odata.nextLink\":\"https://x/%0*d\"}", EXO_MAX_LINK - 9, 0);
	assert_true(n > 0 && (size_t)n < cap);
	assert_int_equal(parse_str(doc, &lg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nextLink is longer"));
	assert_int_equal(lg.n, 0);
	log_clear(&lg);

	assert_int_equal(parse_str("{\"@odata.nextLink\":\"a\\u0000b\"}", &lg, err, sizeof(err)), -1);
	assert_int_equal(lg.n, 0);
	log_clear(&lg);
	free(doc);
}

/* A warning over EXO_MAX_WARNING is cut, never in the middle of a UTF-8 sequence. */
static void
test_warning_truncated(void **state)
{
	size_t chars = EXO_MAX_WARNING, i;
	char *doc = malloc(chars * 2 + 64);
	char *q = doc;
	struct evlog lg = { 0 };
	size_t got;

	(void)state;
	assert_non_null(doc);
	q += sprintf(q, "{\"@adminapi.warnings\":[\"x");
	for (i = 0; i < chars; i++) {
		*q++ = '\xc3';
		*q++ = '\xa9';
	}
	strcpy(q, "\"]}");
	assert_int_equal(parse_str(doc, &lg, NULL, 0), 0);
	assert_int_equal(lg.n, 1);
	got = strlen(lg.ev[0]) - 2;
	assert_true(got <= EXO_MAX_WARNING);
	assert_true(got >= EXO_MAX_WARNING - 1);
	/* "x" then whole two-byte characters: an odd length means nothing was split. */
	assert_int_equal(got % 2, 1);
	assert_int_equal((unsigned char)lg.ev[0][2 + got - 1], 0xa9);
	log_clear(&lg);
	free(doc);
}

/* ---- error envelope ---- */

static void
parse_err(const char *body, struct exo_error *e)
{
	exo_codec_parse_error(body, strlen(body), e);
}

static void
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void
assert_error(const struct exo_error *e, const char *code, const char *msg, const char *type)
{
	assert_str_or_null(e->code, code);
	assert_str_or_null(e->message, msg);
	assert_str_or_null(e->type, type);
}

static void
test_cmdlet_error_fields(void **state)
{
	static const struct {
		const char *json, *code, *msg, *type;
	} cases[] = {
		{ "\"Couldn't find object.\"", NULL, "Couldn't find object.", NULL },
		{ "{\"Message\":\"m\",\"ErrorCode\":\"E1\",\"TypeName\":\"T\"}", "E1", "m", "T" },
		{ "{\"message\":\"m\",\"code\":5}", NULL, "m", NULL },
		{ "{\"ErrorMessage\":\"  m2 \",\"FullyQualifiedErrorId\":\"X,Y\"}", "X,Y", "m2", NULL },
		{ "{}", NULL, NULL, NULL },
		{ "[1,2]", NULL, NULL, NULL },
		{ "{\"Message\":\"a", NULL, NULL, NULL },
		{ "", NULL, NULL, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct exo_error e;

		exo_codec_cmdlet_error(cases[i].json, strlen(cases[i].json), &e);
		assert_error(&e, cases[i].code, cases[i].msg, cases[i].type);
		exo_error_clear(&e);
	}
}

/* Shape 1: innererror only (live 400 for a bad enum value). */
static void
test_error_innererror_only(void **state)
{
	static const char body[] =
		"{\"error\":{\"code\":\"BadRequest\",\"message\":\"Invalid Operation\","
		"\"innererror\":{\"message\":\"Invalid Operation\","
		"\"type\":\"Microsoft.Exchange.Admin.OData.Core.ODataServiceException\",\"stacktrace\":\"\","
		"\"internalexception\":{\"message\":\"  Cannot bind parameter 'QuarantineTypes'. "
		"Valid values: Bulk, Spam.\\n\","
		"\"type\":\"Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException\","
		"\"stacktrace\":\"\"}}},"
		"\"adminapi.warnings@odata.type\":\"#Collection(String)\",\"@adminapi.warnings\":[]}";
	struct exo_error e;

	(void)state;
	parse_err(body, &e);
	assert_error(&e, "BadRequest",
		     "Cannot bind parameter 'QuarantineTypes'. Valid values: Bulk, Spam.",
		     "Microsoft.Exchange.AdminApi.CommandInvocation.ParameterTransformationException");
	assert_false(exo_codec_error_transient(&e));
	exo_error_clear(&e);
	assert_error(&e, NULL, NULL, NULL);
}

/* Shape 2: details and innererror; details[0] wins, as the module picks it. */
static void
test_error_details_and_innererror(void **state)
{
	static const char body[] =
		"{\"error\":{\"code\":\"BadRequest\",\"message\":\"Invalid Operation\","
		"\"details\":[{\"code\":\"Client\",\"target\":\"\",\"message\":"
		"\"|Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException|"
		"Parameter set cannot be resolved using the specified named parameters.\"}],"
		"\"innererror\":{\"internalexception\":{\"message\":"
		"\"Parameter set cannot be resolved (inner).\"}}}}";
	struct exo_error e;

	(void)state;
	parse_err(body, &e);
	assert_error(&e, "BadRequest",
		     "Parameter set cannot be resolved using the specified named parameters.",
		     "Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException");
	exo_error_clear(&e);
}

/* details[0] alone, in its three forms. */
static void
test_error_details_forms(void **state)
{
	static const struct {
		const char *body, *msg, *type;
	} cases[] = {
		{ "{\"error\":{\"code\":\"BadRequest\",\"message\":\"Invalid Operation\",\"details\":["
		  "{\"message\":\"|Microsoft.Exchange.Data.StorageTransientException| Try again. \"},"
		  "{\"message\":\"second\"}]}}",
		  "Try again.", "Microsoft.Exchange.Data.StorageTransientException" },
		{ "{\"error\":{\"details\":[{\"message\":"
		  "\"A1B2C3|Microsoft.Exchange.Management.Tasks.ManagementObjectNotFoundException|"
		  "The operation couldn't be performed because object 'x' couldn't be found.\"}]}}",
		  "The operation couldn't be performed because object 'x' couldn't be found.",
		  "Microsoft.Exchange.Management.Tasks.ManagementObjectNotFoundException" },
		{ "{\"error\":{\"details\":[{\"message\":"
		  "\"{\\\"Message\\\":\\\"The object already exists.\\\","
		  "\\\"TypeName\\\":\\\"Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException\\\","
		  "\\\"StackTrace\\\":null,\\\"InnerError\\\":null}\"}]}}",
		  "The object already exists.",
		  "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException" },
		/* prose holding '|' is not a prefix */
		{ "{\"error\":{\"details\":[{\"message\":\"use a | b | c\"}]}}", "use a | b | c", NULL },
		{ "{\"error\":{\"details\":[{\"message\":\"{not json\"}]}}", "{not json", NULL },
		{ "{\"error\":{\"message\":\"fallback\",\"details\":[{\"message\":\"   \"}]}}",
		  "fallback", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct exo_error e;

		parse_err(cases[i].body, &e);
		assert_str_or_null(e.message, cases[i].msg);
		assert_str_or_null(e.type, cases[i].type);
		exo_error_clear(&e);
	}
}

/* Shape 3: message only (401 for a missing role). */
static void
test_error_message_only(void **state)
{
	static const char body[] =
		"{\"error\":{\"code\":\"Unauthorized\",\"message\":\"User is not allowed to call Get-Mailbox\","
		"\"innererror\":{\"message\":\"x\",\"type\":\"Microsoft.Exchange.Admin.OData.Core.ODataServiceException\"}}}";
	struct exo_error e;

	(void)state;
	parse_err(body, &e);
	assert_error(&e, "Unauthorized", "User is not allowed to call Get-Mailbox", NULL);
	exo_error_clear(&e);
}

static void
test_error_garbage(void **state)
{
	static const char *const bodies[] = {
		"",
		"   ",
		"<html><body>Service Unavailable</body></html>",
		"{\"error\":",
		"[1,2,3]",
		"{\"error\":\"just a string\"}",
		"{\"error\":{\"code\":5,\"message\":[\"x\"]}}",
		"{\"notanerror\":{\"code\":\"X\"}}",
	};
	char *nuls = calloc(4096, 1);
	char *deep = malloc(200001);
	struct exo_error e;
	size_t i;

	(void)state;
	assert_non_null(nuls);
	assert_non_null(deep);
	exo_codec_parse_error(nuls, 4096, &e);
	assert_error(&e, NULL, NULL, NULL);
	exo_codec_parse_error(NULL, 0, &e);
	assert_error(&e, NULL, NULL, NULL);
	/* a valid body with a NUL behind it is not trusted either */
	exo_codec_parse_error("{\"error\":{\"code\":\"X\"}}\0", 23, &e);
	assert_error(&e, NULL, NULL, NULL);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		parse_err(bodies[i], &e);
		assert_error(&e, NULL, NULL, NULL);
	}
	memset(deep, '[', 200000);
	deep[200000] = '\0';
	parse_err(deep, &e);
	assert_error(&e, NULL, NULL, NULL);
	exo_codec_parse_error(NULL, 0, NULL);
	exo_error_clear(NULL);
	free(nuls);
	free(deep);
}

static void
test_error_text_bounded(void **state)
{
	size_t n = 10000;
	char *body = malloc(n + 64);
	struct exo_error e;
	int len;

	(void)state;
	assert_non_null(body);
	len = sprintf(body, "{\"error\":{\"code\":\"BadRequest\",\"message\":\"%0*d\"}}", (int)n, 7);
	exo_codec_parse_error(body, (size_t)len, &e);
	assert_non_null(e.message);
	assert_int_equal(strlen(e.message), 4096);
	assert_string_equal(e.code, "BadRequest");
	exo_error_clear(&e);
	free(body);
}

static void
test_error_transient(void **state)
{
	static const struct {
		const char *body;
		int transient;
	} cases[] = {
		{ "{\"error\":{\"code\":\"InternalServerError\",\"innererror\":{\"internalexception\":"
		  "{\"message\":\"Active Directory operation failed.\","
		  "\"type\":\"Microsoft.Exchange.Data.Directory.ADTransientException\"}}}}", 1 },
		{ "{\"error\":{\"innererror\":{\"internalexception\":{\"message\":"
		  "\"Microsoft.Exchange.Data.Directory.DCOverloadedException: busy\"}}}}", 1 },
		{ "{\"error\":{\"details\":[{\"message\":"
		  "\"|Microsoft.Exchange.Data.Directory.SuitabilityDirectoryException|no DC\"}]}}", 1 },
		{ "{\"error\":{\"details\":[{\"message\":\"server is ServerInMMException now\"}]}}", 1 },
		{ "{\"error\":{\"message\":\"ADServerSettingsChangedException\"}}", 1 },
		{ "{\"error\":{\"innererror\":{\"internalexception\":{\"message\":\"x\","
		  "\"type\":\"Microsoft.Exchange.Data.Storage.StorageTransientException\"}}}}", 1 },
		{ "{\"error\":{\"innererror\":{\"internalexception\":{\"message\":\"no such user\","
		  "\"type\":\"Microsoft.Exchange.Management.Tasks.ManagementObjectNotFoundException\"}}}}", 0 },
		{ "{\"error\":{\"code\":\"BadRequest\",\"message\":\"Invalid Operation\"}}", 0 },
		{ "not json", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct exo_error e;

		parse_err(cases[i].body, &e);
		assert_int_equal(exo_codec_error_transient(&e), cases[i].transient);
		exo_error_clear(&e);
	}
	assert_int_equal(exo_codec_error_transient(NULL), 0);
}

/* ---- request body ---- */

static void
assert_body(const char *cmdlet, const char *params_json, const char *want)
{
	struct sbuf *out = NULL;

	assert_int_equal(exo_codec_body(cmdlet, params_json, params_json != NULL ? strlen(params_json) : 0,
					&out), 0);
	assert_non_null(out);
	assert_int_equal(sbuf_len(out), strlen(want));
	assert_string_equal(sbuf_str(out), want);
	sbuf_free(out);
}

static void
test_body_no_params(void **state)
{
	(void)state;
	assert_body("Get-Mailbox", NULL,
		    "{\"CmdletInput\":{\"CmdletName\":\"Get-Mailbox\",\"Parameters\":{}}}");
	assert_body("Get-Mailbox", "{}",
		    "{\"CmdletInput\":{\"CmdletName\":\"Get-Mailbox\",\"Parameters\":{}}}");
}

/* The binder's text goes in as it is, byte for byte. */
static void
test_body_params_as_bound(void **state)
{
	(void)state;
	assert_body("Set-Mailbox",
		    "{\"Identity\":\"a@contoso.com\",\"Big\":12345678901234567890,\"F\":1.5e300,"
		    "\"N\":null,\"R\":[\"UserMailbox\",\"SharedMailbox\"],\"U\":\"\xc3\xa9\","
		    "\"T\":{\"@odata.type\":\"#Exchange.GenericHashTable\",\"k\":1}}",
		    "{\"CmdletInput\":{\"CmdletName\":\"Set-Mailbox\",\"Parameters\":{"
		    "\"Identity\":\"a@contoso.com\",\"Big\":12345678901234567890,\"F\":1.5e300,"
		    "\"N\":null,\"R\":[\"UserMailbox\",\"SharedMailbox\"],\"U\":\"\xc3\xa9\","
		    "\"T\":{\"@odata.type\":\"#Exchange.GenericHashTable\",\"k\":1}}}}");
}

static void
test_body_rejects(void **state)
{
	struct sbuf *out = (struct sbuf *)&state;      /* anything but NULL: a failure clears it */
	char name[256];

	(void)state;
	assert_int_equal(exo_codec_body(NULL, NULL, 0, &out), -1);
	assert_null(out);
	assert_int_equal(exo_codec_body("", NULL, 0, &out), -1);
	assert_int_equal(exo_codec_body("Get-Mailbox\"", NULL, 0, &out), -1);
	assert_int_equal(exo_codec_body("Get Mailbox", NULL, 0, &out), -1);
	/* Parameters are an object, never a list or nothing. */
	assert_int_equal(exo_codec_body("Get-Mailbox", "[1]", 3, &out), -1);
	assert_int_equal(exo_codec_body("Get-Mailbox", "{", 1, &out), -1);
	assert_null(out);
	memset(name, 'A', 200);
	name[200] = '\0';
	assert_int_equal(exo_codec_body(name, NULL, 0, &out), -1);
	assert_null(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_whole),
		cmocka_unit_test(test_page_every_chunk_size),
		cmocka_unit_test(test_page_every_split_point),
		cmocka_unit_test(test_record_emitted_at_close),
		cmocka_unit_test(test_warnings_after_value),
		cmocka_unit_test(test_paging_warning_marked),
		cmocka_unit_test(test_value_null_absent_empty),
		cmocka_unit_test(test_only_top_level_keys),
		cmocka_unit_test(test_scalar_records),
		cmocka_unit_test(test_adminapi_errors),
		cmocka_unit_test(test_confirmation_message),
		cmocka_unit_test(test_cmdlet_error_fields),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_record_over_limit),
		cmocka_unit_test(test_unterminated_token_bounded),
		cmocka_unit_test(test_record_large_but_allowed),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_failed_parser_stays_failed),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_null_callbacks),
		cmocka_unit_test(test_numbers_verbatim),
		cmocka_unit_test(test_unicode),
		cmocka_unit_test(test_reserialized_when_needed),
		cmocka_unit_test(test_record_across_slices_exact),
		cmocka_unit_test(test_invalid_utf8_repaired),
		cmocka_unit_test(test_next_link_bounds),
		cmocka_unit_test(test_warning_truncated),
		cmocka_unit_test(test_error_innererror_only),
		cmocka_unit_test(test_error_details_and_innererror),
		cmocka_unit_test(test_error_details_forms),
		cmocka_unit_test(test_error_message_only),
		cmocka_unit_test(test_error_garbage),
		cmocka_unit_test(test_error_text_bounded),
		cmocka_unit_test(test_error_transient),
		cmocka_unit_test(test_body_no_params),
		cmocka_unit_test(test_body_params_as_bound),
		cmocka_unit_test(test_body_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
