/* names.c - names of protocols, sources and states; small formatting. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ephport.h"

static const char *const proto_names[EPH_PROTO_COUNT] = {"tcp", "udp"};

static const struct {
	const char *name; /* as ss prints it */
	const char *key;  /* JSON keys, metric labels */
} state_names[EPH_ST_COUNT] = {
    [EPH_ST_UNKNOWN] = {"UNKNOWN", "unknown"},
    [EPH_ST_ESTABLISHED] = {"ESTAB", "established"},
    [EPH_ST_SYN_SENT] = {"SYN-SENT", "syn_sent"},
    [EPH_ST_SYN_RECV] = {"SYN-RECV", "syn_recv"},
    [EPH_ST_FIN_WAIT1] = {"FIN-WAIT-1", "fin_wait1"},
    [EPH_ST_FIN_WAIT2] = {"FIN-WAIT-2", "fin_wait2"},
    [EPH_ST_TIME_WAIT] = {"TIME-WAIT", "time_wait"},
    [EPH_ST_CLOSE] = {"UNCONN", "close"},
    [EPH_ST_CLOSE_WAIT] = {"CLOSE-WAIT", "close_wait"},
    [EPH_ST_LAST_ACK] = {"LAST-ACK", "last_ack"},
    [EPH_ST_LISTEN] = {"LISTEN", "listen"},
    [EPH_ST_CLOSING] = {"CLOSING", "closing"},
    [EPH_ST_NEW_SYN_RECV] = {"NEW-SYN-RECV", "new_syn_recv"},
    [EPH_ST_BOUND] = {"BOUND-INACTIVE", "bound"},
};

const char *eph_proto_name(enum eph_proto p)
{
	return (unsigned)p < EPH_PROTO_COUNT ? proto_names[p] : "unknown";
}

int eph_proto_from_name(const char *name)
{
	for (int p = 0; p < EPH_PROTO_COUNT; p++)
		if (name && strcmp(name, proto_names[p]) == 0)
			return p;
	return -1;
}

const char *eph_source_name(enum eph_source s)
{
	switch (s) {
	case EPH_SOURCE_NETLINK:
		return "netlink";
	case EPH_SOURCE_PROCFS:
		return "procfs";
	case EPH_SOURCE_BPF:
		return "bpf";
	default:
		return "none";
	}
}

const char *eph_state_name(enum eph_tcp_state s)
{
	return (unsigned)s < EPH_ST_COUNT ? state_names[s].name : "UNKNOWN";
}

const char *eph_state_key(enum eph_tcp_state s)
{
	return (unsigned)s < EPH_ST_COUNT ? state_names[s].key : "unknown";
}

const char *eph_addr_format(const struct eph_addr *a, char *buf, size_t len)
{
	int af = a->family == AF_INET6 ? AF_INET6 : AF_INET;

	if (!inet_ntop(af, a->bytes, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

uint32_t eph_ratio_bp(uint64_t num, uint64_t den)
{
	if (den == 0 || num >= den)
		return EPH_BP_FULL;
	/* num < den <= 2^32 in practice; the product cannot overflow. */
	return (uint32_t)(num * EPH_BP_FULL / den);
}

static const enum eph_tcp_state tcp_states[] = {
    EPH_ST_ESTABLISHED, EPH_ST_SYN_SENT,  EPH_ST_SYN_RECV, EPH_ST_FIN_WAIT1,
    EPH_ST_FIN_WAIT2,	EPH_ST_TIME_WAIT, EPH_ST_CLOSE,	   EPH_ST_CLOSE_WAIT,
    EPH_ST_LAST_ACK,	EPH_ST_LISTEN,	  EPH_ST_CLOSING,  EPH_ST_BOUND,
    EPH_ST_UNKNOWN,
};

/* UDP has no handshake: connected or not. */
static const enum eph_tcp_state udp_states[] = {
    EPH_ST_ESTABLISHED,
    EPH_ST_CLOSE,
    EPH_ST_UNKNOWN,
};

const enum eph_tcp_state *eph_proto_states(enum eph_proto p)
{
	return p == EPH_TCP ? tcp_states : udp_states;
}

const char *eph_kind_name(enum eph_kind k)
{
	switch (k) {
	case EPH_KIND_BIND:
		return "bind";
	case EPH_KIND_CONNECT:
		return "connect";
	}
	return "none";
}
