/*
 * sockets_netlink.c - socket tables from NETLINK_SOCK_DIAG.
 *
 * Why this shape (DESIGN.md "Reading Linux fast"): every TCP dump walks
 * the kernel's whole established hash, so TCP uses one legacy
 * TCPDIAG_GETSOCK request, which the kernel answers for IPv4 and IPv6 in
 * a single walk; a bytecode sport filter keeps out-of-pool sockets in
 * the kernel; no extensions are requested, so each reply is the bare
 * inet_diag_msg.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockets.h"

struct bc_port_range {
	struct nlattr nla;
	struct inet_diag_bc_op ge, ge_port, le, le_port;
};

static void fill_bytecode(struct bc_port_range *bc, uint16_t low, uint16_t high)
{
	memset(bc, 0, sizeof(*bc));
	bc->nla.nla_len = sizeof(*bc);
	bc->nla.nla_type = INET_DIAG_REQ_BYTECODE;
	/* An op jumps "yes" bytes on a match and "no" bytes otherwise; the
	 * socket is kept iff the program ends exactly at its end, so a
	 * failed test jumps 4 bytes past it. */
	bc->ge.code = INET_DIAG_BC_S_GE;
	bc->ge.yes = 2 * sizeof(struct inet_diag_bc_op);
	bc->ge.no = 4 * sizeof(struct inet_diag_bc_op) + 4;
	bc->ge_port.no = low;
	bc->le.code = INET_DIAG_BC_S_LE;
	bc->le.yes = 2 * sizeof(struct inet_diag_bc_op);
	bc->le.no = 2 * sizeof(struct inet_diag_bc_op) + 4;
	bc->le_port.no = high;
}

int eph_diag_build_request(void *buf, size_t len, int legacy, int family,
			   int protocol, uint32_t states, uint16_t low,
			   uint16_t high, uint32_t seq)
{
	size_t body = legacy ? sizeof(struct inet_diag_req)
			     : sizeof(struct inet_diag_req_v2);
	size_t total = NLMSG_LENGTH(body);
	struct nlmsghdr *nlh = buf;
	int filtered = low <= high;

	if (filtered)
		total = NLMSG_ALIGN(total) + sizeof(struct bc_port_range);
	if (len < total)
		return -ENOSPC;
	memset(buf, 0, total);
	nlh->nlmsg_len = (uint32_t)total;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	if (legacy) {
		struct inet_diag_req *r = NLMSG_DATA(nlh);

		nlh->nlmsg_type = TCPDIAG_GETSOCK;
		r->idiag_family = (uint8_t)family;
		r->idiag_states = states;
	} else {
		struct inet_diag_req_v2 *r = NLMSG_DATA(nlh);

		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		r->sdiag_family = (uint8_t)family;
		r->sdiag_protocol = (uint8_t)protocol;
		r->idiag_states = states;
	}
	if (filtered)
		fill_bytecode(
		    (struct bc_port_range *)((char *)buf +
					     NLMSG_ALIGN(NLMSG_LENGTH(body))),
		    low, high);
	return (int)total;
}

static void msg_to_sock(const struct inet_diag_msg *m, struct eph_sock *s)
{
	s->family = m->idiag_family == AF_INET6 ? AF_INET6 : AF_INET;
	s->state =
	    m->idiag_state < EPH_ST_COUNT ? m->idiag_state : EPH_ST_UNKNOWN;
	s->lport = ntohs(m->id.idiag_sport);
	s->rport = ntohs(m->id.idiag_dport);
	s->owner = EPH_OWNER_UNKNOWN;
	/* TIME_WAIT: inet_twsk_diag_fill() puts the time left in expires. */
	s->expires_ms = m->idiag_expires;
	s->inode = m->idiag_inode;
	if (s->family == AF_INET) {
		memcpy(s->laddr, m->id.idiag_src, 4);
		memcpy(s->raddr, m->id.idiag_dst, 4);
		memset(s->laddr + 4, 0, 12);
		memset(s->raddr + 4, 0, 12);
	} else {
		memcpy(s->laddr, m->id.idiag_src, 16);
		memcpy(s->raddr, m->id.idiag_dst, 16);
		eph_sock_unmap(s);
	}
}

int eph_diag_parse(const void *buf, size_t len, uint32_t seq, eph_sock_cb cb,
		   void *ctx)
{
	const char *p = buf;

	while (len > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t payload, step;

		if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
		    nlh->nlmsg_len > len)
			return -EBADMSG;
		payload = nlh->nlmsg_len - NLMSG_HDRLEN;
		step = NLMSG_ALIGN(nlh->nlmsg_len);
		if (step > len)
			step = len; /* the last message may be unpadded */

		if (nlh->nlmsg_seq != seq) {
			/* Not ours (a stale reply): skip it. */
		} else if (nlh->nlmsg_type == NLMSG_DONE) {
			int err = 0;

			if (payload >= sizeof(int))
				memcpy(&err, NLMSG_DATA(nlh), sizeof(err));
			return err < 0 ? err : 1;
		} else if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nlh);

			if (payload < sizeof(e->error))
				return -EBADMSG;
			/* error 0 is an ACK: the dump is over. */
			return e->error < 0 ? e->error
					    : (e->error ? -EBADMSG : 1);
		} else if (nlh->nlmsg_type == SOCK_DIAG_BY_FAMILY ||
			   nlh->nlmsg_type == TCPDIAG_GETSOCK) {
			const struct inet_diag_msg *m = NLMSG_DATA(nlh);
			struct eph_sock s;

			if (payload < sizeof(*m))
				return -EBADMSG;
			if (m->idiag_family != AF_INET &&
			    m->idiag_family != AF_INET6)
				return -EBADMSG;
			msg_to_sock(m, &s);
			cb(ctx, &s);
		}
		p += step;
		len -= step;
	}
	return 0;
}

int eph_diag_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return fd < 0 ? -errno : fd;
}

int eph_diag_dump(int fd, const void *req, size_t req_len, uint32_t seq,
		  void *rbuf, size_t rbuf_len, eph_sock_cb cb, void *ctx)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t n;

	do
		n = sendto(fd, req, req_len, 0, (struct sockaddr *)&kernel,
			   sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = {rbuf, rbuf_len};
		struct msghdr msg = {
		    .msg_name = &from,
		    .msg_namelen = sizeof(from),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		};
		int r;

		n = recvmsg(fd, &msg, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EBADMSG;
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
			continue; /* only the kernel may answer */
		r = eph_diag_parse(rbuf, (size_t)n, seq, cb, ctx);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}
