/* auth = secret: the client credentials grant with a client secret read from a file. */
#include "daemon/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/oauth.h"
#include "daemon/secret.h"

struct auth_secret {
	char *secret;
	size_t len;
};

static int auth_secret_init(struct auth *a, char *err, size_t errlen)
{
	struct auth_secret *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (secret_read_file(a->conf->client_secret_file, SECRET_MAX_SIZE, &s->secret, &s->len,
			     err, errlen) < 0) {
		free(s);
		return -1;
	}
	a->state = s;
	return 0;
}

static int auth_secret_start(struct auth *a, const char *claims, char *err, size_t errlen)
{
	struct auth_secret *s = a->state;
	char *form = NULL;
	int rc = -1;

	if (oauth_form_client_credentials(a, claims, &form) < 0 ||
	    oauth_form_add(&form, "client_secret", s->secret) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = oauth_post(a, form, err, errlen);
out:
	oauth_form_free(form);
	return rc;
}

static void auth_secret_cleanup(struct auth *a)
{
	struct auth_secret *s = a->state;

	if (s == NULL)
		return;
	secret_free(s->secret, s->len);
	free(s);
	a->state = NULL;
}

const struct auth_method auth_secret_method = {
	.name = "secret",
	.init = auth_secret_init,
	.start = auth_secret_start,
	.cleanup = auth_secret_cleanup,
};
