/* test_stun.c - STUN Binding requests and answers: round trips, the
 * RFC 5769 sample answers, and messages a client or server must refuse. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mesh/stun.h"

static const uint8_t txid[STUN_TXID_LEN] = {
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
};

static struct wg_endpoint ep4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
			      uint16_t port)
{
	struct wg_endpoint e = { .family = IP_V4, .port = port };

	e.addr[0] = a;
	e.addr[1] = b;
	e.addr[2] = c;
	e.addr[3] = d;
	return e;
}

static struct wg_endpoint ep6(const uint8_t addr[16], uint16_t port)
{
	struct wg_endpoint e = { .family = IP_V6, .port = port };

	memcpy(e.addr, addr, 16);
	return e;
}

static const uint8_t v6_sample[16] = {
	0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
};

static void test_request_round_trip(void **state)
{
	uint8_t buf[STUN_REQUEST_MAX], got[STUN_TXID_LEN];
	bool change = true;
	size_t n;

	(void)state;
	n = stun_request(buf, txid, false);
	assert_int_equal(n, STUN_HEADER_LEN);
	assert_true(stun_is(buf, n));
	assert_int_equal(stun_parse_request(buf, n, got, &change), 0);
	assert_memory_equal(got, txid, sizeof(got));
	assert_false(change);

	/* CHANGE-REQUEST with the change-port bit. */
	n = stun_request(buf, txid, true);
	assert_int_equal(n, STUN_REQUEST_MAX);
	assert_true(stun_is(buf, n));
	assert_int_equal(stun_parse_request(buf, n, got, &change), 0);
	assert_true(change);
	/* Change-IP only (0x04) is not a change of port. */
	buf[27] = 0x04;
	assert_int_equal(stun_parse_request(buf, n, got, &change), 0);
	assert_false(change);
	/* A request is not an answer. */
	{
		struct wg_endpoint e;

		assert_int_equal(stun_parse_response(buf, n, got, &e), -EINVAL);
	}
}

static void round_trip(const struct wg_endpoint *mapped,
		       const struct wg_endpoint *other)
{
	uint8_t buf[STUN_RESPONSE_MAX], got[STUN_TXID_LEN];
	struct wg_endpoint e;
	bool change;
	size_t n;

	n = stun_response(buf, txid, mapped, other);
	assert_true(n <= STUN_RESPONSE_MAX);
	assert_true(stun_is(buf, n));
	memset(&e, 0xee, sizeof(e));
	assert_int_equal(stun_parse_response(buf, n, got, &e), 0);
	assert_memory_equal(got, txid, sizeof(got));
	assert_true(endpoint_equal(&e, mapped));
	assert_false(e.relay);
	assert_int_equal(e.src_family, 0);
	/* An answer is not a request. */
	assert_int_equal(stun_parse_request(buf, n, got, &change), -EINVAL);
}

static void test_response_round_trip(void **state)
{
	struct wg_endpoint m4 = ep4(203, 0, 113, 7, 51820);
	struct wg_endpoint m6 = ep6(v6_sample, 1);
	struct wg_endpoint o4 = ep4(198, 51, 100, 1, 3479);
	struct wg_endpoint o6 = ep6(v6_sample, 3479);

	(void)state;
	round_trip(&m4, NULL);
	round_trip(&m6, NULL);
	round_trip(&m4, &o4);
	round_trip(&m4, &o6);
	round_trip(&m6, &o4);
	round_trip(&m6, &o6);
	/* Extremes of the port XOR. */
	m4.port = 0;
	round_trip(&m4, NULL);
	m4.port = 0xffff;
	round_trip(&m4, NULL);
}

/* RFC 5769 2.2: sample IPv4 response (SOFTWARE, XOR-MAPPED-ADDRESS,
 * MESSAGE-INTEGRITY, FINGERPRINT): 192.0.2.1 port 32853. */
static const uint8_t rfc5769_v4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
	0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47,
	0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
	0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
	0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 2.3: sample IPv6 response: 2001:db8:1234:5678:11:2233:4455:6677
 * port 32853. */
static const uint8_t rfc5769_v6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42,
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
	0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47,
	0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79,
	0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e,
	0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c,
	0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static void test_rfc5769_vectors(void **state)
{
	struct wg_endpoint e, want4 = ep4(192, 0, 2, 1, 32853);
	struct wg_endpoint want6 = ep6(v6_sample, 32853);
	uint8_t got[STUN_TXID_LEN];

	(void)state;
	assert_true(stun_is(rfc5769_v4, sizeof(rfc5769_v4)));
	assert_int_equal(stun_parse_response(rfc5769_v4, sizeof(rfc5769_v4),
					     got, &e), 0);
	assert_memory_equal(got, txid, sizeof(got));
	assert_true(endpoint_equal(&e, &want4));

	assert_true(stun_is(rfc5769_v6, sizeof(rfc5769_v6)));
	assert_int_equal(stun_parse_response(rfc5769_v6, sizeof(rfc5769_v6),
					     got, &e), 0);
	assert_memory_equal(got, txid, sizeof(got));
	assert_true(endpoint_equal(&e, &want6));

	/* Our own encoding of the same answer carries the same attribute. */
	{
		uint8_t buf[STUN_RESPONSE_MAX];
		size_t n = stun_response(buf, txid, &want4, NULL);

		assert_int_equal(n, STUN_HEADER_LEN + 12);
		assert_memory_equal(buf + STUN_HEADER_LEN, rfc5769_v4 + 36, 12);
		n = stun_response(buf, txid, &want6, NULL);
		assert_int_equal(n, STUN_HEADER_LEN + 24);
		assert_memory_equal(buf + STUN_HEADER_LEN, rfc5769_v6 + 36, 24);
	}
}

/* An old server's MAPPED-ADDRESS; XOR-MAPPED-ADDRESS wins when both are
 * there, in either order. */
static void test_mapped_address(void **state)
{
	uint8_t buf[64], got[STUN_TXID_LEN];
	struct wg_endpoint e, want = ep4(192, 0, 2, 1, 32853);
	static const uint8_t plain[12] = {
		0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x12, 0x34, 10, 0, 0, 1,
	};
	size_t n;

	(void)state;
	/* MAPPED-ADDRESS alone. */
	memcpy(buf, rfc5769_v4, 20);
	memcpy(buf + 20, plain, 12);
	buf[3] = 12;
	assert_int_equal(stun_parse_response(buf, 32, got, &e), 0);
	assert_int_equal(e.family, IP_V4);
	assert_int_equal(e.port, 0x1234);
	assert_memory_equal(e.addr, ((uint8_t[]){ 10, 0, 0, 1 }), 4);

	/* MAPPED then XOR-MAPPED, and XOR-MAPPED then MAPPED. */
	memcpy(buf + 32, rfc5769_v4 + 36, 12);
	buf[3] = 24;
	n = 44;
	assert_int_equal(stun_parse_response(buf, n, got, &e), 0);
	assert_true(endpoint_equal(&e, &want));
	memcpy(buf + 20, rfc5769_v4 + 36, 12);
	memcpy(buf + 32, plain, 12);
	assert_int_equal(stun_parse_response(buf, n, got, &e), 0);
	assert_true(endpoint_equal(&e, &want));
}

static void test_rejects(void **state)
{
	uint8_t buf[128], got[STUN_TXID_LEN];
	struct wg_endpoint e;
	bool change;
	size_t n = sizeof(rfc5769_v4);

	(void)state;
	/* Shorter than a header, and every truncation of a good answer
	 * (the length then no longer matches). */
	for (size_t i = 0; i < n; i++) {
		assert_false(stun_is(rfc5769_v4, i));
		assert_int_equal(stun_parse_response(rfc5769_v4, i, got, &e),
				 -EINVAL);
	}
	/* Wrong cookie. */
	memcpy(buf, rfc5769_v4, n);
	buf[7] ^= 1;
	assert_false(stun_is(buf, n));
	assert_int_equal(stun_parse_response(buf, n, got, &e), -EINVAL);
	/* Leading bits set (a WireGuard or weft message, say). */
	memcpy(buf, rfc5769_v4, n);
	buf[0] |= 0x40;
	assert_int_equal(stun_parse_response(buf, n, got, &e), -EINVAL);
	/* Length not a multiple of 4, or not the datagram's. */
	memcpy(buf, rfc5769_v4, n);
	buf[3] = 0x3d;
	assert_false(stun_is(buf, n));
	buf[3] = 0x38;
	assert_false(stun_is(buf, n));
	assert_int_equal(stun_parse_response(buf, n, got, &e), -EINVAL);

	/* Not a Binding success: error answer, indication, request. */
	static const uint16_t types[] = { 0x0111, 0x0011, 0x0001, 0x0102, 0x0100 };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memcpy(buf, rfc5769_v4, n);
		buf[0] = (uint8_t)(types[i] >> 8);
		buf[1] = (uint8_t)types[i];
		assert_int_equal(stun_parse_response(buf, n, got, &e), -EINVAL);
	}

	/* An attribute whose length runs past the end. */
	memcpy(buf, rfc5769_v4, n);
	buf[22] = 0x01;		/* SOFTWARE: 0x10b bytes */
	assert_true(stun_is(buf, n));
	assert_int_equal(stun_parse_response(buf, n, got, &e), -EINVAL);
	memcpy(buf, rfc5769_v4, n);
	buf[n - 5] = 0x05;	/* FINGERPRINT: 5 bytes, 4 there */
	assert_int_equal(stun_parse_response(buf, n, got, &e), -EINVAL);

	/* Truncated attributes: the body ends inside the XOR-MAPPED-ADDRESS
	 * (header says 8, 4 there). */
	memcpy(buf, rfc5769_v4, 44);
	buf[3] = 20;
	assert_int_equal(stun_parse_response(buf, 40, got, &e), -EINVAL);
	/* No mapped address at all. */
	memcpy(buf, rfc5769_v4, 36);
	buf[3] = 16;
	assert_int_equal(stun_parse_response(buf, 36, got, &e), -EINVAL);

	/* Wrong family lengths: IPv4 with 20 bytes, IPv6 with 8, an unknown
	 * family; a lone such attribute is no address. */
	memcpy(buf, rfc5769_v4, 20);
	memcpy(buf + 20, rfc5769_v4 + 36, 12);
	buf[3] = 12;
	buf[25] = 0x02;			/* IPv6 in 8 bytes */
	assert_int_equal(stun_parse_response(buf, 32, got, &e), -EINVAL);
	buf[25] = 0x03;			/* no such family */
	assert_int_equal(stun_parse_response(buf, 32, got, &e), -EINVAL);
	memcpy(buf, rfc5769_v6, 20);
	memcpy(buf + 20, rfc5769_v6 + 36, 24);
	buf[3] = 24;
	assert_int_equal(stun_parse_response(buf, 44, got, &e), 0);
	buf[25] = 0x01;			/* IPv4 in 20 bytes */
	assert_int_equal(stun_parse_response(buf, 44, got, &e), -EINVAL);
	buf[25] = 0x02;
	buf[23] = 0x10;			/* IPv6 in 16 bytes */
	assert_int_equal(stun_parse_response(buf, 44, got, &e), -EINVAL);

	/* Requests: wrong cookie, wrong type, attribute past the end. */
	n = stun_request(buf, txid, true);
	buf[4] ^= 0x80;
	assert_int_equal(stun_parse_request(buf, n, got, &change), -EINVAL);
	n = stun_request(buf, txid, true);
	buf[1] = 0x11;			/* Binding indication */
	assert_int_equal(stun_parse_request(buf, n, got, &change), -EINVAL);
	n = stun_request(buf, txid, true);
	buf[23] = 8;
	assert_int_equal(stun_parse_request(buf, n, got, &change), -EINVAL);
	n = stun_request(buf, txid, true);
	assert_int_equal(stun_parse_request(buf, n - 4, got, &change), -EINVAL);
	/* A CHANGE-REQUEST of the wrong length is ignored. */
	n = stun_request(buf, txid, true);
	buf[23] = 0;
	buf[3] = 4;
	assert_int_equal(stun_parse_request(buf, 24, got, &change), 0);
	assert_false(change);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_response_round_trip),
		cmocka_unit_test(test_rfc5769_vectors),
		cmocka_unit_test(test_mapped_address),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
