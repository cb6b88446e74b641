/* test_addclient.c - `weft server add-client` end to end, in temporary
 * state and run directories: a stopped server's files edited under the
 * lock, a running one (a tiny fake on the control socket) asked instead,
 * and every refusal with its one line: no server.conf, no endpoint, a lock
 * held by a server that does not answer, a name taken, bad arguments. The
 * config printed is read back by weft's wg(8) config reader, and its
 * private key must belong to the public key that was registered. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/subcommands.h"
#include "core/addrpool.h"
#include "core/encoding.h"
#include "core/uapi.h"
#include "core/wgconf.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"
#include "vpn/clients.h"
#include "vpn/ctl.h"
#include "vpn/srvstate.h"

const char *prog_name = "weft";

#define SRV_B64 "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA="
#define SRV_HEX "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0"

static char top[64], state_dir[128], run_dir[128];
static char out_text[16384], err_text[4096];

static int setup(void **state)
{
	(void)state;
	if (!crypto_init())
		return -1;
	snprintf(top, sizeof(top), "/tmp/test_addclient.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(state_dir, sizeof(state_dir), "%s/state", top);
	snprintf(run_dir, sizeof(run_dir), "%s/run", top);
	setenv("WEFT_RUN_DIR", run_dir, 1);
	unsetenv("WEFT_STATE_DIR");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	return system(cmd) == 0 ? 0 : -1;
}

static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* addclient_main(args...) with stdout and stderr in files (stdout's with
 * out_mode); their text in out_text / err_text. */
static int run_mode(mode_t out_mode, const char *arg0, ...)
{
	char *argv[16], opath[256], epath[256];
	const char *a;
	va_list ap;
	int argc = 0, so, se, o, e, ret;

	argv[argc++] = (char *)arg0;
	va_start(ap, arg0);
	while ((a = va_arg(ap, const char *)) && argc < 15)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	snprintf(opath, sizeof(opath), "%s/stdout", top);
	snprintf(epath, sizeof(epath), "%s/stderr", top);
	unlink(opath);
	fflush(stdout);
	fflush(stderr);
	o = open(opath, O_RDWR | O_CREAT | O_TRUNC, out_mode);
	e = open(epath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(o >= 0 && e >= 0);
	assert_int_equal(fchmod(o, out_mode), 0);
	so = dup(STDOUT_FILENO);
	se = dup(STDERR_FILENO);
	dup2(o, STDOUT_FILENO);
	dup2(e, STDERR_FILENO);
	ret = addclient_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, STDOUT_FILENO);
	dup2(se, STDERR_FILENO);
	close(so);
	close(se);
	close(o);
	close(e);
	slurp(opath, out_text, sizeof(out_text));
	slurp(epath, err_text, sizeof(err_text));
	return ret;
}

#define run(...) run_mode(0600, "add-client", __VA_ARGS__, (const char *)NULL)

static struct ip_prefix pfx(const char *text)
{
	struct ip_prefix p;

	assert_true(addrpool_prefix_parse(&p, text, strlen(text)));
	return p;
}

/* What a server started on ifname would have written. */
static void server_conf(const char *ifname, const char *endpoint)
{
	struct srvstate s;
	char err[SRVSTATE_ERR_MAX];

	assert_int_equal(srvstate_open(&s, state_dir, ifname, false, err), 0);
	assert_true(key_from_base64(s.meta.public_key, SRV_B64, 44));
	s.meta.listen_port = 51820;
	snprintf(s.meta.endpoint, sizeof(s.meta.endpoint), "%s", endpoint);
	s.meta.pool4 = pfx("10.77.0.0/16");
	s.meta.pool6 = pfx("fd12:3456:789a::/64");
	s.meta.dns[0] = pfx("10.77.0.1");
	s.meta.n_dns = 1;
	s.meta.mtu = 1420;
	assert_int_equal(srvstate_save_meta(&s), 0);
	srvstate_close(&s);
}

/* The printed config through weft's wg(8) reader; the client's public
 * key from its PrivateKey line. */
static void check_config(uint8_t client_pub[32], const char *want_endpoint)
{
	static char uapi[4096];
	struct uapi_buf b = { uapi, 0, sizeof(uapi), false };
	struct wgconf_error err;
	char want[128];
	const char *pk = strstr(out_text, "PrivateKey = ");
	uint8_t priv[32];

	if (wgconf_to_uapi(out_text, strlen(out_text), true, true, &b, &err))
		fail_msg("line %u: %s\n%s", err.line, err.msg, out_text);
	assert_non_null(strstr(uapi, "\npublic_key=" SRV_HEX "\n"));
	snprintf(want, sizeof(want), "\nendpoint=%s\n", want_endpoint);
	assert_non_null(strstr(uapi, want));
	assert_non_null(strstr(uapi, "\nallowed_ip=0.0.0.0/0\nallowed_ip=::/0\n"));
	assert_non_null(strstr(uapi, "\npersistent_keepalive_interval=25\n"));
	assert_non_null(pk);
	assert_true(key_from_base64(priv, pk + 13, 44));
	assert_true(x25519_public_from_private(client_pub, priv));
	assert_non_null(strstr(out_text, "\nDNS = 10.77.0.1\nMTU = 1420\n"));
	assert_null(strstr(out_text, "##"));	/* no QR: not a terminal */
}

static void test_arguments(void **state)
{
	(void)state;
	assert_int_equal(run_mode(0600, "add-client", (const char *)NULL), 1);
	assert_non_null(strstr(err_text, "Usage: weft server add-client NAME"));
	assert_int_equal(run("--help"), 0);
	assert_non_null(strstr(out_text, "Usage: weft server add-client NAME"));
	assert_int_equal(run("bad/name"), 1);
	assert_string_equal(err_text, "weft: \"bad/name\" is not a client name: use 1-32 of A-Z a-z 0-9 _ . -\n");
	assert_int_equal(run("one", "two"), 1);
	assert_string_equal(err_text, "weft: one client NAME only, got \"one\" and \"two\"\n");
	assert_int_equal(run("one", "--bogus"), 1);
	assert_non_null(strstr(err_text, "weft: unknown option --bogus"));
	assert_int_equal(run("one", "--endpoint"), 1);
	assert_non_null(strstr(err_text, "weft: --endpoint needs a value"));
	assert_int_equal(run("one", "--interface", "a/b", "--state-dir", state_dir), 1);
	assert_non_null(strstr(err_text, "weft: \"a/b\" is not an interface name"));
	assert_string_equal(out_text, "");
}

static void test_no_server_conf(void **state)
{
	(void)state;
	assert_int_equal(run("phone", "--state-dir", state_dir, "--interface", "never0"), 1);
	assert_non_null(strstr(err_text, "weft: "));
	assert_non_null(strstr(err_text, "/never0/server.conf is missing: start the server once"));
	assert_ptr_equal(strchr(err_text, '\n'), err_text + strlen(err_text) - 1);
	assert_string_equal(out_text, "");
}

static void load_state(struct srvstate *s, const char *ifname)
{
	char err[SRVSTATE_ERR_MAX];
	uint8_t hk[32] = { 0 };

	assert_int_equal(srvstate_open(s, state_dir, ifname, false, err), 0);
	assert_int_equal(srvstate_read_meta(s, err), 0);
	if (srvstate_load(s, &s->meta, hk, err))
		fail_msg("%s", err);
}

static void test_offline(void **state)
{
	struct srvstate s;
	struct ip_prefix a4, a6;
	uint8_t pub[32];
	char want[128], t4[ADDRPOOL_PREFIX_STR_MAX];
	const struct client_entry *e;

	(void)state;
	server_conf("off0", "");
	/* No endpoint anywhere: refused before anything is added. */
	assert_int_equal(run("phone", "--state-dir", state_dir, "--interface", "off0"), 1);
	assert_string_equal(err_text, "weft: the server on off0 has no endpoint: pass --endpoint HOST[:PORT], or start the server with --endpoint\n");
	load_state(&s, "off0");
	assert_int_equal(clients_count(s.clients), 0);
	srvstate_close(&s);

	assert_int_equal(run("phone", "--state-dir", state_dir, "--interface", "off0",
			     "--endpoint", "192.0.2.1"), 0);
	check_config(pub, "192.0.2.1:51820");
	load_state(&s, "off0");
	e = clients_find_name(s.clients, "phone");
	assert_non_null(e);
	assert_memory_equal(e->key, pub, 32);	/* the printed key's pair */
	assert_true(addrpool_lookup(s.pool, pub, &a4, &a6));
	a4.cidr = 32;
	addrpool_prefix_format(&a4, t4);
	snprintf(want, sizeof(want), "\nAddress = %s, ", t4);
	assert_non_null(strstr(out_text, want));
	*strchr(t4, '/') = '\0';
	snprintf(want, sizeof(want), "added client phone as %s fd12:3456:789a:", t4);
	assert_non_null(strstr(err_text, want));
	assert_non_null(strstr(err_text, "(the server adds it when it starts)\n"));
	srvstate_close(&s);

	/* The name is taken now; nothing more is added. */
	assert_int_equal(run("phone", "--state-dir", state_dir, "--interface", "off0",
			     "--endpoint=192.0.2.1:1"), 1);
	assert_string_equal(err_text, "weft: there is already a client named phone: pick another name\n");
	assert_string_equal(out_text, "");
	load_state(&s, "off0");
	assert_int_equal(clients_count(s.clients), 1);
	assert_int_equal(s.pool->n, 1);
	srvstate_close(&s);

	/* WEFT_STATE_DIR instead of --state-dir; an IPv6 endpoint. */
	setenv("WEFT_STATE_DIR", state_dir, 1);
	assert_int_equal(run("laptop", "--interface", "off0", "--endpoint",
			     "[2001:db8::1]:443"), 0);
	unsetenv("WEFT_STATE_DIR");
	check_config(pub, "[2001:db8::1]:443");
	assert_int_equal(run("tablet", "--interface", "off0", "--state-dir", state_dir,
			     "--endpoint", "[2001:db8::1"), 1);
	assert_non_null(strstr(err_text, "weft: --endpoint: endpoint \"[2001:db8::1\": missing ']'"));
}

static void test_endpoint_from_conf(void **state)
{
	uint8_t pub[32];

	(void)state;
	server_conf("ep0", "vpn.example.com");
	assert_int_equal(run("phone", "--state-dir", state_dir, "--interface", "ep0"), 0);
	/* weft's reader takes numeric endpoints only; wg-quick resolves. */
	assert_non_null(strstr(out_text, "\nEndpoint = vpn.example.com:51820\n"));
	server_conf("ep0", "198.51.100.7:4000");
	assert_int_equal(run("laptop", "--state-dir", state_dir, "--interface", "ep0"), 0);
	check_config(pub, "198.51.100.7:4000");
	/* --endpoint wins. */
	assert_int_equal(run("tablet", "--state-dir", state_dir, "--interface", "ep0",
			     "--endpoint", "203.0.113.1"), 0);
	check_config(pub, "203.0.113.1:51820");
}

static void test_world_readable_warning(void **state)
{
	(void)state;
	server_conf("warn0", "192.0.2.1");
	assert_int_equal(run_mode(0644, "add-client", "phone", "--state-dir", state_dir,
				  "--interface", "warn0", (const char *)NULL), 0);
	assert_non_null(strstr(err_text, "Warning: writing a private key to a world accessible file."));
	assert_int_equal(run("laptop", "--state-dir", state_dir, "--interface", "warn0"), 0);
	assert_null(strstr(err_text, "Warning"));
}

static void test_locked_but_silent(void **state)
{
	struct srvstate holder;
	char err[SRVSTATE_ERR_MAX];

	(void)state;
	server_conf("lock0", "192.0.2.1");
	assert_int_equal(srvstate_open(&holder, state_dir, "lock0", true, err), 0);
	assert_int_equal(run("phone", "--state-dir", state_dir, "--interface", "lock0"), 1);
	assert_non_null(strstr(err_text, "/lock0/lock is held (a server running on lock0?) but nothing answers on "));
	assert_non_null(strstr(err_text, "/run/lock0.ctl: restart the server, or stop it, then try again\n"));
	assert_string_equal(out_text, "");
	srvstate_close(&holder);
}

/* ---- a running server: a fake on the control socket ---- */

struct fake {
	int fd;
	const char *reply;
	char got[CTL_LINE_MAX + 1];
	pthread_t thread;
};

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = { .fd = f->fd, .events = POLLIN };
	size_t len = 0;
	int c;

	if (poll(&p, 1, 5000) != 1 || (c = accept(f->fd, NULL, NULL)) < 0)
		return NULL;
	while (len < CTL_LINE_MAX && !memchr(f->got, '\n', len)) {
		ssize_t n = read(c, f->got + len, CTL_LINE_MAX - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	f->got[len] = '\0';
	if (write(c, f->reply, strlen(f->reply)) < 0)
		f->got[0] = '!';
	close(c);
	return NULL;
}

static void fake_start(struct fake *f, const char *ifname, const char *reply)
{
	char path[CTL_PATH_MAX];

	memset(f, 0, sizeof(*f));
	f->reply = reply;
	f->fd = ctl_listen(NULL, ifname, path);	/* WEFT_RUN_DIR */
	assert_true(f->fd >= 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake *f, const char *ifname)
{
	char path[CTL_PATH_MAX];

	assert_int_equal(pthread_join(f->thread, NULL), 0);
	close(f->fd);
	assert_int_equal(ctl_path(NULL, ifname, path), 0);
	unlink(path);
}

static void test_live(void **state)
{
	struct srvstate holder, s;
	char err[SRVSTATE_ERR_MAX], want[128], b64[KEY_BASE64_LEN + 1];
	uint8_t pub[32];
	struct fake f;

	(void)state;
	server_conf("live0", "192.0.2.1");
	/* Like a real server: it holds the lock while it serves. */
	assert_int_equal(srvstate_open(&holder, state_dir, "live0", true, err), 0);
	fake_start(&f, "live0", "ok 10.77.0.9/16 fd12:3456:789a::9/64\n");
	assert_int_equal(run("phone", "--state-dir", state_dir, "--interface", "live0"), 0);
	fake_stop(&f, "live0");
	check_config(pub, "192.0.2.1:51820");
	assert_non_null(strstr(out_text, "\nAddress = 10.77.0.9/32, fd12:3456:789a::9/128\n"));
	key_to_base64(b64, pub);
	snprintf(want, sizeof(want), "add-client phone %s\n", b64);
	assert_string_equal(f.got, want);
	assert_string_equal(err_text, "added client phone as 10.77.0.9 fd12:3456:789a::9 to the running server\n");
	srvstate_close(&holder);
	/* The server keeps its own files: add-client wrote none. */
	load_state(&s, "live0");
	assert_int_equal(clients_count(s.clients), 0);
	srvstate_close(&s);

	/* A refusal is passed on, in one line. */
	fake_start(&f, "live0", "error there is already a client named phone: pick another name\n");
	assert_int_equal(run("phone", "--state-dir", state_dir, "--interface", "live0"), 1);
	fake_stop(&f, "live0");
	assert_string_equal(err_text, "weft: the server refused: there is already a client named phone: pick another name\n");
	assert_string_equal(out_text, "");

	/* A reply that makes no sense is not turned into a config. */
	fake_start(&f, "live0", "ok 10.77.0.9/16\n");
	assert_int_equal(run("phone", "--state-dir", state_dir, "--interface", "live0"), 1);
	fake_stop(&f, "live0");
	assert_non_null(strstr(err_text, "weft: the server's reply \"ok 10.77.0.9/16\" is not"));
	assert_string_equal(out_text, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_no_server_conf),
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_endpoint_from_conf),
		cmocka_unit_test(test_world_readable_warning),
		cmocka_unit_test(test_locked_but_silent),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
