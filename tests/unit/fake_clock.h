/*
 * A fake clock for the state-machine tests.  clock_ms() reads fake_now
 * (clock_fake), and libevent timers follow it too: the test is linked
 * with --wrap=event_add,event_del,event_free, so a timer armed with a
 * delay is parked far in the future and fake_advance() makes it due when
 * the fake clock reaches its deadline.  Zero delays and I/O events go to
 * libevent untouched.  Nothing here ever waits on the wall clock.
 */
#ifndef TEST_FAKE_CLOCK_H
#define TEST_FAKE_CLOCK_H

#include <event2/event.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/time.h>

#include "daemon/clock.h"

#define FAKE_TIMERS_MAX 512
#define FAKE_START_MS 1000000000LL      /* not 0: code treats 0 as "never" */
#define FAKE_SETTLE_TURNS 64            /* loop turns that deliver every chained completion */

struct fake_timer {
	struct event *ev;
	long long deadline;             /* on fake_now */
};

static long long fake_now = FAKE_START_MS;
static struct fake_timer fake_timers[FAKE_TIMERS_MAX];
static int fake_ntimers;

int __real_event_add(struct event *ev, const struct timeval *tv);
int __real_event_del(struct event *ev);
void __real_event_free(struct event *ev);
int __wrap_event_add(struct event *ev, const struct timeval *tv);
int __wrap_event_del(struct event *ev);
void __wrap_event_free(struct event *ev);

static inline void fake_forget(struct event *ev)
{
	for (int i = 0; i < fake_ntimers; i++)
		if (fake_timers[i].ev == ev) {
			fake_timers[i] = fake_timers[--fake_ntimers];
			return;
		}
}

int __wrap_event_add(struct event *ev, const struct timeval *tv)
{
	/* Far enough that the wall clock never gets there during a test. */
	static const struct timeval parked = { 86400, 0 };
	long long ms;

	fake_forget(ev);
	if (tv == NULL)
		return __real_event_add(ev, tv);
	ms = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
	if (ms <= 0)
		return __real_event_add(ev, tv);        /* due now: the next loop turn runs it */
	if (fake_ntimers == FAKE_TIMERS_MAX)
		abort();
	fake_timers[fake_ntimers].ev = ev;
	fake_timers[fake_ntimers].deadline = fake_now + ms;
	fake_ntimers++;
	return __real_event_add(ev, &parked);
}

int __wrap_event_del(struct event *ev)
{
	fake_forget(ev);
	return __real_event_del(ev);
}

void __wrap_event_free(struct event *ev)
{
	fake_forget(ev);
	__real_event_free(ev);
}

static inline void fake_clock_reset(void)
{
	fake_now = FAKE_START_MS;
	fake_ntimers = 0;
	clock_fake(&fake_now);
}

/* Runs the loop, without blocking, until every completion already due has been delivered. */
static inline void fake_settle(struct event_base *base)
{
	for (int i = 0; i < FAKE_SETTLE_TURNS; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Index of the earliest parked timer, or -1. */
static inline int fake_earliest(void)
{
	int best = -1;

	for (int i = 0; i < fake_ntimers; i++)
		if (best < 0 || fake_timers[i].deadline < fake_timers[best].deadline)
			best = i;
	return best;
}

/* Moves the fake clock ms ahead; timers fire in deadline order, each at its own time. */
static inline void fake_advance(struct event_base *base, long long ms)
{
	static const struct timeval now = { 0, 0 };
	long long target = fake_now + ms;
	int i;

	fake_settle(base);
	while ((i = fake_earliest()) >= 0 && fake_timers[i].deadline <= target) {
		struct event *ev = fake_timers[i].ev;

		if (fake_timers[i].deadline > fake_now)
			fake_now = fake_timers[i].deadline;
		fake_timers[i] = fake_timers[--fake_ntimers];
		if (event_pending(ev, EV_TIMEOUT, NULL))
			__real_event_add(ev, &now);
		fake_settle(base);
	}
	fake_now = target;
	fake_settle(base);
}

/* Milliseconds until the earliest parked timer, or -1 when none is armed. */
static inline long long fake_next_timer_in(void)
{
	int i = fake_earliest();

	return i < 0 ? -1 : fake_timers[i].deadline - fake_now;
}

#endif
