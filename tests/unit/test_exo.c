/* Unit tests for daemon/exo.c, fake HTTP/token/clock: paging, throttling, retries, cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "common/conf.h"
#include "common/jtree.h"
#include "common/log.h"
#include "daemon/exo.h"
#include "daemon/invoke.h"
#include "daemon/http.h"
#include "daemon/pool.h"
#include "daemon/token.h"
#include "tests/unit/fake_clock.h"

#define MAX_XFERS 32
#define MAX_WAITS 16
#define MAX_SINKS 4
#define MAX_REPORTS 32
#define ORIGIN "https://exo.example"
#define INVOKE ORIGIN "/adminapi/beta/contoso.example/InvokeCommand"
#define NEXT(n) INVOKE "?$skiptoken=" #n

/* ---- fake HTTP: every transfer exo starts, driven by the test ---- */

struct fake_xfer {
	char *method;
	char *url;
	int cookies;                    /* sent with a cookie jar */
	char *body;
	int fresh_connect;
	long timeout_ms;
	http_data_cb on_data;
	http_done_cb on_done;
	void *arg;
	long status;                    /* what http_xfer_status says */
	int cancelled;
	int finished;
	int resumed;
	struct http_result headers;     /* what http_xfer_headers says: request-id "rid-<n>" */
};

static struct fake_xfer xfers[MAX_XFERS];
static int nxfers;
static int http_fail_next;              /* http_start fails once */

struct http_xfer *__wrap_http_start(struct http *h, const struct http_request *req, char *err,
				    size_t errlen);
void __wrap_http_xfer_cancel(struct http_xfer *x);
long __wrap_http_xfer_status(struct http_xfer *x);
const struct http_result *__wrap_http_xfer_headers(const struct http_xfer *x);
void __wrap_http_xfer_resume(struct http_xfer *x);

struct http_xfer *__wrap_http_start(struct http *h, const struct http_request *req, char *err,
				    size_t errlen)
{
	struct fake_xfer *x;

	(void)h;
	/* The headers are http_start's, even when it fails; they may carry the token. */
	http_headers_free(req->headers);
	if (http_fail_next) {
		http_fail_next = 0;
		snprintf(err, errlen, "fake: cannot start");
		return NULL;
	}
	assert_true(nxfers < MAX_XFERS);
	/* InvokeCommand is a POST; only a region discovery GETs. */
	if (strcmp(req->method, "POST") != 0) {
		assert_string_equal(req->method, "GET");
		assert_non_null(strstr(req->url, "/EXOModuleFile"));
	}
	assert_non_null(req->on_data);
	x = &xfers[nxfers++];
	x->method = strdup(req->method);
	x->cookies = req->cookies != NULL;
	x->url = strdup(req->url);
	x->body = req->body != NULL ? strndup(req->body, req->body_len) : strdup("");
	x->fresh_connect = req->fresh_connect;
	x->timeout_ms = req->timeout_ms;
	x->on_data = req->on_data;
	x->on_done = req->on_done;
	x->arg = req->arg;
	snprintf(x->headers.request_id, sizeof(x->headers.request_id), "rid-%d", nxfers - 1);
	return (struct http_xfer *)x;
}

void __wrap_http_xfer_cancel(struct http_xfer *x)
{
	struct fake_xfer *f = (struct fake_xfer *)x;

	if (f == NULL)
		return;
	/* Only a transfer still running may be cancelled. */
	assert_false(f->finished);
	assert_false(f->cancelled);
	f->cancelled = 1;
}

long __wrap_http_xfer_status(struct http_xfer *x)
{
	return ((struct fake_xfer *)x)->status;
}

const struct http_result *__wrap_http_xfer_headers(const struct http_xfer *x)
{
	return &((const struct fake_xfer *)x)->headers;
}

void __wrap_http_xfer_resume(struct http_xfer *x)
{
	((struct fake_xfer *)x)->resumed++;
}

static void xfers_clear(void)
{
	for (int i = 0; i < nxfers; i++) {
		free(xfers[i].method);
		free(xfers[i].url);
		free(xfers[i].body);
	}
	memset(xfers, 0, sizeof(xfers));
	nxfers = 0;
}

/* Response bytes of transfer i, as libcurl's write callback would pass them. */
static enum http_data_status feed(int i, long status, const char *data)
{
	assert_true(i < nxfers);
	assert_false(xfers[i].cancelled || xfers[i].finished);
	xfers[i].status = status;
	return xfers[i].on_data(xfers[i].arg, data, strlen(data));
}

/* The end of transfer i: http.c calls on_done from the loop, then frees the transfer. */
static void finish_with(int i, const struct http_result *res)
{
	assert_true(i < nxfers);
	assert_false(xfers[i].cancelled || xfers[i].finished);
	xfers[i].status = res->status;
	xfers[i].finished = 1;
	xfers[i].on_done(xfers[i].arg, res);
}

static void finish_as(int i, enum http_outcome outcome, long status, long retry_after,
		      const char *www)
{
	struct http_result res;

	memset(&res, 0, sizeof(res));
	res.outcome = outcome;
	res.status = status;
	res.retry_after = retry_after;
	res.error = outcome == HTTP_OK ? NULL : "fake transport error";
	snprintf(res.www_authenticate, sizeof(res.www_authenticate), "%s", www != NULL ? www : "");
	finish_with(i, &res);
}

static void finish(int i, long status, long retry_after, const char *www)
{
	finish_as(i, HTTP_OK, status, retry_after, www);
}

/* A redirect answer to transfer i: its Location, no body. */
static void redirect(int i, long status, const char *location)
{
	struct http_result res;

	memset(&res, 0, sizeof(res));
	res.outcome = HTTP_OK;
	res.status = status;
	snprintf(res.location, sizeof(res.location), "%s", location);
	finish_with(i, &res);
}

/* A whole page: its body, then the end. */
static void page(int i, long status, const char *body)
{
	assert_int_equal(feed(i, status, body), HTTP_DATA_OK);
	finish(i, status, 0, NULL);
}

/* ---- fake token: current token, waiters, and what exo tells it ---- */

struct fake_wait {
	token_cb cb;
	void *arg;
	int active;
};

struct fake_token {
	int valid;
	unsigned gen;
	char text[32];
	struct fake_wait waits[MAX_WAITS];
	int nwaits;
	int wait_cancels;
	int rejected;
	unsigned rejected_gen;
	char claims[256];
	int accepted;
	unsigned accepted_gen;
};

static struct fake_token ft;
static char dummy_token;                /* exo only passes the pointer back to token_* */

const char *__wrap_token_current(struct token *t, unsigned *gen);
struct token_wait *__wrap_token_wait(struct token *t, token_cb cb, void *arg);
void __wrap_token_wait_cancel(struct token_wait *w);
void __wrap_token_rejected(struct token *t, unsigned gen, const char *claims);
void __wrap_token_accepted(struct token *t, unsigned gen);
const char *__wrap_token_identity(const struct token *t);

const char *__wrap_token_current(struct token *t, unsigned *gen)
{
	assert_ptr_equal(t, &dummy_token);
	if (!ft.valid)
		return NULL;
	if (gen != NULL)
		*gen = ft.gen;
	return ft.text;
}

struct token_wait *__wrap_token_wait(struct token *t, token_cb cb, void *arg)
{
	struct fake_wait *w;

	assert_ptr_equal(t, &dummy_token);
	assert_true(ft.nwaits < MAX_WAITS);
	w = &ft.waits[ft.nwaits++];
	w->cb = cb;
	w->arg = arg;
	w->active = 1;
	return (struct token_wait *)w;
}

void __wrap_token_wait_cancel(struct token_wait *w)
{
	struct fake_wait *f = (struct fake_wait *)w;

	if (f == NULL)
		return;
	assert_true(f->active);
	f->active = 0;
	ft.wait_cancels++;
}

void __wrap_token_rejected(struct token *t, unsigned gen, const char *claims)
{
	(void)t;
	ft.rejected++;
	ft.rejected_gen = gen;
	snprintf(ft.claims, sizeof(ft.claims), "%s", claims != NULL ? claims : "");
	if (gen == ft.gen)
		ft.valid = 0;   /* as token.c does: dropped, a new one is being fetched */
}

void __wrap_token_accepted(struct token *t, unsigned gen)
{
	(void)t;
	ft.accepted++;
	ft.accepted_gen = gen;
}

const char *__wrap_token_identity(const struct token *t)
{
	(void)t;
	return NULL;
}

static void token_set(unsigned gen)
{
	ft.valid = 1;
	ft.gen = gen;
	snprintf(ft.text, sizeof(ft.text), "tok-%u", gen);
}

/* A new token reaches every waiter (token.c delivers from the loop). */
static void token_give(unsigned gen)
{
	token_set(gen);
	for (int i = 0; i < ft.nwaits; i++)
		if (ft.waits[i].active) {
			ft.waits[i].active = 0;
			ft.waits[i].cb(ft.waits[i].arg, ft.text, gen, WIRE_E_COUNT, NULL);
		}
}

static void token_fail(enum wire_error e, const char *message)
{
	for (int i = 0; i < ft.nwaits; i++)
		if (ft.waits[i].active) {
			ft.waits[i].active = 0;
			ft.waits[i].cb(ft.waits[i].arg, NULL, 0, e, message);
		}
}

static int token_waiting(void)
{
	int n = 0;

	for (int i = 0; i < ft.nwaits; i++)
		n += ft.waits[i].active;
	return n;
}

/* ---- the sink: what a client would receive ---- */

struct sink {
	int records;
	char first[64];                 /* the first record */
	int warnings;
	char last_warning[160];
	int errors;                     /* cmdlet_error events */
	char last_error_rid[64];        /* the request id the last one carried */
	int confirmations;
	int done;
	int done_inside;                /* done came from inside exo_call_start or cancel */
	struct exo_end end;
	enum exo_sink_status reply;     /* what record answers */
	struct exo_call *call;
	struct exo_progress reports[MAX_REPORTS];      /* progress, in order */
	int nreports;
	int report_inside;              /* a report came from inside exo_call_start or cancel */
};

static struct sink sinks[MAX_SINKS];
static int in_exo_call;                 /* inside exo_call_start or exo_call_cancel */

static enum exo_sink_status sink_record(void *arg, const char *json, size_t len)
{
	struct sink *s = arg;

	assert_false(s->done);
	if (s->records++ == 0)
		snprintf(s->first, sizeof(s->first), "%.*s", (int)len, json);
	return s->reply;
}

static enum exo_sink_status sink_warning(void *arg, const char *msg, size_t len)
{
	struct sink *s = arg;

	assert_false(s->done);
	s->warnings++;
	snprintf(s->last_warning, sizeof(s->last_warning), "%.*s", (int)len, msg);
	return s->reply;
}

static enum exo_sink_status sink_error(void *arg, const char *json, size_t len,
				       const char *request_id)
{
	struct sink *s = arg;

	(void)json;
	(void)len;
	assert_false(s->done);
	s->errors++;
	snprintf(s->last_error_rid, sizeof(s->last_error_rid), "%s", request_id);
	return s->reply;
}

static enum exo_sink_status sink_confirmation(void *arg, const char *msg, size_t len)
{
	struct sink *s = arg;

	(void)msg;
	(void)len;
	s->confirmations++;
	return s->reply;
}

static void sink_done(void *arg, const struct exo_end *end)
{
	struct sink *s = arg;

	s->done++;
	s->done_inside |= in_exo_call;
	s->end = *end;
	s->call = NULL;         /* freed after this returns */
}

static void sink_progress(void *arg, const struct exo_progress *p)
{
	struct sink *s = arg;

	assert_false(s->done);
	assert_true(s->nreports < MAX_REPORTS);
	s->report_inside |= in_exo_call;
	s->reports[s->nreports++] = *p;
}

/* Progress reaches it only for a request that asks (exo_request.progress). */
static const struct exo_sink sink_cbs = {
	.record = sink_record,
	.warning = sink_warning,
	.error = sink_error,
	.confirmation = sink_confirmation,
	.done = sink_done,
	.progress = sink_progress,
};

/* ---- fixture ---- */

struct fixture {
	struct event_base *base;
	struct conf_profile conf;
	struct pool *pool;
	struct exo_target *t;
};

static struct fixture *fx;

static int setup_with(int max_connections, int queue_timeout, int max_pages)
{
	char err[256];

	fake_clock_reset();
	memset(&ft, 0, sizeof(ft));
	memset(sinks, 0, sizeof(sinks));
	xfers_clear();
	http_fail_next = 0;
	token_set(1);
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->conf.name = "contoso";
	fx->conf.organization = "contoso.example";
	fx->conf.connection_uri = ORIGIN;
	fx->conf.page_size = 1000;
	fx->conf.max_pages = max_pages;
	fx->conf.request_timeout = 600;
	fx->conf.queue_limit = 10;
	fx->conf.queue_timeout = queue_timeout;
	fx->conf.max_connections = max_connections;
	fx->pool = pool_new(fx->base, max_connections, fx->conf.queue_limit, queue_timeout);
	assert_non_null(fx->pool);
	fx->t = exo_target_new(fx->base, NULL, fx->pool, (struct token *)&dummy_token, &fx->conf,
			       err, sizeof(err));
	assert_non_null(fx->t);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_with(3, 120, 10);
}

static int setup_one_slot(void **state)
{
	(void)state;
	return setup_with(1, 2, 10);
}

static int setup_three_pages(void **state)
{
	(void)state;
	return setup_with(3, 120, 3);
}

/* A Security & Compliance profile in O365Default: discovery starts at the real front door. */
static int setup_compliance(void **state)
{
	char err[256];

	(void)state;
	setup_with(3, 120, 10);
	exo_target_free(fx->t);
	fx->conf.service = CONF_SERVICE_COMPLIANCE;
	fx->conf.connection_uri = NULL;
	fx->t = exo_target_new(fx->base, NULL, fx->pool, (struct token *)&dummy_token, &fx->conf,
			       err, sizeof(err));
	assert_non_null(fx->t);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	/* Every call has ended or was cancelled by the test: nothing holds a slot. */
	assert_int_equal(pool_running(fx->pool), 0);
	assert_int_equal(pool_queued(fx->pool), 0);
	exo_target_free(fx->t);
	pool_free(fx->pool);
	event_base_free(fx->base);
	free(fx);
	fx = NULL;
	xfers_clear();
	clock_fake(NULL);
	return 0;
}

/* Starts cmdlet for sink i; nothing but queueing may happen inside. */
static void start(int i, const char *cmdlet)
{
	struct exo_end end;
	int rc;

	in_exo_call = 1;
	rc = exo_call_start(fx->t, &(struct exo_request){ .cmdlet = cmdlet }, &sink_cbs, &sinks[i],
			    &sinks[i].call, &end);
	in_exo_call = 0;
	assert_int_equal(rc, 0);
	assert_int_equal(sinks[i].done, 0);
}

/* start() with parameters, given as JSON. */
static void start_params(int i, const char *cmdlet, const char *params)
{
	struct exo_end end;
	struct invoke iv;
	char why[256];
	yajl_val p = jtree_parse(params, strlen(params), why, sizeof(why));
	int rc;

	assert_non_null(p);
	/* Bound as exod binds a client's run: the body's text and -ResultSize come from there. */
	if (invoke_prepare(&iv, 0, cmdlet, p, why, sizeof(why)) < 0)
		fail_msg("invoke_prepare: %s", why);
	in_exo_call = 1;
	rc = exo_call_start(fx->t, &iv.rq, &sink_cbs, &sinks[i], &sinks[i].call, &end);
	in_exo_call = 0;
	invoke_clear(&iv);
	jtree_free(p);
	assert_int_equal(rc, 0);
	assert_int_equal(sinks[i].done, 0);
}

static void cancel(int i)
{
	in_exo_call = 1;
	exo_call_cancel(sinks[i].call);
	in_exo_call = 0;
	sinks[i].call = NULL;
}

static void assert_failed(int i, enum wire_error e)
{
	assert_int_equal(sinks[i].done, 1);
	assert_false(sinks[i].done_inside);
	assert_false(sinks[i].end.ok);
	assert_int_equal(sinks[i].end.error, e);
}

static void assert_ok(int i, unsigned long long count)
{
	assert_int_equal(sinks[i].done, 1);
	assert_false(sinks[i].done_inside);
	assert_true(sinks[i].end.ok);
	assert_int_equal(sinks[i].end.count, count);
}

static const struct exo_request get_mailbox = { .cmdlet = "Get-Mailbox" };

/* ---- tests ---- */

static void test_records_stream(void **state)
{
	struct exo_stats st;

	(void)state;
	start(0, "Get-Mailbox");
	/* Nothing is sent before the loop hands over the slot. */
	assert_int_equal(nxfers, 0);
	fake_settle(fx->base);
	assert_int_equal(nxfers, 1);
	assert_string_equal(xfers[0].url, INVOKE);
	assert_non_null(strstr(xfers[0].body, "\"CmdletName\":\"Get-Mailbox\""));
	assert_int_equal(xfers[0].timeout_ms, 600000);
	assert_false(xfers[0].fresh_connect);   /* a read may reuse a connection */
	/* Records reach the sink as the page streams in, before it ends. */
	assert_int_equal(feed(0, 200, "{\"value\":[{\"Name\":\"a\"},"), HTTP_DATA_OK);
	assert_int_equal(sinks[0].records, 1);
	assert_string_equal(sinks[0].first, "{\"Name\":\"a\"}");
	assert_int_equal(feed(0, 200, "{\"Name\":\"b\"},{\"Name\":\"c\"}]}"), HTTP_DATA_OK);
	assert_int_equal(sinks[0].records, 3);
	assert_int_equal(sinks[0].done, 0);
	finish(0, 200, 0, NULL);
	assert_ok(0, 3);
	assert_int_equal(ft.accepted, 1);
	assert_int_equal(ft.accepted_gen, 1);
	fake_settle(fx->base);
	assert_int_equal(sinks[0].done, 1);
	exo_target_stats(fx->t, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.pages, 1);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.failures, 0);
}

static void test_done_never_inside_start(void **state)
{
	(void)state;
	/* A token that cannot be had: the failure comes from the loop. */
	ft.valid = 0;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	assert_int_equal(token_waiting(), 1);
	token_fail(WIRE_E_NEEDS_LOGIN, "sign in with exoctl login");
	assert_failed(0, WIRE_E_NEEDS_LOGIN);
	assert_string_equal(sinks[0].end.message, "sign in with exoctl login");
	/* A transfer that cannot start: likewise. */
	token_set(1);
	http_fail_next = 1;
	start(1, "Get-Mailbox");
	assert_int_equal(sinks[1].done, 0);
	fake_settle(fx->base);
	assert_failed(1, WIRE_E_UPSTREAM);
	assert_string_equal(sinks[1].end.message, "fake: cannot start");
	assert_int_equal(nxfers, 0);
}

static void test_queue_full(void **state)
{
	struct exo_end end;
	struct exo_call *call = NULL;
	int rc;

	(void)state;
	/* One runs, queue_limit more wait; the next is refused on the spot, without done. */
	for (int i = 0; i < 1 + fx->conf.queue_limit; i++) {
		struct exo_call *c;

		rc = exo_call_start(fx->t, &get_mailbox, &sink_cbs, &sinks[0], &c, &end);
		assert_int_equal(rc, 0);
	}
	rc = exo_call_start(fx->t, &get_mailbox, &sink_cbs, &sinks[1], &call, &end);
	assert_int_equal(rc, -1);
	assert_int_equal(end.error, WIRE_E_QUEUE_FULL);
	assert_false(end.ok);
	assert_null(call);
	fake_settle(fx->base);
	assert_int_equal(sinks[1].done, 0);
	/* The others run as slots free up: answer each empty page. */
	for (int i = 0; i < 1 + fx->conf.queue_limit; i++) {
		fake_settle(fx->base);
		assert_true(i < nxfers);
		page(i, 200, "{\"value\":[]}");
	}
	fake_settle(fx->base);
	assert_int_equal(sinks[0].done, 1 + fx->conf.queue_limit);
	assert_int_equal(sinks[1].done, 0);
}

static void test_next_link_followed(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	page(0, 200, "{\"value\":[{\"n\":1}],\"@odata.nextLink\":\"" NEXT(2) "\"}");
	assert_int_equal(sinks[0].done, 0);
	assert_int_equal(nxfers, 2);
	assert_string_equal(xfers[1].url, NEXT(2));
	assert_string_equal(xfers[1].body, xfers[0].body);
	/* Default port and host case do not make another origin. */
	page(1, 200, "{\"value\":[{\"n\":2}],\"@odata.nextLink\":"
		     "\"https://EXO.example:443/adminapi/beta/contoso.example/InvokeCommand?p=3\"}");
	assert_int_equal(nxfers, 3);
	page(2, 200, "{\"value\":[{\"n\":3}]}");
	assert_ok(0, 3);
	assert_int_equal(ft.accepted, 3);
}

static void test_next_link_elsewhere_refused(void **state)
{
	static const char *const links[] = {
		"https://evil.example/adminapi/beta/contoso.example/InvokeCommand?p=2",
		"https://exo.example:8443/adminapi/beta/contoso.example/InvokeCommand?p=2",
		"http://exo.example/adminapi/beta/contoso.example/InvokeCommand?p=2",
		"https://user@exo.example/adminapi/beta/contoso.example/InvokeCommand?p=2",
		"https://user:pw@exo.example/adminapi/beta/contoso.example/InvokeCommand?p=2",
		"https://exo.example.evil.example/adminapi/beta/contoso.example/InvokeCommand",
		"https://exo.example@evil.example/adminapi/beta/contoso.example/InvokeCommand",
		"/adminapi/beta/contoso.example/InvokeCommand?p=2",
		"ftp://exo.example/x",
	};

	(void)state;
	for (size_t k = 0; k < sizeof(links) / sizeof(links[0]); k++) {
		char body[512];
		int before;

		memset(&sinks[0], 0, sizeof(sinks[0]));
		start(0, "Get-Mailbox");
		fake_settle(fx->base);
		before = nxfers;
		snprintf(body, sizeof(body), "{\"value\":[{\"n\":1}],\"@odata.nextLink\":\"%s\"}",
			 links[k]);
		page(nxfers - 1, 200, body);
		/* The token never goes there: the call ends, with no request. */
		assert_int_equal(nxfers, before);
		assert_failed(0, WIRE_E_UPSTREAM);
		assert_non_null(strstr(sinks[0].end.message, "another address"));
		assert_int_equal(sinks[0].end.count, 1);
	}
}

static void test_next_link_to_itself_stops(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	page(0, 200, "{\"value\":[{\"n\":1}],\"@odata.nextLink\":\"" NEXT(2) "\"}");
	assert_int_equal(nxfers, 2);
	page(1, 200, "{\"value\":[{\"n\":2}],\"@odata.nextLink\":\"" NEXT(2) "\"}");
	assert_int_equal(nxfers, 2);
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_non_null(strstr(sinks[0].end.message, "the page itself"));
}

/*
 * Regression: a first page whose nextLink is the InvokeCommand URL itself
 * was followed (the check compared with page_url, NULL for the first page),
 * and its records reached the client twice.
 */
static void test_first_page_link_to_itself_stops(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	page(0, 200, "{\"value\":[{\"n\":1}],\"@odata.nextLink\":\"" INVOKE "\"}");
	assert_int_equal(nxfers, 1);
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[0].records, 1);
}

static void test_max_pages(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	page(0, 200, "{\"value\":[{\"n\":1}],\"@odata.nextLink\":\"" NEXT(2) "\"}");
	page(1, 200, "{\"value\":[{\"n\":2}],\"@odata.nextLink\":\"" NEXT(3) "\"}");
	page(2, 200, "{\"value\":[{\"n\":3}],\"@odata.nextLink\":\"" NEXT(4) "\"}");
	/* max_pages = 3: three requests, then the call ends instead of a fourth. */
	assert_int_equal(nxfers, 3);
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_non_null(strstr(sinks[0].end.message, "max_pages"));
	assert_int_equal(sinks[0].end.count, 3);
	assert_int_equal(sinks[0].records, 3);
}

static void test_throttle_capped(void **state)
{
	static const char *const headers[] = {
		"99999999",
		"99999999999999999999999999999999999999",
		"Fri, 31 Dec 9999 23:59:59 GMT",
	};

	(void)state;
	for (size_t k = 0; k < sizeof(headers) / sizeof(headers[0]); k++) {
		/* What http.c makes of the header: held to HTTP_MAX_RETRY_AFTER_S. */
		long ra = http_retry_after(headers[k], strlen(headers[k]));
		long long held;

		assert_int_equal(ra, HTTP_MAX_RETRY_AFTER_S);
		memset(&sinks[0], 0, sizeof(sinks[0]));
		start(0, "Get-Mailbox");
		/* Each call first waits out the previous one's hold. */
		fake_advance(fx->base, exo_target_throttled_ms(fx->t));
		assert_int_equal(nxfers, (int)k + 1);
		assert_int_equal(feed((int)k, 429, "{\"error\":{\"code\":\"TooManyRequests\","
						  "\"message\":\"Too many requests\"}}"),
				 HTTP_DATA_OK);
		finish((int)k, 429, ra, NULL);
		/* Longer than EXO_MAX_RETRY_AFTER: back to the client, even for a read. */
		assert_failed(0, WIRE_E_THROTTLED);
		assert_int_equal(sinks[0].end.http_status, 429);
		assert_true(sinks[0].end.retry_after > 0 && sinks[0].end.retry_after <= 300);
		assert_string_equal(sinks[0].end.upstream_code, "TooManyRequests");
		held = exo_target_throttled_ms(fx->t);
		assert_true(held > 0 && held <= 300000);
	}
	/* The hold applies to the whole profile: a new call waits it out before sending. */
	memset(&sinks[1], 0, sizeof(sinks[1]));
	start(1, "Get-Mailbox");
	fake_advance(fx->base, 299999);
	assert_int_equal(nxfers, 3);
	fake_advance(fx->base, 1);
	assert_int_equal(nxfers, 4);
	assert_int_equal(exo_target_throttled_ms(fx->t), 0);
	page(3, 200, "{\"value\":[]}");
	assert_ok(1, 0);
}

static void test_throttle_read_retried(void **state)
{
	struct exo_stats st;

	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	feed(0, 429, "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"later\"}}");
	finish(0, 429, 5, NULL);
	assert_int_equal(sinks[0].done, 0);
	assert_int_equal(exo_target_throttled_ms(fx->t), 5000);
	fake_advance(fx->base, 4999);
	assert_int_equal(nxfers, 1);
	fake_advance(fx->base, 1);
	assert_int_equal(nxfers, 2);
	assert_string_equal(xfers[1].url, INVOKE);
	page(1, 200, "{\"value\":[{\"n\":1}]}");
	assert_ok(0, 1);
	exo_target_stats(fx->t, &st);
	assert_int_equal(st.retries, 1);
	assert_int_equal(st.throttled, 1);
}

static void test_throttle_write_not_retried(void **state)
{
	(void)state;
	start(0, "Set-Mailbox");
	fake_settle(fx->base);
	assert_true(xfers[0].fresh_connect);    /* a write is never sent twice by libcurl */
	feed(0, 429, "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"later\"}}");
	finish(0, 429, 5, NULL);
	assert_failed(0, WIRE_E_THROTTLED);
	assert_int_equal(sinks[0].end.retry_after, 5);
	fake_advance(fx->base, 60000);
	assert_int_equal(nxfers, 1);
}

static void test_transport_failures(void **state)
{
	(void)state;
	/* A write that may have reached the service is not sent again. */
	start(0, "Set-Mailbox");
	fake_settle(fx->base);
	finish_as(0, HTTP_FAILED, 0, 0, NULL);
	assert_failed(0, WIRE_E_UPSTREAM);
	/* One that certainly did not is, after a backoff. */
	start(1, "Set-Mailbox");
	fake_settle(fx->base);
	finish_as(1, HTTP_NOT_SENT, 0, 0, NULL);
	assert_int_equal(sinks[1].done, 0);
	fake_advance(fx->base, 1000);
	assert_int_equal(nxfers, 3);
	page(2, 200, "{\"value\":[]}");
	assert_ok(1, 0);
	/* A read after a 503 too, up to EXO_MAX_RETRIES more tries. */
	start(2, "Get-Mailbox");
	fake_settle(fx->base);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(nxfers, 4 + i);
		finish(3 + i, 503, 0, NULL);
		fake_advance(fx->base, 30000);
	}
	assert_int_equal(nxfers, 8);
	assert_failed(2, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[2].end.http_status, 503);
	/* A timeout is the client's to retry. */
	start(3, "Get-Mailbox");
	fake_settle(fx->base);
	finish_as(8, HTTP_TIMED_OUT, 0, 0, NULL);
	fake_advance(fx->base, 30000);
	assert_failed(3, WIRE_E_TIMEOUT);
	assert_int_equal(nxfers, 9);
}

static void test_no_retry_after_partial_page(void **state)
{
	(void)state;
	/* The client already has part of the page: sending it again would repeat records. */
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	feed(0, 200, "{\"value\":[{\"n\":1},{\"n\":2},");
	finish_as(0, HTTP_FAILED, 200, 0, NULL);
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[0].end.count, 2);
	fake_advance(fx->base, 60000);
	assert_int_equal(nxfers, 1);
	/* A complete page ended by a reset (HTTP/2) is an answer, not a failure. */
	start(1, "Get-Mailbox");
	fake_settle(fx->base);
	feed(1, 200, "{\"value\":[{\"n\":1}]}");
	finish_as(1, HTTP_FAILED, 200, 0, NULL);
	assert_ok(1, 1);
}

/*
 * Each retry of a page backs off longer, never hot: the n-th waits between
 * half and all of 1 s * 2^(n-1) (EXO_RETRY_BASE_MS, jittered); after
 * EXO_MAX_RETRIES (4) retries the run fails with the last answer.
 */
static void test_backoff_grows_and_is_bounded(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	for (int i = 0; i < 4; i++) {
		long long cap = 1000LL << i, wait;

		finish(i, 503, 0, NULL);
		wait = fake_next_timer_in();
		assert_true(wait >= cap / 2 && wait <= cap);
		fake_advance(fx->base, wait - 1);
		assert_int_equal(nxfers, i + 1);
		fake_advance(fx->base, 1);
		assert_int_equal(nxfers, i + 2);
	}
	finish(4, 503, 0, NULL);
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[0].end.http_status, 503);
	fake_advance(fx->base, 600000);
	assert_int_equal(nxfers, 5);
}

/* A throttled read goes again when Retry-After says, even when the backoff would say later. */
static void test_retry_after_not_backoff(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	/* Three transient failures: a fourth backoff would be 4 to 8 s. */
	for (int i = 0; i < 3; i++) {
		finish(i, 503, 0, NULL);
		fake_advance(fx->base, fake_next_timer_in());
		assert_int_equal(nxfers, i + 2);
	}
	feed(3, 429, "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"later\"}}");
	finish(3, 429, 1, NULL);
	assert_int_equal(sinks[0].done, 0);
	assert_int_equal(fake_next_timer_in(), 1000);
	fake_advance(fx->base, 999);
	assert_int_equal(nxfers, 4);
	fake_advance(fx->base, 1);
	assert_int_equal(nxfers, 5);
	page(4, 200, "{\"value\":[{\"n\":1}]}");
	assert_ok(0, 1);
}

/* A 503 with a Retry-After longer than the backoff waits the Retry-After. */
static void test_unavailable_retry_after_honoured(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	finish(0, 503, 20, NULL);
	assert_int_equal(fake_next_timer_in(), 20000);
	fake_advance(fx->base, 19999);
	assert_int_equal(nxfers, 1);
	fake_advance(fx->base, 1);
	assert_int_equal(nxfers, 2);
	page(1, 200, "{\"value\":[]}");
	assert_ok(0, 0);
}

/* A 500 the service does not call transient fails a read at once: it would fail the same way. */
static void test_permanent_server_error_not_retried(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	feed(0, 500, "{\"error\":{\"code\":\"InternalServerError\",\"message\":"
		     "\"Cannot process argument transformation on parameter 'Identity'.\"}}");
	finish(0, 500, 0, NULL);
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[0].end.http_status, 500);
	fake_advance(fx->base, 600000);
	assert_int_equal(nxfers, 1);
	/* One the service calls transient is retried. */
	start(1, "Get-Mailbox");
	fake_settle(fx->base);
	feed(1, 500, "{\"error\":{\"code\":\"InternalServerError\",\"message\":"
		     "\"DCOverloadedException: try again\"}}");
	finish(1, 500, 0, NULL);
	assert_int_equal(sinks[1].done, 0);
	fake_advance(fx->base, fake_next_timer_in());
	assert_int_equal(nxfers, 3);
	page(2, 200, "{\"value\":[]}");
	assert_ok(1, 0);
}

static void test_unauthorized_once(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	finish(0, 401, 0, "Bearer realm=\"\", error=\"insufficient_claims\", "
			  "claims=\"eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZX19fQ==\"");
	/* The token is refused with its generation and the CAE claims, and a new one awaited. */
	assert_int_equal(ft.rejected, 1);
	assert_int_equal(ft.rejected_gen, 1);
	assert_string_equal(ft.claims, "{\"access_token\":{\"nbf\":{\"essential\":true}}}");
	assert_int_equal(nxfers, 1);
	assert_int_equal(token_waiting(), 1);
	token_give(2);
	assert_int_equal(nxfers, 2);
	page(1, 200, "{\"value\":[{\"n\":1}]}");
	assert_ok(0, 1);
	assert_int_equal(ft.accepted_gen, 2);
	/* Twice in one call: the call ends. */
	start(1, "Get-Mailbox");
	fake_settle(fx->base);
	finish(2, 401, 0, NULL);
	assert_int_equal(ft.rejected, 2);
	token_give(3);
	assert_int_equal(nxfers, 4);
	finish(3, 401, 0, NULL);
	assert_int_equal(ft.rejected, 2);
	assert_failed(1, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[1].end.http_status, 401);
	fake_advance(fx->base, 60000);
	assert_int_equal(nxfers, 4);
}

static void test_backpressure_within_page(void **state)
{
	(void)state;
	sinks[0].reply = EXO_SINK_FULL;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	/* The whole chunk is parsed; the client is now full. */
	assert_int_equal(feed(0, 200, "{\"value\":[{\"n\":1},{\"n\":2}"), HTTP_DATA_OK);
	assert_int_equal(sinks[0].records, 2);
	/* More data is held back (left with libcurl, which delivers it again on resume). */
	assert_int_equal(feed(0, 200, ",{\"n\":3}]}"), HTTP_DATA_PAUSE);
	assert_int_equal(feed(0, 200, ",{\"n\":3}]}"), HTTP_DATA_PAUSE);
	assert_int_equal(sinks[0].records, 2);
	assert_int_equal(xfers[0].resumed, 0);
	sinks[0].reply = EXO_SINK_OK;
	exo_call_resume(sinks[0].call);
	assert_int_equal(xfers[0].resumed, 1);
	exo_call_resume(sinks[0].call);         /* not paused: nothing to do */
	assert_int_equal(xfers[0].resumed, 1);
	assert_int_equal(feed(0, 200, ",{\"n\":3}]}"), HTTP_DATA_OK);
	assert_int_equal(sinks[0].records, 3);
	finish(0, 200, 0, NULL);
	assert_ok(0, 3);
}

static void test_backpressure_between_pages(void **state)
{
	(void)state;
	sinks[0].reply = EXO_SINK_FULL;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	page(0, 200, "{\"value\":[{\"n\":1}],\"@odata.nextLink\":\"" NEXT(2) "\"}");
	/* The next page waits until the client has taken this one. */
	assert_int_equal(nxfers, 1);
	fake_advance(fx->base, 300000);
	assert_int_equal(nxfers, 1);
	assert_int_equal(sinks[0].done, 0);
	sinks[0].reply = EXO_SINK_OK;
	exo_call_resume(sinks[0].call);
	assert_int_equal(nxfers, 2);
	assert_string_equal(xfers[1].url, NEXT(2));
	page(1, 200, "{\"value\":[{\"n\":2}]}");
	assert_ok(0, 2);
}

static void test_sink_gone(void **state)
{
	(void)state;
	sinks[0].reply = EXO_SINK_GONE;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	assert_int_equal(feed(0, 200, "{\"value\":[{\"n\":1},{\"n\":2}]}"), HTTP_DATA_ABORT);
	finish_as(0, HTTP_ABORTED, 200, 0, NULL);
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[0].records, 1);
	fake_advance(fx->base, 60000);
	assert_int_equal(nxfers, 1);
}

/* Cancels call 0 wherever it is: nothing more happens, done is never called. */
static void cancel_and_check(void)
{
	int n = nxfers;

	cancel(0);
	fake_advance(fx->base, 3600 * 1000LL);
	assert_int_equal(nxfers, n);
	assert_int_equal(sinks[0].done, 0);
	assert_int_equal(token_waiting(), 0);
	assert_int_equal(fake_next_timer_in(), -1);
}

static void test_cancel_granted(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	assert_int_equal(pool_running(fx->pool), 1);
	cancel_and_check();
	assert_int_equal(nxfers, 0);
}

static void test_cancel_queued(void **state)
{
	(void)state;
	start(1, "Get-Mailbox");
	fake_settle(fx->base);
	start(0, "Get-Mailbox");
	assert_int_equal(pool_queued(fx->pool), 1);
	cancel(0);
	assert_int_equal(pool_queued(fx->pool), 0);
	page(0, 200, "{\"value\":[]}");
	assert_ok(1, 0);
	fake_settle(fx->base);
	assert_int_equal(nxfers, 1);
	assert_int_equal(sinks[0].done, 0);
}

static void test_cancel_waiting_token(void **state)
{
	(void)state;
	ft.valid = 0;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	assert_int_equal(token_waiting(), 1);
	cancel_and_check();
	assert_int_equal(ft.wait_cancels, 1);
	token_give(2);
	assert_int_equal(nxfers, 0);
}

static void test_cancel_transfer(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	feed(0, 200, "{\"value\":[{\"n\":1},{\"n\":");       /* mid-record */
	cancel_and_check();
	assert_true(xfers[0].cancelled);
}

static void test_cancel_error_body(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	feed(0, 500, "{\"error\":{\"code\":\"InternalServerError\",");
	cancel_and_check();
	assert_true(xfers[0].cancelled);
}

static void test_cancel_waiting_sink(void **state)
{
	(void)state;
	sinks[0].reply = EXO_SINK_FULL;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	page(0, 200, "{\"value\":[{\"n\":1}],\"@odata.nextLink\":\"" NEXT(2) "\"}");
	cancel_and_check();
	assert_int_equal(nxfers, 1);
}

static void test_cancel_waiting_retry(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	finish(0, 503, 0, NULL);
	assert_true(fake_next_timer_in() > 0);
	cancel_and_check();
	assert_int_equal(nxfers, 1);
}

static void test_cancel_after_401(void **state)
{
	(void)state;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	finish(0, 401, 0, NULL);
	assert_int_equal(token_waiting(), 1);
	cancel_and_check();
}

static void test_queue_timeout(void **state)
{
	(void)state;
	/* One slot, queue_timeout = 2 s. */
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	start(1, "Get-Mailbox");
	fake_advance(fx->base, 1999);
	assert_int_equal(sinks[1].done, 0);
	fake_advance(fx->base, 1);
	assert_failed(1, WIRE_E_QUEUE_TIMEOUT);
	assert_non_null(strstr(sinks[1].end.message, "queue_timeout"));
	assert_int_equal(pool_queued(fx->pool), 0);
	/* The running call is untouched, and its slot goes to nobody when it ends. */
	page(0, 200, "{\"value\":[{\"n\":1}]}");
	assert_ok(0, 1);
	fake_settle(fx->base);
	assert_int_equal(nxfers, 1);
}

#define MORE "There are more results available than are currently displayed. " \
	"To view them, increase the value for the ResultSize parameter."

/* ResultSize reached with more on the service: the result stops and says so (§3.2). */
static void test_result_size_stops_paging(void **state)
{
	(void)state;
	start_params(0, "Get-Mailbox", "{\"ResultSize\":2}");
	fake_settle(fx->base);
	page(0, 200, "{\"@adminapi.warnings\":[\"" MORE "\"],\"value\":[{\"n\":1},{\"n\":2}],"
		"\"@odata.nextLink\":\"" NEXT(2) "\"}");
	assert_ok(0, 2);
	assert_int_equal(nxfers, 1);
	assert_int_equal(sinks[0].warnings, 1);
	assert_string_equal(sinks[0].last_warning, MORE);
	/* Given as digits, the same. */
	start_params(1, "Get-Mailbox", "{\"resultsize\":\"1\"}");
	fake_settle(fx->base);
	page(1, 200, "{\"value\":[{\"n\":1}],\"@odata.nextLink\":\"" NEXT(2) "\"}");
	assert_ok(1, 1);
	assert_int_equal(nxfers, 2);
}

/* Fewer than ResultSize so far: the next page is fetched and the warning between is dropped. */
static void test_paging_warning_hidden_between_pages(void **state)
{
	(void)state;
	start_params(0, "Get-Mailbox", "{\"ResultSize\":3}");
	fake_settle(fx->base);
	page(0, 200, "{\"@adminapi.warnings\":[\"" MORE "\",\"other\"],\"value\":[{\"n\":1}],"
		"\"@odata.nextLink\":\"" NEXT(2) "\"}");
	assert_int_equal(nxfers, 2);
	assert_int_equal(sinks[0].warnings, 1);
	assert_string_equal(sinks[0].last_warning, "other");
	page(1, 200, "{\"value\":[{\"n\":2}]}");
	assert_ok(0, 2);
	assert_int_equal(sinks[0].warnings, 1);
}

/* Unlimited follows every page; no ResultSize means the module's 1000. */
static void test_unlimited_and_default_result_size(void **state)
{
	char *big = malloc(16 * EXO_DEFAULT_RESULT_SIZE + 256), *q = big;

	(void)state;
	assert_non_null(big);
	start_params(0, "Get-Mailbox", "{\"ResultSize\":\"Unlimited\"}");
	fake_settle(fx->base);
	page(0, 200, "{\"value\":[{\"n\":1},{\"n\":2}],\"@odata.nextLink\":\"" NEXT(2) "\"}");
	assert_int_equal(nxfers, 2);
	page(1, 200, "{\"value\":[{\"n\":3}]}");
	assert_ok(0, 3);
	/* A full default page with a link: the result stops at 1000, with the warning. */
	q += sprintf(q, "{\"@adminapi.warnings\":[\"" MORE "\"],\"value\":[");
	for (int i = 0; i < EXO_DEFAULT_RESULT_SIZE; i++)
		q += sprintf(q, "%s{\"n\":%d}", i > 0 ? "," : "", i);
	sprintf(q, "],\"@odata.nextLink\":\"%s\"}", NEXT(2));
	start(1, "Get-Mailbox");
	fake_settle(fx->base);
	page(2, 200, big);
	assert_ok(1, EXO_DEFAULT_RESULT_SIZE);
	assert_int_equal(nxfers, 3);
	assert_int_equal(sinks[1].warnings, 1);
	free(big);
}

/* @adminapi.errors: each reaches the client with the request id; the run fails after its records. */
static void test_cmdlet_errors_fail_the_run(void **state)
{
	(void)state;
	start(0, "Set-Mailbox");
	fake_settle(fx->base);
	page(0, 200, "{\"value\":[{\"n\":1},{\"n\":2}],"
		"\"@adminapi.errors\":[\"Couldn't find object \\\"x\\\".\",{\"Message\":\"m\"}]}");
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[0].records, 2);
	assert_int_equal(sinks[0].errors, 2);
	assert_string_equal(sinks[0].last_error_rid, "rid-0");
	assert_int_equal(sinks[0].end.count, 2);
	assert_int_equal(sinks[0].end.errors, 2);
	assert_non_null(strstr(sinks[0].end.message, "Set-Mailbox reported 2 errors"));
	assert_true(sinks[0].end.timestamp[0] != '\0');
	/* A confirmation alone is not an error. */
	start(1, "Set-Mailbox");
	fake_settle(fx->base);
	page(1, 200, "{\"@adminapi.confirmationmessage\":\"What if: x\",\"value\":[]}");
	assert_ok(1, 0);
	assert_int_equal(sinks[1].confirmations, 1);
}

/* request_timeout covers the whole run: every page gets what is left of it. */
static void test_run_time_limit(void **state)
{
	(void)state;
	fx->conf.request_timeout = 60;
	start(0, "Get-Mailbox");
	fake_settle(fx->base);
	assert_int_equal(xfers[0].timeout_ms, 60000);
	fake_advance(fx->base, 20000);
	page(0, 200, "{\"value\":[{\"n\":1}],\"@odata.nextLink\":\"" NEXT(2) "\"}");
	assert_int_equal(nxfers, 2);
	assert_int_equal(xfers[1].timeout_ms, 40000);
	fake_advance(fx->base, 39999);
	assert_int_equal(sinks[0].done, 0);
	fake_advance(fx->base, 1);
	assert_failed(0, WIRE_E_TIMEOUT);
	assert_true(xfers[1].cancelled);
	assert_int_equal(sinks[0].end.count, 1);
	assert_non_null(strstr(sinks[0].end.message, "within 60 s"));
	/* A backoff that would pass the limit ends the run at the limit. */
	start(1, "Get-Mailbox");
	fake_settle(fx->base);
	fake_advance(fx->base, 50000);
	finish(nxfers - 1, 503, 0, NULL);
	fake_advance(fx->base, 2000);
	fake_advance(fx->base, 7999);
	finish(nxfers - 1, 503, 0, NULL);
	assert_int_equal(sinks[1].done, 0);
	fake_advance(fx->base, 1);
	assert_failed(1, WIRE_E_TIMEOUT);
	int sent = nxfers;
	fake_advance(fx->base, 60000);
	assert_int_equal(nxfers, sent);
	/* The module's slow cmdlets get its longer limit, matched without regard to case. */
	start(2, "get-distributiongroupmember");
	fake_settle(fx->base);
	assert_int_equal(xfers[nxfers - 1].timeout_ms, 3600000);
	cancel(2);
}

static void start_rq(int i, const struct exo_request *rq)
{
	struct exo_end end;
	int rc;

	in_exo_call = 1;
	rc = exo_call_start(fx->t, rq, &sink_cbs, &sinks[i], &sinks[i].call, &end);
	in_exo_call = 0;
	assert_int_equal(rc, 0);
}

#define ERRORS_PAGE "{\"value\":[{\"n\":1}],\"@adminapi.errors\":[{\"Message\":\"Couldn't find x.\"," \
	"\"ErrorCode\":\"NotFound\"}],\"@adminapi.warnings\":[\"careful\"]}"

/* -ErrorAction: SilentlyContinue hides the errors and the run succeeds; Stop ends it at the first. */
static void test_error_action(void **state)
{
	struct exo_request rq = { .cmdlet = "Set-Mailbox", .on_error = EXO_SILENT };

	(void)state;
	start_rq(0, &rq);
	fake_settle(fx->base);
	page(0, 200, ERRORS_PAGE);
	assert_ok(0, 1);
	assert_int_equal(sinks[0].errors, 0);
	assert_int_equal(sinks[0].end.errors, 1);
	assert_int_equal(sinks[0].warnings, 1);
	rq.on_error = EXO_STOP;
	start_rq(1, &rq);
	fake_settle(fx->base);
	assert_int_equal(feed(1, 200, ERRORS_PAGE), HTTP_DATA_ABORT);
	finish_as(1, HTTP_ABORTED, 200, 0, NULL);
	assert_failed(1, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[1].records, 1);
	assert_int_equal(sinks[1].errors, 0);
	assert_string_equal(sinks[1].end.message, "The running command stopped because the "
			    "preference variable \"ErrorActionPreference\" or common parameter is set "
			    "to Stop: Couldn't find x.");
	assert_string_equal(sinks[1].end.upstream_code, "NotFound");
}

/* -WarningAction: SilentlyContinue hides every warning, the paging one too; Stop ends the run. */
static void test_warning_action(void **state)
{
	struct exo_request rq = { .cmdlet = "Get-Mailbox", .on_warning = EXO_SILENT };

	(void)state;
	start_rq(0, &rq);
	fake_settle(fx->base);
	page(0, 200, "{\"@adminapi.warnings\":[\"w\",\"There are more results available than are "
		"currently displayed.\"],\"value\":[{\"n\":1}]}");
	assert_ok(0, 1);
	assert_int_equal(sinks[0].warnings, 0);
	rq.on_warning = EXO_STOP;
	start_rq(1, &rq);
	fake_settle(fx->base);
	assert_int_equal(feed(1, 200, "{\"value\":[{\"n\":1}],\"@adminapi.warnings\":[\"w\"]}"),
			 HTTP_DATA_ABORT);
	finish_as(1, HTTP_ABORTED, 200, 0, NULL);
	assert_failed(1, WIRE_E_UPSTREAM);
	assert_non_null(strstr(sinks[1].end.message, "\"WarningPreference\" or common parameter is set "
			       "to Stop: w"));
	/* The paging warning, held to the end, stops it there. */
	start_rq(2, &rq);
	fake_settle(fx->base);
	page(nxfers - 1, 200, "{\"@adminapi.warnings\":[\"There are more results available than are "
	     "currently displayed.\"],\"value\":[{\"n\":1}]}");
	assert_failed(2, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[2].records, 1);
	assert_non_null(strstr(sinks[2].end.message, "Stop: There are more results"));
}

/* ---- progress ---- */

static void start_progress(int i, const char *cmdlet)
{
	struct exo_end end;
	int rc;

	in_exo_call = 1;
	rc = exo_call_start(fx->t, &(struct exo_request){ .cmdlet = cmdlet, .progress = 1 },
			    &sink_cbs, &sinks[i], &sinks[i].call, &end);
	in_exo_call = 0;
	assert_int_equal(rc, 0);
	assert_int_equal(sinks[i].nreports, 0);
}

/* The last transfer call i started. */
static int xfer_of(int i)
{
	for (int k = nxfers - 1; k >= 0; k--)
		if (xfers[k].arg == (void *)sinks[i].call)
			return k;
	fail_msg("call %d has no transfer", i);
	return -1;
}

/* Takes report k of sink i, which must be there and in state st. */
static const struct exo_progress *report(int i, int k, enum exo_progress_state st)
{
	const struct exo_progress *p;

	assert_true(k < sinks[i].nreports);
	p = &sinks[i].reports[k];
	assert_int_equal(p->state, st);
	assert_false(sinks[i].report_inside);
	return p;
}

/* Sink i's last report is a wait: st, for retry_in_ms, as retry attempt (0: not a retry). */
static void last_wait(int i, enum exo_progress_state st, long long retry_in_ms, int attempt)
{
	const struct exo_progress *p = report(i, sinks[i].nreports - 1, st);

	assert_int_equal(p->retry_in_ms, retry_in_ms);
	assert_int_equal(p->attempt, attempt);
	assert_int_equal(p->attempts, attempt > 0 ? 4 : 0);
}

/* Queued calls hear how many are ahead of them, and again as the queue moves. */
static void test_progress_queued(void **state)
{
	(void)state;
	/* One slot: 0 runs, 1 and 2 wait. */
	start(0, "Get-Mailbox");
	start_progress(1, "Get-Mailbox");
	start_progress(2, "Get-Mailbox");
	fake_settle(fx->base);
	assert_int_equal(nxfers, 1);
	assert_int_equal(sinks[1].nreports, 1);
	assert_int_equal(report(1, 0, EXO_PROGRESS_QUEUED)->ahead, 0);
	assert_int_equal(sinks[2].nreports, 1);
	assert_int_equal(report(2, 0, EXO_PROGRESS_QUEUED)->ahead, 1);
	/* 0 ends: 1 runs, 2 moves up to the head. */
	page(0, 200, "{\"value\":[]}");
	fake_settle(fx->base);
	assert_int_equal(nxfers, 2);
	assert_int_equal(sinks[1].nreports, 2);
	report(1, 1, EXO_PROGRESS_RUNNING);
	assert_int_equal(sinks[2].nreports, 2);
	assert_int_equal(report(2, 1, EXO_PROGRESS_QUEUED)->ahead, 0);
	cancel(1);
	fake_settle(fx->base);
	report(2, 2, EXO_PROGRESS_RUNNING);
	assert_int_equal(sinks[2].nreports, 3);
	page(2, 200, "{\"value\":[{\"n\":1}]}");
	assert_ok(2, 1);
	/* The last page ends in done, not in another report. */
	assert_int_equal(sinks[2].nreports, 3);
	/* The call that did not ask heard nothing: its sink has no progress. */
	assert_int_equal(sinks[0].nreports, 0);
}

/* A 429 on a read: throttled, with Retry-After and which retry of how many; then a 503: retrying. */
static void test_progress_throttled_retry(void **state)
{
	const struct exo_progress *p;

	(void)state;
	start_progress(0, "Get-Mailbox");
	fake_settle(fx->base);
	assert_int_equal(sinks[0].nreports, 1);
	p = report(0, 0, EXO_PROGRESS_RUNNING);
	assert_int_equal(p->records + p->pages, 0);
	feed(0, 429, "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"later\"}}");
	finish(0, 429, 8, NULL);
	last_wait(0, EXO_PROGRESS_THROTTLED, 8000, 1);
	/* Another call meanwhile waits out the profile's hold: throttled, not a retry of its own. */
	fake_advance(fx->base, 3000);
	start_progress(1, "Get-Mailbox");
	fake_settle(fx->base);
	last_wait(1, EXO_PROGRESS_THROTTLED, 5000, 0);
	/* Retry-After passes: both run. */
	fake_advance(fx->base, 5000);
	assert_int_equal(nxfers, 3);
	report(0, 2, EXO_PROGRESS_RUNNING);
	report(1, 1, EXO_PROGRESS_RUNNING);
	page(xfer_of(1), 200, "{\"value\":[]}");
	assert_ok(1, 0);
	/* A transient failure on the same page: retrying, the second retry. */
	finish(xfer_of(0), 503, 0, NULL);
	p = report(0, 3, EXO_PROGRESS_RETRYING);
	assert_int_equal(p->attempt, 2);
	assert_int_equal(p->attempts, 4);
	assert_true(p->retry_in_ms > 0 && p->retry_in_ms <= 30000);
	assert_int_equal(fake_next_timer_in(), p->retry_in_ms);
	fake_advance(fx->base, p->retry_in_ms);
	report(0, 4, EXO_PROGRESS_RUNNING);
	page(3, 200, "{\"value\":[{\"n\":1}]}");
	assert_ok(0, 1);
	assert_int_equal(sinks[0].nreports, 5);
}

/* Waiting for a token is signing_in; every page ends in a report with the counts so far. */
static void test_progress_pages(void **state)
{
	const struct exo_progress *p;

	(void)state;
	ft.valid = 0;
	start_progress(0, "Get-Mailbox");
	fake_settle(fx->base);
	report(0, 0, EXO_PROGRESS_SIGNING_IN);
	token_give(2);
	report(0, 1, EXO_PROGRESS_RUNNING);
	page(0, 200, "{\"value\":[{\"n\":1},{\"n\":2}],\"@odata.nextLink\":\"" NEXT(2) "\"}");
	p = report(0, 2, EXO_PROGRESS_RUNNING);
	assert_int_equal(p->records, 2);
	assert_int_equal(p->pages, 1);
	/* A client behind on its reading: the page ends waiting for it, still running. */
	sinks[0].reply = EXO_SINK_FULL;
	page(1, 200, "{\"value\":[{\"n\":3}],\"@odata.nextLink\":\"" NEXT(3) "\"}");
	p = report(0, 3, EXO_PROGRESS_RUNNING);
	assert_int_equal(p->records, 3);
	assert_int_equal(p->pages, 2);
	sinks[0].reply = EXO_SINK_OK;
	exo_call_resume(sinks[0].call);
	report(0, 4, EXO_PROGRESS_RUNNING);
	page(2, 200, "{\"value\":[]}");
	assert_ok(0, 3);
	assert_int_equal(sinks[0].nreports, 5);
}

/* ---- Security & Compliance: the regional host ---- */

#define FRONT_DOOR "https://ps.compliance.protection.outlook.com"
#define DISCOVER FRONT_DOOR "/AdminApi/v1.0/contoso.example/EXOModuleFile"
#define ADMIN(region) "https://" region ".admin.protection.outlook.com:446/AdminApi/v1.0/" \
	"contoso.example/EXOModuleFile"
#define REGIONAL(region) "https://" region ".ps.compliance.protection.outlook.com"
#define REGIONAL_INVOKE(region) REGIONAL(region) "/adminapi/beta/contoso.example/InvokeCommand"
#define MOVED_BODY "{\"error\":{\"code\":\"ErrorIncorrectRoutingHint\",\"message\":\"not here\"}}"

/* Transfer i is the discovery: an un-followed GET of the front door, with the cookie jar. */
static void assert_discovery(int i)
{
	assert_true(i < nxfers);
	assert_string_equal(xfers[i].method, "GET");
	assert_string_equal(xfers[i].url, DISCOVER);
	assert_true(xfers[i].cookies);
}

static void assert_invoke(int i, const char *url)
{
	assert_true(i < nxfers);
	assert_string_equal(xfers[i].method, "POST");
	assert_string_equal(xfers[i].url, url);
	assert_true(xfers[i].cookies);
}

/* The first call finds the region; the host stays pinned for the next. */
static void test_region_discovered_and_pinned(void **state)
{
	(void)state;
	assert_string_equal(exo_target_origin(fx->t), FRONT_DOOR);
	assert_null(exo_target_region_host(fx->t));
	start_progress(0, "Get-ComplianceSearch");
	fake_settle(fx->base);
	assert_int_equal(nxfers, 1);
	assert_discovery(0);
	/* Finding the region is part of running: no state of its own on the wire. */
	assert_int_equal(sinks[0].nreports, 1);
	report(0, 0, EXO_PROGRESS_RUNNING);
	redirect(0, 302, ADMIN("nam12b"));
	assert_int_equal(nxfers, 2);
	assert_invoke(1, REGIONAL_INVOKE("nam12b"));
	assert_string_equal(exo_target_region_host(fx->t), REGIONAL("nam12b"));
	page(1, 200, "{\"value\":[{\"n\":1}]}");
	assert_ok(0, 1);
	start(1, "Get-Label");
	fake_settle(fx->base);
	assert_int_equal(nxfers, 3);
	assert_invoke(2, REGIONAL_INVOKE("nam12b"));
	page(2, 200, "{\"value\":[]}");
	assert_ok(1, 0);
}

/* Calls that arrive while the region is being found wait for that one discovery. */
static void test_region_single_flight(void **state)
{
	(void)state;
	start(0, "Get-ComplianceSearch");
	start(1, "Get-DlpCompliancePolicy");
	fake_settle(fx->base);
	assert_int_equal(nxfers, 1);
	assert_discovery(0);
	/* One that leaves meanwhile does not stop the discovery. */
	start(2, "Get-Label");
	fake_settle(fx->base);
	cancel(2);
	redirect(0, 302, ADMIN("nam12b"));
	assert_int_equal(nxfers, 3);
	assert_invoke(1, REGIONAL_INVOKE("nam12b"));
	assert_invoke(2, REGIONAL_INVOKE("nam12b"));
	page(1, 200, "{\"value\":[]}");
	page(2, 200, "{\"value\":[]}");
	assert_ok(0, 0);
	assert_ok(1, 0);
	assert_int_equal(sinks[2].done, 0);
}

/* Transfer i, call sink's discovery, finds nam12b; the call's first page is empty. */
static void found_nam12b(int sink, int i)
{
	assert_discovery(i);
	redirect(i, 302, ADMIN("nam12b"));
	assert_invoke(i + 1, REGIONAL_INVOKE("nam12b"));
	page(i + 1, 200, "{\"value\":[]}");
	assert_ok(sink, 0);
}

/* Pins the region: one call through discovery to nam12b. */
static void pin_nam12b(int sink)
{
	start(sink, "Get-Label");
	fake_settle(fx->base);
	found_nam12b(sink, nxfers - 1);
}

/* A redirect from the regional host: found again, and the page goes to the new region. */
static void test_region_moved_redirect(void **state)
{
	struct exo_stats st;

	(void)state;
	pin_nam12b(0);
	start(1, "Set-Label");          /* a write: it never ran, so it may go again */
	fake_settle(fx->base);
	assert_invoke(2, REGIONAL_INVOKE("nam12b"));
	redirect(2, 302, ADMIN("eur03b"));
	assert_null(exo_target_region_host(fx->t));
	assert_int_equal(nxfers, 4);
	assert_discovery(3);
	redirect(3, 302, ADMIN("eur03b"));
	assert_string_equal(exo_target_region_host(fx->t), REGIONAL("eur03b"));
	assert_invoke(4, REGIONAL_INVOKE("eur03b"));
	assert_string_equal(xfers[4].body, xfers[2].body);
	page(4, 200, "{\"value\":[]}");
	assert_ok(1, 0);
	exo_target_stats(fx->t, &st);
	assert_int_equal(st.failures, 0);
}

/* The Outlook REST answer to a wrong hint means the same (region.c). */
static void test_region_moved_error(void **state)
{
	(void)state;
	pin_nam12b(0);
	start(1, "Get-ComplianceSearch");
	fake_settle(fx->base);
	feed(2, 400, MOVED_BODY);
	finish(2, 400, 0, NULL);
	assert_discovery(3);
	/* Any 3xx names the new host; 301 and 307 as well as 302. */
	redirect(3, 307, "https://EUR03B.Admin.Protection.Outlook.com/x");
	assert_invoke(4, REGIONAL_INVOKE("eur03b"));
	page(4, 200, "{\"value\":[{\"n\":1}]}");
	assert_ok(1, 1);
	/* Another 400 is the cmdlet's own failure, not a move. */
	start(2, "Get-ComplianceSearch");
	fake_settle(fx->base);
	feed(5, 400, "{\"error\":{\"code\":\"BadRequest\",\"message\":\"bad filter\"}}");
	finish(5, 400, 0, NULL);
	assert_failed(2, WIRE_E_UPSTREAM);
	assert_string_equal(sinks[2].end.message, "bad filter");
	assert_int_equal(nxfers, 6);
	assert_string_equal(exo_target_region_host(fx->t), REGIONAL("eur03b"));
}

/* A call follows its tenant once: sent away again, it fails instead of going round. */
static void test_region_moved_twice_fails(void **state)
{
	(void)state;
	pin_nam12b(0);
	start(1, "Get-ComplianceSearch");
	fake_settle(fx->base);
	redirect(2, 302, ADMIN("eur03b"));
	redirect(3, 302, ADMIN("eur03b"));
	redirect(4, 302, ADMIN("nam12b"));
	assert_failed(1, WIRE_E_UPSTREAM);
	assert_non_null(strstr(sinks[1].end.message, "another region again"));
	assert_int_equal(sinks[1].end.http_status, 302);
	assert_int_equal(nxfers, 5);
	/* The next call finds the region afresh. */
	assert_null(exo_target_region_host(fx->t));
	start(2, "Get-Label");
	fake_settle(fx->base);
	found_nam12b(2, 5);
}

/* A next page's link is bound to the host that gave it: a move then ends the run. */
static void test_region_moved_while_paging(void **state)
{
	(void)state;
	pin_nam12b(0);
	start(1, "Get-ComplianceSearch");
	fake_settle(fx->base);
	page(2, 200, "{\"value\":[{\"n\":1}],\"@odata.nextLink\":\"" REGIONAL_INVOKE("nam12b")
		     "?$skiptoken=2\"}");
	assert_invoke(3, REGIONAL_INVOKE("nam12b") "?$skiptoken=2");
	redirect(3, 302, ADMIN("eur03b"));
	assert_failed(1, WIRE_E_UPSTREAM);
	assert_non_null(strstr(sinks[1].end.message, "while its pages were read"));
	assert_int_equal(nxfers, 4);
}

/* The token goes only to the environment's compliance hosts, over https. */
static void test_region_redirect_refused(void **state)
{
	static const char *const bad[] = {
		"https://evil.example/AdminApi/v1.0/contoso.example/EXOModuleFile",
		"https://nam12b.admin.protection.outlook.com.evil.example/x",
		"https://admin.protection.outlook.com/x",
		"http://nam12b.admin.protection.outlook.com/x",
		"https://a.b.admin.protection.outlook.com/x",
		"https://user@nam12b.admin.protection.outlook.com/x",
		"https://nam12b.outlook.office365.us/x",
		"/AdminApi/v1.0/contoso.example/EXOModuleFile",
		"",
	};

	(void)state;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		int before = nxfers;

		memset(&sinks[0], 0, sizeof(sinks[0]));
		start(0, "Get-Label");
		fake_settle(fx->base);
		assert_discovery(before);
		redirect(before, 302, bad[k]);
		assert_failed(0, WIRE_E_UPSTREAM);
		assert_non_null(strstr(sinks[0].end.message, "redirect was not followed"));
		assert_int_equal(nxfers, before + 1);
		assert_null(exo_target_region_host(fx->t));
	}
}

/* A front door that fails for a while is tried again on the call's backoff; a 401 renews the token. */
static void test_region_discovery_retried(void **state)
{
	(void)state;
	start_progress(0, "Set-Label");
	fake_settle(fx->base);
	feed(0, 503, "{\"error\":{\"code\":\"ServiceUnavailable\",\"message\":\"busy\"}}");
	finish(0, 503, 0, NULL);
	assert_int_equal(sinks[0].done, 0);
	assert_int_equal(report(0, sinks[0].nreports - 1, EXO_PROGRESS_RETRYING)->attempt, 1);
	fake_advance(fx->base, 1000);
	assert_int_equal(nxfers, 2);
	assert_discovery(1);
	finish(1, 401, 0, "Bearer error=\"invalid_token\"");
	assert_int_equal(ft.rejected, 1);
	assert_int_equal(token_waiting(), 1);
	token_give(2);
	assert_int_equal(nxfers, 3);
	found_nam12b(0, 2);
}

/* A front door that keeps failing is asked 1 + EXO_MAX_RETRIES (4) times, then the call fails. */
static void test_region_discovery_retries_bounded(void **state)
{
	(void)state;
	start(0, "Get-Label");
	fake_settle(fx->base);
	for (int i = 0; i < 4; i++) {
		assert_discovery(i);
		finish(i, 503, 0, NULL);
		assert_int_equal(sinks[0].done, 0);
		fake_advance(fx->base, fake_next_timer_in());
	}
	assert_int_equal(nxfers, 5);
	assert_discovery(4);
	finish(4, 503, 0, NULL);
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[0].end.http_status, 503);
	fake_advance(fx->base, 600000);
	assert_int_equal(nxfers, 5);
}

/* The front door refusing a fresh token too: one new token, one more try, then the call fails. */
static void test_region_discovery_401_once(void **state)
{
	(void)state;
	start(0, "Get-Label");
	fake_settle(fx->base);
	finish(0, 401, 0, "Bearer error=\"invalid_token\"");
	assert_int_equal(ft.rejected, 1);
	token_give(2);
	assert_int_equal(nxfers, 2);
	assert_discovery(1);
	finish(1, 401, 0, "Bearer error=\"invalid_token\"");
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_int_equal(sinks[0].end.http_status, 401);
	assert_int_equal(ft.rejected, 1);
	assert_int_equal(token_waiting(), 0);
	fake_advance(fx->base, 600000);
	assert_int_equal(nxfers, 2);
}

/* Past its retries, or refused outright, the call fails with the front door's own text. */
static void test_region_discovery_fails(void **state)
{
	(void)state;
	start(0, "Get-Label");
	fake_settle(fx->base);
	feed(0, 403, "{\"error\":{\"code\":\"Forbidden\",\"message\":\"no role\"}}");
	finish(0, 403, 0, NULL);
	assert_failed(0, WIRE_E_UPSTREAM);
	assert_string_equal(sinks[0].end.message,
			    "the Security & Compliance front door answered HTTP 403: no role");
	assert_int_equal(nxfers, 1);
}

/* A front door that answers the discovery itself serves the tenant: it is pinned. */
static void test_region_front_door_serves(void **state)
{
	(void)state;
	start(0, "Get-Label");
	fake_settle(fx->base);
	/* The module file is not read: the status says enough. */
	assert_int_equal(feed(0, 200, "{\"value\":[{\"fileContent\":\""), HTTP_DATA_ABORT);
	finish_as(0, HTTP_ABORTED, 200, 0, NULL);
	assert_string_equal(exo_target_region_host(fx->t), FRONT_DOOR);
	assert_invoke(1, FRONT_DOOR "/adminapi/beta/contoso.example/InvokeCommand");
	page(1, 200, "{\"value\":[]}");
	assert_ok(0, 0);
}

/* A call cancelled while it waits for the region: the discovery still pins for the next. */
static void test_region_cancel_while_discovering(void **state)
{
	(void)state;
	start(0, "Get-Label");
	fake_settle(fx->base);
	cancel(0);
	assert_false(xfers[0].cancelled);
	redirect(0, 302, ADMIN("nam12b"));
	assert_int_equal(nxfers, 1);
	assert_string_equal(exo_target_region_host(fx->t), REGIONAL("nam12b"));
}

/* The run's time limit ends a call waiting for a discovery that does not answer. */
static void test_region_discovery_run_time(void **state)
{
	(void)state;
	start(0, "Get-Label");
	fake_settle(fx->base);
	assert_discovery(0);
	fake_advance(fx->base, 600000);
	assert_failed(0, WIRE_E_TIMEOUT);
	/* The discovery is the profile's, not the call's: region_free ends it. */
	assert_false(xfers[0].cancelled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_never_inside_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup_one_slot, teardown),
		cmocka_unit_test_setup_teardown(test_next_link_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_link_elsewhere_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_link_to_itself_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_page_link_to_itself_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_pages, setup_three_pages, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_read_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_write_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_retry_after_partial_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_grows_and_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_not_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unavailable_retry_after_honoured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permanent_server_error_not_retried, setup,
						 teardown),
		cmocka_unit_test_setup_teardown(test_unauthorized_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure_within_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure_between_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_granted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_queued, setup_one_slot, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_waiting_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_error_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_waiting_sink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_waiting_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_after_401, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_timeout, setup_one_slot, teardown),
		cmocka_unit_test_setup_teardown(test_result_size_stops_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paging_warning_hidden_between_pages, setup,
						 teardown),
		cmocka_unit_test_setup_teardown(test_unlimited_and_default_result_size, setup,
						 teardown),
		cmocka_unit_test_setup_teardown(test_cmdlet_errors_fail_the_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_time_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_action, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warning_action, setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress_queued, setup_one_slot, teardown),
		cmocka_unit_test_setup_teardown(test_progress_throttled_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_discovered_and_pinned, setup_compliance,
						 teardown),
		cmocka_unit_test_setup_teardown(test_region_single_flight, setup_compliance, teardown),
		cmocka_unit_test_setup_teardown(test_region_moved_redirect, setup_compliance, teardown),
		cmocka_unit_test_setup_teardown(test_region_moved_error, setup_compliance, teardown),
		cmocka_unit_test_setup_teardown(test_region_moved_twice_fails, setup_compliance,
						 teardown),
		cmocka_unit_test_setup_teardown(test_region_moved_while_paging, setup_compliance,
						 teardown),
		cmocka_unit_test_setup_teardown(test_region_redirect_refused, setup_compliance,
						 teardown),
		cmocka_unit_test_setup_teardown(test_region_discovery_retried, setup_compliance,
						 teardown),
		cmocka_unit_test_setup_teardown(test_region_discovery_retries_bounded,
						 setup_compliance, teardown),
		cmocka_unit_test_setup_teardown(test_region_discovery_401_once, setup_compliance,
						 teardown),
		cmocka_unit_test_setup_teardown(test_region_discovery_fails, setup_compliance,
						 teardown),
		cmocka_unit_test_setup_teardown(test_region_front_door_serves, setup_compliance,
						 teardown),
		cmocka_unit_test_setup_teardown(test_region_cancel_while_discovering,
						 setup_compliance, teardown),
		cmocka_unit_test_setup_teardown(test_region_discovery_run_time, setup_compliance,
						 teardown),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
