/* cmd_show.c - weft show and weft showconf: a device's state in the same
 * text as wg(8) prints it, so that people and scripts can use either. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cli/ipc.h"
#include "cli/subcommands.h"
#include "cli/terminal.h"
#include "core/encoding.h"

static const char show_fields[] =
	"[public-key | private-key | listen-port | fwmark | peers | "
	"preshared-keys | endpoints | allowed-ips | latest-handshakes | "
	"transfer | persistent-keepalive | dump]";

static void show_usage(void)
{
	fprintf(stderr, "Usage: %s show { <interface> | all | interfaces } "
		"%s\n", prog_name, show_fields);
}

/* ---- formatting pieces ---- */

struct key_text {
	char s[KEY_BASE64_LEN + 1];
};

static struct key_text key_b64(const uint8_t key[KEY_LEN])
{
	struct key_text t;

	key_to_base64(t.s, key);
	return t;
}

/* Numeric host and port as wg prints them: getnameinfo, so that a
 * link-local scope shows as its interface name. */
static const char *endpoint_text(const struct ipc_peer *p, char *out,
				 size_t cap)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	if (p->endpoint.family == IP_V4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p->endpoint.port);
		memcpy(&sin->sin_addr, p->endpoint.addr, 4);
		len = sizeof(*sin);
	} else if (p->endpoint.family == IP_V6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p->endpoint.port);
		sin6->sin6_scope_id = p->endpoint.scope_id;
		memcpy(&sin6->sin6_addr, p->endpoint.addr, 16);
		len = sizeof(*sin6);
	} else {
		return p->endpoint_raw[0] ? p->endpoint_raw : NULL;
	}
	if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), serv,
			sizeof(serv), NI_DGRAM | NI_NUMERICHOST |
			NI_NUMERICSERV) != 0) {
		endpoint_format(&p->endpoint, out);
		return out;
	}
	snprintf(out, cap, p->endpoint.family == IP_V6 ? "[%s]:%s" : "%s:%s",
		 host, serv);
	return out;
}

static const char *ip_text(const struct ipc_allowed_ip *a, char *out,
			   size_t cap)
{
	if (!inet_ntop(a->family == IP_V4 ? AF_INET : AF_INET6, a->ip, out,
		       (socklen_t)cap))
		snprintf(out, cap, "?");
	return out;
}

/* "1 year, 2 days, 1 minute, 3 seconds"; the units in cyan. */
static void print_duration(uint64_t left)
{
	static const struct {
		const char *unit;
		uint64_t seconds;
	} units[] = {
		{ "year", 365 * 24 * 60 * 60 },
		{ "day", 24 * 60 * 60 },
		{ "hour", 60 * 60 },
		{ "minute", 60 },
		{ "second", 1 },
	};
	const char *sep = "";
	uint64_t n;
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); ++i) {
		n = left / units[i].seconds;
		left %= units[i].seconds;
		if (!n)
			continue;
		terminal_printf("%s%" PRIu64 " " TERM_CYAN "%s%s" TERM_RESET,
				sep, n, units[i].unit, n == 1 ? "" : "s");
		sep = ", ";
	}
}

static void print_ago(uint64_t then)
{
	time_t now = time(NULL);

	if ((uint64_t)now == then) {
		terminal_printf("Now");
	} else if ((uint64_t)now < then) {
		terminal_printf("(" TERM_RED "System clock wound backward; "
				"connection problems may ensue." TERM_RESET ")");
	} else {
		print_duration((uint64_t)now - then);
		terminal_printf(" ago");
	}
}

static void print_bytes(uint64_t b)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t i;

	if (b < 1024) {
		terminal_printf("%" PRIu64 " " TERM_CYAN "B" TERM_RESET, b);
		return;
	}
	for (i = 0; i < 3 && v >= 1024.0 * 1024.0; ++i)
		v /= 1024.0;
	terminal_printf("%.2f " TERM_CYAN "%s" TERM_RESET, v / 1024.0,
			units[i]);
}

/* ---- the readable view ---- */

/* wg's order: most recent handshake first, peers that never had one last.
 * Like wg, two such peers each compare as "after" the other, and like wg
 * the sort runs over pointers with qsort, so both tools print one order. */
static int by_latest_handshake(const void *x, const void *y)
{
	const struct ipc_peer *a = *(const struct ipc_peer *const *)x;
	const struct ipc_peer *b = *(const struct ipc_peer *const *)y;

	if (!a->last_handshake_sec && !a->last_handshake_nsec)
		return 1;
	if (!b->last_handshake_sec && !b->last_handshake_nsec)
		return -1;
	if (a->last_handshake_sec != b->last_handshake_sec)
		return a->last_handshake_sec < b->last_handshake_sec ? 1 : -1;
	if (a->last_handshake_nsec != b->last_handshake_nsec)
		return a->last_handshake_nsec < b->last_handshake_nsec ? 1 : -1;
	return 0;
}

static void pretty_print(const struct ipc_device *dev)
{
	const struct ipc_peer **order;
	const struct ipc_peer *p;
	char text[INET6_ADDRSTRLEN + NI_MAXSERV + 8];
	const char *ep;
	size_t i, j;

	terminal_printf(TERM_RESET);
	terminal_printf(TERM_GREEN TERM_BOLD "interface" TERM_RESET ": "
			TERM_GREEN "%s" TERM_RESET "\n", dev->name);
	if (dev->has_private_key) {
		terminal_printf("  " TERM_BOLD "public key" TERM_RESET ": %s\n",
				key_b64(dev->public_key).s);
		terminal_printf("  " TERM_BOLD "private key" TERM_RESET
				": (hidden)\n");
	}
	if (dev->listen_port)
		terminal_printf("  " TERM_BOLD "listening port" TERM_RESET
				": %u\n", dev->listen_port);
	if (dev->fwmark)
		terminal_printf("  " TERM_BOLD "fwmark" TERM_RESET ": 0x%x\n",
				dev->fwmark);
	if (!dev->n_peers)
		return;
	terminal_printf("\n");
	order = calloc(dev->n_peers, sizeof(*order));
	if (!order)
		abort();
	for (i = 0; i < dev->n_peers; ++i)
		order[i] = &dev->peers[i];
	qsort(order, dev->n_peers, sizeof(*order), by_latest_handshake);
	for (i = 0; i < dev->n_peers; ++i) {
		p = order[i];
		terminal_printf(TERM_YELLOW TERM_BOLD "peer" TERM_RESET ": "
				TERM_YELLOW "%s" TERM_RESET "\n",
				key_b64(p->public_key).s);
		if (p->has_preshared_key)
			terminal_printf("  " TERM_BOLD "preshared key"
					TERM_RESET ": (hidden)\n");
		ep = endpoint_text(p, text, sizeof(text));
		if (ep)
			terminal_printf("  " TERM_BOLD "endpoint" TERM_RESET
					": %s\n", ep);
		terminal_printf("  " TERM_BOLD "allowed ips" TERM_RESET ": ");
		for (j = 0; j < p->n_allowed_ips; ++j)
			terminal_printf("%s" TERM_CYAN "/" TERM_RESET "%u%s",
					ip_text(&p->allowed_ips[j], text,
						sizeof(text)),
					p->allowed_ips[j].cidr,
					j + 1 < p->n_allowed_ips ? ", " : "\n");
		if (!p->n_allowed_ips)
			terminal_printf("(none)\n");
		if (p->last_handshake_sec) {
			terminal_printf("  " TERM_BOLD "latest handshake"
					TERM_RESET ": ");
			print_ago(p->last_handshake_sec);
			terminal_printf("\n");
		}
		if (p->rx_bytes || p->tx_bytes) {
			terminal_printf("  " TERM_BOLD "transfer" TERM_RESET
					": ");
			print_bytes(p->rx_bytes);
			terminal_printf(" received, ");
			print_bytes(p->tx_bytes);
			terminal_printf(" sent\n");
		}
		if (p->persistent_keepalive) {
			terminal_printf("  " TERM_BOLD "persistent keepalive"
					TERM_RESET ": every ");
			print_duration(p->persistent_keepalive);
			terminal_printf("\n");
		}
		if (i + 1 < dev->n_peers)
			terminal_printf("\n");
	}
	free(order);
}

/* ---- one field, for scripts: tab-separated, peers in device order ---- */

static void print_ips(const struct ipc_peer *p, char sep)
{
	char text[INET6_ADDRSTRLEN];
	size_t j;

	for (j = 0; j < p->n_allowed_ips; ++j)
		printf("%s/%u%s", ip_text(&p->allowed_ips[j], text, sizeof(text)),
		       p->allowed_ips[j].cidr,
		       j + 1 < p->n_allowed_ips ? (sep == ' ' ? " " : ",") : "");
	if (!p->n_allowed_ips)
		printf("(none)");
}

static bool field_print(const struct ipc_device *dev, const char *field,
			bool with_ifname)
{
	char text[INET6_ADDRSTRLEN + NI_MAXSERV + 8];
	const char *prefix = with_ifname ? dev->name : "";
	const char *tab = with_ifname ? "\t" : "";
	const struct ipc_peer *p;
	const char *ep;
	size_t i;

	if (!strcmp(field, "public-key")) {
		printf("%s%s%s\n", prefix, tab, dev->has_private_key
		       ? key_b64(dev->public_key).s : "(none)");
	} else if (!strcmp(field, "private-key")) {
		printf("%s%s%s\n", prefix, tab, dev->has_private_key
		       ? key_b64(dev->private_key).s : "(none)");
	} else if (!strcmp(field, "listen-port")) {
		printf("%s%s%u\n", prefix, tab, dev->listen_port);
	} else if (!strcmp(field, "fwmark")) {
		if (dev->fwmark)
			printf("%s%s0x%x\n", prefix, tab, dev->fwmark);
		else
			printf("%s%soff\n", prefix, tab);
	} else if (!strcmp(field, "dump")) {
		printf("%s%s%s\t%s\t%u\t", prefix, tab,
		       dev->has_private_key ? key_b64(dev->private_key).s
					    : "(none)",
		       dev->has_private_key ? key_b64(dev->public_key).s
					    : "(none)",
		       dev->listen_port);
		if (dev->fwmark)
			printf("0x%x\n", dev->fwmark);
		else
			printf("off\n");
		for (i = 0; i < dev->n_peers; ++i) {
			p = &dev->peers[i];
			ep = endpoint_text(p, text, sizeof(text));
			printf("%s%s%s\t%s\t%s\t", prefix, tab,
			       key_b64(p->public_key).s,
			       p->has_preshared_key
				       ? key_b64(p->preshared_key).s
				       : "(none)",
			       ep ? ep : "(none)");
			print_ips(p, ',');
			printf("\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t",
			       p->last_handshake_sec, p->rx_bytes, p->tx_bytes);
			if (p->persistent_keepalive)
				printf("%u\n", p->persistent_keepalive);
			else
				printf("off\n");
		}
	} else if (!strcmp(field, "peers") || !strcmp(field, "preshared-keys") ||
		   !strcmp(field, "endpoints") || !strcmp(field, "allowed-ips") ||
		   !strcmp(field, "latest-handshakes") ||
		   !strcmp(field, "transfer") ||
		   !strcmp(field, "persistent-keepalive")) {
		/* Unlike wg 1.0.20210914, whose "all endpoints" names the
		 * interface on its first peer only, every line says it. */
		for (i = 0; i < dev->n_peers; ++i) {
			p = &dev->peers[i];
			printf("%s%s%s", prefix, tab, key_b64(p->public_key).s);
			if (!strcmp(field, "peers")) {
				printf("\n");
			} else if (!strcmp(field, "preshared-keys")) {
				printf("\t%s\n", p->has_preshared_key
				       ? key_b64(p->preshared_key).s : "(none)");
			} else if (!strcmp(field, "endpoints")) {
				ep = endpoint_text(p, text, sizeof(text));
				printf("\t%s\n", ep ? ep : "(none)");
			} else if (!strcmp(field, "allowed-ips")) {
				printf("\t");
				print_ips(p, ' ');
				printf("\n");
			} else if (!strcmp(field, "latest-handshakes")) {
				printf("\t%" PRIu64 "\n", p->last_handshake_sec);
			} else if (!strcmp(field, "transfer")) {
				printf("\t%" PRIu64 "\t%" PRIu64 "\n",
				       p->rx_bytes, p->tx_bytes);
			} else if (p->persistent_keepalive) {
				printf("\t%u\n", p->persistent_keepalive);
			} else {
				printf("\toff\n");
			}
		}
	} else {
		return false;
	}
	return true;
}

static bool field_known(const char *field)
{
	static const char *const fields[] = {
		"public-key", "private-key", "listen-port", "fwmark", "peers",
		"preshared-keys", "endpoints", "allowed-ips",
		"latest-handshakes", "transfer", "persistent-keepalive", "dump",
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); ++i)
		if (!strcmp(field, fields[i]))
			return true;
	return false;
}

static int show_one(const char *ifname, const char *field, bool with_ifname)
{
	struct ipc_device *dev;

	if (ipc_get_device(ifname, &dev))
		return 1;
	if (field)
		field_print(dev, field, with_ifname);
	else
		pretty_print(dev);
	ipc_device_free(dev);
	return 0;
}

int show_main(int argc, char *argv[])
{
	char (*names)[IPC_IFNAME_MAX];
	const char *field = argc == 3 ? argv[2] : NULL;
	size_t n, i;
	int ret = 0;

	if (argc > 3) {
		show_usage();
		return 1;
	}
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "help"))) {
		show_usage();
		return 0;
	}
	if (field && !field_known(field)) {
		fprintf(stderr, "%s: show: unknown field \"%s\"\n", prog_name,
			field);
		show_usage();
		return 1;
	}
	if (argc >= 2 && !strcmp(argv[1], "interfaces")) {
		if (argc != 2) {
			show_usage();
			return 1;
		}
		if (ipc_list_devices(&names, &n))
			return 1;
		for (i = 0; i < n; ++i)
			printf("%s%c", names[i], i + 1 < n ? ' ' : '\n');
		free(names);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "all") != 0)
		return show_one(argv[1], field, false);

	if (ipc_list_devices(&names, &n))
		return 1;
	for (i = 0; i < n; ++i) {
		if (show_one(names[i], field, true)) {
			ret = 1;
			continue;
		}
		if (!field && i + 1 < n)
			printf("\n");
	}
	free(names);
	return ret;
}

int showconf_main(int argc, char *argv[])
{
	char text[INET6_ADDRSTRLEN + NI_MAXSERV + 8];
	struct ipc_device *dev;
	const struct ipc_peer *p;
	const char *ep;
	size_t i, j;

	if (argc != 2) {
		fprintf(stderr, "Usage: %s showconf <interface>\n", prog_name);
		return 1;
	}
	if (ipc_get_device(argv[1], &dev))
		return 1;
	printf("[Interface]\n");
	if (dev->listen_port)
		printf("ListenPort = %u\n", dev->listen_port);
	if (dev->fwmark)
		printf("FwMark = 0x%x\n", dev->fwmark);
	if (dev->has_private_key)
		printf("PrivateKey = %s\n", key_b64(dev->private_key).s);
	for (i = 0; i < dev->n_peers; ++i) {
		p = &dev->peers[i];
		printf("\n[Peer]\nPublicKey = %s\n", key_b64(p->public_key).s);
		if (p->has_preshared_key)
			printf("PresharedKey = %s\n",
			       key_b64(p->preshared_key).s);
		if (p->n_allowed_ips) {
			printf("AllowedIPs = ");
			for (j = 0; j < p->n_allowed_ips; ++j)
				printf("%s/%u%s",
				       ip_text(&p->allowed_ips[j], text,
					       sizeof(text)),
				       p->allowed_ips[j].cidr,
				       j + 1 < p->n_allowed_ips ? ", " : "\n");
		}
		ep = endpoint_text(p, text, sizeof(text));
		if (ep)
			printf("Endpoint = %s\n", ep);
		if (p->persistent_keepalive)
			printf("PersistentKeepalive = %u\n",
			       p->persistent_keepalive);
	}
	ipc_device_free(dev);
	return fflush(stdout) == 0 ? 0 : 1;
}
