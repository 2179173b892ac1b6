/*
 * Security & Compliance's regional host, for a profile with service =
 * compliance (Connect-IPPSSession): found once through the front door,
 * pinned for the profile's session, found again when the service says
 * the tenant is served elsewhere.  The affinity cookies the service sets
 * are kept here and sent back.  exo.c asks; this file knows the protocol
 * facts, listed with their sources at the top of region.c.
 */
#ifndef EXOD_REGION_H
#define EXOD_REGION_H

#include <stddef.h>

#include "common/conf.h"
#include "daemon/http.h"

struct cloud_compliance;
struct region;
struct region_wait;

#define REGION_TIMEOUT_MS 30000         /* one discovery request, answer included */
#define REGION_MAX_BODY 16384           /* bytes of a front door's error body we look at */
#define REGION_MAX_LABEL 63             /* a DNS label: the region's name */
#define REGION_MAX_ORIGIN 320           /* scheme://host:port of a regional host */
#define REGION_MOVED_CODE "ErrorIncorrectRoutingHint"   /* see region.c */

struct region_result {
	int ok;                         /* a regional host is pinned */
	enum http_outcome outcome;      /* of the discovery request */
	long status;                    /* the front door's HTTP status, 0 without an answer */
	long retry_after;               /* seconds, 0 when none */
	char request_id[128];           /* the front door's request-id, "" when none */
	char message[512];              /* when !ok: for the client */
};

typedef void (*region_cb)(void *arg, const struct region_result *res);

/*
 * frontdoor: scheme://host[:port] where discovery starts (the profile's
 * connection_uri, or the environment's front door); tenant: as in the
 * InvokeCommand path.  NULL with a message when out of memory, or when
 * frontdoor is not one the token may go to (region_frontdoor_allowed).
 */
struct region *region_new(struct http *http, const struct conf_profile *conf,
			  const char *frontdoor, const char *tenant, char *err, size_t errlen);
/* Cancels a discovery in flight; its waiters must have been cancelled. */
void region_free(struct region *r);
/* Reload: the same settings now live in another struct conf. */
void region_set_conf(struct region *r, const struct conf_profile *conf);

/* scheme://host[:port] of the pinned regional host, or NULL: none yet. */
const char *region_host(const struct region *r);
/* Its InvokeCommand URL, or NULL. */
const char *region_invoke_url(const struct region *r);
/* Changes whenever the pin does: what region_moved is told. */
unsigned region_generation(const struct region *r);
/* The profile's cookie jar: for every request to the front door or the regional host. */
struct http_cookies *region_cookies(const struct region *r);

/*
 * Finds the regional host: one un-followed GET to the front door (or the
 * one in flight, joined).  headers: Authorization and the routing hint,
 * taken over even on failure.  cb runs once, from the event loop, unless
 * cancelled; NULL (cb never called) with a message when the request
 * cannot start.
 */
struct region_wait *region_discover(struct region *r, struct http_headers *headers,
				    region_cb cb, void *arg, char *err, size_t errlen);
void region_wait_cancel(struct region_wait *w);

/*
 * The host pinned as generation gen answered that it does not serve the
 * tenant: it is forgotten, unless another pin came since.
 */
void region_moved(struct region *r, unsigned gen);
/* 1 when an answer of the regional host says so: any 3xx, or 400 with REGION_MOVED_CODE. */
int region_says_moved(long status, const char *code);

/*
 * 1 when the token may go to frontdoor for discovery: https on the
 * environment's Security & Compliance domain (the domain, or a host in
 * it: l5.ps.compliance...), a documented other front door of it, or a
 * loopback test server.  0 with the reason in why.
 */
int region_frontdoor_allowed(const char *frontdoor, const struct cloud_compliance *cc, char *why,
			     size_t whylen);

/*
 * The regional host a front door's redirect names, into origin
 * (https://<label>.<region_domain>), or -1 with the reason in why: not a
 * host of cc's domains, a bad label, not https.  A loopback front door (a
 * test) keeps the Location's own scheme, host and port, and only its own
 * host.  Pure: no I/O.
 */
int region_resolve(const char *frontdoor, const struct cloud_compliance *cc,
		   const char *location, char *origin, size_t len, char *why, size_t whylen);

#endif
