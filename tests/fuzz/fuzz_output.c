/*
 * fuzz_output: exoctl's rendering of the records exod relays from
 * Exchange Online (client/output.c: output_new/record/finish) in every
 * format, and output_put_text for messages.  Input: the first byte
 * picks the format (bits 0-1, and bit 5 for list, tsv, yaml and auto),
 * the terminal width (bits 2-3), fixed or chosen columns (bit 4),
 * pretty json (bit 6) and a --select (bit 7); the rest is one record
 * per line, parsed as exoctl parses an answer line (a line that does
 * not parse stands for a record without "data").  The output goes to a
 * memory stream.  Checks: table, list, tsv and output_put_text never
 * write a control character other than a newline (and tsv's tabs): a
 * message from the network must not drive the terminal; json and
 * ndjson output is valid JSON.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "client/conn.h"
#include "client/output.h"
#include "tests/fuzz/fuzz_util.h"

static const int widths[] = { 0, 20, 80, 200 };
static const char *const fixed_columns[] = { "Name", "Identity", "PrimarySmtpAddress", NULL };
static const char *const select_fields[] = { "identity", "Name", "Absent", NULL };

/* 1 when the text has no control character but newlines (and tabs when allowed), no DEL, no C1. */
static int terminal_safe(const char *s, size_t len, int tabs)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\n' && !(tabs && c == '\t')) || c == 0x7f)
			return 0;
		if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9F)
			return 0;
	}
	return 1;
}

/* 1 when s[0..len) is a sequence of complete JSON values (one, or one per line). */
static int json_values(const char *s, size_t len)
{
	yajl_handle h = yajl_alloc(NULL, NULL, NULL);
	int ok;

	FUZZ_SETUP(h != NULL);
	yajl_config(h, yajl_allow_multiple_values, 1);
	ok = yajl_parse(h, (const unsigned char *)s, len) == yajl_status_ok &&
	     yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok;
}

static void render(const struct output_options *opt, const uint8_t *data, size_t size)
{
	enum output_format fmt = opt->fmt;
	char *text = NULL, err[256];
	size_t text_len = 0, start = 0, records = 0;
	FILE *fp = open_memstream(&text, &text_len);
	struct output *o;
	int failed = 0;

	FUZZ_SETUP(fp != NULL);
	o = output_new(fp, opt);
	FUZZ_SETUP(o != NULL);
	for (size_t i = 0; i <= size && !failed; i++) {
		char *line;
		yajl_val v;

		if (i < size && data[i] != '\n')
			continue;
		/* exoctl parses only lines conn_read_answer lets through: no NUL, not deeper than CONN_MAX_DEPTH. */
		if (i == start || !fuzz_no_nul(data + start, i - start) ||
		    !fuzz_json_depth_ok((const char *)data + start, i - start, CONN_MAX_DEPTH)) {
			start = i + 1;
			continue;
		}
		line = fuzz_strndup(data + start, i - start);
		start = i + 1;
		v = yajl_tree_parse(line, NULL, 0);
		if (output_record(o, v, err, sizeof(err)) == 0)
			records++;
		else
			failed = 1;
		yajl_tree_free(v);
		free(line);
	}
	if (!failed) {
		FUZZ_CHECK(output_count(o) == records);
		FUZZ_CHECK(output_finish(o, err, sizeof(err)) == 0);
	}
	output_free(o);
	FUZZ_SETUP(fclose(fp) == 0);
	if (fmt == OUTPUT_TABLE || fmt == OUTPUT_LIST || fmt == OUTPUT_AUTO || fmt == OUTPUT_TSV)
		FUZZ_CHECK(terminal_safe(text, text_len, fmt == OUTPUT_TSV));
	if (!failed && (fmt == OUTPUT_JSON || (fmt == OUTPUT_NDJSON && records > 0)))
		FUZZ_CHECK(json_values(text, text_len));
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = NULL, *msg;
	size_t text_len = 0;
	FILE *fp;

	if (size < 1)
		return -1;
	{
		struct output_options opt = {
			.fmt = (enum output_format)((data[0] & 3) | ((data[0] >> 3) & 4)),
			.width = widths[(data[0] >> 2) & 3],
			.columns = (data[0] & 0x10) ? fixed_columns : NULL,
			.pretty = (data[0] & 0x40) != 0,
			.select = (data[0] & 0x80) ? select_fields : NULL,
		};

		render(&opt, data + 1, size - 1);
	}

	/* Warnings and errors from the network go through output_put_text. */
	msg = fuzz_strndup(data + 1, size - 1);
	fp = open_memstream(&text, &text_len);
	FUZZ_SETUP(fp != NULL);
	output_put_text(fp, msg);
	FUZZ_SETUP(fclose(fp) == 0);
	FUZZ_CHECK(text_len == strlen(msg));
	for (size_t i = 0; i < text_len; i++)
		FUZZ_CHECK((unsigned char)text[i] >= 0x20 && text[i] != 0x7f);
	free(text);
	free(msg);
	return 0;
}
