/* weft.c - the weft command line: a table of subcommands, each in its own
 * file, dispatched on the first argument. */
#include <stdio.h>
#include <string.h>

#include "cli/subcommands.h"
#include "crypto/ct.h"
#include "cli/version.h"

const char *prog_name = "weft";

static int help_main(int argc, char *argv[]);

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *help;
} commands[] = {
	{ "show", show_main, "Show interfaces: keys, peers, handshakes, traffic" },
	{ "showconf", showconf_main, "Print an interface's configuration, for setconf" },
	{ "setconf", setconf_main, "Make a configuration file the interface's whole configuration" },
	{ "addconf", addconf_main, "Add a configuration file to the interface's configuration" },
	{ "syncconf", syncconf_main, "Like setconf, but keeps sessions of unchanged peers; skips wg-quick keys" },
	{ "server", server_main, "Run an exit server (full-tunnel VPN); add-client prints configs" },
	{ "client", client_main, "Send all traffic through an exit server" },
	{ "down", down_main, "Stop a running client or server and put the host back" },
	{ "cleanup", cleanup_main, "Put back what a killed client or server left behind" },
	{ "up", up_main, "Join a team mesh (runs until weft down)" },
	{ "status", status_main, "Show a mesh node: address, peers, paths" },
	{ "netcheck", netcheck_main, "Report the local NAT: public address, mapping, filtering, relays" },
	{ "set", set_main, "Change a running mesh node: --exit-node NAME|off" },
	{ "identity", identity_main, "Create or print this device's mesh identity key" },
	{ "admin", admin_main, "Team mesh admin: init, add-device, publish, invite" },
	{ "genkey", genkey_main, "Print a new private key" },
	{ "genpsk", genpsk_main, "Print a new preshared key" },
	{ "pubkey", pubkey_main, "Read a private key on stdin, print its public key" },
	{ "help", help_main, "Show this list" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: %s <cmd> [<args>]\n\nAvailable subcommands:\n",
		prog_name);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); ++i)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n\"%s <cmd> --help\" shows a command's arguments.\n",
		prog_name);
}

static int help_main(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int main(int argc, char *argv[])
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v")) {
		printf("%s %s\n", prog_name, WEFT_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); ++i) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (!crypto_init()) {
			fprintf(stderr, "%s: the crypto library failed to "
				"start\n", prog_name);
			return 1;
		}
		return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown command \"%s\"\n", prog_name, argv[1]);
	usage(stderr);
	return 1;
}
