/* auth = managed_identity: a token from Azure IMDS or the App Service identity endpoint. */
#include "daemon/auth_mi.h"

#include <errno.h>
#include <limits.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "common/jtree.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "daemon/auth_method.h"
#include "daemon/cloud.h"
#include "daemon/http.h"
#include "daemon/oauth.h"

#define AUTH_MI_TIMEOUT_MS 10000        /* whole request; IMDS answers locally */
#define AUTH_MI_CONNECT_TIMEOUT_MS 2000 /* azure-identity's connection timeout */
#define AUTH_MI_MAX_DETAIL 200          /* bytes of the service's error text we quote */

struct auth_mi {
	enum auth_mi_kind kind;
	char *url;
	struct sbuf *identity_header;   /* App Service: a platform secret */
	struct event *retry_timer;
	int tries;
};

const char *auth_mi_kind_name(enum auth_mi_kind kind)
{
	return kind == AUTH_MI_APP_SERVICE ? "App Service" : "IMDS";
}

static int auth_mi_http_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

int auth_mi_choose(const char *conf_endpoint, const char *env_header, const char *env_endpoint,
		   enum auth_mi_kind *kind, const char **endpoint, char *err, size_t errlen)
{
	if (env_header == NULL || env_header[0] == '\0') {
		*kind = AUTH_MI_IMDS;
		*endpoint = conf_endpoint != NULL ? conf_endpoint : AUTH_MI_IMDS_ENDPOINT;
		return 0;
	}
	*kind = AUTH_MI_APP_SERVICE;
	*endpoint = conf_endpoint != NULL ? conf_endpoint : env_endpoint;
	if (*endpoint == NULL || (*endpoint)[0] == '\0') {
		snprintf(err, errlen, "managed identity (App Service): IDENTITY_HEADER is set but "
			 "IDENTITY_ENDPOINT is not, and no managed_identity_endpoint is configured");
		return -1;
	}
	if (strnlen(*endpoint, AUTH_MI_MAX_ENV + 1) > AUTH_MI_MAX_ENV || !auth_mi_http_url(*endpoint)) {
		snprintf(err, errlen, "managed identity (App Service): IDENTITY_ENDPOINT is not an "
			 "http:// or https:// URL of at most %d bytes", AUTH_MI_MAX_ENV);
		return -1;
	}
	/* It goes into a request header: no control characters, bounded. */
	for (size_t i = 0; env_header[i] != '\0'; i++) {
		if (i >= AUTH_MI_MAX_ENV || (unsigned char)env_header[i] < 0x20 ||
		    env_header[i] == 0x7f) {
			snprintf(err, errlen, "managed identity (App Service): IDENTITY_HEADER is "
				 "longer than %d bytes or has control characters", AUTH_MI_MAX_ENV);
			return -1;
		}
	}
	return 0;
}

/* Appends "&name=escaped(value)" to *url. */
static int auth_mi_url_add(char **url, const char *name, const char *value)
{
	char *esc = http_form_escape(value, strlen(value));
	char *grown = NULL;
	int rc = -1;

	if (esc == NULL)
		return -1;
	if (asprintf(&grown, "%s&%s=%s", *url, name, esc) < 0)
		goto out;
	free(*url);
	*url = grown;
	rc = 0;
out:
	free(esc);
	return rc;
}

int auth_mi_url(enum auth_mi_kind kind, const char *endpoint, const char *resource,
		const struct conf_profile *c, char **out)
{
	int app = kind == AUTH_MI_APP_SERVICE;
	char *url = NULL;

	*out = NULL;
	if (asprintf(&url, "%s%capi-version=%s", endpoint, strchr(endpoint, '?') != NULL ? '&' : '?',
		     app ? AUTH_MI_APP_SERVICE_API_VERSION : AUTH_MI_IMDS_API_VERSION) < 0)
		return -1;
	if (auth_mi_url_add(&url, "resource", resource) < 0)
		goto fail;
	/* conf_load allows at most one selector; none means the system-assigned identity. */
	if (c->managed_identity_client_id != NULL &&
	    auth_mi_url_add(&url, "client_id", c->managed_identity_client_id) < 0)
		goto fail;
	if (c->managed_identity_object_id != NULL &&
	    auth_mi_url_add(&url, "object_id", c->managed_identity_object_id) < 0)
		goto fail;
	if (c->managed_identity_resource_id != NULL &&
	    auth_mi_url_add(&url, app ? "mi_res_id" : "msi_res_id",
			    c->managed_identity_resource_id) < 0)
		goto fail;
	*out = url;
	return 0;
fail:
	free(url);
	return -1;
}

/* A whole number in 1..max from the text of a JSON string or number; -1 otherwise. */
static long long auth_mi_whole(const char *s, long long max)
{
	char *end;
	long long n;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > max)
		return -1;
	return n;
}

long auth_mi_expires_in(const char *expires_in, const char *expires_on, time_t now)
{
	long long in = auth_mi_whole(expires_in, AUTH_MI_MAX_LIFETIME_S);
	long long on;

	/* Relative time first: it does not depend on our clock agreeing with Azure's. */
	if (in > 0)
		return (long)in;
	on = auth_mi_whole(expires_on, (long long)now + AUTH_MI_MAX_LIFETIME_S);
	if (on <= (long long)now)
		return -1;
	return (long)(on - (long long)now);
}

int auth_mi_retryable(long status, enum http_outcome outcome)
{
	switch (outcome) {
	case HTTP_OK:
		break;
	case HTTP_NOT_SENT:
	case HTTP_FAILED:
	case HTTP_TIMED_OUT:
		return 1;
	default:
		return 0;
	}
	return status == 404 || status == 410 || status == 429 || (status >= 500 && status <= 599);
}

/* Retry-After in seconds (as http.c parsed it), held to the IMDS guidance's cap. */
static long auth_mi_retry_after(long retry_after)
{
	if (retry_after > AUTH_MI_MAX_RETRY_AFTER_S)
		return AUTH_MI_MAX_RETRY_AFTER_S;
	return retry_after > 0 ? retry_after : 0;
}

long auth_mi_retry_delay(int tries, long retry_after)
{
	long delay = AUTH_MI_BACKOFF_FIRST_S;
	long ra = auth_mi_retry_after(retry_after);

	for (int i = 1; i < tries && delay < AUTH_MI_MAX_RETRY_AFTER_S; i++)
		delay *= 2;
	if (delay > AUTH_MI_MAX_RETRY_AFTER_S)
		delay = AUTH_MI_MAX_RETRY_AFTER_S;
	return ra > delay ? ra : delay;
}

/* The text of a string or number member; NULL when absent or of another type. */
static const char *auth_mi_member(yajl_val root, const char *key)
{
	yajl_val v = jtree_get(root, key);

	if (YAJL_IS_STRING(v))
		return YAJL_GET_STRING(v);
	if (YAJL_IS_NUMBER(v))
		return YAJL_GET_NUMBER(v);
	return NULL;
}

/* Length of the first line of s, at most AUTH_MI_MAX_DETAIL; 0 for NULL. */
static int auth_mi_line_len(const char *s)
{
	size_t n = s != NULL ? strcspn(s, "\r\n") : 0;

	return n > AUTH_MI_MAX_DETAIL ? AUTH_MI_MAX_DETAIL : (int)n;
}

/* IMDS says error + error_description, App Service says message: quote their first lines. */
static void auth_mi_error_text(yajl_val root, char *buf, size_t len)
{
	const char *error = auth_mi_member(root, "error");
	const char *desc = auth_mi_member(root, "error_description");
	int elen, dlen;

	if (desc == NULL)
		desc = auth_mi_member(root, "message");
	elen = auth_mi_line_len(error);
	dlen = auth_mi_line_len(desc);
	snprintf(buf, len, "%s%.*s%s%.*s", elen > 0 ? ": " : "", elen, error != NULL ? error : "",
		 dlen > 0 ? ": " : "", dlen, desc != NULL ? desc : "");
}

static void auth_mi_take_token(yajl_val root, enum auth_mi_kind kind, time_t now,
			       struct auth_result *out)
{
	const char *at = auth_mi_member(root, "access_token");
	long life;

	out->error = WIRE_E_AUTH_FAILED;
	out->transient = 1;
	/* It becomes an Authorization header: nothing that could break the header. */
	if (!oauth_token_ok(at)) {
		snprintf(out->message, sizeof(out->message),
			 "managed identity (%s): the answer has no usable access_token",
			 auth_mi_kind_name(kind));
		return;
	}
	life = auth_mi_expires_in(auth_mi_member(root, "expires_in"),
				  auth_mi_member(root, "expires_on"), now);
	if (life < 0) {
		snprintf(out->message, sizeof(out->message),
			 "managed identity (%s): the answer has no usable expires_in or expires_on "
			 "(is the clock right?)", auth_mi_kind_name(kind));
		return;
	}
	out->access_token = sbuf_dup_str(at);
	if (out->access_token == NULL) {
		snprintf(out->message, sizeof(out->message), "out of memory");
		return;
	}
	out->expires_in = life;
	/* Long-lived managed identity tokens are renewed at half-life, as MSAL does (§6.4). */
	out->refresh_in = life >= AUTH_MI_HALF_LIFE_MIN_S ? life / 2 : 0;
	out->error = WIRE_E_COUNT;
	out->transient = 0;
	out->ok = 1;
}

void auth_mi_parse_response(const struct http_result *hr, enum auth_mi_kind kind, time_t now,
			    struct auth_result *out)
{
	char detail[AUTH_MI_MAX_DETAIL * 2 + 8], why[64];
	yajl_val root = NULL;

	memset(out, 0, sizeof(*out));
	out->retry_after = auth_mi_retry_after(hr->retry_after);
	if (hr->outcome != HTTP_OK) {
		out->error = hr->outcome == HTTP_TIMED_OUT ? WIRE_E_TIMEOUT : WIRE_E_AUTH_FAILED;
		out->transient = 1;
		snprintf(out->message, sizeof(out->message), "managed identity (%s) unreachable: %s",
			 auth_mi_kind_name(kind), hr->error != NULL ? hr->error : "unknown error");
		return;
	}
	if (hr->body != NULL && hr->body_len > 0)
		root = jtree_parse(hr->body, hr->body_len, why, sizeof(why));
	if (hr->status == 200 && YAJL_IS_OBJECT(root)) {
		auth_mi_take_token(root, kind, now, out);
		goto out;
	}
	auth_mi_error_text(YAJL_IS_OBJECT(root) ? root : NULL, detail, sizeof(detail));
	snprintf(out->message, sizeof(out->message), "managed identity (%s): HTTP %ld%s",
		 auth_mi_kind_name(kind), hr->status, detail);
	out->error = WIRE_E_AUTH_FAILED;
	out->transient = auth_mi_retryable(hr->status, hr->outcome);
out:
	/* The wiping allocator: the tree held a copy of the token. */
	jtree_free(root);
}

/* ---- the method ---- */

static int auth_mi_send(struct auth *a, char *err, size_t errlen);

static void auth_mi_cancel(struct auth *a)
{
	struct auth_mi *m = a->state;

	if (m != NULL && m->retry_timer != NULL)
		evtimer_del(m->retry_timer);
}

/* A failure to even start a retry ends the sign-in; token.c backs off from there. */
static void auth_mi_fail(struct auth *a, const char *why)
{
	struct auth_result res;

	memset(&res, 0, sizeof(res));
	res.error = WIRE_E_AUTH_FAILED;
	res.transient = 1;
	snprintf(res.message, sizeof(res.message), "%s", why);
	auth_finish(a, &res);
}

static void auth_mi_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct auth *a = arg;
	char err[AUTH_MAX_MESSAGE];

	(void)fd;
	(void)what;
	if (auth_mi_send(a, err, sizeof(err)) < 0)
		auth_mi_fail(a, err);
}

static void auth_mi_done(void *arg, const struct http_result *hr)
{
	struct auth *a = arg;
	struct auth_mi *m = a->state;
	struct auth_result res;
	size_t n;

	a->xfer = NULL;
	m->tries++;
	if (auth_mi_retryable(hr->status, hr->outcome) && m->tries < AUTH_MI_MAX_TRIES) {
		struct timeval tv = { .tv_sec = auth_mi_retry_delay(m->tries, hr->retry_after) };


		log_debug("profile %s: managed identity (%s): %s %ld, try %d of %d in %ld s",
			  a->conf->name, auth_mi_kind_name(m->kind),
			  hr->outcome == HTTP_OK ? "HTTP" : "transport failure", hr->status,
			  m->tries + 1, AUTH_MI_MAX_TRIES, (long)tv.tv_sec);
		if (evtimer_add(m->retry_timer, &tv) == 0)
			return;
	}
	auth_mi_parse_response(hr, m->kind, time(NULL), &res);
	/* The platform's secret must not leak even if the service echoes it. */
	if (m->identity_header != NULL && strstr(res.message, sbuf_str(m->identity_header)) != NULL)
		snprintf(res.message, sizeof(res.message), "managed identity (%s): HTTP %ld",
			 auth_mi_kind_name(m->kind), hr->status);
	n = strlen(res.message);
	if (!res.ok && m->tries > 1 && n < sizeof(res.message))
		snprintf(res.message + n, sizeof(res.message) - n, " (after %d tries)", m->tries);
	auth_finish(a, &res);
}

static int auth_mi_send(struct auth *a, char *err, size_t errlen)
{
	struct auth_mi *m = a->state;
	struct http_request req = {
		.method = "GET",
		.url = m->url,
		.ca_file = a->conf->ca_file,
		.no_proxy = 1,                  /* IMDS must never go through a proxy */
		.timeout_ms = AUTH_MI_TIMEOUT_MS,
		.connect_timeout_ms = AUTH_MI_CONNECT_TIMEOUT_MS,
		.on_done = auth_mi_done,
		.arg = a,
	};

	if (http_headers_add(&req.headers, "Accept", "application/json") < 0 ||
	    /* Azure Automation wants Metadata alongside X-IDENTITY-HEADER (MSAL does the same). */
	    http_headers_add(&req.headers, "Metadata", "true") < 0 ||
	    (m->identity_header != NULL &&
	     http_headers_add(&req.headers, "X-IDENTITY-HEADER", sbuf_str(m->identity_header)) < 0)) {
		http_headers_free(req.headers);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->xfer = http_start(a->http, &req, err, errlen);
	return a->xfer != NULL ? 0 : -1;
}

static void auth_mi_cleanup(struct auth *a)
{
	struct auth_mi *m = a->state;

	if (m == NULL)
		return;
	if (m->retry_timer != NULL)
		event_free(m->retry_timer);
	free(m->url);
	sbuf_free(m->identity_header);
	free(m);
	a->state = NULL;
}

static int auth_mi_init(struct auth *a, char *err, size_t errlen)
{
	const char *header = getenv("IDENTITY_HEADER");
	const char *endpoint;
	char why[AUTH_MAX_MESSAGE] = "out of memory";
	struct auth_mi *m = calloc(1, sizeof(*m));

	if (m == NULL)
		goto fail;
	a->state = m;
	if (auth_mi_choose(a->conf->managed_identity_endpoint, header, getenv("IDENTITY_ENDPOINT"),
			   &m->kind, &endpoint, why, sizeof(why)) < 0)
		goto fail;
	if ((m->kind == AUTH_MI_APP_SERVICE && (m->identity_header = sbuf_dup_str(header)) == NULL) ||
	    auth_mi_url(m->kind, endpoint, cloud_resource(a->conf), a->conf, &m->url) < 0 ||
	    (m->retry_timer = evtimer_new(a->base, auth_mi_retry_cb, a)) == NULL)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "profile %s: %s", a->conf->name, why);
	auth_mi_cleanup(a);
	return -1;
}

static int auth_mi_start(struct auth *a, const char *claims, char *err, size_t errlen)
{
	struct auth_mi *m = a->state;

	/* The endpoints take no claims challenge; a new token is all they can give. */
	(void)claims;
	auth_cancel(a);
	m->tries = 0;
	return auth_mi_send(a, err, errlen);
}

const struct auth_method auth_managed_identity_method = {
	.name = "managed_identity",
	.init = auth_mi_init,
	.start = auth_mi_start,
	.cancel = auth_mi_cancel,
	.cleanup = auth_mi_cleanup,
};
