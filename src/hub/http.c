/* http.c - weft-hub's HTTP server: libmicrohttpd (one epoll thread)
 * around api.h, plus the long poll of `events?wait=S`.
 *
 * A long poll is an MHD-suspended connection on the waiter list. It is
 * resumed when a message is stored for its network (by this thread),
 * when the database changed under us (another process or hub: the ticker
 * thread waits in store_wait_change(), which polls SQLite's data_version
 * or is woken by PostgreSQL's NOTIFY), or when its wait is over;
 * a resumed request asks the store again and is suspended again if there
 * is still nothing and time is left. Only the MHD thread touches the
 * store it was given; the ticker has its own connection. */
#define _GNU_SOURCE
#include "hub/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "hub/api.h"
#include "os/linux/log.h"

enum {
	/* Connections at most: one per device following the stream, and
	 * never more than descriptors are left for (HTTP_FD_RESERVE for the
	 * database, the relay, epoll and logs). */
	HTTP_CONN_LIMIT = 65536,
	HTTP_FD_RESERVE = 64,
	HTTP_CONN_TIMEOUT_S = 60,	/* idle connections */
	TICK_MS = 100,			/* expiry of waits; longest store wait */
};

struct conn {
	char *body;
	size_t len, limit;
	bool too_big;
	bool waiting;		/* on the waiter list, suspended */
	bool held;		/* has been a long poll */
	uint64_t since;
	int64_t deadline_ms;
	char network[MESH_NAME_MAX];
	struct MHD_Connection *c;
	struct conn *prev, *next;
};

struct hub_http {
	struct MHD_Daemon *mhd;
	struct store *store;		/* MHD thread's */
	struct store *tick_store;	/* ticker's */
	struct api api;
	pthread_mutex_t lock;		/* waiters */
	struct conn *waiters;
	unsigned resuming;		/* resumed, not yet answered */
	pthread_t ticker;
	bool stop;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void unlink_waiter(struct hub_http *h, struct conn *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		h->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->waiting = false;
}

/* Resume the waiters of network (NULL: all) and, with expired, those whose
 * wait is over. Called with h->lock held. */
static void wake(struct hub_http *h, const char *network, bool expired_only)
{
	struct conn *w = h->waiters, *next;
	int64_t now = now_ms();

	for (; w; w = next) {
		next = w->next;
		if (expired_only ? now < w->deadline_ms :
		    (network && strcmp(network, w->network)))
			continue;
		unlink_waiter(h, w);
		h->resuming++;
		MHD_resume_connection(w->c);
	}
}

static void *ticker(void *arg)
{
	struct hub_http *h = arg;

	for (;;) {
		/* Returns early when the store knows of a change; on an error
		 * it has waited too, so this never spins. */
		bool changed = store_wait_change(h->tick_store, TICK_MS) > 0;

		pthread_mutex_lock(&h->lock);
		if (h->stop) {
			pthread_mutex_unlock(&h->lock);
			return NULL;
		}
		if (changed)
			wake(h, NULL, false);
		wake(h, NULL, true);
		pthread_mutex_unlock(&h->lock);
	}
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		body = strdup("{\"error\":\"out of memory\"}");
	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status,
				  const char *reason)
{
	struct api_response rs = { 0 };

	api_error(&rs, status, reason);
	return send_json(c, status, rs.body);
}

struct query_buf {
	char s[256];
	size_t len;
	bool overflow;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind,
			       const char *key, const char *value)
{
	struct query_buf *q = cls;
	int n;

	(void)kind;
	n = snprintf(q->s + q->len, sizeof(q->s) - q->len, "%s%s%s%s",
		     q->len ? "&" : "", key, value ? "=" : "", value ? value : "");
	if (n < 0 || (size_t)n >= sizeof(q->s) - q->len) {
		q->overflow = true;
		return MHD_NO;
	}
	q->len += (size_t)n;
	return MHD_YES;
}

static enum MHD_Result hold(struct hub_http *h, struct conn *st,
			    struct MHD_Connection *c)
{
	pthread_mutex_lock(&h->lock);
	st->waiting = true;
	st->c = c;
	st->prev = NULL;
	st->next = h->waiters;
	if (h->waiters)
		h->waiters->prev = st;
	h->waiters = st;
	MHD_suspend_connection(c);
	pthread_mutex_unlock(&h->lock);
	return MHD_YES;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version,
			      const char *upload, size_t *upload_size, void **con_cls)
{
	struct hub_http *h = cls;
	struct conn *st = *con_cls;
	struct api_request rq;
	struct api_response rs;
	struct query_buf q = { .len = 0 };

	(void)version;
	if (!st) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		st->limit = api_body_limit(url);
		*con_cls = st;
		if (cl && strtoull(cl, NULL, 10) > st->limit)
			return send_error(c, 413, "the body is over the limit");
		return MHD_YES;
	}
	if (*upload_size) {
		if (!st->too_big && st->len + *upload_size <= st->limit) {
			char *nb = realloc(st->body, st->len + *upload_size + 1);

			if (!nb)
				return MHD_NO;
			st->body = nb;
			memcpy(st->body + st->len, upload, *upload_size);
			st->len += *upload_size;
			st->body[st->len] = '\0';
		} else {
			st->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (st->too_big)
		return send_error(c, 413, "the body is over the limit");
	if (st->held) {
		/* Resumed: ask again; hold again while nothing and time left. */
		pthread_mutex_lock(&h->lock);
		if (h->resuming)
			h->resuming--;
		pthread_mutex_unlock(&h->lock);
		memset(&rs, 0, sizeof(rs));
		api_events(&h->api, st->network, st->since, &rs);
		if (rs.status == 200 && strstr(rs.body, "\"messages\":[]") &&
		    now_ms() < st->deadline_ms && !h->stop) {
			free(rs.body);
			return hold(h, st, c);
		}
		return send_json(c, rs.status, rs.body);
	}
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	if (q.overflow)
		return send_error(c, 414, "the query is too long");
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = url;
	rq.query = q.len ? q.s : NULL;
	rq.auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					      MHD_HTTP_HEADER_AUTHORIZATION);
	rq.body = st->body ? st->body : "";
	rq.body_len = st->len;
	rq.now = (int64_t)time(NULL);
	api_handle(&h->api, &rq, &rs);
	if (rs.stored) {
		pthread_mutex_lock(&h->lock);
		wake(h, rs.network, false);
		pthread_mutex_unlock(&h->lock);
	}
	if (rs.wait && !h->stop) {
		free(rs.body);
		st->held = true;
		st->since = rs.since;
		st->deadline_ms = now_ms() + (int64_t)rs.wait_s * 1000;
		snprintf(st->network, sizeof(st->network), "%s", rs.network);
		return hold(h, st, c);
	}
	if (rs.status >= 400)
		log_debug("hub: %s %s -> %d", method, url, rs.status);
	return send_json(c, rs.status, rs.body);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct hub_http *h = cls;
	struct conn *st = *con_cls;

	(void)c;
	(void)toe;
	if (!st)
		return;
	pthread_mutex_lock(&h->lock);
	if (st->waiting)
		unlink_waiter(h, st);
	pthread_mutex_unlock(&h->lock);
	free(st->body);
	free(st);
	*con_cls = NULL;
}

/* "ADDR:PORT", "[V6]:PORT". */
static int parse_listen(const char *s, struct sockaddr_storage *ss, bool *v6)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl;
	char *end;
	unsigned long port;

	if (!colon || !colon[1])
		return -EINVAL;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host) || hl == 0)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[hl - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*v6 = true;
		return 0;
	}
	{
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*v6 = false;
	}
	return 0;
}

/* The connection limit: HTTP_CONN_LIMIT, or what RLIMIT_NOFILE (raised
 * by main) leaves room for. */
static unsigned conn_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= (rlim_t)HTTP_CONN_LIMIT + HTTP_FD_RESERVE)
		return HTTP_CONN_LIMIT;
	if (rl.rlim_cur < 2 * HTTP_FD_RESERVE)
		return HTTP_FD_RESERVE;
	return (unsigned)rl.rlim_cur - HTTP_FD_RESERVE;
}

int hub_http_start(struct hub_http **out, const char *db_path, const char *listen,
		   char err[MESH_REASON_MAX])
{
	struct hub_http *h;
	struct sockaddr_storage ss;
	bool v6 = false;
	unsigned flags, limit = conn_limit();

	*out = NULL;
	if (parse_listen(listen, &ss, &v6)) {
		snprintf(err, MESH_REASON_MAX,
			 "--listen %s: give ADDR:PORT, e.g. 0.0.0.0:7480 or [::]:7480", listen);
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	if (store_open(&h->store, db_path, err) || store_open(&h->tick_store, db_path, err)) {
		store_close(h->store);
		free(h);
		return -EIO;
	}
	(void)store_wait_change(h->tick_store, 0);	/* from now on */
	api_init(&h->api, h->store);
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (v6) {
		flags |= MHD_USE_IPv6;
		if (IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
			flags |= MHD_USE_DUAL_STACK;
	}
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, answer, h,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, limit,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT_S,
				  MHD_OPTION_NOTIFY_COMPLETED, completed, h,
				  MHD_OPTION_END);
	if (!h->mhd) {
		snprintf(err, MESH_REASON_MAX,
			 "cannot listen on %s: address in use or not on this host", listen);
		api_free(&h->api);
		store_close(h->store);
		store_close(h->tick_store);
		free(h);
		return -EADDRINUSE;
	}
	if (limit < HTTP_CONN_LIMIT)
		log_info("hub: at most %u connections (open-file limit %u); "
			 "raise `ulimit -Hn` for more devices", limit, limit + HTTP_FD_RESERVE);
	if (pthread_create(&h->ticker, NULL, ticker, h)) {
		snprintf(err, MESH_REASON_MAX, "cannot start a thread");
		hub_http_stop(h);
		return -EAGAIN;
	}
	*out = h;
	return 0;
}

void hub_http_stop(struct hub_http *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	wake(h, NULL, false);
	pthread_mutex_unlock(&h->lock);
	if (h->ticker)
		pthread_join(h->ticker, NULL);
	/* MHD refuses to stop with suspended connections: let the resumed
	 * ones be answered first (they are not held again once stop is
	 * set). */
	MHD_quiesce_daemon(h->mhd);
	for (int i = 0; i < 100; i++) {
		struct timespec ts = { 0, 10 * 1000000L };
		bool empty;

		pthread_mutex_lock(&h->lock);
		wake(h, NULL, false);
		empty = !h->waiters && h->resuming == 0;
		pthread_mutex_unlock(&h->lock);
		if (empty)
			break;
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(h->mhd);
	api_free(&h->api);
	store_close(h->store);
	store_close(h->tick_store);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
