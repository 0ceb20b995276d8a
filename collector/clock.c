/* clock.c - the microsecond clocks every front end keeps time with. */
#include <time.h>

#include "ephport.h"

static int64_t clock_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t eph_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

int64_t eph_real_us(void)
{
	return clock_us(CLOCK_REALTIME);
}
