/* test_paths.c - choosing a path to one peer on a fake clock: blind, relay,
 * direct, lan; no flapping; fallback; when probes go out; how candidates
 * and observed addresses are kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mesh/paths.h"

static const wg_time_t T0 = 1000 * NSEC_PER_SEC;
static const wg_time_t MS = NSEC_PER_MSEC;

static uint8_t rnd_next;

/* Every txid differs from the last one. */
static void fake_rnd(void *buf, size_t len)
{
	if (++rnd_next == 0)
		rnd_next = 1;
	memset(buf, rnd_next, len);
}

static struct wg_endpoint ep(uint8_t last, uint16_t port)
{
	struct wg_endpoint e = { .family = IP_V4, .port = port };

	e.addr[0] = 198;
	e.addr[1] = 51;
	e.addr[2] = 100;
	e.addr[3] = last;
	return e;
}

static struct wg_endpoint relay_ep(void)
{
	struct wg_endpoint e = ep(200, 3478);

	e.relay = true;
	memset(e.tag, 0x5a, sizeof(e.tag));
	return e;
}

static unsigned due(struct path_peer *pp, wg_time_t now, bool *punch)
{
	unsigned out[PATH_MAX_CANDS];

	return path_due(pp, now, out, punch, fake_rnd);
}

/* Answer the last ping to candidate i, rtt after it was sent. */
static void pong(struct path_peer *pp, unsigned i, wg_time_t rtt)
{
	uint8_t txid[PATH_TXID_LEN];

	memcpy(txid, pp->cands[i].txid, sizeof(txid));
	assert_true(path_pong(pp, txid, pp->cands[i].ping_sent + rtt));
	/* One answer per ping. */
	assert_false(path_pong(pp, txid, pp->cands[i].ping_sent + rtt));
}

/* Ping everything now (a burst), answer those in mask at their rtt. */
static void probe_round(struct path_peer *pp, wg_time_t now, unsigned mask,
			const wg_time_t *rtt)
{
	for (unsigned i = 0; i < pp->n; i++) {
		rnd_next++;
		fake_rnd(pp->cands[i].txid, PATH_TXID_LEN);
		pp->cands[i].ping_sent = now;
		if (mask & 1u << i)
			pong(pp, i, rtt[i]);
	}
}

static void setup(struct path_peer *pp, const struct wg_endpoint *eps,
		  const bool *lan, unsigned n, bool relay)
{
	path_init(pp);
	path_set_candidates(pp, eps, lan, n, T0);
	if (relay) {
		struct wg_endpoint r = relay_ep();

		path_set_relay(pp, &r);
	}
}

static void test_blind_choice(void **state)
{
	struct path_peer pp;
	struct wg_endpoint eps[3] = { ep(1, 1), ep(2, 2), ep(3, 3) }, got;
	bool lan[3] = { false, true, true }, none[3] = { false };

	(void)state;
	/* No candidate, no relay: nothing. */
	path_init(&pp);
	assert_false(path_choose(&pp, T0, &got));
	assert_int_equal(got.family, 0);
	assert_int_equal(pp.kind, PATH_NONE);

	/* The first lan candidate. */
	setup(&pp, eps, lan, 3, false);
	assert_true(path_choose(&pp, T0, &got));
	assert_true(endpoint_equal(&got, &eps[1]));
	assert_int_equal(pp.kind, PATH_NONE);
	assert_int_equal(pp.best, -1);
	assert_false(path_choose(&pp, T0 + MS, &got));

	/* No lan one: the first. */
	setup(&pp, eps, none, 3, false);
	assert_true(path_choose(&pp, T0, &got));
	assert_true(endpoint_equal(&got, &eps[0]));
	assert_string_equal(path_kind_name(pp.kind), "trying");
}

static void test_relay_until_answered(void **state)
{
	struct path_peer pp;
	struct wg_endpoint eps[2] = { ep(1, 1), ep(2, 2) }, got, r = relay_ep();
	bool lan[2] = { true, false };
	static const wg_time_t rtt[2] = { 5 * MS, 5 * MS };

	(void)state;
	setup(&pp, eps, lan, 2, true);
	assert_true(path_choose(&pp, T0, &got));
	assert_true(endpoint_equal(&got, &r));
	assert_int_equal(pp.kind, PATH_RELAY);
	assert_string_equal(path_kind_name(pp.kind), "relay");

	/* A ping that is answered by the wrong txid changes nothing. */
	probe_round(&pp, T0, 0, rtt);
	{
		uint8_t bogus[PATH_TXID_LEN];

		memset(bogus, 0xfe, sizeof(bogus));
		assert_false(path_pong(&pp, bogus, T0 + MS));
	}
	assert_false(path_choose(&pp, T0 + MS, &got));
	assert_true(endpoint_equal(&got, &r));

	/* The non-lan one answers: direct. */
	probe_round(&pp, T0 + NSEC_PER_SEC, 1u << 1, rtt);
	assert_true(path_choose(&pp, T0 + NSEC_PER_SEC + 10 * MS, &got));
	assert_true(endpoint_equal(&got, &eps[1]));
	assert_int_equal(pp.kind, PATH_DIRECT);
	assert_int_equal(pp.best, 1);
	assert_int_equal(pp.cands[1].rtt_ns, 5 * MS);
	assert_int_equal(pp.direct_since, T0 + NSEC_PER_SEC + 10 * MS);
	assert_string_equal(path_kind_name(pp.kind), "direct");

	/* The lan one answers too, slower: lan wins anyway. */
	static const wg_time_t slow[2] = { 50 * MS, 1 * MS };
	probe_round(&pp, T0 + 2 * NSEC_PER_SEC, 3, slow);
	assert_true(path_choose(&pp, T0 + 2 * NSEC_PER_SEC + 60 * MS, &got));
	assert_true(endpoint_equal(&got, &eps[0]));
	assert_int_equal(pp.kind, PATH_LAN);
	assert_string_equal(path_kind_name(pp.kind), "lan");
}

/* Two working direct paths whose round trips jitter: the one in use stays;
 * with none in use the fastest is taken. */
static void test_no_flapping(void **state)
{
	struct path_peer pp;
	struct wg_endpoint eps[3] = { ep(1, 1), ep(2, 2), ep(3, 3) }, got;
	bool lan[3] = { false, false, false };
	wg_time_t now = T0;

	(void)state;
	setup(&pp, eps, lan, 3, true);
	static const wg_time_t first[3] = { 30 * MS, 10 * MS, 20 * MS };
	probe_round(&pp, now, 7, first);
	assert_true(path_choose(&pp, now + 50 * MS, &got));
	assert_int_equal(pp.best, 1);
	for (int i = 0; i < 40; i++) {
		wg_time_t rtt[3] = { (wg_time_t)(1 + i % 3) * MS,
				     (wg_time_t)(40 + 7 * (i % 5)) * MS,
				     (wg_time_t)(2 + i % 2) * MS };

		now += NSEC_PER_SEC;
		probe_round(&pp, now, 7, rtt);
		assert_false(path_choose(&pp, now + 100 * MS, &got));
		assert_true(endpoint_equal(&got, &eps[1]));
		assert_int_equal(pp.kind, PATH_DIRECT);
	}
	/* The one in use stops answering: after PATH_ALIVE the fastest of
	 * the others. */
	static const wg_time_t last[3] = { 9 * MS, 0, 3 * MS };
	now += NSEC_PER_SEC;
	probe_round(&pp, now, 5, last);
	wg_time_t dead = pp.cands[1].pong_at + PATH_ALIVE;
	assert_false(path_choose(&pp, dead - 1, &got));
	assert_true(path_choose(&pp, dead, &got));
	assert_true(endpoint_equal(&got, &eps[2]));
}

/* A direct path without answers for PATH_ALIVE: back to the relay; with no
 * relay, back to trying blind. */
static void test_fallback(void **state)
{
	struct path_peer pp;
	struct wg_endpoint eps[2] = { ep(1, 1), ep(2, 2) }, got, r = relay_ep();
	bool lan[2] = { false, false };
	static const wg_time_t rtt[2] = { 5 * MS, 5 * MS };
	wg_time_t now, answered;

	(void)state;
	for (int with_relay = 0; with_relay < 2; with_relay++) {
		setup(&pp, eps, lan, 2, with_relay);
		probe_round(&pp, T0, 1u << 1, rtt);
		answered = T0 + 5 * MS;
		assert_true(path_choose(&pp, answered, &got));
		assert_int_equal(pp.kind, PATH_DIRECT);
		/* Keep-alive pings go out and nobody answers. */
		for (now = answered; now < answered + PATH_ALIVE; now += 100 * MS) {
			bool punch;

			due(&pp, now, &punch);
			assert_false(path_choose(&pp, now, &got));
			assert_true(endpoint_equal(&got, &eps[1]));
		}
		assert_true(path_choose(&pp, answered + PATH_ALIVE, &got));
		assert_int_equal(pp.best, -1);
		if (with_relay) {
			assert_true(endpoint_equal(&got, &r));
			assert_int_equal(pp.kind, PATH_RELAY);
		} else {
			assert_true(endpoint_equal(&got, &eps[0]));
			assert_int_equal(pp.kind, PATH_NONE);
		}
	}
}

static void test_due_bursts(void **state)
{
	struct path_peer pp;
	struct wg_endpoint eps[3] = { ep(1, 1), ep(2, 2), ep(3, 3) }, got;
	bool lan[3] = { false, false, false }, punch;
	unsigned out[PATH_MAX_CANDS], bursts = 0, n;
	uint8_t txid[PATH_TXID_LEN];
	wg_time_t now;

	(void)state;
	for (int with_relay = 0; with_relay < 2; with_relay++) {
		setup(&pp, eps, lan, 3, with_relay);
		assert_int_equal(pp.burst_until, T0 + PATH_BURST);
		assert_int_equal(path_next_event(&pp), T0);
		/* Every PATH_BURST_INTERVAL during PATH_BURST, every candidate,
		 * each time with a fresh txid. */
		bursts = 0;
		memset(txid, 0, sizeof(txid));
		for (now = T0; now < T0 + PATH_BURST + 2 * NSEC_PER_SEC;
		     now += 100 * MS) {
			n = path_due(&pp, now, out, &punch, fake_rnd);
			assert_false(punch);	/* a burst is already on */
			if (!n)
				continue;
			assert_int_equal(n, 3);
			for (unsigned i = 0; i < n; i++) {
				assert_int_equal(out[i], i);
				assert_int_equal(pp.cands[i].ping_sent, now);
			}
			assert_memory_not_equal(pp.cands[0].txid, txid, sizeof(txid));
			memcpy(txid, pp.cands[0].txid, sizeof(txid));
			assert_int_equal((now - T0) % PATH_BURST_INTERVAL, 0);
			bursts++;
		}
		assert_int_equal(bursts, PATH_BURST / PATH_BURST_INTERVAL);

		/* No direct path: an upgrade burst every PATH_UPGRADE, asking
		 * the peer to burst too only when there is a relay to ask
		 * through. */
		now = T0 + PATH_UPGRADE;
		n = path_due(&pp, now - MS, out, &punch, fake_rnd);
		assert_int_equal(n, 0);
		n = path_due(&pp, now, out, &punch, fake_rnd);
		assert_int_equal(n, 3);
		assert_int_equal(punch, with_relay);
		assert_int_equal(pp.burst_until, now + PATH_BURST);
		n = path_due(&pp, now + PATH_BURST_INTERVAL, out, &punch, fake_rnd);
		assert_int_equal(n, 3);
		assert_false(punch);
	}

	/* A path in use, no burst: it alone is pinged every PATH_KEEP. */
	setup(&pp, eps, lan, 3, true);
	static const wg_time_t rtt[3] = { 5 * MS, 5 * MS, 5 * MS };
	probe_round(&pp, T0, 1u << 2, rtt);
	assert_true(path_choose(&pp, T0 + 5 * MS, &got));
	pp.burst_until = 0;
	now = T0 + PATH_KEEP;
	assert_int_equal(path_next_event(&pp), now);
	assert_int_equal(path_due(&pp, now - MS, out, &punch, fake_rnd), 0);
	for (int i = 0; i < 10; i++, now += PATH_KEEP) {
		assert_int_equal(path_due(&pp, now - MS, out, &punch, fake_rnd), 0);
		n = path_due(&pp, now, out, &punch, fake_rnd);
		assert_int_equal(n, 1);
		assert_int_equal(out[0], 2);
		assert_false(punch);
		pong(&pp, 2, 5 * MS);
		assert_false(path_choose(&pp, now + 5 * MS, &got));
		assert_int_equal(path_next_event(&pp), now + PATH_KEEP);
	}
	/* With a direct path there are no upgrade bursts. */
	assert_int_equal(pp.burst_until, 0);
	/* A punch from the peer starts a burst of every candidate. */
	path_burst(&pp, now);
	n = path_due(&pp, now, out, &punch, fake_rnd);
	assert_int_equal(n, 3);
	assert_false(punch);
}

static void test_set_candidates(void **state)
{
	struct path_peer pp;
	struct wg_endpoint eps[3] = { ep(1, 1), ep(2, 2), ep(3, 3) }, got, o;
	struct wg_endpoint next[3];
	bool lan[3] = { false, false, false };
	static const wg_time_t rtt[3] = { 5 * MS, 7 * MS, 5 * MS };
	bool punch;

	(void)state;
	setup(&pp, eps, lan, 2, true);
	probe_round(&pp, T0, 1u << 1, rtt);
	assert_true(path_choose(&pp, T0 + 10 * MS, &got));
	assert_true(endpoint_equal(&got, &eps[1]));
	/* A candidate learned from where a probe came from (with a local
	 * address: not part of the candidate). */
	o = ep(9, 9);
	o.src_family = IP_V4;
	o.src_addr[0] = 10;
	pp.burst_until = 0;
	path_observed(&pp, &o, false, T0 + 20 * MS);
	assert_int_equal(pp.n, 3);
	assert_true(pp.cands[2].observed);
	assert_int_equal(pp.cands[2].ep.src_family, 0);
	assert_int_equal(pp.burst_until, T0 + 20 * MS + PATH_BURST);
	/* The same again, or through a relay: nothing new. */
	path_observed(&pp, &o, false, T0 + 30 * MS);
	o.relay = true;
	path_observed(&pp, &o, false, T0 + 30 * MS);
	assert_int_equal(pp.n, 3);
	o.relay = false;

	/* Reordered, one added: the answered one keeps its state and stays
	 * in use; the observed one stays; a burst starts. */
	next[0] = eps[2];
	next[1] = eps[1];
	next[2] = eps[0];
	pp.burst_until = 0;
	path_set_candidates(&pp, next, lan, 3, T0 + NSEC_PER_SEC);
	assert_int_equal(pp.n, 4);
	assert_int_equal(pp.best, 1);
	assert_int_equal(pp.cands[1].rtt_ns, 7 * MS);
	assert_int_equal(pp.cands[1].pong_at, T0 + 7 * MS);
	assert_true(endpoint_equal(&pp.cands[3].ep, &o));
	assert_true(pp.cands[3].observed);
	assert_int_equal(pp.burst_until, T0 + NSEC_PER_SEC + PATH_BURST);
	assert_false(path_choose(&pp, T0 + NSEC_PER_SEC, &got));
	assert_true(endpoint_equal(&got, &eps[1]));

	/* Same list again: no burst. */
	pp.burst_until = 0;
	path_set_candidates(&pp, next, lan, 3, T0 + 2 * NSEC_PER_SEC);
	assert_int_equal(pp.burst_until, 0);
	assert_int_equal(pp.n, 4);
	/* A lan flag changes with the local network, not the candidate. */
	lan[1] = true;
	path_set_candidates(&pp, next, lan, 3, T0 + 2 * NSEC_PER_SEC);
	assert_true(pp.cands[1].lan);
	assert_int_equal(pp.cands[1].pong_at, T0 + 7 * MS);
	lan[1] = false;

	/* The observed one announced now: one candidate, not observed. */
	next[2] = o;
	path_set_candidates(&pp, next, lan, 3, T0 + 3 * NSEC_PER_SEC);
	assert_int_equal(pp.n, 3);
	assert_false(pp.cands[2].observed);

	/* The one in use goes: no path in use, and probing starts. */
	path_set_candidates(&pp, eps, lan, 1, T0 + 4 * NSEC_PER_SEC);
	assert_int_equal(pp.n, 1);
	assert_int_equal(pp.best, -1);
	assert_int_equal(due(&pp, T0 + 4 * NSEC_PER_SEC, &punch), 1);
}

static void test_observed_bounds(void **state)
{
	struct path_peer pp;
	struct wg_endpoint eps[MESH_MAX_ENDPOINTS], got, o;
	bool lan[MESH_MAX_ENDPOINTS] = { false };
	wg_time_t rtt[PATH_MAX_CANDS];
	unsigned i;

	(void)state;
	for (i = 0; i < MESH_MAX_ENDPOINTS; i++)
		eps[i] = ep((uint8_t)(1 + i), 1);
	for (i = 0; i < PATH_MAX_CANDS; i++)
		rtt[i] = 5 * MS;
	/* Two announced, PATH_MAX_OBSERVED observed. */
	setup(&pp, eps, lan, 2, true);
	for (i = 0; i < PATH_MAX_OBSERVED; i++) {
		o = ep((uint8_t)(100 + i), 2);
		path_observed(&pp, &o, false, T0);
	}
	assert_int_equal(pp.n, 2 + PATH_MAX_OBSERVED);
	/* The first observed answers first and is in use; the others
	 * answer later, the second observed the earliest of them. */
	probe_round(&pp, T0, 1u << 2, rtt);
	assert_true(path_choose(&pp, T0 + 5 * MS, &got));
	assert_int_equal(pp.best, 2);
	for (i = 3; i < pp.n; i++) {
		pp.cands[i].ping_sent = T0 + i * NSEC_PER_SEC;
		fake_rnd(pp.cands[i].txid, PATH_TXID_LEN);
		pong(&pp, i, 5 * MS);
	}
	assert_false(path_choose(&pp, T0 + 10 * NSEC_PER_SEC, &got));
	assert_int_equal(pp.best, 2);

	/* One more: it takes the place of the observed one that answered
	 * longest ago, but not of the one in use. */
	o = ep(150, 2);
	path_observed(&pp, &o, false, T0 + 11 * NSEC_PER_SEC);
	assert_int_equal(pp.n, 2 + PATH_MAX_OBSERVED);
	assert_true(endpoint_equal(&pp.cands[3].ep, &o));
	assert_true(endpoint_equal(&pp.cands[2].ep, &got));
	assert_int_equal(pp.cands[3].pong_at, 0);
	/* Next, the fresh one (never answered) goes first. */
	o = ep(151, 2);
	path_observed(&pp, &o, false, T0 + 12 * NSEC_PER_SEC);
	assert_true(endpoint_equal(&pp.cands[3].ep, &o));
	assert_int_equal(pp.best, 2);

	/* Announced ones filling MESH_MAX_ENDPOINTS: still never more than
	 * PATH_MAX_CANDS, observed ones kept up to the bound. */
	path_set_candidates(&pp, eps, lan, MESH_MAX_ENDPOINTS, T0 + 13 * NSEC_PER_SEC);
	assert_true(pp.n <= PATH_MAX_CANDS);
	for (i = 0; i < 20; i++) {
		o = ep((uint8_t)(160 + i), 3);
		path_observed(&pp, &o, false, T0 + 14 * NSEC_PER_SEC);
		assert_true(pp.n <= PATH_MAX_CANDS);
	}
	{
		unsigned observed = 0;

		for (i = 0; i < pp.n; i++)
			observed += pp.cands[i].observed;
		assert_int_equal(observed, PATH_MAX_OBSERVED);
	}
	assert_true(endpoint_equal(&pp.cands[pp.best].ep, &got));
	assert_true(pp.cands[pp.best].observed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blind_choice),
		cmocka_unit_test(test_relay_until_answered),
		cmocka_unit_test(test_no_flapping),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_due_bursts),
		cmocka_unit_test(test_set_candidates),
		cmocka_unit_test(test_observed_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
