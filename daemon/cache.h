/*
 * The on-disk token cache: one file per profile in state_dir holding the
 * refresh token of a delegated sign-in, so that a restarted exod needs no
 * new login.  Access tokens, secrets and passwords never touch disk.
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

/* Who the refresh token belongs to: a cached token for another identity is ignored. */
struct cache_key {
	const char *profile;            /* file name: <state_dir>/<profile>.token */
	const char *authority;          /* https://login.microsoftonline.com */
	const char *tenant;
	const char *client_id;
};

struct sbuf;

/* 0 and *rt (a secret buffer) when found and matching; 1 when none; -1 on error. */
int cache_load(const char *state_dir, const struct cache_key *key, struct sbuf **rt, char *upn,
	       size_t upnlen, char *err, size_t errlen);
/* upn may be NULL. */
int cache_store(const char *state_dir, const struct cache_key *key, const char *rt,
		const char *upn, char *err, size_t errlen);
/* 0 also when there was nothing to remove. */
int cache_remove(const char *state_dir, const char *profile, char *err, size_t errlen);
/* Creates state_dir (0700) if missing; refuses one open to group/others or not ours. */
int cache_check_dir(const char *state_dir, char *err, size_t errlen);

#endif
