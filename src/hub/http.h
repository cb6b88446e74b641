/* http.h - weft-hub's HTTP server (libmicrohttpd) around api.h. */
#ifndef WEFT_HUB_HTTP_H
#define WEFT_HUB_HTTP_H

#include "mesh/mesh.h"

struct hub_http;

/* Open the database and listen on "ADDR:PORT" / "[V6]:PORT". 0 or -errno
 * with one line in err. */
int hub_http_start(struct hub_http **h, const char *db_path, const char *listen,
		   char err[MESH_REASON_MAX]);
void hub_http_stop(struct hub_http *h);

#endif
