/* qr.c - QR codes in the terminal, see qr.h. libqrencode makes the module
 * matrix; this file only draws it. */
#define _GNU_SOURCE
#include "cli/qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

static const char block_full[] = "\xe2\x96\x88";	/* U+2588 */
static const char block_upper[] = "\xe2\x96\x80";	/* U+2580 */
static const char block_lower[] = "\xe2\x96\x84";	/* U+2584 */

/* Is module (x, y) of the quiet-zoned square dark? */
static bool dark(const uint8_t *m, int width, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= width || y >= width)
		return false;
	return m[(size_t)y * (size_t)width + (size_t)x] & 1;
}

size_t qr_render_size(int width, bool utf8)
{
	size_t n, lines, per_line;

	if (width < 1 || width > QR_WIDTH_MAX)
		return 0;
	n = (size_t)width + 2 * QR_QUIET;
	if (!utf8)
		return n * (2 * n + 1) + 1;
	lines = (n + 1) / 2;
	per_line = sizeof(QR_UTF8_START) - 1 + 3 * n + sizeof(QR_UTF8_END) - 1 + 1;
	return lines * per_line + 1;
}

static void put(char *buf, size_t *used, const char *s, size_t len)
{
	memcpy(buf + *used, s, len);
	*used += len;
}

int qr_render(const uint8_t *modules, int width, bool utf8, char *buf,
	      size_t cap)
{
	size_t need = qr_render_size(width, utf8), used = 0;
	int n = width + 2 * QR_QUIET;

	if (!need || !modules)
		return -EINVAL;
	if (cap < need) {
		if (cap)
			buf[0] = '\0';
		return -ENOSPC;
	}
	for (int y = 0; y < n; y += utf8 ? 2 : 1) {
		if (utf8)
			put(buf, &used, QR_UTF8_START, sizeof(QR_UTF8_START) - 1);
		for (int x = 0; x < n; x++) {
			bool top = dark(modules, width, x, y);
			bool bottom = utf8 && dark(modules, width, x, y + 1);

			if (!utf8)
				put(buf, &used, top ? "##" : "  ", 2);
			else if (top && bottom)
				put(buf, &used, block_full, 3);
			else if (top)
				put(buf, &used, block_upper, 3);
			else if (bottom)
				put(buf, &used, block_lower, 3);
			else
				put(buf, &used, " ", 1);
		}
		if (utf8)
			put(buf, &used, QR_UTF8_END, sizeof(QR_UTF8_END) - 1);
		put(buf, &used, "\n", 1);
	}
	buf[used] = '\0';
	return (int)used;
}

int qr_print(FILE *out, const char *text, bool utf8)
{
	size_t len = text ? strnlen(text, QR_TEXT_MAX + 1) : 0, cap;
	QRcode *qr;
	char *buf;
	int n, ret = 0;

	if (len == 0 || len > QR_TEXT_MAX)
		return -EINVAL;
	errno = 0;
	qr = QRcode_encodeData((int)len, (const unsigned char *)text, 0,
			       QR_ECLEVEL_M);
	if (!qr && errno == ERANGE)
		qr = QRcode_encodeData((int)len, (const unsigned char *)text,
				       0, QR_ECLEVEL_L);
	if (!qr)
		return errno == ENOMEM ? -ENOMEM : -EINVAL;
	cap = qr_render_size(qr->width, utf8);
	buf = cap ? malloc(cap) : NULL;
	if (!buf) {
		ret = cap ? -ENOMEM : -EINVAL;
		goto out;
	}
	n = qr_render(qr->data, qr->width, utf8, buf, cap);
	if (n < 0)
		ret = n;
	else if (fwrite(buf, 1, (size_t)n, out) != (size_t)n || fflush(out))
		ret = -EIO;
	explicit_bzero(buf, cap);
	free(buf);
out:
	explicit_bzero(qr->data, (size_t)qr->width * (size_t)qr->width);
	QRcode_free(qr);
	return ret;
}
