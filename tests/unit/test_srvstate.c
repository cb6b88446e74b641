/* test_srvstate.c - the exit server's state directory: server.conf text
 * (exact, round trip, every error with its line), the directory and its
 * lock, named clients added, saved and loaded again with the same
 * addresses, duplicates and a full pool refused, corrupt files named with
 * their line, and failed writes rolled back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/addrpool.h"
#include "core/encoding.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"
#include "vpn/clients.h"
#include "vpn/srvstate.h"

#define B1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static char top[64];
static const uint8_t hash_key[32] = { 1, 2, 3 };

static int setup(void **state)
{
	(void)state;
	if (!crypto_init())
		return -1;
	snprintf(top, sizeof(top), "/tmp/test_srvstate.XXXXXX");
	return mkdtemp(top) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ip_prefix pfx(const char *text)
{
	struct ip_prefix p;

	assert_true(addrpool_prefix_parse(&p, text, strlen(text)));
	return p;
}

static void meta_example(struct srvmeta *m)
{
	memset(m, 0, sizeof(*m));
	assert_true(key_from_base64(m->public_key, B1, 44));
	m->listen_port = 51820;
	snprintf(m->endpoint, sizeof(m->endpoint), "vpn.example.com");
	m->pool4 = pfx("10.77.0.0/16");
	m->pool6 = pfx("fd12:3456:789a::/64");
	m->dns[0] = pfx("10.77.0.1");
	m->dns[1] = pfx("fd12:3456:789a::1");
	m->n_dns = 2;
	m->mtu = 1420;
}

static const char example_text[] =
	"# weft server: written by the running server at start, read by weft server add-client\n"
	"public_key = " B1 "\n"
	"listen_port = 51820\n"
	"endpoint = vpn.example.com\n"
	"pool4 = 10.77.0.0/16\n"
	"pool6 = fd12:3456:789a::/64\n"
	"dns = 10.77.0.1, fd12:3456:789a::1\n"
	"mtu = 1420\n";

/* ---- server.conf ---- */

static void test_meta_format(void **state)
{
	struct srvmeta m, back;
	char buf[SRVMETA_MAX], err[SRVSTATE_ERR_MAX];
	int n;

	(void)state;
	meta_example(&m);
	n = srvmeta_format(&m, buf, sizeof(buf));
	assert_string_equal(buf, example_text);
	assert_int_equal(n, (int)strlen(example_text));
	assert_int_equal(srvmeta_parse(buf, (size_t)n, &back, err), 0);
	assert_memory_equal(&m, &back, sizeof(m));

	/* Optional fields empty. */
	memset(m.endpoint, 0, sizeof(m.endpoint));
	memset(&m.pool6, 0, sizeof(m.pool6));
	m.n_dns = 0;
	memset(m.dns, 0, sizeof(m.dns));
	n = srvmeta_format(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\nendpoint = \npool4 = 10.77.0.0/16\npool6 = \ndns = \nmtu"));
	assert_int_equal(srvmeta_parse(buf, (size_t)n, &back, err), 0);
	assert_memory_equal(&m, &back, sizeof(m));

	/* Too small: -ENOSPC at every length. */
	for (size_t cap = 0; cap <= (size_t)n; cap++)
		assert_int_equal(srvmeta_format(&m, buf, cap), -ENOSPC);
}

static void test_meta_format_refuses(void **state)
{
	struct srvmeta m;
	char buf[SRVMETA_MAX];

	(void)state;
	meta_example(&m);
	memset(m.public_key, 0, 32);
	assert_int_equal(srvmeta_format(&m, buf, sizeof(buf)), -EINVAL);
	meta_example(&m);
	m.listen_port = 0;
	assert_int_equal(srvmeta_format(&m, buf, sizeof(buf)), -EINVAL);
	meta_example(&m);
	m.mtu = 100;
	assert_int_equal(srvmeta_format(&m, buf, sizeof(buf)), -EINVAL);
	meta_example(&m);
	snprintf(m.endpoint, sizeof(m.endpoint), "a b\nmtu = 1");
	assert_int_equal(srvmeta_format(&m, buf, sizeof(buf)), -EINVAL);
	meta_example(&m);
	memset(m.endpoint, 'a', sizeof(m.endpoint));
	assert_int_equal(srvmeta_format(&m, buf, sizeof(buf)), -EINVAL);
	meta_example(&m);
	m.pool4 = pfx("fd00::/64");
	assert_int_equal(srvmeta_format(&m, buf, sizeof(buf)), -EINVAL);
	meta_example(&m);
	m.pool4 = pfx("10.0.0.0/31");
	assert_int_equal(srvmeta_format(&m, buf, sizeof(buf)), -EINVAL);
	meta_example(&m);
	memset(&m.pool4, 0, sizeof(m.pool4));
	memset(&m.pool6, 0, sizeof(m.pool6));
	assert_int_equal(srvmeta_format(&m, buf, sizeof(buf)), -EINVAL);
	meta_example(&m);
	m.n_dns = 3;
	assert_int_equal(srvmeta_format(&m, buf, sizeof(buf)), -EINVAL);
	meta_example(&m);
	m.dns[0] = pfx("10.0.0.0/8");
	assert_int_equal(srvmeta_format(&m, buf, sizeof(buf)), -EINVAL);
}

static void test_meta_parse_forms(void **state)
{
	static const char text[] =
		"\r\n# comment\n"
		"  mtu=1280  \r\n"
		"dns =10.0.0.1\n"
		"pool6=\n"
		"\tpool4 = 10.8.0.0/24\n"
		"endpoint = [2001:db8::1]:443\n"
		"listen_port = 1\n"
		"public_key = " B1;	/* no final newline */
	struct srvmeta m;
	char err[SRVSTATE_ERR_MAX];

	(void)state;
	if (srvmeta_parse(text, strlen(text), &m, err))
		fail_msg("%s", err);
	assert_int_equal(m.mtu, 1280);
	assert_int_equal(m.listen_port, 1);
	assert_int_equal(m.n_dns, 1);
	assert_int_equal(m.dns[0].family, 4);
	assert_int_equal(m.pool4.cidr, 24);
	assert_int_equal(m.pool6.family, 0);
	assert_string_equal(m.endpoint, "[2001:db8::1]:443");
}

/* example_text with the line starting with key replaced by line (or
 * removed when line is NULL), then parsed: must fail with want. */
static void bad_with(const char *key, const char *line, const char *want)
{
	char text[SRVMETA_MAX * 2], err[SRVSTATE_ERR_MAX];
	const char *s = example_text;
	size_t len = 0;
	struct srvmeta m;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = (size_t)(nl - s) + 1;

		if (key && !strncmp(s, key, strlen(key))) {
			if (line)
				len += (size_t)snprintf(text + len, sizeof(text) - len,
							"%s\n", line);
		} else {
			memcpy(text + len, s, n);
			len += n;
		}
		s += n;
	}
	memset(&m, 0xa5, sizeof(m));
	if (srvmeta_parse(text, len, &m, err) != -EINVAL)
		fail_msg("accepted %s", line ? line : key);
	if (!strstr(err, want))
		fail_msg("got \"%s\", want \"%s\"", err, want);
	assert_null(strchr(err, '\n'));
	assert_true(crypto_is_zero(&m, sizeof(m)));
}

static void test_meta_parse_errors(void **state)
{
	char text[SRVMETA_MAX + 2], err[SRVSTATE_ERR_MAX];
	struct srvmeta m;

	(void)state;
	bad_with("public_key", "public_key = AAAA", "line 2: public_key: \"AAAA\" is not a base64 public key");
	bad_with("public_key", "public_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "line 2: public_key:");
	bad_with("public_key", NULL, "no public_key line");
	bad_with("listen_port", "listen_port = 0", "line 3: listen_port: \"0\" is not a port");
	bad_with("listen_port", "listen_port = 65536", "line 3: listen_port");
	bad_with("listen_port", "listen_port = -1", "line 3: listen_port");
	bad_with("listen_port", "listen_port =", "line 3: listen_port");
	bad_with("endpoint", "endpoint = a b", "line 4: endpoint \"a b\"");
	bad_with("endpoint", "endpoint = [::1", "line 4: endpoint \"[::1\": missing ']'");
	bad_with("endpoint", NULL, "no endpoint line");
	bad_with("pool4", "pool4 = 10.0.0.0/7", "line 5: pool4: \"10.0.0.0/7\" is not an IPv4 range (/8 to /30)");
	bad_with("pool4", "pool4 = 10.0.0.1", "line 5: pool4");
	bad_with("pool4", "pool4 = fd00::/64", "line 5: pool4");
	bad_with("pool6", "pool6 = fd00::/63", "line 6: pool6: \"fd00::/63\" is not an IPv6 range (/64 to /126)");
	bad_with("pool6", "pool6 = 10.0.0.0/16", "line 6: pool6");
	bad_with("dns", "dns = 10.0.0.1, 10.0.0.2, 10.0.0.3", "line 7: dns: more than 2 servers");
	bad_with("dns", "dns = 10.0.0.1,", "line 7: dns: \"\" is not an IP address");
	bad_with("dns", "dns = 10.0.0.0/8", "line 7: dns: \"10.0.0.0/8\" is not an IP address");
	bad_with("dns", "dns = resolver", "line 7: dns: \"resolver\"");
	bad_with("mtu", "mtu = 575", "line 8: mtu: \"575\" is not 576-9000");
	bad_with("mtu", "mtu = 9001", "line 8: mtu");
	bad_with("mtu", NULL, "no mtu line");
	bad_with("mtu", "mtu = 1420\nmtu = 1420", "line 9: mtu given twice (first on line 8)");
	bad_with("mtu", "mtu = 1420\nmtus = 1", "line 9: unknown key \"mtus\"");
	bad_with("mtu", "mtu = 1420\njust words", "line 9: expected \"key = value\"");
	bad_with("pool6", "pool6 = fd00::/64\npool4 = 10.1.0.0/16",
		 "line 7: pool4 given twice (first on line 5)");
	{
		static const char none[] = "public_key = " B1 "\nlisten_port = 1\n"
			"endpoint =\npool4 =\npool6 =\ndns =\nmtu = 1420\n";
		static const char v4[] = "public_key = " B1 "\nlisten_port = 1\n"
			"endpoint =\npool4 = 10.1.0.0/16\npool6 =\ndns =\nmtu = 1420\n";
		static const char v6[] = "public_key = " B1 "\nlisten_port = 1\n"
			"endpoint =\npool4 =\npool6 = fd00::/64\ndns =\nmtu = 1420\n";

		assert_int_equal(srvmeta_parse(none, strlen(none), &m, err), -EINVAL);
		assert_non_null(strstr(err, "pool4 and pool6 are both empty"));
		/* Either one alone is enough. */
		assert_int_equal(srvmeta_parse(v4, strlen(v4), &m, err), 0);
		assert_int_equal(srvmeta_parse(v6, strlen(v6), &m, err), 0);
	}

	memset(text, ' ', sizeof(text));
	memcpy(text, "mtu", 3);
	assert_int_equal(srvmeta_parse(text, SRVMETA_LINE_MAX + 1, &m, err), -EINVAL);
	assert_non_null(strstr(err, "line 1: longer than 300 characters"));
	assert_int_equal(srvmeta_parse(text, sizeof(text), &m, err), -EINVAL);
	assert_non_null(strstr(err, "longer than 2048 bytes"));
	assert_int_equal(srvmeta_parse("mtu = 1\0", 8, &m, err), -EINVAL);
	assert_non_null(strstr(err, "line 1: a NUL byte"));
	assert_int_equal(srvmeta_parse("", 0, &m, err), -EINVAL);
	assert_non_null(strstr(err, "no public_key line"));
}

/* ---- the directory ---- */

static void file_text(const char *dir, const char *name, char *out, size_t cap)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f) {
		out[0] = '\0';
		return;
	}
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mode_is(const char *path, mode_t want)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, want);
}

static void test_open_and_lock(void **state)
{
	struct srvstate a, b, c;
	char err[SRVSTATE_ERR_MAX], path[PATH_MAX + 32], base[128];

	(void)state;
	snprintf(base, sizeof(base), "%s/open/deeper", top);
	assert_int_equal(srvstate_open(&a, base, "weftsrv0", true, err), 0);
	snprintf(path, sizeof(path), "%s/weftsrv0", base);
	assert_string_equal(a.dir, path);
	mode_is(path, 0700);
	mode_is(base, 0755);
	snprintf(path, sizeof(path), "%s/weftsrv0/lock", base);
	mode_is(path, 0600);
	/* Another holder is refused, a reader is not. */
	assert_int_equal(srvstate_open(&b, base, "weftsrv0", true, err), -EWOULDBLOCK);
	assert_non_null(strstr(err, "lock: held by another process"));
	assert_int_equal(srvstate_open(&c, base, "weftsrv0", false, err), 0);
	assert_int_equal(c.lock_fd, -1);
	srvstate_close(&c);
	/* Another interface has its own lock. */
	assert_int_equal(srvstate_open(&b, base, "weftsrv1", true, err), 0);
	srvstate_close(&b);
	srvstate_close(&a);
	assert_int_equal(srvstate_open(&b, base, "weftsrv0", true, err), 0);
	srvstate_close(&b);

	/* A directory others may enter is closed up. */
	snprintf(path, sizeof(path), "%s/weftsrv0", base);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(srvstate_open(&a, base, "weftsrv0", false, err), 0);
	mode_is(path, 0700);
	srvstate_close(&a);

	/* Bad names and places. */
	assert_int_equal(srvstate_open(&a, base, "a/b", false, err), -EINVAL);
	assert_non_null(strstr(err, "not an interface name"));
	assert_int_equal(srvstate_open(&a, base, "", false, err), -EINVAL);
	assert_int_equal(srvstate_open(&a, base, "sixteen-chars-xx", false, err), -EINVAL);
	write_text(base, "notadir", "x");
	assert_int_equal(srvstate_open(&a, base, "notadir", false, err), -ENOTDIR);
	assert_non_null(strstr(err, "not a directory"));
	snprintf(path, sizeof(path), "%s/link", base);
	assert_int_equal(symlink("/tmp", path), 0);
	assert_true(srvstate_open(&a, base, "link", false, err) < 0);
	assert_non_null(strstr(err, "not a directory"));
	/* WEFT_STATE_DIR is the default. */
	setenv("WEFT_STATE_DIR", base, 1);
	assert_string_equal(srvstate_default_dir(), base);
	assert_int_equal(srvstate_open(&a, NULL, "weftsrv0", false, err), 0);
	snprintf(path, sizeof(path), "%s/weftsrv0", base);
	assert_string_equal(a.dir, path);
	srvstate_close(&a);
	unsetenv("WEFT_STATE_DIR");
	assert_string_equal(srvstate_default_dir(), "/var/lib/weft");
}

static void test_meta_files(void **state)
{
	struct srvstate s;
	struct srvmeta m;
	char err[SRVSTATE_ERR_MAX], text[SRVMETA_MAX], path[PATH_MAX + 32];

	(void)state;
	assert_int_equal(srvstate_open(&s, top, "meta0", true, err), 0);
	assert_int_equal(srvstate_read_meta(&s, err), -ENOENT);
	assert_non_null(strstr(err, "server.conf is missing: start the server"));
	meta_example(&s.meta);
	m = s.meta;
	assert_int_equal(srvstate_save_meta(&s), 0);
	file_text(s.dir, "server.conf", text, sizeof(text));
	assert_string_equal(text, example_text);
	snprintf(path, sizeof(path), "%s/server.conf", s.dir);
	mode_is(path, 0600);
	file_text(s.dir, "server.conf.tmp", text, sizeof(text));
	assert_string_equal(text, "");		/* no leftovers */
	memset(&s.meta, 0, sizeof(s.meta));
	assert_int_equal(srvstate_read_meta(&s, err), 0);
	assert_memory_equal(&s.meta, &m, sizeof(m));
	/* A broken one is named with its line. */
	write_text(s.dir, "server.conf", "public_key = " B1 "\nmtu = 1\n");
	assert_int_equal(srvstate_read_meta(&s, err), -EINVAL);
	assert_non_null(strstr(err, "/meta0/server.conf: line 2: mtu: \"1\" is not 576-9000 (fix or delete it)"));
	/* An invalid meta is not written. */
	s.meta.mtu = 1;
	assert_int_equal(srvstate_save_meta(&s), -EINVAL);
	srvstate_close(&s);
}

static void key_of(uint8_t key[32], unsigned n)
{
	memset(key, 0, 32);
	key[0] = (uint8_t)n;
	key[1] = (uint8_t)(n >> 8);
	key[31] = 0x40;
}

static void open_loaded(struct srvstate *s, const char *ifname,
			const struct srvmeta *m)
{
	char err[SRVSTATE_ERR_MAX];

	assert_int_equal(srvstate_open(s, top, ifname, true, err), 0);
	if (srvstate_load(s, m, hash_key, err))
		fail_msg("%s", err);
}

static void test_add_and_reload(void **state)
{
	struct srvstate s;
	struct srvmeta m;
	struct ip_prefix a4, a6, b4, b6, c4, c6;
	uint8_t k1[32], k2[32], k3[32], zero[32] = { 0 };
	char err[SRVSTATE_ERR_MAX], text[4096];

	(void)state;
	meta_example(&m);
	key_of(k1, 1);
	key_of(k2, 2);
	key_of(k3, 3);
	open_loaded(&s, "add0", &m);
	assert_memory_equal(&s.meta, &m, sizeof(m));
	assert_int_equal(clients_count(s.clients), 0);
	assert_int_equal(s.pool->n, 0);
	assert_int_equal(srvstate_add_client(&s, "phone", k1, &a4, &a6, err), 0);
	assert_int_equal(a4.family, 4);
	assert_int_equal(a4.cidr, 16);
	assert_int_equal(a6.family, 6);
	assert_int_equal(a6.cidr, 64);
	assert_int_equal(srvstate_add_client(&s, "laptop", k2, &b4, &b6, err), 0);
	assert_memory_not_equal(&a4, &b4, sizeof(a4));

	/* Refusals change nothing. */
	assert_int_equal(srvstate_add_client(&s, "phone", k3, &c4, &c6, err), -EEXIST);
	assert_non_null(strstr(err, "already a client named phone"));
	assert_int_equal(c4.family, 0);
	assert_int_equal(srvstate_add_client(&s, "tablet", k1, &c4, &c6, err), -EEXIST);
	assert_non_null(strstr(err, "already the client phone"));
	assert_int_equal(srvstate_add_client(&s, "bad name", k3, &c4, &c6, err), -EINVAL);
	assert_non_null(strstr(err, "is not a client name"));
	assert_int_equal(srvstate_add_client(&s, "", k3, &c4, &c6, err), -EINVAL);
	assert_int_equal(srvstate_add_client(&s, "z", zero, &c4, &c6, err), -EINVAL);
	assert_int_equal(clients_count(s.clients), 2);
	assert_int_equal(s.pool->n, 2);

	file_text(s.dir, "clients", text, sizeof(text));
	assert_non_null(strstr(text, "\nphone "));
	assert_non_null(strstr(text, "\nlaptop "));
	srvstate_close(&s);

	/* Loaded again, even with another hash key: same addresses. */
	{
		uint8_t other[32] = { 9 };
		struct srvstate t;

		assert_int_equal(srvstate_open(&t, top, "add0", true, err), 0);
		assert_int_equal(srvstate_load(&t, &m, other, err), 0);
		assert_int_equal(clients_count(t.clients), 2);
		assert_string_equal(clients_at(t.clients, 0)->name, "phone");
		assert_true(addrpool_lookup(t.pool, k1, &c4, &c6));
		assert_memory_equal(&c4, &a4, sizeof(a4));
		assert_memory_equal(&c6, &a6, sizeof(a6));
		assert_true(addrpool_lookup(t.pool, k2, &c4, &c6));
		assert_memory_equal(&c4, &b4, sizeof(b4));
		/* Still unique after the reload. */
		assert_int_equal(srvstate_add_client(&t, "laptop", k3, &c4, &c6, err), -EEXIST);
		srvstate_close(&t);
	}

	/* A key the pool knows (an admitted client) keeps its address when
	 * it is named. */
	open_loaded(&s, "add0", &m);
	assert_int_equal(addrpool_assign(s.pool, k3, NULL, 0, &c4, &c6), ADDRPOOL_OK);
	assert_int_equal(srvstate_save_pool(&s), 0);
	assert_int_equal(srvstate_add_client(&s, "tablet", k3, &a4, &a6, err), 0);
	assert_memory_equal(&a4, &c4, sizeof(c4));
	srvstate_close(&s);
}

static void test_pool_full(void **state)
{
	struct srvstate s;
	struct srvmeta m;
	struct ip_prefix a4, a6;
	uint8_t k1[32], k2[32];
	char err[SRVSTATE_ERR_MAX];

	(void)state;
	meta_example(&m);
	m.pool4 = pfx("10.9.9.0/30");	/* room for one client */
	memset(&m.pool6, 0, sizeof(m.pool6));
	key_of(k1, 1);
	key_of(k2, 2);
	open_loaded(&s, "full0", &m);
	assert_int_equal(srvstate_add_client(&s, "one", k1, &a4, &a6, err), 0);
	assert_int_equal(a4.addr[3], 2);
	assert_int_equal(a6.family, 0);
	assert_int_equal(srvstate_add_client(&s, "two", k2, &a4, &a6, err), -ENOSPC);
	assert_non_null(strstr(err, "the address pool is full"));
	assert_null(clients_find_name(s.clients, "two"));
	srvstate_close(&s);
}

static void test_corrupt_files(void **state)
{
	struct srvstate s;
	struct srvmeta m;
	char err[SRVSTATE_ERR_MAX], dir[PATH_MAX];

	(void)state;
	meta_example(&m);
	assert_int_equal(srvstate_open(&s, top, "bad0", true, err), 0);
	snprintf(dir, sizeof(dir), "%s", s.dir);
	write_text(dir, "pool", "# pool\n" B1 " 10.78.0.5 -\n");
	assert_int_equal(srvstate_load(&s, &m, hash_key, err), -EINVAL);
	assert_non_null(strstr(err, "/bad0/pool: line 2: 10.78.0.5 is outside the pool"));
	assert_non_null(strstr(err, "(fix or delete it)"));
	assert_true(strlen(err) < SRVSTATE_ERR_MAX);
	write_text(dir, "pool", "");
	write_text(dir, "clients", "phone " B1 "\nphone " B1 "\n");
	assert_int_equal(srvstate_load(&s, &m, hash_key, err), -EINVAL);
	assert_non_null(strstr(err, "/bad0/clients: line 2: the name phone is already on line 1 (fix or delete it)"));
	/* Too big to be ours. */
	{
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/clients", dir);
		assert_int_equal(truncate(path, 8 << 20), 0);
	}
	assert_int_equal(srvstate_load(&s, &m, hash_key, err), -EFBIG);
	assert_non_null(strstr(err, "clients: too big"));
	/* A bad range in the meta. */
	write_text(dir, "clients", "");
	m.pool4 = pfx("10.0.0.0/31");
	assert_int_equal(srvstate_load(&s, &m, hash_key, err), -EINVAL);
	assert_non_null(strstr(err, "not usable pools"));
	srvstate_close(&s);
}

/* A failed write leaves memory as it was, and on disk no named client
 * without an address. */
static void test_write_failure_rolls_back(void **state)
{
	struct srvstate s;
	struct srvmeta m;
	struct ip_prefix a4, a6;
	uint8_t k1[32], k2[32];
	char err[SRVSTATE_ERR_MAX], path[PATH_MAX + 32], text[4096], b64[KEY_BASE64_LEN + 1];

	(void)state;
	meta_example(&m);
	key_of(k1, 1);
	key_of(k2, 2);
	open_loaded(&s, "roll0", &m);
	assert_int_equal(srvstate_add_client(&s, "first", k1, &a4, &a6, err), 0);

	/* The pool cannot be written. */
	snprintf(path, sizeof(path), "%s/pool.tmp", s.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(srvstate_add_client(&s, "second", k2, &a4, &a6, err), -EISDIR);
	assert_non_null(strstr(err, "cannot write"));
	assert_int_equal(a4.family, 0);
	assert_null(clients_find_name(s.clients, "second"));
	assert_false(addrpool_lookup(s.pool, k2, &a4, &a6));
	assert_int_equal(rmdir(path), 0);

	/* The clients file cannot be written: the pool is put back too. */
	snprintf(path, sizeof(path), "%s/clients.tmp", s.dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(srvstate_add_client(&s, "second", k2, &a4, &a6, err), -EISDIR);
	assert_non_null(strstr(err, "/clients"));
	assert_null(clients_find_name(s.clients, "second"));
	assert_false(addrpool_lookup(s.pool, k2, &a4, &a6));
	key_to_base64(b64, k2);
	file_text(s.dir, "pool", text, sizeof(text));
	assert_null(strstr(text, b64));
	key_to_base64(b64, k1);
	assert_non_null(strstr(text, b64));
	assert_int_equal(rmdir(path), 0);

	assert_int_equal(srvstate_add_client(&s, "second", k2, &a4, &a6, err), 0);
	srvstate_close(&s);
}

static void test_pool_key(void **state)
{
	uint8_t priv[32], a[32], b[32], want[32];

	(void)state;
	memset(priv, 7, sizeof(priv));
	srvstate_pool_key(priv, a);
	blake2s_keyed(want, 32, priv, 32, "weft addrpool v1", 16);
	assert_memory_equal(a, want, 32);
	priv[31] ^= 1;
	srvstate_pool_key(priv, b);
	assert_memory_not_equal(a, b, 32);
	assert_memory_not_equal(a, priv, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_format),
		cmocka_unit_test(test_meta_format_refuses),
		cmocka_unit_test(test_meta_parse_forms),
		cmocka_unit_test(test_meta_parse_errors),
		cmocka_unit_test(test_open_and_lock),
		cmocka_unit_test(test_meta_files),
		cmocka_unit_test(test_add_and_reload),
		cmocka_unit_test(test_pool_full),
		cmocka_unit_test(test_corrupt_files),
		cmocka_unit_test(test_write_failure_rolls_back),
		cmocka_unit_test(test_pool_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
