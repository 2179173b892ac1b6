/* auth = secret: the client credentials grant with a client secret read from a file. */
#include "daemon/auth_method.h"

#include <stdio.h>

#include "common/sbuf.h"
#include "daemon/oauth.h"
#include "daemon/secret.h"

static int auth_secret_init(struct auth *a, char *err, size_t errlen)
{
	struct sbuf *secret = NULL;

	if (secret_read_file(a->conf->client_secret_file, SECRET_MAX_SIZE, &secret, err,
			     errlen) < 0) {
		conf_key_error(a->conf, "client_secret_file", err, errlen);
		return -1;
	}
	a->state = secret;
	return 0;
}

static int auth_secret_start(struct auth *a, const char *claims, char *err, size_t errlen)
{
	const struct sbuf *secret = a->state;
	struct sbuf *form = NULL;
	int rc = -1;

	if (oauth_form_client_credentials(a, claims, &form) < 0 ||
	    oauth_form_add(&form, "client_secret", sbuf_str(secret)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = oauth_post(a, form, err, errlen);
out:
	sbuf_free(form);
	return rc;
}

static void auth_secret_cleanup(struct auth *a)
{
	sbuf_free(a->state);
	a->state = NULL;
}

const struct auth_method auth_secret_method = {
	.name = "secret",
	.init = auth_secret_init,
	.start = auth_secret_start,
	.cleanup = auth_secret_cleanup,
};
