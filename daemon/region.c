/*
 * Security & Compliance region discovery and pinning.  The protocol facts
 * relied on, from ../shared/reference/exo-protocol.md:
 *
 *  - §1.2 table: each environment's front door and token scope
 *    (daemon/cloud.c); Connect-IPPSSession is Connect-ExchangeOnline with
 *    another ConnectionUri [C M-PSM1], so every sign-in method applies.
 *  - §1.2: SCC's REST endpoint is a regional host; Get-ConnectionInformation
 *    shows it, e.g. https://nam12b.ps.compliance.protection.outlook.com
 *    [C D-GCI].  exod's status shows it as region_host.
 *  - §1.2: clients find it with an un-followed GET of
 *    <front door>/AdminApi/v1.0/<tenant>/EXOModuleFile (SCUBA, M365,
 *    GOEXO); the front door answers 302 with Location on
 *    <region>.admin.protection.outlook.com:446, and clients keep the region
 *    label and call https://<region>.ps.compliance.protection.outlook.com
 *    (port 443) [C-3p].  §8 item 6: resolve once, then pin.
 *  - §1.2: the routing hint must name the tenant's domain so the front door
 *    can pick the region [C-3p]; exo.c sends the same X-AnchorMailbox to
 *    the front door and the regional host (§2.3).
 *  - §1.2, §3.2: GOEXO keeps a cookie jar (the "affinity cookie") and pins
 *    the resolved host; keep cookies and the same hint across requests
 *    [C-3p].  The jar here lives as long as the profile.
 *  - How the service says a tenant has moved is not documented.  exod
 *    takes any 3xx from the regional host (the front door's own way of
 *    naming a host), and 400 ErrorIncorrectRoutingHint (the Outlook REST
 *    API's answer to a hint that routes nowhere, §2.3 D-XAM; that adminapi
 *    uses it is [I]), as "find the region again".
 *  - The bearer token goes, over https, only to the front door (the
 *    environment's, or a connection_uri on its Security & Compliance
 *    domain, or DoD's other documented one) and to hosts
 *    <label>.<region_domain> of the profile's environment; a front door on
 *    loopback (tests) only to its own loopback host.  The rule of nextLink
 *    (same origin) holds on the regional host (exo.c).
 *  - A front door that answers 2xx serves the tenant itself: it is pinned.
 */
#include "daemon/region.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "daemon/cloud.h"
#include "daemon/exo_codec.h"

#define REGION_MAX_SCHEME 16
#define REGION_MAX_HOST 256

struct region_wait {
	struct region *r;
	region_cb cb;
	void *arg;
	struct region_wait *next;
};

struct region {
	struct http *http;
	const struct conf_profile *conf;
	const struct cloud_compliance *cc;
	char *frontdoor;                /* scheme://host[:port] */
	char *discover_url;
	char *tenant;
	char *host;                     /* pinned origin; NULL: none */
	char *invoke_url;
	unsigned gen;
	struct http_cookies *cookies;
	struct http_xfer *xfer;         /* the discovery in flight */
	struct region_wait *waiters;    /* in arrival order */
	int served;                     /* the front door answered 2xx itself */
	char *body;                     /* its error body, up to REGION_MAX_BODY */
	size_t body_len;
};

/* Hosts that make a front door a local test server. */
static const char *const region_loopback[] = { "127.0.0.1", "localhost", "[::1]" };

struct region *region_new(struct http *http, const struct conf_profile *conf,
			  const char *frontdoor, const char *tenant, char *err, size_t errlen)
{
	const struct cloud_compliance *cc = cloud_get(conf->environment)->compliance;
	struct region *r;
	char why[256];

	if (!region_frontdoor_allowed(frontdoor, cc, why, sizeof(why))) {
		snprintf(err, errlen, "%s", why);
		conf_key_error(conf, "connection_uri", err, errlen);
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto fail;
	r->http = http;
	r->conf = conf;
	r->cc = cc;
	r->frontdoor = strdup(frontdoor);
	r->tenant = strdup(tenant);
	r->cookies = http_cookies_new();
	if (r->frontdoor == NULL || r->tenant == NULL || r->cookies == NULL ||
	    asprintf(&r->discover_url, "%s/AdminApi/v1.0/%s/EXOModuleFile", frontdoor, tenant) < 0) {
		r->discover_url = NULL;
		goto fail;
	}
	return r;
fail:
	snprintf(err, errlen, "out of memory");
	region_free(r);
	return NULL;
}

static void region_unpin(struct region *r)
{
	free(r->host);
	free(r->invoke_url);
	r->host = r->invoke_url = NULL;
	r->gen++;
}

void region_free(struct region *r)
{
	if (r == NULL)
		return;
	http_xfer_cancel(r->xfer);
	region_unpin(r);
	http_cookies_free(r->cookies);
	free(r->body);
	free(r->frontdoor);
	free(r->discover_url);
	free(r->tenant);
	free(r);
}

void region_set_conf(struct region *r, const struct conf_profile *conf)
{
	r->conf = conf;
}

const char *region_host(const struct region *r)
{
	return r->host;
}

const char *region_invoke_url(const struct region *r)
{
	return r->invoke_url;
}

unsigned region_generation(const struct region *r)
{
	return r->gen;
}

struct http_cookies *region_cookies(const struct region *r)
{
	return r->cookies;
}

int region_says_moved(long status, const char *code)
{
	return (status >= 300 && status < 400) ||
	       (status == 400 && code != NULL && strcasecmp(code, REGION_MOVED_CODE) == 0);
}

void region_moved(struct region *r, unsigned gen)
{
	if (gen != r->gen || r->host == NULL)
		return;
	log_info("profile %s: %s no longer serves the tenant; finding its region again",
		 r->conf->name, r->host);
	region_unpin(r);
}

/* ---- where a redirect may lead ---- */

static int region_is_loopback(const char *host)
{
	for (size_t i = 0; i < sizeof(region_loopback) / sizeof(region_loopback[0]); i++)
		if (strcmp(host, region_loopback[i]) == 0)
			return 1;
	return 0;
}

/* The length of what comes before ".<domain>" in host; 0 when host is not in domain. */
static size_t region_prefix_len(const char *host, const char *domain)
{
	size_t hl = strlen(host), dl = strlen(domain);

	if (hl <= dl + 1 || host[hl - dl - 1] != '.' || strcasecmp(host + hl - dl, domain) != 0)
		return 0;
	return hl - dl - 1;
}

/* 1 when host is <label>.<domain>, the label in lbl. */
static int region_label_of(const char *host, const char *domain, char *lbl, size_t len)
{
	size_t n = region_prefix_len(host, domain);

	/* One DNS label: letters, digits, inner hyphens. */
	if (n == 0 || n > REGION_MAX_LABEL || n >= len || host[0] == '-' || host[n - 1] == '-' ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789-") < n)
		return 0;
	memcpy(lbl, host, n);
	lbl[n] = '\0';
	return 1;
}

/* 1 when host is domain itself, or any host in it. */
static int region_in_domain(const char *host, const char *domain)
{
	return strcasecmp(host, domain) == 0 || region_prefix_len(host, domain) > 0;
}

int region_frontdoor_allowed(const char *frontdoor, const struct cloud_compliance *cc, char *why,
			     size_t whylen)
{
	char scheme[REGION_MAX_SCHEME], host[REGION_MAX_HOST];
	long port;

	if (http_url_parts(frontdoor, scheme, sizeof(scheme), host, sizeof(host), &port) < 0) {
		snprintf(why, whylen, "not a URL exod can use");
		return 0;
	}
	if (region_is_loopback(host))
		return 1;
	if (cc != NULL && strcmp(scheme, "https") == 0 &&
	    (region_in_domain(host, cc->region_domain) ||
	     (cc->other_frontdoor != NULL && strcmp(host, cc->other_frontdoor) == 0)))
		return 1;
	snprintf(why, whylen, "a Security & Compliance front door must be https on %s%s%s (or a "
		 "test server on 127.0.0.1, [::1] or localhost): the token goes there",
		 cc != NULL ? cc->region_domain : "(none known)",
		 cc != NULL && cc->other_frontdoor != NULL ? " or " : "",
		 cc != NULL && cc->other_frontdoor != NULL ? cc->other_frontdoor : "");
	return 0;
}

static int region_resolve_loopback(const char *fd_scheme, const char *fd_host, const char *scheme,
				   const char *host, long port, char *origin, size_t len,
				   char *why, size_t whylen)
{
	int n;

	if (strcmp(scheme, fd_scheme) != 0 || strcmp(host, fd_host) != 0) {
		snprintf(why, whylen, "a test front door on %s may only redirect to %s://%s",
			 fd_host, fd_scheme, fd_host);
		return -1;
	}
	n = snprintf(origin, len, "%s://%s:%ld", scheme, host, port);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

int region_resolve(const char *frontdoor, const struct cloud_compliance *cc,
		   const char *location, char *origin, size_t len, char *why, size_t whylen)
{
	char fd_scheme[REGION_MAX_SCHEME], fd_host[REGION_MAX_HOST];
	char scheme[REGION_MAX_SCHEME], host[REGION_MAX_HOST], lbl[REGION_MAX_LABEL + 1];
	long fd_port, port;
	int n;

	if (http_url_parts(frontdoor, fd_scheme, sizeof(fd_scheme), fd_host, sizeof(fd_host),
			   &fd_port) < 0 ||
	    http_url_parts(location, scheme, sizeof(scheme), host, sizeof(host), &port) < 0) {
		snprintf(why, whylen, "the redirect is not an absolute URL exod can use");
		return -1;
	}
	if (region_is_loopback(fd_host))
		return region_resolve_loopback(fd_scheme, fd_host, scheme, host, port, origin, len,
					       why, whylen);
	if (strcmp(scheme, "https") != 0) {
		snprintf(why, whylen, "the redirect is not https");
		return -1;
	}
	if (cc == NULL || !(region_label_of(host, cc->redirect_domain, lbl, sizeof(lbl)) ||
			    region_label_of(host, cc->region_domain, lbl, sizeof(lbl)))) {
		snprintf(why, whylen, "%.*s is not a Security & Compliance host of this environment",
			 REGION_MAX_HOST, host);
		return -1;
	}
	/* The admin host's port (446) is not the API's: the regional host is on 443. */
	n = snprintf(origin, len, "https://%s.%s", lbl, cc->region_domain);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* ---- the discovery request ---- */

static void region_pin(struct region *r, const char *origin)
{
	char *host = strdup(origin), *url = NULL;

	if (host == NULL || asprintf(&url, "%s/adminapi/beta/%s/InvokeCommand", origin, r->tenant) < 0) {
		free(host);
		return;
	}
	region_unpin(r);
	r->host = host;
	r->invoke_url = url;
	log_info("profile %s: Security & Compliance serves the tenant from %s", r->conf->name, origin);
}

static enum http_data_status region_on_data(void *arg, const char *data, size_t len)
{
	struct region *r = arg;
	long status = http_xfer_status(r->xfer);
	size_t room = REGION_MAX_BODY - r->body_len;
	char *grown;

	/* A 2xx is the module file itself (megabytes): the status says all we need. */
	if (status >= 200 && status < 300) {
		r->served = 1;
		return HTTP_DATA_ABORT;
	}
	if (len > room)
		len = room;
	grown = realloc(r->body, r->body_len + len + 1);
	if (grown == NULL)
		return HTTP_DATA_ABORT;
	memcpy(grown + r->body_len, data, len);
	r->body = grown;
	r->body_len += len;
	return HTTP_DATA_OK;
}

/* What the front door's answer means: pinned, or why not. */
static void region_judge(struct region *r, const struct http_result *res, struct region_result *out)
{
	char origin[REGION_MAX_ORIGIN], why[256];
	struct exo_error e;

	if (res->status >= 200 && res->status < 300 && (res->outcome == HTTP_OK || r->served)) {
		region_pin(r, r->frontdoor);
	} else if (res->outcome != HTTP_OK) {
		snprintf(out->message, sizeof(out->message), "cannot reach the Security & "
			 "Compliance front door %s: %s", r->frontdoor, res->error);
	} else if (res->status >= 300 && res->status < 400) {
		if (region_resolve(r->frontdoor, r->cc, res->location, origin, sizeof(origin), why,
				   sizeof(why)) == 0)
			region_pin(r, origin);
		else
			snprintf(out->message, sizeof(out->message), "the Security & Compliance front "
				 "door's redirect was not followed: %s", why);
	} else {
		exo_codec_parse_error(r->body, r->body_len, &e);
		snprintf(out->message, sizeof(out->message), "the Security & Compliance front door "
			 "answered HTTP %ld%s%s", res->status, e.message != NULL ? ": " : "",
			 e.message != NULL ? e.message : "");
		exo_error_clear(&e);
	}
	out->ok = r->host != NULL;
	if (out->ok)
		out->message[0] = '\0';
	else if (out->message[0] == '\0')
		snprintf(out->message, sizeof(out->message), "out of memory");
}

static void region_on_done(void *arg, const struct http_result *res)
{
	struct region *r = arg;
	struct region_result out = {
		.outcome = res->outcome,
		.status = res->status,
		.retry_after = res->retry_after,
	};
	struct region_wait *list = r->waiters, *w;

	r->xfer = NULL;
	snprintf(out.request_id, sizeof(out.request_id), "%s", res->request_id);
	region_judge(r, res, &out);
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	r->served = 0;
	/* Taken off first: a waiter may start the next discovery from its callback. */
	r->waiters = NULL;
	while ((w = list) != NULL) {
		list = w->next;
		w->cb(w->arg, &out);
		free(w);
	}
}

static int region_start(struct region *r, struct http_headers *headers, char *err, size_t errlen)
{
	struct http_request req = {
		.method = "GET",
		.url = r->discover_url,
		.headers = headers,
		.ca_file = r->conf->ca_file,
		.proxy = r->conf->proxy,
		.cookies = r->cookies,
		.timeout_ms = REGION_TIMEOUT_MS,
		.connect_timeout_ms = REGION_TIMEOUT_MS,
		.on_data = region_on_data,
		.on_done = region_on_done,
		.arg = r,
	};

	r->xfer = http_start(r->http, &req, err, errlen);
	return r->xfer != NULL ? 0 : -1;
}

struct region_wait *region_discover(struct region *r, struct http_headers *headers,
				    region_cb cb, void *arg, char *err, size_t errlen)
{
	struct region_wait *w = calloc(1, sizeof(*w)), **tail;

	if (w == NULL) {
		http_headers_free(headers);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* One discovery at a time: later callers wait for the one in flight. */
	if (r->xfer != NULL)
		http_headers_free(headers);
	else if (region_start(r, headers, err, errlen) < 0) {
		free(w);
		return NULL;
	}
	w->r = r;
	w->cb = cb;
	w->arg = arg;
	for (tail = &r->waiters; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = w;
	return w;
}

void region_wait_cancel(struct region_wait *w)
{
	struct region_wait **p;

	if (w == NULL)
		return;
	for (p = &w->r->waiters; *p != NULL; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	/* The discovery goes on without it: its answer pins the host for the next call. */
	free(w);
}
