/*
 * The inside of the sign-in subsystem (auth.c, auth_*.c, oauth.c): the
 * state every method sees, the method table, and the helpers methods
 * share.  Nothing outside those files includes this.
 */
#ifndef EXOD_AUTH_METHOD_H
#define EXOD_AUTH_METHOD_H

#include "daemon/auth.h"

struct cloud;
struct event;
struct http_xfer;

struct auth_method {
	const char *name;
	int (*init)(struct auth *a, char *err, size_t errlen);
	/*
	 * Gets a token with no person involved.  The result goes to
	 * auth_finish.  A method that cannot proceed without a person
	 * finishes with WIRE_E_NEEDS_LOGIN.
	 */
	int (*start)(struct auth *a, const char *claims, char *err, size_t errlen);
	/* Interactive sign-in; NULL when the method has none. */
	int (*login)(struct auth *a, const struct sbuf *password, auth_progress_cb progress,
		     void *progress_arg, char *err, size_t errlen);
	/* Stops the method's own timers; the transfer is cancelled by auth_cancel. */
	void (*cancel)(struct auth *a);
	void (*cleanup)(struct auth *a);
};

struct auth {
	const struct auth_method *method;
	const struct conf_profile *conf;
	const struct cloud *cloud;
	struct http *http;
	struct event_base *base;
	char *authority;                /* https://login.microsoftonline.com (no tenant) */
	char *tenant;                   /* the token request's tenant segment */
	char *scope;                    /* https://outlook.office365.com/.default */
	char *user_scope;               /* delegated: scope plus offline_access openid profile */
	const char *client_id;          /* app_id, or the module's public client for delegated flows */
	char *token_url;                /* authority/tenant/oauth2/v2.0/token */
	struct http_xfer *xfer;         /* the request in flight, if any */
	const struct sbuf *refresh_token;  /* delegated flows: the current one (token.c owns it) */
	auth_done_cb done;
	void *done_arg;
	struct auth_result result;      /* finished, waiting for the event loop to deliver it */
	int result_pending;
	struct event *deliver;
	void *state;                    /* the method's own */
	auth_progress_cb progress;      /* the person waiting on a login, or NULL */
	void *progress_arg;
};

/*
 * For methods: the result, delivered to token.c from the event loop, never
 * inside the call that started the work.  res is moved (its tokens taken).
 */
void auth_finish(struct auth *a, struct auth_result *res);
/* Delegated methods: the refresh_token grant with a->refresh_token. */
int auth_refresh_grant(struct auth *a, const char *claims, char *err, size_t errlen);

extern const struct auth_method auth_certificate_method;
extern const struct auth_method auth_secret_method;
extern const struct auth_method auth_device_method;
extern const struct auth_method auth_password_method;
extern const struct auth_method auth_managed_identity_method;
extern const struct auth_method auth_access_token_method;

/* The browser sign-in (auth_browser.c): req's code, verifier and redirect_uri are sound. */
int auth_browser_check(const struct auth_login_req *req, char *err, size_t errlen);
/* Redeems req's code at the token endpoint; the result goes to auth_finish. */
int auth_browser_login(struct auth *a, const struct auth_login_req *req, char *err, size_t errlen);

#endif
