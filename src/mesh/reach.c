/* reach.c - relay registration, STUN and path probes of a mesh node
 * (reach.h). */
#include "mesh/reach.h"

#include <string.h>

#include <sodium.h>

#include "core/peer.h"
#include "core/relay.h"
#include "mesh/pathmsg.h"
#include "os/linux/clock.h"
#include "os/linux/log.h"

static void rnd(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

void reach_init(struct reach *r, struct device *dev, const char *network,
		const uint8_t id_pk[MESH_KEY_LEN], const uint8_t *id_sk,
		const uint8_t wg_priv[MESH_KEY_LEN], const uint8_t wg_pub[MESH_KEY_LEN])
{
	memset(r, 0, sizeof(*r));
	r->dev = dev;
	snprintf(r->network, sizeof(r->network), "%s", network);
	memcpy(r->id_pk, id_pk, MESH_KEY_LEN);
	r->id_sk = id_sk;
	memcpy(r->wg_priv, wg_priv, MESH_KEY_LEN);
	memcpy(r->wg_pub, wg_pub, MESH_KEY_LEN);
}

void reach_wipe(struct reach *r)
{
	sodium_memzero(r->wg_priv, sizeof(r->wg_priv));
}

static bool alive(const struct reach_server *s, wg_time_t now)
{
	return s->relay && s->answered && now < s->answered + REACH_RELAY_ALIVE;
}

void reach_set_servers(struct reach *r, const struct roster *ro, wg_time_t now)
{
	struct reach_server next[2 * MESH_MAX_RELAYS];
	unsigned k = 0, i, j;

	for (i = 0; i < ro->n_relays + ro->n_stun; i++) {
		bool relay = i < ro->n_relays;
		const struct wg_endpoint *ep = relay ? &ro->relays[i] : &ro->stun[i - ro->n_relays];

		memset(&next[k], 0, sizeof(next[k]));
		for (j = 0; j < r->n_servers; j++)
			if (endpoint_equal(&r->servers[j].ep, ep) && r->servers[j].relay == relay)
				next[k] = r->servers[j];
		next[k].ep = *ep;
		next[k].relay = relay;
		k++;
	}
	if (k != r->n_servers || memcmp(next, r->servers, k * sizeof(next[0])))
		r->changed = true;
	memcpy(r->servers, next, k * sizeof(next[0]));
	r->n_servers = k;
	r->next_stun = now;
}

void reach_network_changed(struct reach *r, wg_time_t now)
{
	/* Where we are seen may have changed: ask every server again, and
	 * register again from the new address. */
	r->next_stun = now;
	r->n_publics = 0;
	r->changed = true;
	for (unsigned i = 0; i < r->n_servers; i++)
		r->servers[i].sent = 0;
}

static void send_to(struct reach *r, const struct wg_endpoint *ep, const void *msg,
		    size_t len)
{
	(void)device_send_control(r->dev, ep, msg, len);
}

void reach_tick(struct reach *r, wg_time_t now)
{
	bool stun = now >= r->next_stun;

	if (stun)
		r->next_stun = now + REACH_STUN_EVERY;
	for (unsigned i = 0; i < r->n_servers; i++) {
		struct reach_server *s = &r->servers[i];

		if (s->relay && (!s->sent || now >= s->sent + REACH_REGISTER_EVERY)) {
			struct path_register reg;
			uint8_t out[PATH_REGISTER_LEN];
			uint64_t t = clock_wall_ms();

			memset(&reg, 0, sizeof(reg));
			snprintf(reg.network, sizeof(reg.network), "%s", r->network);
			memcpy(reg.device, r->id_pk, MESH_KEY_LEN);
			memcpy(reg.wg, r->wg_pub, MESH_KEY_LEN);
			reg.time_ms = t > s->reg_time ? t : s->reg_time + 1;
			s->reg_time = reg.time_ms;
			path_register_seal(out, &reg, r->id_sk);
			send_to(r, &s->ep, out, sizeof(out));
			s->sent = now;
		}
		if (stun) {
			uint8_t req[STUN_REQUEST_MAX];
			size_t n;

			randombytes_buf(s->txid, sizeof(s->txid));
			n = stun_request(req, s->txid, false);
			send_to(r, &s->ep, req, n);
			s->stun_sent = now;
		}
	}
}

unsigned reach_relays(const struct reach *r, struct wg_endpoint *out, unsigned max)
{
	wg_time_t now = r->dev->now;
	unsigned k = 0;

	for (unsigned i = 0; i < r->n_servers && k < max; i++)
		if (alive(&r->servers[i], now))
			out[k++] = r->servers[i].ep;
	return k;
}

static void add_public(struct reach *r, const struct wg_endpoint *seen)
{
	struct wg_endpoint e = *seen;
	unsigned i;

	memset(&e.src_addr, 0, sizeof(e.src_addr));
	e.src_family = 0;
	e.src_ifindex = 0;
	for (i = 0; i < r->n_publics; i++)
		if (endpoint_equal(&r->publics[i], &e))
			return;
	memmove(&r->publics[1], &r->publics[0],
		(REACH_MAX_PUBLIC - 1) * sizeof(r->publics[0]));
	r->publics[0] = e;
	if (r->n_publics < REACH_MAX_PUBLIC)
		r->n_publics++;
	r->changed = true;
	{
		char s[ENDPOINT_STR_MAX];

		endpoint_format(&e, s);
		log_info("seen from outside as %s", s);
	}
}

bool reach_peer_init(struct reach *r, struct reach_peer *rp, struct peer *p,
		     const uint8_t wg[MESH_KEY_LEN])
{
	memset(rp, 0, sizeof(*rp));
	rp->p = p;
	memcpy(rp->wg, wg, MESH_KEY_LEN);
	path_init(&rp->path);
	rp->shared_ok = path_shared(rp->shared, r->wg_priv, wg) == 0;
	return rp->shared_ok;
}

static void send_probe(struct reach *r, struct reach_peer *rp, uint8_t sub,
		       const uint8_t txid[PATH_TXID_LEN], const struct wg_endpoint *to,
		       const struct wg_endpoint *seen)
{
	struct path_probe pr;
	uint8_t out[PATH_PROBE_LEN];

	memset(&pr, 0, sizeof(pr));
	pr.sub = sub;
	memcpy(pr.sender, r->wg_pub, MESH_KEY_LEN);
	memcpy(pr.txid, txid, PATH_TXID_LEN);
	if (seen && !seen->relay) {
		pr.seen = *seen;
		pr.seen.src_family = 0;
	}
	path_probe_seal(out, &pr, rp->shared);
	send_to(r, to, out, sizeof(out));
	r->probes_sent++;
}

/* Move the WireGuard endpoint to the path chosen, unless WireGuard itself
 * roamed to a direct address that may yet prove good. */
static void apply(struct reach *r, struct reach_peer *rp, wg_time_t now)
{
	struct wg_endpoint ep;
	const struct wg_endpoint *cur = &rp->p->endpoint;
	bool changed = path_choose(&rp->path, now, &ep);

	if (!ep.family || endpoint_equal(cur, &ep))
		return;
	if (!changed && cur->family && !cur->relay) {
		int i;

		for (i = 0; i < (int)rp->path.n; i++)
			if (endpoint_equal(&rp->path.cands[i].ep, cur))
				break;
		if (i == (int)rp->path.n) {
			/* The peer talks from somewhere new: test it. */
			path_observed(&rp->path, cur,
				      r->is_lan && r->is_lan(r->lan_ctx, cur), now);
			return;
		}
		if (now < rp->path.burst_until || rp->path.cands[i].pong_at + PATH_ALIVE > now)
			return;
	}
	peer_set_endpoint(rp->p, &ep);
	if (!rp->p->last_handshake_sec) {
		/* Whatever was sent before went nowhere. */
		rp->p->have_sent_handshake = false;
		rp->p->dev->now = now;
		send_handshake_initiation(rp->p, false);
	}
	(void)r;
}

wg_time_t reach_peer_tick(struct reach *r, struct reach_peer *rp, wg_time_t now)
{
	unsigned due[PATH_MAX_CANDS], n, i;
	bool punch;

	if (!rp->shared_ok)
		return 0;
	n = path_due(&rp->path, now, due, &punch, rnd);
	for (i = 0; i < n; i++) {
		const struct path_cand *c = &rp->path.cands[due[i]];

		send_probe(r, rp, WEFT_SUB_PING, c->txid, &c->ep, NULL);
	}
	if (punch) {
		uint8_t txid[PATH_TXID_LEN];

		rnd(txid, sizeof(txid));
		send_probe(r, rp, WEFT_SUB_PUNCH, txid, &rp->path.relay, NULL);
	}
	apply(r, rp, now);
	return path_next_event(&rp->path);
}

/* A ping came from a candidate that has not answered us yet: ping it back
 * at once rather than at the next burst tick (our earlier pings may have
 * reached the peer before it knew us), so both sides confirm the path
 * within a round trip of each other. */
static void triggered_ping(struct reach *r, struct reach_peer *rp,
			   const struct wg_endpoint *from, wg_time_t now)
{
	for (unsigned i = 0; i < rp->path.n; i++) {
		struct path_cand *c = &rp->path.cands[i];

		if (!endpoint_equal(&c->ep, from))
			continue;
		if ((c->pong_at && now < c->pong_at + PATH_ALIVE) ||
		    (c->ping_sent && now < c->ping_sent + PATH_BURST_INTERVAL / 5))
			return;
		rnd(c->txid, PATH_TXID_LEN);
		c->ping_sent = now;
		send_probe(r, rp, WEFT_SUB_PING, c->txid, &c->ep, NULL);
		return;
	}
}

static void input_probe(struct reach *r, const struct pkt *k, wg_time_t now,
			struct reach_peer *(*find)(void *, const uint8_t *), void *arg)
{
	const uint8_t *msg = pkt_cdata(k);
	uint8_t sender[MESH_KEY_LEN];
	struct reach_peer *rp;
	struct path_probe pr;

	if (path_probe_sender(msg, k->len, sender) || !(rp = find(arg, sender)) ||
	    !rp->shared_ok || path_probe_open(&pr, msg, k->len, rp->shared)) {
		r->bad_probes++;
		return;
	}
	r->probes_received++;
	switch (pr.sub) {
	case WEFT_SUB_PING:
		send_probe(r, rp, WEFT_SUB_PONG, pr.txid, &k->ep, &k->ep);
		if (!k->ep.relay) {
			path_observed(&rp->path, &k->ep,
				      r->is_lan && r->is_lan(r->lan_ctx, &k->ep), now);
			triggered_ping(r, rp, &k->ep, now);
		}
		break;
	case WEFT_SUB_PONG:
		if (path_pong(&rp->path, pr.txid, now))
			apply(r, rp, now);
		break;
	case WEFT_SUB_PUNCH:
		path_burst(&rp->path, now);
		break;
	}
}

void reach_input(struct reach *r, const struct pkt *k, wg_time_t now,
		 struct reach_peer *(*find)(void *arg, const uint8_t wg[MESH_KEY_LEN]),
		 void *arg)
{
	const uint8_t *msg = pkt_cdata(k);
	uint8_t sub = weft_subtype(msg, k->len);
	unsigned i;

	if (stun_is(msg, k->len)) {
		uint8_t txid[STUN_TXID_LEN];
		struct wg_endpoint seen;

		if (stun_parse_response(msg, k->len, txid, &seen))
			return;
		for (i = 0; i < r->n_servers; i++) {
			struct reach_server *s = &r->servers[i];

			if (!sodium_memcmp(s->txid, txid, sizeof(txid))) {
				memset(s->txid, 0, sizeof(s->txid));
				s->seen = seen;
				s->rtt_ns = now - s->stun_sent;
				add_public(r, &seen);
			}
		}
		return;
	}
	if (sub == WEFT_SUB_REGISTERED) {
		struct wg_endpoint seen;
		uint64_t t;

		if (path_registered_parse(msg, k->len, &t, &seen) || k->ep.relay)
			return;
		for (i = 0; i < r->n_servers; i++) {
			struct reach_server *s = &r->servers[i];

			if (!s->relay || !endpoint_equal(&s->ep, &k->ep) || t != s->reg_time)
				continue;
			s->answered = now;
			s->rtt_ns = now - s->sent;
			s->seen = seen;
			if (seen.family)
				add_public(r, &seen);
		}
		return;
	}
	if (sub == WEFT_SUB_PING || sub == WEFT_SUB_PONG || sub == WEFT_SUB_PUNCH)
		input_probe(r, k, now, (struct reach_peer *(*)(void *, const uint8_t *))find, arg);
}

enum path_kind reach_peer_kind(const struct reach_peer *rp)
{
	const struct wg_endpoint *cur = &rp->p->endpoint;
	wg_time_t now = rp->p->dev->now;

	if (!cur->family)
		return PATH_NONE;
	if (cur->relay)
		return PATH_RELAY;
	/* A candidate counts once it answered a probe; until then it is
	 * being tried. An address the peer roamed to is direct. */
	for (unsigned i = 0; i < rp->path.n; i++) {
		const struct path_cand *c = &rp->path.cands[i];

		if (!endpoint_equal(&c->ep, cur))
			continue;
		if (!c->pong_at || now >= c->pong_at + PATH_ALIVE)
			return PATH_NONE;
		return c->lan ? PATH_LAN : PATH_DIRECT;
	}
	return PATH_DIRECT;
}
