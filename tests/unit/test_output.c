/* Unit tests of exoctl's output formats (client/output.c), written to memory streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/dl.h"
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

static struct output *open_fmt(FILE *fp, enum output_format fmt, int width,
			       const char *const *columns)
{
	struct output_options opt = { .fmt = fmt, .width = width, .columns = columns };

	return output_new(fp, &opt);
}

/* Renders records with the options given and compares the whole text. */
static void render_opt(const struct output_options *opt, const char *const *recs, const char *expect)
{
	struct sink s;
	struct output *o;

	sink_open(&s);
	o = output_new(s.fp, opt);
	assert_non_null(o);
	for (size_t i = 0; recs[i] != NULL; i++)
		put(o, recs[i]);
	finish(o);
	assert_string_equal(sink_text(&s), expect);
	sink_close(&s);
}

static void render(enum output_format fmt, int width, const char *const *recs, const char *expect)
{
	struct output_options opt = { .fmt = fmt, .width = width };

	render_opt(&opt, recs, expect);
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
	assert_int_equal(output_parse_format("list", &f), 0);
	assert_int_equal(f, OUTPUT_LIST);
	assert_int_equal(output_parse_format("tsv", &f), 0);
	assert_int_equal(f, OUTPUT_TSV);
	assert_int_equal(output_parse_format("yaml", &f), 0);
	assert_int_equal(f, OUTPUT_YAML);
	/* auto is exoctl's default, not a name to ask for */
	assert_int_equal(output_parse_format("auto", &f), -1);
	assert_int_equal(output_parse_format("TABLE", &f), -1);
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
	o = open_fmt(s.fp, OUTPUT_JSON, 0, NULL);
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
	o = open_fmt(s.fp, OUTPUT_JSON, 0, NULL);
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
	       "a-very-long-n… Another long d…\n"
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
	o = open_fmt(s.fp, OUTPUT_TABLE, 0, cols);
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
	o = open_fmt(s.fp, OUTPUT_TABLE, 0, NULL);
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

/* ---- golden files ----
 *
 * tests/unit/golden/records.ndjson is rendered in every format and
 * compared byte for byte with tests/unit/golden/NAME.  After a change
 * meant to alter the output, regenerate them and review the diff:
 *
 *     make golden                 (GOLDEN_UPDATE=1 build/tests/test_output)
 *
 * GOLDEN_DIR names another directory (the default is relative to the
 * top of the tree, where make runs the tests).
 */
#define GOLDEN_MAX (1024 * 1024)

static const char *golden_dir(void)
{
	const char *d = getenv("GOLDEN_DIR");

	return d != NULL && d[0] != '\0' ? d : "tests/unit/golden";
}

static char *golden_read(const char *name, size_t *len)
{
	char path[512];
	char *buf = malloc(GOLDEN_MAX + 1);
	FILE *fp;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/%s", golden_dir(), name);
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s (run make golden to create it)", path);
	*len = fread(buf, 1, GOLDEN_MAX, fp);
	assert_int_equal(ferror(fp), 0);
	fclose(fp);
	buf[*len] = '\0';
	return buf;
}

static void golden_write(const char *name, const char *text, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", golden_dir(), name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Each line of records.ndjson, as exoctl receives a record, into o. */
static void golden_feed(struct output *o)
{
	size_t len;
	char *input = golden_read("records.ndjson", &len), *save = NULL;

	for (char *line = strtok_r(input, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		put(o, line);
	free(input);
}

static void golden(const char *name, const struct output_options *opt)
{
	struct sink s;
	struct output *o;
	size_t len;
	char *expect;

	sink_open(&s);
	o = output_new(s.fp, opt);
	assert_non_null(o);
	golden_feed(o);
	finish(o);
	sink_text(&s);
	if (getenv("GOLDEN_UPDATE") != NULL) {
		golden_write(name, s.buf, s.len);
	} else {
		expect = golden_read(name, &len);
		if (len != s.len || memcmp(expect, s.buf, len) != 0)
			fail_msg("%s differs from what is rendered now:\n%s", name, s.buf);
		free(expect);
	}
	sink_close(&s);
}

static void test_golden_table(void **state)
{
	(void)state;
	golden("table.txt", &(struct output_options){ .fmt = OUTPUT_TABLE });
	golden("table_w60.txt", &(struct output_options){ .fmt = OUTPUT_TABLE, .width = 60 });
	golden("table_w120.txt", &(struct output_options){ .fmt = OUTPUT_TABLE, .width = 120 });
}

static void test_golden_list(void **state)
{
	(void)state;
	golden("list.txt", &(struct output_options){ .fmt = OUTPUT_LIST });
	golden("list_w60.txt", &(struct output_options){ .fmt = OUTPUT_LIST, .width = 60 });
	golden("list_w120.txt", &(struct output_options){ .fmt = OUTPUT_LIST, .width = 120 });
}

static void test_golden_machine(void **state)
{
	(void)state;
	golden("json.json", &(struct output_options){ .fmt = OUTPUT_JSON });
	golden("json_pretty.json", &(struct output_options){ .fmt = OUTPUT_JSON, .pretty = 1 });
	golden("ndjson.ndjson", &(struct output_options){ .fmt = OUTPUT_NDJSON });
	golden("csv.csv", &(struct output_options){ .fmt = OUTPUT_CSV });
	golden("tsv.tsv", &(struct output_options){ .fmt = OUTPUT_TSV });
	golden("yaml.yaml", &(struct output_options){ .fmt = OUTPUT_YAML });
}

static void test_golden_select(void **state)
{
	static const char *const pick[] = { "alias", "NAME", "Missing", "EmailAddresses", NULL };

	(void)state;
	golden("select_table_w60.txt",
	       &(struct output_options){ .fmt = OUTPUT_TABLE, .width = 60, .select = pick });
	golden("select_list.txt", &(struct output_options){ .fmt = OUTPUT_LIST, .select = pick });
	golden("select_json.json", &(struct output_options){ .fmt = OUTPUT_JSON, .select = pick });
	golden("select_csv.csv", &(struct output_options){ .fmt = OUTPUT_CSV, .select = pick });
	golden("select_tsv.tsv", &(struct output_options){ .fmt = OUTPUT_TSV, .select = pick });
	golden("select_yaml.yaml", &(struct output_options){ .fmt = OUTPUT_YAML, .select = pick });
}

/* ---- the formats' own rules, each on a small case ---- */

/* The rows of a table line up in display columns, whatever bytes their text takes. */
static void assert_aligned(const char *text, const char *const *marks)
{
	long col = -1;

	for (size_t i = 0; marks[i] != NULL; i++) {
		const char *at = strstr(text, marks[i]), *bol = at;
		long c = 0;

		assert_non_null(at);
		while (bol > text && bol[-1] != '\n')
			bol--;
		for (const char *p = bol; p < at; p++)
			if (((unsigned char)*p & 0xC0) != 0x80)
				c += ((unsigned char)*p >= 0xE3) ? 2 : 1;     /* CJK and emoji here */
		if (col >= 0)
			assert_int_equal(c, col);
		col = c;
	}
}

static void test_table_cjk_alignment(void **state)
{
	static const char *const recs[] = {
		"{\"Name\":\"\\u5c71\\u7530\\u592a\\u90ce\",\"Alias\":\"yamada\"}",
		"{\"Name\":\"bob\",\"Alias\":\"bob\"}",
		"{\"Name\":\"\\ud83c\\udf89 party\",\"Alias\":\"party\"}",
		NULL,
	};
	static const char *const marks[] = { "Alias\n", "yamada", "bob\n", "party\n", NULL };

	(void)state;
	render(OUTPUT_TABLE, 60, recs,
	       "Name     Alias\n"
	       "----     -----\n"
	       "\xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4\xaa\xe9\x83\x8e yamada\n"
	       "bob      bob\n"
	       "\xf0\x9f\x8e\x89 party party\n");
	{
		struct sink s;
		struct output *o;

		sink_open(&s);
		o = open_fmt(s.fp, OUTPUT_TABLE, 60, NULL);
		for (size_t i = 0; recs[i] != NULL; i++)
			put(o, recs[i]);
		finish(o);
		assert_aligned(sink_text(&s), marks);
		sink_close(&s);
	}
}

/* A cell is cut at a character, never inside a wide one: the column left over is padding. */
static void test_table_cuts_wide_characters(void **state)
{
	static const char *const recs[] = {
		"{\"A\":\"\\u6771\\u4eac\\u30aa\\u30d5\\u30a3\\u30b9\\u5171\\u6709\",\"B\":\"x\"}",
		NULL,
	};

	(void)state;
	/* B goes (as Format-Table drops what does not fit); A gets 10 columns: four wide characters, the ellipsis */
	render(OUTPUT_TABLE, 10, recs,
	       "A\n"
	       "-\n"
	       "\xe6\x9d\xb1\xe4\xba\xac\xe3\x82\xaa\xe3\x83\x95\xe2\x80\xa6\n");
}

static void test_table_c1_controls(void **state)
{
	static const char *const recs[] = { "{\"Name\":\"a\\u009b2Jb\"}", NULL };

	(void)state;
	render(OUTPUT_TABLE, 0, recs, "Name\n----\na 2Jb\n");
}

static void test_list_record(void **state)
{
	static const char *const recs[] = {
		"{\"Name\":\"alice\",\"EmailAddresses\":[\"SMTP:a@x\",\"smtp:b@x\"],\"Empty\":[],"
		"\"Nested\":{\"a\":[1,{\"b\":null}]},\"Gone\":null,\"On\":true}",
		"{\"Id\":2}",
		NULL,
	};

	(void)state;
	render(OUTPUT_LIST, 0, recs,
	       "Name           : alice\n"
	       "EmailAddresses : {SMTP:a@x, smtp:b@x}\n"
	       "Empty          : {}\n"
	       "Nested         : {\"a\":[1,{\"b\":null}]}\n"
	       "Gone           :\n"
	       "On             : true\n"
	       "\n"
	       "Id : 2\n");
}

static void test_list_wraps(void **state)
{
	static const char *const recs[] = {
		"{\"Note\":\"one two three four five six seven eight nine ten eleven twelve\","
		"\"Addr\":[\"SMTP:first@contoso.com\",\"smtp:second@contoso.com\"],"
		"\"Lines\":\"first\\r\\nsecond\\u001b[0m\"}",
		NULL,
	};

	(void)state;
	/* values start at column 8, so 32 columns leave them 24 (the minimum is 20) */
	render(OUTPUT_LIST, 32, recs,
	       "Note  : one two three four five\n"
	       "        six seven eight nine ten\n"
	       "        eleven twelve\n"
	       "Addr  : {SMTP:first@contoso.com,\n"
	       "        smtp:second@contoso.com}\n"
	       "Lines : first\n"
	       "        second [0m\n");
}

/* Values that are not objects (from --query) are one a line, without blank lines between. */
static void test_list_scalars(void **state)
{
	static const char *const recs[] = { "\"alice\"", "\"bob\"", "[1,\"x\"]", "{\"A\":1}", "3", NULL };

	(void)state;
	render(OUTPUT_LIST, 0, recs, "alice\nbob\n{1, x}\n\nA : 1\n\n3\n");
}

static void test_auto_one_record_is_a_list(void **state)
{
	static const char *const one[] = { "{\"Name\":\"alice\",\"Alias\":\"al\"}", NULL };
	static const char *const two[] = {
		"{\"Name\":\"alice\",\"Alias\":\"al\"}", "{\"Name\":\"bob\",\"Alias\":\"b\"}", NULL,
	};
	static const char *const none[] = { NULL };

	(void)state;
	render(OUTPUT_AUTO, 80, one, "Name  : alice\nAlias : al\n");
	render(OUTPUT_AUTO, 80, two, "Name  Alias\n----  -----\nalice al\nbob   b\n");
	render(OUTPUT_AUTO, 80, none, "");
}

/* The second record decides: the first is not printed before it comes, and then both are. */
static void test_auto_decides_on_second(void **state)
{
	struct sink s;
	struct output *o;
	struct output_options opt = { .fmt = OUTPUT_AUTO };

	(void)state;
	sink_open(&s);
	o = output_new(s.fp, &opt);
	put(o, "{\"Name\":\"alice\"}");
	assert_string_equal(sink_text(&s), "");
	for (int i = 0; i < OUTPUT_TABLE_MAX_BUFFER; i++)
		put(o, "{\"Name\":\"n\"}");
	/* the table's buffer is full: out it goes, first record included */
	assert_non_null(strstr(sink_text(&s), "Name\n----\nalice\nn\n"));
	assert_int_equal(output_count(o), OUTPUT_TABLE_MAX_BUFFER + 1);
	finish(o);
	sink_close(&s);
}

static void test_json_pretty(void **state)
{
	static const char *const recs[] = {
		"{\"a\":{},\"b\":[],\"c\":[1,{\"d\":\"x,y:{z}\\\"\"}]}", "2", NULL,
	};
	static const char *const none[] = { NULL };

	(void)state;
	render_opt(&(struct output_options){ .fmt = OUTPUT_JSON, .pretty = 1 }, recs,
		   "[\n"
		   "  {\n"
		   "    \"a\": {},\n"
		   "    \"b\": [],\n"
		   "    \"c\": [\n"
		   "      1,\n"
		   "      {\n"
		   "        \"d\": \"x,y:{z}\\\"\"\n"
		   "      }\n"
		   "    ]\n"
		   "  },\n"
		   "  2\n"
		   "]\n");
	render_opt(&(struct output_options){ .fmt = OUTPUT_JSON, .pretty = 1 }, none, "[]\n");
}

static void test_tsv_escapes(void **state)
{
	static const char *const recs[] = {
		"{\"A\":\"tab\\there\",\"B\":\"two\\r\\nlines\",\"C\":\"back\\\\slash\",\"D\":\"\\u001b[1m\\u009b\"}",
		"{\"A\":[\"x\",\"y\"],\"B\":{\"k\":1},\"C\":null,\"D\":false,\"E\":\"not a column\"}",
		"\"scalar\"",
		NULL,
	};

	(void)state;
	render(OUTPUT_TSV, 0, recs,
	       "tab\\there\ttwo\\r\\nlines\tback\\\\slash\t\\x1b[1m\\xc2\\x9b\n"
	       "[\"x\",\"y\"]\t{\"k\":1}\t\tfalse\n"
	       "\t\t\t\n");
}

static void test_tsv_scalars(void **state)
{
	static const char *const recs[] = { "\"one\"", "2", NULL };

	(void)state;
	render(OUTPUT_TSV, 0, recs, "one\n2\n");
}

static void test_yaml_types(void **state)
{
	static const char *const recs[] = {
		"{\"s\":\"yes\",\"n\":\"12\",\"o\":\"0o17\",\"d\":\"2024-01-01\",\"e\":\"\",\"t\":\"~\","
		"\"x\":\".Inf\",\"plain\":\"alice\",\"num\":12,\"bool\":true,\"null\":null,"
		"\"arr\":[],\"map\":{},\"f\":[1.5e3,1E-2,-2.5E+10]}",
		"\"scalar\"",
		NULL,
	};
	static const char *const none[] = { NULL };

	(void)state;
	render(OUTPUT_YAML, 0, recs,
	       "- s: 'yes'\n"
	       "  'n': '12'\n"
	       "  o: '0o17'\n"
	       "  d: '2024-01-01'\n"
	       "  e: ''\n"
	       "  t: '~'\n"
	       "  x: '.Inf'\n"
	       "  plain: alice\n"
	       "  num: 12\n"
	       "  bool: true\n"
	       "  'null': null\n"
	       "  arr: []\n"
	       "  map: {}\n"
	       "  f:\n"
	       "  - 1.5e+3\n"
	       "  - 1.0e-2\n"
	       "  - -2.5e+10\n"
	       "- scalar\n");
	render(OUTPUT_YAML, 0, none, "[]\n");
}

static void test_select_parse(void **state)
{
	char **f = NULL, err[256], many[OUTPUT_SELECT_MAX_FIELDS * 8];
	size_t n = 0;

	(void)state;
	assert_int_equal(output_parse_select(" Name , Alias,PrimarySmtpAddress", &f, err, sizeof(err)), 0);
	assert_string_equal(f[0], "Name");
	assert_string_equal(f[1], "Alias");
	assert_string_equal(f[2], "PrimarySmtpAddress");
	assert_null(f[3]);
	output_select_free(f);

	assert_int_equal(output_parse_select("Name,,Alias", &f, err, sizeof(err)), -1);
	assert_null(f);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(output_parse_select("", &f, err, sizeof(err)), -1);
	assert_int_equal(output_parse_select("Name,", &f, err, sizeof(err)), -1);
	assert_int_equal(output_parse_select("Name,alias,NAME", &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NAME is named twice"));

	for (int i = 0; i <= OUTPUT_SELECT_MAX_FIELDS; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%sf%d", i ? "," : "", i % 1000);
	assert_int_equal(output_parse_select(many, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most"));
}

/* Picked fields come in the order asked, spelt as the record spells them; one it lacks is null. */
static void test_select_view(void **state)
{
	static const char *const pick[] = { "alias", "Name", "Nope", NULL };
	static const char *const recs[] = {
		"{\"Name\":\"alice\",\"Alias\":\"al\",\"Other\":1}",
		"{\"name\":\"bob\",\"ALIAS\":\"b\"}",
		"\"scalar\"",
		NULL,
	};

	(void)state;
	render_opt(&(struct output_options){ .fmt = OUTPUT_NDJSON, .select = pick }, recs,
		   "{\"Alias\":\"al\",\"Name\":\"alice\",\"Nope\":null}\n"
		   "{\"ALIAS\":\"b\",\"name\":\"bob\",\"Nope\":null}\n"
		   "{\"alias\":null,\"Name\":null,\"Nope\":null}\n");
	/* --select wins over a command's own columns, and shows every field picked */
	render_opt(&(struct output_options){ .fmt = OUTPUT_TABLE, .select = pick,
					     .columns = (const char *const[]){ "Other", NULL } },
		   recs,
		   "Alias Name  Nope\n"
		   "----- ----  ----\n"
		   "al    alice\n"
		   "b     bob\n"
		   "\n");
	/* without --select, a short last row is not padded either */
	render(OUTPUT_TABLE, 0, (const char *const[]){ "{\"Name\":\"alice\",\"Alias\":\"al\"}",
						       "{\"Name\":\"b\"}", NULL },
	       "Name  Alias\n----  -----\nalice al\nb\n");
}

static void test_dlopen_missing(void **state)
{
	static void (*fn)(void);
	const struct dl_sym syms[] = { { "nothing_here", &fn } };
	char err[256];

	(void)state;
	assert_int_equal(dl_load("libexod-no-such-library.so.9", "exod-no-such-package", syms, 1,
				       err, sizeof(err)), -1);
	assert_non_null(strstr(err, "install Debian's exod-no-such-package"));
	assert_int_equal(dl_load("libc.so.6", "libc6", syms, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has no nothing_here"));
	assert_null(fn);
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
		cmocka_unit_test(test_golden_table),
		cmocka_unit_test(test_golden_list),
		cmocka_unit_test(test_golden_machine),
		cmocka_unit_test(test_golden_select),
		cmocka_unit_test(test_table_cjk_alignment),
		cmocka_unit_test(test_table_cuts_wide_characters),
		cmocka_unit_test(test_table_c1_controls),
		cmocka_unit_test(test_list_record),
		cmocka_unit_test(test_list_wraps),
		cmocka_unit_test(test_list_scalars),
		cmocka_unit_test(test_auto_one_record_is_a_list),
		cmocka_unit_test(test_auto_decides_on_second),
		cmocka_unit_test(test_json_pretty),
		cmocka_unit_test(test_tsv_escapes),
		cmocka_unit_test(test_tsv_scalars),
		cmocka_unit_test(test_yaml_types),
		cmocka_unit_test(test_select_parse),
		cmocka_unit_test(test_select_view),
		cmocka_unit_test(test_dlopen_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
