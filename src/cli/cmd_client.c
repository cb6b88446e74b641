/* cmd_client.c - `weft client`: parse the options into a client_config and
 * run it (vpn/client.h). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/subcommands.h"
#include "cli/vpnopts.h"
#include "core/encoding.h"
#include "crypto/ct.h"
#include "os/linux/log.h"
#include "vpn/client.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s client --srv PUBKEY@HOST:PORT [options]\n"
		"\n"
		"Sends all IPv4 and IPv6 traffic, DNS included, through the exit server\n"
		"with public key PUBKEY. Runs in the foreground and reconnects by itself;\n"
		"Ctrl-C (or `weft down IF`) puts the network back as it was.\n"
		"\n"
		"  --passcode P         the server's passcode\n"
		"  --passcode-file F    the same, read from the first line of F\n"
		"  --killswitch         nothing leaves except through the tunnel, from\n"
		"                       start until stopped, also if weft dies\n"
		"  --allow-lan          with --killswitch: the local networks stay reachable\n"
		"  --dns IP             use this DNS server instead of the server's (up to 2)\n"
		"  --key FILE           private key file (default STATE/IF.key, created on\n"
		"                       first start: the same key gets the same address)\n"
		"  --pk/--sk KEY        the key pair on the command line (visible in ps)\n"
		"  --interface IF       tunnel interface (default %s)\n"
		"  --mtu N              tunnel MTU (default %d)\n"
		"  --state-dir DIR      state (default /var/lib/weft, or WEFT_STATE_DIR)\n",
		prog_name, CLIENT_DEFAULT_IFNAME, CLIENT_DEFAULT_MTU);
}

/* PUBKEY@HOST:PORT, PUBKEY@[V6]:PORT; the port defaults to 51820. */
static bool parse_srv(const char *arg, struct client_config *cfg)
{
	const char *at = strchr(arg, '@'), *host, *end, *colon = NULL;
	size_t hlen;
	char *pend;
	unsigned long port = 51820;

	if (!at || !key_from_base64(cfg->server_public, arg, (size_t)(at - arg)))
		goto bad;
	host = at + 1;
	if (*host == '[') {
		end = strchr(host, ']');
		if (!end || (end[1] && end[1] != ':'))
			goto bad;
		colon = end[1] ? end + 1 : NULL;
		host++;
		hlen = (size_t)(end - host);
	} else {
		colon = strrchr(host, ':');
		hlen = colon ? (size_t)(colon - host) : strlen(host);
	}
	if (colon) {
		port = strtoul(colon + 1, &pend, 10);
		if (!colon[1] || *pend || port < 1 || port > 65535)
			goto bad;
	}
	if (!hlen || hlen >= sizeof(cfg->server_host))
		goto bad;
	memcpy(cfg->server_host, host, hlen);
	cfg->server_host[hlen] = '\0';
	cfg->server_port = (uint16_t)port;
	return true;
bad:
	fprintf(stderr, "%s: --srv %s: expected PUBKEY@HOST:PORT (the server prints its public key at start)\n",
		prog_name, arg);
	return false;
}

int client_main(int argc, char *argv[])
{
	enum { O_KEY = 256, O_PK, O_SK, O_PASSFILE, O_MTU, O_STATE };
	static const struct option opts[] = {
		{ "srv", required_argument, NULL, 'S' },
		{ "passcode", required_argument, NULL, 'p' },
		{ "passcode-file", required_argument, NULL, O_PASSFILE },
		{ "killswitch", no_argument, NULL, 'k' },
		{ "allow-lan", no_argument, NULL, 'L' },
		{ "dns", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, O_KEY },
		{ "pk", required_argument, NULL, O_PK },
		{ "sk", required_argument, NULL, O_SK },
		{ "interface", required_argument, NULL, 'i' },
		{ "mtu", required_argument, NULL, O_MTU },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct client_config *cfg;
	struct vpn_identity id = { 0 };
	const char *passcode = NULL, *passfile = NULL, *srv = NULL;
	const char *ifname = CLIENT_DEFAULT_IFNAME;
	char keyfile[PATH_MAX + 64];
	unsigned long v;
	int c, status = 1;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "%s: out of memory\n", prog_name);
		return 1;
	}
	cfg->mtu = CLIENT_DEFAULT_MTU;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S': srv = optarg; break;
		case 'p': passcode = optarg; break;
		case O_PASSFILE: passfile = optarg; break;
		case 'k': cfg->killswitch = true; break;
		case 'L': cfg->allow_lan = true; break;
		case 'd':
			if (!vpnopts_dns(optarg, cfg->dns, &cfg->n_dns, ADMISSION_MAX_DNS))
				goto out;
			break;
		case O_KEY: id.key_file = optarg; break;
		case O_PK: id.pk = optarg; break;
		case O_SK: id.sk = optarg; break;
		case 'i': ifname = optarg; break;
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
		goto out;
	}
	if (!srv) {
		fprintf(stderr, "%s: which server? --srv PUBKEY@HOST:PORT\n", prog_name);
		usage(stderr);
		goto out;
	}
	if (cfg->allow_lan && !cfg->killswitch)
		fprintf(stderr, "%s: note: --allow-lan matters only with --killswitch (the LAN stays reachable without it)\n",
			prog_name);
	if (!parse_srv(srv, cfg) || !vpnopts_ifname(ifname, cfg->ifname) ||
	    !vpnopts_passcode(passcode, passfile, cfg->passcode,
			      sizeof(cfg->passcode), &cfg->has_passcode) ||
	    !vpnopts_need_root("weft client") ||
	    !vpnopts_dirs(cfg->state_dir, sizeof(cfg->state_dir), cfg->run_dir,
			  sizeof(cfg->run_dir)))
		goto out;
	snprintf(keyfile, sizeof(keyfile), "%s/%s.key", cfg->state_dir, cfg->ifname);
	if (!vpnopts_identity(&id, keyfile, cfg->private_key))
		goto out;
	log_init("weft", false, LOG_LEVEL_INFO);
	status = client_run(cfg);
out:
	crypto_wipe(cfg, sizeof(*cfg));
	free(cfg);
	return status;
}
