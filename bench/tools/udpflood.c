/* udpflood.c - send garbage UDP datagrams at a fixed rate, for the
 * benchmark that checks a tunnel keeps its throughput while an unknown
 * source floods its port. Bounded in time and count by construction.
 *
 *   udpflood ADDR PORT RATE_PPS SIZE SECONDS [KIND]
 *
 * KIND is what the datagrams look like:
 *   garbage  (the default) SIZE bytes whose first byte, 0x55, is no
 *            WireGuard message type: dropped at the first look
 *   wg       shaped like WireGuard transport data messages: type 4, three
 *            zero bytes, a receiver index drawn anew for every datagram, a
 *            counter, random bytes; SIZE rounded down to 16 + a multiple
 *            of 16, at least 48 (the header, one padded block, the tag).
 *            They pass any filter that looks only at the header but belong
 *            to no session (an index matches a live one with odds 2^-32,
 *            and then the tag fails), so the receiver pays its lookup.
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

/* The transport data message's header (messages.h): type, 3 reserved
 * bytes, receiver index, counter; the encrypted rest is padded to 16 and
 * ends in a 16-byte tag. */
enum wg_shape {
	WG_TYPE_DATA = 4,
	WG_HEADER = 16,
	WG_BLOCK = 16,
	WG_TAG = 16,
	WG_MIN_SIZE = WG_HEADER + WG_BLOCK + WG_TAG,
};

enum kind { KIND_GARBAGE, KIND_WG };

static uint64_t rng_state;

/* xorshift64*: cheap, and random enough to spread receiver indices. */
static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

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
	static uint8_t buf[BURST][MAX_SIZE];
	struct sockaddr_storage ss = { 0 };
	socklen_t sslen;
	struct mmsghdr msgs[BURST];
	struct iovec iov[BURST];
	uint64_t start, sent = 0, failed = 0, seq = 0;
	long rate, size, seconds;
	enum kind kind = KIND_GARBAGE;
	int fd;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: udpflood ADDR PORT RATE_PPS SIZE SECONDS [garbage|wg]\n");
		return 2;
	}
	rate = arg(argv[3], "RATE_PPS", 1, MAX_RATE);
	size = arg(argv[4], "SIZE", 0, MAX_SIZE);
	seconds = arg(argv[5], "SECONDS", 1, MAX_SECONDS);
	if (argc == 7 && strcmp(argv[6], "wg") == 0) {
		kind = KIND_WG;
		if (size < WG_MIN_SIZE) {
			fprintf(stderr, "udpflood: SIZE must be at least %d for KIND wg, got %ld\n",
				WG_MIN_SIZE, size);
			return 2;
		}
		size = WG_HEADER + (size - WG_HEADER) / WG_BLOCK * WG_BLOCK;
	} else if (argc == 7 && strcmp(argv[6], "garbage") != 0) {
		fprintf(stderr, "udpflood: KIND must be garbage or wg, got '%s'\n", argv[6]);
		return 2;
	}
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
	rng_state = now_ns() ^ (uint64_t)time(NULL) << 32 ^ (uint64_t)getpid();
	if (!rng_state)
		rng_state = 1;
	for (int b = 0; b < BURST; b++) {
		/* Garbage that parses as nothing: type byte 0x55 is not a
		 * message. A wg slot's random body is drawn once; its header
		 * is stamped anew for every datagram below. */
		for (long i = 0; i < size; i++)
			buf[b][i] = kind == KIND_WG ? (uint8_t)rng_next()
						    : (uint8_t)(0x55 ^ (i * 131));
		if (kind == KIND_WG) {
			buf[b][0] = WG_TYPE_DATA;
			memset(buf[b] + 1, 0, 3);
		}
		iov[b] = (struct iovec){ .iov_base = buf[b], .iov_len = (size_t)size };
		msgs[b].msg_hdr = (struct msghdr){ .msg_name = &ss,
						   .msg_namelen = sslen,
						   .msg_iov = &iov[b],
						   .msg_iovlen = 1 };
	}
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
		if (kind == KIND_WG) {
			for (unsigned i = 0; i < n; i++) {
				put_le32(buf[i] + 4, (uint32_t)(rng_next() >> 32));
				put_le64(buf[i] + 8, seq++);
			}
		}
		int r = sendmmsg(fd, msgs, n, 0);

		if (r > 0)
			sent += (uint64_t)r;
		else
			failed += n;
	}
	double secs = (double)(now_ns() - start) / 1e9;

	printf("udpflood: sent %llu %s datagrams of %ld bytes in %.1f s (%.0f/s), %llu failed\n",
	       (unsigned long long)sent, kind == KIND_WG ? "wg" : "garbage",
	       size, secs, (double)sent / secs,
	       (unsigned long long)failed);
	close(fd);
	return 0;
}
