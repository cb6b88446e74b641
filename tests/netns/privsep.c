/* privsep.c - the privilege split of a mesh node, without the mesh:
 * helper_spawn() as weft up does it, then, in the engine, the drop to
 * nobody with seccomp, and requests to the helper. Prints one line per
 * fact for privsep.sh to check:
 *   engine uid=N caps=0 nnp=1 seccomp=2 | self-addr=-EPERM
 *   addr-in-policy=0
 *   bad=<errno> <reason>          (mode: route | addr | garbage)
 * The helper ends on the bad request; its exit status is the process's. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/linux/helper_proto.h"
#include "os/linux/netlink.h"
#include "os/linux/privsep.h"
#include "vpn/helper.h"

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "route";
	char err[HELPER_REASON_MAX], perr[PRIVSEP_ERR_MAX], reason[HELPER_REASON_MAX];
	struct helper_conf hc;
	struct helper_msg hello, m;
	struct privsep_user u;
	struct nl nl;
	int sock, tun, r;
	uint8_t a[4] = { 100, 80, 0, 99 };

	memset(&hc, 0, sizeof(hc));
	snprintf(hc.ifname, sizeof(hc.ifname), "pp0");
	hc.mtu = 1420;
	if (privsep_lookup("nobody", &u, perr)) {
		fprintf(stderr, "%s\n", perr);
		return 2;
	}
	if (helper_spawn(&hc, &sock, &tun, &hello, err)) {
		fprintf(stderr, "spawn: %s\n", err);
		return 2;
	}
	/* The engine. */
	if (privsep_drop(&u, perr) || privsep_seccomp(perr)) {
		fprintf(stderr, "drop: %s\n", perr);
		return 3;
	}
	printf("engine uid=%u confined=%d\n", (unsigned)getuid(), privsep_confined());
	r = nl_open(&nl);
	if (!r) {
		r = nl_addr_add(&nl, hello.u.hello.ifindex, AF_INET, a, 24);
		nl_close(&nl);
	}
	printf("self-addr=%d\n", r);
	memset(&m, 0, sizeof(m));
	m.type = HELPER_ADDR_SET;
	m.u.addr.family = 4;
	m.u.addr.cidr = 24;
	memcpy(m.u.addr.addr, (uint8_t[]){ 100, 80, 0, 5 }, 4);
	printf("addr-in-policy=%d\n", helper_call(sock, &m, 5000, reason));
	fflush(stdout);
	memset(&m, 0, sizeof(m));
	if (!strcmp(mode, "route")) {
		m.type = HELPER_ROUTE_ADD;
		m.u.addr.family = 4;
		m.u.addr.cidr = 0;		/* the default route */
	} else if (!strcmp(mode, "addr")) {
		m.type = HELPER_ADDR_SET;
		m.u.addr.family = 4;
		m.u.addr.cidr = 16;
		memcpy(m.u.addr.addr, (uint8_t[]){ 8, 8, 0, 1 }, 4);
	} else if (!strcmp(mode, "exit")) {
		m.type = HELPER_EXIT_USE;
	} else {
		m.type = 999;
	}
	r = helper_call(sock, &m, 5000, reason);
	printf("bad=%d %s\n", r, reason);
	fflush(stdout);
	pause();
	return 0;
}
