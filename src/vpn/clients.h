/* clients.h - the exit server's named clients: the stock WireGuard apps that
 * `weft server add-client NAME` made a config for. A bounded list of
 * (name, public key) pairs, kept in file order, plus the text file that
 * stores it:
 *   # comment
 *   NAME BASE64-PUBLIC-KEY
 * Invariants: names match [A-Za-z0-9_.-]{1,32}; no two entries share a
 * name or a key; at most CLIENTS_MAX entries; no key is all zeros.
 *
 * Pure: no allocation, no syscalls. The list is about 300 KiB: allocate
 * it, do not put it on the stack. Lookups by key are binary searches over
 * a sorted index, since the server asks for every peer it expires. */
#ifndef WEFT_VPN_CLIENTS_H
#define WEFT_VPN_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addrpool.h"

enum clients_limits {
	CLIENTS_NAME_MAX = 32,			/* characters, without NUL */
	CLIENTS_MAX = ADDRPOOL_MAX_CLIENTS,
	CLIENTS_KEY_LEN = 32,
	CLIENTS_LINE_MAX = 160,			/* longest line the parser reads */
	CLIENTS_ERR_MAX = 160,
};

struct client_entry {
	char name[CLIENTS_NAME_MAX + 1];
	uint8_t key[CLIENTS_KEY_LEN];
};

struct clients {
	size_t n;
	struct client_entry entries[CLIENTS_MAX];	/* file order */
	uint16_t by_key[CLIENTS_MAX];			/* indexes, sorted by key */
};

_Static_assert(CLIENTS_MAX <= UINT16_MAX + 1, "by_key holds 16-bit indexes");

/* An empty list. */
void clients_init(struct clients *c);

/* name/len is 1..CLIENTS_NAME_MAX of [A-Za-z0-9_.-]. */
__attribute__((warn_unused_result))
bool clients_name_valid(const char *name, size_t len);

/* Add name (NUL-terminated) with key. 0, or -EINVAL (bad name, zero key),
 * -EEXIST (name or key already listed), -ENOSPC (list full); nothing
 * changes on error. */
__attribute__((warn_unused_result))
int clients_add(struct clients *c, const char *name,
		const uint8_t key[CLIENTS_KEY_LEN]);

/* Remove the client called name. False if there is none. */
bool clients_remove(struct clients *c, const char *name);

/* NULL when absent. Pointers stay valid until the list changes. */
const struct client_entry *clients_find_name(const struct clients *c,
					     const char *name);
const struct client_entry *clients_find_key(const struct clients *c,
					    const uint8_t key[CLIENTS_KEY_LEN]);

/* Iteration in file order: for (i = 0; i < clients_count(c); i++)
 * clients_at(c, i). */
size_t clients_count(const struct clients *c);
const struct client_entry *clients_at(const struct clients *c, size_t i);

/* The list as text (a comment line, then one line per client). 0 with
 * *out_len set, or -ENOSPC; cap = (n + 1) * CLIENTS_LINE_MAX is always
 * enough. No NUL is written. */
__attribute__((warn_unused_result))
int clients_serialise(const struct clients *c, char *buf, size_t cap,
		      size_t *out_len);

/* Replace the list with buf/len (blank lines and '#' lines skipped, a
 * trailing '\r' allowed). 0, or -EINVAL with "line N: reason" in err and
 * the list left empty. */
__attribute__((warn_unused_result))
int clients_parse(struct clients *c, const char *buf, size_t len,
		  char err[CLIENTS_ERR_MAX]);

#endif
