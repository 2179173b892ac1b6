/*
 * Sign-in methods behind one small interface: a method loads its
 * credentials once (init), and gets a token on request (start), calling
 * back exactly once unless cancelled.  Methods know nothing of clients.
 */
#ifndef EXOD_AUTH_H
#define EXOD_AUTH_H

#include <stddef.h>

#include "common/conf.h"
#include "common/wire.h"

struct http;
struct http_xfer;
struct cloud;

#define AUTH_MAX_MESSAGE 512

struct auth_result {
	int ok;
	enum wire_error error;          /* when !ok: AuthFailed, NeedsLogin, Timeout, ... */
	int transient;                  /* when !ok: worth retrying by itself */
	long retry_after;               /* seconds, 0 when the server said nothing */
	char message[AUTH_MAX_MESSAGE]; /* for the client and the log; never a secret */
	char oauth_error[64];           /* the token endpoint's "error" word, "" if none */
	char *access_token;             /* when ok; owned by the result, wiped on clear */
	char *refresh_token;            /* delegated flows; NULL otherwise */
	long expires_in;                /* seconds, from the moment the request was sent */
	long refresh_in;                /* seconds, 0 when the server sent none */
};

void auth_result_clear(struct auth_result *r);

struct auth;
typedef void (*auth_done_cb)(void *arg, struct auth_result *res);

/* What a person needs to finish a device-code sign-in. */
struct auth_login_info {
	const char *verification_uri;
	const char *user_code;
	const char *message;            /* Entra's own instructions */
	long expires_in;
};
typedef void (*auth_progress_cb)(void *arg, const struct auth_login_info *info);

struct auth_method {
	const char *name;
	int (*init)(struct auth *a, char *err, size_t errlen);
	/*
	 * Gets a token with no person involved (credentials, or a->refresh_token).
	 * claims: a CAE claims challenge to pass on, or NULL.  The result goes to
	 * auth_finish, possibly before start returns.  A method that cannot
	 * proceed without a person finishes with WIRE_E_NEEDS_LOGIN.
	 */
	int (*start)(struct auth *a, const char *claims, char *err, size_t errlen);
	/*
	 * Interactive sign-in (exoctl login); NULL when the method has none.
	 * password: typed by the user for auth = password, else NULL.  Device
	 * code instructions go to progress as soon as they are known; the
	 * result goes to auth_finish like start's.
	 */
	int (*login)(struct auth *a, const char *password, auth_progress_cb progress,
		     void *progress_arg, char *err, size_t errlen);
	void (*cleanup)(struct auth *a);
};

/* What every method sees of its profile. */
struct auth {
	const struct auth_method *method;
	const struct conf_profile *conf;
	const struct cloud *cloud;
	struct http *http;
	char *authority;                /* https://login.microsoftonline.com (no tenant) */
	char *tenant;                   /* the token request's tenant segment */
	char *scope;                    /* https://outlook.office365.com/.default */
	char *user_scope;               /* delegated: scope plus offline_access openid profile */
	const char *client_id;          /* app_id, or the module's public client for delegated flows */
	char *token_url;                /* authority/tenant/oauth2/v2.0/token */
	struct http_xfer *xfer;         /* the request in flight, if any */
	const char *refresh_token;      /* delegated flows: the current one (token.c owns it), or NULL */
	struct event_base *base;        /* for methods that poll or retry on a timer */
	auth_done_cb done;
	void *done_arg;
	void *state;                    /* the method's own */
	void (*cancel_hook)(struct auth *a);  /* a method's own cancel (timers), or NULL */
	auth_progress_cb progress;      /* the person waiting on a login, or NULL */
	void *progress_arg;
};

/* Sets up a->method for conf->auth and runs its init.  Errors name the profile. */
int auth_init(struct auth *a, struct event_base *base, const struct conf_profile *conf,
	      struct http *http, auth_done_cb done, void *done_arg, char *err, size_t errlen);
int auth_start(struct auth *a, const char *claims, char *err, size_t errlen);
int auth_login(struct auth *a, const char *password, auth_progress_cb progress,
	       void *progress_arg, char *err, size_t errlen);
/* Drops the request in flight (and any timer of the method); done is not called for it. */
void auth_cancel(struct auth *a);
void auth_cleanup(struct auth *a);
/* For methods: deliver the result (once) and forget the transfer. */
void auth_finish(struct auth *a, struct auth_result *res);

/*
 * For delegated methods (auth_delegated.c): the refresh_token grant with
 * a->refresh_token, and the scope they ask for (resource/.default
 * offline_access openid profile).
 */
int auth_refresh_grant(struct auth *a, const char *claims, char *err, size_t errlen);
const char *auth_delegated_scope(struct auth *a);

extern const struct auth_method auth_certificate_method;
extern const struct auth_method auth_secret_method;
extern const struct auth_method auth_device_method;
extern const struct auth_method auth_password_method;
extern const struct auth_method auth_managed_identity_method;
extern const struct auth_method auth_access_token_method;

#endif
