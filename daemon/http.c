/* HTTPS transfers on libcurl's multi-socket API, driven by libevent. */
#include "daemon/http.h"

#include <curl/curl.h>
#include <ctype.h>
#include <event2/event.h>
#include <limits.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "daemon/clock.h"

#define HTTP_MAX_HOST_CONNECTIONS 64    /* per host; the pool caps requests itself */
#define HTTP_MAX_SPARE_XFERS 8          /* ended transfers kept with their easy handles */
#define HTTP_MAX_SPARE_SOCKS 8          /* socket watches kept: libcurl drops one after each request */
#define HTTP_TRIM_AFTER_MS 2000         /* quiet time after the last transfer before trimming */

struct http {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct event *trim;             /* gives freed memory back once transfers have stopped */
	int running;                    /* transfers libcurl has in hand */
	struct http_stats stats;
	/*
	 * Ended transfers with their handles, reset or holding their reuse key's
	 * options (the pointers among those are set again before any use).
	 */
	struct http_xfer *spare[HTTP_MAX_SPARE_XFERS];
	int nspare;
	struct http_sock *spare_socks[HTTP_MAX_SPARE_SOCKS];
	int nspare_socks;
};

/* One libcurl share holding only cookies; the event loop is the only thread. */
struct http_cookies {
	CURLSH *share;
};

/*
 * A curl_slist whose nodes and lines are ours, so that they are wiped
 * before they are freed; libcurl only reads it (CURLOPT_HTTPHEADER).
 * first..last are this list's own nodes; a chained tail follows them
 * (last->next is tail's first) and is shared, counted by refs.
 */
struct http_headers {
	struct curl_slist *first, *last;
	struct http_headers *tail;
	int refs;
};

struct http_xfer {
	struct http *h;
	CURL *easy;
	struct http_headers *headers;
	struct http_url *url;           /* the parsed URL, when the request gave one */
	struct sbuf *body;              /* our copy of the request body, wiped at the end */
	struct sbuf *resp;              /* buffered mode: wiped too, token answers hold secrets */
	int resp_too_large;
	char retry_after[64];           /* the raw header, parsed at the end */
	int aborted;
	int shared;                     /* attached to a cookie jar: detached before reuse */
	unsigned long long reuse_key;   /* the options the handle holds (http_request), 0: reset */
	http_data_cb on_data;
	http_done_cb on_done;
	void *arg;
	struct http_result res;
	char errbuf[CURL_ERROR_SIZE];
};

struct http_url {
	CURLU *u;
	int refs;
};

/* One libevent event per socket libcurl watches. */
struct http_sock {
	struct http *h;
	struct event *ev;
};

static void http_check_done(struct http *h);

static void http_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	int action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, fd, action, &running);
	h->running = running;
	http_check_done(h);
}

static void http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	h->running = running;
	http_check_done(h);
}

/* A watch on s: a spare one when there is, since libcurl drops its socket after each request. */
static struct http_sock *http_sock_new(struct http *h, curl_socket_t s, short events)
{
	struct http_sock *hs;

	if (h->nspare_socks > 0) {
		hs = h->spare_socks[--h->nspare_socks];
		if (event_assign(hs->ev, h->base, s, events, http_sock_cb, h) == 0)
			return hs;
		event_free(hs->ev);
		free(hs);
		return NULL;
	}
	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return NULL;
	hs->h = h;
	hs->ev = event_new(h->base, s, events, http_sock_cb, h);
	if (hs->ev == NULL) {
		free(hs);
		return NULL;
	}
	return hs;
}

static void http_sock_free(struct http *h, struct http_sock *hs)
{
	event_del(hs->ev);
	if (h->nspare_socks < HTTP_MAX_SPARE_SOCKS) {
		h->spare_socks[h->nspare_socks++] = hs;
		return;
	}
	event_free(hs->ev);
	free(hs);
}

static int http_socket_fn(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct http *h = userp;
	struct http_sock *hs = sockp;
	short events = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL)
			http_sock_free(h, hs);
		curl_multi_assign(h->multi, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (hs == NULL) {
		if ((hs = http_sock_new(h, s, events)) == NULL)
			return -1;
		curl_multi_assign(h->multi, s, hs);
	} else {
		/* The same event, watching for something else: no allocation per change. */
		event_del(hs->ev);
		if (event_assign(hs->ev, h->base, s, events, http_sock_cb, h) < 0)
			return -1;
	}
	return event_add(hs->ev, NULL) < 0 ? -1 : 0;
}

static int http_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(h->timer, &tv);
}

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

/*
 * A burst (every profile signing in at start, a long stream) leaves the
 * heap large and mostly free; glibc keeps it unless asked.  Once quiet,
 * the free pages go back to the system.
 */
static void http_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;

	(void)fd;
	(void)what;
	if (h->running == 0)
		malloc_trim(0);
}

struct http *http_new(struct event_base *base)
{
	struct http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->base = base;
	h->multi = curl_multi_init();
	h->timer = evtimer_new(base, http_timer_cb, h);
	h->trim = evtimer_new(base, http_trim_cb, h);
	if (h->multi == NULL || h->timer == NULL || h->trim == NULL) {
		http_free(h);
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_fn);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_fn);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HTTP_MAX_HOST_CONNECTIONS);
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	return h;
}

void http_free(struct http *h)
{
	if (h == NULL)
		return;
	while (h->nspare > 0) {
		struct http_xfer *x = h->spare[--h->nspare];

		curl_easy_cleanup(x->easy);
		free(x);
	}
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);   /* may hand its last sockets back: spares below */
	while (h->nspare_socks > 0) {
		struct http_sock *hs = h->spare_socks[--h->nspare_socks];

		event_free(hs->ev);
		free(hs);
	}
	if (h->timer != NULL)
		event_free(h->timer);
	if (h->trim != NULL)
		event_free(h->trim);
	free(h);
}

static void http_xfer_free(struct http_xfer *x)
{
	if (x->easy != NULL) {
		struct http *h = x->h;

		curl_multi_remove_handle(h->multi, x->easy);
		/*
		 * curl_easy_reset keeps a share: the next profile's transfer must
		 * not get its cookies.  First a NULL cookie file: libcurl frees the
		 * list COOKIEFILE "" made only when a transfer starts, and neither
		 * reset nor cleanup does (a transfer cancelled before it started
		 * leaked it); with the share still attached, the jar is kept.
		 */
		if (x->shared) {
			curl_easy_setopt(x->easy, CURLOPT_COOKIEFILE, NULL);
			curl_easy_setopt(x->easy, CURLOPT_SHARE, NULL);
		}
		if (h->nspare < HTTP_MAX_SPARE_XFERS) {
			/* Kept as it is for the next request with its key; reset for any other. */
			if (x->reuse_key == 0 || x->shared) {
				curl_easy_reset(x->easy);
				x->reuse_key = 0;
			}
		} else {
			curl_easy_cleanup(x->easy);
			x->easy = NULL;
		}
	}
	http_headers_free(x->headers);
	http_url_free(x->url);
	sbuf_free(x->body);
	sbuf_free(x->resp);
	if (x->easy != NULL)
		x->h->spare[x->h->nspare++] = x;
	else
		free(x);
}

/* A spare with the key, else the newest one reset; -1 when there is none. */
static int http_spare_for(struct http *h, unsigned long long key)
{
	for (int i = h->nspare - 1; key != 0 && i >= 0; i--)
		if (h->spare[i]->reuse_key == key)
			return i;
	if (h->nspare == 0)
		return -1;
	if (h->spare[h->nspare - 1]->reuse_key != 0) {
		curl_easy_reset(h->spare[h->nspare - 1]->easy);
		h->spare[h->nspare - 1]->reuse_key = 0;
	}
	return h->nspare - 1;
}

/*
 * A zeroed transfer record with an easy handle, a spare one when there
 * is.  reuse_key stays set when the handle already holds that key's options.
 */
static struct http_xfer *http_xfer_new(struct http *h, unsigned long long key)
{
	int i = http_spare_for(h, key);
	struct http_xfer *x;
	CURL *easy;

	if (i >= 0) {
		x = h->spare[i];
		h->spare[i] = h->spare[--h->nspare];
		easy = x->easy;
		key = x->reuse_key;
		memset(x, 0, sizeof(*x));
		x->reuse_key = key;
	} else {
		if ((x = calloc(1, sizeof(*x))) == NULL)
			return NULL;
		if ((easy = curl_easy_init()) == NULL) {
			free(x);
			return NULL;
		}
	}
	x->h = h;
	x->easy = easy;
	return x;
}

static size_t http_write_fn(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_xfer *x = userp;
	size_t len = size * nmemb;

	if (x->on_data != NULL) {
		switch (x->on_data(x->arg, data, len)) {
		case HTTP_DATA_OK:
			return len;
		case HTTP_DATA_PAUSE:
			return CURL_WRITEFUNC_PAUSE;
		case HTTP_DATA_ABORT:
			x->aborted = 1;
			return 0;
		}
	}
	if (x->resp == NULL && (x->resp = sbuf_new(HTTP_MAX_BUFFERED)) == NULL)
		return 0;
	if (sbuf_put(x->resp, data, len) < 0) {
		x->resp_too_large = sbuf_room(x->resp) < len;
		return 0;
	}
	return len;
}

static void http_keep_header(char *dst, size_t dstlen, const char *val, size_t len)
{
	while (len > 0 && (val[len - 1] == '\r' || val[len - 1] == '\n' || val[len - 1] == ' '))
		len--;
	while (len > 0 && *val == ' ') {
		val++;
		len--;
	}
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, val, len);
	dst[len] = '\0';
}

static size_t http_header_fn(char *line, size_t size, size_t nmemb, void *userp)
{
	static const struct {
		const char *name;
		size_t off;
		size_t len;
	} wanted[] = {
		{ "retry-after", offsetof(struct http_xfer, retry_after), sizeof(((struct http_xfer *)0)->retry_after) },
		{ "www-authenticate", offsetof(struct http_xfer, res.www_authenticate), HTTP_MAX_HEADER_VALUE },
		{ "request-id", offsetof(struct http_xfer, res.request_id), sizeof(((struct http_result *)0)->request_id) },
		{ "x-calculatedbetarget", offsetof(struct http_xfer, res.server), sizeof(((struct http_result *)0)->server) },
		{ "date", offsetof(struct http_xfer, res.date), sizeof(((struct http_result *)0)->date) },
		{ "location", offsetof(struct http_xfer, res.location), HTTP_MAX_HEADER_VALUE },
	};
	struct http_xfer *x = userp;
	size_t len = size * nmemb;
	const char *colon = memchr(line, ':', len);

	if (colon == NULL)
		return len;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		size_t n = strlen(wanted[i].name);

		if ((size_t)(colon - line) == n && strncasecmp(line, wanted[i].name, n) == 0)
			http_keep_header((char *)x + wanted[i].off, wanted[i].len,
					 colon + 1, len - n - 1);
	}
	return len;
}

static struct http_headers *http_headers_new(void)
{
	struct http_headers *list = calloc(1, sizeof(*list));

	if (list != NULL)
		list->refs = 1;
	return list;
}

int http_headers_add(struct http_headers **list, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	struct curl_slist *node;

	/* A CR or LF would let a value (a token from a file, say) add headers of its own. */
	if (strpbrk(value, "\r\n") != NULL)
		return -1;
	if (*list == NULL && (*list = http_headers_new()) == NULL)
		return -1;
	/* Own nodes come before a tail: chain last. */
	if ((*list)->tail != NULL)
		return -1;
	node = calloc(1, sizeof(*node));
	if (node == NULL || (node->data = malloc(nlen + 2 + vlen + 1)) == NULL) {
		free(node);
		return -1;
	}
	memcpy(node->data, name, nlen);
	memcpy(node->data + nlen, ": ", 2);
	memcpy(node->data + nlen + 2, value, vlen + 1);
	if ((*list)->last != NULL)
		(*list)->last->next = node;
	else
		(*list)->first = node;
	(*list)->last = node;
	return 0;
}

int http_headers_chain(struct http_headers **list, struct http_headers *tail)
{
	if (*list == NULL && (*list = http_headers_new()) == NULL)
		return -1;
	if ((*list)->tail != NULL || tail == NULL || tail->first == NULL)
		return -1;
	if ((*list)->last != NULL)
		(*list)->last->next = tail->first;
	else
		(*list)->first = tail->first;
	(*list)->tail = tail;
	tail->refs++;
	return 0;
}

void http_headers_free(struct http_headers *list)
{
	struct curl_slist *n, *next;

	if (list == NULL || --list->refs > 0)
		return;
	/* Own nodes only: the walk stops at last, whose next is the tail's. */
	for (n = list->last != NULL ? list->first : NULL; n != NULL; n = next) {
		next = n == list->last ? NULL : n->next;
		sbuf_wipe(n->data, strlen(n->data));
		free(n->data);
		free(n);
	}
	http_headers_free(list->tail);
	free(list);
}

struct http_url *http_url_new(const char *url)
{
	struct http_url *u = calloc(1, sizeof(*u));

	if (u == NULL || (u->u = curl_url()) == NULL ||
	    curl_url_set(u->u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		if (u != NULL)
			curl_url_cleanup(u->u);
		free(u);
		return NULL;
	}
	u->refs = 1;
	return u;
}

void http_url_free(struct http_url *u)
{
	if (u == NULL || --u->refs > 0)
		return;
	curl_url_cleanup(u->u);
	free(u);
}

char *http_form_escape(const char *s, size_t len)
{
	char *esc, *copy;

	if (len > INT_MAX)
		return NULL;
	esc = curl_easy_escape(NULL, s, (int)len);
	if (esc == NULL)
		return NULL;
	copy = strdup(esc);
	sbuf_wipe(esc, strlen(esc));
	curl_free(esc);
	return copy;
}

long http_retry_after(const char *value, size_t len)
{
	char text[64];
	long long secs = 0;
	size_t i = 0;
	time_t when;

	while (len > 0 && isspace((unsigned char)value[len - 1]))
		len--;
	while (i < len && isspace((unsigned char)value[i]))
		i++;
	if (i == len || len - i >= sizeof(text))
		return 0;
	if (isdigit((unsigned char)value[i])) {
		/* delay-seconds: digits only; saturate instead of overflowing. */
		for (; i < len; i++) {
			if (!isdigit((unsigned char)value[i]))
				return 0;
			if (secs <= HTTP_MAX_RETRY_AFTER_S)
				secs = secs * 10 + (value[i] - '0');
		}
	} else {
		memcpy(text, value + i, len - i);
		text[len - i] = '\0';
		when = curl_getdate(text, NULL);
		if (when == -1)
			return 0;
		secs = (long long)when - (long long)time(NULL);
	}
	if (secs <= 0)
		return 0;
	return secs > HTTP_MAX_RETRY_AFTER_S ? HTTP_MAX_RETRY_AFTER_S : (long)secs;
}

/* The parts of a URL that decide where it goes; -1 when it is not a URL we would send to. */
static int http_origin(const char *url, char **scheme, char **host, char **port)
{
	CURLU *u = curl_url();
	char *user = NULL, *password = NULL;
	int rc = -1;

	*scheme = *host = *port = NULL;
	if (u == NULL || strnlen(url, HTTP_MAX_URL + 1) > HTTP_MAX_URL)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
		goto out;
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &password, 0);
	if (user != NULL || password != NULL)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		/* Nothing half-made goes back to the caller. */
		curl_free(*scheme);
		curl_free(*host);
		curl_free(*port);
		*scheme = *host = *port = NULL;
	}
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
	return rc;
}

int http_same_origin(const char *base, const char *url)
{
	char *s1, *h1, *p1, *s2, *h2, *p2;
	int same = 0;

	if (http_origin(base, &s1, &h1, &p1) == 0 && http_origin(url, &s2, &h2, &p2) == 0)
		same = strcasecmp(s1, s2) == 0 && strcasecmp(h1, h2) == 0 && strcmp(p1, p2) == 0;
	else if (s1 == NULL)
		s2 = h2 = p2 = NULL;    /* the second was not parsed */
	curl_free(s1);
	curl_free(h1);
	curl_free(p1);
	curl_free(s2);
	curl_free(h2);
	curl_free(p2);
	return same;
}

static int http_copy_part(char *dst, size_t len, const char *src, int lower)
{
	size_t n = strlen(src);

	if (n >= len)
		return -1;
	for (size_t i = 0; i <= n; i++)
		dst[i] = lower ? (char)tolower((unsigned char)src[i]) : src[i];
	return 0;
}

int http_url_parts(const char *url, char *scheme, size_t scheme_len, char *host,
		   size_t host_len, long *port)
{
	char *s, *h, *p, *end;
	int rc = -1;

	if (http_origin(url, &s, &h, &p) < 0)
		return -1;
	*port = strtol(p, &end, 10);
	if (*end == '\0' && *port > 0 && *port <= 65535 &&
	    http_copy_part(scheme, scheme_len, s, 1) == 0 && http_copy_part(host, host_len, h, 1) == 0)
		rc = 0;
	curl_free(s);
	curl_free(h);
	curl_free(p);
	return rc;
}

int http_is_https(const char *url)
{
	char *scheme, *host, *port;
	int https = http_origin(url, &scheme, &host, &port) == 0 && strcasecmp(scheme, "https") == 0;

	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return https;
}

/* What changes from one request to the next of the same key. */
static int http_configure_request(struct http_xfer *x, const struct http_request *req)
{
	CURL *e = x->easy;
	int rc = 0;

	/* A parsed URL wins over the text: the text goes in only without one. */
	rc |= curl_easy_setopt(e, CURLOPT_CURLU, x->url != NULL ? x->url->u : NULL);
	if (x->url == NULL)
		rc |= curl_easy_setopt(e, CURLOPT_URL, req->url);
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	/*
	 * libcurl resends a request whose reused connection died without an
	 * answer; the server may have acted on it.  A fresh connection has no
	 * such retry.
	 */
	rc |= curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, req->fresh_connect ? 1L : 0L);
	if (strcmp(req->method, "POST") == 0) {
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body != NULL ? sbuf_str(x->body) : "");
		rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				       (curl_off_t)(x->body != NULL ? sbuf_len(x->body) : 0));
	}
	rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers != NULL ? x->headers->first : NULL);
	return rc == 0 ? 0 : -1;
}

/* Everything, on a handle that was reset (or is new). */
static int http_configure(struct http_xfer *x, const struct http_request *req)
{
	CURL *e = x->easy;
	int rc = 0;

	rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_fn);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_fn);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
	if (req->http1) {
		rc |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	} else {
		rc |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
		/* Wait for a connection that may multiplex (HTTP/2) rather than open another. */
		rc |= curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	}
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, "exod/" EXOD_VERSION);
	rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
	if (req->ca_file != NULL)
		rc |= curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
	if (req->no_proxy)
		rc |= curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	else if (req->proxy != NULL)
		rc |= curl_easy_setopt(e, CURLOPT_PROXY, req->proxy);
	if (strcmp(req->method, "POST") == 0)
		rc |= curl_easy_setopt(e, CURLOPT_POST, 1L);
	/* The jar is shared; "" turns the engine on without reading a file. */
	if (req->cookies != NULL) {
		x->shared = 1;
		rc |= curl_easy_setopt(e, CURLOPT_SHARE, req->cookies->share);
		rc |= curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
	}
	return rc == 0 ? 0 : -1;
}

struct http_xfer *http_start(struct http *h, const struct http_request *req,
			     char *err, size_t errlen)
{
	/* A jar is attached per transfer: such requests are never kept configured. */
	unsigned long long key = req->cookies == NULL ? req->reuse_key : 0;
	struct http_xfer *x = http_xfer_new(h, key);

	if (x == NULL) {
		http_headers_free(req->headers);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->headers = req->headers;
	if ((x->url = req->parsed) != NULL)
		x->url->refs++;         /* the transfer's own reference */
	x->on_data = req->on_data;
	x->on_done = req->on_done;
	x->arg = req->arg;
	if (req->body_len > 0 && (x->body = sbuf_dup(req->body, req->body_len)) == NULL)
		goto fail;
	/* A handle holding this key's options needs the request's own only. */
	if (((key == 0 || x->reuse_key != key) && http_configure(x, req) < 0) ||
	    http_configure_request(x, req) < 0)
		goto fail;
	x->reuse_key = key;
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK)
		goto fail;
	h->stats.transfers++;
	return x;
fail:
	snprintf(err, errlen, "cannot set up a transfer to %s", req->url);
	if (x->easy != NULL) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	http_xfer_free(x);
	return NULL;
}

unsigned long long http_reuse_key(void)
{
	static unsigned long long last;        /* the event loop's thread only */

	return ++last;
}

void http_xfer_cancel(struct http_xfer *x)
{
	if (x != NULL)
		http_xfer_free(x);
}

long http_xfer_status(struct http_xfer *x)
{
	long status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

const struct http_result *http_xfer_headers(const struct http_xfer *x)
{
	return &x->res;
}

void http_xfer_resume(struct http_xfer *x)
{
	curl_easy_pause(x->easy, CURLPAUSE_CONT);
}

/* Whether a failure happened before any byte of the request could reach the server. */
static int http_not_sent(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return 1;
	default:
		return 0;
	}
}

static void http_finish(struct http_xfer *x, CURLcode code)
{
	struct http_result *r = &x->res;
	double secs = 0;
	long connects = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &secs);
	curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects);
	x->h->stats.connects += (unsigned long long)connects;
	r->total_ms = secs * 1000.0;
	r->body = x->resp != NULL ? sbuf_str(x->resp) : NULL;
	r->body_len = x->resp != NULL ? sbuf_len(x->resp) : 0;
	r->retry_after = http_retry_after(x->retry_after, strlen(x->retry_after));
	if (code == CURLE_OK) {
		r->outcome = HTTP_OK;
	} else if (x->aborted) {
		r->outcome = HTTP_ABORTED;
	} else if (code == CURLE_OPERATION_TIMEDOUT) {
		r->outcome = HTTP_TIMED_OUT;
	} else {
		r->outcome = http_not_sent(code) ? HTTP_NOT_SENT : HTTP_FAILED;
	}
	if (code != CURLE_OK)
		r->error = x->errbuf[0] ? x->errbuf : curl_easy_strerror(code);
	if (x->resp_too_large)
		r->error = "response too large";
	x->on_done(x->arg, r);
	http_xfer_free(x);
}

static void http_check_done(struct http *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		char *priv = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		http_finish((struct http_xfer *)priv, msg->data.result);
		if (h->running == 0) {
			struct timeval tv = clock_tv(HTTP_TRIM_AFTER_MS);

			evtimer_add(h->trim, &tv);
		}
	}
}

struct http_cookies *http_cookies_new(void)
{
	struct http_cookies *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->share = curl_share_init();
	if (c->share == NULL ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK) {
		http_cookies_free(c);
		return NULL;
	}
	return c;
}

void http_cookies_free(struct http_cookies *c)
{
	if (c == NULL)
		return;
	if (c->share != NULL)
		curl_share_cleanup(c->share);
	free(c);
}

void http_get_stats(const struct http *h, struct http_stats *out)
{
	*out = h->stats;
}
