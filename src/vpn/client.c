/* client.c - `weft client`, see client.h.
 *
 * States:
 *   ADMITTING    an admission request is out; retried with backoff until
 *                the server answers. Its answer configures the host the
 *                first time (addresses, routes, DNS) and starts a handshake.
 *   HANDSHAKING  waiting for the WireGuard handshake with the server.
 *   CONNECTED    a session exists. When handshakes go unanswered
 *                (CLIENT_LOST_ATTEMPTS retransmissions), or the network
 *                changes and the server stays silent, back to ADMITTING:
 *                a restarted server has forgotten us and admission is how
 *                it learns us again.
 * The kill switch is loaded before the first packet leaves and stays in
 * every state; routes and DNS stay too, so nothing leaks while
 * reconnecting. */
#define _GNU_SOURCE
#include "vpn/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/encoding.h"
#include "core/peer.h"
#include "crypto/ct.h"
#include "daemon/daemon.h"
#include "os/linux/clock.h"
#include "os/linux/firewall.h"
#include "os/linux/log.h"
#include "os/linux/netlink.h"
#include "vpn/backoff.h"
#include "vpn/hostdns.h"
#include "vpn/journal.h"
#include "vpn/pidfile.h"
#include "vpn/policy.h"

enum client_state { ADMITTING, HANDSHAKING, CONNECTED };

struct client {
	struct client_config *cfg;
	struct daemon *dm;
	bool dm_init;
	struct nl *nl;			/* requests */
	struct nl *mon;			/* change monitor */
	struct journal journal;
	bool journal_open;
	struct admission_client adm;
	bool adm_init;
	struct peer *server;
	struct wg_endpoint server_ep;
	struct policy policy;

	enum client_state state;
	struct backoff backoff;
	wg_time_t retry_at;		/* ADMITTING: next request */
	wg_time_t state_since;
	unsigned unanswered;		/* admission requests in a row */
	bool host_configured;
	struct ip_prefix addr4, addr6;	/* on the interface */
	uint64_t last_handshake_sec;
	char pidfile[PIDFILE_PATH_MAX];
	char server_str[300];
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int to_af(uint8_t family)
{
	return family == 4 ? AF_INET : AF_INET6;
}

/* ---- the server's address ---- */

static int resolve_server(struct client *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res, *ai;
	char port[8];
	int ret;

	snprintf(port, sizeof(port), "%u", c->cfg->server_port);
	ret = getaddrinfo(c->cfg->server_host, port, &hints, &res);
	if (ret) {
		log_err("cannot resolve %s: %s", c->cfg->server_host,
			gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	/* IPv4 first: the common case, and what wg-quick does. */
	for (int pass = 0; pass < 2; pass++) {
		for (ai = res; ai; ai = ai->ai_next) {
			struct wg_endpoint *e = &c->server_ep;

			memset(e, 0, sizeof(*e));
			if (pass == 0 && ai->ai_family == AF_INET) {
				const struct sockaddr_in *sin = (const void *)ai->ai_addr;

				e->family = IP_V4;
				e->port = ntohs(sin->sin_port);
				memcpy(e->addr, &sin->sin_addr, 4);
			} else if (pass == 1 && ai->ai_family == AF_INET6) {
				const struct sockaddr_in6 *sin6 = (const void *)ai->ai_addr;

				e->family = IP_V6;
				e->port = ntohs(sin6->sin6_port);
				e->scope_id = sin6->sin6_scope_id;
				memcpy(e->addr, &sin6->sin6_addr, 16);
			} else {
				continue;
			}
			freeaddrinfo(res);
			return 0;
		}
	}
	freeaddrinfo(res);
	log_err("%s has no usable address", c->cfg->server_host);
	return -EHOSTUNREACH;
}

/* ---- host configuration, journalled ---- */

/* Load (or, record false, reload) the kill switch: atomic in nftables,
 * so there is no moment without it. */
static int killswitch(struct client *c, bool record)
{
	struct fw_killswitch ks = { 0 };
	struct journal_entry e = { .kind = JOURNAL_NFT };
	struct ip_prefix lan[FW_MAX_LAN];
	struct fw_error ferr;
	char *script;
	int ret, n;

	snprintf(ks.ifname, sizeof(ks.ifname), "%s", c->cfg->ifname);
	ks.endpoints[0].family = c->server_ep.family == IP_V4 ? AF_INET : AF_INET6;
	memcpy(ks.endpoints[0].addr, c->server_ep.addr, 16);
	ks.endpoints[0].port = c->server_ep.port;
	ks.n_endpoints = 1;
	ks.fwmark = c->policy.fwmark;
	if (c->cfg->allow_lan) {
		ks.allow_lan = true;
		n = policy_local_prefixes(c->nl, c->dm_init ? c->dm->tun.ifindex : 0,
					  lan, FW_MAX_LAN);
		for (int i = 0; i < n; i++) {
			struct fw_prefix *p = &ks.lan[ks.n_lan++];

			p->family = to_af(lan[i].family);
			memcpy(p->addr, lan[i].addr, 16);
			p->len = lan[i].cidr;
		}
	}
	script = malloc(FW_SCRIPT_MAX);
	if (!script)
		return -ENOMEM;
	ret = fw_killswitch_script(&ks, script, FW_SCRIPT_MAX, &ferr);
	if (ret < 0) {
		log_err("cannot build the kill switch: %s", ferr.msg);
		free(script);
		return ret;
	}
	snprintf(e.u.ifname, sizeof(e.u.ifname), "%s", c->cfg->ifname);
	ret = record ? journal_record(&c->journal, &e) : 0;
	if (ret == 0)
		ret = fw_apply(script);
	free(script);
	if (ret < 0)
		log_err("cannot load the kill switch: %s%s",
			fw_last_error()[0] ? fw_last_error() : strerror(-ret),
			ret == -EPERM ? " (run as root)" : "");
	return ret;
}

static int set_addresses(struct client *c, const struct admission_grant *g)
{
	int idx = c->dm->tun.ifindex, ret;
	const struct ip_prefix *want[2] = { &g->address4, &g->address6 };
	struct ip_prefix *have[2] = { &c->addr4, &c->addr6 };

	for (int i = 0; i < 2; i++) {
		if (!memcmp(want[i], have[i], sizeof(*want[i])))
			continue;
		if (have[i]->family)
			(void)nl_addr_del(c->nl, idx, to_af(have[i]->family),
					  have[i]->addr, have[i]->cidr);
		memset(have[i], 0, sizeof(*have[i]));
		if (!want[i]->family)
			continue;
		ret = nl_addr_add(c->nl, idx, to_af(want[i]->family),
				  want[i]->addr, want[i]->cidr);
		if (ret < 0 && ret != -EEXIST) {
			log_err("cannot add the tunnel address to %s: %s",
				c->cfg->ifname, strerror(-ret));
			return ret;
		}
		*have[i] = *want[i];
	}
	return 0;
}

static int configure_host(struct client *c, const struct admission_grant *g)
{
	struct hostdns_server dns[ADMISSION_MAX_DNS];
	const struct ip_prefix *src = c->cfg->n_dns ? c->cfg->dns : g->dns;
	size_t n = c->cfg->n_dns ? c->cfg->n_dns : g->n_dns;
	enum hostdns_mode used;
	int ret;

	if ((ret = set_addresses(c, g)) < 0)
		return ret;
	if (c->host_configured)
		return 0;
	ret = policy_apply(c->nl, &c->journal, &c->policy);
	if (ret < 0) {
		log_err("cannot set up routing through %s: %s", c->cfg->ifname,
			strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < n; i++) {
		dns[i].family = to_af(src[i].family);
		memcpy(dns[i].addr, src[i].addr, 16);
	}
	if (n) {
		ret = hostdns_apply(&c->journal, c->cfg->ifname, dns, n,
				    HOSTDNS_AUTO, NULL, &used);
		if (ret < 0) {
			log_err("cannot point DNS at the tunnel: %s", strerror(-ret));
			return ret;
		}
	} else {
		log_warn("neither the server nor --dns names a DNS server: queries go to the current resolvers (through the tunnel unless they are on the LAN)");
	}
	c->host_configured = true;
	return 0;
}

/* ---- admission ---- */

static void enter(struct client *c, enum client_state st, wg_time_t now)
{
	c->state = st;
	c->state_since = now;
}

static void send_request(struct client *c, wg_time_t now)
{
	struct ip_prefix avoid[ADMISSION_MAX_PREFIXES];
	uint8_t msg[ADMISSION_REQUEST_LEN];
	int n = policy_local_prefixes(c->nl, c->dm->tun.ifindex, avoid,
				      ADMISSION_MAX_PREFIXES);

	if (n < 0)
		n = 0;
	if (!admission_request_create(msg, &c->adm, &c->dm->dev.local, avoid,
				      (size_t)n, now, &c->dm->dev.nops)) {
		log_err("cannot build an admission request");
		return;
	}
	device_send_control(&c->dm->dev, &c->server_ep, msg, sizeof(msg));
}

/* Go (back) to admission: a request now, and later ones with backoff. */
static void readmit(struct client *c, wg_time_t now, const char *reason)
{
	if (reason)
		say("reconnecting: %s", reason);
	enter(c, ADMITTING, now);
	c->unanswered = 0;
	backoff_reset(&c->backoff);
	send_request(c, now);
	c->retry_at = now + backoff_next(&c->backoff);
	c->dm->hooks.deadline = c->retry_at;
}

static const char *status_text(enum admission_status st)
{
	switch (st) {
	case ADMISSION_STATUS_OK:
		return "ok";
	case ADMISSION_STATUS_BAD_PASSCODE:
		return "server rejected the passcode";
	case ADMISSION_STATUS_POOL_FULL:
		return "server has no free tunnel address (its --pool is full)";
	case ADMISSION_STATUS_NOT_ALLOWED:
		return "server does not admit this key";
	case ADMISSION_STATUS_ADDRESS_CONFLICT:
		return "server's tunnel addresses overlap this machine's networks (change the server's --pool)";
	}
	return "unknown answer";
}

static void on_response(struct client *c, const struct pkt *k, wg_time_t now)
{
	struct admission_grant g;

	if (c->state != ADMITTING ||
	    !admission_response_consume(&c->adm, &c->dm->dev.local, pkt_cdata(k),
					k->len, &g))
		return;
	if (g.status != ADMISSION_STATUS_OK) {
		fprintf(stderr, "weft: %s\n", status_text(g.status));
		daemon_stop(c->dm, 1);
		return;
	}
	if (configure_host(c, &g) < 0) {
		daemon_stop(c->dm, 1);
		return;
	}
	c->unanswered = 0;
	enter(c, HANDSHAKING, now);
	/* The answer proves the server is there and knows us (again):
	 * handshake at once, not after the retransmission timer. */
	c->server->dev->now = now;
	c->server->have_sent_handshake = false;
	send_handshake_initiation(c->server, false);
	c->dm->hooks.deadline = now + NSEC_PER_SEC / 10;
}

static void on_cookie(struct client *c, const struct pkt *k, wg_time_t now)
{
	const struct message_handshake_cookie *m = (const void *)pkt_cdata(k);

	if (c->state != ADMITTING || !c->adm.waiting ||
	    k->len != sizeof(*m) ||
	    le32_load(m->receiver_index) != c->adm.sender_index ||
	    !cookie_message_consume(m, &c->adm.cookie, now))
		return;
	/* The server is under load: ask again, now with mac2. */
	send_request(c, now);
}

static void on_control(void *ctx, const struct pkt *k, enum device_control kind)
{
	struct client *c = ctx;
	wg_time_t now = clock_now();

	if (kind == DEVICE_CONTROL_ADMISSION_RESPONSE)
		on_response(c, k, now);
	else if (kind == DEVICE_CONTROL_COOKIE_REPLY)
		on_cookie(c, k, now);
}

/* ---- the clock ---- */

static void print_connected(struct client *c)
{
	char a4[ADDRPOOL_PREFIX_STR_MAX] = "-", a6[ADDRPOOL_PREFIX_STR_MAX] = "-";

	if (c->addr4.family)
		addrpool_prefix_format(&c->addr4, a4);
	if (c->addr6.family)
		addrpool_prefix_format(&c->addr6, a6);
	say("connected: address %s %s via %s", a4, a6, c->server_str);
}

static void on_tick(void *ctx, wg_time_t now)
{
	struct client *c = ctx;
	struct peer *p = c->server;

	switch (c->state) {
	case ADMITTING:
		if (now < c->retry_at)
			break;
		c->unanswered++;
		if (c->unanswered == CLIENT_HINT_ATTEMPTS)
			say("no answer from %s: check the server's public key, that it runs, and that UDP port %u reaches it",
			    c->server_str, c->cfg->server_port);
		send_request(c, now);
		wg_time_t d = backoff_next(&c->backoff);

		c->retry_at = now + d;
		say("reconnecting in %llu s: no answer from the server",
		    (unsigned long long)((d + NSEC_PER_SEC / 2) / NSEC_PER_SEC));
		break;
	case HANDSHAKING:
	case CONNECTED:
		if (p->last_handshake_sec != c->last_handshake_sec &&
		    p->current != KP_NONE) {
			c->last_handshake_sec = p->last_handshake_sec;
			if (c->state == HANDSHAKING) {
				enter(c, CONNECTED, now);
				backoff_reset(&c->backoff);
				print_connected(c);
			}
		}
		if (p->timers.handshake_attempts >= CLIENT_LOST_ATTEMPTS)
			readmit(c, now, c->state == CONNECTED
				? "the server stopped answering"
				: "the handshake went unanswered");
		break;
	}
	if (c->state == ADMITTING)
		c->dm->hooks.deadline = c->retry_at;
	else if (c->state == HANDSHAKING)
		c->dm->hooks.deadline = now + NSEC_PER_SEC / 10;
}

/* Links, addresses or routes changed: the way to the server may have too.
 * Send a handshake now (the engine then uses the new source), or, while
 * admitting, ask again at once rather than after the backoff. */
static void on_fd(void *ctx, int fd, uint32_t events)
{
	struct client *c = ctx;
	wg_time_t now = clock_now();
	unsigned changed;

	(void)events;
	if (fd != nl_fd(c->mon))
		return;
	changed = nl_monitor_read(c->mon);
	if (!(changed & (NL_CHANGED_LINK | NL_CHANGED_ADDR | NL_CHANGED_ROUTE)))
		return;
	/* --allow-lan means the LANs of now, not of the start. */
	if (c->cfg->killswitch && c->cfg->allow_lan &&
	    (changed & (NL_CHANGED_LINK | NL_CHANGED_ADDR)) &&
	    killswitch(c, false) < 0)
		log_warn("the kill switch keeps its previous LAN list");
	if (c->state == ADMITTING) {
		if (now + NSEC_PER_SEC < c->retry_at) {
			backoff_reset(&c->backoff);
			c->retry_at = now + NSEC_PER_SEC / 4;
			c->dm->hooks.deadline = c->retry_at;
		}
	} else if (c->state == CONNECTED &&
		   now > c->state_since + NSEC_PER_SEC) {
		/* At most one per REKEY_TIMEOUT: the engine limits it. */
		c->server->dev->now = now;
		send_handshake_initiation(c->server, true);
	}
}

/* ---- start and stop ---- */

static int add_server_peer(struct client *c)
{
	static const uint8_t any[16];
	struct device *d = &c->dm->dev;
	int err = 0;

	c->server = device_add_peer(d, c->cfg->server_public, &err);
	if (!c->server) {
		log_err(err == -EINVAL ? "the server's key is this client's own key"
				       : "out of memory");
		return err ? err : -ENOMEM;
	}
	if (allowedips_insert(&d->allowedips, IP_V4, any, 0, c->server) ||
	    allowedips_insert(&d->allowedips, IP_V6, any, 0, c->server))
		return -ENOMEM;
	peer_set_endpoint(c->server, &c->server_ep);
	peer_set_persistent_keepalive(c->server, CLIENT_KEEPALIVE_SEC, clock_now());
	return 0;
}

static int start(struct client *c)
{
	struct client_config *cfg = c->cfg;
	uint8_t kpass[ADMISSION_KEY_LEN];
	uint64_t seed;
	int ret;

	ret = journal_undo(cfg->state_dir, cfg->ifname);
	if (ret > 0)
		say("put back what an earlier run on %s left behind", cfg->ifname);
	else if (ret < 0)
		log_warn("could not undo everything an earlier run on %s left (weft cleanup %s)",
			 cfg->ifname, cfg->ifname);
	/* Before the kill switch: a name needs the system's resolver. */
	if ((ret = resolve_server(c)) < 0)
		return ret;
	endpoint_format(&c->server_ep, c->server_str);
	if ((ret = nl_open(c->nl)) < 0) {
		log_err("cannot open netlink: %s", strerror(-ret));
		return ret;
	}
	if ((ret = journal_open(&c->journal, cfg->state_dir, cfg->ifname)) < 0) {
		log_err("cannot create the undo journal in %s: %s", cfg->state_dir,
			strerror(-ret));
		return ret;
	}
	c->journal_open = true;
	if ((ret = policy_choose(c->nl, &c->policy)) < 0) {
		log_err("cannot choose a routing table and firewall mark: %s",
			strerror(-ret));
		return ret;
	}
	c->policy.v4 = c->policy.v6 = true;
	if (cfg->killswitch && (ret = killswitch(c, true)) < 0)
		return ret;

	c->dm_init = true;
	if ((ret = daemon_init(c->dm, cfg->ifname)) < 0)
		return ret;
	c->policy.ifindex = c->dm->tun.ifindex;
	c->dm->dev.fwmark = c->policy.fwmark;
	if (!device_set_private_key(&c->dm->dev, cfg->private_key)) {
		log_err("the private key is not usable");
		return -EINVAL;
	}
	/* The tunnel's own packets carry the mark: they take the main table,
	 * and the kill switch lets exactly them reach the server. */
	if ((ret = udp_set_fwmark(&c->dm->udp, c->policy.fwmark)) < 0) {
		log_err("cannot mark the tunnel's packets: %s", strerror(-ret));
		return ret;
	}
	if ((ret = add_server_peer(c)) < 0)
		return ret;
	if ((ret = nl_link_set_mtu(c->nl, c->policy.ifindex, (int)cfg->mtu)) < 0 ||
	    (ret = nl_link_set_up(c->nl, c->policy.ifindex, true)) < 0) {
		log_err("cannot bring %s up: %s", cfg->ifname, strerror(-ret));
		return ret;
	}
	c->dm->dev.mtu = cfg->mtu;

	if (cfg->has_passcode &&
	    !admission_passcode_key(kpass, cfg->passcode, strlen(cfg->passcode),
				    cfg->server_public, NULL)) {
		log_err("cannot derive the passcode key (out of memory?)");
		return -ENOMEM;
	}
	c->adm_init = admission_client_init(&c->adm, &c->dm->dev.local,
					    cfg->server_public,
					    cfg->has_passcode ? kpass : NULL);
	crypto_wipe(kpass, sizeof(kpass));
	if (!c->adm_init)
		return -EINVAL;
	if ((ret = nl_monitor_open(c->mon)) < 0 ||
	    (ret = daemon_watch(c->dm, nl_fd(c->mon))) < 0)
		log_warn("cannot watch for network changes (%s): reconnects after them will be slower",
			 strerror(-ret));
	if (pidfile_write(cfg->run_dir, cfg->ifname, c->pidfile) < 0)
		log_warn("cannot write %s/%s.pid: weft down will not find this client",
			 cfg->run_dir, cfg->ifname);
	crypto_random(&seed, sizeof(seed));
	backoff_init(&c->backoff, (wg_time_t)CLIENT_RETRY_BASE_MS * 1000000,
		     (wg_time_t)CLIENT_RETRY_CAP_MS * 1000000, seed);
	return 0;
}

static void stop(struct client *c)
{
	int ret;

	pidfile_remove(c->pidfile);
	/* The interface goes first, with its addresses and routes; then the
	 * journal, newest change first: DNS, rules, sysctls, kill switch. */
	if (c->dm_init)
		daemon_destroy(c->dm);
	nl_close(c->mon);
	if (c->journal_open) {
		journal_close(&c->journal);
		ret = journal_undo(c->cfg->state_dir, c->cfg->ifname);
		if (ret < 0)
			log_err("could not put everything back; run: weft cleanup %s",
				c->cfg->ifname);
	}
	nl_close(c->nl);
	if (c->adm_init)
		admission_client_clear(&c->adm);
}

int client_run(struct client_config *cfg)
{
	struct client c = { .cfg = cfg };
	struct daemon_hooks hooks = {
		.control_rx = on_control, .tick = on_tick, .fd_event = on_fd,
	};
	int status = 1;

	c.dm = calloc(1, sizeof(*c.dm));
	c.nl = calloc(1, sizeof(*c.nl));
	c.mon = calloc(1, sizeof(*c.mon));
	if (c.dm && c.nl && c.mon && start(&c) == 0) {
		hooks.ctx = &c;
		daemon_set_hooks(c.dm, &hooks);
		say("connecting to %s", c.server_str);
		readmit(&c, clock_now(), NULL);
		status = daemon_run(c.dm);
		if (c.state == CONNECTED || status == 0)
			say("disconnecting");
	} else if (!c.dm || !c.nl || !c.mon) {
		log_err("out of memory");
	}
	if (c.dm && c.nl && c.mon)
		stop(&c);
	crypto_wipe(cfg->private_key, sizeof(cfg->private_key));
	crypto_wipe(cfg->passcode, sizeof(cfg->passcode));
	free(c.dm);
	free(c.nl);
	free(c.mon);
	return status;
}
