/* paths.c - candidate paths to one peer (paths.h). */
#include "mesh/paths.h"

#include <string.h>

void path_init(struct path_peer *pp)
{
	memset(pp, 0, sizeof(*pp));
	pp->best = -1;
}

static int find(const struct path_peer *pp, const struct wg_endpoint *ep)
{
	for (unsigned i = 0; i < pp->n; i++)
		if (endpoint_equal(&pp->cands[i].ep, ep))
			return (int)i;
	return -1;
}

void path_burst(struct path_peer *pp, wg_time_t now)
{
	pp->burst_until = now + PATH_BURST;
	pp->next_burst_ping = now;
}

void path_set_candidates(struct path_peer *pp, const struct wg_endpoint *eps,
			 const bool *lan, unsigned n, wg_time_t now)
{
	struct path_cand next[PATH_MAX_CANDS];
	struct wg_endpoint chosen_ep;
	unsigned k = 0, i;
	bool changed = false;

	chosen_ep = pp->best >= 0 ? pp->cands[pp->best].ep : (struct wg_endpoint){ 0 };
	for (i = 0; i < n && k < MESH_MAX_ENDPOINTS; i++) {
		int old = find(pp, &eps[i]);

		if (old >= 0) {
			next[k] = pp->cands[old];
			next[k].observed = false;
		} else {
			memset(&next[k], 0, sizeof(next[k]));
			next[k].ep = eps[i];
			changed = true;
		}
		next[k].ep.src_family = 0;
		next[k++].lan = lan[i];
	}
	/* Observed ones stay while there is room: they are often the only
	 * ones that work through a NAT. */
	for (i = 0; i < pp->n && k < PATH_MAX_CANDS; i++) {
		bool dup = false;

		if (!pp->cands[i].observed)
			continue;
		for (unsigned j = 0; j < k; j++)
			dup |= endpoint_equal(&next[j].ep, &pp->cands[i].ep);
		if (!dup)
			next[k++] = pp->cands[i];
	}
	if (k != pp->n)
		changed = true;
	memcpy(pp->cands, next, k * sizeof(next[0]));
	pp->n = k;
	pp->best = chosen_ep.family ? find(pp, &chosen_ep) : -1;
	if (changed)
		path_burst(pp, now);
}

void path_set_relay(struct path_peer *pp, const struct wg_endpoint *relay)
{
	if (relay)
		pp->relay = *relay;
	else
		memset(&pp->relay, 0, sizeof(pp->relay));
}

void path_observed(struct path_peer *pp, const struct wg_endpoint *ep,
		   bool lan, wg_time_t now)
{
	unsigned i, observed = 0, oldest = 0;
	struct path_cand *c;

	if (ep->relay || find(pp, ep) >= 0)
		return;
	for (i = 0; i < pp->n; i++)
		if (pp->cands[i].observed)
			observed++;
	if (observed >= PATH_MAX_OBSERVED || pp->n >= PATH_MAX_CANDS) {
		/* Replace the observed one that answered longest ago. */
		bool any = false;

		for (i = 0; i < pp->n; i++)
			if (pp->cands[i].observed && (int)i != pp->best &&
			    (!any || pp->cands[i].pong_at < pp->cands[oldest].pong_at)) {
				oldest = i;
				any = true;
			}
		if (!any)
			return;
		c = &pp->cands[oldest];
	} else {
		c = &pp->cands[pp->n++];
	}
	memset(c, 0, sizeof(*c));
	c->ep = *ep;
	c->ep.src_family = 0;
	c->lan = lan;
	c->observed = true;
	path_burst(pp, now);
}

static bool alive(const struct path_cand *c, wg_time_t now)
{
	return c->pong_at && now < c->pong_at + PATH_ALIVE;
}

unsigned path_due(struct path_peer *pp, wg_time_t now, unsigned out[PATH_MAX_CANDS],
		  bool *punch, void (*rnd)(void *buf, size_t len))
{
	unsigned k = 0, i;

	*punch = false;
	/* No direct path: try again now and then, the peer with us. */
	if (pp->best < 0 && pp->n && now >= pp->next_upgrade) {
		pp->next_upgrade = now + PATH_UPGRADE;
		if (now >= pp->burst_until) {
			path_burst(pp, now);
			*punch = pp->relay.family != 0;
		}
	}
	if (now < pp->burst_until && now >= pp->next_burst_ping) {
		pp->next_burst_ping = now + PATH_BURST_INTERVAL;
		for (i = 0; i < pp->n; i++)
			out[k++] = i;
	} else if (pp->best >= 0 &&
		   now >= pp->cands[pp->best].ping_sent + PATH_KEEP) {
		out[k++] = (unsigned)pp->best;
	}
	for (i = 0; i < k; i++) {
		rnd(pp->cands[out[i]].txid, PATH_TXID_LEN);
		pp->cands[out[i]].ping_sent = now;
	}
	return k;
}

bool path_pong(struct path_peer *pp, const uint8_t txid[PATH_TXID_LEN],
	       wg_time_t now)
{
	for (unsigned i = 0; i < pp->n; i++) {
		struct path_cand *c = &pp->cands[i];

		if (c->ping_sent && !memcmp(c->txid, txid, PATH_TXID_LEN)) {
			c->rtt_ns = now - c->ping_sent;
			c->pong_at = now;
			/* One answer per ping. */
			memset(c->txid, 0, sizeof(c->txid));
			return true;
		}
	}
	return false;
}

/* Whether working candidate i beats working candidate b: lan first; of
 * one kind, the one in use (no flapping between two good paths), else
 * the faster. */
static bool better(const struct path_peer *pp, int i, int b)
{
	const struct path_cand *c = &pp->cands[i], *o = &pp->cands[b];

	if (c->lan != o->lan)
		return c->lan;
	if (b == pp->best || i == pp->best)
		return i == pp->best;
	return c->rtt_ns < o->rtt_ns;
}

bool path_choose(struct path_peer *pp, wg_time_t now, struct wg_endpoint *ep)
{
	int best = -1;
	unsigned i;
	bool changed;

	for (i = 0; i < pp->n; i++)
		if (alive(&pp->cands[i], now) && (best < 0 || better(pp, (int)i, best)))
			best = (int)i;
	pp->best = best;
	memset(ep, 0, sizeof(*ep));
	if (best >= 0) {
		*ep = pp->cands[best].ep;
		pp->kind = pp->cands[best].lan ? PATH_LAN : PATH_DIRECT;
	} else if (pp->relay.family) {
		*ep = pp->relay;
		pp->kind = PATH_RELAY;
	} else {
		/* Blind: the first lan candidate, else the first. */
		for (i = 0; i < pp->n && !pp->cands[i].lan; i++)
			;
		if (pp->n)
			*ep = pp->cands[i < pp->n ? i : 0].ep;
		pp->kind = PATH_NONE;
	}
	changed = !endpoint_equal(ep, &pp->chosen);
	pp->chosen = *ep;
	if (changed && best >= 0)
		pp->direct_since = now;
	return changed;
}

wg_time_t path_next_event(const struct path_peer *pp)
{
	wg_time_t next = 0;

	if (pp->burst_until > pp->next_burst_ping)
		next = pp->next_burst_ping;
	if (pp->best >= 0) {
		wg_time_t keep = pp->cands[pp->best].ping_sent + PATH_KEEP;

		if (!next || keep < next)
			next = keep;
	}
	return next;
}

const char *path_kind_name(enum path_kind k)
{
	switch (k) {
	case PATH_LAN: return "lan";
	case PATH_DIRECT: return "direct";
	case PATH_RELAY: return "relay";
	case PATH_NONE: break;
	}
	return "trying";
}
