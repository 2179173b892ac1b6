/* Unit tests for daemon/auth_mi.c and daemon/auth_token.c: managed identity and handed-in tokens. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
/* libevent's status macro would shadow daemon/http.h's outcome of the same name. */
#undef HTTP_OK

#include "common/sbuf.h"
#include "daemon/auth.h"
#include "daemon/auth_mi.h"
#include "daemon/cloud.h"
#include "daemon/b64.h"
#include "daemon/http.h"
#include "daemon/jwt.h"

#define ERRLEN 512
#define NOW ((time_t)1700000000)
#define RES "https://outlook.office365.com"
#define IMDS "http://127.0.0.1:40342/metadata/identity/oauth2/token"    /* IMDS's path, on loopback */
#define APPSVC "http://127.0.0.1:41741/msi/token"
#define CLIENT_ID "5e0b2f8a-1c1d-4a8e-9d1b-2f3c4d5e6f70"
#define OBJECT_ID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define MI_RES_ID "/subscriptions/s1/resourceGroups/rg 1/providers/" \
	"Microsoft.ManagedIdentity/userAssignedIdentities/exod"
#define MI_RES_ID_ESC "%2Fsubscriptions%2Fs1%2FresourceGroups%2Frg%201%2Fproviders%2F" \
	"Microsoft.ManagedIdentity%2FuserAssignedIdentities%2Fexod"
#define FAKE_MAX 8
#define IDENTITY_SECRET "s3cret-identity-header"

/* ---- expires_in / expires_on ---- */

static void test_expires_in_text(void **state)
{
	(void)state;
	assert_int_equal(auth_mi_expires_in("3599", NULL, NOW), 3599);
	/* expires_in wins over expires_on: it does not depend on the clock. */
	assert_int_equal(auth_mi_expires_in("3599", "1700000100", NOW), 3599);
	assert_int_equal(auth_mi_expires_in(NULL, "1700003600", NOW), 3600);
	assert_int_equal(auth_mi_expires_in("", "1700000100", NOW), 100);
	assert_int_equal(auth_mi_expires_in("0", "1700000100", NOW), 100);
	assert_int_equal(auth_mi_expires_in("-5", "1700000100", NOW), 100);
	assert_int_equal(auth_mi_expires_in("3599.5", "1700000100", NOW), 100);
	assert_int_equal(auth_mi_expires_in("12abc", "1700000100", NOW), 100);
	assert_int_equal(auth_mi_expires_in("99999999", "1700000100", NOW), 100);
	assert_int_equal(auth_mi_expires_in("99999999999999999999999", "1700000100", NOW), 100);
	/* Nothing usable: absent, in the past, now, or absurdly far. */
	assert_int_equal(auth_mi_expires_in(NULL, NULL, NOW), -1);
	assert_int_equal(auth_mi_expires_in(NULL, "1699999999", NOW), -1);
	assert_int_equal(auth_mi_expires_in(NULL, "1700000000", NOW), -1);
	assert_int_equal(auth_mi_expires_in(NULL, "9999999999", NOW), -1);
	/* The 2017-09-01 protocol's date strings are not numbers. */
	assert_int_equal(auth_mi_expires_in(NULL, "09/14/2017 00:00:00 PM +00:00", NOW), -1);
}

static struct http_result answer(long status, const char *body)
{
	struct http_result hr;

	memset(&hr, 0, sizeof(hr));
	hr.outcome = HTTP_OK;
	hr.status = status;
	hr.body = body;
	hr.body_len = strlen(body);
	return hr;
}

static void parse_ok(const char *body, enum auth_mi_kind kind, long expires_in, long refresh_in)
{
	struct http_result hr = answer(200, body);
	struct auth_result res;

	auth_mi_parse_response(&hr, kind, NOW, &res);
	assert_true(res.ok);
	assert_string_equal(sbuf_str(res.access_token), "eyJ0.eyJw.c2ln");
	assert_null(res.refresh_token);
	assert_int_equal(res.expires_in, expires_in);
	assert_int_equal(res.refresh_in, refresh_in);
	auth_result_clear(&res);
}

static void test_parse_token_forms(void **state)
{
	(void)state;
	/* IMDS: every number is a string. */
	parse_ok("{\"access_token\":\"eyJ0.eyJw.c2ln\",\"refresh_token\":\"\",\"expires_in\":\"3599\","
		 "\"expires_on\":\"1700003599\",\"not_before\":\"1700000000\",\"token_type\":\"Bearer\"}",
		 AUTH_MI_IMDS, 3599, 0);
	parse_ok("{\"access_token\":\"eyJ0.eyJw.c2ln\",\"expires_in\":3000}", AUTH_MI_IMDS, 3000, 0);
	/* App Service: expires_on only, as a string or a number. */
	parse_ok("{\"access_token\":\"eyJ0.eyJw.c2ln\",\"expires_on\":\"1700001800\"}",
		 AUTH_MI_APP_SERVICE, 1800, 0);
	parse_ok("{\"access_token\":\"eyJ0.eyJw.c2ln\",\"expires_on\":1700001800}",
		 AUTH_MI_APP_SERVICE, 1800, 0);
	/* Long-lived tokens are renewed at half-life. */
	parse_ok("{\"access_token\":\"eyJ0.eyJw.c2ln\",\"expires_in\":\"86400\"}", AUTH_MI_IMDS,
		 86400, 43200);
	parse_ok("{\"access_token\":\"eyJ0.eyJw.c2ln\",\"expires_on\":\"1700007200\"}",
		 AUTH_MI_APP_SERVICE, 7200, 3600);
}

static void parse_fail(long status, const char *body, enum auth_mi_kind kind, int transient,
		       const char *want1, const char *want2)
{
	struct http_result hr = answer(status, body);
	struct auth_result res;

	auth_mi_parse_response(&hr, kind, NOW, &res);
	assert_false(res.ok);
	assert_null(res.access_token);
	assert_int_equal(res.error, WIRE_E_AUTH_FAILED);
	assert_int_equal(res.transient, transient);
	if (strstr(res.message, want1) == NULL || strstr(res.message, want2) == NULL)
		fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", res.message, want1, want2);
	/* No token text may reach a message. */
	assert_null(strstr(res.message, "eyJ"));
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_fail(400, "{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}",
		   AUTH_MI_IMDS, 0, "managed identity (IMDS): HTTP 400: invalid_request",
		   "Identity not found");
	parse_fail(400, "{\"statusCode\":400,\"message\":\"Unable to load the proper Managed "
		   "Identity.\\r\\nTrace: x\"}", AUTH_MI_APP_SERVICE, 0,
		   "managed identity (App Service): HTTP 400: Unable to load the proper Managed "
		   "Identity.", "App Service");
	parse_fail(403, "not json", AUTH_MI_IMDS, 0, "(IMDS): HTTP 403", "IMDS");
	parse_fail(503, "{\"error\":\"temporarily_unavailable\"}", AUTH_MI_IMDS, 1,
		   "HTTP 503: temporarily_unavailable", "IMDS");
	parse_fail(200, "{\"expires_in\":\"3599\"}", AUTH_MI_IMDS, 1, "no usable access_token", "IMDS");
	parse_fail(200, "[\"eyJ0.eyJw.c2ln\"]", AUTH_MI_IMDS, 0, "HTTP 200", "IMDS");
	/* A token that would break the Authorization header is refused. */
	parse_fail(200, "{\"access_token\":\"eyJ0.eyJw\\r\\nX-Evil: 1\",\"expires_in\":\"3599\"}",
		   AUTH_MI_IMDS, 1, "no usable access_token", "IMDS");
	parse_fail(200, "{\"access_token\":\"eyJ0.eyJw.c2ln\",\"expires_on\":\"1600000000\"}",
		   AUTH_MI_APP_SERVICE, 1, "no usable expires_in or expires_on", "App Service");
}

static void test_parse_transport_and_retry_after(void **state)
{
	struct http_result hr = answer(429, "{}");
	struct auth_result res;

	(void)state;
	hr.retry_after = 7;
	auth_mi_parse_response(&hr, AUTH_MI_IMDS, NOW, &res);
	assert_int_equal(res.retry_after, 7);
	assert_true(res.transient);
	hr.retry_after = 86400;
	auth_mi_parse_response(&hr, AUTH_MI_IMDS, NOW, &res);
	assert_int_equal(res.retry_after, AUTH_MI_MAX_RETRY_AFTER_S);

	memset(&hr, 0, sizeof(hr));
	hr.outcome = HTTP_TIMED_OUT;
	hr.error = "Operation timed out after 10000 milliseconds";
	auth_mi_parse_response(&hr, AUTH_MI_APP_SERVICE, NOW, &res);
	assert_false(res.ok);
	assert_int_equal(res.error, WIRE_E_TIMEOUT);
	assert_true(res.transient);
	assert_non_null(strstr(res.message, "App Service"));
	assert_non_null(strstr(res.message, "timed out"));
}

/* ---- URLs ---- */

static void assert_url(enum auth_mi_kind kind, const char *endpoint, const char *client_id,
		       const char *object_id, const char *resource_id, const char *want)
{
	struct conf_profile c;
	char *url = NULL;

	memset(&c, 0, sizeof(c));
	c.managed_identity_client_id = (char *)client_id;
	c.managed_identity_object_id = (char *)object_id;
	c.managed_identity_resource_id = (char *)resource_id;
	assert_int_equal(auth_mi_url(kind, endpoint, RES, &c, &url), 0);
	assert_string_equal(url, want);
	free(url);
}

static void test_url_imds(void **state)
{
	(void)state;
	assert_url(AUTH_MI_IMDS, IMDS, NULL, NULL, NULL,
		   IMDS "?api-version=2018-02-01&resource=https%3A%2F%2Foutlook.office365.com");
	assert_url(AUTH_MI_IMDS, IMDS, CLIENT_ID, NULL, NULL,
		   IMDS "?api-version=2018-02-01&resource=https%3A%2F%2Foutlook.office365.com"
		   "&client_id=" CLIENT_ID);
	assert_url(AUTH_MI_IMDS, IMDS, NULL, OBJECT_ID, NULL,
		   IMDS "?api-version=2018-02-01&resource=https%3A%2F%2Foutlook.office365.com"
		   "&object_id=" OBJECT_ID);
	assert_url(AUTH_MI_IMDS, IMDS, NULL, NULL, MI_RES_ID,
		   IMDS "?api-version=2018-02-01&resource=https%3A%2F%2Foutlook.office365.com"
		   "&msi_res_id=" MI_RES_ID_ESC);
	/* An endpoint that already has a query keeps it. */
	assert_url(AUTH_MI_IMDS, "http://127.0.0.1:8080/token?x=1", NULL, NULL, NULL,
		   "http://127.0.0.1:8080/token?x=1&api-version=2018-02-01"
		   "&resource=https%3A%2F%2Foutlook.office365.com");
}

static void test_url_app_service(void **state)
{
	(void)state;
	assert_url(AUTH_MI_APP_SERVICE, APPSVC, NULL, NULL, NULL,
		   APPSVC "?api-version=2019-08-01&resource=https%3A%2F%2Foutlook.office365.com");
	assert_url(AUTH_MI_APP_SERVICE, APPSVC, CLIENT_ID, NULL, NULL,
		   APPSVC "?api-version=2019-08-01&resource=https%3A%2F%2Foutlook.office365.com"
		   "&client_id=" CLIENT_ID);
	assert_url(AUTH_MI_APP_SERVICE, APPSVC, NULL, OBJECT_ID, NULL,
		   APPSVC "?api-version=2019-08-01&resource=https%3A%2F%2Foutlook.office365.com"
		   "&object_id=" OBJECT_ID);
	assert_url(AUTH_MI_APP_SERVICE, APPSVC, NULL, NULL, MI_RES_ID,
		   APPSVC "?api-version=2019-08-01&resource=https%3A%2F%2Foutlook.office365.com"
		   "&mi_res_id=" MI_RES_ID_ESC);
}

static void test_choose_endpoint(void **state)
{
	enum auth_mi_kind kind;
	const char *ep = NULL;
	char err[ERRLEN];

	(void)state;
	assert_int_equal(auth_mi_choose(NULL, NULL, APPSVC, &kind, &ep, err, ERRLEN), 0);
	assert_int_equal(kind, AUTH_MI_IMDS);
	assert_string_equal(ep, AUTH_MI_IMDS_ENDPOINT);   /* the default, compared as text */
	assert_int_equal(auth_mi_choose("http://127.0.0.1:1/t", "", NULL, &kind, &ep, err, ERRLEN), 0);
	assert_int_equal(kind, AUTH_MI_IMDS);
	assert_string_equal(ep, "http://127.0.0.1:1/t");
	assert_int_equal(auth_mi_choose(NULL, IDENTITY_SECRET, APPSVC, &kind, &ep, err, ERRLEN), 0);
	assert_int_equal(kind, AUTH_MI_APP_SERVICE);
	assert_string_equal(ep, APPSVC);
	/* The profile's endpoint overrides the environment's. */
	assert_int_equal(auth_mi_choose("http://127.0.0.1:1/t", IDENTITY_SECRET, APPSVC, &kind, &ep,
					err, ERRLEN), 0);
	assert_int_equal(kind, AUTH_MI_APP_SERVICE);
	assert_string_equal(ep, "http://127.0.0.1:1/t");

	assert_int_equal(auth_mi_choose(NULL, IDENTITY_SECRET, NULL, &kind, &ep, err, ERRLEN), -1);
	assert_non_null(strstr(err, "IDENTITY_ENDPOINT"));
	assert_null(strstr(err, IDENTITY_SECRET));
	assert_int_equal(auth_mi_choose(NULL, IDENTITY_SECRET, "file:///etc/passwd", &kind, &ep, err,
					ERRLEN), -1);
	assert_int_equal(auth_mi_choose(NULL, "abc\r\nX-Evil: 1", APPSVC, &kind, &ep, err, ERRLEN), -1);
	assert_null(strstr(err, "X-Evil"));
}

/* ---- retries ---- */

static void test_retryable(void **state)
{
	static const long yes[] = { 404, 410, 429, 500, 502, 503, 504, 599 };
	static const long no[] = { 200, 400, 401, 403, 405, 409, 499, 600 };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(auth_mi_retryable(yes[i], HTTP_OK));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(auth_mi_retryable(no[i], HTTP_OK));
	assert_true(auth_mi_retryable(0, HTTP_NOT_SENT));
	assert_true(auth_mi_retryable(0, HTTP_FAILED));
	assert_true(auth_mi_retryable(0, HTTP_TIMED_OUT));
	assert_false(auth_mi_retryable(0, HTTP_ABORTED));
}

static void test_retry_delay(void **state)
{
	(void)state;
	assert_int_equal(auth_mi_retry_delay(1, 0), 1);
	assert_int_equal(auth_mi_retry_delay(2, 0), 2);
	assert_int_equal(auth_mi_retry_delay(3, 0), 4);
	assert_int_equal(auth_mi_retry_delay(4, 0), 8);
	assert_int_equal(auth_mi_retry_delay(40, 0), AUTH_MI_MAX_RETRY_AFTER_S);
	/* Retry-After (seconds, as http.c parsed it) when it asks for longer, up to the cap. */
	assert_int_equal(auth_mi_retry_delay(1, 5), 5);
	assert_int_equal(auth_mi_retry_delay(4, 5), 8);
	assert_int_equal(auth_mi_retry_delay(1, 3600), AUTH_MI_MAX_RETRY_AFTER_S);
	assert_int_equal(auth_mi_retry_delay(2, -1), 2);
}

/* ---- the managed identity method against a local endpoint ---- */

struct fake {
	struct event_base *base;
	struct evhttp *evh;
	int port;
	int nreq;
	int nanswers;
	int status[FAKE_MAX];
	const char *body[FAKE_MAX];
	char uri[1024];
	char metadata[32];
	char identity_header[128];
	int done;
	struct auth_result res;
};

static void fake_handler(struct evhttp_request *req, void *arg)
{
	struct fake *f = arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *v;
	int i = f->nreq < f->nanswers ? f->nreq : f->nanswers - 1;
	struct evbuffer *out = evbuffer_new();

	f->nreq++;
	snprintf(f->uri, sizeof(f->uri), "%s", evhttp_request_get_uri(req));
	v = evhttp_find_header(in, "Metadata");
	snprintf(f->metadata, sizeof(f->metadata), "%s", v != NULL ? v : "");
	v = evhttp_find_header(in, "X-IDENTITY-HEADER");
	snprintf(f->identity_header, sizeof(f->identity_header), "%s", v != NULL ? v : "");
	evbuffer_add(out, f->body[i], strlen(f->body[i]));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evhttp_send_reply(req, f->status[i], "X", out);
	evbuffer_free(out);
}

static void fake_done(void *arg, struct auth_result *res)
{
	struct fake *f = arg;

	f->done++;
	f->res = *res;
	memset(res, 0, sizeof(*res));
	event_base_loopbreak(f->base);
}

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	assert_non_null(f);
	f->base = event_base_new();
	f->evh = evhttp_new(f->base);
	assert_non_null(f->evh);
	evhttp_set_gencb(f->evh, fake_handler, f);
	bs = evhttp_bind_socket_with_handle(f->evh, "127.0.0.1", 0);
	assert_non_null(bs);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
	/* A proxy that does not exist: the method must not use it. */
	setenv("http_proxy", "http://127.0.0.1:9", 1);
	unsetenv("IDENTITY_HEADER");
	unsetenv("IDENTITY_ENDPOINT");
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	auth_result_clear(&f->res);
	evhttp_free(f->evh);
	event_base_free(f->base);
	free(f);
	unsetenv("http_proxy");
	unsetenv("IDENTITY_HEADER");
	unsetenv("IDENTITY_ENDPOINT");
	return 0;
}

/* Runs one sign-in against the fake; the profile's endpoint or $IDENTITY_ENDPOINT points at it. */
static void fake_sign_in(struct fake *f, const char *client_id, int endpoint_in_env)
{
	struct conf_profile c;
	struct auth *a;
	struct http *h = http_new(f->base);
	char endpoint[128], err[ERRLEN];

	assert_non_null(h);
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/metadata/identity/oauth2/token",
		 f->port);
	memset(&c, 0, sizeof(c));
	c.name = (char *)"mi";
	c.auth = CONF_AUTH_MANAGED_IDENTITY;
	c.managed_identity_client_id = (char *)client_id;
	if (endpoint_in_env)
		setenv("IDENTITY_ENDPOINT", endpoint, 1);
	else
		c.managed_identity_endpoint = endpoint;
	a = auth_new(f->base, &c, h, fake_done, f, err, ERRLEN);
	assert_non_null(a);
	auth_start(a, NULL);
	/* The result comes from the loop, never from inside auth_start. */
	assert_int_equal(f->done, 0);
	event_base_dispatch(f->base);
	assert_int_equal(f->done, 1);
	auth_free(a);
	http_free(h);
}

static void test_method_imds_ok(void **state)
{
	struct fake *f = *state;

	f->nanswers = 1;
	f->status[0] = 200;
	f->body[0] = "{\"access_token\":\"eyJ0.eyJw.c2ln\",\"expires_in\":\"3599\",\"expires_on\":\"1\"}";
	fake_sign_in(f, CLIENT_ID, 0);
	assert_int_equal(f->nreq, 1);
	assert_string_equal(f->uri, "/metadata/identity/oauth2/token?api-version=2018-02-01"
			    "&resource=https%3A%2F%2Foutlook.office365.com&client_id=" CLIENT_ID);
	assert_string_equal(f->metadata, "true");
	assert_string_equal(f->identity_header, "");
	assert_true(f->res.ok);
	assert_string_equal(sbuf_str(f->res.access_token), "eyJ0.eyJw.c2ln");
	assert_int_equal(f->res.expires_in, 3599);
}

static void test_method_permanent_error(void **state)
{
	struct fake *f = *state;

	f->nanswers = 2;
	f->status[0] = 400;
	f->body[0] = "{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}";
	f->status[1] = 200;
	f->body[1] = "{\"access_token\":\"eyJ0.eyJw.c2ln\",\"expires_in\":\"3599\"}";
	fake_sign_in(f, NULL, 0);
	assert_int_equal(f->nreq, 1);
	assert_false(f->res.ok);
	assert_false(f->res.transient);
	assert_int_equal(f->res.error, WIRE_E_AUTH_FAILED);
	assert_non_null(strstr(f->res.message, "IMDS"));
	assert_non_null(strstr(f->res.message, "Identity not found"));
}

static void test_method_retries_then_succeeds(void **state)
{
	struct fake *f = *state;

	f->nanswers = 2;
	f->status[0] = 410;
	f->body[0] = "{\"error\":\"temporarily_unavailable\"}";
	f->status[1] = 200;
	f->body[1] = "{\"access_token\":\"eyJ0.eyJw.c2ln\",\"expires_in\":\"86400\"}";
	fake_sign_in(f, NULL, 0);
	assert_int_equal(f->nreq, 2);
	assert_true(f->res.ok);
	assert_string_equal(sbuf_str(f->res.access_token), "eyJ0.eyJw.c2ln");
	assert_int_equal(f->res.expires_in, 86400);
	assert_int_equal(f->res.refresh_in, 43200);
}

static void test_method_app_service(void **state)
{
	struct fake *f = *state;

	setenv("IDENTITY_HEADER", IDENTITY_SECRET, 1);
	f->nanswers = 1;
	f->status[0] = 401;
	f->body[0] = "{\"statusCode\":401,\"message\":\"bad header " IDENTITY_SECRET "\"}";
	fake_sign_in(f, NULL, 1);
	assert_int_equal(f->nreq, 1);
	assert_string_equal(f->uri, "/metadata/identity/oauth2/token?api-version=2019-08-01"
			    "&resource=https%3A%2F%2Foutlook.office365.com");
	assert_string_equal(f->identity_header, IDENTITY_SECRET);
	assert_false(f->res.ok);
	assert_false(f->res.transient);
	assert_non_null(strstr(f->res.message, "App Service"));
	assert_non_null(strstr(f->res.message, "401"));
	assert_null(strstr(f->res.message, IDENTITY_SECRET));
}

static void test_method_init_error(void **state)
{
	struct conf_profile c;
	struct event_base *base = event_base_new();
	char err[ERRLEN];

	(void)state;
	setenv("IDENTITY_HEADER", IDENTITY_SECRET, 1);
	unsetenv("IDENTITY_ENDPOINT");
	memset(&c, 0, sizeof(c));
	c.name = (char *)"mi";
	c.auth = CONF_AUTH_MANAGED_IDENTITY;
	assert_null(auth_new(base, &c, NULL, NULL, NULL, err, ERRLEN));
	event_base_free(base);
	assert_non_null(strstr(err, "profile mi: "));
	assert_non_null(strstr(err, "IDENTITY_ENDPOINT"));
	assert_null(strstr(err, IDENTITY_SECRET));
	unsetenv("IDENTITY_HEADER");
}

/* ---- auth = access_token ---- */

struct tok {
	char dir[64];
	char path[PATH_MAX];
	struct conf_profile conf;
	struct event_base *base;
	struct auth *a;
	int done;
	struct auth_result res;
};

static void tok_done(void *arg, struct auth_result *res)
{
	struct tok *t = arg;

	t->done++;
	auth_result_clear(&t->res);
	t->res = *res;
	memset(res, 0, sizeof(*res));
}

static void tok_write(struct tok *t, const char *text, mode_t mode)
{
	int fd = open(t->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* An unsigned JWT with the given payload; returns a malloc'd string. */
static char *tok_jwt(const char *payload)
{
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	char *h = NULL, *p = NULL, *out = NULL;

	assert_int_equal(b64url_encode((const unsigned char *)header, strlen(header), &h), 0);
	assert_int_equal(b64url_encode((const unsigned char *)payload, strlen(payload), &p), 0);
	assert_true(asprintf(&out, "%s.%s.c2lnbmF0dXJl", h, p) > 0);
	free(h);
	free(p);
	return out;
}

static char *tok_jwt_exp(long long exp)
{
	char payload[128];

	snprintf(payload, sizeof(payload), "{\"aud\":\"" RES "\",\"exp\":%lld}", exp);
	return tok_jwt(payload);
}

static int tok_setup(void **state)
{
	struct tok *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_auth_mi.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/token", t->dir);
	t->conf.name = (char *)"tok";
	t->conf.auth = CONF_AUTH_ACCESS_TOKEN;
	t->conf.access_token_file = t->path;
	t->base = event_base_new();
	assert_non_null(t->base);
	*state = t;
	return 0;
}

static int tok_teardown(void **state)
{
	struct tok *t = *state;

	auth_result_clear(&t->res);
	auth_free(t->a);
	event_base_free(t->base);
	unlink(t->path);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void tok_start(struct tok *t)
{
	char err[ERRLEN];

	/* The method is set up once the file exists: its init checks it. */
	if (t->a == NULL)
		t->a = auth_new(t->base, &t->conf, NULL, tok_done, t, err, ERRLEN);
	assert_non_null(t->a);
	t->done = 0;
	auth_start(t->a, NULL);
	assert_int_equal(t->done, 0);
	event_base_loop(t->base, EVLOOP_NONBLOCK);
	assert_int_equal(t->done, 1);
}

static void test_token_valid_and_reread(void **state)
{
	struct tok *t = *state;
	char *first = tok_jwt_exp((long long)time(NULL) + 3600);
	char *second = tok_jwt_exp((long long)time(NULL) + 7200);
	char line[JWT_MAX_TOKEN];

	tok_write(t, first, 0600);
	tok_start(t);
	assert_true(t->res.ok);
	assert_string_equal(sbuf_str(t->res.access_token), first);
	assert_in_range(t->res.expires_in, 3600 - 60, 3600);
	assert_int_equal(t->res.refresh_in, 30);
	/* A new token written to the file is picked up on the next start. */
	snprintf(line, sizeof(line), "%s\n", second);
	tok_write(t, line, 0600);
	tok_start(t);
	assert_true(t->res.ok);
	assert_string_equal(sbuf_str(t->res.access_token), second);
	assert_in_range(t->res.expires_in, 7200 - 60, 7200);
	free(first);
	free(second);
}

static void test_token_short_lived(void **state)
{
	struct tok *t = *state;
	char *jwt = tok_jwt_exp((long long)time(NULL) + 10);

	tok_write(t, jwt, 0600);
	tok_start(t);
	assert_true(t->res.ok);
	assert_in_range(t->res.expires_in, 1, 10);
	assert_int_equal(t->res.refresh_in, t->res.expires_in);
	free(jwt);
}

static void tok_refused(struct tok *t, const char *want)
{
	tok_start(t);
	assert_false(t->res.ok);
	assert_null(t->res.access_token);
	assert_int_equal(t->res.error, WIRE_E_NEEDS_LOGIN);
	assert_false(t->res.transient);
	if (strstr(t->res.message, want) == NULL || strstr(t->res.message, t->path) == NULL)
		fail_msg("message \"%s\" lacks \"%s\" or the path", t->res.message, want);
	assert_null(strstr(t->res.message, "eyJ"));
}

static void test_token_refused(void **state)
{
	struct tok *t = *state;
	char *expired = tok_jwt_exp(1700000000);
	char *no_exp = tok_jwt("{\"aud\":\"" RES "\"}");
	char err[ERRLEN];

	tok_write(t, expired, 0600);
	tok_refused(t, "expired at 2023-11-14 22:13:20 UTC; write a new one to the file");
	tok_write(t, no_exp, 0600);
	tok_refused(t, "no expiry");
	tok_write(t, "not a token at all", 0600);
	tok_refused(t, "not a JWT");
	tok_write(t, expired, 0644);
	tok_refused(t, t->path);
	unlink(t->path);
	tok_refused(t, t->path);
	assert_null(auth_new(t->base, &t->conf, NULL, tok_done, t, err, ERRLEN));
	assert_non_null(strstr(err, t->path));
	free(expired);
	free(no_exp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expires_in_text),
		cmocka_unit_test(test_parse_token_forms),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_transport_and_retry_after),
		cmocka_unit_test(test_url_imds),
		cmocka_unit_test(test_url_app_service),
		cmocka_unit_test(test_choose_endpoint),
		cmocka_unit_test(test_retryable),
		cmocka_unit_test(test_retry_delay),
		cmocka_unit_test(test_method_init_error),
		cmocka_unit_test_setup_teardown(test_method_imds_ok, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_method_permanent_error, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_method_retries_then_succeeds, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_method_app_service, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_token_valid_and_reread, tok_setup, tok_teardown),
		cmocka_unit_test_setup_teardown(test_token_short_lived, tok_setup, tok_teardown),
		cmocka_unit_test_setup_teardown(test_token_refused, tok_setup, tok_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
