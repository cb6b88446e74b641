/* netmon.h - notice changes of the host's network (addresses added or
 * removed, default routes changed) through rtnetlink multicast, so a mesh
 * node looks again for its paths. Opened before the engine drops its
 * privileges; reading needs none. */
#ifndef WEFT_MESH_NETMON_H
#define WEFT_MESH_NETMON_H

#include <stdbool.h>

/* A non-blocking descriptor to watch, or -errno. */
int netmon_open(void);
/* Drain it: true when something changed that is not on interface
 * ignore_ifindex (our own tunnel). */
bool netmon_read(int fd, int ignore_ifindex);

#endif
