/* cmd_addclient.c - weft server add-client NAME: make a key pair for a stock
 * WireGuard client, register it with the exit server and print the
 * wg-quick config (and a QR code on a terminal) that connects it.
 *
 * A running server is asked over its control socket, so that it adds the
 * peer live; a stopped one has its state files edited under the state
 * directory's lock, and loads them at its next start. Either way the
 * config's server key, port, DNS and MTU come from server.conf, which the
 * server writes at every start. The client's private key exists only in
 * this process and in what it prints; every copy is wiped. */
#define _GNU_SOURCE
#include <errno.h>
#include <langinfo.h>
#include <stdarg.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/qr.h"
#include "cli/subcommands.h"
#include "core/addrpool.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"
#include "vpn/clients.h"
#include "vpn/ctl.h"
#include "vpn/srvstate.h"
#include "vpn/wgquick.h"

#define ADDCLIENT_DEFAULT_IFNAME "weftsrv0"

struct options {
	const char *name;
	const char *ifname;
	const char *endpoint;		/* NULL: server.conf's */
	const char *state_dir;		/* NULL: the default */
	bool no_qr;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s server add-client NAME [--interface IF (default %s)]\n"
		"       [--endpoint HOST[:PORT]] [--state-dir DIR] [--no-qr]\n"
		"Prints a wg-quick config for a new client NAME of the exit server on IF\n"
		"(and a QR code for the phone apps when stdout is a terminal).\n",
		prog_name, ADDCLIENT_DEFAULT_IFNAME);
}

static int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* "--opt VALUE" or "--opt=VALUE"; *i moves past what was used. */
static bool option_value(int argc, char *argv[], int *i, const char *opt,
			 const char **value, bool *bad)
{
	size_t len = strlen(opt);

	if (strncmp(argv[*i], opt, len) != 0)
		return false;
	if (argv[*i][len] == '=') {
		*value = argv[*i] + len + 1;
		return true;
	}
	if (argv[*i][len] != '\0')
		return false;
	if (*i + 1 >= argc) {
		error("%s needs a value (see: %s server add-client --help)",
		      opt, prog_name);
		*bad = true;
		return true;
	}
	*value = argv[++*i];
	return true;
}

/* 0 to go on, 1 for an error, 2 for --help. */
static int parse_args(int argc, char *argv[], struct options *o)
{
	bool bad = false;

	for (int i = 1; i < argc && !bad; i++) {
		const char *a = argv[i];

		if (option_value(argc, argv, &i, "--interface", &o->ifname, &bad) ||
		    option_value(argc, argv, &i, "--endpoint", &o->endpoint, &bad) ||
		    option_value(argc, argv, &i, "--state-dir", &o->state_dir, &bad))
			continue;
		if (!strcmp(a, "--no-qr")) {
			o->no_qr = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 2;
		} else if (a[0] == '-' && a[1] != '\0') {
			error("unknown option %s (see: %s server add-client --help)",
			      a, prog_name);
			return 1;
		} else if (o->name) {
			error("one client NAME only, got \"%s\" and \"%s\"",
			      o->name, a);
			return 1;
		} else {
			o->name = a;
		}
	}
	if (bad)
		return 1;
	if (!o->name) {
		usage(stderr);
		return 1;
	}
	if (!clients_name_valid(o->name, strlen(o->name)))
		return error("\"%s\" is not a client name: use 1-%d of A-Z a-z 0-9 _ . -",
			     o->name, CLIENTS_NAME_MAX);
	if (o->state_dir && !o->state_dir[0])
		return error("--state-dir is empty");
	return 0;
}

/* The Endpoint line's value: --endpoint, else server.conf's, with the
 * server's port when none is given. */
static int endpoint_for(const struct options *o, const struct srvstate *st,
			char out[WGQUICK_ENDPOINT_MAX])
{
	const char *src = o->endpoint ? o->endpoint : st->meta.endpoint;
	char why[WGQUICK_ERR_MAX];

	if (!src[0])
		return error("the server on %s has no endpoint: pass --endpoint HOST[:PORT], or start the server with --endpoint",
			     o->ifname);
	if (wgquick_endpoint(src, strlen(src), st->meta.listen_port, out, why) < 0)
		return o->endpoint ? error("--endpoint: %s", why)
				   : error("%s/server.conf: %s (pass --endpoint)",
					   st->dir, why);
	return 0;
}

/* The client through the running server's control socket. 0 done, 1
 * failed (said so), -ENOENT / -ECONNREFUSED: no server listens. */
static int add_live(const struct options *o, const uint8_t pub[32],
		    struct ip_prefix *a4, struct ip_prefix *a6)
{
	char req[CTL_LINE_MAX + 1], reply[CTL_LINE_MAX + 1], err[CTL_ERR_MAX];
	char path[CTL_PATH_MAX];
	int ret;

	if (ctl_path(NULL, o->ifname, path) < 0)
		return error("the control socket path for %s is too long (WEFT_RUN_DIR)",
			     o->ifname);
	if (ctl_format_request(o->name, pub, req, sizeof(req)) < 0)
		return error("cannot make the request for %s", o->name);
	ret = ctl_request(NULL, o->ifname, req, reply, sizeof(reply),
			  CTL_TIMEOUT_MS);
	if (ret == -ENOENT || ret == -ECONNREFUSED)
		return ret;
	if (ret < 0)
		return error("%s: %s (is the server stuck? restart it and try again)",
			     path, ret == -ETIMEDOUT ? "no answer in time"
						     : strerror(-ret));
	ret = ctl_parse_reply(reply, strlen(reply), a4, a6, err);
	if (ret == -EREMOTEIO)
		return error("the server refused: %s", err);
	if (ret < 0)
		return error("%s", err);
	return 0;
}

/* The client into the files of a stopped server, under its lock. */
static int add_offline(const struct options *o, struct srvstate *st,
		       const uint8_t pub[32], struct ip_prefix *a4,
		       struct ip_prefix *a6)
{
	char err[SRVSTATE_ERR_MAX], path[CTL_PATH_MAX];
	uint8_t hash_key[32];
	int ret;

	srvstate_close(st);
	ret = srvstate_open(st, o->state_dir, o->ifname, true, err);
	if (ret == -EWOULDBLOCK) {
		if (ctl_path(NULL, o->ifname, path) < 0)
			path[0] = '\0';
		return error("%s/lock is held (a server running on %s?) but nothing answers on %s: restart the server, or stop it, then try again",
			     st->dir, o->ifname, path);
	}
	if (ret < 0)
		return error("%s", err);
	if (srvstate_read_meta(st, err) < 0)
		return error("%s", err);
	/* The hash key only picks where the search for a free address
	 * starts; the pool file is what keeps the address. The server's own
	 * key derives from its private key, which add-client has no need to
	 * read: a random one serves a key we made ourselves as well. */
	crypto_random(hash_key, sizeof(hash_key));
	ret = srvstate_load(st, &st->meta, hash_key, err);
	crypto_wipe(hash_key, sizeof(hash_key));
	if (ret < 0)
		return error("%s", err);
	if (srvstate_add_client(st, o->name, pub, a4, a6, err) < 0)
		return error("%s", err);
	return 0;
}

static bool utf8_terminal(void)
{
	char saved[64];
	const char *cur = setlocale(LC_CTYPE, NULL);
	bool yes;

	snprintf(saved, sizeof(saved), "%s", cur ? cur : "C");
	setlocale(LC_CTYPE, "");
	yes = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	setlocale(LC_CTYPE, saved);
	return yes;
}

/* A private key is about to go into a file others can read: say so. */
static void warn_world_readable(void)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & S_IRWXO))
		fprintf(stderr, "Warning: writing a private key to a world accessible file.\n"
			"Consider setting the umask to 077 and trying again.\n");
}

static void address_text(const struct ip_prefix *p, char out[ADDRPOOL_PREFIX_STR_MAX])
{
	struct ip_prefix host = *p;

	if (!p->family) {
		strcpy(out, "-");
		return;
	}
	host.cidr = p->family == 4 ? 32 : 128;
	addrpool_prefix_format(&host, out);
	*strchr(out, '/') = '\0';
}

static int print_config(const struct options *o, const struct srvstate *st,
			const uint8_t priv[32], const struct ip_prefix *a4,
			const struct ip_prefix *a6, bool live)
{
	struct wgquick_client c = { 0 };
	char conf[WGQUICK_CONFIG_MAX], t4[ADDRPOOL_PREFIX_STR_MAX];
	char t6[ADDRPOOL_PREFIX_STR_MAX];
	int n, ret = 0;

	memcpy(c.private_key, priv, 32);
	c.address4 = *a4;
	c.address6 = *a6;
	memcpy(c.dns, st->meta.dns, sizeof(c.dns));
	c.n_dns = st->meta.n_dns;
	memcpy(c.server_public, st->meta.public_key, 32);
	c.mtu = st->meta.mtu;
	c.persistent_keepalive = WGQUICK_KEEPALIVE;
	if (endpoint_for(o, st, c.endpoint)) {
		ret = 1;
		goto out;
	}
	n = wgquick_client_config(&c, conf, sizeof(conf));
	if (n < 0) {
		ret = error("cannot make the config: %s", strerror(-n));
		goto out;
	}
	warn_world_readable();
	if (fwrite(conf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout)) {
		ret = error("cannot write the config: %s; client %s is registered without it: add another one",
			    strerror(errno), o->name);
		goto out;
	}
	address_text(a4, t4);
	address_text(a6, t6);
	fprintf(stderr, "added client %s as %s %s %s\n", o->name, t4, t6,
		live ? "to the running server" : "(the server adds it when it starts)");
	if (!o->no_qr && isatty(STDOUT_FILENO)) {
		fputc('\n', stdout);
		n = qr_print(stdout, conf, utf8_terminal());
		if (n < 0)
			error("cannot draw the QR code: %s (the config above works as text)",
			      n == -EINVAL ? "the config is too long" : strerror(-n));
	}
out:
	crypto_wipe(conf, sizeof(conf));
	crypto_wipe(&c, sizeof(c));
	return ret;
}

int addclient_main(int argc, char *argv[])
{
	struct options o = { .ifname = ADDCLIENT_DEFAULT_IFNAME };
	char err[SRVSTATE_ERR_MAX], ep[WGQUICK_ENDPOINT_MAX];
	struct ip_prefix a4, a6;
	struct srvstate st;
	uint8_t priv[32], pub[32];
	bool live = true;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret == 2 ? 0 : 1;
	/* server.conf first: without a key, port and endpoint there is no
	 * config to print, so no client is added. */
	if (srvstate_open(&st, o.state_dir, o.ifname, false, err) < 0)
		return error("%s", err);
	if (srvstate_read_meta(&st, err) < 0) {
		srvstate_close(&st);
		return error("%s", err);
	}
	if (endpoint_for(&o, &st, ep)) {
		srvstate_close(&st);
		return 1;
	}

	x25519_generate_private(priv);
	if (!x25519_public_from_private(pub, priv)) {
		ret = error("cannot make a key pair");
		goto out;
	}
	ret = add_live(&o, pub, &a4, &a6);
	if (ret == -ENOENT || ret == -ECONNREFUSED) {
		live = false;
		ret = add_offline(&o, &st, pub, &a4, &a6);
	}
	if (ret == 0)
		ret = print_config(&o, &st, priv, &a4, &a6, live);
out:
	crypto_wipe(priv, sizeof(priv));
	srvstate_close(&st);
	return ret ? 1 : 0;
}
