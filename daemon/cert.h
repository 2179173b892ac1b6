/*
 * App certificates for the client-assertion grant: a certificate and its
 * private key, from a PFX/PKCS#12 file, a PEM file, or found by SHA-1
 * thumbprint in a directory of such files (DESIGN.md §3.1).
 */
#ifndef EXOD_CERT_H
#define EXOD_CERT_H

#include <stddef.h>

struct cert_cred;

/*
 * path: .pfx/.p12 (password may be NULL for none), or PEM holding the
 * certificate and, unless key_path is given, the private key.  An old
 * PFX that needs OpenSSL's legacy provider is loaded with it, or refused
 * with a message that says so.
 */
int cert_load_file(const char *path, const char *key_path, const char *password,
		   struct cert_cred **out, char *err, size_t errlen);
/* Looks through store_dir for the certificate whose SHA-1 thumbprint is thumbprint_hex. */
int cert_load_thumbprint(const char *store_dir, const char *thumbprint_hex,
			 const char *password, struct cert_cred **out,
			 char *err, size_t errlen);
void cert_free(struct cert_cred *c);

/* Upper-case SHA-1 hex of the DER certificate, as Windows shows it. */
const char *cert_thumbprint(const struct cert_cred *c);
/* base64url SHA-1 (x5t) and SHA-256 (x5t#S256) of the DER certificate. */
const char *cert_x5t(const struct cert_cred *c);
const char *cert_x5t_s256(const struct cert_cred *c);
/* The private key (EVP_PKEY *) for jwt.c. */
void *cert_pkey(const struct cert_cred *c);

#endif
