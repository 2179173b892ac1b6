/*
 * auth = password: the resource owner password grant (-Credential).
 * Microsoft discourages it and it cannot do MFA (entra-auth.md §3); an
 * account that needs MFA is told to use device code instead.
 */
#include "daemon/auth_method.h"

#include <stdio.h>
#include <string.h>

#include "common/sbuf.h"
#include "daemon/hint.h"
#include "daemon/http.h"
#include "daemon/oauth.h"
#include "daemon/secret.h"

static void password_done(void *arg, const struct http_result *hr)
{
	struct auth *a = arg;
	struct auth_result res;

	a->xfer = NULL;
	oauth_parse_response(hr, &res);
	if (!res.ok && res.error == WIRE_E_NEEDS_LOGIN) {
		size_t n = strlen(res.message);

		snprintf(res.message + n, sizeof(res.message) - n,
			 "; this account needs multi-factor or interactive sign-in, which the password "
			 "grant cannot do: use auth = device");
	}
	auth_finish(a, &res);
}

static int password_grant(struct auth *a, const struct sbuf *password, char *err, size_t errlen)
{
	struct sbuf *form = NULL;
	int rc = -1;

	if (oauth_form_add(&form, "client_id", a->client_id) < 0 ||
	    oauth_form_add(&form, "grant_type", "password") < 0 ||
	    oauth_form_add(&form, "username", a->conf->user_principal_name) < 0 ||
	    oauth_form_add(&form, "password", sbuf_str(password)) < 0 ||
	    oauth_form_add(&form, "scope", a->user_scope) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = oauth_post_to(a, a->token_url, form, password_done, err, errlen);
out:
	sbuf_free(form);
	return rc;
}

static int auth_password_start(struct auth *a, const char *claims, char *err, size_t errlen)
{
	struct auth_result res = { .error = WIRE_E_NEEDS_LOGIN };
	struct sbuf *password = NULL;
	char hint[HINT_MAX];
	int rc;

	if (a->refresh_token != NULL)
		return auth_refresh_grant(a, claims, err, errlen);
	if (a->conf->password_file == NULL) {
		snprintf(res.message, sizeof(res.message), "profile %s needs a sign-in: run %s",
			 a->conf->name, hint_login(a->conf, hint, sizeof(hint)));
		auth_finish(a, &res);
		return 0;
	}
	/* Read for each use and wiped at once: the password never stays in memory. */
	if (secret_read_file(a->conf->password_file, SECRET_MAX_SIZE, &password, err, errlen) < 0)
		return -1;
	rc = password_grant(a, password, err, errlen);
	sbuf_free(password);
	return rc;
}

static int auth_password_login(struct auth *a, const struct sbuf *password,
			       auth_progress_cb progress, void *progress_arg, char *err,
			       size_t errlen)
{
	(void)progress;
	(void)progress_arg;
	if (password == NULL || sbuf_len(password) == 0) {
		snprintf(err, errlen, "login --password needs the password");
		return -1;
	}
	return password_grant(a, password, err, errlen);
}

static int auth_password_init(struct auth *a, char *err, size_t errlen)
{
	if (a->conf->password_file != NULL &&
	    secret_check_file(a->conf->password_file, err, errlen) < 0) {
		conf_key_error(a->conf, "password_file", err, errlen);
		return -1;
	}
	return 0;
}

const struct auth_method auth_password_method = {
	.name = "password",
	.init = auth_password_init,
	.start = auth_password_start,
	.login = auth_password_login,
};
