/* vpnopts.h - what `weft server` and `weft client` parse alike: the
 * identity (--key FILE, --pk/--sk), the passcode, DNS servers, and the
 * state and run directories. Each function prints one line `weft: ...`
 * (what is wrong, how to fix it) and returns false on bad input. */
#ifndef WEFT_CLI_VPNOPTS_H
#define WEFT_CLI_VPNOPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addrpool.h"

struct vpn_identity {
	const char *key_file;	/* --key */
	const char *pk;		/* --pk (checked against --sk) */
	const char *sk;		/* --sk */
};

/* The private key from --key or --sk (then --pk, if given, must match);
 * with neither, default_file is loaded or created (NULL: an error). */
bool vpnopts_identity(const struct vpn_identity *id, const char *default_file,
		      uint8_t key[32]);

/* --passcode P or --passcode-file F (first line, without its newline). */
bool vpnopts_passcode(const char *passcode, const char *file, char *out,
		      size_t cap, bool *has);

/* An address (full length) for --dns; at most max of them. */
bool vpnopts_dns(const char *arg, struct ip_prefix *dns, size_t *n, size_t max);

/* WEFT_STATE_DIR or /var/lib/weft (created 0700); WEFT_RUN_DIR or
 * /run/weft (created 0755). */
bool vpnopts_dirs(char *state_dir, size_t state_cap, char *run_dir,
		  size_t run_cap);

/* weft server and weft client change the host's network: root only. */
bool vpnopts_need_root(const char *what);

/* A decimal number in [min, max] for option what. */
bool vpnopts_uint(const char *what, const char *arg, unsigned long min,
		  unsigned long max, unsigned long *out);

/* "1-15 characters of [A-Za-z0-9_.-]" */
bool vpnopts_ifname(const char *name, char out[16]);

#endif
