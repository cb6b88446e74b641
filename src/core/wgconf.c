/* wgconf.c - the wg(8) configuration file format, translated line by line
 * into one UAPI "set" request. No allocation: a peer's allowed_ip lines go
 * straight to the output and its header is slotted in front of them when
 * the section ends; the device header likewise goes in front of the peers. */
#include "core/wgconf.h"
#include "core/parse.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/encoding.h"
#include "core/endpoint.h"
#include "crypto/ct.h"

enum wgconf_limits {
	WGCONF_MAX_LINE = 16384,
	WGCONF_MAX_NAME = 32,	/* how much of a bad key or value we quote */
	HEADER_MAX = 512,	/* one device or peer header in UAPI form */
};

enum section { SEC_NONE, SEC_INTERFACE, SEC_PEER };

enum conf_key {
	K_PRIVATE_KEY,
	K_LISTEN_PORT,
	K_FWMARK,
	K_PUBLIC_KEY,
	K_PRESHARED_KEY,
	K_ALLOWED_IPS,
	K_ENDPOINT,
	K_PERSISTENT_KEEPALIVE,
	K_WG_QUICK,
	K_COUNT,
};

static const struct {
	const char *name;
	enum conf_key key;
	enum section section;
} conf_keys[] = {
	{ "PrivateKey", K_PRIVATE_KEY, SEC_INTERFACE },
	{ "ListenPort", K_LISTEN_PORT, SEC_INTERFACE },
	{ "FwMark", K_FWMARK, SEC_INTERFACE },
	{ "Address", K_WG_QUICK, SEC_INTERFACE },
	{ "DNS", K_WG_QUICK, SEC_INTERFACE },
	{ "MTU", K_WG_QUICK, SEC_INTERFACE },
	{ "Table", K_WG_QUICK, SEC_INTERFACE },
	{ "PreUp", K_WG_QUICK, SEC_INTERFACE },
	{ "PostUp", K_WG_QUICK, SEC_INTERFACE },
	{ "PreDown", K_WG_QUICK, SEC_INTERFACE },
	{ "PostDown", K_WG_QUICK, SEC_INTERFACE },
	{ "SaveConfig", K_WG_QUICK, SEC_INTERFACE },
	{ "PublicKey", K_PUBLIC_KEY, SEC_PEER },
	{ "PresharedKey", K_PRESHARED_KEY, SEC_PEER },
	{ "AllowedIPs", K_ALLOWED_IPS, SEC_PEER },
	{ "Endpoint", K_ENDPOINT, SEC_PEER },
	{ "PersistentKeepalive", K_PERSISTENT_KEEPALIVE, SEC_PEER },
};

struct parser {
	struct uapi_buf *out;
	struct wgconf_error *err;
	bool replace, strip;
	enum section section;
	unsigned line;
	/* The line each key was first seen on in the current section (the
	 * device's keys: in any [Interface] section); 0 when not yet. */
	unsigned seen_iface[K_COUNT];
	unsigned seen_peer[K_COUNT];
	size_t dev_at;
	uint8_t private_key[32];
	uint16_t listen_port;
	uint32_t fwmark;
	/* the open [Peer] section */
	unsigned peer_line;
	size_t peer_at;
	uint8_t public_key[32];
	uint8_t preshared_key[32];
	struct wg_endpoint endpoint;
	uint16_t keepalive;
};

static int fail(struct parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	p->err->line = line;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_space(**s)) {
		++*s;
		--*len;
	}
	while (*len && is_space((*s)[*len - 1]))
		--*len;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool equal_nocase(const char *s, size_t len, const char *word)
{
	size_t i;

	if (strlen(word) != len)
		return false;
	for (i = 0; i < len; ++i)
		if (lower(s[i]) != lower(word[i]))
			return false;
	return true;
}

static bool parse_fwmark(const char *s, size_t len, uint32_t *mark)
{
	uint64_t v = 0;
	size_t i;
	char c;

	if (equal_nocase(s, len, "off")) {
		*mark = 0;
		return true;
	}
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (len > 2 + 8)
			return false;
		for (i = 2; i < len; ++i) {
			c = lower(s[i]);
			if (c >= '0' && c <= '9')
				v = v * 16 + (uint64_t)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (uint64_t)(c - 'a' + 10);
			else
				return false;
		}
		*mark = (uint32_t)v;
		return true;
	}
	if (!parse_decimal(s, len, 0, UINT32_MAX, &v))
		return false;
	*mark = (uint32_t)v;
	return true;
}

/* Insert n bytes at offset at of out, keeping it NUL-terminated. */
static bool insert(struct uapi_buf *out, size_t at, const char *s, size_t n)
{
	if (out->truncated || out->cap - out->len < n + 1) {
		out->truncated = true;
		return false;
	}
	memmove(out->data + at + n, out->data + at, out->len - at);
	memcpy(out->data + at, s, n);
	out->len += n;
	out->data[out->len] = '\0';
	return true;
}

static bool append(struct uapi_buf *out, const char *s, size_t n)
{
	return insert(out, out->len, s, n);
}

/* snprintf onto the end of a header under construction. */
static void hdr_add(char *hdr, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void hdr_add(char *hdr, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(hdr + *len, HEADER_MAX - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n < HEADER_MAX - *len ? (size_t)n
						      : HEADER_MAX - 1 - *len;
}

static void hdr_key(char *hdr, size_t *len, const char *name,
		    const uint8_t key[32])
{
	char hex[KEY_HEX_LEN + 1];

	key_to_hex(hex, key);
	hdr_add(hdr, len, "%s=%s\n", name, hex);
	crypto_wipe(hex, sizeof(hex));
}

static int too_big(struct parser *p)
{
	return fail(p, 0, "the configuration makes a request of more than %zu "
		    "bytes: split it over several addconf calls",
		    p->out->cap);
}

/* Close the open [Peer] section: slot its header in front of the
 * allowed_ip lines already written. */
static int finish_peer(struct parser *p)
{
	char hdr[HEADER_MAX], ep[ENDPOINT_STR_MAX];
	size_t n = 0;
	bool ok;

	if (p->section != SEC_PEER)
		return 0;
	if (!p->seen_peer[K_PUBLIC_KEY])
		return fail(p, p->peer_line, "this [Peer] section has no "
			    "PublicKey: add \"PublicKey = <base64 key>\"");
	hdr_key(hdr, &n, "public_key", p->public_key);
	if (p->seen_peer[K_PRESHARED_KEY])
		hdr_key(hdr, &n, "preshared_key", p->preshared_key);
	if (p->seen_peer[K_ENDPOINT]) {
		endpoint_format(&p->endpoint, ep);
		hdr_add(hdr, &n, "endpoint=%s\n", ep);
	}
	if (p->seen_peer[K_PERSISTENT_KEEPALIVE])
		hdr_add(hdr, &n, "persistent_keepalive_interval=%u\n",
			p->keepalive);
	/* The file is the whole truth about a peer's allowed IPs. */
	hdr_add(hdr, &n, "replace_allowed_ips=true\n");
	ok = insert(p->out, p->peer_at, hdr, n);
	crypto_wipe(hdr, sizeof(hdr));
	crypto_wipe(p->preshared_key, sizeof(p->preshared_key));
	p->section = SEC_NONE;
	return ok ? 0 : too_big(p);
}

static int finish_device(struct parser *p)
{
	char hdr[HEADER_MAX];
	size_t n = 0;
	bool ok;

	/* setconf makes the file the device's whole state: what it leaves
	 * out is reset (no key, a random port, no mark), as wg does. */
	if (p->replace)
		hdr_add(hdr, &n, "replace_peers=true\n");
	if (p->replace || p->seen_iface[K_PRIVATE_KEY])
		hdr_key(hdr, &n, "private_key", p->private_key);
	if (p->replace || p->seen_iface[K_LISTEN_PORT])
		hdr_add(hdr, &n, "listen_port=%u\n", p->listen_port);
	if (p->replace || p->seen_iface[K_FWMARK])
		hdr_add(hdr, &n, "fwmark=%" PRIu32 "\n", p->fwmark);
	ok = insert(p->out, p->dev_at, hdr, n);
	crypto_wipe(hdr, sizeof(hdr));
	return ok ? 0 : too_big(p);
}

static int section_header(struct parser *p, const char *s, size_t len)
{
	const char *name = s + 1;
	size_t nlen = len - 2;

	if (finish_peer(p))
		return -1;
	trim(&name, &nlen);
	if (equal_nocase(name, nlen, "Interface")) {
		p->section = SEC_INTERFACE;
	} else if (equal_nocase(name, nlen, "Peer")) {
		p->section = SEC_PEER;
		p->peer_line = p->line;
		p->peer_at = p->out->len;
		memset(p->seen_peer, 0, sizeof(p->seen_peer));
		memset(&p->endpoint, 0, sizeof(p->endpoint));
		p->keepalive = 0;
	} else {
		return fail(p, p->line, "unknown section [%.*s]: expected "
			    "[Interface] or [Peer]",
			    (int)(nlen < WGCONF_MAX_NAME ? nlen : WGCONF_MAX_NAME),
			    name);
	}
	return 0;
}

static int bad_key(struct parser *p, const char *what, const char *tool)
{
	return fail(p, p->line, "%s is not a valid base64 key (44 characters, "
		    "as printed by \"weft %s\")", what, tool);
}

static int allowed_ips(struct parser *p, const char *v, size_t vlen)
{
	char host[INET6_ADDRSTRLEN], line[80], text[INET6_ADDRSTRLEN];
	const char *item, *comma, *slash;
	size_t ilen, hlen;
	uint64_t cidr;
	uint8_t ip[16];
	int af, n;

	trim(&v, &vlen);
	if (vlen == 0)
		return 0;	/* a peer with no allowed IPs */
	while (true) {
		comma = memchr(v, ',', vlen);
		item = v;
		ilen = comma ? (size_t)(comma - v) : vlen;
		trim(&item, &ilen);
		slash = memchr(item, '/', ilen);
		hlen = slash ? (size_t)(slash - item) : ilen;
		if (hlen == 0 || hlen >= sizeof(host))
			goto bad;
		memcpy(host, item, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, ip) == 1)
			af = AF_INET;
		else if (inet_pton(AF_INET6, host, ip) == 1)
			af = AF_INET6;
		else
			goto bad;
		cidr = af == AF_INET ? 32 : 128;
		if (slash && !parse_decimal(slash + 1, ilen - hlen - 1, 0, cidr, &cidr))
			goto bad;
		if (!inet_ntop(af, ip, text, sizeof(text)))
			goto bad;
		n = snprintf(line, sizeof(line), "allowed_ip=%s/%u\n", text,
			     (unsigned)cidr);
		if (n < 0 || (size_t)n >= sizeof(line) ||
		    !append(p->out, line, (size_t)n))
			return too_big(p);
		if (!comma)
			return 0;
		vlen -= (size_t)(comma + 1 - v);
		v = comma + 1;
	}
bad:
	return fail(p, p->line, "AllowedIPs entry \"%.*s\" is not an "
		    "address/prefix such as 10.0.0.2/32 or fd00::2/128",
		    (int)(ilen < WGCONF_MAX_NAME ? ilen : WGCONF_MAX_NAME), item);
}

static int endpoint(struct parser *p, const char *v, size_t vlen)
{
	const char *colon;
	size_t i, hlen;
	int q = (int)(vlen < WGCONF_MAX_NAME ? vlen : WGCONF_MAX_NAME);

	if (endpoint_parse(&p->endpoint, v, vlen))
		return 0;
	colon = NULL;
	for (i = vlen; i > 0; --i)
		if (v[i - 1] == ':') {
			colon = v + i - 1;
			break;
		}
	hlen = colon ? (size_t)(colon - v) : vlen;
	if (vlen && v[0] != '[' && memchr(v, ':', hlen))
		return fail(p, p->line, "Endpoint \"%.*s\": an IPv6 address "
			    "goes in brackets, e.g. [2001:db8::1]:51820", q, v);
	for (i = 0; i < hlen; ++i)
		if ((lower(v[i]) >= 'a' && lower(v[i]) <= 'z') ||
		    v[i] == '-')
			return fail(p, p->line, "Endpoint \"%.*s\" is a host "
				    "name; weft takes numeric addresses only: "
				    "write its IP, e.g. 192.0.2.1:51820", q, v);
	return fail(p, p->line, "Endpoint \"%.*s\" is not IP:port, e.g. "
		    "192.0.2.1:51820 or [2001:db8::1]:51820 (port 1-65535)",
		    q, v);
}

static int key_value(struct parser *p, const char *k, size_t klen,
		     const char *v, size_t vlen)
{
	unsigned *seen;
	uint64_t n;
	size_t i;
	int q;

	trim(&k, &klen);
	trim(&v, &vlen);
	q = (int)(klen < WGCONF_MAX_NAME ? klen : WGCONF_MAX_NAME);
	if (p->section == SEC_NONE)
		return fail(p, p->line, "\"%.*s\" is outside any section: put "
			    "it under [Interface] or [Peer]", q, k);
	for (i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); ++i)
		if (conf_keys[i].section == p->section &&
		    equal_nocase(k, klen, conf_keys[i].name))
			break;
	if (i == sizeof(conf_keys) / sizeof(conf_keys[0])) {
		if (p->section == SEC_INTERFACE)
			return fail(p, p->line, "unknown key \"%.*s\" in "
				    "[Interface]: expected PrivateKey, "
				    "ListenPort or FwMark", q, k);
		return fail(p, p->line, "unknown key \"%.*s\" in [Peer]: "
			    "expected PublicKey, PresharedKey, AllowedIPs, "
			    "Endpoint or PersistentKeepalive", q, k);
	}
	if (conf_keys[i].key == K_WG_QUICK) {
		if (p->strip)
			return 0;
		return fail(p, p->line, "%s is a wg-quick key, not a wg one: "
			    "remove it, or use syncconf, which skips it",
			    conf_keys[i].name);
	}
	seen = p->section == SEC_PEER ? p->seen_peer : p->seen_iface;
	if (seen[conf_keys[i].key] && conf_keys[i].key != K_ALLOWED_IPS)
		return fail(p, p->line, "%s is given twice (first on line %u): "
			    "keep one", conf_keys[i].name,
			    seen[conf_keys[i].key]);
	seen[conf_keys[i].key] = p->line;

	switch (conf_keys[i].key) {
	case K_PRIVATE_KEY:
		if (!key_from_base64(p->private_key, v, vlen))
			return bad_key(p, "PrivateKey", "genkey");
		return 0;
	case K_LISTEN_PORT:
		if (!parse_decimal(v, vlen, 0, 65535, &n))
			return fail(p, p->line, "ListenPort must be a number "
				    "from 0 to 65535 (0: any free port)");
		p->listen_port = (uint16_t)n;
		return 0;
	case K_FWMARK:
		if (!parse_fwmark(v, vlen, &p->fwmark))
			return fail(p, p->line, "FwMark must be a 32-bit number "
				    "(decimal, or hex as 0x1234) or \"off\"");
		return 0;
	case K_PUBLIC_KEY:
		if (!key_from_base64(p->public_key, v, vlen))
			return bad_key(p, "PublicKey", "pubkey");
		return 0;
	case K_PRESHARED_KEY:
		if (!key_from_base64(p->preshared_key, v, vlen))
			return bad_key(p, "PresharedKey", "genpsk");
		return 0;
	case K_ALLOWED_IPS:
		return allowed_ips(p, v, vlen);
	case K_ENDPOINT:
		return endpoint(p, v, vlen);
	case K_PERSISTENT_KEEPALIVE:
		if (equal_nocase(v, vlen, "off"))
			n = 0;
		else if (!parse_decimal(v, vlen, 0, 65535, &n))
			return fail(p, p->line, "PersistentKeepalive must be "
				    "a number of seconds from 0 to 65535, or "
				    "\"off\"");
		p->keepalive = (uint16_t)n;
		return 0;
	case K_WG_QUICK:
	case K_COUNT:
		break;
	}
	return 0;
}

static int parse_line(struct parser *p, const char *s, size_t len)
{
	const char *hash = memchr(s, '#', len), *eq;

	if (memchr(s, '\0', len))
		return fail(p, p->line, "the line holds a NUL byte: this is "
			    "not a text configuration file");
	if (len > WGCONF_MAX_LINE)
		return fail(p, p->line, "the line is longer than %d "
			    "characters: split AllowedIPs over several lines",
			    WGCONF_MAX_LINE);
	if (hash)
		len = (size_t)(hash - s);
	trim(&s, &len);
	if (len == 0)
		return 0;
	if (s[0] == '[') {
		if (s[len - 1] != ']' || len < 2)
			return fail(p, p->line, "a section header must be "
				    "[Interface] or [Peer]");
		return section_header(p, s, len);
	}
	eq = memchr(s, '=', len);
	if (!eq)
		return fail(p, p->line, "expected \"Key = Value\" or a section "
			    "header such as [Peer]");
	return key_value(p, s, (size_t)(eq - s), eq + 1,
			 len - (size_t)(eq - s) - 1);
}

int wgconf_to_uapi(const char *buf, size_t len, bool replace, bool strip,
		   struct uapi_buf *out, struct wgconf_error *err)
{
	const char *s = buf, *end = len ? buf + len : buf, *nl;
	size_t start = out->len;
	struct parser p;
	int ret = 0;

	memset(&p, 0, sizeof(p));
	memset(err, 0, sizeof(*err));
	p.out = out;
	p.err = err;
	p.replace = replace;
	p.strip = strip;
	if (!append(out, "set=1\n", 6)) {
		ret = too_big(&p);
		goto out;
	}
	p.dev_at = out->len;
	/* Editors on some systems start a UTF-8 file with a byte order mark. */
	if (len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		++p.line;
		ret = parse_line(&p, s, (size_t)((nl ? nl : end) - s));
		if (ret)
			goto out;
		s = nl ? nl + 1 : end;
	}
	ret = finish_peer(&p);
	if (ret == 0)
		ret = finish_device(&p);
	if (ret == 0 && !append(out, "\n", 1))
		ret = too_big(&p);
out:
	if (ret) {
		/* Leave no half request (and no key) behind. */
		if (out->len > start)
			crypto_wipe(out->data + start, out->len - start);
		out->len = start;
		if (out->cap > start)
			out->data[start] = '\0';
	}
	crypto_wipe(&p, sizeof(p));
	return ret;
}
