/* cmd_genkey.c - weft genkey, genpsk and pubkey: keys in base64, one per
 * line, as wg(8) prints them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/subcommands.h"
#include "core/encoding.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

enum { PUBKEY_MAX_INPUT = 1024 };

/* A key is about to go into a file others can read: say so. */
static void warn_world_readable(void)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & S_IRWXO))
		fprintf(stderr, "Warning: writing to world accessible file.\n"
			"Consider setting the umask to 077 and trying again.\n");
}

static int print_key(const uint8_t key[KEY_LEN])
{
	char b64[KEY_BASE64_LEN + 1];
	int ok;

	key_to_base64(b64, key);
	ok = printf("%s\n", b64) == KEY_BASE64_LEN + 1 && fflush(stdout) == 0;
	crypto_wipe(b64, sizeof(b64));
	if (!ok) {
		fprintf(stderr, "%s: cannot write the key: %s\n", prog_name,
			strerror(errno));
		return 1;
	}
	return 0;
}

static int random_key(int argc, char *argv[], bool clamp)
{
	uint8_t key[KEY_LEN];
	int ret;

	if (argc != 1) {
		fprintf(stderr, "Usage: %s %s\n", prog_name, argv[0]);
		return 1;
	}
	warn_world_readable();
	if (clamp)
		x25519_generate_private(key);
	else
		crypto_random(key, sizeof(key));
	ret = print_key(key);
	crypto_wipe(key, sizeof(key));
	return ret;
}

int genkey_main(int argc, char *argv[])
{
	return random_key(argc, argv, true);
}

int genpsk_main(int argc, char *argv[])
{
	return random_key(argc, argv, false);
}

int pubkey_main(int argc, char *argv[])
{
	char in[PUBKEY_MAX_INPUT + 1], *s;
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	size_t len = 0, n;
	int ret = 1;

	if (argc != 1) {
		fprintf(stderr, "Usage: %s %s < PRIVATE_KEY_FILE\n",
			prog_name, argv[0]);
		return 1;
	}
	while (len < sizeof(in) &&
	       (n = fread(in + len, 1, sizeof(in) - len, stdin)) > 0)
		len += n;
	if (ferror(stdin)) {
		fprintf(stderr, "%s: pubkey: cannot read stdin: %s\n",
			prog_name, strerror(errno));
		goto out;
	}
	/* The key and at most surrounding white space, as "weft genkey"
	 * writes it or a person pastes it. */
	s = in;
	while (len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
		++s;
		--len;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
		       s[len - 1] == '\n' || s[len - 1] == '\r'))
		--len;
	if (len > PUBKEY_MAX_INPUT || !key_from_base64(priv, s, len)) {
		fprintf(stderr, "%s: pubkey: stdin is not a base64 private key "
			"(44 characters, as printed by \"%s genkey\")\n",
			prog_name, prog_name);
		goto out;
	}
	if (!x25519_public_from_private(pub, priv)) {
		fprintf(stderr, "%s: pubkey: the private key is all zeros: "
			"make one with \"%s genkey\"\n", prog_name, prog_name);
		goto out;
	}
	ret = print_key(pub);
out:
	crypto_wipe(in, sizeof(in));
	crypto_wipe(priv, sizeof(priv));
	return ret;
}
