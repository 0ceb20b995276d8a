/*
 * diag_record - write the raw NETLINK_SOCK_DIAG replies to one dump
 * request to stdout, to record fixtures for check_netlink:
 *   diag_record tcp-legacy|udp4|udp6 [LOW HIGH] > reply.bin
 */
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockets.h"

int main(int argc, char **argv)
{
	static char rbuf[EPH_DIAG_RECV_BUF];
	char req[256];
	int legacy = 0, family = AF_INET, proto = IPPROTO_UDP, fd, len;
	unsigned low = 1, high = 0;

	if (argc != 2 && argc != 4) {
		fprintf(stderr,
			"usage: diag_record tcp-legacy|udp4|udp6 [LOW HIGH]\n");
		return 2;
	}
	if (strcmp(argv[1], "tcp-legacy") == 0) {
		legacy = 1;
		proto = IPPROTO_TCP;
	} else if (strcmp(argv[1], "udp6") == 0) {
		family = AF_INET6;
	}
	if (argc == 4) {
		low = (unsigned)atoi(argv[2]);
		high = (unsigned)atoi(argv[3]);
	}
	fd = eph_diag_open();
	if (fd < 0)
		return 1;
	len = eph_diag_build_request(req, sizeof(req), legacy, family, proto,
				     (1u << EPH_ST_COUNT) - 2, (uint16_t)low,
				     (uint16_t)high, 1);
	if (len < 0 || send(fd, req, (size_t)len, 0) != len)
		return 1;
	for (;;) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
		const struct nlmsghdr *last = NULL;

		if (n <= 0)
			return 1;
		fwrite(rbuf, 1, (size_t)n, stdout);
		for (const char *p = rbuf; p < rbuf + n;
		     p += NLMSG_ALIGN(((const struct nlmsghdr *)p)->nlmsg_len))
			last = (const struct nlmsghdr *)p;
		if (last && (last->nlmsg_type == NLMSG_DONE ||
			     last->nlmsg_type == NLMSG_ERROR))
			break;
	}
	close(fd);
	return 0;
}
