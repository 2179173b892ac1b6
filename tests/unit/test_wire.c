/* The socket protocol's framing and error words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/wire.h"

static void test_frame_lines(void **state)
{
	const char *buf = "{\"op\":\"ping\"}\r\n{\"op\":\"status\"}\npartial";
	size_t len = strlen(buf), line_len = 0, used = 0;

	(void)state;
	assert_int_equal(wire_frame_next(buf, len, 64, &line_len, &used), WIRE_LINE);
	assert_int_equal(line_len, strlen("{\"op\":\"ping\"}"));
	assert_int_equal(used, line_len + 2);
	buf += used;
	len -= used;
	assert_int_equal(wire_frame_next(buf, len, 64, &line_len, &used), WIRE_LINE);
	assert_memory_equal(buf, "{\"op\":\"status\"}", line_len);
	buf += used;
	len -= used;
	assert_int_equal(wire_frame_next(buf, len, 64, &line_len, &used), WIRE_NEED_MORE);
}

static void test_frame_limit(void **state)
{
	char buf[16];
	size_t line_len, used;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	/* 7 bytes and a newline fit a limit of 8; 8 bytes and a newline do not. */
	buf[7] = '\n';
	assert_int_equal(wire_frame_next(buf, sizeof(buf), 8, &line_len, &used), WIRE_LINE);
	assert_int_equal(line_len, 7);
	buf[7] = 'x';
	buf[8] = '\n';
	assert_int_equal(wire_frame_next(buf, sizeof(buf), 8, &line_len, &used), WIRE_TOO_LONG);
	assert_int_equal(wire_frame_next(buf, 7, 8, &line_len, &used), WIRE_NEED_MORE);
	assert_int_equal(wire_frame_next(buf, 8, 8, &line_len, &used), WIRE_TOO_LONG);
}

static void test_empty_line(void **state)
{
	size_t line_len = 99, used = 0;

	(void)state;
	assert_int_equal(wire_frame_next("\n", 1, 8, &line_len, &used), WIRE_LINE);
	assert_int_equal(line_len, 0);
	assert_int_equal(used, 1);
}

static void test_error_words(void **state)
{
	(void)state;
	assert_string_equal(wire_error_code(WIRE_E_QUEUE_FULL), "QueueFull");
	assert_string_equal(wire_error_code(WIRE_E_SHUTTING_DOWN), "ShuttingDown");
	assert_int_equal(wire_error_exit_status("Upstream"), 1);
	assert_int_equal(wire_error_exit_status("BadRequest"), 2);
	assert_int_equal(wire_error_exit_status("NeedsLogin"), 4);
	assert_int_equal(wire_error_exit_status("AuthFailed"), 4);
	assert_int_equal(wire_error_exit_status("Throttled"), 5);
	assert_int_equal(wire_error_exit_status("Timeout"), 5);
	assert_int_equal(wire_error_exit_status("Forbidden"), 6);
	assert_int_equal(wire_error_exit_status("NoSuchWord"), 1);
}

static void test_cmdlet_names(void **state)
{
	char longname[WIRE_MAX_CMDLET + 2];

	(void)state;
	assert_true(wire_cmdlet_valid("Get-Mailbox"));
	assert_true(wire_cmdlet_valid("Get-EXOMailboxStatistics"));
	assert_false(wire_cmdlet_valid("GetMailbox"));
	assert_false(wire_cmdlet_valid("-Mailbox"));
	assert_false(wire_cmdlet_valid("Get-"));
	assert_false(wire_cmdlet_valid("Get-Mailbox;rm"));
	assert_false(wire_cmdlet_valid("Get Mailbox"));
	assert_false(wire_cmdlet_valid(""));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[3] = '-';
	longname[sizeof(longname) - 1] = '\0';
	assert_false(wire_cmdlet_valid(longname));
	longname[sizeof(longname) - 2] = '\0';
	assert_true(wire_cmdlet_valid(longname));
}

/* Parses a line given with its length (it may hold NUL bytes); returns the status. */
static int parse(const char *line, size_t len, struct wire_request *r, char *why)
{
	return wire_parse_request(line, len, r, why, 160);
}

#define PARSE(lit, r, why) parse(lit, sizeof(lit) - 1, r, why)

static void test_request_fields(void **state)
{
	struct wire_request r;
	char why[160];

	(void)state;
	assert_int_equal(PARSE("{\"id\":\"a\\\"b\",\"op\":\"run\",\"profile\":\"p\",\"x\":[1]}", &r, why), 0);
	assert_string_equal(r.op, "run");
	assert_string_equal(r.profile, "p");
	/* The id comes back as JSON text, escaped, ready to copy into answers. */
	assert_string_equal(r.id, "\"a\\\"b\"");
	wire_request_free(&r);
	assert_int_equal(PARSE("{\"id\":-12.5e3,\"op\":\"ping\"}", &r, why), 0);
	assert_string_equal(r.id, "-12.5e3");
	assert_null(r.profile);
	wire_request_free(&r);
	assert_int_equal(PARSE("{\"op\":\"ping\"}", &r, why), 0);
	assert_string_equal(r.id, "");
	wire_request_free(&r);
}

static void test_request_refused(void **state)
{
	static const struct {
		const char *line;
		size_t len;
		const char *why;
		const char *id;         /* the id the error may still carry */
	} cases[] = {
#define C(lit, why, id) { lit, sizeof(lit) - 1, why, id }
		C("{\"id\":\"a\0b\",\"op\":\"ping\"}", "NUL", ""),
		C("{\"op\":\"ping\"}\0", "NUL", ""),
		C("{\"op\":\"pi\\u0000ng\"}", "NUL", ""),
		C("{\"id\":\"\xc0\xaf\",\"op\":\"ping\"}", "UTF-8", ""),
		C("{\"id\":\"\xed\xa0\x80\",\"op\":\"ping\"}", "UTF-8", ""),
		C("{\"id\":\"\xf4\x90\x80\x80\",\"op\":\"ping\"}", "UTF-8", ""),
		C("{\"id\":\"x\",\"op\":\"ping\",\"p\":\"\xff\"}", "UTF-8", ""),
		C("{\"id\":\"\\udc00\",\"op\":\"ping\"}", "UTF-8", ""),
		C("[1,2]", "one JSON object", ""),
		C("{\"op\":\"ping\"} {}", "one JSON object", ""),
		C("/* c */ {\"op\":\"ping\"}", "one JSON object", ""),
		C("{\"id\":{},\"op\":\"ping\"}", "\"id\"", ""),
		C("{\"id\":7,\"op\":5}", "\"op\"", "7"),
		C("{\"id\":7}", "\"op\"", "7"),
		C("{\"id\":7,\"op\":\"ping\",\"profile\":[]}", "\"profile\"", "7"),
#undef C
	};
	struct wire_request r;
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].line, cases[i].len, &r, why), -1);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, why, cases[i].why);
		assert_string_equal(r.id, cases[i].id);
		wire_request_free(&r);
	}
}

static void test_request_id_bounds(void **state)
{
	char line[WIRE_MAX_ID + 64];
	struct wire_request r;
	char why[160];
	int n;

	(void)state;
	memset(line, 0, sizeof(line));
	n = snprintf(line, sizeof(line), "{\"id\":\"%0*d\",\"op\":\"ping\"}", WIRE_MAX_ID, 0);
	assert_int_equal(parse(line, (size_t)n, &r, why), 0);
	wire_request_free(&r);
	n = snprintf(line, sizeof(line), "{\"id\":\"%0*d\",\"op\":\"ping\"}", WIRE_MAX_ID + 1, 0);
	assert_int_equal(parse(line, (size_t)n, &r, why), -1);
	wire_request_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_lines),
		cmocka_unit_test(test_frame_limit),
		cmocka_unit_test(test_empty_line),
		cmocka_unit_test(test_error_words),
		cmocka_unit_test(test_cmdlet_names),
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_id_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
