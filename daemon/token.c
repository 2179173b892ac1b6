/* Token lifecycle: proactive refresh, single flight, backoff, waiters. */
#include "daemon/token.h"

#include <assert.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "daemon/auth.h"
#include "daemon/cache.h"
#include "daemon/clock.h"
#include "daemon/hint.h"
#include "daemon/jwt.h"
#include "daemon/rnd.h"

/* What the token is doing to get a token; token_set_fetch is the only writer. */
enum token_fetch {
	TOKEN_FETCH_IDLE,               /* nothing runs; the timer may hold the next attempt */
	TOKEN_FETCH_RUNNING,            /* the sign-in method is getting a token */
	TOKEN_FETCH_LOGIN,              /* an interactive sign-in (exoctl login) runs */
	TOKEN_FETCH_GATED,              /* waiting for the gate (token_gate_go) before it runs */
};

struct token_wait {
	struct token *t;
	token_cb cb;
	void *arg;
	int ready;                      /* on t->ready, with its outcome below */
	enum wire_error err;
	char message[AUTH_MAX_MESSAGE]; /* "" for success */
	TAILQ_ENTRY(token_wait) entry;
};

struct token {
	const struct conf_profile *conf;
	struct auth *auth;
	struct event *timer;            /* the next refresh or retry */
	struct sbuf *access;            /* the token in service, or NULL */
	unsigned gen;                   /* bumps with every new token */
	long long expires_at;           /* clock_ms() */
	long long sent_at;              /* when the request in flight was sent */
	enum token_fetch fetch;
	enum token_state state;
	int pending_restart;            /* a refresh was asked for while one was in flight */
	char *pending_claims;           /* ... and the claims challenge it should answer */
	unsigned failures;              /* consecutive, for backoff */
	unsigned rejections;            /* fresh tokens the service refused in a row */
	long long blocked_until;        /* after a refusal of the credentials: fail until then */
	long long rejected_until;       /* after repeated 401s: the next fetch waits until then */
	enum wire_error last_code;
	struct sbuf *refresh_token;     /* delegated sign-ins; persisted in state_dir */
	struct sbuf *cache_secret;      /* the key it is sealed under on disk; NULL: plain text */
	const char *state_dir;
	char upn[256];                  /* who signed in, from the token */
	char last_error[AUTH_MAX_MESSAGE];
	unsigned long long acquisitions;
	TAILQ_HEAD(, token_wait) waiters;
	TAILQ_HEAD(, token_wait) ready;  /* outcomes not yet delivered */
	struct event *deliver;          /* delivers them from the loop, never inside token_wait() */
	struct token_gate gate;         /* gate.begin NULL: none */
	int gate_held;                  /* begin was called, end not yet */
};

static void token_acquire(struct token *t, const char *claims);
static void token_fetch_start(struct token *t);
static void token_keep_claims(struct token *t, const char *claims);

static void token_set_fetch(struct token *t, enum token_fetch to)
{
	/* A fetch only starts from rest (or the gate); a login may take over a running fetch. */
	assert(to == TOKEN_FETCH_IDLE || to == TOKEN_FETCH_LOGIN || t->fetch == TOKEN_FETCH_IDLE ||
	       (to == TOKEN_FETCH_RUNNING && t->fetch == TOKEN_FETCH_GATED));
	t->fetch = to;
}

static void token_set_state(struct token *t, enum token_state to)
{
	/* Connected means a token is held, and only then. */
	assert((to == TOKEN_CONNECTED) == (t->access != NULL));
	t->state = to;
}

static void token_drop(struct token *t)
{
	sbuf_free(t->access);
	t->access = NULL;
}

static void token_arm(struct token *t, long long delay_ms)
{
	struct timeval tv = clock_tv(delay_ms);

	evtimer_add(t->timer, &tv);
}

/* How long a token may live before it is unusable: a margin short tokens can afford. */
static long long token_skew_ms(long lifetime_s)
{
	long long skew = (long long)lifetime_s * 100;   /* a tenth */

	return skew < TOKEN_MAX_SKEW * 1000LL ? skew : TOKEN_MAX_SKEW * 1000LL;
}

static void token_notify(struct token *t, enum wire_error err, const char *message)
{
	struct token_wait *w;

	if (TAILQ_EMPTY(&t->waiters))
		return;
	TAILQ_FOREACH(w, &t->waiters, entry) {
		w->ready = 1;
		w->err = err;
		snprintf(w->message, sizeof(w->message), "%s", message != NULL ? message : "");
	}
	TAILQ_CONCAT(&t->ready, &t->waiters, entry);
	event_active(t->deliver, EV_TIMEOUT, 0);
}

static void token_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct token *t = arg;
	struct token_wait *w;

	(void)fd;
	(void)what;
	/* Callbacks may add waiters or cancel others; take one at a time. */
	while ((w = TAILQ_FIRST(&t->ready)) != NULL) {
		const char *token = NULL;
		unsigned gen = 0;

		TAILQ_REMOVE(&t->ready, w, entry);
		if (w->err == WIRE_E_COUNT && (token = token_current(t, &gen)) == NULL) {
			/* Expired between the outcome and now: wait for the next one. */
			w->ready = 0;
			TAILQ_INSERT_TAIL(&t->waiters, w, entry);
			token_acquire(t, NULL);
			continue;
		}
		w->cb(w->arg, token, gen, w->err, w->err == WIRE_E_COUNT ? NULL : w->message);
		free(w);
	}
}

/* Called after failures was counted, so the first retry waits about TOKEN_BACKOFF_MIN_MS. */
static long long token_backoff_ms(const struct token *t, long retry_after)
{
	long long wait = rnd_backoff_ms(TOKEN_BACKOFF_MIN_MS, TOKEN_BACKOFF_MAX_MS,
					t->failures > 0 ? t->failures - 1 : 0);

	/* Never hotter than Retry-After. */
	return retry_after * 1000LL > wait ? retry_after * 1000LL : wait;
}

static int token_delegated(const struct token *t)
{
	return conf_auth_delegated(t->conf->auth);
}

static void token_cache_key(const struct token *t, struct cache_key *key)
{
	key->profile = t->conf->name;
	key->authority = auth_authority(t->auth);
	key->tenant = auth_tenant(t->auth);
	key->client_id = auth_client_id(t->auth);
	key->secret = t->cache_secret;
}

static void token_set_refresh(struct token *t, struct sbuf *rt)
{
	sbuf_free(t->refresh_token);
	t->refresh_token = rt;
	auth_set_refresh_token(t->auth, rt);
}

/* Rotated refresh tokens replace the saved one at once, or a restart would use a spent one. */
static void token_keep_refresh(struct token *t, struct auth_result *res)
{
	struct cache_key key;
	char err[512];

	if (res->refresh_token == NULL || !token_delegated(t))
		return;
	token_set_refresh(t, res->refresh_token);
	res->refresh_token = NULL;
	token_cache_key(t, &key);
	if (cache_store(t->state_dir, &key, sbuf_str(t->refresh_token), t->upn[0] ? t->upn : NULL,
			err, sizeof(err)) < 0)
		log_err("profile %s: cannot save the sign-in: %s", t->conf->name, err);
}

static void token_forget_refresh(struct token *t)
{
	char err[512];

	if (!token_delegated(t))
		return;
	token_set_refresh(t, NULL);
	if (cache_remove(t->state_dir, t->conf->name, t->cache_secret, err, sizeof(err)) < 0)
		log_err("profile %s: %s", t->conf->name, err);
}

/* A saved sign-in that could not be read: said once, with what the person can do. */
static void token_lost_refresh(const struct token *t, const char *why)
{
	char hint[HINT_MAX];

	/* A password profile with password_file signs in again by itself. */
	if (t->conf->auth == CONF_AUTH_PASSWORD && t->conf->password_file != NULL)
		log_err("profile %s: %s", t->conf->name, why);
	else
		log_err("profile %s: %s; sign in again: %s", t->conf->name, why,
			hint_login(t->conf, hint, sizeof(hint)));
}

static void token_load_refresh(struct token *t)
{
	char err[1024], upn[sizeof(t->upn)];
	struct cache_key key;
	struct sbuf *rt = NULL;
	int rc;

	token_cache_key(t, &key);
	rc = cache_load(t->state_dir, &key, &rt, upn, sizeof(upn), err, sizeof(err));
	if (rc < 0) {
		token_lost_refresh(t, err);
		return;
	}
	if (rc == 1)
		return;
	if (rc == CACHE_MIGRATED)
		log_msg(LOG_NOTICE, "profile %s: %s", t->conf->name, err);
	else if (rc == CACHE_UNMIGRATED)
		log_warn("profile %s: %s", t->conf->name, err);
	if (upn[0] != '\0')
		memcpy(t->upn, upn, sizeof(t->upn));
	log_info("profile %s: resuming the saved sign-in%s%s", t->conf->name,
		 t->upn[0] ? " of " : "", t->upn);
	token_set_refresh(t, rt);
}

/* The delegated profile's cache key, read once: its file may be a credential gone after start. */
static int token_load_secret(struct token *t, char *err, size_t errlen)
{
	if (cache_secret_load(t->conf, &t->cache_secret, err, errlen) < 0)
		return -1;
	if (t->cache_secret == NULL)
		log_warn("profile %s: cache_encryption = off: its refresh token is kept in plain "
			 "text in %s", t->conf->name, t->state_dir);
	return 0;
}

/* The refresh token sealed for the gate, or NULL (none, or it cannot be sealed: logged). */
static struct sbuf *token_seal(struct token *t)
{
	struct cache_key key;
	struct sbuf *sealed = NULL;
	char err[512];

	if (t->refresh_token == NULL)
		return NULL;
	token_cache_key(t, &key);
	if (cache_seal_blob(&key, sbuf_str(t->refresh_token), t->upn[0] ? t->upn : NULL, &sealed,
			    err, sizeof(err)) < 0)
		log_err("profile %s: cannot share the sign-in: %s", t->conf->name, err);
	return sealed;
}

/* Gives the gate back, with the sign-in when there is news of it (a fetch, or a login). */
static void token_gate_end(struct token *t, int ok, int login)
{
	struct sbuf *sealed;

	if (t->gate.begin == NULL || (!t->gate_held && !login))
		return;
	t->gate_held = 0;
	sealed = ok ? token_seal(t) : NULL;
	if (!login || sealed != NULL)
		t->gate.end(t->gate.arg, sealed != NULL ? sbuf_ptr(sealed) : NULL,
			    sealed != NULL ? sbuf_len(sealed) : 0, login);
	sbuf_free(sealed);
}

static void token_take(struct token *t, struct auth_result *res)
{
	long lifetime = res->expires_in > 0 ? res->expires_in : TOKEN_DEFAULT_LIFETIME;
	long long lead = (long long)t->conf->refresh_margin * 1000;
	long long refresh_at;
	struct jwt_info info;

	token_drop(t);
	t->access = res->access_token;
	res->access_token = NULL;
	t->blocked_until = 0;
	if (jwt_peek(sbuf_str(t->access), &info) == 0 && info.upn[0] != '\0')
		snprintf(t->upn, sizeof(t->upn), "%s", info.upn);
	token_keep_refresh(t, res);
	t->gen++;
	t->acquisitions++;
	t->failures = 0;
	token_set_state(t, TOKEN_CONNECTED);
	t->last_error[0] = '\0';
	t->expires_at = t->sent_at + lifetime * 1000LL;
	/* Refresh at the earlier of refresh_in and expiry minus the margin; short tokens at half-life. */
	if (lead > lifetime * 500LL)
		lead = lifetime * 500LL;
	refresh_at = t->expires_at - lead;
	if (res->refresh_in > 0 && t->sent_at + res->refresh_in * 1000LL < refresh_at)
		refresh_at = t->sent_at + res->refresh_in * 1000LL;
	token_arm(t, refresh_at - clock_ms());
	log_info("profile %s: token acquired, expires in %ld s", t->conf->name, lifetime);
}

static void token_failed(struct token *t, struct auth_result *res)
{
	int valid = token_current(t, NULL) != NULL;

	t->failures++;
	snprintf(t->last_error, sizeof(t->last_error), "%s", res->message);
	log_warn("profile %s: sign-in failed: %s", t->conf->name, res->message);
	if (!valid) {
		token_drop(t);
		token_set_state(t, res->error == WIRE_E_NEEDS_LOGIN ? TOKEN_NEEDS_LOGIN : TOKEN_ERROR);
	}
	if (res->error == WIRE_E_NEEDS_LOGIN && t->refresh_token != NULL)
		token_forget_refresh(t);
	t->last_code = res->error;
	/*
	 * A wrong password tried again and again locks the account: wait for a
	 * person.  Other refusals are not asked again for a while, so that a
	 * stream of requests does not hammer Entra (AADSTS50196, loop detection).
	 */
	if (t->conf->auth == CONF_AUTH_ACCESS_TOKEN)
		t->blocked_until = 0;   /* a local file: read again whenever asked */
	else if (!res->transient && (res->error == WIRE_E_NEEDS_LOGIN || token_delegated(t)))
		t->blocked_until = LLONG_MAX;
	else if (!res->transient)
		t->blocked_until = clock_ms() + TOKEN_REFUSED_HOLD_S * 1000LL;
	/*
	 * Keep retrying in the background while a token is still in service, or
	 * the failure passes; never before a refusal's hold ends, and not at all
	 * when only a person can help.
	 */
	if ((valid || res->transient) && t->blocked_until != LLONG_MAX) {
		long long wait = token_backoff_ms(t, res->retry_after);
		long long hold = t->blocked_until - clock_ms();

		token_arm(t, hold > wait ? hold : wait);
	}
}

static void token_done(void *arg, struct auth_result *res)
{
	struct token *t = arg;
	int login = t->fetch == TOKEN_FETCH_LOGIN;

	token_set_fetch(t, TOKEN_FETCH_IDLE);
	if (res->ok)
		token_take(t, res);
	else
		token_failed(t, res);
	token_gate_end(t, res->ok, login && res->ok);
	if (res->ok)
		token_notify(t, WIRE_E_COUNT, NULL);
	else
		token_notify(t, res->error, t->last_error);
	if (t->pending_restart) {
		t->pending_restart = 0;
		t->blocked_until = 0;
		token_acquire(t, NULL);
	}
}

/*
 * Starts a fetch unless one runs or a hold forbids it.  A claims challenge
 * is kept until a fetch starts, whichever path starts it.
 */
static void token_acquire(struct token *t, const char *claims)
{
	long long now = clock_ms();

	if (claims != NULL)
		token_keep_claims(t, claims);
	if (t->fetch != TOKEN_FETCH_IDLE)
		return;
	if (t->blocked_until > now) {
		token_notify(t, t->last_code, t->last_error);
		return;
	}
	if (t->rejected_until > now) {
		token_arm(t, t->rejected_until - now);
		return;
	}
	evtimer_del(t->timer);
	if (t->access == NULL)
		token_set_state(t, TOKEN_SIGNING_IN);
	/* A shared sign-in is refreshed by one host at a time, with the newest copy. */
	if (t->gate.begin != NULL) {
		token_set_fetch(t, TOKEN_FETCH_GATED);
		t->gate_held = 1;
		t->gate.begin(t->gate.arg);
		return;
	}
	token_fetch_start(t);
}

static void token_fetch_start(struct token *t)
{
	t->sent_at = clock_ms();
	token_set_fetch(t, TOKEN_FETCH_RUNNING);
	/* The method copies the claims into its request: they are spent. */
	auth_start(t->auth, t->pending_claims);
	token_keep_claims(t, NULL);
}

/* The claims challenge the next fetch must answer (a copy), replacing any older one. */
static void token_keep_claims(struct token *t, const char *claims)
{
	if (claims == t->pending_claims)
		return;
	free(t->pending_claims);
	t->pending_claims = claims != NULL ? strdup(claims) : NULL;
}

static void token_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	token_acquire(arg, NULL);
}

struct token *token_new(struct event_base *base, struct http *http,
			const struct conf_profile *conf, const char *state_dir,
			char *err, size_t errlen)
{
	struct token *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->conf = conf;
	t->state_dir = state_dir;
	TAILQ_INIT(&t->waiters);
	TAILQ_INIT(&t->ready);
	t->timer = evtimer_new(base, token_timer_cb, t);
	t->deliver = evtimer_new(base, token_deliver, t);
	if (t->timer == NULL || t->deliver == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->auth = auth_new(base, conf, http, token_done, t, err, errlen);
	if (t->auth == NULL)
		goto fail;
	if (token_delegated(t) && token_load_secret(t, err, errlen) < 0)
		goto fail;
	if (conf->user_principal_name != NULL && t->upn[0] == '\0')
		snprintf(t->upn, sizeof(t->upn), "%s", conf->user_principal_name);
	return t;
fail:
	token_free(t);
	return NULL;
}

void token_free(struct token *t)
{
	struct token_wait *w;

	if (t == NULL)
		return;
	while ((w = TAILQ_FIRST(&t->waiters)) != NULL) {
		TAILQ_REMOVE(&t->waiters, w, entry);
		free(w);
	}
	while ((w = TAILQ_FIRST(&t->ready)) != NULL) {
		TAILQ_REMOVE(&t->ready, w, entry);
		free(w);
	}
	auth_free(t->auth);
	if (t->timer != NULL)
		event_free(t->timer);
	if (t->deliver != NULL)
		event_free(t->deliver);
	token_drop(t);
	sbuf_free(t->refresh_token);
	sbuf_free(t->cache_secret);
	free(t->pending_claims);
	free(t);
}

/* The saved sign-in is read here, not in token_new, so that exod -t leaves state_dir alone. */
void token_start(struct token *t)
{
	if (token_delegated(t))
		token_load_refresh(t);
	token_acquire(t, NULL);
}

const char *token_current(struct token *t, unsigned *gen)
{
	if (t->access == NULL)
		return NULL;
	if (clock_ms() >= t->expires_at - token_skew_ms((long)((t->expires_at - t->sent_at) / 1000)))
		return NULL;
	if (gen != NULL)
		*gen = t->gen;
	return sbuf_str(t->access);
}

struct token_wait *token_wait(struct token *t, token_cb cb, void *arg)
{
	struct token_wait *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->t = t;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&t->waiters, w, entry);
	token_acquire(t, NULL);
	return w;
}

void token_wait_cancel(struct token_wait *w)
{
	if (w == NULL)
		return;
	if (w->ready)
		TAILQ_REMOVE(&w->t->ready, w, entry);
	else
		TAILQ_REMOVE(&w->t->waiters, w, entry);
	free(w);
}

void token_rejected(struct token *t, unsigned gen, const char *claims)
{
	long long now = clock_ms();

	if (gen != t->gen || t->access == NULL)
		return;         /* already replaced */
	t->rejections++;
	log_info("profile %s: Exchange refused the token (%u in a row); fetching a new one",
		 t->conf->name, t->rejections);
	token_drop(t);
	token_set_state(t, TOKEN_SIGNING_IN);
	/* The first refusal may be a revocation: fetch at once.  Refusals of fresh tokens back off. */
	if (t->rejections > 1)
		t->rejected_until = now + rnd_backoff_ms(TOKEN_BACKOFF_MIN_MS, TOKEN_REJECTED_MAX_MS,
							 t->rejections - 2);
	/* A fetch in flight may predate the revocation: go again after it (claims are kept). */
	if (t->fetch != TOKEN_FETCH_IDLE)
		t->pending_restart = 1;
	token_acquire(t, claims);
}

void token_accepted(struct token *t, unsigned gen)
{
	if (gen == t->gen) {
		t->rejections = 0;
		t->rejected_until = 0;
	}
}

/* Stops whatever runs to get a token; nothing it was doing will be delivered. */
static void token_stop_fetch(struct token *t)
{
	token_gate_end(t, 0, 0);
	auth_cancel(t->auth);
	token_set_fetch(t, TOKEN_FETCH_IDLE);
	t->pending_restart = 0;
	free(t->pending_claims);
	t->pending_claims = NULL;
	evtimer_del(t->timer);
}

void token_forget(struct token *t)
{
	token_stop_fetch(t);
	auth_login_detach(t->auth);
	token_drop(t);
	token_forget_refresh(t);
	token_set_state(t, token_delegated(t) ? TOKEN_NEEDS_LOGIN : TOKEN_SIGNING_IN);
	token_notify(t, WIRE_E_NEEDS_LOGIN, "signed out");
}

int token_login(struct token *t, const struct auth_login_req *req, auth_progress_cb progress,
		void *progress_arg, char *err, size_t errlen)
{
	if (!auth_has_login(t->auth))
		return auth_login(t->auth, req, progress, progress_arg, err, errlen);
	/* A person signing in overrides whatever runs or was given up. */
	token_stop_fetch(t);
	t->blocked_until = 0;
	t->rejected_until = 0;
	if (t->access == NULL)
		token_set_state(t, TOKEN_SIGNING_IN);
	t->sent_at = clock_ms();
	token_set_fetch(t, TOKEN_FETCH_LOGIN);
	if (auth_login(t->auth, req, progress, progress_arg, err, errlen) < 0) {
		token_set_fetch(t, TOKEN_FETCH_IDLE);
		return -1;
	}
	return 0;
}

char *token_authorize_url(const struct token *t)
{
	return auth_authorize_url(t->auth);
}

void token_login_detach(struct token *t)
{
	auth_login_detach(t->auth);
}

void token_set_conf(struct token *t, const struct conf_profile *conf, const char *state_dir)
{
	t->conf = conf;
	t->state_dir = state_dir;
	auth_set_conf(t->auth, conf);
}

int token_busy(const struct token *t)
{
	return t->fetch != TOKEN_FETCH_IDLE || !TAILQ_EMPTY(&t->waiters) || !TAILQ_EMPTY(&t->ready);
}

const char *token_identity(const struct token *t)
{
	return t->upn[0] ? t->upn : NULL;
}

void token_refresh_now(struct token *t)
{
	t->blocked_until = 0;
	t->rejected_until = 0;
	if (t->fetch != TOKEN_FETCH_IDLE) {
		t->pending_restart = 1;
		return;
	}
	token_acquire(t, NULL);
}

void token_set_gate(struct token *t, const struct token_gate *gate)
{
	if (gate != NULL)
		t->gate = *gate;
	else
		memset(&t->gate, 0, sizeof(t->gate));
}

/* A sign-in from the gate replaces this host's copy, on disk too; -1 when it does not open. */
static int token_adopt(struct token *t, const unsigned char *sealed, size_t len)
{
	char err[1024], upn[sizeof(t->upn)];
	struct cache_key key;
	struct sbuf *rt = NULL;
	int rc;

	token_cache_key(t, &key);
	rc = cache_open_blob(&key, sealed, len, "shared in the cluster", &rt, upn, sizeof(upn), err,
			     sizeof(err));
	if (rc != 0) {
		if (rc < 0)
			log_warn("profile %s: %s (every node needs the same cache_key_file key); "
				 "refreshing with this node's own", t->conf->name, err);
		else
			log_warn("profile %s: the sign-in shared in the cluster is another "
				 "application's or tenant's; refreshing with this node's own",
				 t->conf->name);
		return -1;
	}
	if (upn[0] != '\0')
		memcpy(t->upn, upn, sizeof(t->upn));
	token_set_refresh(t, rt);
	if (cache_store(t->state_dir, &key, sbuf_str(t->refresh_token), t->upn[0] ? t->upn : NULL,
			err, sizeof(err)) < 0)
		log_err("profile %s: cannot save the sign-in: %s", t->conf->name, err);
	return 0;
}

void token_gate_go(struct token *t, const unsigned char *sealed, size_t len)
{
	if (t->fetch != TOKEN_FETCH_GATED) {
		token_gate_end(t, 0, 0);        /* nothing waits for it any more */
		return;
	}
	if (sealed != NULL && len > 0)
		token_adopt(t, sealed, len);
	token_set_fetch(t, TOKEN_FETCH_IDLE);
	token_fetch_start(t);
}

enum token_state token_state(const struct token *t)
{
	return t->state;
}

const char *token_state_name(enum token_state s)
{
	switch (s) {
	case TOKEN_SIGNING_IN:
		return "signing_in";
	case TOKEN_CONNECTED:
		return "connected";
	case TOKEN_NEEDS_LOGIN:
		return "needs_login";
	case TOKEN_ERROR:
		return "error";
	}
	return "error";
}

long token_expires_in(const struct token *t)
{
	if (t->access == NULL)
		return -1;
	return (long)((t->expires_at - clock_ms()) / 1000);
}

const char *token_last_error(const struct token *t)
{
	return t->last_error[0] ? t->last_error : NULL;
}

unsigned long long token_acquisitions(const struct token *t)
{
	return t->acquisitions;
}
