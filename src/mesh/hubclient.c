/* hubclient.c - a mesh node's hub connection (hubclient.h). */
#define _GNU_SOURCE
#include "mesh/hubclient.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "mesh/hubhttp.h"
#include "os/linux/log.h"
#include "vpn/backoff.h"

static void sleep_ms(unsigned ms, const volatile int *stop)
{
	while (ms && !*stop) {
		unsigned step = ms < 100 ? ms : 100;
		struct timespec ts = { 0, (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void hub_wake(struct hubclient *h)
{
	uint64_t one = 1;

	(void)!write(h->efd, &one, sizeof(one));
}

static void *poller_main(void *arg)
{
	struct hubclient *h = arg;
	struct backoff bo;
	uint64_t since = 0;
	bool complained = false;

	backoff_init(&bo, 1000, HUBCLIENT_RETRY_CAP_MS, randombytes_random());
	while (!h->stop) {
		char path[256];
		struct hub_reply r;
		json_t *o;
		int err;

		snprintf(path, sizeof(path), "/v1/networks/%s/events?since=%" PRIu64 "&wait=%d",
			 h->network, since, HUBCLIENT_WAIT_S);
		err = hubhttp_request(h->hub, h->sk, "GET", path, NULL, 0,
				      (HUBCLIENT_WAIT_S + 10) * 1000L, &h->abort_poll, &r);
		if (h->stop) {
			hub_reply_free(&r);
			break;
		}
		if (h->abort_poll) {
			/* Kicked: again at once, from the new address. */
			h->abort_poll = 0;
			hub_reply_free(&r);
			continue;
		}
		if (err || r.status != 200) {
			if (!complained)
				log_warn("hub: %s; retrying (the mesh keeps running)", r.error);
			complained = true;
			hub_reply_free(&r);
			sleep_ms((unsigned)backoff_next(&bo), &h->stop);
			continue;
		}
		if (complained)
			log_info("hub: connected again, resuming after message %" PRIu64, since);
		complained = false;
		backoff_reset(&bo);
		o = json_loads(r.body, 0, NULL);
		if (json_is_integer(json_object_get(o, "last")) &&
		    json_integer_value(json_object_get(o, "last")) >= 0)
			since = (uint64_t)json_integer_value(json_object_get(o, "last"));
		json_decref(o);
		pthread_mutex_lock(&h->mu);
		while (h->n == HUBCLIENT_QUEUE_MAX && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->stop) {
			h->queue[h->n++] = r.body;
			r.body = NULL;
		}
		pthread_mutex_unlock(&h->mu);
		hub_reply_free(&r);
		hub_wake(h);
	}
	return NULL;
}

static void *poster_main(void *arg)
{
	struct hubclient *h = arg;
	char path[160];

	snprintf(path, sizeof(path), "/v1/networks/%s/announce", h->network);
	for (;;) {
		struct hub_reply r;
		char *env;
		int err;

		pthread_mutex_lock(&h->mu);
		while (!h->ann && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		env = h->ann;
		h->ann = NULL;
		pthread_mutex_unlock(&h->mu);
		if (h->stop) {
			free(env);
			return NULL;
		}
		err = hubhttp_request(h->hub, h->sk, "POST", path, env, strlen(env),
				      15000, &h->stop, &r);
		free(env);
		pthread_mutex_lock(&h->mu);
		h->ann_done = true;
		h->ann_status = err ? 0 : r.status;
		h->ann_id = 0;
		snprintf(h->ann_err, sizeof(h->ann_err), "%s", r.error);
		if (!err && r.status == 200) {
			json_t *o = json_loads(r.body, 0, NULL);

			if (json_is_integer(json_object_get(o, "id")))
				h->ann_id = (uint64_t)json_integer_value(json_object_get(o, "id"));
			json_decref(o);
		}
		pthread_mutex_unlock(&h->mu);
		hub_reply_free(&r);
		hub_wake(h);
	}
}

int hubclient_start(struct hubclient *h, const char *hub, const char *network,
		    const uint8_t sk[MESH_SECRET_LEN])
{
	memset(h, 0, sizeof(*h));
	snprintf(h->hub, sizeof(h->hub), "%s", hub);
	snprintf(h->network, sizeof(h->network), "%s", network);
	h->sk = sk;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0)
		return -errno;
	if (pthread_create(&h->poller, NULL, poller_main, h))
		return -EAGAIN;
	if (pthread_create(&h->poster, NULL, poster_main, h)) {
		h->stop = 1;
		pthread_join(h->poller, NULL);
		return -EAGAIN;
	}
	h->started = true;
	return 0;
}

void hubclient_stop(struct hubclient *h)
{
	unsigned i;

	if (!h->started)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	h->abort_poll = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->poller, NULL);
	pthread_join(h->poster, NULL);
	for (i = 0; i < h->n; i++)
		free(h->queue[i]);
	free(h->ann);
	close(h->efd);
	h->started = false;
}

int hubclient_fd(const struct hubclient *h)
{
	return h->efd;
}

void hubclient_announce(struct hubclient *h, char *env)
{
	pthread_mutex_lock(&h->mu);
	free(h->ann);
	h->ann = env;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void hubclient_kick(struct hubclient *h)
{
	if (h->started)
		h->abort_poll = 1;
}

void hubclient_take(struct hubclient *h, struct hubclient_results *r)
{
	uint64_t v;

	(void)!read(h->efd, &v, sizeof(v));
	pthread_mutex_lock(&h->mu);
	r->n = h->n;
	memcpy(r->answers, h->queue, sizeof(r->answers));
	h->n = 0;
	r->ann_done = h->ann_done;
	h->ann_done = false;
	r->ann_status = h->ann_status;
	r->ann_id = h->ann_id;
	snprintf(r->ann_err, sizeof(r->ann_err), "%s", h->ann_err);
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}
