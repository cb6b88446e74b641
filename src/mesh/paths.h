/* paths.h - how a mesh node reaches one peer: its candidate addresses,
 * the probes that test them, and the path in use (DESIGN.md §4).
 *
 *   - Candidates: the peer's announced endpoints (its interface addresses,
 *     the public address STUN saw), and addresses its probes came from
 *     (a NAT's mapping for us, which no STUN server could have seen).
 *   - Probing: a burst pings every candidate every PATH_BURST_INTERVAL for
 *     PATH_BURST; bursts start when candidates change, when the peer asks
 *     (PUNCH, so both NATs open at the same time), when the local network
 *     changes, and every PATH_UPGRADE while no direct path works. The
 *     path in use is pinged every PATH_KEEP to know it still works.
 *   - Choice: a candidate answered within PATH_ALIVE is working; a working
 *     one on a subnet we share (lan) beats any other working one (direct,
 *     the fastest), which beats the relay; with none working and no relay,
 *     the first lan candidate, else the first candidate, is tried blind
 *     (WireGuard's own handshake then tells).
 * Pure: times in, decisions out; the node sends and receives. */
#ifndef WEFT_MESH_PATHS_H
#define WEFT_MESH_PATHS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/endpoint.h"
#include "core/timers.h"
#include "mesh/mesh.h"
#include "mesh/pathmsg.h"

enum path_limits {
	PATH_MAX_OBSERVED = 4,
	PATH_MAX_CANDS = MESH_MAX_ENDPOINTS + PATH_MAX_OBSERVED,
};

#define PATH_BURST ((wg_time_t)5 * NSEC_PER_SEC)
#define PATH_BURST_INTERVAL ((wg_time_t)NSEC_PER_SEC / 2)
#define PATH_KEEP ((wg_time_t)4 * NSEC_PER_SEC)
#define PATH_ALIVE ((wg_time_t)13 * NSEC_PER_SEC)
#define PATH_UPGRADE ((wg_time_t)20 * NSEC_PER_SEC)

enum path_kind { PATH_NONE, PATH_LAN, PATH_DIRECT, PATH_RELAY };

struct path_cand {
	struct wg_endpoint ep;
	bool lan;		/* on a subnet we share */
	bool observed;		/* learned from where a probe came from */
	uint8_t txid[PATH_TXID_LEN];	/* of the last ping */
	wg_time_t ping_sent, pong_at;
	uint64_t rtt_ns;
};

struct path_peer {
	struct path_cand cands[PATH_MAX_CANDS];
	unsigned n;
	struct wg_endpoint relay;	/* family 0: no relay in common */
	wg_time_t burst_until, next_burst_ping, next_upgrade;
	int best;		/* candidate in use, -1: relay or blind */
	enum path_kind kind;
	struct wg_endpoint chosen;	/* what path_choose last said */
	wg_time_t direct_since;	/* when the current direct path was chosen */
};

void path_init(struct path_peer *pp);

/* The peer announced eps (lan[i]: on our subnet). Candidates kept if they
 * stay; a change starts a burst. */
void path_set_candidates(struct path_peer *pp, const struct wg_endpoint *eps,
			 const bool *lan, unsigned n, wg_time_t now);
/* The relay both of us use (family 0: none). */
void path_set_relay(struct path_peer *pp, const struct wg_endpoint *relay);
/* A probe came from ep (not through a relay): a candidate to try. */
void path_observed(struct path_peer *pp, const struct wg_endpoint *ep,
		   bool lan, wg_time_t now);
/* Probe every candidate now and for PATH_BURST. */
void path_burst(struct path_peer *pp, wg_time_t now);

/* Candidates to ping now: their indexes into out (at most PATH_MAX_CANDS),
 * each with a fresh txid the caller fills through rnd. *punch: ask the
 * peer (through the relay) to burst too. */
unsigned path_due(struct path_peer *pp, wg_time_t now, unsigned out[PATH_MAX_CANDS],
		  bool *punch, void (*rnd)(void *buf, size_t len));
/* A pong with txid: true when it answered one of our pings. */
bool path_pong(struct path_peer *pp, const uint8_t txid[PATH_TXID_LEN],
	       wg_time_t now);

/* The endpoint to use now into *ep; true when it differs from the last
 * choice. */
bool path_choose(struct path_peer *pp, wg_time_t now, struct wg_endpoint *ep);

/* When the next ping is due (0: none). */
wg_time_t path_next_event(const struct path_peer *pp);

const char *path_kind_name(enum path_kind k);

#endif
