/* GET /metrics: evhttp on the daemon's loop, a few connections at once, each one bounded. */
#include "daemon/metrics_http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/log.h"
#include "daemon/clock.h"

#define METRICS_HTTP_LISTEN_MAX 64      /* bytes of "[IPv6]:PORT" and its NUL */
#define METRICS_HTTP_LOG_EVERY_S 10     /* accept failures are logged at most this often */

/* Every method evhttp knows reaches our callback, so that each gets a 405 and not a 501. */
#define METRICS_HTTP_METHODS (EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | \
			      EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |     \
			      EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH)

/* One accepted connection: evhttp owns it, we count it and end it at its deadline. */
struct metrics_http_conn {
	struct metrics_http *m;
	int used;
	struct bufferevent *bev;        /* our reference until adopted */
	struct evhttp_connection *evcon;  /* once adopted */
	struct event *adopt;            /* runs once evhttp has set the connection up */
	struct event *deadline;
};

struct metrics_http {
	struct evhttp *http;
	struct evconnlistener *listener;  /* evhttp's once bound; freed with it */
	struct event *resume;           /* ends a pause in accepting */
	metrics_http_render_fn render;
	void *arg;
	char listen[METRICS_HTTP_LISTEN_MAX];
	int nconns;
	int paused;                     /* accept() failed: not accepting for a moment */
	int dying;                      /* being freed: connections end without re-enabling */
	long long error_logged;         /* clock_ms() of the last accept failure logged */
	struct metrics_http *next;      /* metrics_http_all */
	struct metrics_http_conn conns[METRICS_HTTP_MAX_CONNS];
};

/*
 * evhttp_bind_listener makes its evhttp the listener's callback argument:
 * the accept error callback finds its metrics_http by the listener here.
 */
static struct metrics_http *metrics_http_all;

const char *metrics_http_listen(const struct metrics_http *m)
{
	return m->listen;
}

/* Accepting while a connection slot is free and no pause runs. */
static void metrics_http_update(struct metrics_http *m)
{
	if (m->nconns < METRICS_HTTP_MAX_CONNS && !m->paused)
		evconnlistener_enable(m->listener);
	else
		evconnlistener_disable(m->listener);
}

/* ---- connections ---- */

/*
 * libevent 2.1's evhttp neither caps its connections (2.2 does) nor says
 * when one begins.  Its bevcb hook gives us each connection's bufferevent
 * before evhttp wraps it; a moment later, the bufferevent's callback
 * argument is the evhttp_connection, whose close callback says when it
 * ends.  The slot is counted from the bevcb to the close callback.
 */
static void metrics_http_release(struct metrics_http_conn *c)
{
	struct metrics_http *m = c->m;

	event_del(c->deadline);
	c->used = 0;
	c->evcon = NULL;
	m->nconns--;
	if (!m->dying)
		metrics_http_update(m);
}

static void metrics_http_closed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	metrics_http_release(arg);
}

/*
 * After the bevcb, in the same loop turn, before any of the connection's
 * I/O: our reference kept the bufferevent alive even if evhttp already
 * let go of it (callbacks NULL then).
 */
static void metrics_http_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http_conn *c = arg;
	struct bufferevent *bev = c->bev;
	bufferevent_event_cb eventcb = NULL;
	void *evcon = NULL;

	(void)fd;
	(void)what;
	bufferevent_getcb(bev, NULL, NULL, &eventcb, &evcon);
	c->bev = NULL;
	if (eventcb != NULL) {
		c->evcon = evcon;
		evhttp_connection_set_closecb(c->evcon, metrics_http_closed, c);
	}
	bufferevent_decref(bev);
	if (c->evcon == NULL)
		metrics_http_release(c);
}

/* A client trickling a byte now and then would never meet the idle timeout. */
static void metrics_http_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->evcon != NULL)
		evhttp_connection_free(c->evcon);       /* calls metrics_http_closed */
}

/* evhttp's bevcb: a new connection, counted; the listener stops at the cap. */
static struct bufferevent *metrics_http_accepted(struct event_base *base, void *arg)
{
	struct metrics_http *m = arg;
	struct metrics_http_conn *c = NULL;
	struct timeval tv = { METRICS_HTTP_DEADLINE_S, 0 };

	for (int i = 0; i < METRICS_HTTP_MAX_CONNS && c == NULL; i++)
		if (!m->conns[i].used)
			c = &m->conns[i];
	/* Never at the cap (the listener is off then); out of memory evhttp makes its own. */
	if (c == NULL || (c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return NULL;
	bufferevent_incref(c->bev);
	c->used = 1;
	event_active(c->adopt, EV_TIMEOUT, 0);
	evtimer_add(c->deadline, &tv);
	m->nconns++;
	metrics_http_update(m);
	return c->bev;
}

static void metrics_http_resume(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_http *m = arg;

	(void)fd;
	(void)what;
	m->paused = 0;
	metrics_http_update(m);
}

/*
 * accept() failed for want of descriptors (or memory): the connection
 * stays queued and the listener would fire again at once.  Pause instead
 * of spinning.
 */
static void metrics_http_accept_error(struct evconnlistener *l, void *arg)
{
	struct metrics_http *m = metrics_http_all;
	struct timeval tv = clock_tv(METRICS_HTTP_ACCEPT_PAUSE_MS);
	int err = EVUTIL_SOCKET_ERROR();
	long long now = clock_ms();

	(void)arg;
	while (m != NULL && m->listener != l)
		m = m->next;
	if (m == NULL) {
		evconnlistener_disable(l);
		return;
	}
	m->paused = 1;
	metrics_http_update(m);
	evtimer_add(m->resume, &tv);
	if (m->error_logged == 0 || now - m->error_logged >= METRICS_HTTP_LOG_EVERY_S * 1000LL) {
		log_err("metrics on %s: cannot accept: %s; pausing %d ms", m->listen, strerror(err),
			METRICS_HTTP_ACCEPT_PAUSE_MS);
		m->error_logged = now;
	}
}

/* ---- requests ---- */

/*
 * One request a connection (Connection: close): the slot is free as soon
 * as the answer is out, and a scraper's next interval is longer than the
 * idle timeout that would end a kept connection anyway.
 */
static void metrics_http_reply(struct evhttp_request *req, int code, const char *reason,
			       const char *type, const char *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	size_t len = strlen(body);
	char n[24];

	snprintf(n, sizeof(n), "%zu", len);
	if (evhttp_add_header(h, "Content-Type", type) < 0 ||
	    evhttp_add_header(h, "Content-Length", n) < 0 ||
	    evhttp_add_header(h, "Connection", "close") < 0 ||
	    (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD &&
	     evbuffer_add(evhttp_request_get_output_buffer(req), body, len) < 0)) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_send_reply(req, code, reason, NULL);
}

static void metrics_http_request(struct evhttp_request *req, void *arg)
{
	struct metrics_http *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char *text;

	if (path == NULL || strcmp(path, METRICS_HTTP_PATH) != 0) {
		metrics_http_reply(req, HTTP_NOTFOUND, "Not Found", "text/plain",
				   "exod serves " METRICS_HTTP_PATH " only\n");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		metrics_http_reply(req, HTTP_BADMETHOD, "Method Not Allowed", "text/plain",
				   METRICS_HTTP_PATH " takes GET or HEAD\n");
		return;
	}
	text = m->render(m->arg);
	if (text == NULL) {
		log_err("metrics on %s: cannot make the Prometheus text", m->listen);
		metrics_http_reply(req, HTTP_INTERNAL, "Internal Server Error", "text/plain",
				   "cannot make the metrics text\n");
		return;
	}
	metrics_http_reply(req, HTTP_OK, "OK", METRICS_HTTP_CONTENT_TYPE, text);
	free(text);
}

/* ---- life ---- */

static void metrics_http_limits(struct metrics_http *m)
{
	evhttp_set_max_headers_size(m->http, METRICS_HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_HTTP_MAX_BODY);
	evhttp_set_timeout(m->http, METRICS_HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(m->http, METRICS_HTTP_METHODS);
	evhttp_set_bevcb(m->http, metrics_http_accepted, m);
	evhttp_set_gencb(m->http, metrics_http_request, m);
}

static int metrics_http_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(in->sin_addr.s_addr) >> 24) == IN_LOOPBACKNET;
	return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
	       (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == IN_LOOPBACKNET);
}

static int metrics_http_slots(struct metrics_http *m, struct event_base *base)
{
	for (int i = 0; i < METRICS_HTTP_MAX_CONNS; i++) {
		struct metrics_http_conn *c = &m->conns[i];

		c->m = m;
		c->adopt = event_new(base, -1, 0, metrics_http_adopt, c);
		c->deadline = evtimer_new(base, metrics_http_deadline, c);
		if (c->adopt == NULL || c->deadline == NULL)
			return -1;
	}
	return 0;
}

/* Binds listen; on failure *sys_err is the errno of socket(), bind() or listen(), or 0. */
static struct metrics_http *metrics_http_open(struct event_base *base, const char *listen,
					      metrics_http_render_fn render, void *arg,
					      int *sys_err, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int sslen = (int)sizeof(ss);
	struct metrics_http *m;

	*sys_err = 0;
	if (strlen(listen) >= METRICS_HTTP_LISTEN_MAX ||
	    evutil_parse_sockaddr_port(listen, (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(err, errlen, "metrics_listen %.*s: not an address and port",
			 METRICS_HTTP_LISTEN_MAX, listen);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->http = evhttp_new(base)) == NULL ||
	    (m->resume = evtimer_new(base, metrics_http_resume, m)) == NULL ||
	    metrics_http_slots(m, base) < 0) {
		snprintf(err, errlen, "metrics_listen %s: out of memory", listen);
		goto fail;
	}
	m->listener = evconnlistener_new_bind(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE |
					      LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
					      METRICS_HTTP_BACKLOG, (struct sockaddr *)&ss, sslen);
	if (m->listener == NULL) {
		*sys_err = errno;
		snprintf(err, errlen, "metrics_listen %s: cannot listen: %s", listen, strerror(errno));
		goto fail;
	}
	if (evhttp_bind_listener(m->http, m->listener) == NULL) {
		evconnlistener_free(m->listener);
		snprintf(err, errlen, "metrics_listen %s: out of memory", listen);
		goto fail;
	}
	evconnlistener_set_error_cb(m->listener, metrics_http_accept_error);
	metrics_http_limits(m);
	m->render = render;
	m->arg = arg;
	snprintf(m->listen, sizeof(m->listen), "%s", listen);
	m->next = metrics_http_all;
	metrics_http_all = m;
	if (!metrics_http_loopback(&ss))
		log_warn("metrics on %s: not a loopback address; anyone who reaches it reads every "
			 "profile's metrics (firewall it)", listen);
	return m;
fail:
	metrics_http_free(m);
	return NULL;
}

struct metrics_http *metrics_http_new(struct event_base *base, const char *listen,
				      metrics_http_render_fn render, void *arg,
				      char *err, size_t errlen)
{
	int sys_err;

	return metrics_http_open(base, listen, render, arg, &sys_err, err, errlen);
}

void metrics_http_free(struct metrics_http *m)
{
	struct metrics_http **pp = &metrics_http_all;

	if (m == NULL)
		return;
	while (*pp != NULL && *pp != m)
		pp = &(*pp)->next;
	if (*pp != NULL)
		*pp = m->next;
	m->dying = 1;
	/* The listener and every connection: the adopted ones' close callbacks run now. */
	if (m->http != NULL)
		evhttp_free(m->http);
	for (int i = 0; i < METRICS_HTTP_MAX_CONNS; i++) {
		struct metrics_http_conn *c = &m->conns[i];

		if (c->used && c->bev != NULL)
			bufferevent_decref(c->bev);
		if (c->used)
			metrics_http_release(c);
		if (c->adopt != NULL)
			event_free(c->adopt);
		if (c->deadline != NULL)
			event_free(c->deadline);
	}
	if (m->resume != NULL)
		event_free(m->resume);
	free(m);
}

/* The new address overlaps the old one (0.0.0.0:P after 127.0.0.1:P): let go of the old first. */
static int metrics_http_move(struct metrics_http **mp, struct event_base *base, const char *listen,
			     metrics_http_render_fn render, void *arg, char *err, size_t errlen)
{
	char was[METRICS_HTTP_LISTEN_MAX];
	char why[256];
	int sys_err;

	snprintf(was, sizeof(was), "%s", (*mp)->listen);
	metrics_http_free(*mp);
	*mp = metrics_http_open(base, listen, render, arg, &sys_err, err, errlen);
	if (*mp != NULL) {
		log_info("serving metrics on http://%s%s", listen, METRICS_HTTP_PATH);
		return 0;
	}
	*mp = metrics_http_open(base, was, render, arg, &sys_err, why, sizeof(why));
	if (*mp == NULL)
		log_err("%s; no metrics over HTTP until the next reload", why);
	return -1;
}

int metrics_http_set(struct metrics_http **mp, struct event_base *base, const char *listen,
		     metrics_http_render_fn render, void *arg, char *err, size_t errlen)
{
	struct metrics_http *old = *mp;
	int sys_err;

	if (old != NULL && listen != NULL && strcmp(old->listen, listen) == 0)
		return 0;
	if (listen == NULL) {
		if (old != NULL)
			log_info("no longer serving metrics over HTTP");
		metrics_http_free(old);
		*mp = NULL;
		return 0;
	}
	*mp = metrics_http_open(base, listen, render, arg, &sys_err, err, errlen);
	if (*mp != NULL) {
		metrics_http_free(old);
		log_info("serving metrics on http://%s%s", listen, METRICS_HTTP_PATH);
		return 0;
	}
	*mp = old;
	if (old == NULL || sys_err != EADDRINUSE)
		return -1;
	return metrics_http_move(mp, base, listen, render, arg, err, errlen);
}
