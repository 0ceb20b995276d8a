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
 * tracepoints (mounting tracefs when it is not), keep the counters in
 * pinned maps DIR/fail_counts and DIR/fail_meta (reused by a later load:
 * a restart of ephportd does not reset them) and pin the reader's
 * iterator DIR/failures with MODE.  Returns 0 or -1 (printed).
 */
int eph_failures_load(const char *dir, mode_t mode);
/* Remove every pin of the failure counters (the counts go with them). */
int eph_failures_unload(const char *dir);
/* Read DIR/failures once and print the reader's namespace's totals. */
int eph_failures_status(const char *dir);

#endif
