/* journal_line.c - one undo-journal entry <-> one text line (the format is
 * described in journal.h). Pure: no allocation, no syscalls, so that the
 * parser can be fuzzed alone.
 *
 * Canonical form: the parser reads the fields strictly, then formats what
 * it read and accepts the line only if that gives the same bytes. So no
 * two lines mean the same entry, and whatever is accepted round-trips. */
#include "vpn/journal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "os/linux/fw_rules.h"

enum {
	MAX_FIELDS = 12,	/* the kind and at most 11 key=value fields */
	SUPPRESS_MAX = 128,
};

static const char *const kind_names[] = {
	[JOURNAL_RULE] = "rule",
	[JOURNAL_ROUTE] = "route",
	[JOURNAL_SYSCTL] = "sysctl",
	[JOURNAL_NFT] = "nft",
	[JOURNAL_FILE] = "file",
	[JOURNAL_RESOLVED] = "resolved",
};

/* ------------------------------------------------------------- formatting */

struct out {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->overflow || n >= o->cap - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void putf(struct out *o, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		o->overflow = true;
		return;
	}
	put(o, buf, (size_t)n);
}

static bool needs_escape(unsigned char c)
{
	return c <= ' ' || c >= 0x7f || c == '%';
}

/* A string value: "-" when empty, a literal "-" escaped. */
static void put_str(struct out *o, const char *key, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	put(o, " ", 1);
	put(o, key, strlen(key));
	put(o, "=", 1);
	if (!*s) {
		put(o, "-", 1);
		return;
	}
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (needs_escape(c) || (i == 0 && c == '-' && !s[1]))
			put(o, esc, 3);
		else
			put(o, s + i, 1);
	}
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void put_addr(struct out *o, const char *key, int family,
		     const uint8_t *a, bool has, int plen)
{
	char buf[INET6_ADDRSTRLEN];

	if (!has) {
		putf(o, " %s=-", key);
		return;
	}
	if (!inet_ntop(family, a, buf, sizeof(buf))) {
		o->overflow = true;
		return;
	}
	if (plen >= 0)
		putf(o, " %s=%s/%d", key, buf, plen);
	else
		putf(o, " %s=%s", key, buf);
}

/* Character classes of the decoded strings. */
static bool printable(unsigned char c)
{
	return c >= ' ' && c < 0x7f;
}

static bool sysctl_name_ok(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap), start = 0;

	if (len == 0 || len >= cap)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];
		size_t clen = i - start;

		if (i < len && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				 (c >= '0' && c <= '9') || c == '_' || c == '.' ||
				 c == '-' || c == '/'))
			return false;
		if (i < len && c != '/')
			continue;
		if (clen == 0 || (clen == 1 && s[start] == '.') ||
		    (clen == 2 && s[start] == '.' && s[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

/* What sysctl_write accepts: printable and tabs, no surrounding blanks. */
static bool sysctl_value_ok(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);

	if (len == 0 || len >= cap || s[0] == ' ' || s[0] == '\t' ||
	    s[len - 1] == ' ' || s[len - 1] == '\t')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!printable((unsigned char)s[i]) && s[i] != '\t')
			return false;
	return true;
}

static bool ifname_ok(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap && fw_ifname_valid(s);
}

/* Printable, shorter than cap; empty only if allowed. */
static bool text_ok(const char *s, size_t cap, bool may_be_empty)
{
	size_t len = strnlen(s, cap);

	if (len >= cap || (len == 0 && !may_be_empty))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!printable((unsigned char)s[i]))
			return false;
	return true;
}

/* Absolute, no empty, "." or ".." component, no trailing '/'. */
static bool abs_path_ok(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap), start = 1;

	if (!text_ok(s, cap, false) || s[0] != '/' || len < 2)
		return false;
	for (size_t i = 1; i <= len; i++) {
		size_t clen = i - start;

		if (i < len && s[i] != '/')
			continue;
		if (clen == 0 || (clen == 1 && s[start] == '.') ||
		    (clen == 2 && s[start] == '.' && s[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

static bool family_ok(uint8_t f)
{
	return f == AF_INET || f == AF_INET6;
}

static bool host_bits_zero(const uint8_t *a, int family, unsigned plen)
{
	unsigned bits = (unsigned)addr_len(family) * 8;

	for (unsigned i = plen; i < bits; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* The entry's invariants, shared by format and parse. NULL when valid,
 * else what is wrong. */
static const char *entry_invalid(const struct journal_entry *e)
{
	const struct nl_rule *r = &e->u.rule;
	const struct nl_route *rt = &e->u.route;

	switch (e->kind) {
	case JOURNAL_RULE:
		if (!family_ok(r->family))
			return "fam must be 4 or 6";
		if (!r->has_priority)
			return "a rule needs a priority (undo must be exact)";
		if (r->other_selectors)
			return "the rule has selectors the journal cannot say";
		if (r->suppress_prefixlen < -1 || r->suppress_prefixlen > SUPPRESS_MAX)
			return "suppress must be -1..128";
		return NULL;
	case JOURNAL_ROUTE:
		if (!family_ok(rt->family))
			return "fam must be 4 or 6";
		if (rt->multipath)
			return "a multipath route cannot be journaled";
		if (rt->dst_len > addr_len(rt->family) * 8)
			return "dst prefix length too long";
		if (!host_bits_zero(rt->dst, rt->family, rt->dst_len))
			return "dst has host bits set";
		if (rt->oif < 0)
			return "oif must not be negative";
		return NULL;
	case JOURNAL_SYSCTL:
		if (!sysctl_name_ok(e->u.sysctl.name, sizeof(e->u.sysctl.name)))
			return "name is not a sysctl name";
		if (!sysctl_value_ok(e->u.sysctl.value, sizeof(e->u.sysctl.value)))
			return "value is empty, too long or unprintable";
		return NULL;
	case JOURNAL_NFT:
	case JOURNAL_RESOLVED:
		if (!ifname_ok(e->u.ifname, sizeof(e->u.ifname)))
			return "ifname is not 1..15 of [A-Za-z0-9_.-]";
		return NULL;
	case JOURNAL_FILE:
		if (!abs_path_ok(e->u.file.path, sizeof(e->u.file.path)))
			return "path must be absolute, printable, without . or ..";
		if (e->u.file.was_symlink && e->u.file.absent)
			return "a file cannot be both a symlink and absent";
		if (e->u.file.was_symlink || e->u.file.absent) {
			if (e->u.file.backup[0] || e->u.file.mode)
				return "backup and mode belong to regular files only";
		} else {
			if (!abs_path_ok(e->u.file.backup, sizeof(e->u.file.backup)))
				return "backup must be absolute, printable, without . or ..";
			if (e->u.file.mode > 07777)
				return "mode must be at most 07777";
		}
		if (e->u.file.was_symlink) {
			if (!text_ok(e->u.file.link_target,
				     sizeof(e->u.file.link_target), false))
				return "symlink target empty, too long or unprintable";
		} else if (e->u.file.link_target[0]) {
			return "target belongs to symlinks only";
		}
		return NULL;
	}
	return "unknown kind";
}

static void format_rule(struct out *o, const struct nl_rule *r)
{
	putf(o, " fam=%d pref=%u not=%d fwmark=%u fwmask=%u table=%u",
	     r->family == AF_INET ? 4 : 6, r->priority, r->invert ? 1 : 0,
	     r->fwmark, r->fwmask, r->table);
	putf(o, " suppress=%d action=%u", r->suppress_prefixlen, r->action);
}

static void format_route(struct out *o, const struct nl_route *r)
{
	putf(o, " fam=%d", r->family == AF_INET ? 4 : 6);
	put_addr(o, "dst", r->family, r->dst, true, r->dst_len);
	putf(o, " type=%u proto=%u scope=%u", r->type, r->protocol, r->scope);
	put_addr(o, "gw", r->family, r->gateway, r->has_gateway, -1);
	put_addr(o, "src", r->family, r->src, r->has_src, -1);
	putf(o, " oif=%d table=%u metric=%u", r->oif, r->table, r->metric);
}

static void format_file(struct out *o, const struct journal_entry *e)
{
	const char *was = e->u.file.was_symlink ? "symlink" :
			  e->u.file.absent ? "absent" : "file";

	put_str(o, "path", e->u.file.path);
	put_str(o, "backup", e->u.file.backup);
	putf(o, " was=%s mode=%04o", was, (unsigned)e->u.file.mode);
	put_str(o, "target", e->u.file.link_target);
}

int journal_format(const struct journal_entry *e, char *line, size_t cap)
{
	struct out o = { line, 0, cap, false };

	if (!e || !line || cap == 0)
		return -EINVAL;
	line[0] = '\0';
	if (entry_invalid(e))
		return -EINVAL;
	put(&o, kind_names[e->kind], strlen(kind_names[e->kind]));
	switch (e->kind) {
	case JOURNAL_RULE:
		format_rule(&o, &e->u.rule);
		break;
	case JOURNAL_ROUTE:
		format_route(&o, &e->u.route);
		break;
	case JOURNAL_SYSCTL:
		put_str(&o, "name", e->u.sysctl.name);
		put_str(&o, "value", e->u.sysctl.value);
		break;
	case JOURNAL_NFT:
	case JOURNAL_RESOLVED:
		put_str(&o, "ifname", e->u.ifname);
		break;
	case JOURNAL_FILE:
		format_file(&o, e);
		break;
	}
	if (o.overflow || o.len > JOURNAL_LINE_MAX) {
		line[0] = '\0';
		return -ENOSPC;
	}
	return (int)o.len;
}

/* ---------------------------------------------------------------- parsing */

struct fields {
	const char *kind;
	size_t n;
	struct {
		const char *p;	/* the value, after "key=" */
		size_t len;
		const char *key;
		size_t key_len;
	} f[MAX_FIELDS];
};

struct parser {
	const struct fields *fs;
	size_t next;		/* the field to read next */
	char *err;
	bool failed;
};

__attribute__((format(printf, 2, 3)))
static void fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;
	ps->failed = true;
	n = snprintf(ps->err, JOURNAL_ERR_MAX, "%s: ", ps->fs->kind);
	if (n < 0 || n >= JOURNAL_ERR_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, JOURNAL_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
}

/* The value of the next field, which must be key=...; NULL on error. */
static const char *field(struct parser *ps, const char *key, size_t *len)
{
	size_t i = ps->next, klen = strlen(key);

	if (ps->failed)
		return NULL;
	if (i >= ps->fs->n) {
		fail(ps, "field %zu: missing %s=", i + 1, key);
		return NULL;
	}
	if (ps->fs->f[i].key_len != klen || memcmp(ps->fs->f[i].key, key, klen)) {
		fail(ps, "field %zu: expected %s=", i + 1, key);
		return NULL;
	}
	ps->next++;
	*len = ps->fs->f[i].len;
	return ps->fs->f[i].p;
}

/* Decimal, no sign, no leading zeros, at most max. */
static bool dec(const char *p, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10 || (len > 1 && p[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static uint64_t num(struct parser *ps, const char *key, uint64_t max)
{
	size_t len;
	const char *p = field(ps, key, &len);
	uint64_t v = 0;

	if (p && !dec(p, len, max, &v))
		fail(ps, "%s=%.*s: not a decimal number up to %llu", key,
		     (int)(len > 24 ? 24 : len), p, (unsigned long long)max);
	return v;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A %XX-escaped string into out[cap]; "-" is empty. */
static void str(struct parser *ps, const char *key, char *out, size_t cap)
{
	size_t len, n = 0;
	const char *p = field(ps, key, &len);

	if (!p)
		return;
	if (len == 1 && p[0] == '-')
		return;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)p[i];

		if (c == '%') {
			int hi = i + 2 < len ? hexval(p[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(p[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				fail(ps, "%s: bad %%-escape (want %%XX, upper-case hex)", key);
				return;
			}
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0) {
			fail(ps, "%s: contains a NUL byte", key);
			return;
		}
		if (n + 1 >= cap) {
			fail(ps, "%s: longer than %zu bytes", key, cap - 1);
			return;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
}

static uint8_t fam(struct parser *ps)
{
	size_t len;
	const char *p = field(ps, "fam", &len);

	if (!p)
		return 0;
	if (len == 1 && p[0] == '4')
		return AF_INET;
	if (len == 1 && p[0] == '6')
		return AF_INET6;
	fail(ps, "fam must be 4 or 6");
	return 0;
}

/* An address ("-" when absent and allowed), with "/len" when plen. */
static bool addr(struct parser *ps, const char *key, int family, uint8_t *a,
		 uint8_t *plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t len;
	const char *p = field(ps, key, &len), *slash;
	uint64_t l;

	if (!p)
		return false;
	if (!plen && len == 1 && p[0] == '-')
		return false;
	if (len >= sizeof(buf)) {
		fail(ps, "%s: too long for an address", key);
		return false;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (plen) {
		if (!slash || !dec(slash + 1, strlen(slash + 1),
				   addr_len(family) * 8, &l)) {
			fail(ps, "%s: want ADDRESS/LENGTH of the family", key);
			return false;
		}
		*plen = (uint8_t)l;
		buf[slash - buf] = '\0';
	} else if (slash) {
		fail(ps, "%s: an address has no /length", key);
		return false;
	}
	if (inet_pton(family, buf, a) != 1) {
		fail(ps, "%s: not an IPv%d address", key,
		     family == AF_INET ? 4 : 6);
		return false;
	}
	return true;
}

/* Split "kind k=v k=v" at single spaces. */
static bool split(const char *line, size_t len, struct fields *fs, char *err)
{
	size_t start, i;

	fs->n = 0;
	for (i = 0; i < len && line[i] != ' '; i++)
		;
	if (i == 0) {
		snprintf(err, JOURNAL_ERR_MAX, "empty line or leading space");
		return false;
	}
	start = i;
	while (start < len) {
		size_t s = start + 1, e = s, eq;

		while (e < len && line[e] != ' ')
			e++;
		if (e == s) {
			snprintf(err, JOURNAL_ERR_MAX,
				 "%s: empty field (two spaces, or one at the end)",
				 fs->kind);
			return false;
		}
		if (fs->n == MAX_FIELDS) {
			snprintf(err, JOURNAL_ERR_MAX, "%s: too many fields",
				 fs->kind);
			return false;
		}
		for (eq = s; eq < e && line[eq] != '='; eq++)
			;
		if (eq == e || eq == s) {
			snprintf(err, JOURNAL_ERR_MAX,
				 "%s: field %zu: want key=value", fs->kind,
				 fs->n + 1);
			return false;
		}
		fs->f[fs->n].key = line + s;
		fs->f[fs->n].key_len = eq - s;
		fs->f[fs->n].p = line + eq + 1;
		fs->f[fs->n].len = e - eq - 1;
		fs->n++;
		start = e;
	}
	return true;
}

static void parse_rule(struct parser *ps, struct nl_rule *r)
{
	r->family = fam(ps);
	r->has_priority = true;
	r->priority = (uint32_t)num(ps, "pref", UINT32_MAX);
	r->invert = num(ps, "not", 1);
	r->fwmark = (uint32_t)num(ps, "fwmark", UINT32_MAX);
	r->fwmask = (uint32_t)num(ps, "fwmask", UINT32_MAX);
	r->table = (uint32_t)num(ps, "table", UINT32_MAX);
	{
		size_t len;
		const char *p = field(ps, "suppress", &len);
		uint64_t v;

		if (p && len == 2 && p[0] == '-' && p[1] == '1')
			r->suppress_prefixlen = -1;
		else if (p && dec(p, len, SUPPRESS_MAX, &v))
			r->suppress_prefixlen = (int)v;
		else if (p)
			fail(ps, "suppress must be -1..128");
	}
	r->action = (uint8_t)num(ps, "action", UINT8_MAX);
}

static void parse_route(struct parser *ps, struct nl_route *r)
{
	r->family = fam(ps);
	if (ps->failed)
		return;
	(void)addr(ps, "dst", r->family, r->dst, &r->dst_len);
	r->type = (uint8_t)num(ps, "type", UINT8_MAX);
	r->protocol = (uint8_t)num(ps, "proto", UINT8_MAX);
	r->scope = (uint8_t)num(ps, "scope", UINT8_MAX);
	r->has_gateway = addr(ps, "gw", r->family, r->gateway, NULL);
	r->has_src = addr(ps, "src", r->family, r->src, NULL);
	r->oif = (int)num(ps, "oif", INT32_MAX);
	r->table = (uint32_t)num(ps, "table", UINT32_MAX);
	r->metric = (uint32_t)num(ps, "metric", UINT32_MAX);
}

static void parse_file(struct parser *ps, struct journal_entry *e)
{
	size_t len;
	const char *was;

	str(ps, "path", e->u.file.path, sizeof(e->u.file.path));
	str(ps, "backup", e->u.file.backup, sizeof(e->u.file.backup));
	was = field(ps, "was", &len);
	if (was && len == 7 && !memcmp(was, "symlink", 7))
		e->u.file.was_symlink = true;
	else if (was && len == 6 && !memcmp(was, "absent", 6))
		e->u.file.absent = true;
	else if (was && !(len == 4 && !memcmp(was, "file", 4)))
		fail(ps, "was must be file, symlink or absent");
	was = field(ps, "mode", &len);
	if (was) {
		uint32_t m = 0;

		for (size_t i = 0; i < len; i++) {
			if (len != 4 || was[i] < '0' || was[i] > '7') {
				fail(ps, "mode: want four octal digits");
				break;
			}
			m = m * 8 + (uint32_t)(was[i] - '0');
		}
		e->u.file.mode = m;
	}
	str(ps, "target", e->u.file.link_target, sizeof(e->u.file.link_target));
}

int journal_parse(const char *line, size_t len, struct journal_entry *out,
		  char err[JOURNAL_ERR_MAX])
{
	char again[JOURNAL_LINE_MAX + 1];
	struct fields fs = { .kind = "line" };
	struct parser ps = { .fs = &fs, .err = err };
	const char *why;
	size_t klen;
	int kind = -1, n;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (len > JOURNAL_LINE_MAX) {
		snprintf(err, JOURNAL_ERR_MAX, "line longer than %d bytes",
			 JOURNAL_LINE_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (!printable((unsigned char)line[i])) {
			snprintf(err, JOURNAL_ERR_MAX,
				 "byte %zu is not printable ASCII (0x%02x)", i + 1,
				 (unsigned char)line[i]);
			return -EINVAL;
		}
	}
	for (klen = 0; klen < len && line[klen] != ' '; klen++)
		;
	if (klen == 0) {
		snprintf(err, JOURNAL_ERR_MAX, "empty line or leading space");
		return -EINVAL;
	}
	for (size_t k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (strlen(kind_names[k]) == klen && !memcmp(kind_names[k], line, klen))
			kind = (int)k;
	if (kind < 0) {
		snprintf(err, JOURNAL_ERR_MAX, "unknown kind \"%.*s\"",
			 (int)(klen > 20 ? 20 : klen), line);
		return -EINVAL;
	}
	fs.kind = kind_names[kind];
	if (!split(line, len, &fs, err))
		goto bad;
	out->kind = (enum journal_kind)kind;
	switch (out->kind) {
	case JOURNAL_RULE:
		parse_rule(&ps, &out->u.rule);
		break;
	case JOURNAL_ROUTE:
		parse_route(&ps, &out->u.route);
		break;
	case JOURNAL_SYSCTL:
		str(&ps, "name", out->u.sysctl.name, sizeof(out->u.sysctl.name));
		str(&ps, "value", out->u.sysctl.value, sizeof(out->u.sysctl.value));
		break;
	case JOURNAL_NFT:
	case JOURNAL_RESOLVED:
		str(&ps, "ifname", out->u.ifname, sizeof(out->u.ifname));
		break;
	case JOURNAL_FILE:
		parse_file(&ps, out);
		break;
	}
	if (ps.failed)
		goto bad;
	if (ps.next != fs.n) {
		fail(&ps, "field %zu: unexpected (the entry ends before it)",
		     ps.next + 1);
		goto bad;
	}
	why = entry_invalid(out);
	if (why) {
		fail(&ps, "%s", why);
		goto bad;
	}
	n = journal_format(out, again, sizeof(again));
	if (n < 0 || (size_t)n != len || memcmp(again, line, len)) {
		fail(&ps, "not in canonical form (escapes, zeros or address spelling)");
		goto bad;
	}
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	if (!err[0])
		snprintf(err, JOURNAL_ERR_MAX, "malformed line");
	return -EINVAL;
}
