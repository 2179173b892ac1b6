/* Unit tests for daemon/cert.c, with PEM and PFX fixtures made by OpenSSL at test time. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "daemon/cert.h"

#define ERRLEN 1024
#define PFX_PASS "Pfx pa55word"
#define KEY_PASS "pem-pa55"

struct fixture {
	EVP_PKEY *key_a, *key_b, *key_ec;
	X509 *cert_a, *cert_b, *cert_ec;
	char thumb_a[41], thumb_b[41];
	int legacy_available;
};

static char tmpdir[64];
static struct fixture fx;

static const char *in_tmp(const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", tmpdir, name);
	return p;
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, long serial)
{
	X509 *x = X509_new();
	X509_NAME *name;

	if (x == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	if (X509_sign(x, key, EVP_sha256()) <= 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int sha1_hex(const X509 *x, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (X509_digest(x, EVP_sha1(), md, &n) != 1 || n != 20)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
	return 0;
}

/* Writes PEM blocks: a certificate, a key, or both; a key is encrypted when pass is given. */
static int write_pem(const char *name, X509 *x, EVP_PKEY *k, const char *pass)
{
	BIO *b = BIO_new_file(in_tmp(name), "w");
	int ok = b != NULL;

	if (ok && x != NULL)
		ok = PEM_write_bio_X509(b, x) == 1;
	if (ok && k != NULL && pass != NULL)
		ok = PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), pass, (int)strlen(pass),
						  NULL, NULL) == 1;
	else if (ok && k != NULL)
		ok = PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1;
	BIO_free(b);
	return ok && chmod(in_tmp(name), 0600) == 0 ? 0 : -1;
}

static int write_p12(const char *name, PKCS12 *p12)
{
	BIO *b;
	int ok;

	if (p12 == NULL)
		return -1;
	b = BIO_new_file(in_tmp(name), "wb");
	ok = b != NULL && i2d_PKCS12_bio(b, p12) == 1;
	BIO_free(b);
	PKCS12_free(p12);
	return ok && chmod(in_tmp(name), 0600) == 0 ? 0 : -1;
}

static int write_pfx(const char *name, X509 *x, EVP_PKEY *k, const char *pass)
{
	return write_p12(name, PKCS12_create(pass, "exod test", k, x, NULL, NID_aes_256_cbc,
					     NID_aes_256_cbc, PKCS12_DEFAULT_ITER, 1, 0));
}

/*
 * An old-style PFX (RC2-40 certificates, 3DES key), made in a library context
 * of its own so that the default one, which cert.c uses, keeps no legacy provider.
 */
static int write_legacy_pfx(const char *name, X509 *x, EVP_PKEY *k, const char *pass)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *legacy = NULL, *deflt = NULL;
	int rc = -1;

	if (ctx == NULL)
		return -1;
	legacy = OSSL_PROVIDER_load(ctx, "legacy");
	deflt = OSSL_PROVIDER_load(ctx, "default");
	fx.legacy_available = legacy != NULL;
	if (legacy != NULL && deflt != NULL)
		rc = write_p12(name, PKCS12_create_ex(pass, "exod legacy", k, x, NULL,
						      NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
						      NID_pbe_WithSHA1And40BitRC2_CBC,
						      PKCS12_DEFAULT_ITER, 1, 0, ctx, NULL));
	OSSL_PROVIDER_unload(legacy);
	OSSL_PROVIDER_unload(deflt);
	OSSL_LIB_CTX_free(ctx);
	return fx.legacy_available ? rc : 0;
}

static int write_junk(const char *name)
{
	FILE *f = fopen(in_tmp(name), "w");

	if (f == NULL)
		return -1;
	fputs("not a certificate at all\n", f);
	return fclose(f);
}

static int make_keys(void)
{
	fx.key_a = EVP_RSA_gen(2048);
	fx.key_b = EVP_RSA_gen(2048);
	fx.key_ec = EVP_EC_gen("P-256");
	if (fx.key_a == NULL || fx.key_b == NULL || fx.key_ec == NULL)
		return -1;
	fx.cert_a = make_cert(fx.key_a, "exod test A", 1);
	fx.cert_b = make_cert(fx.key_b, "exod test B", 2);
	fx.cert_ec = make_cert(fx.key_ec, "exod test EC", 3);
	if (fx.cert_a == NULL || fx.cert_b == NULL || fx.cert_ec == NULL)
		return -1;
	return sha1_hex(fx.cert_a, fx.thumb_a) < 0 || sha1_hex(fx.cert_b, fx.thumb_b) < 0 ? -1 : 0;
}

static int make_files(void)
{
	if (mkdir(in_tmp("store"), 0700) < 0 || mkdir(in_tmp("store/subdir"), 0700) < 0 ||
	    mkdir(in_tmp("nomodules"), 0700) < 0)
		return -1;
	if (write_pem("a.pem", fx.cert_a, fx.key_a, NULL) < 0 ||
	    write_pem("a.crt", fx.cert_a, NULL, NULL) < 0 ||
	    write_pem("a.key", NULL, fx.key_a, NULL) < 0 ||
	    write_pem("a-enc.key", NULL, fx.key_a, KEY_PASS) < 0 ||
	    write_pem("a-enc.pem", fx.cert_a, fx.key_a, KEY_PASS) < 0 ||
	    write_pem("b.key", NULL, fx.key_b, NULL) < 0 ||
	    write_pem("ec.pem", fx.cert_ec, fx.key_ec, NULL) < 0 ||
	    write_pfx("a.pfx", fx.cert_a, fx.key_a, PFX_PASS) < 0 ||
	    write_pfx("a-nopass.pfx", fx.cert_a, fx.key_a, "") < 0 ||
	    write_legacy_pfx("a-legacy.pfx", fx.cert_a, fx.key_a, PFX_PASS) < 0 ||
	    write_junk("junk.bin") < 0)
		return -1;
	if (write_pem("store/a.pem", fx.cert_a, fx.key_a, NULL) < 0 ||
	    write_pfx("store/b.pfx", fx.cert_b, fx.key_b, PFX_PASS) < 0 ||
	    write_pem("store/ec.pem", fx.cert_ec, fx.key_ec, NULL) < 0 ||
	    write_pfx("store/other-pass.pfx", fx.cert_b, fx.key_b, "another") < 0 ||
	    write_junk("store/readme.txt") < 0)
		return -1;
	return 0;
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
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cert.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return make_keys() < 0 || make_files() < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(fx.key_a);
	EVP_PKEY_free(fx.key_b);
	EVP_PKEY_free(fx.key_ec);
	X509_free(fx.cert_a);
	X509_free(fx.cert_b);
	X509_free(fx.cert_ec);
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Loads and checks that what came back is certificate A with A's key. */
static void assert_loads_a(const char *file, const char *key_file, const char *pass)
{
	struct cert_cred *c = NULL;
	char err[ERRLEN] = "";

	if (cert_load_file(in_tmp(file), key_file != NULL ? in_tmp(key_file) : NULL, pass, &c,
			   err, sizeof(err)) != 0)
		fail_msg("%s: %s", file, err);
	assert_non_null(c);
	assert_string_equal(cert_thumbprint(c), fx.thumb_a);
	assert_int_equal(EVP_PKEY_eq(cert_pkey(c), fx.key_a), 1);
	assert_true(strlen(cert_x5t(c)) == 27);
	assert_true(strlen(cert_x5t_s256(c)) == 43);
	cert_free(c);
}

static void assert_load_fails(const char *file, const char *key_file, const char *pass,
			      const char *why)
{
	struct cert_cred *c = (struct cert_cred *)&fx;
	char err[ERRLEN] = "";

	assert_int_equal(cert_load_file(in_tmp(file), key_file != NULL ? in_tmp(key_file) : NULL,
					pass, &c, err, sizeof(err)), -1);
	assert_null(c);
	if (strstr(err, why) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, why);
	if (pass != NULL && pass[0] != '\0' && strstr(err, pass) != NULL)
		fail_msg("error \"%s\" shows the password", err);
}

static void test_pfx(void **state)
{
	(void)state;
	assert_loads_a("a.pfx", NULL, PFX_PASS);
	assert_loads_a("a-nopass.pfx", NULL, NULL);
	assert_loads_a("a-nopass.pfx", NULL, "");
}

static void test_pfx_wrong_password(void **state)
{
	(void)state;
	assert_load_fails("a.pfx", NULL, "not-the-password", "wrong password");
	assert_load_fails("a.pfx", NULL, "not-the-password", in_tmp("a.pfx"));
	assert_load_fails("a.pfx", NULL, NULL, "none was given");
	assert_load_fails("a-nopass.pfx", NULL, "unexpected", "wrong password");
}

static void test_pfx_with_key_file_refused(void **state)
{
	(void)state;
	assert_load_fails("a.pfx", "a.key", PFX_PASS, "only for PEM");
}

static void test_pem_cert_and_key(void **state)
{
	(void)state;
	assert_loads_a("a.crt", "a.key", NULL);
	assert_loads_a("a.crt", "a-enc.key", KEY_PASS);
	/* A password meant for a PFX does no harm to a clear key. */
	assert_loads_a("a.crt", "a.key", "unused");
}

static void test_pem_combined(void **state)
{
	(void)state;
	assert_loads_a("a.pem", NULL, NULL);
	assert_loads_a("a-enc.pem", NULL, KEY_PASS);
}

static void test_pem_password_errors(void **state)
{
	(void)state;
	assert_load_fails("a.crt", "a-enc.key", "wrong-one", "wrong password");
	assert_load_fails("a.crt", "a-enc.key", "wrong-one", in_tmp("a-enc.key"));
	assert_load_fails("a-enc.pem", NULL, NULL, "encrypted and no password");
}

static void test_pem_problems(void **state)
{
	(void)state;
	assert_load_fails("a.crt", NULL, NULL, "no PEM private key");
	assert_load_fails("a.key", NULL, NULL, "no PEM certificate");
	assert_load_fails("junk.bin", NULL, NULL, "neither PEM nor a PFX");
	assert_load_fails("missing.pem", NULL, NULL, strerror(ENOENT));
	assert_load_fails("store", NULL, NULL, "not a regular file");
	assert_load_fails("ec.pem", NULL, NULL, "not RSA");
}

static void test_key_mismatch(void **state)
{
	(void)state;
	assert_load_fails("a.crt", "b.key", NULL, "does not match");
	assert_load_fails("a.crt", "b.key", NULL, in_tmp("b.key"));
}

/* Runs before test_pfx_legacy: cert.c keeps the provider once it has it. */
static void test_pfx_legacy_unavailable(void **state)
{
	(void)state;
	if (!fx.legacy_available)
		skip();
	assert_int_equal(setenv("OPENSSL_MODULES", in_tmp("nomodules"), 1), 0);
	assert_load_fails("a-legacy.pfx", NULL, PFX_PASS, "uses a legacy algorithm (RC2/RC4/DES)");
	assert_load_fails("a-legacy.pfx", NULL, PFX_PASS, "-certpbe AES-256-CBC");
	assert_load_fails("a-legacy.pfx", NULL, PFX_PASS, in_tmp("a-legacy.pfx"));
	assert_int_equal(unsetenv("OPENSSL_MODULES"), 0);
}

static void test_pfx_legacy(void **state)
{
	(void)state;
	if (!fx.legacy_available)
		skip();
	assert_load_fails("a-legacy.pfx", NULL, "nope", "wrong password");
	assert_loads_a("a-legacy.pfx", NULL, PFX_PASS);
}

static void thumbprint_finds(const char *hex, const char *want)
{
	struct cert_cred *c = NULL;
	char err[ERRLEN] = "";

	if (cert_load_thumbprint(in_tmp("store"), hex, PFX_PASS, &c, err, sizeof(err)) != 0)
		fail_msg("%s: %s", hex, err);
	assert_string_equal(cert_thumbprint(c), want);
	cert_free(c);
}

static void test_thumbprint_lookup(void **state)
{
	char lower[41], colons[60], spaced[80];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 40; i++)
		lower[i] = (char)(fx.thumb_a[i] >= 'A' ? fx.thumb_a[i] + 32 : fx.thumb_a[i]);
	lower[40] = '\0';
	for (int i = 0; i < 40; i += 2)
		n += (size_t)snprintf(colons + n, sizeof(colons) - n, "%s%.2s", i ? ":" : "",
				      fx.thumb_a + i);
	snprintf(spaced, sizeof(spaced), "\xe2\x80\x8e%.20s %.20s", lower, lower + 20);

	thumbprint_finds(fx.thumb_a, fx.thumb_a);
	thumbprint_finds(lower, fx.thumb_a);
	thumbprint_finds(colons, fx.thumb_a);
	thumbprint_finds(spaced, fx.thumb_a);
	/* B lives in a PFX whose password is the one given. */
	thumbprint_finds(fx.thumb_b, fx.thumb_b);
}

static void test_thumbprint_errors(void **state)
{
	struct cert_cred *c = NULL;
	char err[ERRLEN] = "";
	const char *absent = "00112233445566778899AABBCCDDEEFF00112233";

	(void)state;
	assert_int_equal(cert_load_thumbprint(in_tmp("store"), absent, PFX_PASS, &c, err,
					      sizeof(err)), -1);
	assert_null(c);
	assert_non_null(strstr(err, "no certificate with thumbprint " "00112233445566778899AABBCCDDEEFF00112233"));
	assert_non_null(strstr(err, in_tmp("store")));

	assert_int_equal(cert_load_thumbprint(in_tmp("store"), "abc", NULL, &c, err,
					      sizeof(err)), -1);
	assert_non_null(strstr(err, "not 40 hex digits"));
	assert_int_equal(cert_load_thumbprint(in_tmp("store"),
					      "G0112233445566778899AABBCCDDEEFF00112233", NULL, &c,
					      err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not 40 hex digits"));
	assert_int_equal(cert_load_thumbprint(in_tmp("store"),
					      "00112233445566778899AABBCCDDEEFF0011223344", NULL,
					      &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not 40 hex digits"));

	assert_int_equal(cert_load_thumbprint(in_tmp("no-such-dir"), fx.thumb_a, NULL, &c, err,
					      sizeof(err)), -1);
	assert_non_null(strstr(err, in_tmp("no-such-dir")));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_null(c);
}

static void test_thumbprint_match_must_load(void **state)
{
	struct cert_cred *c = NULL;
	char err[ERRLEN] = "", ec[41];

	(void)state;
	/* Found by thumbprint, but an EC key cannot sign our assertions. */
	assert_int_equal(sha1_hex(fx.cert_ec, ec), 0);
	assert_int_equal(cert_load_thumbprint(in_tmp("store"), ec, NULL, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not RSA"));
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pfx),
		cmocka_unit_test(test_pfx_wrong_password),
		cmocka_unit_test(test_pfx_with_key_file_refused),
		cmocka_unit_test(test_pem_cert_and_key),
		cmocka_unit_test(test_pem_combined),
		cmocka_unit_test(test_pem_password_errors),
		cmocka_unit_test(test_pem_problems),
		cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_pfx_legacy_unavailable),
		cmocka_unit_test(test_pfx_legacy),
		cmocka_unit_test(test_thumbprint_lookup),
		cmocka_unit_test(test_thumbprint_errors),
		cmocka_unit_test(test_thumbprint_match_must_load),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
