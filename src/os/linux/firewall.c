/* firewall.c - apply and remove weft's nftables table through libnftables. */
#define _GNU_SOURCE
#include "os/linux/firewall.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum {
	SOURCE_SHOWN_MAX = 100,	/* of the offending script line */
	REMOVE_SCRIPT_MAX = 3 * FW_TABLE_NAME_MAX + 64,
};

/* The helper is single-threaded; thread-local keeps a test or a future
 * caller on several threads from reading another thread's error. */
static _Thread_local char last_error[FW_LAST_ERROR_MAX];

__attribute__((format(printf, 1, 2)))
static void set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

const char *fw_last_error(void)
{
	return last_error;
}

/* Append n bytes of s to the line at *len, each control character made a
 * space: nft's text must not split or forge a log line. */
static void line_append(char *line, size_t cap, size_t *len, const char *s,
			size_t n)
{
	for (size_t i = 0; i < n && s[i] && *len + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		line[(*len)++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	line[*len] = '\0';
}

static size_t line_length(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl ? (size_t)(nl - s) : strlen(s);
}

/* nft reports each error of a file as three lines:
 *	/proc/self/fd/5:3:1-24: Error: Could not process rule: No such ...
 *	delete table inet weft_x
 *	^^^^^^^^^^^^^^^^^^^^^^^^
 * Make the first of them one line: "line 3: MESSAGE (in: SOURCE)", and
 * count the others. Without a location (buffer input), the source line
 * nft 1.0.6 shows is always the script's first, so it is left out. Text
 * of another shape is kept, flattened. */
static void error_from_nft(const char *text)
{
	const char *err, *p, *src = NULL;
	char *line = last_error;
	size_t cap = sizeof(last_error), len = 0, n;
	unsigned lineno = 0, more = 0;

	line[0] = '\0';
	if (!text || !*text) {
		set_error("nft failed without saying why");
		return;
	}
	err = strstr(text, "Error: ");
	if (!err) {
		line_append(line, cap, &len, text, line_length(text));
		return;
	}
	/* The location, "NAME:LINE:COLUMNS: ", is on the same line. */
	for (p = err; p > text && p[-1] != '\n'; p--)
		;
	{
		const char *c = memchr(p, ':', (size_t)(err - p));

		if (c)
			sscanf(c + 1, "%u:", &lineno);
	}
	if (lineno)
		len = (size_t)snprintf(line, cap, "line %u: ", lineno);
	err += strlen("Error: ");
	line_append(line, cap, &len, err, line_length(err));
	p = strchr(err, '\n');
	if (lineno && p && p[1] && strncmp(p + 1, "Error: ", 7) != 0) {
		src = p + 1;
		while (*src == ' ' || *src == '\t')
			src++;
	}
	if (src && *src && *src != '\n' && *src != '^') {
		n = line_length(src);
		line_append(line, cap, &len, " (in: ", 6);
		line_append(line, cap, &len, src,
			    n > SOURCE_SHOWN_MAX ? SOURCE_SHOWN_MAX : n);
		if (n > SOURCE_SHOWN_MAX)
			line_append(line, cap, &len, "...", 3);
		line_append(line, cap, &len, ")", 1);
	}
	for (p = strstr(err, "Error: "); p; p = strstr(p + 1, "Error: "))
		more++;
	if (more && len + 1 < cap)
		snprintf(line + len, cap - len, " (and %u more error%s)", more,
			 more == 1 ? "" : "s");
}

/* libnftables 1.0.6 mislocates errors in a buffer (every one is shown
 * on the buffer's first line); from a file it names line and text. So the
 * script goes through an anonymous in-memory file when one can be made.
 * Returns its descriptor or -1: then the buffer it is. */
static int script_file(const char *cmd, char path[32])
{
	size_t len = strlen(cmd), done = 0;
	int fd = memfd_create("weft-nft", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t w = write(fd, cmd + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	snprintf(path, 32, "/proc/self/fd/%d", fd);
	/* nft opens the path itself: without /proc it is not there. */
	if (access(path, R_OK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Run one command script. On failure the error is kept for
 * fw_last_error; *out (may be NULL) receives nft's output on success,
 * valid until the context is freed: the caller frees *ctx. */
static int run(const char *cmd, struct nft_ctx **ctx, const char **out)
{
	struct nft_ctx *nft;
	char path[32];
	int rc, fd;

	*ctx = NULL;
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		set_error("libnftables: cannot make a context (out of memory)");
		return -ENOMEM;
	}
	*ctx = nft;
	if (nft_ctx_buffer_output(nft) || nft_ctx_buffer_error(nft)) {
		set_error("libnftables: cannot buffer its output");
		return -ENOMEM;
	}
	fd = out ? -1 : script_file(cmd, path);
	if (fd >= 0) {
		rc = nft_run_cmd_from_filename(nft, path);
		close(fd);
	} else {
		rc = nft_run_cmd_from_buffer(nft, cmd);
	}
	if (rc != 0) {
		const char *text = nft_ctx_get_error_buffer(nft);

		error_from_nft(text);
		/* libnftables does not hand out errno; the one failure a
		 * caller can act on differently is the missing capability. */
		if (text && strstr(text, "Operation not permitted"))
			return -EPERM;
		return -EINVAL;
	}
	if (out)
		*out = nft_ctx_get_output_buffer(nft);
	last_error[0] = '\0';
	return 0;
}

int fw_apply(const char *script)
{
	struct nft_ctx *nft;
	int err;

	if (!script || !*script) {
		set_error("fw_apply: empty script");
		return -EINVAL;
	}
	err = run(script, &nft, NULL);
	if (nft)
		nft_ctx_free(nft);
	return err;
}

static int table_of(const char *ifname, char table[FW_TABLE_NAME_MAX])
{
	if (fw_table_name(ifname, table, FW_TABLE_NAME_MAX) < 0) {
		set_error("interface name: must be 1 to 15 characters of "
			  "A-Z a-z 0-9 _ . -");
		return -EINVAL;
	}
	return 0;
}

int fw_remove(const char *ifname)
{
	char table[FW_TABLE_NAME_MAX], cmd[REMOVE_SCRIPT_MAX];
	struct nft_ctx *nft;
	int err;

	err = table_of(ifname, table);
	if (err)
		return err;
	/* Create-if-absent then delete: one transaction that succeeds
	 * whether or not the table was there (1.0.6 has no "destroy"). */
	snprintf(cmd, sizeof(cmd), "table inet %s\ndelete table inet %s\n",
		 table, table);
	err = run(cmd, &nft, NULL);
	if (nft)
		nft_ctx_free(nft);
	return err;
}

int fw_table_exists(const char *ifname)
{
	char table[FW_TABLE_NAME_MAX], want[FW_TABLE_NAME_MAX + 16];
	const char *out = NULL, *p;
	struct nft_ctx *nft;
	size_t n;
	int err;

	err = table_of(ifname, table);
	if (err)
		return err;
	/* Listing all inet tables (names only) tells "absent" from a real
	 * failure without reading nft's error text. */
	err = run("list tables inet", &nft, &out);
	if (!err) {
		n = (size_t)snprintf(want, sizeof(want), "table inet %s", table);
		err = 0;
		for (p = out ? out : ""; (p = strstr(p, want)); p += n) {
			if ((p == out || p[-1] == '\n') &&
			    (p[n] == '\n' || p[n] == '\0')) {
				err = 1;
				break;
			}
		}
	}
	if (nft)
		nft_ctx_free(nft);
	return err;
}
