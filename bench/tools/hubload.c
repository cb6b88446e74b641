/* hubload.c - load on weft-hub: N simulated devices, every one of them
 * following the event stream (a long poll each, signed with its own
 * identity key), and M announcements made one after the other; for each,
 * the time until each subscriber has it (fan-out latency).
 *
 *   hubload keygen FILE            new admin key (seed in FILE), prints the
 *                                  public key for weft-hub create-network
 *   hubload run --hub URL [--hub URL...] --network NET [--network NET...]
 *               --admin FILE [--devices N] [--announce M] [--timeout S]
 *               [--hub-pid PID...] [--source ADDR...]
 *
 * A roster holds at most MESH_MAX_DEVICES (4096): more devices than that
 * need several --network (each created with the admin key); subscriber i
 * is in network i mod K, and announcement j is made in network j mod K,
 * so it fans out to that network's share of the subscribers while all N
 * long polls are held.
 * Several --hub (instances sharing one database): subscriber i follows
 * hub i mod H; the roster and every announcement go through the first, so
 * the subscribers of the others get them across instances. --hub-pid in
 * the same order gives each instance's RSS and CPU, and their sums.
 * --source ADDR (repeatable): subscriber i connects from source i mod S,
 * for more than one address's worth of ephemeral ports.
 *
 * It publishes a roster per network signed by the admin key, opens the N
 * long polls (since the roster's id), makes one untimed warm-up
 * announcement per network that its subscribers must all receive
 * (within 120 s: the
 * long polls are all in place after it), then times M announcements,
 * each given S seconds (default 10) to reach everyone. The long polls run
 * on one epoll loop (curl's socket API), so the tool's own cost per
 * delivery does not grow with N.
 *
 * Output, one "name value" line each: subscribers, networks, hubs,
 * announce_via, announcements, deliveries (expected, over all of them),
 * warmup_ms (the slowest network's), all_p50_ms, all_p99_ms (until the last
 * subscriber), fanout_p50_ms, fanout_p99_ms, fanout_max_ms (per
 * delivery), hubK_fanout_p50_ms / _p99_ms / _max_ms (the subscribers of
 * the K-th hub), hubK_rss_kib (after the announcements), hubK_cpu_s
 * (during them), hub_rss_kib and hub_cpu_s (sums), load_cpu_s (this
 * tool), errors (failed long polls, re-armed after 1 s), posts_failed
 * (timed announcements the first hub did not accept within S seconds;
 * all their deliveries count as lost), lost
 * (deliveries that did not come in time). Exit 2 when any was lost, 1 on
 * a setup failure (one line on stderr). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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

enum limits {
	MAX_HUBS = 8,
	MAX_SOURCES = 16,
	MAX_NETS = 16,
	WARMUP_MS = 120000,
	RETRY_MS = 1000,	/* a failed long poll waits this long */
	POLL_WAIT_S = 25,	/* the long poll's wait= */
	EVENTS_MAX = 256,
};

struct sub {
	CURL *c;
	struct curl_slist *hdr;
	char *buf;
	size_t len;
	uint64_t since;
	unsigned hub, net;
	double retry_at;	/* > 0: failed, re-arm then */
	uint8_t pk[32], sk[64];
	char url[600];
};

struct lat {
	double *v;
	size_t n, cap;
};

static const char *hubs[MAX_HUBS], *sources[MAX_SOURCES], *networks[MAX_NETS];
static unsigned n_hubs, n_sources, n_nets, net_size[MAX_NETS];
static long pids[MAX_HUBS];
static unsigned n_pids;
static struct sub *subs;
static unsigned devices = 2000;
static uint64_t want_id;		/* the announcement being timed */
static double t_announce;
static struct lat lat_all, lat_hub[MAX_HUBS];
static bool timing;			/* record latencies */
static unsigned got_now;		/* subscribers that have want_id */
static char *have;			/* per subscriber, for want_id */
static unsigned errors, failed, posts_failed;		/* failed polls; waiting to re-arm */
static char first_error[256];
static int epfd = -1;
static double timer_at = -1;		/* curl's timeout, absolute ms */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int die(const char *what)
{
	fprintf(stderr, "hubload: %s\n", what);
	return 1;
}

static void lat_add(struct lat *l, double v)
{
	if (l->n == l->cap) {
		double *nv = realloc(l->v, (l->cap ? 2 * l->cap : 4096) * sizeof(*nv));

		if (!nv) {
			fprintf(stderr, "hubload: out of memory\n");
			exit(1);
		}
		l->v = nv;
		l->cap = l->cap ? 2 * l->cap : 4096;
	}
	l->v[l->n++] = v;
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

/* curl's socket callback: keep the epoll set in step with its wishes. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct epoll_event ev = { .data.fd = fd };
	CURLM *m = arg;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
		curl_multi_assign(m, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
	if (!sockp) {
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) && errno == EEXIST)
			epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
		curl_multi_assign(m, fd, (void *)1);
	} else if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT) {
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	}
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *arg)
{
	(void)m;
	(void)arg;
	timer_at = timeout_ms < 0 ? -1 : now_ms() + (double)timeout_ms;
	return 0;
}

static void arm(CURLM *m, struct sub *s)
{
	char path[256], auth[HUBAUTH_HEADER_MAX], h[HUBAUTH_HEADER_MAX + 32];

	snprintf(path, sizeof(path), "/v1/networks/%s/events?since=%" PRIu64 "&wait=%d",
		 networks[s->net], s->since, POLL_WAIT_S);
	snprintf(s->url, sizeof(s->url), "%s%s", hubs[s->hub], path);
	hubauth_make(auth, s->sk, "GET", path, "", 0, (int64_t)time(NULL));
	snprintf(h, sizeof(h), "Authorization: %s", auth);
	curl_slist_free_all(s->hdr);
	s->hdr = curl_slist_append(NULL, h);
	s->len = 0;
	s->retry_at = 0;
	curl_easy_setopt(s->c, CURLOPT_URL, s->url);
	curl_easy_setopt(s->c, CURLOPT_HTTPHEADER, s->hdr);
	curl_multi_add_handle(m, s->c);
}

static void received(struct sub *s, double t)
{
	json_t *o = json_loads(s->buf ? s->buf : "", 0, NULL), *msgs, *msg;
	unsigned k = (unsigned)(s - subs);
	size_t i;

	if (json_is_integer(json_object_get(o, "last")))
		s->since = (uint64_t)json_integer_value(json_object_get(o, "last"));
	msgs = json_object_get(o, "messages");
	json_array_foreach(msgs, i, msg) {
		uint64_t id = (uint64_t)json_integer_value(json_object_get(msg, "id"));

		if (id == want_id && want_id && !have[k]) {
			have[k] = 1;
			got_now++;
			if (timing) {
				lat_add(&lat_all, t - t_announce);
				lat_add(&lat_hub[s->hub], t - t_announce);
			}
		}
	}
	json_decref(o);
}

static void failure(struct sub *s, const char *what)
{
	if (!errors++)
		snprintf(first_error, sizeof(first_error), "%s: %s", hubs[s->hub], what);
	s->retry_at = now_ms() + RETRY_MS;
	failed++;
}

static void pump(CURLM *m, int timeout_ms)
{
	struct epoll_event ev[EVENTS_MAX];
	CURLMsg *msg;
	double t = now_ms();
	int running, left, n, i, wait = timeout_ms;

	if (timer_at >= 0)
		wait = timer_at <= t ? 0 : (int)(timer_at - t + 1) < wait ? (int)(timer_at - t + 1) : wait;
	n = epoll_wait(epfd, ev, EVENTS_MAX, wait);
	for (i = 0; i < n; i++) {
		int fl = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
			 (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
			 (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

		curl_multi_socket_action(m, ev[i].data.fd, fl, &running);
	}
	if (timer_at >= 0 && now_ms() >= timer_at) {
		timer_at = -1;
		curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	t = now_ms();
	while ((msg = curl_multi_info_read(m, &left))) {
		struct sub *s = NULL;
		long code = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		curl_multi_remove_handle(m, msg->easy_handle);
		if (msg->data.result != CURLE_OK) {
			failure(s, curl_easy_strerror(msg->data.result));
		} else if (code != 200) {
			char what[128];

			snprintf(what, sizeof(what), "HTTP %ld %.100s", code, s->buf ? s->buf : "");
			failure(s, what);
		} else {
			received(s, t);
			arm(m, s);
		}
	}
	if (failed) {
		for (unsigned k = 0; k < devices; k++)
			if (subs[k].retry_at > 0 && subs[k].retry_at <= t) {
				failed--;
				arm(m, &subs[k]);
			}
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile; sorts v. */
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

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
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

/* Announce as subscriber d through the first hub, then wait up to
 * limit_ms for every subscriber of d's network to have it. Returns the
 * time until the last one (or the limit), -1 when the post failed. */
static double announce(CURLM *m, struct sub *d, unsigned seq, double limit_ms)
{
	char path[256], *body, *env;
	struct hub_reply rep;
	const char *network = networks[d->net];
	struct announce an;
	size_t len;

	memset(&an, 0, sizeof(an));
	snprintf(an.network, sizeof(an.network), "%s", network);
	memcpy(an.device, d->pk, 32);
	randombytes_buf(an.wg, 32);
	/* Each newer than the last of the same device. */
	an.time_ms = (uint64_t)time(NULL) * 1000 + seq;
	an.expires_s = an.time_ms / 1000 + 3600;
	if (!endpoint_parse(&an.endpoints[0], "192.0.2.1:51820", 15))
		return -1;
	an.n_endpoints = 1;
	if (announce_serialize(&an, &body, &len) ||
	    envelope_seal(ENV_ANNOUNCE, d->sk, body, len, &env)) {
		fprintf(stderr, "hubload: cannot build an announcement\n");
		return -1;
	}
	free(body);
	memset(have, 0, devices);
	got_now = 0;
	want_id = UINT64_MAX;	/* known once the POST answers */
	snprintf(path, sizeof(path), "/v1/networks/%s/announce", network);
	t_announce = now_ms();
	/* The post waits its turn behind the long polls being (re)armed. */
	if (hubhttp_request(hubs[0], d->sk, "POST", path, env, strlen(env), (long)limit_ms,
			    NULL, &rep) || rep.status != 200) {
		fprintf(stderr, "hubload: announce via %s: %s\n", hubs[0], rep.error);
		free(env);
		return -1;
	}
	want_id = answer_id(rep.body);
	hub_reply_free(&rep);
	free(env);
	while (got_now < net_size[d->net] && now_ms() - t_announce < limit_ms)
		pump(m, 50);
	return now_ms() - t_announce;
}

static int usage(void)
{
	return die("usage: hubload run --hub URL [--hub URL...] --network NET [--network NET...] "
		   "--admin FILE [--devices N] [--announce M] [--timeout S] [--hub-pid PID...] "
		   "[--source ADDR...]");
}

int main(int argc, char **argv)
{
	unsigned announces = 50, timeout_s = 10, i, a, k, lost = 0;
	const char *admin_file = NULL;
	uint8_t seed[32], apk[32], ask[64];
	char line[128], path[256], *body, *env;
	double *all, cpu0[MAX_HUBS], cpu1[MAX_HUBS], load0, warm, rss_sum = 0, cpu_sum = 0;
	long rss[MAX_HUBS];
	struct roster r;
	struct hub_reply rep;
	struct rlimit rl;
	uint64_t roster_id[MAX_NETS], deliveries = 0;
	size_t len;
	CURLM *m;
	FILE *f;

	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT))
		return die("library start failed");
	if (argc == 3 && !strcmp(argv[1], "keygen"))
		return keygen(argv[2]);
	if (argc < 2 || strcmp(argv[1], "run") || argc % 2)
		return usage();
	for (i = 2; i + 1 < (unsigned)argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];

		if (!strcmp(o, "--hub") && n_hubs < MAX_HUBS) hubs[n_hubs++] = v;
		else if (!strcmp(o, "--hub-pid") && n_pids < MAX_HUBS) pids[n_pids++] = atol(v);
		else if (!strcmp(o, "--source") && n_sources < MAX_SOURCES) sources[n_sources++] = v;
		else if (!strcmp(o, "--network") && n_nets < MAX_NETS) networks[n_nets++] = v;
		else if (!strcmp(o, "--admin")) admin_file = v;
		else if (!strcmp(o, "--devices")) devices = (unsigned)atoi(v);
		else if (!strcmp(o, "--announce")) announces = (unsigned)atoi(v);
		else if (!strcmp(o, "--timeout")) timeout_s = (unsigned)atoi(v);
		else if (!strcmp(o, "--hub") || !strcmp(o, "--hub-pid") || !strcmp(o, "--source") ||
			 !strcmp(o, "--network"))
			return die("too many --hub, --hub-pid, --source or --network "
				   "(at most 8, 8, 16, 16)");
		else {
			fprintf(stderr, "hubload: unknown option %s\n", o);
			return usage();
		}
	}
	if (!n_hubs || !n_nets || !admin_file || !timeout_s)
		return usage();
	if (!devices || (devices + n_nets - 1) / n_nets > MESH_MAX_DEVICES) {
		fprintf(stderr, "hubload: --devices %u: a network holds at most %u devices; "
			"give --network at least %u times\n", devices, (unsigned)MESH_MAX_DEVICES,
			(devices + MESH_MAX_DEVICES - 1) / MESH_MAX_DEVICES);
		return 1;
	}
	f = fopen(admin_file, "re");
	if (!f || !fgets(line, sizeof(line), f))
		return die("cannot read the admin key file");
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (!mesh_b64_decode(seed, 32, line))
		return die("bad admin key file");
	crypto_sign_seed_keypair(apk, ask, seed);
	/* A descriptor per long poll, and some for curl and the posts. */
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)devices + 64) {
		fprintf(stderr, "hubload: %u long polls need %u descriptors, the limit is %lu; "
			"raise it (ulimit -Hn)\n", devices, devices + 64, (unsigned long)rl.rlim_cur);
		return 1;
	}

	/* The devices, keys derived from their index; device i is in network
	 * i mod K. A roster per network. */
	subs = calloc(devices, sizeof(*subs));
	have = calloc(devices, 1);
	all = calloc(announces ? announces : 1, sizeof(*all));
	if (!subs || !have || !all)
		return die("out of memory");
	for (i = 0; i < devices; i++) {
		uint8_t s[32] = { 0 };

		memcpy(s, &i, sizeof(i));
		s[31] = 0x5a;
		crypto_sign_seed_keypair(subs[i].pk, subs[i].sk, s);
		subs[i].net = i % n_nets;
		subs[i].hub = i % n_hubs;
		net_size[subs[i].net]++;
	}
	for (k = 0; k < n_nets; k++) {
		memset(&r, 0, sizeof(r));
		r.devices = calloc(net_size[k], sizeof(*r.devices));
		if (!r.devices)
			return die("out of memory");
		snprintf(r.network, sizeof(r.network), "%s", networks[k]);
		r.version = (uint64_t)time(NULL);
		if (!mesh_range4_parse(&r.range, "100.64.0.0/10"))
			return die("range");
		memcpy(r.admins[0], apk, 32);
		r.n_admins = 1;
		for (i = k; i < devices; i += n_nets) {
			struct roster_device *dv = &r.devices[r.n_devices++];

			snprintf(dv->owner, MESH_NAME_MAX, "load");
			snprintf(dv->name, MESH_NAME_MAX, "dev%u", i);
			memcpy(dv->key, subs[i].pk, 32);
		}
		if (roster_serialize(&r, &body, &len) ||
		    envelope_seal(ENV_ROSTER, ask, body, len, &env))
			return die("cannot build the roster");
		free(body);
		free(r.devices);
		snprintf(path, sizeof(path), "/v1/networks/%s/roster", networks[k]);
		if (hubhttp_request(hubs[0], ask, "POST", path, env, strlen(env), 60000, NULL,
				    &rep) || rep.status != 200) {
			fprintf(stderr, "hubload: publish %s via %s: %s\n", networks[k], hubs[0],
				rep.error);
			return 1;
		}
		roster_id[k] = answer_id(rep.body);
		hub_reply_free(&rep);
		free(env);
	}

	epfd = epoll_create1(EPOLL_CLOEXEC);
	m = curl_multi_init();
	if (epfd < 0 || !m)
		return die("cannot start the event loop");
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)devices + 16);
	for (i = 0; i < devices; i++) {
		struct sub *s = &subs[i];

		s->c = curl_easy_init();
		if (!s->c)
			return die("out of memory");
		s->since = roster_id[s->net];
		curl_easy_setopt(s->c, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(s->c, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(s->c, CURLOPT_PRIVATE, (char *)s);
		curl_easy_setopt(s->c, CURLOPT_TIMEOUT, (long)POLL_WAIT_S + 15);
		curl_easy_setopt(s->c, CURLOPT_CONNECTTIMEOUT, 30L);
		curl_easy_setopt(s->c, CURLOPT_NOSIGNAL, 1L);
		if (n_sources) {
			char src[80];

			snprintf(src, sizeof(src), "host!%s", sources[i % n_sources]);
			curl_easy_setopt(s->c, CURLOPT_INTERFACE, src);
		}
		arm(m, s);
	}

	/* Warm-up: every long poll in place once everyone has had one. */
	warm = 0;
	for (k = 0; k < n_nets && k < devices; k++) {
		double t = announce(m, &subs[k], 0, WARMUP_MS);

		if (t < 0)
			return 1;
		if (got_now < net_size[k]) {
			fprintf(stderr, "hubload: only %u of %u subscribers of %s got the warm-up "
				"announcement within %d s (first error: %s)\n", got_now, net_size[k],
				networks[k], WARMUP_MS / 1000, errors ? first_error : "none");
			return 1;
		}
		warm = t > warm ? t : warm;
	}
	for (i = 0; i < n_pids; i++)
		proc_stats(pids[i], &rss[i], &cpu0[i]);
	load0 = self_cpu_s();
	timing = true;
	for (a = 0; a < announces; a++) {
		struct sub *d = &subs[(a + n_nets) % devices];

		all[a] = announce(m, d, a + 1, timeout_s * 1000.0);
		deliveries += net_size[d->net];
		if (all[a] < 0) {
			/* Not answered in time: an overloaded hub, measured. */
			all[a] = timeout_s * 1000.0;
			posts_failed++;
			lost += net_size[d->net];
			continue;
		}
		lost += net_size[d->net] - got_now;
	}
	timing = false;
	for (i = 0; i < n_pids; i++)
		proc_stats(pids[i], &rss[i], &cpu1[i]);

	printf("subscribers %u\nnetworks %u\nhubs %u\nannounce_via %s\nannouncements %u\n"
	       "deliveries %" PRIu64 "\n", devices, n_nets, n_hubs, hubs[0], announces, deliveries);
	printf("warmup_ms %.0f\n", warm);
	printf("all_p50_ms %.1f\nall_p99_ms %.1f\n", pct(all, announces, 0.5),
	       pct(all, announces, 0.99));
	printf("fanout_p50_ms %.1f\nfanout_p99_ms %.1f\nfanout_max_ms %.1f\n",
	       pct(lat_all.v, lat_all.n, 0.5), pct(lat_all.v, lat_all.n, 0.99),
	       pct(lat_all.v, lat_all.n, 1.0));
	for (i = 0; i < n_hubs && n_hubs > 1; i++) {
		struct lat *l = &lat_hub[i];

		printf("hub%u_fanout_p50_ms %.1f\nhub%u_fanout_p99_ms %.1f\nhub%u_fanout_max_ms %.1f\n",
		       i + 1, pct(l->v, l->n, 0.5), i + 1, pct(l->v, l->n, 0.99),
		       i + 1, pct(l->v, l->n, 1.0));
	}
	for (i = 0; i < n_pids; i++) {
		printf("hub%u_rss_kib %ld\nhub%u_cpu_s %.2f\n", i + 1, rss[i], i + 1,
		       cpu1[i] - cpu0[i]);
		rss_sum += (double)rss[i];
		cpu_sum += cpu1[i] - cpu0[i];
	}
	printf("hub_rss_kib %.0f\nhub_cpu_s %.2f\n", rss_sum, cpu_sum);
	printf("load_cpu_s %.2f\nerrors %u\nposts_failed %u\nlost %u\n", self_cpu_s() - load0,
	       errors, posts_failed, lost);
	if (errors)
		fprintf(stderr, "hubload: %u long polls failed; the first: %s\n", errors,
			first_error);
	return lost ? 2 : 0;
}
