/*
 * fuzz_redirect: what reaches exoctl's loopback listener during a
 * browser sign-in (client/browser.c: browser_parse_request,
 * browser_head_complete), and exod's checks of the redirect_uri and
 * verifier exoctl hands on (daemon/auth_browser.c).  Any local program
 * can connect to the listener, so its parser sees hostile bytes: a taken
 * redirect has a code fit for a form, a state and error word of
 * printable ASCII, a description of valid UTF-8 without control bytes,
 * each within its limit; anything else leaves nothing behind.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "client/browser.h"
#include "common/sbuf.h"
#include "common/utf8.h"
#include "daemon/auth_browser.h"
#include "tests/fuzz/fuzz_util.h"

/* 1 when s[0..n) is printable ASCII without spaces. */
static int fuzz_token_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static void fuzz_check_taken(const struct browser_redirect *r, enum browser_request kind)
{
	size_t dlen;

	FUZZ_CHECK(fuzz_terminated(r->state, sizeof(r->state)));
	FUZZ_CHECK(fuzz_terminated(r->error, sizeof(r->error)));
	FUZZ_CHECK(fuzz_terminated(r->description, sizeof(r->description)));
	FUZZ_CHECK(fuzz_token_text(r->state, strlen(r->state)));
	FUZZ_CHECK(fuzz_token_text(r->error, strlen(r->error)));
	dlen = strlen(r->description);
	FUZZ_CHECK(utf8_valid(r->description, dlen));
	for (size_t i = 0; i < dlen; i++)
		FUZZ_CHECK((unsigned char)r->description[i] >= 0x20 &&
			   (unsigned char)r->description[i] != 0x7f);
	if (kind == BROWSER_REQ_CODE) {
		FUZZ_CHECK(r->code != NULL && r->error[0] == '\0');
		FUZZ_CHECK(sbuf_len(r->code) > 0 && sbuf_len(r->code) <= BROWSER_MAX_CODE);
		FUZZ_CHECK(fuzz_token_text(sbuf_str(r->code), sbuf_len(r->code)));
	} else {
		FUZZ_CHECK(r->error[0] != '\0');
	}
	FUZZ_CHECK(browser_state_equal(r->state, r->state));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct browser_redirect r;
	enum browser_request kind = browser_parse_request((const char *)data, size, &r);
	char *s;

	(void)browser_head_complete((const char *)data, size);
	if (kind == BROWSER_REQ_CODE || kind == BROWSER_REQ_ERROR)
		fuzz_check_taken(&r, kind);
	else
		FUZZ_CHECK(r.code == NULL && r.state[0] == '\0' && r.error[0] == '\0');
	browser_redirect_clear(&r);

	s = fuzz_strndup(data, size);
	if (auth_browser_redirect_ok(s))
		FUZZ_CHECK(strlen(s) <= AUTH_BROWSER_MAX_REDIRECT &&
			   (strncmp(s, "http://localhost:", 17) == 0 ||
			    strncmp(s, "http://127.0.0.1:", 17) == 0));
	if (auth_browser_verifier_ok(s))
		FUZZ_CHECK(strlen(s) >= AUTH_BROWSER_VERIFIER_MIN &&
			   strlen(s) <= AUTH_BROWSER_VERIFIER_MAX && fuzz_token_text(s, strlen(s)));
	free(s);
	return 0;
}
