/* allowedips.c - cryptokey routing: a path-compressed binary trie per address
 * family, longest-prefix match from an inner address to its peer. */
#include "core/allowedips.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Addresses of both families are held as 128-bit keys in two host-order
 * words, most significant bit first; an IPv4 address fills the top 32 bits
 * of key[0]. Bit i of a key is bit i of the address in network order, so a
 * v4 /n and a v6 /n are the same shape of node.
 *
 * Every node carries its whole prefix (key masked to cidr), so matching a
 * node is two word compares whatever its depth. child[b] holds the prefixes
 * that extend this one with bit number cidr equal to b. A node without an
 * owner exists only to branch and always has two children; removal keeps
 * that true, so the trie never holds more than 2n - 1 nodes for n prefixes. */
struct allowedips_node {
	struct allowedips_node *child[2];
	struct allowedips_node *parent;
	void *owner;
	uint64_t key[2];
	uint8_t cidr;
};

struct key {
	uint64_t w[2];
};

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static unsigned max_cidr(enum ip_family family)
{
	return family == IP_V4 ? 32 : family == IP_V6 ? 128 : 0;
}

static struct key key_load(enum ip_family family, const uint8_t *ip)
{
	struct key k;

	if (family == IP_V4) {
		k.w[0] = (uint64_t)ip[0] << 56 | (uint64_t)ip[1] << 48 |
			 (uint64_t)ip[2] << 40 | (uint64_t)ip[3] << 32;
		k.w[1] = 0;
	} else {
		k.w[0] = be64(ip);
		k.w[1] = be64(ip + 8);
	}
	return k;
}

/* The top `bits` bits of a word set, 0 <= bits <= 64. */
static uint64_t top_mask(unsigned bits)
{
	return bits ? ~0ULL << (64 - bits) : 0;
}

static struct key key_mask(struct key k, unsigned cidr)
{
	k.w[0] &= top_mask(cidr < 64 ? cidr : 64);
	k.w[1] &= top_mask(cidr > 64 ? cidr - 64 : 0);
	return k;
}

/* Bit number i (0 = most significant), i < 128. */
static unsigned key_bit(const uint64_t *w, unsigned i)
{
	return (unsigned)(w[i >> 6] >> (63 - (i & 63))) & 1;
}

/* Number of leading bits a and b share, at most limit. */
static unsigned common_bits(const uint64_t *a, const uint64_t *b,
			    unsigned limit)
{
	uint64_t x = a[0] ^ b[0];
	unsigned n;

	if (x)
		n = (unsigned)__builtin_clzll(x);
	else if ((x = a[1] ^ b[1]))
		n = 64 + (unsigned)__builtin_clzll(x);
	else
		n = 128;
	return n < limit ? n : limit;
}

/* Whether the first n->cidr bits of k equal n's prefix. */
static bool node_covers(const struct allowedips_node *n, const uint64_t *k)
{
	unsigned c = n->cidr;

	if (c <= 64)
		return c == 0 || ((k[0] ^ n->key[0]) >> (64 - c)) == 0;
	return k[0] == n->key[0] && ((k[1] ^ n->key[1]) >> (128 - c)) == 0;
}

static struct allowedips_node **root_of(struct allowedips *t,
					enum ip_family family)
{
	return family == IP_V4 ? &t->root4 : &t->root6;
}

/* The pointer that holds n: its parent's child slot, or the root. */
static struct allowedips_node **slot_of(struct allowedips_node **root,
					struct allowedips_node *n)
{
	struct allowedips_node *p = n->parent;

	return p ? &p->child[key_bit(n->key, p->cidr)] : root;
}

static struct allowedips_node *node_new(struct key k, unsigned cidr,
					void *owner)
{
	struct allowedips_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->key[0] = k.w[0];
	n->key[1] = k.w[1];
	n->cidr = (uint8_t)cidr;
	n->owner = owner;
	return n;
}

static void set_child(struct allowedips_node *p, struct allowedips_node *c)
{
	p->child[key_bit(c->key, p->cidr)] = c;
	c->parent = p;
}

/* Splice n out if it no longer earns its place: no owner and fewer than two
 * children. Its one child, if any, takes its slot. True if n was freed. */
static bool prune(struct allowedips_node **root, struct allowedips_node *n)
{
	struct allowedips_node *c;

	if (n->owner || (n->child[0] && n->child[1]))
		return false;
	c = n->child[0] ? n->child[0] : n->child[1];
	*slot_of(root, n) = c;
	if (c)
		c->parent = n->parent;
	free(n);
	return true;
}

/* Post-order without recursion or a stack, through the parent links. */
static struct allowedips_node *deepest_first(struct allowedips_node *n)
{
	while (n && (n->child[0] || n->child[1]))
		n = n->child[0] ? n->child[0] : n->child[1];
	return n;
}

/* The node after n in post-order; read it before n is freed or pruned. */
static struct allowedips_node *postorder_next(struct allowedips_node *n)
{
	struct allowedips_node *p = n->parent;

	if (p && p->child[0] == n && p->child[1])
		return deepest_first(p->child[1]);
	return p;
}

void allowedips_init(struct allowedips *t)
{
	memset(t, 0, sizeof(*t));
}

static void free_trie(struct allowedips_node *root)
{
	struct allowedips_node *n = deepest_first(root), *next;

	for (; n; n = next) {
		next = postorder_next(n);
		free(n);
	}
}

void allowedips_free(struct allowedips *t)
{
	free_trie(t->root4);
	free_trie(t->root6);
	t->root4 = t->root6 = NULL;
	t->seq++;
}

int allowedips_insert(struct allowedips *t, enum ip_family family,
		      const uint8_t *ip, uint8_t cidr, void *owner)
{
	unsigned maxbits = max_cidr(family), common = 0;
	struct allowedips_node **root, **slot, *parent = NULL, *n;
	struct allowedips_node *fresh, *fork;
	struct key k;

	/* A NULL owner would read as "no prefix here" to lookup and prune. */
	if (!maxbits || cidr > maxbits || !owner)
		return -EINVAL;
	k = key_mask(key_load(family, ip), cidr);
	root = root_of(t, family);

	for (slot = root; (n = *slot); parent = n) {
		common = common_bits(n->key, k.w,
				     n->cidr < cidr ? n->cidr : cidr);
		if (common < n->cidr)
			break;
		if (n->cidr == cidr) {
			/* The same prefix: only its owner can change. */
			if (n->owner != owner) {
				n->owner = owner;
				t->seq++;
			}
			return 0;
		}
		/* n's prefix covers ours: go down. */
		slot = &n->child[key_bit(k.w, n->cidr)];
	}

	fresh = node_new(k, cidr, owner);
	if (!fresh)
		return -ENOMEM;
	if (!n) {
		/* An empty slot below every prefix that covers ours. */
		*slot = fresh;
		fresh->parent = parent;
	} else if (common == cidr) {
		/* Ours covers n: it goes between n and its parent. */
		*slot = fresh;
		fresh->parent = parent;
		set_child(fresh, n);
	} else {
		/* n and ours part ways after `common` bits: they become the
		 * two children of a new branch node there. */
		fork = node_new(key_mask(k, common), common, NULL);
		if (!fork) {
			free(fresh);
			return -ENOMEM;
		}
		*slot = fork;
		fork->parent = parent;
		set_child(fork, n);
		set_child(fork, fresh);
	}
	t->seq++;
	return 0;
}

/* The node holding exactly the (masked) prefix k/cidr, or NULL. */
static struct allowedips_node *find_exact(struct allowedips_node *n,
					  const struct key *k, unsigned cidr)
{
	while (n && n->cidr <= cidr && node_covers(n, k->w)) {
		if (n->cidr == cidr)
			return n;
		n = n->child[key_bit(k->w, n->cidr)];
	}
	return NULL;
}

int allowedips_remove(struct allowedips *t, enum ip_family family,
		      const uint8_t *ip, uint8_t cidr, void *owner)
{
	unsigned maxbits = max_cidr(family);
	struct allowedips_node **root, *n, *parent;
	struct key k;

	if (!maxbits || cidr > maxbits)
		return -EINVAL;
	k = key_mask(key_load(family, ip), cidr);
	root = root_of(t, family);
	n = find_exact(*root, &k, cidr);
	if (!n || !n->owner || n->owner != owner)
		return -ENOENT;

	n->owner = NULL;
	parent = n->parent;
	/* A leaf gone may leave its parent a branch node with one child. */
	if (prune(root, n) && parent)
		prune(root, parent);
	t->seq++;
	return 0;
}

static bool remove_owner_from(struct allowedips_node **root, void *owner)
{
	struct allowedips_node *n = deepest_first(*root), *next;
	bool changed = false;

	/* Children come before their parent, so when a node is judged its
	 * subtrees are final, and pruning it touches only its parent's slot. */
	for (; n; n = next) {
		next = postorder_next(n);
		if (n->owner == owner) {
			n->owner = NULL;
			changed = true;
		}
		prune(root, n);
	}
	return changed;
}

void allowedips_remove_by_owner(struct allowedips *t, void *owner)
{
	bool changed;

	if (!owner)
		return;
	changed = remove_owner_from(&t->root4, owner);
	changed |= remove_owner_from(&t->root6, owner);
	if (changed)
		t->seq++;
}

void *allowedips_lookup(const struct allowedips *t, enum ip_family family,
			const uint8_t *ip)
{
	const struct allowedips_node *n, *best = NULL;
	struct key k;

	if (family == IP_V4)
		n = t->root4;
	else if (family == IP_V6)
		n = t->root6;
	else
		return NULL;
	k = key_load(family, ip);

	while (n && node_covers(n, k.w)) {
		if (n->owner)
			best = n;
		if (n->cidr == 128)
			break;
		n = n->child[key_bit(k.w, n->cidr)];
	}
	return best ? best->owner : NULL;
}

/* Pre-order: a prefix, then the ones under it with a 0, then with a 1. The
 * order is ascending by (address, cidr). */
static bool walk_family(const struct allowedips_node *n, enum ip_family family,
			void *owner, allowedips_walk_fn fn, void *ctx)
{
	uint8_t ip[16];

	while (n) {
		if (n->owner == owner) {
			be64_put(ip, n->key[0]);
			be64_put(ip + 8, n->key[1]);
			if (!fn(ctx, family, ip, n->cidr))
				return false;
		}
		if (n->child[0] || n->child[1]) {
			n = n->child[0] ? n->child[0] : n->child[1];
			continue;
		}
		/* Climb to the first ancestor with an unvisited right side. */
		for (;;) {
			const struct allowedips_node *p = n->parent;

			if (!p) {
				n = NULL;
				break;
			}
			if (p->child[0] == n && p->child[1]) {
				n = p->child[1];
				break;
			}
			n = p;
		}
	}
	return true;
}

void allowedips_walk_by_owner(const struct allowedips *t, void *owner,
			      allowedips_walk_fn fn, void *ctx)
{
	if (!owner)
		return;
	if (walk_family(t->root4, IP_V4, owner, fn, ctx))
		walk_family(t->root6, IP_V6, owner, fn, ctx);
}
