/* addrpool.c - sticky tunnel addresses for admitted clients (see
 * addrpool.h), and the text file that keeps them across restarts.
 *
 * Each family is a range of 2^hbits offsets (hbits <= 64). Choosing an
 * address walks the range cyclically from the key's hashed start: an
 * offset inside an avoided prefix makes the walk jump to that prefix's end
 * at once, a reserved or taken one costs one step. So a walk takes at most
 * (taken + reserved + a few jumps per avoided prefix) steps, however large
 * the range, and a walk that comes back round without finding a free
 * offset tells FULL (some offsets were free of the client's subnets, all
 * taken) from CONFLICT (none were). */
#include "core/addrpool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/allowedips.h"
#include "core/encoding.h"
#include "core/parse.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"

_Static_assert((int)ADDRPOOL_KEY_LEN == (int)KEY_LEN, "keys are 32 bytes");
_Static_assert(32 - ADDRPOOL_V4_CIDR_MIN <= 64 &&
	       128 - ADDRPOOL_V6_CIDR_MIN <= 64,
	       "offsets fit 64 bits");

enum {
	OFF_NETWORK = 0,
	OFF_SERVER = 1,
};

static const char file_header[] =
	"# weft address pool: client public key, IPv4, IPv6 (- for none)\n";

static size_t family_len(uint8_t family)
{
	return family == IP_V4 ? 4 : family == IP_V6 ? 16 : 0;
}

static unsigned family_bits(uint8_t family)
{
	return (unsigned)family_len(family) * 8;
}

static uint64_t low_mask(unsigned bits)
{
	return bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

/* The range of one family: its network and how many host bits. */
struct range {
	const struct ip_prefix *net;
	unsigned hbits;
	uint64_t mask;			/* largest offset */
	const uint64_t *used;		/* sorted */
	size_t n_used;
};

static bool range_of(const struct addrpool *p, uint8_t family, struct range *r)
{
	const struct ip_prefix *net = family == IP_V4 ? &p->net4 : &p->net6;

	if (!net->family)
		return false;
	r->net = net;
	r->hbits = family_bits(family) - net->cidr;
	r->mask = low_mask(r->hbits);
	r->used = family == IP_V4 ? p->used4 : p->used6;
	r->n_used = family == IP_V4 ? p->n4 : p->n6;
	return true;
}

/* The last 8 bytes of a 16-byte address, or the 4 of a v4 one, as a
 * big-endian number: where the offset lives (hbits <= 64). */
static uint64_t tail_load(const uint8_t *addr, size_t len)
{
	uint64_t v = 0;

	for (size_t i = len > 8 ? len - 8 : 0; i < len; i++)
		v = v << 8 | addr[i];
	return v;
}

static void tail_store(uint8_t *addr, size_t len, uint64_t v)
{
	for (size_t i = len; i-- > (len > 8 ? len - 8 : 0);) {
		addr[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void offset_address(const struct range *r, uint64_t off,
			   struct ip_prefix *out)
{
	size_t len = family_len(r->net->family);
	uint64_t tail = tail_load(r->net->addr, len);

	*out = *r->net;
	tail_store(out->addr, len, (tail & ~r->mask) | (off & r->mask));
}

/* Do the first cidr bits of a and b agree? */
static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned cidr)
{
	unsigned whole = cidr / 8, rest = cidr % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	return !rest ||
	       ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static void mask_host_bits(struct ip_prefix *p)
{
	size_t len = family_len(p->family);

	for (size_t i = 0; i < sizeof(p->addr); i++) {
		unsigned first = (unsigned)i * 8;

		if (i >= len || first >= p->cidr)
			p->addr[i] = 0;
		else if (p->cidr - first < 8)
			p->addr[i] &= (uint8_t)(0xff <<
						(8 - (p->cidr - first)));
	}
}

/* Offset of addr in r, if it lies in r's network. */
static bool address_offset(const struct range *r, const uint8_t *addr,
			   uint64_t *off)
{
	if (!prefix_match(addr, r->net->addr, r->net->cidr))
		return false;
	*off = tail_load(addr, family_len(r->net->family)) & r->mask;
	return true;
}

static bool reserved(const struct range *r, uint64_t off)
{
	return off == OFF_NETWORK || off == OFF_SERVER || off == r->mask;
}

/* Index of the first used offset >= off. */
static size_t used_lower_bound(const uint64_t *used, size_t n, uint64_t off)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (used[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool used_has(const struct range *r, uint64_t off)
{
	size_t i = used_lower_bound(r->used, r->n_used, off);

	return i < r->n_used && r->used[i] == off;
}

static void used_insert(uint64_t *used, size_t *n, uint64_t off)
{
	size_t i = used_lower_bound(used, *n, off);

	memmove(used + i + 1, used + i, (*n - i) * sizeof(*used));
	used[i] = off;
	++*n;
}

static void used_remove(uint64_t *used, size_t *n, uint64_t off)
{
	size_t i = used_lower_bound(used, *n, off);

	if (i == *n || used[i] != off)
		return;
	memmove(used + i, used + i + 1, (*n - i - 1) * sizeof(*used));
	--*n;
}

/* If offset off of r lies in an avoided prefix, the last offset of the
 * run of avoided offsets that starts there (within r). */
static bool avoided_until(const struct range *r, uint64_t off,
			  const struct ip_prefix *avoid, size_t n_avoid,
			  uint64_t *end)
{
	struct ip_prefix a;
	bool hit = false;

	offset_address(r, off, &a);
	for (size_t i = 0; i < n_avoid; i++) {
		const struct ip_prefix *v = &avoid[i];
		uint64_t last;

		if (v->family != r->net->family ||
		    !prefix_match(a.addr, v->addr, v->cidr))
			continue;
		/* Shorter than the pool: it covers all of it. */
		last = v->cidr <= r->net->cidr ? r->mask :
		       off | low_mask(family_bits(v->family) - v->cidr);
		if (!hit || last > *end)
			*end = last;
		hit = true;
	}
	return hit;
}

static uint64_t hashed_start(const struct addrpool *p, const struct range *r,
			     const uint8_t key[ADDRPOOL_KEY_LEN])
{
	uint8_t in[1 + ADDRPOOL_KEY_LEN], h[8];
	uint64_t v = 0;

	in[0] = r->net->family;
	memcpy(in + 1, key, ADDRPOOL_KEY_LEN);
	blake2s_keyed(h, sizeof(h), p->hash_key, sizeof(p->hash_key), in,
		      sizeof(in));
	for (int i = 7; i >= 0; i--)
		v = v << 8 | h[i];	/* le64 */
	return r->mask == UINT64_MAX ? v : v % (r->mask + 1);
}

static enum addrpool_result pick(const struct range *r, uint64_t start,
				 const struct ip_prefix *avoid, size_t n_avoid,
				 uint64_t *out)
{
	uint64_t off = start, left = r->mask, end;
	bool reachable = false;

	for (;;) {
		if (avoided_until(r, off, avoid, n_avoid, &end)) {
			if (end - off >= left)
				break;
			left -= end - off + 1;
			off = end == r->mask ? 0 : end + 1;
			continue;
		}
		if (!reserved(r, off)) {
			reachable = true;
			if (!used_has(r, off)) {
				*out = off;
				return ADDRPOOL_OK;
			}
		}
		if (left == 0)
			break;
		left--;
		off = off == r->mask ? 0 : off + 1;
	}
	return reachable ? ADDRPOOL_FULL : ADDRPOOL_CONFLICT;
}

static struct addrpool_entry *find(const struct addrpool *p,
				   const uint8_t key[ADDRPOOL_KEY_LEN])
{
	for (size_t i = 0; i < p->n; i++)
		if (memcmp(p->entries[i].key, key, ADDRPOOL_KEY_LEN) == 0)
			return (struct addrpool_entry *)&p->entries[i];
	return NULL;
}

static void entry_addresses(const struct addrpool *p,
			    const struct addrpool_entry *e,
			    struct ip_prefix *out4, struct ip_prefix *out6)
{
	struct range r;

	if (out4) {
		memset(out4, 0, sizeof(*out4));
		if (e->has4 && range_of(p, IP_V4, &r))
			offset_address(&r, e->off4, out4);
	}
	if (out6) {
		memset(out6, 0, sizeof(*out6));
		if (e->has6 && range_of(p, IP_V6, &r))
			offset_address(&r, e->off6, out6);
	}
}

static bool range_valid(const struct ip_prefix *net, uint8_t family,
			unsigned min, unsigned max)
{
	return net->family == family && net->cidr >= min && net->cidr <= max;
}

bool addrpool_init(struct addrpool *p, const struct ip_prefix *net4,
		   const struct ip_prefix *net6,
		   const uint8_t hash_key[ADDRPOOL_HASH_KEY_LEN])
{
	memset(p, 0, sizeof(*p));
	if ((!net4 && !net6) || !hash_key ||
	    (net4 && !range_valid(net4, IP_V4, ADDRPOOL_V4_CIDR_MIN,
				  ADDRPOOL_V4_CIDR_MAX)) ||
	    (net6 && !range_valid(net6, IP_V6, ADDRPOOL_V6_CIDR_MIN,
				  ADDRPOOL_V6_CIDR_MAX)))
		return false;
	if (net4) {
		p->net4 = *net4;
		mask_host_bits(&p->net4);
	}
	if (net6) {
		p->net6 = *net6;
		mask_host_bits(&p->net6);
	}
	memcpy(p->hash_key, hash_key, ADDRPOOL_HASH_KEY_LEN);
	return true;
}

/* Keep the current offset of one family if it is not avoided, else pick
 * a new one. */
static enum addrpool_result choose(const struct addrpool *p, uint8_t family,
				   const struct addrpool_entry *e,
				   const uint8_t key[ADDRPOOL_KEY_LEN],
				   const struct ip_prefix *avoid,
				   size_t n_avoid, uint64_t *off)
{
	bool has = e && (family == IP_V4 ? e->has4 : e->has6);
	uint64_t cur = e ? (family == IP_V4 ? e->off4 : e->off6) : 0;
	struct range r;
	uint64_t end;

	if (!range_of(p, family, &r))
		return ADDRPOOL_OK;
	if (has && !avoided_until(&r, cur, avoid, n_avoid, &end)) {
		*off = cur;
		return ADDRPOOL_OK;
	}
	return pick(&r, hashed_start(p, &r, key), avoid, n_avoid, off);
}

/* Set one family of e to off (has: whether it has one at all). */
static void entry_set(struct addrpool *p, struct addrpool_entry *e,
		      uint8_t family, bool has, uint64_t off)
{
	uint64_t *used = family == IP_V4 ? p->used4 : p->used6;
	size_t *n = family == IP_V4 ? &p->n4 : &p->n6;
	bool *e_has = family == IP_V4 ? &e->has4 : &e->has6;
	uint64_t *e_off = family == IP_V4 ? &e->off4 : &e->off6;

	if (*e_has && has && *e_off == off)
		return;
	if (*e_has)
		used_remove(used, n, *e_off);
	*e_has = has;
	*e_off = has ? off : 0;
	if (has)
		used_insert(used, n, off);
}

enum addrpool_result addrpool_assign(struct addrpool *p,
				     const uint8_t key[ADDRPOOL_KEY_LEN],
				     const struct ip_prefix *avoid,
				     size_t n_avoid, struct ip_prefix *out4,
				     struct ip_prefix *out6)
{
	struct addrpool_entry *e;
	enum addrpool_result res;
	uint64_t off4 = 0, off6 = 0, end;
	struct range r;

	if (out4)
		memset(out4, 0, sizeof(*out4));
	if (out6)
		memset(out6, 0, sizeof(*out6));
	if (!key || n_avoid > ADDRPOOL_MAX_AVOID || (n_avoid && !avoid))
		return ADDRPOOL_INVALID;
	for (size_t i = 0; i < n_avoid; i++)
		if (!family_len(avoid[i].family) ||
		    avoid[i].cidr > family_bits(avoid[i].family))
			return ADDRPOOL_INVALID;

	/* The client must reach the server's own tunnel address (its
	 * resolver, for one). */
	if ((range_of(p, IP_V4, &r) &&
	     avoided_until(&r, OFF_SERVER, avoid, n_avoid, &end)) ||
	    (range_of(p, IP_V6, &r) &&
	     avoided_until(&r, OFF_SERVER, avoid, n_avoid, &end)))
		return ADDRPOOL_CONFLICT;

	e = find(p, key);
	if (!e && p->n == ADDRPOOL_MAX_CLIENTS)
		return ADDRPOOL_FULL;
	res = choose(p, IP_V4, e, key, avoid, n_avoid, &off4);
	if (res != ADDRPOOL_OK)
		return res;
	res = choose(p, IP_V6, e, key, avoid, n_avoid, &off6);
	if (res != ADDRPOOL_OK)
		return res;

	if (!e) {
		e = &p->entries[p->n++];
		memset(e, 0, sizeof(*e));
		memcpy(e->key, key, ADDRPOOL_KEY_LEN);
	}
	entry_set(p, e, IP_V4, p->net4.family != 0, off4);
	entry_set(p, e, IP_V6, p->net6.family != 0, off6);
	entry_addresses(p, e, out4, out6);
	return ADDRPOOL_OK;
}

bool addrpool_release(struct addrpool *p, const uint8_t key[ADDRPOOL_KEY_LEN])
{
	struct addrpool_entry *e = key ? find(p, key) : NULL;

	if (!e)
		return false;
	entry_set(p, e, IP_V4, false, 0);
	entry_set(p, e, IP_V6, false, 0);
	*e = p->entries[--p->n];
	memset(&p->entries[p->n], 0, sizeof(p->entries[p->n]));
	return true;
}

bool addrpool_lookup(const struct addrpool *p,
		     const uint8_t key[ADDRPOOL_KEY_LEN],
		     struct ip_prefix *out4, struct ip_prefix *out6)
{
	const struct addrpool_entry *e = key ? find(p, key) : NULL;

	if (!e) {
		if (out4)
			memset(out4, 0, sizeof(*out4));
		if (out6)
			memset(out6, 0, sizeof(*out6));
		return false;
	}
	entry_addresses(p, e, out4, out6);
	return true;
}

void addrpool_server_address(const struct addrpool *p, struct ip_prefix *out4,
			     struct ip_prefix *out6)
{
	struct range r;

	memset(out4, 0, sizeof(*out4));
	memset(out6, 0, sizeof(*out6));
	if (range_of(p, IP_V4, &r))
		offset_address(&r, OFF_SERVER, out4);
	if (range_of(p, IP_V6, &r))
		offset_address(&r, OFF_SERVER, out6);
}

/* ---- text ---- */

/* A bare address of family (0: either) from s/len; no prefix length. */
static bool address_parse(struct ip_prefix *out, const char *s, size_t len,
			  uint8_t family)
{
	char host[INET6_ADDRSTRLEN];

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(host) || memchr(s, '\0', len))
		return false;
	memcpy(host, s, len);
	host[len] = '\0';
	if (family != IP_V6 && inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = IP_V4;
		out->cidr = 32;
		return true;
	}
	if (family != IP_V4 && inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = IP_V6;
		out->cidr = 128;
		return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

bool addrpool_prefix_parse(struct ip_prefix *out, const char *s, size_t len)
{
	const char *slash = s ? memchr(s, '/', len) : NULL;
	size_t alen = slash ? (size_t)(slash - s) : len;
	uint32_t cidr;

	if (!s || !address_parse(out, s, alen, 0))
		return false;
	if (!slash)
		return true;
	if (!parse_decimal32(slash + 1, len - alen - 1, 0,
			     family_bits(out->family), &cidr)) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	out->cidr = (uint8_t)cidr;
	return true;
}

void addrpool_prefix_format(const struct ip_prefix *p,
			    char out[ADDRPOOL_PREFIX_STR_MAX])
{
	char ip[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (!family_len(p->family) ||
	    !inet_ntop(p->family == IP_V4 ? AF_INET : AF_INET6, p->addr, ip,
		       sizeof(ip)))
		return;
	snprintf(out, ADDRPOOL_PREFIX_STR_MAX, "%s/%u", ip, p->cidr);
}

static bool format_address(const struct addrpool *p, uint8_t family, bool has,
			   uint64_t off, char out[INET6_ADDRSTRLEN])
{
	struct ip_prefix a;
	struct range r;

	if (!has || !range_of(p, family, &r)) {
		strcpy(out, "-");
		return true;
	}
	offset_address(&r, off, &a);
	return inet_ntop(family == IP_V4 ? AF_INET : AF_INET6, a.addr, out,
			 INET6_ADDRSTRLEN) != NULL;
}

int addrpool_serialise(const struct addrpool *p, char *buf, size_t cap,
		       size_t *out_len)
{
	size_t used = 0;

	*out_len = 0;
	if (sizeof(file_header) - 1 > cap)
		return -ENOSPC;
	memcpy(buf, file_header, sizeof(file_header) - 1);
	used = sizeof(file_header) - 1;
	for (size_t i = 0; i < p->n; i++) {
		const struct addrpool_entry *e = &p->entries[i];
		char key[KEY_BASE64_LEN + 1], a4[INET6_ADDRSTRLEN];
		char a6[INET6_ADDRSTRLEN], line[ADDRPOOL_LINE_MAX];
		int n;

		key_to_base64(key, e->key);
		if (!format_address(p, IP_V4, e->has4, e->off4, a4) ||
		    !format_address(p, IP_V6, e->has6, e->off6, a6))
			return -EINVAL;
		n = snprintf(line, sizeof(line), "%s %s %s\n", key, a4, a6);
		if (n < 0 || (size_t)n >= sizeof(line))
			return -EINVAL;
		if ((size_t)n > cap - used)
			return -ENOSPC;
		memcpy(buf + used, line, (size_t)n);
		used += (size_t)n;
	}
	*out_len = used;
	return 0;
}

struct loader {
	struct addrpool *p;
	struct addrpool_error *err;
	unsigned line;
	/* The line each entry came from, for "first given on line N". */
	unsigned line_of[ADDRPOOL_MAX_CLIENTS];
};

static int fail(struct loader *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct loader *l, const char *fmt, ...)
{
	va_list ap;

	l->err->line = l->line;
	va_start(ap, fmt);
	vsnprintf(l->err->msg, sizeof(l->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Split s/len into at most max fields separated by blanks; returns how
 * many there were (max + 1 means "more than max"). */
static size_t split(const char *s, size_t len, const char **f, size_t *flen,
		    size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		size_t start;

		while (i < len && is_blank(s[i]))
			i++;
		if (i == len)
			break;
		if (n == max)
			return max + 1;
		start = i;
		while (i < len && !is_blank(s[i]))
			i++;
		f[n] = s + start;
		flen[n] = i - start;
		n++;
	}
	return n;
}

/* The owner of offset off in family, as a line number; 0 if free. */
static unsigned owner_line(const struct loader *l, uint8_t family, uint64_t off)
{
	for (size_t i = 0; i < l->p->n; i++) {
		const struct addrpool_entry *e = &l->p->entries[i];

		if (family == IP_V4 ? e->has4 && e->off4 == off :
				      e->has6 && e->off6 == off)
			return l->line_of[i];
	}
	return 0;
}

static int load_address(struct loader *l, uint8_t family, const char *s,
			size_t len, bool *has, uint64_t *off)
{
	const char *name = family == IP_V4 ? "IPv4" : "IPv6";
	struct ip_prefix a;
	struct range r;
	unsigned other;
	int show = len > 40 ? 40 : (int)len;

	*has = false;
	*off = 0;
	if (len == 1 && s[0] == '-')
		return 0;
	if (!address_parse(&a, s, len, family))
		return fail(l, "\"%.*s\" is not an %s address (or - for none)",
			    show, s, name);
	if (!range_of(l->p, family, &r))
		return fail(l, "the pool has no %s range, but the line "
			    "gives %.*s: write - instead or configure an %s "
			    "range",
			    name, show, s, name);
	if (!address_offset(&r, a.addr, off)) {
		char net[ADDRPOOL_PREFIX_STR_MAX];

		addrpool_prefix_format(r.net, net);
		return fail(l, "%.*s is outside the pool %s: remove the line "
			    "or configure the pool it was made for", show, s,
			    net);
	}
	if (reserved(&r, *off))
		return fail(l, "%.*s is the network, broadcast or server "
			    "address of the pool, never a client's", show, s);
	other = owner_line(l, family, *off);
	if (other)
		return fail(l, "%.*s is already given to the key on line %u",
			    show, s, other);
	*has = true;
	return 0;
}

static int load_line(struct loader *l, const char *s, size_t len)
{
	const char *f[3];
	size_t flen[3], n;
	uint8_t key[ADDRPOOL_KEY_LEN];
	struct addrpool_entry *e;
	bool has4, has6;
	uint64_t off4, off6;

	if (memchr(s, '\0', len))
		return fail(l, "the line holds a NUL byte: this is not a pool "
			    "file");
	n = split(s, len, f, flen, 3);
	if (n == 0 || f[0][0] == '#')
		return 0;
	if (n != 3)
		return fail(l, "expected \"<public key> <IPv4 or -> <IPv6 or "
			    "->\", found %s fields", n > 3 ? "more than 3" :
			    n == 2 ? "2" : "1");
	if (!key_from_base64(key, f[0], flen[0]))
		return fail(l, "\"%.*s\" is not a base64 public key (44 "
			    "characters)", flen[0] > 48 ? 48 : (int)flen[0],
			    f[0]);
	for (size_t i = 0; i < l->p->n; i++)
		if (memcmp(l->p->entries[i].key, key, sizeof(key)) == 0)
			return fail(l, "this key is already listed on line %u",
				    l->line_of[i]);
	if (load_address(l, IP_V4, f[1], flen[1], &has4, &off4) ||
	    load_address(l, IP_V6, f[2], flen[2], &has6, &off6))
		return -1;
	if (!has4 && !has6)
		return fail(l, "the key has no address: remove the line");
	if (l->p->n == ADDRPOOL_MAX_CLIENTS)
		return fail(l, "more than %d clients", ADDRPOOL_MAX_CLIENTS);

	l->line_of[l->p->n] = l->line;
	e = &l->p->entries[l->p->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, sizeof(key));
	entry_set(l->p, e, IP_V4, has4, off4);
	entry_set(l->p, e, IP_V6, has6, off6);
	return 0;
}

static void clear_map(struct addrpool *p)
{
	memset(p->entries, 0, sizeof(p->entries));
	memset(p->used4, 0, sizeof(p->used4));
	memset(p->used6, 0, sizeof(p->used6));
	p->n = p->n4 = p->n6 = 0;
}

int addrpool_load(struct addrpool *p, const char *buf, size_t len,
		  struct addrpool_error *err)
{
	/* 16 KiB of line numbers: static would not be reentrant, and the
	 * pool struct is the caller's. */
	struct loader l;
	const char *s = buf, *end = buf + len;

	memset(err, 0, sizeof(*err));
	clear_map(p);
	l.p = p;
	l.err = err;
	l.line = 0;
	if (!buf && len)
		return fail(&l, "no input");
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);

		++l.line;
		if (n > ADDRPOOL_LINE_MAX) {
			fail(&l, "the line is longer than %d characters: this "
			     "is not a pool file", ADDRPOOL_LINE_MAX);
			goto bad;
		}
		if (n && s[n - 1] == '\r')
			n--;
		if (load_line(&l, s, n) != 0)
			goto bad;
		s = nl ? nl + 1 : end;
	}
	return 0;
bad:
	clear_map(p);
	return -1;
}
