/* Unit tests of exoctl's --query (client/query.c) with libjq, rendered as ndjson or a list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/output.h"
#include "client/query.h"

struct run {
	FILE *fp;
	char *buf;
	size_t len;
	struct output *out;
	struct query *q;
	char err[512];
};

static void run_open(struct run *r, const char *expr, int slurp, enum output_format fmt)
{
	struct output_options opt = { .fmt = fmt };

	memset(r, 0, sizeof(*r));
	r->fp = open_memstream(&r->buf, &r->len);
	assert_non_null(r->fp);
	r->out = output_new(r->fp, &opt);
	assert_non_null(r->out);
	r->q = query_new(expr, slurp, r->err, sizeof(r->err));
	if (r->q == NULL)
		fail_msg("does not compile: %s", r->err);
}

static int run_put(struct run *r, const char *json)
{
	char perr[256];
	yajl_val v = yajl_tree_parse(json, perr, sizeof(perr));
	int rc;

	assert_non_null(v);
	rc = query_record(r->q, v, r->out, r->err, sizeof(r->err));
	yajl_tree_free(v);
	return rc;
}

/* Ends the query and the output as exoctl does, even after a failure; returns what was written. */
static const char *run_end(struct run *r, int *rc)
{
	char err[256];

	if (*rc == QUERY_OK)
		*rc = query_finish(r->q, r->out, r->err, sizeof(r->err));
	assert_int_equal(output_finish(r->out, err, sizeof(err)), 0);
	assert_int_equal(fflush(r->fp), 0);
	return r->buf;
}

static void run_close(struct run *r)
{
	query_free(r->q);
	output_free(r->out);
	fclose(r->fp);
	free(r->buf);
}

static const char *const mailboxes[] = {
	"{\"Name\":\"alice\",\"Size\":3,\"Tags\":[\"a\",\"b\"]}",
	"{\"Name\":\"bob\",\"Size\":1,\"Tags\":[]}",
	"{\"Name\":\"carol\",\"Size\":2,\"Tags\":[\"c\"]}",
	NULL,
};

/* Runs expr over the mailboxes and compares the ndjson written. */
static void check(const char *expr, int slurp, const char *expect)
{
	struct run r;
	int rc = QUERY_OK;

	run_open(&r, expr, slurp, OUTPUT_NDJSON);
	for (size_t i = 0; mailboxes[i] != NULL && rc == QUERY_OK; i++)
		rc = run_put(&r, mailboxes[i]);
	assert_string_equal(run_end(&r, &rc), expect);
	if (rc != QUERY_OK)
		fail_msg("%s: %s", expr, r.err);
	run_close(&r);
}

static void test_per_record(void **state)
{
	(void)state;
	check(".Name", 0, "\"alice\"\n\"bob\"\n\"carol\"\n");
	check("select(.Size > 1) | {Name, big: true}", 0,
	      "{\"Name\":\"alice\",\"big\":true}\n{\"Name\":\"carol\",\"big\":true}\n");
	/* a record may give no value or several */
	check(".Tags[]", 0, "\"a\"\n\"b\"\n\"c\"\n");
	check("empty", 0, "");
}

/* Each record is run and rendered before the next is fed: memory does not grow with the result. */
static void test_streams(void **state)
{
	struct run r;
	int rc;

	(void)state;
	run_open(&r, "{N: .Name}", 0, OUTPUT_NDJSON);
	assert_int_equal(run_put(&r, mailboxes[0]), QUERY_OK);
	assert_int_equal(fflush(r.fp), 0);
	assert_string_equal(r.buf, "{\"N\":\"alice\"}\n");
	assert_int_equal(output_count(r.out), 1);
	rc = run_put(&r, mailboxes[1]);
	assert_string_equal(run_end(&r, &rc), "{\"N\":\"alice\"}\n{\"N\":\"bob\"}\n");
	run_close(&r);
}

static void test_slurp(void **state)
{
	(void)state;
	check("map(.Size) | add", 1, "6\n");
	check("sort_by(.Size) | .[].Name", 1, "\"bob\"\n\"carol\"\n\"alice\"\n");
	check("length", 1, "3\n");
}

static void test_slurp_empty(void **state)
{
	struct run r;
	int rc = QUERY_OK;

	(void)state;
	run_open(&r, "length", 1, OUTPUT_NDJSON);
	assert_string_equal(run_end(&r, &rc), "0\n");
	assert_int_equal(rc, QUERY_OK);
	run_close(&r);
}

/* Values that are not objects render as one value each. */
static void test_scalars_in_a_list(void **state)
{
	struct run r;
	int rc = QUERY_OK;

	(void)state;
	run_open(&r, ".Name, .Tags", 0, OUTPUT_LIST);
	rc = run_put(&r, mailboxes[0]);
	assert_string_equal(run_end(&r, &rc), "alice\n{a, b}\n");
	run_close(&r);
}

static void test_compile_error(void **state)
{
	char err[512];

	(void)state;
	assert_null(query_new(".Name |||", 0, err, sizeof(err)));
	assert_true(strncmp(err, "--query: ", 9) == 0);
	assert_non_null(strstr(err, "syntax error"));
	assert_null(strstr(err, "jq: error"));
	assert_null(query_new("no_such_function(1)", 1, err, sizeof(err)));
	assert_non_null(strstr(err, "no_such_function/1 is not defined"));
}

/* A runtime error stops the output where it happened, naming the record. */
static void test_runtime_error(void **state)
{
	struct run r;
	int rc;

	(void)state;
	run_open(&r, "if .Name == \"bob\" then .Size.x else .Name end", 0, OUTPUT_JSON);
	assert_int_equal(run_put(&r, mailboxes[0]), QUERY_OK);
	rc = run_put(&r, mailboxes[1]);
	assert_int_equal(rc, QUERY_FAILED);
	assert_string_equal(r.err, "--query: record 2: Cannot index number with string \"x\"");
	/* what came before stays a complete document */
	assert_string_equal(run_end(&r, &rc), "[\"alice\"]\n");
	run_close(&r);
}

static void test_halt(void **state)
{
	struct run r;
	int rc;

	(void)state;
	check("if .Name == \"bob\" then halt else .Name end", 0, "\"alice\"\n");
	run_open(&r, "if .Name == \"bob\" then \"no bob here\\n\" | halt_error else .Name end", 0,
		 OUTPUT_NDJSON);
	assert_int_equal(run_put(&r, mailboxes[0]), QUERY_OK);
	rc = run_put(&r, mailboxes[1]);
	assert_int_equal(rc, QUERY_FAILED);
	assert_string_equal(r.err, "--query: record 2: no bob here\n");
	run_end(&r, &rc);
	run_close(&r);
}

/* An output jq itself cannot write as JSON is an error, not a record. */
static void test_too_deep(void **state)
{
	struct run r;
	int rc;

	(void)state;
	run_open(&r, "reduce range(300) as $i (1; [.])", 0, OUTPUT_NDJSON);
	rc = run_put(&r, mailboxes[0]);
	assert_int_equal(rc, QUERY_FAILED);
	assert_non_null(strstr(r.err, "nested too deeply"));
	assert_string_equal(run_end(&r, &rc), "");
	run_close(&r);
}

/* --slurp holds at most QUERY_SLURP_MAX_BYTES; beyond it, an error rather than memory. */
static void test_slurp_bound(void **state)
{
	const size_t big = 4u * 1024 * 1024;
	char *s = malloc(big + 1);
	struct yajl_val_s v = { .type = yajl_t_string };
	struct run r;
	size_t fed = 0;
	int rc = QUERY_OK;

	(void)state;
	assert_non_null(s);
	memset(s, 'x', big);
	s[big] = '\0';
	v.u.string = s;
	run_open(&r, "length", 1, OUTPUT_NDJSON);
	while (rc == QUERY_OK && fed <= QUERY_SLURP_MAX_BYTES / big) {
		rc = query_record(r.q, &v, r.out, r.err, sizeof(r.err));
		fed++;
	}
	assert_int_equal(rc, QUERY_FAILED);
	assert_int_equal(fed, QUERY_SLURP_MAX_BYTES / (big + 3) + 1);
	assert_non_null(strstr(r.err, "--slurp holds at most 64 MiB"));
	assert_string_equal(run_end(&r, &rc), "");
	run_close(&r);
	free(s);
}

/* --select applies to what the query outputs. */
static void test_with_select(void **state)
{
	static const char *const pick[] = { "name", NULL };
	struct output_options opt = { .fmt = OUTPUT_NDJSON, .select = pick };
	struct run r;
	int rc;

	(void)state;
	run_open(&r, "select(.Size < 3)", 0, OUTPUT_NDJSON);
	output_free(r.out);
	r.out = output_new(r.fp, &opt);
	assert_int_equal(run_put(&r, mailboxes[0]), QUERY_OK);
	rc = run_put(&r, mailboxes[1]);
	assert_string_equal(run_end(&r, &rc), "{\"Name\":\"bob\"}\n");
	run_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_record),
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_slurp),
		cmocka_unit_test(test_slurp_empty),
		cmocka_unit_test(test_scalars_in_a_list),
		cmocka_unit_test(test_compile_error),
		cmocka_unit_test(test_runtime_error),
		cmocka_unit_test(test_halt),
		cmocka_unit_test(test_too_deep),
		cmocka_unit_test(test_slurp_bound),
		cmocka_unit_test(test_with_select),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
