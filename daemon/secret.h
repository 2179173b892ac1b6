/*
 * Secret files: client secrets, passwords, PFX passwords, private keys.
 * Read once, checked like ssh checks a private key, wiped when freed.
 */
#ifndef EXOD_SECRET_H
#define EXOD_SECRET_H

#include <stddef.h>

#define SECRET_MAX_SIZE (64 * 1024)     /* bytes in a secret file */

/*
 * Reads path into a NUL-terminated buffer with one trailing newline
 * ("\n" or "\r\n") removed.  A relative path is looked up in
 * $CREDENTIALS_DIRECTORY when that is set (systemd credentials).  Refuses,
 * with a message naming the file: a symlink as the last component, a file
 * that is not regular, readable or writable by group or others, owned by
 * another user than us or root, empty, or larger than max bytes.
 */
int secret_read_file(const char *path, size_t max, char **out, size_t *out_len,
		     char *err, size_t errlen);
/* Where a secret's name points: relative names into $CREDENTIALS_DIRECTORY when set. */
int secret_path(const char *path, char *buf, size_t buflen, char *err, size_t errlen);
/* Only the checks of secret_read_file, for start-up validation. */
int secret_check_file(const char *path, char *err, size_t errlen);
/* Wipes and frees; NULL is fine. */
void secret_free(char *s, size_t len);
/* Wipes and frees a NUL-terminated string; NULL is fine. */
void secret_free_str(char *s);

#endif
