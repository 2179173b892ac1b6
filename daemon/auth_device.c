/*
 * auth = device: the device code flow (RFC 8628 as Entra implements it,
 * entra-auth.md §2).  exoctl login starts it; afterwards the refresh
 * token keeps the session without a person.
 */
#include "daemon/auth_device.h"
#include "daemon/auth_method.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "common/jtree.h"
#include "common/sbuf.h"
#include "daemon/clock.h"
#include "daemon/hint.h"
#include "daemon/http.h"
#include "daemon/oauth.h"

#define DEVICE_DEFAULT_INTERVAL 5.0     /* seconds, when Entra names none (as MSAL) */
#define DEVICE_MIN_INTERVAL 0.1         /* seconds: a smaller interval would poll Entra hot */
#define DEVICE_MAX_INTERVAL 60.0
#define DEVICE_DEFAULT_EXPIRY 900.0     /* seconds */
#define DEVICE_MIN_EXPIRY 1.0
#define DEVICE_MAX_EXPIRY 86400.0
#define DEVICE_SLOW_DOWN_STEP 5.0       /* RFC 8628 §3.5 */
#define DEVICE_MAX_FIELD 4096           /* bytes of a device code or message */

struct auth_device {
	struct event *poll;
	struct sbuf *device_code;       /* a credential until it expires */
	double interval;
	long long deadline;             /* clock_ms() when the code expires */
};

static struct auth_device *device_state(struct auth *a)
{
	return a->state;
}

static void device_reset(struct auth *a)
{
	struct auth_device *d = device_state(a);

	evtimer_del(d->poll);
	sbuf_free(d->device_code);
	d->device_code = NULL;
}

static void device_fail(struct auth *a, enum wire_error e, const char *fmt, const char *detail)
{
	struct auth_result res = { .error = e };

	snprintf(res.message, sizeof(res.message), fmt, detail);
	device_reset(a);
	auth_finish(a, &res);
}

static int device_expired(struct auth *a)
{
	return clock_ms() > device_state(a)->deadline;
}

static void device_arm(struct auth *a)
{
	double iv = device_state(a)->interval;
	struct timeval tv = { (time_t)iv, (suseconds_t)((iv - (double)(time_t)iv) * 1e6) };

	evtimer_add(device_state(a)->poll, &tv);
}

static void device_expired_message(const struct auth *a, struct auth_result *res)
{
	char hint[HINT_MAX];

	snprintf(res->message, sizeof(res->message),
		 "the device code expired before sign-in completed: run %s",
		 hint_login(a->conf, hint, sizeof(hint)));
}

static void device_poll_done(void *arg, const struct http_result *hr)
{
	struct auth *a = arg;
	struct auth_device *d = device_state(a);
	struct auth_result res;

	a->xfer = NULL;
	oauth_parse_response(hr, &res);
	if (res.ok) {
		device_reset(a);
		auth_finish(a, &res);
		return;
	}
	if (strcmp(res.oauth_error, "authorization_pending") == 0 ||
	    strcmp(res.oauth_error, "slow_down") == 0 || (res.transient && !device_expired(a))) {
		if (strcmp(res.oauth_error, "slow_down") == 0)
			d->interval += DEVICE_SLOW_DOWN_STEP;
		if (!device_expired(a)) {
			device_arm(a);
			return;
		}
		device_expired_message(a, &res);
	} else if (strcmp(res.oauth_error, "authorization_declined") == 0) {
		snprintf(res.message, sizeof(res.message), "the sign-in was declined");
	} else if (strcmp(res.oauth_error, "expired_token") == 0) {
		device_expired_message(a, &res);
	}
	res.error = WIRE_E_AUTH_FAILED;
	res.transient = 0;
	device_reset(a);
	auth_finish(a, &res);
}

static void device_poll(evutil_socket_t fd, short what, void *arg)
{
	struct auth *a = arg;
	struct auth_device *d = device_state(a);
	struct sbuf *form = NULL;
	char err[256];

	(void)fd;
	(void)what;
	if (oauth_form_add(&form, "client_id", a->client_id) < 0 ||
	    oauth_form_add(&form, "grant_type", "urn:ietf:params:oauth:grant-type:device_code") < 0 ||
	    oauth_form_add(&form, "device_code", sbuf_str(d->device_code)) < 0) {
		sbuf_free(form);
		device_fail(a, WIRE_E_AUTH_FAILED, "%s", "out of memory");
		return;
	}
	if (oauth_post_to(a, a->token_url, form, device_poll_done, err, sizeof(err)) < 0)
		device_fail(a, WIRE_E_AUTH_FAILED, "%s", err);
	sbuf_free(form);
}

static const char *device_field(yajl_val root, const char *key)
{
	const char *s = jtree_str(root, key);

	return (s != NULL && strlen(s) < DEVICE_MAX_FIELD) ? s : NULL;
}

/* A number of seconds from the answer, held to [lo, hi]; dflt when absent or garbage. */
static double device_number(yajl_val root, const char *key, double dflt, double lo, double hi)
{
	double n = oauth_seconds(jtree_get(root, key));

	if (n <= 0)
		return dflt;
	return n < lo ? lo : n > hi ? hi : n;
}

int auth_device_parse(const char *body, size_t len, struct auth_device_code *out)
{
	char why[64];
	yajl_val root = jtree_parse(body, len, why, sizeof(why));
	const char *code, *user_code, *uri, *message;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	code = device_field(root, "device_code");
	user_code = device_field(root, "user_code");
	uri = device_field(root, "verification_uri");
	if (uri == NULL)
		uri = device_field(root, "verification_url");
	message = device_field(root, "message");
	if (code == NULL || user_code == NULL || uri == NULL || !oauth_token_ok(code))
		goto out;
	out->device_code = sbuf_dup_str(code);
	out->user_code = strdup(user_code);
	out->verification_uri = strdup(uri);
	out->message = strdup(message != NULL ? message : "");
	out->interval = device_number(root, "interval", DEVICE_DEFAULT_INTERVAL, DEVICE_MIN_INTERVAL,
				      DEVICE_MAX_INTERVAL);
	out->expires_in = (long)device_number(root, "expires_in", DEVICE_DEFAULT_EXPIRY,
					      DEVICE_MIN_EXPIRY, DEVICE_MAX_EXPIRY);
	if (out->device_code == NULL || out->user_code == NULL || out->verification_uri == NULL ||
	    out->message == NULL) {
		auth_device_code_clear(out);
		goto out;
	}
	rc = 0;
out:
	jtree_free(root);
	return rc;
}

void auth_device_code_clear(struct auth_device_code *c)
{
	sbuf_free(c->device_code);
	free(c->user_code);
	free(c->verification_uri);
	free(c->message);
	memset(c, 0, sizeof(*c));
}

/* The devicecode answer: show the person what to do, then poll. */
static void device_code_done(void *arg, const struct http_result *hr)
{
	struct auth *a = arg;
	struct auth_device *d = device_state(a);
	struct auth_device_code dc;
	struct auth_login_info info;
	struct auth_result res;

	a->xfer = NULL;
	if (hr->outcome != HTTP_OK || hr->status != 200 || hr->body == NULL ||
	    auth_device_parse(hr->body, hr->body_len, &dc) < 0) {
		oauth_parse_response(hr, &res);
		res.error = res.error == WIRE_E_NEEDS_LOGIN ? WIRE_E_AUTH_FAILED : res.error;
		if (res.ok) {
			auth_result_clear(&res);
			res.ok = 0;
			res.error = WIRE_E_AUTH_FAILED;
			snprintf(res.message, sizeof(res.message), "malformed device code answer");
		}
		device_reset(a);
		auth_finish(a, &res);
		return;
	}
	d->device_code = dc.device_code;
	dc.device_code = NULL;
	d->interval = dc.interval;
	d->deadline = clock_ms() + dc.expires_in * 1000LL;
	info.user_code = dc.user_code;
	info.verification_uri = dc.verification_uri;
	info.message = dc.message;
	info.expires_in = dc.expires_in;
	if (a->progress != NULL)
		a->progress(a->progress_arg, &info);
	a->progress = NULL;
	auth_device_code_clear(&dc);
	device_arm(a);
}

static int auth_device_login(struct auth *a, const struct sbuf *password,
			     auth_progress_cb progress, void *progress_arg, char *err, size_t errlen)
{
	struct sbuf *form = NULL;
	char *url = NULL;
	int rc = -1;

	(void)password;
	device_reset(a);
	a->progress = progress;
	a->progress_arg = progress_arg;
	if (asprintf(&url, "%s/%s/oauth2/v2.0/devicecode", a->authority, a->tenant) < 0) {
		url = NULL;
		goto oom;
	}
	if (oauth_form_add(&form, "client_id", a->client_id) < 0 ||
	    oauth_form_add(&form, "scope", a->user_scope) < 0)
		goto oom;
	rc = oauth_post_to(a, url, form, device_code_done, err, errlen);
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	sbuf_free(form);
	free(url);
	return rc;
}

static int auth_device_start(struct auth *a, const char *claims, char *err, size_t errlen)
{
	struct auth_result res = { .error = WIRE_E_NEEDS_LOGIN };
	char hint[HINT_MAX];

	if (a->refresh_token != NULL)
		return auth_refresh_grant(a, claims, err, errlen);
	snprintf(res.message, sizeof(res.message), "profile %s needs a sign-in: run %s",
		 a->conf->name, hint_login(a->conf, hint, sizeof(hint)));
	auth_finish(a, &res);
	return 0;
}

static void auth_device_cancel(struct auth *a)
{
	if (a->state != NULL)
		device_reset(a);
}

static int auth_device_init(struct auth *a, char *err, size_t errlen)
{
	struct auth_device *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->poll = evtimer_new(a->base, device_poll, a)) == NULL) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->state = d;
	return 0;
}

static void auth_device_cleanup(struct auth *a)
{
	struct auth_device *d = a->state;

	if (d == NULL)
		return;
	device_reset(a);
	event_free(d->poll);
	free(d);
	a->state = NULL;
}

const struct auth_method auth_device_method = {
	.name = "device",
	.init = auth_device_init,
	.start = auth_device_start,
	.login = auth_device_login,
	.cancel = auth_device_cancel,
	.cleanup = auth_device_cleanup,
};
