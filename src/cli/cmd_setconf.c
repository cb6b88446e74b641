/* cmd_setconf.c - weft setconf, addconf and syncconf: a wg(8) config file
 * turned into one UAPI "set" request. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ipc.h"
#include "cli/subcommands.h"
#include "core/encoding.h"
#include "core/uapi.h"
#include "core/wgconf.h"
#include "crypto/ct.h"

enum { CONF_MAX_FILE = 16 << 20 };

/* The whole file, read to its end rather than by its size: syncconf is
 * often fed a pipe, as in <(wg-quick strip wg0). */
static char *read_file(const char *path, size_t *len)
{
	size_t cap = 4096;
	char *buf = malloc(cap), *bigger;
	ssize_t n;
	int fd;

	if (!buf)
		abort();
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open %s: %s\n", prog_name, path,
			strerror(errno));
		free(buf);
		return NULL;
	}
	while (true) {
		if (*len == cap) {
			if (cap >= CONF_MAX_FILE) {
				fprintf(stderr, "%s: %s is larger than %d MiB: "
					"this is not a WireGuard config\n",
					prog_name, path, CONF_MAX_FILE >> 20);
				goto fail;
			}
			bigger = malloc(cap * 2);
			if (!bigger)
				abort();
			memcpy(bigger, buf, *len);
			crypto_wipe(buf, cap);	/* it holds keys */
			free(buf);
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s: cannot read %s: %s\n", prog_name,
				path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	return buf;
fail:
	close(fd);
	crypto_wipe(buf, cap);
	free(buf);
	return NULL;
}

/* Read and translate path; out->data is allocated and holds keys. */
static int load(const char *path, bool replace, bool strip,
		struct uapi_buf *out)
{
	struct wgconf_error err;
	size_t len;
	char *conf = read_file(path, &len);
	int ret;

	if (!conf)
		return -1;
	out->data = malloc(UAPI_MAX_REQUEST);
	if (!out->data)
		abort();
	out->len = 0;
	out->cap = UAPI_MAX_REQUEST;
	out->truncated = false;
	ret = wgconf_to_uapi(conf, len, replace, strip, out, &err);
	crypto_wipe(conf, len);
	free(conf);
	if (ret) {
		if (err.line)
			fprintf(stderr, "%s: %s: line %u: %s\n", prog_name, path,
				err.line, err.msg);
		else
			fprintf(stderr, "%s: %s: %s\n", prog_name, path,
				err.msg);
		free(out->data);
		out->data = NULL;
		return -1;
	}
	return 0;
}

static void unload(struct uapi_buf *req)
{
	if (req->data) {
		crypto_wipe(req->data, req->len);
		free(req->data);
	}
}

static int apply(int argc, char *argv[], bool replace)
{
	struct uapi_buf req;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "Usage: %s %s <interface> <configuration "
			"filename>\n", prog_name, argv[0]);
		return 1;
	}
	if (load(argv[2], replace, false, &req))
		return 1;
	ret = ipc_set_device(argv[1], req.data, req.len);
	unload(&req);
	return ret ? 1 : 0;
}

int setconf_main(int argc, char *argv[])
{
	return apply(argc, argv, true);
}

int addconf_main(int argc, char *argv[])
{
	return apply(argc, argv, false);
}

/* Does the request name this peer in a public_key= line? */
static bool request_has_peer(const struct uapi_buf *req, const char *hex)
{
	const char *p = req->data, *end = req->data + req->len;
	static const char key[] = "public_key=";

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t llen = (size_t)((nl ? nl : end) - p);

		if (llen == sizeof(key) - 1 + KEY_HEX_LEN &&
		    !memcmp(p, key, sizeof(key) - 1) &&
		    !memcmp(p + sizeof(key) - 1, hex, KEY_HEX_LEN))
			return true;
		p += llen + 1;
	}
	return false;
}

/* syncconf: the file's peers exactly, without disturbing the sessions of
 * peers that stay: instead of replace_peers, remove only the others. */
int syncconf_main(int argc, char *argv[])
{
	static const char head[] = "set=1\nreplace_peers=true\n";
	struct uapi_buf req = { 0 };
	struct ipc_device *dev = NULL;
	char hex[KEY_HEX_LEN + 1], line[KEY_HEX_LEN + 32];
	size_t i, at, n;
	char *first_peer;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "Usage: %s syncconf <interface> <configuration "
			"filename>\n", prog_name);
		return 1;
	}
	/* As setconf (what the file leaves out of [Interface] is reset), but
	 * wg-quick's keys are skipped. */
	if (load(argv[2], true, true, &req))
		return 1;
	if (req.len < sizeof(head) - 1 ||
	    memcmp(req.data, head, sizeof(head) - 1) != 0) {
		fprintf(stderr, "%s: syncconf: internal error: unexpected "
			"request\n", prog_name);
		goto out;
	}
	memmove(req.data + 6, req.data + sizeof(head) - 1,
		req.len - (sizeof(head) - 1) + 1);
	req.len -= sizeof(head) - 1 - 6;
	if (ipc_get_device(argv[1], &dev))
		goto out;
	/* Removals go where the peers start, as wg puts them. */
	first_peer = strstr(req.data, "\npublic_key=");
	at = first_peer ? (size_t)(first_peer - req.data) + 1 : req.len - 1;
	for (i = 0; i < dev->n_peers; ++i) {
		key_to_hex(hex, dev->peers[i].public_key);
		if (request_has_peer(&req, hex))
			continue;
		n = (size_t)snprintf(line, sizeof(line),
				     "public_key=%s\nremove=true\n", hex);
		if (req.cap - req.len < n + 1) {
			fprintf(stderr, "%s: syncconf: the request grew past "
				"%d bytes\n", prog_name, UAPI_MAX_REQUEST);
			goto out;
		}
		memmove(req.data + at + n, req.data + at, req.len - at + 1);
		memcpy(req.data + at, line, n);
		req.len += n;
		at += n;
	}
	ret = ipc_set_device(argv[1], req.data, req.len) ? 1 : 0;
out:
	ipc_device_free(dev);
	unload(&req);
	return ret;
}
