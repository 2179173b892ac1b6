/*
 * auth = managed_identity: the pure parts of the Azure managed identity
 * sign-in (entra-auth.md §6), apart so that they can be tested alone.
 */
#ifndef EXOD_AUTH_MI_H
#define EXOD_AUTH_MI_H

#include <stddef.h>
#include <time.h>

#include "common/conf.h"
#include "daemon/http.h"

struct auth_result;

#define AUTH_MI_IMDS_ENDPOINT "http://169.254.169.254/metadata/identity/oauth2/token"
#define AUTH_MI_IMDS_API_VERSION "2018-02-01"
#define AUTH_MI_APP_SERVICE_API_VERSION "2019-08-01"
#define AUTH_MI_MAX_TRIES 5             /* requests per start, the first included */
#define AUTH_MI_BACKOFF_FIRST_S 1       /* then 2, 4, 8 s */
#define AUTH_MI_MAX_RETRY_AFTER_S 60    /* IMDS guidance: never wait longer between tries */
#define AUTH_MI_MAX_LIFETIME_S (30L * 86400)  /* a longer expires_in is not believed */
#define AUTH_MI_HALF_LIFE_MIN_S 7200    /* tokens this long are refreshed at half-life, as MSAL does */
#define AUTH_MI_MAX_ENV 2048            /* bytes of IDENTITY_ENDPOINT / IDENTITY_HEADER we accept */

enum auth_mi_kind {
	AUTH_MI_IMDS,                   /* Azure VM / scale set instance metadata service */
	AUTH_MI_APP_SERVICE,            /* App Service, Functions, Automation: IDENTITY_HEADER */
};

const char *auth_mi_kind_name(enum auth_mi_kind kind);

/*
 * Picks the endpoint from the profile's managed_identity_endpoint and the
 * environment's IDENTITY_HEADER / IDENTITY_ENDPOINT (NULL when unset).
 * *endpoint points into one of the arguments or is the IMDS default.
 */
int auth_mi_choose(const char *conf_endpoint, const char *env_header, const char *env_endpoint,
		   enum auth_mi_kind *kind, const char **endpoint, char *err, size_t errlen);

/* The token URL with api-version, resource and the profile's identity selector; *out malloc'd. */
int auth_mi_url(enum auth_mi_kind kind, const char *endpoint, const char *resource,
		const struct conf_profile *c, char **out);

/*
 * Seconds the token lives from now: expires_in when it is a plausible
 * whole number, else expires_on (epoch seconds) minus now; each given as
 * the text of a JSON string or number, or NULL.  -1 when neither helps.
 */
long auth_mi_expires_in(const char *expires_in, const char *expires_on, time_t now);

/* 1 when the IMDS retry guidance says to try again: 404, 410, 429, 5xx, transport failures. */
int auth_mi_retryable(long status, enum http_outcome outcome);

/* Seconds to wait before try number tries + 1: exponential, or Retry-After (seconds) when longer. */
long auth_mi_retry_delay(int tries, long retry_after);

/* Turns an answer of the endpoint into a result; messages name kind, never a token. */
void auth_mi_parse_response(const struct http_result *hr, enum auth_mi_kind kind, time_t now,
			    struct auth_result *out);

#endif
