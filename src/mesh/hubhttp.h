/* hubhttp.h - one signed request to weft-hub (libcurl, blocking, bounded):
 * used by `weft admin`, by the node's hub thread and by the load tool. */
#ifndef WEFT_MESH_HUBHTTP_H
#define WEFT_MESH_HUBHTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "mesh/mesh.h"

enum { HUBHTTP_REPLY_MAX = 4 << 20 };

struct hub_reply {
	long status;		/* HTTP status; 0 when no answer */
	char *body;		/* NUL-terminated, malloc'd */
	size_t len;
	char error[MESH_REASON_MAX];	/* the hub's reason on 4xx/5xx, or
					 * why there was no answer */
};

/* method "GET"/"POST"; path_and_query starts with '/'. sk signs the
 * request (hubauth.h); NULL sends none. 0 when an HTTP answer came (any
 * status), -EHOSTUNREACH / -ETIMEDOUT / -EIO with error filled when not.
 * *cancel (may be NULL) set non-zero by another thread aborts the
 * request. */
int hubhttp_request(const char *hub, const uint8_t *sk, const char *method,
		    const char *path_and_query, const char *body, size_t body_len,
		    long timeout_ms, const volatile int *cancel,
		    struct hub_reply *r);
void hub_reply_free(struct hub_reply *r);

#endif
