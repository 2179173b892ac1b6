/* Logging: lines, prefixes, and the batch that holds a loop pass's info lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

static int saved_stderr = -1;
static int pipe_rd = -1;
static int kicks;

/* stderr becomes a non-blocking pipe, so that a test can see what was written so far. */
static int setup(void **state)
{
	int fds[2];

	(void)state;
	if (pipe(fds) < 0)
		return -1;
	saved_stderr = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	close(fds[1]);
	pipe_rd = fds[0];
	fcntl(pipe_rd, F_SETFL, O_NONBLOCK);
	log_set_prefix(0);
	log_set_level(LOG_DEBUG);
	kicks = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_batch_to(NULL, NULL);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(pipe_rd);
	return 0;
}

/* What stderr has received so far, NUL-terminated ("" for nothing). */
static const char *written(void)
{
	static char buf[16384];
	ssize_t n = read(pipe_rd, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void kick(void *arg)
{
	assert_ptr_equal(arg, &kicks);
	kicks++;
}

static void test_line_at_once_without_batch(void **state)
{
	(void)state;
	log_info("one %d", 1);
	assert_string_equal(written(), "one 1\n");
	log_debug("two");
	assert_string_equal(written(), "two\n");
}

static void test_prefix_for_journald(void **state)
{
	(void)state;
	log_set_prefix(1);
	log_warn("careful");
	log_info("fine");
	assert_string_equal(written(), "<4>careful\n<6>fine\n");
}

static void test_level_filters(void **state)
{
	(void)state;
	log_set_level(LOG_INFO);
	log_debug("hidden");
	log_info("shown");
	assert_string_equal(written(), "shown\n");
}

static void test_batch_waits_for_flush(void **state)
{
	(void)state;
	log_batch_to(kick, &kicks);
	log_info("a");
	log_info("b");
	log_debug("c");
	assert_string_equal(written(), "");
	assert_int_equal(kicks, 1);             /* once a batch, not once a line */
	log_flush();
	assert_string_equal(written(), "a\nb\nc\n");
	log_info("d");
	assert_int_equal(kicks, 2);             /* a new batch */
	log_flush();
	assert_string_equal(written(), "d\n");
}

static void test_warning_goes_at_once_after_batch(void **state)
{
	(void)state;
	log_batch_to(kick, &kicks);
	log_info("before");
	log_err("broken");
	assert_string_equal(written(), "before\nbroken\n");
	log_flush();
	assert_string_equal(written(), "");
}

static void test_full_batch_is_written(void **state)
{
	char line[1000];
	const char *got;
	int lines = 0;

	(void)state;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	log_batch_to(kick, &kicks);
	for (int i = 0; i < 5; i++)
		log_info("%s", line);
	/* Four whole lines fit in 4096 bytes; the fifth started a new batch. */
	got = written();
	for (const char *p = got; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 4);
	assert_int_equal(strlen(got), 4 * sizeof(line));
	assert_int_equal(kicks, 2);
	log_batch_to(NULL, NULL);               /* flushes, and lines go at once again */
	assert_int_equal(strlen(written()), sizeof(line));
	log_info("now");
	assert_string_equal(written(), "now\n");
}

static void test_long_message_cut(void **state)
{
	char big[5000];
	const char *got;

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	got = written();
	assert_int_equal(strlen(got), 2048);    /* 2047 bytes of text and the newline */
	assert_int_equal(got[2047], '\n');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_at_once_without_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix_for_journald, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_waits_for_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warning_goes_at_once_after_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_batch_is_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_message_cut, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
