/*
 * holders.h - who holds the pool ports (issue 18), the private half: the
 * inode index of a namespace's pool sockets, the per-process tally, the
 * /proc walk (holders_procfs.c) and the pinned task_file iterator's
 * reader (holders_bpf.c).  The public half is in ephport.h.
 *
 * Everything here is pure but the two *_collect functions, so the Check
 * suite (tests/check_holders.c) drives it with made-up sockets and a fake
 * /proc tree.
 */
#ifndef EPH_HOLDERS_H
#define EPH_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "range.h"

#define EPH_NO_DEST UINT32_MAX

/* What holders.c needs of a collector (collector.c fills it): where to
 * read, which source and protocols were asked for, where to say why. */
struct eph_collector_view {
	const char *proc_root;	 /* /proc/PID/..., /proc/sys */
	const char *net_root;	 /* /proc/net: proc_root, or
				  * /proc/thread-self in another namespace */
	const char *bpf_pin_dir; /* DIR/holders */
	enum eph_source_pref source;
	uint8_t protocols;
	char *error; /* eph_collector_error()'s buffer */
	size_t error_len;
};
/* in_thread: for a thread that setns()es into another namespace. */
EPH_HIDDEN void eph_collector_view(struct eph_collector *c,
				   struct eph_collector_view *v,
				   bool in_thread);

/* One pool socket a file may hold (its inode is not 0). */
struct eph_hsock {
	uint64_t inode;
	uint32_t dest;	   /* id in eph_hindex.d, EPH_NO_DEST: none */
	uint32_t seen_gen; /* the last process that held it: a dup()ed fd
			    * counts once per process */
	uint16_t lport;
	uint8_t proto; /* enum eph_proto */
	bool held;     /* some process was seen to hold it */
	/* The destination key until eph_hindex_build() numbers it. */
	uint8_t family;
	uint16_t rport;
	uint8_t raddr[16];
};

/* One TCP destination (remote address, port), with the count of the
 * process being tallied (valid while gen is that process's). */
struct eph_hdest {
	struct eph_addr raddr;
	uint16_t rport;
	uint32_t gen, count;
};

/*
 * The index: every pool socket of a namespace with an inode, found by
 * inode in an open-addressing table (linear probing, at most half full),
 * and the distinct TCP destinations they go to.  Memory grows by doubling
 * (nothing is allocated per socket).
 */
struct eph_hindex {
	struct eph_range range[EPH_PROTO_COUNT];
	struct eph_hsock *v;
	size_t n, cap;
	uint32_t *slot; /* entry + 1, 0: empty; mask + 1 slots */
	size_t mask;
	struct eph_hdest *d;
	size_t nd;
	/* Pool sockets handed to eph_hindex_add(), inode 0 included: what
	 * sockets_unattributed is counted against. */
	uint64_t pool[EPH_PROTO_COUNT];
	uint64_t dups;	 /* inodes seen again, dropped by builds */
	bool count_only; /* pool[] only, nothing kept (the BPF source) */
	bool failed;	 /* an allocation failed while adding */
};

/* Start an empty index over the ranges (copied). */
EPH_HIDDEN void eph_hindex_init(struct eph_hindex *x,
				const struct eph_range range[EPH_PROTO_COUNT]);
EPH_HIDDEN void eph_hindex_free(struct eph_hindex *x);

/* Add one socket of protocol p: kept when its local port is in p's pool
 * (counted in pool[p]) and, to be found, when it has an inode.  A failed
 * allocation sets x->failed (eph_hindex_build() then says -ENOMEM). */
EPH_HIDDEN void eph_hindex_add(struct eph_hindex *x, enum eph_proto p,
			       const struct eph_sock *s);

/* The eph_sock_cb for a dump of one protocol: ctx is one of these. */
struct eph_hindex_feed {
	struct eph_hindex *x;
	enum eph_proto proto;
};
EPH_HIDDEN void eph_hindex_feed_cb(void *ctx, const struct eph_sock *s);

/* Make the inode table and number the destinations.  An inode dumped
 * twice (a dump is not atomic) is kept once and counted once in pool[]
 * (x->dups: how many were dropped).  Returns 0 or -ENOMEM. */
EPH_HIDDEN int eph_hindex_build(struct eph_hindex *x);

/* The entry of inode, NULL when it is no pool socket of the index. */
EPH_HIDDEN struct eph_hsock *eph_hindex_find(const struct eph_hindex *x,
					     uint64_t inode);

/*
 * eph_fd_link_inode - the inode a /proc/PID/fd link names when it is a
 * socket: "socket:[12345]" (len bytes, no NUL needed).  Returns 1 and
 * *inode, 0 for anything else (a file, "pipe:[N]", "anon_inode:...",
 * a malformed or overflowing number).
 */
EPH_HIDDEN int eph_fd_link_inode(const char *link, size_t len, uint64_t *inode);

/*
 * The tally of one process: its distinct pool ports per protocol (a
 * generation stamp per port, so starting the next process clears nothing)
 * and its commonest TCP destination (the index's counts, stamped alike).
 */
struct eph_htally {
	uint32_t gen;
	uint32_t port_gen[EPH_PROTO_COUNT][EPH_PORTS];
	struct eph_holder cur;
	uint32_t best; /* destination id of cur's worst, EPH_NO_DEST */
};

/* A new process (pid); the stamps of the last one stop counting. */
EPH_HIDDEN void eph_htally_begin(struct eph_htally *t, uint32_t pid);
/* One pool socket its fd table holds (x: the index it is from). */
EPH_HIDDEN void eph_htally_add(struct eph_htally *t, struct eph_hindex *x,
			       struct eph_hsock *s);
/* Whether the process holds any pool socket; fills its worst
 * destination into t->cur. */
EPH_HIDDEN bool eph_htally_end(struct eph_htally *t,
			       const struct eph_hindex *x);

/* Sort by ports (both protocols) descending; ties: sockets descending,
 * then pid ascending. */
EPH_HIDDEN void eph_holders_sort(struct eph_holder *v, size_t n);
/* Append h to out->v (grown by doubling).  0 or -ENOMEM. */
EPH_HIDDEN int eph_holders_push(struct eph_holders *out, size_t *cap,
				const struct eph_holder *h);
/* Sort, keep the first top_n (0: all). */
EPH_HIDDEN void eph_holders_finish(struct eph_holders *out, unsigned top_n);
/* comm, cgroup and container of each entry, from PROC_ROOT/PID/{comm,
 * cgroup}; keep=true leaves a comm already set (the BPF record's). */
EPH_HIDDEN void eph_holders_names(const char *proc_root,
				  struct eph_holders *out, bool keep_comm);

/*
 * eph_holders_procfs - walk PROC_ROOT/[0-9]* /fd against the index x
 * (built), appending to out every process that holds a pool socket.
 * A process whose fd directory says EACCES counts in processes_denied;
 * one gone (ENOENT, ESRCH) is skipped.  Fills processes and
 * sockets_unattributed.  Returns 0, or -errno when PROC_ROOT cannot be
 * read, -ENOMEM.
 */
EPH_HIDDEN int eph_holders_procfs(const char *proc_root, struct eph_hindex *x,
				  struct eph_holders *out);

/*
 * eph_holders_bpf_parse - check the output of the pinned holders iterator
 * (collector/bpf/holders.h) and append its records to out (the caller
 * sorts).  range: what /proc says the TCP range is (the kernel's must be
 * the same).  Returns 0, -EBADMSG (malformed), -EPROTO (another layout
 * version), -EAGAIN (another reader held the slot), -ESTALE (the range
 * changed), -ENOMEM.  The iterator counts TCP and UDP: only the protocols
 * in the mask protocols (1 << enum eph_proto) are kept, a process holding
 * none of theirs is left out.  pool_sockets[p]: the namespace's pool
 * sockets of protocol p, from which p's attributed ones are taken for
 * sockets_unattributed.
 */
EPH_HIDDEN int
eph_holders_bpf_parse(const void *buf, size_t len,
		      const struct eph_range *range,
		      const uint64_t pool_sockets[EPH_PROTO_COUNT],
		      uint8_t protocols, struct eph_holders *out);
/* Read PIN_DIR/holders (into memory that grows with it) and parse it,
 * retrying a busy slot.  -ENOENT: not loaded; -EACCES: its mode forbids
 * it; -ENOMEM; why names the pin. */
EPH_HIDDEN int
eph_holders_bpf_read(const char *pin_dir, const struct eph_range *range,
		     const uint64_t pool_sockets[EPH_PROTO_COUNT],
		     uint8_t protocols, struct eph_holders *out, char *why,
		     size_t why_len);
EPH_HIDDEN bool eph_holders_bpf_available(const char *pin_dir);

#endif
