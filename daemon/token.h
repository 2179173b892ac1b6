/*
 * A profile's token lifecycle: acquire, refresh ahead of expiry in the
 * background (one refresh at a time), back off on failure while the
 * current token stays in service, and hand the token to requests.
 */
#ifndef EXOD_TOKEN_H
#define EXOD_TOKEN_H

#include <stddef.h>

#include "common/conf.h"
#include "common/wire.h"

struct event_base;
struct http;
struct sbuf;
struct token;
struct token_wait;

#define TOKEN_DEFAULT_LIFETIME 3599     /* seconds, when the server names none */
#define TOKEN_MAX_SKEW 30               /* seconds: a token this close to expiry is not handed out */
#define TOKEN_BACKOFF_MIN_MS 1000
#define TOKEN_BACKOFF_MAX_MS 60000
#define TOKEN_REFUSED_HOLD_S 60         /* credentials refused: no new attempt for this long */
#define TOKEN_REJECTED_MAX_MS 60000     /* fresh tokens refused again and again: the longest wait */

enum token_state {
	TOKEN_SIGNING_IN,               /* no token yet, one is being fetched */
	TOKEN_CONNECTED,                /* a valid token is held */
	TOKEN_NEEDS_LOGIN,              /* an interactive sign-in is needed */
	TOKEN_ERROR,                    /* the last attempt failed and no token is held */
};

/* err is NULL on success; token is valid until the callback returns. */
typedef void (*token_cb)(void *arg, const char *token, unsigned gen,
			 enum wire_error err, const char *message);

struct token *token_new(struct event_base *base, struct http *http,
			const struct conf_profile *conf, const char *state_dir,
			char *err, size_t errlen);
void token_free(struct token *t);
/* Starts the first acquisition (at daemon start, for methods that need no person). */
void token_start(struct token *t);

/* The valid token and its generation, or NULL. */
const char *token_current(struct token *t, unsigned *gen);
/* Calls cb once a token is held or acquisition fails; starts one if none is running. */
struct token_wait *token_wait(struct token *t, token_cb cb, void *arg);
void token_wait_cancel(struct token_wait *w);
/*
 * The service refused generation gen (HTTP 401): drop it and fetch
 * another.  When it keeps refusing fresh tokens, each new fetch waits
 * longer (up to TOKEN_REJECTED_MAX_MS), so a service that answers every
 * token with 401 does not get a token request for every run.
 */
void token_rejected(struct token *t, unsigned gen, const char *claims);
/* The service took generation gen: the refusals are over. */
void token_accepted(struct token *t, unsigned gen);
/*
 * Interactive sign-in (exoctl login): device code instructions go to
 * progress; the outcome reaches token_wait callers.  -1 when the method
 * has no login or it cannot start.
 */
struct auth_login_info;
struct auth_login_req;
int token_login(struct token *t, const struct auth_login_req *req,
		void (*progress)(void *arg, const struct auth_login_info *info),
		void *progress_arg, char *err, size_t errlen);
/* The browser sign-in's authorize URL (auth_authorize_url); malloc'd, NULL when out of memory. */
char *token_authorize_url(const struct token *t);
/* The person who asked for the login left: no more progress for them. */
void token_login_detach(struct token *t);
/*
 * Reload: the same settings now live in another struct conf.  Only for a
 * conf_profile_equal() profile: nothing is signed in again.
 */
void token_set_conf(struct token *t, const struct conf_profile *conf, const char *state_dir);
/* 1 while a sign-in runs or someone waits for a token. */
int token_busy(const struct token *t);
/* The signed-in user (upn claim or user_principal_name), or NULL. */
const char *token_identity(const struct token *t);
/* Drops every token of the profile, and a saved sign-in (exoctl logout). */
void token_forget(struct token *t);
/* Forces a refresh now (exoctl refresh). */
void token_refresh_now(struct token *t);

/*
 * A gate for a delegated profile whose sign-in is shared with other hosts
 * (cluster.h).  Before each fetch that uses the refresh token, begin is
 * called and the fetch waits for token_gate_go; after it, end gives the
 * gate back with the rotated sign-in sealed under cache_key_file (NULL
 * when there is none).  After an interactive sign-in, end is called with
 * login set and the new sign-in, with no begin before it.  Neither may
 * call back into the token before returning.
 */
struct token_gate {
	void (*begin)(void *arg);
	void (*end)(void *arg, const unsigned char *sealed, size_t len, int login);
	void *arg;
};
void token_set_gate(struct token *t, const struct token_gate *gate);
/*
 * The gate lets the fetch go, with the newest sign-in, sealed (NULL: keep
 * this host's own).  One that does not open is logged and ignored.
 */
void token_gate_go(struct token *t, const unsigned char *sealed, size_t len);

enum token_state token_state(const struct token *t);
const char *token_state_name(enum token_state s);
/* Seconds until the held token expires; -1 without one. */
long token_expires_in(const struct token *t);
const char *token_last_error(const struct token *t);   /* NULL when none */
unsigned long long token_acquisitions(const struct token *t);

#endif
