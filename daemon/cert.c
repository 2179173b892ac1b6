/* App certificates: a certificate and its RSA key from PFX or PEM, with the thumbprints Entra wants. */
#include "daemon/cert.h"
#include "daemon/secret.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/sbuf.h"
#include "daemon/b64.h"

#define CERT_MAX_FILE_SIZE (1024 * 1024)        /* bytes in a PFX or PEM file */
#define CERT_STORE_MAX_FILES 1000               /* entries looked at in a certificate store */
#define CERT_MIN_RSA_BITS 2048
#define CERT_SHA1_LEN 20
#define CERT_SHA1_HEX (2 * CERT_SHA1_LEN)
#define CERT_SSL_REASON 128                     /* bytes of an OpenSSL reason in a message */
#define CERT_PEM_MARK "-----BEGIN"
/* What Windows' certificate dialog puts before a copied thumbprint: U+200E. */
#define CERT_LRM "\xe2\x80\x8e"

struct cert_cred {
	X509 *cert;
	EVP_PKEY *pkey;
	char thumbprint[CERT_SHA1_HEX + 1];
	char *x5t;
	char *x5t_s256;
};

/* A certificate or key file as read: secret bytes and the mode they had on disk. */
struct cert_buf {
	struct sbuf *data;
	mode_t mode;
};

struct cert_pw {
	const char *pw;
	int asked;
};

/* Kept loaded for the life of the process once an old PFX has needed them. */
static OSSL_PROVIDER *cert_legacy_prov;
static OSSL_PROVIDER *cert_default_prov;

static void cert_buf_free(struct cert_buf *b)
{
	sbuf_free(b->data);
	b->data = NULL;
}

/*
 * Reads a whole file relative to dirfd as a secret file: no symlink, no
 * FIFO, owned by us or root.  Its mode is checked once we know whether it
 * holds a private key (cert_check_lax).
 */
static int cert_read(int dirfd, const char *name, const char *shown, struct cert_buf *b,
		     char *err, size_t errlen)
{
	b->mode = 0;
	return secret_load(dirfd, name, shown, CERT_MAX_FILE_SIZE, 0, &b->data, &b->mode, err,
			   errlen);
}

static int cert_is_pem(const struct cert_buf *b)
{
	return memmem(sbuf_ptr(b->data), sbuf_len(b->data), CERT_PEM_MARK,
		      strlen(CERT_PEM_MARK)) != NULL;
}

/*
 * Empties OpenSSL's error queue, keeping the first (innermost) reason for
 * the message; says whether an algorithm was missing from the providers.
 */
static int cert_ssl_errors(char *reason, size_t len)
{
	unsigned long e;
	int unsupported = 0;

	reason[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		int r = ERR_GET_REASON(e);
		const char *s = ERR_reason_error_string(e);

		if (r == ERR_R_UNSUPPORTED ||
		    (ERR_GET_LIB(e) == ERR_LIB_EVP && (r == EVP_R_UNSUPPORTED_ALGORITHM ||
						       r == EVP_R_UNSUPPORTED_CIPHER)))
			unsupported = 1;
		if (reason[0] == '\0')
			snprintf(reason, len, "%s", s != NULL ? s : "unknown error");
	}
	if (reason[0] == '\0')
		snprintf(reason, len, "no details");
	return unsupported;
}

static int cert_load_legacy(void)
{
	if (cert_legacy_prov != NULL)
		return 0;
	cert_legacy_prov = OSSL_PROVIDER_load(NULL, "legacy");
	if (cert_legacy_prov == NULL)
		return -1;
	/* Loading one provider by hand stops OpenSSL falling back to "default". */
	cert_default_prov = OSSL_PROVIDER_load(NULL, "default");
	if (cert_default_prov == NULL) {
		OSSL_PROVIDER_unload(cert_legacy_prov);
		cert_legacy_prov = NULL;
		return -1;
	}
	log_info("loaded OpenSSL's legacy provider for an old PFX file");
	return 0;
}

/* Checks the password against the MAC first, so a wrong one is named as such. */
static int cert_pfx_password(PKCS12 *p12, const char *shown, const char **pass,
			     char *err, size_t errlen)
{
	if (!PKCS12_mac_present(p12))
		return 0;
	if (*pass == NULL || **pass == '\0') {
		if (PKCS12_verify_mac(p12, NULL, 0))
			*pass = NULL;
		else if (PKCS12_verify_mac(p12, "", 0))
			*pass = "";
		else
			goto bad;
		return 0;
	}
	if (PKCS12_verify_mac(p12, *pass, -1))
		return 0;
bad:
	ERR_clear_error();
	snprintf(err, errlen, "%s: wrong password for the PFX file (its integrity check failed)%s",
		 shown, *pass == NULL || **pass == '\0' ? "; it needs a password and none was given" : "");
	return -1;
}

static int cert_pfx_parse(const struct cert_buf *b, const char *password, const char *shown,
			  X509 **cert, EVP_PKEY **pkey, char *err, size_t errlen)
{
	char reason[CERT_SSL_REASON];
	const unsigned char *p = sbuf_ptr(b->data);
	const char *pass = password;
	PKCS12 *p12 = NULL;
	int rc = -1;

	if (sbuf_len(b->data) > LONG_MAX ||
	    (p12 = d2i_PKCS12(NULL, &p, (long)sbuf_len(b->data))) == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "%s is neither PEM nor a PFX (PKCS#12) file", shown);
		return -1;
	}
	if (cert_pfx_password(p12, shown, &pass, err, errlen) < 0)
		goto out;
	if (PKCS12_parse(p12, pass, pkey, cert, NULL) != 1) {
		if (!cert_ssl_errors(reason, sizeof(reason)) || cert_legacy_prov != NULL) {
			snprintf(err, errlen, "%s: cannot read the PFX file (%s)", shown, reason);
			goto out;
		}
		if (cert_load_legacy() < 0) {
			ERR_clear_error();
			snprintf(err, errlen, "%s uses a legacy algorithm (RC2/RC4/DES); re-export it with AES "
				 "(openssl pkcs12 -export -certpbe AES-256-CBC -keypbe AES-256-CBC "
				 "-macalg SHA256 ...) or install OpenSSL's legacy provider", shown);
			goto out;
		}
		if (PKCS12_parse(p12, pass, pkey, cert, NULL) != 1) {
			cert_ssl_errors(reason, sizeof(reason));
			snprintf(err, errlen, "%s: cannot read the PFX file even with OpenSSL's legacy "
				 "provider (%s)", shown, reason);
			goto out;
		}
	}
	if (*cert == NULL || *pkey == NULL) {
		snprintf(err, errlen, "%s: the PFX file holds no %s", shown,
			 *cert == NULL ? "certificate" : "private key");
		goto out;
	}
	rc = 0;
out:
	PKCS12_free(p12);
	return rc;
}

/* Never lets OpenSSL prompt on a terminal: the password comes from the configuration or not at all. */
static int cert_pem_pw_cb(char *buf, int size, int rwflag, void *u)
{
	struct cert_pw *p = u;
	size_t n;

	(void)rwflag;
	p->asked = 1;
	if (p->pw == NULL || size < 0)
		return -1;
	n = strlen(p->pw);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, p->pw, n);
	return (int)n;
}

static int cert_pem_cert(const struct cert_buf *b, const char *shown, X509 **cert,
			 char *err, size_t errlen)
{
	char reason[CERT_SSL_REASON];
	BIO *bio = BIO_new_mem_buf(sbuf_ptr(b->data), (int)sbuf_len(b->data));

	*cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (*cert == NULL) {
		cert_ssl_errors(reason, sizeof(reason));
		snprintf(err, errlen, "%s: no PEM certificate found (%s)", shown, reason);
		return -1;
	}
	return 0;
}

static int cert_pem_key(const struct cert_buf *b, const char *password, const char *shown,
			EVP_PKEY **pkey, char *err, size_t errlen)
{
	char reason[CERT_SSL_REASON];
	struct cert_pw pw = { password, 0 };
	BIO *bio = BIO_new_mem_buf(sbuf_ptr(b->data), (int)sbuf_len(b->data));

	*pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, cert_pem_pw_cb, &pw) : NULL;
	BIO_free(bio);
	if (*pkey != NULL) {
		ERR_clear_error();
		return 0;
	}
	cert_ssl_errors(reason, sizeof(reason));
	if (pw.asked && password == NULL)
		snprintf(err, errlen, "%s: the private key is encrypted and no password was given", shown);
	else if (pw.asked)
		snprintf(err, errlen, "%s: cannot decrypt the private key: wrong password", shown);
	else
		snprintf(err, errlen, "%s: no PEM private key found (%s)", shown, reason);
	return -1;
}

static int cert_digest_hex(const X509 *x, char out[CERT_SHA1_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (X509_digest(x, EVP_sha1(), md, &n) != 1 || n != CERT_SHA1_LEN)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
	return 0;
}

static int cert_digest_b64(const X509 *x, const EVP_MD *type, char **out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	*out = NULL;
	if (X509_digest(x, type, md, &n) != 1)
		return -1;
	return b64url_encode(md, n, out);
}

static int cert_check_key(X509 *x, EVP_PKEY *k, const char *path, const char *key_path,
			  char *err, size_t errlen)
{
	if (!EVP_PKEY_is_a(k, "RSA")) {
		snprintf(err, errlen, "%s: the private key is %s, not RSA; client assertions are "
			 "signed with RS256 or PS256", key_path, EVP_PKEY_get0_type_name(k));
		return -1;
	}
	if (EVP_PKEY_get_bits(k) < CERT_MIN_RSA_BITS) {
		snprintf(err, errlen, "%s: the RSA key has %d bits; Entra needs at least %d",
			 key_path, EVP_PKEY_get_bits(k), CERT_MIN_RSA_BITS);
		return -1;
	}
	if (X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		if (strcmp(path, key_path) == 0)
			snprintf(err, errlen, "%s: the private key does not match the certificate", path);
		else
			snprintf(err, errlen, "the private key in %s does not match the certificate in %s",
				 key_path, path);
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		log_warn("%s: the certificate has expired; Entra will refuse it", path);
	else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
		log_warn("%s: the certificate is not valid yet", path);
	return 0;
}

/* Takes ownership of x and k, on failure too. */
static int cert_finish(X509 *x, EVP_PKEY *k, const char *path, const char *key_path,
		       struct cert_cred **out, char *err, size_t errlen)
{
	struct cert_cred *c = NULL;

	if (cert_check_key(x, k, path, key_path, err, errlen) < 0)
		goto fail;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	c->cert = x;
	c->pkey = k;
	x = NULL;
	k = NULL;
	if (cert_digest_hex(c->cert, c->thumbprint) < 0 ||
	    cert_digest_b64(c->cert, EVP_sha1(), &c->x5t) < 0 ||
	    cert_digest_b64(c->cert, EVP_sha256(), &c->x5t_s256) < 0) {
		snprintf(err, errlen, "%s: cannot compute the certificate's thumbprints", path);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	X509_free(x);
	EVP_PKEY_free(k);
	cert_free(c);
	return -1;
}

/* A private key others can read is refused, as ssh refuses a lax private key file. */
static int cert_check_lax(const char *key_path, const struct cert_buf *b, char *err,
			  size_t errlen)
{
	if ((b->mode & 077) == 0)
		return 0;
	snprintf(err, errlen, "%s holds a private key and is accessible by group or others "
		 "(mode %04o); chmod 600 it", key_path, (unsigned)(b->mode & 07777));
	return -1;
}

static int cert_load_resolved(const char *path, const char *key_path, const char *password,
			      struct cert_cred **out, char *err, size_t errlen);

/* Relative names are systemd credentials, as for every other secret file. */
int cert_load_file(const char *path, const char *key_path, const char *password,
		   struct cert_cred **out, char *err, size_t errlen)
{
	char full[PATH_MAX], key_full[PATH_MAX];

	*out = NULL;
	if (path != NULL && path[0] != '\0' &&
	    secret_path(path, full, sizeof(full), err, errlen) < 0)
		return -1;
	if (key_path != NULL && secret_path(key_path, key_full, sizeof(key_full), err, errlen) < 0)
		return -1;
	return cert_load_resolved(path != NULL && path[0] != '\0' ? full : path,
				  key_path != NULL ? key_full : NULL, password, out, err, errlen);
}

static int cert_load_resolved(const char *path, const char *key_path, const char *password,
			      struct cert_cred **out, char *err, size_t errlen)
{
	struct cert_buf b = { NULL, 0 }, kb = { NULL, 0 };
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int rc = -1;

	*out = NULL;
	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "certificate: no file given");
		return -1;
	}
	if (cert_read(AT_FDCWD, path, path, &b, err, errlen) < 0)
		return -1;
	if (!cert_is_pem(&b)) {
		if (key_path != NULL) {
			snprintf(err, errlen, "%s is a PFX file, which holds its own key; a separate key "
				 "file (%s) is only for PEM", path, key_path);
			goto out;
		}
		if (cert_pfx_parse(&b, password, path, &x, &k, err, errlen) < 0)
			goto out;
	} else {
		if (cert_pem_cert(&b, path, &x, err, errlen) < 0)
			goto out;
		if (key_path != NULL && cert_read(AT_FDCWD, key_path, key_path, &kb, err, errlen) < 0)
			goto out;
		if (cert_pem_key(key_path != NULL ? &kb : &b, password,
				 key_path != NULL ? key_path : path, &k, err, errlen) < 0)
			goto out;
	}
	if (cert_check_lax(key_path != NULL ? key_path : path, key_path != NULL ? &kb : &b,
			   err, errlen) < 0)
		goto out;
	rc = cert_finish(x, k, path, key_path != NULL ? key_path : path, out, err, errlen);
	x = NULL;
	k = NULL;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	cert_buf_free(&b);
	cert_buf_free(&kb);
	return rc;
}

/* Upper-case 40 hex digits, without the colons, spaces and marks people paste along. */
static int cert_normalise_thumbprint(const char *in, char out[CERT_SHA1_HEX + 1])
{
	size_t n = 0;

	for (const char *p = in; *p != '\0'; p++) {
		if (strncmp(p, CERT_LRM, strlen(CERT_LRM)) == 0) {
			p += strlen(CERT_LRM) - 1;
			continue;
		}
		if (*p == ':' || *p == ' ' || *p == '\t')
			continue;
		if (!isxdigit((unsigned char)*p) || n == CERT_SHA1_HEX)
			return -1;
		out[n++] = (char)toupper((unsigned char)*p);
	}
	out[n] = '\0';
	return n == CERT_SHA1_HEX ? 0 : -1;
}

/* The SHA-1 thumbprint of the certificate in a store file, whatever its format. */
static int cert_peek_thumbprint(int dirfd, const char *name, const char *password,
				char hex[CERT_SHA1_HEX + 1], char *err, size_t errlen)
{
	struct cert_buf b;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int rc = -1;

	if (cert_read(dirfd, name, name, &b, err, errlen) < 0)
		return -1;
	if (cert_is_pem(&b))
		rc = cert_pem_cert(&b, name, &x, err, errlen);
	else
		rc = cert_pfx_parse(&b, password, name, &x, &k, err, errlen);
	if (rc == 0 && cert_digest_hex(x, hex) < 0)
		rc = -1;
	X509_free(x);
	EVP_PKEY_free(k);
	cert_buf_free(&b);
	return rc;
}

static int cert_store_load(const char *dir, const char *name, const char *password,
			   struct cert_cred **out, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "certificate store %s: file name too long", dir);
		return -1;
	}
	return cert_load_file(path, NULL, password, out, err, errlen);
}

int cert_load_thumbprint(const char *store_dir, const char *thumbprint_hex,
			 const char *password, struct cert_cred **out,
			 char *err, size_t errlen)
{
	char want[CERT_SHA1_HEX + 1], got[CERT_SHA1_HEX + 1], ferr[256];
	const struct dirent *de;
	unsigned int seen = 0, unreadable = 0;
	DIR *d;
	int rc = -1;

	*out = NULL;
	if (thumbprint_hex == NULL || cert_normalise_thumbprint(thumbprint_hex, want) < 0) {
		snprintf(err, errlen, "certificate thumbprint \"%.80s\" is not 40 hex digits (SHA-1)",
			 thumbprint_hex != NULL ? thumbprint_hex : "");
		return -1;
	}
	if (store_dir == NULL || (d = opendir(store_dir)) == NULL) {
		snprintf(err, errlen, "certificate store %s: %s", store_dir != NULL ? store_dir : "(none)",
			 store_dir != NULL ? strerror(errno) : "no directory given");
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (++seen > CERT_STORE_MAX_FILES) {
			snprintf(err, errlen, "certificate store %s has more than %d files; "
				 "no certificate with thumbprint %s among the first of them",
				 store_dir, CERT_STORE_MAX_FILES, want);
			goto out;
		}
		if (cert_peek_thumbprint(dirfd(d), de->d_name, password, got, ferr, sizeof(ferr)) < 0) {
			log_debug("certificate store %s: skipping %s", store_dir, ferr);
			unreadable++;
			continue;
		}
		if (strcmp(got, want) == 0) {
			rc = cert_store_load(store_dir, de->d_name, password, out, err, errlen);
			goto out;
		}
	}
	snprintf(err, errlen, "certificate store %s: no certificate with thumbprint %s "
		 "(%u files looked at, %u of them not readable as PEM or PFX)",
		 store_dir, want, seen, unreadable);
out:
	closedir(d);
	return rc;
}

void cert_free(struct cert_cred *c)
{
	if (c == NULL)
		return;
	X509_free(c->cert);
	EVP_PKEY_free(c->pkey);
	free(c->x5t);
	free(c->x5t_s256);
	free(c);
}

const char *cert_thumbprint(const struct cert_cred *c)
{
	return c->thumbprint;
}

const char *cert_x5t(const struct cert_cred *c)
{
	return c->x5t;
}

const char *cert_x5t_s256(const struct cert_cred *c)
{
	return c->x5t_s256;
}

void *cert_pkey(const struct cert_cred *c)
{
	return c->pkey;
}
