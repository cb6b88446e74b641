/* http.c - weft-hub's libmicrohttpd glue (see http.h).
 *
 * One MHD thread (epoll) owns the server's store handle and api; the
 * thread that started the server owns a second handle (the watcher) and
 * calls hub_http_tick(). Held long-polls are MHD-suspended connections on
 * a list under h->lock: a connection is put on the list right after it is
 * suspended and taken off right before it is resumed, both under the lock,
 * so it is resumed exactly once. Bodies are read up to the endpoint's
 * limit and dropped past it (413); a Content-Length over the limit is
 * refused before any of the body is read. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/endpoint.h"
#include "hub/api.h"
#include "hub/http.h"
#include "hub/store.h"
#include "os/linux/log.h"

struct req {
	char target[HUB_TARGET_MAX + 2];	/* one more: "too long" */
	uint8_t *body;
	size_t len, cap, limit;
	bool started, too_big, answered;
	/* held long-poll */
	bool held, on_list;
	struct req *prev, *next;
	struct MHD_Connection *conn;
	char network[MESH_NAME_MAX];
	uint64_t since;
	int64_t deadline_ms;			/* CLOCK_MONOTONIC */
};

struct hub_http {
	struct MHD_Daemon *mhd;
	int fd;
	struct hub_store *store;	/* the MHD thread's */
	struct hub_api *api;
	struct hub_store *watch;	/* the ticking thread's */
	int64_t watch_version;
	bool verbose;
	pthread_mutex_t lock;		/* the list and stopping */
	struct req *held;		/* list of held requests */
	unsigned n_held;
	bool stopping;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ held list */

static void list_add(struct hub_http *h, struct req *r)
{
	r->prev = NULL;
	r->next = h->held;
	if (h->held)
		h->held->prev = r;
	h->held = r;
	r->on_list = true;
	h->n_held++;
}

static void list_del(struct hub_http *h, struct req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		h->held = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	r->on_list = false;
	h->n_held--;
}

/* Under h->lock. */
static void resume(struct hub_http *h, struct req *r)
{
	list_del(h, r);
	MHD_resume_connection(r->conn);
}

/* Wake the held requests of network that have not seen id. */
static void wake(struct hub_http *h, const char *network, uint64_t id)
{
	struct req *r, *next;

	pthread_mutex_lock(&h->lock);
	for (r = h->held; r; r = next) {
		next = r->next;
		if (r->since < id && strcmp(r->network, network) == 0)
			resume(h, r);
	}
	pthread_mutex_unlock(&h->lock);
}

/* ------------------------------------------------------------ MHD callbacks */

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req *r = calloc(1, sizeof(*r));

	(void)cls;
	if (!r)
		return NULL;
	r->conn = conn;
	if (uri)
		snprintf(r->target, sizeof(r->target), "%s", uri);
	return r;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode code)
{
	struct hub_http *h = cls;
	struct req *r = *con_cls;

	(void)conn;
	(void)code;
	if (!r)
		return;
	pthread_mutex_lock(&h->lock);
	if (r->on_list)
		list_del(h, r);
	pthread_mutex_unlock(&h->lock);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static enum MHD_Result reply(struct hub_http *h, struct MHD_Connection *conn,
			     struct req *r, const char *method,
			     struct hub_response *rs, bool close)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (h->verbose)
		log_info("%s %.80s -> %d%s%.*s", method, r->target, rs->status,
			 rs->status >= 400 ? " " : "",
			 rs->status >= 400 ? (int)(rs->body_len > 200 ? 200 : rs->body_len) : 0,
			 rs->body ? rs->body : "");
	resp = MHD_create_response_from_buffer(rs->body_len, rs->body,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		hub_response_free(rs);
		return MHD_NO;
	}
	rs->body = NULL;	/* MHD frees it now */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	if (close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	ret = MHD_queue_response(conn, (unsigned)rs->status, resp);
	MHD_destroy_response(resp);
	r->answered = true;
	return ret;
}

/* Hold r (its events answer is empty) until woken or its deadline. false:
 * the server is stopping, answer now. */
static bool hold(struct hub_http *h, struct req *r)
{
	bool ok;

	pthread_mutex_lock(&h->lock);
	ok = !h->stopping;
	if (ok) {
		r->held = true;
		MHD_suspend_connection(r->conn);
		list_add(h, r);
	}
	pthread_mutex_unlock(&h->lock);
	return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct hub_http *h = cls;
	struct req *r = *con_cls;
	struct hub_request rq;
	struct hub_response rs;

	(void)url;
	(void)version;
	if (!r)
		return MHD_NO;	/* out of memory at the start: drop it */
	if (r->answered)
		return MHD_YES;
	if (!r->started) {
		const char *cl = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		char *end;
		unsigned long long n;

		r->started = true;
		r->limit = hub_api_body_limit(method, r->target);
		if (cl) {
			errno = 0;
			n = strtoull(cl, &end, 10);
			if (errno || end == cl || *end || n > r->limit) {
				r->too_big = true;
				memset(&rq, 0, sizeof(rq));
				rq.method = method;
				rq.target = r->target;
				rq.body_too_big = true;
				hub_api_handle(h->api, &rq, &rs);
				/* A bad path or method is said as such; else
				 * 413, and the body is never read. */
				return reply(h, conn, r, method, &rs, true);
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (r->too_big)
			return MHD_YES;
		if (n > r->limit - r->len) {
			r->too_big = true;
			free(r->body);
			r->body = NULL;
			r->len = r->cap = 0;
			return MHD_YES;
		}
		if (r->len + n > r->cap) {
			size_t ncap = r->cap ? r->cap : 1024;
			uint8_t *p;

			while (ncap < r->len + n)
				ncap *= 2;
			if (ncap > r->limit)
				ncap = r->limit;
			p = realloc(r->body, ncap);
			if (!p)
				return MHD_NO;
			r->body = p;
			r->cap = ncap;
		}
		memcpy(r->body + r->len, upload_data, n);
		r->len += n;
		return MHD_YES;
	}

	if (r->held) {
		/* Woken: by a message, the deadline, or the end. */
		r->held = false;
		hub_api_events(h->api, r->network, r->since, &rs);
		if (rs.status == 200 && rs.n_messages == 0 &&
		    mono_ms() < r->deadline_ms) {
			hub_response_free(&rs);
			if (hold(h, r))
				return MHD_YES;
			hub_api_events(h->api, r->network, r->since, &rs);
		}
		return reply(h, conn, r, method, &rs, false);
	}

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.target = r->target;
	rq.auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					      MHD_HTTP_HEADER_AUTHORIZATION);
	rq.body = r->body;
	rq.body_len = r->len;
	rq.body_too_big = r->too_big;
	rq.now = (int64_t)time(NULL);
	hub_api_handle(h->api, &rq, &rs);
	if (rs.stored)
		wake(h, rs.network, rs.stored_id);
	if (rs.status == 0) {
		snprintf(r->network, sizeof(r->network), "%s", rs.network);
		r->since = rs.since;
		r->deadline_ms = mono_ms() + (int64_t)rs.wait_s * 1000;
		if (hold(h, r))
			return MHD_YES;
		hub_api_events(h->api, r->network, r->since, &rs);
	}
	return reply(h, conn, r, method, &rs, r->too_big);
}

/* ------------------------------------------------------------ the socket */

static int listen_on(const char *spec, char bound[HUB_HTTP_ADDR_MAX],
		     char reason[MESH_REASON_MAX])
{
	struct sockaddr_storage ss;
	struct wg_endpoint ep;
	socklen_t sl;
	int fd, one = 1, zero = 0;

	if (!endpoint_parse(&ep, spec, strlen(spec))) {
		snprintf(reason, MESH_REASON_MAX,
			 "bad --listen '%s': give a numeric ADDR:PORT such as "
			 "0.0.0.0:7480 or [::]:7480", spec);
		return -EINVAL;
	}
	memset(&ss, 0, sizeof(ss));
	if (ep.family == IP_V4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(ep.port);
		memcpy(&s4->sin_addr, ep.addr, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ep.port);
		s6->sin6_scope_id = ep.scope_id;
		memcpy(&s6->sin6_addr, ep.addr, 16);
		sl = sizeof(*s6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] serves IPv4 too. */
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(fd, 4096) != 0)
		goto fail;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		goto fail;
	ep.port = ntohs(ss.ss_family == AF_INET
				? ((struct sockaddr_in *)&ss)->sin_port
				: ((struct sockaddr_in6 *)&ss)->sin6_port);
	{
		char s[ENDPOINT_STR_MAX];

		endpoint_format(&ep, s);
		snprintf(bound, HUB_HTTP_ADDR_MAX, "%s", s);
	}
	return fd;
fail:
	snprintf(reason, MESH_REASON_MAX, "cannot listen on %s: %s", spec,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -EADDRNOTAVAIL;
}

int hub_http_start(struct hub_http **out, const struct hub_http_config *cfg,
		   char bound[HUB_HTTP_ADDR_MAX], char reason[MESH_REASON_MAX])
{
	struct hub_http *h;
	unsigned limit = cfg->max_connections ? cfg->max_connections
					      : HUB_HTTP_CONN_DEFAULT;
	int ret;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(reason, MESH_REASON_MAX, "out of memory");
		return -ENOMEM;
	}
	h->fd = -1;
	h->verbose = cfg->verbose;
	pthread_mutex_init(&h->lock, NULL);
	ret = hub_store_open(&h->store, cfg->db_path, reason);
	if (ret)
		goto fail;
	ret = hub_store_open(&h->watch, cfg->db_path, reason);
	if (ret)
		goto fail;
	if (hub_api_new(&h->api, h->store) != 0) {
		snprintf(reason, MESH_REASON_MAX, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	if (hub_store_data_version(h->watch, &h->watch_version) != 0) {
		snprintf(reason, MESH_REASON_MAX, "cannot read database %s: %s",
			 cfg->db_path, hub_store_error(h->watch));
		ret = -EIO;
		goto fail;
	}
	h->fd = listen_on(cfg->listen, bound, reason);
	if (h->fd < 0) {
		ret = h->fd;
		goto fail;
	}
	h->mhd = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
		(cfg->verbose ? MHD_USE_ERROR_LOG : 0),
		0, NULL, NULL, handle, h,
		MHD_OPTION_LISTEN_SOCKET, h->fd,
		MHD_OPTION_URI_LOG_CALLBACK, uri_log, h,
		MHD_OPTION_NOTIFY_COMPLETED, completed, h,
		MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HUB_HTTP_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		MHD_OPTION_END);
	if (!h->mhd) {
		snprintf(reason, MESH_REASON_MAX,
			 "cannot start the HTTP server on %s", cfg->listen);
		ret = -EIO;
		goto fail;
	}
	h->fd = -1;	/* MHD closes it */
	*out = h;
	return 0;
fail:
	hub_http_stop(h);
	return ret;
}

void hub_http_tick(struct hub_http *h)
{
	struct { char net[MESH_NAME_MAX]; uint64_t last; } seen[8];
	unsigned n_seen = 0;
	struct req *r, *next;
	int64_t v, now = mono_ms();
	bool changed = false;

	pthread_mutex_lock(&h->lock);
	if (h->held && hub_store_data_version(h->watch, &v) == 0 &&
	    v != h->watch_version) {
		h->watch_version = v;
		changed = true;
	}
	for (r = h->held; r; r = next) {
		uint64_t last = 0;
		unsigned i;

		next = r->next;
		if (now >= r->deadline_ms) {
			resume(h, r);
			continue;
		}
		if (!changed)
			continue;
		for (i = 0; i < n_seen; i++)
			if (strcmp(seen[i].net, r->network) == 0)
				break;
		if (i < n_seen) {
			last = seen[i].last;
		} else if (hub_store_last_id(h->watch, r->network, &last) != 0) {
			last = UINT64_MAX;	/* let the request look */
		} else if (n_seen < 8) {
			snprintf(seen[n_seen].net, MESH_NAME_MAX, "%s",
				 r->network);
			seen[n_seen++].last = last;
		}
		if (r->since < last)
			resume(h, r);
	}
	pthread_mutex_unlock(&h->lock);
}

void hub_http_stop(struct hub_http *h)
{
	if (!h)
		return;
	if (h->mhd) {
		bool had;

		pthread_mutex_lock(&h->lock);
		h->stopping = true;
		had = h->held != NULL;
		while (h->held)
			resume(h, h->held);
		pthread_mutex_unlock(&h->lock);
		if (had) {
			/* Let the server thread answer what was held. */
			struct timespec ts = { 0, 200 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		MHD_stop_daemon(h->mhd);
	}
	if (h->fd >= 0)
		close(h->fd);
	hub_api_free(h->api);
	hub_store_close(h->store);
	hub_store_close(h->watch);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
