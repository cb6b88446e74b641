/* udpflood.c - send garbage UDP datagrams at a fixed rate, for the
 * benchmark that checks a tunnel keeps its throughput while an unknown
 * source floods its port. Bounded in time and count by construction.
 *
 *   udpflood ADDR PORT RATE_PPS SIZE SECONDS
 *
 * ADDR must be an address of a test namespace (the benchmark's own); the
 * tool sends nothing anywhere else. Prints what it sent. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { BURST = 32, MAX_SIZE = 9000, MAX_RATE = 10000000, MAX_SECONDS = 600 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static long arg(const char *s, const char *what, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "udpflood: %s must be %ld..%ld, got '%s'\n", what,
			lo, hi, s);
		exit(2);
	}
	return v;
}

int main(int argc, char *argv[])
{
	static uint8_t buf[MAX_SIZE];
	struct sockaddr_storage ss = { 0 };
	socklen_t sslen;
	struct mmsghdr msgs[BURST];
	struct iovec iov;
	uint64_t start, sent = 0, failed = 0;
	long rate, size, seconds;
	int fd;

	if (argc != 6) {
		fprintf(stderr, "usage: udpflood ADDR PORT RATE_PPS SIZE SECONDS\n");
		return 2;
	}
	rate = arg(argv[3], "RATE_PPS", 1, MAX_RATE);
	size = arg(argv[4], "SIZE", 0, MAX_SIZE);
	seconds = arg(argv[5], "SECONDS", 1, MAX_SECONDS);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	uint16_t port = (uint16_t)arg(argv[2], "PORT", 1, 65535);

	if (inet_pton(AF_INET, argv[1], &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, argv[1], &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sslen = sizeof(*sin6);
	} else {
		fprintf(stderr, "udpflood: '%s' is not a numeric address\n", argv[1]);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("udpflood: socket");
		return 1;
	}
	/* Garbage that parses as nothing: type byte 0x55 is not a message. */
	for (long i = 0; i < size; i++)
		buf[i] = (uint8_t)(0x55 ^ (i * 131));
	iov = (struct iovec){ .iov_base = buf, .iov_len = (size_t)size };
	for (int i = 0; i < BURST; i++)
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &ss,
						   .msg_namelen = sslen,
						   .msg_iov = &iov,
						   .msg_iovlen = 1 };
	start = now_ns();
	uint64_t end = start + (uint64_t)seconds * 1000000000ULL;

	for (;;) {
		uint64_t t = now_ns();

		if (t >= end)
			break;
		/* Packets due by now at the requested rate. */
		uint64_t due = (t - start) * (uint64_t)rate / 1000000000ULL;

		if (sent + failed >= due) {
			struct timespec ts = { 0, 50000 };

			nanosleep(&ts, NULL);
			continue;
		}
		unsigned n = due - sent - failed > BURST ? BURST
							 : (unsigned)(due - sent - failed);
		int r = sendmmsg(fd, msgs, n, 0);

		if (r > 0)
			sent += (uint64_t)r;
		else
			failed += n;
	}
	double secs = (double)(now_ns() - start) / 1e9;

	printf("udpflood: sent %llu datagrams of %ld bytes in %.1f s (%.0f/s), %llu failed\n",
	       (unsigned long long)sent, size, secs, (double)sent / secs,
	       (unsigned long long)failed);
	close(fd);
	return 0;
}
