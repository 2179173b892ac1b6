/* JSON Web Tokens: signing the client assertion and reading the claims of tokens we hold. */
#include "daemon/jwt.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/jtree.h"
#include "common/sbuf.h"
#include "daemon/b64.h"
#include "daemon/cert.h"
#include "daemon/rnd.h"

#define JWT_CLOCK_SKEW 60               /* seconds nbf lies in the past, for hosts a little ahead of Entra */
#define JWT_MAX_CLAIM 1024              /* bytes in app_id or audience */
#define JWT_PARSE_ERR 128               /* bytes of yajl's parse error text */

static int jwt_gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) == yajl_gen_status_ok ? 0 : -1;
}

static int jwt_gen_pair(yajl_gen g, const char *key, const char *val)
{
	return jwt_gen_str(g, key) < 0 || jwt_gen_str(g, val) < 0 ? -1 : 0;
}

static int jwt_gen_num(yajl_gen g, const char *key, long long val)
{
	if (jwt_gen_str(g, key) < 0)
		return -1;
	return yajl_gen_integer(g, val) == yajl_gen_status_ok ? 0 : -1;
}

/* Takes the finished JSON out of g as base64url. */
static int jwt_gen_b64(yajl_gen g, char **out)
{
	const unsigned char *buf;
	size_t len;

	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		return -1;
	return b64url_encode(buf, len, out);
}

static int jwt_header(const struct cert_cred *c, enum conf_assertion_alg alg, char **out)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	int rc = -1;

	*out = NULL;
	if (g == NULL)
		return -1;
	if (yajl_gen_map_open(g) != yajl_gen_status_ok)
		goto out;
	if (alg == CONF_ALG_RS256) {
		if (jwt_gen_pair(g, "alg", "RS256") < 0 || jwt_gen_pair(g, "typ", "JWT") < 0 ||
		    jwt_gen_pair(g, "x5t", cert_x5t(c)) < 0)
			goto out;
	} else {
		if (jwt_gen_pair(g, "alg", "PS256") < 0 || jwt_gen_pair(g, "typ", "JWT") < 0 ||
		    jwt_gen_pair(g, "x5t#S256", cert_x5t_s256(c)) < 0)
			goto out;
	}
	if (yajl_gen_map_close(g) != yajl_gen_status_ok)
		goto out;
	rc = jwt_gen_b64(g, out);
out:
	yajl_gen_free(g);
	return rc;
}

static int jwt_claims(const char *app_id, const char *audience, time_t now, char **out)
{
	char jti[RND_UUID_LEN + 1];
	long long nbf = (long long)now - JWT_CLOCK_SKEW;
	yajl_gen g = yajl_gen_alloc(NULL);
	int rc = -1;

	*out = NULL;
	if (g == NULL)
		return -1;
	/* The values come from the configuration: refuse to sign malformed UTF-8. */
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	if (rnd_uuid(jti) < 0 || yajl_gen_map_open(g) != yajl_gen_status_ok)
		goto out;
	if (jwt_gen_pair(g, "aud", audience) < 0 || jwt_gen_pair(g, "iss", app_id) < 0 ||
	    jwt_gen_pair(g, "sub", app_id) < 0 || jwt_gen_pair(g, "jti", jti) < 0 ||
	    jwt_gen_num(g, "nbf", nbf) < 0 || jwt_gen_num(g, "iat", (long long)now) < 0 ||
	    jwt_gen_num(g, "exp", nbf + JWT_ASSERTION_LIFETIME) < 0)
		goto out;
	if (yajl_gen_map_close(g) != yajl_gen_status_ok)
		goto out;
	rc = jwt_gen_b64(g, out);
out:
	yajl_gen_free(g);
	return rc;
}

/* RFC 7518 §3.3 (RS256: PKCS#1 v1.5) and §3.5 (PS256: PSS, MGF1-SHA256, salt = 32 bytes). */
static int jwt_sign(EVP_PKEY *pkey, enum conf_assertion_alg alg, const char *data,
		    char **out)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int rc = -1;

	*out = NULL;
	if (md == NULL || EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, pkey) != 1)
		goto out;
	if (alg == CONF_ALG_PS256) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0)
			goto out;
	} else if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
		goto out;
	}
	if (EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)data, strlen(data)) != 1)
		goto out;
	sig = malloc(siglen);
	if (sig == NULL ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)data, strlen(data)) != 1)
		goto out;
	rc = b64url_encode(sig, siglen, out);
out:
	free(sig);
	EVP_MD_CTX_free(md);
	return rc;
}

static int jwt_check_input(const char *what, const char *s, char *err, size_t errlen)
{
	if (s == NULL || s[0] == '\0') {
		snprintf(err, errlen, "client assertion: no %s", what);
		return -1;
	}
	if (strnlen(s, JWT_MAX_CLAIM + 1) > JWT_MAX_CLAIM) {
		snprintf(err, errlen, "client assertion: %s longer than %d bytes", what, JWT_MAX_CLAIM);
		return -1;
	}
	return 0;
}

int jwt_client_assertion(const struct cert_cred *c, enum conf_assertion_alg alg,
			 const char *app_id, const char *audience, time_t now,
			 struct sbuf **out, char *err, size_t errlen)
{
	char *header = NULL, *claims = NULL, *input = NULL, *sig = NULL;
	size_t hlen, clen;
	int rc = -1;

	*out = NULL;
	if (c == NULL || (alg != CONF_ALG_PS256 && alg != CONF_ALG_RS256)) {
		snprintf(err, errlen, "client assertion: no certificate or unknown algorithm");
		return -1;
	}
	if (jwt_check_input("app_id", app_id, err, errlen) < 0 ||
	    jwt_check_input("audience", audience, err, errlen) < 0)
		return -1;
	if (jwt_header(c, alg, &header) < 0 || jwt_claims(app_id, audience, now, &claims) < 0) {
		snprintf(err, errlen, "client assertion: cannot encode the header or claims "
			 "(app_id or audience not valid UTF-8?)");
		goto out;
	}
	hlen = strlen(header);
	clen = strlen(claims);
	input = malloc(hlen + 1 + clen + 1);
	if (input == NULL) {
		snprintf(err, errlen, "client assertion: out of memory");
		goto out;
	}
	snprintf(input, hlen + 1 + clen + 1, "%s.%s", header, claims);
	if (jwt_sign(cert_pkey(c), alg, input, &sig) < 0) {
		snprintf(err, errlen, "client assertion: signing with the certificate's key failed");
		goto out;
	}
	/* The signed assertion is a credential for ten minutes: it lives in a secret buffer. */
	*out = sbuf_new(0);
	if (*out == NULL || sbuf_put_str(*out, input) < 0 || sbuf_put(*out, ".", 1) < 0 ||
	    sbuf_put_str(*out, sig) < 0) {
		sbuf_free(*out);
		*out = NULL;
		snprintf(err, errlen, "client assertion: out of memory");
		goto out;
	}
	rc = 0;
out:
	free(header);
	free(claims);
	free(input);
	free(sig);
	return rc;
}

static void jwt_copy_str(const yajl_val root, const char *const *names, char *dst, size_t dstlen)
{
	for (size_t i = 0; names[i] != NULL; i++) {
		const char *path[] = { names[i], NULL };
		yajl_val v = yajl_tree_get(root, path, yajl_t_string);
		const char *s = YAJL_GET_STRING(v);

		/* A claim cut short would be a wrong claim: keep only those that fit. */
		if (s != NULL && strlen(s) < dstlen) {
			memcpy(dst, s, strlen(s) + 1);
			return;
		}
	}
}

static void jwt_fill_info(const yajl_val root, struct jwt_info *info)
{
	static const char *const tid[] = { "tid", NULL };
	static const char *const upn[] = { "upn", "unique_name", "preferred_username", NULL };
	static const char *const appid[] = { "appid", "azp", NULL };
	const char *exp_path[] = { "exp", NULL };
	yajl_val exp = yajl_tree_get(root, exp_path, yajl_t_number);

	if (exp != NULL && YAJL_IS_INTEGER(exp))
		info->exp = YAJL_GET_INTEGER(exp);
	else if (exp != NULL && YAJL_IS_DOUBLE(exp) && YAJL_GET_DOUBLE(exp) > 0 &&
		 YAJL_GET_DOUBLE(exp) < 9.2e18)
		info->exp = (long long)YAJL_GET_DOUBLE(exp);
	jwt_copy_str(root, tid, info->tid, sizeof(info->tid));
	jwt_copy_str(root, upn, info->upn, sizeof(info->upn));
	jwt_copy_str(root, appid, info->appid, sizeof(info->appid));
}

int jwt_peek(const char *token, struct jwt_info *info)
{
	char errbuf[JWT_PARSE_ERR];
	const char *p, *q;
	unsigned char *json = NULL;
	size_t len, jlen;
	yajl_val root = NULL;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if (token == NULL)
		return -1;
	len = strnlen(token, JWT_MAX_TOKEN + 1);
	if (len > JWT_MAX_TOKEN)
		return -1;
	p = memchr(token, '.', len);
	if (p == NULL)
		return -1;
	p++;
	q = memchr(p, '.', len - (size_t)(p - token));
	if (q == NULL)
		return -1;
	if (b64url_decode(p, (size_t)(q - p), &json, &jlen) < 0)
		return -1;
	root = jtree_parse(json, jlen, errbuf, sizeof(errbuf));
	if (root == NULL || !YAJL_IS_OBJECT(root))
		goto out;
	jwt_fill_info(root, info);
	rc = 0;
out:
	jtree_free(root);
	/* The payload names the user and tenant; not a secret, but no reason to leave it about. */
	sbuf_wipe(json, jlen);
	free(json);
	return rc;
}
