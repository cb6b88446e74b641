/* server.c - `weft server`, see server.h.
 *
 * Order at start, each host change journalled before it is made:
 *   leftover journal undone -> state dir locked and loaded -> TUN and UDP
 *   -> address, MTU, link up -> ip_forward -> nftables -> peers of named
 *   clients -> control socket -> serve.
 * Any failure undoes what was done; so does every way out of the loop. */
#define _GNU_SOURCE
#include "vpn/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/encoding.h"
#include "core/peer.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"
#include "daemon/daemon.h"
#include "os/linux/clock.h"
#include "os/linux/firewall.h"
#include "os/linux/log.h"
#include "os/linux/netlink.h"
#include "os/linux/sysctl.h"
#include "vpn/clients.h"
#include "vpn/ctl.h"
#include "vpn/journal.h"
#include "vpn/pidfile.h"
#include "vpn/policy.h"
#include "vpn/srvstate.h"

struct server {
	struct server_config *cfg;
	struct daemon *dm;
	struct srvstate st;
	bool st_open;
	bool dm_init;		/* daemon_init was called */
	struct admission_server *adm;
	struct ratelimiter *guesses;	/* answers to wrong passcodes */
	struct ratelimiter *guess_log;	/* log lines about them */
	struct journal journal;
	bool journal_open;
	struct nl *nl;
	int ctl_fd;
	char ctl_path[108];
	struct ip_prefix srv4, srv6;
	wg_time_t next_expiry;
	bool pool_dirty;		/* assignments not yet in the pool file */
	char pidfile[PIDFILE_PATH_MAX];
	uint64_t admitted, wrong_passcodes;
};

void server_default_pool6(const uint8_t public_key[32], struct ip_prefix *out)
{
	static const char label[] = "weft ula v1";
	uint8_t h[BLAKE2S_HASH_LEN];

	blake2s256(h, label, sizeof(label) - 1, public_key, 32);
	memset(out, 0, sizeof(*out));
	out->family = 6;
	out->cidr = 64;
	out->addr[0] = 0xfd;
	memcpy(out->addr + 1, h, 5);	/* global ID; subnet ID 0 */
}

static void prefix_str(const struct ip_prefix *p, char out[ADDRPOOL_PREFIX_STR_MAX])
{
	if (!p->family)
		snprintf(out, ADDRPOOL_PREFIX_STR_MAX, "-");
	else
		addrpool_prefix_format(p, out);
}

static int to_af(uint8_t family)
{
	return family == 4 ? AF_INET : AF_INET6;
}

/* ---- peers ---- */

/* Make pub a peer whose allowed IPs are exactly its tunnel addresses. */
static struct peer *install_peer(struct server *s, const uint8_t pub[32],
				 const struct ip_prefix *a4,
				 const struct ip_prefix *a6,
				 const struct wg_endpoint *ep)
{
	struct device *d = &s->dm->dev;
	struct peer *p = device_lookup_peer(d, pub);
	int err = 0;

	d->now = clock_now();
	if (!p && !(p = device_add_peer(d, pub, &err)))
		return NULL;
	allowedips_remove_by_owner(&d->allowedips, p);
	if ((a4->family &&
	     allowedips_insert(&d->allowedips, IP_V4, a4->addr, 32, p)) ||
	    (a6->family &&
	     allowedips_insert(&d->allowedips, IP_V6, a6->addr, 128, p))) {
		device_remove_peer(d, p);
		return NULL;
	}
	if (ep)
		peer_set_endpoint(p, ep);
	return p;
}

static bool is_named(const struct server *s, const uint8_t pub[32])
{
	return clients_find_key(s->st.clients, pub) != NULL;
}

/* Admitted clients that went quiet stop being peers; they come back
 * through admission. Named clients stay: their app may return any time. */
static void expire_idle_peers(struct server *s, wg_time_t now)
{
	struct device *d = &s->dm->dev;
	uint64_t sec, nsec;
	struct peer *p, *next;

	if (now < s->next_expiry)
		return;
	s->next_expiry = now + 30 * NSEC_PER_SEC;
	clock_wall(&sec, &nsec);
	for (p = d->peers_head; p; p = next) {
		next = p->list_next;
		if (is_named(s, p->hs.remote_static))
			continue;
		if (p->last_handshake_sec
			    ? p->last_handshake_sec + SERVER_IDLE_PEER_SEC < sec
			    : p->added + SERVER_IDLE_PEER_SEC * NSEC_PER_SEC < now)
			device_remove_peer(d, p);
	}
}

/* ---- admission ---- */

static void log_source(const struct wg_endpoint *ep, char out[ENDPOINT_STR_MAX])
{
	struct wg_endpoint a = *ep;

	a.port = 0;
	endpoint_format(&a, out);
	/* "1.2.3.4:0" -> "1.2.3.4", "[::1]:0" -> "::1" */
	char *colon = strrchr(out, ':');

	if (colon)
		*colon = '\0';
	if (out[0] == '[') {
		memmove(out, out + 1, strlen(out));
		out[strlen(out) - 1] = '\0';
	}
}

static void answer(struct server *s, const struct wg_endpoint *to,
		   struct admission_request *req,
		   const struct admission_grant *grant)
{
	uint8_t msg[ADMISSION_RESPONSE_LEN];

	if (admission_response_create(msg, req, grant, &s->dm->dev.nops))
		device_send_control(&s->dm->dev, to, msg, sizeof(msg));
}

static void wrong_passcode(struct server *s, const struct pkt *k,
			   struct admission_request *req, wg_time_t now)
{
	struct admission_grant grant = { .status = ADMISSION_STATUS_BAD_PASSCODE };
	char src[ENDPOINT_STR_MAX];

	s->wrong_passcodes++;
	if (ratelimiter_allow(s->guess_log, k->ep.family, k->ep.addr, now)) {
		log_source(&k->ep, src);
		printf("wrong passcode from %s (not logged again for this source for %d s)\n",
		       src, SERVER_GUESS_LOG_SEC);
		fflush(stdout);
	}
	/* Beyond a small burst, a guesser hears nothing: no answer is no
	 * information, and each further guess waits for the bucket. */
	if (!ratelimiter_allow(s->guesses, k->ep.family, k->ep.addr, now)) {
		admission_request_clear(req);
		return;
	}
	answer(s, &k->ep, req, &grant);
}

static void admit(struct server *s, const struct pkt *k,
		  struct admission_request *req)
{
	struct admission_grant grant = { .status = ADMISSION_STATUS_OK };
	struct ip_prefix avoid[ADMISSION_MAX_PREFIXES], old4, old6;
	char a4[ADDRPOOL_PREFIX_STR_MAX], a6[ADDRPOOL_PREFIX_STR_MAX];
	char key[KEY_BASE64_LEN + 1], src[ENDPOINT_STR_MAX];
	bool had = addrpool_lookup(s->st.pool, req->client_static, &old4, &old6);

	memcpy(avoid, req->avoid, req->n_avoid * sizeof(avoid[0]));
	switch (addrpool_assign(s->st.pool, req->client_static, avoid,
				req->n_avoid, &grant.address4,
				&grant.address6)) {
	case ADDRPOOL_OK:
		break;
	case ADDRPOOL_FULL:
		grant.status = ADMISSION_STATUS_POOL_FULL;
		break;
	case ADDRPOOL_CONFLICT:
		grant.status = ADMISSION_STATUS_ADDRESS_CONFLICT;
		break;
	case ADDRPOOL_INVALID:
		grant.status = ADMISSION_STATUS_NOT_ALLOWED;
		break;
	}
	key_to_base64(key, req->client_static);
	endpoint_format(&k->ep, src);
	if (grant.status != ADMISSION_STATUS_OK) {
		log_warn("refused %s from %s: %s", key, src,
			 grant.status == ADMISSION_STATUS_POOL_FULL
				 ? "the address pool is full (--pool)"
				 : "its local subnets cover the tunnel pool (--pool)");
		memset(&grant.address4, 0, sizeof(grant.address4));
		memset(&grant.address6, 0, sizeof(grant.address6));
		return answer(s, &k->ep, req, &grant);
	}
	if (!install_peer(s, req->client_static, &grant.address4,
			  &grant.address6, &k->ep)) {
		log_err("cannot add peer %s: out of memory", key);
		admission_request_clear(req);
		return;
	}
	/* Saved by the next tick: one fsync a second, not one per client
	 * (a crash loses at most that second, and the keyed hash gives
	 * most keys the same address again anyway). */
	if (!had || memcmp(&old4, &grant.address4, sizeof(old4)) ||
	    memcmp(&old6, &grant.address6, sizeof(old6)))
		s->pool_dirty = true;
	grant.server4 = s->srv4;
	grant.server6 = s->srv6;
	memcpy(grant.dns, s->cfg->dns, sizeof(grant.dns));
	grant.n_dns = s->cfg->n_dns;
	answer(s, &k->ep, req, &grant);
	s->admitted++;
	prefix_str(&grant.address4, a4);
	prefix_str(&grant.address6, a6);
	printf("admitted %s from %s as %s %s\n", key, src, a4, a6);
	fflush(stdout);
}

static void on_control(void *ctx, const struct pkt *k, enum device_control kind)
{
	struct server *s = ctx;
	struct admission_request req;
	wg_time_t now = clock_now();

	if (kind != DEVICE_CONTROL_ADMISSION_REQUEST)
		return;	/* a server sends no requests: nothing else is ours */
	switch (admission_request_consume(s->adm, &s->dm->dev.local,
					  pkt_cdata(k), k->len, now, &req)) {
	case ADMISSION_INVALID:
	case ADMISSION_REPLAYED:
		return;
	case ADMISSION_WRONG_PASSCODE:
		return wrong_passcode(s, k, &req, now);
	case ADMISSION_ADMISSIBLE:
		return admit(s, k, &req);
	}
}

/* ---- control socket: add-client while running ---- */

static void ctl_serve(struct server *s)
{
	char line[CTL_LINE_MAX + 1], reply[CTL_LINE_MAX + 1], err[160];
	char name[CLIENTS_NAME_MAX + 1];
	struct ip_prefix a4, a6;
	uint8_t pub[32];
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	ssize_t n;
	size_t len = 0;
	int fd = accept4(s->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (fd < 0)
		return;
	/* The socket is 0600 already; the peer's credentials say so again,
	 * for a socket directory someone loosened. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    cred.uid != 0) {
		close(fd);
		return;
	}
	/* A local root client; still, never let it stall the tunnel. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < CTL_LINE_MAX &&
	       (n = read(fd, line + len, CTL_LINE_MAX - len)) > 0) {
		len += (size_t)n;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = '\0';
	if (ctl_parse_request(line, len, name, pub, err) < 0) {
		snprintf(reply, sizeof(reply), "error %s\n", err);
	} else if (srvstate_add_client(&s->st, name, pub, &a4, &a6, err) < 0) {
		snprintf(reply, sizeof(reply), "error %s\n", err);
	} else if (!install_peer(s, pub, &a4, &a6, NULL)) {
		snprintf(reply, sizeof(reply),
			 "error added to the state but not to the running tunnel: out of memory (restart the server)\n");
	} else {
		if (ctl_format_reply_ok(&a4, &a6, reply, sizeof(reply)) < 0)
			snprintf(reply, sizeof(reply), "error reply too long\n");
		printf("added client %s\n", name);
		fflush(stdout);
	}
	if (write(fd, reply, strlen(reply)) < 0)
		log_warn("control socket: %s", strerror(errno));
	close(fd);
}

static void on_fd(void *ctx, int fd, uint32_t events)
{
	struct server *s = ctx;

	(void)events;
	if (fd == s->ctl_fd)
		ctl_serve(s);
}

static void on_tick(void *ctx, wg_time_t now)
{
	struct server *s = ctx;

	expire_idle_peers(s, now);
	if (s->pool_dirty) {
		s->pool_dirty = false;
		if (srvstate_save_pool(&s->st) < 0)
			log_warn("cannot save the address pool in %s: addresses may change after a restart",
				 s->st.dir);
	}
}

/* ---- host configuration ---- */

static void fw_prefix_of(struct fw_prefix *out, const struct ip_prefix *p)
{
	memset(out, 0, sizeof(*out));
	if (!p->family)
		return;
	out->family = to_af(p->family);
	memcpy(out->addr, p->addr, 16);
	out->len = p->cidr;
}

static void fw_addr_of(struct fw_addr *out, const struct ip_prefix *p)
{
	memset(out, 0, sizeof(*out));
	if (!p->family)
		return;
	out->family = to_af(p->family);
	memcpy(out->addr, p->addr, 16);
}

static bool same_addr(const struct ip_prefix *a, const struct ip_prefix *b)
{
	size_t n = a->family == 4 ? 4 : 16;

	return a->family && a->family == b->family && !memcmp(a->addr, b->addr, n);
}

/* In a range --secure keeps clients out of (fw_rules.c's list). */
static bool secure_blocks(const struct ip_prefix *a)
{
	const uint8_t *b = a->addr;

	if (a->family == 4)
		return b[0] == 10 || b[0] == 127 || b[0] == 0 ||
		       (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		       (b[0] == 192 && b[1] == 168) ||
		       (b[0] == 169 && b[1] == 254) ||
		       (b[0] == 100 && (b[1] & 0xc0) == 64);
	return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

static int setup_firewall(struct server *s)
{
	struct fw_server fw = { 0 };
	struct journal_entry e = { .kind = JOURNAL_NFT };
	struct ip_prefix lan[FW_MAX_LAN];
	struct fw_error ferr;
	char *script;
	int n, ret;

	snprintf(fw.ifname, sizeof(fw.ifname), "%s", s->cfg->ifname);
	fw_prefix_of(&fw.pool4, &s->cfg->pool4);
	fw_prefix_of(&fw.pool6, &s->cfg->pool6);
	fw_addr_of(&fw.tun4, &s->srv4);
	fw_addr_of(&fw.tun6, &s->srv6);
	fw.secure = s->cfg->secure;
	fw.isolate_clients = s->cfg->secure;
	for (size_t i = 0; i < s->cfg->n_dns; i++) {
		char a[ADDRPOOL_PREFIX_STR_MAX];

		if (same_addr(&s->cfg->dns[i], &s->srv4) ||
		    same_addr(&s->cfg->dns[i], &s->srv6)) {
			fw.offer_dns = true;
		} else if (fw.secure && secure_blocks(&s->cfg->dns[i])) {
			addrpool_prefix_format(&s->cfg->dns[i], a);
			log_warn("--dns %s is in a range --secure closes to clients: they cannot reach it (use a public resolver, or one on this host's tunnel address)",
				 a);
		}
	}
	if (fw.secure) {
		/* The server's own LANs, global IPv6 ones included. */
		n = policy_local_prefixes(s->nl, s->dm->tun.ifindex, lan, FW_MAX_LAN);
		for (int i = 0; i < n; i++)
			fw_prefix_of(&fw.deny[fw.n_deny++], &lan[i]);
	}
	script = malloc(FW_SCRIPT_MAX);
	if (!script)
		return -ENOMEM;
	ret = fw_server_script(&fw, script, FW_SCRIPT_MAX, &ferr);
	if (ret < 0) {
		log_err("cannot build the firewall rules: %s", ferr.msg);
		free(script);
		return ret;
	}
	snprintf(e.u.ifname, sizeof(e.u.ifname), "%s", s->cfg->ifname);
	if ((ret = journal_record(&s->journal, &e)) < 0) {
		log_err("cannot write the undo journal: %s", strerror(-ret));
		free(script);
		return ret;
	}
	ret = fw_apply(script);
	free(script);
	if (ret < 0)
		log_err("cannot load the nftables table: %s%s", fw_last_error(),
			ret == -EPERM ? " (run as root)" : "");
	return ret;
}

static int set_sysctl(struct server *s, const char *name, const char *value)
{
	struct journal_entry e = { .kind = JOURNAL_SYSCTL };
	int ret = sysctl_read(name, e.u.sysctl.value, sizeof(e.u.sysctl.value));

	if (ret < 0) {
		log_err("cannot read %s: %s", name, strerror(-ret));
		return ret;
	}
	if (!strcmp(e.u.sysctl.value, value))
		return 0;
	snprintf(e.u.sysctl.name, sizeof(e.u.sysctl.name), "%s", name);
	if ((ret = journal_record(&s->journal, &e)) < 0) {
		log_err("cannot write the undo journal: %s", strerror(-ret));
		return ret;
	}
	ret = sysctl_write(name, value);
	if (ret < 0)
		log_err("cannot set %s: %s", name, strerror(-ret));
	return ret;
}

static int setup_interface(struct server *s)
{
	int idx = s->dm->tun.ifindex, ret;
	const struct ip_prefix *a[2] = { &s->srv4, &s->srv6 };

	if ((ret = nl_link_set_mtu(s->nl, idx, (int)s->cfg->mtu)) < 0) {
		log_err("cannot set MTU %u on %s: %s", s->cfg->mtu,
			s->cfg->ifname, strerror(-ret));
		return ret;
	}
	s->dm->dev.mtu = s->cfg->mtu;
	for (int i = 0; i < 2; i++) {
		if (!a[i]->family)
			continue;
		ret = nl_addr_add(s->nl, idx, to_af(a[i]->family), a[i]->addr,
				  a[i]->cidr);
		if (ret < 0 && ret != -EEXIST) {
			log_err("cannot add the tunnel address to %s: %s",
				s->cfg->ifname, strerror(-ret));
			return ret;
		}
	}
	if ((ret = nl_link_set_up(s->nl, idx, true)) < 0)
		log_err("cannot bring %s up: %s", s->cfg->ifname, strerror(-ret));
	return ret;
}

static void add_named_clients(struct server *s)
{
	for (size_t i = 0; i < clients_count(s->st.clients); i++) {
		const struct client_entry *c = clients_at(s->st.clients, i);
		struct ip_prefix a4, a6;

		if (!addrpool_lookup(s->st.pool, c->key, &a4, &a6)) {
			log_warn("client %s has no address in the pool file; add it again",
				 c->name);
			continue;
		}
		if (!install_peer(s, c->key, &a4, &a6, NULL))
			log_warn("cannot add client %s: out of memory", c->name);
	}
}

/* ---- start and stop ---- */

static int meta_init(struct server *s)
{
	struct srvmeta *m = &s->st.meta;

	memset(m, 0, sizeof(*m));
	memcpy(m->public_key, s->dm->dev.local.static_public, 32);
	m->listen_port = s->cfg->port;
	snprintf(m->endpoint, sizeof(m->endpoint), "%s", s->cfg->endpoint);
	m->pool4 = s->cfg->pool4;
	m->pool6 = s->cfg->pool6;
	memcpy(m->dns, s->cfg->dns, sizeof(m->dns));
	m->n_dns = s->cfg->n_dns;
	m->mtu = s->cfg->mtu;
	return srvstate_save_meta(&s->st);
}

static int start(struct server *s)
{
	struct server_config *cfg = s->cfg;
	uint8_t pool_key[32], kpass[ADMISSION_KEY_LEN], rl_key[16];
	char err[160], pub[KEY_BASE64_LEN + 1];
	struct srvmeta meta;
	int ret;

	ret = journal_undo(cfg->state_dir, cfg->ifname);
	if (ret > 0)
		log_info("put back what an earlier run on %s left behind", cfg->ifname);
	else if (ret < 0)
		log_warn("could not undo everything an earlier run on %s left (weft cleanup %s)",
			 cfg->ifname, cfg->ifname);

	ret = srvstate_open(&s->st, cfg->state_dir, cfg->ifname, true, err);
	if (ret < 0) {
		if (ret == -EWOULDBLOCK)
			log_err("another weft server already runs on %s", cfg->ifname);
		else
			log_err("%s", err);
		return ret;
	}
	s->st_open = true;
	srvstate_pool_key(cfg->private_key, pool_key);
	memset(&meta, 0, sizeof(meta));
	meta.pool4 = cfg->pool4;
	meta.pool6 = cfg->pool6;
	ret = srvstate_load(&s->st, &meta, pool_key, err);
	crypto_wipe(pool_key, sizeof(pool_key));
	if (ret < 0) {
		log_err("%s", err);
		return ret;
	}
	addrpool_server_address(s->st.pool, &s->srv4, &s->srv6);

	s->dm_init = true;
	if ((ret = daemon_init_port(s->dm, cfg->ifname, cfg->port)) < 0)
		return ret;
	if (!device_set_private_key(&s->dm->dev, cfg->private_key)) {
		log_err("the private key is not usable");
		return -EINVAL;
	}
	key_to_base64(pub, s->dm->dev.local.static_public);
	printf("public key: %s\n", pub);
	fflush(stdout);

	if ((ret = journal_open(&s->journal, cfg->state_dir, cfg->ifname)) < 0) {
		log_err("cannot create the undo journal in %s: %s", cfg->state_dir,
			strerror(-ret));
		return ret;
	}
	s->journal_open = true;
	if ((ret = nl_open(s->nl)) < 0) {
		log_err("cannot open netlink: %s", strerror(-ret));
		return ret;
	}
	if ((ret = setup_interface(s)) < 0)
		return ret;
	if (cfg->pool4.family &&
	    (ret = set_sysctl(s, "net/ipv4/ip_forward", "1")) < 0)
		return ret;
	if (cfg->pool6.family &&
	    (ret = set_sysctl(s, "net/ipv6/conf/all/forwarding", "1")) < 0)
		return ret;
	if ((ret = setup_firewall(s)) < 0)
		return ret;

	/* Admission: K_pass once (Argon2id, slow by design). */
	s->adm = calloc(1, sizeof(*s->adm));
	s->guesses = calloc(1, sizeof(*s->guesses));
	s->guess_log = calloc(1, sizeof(*s->guess_log));
	if (!s->adm || !s->guesses || !s->guess_log)
		return -ENOMEM;
	if (cfg->has_passcode &&
	    !admission_passcode_key(kpass, cfg->passcode, strlen(cfg->passcode),
				    s->dm->dev.local.static_public, NULL)) {
		log_err("cannot derive the passcode key (out of memory?)");
		return -ENOMEM;
	}
	if (!admission_server_init(s->adm, &s->dm->dev.local,
				   cfg->has_passcode ? kpass : NULL,
				   &s->dm->dev.nops)) {
		crypto_wipe(kpass, sizeof(kpass));
		return -EINVAL;
	}
	crypto_wipe(kpass, sizeof(kpass));
	crypto_random(rl_key, sizeof(rl_key));
	ratelimiter_init_rate(s->guesses, rl_key,
			      SERVER_GUESS_INTERVAL_SEC * NSEC_PER_SEC,
			      SERVER_GUESS_BURST);
	crypto_random(rl_key, sizeof(rl_key));
	ratelimiter_init_rate(s->guess_log, rl_key,
			      SERVER_GUESS_LOG_SEC * NSEC_PER_SEC, 1);

	add_named_clients(s);
	if ((ret = meta_init(s)) < 0)
		log_warn("cannot write %s/server.conf: add-client will not work (%s)",
			 s->st.dir, strerror(-ret));
	ret = ctl_listen(cfg->run_dir, cfg->ifname, s->ctl_path);
	if (ret < 0) {
		log_warn("no control socket (%s): add-client works only while the server is stopped",
			 strerror(-ret));
	} else {
		s->ctl_fd = ret;
		if (daemon_watch(s->dm, s->ctl_fd) < 0)
			log_warn("cannot watch the control socket");
	}
	if (pidfile_write(cfg->run_dir, cfg->ifname, s->pidfile) < 0)
		log_warn("cannot write %s/%s.pid: weft down will not find this server",
			 cfg->run_dir, cfg->ifname);
	if (!cfg->has_passcode)
		log_warn("no --passcode: anyone who knows the public key can connect");
	return 0;
}

static void stop(struct server *s)
{
	int ret;

	if (s->ctl_fd >= 0) {
		close(s->ctl_fd);
		unlink(s->ctl_path);
	}
	pidfile_remove(s->pidfile);
	if (s->st_open && s->st.pool && srvstate_save_pool(&s->st) < 0)
		log_warn("cannot save the address pool in %s", s->st.dir);
	/* The TUN goes first, with its addresses and routes; then what the
	 * journal says, newest first. */
	if (s->dm_init)
		daemon_destroy(s->dm);
	if (s->journal_open) {
		journal_close(&s->journal);
		ret = journal_undo(s->cfg->state_dir, s->cfg->ifname);
		if (ret < 0)
			log_err("could not put everything back; run: weft cleanup %s",
				s->cfg->ifname);
	}
	nl_close(s->nl);
	if (s->st_open)
		srvstate_close(&s->st);
	if (s->adm) {
		admission_server_clear(s->adm);
		free(s->adm);
	}
	free(s->guesses);
	free(s->guess_log);
}

int server_run(struct server_config *cfg)
{
	struct server s = { .cfg = cfg, .ctl_fd = -1 };
	struct daemon_hooks hooks = {
		.control_rx = on_control, .tick = on_tick, .fd_event = on_fd,
	};
	int status = 1;

	s.dm = calloc(1, sizeof(*s.dm));
	s.nl = calloc(1, sizeof(*s.nl));
	if (!s.dm || !s.nl) {
		log_err("out of memory");
		free(s.dm);
		free(s.nl);
		return 1;
	}
	if (start(&s) == 0) {
		hooks.ctx = &s;
		daemon_set_hooks(s.dm, &hooks);
		/* Ready: state written, control socket and pid file there. */
		printf("interface %s%s\nlistening on UDP port %u\n",
		       cfg->ifname, cfg->secure ? " (--secure)" : "",
		       s.dm->udp.port);
		fflush(stdout);
		status = daemon_run(s.dm);
		daemon_log_counters(s.dm);
		log_info("admitted %llu, wrong passcodes %llu",
			 (unsigned long long)s.admitted,
			 (unsigned long long)s.wrong_passcodes);
	}
	stop(&s);
	crypto_wipe(cfg->private_key, sizeof(cfg->private_key));
	crypto_wipe(cfg->passcode, sizeof(cfg->passcode));
	free(s.dm);
	free(s.nl);
	return status;
}
