/* device.c - the device: identity, peer tables, timer heap, output
 * batches and the handshake queue. The packet paths are send.c and
 * receive.c. */
#include "core/device.h"
#include "core/relay.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/peer.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

static void nops_random(void *ctx, void *buf, size_t len)
{
	struct device *d = ctx;

	d->ops.random(d->ops.ctx, buf, len);
}

static void nops_tai64n(void *ctx, uint8_t out[NOISE_TIMESTAMP_LEN])
{
	struct device *d = ctx;

	d->ops.tai64n(d->ops.ctx, out);
}

static void times_from_protocol(struct protocol_times *t)
{
	t->rekey_after_time = REKEY_AFTER_TIME * NSEC_PER_SEC;
	t->reject_after_time = REJECT_AFTER_TIME * NSEC_PER_SEC;
	t->rekey_timeout = REKEY_TIMEOUT * NSEC_PER_SEC;
	t->keepalive_timeout = KEEPALIVE_TIMEOUT * NSEC_PER_SEC;
}

int device_init(struct device *d, const struct device_ops *ops,
		struct pool *pool)
{
	uint8_t rkey[16];

	memset(d, 0, sizeof(*d));
	d->ops = *ops;
	d->pool = pool;
	d->nops = (struct noise_ops){ .ctx = d, .random = nops_random,
				      .tai64n = nops_tai64n };
	d->mtu = WG_DEFAULT_MTU;
	times_from_protocol(&d->times);
	allowedips_init(&d->allowedips);
	cookie_checker_init(&d->cookie_checker, NULL);
	d->ops.random(d->ops.ctx, d->hash_key, sizeof(d->hash_key));
	d->ops.random(d->ops.ctx, &d->jitter_state, sizeof(d->jitter_state));
	d->ops.random(d->ops.ctx, rkey, sizeof(rkey));
	d->ratelimiter = malloc(sizeof(*d->ratelimiter));
	d->hash_mask = 63;
	d->hash = calloc(d->hash_mask + 1, sizeof(*d->hash));
	if (!d->ratelimiter || !d->hash || index_table_init(&d->index, 64)) {
		free(d->ratelimiter);
		free(d->hash);
		return -ENOMEM;
	}
	d->index.watch = ops->index_live;
	d->index.watch_ctx = ops->ctx;
	ratelimiter_init(d->ratelimiter, rkey);
	crypto_wipe(rkey, sizeof(rkey));
	return 0;
}

void device_destroy(struct device *d)
{
	device_remove_all_peers(d);
	for (struct pkt *k = d->hsq_head, *n; k; k = n) {
		n = k->next;
		pool_put(d->pool, k);
	}
	for (unsigned i = 0; i < d->udp_out.n; i++)
		pool_put(d->pool, d->udp_out.p[i]);
	for (unsigned i = 0; i < d->tun_out.n; i++)
		pool_put(d->pool, d->tun_out.p[i]);
	allowedips_free(&d->allowedips);
	index_table_destroy(&d->index);
	free(d->hash);
	free(d->heap);
	free(d->ratelimiter);
	crypto_wipe(&d->local, sizeof(d->local));
	crypto_wipe(&d->cookie_checker, sizeof(d->cookie_checker));
	memset(d, 0, sizeof(*d));
}

/* ---- public key table (SipHash with a secret key) ---- */

static size_t hash_slot(const struct device *d, const uint8_t *pubkey)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, pubkey, NOISE_PUBLIC_KEY_LEN, d->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & d->hash_mask;
}

struct peer *device_lookup_peer(const struct device *d,
				const uint8_t pubkey[NOISE_PUBLIC_KEY_LEN])
{
	struct peer *p = d->hash[hash_slot(d, pubkey)];

	for (; p; p = p->hash_next)
		if (crypto_equal(p->hs.remote_static, pubkey,
				 NOISE_PUBLIC_KEY_LEN))
			return p;
	return NULL;
}

static int hash_grow(struct device *d)
{
	size_t oldcap = d->hash_mask + 1, cap = oldcap * 2;
	struct peer **old = d->hash;

	d->hash = calloc(cap, sizeof(*d->hash));
	if (!d->hash) {
		d->hash = old;
		return -ENOMEM;
	}
	d->hash_mask = cap - 1;
	for (size_t i = 0; i < oldcap; i++) {
		for (struct peer *p = old[i], *n; p; p = n) {
			size_t s = hash_slot(d, p->hs.remote_static);

			n = p->hash_next;
			p->hash_next = d->hash[s];
			d->hash[s] = p;
		}
	}
	free(old);
	return 0;
}

static void hash_remove(struct device *d, struct peer *p)
{
	struct peer **pp = &d->hash[hash_slot(d, p->hs.remote_static)];

	for (; *pp; pp = &(*pp)->hash_next) {
		if (*pp == p) {
			*pp = p->hash_next;
			return;
		}
	}
}

/* ---- timer heap: a min-heap of peers by their earliest deadline ----
 * The heap key may be earlier than the peer's real next deadline (timers
 * are pushed later on every packet; re-sorting each time would cost a
 * heap operation per packet). When a key comes due, the peer's timers run
 * and the peer is re-keyed with its real next deadline. */

static void heap_swap(struct device *d, size_t a, size_t b)
{
	struct peer *t = d->heap[a];

	d->heap[a] = d->heap[b];
	d->heap[b] = t;
	d->heap[a]->heap_pos = a;
	d->heap[b]->heap_pos = b;
}

static void heap_up(struct device *d, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (d->heap[parent]->heap_key <= d->heap[i]->heap_key)
			break;
		heap_swap(d, i, parent);
		i = parent;
	}
}

static void heap_down(struct device *d, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < d->heap_len && d->heap[l]->heap_key < d->heap[m]->heap_key)
			m = l;
		if (r < d->heap_len && d->heap[r]->heap_key < d->heap[m]->heap_key)
			m = r;
		if (m == i)
			return;
		heap_swap(d, i, m);
		i = m;
	}
}

static void heap_remove(struct device *d, struct peer *p)
{
	size_t i = p->heap_pos;

	if (i == SIZE_MAX)
		return;
	p->heap_pos = SIZE_MAX;
	if (i != --d->heap_len) {
		d->heap[i] = d->heap[d->heap_len];
		d->heap[i]->heap_pos = i;
		heap_down(d, i);
		heap_up(d, i);
	}
}

void device_timer_update(struct device *d, struct peer *p)
{
	wg_time_t next = timers_next(p);

	if (!next) {
		heap_remove(d, p);
		return;
	}
	if (p->heap_pos == SIZE_MAX) {
		/* Room was reserved when the peer was added. */
		p->heap_key = next;
		p->heap_pos = d->heap_len;
		d->heap[d->heap_len++] = p;
		heap_up(d, p->heap_pos);
	} else if (next < p->heap_key) {
		p->heap_key = next;
		heap_up(d, p->heap_pos);
	}
}

wg_time_t device_next_deadline(const struct device *d)
{
	return d->heap_len ? d->heap[0]->heap_key : 0;
}

void device_timers_run(struct device *d, wg_time_t now)
{
	d->now = now;
	while (d->heap_len && d->heap[0]->heap_key <= now) {
		struct peer *p = d->heap[0];

		timers_run(p, now);
		/* Re-key with the real next deadline (maybe later, maybe none). */
		wg_time_t next = timers_next(p);

		if (!next) {
			heap_remove(d, p);
		} else {
			p->heap_key = next;
			heap_down(d, p->heap_pos);
			heap_up(d, p->heap_pos);
		}
	}
	device_flush(d);
}

/* ---- identity and peers ---- */

bool device_set_private_key(struct device *d,
			    const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	struct noise_local next;
	struct peer *self;

	if (!noise_local_set_private(&next, key))
		return false;
	if (d->local.has_identity &&
	    crypto_equal(next.static_private, d->local.static_private,
			 NOISE_PUBLIC_KEY_LEN)) {
		crypto_wipe(&next, sizeof(next));
		return true;
	}
	/* A peer with our own public key would be a loop: drop it. */
	self = device_lookup_peer(d, next.static_public);
	if (self)
		device_remove_peer(d, self);
	d->local = next;
	crypto_wipe(&next, sizeof(next));
	cookie_checker_init(&d->cookie_checker, d->local.static_public);
	for (struct peer *p = d->peers_head; p; p = p->list_next) {
		noise_handshake_precompute(&p->hs, &d->local);
		peer_expire_current_keypair(p);
	}
	return true;
}

void device_clear_private_key(struct device *d)
{
	crypto_wipe(&d->local, sizeof(d->local));
	cookie_checker_init(&d->cookie_checker, NULL);
	for (struct peer *p = d->peers_head; p; p = p->list_next) {
		noise_handshake_precompute(&p->hs, &d->local);
		peer_clear_handshake(p);
		peer_clear_keypairs(p);
	}
}

struct peer *device_add_peer(struct device *d,
			     const uint8_t pubkey[NOISE_PUBLIC_KEY_LEN],
			     int *err)
{
	struct peer *p;

	if (d->local.has_identity &&
	    crypto_equal(pubkey, d->local.static_public, NOISE_PUBLIC_KEY_LEN)) {
		*err = -EEXIST;
		return NULL;
	}
	if (d->npeers >= MAX_PEERS_PER_DEVICE) {
		*err = -ENOSPC;
		return NULL;
	}
	/* Every peer may be in the timer heap at once, whether or not its
	 * timers are armed now: size it by the number of peers. */
	if (d->npeers + 1 > d->heap_cap) {
		size_t cap = d->heap_cap ? d->heap_cap * 2 : 16;
		struct peer **h = realloc(d->heap, cap * sizeof(*h));

		if (!h)
			goto nomem;
		d->heap = h;
		d->heap_cap = cap;
	}
	/* Each peer holds at most four indices (handshake + 3 keypairs). */
	if (index_table_reserve(&d->index, 4) ||
	    (d->npeers + 1 > d->hash_mask + 1 && hash_grow(d)))
		goto nomem;
	p = calloc(1, sizeof(*p));
	if (!p)
		goto nomem;
	p->dev = d;
	p->internal_id = ++d->next_peer_id;
	p->added = d->now;
	p->previous = p->current = p->next = KP_NONE;
	p->heap_pos = SIZE_MAX;
	noise_handshake_init(&p->hs, &d->local, pubkey, NULL);
	cookie_maker_init(&p->cookie, pubkey);
	timers_init(&p->timers);

	size_t s = hash_slot(d, pubkey);

	p->hash_next = d->hash[s];
	d->hash[s] = p;
	p->list_prev = d->peers_tail;
	if (d->peers_tail)
		d->peers_tail->list_next = p;
	else
		d->peers_head = p;
	d->peers_tail = p;
	d->npeers++;
	return p;
nomem:
	*err = -ENOMEM;
	return NULL;
}

void device_remove_peer(struct device *d, struct peer *p)
{
	/* Packets of this peer may sit in the output batches: send them now
	 * so nothing points at freed memory. */
	device_flush(d);
	timers_stop(p);
	heap_remove(d, p);
	peer_purge_staged(p);
	peer_clear_keypairs(p);
	peer_clear_handshake(p);
	allowedips_remove_by_owner(&d->allowedips, p);
	hash_remove(d, p);
	if (p->list_prev)
		p->list_prev->list_next = p->list_next;
	else
		d->peers_head = p->list_next;
	if (p->list_next)
		p->list_next->list_prev = p->list_prev;
	else
		d->peers_tail = p->list_prev;
	d->npeers--;
	crypto_wipe(p, sizeof(*p));
	free(p);
}

void device_remove_all_peers(struct device *d)
{
	while (d->peers_head)
		device_remove_peer(d, d->peers_head);
}

void peer_set_psk(struct peer *p, const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	noise_handshake_set_psk(&p->hs, psk);
}

void peer_set_endpoint(struct peer *p, const struct wg_endpoint *ep)
{
	p->endpoint = *ep;
	p->endpoint.src_family = 0;
}

void peer_set_persistent_keepalive(struct peer *p, uint16_t seconds,
				   wg_time_t now)
{
	bool newly_on = seconds && !p->persistent_keepalive;

	p->persistent_keepalive = seconds;
	if (!seconds) {
		p->timers.persistent_keepalive = 0;
		return;
	}
	/* Like the kernel: a keepalive goes out at once, so a peer behind
	 * NAT becomes reachable without waiting for the first interval. */
	if (newly_on && p->endpoint.family) {
		p->dev->now = now;
		send_keepalive(p);
		device_flush(p->dev);
	}
}

/* ---- output batches ---- */

static void flush_batch(struct device *d, struct batch *b,
			void (*out)(void *ctx, struct batch *b))
{
	if (!b->n)
		return;
	out(d->ops.ctx, b);
	for (unsigned i = 0; i < b->n; i++) {
		struct pkt *k = b->p[i];
		struct peer *p = k->peer;

		/* The OS layer clears a sticky source the kernel refused (the
		 * address or its link went away): forget it for the peer too,
		 * so the next packets do not pay for the failed attempt. */
		if (p && !k->ep.src_family && p->endpoint.src_family &&
		    endpoint_equal(&p->endpoint, &k->ep))
			p->endpoint.src_family = 0;
		pool_put(d->pool, k);
	}
	b->n = 0;
}

void device_flush(struct device *d)
{
	flush_batch(d, &d->udp_out, d->ops.udp_send);
	flush_batch(d, &d->tun_out, d->ops.tun_write);
}

void device_queue_udp(struct device *d, struct pkt *k)
{
	if (k->ep.relay) {
		long off = relay_wrap(k->buf, sizeof(k->buf), k->off, k->len,
				      WEFT_SUB_RELAY_TO, k->ep.tag);

		if (off < 0) {
			d->counters.tx_bad_packet++;
			pool_put(d->pool, k);
			return;
		}
		k->off = (uint32_t)off;
		k->len += RELAY_HEADER_LEN;
		d->counters.tx_relayed++;
	}
	d->udp_out.p[d->udp_out.n++] = k;
	if (batch_full(&d->udp_out))
		flush_batch(d, &d->udp_out, d->ops.udp_send);
}

void device_queue_tun(struct device *d, struct pkt *k)
{
	d->tun_out.p[d->tun_out.n++] = k;
	if (batch_full(&d->tun_out))
		flush_batch(d, &d->tun_out, d->ops.tun_write);
}
