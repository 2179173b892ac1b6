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
	char *access_token;             /* when ok; owned by the result, wiped on clear */
	char *refresh_token;            /* delegated flows; NULL otherwise */
	long expires_in;                /* seconds, from the moment the request was sent */
	long refresh_in;                /* seconds, 0 when the server sent none */
};

void auth_result_clear(struct auth_result *r);

struct auth;
typedef void (*auth_done_cb)(void *arg, struct auth_result *res);

struct auth_method {
	const char *name;
	int (*init)(struct auth *a, char *err, size_t errlen);
	/* claims: a CAE claims challenge to pass on, or NULL. */
	int (*start)(struct auth *a, const char *claims, char *err, size_t errlen);
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
	char *token_url;                /* authority/tenant/oauth2/v2.0/token */
	struct http_xfer *xfer;         /* the request in flight, if any */
	auth_done_cb done;
	void *done_arg;
	void *state;                    /* the method's own */
};

/* Sets up a->method for conf->auth and runs its init.  Errors name the profile. */
int auth_init(struct auth *a, const struct conf_profile *conf, struct http *http,
	      auth_done_cb done, void *done_arg, char *err, size_t errlen);
int auth_start(struct auth *a, const char *claims, char *err, size_t errlen);
/* Drops the request in flight; done is not called for it. */
void auth_cancel(struct auth *a);
void auth_cleanup(struct auth *a);
/* For methods: deliver the result (once) and forget the transfer. */
void auth_finish(struct auth *a, struct auth_result *res);

extern const struct auth_method auth_certificate_method;
extern const struct auth_method auth_secret_method;

#endif
