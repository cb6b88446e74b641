/* api.h - weft-hub's HTTP API as a function (docs/mesh-protocol.md "Hub
 * HTTP API"): a request in, a status and a JSON body out, no sockets, so
 * that every answer is testable and fuzzable without a network. The hub
 * checks what it can, so that junk never reaches the nodes, but it is not
 * trusted: nodes check everything again. */
#ifndef WEFT_HUB_API_H
#define WEFT_HUB_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/store.h"
#include "mesh/roster.h"

enum api_limits {
	API_EVENTS_LIMIT = 1000,	/* messages per events answer */
	API_WAIT_MAX = 30,		/* long-poll seconds */
	API_ROSTER_CACHE = 8,		/* networks whose roster stays parsed */
};

/* The parsed current roster of a network: parsing one is O(devices^2)
 * (roster_parse checks that keys and names are unique), so a hub with
 * devices of several networks must not re-parse on every request. */
struct api_cached_roster {
	char network[MESH_NAME_MAX];
	uint64_t id;
	uint64_t used;		/* last use, for eviction */
	bool valid;
	struct roster roster;
};

struct api {
	struct store *store;
	uint64_t uses;
	struct api_cached_roster cache[API_ROSTER_CACHE];
};

struct api_request {
	const char *method;
	const char *path;	/* without the query */
	const char *query;	/* after '?', or NULL */
	const char *auth;	/* Authorization value, or NULL */
	const char *body;
	size_t body_len;
	int64_t now;		/* unix seconds */
};

struct api_response {
	int status;
	char *body;		/* malloc'd JSON */
	/* events with nothing to return and wait > 0: the caller holds the
	 * request and calls api_events() again when network changes or
	 * wait_s passes. */
	bool wait;
	unsigned wait_s;
	uint64_t since;
	char network[MESH_NAME_MAX];
	/* A message was stored for network: wake its waiters. */
	bool stored;
};

void api_init(struct api *a, struct store *s);
void api_free(struct api *a);
/* The most body bytes a request to this path may carry. */
size_t api_body_limit(const char *path);
void api_handle(struct api *a, const struct api_request *rq,
		struct api_response *rs);
/* The events answer for a held request (after the wait). */
void api_events(struct api *a, const char *network, uint64_t since,
		struct api_response *rs);
/* A 4xx/5xx answer {"error":reason} (for the HTTP layer's own refusals). */
void api_error(struct api_response *rs, int status, const char *reason);

#endif
