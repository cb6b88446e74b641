/* ipc.c - talking to a WireGuard daemon over its UAPI unix socket: one
 * connection per request, every read and write bounded in size and time. */
#define _GNU_SOURCE	/* memmem */
#include "cli/ipc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/encoding.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"
#include "os/linux/unixsock.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xrealloc(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		abort();
	p = realloc(p, n * size > 0 ? n * size : 1);
	if (!p)
		abort();	/* control plane: out of memory is fatal */
	return p;
}

/* Room for element n of an array that holds n: the capacity doubles at
 * each power of two, so a reply of a million peers costs no more than
 * twice its size in copying. */
static void *grow(void *p, size_t n, size_t size)
{
	if (n == 0 || (n & (n - 1)) == 0)
		p = xrealloc(p, n ? n * 2 : 1, size);
	return p;
}

static void sock_path(char *out, size_t cap, const char *ifname)
{
	snprintf(out, cap, "%s/%s%s", UAPI_SOCK_DIR, ifname, UAPI_SOCK_SUFFIX);
}

/* Connect to the interface's socket; -1 after saying why not (unless
 * quiet). */
static int ipc_connect(const char *ifname, bool quiet)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, err, tries;

	if (!uapi_ifname_valid(ifname)) {
		if (!quiet)
			fprintf(stderr, "weft: \"%s\" is not an interface name "
				"(1 to 15 characters, no '/')\n", ifname);
		return -1;
	}
	sock_path(addr.sun_path, sizeof(addr.sun_path), ifname);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		if (!quiet)
			fprintf(stderr, "weft: socket: %s\n", strerror(errno));
		return -1;
	}
	/* A full backlog (EAGAIN) is a busy daemon: try for a second. */
	for (tries = 0; tries < 100; ++tries) {
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		if (errno != EAGAIN)
			break;
		usleep(10000);
	}
	err = errno;
	close(fd);
	if (quiet)
		return -1;
	if (err == ENOENT)
		fprintf(stderr, "weft: interface %s not found (no %s): is weftd "
			"running?\n", ifname, addr.sun_path);
	else if (err == ECONNREFUSED)
		fprintf(stderr, "weft: interface %s: nothing answers on %s (a "
			"daemon that died?): restart weftd\n", ifname,
			addr.sun_path);
	else if (err == EACCES || err == EPERM)
		fprintf(stderr, "weft: interface %s: no permission to use %s: "
			"run weft as root\n", ifname, addr.sun_path);
	else
		fprintf(stderr, "weft: interface %s: cannot connect to %s: %s\n",
			ifname, addr.sun_path, strerror(err));
	return -1;
}

static int wait_fd(int fd, short events, int64_t deadline, const char *ifname)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int r;

	while (true) {
		left = deadline - now_ms();
		if (left <= 0) {
			fprintf(stderr, "weft: interface %s: no answer within %d "
				"seconds: is the daemon stuck?\n", ifname,
				IPC_TIMEOUT_MS / 1000);
			return -1;
		}
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "weft: poll: %s\n", strerror(errno));
			return -1;
		}
	}
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline,
		    const char *ifname)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline, ifname))
				return -1;
			continue;
		}
		fprintf(stderr, "weft: interface %s: sending the request: %s\n",
			ifname, n < 0 ? strerror(errno) : "connection closed");
		return -1;
	}
	return 0;
}

/* Read until the reply's terminating empty line; *out is NUL-terminated
 * and holds the reply without that line. */
static int recv_reply(int fd, size_t max, int64_t deadline, const char *ifname,
		      char **out, size_t *out_len)
{
	size_t len = 0, cap = 4096, from;
	char *buf = xrealloc(NULL, cap, 1), *end;
	ssize_t n;

	while (true) {
		if (len + 1 >= cap) {
			if (cap >= max) {
				fprintf(stderr, "weft: interface %s: the reply is "
					"larger than %zu bytes: giving up\n",
					ifname, max);
				goto fail;
			}
			cap = cap * 2 > max ? max : cap * 2;
			buf = xrealloc(buf, cap, 1);
		}
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLIN, deadline, ifname))
				goto fail;
			continue;
		}
		if (n <= 0) {
			fprintf(stderr, "weft: interface %s: %s before the "
				"reply ended\n", ifname,
				n < 0 ? strerror(errno) : "the daemon hung up");
			goto fail;
		}
		from = len ? len - 1 : 0;
		len += (size_t)n;
		buf[len] = '\0';
		/* An empty line: "\n\n", or a reply that is only "\n". */
		if (buf[0] == '\n') {
			len = 0;
			break;
		}
		end = memmem(buf + from, len - from, "\n\n", 2);
		if (end) {
			len = (size_t)(end - buf) + 1;
			break;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
fail:
	crypto_wipe(buf, cap);
	free(buf);
	return -1;
}

/* One exchange: send req, receive the reply. */
static int exchange(const char *ifname, const char *req, size_t req_len,
		    size_t max_reply, char **reply, size_t *reply_len)
{
	int64_t deadline = now_ms() + IPC_TIMEOUT_MS;
	int fd, ret;

	fd = ipc_connect(ifname, false);
	if (fd < 0)
		return -1;
	ret = send_all(fd, req, req_len, deadline, ifname);
	if (ret == 0)
		ret = recv_reply(fd, max_reply, deadline, ifname, reply,
				 reply_len);
	close(fd);
	return ret;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; ++s) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* "errno=N": N may carry a sign (wireguard-go sends -22). */
static bool parse_errno(const char *s, int *err)
{
	uint64_t v;

	if (*s == '-')
		++s;
	if (!parse_u64(s, 4095, &v))
		return false;
	*err = (int)v;
	return true;
}

static void daemon_error(const char *ifname, const char *what, int err)
{
	fprintf(stderr, "weft: interface %s: the daemon refused to %s: %s "
		"(errno %d)\n", ifname, what, strerror(err), err);
}

static bool parse_allowed_ip(const char *s, struct ipc_allowed_ip *a)
{
	char host[64];
	const char *slash = strchr(s, '/');
	uint64_t cidr;
	size_t hlen;

	if (!slash || (hlen = (size_t)(slash - s)) >= sizeof(host))
		return false;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, host, a->ip) == 1)
		a->family = IP_V4;
	else if (inet_pton(AF_INET6, host, a->ip) == 1)
		a->family = IP_V6;
	else
		return false;
	if (!parse_u64(slash + 1, a->family == IP_V4 ? 32 : 128, &cidr))
		return false;
	a->cidr = (uint8_t)cidr;
	return true;
}

/* Apply one key=value line of a "get" reply. Keys this version does not
 * know are skipped, so a newer daemon can add some. */
static bool get_line(struct ipc_device *dev, char *key, char *val, int *err,
		     bool *saw_errno)
{
	struct ipc_peer *peer = dev->n_peers ? &dev->peers[dev->n_peers - 1]
					     : NULL;
	uint64_t v;

	if (!strcmp(key, "errno")) {
		*saw_errno = true;
		return parse_errno(val, err);
	}
	if (!strcmp(key, "private_key")) {
		if (!key_from_hex(dev->private_key, val, strlen(val)))
			return false;
		dev->has_private_key =
			!crypto_is_zero(dev->private_key, 32) &&
			x25519_public_from_private(dev->public_key,
						   dev->private_key);
		return true;
	}
	if (!strcmp(key, "listen_port")) {
		if (!parse_u64(val, 65535, &v))
			return false;
		dev->listen_port = (uint16_t)v;
		return true;
	}
	if (!strcmp(key, "fwmark")) {
		if (!parse_u64(val, UINT32_MAX, &v))
			return false;
		dev->fwmark = (uint32_t)v;
		return true;
	}
	if (!strcmp(key, "public_key")) {
		dev->peers = grow(dev->peers, dev->n_peers,
				  sizeof(*dev->peers));
		peer = &dev->peers[dev->n_peers++];
		memset(peer, 0, sizeof(*peer));
		return key_from_hex(peer->public_key, val, strlen(val));
	}
	if (!peer)
		return true;	/* an unknown device key */
	if (!strcmp(key, "preshared_key")) {
		if (!key_from_hex(peer->preshared_key, val, strlen(val)))
			return false;
		peer->has_preshared_key =
			!crypto_is_zero(peer->preshared_key, 32);
		return true;
	}
	if (!strcmp(key, "endpoint")) {
		/* Shown as sent when this side cannot parse it (a scope
		 * naming an interface of another namespace, say). */
		if (!endpoint_parse(&peer->endpoint, val, strlen(val)))
			snprintf(peer->endpoint_raw, sizeof(peer->endpoint_raw),
				 "%s", val);
		return true;
	}
	if (!strcmp(key, "last_handshake_time_sec"))
		return parse_u64(val, INT64_MAX, &peer->last_handshake_sec);
	if (!strcmp(key, "last_handshake_time_nsec"))
		return parse_u64(val, 999999999, &peer->last_handshake_nsec);
	if (!strcmp(key, "rx_bytes"))
		return parse_u64(val, UINT64_MAX, &peer->rx_bytes);
	if (!strcmp(key, "tx_bytes"))
		return parse_u64(val, UINT64_MAX, &peer->tx_bytes);
	if (!strcmp(key, "persistent_keepalive_interval")) {
		if (!parse_u64(val, 65535, &v))
			return false;
		peer->persistent_keepalive = (uint16_t)v;
		return true;
	}
	if (!strcmp(key, "allowed_ip")) {
		peer->allowed_ips = grow(peer->allowed_ips,
					 peer->n_allowed_ips,
					 sizeof(*peer->allowed_ips));
		return parse_allowed_ip(val,
					&peer->allowed_ips[peer->n_allowed_ips++]);
	}
	return true;
}

int ipc_get_device(const char *ifname, struct ipc_device **out)
{
	static const char req[] = "get=1\n\n";
	struct ipc_device *dev;
	bool saw_errno = false;
	char *reply, *line, *next, *eq;
	size_t len;
	int err = 0;

	*out = NULL;
	if (exchange(ifname, req, sizeof(req) - 1, IPC_MAX_REPLY, &reply,
		     &len))
		return -1;
	dev = xrealloc(NULL, 1, sizeof(*dev));
	memset(dev, 0, sizeof(*dev));
	snprintf(dev->name, sizeof(dev->name), "%s", ifname);
	for (line = reply; *line; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';	/* every line ends in '\n' (recv_reply) */
		eq = strchr(line, '=');
		if (!eq || saw_errno) {
			fprintf(stderr, "weft: interface %s: malformed reply "
				"line \"%.40s\"\n", ifname, line);
			goto fail;
		}
		*eq = '\0';
		if (!get_line(dev, line, eq + 1, &err, &saw_errno)) {
			fprintf(stderr, "weft: interface %s: malformed value "
				"in reply: %s=%.40s\n", ifname, line, eq + 1);
			goto fail;
		}
	}
	if (!saw_errno) {
		fprintf(stderr, "weft: interface %s: the reply has no errno "
			"line\n", ifname);
		goto fail;
	}
	if (err) {
		daemon_error(ifname, "report its configuration", err);
		goto fail;
	}
	crypto_wipe(reply, len);
	free(reply);
	*out = dev;
	return 0;
fail:
	crypto_wipe(reply, len);
	free(reply);
	ipc_device_free(dev);
	return -1;
}

void ipc_device_free(struct ipc_device *dev)
{
	size_t i;

	if (!dev)
		return;
	for (i = 0; i < dev->n_peers; ++i) {
		crypto_wipe(dev->peers[i].preshared_key, 32);
		free(dev->peers[i].allowed_ips);
	}
	free(dev->peers);
	crypto_wipe(dev, sizeof(*dev));
	free(dev);
}

int ipc_set_device(const char *ifname, const char *req, size_t len)
{
	char *reply;
	size_t rlen;
	int err = -1;

	if (exchange(ifname, req, len, 4096, &reply, &rlen))
		return -1;
	/* the whole reply is one line: errno=N */
	if (rlen > 0)
		reply[rlen - 1] = '\0';
	if (rlen < 7 || strchr(reply, '\n') || strncmp(reply, "errno=", 6) ||
	    !parse_errno(reply + 6, &err)) {
		fprintf(stderr, "weft: interface %s: unexpected reply to a set "
			"request: \"%.40s\"\n", ifname, reply);
		free(reply);
		return -1;
	}
	free(reply);
	if (err) {
		daemon_error(ifname, "apply the configuration", err);
		return -1;
	}
	return 0;
}

int ipc_list_devices(char (**names)[IPC_IFNAME_MAX], size_t *n)
{
	char (*list)[IPC_IFNAME_MAX] = NULL;
	size_t count = 0, len, slen = strlen(UAPI_SOCK_SUFFIX);
	struct dirent *ent;
	struct stat st;
	char name[IPC_IFNAME_MAX];
	DIR *dir;
	int fd;

	*names = NULL;
	*n = 0;
	dir = opendir(UAPI_SOCK_DIR);
	if (!dir) {
		if (errno == ENOENT)
			return 0;	/* no daemon ever ran */
		fprintf(stderr, "weft: cannot list %s: %s\n", UAPI_SOCK_DIR,
			strerror(errno));
		return -1;
	}
	while ((ent = readdir(dir)) != NULL) {
		len = strlen(ent->d_name);
		if (len <= slen || len - slen >= sizeof(name) ||
		    strcmp(ent->d_name + len - slen, UAPI_SOCK_SUFFIX) != 0)
			continue;
		if (fstatat(dirfd(dir), ent->d_name, &st, 0) < 0 ||
		    !S_ISSOCK(st.st_mode))
			continue;
		memcpy(name, ent->d_name, len - slen);
		name[len - slen] = '\0';
		/* Left behind by a daemon that died: not an interface. */
		fd = ipc_connect(name, true);
		if (fd < 0)
			continue;
		close(fd);
		list = grow(list, count, sizeof(*list));
		memcpy(list[count++], name, sizeof(name));
	}
	closedir(dir);
	*names = list;
	*n = count;
	return 0;
}
