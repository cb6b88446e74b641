/* addrpool.h - tunnel addresses for admitted clients: an IPv4 range and an
 * IPv6 ULA range, one address of each per client key, sticky, never inside
 * the client's own subnets, persisted as a small text file.
 *
 * Pure: no allocation, no syscalls. The pool lives in one struct (about
 * 300 KiB: allocate it, do not put it on the stack).
 *
 * Addresses are offsets inside the range. Offset 0 (the network), 1 (the
 * server's own tunnel address) and the last one (v4 broadcast; in v6 the
 * all-ones interface id, kept symmetric) are never given out. A new key's
 * first choice is
 *   start = le64(BLAKE2s-keyed(key = hash_key, outlen 8,
 *                              family byte (4 or 6) || client key))
 *           mod range size,
 * and the assignment is the first offset at or after start (cyclically)
 * that is not reserved, not taken and not inside an avoided prefix. The
 * hash key is the caller's secret, stable across restarts (derive it from
 * the server's private key): a client cannot aim its key at somebody
 * else's address, and a lost pool file gives the same answers again for
 * most keys. The map itself is what makes addresses sticky; persist it
 * with addrpool_serialise() / addrpool_load().
 *
 * A family that is configured must be served: if the client's subnets
 * cover every free address of one family, or the server's own tunnel
 * address, the answer is ADDRPOOL_CONFLICT (the client could not reach the
 * server's resolver or would shadow its own LAN), with no partial result. */
#ifndef WEFT_CORE_ADDRPOOL_H
#define WEFT_CORE_ADDRPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum addrpool_limits {
	ADDRPOOL_MAX_CLIENTS = 4096,
	ADDRPOOL_MAX_AVOID = 16,	/* avoided prefixes per request */
	ADDRPOOL_KEY_LEN = 32,
	ADDRPOOL_HASH_KEY_LEN = 32,
	ADDRPOOL_V4_CIDR_MIN = 8,	/* a /8 at most ... */
	ADDRPOOL_V4_CIDR_MAX = 30,	/* ... and room for one client */
	ADDRPOOL_V6_CIDR_MIN = 64,	/* offsets are 64 bits */
	ADDRPOOL_V6_CIDR_MAX = 126,
	ADDRPOOL_LINE_MAX = 160,	/* longest line the loader accepts */
	ADDRPOOL_PREFIX_STR_MAX = 50,	/* INET6_ADDRSTRLEN + "/128" */
};

/* An address or prefix. family is 0 (none), 4 or 6 (enum ip_family);
 * addr holds 4 or 16 bytes in network order, the rest zero. */
struct ip_prefix {
	uint8_t family;
	uint8_t cidr;
	uint8_t addr[16];
};

enum addrpool_result {
	ADDRPOOL_OK,
	ADDRPOOL_FULL,		/* no free address or no free map slot */
	ADDRPOOL_CONFLICT,	/* the client's subnets cover the pool */
	ADDRPOOL_INVALID,	/* bad argument (avoid list too long, ...) */
};

struct addrpool_entry {
	uint8_t key[ADDRPOOL_KEY_LEN];
	uint64_t off4, off6;
	bool has4, has6;
};

struct addrpool {
	struct ip_prefix net4, net6;	/* family 0: that family is off */
	uint8_t hash_key[ADDRPOOL_HASH_KEY_LEN];
	size_t n;
	struct addrpool_entry entries[ADDRPOOL_MAX_CLIENTS];
	/* Offsets in use, sorted, for binary search while probing. */
	size_t n4, n6;
	uint64_t used4[ADDRPOOL_MAX_CLIENTS];
	uint64_t used6[ADDRPOOL_MAX_CLIENTS];
};

struct addrpool_error {
	unsigned line;		/* 1-based; 0 when not tied to a line */
	char msg[160];
};

/* net4 / net6 may be NULL (family off) but not both. Host bits are
 * masked. False if a range is the wrong family or outside the cidr limits
 * above. The map starts empty. */
__attribute__((warn_unused_result))
bool addrpool_init(struct addrpool *p, const struct ip_prefix *net4,
		   const struct ip_prefix *net6,
		   const uint8_t hash_key[ADDRPOOL_HASH_KEY_LEN]);

/* The address for key: its current one when that is not avoided, else a
 * new one (the old one is freed). out4/out6 get the host address with the
 * range's prefix length, family 0 for a family that is off. Nothing
 * changes unless the result is ADDRPOOL_OK. avoid may hold up to
 * ADDRPOOL_MAX_AVOID prefixes of either family (host bits are ignored). */
__attribute__((warn_unused_result))
enum addrpool_result addrpool_assign(struct addrpool *p,
				     const uint8_t key[ADDRPOOL_KEY_LEN],
				     const struct ip_prefix *avoid,
				     size_t n_avoid, struct ip_prefix *out4,
				     struct ip_prefix *out6);

/* Forget key's addresses. False if it had none. */
bool addrpool_release(struct addrpool *p, const uint8_t key[ADDRPOOL_KEY_LEN]);

/* key's current addresses, without changing anything. False if none. */
__attribute__((warn_unused_result))
bool addrpool_lookup(const struct addrpool *p,
		     const uint8_t key[ADDRPOOL_KEY_LEN],
		     struct ip_prefix *out4, struct ip_prefix *out6);

/* The server's own tunnel addresses (offset 1), family 0 when off. */
void addrpool_server_address(const struct addrpool *p, struct ip_prefix *out4,
			     struct ip_prefix *out6);

/* "10.66.0.0/16", "fd00::/64", or a bare address (full length). */
__attribute__((warn_unused_result))
bool addrpool_prefix_parse(struct ip_prefix *out, const char *s, size_t len);
void addrpool_prefix_format(const struct ip_prefix *p,
			    char out[ADDRPOOL_PREFIX_STR_MAX]);

/* The map as text, one line per client after a comment line:
 *   <base64 key> <ipv4 or -> <ipv6 or ->
 * 0 with *out_len set, or -ENOSPC (cap must be at least
 * (n + 1) * ADDRPOOL_LINE_MAX to be sure). No NUL is written. */
__attribute__((warn_unused_result))
int addrpool_serialise(const struct addrpool *p, char *buf, size_t cap,
		       size_t *out_len);

/* Replace the map with the one in buf/len (the format above; blank lines
 * and lines starting with '#' are skipped; a trailing '\r' is allowed).
 * Every address must lie in the configured range, not be reserved and
 * belong to one key only. 0, or -1 with err filled ("line N: ...") and the
 * map left empty. */
__attribute__((warn_unused_result))
int addrpool_load(struct addrpool *p, const char *buf, size_t len,
		  struct addrpool_error *err);

#endif
