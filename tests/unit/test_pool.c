/* Unit tests for daemon/pool.c on a fake clock: handover, FIFO, limits, leaving, queue timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "daemon/pool.h"
#include "tests/unit/fake_clock.h"

#define MAX_JOBS 16

/* One job as the test sees it: what the pool did to it, and when. */
struct tjob {
	int id;
	int ran;
	int expired;
	int told;                       /* times ahead was called */
	int ahead;                      /* what it said last */
	struct pool_job *j;
};

struct fixture {
	struct event_base *base;
	struct pool *pool;
	struct tjob jobs[MAX_JOBS];
	int order[MAX_JOBS * 2];        /* ids in the order run was called */
	int norder;
	int in_call;                    /* inside a pool_* call made by the test */
	int called_inside;              /* a callback came from inside such a call */
};

static struct fixture *fx;

static void note_inside(void)
{
	if (fx->in_call)
		fx->called_inside = 1;
}

static void on_run(void *arg)
{
	struct tjob *t = arg;

	note_inside();
	t->ran++;
	fx->order[fx->norder++] = t->id;
}

static void on_expire(void *arg)
{
	struct tjob *t = arg;

	note_inside();
	t->expired++;
	t->j = NULL;            /* the pool has freed it */
}

static void on_ahead(void *arg, int ahead)
{
	struct tjob *t = arg;

	note_inside();
	/* Only news: a place it was not told already. */
	assert_true(t->told == 0 || ahead != t->ahead);
	t->told++;
	t->ahead = ahead;
}

static int setup(void **state)
{
	fake_clock_reset();
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	for (int i = 0; i < MAX_JOBS; i++)
		fx->jobs[i].id = i;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pool_free(fx->pool);
	event_base_free(fx->base);
	free(fx);
	fx = NULL;
	clock_fake(NULL);
	return 0;
}

static void new_pool(int max, int limit, int timeout_s)
{
	fx->pool = pool_new(fx->base, max, limit, timeout_s);
	assert_non_null(fx->pool);
}

/* pool_submit on job i; callbacks must not come from inside it. */
static struct pool_job *submit(int i)
{
	struct pool_job *j;

	fx->in_call = 1;
	j = pool_submit(fx->pool, on_run, on_expire, &fx->jobs[i]);
	fx->in_call = 0;
	fx->jobs[i].j = j;
	return j;
}

static void leave(int i)
{
	fx->in_call = 1;
	pool_leave(fx->jobs[i].j);
	fx->in_call = 0;
	fx->jobs[i].j = NULL;
}

static void counts(int running, int queued)
{
	assert_int_equal(pool_running(fx->pool), running);
	assert_int_equal(pool_queued(fx->pool), queued);
}

static void test_granted_from_loop(void **state)
{
	(void)state;
	new_pool(2, 10, 60);
	assert_non_null(submit(0));
	/* The slot is taken at once, so nobody else gets it, but run waits for the loop. */
	counts(1, 0);
	assert_int_equal(fx->jobs[0].ran, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[0].ran, 1);
	counts(1, 0);
	assert_false(fx->called_inside);
	leave(0);
	counts(0, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[0].ran, 1);
}

static void test_fifo_order(void **state)
{
	(void)state;
	new_pool(1, 10, 60);
	for (int i = 0; i < 4; i++)
		assert_non_null(submit(i));
	counts(1, 3);
	fake_settle(fx->base);
	assert_int_equal(fx->norder, 1);
	assert_int_equal(fx->order[0], 0);
	for (int i = 0; i < 3; i++) {
		leave(i);
		/* The next waiter holds the slot now, but starts only from the loop. */
		counts(1, 2 - i);
		assert_int_equal(fx->jobs[i + 1].ran, 0);
		fake_settle(fx->base);
		assert_int_equal(fx->jobs[i + 1].ran, 1);
	}
	assert_int_equal(fx->norder, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fx->order[i], i);
	leave(3);
	counts(0, 0);
	assert_false(fx->called_inside);
}

static void test_nobody_overtakes(void **state)
{
	(void)state;
	new_pool(1, 10, 60);
	submit(0);
	submit(1);
	fake_settle(fx->base);
	/* 0 leaves: 1 is granted but has not run; 2 arrives in that window and must wait. */
	leave(0);
	submit(2);
	counts(1, 1);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[1].ran, 1);
	assert_int_equal(fx->jobs[2].ran, 0);
	/* A free slot with nobody waiting goes to a newcomer; with waiters, the head goes first. */
	leave(1);
	submit(3);
	counts(1, 1);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[2].ran, 1);
	assert_int_equal(fx->jobs[3].ran, 0);
	leave(2);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[3].ran, 1);
	leave(3);
	counts(0, 0);
	assert_int_equal(fx->norder, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fx->order[i], i);
}

static void test_queue_limit(void **state)
{
	(void)state;
	new_pool(1, 2, 60);
	assert_non_null(submit(0));
	assert_non_null(submit(1));
	assert_non_null(submit(2));
	counts(1, 2);
	assert_null(submit(3));
	counts(1, 2);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[3].ran + fx->jobs[3].expired, 0);
	/* Room again once one leaves the queue. */
	leave(1);
	counts(1, 1);
	assert_non_null(submit(3));
	counts(1, 2);
	leave(0);
	leave(2);
	leave(3);
	counts(0, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[1].ran + fx->jobs[2].ran + fx->jobs[3].ran, 0);
}

static void test_queue_limit_zero(void **state)
{
	(void)state;
	/* No queue at all: a free slot is still granted, a busy pool refuses. */
	new_pool(1, 0, 60);
	assert_non_null(submit(0));
	counts(1, 0);
	assert_null(submit(1));
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[0].ran, 1);
	leave(0);
	counts(0, 0);
}

static void test_leave_running_grants_next(void **state)
{
	(void)state;
	new_pool(2, 10, 60);
	submit(0);
	submit(1);
	submit(2);
	fake_settle(fx->base);
	counts(2, 1);
	leave(1);
	counts(2, 0);
	assert_int_equal(fx->jobs[2].ran, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[2].ran, 1);
	leave(0);
	leave(2);
	counts(0, 0);
	assert_false(fx->called_inside);
}

static void test_leave_while_granted(void **state)
{
	(void)state;
	new_pool(1, 10, 60);
	submit(0);
	submit(1);
	counts(1, 1);
	/* 0 holds the slot but run was not called yet: leaving frees it for 1. */
	leave(0);
	counts(1, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[0].ran, 0);
	assert_int_equal(fx->jobs[1].ran, 1);
	leave(1);
	counts(0, 0);
	/* And with nobody waiting, the slot is simply free. */
	submit(2);
	leave(2);
	counts(0, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[2].ran, 0);
	assert_int_equal(fx->jobs[0].expired + fx->jobs[2].expired, 0);
}

static void test_leave_while_queued(void **state)
{
	(void)state;
	new_pool(1, 10, 2);
	submit(0);
	submit(1);
	fake_settle(fx->base);
	leave(1);
	counts(1, 0);
	fake_advance(fx->base, 5000);
	pool_tick(fx->pool);
	assert_int_equal(fx->jobs[1].ran + fx->jobs[1].expired, 0);
	leave(0);
	counts(0, 0);
}

static void test_queue_timeout_tick(void **state)
{
	(void)state;
	new_pool(1, 10, 2);
	submit(0);
	fake_settle(fx->base);
	submit(1);
	fake_now += 1000;       /* the clock only: no timer fires */
	submit(2);
	counts(1, 2);
	fake_now += 999;
	pool_tick(fx->pool);
	assert_int_equal(fx->jobs[1].expired, 0);
	counts(1, 2);
	fake_now += 1;          /* 1 has waited 2 s */
	pool_tick(fx->pool);
	assert_int_equal(fx->jobs[1].expired, 1);
	assert_int_equal(fx->jobs[2].expired, 0);
	counts(1, 1);
	pool_tick(fx->pool);
	assert_int_equal(fx->jobs[1].expired, 1);
	/* The pool's own timer expires 2 when the fake clock reaches its deadline. */
	fake_advance(fx->base, 999);
	assert_int_equal(fx->jobs[2].expired, 0);
	fake_advance(fx->base, 1);
	assert_int_equal(fx->jobs[2].expired, 1);
	counts(1, 0);
	pool_tick(fx->pool);
	fake_advance(fx->base, 10000);
	leave(0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[1].expired, 1);
	assert_int_equal(fx->jobs[2].expired, 1);
	assert_int_equal(fx->jobs[1].ran + fx->jobs[2].ran, 0);
	counts(0, 0);
	assert_int_equal(fake_next_timer_in(), -1);
}

static void test_queue_timeout_timer(void **state)
{
	(void)state;
	new_pool(1, 10, 3);
	submit(0);
	submit(1);
	fake_settle(fx->base);
	assert_int_equal(fake_next_timer_in(), 3000);
	fake_advance(fx->base, 2999);
	assert_int_equal(fx->jobs[1].expired, 0);
	fake_advance(fx->base, 1);
	assert_int_equal(fx->jobs[1].expired, 1);
	assert_int_equal(fx->jobs[1].ran, 0);
	counts(1, 0);
	/* A slot freed later goes to nobody: the expired job is gone. */
	leave(0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[1].ran, 0);
	counts(0, 0);
}

static void test_raise_limit_grants_waiters(void **state)
{
	(void)state;
	new_pool(1, 10, 60);
	for (int i = 0; i < 4; i++)
		submit(i);
	fake_settle(fx->base);
	counts(1, 3);
	fx->in_call = 1;
	pool_set_limits(fx->pool, 3, 10, 60);
	fx->in_call = 0;
	counts(3, 1);
	assert_int_equal(fx->jobs[1].ran + fx->jobs[2].ran, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[1].ran, 1);
	assert_int_equal(fx->jobs[2].ran, 1);
	assert_int_equal(fx->jobs[3].ran, 0);
	assert_int_equal(pool_max_running(fx->pool), 3);
	/* Lowering it interrupts nobody; slots given back are not handed on until under the cap. */
	pool_set_limits(fx->pool, 1, 10, 60);
	counts(3, 1);
	leave(0);
	leave(1);
	counts(1, 1);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[3].ran, 0);
	leave(2);
	counts(1, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[3].ran, 1);
	leave(3);
	counts(0, 0);
	assert_false(fx->called_inside);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fx->order[i], i);
}

/* A job whose run gives its slot back at once (a call that fails on the spot). */
static void on_run_leave(void *arg)
{
	struct tjob *t = arg;

	on_run(arg);
	pool_leave(t->j);
	t->j = NULL;
}

static void test_run_that_leaves(void **state)
{
	(void)state;
	new_pool(1, 10, 60);
	for (int i = 0; i < 3; i++) {
		fx->jobs[i].j = pool_submit(fx->pool, on_run_leave, on_expire, &fx->jobs[i]);
		assert_non_null(fx->jobs[i].j);
	}
	fake_settle(fx->base);
	assert_int_equal(fx->norder, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fx->order[i], i);
	counts(0, 0);
}

static void watch(int i)
{
	fx->in_call = 1;
	pool_watch(fx->jobs[i].j, on_ahead);
	fx->in_call = 0;
}

/* A watched job hears its place in the queue from the loop, and again each time it moves up. */
static void test_watch_ahead_counts_down(void **state)
{
	(void)state;
	new_pool(1, 10, 60);
	submit(0);
	watch(0);               /* granted at once: it has no place to be told */
	for (int i = 1; i <= 3; i++) {
		submit(i);
		watch(i);
	}
	submit(4);              /* not watched: never told */
	assert_int_equal(fx->jobs[1].told + fx->jobs[2].told + fx->jobs[3].told, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[0].told, 0);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(fx->jobs[i].told, 1);
		assert_int_equal(fx->jobs[i].ahead, i - 1);
	}
	/* A newcomer at the back moves nobody. */
	submit(5);
	watch(5);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[5].ahead, 4);
	for (int i = 1; i <= 3; i++)
		assert_int_equal(fx->jobs[i].told, 1);
	/* The head is granted: everyone behind it moves up one, told once. */
	leave(0);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[1].told, 1);  /* running now: no longer told */
	assert_int_equal(fx->jobs[2].ahead, 0);
	assert_int_equal(fx->jobs[3].ahead, 1);
	assert_int_equal(fx->jobs[5].ahead, 3);
	/* One in the middle leaves the queue: only those behind it move. */
	leave(3);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[2].told, 2);
	assert_int_equal(fx->jobs[5].told, 3);
	assert_int_equal(fx->jobs[5].ahead, 2);
	/* Several changes in one turn: told once, with where it ends up. */
	leave(2);
	leave(4);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[5].told, 4);
	assert_int_equal(fx->jobs[5].ahead, 0);
	leave(1);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[5].ran, 1);
	assert_int_equal(fx->jobs[5].told, 4);
	leave(5);
	counts(0, 0);
	assert_false(fx->called_inside);
}

/* Expired jobs move the others up too. */
static void test_watch_after_expiry(void **state)
{
	(void)state;
	new_pool(1, 10, 2);
	submit(0);
	submit(1);
	fake_now += 1000;
	submit(2);
	watch(2);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[2].ahead, 1);
	fake_advance(fx->base, 1000);
	assert_int_equal(fx->jobs[1].expired, 1);
	assert_int_equal(fx->jobs[2].told, 2);
	assert_int_equal(fx->jobs[2].ahead, 0);
	leave(2);
	leave(0);
	counts(0, 0);
}

/* A gate that counts what the pool asked of it; the test answers for it. */
static int gate_wants, gate_dones;

static void gate_want(void *arg)
{
	(void)arg;
	gate_wants++;
}

static void gate_done(void *arg)
{
	(void)arg;
	gate_dones++;
}

static void test_gate(void **state)
{
	const struct pool_gate gate = { gate_want, gate_done, NULL };

	(void)state;
	gate_wants = gate_dones = 0;
	new_pool(2, 10, 60);
	pool_set_gate(fx->pool, &gate);
	/* A local slot is free, but the job waits for the shared one: asked once, not twice. */
	submit(0);
	submit(1);
	counts(0, 2);
	assert_int_equal(gate_wants, 1);
	pool_gate_open(fx->pool);
	counts(1, 1);
	assert_int_equal(gate_wants, 2);        /* at once for the next in line */
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[0].ran, 1);
	assert_int_equal(fx->jobs[1].ran, 0);
	pool_gate_open(fx->pool);
	fake_settle(fx->base);
	assert_int_equal(fx->jobs[1].ran, 1);
	/* Both local slots taken: a third waits without asking the gate for what it cannot use. */
	submit(2);
	assert_int_equal(gate_wants, 2);
	/* A job that leaves gives its shared slot back; the next in line asks anew, in FIFO order. */
	leave(0);
	assert_int_equal(gate_dones, 1);
	assert_int_equal(gate_wants, 3);
	counts(1, 1);
	/* The waiter leaves before the gate answers: the slot it opens goes straight back. */
	leave(2);
	pool_gate_open(fx->pool);
	assert_int_equal(gate_dones, 2);
	counts(1, 0);
	leave(1);
	assert_int_equal(gate_dones, 3);
	counts(0, 0);
	assert_false(fx->called_inside);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_granted_from_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nobody_overtakes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_limit_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leave_running_grants_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leave_while_granted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leave_while_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_timeout_tick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_timeout_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raise_limit_grants_waiters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_that_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_ahead_counts_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_after_expiry, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
