/*
 * The browser sign-in (auth = interactive, or exoctl login --browser on
 * a device profile): the authorization code flow with PKCE on a loopback
 * redirect (entra-auth.md §4).  exoctl runs the browser side, listening
 * for the redirect; exod names the authorize URL and redeems the code
 * with the verifier, after which the refresh token keeps the session as
 * for device code.
 */
#include "daemon/auth_browser.h"
#include "daemon/auth_method.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sbuf.h"
#include "daemon/hint.h"
#include "daemon/http.h"
#include "daemon/oauth.h"

#define AUTH_BROWSER_VERIFIER_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
#define AUTH_BROWSER_MAX_PORT 65535

int auth_browser_verifier_ok(const char *s)
{
	size_t len = s != NULL ? strnlen(s, AUTH_BROWSER_VERIFIER_MAX + 1) : 0;

	return len >= AUTH_BROWSER_VERIFIER_MIN && len <= AUTH_BROWSER_VERIFIER_MAX &&
	       strspn(s, AUTH_BROWSER_VERIFIER_CHARS) == len;
}

/* A port as a URL writes it: 1 to 65535 in decimal, no sign, no leading zero; *end after it. */
static int auth_browser_port(const char *s, const char **end)
{
	long port = 0;
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 5 || s[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++)
		port = port * 10 + (s[i] - '0');
	*end = s + n;
	return port <= AUTH_BROWSER_MAX_PORT;
}

int auth_browser_redirect_ok(const char *uri)
{
	static const char *const hosts[] = { "http://localhost:", "http://127.0.0.1:" };
	const char *end;

	if (uri == NULL || strnlen(uri, AUTH_BROWSER_MAX_REDIRECT + 1) > AUTH_BROWSER_MAX_REDIRECT)
		return 0;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		size_t n = strlen(hosts[i]);

		if (strncmp(uri, hosts[i], n) == 0 && auth_browser_port(uri + n, &end))
			return strcmp(end, "") == 0 || strcmp(end, "/") == 0;
	}
	return 0;
}

int auth_browser_check(const struct auth_login_req *req, char *err, size_t errlen)
{
	if (req->code == NULL || req->code_verifier == NULL || req->redirect_uri == NULL) {
		snprintf(err, errlen, "a browser login brings \"code\", \"code_verifier\" and "
			 "\"redirect_uri\" together (doc/PROTOCOL.md)");
		return -1;
	}
	if (!oauth_token_ok(sbuf_str(req->code))) {
		snprintf(err, errlen, "\"code\" is not an authorization code");
		return -1;
	}
	if (!auth_browser_verifier_ok(sbuf_str(req->code_verifier))) {
		snprintf(err, errlen, "\"code_verifier\" is %d to %d characters of A-Z a-z 0-9 - . _ ~ "
			 "(RFC 7636)", AUTH_BROWSER_VERIFIER_MIN, AUTH_BROWSER_VERIFIER_MAX);
		return -1;
	}
	if (!auth_browser_redirect_ok(req->redirect_uri)) {
		snprintf(err, errlen, "\"redirect_uri\" is http://localhost:PORT or "
			 "http://127.0.0.1:PORT, where the code was sent");
		return -1;
	}
	return 0;
}

/* "&name=value", the value URL-encoded; nothing for a NULL value. */
static int auth_browser_param(FILE *fp, const char *name, const char *value)
{
	char *esc;

	if (value == NULL)
		return 0;
	if ((esc = http_form_escape(value, strlen(value))) == NULL)
		return -1;
	fprintf(fp, "&%s=%s", name, esc);
	free(esc);
	return 0;
}

char *auth_authorize_url(const struct auth *a)
{
	char *url = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&url, &len);
	int rc;

	if (fp == NULL)
		return NULL;
	/* response_mode=query: the code comes back in the redirect's query, which exoctl reads. */
	fprintf(fp, "%s/%s/oauth2/v2.0/authorize?response_type=code&response_mode=query",
		a->authority, a->tenant);
	rc = auth_browser_param(fp, "client_id", a->client_id) < 0 ||
	     auth_browser_param(fp, "scope", a->user_scope) < 0 ||
	     auth_browser_param(fp, "login_hint", a->conf->user_principal_name) < 0;
	if (fclose(fp) != 0 || rc != 0) {
		free(url);
		return NULL;
	}
	return url;
}

static void auth_browser_done(void *arg, const struct http_result *hr)
{
	struct auth *a = arg;
	struct auth_result res;

	a->xfer = NULL;
	oauth_parse_response(hr, &res);
	if (!res.ok) {
		char hint[HINT_MAX];
		size_t n = strlen(res.message);

		/* A code is good once, for minutes: nothing to retry, the person signs in again. */
		if (strcmp(res.oauth_error, "invalid_grant") == 0)
			snprintf(res.message + n, sizeof(res.message) - n,
				 "; the code was refused (used, expired, or not from this sign-in): "
				 "run %s again", hint_exoctl(a->conf, a->conf->auth == CONF_AUTH_INTERACTIVE ?
							     "login" : "login --browser",
							     hint, sizeof(hint)));
		if (res.error != WIRE_E_TIMEOUT)
			res.error = WIRE_E_AUTH_FAILED;
		res.transient = 0;
	}
	auth_finish(a, &res);
}

int auth_browser_login(struct auth *a, const struct auth_login_req *req, char *err, size_t errlen)
{
	struct sbuf *form = NULL;
	int rc = -1;

	a->progress = NULL;
	a->progress_arg = NULL;
	if (oauth_form_add(&form, "client_id", a->client_id) < 0 ||
	    oauth_form_add(&form, "grant_type", "authorization_code") < 0 ||
	    oauth_form_add(&form, "code", sbuf_str(req->code)) < 0 ||
	    oauth_form_add(&form, "redirect_uri", req->redirect_uri) < 0 ||
	    oauth_form_add(&form, "code_verifier", sbuf_str(req->code_verifier)) < 0 ||
	    oauth_form_add(&form, "scope", a->user_scope) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = oauth_post_to(a, a->token_url, form, auth_browser_done, err, errlen);
out:
	sbuf_free(form);
	return rc;
}
