/*
 * The Entra ID v2.0 token endpoint, shared by every sign-in method:
 * POST a form, parse the token or the error (entra-auth.md §8).
 */
#ifndef EXOD_OAUTH_H
#define EXOD_OAUTH_H

#include <stddef.h>

struct auth;
struct auth_result;
struct http_result;
struct sbuf;

#define OAUTH_MAX_FORM (64 * 1024)
#define OAUTH_MAX_TOKEN (32 * 1024)     /* bytes of an access or refresh token we take */
#define OAUTH_TIMEOUT_MS 30000
#define OAUTH_CONNECT_TIMEOUT_MS 10000

/*
 * Appends "&name=value" (URL-encoded) to a form in a secret buffer,
 * creating it on first use: forms carry secrets.
 */
int oauth_form_add(struct sbuf **form, const char *name, const char *value);
/* The fields every app-only (client credentials) request has; the caller adds its credential. */
int oauth_form_client_credentials(struct auth *a, const char *claims, struct sbuf **form);

/* POSTs form to a->token_url; the result goes to auth_finish. */
int oauth_post(struct auth *a, const struct sbuf *form, char *err, size_t errlen);
/* POSTs form to url; the raw answer goes to done (with a as its argument), a->xfer is set. */
int oauth_post_to(struct auth *a, const char *url, const struct sbuf *form,
		  void (*done)(void *a, const struct http_result *hr), char *err, size_t errlen);
/* A number sent as a JSON number or a string, as seconds; 0 when absent or malformed. */
double oauth_seconds(const void *yajl_value);
/*
 * 1 when s can go into an Authorization header as a bearer token:
 * 1..OAUTH_MAX_TOKEN characters of RFC 6750's b64token alphabet.
 */
int oauth_token_ok(const char *s);

/* Turns a token endpoint answer into a result: token fields, or a classified error. */
void oauth_parse_response(const struct http_result *hr, struct auth_result *out);

#endif
