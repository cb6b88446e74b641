/* qr.h - a QR code in the terminal, for scanning a wg-quick config into a
 * phone's WireGuard app: 8-bit mode, error correction M (L when the text
 * only fits that way), a quiet zone of QR_QUIET modules on every side.
 *
 * Two renderings of the module matrix:
 *   utf8:  two module rows per text line with the half blocks
 *          U+2580/U+2584/U+2588, black on white forced with ANSI colours
 *          (ESC[30;47m ... ESC[0m on every line), so that the code reads
 *          right on dark and light terminal themes alike;
 *   ascii: one module row per line, "##" for a dark module, two spaces
 *          for a light one (for terminals without UTF-8).
 * Both end every line with '\n'. */
#ifndef WEFT_CLI_QR_H
#define WEFT_CLI_QR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum qr_limits {
	QR_QUIET = 2,		/* modules of light margin on each side */
	QR_WIDTH_MAX = 177,	/* version 40 */
	QR_TEXT_MAX = 2953,	/* bytes at ECC L, version 40 (M: 2331) */
};

#define QR_UTF8_START "\x1b[30;47m"
#define QR_UTF8_END "\x1b[0m"

/* Bytes qr_render needs for a width x width matrix, with the NUL; 0 for a
 * width outside 1..QR_WIDTH_MAX. */
size_t qr_render_size(int width, bool utf8);

/* Render modules (width x width, row-major, bit 0 set = dark, as
 * libqrencode gives them) with the quiet zone into buf, NUL-terminated.
 * Pure. The length, or -EINVAL (bad width) or -ENOSPC. */
__attribute__((warn_unused_result))
int qr_render(const uint8_t *modules, int width, bool utf8, char *buf,
	      size_t cap);

/* Encode text and print it to out. 0, or -EINVAL (empty, or too long for
 * any QR code), -ENOMEM, -EIO. Buffers that held the text or its modules
 * are wiped: the text is usually a config with a private key. */
__attribute__((warn_unused_result))
int qr_print(FILE *out, const char *text, bool utf8);

#endif
