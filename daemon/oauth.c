/* The token endpoint: form posting and response parsing for every sign-in method. */
#include "daemon/oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "common/jtree.h"
#include "common/sbuf.h"
#include "daemon/auth_method.h"
#include "daemon/http.h"

#define OAUTH_TOKEN_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="

/* AADSTS codes that mean a person must sign in again (entra-auth.md §3, §8). */
static const long oauth_interaction_codes[] = {
	50076, 50079, 50072, 50074, 50158, 50005, 53003, 53000, 50125, 50173, 700082,
};
/* AADSTS codes that pass by themselves (throttling, transient service faults). */
static const long oauth_transient_codes[] = { 50196, 90024, 50033, 90006, 90090, 90055 };

int oauth_form_add(struct sbuf **form, const char *name, const char *value)
{
	char *esc = http_form_escape(value, strlen(value));
	int rc = -1;

	if (esc == NULL)
		return -1;
	if (*form == NULL && (*form = sbuf_new(OAUTH_MAX_FORM)) == NULL)
		goto out;
	if ((sbuf_len(*form) > 0 && sbuf_put(*form, "&", 1) < 0) || sbuf_put_str(*form, name) < 0 ||
	    sbuf_put(*form, "=", 1) < 0 || sbuf_put_str(*form, esc) < 0)
		goto out;
	rc = 0;
out:
	sbuf_wipe(esc, strlen(esc));
	free(esc);
	return rc;
}

int oauth_form_client_credentials(struct auth *a, const char *claims, struct sbuf **form)
{
	if (oauth_form_add(form, "client_id", a->conf->app_id) < 0 ||
	    oauth_form_add(form, "scope", a->scope) < 0 ||
	    oauth_form_add(form, "grant_type", "client_credentials") < 0 ||
	    (claims != NULL && oauth_form_add(form, "claims", claims) < 0))
		return -1;
	return 0;
}

static void oauth_done(void *arg, const struct http_result *hr)
{
	struct auth *a = arg;
	struct auth_result res;

	a->xfer = NULL;
	oauth_parse_response(hr, &res);
	auth_finish(a, &res);
}

int oauth_post(struct auth *a, const struct sbuf *form, char *err, size_t errlen)
{
	return oauth_post_to(a, a->token_url, form, oauth_done, err, errlen);
}

int oauth_post_to(struct auth *a, const char *url, const struct sbuf *form,
		  void (*done)(void *a, const struct http_result *hr), char *err, size_t errlen)
{
	struct http_request req = {
		.method = "POST",
		.url = url,
		.body = sbuf_str(form),
		.body_len = sbuf_len(form),
		.ca_file = a->conf->ca_file,
		.proxy = a->conf->proxy,
		.timeout_ms = OAUTH_TIMEOUT_MS,
		.connect_timeout_ms = OAUTH_CONNECT_TIMEOUT_MS,
		.on_done = done,
		.arg = a,
	};

	if (http_headers_add(&req.headers, "Content-Type", "application/x-www-form-urlencoded") < 0 ||
	    http_headers_add(&req.headers, "Accept", "application/json") < 0) {
		http_headers_free(req.headers);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->xfer = http_start(a->http, &req, err, errlen);
	return a->xfer != NULL ? 0 : -1;
}

double oauth_seconds(const void *value)
{
	yajl_val v = (yajl_val)value;
	const char *s;
	char *end;
	double n;

	if (YAJL_IS_NUMBER(v) && YAJL_IS_DOUBLE(v))
		n = YAJL_GET_DOUBLE(v);
	else if ((s = YAJL_GET_STRING(v)) != NULL) {
		n = strtod(s, &end);
		if (end == s || *end != '\0')
			return 0;
	} else
		return 0;
	/* Nothing Entra sends lasts longer than a year; larger (or NaN) is garbage. */
	return (n > 0 && n < 366.0 * 86400) ? n : 0;
}

int oauth_token_ok(const char *s)
{
	size_t len = s != NULL ? strnlen(s, OAUTH_MAX_TOKEN + 1) : 0;

	return len > 0 && len <= OAUTH_MAX_TOKEN && strspn(s, OAUTH_TOKEN_CHARS) == len;
}

/* Refresh tokens are opaque: printable ASCII without spaces, so that a file and a form carry them. */
static int oauth_refresh_ok(const char *s)
{
	size_t len = strnlen(s, OAUTH_MAX_TOKEN + 1);

	if (len == 0 || len > OAUTH_MAX_TOKEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int oauth_code_in(long code, const long *codes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (codes[i] == code)
			return 1;
	return 0;
}

static void oauth_error(yajl_val root, long status, struct auth_result *out)
{
	yajl_val codes = jtree_get(root, "error_codes");
	const char *error = jtree_str(root, "error");
	const char *desc = jtree_str(root, "error_description");
	long code = 0;
	size_t desc_len;

	if (YAJL_IS_ARRAY(codes) && codes->u.array.len > 0) {
		yajl_val first = codes->u.array.values[0];

		code = YAJL_IS_INTEGER(first) ? (long)YAJL_GET_INTEGER(first) : 0;
	}
	if (error == NULL)
		error = "no error in the answer";
	else
		snprintf(out->oauth_error, sizeof(out->oauth_error), "%s", error);
	/* The first line of the description; the rest is trace and timestamp noise. */
	desc_len = desc != NULL ? strcspn(desc, "\r\n") : 0;
	snprintf(out->message, sizeof(out->message), "Entra ID: HTTP %ld: %.64s%s%.*s", status,
		 error, desc_len > 0 ? ": " : "", (int)desc_len, desc != NULL ? desc : "");
	out->error = WIRE_E_AUTH_FAILED;
	if (status == 429 || status >= 500 || strcmp(error, "temporarily_unavailable") == 0 ||
	    oauth_code_in(code, oauth_transient_codes,
			  sizeof(oauth_transient_codes) / sizeof(oauth_transient_codes[0])))
		out->transient = 1;
	else if (strcmp(error, "interaction_required") == 0 ||
		 oauth_code_in(code, oauth_interaction_codes,
			       sizeof(oauth_interaction_codes) / sizeof(oauth_interaction_codes[0])))
		out->error = WIRE_E_NEEDS_LOGIN;
}

static void oauth_take(yajl_val root, const char *at, struct auth_result *out)
{
	const char *rt = jtree_str(root, "refresh_token");

	out->error = WIRE_E_AUTH_FAILED;
	out->transient = 1;
	if (!oauth_token_ok(at) || (rt != NULL && !oauth_refresh_ok(rt))) {
		snprintf(out->message, sizeof(out->message),
			 "Entra ID: the answer holds a token exod cannot use");
		return;
	}
	out->access_token = sbuf_dup_str(at);
	out->refresh_token = rt != NULL ? sbuf_dup_str(rt) : NULL;
	if (out->access_token == NULL || (rt != NULL && out->refresh_token == NULL)) {
		auth_result_clear(out);
		snprintf(out->message, sizeof(out->message), "out of memory");
		return;
	}
	out->expires_in = (long)oauth_seconds(jtree_get(root, "expires_in"));
	out->refresh_in = (long)oauth_seconds(jtree_get(root, "refresh_in"));
	out->error = WIRE_E_COUNT;
	out->transient = 0;
	out->ok = 1;
}

void oauth_parse_response(const struct http_result *hr, struct auth_result *out)
{
	char why[64];
	yajl_val root = NULL;
	const char *at;

	memset(out, 0, sizeof(*out));
	out->retry_after = hr->retry_after;
	if (hr->outcome != HTTP_OK) {
		out->error = hr->outcome == HTTP_TIMED_OUT ? WIRE_E_TIMEOUT : WIRE_E_AUTH_FAILED;
		out->transient = 1;
		snprintf(out->message, sizeof(out->message), "token endpoint unreachable: %s",
			 hr->error != NULL ? hr->error : "unknown error");
		return;
	}
	if (hr->body != NULL && hr->body_len > 0)
		root = jtree_parse(hr->body, hr->body_len, why, sizeof(why));
	at = jtree_str(root, "access_token");
	if (hr->status == 200 && at != NULL)
		oauth_take(root, at, out);
	else
		oauth_error(root, hr->status, out);
	/* Frees with the wiping allocator: the tree held copies of the tokens. */
	jtree_free(root);
}
