/* counters.h - the kernel's counters read with each collection (private). */
#ifndef EPH_COUNTERS_H
#define EPH_COUNTERS_H

#include "range.h"

/* Read NET_ROOT/net/snmp and net/netstat's TWRecycled into *out.  Returns
 * 0 when either was read (out->read, out->tw_recycled_read say which), or
 * -errno / -EBADMSG (eph_snmp_parse()) when neither was: *out untouched. */
EPH_HIDDEN int eph_counters_read(const char *net_root,
				 struct eph_counters *out);

/* TcpExt: TWRecycled of a PROC/net/netstat text.  Returns 0, or -EBADMSG
 * (no TcpExt pair, no such field, or a malformed number). */
EPH_HIDDEN int eph_netstat_parse(const char *buf, size_t len,
				 uint64_t *tw_recycled);

#endif
