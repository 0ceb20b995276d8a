/*
 * mib.c - snapshot to EPHEMERAL-PORT-MIB rows.  Indexes follow the MIB:
 * (ephNsIndex, ephRangeProtocol[, ...]); InetAddress indexes are
 * length-prefixed (not IMPLIED).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mib.h"

enum obj {
	O_STATUS,
	O_DATA_AGE,
	O_DURATION,
	O_SOURCE,
	O_COLLECTIONS,
	O_FAILURES,
	O_DISCONTINUITY,
	O_INTERVAL,
	O_NS_NAME,
	O_NS_INODE,
	O_NS_SETTINGS_READ,
	O_NS_TW_REUSE,
	O_NS_TW_REUSE_DELAY,
	O_NS_TIMESTAMPS,
	O_NS_AUTOBIND_REUSE,
	O_R_LOW,
	O_R_HIGH,
	O_R_SIZE,
	O_R_RESERVED,
	O_R_USABLE,
	O_R_ALL_RESERVED,
	O_R_IN_USE,
	O_R_FREE,
	O_R_SOCKETS,
	O_R_SOCKETS_TOTAL,
	O_R_TW,
	O_R_TW_TOTAL,
	O_R_LISTENERS,
	O_R_DESTS,
	O_R_DEST_OVERFLOW,
	O_R_DEST_UNTRACKED,
	O_R_HOST_EXH,
	O_R_WORST_EXH,
	O_R_EXH,
	O_R_ALARM,
	O_R_SOURCE,
	O_R_TOTALS_EXACT,
	O_R_BIND_P,
	O_R_BIND_EXACT,
	O_R_BIND_OWNED,
	O_R_OWNERS_EXACT,
	O_R_CONNECT_P,
	O_R_CONNECT_NEW_P,
	O_R_PRESSURE,
	O_R_PRESSURE_KIND,
	O_R_TW_REUSABLE,
	O_R_BIND_ALARM,
	O_R_CONNECT_ALARM,
	O_R_OPEN_RATE,
	O_R_OPEN_RATE_STATUS,
	O_R_TW_BOUND,
	O_R_SUST_PORTS,
	O_R_SUST_RATE,
	O_R_HEADROOM,
	O_R_P_TREND,
	O_R_EXH_SECONDS,
	O_R_D_TREND,
	O_R_D_EXH_SECONDS,
	O_R_EXH_ALARM,
	O_S_IN_RANGE,
	O_S_TOTAL,
	O_D_SOCKETS,
	O_D_TW,
	O_D_EXH,
	O_D_RANK,
	O_D_BLOCKED,
	O_D_CONNECT_P,
	O_D_TW_REUSABLE,
	O_L_STATE,
	O_T_RISING,
	O_T_FALLING,
	O_T_DEST_ALARM,
	O_T_BIND_RISING,
	O_T_BIND_FALLING,
	O_T_CONNECT_RISING,
	O_T_CONNECT_FALLING,
	O_T_CONNECT_ALARM,
	O_T_EXH_SECONDS,
	O_N_ALARM_KIND,
	O_NS_TW_RECYCLED,
	O_F_OBSERVABLE,
	O_F_REASON,
	O_F_COUNT,
	O_F_DISCONTINUITY,
	O_F_LAST_AGE,
	O_F_OTHER_DEST,
	O_F_OTHER_PROC,
	O_F_ALARM,
	O_FD_COUNT,
	O_FD_RANK,
	O_FD_DISCONTINUITY,
	O_FP_COMM,
	O_FP_CGROUP,
	O_FP_CONTAINER,
	O_FP_COUNT,
	O_FP_RANK,
	O_FP_DISCONTINUITY,
	O_N_FAIL_KIND,
	O_N_FAIL_NEW,
	O_N_FAIL_DEST_TYPE,
	O_N_FAIL_DEST_ADDR,
	O_N_FAIL_DEST_PORT,
	O_N_FAIL_PID,
	O_N_FAIL_COMM,
	O_NS_PROC_ENABLED,
	O_NS_PROC_SOURCE,
	O_NS_PROCESSES,
	O_NS_PROC_DENIED,
	O_NS_UNATTRIBUTED,
	O_NS_PROC_REASON,
	O_P_COMM,
	O_P_CGROUP,
	O_P_CONTAINER,
	O_P_TCP_PORTS,
	O_P_UDP_PORTS,
	O_P_TCP_SOCKETS,
	O_P_UDP_SOCKETS,
	O_P_WORST_TYPE,
	O_P_WORST_ADDR,
	O_P_WORST_PORT,
	O_P_WORST_SOCKETS,
	O_P_RANK,
	O_COUNT
};

const struct ephd_object ephd_objects[] = {
    [O_STATUS] = {"ephCollectorStatus", {1, 1, 1}},
    [O_DATA_AGE] = {"ephDataAge", {1, 1, 2}},
    [O_DURATION] = {"ephLastCollectionDuration", {1, 1, 3}},
    [O_SOURCE] = {"ephSocketSource", {1, 1, 4}},
    [O_COLLECTIONS] = {"ephCollectionsTotal", {1, 1, 5}},
    [O_FAILURES] = {"ephCollectionFailures", {1, 1, 6}},
    [O_DISCONTINUITY] = {"ephCounterDiscontinuityTime", {1, 1, 7}},
    [O_INTERVAL] = {"ephCollectionInterval", {1, 1, 8}},
    [O_NS_NAME] = {"ephNsName", {1, 2, 1, 2}},
    [O_NS_INODE] = {"ephNsInode", {1, 2, 1, 3}},
    [O_NS_SETTINGS_READ] = {"ephNsSettingsRead", {1, 2, 1, 4}},
    [O_NS_TW_REUSE] = {"ephNsTcpTwReuse", {1, 2, 1, 5}},
    [O_NS_TW_REUSE_DELAY] = {"ephNsTcpTwReuseDelay", {1, 2, 1, 6}},
    [O_NS_TIMESTAMPS] = {"ephNsTcpTimestamps", {1, 2, 1, 7}},
    [O_NS_AUTOBIND_REUSE] = {"ephNsIpAutobindReuse", {1, 2, 1, 8}},
    [O_R_LOW] = {"ephRangeLow", {1, 3, 1, 2}},
    [O_R_HIGH] = {"ephRangeHigh", {1, 3, 1, 3}},
    [O_R_SIZE] = {"ephRangeSize", {1, 3, 1, 4}},
    [O_R_RESERVED] = {"ephRangeReserved", {1, 3, 1, 5}},
    [O_R_USABLE] = {"ephRangeUsable", {1, 3, 1, 6}},
    [O_R_ALL_RESERVED] = {"ephRangeAllReserved", {1, 3, 1, 7}},
    [O_R_IN_USE] = {"ephRangePortsInUse", {1, 3, 1, 8}},
    [O_R_FREE] = {"ephRangePortsFree", {1, 3, 1, 9}},
    [O_R_SOCKETS] = {"ephRangeSocketsInRange", {1, 3, 1, 10}},
    [O_R_SOCKETS_TOTAL] = {"ephRangeSocketsTotal", {1, 3, 1, 11}},
    [O_R_TW] = {"ephRangeTimeWait", {1, 3, 1, 12}},
    [O_R_TW_TOTAL] = {"ephRangeTimeWaitTotal", {1, 3, 1, 13}},
    [O_R_LISTENERS] = {"ephRangeListenersInRange", {1, 3, 1, 14}},
    [O_R_DESTS] = {"ephRangeDestinations", {1, 3, 1, 15}},
    [O_R_DEST_OVERFLOW] = {"ephRangeDestOverflow", {1, 3, 1, 16}},
    [O_R_DEST_UNTRACKED] = {"ephRangeDestUntracked", {1, 3, 1, 17}},
    [O_R_HOST_EXH] = {"ephRangeHostExhaustion", {1, 3, 1, 18}},
    [O_R_WORST_EXH] = {"ephRangeWorstDestExhaustion", {1, 3, 1, 19}},
    [O_R_EXH] = {"ephRangeExhaustion", {1, 3, 1, 20}},
    [O_R_ALARM] = {"ephRangeAlarmState", {1, 3, 1, 21}},
    [O_R_SOURCE] = {"ephRangeSocketSource", {1, 3, 1, 22}},
    [O_R_TOTALS_EXACT] = {"ephRangeTotalsExact", {1, 3, 1, 23}},
    [O_R_BIND_P] = {"ephRangeBindPressure", {1, 3, 1, 24}},
    [O_R_BIND_EXACT] = {"ephRangeBindExact", {1, 3, 1, 25}},
    [O_R_BIND_OWNED] = {"ephRangeBindOwned", {1, 3, 1, 26}},
    [O_R_OWNERS_EXACT] = {"ephRangeOwnersExact", {1, 3, 1, 27}},
    [O_R_CONNECT_P] = {"ephRangeConnectPressure", {1, 3, 1, 28}},
    [O_R_CONNECT_NEW_P] = {"ephRangeConnectNewPressure", {1, 3, 1, 29}},
    [O_R_PRESSURE] = {"ephRangePressure", {1, 3, 1, 30}},
    [O_R_PRESSURE_KIND] = {"ephRangePressureKind", {1, 3, 1, 31}},
    [O_R_TW_REUSABLE] = {"ephRangeTimeWaitReusable", {1, 3, 1, 32}},
    [O_R_BIND_ALARM] = {"ephRangeBindAlarmState", {1, 3, 1, 33}},
    [O_R_CONNECT_ALARM] = {"ephRangeConnectAlarmState", {1, 3, 1, 34}},
    [O_R_OPEN_RATE] = {"ephRangeOpenRate", {1, 3, 1, 35}},
    [O_R_OPEN_RATE_STATUS] = {"ephRangeOpenRateStatus", {1, 3, 1, 36}},
    [O_R_TW_BOUND] = {"ephRangeTimeWaitBound", {1, 3, 1, 37}},
    [O_R_SUST_PORTS] = {"ephRangeSustainablePorts", {1, 3, 1, 38}},
    [O_R_SUST_RATE] = {"ephRangeSustainableRate", {1, 3, 1, 39}},
    [O_R_HEADROOM] = {"ephRangeHeadroom", {1, 3, 1, 40}},
    [O_R_P_TREND] = {"ephRangePressureTrend", {1, 3, 1, 41}},
    [O_R_EXH_SECONDS] = {"ephRangeExhaustionSeconds", {1, 3, 1, 42}},
    [O_R_D_TREND] = {"ephRangeWorstDestTrend", {1, 3, 1, 43}},
    [O_R_D_EXH_SECONDS] = {"ephRangeWorstDestSeconds", {1, 3, 1, 44}},
    [O_R_EXH_ALARM] = {"ephRangeExhaustionAlarmState", {1, 3, 1, 45}},
    [O_S_IN_RANGE] = {"ephStateInRange", {1, 4, 1, 2}},
    [O_S_TOTAL] = {"ephStateTotal", {1, 4, 1, 3}},
    [O_D_SOCKETS] = {"ephDestSockets", {1, 5, 1, 6}},
    [O_D_TW] = {"ephDestTimeWait", {1, 5, 1, 7}},
    [O_D_EXH] = {"ephDestExhaustion", {1, 5, 1, 8}},
    [O_D_RANK] = {"ephDestRank", {1, 5, 1, 9}},
    [O_D_BLOCKED] = {"ephDestBlocked", {1, 5, 1, 10}},
    [O_D_CONNECT_P] = {"ephDestConnectPressure", {1, 5, 1, 11}},
    [O_D_TW_REUSABLE] = {"ephDestTimeWaitReusable", {1, 5, 1, 12}},
    [O_L_STATE] = {"ephListenerState", {1, 6, 1, 4}},
    [O_T_RISING] = {"ephThresholdRising", {1, 7, 1}},
    [O_T_FALLING] = {"ephThresholdFalling", {1, 7, 2}},
    [O_T_DEST_ALARM] = {"ephDestAlarmEnabled", {1, 7, 3}},
    [O_T_BIND_RISING] = {"ephBindThresholdRising", {1, 7, 4}},
    [O_T_BIND_FALLING] = {"ephBindThresholdFalling", {1, 7, 5}},
    [O_T_CONNECT_RISING] = {"ephConnectThresholdRising", {1, 7, 6}},
    [O_T_CONNECT_FALLING] = {"ephConnectThresholdFalling", {1, 7, 7}},
    [O_T_CONNECT_ALARM] = {"ephConnectAlarmEnabled", {1, 7, 8}},
    [O_T_EXH_SECONDS] = {"ephExhaustionThresholdSeconds", {1, 7, 9}},
    [O_N_ALARM_KIND] = {"ephAlarmKind", {1, 8, 1}, true},
    /* Issue 18: allocation failures and TcpExt TWRecycled. */
    [O_NS_TW_RECYCLED] = {"ephNsTcpTwRecycled", {1, 2, 1, 9}},
    [O_F_OBSERVABLE] = {"ephFailureObservable", {1, 9, 1, 2}},
    [O_F_REASON] = {"ephFailureReason", {1, 9, 1, 3}},
    [O_F_COUNT] = {"ephFailureCount", {1, 9, 1, 4}},
    [O_F_DISCONTINUITY] = {"ephFailureDiscontinuityTime", {1, 9, 1, 5}},
    [O_F_LAST_AGE] = {"ephFailureLastAge", {1, 9, 1, 6}},
    [O_F_OTHER_DEST] = {"ephFailureOtherDest", {1, 9, 1, 7}},
    [O_F_OTHER_PROC] = {"ephFailureOtherProc", {1, 9, 1, 8}},
    [O_F_ALARM] = {"ephFailureAlarmState", {1, 9, 1, 9}},
    [O_FD_COUNT] = {"ephFailDestCount", {1, 10, 1, 4}},
    [O_FD_RANK] = {"ephFailDestRank", {1, 10, 1, 5}},
    [O_FD_DISCONTINUITY] = {"ephFailDestDiscontinuityTime", {1, 10, 1, 6}},
    [O_FP_COMM] = {"ephFailProcComm", {1, 11, 1, 2}},
    [O_FP_CGROUP] = {"ephFailProcCgroup", {1, 11, 1, 3}},
    [O_FP_CONTAINER] = {"ephFailProcContainer", {1, 11, 1, 4}},
    [O_FP_COUNT] = {"ephFailProcCount", {1, 11, 1, 5}},
    [O_FP_RANK] = {"ephFailProcRank", {1, 11, 1, 6}},
    [O_FP_DISCONTINUITY] = {"ephFailProcDiscontinuityTime", {1, 11, 1, 7}},
    [O_N_FAIL_KIND] = {"ephFailureEventKind", {1, 8, 2}, true},
    [O_N_FAIL_NEW] = {"ephFailureEventNew", {1, 8, 3}, true},
    [O_N_FAIL_DEST_TYPE] = {"ephFailureEventDestAddrType", {1, 8, 4}, true},
    [O_N_FAIL_DEST_ADDR] = {"ephFailureEventDestAddr", {1, 8, 5}, true},
    [O_N_FAIL_DEST_PORT] = {"ephFailureEventDestPort", {1, 8, 6}, true},
    [O_N_FAIL_PID] = {"ephFailureEventPid", {1, 8, 7}, true},
    [O_N_FAIL_COMM] = {"ephFailureEventComm", {1, 8, 8}, true},
    /* Issue 18: who holds the ports. */
    [O_NS_PROC_ENABLED] = {"ephNsProcessesEnabled", {1, 2, 1, 10}},
    [O_NS_PROC_SOURCE] = {"ephNsProcessesSource", {1, 2, 1, 11}},
    [O_NS_PROCESSES] = {"ephNsProcesses", {1, 2, 1, 12}},
    [O_NS_PROC_DENIED] = {"ephNsProcessesDenied", {1, 2, 1, 13}},
    [O_NS_UNATTRIBUTED] = {"ephNsSocketsUnattributed", {1, 2, 1, 14}},
    [O_NS_PROC_REASON] = {"ephNsProcessesReason", {1, 2, 1, 15}},
    [O_P_COMM] = {"ephProcessComm", {1, 12, 1, 2}},
    [O_P_CGROUP] = {"ephProcessCgroup", {1, 12, 1, 3}},
    [O_P_CONTAINER] = {"ephProcessContainer", {1, 12, 1, 4}},
    [O_P_TCP_PORTS] = {"ephProcessTcpPorts", {1, 12, 1, 5}},
    [O_P_UDP_PORTS] = {"ephProcessUdpPorts", {1, 12, 1, 6}},
    [O_P_TCP_SOCKETS] = {"ephProcessTcpSockets", {1, 12, 1, 7}},
    [O_P_UDP_SOCKETS] = {"ephProcessUdpSockets", {1, 12, 1, 8}},
    [O_P_WORST_TYPE] = {"ephProcessWorstDestAddrType", {1, 12, 1, 9}},
    [O_P_WORST_ADDR] = {"ephProcessWorstDestAddr", {1, 12, 1, 10}},
    [O_P_WORST_PORT] = {"ephProcessWorstDestPort", {1, 12, 1, 11}},
    [O_P_WORST_SOCKETS] = {"ephProcessWorstDestSockets", {1, 12, 1, 12}},
    [O_P_RANK] = {"ephProcessRank", {1, 12, 1, 13}},
    [O_COUNT] = {NULL, {0}, false},
};

size_t ephd_object_oid(size_t i, ephd_oid *out)
{
	static const ephd_oid root[] = {EPHD_ROOT};
	size_t n = EPHD_ROOT_LEN;

	memcpy(out, root, sizeof(root));
	for (size_t k = 0; k < 4 && ephd_objects[i].sub[k]; k++)
		out[n++] = ephd_objects[i].sub[k];
	return n;
}

/* Scalars (3 sub-identifiers below the root) get the ".0" instance. */
static bool is_scalar(enum obj o)
{
	return ephd_objects[o].sub[3] == 0;
}

struct builder {
	struct ephd_view *v;
	int err;
};

static void add(struct builder *b, enum obj o, const ephd_oid *idx,
		size_t idx_len, const struct ephd_value *val)
{
	ephd_oid name[EPHD_OID_MAX];
	size_t n = ephd_object_oid(o, name);

	if (is_scalar(o)) {
		name[n++] = 0;
	} else {
		if (n + idx_len > EPHD_OID_MAX) {
			b->err = -1;
			return;
		}
		memcpy(name + n, idx, idx_len * sizeof(*idx));
		n += idx_len;
	}
	if (ephd_view_add(b->v, name, n, val) < 0)
		b->err = -1;
}

static void add_num(struct builder *b, enum obj o, const ephd_oid *idx,
		    size_t idx_len, enum ephd_type type, uint64_t u)
{
	struct ephd_value val = {.type = (uint8_t)type};

	if (type == EPHD_INTEGER)
		val.v.i = (int32_t)u;
	else
		val.v.u = u;
	add(b, o, idx, idx_len, &val);
}

static uint64_t gauge(uint64_t x)
{
	return x > UINT32_MAX ? UINT32_MAX : x;
}

static int truth(bool x)
{
	return x ? 1 : 2;
}

static int source_enum(enum eph_source s)
{
	switch (s) {
	case EPH_SOURCE_NETLINK:
		return 2;
	case EPH_SOURCE_PROCFS:
		return 3;
	case EPH_SOURCE_BPF:
		return 4;
	default:
		return 1;
	}
}

/* InetAddressType, then the length-prefixed InetAddress. */
static size_t put_addr(ephd_oid *idx, const struct eph_addr *a)
{
	size_t len = a->family == AF_INET6 ? 16 : 4, n = 0;

	idx[n++] = a->family == AF_INET6 ? 2 : 1;
	idx[n++] = (ephd_oid)len;
	for (size_t i = 0; i < len; i++)
		idx[n++] = a->bytes[i];
	return n;
}

/* EphAlarmState of one alarm of row p of namespace ns. */
static int alarm_state(const struct ephd_state *st, const struct ephd_ns *ns,
		       int p, enum eph_kind k)
{
	if (k == EPH_KIND_CONNECT && (p != EPH_TCP || !st->connect_alarm))
		return EPHD_ALARM_OFF;
	return ns->alarm[p][k] == EPHD_ALARM_HIGH ? EPHD_ALARM_HIGH
						  : EPHD_ALARM_NORMAL;
}

static void add_range(struct builder *b, const struct ephd_state *st,
		      const struct ephd_ns *ns, const ephd_oid *idx,
		      const struct eph_proto_stats *s, int p)
{
	static const struct {
		enum obj o;
		enum ephd_type t;
		size_t off;
	} cols[] = {
#define C(o, t, f) {o, t, offsetof(struct eph_proto_stats, f)}
	    C(O_R_SIZE, EPHD_UNSIGNED, size),
	    C(O_R_RESERVED, EPHD_UNSIGNED, reserved),
	    C(O_R_USABLE, EPHD_UNSIGNED, usable),
	    C(O_R_IN_USE, EPHD_GAUGE, ports_in_use),
	    C(O_R_FREE, EPHD_GAUGE, ports_free),
	    C(O_R_LISTENERS, EPHD_GAUGE, listeners_in_range),
	    C(O_R_HOST_EXH, EPHD_UNSIGNED, host_exhaustion_bp),
	    C(O_R_WORST_EXH, EPHD_UNSIGNED, worst_dest_exhaustion_bp),
	    C(O_R_EXH, EPHD_UNSIGNED, exhaustion_bp),
	    C(O_R_BIND_P, EPHD_UNSIGNED, bind_bp),
	    C(O_R_BIND_OWNED, EPHD_GAUGE, bind_owned),
	    C(O_R_CONNECT_P, EPHD_UNSIGNED, connect_bp),
	    C(O_R_CONNECT_NEW_P, EPHD_UNSIGNED, connect_new_bp),
	    C(O_R_PRESSURE, EPHD_UNSIGNED, pressure_bp),
#undef C
	};

	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		uint32_t x;

		memcpy(&x, (const char *)s + cols[i].off, sizeof(x));
		add_num(b, cols[i].o, idx, 2, cols[i].t, x);
	}
	add_num(b, O_R_LOW, idx, 2, EPHD_UNSIGNED, s->low);
	add_num(b, O_R_HIGH, idx, 2, EPHD_UNSIGNED, s->high);
	add_num(b, O_R_ALL_RESERVED, idx, 2, EPHD_INTEGER,
		truth(s->all_reserved));
	add_num(b, O_R_SOCKETS, idx, 2, EPHD_GAUGE, gauge(s->sockets_in_range));
	add_num(b, O_R_SOCKETS_TOTAL, idx, 2, EPHD_GAUGE,
		gauge(s->sockets_total));
	add_num(b, O_R_TW, idx, 2, EPHD_GAUGE, gauge(s->time_wait));
	add_num(b, O_R_TW_TOTAL, idx, 2, EPHD_GAUGE, gauge(s->time_wait_total));
	add_num(b, O_R_DESTS, idx, 2, EPHD_GAUGE, gauge(s->destinations));
	add_num(b, O_R_DEST_OVERFLOW, idx, 2, EPHD_INTEGER,
		truth(s->dest_overflow));
	add_num(b, O_R_DEST_UNTRACKED, idx, 2, EPHD_GAUGE,
		gauge(s->dest_untracked));
	add_num(b, O_R_ALARM, idx, 2, EPHD_INTEGER,
		alarm_state(st, ns, p, EPH_KIND_BIND) == EPHD_ALARM_HIGH ||
			alarm_state(st, ns, p, EPH_KIND_CONNECT) ==
			    EPHD_ALARM_HIGH
		    ? 2
		    : 1);
	add_num(b, O_R_BIND_EXACT, idx, 2, EPHD_INTEGER, truth(s->bind_exact));
	add_num(b, O_R_OWNERS_EXACT, idx, 2, EPHD_INTEGER,
		truth(s->owners_exact));
	add_num(b, O_R_PRESSURE_KIND, idx, 2, EPHD_INTEGER,
		s->pressure_kind == EPH_KIND_CONNECT ? 2 : 1);
	add_num(b, O_R_TW_REUSABLE, idx, 2, EPHD_GAUGE,
		gauge(s->time_wait_reusable));
	add_num(b, O_R_BIND_ALARM, idx, 2, EPHD_INTEGER,
		alarm_state(st, ns, p, EPH_KIND_BIND));
	add_num(b, O_R_CONNECT_ALARM, idx, 2, EPHD_INTEGER,
		alarm_state(st, ns, p, EPH_KIND_CONNECT));
	add_num(b, O_R_SOURCE, idx, 2, EPHD_INTEGER, source_enum(s->source));
	add_num(b, O_R_TOTALS_EXACT, idx, 2, EPHD_INTEGER,
		truth(s->totals_exact));
}

/* x * scale rounded, as a Gauge32 (negative and NaN: 0). */
static uint64_t scaled(double x, double scale)
{
	double y = x * scale + 0.5;

	if (!(y >= 0))
		return 0;
	return y >= (double)UINT32_MAX ? UINT32_MAX : (uint64_t)y;
}

/* ephRange...Seconds: the prediction (rounded down; at most 4294967294),
 * 0 when exhausted, 4294967295 when not approaching or unknown. */
static uint64_t trend_seconds(const struct eph_trend *t)
{
	if (t->status == EPH_TREND_EXHAUSTED)
		return 0;
	if (t->status != EPH_TREND_APPROACHING)
		return UINT32_MAX;
	if (!(t->seconds >= 0))
		return 0;
	return t->seconds >= (double)(UINT32_MAX - 1) ? UINT32_MAX - 1
						      : (uint64_t)t->seconds;
}

/* EphTrendStatus and EphRateStatus: the C enums, from 1. */
static int trend_enum(enum eph_trend_status s)
{
	return (int)s + 1;
}

static int exh_alarm_state(const struct ephd_state *st,
			   const struct ephd_ns *ns, int p)
{
	if (!st->exhaustion_s)
		return EPHD_ALARM_OFF;
	return ns->exh_alarm[p] == EPHD_ALARM_HIGH ? EPHD_ALARM_HIGH
						   : EPHD_ALARM_NORMAL;
}

/* The rate columns of row p (issue 14).  Values that do not exist are
 * left out, as the MIB says: the open rate unless its status is ok(1),
 * the sustainable ports and rate unless TIME_WAIT bound, the headroom
 * unless both rates are there and the open rate is not 0. */
static void add_rates(struct builder *b, const struct ephd_state *st,
		      const struct ephd_ns *ns, const ephd_oid *idx, int p)
{
	const struct eph_rate_proto *r = &ns->rate->proto[p];

	if (r->open_status == EPH_RATE_OK)
		add_num(b, O_R_OPEN_RATE, idx, 2, EPHD_GAUGE,
			scaled(r->open_rate, 1000));
	add_num(b, O_R_OPEN_RATE_STATUS, idx, 2, EPHD_INTEGER,
		(int)r->open_status + 1);
	add_num(b, O_R_TW_BOUND, idx, 2, EPHD_INTEGER, truth(r->tw_bound));
	if (r->tw_bound) {
		add_num(b, O_R_SUST_PORTS, idx, 2, EPHD_GAUGE,
			r->sustainable_ports);
		add_num(b, O_R_SUST_RATE, idx, 2, EPHD_GAUGE,
			scaled(r->sustainable_rate, 1000));
	}
	if (r->has_headroom)
		add_num(b, O_R_HEADROOM, idx, 2, EPHD_GAUGE,
			scaled(r->headroom, 100));
	add_num(b, O_R_P_TREND, idx, 2, EPHD_INTEGER,
		trend_enum(r->pressure.status));
	add_num(b, O_R_EXH_SECONDS, idx, 2, EPHD_GAUGE,
		trend_seconds(&r->pressure));
	add_num(b, O_R_D_TREND, idx, 2, EPHD_INTEGER,
		trend_enum(r->worst_blocked.status));
	add_num(b, O_R_D_EXH_SECONDS, idx, 2, EPHD_GAUGE,
		trend_seconds(&r->worst_blocked));
	add_num(b, O_R_EXH_ALARM, idx, 2, EPHD_INTEGER,
		exh_alarm_state(st, ns, p));
}

/* ephStateIndex is the kernel's state number, as enum eph_tcp_state. */
static void add_states(struct builder *b, const ephd_oid *idx,
		       const struct eph_proto_stats *s, int p)
{
	const enum eph_tcp_state *states = eph_proto_states((enum eph_proto)p);
	ephd_oid sidx[3] = {idx[0], idx[1], 0};

	for (size_t i = 0; states[i] != EPH_ST_UNKNOWN; i++) {
		sidx[2] = states[i];
		add_num(b, O_S_IN_RANGE, sidx, 3, EPHD_GAUGE,
			gauge(s->state_in_range[states[i]]));
		add_num(b, O_S_TOTAL, sidx, 3, EPHD_GAUGE,
			gauge(s->state_total[states[i]]));
	}
}

/* ephDestTable index of d: ns.proto.type.len.addr.type.len.addr.port */
static size_t dest_index(const ephd_oid *idx, const struct eph_dest *d,
			 ephd_oid *didx)
{
	size_t n = 2;

	didx[0] = idx[0];
	didx[1] = idx[1];
	n += put_addr(didx + n, &d->laddr);
	n += put_addr(didx + n, &d->raddr);
	didx[n++] = d->rport;
	return n;
}

static void add_dests(struct builder *b, const ephd_oid *idx,
		      const struct eph_proto_stats *s)
{
	for (uint32_t i = 0; i < s->n_top; i++) {
		const struct eph_dest *d = &s->top[i];
		ephd_oid didx[EPHD_OID_MAX];
		size_t n = dest_index(idx, d, didx);
		add_num(b, O_D_SOCKETS, didx, n, EPHD_GAUGE, d->sockets);
		add_num(b, O_D_TW, didx, n, EPHD_GAUGE, d->time_wait);
		add_num(b, O_D_EXH, didx, n, EPHD_UNSIGNED, d->exhaustion_bp);
		add_num(b, O_D_RANK, didx, n, EPHD_UNSIGNED, i + 1);
		add_num(b, O_D_BLOCKED, didx, n, EPHD_GAUGE, d->blocked);
		add_num(b, O_D_CONNECT_P, didx, n, EPHD_UNSIGNED,
			d->connect_bp);
		add_num(b, O_D_TW_REUSABLE, didx, n, EPHD_GAUGE,
			d->tw_reusable);
	}
}

static void add_listeners(struct builder *b, const ephd_oid *idx,
			  const struct eph_proto_stats *s, int p)
{
	for (uint32_t i = 0; i < s->n_listeners; i++) {
		ephd_oid lidx[EPHD_OID_MAX];
		size_t n = 2;

		lidx[0] = idx[0];
		lidx[1] = idx[1];
		n += put_addr(lidx + n, &s->listeners[i].addr);
		lidx[n++] = s->listeners[i].port;
		add_num(b, O_L_STATE, lidx, n, EPHD_INTEGER,
			p == EPH_TCP ? EPH_ST_LISTEN : EPH_ST_CLOSE);
	}
}

/*
 * n bytes of s into a DisplayString: RFC 2579 makes it NVT ASCII, but a
 * comm, a cgroup path or a namespace's name is any bytes (UTF-8, a
 * character the kernel cut at 15 bytes, a control character that would
 * reach a manager's terminal or log): each byte outside 0x20-0x7e becomes
 * '?', as cli/processes.c does for Prometheus labels.  Not for the OCTET
 * STRINGs (InetAddress), which are built apart.
 */
void ephd_display_copy(char *dst, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[i] = c < 0x20 || c > 0x7e ? '?' : (char)c;
	}
}

/* A DisplayString value. */
static struct ephd_value octets(const char *s)
{
	struct ephd_value val = {.type = EPHD_OCTETS};

	val.len = (uint8_t)strnlen(s, sizeof(val.v.s));
	ephd_display_copy(val.v.s, s, val.len);
	return val;
}

/* A DisplayString of at most max bytes (the MIB's SIZE) from the string
 * in s[size] (NUL-terminated or not: comm may fill its 16 bytes): its head,
 * or its tail when tail is set (a cgroup path's innermost part names the
 * workload). */
static struct ephd_value octets_max(const char *s, size_t size, size_t max,
				    bool tail)
{
	struct ephd_value val = {.type = EPHD_OCTETS};
	size_t n = strnlen(s, size), off = 0;

	if (max > sizeof(val.v.s))
		max = sizeof(val.v.s);
	if (n > max) {
		off = tail ? n - max : 0;
		n = max;
	}
	val.len = (uint8_t)n;
	ephd_display_copy(val.v.s, s + off, n);
	return val;
}

/* A value computed when asked (enum ephd_dynamic) from the time t. */
static void add_dynamic(struct builder *b, enum obj o, const ephd_oid *idx,
			size_t idx_len, enum ephd_type type,
			enum ephd_dynamic dyn, int64_t t)
{
	struct ephd_value val = {.type = (uint8_t)type,
				 .dynamic = (uint8_t)dyn};

	val.v.u = t > 0 ? (uint64_t)t : 0;
	add(b, o, idx, idx_len, &val);
}

/* ephFailureKind: the C enum, from 1. */
static ephd_oid fail_kind_index(enum eph_fail_kind k)
{
	return (ephd_oid)k + 1;
}

/* The rows of ephFailureTable, ephFailDestTable and ephFailProcTable of
 * namespace ns.  Not observable: only ephFailureObservable false(2), the
 * reason and the alarm off(3); no counter is served, since none was
 * measured. */
/* When a row's count began: its entry's since_us on the monotonic clock,
 * or the namespace's discontinuity when that is later (or since_us is
 * not known). */
static int64_t row_disc_mono_us(const struct ephd_ns *ns, int64_t since_us)
{
	int64_t m = since_us - ns->fail_real_minus_mono_us;

	return since_us && m > ns->fail_disc_mono_us ? m
						     : ns->fail_disc_mono_us;
}

static void add_failures(struct builder *b, const struct ephd_ns *ns,
			 const struct eph_failures *f)
{
	uint32_t rank;

	for (int k = 0; k < EPH_FAIL_KINDS; k++) {
		const ephd_oid idx[2] = {
		    ns->index, fail_kind_index((enum eph_fail_kind)k)};
		struct ephd_value why =
		    f->observable
			? octets("")
			: octets_max(f->why, sizeof(f->why), 127, false);

		add_num(b, O_F_OBSERVABLE, idx, 2, EPHD_INTEGER,
			truth(f->observable));
		add(b, O_F_REASON, idx, 2, &why);
		add_num(b, O_F_ALARM, idx, 2, EPHD_INTEGER,
			!f->observable ? EPHD_ALARM_OFF
			: ns->fail_alarm[k] == EPHD_ALARM_HIGH
			    ? EPHD_ALARM_HIGH
			    : EPHD_ALARM_NORMAL);
		if (!f->observable)
			continue;
		add_num(b, O_F_COUNT, idx, 2, EPHD_COUNTER64, f->total[k]);
		add_dynamic(b, O_F_DISCONTINUITY, idx, 2, EPHD_TIMETICKS,
			    EPHD_UPTIME_AT, ns->fail_disc_mono_us);
		if (f->last_us[k])
			add_dynamic(b, O_F_LAST_AGE, idx, 2, EPHD_GAUGE,
				    EPHD_AGE_OF, f->last_us[k]);
		add_num(b, O_F_OTHER_DEST, idx, 2, EPHD_COUNTER64,
			f->dest_other[k]);
		add_num(b, O_F_OTHER_PROC, idx, 2, EPHD_COUNTER64,
			f->proc_other[k]);
	}
	if (!f->observable)
		return;
	rank = 0;
	for (uint32_t i = 0; i < f->n_dests && i < EPH_FAIL_TOP; i++) {
		const struct eph_fail_dest *d = &f->dests[i];
		ephd_oid didx[EPHD_OID_MAX];
		size_t n = 2;

		if (d->kind >= EPH_FAIL_KINDS)
			continue;
		didx[0] = ns->index;
		didx[1] = fail_kind_index(d->kind);
		n += put_addr(didx + n, &d->raddr);
		didx[n++] = d->rport;
		add_num(b, O_FD_COUNT, didx, n, EPHD_COUNTER64, d->count);
		add_num(b, O_FD_RANK, didx, n, EPHD_UNSIGNED, ++rank);
		add_dynamic(b, O_FD_DISCONTINUITY, didx, n, EPHD_TIMETICKS,
			    EPHD_UPTIME_AT, row_disc_mono_us(ns, d->since_us));
	}
	rank = 0;
	for (uint32_t i = 0; i < f->n_procs && i < EPH_FAIL_TOP; i++) {
		const struct eph_fail_proc *p = &f->procs[i];
		const ephd_oid pidx[3] = {ns->index, fail_kind_index(p->kind),
					  p->pid};
		struct ephd_value val;

		/* ephFailProcPid is 1.. (no thread group is 0) */
		if (p->kind >= EPH_FAIL_KINDS || !p->pid)
			continue;
		val = octets_max(p->comm, sizeof(p->comm), 15, false);
		add(b, O_FP_COMM, pidx, 3, &val);
		val = octets_max(p->cgroup, sizeof(p->cgroup), 127, true);
		add(b, O_FP_CGROUP, pidx, 3, &val);
		val = octets_max(p->container, sizeof(p->container), 79, false);
		add(b, O_FP_CONTAINER, pidx, 3, &val);
		add_num(b, O_FP_COUNT, pidx, 3, EPHD_COUNTER64, p->count);
		add_num(b, O_FP_RANK, pidx, 3, EPHD_UNSIGNED, ++rank);
		add_dynamic(b, O_FP_DISCONTINUITY, pidx, 3, EPHD_TIMETICKS,
			    EPHD_UPTIME_AT, row_disc_mono_us(ns, p->since_us));
	}
}

/* ephNsProcessesEnabled to ephNsProcessesReason and the ephProcessTable
 * rows of namespace ns.  Off, or not collected: only the flag and the
 * reason; no count is served, since none was measured. */
static void add_processes(struct builder *b, const struct ephd_state *st,
			  const struct ephd_ns *ns)
{
	const ephd_oid nsi[1] = {ns->index};
	const struct eph_holders *h = st->processes ? ns->holders : NULL;
	const char *why = !st->processes ? "off (ephportd.conf: processes no)"
			  : h		 ? ""
			  : ns->holders_why && ns->holders_why[0]
			      ? ns->holders_why
			      : "not collected yet";
	struct ephd_value val = octets_max(why, strlen(why), 127, false);
	uint32_t rank = 0;

	add_num(b, O_NS_PROC_ENABLED, nsi, 1, EPHD_INTEGER,
		truth(st->processes));
	add(b, O_NS_PROC_REASON, nsi, 1, &val);
	if (!h)
		return;
	add_num(b, O_NS_PROC_SOURCE, nsi, 1, EPHD_INTEGER,
		h->source == EPH_HOLDERS_BPF ? 2 : 1);
	add_num(b, O_NS_PROCESSES, nsi, 1, EPHD_GAUGE, h->processes);
	add_num(b, O_NS_PROC_DENIED, nsi, 1, EPHD_GAUGE, h->processes_denied);
	add_num(b, O_NS_UNATTRIBUTED, nsi, 1, EPHD_GAUGE,
		gauge(h->sockets_unattributed));
	for (uint32_t i = 0; i < h->n && rank < EPHD_PROCESSES_ROWS; i++) {
		const struct eph_holder *p = &h->v[i];
		const ephd_oid pidx[2] = {ns->index, p->pid};

		/* ephProcessPid is 1.. */
		if (!p->pid)
			continue;
		val = octets_max(p->comm, sizeof(p->comm), 15, false);
		add(b, O_P_COMM, pidx, 2, &val);
		val = octets_max(p->cgroup, sizeof(p->cgroup), 127, true);
		add(b, O_P_CGROUP, pidx, 2, &val);
		val = octets_max(p->container, sizeof(p->container), 79, false);
		add(b, O_P_CONTAINER, pidx, 2, &val);
		add_num(b, O_P_TCP_PORTS, pidx, 2, EPHD_GAUGE,
			p->ports[EPH_TCP]);
		add_num(b, O_P_UDP_PORTS, pidx, 2, EPHD_GAUGE,
			p->ports[EPH_UDP]);
		add_num(b, O_P_TCP_SOCKETS, pidx, 2, EPHD_GAUGE,
			p->sockets[EPH_TCP]);
		add_num(b, O_P_UDP_SOCKETS, pidx, 2, EPHD_GAUGE,
			p->sockets[EPH_UDP]);
		if (p->has_worst) {
			struct ephd_value addr = {.type = EPHD_OCTETS};
			bool v6 = p->worst_raddr.family == AF_INET6;

			add_num(b, O_P_WORST_TYPE, pidx, 2, EPHD_INTEGER,
				v6 ? 2 : 1);
			addr.len = v6 ? 16 : 4;
			memcpy(addr.v.s, p->worst_raddr.bytes, addr.len);
			add(b, O_P_WORST_ADDR, pidx, 2, &addr);
			add_num(b, O_P_WORST_PORT, pidx, 2, EPHD_UNSIGNED,
				p->worst_rport);
			add_num(b, O_P_WORST_SOCKETS, pidx, 2, EPHD_GAUGE,
				p->worst_sockets);
		}
		add_num(b, O_P_RANK, pidx, 2, EPHD_UNSIGNED, ++rank);
	}
}

/* ephNamespaceTable's row of ns and every row indexed by it. */
static void add_namespace(struct builder *b, const struct ephd_state *st,
			  const struct ephd_ns *ns)
{
	const struct eph_snapshot *snap = ns->snap;
	const ephd_oid nsi[1] = {ns->index};
	struct ephd_value val = octets(ns->name);

	add(b, O_NS_NAME, nsi, 1, &val);
	add_num(b, O_NS_INODE, nsi, 1, EPHD_UNSIGNED, ns->inode);
	add_processes(b, st, ns);
	if (!snap)
		return;
	/* The settings the model used: known once it ran. */
	add_num(b, O_NS_SETTINGS_READ, nsi, 1, EPHD_INTEGER,
		truth(snap->knobs.read));
	add_num(b, O_NS_TW_REUSE, nsi, 1, EPHD_UNSIGNED, snap->knobs.tw_reuse);
	add_num(b, O_NS_TW_REUSE_DELAY, nsi, 1, EPHD_UNSIGNED,
		snap->knobs.tw_reuse_delay_ms);
	add_num(b, O_NS_TIMESTAMPS, nsi, 1, EPHD_UNSIGNED,
		snap->knobs.timestamps);
	add_num(b, O_NS_AUTOBIND_REUSE, nsi, 1, EPHD_UNSIGNED,
		snap->knobs.autobind_reuse);
	/* TWRecycled is read whatever the socket source. */
	if (snap->counters.tw_recycled_read)
		add_num(b, O_NS_TW_RECYCLED, nsi, 1, EPHD_COUNTER64,
			snap->counters.tw_recycled);
	add_failures(b, ns, &snap->failures);

	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *s = &snap->proto[p];
		/* ephRangeProtocol: tcp(1), udp(2) */
		const ephd_oid idx[2] = {ns->index, (ephd_oid)p + 1};

		if (!s->collected)
			continue;
		add_range(b, st, ns, idx, s, p);
		if (ns->rate && ns->rate->proto[p].collected)
			add_rates(b, st, ns, idx, p);
		add_states(b, idx, s, p);
		add_dests(b, idx, s);
		add_listeners(b, idx, s, p);
	}
}

struct ephd_view *ephd_mib_build(const struct ephd_state *st)
{
	struct ephd_ns one = {.index = 1, .inode = st->ns_inode};
	const struct ephd_ns *ns = st->ns;
	size_t n_ns = st->n_ns, rows = 0;
	const struct eph_snapshot *first = NULL;
	enum eph_source source = EPH_SOURCE_NONE;
	int64_t taken_us = 0;
	struct builder b;
	struct ephd_value val = {0};

	if (!n_ns) {
		one.snap = st->snap;
		memcpy(one.name, st->ns_name, sizeof(one.name));
		one.name[sizeof(one.name) - 1] = '\0';
		memcpy(one.alarm, st->alarm, sizeof(one.alarm));
		one.rate = st->rate;
		memcpy(one.exh_alarm, st->exh_alarm, sizeof(one.exh_alarm));
		one.holders = st->holders;
		one.holders_why = st->holders_why;
		ns = &one;
		n_ns = 1;
	}
	/* The scalars of the pass: the first namespace's source unless one
	 * fell back to /proc; the age of the oldest numbers served. */
	for (size_t i = 0; i < n_ns; i++) {
		const struct eph_snapshot *s = ns[i].snap;

		rows +=
		    s ? 184 + 3 * 9 + 2 * 2 * EPH_FAIL_TOP + 3 * EPH_FAIL_TOP
		      : 2;
		/* ephNsProcesses... and ephProcessTable */
		rows += 6 + (ns[i].holders ? 13 * (size_t)ns[i].holders->n : 0);
		if (!s)
			continue;
		if (!first) {
			first = s;
			source = s->source;
		}
		if (s->source == EPH_SOURCE_PROCFS)
			source = EPH_SOURCE_PROCFS;
		if (!taken_us || s->taken_us < taken_us)
			taken_us = s->taken_us;
	}
	b.v = ephd_view_new(rows + 32);
	b.err = 0;
	if (!b.v)
		return NULL;
	add_num(&b, O_STATUS, NULL, 0, EPHD_INTEGER, st->status);
	val.type = EPHD_GAUGE;
	val.dynamic = EPHD_DATA_AGE;
	add(&b, O_DATA_AGE, NULL, 0, &val);
	add_num(&b, O_DURATION, NULL, 0, EPHD_GAUGE,
		st->duration_us ? st->duration_us
		: first		? first->duration_us
				: 0);
	add_num(&b, O_SOURCE, NULL, 0, EPHD_INTEGER, source_enum(source));
	add_num(&b, O_COLLECTIONS, NULL, 0, EPHD_COUNTER64, st->collections);
	add_num(&b, O_FAILURES, NULL, 0, EPHD_COUNTER64, st->failures);
	/* The counters start with the agent: no discontinuity since. */
	add_num(&b, O_DISCONTINUITY, NULL, 0, EPHD_TIMETICKS, 0);
	add_num(&b, O_INTERVAL, NULL, 0, EPHD_UNSIGNED, st->interval);

	for (size_t i = 0; i < n_ns; i++)
		add_namespace(&b, st, &ns[i]);

	add_num(&b, O_T_RISING, NULL, 0, EPHD_UNSIGNED, st->rising_bp);
	add_num(&b, O_T_FALLING, NULL, 0, EPHD_UNSIGNED, st->falling_bp);
	add_num(&b, O_T_DEST_ALARM, NULL, 0, EPHD_INTEGER,
		truth(st->connect_alarm));
	add_num(&b, O_T_BIND_RISING, NULL, 0, EPHD_UNSIGNED,
		st->kind_rising_bp[EPH_KIND_BIND]);
	add_num(&b, O_T_BIND_FALLING, NULL, 0, EPHD_UNSIGNED,
		st->kind_falling_bp[EPH_KIND_BIND]);
	add_num(&b, O_T_CONNECT_RISING, NULL, 0, EPHD_UNSIGNED,
		st->kind_rising_bp[EPH_KIND_CONNECT]);
	add_num(&b, O_T_CONNECT_FALLING, NULL, 0, EPHD_UNSIGNED,
		st->kind_falling_bp[EPH_KIND_CONNECT]);
	add_num(&b, O_T_CONNECT_ALARM, NULL, 0, EPHD_INTEGER,
		truth(st->connect_alarm));
	add_num(&b, O_T_EXH_SECONDS, NULL, 0, EPHD_UNSIGNED, st->exhaustion_s);

	ephd_view_seal(b.v);
	if (b.err) {
		ephd_view_free(b.v);
		return NULL;
	}
	b.v->taken_us = taken_us;
	return b.v;
}

size_t ephd_mib_notification(const struct ephd_event *e, ephd_oid *trap_oid,
			     size_t *trap_oid_len, struct ephd_row *rows,
			     size_t max)
{
	static const ephd_oid root[] = {EPHD_ROOT};
	const struct eph_proto_stats *s = &e->stats;
	const ephd_oid nsi = e->ns_index ? e->ns_index : 1;
	const ephd_oid idx[2] = {nsi, (ephd_oid)e->proto + 1}, ns[1] = {nsi};
	struct ephd_view v = {0, max, rows, 0};
	struct builder b = {&v, 0};
	struct ephd_value val = octets(e->ns_name);
	bool connect = e->alarm == EPH_KIND_CONNECT;

	memcpy(trap_oid, root, sizeof(root));
	trap_oid[EPHD_ROOT_LEN] = 0;
	*trap_oid_len = EPHD_ROOT_LEN + 2;
	if (e->failure) {
		/* ephPortAllocationFailed (7), in its OBJECTS order */
		const ephd_oid fidx[2] = {nsi, fail_kind_index(e->fail_kind)};
		struct ephd_value addr = {.type = EPHD_OCTETS};

		trap_oid[EPHD_ROOT_LEN + 1] = 7;
		if (max < 9)
			return 0;
		add(&b, O_NS_NAME, ns, 1, &val);
		add_num(&b, O_N_FAIL_KIND, NULL, 0, EPHD_INTEGER,
			fail_kind_index(e->fail_kind));
		add_num(&b, O_F_COUNT, fidx, 2, EPHD_COUNTER64, e->fail_count);
		add_num(&b, O_N_FAIL_NEW, NULL, 0, EPHD_GAUGE,
			gauge(e->fail_new));
		/* InetAddressType unknown(0) with a zero-length address when
		 * the kind has no destination (RFC 4001). */
		add_num(&b, O_N_FAIL_DEST_TYPE, NULL, 0, EPHD_INTEGER,
			!e->has_dest			  ? 0
			: e->dest_addr.family == AF_INET6 ? 2
							  : 1);
		if (e->has_dest) {
			addr.len = e->dest_addr.family == AF_INET6 ? 16 : 4;
			memcpy(addr.v.s, e->dest_addr.bytes, addr.len);
		}
		add(&b, O_N_FAIL_DEST_ADDR, NULL, 0, &addr);
		add_num(&b, O_N_FAIL_DEST_PORT, NULL, 0, EPHD_UNSIGNED,
			e->has_dest ? e->dest_port : 0);
		add_num(&b, O_N_FAIL_PID, NULL, 0, EPHD_UNSIGNED, e->pid);
		val = octets_max(e->comm, sizeof(e->comm), 15, false);
		add(&b, O_N_FAIL_COMM, NULL, 0, &val);
		return b.err ? 0 : v.n;
	}
	if (e->exhaustion) {
		/* ephExhaustionSoon (5), ephExhaustionSoonCleared (6) */
		trap_oid[EPHD_ROOT_LEN + 1] =
		    e->kind == EPH_ALARM_RAISED ? 5 : 6;
		if (max < 7)
			return 0;
		add(&b, O_NS_NAME, ns, 1, &val);
		add_num(&b, O_R_EXH_SECONDS, idx, 2, EPHD_GAUGE,
			trend_seconds(&e->rate.pressure));
		add_num(&b, O_R_P_TREND, idx, 2, EPHD_INTEGER,
			trend_enum(e->rate.pressure.status));
		add_num(&b, O_R_PRESSURE, idx, 2, EPHD_UNSIGNED,
			s->pressure_bp);
		add_num(&b, O_R_PRESSURE_KIND, idx, 2, EPHD_INTEGER,
			s->pressure_kind == EPH_KIND_CONNECT ? 2 : 1);
		add_num(&b, O_R_USABLE, idx, 2, EPHD_UNSIGNED, s->usable);
		add_num(&b, O_T_EXH_SECONDS, NULL, 0, EPHD_UNSIGNED,
			e->threshold_s);
		return b.err ? 0 : v.n;
	}
	/* ephPressureHigh (3), ephPressureCleared (4) */
	trap_oid[EPHD_ROOT_LEN + 1] = e->kind == EPH_ALARM_RAISED ? 3 : 4;

	if (max < (connect && s->has_worst ? 12u : 9u))
		return 0;
	/* The order of the NOTIFICATION-TYPE's OBJECTS clause. */
	add(&b, O_NS_NAME, ns, 1, &val);
	add_num(&b, O_N_ALARM_KIND, NULL, 0, EPHD_INTEGER, connect ? 2 : 1);
	add_num(&b, O_R_BIND_P, idx, 2, EPHD_UNSIGNED, s->bind_bp);
	add_num(&b, O_R_CONNECT_P, idx, 2, EPHD_UNSIGNED, s->connect_bp);
	add_num(&b, O_R_IN_USE, idx, 2, EPHD_GAUGE, s->ports_in_use);
	add_num(&b, O_R_BIND_OWNED, idx, 2, EPHD_GAUGE, s->bind_owned);
	add_num(&b, O_R_USABLE, idx, 2, EPHD_UNSIGNED, s->usable);
	add_num(&b, O_R_LOW, idx, 2, EPHD_UNSIGNED, s->low);
	add_num(&b, O_R_HIGH, idx, 2, EPHD_UNSIGNED, s->high);
	if (connect && s->has_worst) {
		ephd_oid didx[EPHD_OID_MAX];
		size_t n = dest_index(idx, &s->worst, didx);

		add_num(&b, O_D_CONNECT_P, didx, n, EPHD_UNSIGNED,
			s->worst.connect_bp);
		add_num(&b, O_D_BLOCKED, didx, n, EPHD_GAUGE, s->worst.blocked);
		add_num(&b, O_D_SOCKETS, didx, n, EPHD_GAUGE, s->worst.sockets);
	}
	return b.err ? 0 : v.n;
}

/* ---- the namespaces read, across collections ---------------------------- */

void ephd_ns_reset_alarms(struct ephd_ns_entry *e, const struct ephd_state *st)
{
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		for (int k = EPH_KIND_BIND; k <= EPH_KIND_CONNECT; k++) {
			eph_alarm_init(&e->alarm[p][k], st->kind_rising_bp[k],
				       st->kind_falling_bp[k]);
			e->state[p][k] = EPHD_ALARM_NORMAL;
		}
	(void)st;
	memset(e->exh_high, 0, sizeof(e->exh_high));
}

enum eph_alarm_event ephd_exh_alarm_update(bool *high, uint32_t threshold_s,
					   const struct eph_trend *t)
{
	bool soon, gone;

	if (!threshold_s) {
		if (!*high)
			return EPH_ALARM_NONE;
		*high = false;
		return EPH_ALARM_CLEARED;
	}
	soon = t->status == EPH_TREND_EXHAUSTED ||
	       (t->status == EPH_TREND_APPROACHING &&
		t->seconds <= (double)threshold_s);
	gone = t->status == EPH_TREND_NOT_APPROACHING ||
	       (t->status == EPH_TREND_APPROACHING &&
		t->seconds > 2.0 * (double)threshold_s);
	if (!*high && soon) {
		*high = true;
		return EPH_ALARM_RAISED;
	}
	if (*high && gone) {
		*high = false;
		return EPH_ALARM_CLEARED;
	}
	return EPH_ALARM_NONE;
}

void ephd_ns_rate_add(struct ephd_ns_entry *e, int64_t t_us)
{
	if (!e->rate) {
		e->rate = malloc(sizeof(*e->rate));
		if (!e->rate)
			return; /* no rates for it this time */
		eph_rate_init(e->rate, 0);
	}
	if (eph_rate_add(e->rate, e->snap, t_us) < 0)
		return;
	e->has_rate = eph_rate_compute(e->rate, &e->rate_res) == 0;
}

void ephd_nsreg_reset_rates(struct ephd_nsreg *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].rate)
			eph_rate_init(r->v[i].rate, 0);
		r->v[i].has_rate = false;
	}
}

static bool ns_index_used(const struct ephd_nsreg *r, uint32_t index)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].index == index)
			return true;
	return false;
}

/* The entry of a namespace: the one kept from earlier passes, else a new
 * one with a new index and its alarms normal.  NULL: out of memory. */
struct ephd_ns_entry *ephd_nsreg_get(struct ephd_nsreg *r, bool own,
				     uint64_t inode, uint64_t dev,
				     const char *name,
				     const struct ephd_state *st)
{
	struct ephd_ns_entry *e;

	for (size_t i = 0; i < r->n; i++) {
		e = &r->v[i];
		if (own ? e->own
			: !e->own && e->inode == inode && e->dev == dev)
			goto found;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		struct ephd_ns_entry *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	e = &r->v[r->n];
	memset(e, 0, sizeof(*e));
	e->snap = calloc(1, sizeof(*e->snap));
	if (!e->snap)
		return NULL;
	e->own = own;
	if (own) {
		e->index = 1;
	} else {
		while (r->next_index < 2 || ns_index_used(r, r->next_index))
			r->next_index++;
		e->index = r->next_index++;
	}
	ephd_ns_reset_alarms(e, st);
	r->n++;
found:
	e->inode = inode;
	e->dev = dev;
	if (name)
		snprintf(e->name, sizeof(e->name), "%s", name);
	return e;
}

void ephd_ns_clear_holders(struct ephd_ns_entry *e, const char *why)
{
	eph_holders_free(&e->holders);
	memset(&e->holders, 0, sizeof(e->holders));
	e->has_holders = false;
	snprintf(e->holders_error, sizeof(e->holders_error), "%s",
		 why ? why : "");
}

/* Drop the namespaces this pass did not find. */
void ephd_nsreg_drop_unseen(struct ephd_nsreg *r)
{
	size_t j = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].seen) {
			r->v[j++] = r->v[i];
		} else {
			free(r->v[i].snap);
			free(r->v[i].rate);
			eph_holders_free(&r->v[i].holders);
		}
	}
	r->n = j;
}

void ephd_nsreg_free(struct ephd_nsreg *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].snap);
		free(r->v[i].rate);
		eph_holders_free(&r->v[i].holders);
	}
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

/* A new event at the end of out, naming e and row p; NULL: no memory. */
static struct ephd_event *new_event(struct ephd_events *out,
				    const struct ephd_ns_entry *e, int p,
				    enum eph_alarm_event x)
{
	struct ephd_event *ev;

	if (out->n == out->cap) {
		unsigned cap = out->cap ? 2 * out->cap : 8;
		void *v = realloc(out->ev, cap * sizeof(*out->ev));

		if (!v)
			return NULL; /* the state is right */
		out->ev = v;
		out->cap = cap;
	}
	ev = &out->ev[out->n++];
	memset(ev, 0, sizeof(*ev));
	ev->kind = x;
	ev->proto = (enum eph_proto)p;
	ev->ns_index = e->index;
	ev->ns_own = e->own;
	memcpy(ev->ns_name, e->name, sizeof(ev->ns_name));
	ev->stats = e->snap->proto[p];
	return ev;
}

/* Feed entry e's alarms (bind; for TCP, connect unless disabled) with the
 * pressures of its new snapshot, and its exhaustion alarms with its
 * rates; the crossings go to out. */
void ephd_ns_update_alarms(const struct ephd_state *st, struct ephd_ns_entry *e,
			   struct ephd_events *out)
{
	for (int p = 0; p < EPH_PROTO_COUNT; p++) {
		const struct eph_proto_stats *ps = &e->snap->proto[p];
		struct ephd_event *ev;
		enum eph_alarm_event x;

		if (!ps->collected)
			continue;
		for (int k = EPH_KIND_BIND; k <= EPH_KIND_CONNECT; k++) {
			struct eph_alarm *a = &e->alarm[p][k];

			if (k == EPH_KIND_CONNECT &&
			    (p != EPH_TCP || !st->connect_alarm))
				continue;
			x = eph_alarm_update(a, eph_alarm_value(ps, k));
			e->state[p][k] =
			    a->high ? EPHD_ALARM_HIGH : EPHD_ALARM_NORMAL;
			if (x == EPH_ALARM_NONE ||
			    !(ev = new_event(out, e, p, x)))
				continue;
			ev->alarm = (enum eph_kind)k;
			ev->rising_bp = a->rising_bp;
			ev->falling_bp = a->falling_bp;
		}
		if (!e->has_rate || !e->rate_res.proto[p].collected)
			continue;
		x = ephd_exh_alarm_update(&e->exh_high[p], st->exhaustion_s,
					  &e->rate_res.proto[p].pressure);
		if (x == EPH_ALARM_NONE || !(ev = new_event(out, e, p, x)))
			continue;
		ev->alarm = ps->pressure_kind;
		ev->exhaustion = true;
		ev->threshold_s = st->exhaustion_s;
		ev->rate = e->rate_res.proto[p];
	}
}

/* The kind's worst destination and process into ev: the collector lists
 * them over all kinds, by count, so the first of the kind is its worst. */
static void fail_worst(const struct eph_failures *f, enum eph_fail_kind k,
		       struct ephd_event *ev)
{
	for (uint32_t i = 0; i < f->n_dests && i < EPH_FAIL_TOP; i++)
		if (f->dests[i].kind == k) {
			ev->has_dest = true;
			ev->dest_addr = f->dests[i].raddr;
			ev->dest_port = f->dests[i].rport;
			break;
		}
	for (uint32_t i = 0; i < f->n_procs && i < EPH_FAIL_TOP; i++)
		if (f->procs[i].kind == k && f->procs[i].pid) {
			ev->pid = f->procs[i].pid;
			memcpy(ev->comm, f->procs[i].comm, sizeof(ev->comm));
			ev->comm[sizeof(ev->comm) - 1] = '\0';
			break;
		}
}

void ephd_ns_update_failures(const struct ephd_state *st,
			     struct ephd_ns_entry *e, int64_t mono_us,
			     int64_t real_us, struct ephd_events *out)
{
	const struct eph_failures *f = &e->snap->failures;
	const int64_t gap_us = (int64_t)st->interval * 1000000;

	if (!e->fail_watching) {
		e->fail_watching = true;
		e->fail_watch_real_us = real_us;
	}
	if (!f->observable) {
		e->fail_observable = false;
		memset(e->fail_alarm, EPHD_ALARM_OFF, sizeof(e->fail_alarm));
		return;
	}
	e->fail_real_minus_mono_us = real_us - mono_us;
	if (!e->fail_observable || f->since_us != e->fail_since_us) {
		/* The counters (re)start for us.  Started while we watched
		 * (ephport-bpf loaded, or loaded again with fresh maps):
		 * every failure they hold is news, and they count from their
		 * load.  Older: what they hold failed before we looked; they
		 * count, for an NMS, from now (the instances appear). */
		bool fresh = f->since_us >= e->fail_watch_real_us;
		int64_t since_mono = mono_us - (real_us - f->since_us);

		e->fail_disc_mono_us =
		    fresh && since_mono < mono_us ? since_mono : mono_us;
		for (int k = 0; k < EPH_FAIL_KINDS; k++)
			e->fail_prev[k] = e->fail_notified[k] =
			    fresh ? 0 : f->total[k];
		e->fail_observable = true;
		e->fail_since_us = f->since_us;
	}
	for (int k = 0; k < EPH_FAIL_KINDS; k++) {
		uint64_t n = f->total[k];
		struct ephd_event *ev;

		/* A count never goes back while since_us stays; if a map
		 * entry was deleted by hand, start from what is left. */
		if (n < e->fail_prev[k])
			e->fail_prev[k] = n;
		if (n < e->fail_notified[k])
			e->fail_notified[k] = n;
		e->fail_alarm[k] =
		    n > e->fail_prev[k] ? EPHD_ALARM_HIGH : EPHD_ALARM_NORMAL;
		e->fail_prev[k] = n;
		/* The rate limit: the first at once, then one per interval
		 * (a reload's first collection comes sooner). */
		if (n <= e->fail_notified[k] ||
		    (e->fail_sent_mono_us[k] &&
		     mono_us - e->fail_sent_mono_us[k] < gap_us))
			continue;
		if (out->n == out->cap) {
			unsigned cap = out->cap ? 2 * out->cap : 8;
			void *v = realloc(out->ev, cap * sizeof(*out->ev));

			if (!v)
				continue; /* carried to the next collection */
			out->ev = v;
			out->cap = cap;
		}
		ev = &out->ev[out->n++];
		memset(ev, 0, sizeof(*ev));
		ev->failure = true;
		ev->fail_kind = (enum eph_fail_kind)k;
		ev->fail_count = n;
		ev->fail_new = n - e->fail_notified[k];
		ev->ns_index = e->index;
		ev->ns_own = e->own;
		memcpy(ev->ns_name, e->name, sizeof(ev->ns_name));
		fail_worst(f, (enum eph_fail_kind)k, ev);
		e->fail_notified[k] = n;
		e->fail_sent_mono_us[k] = mono_us;
	}
}

size_t ephd_nsreg_rows(const struct ephd_nsreg *r, struct ephd_ns *rows)
{
	for (size_t i = 0; i < r->n; i++) {
		struct ephd_ns *x = &rows[i];

		memset(x, 0, sizeof(*x));
		x->index = r->v[i].index;
		x->inode = (uint32_t)r->v[i].inode;
		memcpy(x->name, r->v[i].name, sizeof(x->name));
		x->snap = r->v[i].has_snap ? r->v[i].snap : NULL;
		memcpy(x->alarm, r->v[i].state, sizeof(x->alarm));
		x->rate = r->v[i].has_snap && r->v[i].has_rate
			      ? &r->v[i].rate_res
			      : NULL;
		for (int p = 0; p < EPH_PROTO_COUNT; p++)
			x->exh_alarm[p] = r->v[i].exh_high[p]
					      ? EPHD_ALARM_HIGH
					      : EPHD_ALARM_NORMAL;
		x->fail_disc_mono_us = r->v[i].fail_disc_mono_us;
		x->fail_real_minus_mono_us = r->v[i].fail_real_minus_mono_us;
		memcpy(x->fail_alarm, r->v[i].fail_alarm,
		       sizeof(x->fail_alarm));
		x->holders = r->v[i].has_holders ? &r->v[i].holders : NULL;
		x->holders_why = r->v[i].holders_error;
	}
	return r->n;
}
