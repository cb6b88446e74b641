/* cmd_netcheck.c - `weft netcheck`: what the local NAT does, as seen by
 * STUN (RFC 5389; the change of port of RFC 5780 where the server is a
 * weft relay):
 *   - the public address, and whether there is a NAT at all (the public
 *     address is one of ours);
 *   - mapping: the same public port towards every destination (easy), or
 *     a new one for each (hard: peers behind another NAT cannot be
 *     reached directly, the relay carries the traffic);
 *   - filtering: whether an answer from a port we never sent to gets in;
 *   - the round trip to each relay and STUN server.
 * The servers: --relay/--stun, else the roster a node of --interface
 * saved. One UDP socket per test, never the node's own port. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/subcommands.h"
#include "cli/vpnopts.h"
#include "mesh/envelope.h"
#include "mesh/roster.h"
#include "mesh/stun.h"
#include "os/linux/sockaddr.h"

enum {
	MAX_SERVERS = 2 * MESH_MAX_RELAYS,
	TRIES = 3,
	TRY_MS = 400,
};

struct server {
	struct wg_endpoint ep;
	bool relay;
	bool answered;
	double rtt_ms;
	struct wg_endpoint mapped;
};

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s netcheck: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One Binding exchange with to from fd: true with *mapped, the round trip,
 * and where the answer came from. */
static bool exchange(int fd, const struct wg_endpoint *to, bool change_port,
		     struct wg_endpoint *mapped, double *rtt, struct wg_endpoint *from)
{
	uint8_t req[STUN_REQUEST_MAX], txid[STUN_TXID_LEN], got_txid[STUN_TXID_LEN];
	uint8_t buf[1500];
	struct sockaddr_storage ss;
	socklen_t sl;
	size_t n;

	randombytes_buf(txid, sizeof(txid));
	n = stun_request(req, txid, change_port);
	for (int t = 0; t < TRIES; t++) {
		double t0 = now_ms(), left;

		sl = sockaddr_from_endpoint(&ss, to->family == IP_V4 ? AF_INET : AF_INET6, to);
		if (sendto(fd, req, n, 0, (struct sockaddr *)&ss, sl) < 0)
			return false;
		while ((left = t0 + TRY_MS - now_ms()) > 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t got;

			if (poll(&p, 1, (int)left + 1) <= 0)
				break;
			sl = sizeof(ss);
			got = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
			if (got <= 0 ||
			    stun_parse_response(buf, (size_t)got, got_txid, mapped) ||
			    memcmp(got_txid, txid, sizeof(txid)))
				continue;
			*rtt = now_ms() - t0;
			sockaddr_to_endpoint(from, &ss);
			return true;
		}
	}
	return false;
}

static int udp_socket(int family)
{
	return socket(family == IP_V4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

/* Whether addr is one of this host's addresses. */
static bool is_local(const struct wg_endpoint *e)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs))
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET && e->family == IP_V4)
			found = !memcmp(&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
					e->addr, 4);
		else if (i->ifa_addr->sa_family == AF_INET6 && e->family == IP_V6)
			found = !memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
					e->addr, 16);
	}
	freeifaddrs(ifs);
	return found;
}

/* The servers of the roster a node saved in BASE/IF/mesh/roster. */
static int from_roster(const char *base, const char *ifname, struct server *sv,
		       unsigned *n)
{
	char path[4096], reason[MESH_REASON_MAX], *buf;
	struct envelope env;
	struct roster r;
	FILE *f;
	size_t got;
	unsigned i;

	snprintf(path, sizeof(path), "%s/%s/mesh/roster", base, ifname);
	f = fopen(path, "re");
	if (!f)
		return bad("no servers to ask: %s: %s; give --relay or --stun ADDR:PORT, "
			   "or --interface of a mesh node that ran here", path, strerror(errno));
	buf = malloc(2 * MESH_ROSTER_BODY_MAX + 1);
	got = buf ? fread(buf, 1, 2 * MESH_ROSTER_BODY_MAX, f) : 0;
	fclose(f);
	if (!buf || envelope_parse(&env, buf, got, reason)) {
		free(buf);
		return bad("%s: not a roster (%s)", path, buf ? reason : "out of memory");
	}
	free(buf);
	if (roster_parse(&r, (const char *)env.body, env.body_len, reason)) {
		envelope_free(&env);
		return bad("%s: %s", path, reason);
	}
	envelope_free(&env);
	for (i = 0; i < r.n_relays + r.n_stun && *n < MAX_SERVERS; i++) {
		sv[*n].relay = i < r.n_relays;
		sv[*n].ep = sv[*n].relay ? r.relays[i] : r.stun[i - r.n_relays];
		(*n)++;
	}
	roster_free(&r);
	if (!*n)
		return bad("the roster of %s lists no relay or STUN server", ifname);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s netcheck [--relay ADDR:PORT]... [--stun ADDR:PORT]...\n"
		   "                     [--interface IF] [--state-dir DIR] [--json]\n"
		   "Without --relay/--stun: the servers of the roster the mesh node on IF\n"
		   "(default weftm0) saved in DIR/IF (default $WEFT_STATE_DIR or /var/lib/weft).\n",
		prog_name);
}

int netcheck_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "relay", required_argument, NULL, 'r' },
		{ "stun", required_argument, NULL, 's' },
		{ "interface", required_argument, NULL, 'i' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct server sv[MAX_SERVERS];
	const char *ifname = "weftm0", *base = getenv("WEFT_STATE_DIR");
	struct wg_endpoint pub = { 0 }, from;
	bool json = false, have_pub = false, varies = false, mapping_known = false;
	int filtering = -1;	/* -1 unknown, 0 by port, 1 open to other ports */
	unsigned n = 0, i, answered = 0;
	json_t *out = NULL, *list = NULL;
	int c, fd;

	memset(sv, 0, sizeof(sv));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
		case 's':
			if (n >= MAX_SERVERS)
				return bad("at most %d servers", MAX_SERVERS);
			if (!endpoint_parse(&sv[n].ep, optarg, strlen(optarg)) || !sv[n].ep.port)
				return bad("%s: not a numeric ADDR:PORT (for example 192.0.2.1:3478)",
					   optarg);
			sv[n++].relay = c == 'r';
			break;
		case 'i': ifname = optarg; break;
		case 'd': base = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc)
		return bad("unexpected argument \"%s\"", argv[optind]);
	if (sodium_init() < 0)
		return bad("libsodium failed to start");
	if (!n && from_roster(base && *base ? base : "/var/lib/weft", ifname, sv, &n))
		return 1;

	/* Mapping: one socket asks every server, and a weft relay's second
	 * port: the same public port each time, or not. */
	fd = udp_socket(sv[0].ep.family);
	if (fd < 0)
		return bad("cannot open a UDP socket: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		struct server *s = &sv[i];

		if (s->ep.family != sv[0].ep.family)
			continue;
		s->answered = exchange(fd, &s->ep, false, &s->mapped, &s->rtt_ms, &from);
		if (!s->answered)
			continue;
		answered++;
		if (!have_pub) {
			pub = s->mapped;
			have_pub = true;
		} else {
			mapping_known = true;
			varies |= !endpoint_equal(&pub, &s->mapped);
		}
	}
	if (have_pub && sv[0].relay) {
		struct wg_endpoint alt = sv[0].ep, m;
		double rtt;

		alt.port++;
		if (exchange(fd, &alt, false, &m, &rtt, &from)) {
			mapping_known = true;
			varies |= !endpoint_equal(&pub, &m);
		}
	}
	close(fd);

	/* Filtering: a fresh socket asks the first relay to answer from its
	 * other port, where this socket never sent. */
	for (i = 0; i < n && filtering < 0 && have_pub; i++) {
		struct wg_endpoint m;
		double rtt;

		if (!sv[i].relay || !sv[i].answered || sv[i].ep.family != sv[0].ep.family)
			continue;
		fd = udp_socket(sv[i].ep.family);
		if (fd < 0)
			break;
		if (exchange(fd, &sv[i].ep, true, &m, &rtt, &from))
			filtering = from.port != sv[i].ep.port ? 1 : -1;
		else
			filtering = 0;
		close(fd);
	}

	if (json) {
		out = json_object();
		list = json_array();
	}
	if (!have_pub) {
		if (json) {
			json_object_set_new(out, "public", json_null());
		} else {
			printf("public address  none: no server answered (UDP blocked?)\n");
		}
	} else {
		char ep[ENDPOINT_STR_MAX];
		bool nat = !is_local(&pub);
		const char *mapping = !nat ? "none" : !mapping_known ? "unknown" :
				      varies ? "varies by destination" : "endpoint-independent";
		const char *filter = filtering < 0 ? "unknown" :
				     filtering ? "admits other ports" : "by address and port";

		endpoint_format(&pub, ep);
		if (json) {
			json_object_set_new(out, "public", json_string(ep));
			json_object_set_new(out, "nat", json_boolean(nat));
			json_object_set_new(out, "mapping", json_string(mapping));
			json_object_set_new(out, "filtering", json_string(filter));
			json_object_set_new(out, "hard_nat", json_boolean(nat && varies));
		} else {
			printf("public address  %s\n", ep);
			if (!nat)
				printf("NAT             none (the address is this host's)\n");
			else
				printf("NAT             mapping %s%s, filtering %s\n", mapping,
				       varies ? " (hard NAT: peers behind NATs go through a relay)" :
				       mapping_known ? " (easy NAT)" : "", filter);
		}
	}
	for (i = 0; i < n; i++) {
		char ep[ENDPOINT_STR_MAX];

		endpoint_format(&sv[i].ep, ep);
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "server", json_string(ep));
			json_object_set_new(o, "relay", json_boolean(sv[i].relay));
			json_object_set_new(o, "rtt_ms", sv[i].answered ?
					    json_real(sv[i].rtt_ms) : json_null());
			json_array_append_new(list, o);
		} else if (sv[i].answered) {
			printf("%-5s %-22s %.2f ms\n", sv[i].relay ? "relay" : "stun", ep,
			       sv[i].rtt_ms);
		} else {
			printf("%-5s %-22s no answer\n", sv[i].relay ? "relay" : "stun", ep);
		}
	}
	if (json) {
		char *s;

		json_object_set_new(out, "servers", list);
		s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		json_decref(out);
	}
	return answered ? 0 : 1;
}
