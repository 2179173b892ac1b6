/* Sealed files: AES-256-GCM (OpenSSL EVP) under a key read from a secret file. */
#include "daemon/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/sbuf.h"
#include "daemon/b64.h"
#include "daemon/secret.h"

#define SEAL_MAGIC "EXODRTC"
#define SEAL_MAGIC_LEN (sizeof(SEAL_MAGIC) - 1)
#define SEAL_VERSION_AT SEAL_MAGIC_LEN
#define SEAL_ID_AT (SEAL_VERSION_AT + 1)
#define SEAL_ID_LEN 8
#define SEAL_NONCE_AT (SEAL_ID_AT + SEAL_ID_LEN)
#define SEAL_NONCE_LEN 12
#define SEAL_HMAC_LEN 32                /* SHA-256 */
#define SEAL_HEX_LEN (2 * SEAL_KEY_LEN)
#define SEAL_B64_LEN 44                 /* 32 bytes in base64, with its one '=' */
#define SEAL_LABEL_KEY "exod token cache v1 encryption"
#define SEAL_LABEL_ID "exod token cache v1 key id"
#define SEAL_KEY_HINT "\"openssl rand -hex 32\" makes one"

_Static_assert(SEAL_NONCE_AT + SEAL_NONCE_LEN == SEAL_HEADER_LEN, "header layout");
_Static_assert(SEAL_MAX_PLAIN < INT_MAX - SEAL_OVERHEAD, "EVP lengths are ints");

/* One key for one purpose: the file's key only ever enters HMAC. */
static int seal_derive(const struct sbuf *key, const char *label,
		       unsigned char out[SEAL_HMAC_LEN])
{
	unsigned int len = 0;

	if (sbuf_len(key) != SEAL_KEY_LEN)
		return -1;
	if (HMAC(EVP_sha256(), sbuf_ptr(key), SEAL_KEY_LEN, (const unsigned char *)label,
		 strlen(label), out, &len) == NULL || len != SEAL_HMAC_LEN) {
		sbuf_wipe(out, SEAL_HMAC_LEN);
		return -1;
	}
	return 0;
}

static int seal_key_id(const struct sbuf *key, unsigned char id[SEAL_ID_LEN])
{
	unsigned char full[SEAL_HMAC_LEN];

	if (seal_derive(key, SEAL_LABEL_ID, full) < 0)
		return -1;
	memcpy(id, full, SEAL_ID_LEN);
	return 0;
}

/* A key of one repeated byte is a placeholder or a mistake (head -c 32 /dev/zero), not a key. */
static int seal_key_plausible(const unsigned char *k)
{
	for (size_t i = 1; i < SEAL_KEY_LEN; i++)
		if (k[i] != k[0])
			return 1;
	return 0;
}

/* Text forms may end in one newline, as echo and openssl write them. */
static size_t seal_text_len(const unsigned char *p, size_t len)
{
	if (len == 0 || p[len - 1] != '\n')
		return len;
	len--;
	return len > 0 && p[len - 1] == '\r' ? len - 1 : len;
}

static struct sbuf *seal_key_from_hex(const unsigned char *p)
{
	char hex[SEAL_HEX_LEN + 1];
	unsigned char bin[SEAL_KEY_LEN];
	struct sbuf *key = NULL;
	size_t n = 0;

	memcpy(hex, p, SEAL_HEX_LEN);
	hex[SEAL_HEX_LEN] = '\0';
	if (OPENSSL_hexstr2buf_ex(bin, sizeof(bin), &n, hex, '\0') == 1 && n == SEAL_KEY_LEN)
		key = sbuf_dup(bin, n);
	sbuf_wipe(hex, sizeof(hex));
	sbuf_wipe(bin, sizeof(bin));
	return key;
}

static struct sbuf *seal_key_from_b64(const unsigned char *p)
{
	unsigned char *bin = NULL;
	struct sbuf *key = NULL;
	size_t n = 0;

	if (b64_decode((const char *)p, SEAL_B64_LEN, &bin, &n) < 0)
		return NULL;
	if (n == SEAL_KEY_LEN)
		key = sbuf_dup(bin, n);
	sbuf_wipe(bin, n);
	free(bin);
	return key;
}

/* The key in one of its three forms, or NULL and the reason. */
static struct sbuf *seal_key_parse(const unsigned char *p, size_t len, const char **why)
{
	size_t text;

	/* Raw bytes first: a raw key may well end in a byte that looks like a newline. */
	if (len == SEAL_KEY_LEN)
		return sbuf_dup(p, len);
	text = seal_text_len(p, len);
	if (text == SEAL_HEX_LEN) {
		*why = "64 characters that are not all hex digits";
		return seal_key_from_hex(p);
	}
	if (text == SEAL_B64_LEN) {
		*why = "44 characters that are not 32 bytes in base64";
		return seal_key_from_b64(p);
	}
	*why = NULL;
	return NULL;
}

int seal_key_decode(const unsigned char *p, size_t len, struct sbuf **key, char *why,
		    size_t whylen)
{
	const char *bad = NULL;

	*key = seal_key_parse(p, len, &bad);
	if (*key == NULL && bad != NULL) {
		snprintf(why, whylen, "%s; " SEAL_KEY_HINT, bad);
		return -1;
	}
	if (*key == NULL) {
		size_t text = seal_text_len(p, len);

		snprintf(why, whylen, "%zu %s, where a key is 32 raw bytes, 64 hex digits or 44 "
			 "base64 characters; " SEAL_KEY_HINT, text,
			 text != len ? "characters and a newline" : "bytes");
		return -1;
	}
	if (!seal_key_plausible(sbuf_ptr(*key))) {
		sbuf_free(*key);
		*key = NULL;
		snprintf(why, whylen, "the same byte 32 times, which is no key; " SEAL_KEY_HINT);
		return -1;
	}
	return 0;
}

int seal_key_load(const char *path, struct sbuf **key, char *err, size_t errlen)
{
	char resolved[PATH_MAX], shown[PATH_MAX + 32], why[256];
	struct sbuf *raw = NULL;
	int rc;

	*key = NULL;
	if (secret_path(path, resolved, sizeof(resolved), err, errlen) < 0)
		return -1;
	snprintf(shown, sizeof(shown), "cache key file %s", resolved);
	if (access(resolved, F_OK) < 0 && errno == ENOENT) {
		snprintf(err, errlen, "%s does not exist; " SEAL_KEY_HINT
			 " (see exod.conf(5), cache_key_file)", shown);
		return -1;
	}
	if (secret_load(AT_FDCWD, resolved, shown, SEAL_KEY_FILE_MAX, SECRET_PRIVATE, &raw, NULL,
			err, errlen) < 0)
		return -1;
	rc = seal_key_decode(sbuf_ptr(raw), sbuf_len(raw), key, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "%s holds %s", shown, why);
	sbuf_free(raw);
	return rc;
}

int seal_is_sealed(const unsigned char *p, size_t len)
{
	return len >= SEAL_MAGIC_LEN && memcmp(p, SEAL_MAGIC, SEAL_MAGIC_LEN) == 0;
}

int seal_foreign(const struct sbuf *key, const unsigned char *p, size_t len)
{
	unsigned char id[SEAL_ID_LEN];

	if (!seal_is_sealed(p, len) || len < SEAL_NONCE_AT)
		return 0;
	if (p[SEAL_VERSION_AT] != SEAL_VERSION || key == NULL)
		return 1;
	if (seal_key_id(key, id) < 0)
		return 1;
	return memcmp(id, p + SEAL_ID_AT, SEAL_ID_LEN) != 0;
}

/*
 * A cipher context for AES-256-GCM, keyed for this file and fed its
 * associated data: the header up to the nonce, then the context.
 */
static EVP_CIPHER_CTX *seal_begin(const struct sbuf *key, const unsigned char *header,
				  const char *context, int enc)
{
	unsigned char aes[SEAL_HMAC_LEN];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	if (ctx == NULL || seal_derive(key, SEAL_LABEL_KEY, aes) < 0) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) == 1 &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, aes, header + SEAL_NONCE_AT, enc) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &n, header, SEAL_NONCE_AT) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)context,
			      (int)strlen(context)) == 1;
	sbuf_wipe(aes, sizeof(aes));
	if (!ok) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int seal_header(const struct sbuf *key, unsigned char header[SEAL_HEADER_LEN])
{
	memcpy(header, SEAL_MAGIC, SEAL_MAGIC_LEN);
	header[SEAL_VERSION_AT] = SEAL_VERSION;
	if (seal_key_id(key, header + SEAL_ID_AT) < 0)
		return -1;
	/* GCM must never see a nonce twice under one key: 96 random bits per file. */
	return RAND_bytes(header + SEAL_NONCE_AT, SEAL_NONCE_LEN) == 1 ? 0 : -1;
}

int seal_wrap(const struct sbuf *key, const char *context, const unsigned char *plain,
	      size_t len, struct sbuf **out, char *why, size_t whylen)
{
	unsigned char header[SEAL_HEADER_LEN];
	EVP_CIPHER_CTX *ctx = NULL;
	struct sbuf *b = NULL;
	unsigned char *dst;
	int n = 0, fin = 0, rc = -1;

	*out = NULL;
	if (key == NULL || len > SEAL_MAX_PLAIN) {
		snprintf(why, whylen, key == NULL ? "no key" : "more than %d bytes to seal",
			 SEAL_MAX_PLAIN);
		return -1;
	}
	if (seal_header(key, header) < 0 || (b = sbuf_new(0)) == NULL ||
	    sbuf_put(b, header, sizeof(header)) < 0 ||
	    (dst = sbuf_reserve(b, len + SEAL_TAG_LEN)) == NULL ||
	    (ctx = seal_begin(key, header, context, 1)) == NULL)
		goto out;
	if (EVP_EncryptUpdate(ctx, dst, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, dst + n, &fin) != 1 || (size_t)(n + fin) != len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, dst + len) != 1)
		goto out;
	sbuf_commit(b, len + SEAL_TAG_LEN);
	*out = b;
	b = NULL;
	rc = 0;
out:
	if (rc < 0)
		snprintf(why, whylen, "encryption failed (OpenSSL)");
	EVP_CIPHER_CTX_free(ctx);
	sbuf_free(b);
	return rc;
}

/* Why p cannot be opened before any decryption is tried; 0 when it may be. */
static int seal_check(const struct sbuf *key, const unsigned char *p, size_t len, char *why,
		      size_t whylen)
{
	unsigned char id[SEAL_ID_LEN];

	if (len <= SEAL_VERSION_AT || (p[SEAL_VERSION_AT] == SEAL_VERSION && len < SEAL_OVERHEAD)) {
		snprintf(why, whylen, "it is cut short (%zu bytes, where an encrypted cache has at "
			 "least %d)", len, SEAL_OVERHEAD);
		return -1;
	}
	if (p[SEAL_VERSION_AT] != SEAL_VERSION) {
		snprintf(why, whylen, "it is in format version %u, and this exod reads version %d",
			 (unsigned)p[SEAL_VERSION_AT], SEAL_VERSION);
		return -1;
	}
	if (key == NULL) {
		snprintf(why, whylen, "it is encrypted, and this profile has cache_encryption = off");
		return -1;
	}
	if (seal_key_id(key, id) < 0 || memcmp(id, p + SEAL_ID_AT, SEAL_ID_LEN) != 0) {
		snprintf(why, whylen, "it was encrypted under another key than cache_key_file's");
		return -1;
	}
	return 0;
}

int seal_unwrap(const struct sbuf *key, const char *context, const unsigned char *p,
		size_t len, struct sbuf **plain, char *why, size_t whylen)
{
	EVP_CIPHER_CTX *ctx = NULL;
	struct sbuf *b = NULL;
	unsigned char *dst;
	size_t clen;
	int n = 0, fin = 0, rc = -1;

	*plain = NULL;
	if (!seal_is_sealed(p, len)) {
		snprintf(why, whylen, "it is neither JSON nor an encrypted cache (no \"%s\" at its "
			 "start)", SEAL_MAGIC);
		return -1;
	}
	if (seal_check(key, p, len, why, whylen) < 0)
		return -1;
	clen = len - SEAL_OVERHEAD;
	if (clen > SEAL_MAX_PLAIN) {
		snprintf(why, whylen, "it is larger than %d bytes", SEAL_MAX_PLAIN);
		return -1;
	}
	/* One byte more than needed: sbuf_str's NUL, and never a zero-sized reserve. */
	if ((b = sbuf_new(0)) == NULL || (dst = sbuf_reserve(b, clen + 1)) == NULL ||
	    (ctx = seal_begin(key, p, context, 0)) == NULL) {
		snprintf(why, whylen, "out of memory, or OpenSSL failed");
		goto out;
	}
	/* Nothing decrypted is used unless the tag matches: the buffer is wiped otherwise. */
	if (EVP_DecryptUpdate(ctx, dst, &n, p + SEAL_HEADER_LEN, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
				(void *)(p + len - SEAL_TAG_LEN)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, dst + n, &fin) != 1 || (size_t)(n + fin) != clen) {
		snprintf(why, whylen, "it does not authenticate: it was altered, cut short, or "
			 "copied from another profile's file");
		goto out;
	}
	sbuf_commit(b, clen);
	*plain = b;
	b = NULL;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	sbuf_free(b);
	return rc;
}
