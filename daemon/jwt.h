/*
 * JSON Web Tokens: the signed client assertion of the certificate grant,
 * and reading (not verifying) the claims of a token we were given.
 */
#ifndef EXOD_JWT_H
#define EXOD_JWT_H

#include <stddef.h>
#include <time.h>

#include "common/conf.h"

struct cert_cred;
struct sbuf;

#define JWT_ASSERTION_LIFETIME 600      /* seconds: Entra wants exp within 10 minutes of nbf */
#define JWT_MAX_TOKEN (32 * 1024)       /* bytes in a token we read */

/*
 * Builds the compact JWS client assertion: header {alg, typ, x5t or
 * x5t#S256}, claims {aud, iss=sub=app_id, jti (random UUID), nbf, iat,
 * exp = nbf + JWT_ASSERTION_LIFETIME}; now is the wall clock.  *out is
 * a secret buffer (the assertion is a credential while it is valid).
 */
int jwt_client_assertion(const struct cert_cred *c, enum conf_assertion_alg alg,
			 const char *app_id, const char *audience, time_t now,
			 struct sbuf **out, char *err, size_t errlen);

struct jwt_info {
	long long exp;          /* 0 when absent */
	char tid[64];           /* tenant id, "" when absent */
	char upn[256];          /* upn, or unique_name, or preferred_username */
	char appid[64];         /* appid or azp */
};

/* Decodes the payload of a JWT without checking its signature. */
int jwt_peek(const char *token, struct jwt_info *info);

#endif
