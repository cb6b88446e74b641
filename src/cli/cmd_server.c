/* cmd_server.c - `weft server`: parse the options into a server_config
 * and run it (vpn/server.h); `weft server add-client` is cmd_addclient.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/subcommands.h"
#include "cli/vpnopts.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"
#include "os/linux/log.h"
#include "vpn/server.h"
#include "vpn/wgquick.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s server [options]\n"
		"       %s server add-client NAME [--interface IF] [--endpoint HOST[:PORT]] [--no-qr]\n"
		"\n"
		"Runs an exit server in the foreground: admitted clients send all their\n"
		"traffic through it. Stop it with Ctrl-C or `weft down IF`.\n"
		"\n"
		"  --interface IF       tunnel interface (default %s)\n"
		"  --key FILE           private key file (default STATE/IF/private.key,\n"
		"                       created on first start); --pk/--sk KEY also work\n"
		"  --listen PORT        UDP port (default %d)\n"
		"  --passcode P         clients it has never seen must know P\n"
		"  --passcode-file F    the same, read from the first line of F\n"
		"  --secure             clients cannot reach the server's LAN, private,\n"
		"                       link-local, CGNAT or ULA ranges, nor its services\n"
		"  --dns IP             DNS server clients should use (up to 2)\n"
		"  --pool CIDR          clients' IPv4 addresses (default %s)\n"
		"  --pool6 CIDR|off     clients' IPv6 addresses (default: a ULA /64\n"
		"                       derived from the key)\n"
		"  --endpoint HOST[:PORT]  how clients reach this server (for add-client)\n"
		"  --mtu N              tunnel MTU (default %d)\n"
		"  --state-dir DIR      state (default /var/lib/weft, or WEFT_STATE_DIR)\n",
		prog_name, prog_name, SERVER_DEFAULT_IFNAME, SERVER_DEFAULT_PORT,
		SERVER_DEFAULT_POOL4, SERVER_DEFAULT_MTU);
}

static bool parse_pool(const char *what, const char *arg, int family,
		       struct ip_prefix *out)
{
	if (!addrpool_prefix_parse(out, arg, strlen(arg)) ||
	    out->family != family || !strchr(arg, '/')) {
		fprintf(stderr, "%s: %s %s: expected an IPv%d network such as %s\n",
			prog_name, what, arg, family,
			family == 4 ? "10.77.0.0/16" : "fd12:3456:789a::/64");
		return false;
	}
	return true;
}

int server_main(int argc, char *argv[])
{
	enum { O_KEY = 256, O_PK, O_SK, O_PASSFILE, O_POOL6, O_ENDPOINT,
	       O_MTU, O_STATE };
	static const struct option opts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "key", required_argument, NULL, O_KEY },
		{ "pk", required_argument, NULL, O_PK },
		{ "sk", required_argument, NULL, O_SK },
		{ "listen", required_argument, NULL, 'l' },
		{ "passcode", required_argument, NULL, 'p' },
		{ "passcode-file", required_argument, NULL, O_PASSFILE },
		{ "secure", no_argument, NULL, 's' },
		{ "dns", required_argument, NULL, 'd' },
		{ "pool", required_argument, NULL, 'P' },
		{ "pool6", required_argument, NULL, O_POOL6 },
		{ "endpoint", required_argument, NULL, O_ENDPOINT },
		{ "mtu", required_argument, NULL, O_MTU },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct server_config *cfg;
	struct vpn_identity id = { 0 };
	const char *passcode = NULL, *passfile = NULL, *ifname = SERVER_DEFAULT_IFNAME;
	const char *pool4 = SERVER_DEFAULT_POOL4, *pool6 = NULL;
	char keyfile[PATH_MAX + 64];
	uint8_t pub[32];
	unsigned long v;
	int c, status = 1;

	if (argc >= 2 && !strcmp(argv[1], "add-client"))
		return addclient_main(argc - 1, argv + 1);
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "%s: out of memory\n", prog_name);
		return 1;
	}
	cfg->port = SERVER_DEFAULT_PORT;
	cfg->mtu = SERVER_DEFAULT_MTU;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case O_KEY: id.key_file = optarg; break;
		case O_PK: id.pk = optarg; break;
		case O_SK: id.sk = optarg; break;
		case 'l':
			if (!vpnopts_uint("--listen", optarg, 1, 65535, &v))
				goto out;
			cfg->port = (uint16_t)v;
			break;
		case 'p': passcode = optarg; break;
		case O_PASSFILE: passfile = optarg; break;
		case 's': cfg->secure = true; break;
		case 'd':
			if (!vpnopts_dns(optarg, cfg->dns, &cfg->n_dns, ADMISSION_MAX_DNS))
				goto out;
			break;
		case 'P': pool4 = optarg; break;
		case O_POOL6: pool6 = optarg; break;
		case O_ENDPOINT: {
			char ep[WGQUICK_ENDPOINT_MAX], why[WGQUICK_ERR_MAX];

			/* Checked now: server.conf and every config add-client
			 * prints carry it. */
			if (wgquick_endpoint(optarg, strlen(optarg), 1, ep, why) < 0 ||
			    strlen(optarg) >= sizeof(cfg->endpoint)) {
				fprintf(stderr, "%s: --endpoint %s: %s\n", prog_name,
					optarg, why);
				goto out;
			}
			snprintf(cfg->endpoint, sizeof(cfg->endpoint), "%s", optarg);
			break;
		}
		case O_MTU:
			if (!vpnopts_uint("--mtu", optarg, 1280, 9000, &v))
				goto out;
			cfg->mtu = (unsigned)v;
			break;
		case O_STATE:
			snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", optarg);
			break;
		case 'h':
			usage(stdout);
			status = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog_name, argv[optind]);
		usage(stderr);
		goto out;
	}
	if (!vpnopts_ifname(ifname, cfg->ifname) ||
	    !vpnopts_passcode(passcode, passfile, cfg->passcode,
			      sizeof(cfg->passcode), &cfg->has_passcode) ||
	    !parse_pool("--pool", pool4, 4, &cfg->pool4) ||
	    (pool6 && strcmp(pool6, "off") &&
	     !parse_pool("--pool6", pool6, 6, &cfg->pool6)) ||
	    !vpnopts_need_root("weft server") ||
	    !vpnopts_dirs(cfg->state_dir, sizeof(cfg->state_dir), cfg->run_dir,
			  sizeof(cfg->run_dir)))
		goto out;
	snprintf(keyfile, sizeof(keyfile), "%s/%s", cfg->state_dir, cfg->ifname);
	if (mkdir(keyfile, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create %s: %s\n", prog_name, keyfile,
			strerror(errno));
		goto out;
	}
	snprintf(keyfile, sizeof(keyfile), "%s/%s/private.key", cfg->state_dir,
		 cfg->ifname);
	if (!vpnopts_identity(&id, keyfile, cfg->private_key))
		goto out;
	if (!pool6) {
		if (!x25519_public_from_private(pub, cfg->private_key))
			goto out;
		server_default_pool6(pub, &cfg->pool6);
	}
	log_init("weft", false, LOG_LEVEL_INFO);
	status = server_run(cfg);
out:
	crypto_wipe(cfg, sizeof(*cfg));
	free(cfg);
	return status;
}
