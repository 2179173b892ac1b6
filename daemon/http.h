/*
 * HTTPS client: the only part of exod that knows libcurl.  Transfers run
 * on libcurl's multi-socket API driven by the daemon's libevent loop, so
 * nothing blocks and connections are reused across requests.
 */
#ifndef EXOD_HTTP_H
#define EXOD_HTTP_H

#include <stddef.h>

struct event_base;
struct curl_slist;
struct http;
struct http_xfer;

#define HTTP_MAX_BUFFERED (1024 * 1024)  /* bytes of a buffered (token) response */
#define HTTP_MAX_HEADER_VALUE 1024       /* bytes kept of a header we look at */

enum http_data_status {
	HTTP_DATA_OK,                   /* consumed; go on */
	HTTP_DATA_PAUSE,                /* consumed; deliver nothing more until http_xfer_resume */
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
	const char *body;               /* buffered mode: the response body (not NUL-safe) */
	size_t body_len;
	char retry_after[64];           /* header values, "" when absent */
	char www_authenticate[HTTP_MAX_HEADER_VALUE];
	char request_id[128];
	double total_ms;
};

typedef enum http_data_status (*http_data_cb)(void *arg, const char *data, size_t len);
typedef void (*http_done_cb)(void *arg, const struct http_result *res);

struct http_request {
	const char *method;             /* "GET" or "POST" */
	const char *url;
	const char *body;               /* copied, and wiped when the transfer ends */
	size_t body_len;
	struct curl_slist *headers;     /* taken over by http_start, even when it fails */
	const char *ca_file;            /* NULL: the system's CAs */
	const char *proxy;              /* NULL: libcurl's default (the proxy environment) */
	int no_proxy;                   /* never use a proxy (managed identity endpoint) */
	int fresh_connect;              /* a new connection, so libcurl never sends it twice */
	long timeout_ms;
	long connect_timeout_ms;
	http_data_cb on_data;           /* NULL: buffer the body, up to HTTP_MAX_BUFFERED */
	http_done_cb on_done;           /* called exactly once, unless cancelled */
	void *arg;
};

struct http *http_new(struct event_base *base);
void http_free(struct http *h);

/* Starts a transfer.  NULL on failure (err filled; on_done is not called). */
struct http_xfer *http_start(struct http *h, const struct http_request *req,
			     char *err, size_t errlen);
/* Stops a transfer; on_done is not called.  NULL is fine. */
void http_xfer_cancel(struct http_xfer *x);
/* The HTTP status of the response being received (0 before the headers). */
long http_xfer_status(struct http_xfer *x);
/* Continues a transfer paused by HTTP_DATA_PAUSE. */
void http_xfer_resume(struct http_xfer *x);

/* Adds "Name: value" to a header list; returns -1 when out of memory. */
int http_header_add(struct curl_slist **list, const char *name, const char *value);
/* URL-encodes s into a malloc'd string for form bodies. */
char *http_form_escape(const char *s);

/* Counters for metrics. */
struct http_stats {
	unsigned long long transfers;
	unsigned long long connects;    /* new TCP connections */
};
void http_get_stats(const struct http *h, struct http_stats *out);

#endif
