/*
 * GET /metrics over HTTP for Prometheus (metrics_listen in [exod]): the
 * Prometheus text of the socket's metrics op, on libevent's evhttp in the
 * daemon's event loop.  The listener sees no peer credentials: it serves
 * the whole text, every profile, to whoever can connect.
 */
#ifndef EXOD_METRICS_HTTP_H
#define EXOD_METRICS_HTTP_H

#include <stddef.h>

struct event_base;
struct metrics_http;

#define METRICS_HTTP_PATH "/metrics"
#define METRICS_HTTP_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_HTTP_MAX_CONNS 4        /* connections at once; more wait in the backlog */
#define METRICS_HTTP_BACKLOG 16         /* listen() backlog */
#define METRICS_HTTP_MAX_HEADERS 8192   /* bytes of request line and headers */
#define METRICS_HTTP_MAX_BODY 1024      /* bytes of request body (no request here needs one) */
#define METRICS_HTTP_TIMEOUT_S 10       /* a connection idle this long is closed */
#define METRICS_HTTP_DEADLINE_S 30      /* a connection still open after this is closed */
#define METRICS_HTTP_ACCEPT_PAUSE_MS 250  /* out of descriptors: not accepting for this long */

/* The Prometheus text, malloc'd, or NULL when it cannot be made (the answer is then a 500). */
typedef char *(*metrics_http_render_fn)(void *arg);

/*
 * Listens on listen ("ADDRESS:PORT" or "[IPv6]:PORT", as conf.c stores
 * metrics_listen).  NULL with a message in err when it cannot.
 */
struct metrics_http *metrics_http_new(struct event_base *base, const char *listen,
				      metrics_http_render_fn render, void *arg,
				      char *err, size_t errlen);
/* Stops listening and drops the connections; NULL is fine. */
void metrics_http_free(struct metrics_http *m);
/* What it listens on, as given to metrics_http_new. */
const char *metrics_http_listen(const struct metrics_http *m);

/*
 * Reload: makes *mp listen on listen (NULL: not at all), keeping it when
 * the address is the same.  On failure returns -1 with err set and *mp
 * serving as before (should even the old address be lost meanwhile, *mp
 * is NULL and that is logged).
 */
int metrics_http_set(struct metrics_http **mp, struct event_base *base, const char *listen,
		     metrics_http_render_fn render, void *arg, char *err, size_t errlen);

#endif
