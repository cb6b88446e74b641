/* test_ctl.c - the control socket: request and reply lines (round trips,
 * every refusal with its reason, escape sequences kept off the terminal),
 * and ctl_listen/ctl_request in a temporary run directory against a tiny
 * server thread that answers, stays silent, hangs up or talks too much. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/addrpool.h"
#include "core/encoding.h"
#include "vpn/ctl.h"

#define B1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K0 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static char run[64];

static int setup(void **state)
{
	(void)state;
	snprintf(run, sizeof(run), "/tmp/test_ctl.XXXXXX");
	return mkdtemp(run) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", run);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ip_prefix pfx(const char *text)
{
	struct ip_prefix p;

	assert_true(addrpool_prefix_parse(&p, text, strlen(text)));
	return p;
}

/* ---- request lines ---- */

static void test_request_round_trip(void **state)
{
	char buf[CTL_LINE_MAX + 1], name[CTL_NAME_MAX + 1], err[CTL_ERR_MAX];
	uint8_t pub[32], back[32];
	int n;

	(void)state;
	assert_true(key_from_base64(pub, B1, 44));
	n = ctl_format_request("phone", pub, buf, sizeof(buf));
	assert_string_equal(buf, "add-client phone " B1 "\n");
	assert_int_equal(n, (int)strlen(buf));
	assert_int_equal(ctl_parse_request(buf, (size_t)n, name, back, err), 0);
	assert_string_equal(name, "phone");
	assert_memory_equal(back, pub, 32);
	/* The newline is optional. */
	assert_int_equal(ctl_parse_request(buf, (size_t)n - 1, name, back, err), 0);
	/* The longest name. */
	n = ctl_format_request("01234567890123456789012345678901", pub, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(ctl_parse_request(buf, (size_t)n, name, back, err), 0);
	assert_string_equal(name, "01234567890123456789012345678901");

	assert_int_equal(ctl_format_request("bad name", pub, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ctl_format_request("012345678901234567890123456789012", pub,
					    buf, sizeof(buf)), -EINVAL);
	memset(back, 0, 32);
	assert_int_equal(ctl_format_request("phone", back, buf, sizeof(buf)), -EINVAL);
	for (size_t cap = 0; cap <= strlen("add-client phone " B1 "\n"); cap++)
		assert_int_equal(ctl_format_request("phone", pub, buf, cap), -ENOSPC);
}

static void bad_request(const char *line, size_t len, const char *want)
{
	char name[CTL_NAME_MAX + 1], err[CTL_ERR_MAX];
	uint8_t pub[32];

	memset(name, 'x', sizeof(name));
	memset(pub, 0xff, sizeof(pub));
	if (ctl_parse_request(line, len, name, pub, err) != -EINVAL)
		fail_msg("accepted \"%.*s\"", (int)len, line);
	if (!strstr(err, want))
		fail_msg("got \"%s\", want \"%s\"", err, want);
	assert_string_equal(name, "");
	for (int i = 0; i < 32; i++)
		assert_int_equal(pub[i], 0);
	for (const char *c = err; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
}

#define BAD(line, want) bad_request(line, strlen(line), want)

static void test_request_errors(void **state)
{
	static char longline[CTL_LINE_MAX + 2];
	static const char nul[] = "add-client ph\0ne " B1 "\n";

	(void)state;
	BAD("remove-client phone " B1 "\n", "unknown request \"remove-client\"");
	BAD("\x1b[31mevil " B1 "\n", "unknown request \"?[31mevil\"");
	BAD("", "expected \"add-client NAME PUBLIC-KEY\"");
	BAD("\n", "expected \"add-client NAME PUBLIC-KEY\"");
	BAD("add-client phone\n", "expected \"add-client NAME PUBLIC-KEY\"");
	BAD("add-client\n", "expected \"add-client NAME PUBLIC-KEY\"");
	BAD("add-client phone " B1 " more\n", "expected \"add-client NAME PUBLIC-KEY\"");
	BAD("add-client  phone " B1 "\n", "expected \"add-client NAME PUBLIC-KEY\" with single spaces");
	BAD("add-client phone " B1 " \n", "single spaces");
	BAD(" add-client phone " B1 "\n", "single spaces");
	BAD("add-client ph/one " B1 "\n", "\"ph/one\" is not a client name");
	BAD("add-client phone AAAA\n", "not 44 characters of base64");
	BAD("add-client phone " K0 "\n", "not 44 characters of base64");
	BAD("add-client phone " B1 "\nadd-client x " B1 "\n", "not one line");
	BAD("add-client phone " B1 "\r\n", "not 44 characters of base64");
	bad_request(nul, sizeof(nul) - 1, "not one line");
	memset(longline, 'a', sizeof(longline));
	bad_request(longline, CTL_LINE_MAX + 1, "at most 512 bytes");
	bad_request(NULL, 0, "one line");
}

/* ---- reply lines ---- */

static void test_reply_ok(void **state)
{
	struct ip_prefix a4 = pfx("10.77.0.2/16"), a6 = pfx("fd12::2/64");
	struct ip_prefix none = { 0 }, b4, b6;
	char buf[CTL_LINE_MAX + 1], err[CTL_ERR_MAX];
	int n;

	(void)state;
	n = ctl_format_reply_ok(&a4, &a6, buf, sizeof(buf));
	assert_string_equal(buf, "ok 10.77.0.2/16 fd12::2/64\n");
	assert_int_equal(ctl_parse_reply(buf, (size_t)n, &b4, &b6, err), 0);
	assert_memory_equal(&b4, &a4, sizeof(a4));
	assert_memory_equal(&b6, &a6, sizeof(a6));
	assert_int_equal(ctl_parse_reply("ok 10.77.0.2 -", 14, &b4, &b6, err), 0);
	assert_int_equal(b4.cidr, 32);
	assert_int_equal(b6.family, 0);

	assert_true(ctl_format_reply_ok(&none, &a6, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "ok - fd12::2/64\n");
	assert_int_equal(ctl_parse_reply(buf, strlen(buf), &b4, &b6, err), 0);
	assert_int_equal(b4.family, 0);
	assert_true(ctl_format_reply_ok(&a4, &none, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "ok 10.77.0.2/16 -\n");

	assert_int_equal(ctl_format_reply_ok(&none, &none, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(ctl_format_reply_ok(&a6, &a4, buf, sizeof(buf)), -EINVAL);
	for (size_t cap = 0; cap <= strlen("ok 10.77.0.2/16 -\n"); cap++)
		assert_int_equal(ctl_format_reply_ok(&a4, &none, buf, cap), -ENOSPC);
}

static void test_reply_error(void **state)
{
	char buf[CTL_LINE_MAX + 1], err[CTL_ERR_MAX], reason[1000];
	struct ip_prefix b4, b6;
	int n;

	(void)state;
	n = ctl_format_reply_error("there is already a client named phone", buf,
				   sizeof(buf));
	assert_string_equal(buf, "error there is already a client named phone\n");
	assert_int_equal(ctl_parse_reply(buf, (size_t)n, &b4, &b6, err), -EREMOTEIO);
	assert_string_equal(err, "there is already a client named phone");
	/* No second line, no escape sequences, at most one line long. */
	assert_true(ctl_format_reply_error("a\nok 1.2.3.4 -\x1b[2J", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "error a?ok 1.2.3.4 -?[2J\n");
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	n = ctl_format_reply_error(reason, buf, sizeof(buf));
	assert_int_equal(n, CTL_LINE_MAX);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal(ctl_parse_reply(buf, (size_t)n, &b4, &b6, err), -EREMOTEIO);
	assert_int_equal(strlen(err), CTL_ERR_MAX - 1);
	assert_true(ctl_format_reply_error("", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "error unknown\n");
	assert_int_equal(ctl_format_reply_error("x", buf, 8), -ENOSPC);
	/* The parser makes a hostile reason printable too. */
	assert_int_equal(ctl_parse_reply("error \x1b]0;pwned\x07", 16, &b4, &b6, err),
			 -EREMOTEIO);
	assert_string_equal(err, "?]0;pwned?");
}

static void bad_reply(const char *line, const char *want)
{
	struct ip_prefix b4, b6;
	char err[CTL_ERR_MAX];

	if (ctl_parse_reply(line, strlen(line), &b4, &b6, err) != -EPROTO)
		fail_msg("accepted \"%s\"", line);
	if (!strstr(err, want))
		fail_msg("got \"%s\", want \"%s\"", err, want);
	assert_int_equal(b4.family, 0);
	assert_int_equal(b6.family, 0);
}

static void test_reply_errors(void **state)
{
	static char longline[CTL_LINE_MAX + 2];

	(void)state;
	bad_reply("", "is not \"ok ADDR4 ADDR6\"");
	bad_reply("ok", "\"ok\" is not");
	bad_reply("ok - -", "is not");
	bad_reply("ok 10.0.0.2", "is not");
	bad_reply("ok 10.0.0.2 - -", "is not");
	bad_reply("ok fd00::2 -", "is not");
	bad_reply("ok - 10.0.0.2", "is not");
	bad_reply("ok  10.0.0.2 -", "is not");
	bad_reply("ok 10.0.0.300 -", "is not");
	bad_reply("OK 10.0.0.2 -", "is not");
	bad_reply("error", "is not");
	bad_reply("error ", "is not");
	bad_reply("ok 10.0.0.2 -\nok 10.0.0.3 -", "not one line");
	bad_reply("ok \x1b[2J -", "reply \"ok ?[2J -\"");
	memset(longline, 'a', sizeof(longline) - 1);
	bad_reply(longline, "at most 512 bytes");
}

/* ---- sockets ---- */

enum behaviour { ANSWER, SILENT, HANG_UP, CHATTER };

struct fake {
	int fd;
	enum behaviour how;
	const char *reply;
	char got[CTL_LINE_MAX + 1];
	pthread_t thread;
};

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = { .fd = f->fd, .events = POLLIN };
	size_t len = 0;
	int c;

	if (poll(&p, 1, 5000) != 1)
		return NULL;
	c = accept(f->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	while (len < CTL_LINE_MAX && !memchr(f->got, '\n', len)) {
		ssize_t n = read(c, f->got + len, CTL_LINE_MAX - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	f->got[len] = '\0';
	switch (f->how) {
	case ANSWER:
		if (write(c, f->reply, strlen(f->reply)) < 0)
			break;
		break;
	case SILENT:
		usleep(600 * 1000);	/* longer than the client waits */
		break;
	case HANG_UP:
		if (write(c, "ok 10.0.0", 9) < 0)	/* no newline */
			break;
		break;
	case CHATTER: {
		char lots[CTL_LINE_MAX + 100];

		memset(lots, 'x', sizeof(lots));
		if (write(c, lots, sizeof(lots)) < 0)
			break;
		break;
	}
	}
	close(c);
	return NULL;
}

static void fake_start(struct fake *f, const char *ifname, enum behaviour how,
		       const char *reply)
{
	char path[CTL_PATH_MAX];

	memset(f, 0, sizeof(*f));
	f->how = how;
	f->reply = reply;
	f->fd = ctl_listen(run, ifname, path);
	assert_true(f->fd >= 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake *f, const char *ifname)
{
	char path[CTL_PATH_MAX];

	assert_int_equal(pthread_join(f->thread, NULL), 0);
	close(f->fd);
	assert_int_equal(ctl_path(run, ifname, path), 0);
	unlink(path);
}

static void test_listen(void **state)
{
	char path[CTL_PATH_MAX], want[CTL_PATH_MAX + 128], sub[80];
	struct stat st;
	int a, b;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/made/here", run);
	a = ctl_listen(sub, "weftsrv0", path);
	assert_true(a >= 0);
	snprintf(want, sizeof(want), "%s/weftsrv0.ctl", sub);
	assert_string_equal(path, want);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A live server keeps its socket. */
	assert_int_equal(ctl_listen(sub, "weftsrv0", path), -EADDRINUSE);
	/* A dead one's socket is replaced. */
	close(a);
	b = ctl_listen(sub, "weftsrv0", path);
	assert_true(b >= 0);
	close(b);
	/* Not a socket: left alone. */
	snprintf(want, sizeof(want), "%s/weftsrv1.ctl", sub);
	assert_int_equal(mkdir(want, 0700), 0);
	assert_int_equal(ctl_listen(sub, "weftsrv1", path), -EEXIST);
	/* Bad names, long paths. */
	assert_int_equal(ctl_listen(sub, "a/b", path), -EINVAL);
	assert_int_equal(ctl_listen(sub, "", path), -EINVAL);
	memset(want, 'd', sizeof(want) - 1);
	want[0] = '/';
	want[sizeof(want) - 1] = '\0';
	assert_int_equal(ctl_listen(want, "x", path), -ENAMETOOLONG);
	/* WEFT_RUN_DIR is the default. */
	setenv("WEFT_RUN_DIR", sub, 1);
	assert_string_equal(ctl_default_run_dir(), sub);
	assert_int_equal(ctl_path(NULL, "weftsrv0", path), 0);
	snprintf(want, sizeof(want), "%s/weftsrv0.ctl", sub);
	assert_string_equal(path, want);
	unsetenv("WEFT_RUN_DIR");
	assert_int_equal(ctl_path(NULL, "weftsrv0", path), 0);
	assert_string_equal(path, "/run/weft/weftsrv0.ctl");
}

static void test_request_answered(void **state)
{
	char reply[CTL_LINE_MAX + 1];
	struct fake f;

	(void)state;
	fake_start(&f, "srv0", ANSWER, "ok 10.77.0.2/16 -\n");
	/* The newline is added when missing. */
	assert_int_equal(ctl_request(run, "srv0", "add-client phone " B1, reply,
				     sizeof(reply), 2000), 0);
	fake_stop(&f, "srv0");
	assert_string_equal(reply, "ok 10.77.0.2/16 -");
	assert_string_equal(f.got, "add-client phone " B1 "\n");

	fake_start(&f, "srv0", ANSWER, "error nope\n");
	assert_int_equal(ctl_request(run, "srv0", "add-client phone " B1 "\n",
				     reply, sizeof(reply), 2000), 0);
	fake_stop(&f, "srv0");
	assert_string_equal(reply, "error nope");
	assert_string_equal(f.got, "add-client phone " B1 "\n");

	/* A reply that does not fit the caller's buffer. */
	fake_start(&f, "srv0", ANSWER, "ok 10.77.0.2/16 -\n");
	assert_int_equal(ctl_request(run, "srv0", "x", reply, 8, 2000), -EPROTO);
	fake_stop(&f, "srv0");
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_request_failures(void **state)
{
	char reply[CTL_LINE_MAX + 1], path[CTL_PATH_MAX], big[CTL_LINE_MAX + 8];
	struct timespec t0;
	struct fake f;
	int fd;

	(void)state;
	/* Nobody there. */
	assert_int_equal(ctl_request(run, "none0", "x", reply, sizeof(reply), 500),
			 -ENOENT);
	/* A socket nobody listens on any more. */
	fd = ctl_listen(run, "dead0", path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ctl_request(run, "dead0", "x", reply, sizeof(reply), 500),
			 -ECONNREFUSED);
	unlink(path);
	/* A server that never answers: bounded by the timeout. */
	fake_start(&f, "mute0", SILENT, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ctl_request(run, "mute0", "x", reply, sizeof(reply), 200),
			 -ETIMEDOUT);
	assert_true(ms_since(&t0) < 550);
	fake_stop(&f, "mute0");
	/* One that hangs up mid-line. */
	fake_start(&f, "hup0", HANG_UP, NULL);
	assert_int_equal(ctl_request(run, "hup0", "x", reply, sizeof(reply), 2000),
			 -EPROTO);
	fake_stop(&f, "hup0");
	assert_string_equal(reply, "");
	/* One that never ends its line. */
	fake_start(&f, "chat0", CHATTER, NULL);
	assert_int_equal(ctl_request(run, "chat0", "x", reply, sizeof(reply), 2000),
			 -EPROTO);
	fake_stop(&f, "chat0");
	/* Requests that are not one line of at most 512 bytes. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ctl_request(run, "none0", big, reply, sizeof(reply), 500),
			 -EMSGSIZE);
	big[CTL_LINE_MAX - 1] = '\0';	/* 511 + '\n' fits */
	assert_int_equal(ctl_request(run, "none0", big, reply, sizeof(reply), 500),
			 -ENOENT);
	big[CTL_LINE_MAX] = '\0';	/* 512 + '\n' does not */
	big[CTL_LINE_MAX - 1] = 'a';
	assert_int_equal(ctl_request(run, "none0", big, reply, sizeof(reply), 500),
			 -EMSGSIZE);
	assert_int_equal(ctl_request(run, "none0", "a\nb", reply, sizeof(reply), 500),
			 -EMSGSIZE);
	assert_int_equal(ctl_request(run, "none0", "x", reply, 1, 500), -EINVAL);
	assert_int_equal(ctl_request(run, "none0", "x", reply, sizeof(reply), 0),
			 -EINVAL);
	assert_int_equal(ctl_request(run, "a/b", "x", reply, sizeof(reply), 500),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_reply_ok),
		cmocka_unit_test(test_reply_error),
		cmocka_unit_test(test_reply_errors),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_request_answered),
		cmocka_unit_test(test_request_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
