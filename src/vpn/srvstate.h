/* srvstate.h - the exit server's state on disk, in <state_dir>/<ifname>/
 * (mode 0700):
 *   private.key  the server identity (vpn/keyfile.h; not read here)
 *   server.conf  what the running server tells add-client: "key = value"
 *                lines (public_key, listen_port, endpoint, pool4, pool6,
 *                dns, mtu), written at every start
 *   pool         client key -> tunnel addresses (addrpool_serialise())
 *   clients      named clients (vpn/clients.h)
 *   lock         flock(LOCK_EX) by the running server for its lifetime, and
 *                by add-client while it edits the files of a stopped one
 * Every write is atomic: NAME.tmp, fsync, rename, fsync the directory; a
 * reader sees the old file or the new one, never a mix. Files are 0600.
 *
 * srvmeta_format/srvmeta_parse are pure; the rest does file I/O. */
#ifndef WEFT_VPN_SRVSTATE_H
#define WEFT_VPN_SRVSTATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addrpool.h"

struct clients;

enum srvstate_limits {
	SRVSTATE_ERR_MAX = 160,
	SRVMETA_MAX = 2048,		/* the longest server.conf */
	SRVMETA_LINE_MAX = 300,		/* endpoint (255) and its key */
	SRVMETA_MTU_MIN = 576,
	SRVMETA_MTU_MAX = 9000,
	SRVMETA_MAX_DNS = 2,
};

#define SRVSTATE_DEFAULT_DIR "/var/lib/weft"
#define SRVSTATE_DIR_ENV "WEFT_STATE_DIR"

struct srvmeta {
	uint8_t public_key[32];
	uint16_t listen_port;
	char endpoint[256];		/* HOST[:PORT] or "" */
	struct ip_prefix pool4, pool6;	/* family 0: off; not both */
	struct ip_prefix dns[SRVMETA_MAX_DNS];	/* addresses */
	size_t n_dns;
	unsigned mtu;
};

/* server.conf text, NUL-terminated, in buf. Its length, or -EINVAL (a
 * field the parser would refuse) or -ENOSPC. */
__attribute__((warn_unused_result))
int srvmeta_format(const struct srvmeta *m, char *buf, size_t cap);

/* Parse server.conf: every key once, none unknown; public_key,
 * listen_port, mtu and one pool required; endpoint, the other pool and dns
 * may be empty. 0, or -EINVAL with "line N: reason" in err (line 0 for a
 * missing key) and *m zeroed. */
__attribute__((warn_unused_result))
int srvmeta_parse(const char *buf, size_t len, struct srvmeta *m,
		  char err[SRVSTATE_ERR_MAX]);

struct srvstate {
	char dir[PATH_MAX];		/* <state_dir>/<ifname> */
	int dir_fd;
	int lock_fd;			/* -1 unless locked */
	struct addrpool *pool;		/* heap; NULL until srvstate_load */
	struct clients *clients;	/* heap; NULL until srvstate_load */
	struct srvmeta meta;
};

/* The state directory to use when none is given: $WEFT_STATE_DIR, else
 * SRVSTATE_DEFAULT_DIR. */
const char *srvstate_default_dir(void);

/* Make (0700; state_dir itself 0755 if missing) and open
 * <state_dir>/<ifname>; state_dir NULL means srvstate_default_dir(). A
 * directory others can enter is made 0700. With lock, take
 * LOCK_EX|LOCK_NB on its lock file: -EWOULDBLOCK if another process holds
 * it. 0 or -errno with one line in err; on error s needs no close. */
__attribute__((warn_unused_result))
int srvstate_open(struct srvstate *s, const char *state_dir,
		  const char *ifname, bool lock, char err[SRVSTATE_ERR_MAX]);

/* The pool's hash key: BLAKE2s-256 keyed with the server's private key
 * over "weft addrpool v1". */
void srvstate_pool_key(const uint8_t private_key[32], uint8_t out[32]);

/* Copy meta into s->meta, make s->pool (meta's ranges, hash_key) and
 * s->clients, then load the `pool` and `clients` files (missing = empty).
 * 0, or -EINVAL with "PATH: line N: reason (fix or delete it)" in err,
 * -ENOMEM, or another -errno. Called again, it starts over. */
__attribute__((warn_unused_result))
int srvstate_load(struct srvstate *s, const struct srvmeta *meta,
		  const uint8_t hash_key[32], char err[SRVSTATE_ERR_MAX]);

/* Write s->meta to server.conf / s->pool to pool. 0 or -errno. Saving
 * the pool may be best effort (at exit, after a failed add), so its
 * result may be ignored. */
__attribute__((warn_unused_result))
int srvstate_save_meta(struct srvstate *s);
int srvstate_save_pool(struct srvstate *s);

/* Read server.conf into s->meta. -ENOENT (no server has started with this
 * state yet) or -EINVAL, with one line in err. */
__attribute__((warn_unused_result))
int srvstate_read_meta(struct srvstate *s, char err[SRVSTATE_ERR_MAX]);

/* Register a named client with public key pub and give it addresses (no
 * avoided prefixes; a key the pool already knows keeps its addresses);
 * saves `pool`, then `clients`. a4/a6 get the addresses with the pool's
 * prefix length, family 0 for a family that is off. -EINVAL (bad name or
 * key), -EEXIST (name or key taken), -ENOSPC (pool or list full), or the
 * write's -errno; nothing changes on error (in memory; on disk at worst
 * the pool keeps an address for the key). err says which. */
__attribute__((warn_unused_result))
int srvstate_add_client(struct srvstate *s, const char *name,
			const uint8_t pub[32], struct ip_prefix *a4,
			struct ip_prefix *a6, char err[SRVSTATE_ERR_MAX]);

/* Release the lock, close and free everything; s may be half-open. */
void srvstate_close(struct srvstate *s);

#endif
