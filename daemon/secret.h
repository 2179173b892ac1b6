/*
 * Secret files: client secrets, passwords, PFX passwords, access tokens,
 * certificates and private keys.  Opened without following a symlink or
 * blocking on a FIFO, checked as ssh checks a private key, and read into
 * a secret buffer (common/sbuf.h) that wipes them.
 */
#ifndef EXOD_SECRET_H
#define EXOD_SECRET_H

#include <stddef.h>
#include <sys/types.h>

struct sbuf;

#define SECRET_MAX_SIZE (64 * 1024)     /* bytes in a password, secret or token file */

enum secret_flags {
	SECRET_PRIVATE = 1,             /* refuse a file group or others may read or write */
	SECRET_STRIP_NEWLINE = 2,       /* drop one trailing "\n" or "\r\n" */
};

/*
 * Reads name, relative to dirfd (AT_FDCWD for a path), into *out; shown
 * names it in messages.  Refuses, with a message naming it: a symlink as
 * the last component, a file that is not regular, owned by another user
 * than us or root, (SECRET_PRIVATE) open to group or others, empty,
 * larger than max bytes, or that changes while being read.  *mode, when
 * not NULL, receives the file's mode.
 */
int secret_load(int dirfd, const char *name, const char *shown, size_t max, unsigned flags,
		struct sbuf **out, mode_t *mode, char *err, size_t errlen);
/*
 * A secret file of the configuration (SECRET_PRIVATE, newline stripped,
 * at most max bytes, 0 for SECRET_MAX_SIZE).  A relative path is looked
 * up in $CREDENTIALS_DIRECTORY when that is set (systemd credentials).
 */
int secret_read_file(const char *path, size_t max, struct sbuf **out, char *err, size_t errlen);
/* Where a secret's name points: relative names into $CREDENTIALS_DIRECTORY when set. */
int secret_path(const char *path, char *buf, size_t buflen, char *err, size_t errlen);
/* Only the checks of secret_read_file, for start-up validation. */
int secret_check_file(const char *path, char *err, size_t errlen);
/*
 * Whether path (as secret_path resolves it) can be opened for reading, as
 * a directory when dir is set: "PATH: No such file or directory" if not.
 * Nothing is read, and no other check is made.
 */
int secret_check_open(const char *path, int dir, char *err, size_t errlen);

#endif
