/* auth = access_token: a token someone else obtained, re-read from its file on every start. */
#include "daemon/auth_method.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sbuf.h"
#include "daemon/jwt.h"
#include "daemon/secret.h"

#define AUTH_TOKEN_POLL_S 30            /* how often the file is read again for a newer token */
#define AUTH_TOKEN_MAX_SIZE JWT_MAX_TOKEN
#define AUTH_TOKEN_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."

static int auth_token_init(struct auth *a, char *err, size_t errlen)
{
	/* Only checked now: the token itself may be written later, and is re-read each time. */
	if (secret_check_file(a->conf->access_token_file, err, errlen) < 0) {
		conf_key_error(a->conf, "access_token_file", err, errlen);
		return -1;
	}
	return 0;
}

static void auth_token_utc(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%lld (epoch seconds)", t);
}

/*
 * Fills res from the token text; returns 0 when the token can be used.
 * Takes no copy: the caller hands the token over on success.
 */
static int auth_token_check(const char *file, const struct sbuf *tok, time_t now,
			    struct auth_result *res)
{
	const char *token = sbuf_str(tok);
	struct jwt_info info;
	char when[64];

	/* It becomes an Authorization header: a compact JWS and nothing else (a NUL stops strspn short). */
	if (strspn(token, AUTH_TOKEN_CHARS) != sbuf_len(tok) || jwt_peek(token, &info) < 0) {
		snprintf(res->message, sizeof(res->message), "the access token in %s is not a JWT; "
			 "write a new one to the file", file);
		return -1;
	}
	if (info.exp <= 0) {
		snprintf(res->message, sizeof(res->message), "the access token in %s has no expiry "
			 "(exp); write a new one to the file", file);
		return -1;
	}
	if (info.exp <= (long long)now) {
		auth_token_utc(info.exp, when, sizeof(when));
		snprintf(res->message, sizeof(res->message), "the access token in %s expired at %s; "
			 "write a new one to the file", file, when);
		return -1;
	}
	res->expires_in = info.exp - (long long)now > (long long)LONG_MAX ?
			  LONG_MAX : (long)(info.exp - (long long)now);
	/* Come back soon, whatever the expiry: a newer token may be written to the file. */
	res->refresh_in = res->expires_in < AUTH_TOKEN_POLL_S ? res->expires_in : AUTH_TOKEN_POLL_S;
	return 0;
}

static int auth_token_start(struct auth *a, const char *claims, char *err, size_t errlen)
{
	const char *file = a->conf->access_token_file;
	struct auth_result res;
	struct sbuf *token = NULL;

	/* A claims challenge cannot be answered: only whoever wrote the file can. */
	(void)claims;
	(void)err;
	(void)errlen;
	memset(&res, 0, sizeof(res));
	res.error = WIRE_E_NEEDS_LOGIN;
	if (secret_read_file(file, AUTH_TOKEN_MAX_SIZE, &token, res.message, sizeof(res.message)) < 0)
		goto out;
	if (auth_token_check(file, token, time(NULL), &res) < 0)
		goto out;
	res.access_token = token;
	token = NULL;
	res.error = WIRE_E_COUNT;
	res.ok = 1;
out:
	sbuf_free(token);
	auth_finish(a, &res);
	return 0;
}

const struct auth_method auth_access_token_method = {
	.name = "access_token",
	.init = auth_token_init,
	.start = auth_token_start,
};
