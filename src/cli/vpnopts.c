/* vpnopts.c - see vpnopts.h. */
#define _GNU_SOURCE
#include "cli/vpnopts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/subcommands.h"
#include "core/encoding.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"
#include "os/linux/fw_rules.h"
#include "vpn/keyfile.h"

bool vpnopts_identity(const struct vpn_identity *id, const char *default_file,
		      uint8_t key[32])
{
	char err[KEYFILE_ERR_MAX];
	uint8_t pub[32], want[32];
	int ret, created = 0;

	if (id->key_file && id->sk) {
		fprintf(stderr, "%s: give --key FILE or --sk, not both\n", prog_name);
		return false;
	}
	if (id->sk) {
		ret = keyfile_parse(id->sk, key, err);
		if (ret == 0)
			fprintf(stderr, "%s: warning: a key on the command line is visible to other users (ps); prefer --key FILE\n",
				prog_name);
	} else if (id->key_file) {
		ret = keyfile_read(id->key_file, key, err);
	} else if (default_file) {
		ret = keyfile_load_or_create(default_file, key, &created, err);
		if (ret == 0 && created)
			fprintf(stderr, "%s: created a new identity in %s\n",
				prog_name, default_file);
	} else {
		fprintf(stderr, "%s: no identity: give --key FILE (make one: weft genkey > FILE)\n",
			prog_name);
		return false;
	}
	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", prog_name, err);
		return false;
	}
	if (id->pk) {
		if (!key_from_base64(want, id->pk, strlen(id->pk)) ||
		    !x25519_public_from_private(pub, key) ||
		    !crypto_equal(pub, want, 32)) {
			fprintf(stderr, "%s: --pk is not the public key of the private key given (weft pubkey < KEYFILE prints it)\n",
				prog_name);
			crypto_wipe(key, 32);
			return false;
		}
	}
	return true;
}

bool vpnopts_passcode(const char *passcode, const char *file, char *out,
		      size_t cap, bool *has)
{
	*has = false;
	if (passcode && file) {
		fprintf(stderr, "%s: give --passcode or --passcode-file, not both\n",
			prog_name);
		return false;
	}
	if (file) {
		FILE *f = fopen(file, "re");
		size_t len;

		if (!f) {
			fprintf(stderr, "%s: %s: %s\n", prog_name, file, strerror(errno));
			return false;
		}
		if (!fgets(out, (int)cap, f)) {
			fclose(f);
			fprintf(stderr, "%s: %s: empty (put the passcode on its first line)\n",
				prog_name, file);
			return false;
		}
		fclose(f);
		len = strcspn(out, "\r\n");
		out[len] = '\0';
		if (len + 1 >= cap) {
			fprintf(stderr, "%s: %s: the passcode is longer than %zu bytes\n",
				prog_name, file, cap - 2);
			return false;
		}
	} else if (passcode) {
		if (strlen(passcode) + 1 > cap) {
			fprintf(stderr, "%s: --passcode is longer than %zu bytes\n",
				prog_name, cap - 1);
			return false;
		}
		snprintf(out, cap, "%s", passcode);
	} else {
		return true;
	}
	if (!out[0]) {
		fprintf(stderr, "%s: the passcode is empty\n", prog_name);
		return false;
	}
	*has = true;
	return true;
}

bool vpnopts_dns(const char *arg, struct ip_prefix *dns, size_t *n, size_t max)
{
	struct ip_prefix p;

	if (*n >= max) {
		fprintf(stderr, "%s: at most %zu --dns servers\n", prog_name, max);
		return false;
	}
	if (strchr(arg, '/') || !addrpool_prefix_parse(&p, arg, strlen(arg))) {
		fprintf(stderr, "%s: --dns %s: not an IPv4 or IPv6 address\n",
			prog_name, arg);
		return false;
	}
	dns[(*n)++] = p;
	return true;
}

static bool make_dir(const char *path, mode_t mode)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			goto fail;
		*s = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		goto fail;
	return true;
fail:
	fprintf(stderr, "%s: cannot create %s: %s\n", prog_name, tmp,
		strerror(errno));
	return false;
}

bool vpnopts_dirs(char *state_dir, size_t state_cap, char *run_dir,
		  size_t run_cap)
{
	const char *s = getenv("WEFT_STATE_DIR"), *r = getenv("WEFT_RUN_DIR");

	if (!state_dir[0])
		snprintf(state_dir, state_cap, "%s", s && *s ? s : "/var/lib/weft");
	snprintf(run_dir, run_cap, "%s", r && *r ? r : "/run/weft");
	return make_dir(state_dir, 0700) && make_dir(run_dir, 0755);
}

bool vpnopts_need_root(const char *what)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "%s: %s changes routes, DNS and the firewall: run it as root (sudo)\n",
		prog_name, what);
	return false;
}

bool vpnopts_ifname(const char *name, char out[16])
{
	if (!fw_ifname_valid(name)) {
		fprintf(stderr, "%s: invalid interface name '%s': use 1-15 characters of A-Z a-z 0-9 _ . -\n",
			prog_name, name);
		return false;
	}
	snprintf(out, 16, "%s", name);
	return true;
}

bool vpnopts_uint(const char *what, const char *arg, unsigned long min,
		  unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (!*arg || *end || errno || *arg == '-' || *out < min || *out > max) {
		fprintf(stderr, "%s: %s %s: expected a number from %lu to %lu\n",
			prog_name, what, arg, min, max);
		return false;
	}
	return true;
}
