/* cmd_status.c - `weft status [IF] [--json]` and `weft set [IF]
 * --exit-node NAME|off`: ask a running mesh node over its control socket
 * (root only: the socket is 0600). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/subcommands.h"
#include "cli/vpnopts.h"
#include "mesh/node.h"
#include "vpn/ctl.h"

enum { STATUS_TIMEOUT_MS = 3000 };

/* One request line; the answer is everything the node writes before it
 * closes (a status can be longer than a control line), at most
 * NODE_STATUS_MAX bytes, its trailing newline removed. */
static int request(const char *ifname, const char *req, char *reply, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { STATUS_TIMEOUT_MS / 1000, 0 };
	char path[CTL_PATH_MAX];
	size_t len = 0;
	int fd, err;

	err = ctl_path(NULL, ifname, path);
	if (err)
		return err;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    dprintf(fd, "%s\n", req) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	for (;;) {
		ssize_t n = recv(fd, reply + len, cap - 1 - len, 0);

		if (n < 0) {
			err = errno == EAGAIN ? -ETIMEDOUT : -errno;
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap - 1) {
			close(fd);
			return -EMSGSIZE;
		}
	}
	close(fd);
	while (len && reply[len - 1] == '\n')
		len--;
	reply[len] = '\0';
	return len ? 0 : -EPROTO;
}

static int ask(const char *ifname, const char *req, char **reply)
{
	size_t cap = NODE_STATUS_MAX;
	int err;

	*reply = malloc(cap);
	if (!*reply)
		return -ENOMEM;
	err = request(ifname, req, *reply, cap);
	if (err) {
		fprintf(stderr, "%s: no mesh node answers on %s: %s%s\n", prog_name, ifname,
			strerror(-err), err == -ENOENT || err == -ECONNREFUSED ?
			" (is `weft up` running? run as root)" : "");
		free(*reply);
		*reply = NULL;
	}
	return err;
}

static void human_bytes(uint64_t b, char out[16])
{
	static const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	unsigned i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, 16, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static const char *str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "-";
}

static int print_text(const char *json)
{
	json_t *o = json_loads(json, 0, NULL), *peers, *p;
	size_t i;

	if (!json_is_object(o)) {
		fprintf(stderr, "%s: garbled status from the node\n", prog_name);
		json_decref(o);
		return 1;
	}
	printf("network %s  interface %s  address %s  roster v%" JSON_INTEGER_FORMAT
	       "  port %" JSON_INTEGER_FORMAT "%s%s\n",
	       str(o, "network"), str(o, "interface"), str(o, "address"),
	       json_integer_value(json_object_get(o, "roster_version")),
	       json_integer_value(json_object_get(o, "listen_port")),
	       json_object_get(o, "exit_node") ? "  exit node " : "",
	       json_object_get(o, "exit_node") ? str(o, "exit_node") : "");
	{
		json_t *pub = json_object_get(o, "public"), *sv = json_object_get(o, "servers"), *x;

		if (json_array_size(pub)) {
			printf("public");
			json_array_foreach(pub, i, x)
				printf(" %s", json_string_value(x) ?: "?");
			putchar('\n');
		}
		json_array_foreach(sv, i, x) {
			json_t *rtt = json_object_get(x, "rtt_ms");
			bool relay = json_is_true(json_object_get(x, "relay"));

			printf("%s %s  %s", relay ? "relay" : "stun ", str(x, "server"),
			       !relay ? "" : json_is_true(json_object_get(x, "registered")) ?
			       "registered" : "not registered");
			if (json_is_number(rtt))
				printf("  %.2f ms", json_number_value(rtt));
			putchar('\n');
		}
	}
	peers = json_object_get(o, "peers");
	printf("%-24s %-15s %-6s %-24s %-10s %-10s %-10s %s\n", "PEER", "ADDRESS",
	       "PATH", "ENDPOINT", "HANDSHAKE", "RX", "TX", "RTT");
	json_array_foreach(peers, i, p) {
		char rx[16], tx[16], hs[24], rtt[24];
		json_t *age = json_object_get(p, "handshake_age_s");
		json_t *r = json_object_get(p, "rtt_ms");

		human_bytes((uint64_t)json_integer_value(json_object_get(p, "rx_bytes")), rx);
		human_bytes((uint64_t)json_integer_value(json_object_get(p, "tx_bytes")), tx);
		if (json_is_integer(age))
			snprintf(hs, sizeof(hs), "%" JSON_INTEGER_FORMAT " s ago",
				 json_integer_value(age));
		else
			snprintf(hs, sizeof(hs), "never");
		if (json_is_number(r))
			snprintf(rtt, sizeof(rtt), "%.2f ms", json_number_value(r));
		else
			snprintf(rtt, sizeof(rtt), "-");
		printf("%-24s %-15s %-6s %-24s %-10s %-10s %-10s %s%s\n", str(p, "name"),
		       str(p, "address"), str(p, "path"), str(p, "endpoint"), hs, rx, tx,
		       rtt, json_is_true(json_object_get(p, "exit")) ? "  (exit)" : "");
	}
	json_decref(o);
	return 0;
}

int status_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "interface", required_argument, NULL, 'i' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char ifname[16] = NODE_DEFAULT_IFNAME, *reply;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hi:", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'i':
			if (!vpnopts_ifname(optarg, ifname))
				return 1;
			break;
		case 'h':
			printf("Usage: %s status [IF] [--json]\n", prog_name);
			return 0;
		default:
			fprintf(stderr, "Usage: %s status [IF] [--json]\n", prog_name);
			return 1;
		}
	}
	if (optind < argc && !vpnopts_ifname(argv[optind++], ifname))
		return 1;
	if (optind != argc) {
		fprintf(stderr, "%s status: unexpected argument \"%s\"\n", prog_name,
			argv[optind]);
		return 1;
	}
	if (ask(ifname, "mesh-status", &reply))
		return 1;
	if (json) {
		printf("%s\n", reply);
		rc = 0;
	} else {
		rc = print_text(reply);
	}
	free(reply);
	return rc;
}

int set_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "exit-node", required_argument, NULL, 'x' },
		{ "interface", required_argument, NULL, 'i' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char ifname[16] = NODE_DEFAULT_IFNAME, req[256], *reply;
	const char *exit_node = NULL;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "hi:", opts, NULL)) != -1) {
		switch (c) {
		case 'x': exit_node = optarg; break;
		case 'i':
			if (!vpnopts_ifname(optarg, ifname))
				return 1;
			break;
		case 'h':
			printf("Usage: %s set [IF] --exit-node NAME|off\n", prog_name);
			return 0;
		default:
			fprintf(stderr, "Usage: %s set [IF] --exit-node NAME|off\n", prog_name);
			return 1;
		}
	}
	if (optind < argc && !vpnopts_ifname(argv[optind++], ifname))
		return 1;
	if (optind != argc || !exit_node || strlen(exit_node) > 127 ||
	    strpbrk(exit_node, " \n")) {
		fprintf(stderr, "Usage: %s set [IF] --exit-node NAME|off\n", prog_name);
		return 1;
	}
	snprintf(req, sizeof(req), "exit-node %s", exit_node);
	if (ask(ifname, req, &reply))
		return 1;
	if (strncmp(reply, "ok", 2)) {
		fprintf(stderr, "%s set: %s\n", prog_name,
			!strncmp(reply, "error ", 6) ? reply + 6 : reply);
		rc = 1;
	}
	free(reply);
	return rc;
}
