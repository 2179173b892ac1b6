/*
 * auth = device: the device code flow (RFC 8628 as Entra implements it,
 * entra-auth.md §2).  exoctl login starts it; afterwards the refresh
 * token keeps the session without a person.
 */
#include "daemon/auth.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#include "daemon/http.h"
#include "daemon/oauth.h"
#include "daemon/secret.h"

#define DEVICE_DEFAULT_INTERVAL 5.0     /* seconds, when Entra names none (as MSAL) */
#define DEVICE_DEFAULT_EXPIRY 900.0     /* seconds */
#define DEVICE_SLOW_DOWN_STEP 5.0       /* RFC 8628 §3.5 */
#define DEVICE_MAX_FIELD 4096           /* bytes of a device code or message */

struct auth_device {
	struct event *poll;
	char *device_code;
	double interval;
	struct timespec deadline;
};

static struct auth_device *device_state(struct auth *a)
{
	return a->state;
}

static void device_reset(struct auth *a)
{
	struct auth_device *d = device_state(a);

	evtimer_del(d->poll);
	secret_free_str(d->device_code);
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
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > device_state(a)->deadline.tv_sec;
}

static void device_arm(struct auth *a)
{
	double iv = device_state(a)->interval;
	struct timeval tv = { (time_t)iv, (suseconds_t)((iv - (double)(time_t)iv) * 1e6) };

	evtimer_add(device_state(a)->poll, &tv);
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
		snprintf(res.message, sizeof(res.message),
			 "the device code expired before sign-in completed: run exoctl login again");
	} else if (strcmp(res.oauth_error, "authorization_declined") == 0) {
		snprintf(res.message, sizeof(res.message), "the sign-in was declined");
	} else if (strcmp(res.oauth_error, "expired_token") == 0) {
		snprintf(res.message, sizeof(res.message),
			 "the device code expired before sign-in completed: run exoctl login again");
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
	char *form = NULL;
	char err[256];

	(void)fd;
	(void)what;
	if (oauth_form_add(&form, "client_id", a->client_id) < 0 ||
	    oauth_form_add(&form, "grant_type", "urn:ietf:params:oauth:grant-type:device_code") < 0 ||
	    oauth_form_add(&form, "device_code", d->device_code) < 0) {
		oauth_form_free(form);
		device_fail(a, WIRE_E_AUTH_FAILED, "%s", "out of memory");
		return;
	}
	if (oauth_post_to(a, a->token_url, form, device_poll_done, err, sizeof(err)) < 0)
		device_fail(a, WIRE_E_AUTH_FAILED, "%s", err);
	oauth_form_free(form);
}

static const char *device_field(yajl_val root, const char *key)
{
	const char *path[] = { key, NULL };
	const char *s = YAJL_GET_STRING(yajl_tree_get(root, path, yajl_t_string));

	return (s != NULL && strlen(s) < DEVICE_MAX_FIELD) ? s : NULL;
}

static double device_number(yajl_val root, const char *key, double dflt)
{
	const char *path[] = { key, NULL };
	double n = oauth_seconds(yajl_tree_get(root, path, yajl_t_any));

	return n > 0 ? n : dflt;
}

/* The devicecode answer: show the person what to do, then poll. */
static void device_code_done(void *arg, const struct http_result *hr)
{
	struct auth *a = arg;
	struct auth_device *d = device_state(a);
	char *json = NULL;
	yajl_val root = NULL;
	struct auth_login_info info;

	a->xfer = NULL;
	if (hr->outcome == HTTP_OK && hr->status == 200 && hr->body != NULL &&
	    memchr(hr->body, '\0', hr->body_len) == NULL)
		json = strndup(hr->body, hr->body_len);
	if (json != NULL)
		root = yajl_tree_parse(json, NULL, 0);
	info.user_code = root != NULL ? device_field(root, "user_code") : NULL;
	info.verification_uri = root != NULL ? device_field(root, "verification_uri") : NULL;
	if (info.verification_uri == NULL && root != NULL)
		info.verification_uri = device_field(root, "verification_url");
	info.message = root != NULL ? device_field(root, "message") : NULL;
	if (root == NULL || device_field(root, "device_code") == NULL || info.user_code == NULL ||
	    info.verification_uri == NULL) {
		struct auth_result res;

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
		goto out;
	}
	d->device_code = strdup(device_field(root, "device_code"));
	d->interval = device_number(root, "interval", DEVICE_DEFAULT_INTERVAL);
	info.expires_in = (long)device_number(root, "expires_in", DEVICE_DEFAULT_EXPIRY);
	clock_gettime(CLOCK_MONOTONIC, &d->deadline);
	d->deadline.tv_sec += info.expires_in;
	if (info.message == NULL)
		info.message = "";
	if (a->progress != NULL)
		a->progress(a->progress_arg, &info);
	a->progress = NULL;
	if (d->device_code == NULL)
		device_fail(a, WIRE_E_AUTH_FAILED, "%s", "out of memory");
	else
		device_arm(a);
out:
	yajl_tree_free(root);
	free(json);
}

static int auth_device_login(struct auth *a, const char *password, auth_progress_cb progress,
			     void *progress_arg, char *err, size_t errlen)
{
	char *form = NULL, *url = NULL;
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
	oauth_form_free(form);
	free(url);
	return rc;
}

static int auth_device_start(struct auth *a, const char *claims, char *err, size_t errlen)
{
	struct auth_result res = { .error = WIRE_E_NEEDS_LOGIN };

	if (a->refresh_token != NULL)
		return auth_refresh_grant(a, claims, err, errlen);
	snprintf(res.message, sizeof(res.message),
		 "profile %s needs a sign-in: run exoctl login -p %s", a->conf->name, a->conf->name);
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
	a->cancel_hook = auth_device_cancel;
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
	.cleanup = auth_device_cleanup,
};
