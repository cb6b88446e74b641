/* node.c - the engine of a team mesh node (node.h). */
#define _GNU_SOURCE
#include "mesh/node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "core/allowedips.h"
#include "core/peer.h"
#include "core/relay.h"
#include "crypto/x25519.h"
#include "daemon/daemon.h"
#include "mesh/announce.h"
#include "mesh/envelope.h"
#include "mesh/hubclient.h"
#include "mesh/meshview.h"
#include "mesh/netmon.h"
#include "mesh/reach.h"
#include "os/linux/clock.h"
#include "os/linux/helper_proto.h"
#include "os/linux/log.h"
#include "os/linux/netlink.h"
#include "vpn/backoff.h"
#include "vpn/ctl.h"

enum {
	LOCAL_MAX = 16,		/* our own addresses considered */
	HELPER_TIMEOUT_MS = 10000,
	CTL_CLIENTS = 4,
};

struct local_addr {
	uint8_t family;		/* 4 or 6 */
	uint8_t cidr;
	uint8_t addr[16];
};

struct node_peer {
	bool present;
	struct peer *p;
	uint8_t wg[32];
	uint8_t ip[4];
	bool exit;		/* carries 0/0 and ::/0 */
	struct reach_peer rp;	/* its paths */
	enum path_kind logged;	/* the path last logged */
	struct wg_endpoint logged_ep;
};

struct node {
	struct node_config *cfg;
	struct daemon dm;
	struct meshview view;
	struct hubclient hub;
	int ctl_fd;
	int state_fd;		/* our state directory, opened before the drop */
	bool synced;		/* the first events answer was processed */
	unsigned applied_gen;

	/* our address */
	bool has_ip;
	struct mesh_ip4 ip;
	uint64_t claim;		/* message id of our first claim of ip */
	bool printed_up;

	/* our announcement */
	struct local_addr locals[LOCAL_MAX];
	unsigned n_locals;
	struct wg_endpoint cands[MESH_MAX_ENDPOINTS];
	unsigned n_cands;
	bool ann_inflight, ann_wanted;
	uint64_t last_ann_ms;	/* wall */
	uint64_t last_ann_time;	/* the time field we last used */
	bool refused_logged;	/* "not in the roster" said */
	bool ann_err_logged;	/* an announcement failure said */

	bool serving;		/* the helper forwards for the mesh (exit) */
	int using;		/* index+1 of the exit peer in use, 0 none */
	struct ip_prefix dns[4];	/* our resolvers, announced as an exit */
	unsigned n_dns;
	struct wg_endpoint ks_eps[HELPER_MAX_PREFIXES];	/* in the kill switch */
	unsigned n_ks_eps;

	struct node_peer *peers;	/* parallel to view.roster.devices */
	unsigned n_peers;
	uint8_t wg_pub[32];

	/* reachability: relays, STUN, probes (mesh/reach.h) */
	struct reach reach;
	uint64_t servers_of;	/* roster version reach has the servers of */
	struct wg_endpoint up_relays[MESH_MAX_RELAYS];	/* registered, last seen */
	unsigned n_up_relays;
	int mon_fd;		/* netlink: address and route changes */
	wg_time_t net_check_at;	/* 0: no change pending */
};

/* ---- helper requests ---- */

static int helper_addr(struct node *n, struct mesh_ip4 ip, char reason[HELPER_REASON_MAX])
{
	const struct mesh_range *r = &n->view.roster.range;
	struct helper_msg m;
	int err;

	memset(&m, 0, sizeof(m));
	m.type = HELPER_ADDR_SET;
	m.u.addr.family = 4;
	m.u.addr.cidr = r->cidr;
	memcpy(m.u.addr.addr, ip.b, 4);
	err = helper_call(n->cfg->helper_sock, &m, HELPER_TIMEOUT_MS, reason);
	if (err || !r->has6)
		return err;
	memset(&m, 0, sizeof(m));
	m.type = HELPER_ADDR_SET;
	m.u.addr.family = 6;
	m.u.addr.cidr = 96;
	mesh_range_ip6(r, ip, m.u.addr.addr);
	return helper_call(n->cfg->helper_sock, &m, HELPER_TIMEOUT_MS, reason);
}

/* ---- local candidates ---- */

static int collect_local(const struct nl_addr *a, void *arg)
{
	struct node *n = arg;
	struct local_addr *l;

	if (n->n_locals >= LOCAL_MAX || a->ifindex == n->dm.tun.ifindex ||
	    a->scope != 0 /* RT_SCOPE_UNIVERSE */)
		return 0;
	if (a->has_ifflags && (!(a->ifflags & 1) || (a->ifflags & 8) /* LOOPBACK */))
		return 0;
	l = &n->locals[n->n_locals++];
	l->family = a->family == AF_INET ? 4 : 6;
	l->cidr = a->prefixlen;
	memcpy(l->addr, a->addr, l->family == 4 ? 4 : 16);
	return 0;
}

/* Our addresses and candidates, read again; true when they changed. */
static bool refresh_locals(struct node *n)
{
	struct wg_endpoint old[MESH_MAX_ENDPOINTS];
	unsigned old_n = n->n_cands, i;
	struct nl nl;

	memcpy(old, n->cands, sizeof(old));
	n->n_locals = 0;
	if (nl_open(&nl) == 0) {
		(void)nl_addr_list(&nl, AF_INET, collect_local, n);
		(void)nl_addr_list(&nl, AF_INET6, collect_local, n);
		nl_close(&nl);
	}
	n->n_cands = 0;
	for (i = 0; i < n->n_locals && n->n_cands < MESH_MAX_ENDPOINTS; i++) {
		struct wg_endpoint *e = &n->cands[n->n_cands++];

		memset(e, 0, sizeof(*e));
		e->family = n->locals[i].family == 4 ? IP_V4 : IP_V6;
		e->port = n->dm.udp.port;
		memcpy(e->addr, n->locals[i].addr, n->locals[i].family == 4 ? 4 : 16);
	}
	/* Where STUN and the relays saw us: behind a NAT, its mapping. */
	for (i = 0; i < n->reach.n_publics && n->n_cands < MESH_MAX_ENDPOINTS; i++) {
		unsigned j;

		for (j = 0; j < n->n_cands; j++)
			if (endpoint_equal(&n->cands[j], &n->reach.publics[i]))
				break;
		if (j == n->n_cands)
			n->cands[n->n_cands++] = n->reach.publics[i];
	}
	if (old_n != n->n_cands)
		return true;
	for (i = 0; i < old_n; i++)
		if (!endpoint_equal(&old[i], &n->cands[i]))
			return true;
	return false;
}

static bool on_our_subnet(const struct node *n, const struct wg_endpoint *e)
{
	if (e->relay)
		return false;
	unsigned i, b;

	for (i = 0; i < n->n_locals; i++) {
		const struct local_addr *l = &n->locals[i];
		unsigned cidr = l->cidr, len = l->family == 4 ? 4 : 16;
		bool same = (l->family == 4) == (e->family == IP_V4);

		for (b = 0; same && b < len && b * 8 < cidr; b++) {
			unsigned bits = cidr - b * 8 >= 8 ? 8 : cidr - b * 8;
			uint8_t m = (uint8_t)(0xff << (8 - bits));

			same = (l->addr[b] & m) == (e->addr[b] & m);
		}
		if (same)
			return true;
	}
	return false;
}

/* ---- announcing ---- */

static void announce(struct node *n)
{
	const struct roster_device *self = meshview_self_entry(&n->view);
	struct announce a;
	char *body = NULL, *env = NULL;
	size_t len;
	uint64_t now = clock_wall_ms();

	if (!self || n->ann_inflight)
		return;
	memset(&a, 0, sizeof(a));
	snprintf(a.network, sizeof(a.network), "%s", n->view.network);
	memcpy(a.device, n->cfg->id_pk, 32);
	memcpy(a.wg, n->wg_pub, 32);
	memcpy(a.endpoints, n->cands, sizeof(a.endpoints));
	a.n_endpoints = n->n_cands;
	a.n_relays = reach_relays(&n->reach, a.relays, MESH_MAX_RELAYS);
	if (!self->has_ip && n->has_ip) {
		a.has_ip = true;
		a.ip = n->ip;
		a.claim = n->claim;
	}
	if (self->exit) {
		memcpy(a.dns, n->dns, sizeof(a.dns));
		a.n_dns = n->n_dns;
	}
	a.time_ms = now > n->last_ann_time ? now : n->last_ann_time + 1;
	a.expires_s = a.time_ms / 1000 + MESH_ANNOUNCE_TTL_S;
	if (announce_serialize(&a, &body, &len) ||
	    envelope_seal(ENV_ANNOUNCE, n->cfg->id_sk, body, len, &env)) {
		free(body);
		log_err("cannot build the announcement: out of memory");
		return;
	}
	free(body);
	n->last_ann_time = a.time_ms;
	n->last_ann_ms = now;
	n->ann_inflight = true;
	n->ann_wanted = false;
	hubclient_announce(&n->hub, env);
}

static uint32_t rnd32(void *arg)
{
	(void)arg;
	return randombytes_random();
}

/* ---- applying the view ---- */

static void set_address(struct node *n, struct mesh_ip4 ip, bool dynamic)
{
	char reason[HELPER_REASON_MAX], s[16];

	if (n->has_ip && !memcmp(n->ip.b, ip.b, 4))
		return;
	if (helper_addr(n, ip, reason)) {
		mesh_ip4_format(ip, s);
		log_err("cannot set address %s: %s", s, reason);
		daemon_stop(&n->dm, 1);
		return;
	}
	n->has_ip = true;
	n->ip = ip;
	n->claim = 0;
	mesh_ip4_format(ip, s);
	printf("address %s\n", s);
	fflush(stdout);
	if (dynamic) {
		/* Reused at the next start while it is still free. */
		int fd = openat(n->state_fd, "address.tmp",
				O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd >= 0) {
			bool ok = dprintf(fd, "%s\n", s) > 0 && fsync(fd) == 0;

			close(fd);
			if (!ok || renameat(n->state_fd, "address.tmp", n->state_fd, "address"))
				log_warn("cannot save the address in %s", n->cfg->state_dir);
		}
	}
	n->ann_wanted = true;
}

static bool load_previous(const struct node *n, struct mesh_ip4 *ip)
{
	char buf[32] = "";
	int fd = openat(n->state_fd, "address", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t got;

	if (fd < 0)
		return false;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[got > 0 ? got : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return mesh_ip4_parse(ip, buf);
}

static void choose_address(struct node *n)
{
	const struct roster_device *self = meshview_self_entry(&n->view);
	struct mesh_ip4 prev, ip;
	bool have_prev;

	if (!self || !n->synced)
		return;
	if (self->has_ip) {
		set_address(n, self->ip, false);
		return;
	}
	if (n->has_ip && mesh_range_usable(&n->view.roster.range, n->ip)) {
		const struct mv_device *me = meshview_self_state(&n->view);
		bool seen = me && me->announced && me->ann.has_ip &&
			    !memcmp(me->ann.ip.b, n->ip.b, 4);
		char s[16];

		/* Our claim of this address is in the view: keep it if it won.
		 * Not yet: keep it while no one else claims it. */
		if (seen ? me->has_ip && !memcmp(me->ip.b, n->ip.b, 4)
			 : !meshview_ip_taken(&n->view, n->ip))
			return;
		mesh_ip4_format(n->ip, s);
		log_info("address %s is claimed by a device that claimed it first; "
			 "picking another", s);
	}
	have_prev = !n->has_ip && load_previous(n, &prev);
	if (meshview_pick_ip(&n->view, have_prev ? &prev : NULL, rnd32, NULL, &ip)) {
		log_err("no free address left in the network's range");
		return;
	}
	set_address(n, ip, true);
}

static const char *peer_name(const struct roster_device *d, char out[2 * MESH_NAME_MAX])
{
	snprintf(out, 2 * MESH_NAME_MAX, "%.63s/%.63s", d->owner, d->name);
	return out;
}

static bool is_exit_choice(const struct node *n, const struct roster_device *d)
{
	char full[2 * MESH_NAME_MAX];

	if (!n->cfg->exit_node[0] || !d->exit)
		return false;
	return !strcmp(n->cfg->exit_node, peer_name(d, full)) ||
	       !strcmp(n->cfg->exit_node, d->name);
}

static void drop_peer(struct node *n, struct node_peer *np)
{
	if (np->present && np->p)
		device_remove_peer(&n->dm.dev, np->p);
	memset(np, 0, sizeof(*np));
}

/* The relay to reach a peer through: the first of ours (roster order)
 * that it is registered with too. */
static bool common_relay(const struct node *n, const struct announce *a,
			 struct wg_endpoint *out)
{
	struct wg_endpoint mine[MESH_MAX_RELAYS];
	unsigned k = reach_relays(&n->reach, mine, MESH_MAX_RELAYS), i, j;

	for (i = 0; i < k; i++)
		for (j = 0; j < a->n_relays; j++)
			if (endpoint_equal(&mine[i], &a->relays[j])) {
				*out = mine[i];
				out->relay = true;
				relay_tag(out->tag, a->device);
				return true;
			}
	return false;
}

/* A peer's candidates and relay from its announcement, then its path. */
static void update_paths(struct node *n, struct node_peer *np,
			 const struct mv_device *v, wg_time_t now)
{
	bool lan[MESH_MAX_ENDPOINTS];
	struct wg_endpoint relay;
	unsigned k;

	for (k = 0; k < v->ann.n_endpoints; k++)
		lan[k] = on_our_subnet(n, &v->ann.endpoints[k]);
	path_set_candidates(&np->rp.path, v->ann.endpoints, lan, v->ann.n_endpoints, now);
	path_set_relay(&np->rp.path, common_relay(n, &v->ann, &relay) ? &relay : NULL);
	n->dm.dev.now = now;
	(void)reach_peer_tick(&n->reach, &np->rp, now);
}

/* Make the device's peers what the view says. */
static void apply_peers(struct node *n)
{
	const struct roster *r = &n->view.roster;
	const struct roster_device *self = meshview_self_entry(&n->view);
	struct node_peer *next;
	unsigned i, j;

	next = calloc(r->n_devices ? r->n_devices : 1, sizeof(*next));
	if (!next) {
		log_err("out of memory");
		return;
	}
	for (i = 0; i < r->n_devices; i++) {
		const struct roster_device *d = &r->devices[i];
		const struct mv_device *v = &n->view.devs[i];
		struct node_peer *np = &next[i];
		static const uint8_t any[16];
		uint8_t ip6[16];
		int err = 0;

		if (d == self || !self || !v->announced || !v->has_ip)
			continue;
		/* An existing peer with the same key keeps its session. */
		for (j = 0; j < n->n_peers; j++) {
			if (n->peers[j].present && !memcmp(n->peers[j].wg, v->ann.wg, 32)) {
				*np = n->peers[j];
				n->peers[j].present = false;
				break;
			}
		}
		if (!np->present) {
			np->p = device_add_peer(&n->dm.dev, v->ann.wg, &err);
			if (!np->p) {
				log_err("cannot add peer %s/%s: %s", d->owner, d->name,
					err == -EINVAL ? "it announced our own key" : "out of memory");
				continue;
			}
			np->present = true;
			memcpy(np->wg, v->ann.wg, 32);
			if (!reach_peer_init(&n->reach, &np->rp, np->p, v->ann.wg))
				log_warn("peer %s/%s: its key cannot seal probes; "
					 "no path discovery for it", d->owner, d->name);
			peer_set_persistent_keepalive(np->p, NODE_KEEPALIVE_SEC, clock_now());
		}
		if (memcmp(np->ip, v->ip.b, 4) || np->exit != is_exit_choice(n, d)) {
			allowedips_remove_by_owner(&n->dm.dev.allowedips, np->p);
			memcpy(np->ip, v->ip.b, 4);
			np->exit = is_exit_choice(n, d);
			if (allowedips_insert(&n->dm.dev.allowedips, IP_V4, v->ip.b, 32, np->p))
				log_err("out of memory");
			if (r->range.has6) {
				mesh_range_ip6(&r->range, v->ip, ip6);
				if (allowedips_insert(&n->dm.dev.allowedips, IP_V6, ip6, 128, np->p))
					log_err("out of memory");
			}
			if (np->exit &&
			    (allowedips_insert(&n->dm.dev.allowedips, IP_V4, any, 0, np->p) ||
			     allowedips_insert(&n->dm.dev.allowedips, IP_V6, any, 0, np->p)))
				log_err("out of memory");
		}
		update_paths(n, np, v, clock_now());
	}
	for (j = 0; j < n->n_peers; j++)
		if (n->peers[j].present)
			drop_peer(n, &n->peers[j]);
	free(n->peers);
	n->peers = next;
	n->n_peers = r->n_devices;
	device_flush(&n->dm.dev);
}

/* The nameservers of /etc/resolv.conf that are not on this host, which an
 * exit announces for the devices that send their DNS through it. */
static void read_resolvers(struct node *n)
{
	char line[256];
	FILE *f = fopen("/etc/resolv.conf", "re");

	n->n_dns = 0;
	if (!f)
		return;
	while (n->n_dns < 4 && fgets(line, sizeof(line), f)) {
		char addr[64];
		struct ip_prefix *p = &n->dns[n->n_dns];

		if (sscanf(line, " nameserver %63s", addr) != 1)
			continue;
		memset(p, 0, sizeof(*p));
		if (inet_pton(AF_INET, addr, p->addr) == 1 && p->addr[0] != 127) {
			p->family = 4;
			p->cidr = 32;
			n->n_dns++;
		} else if (inet_pton(AF_INET6, addr, p->addr) == 1 &&
			   memcmp(p->addr, (const uint8_t[16]){ [15] = 1 }, 16)) {
			p->family = 6;
			p->cidr = 128;
			n->n_dns++;
		}
	}
	fclose(f);
}

/* Every peer's current endpoint, for the kill switch. */
static unsigned current_endpoints(const struct node *n, struct wg_endpoint *out,
				  unsigned max)
{
	unsigned i, k = 0;

	for (i = 0; i < n->n_peers && k < max; i++)
		if (n->peers[i].present && n->peers[i].p->endpoint.family &&
		    !n->peers[i].p->endpoint.relay)
			out[k++] = n->peers[i].p->endpoint;
	/* Relays and STUN servers: the ways to peers behind NATs. */
	for (i = 0; i < n->reach.n_servers && k < max; i++)
		out[k++] = n->reach.servers[i].ep;
	return k;
}

static bool endpoints_changed(struct node *n)
{
	struct wg_endpoint now[HELPER_MAX_PREFIXES];
	unsigned k = current_endpoints(n, now, HELPER_MAX_PREFIXES), i;
	bool changed = k != n->n_ks_eps;

	for (i = 0; !changed && i < k; i++)
		changed = !endpoint_equal(&now[i], &n->ks_eps[i]);
	return changed;
}

static void fill_endpoints(struct node *n, struct helper_msg *m)
{
	unsigned i;

	n->n_ks_eps = current_endpoints(n, n->ks_eps, HELPER_MAX_PREFIXES);
	for (i = 0; i < n->n_ks_eps; i++) {
		const struct wg_endpoint *e = &n->ks_eps[i];
		struct helper_addr *a = &m->u.exit_use.endpoints[i];

		a->family = e->family == IP_V4 ? 4 : 6;
		a->cidr = e->family == IP_V4 ? 32 : 128;
		memcpy(a->addr, e->addr, 16);
		m->u.exit_use.ports[i] = e->port;
	}
	m->u.exit_use.n_endpoints = (uint8_t)n->n_ks_eps;
}

static int helper_simple(struct node *n, uint32_t type)
{
	char reason[HELPER_REASON_MAX];
	struct helper_msg m;
	int err;

	memset(&m, 0, sizeof(m));
	m.type = type;
	err = helper_call(n->cfg->helper_sock, &m, HELPER_TIMEOUT_MS, reason);
	if (err)
		log_err("the helper refused (%u): %s", type, reason);
	return err;
}

/* Serve as an exit when the roster says so; use the chosen exit peer. */
static void apply_exit(struct node *n, const struct roster_device *self)
{
	const struct roster *r = &n->view.roster;
	int want = 0;
	unsigned i;

	if (self->exit && !n->serving && n->has_ip) {
		if (!helper_simple(n, HELPER_EXIT_SERVE)) {
			n->serving = true;
			log_info("serving as an exit node for the mesh");
		}
	} else if (!self->exit && n->serving) {
		if (!helper_simple(n, HELPER_EXIT_SERVE_STOP))
			n->serving = false;
	}
	for (i = 0; i < n->n_peers && i < r->n_devices; i++)
		if (n->peers[i].present && n->peers[i].exit)
			want = (int)i + 1;
	/* With the kill switch, the peers' endpoints are the only ways out
	 * besides the tunnel: a change of them reloads it. */
	if (want == n->using && !(want && n->cfg->killswitch && endpoints_changed(n)))
		return;
	if (!want) {
		if (!helper_simple(n, HELPER_EXIT_STOP)) {
			n->using = 0;
			log_info("exit node off: traffic goes out directly again");
		}
		return;
	}
	{
		const struct mv_device *v = &n->view.devs[want - 1];
		char reason[HELPER_REASON_MAX], name[2 * MESH_NAME_MAX];
		struct helper_msg m;

		memset(&m, 0, sizeof(m));
		m.type = HELPER_EXIT_USE;
		for (i = 0; i < v->ann.n_dns && i < HELPER_MAX_DNS; i++) {
			m.u.exit_use.dns[i].family = v->ann.dns[i].family;
			m.u.exit_use.dns[i].cidr = v->ann.dns[i].cidr;
			memcpy(m.u.exit_use.dns[i].addr, v->ann.dns[i].addr, 16);
		}
		m.u.exit_use.n_dns = (uint8_t)i;
		m.u.exit_use.killswitch = n->cfg->killswitch;
		m.u.exit_use.allow_lan = n->cfg->allow_lan;
		fill_endpoints(n, &m);
		if (helper_call(n->cfg->helper_sock, &m, HELPER_TIMEOUT_MS, reason)) {
			log_err("cannot route through the exit node: %s", reason);
			return;
		}
		n->using = want;
		log_info("everything goes through exit node %s%s",
			 peer_name(&r->devices[want - 1], name),
			 i ? "" : " (it names no resolver: DNS goes to the current ones)");
	}
}

static void reconcile(struct node *n)
{
	const struct roster_device *self;

	if (!n->view.has_roster)
		return;
	self = meshview_self_entry(&n->view);
	if (!self) {
		if (n->n_peers && !n->refused_logged)
			log_err("this device is no longer in the roster of %s; "
				"dropping every peer", n->view.network);
		n->refused_logged = true;
		apply_peers(n);
		if (n->using && !helper_simple(n, HELPER_EXIT_STOP))
			n->using = 0;
		return;
	}
	n->refused_logged = false;
	if (n->servers_of != n->view.roster.version) {
		reach_set_servers(&n->reach, &n->view.roster, clock_now());
		n->servers_of = n->view.roster.version;
	}
	choose_address(n);
	apply_peers(n);
	apply_exit(n, self);
	n->applied_gen = n->view.generation;
	if (n->has_ip && (n->ann_wanted || !n->last_ann_ms))
		announce(n);
}

/* ---- messages from the hub ---- */

/* The last accepted roster, kept across restarts: the node starts from it
 * (its admins stay pinned, an older one is still refused) even before the
 * hub answers. */
static void save_roster(struct node *n)
{
	const char *env = n->view.roster_env;
	int fd = openat(n->state_fd, "roster.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0600);
	size_t len = strlen(env);
	bool ok;

	if (fd < 0) {
		log_warn("cannot save the roster in %s: %s", n->cfg->state_dir, strerror(errno));
		return;
	}
	ok = write(fd, env, len) == (ssize_t)len && fsync(fd) == 0;
	close(fd);
	if (!ok || renameat(n->state_fd, "roster.tmp", n->state_fd, "roster"))
		log_warn("cannot save the roster in %s", n->cfg->state_dir);
}

static void load_roster(struct node *n)
{
	char reason[MESH_REASON_MAX], *buf;
	int fd = openat(n->state_fd, "roster", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t got;

	if (fd < 0)
		return;
	buf = malloc(2 * MESH_ROSTER_BODY_MAX + 1);
	got = buf ? read(fd, buf, 2 * MESH_ROSTER_BODY_MAX) : -1;
	close(fd);
	if (got > 0 &&
	    meshview_offer_roster(&n->view, buf, (size_t)got, 0, reason) == MV_ACCEPTED)
		log_info("starting from the saved roster, version %" PRIu64,
			 n->view.roster.version);
	else if (got > 0)
		log_warn("the saved roster is not usable (%s); waiting for the hub", reason);
	free(buf);
}

static void offer(struct node *n, json_t *m)
{
	json_t *jid = json_object_get(m, "id"), *jt = json_object_get(m, "type");
	json_t *je = json_object_get(m, "env");
	char reason[MESH_REASON_MAX], *env;
	uint64_t id;
	int r;

	if (!json_is_integer(jid) || json_integer_value(jid) < 0 || !json_is_string(jt))
		return;
	id = (uint64_t)json_integer_value(jid);
	env = json_is_string(je) ? strdup(json_string_value(je)) :
	      json_dumps(je, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!env)
		return;
	if (!strcmp(json_string_value(jt), "roster")) {
		uint64_t before = n->view.has_roster ? n->view.roster.version : 0;

		r = meshview_offer_roster(&n->view, env, strlen(env), id, reason);
		if (r == MV_ACCEPTED) {
			log_info("roster version %" PRIu64 " accepted (was %" PRIu64 "): %u devices",
				 n->view.roster.version, before, n->view.roster.n_devices);
			save_roster(n);
		}
		else if (r < 0)
			log_warn("rejected roster (message %" PRIu64 "): %s", id, reason);
	} else {
		r = meshview_offer_announce(&n->view, env, strlen(env), id, clock_wall_ms(), reason);
		if (r < 0)
			log_warn("rejected announcement (message %" PRIu64 "): %s", id, reason);
	}
	free(env);
}

static void hub_drain(struct node *n)
{
	struct hubclient_results res;
	unsigned i;

	hubclient_take(&n->hub, &res);
	for (i = 0; i < res.n; i++) {
		json_t *o = json_loads(res.answers[i], 0, NULL), *msgs, *m;
		size_t k;

		free(res.answers[i]);
		/* Rosters first: an answer lists messages in id order, and a
		 * roster published after some announcements must not make
		 * them look foreign. */
		msgs = json_object_get(o, "messages");
		if (json_is_array(msgs)) {
			json_array_foreach(msgs, k, m)
				if (!strcmp(json_string_value(json_object_get(m, "type")) ?: "",
					    "roster"))
					offer(n, m);
			json_array_foreach(msgs, k, m)
				if (strcmp(json_string_value(json_object_get(m, "type")) ?: "",
					   "roster"))
					offer(n, m);
		}
		json_decref(o);
		n->synced = true;
	}
	if (res.ann_done) {
		n->ann_inflight = false;
		if (res.ann_status == 200) {
			if (n->has_ip && !n->claim &&
			    !(meshview_self_entry(&n->view) &&
			      meshview_self_entry(&n->view)->has_ip))
				n->claim = res.ann_id;
			n->ann_err_logged = false;
			if (!n->printed_up) {
				printf("up\n");
				fflush(stdout);
				n->printed_up = true;
			}
		} else {
			if (!n->ann_err_logged)
				log_err("announcement refused: %s; trying again every 10 s",
					res.ann_err);
			n->ann_err_logged = true;
			n->ann_wanted = true;	/* again in 10 s (on_tick) */
			n->last_ann_ms = clock_wall_ms();
		}
	}
	if (res.n || res.ann_done)
		reconcile(n);
}

/* ---- status and control ---- */

static char *status_json(struct node *n)
{
	json_t *o = json_object(), *peers = json_array();
	const struct roster *r = &n->view.roster;
	char buf[2 * MESH_NAME_MAX], *out;
	unsigned i;
	uint64_t now_s = clock_wall_ms() / 1000;

	json_object_set_new(o, "network", json_string(n->view.network));
	json_object_set_new(o, "interface", json_string(n->cfg->ifname));
	if (n->has_ip) {
		mesh_ip4_format(n->ip, buf);
		json_object_set_new(o, "address", json_string(buf));
	}
	json_object_set_new(o, "roster_version",
			    json_integer(n->view.has_roster ? (json_int_t)r->version : 0));
	json_object_set_new(o, "last_message", json_integer((json_int_t)n->view.last_id));
	json_object_set_new(o, "listen_port", json_integer(n->dm.udp.port));
	if (n->cfg->exit_node[0])
		json_object_set_new(o, "exit_node", json_string(n->cfg->exit_node));
	json_object_set_new(o, "public", mesh_endpoints_json(n->reach.publics,
							    n->reach.n_publics));
	{
		json_t *rl = json_array();
		wg_time_t now = clock_now();

		for (i = 0; i < n->reach.n_servers; i++) {
			const struct reach_server *sv = &n->reach.servers[i];
			char ep[ENDPOINT_STR_MAX];
			json_t *x = json_object();

			endpoint_format(&sv->ep, ep);
			json_object_set_new(x, "server", json_string(ep));
			json_object_set_new(x, "relay", json_boolean(sv->relay));
			if (sv->relay)
				json_object_set_new(x, "registered",
						    json_boolean(sv->answered &&
								 now < sv->answered + REACH_RELAY_ALIVE));
			json_object_set_new(x, "rtt_ms", sv->rtt_ns ?
					    json_real((double)sv->rtt_ns / 1e6) : json_null());
			json_array_append_new(rl, x);
		}
		json_object_set_new(o, "servers", rl);
	}
	for (i = 0; n->view.has_roster && i < n->n_peers && i < r->n_devices; i++) {
		const struct node_peer *np = &n->peers[i];
		const struct roster_device *d = &r->devices[i];
		json_t *p;
		char ep[ENDPOINT_STR_MAX];

		if (!np->present)
			continue;
		p = json_object();
		json_object_set_new(p, "name", json_string(peer_name(d, buf)));
		mesh_ip4_format(n->view.devs[i].ip, buf);
		json_object_set_new(p, "address", json_string(buf));
		json_object_set_new(p, "path",
				    json_string(path_kind_name(reach_peer_kind(&np->rp))));
		endpoint_format(&np->p->endpoint, ep);
		json_object_set_new(p, "endpoint", json_string(ep));
		json_object_set_new(p, "last_handshake",
				    json_integer((json_int_t)np->p->last_handshake_sec));
		json_object_set_new(p, "handshake_age_s",
				    np->p->last_handshake_sec ?
				    json_integer((json_int_t)(now_s - np->p->last_handshake_sec)) :
				    json_null());
		json_object_set_new(p, "rx_bytes", json_integer((json_int_t)np->p->rx_bytes));
		json_object_set_new(p, "tx_bytes", json_integer((json_int_t)np->p->tx_bytes));
		json_object_set_new(p, "rtt_ms", np->p->handshake_rtt_ns ?
				    json_real((double)np->p->handshake_rtt_ns / 1e6) : json_null());
		json_object_set_new(p, "exit", json_boolean(np->exit));
		json_array_append_new(peers, p);
	}
	json_object_set_new(o, "peers", peers);
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return out;
}

static void ctl_serve(struct node *n)
{
	char line[CTL_LINE_MAX], *reply = NULL;
	ssize_t got;
	int fd = accept4(n->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	struct timeval tv = { 2, 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	got = recv(fd, line, sizeof(line) - 1, 0);
	if (got <= 0) {
		close(fd);
		return;
	}
	line[got] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (!strcmp(line, "mesh-status")) {
		reply = status_json(n);
	} else if (!strcmp(line, "stop")) {
		reply = strdup("ok");
		daemon_stop(&n->dm, 0);
	} else if (!strncmp(line, "exit-node ", 10)) {
		const char *name = line + 10;
		unsigned i;
		bool found = !strcmp(name, "off");

		for (i = 0; !found && i < n->view.roster.n_devices; i++) {
			char full[2 * MESH_NAME_MAX];
			const struct roster_device *d = &n->view.roster.devices[i];

			if ((!strcmp(name, peer_name(d, full)) || !strcmp(name, d->name)) &&
			    d->exit)
				found = true;
		}
		if (!found) {
			if (asprintf(&reply, "error no exit server named %s in the roster", name) < 0)
				reply = NULL;
		} else {
			snprintf(n->cfg->exit_node, sizeof(n->cfg->exit_node), "%.127s",
				 strcmp(name, "off") ? name : "");
			reconcile(n);
			reply = strdup("ok");
		}
	} else {
		reply = strdup("error unknown request");
	}
	if (reply) {
		(void)!send(fd, reply, strlen(reply), MSG_NOSIGNAL);
		(void)!send(fd, "\n", 1, MSG_NOSIGNAL);
	}
	free(reply);
	close(fd);
}

/* ---- the loop's hooks ---- */

static void on_fd(void *ctx, int fd, uint32_t events)
{
	struct node *n = ctx;

	(void)events;
	if (fd == hubclient_fd(&n->hub)) {
		hub_drain(n);
	} else if (fd == n->cfg->helper_sock) {
		log_err("the privileged helper is gone; stopping");
		daemon_stop(&n->dm, 1);
	}
	if (fd == n->ctl_fd)
		ctl_serve(n);
	if (fd == n->mon_fd && netmon_read(n->mon_fd, n->dm.tun.ifindex) &&
	    !n->net_check_at) {
		/* Let a burst of changes settle first. */
		n->net_check_at = clock_now() + NSEC_PER_SEC / 2;
		n->dm.hooks.deadline = n->net_check_at;
	}
}

static struct reach_peer *find_peer(void *arg, const uint8_t wg[MESH_KEY_LEN])
{
	struct node *n = arg;

	for (unsigned i = 0; i < n->n_peers; i++)
		if (n->peers[i].present && !memcmp(n->peers[i].wg, wg, 32))
			return &n->peers[i].rp;
	return NULL;
}

static void on_control(void *ctx, const struct pkt *k, enum device_control kind)
{
	struct node *n = ctx;

	if (kind == DEVICE_CONTROL_PATH)
		reach_input(&n->reach, k, clock_now(), find_peer, n);
}

static bool lan_of(void *ctx, const struct wg_endpoint *ep)
{
	return on_our_subnet(ctx, ep);
}

/* Registrations, STUN, every peer's probes and path; the announcement when
 * what we announce changed. Sets the next deadline. */
static void reach_turn(struct node *n, wg_time_t now)
{
	struct wg_endpoint relays[MESH_MAX_RELAYS];
	wg_time_t next = 0;
	unsigned i, k;
	bool relays_changed;

	n->dm.dev.now = now;
	if (n->net_check_at && now >= n->net_check_at) {
		n->net_check_at = 0;
		log_info("the network changed: looking for paths again");
		hubclient_kick(&n->hub);
		refresh_locals(n);
		reach_network_changed(&n->reach, now);
		for (i = 0; i < n->n_peers; i++)
			if (n->peers[i].present) {
				/* Old answers say nothing about the new network. */
				for (k = 0; k < n->peers[i].rp.path.n; k++)
					n->peers[i].rp.path.cands[k].pong_at = 0;
				path_burst(&n->peers[i].rp.path, now);
			}
		n->ann_wanted = true;
	}
	reach_tick(&n->reach, now);
	if (n->reach.changed) {
		n->reach.changed = false;
		/* Seen from a new address: a NAT on the way changed, and the
		 * hub connection may have died with its old mapping. */
		hubclient_kick(&n->hub);
		if (refresh_locals(n))
			n->ann_wanted = true;
	}
	k = reach_relays(&n->reach, relays, MESH_MAX_RELAYS);
	relays_changed = k != n->n_up_relays ||
			 memcmp(relays, n->up_relays, k * sizeof(relays[0]));
	memcpy(n->up_relays, relays, sizeof(relays));
	n->n_up_relays = k;
	if (relays_changed) {
		char list[MESH_MAX_RELAYS * ENDPOINT_STR_MAX + 8] = "", ep[ENDPOINT_STR_MAX];

		for (i = 0; i < k; i++) {
			endpoint_format(&relays[i], ep);
			strcat(strcat(list, i ? ", " : ""), ep);
		}
		if (k)
			log_info("registered with relay%s %s", k > 1 ? "s" : "", list);
		else if (n->reach.n_servers)
			log_warn("no relay answers: peers behind NATs that block us "
				 "cannot be reached until one does");
		n->ann_wanted = true;
	}
	for (i = 0; i < n->n_peers && i < n->view.roster.n_devices; i++) {
		struct node_peer *np = &n->peers[i];
		wg_time_t t;

		if (!np->present)
			continue;
		if (relays_changed) {
			struct wg_endpoint relay;
			const struct mv_device *v = &n->view.devs[i];

			path_set_relay(&np->rp.path,
				       common_relay(n, &v->ann, &relay) ? &relay : NULL);
		}
		t = reach_peer_tick(&n->reach, &np->rp, now);
		if (t && (!next || t < next))
			next = t;
		if (reach_peer_kind(&np->rp) != np->logged ||
		    !endpoint_equal(&np->p->endpoint, &np->logged_ep)) {
			char name[2 * MESH_NAME_MAX], ep[ENDPOINT_STR_MAX];

			np->logged = reach_peer_kind(&np->rp);
			np->logged_ep = np->p->endpoint;
			endpoint_format(&np->logged_ep, ep);
			log_info("%s: %s path, %s", peer_name(&n->view.roster.devices[i], name),
				 path_kind_name(np->logged), ep);
		}
	}
	if (n->net_check_at && (!next || n->net_check_at < next))
		next = n->net_check_at;
	n->dm.hooks.deadline = next;
	device_flush(&n->dm.dev);
}

static void on_tick(void *ctx, wg_time_t now)
{
	struct node *n = ctx;
	static wg_time_t next_scan;

	if (now >= next_scan) {
		next_scan = now + 10ULL * 1000000000ULL;
		if (refresh_locals(n))
			n->ann_wanted = true;
	}
	reach_turn(n, now);
	if (n->using && n->cfg->killswitch && endpoints_changed(n))
		reconcile(n);
	if (n->has_ip && !n->ann_inflight &&
	    ((n->ann_wanted && clock_wall_ms() >= n->last_ann_ms + (n->ann_err_logged ? 10000 : 0)) ||
	     clock_wall_ms() >= n->last_ann_ms + MESH_ANNOUNCE_REFRESH_S * 1000ULL))
		announce(n);
}

int node_run(struct node_config *cfg)
{
	struct daemon_hooks hooks;
	char err[PRIVSEP_ERR_MAX], path[CTL_PATH_MAX];
	uint8_t wg_priv[32];
	struct node *n = calloc(1, sizeof(*n));
	int status = 1;

	if (!n)
		return 1;
	n->cfg = cfg;
	n->ctl_fd = n->state_fd = n->mon_fd = -1;
	if (daemon_init_tun(&n->dm, cfg->ifname, cfg->port, cfg->tun_fd) < 0)
		goto out;
	cfg->tun_fd = -1;
	x25519_generate_private(wg_priv);
	if (!device_set_private_key(&n->dm.dev, wg_priv) ||
	    !x25519_public_from_private(n->wg_pub, wg_priv)) {
		sodium_memzero(wg_priv, sizeof(wg_priv));
		log_err("cannot set the WireGuard key");
		goto out;
	}
	n->dm.dev.mesh = true;
	reach_init(&n->reach, &n->dm.dev, cfg->network, cfg->id_pk, cfg->id_sk, wg_priv,
		   n->wg_pub);
	n->reach.is_lan = lan_of;
	n->reach.lan_ctx = n;
	sodium_memzero(wg_priv, sizeof(wg_priv));
	n->mon_fd = netmon_open();
	if (n->mon_fd < 0)
		log_warn("cannot follow network changes (%s): paths are checked only "
			 "every %d s", strerror(-n->mon_fd), 10);
	n->ctl_fd = ctl_listen(cfg->run_dir, cfg->ifname, path);
	if (n->ctl_fd < 0) {
		log_err("cannot listen on the control socket of %s: %s", cfg->ifname,
			strerror(-n->ctl_fd));
		goto out;
	}
	meshview_init(&n->view, cfg->network, cfg->id_pk,
		      (const uint8_t (*)[MESH_KEY_LEN])cfg->admins, cfg->n_admins);
	if (cfg->fwmark) {
		n->dm.dev.fwmark = cfg->fwmark;
		if (udp_set_fwmark(&n->dm.udp, cfg->fwmark) < 0)
			log_warn("cannot mark the tunnel's sockets: an exit node will not work");
	}
	read_resolvers(n);
	/* From here on nothing needs root. */
	if (mkdir(cfg->state_dir, 0700) && errno != EEXIST) {
		log_err("cannot create %s: %s", cfg->state_dir, strerror(errno));
		goto out;
	}
	n->state_fd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (n->state_fd < 0 || fchown(n->state_fd, cfg->user.uid, cfg->user.gid)) {
		log_err("cannot hand %s to user %s: %s", cfg->state_dir, cfg->user.name,
			strerror(errno));
		goto out;
	}
	/* The engine may not call bpf() once confined. */
	daemon_filter_headers_only(&n->dm);
	if (privsep_drop(&cfg->user, err) || privsep_seccomp(err)) {
		log_err("%s", err);
		goto out;
	}
	log_info("engine runs as %s with no capabilities%s", cfg->user.name,
		 privsep_confined() ? ", no_new_privs, seccomp" : "");
	refresh_locals(n);
	load_roster(n);
	if (hubclient_start(&n->hub, cfg->hub, cfg->network, cfg->id_sk)) {
		log_err("cannot start the hub connection");
		goto out;
	}
	memset(&hooks, 0, sizeof(hooks));
	hooks.ctx = n;
	hooks.fd_event = on_fd;
	hooks.tick = on_tick;
	hooks.control_rx = on_control;
	daemon_set_hooks(&n->dm, &hooks);
	if (daemon_watch(&n->dm, hubclient_fd(&n->hub)) || daemon_watch(&n->dm, n->ctl_fd) ||
	    daemon_watch(&n->dm, cfg->helper_sock) ||
	    (n->mon_fd >= 0 && daemon_watch(&n->dm, n->mon_fd))) {
		log_err("cannot watch the engine's descriptors");
		goto out;
	}
	status = daemon_run(&n->dm);
out:
	hubclient_stop(&n->hub);
	if (n->ctl_fd >= 0) {
		close(n->ctl_fd);
		(void)unlink(path);
	}
	if (n->state_fd >= 0)
		close(n->state_fd);
	if (n->mon_fd >= 0)
		close(n->mon_fd);
	reach_wipe(&n->reach);
	free(n->peers);
	meshview_free(&n->view);
	daemon_destroy(&n->dm);
	sodium_memzero(cfg->id_sk, sizeof(cfg->id_sk));
	free(n);
	return status;
}
