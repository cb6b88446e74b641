/* device.h - one WireGuard interface as the core sees it: identity, peers,
 * routing, the index table, and the packet paths in both directions.
 *
 * Pure: no sockets or clocks. The host (the daemon, or a unit test) feeds
 * batches of packets in with the current time and receives batches out
 * through struct device_ops. One thread drives a device. */
#ifndef WEFT_CORE_DEVICE_H
#define WEFT_CORE_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/allowedips.h"
#include "core/cookie.h"
#include "core/index.h"
#include "core/noise.h"
#include "core/pool.h"
#include "core/ratelimiter.h"
#include "core/timers.h"

struct peer;

/* What reaches device_ops.control_rx. */
enum device_control {
	/* An admission request whose mac1 is valid (and mac2, under load:
	 * otherwise a cookie reply was sent instead), from a source the
	 * ratelimiter let through (always applied, not only under load: each
	 * request is a passcode guess). */
	DEVICE_CONTROL_ADMISSION_REQUEST,
	/* An admission response (exact length; nothing else checked). */
	DEVICE_CONTROL_ADMISSION_RESPONSE,
	/* A cookie reply whose receiver index is none of the device's: it may
	 * answer an admission request (the host checks). */
	DEVICE_CONTROL_COOKIE_REPLY,
	/* Any other weft or STUN message, when the device is a mesh node
	 * (device.mesh): relay registration answers, path probes, STUN
	 * answers. Nothing is checked: the host parses them. */
	DEVICE_CONTROL_PATH,
};

struct device_ops {
	void *ctx;
	/* Send every packet of b (pkt_data/len to pkt->ep). The device
	 * returns the packets to the pool afterwards. */
	void (*udp_send)(void *ctx, struct batch *b);
	/* Deliver every packet of b to the TUN interface. */
	void (*tun_write)(void *ctx, struct batch *b);
	void (*random)(void *ctx, void *buf, size_t len);
	void (*tai64n)(void *ctx, uint8_t out[NOISE_TIMESTAMP_LEN]);
	void (*wall)(void *ctx, uint64_t *sec, uint64_t *nsec);
	/* Optional: messages of weft's own control protocol (admission,
	 * core/admission.h) that passed the checks for their kind, see enum
	 * device_control. k stays the device's: read it, do not keep it;
	 * answer with device_send_control(). NULL: they are dropped. */
	void (*control_rx)(void *ctx, const struct pkt *k,
			   enum device_control kind);
	/* Optional: one of our receiver indices went live (before any
	 * message names it) or away (core/index.h). */
	void (*index_live)(void *ctx, uint32_t index, bool live);
};

/* Why packets were dropped; `weft show` and tests read these. */
struct device_counters {
	uint64_t rx_bad_length;		/* truncated or oversized datagrams */
	uint64_t rx_bad_type;		/* unknown message type */
	uint64_t rx_bad_mac;		/* handshake with invalid mac1 */
	uint64_t rx_handshake_failed;	/* handshake did not authenticate */
	uint64_t rx_handshake_ratelimited;
	uint64_t rx_handshake_queue_full;
	uint64_t rx_cookie_sent;
	uint64_t rx_unknown_index;	/* data/response/cookie for no index */
	uint64_t rx_bad_auth;		/* data that failed decryption */
	uint64_t rx_replay;		/* replayed or too old counter */
	uint64_t rx_expired_key;
	uint64_t rx_bad_inner;		/* plaintext not a valid IP packet */
	uint64_t rx_spoofed_source;	/* inner source not in allowed IPs */
	uint64_t tx_no_route;		/* no peer for the destination */
	uint64_t tx_no_endpoint;	/* peer has no endpoint yet */
	uint64_t tx_bad_packet;		/* not IPv4/IPv6 or too large */
	uint64_t tx_staged_dropped;	/* staged queue overflow */
	uint64_t pool_exhausted;
	uint64_t rx_control;		/* handed to ops.control_rx */
	uint64_t rx_relayed;		/* unwrapped relay frames */
	uint64_t tx_relayed;		/* frames sent through a relay */
};

enum device_limits {
	HANDSHAKE_QUEUE_MAX = 1024,
	/* Under load (cookies demanded) while the queue holds this many. */
	HANDSHAKE_QUEUE_LOAD = HANDSHAKE_QUEUE_MAX / 8,
	HANDSHAKES_PER_TURN = 32,
	/* Packets waiting for sessions, all peers together: a quarter of the
	 * daemon's pool (see POOL_PACKETS). */
	STAGED_TOTAL_MAX = 2048,
};

struct device {
	struct device_ops ops;
	struct pool *pool;
	struct noise_ops nops;	/* random/tai64n, derived from ops */

	struct noise_local local;
	struct cookie_checker cookie_checker;
	struct ratelimiter *ratelimiter;	/* large: allocated */
	struct allowedips allowedips;
	struct index_table index;
	struct protocol_times times;

	/* A mesh node: takes relayed frames and path messages (core/relay.h),
	 * wraps packets to relay endpoints. Off for plain WireGuard. */
	bool mesh;

	uint16_t listen_port;
	uint32_t fwmark;
	unsigned mtu;		/* of the TUN interface */

	/* Peers: a list (UAPI order), a public key hash table, a timer heap. */
	struct peer *peers_head, *peers_tail;
	size_t npeers;
	struct peer **hash;
	size_t hash_mask;
	uint8_t hash_key[16];
	uint64_t jitter_state;	/* timer jitter generator (timers.c) */
	size_t staged_total;	/* staged packets of every peer */
	struct peer **heap;
	size_t heap_len, heap_cap;
	uint64_t next_peer_id;

	/* Handshake messages wait here so a flood cannot starve data. */
	struct pkt *hsq_head, *hsq_tail;
	unsigned hsq_len;
	wg_time_t last_under_load;

	/* Output batches, flushed when full and at the end of each call. */
	struct batch udp_out, tun_out;

	wg_time_t now;		/* time of the current call */
	struct device_counters counters;
};

/* 0 or -ENOMEM. pool must outlive the device. */
__attribute__((warn_unused_result))
int device_init(struct device *d, const struct device_ops *ops,
		struct pool *pool);
void device_destroy(struct device *d);

/* Configuration (the UAPI "set" callbacks land here). */
__attribute__((warn_unused_result))
bool device_set_private_key(struct device *d,
			    const uint8_t key[NOISE_PUBLIC_KEY_LEN]);
void device_clear_private_key(struct device *d);
struct peer *device_lookup_peer(const struct device *d,
				const uint8_t pubkey[NOISE_PUBLIC_KEY_LEN]);
/* NULL on -ENOMEM or when pubkey is our own public key (*err says). */
struct peer *device_add_peer(struct device *d,
			     const uint8_t pubkey[NOISE_PUBLIC_KEY_LEN],
			     int *err);
void device_remove_peer(struct device *d, struct peer *p);
void device_remove_all_peers(struct device *d);
void peer_set_psk(struct peer *p, const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN]);
void peer_set_endpoint(struct peer *p, const struct wg_endpoint *ep);
void peer_set_persistent_keepalive(struct peer *p, uint16_t seconds,
				   wg_time_t now);

/* Send len bytes of buf (a control message) to ep, with the data
 * packets. False if the pool is empty or len is too large. */
bool device_send_control(struct device *d, const struct wg_endpoint *ep,
			 const void *buf, size_t len);
/* Under load: cookies are demanded from initiators (and admission). */
bool device_under_load(const struct device *d, wg_time_t now);

/* Packet paths. Each consumes every packet of in (forwarding, staging or
 * returning it to the pool) and leaves in empty. */
void device_tun_input(struct device *d, struct batch *in, wg_time_t now);
void device_udp_input(struct device *d, struct batch *in, wg_time_t now);
/* Process queued handshake messages (bounded per call). */
void device_handshake_work(struct device *d, wg_time_t now);
bool device_handshake_pending(const struct device *d);
/* Run due timers. */
void device_timers_run(struct device *d, wg_time_t now);
/* Earliest timer deadline, 0 if none. */
wg_time_t device_next_deadline(const struct device *d);

/* Internal to the core (send.c/receive.c/timers.c/device.c). */
void device_timer_update(struct device *d, struct peer *p);
void device_flush(struct device *d);
void device_queue_udp(struct device *d, struct pkt *k);
void device_queue_tun(struct device *d, struct pkt *k);

/* send.c */
void send_handshake_initiation(struct peer *p, bool is_retry);
/* Add macs to the handshake message in k, count and queue it to the peer. */
void send_handshake_message(struct peer *p, struct pkt *k, uint32_t len);
void send_keepalive(struct peer *p);
void send_staged_packets(struct peer *p);

#endif
