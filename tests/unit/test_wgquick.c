/* test_wgquick.c - the wg-quick config for stock clients: exact text, the
 * same text read back by weft's own wg(8) config reader (wg-quick keys
 * stripped, as wg-quick does), host prefixes whatever the pool's length,
 * bad input refused, small buffers refused and wiped; and the endpoint
 * normaliser over a table of forms and errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/addrpool.h"
#include "core/encoding.h"
#include "core/uapi.h"
#include "core/wgconf.h"
#include "vpn/wgquick.h"

#define B1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define H1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define B2 "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA="
#define H2 "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0"

static struct ip_prefix pfx(const char *text)
{
	struct ip_prefix p;

	assert_true(addrpool_prefix_parse(&p, text, strlen(text)));
	return p;
}

static void client(struct wgquick_client *c)
{
	memset(c, 0, sizeof(*c));
	assert_true(key_from_base64(c->private_key, B1, 44));
	assert_true(key_from_base64(c->server_public, B2, 44));
	c->address4 = pfx("10.77.0.2/16");	/* the pool's length */
	c->address6 = pfx("fd12:3456:789a::2/64");
	c->dns[0] = pfx("10.77.0.1");
	c->dns[1] = pfx("fd12:3456:789a::1");
	c->n_dns = 2;
	snprintf(c->endpoint, sizeof(c->endpoint), "192.0.2.1:51820");
	c->mtu = 1420;
	c->persistent_keepalive = WGQUICK_KEEPALIVE;
}

static void test_exact(void **state)
{
	struct wgquick_client c;
	char buf[WGQUICK_CONFIG_MAX];
	int n;

	(void)state;
	client(&c);
	n = wgquick_client_config(&c, buf, sizeof(buf));
	assert_string_equal(buf,
		"[Interface]\n"
		"PrivateKey = " B1 "\n"
		"Address = 10.77.0.2/32, fd12:3456:789a::2/128\n"
		"DNS = 10.77.0.1, fd12:3456:789a::1\n"
		"MTU = 1420\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " B2 "\n"
		"Endpoint = 192.0.2.1:51820\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n"
		"PersistentKeepalive = 25\n");
	assert_int_equal(n, (int)strlen(buf));
}

static void test_optional_lines(void **state)
{
	struct wgquick_client c;
	char buf[WGQUICK_CONFIG_MAX];

	(void)state;
	client(&c);
	memset(&c.address6, 0, sizeof(c.address6));
	c.n_dns = 0;
	c.mtu = 0;
	c.persistent_keepalive = 0;
	assert_true(wgquick_client_config(&c, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\nAddress = 10.77.0.2/32\n"));
	assert_null(strstr(buf, "DNS"));
	assert_null(strstr(buf, "MTU"));
	assert_null(strstr(buf, "PersistentKeepalive"));
	/* No IPv6 address, still no IPv6 around the tunnel. */
	assert_non_null(strstr(buf, "\nAllowedIPs = 0.0.0.0/0, ::/0\n"));

	client(&c);
	memset(&c.address4, 0, sizeof(c.address4));
	c.n_dns = 1;
	c.dns[0] = pfx("fd12:3456:789a::1");
	assert_true(wgquick_client_config(&c, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\nAddress = fd12:3456:789a::2/128\n"));
	assert_non_null(strstr(buf, "\nDNS = fd12:3456:789a::1\n"));

	client(&c);
	snprintf(c.endpoint, sizeof(c.endpoint), "[2001:db8::1]:443");
	assert_true(wgquick_client_config(&c, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\nEndpoint = [2001:db8::1]:443\n"));
	snprintf(c.endpoint, sizeof(c.endpoint), "vpn.example.com:51820");
	assert_true(wgquick_client_config(&c, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\nEndpoint = vpn.example.com:51820\n"));
}

/* The config through weft's wg(8) reader, wg-quick keys stripped: what
 * `wg-quick strip` hands to `wg setconf`. */
static void test_read_back(void **state)
{
	static char out[4096];
	struct uapi_buf b = { out, 0, sizeof(out), false };
	struct wgquick_client c;
	struct wgconf_error err;
	char buf[WGQUICK_CONFIG_MAX];

	(void)state;
	client(&c);
	assert_true(wgquick_client_config(&c, buf, sizeof(buf)) > 0);
	if (wgconf_to_uapi(buf, strlen(buf), true, true, &b, &err) != 0)
		fail_msg("line %u: %s", err.line, err.msg);
	assert_string_equal(out,
		"set=1\n"
		"replace_peers=true\n"
		"private_key=" H1 "\n"
		"listen_port=0\n"
		"fwmark=0\n"
		"public_key=" H2 "\n"
		"endpoint=192.0.2.1:51820\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=0.0.0.0/0\n"
		"allowed_ip=::/0\n"
		"\n");
	/* And without stripping, the wg-quick keys are what it refuses. */
	b.len = 0;
	out[0] = '\0';
	assert_int_equal(wgconf_to_uapi(buf, strlen(buf), true, false, &b, &err), -1);
	assert_int_equal(err.line, 3);
	assert_non_null(strstr(err.msg, "Address"));
}

static void test_bad_input(void **state)
{
	struct wgquick_client c;
	char buf[WGQUICK_CONFIG_MAX];

	(void)state;
	client(&c);
	memset(&c.address4, 0, sizeof(c.address4));
	memset(&c.address6, 0, sizeof(c.address6));
	assert_int_equal(wgquick_client_config(&c, buf, sizeof(buf)), -EINVAL);
	client(&c);
	c.address4 = pfx("fd00::2");	/* wrong family */
	assert_int_equal(wgquick_client_config(&c, buf, sizeof(buf)), -EINVAL);
	client(&c);
	c.address6 = pfx("10.0.0.2");
	assert_int_equal(wgquick_client_config(&c, buf, sizeof(buf)), -EINVAL);
	client(&c);
	c.n_dns = 3;
	assert_int_equal(wgquick_client_config(&c, buf, sizeof(buf)), -EINVAL);
	client(&c);
	c.dns[1].family = 5;
	assert_int_equal(wgquick_client_config(&c, buf, sizeof(buf)), -EINVAL);
	client(&c);
	snprintf(c.endpoint, sizeof(c.endpoint), "192.0.2.1");	/* no port */
	assert_int_equal(wgquick_client_config(&c, buf, sizeof(buf)), -EINVAL);
	snprintf(c.endpoint, sizeof(c.endpoint), "2001:db8::1");
	assert_int_equal(wgquick_client_config(&c, buf, sizeof(buf)), -EINVAL);
	snprintf(c.endpoint, sizeof(c.endpoint), "a b:1");
	assert_int_equal(wgquick_client_config(&c, buf, sizeof(buf)), -EINVAL);
	snprintf(c.endpoint, sizeof(c.endpoint), "x:1\nPostUp = rm -rf /");
	assert_int_equal(wgquick_client_config(&c, buf, sizeof(buf)), -EINVAL);
	memset(c.endpoint, 'a', sizeof(c.endpoint));	/* no NUL */
	assert_int_equal(wgquick_client_config(&c, buf, sizeof(buf)), -EINVAL);
}

static void test_small_buffer(void **state)
{
	struct wgquick_client c;
	char buf[WGQUICK_CONFIG_MAX];
	int n;

	(void)state;
	client(&c);
	snprintf(c.endpoint, sizeof(c.endpoint), "%.63s.%.63s.%.63s.%.57s:65535",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
		 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	c.address6 = pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
	c.dns[1] = pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	/* The longest config fits WGQUICK_CONFIG_MAX. */
	n = wgquick_client_config(&c, buf, sizeof(buf));
	assert_true(n > 0 && n < WGQUICK_CONFIG_MAX);
	for (size_t cap = 0; cap <= (size_t)n; cap++) {
		memset(buf, 'x', sizeof(buf));
		assert_int_equal(wgquick_client_config(&c, buf, cap), -ENOSPC);
		/* Nothing of the private key is left in a short buffer. */
		if (cap)
			assert_int_equal(buf[0], '\0');
		assert_null(memmem(buf, cap, "AAECAwQF", 8));
	}
}

struct ep_case {
	const char *in;
	uint16_t default_port;
	const char *out;	/* NULL: refused */
	const char *why;	/* part of the reason */
};

static void test_endpoint(void **state)
{
	static const struct ep_case cases[] = {
		{ "vpn.example.com", 51820, "vpn.example.com:51820", NULL },
		{ "vpn.example.com:443", 51820, "vpn.example.com:443", NULL },
		{ "VPN-1.Example.org:1", 0, "VPN-1.Example.org:1", NULL },
		{ "localhost", 7, "localhost:7", NULL },
		{ "192.0.2.1", 51820, "192.0.2.1:51820", NULL },
		{ "192.0.2.1:65535", 51820, "192.0.2.1:65535", NULL },
		{ "2001:db8::1", 51820, "[2001:db8::1]:51820", NULL },
		{ "[2001:db8::1]", 51820, "[2001:db8::1]:51820", NULL },
		{ "[2001:db8::1]:9", 51820, "[2001:db8::1]:9", NULL },
		{ "::ffff:192.0.2.1", 1, "[::ffff:192.0.2.1]:1", NULL },
		{ "", 51820, NULL, "empty" },
		{ "vpn.example.com", 0, NULL, "give a port" },
		{ "[2001:db8::1]", 0, NULL, "give a port" },
		{ "vpn.example.com:0", 51820, NULL, "1-65535" },
		{ "vpn.example.com:65536", 51820, NULL, "1-65535" },
		{ "vpn.example.com:", 51820, NULL, "1-65535" },
		{ "vpn.example.com:+5", 51820, NULL, "1-65535" },
		{ "2001:db8::1:51820x", 51820, NULL, "brackets" },
		{ "[2001:db8::1", 51820, NULL, "missing ']'" },
		{ "[vpn.example.com]:1", 51820, NULL, "not an IPv6 address" },
		{ "[2001:db8::1]51820", 51820, NULL, "expected :PORT" },
		{ "-vpn.example.com", 51820, NULL, "not a host name" },
		{ "vpn-.example.com", 51820, NULL, "not a host name" },
		{ "vpn..example.com", 51820, NULL, "not a host name" },
		{ "vpn.example.com.", 51820, NULL, "not a host name" },
		{ "vpn_1.example.com", 51820, NULL, "not a host name" },
		{ "192.0.2.256", 51820, NULL, "not a host name" },
		{ "10.1", 51820, NULL, "not a host name" },
		{ "a b", 51820, NULL, "not a host name" },
		{ "a\nb", 51820, NULL, "not a host name" },
		{ ":51820", 51820, NULL, "not a host name" },
	};
	char out[WGQUICK_ENDPOINT_MAX], err[WGQUICK_ERR_MAX];
	char longname[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ep_case *k = &cases[i];
		int ret = wgquick_endpoint(k->in, strlen(k->in),
					   k->default_port, out, err);

		if (k->out) {
			if (ret != 0)
				fail_msg("\"%s\": refused: %s", k->in, err);
			assert_string_equal(out, k->out);
		} else {
			if (ret != -EINVAL)
				fail_msg("\"%s\": accepted as %s", k->in, out);
			if (!strstr(err, k->why))
				fail_msg("\"%s\": \"%s\" lacks \"%s\"", k->in,
					 err, k->why);
			assert_string_equal(out, "");
		}
	}
	/* A label of 64 and a name of 254 are too long. */
	memset(longname, 'a', 64);
	assert_int_equal(wgquick_endpoint(longname, 64, 1, out, err), -EINVAL);
	assert_int_equal(wgquick_endpoint(longname, 63, 1, out, err), 0);
	for (int i = 0; i < 4; i++) {
		memset(longname + i * 64, 'a', 63);
		longname[i * 64 + 63] = '.';
	}
	assert_int_equal(wgquick_endpoint(longname, 253, 1, out, err), 0);
	assert_string_equal(out + 253, ":1");
	longname[253] = 'a';
	assert_int_equal(wgquick_endpoint(longname, 254, 1, out, err), -EINVAL);
	/* The input length is what counts, not a NUL. */
	assert_int_equal(wgquick_endpoint("vpn.example.com:1", 3, 9, out, err), 0);
	assert_string_equal(out, "vpn:9");
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(wgquick_endpoint(longname, sizeof(longname), 1, out, err),
			 -EINVAL);
	assert_non_null(strstr(err, "too long"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_optional_lines),
		cmocka_unit_test(test_read_back),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
