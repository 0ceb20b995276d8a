/* bpf_pin.h - what ephport-bpf's loaders share (collector/bpf/). */
#ifndef EPH_BPF_PIN_H
#define EPH_BPF_PIN_H

#include <stdbool.h>
#include <sys/types.h>

struct bpf_link;

/* Pin link at DIR/NAME, replacing an older pin in one rename (bpffs
 * refuses names with a dot).  Prints why on stderr; returns 0 or -1. */
int eph_bpf_pin_link(struct bpf_link *link, const char *dir, const char *name,
		     mode_t mode);

/*
 * The failure counters (failures.bpf.c): attach the syscall exit
 * tracepoints (mounting tracefs when it is not) and keep the counters in
 * maps pinned with MODE: DIR/fail_counts (the totals of `namespaces`
 * namespaces), DIR/fail_detail (an LRU of detail_max destinations and
 * processes) and DIR/fail_meta.  A later load reuses them (a restart of
 * ephportd does not reset them) unless they are of another layout or
 * size: then they are replaced and the counts restart (said on stderr).
 * A kernel that refuses the io_uring program gets the others (said).
 * Returns 0 or -1 (printed).
 */
int eph_failures_load(const char *dir, mode_t mode, unsigned namespaces,
		      unsigned detail_max);
/* Remove every pin of the failure counters (the counts go with them). */
int eph_failures_unload(const char *dir);
/* Read DIR/failures once and print the reader's namespace's totals. */
int eph_failures_status(const char *dir);

#endif
