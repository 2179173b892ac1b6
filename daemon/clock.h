/*
 * The one clock every deadline in exod is measured on, and a fake one so
 * that the state machines can be tested without waiting.
 */
#ifndef EXOD_CLOCK_H
#define EXOD_CLOCK_H

#include <sys/time.h>

/* Milliseconds on CLOCK_BOOTTIME: a suspended machine's tokens and timeouts age too. */
long long clock_ms(void);
/* Tests: read *now instead of the system clock; NULL returns to the real one. */
void clock_fake(const long long *now);
/* A delay in ms (negative counts as 0) as a timeval for libevent. */
struct timeval clock_tv(long long delay_ms);

#endif
