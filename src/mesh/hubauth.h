/* hubauth.h - the Authorization header of node/admin -> hub requests:
 *   Authorization: Weft key=<b64>, time=<unix s>, sig=<b64>
 * sig = Ed25519 over "weft hub request v1\n" METHOD "\n" PATH_AND_QUERY
 * "\n" TIME "\n" hex(SHA-256(body)) "\n". No shared secret: the hub knows
 * the keys from the roster. */
#ifndef WEFT_MESH_HUBAUTH_H
#define WEFT_MESH_HUBAUTH_H

#include "mesh/mesh.h"

enum { HUBAUTH_HEADER_MAX = 256 };

struct hubauth {
	uint8_t key[MESH_KEY_LEN];
	int64_t time;
	uint8_t sig[MESH_SIG_LEN];
};

/* The header's value (after "Authorization: "). */
void hubauth_make(char out[HUBAUTH_HEADER_MAX],
		  const uint8_t sk[MESH_SECRET_LEN], const char *method,
		  const char *path_and_query, const void *body, size_t body_len,
		  int64_t now);
/* Parse the value strictly. 0 or -EINVAL with a reason. */
int hubauth_parse(struct hubauth *a, const char *value,
		  char reason[MESH_REASON_MAX]);
/* Time window and signature. 0, -ETIME (outside the window), -EPERM (bad
 * signature), with a reason. */
int hubauth_check(const struct hubauth *a, const char *method,
		  const char *path_and_query, const void *body,
		  size_t body_len, int64_t now, char reason[MESH_REASON_MAX]);

#endif
