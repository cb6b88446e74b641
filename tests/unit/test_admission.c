/* test_admission.c - passcode admission end to end with fixed keys, a
 * counter for randomness and a counter clock: known answers from an
 * independent model, the round trip with the address pool, and rejection
 * of every tampered, replayed, misaddressed or malformed message without
 * any change of state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/addrpool.h"
#include "core/admission.h"
#include "core/allowedips.h"
#include "core/cookie.h"
#include "core/noise.h"
#include "crypto/blake2s.h"
#include "crypto/ct.h"
#include "crypto/x25519.h"

#define NOW (1000 * NSEC_PER_SEC)
#define PASSCODE "correct horse battery staple"

/* Tiny Argon2id limits (libsodium's minimum); production uses
 * ADMISSION_PWHASH_*. */
static const struct admission_pwhash_limits tiny = { 1, 8192 };

/* ---- fakes ---------------------------------------------------------- */

struct fake {
	uint8_t next;
	uint64_t sec;
};

static void fake_random(void *ctx, void *buf, size_t len)
{
	struct fake *f = ctx;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = f->next++;
}

static void fake_tai64n(void *ctx, uint8_t out[NOISE_TIMESTAMP_LEN])
{
	struct fake *f = ctx;
	uint64_t label = (1ULL << 62) + ++f->sec;

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(label >> (56 - 8 * i));
	memset(out + 8, 0, 4);
}

struct party {
	struct noise_local local;
	struct fake fake;
	struct noise_ops ops;
};

static void seq(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static void party_init(struct party *p, uint8_t key_start, uint8_t random_start)
{
	uint8_t priv[NOISE_PUBLIC_KEY_LEN];

	memset(p, 0, sizeof(*p));
	seq(priv, sizeof(priv), key_start);
	assert_true(noise_local_set_private(&p->local, priv));
	p->fake.next = random_start;
	p->fake.sec = 1600000000;
	p->ops = (struct noise_ops){ .ctx = &p->fake, .random = fake_random,
				     .tai64n = fake_tai64n };
}

static size_t unhex(uint8_t *out, size_t max, const char *hex)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;

		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		assert_true(n < max);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* ---- the world: server key 41..60, client key 01..20 ------------------ */

/* K_pass of PASSCODE for the server key, computed once. */
static uint8_t kpass[ADMISSION_KEY_LEN];

struct world {
	struct party server, client;
	struct admission_server *srv;
	struct admission_client cl;
};

static struct world *world_new(bool server_passcode, const uint8_t *client_kpass)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->srv = calloc(1, sizeof(*w->srv));
	assert_non_null(w->srv);
	party_init(&w->server, 0x41, 0x90);
	party_init(&w->client, 0x01, 0x10);
	assert_true(admission_server_init(w->srv, &w->server.local,
					  server_passcode ? kpass : NULL,
					  &w->server.ops));
	assert_true(admission_client_init(&w->cl, &w->client.local,
					  w->server.local.static_public,
					  client_kpass));
	return w;
}

static void world_free(struct world *w)
{
	admission_server_clear(w->srv);
	free(w->srv);
	crypto_wipe(w, sizeof(*w));
	free(w);
}

static struct ip_prefix pfx(uint8_t family, uint8_t cidr, const char *text)
{
	struct ip_prefix p;

	assert_true(addrpool_prefix_parse(&p, text, strlen(text)));
	assert_int_equal(p.family, family);
	p.cidr = cidr;
	return p;
}

/* The KAT's local subnets: 192.168.1.0/24 and fd00:1::/64. */
static void kat_avoid(struct ip_prefix avoid[2])
{
	avoid[0] = pfx(IP_V4, 24, "192.168.1.0");
	avoid[1] = pfx(IP_V6, 64, "fd00:1::");
}

/* The KAT's grant: 10.66.0.2/16, fd66::2/64, server .1 / ::1, DNS .1. */
static void kat_grant(struct admission_grant *g)
{
	memset(g, 0, sizeof(*g));
	g->status = ADMISSION_STATUS_OK;
	g->address4 = pfx(IP_V4, 16, "10.66.0.2");
	g->address6 = pfx(IP_V6, 64, "fd66::2");
	g->server4 = pfx(IP_V4, 16, "10.66.0.1");
	g->server6 = pfx(IP_V6, 64, "fd66::1");
	g->dns[0] = pfx(IP_V4, 32, "10.66.0.1");
	g->n_dns = 1;
}

static void make_request(struct world *w, uint8_t msg[ADMISSION_REQUEST_LEN])
{
	struct ip_prefix avoid[2];

	kat_avoid(avoid);
	assert_true(admission_request_create(msg, &w->cl, &w->client.local,
					     avoid, 2, NOW, &w->client.ops));
}

static void assert_prefix_equal(const struct ip_prefix *a,
				const struct ip_prefix *b)
{
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->cidr, b->cidr);
	assert_memory_equal(a->addr, b->addr, sizeof(a->addr));
}

static void assert_grant_equal(const struct admission_grant *a,
			       const struct admission_grant *b)
{
	assert_int_equal(a->status, b->status);
	assert_prefix_equal(&a->address4, &b->address4);
	assert_prefix_equal(&a->address6, &b->address6);
	assert_prefix_equal(&a->server4, &b->server4);
	assert_prefix_equal(&a->server6, &b->server6);
	assert_int_equal(a->n_dns, b->n_dns);
	for (size_t i = 0; i < a->n_dns; i++)
		assert_prefix_equal(&a->dns[i], &b->dns[i]);
}

/* Re-mac a request for the key S, so that a change gets past mac1 to the
 * cryptography behind it. */
static void remac_request(uint8_t *msg, const uint8_t S[NOISE_PUBLIC_KEY_LEN])
{
	struct cookie_maker m;

	cookie_maker_init(&m, S);
	cookie_add_mac_to_packet(msg, ADMISSION_REQUEST_LEN, &m, NOW);
}

static void remac_response(uint8_t *msg, const uint8_t C[NOISE_PUBLIC_KEY_LEN])
{
	static const uint8_t label[8] = "mac1----";
	uint8_t key[32];
	size_t off = offsetof(struct message_admission_response, mac1);

	blake2s256(key, label, sizeof(label), C, NOISE_PUBLIC_KEY_LEN);
	blake2s_keyed(msg + off, COOKIE_MAC_LEN, key, sizeof(key), msg, off);
}

/* ---- known answers -------------------------------------------------- */

/* Produced by an independent Python model of admission.h (hashlib.blake2s,
 * hmac, and the X25519, ChaCha20Poly1305 and Argon2id classes of the
 * `cryptography` package) with this file's keys and fakes: client random
 * bytes from 0x10 (index 10..13, ephemeral 14..33), server random bytes
 * from 0x90 (table key 90..af, ephemeral b0..cf), timestamp 2^62 +
 * 1600000001 s, Argon2id t=1, m=8 KiB, p=1. */
static const char kat_passcode_key[] =
	"47f8da70801aadde6ad408d78e310ba6267a6899bbdeb552f027163e32cc71d2";
static const char kat_request[] =
	"5701000010111213a324b0d9e437a2c02411906354aeaf60d6cebab4c8be9faf"
	"6eeceac9f1c0987fded0a1d9096d6795b3a089c8df5093042cefd47eb64a888e"
	"fed047f9a7b36d3470359417577a9c40d529c037b93c97674c40bbc426ef8a37"
	"15dd1211817ccb32d3cae4081159d3471ce1147b3fb41263104a98af1e3181ed"
	"cfa7ecd774ecceb38250318a5f832ae221f1d8d80b2ed56fd8923088da5f03a3"
	"81920ddab78f22ee2afd294225d32af78a5c968f8d7a4baf2f328ee4c54d4009"
	"6285899a37731d5c8c6320078bda707b63ead5773a7c968df498c51e3812453b"
	"6cd91d271585f5afec6a1a06ced6c90caba2cd53a82695912fcf25486350f477"
	"cfcfa6fa1108b88b1f07a4f86197d844147dd587ce68a21c96d42e7105f6422e"
	"9f05129cc86737560466fae31baf189be81ea08e1b2db4f2c95daf6559fe57f7"
	"042d63867f572f7b00000000000000000000000000000000";
static const char kat_response[] =
	"57020000101112133f3e5f6d86926c9c128cf84581574f96840d98ee5ab53b1e"
	"c3b76e2bb25b945ec9f490ae1073b48e9a780dcbd989cc466c7fab80f043c3b4"
	"96bf484e16e8ada044bd91656758a9035bb73e00abdb4ce3eeeb8d99580eb2d6"
	"ca67cf3f14376c328bf69e9f7f0bd0c84f8e97c13af043e26e95788c81202486"
	"73c1e0e87502cdc497b0294e4888d7c6faffc01fddf53c3886fc1780c77c68aa"
	"5c0d8f579f15609880b2a76ba839359977bf245cab6b91c4144d0d83c3437bfd"
	"1326bc9d";
/* Authentic requests (KAT keys and randomness) with one payload rule broken. */
static const char bad_request_count_9[] =
	"5701000010111213a324b0d9e437a2c02411906354aeaf60d6cebab4c8be9faf"
	"6eeceac9f1c0987fded0a1d9096d6795b3a089c8df5093042cefd47eb64a888e"
	"fed047f9a7b36d3470359417577a9c40d529c037b93c97674c40bbc426ef8a37"
	"15dd1211817ccb32d3cae4081159d3471ce1147b3fb41263104a98af1e3181ed"
	"cfa7ecd77fecceb38250318a5f832ae221f1d8d80b2ed56fd8923088da5f03a3"
	"81920ddab78f22ee2afd294225d32af78a5c968f8d7a4baf2f328ee4c54d4009"
	"6285899a37731d5c8c6320078bda707b63ead5773a7c968df498c51e3812453b"
	"6cd91d271585f5afec6a1a06ced6c90caba2cd53a82695912fcf25486350f477"
	"cfcfa6fa1108b88b1f07a4f86197d844147dd587ce68a21c96d42e7105f6422e"
	"9f05129cc86737562261d9f6dd6848325b9d93147bb103ddcfe1e372ccc8559e"
	"13e6ef8ee53e093c00000000000000000000000000000000";
static const char bad_request_count_short[] =
	"5701000010111213a324b0d9e437a2c02411906354aeaf60d6cebab4c8be9faf"
	"6eeceac9f1c0987fded0a1d9096d6795b3a089c8df5093042cefd47eb64a888e"
	"fed047f9a7b36d3470359417577a9c40d529c037b93c97674c40bbc426ef8a37"
	"15dd1211817ccb32d3cae4081159d3471ce1147b3fb41263104a98af1e3181ed"
	"cfa7ecd777ecceb38250318a5f832ae221f1d8d80b2ed56fd8923088da5f03a3"
	"81920ddab78f22ee2afd294225d32af78a5c968f8d7a4baf2f328ee4c54d4009"
	"6285899a37731d5c8c6320078bda707b63ead5773a7c968df498c51e3812453b"
	"6cd91d271585f5afec6a1a06ced6c90caba2cd53a82695912fcf25486350f477"
	"cfcfa6fa1108b88b1f07a4f86197d844147dd587ce68a21c96d42e7105f6422e"
	"9f05129cc867375652f01fe9ad846b211f2a6ecaef393ebea60c0a03b5f17b78"
	"694ed8383376e3b700000000000000000000000000000000";
static const char bad_request_reserved[] =
	"5701000010111213a324b0d9e437a2c02411906354aeaf60d6cebab4c8be9faf"
	"6eeceac9f1c0987fded0a1d9096d6795b3a089c8df5093042cefd47eb64a888e"
	"fed047f9a7b36d3470359417577a9c40d529c037b93c97674c40bbc426ef8a37"
	"15dd1211817ccb32d3cae4081159d3471ce1147b3fb41263104a98af1e3181ed"
	"cfa7ecd774eccfb38250318a5f832ae221f1d8d80b2ed56fd8923088da5f03a3"
	"81920ddab78f22ee2afd294225d32af78a5c968f8d7a4baf2f328ee4c54d4009"
	"6285899a37731d5c8c6320078bda707b63ead5773a7c968df498c51e3812453b"
	"6cd91d271585f5afec6a1a06ced6c90caba2cd53a82695912fcf25486350f477"
	"cfcfa6fa1108b88b1f07a4f86197d844147dd587ce68a21c96d42e7105f6422e"
	"9f05129cc8673756d2ba1412d3b09e3704a1073d6096a5a1ee32f53f6b87b48c"
	"b30aa7520536762900000000000000000000000000000000";
static const char bad_request_host_bits[] =
	"5701000010111213a324b0d9e437a2c02411906354aeaf60d6cebab4c8be9faf"
	"6eeceac9f1c0987fded0a1d9096d6795b3a089c8df5093042cefd47eb64a888e"
	"fed047f9a7b36d3470359417577a9c40d529c037b93c97674c40bbc426ef8a37"
	"15dd1211817ccb32d3cae4081159d3471ce1147b3fb41263104a98af1e3181ed"
	"cfa7ecd777ecceb38250318a5f832ae521f1d8d80b2ed56fd8923088dc1f03a3"
	"7c920ddbb78f22ee2afd294225d32af78a5c968f8d7a4baf2f328ee4c54d4009"
	"6285899a37731d5c8c6320078bda707b63ead5773a7c968df498c51e3812453b"
	"6cd91d271585f5afec6a1a06ced6c90caba2cd53a82695912fcf25486350f477"
	"cfcfa6fa1108b88b1f07a4f86197d844147dd587ce68a21c96d42e7105f6422e"
	"9f05129cc8673756d22731af7ef63eb16560b8d2108397c27a364f11b002ee31"
	"e08e5097a191691700000000000000000000000000000000";
static const char bad_request_cidr_33[] =
	"5701000010111213a324b0d9e437a2c02411906354aeaf60d6cebab4c8be9faf"
	"6eeceac9f1c0987fded0a1d9096d6795b3a089c8df5093042cefd47eb64a888e"
	"fed047f9a7b36d3470359417577a9c40d529c037b93c97674c40bbc426ef8a37"
	"15dd1211817ccb32d3cae4081159d3471ce1147b3fb41263104a98af1e3181ed"
	"cfa7ecd777ecceb38269318a5f832ae221f1d8d80b2ed56fd8923088dc1f03a3"
	"7c920ddbb78f22ee2afd294225d32af78a5c968f8d7a4baf2f328ee4c54d4009"
	"6285899a37731d5c8c6320078bda707b63ead5773a7c968df498c51e3812453b"
	"6cd91d271585f5afec6a1a06ced6c90caba2cd53a82695912fcf25486350f477"
	"cfcfa6fa1108b88b1f07a4f86197d844147dd587ce68a21c96d42e7105f6422e"
	"9f05129cc867375631171185fbfd05446dd785be61d5c71d9efad437871604d0"
	"b3e124286fb2f66100000000000000000000000000000000";
static const char bad_request_family_5[] =
	"5701000010111213a324b0d9e437a2c02411906354aeaf60d6cebab4c8be9faf"
	"6eeceac9f1c0987fded0a1d9096d6795b3a089c8df5093042cefd47eb64a888e"
	"fed047f9a7b36d3470359417577a9c40d529c037b93c97674c40bbc426ef8a37"
	"15dd1211817ccb32d3cae4081159d3471ce1147b3fb41263104a98af1e3181ed"
	"cfa7ecd777ecceb38340318a952b2be221f1d8d80b2ed56fd8923088dc1f03a3"
	"7c920ddbb78f22ee2afd294225d32af78a5c968f8d7a4baf2f328ee4c54d4009"
	"6285899a37731d5c8c6320078bda707b63ead5773a7c968df498c51e3812453b"
	"6cd91d271585f5afec6a1a06ced6c90caba2cd53a82695912fcf25486350f477"
	"cfcfa6fa1108b88b1f07a4f86197d844147dd587ce68a21c96d42e7105f6422e"
	"9f05129cc86737565ed4b1c3e03532155560a7630f6eb2998d349600be3fb422"
	"ce1a399dfe4fc74e00000000000000000000000000000000";
static const char bad_request_v4_tail[] =
	"5701000010111213a324b0d9e437a2c02411906354aeaf60d6cebab4c8be9faf"
	"6eeceac9f1c0987fded0a1d9096d6795b3a089c8df5093042cefd47eb64a888e"
	"fed047f9a7b36d3470359417577a9c40d529c037b93c97674c40bbc426ef8a37"
	"15dd1211817ccb32d3cae4081159d3471ce1147b3fb41263104a98af1e3181ed"
	"cfa7ecd777ecceb38240318a952b2be221f1d8d90b2ed56fd8923088dc1f03a3"
	"7c920ddbb78f22ee2afd294225d32af78a5c968f8d7a4baf2f328ee4c54d4009"
	"6285899a37731d5c8c6320078bda707b63ead5773a7c968df498c51e3812453b"
	"6cd91d271585f5afec6a1a06ced6c90caba2cd53a82695912fcf25486350f477"
	"cfcfa6fa1108b88b1f07a4f86197d844147dd587ce68a21c96d42e7105f6422e"
	"9f05129cc8673756ce2390efe84224bce5cad54c65d00cd79070dffe20440c80"
	"358e7b328cd45d3d00000000000000000000000000000000";
static const char bad_request_rec_reserved[] =
	"5701000010111213a324b0d9e437a2c02411906354aeaf60d6cebab4c8be9faf"
	"6eeceac9f1c0987fded0a1d9096d6795b3a089c8df5093042cefd47eb64a888e"
	"fed047f9a7b36d3470359417577a9c40d529c037b93c97674c40bbc426ef8a37"
	"15dd1211817ccb32d3cae4081159d3471ce1147b3fb41263104a98af1e3181ed"
	"cfa7ecd777ecceb38240318b952b2be221f1d8d80b2ed56fd8923088dc1f03a3"
	"7c920ddbb78f22ee2afd294225d32af78a5c968f8d7a4baf2f328ee4c54d4009"
	"6285899a37731d5c8c6320078bda707b63ead5773a7c968df498c51e3812453b"
	"6cd91d271585f5afec6a1a06ced6c90caba2cd53a82695912fcf25486350f477"
	"cfcfa6fa1108b88b1f07a4f86197d844147dd587ce68a21c96d42e7105f6422e"
	"9f05129cc867375680f66eac2cbece044609efdb1c5f0ccde6fada42ce28e60e"
	"748b41ef4e8a5dcd00000000000000000000000000000000";
/* Authentic responses to kat_request with one payload rule broken. */
static const char bad_response_status_5[] =
	"57020000101112133f3e5f6d86926c9c128cf84581574f96840d98ee5ab53b1e"
	"c3b76e2bb25b945eccf590ae1463b48e903a0dc9d989cc466c7fab80f043c3b4"
	"90ff484eeb8eada044bd91656758a9035bb73e02afcb4ce3e4a98d98580eb2d6"
	"ca67cf3f14376c328db69e9f826dd0c84f8e97c13af043e26e95788d85002486"
	"7983e0e97502cdc497b0294e4888d7c6faffc01fddf53c3886fc1780c77c68aa"
	"5c0d8f578296c08b0625778842a95decd3d5297d9a4d7435b3ddca834f5f786f"
	"047831dc";
static const char bad_response_ok_no_address[] =
	"57020000101112133f3e5f6d86926c9c128cf84581574f96840d98ee5ab53b1e"
	"c3b76e2bb25b945ec9f590ae1463b48e903a0dc9d989cc466c7fab80f043c3b4"
	"90ff484eeb8eada044bd91656758a9035bb73e02abdb4ce3eeeb8d99580eb2d6"
	"ca67cf3f14376c328db69e9f826dd0c84f8e97c13af043e26e95788d85002486"
	"7983e0e97502cdc497b0294e4888d7c6faffc01fddf53c3886fc1780c77c68aa"
	"5c0d8f576d8d22b9f7ddcd95b01854d92a578aa6b131efaa297836425afcdc63"
	"8ac5599e";
static const char bad_response_refusal_with_address[] =
	"57020000101112133f3e5f6d86926c9c128cf84581574f96840d98ee5ab53b1e"
	"c3b76e2bb25b945ecbf590ae1073b48e9a780dcbd989cc466c7fab80f043c3b4"
	"90ff484eeb8eada044bd91656758a9035bb73e02afcb4ce3e4a98d98580eb2d6"
	"ca67cf3f14376c328db69e9f826dd0c84f8e97c13af043e26e95788d85002486"
	"7983e0e97502cdc497b0294e4888d7c6faffc01fddf53c3886fc1780c77c68aa"
	"5c0d8f57e20e01ace096a47239d210a17b50cfbafed9a5248882c4ecc8a4b643"
	"12952f74";
static const char bad_response_dns_count_3[] =
	"57020000101112133f3e5f6d86926c9c128cf84581574f96840d98ee5ab53b1e"
	"c3b76e2bb25b945ec9f690ae1073b48e9a780dcbd989cc466c7fab80f043c3b4"
	"90ff484eeb8eada044bd91656758a9035bb73e02afcb4ce3e4a98d98580eb2d6"
	"ca67cf3f14376c328db69e9f826dd0c84f8e97c13af043e26e95788d85002486"
	"7983e0e97502cdc497b0294e4888d7c6faffc01fddf53c3886fc1780c77c68aa"
	"5c0d8f5777ca87a33910c08b0d4a53243b5778ff57cc5a4ee2c63c0b56d11e61"
	"4c4c378c";
static const char bad_response_dns_not_host[] =
	"57020000101112133f3e5f6d86926c9c128cf84581574f96840d98ee5ab53b1e"
	"c3b76e2bb25b945ec9f490ae1073b48e9a780dcbd989cc466c7fab80f043c3b4"
	"90ff484eeb8eada044bd91656758a9035bb73e02afcb4ce3e4a98d98580eb2d6"
	"ca67cf3f14376c328db69e9f826dd0c84f8e97c13af043e26e95788d81182486"
	"73c1e0e97502cdc497b0294e4888d7c6faffc01fddf53c3886fc1780c77c68aa"
	"5c0d8f5707d8e7409a085649dab4557c8b6f057be90ab45fb800cceab07bb8ec"
	"3497c225";
static const char bad_response_dns_unused_set[] =
	"57020000101112133f3e5f6d86926c9c128cf84581574f96840d98ee5ab53b1e"
	"c3b76e2bb25b945ec9f590ae1073b48e9a780dcbd989cc466c7fab80f043c3b4"
	"90ff484eeb8eada044bd91656758a9035bb73e02afcb4ce3e4a98d98580eb2d6"
	"ca67cf3f14376c328db69e9f826dd0c84f8e97c13af043e26e95788d81202486"
	"73c1e0e87502cdc497b0294e4888d7c6faffc01fddf53c3886fc1780c77c68aa"
	"5c0d8f57f27b89790120eeb75726c7cf3e09f205060737111e75c32aea670d07"
	"c2c530bc";
static const char bad_response_v6_in_v4_slot[] =
	"57020000101112133f3e5f6d86926c9c128cf84581574f96840d98ee5ab53b1e"
	"c3b76e2bb25b945ec9f590ae1223b48e6d5c0dc9d989cc466c7fab80f043c3b6"
	"90ff484eeb8eada044bd91656758a9035bb73e02afcb4ce3e4a98d98580eb2d6"
	"ca67cf3f14376c328db69e9f826dd0c84f8e97c13af043e26e95788d85002486"
	"7983e0e97502cdc497b0294e4888d7c6faffc01fddf53c3886fc1780c77c68aa"
	"5c0d8f57e014e3b5dc60ec5e0d92452607d79df76cbf879b1b30a6f7f1deee77"
	"40d2749f";
static const char bad_response_reserved[] =
	"57020000101112133f3e5f6d86926c9c128cf84581574f96840d98ee5ab53b1e"
	"c3b76e2bb25b945ec9f591ae1073b48e9a780dcbd989cc466c7fab80f043c3b4"
	"90ff484eeb8eada044bd91656758a9035bb73e02afcb4ce3e4a98d98580eb2d6"
	"ca67cf3f14376c328db69e9f826dd0c84f8e97c13af043e26e95788d85002486"
	"7983e0e97502cdc497b0294e4888d7c6faffc01fddf53c3886fc1780c77c68aa"
	"5c0d8f57ee84f7c08064fa798362b1b8a5aa45b754b30bcb010049741de8c70e"
	"0b8a4f4e";

static void test_passcode_key(void **state)
{
	struct world *w;
	uint8_t k[ADMISSION_KEY_LEN], k2[ADMISSION_KEY_LEN];
	uint8_t want[ADMISSION_KEY_LEN], other[NOISE_PUBLIC_KEY_LEN];

	(void)state;
	w = world_new(true, kpass);
	assert_int_equal(unhex(want, sizeof(want), kat_passcode_key), sizeof(want));
	assert_memory_equal(kpass, want, sizeof(want));

	/* Another server, another key; another passcode, another key. */
	memcpy(other, w->server.local.static_public, sizeof(other));
	other[0] ^= 1;
	assert_true(admission_passcode_key(k, PASSCODE, strlen(PASSCODE), other,
					   &tiny));
	assert_memory_not_equal(k, kpass, sizeof(k));
	assert_true(admission_passcode_key(k2, "correct horse battery stapler",
					   strlen(PASSCODE) + 1,
					   w->server.local.static_public, &tiny));
	assert_memory_not_equal(k2, kpass, sizeof(k2));

	/* Bad lengths and limits leave a zero key. */
	memset(k, 0xaa, sizeof(k));
	assert_false(admission_passcode_key(k, "", 0,
					    w->server.local.static_public, &tiny));
	assert_true(crypto_is_zero(k, sizeof(k)));
	{
		char *big = malloc(ADMISSION_PASSCODE_MAX + 1);
		struct admission_pwhash_limits too_small = { 0, 8192 };

		assert_non_null(big);
		memset(big, 'x', ADMISSION_PASSCODE_MAX + 1);
		assert_false(admission_passcode_key(k, big,
						    ADMISSION_PASSCODE_MAX + 1,
						    other, &tiny));
		assert_true(admission_passcode_key(k, big, ADMISSION_PASSCODE_MAX,
						   other, &tiny));
		memset(k, 0xaa, sizeof(k));
		assert_false(admission_passcode_key(k, big, 8, other,
						    &too_small));
		assert_true(crypto_is_zero(k, sizeof(k)));
		free(big);
	}
	/* An all-zero K_pass (a failed derivation) is refused by both sides. */
	{
		struct admission_server *s = calloc(1, sizeof(*s));
		struct admission_client c;

		assert_non_null(s);
		memset(k, 0, sizeof(k));
		assert_false(admission_server_init(s, &w->server.local, k,
						   &w->server.ops));
		assert_false(admission_client_init(&c, &w->client.local,
						   w->server.local.static_public,
						   k));
		free(s);
	}
	world_free(w);
}

static void test_known_answer(void **state)
{
	struct world *w = world_new(true, kpass);
	uint8_t req[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN];
	uint8_t want[ADMISSION_REQUEST_LEN];
	struct admission_request r;
	struct admission_grant g, got;

	(void)state;
	make_request(w, req);
	assert_int_equal(unhex(want, sizeof(want), kat_request), sizeof(req));
	assert_memory_equal(req, want, sizeof(req));
	assert_int_equal(admission_message_kind(req, sizeof(req)),
			 ADMISSION_KIND_REQUEST);

	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	kat_grant(&g);
	assert_true(admission_response_create(resp, &r, &g, &w->server.ops));
	assert_int_equal(unhex(want, sizeof(want), kat_response), sizeof(resp));
	assert_memory_equal(resp, want, sizeof(resp));
	assert_int_equal(admission_message_kind(resp, sizeof(resp)),
			 ADMISSION_KIND_RESPONSE);

	assert_true(admission_response_consume(&w->cl, &w->client.local, resp,
					       sizeof(resp), &got));
	assert_grant_equal(&got, &g);
	world_free(w);
}

/* The whole exchange with the address pool behind the server, twice: the
 * second admission of the same key gets the same addresses. */
static void test_round_trip_with_pool(void **state)
{
	struct world *w = world_new(true, kpass);
	struct addrpool *pool = calloc(1, sizeof(*pool));
	uint8_t req[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN];
	uint8_t hash_key[ADDRPOOL_HASH_KEY_LEN] = { 7 };
	struct ip_prefix net4 = pfx(IP_V4, 16, "10.66.0.0");
	struct ip_prefix net6 = pfx(IP_V6, 64, "fd66::");
	struct admission_request r;
	struct admission_grant g, got, first;
	struct ip_prefix avoid[2];

	(void)state;
	assert_non_null(pool);
	assert_true(addrpool_init(pool, &net4, &net6, hash_key));
	kat_avoid(avoid);

	for (int round = 0; round < 2; round++) {
		make_request(w, req);
		assert_int_equal(admission_request_consume(w->srv,
				 &w->server.local, req, sizeof(req),
				 NOW + (uint64_t)round * NSEC_PER_SEC, &r),
				 ADMISSION_ADMISSIBLE);
		/* What the server learnt. */
		assert_int_equal(r.proof, ADMISSION_PROOF_VALID);
		assert_memory_equal(r.client_static,
				    w->client.local.static_public, 32);
		assert_int_equal(r.n_avoid, 2);
		assert_prefix_equal(&r.avoid[0], &avoid[0]);
		assert_prefix_equal(&r.avoid[1], &avoid[1]);
		assert_int_equal(r.timestamp[7],
				 (uint8_t)(1600000001 + round));

		memset(&g, 0, sizeof(g));
		g.status = ADMISSION_STATUS_OK;
		assert_int_equal(addrpool_assign(pool, r.client_static, r.avoid,
						 r.n_avoid, &g.address4,
						 &g.address6), ADDRPOOL_OK);
		addrpool_server_address(pool, &g.server4, &g.server6);
		g.dns[0] = g.server6;
		g.dns[0].cidr = 128;
		g.n_dns = 1;
		assert_true(admission_response_create(resp, &r, &g,
						      &w->server.ops));
		/* Answered once; the client key stays for the caller. */
		assert_false(r.answerable);
		assert_true(crypto_is_zero(r.chaining_key, sizeof(r.chaining_key)));
		assert_memory_equal(r.client_static,
				    w->client.local.static_public, 32);
		{
			uint8_t again[ADMISSION_RESPONSE_LEN];

			assert_false(admission_response_create(again, &r, &g,
							       &w->server.ops));
			assert_true(crypto_is_zero(again, sizeof(again)));
		}
		assert_true(admission_response_consume(&w->cl, &w->client.local,
						       resp, sizeof(resp), &got));
		assert_grant_equal(&got, &g);
		assert_false(w->cl.waiting);
		if (round == 0)
			first = got;
		else
			assert_grant_equal(&got, &first);
	}
	assert_int_equal(first.address4.cidr, 16);
	assert_int_equal(first.address6.cidr, 64);
	free(pool);
	world_free(w);
}

static void test_wrong_passcode(void **state)
{
	uint8_t other[ADMISSION_KEY_LEN];
	struct world *w;
	struct admission_server *before;
	uint8_t req[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN];
	struct admission_request r;
	struct admission_grant g, got;

	(void)state;
	/* K_pass of a wrong passcode for the right server. */
	w = world_new(true, kpass);
	assert_true(admission_passcode_key(other, "wrong", 5,
					   w->server.local.static_public, &tiny));
	world_free(w);
	w = world_new(true, other);

	before = malloc(sizeof(*before));
	assert_non_null(before);
	memcpy(before, w->srv, sizeof(*before));
	make_request(w, req);
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_WRONG_PASSCODE);
	assert_int_equal(r.proof, ADMISSION_PROOF_INVALID);
	assert_memory_equal(r.client_static, w->client.local.static_public, 32);
	/* A wrong guess changes nothing: the same request comes back the
	 * same way (not as a replay), and locks nobody out. */
	assert_memory_equal(before, w->srv, sizeof(*before));

	/* The server refuses to grant anything but BAD_PASSCODE to it. */
	kat_grant(&g);
	{
		struct admission_request copy = r;

		assert_false(admission_response_create(resp, &copy, &g,
						       &w->server.ops));
	}
	memset(&g, 0, sizeof(g));
	g.status = ADMISSION_STATUS_BAD_PASSCODE;
	assert_true(admission_response_create(resp, &r, &g, &w->server.ops));
	assert_true(admission_response_consume(&w->cl, &w->client.local, resp,
					       sizeof(resp), &got));
	assert_int_equal(got.status, ADMISSION_STATUS_BAD_PASSCODE);
	assert_int_equal(got.address4.family, 0);

	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_WRONG_PASSCODE);
	admission_request_clear(&r);
	free(before);
	world_free(w);

	/* A client without a passcode sends a zero proof: wrong too. */
	w = world_new(true, NULL);
	make_request(w, req);
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_WRONG_PASSCODE);
	admission_request_clear(&r);
	world_free(w);
}

/* A server without a passcode admits anyone; the proof is not looked at. */
static void test_open_server(void **state)
{
	uint8_t req[ADMISSION_REQUEST_LEN];
	struct admission_request r;
	struct world *w;

	(void)state;
	w = world_new(false, NULL);
	make_request(w, req);
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	assert_int_equal(r.proof, ADMISSION_PROOF_NOT_REQUIRED);
	admission_request_clear(&r);
	world_free(w);

	w = world_new(false, kpass);
	make_request(w, req);
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	admission_request_clear(&r);
	world_free(w);
}

/* Every bit of the request, flipped: rejected with no change, whether mac1
 * catches it or (re-macced) the cryptography behind it. mac2 is the
 * caller's check under load (see test_cookie_under_load). */
static void test_request_bit_flips(void **state)
{
	struct world *w = world_new(true, kpass);
	struct admission_server *before = malloc(sizeof(*before));
	uint8_t req[ADMISSION_REQUEST_LEN], bad[ADMISSION_REQUEST_LEN];
	size_t mac2 = offsetof(struct message_admission_request, macs.mac2);
	size_t mac1 = offsetof(struct message_admission_request, macs.mac1);
	struct admission_request r;
	unsigned checked = 0;

	(void)state;
	assert_non_null(before);
	make_request(w, req);
	memcpy(before, w->srv, sizeof(*before));
	for (size_t i = 0; i < mac2; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, req, sizeof(bad));
			bad[i] ^= (uint8_t)(1 << bit);
			assert_int_equal(admission_request_consume(w->srv,
					 &w->server.local, bad, sizeof(bad),
					 NOW, &r), ADMISSION_INVALID);
			assert_true(crypto_is_zero(&r, sizeof(r)));
			if (i < mac1) {
				remac_request(bad, w->server.local.static_public);
				assert_int_equal(admission_request_consume(
					w->srv, &w->server.local, bad,
					sizeof(bad), NOW, &r),
					ADMISSION_INVALID);
			}
			checked++;
		}
		assert_memory_equal(before, w->srv, sizeof(*before));
	}
	assert_int_equal(checked, mac2 * 8);
	/* The untouched request still goes through. */
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	admission_request_clear(&r);
	free(before);
	world_free(w);
}

static void test_response_bit_flips(void **state)
{
	struct world *w = world_new(true, kpass);
	struct admission_client before;
	uint8_t req[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN];
	uint8_t bad[ADMISSION_RESPONSE_LEN];
	size_t mac1 = offsetof(struct message_admission_response, mac1);
	struct admission_request r;
	struct admission_grant g, got;

	(void)state;
	make_request(w, req);
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	kat_grant(&g);
	assert_true(admission_response_create(resp, &r, &g, &w->server.ops));

	before = w->cl;
	for (size_t i = 0; i < sizeof(resp); i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, resp, sizeof(bad));
			bad[i] ^= (uint8_t)(1 << bit);
			assert_false(admission_response_consume(&w->cl,
				     &w->client.local, bad, sizeof(bad), &got));
			assert_true(crypto_is_zero(&got, sizeof(got)));
			if (i < mac1) {
				remac_response(bad, w->client.local.static_public);
				assert_false(admission_response_consume(&w->cl,
					     &w->client.local, bad, sizeof(bad),
					     &got));
			}
		}
		assert_memory_equal(&before, &w->cl, sizeof(before));
	}
	assert_true(admission_response_consume(&w->cl, &w->client.local, resp,
					       sizeof(resp), &got));
	/* Once: a replayed response finds no request in flight. */
	before = w->cl;
	assert_false(admission_response_consume(&w->cl, &w->client.local, resp,
						sizeof(resp), &got));
	assert_memory_equal(&before, &w->cl, sizeof(before));
	world_free(w);
}

static void test_replay(void **state)
{
	struct world *w = world_new(true, kpass);
	uint8_t old[ADMISSION_REQUEST_LEN], req[ADMISSION_REQUEST_LEN];
	struct admission_server *before = malloc(sizeof(*before));
	struct admission_request r;

	(void)state;
	assert_non_null(before);
	make_request(w, old);		/* timestamp t+1, never delivered */
	make_request(w, req);		/* t+2 */
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	admission_request_clear(&r);

	memcpy(before, w->srv, sizeof(*before));
	/* The same request again, now and long after the window. */
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_REPLAYED);
	assert_true(crypto_is_zero(&r, sizeof(r)));
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
			 req, sizeof(req),
			 NOW + 10 * ADMISSION_REPLAY_WINDOW * NSEC_PER_SEC, &r),
			 ADMISSION_REPLAYED);
	/* An older request of the same key, delivered late. */
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   old, sizeof(old), NOW, &r),
			 ADMISSION_REPLAYED);
	assert_memory_equal(before, w->srv, sizeof(*before));

	/* A newer one is fine. */
	make_request(w, req);
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	admission_request_clear(&r);
	free(before);
	world_free(w);
}

/* The bucket admission.c files a client key under: BLAKE2s keyed with the
 * table key over 'k' || key, first 8 bytes le64, mod the bucket count. */
static size_t known_bucket_of(const struct admission_server *srv,
			      const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t in[33], h[8];
	uint64_t v = 0;

	in[0] = 'k';
	memcpy(in + 1, pub, 32);
	blake2s_keyed(h, sizeof(h), srv->table_key, sizeof(srv->table_key), in,
		      sizeof(in));
	for (int i = 7; i >= 0; i--)
		v = v << 8 | h[i];
	return (size_t)(v % ADMISSION_KNOWN_BUCKETS);
}

static bool known_has(const struct admission_server *srv, const uint8_t *pub)
{
	for (size_t b = 0; b < ADMISSION_KNOWN_BUCKETS; b++)
		for (size_t i = 0; i < ADMISSION_KNOWN_WAYS; i++)
			if (srv->known[b][i].used &&
			    memcmp(srv->known[b][i].client_static, pub, 32) == 0)
				return true;
	return false;
}

/* Five clients whose keys share a bucket of the per-key table: admitting
 * the fifth evicts the least recently admitted, whose replay the recent
 * cache then refuses until the window is over. */
static void test_replay_after_eviction(void **state)
{
	enum { N = ADMISSION_KNOWN_WAYS + 1 };
	struct world *w = world_new(true, kpass);
	struct party clients[N];
	struct admission_client cl;
	uint8_t first[ADMISSION_REQUEST_LEN], req[ADMISSION_REQUEST_LEN];
	struct admission_request r;
	size_t want = SIZE_MAX, n = 0;

	(void)state;
	for (unsigned k = 0; n < N; k++) {
		struct party p;
		size_t b;

		assert_true(k < 200000);
		party_init(&p, 0x01, (uint8_t)(0x20 + n));
		/* A distinct private key per try. */
		{
			uint8_t priv[32];

			seq(priv, sizeof(priv), 0x01);
			/* Not byte 0: clamping clears its low bits. */
			priv[1] = (uint8_t)k;
			priv[2] = (uint8_t)(k >> 8);
			priv[3] = (uint8_t)(k >> 16);
			assert_true(noise_local_set_private(&p.local, priv));
		}
		b = known_bucket_of(w->srv, p.local.static_public);
		if (want == SIZE_MAX)
			want = b;
		if (b != want)
			continue;
		clients[n] = p;
		clients[n].ops.ctx = &clients[n].fake;
		n++;
	}
	for (size_t i = 0; i < N; i++) {
		assert_true(admission_client_init(&cl, &clients[i].local,
						  w->server.local.static_public,
						  kpass));
		assert_true(admission_request_create(req, &cl, &clients[i].local,
						     NULL, 0, NOW,
						     &clients[i].ops));
		if (i == 0)
			memcpy(first, req, sizeof(req));
		assert_int_equal(admission_request_consume(w->srv,
				 &w->server.local, req, sizeof(req),
				 NOW + i * NSEC_PER_SEC, &r),
				 ADMISSION_ADMISSIBLE);
		admission_request_clear(&r);
	}
	assert_false(known_has(w->srv, clients[0].local.static_public));
	for (size_t i = 1; i < N; i++)
		assert_true(known_has(w->srv, clients[i].local.static_public));

	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
			 first, sizeof(first), NOW + N * NSEC_PER_SEC, &r),
			 ADMISSION_REPLAYED);
	/* Documented limit: once both the key and the window are gone, the
	 * old request admits the same key again (same key, same subnets). */
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
			 first, sizeof(first),
			 NOW + (ADMISSION_REPLAY_WINDOW + 1) * NSEC_PER_SEC, &r),
			 ADMISSION_ADMISSIBLE);
	admission_request_clear(&r);
	admission_client_clear(&cl);
	world_free(w);
}

/* A request made for another server: mac1 is wrong; re-macced for this
 * server, the AEAD is; the other server takes it. */
static void test_wrong_server(void **state)
{
	struct world *w = world_new(true, kpass);
	struct party other;
	struct admission_server *osrv = calloc(1, sizeof(*osrv));
	struct admission_client cl;
	uint8_t okey[ADMISSION_KEY_LEN];
	uint8_t req[ADMISSION_REQUEST_LEN];
	struct admission_request r;

	(void)state;
	assert_non_null(osrv);
	party_init(&other, 0x61, 0x30);
	assert_true(admission_passcode_key(okey, PASSCODE, strlen(PASSCODE),
					   other.local.static_public, &tiny));
	assert_true(admission_server_init(osrv, &other.local, okey, &other.ops));
	assert_true(admission_client_init(&cl, &w->client.local,
					  other.local.static_public, okey));
	assert_true(admission_request_create(req, &cl, &w->client.local, NULL,
					     0, NOW, &w->client.ops));

	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_INVALID);
	remac_request(req, w->server.local.static_public);
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_INVALID);
	/* The other server, with its mac1 restored, admits it. */
	remac_request(req, other.local.static_public);
	assert_int_equal(admission_request_consume(osrv, &other.local, req,
						   sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	admission_request_clear(&r);

	/* A server handed another identity than its own refuses all. */
	make_request(w, req);
	assert_int_equal(admission_request_consume(w->srv, &other.local, req,
						   sizeof(req), NOW, &r),
			 ADMISSION_INVALID);
	admission_client_clear(&cl);
	admission_server_clear(osrv);
	free(osrv);
	world_free(w);
}

/* Someone who knows P but not c names c's public key: ss fails. */
static void test_static_not_owned(void **state)
{
	struct world *w = world_new(true, kpass);
	struct party mallory;
	struct noise_local forged;
	struct admission_client cl;
	uint8_t req[ADMISSION_REQUEST_LEN];
	struct admission_request r;

	(void)state;
	party_init(&mallory, 0x71, 0x50);
	forged = mallory.local;
	memcpy(forged.static_public, w->client.local.static_public, 32);
	assert_true(admission_client_init(&cl, &forged,
					  w->server.local.static_public, kpass));
	assert_true(admission_request_create(req, &cl, &forged, NULL, 0, NOW,
					     &mallory.ops));
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_INVALID);
	assert_false(known_has(w->srv, w->client.local.static_public));
	admission_client_clear(&cl);
	world_free(w);
}

static void test_lengths_and_headers(void **state)
{
	struct world *w = world_new(true, kpass);
	uint8_t req[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN];
	uint8_t *big = calloc(1, 2048);
	struct admission_request r;
	struct admission_grant g, got;
	struct admission_client before;

	(void)state;
	assert_non_null(big);
	make_request(w, req);
	memcpy(big, req, sizeof(req));
	for (size_t len = 0; len <= 2048; len++) {
		if (len == sizeof(req))
			continue;
		assert_int_equal(admission_request_consume(w->srv,
				 &w->server.local, big, len, NOW, &r),
				 ADMISSION_INVALID);
	}
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   NULL, 0, NOW, &r),
			 ADMISSION_INVALID);
	assert_int_equal(admission_message_kind(NULL, 0), ADMISSION_KIND_NONE);
	assert_int_equal(admission_message_kind(req, 3), ADMISSION_KIND_NONE);
	/* Type, subtype and reserved bytes, each re-macced. */
	for (size_t i = 0; i < 4; i++) {
		uint8_t bad[ADMISSION_REQUEST_LEN];

		memcpy(bad, req, sizeof(bad));
		bad[i] = i == 1 ? ADMISSION_SUBTYPE_RESPONSE : 0x01;
		remac_request(bad, w->server.local.static_public);
		assert_int_equal(admission_message_kind(bad, sizeof(bad)),
				 ADMISSION_KIND_NONE);
		assert_int_equal(admission_request_consume(w->srv,
				 &w->server.local, bad, sizeof(bad), NOW, &r),
				 ADMISSION_INVALID);
	}
	/* The stock types are never ours. */
	for (uint8_t t = 1; t <= 4; t++) {
		uint8_t bad[ADMISSION_REQUEST_LEN];

		memcpy(bad, req, sizeof(bad));
		bad[0] = t;
		bad[1] = 0;
		assert_int_equal(admission_message_kind(bad, sizeof(bad)),
				 ADMISSION_KIND_NONE);
	}

	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	kat_grant(&g);
	assert_true(admission_response_create(resp, &r, &g, &w->server.ops));
	before = w->cl;
	memset(big, 0, 2048);
	memcpy(big, resp, sizeof(resp));
	for (size_t len = 0; len <= 2048; len++) {
		if (len == sizeof(resp))
			continue;
		assert_false(admission_response_consume(&w->cl, &w->client.local,
							big, len, &got));
	}
	assert_false(admission_response_consume(&w->cl, &w->client.local, NULL,
						0, &got));
	/* A request is not a response, nor the other way round. */
	assert_false(admission_response_consume(&w->cl, &w->client.local, req,
						sizeof(req), &got));
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   resp, sizeof(resp), NOW, &r),
			 ADMISSION_INVALID);
	assert_memory_equal(&before, &w->cl, sizeof(before));
	free(big);
	world_free(w);
}

/* Low-order and zero ephemerals, re-macced: refused before any state. */
static void test_low_order_ephemeral(void **state)
{
	/* Curve25519 points of small order (0, 1, and an order-8 point). */
	static const char *points[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	};
	struct world *w = world_new(true, kpass);
	uint8_t req[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN];
	struct admission_request r;
	struct admission_grant g, got;
	size_t eoff = offsetof(struct message_admission_request,
			       unencrypted_ephemeral);

	(void)state;
	make_request(w, req);
	for (size_t i = 0; i < 3; i++) {
		uint8_t bad[ADMISSION_REQUEST_LEN];

		memcpy(bad, req, sizeof(bad));
		assert_int_equal(unhex(bad + eoff, 32, points[i]), 32);
		remac_request(bad, w->server.local.static_public);
		assert_int_equal(admission_request_consume(w->srv,
				 &w->server.local, bad, sizeof(bad), NOW, &r),
				 ADMISSION_INVALID);
	}
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	kat_grant(&g);
	assert_true(admission_response_create(resp, &r, &g, &w->server.ops));
	eoff = offsetof(struct message_admission_response, unencrypted_ephemeral);
	for (size_t i = 0; i < 3; i++) {
		uint8_t bad[ADMISSION_RESPONSE_LEN];

		memcpy(bad, resp, sizeof(bad));
		assert_int_equal(unhex(bad + eoff, 32, points[i]), 32);
		remac_response(bad, w->client.local.static_public);
		assert_false(admission_response_consume(&w->cl, &w->client.local,
							bad, sizeof(bad), &got));
	}
	assert_true(admission_response_consume(&w->cl, &w->client.local, resp,
					       sizeof(resp), &got));
	world_free(w);
}

/* Authentic messages (made by the independent model with the KAT keys)
 * whose payload breaks one rule: refused, and nothing changes. */
static void test_malformed_payloads(void **state)
{
	static const char *const bad_requests[] = {
		bad_request_count_9, bad_request_count_short,
		bad_request_reserved, bad_request_host_bits,
		bad_request_cidr_33, bad_request_family_5,
		bad_request_v4_tail, bad_request_rec_reserved,
	};
	static const char *const bad_responses[] = {
		bad_response_status_5, bad_response_ok_no_address,
		bad_response_refusal_with_address, bad_response_dns_count_3,
		bad_response_dns_not_host, bad_response_dns_unused_set,
		bad_response_v6_in_v4_slot, bad_response_reserved,
	};
	struct world *w = world_new(true, kpass);
	struct admission_server *before = malloc(sizeof(*before));
	uint8_t msg[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN];
	struct admission_client cl_before;
	struct admission_request r;
	struct admission_grant got;

	(void)state;
	assert_non_null(before);
	memcpy(before, w->srv, sizeof(*before));
	for (size_t i = 0; i < sizeof(bad_requests) / sizeof(*bad_requests); i++) {
		assert_int_equal(unhex(msg, sizeof(msg), bad_requests[i]),
				 sizeof(msg));
		assert_int_equal(admission_request_consume(w->srv,
				 &w->server.local, msg, sizeof(msg), NOW, &r),
				 ADMISSION_INVALID);
		assert_memory_equal(before, w->srv, sizeof(*before));
	}

	/* The client waits for the answer to the KAT request. */
	make_request(w, msg);
	cl_before = w->cl;
	for (size_t i = 0; i < sizeof(bad_responses) / sizeof(*bad_responses); i++) {
		assert_int_equal(unhex(resp, sizeof(resp), bad_responses[i]),
				 sizeof(resp));
		assert_false(admission_response_consume(&w->cl, &w->client.local,
							resp, sizeof(resp),
							&got));
		assert_memory_equal(&cl_before, &w->cl, sizeof(cl_before));
	}
	assert_int_equal(unhex(resp, sizeof(resp), kat_response), sizeof(resp));
	assert_true(admission_response_consume(&w->cl, &w->client.local, resp,
					       sizeof(resp), &got));
	free(before);
	world_free(w);
}

/* A response for another client, or for an earlier request. */
static void test_response_misaddressed(void **state)
{
	struct world *w = world_new(true, kpass);
	struct party bob;
	struct admission_client bcl;
	uint8_t req[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN];
	uint8_t breq[ADMISSION_REQUEST_LEN];
	struct admission_request r;
	struct admission_grant g, got;

	(void)state;
	party_init(&bob, 0x21, 0x60);
	assert_true(admission_client_init(&bcl, &bob.local,
					  w->server.local.static_public, kpass));
	make_request(w, req);
	assert_true(admission_request_create(breq, &bcl, &bob.local, NULL, 0,
					     NOW, &bob.ops));
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	kat_grant(&g);
	assert_true(admission_response_create(resp, &r, &g, &w->server.ops));

	/* Bob's index differs; with it patched in (and re-macced for Bob),
	 * the AEAD still fails. */
	assert_false(admission_response_consume(&bcl, &bob.local, resp,
						sizeof(resp), &got));
	le32_store(resp + 4, bcl.sender_index);
	remac_response(resp, bob.local.static_public);
	assert_false(admission_response_consume(&bcl, &bob.local, resp,
						sizeof(resp), &got));

	/* The client made a new request: the answer to the old one is dead. */
	assert_true(admission_response_create(resp, &r, &g, &w->server.ops) ==
		    false);
	make_request(w, req);
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW + 1, &r),
			 ADMISSION_ADMISSIBLE);
	assert_true(admission_response_create(resp, &r, &g, &w->server.ops));
	make_request(w, req);
	assert_false(admission_response_consume(&w->cl, &w->client.local, resp,
						sizeof(resp), &got));
	/* Wrong identity handed to the client. */
	assert_false(admission_response_consume(&w->cl, &bob.local, resp,
						sizeof(resp), &got));
	admission_client_clear(&bcl);
	world_free(w);
}

/* Grants the server must not send. */
static void test_grant_validation(void **state)
{
	struct world *w = world_new(true, kpass);
	uint8_t req[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN];
	struct admission_request r, copy;
	struct admission_grant good, g, got;

	(void)state;
	make_request(w, req);
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	kat_grant(&good);

#define REFUSED(change) do {						\
		g = good;						\
		change;							\
		copy = r;						\
		assert_false(admission_response_create(resp, &copy, &g,	\
						       &w->server.ops)); \
		assert_true(crypto_is_zero(resp, sizeof(resp)));	\
	} while (0)

	REFUSED(g.status = (enum admission_status)9);
	REFUSED(g.status = ADMISSION_STATUS_BAD_PASSCODE);	/* proof valid */
	REFUSED(g.status = ADMISSION_STATUS_POOL_FULL);		/* + addresses */
	REFUSED((g.address4.family = 0, g.address6.family = 0));
	REFUSED(g.address4 = good.address6);
	REFUSED(g.server6 = good.server4);
	REFUSED(g.address4.cidr = 33);
	REFUSED(g.dns[0].cidr = 24);
	REFUSED(g.n_dns = 3);
	REFUSED((g.n_dns = 2, g.dns[1].family = 0));
	REFUSED(g.address4.addr[5] = 1);
#undef REFUSED

	/* Refusals carry nothing, and the client reads them. */
	memset(&g, 0, sizeof(g));
	g.status = ADMISSION_STATUS_NOT_ALLOWED;
	copy = r;
	assert_true(admission_response_create(resp, &copy, &g, &w->server.ops));
	assert_true(admission_response_consume(&w->cl, &w->client.local, resp,
					       sizeof(resp), &got));
	assert_int_equal(got.status, ADMISSION_STATUS_NOT_ALLOWED);
	admission_request_clear(&r);
	world_free(w);
}

static void test_request_arguments(void **state)
{
	struct world *w = world_new(true, kpass);
	struct admission_client before;
	uint8_t req[ADMISSION_REQUEST_LEN];
	struct ip_prefix avoid[ADMISSION_MAX_PREFIXES + 1];
	struct admission_request r;
	struct party bob;

	(void)state;
	for (size_t i = 0; i < ADMISSION_MAX_PREFIXES + 1; i++)
		avoid[i] = pfx(IP_V4, 24, "10.1.2.3");	/* host bits: cleared */
	before = w->cl;
	assert_false(admission_request_create(req, &w->cl, &w->client.local,
					      avoid, ADMISSION_MAX_PREFIXES + 1,
					      NOW, &w->client.ops));
	assert_false(admission_request_create(req, &w->cl, &w->client.local,
					      NULL, 1, NOW, &w->client.ops));
	avoid[0].family = 5;
	assert_false(admission_request_create(req, &w->cl, &w->client.local,
					      avoid, 1, NOW, &w->client.ops));
	avoid[0] = pfx(IP_V6, 129, "fd00::");
	assert_false(admission_request_create(req, &w->cl, &w->client.local,
					      avoid, 1, NOW, &w->client.ops));
	party_init(&bob, 0x21, 0x60);
	assert_false(admission_request_create(req, &w->cl, &bob.local, NULL, 0,
					      NOW, &w->client.ops));
	assert_memory_equal(&before, &w->cl, sizeof(before));
	assert_true(crypto_is_zero(req, sizeof(req)));

	avoid[0] = pfx(IP_V4, 24, "10.1.2.3");
	assert_true(admission_request_create(req, &w->cl, &w->client.local,
					     avoid, ADMISSION_MAX_PREFIXES, NOW,
					     &w->client.ops));
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	assert_int_equal(r.n_avoid, ADMISSION_MAX_PREFIXES);
	for (size_t i = 0; i < r.n_avoid; i++)
		assert_prefix_equal(&r.avoid[i], &(struct ip_prefix){
			.family = IP_V4, .cidr = 24, .addr = { 10, 1, 2, 0 } });
	admission_request_clear(&r);
	world_free(w);
}

/* Under load the device's cookie checker handles admission requests like
 * initiations: mac1 of the same key, a cookie reply to bytes 4..7, mac2
 * on the next request, and a flipped mac2 not accepted. */
static void test_cookie_under_load(void **state)
{
	struct world *w = world_new(true, kpass);
	struct cookie_checker device;
	struct message_handshake_cookie reply;
	uint8_t req[ADMISSION_REQUEST_LEN];
	static const uint8_t src[6] = { 192, 0, 2, 7, 0x12, 0x34 };
	size_t mac2 = offsetof(struct message_admission_request, macs.mac2);

	(void)state;
	cookie_checker_init(&device, w->server.local.static_public);
	make_request(w, req);
	assert_int_equal(cookie_validate_packet(&device, req, sizeof(req), src,
						sizeof(src), true, NOW,
						&w->server.ops),
			 VALID_MAC_BUT_NO_COOKIE);
	cookie_message_create(&reply, req, sizeof(req), le32_load(req + 4),
			      &device, src, sizeof(src), NOW, &w->server.ops);
	assert_int_equal(le32_load(reply.receiver_index), w->cl.sender_index);
	assert_true(cookie_message_consume(&reply, &w->cl.cookie, NOW));

	make_request(w, req);
	assert_int_equal(cookie_validate_packet(&device, req, sizeof(req), src,
						sizeof(src), true, NOW,
						&w->server.ops),
			 VALID_MAC_WITH_COOKIE);
	for (size_t i = mac2; i < sizeof(req); i++) {
		req[i] ^= 0x10;
		assert_int_equal(cookie_validate_packet(&device, req,
				 sizeof(req), src, sizeof(src), true, NOW,
				 &w->server.ops), VALID_MAC_BUT_NO_COOKIE);
		req[i] ^= 0x10;
	}
	world_free(w);
}

/* Address conflict and a full pool, as the server turns them into
 * statuses the client reads. */
static void test_pool_statuses(void **state)
{
	struct world *w = world_new(true, kpass);
	struct addrpool *pool = calloc(1, sizeof(*pool));
	uint8_t hash_key[ADDRPOOL_HASH_KEY_LEN] = { 1 };
	struct ip_prefix net4 = pfx(IP_V4, 30, "10.66.0.0");
	struct ip_prefix avoid = pfx(IP_V4, 16, "10.66.0.0");
	uint8_t req[ADMISSION_REQUEST_LEN], resp[ADMISSION_RESPONSE_LEN];
	uint8_t someone[32] = { 9 };
	struct admission_request r;
	struct admission_grant g, got;
	struct ip_prefix a4, a6;

	(void)state;
	assert_non_null(pool);
	assert_true(addrpool_init(pool, &net4, NULL, hash_key));

	assert_true(admission_request_create(req, &w->cl, &w->client.local,
					     &avoid, 1, NOW, &w->client.ops));
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	memset(&g, 0, sizeof(g));
	assert_int_equal(addrpool_assign(pool, r.client_static, r.avoid,
					 r.n_avoid, &g.address4, &g.address6),
			 ADDRPOOL_CONFLICT);
	memset(&g, 0, sizeof(g));
	g.status = ADMISSION_STATUS_ADDRESS_CONFLICT;
	assert_true(admission_response_create(resp, &r, &g, &w->server.ops));
	assert_true(admission_response_consume(&w->cl, &w->client.local, resp,
					       sizeof(resp), &got));
	assert_int_equal(got.status, ADMISSION_STATUS_ADDRESS_CONFLICT);

	/* A /30 holds one client. */
	assert_int_equal(addrpool_assign(pool, someone, NULL, 0, &a4, &a6),
			 ADDRPOOL_OK);
	make_request(w, req);
	assert_int_equal(admission_request_consume(w->srv, &w->server.local,
						   req, sizeof(req), NOW, &r),
			 ADMISSION_ADMISSIBLE);
	assert_int_equal(addrpool_assign(pool, r.client_static, r.avoid,
					 r.n_avoid, &g.address4, &g.address6),
			 ADDRPOOL_FULL);
	memset(&g, 0, sizeof(g));
	g.status = ADMISSION_STATUS_POOL_FULL;
	assert_true(admission_response_create(resp, &r, &g, &w->server.ops));
	assert_true(admission_response_consume(&w->cl, &w->client.local, resp,
					       sizeof(resp), &got));
	assert_int_equal(got.status, ADMISSION_STATUS_POOL_FULL);
	free(pool);
	world_free(w);
}

static void test_no_identity(void **state)
{
	struct admission_server *srv = calloc(1, sizeof(*srv));
	struct admission_client cl;
	struct noise_local none;
	struct party p;
	uint8_t req[ADMISSION_REQUEST_LEN];
	struct admission_request r;

	(void)state;
	assert_non_null(srv);
	party_init(&p, 0x41, 0);
	assert_true(noise_local_set_private(&none, NULL));
	assert_false(admission_server_init(srv, &none, NULL, &p.ops));
	memset(req, 0, sizeof(req));
	req[0] = ADMISSION_MESSAGE_TYPE;
	req[1] = ADMISSION_SUBTYPE_REQUEST;
	assert_int_equal(admission_request_consume(srv, &p.local, req,
						   sizeof(req), NOW, &r),
			 ADMISSION_INVALID);
	assert_false(admission_client_init(&cl, &none, p.local.static_public,
					   NULL));
	assert_false(admission_client_init(&cl, &p.local, (uint8_t[32]){ 0 },
					   NULL));
	free(srv);
}

static int setup(void **state)
{
	struct party server;

	(void)state;
	if (!crypto_init())
		return -1;
	party_init(&server, 0x41, 0x90);
	return admission_passcode_key(kpass, PASSCODE, strlen(PASSCODE),
				      server.local.static_public, &tiny) ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passcode_key),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_round_trip_with_pool),
		cmocka_unit_test(test_wrong_passcode),
		cmocka_unit_test(test_open_server),
		cmocka_unit_test(test_request_bit_flips),
		cmocka_unit_test(test_response_bit_flips),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_replay_after_eviction),
		cmocka_unit_test(test_wrong_server),
		cmocka_unit_test(test_static_not_owned),
		cmocka_unit_test(test_lengths_and_headers),
		cmocka_unit_test(test_low_order_ephemeral),
		cmocka_unit_test(test_malformed_payloads),
		cmocka_unit_test(test_response_misaddressed),
		cmocka_unit_test(test_grant_validation),
		cmocka_unit_test(test_request_arguments),
		cmocka_unit_test(test_cookie_under_load),
		cmocka_unit_test(test_pool_statuses),
		cmocka_unit_test(test_no_identity),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
