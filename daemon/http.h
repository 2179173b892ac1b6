/*
 * HTTPS client: the only part of exod that knows libcurl.  Transfers run
 * on libcurl's multi-socket API driven by the daemon's libevent loop, so
 * nothing blocks and connections are reused across requests.
 */
#ifndef EXOD_HTTP_H
#define EXOD_HTTP_H

#include <stddef.h>

struct event_base;
struct http;
struct http_cookies;
struct http_headers;
struct http_url;
struct http_xfer;

#define HTTP_MAX_BUFFERED (1024 * 1024)  /* bytes of a buffered (token) response */
#define HTTP_MAX_HEADER_VALUE 1024       /* bytes kept of a header we look at */
#define HTTP_MAX_RETRY_AFTER_S 300       /* a longer Retry-After is taken as this */
#define HTTP_MAX_URL 8192                /* bytes of a URL we compare */

enum http_data_status {
	HTTP_DATA_OK,                   /* consumed; go on */
	HTTP_DATA_PAUSE,                /* not taken: delivered again after http_xfer_resume */
	HTTP_DATA_ABORT,                /* stop the transfer; on_done reports HTTP_ABORTED */
};

enum http_outcome {
	HTTP_OK,                        /* a response arrived (any status) */
	HTTP_NOT_SENT,                  /* failed before the request could reach the server */
	HTTP_FAILED,                    /* failed after the request may have reached the server */
	HTTP_TIMED_OUT,
	HTTP_ABORTED,                   /* on_data asked to stop */
};

struct http_result {
	enum http_outcome outcome;
	long status;                    /* HTTP status, 0 without a response */
	const char *error;              /* curl's text when outcome != HTTP_OK */
	const char *body;               /* buffered mode: the response body, bytes with a length */
	size_t body_len;
	long retry_after;               /* seconds, 0..HTTP_MAX_RETRY_AFTER_S; 0 when absent or bad */
	char www_authenticate[HTTP_MAX_HEADER_VALUE];   /* header values, "" when absent */
	char request_id[128];           /* the service's id of the request, for support */
	char server[128];               /* X-CalculatedBETarget: the back-end that served it */
	char date[64];                  /* the Date header */
	char location[HTTP_MAX_HEADER_VALUE];   /* a redirect's target, "" when absent */
	double total_ms;
};

typedef enum http_data_status (*http_data_cb)(void *arg, const char *data, size_t len);
typedef void (*http_done_cb)(void *arg, const struct http_result *res);

struct http_request {
	const char *method;             /* "GET" or "POST" */
	const char *url;
	struct http_url *parsed;        /* url parsed once (http_url_new), or NULL; the
					   transfer takes a reference */
	const char *body;               /* copied, and wiped when the transfer ends */
	size_t body_len;
	struct http_headers *headers;   /* taken over by http_start, even when it fails */
	const char *ca_file;            /* NULL: the system's CAs */
	const char *proxy;              /* NULL: libcurl's default (the proxy environment) */
	int no_proxy;                   /* never use a proxy (managed identity endpoint) */
	int fresh_connect;              /* a new connection, so libcurl never sends it twice */
	int http1;                      /* HTTP/1.1 only; else HTTP/2 where the server offers it */
	struct http_cookies *cookies;   /* NULL: none; else cookies are sent from and kept in it */
	long timeout_ms;
	long connect_timeout_ms;
	/*
	 * Nonzero (from http_reuse_key): every request with this key sets the
	 * same method, CAs, proxy, protocol and connect timeout, and no cookies,
	 * so a handle its last transfer used goes on without being reset, as a
	 * client that sends the same request again keeps its handle.
	 */
	unsigned long long reuse_key;
	http_data_cb on_data;           /* NULL: buffer the body, up to HTTP_MAX_BUFFERED */
	http_done_cb on_done;           /* called exactly once, unless cancelled */
	void *arg;
};

/* libcurl's process-wide set-up and tear-down, once each. */
int http_global_init(void);
void http_global_cleanup(void);

struct http *http_new(struct event_base *base);
void http_free(struct http *h);

/* A key no other caller has, for http_request.reuse_key. */
unsigned long long http_reuse_key(void);

/* Starts a transfer.  NULL on failure (err filled; on_done is not called). */
struct http_xfer *http_start(struct http *h, const struct http_request *req,
			     char *err, size_t errlen);
/* Stops a transfer; on_done is not called.  NULL is fine. */
void http_xfer_cancel(struct http_xfer *x);
/* The HTTP status of the response being received (0 before the headers). */
long http_xfer_status(struct http_xfer *x);
/* The response's headers seen so far (request_id, server, date; the rest is not yet filled). */
const struct http_result *http_xfer_headers(const struct http_xfer *x);
/* Continues a transfer paused by HTTP_DATA_PAUSE. */
void http_xfer_resume(struct http_xfer *x);

/*
 * Request headers.  A list may carry a bearer token: every line is wiped
 * when the list is freed.  add creates the list on first use; -1 when out
 * of memory, the value holds a CR or LF, or a tail is chained already.
 */
int http_headers_add(struct http_headers **list, const char *name, const char *value);
/*
 * Appends a shared list after the lines of *list (created when NULL):
 * the same lines for many requests are built once.  *list takes a
 * reference to tail; nothing may be added to *list after.  -1 when out
 * of memory, tail is empty, or *list has a tail already.
 */
int http_headers_chain(struct http_headers **list, struct http_headers *tail);
/* Drops a reference: the last one wipes and frees the list (and its tail's reference). */
void http_headers_free(struct http_headers *list);
/*
 * A URL parsed once for the many requests that go to it: libcurl parses
 * a text URL again for every transfer.  A transfer holds a reference, so
 * the owner may free it at any time.  NULL when out of memory or not a URL.
 */
struct http_url *http_url_new(const char *url);
void http_url_free(struct http_url *u);

/* URL-encodes s[0..len) into a malloc'd string for form bodies; wipe it (it may be a secret). */
char *http_form_escape(const char *s, size_t len);

/*
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, as
 * seconds from now, held to 0..HTTP_MAX_RETRY_AFTER_S.  0 for anything
 * else.
 */
long http_retry_after(const char *value, size_t len);
/*
 * 1 when url has the same scheme, host and port as base (default ports
 * filled in, scheme and host compared without case) and carries no user
 * name or password: where a request's bearer token may follow.
 */
int http_same_origin(const char *base, const char *url);
/* 1 when url is a well-formed https:// URL. */
int http_is_https(const char *url);

/*
 * The parts of url that say where it goes: scheme and host lowercase (an
 * IPv6 host in brackets), port filled in for the scheme.  -1 for what
 * http_same_origin would refuse (not a URL, a user name or password),
 * or a part longer than its buffer.
 */
int http_url_parts(const char *url, char *scheme, size_t scheme_len, char *host,
		   size_t host_len, long *port);

/*
 * A cookie jar (libcurl's engine: its bounds on cookie sizes and counts
 * apply), for one service's affinity cookies: kept from the responses
 * of the requests that name it, sent back on later ones to the hosts
 * they belong to.  Never written to disk.
 */
struct http_cookies *http_cookies_new(void);
void http_cookies_free(struct http_cookies *c);

/* Counters for metrics. */
struct http_stats {
	unsigned long long transfers;
	unsigned long long connects;    /* new TCP connections */
};
void http_get_stats(const struct http *h, struct http_stats *out);

#endif
