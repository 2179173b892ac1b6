/* Unit tests for daemon/jwt.c: client assertions checked with OpenSSL, and reading token claims. */
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <yajl/yajl_tree.h>

#include "daemon/cert.h"
#include "common/sbuf.h"
#include "daemon/b64.h"
#include "daemon/jwt.h"

#define ERRLEN 512
#define APP_ID "36ee4c6c-0812-40a2-b820-b22ebd02bce3"
#define AUDIENCE "https://login.microsoftonline.com/0b7e1d07-7f1e-4a3e-9d59-7c8b2a7c6d11/oauth2/v2.0/token"
#define NOW ((time_t)1700000000)

static char tmpdir[64];
static EVP_PKEY *key;
static X509 *cert;
static struct cert_cred *cred;

/* The test's own base64url decoder: translate to standard base64, pad, and let OpenSSL decode. */
static unsigned char *t_b64url_decode(const char *in, size_t len, size_t *out_len)
{
	size_t pad = (4 - len % 4) % 4;
	char *std = malloc(len + pad + 1);
	unsigned char *out = malloc(len + pad + 1);
	int n;

	assert_non_null(std);
	assert_non_null(out);
	for (size_t i = 0; i < len; i++)
		std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	memset(std + len, '=', pad);
	std[len + pad] = '\0';
	n = EVP_DecodeBlock(out, (unsigned char *)std, (int)(len + pad));
	free(std);
	assert_true(n >= (int)pad);
	*out_len = (size_t)n - pad;
	out[*out_len] = '\0';
	return out;
}

/* The test's own base64url encoder, for tokens given to jwt_peek. */
static char *t_b64url_encode(const char *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	int n;

	assert_non_null(out);
	n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (int i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

struct jws {
	char *buf;                      /* the token, cut at its dots */
	const char *header_b64, *claims_b64, *sig_b64;
	yajl_val header, claims;
	unsigned char *sig;
	size_t sig_len;
};

static yajl_val parse_part(const char *b64)
{
	char errbuf[128];
	size_t n;
	unsigned char *json = t_b64url_decode(b64, strlen(b64), &n);
	yajl_val v = yajl_tree_parse((const char *)json, errbuf, sizeof(errbuf));

	if (v == NULL || !YAJL_IS_OBJECT(v))
		fail_msg("not a JSON object: %s (%s)", json, errbuf);
	free(json);
	return v;
}

static void jws_split(const char *token, struct jws *j)
{
	char *dot1, *dot2;

	j->buf = strdup(token);
	assert_non_null(j->buf);
	dot1 = strchr(j->buf, '.');
	assert_non_null(dot1);
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	assert_null(strchr(dot2 + 1, '.'));
	assert_null(strchr(token, '='));
	*dot1 = *dot2 = '\0';
	j->header_b64 = j->buf;
	j->claims_b64 = dot1 + 1;
	j->sig_b64 = dot2 + 1;
	j->header = parse_part(j->header_b64);
	j->claims = parse_part(j->claims_b64);
	j->sig = t_b64url_decode(j->sig_b64, strlen(j->sig_b64), &j->sig_len);
}

static void jws_free(struct jws *j)
{
	free(j->buf);
	yajl_tree_free(j->header);
	yajl_tree_free(j->claims);
	free(j->sig);
}

static const char *get_str(yajl_val obj, const char *name)
{
	const char *path[] = { name, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_string);

	return v != NULL ? YAJL_GET_STRING(v) : NULL;
}

static long long get_int(yajl_val obj, const char *name)
{
	const char *path[] = { name, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_number);

	assert_non_null(v);
	assert_true(YAJL_IS_INTEGER(v));
	return YAJL_GET_INTEGER(v);
}

/* Verifies header.claims against the signature with the certificate's public key. */
static int verify(const struct jws *j, int padding, const char *tamper)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	char *input;
	size_t n = strlen(j->header_b64) + strlen(j->claims_b64) + 2;
	int ok;

	input = malloc(n);
	assert_non_null(input);
	snprintf(input, n, "%s.%s", j->header_b64, tamper != NULL ? tamper : j->claims_b64);
	assert_int_equal(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL,
					      X509_get0_pubkey(cert)), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, padding) > 0);
	if (padding == RSA_PKCS1_PSS_PADDING) {
		/* RFC 7518 §3.5: MGF1 with SHA-256, salt as long as the hash. */
		assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0);
	}
	ok = EVP_DigestVerify(md, j->sig, j->sig_len, (unsigned char *)input, strlen(input));
	EVP_MD_CTX_free(md);
	free(input);
	return ok;
}

static void assert_thumb(const char *b64, const EVP_MD *type)
{
	unsigned char md[EVP_MAX_MD_SIZE], *got;
	unsigned int n = 0;
	size_t got_len;

	assert_non_null(b64);
	assert_int_equal(X509_digest(cert, type, md, &n), 1);
	got = t_b64url_decode(b64, strlen(b64), &got_len);
	assert_int_equal(got_len, n);
	assert_memory_equal(got, md, n);
	free(got);
}

static void assert_claims(const struct jws *j)
{
	static const char *uuid4 =
		"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";
	regex_t re;
	long long nbf, exp, iat;

	assert_string_equal(get_str(j->claims, "aud"), AUDIENCE);
	assert_string_equal(get_str(j->claims, "iss"), APP_ID);
	assert_string_equal(get_str(j->claims, "sub"), APP_ID);
	nbf = get_int(j->claims, "nbf");
	exp = get_int(j->claims, "exp");
	iat = get_int(j->claims, "iat");
	assert_int_equal(exp - nbf, 600);
	assert_int_equal(iat, (long long)NOW);
	/* JWT_CLOCK_SKEW: valid from a minute back, for a host a little ahead of Entra. */
	assert_int_equal(nbf, (long long)NOW - 60);
	assert_true(exp > (long long)NOW);
	assert_int_equal(regcomp(&re, uuid4, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, get_str(j->claims, "jti"), 0, NULL, 0), 0);
	regfree(&re);
}

static void make_assertion(enum conf_assertion_alg alg, struct jws *j)
{
	char err[ERRLEN] = "";
	struct sbuf *tok = NULL;

	if (jwt_client_assertion(cred, alg, APP_ID, AUDIENCE, NOW, &tok, err, sizeof(err)) != 0)
		fail_msg("jwt_client_assertion: %s", err);
	jws_split(sbuf_str(tok), j);
	sbuf_free(tok);
}

static void test_ps256(void **state)
{
	struct jws j;

	(void)state;
	make_assertion(CONF_ALG_PS256, &j);
	assert_string_equal(get_str(j.header, "alg"), "PS256");
	assert_string_equal(get_str(j.header, "typ"), "JWT");
	assert_thumb(get_str(j.header, "x5t#S256"), EVP_sha256());
	assert_null(get_str(j.header, "x5t"));
	assert_int_equal(j.sig_len, 256);
	assert_int_equal(verify(&j, RSA_PKCS1_PSS_PADDING, NULL), 1);
	assert_int_not_equal(verify(&j, RSA_PKCS1_PADDING, NULL), 1);
	assert_int_not_equal(verify(&j, RSA_PKCS1_PSS_PADDING, j.header_b64), 1);
	assert_claims(&j);
	jws_free(&j);
}

static void test_rs256(void **state)
{
	struct jws j;

	(void)state;
	make_assertion(CONF_ALG_RS256, &j);
	assert_string_equal(get_str(j.header, "alg"), "RS256");
	assert_string_equal(get_str(j.header, "typ"), "JWT");
	assert_thumb(get_str(j.header, "x5t"), EVP_sha1());
	assert_null(get_str(j.header, "x5t#S256"));
	assert_int_equal(verify(&j, RSA_PKCS1_PADDING, NULL), 1);
	assert_int_not_equal(verify(&j, RSA_PKCS1_PSS_PADDING, NULL), 1);
	assert_int_not_equal(verify(&j, RSA_PKCS1_PADDING, j.header_b64), 1);
	assert_claims(&j);
	jws_free(&j);
}

static void test_jti_unique(void **state)
{
	struct jws a, b;

	(void)state;
	make_assertion(CONF_ALG_PS256, &a);
	make_assertion(CONF_ALG_PS256, &b);
	assert_string_not_equal(get_str(a.claims, "jti"), get_str(b.claims, "jti"));
	jws_free(&a);
	jws_free(&b);
}

static void test_assertion_bad_input(void **state)
{
	char err[ERRLEN], *long_aud;
	struct sbuf *tok = (struct sbuf *)err;  /* anything but NULL: a failure must clear it */

	(void)state;
	assert_int_equal(jwt_client_assertion(cred, CONF_ALG_PS256, "", AUDIENCE, NOW, &tok, err,
					      sizeof(err)), -1);
	assert_null(tok);
	assert_non_null(strstr(err, "app_id"));
	assert_int_equal(jwt_client_assertion(cred, CONF_ALG_PS256, APP_ID, NULL, NOW, &tok, err,
					      sizeof(err)), -1);
	assert_non_null(strstr(err, "audience"));
	assert_int_equal(jwt_client_assertion(cred, CONF_ALG_PS256, "bad\xff", AUDIENCE, NOW, &tok,
					      err, sizeof(err)), -1);
	assert_null(tok);
	long_aud = malloc(4096);
	assert_non_null(long_aud);
	memset(long_aud, 'a', 4095);
	long_aud[4095] = '\0';
	assert_int_equal(jwt_client_assertion(cred, CONF_ALG_PS256, APP_ID, long_aud, NOW, &tok,
					      err, sizeof(err)), -1);
	assert_non_null(strstr(err, "audience"));
	free(long_aud);
}

static void test_b64url_vectors(void **state)
{
	/* RFC 4648 §10, and the two characters base64url changes. */
	static const struct { const char *plain, *enc; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
		{ "\xfb\xff", "-_8" },
	};
	char *enc;
	unsigned char *dec;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(b64url_encode((const unsigned char *)v[i].plain,
						   strlen(v[i].plain), &enc), 0);
		assert_string_equal(enc, v[i].enc);
		free(enc);
		assert_int_equal(b64url_decode(v[i].enc, strlen(v[i].enc), &dec, &len), 0);
		assert_int_equal(len, strlen(v[i].plain));
		assert_memory_equal(dec, v[i].plain, len);
		free(dec);
	}
	assert_int_equal(b64url_decode("Zg==", 4, &dec, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(dec[0], 'f');
	free(dec);
	assert_int_equal(b64url_decode("Zm8=", 4, &dec, &len), 0);
	assert_int_equal(len, 2);
	free(dec);
}

static void test_b64url_rejects(void **state)
{
	static const char *bad[] = { "Z", "Zg=", "Zg===", "Zm9v=", "Zm+v", "Zm/v", "Zm9v YQ", "Z\x80" };
	unsigned char *dec = (unsigned char *)"x";
	size_t len = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (b64url_decode(bad[i], strlen(bad[i]), &dec, &len) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_null(dec);
		assert_int_equal(len, 0);
	}
}

/* "e30" is {}; the signature part is never looked at. */
static char *token_with(const char *payload_json, int padded)
{
	char *p = t_b64url_encode(payload_json, strlen(payload_json));
	size_t n = strlen(p) + 32;
	char *tok = malloc(n);

	assert_non_null(tok);
	snprintf(tok, n, "eyJhbGciOiJub25lIn0.%s%s.c2ln", p,
		 padded ? (strlen(p) % 4 == 2 ? "==" : strlen(p) % 4 == 3 ? "=" : "") : "");
	free(p);
	return tok;
}

static void test_peek_claims(void **state)
{
	struct jwt_info info;
	char *tok;

	(void)state;
	tok = token_with("{\"aud\":\"https://outlook.office365.com\",\"exp\":1712345678,"
			 "\"tid\":\"0b7e1d07-7f1e-4a3e-9d59-7c8b2a7c6d11\","
			 "\"upn\":\"admin@contoso.onmicrosoft.com\",\"appid\":\"" APP_ID "\","
			 "\"unique_name\":\"other@contoso.com\",\"azp\":\"other\"}", 0);
	assert_int_equal(jwt_peek(tok, &info), 0);
	assert_int_equal(info.exp, 1712345678LL);
	assert_string_equal(info.tid, "0b7e1d07-7f1e-4a3e-9d59-7c8b2a7c6d11");
	assert_string_equal(info.upn, "admin@contoso.onmicrosoft.com");
	assert_string_equal(info.appid, APP_ID);
	free(tok);
}

static void test_peek_fallbacks(void **state)
{
	struct jwt_info info;
	char *tok;

	(void)state;
	tok = token_with("{\"unique_name\":\"u@contoso.com\",\"azp\":\"az\",\"exp\":17.9}", 1);
	assert_int_equal(jwt_peek(tok, &info), 0);
	assert_string_equal(info.upn, "u@contoso.com");
	assert_string_equal(info.appid, "az");
	assert_int_equal(info.exp, 17);
	free(tok);

	tok = token_with("{\"preferred_username\":\"p@contoso.com\"}", 1);
	assert_int_equal(jwt_peek(tok, &info), 0);
	assert_string_equal(info.upn, "p@contoso.com");
	free(tok);
}

static void test_peek_missing_and_odd_claims(void **state)
{
	struct jwt_info info;
	char *tok, longtid[200];

	(void)state;
	tok = token_with("{}", 0);
	memset(&info, 0x55, sizeof(info));
	assert_int_equal(jwt_peek(tok, &info), 0);
	assert_int_equal(info.exp, 0);
	assert_string_equal(info.tid, "");
	assert_string_equal(info.upn, "");
	assert_string_equal(info.appid, "");
	free(tok);

	memset(longtid, 't', 100);
	snprintf(longtid + 100, sizeof(longtid) - 100, "\",\"exp\":\"soon\",\"upn\":7}");
	{
		char json[256];

		snprintf(json, sizeof(json), "{\"tid\":\"%s", longtid);
		tok = token_with(json, 0);
	}
	assert_int_equal(jwt_peek(tok, &info), 0);
	assert_string_equal(info.tid, "");
	assert_string_equal(info.upn, "");
	assert_int_equal(info.exp, 0);
	free(tok);
}

static void test_peek_rejects(void **state)
{
	struct jwt_info info;
	char *tok, *huge;

	(void)state;
	assert_int_equal(jwt_peek(NULL, &info), -1);
	assert_int_equal(jwt_peek("", &info), -1);
	assert_int_equal(jwt_peek("abc", &info), -1);
	assert_int_equal(jwt_peek("eyJhbGciOiJub25lIn0.e30", &info), -1);
	assert_int_equal(jwt_peek("a.!!!.c", &info), -1);
	tok = token_with("[1,2]", 0);
	assert_int_equal(jwt_peek(tok, &info), -1);
	free(tok);
	tok = token_with("{\"exp\":", 0);
	assert_int_equal(jwt_peek(tok, &info), -1);
	free(tok);

	/* A valid token just over the bound is refused all the same. */
	huge = malloc(JWT_MAX_TOKEN + 2);
	assert_non_null(huge);
	memset(huge, 'A', JWT_MAX_TOKEN + 1);
	memcpy(huge, "e30.e30.", 8);
	huge[JWT_MAX_TOKEN + 1] = '\0';
	assert_int_equal(jwt_peek(huge, &info), -1);
	huge[JWT_MAX_TOKEN] = '\0';
	assert_int_equal(jwt_peek(huge, &info), 0);
	free(huge);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	char path[128], err[ERRLEN];
	X509_NAME *name;
	BIO *b;
	int ok;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_jwt.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	key = EVP_RSA_gen(2048);
	cert = X509_new();
	if (key == NULL || cert == NULL)
		return -1;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"exod jwt", -1,
				   -1, 0);
	X509_set_issuer_name(cert, name);
	X509_set_pubkey(cert, key);
	if (X509_sign(cert, key, EVP_sha256()) <= 0)
		return -1;
	snprintf(path, sizeof(path), "%s/app.pem", tmpdir);
	b = BIO_new_file(path, "w");
	ok = b != NULL && PEM_write_bio_X509(b, cert) == 1 &&
	     PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1;
	BIO_free(b);
	if (!ok || chmod(path, 0600) < 0)
		return -1;
	if (cert_load_file(path, NULL, NULL, &cred, err, sizeof(err)) != 0) {
		fprintf(stderr, "cert_load_file: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cert_free(cred);
	X509_free(cert);
	EVP_PKEY_free(key);
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ps256),
		cmocka_unit_test(test_rs256),
		cmocka_unit_test(test_jti_unique),
		cmocka_unit_test(test_assertion_bad_input),
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_rejects),
		cmocka_unit_test(test_peek_claims),
		cmocka_unit_test(test_peek_fallbacks),
		cmocka_unit_test(test_peek_missing_and_odd_claims),
		cmocka_unit_test(test_peek_rejects),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
