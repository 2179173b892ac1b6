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

#define OAUTH_MAX_FORM (64 * 1024)
#define OAUTH_TIMEOUT_MS 30000
#define OAUTH_CONNECT_TIMEOUT_MS 10000

/*
 * Appends "&name=value" (URL-encoded) to a form being built in *form.
 * Wipes what it frees, since forms carry secrets.
 */
int oauth_form_add(char **form, const char *name, const char *value);
void oauth_form_free(char *form);

/* POSTs form to a->token_url; the result goes to auth_finish. */
int oauth_post(struct auth *a, const char *form, char *err, size_t errlen);

/* Turns a token endpoint answer into a result: token fields, or a classified error. */
void oauth_parse_response(const struct http_result *hr, struct auth_result *out);

#endif
