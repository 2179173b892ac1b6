/* What the delegated sign-ins (device code, password) share: the refresh token grant. */
#include "daemon/auth_method.h"

#include <stdio.h>
#include <string.h>

#include "common/sbuf.h"
#include "daemon/hint.h"
#include "daemon/http.h"
#include "daemon/oauth.h"

static void auth_refresh_done(void *arg, const struct http_result *hr)
{
	struct auth *a = arg;
	struct auth_result res;

	a->xfer = NULL;
	oauth_parse_response(hr, &res);
	/* A refused refresh token is dead (expired, revoked, password changed): a person must sign in. */
	if (!res.ok && strcmp(res.oauth_error, "invalid_grant") == 0) {
		size_t n = strlen(res.message);
		char hint[HINT_MAX];

		res.error = WIRE_E_NEEDS_LOGIN;
		snprintf(res.message + n, sizeof(res.message) - n,
			 "; the saved sign-in is no longer valid: run %s",
			 hint_login(a->conf, hint, sizeof(hint)));
	}
	auth_finish(a, &res);
}

int auth_refresh_grant(struct auth *a, const char *claims, char *err, size_t errlen)
{
	struct sbuf *form = NULL;
	int rc = -1;

	if (oauth_form_add(&form, "client_id", a->client_id) < 0 ||
	    oauth_form_add(&form, "grant_type", "refresh_token") < 0 ||
	    oauth_form_add(&form, "refresh_token", sbuf_str(a->refresh_token)) < 0 ||
	    oauth_form_add(&form, "scope", a->user_scope) < 0 ||
	    (claims != NULL && oauth_form_add(&form, "claims", claims) < 0)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = oauth_post_to(a, a->token_url, form, auth_refresh_done, err, errlen);
out:
	sbuf_free(form);
	return rc;
}
