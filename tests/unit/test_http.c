/*
 * daemon/http.c against a local evhttp server: a handle kept configured for
 * its reuse key sends each request's own URL, body, headers and method,
 * and a request of another key (or none) never inherits the last one's.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
/* libevent's status macro would shadow daemon/http.h's outcome of the same name. */
#undef HTTP_OK

#include "daemon/http.h"

#define SEEN_MAX 256

struct seen {
	char method[8];
	char uri[SEEN_MAX];
	char body[SEEN_MAX];
	char header[SEEN_MAX];          /* X-Test, "" when absent */
};

struct fake {
	struct event_base *base;
	struct evhttp *evh;
	struct http *http;
	int port;
	struct seen last;
	int done;
	long status;
};

static void fake_handler(struct evhttp_request *req, void *arg)
{
	struct fake *f = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req), *out = evbuffer_new();
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Test");
	size_t n = evbuffer_get_length(in) < SEEN_MAX - 1 ? evbuffer_get_length(in) : SEEN_MAX - 1;

	snprintf(f->last.method, sizeof(f->last.method), "%s",
		 evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET");
	snprintf(f->last.uri, sizeof(f->last.uri), "%s", evhttp_request_get_uri(req));
	evbuffer_copyout(in, f->last.body, n);
	f->last.body[n] = '\0';
	snprintf(f->last.header, sizeof(f->last.header), "%s", v != NULL ? v : "");
	evbuffer_add(out, "{}", 2);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void fake_done(void *arg, const struct http_result *res)
{
	struct fake *f = arg;

	f->done++;
	f->status = res->status;
	event_base_loopbreak(f->base);
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	assert_non_null(f);
	f->base = event_base_new();
	f->evh = evhttp_new(f->base);
	assert_non_null(f->evh);
	evhttp_set_allowed_methods(f->evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(f->evh, fake_handler, f);
	bs = evhttp_bind_socket_with_handle(f->evh, "127.0.0.1", 0);
	assert_non_null(bs);
	memset(&sin, 0, sizeof(sin));
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
	f->http = http_new(f->base);
	assert_non_null(f->http);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	http_free(f->http);
	evhttp_free(f->evh);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* One request to path, POST with body when body is not NULL, X-Test: header when given. */
static void send_one(struct fake *f, unsigned long long key, struct http_url *parsed, const char *path,
		     const char *body, const char *header)
{
	struct http_headers *hl = NULL;
	char url[128], err[256];
	struct http_request req = {
		.method = body != NULL ? "POST" : "GET",
		.url = url,
		.parsed = parsed,
		.body = body,
		.body_len = body != NULL ? strlen(body) : 0,
		.no_proxy = 1,
		.http1 = 1,
		.timeout_ms = 10000,
		.connect_timeout_ms = 10000,
		.reuse_key = key,
		.on_data = NULL,
		.on_done = fake_done,
		.arg = f,
	};

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port, path);
	if (header != NULL)
		assert_int_equal(http_headers_add(&hl, "X-Test", header), 0);
	req.headers = hl;
	memset(&f->last, 0, sizeof(f->last));
	f->done = 0;
	assert_non_null(http_start(f->http, &req, err, sizeof(err)));
	event_base_dispatch(f->base);
	assert_int_equal(f->done, 1);
	assert_int_equal(f->status, 200);
}

static void test_kept_handle_sends_each_request_as_its_own(void **state)
{
	struct fake *f = *state;
	unsigned long long key = http_reuse_key();
	char url[128];
	struct http_url *parsed;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/parsed", f->port);
	assert_non_null(parsed = http_url_new(url));
	assert_true(http_reuse_key() != key);

	send_one(f, key, parsed, "/ignored", "{\"n\":1}", "one");
	assert_string_equal(f->last.uri, "/parsed");
	assert_string_equal(f->last.body, "{\"n\":1}");
	assert_string_equal(f->last.header, "one");
	/* The same key: the text URL this time, another body, no header. */
	send_one(f, key, NULL, "/next?page=2", "{\"n\":2}", NULL);
	assert_string_equal(f->last.method, "POST");
	assert_string_equal(f->last.uri, "/next?page=2");
	assert_string_equal(f->last.body, "{\"n\":2}");
	assert_string_equal(f->last.header, "");
	/* And back to the parsed URL. */
	send_one(f, key, parsed, "/ignored", "{}", "three");
	assert_string_equal(f->last.uri, "/parsed");
	assert_string_equal(f->last.body, "{}");
	assert_string_equal(f->last.header, "three");
	http_url_free(parsed);
}

static void test_other_key_starts_from_a_reset_handle(void **state)
{
	struct fake *f = *state;
	unsigned long long a = http_reuse_key(), b = http_reuse_key();

	send_one(f, a, NULL, "/a", "{\"a\":1}", "a");
	/* No key: a GET, with nothing of the POST before it. */
	send_one(f, 0, NULL, "/plain", NULL, NULL);
	assert_string_equal(f->last.method, "GET");
	assert_string_equal(f->last.uri, "/plain");
	assert_string_equal(f->last.body, "");
	assert_string_equal(f->last.header, "");
	send_one(f, b, NULL, "/b", "{\"b\":1}", NULL);
	assert_string_equal(f->last.uri, "/b");
	assert_string_equal(f->last.body, "{\"b\":1}");
	assert_string_equal(f->last.header, "");
	send_one(f, a, NULL, "/a2", "{\"a\":2}", "a2");
	assert_string_equal(f->last.method, "POST");
	assert_string_equal(f->last.body, "{\"a\":2}");
	assert_string_equal(f->last.header, "a2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kept_handle_sends_each_request_as_its_own, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_key_starts_from_a_reset_handle, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
