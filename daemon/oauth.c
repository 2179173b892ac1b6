/* The token endpoint: form posting and response parsing for every sign-in method. */
#include "daemon/oauth.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "daemon/auth.h"
#include "daemon/http.h"

/* AADSTS codes that mean a person must sign in again (entra-auth.md §3, §8). */
static const long oauth_interaction_codes[] = {
	50076, 50079, 50072, 50074, 50158, 50005, 53003, 53000, 50125, 50173, 700082,
};
/* AADSTS codes that pass by themselves (throttling, transient service faults). */
static const long oauth_transient_codes[] = { 50196, 90024, 50033, 90006, 90090, 90055 };

int oauth_form_add(char **form, const char *name, const char *value)
{
	char *esc = http_form_escape(value);
	char *grown = NULL;
	size_t old = *form != NULL ? strlen(*form) : 0;
	int n;

	if (esc == NULL)
		return -1;
	if (old + strlen(name) + strlen(esc) + 2 > OAUTH_MAX_FORM)
		goto out;
	n = asprintf(&grown, "%s%s%s=%s", *form != NULL ? *form : "", old > 0 ? "&" : "",
		     name, esc);
	if (n < 0)
		grown = NULL;
out:
	explicit_bzero(esc, strlen(esc));
	free(esc);
	if (grown == NULL)
		return -1;
	oauth_form_free(*form);
	*form = grown;
	return 0;
}

void oauth_form_free(char *form)
{
	if (form == NULL)
		return;
	explicit_bzero(form, strlen(form));
	free(form);
}

int oauth_form_client_credentials(struct auth *a, const char *claims, char **form)
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

int oauth_post(struct auth *a, const char *form, char *err, size_t errlen)
{
	return oauth_post_to(a, a->token_url, form, oauth_done, err, errlen);
}

int oauth_post_to(struct auth *a, const char *url, const char *form,
		  void (*done)(void *a, const struct http_result *hr), char *err, size_t errlen)
{
	struct http_request req = {
		.method = "POST",
		.url = url,
		.body = form,
		.body_len = strlen(form),
		.ca_file = a->conf->ca_file,
		.proxy = a->conf->proxy,
		.timeout_ms = OAUTH_TIMEOUT_MS,
		.connect_timeout_ms = OAUTH_CONNECT_TIMEOUT_MS,
		.on_done = done,
		.arg = a,
	};

	if (http_header_add(&req.headers, "Content-Type", "application/x-www-form-urlencoded") < 0 ||
	    http_header_add(&req.headers, "Accept", "application/json") < 0) {
		curl_slist_free_all(req.headers);
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

	if (YAJL_IS_NUMBER(v))
		n = YAJL_GET_DOUBLE(v);
	else if ((s = YAJL_GET_STRING(v)) != NULL) {
		n = strtod(s, &end);
		if (end == s || *end != '\0')
			return 0;
	} else
		return 0;
	/* Nothing Entra sends lasts longer than a year; larger is garbage. */
	return (n > 0 && n < 366.0 * 86400) ? n : 0;
}

/* A number that may come as a JSON number or a string (managed identity sends strings). */
static long oauth_number(yajl_val v)
{
	return (long)oauth_seconds(v);
}

static const char *oauth_string(yajl_val root, const char *key)
{
	const char *path[] = { key, NULL };

	return YAJL_GET_STRING(yajl_tree_get(root, path, yajl_t_string));
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
	const char *path[] = { "error_codes", NULL };
	yajl_val codes = yajl_tree_get(root, path, yajl_t_array);
	const char *error = root != NULL ? oauth_string(root, "error") : NULL;
	const char *desc = root != NULL ? oauth_string(root, "error_description") : NULL;
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
	snprintf(out->message, sizeof(out->message), "Entra ID: HTTP %ld: %s%s%.*s", status,
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

void oauth_parse_response(const struct http_result *hr, struct auth_result *out)
{
	yajl_val root = NULL;
	const char *at, *rt;
	char *json = NULL;

	memset(out, 0, sizeof(*out));
	out->retry_after = atol(hr->retry_after);
	if (hr->outcome != HTTP_OK) {
		out->error = hr->outcome == HTTP_TIMED_OUT ? WIRE_E_TIMEOUT : WIRE_E_AUTH_FAILED;
		out->transient = 1;
		snprintf(out->message, sizeof(out->message), "token endpoint unreachable: %s",
			 hr->error != NULL ? hr->error : "unknown error");
		return;
	}
	if (hr->body != NULL && hr->body_len > 0 && memchr(hr->body, '\0', hr->body_len) == NULL) {
		json = strndup(hr->body, hr->body_len);
		if (json != NULL)
			root = yajl_tree_parse(json, NULL, 0);
	}
	at = root != NULL ? oauth_string(root, "access_token") : NULL;
	if (hr->status != 200 || at == NULL) {
		oauth_error(root, hr->status, out);
		goto out;
	}
	rt = oauth_string(root, "refresh_token");
	out->access_token = strdup(at);
	out->refresh_token = rt != NULL ? strdup(rt) : NULL;
	{
		const char *p_in[] = { "expires_in", NULL };
		const char *p_ri[] = { "refresh_in", NULL };

		out->expires_in = oauth_number(yajl_tree_get(root, p_in, yajl_t_any));
		out->refresh_in = oauth_number(yajl_tree_get(root, p_ri, yajl_t_any));
	}
	if (out->access_token == NULL || (rt != NULL && out->refresh_token == NULL)) {
		auth_result_clear(out);
		out->error = WIRE_E_AUTH_FAILED;
		out->transient = 1;
		snprintf(out->message, sizeof(out->message), "out of memory");
		goto out;
	}
	out->ok = 1;
out:
	if (root != NULL) {
		/* The tree holds copies of the tokens: wipe them before yajl frees it. */
		for (size_t i = 0; YAJL_IS_OBJECT(root) && i < root->u.object.len; i++) {
			yajl_val v = root->u.object.values[i];

			if (YAJL_IS_STRING(v))
				explicit_bzero(v->u.string, strlen(v->u.string));
		}
		yajl_tree_free(root);
	}
	if (json != NULL) {
		explicit_bzero(json, strlen(json));
		free(json);
	}
}
