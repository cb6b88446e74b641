/* cmd_up.c - `weft up`: join a team mesh (DESIGN.md §4, §5).
 *   weft up (--invite LINE | --hub URL --network NAME --admin-key KEY...)
 *           [--interface IF] [--port N] [--identity PATH] [--user USER]
 *           [--exit-node NAME] [--mtu N]
 * As root it reads the identity key, creates the interface and splits:
 * this process stays as the privileged helper (vpn/helper.h), the child
 * becomes the engine (mesh/node.h) and drops every privilege. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/subcommands.h"
#include "cli/vpnopts.h"
#include "mesh/invite.h"
#include "mesh/node.h"
#include "os/linux/log.h"
#include "vpn/helper.h"
#include "vpn/keyfile.h"
#include "vpn/pidfile.h"

#define IDENTITY_DEFAULT "/var/lib/weft/identity.key"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s up (--invite LINE | --hub URL --network NAME --admin-key KEY)\n"
		"             [--interface IF] [--port N] [--identity PATH] [--user USER]\n"
		"             [--exit-node NAME [--killswitch [--allow-lan]]] [--mtu N]\n"
		"             [--state-dir DIR]\n"
		"Joins the mesh and runs until INT/TERM or `%s down IF`.\n",
		prog_name, prog_name);
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s up: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int up_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "invite", required_argument, NULL, 'I' },
		{ "hub", required_argument, NULL, 'H' },
		{ "network", required_argument, NULL, 'n' },
		{ "admin-key", required_argument, NULL, 'a' },
		{ "interface", required_argument, NULL, 'i' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "port", required_argument, NULL, 'p' },
		{ "identity", required_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ "exit-node", required_argument, NULL, 'x' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "killswitch", no_argument, NULL, 'K' },
		{ "allow-lan", no_argument, NULL, 'L' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct node_config cfg;
	struct helper_conf hc;
	struct helper_msg hello;
	struct invite iv;
	char reason[MESH_REASON_MAX], err[KEYFILE_ERR_MAX], herr[HELPER_REASON_MAX];
	char state_base[PATH_MAX], pidpath[PIDFILE_PATH_MAX];
	const char *identity = IDENTITY_DEFAULT, *user = NULL, *invite = NULL;
	const char *state_dir = NULL;
	unsigned long v, mtu = 1420;
	uint8_t seed[32];
	int c, created, status;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.ifname, sizeof(cfg.ifname), "%s", NODE_DEFAULT_IFNAME);
	cfg.port = NODE_DEFAULT_PORT;
	while ((c = getopt_long(argc, argv, "hi:", opts, NULL)) != -1) {
		switch (c) {
		case 'I': invite = optarg; break;
		case 'H':
			if (strlen(optarg) >= sizeof(cfg.hub))
				return bad("--hub %s: too long", optarg);
			snprintf(cfg.hub, sizeof(cfg.hub), "%s", optarg);
			break;
		case 'n':
			if (!mesh_network_valid(optarg))
				return bad("--network %s: 1-63 of a-z 0-9 -", optarg);
			snprintf(cfg.network, sizeof(cfg.network), "%s", optarg);
			break;
		case 'a':
			if (cfg.n_admins >= MESH_MAX_ADMINS ||
			    !mesh_b64_decode(cfg.admins[cfg.n_admins], MESH_KEY_LEN, optarg))
				return bad("--admin-key %s: not a base64 key (weft admin init prints it)",
					   optarg);
			cfg.n_admins++;
			break;
		case 'i':
			if (!vpnopts_ifname(optarg, cfg.ifname))
				return 1;
			break;
		case 'p':
			if (!vpnopts_uint("--port", optarg, 1, 65535, &v))
				return 1;
			cfg.port = (uint16_t)v;
			break;
		case 'k': identity = optarg; break;
		case 'u': user = optarg; break;
		case 'x':
			if (strlen(optarg) >= sizeof(cfg.exit_node))
				return bad("--exit-node %s: too long", optarg);
			snprintf(cfg.exit_node, sizeof(cfg.exit_node), "%s", optarg);
			break;
		case 'm':
			if (!vpnopts_uint("--mtu", optarg, 1280, 9000, &mtu))
				return 1;
			break;
		case 's': state_dir = optarg; break;
		case 'K': cfg.killswitch = true; break;
		case 'L': cfg.allow_lan = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc)
		return bad("unexpected argument \"%s\"", argv[optind]);
	if (invite) {
		if (invite_parse(&iv, invite, reason))
			return bad("--invite: %s", reason);
		if (!cfg.hub[0])
			snprintf(cfg.hub, sizeof(cfg.hub), "%s", iv.hub);
		if (!cfg.network[0])
			snprintf(cfg.network, sizeof(cfg.network), "%s", iv.network);
		if (!cfg.n_admins) {
			memcpy(cfg.admins, iv.admins, sizeof(cfg.admins));
			cfg.n_admins = iv.n_admins;
		}
	}
	if (!cfg.hub[0] || !cfg.network[0] || !cfg.n_admins) {
		usage(stderr);
		return bad("%s", "give --invite, or --hub, --network and --admin-key");
	}
	if ((cfg.killswitch || cfg.allow_lan) && !cfg.exit_node[0])
		return bad("%s", "--killswitch and --allow-lan go with --exit-node");
	if (cfg.allow_lan && !cfg.killswitch)
		return bad("%s", "--allow-lan goes with --killswitch");
	if (strncmp(cfg.hub, "http://", 7) && strncmp(cfg.hub, "https://", 8))
		return bad("--hub %s: give an http:// or https:// URL", cfg.hub);
	if (!vpnopts_need_root("weft up"))
		return 1;
	if (!vpnopts_dirs(state_base, sizeof(state_base), cfg.run_dir, sizeof(cfg.run_dir)))
		return 1;
	/* Like weft client's: --state-dir (or WEFT_STATE_DIR) is the base,
	 * and this node's files live in BASE/IF. */
	if (state_dir) {
		if (mkdir(state_dir, 0700) && errno != EEXIST)
			return bad("cannot create %s", state_dir);
		snprintf(state_base, sizeof(state_base), "%s", state_dir);
	}
	if (strlen(state_base) + strlen(cfg.ifname) + 2 >= sizeof(state_base))
		return bad("%s: path too long", state_base);
	strcat(strcat(state_base, "/"), cfg.ifname);
	if (mkdir(state_base, 0700) && errno != EEXIST)
		return bad("cannot create %s", state_base);
	if (snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s/mesh", state_base) >=
	    (int)sizeof(cfg.state_dir))
		return bad("%s: path too long", state_base);
	{
		char perr[PRIVSEP_ERR_MAX];

		if (privsep_lookup(user, &cfg.user, perr))
			return bad("%s", perr);
	}
	if (keyfile_load_or_create(identity, seed, &created, err))
		return bad("identity key: %s", err);
	crypto_sign_seed_keypair(cfg.id_pk, cfg.id_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	if (created) {
		char pk[64];

		mesh_b64_encode(pk, sizeof(pk), cfg.id_pk, sizeof(cfg.id_pk));
		fprintf(stderr, "new identity key %s; the admin adds it with: "
			"weft admin add-device --key %s ...\n", identity, pk);
	}
	if (pidfile_running(cfg.run_dir, cfg.ifname))
		return bad("%s is already running (weft down to stop it)", cfg.ifname);
	if (pidfile_write(cfg.run_dir, cfg.ifname, pidpath))
		return bad("cannot write the pid file in %s", cfg.run_dir);
	log_init(cfg.ifname, false, LOG_LEVEL_INFO);
	memset(&hc, 0, sizeof(hc));
	snprintf(hc.ifname, sizeof(hc.ifname), "%s", cfg.ifname);
	hc.mtu = (unsigned)mtu;
	snprintf(hc.state_dir, sizeof(hc.state_dir), "%s", state_base);
	hc.exit_allowed = cfg.exit_node[0] != '\0';
	hc.pidfile = pidpath;
	/* Returns only in the engine; the helper exits from inside. */
	if (helper_spawn(&hc, &cfg.helper_sock, &cfg.tun_fd, &hello, herr)) {
		sodium_memzero(cfg.id_sk, sizeof(cfg.id_sk));
		pidfile_remove(pidpath);
		return bad("%s", herr);
	}
	cfg.fwmark = hello.u.hello.fwmark;
	status = node_run(&cfg);
	sodium_memzero(cfg.id_sk, sizeof(cfg.id_sk));
	_exit(status);
}
