/*
 * sockets.h - live socket tables: NETLINK_SOCK_DIAG, with a /proc/net
 * fallback.  The parsers work on plain buffers and hand each socket to a
 * callback, so nothing is allocated per socket.
 */
#ifndef EPH_SOCKETS_H
#define EPH_SOCKETS_H

#include <stddef.h>
#include <stdint.h>

#include "range.h"

typedef void (*eph_sock_cb)(void *ctx, const struct eph_sock *s);

/*
 * eph_diag_parse - walk one buffer of netlink messages from recvmsg()
 * holding inet_diag replies (SOCK_DIAG_BY_FAMILY or TCPDIAG_GETSOCK).
 * Every nlmsg_len is validated before it is read.  seq is the sequence
 * number of our request; messages with another one are skipped.
 * Returns:
 *   0        more messages to come (call again with the next buffer),
 *   1        NLMSG_DONE seen,
 *   -EBADMSG a truncated or malformed message (nothing after it is read),
 *   -errno   the error carried by NLMSG_ERROR or by NLMSG_DONE.
 */
EPH_HIDDEN int eph_diag_parse(const void *buf, size_t len, uint32_t seq,
			      eph_sock_cb cb, void *ctx);

/*
 * eph_diag_build_request - build the dump request into buf.
 * legacy: one TCPDIAG_GETSOCK request (IPv4 and IPv6 in one walk of the
 * kernel's tables) instead of SOCK_DIAG_BY_FAMILY for family/protocol.
 * states: bitmask of (1 << state).  When low <= high, a bytecode filter
 * keeps only sockets with low <= sport <= high.
 * Returns the request length, or -ENOSPC when buf is too small.
 */
EPH_HIDDEN int eph_diag_build_request(void *buf, size_t len, int legacy,
				      int family, int protocol, uint32_t states,
				      uint16_t low, uint16_t high,
				      uint32_t seq);

/* The kernel fills dump skbs of up to 32 KiB: a receive buffer this size
 * takes a whole one per recvmsg(). */
#define EPH_DIAG_RECV_BUF (64 * 1024)

/*
 * eph_diag_dump - send one request on a NETLINK_SOCK_DIAG socket and feed
 * every reply to cb, receiving into rbuf (8-byte aligned, at least
 * EPH_DIAG_RECV_BUF bytes).  Replies not from the kernel (nl_pid != 0) are
 * ignored.  Returns 0 or -errno (-ENOENT/-EOPNOTSUPP/-EINVAL: the kernel
 * has no such diag handler or request type; -EMSGSIZE: rbuf too small;
 * -EBADMSG: a malformed reply).
 */
EPH_HIDDEN int eph_diag_dump(int fd, const void *req, size_t req_len,
			     uint32_t seq, void *rbuf, size_t rbuf_len,
			     eph_sock_cb cb, void *ctx);

/* Open a NETLINK_SOCK_DIAG socket; returns the fd or -errno. */
EPH_HIDDEN int eph_diag_open(void);

/*
 * eph_proc_parse - parse /proc/net/{tcp,tcp6,udp,udp6} contents.
 * family: AF_INET or AF_INET6 (how wide the addresses are).  The header
 * line is skipped.  A final line without its newline is ignored (the
 * file may be read in pieces: pass *consumed bytes off and call again).
 * Returns the number of sockets parsed, or -EBADMSG for a malformed line
 * (its 1-based number in *bad_line when not NULL).
 */
EPH_HIDDEN long eph_proc_parse(const char *buf, size_t len, int family,
			       int skip_header, size_t *consumed,
			       eph_sock_cb cb, void *ctx, long *bad_line);

/*
 * eph_proc_read - parse PROC_ROOT/net/{tcp,udp}{,6} for proto and family.
 * Returns 0, or -errno (-ENOENT: no such file, e.g. IPv6 disabled;
 * -EBADMSG: malformed content); why names the file.
 */
EPH_HIDDEN int eph_proc_read(const char *proc_root, enum eph_proto proto,
			     int family, eph_sock_cb cb, void *ctx, char *why,
			     size_t why_len);

/*
 * The BPF source (sockets_bpf.c): pinned iterators PIN_DIR/tcp and
 * PIN_DIR/udp, made by ephport-bpf.
 *
 * eph_bpf_parse - check one iterator output (collector/bpf/iter.h) and
 * merge it into m, begun over range.  Returns 0, -EBADMSG (malformed),
 * -EPROTO (another layout version), -ESTALE (the kernel's range is not
 * range: it changed between the two reads).
 *
 * eph_bpf_read - open and read PIN_DIR/<proto> into buf, then parse it.
 * Returns 0 or -errno (-ENOENT: not loaded; -EACCES: the pin's mode
 * forbids it; -EMSGSIZE: buf too small), why naming the pin.
 *
 * eph_bpf_available - whether PIN_DIR/tcp exists and is readable.
 */
struct eph_model;
/* Open a pinned iterator at path for reading: the fd, or -errno (why
 * says so; -EINVAL: not a regular file, e.g. a FIFO put there). */
EPH_HIDDEN int eph_pin_open(const char *path, char *why, size_t why_len);
EPH_HIDDEN int eph_bpf_parse(const void *buf, size_t len, enum eph_proto proto,
			     const struct eph_range *range,
			     struct eph_model *m);
EPH_HIDDEN int eph_bpf_read(const char *pin_dir, enum eph_proto proto,
			    const struct eph_range *range, struct eph_model *m,
			    char *buf, size_t buf_len, char *why,
			    size_t why_len);
EPH_HIDDEN int eph_bpf_available(const char *pin_dir);
#define EPH_BPF_PIN_DIR "/sys/fs/bpf/ephport"

/* Normalise an IPv4-mapped IPv6 address in s to AF_INET. */
EPH_HIDDEN void eph_sock_unmap(struct eph_sock *s);

#endif
