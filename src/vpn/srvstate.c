/* srvstate.c - the exit server's state directory, see srvstate.h.
 *
 * Files are read whole into a heap buffer of bounded size and handed to
 * the pure parsers (addrpool_load, clients_parse, srvmeta_parse), so a
 * corrupt or huge file costs at most that bound and yields one line that
 * names the file, the line and what to do. */
#define _GNU_SOURCE
#include "vpn/srvstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/encoding.h"
#include "core/parse.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"
#include "os/linux/unixsock.h"
#include "vpn/clients.h"
#include "vpn/wgquick.h"

enum {
	/* The biggest files the loader reads: every entry on a full-length
	 * line, plus room for comments. */
	POOL_FILE_MAX = (ADDRPOOL_MAX_CLIENTS + 64) * (ADDRPOOL_LINE_MAX + 1),
	CLIENTS_FILE_MAX = (CLIENTS_MAX + 64) * (CLIENTS_LINE_MAX + 1),
};

static const char meta_header[] =
	"# weft server: written by the running server at start, read by "
	"weft server add-client\n";

static const char pool_key_label[] = "weft addrpool v1";

/* ---- server.conf: pure ---- */

enum meta_key {
	K_PUBLIC_KEY, K_LISTEN_PORT, K_ENDPOINT, K_POOL4, K_POOL6, K_DNS,
	K_MTU, K_COUNT,
};

static const char *const meta_keys[K_COUNT] = {
	[K_PUBLIC_KEY] = "public_key",
	[K_LISTEN_PORT] = "listen_port",
	[K_ENDPOINT] = "endpoint",
	[K_POOL4] = "pool4",
	[K_POOL6] = "pool6",
	[K_DNS] = "dns",
	[K_MTU] = "mtu",
};

static int say(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int say(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, SRVSTATE_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool pool_valid(const struct ip_prefix *p, uint8_t family)
{
	if (!p->family)
		return true;
	if (p->family != family)
		return false;
	return family == 4
		       ? p->cidr >= ADDRPOOL_V4_CIDR_MIN && p->cidr <= ADDRPOOL_V4_CIDR_MAX
		       : p->cidr >= ADDRPOOL_V6_CIDR_MIN && p->cidr <= ADDRPOOL_V6_CIDR_MAX;
}

static bool host_address(const struct ip_prefix *p)
{
	return (p->family == 4 && p->cidr == 32) ||
	       (p->family == 6 && p->cidr == 128);
}

static bool endpoint_valid(const char *s, size_t len, char *err)
{
	char out[WGQUICK_ENDPOINT_MAX], why[WGQUICK_ERR_MAX];

	if (len == 0)
		return true;
	if (wgquick_endpoint(s, len, 1, out, why) < 0) {
		say(err, "%s", why);
		return false;
	}
	return true;
}

int srvmeta_format(const struct srvmeta *m, char *buf, size_t cap)
{
	char key[KEY_BASE64_LEN + 1], p4[ADDRPOOL_PREFIX_STR_MAX] = "";
	char p6[ADDRPOOL_PREFIX_STR_MAX] = "", d[2][ADDRPOOL_PREFIX_STR_MAX];
	char why[SRVSTATE_ERR_MAX];
	size_t eplen = strnlen(m->endpoint, sizeof(m->endpoint));
	int n;

	if (cap)
		buf[0] = '\0';
	if (crypto_is_zero(m->public_key, 32) || m->listen_port == 0 ||
	    m->mtu < SRVMETA_MTU_MIN || m->mtu > SRVMETA_MTU_MAX ||
	    eplen == sizeof(m->endpoint) ||
	    !endpoint_valid(m->endpoint, eplen, why) ||
	    !pool_valid(&m->pool4, 4) || !pool_valid(&m->pool6, 6) ||
	    (!m->pool4.family && !m->pool6.family) ||
	    m->n_dns > SRVMETA_MAX_DNS)
		return -EINVAL;
	for (size_t i = 0; i < m->n_dns; i++) {
		if (!host_address(&m->dns[i]))
			return -EINVAL;
		addrpool_prefix_format(&m->dns[i], d[i]);
		*strchr(d[i], '/') = '\0';	/* a bare address */
	}
	if (m->pool4.family)
		addrpool_prefix_format(&m->pool4, p4);
	if (m->pool6.family)
		addrpool_prefix_format(&m->pool6, p6);
	key_to_base64(key, m->public_key);
	n = snprintf(buf, cap,
		     "%s"
		     "public_key = %s\n"
		     "listen_port = %u\n"
		     "endpoint = %s\n"
		     "pool4 = %s\n"
		     "pool6 = %s\n"
		     "dns = %s%s%s\n"
		     "mtu = %u\n",
		     meta_header, key, m->listen_port, m->endpoint, p4, p6,
		     m->n_dns > 0 ? d[0] : "", m->n_dns > 1 ? ", " : "",
		     m->n_dns > 1 ? d[1] : "", m->mtu);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_blank((*s)[*len - 1]))
		(*len)--;
}

struct meta_parser {
	struct srvmeta *m;
	char *err;
	unsigned line;
	unsigned seen[K_COUNT];		/* line each key was on */
};

static int meta_fail(struct meta_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int meta_fail(struct meta_parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, SRVSTATE_ERR_MAX, "line %u: ", p->line);

	if (n < 0 || n >= SRVSTATE_ERR_MAX)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, SRVSTATE_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_dns(struct meta_parser *p, const char *v, size_t vlen)
{
	struct srvmeta *m = p->m;
	const char *end = v + vlen;

	if (vlen == 0)
		return 0;
	for (;;) {
		const char *comma = memchr(v, ',', (size_t)(end - v));
		const char *item = v;
		size_t ilen = (size_t)((comma ? comma : end) - v);

		trim(&item, &ilen);
		if (m->n_dns == SRVMETA_MAX_DNS)
			return meta_fail(p, "dns: more than %d servers",
					 SRVMETA_MAX_DNS);
		if (!addrpool_prefix_parse(&m->dns[m->n_dns], item, ilen) ||
		    !host_address(&m->dns[m->n_dns]))
			return meta_fail(p, "dns: \"%.*s\" is not an IP address",
					 ilen > 50 ? 50 : (int)ilen, item);
		m->n_dns++;
		if (!comma)
			return 0;
		v = comma + 1;
	}
}

static int parse_value(struct meta_parser *p, enum meta_key k, const char *v,
		       size_t vlen)
{
	struct srvmeta *m = p->m;
	int q = vlen > 50 ? 50 : (int)vlen;
	uint32_t n;
	char why[SRVSTATE_ERR_MAX];

	switch (k) {
	case K_PUBLIC_KEY:
		if (!key_from_base64(m->public_key, v, vlen) ||
		    crypto_is_zero(m->public_key, 32))
			return meta_fail(p, "public_key: \"%.*s\" is not a base64 public key",
					 q, v);
		return 0;
	case K_LISTEN_PORT:
		if (!parse_decimal32(v, vlen, 1, 65535, &n))
			return meta_fail(p, "listen_port: \"%.*s\" is not a port (1-65535)",
					 q, v);
		m->listen_port = (uint16_t)n;
		return 0;
	case K_ENDPOINT:
		if (vlen >= sizeof(m->endpoint))
			return meta_fail(p, "endpoint: longer than %zu characters",
					 sizeof(m->endpoint) - 1);
		if (!endpoint_valid(v, vlen, why))
			return meta_fail(p, "%s", why);
		memcpy(m->endpoint, v, vlen);
		m->endpoint[vlen] = '\0';
		return 0;
	case K_POOL4:
	case K_POOL6: {
		struct ip_prefix *pp = k == K_POOL4 ? &m->pool4 : &m->pool6;
		uint8_t fam = k == K_POOL4 ? 4 : 6;

		if (vlen == 0)
			return 0;
		if (!addrpool_prefix_parse(pp, v, vlen) || !pool_valid(pp, fam) ||
		    host_address(pp)) {
			memset(pp, 0, sizeof(*pp));
			return meta_fail(p, "%s: \"%.*s\" is not an IPv%u range (/%d to /%d)",
					 meta_keys[k], q, v, fam,
					 fam == 4 ? ADDRPOOL_V4_CIDR_MIN : ADDRPOOL_V6_CIDR_MIN,
					 fam == 4 ? ADDRPOOL_V4_CIDR_MAX : ADDRPOOL_V6_CIDR_MAX);
		}
		return 0;
	}
	case K_DNS:
		return parse_dns(p, v, vlen);
	case K_MTU:
		if (!parse_decimal32(v, vlen, SRVMETA_MTU_MIN, SRVMETA_MTU_MAX, &n))
			return meta_fail(p, "mtu: \"%.*s\" is not %d-%d", q, v,
					 SRVMETA_MTU_MIN, SRVMETA_MTU_MAX);
		m->mtu = n;
		return 0;
	case K_COUNT:
		break;
	}
	return meta_fail(p, "internal: unknown key");
}

static int meta_line(struct meta_parser *p, const char *s, size_t len)
{
	const char *eq, *k = s, *v;
	size_t klen, vlen;

	if (memchr(s, '\0', len))
		return meta_fail(p, "a NUL byte: this is not a server.conf");
	trim(&k, &len);
	if (len == 0 || k[0] == '#')
		return 0;
	eq = memchr(k, '=', len);
	if (!eq)
		return meta_fail(p, "expected \"key = value\"");
	klen = (size_t)(eq - k);
	v = eq + 1;
	vlen = len - klen - 1;
	trim(&k, &klen);
	trim(&v, &vlen);
	for (int i = 0; i < K_COUNT; i++) {
		if (strlen(meta_keys[i]) != klen || memcmp(meta_keys[i], k, klen))
			continue;
		if (p->seen[i])
			return meta_fail(p, "%s given twice (first on line %u)",
					 meta_keys[i], p->seen[i]);
		p->seen[i] = p->line;
		return parse_value(p, (enum meta_key)i, v, vlen);
	}
	return meta_fail(p, "unknown key \"%.*s\"", klen > 40 ? 40 : (int)klen, k);
}

int srvmeta_parse(const char *buf, size_t len, struct srvmeta *m,
		  char err[SRVSTATE_ERR_MAX])
{
	struct meta_parser p = { .m = m, .err = err };
	const char *s = buf, *end = buf + len;
	int ret = -EINVAL;

	memset(m, 0, sizeof(*m));
	err[0] = '\0';
	if (!buf && len)
		return say(err, "no input");
	if (len > SRVMETA_MAX)
		return say(err, "longer than %d bytes: this is not a server.conf",
			   SRVMETA_MAX);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);

		++p.line;
		if (n > SRVMETA_LINE_MAX) {
			meta_fail(&p, "longer than %d characters", SRVMETA_LINE_MAX);
			goto bad;
		}
		if (n && s[n - 1] == '\r')
			n--;
		if (meta_line(&p, s, n) < 0)
			goto bad;
		s = nl ? nl + 1 : end;
	}
	for (int i = 0; i < K_COUNT; i++)
		if (!p.seen[i]) {
			say(err, "no %s line: the server writes every key at start; restart it",
			    meta_keys[i]);
			goto bad;
		}
	if (!m->pool4.family && !m->pool6.family) {
		say(err, "pool4 and pool6 are both empty: the server needs one range");
		goto bad;
	}
	return 0;
bad:
	memset(m, 0, sizeof(*m));
	return ret;
}

/* ---- files ---- */

const char *srvstate_default_dir(void)
{
	const char *d = getenv(SRVSTATE_DIR_ENV);

	return d && d[0] ? d : SRVSTATE_DEFAULT_DIR;
}

/* mkdir -p path (mode for every missing level). */
static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t len = strnlen(path, sizeof(tmp));

	if (len == 0)
		return -EINVAL;
	if (len == sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		tmp[i] = i == len ? '\0' : '/';
	}
	return 0;
}

int srvstate_open(struct srvstate *s, const char *state_dir,
		  const char *ifname, bool lock, char err[SRVSTATE_ERR_MAX])
{
	struct stat st;
	int n, ret;

	memset(s, 0, sizeof(*s));
	s->dir_fd = s->lock_fd = -1;
	err[0] = '\0';
	if (!state_dir)
		state_dir = srvstate_default_dir();
	if (!ifname || !uapi_ifname_valid(ifname)) {
		say(err, "\"%.20s\" is not an interface name (1-15 characters, no '/')",
		    ifname ? ifname : "");
		return -EINVAL;
	}
	n = snprintf(s->dir, sizeof(s->dir), "%s/%s", state_dir, ifname);
	if (n < 0 || (size_t)n >= sizeof(s->dir)) {
		say(err, "the state directory path is too long");
		return -ENAMETOOLONG;
	}
	ret = mkdir_p(state_dir, 0755);
	if (ret == 0 && mkdir(s->dir, 0700) < 0 && errno != EEXIST)
		ret = -errno;
	if (ret < 0) {
		say(err, "cannot create %s: %s (use --state-dir or WEFT_STATE_DIR)",
		    s->dir, strerror(-ret));
		return ret;
	}
	s->dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (s->dir_fd < 0) {
		ret = -errno;
		say(err, "cannot open %s: %s", s->dir,
		    ret == -ENOTDIR || ret == -ELOOP ? "not a directory" : strerror(-ret));
		goto fail;
	}
	if (fstat(s->dir_fd, &st) < 0) {
		ret = -errno;
		say(err, "%s: %s", s->dir, strerror(-ret));
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		ret = -EPERM;
		say(err, "%s belongs to uid %u, not to us: fix its owner or use another --state-dir",
		    s->dir, (unsigned)st.st_uid);
		goto fail;
	}
	if ((st.st_mode & 077) && fchmod(s->dir_fd, 0700) < 0) {
		ret = -errno;
		say(err, "%s: others can enter it and chmod 700 failed: %s",
		    s->dir, strerror(-ret));
		goto fail;
	}
	if (!lock)
		return 0;
	s->lock_fd = openat(s->dir_fd, "lock",
			    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0) {
		ret = -errno;
		say(err, "cannot open %s/lock: %s", s->dir, strerror(-ret));
		goto fail;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		say(err, "%s/lock: %s", s->dir,
		    ret == -EWOULDBLOCK ? "held by another process (a running server?)"
					: strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	srvstate_close(s);
	return ret;
}

/* name's contents in a new heap buffer (*out, NUL-terminated, freed by the
 * caller), at most max bytes. -ENOENT when there is no such file. */
static int read_file(struct srvstate *s, const char *name, size_t max,
		     char **out, size_t *out_len)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	int fd, ret = 0;

	*out = NULL;
	*out_len = 0;
	fd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc(max + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	/* Read to EOF, not to st_size: the file is ours, but be exact. */
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			ret = -EFBIG;
			break;
		}
	}
	close(fd);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* Replace name with buf/len: name.tmp, fsync, rename, fsync the dir. */
static int write_atomic(struct srvstate *s, const char *name, const char *buf,
			size_t len)
{
	char tmp[64];
	size_t done = 0;
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(s->dir_fd, tmp,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && renameat(s->dir_fd, tmp, s->dir_fd, name) < 0)
		ret = -errno;
	if (ret < 0) {
		unlinkat(s->dir_fd, tmp, 0);
		return ret;
	}
	return fsync(s->dir_fd) < 0 ? -errno : 0;
}

/* "PATH/name: what (fix or delete it)", cutting what rather than the
 * advice when the line is too long. */
static void file_error(struct srvstate *s, const char *name, const char *what,
		       char err[SRVSTATE_ERR_MAX])
{
	static const char advice[] = " (fix or delete it)";
	int head = snprintf(err, SRVSTATE_ERR_MAX, "%s/%s: ", s->dir, name);
	size_t room, wlen = strlen(what);

	if (head < 0 || (size_t)head >= SRVSTATE_ERR_MAX - sizeof(advice))
		head = 0;
	room = SRVSTATE_ERR_MAX - sizeof(advice) - (size_t)head;
	if (wlen > room)
		wlen = room;
	snprintf(err + head, SRVSTATE_ERR_MAX - (size_t)head, "%.*s%s",
		 (int)wlen, what, advice);
}

void srvstate_pool_key(const uint8_t private_key[32], uint8_t out[32])
{
	blake2s_keyed(out, 32, private_key, 32, pool_key_label,
		      sizeof(pool_key_label) - 1);
}

static int load_pool(struct srvstate *s, char err[SRVSTATE_ERR_MAX])
{
	struct addrpool_error perr;
	char what[sizeof(perr.msg) + 32];
	char *buf;
	size_t len;
	int ret = read_file(s, "pool", POOL_FILE_MAX, &buf, &len);

	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		file_error(s, "pool", ret == -EFBIG ? "too big for a pool file"
						    : strerror(-ret), err);
		return ret;
	}
	ret = addrpool_load(s->pool, buf, len, &perr);
	free(buf);
	if (ret == 0)
		return 0;
	snprintf(what, sizeof(what), "line %u: %s", perr.line, perr.msg);
	file_error(s, "pool", what, err);
	return -EINVAL;
}

static int load_clients(struct srvstate *s, char err[SRVSTATE_ERR_MAX])
{
	char what[CLIENTS_ERR_MAX];
	char *buf;
	size_t len;
	int ret = read_file(s, "clients", CLIENTS_FILE_MAX, &buf, &len);

	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		file_error(s, "clients", ret == -EFBIG ? "too big for a clients file"
						       : strerror(-ret), err);
		return ret;
	}
	ret = clients_parse(s->clients, buf, len, what);
	free(buf);
	if (ret == 0)
		return 0;
	file_error(s, "clients", what, err);
	return -EINVAL;
}

int srvstate_load(struct srvstate *s, const struct srvmeta *meta,
		  const uint8_t hash_key[32], char err[SRVSTATE_ERR_MAX])
{
	int ret;

	err[0] = '\0';
	if (meta != &s->meta)
		s->meta = *meta;
	if (!s->pool && !(s->pool = malloc(sizeof(*s->pool)))) {
		say(err, "out of memory for the address pool");
		return -ENOMEM;
	}
	if (!s->clients && !(s->clients = malloc(sizeof(*s->clients)))) {
		say(err, "out of memory for the clients list");
		return -ENOMEM;
	}
	clients_init(s->clients);
	if (!addrpool_init(s->pool, s->meta.pool4.family ? &s->meta.pool4 : NULL,
			   s->meta.pool6.family ? &s->meta.pool6 : NULL,
			   hash_key)) {
		say(err, "the address ranges are not usable pools (IPv4 /%d-/%d, IPv6 /%d-/%d)",
		    ADDRPOOL_V4_CIDR_MIN, ADDRPOOL_V4_CIDR_MAX,
		    ADDRPOOL_V6_CIDR_MIN, ADDRPOOL_V6_CIDR_MAX);
		return -EINVAL;
	}
	if ((ret = load_pool(s, err)) < 0 || (ret = load_clients(s, err)) < 0)
		return ret;
	return 0;
}

int srvstate_save_meta(struct srvstate *s)
{
	char buf[SRVMETA_MAX];
	int n = srvmeta_format(&s->meta, buf, sizeof(buf));

	if (n < 0)
		return n;
	return write_atomic(s, "server.conf", buf, (size_t)n);
}

int srvstate_read_meta(struct srvstate *s, char err[SRVSTATE_ERR_MAX])
{
	char what[SRVSTATE_ERR_MAX];
	char *buf;
	size_t len;
	int ret = read_file(s, "server.conf", SRVMETA_MAX, &buf, &len);

	err[0] = '\0';
	if (ret == -ENOENT) {
		say(err, "%s/server.conf is missing: start the server once (weft server) so that it is written",
		    s->dir);
		return ret;
	}
	if (ret < 0) {
		file_error(s, "server.conf", ret == -EFBIG ? "too big" : strerror(-ret),
			   err);
		return ret;
	}
	ret = srvmeta_parse(buf, len, &s->meta, what);
	free(buf);
	if (ret < 0) {
		file_error(s, "server.conf", what, err);
		return ret;
	}
	return 0;
}

int srvstate_save_pool(struct srvstate *s)
{
	size_t cap, len;
	char *buf;
	int ret;

	if (!s->pool)
		return -EINVAL;
	cap = (s->pool->n + 1) * ADDRPOOL_LINE_MAX;
	if (!(buf = malloc(cap)))
		return -ENOMEM;
	ret = addrpool_serialise(s->pool, buf, cap, &len);
	if (ret == 0)
		ret = write_atomic(s, "pool", buf, len);
	free(buf);
	return ret;
}

static int save_clients(struct srvstate *s)
{
	size_t cap = (s->clients->n + 1) * CLIENTS_LINE_MAX, len;
	char *buf = malloc(cap);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = clients_serialise(s->clients, buf, cap, &len);
	if (ret == 0)
		ret = write_atomic(s, "clients", buf, len);
	free(buf);
	return ret;
}

int srvstate_add_client(struct srvstate *s, const char *name,
			const uint8_t pub[32], struct ip_prefix *a4,
			struct ip_prefix *a6, char err[SRVSTATE_ERR_MAX])
{
	const struct client_entry *other;
	struct ip_prefix old4, old6;
	bool had;
	int ret;

	memset(a4, 0, sizeof(*a4));
	memset(a6, 0, sizeof(*a6));
	err[0] = '\0';
	if (!s->pool || !s->clients)
		return say(err, "the server state is not loaded");
	if (!clients_name_valid(name, strnlen(name, CLIENTS_NAME_MAX + 1)))
		return say(err, "\"%.40s\" is not a client name: use 1-%d of A-Z a-z 0-9 _ . -",
			   name, CLIENTS_NAME_MAX);
	if (crypto_is_zero(pub, 32))
		return say(err, "the public key is all zeros");
	if (clients_find_name(s->clients, name)) {
		say(err, "there is already a client named %s: pick another name",
		    name);
		return -EEXIST;
	}
	if ((other = clients_find_key(s->clients, pub))) {
		say(err, "this public key is already the client %s", other->name);
		return -EEXIST;
	}
	had = addrpool_lookup(s->pool, pub, &old4, &old6);
	switch (addrpool_assign(s->pool, pub, NULL, 0, a4, a6)) {
	case ADDRPOOL_OK:
		break;
	case ADDRPOOL_FULL:
		say(err, "the address pool is full: no address for %s (start the server with a larger --pool)",
		    name);
		return -ENOSPC;
	case ADDRPOOL_CONFLICT:
	case ADDRPOOL_INVALID:
		return say(err, "no address for %s in the pool", name);
	}
	ret = clients_add(s->clients, name, pub);
	if (ret < 0) {
		say(err, "cannot add %s: %s", name,
		    ret == -ENOSPC ? "too many named clients" : strerror(-ret));
		goto undo_pool;
	}
	/* The pool first: a crash between the two writes leaves an address
	 * reserved for a key, never a named client without an address. */
	if ((ret = srvstate_save_pool(s)) < 0) {
		say(err, "cannot write %s/pool: %s", s->dir, strerror(-ret));
		goto undo_clients;
	}
	if ((ret = save_clients(s)) < 0) {
		say(err, "cannot write %s/clients: %s", s->dir, strerror(-ret));
		goto undo_clients;
	}
	return 0;
undo_clients:
	(void)clients_remove(s->clients, name);
undo_pool:
	if (!had) {
		(void)addrpool_release(s->pool, pub);
		srvstate_save_pool(s);	/* best effort: see srvstate.h */
	}
	memset(a4, 0, sizeof(*a4));
	memset(a6, 0, sizeof(*a6));
	return ret;
}

void srvstate_close(struct srvstate *s)
{
	if (s->pool) {
		crypto_wipe(s->pool->hash_key, sizeof(s->pool->hash_key));
		free(s->pool);
		s->pool = NULL;
	}
	free(s->clients);
	s->clients = NULL;
	if (s->lock_fd >= 0)
		close(s->lock_fd);	/* releases the lock */
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	s->lock_fd = s->dir_fd = -1;
}
