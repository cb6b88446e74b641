/* hubclient.h - a mesh node's connection to weft-hub, on two threads of
 * its own so that the engine's loop never waits on the network: one
 * follows the event stream (a signed long poll, resumed from the last
 * message id after any failure, with jittered backoff), one posts the
 * announcements it is handed. Results reach the loop through a bounded
 * queue and an eventfd it watches; the loop verifies everything itself. */
#ifndef WEFT_MESH_HUBCLIENT_H
#define WEFT_MESH_HUBCLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mesh/mesh.h"

enum hubclient_values {
	HUBCLIENT_QUEUE_MAX = 8,	/* event answers waiting for the loop */
	HUBCLIENT_WAIT_S = 25,		/* long-poll seconds */
	/* Jittered, so a restarted hub is not hit by every node at once; a
	 * short cap, so a hub back after a short outage is found soon. */
	HUBCLIENT_RETRY_CAP_MS = 15000,
};

struct hubclient {
	char hub[MESH_URL_MAX];
	char network[MESH_NAME_MAX];
	const uint8_t *sk;		/* the identity key; outlives us */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *queue[HUBCLIENT_QUEUE_MAX];
	unsigned n;
	char *ann;			/* envelope to POST, owned */
	bool ann_done;
	long ann_status;
	uint64_t ann_id;
	char ann_err[MESH_REASON_MAX];
	volatile int stop;
	volatile int abort_poll;	/* stop, or hubclient_kick */
	int efd;
	pthread_t poller, poster;
	bool started;
};

struct hubclient_results {
	char *answers[HUBCLIENT_QUEUE_MAX];	/* events answers; caller frees */
	unsigned n;
	bool ann_done;			/* the last announcement's POST ended */
	long ann_status;		/* its HTTP status, 0: no answer */
	uint64_t ann_id;		/* its message id on 200 */
	char ann_err[MESH_REASON_MAX];
};

/* Start both threads. 0 or -errno. */
int hubclient_start(struct hubclient *h, const char *hub, const char *network,
		    const uint8_t sk[MESH_SECRET_LEN]);
/* Stop and join them (an ongoing request is aborted). */
void hubclient_stop(struct hubclient *h);
/* Readable when results are waiting. */
int hubclient_fd(const struct hubclient *h);
/* Post env (taken over) as the next announcement, replacing one not yet
 * sent. */
void hubclient_announce(struct hubclient *h, char *env);
/* Drop the current long poll and start another at once: our address
 * changed, and the connection may be dead in a NAT that forgot it. */
void hubclient_kick(struct hubclient *h);
/* Take what arrived since the last call. */
void hubclient_take(struct hubclient *h, struct hubclient_results *r);

#endif
