/* hubload.c - load on one weft-hub: N simulated devices, every one of them
 * following the event stream (a long poll each, signed with its own
 * identity key), and M announcements made one after the other; for each,
 * the time until each subscriber has it (fan-out latency).
 *
 *   hubload keygen FILE            new admin key (seed in FILE), prints the
 *                                  public key for weft-hub create-network
 *   hubload run --hub URL --network NET --admin FILE [--devices N]
 *               [--announce M] [--hub-pid PID]
 *
 * It publishes a roster of N devices signed by the admin key, opens the N
 * long polls (since the roster's id), then announces M times. Output, one
 * "name value" line each: subscribers, announcements, fanout_p50_ms,
 * fanout_p99_ms, fanout_max_ms (per delivery), all_p50_ms, all_p99_ms
 * (until the last subscriber), hub_rss_kib, hub_cpu_s (during the
 * announcements), lost (deliveries that did not come within 10 s). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "mesh/announce.h"
#include "mesh/envelope.h"
#include "mesh/hubauth.h"
#include "mesh/hubhttp.h"
#include "mesh/roster.h"

struct sub {
	CURL *c;
	struct curl_slist *hdr;
	char *buf;
	size_t len;
	uint64_t since;
	uint8_t pk[32], sk[64];
	char url[600];
};

static const char *hub, *network;
static struct sub *subs;
static uint64_t want_id;		/* the announcement being timed */
static double t_announce;
static double *lat;			/* per delivery, ms */
static size_t nlat, caplat;
static unsigned got_now;		/* subscribers that have want_id */
static char *have;			/* per subscriber, for want_id */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sub *s = arg;
	size_t l = size * n;
	char *nb = realloc(s->buf, s->len + l + 1);

	if (!nb)
		return 0;
	s->buf = nb;
	memcpy(s->buf + s->len, p, l);
	s->len += l;
	s->buf[s->len] = '\0';
	return l;
}

static void arm(CURLM *m, struct sub *s)
{
	char path[256], auth[HUBAUTH_HEADER_MAX], h[HUBAUTH_HEADER_MAX + 32];

	snprintf(path, sizeof(path), "/v1/networks/%s/events?since=%" PRIu64 "&wait=25",
		 network, s->since);
	snprintf(s->url, sizeof(s->url), "%s%s", hub, path);
	hubauth_make(auth, s->sk, "GET", path, "", 0, (int64_t)time(NULL));
	snprintf(h, sizeof(h), "Authorization: %s", auth);
	curl_slist_free_all(s->hdr);
	s->hdr = curl_slist_append(NULL, h);
	s->len = 0;
	curl_easy_setopt(s->c, CURLOPT_URL, s->url);
	curl_easy_setopt(s->c, CURLOPT_HTTPHEADER, s->hdr);
	curl_multi_add_handle(m, s->c);
}

static void received(struct sub *s, double t)
{
	json_t *o = json_loads(s->buf ? s->buf : "", 0, NULL), *msgs, *msg;
	size_t i;

	if (json_is_integer(json_object_get(o, "last")))
		s->since = (uint64_t)json_integer_value(json_object_get(o, "last"));
	msgs = json_object_get(o, "messages");
	json_array_foreach(msgs, i, msg) {
		uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));
		unsigned k = (unsigned)(s - subs);

		if (id == want_id && want_id && !have[k]) {
			have[k] = 1;
			got_now++;
			if (nlat == caplat) {
				caplat = caplat ? 2 * caplat : 4096;
				lat = realloc(lat, caplat * sizeof(*lat));
			}
			lat[nlat++] = t - t_announce;
		}
	}
	json_decref(o);
}

static void pump(CURLM *m, int timeout_ms)
{
	CURLMsg *msg;
	int running, left;

	curl_multi_perform(m, &running);
	curl_multi_poll(m, NULL, 0, timeout_ms, NULL);
	curl_multi_perform(m, &running);
	while ((msg = curl_multi_info_read(m, &left))) {
		struct sub *s = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		curl_multi_remove_handle(m, msg->easy_handle);
		if (msg->data.result == CURLE_OK)
			received(s, now_ms());
		arm(m, s);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp);
	return v[(size_t)((double)(n - 1) * p + 0.5)];
}

static void proc_stats(long pid, long *rss_kib, double *cpu_s)
{
	char path[64], line[512];
	FILE *f;

	*rss_kib = 0;
	*cpu_s = 0;
	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "VmRSS:", 6))
				*rss_kib = atol(line + 6);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "re"))) {
		if (fgets(line, sizeof(line), f)) {
			char *p = strrchr(line, ')');
			unsigned long ut = 0, st = 0;

			if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
					&ut, &st) == 2)
				*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
		}
		fclose(f);
	}
}

/* The "id" of a JSON answer, 0 when there is none. */
static uint64_t answer_id(const char *body)
{
	json_t *o = json_loads(body ? body : "", 0, NULL);
	json_t *v = json_object_get(o, "id");
	uint64_t id = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;

	json_decref(o);
	return id;
}

static int die(const char *what)
{
	fprintf(stderr, "hubload: %s\n", what);
	return 1;
}

static int keygen(const char *file)
{
	uint8_t seed[32], pk[32], sk[64];
	char b[64];
	FILE *f;

	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	mesh_b64_encode(b, sizeof(b), seed, 32);
	f = fopen(file, "we");
	if (!f || fprintf(f, "%s\n", b) < 0 || fclose(f))
		return die("cannot write the key file");
	mesh_b64_encode(b, sizeof(b), pk, 32);
	printf("%s\n", b);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned devices = 2000, announces = 50, i, a;
	const char *admin_file = NULL;
	long hub_pid = 0, rss;
	uint8_t seed[32], apk[32], ask[64];
	char line[128], path[256], reason[MESH_REASON_MAX], *body, *env;
	double *all, cpu0, cpu1;
	struct roster r;
	struct hub_reply rep;
	struct rlimit rl;
	uint64_t roster_id;
	size_t len;
	unsigned lost = 0;
	CURLM *m;
	FILE *f;

	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT))
		return die("library start failed");
	if (argc == 3 && !strcmp(argv[1], "keygen"))
		return keygen(argv[2]);
	for (i = 2; i + 1 < (unsigned)argc; i += 2) {
		if (!strcmp(argv[i], "--hub")) hub = argv[i + 1];
		else if (!strcmp(argv[i], "--network")) network = argv[i + 1];
		else if (!strcmp(argv[i], "--admin")) admin_file = argv[i + 1];
		else if (!strcmp(argv[i], "--devices")) devices = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--announce")) announces = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--hub-pid")) hub_pid = atol(argv[i + 1]);
		else return die("unknown option");
	}
	if (argc < 2 || strcmp(argv[1], "run") || !hub || !network || !admin_file ||
	    !devices || devices > MESH_MAX_DEVICES)
		return die("usage: hubload run --hub URL --network NET --admin FILE "
			   "[--devices N] [--announce M] [--hub-pid PID]");
	f = fopen(admin_file, "re");
	if (!f || !fgets(line, sizeof(line), f))
		return die("cannot read the admin key file");
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (!mesh_b64_decode(seed, 32, line))
		return die("bad admin key file");
	crypto_sign_seed_keypair(apk, ask, seed);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);

	/* The roster: N dynamic devices, keys derived from their index. */
	subs = calloc(devices, sizeof(*subs));
	have = calloc(devices, 1);
	all = calloc(announces ? announces : 1, sizeof(*all));
	memset(&r, 0, sizeof(r));
	snprintf(r.network, sizeof(r.network), "%s", network);
	r.version = (uint64_t)time(NULL);
	if (!mesh_range4_parse(&r.range, "100.64.0.0/10"))
		return die("range");
	memcpy(r.admins[0], apk, 32);
	r.n_admins = 1;
	r.devices = calloc(devices, sizeof(*r.devices));
	for (i = 0; i < devices; i++) {
		uint8_t s[32] = { 0 };

		memcpy(s, &i, sizeof(i));
		s[31] = 0x5a;
		crypto_sign_seed_keypair(subs[i].pk, subs[i].sk, s);
		snprintf(r.devices[i].owner, MESH_NAME_MAX, "load");
		snprintf(r.devices[i].name, MESH_NAME_MAX, "dev%u", i);
		memcpy(r.devices[i].key, subs[i].pk, 32);
	}
	r.n_devices = devices;
	if (roster_serialize(&r, &body, &len) || envelope_seal(ENV_ROSTER, ask, body, len, &env))
		return die("cannot build the roster");
	free(body);
	snprintf(path, sizeof(path), "/v1/networks/%s/roster", network);
	if (hubhttp_request(hub, ask, "POST", path, env, strlen(env), 60000, NULL, &rep) ||
	    rep.status != 200) {
		fprintf(stderr, "hubload: publish: %s\n", rep.error);
		return 1;
	}
	roster_id = answer_id(rep.body);
	hub_reply_free(&rep);
	free(env);

	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)devices + 16);
	for (i = 0; i < devices; i++) {
		subs[i].c = curl_easy_init();
		subs[i].since = roster_id;
		curl_easy_setopt(subs[i].c, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(subs[i].c, CURLOPT_WRITEDATA, &subs[i]);
		curl_easy_setopt(subs[i].c, CURLOPT_PRIVATE, (char *)&subs[i]);
		curl_easy_setopt(subs[i].c, CURLOPT_TIMEOUT, 40L);
		curl_easy_setopt(subs[i].c, CURLOPT_NOSIGNAL, 1L);
		arm(m, &subs[i]);
	}
	/* Let every long poll reach the hub. */
	for (double t0 = now_ms(); now_ms() - t0 < 3000;)
		pump(m, 100);
	proc_stats(hub_pid, &rss, &cpu0);
	for (a = 0; a < announces; a++) {
		struct sub *d = &subs[a % devices];
		struct announce an;

		memset(&an, 0, sizeof(an));
		snprintf(an.network, sizeof(an.network), "%s", network);
		memcpy(an.device, d->pk, 32);
		randombytes_buf(an.wg, 32);
		an.time_ms = (uint64_t)time(NULL) * 1000 + a;
		an.expires_s = an.time_ms / 1000 + 3600;
		if (!endpoint_parse(&an.endpoints[0], "192.0.2.1:51820", 15))
			return die("endpoint");
		an.n_endpoints = 1;
		if (announce_serialize(&an, &body, &len) ||
		    envelope_seal(ENV_ANNOUNCE, d->sk, body, len, &env))
			return die("cannot build an announcement");
		free(body);
		memset(have, 0, devices);
		got_now = 0;
		want_id = UINT64_MAX;	/* known once the POST answers */
		snprintf(path, sizeof(path), "/v1/networks/%s/announce", network);
		t_announce = now_ms();
		if (hubhttp_request(hub, d->sk, "POST", path, env, strlen(env), 10000, NULL,
				    &rep) || rep.status != 200) {
			fprintf(stderr, "hubload: announce: %s\n", rep.error);
			return 1;
		}
		want_id = answer_id(rep.body);
		hub_reply_free(&rep);
		free(env);
		(void)reason;
		while (got_now < devices && now_ms() - t_announce < 10000)
			pump(m, 50);
		lost += devices - got_now;
		all[a] = now_ms() - t_announce;
	}
	proc_stats(hub_pid, &rss, &cpu1);
	printf("subscribers %u\nannouncements %u\n", devices, announces);
	printf("all_p50_ms %.1f\nall_p99_ms %.1f\n", pct(all, announces, 0.5),
	       pct(all, announces, 0.99));
	printf("fanout_p50_ms %.1f\nfanout_p99_ms %.1f\nfanout_max_ms %.1f\n",
	       pct(lat, nlat, 0.5), pct(lat, nlat, 0.99), pct(lat, nlat, 1.0));
	printf("hub_rss_kib %ld\nhub_cpu_s %.2f\nlost %u\n", rss, cpu1 - cpu0, lost);
	return lost ? 2 : 0;
}
