/* test_qr.c - the terminal QR renderer: small matrices drawn exactly in
 * both modes, buffer sizes exact and refused when short, and qr_print's
 * output shaped like the symbol libqrencode makes for the same text
 * (finder patterns where they belong), ECC L when M is too small, too
 * long text refused; and both renderings, read back as pixels, decoded by
 * zbarimg (zbar-tools) to exactly the text that went in. */
#define _GNU_SOURCE
#include <errno.h>
#include <qrencode.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/qr.h"

#define S QR_UTF8_START
#define E QR_UTF8_END
#define FULL "\xe2\x96\x88"
#define UP "\xe2\x96\x80"
#define LO "\xe2\x96\x84"

static void test_one_module(void **state)
{
	static const uint8_t m[1] = { 1 }, light[1] = { 0xfe };
	char buf[256];
	int n;

	(void)state;
	n = qr_render(m, 1, false, buf, sizeof(buf));
	assert_string_equal(buf,
		"          \n"
		"          \n"
		"    ##    \n"
		"          \n"
		"          \n");
	assert_int_equal(n, 55);
	assert_int_equal(qr_render_size(1, false), 56);
	/* Only bit 0 counts: libqrencode keeps other flags in the byte. */
	assert_true(qr_render(light, 1, false, buf, sizeof(buf)) > 0);
	assert_null(strchr(buf, '#'));
}

/*  # . #
 *  . # .
 *  # # .  */
static const uint8_t three[9] = { 1, 0, 1, 0, 1, 0, 1, 1, 0 };

static void test_three_ascii(void **state)
{
	char buf[512];
	int n;

	(void)state;
	n = qr_render(three, 3, false, buf, sizeof(buf));
	assert_string_equal(buf,
		"              \n"
		"              \n"
		"    ##  ##    \n"
		"      ##      \n"
		"    ####      \n"
		"              \n"
		"              \n");
	assert_int_equal((size_t)n + 1, qr_render_size(3, false));
}

static void test_three_utf8(void **state)
{
	char buf[512];
	int n;

	(void)state;
	/* Rows pair up as (0,1) (2,3) (4,5) (6,-): the code's first row
	 * is row 2, so it shares a line with the third quiet row. */
	n = qr_render(three, 3, true, buf, sizeof(buf));
	assert_string_equal(buf,
		S "       " E "\n"
		S "  " UP LO UP "  " E "\n"
		S "  " UP UP "   " E "\n"
		S "       " E "\n");
	assert_true((size_t)n < qr_render_size(3, true));
}

static void test_bounds(void **state)
{
	static uint8_t big[QR_WIDTH_MAX * QR_WIDTH_MAX];
	size_t need;
	char *buf;

	(void)state;
	assert_int_equal(qr_render_size(0, false), 0);
	assert_int_equal(qr_render_size(QR_WIDTH_MAX + 1, true), 0);
	assert_int_equal(qr_render(three, 0, false, (char[8]){ 0 }, 8), -EINVAL);
	assert_int_equal(qr_render(NULL, 3, false, (char[256]){ 0 }, 256), -EINVAL);
	need = qr_render_size(3, false);
	for (size_t cap = 0; cap < need; cap++) {
		char small[128];

		assert_int_equal(qr_render(three, 3, false, small, cap), -ENOSPC);
	}
	/* The largest symbol, every module dark: exactly the size given. */
	memset(big, 1, sizeof(big));
	for (int utf8 = 0; utf8 < 2; utf8++) {
		int n;

		need = qr_render_size(QR_WIDTH_MAX, utf8);
		buf = malloc(need);
		assert_non_null(buf);
		n = qr_render(big, QR_WIDTH_MAX, utf8, buf, need);
		assert_true(n > 0);
		assert_int_equal(strlen(buf), (size_t)n);
		if (!utf8)
			assert_int_equal((size_t)n + 1, need);
		free(buf);
	}
}

/* qr_print's output for text, split in lines. */
static char *printed(const char *text, bool utf8, int *ret)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	*ret = qr_print(f, text, utf8);
	fclose(f);
	return out;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void check_ascii_shape(const char *text, int want_width)
{
	QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	int ret, side;
	char *out, *expect, *line;
	size_t cap;

	if (!qr)	/* too long for M: qr_print falls back to L */
		qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_L);
	assert_non_null(qr);
	assert_int_equal(qr->width, want_width);
	side = qr->width + 2 * QR_QUIET;
	out = printed(text, false, &ret);
	assert_int_equal(ret, 0);
	assert_int_equal(count_lines(out), side);
	line = out;
	for (int y = 0; y < side; y++) {
		char *nl = strchr(line, '\n');

		assert_int_equal(nl - line, 2 * side);
		/* Row 0 of the symbol: the finder patterns' top edges, seven
		 * dark modules at both ends. */
		if (y == QR_QUIET) {
			assert_memory_equal(line, "    ##############  ", 20);
			assert_memory_equal(nl - 18, "##############    ", 18);
		}
		line = nl + 1;
	}
	/* And exactly what the renderer makes of libqrencode's matrix. */
	cap = qr_render_size(qr->width, false);
	expect = malloc(cap);
	assert_non_null(expect);
	assert_true(qr_render(qr->data, qr->width, false, expect, cap) > 0);
	assert_string_equal(out, expect);
	free(expect);
	free(out);
	QRcode_free(qr);
}

static void test_print_ascii(void **state)
{
	char text[3000];

	(void)state;
	check_ascii_shape("hello", 21);		/* version 1 */
	memset(text, 'k', 300);
	text[300] = '\0';
	check_ascii_shape(text, 4 * 13 + 17);	/* 300 bytes at M: version 13 */
	/* Past what M holds (2331), L still takes it: version 40. */
	memset(text, 'k', 2900);
	text[2900] = '\0';
	check_ascii_shape(text, QR_WIDTH_MAX);
}

static void test_print_utf8(void **state)
{
	int ret, side = 21 + 2 * QR_QUIET;
	char *out = printed("hello", true, &ret), *line;

	(void)state;
	assert_int_equal(ret, 0);
	assert_int_equal(count_lines(out), (side + 1) / 2);
	line = out;
	for (int y = 0; y < (side + 1) / 2; y++) {
		char *nl = strchr(line, '\n');

		assert_non_null(nl);
		assert_memory_equal(line, S, strlen(S));
		assert_memory_equal(nl - strlen(E), E, strlen(E));
		line = nl + 1;
	}
	/* Line 1 holds symbol rows 0 and 1, after two quiet columns: the
	 * finder's top edge over its sides. */
	line = strchr(out, '\n') + 1 + strlen(S);
	assert_memory_equal(line, "  " FULL UP UP UP UP UP FULL " ", 2 + 7 * 3 + 1);
	free(out);
}

static void test_print_refuses(void **state)
{
	char *text = malloc(QR_TEXT_MAX + 2);
	int ret;
	char *out;

	(void)state;
	assert_non_null(text);
	out = printed("", false, &ret);
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(out, "");
	free(out);
	memset(text, 'k', QR_TEXT_MAX + 1);
	text[QR_TEXT_MAX + 1] = '\0';
	out = printed(text, false, &ret);
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(out, "");
	free(out);
	text[QR_TEXT_MAX] = '\0';	/* exactly the limit: fits at L */
	out = printed(text, false, &ret);
	assert_int_equal(ret, 0);
	assert_int_equal(count_lines(out), QR_WIDTH_MAX + 2 * QR_QUIET);
	free(out);
	free(text);
}

/* The printed code back as modules: ASCII "##"/"  " pairs, or UTF-8 half
 * blocks (colour codes skipped) that hold two rows each. side x side
 * modules, quiet zone included. */
static uint8_t *modules_of(const char *out, bool utf8, int side)
{
	uint8_t *m = calloc((size_t)side * (size_t)side, 1);
	const char *p = out;

	assert_non_null(m);
	for (int y = 0; y < side; y += utf8 ? 2 : 1) {
		if (utf8) {
			assert_memory_equal(p, S, strlen(S));
			p += strlen(S);
		}
		for (int x = 0; x < side; x++) {
			int top, bottom = 0;

			if (!utf8) {
				assert_true(!strncmp(p, "##", 2) || !strncmp(p, "  ", 2));
				top = *p == '#';
				p += 2;
			} else if (*p == ' ') {
				top = 0;
				p += 1;
			} else {
				top = !strncmp(p, FULL, 3) || !strncmp(p, UP, 3);
				bottom = !strncmp(p, FULL, 3) || !strncmp(p, LO, 3);
				assert_true(top || bottom);
				p += 3;
			}
			m[(size_t)y * (size_t)side + (size_t)x] = (uint8_t)top;
			if (bottom)
				assert_true(y + 1 < side);
			if (y + 1 < side)
				m[(size_t)(y + 1) * (size_t)side + (size_t)x] = (uint8_t)bottom;
		}
		if (utf8) {
			assert_memory_equal(p, E, strlen(E));
			p += strlen(E);
		}
		assert_int_equal(*p, '\n');
		p++;
	}
	assert_int_equal(*p, '\0');
	return m;
}

/* Decode the printed code with zbarimg; the text it read, to be freed. */
static char *scan(const char *out, bool utf8, int width)
{
	int side = width + 2 * QR_QUIET, scale = 4, fd;
	char path[] = "/tmp/test_qr.XXXXXX", cmd[128], *got;
	uint8_t *m = modules_of(out, utf8, side);
	size_t len = 0, cap = 8192, n;
	FILE *f;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	/* Plain PBM, 1 = black, each module scale x scale pixels. */
	fprintf(f, "P1\n%d %d\n", side * scale, side * scale);
	for (int y = 0; y < side * scale; y++) {
		for (int x = 0; x < side * scale; x++)
			fputs(m[(size_t)(y / scale) * (size_t)side + (size_t)(x / scale)]
			      ? "1" : "0", f);
		fputc('\n', f);
	}
	fclose(f);
	free(m);
	snprintf(cmd, sizeof(cmd), "zbarimg --raw -q %s 2>/dev/null", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	got = malloc(cap + 1);
	assert_non_null(got);
	while (len < cap && (n = fread(got + len, 1, cap - len, f)) > 0)
		len += n;
	got[len] = '\0';
	assert_int_equal(pclose(f), 0);
	unlink(path);
	return got;
}

static void test_scan(void **state)
{
	static const char conf[] =
		"[Interface]\n"
		"PrivateKey = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
		"Address = 10.77.0.2/32, fd12:3456:789a::2/128\n"
		"DNS = 10.77.0.1\n"
		"MTU = 1420\n"
		"\n"
		"[Peer]\n"
		"PublicKey = //79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=\n"
		"Endpoint = vpn.example.com:51820\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n"
		"PersistentKeepalive = 25\n";
	QRcode *qr;

	(void)state;
	if (system("command -v zbarimg >/dev/null 2>&1") != 0)
		skip();	/* tools/deps.sh test installs zbar-tools */
	qr = QRcode_encodeString8bit(conf, 0, QR_ECLEVEL_M);
	assert_non_null(qr);
	for (int utf8 = 0; utf8 < 2; utf8++) {
		int ret;
		char *out = printed(conf, utf8, &ret), *got;

		assert_int_equal(ret, 0);
		got = scan(out, utf8, qr->width);
		/* --raw ends the data with a newline of its own. */
		assert_int_equal(strlen(got), sizeof(conf));
		assert_memory_equal(got, conf, sizeof(conf) - 1);
		free(got);
		free(out);
	}
	QRcode_free(qr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_module),
		cmocka_unit_test(test_three_ascii),
		cmocka_unit_test(test_three_utf8),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_print_ascii),
		cmocka_unit_test(test_print_utf8),
		cmocka_unit_test(test_print_refuses),
		cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
