/* Time for deadlines, real or (in tests) fake. */
#include "daemon/clock.h"

#include <time.h>

static const long long *clock_fake_now;

long long clock_ms(void)
{
	struct timespec ts;

	if (clock_fake_now != NULL)
		return *clock_fake_now;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_fake(const long long *now)
{
	clock_fake_now = now;
}

struct timeval clock_tv(long long delay_ms)
{
	struct timeval tv;

	if (delay_ms < 0)
		delay_ms = 0;
	tv.tv_sec = (time_t)(delay_ms / 1000);
	tv.tv_usec = (suseconds_t)(delay_ms % 1000) * 1000;
	return tv;
}
