/* Unit tests for daemon/token.c (fake sign-in, fake clock): waiters, refresh, rejections, holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "daemon/auth.h"
#include "daemon/token.h"
#include "tests/unit/fake_clock.h"

#define MAX_WAITERS 8

/* ---- the fake sign-in method (every auth_* call token.c makes) ---- */

struct fake_auth {
	auth_done_cb done;
	void *done_arg;
	int starts;                     /* auth_start calls */
	int running;                    /* a start not yet answered or cancelled */
	int cancels;
	int frees;
	int refresh_sets;
	char claims[256];               /* of the last start; "" for NULL */
	int in_done;                    /* inside done: a start from there is a chained one */
};

static struct fake_auth fa;
static char fake_auth_obj;              /* what auth_new hands out: only its address matters */

struct auth *__wrap_auth_new(struct event_base *base, const struct conf_profile *conf,
			     struct http *http, auth_done_cb done, void *done_arg, char *err,
			     size_t errlen);
void __wrap_auth_free(struct auth *a);
void __wrap_auth_start(struct auth *a, const char *claims);
int __wrap_auth_has_login(const struct auth *a);
int __wrap_auth_login(struct auth *a, const struct auth_login_req *req, auth_progress_cb progress,
		      void *progress_arg, char *err, size_t errlen);
void __wrap_auth_login_detach(struct auth *a);
void __wrap_auth_cancel(struct auth *a);
void __wrap_auth_set_refresh_token(struct auth *a, const struct sbuf *rt);
void __wrap_auth_set_conf(struct auth *a, const struct conf_profile *conf);
const char *__wrap_auth_authority(const struct auth *a);
const char *__wrap_auth_tenant(const struct auth *a);
const char *__wrap_auth_client_id(const struct auth *a);

struct auth *__wrap_auth_new(struct event_base *base, const struct conf_profile *conf,
			     struct http *http, auth_done_cb done, void *done_arg, char *err,
			     size_t errlen)
{
	(void)base;
	(void)conf;
	(void)http;
	(void)err;
	(void)errlen;
	fa.done = done;
	fa.done_arg = done_arg;
	return (struct auth *)&fake_auth_obj;
}

void __wrap_auth_free(struct auth *a)
{
	assert_ptr_equal(a, &fake_auth_obj);
	fa.frees++;
}

void __wrap_auth_start(struct auth *a, const char *claims)
{
	assert_ptr_equal(a, &fake_auth_obj);
	/* token.c runs one sign-in at a time. */
	assert_false(fa.running);
	fa.starts++;
	fa.running = 1;
	snprintf(fa.claims, sizeof(fa.claims), "%s", claims != NULL ? claims : "");
}

int __wrap_auth_has_login(const struct auth *a)
{
	(void)a;
	return 0;               /* auth = certificate */
}

int __wrap_auth_login(struct auth *a, const struct auth_login_req *req, auth_progress_cb progress,
		      void *progress_arg, char *err, size_t errlen)
{
	(void)a;
	(void)req;
	(void)progress;
	(void)progress_arg;
	snprintf(err, errlen, "no login for certificates");
	return -1;
}

void __wrap_auth_login_detach(struct auth *a)
{
	(void)a;
}

void __wrap_auth_cancel(struct auth *a)
{
	(void)a;
	fa.cancels++;
	fa.running = 0;         /* nothing it was doing will be delivered */
}

void __wrap_auth_set_refresh_token(struct auth *a, const struct sbuf *rt)
{
	(void)a;
	(void)rt;
	fa.refresh_sets++;
}

void __wrap_auth_set_conf(struct auth *a, const struct conf_profile *conf)
{
	(void)a;
	(void)conf;
}

const char *__wrap_auth_authority(const struct auth *a)
{
	(void)a;
	return "https://login.example";
}

const char *__wrap_auth_tenant(const struct auth *a)
{
	(void)a;
	return "contoso.example";
}

const char *__wrap_auth_client_id(const struct auth *a)
{
	(void)a;
	return "00000000-0000-0000-0000-000000000001";
}

/* Answers the sign-in in flight, as auth.c does from the loop; the result is cleared afterwards. */
static void deliver(struct auth_result *res)
{
	assert_true(fa.running);
	fa.running = 0;
	fa.in_done = 1;
	fa.done(fa.done_arg, res);
	fa.in_done = 0;
	sbuf_free(res->access_token);
	sbuf_free(res->refresh_token);
}

static void answer_token(const char *token, long expires_in, long refresh_in)
{
	struct auth_result res = { .ok = 1, .error = WIRE_E_COUNT };

	res.access_token = sbuf_dup_str(token);
	assert_non_null(res.access_token);
	res.expires_in = expires_in;
	res.refresh_in = refresh_in;
	deliver(&res);
}

static void answer_failure_after(enum wire_error e, int transient, long retry_after,
				 const char *message)
{
	struct auth_result res = { .ok = 0, .error = e, .transient = transient,
				   .retry_after = retry_after };

	snprintf(res.message, sizeof(res.message), "%s", message);
	deliver(&res);
}

static void answer_failure(enum wire_error e, int transient, const char *message)
{
	answer_failure_after(e, transient, 0, message);
}

/* ---- waiters ---- */

struct waiter {
	struct token_wait *w;
	int calls;
	int inside;                     /* called from inside a token_* call of the test */
	char token[64];                 /* "" when none */
	unsigned gen;
	enum wire_error err;
	char message[AUTH_MAX_MESSAGE]; /* "" when NULL */
};

struct fixture {
	struct event_base *base;
	struct conf_profile conf;
	struct token *t;
	struct waiter w[MAX_WAITERS];
	int in_call;
};

static struct fixture *fx;

static void on_token(void *arg, const char *token, unsigned gen, enum wire_error err,
		     const char *message)
{
	struct waiter *w = arg;

	w->calls++;
	w->inside |= fx->in_call;
	w->w = NULL;
	snprintf(w->token, sizeof(w->token), "%s", token != NULL ? token : "");
	w->gen = gen;
	w->err = err;
	snprintf(w->message, sizeof(w->message), "%s", message != NULL ? message : "");
	/* A token comes with no message; a failure with no token and a message. */
	assert_true((token != NULL) == (message == NULL));
}

static void wait_for(int i)
{
	fx->in_call = 1;
	fx->w[i].w = token_wait(fx->t, on_token, &fx->w[i]);
	fx->in_call = 0;
	assert_non_null(fx->w[i].w);
}

static int setup(void **state)
{
	char err[256];

	fake_clock_reset();
	memset(&fa, 0, sizeof(fa));
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->conf.name = "contoso";
	fx->conf.organization = "contoso.example";
	/* App-only: token.c keeps no sign-in on disk, so the state directory is never used. */
	fx->conf.auth = CONF_AUTH_CERTIFICATE;
	fx->conf.refresh_margin = 600;
	fx->t = token_new(fx->base, NULL, &fx->conf, "/nonexistent/exod-test", err, sizeof(err));
	assert_non_null(fx->t);
	*state = fx;
	return 0;
}

/* A delegated profile (auth = password): its sign-in belongs to a person. */
static int setup_delegated(void **state)
{
	char err[256];

	setup(state);
	token_free(fx->t);
	memset(&fa, 0, sizeof(fa));
	fx->conf.auth = CONF_AUTH_PASSWORD;
	fx->conf.user_principal_name = "admin@contoso.example";
	/* No refresh token is kept in this test: nothing is written to the state directory. */
	fx->conf.cache_encryption = 0;
	fx->t = token_new(fx->base, NULL, &fx->conf, "/nonexistent/exod-test", err, sizeof(err));
	assert_non_null(fx->t);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	token_free(fx->t);
	assert_int_equal(fa.frees, 1);
	event_base_free(fx->base);
	free(fx);
	fx = NULL;
	clock_fake(NULL);
	return 0;
}

static const char *current(unsigned *gen)
{
	return token_current(fx->t, gen);
}

/* Gets a first token (expiring in expires_in seconds) through a waiter. */
static void sign_in(const char *token, long expires_in)
{
	int starts = fa.starts;

	wait_for(MAX_WAITERS - 1);
	assert_int_equal(fa.starts, starts + 1);
	answer_token(token, expires_in, 0);
	fake_settle(fx->base);
	assert_string_equal(fx->w[MAX_WAITERS - 1].token, token);
	memset(&fx->w[MAX_WAITERS - 1], 0, sizeof(fx->w[0]));
}

/* ---- tests ---- */

static void test_wait_delivers_from_loop(void **state)
{
	unsigned gen = 0;

	(void)state;
	assert_int_equal(token_state(fx->t), TOKEN_SIGNING_IN);
	assert_null(current(NULL));
	wait_for(0);
	assert_int_equal(fa.starts, 1);
	assert_true(token_busy(fx->t));
	answer_token("tok-1", 3600, 0);
	/* The outcome is known, but the waiter hears of it from the loop. */
	assert_int_equal(fx->w[0].calls, 0);
	assert_int_equal(token_state(fx->t), TOKEN_CONNECTED);
	fake_settle(fx->base);
	assert_int_equal(fx->w[0].calls, 1);
	assert_false(fx->w[0].inside);
	assert_string_equal(fx->w[0].token, "tok-1");
	assert_int_equal(fx->w[0].gen, 1);
	assert_string_equal(current(&gen), "tok-1");
	assert_int_equal(gen, 1);
	assert_false(token_busy(fx->t));
	assert_int_equal(token_acquisitions(fx->t), 1);
	assert_int_equal(token_expires_in(fx->t), 3600);
	assert_null(token_last_error(fx->t));
}

static void test_single_flight(void **state)
{
	(void)state;
	wait_for(0);
	wait_for(1);
	token_start(fx->t);
	token_refresh_now(fx->t);       /* asked while one runs: it runs again afterwards */
	assert_int_equal(fa.starts, 1);
	answer_token("tok-1", 3600, 0);
	fake_settle(fx->base);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fx->w[i].calls, 1);
		assert_string_equal(fx->w[i].token, "tok-1");
		assert_int_equal(fx->w[i].gen, 1);
	}
	/* The refresh asked for during the fetch: exactly one more. */
	assert_int_equal(fa.starts, 2);
	answer_token("tok-2", 3600, 0);
	fake_settle(fx->base);
	assert_int_equal(fa.starts, 2);
	assert_string_equal(current(NULL), "tok-2");
	assert_int_equal(fx->w[0].calls, 1);
}

static void test_failure_notifies_all(void **state)
{
	(void)state;
	wait_for(0);
	wait_for(1);
	wait_for(2);
	token_wait_cancel(fx->w[2].w);
	fx->w[2].w = NULL;
	assert_int_equal(fa.starts, 1);
	answer_failure(WIRE_E_AUTH_FAILED, 1, "Entra ID: HTTP 503: temporarily_unavailable");
	assert_int_equal(fx->w[0].calls + fx->w[1].calls, 0);
	fake_settle(fx->base);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fx->w[i].calls, 1);
		assert_string_equal(fx->w[i].token, "");
		assert_int_equal(fx->w[i].err, WIRE_E_AUTH_FAILED);
		assert_string_equal(fx->w[i].message, "Entra ID: HTTP 503: temporarily_unavailable");
	}
	assert_int_equal(fx->w[2].calls, 0);
	assert_int_equal(token_state(fx->t), TOKEN_ERROR);
	assert_string_equal(token_last_error(fx->t), "Entra ID: HTTP 503: temporarily_unavailable");
	/* Transient: tried again in the background after about TOKEN_BACKOFF_MIN_MS. */
	assert_true(fake_next_timer_in() >= TOKEN_BACKOFF_MIN_MS / 2);
	assert_true(fake_next_timer_in() <= TOKEN_BACKOFF_MIN_MS);
	fake_advance(fx->base, TOKEN_BACKOFF_MIN_MS / 2 - 1);
	assert_int_equal(fa.starts, 1);
	fake_advance(fx->base, TOKEN_BACKOFF_MIN_MS / 2 + 1);
	assert_int_equal(fa.starts, 2);
	answer_token("tok-1", 3600, 0);
	fake_settle(fx->base);
	assert_int_equal(token_state(fx->t), TOKEN_CONNECTED);
	assert_int_equal(fx->w[0].calls, 1);
}

static void test_proactive_refresh(void **state)
{
	unsigned gen = 0;

	(void)state;
	sign_in("tok-1", 3600);
	/* expires_in 3600 and refresh_margin 600: refreshed 3000 s in. */
	assert_int_equal(fake_next_timer_in(), 3000 * 1000LL);
	fake_advance(fx->base, 3000 * 1000LL - 1);
	assert_int_equal(fa.starts, 1);
	fake_advance(fx->base, 1);
	assert_int_equal(fa.starts, 2);
	/* The old token stays in service while the new one is fetched. */
	assert_string_equal(current(&gen), "tok-1");
	assert_int_equal(gen, 1);
	assert_int_equal(token_state(fx->t), TOKEN_CONNECTED);
	answer_token("tok-2", 3600, 0);
	fake_settle(fx->base);
	assert_string_equal(current(&gen), "tok-2");
	assert_int_equal(gen, 2);
	assert_int_equal(token_acquisitions(fx->t), 2);
}

static void test_refresh_in_and_short_tokens(void **state)
{
	(void)state;
	wait_for(0);
	/* The server's refresh_in comes first when it is earlier than the margin. */
	answer_token("tok-1", 3600, 1800);
	fake_settle(fx->base);
	assert_int_equal(fake_next_timer_in(), 1800 * 1000LL);
	fake_advance(fx->base, 1800 * 1000LL);
	assert_int_equal(fa.starts, 2);
	/* A token shorter than twice the margin is refreshed at half-life. */
	answer_token("tok-2", 600, 0);
	fake_settle(fx->base);
	assert_int_equal(fake_next_timer_in(), 300 * 1000LL);
	fake_advance(fx->base, 300 * 1000LL);
	assert_int_equal(fa.starts, 3);
	answer_token("tok-3", 3600, 0);
}

static void test_failed_refresh_keeps_token(void **state)
{
	(void)state;
	sign_in("tok-1", 3600);
	fake_advance(fx->base, 3000 * 1000LL);
	assert_int_equal(fa.starts, 2);
	answer_failure(WIRE_E_AUTH_FAILED, 1, "token endpoint unreachable: timeout");
	fake_settle(fx->base);
	assert_string_equal(current(NULL), "tok-1");
	assert_int_equal(token_state(fx->t), TOKEN_CONNECTED);
	/* Retried in the background, backing off. */
	fake_advance(fx->base, TOKEN_BACKOFF_MIN_MS);
	assert_int_equal(fa.starts, 3);
	answer_token("tok-2", 3600, 0);
	fake_settle(fx->base);
	assert_string_equal(current(NULL), "tok-2");
}

static void test_expired_token_not_served(void **state)
{
	(void)state;
	sign_in("tok-1", 3600);
	/* Within TOKEN_MAX_SKEW of expiry a token is no longer handed out. */
	fake_now += (3600 - TOKEN_MAX_SKEW) * 1000LL - 1;
	assert_non_null(current(NULL));
	fake_now += 1;
	assert_null(current(NULL));
}

/* A short token loses a tenth of its life, not TOKEN_MAX_SKEW: a 100 s token is served for 90 s. */
static void test_short_token_skew(void **state)
{
	(void)state;
	sign_in("tok-1", 100);
	fake_now += 90 * 1000LL - 1;
	assert_non_null(current(NULL));
	fake_now += 1;
	assert_null(current(NULL));
}

/*
 * The lifetime counts from when the request was sent, not from when the
 * answer came: a slow token endpoint does not stretch the token.
 */
static void test_expiry_counts_from_request(void **state)
{
	(void)state;
	wait_for(0);
	fake_advance(fx->base, 20 * 1000LL);
	answer_token("tok-1", 3600, 0);
	fake_settle(fx->base);
	assert_string_equal(fx->w[0].token, "tok-1");
	assert_int_equal(token_expires_in(fx->t), 3580);
	/* Refreshed refresh_margin (600 s) before the real expiry: 3000 s after the request. */
	assert_int_equal(fake_next_timer_in(), 2980 * 1000LL);
	fake_now += (3600 - 20 - TOKEN_MAX_SKEW) * 1000LL - 1;
	assert_non_null(current(NULL));
	fake_now += 1;
	assert_null(current(NULL));
}

/* Transient failures back off longer each time (1, 2, 4 s, jittered); a success starts over. */
static void test_backoff_grows_then_resets(void **state)
{
	(void)state;
	wait_for(0);
	for (int i = 0; i < 3; i++) {
		long long cap = TOKEN_BACKOFF_MIN_MS << i, wait;

		answer_failure(WIRE_E_AUTH_FAILED, 1, "Entra ID: HTTP 503: temporarily_unavailable");
		fake_settle(fx->base);
		wait = fake_next_timer_in();
		assert_true(wait >= cap / 2 && wait <= cap);
		fake_advance(fx->base, wait - 1);
		assert_int_equal(fa.starts, i + 1);
		fake_advance(fx->base, 1);
		assert_int_equal(fa.starts, i + 2);
	}
	answer_token("tok-1", 3600, 0);
	fake_settle(fx->base);
	/* The proactive refresh fails: its first retry is a first one again, not a fourth. */
	fake_advance(fx->base, 3000 * 1000LL);
	assert_int_equal(fa.starts, 5);
	answer_failure(WIRE_E_AUTH_FAILED, 1, "Entra ID: HTTP 503: temporarily_unavailable");
	fake_settle(fx->base);
	assert_true(fake_next_timer_in() >= TOKEN_BACKOFF_MIN_MS / 2);
	assert_true(fake_next_timer_in() <= TOKEN_BACKOFF_MIN_MS);
	assert_string_equal(current(NULL), "tok-1");
}

/* The token endpoint's Retry-After holds the background retry back, when longer than the backoff. */
static void test_retry_after_from_token_endpoint(void **state)
{
	(void)state;
	wait_for(0);
	answer_failure_after(WIRE_E_AUTH_FAILED, 1, 30, "Entra ID: HTTP 429: throttled");
	fake_settle(fx->base);
	assert_int_equal(fx->w[0].err, WIRE_E_AUTH_FAILED);
	assert_int_equal(fake_next_timer_in(), 30 * 1000LL);
	fake_advance(fx->base, 30 * 1000LL - 1);
	assert_int_equal(fa.starts, 1);
	fake_advance(fx->base, 1);
	assert_int_equal(fa.starts, 2);
	answer_token("tok-1", 3600, 0);
}

/*
 * A delegated sign-in refused outright (a wrong password, a revoked grant)
 * is held until a person acts, not for TOKEN_REFUSED_HOLD_S: asking again
 * would lock the account.  A transient failure is still retried by itself.
 */
static void test_delegated_refusal_held(void **state)
{
	(void)state;
	wait_for(0);
	answer_failure(WIRE_E_AUTH_FAILED, 0, "Entra ID: HTTP 400: invalid_grant: AADSTS50126");
	fake_settle(fx->base);
	assert_int_equal(fx->w[0].err, WIRE_E_AUTH_FAILED);
	assert_int_equal(fake_next_timer_in(), -1);
	fake_advance(fx->base, 24 * 3600 * 1000LL);
	wait_for(1);
	fake_settle(fx->base);
	assert_int_equal(fa.starts, 1);
	assert_int_equal(fx->w[1].calls, 1);
	assert_int_equal(fx->w[1].err, WIRE_E_AUTH_FAILED);
	assert_string_equal(fx->w[1].message, "Entra ID: HTTP 400: invalid_grant: AADSTS50126");
	/* A person: exoctl refresh (or login) asks again. */
	token_refresh_now(fx->t);
	assert_int_equal(fa.starts, 2);
	answer_failure(WIRE_E_AUTH_FAILED, 1, "Entra ID: HTTP 503: temporarily_unavailable");
	fake_settle(fx->base);
	assert_true(fake_next_timer_in() > 0);
	fake_advance(fx->base, fake_next_timer_in());
	assert_int_equal(fa.starts, 3);
	answer_token("tok-1", 3600, 0);
	fake_settle(fx->base);
	assert_string_equal(current(NULL), "tok-1");
}

static void test_rejected_then_backoff(void **state)
{
	unsigned gen = 0;
	long long hold;

	(void)state;
	sign_in("tok-1", 3600);
	/* The first refusal may be a revocation: dropped, and fetched at once. */
	token_rejected(fx->t, 1, "{\"access_token\":{\"nbf\":{\"essential\":true}}}");
	assert_null(current(NULL));
	assert_int_equal(token_state(fx->t), TOKEN_SIGNING_IN);
	assert_int_equal(fa.starts, 2);
	assert_string_equal(fa.claims, "{\"access_token\":{\"nbf\":{\"essential\":true}}}");
	answer_token("tok-2", 3600, 0);
	fake_settle(fx->base);
	assert_string_equal(current(&gen), "tok-2");
	assert_int_equal(gen, 2);
	/* A refusal of an older generation changes nothing. */
	token_rejected(fx->t, 1, NULL);
	assert_string_equal(current(NULL), "tok-2");
	assert_int_equal(fa.starts, 2);
	/* The fresh token is refused too: the next fetch waits. */
	token_rejected(fx->t, 2, NULL);
	assert_null(current(NULL));
	assert_int_equal(fa.starts, 2);
	hold = fake_next_timer_in();
	assert_true(hold >= TOKEN_BACKOFF_MIN_MS / 2 && hold <= TOKEN_BACKOFF_MIN_MS);
	/* A request asking meanwhile does not bring it forward. */
	wait_for(0);
	assert_int_equal(fa.starts, 2);
	assert_int_equal(fx->w[0].calls, 0);
	fake_advance(fx->base, hold - 1);
	assert_int_equal(fa.starts, 2);
	fake_advance(fx->base, 1);
	assert_int_equal(fa.starts, 3);
	answer_token("tok-3", 3600, 0);
	fake_settle(fx->base);
	assert_string_equal(fx->w[0].token, "tok-3");
	/* Third in a row: a longer wait. */
	token_rejected(fx->t, 3, NULL);
	hold = fake_next_timer_in();
	assert_true(hold >= TOKEN_BACKOFF_MIN_MS && hold <= 2 * TOKEN_BACKOFF_MIN_MS);
	fake_advance(fx->base, hold);
	assert_int_equal(fa.starts, 4);
	answer_token("tok-4", 3600, 0);
	fake_settle(fx->base);
	/* Exchange took it: the next refusal is treated as a first one again. */
	token_accepted(fx->t, 4);
	token_rejected(fx->t, 4, NULL);
	assert_int_equal(fa.starts, 5);
	answer_token("tok-5", 3600, 0);
	fake_settle(fx->base);
	/* Accepting an older generation does not reset the count: a refusal of tok-5 waits. */
	token_accepted(fx->t, 4);
	token_rejected(fx->t, 5, NULL);
	assert_int_equal(fa.starts, 5);
	token_refresh_now(fx->t);       /* exoctl refresh overrides the wait */
	assert_int_equal(fa.starts, 6);
	answer_token("tok-6", 3600, 0);
}

static void test_rejected_during_fetch(void **state)
{
	(void)state;
	sign_in("tok-1", 3600);
	fake_advance(fx->base, 3000 * 1000LL);  /* the proactive refresh runs */
	assert_int_equal(fa.starts, 2);
	/* Refused while a fetch runs: that fetch may predate a revocation, so one more follows. */
	token_rejected(fx->t, 1, "claims-1");
	assert_int_equal(fa.starts, 2);
	assert_null(current(NULL));
	answer_token("tok-2", 3600, 0);
	assert_int_equal(fa.starts, 3);
	assert_string_equal(fa.claims, "claims-1");
	answer_token("tok-3", 3600, 0);
	fake_settle(fx->base);
	assert_string_equal(current(NULL), "tok-3");
	assert_int_equal(fa.starts, 3);
}

static void test_refused_credentials_hold(void **state)
{
	(void)state;
	wait_for(0);
	answer_failure(WIRE_E_AUTH_FAILED, 0, "Entra ID: HTTP 401: invalid_client: AADSTS7000215");
	fake_settle(fx->base);
	assert_int_equal(fx->w[0].err, WIRE_E_AUTH_FAILED);
	assert_int_equal(token_state(fx->t), TOKEN_ERROR);
	/* Nothing retries a refusal by itself. */
	assert_int_equal(fake_next_timer_in(), -1);
	/* Within the hold, waiters get the same answer (from the loop) and Entra is not asked. */
	fake_advance(fx->base, TOKEN_REFUSED_HOLD_S * 1000LL - 1);
	wait_for(1);
	token_start(fx->t);
	assert_int_equal(fa.starts, 1);
	assert_int_equal(fx->w[1].calls, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->w[1].calls, 1);
	assert_false(fx->w[1].inside);
	assert_int_equal(fx->w[1].err, WIRE_E_AUTH_FAILED);
	assert_string_equal(fx->w[1].message, "Entra ID: HTTP 401: invalid_client: AADSTS7000215");
	/* After it, asked again. */
	fake_advance(fx->base, 1);
	wait_for(2);
	assert_int_equal(fa.starts, 2);
	answer_failure(WIRE_E_AUTH_FAILED, 0, "Entra ID: HTTP 401: invalid_client: AADSTS7000215");
	fake_settle(fx->base);
	assert_int_equal(fx->w[2].calls, 1);
	/* exoctl refresh lifts the hold. */
	token_refresh_now(fx->t);
	assert_int_equal(fa.starts, 3);
	answer_token("tok-1", 3600, 0);
	fake_settle(fx->base);
	assert_string_equal(current(NULL), "tok-1");
}

static void test_needs_login_is_held(void **state)
{
	(void)state;
	wait_for(0);
	answer_failure(WIRE_E_NEEDS_LOGIN, 0, "Entra ID: HTTP 400: interaction_required");
	fake_settle(fx->base);
	assert_int_equal(fx->w[0].err, WIRE_E_NEEDS_LOGIN);
	assert_int_equal(token_state(fx->t), TOKEN_NEEDS_LOGIN);
	/* Only a person can fix it: not asked again however long it waits. */
	fake_advance(fx->base, 24 * 3600 * 1000LL);
	wait_for(1);
	fake_settle(fx->base);
	assert_int_equal(fa.starts, 1);
	assert_int_equal(fx->w[1].err, WIRE_E_NEEDS_LOGIN);
	token_refresh_now(fx->t);
	assert_int_equal(fa.starts, 2);
	answer_token("tok-1", 3600, 0);
}

static void test_forget_notifies_needs_login(void **state)
{
	(void)state;
	sign_in("tok-1", 3600);
	fake_advance(fx->base, 3000 * 1000LL);  /* a refresh in flight */
	assert_true(fa.running);
	wait_for(0);
	wait_for(1);
	fx->in_call = 1;
	token_forget(fx->t);
	fx->in_call = 0;
	assert_int_equal(fa.cancels, 1);
	assert_false(fa.running);
	assert_null(current(NULL));
	assert_int_equal(fx->w[0].calls, 0);
	fake_settle(fx->base);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fx->w[i].calls, 1);
		assert_false(fx->w[i].inside);
		assert_int_equal(fx->w[i].err, WIRE_E_NEEDS_LOGIN);
		assert_string_equal(fx->w[i].message, "signed out");
	}
	assert_int_equal(token_state(fx->t), TOKEN_SIGNING_IN);
	/* No refresh timer survives the sign-out. */
	assert_int_equal(fake_next_timer_in(), -1);
	fake_advance(fx->base, 3600 * 1000LL);
	assert_int_equal(fa.starts, 2);
	/* The next request signs in again. */
	wait_for(2);
	assert_int_equal(fa.starts, 3);
	answer_token("tok-2", 3600, 0);
	fake_settle(fx->base);
	assert_string_equal(fx->w[2].token, "tok-2");
}

static void test_cancelled_waiter_not_called(void **state)
{
	(void)state;
	wait_for(0);
	wait_for(1);
	answer_token("tok-1", 3600, 0);
	/* Cancelled after its outcome was known but before it was delivered. */
	token_wait_cancel(fx->w[0].w);
	fake_settle(fx->base);
	assert_int_equal(fx->w[0].calls, 0);
	assert_int_equal(fx->w[1].calls, 1);
}

/*
 * Regression: a refresh refused while the token is still in service used
 * to end the background refresh (the retry timer fired inside the 60 s
 * hold and was not armed again).  The retry now waits out the hold.
 */
static void test_refused_refresh_retried_after_hold(void **state)
{
	(void)state;
	sign_in("tok-1", 3600);
	fake_advance(fx->base, 3000 * 1000LL);
	assert_int_equal(fa.starts, 2);
	answer_failure(WIRE_E_AUTH_FAILED, 0, "Entra ID: HTTP 401: invalid_client: AADSTS700027");
	fake_settle(fx->base);
	assert_string_equal(current(NULL), "tok-1");
	/* Not within the hold, but again after it, while tok-1 is still good (until 3570 s). */
	fake_advance(fx->base, TOKEN_REFUSED_HOLD_S * 1000LL - 1);
	assert_int_equal(fa.starts, 2);
	fake_advance(fx->base, 2 * TOKEN_BACKOFF_MAX_MS);
	assert_int_equal(fa.starts, 3);
	answer_token("tok-2", 3600, 0);
}

/*
 * Regression: token_deliver told success from failure by an empty message;
 * a failure without a message was taken for an expired success, retried at
 * once and never reported (or, when held, spun for ever).  It now goes by
 * the error code.
 */
static void test_failure_with_empty_message(void **state)
{
	(void)state;
	wait_for(0);
	answer_failure(WIRE_E_AUTH_FAILED, 1, "");
	fake_settle(fx->base);
	assert_int_equal(fa.starts, 1);
	assert_int_equal(fx->w[0].calls, 1);
	assert_int_equal(fx->w[0].err, WIRE_E_AUTH_FAILED);
}

/*
 * Regression: a CAE claims challenge passed to token_rejected was lost when
 * the new fetch was held back by the rejection backoff (or came after a
 * fetch in flight); the delayed fetch now carries it.
 */
static void test_claims_survive_backoff(void **state)
{
	(void)state;
	sign_in("tok-1", 3600);
	token_rejected(fx->t, 1, NULL);
	answer_token("tok-2", 3600, 0);
	fake_settle(fx->base);
	token_rejected(fx->t, 2, "{\"access_token\":{\"xms_cc\":{\"values\":[\"cp1\"]}}}");
	assert_int_equal(fa.starts, 2);
	fake_advance(fx->base, TOKEN_BACKOFF_MIN_MS);
	assert_int_equal(fa.starts, 3);
	assert_string_equal(fa.claims, "{\"access_token\":{\"xms_cc\":{\"values\":[\"cp1\"]}}}");
	answer_token("tok-3", 3600, 0);
}

/* A gate (cluster.h) that counts its calls; the test opens it. */
static int gate_begins, gate_ends;

static void gate_begin(void *arg)
{
	(void)arg;
	gate_begins++;
}

static void gate_end(void *arg, const unsigned char *sealed, size_t len, int login)
{
	(void)arg;
	(void)len;
	/* No refresh token here (app-only in this fixture): nothing to share, and no login. */
	assert_null(sealed);
	assert_false(login);
	gate_ends++;
}

static void test_gate_holds_the_fetch(void **state)
{
	const struct token_gate gate = { gate_begin, gate_end, NULL };

	(void)state;
	gate_begins = gate_ends = 0;
	token_set_gate(fx->t, &gate);
	wait_for(0);
	wait_for(1);
	/* One fetch, held at the gate: asked once, nothing sent before it opens. */
	assert_int_equal(gate_begins, 1);
	assert_int_equal(fa.starts, 0);
	assert_true(token_busy(fx->t));
	token_gate_go(fx->t, NULL, 0);
	assert_int_equal(fa.starts, 1);
	assert_int_equal(gate_ends, 0);
	answer_token("tok-1", 3600, 0);
	/* The gate is given back as the fetch ends, before the waiters hear of it. */
	assert_int_equal(gate_ends, 1);
	fake_settle(fx->base);
	assert_string_equal(fx->w[0].token, "tok-1");
	assert_string_equal(fx->w[1].token, "tok-1");
	/* Held at the gate, then signed out: the gate goes back once, and a late go starts nothing. */
	token_refresh_now(fx->t);
	assert_int_equal(gate_begins, 2);
	token_forget(fx->t);
	assert_int_equal(gate_ends, 2);
	token_gate_go(fx->t, NULL, 0);
	assert_int_equal(gate_ends, 2);
	assert_int_equal(fa.starts, 1);
	fake_settle(fx->base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wait_delivers_from_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gate_holds_the_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_notifies_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proactive_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_in_and_short_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_refresh_keeps_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_token_not_served, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_token_skew, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_counts_from_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_grows_then_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_from_token_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delegated_refusal_held, setup_delegated, teardown),
		cmocka_unit_test_setup_teardown(test_rejected_then_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejected_during_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_credentials_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_login_is_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_notifies_needs_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancelled_waiter_not_called, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_refresh_retried_after_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_with_empty_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claims_survive_backoff, setup, teardown),
	};

	log_set_level(LOG_ERR);

	return cmocka_run_group_tests(tests, NULL, NULL);
}
