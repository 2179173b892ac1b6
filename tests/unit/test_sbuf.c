/* Secret buffers: lengths, bounds, wiping, the wiping allocator, and a wipe the sanitizer sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "common/sbuf.h"

/*
 * free() is wrapped (Makefile WRAP_test_sbuf): when the block holding the
 * watched bytes is freed, whether they were wiped is noted just before
 * the block goes back to the allocator.
 */
void __real_free(void *p);
void __wrap_free(void *p);

static const unsigned char *watched;
static size_t watched_len;
static int watched_freed, watched_wiped;

void __wrap_free(void *p)
{
	const unsigned char *block = p;

	if (watched != NULL && block != NULL && watched >= block &&
	    watched < block + malloc_usable_size(p)) {
		watched_freed = 1;
		watched_wiped = 1;
		for (size_t i = 0; i < watched_len; i++)
			watched_wiped &= watched[i] == 0;
		watched = NULL;
	}
	__real_free(p);
}

static void watch(const void *p, size_t len)
{
	watched = p;
	watched_len = len;
	watched_freed = watched_wiped = 0;
}

static void assert_freed_wiped(void)
{
	assert_true(watched_freed);
	assert_true(watched_wiped);
}

static void test_put_and_consume(void **state)
{
	struct sbuf *b = sbuf_new(0);

	(void)state;
	assert_non_null(b);
	assert_int_equal(sbuf_len(b), 0);
	assert_string_equal(sbuf_str(b), "");
	/* NUL bytes are data: the length counts them and the view stays terminated after them. */
	assert_int_equal(sbuf_put(b, "a\0b", 3), 0);
	assert_int_equal(sbuf_len(b), 3);
	assert_memory_equal(sbuf_ptr(b), "a\0b", 4);
	assert_int_equal(sbuf_put_str(b, "cd"), 0);
	sbuf_consume(b, 2);
	assert_int_equal(sbuf_len(b), 3);
	assert_string_equal(sbuf_str(b), "bcd");
	sbuf_consume(b, 99);
	assert_int_equal(sbuf_len(b), 0);
	sbuf_free(b);
	sbuf_free(NULL);
}

static void test_bound(void **state)
{
	struct sbuf *b = sbuf_new(8);

	(void)state;
	assert_int_equal(sbuf_put(b, "12345678", 8), 0);
	assert_int_equal(sbuf_room(b), 0);
	/* Over the bound: refused whole, the contents unchanged. */
	assert_int_equal(sbuf_put(b, "9", 1), -1);
	assert_null(sbuf_reserve(b, 1));
	assert_string_equal(sbuf_str(b), "12345678");
	sbuf_consume(b, 3);
	/* Consumed room is reusable: the contents move to the front. */
	assert_int_equal(sbuf_put(b, "abc", 3), 0);
	assert_string_equal(sbuf_str(b), "45678abc");
	sbuf_reset(b);
	assert_int_equal(sbuf_len(b), 0);
	assert_string_equal(sbuf_str(b), "");
	sbuf_free(b);
}

static void test_reserve_commit_grow(void **state)
{
	struct sbuf *b = sbuf_new(1 << 20);
	unsigned char *p;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		p = sbuf_reserve(b, 100);
		assert_non_null(p);
		memset(p, 'a' + i % 26, 100);
		sbuf_commit(b, 100);
	}
	assert_int_equal(sbuf_len(b), 100000);
	assert_int_equal(sbuf_ptr(b)[99999], 'a' + 999 % 26);
	assert_int_equal(sbuf_ptr(b)[100000], '\0');
	/* A read that gets nothing commits nothing. */
	assert_non_null(sbuf_reserve(b, 10));
	sbuf_commit(b, 0);
	assert_int_equal(sbuf_len(b), 100000);
	sbuf_free(b);
}

static void test_dup(void **state)
{
	struct sbuf *a = sbuf_dup("x\0y", 3), *s = sbuf_dup_str("secret");

	(void)state;
	assert_int_equal(sbuf_len(a), 3);
	assert_memory_equal(sbuf_ptr(a), "x\0y", 3);
	assert_string_equal(sbuf_str(s), "secret");
	sbuf_free(a);
	sbuf_free(s);
}

static void test_wiping_allocator(void **state)
{
	char *p = sbuf_mem_alloc(16), *q;

	(void)state;
	assert_non_null(p);
	memcpy(p, "0123456789abcdef", 16);
	/* realloc always moves, so the old block is wiped, not left behind. */
	q = sbuf_mem_realloc(p, 32);
	assert_non_null(q);
	assert_memory_equal(q, "0123456789abcdef", 16);
	q = sbuf_mem_realloc(q, 4);
	assert_memory_equal(q, "0123", 4);
	sbuf_mem_free(q);
	sbuf_mem_free(NULL);
	assert_null(sbuf_mem_alloc(SIZE_MAX));
}

/* yajl runs on the allocator: a generator growing its buffer many times over still works. */
static void test_yajl_on_wiping_allocator(void **state)
{
	yajl_gen g = yajl_gen_alloc(&sbuf_yajl_funcs);
	const unsigned char *buf;
	char big[5000];
	size_t len;

	(void)state;
	assert_non_null(g);
	memset(big, 't', sizeof(big));
	assert_int_equal(yajl_gen_string(g, (const unsigned char *)big, sizeof(big)), yajl_gen_status_ok);
	assert_int_equal(yajl_gen_get_buf(g, &buf, &len), yajl_gen_status_ok);
	assert_int_equal(len, sizeof(big) + 2);
	assert_int_equal(buf[0], '"');
	assert_int_equal(buf[len - 1], '"');
	yajl_gen_free(g);
}

/* Nothing a secret buffer held is left in memory it gives back, or in bytes it consumed. */
static void test_freed_and_consumed_bytes_wiped(void **state)
{
	struct sbuf *b = sbuf_dup_str("hunter2-password");
	const unsigned char *p;
	char *m;

	(void)state;
	assert_non_null(b);
	p = sbuf_ptr(b);
	sbuf_consume(b, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(p[i], 0);
	/* Growing moves the contents to a new block: the old one is wiped before it is freed. */
	watch(sbuf_ptr(b), 8);
	assert_non_null(sbuf_reserve(b, 4096));
	assert_freed_wiped();
	assert_string_equal(sbuf_str(b), "password");
	watch(sbuf_ptr(b), 8);
	sbuf_free(b);
	assert_freed_wiped();
	/* The wiping allocator (yajl's trees of token answers) likewise. */
	m = sbuf_mem_alloc(16);
	assert_non_null(m);
	memcpy(m, "0123456789abcdef", 16);
	watch(m, 16);
	sbuf_mem_free(m);
	assert_freed_wiped();
}

static void test_wipe_zeroes(void **state)
{
	char buf[8] = "secret!";

	(void)state;
	sbuf_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	sbuf_wipe(NULL, 10);
}

/*
 * The wipe goes through memset, which AddressSanitizer checks: a wipe past
 * the end of a block is reported (the child dies), where explicit_bzero
 * would have corrupted the heap unseen.  Only meaningful in `make asan`.
 */
static void test_overflowing_wipe_is_reported(void **state)
{
	int fds[2], status;
	char out[4096] = "";
	ssize_t n, got = 0;
	pid_t pid;

	(void)state;
#if !defined(__SANITIZE_ADDRESS__)
	skip();
#endif
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *p = malloc(8);

		dup2(fds[1], 2);
		sbuf_wipe(p, 16);       /* 8 bytes too many */
		free(p);
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += n;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (strstr(out, "AddressSanitizer: heap-buffer-overflow") == NULL)
		fail_msg("the sanitizer did not report the overflowing wipe:\n%s", out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_and_consume),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_reserve_commit_grow),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_wiping_allocator),
		cmocka_unit_test(test_yajl_on_wiping_allocator),
		cmocka_unit_test(test_freed_and_consumed_bytes_wiped),
		cmocka_unit_test(test_wipe_zeroes),
		cmocka_unit_test(test_overflowing_wipe_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
