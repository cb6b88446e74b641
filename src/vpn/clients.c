/* clients.c - the named clients list and its file, see clients.h. */
#include "vpn/clients.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/encoding.h"
#include "crypto/ct.h"

_Static_assert((int)CLIENTS_KEY_LEN == (int)KEY_LEN, "keys are 32 bytes");

static const char file_header[] =
	"# weft named clients (weft server add-client): NAME PUBLIC-KEY\n";

void clients_init(struct clients *c)
{
	c->n = 0;
}

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

bool clients_name_valid(const char *name, size_t len)
{
	if (!name || len == 0 || len > CLIENTS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char(name[i]))
			return false;
	return true;
}

/* First position in by_key whose key is >= key. */
static size_t key_lower_bound(const struct clients *c, const uint8_t *key)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(c->entries[c->by_key[mid]].key, key,
			   CLIENTS_KEY_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct client_entry *clients_find_key(const struct clients *c,
					    const uint8_t key[CLIENTS_KEY_LEN])
{
	size_t i = key_lower_bound(c, key);

	if (i < c->n &&
	    memcmp(c->entries[c->by_key[i]].key, key, CLIENTS_KEY_LEN) == 0)
		return &c->entries[c->by_key[i]];
	return NULL;
}

static const struct client_entry *find_name_len(const struct clients *c,
						const char *name, size_t len)
{
	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->entries[i].name) == len &&
		    memcmp(c->entries[i].name, name, len) == 0)
			return &c->entries[i];
	return NULL;
}

const struct client_entry *clients_find_name(const struct clients *c,
					     const char *name)
{
	size_t len = strnlen(name, CLIENTS_NAME_MAX + 1);

	if (len > CLIENTS_NAME_MAX)
		return NULL;
	return find_name_len(c, name, len);
}

size_t clients_count(const struct clients *c)
{
	return c->n;
}

const struct client_entry *clients_at(const struct clients *c, size_t i)
{
	return i < c->n ? &c->entries[i] : NULL;
}

static int add_len(struct clients *c, const char *name, size_t len,
		   const uint8_t key[CLIENTS_KEY_LEN])
{
	size_t pos;

	if (!clients_name_valid(name, len) ||
	    crypto_is_zero(key, CLIENTS_KEY_LEN))
		return -EINVAL;
	if (find_name_len(c, name, len) || clients_find_key(c, key))
		return -EEXIST;
	if (c->n == CLIENTS_MAX)
		return -ENOSPC;
	/* The whole entry, padding of the name included, is set: two lists
	 * with the same clients compare equal byte for byte. */
	memset(&c->entries[c->n], 0, sizeof(c->entries[0]));
	memcpy(c->entries[c->n].name, name, len);
	memcpy(c->entries[c->n].key, key, CLIENTS_KEY_LEN);
	pos = key_lower_bound(c, key);
	memmove(&c->by_key[pos + 1], &c->by_key[pos],
		(c->n - pos) * sizeof(c->by_key[0]));
	c->by_key[pos] = (uint16_t)c->n;
	c->n++;
	return 0;
}

int clients_add(struct clients *c, const char *name,
		const uint8_t key[CLIENTS_KEY_LEN])
{
	return add_len(c, name, strnlen(name, CLIENTS_NAME_MAX + 1), key);
}

bool clients_remove(struct clients *c, const char *name)
{
	const struct client_entry *e = clients_find_name(c, name);
	size_t idx, pos = 0;

	if (!e)
		return false;
	idx = (size_t)(e - c->entries);
	/* Drop idx from the index and renumber the entries after it. */
	for (size_t i = 0; i < c->n; i++) {
		if (c->by_key[i] == idx)
			continue;
		c->by_key[pos++] = (uint16_t)(c->by_key[i] > idx ?
					      c->by_key[i] - 1 : c->by_key[i]);
	}
	memmove(&c->entries[idx], &c->entries[idx + 1],
		(c->n - idx - 1) * sizeof(c->entries[0]));
	c->n--;
	memset(&c->entries[c->n], 0, sizeof(c->entries[0]));
	return true;
}

int clients_serialise(const struct clients *c, char *buf, size_t cap,
		      size_t *out_len)
{
	size_t used = sizeof(file_header) - 1;

	*out_len = 0;
	if (used > cap)
		return -ENOSPC;
	memcpy(buf, file_header, used);
	for (size_t i = 0; i < c->n; i++) {
		char key[KEY_BASE64_LEN + 1], line[CLIENTS_LINE_MAX];
		int n;

		key_to_base64(key, c->entries[i].key);
		n = snprintf(line, sizeof(line), "%s %s\n", c->entries[i].name,
			     key);
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

struct parser {
	struct clients *c;
	char *err;
	unsigned line;
	unsigned line_of[CLIENTS_MAX];	/* for "already on line N" */
};

static int fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, CLIENTS_ERR_MAX, "line %u: ", p->line);

	if (n < 0 || n >= CLIENTS_ERR_MAX)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err + n, CLIENTS_ERR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int parse_line(struct parser *p, const char *s, size_t len)
{
	const char *f[2];
	size_t flen[2], n = 0, i = 0;
	uint8_t key[CLIENTS_KEY_LEN];
	const struct client_entry *dup;

	if (memchr(s, '\0', len))
		return fail(p, "a NUL byte: this is not a clients file");
	while (i < len) {
		size_t start;

		while (i < len && is_blank(s[i]))
			i++;
		if (i == len)
			break;
		if (n == 0 && s[i] == '#')
			return 0;
		if (n == 2)
			return fail(p, "expected \"NAME PUBLIC-KEY\", found more than 2 fields");
		start = i;
		while (i < len && !is_blank(s[i]))
			i++;
		f[n] = s + start;
		flen[n++] = i - start;
	}
	if (n == 0)
		return 0;
	if (n != 2)
		return fail(p, "expected \"NAME PUBLIC-KEY\", found 1 field");
	if (!clients_name_valid(f[0], flen[0]))
		return fail(p, "\"%.*s\" is not a client name (1-%d of A-Z a-z 0-9 _ . -)",
			    flen[0] > 40 ? 40 : (int)flen[0], f[0],
			    CLIENTS_NAME_MAX);
	if (!key_from_base64(key, f[1], flen[1]))
		return fail(p, "\"%.*s\" is not a base64 public key (44 characters)",
			    flen[1] > 48 ? 48 : (int)flen[1], f[1]);
	if (crypto_is_zero(key, sizeof(key)))
		return fail(p, "the public key is all zeros");
	if ((dup = find_name_len(p->c, f[0], flen[0])))
		return fail(p, "the name %s is already on line %u", dup->name,
			    p->line_of[dup - p->c->entries]);
	if ((dup = clients_find_key(p->c, key)))
		return fail(p, "this key is already client %s on line %u",
			    dup->name, p->line_of[dup - p->c->entries]);
	if (p->c->n == CLIENTS_MAX)
		return fail(p, "more than %d clients", CLIENTS_MAX);
	p->line_of[p->c->n] = p->line;
	return add_len(p->c, f[0], flen[0], key) == 0
		       ? 0 : fail(p, "cannot add the client");
}

int clients_parse(struct clients *c, const char *buf, size_t len,
		  char err[CLIENTS_ERR_MAX])
{
	/* 16 KiB of line numbers: on the stack, so the parser is
	 * reentrant and the list struct stays the caller's. */
	struct parser p = { .c = c, .err = err, .line = 0 };
	const char *s = buf, *end = buf + len;

	err[0] = '\0';
	clients_init(c);
	if (!buf && len)
		return fail(&p, "no input");
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);

		++p.line;
		if (n > CLIENTS_LINE_MAX) {
			fail(&p, "longer than %d characters: this is not a clients file",
			     CLIENTS_LINE_MAX);
			goto bad;
		}
		if (n && s[n - 1] == '\r')
			n--;
		if (parse_line(&p, s, n) != 0)
			goto bad;
		s = nl ? nl + 1 : end;
	}
	return 0;
bad:
	clients_init(c);
	return -EINVAL;
}
