/*
 * fuzz_cert: loading app certificates (daemon/cert.c: cert_load_file),
 * PFX/PKCS#12 or PEM with the private key in the same file or in a
 * separate one.  Input: the certificate file, written (mode 0600) into
 * the harness's private directory.  Each input is tried with
 * every password of a fixed set (none, the corpus's "exod-fuzz", a wrong
 * one), and, when it is PEM, once more split after its first
 * "-----END CERTIFICATE-----" into certificate file and key file.  A
 * certificate that loads must have its thumbprints.
 *
 * OpenSSL's legacy provider is loaded before the first input: cert.c
 * loads it on the first old PFX it meets and keeps it, which would make
 * the outcome depend on the inputs run before.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/provider.h>

#include "common/log.h"
#include "daemon/cert.h"
#include "tests/fuzz/fuzz_util.h"

#define END_CERT "-----END CERTIFICATE-----"

static const char *const passwords[] = { NULL, "exod-fuzz", "wrong password" };
/*
 * Real files in the private directory, not memfds: exod opens certificate
 * and key files with O_NOFOLLOW, and /proc/self/fd/N is a symbolic link.
 */
static char cert_path[PATH_MAX], key_path[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Expiry warnings would flood the output; errors still show. */
	log_set_level(LOG_ERR);
	FUZZ_SETUP(OSSL_PROVIDER_load(NULL, "default") != NULL);
	if (OSSL_PROVIDER_load(NULL, "legacy") == NULL)
		ERR_clear_error();
	snprintf(cert_path, sizeof(cert_path), "%s/cert", fuzz_tmpdir());
	snprintf(key_path, sizeof(key_path), "%s/key", fuzz_tmpdir());
	return 0;
}

static void load(const char *path, const char *key_path, const char *password)
{
	struct cert_cred *c = (struct cert_cred *)0x1;
	char err[512];

	err[0] = '\0';
	if (cert_load_file(path, key_path, password, &c, err, sizeof(err)) == 0) {
		FUZZ_CHECK(c != NULL);
		FUZZ_CHECK(strlen(cert_thumbprint(c)) == 40);
		FUZZ_CHECK(cert_x5t(c) != NULL && cert_x5t_s256(c) != NULL);
		FUZZ_CHECK(cert_pkey(c) != NULL);
		cert_free(c);
	} else {
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(err[0] != '\0' && fuzz_terminated(err, sizeof(err)));
	}
	/* Nothing may stay on OpenSSL's error queue to be blamed on the next input. */
	ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *end;

	fuzz_write_file(fuzz_tmpdir(), "cert", data, size);
	for (size_t i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++)
		load(cert_path, NULL, passwords[i]);
	end = memmem(data, size, END_CERT, strlen(END_CERT));
	if (end != NULL) {
		size_t cut = (size_t)(end - data) + strlen(END_CERT);

		fuzz_write_file(fuzz_tmpdir(), "cert", data, cut);
		fuzz_write_file(fuzz_tmpdir(), "key", data + cut, size - cut);
		load(cert_path, key_path, passwords[1]);
	}
	return 0;
}
