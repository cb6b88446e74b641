/* timers.h - the per-peer protocol timers, driven by named events.
 *
 * Timers (whitepaper §6), each an absolute deadline (0 = not armed):
 *   retransmit_handshake  REKEY_TIMEOUT+jitter after an initiation went out
 *                         with no response: send another, up to
 *                         MAX_TIMER_HANDSHAKES times, then give up.
 *   send_keepalive        KEEPALIVE_TIMEOUT after data arrived and nothing
 *                         went back: send an empty packet (passive keepalive).
 *   new_handshake         KEEPALIVE_TIMEOUT+REKEY_TIMEOUT after data went
 *                         out and nothing came back: the session may be dead,
 *                         start a new handshake.
 *   zero_key_material     REJECT_AFTER_TIME*3 after a session was derived:
 *                         wipe every key of the peer.
 *   persistent_keepalive  every N seconds of silence when configured.
 *
 * The send and receive paths call the timers_* event functions; expiry is
 * handled by timers_run(), which the device calls when the peer's earliest
 * deadline is due. */
#ifndef WEFT_CORE_TIMERS_H
#define WEFT_CORE_TIMERS_H

#include <stdbool.h>

#include "core/messages.h"

struct peer;

struct timers {
	wg_time_t retransmit_handshake;
	wg_time_t send_keepalive;
	wg_time_t new_handshake;
	wg_time_t zero_key_material;
	wg_time_t persistent_keepalive;
	unsigned handshake_attempts;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
};

/* Protocol times that tests (and only tests) may shorten. */
struct protocol_times {
	wg_time_t rekey_after_time;
	wg_time_t reject_after_time;
	wg_time_t rekey_timeout;
	wg_time_t keepalive_timeout;
};

void timers_init(struct timers *t);

void timers_data_sent(struct peer *peer);
void timers_data_received(struct peer *peer);
void timers_any_authenticated_packet_sent(struct peer *peer);
void timers_any_authenticated_packet_received(struct peer *peer);
void timers_handshake_initiated(struct peer *peer);
void timers_handshake_complete(struct peer *peer);
void timers_session_derived(struct peer *peer);
void timers_any_authenticated_packet_traversal(struct peer *peer);
/* Stop every timer (peer removed or device down). */
void timers_stop(struct peer *peer);

/* Earliest armed deadline, 0 if none. */
wg_time_t timers_next(const struct peer *peer);
/* Fire every timer of peer whose deadline is <= now. */
void timers_run(struct peer *peer, wg_time_t now);

#endif
