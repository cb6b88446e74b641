/* wgconf.h - the wg(8) configuration file format ([Interface], [Peer]) as
 * read by `weft setconf`/`addconf`, translated into a UAPI "set" request.
 * wg-quick-only keys (Address, DNS, MTU, Table, PreUp, ...) are accepted
 * and ignored when strip is set, errors otherwise. */
#ifndef WEFT_CORE_WGCONF_H
#define WEFT_CORE_WGCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/uapi.h"

struct wgconf_error {
	unsigned line;		/* 1-based; 0 when not tied to a line */
	char msg[160];		/* what is wrong and what to do */
};

/* Parse buf/len and append to out a complete "set=1\n...\n\n" request
 * (replace_peers=true first when replace). 0 on success; -1 with err
 * filled on the first error. */
int wgconf_to_uapi(const char *buf, size_t len, bool replace, bool strip,
		   struct uapi_buf *out, struct wgconf_error *err);

#endif
