/* http.h - weft-hub's HTTP server: libmicrohttpd on one epoll thread
 * running api.h's handler, with long-polls (events?wait=S) suspended until
 * a message for their network arrives or their wait ends. Messages
 * written by other processes to the same database are noticed through
 * PRAGMA data_version, checked on every hub_http_tick(). */
#ifndef WEFT_HUB_HTTP_H
#define WEFT_HUB_HTTP_H

#include <stdbool.h>

#include "mesh/mesh.h"

struct hub_http;

enum hub_http_limits {
	HUB_HTTP_TIMEOUT_S = 30,	/* idle connection (not while held) */
	HUB_HTTP_CONN_DEFAULT = 8192,
	HUB_HTTP_TICK_MS = 100,		/* call hub_http_tick at least this often */
	HUB_HTTP_ADDR_MAX = 64,
};

struct hub_http_config {
	const char *listen;		/* "ADDR:PORT", "[V6]:PORT" (numeric) */
	const char *db_path;		/* SQLite file */
	unsigned max_connections;	/* 0: HUB_HTTP_CONN_DEFAULT */
	bool verbose;			/* log every request */
};

/* Open the database (twice: the server's and the watcher's handle), bind,
 * and start serving. bound: the address actually listened on (the port
 * filled in when 0 was asked). 0 or -errno with a reason. */
__attribute__((warn_unused_result))
int hub_http_start(struct hub_http **out, const struct hub_http_config *cfg,
		   char bound[HUB_HTTP_ADDR_MAX], char reason[MESH_REASON_MAX]);
/* From the thread that started it: end expired long-polls and wake those
 * whose network got a message from another process. */
void hub_http_tick(struct hub_http *h);
/* Answer every held request, stop serving, close everything. */
void hub_http_stop(struct hub_http *h);

#endif
