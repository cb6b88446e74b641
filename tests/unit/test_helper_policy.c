/* test_helper_policy.c - what the privileged helper lets the engine do
 * (vpn/helper.h): framing checks of every request, and the policy: private
 * IPv4 and ULA /96 addresses that overlap no other interface, routes only
 * inside our subnet, exit routing only when asked for on the command line. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "os/linux/helper_proto.h"
#include "vpn/helper.h"

static struct helper_msg req(uint32_t type, uint8_t fam, const uint8_t *a, uint8_t cidr)
{
	struct helper_msg m;

	memset(&m, 0, sizeof(m));
	m.magic = HELPER_MAGIC;
	m.version = HELPER_VERSION;
	m.type = type;
	m.u.addr.family = fam;
	m.u.addr.cidr = cidr;
	if (a)
		memcpy(m.u.addr.addr, a, fam == 4 ? 4 : 16);
	return m;
}

static struct helper_policy pol(void)
{
	struct helper_policy p;
	static const uint8_t lan[4] = { 192, 168, 1, 0 };

	memset(&p, 0, sizeof(p));
	p.ifindex = 7;
	p.others[0].family = 4;
	p.others[0].cidr = 24;
	memcpy(p.others[0].addr, lan, 4);
	p.n_others = 1;
	return p;
}

static void test_framing(void **state)
{
	struct helper_msg m = req(HELPER_MTU_SET, 0, NULL, 0);

	(void)state;
	m.u.mtu = 1420;
	assert_true(helper_msg_valid(&m, sizeof(m)));
	assert_false(helper_msg_valid(&m, sizeof(m) - 1));
	m.u.mtu = 100;
	assert_false(helper_msg_valid(&m, sizeof(m)));
	m = req(HELPER_ADDR_SET, 5, NULL, 0);
	assert_false(helper_msg_valid(&m, sizeof(m)));
	m = req(HELPER_ADDR_SET, 4, NULL, 33);
	assert_false(helper_msg_valid(&m, sizeof(m)));
	m = req(999, 4, NULL, 24);
	assert_false(helper_msg_valid(&m, sizeof(m)));
	m = req(HELPER_ADDR_SET, 4, NULL, 24);
	m.magic = 0;
	assert_false(helper_msg_valid(&m, sizeof(m)));
	m = req(HELPER_EXIT_USE, 0, NULL, 0);
	m.u.exit_use.n_dns = HELPER_MAX_DNS + 1;
	assert_false(helper_msg_valid(&m, sizeof(m)));
}

static void test_addresses(void **state)
{
	struct helper_policy p = pol();
	char reason[HELPER_REASON_MAX];
	static const uint8_t cgnat[4] = { 100, 80, 0, 5 }, pub[4] = { 8, 8, 8, 8 };
	static const uint8_t lan[4] = { 192, 168, 1, 77 };
	static const uint8_t ula[16] = { 0xfd, 1, 2, 3, 4, 5 };
	static const uint8_t gua[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct helper_msg m;

	(void)state;
	m = req(HELPER_ADDR_SET, 4, cgnat, 16);
	assert_true(helper_policy_check(&p, &m, reason));
	m = req(HELPER_ADDR_SET, 4, cgnat, 4);
	assert_false(helper_policy_check(&p, &m, reason));
	m = req(HELPER_ADDR_SET, 4, pub, 24);
	assert_false(helper_policy_check(&p, &m, reason));
	assert_non_null(strstr(reason, "private"));
	/* overlaps the LAN of another interface */
	m = req(HELPER_ADDR_SET, 4, lan, 24);
	assert_false(helper_policy_check(&p, &m, reason));
	assert_non_null(strstr(reason, "overlaps"));
	m = req(HELPER_ADDR_SET, 6, ula, 96);
	assert_true(helper_policy_check(&p, &m, reason));
	m = req(HELPER_ADDR_SET, 6, ula, 64);
	assert_false(helper_policy_check(&p, &m, reason));
	m = req(HELPER_ADDR_SET, 6, gua, 96);
	assert_false(helper_policy_check(&p, &m, reason));
}

static void test_routes_and_exit(void **state)
{
	struct helper_policy p = pol();
	char reason[HELPER_REASON_MAX];
	static const uint8_t in[4] = { 100, 80, 3, 0 }, out[4] = { 100, 81, 0, 0 };
	static const uint8_t any[4];
	struct helper_msg m;

	(void)state;
	m = req(HELPER_ROUTE_ADD, 4, in, 24);
	assert_false(helper_policy_check(&p, &m, reason));	/* no address yet */
	p.has4 = true;
	p.addr4 = req(0, 4, (const uint8_t[]){ 100, 80, 0, 5 }, 16).u.addr;
	assert_true(helper_policy_check(&p, &m, reason));
	m = req(HELPER_ROUTE_ADD, 4, out, 16);
	assert_false(helper_policy_check(&p, &m, reason));
	m = req(HELPER_ROUTE_ADD, 4, any, 0);
	assert_false(helper_policy_check(&p, &m, reason));
	m = req(HELPER_ROUTE_DEL, 4, any, 1);
	assert_false(helper_policy_check(&p, &m, reason));
	m = req(HELPER_EXIT_USE, 0, NULL, 0);
	assert_false(helper_policy_check(&p, &m, reason));
	assert_non_null(strstr(reason, "--exit-node"));
	p.exit_allowed = true;
	assert_true(helper_policy_check(&p, &m, reason));
	m = req(HELPER_HELLO, 0, NULL, 0);
	assert_false(helper_policy_check(&p, &m, reason));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_routes_and_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
