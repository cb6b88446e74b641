/* cmd_identity.c - `weft identity [--key PATH]`: this device's Ed25519
 * identity key (DESIGN.md §4), created on first use (mode 0600), and its
 * public half printed for the admin to add with `weft admin add-device`. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cli/subcommands.h"
#include "mesh/mesh.h"
#include "vpn/keyfile.h"

#define IDENTITY_DEFAULT "/var/lib/weft/identity.key"

int identity_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = IDENTITY_DEFAULT;
	char err[KEYFILE_ERR_MAX], out[64], dir[512], *slash;
	uint8_t seed[32], pk[32], sk[64];
	int c, created = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': path = optarg; break;
		case 'h':
			printf("Usage: %s identity [--key PATH]   (default " IDENTITY_DEFAULT ")\n",
			       prog_name);
			return 0;
		default:
			fprintf(stderr, "Usage: %s identity [--key PATH]\n", prog_name);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s identity: unexpected argument \"%s\"\n", prog_name,
			argv[optind]);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			fprintf(stderr, "%s identity: cannot create %s: %s\n", prog_name, dir,
				strerror(errno));
			return 1;
		}
	}
	if (keyfile_load_or_create(path, seed, &created, err)) {
		fprintf(stderr, "%s identity: %s\n", prog_name, err);
		return 1;
	}
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	mesh_b64_encode(out, sizeof(out), pk, sizeof(pk));
	printf("%s\n", out);
	if (created)
		fprintf(stderr, "new identity key in %s; give the line above to your admin\n",
			path);
	return 0;
}
