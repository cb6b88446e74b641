/* test_uapi.c - the UAPI "set" parser against a fake device that records
 * every callback, the exact "get" output, and endpoint parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/encoding.h"
#include "core/endpoint.h"
#include "core/uapi.h"

/* ---- the fake device ---- */

struct fake {
	char log[8192];
	size_t len;
	int fail_at;	/* 1-based callback number that fails, 0: none */
	int fail_err;
	int calls;
	int commits;
};

static int record(struct fake *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int record(struct fake *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(f->log + f->len, sizeof(f->log) - f->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(f->log) - f->len);
	f->len += (size_t)n;
	return ++f->calls == f->fail_at ? f->fail_err : 0;
}

static const char *hex(const uint8_t key[32])
{
	static char s[KEY_HEX_LEN + 1];

	key_to_hex(s, key);
	return s;
}

static int f_private_key(void *ctx, const uint8_t key[32], bool clear)
{
	return record(ctx, "private_key %.8s clear=%d\n", hex(key), clear);
}

static int f_listen_port(void *ctx, uint16_t port)
{
	return record(ctx, "listen_port %u\n", port);
}

static int f_fwmark(void *ctx, uint32_t mark)
{
	return record(ctx, "fwmark %u\n", mark);
}

static int f_replace_peers(void *ctx)
{
	return record(ctx, "replace_peers\n");
}

static int f_peer_begin(void *ctx, const uint8_t key[32])
{
	return record(ctx, "peer_begin %.8s\n", hex(key));
}

static int f_peer_remove(void *ctx)
{
	return record(ctx, "remove\n");
}

static int f_peer_update_only(void *ctx)
{
	return record(ctx, "update_only\n");
}

static int f_peer_psk(void *ctx, const uint8_t psk[32])
{
	return record(ctx, "psk %.8s\n", hex(psk));
}

static int f_peer_endpoint(void *ctx, const struct wg_endpoint *ep)
{
	char s[ENDPOINT_STR_MAX];

	endpoint_format(ep, s);
	return record(ctx, "endpoint %s\n", s);
}

static int f_peer_keepalive(void *ctx, uint16_t seconds)
{
	return record(ctx, "keepalive %u\n", seconds);
}

static int f_peer_replace_allowed_ips(void *ctx)
{
	return record(ctx, "replace_allowed_ips\n");
}

static int f_peer_allowed_ip(void *ctx, enum ip_family family,
			     const uint8_t *ip, uint8_t cidr)
{
	struct uapi_buf b;
	char s[128];

	b.data = s;
	b.len = 0;
	b.cap = sizeof(s);
	b.truncated = false;
	uapi_format_allowed_ip(&b, family, ip, cidr);
	assert_false(b.truncated);
	return record(ctx, "v%d %s", family, s + strlen("allowed_ip="));
}

static int f_peer_end(void *ctx)
{
	return record(ctx, "peer_end\n");
}

static void f_commit(void *ctx, bool ok)
{
	struct fake *f = ctx;

	f->commits++;
	record(ctx, "commit %d\n", ok);
}

static const struct uapi_set_ops fake_ops = {
	.private_key = f_private_key,
	.listen_port = f_listen_port,
	.fwmark = f_fwmark,
	.replace_peers = f_replace_peers,
	.peer_begin = f_peer_begin,
	.peer_remove = f_peer_remove,
	.peer_update_only = f_peer_update_only,
	.peer_preshared_key = f_peer_psk,
	.peer_endpoint = f_peer_endpoint,
	.peer_persistent_keepalive = f_peer_keepalive,
	.peer_replace_allowed_ips = f_peer_replace_allowed_ips,
	.peer_allowed_ip = f_peer_allowed_ip,
	.peer_end = f_peer_end,
	.commit = f_commit,
};

static int run(struct fake *f, const char *body)
{
	int ret;

	memset(f, 0, sizeof(*f));
	ret = uapi_set((const uint8_t *)body, strlen(body), &fake_ops, f);
	assert_int_equal(f->commits, 1);
	return ret;
}

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"
#define K0 "0000000000000000000000000000000000000000000000000000000000000000"

/* ---- set: what works ---- */

static void test_set_full(void **state)
{
	struct fake f;

	(void)state;
	assert_int_equal(run(&f,
		"private_key=" K1 "\n"
		"listen_port=51820\n"
		"fwmark=4294967295\n"
		"replace_peers=true\n"
		"public_key=" K2 "\n"
		"protocol_version=1\n"
		"preshared_key=" K1 "\n"
		"endpoint=192.0.2.1:51820\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.0.0.0/8\n"
		"allowed_ip=fd00::1/128\n"
		"public_key=" K1 "\n"
		"update_only=true\n"
		"endpoint=[2001:db8::1]:65535\n"
		"public_key=" K0 "\n"
		"remove=true\n"), 0);
	assert_string_equal(f.log,
		"private_key 11111111 clear=0\n"
		"listen_port 51820\n"
		"fwmark 4294967295\n"
		"replace_peers\n"
		"peer_begin 22222222\n"
		"psk 11111111\n"
		"endpoint 192.0.2.1:51820\n"
		"keepalive 25\n"
		"replace_allowed_ips\n"
		"v4 10.0.0.0/8\n"
		"v6 fd00::1/128\n"
		"peer_end\n"
		"peer_begin 11111111\n"
		"update_only\n"
		"endpoint [2001:db8::1]:65535\n"
		"peer_end\n"
		"peer_begin 00000000\n"
		"remove\n"
		"peer_end\n"
		"commit 1\n");
}

static void test_set_edges(void **state)
{
	struct fake f;

	(void)state;
	/* empty request: nothing but the commit */
	assert_int_equal(run(&f, ""), 0);
	assert_string_equal(f.log, "commit 1\n");
	memset(&f, 0, sizeof(f));
	assert_int_equal(uapi_set(NULL, 0, &fake_ops, &f), 0);
	assert_string_equal(f.log, "commit 1\n");
	/* all-zero private key clears it */
	assert_int_equal(run(&f, "private_key=" K0 "\n"), 0);
	assert_string_equal(f.log, "private_key 00000000 clear=1\ncommit 1\n");
	/* bounds */
	assert_int_equal(run(&f, "listen_port=0\nlisten_port=65535\n"
				 "fwmark=0\n"), 0);
	assert_string_equal(f.log, "listen_port 0\nlisten_port 65535\n"
				   "fwmark 0\ncommit 1\n");
	/* the last line may lack its newline */
	assert_int_equal(run(&f, "listen_port=7"), 0);
	assert_string_equal(f.log, "listen_port 7\ncommit 1\n");
	/* uppercase hex is read */
	assert_int_equal(run(&f, "public_key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"), 0);
	assert_string_equal(f.log, "peer_begin aaaaaaaa\npeer_end\ncommit 1\n");
	/* allowed IPs with host bits and prefix 0 */
	assert_int_equal(run(&f, "public_key=" K1 "\nallowed_ip=0.0.0.0/0\n"
				 "allowed_ip=::/0\nallowed_ip=10.1.2.3/8\n"),
			 0);
	assert_string_equal(f.log, "peer_begin 11111111\nv4 0.0.0.0/0\n"
				   "v6 ::/0\nv4 10.1.2.3/8\npeer_end\n"
				   "commit 1\n");
	/* endpoint scopes: numeric and by interface name */
	assert_int_equal(run(&f, "public_key=" K1 "\n"
				 "endpoint=[fe80::1%7]:1\n"
				 "endpoint=[fe80::1%lo]:2\n"), 0);
	assert_string_equal(f.log, "peer_begin 11111111\n"
				   "endpoint [fe80::1%7]:1\n"
				   "endpoint [fe80::1%1]:2\n"
				   "peer_end\ncommit 1\n");
}

static void test_set_null_ops(void **state)
{
	struct uapi_set_ops none;

	(void)state;
	memset(&none, 0, sizeof(none));
	/* A device may leave callbacks out; the request still parses. */
	static const char ok[] = "listen_port=1\npublic_key=" K1 "\n";

	assert_int_equal(uapi_set((const uint8_t *)ok, strlen(ok), &none,
				  NULL), 0);
	assert_int_equal(uapi_set((const uint8_t *)"nope=1\n", 7, &none, NULL),
			 EPROTO);
}

/* ---- set: every error class ---- */

struct bad_case {
	const char *body;
	int err;
	const char *log;	/* callbacks before the failure */
};

static void test_set_errors(void **state)
{
	static const struct bad_case cases[] = {
		/* unknown keys and non-protocol lines */
		{ "foo=bar\n", EPROTO, "" },
		{ "Listen_port=1\n", EPROTO, "" },
		{ "listen_port\n", EPROTO, "" },
		{ "=1\n", EPROTO, "" },
		{ "public_key=" K1 "\nfoo=1\n", EPROTO,
		  "peer_begin 11111111\n" },
		/* framing */
		{ "listen_port=1\n\nlisten_port=2\n", EINVAL, "listen_port 1\n" },
		{ "\n", EINVAL, "" },
		{ "listen_port=1\r\n", EINVAL, "" },
		{ " listen_port=1\n", EPROTO, "" },
		{ "listen_port= 1\n", EINVAL, "" },
		/* numbers */
		{ "listen_port=65536\n", EINVAL, "" },
		{ "listen_port=-1\n", EINVAL, "" },
		{ "listen_port=+1\n", EINVAL, "" },
		{ "listen_port=\n", EINVAL, "" },
		{ "listen_port=0x10\n", EINVAL, "" },
		{ "listen_port=99999999999999999999\n", EINVAL, "" },
		{ "fwmark=4294967296\n", EINVAL, "" },
		{ "fwmark=1.5\n", EINVAL, "" },
		{ "public_key=" K1 "\npersistent_keepalive_interval=65536\n",
		  EINVAL, "peer_begin 11111111\n" },
		/* keys */
		{ "private_key=" K1 "1\n", EINVAL, "" },
		{ "private_key=" K1 "\n" "private_key=xyz\n", EINVAL,
		  "private_key 11111111 clear=0\n" },
		{ "public_key=\n", EINVAL, "" },
		{ "public_key=" K1 "\npreshared_key=" K1 "g\n", EINVAL,
		  "peer_begin 11111111\n" },
		/* booleans take only "true" */
		{ "replace_peers=false\n", EINVAL, "" },
		{ "replace_peers=TRUE\n", EINVAL, "" },
		{ "public_key=" K1 "\nremove=1\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nupdate_only=\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nreplace_allowed_ips=yes\n", EINVAL,
		  "peer_begin 11111111\n" },
		/* protocol version */
		{ "public_key=" K1 "\nprotocol_version=2\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nprotocol_version=01\n", EINVAL,
		  "peer_begin 11111111\n" },
		/* peer keys before any peer, device keys after one */
		{ "remove=true\n", EINVAL, "" },
		{ "endpoint=1.2.3.4:5\n", EINVAL, "" },
		{ "allowed_ip=10.0.0.0/8\n", EINVAL, "" },
		{ "protocol_version=1\n", EINVAL, "" },
		{ "preshared_key=" K1 "\n", EINVAL, "" },
		{ "public_key=" K1 "\nlisten_port=1\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nreplace_peers=true\n", EINVAL,
		  "peer_begin 11111111\n" },
		/* allowed IPs */
		{ "public_key=" K1 "\nallowed_ip=10.0.0.1\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nallowed_ip=10.0.0.0/33\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nallowed_ip=::/129\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nallowed_ip=10.0.0.0/024\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nallowed_ip=10.0.0/24\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nallowed_ip=/24\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nallowed_ip=10.0.0.0/\n", EINVAL,
		  "peer_begin 11111111\n" },
		/* endpoints */
		{ "public_key=" K1 "\nendpoint=example.com:1\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nendpoint=1.2.3.4\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nendpoint=1.2.3.4:0\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nendpoint=1.2.3.4:65536\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nendpoint=::1:5\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nendpoint=[::1]5\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nendpoint=[1.2.3.4]:5\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nendpoint=[fe80::1%]:5\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nendpoint=[fe80::1%nosuchif0]:5\n", EINVAL,
		  "peer_begin 11111111\n" },
		{ "public_key=" K1 "\nendpoint=1.2.3.4%1:5\n", EINVAL,
		  "peer_begin 11111111\n" },
	};
	char want[256];
	struct fake f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
		int ret = run(&f, cases[i].body);

		if (ret != cases[i].err)
			fail_msg("case %zu \"%s\": got %d, want %d", i,
				 cases[i].body, ret, cases[i].err);
		/* No peer_end after a failure: the commit says it failed. */
		snprintf(want, sizeof(want), "%scommit 0\n", cases[i].log);
		if (strcmp(f.log, want) != 0)
			fail_msg("case %zu \"%s\": log\n%s\nwant\n%s", i,
				 cases[i].body, f.log, want);
	}
}

static void test_set_line_limit(void **state)
{
	char body[UAPI_MAX_LINE + 64];
	struct fake f;
	size_t n;

	(void)state;
	/* Exactly UAPI_MAX_LINE characters: parsed (and then rejected for
	 * its value); one more: rejected as too long before parsing. */
	n = (size_t)snprintf(body, sizeof(body), "listen_port=");
	memset(body + n, '1', UAPI_MAX_LINE - n);
	body[UAPI_MAX_LINE] = '\n';
	body[UAPI_MAX_LINE + 1] = '\0';
	assert_int_equal(run(&f, body), EINVAL);
	memset(body, 'x', UAPI_MAX_LINE + 1);
	memcpy(body + UAPI_MAX_LINE + 1, "\n", 2);
	assert_int_equal(run(&f, body), EINVAL);
	memcpy(body, "x=", 2);
	memset(body + 2, 'x', UAPI_MAX_LINE - 2);
	memcpy(body + UAPI_MAX_LINE, "\n", 2);
	assert_int_equal(run(&f, body), EPROTO);
	/* a NUL inside a line */
	memset(&f, 0, sizeof(f));
	assert_int_equal(uapi_set((const uint8_t *)"listen_port=1\0\n", 15,
				  &fake_ops, &f), EINVAL);
	assert_string_equal(f.log, "commit 0\n");
}

static void test_set_callback_errors(void **state)
{
	static const char body[] = "listen_port=1\n"
				   "public_key=" K1 "\n"
				   "allowed_ip=10.0.0.0/8\n"
				   "public_key=" K2 "\n";
	struct fake f;
	int at;

	(void)state;
	/* Whichever callback fails, its errno ends the request there. */
	for (at = 1; at <= 6; ++at) {
		memset(&f, 0, sizeof(f));
		f.fail_at = at;
		f.fail_err = at == 6 ? ENOMEM : ENOSPC;
		assert_int_equal(uapi_set((const uint8_t *)body,
					  sizeof(body) - 1, &fake_ops, &f),
				 f.fail_err);
		assert_int_equal(f.calls, at + 1);	/* + the commit */
		assert_non_null(strstr(f.log, "commit 0\n"));
	}
	/* The 6th callback is the final peer_end. */
	assert_string_equal(f.log, "listen_port 1\npeer_begin 11111111\n"
				   "v4 10.0.0.0/8\npeer_end\n"
				   "peer_begin 22222222\npeer_end\ncommit 0\n");
}

/* ---- get ---- */

static void test_get_exact(void **state)
{
	struct uapi_device_info d;
	struct uapi_peer_info p;
	char data[2048];
	struct uapi_buf b = { data, 0, sizeof(data), false };
	uint8_t ip4[4] = { 10, 0, 0, 2 };
	uint8_t ip6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

	(void)state;
	memset(&d, 0, sizeof(d));
	memset(&p, 0, sizeof(p));
	d.has_private_key = true;
	memset(d.private_key, 0x11, 32);
	d.listen_port = 51820;
	d.fwmark = 0x1234;
	memset(p.public_key, 0x22, 32);
	p.endpoint.family = IP_V6;
	p.endpoint.addr[0] = 0x20;
	p.endpoint.addr[1] = 0x01;
	p.endpoint.addr[2] = 0x0d;
	p.endpoint.addr[3] = 0xb8;
	p.endpoint.addr[15] = 1;
	p.endpoint.port = 443;
	p.last_handshake_sec = 1700000000;
	p.last_handshake_nsec = 123456789;
	p.tx_bytes = 18446744073709551615ULL;
	p.rx_bytes = 42;
	p.persistent_keepalive = 25;
	uapi_format_device(&b, &d);
	uapi_format_peer(&b, &p);
	uapi_format_allowed_ip(&b, IP_V4, ip4, 32);
	uapi_format_allowed_ip(&b, IP_V6, ip6, 128);
	memset(p.public_key, 0x33, 32);
	memset(p.preshared_key, 0x44, 32);
	memset(&p.endpoint, 0, sizeof(p.endpoint));
	p.endpoint.family = IP_V4;
	memcpy(p.endpoint.addr, "\xc0\x00\x02\x01", 4);
	p.endpoint.port = 1;
	p.last_handshake_sec = p.last_handshake_nsec = 0;
	p.tx_bytes = p.rx_bytes = 0;
	p.persistent_keepalive = 0;
	uapi_format_peer(&b, &p);
	uapi_format_errno(&b, 0);
	assert_false(b.truncated);
	assert_string_equal(data,
		"private_key=" K1 "\n"
		"listen_port=51820\n"
		"fwmark=4660\n"
		"public_key=" K2 "\n"
		"preshared_key=" K0 "\n"
		"protocol_version=1\n"
		"endpoint=[2001:db8::1]:443\n"
		"last_handshake_time_sec=1700000000\n"
		"last_handshake_time_nsec=123456789\n"
		"tx_bytes=18446744073709551615\n"
		"rx_bytes=42\n"
		"persistent_keepalive_interval=25\n"
		"allowed_ip=10.0.0.2/32\n"
		"allowed_ip=fd00::2/128\n"
		"public_key=3333333333333333333333333333333333333333333333333333333333333333\n"
		"preshared_key=4444444444444444444444444444444444444444444444444444444444444444\n"
		"protocol_version=1\n"
		"endpoint=192.0.2.1:1\n"
		"last_handshake_time_sec=0\n"
		"last_handshake_time_nsec=0\n"
		"tx_bytes=0\n"
		"rx_bytes=0\n"
		"persistent_keepalive_interval=0\n"
		"errno=0\n\n");
	assert_int_equal(b.len, strlen(data));

	/* No private key, no mark, no endpoint: those lines are left out. */
	b.len = 0;
	memset(&d, 0, sizeof(d));
	memset(&p, 0, sizeof(p));
	uapi_format_device(&b, &d);
	uapi_format_peer(&b, &p);
	uapi_format_errno(&b, 22);
	assert_string_equal(data,
		"listen_port=0\n"
		"public_key=" K0 "\n"
		"preshared_key=" K0 "\n"
		"protocol_version=1\n"
		"last_handshake_time_sec=0\n"
		"last_handshake_time_nsec=0\n"
		"tx_bytes=0\n"
		"rx_bytes=0\n"
		"persistent_keepalive_interval=0\n"
		"errno=22\n\n");
}

static void test_get_truncation(void **state)
{
	struct uapi_device_info d;
	char data[128];
	struct uapi_buf b = { data, 0, 0, false };
	size_t cap, len;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.has_private_key = true;
	d.listen_port = 1;
	/* At every capacity, the output is a prefix of whole lines. */
	for (cap = 0; cap <= sizeof(data); ++cap) {
		memset(data, 0, sizeof(data));
		b.len = 0;
		b.cap = cap;
		b.truncated = false;
		uapi_format_device(&b, &d);
		uapi_format_errno(&b, 0);
		len = b.len;
		assert_true(len <= cap);
		/* room is kept for a NUL after the text */
		assert_int_equal(b.truncated, cap < 77 + 14 + 9 + 1);
		assert_true(len == 0 || data[len - 1] == '\n');
		assert_true(len == 0 || len == 77 || len == 77 + 14 ||
			    len == 77 + 14 + 9);
	}
}

/* ---- endpoints ---- */

static void test_endpoint(void **state)
{
	static const char *const good[] = {
		"1.2.3.4:51820", "255.255.255.255:65535", "0.0.0.0:1",
		"[::1]:5", "[2001:db8::1]:51820", "[fe80::1%3]:9",
	};
	static const char *const bad[] = {
		"", ":", "1.2.3.4", "1.2.3.4:", ":5", "1.2.3:5", "1.2.3.4.5:5",
		"01.2.3.4:5", "1.2.3.4:5x", "1.2.3.4: 5", " 1.2.3.4:5",
		"[::1]", "[::1]:", "::1:5", "[::1:5", "[]:5", "[::1]]:5",
		"[fe80::1%0]:5", "[fe80::1%-1]:5", "host:5", "[host]:5",
		"1.2.3.4:-5", "1.2.3.4:+5", "1.2.3.4:000000000005",
		"[1234:5678:9abc:def0:1234:5678:9abc:def0:1]:5",
	};
	struct wg_endpoint a, b;
	char s[ENDPOINT_STR_MAX];
	uint8_t cb[18];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); ++i) {
		assert_true(endpoint_parse(&a, good[i], strlen(good[i])));
		endpoint_format(&a, s);
		assert_string_equal(s, good[i]);
		assert_true(endpoint_parse(&b, s, strlen(s)));
		assert_true(endpoint_equal(&a, &b));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i)
		if (endpoint_parse(&a, bad[i], strlen(bad[i])))
			fail_msg("accepted \"%s\"", bad[i]);
	/* an IPv4-mapped address is an IPv4 endpoint (v6 sockets are v6-only) */
	assert_true(endpoint_parse(&a, "[::ffff:1.2.3.4]:7", 18));
	assert_int_equal(a.family, IP_V4);
	endpoint_format(&a, s);
	assert_string_equal(s, "1.2.3.4:7");
	/* length is honoured: no NUL needed, and none accepted inside */
	assert_true(endpoint_parse(&a, "1.2.3.4:51820junk", 13));
	assert_false(endpoint_parse(&a, "1.2.3.4:5\0", 10));

	/* equality: family, address, port, scope; not the source fields */
	assert_true(endpoint_parse(&a, "[fe80::1%3]:9", 13));
	b = a;
	b.src_family = IP_V4;
	b.src_ifindex = 7;
	b.src_addr[0] = 1;
	assert_true(endpoint_equal(&a, &b));
	b = a;
	b.scope_id = 4;
	assert_false(endpoint_equal(&a, &b));
	b = a;
	b.port = 10;
	assert_false(endpoint_equal(&a, &b));
	b = a;
	b.addr[15] = 2;
	assert_false(endpoint_equal(&a, &b));
	assert_true(endpoint_parse(&b, "1.2.3.4:9", 9));
	assert_false(endpoint_equal(&a, &b));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	b.port = 3;
	assert_true(endpoint_equal(&a, &b));	/* both unset */
	endpoint_format(&a, s);
	assert_string_equal(s, "");

	/* cookie bytes: address then big-endian port */
	assert_true(endpoint_parse(&a, "1.2.3.4:258", 11));
	assert_int_equal(endpoint_cookie_bytes(&a, cb), 6);
	assert_memory_equal(cb, "\x01\x02\x03\x04\x01\x02", 6);
	assert_true(endpoint_parse(&a, "[::1]:65535", 11));
	assert_int_equal(endpoint_cookie_bytes(&a, cb), 18);
	assert_memory_equal(cb, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\xff\xff", 18);
	memset(&a, 0, sizeof(a));
	assert_int_equal(endpoint_cookie_bytes(&a, cb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_full),
		cmocka_unit_test(test_set_edges),
		cmocka_unit_test(test_set_null_ops),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_set_line_limit),
		cmocka_unit_test(test_set_callback_errors),
		cmocka_unit_test(test_get_exact),
		cmocka_unit_test(test_get_truncation),
		cmocka_unit_test(test_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
