/* daemon.h - weftd's engine: one interface, its sockets, the event loop
 * and the UAPI server that configures it. */
#ifndef WEFT_DAEMON_DAEMON_H
#define WEFT_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/device.h"
#include "core/offload.h"
#include "core/pool.h"
#include "os/linux/tun.h"
#include "os/linux/udp.h"

enum daemon_limits {
	UAPI_MAX_CLIENTS = 16,
	POOL_PACKETS = 8192,	/* > 4 x STAGED_TOTAL_MAX (core/device.h) */
	/* Batches handled per source per wake-up, so one busy direction
	 * cannot starve the other or the control plane. */
	BATCHES_PER_TURN = 4,
};

/* A TUN turn this long after the last one reads one packet only
 * (handle_tun_offload). */
#define TUN_SPARSE_GAP_NS (200 * 1000ULL)

struct uapi_client {
	int fd;			/* -1: slot free */
	char *in;
	size_t inlen, incap;
	char *out;
	size_t outlen, outoff;
	bool closing;		/* close once out is written */
};

/* What a program embedding the engine (weft server, weft client) plugs
 * in. Every callback runs on the loop's thread. */
struct daemon_hooks {
	void *ctx;
	/* weft's control messages (core/device.h, enum device_control). */
	void (*control_rx)(void *ctx, const struct pkt *k,
			   enum device_control kind);
	/* At least once a second, and at deadline when that comes first. */
	void (*tick)(void *ctx, wg_time_t now);
	wg_time_t deadline;	/* monotonic ns; 0: none */
	/* Readable or hung-up descriptors given to daemon_watch(). */
	void (*fd_event)(void *ctx, int fd, uint32_t events);
};

enum { DAEMON_WATCH_MAX = 4 };

struct daemon {
	char ifname[16];
	struct tun tun;
	struct udp udp;
	bool udp_open;
	struct udp_filter filter;	/* the session filter, if loaded */
	int uapi_fd;
	char uapi_path[108];
	struct uapi_client clients[UAPI_MAX_CLIENTS];

	struct pool pool;
	struct device dev;

	int epfd, timerfd, sigfd;
	wg_time_t timer_armed;	/* deadline the timerfd holds, 0 none */
	wg_time_t next_housekeeping;
	bool running;
	int exit_status;

	uint8_t *tunbuf;	/* one raw TUN read (vnet_hdr mode) */
	bool tun_gro;		/* coalesce TCP segments on TUN writes */
	wg_time_t tun_last_read;	/* monotonic ns of the last TUN turn */
	struct gro_plan gro;

	struct daemon_hooks hooks;
	int watch_fds[DAEMON_WATCH_MAX];	/* -1: free */

	uint64_t tun_write_dropped, udp_send_dropped, tun_read_dropped;
	uint64_t tun_gro_units;
};

/* Open the TUN (name), UAPI socket and engine state. 0 or -errno, with
 * one line already logged saying what failed and what to do. */
int daemon_init(struct daemon *dm, const char *ifname);
/* The same, listening on port from the start (0: any). */
int daemon_init_port(struct daemon *dm, const char *ifname, uint16_t port);
/* The same with a TUN descriptor opened by someone else (the privileged
 * helper, DESIGN.md §5); tun_fd < 0: open ifname. On success dm owns it. */
int daemon_init_tun(struct daemon *dm, const char *ifname, uint16_t port,
		    int tun_fd);
/* Install hooks (copied); control messages reach hooks->control_rx from
 * now on instead of being dropped. */
void daemon_set_hooks(struct daemon *dm, const struct daemon_hooks *hooks);
/* Report fd's events (EPOLLIN) to hooks.fd_event. 0, -ENOSPC, -errno. */
int daemon_watch(struct daemon *dm, int fd);
void daemon_unwatch(struct daemon *dm, int fd);
/* Stop daemon_run at the end of this turn, with status. */
void daemon_stop(struct daemon *dm, int status);

/* Run until a signal, the interface disappearing, or a fatal error. */
int daemon_run(struct daemon *dm);
void daemon_destroy(struct daemon *dm);

/* Log every drop counter on one line (SIGUSR1, and at exit). */
void daemon_log_counters(const struct daemon *dm);

/* Give up the session filter (os/linux/udp_filter.h) for the header
 * filter: keeping the session filter in step takes the bpf() system
 * call, so a process about to drop its privileges calls this first. */
void daemon_filter_headers_only(struct daemon *dm);

/* (Re)bind the UDP sockets to port (0: any). 0 or -errno. */
int daemon_bind(struct daemon *dm, uint16_t port);

/* uapi_server.c */
void uapi_server_init(struct daemon *dm);
void uapi_server_accept(struct daemon *dm);
void uapi_server_event(struct daemon *dm, struct uapi_client *c,
		       uint32_t events);
void uapi_server_close_all(struct daemon *dm);

#endif
