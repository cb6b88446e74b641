/* timers.c - per-peer protocol timers (the list is in timers.h). */
#include "core/timers.h"

#include "core/device.h"
#include "core/peer.h"

/* Timer jitter only has to keep peers from acting in lockstep; it runs on
 * the data path (timers_data_sent), so it comes from a cheap generator
 * seeded once from the device's randomness, not from a syscall. */
static wg_time_t jitter(struct peer *peer)
{
	uint64_t *s = &peer->dev->jitter_state;
	uint64_t z;

	/* splitmix64 */
	*s += 0x9e3779b97f4a7c15ULL;
	z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (wg_time_t)(z % (REKEY_TIMEOUT_JITTER_MAX_MS + 1)) * NSEC_PER_MSEC;
}

static inline const struct protocol_times *times(const struct peer *peer)
{
	return &peer->dev->times;
}

static inline wg_time_t now_of(const struct peer *peer)
{
	return peer->dev->now;
}

/* Arm t at deadline and tell the device's heap. A deadline of 0 would read
 * as "off", so it is nudged to 1 (only a fake clock starts at 0). */
static void arm(struct peer *peer, wg_time_t *t, wg_time_t deadline)
{
	*t = deadline ? deadline : 1;
	device_timer_update(peer->dev, peer);
}

void timers_init(struct timers *t)
{
	*t = (struct timers){ 0 };
}

/* Data went out: if nothing comes back within keepalive + rekey timeout,
 * the session may be dead, so start a new handshake then. */
void timers_data_sent(struct peer *peer)
{
	if (!peer->timers.new_handshake)
		arm(peer, &peer->timers.new_handshake,
		    now_of(peer) + times(peer)->keepalive_timeout +
			    times(peer)->rekey_timeout + jitter(peer));
}

/* Data came in: answer with a keepalive unless we send something first. */
void timers_data_received(struct peer *peer)
{
	if (!peer->timers.send_keepalive)
		arm(peer, &peer->timers.send_keepalive,
		    now_of(peer) + times(peer)->keepalive_timeout);
	else
		peer->timers.need_another_keepalive = true;
}

void timers_any_authenticated_packet_sent(struct peer *peer)
{
	peer->timers.send_keepalive = 0;
}

void timers_any_authenticated_packet_received(struct peer *peer)
{
	peer->timers.new_handshake = 0;
}

void timers_handshake_initiated(struct peer *peer)
{
	arm(peer, &peer->timers.retransmit_handshake,
	    now_of(peer) + times(peer)->rekey_timeout + jitter(peer));
}

void timers_handshake_complete(struct peer *peer)
{
	struct device *d = peer->dev;

	peer->timers.retransmit_handshake = 0;
	peer->timers.handshake_attempts = 0;
	peer->timers.sent_lastminute_handshake = false;
	d->ops.wall(d->ops.ctx, &peer->last_handshake_sec,
		    &peer->last_handshake_nsec);
}

void timers_session_derived(struct peer *peer)
{
	arm(peer, &peer->timers.zero_key_material,
	    now_of(peer) + times(peer)->reject_after_time * 3);
}

void timers_any_authenticated_packet_traversal(struct peer *peer)
{
	if (peer->persistent_keepalive)
		arm(peer, &peer->timers.persistent_keepalive,
		    now_of(peer) + peer->persistent_keepalive * NSEC_PER_SEC);
}

void timers_stop(struct peer *peer)
{
	timers_init(&peer->timers);
}

wg_time_t timers_next(const struct peer *peer)
{
	const wg_time_t all[] = {
		peer->timers.retransmit_handshake, peer->timers.send_keepalive,
		peer->timers.new_handshake, peer->timers.zero_key_material,
		peer->timers.persistent_keepalive,
	};
	wg_time_t next = 0;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] && (!next || all[i] < next))
			next = all[i];
	return next;
}

static void expired_retransmit_handshake(struct peer *peer)
{
	if (peer->timers.handshake_attempts > MAX_TIMER_HANDSHAKES) {
		/* Give up: no more keepalives for a peer that is gone, drop
		 * what waited for it, and wipe keys later if nothing new. */
		peer->timers.send_keepalive = 0;
		peer_purge_staged(peer);
		if (!peer->timers.zero_key_material)
			arm(peer, &peer->timers.zero_key_material,
			    now_of(peer) + times(peer)->reject_after_time * 3);
		return;
	}
	peer->timers.handshake_attempts++;
	/* The peer may have moved: let the reply pick a new source address. */
	peer->endpoint.src_family = 0;
	send_handshake_initiation(peer, true);
}

static void expired_send_keepalive(struct peer *peer)
{
	send_keepalive(peer);
	if (peer->timers.need_another_keepalive) {
		peer->timers.need_another_keepalive = false;
		arm(peer, &peer->timers.send_keepalive,
		    now_of(peer) + times(peer)->keepalive_timeout);
	}
}

static void expired_new_handshake(struct peer *peer)
{
	peer->endpoint.src_family = 0;
	send_handshake_initiation(peer, false);
}

static void expired_zero_key_material(struct peer *peer)
{
	peer_clear_keypairs(peer);
	peer_clear_handshake(peer);
}

static void expired_persistent_keepalive(struct peer *peer)
{
	if (peer->persistent_keepalive)
		send_keepalive(peer);
}

void timers_run(struct peer *peer, wg_time_t now)
{
	struct timers *t = &peer->timers;

	if (t->retransmit_handshake && t->retransmit_handshake <= now) {
		t->retransmit_handshake = 0;
		expired_retransmit_handshake(peer);
	}
	if (t->send_keepalive && t->send_keepalive <= now) {
		t->send_keepalive = 0;
		expired_send_keepalive(peer);
	}
	if (t->new_handshake && t->new_handshake <= now) {
		t->new_handshake = 0;
		expired_new_handshake(peer);
	}
	if (t->zero_key_material && t->zero_key_material <= now) {
		t->zero_key_material = 0;
		expired_zero_key_material(peer);
	}
	if (t->persistent_keepalive && t->persistent_keepalive <= now) {
		t->persistent_keepalive = 0;
		expired_persistent_keepalive(peer);
	}
}
