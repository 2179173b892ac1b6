/* The socket protocol's framing and error words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_lines),
		cmocka_unit_test(test_frame_limit),
		cmocka_unit_test(test_empty_line),
		cmocka_unit_test(test_error_words),
		cmocka_unit_test(test_cmdlet_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
