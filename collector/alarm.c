/* alarm.c - the rising/falling threshold state machine (see ephport.h). */
#include <errno.h>

#include "ephport.h"

int eph_alarm_init(struct eph_alarm *a, uint32_t rising_bp, uint32_t falling_bp)
{
	if (rising_bp > EPH_BP_FULL || falling_bp >= rising_bp)
		return -EINVAL;
	a->rising_bp = rising_bp;
	a->falling_bp = falling_bp;
	a->high = false;
	return 0;
}

enum eph_alarm_event eph_alarm_update(struct eph_alarm *a, uint32_t value_bp)
{
	if (!a->high && value_bp >= a->rising_bp) {
		a->high = true;
		return EPH_ALARM_RAISED;
	}
	if (a->high && value_bp <= a->falling_bp) {
		a->high = false;
		return EPH_ALARM_CLEARED;
	}
	return EPH_ALARM_NONE;
}

uint32_t eph_alarm_value(const struct eph_proto_stats *s, int kind)
{
	switch (kind) {
	case EPH_KIND_BIND:
		return s->bind_bp;
	case EPH_KIND_CONNECT:
		return s->connect_bp;
	default:
		return s->pressure_bp;
	}
}
