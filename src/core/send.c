/* send.c - the transmit path: plaintext from the TUN is routed by allowed
 * IPs, staged per peer, encrypted in place and queued for UDP; plus the
 * handshake initiations and keepalives the timers ask for. */
#include <string.h>

#include "core/device.h"
#include "core/peer.h"
#include "crypto/aead.h"

void send_handshake_initiation(struct peer *p, bool is_retry)
{
	struct device *d = p->dev;
	struct message_handshake_initiation *msg;
	struct pkt *k;

	if (!is_retry)
		p->timers.handshake_attempts = 0;
	/* At most one initiation per REKEY_TIMEOUT, whatever asks for it. */
	if (p->have_sent_handshake &&
	    d->now < p->last_sent_handshake + d->times.rekey_timeout)
		return;
	if (!d->local.has_identity || !p->endpoint.family)
		return;
	k = pool_get(d->pool);
	if (!k) {
		d->counters.pool_exhausted++;
		return;
	}
	p->last_sent_handshake = d->now;
	p->have_sent_handshake = true;

	uint32_t idx = peer_new_handshake_index(p);

	msg = (struct message_handshake_initiation *)k->buf;
	if (!noise_handshake_create_initiation(msg, &p->hs, &d->local, idx,
					       &d->nops)) {
		index_table_remove(&d->index, idx);
		p->hs_indexed = false;
		pool_put(d->pool, k);
		return;
	}
	timers_handshake_initiated(p);
	send_handshake_message(p, k, sizeof(*msg));
}

void send_handshake_message(struct peer *p, struct pkt *k, uint32_t len)
{
	struct device *d = p->dev;

	k->off = 0;
	k->len = len;
	cookie_add_mac_to_packet(k->buf, k->len, &p->cookie, d->now);
	k->ep = p->endpoint;
	k->peer = p;
	p->tx_bytes += k->len;
	timers_any_authenticated_packet_traversal(p);
	timers_any_authenticated_packet_sent(p);
	device_queue_udp(d, k);
}

/* Encrypt k (plaintext at PKT_HEADROOM) in place into a data message. */
static void encrypt_packet(struct peer *p, struct noise_keypair *kp,
			   struct pkt *k, uint64_t counter)
{
	struct device *d = p->dev;
	uint32_t plain = k->len, padded = plain;
	uint32_t room = PKT_BUF_SIZE - PKT_HEADROOM - NOISE_AUTHTAG_LEN;
	uint32_t limit = d->mtu < room ? d->mtu : room;

	/* Pad to 16 bytes to blur lengths, but never past the MTU. */
	if (plain <= limit) {
		padded = (plain + MESSAGE_PADDING_MULTIPLE - 1) &
			 ~(uint32_t)(MESSAGE_PADDING_MULTIPLE - 1);
		if (padded > limit)
			padded = limit;
	}
	memset(k->buf + PKT_HEADROOM + plain, 0, padded - plain);

	struct message_data *hdr = (struct message_data *)k->buf;

	hdr->header = (struct message_header){ .type = MESSAGE_DATA };
	le32_store(hdr->key_idx, kp->remote_index);
	le64_store(hdr->counter, counter);
	aead_encrypt(k->buf + DATA_HEADER_LEN, k->buf + DATA_HEADER_LEN, padded,
		     NULL, 0, counter, kp->send_key);
	k->off = 0;
	k->len = DATA_HEADER_LEN + padded + NOISE_AUTHTAG_LEN;
	k->ep = p->endpoint;
	k->peer = p;
}

static void keep_key_fresh(struct peer *p)
{
	struct device *d = p->dev;
	struct noise_keypair *kp = peer_keypair(p, p->current);

	if (kp && kp->valid &&
	    (kp->send_counter > REKEY_AFTER_MESSAGES ||
	     (kp->i_am_the_initiator &&
	      d->now >= kp->birthdate + d->times.rekey_after_time)))
		send_handshake_initiation(p, false);
}

void send_staged_packets(struct peer *p)
{
	struct device *d = p->dev;
	struct noise_keypair *kp = peer_keypair(p, p->current);
	bool data = false;

	if (!p->staged_n)
		return;
	if (!peer_can_send(p)) {
		send_handshake_initiation(p, false);
		return;
	}
	while (p->staged_head) {
		struct pkt *k = p->staged_head;

		if (kp->send_counter >= REJECT_AFTER_MESSAGES) {
			/* Out of nonces: the rest waits for a new session. */
			send_handshake_initiation(p, false);
			return;
		}
		p->staged_head = k->next;
		if (!p->staged_head)
			p->staged_tail = NULL;
		p->staged_n--;
		d->staged_total--;
		data |= k->len > 0;
		encrypt_packet(p, kp, k, kp->send_counter++);
		p->tx_bytes += k->len;
		device_queue_udp(d, k);
	}
	if (data)
		timers_data_sent(p);
	timers_any_authenticated_packet_traversal(p);
	timers_any_authenticated_packet_sent(p);
	keep_key_fresh(p);
}

void send_keepalive(struct peer *p)
{
	struct device *d = p->dev;

	if (!p->staged_n) {
		struct pkt *k = pool_get(d->pool);

		if (!k) {
			d->counters.pool_exhausted++;
			return;
		}
		k->off = PKT_HEADROOM;
		k->len = 0;
		peer_stage_packet(p, k);
	}
	send_staged_packets(p);
}

/* The destination of an IP packet, or NULL (and *family unset) if it is
 * not a well-formed IPv4/IPv6 header. */
static const uint8_t *inner_destination(const uint8_t *pkt, uint32_t len,
					enum ip_family *family)
{
	if (len >= 20 && (pkt[0] >> 4) == 4) {
		*family = IP_V4;
		return pkt + 16;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6) {
		*family = IP_V6;
		return pkt + 24;
	}
	return NULL;
}

void device_tun_input(struct device *d, struct batch *in, wg_time_t now)
{
	struct peer *touched[BATCH_MAX];
	unsigned ntouched = 0;

	d->now = now;
	for (unsigned i = 0; i < in->n; i++) {
		struct pkt *k = in->p[i];
		enum ip_family family;
		const uint8_t *dst = inner_destination(pkt_data(k), k->len, &family);
		struct peer *p;

		if (!dst || k->len > PKT_BUF_SIZE - PKT_HEADROOM - PKT_TAILROOM) {
			d->counters.tx_bad_packet++;
			pool_put(d->pool, k);
			continue;
		}
		p = allowedips_lookup(&d->allowedips, family, dst);
		if (!p) {
			d->counters.tx_no_route++;
			pool_put(d->pool, k);
			continue;
		}
		if (!p->endpoint.family) {
			d->counters.tx_no_endpoint++;
			pool_put(d->pool, k);
			continue;
		}
		peer_stage_packet(p, k);
		/* Batches are mostly one flow: check the last peer first. */
		if (!ntouched || touched[ntouched - 1] != p) {
			unsigned j;

			for (j = 0; j < ntouched && touched[j] != p; j++)
				;
			if (j == ntouched)
				touched[ntouched++] = p;
		}
	}
	in->n = 0;
	for (unsigned i = 0; i < ntouched; i++)
		send_staged_packets(touched[i]);
	device_flush(d);
}
