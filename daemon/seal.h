/*
 * Sealed files: bytes encrypted and authenticated with AES-256-GCM
 * (OpenSSL's EVP interface) under a 32-byte key that lives elsewhere
 * (cache_key_file, ideally a systemd credential), and bound to a context
 * (the profile's name) so that one profile's file does not open as
 * another's.  The token cache (cache.c) keeps refresh tokens this way.
 *
 * Format version 1, all of it authenticated:
 *
 *   offset  bytes  what
 *        0      7  magic "EXODRTC"
 *        7      1  format version, 1
 *        8      8  key id: HMAC-SHA256(key, "exod token cache v1 key id"), first 8 bytes
 *       16     12  nonce, random for every seal
 *       28      n  ciphertext
 *     28+n     16  GCM tag
 *
 * The AES key is HMAC-SHA256(key, "exod token cache v1 encryption"); the
 * associated data are bytes 0..16 (magic, version, key id) followed by the
 * context.  The key id tells "another key" from "altered" and reveals
 * nothing of the key.
 */
#ifndef EXOD_SEAL_H
#define EXOD_SEAL_H

#include <stddef.h>

struct sbuf;

#define SEAL_KEY_LEN 32                 /* bytes of key: AES-256 */
#define SEAL_VERSION 1
#define SEAL_HEADER_LEN 28              /* magic, version, key id, nonce */
#define SEAL_TAG_LEN 16
#define SEAL_OVERHEAD (SEAL_HEADER_LEN + SEAL_TAG_LEN)
#define SEAL_MAX_PLAIN (16 * 1024 * 1024)       /* bytes one seal may hold */
#define SEAL_KEY_FILE_MAX 128           /* bytes in a key file: the longest form and a newline */

/*
 * Reads a key file (a relative name from $CREDENTIALS_DIRECTORY, as every
 * secret file; refused when open to group or others) into *key, 32 bytes
 * in a secret buffer.  The file holds exactly 32 raw bytes, or 64 hex
 * digits or 44 base64 characters with at most one trailing newline
 * ("openssl rand -hex 32" makes one).  On error the message names the file.
 */
int seal_key_load(const char *path, struct sbuf **key, char *err, size_t errlen);
/* The same, for bytes already read: why says what is wrong with them. */
int seal_key_decode(const unsigned char *p, size_t len, struct sbuf **key, char *why,
		    size_t whylen);

/* 1 when p begins with the magic: a sealed file, whole or not. */
int seal_is_sealed(const unsigned char *p, size_t len);
/*
 * 1 when p is sealed in a way key cannot open even if intact: another key
 * id, another format version, or no key (NULL).  0 for anything else,
 * including a sealed file too short to carry a key id.
 */
int seal_foreign(const struct sbuf *key, const unsigned char *p, size_t len);

/* Seals plain[0..len) for context under key: *out is the whole file. */
int seal_wrap(const struct sbuf *key, const char *context, const unsigned char *plain,
	      size_t len, struct sbuf **out, char *why, size_t whylen);
/*
 * Opens a sealed file for context: *plain (a secret buffer), or -1 and in
 * why the reason, phrased to follow "cannot be decrypted: " (cut short,
 * another format version, no key given, another key, or altered).
 */
int seal_unwrap(const struct sbuf *key, const char *context, const unsigned char *p,
		size_t len, struct sbuf **plain, char *why, size_t whylen);

#endif
