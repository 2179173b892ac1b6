/*
 * The browser sign-in's checks on what exoctl hands in, apart so that
 * they can be tested alone: the PKCE verifier and the loopback redirect
 * address the authorization code went to (entra-auth.md §4).
 */
#ifndef EXOD_AUTH_BROWSER_H
#define EXOD_AUTH_BROWSER_H

#define AUTH_BROWSER_VERIFIER_MIN 43    /* characters of a PKCE verifier (RFC 7636 §4.1) */
#define AUTH_BROWSER_VERIFIER_MAX 128
#define AUTH_BROWSER_MAX_REDIRECT 64    /* bytes of a loopback redirect_uri */

/* 1 when s is a PKCE code verifier: 43 to 128 of A-Z a-z 0-9 - . _ ~. */
int auth_browser_verifier_ok(const char *s);
/*
 * 1 when uri is a loopback redirect as public clients send it:
 * http://localhost:PORT or http://127.0.0.1:PORT (PORT 1 to 65535, no
 * leading zero), with or without a trailing "/".
 */
int auth_browser_redirect_ok(const char *uri);

#endif
