/* invite.h - the one-line invite of `weft admin invite`:
 *   weft1:<base64url(JSON {"hub":URL,"network":NAME,"admin":[KEY,...]})>
 * which pins the admin keys on the device that uses it. */
#ifndef WEFT_MESH_INVITE_H
#define WEFT_MESH_INVITE_H

#include "mesh/mesh.h"

struct invite {
	char hub[MESH_URL_MAX];		/* http:// or https:// */
	char network[MESH_NAME_MAX];
	uint8_t admins[MESH_MAX_ADMINS][MESH_KEY_LEN];
	unsigned n_admins;
};

int invite_format(const struct invite *iv, char **line);	/* malloc'd */
int invite_parse(struct invite *iv, const char *line,
		 char reason[MESH_REASON_MAX]);

#endif
