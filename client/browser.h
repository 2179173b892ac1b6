/*
 * exoctl's side of the browser sign-in (exoctl login --browser, and the
 * default login of an auth = interactive profile): the authorization
 * code flow with PKCE on a loopback redirect, as MSAL does for public
 * clients (entra-auth.md §4).  exod names the authorize URL; exoctl adds
 * its redirect_uri, state and S256 challenge, listens on 127.0.0.1 for
 * exactly one redirect with that state, shows the browser a page saying
 * whether the sign-in worked, and hands the code, the verifier and the
 * redirect_uri to exod, which redeems them.
 */
#ifndef EXOCTL_BROWSER_H
#define EXOCTL_BROWSER_H

#include <stddef.h>

struct sbuf;

#define BROWSER_TIMEOUT_S 300           /* how long exoctl waits for the redirect by default */
#define BROWSER_MAX_TIMEOUT_S 3600
#define BROWSER_VERIFIER_BYTES 32       /* random bytes of the PKCE verifier: 256 bits */
#define BROWSER_VERIFIER_LEN 43         /* their base64url characters (RFC 7636 §4.1) */
#define BROWSER_CHALLENGE_LEN 43        /* base64url of a SHA-256 */
#define BROWSER_STATE_BYTES 16          /* random bytes of state: 128 bits */
#define BROWSER_STATE_LEN 22
#define BROWSER_MAX_HEAD 16384          /* bytes of one request head the listener reads */
#define BROWSER_MAX_PARAMS 32           /* query parameters of the redirect */
#define BROWSER_MAX_CODE 8192           /* bytes of an authorization code */
#define BROWSER_MAX_STATE 256           /* bytes of a state sent back (ours has BROWSER_STATE_LEN) */
#define BROWSER_MAX_ERROR 64            /* bytes of an OAuth error word */
#define BROWSER_MAX_DESCRIPTION 1024    /* bytes of error_description */
#define BROWSER_MAX_URL 8192            /* bytes of the authorize URL exod sends */
#define BROWSER_MAX_PEERS 8             /* connections read at once (browsers open spares) */
#define BROWSER_PEER_TIMEOUT_MS 10000   /* a connection must send its request head within this */

/* What a request to the listener is, once its head is in. */
enum browser_request {
	BROWSER_REQ_CODE,               /* GET /?code=...: the sign-in's answer (state to check) */
	BROWSER_REQ_ERROR,              /* GET /?error=...: the sign-in failed (state to check) */
	BROWSER_REQ_NOT_FOUND,          /* a well-formed GET of another path (/favicon.ico) */
	BROWSER_REQ_BAD,                /* anything else: answered 400 */
};

/* The redirect's parameters; text fields are "" when absent. */
struct browser_redirect {
	struct sbuf *code;              /* a secret until redeemed; NULL when absent */
	char state[BROWSER_MAX_STATE + 1];
	char error[BROWSER_MAX_ERROR + 1];
	char description[BROWSER_MAX_DESCRIPTION + 1];     /* valid UTF-8, no control bytes */
};

/*
 * Reads the request line of head[0..len) (which must hold its line end;
 * the headers after it are not looked at): only "GET /?query HTTP/1.x",
 * the query's percent-encoding decoded within the limits above, code and
 * state printable ASCII, the description valid UTF-8, no control bytes,
 * no known parameter twice.  out is filled for CODE and ERROR only;
 * browser_redirect_clear afterwards, whatever the answer.
 */
enum browser_request browser_parse_request(const char *head, size_t len,
					   struct browser_redirect *out);
void browser_redirect_clear(struct browser_redirect *r);
/* 1 when the request head in buf[0..len) is complete (its empty line is in). */
int browser_head_complete(const char *buf, size_t len);

/* 1 when a equals ours, compared in time that does not depend on where they differ. */
int browser_state_equal(const char *ours, const char *theirs);

struct browser_pkce {
	struct sbuf *verifier;          /* a secret until redeemed */
	char challenge[BROWSER_CHALLENGE_LEN + 1];
	char state[BROWSER_STATE_LEN + 1];
};

/* A fresh verifier, its S256 challenge and a state, from the kernel's CSPRNG; -1 with err. */
int browser_pkce_new(struct browser_pkce *p, char *err, size_t errlen);
void browser_pkce_clear(struct browser_pkce *p);
/* S256: base64url(SHA-256(verifier)) without padding; -1 with err (libcrypto not loadable). */
int browser_pkce_challenge(const char *verifier, size_t len, char out[BROWSER_CHALLENGE_LEN + 1],
			   char *err, size_t errlen);

struct browser_options {
	long timeout_s;                 /* for the redirect; BROWSER_TIMEOUT_S by default */
	int port;                       /* 0: a free one the kernel picks */
	int no_open;                    /* never run xdg-open */
};

/*
 * Hands the redirect's code, the verifier and the redirect_uri to exod;
 * returns exoctl's exit status, with the signed-in identity in who (""
 * when exod named none) or why it failed in why, for the browser's page.
 */
typedef int (*browser_redeem_fn)(void *arg, const struct sbuf *code, const struct sbuf *verifier,
				 const char *redirect_uri, char *who, size_t wholen, char *why,
				 size_t whylen);

/*
 * The whole sign-in, from exod's authorize URL: instructions on stderr
 * (the URL, the SSH port forward), xdg-open when a desktop is there, the
 * wait, the redemption and the page.  Returns exoctl's exit status:
 * redeem's, 4 when the sign-in failed, was refused or timed out, 1 when
 * exoctl could not listen or the URL is not one.
 */
int browser_sign_in(const char *authorize_url, const struct browser_options *o,
		    browser_redeem_fn redeem, void *arg);

#endif
