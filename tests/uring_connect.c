/*
 * uring_connect - N TCP connects to ADDR:PORT through io_uring
 * (IORING_OP_CONNECT), one new socket each, for the failure counters'
 * test: prints each completion's result as an errno name ("EADDRNOTAVAIL")
 * or "ok", one per line.  Raw system calls, no liburing.
 *
 *   uring_connect ADDR PORT N
 *
 * Exit 0 when every connect completed (whatever its result), 77 when the
 * kernel has no io_uring (or it is disabled), 1 on usage or setup errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_setup(struct ring *r)
{
	struct io_uring_params p;
	void *sq, *cq;

	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -errno;
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_SQ_RING);
	cq = mmap(NULL,
		  p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
		  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		  IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		       IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -errno;
	r->sq_tail = (unsigned *)((char *)sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)((char *)sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)((char *)sq + p.sq_off.array);
	r->cq_head = (unsigned *)((char *)cq + p.cq_off.head);
	r->cq_tail = (unsigned *)((char *)cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)((char *)cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);
	return 0;
}

/* Submit one connect and wait for its completion: its res. */
static int uring_connect(struct ring *r, int s, const struct sockaddr_in *sin)
{
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask, head;
	struct io_uring_sqe *sqe = &r->sqes[idx];
	int res;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_CONNECT;
	sqe->fd = s;
	sqe->addr = (unsigned long)sin;
	sqe->off = sizeof(*sin); /* addrlen */
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0)
		return -errno;
	head = *r->cq_head;
	while (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		if (syscall(__NR_io_uring_enter, r->fd, 0, 1,
			    IORING_ENTER_GETEVENTS, NULL, 0) < 0)
			return -errno;
	res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct ring r = {0};
	int n, err;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "usage: uring_connect ADDR PORT N\n");
		return 1;
	}
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(argv[2]));
	n = atoi(argv[3]);
	err = ring_setup(&r);
	if (err == -ENOSYS || err == -EPERM) {
		fprintf(stderr, "uring_connect: no io_uring: %s\n",
			strerror(-err));
		return 77;
	}
	if (err < 0) {
		fprintf(stderr, "uring_connect: setup: %s\n", strerror(-err));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0), res;

		if (s < 0) {
			perror("socket");
			return 1;
		}
		res = uring_connect(&r, s, &sin);
		if (res == 0)
			puts("ok");
		else if (res == -EADDRNOTAVAIL)
			puts("EADDRNOTAVAIL");
		else
			printf("%s\n", strerror(-res));
		close(s);
	}
	return 0;
}
