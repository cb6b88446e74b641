/* test_hostdns.c - DNS through the tunnel: the rewritten resolv.conf (kept
 * lines, CRLF), FILE mode applied and undone byte for byte (also over a
 * symlink), RESOLVED mode with a stand-in resolvectl that logs its argv,
 * and AUTO's choice. Nothing outside a temporary directory is touched. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/linux/log.h"
#include "vpn/hostdns.h"
#include "vpn/journal.h"

static char tmp[64], state[128], bin[128], argv_log[128];
static char *saved_path;

static int setup(void **st)
{
	char path[256];
	FILE *f;

	(void)st;
	log_init("test", false, LOG_LEVEL_SILENT);
	snprintf(tmp, sizeof(tmp), "/tmp/test_hostdns.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(state, sizeof(state), "%s/state", tmp);
	snprintf(bin, sizeof(bin), "%s/bin", tmp);
	snprintf(argv_log, sizeof(argv_log), "%s/argv.log", tmp);
	if (mkdir(bin, 0700) < 0)
		return -1;
	/* The stand-in: one line per call; fails when FAIL_ON matches $1. */
	snprintf(path, sizeof(path), "%s/resolvectl", bin);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\necho \"$*\" >> '%s'\n"
		   "[ \"$1\" = \"$(/bin/cat '%s/fail_on' 2>/dev/null)\" ] && exit 1\nexit 0\n",
		argv_log, tmp);
	fclose(f);
	if (chmod(path, 0755) < 0)
		return -1;
	saved_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];

	(void)st;
	if (saved_path)
		setenv("PATH", saved_path, 1);
	free(saved_path);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void use_fake_resolvectl(bool on)
{
	char p[512];

	snprintf(p, sizeof(p), "%s:%s", on ? bin : "/nonexistent",
		 "/usr/sbin/no-such-dir");
	setenv("PATH", p, 1);
}

static void servers(struct hostdns_server s[3])
{
	memset(s, 0, 3 * sizeof(*s));
	s[0].family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "10.77.0.1", s[0].addr), 1);
	s[1].family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "fd77::1", s[1].addr), 1);
	s[2].family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.53", s[2].addr), 1);
}

static void write_bytes(const char *path, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static size_t read_bytes(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void test_resolv_text(void **st)
{
	static const char orig[] =
		"# from DHCP\r\n"
		"nameserver 192.168.1.1\r\n"
		"search lan example.test\r\n"
		"domain lan\n"
		"options edns0 trust-ad\n"
		"optionsX foo\n"
		"searching\n"
		"sortlist 130.155.160.0\n"
		"search";	/* no value, no newline: dropped */
	struct hostdns_server s[3];
	char out[512];
	int n;

	(void)st;
	servers(s);
	n = hostdns_resolv_text("weft0", s, 3, orig, sizeof(orig) - 1, out,
				sizeof(out));
	assert_true(n > 0);
	assert_string_equal(out,
		"# Written by weft for weft0: `weft down weft0` restores the original.\n"
		"nameserver 10.77.0.1\n"
		"nameserver fd77::1\n"
		"nameserver 192.0.2.53\n"
		"search lan example.test\n"
		"domain lan\n"
		"options edns0 trust-ad\n");
	assert_int_equal((size_t)n, strlen(out));
	n = hostdns_resolv_text("weft0", s, 1, NULL, 0, out, sizeof(out));
	assert_true(n > 0);
	assert_non_null(strstr(out, "nameserver 10.77.0.1\n"));
	assert_null(strstr(out, "fd77"));
	assert_int_equal(hostdns_resolv_text("weft0", s, 0, NULL, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(hostdns_resolv_text("weft0", s, 4, NULL, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(hostdns_resolv_text("we/ft", s, 1, NULL, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(hostdns_resolv_text("weft0", s, 3, orig, sizeof(orig) - 1, out, 100), -ENOSPC);
	s[1].family = 99;
	assert_int_equal(hostdns_resolv_text("weft0", s, 3, NULL, 0, out, sizeof(out)), -EINVAL);
}

static void test_file_mode_roundtrip(void **st)
{
	static const char orig[] = "nameserver 192.168.1.1\nsearch lan\noptions rotate\n# end, no newline";
	struct hostdns_server s[3];
	enum hostdns_mode used;
	struct journal j;
	char path[256], buf[1024];

	(void)st;
	use_fake_resolvectl(false);
	servers(s);
	snprintf(path, sizeof(path), "%s/resolv.conf", tmp);
	write_bytes(path, orig, sizeof(orig) - 1);
	assert_int_equal(journal_open(&j, state, "wfdns0"), 0);
	assert_int_equal(hostdns_apply(&j, "wfdns0", s, 2, HOSTDNS_AUTO, path, &used), 0);
	assert_int_equal(used, HOSTDNS_FILE);
	read_bytes(path, buf, sizeof(buf));
	assert_string_equal(buf,
		"# Written by weft for wfdns0: `weft down wfdns0` restores the original.\n"
		"nameserver 10.77.0.1\n"
		"nameserver fd77::1\n"
		"search lan\n"
		"options rotate\n");
	/* Again with other servers (a reconnect): the kept lines stay, the
	 * saved original too. */
	assert_int_equal(hostdns_apply(&j, "wfdns0", s + 2, 1, HOSTDNS_FILE, path, &used), 0);
	read_bytes(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "nameserver 192.0.2.53\nsearch lan\noptions rotate\n"));
	assert_null(strstr(buf, "10.77.0.1"));
	journal_close(&j);
	assert_int_equal(journal_undo(state, "wfdns0"), 1);
	assert_int_equal(read_bytes(path, buf, sizeof(buf)), sizeof(orig) - 1);
	assert_memory_equal(buf, orig, sizeof(orig) - 1);
}

static void test_file_mode_over_symlink(void **st)
{
	static const char target_text[] = "nameserver 127.0.0.53\nsearch corp\n";
	struct hostdns_server s[3];
	enum hostdns_mode used;
	struct journal j;
	char path[256], target[256], buf[512];
	ssize_t n;

	(void)st;
	use_fake_resolvectl(false);	/* resolved-like link, no resolvectl */
	servers(s);
	snprintf(target, sizeof(target), "%s/stub-resolv.conf", tmp);
	snprintf(path, sizeof(path), "%s/resolv-link.conf", tmp);
	write_bytes(target, target_text, sizeof(target_text) - 1);
	assert_int_equal(symlink("stub-resolv.conf", path), 0);
	assert_int_equal(journal_open(&j, state, "wfdns1"), 0);
	assert_int_equal(hostdns_apply(&j, "wfdns1", s, 1, HOSTDNS_FILE, path, &used), 0);
	assert_int_equal(used, HOSTDNS_FILE);
	/* The link was replaced by a file; its target was not touched. */
	assert_int_equal(readlink(path, buf, sizeof(buf)), -1);
	read_bytes(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "nameserver 10.77.0.1\nsearch corp\n"));
	read_bytes(target, buf, sizeof(buf));
	assert_string_equal(buf, target_text);
	journal_close(&j);
	assert_int_equal(journal_undo(state, "wfdns1"), 1);
	n = readlink(path, buf, sizeof(buf) - 1);
	assert_int_equal(n, (ssize_t)strlen("stub-resolv.conf"));
	buf[n] = '\0';
	assert_string_equal(buf, "stub-resolv.conf");
	read_bytes(target, buf, sizeof(buf));
	assert_string_equal(buf, target_text);
}

static void test_resolved_mode(void **st)
{
	struct hostdns_server s[3];
	enum hostdns_mode used;
	struct journal j;
	char link[256], buf[1024], fail_on[256];

	(void)st;
	servers(s);
	snprintf(link, sizeof(link), "%s/resolved-link.conf", tmp);
	assert_int_equal(symlink("../run/systemd/resolve/stub-resolv.conf", link), 0);
	unlink(argv_log);

	use_fake_resolvectl(false);
	assert_int_equal(hostdns_detect(link), HOSTDNS_FILE);
	use_fake_resolvectl(true);
	assert_int_equal(hostdns_detect(link), HOSTDNS_RESOLVED);
	snprintf(buf, sizeof(buf), "%s/state", tmp);	/* a directory */
	assert_int_equal(hostdns_detect(buf), HOSTDNS_FILE);

	/* "lo" exists, so the undo really runs `resolvectl revert lo`. */
	assert_int_equal(journal_open(&j, state, "lo"), 0);
	assert_int_equal(hostdns_apply(&j, "lo", s, 3, HOSTDNS_AUTO, link, &used), 0);
	assert_int_equal(used, HOSTDNS_RESOLVED);
	journal_close(&j);
	assert_int_equal(journal_undo(state, "lo"), 1);
	read_bytes(argv_log, buf, sizeof(buf));
	assert_string_equal(buf,
		"dns lo 10.77.0.1 fd77::1 192.0.2.53\n"
		"domain lo ~.\n"
		"default-route lo true\n"
		"revert lo\n");

	/* resolvectl failing: -EIO; the revert is journaled all the same. */
	snprintf(fail_on, sizeof(fail_on), "%s/fail_on", tmp);
	write_bytes(fail_on, "domain", 6);
	unlink(argv_log);
	assert_int_equal(journal_open(&j, state, "lo"), 0);
	assert_int_equal(hostdns_apply(&j, "lo", s, 1, HOSTDNS_RESOLVED, NULL, &used), -EIO);
	assert_int_equal(j.n, 1);
	journal_close(&j);
	/* A failing revert keeps the journal. */
	write_bytes(fail_on, "revert", 6);
	assert_int_equal(journal_undo(state, "lo"), -EIO);
	unlink(fail_on);
	assert_int_equal(journal_undo(state, "lo"), 1);
	read_bytes(argv_log, buf, sizeof(buf));
	assert_string_equal(buf, "dns lo 10.77.0.1\ndomain lo ~.\nrevert lo\nrevert lo\n");

	/* Asked for RESOLVED without resolvectl: nothing recorded. */
	use_fake_resolvectl(false);
	assert_int_equal(journal_open(&j, state, "lo"), 0);
	assert_int_equal(hostdns_apply(&j, "lo", s, 1, HOSTDNS_RESOLVED, NULL, &used), -ENOENT);
	assert_int_equal(j.n, 0);
	assert_int_equal(hostdns_apply(&j, "lo", s, 0, HOSTDNS_FILE, NULL, &used), -EINVAL);
	assert_int_equal(hostdns_apply(&j, "lo", s, 1, HOSTDNS_FILE, "relative", &used), -EINVAL);
	assert_int_equal(j.n, 0);
	journal_close(&j);
	assert_int_equal(journal_undo(state, "lo"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolv_text),
		cmocka_unit_test(test_file_mode_roundtrip),
		cmocka_unit_test(test_file_mode_over_symlink),
		cmocka_unit_test(test_resolved_mode),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
