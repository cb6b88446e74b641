/* envelope.h - the signed envelope that carries rosters and announcements:
 *   {"type":T,"body":base64(payload),"signer":base64(key),"sig":base64(sig)}
 * with sig = Ed25519(signer, "weft " T " v1\n" || payload). The payload is
 * handed out only after the signature checks; the bytes signed are the
 * bytes carried, never re-serialised. */
#ifndef WEFT_MESH_ENVELOPE_H
#define WEFT_MESH_ENVELOPE_H

#include "mesh/mesh.h"

enum envelope_type {
	ENV_ROSTER,
	ENV_ANNOUNCE,
};

struct envelope {
	enum envelope_type type;
	uint8_t signer[MESH_KEY_LEN];
	uint8_t sig[MESH_SIG_LEN];
	uint8_t *body;		/* malloc'd, NUL-terminated; freed by envelope_free */
	size_t body_len;
};

/* Parse the envelope's JSON (len bytes, at most MESH_ROSTER_BODY_MAX * 2).
 * Does NOT check the signature. 0, or -EINVAL with a reason. */
int envelope_parse(struct envelope *e, const char *json, size_t len,
		   char reason[MESH_REASON_MAX]);
/* Constant work: true when sig is the signer's signature of the body. */
bool envelope_verify(const struct envelope *e);
/* Sign body with sk (libsodium 64-byte secret key) and write the JSON
 * envelope, malloc'd, NUL-terminated, into *json. 0 or -ENOMEM. */
int envelope_seal(enum envelope_type type, const uint8_t sk[MESH_SECRET_LEN],
		  const char *body, size_t body_len, char **json);
void envelope_free(struct envelope *e);
const char *envelope_type_name(enum envelope_type t);

#endif
