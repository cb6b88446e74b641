/* firewall_smoke.c - a command-line front to fw_rules and firewall for
 * firewall_smoke.sh, plus the tiny UDP and TCP probes it needs (one with
 * SO_MARK, which socat cannot set portably). Run it inside the namespace
 * under test.
 *
 *   firewall_smoke killswitch IF [--endpoint A:P]... [--lan PFX]...
 *                  [--fwmark N] [--print]
 *   firewall_smoke server IF [--pool4 PFX] [--pool6 PFX] [--tun4 A]
 *                  [--tun6 A] [--secure] [--dns] [--isolate]
 *                  [--deny PFX]... [--print]
 *   firewall_smoke remove IF | exists IF | name IF | apply-file FILE
 *   firewall_smoke udp A P [--mark N] [--reply]
 *   firewall_smoke tcp A P
 *
 * Exit status 0 on success, 1 on failure (one line on stderr saying why),
 * 2 on a usage error. A probe prints one line: what happened, and how
 * long a failure took, so the script can tell reject from timeout. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "os/linux/firewall.h"
#include "os/linux/fw_rules.h"

enum smoke_values {
	PROBE_WAIT_MS = 3000,	/* bound on a connect or a reply */
	FILE_MAX = 1 << 20,
};

static const char *prog = "firewall_smoke";

static int usage(void)
{
	fprintf(stderr, "usage: %s killswitch|server|remove|exists|name|"
		"apply-file|udp|tcp ... (see the source)\n", prog);
	return 2;
}

/* "A" into family/addr. */
static bool parse_addr(const char *s, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

/* "A:P" or "[A6]:P". */
static bool parse_endpoint(const char *s, struct fw_endpoint *e)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	char *end;
	unsigned long port;
	size_t n;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return false;
		n = (size_t)(close - s - 1);
		colon = close + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		n = (size_t)(colon - s);
	}
	if (n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535)
		return false;
	e->port = (uint16_t)port;
	return parse_addr(host, &e->family, e->addr);
}

/* "A/LEN". Lengths out of range are left for the builders to refuse. */
static bool parse_prefix(const char *s, struct fw_prefix *p)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned long len;
	char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(host))
		return false;
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = '\0';
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || *end || len > 255)
		return false;
	p->len = (uint8_t)len;
	return parse_addr(host, &p->family, p->addr);
}

static bool parse_u32(const char *s, uint32_t *v)
{
	unsigned long long x;
	char *end;

	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || *end || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

/* Copy as the helper would from a request: the struct's 16 bytes, no more;
 * a longer name arrives unterminated and the builder must refuse it. */
static void set_ifname(char dst[FW_IFNAMSIZ], const char *src)
{
	size_t n = strlen(src);

	memset(dst, 0, FW_IFNAMSIZ);
	memcpy(dst, src, n < FW_IFNAMSIZ ? n : FW_IFNAMSIZ);
}

/* Print or apply what a builder made. */
static int deliver(const char *what, int built, const char *script,
		   const struct fw_error *err, bool print)
{
	int r;

	if (built < 0) {
		fprintf(stderr, "%s: %s: %s (%d): %s\n", prog, what,
			strerror(-built), built,
			built == -EINVAL ? err->msg : "script buffer too small");
		return 1;
	}
	if (print) {
		fputs(script, stdout);
		return 0;
	}
	r = fw_apply(script);
	if (r) {
		fprintf(stderr, "%s: %s: %s (%d): %s\n", prog, what,
			strerror(-r), r, fw_last_error());
		return 1;
	}
	return 0;
}

enum opt_ids {
	OPT_ENDPOINT = 256, OPT_LAN, OPT_FWMARK, OPT_PRINT, OPT_POOL4,
	OPT_POOL6, OPT_TUN4, OPT_TUN6, OPT_SECURE, OPT_DNS, OPT_ISOLATE,
	OPT_DENY, OPT_MARK, OPT_REPLY,
};

static const struct option options[] = {
	{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
	{ "lan", required_argument, NULL, OPT_LAN },
	{ "fwmark", required_argument, NULL, OPT_FWMARK },
	{ "print", no_argument, NULL, OPT_PRINT },
	{ "pool4", required_argument, NULL, OPT_POOL4 },
	{ "pool6", required_argument, NULL, OPT_POOL6 },
	{ "tun4", required_argument, NULL, OPT_TUN4 },
	{ "tun6", required_argument, NULL, OPT_TUN6 },
	{ "secure", no_argument, NULL, OPT_SECURE },
	{ "dns", no_argument, NULL, OPT_DNS },
	{ "isolate", no_argument, NULL, OPT_ISOLATE },
	{ "deny", required_argument, NULL, OPT_DENY },
	{ "mark", required_argument, NULL, OPT_MARK },
	{ "reply", no_argument, NULL, OPT_REPLY },
	{ NULL, 0, NULL, 0 },
};

static int cmd_killswitch(int argc, char **argv)
{
	static char script[FW_SCRIPT_MAX];
	struct fw_killswitch ks = { 0 };
	struct fw_error err = { { 0 } };
	bool print = false;
	int c;

	set_ifname(ks.ifname, argv[1]);
	optind = 2;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_ENDPOINT:
			if (ks.n_endpoints >= FW_MAX_ENDPOINTS ||
			    !parse_endpoint(optarg, &ks.endpoints[ks.n_endpoints++]))
				return usage();
			break;
		case OPT_LAN:
			ks.allow_lan = true;
			if (ks.n_lan >= FW_MAX_LAN ||
			    !parse_prefix(optarg, &ks.lan[ks.n_lan++]))
				return usage();
			break;
		case OPT_FWMARK:
			if (!parse_u32(optarg, &ks.fwmark))
				return usage();
			break;
		case OPT_PRINT:
			print = true;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	return deliver("kill switch",
		       fw_killswitch_script(&ks, script, sizeof(script), &err),
		       script, &err, print);
}

static int cmd_server(int argc, char **argv)
{
	static char script[FW_SCRIPT_MAX];
	struct fw_server srv = { 0 };
	struct fw_error err = { { 0 } };
	bool print = false;
	int c;

	set_ifname(srv.ifname, argv[1]);
	optind = 2;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_POOL4:
		case OPT_POOL6:
			if (!parse_prefix(optarg, c == OPT_POOL4 ? &srv.pool4
							     : &srv.pool6))
				return usage();
			break;
		case OPT_TUN4:
		case OPT_TUN6: {
			struct fw_addr *a = c == OPT_TUN4 ? &srv.tun4 : &srv.tun6;

			if (!parse_addr(optarg, &a->family, a->addr))
				return usage();
			break;
		}
		case OPT_SECURE:
			srv.secure = true;
			break;
		case OPT_DNS:
			srv.offer_dns = true;
			break;
		case OPT_ISOLATE:
			srv.isolate_clients = true;
			break;
		case OPT_DENY:
			if (srv.n_deny >= FW_MAX_LAN ||
			    !parse_prefix(optarg, &srv.deny[srv.n_deny++]))
				return usage();
			break;
		case OPT_PRINT:
			print = true;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	return deliver("server",
		       fw_server_script(&srv, script, sizeof(script), &err),
		       script, &err, print);
}

static int cmd_apply_file(const char *path)
{
	static char text[FILE_MAX];
	size_t n;
	FILE *f = fopen(path, "re");
	int r;

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return 1;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	r = fw_apply(text);
	if (r) {
		fprintf(stderr, "%s: apply %s: %s (%d): %s\n", prog, path,
			strerror(-r), r, fw_last_error());
		return 1;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sockaddr_of(const char *host, const char *port,
		       struct sockaddr_storage *ss, socklen_t *len)
{
	struct fw_endpoint e = { 0 };
	char buf[INET6_ADDRSTRLEN + 16];

	snprintf(buf, sizeof(buf), strchr(host, ':') ? "[%s]:%s" : "%s:%s",
		 host, port);
	if (!parse_endpoint(buf, &e) || e.port == 0)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (e.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(e.port);
		memcpy(&s4->sin_addr, e.addr, 4);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(e.port);
		memcpy(&s6->sin6_addr, e.addr, 16);
		*len = sizeof(*s6);
	}
	return e.family;
}

static int probe_fail(const char *what, long long t0, int e)
{
	printf("%s failed after %lld ms: %s\n", what, now_ms() - t0,
	       strerror(e));
	return 1;
}

/* One datagram; with --reply, wait for one back on a connected socket
 * (so ICMP errors come back as errors, as they would to an application). */
static int cmd_udp(int argc, char **argv)
{
	static const char msg[] = "weft firewall smoke";
	struct sockaddr_storage ss;
	socklen_t sl;
	uint32_t mark = 0;
	bool reply = false;
	long long t0 = now_ms();
	char buf[512];
	int c, fd, fam;

	optind = 3;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == OPT_MARK && parse_u32(optarg, &mark))
			continue;
		if (c == OPT_REPLY) {
			reply = true;
			continue;
		}
		return usage();
	}
	if (optind != argc)
		return usage();
	fam = sockaddr_of(argv[1], argv[2], &ss, &sl);
	if (fam < 0)
		return usage();
	fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return probe_fail("socket", t0, errno);
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		return probe_fail("SO_MARK", t0, errno);
	if (connect(fd, (struct sockaddr *)&ss, sl))
		return probe_fail("connect", t0, errno);
	if (send(fd, msg, sizeof(msg) - 1, 0) < 0)
		return probe_fail("send", t0, errno);
	if (reply) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, PROBE_WAIT_MS) <= 0)
			return probe_fail("reply", t0, ETIMEDOUT);
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0)
			return probe_fail("reply", t0, errno);
		printf("reply of %zd bytes\n", r);
	} else {
		printf("sent\n");
	}
	close(fd);
	return 0;
}

static int cmd_tcp(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	struct pollfd p;
	socklen_t sl, el = sizeof(int);
	long long t0 = now_ms();
	int fd, fam, e = 0;

	fam = sockaddr_of(host, port, &ss, &sl);
	if (fam < 0)
		return usage();
	fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return probe_fail("socket", t0, errno);
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS)
		return probe_fail("connect", t0, errno);
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, PROBE_WAIT_MS) <= 0)
		return probe_fail("connect", t0, ETIMEDOUT);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) || e)
		return probe_fail("connect", t0, e ? e : errno);
	printf("connected\n");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char name[FW_TABLE_NAME_MAX];
	const char *cmd;
	int r;

	if (argc < 3)
		return usage();
	cmd = argv[1];
	argv++;
	argc--;
	if (!strcmp(cmd, "killswitch"))
		return cmd_killswitch(argc, argv);
	if (!strcmp(cmd, "server"))
		return cmd_server(argc, argv);
	if (!strcmp(cmd, "udp") && argc >= 3)
		return cmd_udp(argc, argv);
	if (argc != 2 && strcmp(cmd, "tcp"))
		return usage();
	if (!strcmp(cmd, "tcp") && argc == 3)
		return cmd_tcp(argv[1], argv[2]);
	if (!strcmp(cmd, "apply-file"))
		return cmd_apply_file(argv[1]);
	if (!strcmp(cmd, "name")) {
		r = fw_table_name(argv[1], name, sizeof(name));
		if (r < 0) {
			fprintf(stderr, "%s: name: %s (%d)\n", prog,
				strerror(-r), r);
			return 1;
		}
		printf("%s\n", name);
		return 0;
	}
	if (!strcmp(cmd, "remove") || !strcmp(cmd, "exists")) {
		r = cmd[0] == 'r' ? fw_remove(argv[1])
				  : fw_table_exists(argv[1]);
		if (r < 0) {
			fprintf(stderr, "%s: %s: %s (%d): %s\n", prog, cmd,
				strerror(-r), r, fw_last_error());
			return 1;
		}
		if (cmd[0] == 'e')
			printf("%d\n", r);
		return 0;
	}
	return usage();
}
