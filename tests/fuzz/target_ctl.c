/* target_ctl.c - fuzz the control socket's lines (vpn/ctl.h) and the
 * endpoint normaliser (vpn/wgquick.h). The first byte picks one:
 *   0: a request: accepted means it is exactly the canonical line;
 *   1: a reply: "ok" formats back and parses to the same addresses; an
 *      error reason and a complaint are printable, one line;
 *   2: an endpoint: the normal form is a fixed point, with a port.
 * Refusals leave outputs empty or zeroed. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vpn/ctl.h"
#include "vpn/wgquick.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void printable(const char *s)
{
	check(memchr(s, '\0', CTL_ERR_MAX) != NULL);
	for (; *s; s++)
		check(*s >= 0x20 && *s < 0x7f);
}

static void request(const char *s, size_t len)
{
	char name[CTL_NAME_MAX + 1], err[CTL_ERR_MAX], line[CTL_LINE_MAX + 1];
	uint8_t pub[32];
	int n;

	if (ctl_parse_request(s, len, name, pub, err) != 0) {
		check(err[0] != '\0');
		printable(err);
		check(name[0] == '\0');
		return;
	}
	n = ctl_format_request(name, pub, line, sizeof(line));
	check(n > 0 && n <= CTL_LINE_MAX);
	/* The '\n' is optional on input; nothing else may differ. */
	check((size_t)n == len || (size_t)n == len + 1);
	check(memcmp(line, s, len) == 0);
}

static void reply(const char *s, size_t len)
{
	struct ip_prefix a4, a6, b4, b6;
	char err[CTL_ERR_MAX], line[CTL_LINE_MAX + 1];
	int ret = ctl_parse_reply(s, len, &a4, &a6, err), n;

	if (ret != 0) {
		check(ret == -EREMOTEIO || ret == -EPROTO);
		check(a4.family == 0 && a6.family == 0);
		printable(err);
		if (ret == -EPROTO)
			check(err[0] != '\0');
		return;
	}
	check(a4.family == 0 || a4.family == 4);
	check(a6.family == 0 || a6.family == 6);
	check(a4.family || a6.family);
	n = ctl_format_reply_ok(&a4, &a6, line, sizeof(line));
	check(n > 0 && n <= CTL_LINE_MAX);
	check(ctl_parse_reply(line, (size_t)n, &b4, &b6, err) == 0);
	check(memcmp(&a4, &b4, sizeof(a4)) == 0 && memcmp(&a6, &b6, sizeof(a6)) == 0);
}

static void endpoint(const char *s, size_t len)
{
	char out[WGQUICK_ENDPOINT_MAX], again[WGQUICK_ENDPOINT_MAX];
	char err[WGQUICK_ERR_MAX];

	if (wgquick_endpoint(s, len, 51820, out, err) != 0) {
		check(out[0] == '\0' && err[0] != '\0');
		check(memchr(err, '\0', sizeof(err)) != NULL);
		return;
	}
	check(wgquick_endpoint(out, strlen(out), 0, again, err) == 0);
	check(strcmp(out, again) == 0);
	check(strpbrk(out, " \t\r\n=#") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		request(s, size - 1);
		break;
	case 1:
		reply(s, size - 1);
		break;
	default:
		endpoint(s, size - 1);
		break;
	}
	return 0;
}
