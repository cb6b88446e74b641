/* receive.c - the receive path: datagrams are classified; handshake
 * messages wait in a bounded queue (so a flood cannot starve data) and are
 * answered from there; data messages are decrypted in place, checked
 * against the replay window and the peer's allowed IPs, and queued for the
 * TUN. */
#include <string.h>

#include "core/admission.h"
#include "core/device.h"
#include "core/relay.h"
#include "core/peer.h"
#include "crypto/aead.h"
#include "crypto/ct.h"

_Static_assert((int)ADMISSION_MESSAGE_TYPE == (int)WEFT_MESSAGE_TYPE,
	       "admission messages are weft messages (core/relay.h)");

static void drop(struct device *d, struct pkt *k, uint64_t *counter)
{
	(*counter)++;
	pool_put(d->pool, k);
}

static struct noise_handshake *lookup_static(void *ctx,
	const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN])
{
	struct peer *p = device_lookup_peer(ctx, remote_static);

	return p ? &p->hs : NULL;
}

/* Roaming: the most recent authenticated packet says where the peer is;
 * but a packet that took a relay does not move a peer off a direct path
 * (the host decides when that path is lost: mesh/paths.h). */
static void update_endpoint(struct peer *p, const struct pkt *k)
{
	if (k->ep.relay && p->endpoint.family && !p->endpoint.relay)
		return;
	if (!endpoint_equal(&p->endpoint, &k->ep) ||
	    p->endpoint.src_family != k->ep.src_family ||
	    memcmp(p->endpoint.src_addr, k->ep.src_addr, 16))
		p->endpoint = k->ep;
}

/* ---- data ---- */

/* Check the decrypted inner packet and trim the padding. False if it is
 * not a well-formed IP packet whose source the peer may use. */
static bool inner_packet_ok(struct device *d, struct peer *p, uint8_t *pkt,
			    uint32_t *len)
{
	enum ip_family family;
	const uint8_t *src;
	uint32_t total;

	if (*len >= 20 && (pkt[0] >> 4) == 4) {
		family = IP_V4;
		total = (uint32_t)pkt[2] << 8 | pkt[3];
		src = pkt + 12;
		if (total < 20)
			goto bad;
	} else if (*len >= 40 && (pkt[0] >> 4) == 6) {
		family = IP_V6;
		total = 40 + ((uint32_t)pkt[4] << 8 | pkt[5]);
		src = pkt + 8;
	} else {
		goto bad;
	}
	if (total > *len)
		goto bad;
	*len = total;
	if (allowedips_lookup(&d->allowedips, family, src) != p) {
		d->counters.rx_spoofed_source++;
		return false;
	}
	return true;
bad:
	d->counters.rx_bad_inner++;
	return false;
}

static void keep_key_fresh(struct peer *p, const struct noise_keypair *kp)
{
	struct device *d = p->dev;
	const struct protocol_times *t = &d->times;

	/* The initiator re-keys shortly before the responder would have to
	 * reject its key; otherwise a quiet initiator could lose the session. */
	if (kp != peer_keypair(p, p->current) || !kp->i_am_the_initiator ||
	    p->timers.sent_lastminute_handshake)
		return;
	if (d->now + t->keepalive_timeout + t->rekey_timeout >=
	    kp->birthdate + t->reject_after_time) {
		p->timers.sent_lastminute_handshake = true;
		send_handshake_initiation(p, false);
	}
}

static void receive_data(struct device *d, struct pkt *k)
{
	uint8_t *msg = pkt_data(k);
	const struct index_entry *e = index_table_lookup(&d->index,
							 le32_load(msg + 4));
	struct noise_keypair *kp;
	struct peer *p;
	uint64_t counter;
	uint32_t clen, plen;

	if (!e || e->kind != INDEX_KEYPAIR)
		return drop(d, k, &d->counters.rx_unknown_index);
	kp = e->keypair;
	p = e->peer;
	counter = le64_load(msg + 8);
	if (!kp->valid || d->now >= kp->birthdate + d->times.reject_after_time ||
	    counter >= REJECT_AFTER_MESSAGES)
		return drop(d, k, &d->counters.rx_expired_key);
	clen = k->len - DATA_HEADER_LEN;
	if (!aead_decrypt(msg + DATA_HEADER_LEN, msg + DATA_HEADER_LEN, clen,
			  NULL, 0, counter, kp->recv_key))
		return drop(d, k, &d->counters.rx_bad_auth);
	if (!replay_check_and_update(&kp->replay, counter))
		return drop(d, k, &d->counters.rx_replay);

	if (peer_received_with_keypair(p, kp)) {
		/* The responder's round trip: response sent (the keypair's
		 * birth) to the initiator's first packet under it. */
		if (d->now >= kp->birthdate)
			p->handshake_rtt_ns = d->now - kp->birthdate;
		timers_handshake_complete(p);
		send_staged_packets(p);
	}
	keep_key_fresh(p, kp);
	timers_any_authenticated_packet_received(p);
	timers_any_authenticated_packet_traversal(p);
	update_endpoint(p, k);
	p->rx_bytes += k->len;

	plen = clen - NOISE_AUTHTAG_LEN;
	if (plen == 0) {	/* keepalive */
		pool_put(d->pool, k);
		return;
	}
	timers_data_received(p);
	if (!inner_packet_ok(d, p, msg + DATA_HEADER_LEN, &plen)) {
		pool_put(d->pool, k);
		return;
	}
	k->off += DATA_HEADER_LEN;
	k->len = plen;
	k->peer = NULL;
	device_queue_tun(d, k);
}

/* ---- handshakes ---- */

static void queue_handshake(struct device *d, struct pkt *k)
{
	if (d->hsq_len >= HANDSHAKE_QUEUE_MAX)
		return drop(d, k, &d->counters.rx_handshake_queue_full);
	k->next = NULL;
	if (d->hsq_tail)
		d->hsq_tail->next = k;
	else
		d->hsq_head = k;
	d->hsq_tail = k;
	d->hsq_len++;
}

/* weft's own messages, for a host that takes them (ops.control_rx). */
static void receive_control(struct device *d, struct pkt *k)
{
	if (!d->ops.control_rx)
		return drop(d, k, &d->counters.rx_bad_type);
	switch (admission_message_kind(pkt_data(k), k->len)) {
	case ADMISSION_KIND_REQUEST:
		/* A passcode guess costs the server DHs: queued and
		 * checked like initiations. */
		return queue_handshake(d, k);
	case ADMISSION_KIND_RESPONSE:
		d->counters.rx_control++;
		d->ops.control_rx(d->ops.ctx, k,
				  DEVICE_CONTROL_ADMISSION_RESPONSE);
		return pool_put(d->pool, k);
	case ADMISSION_KIND_NONE:
		break;
	}
	drop(d, k, &d->counters.rx_bad_type);
}

/* A relay frame's WireGuard message, as if it came from the device the
 * tag names, through the relay it came from. */
static bool unwrap_relayed(struct device *d, struct pkt *k)
{
	if (k->len < RELAY_HEADER_LEN + sizeof(struct message_header) ||
	    k->ep.relay)
		return false;
	k->ep.relay = true;
	memcpy(k->ep.tag, pkt_data(k) + 4, WG_ENDPOINT_TAG_LEN);
	k->off += RELAY_HEADER_LEN;
	k->len -= RELAY_HEADER_LEN;
	d->counters.rx_relayed++;
	return true;
}

static void receive_message(struct device *d, struct pkt *k)
{
	const uint8_t *msg;

again:
	msg = pkt_data(k);
	if (k->len < sizeof(struct message_header))
		return drop(d, k, &d->counters.rx_bad_length);
	/* The type is a le32: the three bytes after it must be 0. */
	switch (le32_load(msg)) {
	case MESSAGE_DATA:
		if (k->len < MESSAGE_MINIMUM_LENGTH)
			break;
		return receive_data(d, k);
	case MESSAGE_HANDSHAKE_INITIATION:
		if (k->len != sizeof(struct message_handshake_initiation))
			break;
		return queue_handshake(d, k);
	case MESSAGE_HANDSHAKE_RESPONSE:
		if (k->len != sizeof(struct message_handshake_response))
			break;
		return queue_handshake(d, k);
	case MESSAGE_HANDSHAKE_COOKIE:
		if (k->len != sizeof(struct message_handshake_cookie))
			break;
		return queue_handshake(d, k);
	default:
		if (d->mesh && weft_subtype(msg, k->len) == WEFT_SUB_RELAY_FROM) {
			if (!unwrap_relayed(d, k))
				break;
			goto again;
		}
		if (d->mesh && d->ops.control_rx &&
		    admission_message_kind(msg, k->len) == ADMISSION_KIND_NONE) {
			d->counters.rx_control++;
			d->ops.control_rx(d->ops.ctx, k, DEVICE_CONTROL_PATH);
			return pool_put(d->pool, k);
		}
		return receive_control(d, k);
	}
	drop(d, k, &d->counters.rx_bad_length);
}

void device_udp_input(struct device *d, struct batch *in, wg_time_t now)
{
	d->now = now;
	for (unsigned i = 0; i < in->n; i++)
		receive_message(d, in->p[i]);
	in->n = 0;
	device_flush(d);
}

bool device_handshake_pending(const struct device *d)
{
	return d->hsq_len > 0;
}

static void send_cookie_reply(struct device *d, const struct pkt *k,
			      const uint8_t *src, size_t src_len)
{
	struct pkt *r = pool_get(d->pool);

	if (!r) {
		d->counters.pool_exhausted++;
		return;
	}
	cookie_message_create((struct message_handshake_cookie *)r->buf,
			      k->buf + k->off, k->len, le32_load(k->buf + k->off + 4),
			      &d->cookie_checker, src, src_len, d->now, &d->nops);
	r->off = 0;
	r->len = sizeof(struct message_handshake_cookie);
	r->ep = k->ep;
	d->counters.rx_cookie_sent++;
	device_queue_udp(d, r);
}

/* Derive the session of a completed handshake into the peer's slots. */
static bool begin_session(struct peer *p)
{
	struct noise_keypair kp;
	bool ok = noise_handshake_begin_session(&p->hs, &kp, p->dev->now);

	/* The handshake's index now names the keypair (or nothing). */
	if (ok) {
		p->hs_indexed = false;
		peer_add_keypair(p, &kp);
		timers_session_derived(p);
	}
	crypto_wipe(&kp, sizeof(kp));
	return ok;
}

static void handle_initiation(struct device *d, struct pkt *k)
{
	const struct message_handshake_initiation *in =
		(const void *)pkt_data(k);
	struct message_handshake_response resp;
	struct noise_handshake *hs;
	struct peer *p;

	hs = noise_handshake_consume_initiation(in, &d->local, lookup_static, d,
						d->now);
	if (!hs)
		return drop(d, k, &d->counters.rx_handshake_failed);
	p = peer_of_handshake(hs);
	update_endpoint(p, k);
	p->rx_bytes += k->len;

	uint32_t idx = peer_new_handshake_index(p);

	if (!noise_handshake_create_response(&resp, &p->hs, &d->local, idx,
					     &d->nops)) {
		peer_clear_handshake(p);
		return drop(d, k, &d->counters.rx_handshake_failed);
	}
	/* The initiation is consumed: its buffer carries the response. */
	memcpy(k->buf, &resp, sizeof(resp));
	crypto_wipe(&resp, sizeof(resp));
	timers_any_authenticated_packet_received(p);
	send_handshake_message(p, k, sizeof(resp));
	begin_session(p);
}

static void handle_response(struct device *d, struct pkt *k)
{
	const struct message_handshake_response *in =
		(const void *)pkt_data(k);
	uint32_t idx = le32_load(in->receiver_index);
	const struct index_entry *e = index_table_lookup(&d->index, idx);
	struct peer *p;

	if (!e || e->kind != INDEX_HANDSHAKE)
		return drop(d, k, &d->counters.rx_unknown_index);
	p = e->peer;
	if (p->hs.state != HANDSHAKE_CREATED_INITIATION ||
	    p->hs.local_index != idx ||
	    !noise_handshake_consume_response(in, &p->hs, &d->local))
		return drop(d, k, &d->counters.rx_handshake_failed);
	if (p->have_sent_handshake && d->now >= p->last_sent_handshake)
		p->handshake_rtt_ns = d->now - p->last_sent_handshake;
	update_endpoint(p, k);
	p->rx_bytes += k->len;
	pool_put(d->pool, k);
	if (!begin_session(p))
		return;
	timers_handshake_complete(p);
	timers_any_authenticated_packet_received(p);
	timers_any_authenticated_packet_traversal(p);
	/* Confirm the session to the responder: staged data, or an empty
	 * packet, moves its "next" keypair to current. */
	send_keepalive(p);
}

static void handle_cookie(struct device *d, struct pkt *k)
{
	const struct message_handshake_cookie *in = (const void *)pkt_data(k);
	const struct index_entry *e =
		index_table_lookup(&d->index, le32_load(in->receiver_index));

	if (!e && d->ops.control_rx) {
		d->counters.rx_control++;
		d->ops.control_rx(d->ops.ctx, k, DEVICE_CONTROL_COOKIE_REPLY);
		pool_put(d->pool, k);
		return;
	}
	if (!e)
		return drop(d, k, &d->counters.rx_unknown_index);
	if (!cookie_message_consume(in, &e->peer->cookie, d->now))
		return drop(d, k, &d->counters.rx_handshake_failed);
	pool_put(d->pool, k);
}

bool device_under_load(const struct device *d, wg_time_t now)
{
	return d->hsq_len >= HANDSHAKE_QUEUE_LOAD ||
	       (d->last_under_load && now < d->last_under_load + NSEC_PER_SEC);
}

bool device_send_control(struct device *d, const struct wg_endpoint *ep,
			 const void *buf, size_t len)
{
	struct pkt *r;

	if (len > PKT_BUF_SIZE || !(r = pool_get(d->pool))) {
		d->counters.pool_exhausted++;
		return false;
	}
	memcpy(r->buf, buf, len);
	r->off = 0;
	r->len = (uint32_t)len;
	r->ep = *ep;
	device_queue_udp(d, r);
	device_flush(d);
	return true;
}

/* An admission request that passed the macs: every one is a passcode
 * guess, so the per-source limit applies even when not under load. */
static void handle_admission(struct device *d, struct pkt *k)
{
	if (!ratelimiter_allow(d->ratelimiter, k->ep.family, k->ep.addr,
			       d->now))
		return drop(d, k, &d->counters.rx_handshake_ratelimited);
	d->counters.rx_control++;
	d->ops.control_rx(d->ops.ctx, k, DEVICE_CONTROL_ADMISSION_REQUEST);
	pool_put(d->pool, k);
}

void device_handshake_work(struct device *d, wg_time_t now)
{
	bool under_load;

	d->now = now;
	if (d->hsq_len >= HANDSHAKE_QUEUE_LOAD)
		d->last_under_load = now ? now : 1;
	under_load = device_under_load(d, now);

	for (unsigned n = 0; n < HANDSHAKES_PER_TURN && d->hsq_head; n++) {
		struct pkt *k = d->hsq_head;
		uint8_t src[18];
		size_t src_len;

		d->hsq_head = k->next;
		if (!d->hsq_head)
			d->hsq_tail = NULL;
		d->hsq_len--;

		uint32_t type = le32_load(pkt_data(k));

		if (type == MESSAGE_HANDSHAKE_COOKIE) {
			handle_cookie(d, k);
			continue;
		}
		src_len = endpoint_cookie_bytes(&k->ep, src);
		switch (cookie_validate_packet(&d->cookie_checker, pkt_data(k),
					       k->len, src, src_len, under_load,
					       now, &d->nops)) {
		case INVALID_MAC:
			drop(d, k, &d->counters.rx_bad_mac);
			continue;
		case VALID_MAC_BUT_NO_COOKIE:
			if (under_load) {
				send_cookie_reply(d, k, src, src_len);
				pool_put(d->pool, k);
				continue;
			}
			break;
		case VALID_MAC_WITH_COOKIE:
			break;
		}
		if (type != MESSAGE_HANDSHAKE_INITIATION &&
		    type != MESSAGE_HANDSHAKE_RESPONSE) {
			handle_admission(d, k);
			continue;
		}
		if (under_load &&
		    !ratelimiter_allow(d->ratelimiter, k->ep.family, k->ep.addr,
				       now)) {
			drop(d, k, &d->counters.rx_handshake_ratelimited);
			continue;
		}
		if (type == MESSAGE_HANDSHAKE_INITIATION)
			handle_initiation(d, k);
		else
			handle_response(d, k);
	}
	device_flush(d);
}
