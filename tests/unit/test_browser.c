/*
 * The browser sign-in's pure parts: PKCE (client/browser.c), the
 * redirect's request-line parser, the state comparison, and exod's
 * checks of what exoctl hands in (daemon/auth_browser.c, auth_login_check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client/browser.h"
#include "common/conf.h"
#include "common/sbuf.h"
#include "daemon/auth.h"
#include "daemon/auth_browser.h"

#define UNRESERVED "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* RFC 7636 Appendix B: the verifier and its S256 challenge. */
static void test_challenge_of_rfc7636_example(void **state)
{
	char out[BROWSER_CHALLENGE_LEN + 1], err[256];
	const char *v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

	(void)state;
	assert_int_equal(browser_pkce_challenge(v, strlen(v), out, err, sizeof(err)), 0);
	assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void test_pkce_new_is_fresh_and_consistent(void **state)
{
	struct browser_pkce a, b;
	char want[BROWSER_CHALLENGE_LEN + 1], err[256];
	const char *v;

	(void)state;
	assert_int_equal(browser_pkce_new(&a, err, sizeof(err)), 0);
	assert_int_equal(browser_pkce_new(&b, err, sizeof(err)), 0);
	v = sbuf_str(a.verifier);
	assert_int_equal(sbuf_len(a.verifier), BROWSER_VERIFIER_LEN);
	assert_int_equal(strspn(v, UNRESERVED), BROWSER_VERIFIER_LEN);
	assert_true(auth_browser_verifier_ok(v));       /* what exod will take */
	assert_int_equal(browser_pkce_challenge(v, strlen(v), want, err, sizeof(err)), 0);
	assert_string_equal(a.challenge, want);
	assert_int_equal(strlen(a.state), BROWSER_STATE_LEN);
	assert_int_equal(strspn(a.state, B64URL), BROWSER_STATE_LEN);
	assert_string_not_equal(v, sbuf_str(b.verifier));
	assert_string_not_equal(a.state, b.state);
	browser_pkce_clear(&a);
	browser_pkce_clear(&b);
	assert_null(a.verifier);
	assert_string_equal(a.state, "");
}

static void test_state_equal(void **state)
{
	(void)state;
	assert_true(browser_state_equal("abcDEF-_", "abcDEF-_"));
	assert_false(browser_state_equal("abcDEF-_", "abcDEF-X"));
	assert_false(browser_state_equal("abcDEF-_", "Xbc"));
	assert_false(browser_state_equal("abcDEF-_", "abcDEF-_x"));
	assert_false(browser_state_equal("abcDEF-_", ""));
}

static enum browser_request parse(const char *head, struct browser_redirect *r)
{
	return browser_parse_request(head, strlen(head), r);
}

static void test_parse_code(void **state)
{
	struct browser_redirect r;

	(void)state;
	assert_int_equal(parse("GET /?code=0.AUoA-x_y.z&state=St4te&session_state=abc HTTP/1.1\r\n"
			       "Host: localhost:1234\r\n\r\n", &r), BROWSER_REQ_CODE);
	assert_string_equal(sbuf_str(r.code), "0.AUoA-x_y.z");
	assert_string_equal(r.state, "St4te");
	assert_string_equal(r.error, "");
	browser_redirect_clear(&r);
	assert_null(r.code);
	/* HTTP/1.0, a bare LF, percent-encoding, and no state (a mismatch for the caller) */
	assert_int_equal(parse("GET /?code=a%2Fb%3D HTTP/1.0\n", &r), BROWSER_REQ_CODE);
	assert_string_equal(sbuf_str(r.code), "a/b=");
	assert_string_equal(r.state, "");
	browser_redirect_clear(&r);
}

static void test_parse_error_keeps_the_first_line(void **state)
{
	struct browser_redirect r;

	(void)state;
	assert_int_equal(parse("GET /?error=access_denied&error_description=AADSTS65004%3A+User+"
			       "declined.%0D%0ATrace+ID%3A+1234&state=s HTTP/1.1\r\n\r\n", &r),
			 BROWSER_REQ_ERROR);
	assert_string_equal(r.error, "access_denied");
	assert_string_equal(r.description, "AADSTS65004: User declined.");
	assert_string_equal(r.state, "s");
	browser_redirect_clear(&r);
	/* UTF-8 is text; a byte that is not is refused */
	assert_int_equal(parse("GET /?error=x&error_description=%C3%A9t%C3%A9 HTTP/1.1\r\n", &r),
			 BROWSER_REQ_ERROR);
	assert_string_equal(r.description, "\xc3\xa9t\xc3\xa9");
	browser_redirect_clear(&r);
	assert_int_equal(parse("GET /?error=x&error_description=%C3 HTTP/1.1\r\n", &r),
			 BROWSER_REQ_BAD);
	browser_redirect_clear(&r);
}

static void test_parse_not_found(void **state)
{
	struct browser_redirect r;

	(void)state;
	assert_int_equal(parse("GET /favicon.ico HTTP/1.1\r\n\r\n", &r), BROWSER_REQ_NOT_FOUND);
	assert_int_equal(parse("GET /x?code=a&state=b HTTP/1.1\r\n\r\n", &r), BROWSER_REQ_NOT_FOUND);
	assert_null(r.code);
}

static void test_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"GET /?code=a&state=b HTTP/1.1",                /* no line end */
		"POST /?code=a&state=b HTTP/1.1\r\n",
		"get /?code=a&state=b HTTP/1.1\r\n",
		"GET /?code=a&state=b HTTP/2\r\n",
		"GET /?code=a&state=b  HTTP/1.1\r\n",
		"GET ?code=a&state=b HTTP/1.1\r\n",
		"GET http://localhost/?code=a HTTP/1.1\r\n",
		"GET / HTTP/1.1\r\n",                           /* nothing a sign-in sends */
		"GET /? HTTP/1.1\r\n",
		"GET /?state=b HTTP/1.1\r\n",
		"GET /?code=&state=b HTTP/1.1\r\n",
		"GET /?error=&state=b HTTP/1.1\r\n",          /* fuzz: taken as a code, had none */
		"GET /?error=&code=a&state=b HTTP/1.1\r\n",
		"GET /?code=a&code=a&state=b HTTP/1.1\r\n",
		"GET /?code=a&state=b&state=b HTTP/1.1\r\n",
		"GET /?code=a%zz HTTP/1.1\r\n",
		"GET /?code=a% HTTP/1.1\r\n",
		"GET /?code=a%4 HTTP/1.1\r\n",
		"GET /?code=a%0Ab HTTP/1.1\r\n",                /* a control byte in the code */
		"GET /?code=a+b HTTP/1.1\r\n",                  /* a space in the code */
		"GET /?code=a%00 HTTP/1.1\r\n",
		"GET /?code=a&x=%01 HTTP/1.1\r\n",              /* even in a parameter passed over */
		"GET /?code=\x80 HTTP/1.1\r\n",
		"GET /?code=a\tb HTTP/1.1\r\n",
	};
	struct browser_redirect r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &r) != BROWSER_REQ_BAD)
			fail_msg("taken: %s", bad[i]);
		assert_null(r.code);
	}
}

/* Every limit holds: one byte past it is refused. */
static void test_parse_limits(void **state)
{
	static char line[BROWSER_MAX_HEAD * 2];
	struct browser_redirect r;
	size_t off;

	(void)state;
	off = (size_t)snprintf(line, sizeof(line), "GET /?code=");
	memset(line + off, 'c', BROWSER_MAX_CODE);
	snprintf(line + off + BROWSER_MAX_CODE, sizeof(line) - off - BROWSER_MAX_CODE,
		 " HTTP/1.1\r\n");
	assert_int_equal(parse(line, &r), BROWSER_REQ_CODE);
	assert_int_equal(sbuf_len(r.code), BROWSER_MAX_CODE);
	browser_redirect_clear(&r);
	snprintf(line + off + BROWSER_MAX_CODE, sizeof(line) - off - BROWSER_MAX_CODE,
		 "c HTTP/1.1\r\n");
	assert_int_equal(parse(line, &r), BROWSER_REQ_BAD);

	off = (size_t)snprintf(line, sizeof(line), "GET /?code=a");
	for (int i = 0; i < BROWSER_MAX_PARAMS - 1; i++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, "&p%d=v", i);
	snprintf(line + off, sizeof(line) - off, " HTTP/1.1\r\n");
	assert_int_equal(parse(line, &r), BROWSER_REQ_CODE);
	browser_redirect_clear(&r);
	snprintf(line + off, sizeof(line) - off, "&one=more HTTP/1.1\r\n");
	assert_int_equal(parse(line, &r), BROWSER_REQ_BAD);

	off = (size_t)snprintf(line, sizeof(line), "GET /?code=a&state=");
	memset(line + off, 's', BROWSER_MAX_STATE + 1);
	snprintf(line + off + BROWSER_MAX_STATE + 1, sizeof(line) - off, " HTTP/1.1\r\n");
	assert_int_equal(parse(line, &r), BROWSER_REQ_BAD);
}

static void test_head_complete(void **state)
{
	(void)state;
	assert_true(browser_head_complete("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27));
	assert_true(browser_head_complete("GET / HTTP/1.1\n\n", 16));
	assert_false(browser_head_complete("GET / HTTP/1.1\r\nHost: x\r\n", 25));
}

static void test_exod_verifier_and_redirect_checks(void **state)
{
	char v[AUTH_BROWSER_VERIFIER_MAX + 2];

	(void)state;
	memset(v, 'a', sizeof(v));
	v[AUTH_BROWSER_VERIFIER_MIN - 1] = '\0';
	assert_false(auth_browser_verifier_ok(v));
	v[AUTH_BROWSER_VERIFIER_MIN - 1] = '~';
	v[AUTH_BROWSER_VERIFIER_MIN] = '\0';
	assert_true(auth_browser_verifier_ok(v));
	memset(v, '-', AUTH_BROWSER_VERIFIER_MAX);
	v[AUTH_BROWSER_VERIFIER_MAX] = '\0';
	assert_true(auth_browser_verifier_ok(v));
	v[AUTH_BROWSER_VERIFIER_MAX] = '.';
	v[AUTH_BROWSER_VERIFIER_MAX + 1] = '\0';
	assert_false(auth_browser_verifier_ok(v));
	assert_false(auth_browser_verifier_ok("dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk"));
	assert_false(auth_browser_verifier_ok(NULL));

	assert_true(auth_browser_redirect_ok("http://localhost:1"));
	assert_true(auth_browser_redirect_ok("http://localhost:65535/"));
	assert_true(auth_browser_redirect_ok("http://127.0.0.1:43123"));
	assert_false(auth_browser_redirect_ok("http://localhost:65536"));
	assert_false(auth_browser_redirect_ok("http://localhost:0"));
	assert_false(auth_browser_redirect_ok("http://localhost:080"));
	assert_false(auth_browser_redirect_ok("http://localhost"));
	assert_false(auth_browser_redirect_ok("http://localhost:8080/x"));
	assert_false(auth_browser_redirect_ok("https://localhost:8080"));
	assert_false(auth_browser_redirect_ok("http://localhost.example:8080"));
	assert_false(auth_browser_redirect_ok("http://[::1]:8080"));
	assert_false(auth_browser_redirect_ok(NULL));
}

/* auth_login_check on a profile of method m for a request; 0 or -1, the message in err. */
static int check(enum conf_auth m, const struct auth_login_req *req, char *err, size_t errlen)
{
	struct conf_profile p = { .name = "contoso", .auth = m };

	return auth_login_check(&p, req, err, errlen);
}

static void test_login_check_browser(void **state)
{
	struct sbuf *code = sbuf_dup_str("0.AUoA-code");
	struct sbuf *verifier = sbuf_dup_str("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
	struct auth_login_req full = { "browser", NULL, code, verifier, "http://localhost:43123" };
	struct auth_login_req ask = { .method = "browser" }, part = ask, none = { 0 };
	struct conf_profile p = { .name = "contoso", .auth = CONF_AUTH_INTERACTIVE };
	char err[512];

	(void)state;
	part.code = code;
	assert_int_equal(check(CONF_AUTH_DEVICE, &ask, err, sizeof(err)), 0);
	assert_int_equal(check(CONF_AUTH_DEVICE, &full, err, sizeof(err)), 0);
	assert_int_equal(check(CONF_AUTH_INTERACTIVE, &none, err, sizeof(err)), 0);
	assert_int_equal(check(CONF_AUTH_INTERACTIVE, &part, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"code_verifier\""));
	assert_int_equal(check(CONF_AUTH_PASSWORD, &ask, err, sizeof(err)), -1);
	assert_string_equal(err, "profile contoso signs in with a password: run "
			    "'exoctl login --password -p contoso'");
	assert_int_equal(check(CONF_AUTH_CERTIFICATE, &ask, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "signs in by itself"));
	full.redirect_uri = "http://evil.example:80";
	assert_int_equal(check(CONF_AUTH_DEVICE, &full, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "redirect_uri"));
	none.method = "Browser";
	assert_int_equal(check(CONF_AUTH_DEVICE, &none, err, sizeof(err)), -1);
	assert_string_equal(err, "login \"method\" is \"device\", \"password\" or \"browser\"");
	none.method = "device";
	assert_int_equal(check(CONF_AUTH_INTERACTIVE, &none, err, sizeof(err)), 0);
	assert_true(auth_login_is_browser(&p, NULL));
	assert_false(auth_login_is_browser(&p, "device"));
	p.auth = CONF_AUTH_DEVICE;
	assert_false(auth_login_is_browser(&p, NULL));
	assert_true(auth_login_is_browser(&p, "browser"));
	sbuf_free(code);
	sbuf_free(verifier);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge_of_rfc7636_example),
		cmocka_unit_test(test_pkce_new_is_fresh_and_consistent),
		cmocka_unit_test(test_state_equal),
		cmocka_unit_test(test_parse_code),
		cmocka_unit_test(test_parse_error_keeps_the_first_line),
		cmocka_unit_test(test_parse_not_found),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_head_complete),
		cmocka_unit_test(test_exod_verifier_and_redirect_checks),
		cmocka_unit_test(test_login_check_browser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
