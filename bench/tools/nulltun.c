/* nulltun.c - the least a userspace tunnel can do: IP packets from a TUN
 * device into UDP datagrams to one peer and back, one packet per poll
 * wake-up, no crypto, no protocol, no batching, no offloads. It is the
 * floor of a userspace tunnel's latency: the kernel work and the process
 * wake-ups that every userspace tunnel pays (weftd and wireguard-go
 * included), none of the crypto or protocol work. For
 * bench/throughput.sh, which measures it next to the real daemons.
 *
 *   nulltun IFNAME LOCAL_ADDR LOCAL_PORT PEER_ADDR PEER_PORT
 *
 * Makes TUN device IFNAME (IFF_TUN | IFF_NO_PI; the caller addresses it and
 * brings it up), binds a UDP socket to LOCAL_ADDR:LOCAL_PORT and connects
 * it to PEER_ADDR:PEER_PORT (numeric IPv4), then relays until SIGTERM or
 * SIGINT and prints what it carried.
 *
 * A benchmark tool only: it carries anything, unauthenticated and in the
 * clear, between the TUN and whoever can send from the peer's address. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

enum limits {
	/* An IPv4 packet or UDP payload is never larger. */
	MAX_PACKET = 65535,
	/* Packets moved per readiness. One: poll reports the descriptor
	 * again while more wait, so a lone packet (a ping) costs poll, one
	 * read and one send and never a read that finds nothing: the fewest
	 * system calls a hop can take, which is what a floor should be. */
	BURST = 1,
};

struct counts {
	uint64_t packets, bytes, dropped;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint16_t port_arg(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535) {
		fprintf(stderr, "nulltun: %s must be 1..65535, got '%s'\n", what, s);
		exit(2);
	}
	return (uint16_t)v;
}

static struct sockaddr_in addr_arg(const char *addr, const char *port,
				   const char *what_addr, const char *what_port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "nulltun: %s must be a numeric IPv4 address, got '%s'\n",
			what_addr, addr);
		exit(2);
	}
	sin.sin_port = htons(port_arg(port, what_port));
	return sin;
}

/* An exact interface name: no "%d" template, nothing the kernel refuses. */
static bool name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static int tun_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "nulltun: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "nulltun: cannot create TUN %s: %s\n", name,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int udp_open(const struct sockaddr_in *local,
		    const struct sockaddr_in *peer)
{
	char l[INET_ADDRSTRLEN], p[INET_ADDRSTRLEN];
	int fd;

	inet_ntop(AF_INET, &local->sin_addr, l, sizeof(l));
	inet_ntop(AF_INET, &peer->sin_addr, p, sizeof(p));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "nulltun: socket: %s\n", strerror(errno));
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)local, sizeof(*local)) < 0) {
		fprintf(stderr, "nulltun: cannot bind UDP %s:%u: %s\n", l,
			ntohs(local->sin_port), strerror(errno));
		goto fail;
	}
	/* Connected: the kernel hands us only the peer's datagrams. */
	if (connect(fd, (const struct sockaddr *)peer, sizeof(*peer)) < 0) {
		fprintf(stderr, "nulltun: cannot connect UDP to %s:%u: %s\n", p,
			ntohs(peer->sin_port), strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Up to BURST packets TUN -> UDP. A packet the socket cannot take now is
 * dropped, as a tunnel would; so is one the peer refused (ICMP port
 * unreachable: it has not started yet). 0, or -1 on a TUN error. */
static int tun_to_udp(int tun, int udp, uint8_t *buf, struct counts *c)
{
	for (int i = 0; i < BURST; i++) {
		ssize_t n = read(tun, buf, MAX_PACKET);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			fprintf(stderr, "nulltun: TUN read: %s\n", strerror(errno));
			return -1;
		}
		if (send(udp, buf, (size_t)n, 0) != n) {
			c->dropped++;
			continue;
		}
		c->packets++;
		c->bytes += (uint64_t)n;
	}
	return 0;
}

/* Up to BURST datagrams UDP -> TUN. A pending ICMP error is returned by
 * recv() once and is no reason to stop. 0, or -1 on a socket error. */
static int udp_to_tun(int udp, int tun, uint8_t *buf, struct counts *c)
{
	for (int i = 0; i < BURST; i++) {
		ssize_t n = recv(udp, buf, MAX_PACKET, 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			if (errno == ECONNREFUSED)
				continue;
			fprintf(stderr, "nulltun: UDP recv: %s\n", strerror(errno));
			return -1;
		}
		/* Not a packet; the TUN would refuse it anyway. */
		if (n == 0 || write(tun, buf, (size_t)n) != n) {
			c->dropped++;
			continue;
		}
		c->packets++;
		c->bytes += (uint64_t)n;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	static uint8_t buf[MAX_PACKET];
	struct sigaction sa = { .sa_handler = on_signal };
	struct counts out = { 0 }, in = { 0 };
	struct sockaddr_in local, peer;
	struct pollfd pfd[2];
	sigset_t block, wait_mask;
	int tun, udp, rc = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: nulltun IFNAME LOCAL_ADDR LOCAL_PORT PEER_ADDR PEER_PORT\n");
		return 2;
	}
	if (!name_ok(argv[1])) {
		fprintf(stderr, "nulltun: IFNAME must be 1..%d letters, digits, '-' or '_', got '%s'\n",
			IFNAMSIZ - 1, argv[1]);
		return 2;
	}
	local = addr_arg(argv[2], argv[3], "LOCAL_ADDR", "LOCAL_PORT");
	peer = addr_arg(argv[4], argv[5], "PEER_ADDR", "PEER_PORT");

	/* The signals are delivered only inside ppoll(): a SIGTERM between
	 * the check of stopping and the wait cannot be lost. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	tun = tun_open(argv[1]);
	if (tun < 0)
		return 1;
	udp = udp_open(&local, &peer);
	if (udp < 0) {
		close(tun);
		return 1;
	}
	pfd[0] = (struct pollfd){ .fd = tun, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = udp, .events = POLLIN };
	while (!stopping) {
		if (ppoll(pfd, 2, NULL, &wait_mask) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "nulltun: ppoll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			fprintf(stderr, "nulltun: TUN %s went away\n", argv[1]);
			rc = 1;
			break;
		}
		if ((pfd[0].revents & POLLIN) && tun_to_udp(tun, udp, buf, &out) < 0) {
			rc = 1;
			break;
		}
		/* POLLERR on the socket is a pending ICMP error: recv() clears it. */
		if ((pfd[1].revents & (POLLIN | POLLERR)) &&
		    udp_to_tun(udp, tun, buf, &in) < 0) {
			rc = 1;
			break;
		}
	}
	printf("nulltun: %s -> UDP %llu packets %llu bytes (%llu dropped), UDP -> %s %llu packets %llu bytes (%llu dropped)\n",
	       argv[1], (unsigned long long)out.packets,
	       (unsigned long long)out.bytes, (unsigned long long)out.dropped,
	       argv[1], (unsigned long long)in.packets,
	       (unsigned long long)in.bytes, (unsigned long long)in.dropped);
	close(udp);
	close(tun);
	return rc;
}
