/* peer.c - keypair rotation and staged packets of one peer. */
#include "core/peer.h"

#include "core/device.h"
#include "core/index.h"
#include "core/pool.h"

static void drop_slot(struct peer *p, int8_t *slot)
{
	struct noise_keypair *kp = peer_keypair(p, *slot);

	if (!kp)
		return;
	if (kp->valid)
		index_table_remove(&p->dev->index, kp->local_index);
	noise_keypair_clear(kp);
	*slot = KP_NONE;
}

static int8_t free_slot(const struct peer *p)
{
	for (int8_t i = 0; i < 3; i++)
		if (i != p->previous && i != p->current && i != p->next)
			return i;
	return KP_NONE;
}

struct noise_keypair *peer_add_keypair(struct peer *p,
				       const struct noise_keypair *kp)
{
	int8_t slot;

	if (kp->i_am_the_initiator) {
		/* A waiting next keypair was never confirmed by data; it
		 * still beats the current one as "previous" because the
		 * peer may already be sending with it. */
		if (p->next != KP_NONE) {
			drop_slot(p, &p->previous);
			p->previous = p->next;
			p->next = KP_NONE;
			drop_slot(p, &p->current);
		} else {
			drop_slot(p, &p->previous);
			p->previous = p->current;
			p->current = KP_NONE;
		}
		slot = free_slot(p);
		p->current = slot;
	} else {
		drop_slot(p, &p->next);
		slot = free_slot(p);
		p->next = slot;
	}
	p->kp[slot] = *kp;
	index_table_replace(&p->dev->index, kp->local_index, INDEX_KEYPAIR,
			    &p->kp[slot]);
	return &p->kp[slot];
}

bool peer_received_with_keypair(struct peer *p, struct noise_keypair *kp)
{
	if (p->next == KP_NONE || kp != &p->kp[p->next])
		return false;
	drop_slot(p, &p->previous);
	p->previous = p->current;
	p->current = p->next;
	p->next = KP_NONE;
	return true;
}

void peer_clear_keypairs(struct peer *p)
{
	drop_slot(p, &p->previous);
	drop_slot(p, &p->current);
	drop_slot(p, &p->next);
}

void peer_expire_current_keypair(struct peer *p)
{
	struct noise_keypair *kp = peer_keypair(p, p->current);

	/* Sending stops at once (the send path treats an exhausted counter
	 * as expired); receiving continues until the peer re-keys. */
	if (kp)
		kp->send_counter = REJECT_AFTER_MESSAGES;
	kp = peer_keypair(p, p->next);
	if (kp)
		kp->send_counter = REJECT_AFTER_MESSAGES;
}

uint32_t peer_new_handshake_index(struct peer *p)
{
	struct device *d = p->dev;

	if (p->hs_indexed)
		index_table_remove(&d->index, p->hs.local_index);
	p->hs_indexed = true;
	return index_table_insert(&d->index, INDEX_HANDSHAKE, p, NULL,
				  d->ops.random, d->ops.ctx);
}

void peer_clear_handshake(struct peer *p)
{
	if (p->hs_indexed) {
		index_table_remove(&p->dev->index, p->hs.local_index);
		p->hs_indexed = false;
	}
	noise_handshake_clear(&p->hs);
}

bool peer_can_send(const struct peer *p)
{
	const struct noise_keypair *kp =
		p->current == KP_NONE ? NULL : &p->kp[p->current];
	const struct device *d = p->dev;

	return kp && kp->valid && kp->send_counter < REJECT_AFTER_MESSAGES &&
	       d->now < kp->birthdate + d->times.reject_after_time;
}

void peer_stage_packet(struct peer *p, struct pkt *k)
{
	struct device *d = p->dev;

	/* Keep the newest packets: drop the oldest when full. */
	if (p->staged_n >= MAX_STAGED_PACKETS) {
		struct pkt *old = p->staged_head;

		p->staged_head = old->next;
		if (!p->staged_head)
			p->staged_tail = NULL;
		p->staged_n--;
		d->staged_total--;
		pool_put(d->pool, old);
		d->counters.tx_staged_dropped++;
	}
	/* Many unreachable peers must not drain the pool that every other
	 * packet needs: past the device-wide limit, packets that would have
	 * to wait for a session are dropped. (Packets of a peer with a
	 * session pass through the queue and leave in the same call.) */
	if (d->staged_total >= STAGED_TOTAL_MAX && !peer_can_send(p)) {
		pool_put(d->pool, k);
		d->counters.tx_staged_dropped++;
		/* Still ask for a session (rate-limited as always), so the
		 * peer's next packets pass once it is up. */
		send_handshake_initiation(p, false);
		return;
	}
	d->staged_total++;
	k->next = NULL;
	if (p->staged_tail)
		p->staged_tail->next = k;
	else
		p->staged_head = k;
	p->staged_tail = k;
	p->staged_n++;
}

void peer_purge_staged(struct peer *p)
{
	struct pkt *k = p->staged_head;

	while (k) {
		struct pkt *n = k->next;

		pool_put(p->dev->pool, k);
		k = n;
	}
	p->dev->staged_total -= p->staged_n;
	p->staged_head = p->staged_tail = NULL;
	p->staged_n = 0;
}
