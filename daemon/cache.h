/*
 * The on-disk token cache: one file per profile in state_dir holding the
 * refresh token of a delegated sign-in, so that a restarted exod needs no
 * new login.  Access tokens, secrets and passwords never touch disk.
 *
 * The file is sealed (seal.h: AES-256-GCM, bound to the profile's name)
 * under the profile's cache_key_file, or plain JSON with
 * cache_encryption = off.  A file that is not JSON and will not open
 * (another key, altered, cut short, a newer format, no key) is never
 * written over: cache_load moves it to <profile>.token.undecryptable-<UTC
 * time> (cache_store and cache_remove also refuse one sealed under
 * another key).  A plain file found while a key is set is sealed in place.
 *
 * Files are written to a temporary file (O_CREAT|O_EXCL|O_NOFOLLOW, 0600),
 * fsynced and renamed, then the directory fsynced.  A cache file or
 * state_dir that is a symlink, not owned by us, or open to group/others
 * is refused with a message that names it.
 */
#ifndef EXOD_CACHE_H
#define EXOD_CACHE_H

#include <stddef.h>

#define CACHE_MAX_FILE (64 * 1024)      /* bytes in one cache file */

struct sbuf;
struct conf_profile;

/* Who the refresh token belongs to: a cached token for another identity is ignored. */
struct cache_key {
	const char *profile;            /* file name: <state_dir>/<profile>.token */
	const char *authority;          /* https://login.microsoftonline.com */
	const char *tenant;
	const char *client_id;
	/* The 32 bytes of cache_key_file (cache_secret_load); NULL: plain text. */
	const struct sbuf *secret;
};

#define CACHE_ASIDE_TAG ".undecryptable-"   /* <profile>.token.undecryptable-20261201T001500Z */

/* cache_load's outcomes besides 0 (loaded), 1 (none) and -1 (error). */
#define CACHE_MIGRATED 2                /* loaded from plain text, now sealed: err says so */
#define CACHE_UNMIGRATED 3              /* loaded from plain text that could not be sealed: err says why */

/*
 * 0 and *rt (a secret buffer) when found and matching; 1 when none (or for
 * another identity); -1 on error, with a file that will not decrypt moved
 * aside (err says where); CACHE_MIGRATED or CACHE_UNMIGRATED with *rt.
 */
int cache_load(const char *state_dir, const struct cache_key *key, struct sbuf **rt, char *upn,
	       size_t upnlen, char *err, size_t errlen);
/* upn may be NULL. */
int cache_store(const char *state_dir, const struct cache_key *key, const char *rt,
		const char *upn, char *err, size_t errlen);
/* 0 also when there was nothing to remove; secret as in struct cache_key. */
int cache_remove(const char *state_dir, const char *profile, const struct sbuf *secret,
		 char *err, size_t errlen);
/*
 * The key the profile's cache is sealed under: *secret, NULL with
 * cache_encryption = off; -1 with a message naming the file and line that
 * says how to make one when it is missing or unusable.
 */
int cache_secret_load(const struct conf_profile *conf, struct sbuf **secret, char *err,
		      size_t errlen);
/*
 * The same sign-in as cache_store writes, for a copy kept elsewhere (the
 * cluster's Redis): *out holds it sealed under key->secret, which must be
 * set (a copy in plain text is never made).
 */
int cache_seal_blob(const struct cache_key *key, const char *rt, const char *upn,
		    struct sbuf **out, char *err, size_t errlen);
/*
 * Opens what cache_seal_blob made: 0 and *rt (and upn) as cache_load gives
 * them, 1 when it is another identity's, -1 when it will not open (err
 * says why; "shown" names where it came from in the message).
 */
int cache_open_blob(const struct cache_key *key, const unsigned char *p, size_t len,
		    const char *shown, struct sbuf **rt, char *upn, size_t upnlen, char *err,
		    size_t errlen);
/* Creates state_dir (0700) if missing; refuses one open to group/others or not ours. */
int cache_check_dir(const char *state_dir, char *err, size_t errlen);

#endif
