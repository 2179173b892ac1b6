/* Unit tests of exoctl's output formats (client/output.c), written to memory streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/output.h"

struct sink {
	FILE *fp;
	char *buf;
	size_t len;
};

static void sink_open(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	s->fp = open_memstream(&s->buf, &s->len);
	assert_non_null(s->fp);
}

static const char *sink_text(struct sink *s)
{
	assert_int_equal(fflush(s->fp), 0);
	return s->buf;
}

static void sink_close(struct sink *s)
{
	fclose(s->fp);
	free(s->buf);
}

static void put(struct output *o, const char *json)
{
	char err[256];
	yajl_val v = yajl_tree_parse(json, err, sizeof(err));

	assert_non_null(v);
	assert_int_equal(output_record(o, v, err, sizeof(err)), 0);
	yajl_tree_free(v);
}

static void finish(struct output *o)
{
	char err[256];

	assert_int_equal(output_finish(o, err, sizeof(err)), 0);
	output_free(o);
}

/* Renders records in one format and compares the whole text. */
static void render(enum output_format fmt, int width, const char *const *recs, const char *expect)
{
	struct sink s;
	struct output *o;

	sink_open(&s);
	o = output_new(s.fp, fmt, width, NULL);
	assert_non_null(o);
	for (size_t i = 0; recs[i] != NULL; i++)
		put(o, recs[i]);
	finish(o);
	assert_string_equal(sink_text(&s), expect);
	sink_close(&s);
}

static void test_parse_format(void **state)
{
	enum output_format f = OUTPUT_TABLE;

	(void)state;
	assert_int_equal(output_parse_format("csv", &f), 0);
	assert_int_equal(f, OUTPUT_CSV);
	assert_int_equal(output_parse_format("ndjson", &f), 0);
	assert_int_equal(f, OUTPUT_NDJSON);
	assert_int_equal(output_parse_format("json", &f), 0);
	assert_int_equal(f, OUTPUT_JSON);
	assert_int_equal(output_parse_format("table", &f), 0);
	assert_int_equal(f, OUTPUT_TABLE);
	assert_int_equal(output_parse_format("xml", &f), -1);
	assert_int_equal(output_parse_format("", &f), -1);
}

static void test_csv_quoting(void **state)
{
	static const char *const recs[] = {
		"{\"Name\":\"plain\",\"Note\":\"a,b\",\"Q\":\"say \\\"hi\\\"\"}",
		"{\"Name\":\"two\\nlines\",\"Note\":\"cr\\rhere\",\"Q\":\"\"}",
		NULL,
	};

	(void)state;
	render(OUTPUT_CSV, 0, recs,
	       "Name,Note,Q\n"
	       "plain,\"a,b\",\"say \"\"hi\"\"\"\n"
	       "\"two\nlines\",\"cr\rhere\",\n");
}

static void test_csv_values(void **state)
{
	static const char *const recs[] = {
		"{\"a,b\":1,\"n\":null,\"t\":true,\"f\":false,\"o\":{\"x\":[1,\"y\"]},\"d\":-1.5e3}",
		"{\"t\":false,\"extra\":1}",
		"\"scalar\"",
		NULL,
	};

	(void)state;
	render(OUTPUT_CSV, 0, recs,
	       "\"a,b\",n,t,f,o,d\n"
	       "1,,true,false,\"{\"\"x\"\":[1,\"\"y\"\"]}\",-1.5e3\n"
	       ",,false,,,\n"
	       ",,,,,\n");
}

static void test_csv_scalar_records(void **state)
{
	static const char *const recs[] = { "\"one\"", "2", NULL };

	(void)state;
	render(OUTPUT_CSV, 0, recs, "Value\none\n2\n");
}

static void test_json_empty(void **state)
{
	static const char *const recs[] = { NULL };

	(void)state;
	render(OUTPUT_JSON, 0, recs, "[]\n");
}

static void test_json_streams(void **state)
{
	struct sink s;
	struct output *o;

	(void)state;
	sink_open(&s);
	o = output_new(s.fp, OUTPUT_JSON, 0, NULL);
	assert_non_null(o);
	put(o, "{\"a\":1,\"s\":\"x/y\"}");
	/* the first record is out before the answer ends */
	assert_string_equal(sink_text(&s), "[{\"a\":1,\"s\":\"x/y\"}");
	put(o, "{\"b\":[true,null]}");
	assert_string_equal(sink_text(&s), "[{\"a\":1,\"s\":\"x/y\"},\n{\"b\":[true,null]}");
	put(o, "\"c\"");
	assert_int_equal(output_count(o), 3);
	finish(o);
	assert_string_equal(sink_text(&s),
			    "[{\"a\":1,\"s\":\"x/y\"},\n{\"b\":[true,null]},\n\"c\"]\n");
	sink_close(&s);
}

static void test_json_round_trip(void **state)
{
	static const char *const recs[] = {
		"{\"u\":\"caf\\u00e9 \\\"q\\\" \\\\ \\t\",\"n\":12345678901234567890,\"e\":{}}",
		NULL,
	};
	struct sink s;
	struct output *o;
	char err[256];
	yajl_val v;

	(void)state;
	sink_open(&s);
	o = output_new(s.fp, OUTPUT_JSON, 0, NULL);
	put(o, recs[0]);
	finish(o);
	v = yajl_tree_parse(sink_text(&s), err, sizeof(err));
	assert_non_null(v);
	assert_true(YAJL_IS_ARRAY(v));
	assert_int_equal(v->u.array.len, 1);
	{
		const char *up[] = { "u", NULL }, *np[] = { "n", NULL };
		yajl_val u = yajl_tree_get(v->u.array.values[0], up, yajl_t_string);
		yajl_val n = yajl_tree_get(v->u.array.values[0], np, yajl_t_number);

		assert_non_null(u);
		assert_string_equal(u->u.string, "caf\xc3\xa9 \"q\" \\ \t");
		assert_non_null(n);
		assert_string_equal(n->u.number.r, "12345678901234567890");
	}
	yajl_tree_free(v);
	sink_close(&s);
}

static void test_ndjson(void **state)
{
	static const char *const recs[] = { "{\"a\":1}", "[2]", NULL };
	static const char *const none[] = { NULL };

	(void)state;
	render(OUTPUT_NDJSON, 0, recs, "{\"a\":1}\n[2]\n");
	render(OUTPUT_NDJSON, 0, none, "");
}

static void test_table_columns(void **state)
{
	static const char *const recs[] = {
		"{\"Guid\":\"g1\",\"Alias\":\"al\",\"Name\":\"alice\",\"Emails\":[\"x\"]}",
		"{\"Guid\":\"g2\",\"Alias\":\"bobby\",\"Name\":\"bob\"}",
		NULL,
	};

	(void)state;
	render(OUTPUT_TABLE, 0, recs,
	       "Name  Alias Guid\n"
	       "----  ----- ----\n"
	       "alice al    g1\n"
	       "bob   bobby g2\n");
}

static void test_table_truncates(void **state)
{
	static const char *const recs[] = {
		"{\"Name\":\"a-very-long-name-indeed\",\"DisplayName\":\"Another long display name\"}",
		"{\"Name\":\"x\\u001b[31m\",\"DisplayName\":\"y\"}",
		NULL,
	};

	(void)state;
	render(OUTPUT_TABLE, 30, recs,
	       "Name           DisplayName\n"
	       "----           -----------\n"
	       "a-very-long... Another long...\n"
	       "x [31m         y\n");
}

/* Keys come from the network as much as values: a header must not drive the terminal either. */
static void test_table_header_cleaned(void **state)
{
	static const char *const recs[] = {
		"{\"\\u001b]0;owned\\u0007T\":\"v\"}",
		NULL,
	};

	(void)state;
	render(OUTPUT_TABLE, 0, recs,
	       " ]0;owned T\n"
	       "-----------\n"
	       "v\n");
}

static void test_table_fixed_columns(void **state)
{
	static const char *const cols[] = { "name", "state", NULL };
	struct sink s;
	struct output *o;

	(void)state;
	sink_open(&s);
	o = output_new(s.fp, OUTPUT_TABLE, 0, cols);
	put(o, "{\"state\":\"connected\",\"name\":\"contoso\",\"other\":1}");
	finish(o);
	assert_string_equal(sink_text(&s),
			    "name    state\n"
			    "----    -----\n"
			    "contoso connected\n");
	sink_close(&s);
}

static void test_table_streams_after_buffer(void **state)
{
	struct sink s;
	struct output *o;
	const char *text;
	size_t lines = 0;

	(void)state;
	sink_open(&s);
	o = output_new(s.fp, OUTPUT_TABLE, 0, NULL);
	for (int i = 0; i < OUTPUT_TABLE_MAX_BUFFER - 1; i++)
		put(o, "{\"Name\":\"n\",\"Alias\":\"a\"}");
	assert_string_equal(sink_text(&s), "");
	put(o, "{\"Name\":\"n\",\"Alias\":\"a\"}");
	/* the buffer is full: header and rows are out, and later rows follow at once */
	put(o, "{\"Name\":\"later\",\"Alias\":\"z\"}");
	text = sink_text(&s);
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, OUTPUT_TABLE_MAX_BUFFER + 3);
	assert_non_null(strstr(text, "\nlater z\n"));
	finish(o);
	sink_close(&s);
}

static void test_put_text(void **state)
{
	struct sink s;

	(void)state;
	sink_open(&s);
	output_put_text(s.fp, "a\x1b]0;x\x07\nb");
	assert_string_equal(sink_text(&s), "a?]0;x? b");
	sink_close(&s);
}

static void test_depth_limit(void **state)
{
	char json[2 * (OUTPUT_MAX_DEPTH + 2) + 1];
	yajl_gen g = yajl_gen_alloc(NULL);
	char err[256];
	yajl_val v;
	size_t n = OUTPUT_MAX_DEPTH + 2;

	(void)state;
	memset(json, '[', n);
	memset(json + n, ']', n);
	json[2 * n] = '\0';
	v = yajl_tree_parse(json, err, sizeof(err));
	assert_non_null(v);
	assert_int_equal(output_gen_tree(g, v), -1);
	assert_null(output_compact(v));
	yajl_tree_free(v);
	yajl_gen_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_values),
		cmocka_unit_test(test_csv_scalar_records),
		cmocka_unit_test(test_json_empty),
		cmocka_unit_test(test_json_streams),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_ndjson),
		cmocka_unit_test(test_table_columns),
		cmocka_unit_test(test_table_header_cleaned),
		cmocka_unit_test(test_table_truncates),
		cmocka_unit_test(test_table_fixed_columns),
		cmocka_unit_test(test_table_streams_after_buffer),
		cmocka_unit_test(test_put_text),
		cmocka_unit_test(test_depth_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
