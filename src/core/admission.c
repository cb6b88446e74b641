/* admission.c - passcode admission: the request/response pair of
 * admission.h, Noise IK shaped, with the replay state of the server.
 *
 *   -> e, es, s, ss, {timestamp, proof, prefixes}
 *   <- e, ee, se, {status, addresses}
 *
 * Like noise.c, every consume works on locals and commits only when the
 * whole message checked out; every path leaves through one `out:` label
 * that wipes the chaining key, hash, keys and plaintexts. */
#include "core/admission.h"

#include <stddef.h>
#include <string.h>

#include <sodium.h>

#include "core/allowedips.h"
#include "core/noise.h"
#include "core/noise_sym.h"
#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

static const char construction[] = "weft admission v1";
static const char salt_label[] = "weft passcode v1";
static const uint8_t mac1_label[8] = "mac1----";

enum {
	HEADER_LEN = 8,		/* type, subtype, reserved, index: hashed */
	SALT_LEN = 16,
	RESPONSE_MAC1_OFFSET =
		offsetof(struct message_admission_response, mac1),
	/* The first four bytes as the le32 every implementation reads. */
	REQUEST_TYPE = ADMISSION_MESSAGE_TYPE | ADMISSION_SUBTYPE_REQUEST << 8,
	RESPONSE_TYPE =
		ADMISSION_MESSAGE_TYPE | ADMISSION_SUBTYPE_RESPONSE << 8,
	KNOWN_TAG = 'k',	/* domain bytes for the two table hashes */
	RECENT_TAG = 'r',
};

_Static_assert(crypto_pwhash_SALTBYTES == SALT_LEN, "argon2 salt size");
_Static_assert((int)SALT_LEN <= (int)BLAKE2S_HASH_LEN, "salt from a hash");
_Static_assert((int)NOISE_HASH_LEN == (int)BLAKE2S_HASH_LEN, "hash size");
_Static_assert((int)NOISE_SYMMETRIC_KEY_LEN == (int)AEAD_KEY_LEN, "key size");
_Static_assert((int)NOISE_AUTHTAG_LEN == (int)AEAD_TAG_LEN, "tag size");
_Static_assert((int)NOISE_PUBLIC_KEY_LEN == (int)X25519_KEY_LEN, "dh size");
_Static_assert((int)ADMISSION_MAX_PREFIXES <= (int)ADDRPOOL_MAX_AVOID,
	       "the pool takes every prefix a request can carry");
_Static_assert((ADMISSION_KNOWN_BUCKETS & (ADMISSION_KNOWN_BUCKETS - 1)) == 0 &&
	       (ADMISSION_RECENT_BUCKETS & (ADMISSION_RECENT_BUCKETS - 1)) == 0,
	       "bucket counts are powers of two");
_Static_assert(ADMISSION_RESPONSE_LEN < ADMISSION_REQUEST_LEN,
	       "no amplification");
_Static_assert(offsetof(struct message_admission_request, sender_index) == 4 &&
	       offsetof(struct message_admission_response, receiver_index) == 4,
	       "indices where cookie replies and routing look for them");

/* ---- Noise steps (the protocol name differs from WireGuard's) ---- */

/* ck = HASH(construction); h = HASH(ck || responder static). */
static void start(uint8_t ck[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
		  const uint8_t responder[NOISE_PUBLIC_KEY_LEN])
{
	blake2s256(ck, construction, sizeof(construction) - 1, NULL, 0);
	blake2s256(hash, ck, NOISE_HASH_LEN, responder, NOISE_PUBLIC_KEY_LEN);
}

/* proof = HMAC-BLAKE2s(K_pass, h || C || timestamp) */
static void make_proof(uint8_t proof[ADMISSION_PROOF_LEN],
		       const uint8_t passcode_key[ADMISSION_KEY_LEN],
		       const uint8_t hash[NOISE_HASH_LEN],
		       const uint8_t client[NOISE_PUBLIC_KEY_LEN],
		       const uint8_t timestamp[NOISE_TIMESTAMP_LEN])
{
	uint8_t in[NOISE_HASH_LEN + NOISE_PUBLIC_KEY_LEN + NOISE_TIMESTAMP_LEN];

	memcpy(in, hash, NOISE_HASH_LEN);
	memcpy(in + NOISE_HASH_LEN, client, NOISE_PUBLIC_KEY_LEN);
	memcpy(in + NOISE_HASH_LEN + NOISE_PUBLIC_KEY_LEN, timestamp,
	       NOISE_TIMESTAMP_LEN);
	hmac_blake2s(proof, passcode_key, ADMISSION_KEY_LEN, in, sizeof(in));
	crypto_wipe(in, sizeof(in));
}

static void header_set(uint8_t *msg, uint32_t type, uint32_t index)
{
	le32_store(msg, type);
	le32_store(msg + 4, index);
}

/* ---- prefix records ---- */

static size_t family_len(uint8_t family)
{
	return family == IP_V4 ? 4 : family == IP_V6 ? 16 : 0;
}

static uint8_t family_bits(uint8_t family)
{
	return (uint8_t)(family_len(family) * 8);
}

/* Are the bits of addr past cidr all zero? */
static bool host_bits_zero(const uint8_t *addr, size_t len, uint8_t cidr)
{
	for (size_t i = 0; i < len; i++) {
		unsigned first = (unsigned)i * 8;
		uint8_t keep = first >= cidr ? 0 :
			       cidr - first >= 8 ? 0xff :
			       (uint8_t)(0xff << (8 - (cidr - first)));

		if (addr[i] & (uint8_t)~keep)
			return false;
	}
	return true;
}

static void clear_host_bits(uint8_t *addr, size_t len, uint8_t cidr)
{
	for (size_t i = 0; i < len; i++) {
		unsigned first = (unsigned)i * 8;

		if (first >= cidr)
			addr[i] = 0;
		else if (cidr - first < 8)
			addr[i] &= (uint8_t)(0xff << (8 - (cidr - first)));
	}
}

enum record_rule {
	RULE_PREFIX,		/* avoided subnet: no host bits */
	RULE_ADDRESS,		/* host address with its network's length */
	RULE_HOST,		/* full-length address (DNS) */
};

/* A well-formed prefix (family 4/6, cidr in range, unused bytes zero)
 * that obeys rule; family must be want unless want is 0. */
static bool prefix_ok(const struct ip_prefix *p, uint8_t want,
		      enum record_rule rule)
{
	size_t len = family_len(p->family);

	if (!len || (want && p->family != want) ||
	    p->cidr > family_bits(p->family))
		return false;
	for (size_t i = len; i < sizeof(p->addr); i++)
		if (p->addr[i])
			return false;
	if (rule == RULE_PREFIX)
		return host_bits_zero(p->addr, len, p->cidr);
	if (rule == RULE_HOST)
		return p->cidr == family_bits(p->family);
	return true;
}

static void record_put(struct admission_wire_prefix *w,
		       const struct ip_prefix *p)
{
	memset(w, 0, sizeof(*w));
	if (!p->family)
		return;
	w->family = p->family;
	w->cidr = p->cidr;
	memcpy(w->addr, p->addr, family_len(p->family));
}

static void record_get(struct ip_prefix *p,
		       const struct admission_wire_prefix *w)
{
	memset(p, 0, sizeof(*p));
	p->family = w->family;
	p->cidr = w->cidr;
	memcpy(p->addr, w->addr, sizeof(p->addr));
}

/* A record that is either absent (all zero; when optional) or a prefix
 * obeying rule. */
__attribute__((warn_unused_result))
static bool record_parse(struct ip_prefix *p,
			 const struct admission_wire_prefix *w, uint8_t want,
			 enum record_rule rule, bool optional)
{
	memset(p, 0, sizeof(*p));
	if (crypto_is_zero(w, sizeof(*w)))
		return optional;
	if (w->reserved_zero[0] || w->reserved_zero[1])
		return false;
	record_get(p, w);
	return prefix_ok(p, want, rule);
}

/* ---- passcode ---- */

bool admission_passcode_key(uint8_t out[ADMISSION_KEY_LEN],
			    const char *passcode, size_t len,
			    const uint8_t server_public[NOISE_PUBLIC_KEY_LEN],
			    const struct admission_pwhash_limits *limits)
{
	unsigned long long opslimit = ADMISSION_PWHASH_OPSLIMIT;
	size_t memlimit = ADMISSION_PWHASH_MEMLIMIT;
	uint8_t salt[BLAKE2S_HASH_LEN];
	bool ok;

	memset(out, 0, ADMISSION_KEY_LEN);
	if (!passcode || len == 0 || len > ADMISSION_PASSCODE_MAX ||
	    !server_public)
		return false;
	if (limits) {
		opslimit = limits->opslimit;
		memlimit = limits->memlimit;
	}
	/* The salt names the server, so one K_pass opens one server only and
	 * a table of guesses is per server. */
	blake2s256(salt, salt_label, sizeof(salt_label) - 1, server_public,
		   NOISE_PUBLIC_KEY_LEN);
	ok = crypto_pwhash(out, ADMISSION_KEY_LEN, passcode, len, salt,
			   opslimit, memlimit,
			   crypto_pwhash_ALG_ARGON2ID13) == 0;
	if (!ok)
		crypto_wipe(out, ADMISSION_KEY_LEN);
	crypto_wipe(salt, sizeof(salt));
	return ok;
}

/* ---- classification ---- */

enum admission_kind admission_message_kind(const uint8_t *msg, size_t len)
{
	if (!msg || len < sizeof(struct admission_header))
		return ADMISSION_KIND_NONE;
	/* The four header bytes as one le32, as every WireGuard
	 * implementation reads them: reserved bytes must be zero. */
	if (le32_load(msg) == REQUEST_TYPE && len == ADMISSION_REQUEST_LEN)
		return ADMISSION_KIND_REQUEST;
	if (le32_load(msg) == RESPONSE_TYPE && len == ADMISSION_RESPONSE_LEN)
		return ADMISSION_KIND_RESPONSE;
	return ADMISSION_KIND_NONE;
}

/* ---- server: replay state ---- */

/* A keyed hash of tag || 32 bytes: bucket choice and cache tags. The key
 * is secret, so nobody can aim many keys at one bucket. */
static void table_hash(uint8_t *out, size_t outlen,
		       const struct admission_server *srv, uint8_t tag,
		       const uint8_t in[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t buf[1 + NOISE_PUBLIC_KEY_LEN];

	buf[0] = tag;
	memcpy(buf + 1, in, NOISE_PUBLIC_KEY_LEN);
	blake2s_keyed(out, outlen, srv->table_key, sizeof(srv->table_key), buf,
		      sizeof(buf));
}

static struct admission_known *
known_bucket(struct admission_server *srv,
	     const uint8_t client[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t h[8];

	table_hash(h, sizeof(h), srv, KNOWN_TAG, client);
	return srv->known[le64_load(h) & (ADMISSION_KNOWN_BUCKETS - 1)];
}

static struct admission_known *
known_find(struct admission_server *srv,
	   const uint8_t client[NOISE_PUBLIC_KEY_LEN])
{
	struct admission_known *b = known_bucket(srv, client);

	for (size_t i = 0; i < ADMISSION_KNOWN_WAYS; i++)
		if (b[i].used && crypto_equal(b[i].client_static, client,
					      NOISE_PUBLIC_KEY_LEN))
			return &b[i];
	return NULL;
}

/* Record client's timestamp: in its slot, a free one, or the bucket's
 * least recently admitted (whose replays the recent cache still stops
 * for ADMISSION_REPLAY_WINDOW). */
static void known_store(struct admission_server *srv,
			const uint8_t client[NOISE_PUBLIC_KEY_LEN],
			const uint8_t timestamp[NOISE_TIMESTAMP_LEN],
			wg_time_t now)
{
	struct admission_known *b = known_bucket(srv, client);
	struct admission_known *slot = known_find(srv, client);

	for (size_t i = 0; !slot && i < ADMISSION_KNOWN_WAYS; i++)
		if (!b[i].used)
			slot = &b[i];
	if (!slot) {
		slot = &b[0];
		for (size_t i = 1; i < ADMISSION_KNOWN_WAYS; i++)
			if (b[i].last_admitted < slot->last_admitted)
				slot = &b[i];
	}
	memcpy(slot->client_static, client, NOISE_PUBLIC_KEY_LEN);
	memcpy(slot->timestamp, timestamp, NOISE_TIMESTAMP_LEN);
	slot->last_admitted = now;
	slot->used = true;
}

/* Still inside the window? A clock that went backwards counts as inside:
 * refusing is the safe side. */
static bool recent_live(const struct admission_recent *r, wg_time_t now)
{
	return r->used && (now < r->admitted ||
			   now - r->admitted <
				   ADMISSION_REPLAY_WINDOW * NSEC_PER_SEC);
}

static struct admission_recent *
recent_bucket(struct admission_server *srv,
	      const uint8_t tag[ADMISSION_RECENT_TAG_LEN])
{
	return srv->recent[le32_load(tag) & (ADMISSION_RECENT_BUCKETS - 1)];
}

static bool recent_seen(struct admission_server *srv,
			const uint8_t tag[ADMISSION_RECENT_TAG_LEN],
			wg_time_t now)
{
	struct admission_recent *b = recent_bucket(srv, tag);

	for (size_t i = 0; i < ADMISSION_RECENT_WAYS; i++)
		if (recent_live(&b[i], now) &&
		    crypto_equal(b[i].tag, tag, ADMISSION_RECENT_TAG_LEN))
			return true;
	return false;
}

static void recent_store(struct admission_server *srv,
			 const uint8_t tag[ADMISSION_RECENT_TAG_LEN],
			 wg_time_t now)
{
	struct admission_recent *b = recent_bucket(srv, tag);
	struct admission_recent *slot = NULL;

	for (size_t i = 0; !slot && i < ADMISSION_RECENT_WAYS; i++)
		if (!recent_live(&b[i], now))
			slot = &b[i];
	if (!slot) {
		slot = &b[0];
		for (size_t i = 1; i < ADMISSION_RECENT_WAYS; i++)
			if (b[i].admitted < slot->admitted)
				slot = &b[i];
	}
	memcpy(slot->tag, tag, ADMISSION_RECENT_TAG_LEN);
	slot->admitted = now;
	slot->used = true;
}

/* ---- server ---- */

bool admission_server_init(struct admission_server *srv,
			   const struct noise_local *local,
			   const uint8_t passcode_key[ADMISSION_KEY_LEN],
			   const struct noise_ops *ops)
{
	crypto_wipe(srv, sizeof(*srv));
	if (!local->has_identity)
		return false;
	/* An all-zero K_pass is what a failed derivation leaves behind, and
	 * a key that everybody knows. */
	if (passcode_key && crypto_is_zero(passcode_key, ADMISSION_KEY_LEN))
		return false;
	memcpy(srv->static_public, local->static_public, NOISE_PUBLIC_KEY_LEN);
	cookie_checker_init(&srv->mac1, local->static_public);
	if (passcode_key) {
		memcpy(srv->passcode_key, passcode_key, ADMISSION_KEY_LEN);
		srv->has_passcode = true;
	}
	ops->random(ops->ctx, srv->table_key, sizeof(srv->table_key));
	srv->ready = true;
	return true;
}

void admission_server_clear(struct admission_server *srv)
{
	crypto_wipe(srv, sizeof(*srv));
}

void admission_request_clear(struct admission_request *req)
{
	crypto_wipe(req, sizeof(*req));
}

/* The avoided prefixes of an opened payload; false unless every slot is
 * canonical: count in range, reserved zero, used slots valid prefixes,
 * unused slots all zero. */
__attribute__((warn_unused_result))
static bool request_prefixes(struct admission_request *r,
			     const struct admission_request_payload *pl)
{
	if (pl->prefix_count > ADMISSION_MAX_PREFIXES ||
	    !crypto_is_zero(pl->reserved_zero, sizeof(pl->reserved_zero)))
		return false;
	for (size_t i = 0; i < ADMISSION_MAX_PREFIXES; i++) {
		bool used = i < pl->prefix_count;

		if (!used) {
			if (!crypto_is_zero(&pl->prefixes[i],
					    sizeof(pl->prefixes[i])))
				return false;
		} else if (!record_parse(&r->avoid[i], &pl->prefixes[i], 0,
					 RULE_PREFIX, false)) {
			return false;
		}
	}
	r->n_avoid = pl->prefix_count;
	return true;
}

enum admission_verdict
admission_request_consume(struct admission_server *srv,
			  const struct noise_local *local,
			  const uint8_t *msg, size_t len, wg_time_t now,
			  struct admission_request *out)
{
	const struct message_admission_request *m;
	struct admission_request next;
	struct admission_request_payload pl;
	struct admission_known *known;
	enum admission_verdict ret = ADMISSION_INVALID;
	uint8_t hash[NOISE_HASH_LEN], ck[NOISE_HASH_LEN];
	uint8_t proof_hash[NOISE_HASH_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t s[NOISE_PUBLIC_KEY_LEN], e[NOISE_PUBLIC_KEY_LEN];
	uint8_t proof[ADMISSION_PROOF_LEN];
	uint8_t tag[ADMISSION_RECENT_TAG_LEN];

	/* Everything wiped at out: must be defined on every path. */
	memset(&next, 0, sizeof(next));
	memset(&pl, 0, sizeof(pl));
	memset(hash, 0, sizeof(hash));
	memset(ck, 0, sizeof(ck));
	memset(key, 0, sizeof(key));
	memset(proof, 0, sizeof(proof));
	memset(out, 0, sizeof(*out));

	if (!srv->ready || !local->has_identity ||
	    !crypto_equal(local->static_public, srv->static_public,
			  NOISE_PUBLIC_KEY_LEN) ||
	    admission_message_kind(msg, len) != ADMISSION_KIND_REQUEST)
		goto out;
	/* Cheap first: no DH for packets that were not made for us. */
	if (cookie_validate_packet(&srv->mac1, msg, len, NULL, 0, false, now,
				   NULL) == INVALID_MAC)
		goto out;
	m = (const struct message_admission_request *)msg;

	start(ck, hash, local->static_public);
	noise_mix_hash(hash, msg, HEADER_LEN);

	/* e */
	memcpy(e, m->unencrypted_ephemeral, sizeof(e));
	noise_mix_hash(hash, e, sizeof(e));
	noise_mix_key(ck, NULL, e, sizeof(e));

	/* es */
	if (!noise_mix_dh(ck, key, local->static_private, e))
		goto out;

	/* s */
	if (!noise_decrypt_and_hash(s, m->encrypted_static,
			      sizeof(m->encrypted_static), key, hash))
		goto out;

	/* ss: the sender owns s */
	if (!noise_mix_dh(ck, key, local->static_private, s))
		goto out;

	/* {payload} */
	memcpy(proof_hash, hash, sizeof(hash));
	if (!noise_decrypt_and_hash(&pl, m->encrypted_payload,
			      sizeof(m->encrypted_payload), key, hash))
		goto out;
	if (!request_prefixes(&next, &pl))
		goto out;

	/* Replay. TAI64N is big-endian, so memcmp orders it. */
	ret = ADMISSION_REPLAYED;
	known = known_find(srv, s);
	if (known && memcmp(pl.timestamp, known->timestamp,
			    NOISE_TIMESTAMP_LEN) <= 0)
		goto out;
	table_hash(tag, sizeof(tag), srv, RECENT_TAG, e);
	if (recent_seen(srv, tag, now))
		goto out;

	if (srv->has_passcode) {
		make_proof(proof, srv->passcode_key, proof_hash, s,
			   pl.timestamp);
		next.proof = crypto_equal(proof, pl.proof, sizeof(proof)) ?
			     ADMISSION_PROOF_VALID : ADMISSION_PROOF_INVALID;
	} else {
		next.proof = ADMISSION_PROOF_NOT_REQUIRED;
	}

	memcpy(next.client_static, s, sizeof(s));
	memcpy(next.timestamp, pl.timestamp, NOISE_TIMESTAMP_LEN);
	next.sender_index = le32_load(m->sender_index);
	memcpy(next.remote_ephemeral, e, sizeof(e));
	memcpy(next.hash, hash, sizeof(hash));
	memcpy(next.chaining_key, ck, sizeof(ck));
	next.answerable = true;

	if (next.proof == ADMISSION_PROOF_INVALID) {
		/* A wrong guess changes no state: no lock-out by guessing. */
		ret = ADMISSION_WRONG_PASSCODE;
	} else {
		known_store(srv, s, pl.timestamp, now);
		recent_store(srv, tag, now);
		ret = ADMISSION_ADMISSIBLE;
	}
	*out = next;

out:
	crypto_wipe(&next, sizeof(next));
	crypto_wipe(&pl, sizeof(pl));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(ck, sizeof(ck));
	crypto_wipe(proof_hash, sizeof(proof_hash));
	crypto_wipe(key, sizeof(key));
	crypto_wipe(s, sizeof(s));
	crypto_wipe(e, sizeof(e));
	crypto_wipe(proof, sizeof(proof));
	crypto_wipe(tag, sizeof(tag));
	return ret;
}

/* A grant that the client would accept, fitting the request it answers. */
static bool grant_ok(const struct admission_grant *g,
		     const struct admission_request *req)
{
	const struct ip_prefix *opt[] = { &g->address4, &g->address6,
					  &g->server4, &g->server6 };
	const uint8_t fam[] = { IP_V4, IP_V6, IP_V4, IP_V6 };

	if ((unsigned)g->status > ADMISSION_STATUS_MAX ||
	    g->n_dns > ADMISSION_MAX_DNS)
		return false;
	/* Only a wrong proof gets BAD_PASSCODE, and it gets nothing else. */
	if ((g->status == ADMISSION_STATUS_BAD_PASSCODE) !=
	    (req->proof == ADMISSION_PROOF_INVALID))
		return false;
	if (g->status != ADMISSION_STATUS_OK) {
		for (size_t i = 0; i < 4; i++)
			if (opt[i]->family)
				return false;
		return g->n_dns == 0;
	}
	if (!g->address4.family && !g->address6.family)
		return false;
	for (size_t i = 0; i < 4; i++)
		if (opt[i]->family && !prefix_ok(opt[i], fam[i], RULE_ADDRESS))
			return false;
	for (size_t i = 0; i < g->n_dns; i++)
		if (!prefix_ok(&g->dns[i], 0, RULE_HOST))
			return false;
	return true;
}

bool admission_response_create(uint8_t msg[ADMISSION_RESPONSE_LEN],
			       struct admission_request *req,
			       const struct admission_grant *grant,
			       const struct noise_ops *ops)
{
	struct message_admission_response *m =
		(struct message_admission_response *)msg;
	struct admission_response_payload pl;
	uint8_t hash[NOISE_HASH_LEN], ck[NOISE_HASH_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN], mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t eph[NOISE_PUBLIC_KEY_LEN];
	bool ok = false;

	memset(msg, 0, ADMISSION_RESPONSE_LEN);
	memset(&pl, 0, sizeof(pl));
	memset(key, 0, sizeof(key));
	memset(eph, 0, sizeof(eph));
	memcpy(hash, req->hash, sizeof(hash));
	memcpy(ck, req->chaining_key, sizeof(ck));
	if (!req->answerable || !grant_ok(grant, req))
		goto out;

	header_set(msg, RESPONSE_TYPE, req->sender_index);
	noise_mix_hash(hash, msg, HEADER_LEN);

	/* e */
	if (!noise_make_ephemeral(eph, m->unencrypted_ephemeral, ops))
		goto out;
	noise_mix_hash(hash, m->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	noise_mix_key(ck, NULL, m->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);

	/* ee */
	if (!noise_mix_dh(ck, NULL, eph, req->remote_ephemeral))
		goto out;

	/* se: readable only by the owner of the client's static key */
	if (!noise_mix_dh(ck, key, eph, req->client_static))
		goto out;

	/* {payload} */
	pl.status = (uint8_t)grant->status;
	pl.dns_count = (uint8_t)grant->n_dns;
	record_put(&pl.address4, &grant->address4);
	record_put(&pl.address6, &grant->address6);
	record_put(&pl.server4, &grant->server4);
	record_put(&pl.server6, &grant->server6);
	for (size_t i = 0; i < grant->n_dns; i++)
		record_put(&pl.dns[i], &grant->dns[i]);
	aead_encrypt(m->encrypted_payload, (const uint8_t *)&pl, sizeof(pl),
		     hash, NOISE_HASH_LEN, 0, key);

	/* mac1 keyed by the client's key, so it drops junk before any DH. */
	blake2s256(mac1_key, mac1_label, sizeof(mac1_label), req->client_static,
		   NOISE_PUBLIC_KEY_LEN);
	blake2s_keyed(m->mac1, COOKIE_MAC_LEN, mac1_key, sizeof(mac1_key), msg,
		      RESPONSE_MAC1_OFFSET);
	ok = true;

out:
	if (!ok)
		crypto_wipe(msg, ADMISSION_RESPONSE_LEN);
	/* Answered once: the secret half goes, the public half stays for
	 * the caller (the key to add as a peer). */
	crypto_wipe(req->remote_ephemeral, sizeof(req->remote_ephemeral));
	crypto_wipe(req->hash, sizeof(req->hash));
	crypto_wipe(req->chaining_key, sizeof(req->chaining_key));
	req->answerable = false;
	crypto_wipe(&pl, sizeof(pl));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(ck, sizeof(ck));
	crypto_wipe(key, sizeof(key));
	crypto_wipe(eph, sizeof(eph));
	return ok;
}

/* ---- client ---- */

bool admission_client_init(struct admission_client *c,
			   const struct noise_local *local,
			   const uint8_t server_static[NOISE_PUBLIC_KEY_LEN],
			   const uint8_t passcode_key[ADMISSION_KEY_LEN])
{
	crypto_wipe(c, sizeof(*c));
	if (!local->has_identity ||
	    crypto_is_zero(server_static, NOISE_PUBLIC_KEY_LEN) ||
	    (passcode_key && crypto_is_zero(passcode_key, ADMISSION_KEY_LEN)))
		return false;
	memcpy(c->server_static, server_static, NOISE_PUBLIC_KEY_LEN);
	memcpy(c->our_static, local->static_public, NOISE_PUBLIC_KEY_LEN);
	if (passcode_key) {
		memcpy(c->passcode_key, passcode_key, ADMISSION_KEY_LEN);
		c->has_passcode = true;
	}
	cookie_maker_init(&c->cookie, server_static);
	blake2s256(c->response_mac1_key, mac1_label, sizeof(mac1_label),
		   local->static_public, NOISE_PUBLIC_KEY_LEN);
	return true;
}

void admission_client_clear(struct admission_client *c)
{
	crypto_wipe(c, sizeof(*c));
}

bool admission_request_create(uint8_t msg[ADMISSION_REQUEST_LEN],
			      struct admission_client *c,
			      const struct noise_local *local,
			      const struct ip_prefix *avoid, size_t n_avoid,
			      wg_time_t now, const struct noise_ops *ops)
{
	struct message_admission_request *m =
		(struct message_admission_request *)msg;
	struct admission_client next = *c;
	struct admission_request_payload pl;
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t index[4];
	bool ok = false;

	memset(msg, 0, ADMISSION_REQUEST_LEN);
	memset(&pl, 0, sizeof(pl));
	memset(key, 0, sizeof(key));
	if (!local->has_identity ||
	    crypto_is_zero(c->server_static, NOISE_PUBLIC_KEY_LEN) ||
	    !crypto_equal(local->static_public, c->our_static,
			  NOISE_PUBLIC_KEY_LEN) ||
	    n_avoid > ADMISSION_MAX_PREFIXES || (n_avoid && !avoid))
		goto out;
	for (size_t i = 0; i < n_avoid; i++) {
		struct ip_prefix p = avoid[i];

		if (!family_len(p.family) || p.cidr > family_bits(p.family))
			goto out;
		memset(p.addr + family_len(p.family), 0,
		       sizeof(p.addr) - family_len(p.family));
		clear_host_bits(p.addr, family_len(p.family), p.cidr);
		record_put(&pl.prefixes[i], &p);
	}
	pl.prefix_count = (uint8_t)n_avoid;

	ops->random(ops->ctx, index, sizeof(index));
	next.sender_index = le32_load(index);
	header_set(msg, REQUEST_TYPE, next.sender_index);
	start(next.chaining_key, next.hash, next.server_static);
	noise_mix_hash(next.hash, msg, HEADER_LEN);

	/* e */
	if (!noise_make_ephemeral(next.ephemeral_private, next.ephemeral_public, ops))
		goto out;
	memcpy(m->unencrypted_ephemeral, next.ephemeral_public,
	       NOISE_PUBLIC_KEY_LEN);
	noise_mix_hash(next.hash, next.ephemeral_public, NOISE_PUBLIC_KEY_LEN);
	noise_mix_key(next.chaining_key, NULL, next.ephemeral_public,
		NOISE_PUBLIC_KEY_LEN);

	/* es */
	if (!noise_mix_dh(next.chaining_key, key, next.ephemeral_private,
		    next.server_static))
		goto out;

	/* s */
	noise_encrypt_and_hash(m->encrypted_static, local->static_public,
			 NOISE_PUBLIC_KEY_LEN, key, next.hash);

	/* ss */
	if (!noise_mix_dh(next.chaining_key, key, local->static_private,
		    next.server_static))
		goto out;

	/* {payload} */
	ops->tai64n(ops->ctx, pl.timestamp);
	if (next.has_passcode)
		make_proof(pl.proof, next.passcode_key, next.hash,
			   local->static_public, pl.timestamp);
	noise_encrypt_and_hash(m->encrypted_payload, &pl, sizeof(pl), key, next.hash);

	cookie_add_mac_to_packet(msg, ADMISSION_REQUEST_LEN, &next.cookie, now);
	next.waiting = true;
	*c = next;
	ok = true;

out:
	if (!ok)
		crypto_wipe(msg, ADMISSION_REQUEST_LEN);
	crypto_wipe(&next, sizeof(next));
	crypto_wipe(&pl, sizeof(pl));
	crypto_wipe(key, sizeof(key));
	return ok;
}

/* The grant in an opened response payload; false unless canonical. */
__attribute__((warn_unused_result))
static bool response_grant(struct admission_grant *g,
			   const struct admission_response_payload *pl)
{
	struct ip_prefix *opt[] = { &g->address4, &g->address6, &g->server4,
				    &g->server6 };
	const struct admission_wire_prefix *rec[] = { &pl->address4,
		&pl->address6, &pl->server4, &pl->server6 };
	const uint8_t fam[] = { IP_V4, IP_V6, IP_V4, IP_V6 };

	memset(g, 0, sizeof(*g));
	if (pl->status > ADMISSION_STATUS_MAX ||
	    pl->dns_count > ADMISSION_MAX_DNS ||
	    !crypto_is_zero(pl->reserved_zero, sizeof(pl->reserved_zero)))
		return false;
	g->status = (enum admission_status)pl->status;
	g->n_dns = pl->dns_count;
	for (size_t i = 0; i < 4; i++)
		if (!record_parse(opt[i], rec[i], fam[i], RULE_ADDRESS, true))
			return false;
	for (size_t i = 0; i < ADMISSION_MAX_DNS; i++) {
		bool used = i < g->n_dns;

		if (!used) {
			if (!crypto_is_zero(&pl->dns[i], sizeof(pl->dns[i])))
				return false;
		} else if (!record_parse(&g->dns[i], &pl->dns[i], 0, RULE_HOST,
					 false)) {
			return false;
		}
	}
	if (g->status == ADMISSION_STATUS_OK)
		return g->address4.family || g->address6.family;
	for (size_t i = 0; i < 4; i++)
		if (opt[i]->family)
			return false;
	return g->n_dns == 0;
}

bool admission_response_consume(struct admission_client *c,
				const struct noise_local *local,
				const uint8_t *msg, size_t len,
				struct admission_grant *out)
{
	const struct message_admission_response *m;
	struct admission_response_payload pl;
	struct admission_grant g;
	uint8_t hash[NOISE_HASH_LEN], ck[NOISE_HASH_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN], e[NOISE_PUBLIC_KEY_LEN];
	uint8_t mac[COOKIE_MAC_LEN];
	bool ok = false;

	memset(&pl, 0, sizeof(pl));
	memset(&g, 0, sizeof(g));
	memset(key, 0, sizeof(key));
	memset(mac, 0, sizeof(mac));
	memcpy(hash, c->hash, sizeof(hash));
	memcpy(ck, c->chaining_key, sizeof(ck));
	memset(out, 0, sizeof(*out));
	if (!c->waiting || !local->has_identity ||
	    !crypto_equal(local->static_public, c->our_static,
			  NOISE_PUBLIC_KEY_LEN) ||
	    admission_message_kind(msg, len) != ADMISSION_KIND_RESPONSE)
		goto out;
	m = (const struct message_admission_response *)msg;
	if (le32_load(m->receiver_index) != c->sender_index)
		goto out;
	blake2s_keyed(mac, sizeof(mac), c->response_mac1_key,
		      sizeof(c->response_mac1_key), msg, RESPONSE_MAC1_OFFSET);
	if (!crypto_equal(mac, m->mac1, sizeof(mac)))
		goto out;

	noise_mix_hash(hash, msg, HEADER_LEN);

	/* e */
	memcpy(e, m->unencrypted_ephemeral, sizeof(e));
	noise_mix_hash(hash, e, sizeof(e));
	noise_mix_key(ck, NULL, e, sizeof(e));

	/* ee */
	if (!noise_mix_dh(ck, NULL, c->ephemeral_private, e))
		goto out;

	/* se */
	if (!noise_mix_dh(ck, key, local->static_private, e))
		goto out;

	/* {payload} */
	if (!aead_decrypt((uint8_t *)&pl, m->encrypted_payload,
			  sizeof(m->encrypted_payload), hash, NOISE_HASH_LEN,
			  0, key))
		goto out;
	if (!response_grant(&g, &pl))
		goto out;

	*out = g;
	/* One answer per request: a replayed response finds nothing. */
	crypto_wipe(c->ephemeral_private, sizeof(c->ephemeral_private));
	crypto_wipe(c->ephemeral_public, sizeof(c->ephemeral_public));
	crypto_wipe(c->hash, sizeof(c->hash));
	crypto_wipe(c->chaining_key, sizeof(c->chaining_key));
	c->sender_index = 0;
	c->waiting = false;
	ok = true;

out:
	crypto_wipe(&pl, sizeof(pl));
	crypto_wipe(&g, sizeof(g));
	crypto_wipe(hash, sizeof(hash));
	crypto_wipe(ck, sizeof(ck));
	crypto_wipe(key, sizeof(key));
	crypto_wipe(e, sizeof(e));
	crypto_wipe(mac, sizeof(mac));
	return ok;
}
