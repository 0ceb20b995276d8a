/* counters.h - the kernel's counters read with each collection (private). */
#ifndef EPH_COUNTERS_H
#define EPH_COUNTERS_H

#include "range.h"

/* Read NET_ROOT/net/snmp into *out.  Returns 0, or -errno (the file
 * cannot be read) / -EBADMSG (eph_snmp_parse()); *out untouched then. */
EPH_HIDDEN int eph_counters_read(const char *net_root,
				 struct eph_counters *out);

#endif
