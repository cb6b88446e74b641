/* api.h - weft-hub's request handler (docs/mesh-protocol.md "Hub HTTP
 * API") as a function of the request and the store, without a network:
 * route, authenticate (hubauth.h), check what the hub can check, store,
 * answer JSON. Every refusal is a 4xx with {"error":"<one line>"}.
 *
 * The hub never trusts itself: it refuses what it can prove wrong (bad
 * signature, signer not pinned or not listed, version or time not newer)
 * but nodes check everything again. */
#ifndef WEFT_HUB_API_H
#define WEFT_HUB_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh/mesh.h"

struct hub_store;
struct hub_api;

enum hub_api_limits {
	HUB_TARGET_MAX = 512,		/* path and query */
	HUB_WAIT_MAX_S = 30,
};

struct hub_request {
	const char *method;		/* "GET", "POST", ... */
	const char *target;		/* path and query, raw, as on the wire */
	const char *auth;		/* Authorization value, or NULL */
	const uint8_t *body;		/* may be NULL when body_len == 0 */
	size_t body_len;
	bool body_too_big;		/* the transport stopped reading it */
	int64_t now;			/* unix seconds */
};

struct hub_response {
	int status;			/* 200 or 4xx/5xx; 0: hold (below) */
	char *body;			/* malloc'd JSON, NUL-terminated */
	size_t body_len;
	unsigned n_messages;		/* events: messages found */
	/* status 0: an events request with wait > 0 and nothing to return;
	 * the transport holds it until a message of network arrives or
	 * wait_s pass, then calls hub_api_events(). */
	unsigned wait_s;
	char network[MESH_NAME_MAX];
	uint64_t since;
	/* A message was stored for network (the transport wakes waiters). */
	bool stored;
	uint64_t stored_id;
};

/* A handler over store (not owned). It caches the parsed current roster of
 * a few networks and drops the cache when another connection commits
 * (PRAGMA data_version). 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int hub_api_new(struct hub_api **out, struct hub_store *store);
void hub_api_free(struct hub_api *api);

/* The body limit for a request (413 past it): 1 MiB for a roster POST,
 * 16 KiB otherwise. target may be NULL. */
size_t hub_api_body_limit(const char *method, const char *target);

/* Handle one request. Always fills rs (on out-of-memory: 500 with a fixed
 * body); free with hub_response_free. */
void hub_api_handle(struct hub_api *api, const struct hub_request *rq,
		    struct hub_response *rs);

/* The events answer for network after since, without authentication (the
 * request was authenticated when it started waiting). */
void hub_api_events(struct hub_api *api, const char *network, uint64_t since,
		    struct hub_response *rs);

void hub_response_free(struct hub_response *rs);

#endif
