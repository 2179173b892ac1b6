/* The sign-in interface: endpoints of a profile, dispatch to its method, delivery of results. */
#include "daemon/auth_method.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "daemon/cloud.h"
#include "daemon/hint.h"
#include "daemon/http.h"

void auth_result_clear(struct auth_result *r)
{
	sbuf_free(r->access_token);
	sbuf_free(r->refresh_token);
	r->access_token = NULL;
	r->refresh_token = NULL;
}

static const struct auth_method *auth_method_for(enum conf_auth kind)
{
	switch (kind) {
	case CONF_AUTH_CERTIFICATE:
		return &auth_certificate_method;
	case CONF_AUTH_SECRET:
		return &auth_secret_method;
	case CONF_AUTH_DEVICE:
	case CONF_AUTH_INTERACTIVE:     /* the same, but exoctl login opens the browser by default */
		return &auth_device_method;
	case CONF_AUTH_PASSWORD:
		return &auth_password_method;
	case CONF_AUTH_MANAGED_IDENTITY:
		return &auth_managed_identity_method;
	case CONF_AUTH_ACCESS_TOKEN:
		return &auth_access_token_method;
	}
	return NULL;
}

/* Splits "https://host[:port][/tenant[/...]]" into the base and the first path segment. */
static int auth_split_authority(const char *uri, char **base, char **tenant)
{
	const char *host = strstr(uri, "://");
	const char *slash;
	size_t seg;

	if (host == NULL)
		return -1;
	slash = strchr(host + 3, '/');
	if (slash == NULL) {
		*base = strdup(uri);
		*tenant = NULL;
		return *base != NULL ? 0 : -1;
	}
	*base = strndup(uri, (size_t)(slash - uri));
	if (*base == NULL)
		return -1;
	seg = strcspn(slash + 1, "/?#");
	*tenant = seg > 0 ? strndup(slash + 1, seg) : NULL;
	return 0;
}

static int auth_app_only(enum conf_auth kind)
{
	return kind == CONF_AUTH_CERTIFICATE || kind == CONF_AUTH_SECRET ||
	       kind == CONF_AUTH_MANAGED_IDENTITY;
}

static int auth_endpoints(struct auth *a)
{
	const struct conf_profile *c = a->conf;
	const char *uri = c->authority_uri != NULL ? c->authority_uri : a->cloud->authority_uri;
	const char *org = c->delegated_organization != NULL ? c->delegated_organization : c->organization;
	char *path_tenant = NULL;

	if (auth_split_authority(uri, &a->authority, &path_tenant) < 0)
		return -1;
	/* App-only tokens must come from the tenant itself, never /organizations. */
	if (path_tenant != NULL && !(auth_app_only(c->auth) &&
				     (strcmp(path_tenant, "organizations") == 0 ||
				      strcmp(path_tenant, "common") == 0)))
		a->tenant = path_tenant;
	else {
		free(path_tenant);
		a->tenant = strdup(org != NULL ? org : "organizations");
	}
	if (a->tenant == NULL ||
	    asprintf(&a->scope, "%s/.default", cloud_resource(c)) < 0 ||
	    asprintf(&a->user_scope, "%s offline_access openid profile", a->scope) < 0 ||
	    asprintf(&a->token_url, "%s/%s/oauth2/v2.0/token", a->authority, a->tenant) < 0)
		return -1;
	return 0;
}

static void auth_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct auth *a = arg;
	struct auth_result res;

	(void)fd;
	(void)what;
	if (!a->result_pending)
		return;
	/* Taken off a first: done may start the next sign-in, which finishes into a->result. */
	res = a->result;
	memset(&a->result, 0, sizeof(a->result));
	a->result_pending = 0;
	a->done(a->done_arg, &res);
	auth_result_clear(&res);
}

struct auth *auth_new(struct event_base *base, const struct conf_profile *conf, struct http *http,
		      auth_done_cb done, void *done_arg, char *err, size_t errlen)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (a == NULL || (a->deliver = event_new(base, -1, 0, auth_deliver, a)) == NULL) {
		free(a);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->base = base;
	a->conf = conf;
	a->http = http;
	a->done = done;
	a->done_arg = done_arg;
	a->cloud = cloud_get(conf->environment);
	a->client_id = conf->app_id != NULL ? conf->app_id : CONF_DEVICE_APP_ID;
	a->method = auth_method_for(conf->auth);
	if (a->method == NULL) {
		snprintf(err, errlen, "profile %s: auth = %s is not supported yet", conf->name,
			 conf_auth_name(conf->auth));
		goto fail;
	}
	if (auth_endpoints(a) < 0) {
		snprintf(err, errlen, "profile %s: bad authority_uri", conf->name);
		goto fail;
	}
	if (a->method->init(a, err, errlen) < 0)
		goto fail;
	return a;
fail:
	a->method = NULL;       /* init failed: it cleaned up after itself */
	auth_free(a);
	return NULL;
}

void auth_start(struct auth *a, const char *claims)
{
	struct auth_result res = { .error = WIRE_E_AUTH_FAILED, .transient = 1 };

	/* A method that cannot even start fails like one whose request failed: through the loop. */
	if (a->method->start(a, claims, res.message, sizeof(res.message)) < 0)
		auth_finish(a, &res);
}

int auth_has_login(const struct auth *a)
{
	return a->method->login != NULL;
}

int auth_login(struct auth *a, const struct auth_login_req *req, auth_progress_cb progress,
	       void *progress_arg, char *err, size_t errlen)
{
	if (auth_login_is_browser(a->conf, req->method))
		return auth_browser_login(a, req, err, errlen);
	if (a->method->login == NULL) {
		snprintf(err, errlen, "profile %s signs in with auth = %s, which needs no login",
			 a->conf->name, a->method->name);
		return -1;
	}
	return a->method->login(a, req->password, progress, progress_arg, err, errlen);
}

/* The method word of a login request: "device", "password" or "browser". */
static int auth_method_is(const char *method, const char *word)
{
	return method == NULL || strcmp(method, word) == 0;
}

int auth_login_is_browser(const struct conf_profile *c, const char *method)
{
	if (method != NULL)
		return strcmp(method, "browser") == 0;
	return c->auth == CONF_AUTH_INTERACTIVE;
}

/* Device and interactive profiles: device code or the browser, whichever the person chose. */
static int auth_login_check_person(const struct conf_profile *c, const struct auth_login_req *req,
				   char *err, size_t errlen)
{
	char hint[HINT_MAX];

	/* None of code, verifier and redirect: the first step, asking for the authorize URL. */
	if (auth_login_is_browser(c, req->method))
		return req->code == NULL && req->code_verifier == NULL && req->redirect_uri == NULL ?
		       0 : auth_browser_check(req, err, errlen);
	if (auth_method_is(req->method, "device"))
		return 0;
	snprintf(err, errlen, "profile %s signs in with %s: run %s", c->name,
		 c->auth == CONF_AUTH_DEVICE ? "device code" : "the browser",
		 hint_login(c, hint, sizeof(hint)));
	return -1;
}

int auth_login_check(const struct conf_profile *c, const struct auth_login_req *req, char *err,
		     size_t errlen)
{
	const char *method = req->method;
	char hint[HINT_MAX];

	if (method != NULL && strcmp(method, "device") != 0 && strcmp(method, "password") != 0 &&
	    strcmp(method, "browser") != 0) {
		snprintf(err, errlen, "login \"method\" is \"device\", \"password\" or \"browser\"");
		return -1;
	}
	switch (c->auth) {
	case CONF_AUTH_DEVICE:
	case CONF_AUTH_INTERACTIVE:
		return auth_login_check_person(c, req, err, errlen);
	case CONF_AUTH_PASSWORD:
		if (auth_method_is(method, "password") && req->password != NULL &&
		    sbuf_len(req->password) > 0)
			return 0;
		snprintf(err, errlen, "profile %s signs in with a password: run %s", c->name,
			 hint_login(c, hint, sizeof(hint)));
		return -1;
	case CONF_AUTH_ACCESS_TOKEN:
		snprintf(err, errlen, "profile %s takes the token written to its access_token_file "
			 "and has no login: write a new token to the file", c->name);
		return -1;
	case CONF_AUTH_CERTIFICATE:
	case CONF_AUTH_SECRET:
	case CONF_AUTH_MANAGED_IDENTITY:
		break;
	}
	snprintf(err, errlen, "profile %s signs in by itself as an application (auth = %s) and has "
		 "no login: run %s for a new token", c->name, conf_auth_name(c->auth),
		 hint_exoctl(c, "refresh", hint, sizeof(hint)));
	return -1;
}

void auth_logout_message(const struct conf_profile *c, char *buf, size_t len)
{
	char hint[HINT_MAX];

	switch (c->auth) {
	case CONF_AUTH_DEVICE:
	case CONF_AUTH_PASSWORD:
	case CONF_AUTH_INTERACTIVE:
		snprintf(buf, len, "signed out of %s: the saved sign-in was removed; run %s to sign "
			 "in again", c->name, hint_login(c, hint, sizeof(hint)));
		return;
	case CONF_AUTH_ACCESS_TOKEN:
		snprintf(buf, len, "forgot the token of %s; the next request reads its "
			 "access_token_file again", c->name);
		return;
	case CONF_AUTH_CERTIFICATE:
	case CONF_AUTH_SECRET:
	case CONF_AUTH_MANAGED_IDENTITY:
		break;
	}
	snprintf(buf, len, "forgot the token of %s; app-only: the next request signs in again",
		 c->name);
}

void auth_login_detach(struct auth *a)
{
	a->progress = NULL;
	a->progress_arg = NULL;
}

void auth_cancel(struct auth *a)
{
	http_xfer_cancel(a->xfer);
	a->xfer = NULL;
	if (a->method != NULL && a->method->cancel != NULL)
		a->method->cancel(a);
	if (a->result_pending) {
		event_del(a->deliver);
		auth_result_clear(&a->result);
		a->result_pending = 0;
	}
}

void auth_finish(struct auth *a, struct auth_result *res)
{
	a->xfer = NULL;
	auth_result_clear(&a->result);
	a->result = *res;
	memset(res, 0, sizeof(*res));
	a->result_pending = 1;
	event_active(a->deliver, EV_TIMEOUT, 0);
}

void auth_set_refresh_token(struct auth *a, const struct sbuf *rt)
{
	a->refresh_token = rt;
}

void auth_set_conf(struct auth *a, const struct conf_profile *conf)
{
	a->conf = conf;
	a->client_id = conf->app_id != NULL ? conf->app_id : CONF_DEVICE_APP_ID;
}

const char *auth_authority(const struct auth *a)
{
	return a->authority;
}

const char *auth_tenant(const struct auth *a)
{
	return a->tenant;
}

const char *auth_client_id(const struct auth *a)
{
	return a->client_id;
}

void auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	auth_cancel(a);
	if (a->method != NULL && a->method->cleanup != NULL)
		a->method->cleanup(a);
	if (a->deliver != NULL)
		event_free(a->deliver);
	free(a->authority);
	free(a->tenant);
	free(a->scope);
	free(a->user_scope);
	free(a->token_url);
	free(a);
}
