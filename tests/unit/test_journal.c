/* test_journal.c - the undo journal: every kind of entry through format and
 * parse and back, malformed lines refused with their reason, saved files
 * put back byte for byte (content, mode, symlinks, absence), undo of
 * entries whose objects are already gone (in a private network namespace),
 * leftovers, locks, permissions and torn lines. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/linux/log.h"
#include "os/linux/netlink.h"
#include "os/linux/sysctl.h"
#include "vpn/journal.h"

static char tmp[64];	/* the test's directory */
static char state[128];	/* the journals' directory inside it */

static int setup(void **st)
{
	(void)st;
	log_init("test", false, LOG_LEVEL_SILENT);
	snprintf(tmp, sizeof(tmp), "/tmp/test_journal.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(state, sizeof(state), "%s/state", tmp);
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------- helpers */

static void pton(int family, const char *s, uint8_t *out)
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family, s, out), 1);
}

static void write_bytes(const char *path, const void *buf, size_t len,
			mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The file's bytes (at most cap) into buf; the length or -1. */
static ssize_t read_bytes(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap);
	close(fd);
	return n;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Format, check against want (if given), parse back, compare bytes. */
static void roundtrip(const struct journal_entry *e, const char *want)
{
	char line[JOURNAL_LINE_MAX + 1], again[JOURNAL_LINE_MAX + 1];
	char err[JOURNAL_ERR_MAX];
	struct journal_entry back;
	int n;

	n = journal_format(e, line, sizeof(line));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(line));
	assert_null(strchr(line, '\n'));
	if (want)
		assert_string_equal(line, want);
	assert_int_equal(journal_parse(line, (size_t)n, &back, err), 0);
	assert_string_equal(err, "");
	assert_memory_equal(&back, e, sizeof(back));
	assert_int_equal(journal_format(&back, again, sizeof(again)), n);
	assert_string_equal(again, line);
}

/* ---------------------------------------------------------- round trips */

static void test_roundtrip_every_kind(void **st)
{
	struct journal_entry e;

	(void)st;
	/* wg-quick's pair of rules, both families. */
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_RULE;
	nl_rule_init(&e.u.rule, AF_INET);
	e.u.rule.has_priority = true;
	e.u.rule.priority = 32765;
	e.u.rule.invert = true;
	e.u.rule.fwmark = 51820;
	e.u.rule.table = 51820;
	roundtrip(&e, "rule fam=4 pref=32765 not=1 fwmark=51820 fwmask=0 table=51820 suppress=-1 action=1");
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_RULE;
	nl_rule_init(&e.u.rule, AF_INET6);
	e.u.rule.has_priority = true;
	e.u.rule.priority = 0;
	e.u.rule.table = RT_TABLE_MAIN;
	e.u.rule.suppress_prefixlen = 0;
	e.u.rule.fwmask = UINT32_MAX;
	e.u.rule.action = 0;
	roundtrip(&e, "rule fam=6 pref=0 not=0 fwmark=0 fwmask=4294967295 table=254 suppress=0 action=0");

	/* Routes: the tunnel's default route, and one with every field. */
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_ROUTE;
	nl_route_init(&e.u.route, AF_INET6);
	e.u.route.oif = 7;
	e.u.route.table = 51820;
	roundtrip(&e, "route fam=6 dst=::/0 type=1 proto=3 scope=255 gw=- src=- oif=7 table=51820 metric=0");
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_ROUTE;
	nl_route_init(&e.u.route, AF_INET);
	pton(AF_INET, "192.0.2.0", e.u.route.dst);
	e.u.route.dst_len = 24;
	e.u.route.has_gateway = true;
	pton(AF_INET, "10.1.2.3", e.u.route.gateway);
	e.u.route.has_src = true;
	pton(AF_INET, "10.1.2.4", e.u.route.src);
	e.u.route.type = RTN_BLACKHOLE;
	e.u.route.scope = RT_SCOPE_UNIVERSE;
	e.u.route.metric = 4294967295u;
	e.u.route.oif = 2147483647;
	roundtrip(&e, "route fam=4 dst=192.0.2.0/24 type=6 proto=3 scope=0 gw=10.1.2.3 src=10.1.2.4 oif=2147483647 table=254 metric=4294967295");
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_ROUTE;
	nl_route_init(&e.u.route, AF_INET6);
	pton(AF_INET6, "2001:db8::", e.u.route.dst);
	e.u.route.dst_len = 32;
	e.u.route.has_gateway = true;
	pton(AF_INET6, "fe80::1", e.u.route.gateway);
	roundtrip(&e, NULL);

	/* A sysctl whose value has tabs (tcp_rmem). */
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_SYSCTL;
	strcpy(e.u.sysctl.name, "net/ipv4/tcp_rmem");
	strcpy(e.u.sysctl.value, "4096\t131072\t6291456");
	roundtrip(&e, "sysctl name=net/ipv4/tcp_rmem value=4096%09131072%096291456");
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_SYSCTL;
	strcpy(e.u.sysctl.name, "net/ipv4/conf/all/src_valid_mark");
	strcpy(e.u.sysctl.value, "-");		/* a literal dash is escaped */
	roundtrip(&e, "sysctl name=net/ipv4/conf/all/src_valid_mark value=%2D");

	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_NFT;
	strcpy(e.u.ifname, "weft0");
	roundtrip(&e, "nft ifname=weft0");
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_RESOLVED;
	memcpy(e.u.ifname, "a-b.c_d12345678", 16);
	roundtrip(&e, "resolved ifname=a-b.c_d12345678");

	/* Files: regular (spaces and % escaped), symlink, absent. */
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_FILE;
	strcpy(e.u.file.path, "/etc/resolv.conf");
	strcpy(e.u.file.backup, "/var/lib/weft 1/weft0.resolv.conf%.orig");
	e.u.file.mode = 0644;
	roundtrip(&e, "file path=/etc/resolv.conf backup=/var/lib/weft%201/weft0.resolv.conf%25.orig was=file mode=0644 target=-");
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_FILE;
	strcpy(e.u.file.path, "/etc/resolv.conf");
	e.u.file.was_symlink = true;
	strcpy(e.u.file.link_target, "../run/systemd/resolve/stub-resolv.conf");
	roundtrip(&e, "file path=/etc/resolv.conf backup=- was=symlink mode=0000 target=../run/systemd/resolve/stub-resolv.conf");
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_FILE;
	strcpy(e.u.file.path, "/etc/resolv.conf");
	e.u.file.absent = true;
	roundtrip(&e, "file path=/etc/resolv.conf backup=- was=absent mode=0000 target=-");
}

static void test_format_refuses(void **st)
{
	struct journal_entry e;
	char line[JOURNAL_LINE_MAX + 1];

	(void)st;
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_RULE;
	nl_rule_init(&e.u.rule, AF_INET);
	e.u.rule.table = 51820;
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);	/* no priority */
	assert_string_equal(line, "");
	e.u.rule.has_priority = true;
	e.u.rule.other_selectors = true;
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);
	e.u.rule.other_selectors = false;
	e.u.rule.family = 7;
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);
	e.u.rule.family = AF_INET;
	assert_true(journal_format(&e, line, sizeof(line)) > 0);
	assert_int_equal(journal_format(&e, line, 20), -ENOSPC);
	assert_string_equal(line, "");

	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_ROUTE;
	nl_route_init(&e.u.route, AF_INET);
	e.u.route.multipath = true;
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);
	e.u.route.multipath = false;
	pton(AF_INET, "10.0.0.1", e.u.route.dst);
	e.u.route.dst_len = 24;		/* host bits set */
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);

	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_SYSCTL;
	memset(e.u.sysctl.name, 'a', sizeof(e.u.sysctl.name));	/* no NUL */
	strcpy(e.u.sysctl.value, "1");
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);
	strcpy(e.u.sysctl.name, "net/../../etc/passwd");
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);
	strcpy(e.u.sysctl.name, "net/ipv4/ip_forward");
	strcpy(e.u.sysctl.value, "1\n");
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);

	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_NFT;
	strcpy(e.u.ifname, "we ft");
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);

	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_FILE;
	strcpy(e.u.file.path, "etc/resolv.conf");
	strcpy(e.u.file.backup, "/x.orig");
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);
	strcpy(e.u.file.path, "/etc/../etc/shadow");
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);
	strcpy(e.u.file.path, "/etc/resolv.conf");
	e.u.file.was_symlink = true;	/* without a target */
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);

	e.kind = (enum journal_kind)42;
	assert_int_equal(journal_format(&e, line, sizeof(line)), -EINVAL);
}

/* ------------------------------------------------------ strict parsing */

struct bad_line {
	const char *line;
	const char *reason;	/* a part of the message */
};

static const struct bad_line bad_lines[] = {
	{ "", "empty line" },
	{ " rule", "leading space" },
	{ "rules fam=4", "unknown kind \"rules\"" },
	{ "RULE fam=4", "unknown kind" },
	{ "rule", "rule: field 1: missing fam=" },
	{ "rule fam=5 pref=1 not=0 fwmark=0 fwmask=0 table=1 suppress=-1 action=1", "fam must be 4 or 6" },
	{ "rule fam=4 pref=032765 not=0 fwmark=0 fwmask=0 table=1 suppress=-1 action=1", "pref=032765: not a decimal" },
	{ "rule fam=4 pref=4294967296 not=0 fwmark=0 fwmask=0 table=1 suppress=-1 action=1", "up to 4294967295" },
	{ "rule fam=4 pref=-1 not=0 fwmark=0 fwmask=0 table=1 suppress=-1 action=1", "not a decimal" },
	{ "rule fam=4 pref=1 not=2 fwmark=0 fwmask=0 table=1 suppress=-1 action=1", "not=2" },
	{ "rule fam=4 pref=1 not=0 fwmark=0 fwmask=0 table=1 suppress=-1", "field 8: missing action=" },
	{ "rule fam=4 pref=1 not=0 fwmark=0 fwmask=0 table=1 suppress=-1 action=1 x=1", "field 9: unexpected" },
	{ "rule fam=4 not=0 pref=1 fwmark=0 fwmask=0 table=1 suppress=-1 action=1", "field 2: expected pref=" },
	{ "rule fam=4  pref=1 not=0 fwmark=0 fwmask=0 table=1 suppress=-1 action=1", "empty field" },
	{ "rule fam=4 pref=1 not=0 fwmark=0 fwmask=0 table=1 suppress=-1 action=1 ", "empty field" },
	{ "rule fam=4 pref=1 not=0 fwmark=0 fwmask=0 table=1 suppress=129 action=1", "suppress must be -1..128" },
	{ "rule fam=4 pref=1 not=0 fwmark=0 fwmask=0 table=1 suppress=-2 action=1", "suppress must be -1..128" },
	{ "rule fam=4 pref=1 not=0 fwmark=0 fwmask=0 table=1 suppress=-1 action=256", "action=256" },
	{ "rule fam=4 pref=1\tnot=0", "not printable" },
	{ "rule fam=4 pref", "field 2: want key=value" },
	{ "route fam=4 dst=10.0.0.1/24 type=1 proto=3 scope=255 gw=- src=- oif=1 table=1 metric=0", "host bits" },
	{ "route fam=4 dst=10.0.0.0/33 type=1 proto=3 scope=255 gw=- src=- oif=1 table=1 metric=0", "ADDRESS/LENGTH" },
	{ "route fam=4 dst=10.0.0.0 type=1 proto=3 scope=255 gw=- src=- oif=1 table=1 metric=0", "ADDRESS/LENGTH" },
	{ "route fam=4 dst=0.0.0.0/0 type=1 proto=3 scope=255 gw=::1 src=- oif=1 table=1 metric=0", "gw: not an IPv4 address" },
	{ "route fam=4 dst=0.0.0.0/0 type=1 proto=3 scope=255 gw=10.0.0.1/32 src=- oif=1 table=1 metric=0", "no /length" },
	{ "route fam=6 dst=0::0/0 type=1 proto=3 scope=255 gw=- src=- oif=1 table=1 metric=0", "canonical" },
	{ "route fam=4 dst=0.0.0.0/0 type=1 proto=3 scope=255 gw=- src=- oif=2147483648 table=1 metric=0", "oif=" },
	{ "sysctl name=net/../../etc/shadow value=1", "not a sysctl name" },
	{ "sysctl name=net/ipv4/ip_forward value=%01", "unprintable" },
	{ "sysctl name=net/ipv4/ip_forward value=-", "value is empty" },
	{ "sysctl name=net/ipv4/ip_forward value=%4", "bad %-escape" },
	{ "sysctl name=net/ipv4/ip_forward value=%4a", "bad %-escape" },
	{ "sysctl name=net/ipv4/ip_forward value=%41", "canonical" },
	{ "sysctl name=net/ipv4/ip_forward value=%00", "NUL" },
	{ "sysctl name=net/ipv4/ip_forward", "missing value=" },
	{ "nft ifname=a/b", "ifname is not" },
	{ "nft ifname=0123456789abcdef", "longer than 15" },
	{ "resolved ifname=-", "ifname is not" },
	{ "nft name=weft0", "expected ifname=" },
	{ "file path=etc/resolv.conf backup=/x.orig was=file mode=0644 target=-", "path must be absolute" },
	{ "file path=/etc/./resolv.conf backup=/x.orig was=file mode=0644 target=-", "path must be absolute" },
	{ "file path=/etc/resolv.conf backup=/x.orig was=link mode=0644 target=-", "was must be" },
	{ "file path=/etc/resolv.conf backup=/x.orig was=file mode=644 target=-", "four octal digits" },
	{ "file path=/etc/resolv.conf backup=/x.orig was=file mode=0648 target=-", "four octal digits" },
	{ "file path=/etc/resolv.conf backup=/x.orig was=file mode=0644 target=/y", "target belongs to symlinks" },
	{ "file path=/etc/resolv.conf backup=- was=symlink mode=0000 target=-", "symlink target empty" },
	{ "file path=/etc/resolv.conf backup=/x.orig was=absent mode=0000 target=-", "regular files only" },
	{ "file path=/etc/resolv.conf backup=- was=file mode=0644 target=-", "backup must be absolute" },
};

static void test_parse_refuses(void **st)
{
	char err[JOURNAL_ERR_MAX], *big;
	struct journal_entry e, zero;

	(void)st;
	memset(&zero, 0, sizeof(zero));
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		const char *l = bad_lines[i].line;

		memset(&e, 0xa5, sizeof(e));
		if (journal_parse(l, strlen(l), &e, err) != -EINVAL)
			fail_msg("accepted: \"%s\"", l);
		if (!strstr(err, bad_lines[i].reason))
			fail_msg("\"%s\": reason \"%s\", want \"%s\"", l, err,
				 bad_lines[i].reason);
		assert_null(strchr(err, '\n'));
		assert_true(strlen(err) < JOURNAL_ERR_MAX);
		assert_memory_equal(&e, &zero, sizeof(e));
	}
	/* A NUL inside the given length; a newline; an overlong line. */
	assert_int_equal(journal_parse("nft ifname=we\0ft0", 17, &e, err), -EINVAL);
	assert_non_null(strstr(err, "not printable"));
	assert_int_equal(journal_parse("nft ifname=weft0\n", 17, &e, err), -EINVAL);
	big = malloc(JOURNAL_LINE_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', JOURNAL_LINE_MAX + 1);
	memcpy(big, "nft ifname=", 11);
	assert_int_equal(journal_parse(big, JOURNAL_LINE_MAX + 1, &e, err), -EINVAL);
	assert_non_null(strstr(err, "longer than 4096"));
	free(big);
	/* Only len bytes are read: the same text with more after it. */
	assert_int_equal(journal_parse("nft ifname=weft0 junk", 16, &e, err), 0);
	assert_string_equal(e.u.ifname, "weft0");
}

/* ------------------------------------------------------------- files */

static void test_file_regular_roundtrip(void **st)
{
	/* Bytes a rewrite could easily lose: CRLF, trailing blanks, no
	 * final newline, a high byte. */
	static const char orig[] = "# generated\r\nnameserver 192.0.2.53 \nsearch example.test\n\n\t\xe9options ndots:2";
	char path[256], buf[512], jpath[256], copy[256];
	struct journal j;
	struct stat before, after;
	ssize_t n;

	(void)st;
	path_in(path, sizeof(path), tmp, "resolv.conf");
	write_bytes(path, orig, sizeof(orig) - 1, 0640);
	assert_int_equal(stat(path, &before), 0);

	assert_int_equal(journal_open(&j, state, "wfreg0"), 0);
	assert_int_equal(journal_record_file(&j, path), 0);
	snprintf(copy, sizeof(copy), "%s/wfreg0.resolv.conf.orig", j.dir);
	assert_true(exists(copy));
	write_bytes(path, "nameserver 10.0.0.1\n", 20, 0640);
	/* Recorded again (a reconnect): the copy stays the original. */
	assert_int_equal(journal_record_file(&j, path), 0);
	assert_int_equal(j.n, 1);
	n = read_bytes(copy, buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)sizeof(orig) - 1);
	assert_memory_equal(buf, orig, sizeof(orig) - 1);
	snprintf(jpath, sizeof(jpath), "%s", j.path);
	journal_close(&j);

	assert_int_equal(journal_undo(state, "wfreg0"), 1);
	n = read_bytes(path, buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)sizeof(orig) - 1);
	assert_memory_equal(buf, orig, sizeof(orig) - 1);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);	/* in place */
	assert_int_equal(after.st_mode, before.st_mode);
	assert_false(exists(jpath));
	assert_false(exists(copy));
	assert_int_equal(journal_undo(state, "wfreg0"), 0);	/* nothing left */

	/* The file was deleted meanwhile: it comes back, with its mode. */
	assert_int_equal(journal_open(&j, state, "wfreg0"), 0);
	assert_int_equal(journal_record_file(&j, path), 0);
	journal_close(&j);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(journal_undo(state, "wfreg0"), 1);
	n = read_bytes(path, buf, sizeof(buf));
	assert_int_equal(n, (ssize_t)sizeof(orig) - 1);
	assert_memory_equal(buf, orig, sizeof(orig) - 1);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_mode & 07777, 0640);
}

static void test_file_symlink_and_absent(void **st)
{
	char link[256], missing[256], target[256], buf[256];
	struct journal j;
	ssize_t n;

	(void)st;
	path_in(link, sizeof(link), tmp, "link.conf");
	path_in(missing, sizeof(missing), tmp, "missing.conf");
	assert_int_equal(symlink("../run/systemd/resolve/stub-resolv.conf", link), 0);
	assert_int_equal(journal_open(&j, state, "wflnk0"), 0);
	assert_int_equal(journal_record_file(&j, link), 0);
	assert_int_equal(journal_record_file(&j, missing), 0);
	assert_int_equal(j.n, 2);
	journal_close(&j);
	/* What a FILE-mode rewrite does: the link becomes a file. */
	assert_int_equal(unlink(link), 0);
	write_bytes(link, "nameserver 10.0.0.1\n", 20, 0644);
	write_bytes(missing, "x", 1, 0644);

	assert_int_equal(journal_undo(state, "wflnk0"), 2);
	n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "../run/systemd/resolve/stub-resolv.conf");
	assert_false(exists(missing));

	/* Undone again by hand: the link already right, nothing to do. */
	assert_int_equal(journal_open(&j, state, "wflnk0"), 0);
	assert_int_equal(journal_record_file(&j, link), 0);
	journal_close(&j);
	assert_int_equal(journal_undo(state, "wflnk0"), 1);
	n = read_bytes(link, buf, sizeof(buf));
	assert_int_equal(n, -1);	/* dangling, as it was */
	unlink(link);
}

static void test_file_refusals(void **st)
{
	char path[256], fifo[256];
	struct journal j;

	(void)st;
	assert_int_equal(journal_open(&j, state, "wfref0"), 0);
	assert_int_equal(journal_record_file(&j, "relative/path"), -EINVAL);
	path_in(fifo, sizeof(fifo), tmp, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(journal_record_file(&j, fifo), -EINVAL);
	/* Two paths with one basename would share the copy's name. */
	path_in(path, sizeof(path), tmp, "a.conf");
	write_bytes(path, "a", 1, 0644);
	assert_int_equal(journal_record_file(&j, path), 0);
	snprintf(path, sizeof(path), "%s/sub", tmp);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/sub/a.conf", tmp);
	write_bytes(path, "b", 1, 0644);
	assert_int_equal(journal_record_file(&j, path), -EEXIST);
	assert_int_equal(j.n, 1);
	journal_close(&j);
	assert_int_equal(journal_undo(state, "wfref0"), 1);
	unlink(fifo);
}

/* --------------------------------------------------- leftovers and locks */

/* An entry whose undo has no side effect here: DNS of a missing link. */
static void record_harmless(struct journal *j)
{
	struct journal_entry e;

	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_RESOLVED;
	strcpy(e.u.ifname, "wfnosuch0");
	assert_int_equal(journal_record(j, &e), 0);
}

static void test_open_leftover_and_lock(void **st)
{
	struct journal j, k;
	char names[4][JOURNAL_IFNAMSIZ];
	pid_t pid;
	int status;

	(void)st;
	/* Opened and closed without entries: not a leftover. */
	assert_int_equal(journal_open(&j, state, "wflock0"), 0);
	journal_close(&j);
	assert_int_equal(journal_open(&j, state, "wflock0"), 0);
	record_harmless(&j);
	/* Held: another open fails, in this process and in a child. */
	assert_int_equal(journal_open(&k, state, "wflock0"), -EBUSY);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r1 = journal_undo(state, "wflock0");
		int r2 = journal_open(&k, state, "wflock0");

		_exit(r1 == -EBUSY && r2 == -EBUSY ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	journal_close(&j);

	/* A leftover with entries: -EEXIST until undone. */
	assert_int_equal(journal_open(&j, state, "wflock0"), -EEXIST);
	assert_int_equal(j.fd, -1);
	assert_int_equal(journal_list(state, names, 4), 1);
	assert_string_equal(names[0], "wflock0");
	assert_int_equal(journal_undo(state, "wflock0"), 1);
	assert_int_equal(journal_list(state, names, 4), 0);
	assert_int_equal(journal_open(&j, state, "wflock0"), 0);

	/* Undo from the process that holds it is allowed. */
	record_harmless(&j);
	record_harmless(&j);
	assert_int_equal(journal_undo(state, "wflock0"), 2);
	journal_close(&j);
	assert_int_equal(journal_undo(state, "wflock0"), 0);

	assert_int_equal(journal_open(&j, state, "bad/name"), -EINVAL);
	assert_int_equal(journal_open(&j, state, ""), -EINVAL);
	assert_int_equal(journal_undo(state, "bad name"), -EINVAL);
}

static void test_list(void **st)
{
	char names[2][JOURNAL_IFNAMSIZ], dir[256], path[300];
	struct journal j;

	(void)st;
	snprintf(dir, sizeof(dir), "%s/list", tmp);
	assert_int_equal(journal_list(dir, names, 2), 0);	/* no dir */
	assert_int_equal(journal_open(&j, dir, "wfb"), 0);
	journal_close(&j);
	assert_int_equal(journal_open(&j, dir, "wfa"), 0);
	journal_close(&j);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	write_bytes(path, "x", 1, 0600);
	snprintf(path, sizeof(path), "%s/.undo", dir);
	write_bytes(path, "x", 1, 0600);
	assert_int_equal(journal_list(dir, names, 2), 2);
	assert_string_equal(names[0], "wfa");
	assert_string_equal(names[1], "wfb");
	assert_int_equal(journal_list(dir, names, 1), 1);
}

static void test_permissions(void **st)
{
	char dir[256], path[300];
	struct journal j;

	(void)st;
	snprintf(dir, sizeof(dir), "%s/open", tmp);
	assert_int_equal(mkdir(dir, 0777), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(journal_open(&j, dir, "wfperm0"), -EPERM);
	assert_int_equal(journal_undo(dir, "wfperm0"), -EPERM);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(journal_open(&j, dir, "wfperm0"), 0);
	record_harmless(&j);
	journal_close(&j);
	/* A journal others may write is not followed. */
	snprintf(path, sizeof(path), "%s/wfperm0.undo", dir);
	assert_int_equal(chmod(path, 0622), 0);
	assert_int_equal(journal_undo(dir, "wfperm0"), -EPERM);
	assert_int_equal(journal_open(&j, dir, "wfperm0"), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(journal_undo(dir, "wfperm0"), 1);
	/* A symlink in its place is not followed either. */
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(journal_open(&j, dir, "wfperm0"), -ELOOP);
	assert_int_equal(journal_undo(dir, "wfperm0"), -ELOOP);
	unlink(path);
}

static void append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_torn_and_corrupt(void **st)
{
	char path[256], conf[256], copy[300], buf[64];
	struct journal j;

	(void)st;
	/* A torn last line is skipped: its change was never made. */
	assert_int_equal(journal_open(&j, state, "wftorn0"), 0);
	record_harmless(&j);
	snprintf(path, sizeof(path), "%s", j.path);
	journal_close(&j);
	append(path, "rule fam=4 pref=327");
	assert_int_equal(journal_undo(state, "wftorn0"), 1);
	assert_false(exists(path));
	/* So are zeros a power cut left where the last line was going. */
	assert_int_equal(journal_open(&j, state, "wftorn0"), 0);
	record_harmless(&j);
	journal_close(&j);
	{
		int fd = open(path, O_WRONLY | O_APPEND);

		assert_int_equal(write(fd, "\0\0\0\0", 4), 4);
		close(fd);
	}
	assert_int_equal(journal_undo(state, "wftorn0"), 1);

	/* A corrupt complete line: the rest is undone, the file kept. */
	path_in(conf, sizeof(conf), tmp, "torn.conf");
	write_bytes(conf, "orig\n", 5, 0644);
	assert_int_equal(journal_open(&j, state, "wftorn0"), 0);
	assert_int_equal(journal_record_file(&j, conf), 0);
	journal_close(&j);
	write_bytes(conf, "changed\n", 8, 0644);
	append(path, "rule fam=9\n");
	assert_int_equal(journal_undo(state, "wftorn0"), -EIO);
	assert_true(exists(path));
	assert_int_equal(read_bytes(conf, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "orig\n", 5);
	snprintf(copy, sizeof(copy), "%s/wftorn0.torn.conf.orig", j.dir);
	assert_true(exists(copy));
	assert_int_equal(journal_open(&j, state, "wftorn0"), -EEXIST);

	/* A missing copy cannot be undone: -EIO again, the journal stays. */
	{
		/* Drop the corrupt line so only the missing copy fails. */
		char *text = NULL;
		size_t len = 0;
		FILE *f = fopen(path, "r");
		char *cut;

		assert_non_null(f);
		assert_true(getdelim(&text, &len, '\0', f) > 0);
		fclose(f);
		cut = strstr(text, "rule fam=9\n");
		assert_non_null(cut);
		*cut = '\0';
		write_bytes(path, text, strlen(text), 0600);
		free(text);
	}
	assert_int_equal(unlink(copy), 0);
	assert_int_equal(journal_undo(state, "wftorn0"), -EIO);
	assert_true(exists(path));
	/* A journal pointing at a copy outside its directory is refused. */
	write_bytes(path, "", 0, 0600);
	{
		char line[600];

		snprintf(line, sizeof(line),
			 "file path=%s backup=/etc/hostname was=file mode=0644 target=-\n",
			 conf);
		append(path, line);
	}
	assert_int_equal(journal_undo(state, "wftorn0"), -EIO);
	assert_int_equal(read_bytes(conf, buf, sizeof(buf)), 5);
	assert_int_equal(unlink(path), 0);
}

static void test_stale_copies(void **st)
{
	char p1[300], p2[300], p3[300];
	struct journal j, k;

	(void)st;
	/* Copies a crash left before their entries were recorded go with
	 * the journal; those of wfst0.x (which has a journal) stay. */
	assert_int_equal(journal_open(&j, state, "wfst0"), 0);
	assert_int_equal(journal_open(&k, state, "wfst0.x"), 0);
	snprintf(p1, sizeof(p1), "%s/wfst0.hosts.orig", j.dir);
	snprintf(p2, sizeof(p2), "%s/wfst0.hosts.orig.tmp", j.dir);
	snprintf(p3, sizeof(p3), "%s/wfst0.x.resolv.conf.orig", j.dir);
	write_bytes(p1, "1", 1, 0600);
	write_bytes(p2, "2", 1, 0600);
	write_bytes(p3, "3", 1, 0600);
	record_harmless(&j);
	journal_close(&j);
	assert_int_equal(journal_undo(state, "wfst0"), 1);
	assert_false(exists(p1));
	assert_false(exists(p2));
	assert_true(exists(p3));
	journal_close(&k);
	assert_int_equal(journal_undo(state, "wfst0.x"), 0);
	assert_false(exists(p3));
}

/* ----------------------------------------- undo in a private namespace */

/* Run fn in a child inside a new network namespace: 77 there means skip. */
static void in_netns(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(77);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	if (WEXITSTATUS(status) != 0)
		fail_msg("the check at line %d failed in the namespace",
			 WEXITSTATUS(status));
}

#define CHECK(c) do { if (!(c)) return __LINE__ % 256 ? __LINE__ % 256 : 1; } while (0)

/* Entries whose objects are gone, or were never made: all undo cleanly. */
static int undo_gone(void)
{
	struct journal_entry e;
	struct journal j;
	char v[SYSCTL_VALUE_MAX];

	CHECK(journal_open(&j, state, "wfgone0") == 0);
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_RULE;
	nl_rule_init(&e.u.rule, AF_INET);
	e.u.rule.has_priority = true;
	e.u.rule.priority = 31999;
	e.u.rule.invert = true;
	e.u.rule.fwmark = 61234;
	e.u.rule.table = 61234;
	CHECK(journal_record(&j, &e) == 0);
	e.u.rule.family = AF_INET6;
	CHECK(journal_record(&j, &e) == 0);
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_ROUTE;
	nl_route_init(&e.u.route, AF_INET);
	e.u.route.oif = 4242;		/* no such interface */
	e.u.route.table = 61234;
	CHECK(journal_record(&j, &e) == 0);
	e.u.route.oif = 1;		/* lo, but no such route */
	CHECK(journal_record(&j, &e) == 0);
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_SYSCTL;
	strcpy(e.u.sysctl.name, "net/ipv4/conf/wfgone0/forwarding");
	strcpy(e.u.sysctl.value, "1");
	CHECK(journal_record(&j, &e) == 0);
	/* This one exists: written back to the recorded value. */
	strcpy(e.u.sysctl.name, "net/ipv4/conf/all/src_valid_mark");
	strcpy(e.u.sysctl.value, "0");
	CHECK(journal_record(&j, &e) == 0);
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_NFT;
	strcpy(e.u.ifname, "wfgone0");
	CHECK(journal_record(&j, &e) == 0);
	e.kind = JOURNAL_RESOLVED;
	CHECK(journal_record(&j, &e) == 0);
	journal_close(&j);
	CHECK(sysctl_write("net/ipv4/conf/all/src_valid_mark", "1") == 0);

	CHECK(journal_undo(state, "wfgone0") == 8);
	CHECK(sysctl_read("net/ipv4/conf/all/src_valid_mark", v, sizeof(v)) == 1);
	CHECK(strcmp(v, "0") == 0);
	CHECK(journal_undo(state, "wfgone0") == 0);
	return 0;
}

static void test_undo_gone(void **st)
{
	(void)st;
	in_netns(undo_gone);
}

static int rule_count(struct nl *nl, int family);

static int count_rule(const struct nl_rule *r, void *arg)
{
	(void)r;
	++*(int *)arg;
	return 0;
}

static int rule_count(struct nl *nl, int family)
{
	int n = 0;

	return nl_rule_list(nl, family, count_rule, &n) == 0 ? n : -1;
}

/* Made for real, then undone: the rule and route are gone again, also
 * when one was removed by somebody else before the undo. */
static int undo_made(void)
{
	static struct nl nl;
	struct journal_entry e;
	struct nl_route probe;
	struct journal j;
	uint8_t dst[16] = { 198, 51, 100, 7 };
	int rules0;

	CHECK(nl_open(&nl) == 0);
	CHECK(nl_link_set_up(&nl, 1, true) == 0);
	rules0 = rule_count(&nl, AF_INET);
	CHECK(rules0 > 0);
	CHECK(journal_open(&j, state, "wfmade0") == 0);
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_ROUTE;
	nl_route_init(&e.u.route, AF_INET);
	e.u.route.oif = 1;
	e.u.route.table = 61234;
	CHECK(journal_record(&j, &e) == 0);
	CHECK(nl_route_add(&nl, &e.u.route) == 0);
	memset(&e, 0, sizeof(e));
	e.kind = JOURNAL_RULE;
	nl_rule_init(&e.u.rule, AF_INET);
	e.u.rule.has_priority = true;
	e.u.rule.priority = 31000;
	e.u.rule.table = 61234;
	CHECK(journal_record(&j, &e) == 0);
	CHECK(nl_rule_add(&nl, &e.u.rule) == 0);
	e.u.rule.priority = 31001;
	CHECK(journal_record(&j, &e) == 0);
	CHECK(nl_rule_add(&nl, &e.u.rule) == 0);
	CHECK(nl_rule_del(&nl, &e.u.rule) == 0);	/* gone before the undo */
	CHECK(nl_route_get(&nl, AF_INET, dst, 0, &probe) == 0);
	CHECK(probe.table == 61234);
	journal_close(&j);

	CHECK(journal_undo(state, "wfmade0") == 3);
	CHECK(rule_count(&nl, AF_INET) == rules0);
	CHECK(nl_route_get(&nl, AF_INET, dst, 0, &probe) == -ENETUNREACH);
	nl_close(&nl);
	return 0;
}

static void test_undo_made(void **st)
{
	(void)st;
	in_netns(undo_made);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_kind),
		cmocka_unit_test(test_format_refuses),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_file_regular_roundtrip),
		cmocka_unit_test(test_file_symlink_and_absent),
		cmocka_unit_test(test_file_refusals),
		cmocka_unit_test(test_open_leftover_and_lock),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_torn_and_corrupt),
		cmocka_unit_test(test_stale_copies),
		cmocka_unit_test(test_undo_gone),
		cmocka_unit_test(test_undo_made),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
