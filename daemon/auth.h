/*
 * Sign-in methods behind one small interface, for token.c: a method loads
 * its credentials once (auth_new), and gets a token on request
 * (auth_start), delivering the result exactly once through the event loop
 * unless cancelled.  Methods know nothing of clients; their internals are
 * in auth_method.h.
 */
#ifndef EXOD_AUTH_H
#define EXOD_AUTH_H

#include <stddef.h>

#include "common/conf.h"
#include "common/wire.h"

struct event_base;
struct http;
struct sbuf;
struct auth;

#define AUTH_MAX_MESSAGE 512

struct auth_result {
	int ok;
	enum wire_error error;          /* when !ok: AuthFailed, NeedsLogin, Timeout, ... */
	int transient;                  /* when !ok: worth retrying by itself */
	long retry_after;               /* seconds, 0 when the server said nothing */
	char message[AUTH_MAX_MESSAGE]; /* for the client and the log; never a secret */
	char oauth_error[64];           /* the token endpoint's "error" word, "" if none */
	struct sbuf *access_token;      /* when ok; owned by the result, wiped on clear */
	struct sbuf *refresh_token;     /* delegated flows; NULL otherwise */
	long expires_in;                /* seconds, from the moment the request was sent */
	long refresh_in;                /* seconds, 0 when the server sent none */
};

void auth_result_clear(struct auth_result *r);

typedef void (*auth_done_cb)(void *arg, struct auth_result *res);

/* What a person needs to finish a device-code sign-in. */
struct auth_login_info {
	const char *verification_uri;
	const char *user_code;
	const char *message;            /* Entra's own instructions */
	long expires_in;
};
typedef void (*auth_progress_cb)(void *arg, const struct auth_login_info *info);

/* What a person's login brings (exoctl login); every pointer is borrowed, NULL when absent. */
struct auth_login_req {
	const char *method;             /* "device", "password", "browser", or NULL: the profile's own */
	const struct sbuf *password;    /* password: typed by the person */
	const struct sbuf *code;        /* browser: the authorization code the redirect carried */
	const struct sbuf *code_verifier;  /* browser: the PKCE verifier of the authorize URL */
	const char *redirect_uri;       /* browser: the loopback address the code was sent to */
};

/*
 * Sets up the method of conf->auth and loads its credentials; NULL with
 * a message naming the profile.  done receives every result; the result
 * (and the tokens in it) is the callee's to take or leave, and is cleared
 * after done returns.
 */
struct auth *auth_new(struct event_base *base, const struct conf_profile *conf, struct http *http,
		      auth_done_cb done, void *done_arg, char *err, size_t errlen);
void auth_free(struct auth *a);
/*
 * Gets a token with no person involved (credentials, or the refresh
 * token).  claims: a CAE claims challenge to pass on, or NULL.  The
 * result, failures to start included, reaches done from the event loop.
 */
void auth_start(struct auth *a, const char *claims);
/* 1 when the method has an interactive sign-in (exoctl login). */
int auth_has_login(const struct auth *a);
/*
 * Interactive sign-in, as req says (checked by auth_login_check): device
 * code, whose instructions go to progress as soon as known; the password
 * grant; or redeeming a browser sign-in's code.
 */
int auth_login(struct auth *a, const struct auth_login_req *req, auth_progress_cb progress,
	       void *progress_arg, char *err, size_t errlen);
/* The person waiting on a login left: no more progress for them. */
void auth_login_detach(struct auth *a);
/*
 * Whether the login req can sign the profile in; -1 with a message that
 * names the profile's method and the command that works, e.g. "profile
 * contoso signs in with device code: run 'exoctl login -p contoso'", or
 * what is wrong with a browser sign-in's code, verifier or redirect_uri
 * (a browser login with none of the three is the authorize step, fine).
 * Device and interactive profiles take both device code and the browser.
 */
int auth_login_check(const struct conf_profile *c, const struct auth_login_req *req, char *err,
		     size_t errlen);
/* 1 when a login with method (NULL: the profile's own) is a browser sign-in. */
int auth_login_is_browser(const struct conf_profile *c, const char *method);
/*
 * The browser sign-in's authorize URL for the profile (its authority,
 * tenant, client id, scopes and user): the client adds redirect_uri,
 * state, code_challenge and code_challenge_method.  malloc'd; NULL when
 * out of memory.
 */
char *auth_authorize_url(const struct auth *a);
/* What logging out of the profile does, for the person who asked (see token_forget). */
void auth_logout_message(const struct conf_profile *c, char *buf, size_t len);
/* Drops the request in flight, any timer of the method and an undelivered result. */
void auth_cancel(struct auth *a);
/* Delegated flows: the refresh token to use from now on (borrowed; NULL for none). */
void auth_set_refresh_token(struct auth *a, const struct sbuf *rt);
/* Reload: the same settings now live in another struct conf. */
void auth_set_conf(struct auth *a, const struct conf_profile *conf);

/* Who a refresh token belongs to, for the token cache. */
const char *auth_authority(const struct auth *a);
const char *auth_tenant(const struct auth *a);
const char *auth_client_id(const struct auth *a);

#endif
