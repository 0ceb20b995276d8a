/* states.c - which states each protocol reports. */
#include "output.h"

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

const enum eph_tcp_state *eph_shown_states(enum eph_proto p)
{
	return p == EPH_TCP ? tcp_states : udp_states;
}
