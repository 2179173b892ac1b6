/* auth = certificate: the client credentials grant with a signed JWT client assertion. */
#include "daemon/auth_method.h"

#include <stdio.h>
#include <time.h>

#include "common/sbuf.h"
#include "daemon/cert.h"
#include "daemon/jwt.h"
#include "daemon/oauth.h"
#include "daemon/secret.h"

static int auth_certificate_init(struct auth *a, char *err, size_t errlen)
{
	const struct conf_profile *c = a->conf;
	struct cert_cred *cred = NULL;
	struct sbuf *password = NULL;
	const char *pw = NULL;
	int rc;

	if (c->certificate_password_file != NULL) {
		if (secret_read_file(c->certificate_password_file, SECRET_MAX_SIZE, &password, err,
				     errlen) < 0) {
			conf_key_error(c, "certificate_password_file", err, errlen);
			return -1;
		}
		pw = sbuf_str(password);
	}
	if (c->certificate_thumbprint != NULL)
		rc = cert_load_thumbprint(c->certificate_store, c->certificate_thumbprint, pw, &cred,
					  err, errlen);
	else
		rc = cert_load_file(c->certificate_file, c->certificate_key_file, pw, &cred, err,
				    errlen);
	sbuf_free(password);
	if (rc < 0) {
		/* A key file that will not open was named by profile_check_paths already. */
		conf_key_error(c, c->certificate_thumbprint != NULL ? "certificate_thumbprint" :
			       "certificate_file", err, errlen);
		return -1;
	}
	a->state = cred;
	return 0;
}

static int auth_certificate_start(struct auth *a, const char *claims, char *err, size_t errlen)
{
	struct sbuf *assertion = NULL, *form = NULL;
	int rc = -1;

	/* A fresh assertion every time: Entra rejects a reused jti. */
	if (jwt_client_assertion(a->state, a->conf->assertion_algorithm, a->conf->app_id,
				 a->token_url, time(NULL), &assertion, err, errlen) < 0)
		return -1;
	if (oauth_form_client_credentials(a, claims, &form) < 0 ||
	    oauth_form_add(&form, "client_assertion_type",
			   "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") < 0 ||
	    oauth_form_add(&form, "client_assertion", sbuf_str(assertion)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = oauth_post(a, form, err, errlen);
out:
	sbuf_free(form);
	sbuf_free(assertion);
	return rc;
}

static void auth_certificate_cleanup(struct auth *a)
{
	cert_free(a->state);
	a->state = NULL;
}

const struct auth_method auth_certificate_method = {
	.name = "certificate",
	.init = auth_certificate_init,
	.start = auth_certificate_start,
	.cleanup = auth_certificate_cleanup,
};
