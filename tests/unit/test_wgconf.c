/* test_wgconf.c - wg(8) configuration files to UAPI requests: exact output
 * for setconf/addconf/strip, every error with its line number, and the
 * output fed back through the UAPI parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/uapi.h"
#include "core/wgconf.h"

#define B1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define H1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define B2 "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA="
#define H2 "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0"
#define H0 "0000000000000000000000000000000000000000000000000000000000000000"

static char outbuf[1 << 16];

static int convert(const char *conf, bool replace, bool strip,
		   struct wgconf_error *err)
{
	struct uapi_buf b = { outbuf, 0, sizeof(outbuf), false };
	int ret;

	memset(outbuf, 0, sizeof(outbuf));
	ret = wgconf_to_uapi(conf, strlen(conf), replace, strip, &b, err);
	assert_int_equal(b.len, strlen(outbuf));
	return ret;
}

static const char *ok(const char *conf, bool replace, bool strip)
{
	struct wgconf_error err;

	if (convert(conf, replace, strip, &err) != 0)
		fail_msg("line %u: %s", err.line, err.msg);
	return outbuf;
}

/* Must fail on line, with a message that holds want. */
static void bad(const char *conf, unsigned line, const char *want)
{
	struct wgconf_error err;

	if (convert(conf, true, false, &err) == 0)
		fail_msg("accepted:\n%s", conf);
	assert_int_equal(outbuf[0], '\0');	/* nothing left behind */
	if (err.line != line || !strstr(err.msg, want))
		fail_msg("got line %u \"%s\", want line %u \"%s\"", err.line,
			 err.msg, line, want);
	assert_null(strchr(err.msg, '\n'));
	assert_true(strlen(err.msg) > 20);
}

static void test_setconf(void **state)
{
	(void)state;
	/* A peer whose PublicKey comes after its AllowedIPs, and an
	 * [Interface] after the peers: the request is still in order. */
	assert_string_equal(ok(
		"# a comment\n"
		"[Peer]\n"
		"AllowedIPs = 10.0.0.1/32\n"
		"PublicKey = " B1 "\n"
		"Endpoint = 1.2.3.4:51820\n"
		"\n"
		"[Peer]\n"
		"PublicKey = " B2 "\n"
		"PresharedKey = " B1 "\n"
		"PersistentKeepalive = 25\n"
		"AllowedIPs = 10.0.0.2/32, fd00::/64\n"
		"[Interface]\n"
		"ListenPort = 51820\n", true, false),
		"set=1\n"
		"replace_peers=true\n"
		"private_key=" H0 "\n"
		"listen_port=51820\n"
		"fwmark=0\n"
		"public_key=" H1 "\n"
		"endpoint=1.2.3.4:51820\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.0.1/32\n"
		"public_key=" H2 "\n"
		"preshared_key=" H1 "\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.0.2/32\n"
		"allowed_ip=fd00::/64\n"
		"\n");
	/* an empty file resets the device */
	assert_string_equal(ok("", true, false),
			    "set=1\nreplace_peers=true\nprivate_key=" H0 "\n"
			    "listen_port=0\nfwmark=0\n\n");
}

static void test_addconf(void **state)
{
	(void)state;
	/* addconf touches only what the file names */
	assert_string_equal(ok("[Interface]\nFwMark = 0x1F\n", false, false),
			    "set=1\nfwmark=31\n\n");
	assert_string_equal(ok("", false, false), "set=1\n\n");
	/* a UTF-8 byte order mark is not part of the first line */
	assert_string_equal(ok("\xef\xbb\xbf[Interface]\nListenPort = 1\n", false,
			       false), "set=1\nlisten_port=1\n\n");
	assert_string_equal(ok(
		"[Interface]\r\n"
		"  privatekey=" B2 "  # trailing comment\r\n"
		"LISTENPORT\t=\t0\r\n"
		"fwmark = off\r\n"
		"[ peer ]\r\n"
		"publickey = " B1 "\r\n"
		"allowedips =\r\n"
		"persistentkeepalive = off\r\n"
		"endpoint = [FE80::1%7]:1\r\n", false, false),
		"set=1\n"
		"private_key=" H2 "\n"
		"listen_port=0\n"
		"fwmark=0\n"
		"public_key=" H1 "\n"
		"endpoint=[fe80::1%7]:1\n"
		"persistent_keepalive_interval=0\n"
		"replace_allowed_ips=true\n"
		"\n");
}

static void test_allowed_ips(void **state)
{
	(void)state;
	/* several lines add up; bare addresses are host routes; v6 is
	 * written in its canonical form */
	assert_string_equal(ok(
		"[Peer]\nPublicKey=" B1 "\n"
		"AllowedIPs = 10.0.0.1, FD00:0:0::1\n"
		"AllowedIPs = 0.0.0.0/0,::/0 ,192.168.1.7/24\n", false, false),
		"set=1\n"
		"public_key=" H1 "\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.0.1/32\n"
		"allowed_ip=fd00::1/128\n"
		"allowed_ip=0.0.0.0/0\n"
		"allowed_ip=::/0\n"
		"allowed_ip=192.168.1.7/24\n"
		"\n");
}

static void test_strip(void **state)
{
	static const char conf[] =
		"[Interface]\n"
		"Address = 10.0.0.1/24, fd00::1/64\n"
		"Address = 10.0.1.1/24\n"
		"DNS = 1.1.1.1\n"
		"MTU = 1420\n"
		"Table = off\n"
		"PreUp = true\n"
		"PostUp = iptables -A FORWARD -i %i -j ACCEPT\n"
		"PreDown = true\n"
		"PostDown = true\n"
		"SaveConfig = false\n"
		"PrivateKey = " B1 "\n";

	(void)state;
	assert_string_equal(ok(conf, true, true),
			    "set=1\nreplace_peers=true\nprivate_key=" H1 "\n"
			    "listen_port=0\nfwmark=0\n\n");
	bad(conf, 2, "Address is a wg-quick key");
	bad("[Peer]\nPublicKey = " B1 "\nDNS = 1.1.1.1\n", 3,
	    "unknown key \"DNS\" in [Peer]");
}

static void test_errors(void **state)
{
	(void)state;
	bad("[Interface]\nPrivateKey = " B1 "\n\n[Peer]\nAllowedIPs = 10.0.0.0/8\n"
	    "Endpoint = 1.2.3.4:5\nPublicKey = abc\n", 7,
	    "PublicKey is not a valid base64 key (44 characters, as printed "
	    "by \"weft pubkey\")");
	bad("[Interface]\nPrivateKey = " H1 "\n", 2,
	    "PrivateKey is not a valid base64 key");
	bad("[Peer]\nPublicKey = " B1 "\nPresharedKey = " B1 "x\n", 3,
	    "\"weft genpsk\"");
	/* duplicates */
	bad("[Interface]\nListenPort = 1\n\n\nListenPort = 2\n", 5,
	    "ListenPort is given twice (first on line 2)");
	bad("[Interface]\nListenPort = 1\n[Interface]\nlistenport = 2\n", 4,
	    "given twice");
	bad("[Peer]\nPublicKey = " B1 "\nEndpoint = 1.2.3.4:5\n"
	    "Endpoint = 1.2.3.4:6\n", 4, "Endpoint is given twice");
	/* a second peer may repeat what the first said */
	assert_non_null(ok("[Peer]\nPublicKey = " B1 "\n[Peer]\nPublicKey = "
			   B2 "\n", true, false));
	/* structure */
	bad("[Peer]\nAllowedIPs = 10.0.0.0/8\n[Peer]\nPublicKey = " B1 "\n", 1,
	    "this [Peer] section has no PublicKey");
	bad("[Peer]\nPublicKey = " B1 "\n[Peer]\n# nothing\n", 3,
	    "no PublicKey");
	bad("ListenPort = 1\n", 1, "outside any section");
	bad("[Interface]\n[Peers]\n", 2, "unknown section [Peers]");
	bad("[Interface\n", 1, "section header");
	bad("[Interface]\nListenPort 51820\n", 2, "expected \"Key = Value\"");
	bad("[Interface]\nPort = 1\n", 2, "unknown key \"Port\" in [Interface]");
	bad("[Interface]\nPublicKey = " B1 "\n", 2, "unknown key");
	bad("[Peer]\nPrivateKey = " B1 "\n", 2, "unknown key");
	/* numbers */
	bad("[Interface]\nListenPort = 65536\n", 2, "ListenPort must be");
	bad("[Interface]\nListenPort = -1\n", 2, "ListenPort must be");
	bad("[Interface]\nListenPort = \n", 2, "ListenPort must be");
	bad("[Interface]\nFwMark = 4294967296\n", 2, "FwMark must be");
	bad("[Interface]\nFwMark = 0x100000000\n", 2, "FwMark must be");
	bad("[Interface]\nFwMark = 0x\n", 2, "FwMark must be");
	bad("[Interface]\nFwMark = on\n", 2, "FwMark must be");
	bad("[Peer]\nPublicKey = " B1 "\nPersistentKeepalive = 65536\n", 3,
	    "PersistentKeepalive must be");
	/* endpoints */
	bad("[Peer]\nPublicKey = " B1 "\nEndpoint = vpn.example.com:51820\n",
	    3, "is a host name; weft takes numeric addresses only");
	bad("[Peer]\nPublicKey = " B1 "\nEndpoint = 2001:db8::1:51820\n", 3,
	    "goes in brackets");
	bad("[Peer]\nPublicKey = " B1 "\nEndpoint = 1.2.3.4:99999\n", 3,
	    "is not IP:port");
	bad("[Peer]\nPublicKey = " B1 "\nEndpoint = 1.2.3.4\n", 3,
	    "is not IP:port");
	/* allowed IPs */
	bad("[Peer]\nPublicKey = " B1 "\nAllowedIPs = 10.0.0.0/33\n", 3,
	    "AllowedIPs entry \"10.0.0.0/33\"");
	bad("[Peer]\nPublicKey = " B1 "\nAllowedIPs = 10.0.0.0/8,,10.1.0.0/16\n",
	    3, "AllowedIPs entry \"\"");
	bad("[Peer]\nPublicKey = " B1 "\nAllowedIPs = 10.0.0.0/8,\n", 3,
	    "AllowedIPs entry");
	bad("[Peer]\nPublicKey = " B1 "\nAllowedIPs = example.com/32\n", 3,
	    "AllowedIPs entry");
	bad("[Peer]\nPublicKey = " B1 "\nAllowedIPs = 10.0.0.0/\n", 3,
	    "AllowedIPs entry");
}

static void test_limits(void **state)
{
	static char conf[40000];
	static const char nul[] = "[Interface]\nListenPort = 1\0\n";
	static const char big[] = "[Peer]\nPublicKey = " B1 "\n"
				  "AllowedIPs = 10.0.0.1, 10.0.0.2, "
				  "10.0.0.3, 10.0.0.4\n";
	static const char port[] = "[Interface]\nListenPort=9\n";
	struct uapi_buf b;
	struct wgconf_error err;
	char small[200];
	size_t n;

	(void)state;
	/* a very long line */
	n = (size_t)snprintf(conf, sizeof(conf), "[Peer]\nPublicKey = %s\n"
			     "AllowedIPs = ", B1);
	while (n < 20000)
		n += (size_t)snprintf(conf + n, sizeof(conf) - n,
				      "10.0.0.1/32, ");
	n += (size_t)snprintf(conf + n, sizeof(conf) - n, "10.0.0.2/32\n");
	bad(conf, 3, "longer than 16384 characters");
	/* a NUL byte */
	memset(&err, 0, sizeof(err));
	b = (struct uapi_buf){ outbuf, 0, sizeof(outbuf), false };
	assert_int_equal(wgconf_to_uapi(nul, sizeof(nul) - 1, false, false,
					&b, &err), -1);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "NUL"));
	assert_int_equal(b.len, 0);
	/* output that does not fit: an error, and the buffer as it was */
	memcpy(small, "kept", 5);
	b = (struct uapi_buf){ small, 4, sizeof(small), false };
	assert_int_equal(wgconf_to_uapi(big, sizeof(big) - 1, true, false, &b,
					&err), -1);
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.msg, "bytes"));
	assert_int_equal(b.len, 4);
	assert_string_equal(small, "kept");
	/* an empty file may come as NULL */
	b = (struct uapi_buf){ outbuf, 0, sizeof(outbuf), false };
	assert_int_equal(wgconf_to_uapi(NULL, 0, false, false, &b, &err), 0);
	assert_string_equal(outbuf, "set=1\n\n");
	/* appended after what the buffer held */
	b = (struct uapi_buf){ small, 4, sizeof(small), false };
	assert_int_equal(wgconf_to_uapi(port, sizeof(port) - 1, false, false,
					&b, &err), 0);
	assert_string_equal(small, "keptset=1\nlisten_port=9\n\n");
}

/* ---- the output is a request the UAPI parser takes ---- */

struct counter {
	int peers, ips, commits, ok;
};

static int c_peer(void *ctx, const uint8_t k[32])
{
	(void)k;
	((struct counter *)ctx)->peers++;
	return 0;
}

static int c_ip(void *ctx, enum ip_family f, const uint8_t *ip, uint8_t c)
{
	(void)f;
	(void)ip;
	(void)c;
	((struct counter *)ctx)->ips++;
	return 0;
}

static void c_commit(void *ctx, bool okay)
{
	((struct counter *)ctx)->commits++;
	((struct counter *)ctx)->ok = okay;
}

static void test_feeds_uapi(void **state)
{
	static const struct uapi_set_ops ops = {
		.peer_begin = c_peer,
		.peer_allowed_ip = c_ip,
		.commit = c_commit,
	};
	struct counter c = { 0 };
	const char *req = ok("[Interface]\nPrivateKey = " B1 "\nFwMark = 7\n"
			     "[Peer]\nPublicKey = " B2 "\nPresharedKey = " B1
			     "\nEndpoint = [::1]:9\nPersistentKeepalive = 5\n"
			     "AllowedIPs = 10.0.0.0/8, ::/0\n"
			     "[Peer]\nPublicKey = " B1 "\nAllowedIPs = 1.2.3.4\n",
			     true, false);
	size_t len = strlen(req);

	(void)state;
	/* uapi_set takes the body: without "set=1\n" and the empty line */
	assert_true(len > 8);
	assert_memory_equal(req, "set=1\n", 6);
	assert_memory_equal(req + len - 2, "\n\n", 2);
	assert_int_equal(uapi_set((const uint8_t *)req + 6, len - 7, &ops, &c),
			 0);
	assert_int_equal(c.peers, 2);
	assert_int_equal(c.ips, 3);
	assert_int_equal(c.commits, 1);
	assert_true(c.ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setconf),
		cmocka_unit_test(test_addconf),
		cmocka_unit_test(test_allowed_ips),
		cmocka_unit_test(test_strip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_feeds_uapi),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
