/*
 * Unit tests for daemon/cluster.c's parsers: every answer from Redis is
 * checked for its type and bounds before use, and every notification is
 * split and checked before it reaches a profile.  (The scripts and the
 * connections are tested against a real redis-server: test_cluster.py.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "daemon/cluster.h"

static redisReply integer(long long v)
{
	redisReply r = { .type = REDIS_REPLY_INTEGER, .integer = v };

	return r;
}

static redisReply string(int type, const char *s, size_t len)
{
	redisReply r = { .type = type, .str = (char *)s, .len = len };

	return r;
}

static redisReply bulk(const char *s)
{
	return string(REDIS_REPLY_STRING, s, strlen(s));
}

static void test_int(void **state)
{
	redisReply r = integer(5), s = bulk("5"), nil = { .type = REDIS_REPLY_NIL };
	long long v = -1;

	(void)state;
	assert_int_equal(cluster_reply_int(&r, 0, 5, &v), 0);
	assert_int_equal(v, 5);
	v = -1;
	assert_int_equal(cluster_reply_int(&r, 0, 4, &v), -1);
	assert_int_equal(cluster_reply_int(&r, 6, 9, &v), -1);
	/* The same number as text, a nil, or nothing at all: not an integer answer. */
	assert_int_equal(cluster_reply_int(&s, 0, 9, &v), -1);
	assert_int_equal(cluster_reply_int(&nil, 0, 9, &v), -1);
	assert_int_equal(cluster_reply_int(NULL, 0, 9, &v), -1);
	assert_int_equal(v, -1);
}

static void test_array(void **state)
{
	redisReply a = integer(1), b = bulk("x");
	redisReply *two[] = { &a, &b }, *holed[] = { &a, NULL };
	redisReply arr = { .type = REDIS_REPLY_ARRAY, .elements = 2, .element = two };
	redisReply bad = { .type = REDIS_REPLY_ARRAY, .elements = 2, .element = holed };
	redisReply none = { .type = REDIS_REPLY_ARRAY, .elements = 3, .element = NULL };
	redisReply empty = { .type = REDIS_REPLY_ARRAY };

	(void)state;
	assert_int_equal(cluster_reply_array(&arr, 2, 2), 0);
	assert_int_equal(cluster_reply_array(&arr, 0, 1), -1);
	assert_int_equal(cluster_reply_array(&arr, 3, 4), -1);
	assert_int_equal(cluster_reply_array(&bad, 2, 2), -1);
	assert_int_equal(cluster_reply_array(&none, 0, 9), -1);
	assert_int_equal(cluster_reply_array(&empty, 0, 9), 0);
	assert_int_equal(cluster_reply_array(&a, 0, 9), -1);
	assert_int_equal(cluster_reply_array(NULL, 0, 9), -1);
}

static void test_strings(void **state)
{
	static const char sealed[] = "EXODRTC\x01\0\xff";
	redisReply blob = string(REDIS_REPLY_STRING, sealed, sizeof(sealed) - 1);
	redisReply status = string(REDIS_REPLY_STATUS, "PONG", 4);
	redisReply err = string(REDIS_REPLY_ERROR, "NOSCRIPT No matching script", 27);
	const char *s = NULL;
	size_t len = 0;

	(void)state;
	/* Bytes with a length: a sealed sign-in may hold NUL bytes. */
	assert_int_equal(cluster_reply_str(&blob, 10, &s, &len), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(s, sealed, 10);
	assert_int_equal(cluster_reply_str(&blob, 9, &s, &len), -1);
	assert_int_equal(cluster_reply_str(&status, 10, &s, &len), -1);
	assert_int_equal(cluster_reply_str(&err, 100, &s, &len), -1);
	assert_int_equal(cluster_reply_status(&status, "PONG"), 0);
	assert_int_equal(cluster_reply_status(&status, "PON"), -1);
	assert_int_equal(cluster_reply_status(&status, "OK"), -1);
	assert_int_equal(cluster_reply_status(&blob, "PONG"), -1);
	assert_int_equal(cluster_reply_status(&err, "NOSCRIPT"), -1);
}

static void test_names_and_digits(void **state)
{
	redisReply ok = bulk("web-1.example"), blank = bulk("a b"), ctl = bulk("a\nb");
	redisReply empty = bulk(""), nul = string(REDIS_REPLY_STRING, "a\0b", 3);
	redisReply long_name = bulk("0123456789012345678901234567890123456789012345678901234567890123"
				    "4");
	redisReply digits = bulk("12345678"), neg = bulk("-1"), huge = bulk("99999999999999999999");
	char name[65];
	long long v = 0;

	(void)state;
	assert_int_equal(cluster_reply_name(&ok, name, sizeof(name)), 0);
	assert_string_equal(name, "web-1.example");
	assert_int_equal(cluster_reply_name(&ok, name, 5), -1);         /* does not fit */
	assert_int_equal(cluster_reply_name(&blank, name, sizeof(name)), -1);
	assert_int_equal(cluster_reply_name(&ctl, name, sizeof(name)), -1);
	assert_int_equal(cluster_reply_name(&empty, name, sizeof(name)), -1);
	assert_int_equal(cluster_reply_name(&nul, name, sizeof(name)), -1);
	assert_int_equal(cluster_reply_name(&long_name, name, sizeof(name)), -1);
	assert_int_equal(cluster_reply_digits(&digits, 100000000, &v), 0);
	assert_int_equal(v, 12345678);
	assert_int_equal(cluster_reply_digits(&digits, 1000, &v), -1);
	assert_int_equal(cluster_reply_digits(&neg, 1000, &v), -1);
	assert_int_equal(cluster_reply_digits(&huge, 1000000000000LL, &v), -1);
	assert_int_equal(cluster_reply_digits(&empty, 1000, &v), -1);
}

static int note(const char *s, struct cluster_note *n)
{
	return cluster_parse_note(s, strlen(s), n);
}

static void test_notes(void **state)
{
	struct cluster_note n;
	char big[CLUSTER_MAX_MESSAGE + 64];

	(void)state;
	assert_int_equal(note("free a/0011aabb/1 contoso@contoso.onmicrosoft.com", &n), 0);
	assert_string_equal(n.kind, "free");
	assert_string_equal(n.ticket, "a/0011aabb/1");
	assert_string_equal(n.id, "contoso@contoso.onmicrosoft.com");
	assert_int_equal(n.ms, 0);
	assert_int_equal(note("throttle b/ff/2 p@t.example 30000", &n), 0);
	assert_int_equal(n.ms, 30000);
	assert_int_equal(note("logout b/ff/2 p@t.example", &n), 0);
	/* Each refusal: an unknown kind, a hold out of bounds or where none belongs, bad words. */
	assert_int_equal(note("evict b/ff/2 p@t.example", &n), -1);
	assert_int_equal(note("throttle b/ff/2 p@t.example", &n), -1);
	assert_int_equal(note("throttle b/ff/2 p@t.example 0", &n), -1);
	assert_int_equal(note("throttle b/ff/2 p@t.example 300001", &n), -1);
	assert_int_equal(note("throttle b/ff/2 p@t.example -5", &n), -1);
	assert_int_equal(note("throttle b/ff/2 p@t.example 5x", &n), -1);
	assert_int_equal(note("login b/ff/2 p@t.example 5", &n), -1);
	assert_int_equal(note("login b/ff/2 p@t.example 5 6", &n), -1);
	assert_int_equal(note("login b/ff/2", &n), -1);
	assert_int_equal(note("login  b/ff/2 p@t.example", &n), -1);
	assert_int_equal(note("login b/ff/2 p@t.example ", &n), -1);
	assert_int_equal(note("login b;ff/2 p@t.example", &n), -1);
	assert_int_equal(note("login b/ff/2 p\"@t.example", &n), -1);
	assert_int_equal(note("", &n), -1);
	assert_int_equal(cluster_parse_note("free a/1 p@t\0x", 14, &n), -1);
	memset(big, 'a', sizeof(big));
	memcpy(big, "free a/1 ", 9);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(note(big, &n), -1);
}

/* Reads one reply from text with exod's builders: 1 and *out, 0 when more is awaited, -1 failed. */
static int read_bounded(const char *text, size_t len, redisReply **out)
{
	redisReader *rd = redisReaderCreate();
	void *reply = NULL;
	int rc;

	assert_non_null(rd);
	cluster_reader_bound(rd);
	assert_int_equal(redisReaderFeed(rd, text, len), REDIS_OK);
	rc = redisReaderGetReply(rd, &reply);
	redisReaderFree(rd);
	*out = reply;
	return rc != REDIS_OK ? -1 : reply != NULL;
}

/* A server may announce any length: the builders refuse what no answer of exod's needs. */
static void test_reader_bounds(void **state)
{
	static const char ok[] = "*3\r\n:2\r\n$4\r\nweb1\r\n$-1\r\n";
	static const char huge_array[] = "*2000000000\r\n";
	size_t n = CLUSTER_MAX_REPLY_ELEMENTS + 1, len;
	char *wide = malloc(32 + n * 4);
	redisReply *r;

	(void)state;
	assert_int_equal(read_bounded(ok, sizeof(ok) - 1, &r), 1);
	assert_int_equal(cluster_reply_array(r, 3, 3), 0);
	assert_int_equal(r->element[0]->integer, 2);
	assert_string_equal(r->element[1]->str, "web1");
	assert_int_equal(r->element[2]->type, REDIS_REPLY_NIL);
	freeReplyObject(r);
	/* Refused at once, not awaited: hiredis alone would ask for 16 GB. */
	assert_int_equal(read_bounded(huge_array, sizeof(huge_array) - 1, &r), -1);
	/* One element more than the bound, all of them sent: refused too. */
	assert_non_null(wide);
	len = (size_t)snprintf(wide, 32, "*%zu\r\n", n);
	for (size_t i = 0; i < n; i++, len += 4)
		memcpy(wide + len, ":1\r\n", 4);
	assert_int_equal(read_bounded(wide, len, &r), -1);
	/* At the bound it is read. */
	len = (size_t)snprintf(wide, 32, "*%zu\r\n", n - 1);
	for (size_t i = 0; i < n - 1; i++, len += 4)
		memcpy(wide + len, ":1\r\n", 4);
	assert_int_equal(read_bounded(wide, len, &r), 1);
	assert_int_equal(r->elements, n - 1);
	freeReplyObject(r);
	free(wide);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_array),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_names_and_digits),
		cmocka_unit_test(test_notes),
		cmocka_unit_test(test_reader_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
