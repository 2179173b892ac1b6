/*
 * Unit tests for daemon/auth_device.c on the fake clock, with a fake
 * token endpoint: polling honours Entra's interval, slow_down lengthens
 * it, and polling ends when the code expires or the person declines.
 */
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
#include "daemon/http.h"
#include "tests/unit/fake_clock.h"

#define MAX_POSTS 64
#define DEVICE_CODE "DAQABAAEAAA-device-code"
#define GRANT "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"

/* ---- fake HTTP: every request the method starts, answered by the test ---- */

struct post {
	char *url;
	char *body;
	http_done_cb on_done;
	void *arg;
	int answered;
	int cancelled;
};

static struct post posts[MAX_POSTS];
static int nposts;

struct http_xfer *__wrap_http_start(struct http *h, const struct http_request *req, char *err,
				    size_t errlen);
void __wrap_http_xfer_cancel(struct http_xfer *x);

struct http_xfer *__wrap_http_start(struct http *h, const struct http_request *req, char *err,
				    size_t errlen)
{
	struct post *p;

	(void)h;
	(void)err;
	(void)errlen;
	http_headers_free(req->headers);
	assert_true(nposts < MAX_POSTS);
	assert_string_equal(req->method, "POST");
	p = &posts[nposts++];
	p->url = strdup(req->url);
	p->body = strndup(req->body, req->body_len);
	p->on_done = req->on_done;
	p->arg = req->arg;
	return (struct http_xfer *)p;
}

void __wrap_http_xfer_cancel(struct http_xfer *x)
{
	struct post *p = (struct post *)x;

	if (p != NULL)
		p->cancelled = 1;
}

static void posts_clear(void)
{
	for (int i = 0; i < nposts; i++) {
		free(posts[i].url);
		free(posts[i].body);
	}
	memset(posts, 0, sizeof(posts));
	nposts = 0;
}

/* The answer to request i: status and JSON body. */
static void answer(int i, long status, const char *body)
{
	struct http_result hr;

	assert_true(i < nposts);
	assert_false(posts[i].answered || posts[i].cancelled);
	memset(&hr, 0, sizeof(hr));
	hr.outcome = HTTP_OK;
	hr.status = status;
	hr.body = body;
	hr.body_len = strlen(body);
	posts[i].answered = 1;
	posts[i].on_done(posts[i].arg, &hr);
}

/* ---- the sign-in and what token.c would hear ---- */

struct fixture {
	struct event_base *base;
	struct conf_profile conf;
	struct auth *a;
	int done;
	struct auth_result res;
	int shown;                      /* the person was shown the code */
	char user_code[32];
};

static struct fixture *fx;

static void on_done(void *arg, struct auth_result *res)
{
	(void)arg;
	fx->done++;
	auth_result_clear(&fx->res);
	fx->res = *res;
	memset(res, 0, sizeof(*res));
}

static void on_progress(void *arg, const struct auth_login_info *info)
{
	(void)arg;
	fx->shown++;
	snprintf(fx->user_code, sizeof(fx->user_code), "%s", info->user_code);
}

static int setup(void **state)
{
	char err[256];

	(void)state;
	fake_clock_reset();
	posts_clear();
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->conf.name = "contoso";
	fx->conf.organization = "contoso.example";
	fx->conf.auth = CONF_AUTH_DEVICE;
	fx->conf.authority_uri = "https://login.example";
	fx->a = auth_new(fx->base, &fx->conf, NULL, on_done, fx, err, sizeof(err));
	assert_non_null(fx->a);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	auth_free(fx->a);
	auth_result_clear(&fx->res);
	event_base_free(fx->base);
	free(fx);
	fx = NULL;
	posts_clear();
	clock_fake(NULL);
	return 0;
}

/* exoctl login: the devicecode request, answered with devicecode_body (its fields as Entra's). */
static void login(const char *devicecode_body)
{
	struct auth_login_req req = { .method = "device" };
	char err[256];

	assert_int_equal(auth_login(fx->a, &req, on_progress, NULL, err, sizeof(err)), 0);
	assert_int_equal(nposts, 1);
	assert_string_equal(posts[0].url, "https://login.example/contoso.example/oauth2/v2.0/devicecode");
	answer(0, 200, devicecode_body);
	assert_int_equal(fx->shown, 1);
	assert_string_equal(fx->user_code, "ABCD-EFGH");
}

/* The next poll comes exactly after ms: not a moment before. */
static void next_poll_after(long long ms)
{
	int before = nposts;

	assert_int_equal(fake_next_timer_in(), ms);
	fake_advance(fx->base, ms - 1);
	assert_int_equal(nposts, before);
	fake_advance(fx->base, 1);
	assert_int_equal(nposts, before + 1);
	assert_string_equal(posts[before].url, "https://login.example/contoso.example/oauth2/v2.0/token");
	assert_non_null(strstr(posts[before].body, GRANT));
	assert_non_null(strstr(posts[before].body, "device_code=" DEVICE_CODE));
}

#define PENDING "{\"error\":\"authorization_pending\",\"error_codes\":[70016]}"
#define SLOW_DOWN "{\"error\":\"slow_down\"}"
#define CODE(interval, expires) "{\"device_code\":\"" DEVICE_CODE "\",\"user_code\":\"ABCD-EFGH\"," \
	"\"verification_uri\":\"https://microsoft.com/devicelogin\",\"message\":\"To sign in...\"" \
	interval expires "}"

/* Polls every interval seconds; each slow_down adds 5 s (RFC 8628 §3.5); a 503 is polled again. */
static void test_interval_and_slow_down(void **state)
{
	(void)state;
	login(CODE(",\"interval\":7", ",\"expires_in\":900"));
	next_poll_after(7000);
	answer(1, 400, PENDING);
	next_poll_after(7000);
	answer(2, 400, SLOW_DOWN);
	next_poll_after(12000);
	answer(3, 400, SLOW_DOWN);
	next_poll_after(17000);
	answer(4, 503, "{\"error\":\"temporarily_unavailable\"}");
	next_poll_after(17000);
	assert_int_equal(fx->done, 0);
	answer(5, 200, "{\"access_token\":\"eyJ0.eyJw.c2ln\",\"refresh_token\":\"0.AAAA\","
		       "\"expires_in\":3599}");
	/* The result comes from the loop. */
	assert_int_equal(fx->done, 0);
	fake_settle(fx->base);
	assert_int_equal(fx->done, 1);
	assert_true(fx->res.ok);
	assert_string_equal(sbuf_str(fx->res.access_token), "eyJ0.eyJw.c2ln");
	assert_int_equal(fake_next_timer_in(), -1);
}

/* No interval: 5 s; a tiny one is held to 0.1 s, a huge one to 60 s. */
static void test_interval_bounds(void **state)
{
	(void)state;
	login(CODE("", ""));
	next_poll_after(5000);
	answer(1, 400, PENDING);
	/* A new login replaces the code and its timer. */
	posts_clear();
	fx->shown = 0;
	login(CODE(",\"interval\":0.001", ""));
	next_poll_after(100);
	answer(1, 400, PENDING);
	posts_clear();
	fx->shown = 0;
	login(CODE(",\"interval\":\"3600\"", ""));
	next_poll_after(60000);
	answer(1, 400, PENDING);
}

/* Once the code has expired, polling ends and the person is told to start again. */
static void test_code_expires(void **state)
{
	int polls;

	(void)state;
	login(CODE(",\"interval\":5", ",\"expires_in\":20"));
	for (polls = 1; fx->done == 0; polls++) {
		assert_true(polls < 10);
		next_poll_after(5000);
		answer(polls, 400, PENDING);
		fake_settle(fx->base);
	}
	assert_int_equal(fx->done, 1);
	assert_false(fx->res.ok);
	assert_false(fx->res.transient);
	assert_int_equal(fx->res.error, WIRE_E_AUTH_FAILED);
	assert_non_null(strstr(fx->res.message, "expired"));
	/* The last poll came after the 20 s were up, and nothing more follows. */
	assert_true(fake_now - FAKE_START_MS > 20000);
	assert_int_equal(fake_next_timer_in(), -1);
	fake_advance(fx->base, 3600 * 1000LL);
	assert_int_equal(nposts, polls);
}

/* The person declined: the sign-in ends at once, not at the code's expiry. */
static void test_declined_ends_polling(void **state)
{
	(void)state;
	login(CODE(",\"interval\":5", ",\"expires_in\":900"));
	next_poll_after(5000);
	answer(1, 400, "{\"error\":\"authorization_declined\"}");
	fake_settle(fx->base);
	assert_int_equal(fx->done, 1);
	assert_false(fx->res.ok);
	assert_int_equal(fx->res.error, WIRE_E_AUTH_FAILED);
	assert_string_equal(fx->res.message, "the sign-in was declined");
	assert_int_equal(fake_next_timer_in(), -1);
	fake_advance(fx->base, 3600 * 1000LL);
	assert_int_equal(nposts, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_interval_and_slow_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interval_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_code_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_declined_ends_polling, setup, teardown),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
