/* cmd_admin.c - `weft admin`: a network's admin key and roster, kept on the
 * admin's own machine (DESIGN.md §4), signed here and only uploaded signed.
 *
 * The admin directory ($WEFT_ADMIN_DIR, else $HOME/.config/weft/admin, or
 * --dir) holds per network NAME/:
 *   admin.key    the Ed25519 seed, base64, mode 0600 (never uploaded)
 *   roster.json  the draft: the roster payload whose version is the next
 *                one to publish; written atomically. */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/subcommands.h"
#include "mesh/envelope.h"
#include "mesh/hubhttp.h"
#include "mesh/invite.h"
#include "mesh/roster.h"
#include "vpn/keyfile.h"

enum { ADMIN_PATH_MAX = 1024, ADMIN_DRAFT_MAX = 2 << 20 };

struct admin_opts {
	const char *dir, *network, *hub, *range;
	const char *owner, *device, *key, *ip;
	const char *tags[MESH_MAX_TAGS];
	unsigned n_tags;
	bool exit, relay;
};

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s admin: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s admin init --network NAME [--range 100.80.0.0/16] [--dir DIR]\n"
		"       %s admin add-device [--network NAME] --owner O --device D --key KEY\n"
		"                           [--ip A.B.C.D] [--exit-server] [--relay] [--tag T]...\n"
		"       %s admin remove-device [--network NAME] --owner O --device D\n"
		"       %s admin relays [--network NAME] ADDR:PORT... | none\n"
		"       %s admin stun [--network NAME] ADDR:PORT... | none\n"
		"       %s admin list [--network NAME]\n"
		"       %s admin publish [--network NAME] --hub URL\n"
		"       %s admin invite [--network NAME] --hub URL\n"
		"The admin directory is $WEFT_ADMIN_DIR, else ~/.config/weft/admin (--dir).\n",
		prog_name, prog_name, prog_name, prog_name, prog_name, prog_name,
		prog_name, prog_name);
}

static int base_dir(const struct admin_opts *o, char out[ADMIN_PATH_MAX])
{
	const char *env = getenv("WEFT_ADMIN_DIR"), *home = getenv("HOME");

	if (o->dir)
		snprintf(out, ADMIN_PATH_MAX, "%s", o->dir);
	else if (env && *env)
		snprintf(out, ADMIN_PATH_MAX, "%s", env);
	else if (home && *home)
		snprintf(out, ADMIN_PATH_MAX, "%s/.config/weft/admin", home);
	else
		return die("no admin directory: set HOME or WEFT_ADMIN_DIR, or give --dir");
	return 0;
}

static int mkdirs(const char *path)
{
	char buf[ADMIN_PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* The network's directory: --network, or the only one there is. */
static int net_dir(struct admin_opts *o, char out[ADMIN_PATH_MAX])
{
	char base[ADMIN_PATH_MAX];
	static char only[MESH_NAME_MAX];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	if (base_dir(o, base))
		return 1;
	if (!o->network) {
		d = opendir(base);
		if (!d)
			return die("no admin directory %s: run `%s admin init --network NAME` first",
				   base, prog_name);
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' || !mesh_network_valid(de->d_name))
				continue;
			snprintf(only, sizeof(only), "%.63s", de->d_name);
			n++;
		}
		closedir(d);
		if (n != 1)
			return die("%s networks in %s: say which with --network NAME",
				   n ? "several" : "no", base);
		o->network = only;
	}
	if (!mesh_network_valid(o->network))
		return die("network name \"%s\": use 1-63 of a-z 0-9 -", o->network);
	snprintf(out, ADMIN_PATH_MAX, "%.900s/%.63s", base, o->network);
	return 0;
}

static int load_key(const char *dir, uint8_t pk[32], uint8_t sk[64])
{
	char path[ADMIN_PATH_MAX + 16], err[KEYFILE_ERR_MAX];
	uint8_t seed[32];

	snprintf(path, sizeof(path), "%s/admin.key", dir);
	if (keyfile_read(path, seed, err))
		return die("admin key: %s", err);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return 0;
}

static int load_draft(const char *dir, struct roster *r)
{
	char path[ADMIN_PATH_MAX + 16], reason[MESH_REASON_MAX], *buf;
	FILE *f;
	size_t n;
	int err;

	snprintf(path, sizeof(path), "%s/roster.json", dir);
	f = fopen(path, "re");
	if (!f)
		return die("%s: %s (run `%s admin init` first)", path, strerror(errno),
			   prog_name);
	buf = malloc(ADMIN_DRAFT_MAX + 1);
	if (!buf) {
		fclose(f);
		return die("out of memory");
	}
	n = fread(buf, 1, ADMIN_DRAFT_MAX + 1, f);
	fclose(f);
	if (n > ADMIN_DRAFT_MAX) {
		free(buf);
		return die("%s: larger than %d bytes", path, ADMIN_DRAFT_MAX);
	}
	err = roster_parse(r, buf, n, reason);
	free(buf);
	if (err)
		return die("%s: %s", path, reason);
	return 0;
}

static int save_draft(const char *dir, const struct roster *r)
{
	char path[ADMIN_PATH_MAX + 16], tmp[ADMIN_PATH_MAX + 32], *json;
	size_t len;
	int fd;
	ssize_t w;

	if (roster_serialize(r, &json, &len))
		return die("out of memory");
	snprintf(path, sizeof(path), "%s/roster.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/.roster.json.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(json);
		return die("%s: %s", tmp, strerror(errno));
	}
	w = write(fd, json, len);
	free(json);
	if (w != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) || close(fd) ||
	    rename(tmp, path)) {
		unlink(tmp);
		return die("cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

static int cmd_init(struct admin_opts *o)
{
	char dir[ADMIN_PATH_MAX], path[ADMIN_PATH_MAX + 16], err[KEYFILE_ERR_MAX];
	char pk64[64];
	uint8_t seed[32], pk[32], sk[64];
	struct roster r;
	int created = 0;

	if (!o->network)
		return die("init needs --network NAME");
	if (net_dir(o, dir))
		return 1;
	if (mkdirs(dir))
		return die("cannot create %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/roster.json", dir);
	if (access(path, F_OK) == 0)
		return die("network %s exists already in %s", o->network, dir);
	memset(&r, 0, sizeof(r));
	snprintf(r.network, sizeof(r.network), "%s", o->network);
	r.version = 1;
	if (!mesh_range4_parse(&r.range, o->range ? o->range : "100.80.0.0/16"))
		return die("--range %s: give an IPv4 prefix /8 to /30 with host bits zero",
			   o->range);
	/* A ULA /96: fd, 40 random bits, zeros (RFC 4193). */
	r.range.net6[0] = 0xfd;
	randombytes_buf(r.range.net6 + 1, 5);
	r.range.has6 = true;
	snprintf(path, sizeof(path), "%s/admin.key", dir);
	if (keyfile_load_or_create(path, seed, &created, err))
		return die("admin key: %s", err);
	if (!created)
		return die("%s exists already; not replacing an admin key", path);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	memcpy(r.admins[0], pk, 32);
	r.n_admins = 1;
	if (save_draft(dir, &r))
		return 1;
	mesh_b64_encode(pk64, sizeof(pk64), pk, 32);
	printf("%s\n", pk64);
	fprintf(stderr, "network %s: admin key in %s (keep it here; it is never uploaded).\n"
		"Next: weft-hub create-network %s --admin-key %s\n",
		o->network, path, o->network, pk64);
	return 0;
}

static int cmd_add(struct admin_opts *o)
{
	char dir[ADMIN_PATH_MAX], reason[MESH_REASON_MAX];
	struct roster_device d;
	struct roster r;
	unsigned i;
	int err;

	if (!o->owner || !o->device || !o->key)
		return die("add-device needs --owner, --device and --key");
	if (net_dir(o, dir) || load_draft(dir, &r))
		return 1;
	memset(&d, 0, sizeof(d));
	snprintf(d.owner, sizeof(d.owner), "%s", o->owner);
	snprintf(d.name, sizeof(d.name), "%s", o->device);
	if (strlen(o->owner) >= MESH_NAME_MAX || strlen(o->device) >= MESH_NAME_MAX ||
	    !mesh_name_valid(o->owner) || !mesh_name_valid(o->device)) {
		roster_free(&r);
		return die("--owner and --device: 1-63 of A-Z a-z 0-9 . _ -");
	}
	if (!mesh_b64_decode(d.key, 32, o->key)) {
		roster_free(&r);
		return die("--key %s: not a base64 key (the device prints it: weft identity)",
			   o->key);
	}
	if (o->ip) {
		if (!mesh_ip4_parse(&d.ip, o->ip)) {
			roster_free(&r);
			return die("--ip %s: not an IPv4 address", o->ip);
		}
		d.has_ip = true;
	}
	d.exit = o->exit;
	d.relay = o->relay;
	for (i = 0; i < o->n_tags; i++) {
		if (!mesh_name_valid(o->tags[i]) || strlen(o->tags[i]) >= MESH_NAME_MAX) {
			roster_free(&r);
			return die("--tag %s: 1-63 of A-Z a-z 0-9 . _ -", o->tags[i]);
		}
		snprintf(d.tags[i], MESH_NAME_MAX, "%s", o->tags[i]);
	}
	d.n_tags = o->n_tags;
	err = roster_add_device(&r, &d, reason);
	if (!err)
		err = save_draft(dir, &r);
	roster_free(&r);
	if (err < 0)
		return die("%s", reason);
	if (err)
		return 1;
	printf("added %s/%s to %s (publish to apply)\n", o->owner, o->device, o->network);
	return 0;
}

static int cmd_remove(struct admin_opts *o)
{
	char dir[ADMIN_PATH_MAX], reason[MESH_REASON_MAX];
	struct roster r;
	int err;

	if (!o->owner || !o->device)
		return die("remove-device needs --owner and --device");
	if (net_dir(o, dir) || load_draft(dir, &r))
		return 1;
	err = roster_remove_device(&r, o->owner, o->device, reason);
	if (!err)
		err = save_draft(dir, &r);
	roster_free(&r);
	if (err < 0)
		return die("%s", reason);
	if (err)
		return 1;
	printf("removed %s/%s from %s (publish to apply)\n", o->owner, o->device,
	       o->network);
	return 0;
}

/* `relays` and `stun`: the roster's list, replaced as a whole, in order
 * of preference ("none" empties it). */
static int cmd_endpoints(struct admin_opts *o, bool relays, char **args,
			 int nargs)
{
	char dir[ADMIN_PATH_MAX];
	struct wg_endpoint eps[MESH_MAX_RELAYS];
	struct roster r;
	unsigned n = 0;
	int i, err;

	if (nargs < 1)
		return die("%s needs ADDR:PORT... or none", relays ? "relays" : "stun");
	if (nargs > MESH_MAX_RELAYS)
		return die("at most %d %s", MESH_MAX_RELAYS, relays ? "relays" : "STUN servers");
	for (i = 0; i < nargs && strcmp(args[0], "none"); i++) {
		if (!endpoint_parse(&eps[n], args[i], strlen(args[i])) || !eps[n].port)
			return die("%s: not a numeric ADDR:PORT (for example 192.0.2.1:3478)",
				   args[i]);
		n++;
	}
	if (net_dir(o, dir) || load_draft(dir, &r))
		return 1;
	memcpy(relays ? r.relays : r.stun, eps, n * sizeof(eps[0]));
	if (relays)
		r.n_relays = n;
	else
		r.n_stun = n;
	err = save_draft(dir, &r);
	roster_free(&r);
	if (err)
		return 1;
	printf("%s of %s: %u listed (publish to apply)\n", relays ? "relays" : "STUN servers",
	       o->network, n);
	return 0;
}

static int cmd_list(struct admin_opts *o)
{
	char dir[ADMIN_PATH_MAX], range[24], ip[16], key[64];
	struct roster r;
	unsigned i;

	if (net_dir(o, dir) || load_draft(dir, &r))
		return 1;
	mesh_range4_format(&r.range, range);
	printf("network %s  range %s  next version %" PRIu64 "  %u devices\n",
	       r.network, range, r.version, r.n_devices);
	for (i = 0; i < r.n_relays + r.n_stun; i++) {
		char ep[ENDPOINT_STR_MAX];

		endpoint_format(i < r.n_relays ? &r.relays[i] : &r.stun[i - r.n_relays], ep);
		printf("  %s %s\n", i < r.n_relays ? "relay" : "stun ", ep);
	}
	for (i = 0; i < r.n_devices; i++) {
		const struct roster_device *d = &r.devices[i];

		if (d->has_ip)
			mesh_ip4_format(d->ip, ip);
		mesh_b64_encode(key, sizeof(key), d->key, 32);
		printf("  %s/%s  %s  %s%s%s\n", d->owner, d->name,
		       d->has_ip ? ip : "dynamic", key, d->exit ? "  exit-server" : "",
		       d->relay ? "  relay" : "");
	}
	roster_free(&r);
	return 0;
}

static int cmd_publish(struct admin_opts *o)
{
	char dir[ADMIN_PATH_MAX], path[ADMIN_PATH_MAX + 32], *body, *env;
	uint8_t pk[32], sk[64];
	struct hub_reply rep;
	struct roster r;
	size_t len;
	json_t *ans;
	uint64_t id = 0;
	int err;

	if (!o->hub)
		return die("publish needs --hub URL");
	if (net_dir(o, dir) || load_draft(dir, &r))
		return 1;
	if (load_key(dir, pk, sk)) {
		roster_free(&r);
		return 1;
	}
	if (roster_serialize(&r, &body, &len) ||
	    envelope_seal(ENV_ROSTER, sk, body, len, &env)) {
		roster_free(&r);
		return die("out of memory");
	}
	free(body);
	snprintf(path, sizeof(path), "/v1/networks/%s/roster", r.network);
	err = hubhttp_request(o->hub, sk, "POST", path, env, strlen(env), 30000, NULL, &rep);
	sodium_memzero(sk, sizeof(sk));
	free(env);
	if (err || rep.status != 200) {
		die("publish %s version %" PRIu64 ": %s", r.network, r.version, rep.error);
		hub_reply_free(&rep);
		roster_free(&r);
		return 1;
	}
	ans = json_loads(rep.body, 0, NULL);
	if (json_is_integer(json_object_get(ans, "id")))
		id = (uint64_t)json_integer_value(json_object_get(ans, "id"));
	json_decref(ans);
	hub_reply_free(&rep);
	printf("published %s version %" PRIu64 " (message %" PRIu64 ")\n", r.network,
	       r.version, id);
	r.version++;
	err = save_draft(dir, &r);
	roster_free(&r);
	return err;
}

static int cmd_invite(struct admin_opts *o)
{
	char dir[ADMIN_PATH_MAX], *line;
	struct invite iv;
	struct roster r;

	if (!o->hub)
		return die("invite needs --hub URL");
	if (net_dir(o, dir) || load_draft(dir, &r))
		return 1;
	memset(&iv, 0, sizeof(iv));
	snprintf(iv.hub, sizeof(iv.hub), "%s", o->hub);
	snprintf(iv.network, sizeof(iv.network), "%s", r.network);
	memcpy(iv.admins, r.admins, sizeof(iv.admins));
	iv.n_admins = r.n_admins;
	roster_free(&r);
	if (strlen(o->hub) >= MESH_URL_MAX || invite_format(&iv, &line))
		return die("--hub %s: give an http:// or https:// URL", o->hub);
	printf("%s\n", line);
	free(line);
	return 0;
}

int admin_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "network", required_argument, NULL, 'n' },
		{ "hub", required_argument, NULL, 'H' },
		{ "range", required_argument, NULL, 'r' },
		{ "owner", required_argument, NULL, 'o' },
		{ "device", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, 'k' },
		{ "ip", required_argument, NULL, 'i' },
		{ "tag", required_argument, NULL, 't' },
		{ "exit-server", no_argument, NULL, 'x' },
		{ "relay", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct admin_opts o;
	const char *sub;
	int c;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	sub = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'D': o.dir = optarg; break;
		case 'n': o.network = optarg; break;
		case 'H': o.hub = optarg; break;
		case 'r': o.range = optarg; break;
		case 'o': o.owner = optarg; break;
		case 'd': o.device = optarg; break;
		case 'k': o.key = optarg; break;
		case 'i': o.ip = optarg; break;
		case 't':
			if (o.n_tags >= MESH_MAX_TAGS)
				return die("at most %d --tag", MESH_MAX_TAGS);
			o.tags[o.n_tags++] = optarg;
			break;
		case 'x': o.exit = true; break;
		case 'R': o.relay = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!strcmp(sub, "relays") || !strcmp(sub, "stun"))
		return cmd_endpoints(&o, !strcmp(sub, "relays"), argv + optind,
				     argc - optind);
	if (optind != argc)
		return die("unexpected argument \"%s\"", argv[optind]);
	if (!strcmp(sub, "init"))
		return cmd_init(&o);
	if (!strcmp(sub, "add-device"))
		return cmd_add(&o);
	if (!strcmp(sub, "remove-device"))
		return cmd_remove(&o);
	if (!strcmp(sub, "list"))
		return cmd_list(&o);
	if (!strcmp(sub, "publish"))
		return cmd_publish(&o);
	if (!strcmp(sub, "invite"))
		return cmd_invite(&o);
	usage(stderr);
	return die("unknown admin command \"%s\"", sub);
}
